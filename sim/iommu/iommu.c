/* sim/iommu/iommu.c — the emulated IOMMU: translation tables in host RAM
 * walked on an IOTLB miss, an IOTLB of its own, the invalidation queue, page-
 * by-page translation with direction checks, fault policies and a fault log.
 *
 * Everything the OS programs is in host RAM (hw/hba.h): the register page at
 * the top, the tables and the queue wherever the root and iq_base say.  The
 * OS writes them from another thread or another process at any time, so every
 * load of them is an atomic acquire load, and what a walk finds is validated
 * like any input from the other side (a malformed entry is a fault, with a
 * reason, never a crash).
 *
 * Concurrency: the DMA path takes no lock (issue 14: nothing per command
 * that can block).  Queue runners (the doorbell on the unmapping thread, the
 * queue thread) take `qlock` among themselves.  What an INV_WAIT promises -
 * once it is written, no access that used a dropped translation is still
 * landing, so the OS may free or reuse the buffer - is kept by a two-phase
 * count of accesses in flight (sim/iommu/inflight.h).  IOTLB slots are
 * filled without a lock too (tlb_fill: a slot is claimed by a
 * compare-and-swap, and a fill that raced an invalidation undoes itself).
 * The fault log has its own mutex; the fault hook runs outside every access,
 * so it may call back in.
 */
#include "sim/iommu/iommu.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/futex.h"
#include "sim/iommu/inflight.h"

#define PAGE_SHIFT 12u
#define PAGE_MASK  ((uint64_t)HBA_IOMMU_PAGE_SIZE - 1)
_Static_assert(HBA_IOMMU_PAGE_SIZE == 1u << PAGE_SHIFT, "page shift matches page size");
_Static_assert((HBA_IOMMU_IOTLB_ENTRIES & (HBA_IOMMU_IOTLB_ENTRIES - 1)) == 0, "IOTLB size is a power of two");

/* The queue thread's idle sleep: a safety net only (the doorbell wakes it). */
#define IQ_IDLE_MS 100
/* How long the queue thread keeps polling iq_tail after a pass that found
 * work, with iq_awake set so that the OS skips its futex wake: at a steady
 * command rate the next unmap comes well within it, and the doorbell then
 * costs neither side a system call. */
#define IQ_POLL_NS 20000u

/* One cached leaf: tag = IOVA page + 1 (0 = empty, TAG_BUSY = being
 * filled), the leaf entry as read. */
struct iotlb_slot {
    _Atomic uint64_t tag;
    _Atomic uint64_t pte;
};
#define TAG_BUSY (1ull << 63) /* above any page + 1: page numbers have 52 bits */

/* The statistics, counted without a lock (struct sim_iommu_stats): the DMA
 * path's and the queue's on lines of their own, as the two run on different
 * threads. */
struct dma_counts {
    alignas(64) _Atomic uint64_t hits, misses, walks_faulted;
};
struct queue_counts {
    alignas(64) _Atomic uint64_t inv_descs, inv_waits, wakes_skipped, engine_runs;
};

/* The fields are grouped by who writes them, each group on cache lines of
 * its own: a line written by one thread and read by another at every
 * command costs a transfer each time. */
struct sim_iommu {
    /* Read at every access; written at set-up (epoch: at a re-initialisation). */
    uint8_t *ram;
    uint64_t ram_size;
    struct hba_iommu_regs *regs;     /* in host RAM; NULL when RAM is smaller than a page */
    atomic_int policy;               /* enum hba_iommu_policy */
    _Atomic uint32_t epoch;          /* regs->epoch the IOTLB was filled under */
    /* sim_iommu_set_access_hook: set before the controller's threads start */
    bool (*access_hook)(void *arg, struct sim_dma_ctx ctx);
    void *access_arg;

    alignas(64) pthread_mutex_t qlock; /* the invalidation queue and the epoch: one runner at a time */
    atomic_bool sync_doorbell;       /* the OS rings sim_iommu_doorbell: the queue is run on its thread */
    uint32_t served_tail;            /* the engine's thread only: the tail its last run covered */
    atomic_bool engine_awake;        /* the engine counts itself in iq_awake (sim_iommu_engine_awake) */
    struct dma_counts dma_stats;
    struct queue_counts queue_stats;
    alignas(64) struct iotlb_slot tlb[HBA_IOMMU_IOTLB_ENTRIES];
    struct sim_inflight inflight;    /* accesses in flight, for INV_WAIT (sim/iommu/inflight.h) */
    /* Bumped before every IOTLB drop or flush: a fill that sees it move undoes itself. */
    alignas(64) _Atomic uint64_t drops;

