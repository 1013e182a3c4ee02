/* sim/store/store_bbu.h — the battery-backed cache memory of a file drive:
 * the write-back cache's dirty blocks mirrored into a file-backed shared
 * mapping beside the media, so that they outlive the controller process.
 *
 * Why: a power cut by directive or `ctl power-cut` keeps a good battery's
 * dirty lines in the process's memory, but the campaign's cut is SIGKILL,
 * which takes that memory along.  A MAP_SHARED mapping of a file is memory
 * the kernel keeps when the process dies (its stores sit in the page cache),
 * so it stands for the DRAM a battery keeps alive.  It does not model the
 * host machine losing power: nothing is msync'd.
 *
 * The file: `<media>.cache`, mode 0600, opened with O_NOFOLLOW and refused
 * unless it is a regular file (the rules of the oracle journal beside it).
 * A 64-byte header (magic, block size, blocks, the media file's oracle id:
 * its user.scsisim.oracle attribute, or its inode where the file system has
 * no user attributes; battery_good, 1 while the file mirrors every dirty
 * block) in a 4 KiB page, then slots, each a 40-byte head and one block:
 *
 *   seq   u64   0: free; else the slot's generation (the commit word)
 *   lba   u64   the block
 *   pi    8 B   the block's protection information tuple (flags bit 0)
 *   hash  u32   store_block_hash of the data
 *   flags u16   bit 0: pi holds the block's tuple
 *   check u32   of seq, lba, pi, flags and hash
 *   data        block_size bytes
 *
 * Writing a new version of a block (store_bbu_put), in this order:
 *   1. take a free slot (seq 0, so recovery ignores it whatever it holds);
 *   2. write data, lba, pi, hash and check;
 *   3. release fence, then store seq = the next generation (one aligned
 *      8-byte store: the commit point);
 *   4. release fence, then free the block's previous slot (seq = 0).
 * A kill before 3 leaves the old version; after 3 the new one wins, because
 * recovery takes, per LBA, the valid slot (seq != 0, check and hash match)
 * with the highest seq.  Forgetting a block (written back, or replaced on
 * media by a durable write) is one store of seq = 0, made after the media
 * write, so a kill in between replays the very data the media got.
 *
 * The store keeps the file in step with its cache only while the battery is
 * GOOD; it clears the file when the battery leaves GOOD or the cache is lost.
 * A store created on the media reads the file first (store_bbu_recover): with
 * the battery GOOD every surviving block is written back to the media (with
 * its tuple) before anything else happens, so the oracle journal's replay
 * finds it there; with the battery ABSENT or FAILED the blocks are discarded,
 * and the journal's replay counts them as lost.  Then store_bbu_open starts
 * the file afresh.
 *
 * Internal to the store; not thread-safe.
 */
#ifndef SIM_STORE_STORE_BBU_H
#define SIM_STORE_STORE_BBU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/store/store_map.h"

#define STORE_BBU_SUFFIX ".cache"

struct store_bbu {
    int       fd;          /* -1: no file (memory media) */
    unsigned char *map;    /* header + nslots slots, MAP_SHARED */
    size_t    map_len;
    uint32_t  block_size;
    uint32_t  stride;      /* bytes per slot: head + block */
    uint32_t  nslots;
    uint64_t  seq;         /* last generation handed out */
    struct store_map index;/* lba -> slot of its current version */
    uint32_t *free;        /* free slot numbers (a stack) */
    uint32_t  nfree;
    struct store_sys *sys; /* the file's system calls (store_sys.h); set after store_bbu_init, NULL: none fails */
};
struct store_sys;

void store_bbu_init(struct store_bbu *b);
/* One surviving block, newest version; pi is NULL when it had no tuple. */
typedef int (*store_bbu_block_fn)(void *ctx, uint64_t lba, const void *data, const uint8_t *pi);
/* Reads `<media_path>.cache` if there is one of this media file (same
 * geometry and id).  keep: every surviving block goes to fn (in no
 * particular order), *kept counts them; !keep: they are only counted in
 * *discarded; *was_good: the file's battery_good.  A missing, foreign or damaged file holds nothing.  0 or -errno
 * (fn's error included) with err filled. */
int  store_bbu_recover(const char *media_path, uint32_t block_size, uint64_t blocks, bool keep,
                       store_bbu_block_fn fn, void *ctx, uint64_t *kept, uint64_t *discarded, bool *was_good,
                       char *err, size_t errlen);
/* The header's battery_good: set after the file holds every dirty block,
 * cleared before it stops doing so (*was_good above: the dead process's
 * file held every block it had acknowledged and not yet written back). */
void store_bbu_set_good(struct store_bbu *b, bool good);
/* Creates or empties `<media_path>.cache` and maps it. */
int  store_bbu_open(struct store_bbu *b, const char *media_path, uint32_t block_size, uint64_t blocks, char *err,
                    size_t errlen);
/* Unmaps and closes; the file stays (a battery keeps its memory). */
void store_bbu_close(struct store_bbu *b);
static inline bool store_bbu_active(const struct store_bbu *b)
{
    return b->fd >= 0;
}
/* n blocks from lba (data: n * block_size bytes; pi: 8 bytes a block or NULL)
 * become those blocks' current versions.  -ENOMEM / -errno when the file
 * cannot grow. */
int  store_bbu_put(struct store_bbu *b, uint64_t lba, uint32_t n, const void *data, const uint8_t *pi);
/* The blocks in [lba, lba + n) hold nothing any more (n may be huge). */
void store_bbu_forget(struct store_bbu *b, uint64_t lba, uint64_t n);
/* Every block is forgotten. */
void store_bbu_clear(struct store_bbu *b);
/* Blocks held now. */
static inline uint64_t store_bbu_count(const struct store_bbu *b)
{
    return b->index.count;
}
/* Deletes the file beside media_path (ENOENT is no error). */
int  store_bbu_remove(const char *media_path);

#endif
