/* core/core.h — the driver core for the SSIM-1 controller: what a storage
 * vendor puts inside a DriverKit IOUserSCSIParallelInterfaceController (or a
 * Linux SCSI host driver).  Portable C on top of core/osal.h; it knows the
 * controller only through hw/hba.h.
 *
 * Shape, after SCSIControllerDriverKit:
 *   UserInitializeController / UserStartController   drv_core_create / drv_core_start
 *   UserReportHBAConstraints                         drv_core_constraints
 *   UserProcessParallelTask                          drv_core_process_task
 *   ParallelTaskCompletion                           the drv_task_done callback
 *   UserMapHBAData / UserGetDataBuffer               the caller's DMA buffer + segments
 *   UserDoesHBAPerformAutoSense = true               sense comes with the completion
 *
 * Threading: the completion callback and the event callback run on the osal
 * dispatch queue.  drv_core_process_task may be called from any thread.
 */
#ifndef CORE_CORE_H
#define CORE_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/osal.h"
#include "hw/hba.h"

struct drv_core;

/* What the HBA can do, as UserReportHBAConstraints reports it (the keys of
 * kIOMaximumSegmentCountReadKey, kIOMaximumByteCountReadKey,
 * kIOMinimumHBADataAlignmentMaskKey, kIOMaximumSegmentAddressableBitCountKey, ...). */
struct drv_constraints {
    uint32_t max_segment_count;   /* DATA SGEs per command (CAP_SGL) */
    uint64_t max_byte_count;      /* bytes per command (CAP_MAX_XFER) */
    uint64_t max_segment_size;    /* bytes per SGE */
    uint32_t addressable_bits;    /* DMA address bits (CAP_SGL) */
    uint32_t alignment_mask;      /* minimum data alignment - 1 */
    uint32_t max_targets, max_luns;
    uint32_t max_outstanding;     /* tasks in flight across all queues */
};

/* Data direction of a task, as kSCSIDataTransfer_* */
enum drv_dir { DRV_DIR_NONE = 0, DRV_DIR_FROM_INITIATOR = 1 /* write */, DRV_DIR_FROM_TARGET = 2 /* read */ };

/* The host's buffer for a task: pieces of DMA memory the OS layer allocated.
 * The core prepares (maps) them with the right direction before submission and
 * completes (unmaps) them before the task completes. */
struct drv_buffer_piece {
    struct osal_dma_buffer *buf;
    uint64_t offset, length;
};

/* SCSIUserParallelTask-shaped request. */
/* SAM-5 task attributes, as kSCSITaskAttribute_*; the core passes them to
 * the controller (HBA_FLAG_ATTR_*). */
enum drv_task_attr {
    DRV_ATTR_SIMPLE = 0,
    DRV_ATTR_ORDERED = 1,
    DRV_ATTR_HEAD_OF_QUEUE = 2,
    DRV_ATTR_ACA = 3,
};

struct drv_task {
    uint64_t task_id;             /* fControllerTaskIdentifier: the caller's, echoed back */
    uint16_t target, lun;
    uint16_t initiator;           /* I_T nexus id the host layer uses */
    uint8_t  cdb[16];
    uint8_t  cdb_len;
    enum drv_dir dir;
    uint64_t requested_transfer;  /* fRequestedTransferCount */
    const struct drv_buffer_piece *pieces;
    uint32_t piece_count;
    uint32_t timeout_ms;          /* 0 = the core's default */
    enum drv_task_attr attr;      /* fTaskAttribute: SAM-5 task attribute (0: SIMPLE) */
    uint16_t target_port;         /* the target port (0-based) the host received the command on */
};

/* Service responses, as kSCSIServiceResponse_* */
enum drv_service_response {
    DRV_SR_TASK_COMPLETE = 0,               /* a SCSI status is valid */
    DRV_SR_SERVICE_DELIVERY_FAILURE = 1,    /* the command never reached the device or its fate is unknown */
    DRV_SR_FUNCTION_REJECTED = 2,           /* the controller refused the request */
};