    pthread_t iq_thread;
    bool iq_started;
    atomic_bool stop;

    pthread_mutex_t log_lock;
    struct hba_iommu_fault ring[HBA_FAULT_LOG_DEPTH];
    uint32_t total;                  /* faults ever logged = next sequence number */
    void (*hook)(void *arg, const struct hba_iommu_fault *f);
    void *hook_arg;
};

static bool policy_valid(int p)
{
    return p == HBA_IOMMU_POLICY_ABORT || p == HBA_IOMMU_POLICY_DROP || p == HBA_IOMMU_POLICY_FATAL;
}

/* True when [start, start+len) runs past the end of the 64-bit space (len > 0). */
static bool range_wraps(uint64_t start, uint64_t len)
{
    return len - 1 > UINT64_MAX - start;
}

static uint32_t ld32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static uint64_t ld64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* A whole page [addr, addr + 4096) inside host RAM, page aligned. */
static bool ram_page_ok(const struct sim_iommu *m, uint64_t addr)
{
    return !(addr & PAGE_MASK) && addr < m->ram_size && m->ram_size - addr >= HBA_IOMMU_PAGE_SIZE;
}

/* --- IOTLB ------------------------------------------------------------------- */

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Empties the slot of page if it holds page.  Called after `drops` moved.
 * Looks before it writes: a compare-and-swap of a slot that holds another
 * page would still take its cache line from the thread that reads it. */
static void tlb_clear(struct sim_iommu *m, uint64_t page)
{
    struct iotlb_slot *s = &m->tlb[page & (HBA_IOMMU_IOTLB_ENTRIES - 1)];
    uint64_t want = page + 1;
    if (atomic_load(&s->tag) == want)
        atomic_compare_exchange_strong(&s->tag, &want, 0);
}

static void tlb_flush(struct sim_iommu *m)
{
    atomic_fetch_add(&m->drops, 1);
    for (size_t i = 0; i < HBA_IOMMU_IOTLB_ENTRIES; i++) {
        uint64_t t = atomic_load(&m->tlb[i].tag);
        if (t && t != TAG_BUSY)
            atomic_compare_exchange_strong(&m->tlb[i].tag, &t, 0);
    }
}

static void tlb_drop(struct sim_iommu *m, uint64_t first_page, uint64_t count)
{
    if (count >= HBA_IOMMU_IOTLB_ENTRIES) {
        tlb_flush(m);
        return;
    }
    atomic_fetch_add(&m->drops, 1);
    for (uint64_t p = first_page; p < first_page + count; p++)
        tlb_clear(m, p);
}

/* The cached leaf of page, or false.  A slot is read tag, entry, tag: a fill
 * in between (tag BUSY, then the new tag) shows as a changed tag. */
static bool tlb_lookup(struct sim_iommu *m, uint64_t page, uint64_t *pte)
{
    struct iotlb_slot *s = &m->tlb[page & (HBA_IOMMU_IOTLB_ENTRIES - 1)];
    if (atomic_load(&s->tag) != page + 1)
        return false;
    *pte = atomic_load(&s->pte);
    return atomic_load(&s->tag) == page + 1;
}

/* Caches what a walk that began when `drops` was drops0 found.  A slot being
 * filled by another access is left to it.  Should an invalidation have moved
 * `drops` meanwhile, the walk may have read an entry the OS has since
 * cleared, and the fill is undone: either the invalidation's clear runs
 * after the tag is stored and removes it, or this load sees `drops` move
 * (both sequentially consistent). */
static void tlb_fill(struct sim_iommu *m, uint64_t page, uint64_t pte, uint64_t drops0)
{
    struct iotlb_slot *s = &m->tlb[page & (HBA_IOMMU_IOTLB_ENTRIES - 1)];
    uint64_t t = atomic_load_explicit(&s->tag, memory_order_relaxed);
    if (t == TAG_BUSY || !atomic_compare_exchange_strong(&s->tag, &t, TAG_BUSY))
        return;
    atomic_store_explicit(&s->pte, pte, memory_order_relaxed);
    atomic_store(&s->tag, page + 1);
    if (atomic_load(&m->drops) != drops0)
        tlb_clear(m, page);
}

/* The OS re-initialised the IOMMU (new epoch): nothing cached stays, and the
 * queue starts again at 0.  qlock held. */
