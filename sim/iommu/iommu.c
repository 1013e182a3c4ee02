/* sim/iommu/iommu.c — the emulated IOMMU: a page table in controller-private memory,
 * page-by-page translation with direction checks, fault policies and a fault log.
 *
 * The page table is an open-addressing hash table (linear probing, deletion by
 * backward shift, so no tombstones) keyed by IOVA page number; each slot holds
 * the host RAM page number and the mapping's direction.  The table is kept at
 * most half full, so a lookup is a handful of probes whatever the mapping count.
 *
 * Locking: `table_lock` is a reader/writer lock.  DMA holds it for reading across
 * translation AND copy, so once sim_iommu_unmap returns no device access can
 * still be landing in the unmapped pages (what a driver relies on when it reuses
 * a buffer).  The fault log has its own mutex so that faulting DMA on one thread
 * does not serialise with map/unmap on another; the fault hook runs with neither
 * lock held, so it may call back into the IOMMU (e.g. read the log).
 */
#include "sim/iommu/iommu.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 12u
#define PAGE_MASK  ((uint64_t)HBA_IOMMU_PAGE_SIZE - 1)
_Static_assert(HBA_IOMMU_PAGE_SIZE == 1u << PAGE_SHIFT, "page shift matches page size");

#define TABLE_MIN_SLOTS 64u

/* One page translation.  dir == 0 marks an empty slot. */
struct pte {
    uint64_t iova_page;
    uint64_t ram_page : 62;
    uint64_t dir : 2;     /* enum hba_dma_dir */
};

struct sim_iommu {
    uint8_t *ram;
    uint64_t ram_size;
    atomic_int policy;               /* enum hba_iommu_policy */

    pthread_rwlock_t table_lock;
    struct pte *slots;
    uint64_t slot_mask;              /* slot count - 1; the count is a power of two */
    atomic_uint_fast64_t mapped;     /* pages mapped (written under table_lock) */