/* SCSIUserParallelResponse-shaped completion. */
struct drv_completion {
    uint64_t task_id;
    enum drv_service_response response;
    uint8_t  scsi_status;
    uint8_t  ctrl_status;         /* enum hba_ctrl_status, for diagnosis */
    uint64_t bytes_transferred;
    uint8_t  sense_len;
    uint8_t  sense[HBA_SENSE_MAX];
};
typedef void (*drv_task_done)(void *arg, const struct drv_completion *c);

/* Asynchronous events surfaced to the host layer. */
enum drv_event_kind {
    DRV_EVENT_IOMMU_FAULT = 1,     /* detail: fault log entry */
    DRV_EVENT_BATTERY     = 2,     /* detail: enum hba_battery */
    DRV_EVENT_DRIVE_CHANGED = 3,   /* target/lun */
    DRV_EVENT_CACHE_LOST  = 4,
    DRV_EVENT_CONTROLLER_RESET = 5,/* the core reset the controller (recovery) */
    DRV_EVENT_CONTROLLER_DEAD  = 6,/* the controller stopped answering (peer death, fault) */
};
struct drv_event {
    enum drv_event_kind kind;
    uint16_t target, lun;
    uint32_t info;
    struct hba_iommu_fault fault; /* DRV_EVENT_IOMMU_FAULT */
};
typedef void (*drv_event_fn)(void *arg, const struct drv_event *e);

/* Every field may be left 0 for its default. */
struct drv_core_options {
    unsigned io_queues;          /* I/O queue pairs to create (1..CAP), default 1 */
    unsigned queue_depth;        /* entries per queue, default 256 */
    bool     polled;             /* completions by polling (no interrupts) */
    uint32_t default_timeout_ms; /* default 10000 */
    drv_event_fn on_event;
    void    *event_arg;
    /* Recovery tuning (see "Timeouts and recovery" below). */
    uint32_t abort_grace_ms;     /* how long an ABORT or a LUN reset may take, default 1000 */
    uint32_t admin_timeout_ms;   /* an admin command's deadline, default 2000 */
    uint32_t ready_timeout_ms;   /* waiting for READY / RDY in bring-up and resets, default 5000 */
    uint32_t max_reissues;       /* times one task is re-issued after aborts and resets, default 3 */
    uint32_t watchdog_ms;        /* timeout and heartbeat check period, default 20 */
    uint32_t heartbeat_stall_ms; /* HEARTBEAT unchanged this long = hung controller, default 500
                                    (50 periods: a loaded host, or valgrind, delays the firmware) */
    unsigned async_events;       /* ASYNC_EVENT commands kept outstanding, default 4 (one admin slot stays free) */
    uint32_t int_coalescing;     /* HBA_COALESCE(threshold, time_us) set at every bring-up when the
                                    queues take interrupts; 0 (default): every completion signals */
};

/* What the core did, for tests and diagnostics (counters since create). */
struct drv_core_stats {
    uint64_t tasks, completed;        /* accepted by drv_core_process_task, completed */
    uint64_t commands;                /* HBA_OP_SCSI entries submitted */
    uint64_t split_tasks;             /* tasks sent as several commands */
    uint64_t bounced_tasks;           /* tasks copied through a bounce buffer */
    uint64_t rejected_tasks;          /* completed DRV_SR_FUNCTION_REJECTED by the core */
    uint64_t timeouts;                /* commands past their deadline */
    uint64_t aborts, lun_resets;      /* HBA_ADM_ABORT / HBA_ADM_RESET (LUN) sent */
    uint64_t controller_resets;       /* CONFIG.EN 1 -> 0 -> 1 recoveries */
    uint64_t hard_resets;             /* key sequence + DIAG.HARD_RESET */
    uint64_t reissues;                /* commands sent again after an abort or reset */
    uint64_t busy_retries;            /* commands sent again after TASK SET FULL or BUSY */
    uint64_t events;                  /* asynchronous events delivered */
    uint64_t stray_completions;       /* completions matching no outstanding command */
    uint64_t tmf_retries;             /* resets / nexus losses that waited for an admin slot */
};

