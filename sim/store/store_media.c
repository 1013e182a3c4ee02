/* sim/store/store_media.c — sparse media: segment files or 64 KiB memory chunks. */
#include "sim/store/store_media.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errf.h"
#include "sim/store/media_file.h"
#include "sim/store/store_map.h"
#include "sim/store/store_sys.h"

struct segment {
    int  fd;          /* -1: not open yet */
    bool unsynced;    /* written since the last fdatasync */
};

struct store_media {
    uint64_t bytes;
    char    *path;            /* NULL: memory media */
    struct segment *seg;
    uint32_t nseg;
    struct store_map  chunk_index;   /* chunk number -> slab id */
    struct store_slab chunks;        /* records: one pointer to 64 KiB */
    struct store_sys *sys;           /* every system call on the files (store_sys.h) */
};

#define MEDIA SIM_STORE_FILE_MEDIA

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static char *segment_path(const char *path, uint32_t i)
{
    char *p = NULL;
    if (i == 0)
        return strdup(path);
    if (asprintf(&p, "%s.%u", path, i) < 0)
        return NULL;
    return p;
}

static uint64_t segment_len(const struct store_media *m, uint32_t i)
{
    return min_u64(STORE_MEDIA_SEGMENT, m->bytes - (uint64_t)i * STORE_MEDIA_SEGMENT);
}

/* Opens segment i; create=false leaves a missing file missing (-ENOENT).
 * Only a file of ours is opened (media_file.h: no symlinks, marked, created
 * 0600); why gets the reason when it is refused. */
static int segment_open(struct store_media *m, uint32_t i, bool create, char *why, size_t whylen)
{
    if (m->seg[i].fd >= 0)
        return 0;
    char *p = segment_path(m->path, i);
    if (!p)
        return -ENOMEM;
    char dummy[1];
    int fd = store_sys_check(m->sys, MEDIA, SIM_STORE_CALL_OPEN), nosys = fd == ENOSYS;   /* no openat2: walk */
    fd = fd && !nosys ? -fd : sim_media_file_open_how(p, create, nosys, why ? why : dummy, why ? whylen : sizeof dummy);
    free(p);
    if (fd < 0)
        return fd;
    struct stat st;
    uint64_t want = segment_len(m, i);
    if (store_sys_fstat(m->sys, MEDIA, fd, &st) < 0 ||
        ((uint64_t)st.st_size < want && store_sys_ftruncate(m->sys, MEDIA, fd, (off_t)want) < 0)) {
        int e = -errno;
        close(fd);
        return e;
    }
    m->seg[i].fd = fd;
    return 0;
}

int store_media_open(struct store_media **out, const char *path, uint64_t bytes, struct store_sys *sys,
                     char *err, size_t errlen)
{
    *out = NULL;
    struct store_media *m = calloc(1, sizeof(*m));
    if (!m) {
        errf(err, errlen, "out of memory for the media");
        return -ENOMEM;
    }
    m->bytes = bytes;
    m->sys = sys;
    store_map_init(&m->chunk_index);
    store_slab_init(&m->chunks, sizeof(void *));
    if (path) {
        uint64_t nseg = (bytes + STORE_MEDIA_SEGMENT - 1) / STORE_MEDIA_SEGMENT;
        m->path = strdup(path);
        m->seg = m->path ? calloc(nseg, sizeof(*m->seg)) : NULL;
        if (!m->seg) {
            store_media_close(m);
            errf(err, errlen, "out of memory for the media file table");
            return -ENOMEM;
        }
        m->nseg = (uint32_t)nseg;
        for (uint32_t i = 0; i < m->nseg; i++)
            m->seg[i].fd = -1;
        char why[512] = "";
        int rc = segment_open(m, 0, true, why, sizeof why);
        if (rc) {
            if (why[0])
                errf(err, errlen, "%s", why);
            else
                errf(err, errlen, "media file %s: cannot create it or size it to %llu bytes: %s",
                     path, (unsigned long long)segment_len(m, 0), strerror(-rc));
            store_media_close(m);
            return rc;
        }
    }
    *out = m;
    return 0;
}

void store_media_close(struct store_media *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->nseg; i++)
        if (m->seg[i].fd >= 0)
            close(m->seg[i].fd);
    free(m->seg);
    free(m->path);
    /* Every live chunk is in the index (a discarded one left both). */
    for (size_t i = 0; m->chunk_index.keys && i <= m->chunk_index.mask; i++)
        if (store_map_used(&m->chunk_index, i))
            free(*(void **)store_slab_at(&m->chunks, m->chunk_index.vals[i]));
    store_slab_free(&m->chunks);
    store_map_free(&m->chunk_index);
    free(m);
}

