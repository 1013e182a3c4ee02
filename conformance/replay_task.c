/* conformance/replay_task.c — one CMD of a trace through the stack: its data
 * in a DMA buffer, a drv_task on the record's nexus, the completion taken in
 * on the dispatch queue, bounded waits on the replay thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/replay_priv.h"
#include "scsi/scsi.h"

/* Data-in buffers start out holding this byte, so a device write that
 * silently vanishes (an IOMMU dropping it: field bug F2) cannot pass for
 * data that happens to be zero. */
#define REPLAY_DIN_POISON 0xA5u

static const struct trace_record *rec(const struct replay *rp, size_t line)
{
    return &rp->t->lines[line].record;
}

static const char *ctrl_status_name(uint8_t cs)
{
    switch (cs) {
    case HBA_CS_SUCCESS: return "success";
    case HBA_CS_INVALID_OPCODE: return "invalid opcode";
    case HBA_CS_INVALID_FIELD: return "invalid field in the entry";
    case HBA_CS_CID_CONFLICT: return "command id conflict";
    case HBA_CS_INVALID_TARGET: return "invalid target (selection timeout)";
    case HBA_CS_SGL_ZERO_LENGTH: return "zero-length SGE";
    case HBA_CS_SGL_TOO_MANY: return "too many SGEs";
    case HBA_CS_SGL_INVALID: return "invalid SGL";
    case HBA_CS_SGL_SHORT: return "SGL shorter than the data";
    case HBA_CS_XFER_TOO_LONG: return "transfer too long";
    case HBA_CS_DATA_XFER_ERROR: return "data transfer error (IOMMU fault)";
    case HBA_CS_SENSE_XFER_ERROR: return "sense transfer error";
    case HBA_CS_ABORTED: return "aborted";
    case HBA_CS_ABORTED_RESET: return "aborted by a reset";
    case HBA_CS_ABORTED_SQ_DELETED: return "aborted: queue deleted";
    case HBA_CS_INVALID_QUEUE: return "invalid queue";
    case HBA_CS_SHUTDOWN: return "controller shut down";
    case HBA_CS_DIRECTION_MISMATCH: return "data direction mismatch";
    case HBA_CS_INTERNAL: return "simulator internal error";
    default: return "unknown controller status";
    }
}

static const char *response_name(enum drv_service_response r)
{
    switch (r) {
    case DRV_SR_TASK_COMPLETE: return "task complete";
    case DRV_SR_SERVICE_DELIVERY_FAILURE: return "service delivery failure";
    case DRV_SR_FUNCTION_REJECTED: return "function rejected";
    }
    return "unknown service response";
}

/* Completion callback, on the driver's dispatch queue. */
static void task_done(void *arg, const struct drv_completion *c)
{
    struct replay_task *k = arg;
    struct replay *rp = k->rp;
    uint64_t now = replay_now_ns();
    pthread_mutex_lock(&rp->lock);
    if (!rp->closing && !k->done) {
        k->c = *c;
        k->done_ns = now;
        if (k->dir == TRACE_DATA_IN && k->din && k->dma) {
            uint64_t n = c->bytes_transferred < k->len ? c->bytes_transferred : k->len;
            memcpy(k->din, k->dma->vaddr, (size_t)n);
            k->din_len = (size_t)n;
        }
        k->done = true;
        pthread_cond_broadcast(&rp->cv);
    }
    pthread_mutex_unlock(&rp->lock);
}

/* The host layer ends the task itself (it never reaches the driver). */
static void host_fail(struct replay *rp, struct replay_task *k, const char *note)
{
    pthread_mutex_lock(&rp->lock);
    k->submitted = true;
    k->submit_ns = k->done_ns = replay_now_ns();
    memset(&k->c, 0, sizeof k->c);
    k->c.response = DRV_SR_SERVICE_DELIVERY_FAILURE;
    k->done = true;
    snprintf(k->note, sizeof k->note, "%s", note);
    pthread_mutex_unlock(&rp->lock);
}