int  drv_core_create(struct osal *os, const struct drv_core_options *opt, struct drv_core **out);
/* Bring-up: wait for READY (hard reset from FAULT), program the admin queue,
 * enable, identify, create queues, arm async events, enable interrupts. */
int  drv_core_start(struct drv_core *core);
/* Orderly stop: shutdown (flush), disable, free queues.  Tasks in flight fail
 * with DRV_SR_SERVICE_DELIVERY_FAILURE. */
void drv_core_stop(struct drv_core *core);
void drv_core_destroy(struct drv_core *core);

void drv_core_constraints(const struct drv_core *core, struct drv_constraints *out);

/* UserProcessParallelTask: queues the task; done(arg, completion) is called
 * exactly once, on the dispatch queue.  Returns 0, or -errno when the task
 * could not even be accepted (then done is not called). */
int  drv_core_process_task(struct drv_core *core, const struct drv_task *t, drv_task_done done, void *arg);
/* Polled mode: reap completions now (from any thread); returns how many. */
int  drv_core_poll(struct drv_core *core);

/* Queue memory must be one IOVA range: when the OS maps it in pieces the
 * I/O queues shrink to what one page holds (64 entries) and
 * max_outstanding says so. */

/* Runs one task and waits for its completion (into *out).  For callers
 * outside the dispatch queue (-EDEADLK on it); polls in polled mode. */
int  drv_core_run_task(struct drv_core *core, const struct drv_task *t, struct drv_completion *out);

/* After the layer above re-attached a controller that went away (two-process
 * mode: the peer died and came back), brings it up from scratch: every queue
 * and DMA mapping of the core is rebuilt, tasks in flight are re-issued.
 * 0, or -errno when the controller did not come back (tasks then fail). */
int  drv_core_recover(struct drv_core *core);

/* Resets the layer above asks for, as a host's SCSI error handler or a
 * harness does (not the core's own recovery).  Both wait for the answer: call
 * them from outside the dispatch queue (-EDEADLK on it).  Commands the reset
 * ends come back HBA_CS_ABORTED_RESET and are re-issued like after any reset.
 *   drv_core_reset             HBA_ADM_RESET of one LUN, one target (any LUN)
 *                              or the bus (target and lun ignored); 0, -EIO
 *                              when the controller refused it (its status is
 *                              logged), -ENODEV when the core is not running
 *   drv_core_reset_controller  the host adapter: CONFIG.EN 1 -> 0 (a hard
 *                              reset, key sequence + DIAG, when hard) and a
 *                              new bring-up; it does not count towards the
 *                              recovery's reset streak.  0 or -errno (the
 *                              controller is then dead, see below). */
int  drv_core_reset(struct drv_core *core, enum hba_reset_scope scope, uint16_t target, uint16_t lun);
int  drv_core_reset_controller(struct drv_core *core, bool hard);

/* Task management for a SCSI target built on the core (an iSCSI target's TMFs
 * and nexus loss), asynchronous like drv_core_process_task.  The function
 * covers the tasks accepted before it (see drv_tmf_kind for each scope); they
 * end WITHOUT being re-issued or continued (a split transfer sends nothing
 * more, and every one of its commands at the controller is ended), with DRV_SR_SERVICE_DELIVERY_FAILURE and ctrl_status
 * HBA_CS_ABORTED (HBA_CS_ABORTED_RESET for resets) — or with the status they
 * reached when they completed first.  done(arg, rc) runs once, on the
 * dispatch queue, after every task the function ended has had its own done
 * called and after the controller answered the admin commands involved:
 *   0        the function is complete
 *   -ENOENT  DRV_TMF_ABORT_TASK: no task with that id (completed already)
 *   -ENXIO   the controller has no such target or LUN (HBA_CS_INVALID_TARGET)
 *   -EIO     the controller refused an admin command (its status is logged)
 *   -ENODEV  the core is not running
 * drv_core_task_mgmt returns 0, or -EINVAL / -ENOMEM / -ESHUTDOWN when the
 * function was not accepted (done is then not called).  Any thread. */
