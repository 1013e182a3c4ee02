/* sim/store/store_oracle.h — what the drive promised, block by block.
 *
 * The store tells the oracle every acknowledged write (with its data, hashed
 * per block), every flush, every write-back of dirty blocks to media and every
 * power loss.  For each block ever written the oracle keeps a 32-bit hash of
 *   newest   — the newest acknowledged version,
 *   promised — the newest version the protocol promised durable (a durable
 *              write, or a flush covering the block),
 *   media    — the version written to media (durable write, flush, write-back),
 * and whether the newest version was forfeited by a power loss (it was never
 * promised and was not on media when the cache lost it; a later flush does not
 * promise it).  The rules of store_oracle_check are in sim/store/store.h.
 *
 * Footprint: blocks are kept in groups of 8 consecutive LBAs (40-byte record:
 * 4 bit masks + 8 newest hashes) in a store_map; promised/media hashes that
 * differ from newest live in a side table (12-byte record per block), which
 * only holds blocks written since their last write-back, plus blocks lost at a
 * power cut.  About 60 bytes per written group, so 1 GiB of scattered 4 KiB
 * writes costs about 16 MiB.
 *
 * Internal to the store.
 */
#ifndef SIM_STORE_STORE_ORACLE_H
#define SIM_STORE_STORE_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/store/store.h"
#include "sim/store/store_map.h"

struct store_sys;

struct store_oracle {
    uint32_t block_size;
    /* The journal beside file media (store_oracle_file.c): every promise, so a
     * controller killed with SIGKILL and restarted still knows what was
     * promised.  -1: none (memory media, whose data dies with the process). */
    int      journal_fd;
    struct store_sys *sys;   /* the journal's system calls (store_sys.h); NULL: none fails */
    /* Set by the store before the journal is opened: the process that wrote
     * it died with a GOOD battery, whose kept blocks are on the media now,
     * and the battery is still GOOD.  Then every version it acknowledged
     * survived, and a newest version the media does not hold was never
     * acknowledged (a write in flight at the kill): the replay settles such a
     * block on the version the media holds, if the journal knows it. */
    bool     battery_kept;
    uint64_t jrecords;               /* records appended (and replayed) */
    struct store_map  group_index;   /* lba / 8 -> group record */
    struct store_slab groups;
    struct store_map  side_index;    /* lba -> side record */
    struct store_slab sides;
};

void store_oracle_init(struct store_oracle *o, uint32_t block_size);
void store_oracle_free(struct store_oracle *o);
/* An acknowledged write of n blocks (data = n * block_size bytes). */
int  store_oracle_write(struct store_oracle *o, uint64_t lba, uint64_t n, const void *data, bool durable);
/* The blocks were deallocated (UNMAP): every block with an acknowledged
 * version now durably holds zero_block (one block of zeros); blocks never
 * written stay unknown, so unmapping a huge range costs what was written. */
int  store_oracle_unmap(struct store_oracle *o, uint64_t lba, uint64_t n, const void *zero_block);
/* The newest version of these blocks reached media (write-back of dirty data). */
int  store_oracle_on_media(struct store_oracle *o, uint64_t lba, uint64_t n);
/* A flush of [lba, lba + n) completed: every acknowledged, not forfeited
 * version in the range is now promised (and on media). */
void store_oracle_flush(struct store_oracle *o, uint64_t lba, uint64_t n);
/* Power lost without a battery holding the cache: every newest version not on
 * media is forfeited. */
void store_oracle_power_loss(struct store_oracle *o);

typedef int (*store_read_block_fn)(void *ctx, uint64_t lba, void *buf);
/* Reads every known block through read_block and classifies it. */
int  store_oracle_check(struct store_oracle *o, store_read_block_fn read_block, void *ctx,
                        struct sim_oracle_report *r);
size_t store_oracle_bytes(const struct store_oracle *o);

/* One block's acknowledged (or in-flight) version by its hash: what
 * store_oracle_write(durable = false) does, for a journal replay. */
