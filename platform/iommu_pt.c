/* platform/iommu_pt.c — the OS side of the IOMMU (see platform/iommu_pt.h).
 *
 * Entries are published with release stores (a table is zeroed before the
 * entry that points to it is written), because the IOMMU walks them from
 * another thread or process at any time.  Each table page keeps a count of
 * its present entries so that an empty table can be unhooked and reused;
 * it goes back to the pool only after the invalidation that covers the
 * unmap completed, so no walk can still be reading it. */
#include "platform/iommu_pt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/futex.h"

#define PAGE      ((uint64_t)HBA_IOMMU_PAGE_SIZE)
#define PAGE_MASK (PAGE - 1)
#define LEAF_SHIFT (12u + 9u) /* IOVA bits above a leaf table's 512 pages */
#define AREA_MIN  (64u << 10)
#define AREA_MAX  (16u << 20)
/* How long an INV_WAIT is polled before the OS sleeps on it: a busy IOMMU
 * answers within a few microseconds, and not sleeping spares it the wake. */
#define SPIN_NS   10000u
#define SPIN_TIGHT 256    /* looks at the INV_WAIT word before the first yield (about a microsecond) */

struct iommu_pt {
    uint8_t *ram;
    uint64_t ram_size;
    uint64_t area;                 /* first byte of the IOMMU area */
    struct hba_iommu_regs *regs;
    struct hba_iommu_inv *ring;
    uint32_t ring_size;
    uint32_t *status;              /* INV_WAIT target */
    uint32_t ticket;               /* last INV_WAIT value queued */
    uint32_t pending_drops;        /* invalidations queued by deferred unmaps since the last wait */
    uint32_t tail;                 /* next descriptor to write */
    uint32_t epoch;                /* the epoch this opener wrote */

    uint32_t npool;                /* table pages, [area, area + npool pages) */
    uint16_t *present;             /* present entries per table page */
    uint32_t *free;                /* pool pages not in use (a stack) */
    uint32_t nfree;
    uint32_t *deferred;            /* emptied tables, freed after the next wait */
    uint32_t ndeferred;
    uint32_t root;                 /* pool index of the root table */

    bool skip_invalidate;
    void (*doorbell)(void *arg);
    void *doorbell_arg;
    bool (*gone)(void *arg);
    void *gone_arg;
    struct iommu_pt_stats stats;
    pthread_mutex_t lock;
};

static uint64_t ld64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static uint32_t ld32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static void st32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static uint64_t pool_addr(const struct iommu_pt *pt, uint32_t idx) { return pt->area + (uint64_t)idx * PAGE; }
static uint32_t pool_index(const struct iommu_pt *pt, uint64_t addr) { return (uint32_t)((addr - pt->area) / PAGE); }
static uint64_t *table(const struct iommu_pt *pt, uint32_t idx) { return (uint64_t *)(pt->ram + pool_addr(pt, idx)); }

static bool wraps(uint64_t a, uint64_t len) { return len - 1 > UINT64_MAX - a; }

/* A zeroed table page, or UINT32_MAX when the pool is empty. */
static uint32_t table_alloc(struct iommu_pt *pt)
{
    if (pt->nfree == 0)
        return UINT32_MAX;
    uint32_t idx = pt->free[--pt->nfree];
    memset(table(pt, idx), 0, PAGE);
    pt->present[idx] = 0;
    pt->stats.table_pages++;
    return idx;
}

uint64_t iommu_pt_area_size(uint64_t ram_size)
{
    if (ram_size < (1u << 20) || (ram_size & PAGE_MASK))
        return 0;
    uint64_t area = ram_size / 8 & ~PAGE_MASK;
    return area < AREA_MIN ? AREA_MIN : area > AREA_MAX ? AREA_MAX : area;
}

