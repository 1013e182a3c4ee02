/* conformance/replay/replay_task.c — one CMD of a trace through the stack: its data
 * in a DMA buffer, a drv_task on the record's nexus, the completion taken in
 * on the dispatch queue, bounded waits on the replay thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/replay/replay_priv.h"
#include "scsi/scsi.h"
#include "stack/completion_text.h"

/* Data-in buffers start out holding this byte, so a device write that
 * silently vanishes (an IOMMU dropping it: field bug F2) cannot pass for
 * data that happens to be zero. */
#define REPLAY_DIN_POISON 0xA5u

static const struct trace_record *rec(const struct replay *rp, size_t line)
{
    return &rp->t->lines[line].record;
}

/* Bytes in piece i of a host buffer of len bytes in n pieces: equal shares,
 * the first len % n pieces one byte longer. */
static uint32_t piece_len(uint32_t len, uint32_t n, uint32_t i)
{
    return len / n + (i < len % n ? 1u : 0u);
}

/* Copies the task's host buffer (all its pieces, in order) to dst. */
static void gather(const struct replay_task *k, uint8_t *dst, uint64_t n)
{
    for (uint32_t i = 0; i < k->nbufs && n; i++) {
        uint64_t take = piece_len(k->len, k->nbufs, i);
        if (take > n)
            take = n;
        memcpy(dst, k->bufs[i]->vaddr, (size_t)take);
        dst += take;
        n -= take;
    }
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
        if (k->dir == TRACE_DATA_IN && k->din && k->bufs) {
            uint64_t n = c->bytes_transferred < k->len ? c->bytes_transferred : k->len;
            gather(k, k->din, n);
            k->din_len = (size_t)n;
        }
        k->done = true;
        pthread_cond_broadcast(&rp->cv);
    }
    pthread_mutex_unlock(&rp->lock);
}

void replay_free_buffers(struct replay *rp, struct replay_task *k)
{
    for (uint32_t i = 0; k->bufs && i < k->nbufs; i++)
        if (k->bufs[i] && rp->st)
            osal_dma_free(stack_osal(rp->st), k->bufs[i]);
    free(k->bufs);
    k->bufs = NULL;
    k->nbufs = 0;
}

/* The DOUT pieces (offset=), each at its offset, into buf (len bytes,
 * zeroed: bytes after a single DOUT shorter than len are sent as zeros).
 * 0, or -EINVAL when a piece is not concrete bytes. */
static int dout_bytes(const struct replay *rp, const struct trace_task *tk, uint8_t *buf, uint32_t len)
{
    for (size_t l = tk->dout; l != TRACE_NONE; l = rec(rp, l)->next_piece) {
        const struct trace_record *r = rec(rp, l);
        if (r->offset > len || trace_pattern_bytes(&r->data, buf + r->offset, len - r->offset) < 0)
            return -EINVAL;
    }
    return 0;
}

/* The host buffer of a command with data: `pieces` DMA buffers (the trace's
 * pieces=N, else one), the DOUT's bytes in them or, for data-in, the poison
 * byte.  0, or -1 with k's note saying why (nothing left allocated). */
