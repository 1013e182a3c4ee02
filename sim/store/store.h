/* sim/store/store.h — one logical drive's storage: a volatile write-back cache of
 * dirty lines above sparse media, with a battery and an oracle.
 *
 * Media is either a file whose holes cost nothing (pread/pwrite/fdatasync) or
 * sparse memory (allocated only where written).  Reads see dirty lines over the
 * media.  A write is "durable" when it was written through (FUA, or WCE=0) or a
 * later flush covered it; the media file is fdatasync'ed before a flush returns.
 * A power cut loses dirty lines unless the battery is good (all, a seeded random
 * subset, or with one line torn); power on replays battery-held lines.  The
 * oracle records every acknowledged write and flush and can say, after power on,
 * whether everything that was durable is still there.
 *
 * Media.  File media is media_path itself for drives up to 8 TiB; larger drives
 * add media_path.1, media_path.2, … (8 TiB each, created when first written),
 * because ext4 files end at 16 TiB.  Every file is sparse (ftruncate'd to its
 * length; an existing longer file is left as is).  Memory media allocates 64 KiB
 * chunks on the first non-zero write.  Capacity: blocks * block_size up to 2^63
 * bytes.  Media survives power cuts and destroy (file media persists across
 * destroy/create on the same path; memory media ends with the store).
 *
 * Cache.  Lines of 64 KiB (aligned; 128 blocks of 512 B or 16 of 4 KiB) hold
 * only dirty blocks (a dirty bit per block).  When dirty bytes exceed
 * cache_bytes (0 in the config: SIM_STORE_DEFAULT_CACHE_BYTES = 16 MiB) the
 * least recently written lines are written back to media (no fdatasync: a
 * write-back promises nothing); also when the cache's 4 KiB data pages exceed
 * twice cache_bytes plus a line (scattered 512-byte writes).  A durable write goes to media, is fdatasync'ed,
 * and cleans any dirty copy of its blocks.  A flush writes back exactly the dirty
 * blocks inside its range, then fdatasyncs.  destroy discards dirty lines (as a
 * power loss would; for file media with a GOOD battery the battery-backed copy
 * below stays, and the next store on the media writes it back); flush first
 * for a clean shutdown.
 *
 * Battery-backed cache across processes.  For file media the dirty blocks
 * are also kept, while the battery is GOOD, in a file-backed shared mapping
 * beside the media (`<media>.cache`, store_bbu.h has the protocol), which a
 * SIGKILL of the process leaves behind.  A store created on that media with
 * the battery GOOD writes those blocks back to the media before anything
 * else (the oracle then finds each such acknowledged, unflushed block intact:
 * volatile_kept); with the battery ABSENT or FAILED it discards them, and the
 * oracle counts them lost (volatile_lost).
 *
 * Power.  While off, read/write/flush return -EIO.  A cut with battery GOOD keeps
 * every dirty line ("held"); power on replays them as dirty lines — unless the
 * battery is no longer GOOD at power on, then they are lost as by
 * SIM_POWER_CUT_ALL.  With battery ABSENT or FAILED the cut loses lines per mode:
 *   ALL    every dirty line is lost;
 *   RANDOM each line (in write order) is lost with probability 1/2 from a
 *          splitmix64 stream of the seed; the others are written back to media;
 *   TORN   one line (seeded pick) is written back partly: of its dirty blocks in
 *          LBA order, the first floor(d/2) are written whole and the next one
 *          only its first block_size/2 bytes (a torn sector); then all lines are
 *          lost, the torn one included.
 * The same seed and the same sequence of calls give the same result.
 *
 * Oracle.  Per block ever written it keeps 32-bit hashes of the newest
 * acknowledged version, of the newest version promised durable (durable write,
 * or a flush covering it) and of the version on media (durable write, flush,
 * write-back).  A cut without a battery forfeits every newest version that was
 * not on media: a later flush does not promise it.  sim_store_check reads every
 * such block through the cache (battery-held lines count) and classifies it:
 *   newest was promised:     holds it -> fine; else -> durable_lost.
 *   newest never promised:   holds it -> volatile_kept;
 *                            holds the promised or media version -> volatile_lost;
 *                            anything else (torn, never acknowledged) ->
 *                              durable_lost if some version had been promised
 *                              (a durable version was destroyed), else volatile_lost.
 * first_bad_lba is the lowest durable_lost block.  Hash collisions: a block
 * holding wrong data passes a comparison with probability 2^-32, so a check of
 * N wrong blocks misses one with probability about N * 2^-32 (2.3e-10 each).
 * Footprint: about 60 bytes per group of 8 consecutive blocks written, plus
 * 12-byte records for blocks written since their last write-back.
 *
 * Not thread-safe: the caller (the firmware) serialises calls per store.
 * Errors are negative errno values.
 */
#ifndef SIM_STORE_STORE_H
#define SIM_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hba.h"

struct sim_store;

#define SIM_STORE_DEFAULT_CACHE_BYTES (UINT64_C(16) << 20)