int iommu_pt_open(uint8_t *ram, uint64_t ram_size, struct iommu_pt **out)
{
    *out = NULL;
    uint64_t area = iommu_pt_area_size(ram_size);
    if (!ram || area == 0)
        return -EINVAL;
    struct iommu_pt *pt = calloc(1, sizeof *pt);
    if (!pt)
        return -ENOMEM;
    pt->ram = ram;
    pt->ram_size = ram_size;
    pt->area = ram_size - area;
    /* The last three pages: wait status, queue ring, registers (hw/hba.h). */
    pt->npool = (uint32_t)(area / PAGE) - 3;
    pt->status = (uint32_t *)(ram + ram_size - 3 * PAGE);
    pt->ring = (struct hba_iommu_inv *)(ram + ram_size - 2 * PAGE);
    pt->ring_size = (uint32_t)(PAGE / sizeof(struct hba_iommu_inv));
    pt->regs = (struct hba_iommu_regs *)(ram + ram_size - PAGE);
    pt->present = calloc(pt->npool, sizeof *pt->present);
    pt->free = calloc(pt->npool, sizeof *pt->free);
    pt->deferred = calloc(pt->npool, sizeof *pt->deferred);
    if (!pt->present || !pt->free || !pt->deferred || pthread_mutex_init(&pt->lock, NULL)) {
        free(pt->present);
        free(pt->free);
        free(pt->deferred);
        free(pt);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < pt->npool; i++)
        pt->free[i] = pt->npool - 1 - i; /* lowest page first */
    pt->nfree = pt->npool;
    pt->root = table_alloc(pt);
    st32(pt->status, 0);

    /* Program the IOMMU; the new epoch, written last, makes it drop its IOTLB
     * and restart the queue at 0. */
    struct hba_iommu_regs *r = pt->regs;
    uint32_t epoch = ld32(&r->epoch) + 1;
    st64(&r->root, pool_addr(pt, pt->root) | HBA_IOMMU_ROOT_EN);
    st64(&r->iq_base, (uint64_t)((uint8_t *)pt->ring - ram));
    st32(&r->iq_size, pt->ring_size);
    /* The queue restarts empty; whatever error the old one stopped on is
     * forgotten (the IOMMU does the same when it sees the new epoch). */
    st32(&r->iq_tail, 0);
    st32(&r->iq_head, 0);
    st32(&r->iq_error, 0);
    st32(&r->inv_waiters, 0); /* ours: a previous OS's count means nothing now */
    st32(&r->epoch, epoch);
    pt->epoch = epoch;
    futex_wake_shared(&r->iq_tail);
    *out = pt;
    return 0;
}

void iommu_pt_close(struct iommu_pt *pt)
{
    if (!pt)
        return;
    struct hba_iommu_regs *r = pt->regs;
    /* Only if nobody took the IOMMU over meanwhile (an OS layer that swapped
     * to a new bus on the same host RAM detaches the old one afterwards). */
    if (ld32(&r->epoch) == pt->epoch) {
        st64(&r->root, 0);
        st32(&r->iq_size, 0);
        st32(&r->iq_tail, 0);
        st32(&r->epoch, pt->epoch + 1);
        futex_wake_shared(&r->iq_tail);
    }
    pthread_mutex_destroy(&pt->lock);
    free(pt->present);
    free(pt->free);
    free(pt->deferred);
    free(pt);
}

uint64_t iommu_pt_area_base(const struct iommu_pt *pt)
{
    return pt->area;
}

void iommu_pt_set_gone(struct iommu_pt *pt, bool (*gone)(void *arg), void *arg)
{
    pthread_mutex_lock(&pt->lock);
    pt->gone = gone;
    pt->gone_arg = arg;
    pthread_mutex_unlock(&pt->lock);
}

void iommu_pt_set_doorbell(struct iommu_pt *pt, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&pt->lock);
    pt->doorbell = fn;
    pt->doorbell_arg = arg;
    pthread_mutex_unlock(&pt->lock);
}

void iommu_pt_set_skip_invalidate(struct iommu_pt *pt, bool skip)
{
    pthread_mutex_lock(&pt->lock);
    pt->skip_invalidate = skip;
    pthread_mutex_unlock(&pt->lock);
}

void iommu_pt_stats(struct iommu_pt *pt, struct iommu_pt_stats *out)
{
    pthread_mutex_lock(&pt->lock);
    *out = pt->stats;
    pthread_mutex_unlock(&pt->lock);
}

/* --- tables ------------------------------------------------------------------ */

/* The pool indices of the tables on iova's path, root first (path[0] = level
 * 6 .. path[5] = level 1); creating missing ones with `create`.  Returns how
 * many levels exist (6 = the leaf table is there), or -ENOMEM. */
static int descend(struct iommu_pt *pt, uint64_t iova, bool create, uint32_t path[HBA_IOMMU_LEVELS])
{
    path[0] = pt->root;
    for (unsigned d = 0; d + 1 < HBA_IOMMU_LEVELS; d++) {
        unsigned level = HBA_IOMMU_LEVELS - d;
        uint64_t *e = &table(pt, path[d])[HBA_IOMMU_INDEX(iova, level)];
        uint64_t v = ld64(e);
        if (v & HBA_IOMMU_PTE_P) {
            path[d + 1] = pool_index(pt, v & HBA_IOMMU_PTE_ADDR);
            continue;
        }
        if (!create)
            return (int)d + 1;
        uint32_t t = table_alloc(pt);
        if (t == UINT32_MAX)
            return -ENOMEM;
        st64(e, pool_addr(pt, t) | HBA_IOMMU_PTE_P); /* after the zeroing: release */
        pt->present[path[d]]++;
        path[d + 1] = t;
    }
    return HBA_IOMMU_LEVELS;
}

