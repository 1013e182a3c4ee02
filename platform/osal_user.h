/* platform/osal_user.h — core/osal.h implemented in user space against the
 * simulator's bus (platform/bus.h), with libuv.  This is the one part of the driver
 * that knows the simulator exists: the core sees only core/osal.h.
 *
 * What each osal facility becomes here:
 *   registers      bus_read32 / bus_write32 on the bus's BAR0 window
 *   DMA memory     a first-fit allocator over the bus's host RAM; phys is the
 *                  RAM offset, vaddr this process's mapping of it
 *   DMA mapping    an IOVA allocator (page granular, next-fit so a stale IOVA
 *                  faults instead of hitting a fresh mapping; a high and a
 *                  low window, see iova_base) programming the controller's
 *                  IOMMU through bus_iommu_map / bus_iommu_unmap
 *   dispatch queue one libuv loop on its own thread per osal instance
 *   interrupts     uv_poll on the vector's eventfd (the signal is consumed,
 *                  then the handler runs on the queue)
 *   timers         uv_timer on the queue's loop
 *   logging        one line per message to stderr (or a sink), prefixed
 *                  with the instance name, filtered by a level threshold
 *
 * The IOMMU belongs to the host platform, not to the device: mappings survive
 * a controller restart.  osal_user_set_bus therefore replays every live
 * mapping into the new bus, moves every live DMA buffer's vaddr to the new RAM
 * mapping and re-binds every interrupt source to the new vector eventfds.
 *
 * Threading: every osal call may be made from any thread, except that
 * osal_user_destroy and osal_user_set_bus must not be called on the queue
 * (they wait for it).  Blocks, handlers and timers run one at a time on the
 * queue thread.  osal_irq_enable/disable and osal_timer_arm/cancel/destroy
 * wait until the queue has applied them, so once osal_timer_cancel returns
 * the handler will not run (and is not running).
 */
#ifndef PLATFORM_OSAL_USER_H
#define PLATFORM_OSAL_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/osal.h"

struct bus;

/* Receives each formatted log line (no trailing newline) instead of stderr. */
typedef void (*osal_log_sink)(void *arg, enum osal_log_level level, const char *line);

struct osal_user_options {
    const char *name;              /* log prefix; default "osal" (copied) */
    enum osal_log_level log_level; /* messages above this are dropped; default WARN */
    osal_log_sink log_sink;        /* NULL: stderr */
    void *log_arg;
    /* IOVA space handed out by osal_dma_prepare.  Two windows:
     *   high  [iova_base, iova_limit): where every mapping goes that may use
     *         it, i.e. whose address limit (2^max_addr_bits) lies above
     *         iova_base;
     *   low   [0x1000, iova_base), capped by iova_limit: only for mappings
     *         whose address limit is at or below iova_base (a 32-bit device
     *         when iova_base is 4 GiB or more), and only when low_window is
     *         on.  With the default iova_base it is empty.
     * So iova_base = 0x100000000 puts every mapping of a 64-bit device above
     * 4 GiB while a driver that honours 32 address bits (its queues, its
     * bounce buffers) still gets IOVAs below: the platform of field bug F7.
     * iova_base default 0x1000 (never hand out IOVA 0); iova_limit 0 = up to
     * 2^64 - 4 KiB.  Both are rounded to pages (base up, limit down).
     * low_window off: a mapping the high window cannot take fails with
     * -ENOSPC (a platform with no IOVA space below iova_base). */
    uint64_t iova_base;
    uint64_t iova_limit;
    bool low_window;               /* default on (osal_user_options_init) */
    /* Map each 4 KiB page of a prepared range as its own IOVA piece, with an
     * unmapped guard page between pieces and after the last one, so mappings
     * come back in several segments (at most 8: the tail beyond the seventh
     * page is one piece) and no two mappings touch in IOVA space (a driver
     * cannot merge separate buffers into one segment, and a device running
     * past a mapping's end faults).  For testing SGL construction.  osal.h
     * has no way to ask for one contiguous range, so a driver must cope (the
     * core keeps each queue within a page then); osal_user_set_scatter turns
     * this on after bring-up instead, to scatter data mappings only. */
    bool scatter;
};

/* Fills o with the defaults above. */
void osal_user_options_init(struct osal_user_options *o);

/* Creates an osal on bus (not owned; it must outlive the osal or be swapped
 * out with osal_user_set_bus first).  o NULL = defaults.  Starts the queue
 * thread.  0 or -errno. */
int  osal_user_create(struct bus *bus, const struct osal_user_options *o, struct osal **out);
/* Stops the queue (blocks already queued still run), closes every handle the
 * core forgot to destroy (logged as a driver bug), unmaps every live mapping,
 * joins the thread.  Live DMA buffers are freed too (logged).  Not on the queue. */
