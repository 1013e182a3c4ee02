/* core/core_internal.h — the driver core's private state, shared by
 * core/core*.c.  Everything here is touched only on the osal dispatch queue
 * (see core/osal.h), except `state`, which other threads read to refuse
 * tasks early.
 *
 * Objects:
 *   struct drv_core   one controller: its limits, the admin queue, the I/O
 *                     queues, the tasks it owns, the recovery state;
 *   struct drv_queue  one SQ/CQ pair with its command slots; an I/O queue also
 *                     has, per slot, a sense buffer and segment-list memory,
 *                     mapped once for the queue's life;
 *   struct drv_cmd    one command slot: the command id, what owns it (an
 *                     I/O task or an admin callback), its deadline and where
 *                     it stands in timeout escalation;
 *   struct drv_io     one accepted task, from drv_core_process_task until its
 *                     done callback: the copied task, its DMA state (prepared
 *                     pieces or a bounce buffer), its split progress and the
 *                     commands (chunks) it has at the controller. */
#ifndef CORE_CORE_INTERNAL_H
#define CORE_CORE_INTERNAL_H

#include <stdatomic.h>

#include "scsi/cdb.h"
#include "core/core.h"
#include "core/core_rules.h"
#include "core/index_stack.h"
#include "core/sgl.h"

#define DRV_ADMIN_ENTRIES     64u   /* admin SQ/CQ entries */
#define DRV_SGL_LISTS         2u    /* segment lists of memory per command slot */
#define DRV_SGL_MAX_SGES      (SGL_PER_CHAINED_LIST * DRV_SGL_LISTS + 1u) /* what they carry: 511 */
#define DRV_SENSE_STRIDE      256u  /* bytes of sense buffer per slot (HBA_SENSE_MAX rounded up) */
#define DRV_CID_SLOT_BITS     12u   /* cid = generation << 12 | slot; slots < 4095 */
#define DRV_CID_SLOT_MASK     ((1u << DRV_CID_SLOT_BITS) - 1u)
#define DRV_POLL_SLEEP_US     10u   /* between polls while the core waits synchronously (bring-up, admin
                                       commands, stop): such waits are few and usually over within tens of
                                       microseconds, so a long sleep only adds to every bring-up */
#define DRV_POLL_YIELDS       4u    /* the first pauses of such a wait only yield the CPU (core_wait_nap) */
#define DRV_POLL_SLEEP_MAX_US 320u  /* the longest pause those polls back off to */
#define DRV_RESET_STREAK_MAX  4u    /* resets in quick succession before the controller is declared dead */
#define DRV_IO_INLINE_PIECES  4u    /* buffer pieces a task carries without an allocation */
#define DRV_IO_POOL_MAX       4096u /* preallocated tasks per core at most (core_io_pool.c) */
#define DRV_DOORBELL_BATCH    4u    /* SQ entries a burst of submissions writes before it rings: fewer
                                       doorbells, yet the controller starts on the first ones while the
                                       driver writes the rest (all at the end serialised the two) */
#define DRV_SPLIT_WINDOW      8u    /* commands of one split task at the controller together: a 1 MiB READ
                                       at a 512 KiB controller is one round trip, not two, and a 4 GiB one
                                       cannot take every slot of a queue from the tasks behind it */

enum drv_core_state {
    CORE_CREATED = 0,
    CORE_RUNNING,     /* queues live, tasks flow */
    CORE_RECOVERING,  /* controller reset in progress: tasks wait */
    CORE_STOPPING,
    CORE_STOPPED,
    CORE_DEAD,        /* the controller could not be brought back */
};

/* Core-owned DMA memory, mapped for the device in one direction. */
struct drv_dma {
    struct osal_dma_buffer *buf;
    struct osal_dma_mapping map;
    bool mapped;
};

struct drv_core;
struct drv_io;
struct tmf_op;
struct drv_cmd;
typedef void (*drv_adm_fn)(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe);

