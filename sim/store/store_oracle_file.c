/* sim/store/store_oracle_file.c — the oracle's journal beside file media
 * (the format and the rules are in store_oracle.h), so that what a drive
 * promised outlives the controller process that promised it. */
#include "sim/store/store_oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/errf.h"
#include "sim/store/store_hash.h"
#include "sim/store/store_sys.h"

#define JOURNAL SIM_STORE_FILE_JOURNAL

#define J_MAGIC   0x31524f4d49535353ull /* "SSSIMOR1" little-endian */
#define J_VERSION 1u
#define J_BATCH   128u                  /* records per write() */
/* A media file names its journal's id here: a new file (even one on a reused
 * inode) has none, so an old journal is never replayed against it. */
#define ORACLE_XATTR "user.scsisim.oracle"

enum j_type { J_VERSION_REC = 1, J_MEDIA = 2, J_PROMISE = 3, J_LOSS = 4, J_STATE = 5 };

/* J_STATE: hash = newest, n = flags | promised << 32, lba; the media hash of
 * a block that has one rides in a second record J_STATE_MEDIA. */
enum { ST_DURABLE = 1, ST_ON_MEDIA = 2, ST_FORFEIT = 4, ST_PROMISED = 8, ST_MEDIA = 16 };
#define J_STATE_MEDIA 6u

struct j_header {
    uint64_t magic;
    uint32_t version;
    uint32_t block_size;
    uint64_t blocks;
    uint64_t media_id;   /* the id in the media file's ORACLE_XATTR: this journal is that file's */
};
_Static_assert(sizeof(struct j_header) == 32, "journal header is 32 bytes");

struct j_record {
    uint32_t type;
    uint32_t hash;   /* VERSION: the block's hash */
    uint64_t lba;
    uint64_t n;      /* MEDIA, PROMISE: blocks */
    uint64_t check;  /* of the 24 bytes above: a torn or foreign tail is not replayed */
};
_Static_assert(sizeof(struct j_record) == 32, "journal record is 32 bytes");
_Static_assert(offsetof(struct j_record, check) == 24, "check at 24");

static int compact(struct store_oracle *o, const char *path, const struct j_header *h);

static uint64_t record_check(const struct j_record *r)
{
    uint64_t s = r->lba ^ ((uint64_t)r->type << 32 | r->hash) ^ (r->n * 0x9E3779B97F4A7C15ull) ^ J_MAGIC;
    return store_rng_next(&s);
}