void osal_user_destroy(struct osal *os);
/* Switches to bus (after the controller process restarted): replays live IOMMU
 * mappings, moves buffer vaddrs, re-binds interrupt sources.  -ERANGE (nothing
 * changed) when a live buffer lies beyond the new bus's RAM.  If a replayed
 * mapping fails, the first error is returned, the swap still happens and the
 * failure is logged.  The bus the osal already uses (a remote bus that
 * bus_remote_reconnect re-attached in place, mappings replayed by the bus
 * itself) only has its interrupt sources re-bound.  Not on the queue. */
int  osal_user_set_bus(struct osal *os, struct bus *bus);
struct bus *osal_user_bus(struct osal *os);
/* Registers buf (from osal_dma_alloc): maps all of it once, for direction
 * dir, and keeps that "standing" mapping until osal_dma_free.  From then on
 * osal_dma_prepare of any range of buf for dir (unless scatter is on or the
 * standing IOVAs lie beyond the caller's max_addr_bits) hands out the standing
 * IOVAs and touches no IOMMU table, and its osal_dma_complete ends it without
 * an unmap or an invalidation: the way a fast driver avoids a strict IOMMU's
 * cost per command (io_uring's fixed buffers, RDMA's registered memory).
 * The price: between commands the device can still reach the buffer, so the
 * IOMMU no longer catches a device that writes it late; traces therefore keep
 * mapping per command, and only `scsisim bench` registers its buffers.
 * Prepares of another direction take the normal path.  One thread at a time
 * prepares and completes a registered buffer (a driver's serial dispatch
 * queue does): its counts are kept without atomic adds.  No driver-core call:
 * the layer that owns the buffer registers it.  0; -EINVAL (bad arguments,
 * or dir not TO_DEVICE / FROM_DEVICE / BIDIRECTIONAL); -EBUSY (already
 * registered, or mapped right now); -ENOSPC (no IOVA space); -ENOMEM; or the
 * map's error. */
int  osal_user_dma_register(struct osal *os, struct osal_dma_buffer *buf, enum hba_dma_dir dir);

/* Turns the scatter option on or off for the mappings prepared from now on. */
void osal_user_set_scatter(struct osal *os, bool on);
/* A test knob (a trace's `@host reverse-directions=on`): the mappings
 * prepared from now on get the opposite direction, TO_DEVICE for
 * FROM_DEVICE and back (bidirectional ones stay), as a driver that maps
 * for the wrong direction would (field bug F2) — so the controller's IOMMU
 * direction check can be seen with any driver core. */
void osal_user_set_reverse_directions(struct osal *os, bool on);

/* The host stops running the driver core for ns nanoseconds, as an
 * overloaded machine or a descheduled VM would (a trace's `pause host`):
 * a block that sleeps runs on the dispatch queue, so no other block, no
 * interrupt handler and no timer of this osal runs until it ends; what came
 * due meanwhile runs after it (timers first, libuv's order).  The device
 * keeps running: it is other hardware.  Returns when the pause is over: 0,
 * -EINVAL (os NULL), -ESHUTDOWN (teardown began).  On the queue it sleeps
 * inline, with the same effect. */
int  osal_user_pause(struct osal *os, uint64_t ns);

/* Diagnostics for tests and leak checks. */
struct osal_user_stats {
    uint64_t dma_bytes_live;   /* bytes of allocated DMA buffers (after rounding) */
    uint32_t dma_buffers_live;
    uint32_t mappings_live;    /* prepared and not yet completed */
    uint64_t iova_pages_live;  /* IOVA pages live mappings reserve (both windows), guard pages included;
                                * not the free pairs of the DMA cache (osal_user_dma.c) */
    uint64_t iova_low_pages_live; /* of which in the low window */
    uint64_t mappings_total;   /* successful osal_dma_prepare calls */
    uint64_t segments_total;   /* segments they returned */
    uint32_t map_records;      /* mapping records pooled, live and free (never shrinks before destroy) */
    uint64_t map_pool_grows;   /* times the pool grew by a slab: flat at steady state, where
                                  prepare and complete allocate nothing */
    uint64_t deferred_unmaps;  /* completes inside osal_dma_defer_begin/end (their wait deferred) */
    uint64_t defer_waits;      /* waits that covered them: one per batch, or a buffer freed early */
    uint32_t unmaps_unwaited;  /* deferred completes whose wait has not come yet */
    uint32_t irqs_live, timers_live;
    uint64_t irqs_delivered;   /* handler invocations */
    uint64_t queue_wakeups;    /* eventfd wake-ups of the queue's thread for queued blocks (a block
                                  queued from the queue's own callbacks needs none) */
};
void osal_user_get_stats(struct osal *os, struct osal_user_stats *s);
/* True while t is armed and has not fired. */
bool osal_user_timer_armed(struct osal_timer *t);

#endif