static void sync_epoch(struct sim_iommu *m)
{
    uint32_t e = ld32(&m->regs->epoch);
    if (e == atomic_load_explicit(&m->epoch, memory_order_relaxed))
        return;
    tlb_flush(m);
    st32(&m->regs->iq_head, 0);
    st32(&m->regs->iq_error, 0);
    atomic_store_explicit(&m->epoch, e, memory_order_release);
}

/* An access's check of the epoch: the flush is taken under qlock, rarely. */
static void access_sync_epoch(struct sim_iommu *m)
{
    if (ld32(&m->regs->epoch) == atomic_load_explicit(&m->epoch, memory_order_acquire))
        return;
    pthread_mutex_lock(&m->qlock);
    sync_epoch(m);
    pthread_mutex_unlock(&m->qlock);
}

/* --- table walk -------------------------------------------------------------- */

/* The leaf entry for the page of iova in *leaf, or why there is none. */
static enum hba_iommu_reason walk(const struct sim_iommu *m, uint64_t iova, uint64_t *leaf)
{
    uint64_t root = ld64(&m->regs->root);
    if (!(root & HBA_IOMMU_ROOT_EN))
        return HBA_IOMMU_UNMAPPED;
    if (root & PAGE_MASK & ~HBA_IOMMU_ROOT_EN)
        return HBA_IOMMU_BAD_ENTRY;
    uint64_t table = root & HBA_IOMMU_PTE_ADDR;
    for (unsigned level = HBA_IOMMU_LEVELS; level >= 1; level--) {
        if (!ram_page_ok(m, table))
            return HBA_IOMMU_BAD_ENTRY;
        const uint64_t *t = (const uint64_t *)(m->ram + table);
        uint64_t e = ld64(&t[HBA_IOMMU_INDEX(iova, level)]);
        if (!(e & HBA_IOMMU_PTE_P))
            return HBA_IOMMU_UNMAPPED;
        bool access = e & (HBA_IOMMU_PTE_R | HBA_IOMMU_PTE_W);
        if (e & HBA_IOMMU_PTE_RSVD)
            return HBA_IOMMU_BAD_ENTRY;
        if (level == 1) {
            if (!access)
                return HBA_IOMMU_BAD_ENTRY;
            *leaf = e;
            return 0;
        }
        if (access)
            return HBA_IOMMU_BAD_ENTRY;
        table = e & HBA_IOMMU_PTE_ADDR;
    }
    return HBA_IOMMU_BAD_ENTRY; /* not reached: level 1 returns */
}

/* --- invalidation queue ------------------------------------------------------ */

static enum hba_iommu_iq_error run_desc(struct sim_iommu *m, const struct hba_iommu_inv *d)
{
    if (d->rsvd[0] || d->rsvd[1] || d->rsvd[2])
        return HBA_IOMMU_IQE_RESERVED;
    switch (d->type) {
    case HBA_IOMMU_INV_PAGES:
        if (d->addr & PAGE_MASK)
            return HBA_IOMMU_IQE_ADDRESS;
        /* Page numbers have 52 bits: a range past 2^64 is malformed. */
        if (d->data == 0 || (d->addr >> PAGE_SHIFT) + d->data - 1 > (UINT64_MAX >> PAGE_SHIFT))
            return HBA_IOMMU_IQE_COUNT;
        tlb_drop(m, d->addr >> PAGE_SHIFT, d->data);
        return HBA_IOMMU_IQE_NONE;
    case HBA_IOMMU_INV_ALL:
        if (d->data || d->addr)
            return HBA_IOMMU_IQE_RESERVED;
        tlb_flush(m);
        return HBA_IOMMU_IQE_NONE;
    case HBA_IOMMU_INV_WAIT: {
        if ((d->addr & 3) || d->addr >= m->ram_size || m->ram_size - d->addr < 4)
            return HBA_IOMMU_IQE_ADDRESS;
        uint32_t *status = (uint32_t *)(m->ram + d->addr);
        sim_inflight_barrier(&m->inflight);
        /* Counted before the status is stored: an OS that saw it and reads
         * the statistics finds this wait in them. */
        count(&m->queue_stats.inv_waits);
        st32(status, d->data);
        /* Pairs with the OS's read-modify-write of inv_waiters before it
         * reads this word (hw/hba.h "Skipping the wake-ups"). */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (ld32(&m->regs->inv_waiters))
            futex_wake_shared(status);
        else
            count(&m->queue_stats.wakes_skipped);
        return HBA_IOMMU_IQE_NONE;
    }
    }
    return HBA_IOMMU_IQE_TYPE;
}