/* Protection information (store_pi.h has the rules): a drive formatted with
 * it keeps an 8-byte tuple beside every block, which follows its block
 * through the cache (lost with it, written back with it).  fn makes the tuple
 * of a block written without one (sim_store_write on such a drive: commands
 * that carry no protection information); the store does not interpret it. */
struct sim_store_pi_gen {
    void (*fn)(void *arg, uint64_t lba, const void *block, uint32_t block_size, uint8_t tuple[8]);
    void *arg;
};

struct sim_store_config {
    uint64_t blocks;
    uint32_t block_size;      /* 512 or 4096 */
    const char *media_path;   /* NULL: sparse memory */
    uint64_t cache_bytes;     /* dirty data kept before lines are written back; 0 = default */
    enum hba_battery battery;
    uint64_t seed;            /* random power-cut subsets */
    struct sim_store_pi_gen pi_gen; /* fn NULL (default): no protection information */
};

enum sim_power_cut_mode {
    SIM_POWER_CUT_ALL    = 0, /* every dirty line is lost (battery absent/failed) */
    SIM_POWER_CUT_RANDOM = 1, /* a seeded random subset of dirty lines is lost, the rest reached media */
    SIM_POWER_CUT_TORN   = 2, /* as ALL, but one dirty line was half written back: torn */
};
struct sim_power_cut {
    enum sim_power_cut_mode mode;
    uint64_t seed;            /* RANDOM and TORN: which lines; 0 = the store's seed */
};

/* A run of lost blocks on one drive, for naming them in a report. */
struct sim_oracle_range {
    uint64_t lba;
    uint32_t count;            /* consecutive blocks from lba (a longer run is split) */
    uint16_t target, lun;      /* the drive (set by the firmware; the store leaves 0) */
    bool     durable;          /* promised durable (a failure) or only acknowledged */
};
#define SIM_ORACLE_RANGES 16u  /* runs a report names; the rest are counted only */

/* Result of an oracle check. */
struct sim_oracle_report {
    uint64_t blocks_checked;   /* blocks with an acknowledged write (each one is checked) */
    uint64_t durable_lost;     /* durable blocks whose content is not what was made durable */
    uint64_t first_bad_lba;    /* valid when durable_lost > 0 */
    uint64_t volatile_kept;    /* acknowledged-but-never-durable blocks that still hold the newest data */
    uint64_t volatile_lost;    /* acknowledged-but-never-durable blocks that do not */
    /* The lost blocks by LBA, durable runs first, in ascending LBA order;
     * ranges_more: lost runs left out for room. */
    uint32_t n_ranges, ranges_more;
    struct sim_oracle_range range[SIM_ORACLE_RANGES];
};

/* Rejects (-EINVAL, reason in err) block sizes other than 512/4096, blocks 0,
 * capacities above 2^63 bytes and unknown battery states; -errno when the media
 * file cannot be created. */
int  sim_store_create(const struct sim_store_config *cfg, struct sim_store **out, char *err, size_t errlen);
void sim_store_destroy(struct sim_store *s);

/* Block I/O.  lba + nblocks must lie within the drive (the caller checks;
 * -EINVAL otherwise, also for nblocks 0 or a NULL buf).  -EIO while powered off. */
int sim_store_read(struct sim_store *s, uint64_t lba, uint32_t nblocks, void *buf);
/* durable = FUA or write cache disabled: goes to media before returning.
 * When that fails part way, each block holds its older version or the new
 * one: the store reads them back, and the oracle takes those that hold the
 * new one as on the media but not promised. */
int sim_store_write(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, bool durable);
/* The same with the blocks' protection information: 8 bytes a block in pi,
 * kept beside the data (a drive created without pi_gen: -EINVAL). */
int sim_store_write_pi(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, const void *pi,
                       bool durable);
/* The protection information of n blocks, 8 bytes each, as the drive holds it
 * now (the newest for a block dirty in the cache, else the media's; all FFh
 * for a block never written or unmapped). */
int sim_store_read_pi(struct sim_store *s, uint64_t lba, uint32_t nblocks, void *pi);
/* Writes back the dirty blocks inside [lba, lba+nblocks) (nblocks 0 = to the end
 * of the drive) and fdatasyncs the media; the oracle then counts every block
 * acknowledged in the range as promised. */
int sim_store_flush(struct sim_store *s, uint64_t lba, uint64_t nblocks);
uint64_t sim_store_dirty_bytes(const struct sim_store *s);
/* Deallocates [lba, lba+nblocks) (UNMAP, WRITE SAME with UNMAP): dirty cached
 * copies are dropped and the media gives the space back (a hole in the file,
 * freed memory chunks), durably before the call returns; reads of the range
 * return zeros from then on.  The oracle counts it as a durable write of zeros
 * to every block it knows; also when the hole was punched and only the sync
 * failed (the error is returned all the same). */
int sim_store_unmap(struct sim_store *s, uint64_t lba, uint64_t nblocks);
/* Provisioning status from lba: *mapped says whether block lba holds storage
 * (on media, or dirty in the cache) and *run how many blocks from lba, at most
 * nblocks, share that status (a run of more than 1 GiB may be cut short: call
 * again from its end).  The media answers per 64 KiB chunk (memory) or
 * file-system block (file), so a block of a partly unmapped chunk stays
 * mapped (and reads as zeros). */
