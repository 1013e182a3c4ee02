/* sim/iommu/iommu.h — the emulated IOMMU between the controller and host RAM.
 *
 * Host RAM is a byte range [0, ram_size) (the shared memfd pool).  The OS side
 * writes translation tables into host RAM and queues invalidations there
 * (hw/hba.h, "IOMMU translation tables and invalidation queue in host RAM";
 * platform/iommu_pt.h writes them); this is the IOMMU's side: the controller
 * moves data only through sim_iommu_dma_read / sim_iommu_dma_write (and
 * sim_iommu_dma_post, two writes in one), which translate every page (IOTLB,
 * then a table walk on a miss) and enforce the direction.  The queue paths'
 * sim_iommu_dma_read_cached / sim_iommu_dma_post_cached and
 * sim_iommu_write_window use the same IOTLB and checks but never walk or
 * fault: where they decline, the caller takes the paths above.  A thread of the IOMMU's own processes the invalidation queue
 * (woken by the queue's futex doorbell), so invalidations complete whatever the
 * controller's firmware is doing (hung, delayed, powered off).  A fault is
 * logged (IOVA, length, direction, reason, command id) and handled by the
 * policy in force: ABORT returns SIM_DMA_ABORTED and copies nothing further;
 * DROP discards writes and returns all-ones for reads (field bug F2) and
 * reports SIM_DMA_DROPPED; FATAL returns SIM_DMA_FATAL.
 * Thread-safe: one lock covers an access's translation and copy and the
 * processing of invalidations, so once an INV_WAIT completes no DMA through a
 * dropped translation is still in flight.
 *
 * Translation is page granular (HBA_IOMMU_PAGE_SIZE): a mapping covers every
 * page its byte range touches, so an access anywhere in a mapped page passes.
 * An access may span pages and mappings; each page is checked on its own:
 *   no translation (P clear, or root not enabled)  -> HBA_IOMMU_UNMAPPED
 *   a malformed table entry on the walk          -> HBA_IOMMU_BAD_ENTRY
 *   device write, mapping TO_DEVICE only         -> HBA_IOMMU_READ_ONLY
 *   device read, mapping FROM_DEVICE only        -> HBA_IOMMU_WRITE_ONLY
 *   translated bytes past the end of host RAM    -> HBA_IOMMU_BEYOND_RAM
 *     (only the tail of a last RAM page when ram_size is not page aligned)
 *   iova + len wraps past 2^64                   -> HBA_IOMMU_UNMAPPED at iova,
 *     and the whole access counts as faulting
 * Per policy: ABORT and FATAL stop at the first faulting page — bytes before it
 * were moved, nothing at or after it is; DROP finishes the access, discarding
 * the writes to faulting pages and reading 0xFF from them.
 *
 * One fault log entry per faulting access (not per page): iova = the exact
 * address of the first faulting byte (the start of the access, or of the first
 * faulting page within it), length = the length of the whole access (saturated
 * to 32 bits), dir = TO_DEVICE for dma_read / FROM_DEVICE for dma_write, reason
 * of that first fault, cid / sq_id from the caller's context, the policy in
 * force, seq = 0, 1, 2, ...  The newest HBA_FAULT_LOG_DEPTH entries are kept.
 * A zero-length access moves nothing and never faults.
 */
#ifndef SIM_IOMMU_IOMMU_H
#define SIM_IOMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hba.h"

struct sim_iommu;

enum sim_dma_result {
    SIM_DMA_OK      = 0,
    SIM_DMA_ABORTED = 1, /* fault, policy ABORT */
    SIM_DMA_DROPPED = 2, /* fault, policy DROP: the access was silently absorbed */
    SIM_DMA_FATAL   = 3, /* fault, policy FATAL */
};

/* Who asked for the access, for the fault log. */
struct sim_dma_ctx {
    uint16_t cid;   /* 0xFFFF: not a command (queue access) */
    uint16_t sq_id;
};

int  sim_iommu_create(uint8_t *ram, uint64_t ram_size, enum hba_iommu_policy policy, struct sim_iommu **out);
void sim_iommu_destroy(struct sim_iommu *m);
void sim_iommu_set_policy(struct sim_iommu *m, enum hba_iommu_policy policy);
enum hba_iommu_policy sim_iommu_policy(const struct sim_iommu *m);

/* The invalidation queue's doorbell handled at once, on the caller's thread:
 * what a device model does with an MMIO write in one process (the platform's
 * stack calls it instead of waking the IOMMU's thread, saving a hand-over).
 * Two processes use the futex doorbell; both end in the same processing. */
void sim_iommu_doorbell(struct sim_iommu *m);

/* The controller's command engine, busy between commands anyway, runs the
 * invalidation queue there when the OS rings no synchronous doorbell (two
 * processes): the OS's INV_WAIT is then answered within a command's time,
 * with no wake-up of the queue's thread.  sim_iommu_engine_awake(true) counts
 * the engine in iq_awake while it runs, so the OS skips its futex wake;
 * (false) before it parks, and runs what came meanwhile.  Both on the
 * engine's thread only. */
