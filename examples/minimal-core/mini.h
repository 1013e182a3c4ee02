/* mini.h — the state of the minimal driver core (see README.md).
 *
 * Written only against the installed scsisim headers: hw/hba.h (the
 * controller), core/osal.h (the OS), core/core.h and core/discovery.h (the
 * shapes the harness hands us), scsi/cdb.h (READ/WRITE decoding to split).
 *
 * Concurrency: everything below is touched only on the osal dispatch queue
 * (interrupt and timer handlers run there; entry points called from other
 * threads hop onto it with osal_queue_sync / osal_queue_async), so there are
 * no locks — the DriverKit model. */
#ifndef MINI_H
#define MINI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "core/discovery.h"
#include "core/osal.h"
#include "hw/hba.h"
#include "scsi/cdb.h"

#define MINI_IOQ      1u    /* the one I/O queue pair's id */
#define MINI_IOQ_VEC  1u    /* its interrupt vector (vector 0 is the admin CQ's), when there are two */
#define MINI_ADMIN_Q  16u   /* admin queue entries */
#define MINI_SENSE    256u  /* sense bytes per slot (HBA_SENSE_MAX rounded up) */
#define MINI_AEV      2u    /* ASYNC EVENT commands kept outstanding (datasheet 15) */
#define MINI_AEV_CID  0x8000u /* their command ids, 0x8000 + n: apart from mini_admin's (< 0x8000) */
#define MINI_LOG      4096u /* the fault log page read on an IOMMU_FAULT: header + 127 entries */

/* A piece of DMA memory the core owns, mapped for the device once. */
struct mini_dma {
    struct osal_dma_buffer *buf;
    struct osal_dma_mapping map;
    bool mapped;
};

/* One task, from process_task until its done callback. */
struct mini_io {
    struct drv_core *core;
    struct drv_task t;            /* t.pieces points at pieces[] below */
    struct drv_buffer_piece *pieces;
    drv_task_done done;
    void *arg;
    struct cdb_rw rw;             /* split: the READ/WRITE and its plan */
    struct cdb_split plan;
    bool split;
    uint32_t chunk;               /* chunk being sent */
    uint64_t off, len;            /* its bytes within the task's data */
    uint64_t bytes;               /* transferred by earlier chunks */
    unsigned reissues;
    uint8_t end_status;           /* != 0: a TMF ended it (HBA_CS_ABORTED / _RESET) */
    uint64_t deadline_ns;         /* the task's own timeout, from its first send: retries end there */
    struct mini_io *next;         /* on the wait list or the retry list */
};

/* One command id on the I/O SQ (cid = slot index). */
struct mini_slot {
    struct mini_io *io;           /* NULL when free or orphaned */
    bool busy;                    /* the controller holds this cid */
    uint16_t target, lun;         /* of the command, for a LUN reset */
    uint64_t deadline_ns;
    unsigned stage;               /* recovery: 0 none, 1 aborted, 2 LUN reset */
    struct osal_dma_mapping *maps;/* the chunk's data mappings */
    uint32_t nmaps;
    struct mini_dma bounce;       /* when the data could not be described as is */
};

/* A queue pair: SQ and CQ rings in DMA memory. */
struct mini_queue {
    uint16_t id, entries;
    struct mini_dma sq, cq;
    uint16_t sq_tail, sq_head, cq_head;
    uint8_t phase;
};

