/* platform/iommu_pt.h — the OS side of the IOMMU: translation tables and the
 * invalidation queue written into host RAM (hw/hba.h, "IOMMU translation
 * tables and invalidation queue in host RAM"), the way an OS's IOMMU driver
 * programs VT-d or an SMMU.  Mapping and unmapping are stores into host RAM
 * (plus, for unmap, a queued invalidation and a wait for it): no message to
 * the controller, in one process or two.
 *
 * The IOMMU area is the top of host RAM: iommu_pt_area_base() and up (1/8 of
 * host RAM, 64 KiB..16 MiB): table pages, the wait-status page, the queue
 * ring, and the register page the datasheet fixes as the last page.  DMA
 * memory must stay below it.  Tables are allocated as mappings need them and
 * freed when they empty (after the invalidation that covers them completed);
 * a leaf table that a deferred unmap empties stays hooked for the next map
 * until iommu_pt_sync prunes it (after 32 such) or a map finds the pool
 * empty, so the tables never outgrow the area and never refuse a map that
 * the pruned ones would fit.
 *
 * Opening takes the IOMMU over: it (re)writes the register page with a new
 * epoch, so whatever another opener programmed on the same host RAM is gone.
 * One opener per host RAM at a time.  Thread-safe; a map whose pages lie in
 * one leaf table that exists and a deferred unmap take no lock (a command's
 * map and unmap at steady state: platform/iommu_pt.c says how), the rest
 * (creating and freeing tables, the waits) takes one.
 */
#ifndef PLATFORM_IOMMU_PT_H
#define PLATFORM_IOMMU_PT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hba.h"

struct iommu_pt;

/* ram_size: a multiple of the page size, at least 1 MiB (SIM_HOST_RAM_MIN).
 * 0, -EINVAL or -ENOMEM. */
int  iommu_pt_open(uint8_t *ram, uint64_t ram_size, struct iommu_pt **out);
/* Disables translation (root off, new epoch: the IOMMU drops its IOTLB). */
void iommu_pt_close(struct iommu_pt *pt);
uint64_t iommu_pt_area_base(const struct iommu_pt *pt);
/* The bytes at the top of a host RAM of ram_size that the IOMMU's area takes
 * (0 when iommu_pt_open would refuse that size). */
uint64_t iommu_pt_area_size(uint64_t ram_size);

/* Maps [iova, iova+len) to host RAM [ram_addr, ram_addr+len): every page the
 * range touches.  The rules of a mapping: -EINVAL (bad direction, zero length,
 * wraps, outside host RAM below the IOMMU area, page offsets differ), -EEXIST (a
 * page is mapped already; nothing changes), -ENOMEM (out of table pages). */
int  iommu_pt_map(struct iommu_pt *pt, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir);
/* Unmaps every page of [iova, iova+len), queues the invalidation and waits
 * for the IOMMU to complete it: on return no DMA can reach the old pages.
 * -ENOENT if some page was not mapped (the rest are unmapped), -EINVAL,
 * -EIO (the IOMMU stopped its queue on an error: iq_error), -ETIMEDOUT (no
 * IOMMU answered for IOMMU_PT_WAIT_MS: the pages are unmapped in the table
 * but may still be cached). */
int  iommu_pt_unmap(struct iommu_pt *pt, uint64_t iova, uint64_t len);
#define IOMMU_PT_WAIT_MS 5000
/* A batch of unmaps with one wait (a driver reaping many completions at
 * once): iommu_pt_unmap_deferred clears the tables and queues the
 * invalidation, rings, and returns without waiting; iommu_pt_sync queues one
 * INV_WAIT behind all of them and waits for it.  Until the sync returns, the
 * DMA may still reach the old pages: their memory must not be reused.  The
 * same errors as iommu_pt_unmap (a deferred unmap may wait now and then, so
 * that a long batch never fills the queue). */
int  iommu_pt_unmap_deferred(struct iommu_pt *pt, uint64_t iova, uint64_t len);
int  iommu_pt_sync(struct iommu_pt *pt);

/* How the queue's tail doorbell is rung: by default a futex wake of the
 * IOMMU's queue thread (any process); fn(arg), when set, processes the
 * queue synchronously (an IOMMU in this process: sim_ctrl_iommu_doorbell). */
void iommu_pt_set_doorbell(struct iommu_pt *pt, void (*fn)(void *arg), void *arg);
/* When gone(arg) says the device is gone (a dead bus), waits end at once. */
void iommu_pt_set_gone(struct iommu_pt *pt, bool (*gone)(void *arg), void *arg);
/* The platform mutant NOINV (make mutants; docs/mutants.md): unmap clears the
 * table but queues no invalidation, so the IOTLB keeps stale translations. */
void iommu_pt_set_skip_invalidate(struct iommu_pt *pt, bool skip);

struct iommu_pt_stats {
    uint64_t mapped_pages;    /* pages mapped now */
    uint64_t table_pages;     /* table pages in use now, root included */
    uint64_t invalidations;   /* INV_PAGES / INV_ALL queued */
    uint64_t waits;           /* INV_WAITs completed */
    uint64_t wakes_skipped;   /* doorbells that found the IOMMU polling (iq_awake) and made no system call */
};
void iommu_pt_stats(struct iommu_pt *pt, struct iommu_pt_stats *out);

#endif