void sim_iommu_service(struct sim_iommu *m);
void sim_iommu_engine_awake(struct sim_iommu *m, bool awake);

/* What the IOMMU did so far (for tests and benchmarks). */
struct sim_iommu_stats {
    uint64_t hits, misses;       /* IOTLB lookups of translated pages */
    uint64_t walks_faulted;      /* misses whose walk ended in a fault */
    uint64_t inv_descs;          /* invalidation descriptors processed */
    uint64_t inv_waits;          /* of which INV_WAIT */
    uint64_t wakes_skipped;      /* INV_WAITs whose futex wake was skipped: no OS thread counted itself asleep */
    uint64_t engine_runs;        /* queue runs by the command engine (sim_iommu_service) */
};
void sim_iommu_stats(struct sim_iommu *m, struct sim_iommu_stats *out);

/* Device reads host memory (direction TO_DEVICE must be allowed). */
enum sim_dma_result sim_iommu_dma_read(struct sim_iommu *m, uint64_t iova, void *dst, size_t len,
                                       struct sim_dma_ctx ctx);
/* Device writes host memory (direction FROM_DEVICE must be allowed). */
enum sim_dma_result sim_iommu_dma_write(struct sim_iommu *m, uint64_t iova, const void *src, size_t len,
                                        struct sim_dma_ctx ctx);
/* Device reads len bytes at iova if the IOTLB alone can answer: one page
 * with a cached translation that allows the read, inside RAM.  True with the
 * bytes in dst (hits + 1); false having read and counted nothing and logged
 * no fault: the caller then reads with sim_iommu_dma_read, which walks and
 * faults.  A command's access (ctx.cid != 0xFFFF) with an access hook set
 * always answers false (the hook is asked on the general path). */
bool sim_iommu_dma_read_cached(struct sim_iommu *m, uint64_t iova, void *dst, size_t len, struct sim_dma_ctx ctx);
/* Device writes `count` entries of `size` bytes the host polls, back to back
 * at iova: every entry's first size - last bytes, one release fence, then
 * every entry's last `last` bytes (the ones the host's acquire load looks
 * at), so no entry's last bytes land before its first.  Only when the IOTLB
 * alone can answer, as for sim_iommu_dma_read_cached (one page, a cached
 * translation that allows the write, inside RAM): true with all written
 * (hits + 1); false having written and counted nothing, and logged no fault:
 * the caller then writes them one by one with sim_iommu_dma_post. */
bool sim_iommu_dma_post_cached(struct sim_iommu *m, uint64_t iova, const void *src, size_t count, size_t size,
                               size_t last, struct sim_dma_ctx ctx);
/* Device writes an entry the host polls (a completion): the first len - last
 * bytes, a release fence, then the last `last` bytes, the ones the host's
 * acquire load looks at.  The same as two sim_iommu_dma_write calls with the
 * fence between (their faults, logs and result: the second's, unless the
 * first aborted), in one access when the entry lies in one page the IOTLB
 * translates writable: one count in flight, one lookup (hits + 1). */
enum sim_dma_result sim_iommu_dma_post(struct sim_iommu *m, uint64_t iova, const void *src, size_t len, size_t last,
                                       struct sim_dma_ctx ctx);
/* A window straight into host RAM for a device write of len bytes at iova:
 * the pointer to the RAM the whole range translates to, when it translates,
 * with write permission, to one contiguous run of RAM; NULL otherwise (the
 * caller then moves the data with sim_iommu_dma_write, which faults where
 * this declined).  It logs no fault and does not ask the access hook, so a
 * caller takes it only when no injected DMA fault can apply.  The
 * translation is the IOTLB's, as for sim_iommu_dma_write: a stale entry
 * gives a stale window, as it gives a stale copy. */
uint8_t *sim_iommu_write_window(struct sim_iommu *m, uint64_t iova, size_t len);

/* Fault log: copies up to max entries starting at sequence number `first`
 * (clamped to the oldest kept); fills *hdr.  Returns the number copied. */
size_t sim_iommu_fault_log(struct sim_iommu *m, uint32_t first, struct hba_iommu_fault *out, size_t max,
                           struct hba_log_header *hdr);
/* Called (outside the IOMMU's lock) after each fault is logged. */
void sim_iommu_set_fault_hook(struct sim_iommu *m, void (*hook)(void *arg, const struct hba_iommu_fault *f),
                              void *arg);

/* Asked before each DMA access made for a command (ctx.cid != 0xFFFF): true
 * makes that access fault as HBA_IOMMU_UNMAPPED, logged and handled by the
 * policy like any other.  The fault engine's iommu-fault rule lives behind it.
 * Set once, before the controller's threads start. */
void sim_iommu_set_access_hook(struct sim_iommu *m, bool (*hook)(void *arg, struct sim_dma_ctx ctx), void *arg);

#endif