static uint64_t *leaf_entry(struct iommu_pt *pt, const uint32_t path[HBA_IOMMU_LEVELS], uint64_t iova)
{
    return &table(pt, path[HBA_IOMMU_LEVELS - 1])[HBA_IOMMU_INDEX(iova, 1)];
}

/* Clears the leaves of IOVA pages [lo, hi] under table t of `level`, whose
 * first page is base; visits only present entries, so a huge range over a
 * sparse table costs what is mapped, not what is asked.  Tables that become
 * empty are unhooked and deferred.  Returns the leaves cleared. */
static uint64_t clear_tree(struct iommu_pt *pt, uint32_t t, unsigned level, uint64_t base, uint64_t lo,
                           uint64_t hi)
{
    unsigned shift = 9u * (level - 1u); /* pages per entry: 1 << shift */
    uint64_t *tab = table(pt, t);
    uint64_t i0 = (lo - base) >> shift, i1 = (hi - base) >> shift;
    if (i1 > HBA_IOMMU_PTES_PER_TABLE - 1)
        i1 = HBA_IOMMU_PTES_PER_TABLE - 1;
    uint64_t cleared = 0;
    for (uint64_t i = i0; i <= i1 && pt->present[t]; i++) {
        uint64_t e = ld64(&tab[i]);
        if (!(e & HBA_IOMMU_PTE_P))
            continue;
        if (level == 1) {
            st64(&tab[i], 0);
            pt->present[t]--;
            pt->stats.mapped_pages--;
            cleared++;
            continue;
        }
        uint64_t eb = base + (i << shift), el = eb + ((1ull << shift) - 1);
        uint32_t child = pool_index(pt, e & HBA_IOMMU_PTE_ADDR);
        cleared += clear_tree(pt, child, level - 1, eb, lo > eb ? lo : eb, hi < el ? hi : el);
        if (pt->present[child] == 0) {
            st64(&tab[i], 0);
            pt->present[t]--;
            pt->deferred[pt->ndeferred++] = child;
            pt->stats.table_pages--;
        }
    }
    return cleared;
}

/* --- invalidation ------------------------------------------------------------ */

static bool iommu_running(struct iommu_pt *pt)
{
    return ld32(&pt->regs->online) && !(pt->gone && pt->gone(pt->gone_arg));
}

static void push(struct iommu_pt *pt, struct hba_iommu_inv d)
{
    pt->ring[pt->tail] = d;
    pt->tail = (pt->tail + 1) & (pt->ring_size - 1);
}

