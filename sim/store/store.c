/* sim/store/store.c — one logical drive: media + dirty-line cache + battery + oracle.
 * The policy lives here; the containers in store_cache.c, store_media.c and
 * store_oracle.c.  Behaviour is specified in sim/store/store.h. */
#include "sim/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "sim/store/store_bbu.h"
#include "sim/store/store_cache.h"
#include "sim/store/store_hash.h"
#include "sim/store/store_media.h"
#include "sim/store/store_oracle.h"
#include "sim/store/store_pi.h"
#include "sim/store/store_sys.h"

struct sim_store {
    uint64_t blocks;
    uint32_t block_size;
    uint64_t cache_bytes;
    enum hba_battery battery;
    uint64_t seed;
    bool powered;
    bool held;                 /* a battery holds the dirty lines through a cut */
    uint64_t lines_written_back;
    uint64_t media_syncs;
    uint64_t blocks_read, read_hit_blocks;       /* sim_store_read: all, and those the cache served */
    uint64_t writebacks, blocks_written_back;    /* every write-back: eviction, flush, cut */
    struct store_media *media;
    struct store_cache cache;
    struct store_oracle oracle;
    struct sim_store_pi_gen pi_gen; /* fn NULL: not formatted with protection information */
    struct store_pi pi;
    /* File media: the dirty blocks mirrored beside the media while the
     * battery is GOOD, so they outlive the process (store_bbu.h). */
    struct store_bbu bbu;
    uint64_t bbu_kept, bbu_discarded;   /* found there when the store was created */
    /* Failures a trace armed for the next system calls (store_sys.h); they
     * stay armed through a reopen, which is how one makes a reopen fail. */
    struct store_sys sys;
    char *media_path;          /* owned copy: a reopen opens the same files */
    bool no_media;             /* a reopen failed: every call answers -ENXIO */
};

static int read_media_one(void *ctx, uint64_t lba, void *buf);
static int bbu_replay_block(void *ctx, uint64_t lba, const void *data, const uint8_t *pi);
static int media_sync(struct sim_store *s);
static int open_parts(struct sim_store *s, char *err, size_t errlen);