int sim_store_mapped(struct sim_store *s, uint64_t lba, uint64_t nblocks, bool *mapped, uint64_t *run);

void sim_store_set_battery(struct sim_store *s, enum hba_battery b);
enum hba_battery sim_store_battery(const struct sim_store *s);
/* Power cut (how NULL = SIM_POWER_CUT_ALL): returns how many dirty lines were
 * lost (0 with a good battery, whose lines are held for power on; 0 when
 * already off). */
uint64_t sim_store_power_cut(struct sim_store *s, const struct sim_power_cut *how);
/* Power on: replays battery-held lines into the cache (they stay dirty).
 * -EALREADY when on. */
int sim_store_power_on(struct sim_store *s);

/* Memory and activity figures (benchmarks, tests). */
struct sim_store_stats {
    uint64_t dirty_bytes;
    uint64_t dirty_lines;
    uint64_t cache_mem_bytes;    /* line index, line records, data pages */
    uint64_t cache_data_bytes;   /* of which data pages */
    uint64_t media_mem_bytes;    /* memory media chunks, file table */
    uint64_t oracle_mem_bytes;
    uint64_t pi_mem_bytes;       /* protection information tuples */
    uint64_t lines_written_back; /* eviction: lines written back whole */
    uint64_t media_syncs;        /* fdatasync rounds (file media) or their equivalent */
    uint64_t blocks_read;        /* by sim_store_read */
    uint64_t read_hit_blocks;    /* of which served from dirty lines (clean data is never cached) */
    uint64_t writebacks;         /* dirty runs written to media: eviction, flush, power cut */
    uint64_t blocks_written_back;
    /* The cache's line records allocated: the most lines that were dirty at
     * once, since a line's record is reused once it is written back.  What a
     * long-running simulator's cache index costs: bounded by the cache size,
     * not by the writes it has seen. */
    uint64_t line_records;
    /* File media: the battery-backed copy of the dirty blocks beside the
     * media (store_bbu.h), held now, and what the store found there when it
     * was created: written back (battery GOOD) or discarded (not GOOD). */
    uint64_t battery_blocks;
    uint64_t battery_kept_at_open, battery_discarded_at_open;
};
void sim_store_stats(const struct sim_store *s, struct sim_store_stats *st);

/* Injected system-call failures (the fault engine's io-error action,
 * docs/faults.md): the store's next count calls of one kind on one of its
 * files fail with err (a positive errno).  Every system call the store makes
 * on its files goes through sim/store/store_sys.c, which consumes them.
 * Memory media make no system calls.  A later arm of the same kind replaces
 * the earlier; count 0 disarms.  The store then reports the error as it
 * would a real one: -EIO from a media read or write is a medium error to the
 * firmware, anything else an internal target failure. */
enum sim_store_file { SIM_STORE_FILE_MEDIA, SIM_STORE_FILE_JOURNAL, SIM_STORE_FILE_BATTERY, SIM_STORE_FILES };
enum sim_store_call {
    SIM_STORE_CALL_OPEN, SIM_STORE_CALL_STAT, SIM_STORE_CALL_READ, SIM_STORE_CALL_WRITE, SIM_STORE_CALL_SYNC,
    SIM_STORE_CALL_TRUNCATE, SIM_STORE_CALL_RENAME, SIM_STORE_CALL_DISCARD, SIM_STORE_CALL_SEEK,
    SIM_STORE_CALLS
};
/* err may also be one of these pseudo results, for read and write only:
 * the call moves half the bytes asked (a short transfer, which the store
 * must continue), or a read finds the end of the file (the store reads the
 * rest as zeros: a media file shorter than the drive).  The caller arms
 * them for reads and writes only (sim/fault's parser refuses the rest). */
enum { SIM_STORE_SHORT = -1, SIM_STORE_EOF = -2 };
void sim_store_fail_io(struct sim_store *s, enum sim_store_file f, enum sim_store_call c, uint32_t count, int err);
/* (f and c are within their enums: the rule's parser checked them.) */
/* How many armed failures the store's system calls have taken so far: a
 * caller that sees an operation fail tells an injected failure (the count
 * moved) from one of the simulator's own (it did not). */
uint64_t sim_store_injected(const struct sim_store *s);

/* Closes the drive's media, journal and battery file and opens them again,
 * as a controller restarted on the same media would (the fault engine's
 * reopen action): the dirty cache is gone (a GOOD battery's copy beside the
 * media is written back first), and the oracle is rebuilt from its journal.
 * Memory media start empty again, as they would in a new process.  When the files cannot be opened again (err says why) the store stays
 * without media: every call but destroy, stats and another reopen returns
 * -ENXIO until a reopen succeeds. */
int  sim_store_reopen(struct sim_store *s, char *err, size_t errlen);

/* Deletes the media file(s) a file-backed drive of that size uses. */
int sim_store_remove_media(const char *media_path, uint64_t blocks, uint32_t block_size);

/* Oracle: compares what the drive holds now with what was acknowledged. */
int sim_store_check(struct sim_store *s, struct sim_oracle_report *r);

#endif