/* Where a command stands in timeout escalation. */
enum drv_escalation {
    ESC_NONE = 0,
    ESC_ABORT_SENT,   /* HBA_ADM_ABORT outstanding */
    ESC_ABORT_WAIT,   /* the abort answered; waiting for the command to end */
    ESC_RESET_SENT,   /* HBA_ADM_RESET (LUN) sent for it */
};

struct drv_cmd {
    uint16_t cid;
    uint8_t  gen;           /* bumped on every use: a stale completion cannot match */
    bool     busy;
    struct drv_io *io;      /* an I/O command's task */
    drv_adm_fn adm_fn;      /* an admin command's completion callback (may be NULL) */
    void    *adm_arg;
    uint64_t deadline_ns;   /* 0: none (async events) */
    enum drv_escalation esc;
    uint64_t esc_deadline_ns;
    struct hba_sge *lists;  /* this slot's segment lists (I/O queues) */
    uint64_t lists_iova[DRV_SGL_LISTS];
    uint8_t *sense;         /* this slot's sense buffer (I/O queues) */
    uint64_t sense_iova;
};

struct drv_queue {
    uint16_t qid, entries;   /* SQ and CQ have the same size */
    unsigned vector;
    bool     polled;         /* created with HBA_CQ_FLAG_NO_IRQ */
    bool     live;           /* exists on the controller */
    struct drv_dma sq_mem, cq_mem, list_mem, sense_mem;
    struct hba_sq_entry *sq;
    struct hba_cq_entry *cq;
    uint16_t sq_tail;        /* next entry the driver writes */
    uint16_t sq_db;          /* the tail last written to SQ_TAIL */
    uint16_t sq_head;        /* the controller's head, from completions */
    uint16_t cq_head;
    uint8_t  phase;          /* expected phase tag */
    struct drv_cmd *cmd;     /* entries - 1 slots */
    uint16_t nslots;
    uint16_t *free_slot;     /* stack of free slot indexes */
    uint16_t nfree;
};

/* One command of a task at the controller: which slot, on which queue, and
 * which chunk of the transfer it carries (0 unless the task is split). */
struct drv_piece {
    struct drv_cmd *cmd;
    struct drv_queue *q;
    uint32_t chunk;
};

struct drv_io {
    struct drv_core *core;
    struct drv_io *prev, *next;      /* core->ios: every task the core owns */
    struct drv_io *pend_next;        /* core->pending: waiting for a queue slot */
    bool pending;
    bool start_local;                /* its task_start was queued from the queue (starts_local) */
    struct drv_task t;               /* the caller's task; t.pieces points at pieces */
    struct drv_buffer_piece *pieces;
    drv_task_done done;
    void *arg;
    /* split */
    bool split;
    struct cdb_rw rw;
    struct cdb_split plan;
    uint32_t next_chunk;             /* the next chunk, in LBA order, not sent yet */
    uint32_t end_chunk;              /* chunks sent in LBA order: [0, end_chunk) */
    bool probe;                      /* a split WRITE's last chunk (end_chunk) goes first, alone */
    uint64_t done_bytes;             /* bytes of the chunks that completed in full */
    /* The piece whose completion stops the task: an error, a short transfer,
     * or the one command of an unsplit task.  Nothing more is sent; the task
     * ends with it once its other pieces are back (core_task.c). */
    bool stopped;
    bool stop_refused;               /* ILLEGAL REQUEST: the device refuses such a command whole */
    uint32_t stop_chunk;
    struct drv_io *fin_next;         /* core->finished: ended in a reap, its done still to call */
    /* DMA */
    bool dma_ready;
    bool bounce;
    struct osal_dma_mapping *maps;   /* one per piece (when not bouncing) */
    uint32_t nmaps;
    struct osal_dma_segment *segs;   /* the device's view of the data */
    uint32_t nsegs;
    struct drv_dma bounce_mem;
    /* the commands at the controller, and chunks to send again (ended by
     * recovery, or refused with TASK SET FULL/BUSY): nout + nredo <= window */
    struct drv_piece out[DRV_SPLIT_WINDOW];
    uint8_t nout;
    uint8_t nredo;
    uint32_t redo[DRV_SPLIT_WINDOW];
    unsigned reissues;
    bool caught_by_reset;            /* had a command outstanding when the controller was reset */
    bool terminate;                  /* ended by a task management function: never re-issued */
    bool deferred;                   /* TASK SET FULL / BUSY: sent again at the next tick */
    unsigned busy_retries;
    uint64_t busy_until_ns;          /* retries stop here: the status goes up */
    /* Everything above is zeroed when the task is accepted (io_get); from
     * here on: the pool's bookkeeping, then storage written before it is
     * read, so that a task of up to DRV_IO_INLINE_PIECES pieces needs no
     * allocation for its pieces, mappings and segments. */
    uint32_t pool_index;
    bool pooled;                     /* one of core->pool.ios (else malloc'd) */
    /* The stopping piece's completion (read only once `stopped` is set), and
     * the completion a reap's batch delivers at its end (written when the
     * task joins the batch): 280 bytes not zeroed per task. */
    struct drv_completion stop;
    struct drv_buffer_piece piece_store[DRV_IO_INLINE_PIECES];
    struct osal_dma_mapping map_store[DRV_IO_INLINE_PIECES];
    struct osal_dma_segment seg_store[DRV_IO_INLINE_PIECES * 8u];
};