static int journal_path(const char *media_path, char *out, size_t len)
{
    int n = snprintf(out, len, "%s.oracle", media_path);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int write_all(struct store_sys *y, int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = store_sys_write(y, JOURNAL, fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int append(struct store_oracle *o, const struct j_record *recs, size_t n, bool sync)
{
    if (o->journal_fd < 0)
        return 0;
    int rc = write_all(o->sys, o->journal_fd, recs, n * sizeof *recs);
    if (rc == 0 && sync && store_sys_fdatasync(o->sys, JOURNAL, o->journal_fd) < 0)
        rc = -errno;
    if (rc == 0)
        o->jrecords += n;
    return rc;
}

static struct j_record record(enum j_type t, uint64_t lba, uint64_t n, uint32_t hash)
{
    struct j_record r = { .type = t, .hash = hash, .lba = lba, .n = n };
    r.check = record_check(&r);
    return r;
}

int store_oracle_j_versions(struct store_oracle *o, uint64_t lba, uint64_t n, const void *data)
{
    if (o->journal_fd < 0)
        return 0;
    struct j_record batch[J_BATCH];
    const uint8_t *p = data;
    size_t k = 0;
    for (uint64_t i = 0; i < n; i++, p += o->block_size) {
        batch[k++] = record(J_VERSION_REC, lba + i, 0, store_block_hash(p, o->block_size));
        if (k == J_BATCH || i + 1 == n) {
            int rc = append(o, batch, k, false);
            if (rc)
                return rc;
            k = 0;
        }
    }
    return 0;
}

int store_oracle_j_media(struct store_oracle *o, uint64_t lba, uint64_t n)
{
    struct j_record r = record(J_MEDIA, lba, n, 0);
    return append(o, &r, 1, false);
}

int store_oracle_j_promise(struct store_oracle *o, uint64_t lba, uint64_t n)
{
    struct j_record r = record(J_PROMISE, lba, n, 0);
    return append(o, &r, 1, true);
}

int store_oracle_j_loss(struct store_oracle *o)
{
    struct j_record r = record(J_LOSS, 0, 0, 0);
    return append(o, &r, 1, false);
}

/* Versions of a block journaled since its last promise (the last CAND_MAX). */
#define CAND_MAX 8u
struct cand {
    uint32_t n;
    uint32_t since_loss;    /* versions after the last LOSS record */
    uint32_t h[CAND_MAX];
    uint32_t prev;          /* the block's newest before the replayed tail (has_prev) */
    uint8_t  has_prev;
    uint8_t  absent_before; /* no version before the tail, nor a promise in it */
};
struct cands {
    struct store_map index; /* lba -> slab id */
    struct store_slab slab;
};

static int cand_add(struct cands *c, const struct store_oracle *o, uint64_t lba, uint32_t hash)
{
    uint32_t id = store_map_get(&c->index, lba);
    if (id == STORE_MAP_NONE) {
        id = store_slab_alloc(&c->slab);
        if (id == STORE_MAP_NONE)
            return -ENOMEM;
        if (store_map_put(&c->index, lba, id)) {
            store_slab_release(&c->slab, id);
            return -ENOMEM;
        }
        struct cand *fresh = store_slab_at(&c->slab, id);
        memset(fresh, 0, sizeof *fresh);
        /* Called before the version is applied: what the block held. */
        fresh->has_prev = store_oracle_newest(o, lba, &fresh->prev);
        fresh->absent_before = !fresh->has_prev;
    }
    struct cand *k = store_slab_at(&c->slab, id);
    k->h[k->n++ % CAND_MAX] = hash;
    k->since_loss++;
    return 0;
}

/* A promise over [lba, lba + n): blocks it made durable start afresh. */
static void cand_promised(struct cands *c, const struct store_oracle *o, uint64_t lba, uint64_t n)
{
    const struct store_map *m = &c->index;
    for (size_t k = 0; m->keys && k <= m->mask; k++)
        if (store_map_used(m, k) && m->keys[k] >= lba && m->keys[k] - lba < n &&
            store_oracle_is_durable(o, m->keys[k])) {
            struct cand *cd = store_slab_at(&c->slab, m->vals[k]);
            cd->n = 0;
            cd->absent_before = 0;
        }
}

/* A LOSS record: the versions before it were lost by a cut, not in flight. */
static void cand_loss(struct cands *c)
{
    const struct store_map *m = &c->index;
    for (size_t k = 0; m->keys && k <= m->mask; k++)
        if (store_map_used(m, k))
            ((struct cand *)store_slab_at(&c->slab, m->vals[k]))->since_loss = 0;
}

/* What the media holds of each block with versions since its promise. */
static int cand_settle(struct cands *c, struct store_oracle *o, store_read_block_fn read_media, void *ctx)
{
    uint8_t *buf = malloc(o->block_size);
    if (!buf)
        return -ENOMEM;
    const struct store_map *m = &c->index;
    int rc = 0;
    for (size_t k = 0; m->keys && k <= m->mask && rc == 0; k++) {
        if (!store_map_used(m, k))
            continue;
        const struct cand *cd = store_slab_at(&c->slab, m->vals[k]);
        if (!cd->n || store_oracle_is_durable(o, m->keys[k]))
            continue;
        if ((rc = read_media(ctx, m->keys[k], buf)) != 0)
            break;
        uint32_t have = store_block_hash(buf, o->block_size);
        uint32_t n = cd->n < CAND_MAX ? cd->n : CAND_MAX;
        bool known = false;
        for (uint32_t i = 0; i < n && !known; i++)
            known = cd->h[i] == have;
        if (o->battery_kept && cd->since_loss) {
            /* Every acknowledged version survived (store_oracle.h,
             * battery_kept): the media holds the newest of them, and a
             * block that holds none was never acknowledged at all. */
            known = known || (cd->has_prev && cd->prev == have);
            rc = store_oracle_unacked_newest(o, m->keys[k], have, known);
            if (rc == 0 && !known && cd->absent_before)
                store_oracle_forget(o, m->keys[k]);
        } else if (known) {
            rc = store_oracle_media_holds(o, m->keys[k], have);
        }
    }
    free(buf);
    return rc;
}

/* Replays the records after the header; stops at the first damaged one and
 * truncates the file there, so appends continue from a clean end. */
static int replay(struct store_oracle *o, int fd, uint64_t blocks, off_t *end, struct cands *cands)
{
    struct j_record batch[J_BATCH];
    off_t off = sizeof(struct j_header);
    for (;;) {
        ssize_t got = store_sys_pread(o->sys, JOURNAL, fd, batch, sizeof batch, off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        size_t n = (size_t)got / sizeof batch[0];
        for (size_t i = 0; i < n; i++) {
            const struct j_record *r = &batch[i];
            bool ok = r->check == record_check(r) && r->lba < blocks;
            if (ok && (r->type == J_MEDIA || r->type == J_PROMISE))
                ok = r->n && r->n <= blocks - r->lba;
            int rc = 0;
            if (!ok) {
                *end = off;
                return 0;
            }
            switch (r->type) {
            case J_STATE: {
                uint32_t fl = (uint32_t)r->n;
                struct store_block_state st = {
                    .newest = r->hash, .promised = (uint32_t)(r->n >> 32), .durable = fl & ST_DURABLE,
                    .on_media = fl & ST_ON_MEDIA, .forfeit = fl & ST_FORFEIT, .has_promised = fl & ST_PROMISED,
                };
                rc = store_oracle_set_state(o, r->lba, &st);
                break;
            }
            case J_STATE_MEDIA: {
                /* Follows its block's J_STATE: only the media hash is added. */
                rc = store_oracle_media_holds(o, r->lba, r->hash);
                break;
            }
            case J_VERSION_REC:
                rc = cand_add(cands, o, r->lba, r->hash);
                if (rc == 0)
                    rc = store_oracle_write_hash(o, r->lba, r->hash);
                break;
            case J_MEDIA:       rc = store_oracle_on_media(o, r->lba, r->n); break;
            case J_PROMISE:
                store_oracle_flush(o, r->lba, r->n);
                cand_promised(cands, o, r->lba, r->n);
                break;
            case J_LOSS:
                store_oracle_power_loss(o);
                cand_loss(cands);
                break;
            default:
                *end = off;
                return 0;
            }
            if (rc)
                return rc;
            o->jrecords++;
            off += (off_t)sizeof *r;
        }
        if ((size_t)got < sizeof batch) {
            *end = off;
            return 0;
        }
    }
}

/* The id rule: the attribute, else 0 (none yet); the inode where the file
 * system has no user attributes.  Returns whether it has them. */
static bool media_id_of(const char *media_path, const struct stat *ms, uint64_t *id)
{
    *id = 0;
    if (getxattr(media_path, ORACLE_XATTR, id, sizeof *id) == (ssize_t)sizeof *id)
        return true;
    bool xattrs = errno != ENOTSUP;
    *id = xattrs ? 0 : (uint64_t)ms->st_ino;
    return xattrs;
}

int store_oracle_media_id(const char *media_path, uint64_t *id)
{
    struct stat ms;
    *id = 0;
    if (stat(media_path, &ms) < 0)
        return -errno;
    media_id_of(media_path, &ms, id);
    return 0;
}

int store_oracle_journal_open(struct store_oracle *o, const char *media_path, uint64_t blocks,
                              store_read_block_fn read_media, void *ctx, struct store_sys *sys, char *err,
                              size_t errlen)
{
    o->sys = sys;
    char path[4200];
    if (journal_path(media_path, path, sizeof path) < 0) {
        errf(err, errlen, "store: media path too long for its oracle journal");
        return -ENAMETOOLONG;
    }
    struct stat ms;
    if (stat(media_path, &ms) < 0) {
        int e = errno;
        errf(err, errlen, "store: %s: %s", media_path, strerror(e));
        return -e;
    }
    /* The media file's journal id; without user xattrs its inode stands in. */
    uint64_t media_id = 0;
    bool xattrs = media_id_of(media_path, &ms, &media_id);
    /* Never through a symlink; never another kind of file. */
    int fd = store_sys_open(sys, JOURNAL, path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        int e = errno;
        errf(err, errlen, "store: cannot open the oracle journal %s: %s", path, strerror(e));
        return -e;
    }
    struct stat js;
    if (store_sys_fstat(sys, JOURNAL, fd, &js) < 0 || !S_ISREG(js.st_mode)) {
        close(fd);
        errf(err, errlen, "store: the oracle journal %s is not a regular file; remove it", path);
        return -EINVAL;
    }
    struct j_header want = { .magic = J_MAGIC, .version = J_VERSION, .block_size = o->block_size,
                             .blocks = blocks, .media_id = media_id };
    struct j_header have;
    ssize_t got = store_sys_pread(sys, JOURNAL, fd, &have, sizeof have, 0);
    off_t end = 0;
    int rc = 0;
    if (media_id && got == (ssize_t)sizeof have && !memcmp(&have, &want, sizeof have)) {
        struct cands cands;
        store_map_init(&cands.index);
        store_slab_init(&cands.slab, sizeof(struct cand));
        rc = replay(o, fd, blocks, &end, &cands);
        if (rc == 0) {
            /* The process that wrote it died or stopped: a power loss for
             * what its cache held (an orderly stop left nothing to lose). */
            store_oracle_power_loss(o);
            rc = cand_settle(&cands, o, read_media, ctx);
        }
        store_map_free(&cands.index);
        store_slab_free(&cands.slab);
        if (rc == 0) {
            if (store_sys_ftruncate(sys, JOURNAL, fd, end) < 0)
                rc = -errno;
            /* The replayed state (the loss included) becomes the journal. */
            int nfd = rc == 0 ? compact(o, path, &want) : rc;
            if (nfd >= 0) {
                close(fd);
                fd = nfd;
                struct stat cs;
                end = store_sys_fstat(sys, JOURNAL, fd, &cs) == 0 ? cs.st_size : -1;
                if (end < 0)
                    rc = -errno;
            } else {
                rc = nfd;
            }
        }
    } else {
        /* A new media file, or none of ours: start afresh under a new id. */
        if (xattrs) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                            (uint64_t)ms.st_ino;
            want.media_id = store_rng_next(&seed) | 1;
            if (setxattr(media_path, ORACLE_XATTR, &want.media_id, sizeof want.media_id, 0) < 0)
                want.media_id = (uint64_t)ms.st_ino; /* the file system refused: the inode stands in */
        }
        if (store_sys_ftruncate(sys, JOURNAL, fd, 0) < 0 ||
            store_sys_pwrite(sys, JOURNAL, fd, &want, sizeof want, 0) != (ssize_t)sizeof want)
            rc = -errno;
        end = sizeof want;
    }
    if (rc == 0 && (store_sys_lseek(sys, JOURNAL, fd, end, SEEK_SET) < 0 || store_sys_fdatasync(sys, JOURNAL, fd) < 0))
        rc = -errno;
    if (rc) {
        close(fd);
        errf(err, errlen, "store: the oracle journal %s: %s", path, strerror(-rc));
        return rc;
    }
    o->journal_fd = fd;
    return 0;
}

/* ---- compaction -------------------------------------------------------------- */

struct snap {
    struct store_sys *sys;
    int fd;
    struct j_record batch[J_BATCH];
    size_t n;
    int rc;
};

static int snap_put(struct snap *s, struct j_record r)
{
    s->batch[s->n++] = r;
    if (s->n == J_BATCH) {
        s->rc = write_all(s->sys, s->fd, s->batch, s->n * sizeof s->batch[0]);
        s->n = 0;
    }
    return s->rc;
}

static int snap_block(void *ctx, uint64_t lba, const struct store_block_state *st)
{
    struct snap *s = ctx;
    uint32_t fl = (st->durable ? ST_DURABLE : 0) | (st->on_media ? ST_ON_MEDIA : 0) |
                  (st->forfeit ? ST_FORFEIT : 0) | (st->has_promised ? ST_PROMISED : 0) |
                  (st->has_media ? ST_MEDIA : 0);
    int rc = snap_put(s, record(J_STATE, lba, (uint64_t)st->promised << 32 | fl, st->newest));
    if (rc == 0 && st->has_media)
        rc = snap_put(s, record((enum j_type)J_STATE_MEDIA, lba, 0, st->media));
    return rc;
}

/* Rewrites the journal as header + the oracle's state, atomically (a new
 * file renamed over the old one).  Returns the new descriptor, or -errno
 * (the old journal is then kept as it was). */
static int compact(struct store_oracle *o, const char *path, const struct j_header *h)
{
    char tmp[4300];
    if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = store_sys_open(o->sys, JOURNAL, tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    struct snap s = { .sys = o->sys, .fd = fd };
    int rc = write_all(o->sys, fd, h, sizeof *h);
    if (rc == 0)
        rc = store_oracle_snapshot(o, snap_block, &s);
    if (rc == 0 && s.n)
        rc = write_all(o->sys, fd, s.batch, s.n * sizeof s.batch[0]);
    if (rc == 0 && store_sys_fdatasync(o->sys, JOURNAL, fd) < 0)
        rc = -errno;
    if (rc == 0 && store_sys_rename(o->sys, JOURNAL, tmp, path) < 0)
        rc = -errno;
    if (rc) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    return fd;
}

int store_oracle_journal_remove(const char *media_path)
{
    char path[4200];
    if (journal_path(media_path, path, sizeof path) < 0)
        return -ENAMETOOLONG;
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
