/* host/scsi_backend.h — the transport-neutral SCSI interface between a
 * front-end (the iSCSI target today) and whatever executes commands (the
 * driver stack, or the in-memory test disk in tests/support/backend_mem.h).
 *
 * THE CONTRACT
 *  - A front-end embeds a struct scsi_backend_task in its own per-command
 *    object, fills the request half and calls scsi_backend_submit().  No
 *    allocation happens on this path: the task, its sense buffer and the data
 *    buffers all belong to the front-end.
 *  - submit returns 0 and later calls t->done(t) exactly once, with t->result
 *    filled; or returns -errno (-EBUSY: queue full, -ENODEV: gone) and never
 *    calls done.  done may run on ANY thread, including inside submit itself,
 *    so a front-end must not touch the task after submit returned 0 unless it
 *    serialises with its own completion path.
 *  - Data-out (initiator to device) is complete before submit: the front-end
 *    has collected every byte the initiator announced (expected_len).  Data-in
 *    is written straight into data_in (no copies), at most data_in_cap bytes.
 *  - Task management (abort task, abort/clear task set, LUN reset, target
 *    resets) is asynchronous too: tmf->done(tmf) runs once every task the
 *    function ended has already had its done called (with result.aborted set),
 *    so the front-end may answer the TMF as soon as its done arrives.
 *  - nexus_open(nexus) (optional) asks whether a new I_T nexus may start: a
 *    front-end calls it before it accepts the nexus (an iSCSI login entering
 *    the full feature phase) and refuses the nexus on -EBUSY (iSCSI: "out of
 *    resources") rather than accept it and answer BUSY to its every command.
 *    A nexus opened is closed by nexus_loss.
 *  - nexus_loss(nexus) tells the backend an I_T nexus is gone (connection
 *    dropped, session ended or reinstated): it aborts that nexus's tasks (their
 *    done is still called, aborted) and forgets its per-nexus state (unit
 *    attentions, reservations, ...).
 *
 * Nexus and tag: the front-end gives every I_T nexus a number (never 0): one
 * number per I_T nexus IDENTITY — initiator port and target port, for iSCSI
 * the initiator name + ISID and the target node — so a session that comes
 * back after a nexus loss (reinstated, or a new login after a dropped
 * connection) is the same nexus again and meets the state the device kept for
 * it (its 29h/07h I_T NEXUS LOSS OCCURRED unit attention).  Different
 * identities never share a number.  Every task has a tag unique within its
 * nexus while it runs (ABORT TASK names it).  LUNs are plain numbers here; wire encodings of LUNs
 * belong to the transport (host/scsi_lunmap.h decodes SAM LUN fields).
 *
 * Modelled on SPDK's lib/scsi task + completion callback, so the transport
 * never learns how a command is executed.
 */
#ifndef HOST_SCSI_BACKEND_H
#define HOST_SCSI_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* Direction of the data phase, seen from the initiator. */
enum scsi_data_dir {
    SCSI_DIR_NONE  = 0,
    SCSI_DIR_WRITE = 1, /* data-out: initiator -> device */
    SCSI_DIR_READ  = 2, /* data-in:  device -> initiator */
};

/* SAM task attributes. */
enum scsi_task_attr {
    SCSI_ATTR_SIMPLE = 0,
    SCSI_ATTR_ORDERED = 1,
    SCSI_ATTR_HEAD_OF_QUEUE = 2,
    SCSI_ATTR_ACA = 3,
};

/* SAM service responses for a command. */
enum scsi_service_response {
    SCSI_SR_TASK_COMPLETE = 0,            /* status (and sense) are valid */
    SCSI_SR_SERVICE_DELIVERY_FAILURE = 1, /* the command's fate is unknown */
};

/* Whether fewer (UNDER) or more (OVER) bytes than expected_len would have
 * been moved by the CDB; residual is the difference in bytes. */
enum scsi_residual_kind {
    SCSI_RESID_NONE  = 0,
    SCSI_RESID_UNDER = 1,
    SCSI_RESID_OVER  = 2,
};

struct scsi_backend_result {
    enum scsi_service_response response;
    uint8_t  status;          /* enum scsi_status */
    bool     aborted;         /* ended by a TMF or nexus loss: deliver no status */
    uint8_t  sense_len;       /* bytes valid in sense[] */
    uint8_t  sense[SCSI_SENSE_MAX];
    uint64_t data_len;        /* bytes moved: written into data_in / consumed from data_out */
    enum scsi_residual_kind residual_kind;
    uint64_t residual;
};

/* A data buffer the backend lends (see "Buffers" below). */
struct scsi_backend;
struct scsi_backend_buf {
    uint8_t *data;
    uint64_t cap;
    struct scsi_backend *owner;   /* who lent it (gets it back with scsi_backend_buf_put) */
    void *priv;                   /* the owner's */
};

struct scsi_backend_task;
typedef void (*scsi_backend_task_done)(struct scsi_backend_task *t);

struct scsi_backend_task {
    /* Request: filled by the front-end. */
    uint64_t nexus;
    uint64_t lun;                 /* a router (host/scsi_lunmap.h) rewrites it */
    uint16_t target_port;         /* the target port (0-based) it arrived on: multipath */
    uint64_t tag;
    uint8_t  cdb[16];
    uint8_t  cdb_len;
    uint8_t  attr;                /* enum scsi_task_attr */
    enum scsi_data_dir dir;
    uint64_t expected_len;        /* what the initiator expects to move */
    const uint8_t *data_out;      /* dir WRITE: expected_len bytes */
    uint64_t data_out_len;
    uint8_t *data_in;             /* dir READ: room for data_in_cap bytes */
    uint64_t data_in_cap;
    const struct scsi_backend_buf *buf; /* data_out / data_in start at buf->data (lent by the
                                           backend), or NULL: the front-end's own memory */
    scsi_backend_task_done done;
    /* Completion: filled by the backend before done. */
    struct scsi_backend_result result;
    /* Reserved for whoever holds the task (backend queues). */
    struct scsi_backend_task *be_next;
};