_Static_assert(DRV_IO_INLINE_PIECES * 8u >= 8u, "a bounce buffer's 8 IOVA segments fit the inline storage");

/* Preallocated tasks, a lock-free free list shared by the threads that submit
 * and the dispatch queue that ends tasks (core_io_pool.c). */
struct drv_io_pool {
    struct drv_io *ios;
    _Atomic uint32_t *next;          /* the free list's links */
    uint32_t n;
    struct index_stack free;
};

struct drv_core {
    struct osal *os;
    struct drv_core_options opt;
    _Atomic int state;               /* enum drv_core_state */
    bool started_once;
    /* capabilities, read at bring-up */
    uint32_t cap_queues, cap_sgl, cap_max_xfer, cap_features, cap_targets;
    struct drv_constraints cons;
    struct sgl_limits lim;
    unsigned nvec;
    /* queues */
    struct drv_queue admin;
    struct drv_queue *ioq;
    unsigned nioq;
    unsigned next_q;                 /* round-robin start for submissions */
    struct osal_irq *irq[HBA_MAX_VECTORS];
    uint32_t vec_mask;               /* vectors unmasked while running */
    struct osal_timer *tick;
    bool tick_armed;
    /* admin data */
    struct drv_dma id_mem, log_mem;
    struct hba_identify_ctrl ident;
    uint32_t ndrives;
    /* tasks */
    struct drv_io *ios;
    /* A reap's batch (task_batch_begin/end): tasks that ended in it, in the
     * order they ended; their DMA is unmapped with one IOMMU wait, then their
     * done callbacks run. */
    bool finish_batch;
    struct drv_io *finished, **finished_tail;
    unsigned ordered_tasks;          /* ORDERED tasks alive: the drain keeps their barrier (core_order.c) */
    struct drv_io *pend_head, *pend_tail;
    /* task_start blocks queued and not yet run (drv_core_process_task): while
     * one is, a drain writes SQ entries and rings only every
     * DRV_DOORBELL_BATCH of them, leaving the rest to a later start.  Those queued
     * from the queue itself (a completion submitting the next command) are
     * counted without an atomic, the queue being serial; others atomically. */
    uint32_t starts_local;
    _Atomic uint32_t starts_foreign;
    /* events */
    bool log_busy, log_again;
    uint32_t log_next_seq;
    /* watchdog and recovery */
    uint32_t hb_last;
    uint64_t hb_changed_ns;
    uint64_t pulse_last_ns;          /* the last heartbeat check (0: none since bring-up) */
    bool resetting;
    uint64_t last_reset_ns;          /* when the last controller reset began */
    unsigned reset_streak;           /* resets in quick succession: escalate, then give up */
    struct tmf_op *tmfs;             /* task management functions under way (core_tmf.c) */
    struct drv_core_stats stats;
    struct drv_io_pool pool;
};