struct drv_core {
    struct osal *os;
    struct drv_core_options opt;
    /* from the capability registers */
    uint32_t max_entries, max_sges, max_depth, addr_bits, max_xfer, targets, luns;
    unsigned ioq_vec; /* MINI_IOQ_VEC, or 0 on a controller of one vector (CAP_QUEUES.VECTORS) */
    bool running;
    struct mini_queue aq, ioq;
    uint16_t admin_cid;
    struct mini_slot *slots;      /* ioq.entries - 1 of them */
    struct mini_dma lists;        /* one 4 KiB SGE list per slot, TO_DEVICE */
    struct mini_dma sense;        /* MINI_SENSE bytes per slot, FROM_DEVICE */
    struct mini_io *wait_head, *wait_tail; /* tasks waiting for a slot */
    struct mini_io *retry;        /* TASK SET FULL / BUSY: sent again at the watchdog's next tick */
    struct osal_irq *irq;
    struct osal_timer *watchdog;
    uint32_t last_heartbeat;
    uint64_t heartbeat_at_ns;
    uint64_t tick_at_ns;          /* when the watchdog was last armed: a tick far later is a host that did not run us */
    struct drv_core_stats stats;
    /* asynchronous events (mini_events.c): answers found on the admin CQ,
     * handled at the watchdog's tick; the fault log page and the next
     * sequence number to report */
    struct hba_cq_entry aev[MINI_AEV];
    unsigned naev;
    struct mini_dma log;
    uint32_t log_next;
};

/* mini_hw.c — the register layer: the only file that knows the SSIM-1 */
int  mini_bringup(struct drv_core *c);          /* READY, admin queue, identify, I/O queue */
void mini_teardown(struct drv_core *c, bool talk); /* delete queues, shutdown (when talk), unmap */
int  mini_admin(struct drv_core *c, struct hba_sq_entry *e, uint32_t *result); /* polled; ctrl status or -errno */
void mini_admin_post(struct drv_core *c, const struct hba_sq_entry *e); /* onto the admin SQ, not waited for */
void mini_admin_reap(struct drv_core *c);       /* the admin CQ's ASYNC EVENT answers into c->aev */
void mini_submit(struct drv_core *c, const struct hba_sq_entry *e);  /* onto the I/O SQ */
int  mini_reap(struct drv_core *c);             /* I/O CQ -> mini_command_done */
bool mini_dma_get(struct drv_core *c, struct mini_dma *d, uint64_t len, enum hba_dma_dir dir);
void mini_dma_put(struct drv_core *c, struct mini_dma *d);
bool mini_iova(const struct osal_dma_mapping *m, uint64_t off, uint64_t len, uint64_t *iova);
int  mini_controller_reset(struct drv_core *c, bool hard);

/* mini_io.c — tasks */
void mini_kick(struct drv_core *c);             /* waiting tasks into free slots */
void mini_enqueue(struct drv_core *c, struct mini_io *io); /* a new task: wait, then kick */
void mini_command_done(struct drv_core *c, const struct hba_cq_entry *e);
void mini_end_io(struct drv_core *c, struct mini_io *io, enum drv_service_response r, uint8_t cs);
void mini_slot_release(struct drv_core *c, unsigned cid);
void mini_requeue_all(struct drv_core *c);      /* after a controller reset */
void mini_watchdog(void *arg);
void mini_retry_now(struct drv_core *c);        /* the retry list to the front of the wait list */
/* mini_core.c / mini_disc.c */
int  mini_run_task(struct drv_core *c, const struct drv_task *t, struct drv_completion *out);
int  mini_discover(struct drv_core *c, const struct drv_disc_options *opt, struct drv_disc_result *out);
void mini_disc_result_free(struct drv_disc_result *r);
int  mini_io_accept(struct drv_core *c, struct mini_io *io); /* 0, or it was completed here */
/* Task management: mini_mark sets end_status on the tasks match() picks
 * (sent or waiting) and counts them; a marked task is never re-sent.  After
 * the admin commands, mini_end_marked completes those the controller has not
 * answered for: waiting ones are dropped, sent ones orphaned (their cid stays
 * busy until the controller answers). */
unsigned mini_mark(struct drv_core *c, bool (*match)(const struct mini_io *, const void *),
                   const void *key, uint8_t cs);
void mini_end_marked(struct drv_core *c);
unsigned mini_count(struct drv_core *c, bool (*match)(const struct mini_io *, const void *), const void *key);
void mini_fail_all(struct drv_core *c);     /* the controller is gone: every task fails */
/* mini_events.c — asynchronous events */
void mini_events_arm(struct drv_core *c);       /* at bring-up: MINI_AEV ASYNC EVENT commands */
void mini_events_poll(struct drv_core *c);      /* at the watchdog's tick: answers -> on_event, re-armed */

#endif