/* The DOUT pieces, each at its offset, into the task's DMA buffer.  Bytes
 * no piece gives (after a single DOUT shorter than len) are sent as zeros:
 * the buffer is zeroed. */
static int dout_bytes(const struct replay *rp, const struct trace_task *tk, const struct replay_task *k)
{
    uint8_t *buf = k->dma->vaddr;
    for (size_t l = tk->dout; l != TRACE_NONE; l = rec(rp, l)->next_piece) {
        const struct trace_record *r = rec(rp, l);
        if (r->offset > k->len || trace_pattern_bytes(&r->data, buf + r->offset, k->len - r->offset) < 0)
            return -EINVAL;
    }
    return 0;
}

void replay_submit(struct replay *rp, struct replay_task *k)
{
    const struct trace_task *tk = &rp->t->tasks[k->index];
    const struct trace_record *req = rec(rp, tk->request);
    struct trace_nexus nx = trace_record_nexus(rp->t, req);
    uint32_t target = (nx.any & TRACE_ANY_TARGET) ? 0 : nx.target;
    uint64_t lun = (nx.any & TRACE_ANY_LUN) ? 0 : nx.lun;
    uint32_t host = (nx.any & TRACE_ANY_HOST) ? 0 : nx.host;
    if (!rp->st) {
        snprintf(k->note, sizeof k->note, "%s", rp->engine_note);
        return;
    }
    if (target > UINT16_MAX || lun > UINT16_MAX || host > UINT16_MAX) {
        snprintf(k->note, sizeof k->note, "nexus %u:%u:%u:%llu cannot be addressed by the driver core "
                 "(16-bit initiator, target and LUN)", host, nx.channel, target, (unsigned long long)lun);
        return;
    }
    if (rp->lost_targets && target < rp->cfg.max_targets && rp->lost_targets[target]) {
        char why[REPLAY_NOTE_MAX];
        snprintf(why, sizeof why, "the driver's discovery dropped target %u (it has a drive): the host has no "
                 "device there, so the command was never sent", target);
        host_fail(rp, k, why);
        return;
    }

    struct drv_task task;
    memset(&task, 0, sizeof task);
    task.task_id = k->index + 1;
    task.target = (uint16_t)target;
    task.lun = (uint16_t)lun;
    task.initiator = (uint16_t)host;
    long n = trace_pattern_bytes(&req->cmd.cdb, task.cdb, sizeof task.cdb);
    if (n <= 0) {
        snprintf(k->note, sizeof k->note, "the CDB is not concrete bytes");
        return;
    }
    task.cdb_len = (uint8_t)n;
    k->len = req->cmd.len;
    k->dir = req->cmd.dir;
    task.dir = k->dir == TRACE_DATA_IN ? DRV_DIR_FROM_TARGET : k->dir == TRACE_DATA_OUT ? DRV_DIR_FROM_INITIATOR
                                                                                       : DRV_DIR_NONE;
    task.requested_transfer = k->dir == TRACE_DATA_NONE ? 0 : k->len;
    task.timeout_ms = rp->o.driver_timeout_ms;

    struct drv_buffer_piece piece;
    if (task.requested_transfer) {
        int rc = osal_dma_alloc(stack_osal(rp->st), k->len, 4096, &k->dma);
        if (rc < 0) {
            snprintf(k->note, sizeof k->note, "no DMA memory for %u bytes (%s); raise @controller host-ram",
                     k->len, strerror(-rc));
            k->dma = NULL;
            return;
        }
        if (k->dir == TRACE_DATA_OUT && tk->dout != TRACE_NONE) {
            if (dout_bytes(rp, tk, k) < 0) {
                snprintf(k->note, sizeof k->note, "the DOUT is not concrete bytes");
                osal_dma_free(stack_osal(rp->st), k->dma);
                k->dma = NULL;
                return;
            }
        } else if (k->dir == TRACE_DATA_IN) {
            memset(k->dma->vaddr, REPLAY_DIN_POISON, k->len);
            k->din = malloc(k->len);
            if (!k->din) {
                snprintf(k->note, sizeof k->note, "out of memory for %u bytes of data-in", k->len);
                osal_dma_free(stack_osal(rp->st), k->dma);
                k->dma = NULL;
                return;
            }
        }
        piece = (struct drv_buffer_piece){ .buf = k->dma, .offset = 0, .length = k->len };
        task.pieces = &piece;
        task.piece_count = 1;
    }

    k->submit_ns = replay_now_ns();
    k->submitted = true;
    int rc = stack_submit(rp->st, &task, task_done, k);
    if (rc < 0) {
        char why[REPLAY_NOTE_MAX];
        snprintf(why, sizeof why, "the driver core refused the task (%s)", strerror(-rc));
        host_fail(rp, k, why);
    }
}

