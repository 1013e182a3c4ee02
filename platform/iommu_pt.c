/* platform/iommu_pt.c — the OS side of the IOMMU (see platform/iommu_pt.h).
 *
 * Entries are published with release stores (a table is zeroed before the
 * entry that points to it is written), because the IOMMU walks them from
 * another thread or process at any time.  Each table page keeps a count of
 * its present entries so that an empty table can be unhooked and reused;
 * it goes back to the pool only after the invalidation that covers the
 * unmap completed, so no walk can still be reading it.
 *
 * The per-command path takes no lock (issue 14).  A map whose pages lie in
 * one leaf table that exists, and a deferred unmap, only store leaf entries:
 * they "pin" the leaf table by adding to its count with a compare-and-swap,
 * which no unhook can race, because an unhook first swaps a count of 0 for
 * DEAD (under the lock) and bumps `unhooks`, a sequence count the pinning
 * walk reads before and after (a walk that saw an unhook start over on the
 * locked path).  Everything that adds or removes table pages takes the
 * lock: creating tables, unhooking emptied ones, the IOMMU waits.  A leaf
 * table that a lock-free unmap empties stays hooked ("parked": the next
 * command's map reuses it, where unhooking would cost two locks per command
 * at queue depth 1); iommu_pt_sync prunes parked tables after PARK_MAX of
 * them, and a map that finds the pool empty prunes and waits, so parked
 * tables never cost a refused map and table memory stays within the fixed
 * IOMMU area.  The invalidation queue takes descriptors from several
 * threads: a slot is reserved by a compare-and-swap on `tail` and the slots
 * are published to iq_tail in order (a producer whose predecessor has not
 * published yet spins for that: two stores). */
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
/* A table's count: its present entries plus the pins of lock-free maps and
 * unmaps under way; DEAD once unhooked, until the table is allocated again. */
#define DEAD      0xFFFFFFFFull
/* Parked leaf tables (emptied by lock-free unmaps) that make iommu_pt_sync prune. */
#define PARK_MAX  32u

struct iommu_pt {
    uint8_t *ram;
    uint64_t ram_size;
    uint64_t area;                 /* first byte of the IOMMU area */
    struct hba_iommu_regs *regs;
    struct hba_iommu_inv *ring;
    uint32_t ring_size;
    uint32_t *status;              /* INV_WAIT target */
    uint32_t ticket;               /* last INV_WAIT value queued (under the lock) */
    uint32_t pending_drops;        /* invalidations queued by deferred unmaps since the last wait (atomic) */
    uint32_t tail;                 /* next descriptor slot to reserve (atomic, compare-and-swap) */
    uint32_t published;            /* slots published to iq_tail, in order (atomic) */
    uint32_t epoch;                /* the epoch this opener wrote */

