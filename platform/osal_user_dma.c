/* platform/osal_user_dma.c — DMA memory and DMA mappings of osal_user: buffers
 * carved out of the bus's host RAM below the IOMMU's area, and IOVA ranges
 * written into the IOMMU's tables in host RAM (bus_iommu_map; an unmap
 * returns once the IOMMU has invalidated them, so the IOVA range and the
 * buffer are released only after that).  See platform/osal_user.h.
 *
 * Locks: a command's prepare and complete of one piece of one or two pages
 * take none (the pair cache, below, and platform/iommu_pt.c's lock-free map
 * and deferred unmap), nor do those of a registered buffer (below); a reap's
 * osal_dma_defer_end takes dlock once for its wait, when it deferred any.  Everything else (buffers, other mappings, bus switches) runs under
 * dlock. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "platform/osal_user_internal.h"
#include "platform/bus.h"

#define MAX_PIECES 8u /* struct osal_dma_mapping holds 8 segments */
#define MAP_SLAB   64u /* records added each time the pool runs dry */

/* The public buffer first, so a struct osal_dma_buffer * converts back. */
struct osal_dma_buf {
    struct osal_dma_buffer pub;
    uint64_t size;                       /* reserved bytes (rounded) */
    _Atomic uint32_t maps;               /* live mappings of this buffer */
    _Atomic uint32_t pending;            /* completed mappings whose invalidation is not yet waited for */
    /* Registered (osal_user_dma_register): its standing mapping, written
     * under dlock and read atomically; the prepares and completes of it so
     * far, each a load and a store, not a lock-prefixed add (which drains the
     * CPU's store buffer: three of them took 7 % of a polling thread), since
     * one thread at a time prepares and completes a registered buffer
     * (osal_user.h); others read them (the counts) at any time. */
    struct osal_map_rec *standing;
    _Atomic uint64_t standing_prepares, standing_completes;
    struct osal_dma_buf *prev, *next;
};

struct osal_map_piece {
    uint64_t iova, ram, len;
};

/* One live osal_dma_prepare: what to unmap, and what to replay on a new bus.
 * Pooled: while free, next links the free list and the rest is stale. */
struct osal_map_rec {
    uint64_t iova_start;                 /* the reserved IOVA range, guard pages included */
    struct osal_dma_buf *buf;
    enum hba_dma_dir dir;
    uint32_t npieces;
    uint32_t pages;                      /* the reserved IOVA range's pages */
    uint32_t state;                      /* a pair's (atomic): PAIR_FREE .. PAIR_PENDING; 0 for other records */
    struct osal_map_piece piece[MAX_PIECES];
    struct osal_map_rec *prev, *next;
};

struct osal_map_slab {
    struct osal_map_slab *next;
    struct osal_map_rec rec[MAP_SLAB];
};

static uint64_t page_down(uint64_t a)
{
    return a & ~(OSAL_PAGE - 1);
}

/* Pages that [ram, ram + len) touches. */
static uint64_t pages_of(uint64_t ram, uint64_t len)
{
    return (((ram & (OSAL_PAGE - 1)) + len + OSAL_PAGE - 1) / OSAL_PAGE);
}

/* --- the pair cache ------------------------------------------------------ */

/* A command's prepare and complete take no lock (issue 14).  A record whose
 * mapping was one piece in the high window, with an IOVA reservation of one
 * or two pages, is not given back when its complete is done: the record and
 * its IOVA range stay together as a "pair", queued first in first out in
 * the free list of its size.  A prepare of that size pops the oldest pair
 * (leaving FAST_KEEP in the list, so a freed IOVA is not reused before at
 * least that many others: a device that keeps a stale address still hits a
 * hole), maps it and marks it live; a complete finds it through the pairs'
 * own index (written under dlock only when a pair is made or the cache is
 * drained, read by anyone) and pushes it back, or, inside a deferred batch,
 * onto a lock-free stack that osal_dma_defer_end's one wait empties.
 *
 * What needs every mapping to hold still (a bus switch, freeing a buffer
 * with live mappings, draining the cache when the IOVA window runs out)
 * holds dlock and freezes the cache: the fast paths count themselves in
 * `users`, and while `frozen` is set new ones take dlock instead.  At most
 * FAST_PAIRS pairs of each size: the cache's IOVA pages and records are
 * bounded, and a window that runs out drains it before failing. */
#define FAST_CLASSES 2u     /* reservations of 1 and 2 pages */
#define FAST_KEEP    32u    /* free pairs kept back from prepares */
#define FAST_PAIRS   256u   /* pairs per size at most (PTR_FIFO_CAP at most) */
#define FAST_INDEX_BITS 10u
#define FAST_INDEX   (1u << FAST_INDEX_BITS) /* slots of the pairs' index: at most half full */
/* The cache holds at most 3 MiB of IOVA space (256 pairs of one page, 256 of
 * two): a high window under 16 times that has none, and keeps next fit's
 * layout exactly (a small window is where a stale IOVA is reused soonest:
 * traces/read-write/iotlb-stale-after-unmap.trace). */
#define FAST_WINDOW_MIN (16ull * FAST_PAIRS * (1 + FAST_CLASSES) * OSAL_PAGE)
_Static_assert(FAST_PAIRS <= PTR_FIFO_CAP, "a free list holds every pair of its size");
_Static_assert(FAST_INDEX >= 2 * FAST_CLASSES * FAST_PAIRS, "the pairs' index stays at most half full");

enum { PAIR_NONE, PAIR_FREE, PAIR_LIVE, PAIR_DONE, PAIR_PENDING };

struct osal_dma_fast {
    struct ptr_fifo free[FAST_CLASSES];      /* free pairs by size, oldest first */
    struct osal_map_rec *index[FAST_INDEX];  /* every pair by iova_start (atomic slots; written under dlock) */
    struct osal_map_rec *pairs[FAST_CLASSES * FAST_PAIRS]; /* every pair (dlock) */
    uint32_t npairs, nclass[FAST_CLASSES];   /* (dlock) */
    struct osal_map_rec *pending;            /* deferred completes' pairs, a stack linked by next (atomic) */
    uint32_t users;                          /* fast paths under way (atomic) */
    bool frozen;                             /* (atomic) */
};

static void standing_drop(struct osal *os, struct osal_dma_buf *b);
static void standing_counts(const struct osal *os, uint64_t *live, uint64_t *made);