/* Processes every descriptor queued so far; returns how many.  qlock held. */
static uint32_t run_queue(struct sim_iommu *m)
{
    struct hba_iommu_regs *r = m->regs;
    sync_epoch(m);
    if (ld32(&r->iq_error))
        return 0;
    uint32_t size = ld32(&r->iq_size);
    if (size == 0)
        return 0;
    uint64_t base = ld64(&r->iq_base);
    uint32_t head = ld32(&r->iq_head), tail = ld32(&r->iq_tail);
    if (head == tail)
        return 0;
    if (size < HBA_IOMMU_IQ_MIN || size > HBA_IOMMU_IQ_MAX || (size & (size - 1)) || (base & PAGE_MASK) ||
        base >= m->ram_size || m->ram_size - base < (uint64_t)size * sizeof(struct hba_iommu_inv) ||
        head >= size || tail >= size) {
        st32(&r->iq_error, HBA_IOMMU_IQE_QUEUE);
        return 0;
    }
    uint32_t done = 0;
    while (head != tail) {
        struct hba_iommu_inv d;
        /* One copy, then validate: the OS may be writing the next slot. */
        memcpy(&d, m->ram + base + (uint64_t)head * sizeof d, sizeof d);
        /* Counted first, like inv_waits: an INV_WAIT's status lets the OS
         * read the statistics before this loop goes on. */
        count(&m->queue_stats.inv_descs);
        enum hba_iommu_iq_error err = run_desc(m, &d);
        if (err) {
            atomic_fetch_sub(&m->queue_stats.inv_descs, 1); /* only descriptors done count */
            st32(&r->iq_error, err);
            return 0;
        }
        head = (head + 1) & (size - 1);
        st32(&r->iq_head, head);
        done++;
    }
    return done;
}

/* Polls iq_tail for up to IQ_POLL_NS after a pass that found work, yielding
 * the CPU between looks (the machine may have fewer cores than threads that
 * want them).  Returns true if the tail moved. */
static bool poll_tail(struct sim_iommu *m, uint32_t tail)
{
    uint64_t until = clock_now_ns() + IQ_POLL_NS;
    for (unsigned i = 0; !atomic_load_explicit(&m->stop, memory_order_relaxed); i++) {
        if (ld32(&m->regs->iq_tail) != tail)
            return true;
        if (i % 8 == 7 && clock_now_ns() >= until)
            return false;
        sched_yield();
    }
    return false;
}

/* iq_awake counts who is looking at iq_tail (hw/hba.h "Skipping the
 * wake-ups"): this queue's thread while it polls, the controller's command
 * engine while it runs (sim_iommu_engine_awake). */
static void awake_add(struct sim_iommu *m, int32_t n)
{
    __atomic_fetch_add(&m->regs->iq_awake, (uint32_t)n, __ATOMIC_SEQ_CST);
}

static void *iq_main(void *arg)
{
    struct sim_iommu *m = arg;
    /* Awake from the start: the first doorbell after a (re)start may come
     * before this thread ever parks (sim_iommu_create cleared what a killed
     * IOMMU left). */
    awake_add(m, 1);
    while (!atomic_load(&m->stop)) {
        uint32_t tail = ld32(&m->regs->iq_tail);
        pthread_mutex_lock(&m->qlock);
        uint32_t done = run_queue(m);
        pthread_mutex_unlock(&m->qlock);
        /* Only after real work: an in-process IOMMU whose queue is run on the
         * unmapping thread (sim_iommu_doorbell) finds none and never spins;
         * nor while the command engine runs the queue between commands (it
         * would only take the CPU from the engine). */
        if (done && !atomic_load_explicit(&m->engine_awake, memory_order_relaxed) && poll_tail(m, tail))
            continue;
        /* Park.  Pairs with the OS's fence between storing iq_tail and
         * reading iq_awake (hw/hba.h "Skipping the wake-ups"): either it sees
         * 0 and wakes us, or we see its tail here and do not sleep. */
        awake_add(m, -1);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint32_t now_tail = ld32(&m->regs->iq_tail);
        if (now_tail == tail) {
            /* Sleeps unless the doorbell moved meanwhile (then FUTEX_WAIT returns at once). */
            futex_wait_shared(&m->regs->iq_tail, tail, IQ_IDLE_MS);
        }
        awake_add(m, 1);
    }
    awake_add(m, -1);
    return NULL;
}