/* core.c */
int  core_state(const struct drv_core *core);
void core_set_state(struct drv_core *core, enum drv_core_state s);
void core_sleep_us(unsigned us);
uint64_t core_now_ns(const struct drv_core *core);
/* The deadline of a synchronous wait (bring-up, admin commands, shutdown):
 * ms of the time this thread was actually running.  A poll that comes back
 * far later than it slept means the host stopped running us (an overloaded
 * machine, a descheduled VM), and most likely the controller's threads too:
 * the deadline moves out by that gap, so only a controller that stays silent
 * while we keep polling times out. */
struct core_wait {
    uint64_t end, last;
    unsigned nap_us;          /* the next pause between polls */
    unsigned yields;          /* pauses that were only a yield so far */
};
void core_wait_start(struct core_wait *w, uint64_t now_ns, uint32_t ms);
/* Whether w's deadline has passed at now_ns; call it once per poll. */
bool core_wait_expired(struct core_wait *w, uint64_t now_ns);
/* The pause between two polls: DRV_POLL_YIELDS yields of the CPU, then
 * DRV_POLL_SLEEP_US, doubling up to
 * DRV_POLL_SLEEP_MAX_US, so a quick answer is seen quickly and a slow one
 * (a controller initialising, a drive flushing) costs a few sleeps, not a
 * thousand (each sleep is a system call and two context switches). */
void core_wait_nap(struct core_wait *w);
void core_emit(struct drv_core *core, const struct drv_event *e);

/* core_bringup.c */
int  core_bringup(struct drv_core *core);
/* Takes the controller out of OPERATIONAL and frees every queue: EN 1 -> 0
 * (a hard reset when that does not reach READY, or when hard is set).
 * 0 once READY, -errno when the controller did not get there (the queues are
 * unmapped and freed anyway). */
int  core_disable(struct drv_core *core, bool hard);
int  core_hard_reset(struct drv_core *core);
/* Frees every queue without talking to the controller (it is gone). */
void core_release(struct drv_core *core);

/* core_dma.c */
int  dma_get(struct drv_core *core, uint64_t length, enum hba_dma_dir dir, struct drv_dma *d);
void dma_put(struct drv_core *core, struct drv_dma *d);
/* The IOVA of [off, off + len) of d, when it lies in one mapped segment. */
bool dma_iova(const struct drv_dma *d, uint64_t off, uint64_t len, uint64_t *iova);
int  io_dma_prepare(struct drv_core *core, struct drv_io *io);
void io_dma_release(struct drv_core *core, struct drv_io *io);
void io_copy_to_pieces(struct drv_io *io, uint64_t off, const uint8_t *src, uint64_t len);
void io_copy_from_pieces(const struct drv_io *io, uint64_t off, uint8_t *dst, uint64_t len);
enum hba_dma_dir io_dma_dir(const struct drv_task *t);

/* core_io_pool.c */
int  io_pool_init(struct drv_core *core, uint32_t n);
void io_pool_fini(struct drv_core *core);
/* A zeroed task object, from the pool or (pool empty) malloc; NULL: no memory. */
struct drv_io *io_get(struct drv_core *core);
/* Gives a task object (and its pieces if they were allocated) back. */
void io_put(struct drv_core *core, struct drv_io *io);

/* core_queue.c */
int  queue_alloc(struct drv_core *core, struct drv_queue *q, uint16_t qid, uint16_t entries, unsigned vector,
                 bool polled, bool io);
void queue_free(struct drv_core *core, struct drv_queue *q);
bool queue_has_room(const struct drv_queue *q);
struct drv_cmd *queue_slot_get(struct drv_queue *q);
void queue_slot_put(struct drv_queue *q, struct drv_cmd *c);
struct drv_cmd *queue_find(struct drv_queue *q, uint16_t cid);
void queue_push(struct drv_queue *q, const struct hba_sq_entry *e);
void queue_ring(struct drv_core *core, struct drv_queue *q);
/* Entries written since the last doorbell. */
static inline uint16_t queue_unrung(const struct drv_queue *q)
{
    return (uint16_t)((q->sq_tail + q->entries - q->sq_db) % q->entries);
}
int  queue_reap(struct drv_core *core, struct drv_queue *q);
int  core_reap_all(struct drv_core *core, bool io_only);
void core_irq(void *arg, unsigned vector);