    pthread_mutex_t log_lock;
    struct hba_iommu_fault ring[HBA_FAULT_LOG_DEPTH];
    uint32_t total;                  /* faults ever logged = next sequence number */
    void (*hook)(void *arg, const struct hba_iommu_fault *f);
    void *hook_arg;
    /* sim_iommu_set_access_hook: set before the controller's threads start */
    bool (*access_hook)(void *arg, struct sim_dma_ctx ctx);
    void *access_arg;
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

static uint64_t pages_spanned(uint64_t start, uint64_t len)
{
    return ((start + len - 1) >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1;
}

/* --- hash table ------------------------------------------------------------ */

static uint64_t home_slot(uint64_t iova_page, uint64_t mask)
{
    /* Fibonacci hashing: consecutive pages (the common case) spread evenly. */
    return (iova_page * 0x9E3779B97F4A7C15ull) >> 32 & mask;
}

/* Slot holding iova_page, or the empty slot where it would go. */
static uint64_t find_slot(const struct pte *slots, uint64_t mask, uint64_t iova_page)
{
    uint64_t i = home_slot(iova_page, mask);
    while (slots[i].dir != 0 && slots[i].iova_page != iova_page)
        i = (i + 1) & mask;
    return i;
}

static const struct pte *lookup(const struct sim_iommu *m, uint64_t iova_page)
{
    const struct pte *p = &m->slots[find_slot(m->slots, m->slot_mask, iova_page)];
    return p->dir ? p : NULL;
}

/* Makes room for `extra` more entries at load <= 1/2.  Nothing changes on failure. */
static int reserve(struct sim_iommu *m, uint64_t extra)
{
    uint64_t want = atomic_load_explicit(&m->mapped, memory_order_relaxed) + extra;
    uint64_t slots = m->slot_mask + 1;
    if (want <= slots / 2)
        return 0;
    while (slots / 2 < want) {
        if (slots > (UINT64_MAX >> 2) / sizeof(struct pte))
            return -ENOMEM;
        slots *= 2;
    }
    struct pte *fresh = calloc(slots, sizeof *fresh);
    if (!fresh)
        return -ENOMEM;
    uint64_t mask = slots - 1;
    for (uint64_t i = 0; i <= m->slot_mask; i++)
        if (m->slots[i].dir)
            fresh[find_slot(fresh, mask, m->slots[i].iova_page)] = m->slots[i];
    free(m->slots);
    m->slots = fresh;
    m->slot_mask = mask;
    return 0;
}

/* Empties slot i, shifting later members of its probe run back so that every
 * entry stays reachable from its home slot without tombstones. */
static void remove_slot(struct sim_iommu *m, uint64_t i)
{
    uint64_t mask = m->slot_mask;
    uint64_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].dir)
            break;
        uint64_t k = home_slot(m->slots[j].iova_page, mask);
        /* The entry at j may stay if its home k lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        m->slots[i] = m->slots[j];
        i = j;
    }
    memset(&m->slots[i], 0, sizeof m->slots[i]);
    atomic_fetch_sub_explicit(&m->mapped, 1, memory_order_relaxed);
}

static bool remove_page(struct sim_iommu *m, uint64_t iova_page)
{
    uint64_t i = find_slot(m->slots, m->slot_mask, iova_page);
    if (!m->slots[i].dir)
        return false;
    remove_slot(m, i);
    return true;
}

/* Removes every entry with first <= iova_page <= last by scanning the table:
 * cheaper than probing page by page when the range is larger than the table. */
static uint64_t remove_range_by_scan(struct sim_iommu *m, uint64_t first, uint64_t last)
{
    uint64_t removed = 0;
    for (uint64_t i = 0; i <= m->slot_mask;) {
        const struct pte *p = &m->slots[i];
        if (p->dir && p->iova_page >= first && p->iova_page <= last) {
            /* A later entry may shift into slot i: look at it again.  Entries
             * shifted into slots already passed (a probe run that wrapped to the
             * start) were examined there already and are out of range. */
            remove_slot(m, i);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

/* --- life cycle -------------------------------------------------------------- */

int sim_iommu_create(uint8_t *ram, uint64_t ram_size, enum hba_iommu_policy policy, struct sim_iommu **out)
{
    *out = NULL;
    if ((!ram && ram_size) || !policy_valid((int)policy))
        return -EINVAL;
    struct sim_iommu *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->slots = calloc(TABLE_MIN_SLOTS, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return -ENOMEM;
    }
    m->slot_mask = TABLE_MIN_SLOTS - 1;
    m->ram = ram;
    m->ram_size = ram_size;
    atomic_init(&m->policy, (int)policy);
    atomic_init(&m->mapped, 0);
    int rc = pthread_rwlock_init(&m->table_lock, NULL);
    if (rc) {
        free(m->slots);
        free(m);
        return -rc;
    }
    rc = pthread_mutex_init(&m->log_lock, NULL);
    if (rc) {
        pthread_rwlock_destroy(&m->table_lock);
        free(m->slots);
        free(m);
        return -rc;
    }
    *out = m;
    return 0;
}

void sim_iommu_destroy(struct sim_iommu *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->log_lock);
    pthread_rwlock_destroy(&m->table_lock);
    free(m->slots);
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

/* --- map / unmap ------------------------------------------------------------- */

int sim_iommu_map(struct sim_iommu *m, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir)
{
    if (dir < HBA_DMA_TO_DEVICE || dir > HBA_DMA_BIDIRECTIONAL || len == 0)
        return -EINVAL;
    if (range_wraps(iova, len) || range_wraps(ram_addr, len))
        return -EINVAL;
    if (ram_addr >= m->ram_size || len > m->ram_size - ram_addr)
        return -EINVAL;
    if ((iova & PAGE_MASK) != (ram_addr & PAGE_MASK))
        return -EINVAL;

    uint64_t first = iova >> PAGE_SHIFT;
    uint64_t npages = pages_spanned(iova, len);
    uint64_t ram_first = ram_addr >> PAGE_SHIFT;

    pthread_rwlock_wrlock(&m->table_lock);
    int rc = 0;
    /* Check everything before changing anything: a failed map leaves no trace. */
    for (uint64_t i = 0; i < npages; i++) {
        if (lookup(m, first + i)) {
            rc = -EEXIST;
            goto out;
        }
    }
    rc = reserve(m, npages);
    if (rc)
        goto out;
    for (uint64_t i = 0; i < npages; i++) {
        struct pte *p = &m->slots[find_slot(m->slots, m->slot_mask, first + i)];
        p->iova_page = first + i;
        p->ram_page = ram_first + i;
        p->dir = (unsigned)dir;
    }
    atomic_fetch_add_explicit(&m->mapped, npages, memory_order_relaxed);
out:
    pthread_rwlock_unlock(&m->table_lock);
    return rc;
}

int sim_iommu_unmap(struct sim_iommu *m, uint64_t iova, uint64_t len)
{
    if (len == 0 || range_wraps(iova, len))
        return -EINVAL;
    uint64_t first = iova >> PAGE_SHIFT;
    uint64_t npages = pages_spanned(iova, len);

    pthread_rwlock_wrlock(&m->table_lock);
    uint64_t removed = 0;
    if (npages > m->slot_mask + 1) {
        removed = remove_range_by_scan(m, first, first + npages - 1);
    } else {
        for (uint64_t i = 0; i < npages; i++)
            removed += remove_page(m, first + i);
    }
    pthread_rwlock_unlock(&m->table_lock);
    return removed == npages ? 0 : -ENOENT;
}

uint64_t sim_iommu_mapped_pages(const struct sim_iommu *m)
{
    return atomic_load_explicit((atomic_uint_fast64_t *)&m->mapped, memory_order_relaxed);
}

void sim_iommu_unmap_all(struct sim_iommu *m)
{
    pthread_rwlock_wrlock(&m->table_lock);
    memset(m->slots, 0, (m->slot_mask + 1) * sizeof *m->slots);
    atomic_store_explicit(&m->mapped, 0, memory_order_relaxed);
    pthread_rwlock_unlock(&m->table_lock);
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
static enum hba_iommu_reason translate(const struct sim_iommu *m, uint64_t addr, uint64_t chunk,
                                       enum hba_dma_dir need, uint64_t *ram_off)
{
    const struct pte *p = lookup(m, addr >> PAGE_SHIFT);
    if (!p)
        return HBA_IOMMU_UNMAPPED;
    if (!(p->dir & need))
        return need == HBA_DMA_FROM_DEVICE ? HBA_IOMMU_READ_ONLY : HBA_IOMMU_WRITE_ONLY;
    /* map() keeps mapped bytes inside RAM, but a page is mapped whole: the tail
     * of the last RAM page can lie past the end of a RAM size that is not a
     * multiple of the page size. */
    uint64_t off = ((uint64_t)p->ram_page << PAGE_SHIFT) | (addr & PAGE_MASK);
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
        pthread_rwlock_rdlock(&m->table_lock);
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
        pthread_rwlock_unlock(&m->table_lock);
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