/* --- life cycle -------------------------------------------------------------- */

int sim_iommu_create(uint8_t *ram, uint64_t ram_size, enum hba_iommu_policy policy, struct sim_iommu **out)
{
    *out = NULL;
    if ((!ram && ram_size) || !policy_valid((int)policy))
        return -EINVAL;
    /* Aligned as its cache-line groups ask (calloc promises 16 bytes). */
    struct sim_iommu *m = aligned_alloc(alignof(struct sim_iommu), sizeof *m);
    if (!m)
        return -ENOMEM;
    memset(m, 0, sizeof *m);
    m->ram = ram;
    m->ram_size = ram_size;
    atomic_init(&m->policy, (int)policy);
    atomic_init(&m->stop, false);
    sim_inflight_init(&m->inflight);
    atomic_init(&m->drops, 0);
    int rc = pthread_mutex_init(&m->qlock, NULL);
    if (rc) {
        free(m);
        return -rc;
    }
    rc = pthread_mutex_init(&m->log_lock, NULL);
    if (rc) {
        pthread_mutex_destroy(&m->qlock);
        free(m);
        return -rc;
    }
    if (ram_size >= HBA_IOMMU_PAGE_SIZE) {
        m->regs = (struct hba_iommu_regs *)(ram + (ram_size & ~PAGE_MASK) - HBA_IOMMU_PAGE_SIZE);
        /* An IOTLB starts empty: whatever the OS wrote before is read afresh. */
        atomic_init(&m->epoch, ld32(&m->regs->epoch));
        st32(&m->regs->iq_awake, 0); /* what a killed IOMMU left counted is gone with it */
        rc = pthread_create(&m->iq_thread, NULL, iq_main, m);
        if (rc) {
            sim_iommu_destroy(m);
            return -rc;
        }
        m->iq_started = true;
        st32(&m->regs->online, 1);
    }
    *out = m;
    return 0;
}

void sim_iommu_destroy(struct sim_iommu *m)
{
    if (!m)
        return;
    if (m->iq_started) {
        atomic_store(&m->stop, true);
        futex_wake_shared(&m->regs->iq_tail);
        pthread_join(m->iq_thread, NULL);
        /* An OS waiting for an INV_WAIT need not: nothing is cached any more. */
        st32(&m->regs->online, 0);
        futex_wake_shared(&m->regs->online);
    }
    pthread_mutex_destroy(&m->log_lock);
    pthread_mutex_destroy(&m->qlock);
    free(m);
}

void sim_iommu_set_policy(struct sim_iommu *m, enum hba_iommu_policy policy)
{
    if (policy_valid((int)policy))
        atomic_store_explicit(&m->policy, (int)policy, memory_order_relaxed);
}

enum hba_iommu_policy sim_iommu_policy(const struct sim_iommu *m)
{
    /* C11 atomic_load wants a non-const object; reading does not modify it. */
    return (enum hba_iommu_policy)atomic_load_explicit((atomic_int *)&m->policy, memory_order_relaxed);
}

void sim_iommu_doorbell(struct sim_iommu *m)
{
    if (!m->regs)
        return;
    atomic_store_explicit(&m->sync_doorbell, true, memory_order_relaxed); /* on qlock's line, written next anyway */
    pthread_mutex_lock(&m->qlock);
    run_queue(m);
    pthread_mutex_unlock(&m->qlock);
}

/* Between two commands the engine runs what the OS queued since it last
 * looked, unless the queue thread is at it (then that thread finishes it).
 * served_tail moves only with a run that started after the tail was read, so
 * a tail this call skipped is seen again at the next. */
void sim_iommu_service(struct sim_iommu *m)
{
    if (!m || !m->regs || atomic_load_explicit(&m->sync_doorbell, memory_order_relaxed))
        return;
    uint32_t tail = ld32(&m->regs->iq_tail);
    if (tail == m->served_tail || pthread_mutex_trylock(&m->qlock) != 0)
        return;
    run_queue(m);
    pthread_mutex_unlock(&m->qlock);
    m->served_tail = tail;
    count(&m->queue_stats.engine_runs);
}