/* Publishes the queue's tail and rings the doorbell. */
static void ring(struct iommu_pt *pt)
{
    struct hba_iommu_regs *r = pt->regs;
    st32(&r->iq_tail, pt->tail);
    if (pt->doorbell) {
        pt->doorbell(pt->doorbell_arg);
    } else {
        /* Pairs with the IOMMU's fence between clearing iq_awake and
         * re-reading iq_tail before it parks (hw/hba.h "Skipping the
         * wake-ups"): a polling IOMMU sees the tail without a system call. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (ld32(&r->iq_awake))
            pt->stats.wakes_skipped++;
        else
            futex_wake_shared(&r->iq_tail);
    }
}

/* Room for `need` more descriptors; 0, or -EIO (the queue stopped on an
 * error), or -ETIMEDOUT (earlier waits timed out and it is still full). */
static int room(struct iommu_pt *pt, uint32_t need)
{
    struct hba_iommu_regs *r = pt->regs;
    if (ld32(&r->iq_error))
        return -EIO;
    uint32_t head = ld32(&r->iq_head);
    if (((pt->tail - head) & (pt->ring_size - 1)) > pt->ring_size - 1 - need)
        return -ETIMEDOUT;
    return 0;
}

static void push_drop(struct iommu_pt *pt, uint64_t first_iova, uint64_t pages)
{
    pt->stats.invalidations++;
    if (pages <= UINT32_MAX)
        push(pt, (struct hba_iommu_inv){ .type = HBA_IOMMU_INV_PAGES, .data = (uint32_t)pages, .addr = first_iova });
    else
        push(pt, (struct hba_iommu_inv){ .type = HBA_IOMMU_INV_ALL });
}

static int wait_ticket(struct iommu_pt *pt, uint32_t ticket);

/* Queues an INV_WAIT behind everything queued so far, rings, and waits for
 * it.  0 also when no IOMMU runs (none caches anything; one that starts
 * later starts empty). */
static int wait_all(struct iommu_pt *pt)
{
    if (!iommu_running(pt))
        return 0;
    int rc = room(pt, 1);
    if (rc < 0)
        return rc;
    uint32_t ticket = ++pt->ticket;
    push(pt, (struct hba_iommu_inv){ .type = HBA_IOMMU_INV_WAIT, .data = ticket,
                                     .addr = (uint64_t)((uint8_t *)pt->status - pt->ram) });
    pt->pending_drops = 0;
    ring(pt);
    return wait_ticket(pt, ticket);
}

static int wait_ticket(struct iommu_pt *pt, uint32_t ticket)
{
    struct hba_iommu_regs *r = pt->regs;
    /* Done already when the doorbell ran the queue on this thread. */
    if (ld32(pt->status) == ticket)
        goto done;
    /* Poll first: the IOMMU (another thread or process) needs a CPU to
     * answer, and sleeping costs a wake-up on its side.  A controller's
     * command engine answers between two commands (hw/hba.h "Skipping the
     * wake-ups"), so the first looks do not give the CPU away; later ones
     * yield it. */
    uint64_t spin_until = clock_now_ns() + SPIN_NS;
    for (int i = 0;; i++) {
        if (ld32(pt->status) == ticket)
            goto done;
        if (i < SPIN_TIGHT)
            continue;
        if (i % 8 == 7 && clock_now_ns() >= spin_until)
            break;
        sched_yield();
    }
    /* Whoever counted itself awake has not answered (an engine busy with a
     * long command): the queue's own thread is woken now, whatever
     * iq_awake says. */
    if (!pt->doorbell)
        futex_wake_shared(&r->iq_tail);
    uint64_t deadline = clock_now_ms() + IOMMU_PT_WAIT_MS;
    for (;;) {
        /* Counted before the status is read, so the IOMMU's INV_WAIT either
         * is seen here or sees us and wakes us (hw/hba.h "Skipping the
         * wake-ups"); the read-modify-write is the fence. */
        __atomic_fetch_add(&r->inv_waiters, 1, __ATOMIC_SEQ_CST);
        uint32_t seen = ld32(pt->status);
        bool sleep = seen != ticket && !ld32(&r->iq_error) && iommu_running(pt) && clock_now_ms() < deadline;
        if (sleep) /* Short sleeps: the IOMMU going away (online, a dead bus) wakes nobody. */
            futex_wait_shared(pt->status, seen, 2);
        __atomic_fetch_sub(&r->inv_waiters, 1, __ATOMIC_SEQ_CST);
        if (sleep)
            continue;
        if (seen == ticket)
            goto done;
        if (ld32(&r->iq_error))
            return -EIO;
        if (!iommu_running(pt))
            return 0; /* nobody caches anything */
        return -ETIMEDOUT;
    }
done:
    pt->stats.waits++;
    return 0;
}

/* --- map / unmap ------------------------------------------------------------- */

/* Emptied tables go back to the pool once a wait covered their unmap. */
static void release_deferred(struct iommu_pt *pt)
{
    for (uint32_t i = 0; i < pt->ndeferred; i++)
        pt->free[pt->nfree++] = pt->deferred[i];
    pt->ndeferred = 0;
}

/* The pages [iova, iova + len) touches. */
static uint64_t pages_of(uint64_t iova, uint64_t len)
{
    return ((iova + len - 1) >> 12) - (iova >> 12) + 1;
}

/* Clears the n pages from first_iova (page aligned) and queues their
 * invalidation.  With `wait`, waits for it (and for every invalidation queued
 * before); without, rings where the IOMMU is in another thread or process
 * and leaves the wait to iommu_pt_sync.  n = 0 (a map that failed at its
 * first page) clears and queues nothing. */
static int unmap_locked(struct iommu_pt *pt, uint64_t first_iova, uint64_t n, bool wait, uint64_t *cleared)
{
    uint64_t lo = first_iova >> 12;
    *cleared = n ? clear_tree(pt, pt->root, HBA_IOMMU_LEVELS, 0, lo, lo + n - 1) : 0;
    int rc = 0;
    if (pt->skip_invalidate || !iommu_running(pt)) {
        /* Nobody caches anything, or the NOINV mutant. */
    } else if (wait) {
        if (n && (rc = room(pt, 2)) == 0)
            push_drop(pt, first_iova, n);
        if (rc == 0)
            rc = wait_all(pt);
    } else if (n) {
        /* A long batch waits now and then, so the queue never fills. */
        if (pt->pending_drops >= pt->ring_size / 4 && (rc = wait_all(pt)) == 0)
            release_deferred(pt);
        if (rc == 0 && (rc = room(pt, 2)) == 0) {
            push_drop(pt, first_iova, n);
            pt->pending_drops++;
            /* Across processes the IOMMU drops them meanwhile (iommu_pt_sync
             * then only waits); a synchronous doorbell would run the queue
             * here, once per unmap, when once per batch does the same. */
            if (!pt->doorbell)
                ring(pt);
        }
        return rc;
    }
    /* Emptied tables are reusable only once no walk can be in them: after the
     * wait, or at once when nobody waits (no IOMMU, or the NOINV mutant). */
    if (rc == 0)
        release_deferred(pt);
    return rc;
}

int iommu_pt_map(struct iommu_pt *pt, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir)
{
    if (dir < HBA_DMA_TO_DEVICE || dir > HBA_DMA_BIDIRECTIONAL || len == 0)
        return -EINVAL;
    if (wraps(iova, len) || wraps(ram_addr, len) || ram_addr >= pt->area || len > pt->area - ram_addr)
        return -EINVAL;
    if ((iova & PAGE_MASK) != (ram_addr & PAGE_MASK))
        return -EINVAL;
    uint64_t first = iova & ~PAGE_MASK, ram_first = ram_addr & ~PAGE_MASK;
    uint64_t n = pages_of(iova, len);

    pthread_mutex_lock(&pt->lock);
    int rc = 0;
    /* Check everything before changing anything: a refused map leaves no
     * trace.  The walk to a leaf table is done once for the pages it holds (a
     * queue's segment lists are hundreds of pages): `leaf` is the IOVA >>
     * LEAF_SHIFT of the leaf table in path, UINT64_MAX for none. */
    uint32_t path[HBA_IOMMU_LEVELS];
    uint64_t leaf = UINT64_MAX;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = first + i * PAGE;
        if (a >> LEAF_SHIFT != leaf) {
            if (descend(pt, a, false, path) != HBA_IOMMU_LEVELS)
                continue; /* no leaf table: nothing mapped here */
            leaf = a >> LEAF_SHIFT;
        }
        if (ld64(leaf_entry(pt, path, a)) & HBA_IOMMU_PTE_P) {
            rc = -EEXIST;
            goto out;
        }
    }
    leaf = UINT64_MAX;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = first + i * PAGE;
        if (a >> LEAF_SHIFT != leaf) {
            if (descend(pt, a, true, path) < 0) {
                /* Out of table pages: take back what was written (the pages
                 * were present for a moment, so this invalidates like any unmap). */
                uint64_t cleared;
                unmap_locked(pt, first, i, true, &cleared);
                rc = -ENOMEM;
                goto out;
            }
            leaf = a >> LEAF_SHIFT;
        }
        st64(leaf_entry(pt, path, a), (ram_first + i * PAGE) | HBA_IOMMU_PTE_P | ((uint64_t)dir << 1));
        pt->present[path[HBA_IOMMU_LEVELS - 1]]++;
        pt->stats.mapped_pages++;
    }
out:
    pthread_mutex_unlock(&pt->lock);
    return rc;
}