static int full_pread(struct store_sys *sys, int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len) {
        ssize_t n = store_sys_pread(sys, MEDIA, fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) {           /* past a shorter-than-expected file: zeros */
            memset(p, 0, len);
            return 0;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int full_pwrite(struct store_sys *sys, int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t n = store_sys_pwrite(sys, MEDIA, fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static bool all_zero(const unsigned char *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Splits [off, off+len) at segment boundaries. */
static int file_io(struct store_media *m, uint64_t off, size_t len, void *buf, bool write)
{
    char *p = buf;
    while (len) {
        uint32_t i = (uint32_t)(off / STORE_MEDIA_SEGMENT);
        uint64_t in = off % STORE_MEDIA_SEGMENT;
        size_t n = (size_t)min_u64(len, STORE_MEDIA_SEGMENT - in);
        int rc = segment_open(m, i, write, NULL, 0);
        if (rc == -ENOENT && !write) {
            memset(p, 0, n);        /* a segment never written: a hole */
            rc = 0;
        } else if (rc)
            return rc;
        else if (write) {
            rc = full_pwrite(m->sys, m->seg[i].fd, p, n, in);
            m->seg[i].unsynced = true;
        } else
            rc = full_pread(m->sys, m->seg[i].fd, p, n, in);
        if (rc)
            return rc;
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Splits [off, off+len) at chunk boundaries. */
static int memory_io(struct store_media *m, uint64_t off, size_t len, void *buf, bool write)
{
    unsigned char *p = buf;
    while (len) {
        uint64_t chunk = off / STORE_MEDIA_CHUNK;
        size_t in = (size_t)(off % STORE_MEDIA_CHUNK);
        size_t n = (size_t)min_u64(len, STORE_MEDIA_CHUNK - in);
        uint32_t id = store_map_get(&m->chunk_index, chunk);
        unsigned char *data = id == STORE_MAP_NONE ? NULL : *(unsigned char **)store_slab_at(&m->chunks, id);
        if (!write) {
            if (data)
                memcpy(p, data + in, n);
            else
                memset(p, 0, n);
        } else if (data || !all_zero(p, n)) {   /* zeros into a hole change nothing */
            if (!data) {
                data = calloc(1, STORE_MEDIA_CHUNK);
                id = data ? store_slab_alloc(&m->chunks) : STORE_MAP_NONE;
                if (id == STORE_MAP_NONE || store_map_put(&m->chunk_index, chunk, id)) {
                    if (id != STORE_MAP_NONE)
                        store_slab_release(&m->chunks, id);
                    free(data);
                    return -ENOMEM;
                }
                *(unsigned char **)store_slab_at(&m->chunks, id) = data;
            }
            memcpy(data + in, p, n);
        }
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

int store_media_read(struct store_media *m, uint64_t off, size_t len, void *buf)
{
    if (off > m->bytes || len > m->bytes - off)
        return -EINVAL;
    return m->path ? file_io(m, off, len, buf, false) : memory_io(m, off, len, buf, false);
}

int store_media_write(struct store_media *m, uint64_t off, size_t len, const void *buf)
{
    if (off > m->bytes || len > m->bytes - off)
        return -EINVAL;
    /* The io helpers take a non-const buffer for both directions; they only
     * read it when writing. */
    void *p = (void *)(uintptr_t)buf;
    return m->path ? file_io(m, off, len, p, true) : memory_io(m, off, len, p, true);
}

int store_media_sync(struct store_media *m)
{
    for (uint32_t i = 0; i < m->nseg; i++) {
        if (!m->seg[i].unsynced)
            continue;
        if (store_sys_fdatasync(m->sys, MEDIA, m->seg[i].fd) < 0)
            return -errno;
        m->seg[i].unsynced = false;
    }
    return 0;
}

static int file_discard(struct store_media *m, uint64_t off, uint64_t len)
{
    while (len) {
        uint32_t i = (uint32_t)(off / STORE_MEDIA_SEGMENT);
        uint64_t in = off % STORE_MEDIA_SEGMENT;
        uint64_t n = min_u64(len, STORE_MEDIA_SEGMENT - in);
        int rc = segment_open(m, i, false, NULL, 0);
        if (rc == 0) {
            if (store_sys_fallocate(m->sys, MEDIA, m->seg[i].fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                    (off_t)in, (off_t)n) < 0)
                return -errno;
            m->seg[i].unsynced = true;
        } else if (rc != -ENOENT) {   /* a segment never written is a hole already */
            return rc;
        }
        off += n;
        len -= n;
    }
    return 0;
}

static void memory_discard(struct store_media *m, uint64_t off, uint64_t len)
{
    while (len) {
        uint64_t chunk = off / STORE_MEDIA_CHUNK;
        size_t in = (size_t)(off % STORE_MEDIA_CHUNK);
        size_t n = (size_t)min_u64(len, STORE_MEDIA_CHUNK - in);
        uint32_t id = store_map_get(&m->chunk_index, chunk);
        if (id != STORE_MAP_NONE) {
            unsigned char **data = store_slab_at(&m->chunks, id);
            if (n == STORE_MEDIA_CHUNK) {
                free(*data);
                store_map_del(&m->chunk_index, chunk);
                store_slab_release(&m->chunks, id);
            } else {
                memset(*data + in, 0, n);
            }
        }
        off += n;
        len -= n;
    }
}

int store_media_discard(struct store_media *m, uint64_t off, uint64_t len)
{
    if (off > m->bytes || len > m->bytes - off)
        return -EINVAL;
    if (m->path)
        return file_discard(m, off, len);
    memory_discard(m, off, len);
    return 0;
}

int store_media_mapped(struct store_media *m, uint64_t off, uint64_t len, bool *mapped, uint64_t *run)
{
    if (off >= m->bytes || len == 0 || len > m->bytes - off)
        return -EINVAL;
    if (!m->path) {
        uint64_t chunk = off / STORE_MEDIA_CHUNK;
        *mapped = store_map_get(&m->chunk_index, chunk) != STORE_MAP_NONE;
        uint64_t n = STORE_MEDIA_CHUNK - off % STORE_MEDIA_CHUNK;
        /* off + n is the start of the next chunk.  The walk stops after
         * STORE_MEDIA_MAPPED_SCAN chunks: a run is then reported in pieces,
         * and a huge sparse drive costs a bounded time per call. */
        for (unsigned k = 0; n < len && k < STORE_MEDIA_MAPPED_SCAN &&
             (store_map_get(&m->chunk_index, (off + n) / STORE_MEDIA_CHUNK) != STORE_MAP_NONE) == *mapped; k++)
            n += STORE_MEDIA_CHUNK;
        *run = min_u64(n, len);
        return 0;
    }
    uint32_t i = (uint32_t)(off / STORE_MEDIA_SEGMENT);
    uint64_t in = off % STORE_MEDIA_SEGMENT;
    uint64_t seg_left = segment_len(m, i) - in;
    int rc = segment_open(m, i, false, NULL, 0);
    if (rc == -ENOENT) {
        *mapped = false;
        *run = min_u64(len, seg_left);
        return 0;
    }
    if (rc)
        return rc;
    off_t data = store_sys_lseek(m->sys, MEDIA, m->seg[i].fd, (off_t)in, SEEK_DATA);
    if (data < 0 && errno != ENXIO)
        return -errno;
    if (data < 0 || (uint64_t)data > in) {   /* a hole up to data (or the end) */
        *mapped = false;
        *run = min_u64(len, data < 0 ? seg_left : (uint64_t)data - in);
        return 0;
    }
    off_t hole = store_sys_lseek(m->sys, MEDIA, m->seg[i].fd, (off_t)in, SEEK_HOLE);
    if (hole < 0)
        return -errno;
    *mapped = true;
    *run = min_u64(len, (uint64_t)hole - in);
    return 0;
}

size_t store_media_mem_bytes(const struct store_media *m)
{
    return sizeof(*m) + m->nseg * sizeof(*m->seg) + store_map_bytes(&m->chunk_index) +
           store_slab_bytes(&m->chunks) + (size_t)m->chunks.live * STORE_MEDIA_CHUNK;
}

int store_media_remove(const char *path, uint64_t bytes)
{
    uint64_t nseg = (bytes + STORE_MEDIA_SEGMENT - 1) / STORE_MEDIA_SEGMENT;
    int first = 0;
    for (uint64_t i = 0; i < nseg; i++) {
        char *p = segment_path(path, (uint32_t)i);
        if (!p)
            return -ENOMEM;
        if (unlink(p) < 0 && errno != ENOENT && !first)
            first = -errno;
        free(p);
    }
    return first;
}