static struct osal_dma_fast *fast_of(const struct osal *os)
{
    return __atomic_load_n(&os->fast, __ATOMIC_ACQUIRE);
}

/* A fast path starts: false when the cache is frozen (take dlock instead). */
static bool fast_enter(struct osal_dma_fast *f)
{
    __atomic_fetch_add(&f->users, 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&f->frozen, __ATOMIC_SEQ_CST))
        return true;
    __atomic_fetch_sub(&f->users, 1, __ATOMIC_SEQ_CST);
    return false;
}

static void fast_leave(struct osal_dma_fast *f)
{
    __atomic_fetch_sub(&f->users, 1, __ATOMIC_SEQ_CST);
}

/* dlock held: waits for the fast paths under way; none starts until thaw. */
static struct osal_dma_fast *fast_freeze(struct osal *os)
{
    struct osal_dma_fast *f = fast_of(os);
    if (!f)
        return NULL;
    __atomic_store_n(&f->frozen, true, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&f->users, __ATOMIC_SEQ_CST))
        sched_yield();
    return f;
}

static void fast_thaw(struct osal_dma_fast *f)
{
    if (f)
        __atomic_store_n(&f->frozen, false, __ATOMIC_SEQ_CST);
}

static uint32_t fast_home(uint64_t iova_start)
{
    return (uint32_t)((iova_start * 0x9E3779B97F4A7C15ull) >> (64 - FAST_INDEX_BITS));
}

/* dlock held. */
static void fast_index_insert(struct osal_dma_fast *f, struct osal_map_rec *r)
{
    uint32_t i = fast_home(r->iova_start);
    while (__atomic_load_n(&f->index[i], __ATOMIC_RELAXED))
        i = (i + 1) & (FAST_INDEX - 1);
    __atomic_store_n(&f->index[i], r, __ATOMIC_RELEASE);
}

/* dlock held, frozen: the index again, from the pairs that are left. */
static void fast_index_rebuild(struct osal_dma_fast *f)
{
    for (uint32_t i = 0; i < FAST_INDEX; i++)
        __atomic_store_n(&f->index[i], NULL, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < f->npairs; i++)
        fast_index_insert(f, f->pairs[i]);
}

/* dlock held: the cache, made on first need; NULL when out of memory. */
static struct osal_dma_fast *fast_make(struct osal *os)
{
    struct osal_dma_fast *f = fast_of(os);
    if (f || (f = calloc(1, sizeof(*f))) == NULL)
        return f;
    for (unsigned c = 0; c < FAST_CLASSES; c++)
        ptr_fifo_init(&f->free[c]);
    __atomic_store_n(&os->fast, f, __ATOMIC_RELEASE);
    return f;
}

/* The pair whose IOVA range starts at iova_start, or NULL. */
static struct osal_map_rec *fast_find(struct osal_dma_fast *f, uint64_t iova_start)
{
    for (uint32_t i = fast_home(iova_start);; i = (i + 1) & (FAST_INDEX - 1)) {
        struct osal_map_rec *r = __atomic_load_n(&f->index[i], __ATOMIC_ACQUIRE);
        if (!r || r->iova_start == iova_start)
            return r;
    }
}

/* A pair goes (back) on its free list. */
static void pair_free(struct osal_dma_fast *f, struct osal_map_rec *r)
{
    __atomic_store_n(&r->state, PAIR_FREE, __ATOMIC_RELEASE);
    ptr_fifo_push(&f->free[r->pages - 1], r); /* never full: at most FAST_PAIRS of a size */
}

void osal_dma_init(struct osal *os, const struct osal_user_options *o, uint64_t ram_size)
{
    range_alloc_init(&os->ram, 0, ram_size);
    uint64_t base = o->iova_base ? o->iova_base : OSAL_PAGE;
    base = base > UINT64_MAX - (OSAL_PAGE - 1) ? page_down(base) : page_down(base + OSAL_PAGE - 1);
    uint64_t limit = o->iova_limit ? page_down(o->iova_limit) : page_down(UINT64_MAX);
    range_alloc_init(&os->iova, base, limit);
    /* The low window: below the high one, never page 0, never past iova_limit. */
    uint64_t low_end = base < limit ? base : limit;
    range_alloc_init(&os->iova_low, OSAL_PAGE, o->low_window && low_end > OSAL_PAGE ? low_end : OSAL_PAGE);
    atomic_init(&os->scatter, o->scatter);
    atomic_init(&os->reverse_dirs, false);
}

/* The window an IOVA range starting at iova was taken from. */
static struct range_alloc *window_of(struct osal *os, uint64_t iova)
{
    return iova < os->iova.lo ? &os->iova_low : &os->iova;
}

/* --- the record pool ----------------------------------------------------- */

/* A prepare and a complete run once per command with data: they take and
 * return a pooled record and find it through the index, so at steady state
 * they allocate nothing and walk no list (issue 14).  The pool grows by a
 * slab when it runs dry and shrinks only in osal_dma_fini.  The index is
 * keyed by a live record's first IOVA — unique, since live IOVA ranges do
 * not overlap — with linear probing and at least twice as many slots as
 * records, so a probe is a step or two.  Everything here runs under dlock. */

static uint32_t index_home(const struct osal *os, uint64_t iova)
{
    /* Fibonacci hashing: IOVAs share their low bits (page offsets), the
     * multiply spreads the rest into the top bits. */
    return (uint32_t)((iova * 0x9E3779B97F4A7C15ull) >> (64 - os->map_index_bits));
}

static uint32_t index_mask(const struct osal *os)
{
    return (1u << os->map_index_bits) - 1;
}

static void index_insert(struct osal *os, struct osal_map_rec *r)
{
    uint32_t i = index_home(os, r->piece[0].iova);
    while (os->map_index[i])
        i = (i + 1) & index_mask(os);
    os->map_index[i] = r;
}

/* The slot of the live record whose first IOVA is iova; UINT32_MAX if none. */
static uint32_t index_find(const struct osal *os, uint64_t iova)
{
    if (!os->map_index)
        return UINT32_MAX;
    for (uint32_t i = index_home(os, iova); os->map_index[i]; i = (i + 1) & index_mask(os))
        if (os->map_index[i]->piece[0].iova == iova)
            return i;
    return UINT32_MAX;
}

/* Empties slot i and moves later records of its probe run back, so every
 * record stays reachable from its home slot without tombstones. */
