/* sim/store/store_bbu.c — the battery-backed cache memory beside file media
 * (the file, the slot protocol and its ordering are in store_bbu.h). */
#include "sim/store/store_sys.h"
#include "sim/store/store_bbu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errf.h"
#include "sim/store/store_hash.h"
#include "sim/store/store_oracle.h"

#define BBU_MAGIC   0x31424d4953435353ull /* "SSCSIMB1" little-endian */
#define BBU_VERSION 1u
#define BBU_HEADER  4096u                 /* the header's page; slots follow */
#define BBU_GROW    1024u                 /* slots added at a time, at least */
#define SLOT_PI     1u                    /* flags: the tuple is meaningful */

struct bbu_header {
    uint64_t magic;
    uint32_t version;
    uint32_t block_size;
    uint64_t blocks;
    uint64_t media_id;
    uint32_t battery_good; /* 1 while every dirty block is mirrored here */
    uint8_t  reserved[28];
};
_Static_assert(sizeof(struct bbu_header) == 64, "cache file header is 64 bytes");

struct bbu_head {
    _Atomic uint64_t seq;  /* 0 free; written last (the commit) */
    uint64_t lba;
    uint8_t  pi[8];
    uint16_t flags;
    uint16_t reserved;
    uint32_t hash;         /* of the data */
    uint32_t check;        /* of everything above but itself */
    uint32_t pad;
};
_Static_assert(sizeof(struct bbu_head) == 40, "slot head is 40 bytes");
_Static_assert(offsetof(struct bbu_head, lba) == 8, "lba at 8");
_Static_assert(offsetof(struct bbu_head, hash) == 28, "hash at 28");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && _Alignof(_Atomic uint64_t) == 8, "seq is one aligned word");

static uint32_t head_check(uint64_t seq, uint64_t lba, const uint8_t pi[8], uint16_t flags, uint32_t hash)
{
    uint64_t p;
    memcpy(&p, pi, 8);
    uint64_t s = seq ^ (lba * 0x9E3779B97F4A7C15ull) ^ (p << 1) ^ ((uint64_t)flags << 48) ^ hash ^ BBU_MAGIC;
    return (uint32_t)store_rng_next(&s);
}

