/* core/osal.h — the operating-system interface the driver core is written
 * against.  It offers what DriverKit offers a SCSI HBA driver, one call for one
 * DriverKit facility, so the core drops into a dext unchanged:
 *
 *   IOPCIDevice::MemoryRead32 / MemoryWrite32      osal_reg_read32 / osal_reg_write32
 *   IOBufferMemoryDescriptor::Create               osal_dma_alloc / osal_dma_free
 *   IODMACommand::PrepareForDMA / CompleteDMA      osal_dma_prepare / osal_dma_complete
 *   IOInterruptDispatchSource                      osal_irq_create / _enable / _disable / _destroy
 *   IOTimerDispatchSource                          osal_timer_create / _arm / _cancel / _destroy
 *   IODispatchQueue (the driver's default queue)   osal_queue_async / osal_queue_sync / osal_on_queue
 *   os_log                                         osal_log
 *
 * Concurrency model (as in DriverKit): every interrupt handler, timer handler and
 * osal_queue_async block runs on ONE serial dispatch queue per osal instance, so
 * the core needs no locks of its own for state touched only from that queue.
 * Threads outside the queue (the layer above submitting tasks) hand work to the
 * queue with osal_queue_async / osal_queue_sync.
 *
 * DMA: osal_dma_alloc returns memory the device can reach (host RAM of the
 * simulator).  Before the device may touch a range, osal_dma_prepare maps it in
 * the IOMMU with a direction and returns the IOVA segments; osal_dma_complete
 * unmaps them.  Where the IOVAs land is the OS's choice (osal_user can place them
 * above 4 GiB to exercise 32-bit controllers); the driver must not assume.
 *
 * Errors are negative errno values.  osal_user.c implements this interface
 * against the simulator (platform/bus.h) with libuv.
 */
#ifndef CORE_OSAL_H
#define CORE_OSAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hba.h"

struct osal;

/* --- registers (BAR0) ----------------------------------------------------- */
uint32_t osal_reg_read32(struct osal *os, uint32_t offset);
void     osal_reg_write32(struct osal *os, uint32_t offset, uint32_t value);

/* --- DMA memory ----------------------------------------------------------- */
struct osal_dma_buffer {
    void    *vaddr;    /* CPU address in this process */
    uint64_t length;
    uint64_t phys;     /* host RAM address (what the IOMMU maps to); opaque to the core */
};
/* Allocates length bytes aligned to `align` (a power of two, >= 8), zeroed. */
int  osal_dma_alloc(struct osal *os, uint64_t length, uint64_t align, struct osal_dma_buffer **out);
void osal_dma_free(struct osal *os, struct osal_dma_buffer *buf);

/* One device-visible piece of a prepared range. */
struct osal_dma_segment {
    uint64_t iova;
    uint64_t length;
};
/* A prepared (mapped) range: the IODMACommand of DriverKit. */
struct osal_dma_mapping {
    struct osal_dma_buffer *buf;
    uint64_t offset, length;
    enum hba_dma_dir dir;
    uint32_t nseg;
    struct osal_dma_segment seg[8]; /* the OS maps a range in at most 8 IOVA pieces */
};
/* Maps [offset, offset+length) of buf for the device with direction dir
 * (HBA_DMA_TO_DEVICE: the device reads it; FROM_DEVICE: the device writes it).
 * max_addr_bits limits the IOVAs handed out (like IODMACommandSpecification's
 * maxAddressBits); 64 = no limit.  -ENOSPC when no IOVA range fits. */
int osal_dma_prepare(struct osal *os, struct osal_dma_buffer *buf, uint64_t offset, uint64_t length,
                     enum hba_dma_dir dir, unsigned max_addr_bits, struct osal_dma_mapping *out);
/* Unmaps what osal_dma_prepare mapped. */
int osal_dma_complete(struct osal *os, struct osal_dma_mapping *m);
/* A batch of unmaps with one wait, for a driver that reaps many completions
 * at once (no DriverKit call: an IOMMU driver's deferred flush).  After
 * osal_dma_defer_begin, osal_dma_complete on the calling thread unmaps and
 * queues the IOMMU's invalidation but returns without waiting for it;
 * osal_dma_defer_end waits once for all of them (0, or why the wait failed:
 * the mappings are gone all the same).  In between, the device may still
 * reach what was completed: the caller must not read, reuse or free those
 * buffers (the OS hands none of their IOVAs out again, and frees a buffer only
 * after waiting).  Other threads' calls stay synchronous; no nesting. */
void osal_dma_defer_begin(struct osal *os);
int  osal_dma_defer_end(struct osal *os);

/* --- interrupts ----------------------------------------------------------- */
struct osal_irq;
typedef void (*osal_irq_handler)(void *arg, unsigned vector);
/* Handler runs on the dispatch queue each time vector fires (disabled at creation). */
int  osal_irq_create(struct osal *os, unsigned vector, osal_irq_handler fn, void *arg, struct osal_irq **out);
void osal_irq_enable(struct osal_irq *irq);
void osal_irq_disable(struct osal_irq *irq);
void osal_irq_destroy(struct osal_irq *irq);

/* --- timers --------------------------------------------------------------- */
struct osal_timer;
typedef void (*osal_timer_handler)(void *arg);
int  osal_timer_create(struct osal *os, osal_timer_handler fn, void *arg, struct osal_timer **out);
/* (Re)arms a one-shot timer to fire after delay_ms on the dispatch queue. */
void osal_timer_arm(struct osal_timer *t, uint64_t delay_ms);
void osal_timer_cancel(struct osal_timer *t);
void osal_timer_destroy(struct osal_timer *t);

/* --- the dispatch queue --------------------------------------------------- */
typedef void (*osal_block)(void *arg);
/* Runs fn(arg) on the queue later.  Never blocks.  -ESHUTDOWN after teardown began. */
int  osal_queue_async(struct osal *os, osal_block fn, void *arg);
/* Runs fn(arg) on the queue and waits for it (runs inline when already on the queue). */
int  osal_queue_sync(struct osal *os, osal_block fn, void *arg);
/* Runs fn(arg) as a block of the queue on the calling thread — serialized with
 * every other block and handler, osal_on_queue true inside — together with the
 * blocks fn queues, and returns when they ran.  When blocks from other threads
 * are waiting it is osal_queue_sync.  For a polled driver that reaps
 * completions (and submits what they start) on the thread that polls, with no
 * hand-off to the queue's thread and back: no system call at steady state.
 * Inside, timers may be armed and cancelled; sources may not be created,
 * enabled, disabled or destroyed (logged and refused).  A DriverKit port,
 * which has no such call, implements it as osal_queue_sync. */
int  osal_queue_run_here(struct osal *os, osal_block fn, void *arg);
bool osal_on_queue(struct osal *os);

/* --- time and logging ----------------------------------------------------- */
uint64_t osal_now_ns(struct osal *os);
enum osal_log_level { OSAL_LOG_ERROR = 0, OSAL_LOG_WARN = 1, OSAL_LOG_INFO = 2, OSAL_LOG_DEBUG = 3 };
void osal_log(struct osal *os, enum osal_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