/* core_admin.c */
/* Submits an admin entry (cid filled in); fn runs at its completion, or with
 * ctrl_status HBA_CS_ABORTED_RESET when the controller is reset first.
 * timeout_ms 0: no deadline.  -EBUSY when the admin queue is full. */
int  adm_submit(struct drv_core *core, struct hba_sq_entry *e, uint32_t timeout_ms, drv_adm_fn fn, void *arg);
/* Submits and waits by polling the admin CQ (bring-up only).  0 and *out, or
 * -ETIMEDOUT, -EIO (controller FATAL). */
int  adm_run(struct drv_core *core, struct hba_sq_entry *e, struct hba_cq_entry *out);
void adm_entry(struct hba_sq_entry *e, uint8_t opcode);
/* Ends every outstanding admin command with ABORTED_RESET (controller gone). */
void adm_cancel_all(struct drv_core *core);

/* core_task.c */
void task_drain(struct drv_core *core);
/* c, one of io's pieces, completed (its slot is already free). */
void task_command_done(struct drv_core *core, struct drv_io *io, const struct drv_cmd *c,
                       const struct hba_cq_entry *cqe, const uint8_t *sense);
void task_fail(struct drv_core *core, struct drv_io *io, enum drv_service_response r, uint8_t ctrl_status);
void task_fail_all(struct drv_core *core, enum drv_service_response r);
void task_requeue_front(struct drv_core *core, struct drv_io *io);
/* The controller lost io's commands (a reset, the queues freed): their
 * chunks are to be sent again, should the task be re-issued. */
void task_pieces_lost(struct drv_io *io);
/* After io's state changed outside core_task.c (a task management function,
 * the end of a TASK SET FULL wait): io waits in the pending FIFO when it has
 * something to send, and ends when it has nothing out and nothing to send. */
void task_settle(struct drv_core *core, struct drv_io *io);
/* A reap's batch: true if this call started one (a nested reap joins the
 * outer batch).  Tasks that end in it complete normally are unmapped with
 * osal_dma_defer_begin/end and reported at task_batch_end, in order; any
 * other ending first reports the batch so far (order is kept). */
bool task_batch_begin(struct drv_core *core);
void task_batch_end(struct drv_core *core);

/* core_recovery.c */
void recovery_tick(void *arg);

/* core_order.c: the ORDERED barrier per logical unit across the I/O queues */
#define ORDER_BLOCK_MAX 32u
struct order_block {                 /* LUs whose pending tasks wait, in one drain */
    unsigned n;
    uint16_t target[ORDER_BLOCK_MAX], lun[ORDER_BLOCK_MAX];
};
/* Whether the pending io must wait for SAM-5's ORDERED rule. */
bool order_must_wait(const struct drv_core *core, const struct drv_io *io);
bool order_blocked(const struct order_block *b, const struct drv_io *io);
/* Adds io's LU; false when the set is full (the drain stops there). */
bool order_block(struct order_block *b, const struct drv_io *io);
void recovery_arm_tick(struct drv_core *core);
/* Resets the controller and brings it up again, re-issuing what was in flight.
 * reap: first consume completions already posted (the queues are trusted). */
int  recovery_reset_controller(struct drv_core *core, const char *why, bool reap, bool hard);

/* core_tmf.c */
/* A task ended by a task management function has completed: functions
 * waiting for it may be done. */
void tmf_task_ended(struct drv_core *core);
/* Sends the resets and nexus losses that found the admin queue full, as far
 * as slots allow; with the core no longer running ends them (-ENODEV). */
void tmf_retry_unsent(struct drv_core *core);

/* core_events.c */
void events_arm(struct drv_core *core);

#endif