void sim_iommu_engine_awake(struct sim_iommu *m, bool awake)
{
    if (!m || !m->regs)
        return;
    atomic_store_explicit(&m->engine_awake, awake, memory_order_relaxed);
    if (awake) {
        awake_add(m, 1);
        return;
    }
    /* Pairs with the OS's fence between storing iq_tail and reading
     * iq_awake: a tail stored before the count dropped is run here. */
    awake_add(m, -1);
    sim_iommu_service(m);
}

void sim_iommu_stats(struct sim_iommu *m, struct sim_iommu_stats *out)
{
    *out = (struct sim_iommu_stats){
        .hits = atomic_load(&m->dma_stats.hits),
        .misses = atomic_load(&m->dma_stats.misses),
        .walks_faulted = atomic_load(&m->dma_stats.walks_faulted),
        .inv_descs = atomic_load(&m->queue_stats.inv_descs),
        .inv_waits = atomic_load(&m->queue_stats.inv_waits),
        .wakes_skipped = atomic_load(&m->queue_stats.wakes_skipped),
        .engine_runs = atomic_load(&m->queue_stats.engine_runs),
    };
}

/* --- DMA --------------------------------------------------------------------- */

/* The first fault of one access. */
struct fault_note {
    bool     hit;
    uint64_t addr;
    enum hba_iommu_reason reason;
};

/* Why the page holding `addr` cannot take `chunk` bytes in direction `need`, or
 * 0 with *ram_off set. */
static enum hba_iommu_reason translate(struct sim_iommu *m, uint64_t addr, uint64_t chunk,
                                       enum hba_dma_dir need, uint64_t *ram_off)
{
    if (!m->regs)
        return HBA_IOMMU_UNMAPPED;
    uint64_t page = addr >> PAGE_SHIFT, pte;
    if (tlb_lookup(m, page, &pte)) {
        count(&m->dma_stats.hits);
    } else {
        count(&m->dma_stats.misses);
        uint64_t drops0 = atomic_load(&m->drops);
        enum hba_iommu_reason why = walk(m, addr, &pte);
        if (why) {
            count(&m->dma_stats.walks_faulted);
            return why; /* faults are never cached */
        }
        tlb_fill(m, page, pte, drops0);
    }
    /* The entry's R and W bits are the directions it allows, shifted by one. */
    if (!((pte >> 1) & need))
        return need == HBA_DMA_FROM_DEVICE ? HBA_IOMMU_READ_ONLY : HBA_IOMMU_WRITE_ONLY;
    /* A leaf may point anywhere: the page, or the tail of a last RAM page past
     * a RAM size that is not a multiple of the page size, may lie outside. */
    uint64_t off = (pte & HBA_IOMMU_PTE_ADDR) | (addr & PAGE_MASK);
    if (off >= m->ram_size || chunk > m->ram_size - off)
        return HBA_IOMMU_BEYOND_RAM;
    *ram_off = off;
    return 0;
}

static void log_fault(struct sim_iommu *m, const struct fault_note *note, size_t len, enum hba_dma_dir dir,
                      enum hba_iommu_policy policy, struct sim_dma_ctx ctx)
{
    struct hba_iommu_fault f = {
        .iova = note->addr,
        .length = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
        .cid = ctx.cid,
        .sq_id = ctx.sq_id,
        .dir = (uint8_t)dir,
        .reason = (uint8_t)note->reason,
        .policy = (uint8_t)policy,
    };
    pthread_mutex_lock(&m->log_lock);
    f.seq = m->total++;
    m->ring[f.seq % HBA_FAULT_LOG_DEPTH] = f;
    void (*hook)(void *, const struct hba_iommu_fault *) = m->hook;
    void *arg = m->hook_arg;
    pthread_mutex_unlock(&m->log_lock);
    if (hook)
        hook(arg, &f);
}

static enum sim_dma_result fault_result(enum hba_iommu_policy policy)
{
    switch (policy) {
    case HBA_IOMMU_POLICY_DROP:  return SIM_DMA_DROPPED;
    case HBA_IOMMU_POLICY_FATAL: return SIM_DMA_FATAL;
    case HBA_IOMMU_POLICY_ABORT: break;
    }
    return SIM_DMA_ABORTED;
}