static void deadline_ts(uint64_t abs_ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(abs_ns / 1000000000u);
    ts->tv_nsec = (long)(abs_ns % 1000000000u);
}

bool replay_wait(struct replay *rp, struct replay_task *k)
{
    if (!k->submitted)
        return false;
    uint64_t end = k->submit_ns + k->limit_ns;
    if (end < k->submit_ns || end > rp->budget_end_ns)
        end = rp->budget_end_ns;
    bool polled = rp->o.polled && rp->st;
    pthread_mutex_lock(&rp->lock);
    while (!k->done) {
        uint64_t now = replay_now_ns();
        if (now >= end)
            break;
        uint64_t until = end;
        if (polled) {
            pthread_mutex_unlock(&rp->lock);
            stack_poll(rp->st);
            pthread_mutex_lock(&rp->lock);
            if (k->done)
                break;
            if (until > now + 1000000u)
                until = now + 1000000u; /* poll again in 1 ms */
        }
        struct timespec ts;
        deadline_ts(until, &ts);
        pthread_cond_timedwait(&rp->cv, &rp->lock, &ts);
    }
    bool done = k->done;
    pthread_mutex_unlock(&rp->lock);
    if (!done && end == rp->budget_end_ns)
        replay_out_of_time(rp, rp->t->lines[rp->t->tasks[k->index].request].lineno);
    if (done)
        replay_reap(rp, k);
    return done;
}

void replay_reap(struct replay *rp, struct replay_task *k)
{
    pthread_mutex_lock(&rp->lock);
    bool done = k->done;
    pthread_mutex_unlock(&rp->lock);
    if (!done || k->reaped)
        return;
    k->reaped = true;
    if (k->dma && rp->st) {
        osal_dma_free(stack_osal(rp->st), k->dma);
        k->dma = NULL;
    }
    if (!k->note[0] && k->c.response != DRV_SR_TASK_COMPLETE)
        snprintf(k->note, sizeof k->note, "the driver completed it with %s (controller status %#x: %s)",
                 response_name(k->c.response), k->c.ctrl_status, ctrl_status_name(k->c.ctrl_status));
}

void replay_actual(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a)
{
    (void)rp;
    memset(a, 0, sizeof *a);
    a->submitted = k->submitted;
    a->completed = k->done;
    a->note = k->note[0] ? k->note : NULL;
    if (!k->done)
        return;
    const struct drv_completion *c = &k->c;
    if (c->response == DRV_SR_TASK_COMPLETE) {
        a->status = c->scsi_status;
        if (c->sense_len) {
            a->sense = c->sense;
            a->sense_len = c->sense_len;
        }
        a->resid_valid = true;
        uint64_t xfer = c->bytes_transferred < k->len ? c->bytes_transferred : k->len;
        a->resid = (uint32_t)(k->len - xfer);
    } else {
        a->status = TRACE_STATUS_SERVICE_FAILURE;
    }
    a->xfer = c->bytes_transferred;
    if (k->dir == TRACE_DATA_IN && k->din) {
        a->din = k->din;
        a->din_len = k->din_len;
    }
    a->elapsed_known = true;
    a->elapsed_ns = k->done_ns - k->submit_ns;
}
