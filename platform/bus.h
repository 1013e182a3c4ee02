/* platform/bus.h — the DRIVER-side view of the controller: what a PCI bus gives a
 * driver on real hardware.  Used by the tests and by the driver's OS layer.
 *
 * A bus attaches to a controller's shared memory from its struct sim_attach
 * (device memory and host RAM, two memfds, are mapped in the calling process;
 * the eventfds are duplicated), so it works the same in the controller's
 * process and in another one that received the fds.  Register accesses get
 * their hardware semantics:
 *
 *   bus_read32        acquire load (INT_MASK_CLEAR reads the mask)
 *   INT_STATUS        write-1-to-clear (atomic and-not)
 *   INT_MASK_SET      atomic or into the mask
 *   INT_MASK_CLEAR    atomic and-not on the mask, then signal every unmasked
 *                     vector whose INT_STATUS bit is pending, and wake the firmware
 *   SQ_TAIL(q)        release store, then the event-index test of hw/hba.h:
 *                     ring the bell only if the new tail passed SQ_EVENT_IDX
 *   CQ_HEAD(q)        release store (the firmware reads it when it needs room)
 *   CONFIG, AQ_*      stored (so they read back at once) and posted
 *   RESET_KEY, DIAG   posted only (RESET_KEY reads 0; DIAG bits are the firmware's)
 *   anything else     ignored (read-only or reserved)
 *
 * Posted writes go into the FIFO of the PRIV page in order, then the bell
 * rings.  While the controller is powered off every write is dropped.
 *
 * IOMMU programming is stores into host RAM, in one process and in two: the
 * bus writes the IOMMU's translation tables and invalidation queue at the top
 * of host RAM (platform/iommu_pt.h, hw/hba.h) and DMA memory stays below
 * bus_dma_ram_top.  bus_ops, when given, replaces that (a test's recorder,
 * which may pass calls on to bus_ops_table).
 *
 * Surprise removal.  A bus whose controller went away (the controller
 * process died: see platform/bus_client.h) is dead, like a PCI device pulled out
 * of its slot: every read returns 0xFFFFFFFF, every write is dropped,
 * bus_wait_vector returns -ENODEV, and the heartbeat the driver watches
 * stops.  Host RAM stays mapped and intact: it belongs to the host.  A
 * controller that corrupts the page it shares with the driver (the posted-
 * write FIFO, sim/posted.h) is treated the same way: the write that finds it
 * returns at once, the bus goes dead and the dead handler runs.
 */
#ifndef PLATFORM_BUS_H
#define PLATFORM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hba.h"
#include "sim/sim.h"

struct bus;

struct bus_ops {
    int (*iommu_map)(void *arg, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir);
    int (*iommu_unmap)(void *arg, uint64_t iova, uint64_t len);
    void *arg;
};

/* The bus's own IOMMU programming (the table in host RAM), for an
 * interposer that passes calls on. */
struct bus_ops bus_ops_table(struct bus *b);

/* Attaches to the device memory, host RAM and eventfds described by a (both
 * memfds are mapped; fds are duplicated, the caller keeps its own).  ops may
 * be NULL (no IOMMU access).  0, -EINVAL (a memfd smaller than its size, bad
 * nvec) or -errno.  Attaching takes the IOMMU of that host RAM over (its
 * register page gets a new epoch: one bus programs it at a time). */
int  bus_attach(const struct sim_attach *a, const struct bus_ops *ops, struct bus **out);
/* Unmaps and closes everything (for a remote bus also the connection). */
void bus_detach(struct bus *b);

/* Whether the controller is gone (see "Surprise removal" above). */
bool bus_is_dead(const struct bus *b);
/* fn(arg, b) runs once when the bus is found dead, on the thread that found
 * it (the remote client's monitor thread, or one whose request met the hang-
 * up).  It may note the fact (a flag, an eventfd, uv_async_send) but must not
 * call bus_detach, bus_remote_reconnect or a remote request.  NULL clears. */
typedef void (*bus_dead_fn)(void *arg, struct bus *b);
void bus_set_dead_handler(struct bus *b, bus_dead_fn fn, void *arg);

uint32_t bus_read32(struct bus *b, uint32_t off);
void     bus_write32(struct bus *b, uint32_t off, uint32_t val);

/* Waits for vector v to be signalled: 1 (the signal is consumed), 0 on
 * timeout (timeout_ms < 0 waits forever, 0 just polls), -ENODEV when the bus
 * is (or becomes) dead, or -errno. */
int bus_wait_vector(struct bus *b, unsigned v, int timeout_ms);
/* The vector's eventfd, for an event loop (read it to consume signals).  A
 * remote reconnect keeps the number but puts a new eventfd behind it: event
 * loops (epoll watches the file, not the number) must register it again. */
int bus_vector_fd(const struct bus *b, unsigned v);

/* Host RAM as mapped in this process. */
uint8_t *bus_ram(const struct bus *b);
uint64_t bus_ram_size(const struct bus *b);

/* An IOMMU in this process: ring(arg) handles the invalidation queue's
 * doorbell at once (sim_ctrl_iommu_doorbell) instead of the futex wake that
 * works across processes.  NULL restores the futex. */
void bus_set_iommu_doorbell(struct bus *b, void (*fn)(void *arg), void *arg);

/* Host RAM at and above this is the IOMMU's (tables, queue, registers). */
uint64_t bus_dma_ram_top(const struct bus *b);

/* iommu_pt_map / iommu_pt_unmap on this bus's IOMMU (or bus_ops). */
int bus_iommu_map(struct bus *b, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir);
int bus_iommu_unmap(struct bus *b, uint64_t iova, uint64_t len);
/* iommu_pt_unmap_deferred / iommu_pt_sync (platform/iommu_pt.h): a batch of
 * unmaps with one wait.  Through an interposer (bus_ops) an unmap is
 * synchronous and the sync does nothing. */
int bus_iommu_unmap_deferred(struct bus *b, uint64_t iova, uint64_t len);
int bus_iommu_sync(struct bus *b);
struct iommu_pt_stats;
void bus_iommu_stats(const struct bus *b, struct iommu_pt_stats *out);

struct bus_stats {
    uint64_t bell_rings;     /* bell writes (posted writes and doorbells that needed one) */
    uint64_t doorbells;      /* SQ_TAIL writes */
    uint64_t admin_doorbells; /* of which to the admin queue's (SQ 0) */
    uint64_t posted;         /* writes queued in the posted FIFO */
    uint64_t peer_broken;    /* times the shared page was found corrupt (the bus then went dead) */
    uint64_t dropped;        /* writes lost: controller off or FIFO full */
};
void bus_get_stats(const struct bus *b, struct bus_stats *s);

#endif