static int host_buffer(struct replay *rp, struct replay_task *k, const struct trace_task *tk, uint32_t pieces)
{
    k->bufs = calloc(pieces, sizeof *k->bufs);
    if (!k->bufs) {
        snprintf(k->note, sizeof k->note, "out of memory for %u buffer pieces", pieces);
        return -1;
    }
    k->nbufs = pieces;
    for (uint32_t i = 0; i < pieces; i++) {
        int rc = osal_dma_alloc(stack_osal(rp->st), piece_len(k->len, pieces, i), 4096, &k->bufs[i]);
        if (rc < 0) {
            snprintf(k->note, sizeof k->note, "no DMA memory for %u bytes in %u piece(s) (%s); raise @controller "
                     "host-ram", k->len, pieces, strerror(-rc));
            k->bufs[i] = NULL;
            replay_free_buffers(rp, k);
            return -1;
        }
        if (k->dir == TRACE_DATA_IN)
            memset(k->bufs[i]->vaddr, REPLAY_DIN_POISON, piece_len(k->len, pieces, i));
    }
    if (k->dir == TRACE_DATA_IN) {
        k->din = malloc(k->len);
        if (!k->din) {
            snprintf(k->note, sizeof k->note, "out of memory for %u bytes of data-in", k->len);
            replay_free_buffers(rp, k);
            return -1;
        }
    } else if (k->dir == TRACE_DATA_OUT && tk->dout != TRACE_NONE) {
        /* The DOUT records' bytes, then spread over the buffer pieces. */
        uint8_t *bytes = pieces == 1 ? k->bufs[0]->vaddr : calloc(1, k->len);
        long n = bytes ? dout_bytes(rp, tk, bytes, k->len) : -ENOMEM;
        for (uint32_t i = 0, at = 0; n >= 0 && pieces > 1 && i < pieces; i++) {
            memcpy(k->bufs[i]->vaddr, bytes + at, piece_len(k->len, pieces, i));
            at += piece_len(k->len, pieces, i);
        }
        if (pieces > 1)
            free(bytes);
        if (n < 0) {
            snprintf(k->note, sizeof k->note, n == -ENOMEM ? "out of memory for the DOUT bytes"
                                                           : "the DOUT is not concrete bytes");
            replay_free_buffers(rp, k);
            return -1;
        }
    }
    return 0;
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
    task.timeout_ms = rp->t->host.given[TRACE_HOST_COMMAND_TIMEOUT] ? rp->t->host.command_timeout_ms
                                                                    : rp->o.driver_timeout_ms;
    static const enum drv_task_attr attrs[] = { [TRACE_ATTR_SIMPLE] = DRV_ATTR_SIMPLE,
                                                [TRACE_ATTR_ORDERED] = DRV_ATTR_ORDERED,
                                                [TRACE_ATTR_HEAD_OF_QUEUE] = DRV_ATTR_HEAD_OF_QUEUE,
                                                [TRACE_ATTR_ACA] = DRV_ATTR_ACA };
    task.attr = req->cmd.attr < TRACE_ATTR_COUNT ? attrs[req->cmd.attr] : DRV_ATTR_SIMPLE;

    struct drv_buffer_piece *pieces = NULL;
    if (task.requested_transfer) {
        uint32_t np = req->cmd.pieces ? req->cmd.pieces : 1;
        if (host_buffer(rp, k, tk, np) < 0)
            return;
        /* The core copies the piece list: it may go when stack_submit returns. */
        pieces = calloc(np, sizeof *pieces);
        if (!pieces) {
            snprintf(k->note, sizeof k->note, "out of memory for %u buffer pieces", np);
            replay_free_buffers(rp, k);
            free(k->din);
            k->din = NULL;
            return;
        }
        for (uint32_t i = 0; i < np; i++)
            pieces[i] = (struct drv_buffer_piece){ .buf = k->bufs[i], .offset = 0,
                                                   .length = piece_len(k->len, np, i) };
        task.pieces = pieces;
        task.piece_count = np;
    }

    k->submit_ns = replay_now_ns();
    k->submitted = true;
    int rc = stack_submit(rp->st, &task, task_done, k);
    free(pieces);
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
    /* A warning the driver core logged while the command ran (a deadline, a
     * controller reset) says why a status came out unexpected: the note of a
     * failed check that has no other (replay_actual). */
    if (done && !k->reaped && rp->last_log[0] && rp->last_log_ns >= k->submit_ns && rp->last_log_ns <= k->done_ns)
        snprintf(k->driver_note, sizeof k->driver_note, "while it ran the driver logged: %.*s",
                 (int)(REPLAY_NOTE_MAX - sizeof "while it ran the driver logged: "), rp->last_log);
    pthread_mutex_unlock(&rp->lock);
    if (!done || k->reaped)
        return;
    k->reaped = true;
    replay_free_buffers(rp, k);
    if (!k->note[0] && k->c.response != DRV_SR_TASK_COMPLETE)
        snprintf(k->note, sizeof k->note, "the driver completed it with %s (controller status %#x: %s)",
                 stack_response_name(k->c.response), k->c.ctrl_status, stack_ctrl_status_name(k->c.ctrl_status));
}

/* Whether task k was ended by a TMF record (the trace's ended_by). */
static bool ended_by_tmf(const struct replay *rp, const struct replay_task *k)
{
    size_t by = rp->t->tasks[k->index].ended_by;
    return by != TRACE_NONE && rp->t->lines[by].kind == TRACE_LINE_RECORD &&
           rp->t->lines[by].record.verb == TRACE_VERB_TMF;
}

void replay_actual(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a)
{
    if (rec(rp, rp->t->tasks[k->index].request)->verb == TRACE_VERB_TMF) {
        replay_tmf_actual(rp, k, a);
        return;
    }
    memset(a, 0, sizeof *a);
    a->submitted = k->submitted;
    a->completed = k->done;
    a->note = k->note[0] ? k->note : k->driver_note[0] ? k->driver_note : NULL;
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
    } else if (ended_by_tmf(rp, k) && (c->ctrl_status == HBA_CS_ABORTED || c->ctrl_status == HBA_CS_ABORTED_RESET)) {
        /* Ended by the task management function the trace sent: what the
         * SCSI layer above reports for it (as backend_stack does). */
        a->status = SCSI_STATUS_TASK_ABORTED;
    } else {
        a->status = TRACE_STATUS_SERVICE_FAILURE;
    }
    a->xfer = c->bytes_transferred;
    if (k->dir == TRACE_DATA_IN && k->din) {
        a->din = k->din;
        a->din_len = k->din_len;
        a->din_raced_ok = k->din_raced_ok;
    }
    a->elapsed_known = true;
    a->elapsed_ns = k->done_ns - k->submit_ns;
}