static void index_remove(struct osal *os, uint32_t i)
{
    uint32_t mask = index_mask(os);
    for (uint32_t j = (i + 1) & mask; os->map_index[j]; j = (j + 1) & mask) {
        uint32_t home = index_home(os, os->map_index[j]->piece[0].iova);
        /* The record at j may fill the hole at i when i lies on its way from home to j. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            os->map_index[i] = os->map_index[j];
            i = j;
        }
    }
    os->map_index[i] = NULL;
}

/* Adds a slab to the free list and, if needed, rebuilds the index bigger.
 * On -ENOMEM nothing changed. */
static int pool_grow(struct osal *os)
{
    if (os->map_recs > UINT32_MAX / 4 - MAP_SLAB)
        return -ENOMEM;
    uint32_t recs = os->map_recs + MAP_SLAB;
    unsigned bits = 1;
    while ((1u << bits) < 2 * recs)
        bits++;
    struct osal_map_slab *slab = calloc(1, sizeof(*slab));
    if (!slab)
        return -ENOMEM;
    if (bits != os->map_index_bits) {
        struct osal_map_rec **index = calloc((size_t)1 << bits, sizeof(*index));
        if (!index) {
            free(slab);
            return -ENOMEM;
        }
        free(os->map_index);
        os->map_index = index;
        os->map_index_bits = bits;
        for (struct osal_map_rec *r = os->maps; r; r = r->next)
            index_insert(os, r);
    }
    for (uint32_t i = 0; i < MAP_SLAB; i++) {
        slab->rec[i].next = os->map_free;
        os->map_free = &slab->rec[i];
    }
    slab->next = os->map_slabs;
    os->map_slabs = slab;
    os->map_recs = recs;
    os->map_pool_grows++;
    return 0;
}

/* A cleared record from the pool; NULL when the pool could not grow. */
static struct osal_map_rec *rec_get(struct osal *os)
{
    if (!os->map_free && pool_grow(os) < 0)
        return NULL;
    struct osal_map_rec *r = os->map_free;
    os->map_free = r->next;
    memset(r, 0, sizeof(*r));
    return r;
}

/* Returns a record that is not (or no longer) live to the free list. */
static void rec_put(struct osal *os, struct osal_map_rec *r)
{
    r->next = os->map_free;
    os->map_free = r;
}

static void pool_fini(struct osal *os)
{
    while (os->map_slabs) {
        struct osal_map_slab *slab = os->map_slabs;
        os->map_slabs = slab->next;
        free(slab);
    }
    free(os->map_index);
    os->map_index = NULL;
    os->map_index_bits = 0;
    os->map_free = NULL;
    os->map_recs = 0;
}

/* --- the IOMMU side of a mapping ------------------------------------------ */

/* Unmaps the first n pieces of r; `deferred` leaves the IOMMU's wait to
 * flush_pending (osal_dma_defer_begin/end). */
static void unmap_pieces(struct osal *os, struct bus *bus, const struct osal_map_rec *r, uint32_t n, bool deferred)
{
    for (uint32_t i = 0; i < n; i++) {
        int rc = deferred ? bus_iommu_unmap_deferred(bus, r->piece[i].iova, r->piece[i].len)
                          : bus_iommu_unmap(bus, r->piece[i].iova, r->piece[i].len);
        if (rc < 0)
            osal_log(os, OSAL_LOG_WARN, "IOMMU unmap of IOVA 0x%llx+%llu failed: %s",
                     (unsigned long long)r->piece[i].iova, (unsigned long long)r->piece[i].len, strerror(-rc));
    }
}

/* Maps every piece of r; on failure unmaps what was mapped. */
static int map_pieces(struct osal *os, struct bus *bus, const struct osal_map_rec *r)
{
    for (uint32_t i = 0; i < r->npieces; i++) {
        int rc = bus_iommu_map(bus, r->piece[i].iova, r->piece[i].ram, r->piece[i].len, r->dir);
        if (rc < 0) {
            unmap_pieces(os, bus, r, i, false);
            return rc;
        }
    }
    return 0;
}

/* Takes a live record out of the index and the live list (dlock held). */
static void unlink_rec(struct osal *os, struct osal_map_rec *r)
{
    index_remove(os, index_find(os, r->piece[0].iova));
    if (r->prev)
        r->prev->next = r->next;
    else
        os->maps = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->buf->maps--;
    os->nmaps--;
}

/* A record whose unmap is done and waited for (dlock held): it and its IOVA
 * range become a pair of the cache when they fit one, or go back. */
static void release_rec(struct osal *os, struct osal_map_rec *r)
{
    bool fits = r->npieces == 1 && r->pages >= 1 && r->pages <= FAST_CLASSES && r->iova_start >= os->iova.lo &&
                os->iova.hi - os->iova.lo >= FAST_WINDOW_MIN;
    struct osal_dma_fast *f = fits ? fast_make(os) : fast_of(os);
    if (fits && f && f->nclass[r->pages - 1] < FAST_PAIRS) {
        f->nclass[r->pages - 1]++;
        f->pairs[f->npairs++] = r;
        fast_index_insert(f, r);
        pair_free(f, r);
        return;
    }
    range_alloc_put(window_of(os, r->iova_start), r->iova_start, NULL);
    rec_put(os, r);
}

/* Drops a live mapping record (dlock held): unmaps it, takes it out of the
 * live list and the index, and releases it. */
static void drop_rec(struct osal *os, struct osal_map_rec *r)
{
    unmap_pieces(os, osal_user_bus(os), r, r->npieces, false);
    unlink_rec(os, r);
    release_rec(os, r);
}

/* Gives every free pair back to the pool and its IOVA range to the window
 * (dlock held): when the window runs out.  Whether any went back. */
static bool fast_drain(struct osal *os)
{
    struct osal_dma_fast *f = fast_freeze(os);
    if (!f)
        return false;
    bool any = false;
    for (unsigned c = 0; c < FAST_CLASSES; c++) {
        struct osal_map_rec *r;
        while ((r = ptr_fifo_pop(&f->free[c], 0)) != NULL) {
            f->nclass[c]--;
            for (uint32_t i = 0; i < f->npairs; i++)
                if (f->pairs[i] == r) {
                    f->pairs[i] = f->pairs[--f->npairs];
                    break;
                }
            range_alloc_put(&os->iova, r->iova_start, NULL);
            __atomic_store_n(&r->state, PAIR_NONE, __ATOMIC_RELAXED);
            rec_put(os, r);
            any = true;
        }
    }
    if (any) /* frozen, nobody reads it */
        fast_index_rebuild(f);
    fast_thaw(f);
    return any;
}

uint64_t osal_dma_iova_pages_live(const struct osal *os)
{
    struct osal_dma_fast *f = fast_of(os);
    uint64_t held = 0; /* the free pairs' pages (momentary: counted from the lists, no counter per command) */
    for (unsigned c = 0; f && c < FAST_CLASSES; c++)
        held += (uint64_t)ptr_fifo_count(&f->free[c]) * (c + 1);
    return (os->iova.used + os->iova_low.used) / OSAL_PAGE - held;
}

void osal_dma_map_counts(const struct osal *os, uint32_t *live, uint64_t *maps, uint64_t *segs)
{
    uint64_t fast = atomic_load(&os->fast_maps), fast_done = atomic_load(&os->fast_unmaps), standing, made;
    standing_counts(os, &standing, &made);
    *live = (uint32_t)(atomic_load(&os->nmaps) + fast - fast_done + standing);
    *maps = atomic_load(&os->maps_total) + fast + made;
    *segs = atomic_load(&os->segs_total) + fast + made; /* a pair, a standing mapping's range: one segment */
}

/* A live record completed inside osal_dma_defer_begin/end (dlock held): the
 * tables are cleared and the invalidation queued; the IOVA range and the
 * record wait on `pending` for the end's one wait. */
static void defer_rec(struct osal *os, struct osal_map_rec *r)
{
    unmap_pieces(os, osal_user_bus(os), r, r->npieces, true);
    unlink_rec(os, r);
    r->buf->pending++;
    os->deferred_total++;
    r->prev = NULL;
    r->next = os->pending;
    os->pending = r;
}

/* Waits once for every deferred completion's invalidation, then gives their
 * IOVA ranges and records back (dlock held).  A wait that fails is logged:
 * the ranges go back all the same, as a failed synchronous unmap's do. */
static int flush_pending(struct osal *os)
{
    /* The pairs' stack is taken whole: a deferred complete pushes its pair
     * after queuing its invalidation, so the wait below covers every one. */
    struct osal_dma_fast *f = fast_of(os);
    struct osal_map_rec *fp = f ? __atomic_exchange_n(&f->pending, NULL, __ATOMIC_ACQ_REL) : NULL;
    if (!os->pending && !fp)
        return 0;
    int rc = bus_iommu_sync(osal_user_bus(os));
    if (rc < 0) {
        uint32_t n = 0;
        for (const struct osal_map_rec *r = os->pending; r; r = r->next)
            n++;
        for (const struct osal_map_rec *r = fp; r; r = r->next)
            n++;
        osal_log(os, OSAL_LOG_WARN, "waiting for the IOMMU's invalidation of %u deferred unmap(s) failed: %s", n,
                 strerror(-rc));
    }
    os->defer_syncs++;
    while (os->pending) {
        struct osal_map_rec *r = os->pending;
        os->pending = r->next;
        r->buf->pending--;
        release_rec(os, r);
    }
    while (fp) {
        struct osal_map_rec *r = fp;
        fp = r->next;
        r->buf->pending--;
        pair_free(f, r);
    }
    return rc;
}

uint32_t osal_dma_pending_count(const struct osal *os)
{
    uint32_t n = 0;
    for (const struct osal_map_rec *r = os->pending; r; r = r->next)
        n++;
    struct osal_dma_fast *f = fast_of(os);
    for (const struct osal_map_rec *r = f ? __atomic_load_n(&f->pending, __ATOMIC_ACQUIRE) : NULL; r; r = r->next)
        n++;
    return n;
}

void osal_dma_defer_begin(struct osal *os)
{
    if (!os)
        return;
    /* No lock: a reap's one lock is its end's wait, and only when it deferred
     * something.  Release stores, not seq_cst ones (an xchg each): another
     * thread that sees deferring set sees this owner, which is not itself. */
    atomic_store_explicit(&os->defer_owner, pthread_self(), memory_order_relaxed);
    os->defer_mark = atomic_load(&os->deferred_total);
    atomic_store_explicit(&os->deferring, true, memory_order_release);
}

int osal_dma_defer_end(struct osal *os)
{
    if (!os)
        return -EINVAL;
    /* Only this thread defers (deferring_here), and every batch's end waits for
     * what it deferred: a batch that deferred nothing (its buffers registered,
     * or no data) has nothing to wait for. */
    if (atomic_load(&os->deferred_total) == os->defer_mark) {
        atomic_store_explicit(&os->deferring, false, memory_order_release);
        return 0;
    }
    pthread_mutex_lock(&os->dlock);
    atomic_store(&os->deferring, false);
    int rc = flush_pending(os);
    pthread_mutex_unlock(&os->dlock);
    return rc;
}

/* Unmaps the live pairs of buffer b, or of every buffer when b is NULL
 * (dlock held, cache frozen). */
static void drop_live_pairs(struct osal *os, struct osal_dma_fast *f, const struct osal_dma_buf *b)
{
    for (uint32_t i = 0; f && i < f->npairs; i++) {
        struct osal_map_rec *r = f->pairs[i];
        if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) != PAIR_LIVE || (b && r->buf != b))
            continue;
        unmap_pieces(os, osal_user_bus(os), r, r->npieces, false);
        r->buf->maps--;
        os->fast_unmaps++;
        pair_free(f, r);
    }
}