/* iommu_pt_unmap and iommu_pt_unmap_deferred. */
static int unmap(struct iommu_pt *pt, uint64_t iova, uint64_t len, bool wait)
{
    if (len == 0 || wraps(iova, len))
        return -EINVAL;
    uint64_t n = pages_of(iova, len);
    pthread_mutex_lock(&pt->lock);
    uint64_t cleared;
    int rc = unmap_locked(pt, iova & ~PAGE_MASK, n, wait, &cleared);
    pthread_mutex_unlock(&pt->lock);
    if (rc < 0)
        return rc;
    return cleared == n ? 0 : -ENOENT;
}

int iommu_pt_unmap_deferred(struct iommu_pt *pt, uint64_t iova, uint64_t len)
{
    return unmap(pt, iova, len, false);
}

int iommu_pt_sync(struct iommu_pt *pt)
{
    pthread_mutex_lock(&pt->lock);
    int rc = 0;
    if (pt->pending_drops && !pt->skip_invalidate)
        rc = wait_all(pt);
    if (rc == 0)
        release_deferred(pt);
    pthread_mutex_unlock(&pt->lock);
    return rc;
}

int iommu_pt_unmap(struct iommu_pt *pt, uint64_t iova, uint64_t len)
{
    return unmap(pt, iova, len, true);
}