static int cache_path(const char *media_path, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%s", media_path, STORE_BBU_SUFFIX);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static uint32_t slot_stride(uint32_t block_size)
{
    return (uint32_t)sizeof(struct bbu_head) + block_size;
}

static struct bbu_head *slot_head(const struct store_bbu *b, uint32_t i)
{
    return (struct bbu_head *)(b->map + BBU_HEADER + (size_t)i * b->stride);
}

#define BATTERY SIM_STORE_FILE_BATTERY

void store_bbu_init(struct store_bbu *b)
{
    memset(b, 0, sizeof *b);
    b->fd = -1;
    store_map_init(&b->index);
}

/* Opens the file, never through a symlink, and only a regular one. */
static int open_file(struct store_sys *y, const char *path, int flags, char *err, size_t errlen)
{
    int fd = store_sys_open(y, BATTERY, path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        int e = errno;
        if (e != ENOENT)
            errf(err, errlen, "store: cannot open the battery-backed cache %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (store_sys_fstat(y, BATTERY, fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errf(err, errlen, "store: the battery-backed cache %s is not a regular file; remove it", path);
        return -EINVAL;
    }
    return fd;
}

int store_bbu_recover(const char *media_path, uint32_t block_size, uint64_t blocks, bool keep,
                      store_bbu_block_fn fn, void *ctx, uint64_t *kept, uint64_t *discarded, bool *was_good,
                      char *err, size_t errlen)
{
    *kept = *discarded = 0;
    *was_good = false;
    char path[4200];
    if (cache_path(media_path, path, sizeof path) < 0) {
        errf(err, errlen, "store: media path too long for its battery-backed cache");
        return -ENAMETOOLONG;
    }
    int fd = open_file(NULL, path, O_RDONLY, err, errlen);   /* (its reads are not armed: no store yet) */
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    uint64_t id = 0;
    struct stat st;
    struct bbu_header h;
    int rc = 0;
    unsigned char *map = NULL;
    size_t len = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    /* Not this media file's (a new file, other geometry): it holds nothing. */
    if (store_oracle_media_id(media_path, &id) < 0 || id == 0 || st.st_size < BBU_HEADER ||
        pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.magic != BBU_MAGIC || h.version != BBU_VERSION ||
        h.block_size != block_size || h.blocks != blocks || h.media_id != id)
        goto out;
    *was_good = h.battery_good == 1;
    len = (size_t)st.st_size;
    map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        map = NULL;
        goto out;
    }
    /* Per LBA the valid slot with the highest seq. */
    struct store_bbu b = { .map = map, .stride = slot_stride(block_size), .block_size = block_size };
    uint32_t n = (uint32_t)((len - BBU_HEADER) / b.stride);
    struct store_map best;
    store_map_init(&best);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const struct bbu_head *sh = slot_head(&b, i);
        uint64_t seq = atomic_load_explicit(&sh->seq, memory_order_acquire);
        if (seq == 0 || sh->lba >= blocks ||
            sh->check != head_check(seq, sh->lba, sh->pi, sh->flags, sh->hash) ||
            sh->hash != store_block_hash(sh + 1, block_size))
            continue;
        uint32_t j = store_map_get(&best, sh->lba);
        if (j == STORE_MAP_NONE || atomic_load(&slot_head(&b, j)->seq) < seq)
            rc = store_map_put(&best, sh->lba, i);
    }
    for (size_t k = 0; rc == 0 && best.keys && k <= best.mask; k++) {
        if (!store_map_used(&best, k))
            continue;
        const struct bbu_head *sh = slot_head(&b, best.vals[k]);
        if (keep) {
            rc = fn(ctx, sh->lba, sh + 1, (sh->flags & SLOT_PI) ? sh->pi : NULL);
            *kept += rc == 0;
        } else {
            ++*discarded;
        }
    }
    store_map_free(&best);
    if (rc)
        errf(err, errlen, "store: replaying the battery-backed cache %s: %s", path, strerror(-rc));
out:
    if (map)
        munmap(map, len);
    close(fd);
    return rc;
}

static int map_to(struct store_bbu *b, uint32_t nslots)
{
    size_t len = BBU_HEADER + (size_t)nslots * b->stride;
    if (store_sys_ftruncate(b->sys, BATTERY, b->fd, (off_t)len) < 0)
        return -errno;
    void *m = b->map ? mremap(b->map, b->map_len, len, MREMAP_MAYMOVE)
                     : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    uint32_t *fr = realloc(b->free, (size_t)nslots * sizeof *fr);
    if (!fr) {
        /* The mapping grew but the free list could not: keep the old count. */
        b->map = m;
        b->map_len = len;
        return -ENOMEM;
    }
    b->free = fr;
    /* New slots are zero (free); hand out low numbers first. */
    for (uint32_t i = nslots; i > b->nslots; i--)
        b->free[b->nfree++] = i - 1;
    b->map = m;
    b->map_len = len;
    b->nslots = nslots;
    return 0;
}