void osal_dma_fini(struct osal *os)
{
    flush_pending(os);
    uint32_t live;
    uint64_t maps, segs;
    osal_dma_map_counts(os, &live, &maps, &segs);
    if (live)
        osal_log(os, OSAL_LOG_ERROR, "%u DMA mapping(s) still prepared at teardown; unmapped", live);
    while (os->maps)
        drop_rec(os, os->maps);
    struct osal_dma_fast *f = fast_of(os);
    drop_live_pairs(os, f, NULL);
    while (os->standing) /* registered buffers still allocated (logged below) */
        standing_drop(os, os->standing->buf);
    free(f); /* its records are the pool's */
    os->fast = NULL;
    pool_fini(os);
    if (os->nbufs)
        osal_log(os, OSAL_LOG_ERROR, "%u DMA buffer(s) still allocated at teardown; freed", os->nbufs);
    while (os->bufs) {
        struct osal_dma_buf *b = os->bufs;
        os->bufs = b->next;
        free(b);
    }
    while (os->buf_free) {
        struct osal_dma_buf *b = os->buf_free;
        os->buf_free = b->next;
        free(b);
    }
    os->nbufs = 0;
    range_alloc_fini(&os->ram);
    range_alloc_fini(&os->iova);
    range_alloc_fini(&os->iova_low);
}