enum drv_tmf_kind {
    DRV_TMF_ABORT_TASK = 1,      /* task_id: HBA_ADM_ABORT of its command */
    DRV_TMF_ABORT_TASK_SET,      /* initiator's tasks on target:lun, one HBA_ADM_ABORT each */
    DRV_TMF_CLEAR_TASK_SET,      /* every initiator's tasks on target:lun, one HBA_ADM_ABORT each */
    DRV_TMF_LUN_RESET,           /* HBA_ADM_RESET (LUN) of target:lun; every task there ends */
    DRV_TMF_TARGET_RESET,        /* HBA_ADM_RESET (TARGET); every task of the target ends */
    DRV_TMF_BUS_RESET,           /* HBA_ADM_RESET (BUS); every task ends */
    DRV_TMF_CONTROLLER_RESET,    /* CONFIG.EN 1 -> 0 and bring-up: the tasks of target end, every
                                    other task is re-issued as after any controller reset */
    DRV_TMF_NEXUS_LOSS,          /* initiator's tasks aborted, then HBA_ADM_NEXUS_LOSS */
    DRV_TMF_QUERY_TASK,          /* task_id: done 0 while the core holds the task (SAM-5 FUNCTION
                                    SUCCEEDED), -ENOENT when it does not (FUNCTION COMPLETE); ends nothing */
};
struct drv_tmf {
    enum drv_tmf_kind kind;
    uint16_t initiator, target, lun;
    uint64_t task_id;            /* DRV_TMF_ABORT_TASK */
};
typedef void (*drv_tmf_done)(void *arg, int rc);
int  drv_core_task_mgmt(struct drv_core *core, const struct drv_tmf *tmf, drv_tmf_done done, void *arg);

void drv_core_get_stats(struct drv_core *core, struct drv_core_stats *out);
struct osal *drv_core_osal(const struct drv_core *core);
/* The controller's IDENTIFY data, as read at the last bring-up. */
void drv_core_identity(struct drv_core *core, struct hba_identify_ctrl *out);

/* Data handling, in the words of UserReportHBAConstraints:
 *   - every buffer piece is prepared (mapped) with the task's direction
 *     (data-in HBA_DMA_FROM_DEVICE: the device writes it) and with
 *     max_addr_bits = addressable_bits (pieces that continue each other in
 *     one buffer as one mapping), then described by DATA SGEs, inline or in
 *     chained segment lists; max_segment_count is CAP_SGL.MAX_SGES, or less
 *     when MAX_DEPTH lists cannot carry that many, at most 511 (the core's
 *     two lists per command);
 *   - BOUNCE: when the pieces need more SGEs than max_segment_count (or more
 *     lists than CAP_SGL.MAX_DEPTH), or the OS handed out an IOVA at or above
 *     2^addressable_bits, or could not map below it, the data goes through a
 *     contiguous buffer the core prepares below the limit (copied in before a
 *     write, copied out after a read);
 *   - SPLIT: a READ or WRITE (6/10/12/16) longer than max_byte_count is sent as
 *     several commands, each at most max_byte_count, in LBA order, one after
 *     the other; the task completes once, with the bytes of all of them (on an
 *     error: the bytes before the failing command, and its status and sense);
 *   - any other command longer than max_byte_count is completed
 *     DRV_SR_FUNCTION_REJECTED without being sent: its CDB cannot be divided.
 *
 * Timeouts and recovery: a command past its deadline is aborted
 * (HBA_ADM_ABORT); if it has not completed abort_grace_ms later, its LUN is
 * reset (HBA_ADM_RESET, LUN scope); if that does not end it within another
 * grace period, the controller is reset (CONFIG.EN 1 -> 0, a hard reset when
 * it does not reach READY or is in FAULT) and brought up again.  Commands
 * ended by an abort or a reset are re-issued, each task at most max_reissues
 * times; then it fails with DRV_SR_SERVICE_DELIVERY_FAILURE.  A watchdog
 * resets the controller when HEARTBEAT stops, STATUS reads all-ones or FATAL,
 * or RDY drops.  A controller that cannot be brought back is dead: every task
 * fails, DRV_EVENT_CONTROLLER_DEAD is raised, and drv_core_recover may be
 * tried later. */

#endif