int store_bbu_open(struct store_bbu *b, const char *media_path, uint32_t block_size, uint64_t blocks, char *err,
                   size_t errlen)
{
    char path[4200];
    if (cache_path(media_path, path, sizeof path) < 0) {
        errf(err, errlen, "store: media path too long for its battery-backed cache");
        return -ENAMETOOLONG;
    }
    uint64_t id = 0;
    int rc = store_oracle_media_id(media_path, &id);
    if (rc < 0) {
        errf(err, errlen, "store: %s: %s", media_path, strerror(-rc));
        return rc;
    }
    int fd = open_file(b->sys, path, O_RDWR | O_CREAT, err, errlen);
    if (fd < 0) {
        if (fd == -ENOENT)
            errf(err, errlen, "store: cannot create the battery-backed cache %s: %s", path, strerror(ENOENT));
        return fd;
    }
    b->fd = fd;
    b->block_size = block_size;
    b->stride = slot_stride(block_size);
    /* Emptied first (every slot zero: free), then the header: a kill in
     * between leaves a file with no header, which holds nothing. */
    struct bbu_header h = { .magic = BBU_MAGIC, .version = BBU_VERSION, .block_size = block_size,
                            .blocks = blocks, .media_id = id };
    if (store_sys_ftruncate(b->sys, BATTERY, fd, 0) < 0 || (rc = map_to(b, BBU_GROW)) != 0 ||
        store_sys_pwrite(b->sys, BATTERY, fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        rc = rc ? rc : -errno;
        errf(err, errlen, "store: the battery-backed cache %s: %s", path, strerror(-rc));
        store_bbu_close(b);
        return rc;
    }
    return 0;
}

void store_bbu_close(struct store_bbu *b)
{
    if (b->map)
        munmap(b->map, b->map_len);
    if (b->fd >= 0)
        close(b->fd);
    store_map_free(&b->index);
    free(b->free);
    store_bbu_init(b);
}

void store_bbu_set_good(struct store_bbu *b, bool good)
{
    if (b->fd < 0)
        return;
    struct bbu_header *h = (struct bbu_header *)b->map;
    atomic_thread_fence(memory_order_release);
    h->battery_good = good;
    atomic_thread_fence(memory_order_release);
}

static void slot_free(struct store_bbu *b, uint32_t i)
{
    atomic_store_explicit(&slot_head(b, i)->seq, 0, memory_order_release);
    b->free[b->nfree++] = i;
}

int store_bbu_put(struct store_bbu *b, uint64_t lba, uint32_t n, const void *data, const uint8_t *pi)
{
    if (b->fd < 0)
        return 0;
    const unsigned char *p = data;
    for (uint32_t k = 0; k < n; k++, p += b->block_size) {
        if (b->nfree == 0) {
            int rc = map_to(b, b->nslots + (b->nslots > BBU_GROW ? b->nslots / 2 : BBU_GROW));
            if (rc)
                return rc;
        }
        uint32_t i = b->free[--b->nfree];
        struct bbu_head *sh = slot_head(b, i);
        /* 1-2: the body of a slot whose seq is 0, so recovery skips it. */
        memcpy(sh + 1, p, b->block_size);
        sh->lba = lba + k;
        sh->flags = pi ? SLOT_PI : 0;
        if (pi)
            memcpy(sh->pi, pi + (size_t)k * 8, 8);
        else
            memset(sh->pi, 0, 8);
        sh->hash = store_block_hash(p, b->block_size);
        uint64_t seq = ++b->seq;
        sh->check = head_check(seq, sh->lba, sh->pi, sh->flags, sh->hash);
        /* 3: the commit. */
        atomic_store_explicit(&sh->seq, seq, memory_order_release);
        uint32_t old = store_map_get(&b->index, lba + k);
        int rc = store_map_put(&b->index, lba + k, i);
        if (rc) {
            /* Without an index entry the slot could never be forgotten. */
            slot_free(b, i);
            return rc;
        }
        /* 4: only now is the previous version let go. */
        if (old != STORE_MAP_NONE)
            slot_free(b, old);
    }
    return 0;
}

void store_bbu_forget(struct store_bbu *b, uint64_t lba, uint64_t n)
{
    if (b->fd < 0 || b->index.count == 0 || n == 0)
        return;
    if (n > b->index.count * 4) {
        /* A wide range (an unmap, a whole-drive flush): walk what is held.
         * Deleting shifts buckets back, so stay on a bucket after a delete. */
        for (size_t k = 0; b->index.keys && k <= b->index.mask;) {
            if (store_map_used(&b->index, k) && b->index.keys[k] >= lba && b->index.keys[k] - lba < n) {
                slot_free(b, b->index.vals[k]);
                store_map_del(&b->index, b->index.keys[k]);
                continue;
            }
            k++;
        }
        return;
    }
    for (uint64_t x = lba; x < lba + n; x++) {
        uint32_t i = store_map_get(&b->index, x);
        if (i != STORE_MAP_NONE) {
            slot_free(b, i);
            store_map_del(&b->index, x);
        }
    }
}

void store_bbu_clear(struct store_bbu *b)
{
    store_bbu_forget(b, 0, UINT64_MAX);
}

int store_bbu_remove(const char *media_path)
{
    char path[4200];
    if (cache_path(media_path, path, sizeof path) < 0)
        return -ENAMETOOLONG;
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