int  store_oracle_write_hash(struct store_oracle *o, uint64_t lba, uint32_t hash);
bool store_oracle_is_durable(const struct store_oracle *o, uint64_t lba);
/* A block's whole record, for the journal's compaction. */
struct store_block_state {
    uint32_t newest, promised, media;
    bool durable, on_media, forfeit, has_promised, has_media;
};
typedef int (*store_state_fn)(void *ctx, uint64_t lba, const struct store_block_state *st);
int  store_oracle_snapshot(const struct store_oracle *o, store_state_fn fn, void *ctx);
int  store_oracle_set_state(struct store_oracle *o, uint64_t lba, const struct store_block_state *st);
/* After a replay: the media holds this version of a block whose newest is
 * not promised, and may (it was written after the last promise, and a kill
 * can land between a media write and its record): accept it as media's. */
int  store_oracle_media_holds(struct store_oracle *o, uint64_t lba, uint32_t hash);

/* A block whose newest version is not promised, where the media holds `have`,
 * a version the journal knows (known): that one is the newest acknowledged
 * (battery_kept above), on media.  A promised newest is left as it is. */
int  store_oracle_unacked_newest(struct store_oracle *o, uint64_t lba, uint32_t have, bool known);
/* A block's newest version, false when it has none. */
bool store_oracle_newest(const struct store_oracle *o, uint64_t lba, uint32_t *hash);
/* The block was never acknowledged (its only versions were in flight at a
 * kill, battery_kept): the oracle forgets it. */
void store_oracle_forget(struct store_oracle *o, uint64_t lba);

/* ---- the journal beside file media (store_oracle_file.c) --------------------
 * `<media>.oracle`, 0600, beside a media file: the oracle's events, so that a
 * controller killed with SIGKILL and restarted on the same media judges what
 * the dead one promised.  A 32-byte header (magic, block size, blocks, the
 * id the media file also carries, in its user.scsisim.oracle attribute)
 * and 32-byte records, each with its own check:
 *   VERSION lba hash   a version of a block, appended before its data can
 *                      reach the media (write() only: a killed process's
 *                      completed writes survive it)
 *   MEDIA   lba n      these blocks' newest versions reached the media
 *   PROMISE lba n      a durable write or a flush: appended and fdatasync'd
 *                      before the command's status can be sent
 *   LOSS               a power cut lost the cache
 * Opening replays the records through the oracle's own functions and then a
 * power loss (the process died), appended as a LOSS record too.  A kill can
 * land between a media write and its record (a FUA write whose promise never
 * went out, a write-back): so for each block whose newest version is not
 * promised, the media may hold any version journaled since its last promise
 * (the last 8 are kept while replaying), and read_media settles which.  A
 * header that does not match (a new media file) starts the journal afresh.
 * Once replayed, the journal is rewritten as a snapshot (STATE records, one
 * per block: the oracle's record of it), so a restart costs what was written,
 * not every cut before it.
 * A torn or damaged tail is where the replay stops: nothing after it was
 * acknowledged. */
int  store_oracle_journal_open(struct store_oracle *o, const char *media_path, uint64_t blocks,
                               store_read_block_fn read_media, void *ctx, struct store_sys *sys, char *err,
                               size_t errlen);
/* The journal's events; each is a no-op without a journal.  0 or -errno
 * (the operation must then fail: a promise without its record is none). */
int  store_oracle_j_versions(struct store_oracle *o, uint64_t lba, uint64_t n, const void *data);
int  store_oracle_j_media(struct store_oracle *o, uint64_t lba, uint64_t n);
int  store_oracle_j_promise(struct store_oracle *o, uint64_t lba, uint64_t n);
int  store_oracle_j_loss(struct store_oracle *o);
/* The id that ties files beside the media to it (the journal, the
 * battery-backed cache): its user.scsisim.oracle attribute, 0 while it has
 * none, its inode on a file system without user attributes.  0 or -errno. */
int  store_oracle_media_id(const char *media_path, uint64_t *id);
/* Removes the journal beside media_path (with the media file). */
int  store_oracle_journal_remove(const char *media_path);

#endif