int sim_store_create(const struct sim_store_config *cfg, struct sim_store **out, char *err, size_t errlen)
{
    if (!out) {
        errf(err, errlen, "store: no place for the result");
        return -EINVAL;
    }
    *out = NULL;
    if (!cfg) {
        errf(err, errlen, "store: no configuration");
        return -EINVAL;
    }
    if (cfg->block_size != 512 && cfg->block_size != 4096) {
        errf(err, errlen, "store: block size %u is not supported: use 512 or 4096", cfg->block_size);
        return -EINVAL;
    }
    if (cfg->blocks == 0) {
        errf(err, errlen, "store: a drive needs at least one block (blocks is 0)");
        return -EINVAL;
    }
    uint64_t bytes;
    if (__builtin_mul_overflow(cfg->blocks, (uint64_t)cfg->block_size, &bytes) || bytes > INT64_MAX) {
        errf(err, errlen, "store: %llu blocks of %u bytes exceed 2^63 bytes, the largest file offset",
             (unsigned long long)cfg->blocks, cfg->block_size);
        return -EINVAL;
    }
    if (cfg->battery != HBA_BATTERY_ABSENT && cfg->battery != HBA_BATTERY_GOOD &&
        cfg->battery != HBA_BATTERY_FAILED) {
        errf(err, errlen, "store: battery state %d is unknown: use absent, good or failed", (int)cfg->battery);
        return -EINVAL;
    }

    struct sim_store *s = calloc(1, sizeof(*s));
    if (!s || (cfg->media_path && !(s->media_path = strdup(cfg->media_path)))) {
        free(s);
        errf(err, errlen, "store: out of memory");
        return -ENOMEM;
    }
    s->blocks = cfg->blocks;
    s->block_size = cfg->block_size;
    s->cache_bytes = cfg->cache_bytes ? cfg->cache_bytes : SIM_STORE_DEFAULT_CACHE_BYTES;
    s->battery = cfg->battery;
    s->seed = cfg->seed;
    s->powered = true;
    s->pi_gen = cfg->pi_gen;
    int rc = open_parts(s, err, errlen);
    if (rc) {
        free(s->media_path);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Frees the cache, media, oracle, tuples and battery file, leaving each in
 * its initial state (so a second close is harmless). */
static void close_parts(struct sim_store *s)
{
    store_cache_free(&s->cache);
    store_bbu_close(&s->bbu);   /* the file stays: a battery keeps its memory */
    store_media_close(s->media);
    s->media = NULL;
    store_oracle_free(&s->oracle);
    store_oracle_init(&s->oracle, s->block_size);
    store_pi_free(&s->pi);
    store_pi_init(&s->pi);
}

/* Opens the parts as a new store on this media finds them: what a battery
 * kept is written back, the journal replayed.  On failure every part is
 * closed again. */
static int open_parts(struct sim_store *s, char *err, size_t errlen)
{
    store_pi_init(&s->pi);
    store_bbu_init(&s->bbu);
    s->bbu.sys = &s->sys;
    store_oracle_init(&s->oracle, s->block_size);
    int rc = store_cache_init(&s->cache, s->block_size);
    if (rc) {
        close_parts(s);
        errf(err, errlen, "store: out of memory for the cache");
        return rc;
    }
    const char *path = s->media_path;
    rc = store_media_open(&s->media, path, s->blocks * s->block_size, &s->sys, err, errlen);
    if (rc) {
        close_parts(s);
        return rc;
    }
    /* What a battery kept through the death of the last process on this
     * media goes to the media first (or is discarded without a good
     * battery), so the journal's replay below finds it where it is. */
    if (path) {
        bool was_good = false, keep = s->battery == HBA_BATTERY_GOOD;
        rc = store_bbu_recover(path, s->block_size, s->blocks, keep, bbu_replay_block, s, &s->bbu_kept,
                               &s->bbu_discarded, &was_good, err, errlen);
        /* Every version the dead process acknowledged is on the media now. */
        s->oracle.battery_kept = keep && was_good;
        if (rc == 0 && s->bbu_kept)
            rc = media_sync(s);
        if (rc) {
            close_parts(s);
            return rc;
        }
    }
    /* File media outlive the process: so must what was promised about them. */
    if (path && (rc = store_oracle_journal_open(&s->oracle, path, s->blocks, read_media_one, s, &s->sys, err,
                                                 errlen))) {
        close_parts(s);
        return rc;
    }
    if (path && (rc = store_bbu_open(&s->bbu, path, s->block_size, s->blocks, err, errlen))) {
        close_parts(s);
        return rc;
    }
    store_bbu_set_good(&s->bbu, s->battery == HBA_BATTERY_GOOD);   /* the cache is empty: mirrored */
    return 0;
}

int sim_store_reopen(struct sim_store *s, char *err, size_t errlen)
{
    if (!s->no_media)
        close_parts(s);   /* as a kill: the dirty lines go, the battery's file stays */
    s->held = false;
    int rc = open_parts(s, err, errlen);
    s->no_media = rc != 0;
    return rc;
}

void sim_store_fail_io(struct sim_store *s, enum sim_store_file f, enum sim_store_call c, uint32_t count, int err)
{
    s->sys.arm[f][c].left = count;
    s->sys.arm[f][c].err = err;
}

void sim_store_destroy(struct sim_store *s)
{
    if (!s)
        return;
    close_parts(s);
    store_oracle_free(&s->oracle);
    free(s->media_path);
    free(s);
}

/* Why I/O cannot run now: -ENXIO without media (a failed reopen), -EIO
 * while powered off; 0 when it can. */
static int unusable(const struct sim_store *s)
{
    return s->no_media ? -ENXIO : s->powered ? 0 : -EIO;
}

static bool in_range(const struct sim_store *s, uint64_t lba, uint64_t n)
{
    return n > 0 && lba < s->blocks && n <= s->blocks - lba;
}

static uint64_t byte_off(const struct sim_store *s, uint64_t lba)
{
    return lba * s->block_size;
}

/* Blocks from lba to the end of its line, at most n. */
static uint32_t line_piece(const struct sim_store *s, uint64_t lba, uint64_t n)
{
    uint32_t left = s->cache.line_blocks - (uint32_t)(lba % s->cache.line_blocks);
    return n < left ? (uint32_t)n : left;
}

/* What the drive holds now, whatever the power state. */
static int read_blocks(struct sim_store *s, uint64_t lba, uint64_t n, void *buf)
{
    unsigned char *p = buf;
    while (n) {
        uint32_t k = line_piece(s, lba, n);
        uint32_t dirty = store_cache_count_dirty(&s->cache, lba, k);
        if (dirty < k) {
            int rc = store_media_read(s->media, byte_off(s, lba), (size_t)k * s->block_size, p);
            if (rc)
                return rc;
        }
        if (dirty)
            store_cache_overlay(&s->cache, lba, k, p);
        p += (size_t)k * s->block_size;
        lba += k;
        n -= k;
    }
    return 0;
}

int sim_store_read(struct sim_store *s, uint64_t lba, uint32_t nblocks, void *buf)
{
    if (!s || !buf || !in_range(s, lba, nblocks))
        return -EINVAL;
    int down = unusable(s);
    if (down)
        return down;
    s->blocks_read += nblocks;
    /* Clean data is never cached: a hit is a block read from a dirty line. */
    for (uint64_t at = lba, n = nblocks; n;) {
        uint32_t k = line_piece(s, at, n);
        s->read_hit_blocks += store_cache_count_dirty(&s->cache, at, k);
        at += k;
        n -= k;
    }
    return read_blocks(s, lba, nblocks, buf);
}

static int media_sync(struct sim_store *s)
{
    int rc = store_media_sync(s->media);
    if (rc == 0)
        s->media_syncs++;
    return rc;
}

/* store_writeback_fn: dirty blocks to media; the oracle learns they are there. */
static int write_back(void *ctx, uint64_t lba, uint32_t n, const void *data)
{
    struct sim_store *s = ctx;
    int rc = store_media_write(s->media, byte_off(s, lba), (size_t)n * s->block_size, data);
    if (rc == 0) {
        s->writebacks++;
        s->blocks_written_back += n;
        rc = store_oracle_on_media(&s->oracle, lba, n);
        store_pi_on_media(&s->pi, lba, n);   /* the tuples travel with their blocks */
        store_bbu_forget(&s->bbu, lba, n);   /* after the media has them: a kill replays the same data */
    }
    return rc ? rc : store_oracle_j_media(&s->oracle, lba, n);
}

/* The battery-backed copy is kept while the battery is GOOD. */
static bool bbu_on(const struct sim_store *s)
{
    return store_bbu_active(&s->bbu) && s->battery == HBA_BATTERY_GOOD;
}

/* n blocks of one line piece, as the cache now holds them, into the
 * battery-backed copy, with their newest tuples. */
static int bbu_put(struct sim_store *s, uint64_t lba, uint32_t n, const void *data)
{
    if (!bbu_on(s))
        return 0;
    uint8_t tuples[STORE_LINE_MAX_BLOCKS * STORE_PI_BYTES];
    if (s->pi_gen.fn)
        for (uint32_t i = 0; i < n; i++)
            store_pi_get(&s->pi, lba + i, true, tuples + (size_t)i * STORE_PI_BYTES);
    return store_bbu_put(&s->bbu, lba, n, data, s->pi_gen.fn ? tuples : NULL);
}

/* The battery became GOOD: what the cache holds now is copied over. */
static int bbu_mirror_all(struct sim_store *s)
{
    for (uint32_t id = s->cache.oldest; id != STORE_MAP_NONE;) {
        const struct cache_line *l = store_cache_at(&s->cache, id);
        for (uint32_t i = 0; i < s->cache.line_blocks; i++) {
            if (!store_cache_is_dirty(l, i))
                continue;
            int rc = bbu_put(s, l->line * s->cache.line_blocks + i, 1, store_cache_block(&s->cache, l, i));
            if (rc)
                return rc;
        }
        id = l->next;
    }
    return 0;
}

/* Writes back least recently written lines until the dirty data fits, and
 * until the cache's pages fit in twice that: scattered 512-byte writes fill
 * only an eighth of each 4 KiB page. */
static int evict(struct sim_store *s)
{
    uint64_t page_limit = s->cache_bytes > UINT64_MAX / 4 ? UINT64_MAX : 2 * s->cache_bytes + STORE_LINE_BYTES;
    while ((s->cache.dirty_bytes > s->cache_bytes || s->cache.page_bytes > page_limit) &&
           s->cache.oldest != STORE_MAP_NONE) {
        int rc = store_cache_writeback(&s->cache, s->cache.oldest, 0, UINT64_MAX, write_back, s);
        if (rc)
            return rc;
        s->lines_written_back++;
    }
    return 0;
}

/* The newest tuples of the blocks about to be written: the caller's, or the
 * generator's for a write that brought none.  Set before the data moves, since
 * a write-through or an eviction carries them to the media with it. */
static int pi_newest(struct sim_store *s, uint64_t lba, uint32_t n, const void *buf, const uint8_t *pi)
{
    if (!s->pi_gen.fn)
        return 0;
    if (pi)
        return store_pi_set_newest(&s->pi, lba, n, pi);
    const unsigned char *p = buf;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t t[STORE_PI_BYTES];
        s->pi_gen.fn(s->pi_gen.arg, lba + i, p + (size_t)i * s->block_size, s->block_size, t);
        int rc = store_pi_set_newest(&s->pi, lba + i, 1, t);
        if (rc)
            return rc;
    }
    return 0;
}

static int write_blocks(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, const uint8_t *pi,
                        bool durable);

int sim_store_write(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, bool durable)
{
    return write_blocks(s, lba, nblocks, buf, NULL, durable);
}

int sim_store_write_pi(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, const void *pi,
                       bool durable)
{
    if (s && !s->pi_gen.fn)
        return -EINVAL;
    if (!pi)
        return -EINVAL;
    return write_blocks(s, lba, nblocks, buf, pi, durable);
}

int sim_store_read_pi(struct sim_store *s, uint64_t lba, uint32_t nblocks, void *pi)
{
    if (!s || !pi || !in_range(s, lba, nblocks) || !s->pi_gen.fn)
        return -EINVAL;
    int down = unusable(s);
    if (down)
        return down;
    uint8_t *out = pi;
    for (uint32_t i = 0; i < nblocks; i++)
        store_pi_get(&s->pi, lba + i, store_cache_count_dirty(&s->cache, lba + i, 1) != 0,
                     out + (size_t)i * STORE_PI_BYTES);
    return 0;
}

/* A write through to the media failed, perhaps after the media took some of
 * it: each block holds its older version or the new one.  Read back, the
 * blocks that hold the new one become a version the oracle knows is on the
 * media but never promised (the command failed; a later flush promises it,
 * as it syncs the media that holds it), as the journal's replay settles
 * versions after a kill.  A block that cannot be read back stays as the
 * oracle had it. */
static void settle_failed_write(struct sim_store *s, uint64_t lba, uint32_t n, const unsigned char *buf)
{
    unsigned char *blk = malloc(s->block_size);
    for (uint32_t i = 0; blk && i < n; i++) {
        const unsigned char *want = buf + (size_t)i * s->block_size;
        if (read_media_one(s, lba + i, blk) == 0 && memcmp(blk, want, s->block_size) == 0 &&
            store_oracle_write(&s->oracle, lba + i, 1, want, false) == 0)
            (void)store_oracle_on_media(&s->oracle, lba + i, 1);
    }
    free(blk);
}

static int write_blocks(struct sim_store *s, uint64_t lba, uint32_t nblocks, const void *buf, const uint8_t *pi,
                        bool durable)
{
    if (!s || !buf || !in_range(s, lba, nblocks))
        return -EINVAL;
    int down = unusable(s);
    if (down)
        return down;
    int rc0 = pi_newest(s, lba, nblocks, buf, pi);
    if (rc0)
        return rc0;
    /* The journal hears of the new versions before they can reach the media. */
    int rc = store_oracle_j_versions(&s->oracle, lba, nblocks, buf);
    if (rc)
        return rc;
    if (durable) {
        /* A dirty older copy held by the battery must never replay over
         * this data: the battery holds the new one before the media gets it. */
        if (bbu_on(s)) {
            const unsigned char *p = buf;
            for (uint64_t b = lba, left = nblocks; left && rc == 0;) {
                uint32_t k = line_piece(s, b, left);
                if (store_cache_count_dirty(&s->cache, b, k))
                    rc = bbu_put(s, b, k, p);
                p += (size_t)k * s->block_size;
                b += k;
                left -= k;
            }
            if (rc)
                return rc;
        }
        rc = store_media_write(s->media, byte_off(s, lba), (size_t)nblocks * s->block_size, buf);
        if (rc == 0)
            rc = media_sync(s);
        if (rc) {
            settle_failed_write(s, lba, nblocks, buf);
            return rc;
        }
        store_pi_on_media(&s->pi, lba, nblocks);
        /* Media now holds the newest data: a dirty copy would be stale. */
        for (uint64_t b = lba, left = nblocks; left;) {
            uint32_t k = line_piece(s, b, left);
            store_cache_undirty(&s->cache, b, k);
            b += k;
            left -= k;
        }
        store_bbu_forget(&s->bbu, lba, nblocks);
    } else {
        const unsigned char *p = buf;
        for (uint64_t b = lba, left = nblocks; left;) {
            uint32_t k = line_piece(s, b, left);
            rc = store_cache_write(&s->cache, b, k, p);
            if (rc == 0)
                rc = bbu_put(s, b, k, p);
            if (rc)
                return rc;
            p += (size_t)k * s->block_size;
            b += k;
            left -= k;
        }
    }
    rc = store_oracle_write(&s->oracle, lba, nblocks, buf, durable);
    if (rc)
        return rc;
    /* A durable write's promise is on disk before its status can be sent. */
    return durable ? store_oracle_j_promise(&s->oracle, lba, nblocks) : evict(s);
}

int sim_store_unmap(struct sim_store *s, uint64_t lba, uint64_t nblocks)
{
    if (!s || !in_range(s, lba, nblocks))
        return -EINVAL;
    int down = unusable(s);
    if (down)
        return down;
    /* A dirty copy would read back over the hole: the cache forgets it. */
    for (uint64_t b = lba, left = nblocks; left;) {
        uint32_t k = line_piece(s, b, left);
        store_cache_undirty(&s->cache, b, k);
        b += k;
        left -= k;
    }
    store_bbu_forget(&s->bbu, lba, nblocks); /* before the hole: a kill must not replay them over it */
    store_pi_forget(&s->pi, lba, nblocks);   /* unmapped: escape values (store_pi.h) */
    int rc = store_media_discard(s->media, byte_off(s, lba), nblocks * s->block_size);
    if (rc)
        return rc;   /* no hole was punched: the oracle keeps what it had */
    /* The hole is there even when the sync fails: the oracle must know it,
     * whatever the command's status says. */
    int sync_rc = media_sync(s);
    void *zero = calloc(1, s->block_size);
    if (!zero)
        return -ENOMEM;
    rc = store_oracle_unmap(&s->oracle, lba, nblocks, zero);
    free(zero);
    return sync_rc ? sync_rc : rc;
}

/* A run of blocks from lba (at most n) that are all mapped or all not. */
static int status_run(struct sim_store *s, uint64_t lba, uint64_t n, bool *mapped, uint64_t *run)
{
    uint64_t bytes;
    int rc = store_media_mapped(s->media, byte_off(s, lba), n * s->block_size, mapped, &bytes);
    if (rc)
        return rc;
    uint64_t blocks = bytes / s->block_size;
    if (blocks == 0)
        blocks = 1;             /* a block that straddles states counts as mapped */
    if (*mapped || bytes % s->block_size) {
        *mapped = true;
        *run = blocks;
        return 0;
    }
    /* Not on media, but a dirty block in the cache is mapped all the same:
     * the run goes on while blocks keep the first one's dirtiness (whole
     * line pieces at a time when they are uniform). */
    uint64_t b = lba, end = lba + blocks;
    bool dirty = store_cache_count_dirty(&s->cache, lba, 1) != 0;
    while (b < end) {
        uint32_t k = line_piece(s, b, end - b);
        uint32_t d = store_cache_count_dirty(&s->cache, b, k);
        if (d == (dirty ? k : 0)) {
            b += k;
            continue;
        }
        while ((store_cache_count_dirty(&s->cache, b, 1) != 0) == dirty)
            b++;
        break;
    }
    *mapped = dirty;
    *run = b - lba;
    return 0;
}

int sim_store_mapped(struct sim_store *s, uint64_t lba, uint64_t nblocks, bool *mapped, uint64_t *run)
{
    if (!s || !mapped || !run || !in_range(s, lba, nblocks))
        return -EINVAL;
    int down = unusable(s);
    if (down)
        return down;
    /* One piece of the media's answer at a time, merged while the status
     * holds; bounded so a huge sparse drive answers in bounded time. */
    uint64_t done = 0;
    for (unsigned pieces = 0; done < nblocks && pieces < 8; pieces++) {
        bool m;
        uint64_t k;
        int rc = status_run(s, lba + done, nblocks - done, &m, &k);
        if (rc)
            return rc;
        if (done == 0)
            *mapped = m;
        else if (m != *mapped)
            break;
        done += k;
    }
    *run = done;
    return 0;
}

int sim_store_flush(struct sim_store *s, uint64_t lba, uint64_t nblocks)
{
    if (!s)
        return -EINVAL;
    if (nblocks == 0 && lba < s->blocks)
        nblocks = s->blocks - lba;
    if (!in_range(s, lba, nblocks))
        return -EINVAL;
    int down = unusable(s);
    if (down)
        return down;
#ifdef SIM_MUTANT_SYNC_EARLY
    /* The campaign's mutant (a test-only build, build/mutants/scsisim-sync-early;
     * docs/faults.md): the firmware acknowledges SYNCHRONIZE CACHE and records
     * the promise before writing anything back, and leaves the write-back to
     * eviction.  A power cut after the GOOD loses promised blocks, which
     * `scsisim campaign` must catch.  Never defined in a normal build. */
    store_oracle_flush(&s->oracle, lba, nblocks);
    return store_oracle_j_promise(&s->oracle, lba, nblocks);
#endif
    uint64_t hi = lba + nblocks;
    uint64_t l0 = lba / s->cache.line_blocks, l1 = (hi - 1) / s->cache.line_blocks;
    int rc = 0;
    if (l1 - l0 < store_cache_nlines(&s->cache)) {
        for (uint64_t l = l0; l <= l1 && rc == 0; l++) {
            uint32_t id = store_cache_find(&s->cache, l);
            if (id != STORE_MAP_NONE)
                rc = store_cache_writeback(&s->cache, id, lba, hi, write_back, s);
        }
    } else {
        for (uint32_t id = s->cache.oldest, next; id != STORE_MAP_NONE && rc == 0; id = next) {
            const struct cache_line *l = store_cache_at(&s->cache, id);
            next = l->next;   /* write-back may free the line */
            if (l->line >= l0 && l->line <= l1)
                rc = store_cache_writeback(&s->cache, id, lba, hi, write_back, s);
        }
    }
    if (rc == 0)
        rc = media_sync(s);
    if (rc)
        return rc;
    store_oracle_flush(&s->oracle, lba, nblocks);
    return store_oracle_j_promise(&s->oracle, lba, nblocks);
}

uint64_t sim_store_dirty_bytes(const struct sim_store *s)
{
    return s ? s->cache.dirty_bytes : 0;
}

void sim_store_set_battery(struct sim_store *s, enum hba_battery b)
{
    if (!s)
        return;
    bool was = s->battery == HBA_BATTERY_GOOD;
    s->battery = b;
    /* The battery-backed copy exists only while the battery is GOOD: a
     * battery that leaves GOOD no longer keeps it through a kill. */
    if (was && b != HBA_BATTERY_GOOD) {
        store_bbu_set_good(&s->bbu, false);
        store_bbu_clear(&s->bbu);
    } else if (!was && b == HBA_BATTERY_GOOD) {
        if (bbu_mirror_all(s) == 0)
            store_bbu_set_good(&s->bbu, true);
        else
            store_bbu_clear(&s->bbu);   /* the file could not grow: it keeps nothing rather than part */
    }
}

enum hba_battery sim_store_battery(const struct sim_store *s)
{
    return s ? s->battery : HBA_BATTERY_ABSENT;
}

/* RANDOM: every line, oldest first, is lost or written back on a coin flip. */
static uint64_t cut_random(struct sim_store *s, uint64_t *rng)
{
    uint64_t lost = 0;
    while (s->cache.oldest != STORE_MAP_NONE) {
        uint32_t id = s->cache.oldest;
        if ((store_rng_next(rng) & 1) == 0 ||
            store_cache_writeback(&s->cache, id, 0, UINT64_MAX, write_back, s) != 0) {
            /* Lost, or a write-back failed part way (a failed write-back never
             * frees the line): the rest of the line is lost. */
            store_cache_drop(&s->cache, id);
            lost++;
        }
    }
    return lost;
}

/* TORN: the line's first half of dirty blocks reach media whole, the next
 * dirty block only its first half; errors just leave less written. */
static void tear_line(struct sim_store *s, uint32_t id)
{
    const struct cache_line *l = store_cache_at(&s->cache, id);
    uint64_t base = l->line * s->cache.line_blocks;
    uint32_t whole = l->ndirty / 2, seen = 0;
    for (uint32_t i = 0; i < s->cache.line_blocks; i++) {
        if (!store_cache_is_dirty(l, i))
            continue;
        const unsigned char *data = store_cache_block(&s->cache, l, i);
        if (seen++ < whole) {
            (void)write_back(s, base + i, 1, data);
            continue;
        }
        uint32_t half = s->block_size / 2;
        (void)store_media_write(s->media, byte_off(s, base + i), half, data);
        return;
    }
}

static uint64_t cut_torn(struct sim_store *s, uint64_t *rng)
{
    uint64_t n = store_cache_nlines(&s->cache);
    if (n) {
        uint64_t pick = store_rng_next(rng) % n;
        uint32_t id = s->cache.oldest;
        while (pick--)
            id = store_cache_at(&s->cache, id)->next;
        tear_line(s, id);
    }
    return store_cache_drop_all(&s->cache);
}

uint64_t sim_store_power_cut(struct sim_store *s, const struct sim_power_cut *how)
{
    if (!s || !s->powered)
        return 0;
    s->powered = false;
    if (s->no_media)
        return 0;
    if (s->battery == HBA_BATTERY_GOOD) {
        s->held = store_cache_nlines(&s->cache) > 0;
        return 0;
    }
    enum sim_power_cut_mode mode = how ? how->mode : SIM_POWER_CUT_ALL;
    uint64_t rng = how && how->seed ? how->seed : s->seed;
    uint64_t lost;
    switch (mode) {
    case SIM_POWER_CUT_RANDOM:
        lost = cut_random(s, &rng);
        break;
    case SIM_POWER_CUT_TORN:
        lost = cut_torn(s, &rng);
        break;
    case SIM_POWER_CUT_ALL:
    default:
        lost = store_cache_drop_all(&s->cache);
        break;
    }
    store_bbu_clear(&s->bbu);        /* (empty already: it is kept only with a GOOD battery) */
    store_oracle_power_loss(&s->oracle);
    store_oracle_j_loss(&s->oracle); /* a failure only makes a later judgement stricter */
    return lost;
}

int sim_store_power_on(struct sim_store *s)
{
    if (!s)
        return -EINVAL;
    if (s->powered)
        return -EALREADY;
    s->powered = true;
    if (s->no_media)
        return 0;
    if (s->held && s->battery != HBA_BATTERY_GOOD) {
        /* The battery gave out while the power was off. */
        store_cache_drop_all(&s->cache);
        store_bbu_clear(&s->bbu);
        store_oracle_power_loss(&s->oracle);
        store_oracle_j_loss(&s->oracle);
    }
    s->held = false;  /* held lines simply stay in the cache, still dirty */
    return 0;
}

/* store_bbu_block_fn: a block the battery kept through the last process's
 * death goes to the media, with its tuple. */
static int bbu_replay_block(void *ctx, uint64_t lba, const void *data, const uint8_t *pi)
{
    struct sim_store *s = ctx;
    int rc = store_media_write(s->media, byte_off(s, lba), s->block_size, data);
    if (rc == 0 && pi && s->pi_gen.fn && (rc = store_pi_set_newest(&s->pi, lba, 1, pi)) == 0)
        store_pi_on_media(&s->pi, lba, 1);
    return rc;
}

/* One block straight from the media (the journal's replay, before any cache). */
static int read_media_one(void *ctx, uint64_t lba, void *buf)
{
    struct sim_store *s = ctx;
    return store_media_read(s->media, byte_off(s, lba), s->block_size, buf);
}

static int read_one(void *ctx, uint64_t lba, void *buf)
{
    return read_blocks(ctx, lba, 1, buf);
}

int sim_store_check(struct sim_store *s, struct sim_oracle_report *r)
{
    if (!s || !r)
        return -EINVAL;
    if (s->no_media)
        return -ENXIO;
    return store_oracle_check(&s->oracle, read_one, s, r);
}

void sim_store_stats(const struct sim_store *s, struct sim_store_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!s)
        return;
    st->dirty_bytes = s->cache.dirty_bytes;
    st->dirty_lines = store_cache_nlines(&s->cache);
    st->cache_mem_bytes = store_cache_mem_bytes(&s->cache);
    st->cache_data_bytes = s->cache.page_bytes;
    st->media_mem_bytes = s->media ? store_media_mem_bytes(s->media) : 0;
    st->oracle_mem_bytes = store_oracle_bytes(&s->oracle);
    st->pi_mem_bytes = store_pi_bytes(&s->pi);
    st->lines_written_back = s->lines_written_back;
    st->media_syncs = s->media_syncs;
    st->blocks_read = s->blocks_read;
    st->read_hit_blocks = s->read_hit_blocks;
    st->writebacks = s->writebacks;
    st->blocks_written_back = s->blocks_written_back;
    st->line_records = s->cache.lines.used;
    st->battery_blocks = store_bbu_count(&s->bbu);
    st->battery_kept_at_open = s->bbu_kept;
    st->battery_discarded_at_open = s->bbu_discarded;
}

int sim_store_remove_media(const char *media_path, uint64_t blocks, uint32_t block_size)
{
    uint64_t bytes;
    if (!media_path || __builtin_mul_overflow(blocks, (uint64_t)block_size, &bytes))
        return -EINVAL;
    int rc = store_media_remove(media_path, bytes);
    int jrc = store_oracle_journal_remove(media_path);
    int brc = store_bbu_remove(media_path);
    return rc ? rc : jrc ? jrc : brc;
}

uint64_t sim_store_injected(const struct sim_store *s)
{
    return s ? s->sys.taken : 0;
}