/* --- registered buffers --------------------------------------------------- */

/* A registered buffer (osal_user_dma_register) has one mapping of all of it,
 * made at registration and ended when the buffer is freed: its standing
 * mapping, a record on os->standing (a bus switch replays it, teardown unmaps
 * it) that the buffer points to.  A prepare of a range of it
 * hands out the standing IOVAs and a complete takes them back: no table, no
 * invalidation, no lock, one counter bumped each.  A complete finds the standing
 * mapping through m->buf, which is safe however late the complete comes:
 * buffer structs are never given back to malloc before teardown, only reused
 * ("DMA memory", below), so a stale m->buf reads a buffer that no longer has
 * that standing mapping and is refused.  The counters still count the
 * prepares without their completes, so leak checks and "freed with live
 * mappings" see them as before.  What the IOMMU no longer checks for such a
 * buffer is a device that reaches it between commands (osal_user.h). */

int osal_user_dma_register(struct osal *os, struct osal_dma_buffer *pub, enum hba_dma_dir dir)
{
    if (!os || !pub || pub->length == 0)
        return -EINVAL;
    if (dir != HBA_DMA_TO_DEVICE && dir != HBA_DMA_FROM_DEVICE && dir != HBA_DMA_BIDIRECTIONAL)
        return -EINVAL;
    struct osal_dma_buf *b = (struct osal_dma_buf *)pub;
    pthread_mutex_lock(&os->dlock);
    struct osal_map_rec *r = NULL;
    int rc = 0;
    if (b->standing || b->maps)
        rc = -EBUSY;
    else if ((r = rec_get(os)) == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        pthread_mutex_unlock(&os->dlock);
        return rc;
    }
    uint64_t pages = pages_of(pub->phys, pub->length);
    r->buf = b;
    r->dir = dir;
    r->npieces = 1;
    r->pages = pages > UINT32_MAX ? 0 : (uint32_t)pages;
    rc = range_alloc_get(&os->iova, pages * OSAL_PAGE, OSAL_PAGE, UINT64_MAX, true, &r->iova_start);
    if (rc == -ENOSPC && fast_drain(os))
        rc = range_alloc_get(&os->iova, pages * OSAL_PAGE, OSAL_PAGE, UINT64_MAX, true, &r->iova_start);
    if (rc == 0) {
        r->piece[0] = (struct osal_map_piece){
            .iova = r->iova_start + (pub->phys & (OSAL_PAGE - 1)), .ram = pub->phys, .len = pub->length };
        rc = map_pieces(os, osal_user_bus(os), r);
        if (rc < 0)
            range_alloc_put(&os->iova, r->iova_start, NULL);
    }
    if (rc < 0) {
        rec_put(os, r);
        pthread_mutex_unlock(&os->dlock);
        return rc;
    }
    r->prev = NULL;
    r->next = os->standing;
    if (os->standing)
        os->standing->prev = r;
    os->standing = r;
    atomic_store(&b->standing_prepares, 0);
    atomic_store(&b->standing_completes, 0);
    __atomic_store_n(&b->standing, r, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&os->dlock);
    return 0;
}

/* One more on a count that one thread at a time changes (a load and a store,
 * no lock-prefixed add) and others may read at any time. */
static void bump(_Atomic uint64_t *n)
{
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Prepares of b's standing mapping not yet completed. */
static uint64_t standing_live(const struct osal_dma_buf *b)
{
    uint64_t done = atomic_load(&b->standing_completes);
    return atomic_load(&b->standing_prepares) - done;
}

/* dlock held: unmaps b's standing mapping (waiting for its invalidation),
 * gives back its IOVA range and record, and keeps its counts in the osal's. */
static void standing_drop(struct osal *os, struct osal_dma_buf *b)
{
    struct osal_map_rec *r = b->standing;
    unmap_pieces(os, osal_user_bus(os), r, 1, false);
    if (r->prev)
        r->prev->next = r->next;
    else
        os->standing = r->next;
    if (r->next)
        r->next->prev = r->prev;
    __atomic_store_n(&b->standing, NULL, __ATOMIC_RELEASE);
    os->standing_made += atomic_load(&b->standing_prepares); /* those never completed end here */
    range_alloc_put(&os->iova, r->iova_start, NULL);
    rec_put(os, r);
}

/* The standing mappings' share of osal_dma_map_counts (dlock held). */
static void standing_counts(const struct osal *os, uint64_t *live, uint64_t *made)
{
    *live = 0;
    *made = os->standing_made;
    for (const struct osal_map_rec *r = os->standing; r; r = r->next) {
        *live += standing_live(r->buf);
        *made += atomic_load(&r->buf->standing_prepares);
    }
}

/* A prepare of a registered buffer: 1 when the standing mapping covers it
 * (same direction, below the address limit), 0 when the normal path must. */
static int standing_prepare(struct osal_dma_buf *b, uint64_t offset, uint64_t length, enum hba_dma_dir dir,
                            uint64_t limit, struct osal_dma_mapping *out)
{
    const struct osal_map_rec *r = __atomic_load_n(&b->standing, __ATOMIC_ACQUIRE);
    if (!r || r->dir != dir)
        return 0;
    uint64_t iova = r->piece[0].iova + offset;
    if (iova > limit || limit - iova < length)
        return 0;
    bump(&b->standing_prepares);
    out->buf = &b->pub;
    out->offset = offset;
    out->length = length;
    out->dir = dir;
    out->nseg = 1;
    out->seg[0] = (struct osal_dma_segment){ .iova = iova, .length = length };
    return 1;
}

/* A complete of a range of a standing mapping: 1 with *rc when m is one, 0
 * when it is not. */
static int standing_complete(struct osal *os, struct osal_dma_mapping *m, int *rc)
{
    struct osal_dma_buf *b = (struct osal_dma_buf *)m->buf;
    const struct osal_map_rec *r = b ? __atomic_load_n(&b->standing, __ATOMIC_ACQUIRE) : NULL;
    if (!r || m->nseg != 1 || r->piece[0].iova + m->offset != m->seg[0].iova)
        return 0;
    if (m->seg[0].length != m->length || m->dir != r->dir) {
        osal_log(os, OSAL_LOG_ERROR, "osal_dma_complete: mapping at IOVA 0x%llx was modified after prepare",
                 (unsigned long long)m->seg[0].iova);
        *rc = -EINVAL;
        return 1;
    }
    /* A copy of a completed mapping, completed again, must not count: caught
     * when no prepare of the buffer is outstanding (a standing mapping keeps
     * no record per prepare to tell them apart). */
    if (atomic_load_explicit(&b->standing_completes, memory_order_relaxed) >=
        atomic_load_explicit(&b->standing_prepares, memory_order_relaxed)) {
        osal_log(os, OSAL_LOG_ERROR, "osal_dma_complete: IOVA 0x%llx is not a prepared mapping (completed twice?)",
                 (unsigned long long)m->seg[0].iova);
        *rc = -ENOENT;
        return 1;
    }
    bump(&b->standing_completes);
    m->nseg = 0;
    *rc = 0;
    return 1;
}

/* --- DMA memory ----------------------------------------------------------- */

/* Zeroes n bytes of host RAM at p.  Whole pages are dropped from the host
 * RAM memfd instead of written (MADV_REMOVE punches a hole: they read back as
 * zeros, in every process that maps the RAM, and cost nothing until touched);
 * the ragged ends are written.  Most of what a driver core allocates at
 * bring-up (segment-list space, queue slack) is never touched, and writing
 * it was most of the CPU time of a trace's set-up (make mutants, 9 suites).
 * Memory that is not shmem refuses the advice and is written as before. */
static void zero_ram(uint8_t *p, uint64_t n)
{
    uintptr_t a = (uintptr_t)p, lo = (a + OSAL_PAGE - 1) & ~(uintptr_t)(OSAL_PAGE - 1),
              hi = (a + n) & ~(uintptr_t)(OSAL_PAGE - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_REMOVE) == 0) {
        memset(p, 0, lo - a);
        memset((void *)hi, 0, a + n - hi);
        return;
    }
    memset(p, 0, n);
}