/* One device access: `read` moves RAM -> buf (device reads host memory). */
static enum sim_dma_result dma(struct sim_iommu *m, uint64_t iova, uint8_t *buf, const uint8_t *src,
                               size_t len, bool read, struct sim_dma_ctx ctx)
{
    if (len == 0)
        return SIM_DMA_OK;
    enum hba_dma_dir need = read ? HBA_DMA_TO_DEVICE : HBA_DMA_FROM_DEVICE;
    enum hba_iommu_policy policy = sim_iommu_policy(m);
    struct fault_note note = { 0 };

    if (ctx.cid != 0xFFFF && m->access_hook && m->access_hook(m->access_arg, ctx)) {
        /* An injected fault (the fault engine's iommu-fault rule): the access
         * faults as a translation miss at its start, whatever the tables say. */
        note = (struct fault_note){ .hit = true, .addr = iova, .reason = HBA_IOMMU_UNMAPPED };
        if (read && policy == HBA_IOMMU_POLICY_DROP)
            memset(buf, 0xFF, len);
    } else if (range_wraps(iova, len)) {
        /* Nothing translates past the top of the IOVA space: the whole access
         * faults as UNMAPPED at its start (under DROP a read returns all-ones). */
        note = (struct fault_note){ .hit = true, .addr = iova, .reason = HBA_IOMMU_UNMAPPED };
        if (read && policy == HBA_IOMMU_POLICY_DROP)
            memset(buf, 0xFF, len);
    } else {
        if (m->regs)
            access_sync_epoch(m);
        uint32_t g = sim_inflight_begin(&m->inflight);
        for (size_t pos = 0; pos < len;) {
            uint64_t addr = iova + pos;
            size_t chunk = HBA_IOMMU_PAGE_SIZE - (size_t)(addr & PAGE_MASK);
            if (chunk > len - pos)
                chunk = len - pos;
            uint64_t off = 0;
            enum hba_iommu_reason why = translate(m, addr, chunk, need, &off);
            if (why) {
                if (!note.hit)
                    note = (struct fault_note){ .hit = true, .addr = addr, .reason = why };
                if (policy != HBA_IOMMU_POLICY_DROP)
                    break; /* ABORT / FATAL: nothing at or past the fault moves */
                if (read)
                    memset(buf + pos, 0xFF, chunk);
            } else if (read) {
                memcpy(buf + pos, m->ram + off, chunk);
            } else {
                memcpy(m->ram + off, src + pos, chunk);
            }
            pos += chunk;
        }
        sim_inflight_end(&m->inflight, g);
    }
    if (!note.hit)
        return SIM_DMA_OK;
    log_fault(m, &note, len, need, policy, ctx);
    return fault_result(policy);
}

enum sim_dma_result sim_iommu_dma_read(struct sim_iommu *m, uint64_t iova, void *dst, size_t len,
                                       struct sim_dma_ctx ctx)
{
    return dma(m, iova, dst, NULL, len, true, ctx);
}

enum sim_dma_result sim_iommu_dma_write(struct sim_iommu *m, uint64_t iova, const void *src, size_t len,
                                        struct sim_dma_ctx ctx)
{
    return dma(m, iova, NULL, src, len, false, ctx);
}

/* The RAM offset of [iova, iova + len) when it lies in one page whose
 * translation the IOTLB holds, allowing `need`, inside RAM; false otherwise,
 * with nothing counted (the caller then takes the general path, which
 * counts, walks and faults).  Inside an access (sim_inflight_begin). */
static bool cached_run(struct sim_iommu *m, uint64_t iova, size_t len, enum hba_dma_dir need, uint64_t *ram_off)
{
    uint64_t pte, off = iova & PAGE_MASK;
    if (!tlb_lookup(m, iova >> PAGE_SHIFT, &pte) || !((pte >> 1) & need))
        return false;
    off |= pte & HBA_IOMMU_PTE_ADDR;
    if (off >= m->ram_size || len > m->ram_size - off)
        return false;
    count(&m->dma_stats.hits);
    *ram_off = off;
    return true;
}

/* Whether a fast path may be tried: tables present, no access hook to ask
 * (the controller's own accesses, ctx.cid 0xFFFF, never ask it), one page. */
static bool fast_ok(const struct sim_iommu *m, uint64_t iova, size_t len, struct sim_dma_ctx ctx)
{
    return m->regs && !(ctx.cid != 0xFFFF && m->access_hook) && len && (iova & PAGE_MASK) + len <= HBA_IOMMU_PAGE_SIZE;
}

bool sim_iommu_dma_read_cached(struct sim_iommu *m, uint64_t iova, void *dst, size_t len, struct sim_dma_ctx ctx)
{
    if (!fast_ok(m, iova, len, ctx))
        return false;
    access_sync_epoch(m);
    uint32_t g = sim_inflight_begin(&m->inflight);
    uint64_t off;
    bool ok = cached_run(m, iova, len, HBA_DMA_TO_DEVICE, &off);
    if (ok)
        memcpy(dst, m->ram + off, len);
    sim_inflight_end(&m->inflight, g);
    return ok;
}

