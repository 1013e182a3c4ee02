/* sim/store.h — one logical drive's storage: a volatile write-back cache of
 * dirty lines above sparse media, with a battery and an oracle.
 *
 * Media is either a file whose holes cost nothing (pread/pwrite/fdatasync) or
 * sparse memory (allocated only where written).  Reads see dirty lines over the
 * media.  A write is "durable" when it was written through (FUA, or WCE=0) or a
 * later flush covered it; the media file is fdatasync'ed before a flush returns.
 * A power cut loses dirty lines unless the battery is good (all, a seeded random
 * subset, or with one line torn); power on replays battery-backed lines.  The
 * oracle records every acknowledged write and flush and can say, after power on,
 * whether everything that was durable is still there.
 *
 * Not thread-safe: the caller (the firmware) serialises calls per store.
 * Errors are negative errno values.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/hba.h"

struct sim_store;

struct sim_store_config {
    uint64_t blocks;
    uint32_t block_size;      /* 512 or 4096 */
    const char *media_path;   /* NULL: sparse memory */
    uint64_t cache_bytes;     /* dirty data kept before lines are written back */
    enum hba_battery battery;
    uint64_t seed;            /* random power-cut subsets */
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

/* Result of an oracle check. */
struct sim_oracle_report {
    uint64_t blocks_checked;   /* blocks the oracle knows a durable value for */
    uint64_t durable_lost;     /* durable blocks whose content is not what was made durable */
    uint64_t first_bad_lba;    /* valid when durable_lost > 0 */
    uint64_t volatile_kept;    /* acknowledged-but-never-durable blocks that still hold the newest data */
    uint64_t volatile_lost;    /* acknowledged-but-never-durable blocks that do not */
};

int  sim_store_create(const struct sim_store_config *cfg, struct sim_store **out, char *err, size_t errlen);
void sim_store_destroy(struct sim_store *s);

/* Block I/O.  lba + nblocks must lie within the drive (the caller checks). */
int sim_store_read(struct sim_store *s, uint64_t lba, uint32_t nblocks, void *buf);
/* durable = FUA or write cache disabled: goes to media before returning. */
int sim_store_write(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, bool durable);
/* Writes back dirty lines overlapping [lba, lba+nblocks) (nblocks 0 = to the end
 * of the drive) and fdatasyncs the media. */
int sim_store_flush(struct sim_store *s, uint64_t lba, uint64_t nblocks);
uint64_t sim_store_dirty_bytes(const struct sim_store *s);

void sim_store_set_battery(struct sim_store *s, enum hba_battery b);
enum hba_battery sim_store_battery(const struct sim_store *s);
/* Power cut: returns how many dirty lines were lost (0 with a good battery,
 * whose lines are held for power on). */
uint64_t sim_store_power_cut(struct sim_store *s, const struct sim_power_cut *how);
/* Power on: replays battery-held lines into the cache (they stay dirty). */
int sim_store_power_on(struct sim_store *s);

/* Oracle: compares what the drive holds now with what was acknowledged. */
int sim_store_check(struct sim_store *s, struct sim_oracle_report *r);

#endif