int osal_dma_alloc(struct osal *os, uint64_t length, uint64_t align, struct osal_dma_buffer **out)
{
    if (out)
        *out = NULL;
    if (!os || !out || length == 0 || align == 0 || (align & (align - 1)))
        return -EINVAL;
    if (length > UINT64_MAX - OSAL_DMA_GRAN)
        return -ENOMEM;
    uint64_t size = (length + OSAL_DMA_GRAN - 1) & ~(OSAL_DMA_GRAN - 1);
    pthread_mutex_lock(&os->dlock);
    struct osal_dma_buf *b = os->buf_free;
    if (b)
        os->buf_free = b->next;
    else if ((b = malloc(sizeof(*b))) == NULL) {
        pthread_mutex_unlock(&os->dlock);
        return -ENOMEM;
    }
    memset(b, 0, sizeof(*b));
    uint64_t phys;
    int rc = range_alloc_get(&os->ram, size, align > OSAL_DMA_GRAN ? align : OSAL_DMA_GRAN, UINT64_MAX, false,
                             &phys);
    if (rc < 0) {
        b->next = os->buf_free;
        os->buf_free = b;
        pthread_mutex_unlock(&os->dlock);
        return rc == -ENOSPC ? -ENOMEM : rc;
    }
    b->pub.vaddr = bus_ram(osal_user_bus(os)) + phys;
    b->pub.length = length;
    b->pub.phys = phys;
    b->size = size;
    b->next = os->bufs;
    if (os->bufs)
        os->bufs->prev = b;
    os->bufs = b;
    os->nbufs++;
    pthread_mutex_unlock(&os->dlock);
    /* RAM is recycled between buffers (and may hold a previous run's data). */
    zero_ram(b->pub.vaddr, size);
    *out = &b->pub;
    return 0;
}

void osal_dma_free(struct osal *os, struct osal_dma_buffer *pub)
{
    if (!os || !pub)
        return;
    struct osal_dma_buf *b = (struct osal_dma_buf *)pub;
    pthread_mutex_lock(&os->dlock);
    if (b->pending)
        flush_pending(os); /* its memory goes back only once the device cannot reach it */
    uint64_t live = b->maps + (b->standing ? standing_live(b) : 0);
    if (live || b->standing) {
        if (live)
            osal_log(os, OSAL_LOG_ERROR, "DMA buffer at RAM 0x%llx freed with %llu live mapping(s); unmapping them",
                     (unsigned long long)b->pub.phys, (unsigned long long)live);
        struct osal_dma_fast *f = fast_freeze(os);
        for (struct osal_map_rec *r = os->maps, *next; r; r = next) {
            next = r->next;
            if (r->buf == b)
                drop_rec(os, r);
        }
        drop_live_pairs(os, f, b);
        if (b->standing)
            standing_drop(os, b);
        fast_thaw(f);
    }
    range_alloc_put(&os->ram, b->pub.phys, NULL);
    if (b->prev)
        b->prev->next = b->next;
    else
        os->bufs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    os->nbufs--;
    /* Kept for reuse, not freed: a late complete may still read it
     * ("registered buffers"). */
    b->prev = NULL;
    b->next = os->buf_free;
    os->buf_free = b;
    pthread_mutex_unlock(&os->dlock);
}

/* --- DMA mappings --------------------------------------------------------- */

/* Splits [ram, ram + len) into pieces: one, or (scatter) one per RAM page with
 * the tail beyond the seventh page as the last piece.  Pieces get their IOVA
 * later; here only ram and len. */
static uint32_t split(bool scatter, uint64_t ram, uint64_t len, struct osal_map_piece *p)
{
    uint32_t n = 0;
    while (len) {
        uint64_t chunk = len;
        if (scatter && n + 1 < MAX_PIECES) {
            uint64_t to_page_end = OSAL_PAGE - (ram & (OSAL_PAGE - 1));
            if (chunk > to_page_end)
                chunk = to_page_end;
        }
        p[n].ram = ram;
        p[n].len = chunk;
        n++;
        ram += chunk;
        len -= chunk;
    }
    return n;
}

static void fill_mapping(const struct osal_map_rec *r, struct osal_dma_buffer *pub, uint64_t offset, uint64_t length,
                         enum hba_dma_dir dir, struct osal_dma_mapping *out)
{
    memset(out, 0, sizeof(*out));
    out->buf = pub;
    out->offset = offset;
    out->length = length;
    out->dir = dir;
    out->nseg = r->npieces;
    for (uint32_t i = 0; i < r->npieces; i++) {
        out->seg[i].iova = r->piece[i].iova;
        out->seg[i].length = r->piece[i].len;
    }
}