    uint32_t npool;                /* table pages, [area, area + npool pages) */
    uint64_t *count;               /* per table page: present entries and pins, or DEAD (atomic) */
    uint64_t unhooks;              /* odd while a table is being unhooked (atomic; see the top) */
    uint32_t parked;               /* leaf tables emptied by lock-free unmaps since the last prune (atomic) */
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

/* Statistics and counters that lock-free paths update. */
static void add64(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static void sub64(uint64_t *p, uint64_t v) { __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
static uint64_t rd64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

/* A zeroed table page, or UINT32_MAX when the pool is empty (lock held).
 * The zeroing is atomic stores: a lock-free walk that read a stale entry
 * may still be reading this page (it finds out and starts over). */
static uint32_t table_alloc(struct iommu_pt *pt)
{
    if (pt->nfree == 0)
        return UINT32_MAX;
    uint32_t idx = pt->free[--pt->nfree];
    uint64_t *t = table(pt, idx);
    for (unsigned i = 0; i < HBA_IOMMU_PTES_PER_TABLE; i++)
        __atomic_store_n(&t[i], 0, __ATOMIC_RELAXED);
    st64(&pt->count[idx], 0);
    add64(&pt->stats.table_pages, 1);
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
    pt->count = calloc(pt->npool, sizeof *pt->count);
    pt->free = calloc(pt->npool, sizeof *pt->free);
    pt->deferred = calloc(pt->npool, sizeof *pt->deferred);
    if (!pt->count || !pt->free || !pt->deferred || pthread_mutex_init(&pt->lock, NULL)) {
        free(pt->count);
        free(pt->free);
        free(pt->deferred);
        free(pt);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < pt->npool; i++) {
        pt->free[i] = pt->npool - 1 - i; /* lowest page first */
        pt->count[i] = DEAD;
    }
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
    free(pt->count);
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
    __atomic_store_n(&pt->gone_arg, arg, __ATOMIC_RELAXED);
    __atomic_store_n(&pt->gone, gone, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&pt->lock);
}

void iommu_pt_set_doorbell(struct iommu_pt *pt, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&pt->lock);
    __atomic_store_n(&pt->doorbell_arg, arg, __ATOMIC_RELAXED);
    __atomic_store_n(&pt->doorbell, fn, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&pt->lock);
}

void iommu_pt_set_skip_invalidate(struct iommu_pt *pt, bool skip)
{
    pthread_mutex_lock(&pt->lock);
    __atomic_store_n(&pt->skip_invalidate, skip, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&pt->lock);
}

void iommu_pt_stats(struct iommu_pt *pt, struct iommu_pt_stats *out)
{
    pthread_mutex_lock(&pt->lock);
    out->mapped_pages = rd64(&pt->stats.mapped_pages);
    out->table_pages = rd64(&pt->stats.table_pages);
    out->invalidations = rd64(&pt->stats.invalidations);
    out->waits = rd64(&pt->stats.waits);
    out->wakes_skipped = rd64(&pt->stats.wakes_skipped);
    pthread_mutex_unlock(&pt->lock);
}

/* --- tables ------------------------------------------------------------------ */

static bool skipping(const struct iommu_pt *pt) { return __atomic_load_n(&pt->skip_invalidate, __ATOMIC_RELAXED); }

/* The pool index of the table entry e points to, or UINT32_MAX when that is
 * not a pool page: a lock-free walk may read a page that was freed and
 * reused meanwhile, where a leaf holds a RAM address. */
static uint32_t child_of(const struct iommu_pt *pt, uint64_t e)
{
    uint64_t a = e & HBA_IOMMU_PTE_ADDR;
    if (a < pt->area || (a - pt->area) / PAGE >= pt->npool)
        return UINT32_MAX;
    return pool_index(pt, a);
}

/* The pool indices of the tables on iova's path, root first (path[0] = level
 * 6 .. path[5] = level 1); creating missing ones with `create`.  Returns how
 * many levels exist (6 = the leaf table is there), or -ENOMEM.  Lock held:
 * the tables above the leaves change only under it. */
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
        __atomic_fetch_add(&pt->count[path[d]], 1, __ATOMIC_SEQ_CST);
        st64(e, pool_addr(pt, t) | HBA_IOMMU_PTE_P); /* after the zeroing: release */
        path[d + 1] = t;
    }
    return HBA_IOMMU_LEVELS;
}

static uint64_t *leaf_entry(struct iommu_pt *pt, const uint32_t path[HBA_IOMMU_LEVELS], uint64_t iova)
{
    return &table(pt, path[HBA_IOMMU_LEVELS - 1])[HBA_IOMMU_INDEX(iova, 1)];
}

/* Takes k back from a pinned table's count.  A leaf table left empty stays
 * hooked, parked, until a prune. */
static void unpin(struct iommu_pt *pt, uint32_t t, uint64_t k)
{
    if (__atomic_sub_fetch(&pt->count[t], k, __ATOMIC_SEQ_CST) == 0)
        __atomic_fetch_add(&pt->parked, 1, __ATOMIC_RELAXED);
}