bool sim_iommu_dma_post_cached(struct sim_iommu *m, uint64_t iova, const void *src, size_t count, size_t size,
                               size_t last, struct sim_dma_ctx ctx)
{
    size_t len = count * size;
    if (last > size || (count && len / count != size) || !fast_ok(m, iova, len, ctx))
        return false;
    access_sync_epoch(m);
    uint32_t g = sim_inflight_begin(&m->inflight);
    uint64_t off;
    bool ok = cached_run(m, iova, len, HBA_DMA_FROM_DEVICE, &off);
    if (ok) {
        const uint8_t *s = src;
        uint8_t *d = m->ram + off;
        for (size_t i = 0; i < count; i++)
            memcpy(d + i * size, s + i * size, size - last);
        /* A reader's acquire load of an entry's last bytes pairs with this fence. */
        atomic_thread_fence(memory_order_release);
        for (size_t i = 0; i < count; i++)
            memcpy(d + i * size + size - last, s + i * size + size - last, last);
    }
    sim_inflight_end(&m->inflight, g);
    return ok;
}

enum sim_dma_result sim_iommu_dma_post(struct sim_iommu *m, uint64_t iova, const void *src, size_t len, size_t last,
                                       struct sim_dma_ctx ctx)
{
    const uint8_t *s = src;
    if (sim_iommu_dma_post_cached(m, iova, s, 1, len, last, ctx))
        return SIM_DMA_OK;
    if (last > len)
        last = len;
    enum sim_dma_result r = dma(m, iova, NULL, s, len - last, false, ctx);
    if (r == SIM_DMA_OK || r == SIM_DMA_DROPPED) {
        atomic_thread_fence(memory_order_release);
        r = dma(m, iova + (len - last), NULL, s + (len - last), last, false, ctx);
    }
    return r;
}

uint8_t *sim_iommu_write_window(struct sim_iommu *m, uint64_t iova, size_t len)
{
    if (len == 0 || range_wraps(iova, len))
        return NULL;
    uint8_t *window = NULL;
    uint64_t first = 0;
    if (m->regs)
        access_sync_epoch(m);
    uint32_t g = sim_inflight_begin(&m->inflight);
    size_t pos = 0;
    while (pos < len) {
        uint64_t addr = iova + pos, off = 0;
        size_t chunk = HBA_IOMMU_PAGE_SIZE - (size_t)(addr & PAGE_MASK);
        if (chunk > len - pos)
            chunk = len - pos;
        if (translate(m, addr, chunk, HBA_DMA_FROM_DEVICE, &off) || (pos && off != first + pos))
            break;
        if (!pos)
            first = off;
        pos += chunk;
    }
    if (pos == len)
        window = m->ram + first;
    sim_inflight_end(&m->inflight, g);
    return window;
}

/* --- fault log --------------------------------------------------------------- */

size_t sim_iommu_fault_log(struct sim_iommu *m, uint32_t first, struct hba_iommu_fault *out, size_t max,
                           struct hba_log_header *hdr)
{
    pthread_mutex_lock(&m->log_lock);
    uint32_t total = m->total;
    uint32_t oldest = total > HBA_FAULT_LOG_DEPTH ? total - HBA_FAULT_LOG_DEPTH : 0;
    if (first < oldest)
        first = oldest;
    if (first > total)
        first = total;
    size_t n = total - first;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = m->ring[(first + (uint32_t)i) % HBA_FAULT_LOG_DEPTH];
    pthread_mutex_unlock(&m->log_lock);
    if (hdr)
        *hdr = (struct hba_log_header){ .total = total, .count = (uint32_t)n, .first = first };
    return n;
}

void sim_iommu_set_fault_hook(struct sim_iommu *m, void (*hook)(void *arg, const struct hba_iommu_fault *f),
                              void *arg)
{
    pthread_mutex_lock(&m->log_lock);
    m->hook = hook;
    m->hook_arg = arg;
    pthread_mutex_unlock(&m->log_lock);
}

void sim_iommu_set_access_hook(struct sim_iommu *m, bool (*hook)(void *arg, struct sim_dma_ctx ctx), void *arg)
{
    m->access_hook = hook;
    m->access_arg = arg;
}