/* A prepare from the pair cache, without dlock: 1 with *rc when it ran, 0
 * when it does not apply (scatter, not one or two pages, the low window, no
 * free pair below the address limit, the cache frozen). */
static int fast_prepare(struct osal *os, struct osal_dma_buf *b, uint64_t offset, uint64_t length,
                        enum hba_dma_dir dir, uint64_t limit, struct osal_dma_mapping *out, int *rc)
{
    struct osal_dma_fast *f = fast_of(os);
    uint64_t ram = b->pub.phys + offset, pages = pages_of(ram, length);
    if (!f || pages > FAST_CLASSES || limit <= os->iova.lo || !fast_enter(f))
        return 0;
    struct osal_map_rec *r = ptr_fifo_pop(&f->free[pages - 1], FAST_KEEP);
    if (!r) {
        fast_leave(f);
        return 0;
    }
    if (r->iova_start > limit || limit - r->iova_start < pages * OSAL_PAGE) { /* F5: beyond the device's reach */
        pair_free(f, r);
        fast_leave(f);
        return 0;
    }
    r->buf = b;
    r->dir = dir;
    r->npieces = 1;
    r->piece[0] = (struct osal_map_piece){ .iova = r->iova_start + (ram & (OSAL_PAGE - 1)), .ram = ram, .len = length };
    *rc = map_pieces(os, osal_user_bus(os), r);
    if (*rc < 0) {
        pair_free(f, r);
        fast_leave(f);
        osal_log(os, OSAL_LOG_ERROR, "IOMMU map of %llu bytes at RAM 0x%llx failed: %s", (unsigned long long)length,
                 (unsigned long long)ram, strerror(-*rc));
        return 1;
    }
    b->maps++;
    os->fast_maps++; /* one add for the live, mapping and segment counts (osal_dma_map_counts) */
    __atomic_store_n(&r->state, PAIR_LIVE, __ATOMIC_RELEASE);
    fast_leave(f);
    fill_mapping(r, &b->pub, offset, length, dir, out);
    return 1;
}

int osal_dma_prepare(struct osal *os, struct osal_dma_buffer *pub, uint64_t offset, uint64_t length,
                     enum hba_dma_dir dir, unsigned max_addr_bits, struct osal_dma_mapping *out)
{
    if (!os || !pub || !out || length == 0 || offset > pub->length || length > pub->length - offset)
        return -EINVAL;
    if (dir != HBA_DMA_TO_DEVICE && dir != HBA_DMA_FROM_DEVICE && dir != HBA_DMA_BIDIRECTIONAL)
        return -EINVAL;
    if (max_addr_bits == 0 || max_addr_bits > 64)
        return -EINVAL;
    struct osal_dma_buf *b = (struct osal_dma_buf *)pub;
    if (atomic_load(&os->reverse_dirs) && dir != HBA_DMA_BIDIRECTIONAL)
        dir = dir == HBA_DMA_TO_DEVICE ? HBA_DMA_FROM_DEVICE : HBA_DMA_TO_DEVICE;
    bool scatter = atomic_load(&os->scatter);
    uint64_t limit = max_addr_bits >= 64 ? UINT64_MAX : 1ull << max_addr_bits;
    if (!scatter && standing_prepare(b, offset, length, dir, limit, out))
        return 0;
    int rc;
    if (!scatter && fast_prepare(os, b, offset, length, dir, limit, out, &rc))
        return rc;

    pthread_mutex_lock(&os->dlock);
    struct osal_map_rec *r = rec_get(os);
    if (!r) {
        pthread_mutex_unlock(&os->dlock);
        return -ENOMEM;
    }
    r->buf = b;
    r->dir = dir;
    r->npieces = split(scatter, pub->phys + offset, length, r->piece);
    /* Guard pages between pieces, and with scatter one after the mapping. */
    uint64_t pages = r->npieces - 1 + (scatter ? 1 : 0);
    for (uint32_t i = 0; i < r->npieces; i++)
        pages += pages_of(r->piece[i].ram, r->piece[i].len);
    r->pages = pages > UINT32_MAX ? 0 : (uint32_t)pages;
    /* The high window unless the device cannot reach above its start. */
    struct range_alloc *win = limit > os->iova.lo ? &os->iova : &os->iova_low;
    rc = range_alloc_get(win, pages * OSAL_PAGE, OSAL_PAGE, limit, true, &r->iova_start);
    /* The cache's free pairs hold IOVA ranges: a window that ran out gets them back. */
    if (rc == -ENOSPC && win == &os->iova && fast_drain(os))
        rc = range_alloc_get(win, pages * OSAL_PAGE, OSAL_PAGE, limit, true, &r->iova_start);
    if (rc < 0) {
        rec_put(os, r);
        pthread_mutex_unlock(&os->dlock);
        return rc;
    }
    uint64_t page = r->iova_start;
    for (uint32_t i = 0; i < r->npieces; i++) {
        r->piece[i].iova = page + (r->piece[i].ram & (OSAL_PAGE - 1));
        page += (pages_of(r->piece[i].ram, r->piece[i].len) + 1) * OSAL_PAGE;
    }
    rc = map_pieces(os, osal_user_bus(os), r);
    if (rc < 0) {
        range_alloc_put(win, r->iova_start, NULL);
        rec_put(os, r);
        pthread_mutex_unlock(&os->dlock);
        osal_log(os, OSAL_LOG_ERROR, "IOMMU map of %llu bytes at RAM 0x%llx failed: %s",
                 (unsigned long long)length, (unsigned long long)(pub->phys + offset), strerror(-rc));
        return rc;
    }
    index_insert(os, r);
    r->next = os->maps;
    if (os->maps)
        os->maps->prev = r;
    os->maps = r;
    os->nmaps++;
    os->maps_total++;
    os->segs_total += r->npieces;
    b->maps++;
    pthread_mutex_unlock(&os->dlock);
    fill_mapping(r, pub, offset, length, dir, out);
    return 0;
}

/* Whether this thread's completes are deferred (osal_dma_defer_begin). */
static bool deferring_here(struct osal *os)
{
    return atomic_load_explicit(&os->deferring, memory_order_acquire) &&
           pthread_equal(atomic_load_explicit(&os->defer_owner, memory_order_relaxed), pthread_self());
}

/* Whether m is what r's prepare handed out: 0, or -ENOENT / -EINVAL
 * (logged).  r NULL: no live mapping there. */