/* Pins the leaf table of iova without the lock: adds k to its count, so that
 * no unhook can take it (an unhook swaps only a count of 0 for DEAD), and
 * returns its pool index.  UINT32_MAX when there is no leaf table, or an
 * unhook ran during the walk (the walk may have read a table on its way out
 * of the tree): the caller takes the lock instead. */
static uint32_t pin_leaf(struct iommu_pt *pt, uint64_t iova, uint64_t k)
{
    uint64_t seq = __atomic_load_n(&pt->unhooks, __ATOMIC_SEQ_CST);
    if (seq & 1)
        return UINT32_MAX;
    uint32_t t = pt->root;
    for (unsigned level = HBA_IOMMU_LEVELS; level > 1; level--) {
        uint64_t e = ld64(&table(pt, t)[HBA_IOMMU_INDEX(iova, level)]);
        if (!(e & HBA_IOMMU_PTE_P) || (t = child_of(pt, e)) == UINT32_MAX)
            return UINT32_MAX;
    }
    uint64_t c = ld64(&pt->count[t]);
    do {
        if (c == DEAD || c + k >= DEAD)
            return UINT32_MAX;
    } while (!__atomic_compare_exchange_n(&pt->count[t], &c, c + k, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    if (__atomic_load_n(&pt->unhooks, __ATOMIC_SEQ_CST) != seq) {
        unpin(pt, t, k);
        return UINT32_MAX;
    }
    return t;
}

/* Unhooks `child`, which entry e of table t points to, if it is empty (lock
 * held); it goes to the deferred list, back to the pool after the next wait.
 * A lock-free pin may come first: then the child stays. */
static void unhook_if_empty(struct iommu_pt *pt, uint32_t t, uint64_t *e, uint32_t child)
{
    if (ld64(&pt->count[child]) != 0)
        return;
    __atomic_fetch_add(&pt->unhooks, 1, __ATOMIC_SEQ_CST); /* odd: pinning walks start over */
    uint64_t zero = 0;
    if (__atomic_compare_exchange_n(&pt->count[child], &zero, DEAD, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        st64(e, 0);
        __atomic_fetch_sub(&pt->count[t], 1, __ATOMIC_SEQ_CST);
        pt->deferred[pt->ndeferred++] = child;
        sub64(&pt->stats.table_pages, 1);
    }
    __atomic_fetch_add(&pt->unhooks, 1, __ATOMIC_SEQ_CST);
}

/* Clears the leaves of IOVA pages [lo, hi] under table t of `level`, whose
 * first page is base; visits only present entries, so a huge range over a
 * sparse table costs what is mapped, not what is asked.  Tables that become
 * empty are unhooked and deferred.  Returns the leaves cleared.  Lock held;
 * lock-free maps and unmaps of other pages may run in the same leaf tables. */
static uint64_t clear_tree(struct iommu_pt *pt, uint32_t t, unsigned level, uint64_t base, uint64_t lo,
                           uint64_t hi)
{
    unsigned shift = 9u * (level - 1u); /* pages per entry: 1 << shift */
    uint64_t *tab = table(pt, t);
    uint64_t i0 = (lo - base) >> shift, i1 = (hi - base) >> shift;
    if (i1 > HBA_IOMMU_PTES_PER_TABLE - 1)
        i1 = HBA_IOMMU_PTES_PER_TABLE - 1;
    uint64_t cleared = 0;
    for (uint64_t i = i0; i <= i1 && ld64(&pt->count[t]); i++) {
        uint64_t e = ld64(&tab[i]);
        if (!(e & HBA_IOMMU_PTE_P))
            continue;
        if (level == 1) {
            if (__atomic_exchange_n(&tab[i], 0, __ATOMIC_ACQ_REL) & HBA_IOMMU_PTE_P) {
                __atomic_fetch_sub(&pt->count[t], 1, __ATOMIC_SEQ_CST);
                sub64(&pt->stats.mapped_pages, 1);
                cleared++;
            }
            continue;
        }
        uint64_t eb = base + (i << shift), el = eb + ((1ull << shift) - 1);
        uint32_t child = pool_index(pt, e & HBA_IOMMU_PTE_ADDR);
        cleared += clear_tree(pt, child, level - 1, eb, lo > eb ? lo : eb, hi < el ? hi : el);
        unhook_if_empty(pt, t, &tab[i], child);
    }
    return cleared;
}

/* Unhooks every empty table under table t of `level` (lock held): the parked
 * leaf tables and the tables above them that they leave empty. */
static void prune(struct iommu_pt *pt, uint32_t t, unsigned level)
{
    uint64_t *tab = table(pt, t);
    uint64_t left = ld64(&pt->count[t]);
    for (unsigned i = 0; i < HBA_IOMMU_PTES_PER_TABLE && left; i++) {
        uint64_t e = ld64(&tab[i]);
        if (!(e & HBA_IOMMU_PTE_P))
            continue;
        left--;
        uint32_t child = pool_index(pt, e & HBA_IOMMU_PTE_ADDR);
        if (level > 2)
            prune(pt, child, level - 1);
        unhook_if_empty(pt, t, &tab[i], child);
    }
}

/* Prunes the parked leaf tables (lock held): their count starts again. */
static void prune_parked(struct iommu_pt *pt)
{
    __atomic_store_n(&pt->parked, 0, __ATOMIC_RELAXED);
    prune(pt, pt->root, HBA_IOMMU_LEVELS);
}

/* --- invalidation ------------------------------------------------------------ */

static bool iommu_running(struct iommu_pt *pt)
{
    bool (*gone)(void *) = __atomic_load_n(&pt->gone, __ATOMIC_ACQUIRE);
    return ld32(&pt->regs->online) && !(gone && gone(__atomic_load_n(&pt->gone_arg, __ATOMIC_RELAXED)));
}

/* Whether an unmap queues its invalidation and waits for it: not when no
 * IOMMU runs (nobody caches anything) nor for the NOINV mutant. */
static bool invalidating(struct iommu_pt *pt)
{
    return !skipping(pt) && iommu_running(pt);
}

/* Reserves the next descriptor slot, leaving room for `need` descriptors
 * (this one included): 0 with *slot, -EIO (the queue stopped on an error),
 * or -ETIMEDOUT (earlier waits timed out and it is still full). */
static int reserve(struct iommu_pt *pt, uint32_t need, uint32_t *slot)
{
    struct hba_iommu_regs *r = pt->regs;
    uint32_t mask = pt->ring_size - 1, t;
    do {
        if (ld32(&r->iq_error))
            return -EIO;
        /* The head first: read after the tail, it may have passed slots that
         * other threads reserved meanwhile, and the queue would look full. */
        uint32_t head = ld32(&r->iq_head);
        t = ld32(&pt->tail);
        if (((t - head) & mask) > pt->ring_size - 1 - need)
            return -ETIMEDOUT;
    } while (!__atomic_compare_exchange_n(&pt->tail, &t, (t + 1) & mask, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    *slot = t;
    return 0;
}

/* Writes d into a reserved slot and publishes it: iq_tail moves over it once
 * every slot before it is published, so the IOMMU never reads a slot still
 * being written.  Waits for a producer that reserved an earlier slot. */
static void publish(struct iommu_pt *pt, uint32_t slot, struct hba_iommu_inv d)
{
    pt->ring[slot] = d;
    for (unsigned i = 0; ld32(&pt->published) != slot; i++)
        if (i >= SPIN_TIGHT)
            sched_yield();
    uint32_t next = (slot + 1) & (pt->ring_size - 1);
    st32(&pt->regs->iq_tail, next);
    st32(&pt->published, next);
}

/* Rings the doorbell for what is published. */
static void ring(struct iommu_pt *pt)
{
    struct hba_iommu_regs *r = pt->regs;
    void (*doorbell)(void *) = __atomic_load_n(&pt->doorbell, __ATOMIC_ACQUIRE);
    if (doorbell) {
        doorbell(__atomic_load_n(&pt->doorbell_arg, __ATOMIC_RELAXED));
    } else {
        /* Pairs with the IOMMU's fence between clearing iq_awake and
         * re-reading iq_tail before it parks (hw/hba.h "Skipping the
         * wake-ups"): a polling IOMMU sees the tail without a system call. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (ld32(&r->iq_awake))
            add64(&pt->stats.wakes_skipped, 1);
        else
            futex_wake_shared(&r->iq_tail);
    }
}

/* Queues the invalidation of `pages` pages from first_iova, with room left
 * for an INV_WAIT behind it. */
static int push_drop(struct iommu_pt *pt, uint64_t first_iova, uint64_t pages)
{
    uint32_t slot;
    int rc = reserve(pt, 2, &slot);
    if (rc < 0)
        return rc;
    add64(&pt->stats.invalidations, 1);
    if (pages <= UINT32_MAX)
        publish(pt, slot, (struct hba_iommu_inv){ .type = HBA_IOMMU_INV_PAGES, .data = (uint32_t)pages, .addr = first_iova });
    else
        publish(pt, slot, (struct hba_iommu_inv){ .type = HBA_IOMMU_INV_ALL });
    return 0;
}

static int wait_ticket(struct iommu_pt *pt, uint32_t ticket);

/* Queues an INV_WAIT behind everything queued so far, rings, and waits for
 * it (lock held).  0 also when no IOMMU runs (none caches anything; one that
 * starts later starts empty). */
static int wait_all(struct iommu_pt *pt)
{
    if (!iommu_running(pt))
        return 0;
    /* Taken before the INV_WAIT's slot: a deferred unmap counts itself after
     * queuing its invalidation, so whatever is counted here is ahead of the
     * wait; what counts itself later waits with the next one. */
    uint32_t drops = __atomic_exchange_n(&pt->pending_drops, 0, __ATOMIC_SEQ_CST);
    uint32_t slot;
    int rc = reserve(pt, 1, &slot);
    if (rc < 0) {
        __atomic_fetch_add(&pt->pending_drops, drops, __ATOMIC_SEQ_CST);
        return rc;
    }
    uint32_t ticket = ++pt->ticket;
    publish(pt, slot, (struct hba_iommu_inv){ .type = HBA_IOMMU_INV_WAIT, .data = ticket,
                                              .addr = (uint64_t)((uint8_t *)pt->status - pt->ram) });
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
    if (!__atomic_load_n(&pt->doorbell, __ATOMIC_ACQUIRE))
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
    add64(&pt->stats.waits, 1);
    return 0;
}

/* --- map / unmap ------------------------------------------------------------- */

/* Emptied tables go back to the pool once a wait covered their unmap (lock held). */
static void release_deferred(struct iommu_pt *pt)
{
    for (uint32_t i = 0; i < pt->ndeferred; i++)
        pt->free[pt->nfree++] = pt->deferred[i];
    pt->ndeferred = 0;
}

/* Prunes the parked tables and gives them back to the pool after a wait
 * (lock held).  Whether any came back. */
static bool reclaim(struct iommu_pt *pt)
{
    uint32_t before = pt->ndeferred;
    prune_parked(pt);
    if (pt->ndeferred == before)
        return false;
    if (!skipping(pt) && wait_all(pt) < 0)
        return false;
    release_deferred(pt);
    return true;
}

/* The pages [iova, iova + len) touches. */
static uint64_t pages_of(uint64_t iova, uint64_t len)
{
    return ((iova + len - 1) >> 12) - (iova >> 12) + 1;
}

/* Pages from iova (page aligned) to the end of its leaf table. */
static uint64_t left_in_leaf(uint64_t iova)
{
    return HBA_IOMMU_PTES_PER_TABLE - HBA_IOMMU_INDEX(iova, 1);
}

static uint64_t leaf_value(uint64_t ram, enum hba_dma_dir dir)
{
    return ram | HBA_IOMMU_PTE_P | ((uint64_t)dir << 1);
}

/* Clears the n pages from first_iova (page aligned), queues their
 * invalidation and waits for it and for every invalidation queued before
 * (lock held).  n = 0 (a map that failed at its first page) clears and
 * queues nothing. */
static int unmap_locked(struct iommu_pt *pt, uint64_t first_iova, uint64_t n, uint64_t *cleared)
{
    uint64_t lo = first_iova >> 12;
    *cleared = n ? clear_tree(pt, pt->root, HBA_IOMMU_LEVELS, 0, lo, lo + n - 1) : 0;
    int rc = 0;
    if (invalidating(pt)) {
        if (n)
            rc = push_drop(pt, first_iova, n);
        if (rc == 0)
            rc = wait_all(pt);
    }
    /* Emptied tables are reusable only once no walk can be in them: after the
     * wait, or at once when nobody waits (no IOMMU, or the NOINV mutant). */
    if (rc == 0)
        release_deferred(pt);
    return rc;
}

/* The lock-free map: the n pages from first lie in leaf table t, pinned for
 * n.  A refused map leaves no trace: every page is checked first. */
static int map_pinned(struct iommu_pt *pt, uint32_t t, uint64_t first, uint64_t ram_first, uint64_t n,
                      enum hba_dma_dir dir)
{
    uint64_t *e = &table(pt, t)[HBA_IOMMU_INDEX(first, 1)];
    for (uint64_t i = 0; i < n; i++)
        if (ld64(&e[i]) & HBA_IOMMU_PTE_P) {
            unpin(pt, t, n);
            return -EEXIST;
        }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t was = 0;
        if (__atomic_compare_exchange_n(&e[i], &was, leaf_value(ram_first + i * PAGE, dir), false,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            continue;
        /* Another thread mapped this page meanwhile (its caller's IOVA
         * bookkeeping is wrong): take back ours, which were present for a
         * moment, and invalidate them as an unmap does. */
        for (uint64_t j = 0; j < i; j++)
            st64(&e[j], 0);
        unpin(pt, t, n);
        if (i) {
            pthread_mutex_lock(&pt->lock);
            if (invalidating(pt) && push_drop(pt, first, i) == 0)
                wait_all(pt);
            pthread_mutex_unlock(&pt->lock);
        }
        return -EEXIST;
    }
    add64(&pt->stats.mapped_pages, n);
    return 0;
}

/* The map with the lock held: creates the tables it needs. */
static int map_locked(struct iommu_pt *pt, uint64_t first, uint64_t ram_first, uint64_t n, enum hba_dma_dir dir)
{
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
        if (ld64(leaf_entry(pt, path, a)) & HBA_IOMMU_PTE_P)
            return -EEXIST;
    }
    leaf = UINT64_MAX;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = first + i * PAGE;
        if (a >> LEAF_SHIFT != leaf) {
            if (descend(pt, a, true, path) < 0) {
                /* Out of table pages: take back what was written (the pages
                 * were present for a moment, so this invalidates like any unmap). */
                uint64_t cleared;
                unmap_locked(pt, first, i, &cleared);
                return -ENOMEM;
            }
            leaf = a >> LEAF_SHIFT;
        }
        /* Counted first: a lock-free unmap of a neighbour must not see the
         * table empty while this entry is on its way. */
        __atomic_fetch_add(&pt->count[path[HBA_IOMMU_LEVELS - 1]], 1, __ATOMIC_SEQ_CST);
        st64(leaf_entry(pt, path, a), leaf_value(ram_first + i * PAGE, dir));
        add64(&pt->stats.mapped_pages, 1);
    }
    return 0;
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

    /* A command's map: its pages in one leaf table that exists. */
    if (n <= left_in_leaf(first)) {
        uint32_t t = pin_leaf(pt, first, n);
        if (t != UINT32_MAX)
            return map_pinned(pt, t, first, ram_first, n, dir);
    }
    pthread_mutex_lock(&pt->lock);
    int rc = map_locked(pt, first, ram_first, n, dir);
    /* Parked tables never cost a refused map. */
    if (rc == -ENOMEM && reclaim(pt))
        rc = map_locked(pt, first, ram_first, n, dir);
    pthread_mutex_unlock(&pt->lock);
    return rc;
}

int iommu_pt_unmap(struct iommu_pt *pt, uint64_t iova, uint64_t len)
{
    if (len == 0 || wraps(iova, len))
        return -EINVAL;
    uint64_t n = pages_of(iova, len), cleared;
    pthread_mutex_lock(&pt->lock);
    int rc = unmap_locked(pt, iova & ~PAGE_MASK, n, &cleared);
    pthread_mutex_unlock(&pt->lock);
    if (rc < 0)
        return rc;
    return cleared == n ? 0 : -ENOENT;
}

/* Clears the n pages from first (page aligned) for a deferred unmap: without
 * the lock when they lie in one leaf table that exists.  *cleared: the pages
 * cleared.  Returns invalidating(pt), asked once: on the locked path it
 * decides whether the tables it emptied wait for the invalidation, and the
 * caller queues that invalidation on the same answer. */
static bool clear_deferred(struct iommu_pt *pt, uint64_t first, uint64_t n, uint64_t *cleared)
{
    uint32_t t = n <= left_in_leaf(first) ? pin_leaf(pt, first, 1) : UINT32_MAX;
    if (t != UINT32_MAX) {
        uint64_t *e = &table(pt, t)[HBA_IOMMU_INDEX(first, 1)], k = 0;
        for (uint64_t i = 0; i < n; i++)
            if (__atomic_exchange_n(&e[i], 0, __ATOMIC_ACQ_REL) & HBA_IOMMU_PTE_P)
                k++;
        sub64(&pt->stats.mapped_pages, k);
        unpin(pt, t, k + 1);
        *cleared = k;
        return invalidating(pt);
    }
    pthread_mutex_lock(&pt->lock);
    *cleared = clear_tree(pt, pt->root, HBA_IOMMU_LEVELS, 0, first >> 12, (first >> 12) + n - 1);
    bool inv = invalidating(pt);
    if (!inv)
        release_deferred(pt); /* no wait is coming, and no walk to wait for */
    pthread_mutex_unlock(&pt->lock);
    return inv;
}

int iommu_pt_unmap_deferred(struct iommu_pt *pt, uint64_t iova, uint64_t len)
{
    if (len == 0 || wraps(iova, len))
        return -EINVAL;
    uint64_t first = iova & ~PAGE_MASK, n = pages_of(iova, len), cleared;
    int rc = 0;
    if (clear_deferred(pt, first, n, &cleared)) {
        /* A long batch syncs now and then, so the queue never fills.  The
         * sync is the wait this needs: it waits for everything queued and
         * frees the tables that wait covered.  It skips the wait only when
         * nothing is pending or deferred (another thread's wait took the
         * count meanwhile, so the queue was drained), and it may prune
         * parked tables first, which a sync may do at any time. */
        if (ld32(&pt->pending_drops) >= pt->ring_size / 4)
            rc = iommu_pt_sync(pt);
        if (rc == 0 && (rc = push_drop(pt, first, n)) == 0) {
            __atomic_fetch_add(&pt->pending_drops, 1, __ATOMIC_SEQ_CST);
            /* Across processes the IOMMU drops them meanwhile (iommu_pt_sync
             * then only waits); a synchronous doorbell would run the queue
             * here, once per unmap, when once per batch does the same. */
            if (!__atomic_load_n(&pt->doorbell, __ATOMIC_ACQUIRE))
                ring(pt);
        }
    }
    if (rc < 0)
        return rc;
    return cleared == n ? 0 : -ENOENT;
}

int iommu_pt_sync(struct iommu_pt *pt)
{
    pthread_mutex_lock(&pt->lock);
    if (ld32(&pt->parked) >= PARK_MAX)
        prune_parked(pt);
    int rc = 0;
    if ((ld32(&pt->pending_drops) || pt->ndeferred) && !skipping(pt))
        rc = wait_all(pt);
    if (rc == 0)
        release_deferred(pt);
    pthread_mutex_unlock(&pt->lock);
    return rc;
}