enum scsi_tmf_function {
    SCSI_TMF_ABORT_TASK        = 1,
    SCSI_TMF_ABORT_TASK_SET    = 2,
    SCSI_TMF_CLEAR_ACA         = 3,
    SCSI_TMF_CLEAR_TASK_SET    = 4,
    SCSI_TMF_LUN_RESET         = 5,
    SCSI_TMF_TARGET_WARM_RESET = 6,
    SCSI_TMF_TARGET_COLD_RESET = 7,
};

enum scsi_tmf_response {
    SCSI_TMF_COMPLETE       = 0, /* function complete */
    SCSI_TMF_TASK_NOT_FOUND = 1, /* ABORT TASK: no such task (already done) */
    SCSI_TMF_LUN_NOT_FOUND  = 2,
    SCSI_TMF_NOT_SUPPORTED  = 3,
    SCSI_TMF_REJECTED       = 4,
};

struct scsi_backend_tmf;
typedef void (*scsi_backend_tmf_done)(struct scsi_backend_tmf *tmf);

struct scsi_backend_tmf {
    enum scsi_tmf_function fn;
    uint64_t nexus;
    uint64_t lun;                 /* ignored by target resets */
    uint64_t ref_tag;             /* ABORT TASK: the task's tag within nexus */
    scsi_backend_tmf_done done;
    enum scsi_tmf_response response; /* filled by the backend */
    struct scsi_backend_tmf *be_next;
    void *be_priv;
};

struct scsi_backend_ops {
    const char *name;
    int  (*submit)(struct scsi_backend *be, struct scsi_backend_task *t);
    void (*task_mgmt)(struct scsi_backend *be, struct scsi_backend_tmf *tmf);
    void (*nexus_loss)(struct scsi_backend *be, uint64_t nexus);
    /* Optional (NULL: every nexus is welcome). */
    int  (*nexus_open)(struct scsi_backend *be, uint64_t nexus);
    /* Optional (NULL: the backend lends no buffers). */
    int  (*buf_get)(struct scsi_backend *be, uint64_t lun, uint64_t len, struct scsi_backend_buf *out);
    void (*buf_put)(struct scsi_backend *be, struct scsi_backend_buf *b);
};

/* A backend embeds this as its first member. */
struct scsi_backend {
    const struct scsi_backend_ops *ops;
};

static inline int scsi_backend_submit(struct scsi_backend *be, struct scsi_backend_task *t)
{
    return be->ops->submit(be, t);
}
static inline void scsi_backend_task_mgmt(struct scsi_backend *be, struct scsi_backend_tmf *tmf)
{
    be->ops->task_mgmt(be, tmf);
}
static inline void scsi_backend_nexus_loss(struct scsi_backend *be, uint64_t nexus)
{
    be->ops->nexus_loss(be, nexus);
}
/* 0: the nexus may start; -EBUSY: no room for another (see the contract). */
static inline int scsi_backend_nexus_open(struct scsi_backend *be, uint64_t nexus)
{
    return be->ops->nexus_open ? be->ops->nexus_open(be, nexus) : 0;
}

/* Buffers.  A backend whose device moves data by DMA (the driver stack) can
 * lend the front-end the very buffer the device will read or write: the
 * front-end receives data-out into it and sends data-in from it, so no byte
 * is copied between the transport and the device.  buf_get lends at least len
 * bytes for commands to lun (any thread); the front-end keeps the buffer as
 * long as it likes (a task slot may reuse it for command after command), names
 * it in t->buf when data_out / data_in point into it, and gives it back with
 * scsi_backend_buf_put.  Backends that cannot lend return -ENOTSUP; any
 * backend accepts tasks whose buffers are the front-end's own (it copies). */
static inline int scsi_backend_buf_get(struct scsi_backend *be, uint64_t lun, uint64_t len,
                                       struct scsi_backend_buf *out)
{
    if (!be->ops->buf_get)
        return -ENOTSUP;
    return be->ops->buf_get(be, lun, len, out);
}
static inline void scsi_backend_buf_put(struct scsi_backend_buf *b)
{
    if (b->owner)
        b->owner->ops->buf_put(b->owner, b);
    b->data = NULL;
    b->cap = 0;
    b->owner = NULL;
    b->priv = NULL;
}

/* Helpers for backends. */

/* Clears t->result to TASK COMPLETE / GOOD with nothing moved. */
void scsi_backend_result_reset(struct scsi_backend_task *t);
/* CHECK CONDITION with sense built (scsi_sense_build) from reason. */
void scsi_backend_set_sense(struct scsi_backend_task *t, const struct scsi_sense_reason *reason, bool descriptor);
/* Records a transfer: the CDB asked for `wanted` bytes and `moved` were
 * moved; sets data_len and the residual against expected_len. */
void scsi_backend_set_transfer(struct scsi_backend_task *t, uint64_t wanted, uint64_t moved);
/* Ends a task as aborted (TASK ABORTED status, aborted flag) and calls done. */
void scsi_backend_abort_task(struct scsi_backend_task *t);

#endif