static int check_complete(struct osal *os, const struct osal_map_rec *r, const struct osal_dma_mapping *m)
{
    uint64_t len = 0;
    for (uint32_t i = 0; r && i < r->npieces; i++)
        len += r->piece[i].len;
    /* None; or another mapping at that IOVA (another buffer's, or another
     * range's: an IOVA is handed out again, see "the pair cache"). */
    if (!r || &r->buf->pub != m->buf || r->piece[0].ram != m->buf->phys + m->offset || len != m->length) {
        osal_log(os, OSAL_LOG_ERROR, "osal_dma_complete: IOVA 0x%llx is not a prepared mapping (completed twice?)",
                 (unsigned long long)m->seg[0].iova);
        return -ENOENT;
    }
    bool same = r->npieces == m->nseg;
    for (uint32_t i = 0; same && i < m->nseg; i++)
        same = r->piece[i].iova == m->seg[i].iova && r->piece[i].len == m->seg[i].length;
    if (!same) {
        osal_log(os, OSAL_LOG_ERROR, "osal_dma_complete: mapping at IOVA 0x%llx was modified after prepare",
                 (unsigned long long)m->seg[0].iova);
        return -EINVAL;
    }
    return 0;
}

/* Completes the pair r: in a fast path, or with dlock held. */
static int complete_pair(struct osal *os, struct osal_dma_fast *f, struct osal_map_rec *r, struct osal_dma_mapping *m)
{
    /* Found by its first IOVA, as other records are: a pair handed out again
     * at another page offset is not the mapping m was. */
    bool live = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == PAIR_LIVE && r->piece[0].iova == m->seg[0].iova;
    int rc = check_complete(os, live ? r : NULL, m);
    if (rc < 0)
        return rc;
    uint32_t want = PAIR_LIVE;
    if (!__atomic_compare_exchange_n(&r->state, &want, PAIR_DONE, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return check_complete(os, NULL, m); /* another thread completed it meanwhile */
    struct osal_dma_buf *b = r->buf;
    b->maps--;
    os->fast_unmaps++;
    if (deferring_here(os)) {
        unmap_pieces(os, osal_user_bus(os), r, r->npieces, true);
        b->pending++;
        os->deferred_total++;
        __atomic_store_n(&r->state, PAIR_PENDING, __ATOMIC_RELAXED);
        r->next = __atomic_load_n(&f->pending, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&f->pending, &r->next, r, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            ;
    } else {
        unmap_pieces(os, osal_user_bus(os), r, r->npieces, false);
        pair_free(f, r);
    }
    m->nseg = 0;
    return 0;
}

int osal_dma_complete(struct osal *os, struct osal_dma_mapping *m)
{
    if (!os || !m || m->nseg == 0 || m->nseg > MAX_PIECES)
        return -EINVAL;
    int rc;
    if (standing_complete(os, m, &rc))
        return rc;
    struct osal_dma_fast *f = fast_of(os);
    if (f) {
        /* Frozen: the freezer holds dlock, and is done once we have it. */
        bool fast = fast_enter(f);
        if (!fast)
            pthread_mutex_lock(&os->dlock);
        struct osal_map_rec *r = fast_find(f, page_down(m->seg[0].iova));
        rc = r ? complete_pair(os, f, r, m) : 0;
        if (fast)
            fast_leave(f);
        else
            pthread_mutex_unlock(&os->dlock);
        if (r)
            return rc;
    }
    pthread_mutex_lock(&os->dlock);
    uint32_t slot = index_find(os, m->seg[0].iova);
    struct osal_map_rec *r = slot == UINT32_MAX ? NULL : os->map_index[slot];
    rc = check_complete(os, r, m);
    if (rc < 0) {
        pthread_mutex_unlock(&os->dlock);
        return rc;
    }
    if (deferring_here(os))
        defer_rec(os, r);
    else
        drop_rec(os, r);
    pthread_mutex_unlock(&os->dlock);
    m->nseg = 0;
    return 0;
}

void osal_user_set_reverse_directions(struct osal *os, bool on)
{
    atomic_store(&os->reverse_dirs, on);
}

void osal_user_set_scatter(struct osal *os, bool on)
{
    atomic_store(&os->scatter, on);
}

/* --- switching buses ------------------------------------------------------ */

/* Maps live record r again on bus (a bus switch); the first failure in *first. */
static void replay(struct osal *os, struct bus *bus, struct osal_map_rec *r, int *first)
{
    int rc = map_pieces(os, bus, r);
    if (rc < 0) {
        osal_log(os, OSAL_LOG_ERROR, "replaying the mapping at IOVA 0x%llx on the new bus failed: %s",
                 (unsigned long long)r->piece[0].iova, strerror(-rc));
        if (!*first)
            *first = rc;
    }
}

int osal_dma_switch_bus(struct osal *os, struct bus *bus)
{
    pthread_mutex_lock(&os->dlock);
    struct osal_dma_fast *f = fast_freeze(os);
    flush_pending(os); /* on the old bus, where they were queued */
    if (range_alloc_top(&os->ram) > bus_dma_ram_top(bus)) {
        fast_thaw(f);
        pthread_mutex_unlock(&os->dlock);
        osal_log(os, OSAL_LOG_ERROR, "new bus has %llu bytes of host RAM for DMA; live DMA buffers reach %llu",
                 (unsigned long long)bus_dma_ram_top(bus), (unsigned long long)range_alloc_top(&os->ram));
        return -ERANGE;
    }
    atomic_store_explicit(&os->bus, bus, memory_order_release);
    /* Buffers still fit, but new ones may use the new size. */
    os->ram.hi = bus_dma_ram_top(bus);
    for (struct osal_dma_buf *b = os->bufs; b; b = b->next)
        b->pub.vaddr = bus_ram(bus) + b->pub.phys;
    int first = 0;
    for (struct osal_map_rec *r = os->maps; r; r = r->next)
        replay(os, bus, r, &first);
    for (uint32_t i = 0; f && i < f->npairs; i++)
        if (__atomic_load_n(&f->pairs[i]->state, __ATOMIC_ACQUIRE) == PAIR_LIVE)
            replay(os, bus, f->pairs[i], &first);
    for (struct osal_map_rec *r = os->standing; r; r = r->next)
        replay(os, bus, r, &first);
    fast_thaw(f);
    pthread_mutex_unlock(&os->dlock);
    return first;
}
