/* core/core_task.c — UserProcessParallelTask: a task from the layer above
 * becomes one HBA_OP_SCSI command (or several, when a READ/WRITE is split),
 * and its completion becomes one drv_completion.
 *
 * Life of a task (all on the dispatch queue after drv_core_process_task):
 *   task_start     decide split / reject, then wait in the pending FIFO
 *   task_drain     give pending tasks free slots, round-robin over the queues
 *   submit         prepare DMA once (pieces or bounce), build the SGL of one
 *                  chunk, write the entry; the doorbell follows once per
 *                  queue per burst (task_drain).  A split task stays at the head of the
 *                  FIFO until up to DRV_SPLIT_WINDOW of its chunks are at the
 *                  controller together (one at a time when bounced)
 *   task_command_done   one piece back: a re-issue after an abort/reset, a
 *                  stop (an error or a short transfer: nothing more is sent),
 *                  and, once nothing is out and nothing left to send, the
 *                  task's one completion (task_settle) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "core/drv_mutant.h"
#include "scsi/scsi.h"

/* ---- the task list and the pending FIFO ---------------------------------- */

static void link_io(struct drv_core *core, struct drv_io *io)
{
    io->prev = NULL;
    io->next = core->ios;
    if (core->ios)
        core->ios->prev = io;
    core->ios = io;
}

static void unlink_io(struct drv_core *core, struct drv_io *io)
{
    if (io->prev)
        io->prev->next = io->next;
    else
        core->ios = io->next;
    if (io->next)
        io->next->prev = io->prev;
    io->prev = io->next = NULL;
}

static void pend_push_back(struct drv_core *core, struct drv_io *io)
{
    io->pending = true;
    io->pend_next = NULL;
    if (core->pend_tail)
        core->pend_tail->pend_next = io;
    else
        core->pend_head = io;
    core->pend_tail = io;
}

void task_requeue_front(struct drv_core *core, struct drv_io *io)
{
    io->pending = true;
    io->pend_next = core->pend_head;
    core->pend_head = io;
    if (!core->pend_tail)
        core->pend_tail = io;
}

static void pend_remove(struct drv_core *core, struct drv_io *io)
{
    struct drv_io **pp = &core->pend_head, *prev = NULL;
    while (*pp && *pp != io) {
        prev = *pp;
        pp = &(*pp)->pend_next;
    }
    if (!*pp)
        return;
    *pp = io->pend_next;
    if (core->pend_tail == io)
        core->pend_tail = prev;
    io->pending = false;
    io->pend_next = NULL;
}

/* ---- the pieces of a task at the controller -------------------------------- */

/* How many commands of io may be at the controller together.  A bounced task
 * has one bounce buffer, which each chunk uses in turn. */
static unsigned io_window(const struct drv_io *io)
{
    return io->split && !io->bounce ? DRV_SPLIT_WINDOW : 1u;
}

static void chunk_span(const struct drv_io *io, uint32_t chunk, uint64_t *off, uint64_t *len)
{
    if (!io->split) {
        uint64_t n = io->t.requested_transfer;
        *off = 0;
        *len = n > UINT32_MAX ? UINT32_MAX : n; /* only a mutant gets here with more */
        return;
    }
    uint64_t first = (uint64_t)chunk * io->plan.chunk_blocks;
    uint64_t blocks = io->rw.blocks - first < io->plan.chunk_blocks ? io->rw.blocks - first : io->plan.chunk_blocks;
    *off = first * io->plan.block_size;
    *len = blocks * io->plan.block_size;
}

/* Whether io has a chunk it may send now. */
static bool can_send(const struct drv_io *io)
{
    if (io->stopped || io->terminate || io->deferred)
        return false;
    if (io->nredo) /* nout + nredo <= window, unless a re-prepare after a reset chose to bounce */
        return io->nout < io_window(io);
    if (io->probe)
        return io->nout == 0;
    return io->next_chunk < io->end_chunk && io->nout + io->nredo < io_window(io);
}

static void piece_remove(struct drv_io *io, unsigned i)
{
    io->out[i] = io->out[--io->nout];
}

void task_pieces_lost(struct drv_io *io)
{
    while (io->nout) {
        struct drv_piece *p = &io->out[io->nout - 1];
        if (p->cmd->io == io)
            p->cmd->io = NULL;
        io->redo[io->nredo++] = p->chunk;
        piece_remove(io, io->nout - 1u);
    }
}

/* ---- completion ------------------------------------------------------------ */

/* F4: the broken driver "fixes up" MODE SENSE data and reports the cache off. */
static void fixup_mode_sense(struct drv_io *io, uint64_t bytes)
{
    uint8_t data[1024];
    uint64_t n = bytes < sizeof data ? bytes : sizeof data;
    io_copy_from_pieces(io, 0, data, n);
    long at = cdb_mode_caching_page(io->t.cdb, data, n);
    if (at >= 0) {
        data[at + 2] &= (uint8_t)~0x04u; /* WCE */
        io_copy_to_pieces(io, (uint64_t)at + 2, &data[at + 2], 1);
    }
}

static void task_finish(struct drv_core *core, struct drv_io *io, struct drv_completion *c)
{
    /* Only a task that completed, in a running core, waits for the batch's
     * end; anything else (a failure, an abort, a reset) is reported at once,
     * after what the batch holds, with the batch off so that its own unmap
     * is waited for before its done runs; the batch goes on after it. */
    bool batch = core->finish_batch && c->response == DRV_SR_TASK_COMPLETE && !io->terminate &&
                 core_state(core) == CORE_RUNNING;
    bool resume = core->finish_batch && !batch;
    if (resume)
        task_batch_end(core);
    for (unsigned i = 0; i < io->nout; i++) /* its commands may still complete: their slots forget the task */
        if (io->out[i].cmd->io == io)
            io->out[i].cmd->io = NULL;
    io->nout = 0;
    if (io->pending)
        pend_remove(core, io);
    io_dma_release(core, io);
    if (DRV_MUTANT(F4) && c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_GOOD &&
        cdb_is_mode_sense(io->t.cdb, io->t.cdb_len))
        fixup_mode_sense(io, c->bytes_transferred);
    unlink_io(core, io);
    core->ordered_tasks -= io->t.attr == DRV_ATTR_ORDERED;
    core->stats.completed++;
    if (c->response == DRV_SR_FUNCTION_REJECTED && c->ctrl_status == HBA_CS_SUCCESS)
        core->stats.rejected_tasks++;
    c->task_id = io->t.task_id;
    bool by_tmf = io->terminate;
    if (DRV_MUTANT(ABORTED_GOOD) && by_tmf && c->response != DRV_SR_TASK_COMPLETE) {
        /* The mutant: an aborted command reported upward as done. */
        c->response = DRV_SR_TASK_COMPLETE;
        c->scsi_status = SCSI_STATUS_GOOD;
        c->ctrl_status = HBA_CS_SUCCESS;
    }
    if (batch) {
        io->stop = *c;
        io->fin_next = NULL;
        *core->finished_tail = io;
        core->finished_tail = &io->fin_next;
        return;
    }
    io->done(io->arg, c);
    io_put(core, io);
    if (by_tmf)
        tmf_task_ended(core); /* after its done: the function answers last */
    if (resume)
        task_batch_begin(core);
}

void task_fail(struct drv_core *core, struct drv_io *io, enum drv_service_response r, uint8_t ctrl_status)
{
    struct drv_completion c;
    memset(&c, 0, sizeof c);
    c.response = r;
    c.ctrl_status = ctrl_status;
    c.bytes_transferred = io->done_bytes;
    task_finish(core, io, &c);
}

void task_fail_all(struct drv_core *core, enum drv_service_response r)
{
    while (core->ios)
        task_fail(core, core->ios, r, HBA_CS_SUCCESS);
}

/* ILLEGAL REQUEST: the device checks a CDB before it moves any data, so a
 * piece refused this way (LBA OUT OF RANGE past the end of the medium) means
 * the whole command would have been refused, having transferred nothing. */
static bool refused(const struct drv_completion *c)
{
    if (c->scsi_status != SCSI_STATUS_CHECK_CONDITION || c->sense_len < 3)
        return false;
    uint8_t code = c->sense[0] & 0x7Fu;
    uint8_t key = code >= 0x72u ? c->sense[1] & 0x0Fu : c->sense[2] & 0x0Fu;
    return key == 0x05u; /* SPC-4 4.4: ILLEGAL REQUEST, in fixed or descriptor format */
}

/* The piece carrying chunk ended the task's transfer with c.  Of several, the
 * task reports the one a single command would have: a refusal of the CDB
 * before anything else, then the lowest in LBA order; its bytes are those of
 * the chunks before it — all of them complete, since a stop holds back what
 * follows — and its own (SAM-5: a transfer counts from the start). */
static void task_stop(struct drv_io *io, uint32_t chunk, struct drv_completion *c, uint64_t piece_bytes)
{
    bool ref = refused(c);
    if (io->stopped && (io->stop_refused > ref || (io->stop_refused == ref && io->stop_chunk < chunk)))
        return;
    uint64_t off, len;
    chunk_span(io, chunk, &off, &len);
    if (io->probe && chunk == io->end_chunk)
        off = 0; /* a split WRITE's probe: nothing was sent before it */
    c->bytes_transferred = ref ? 0 : off + piece_bytes;
    io->stop = *c;
    io->stopped = true;
    io->stop_refused = ref;
    io->stop_chunk = chunk;
}

void task_settle(struct drv_core *core, struct drv_io *io)
{
    if (can_send(io)) {
        if (!io->pending)
            task_requeue_front(core, io); /* its next chunk before later tasks */
        return;
    }
    if (io->pending)
        pend_remove(core, io);
    if (io->nout)
        return; /* the last piece back ends the task */
    if (io->deferred && !io->stopped && !io->terminate)
        return; /* TASK SET FULL or BUSY: the tick sends it again */
    if (io->stopped) {
        struct drv_completion c = io->stop;
        task_finish(core, io, &c);
    } else if (io->next_chunk == io->end_chunk && !io->probe && !io->nredo) {
        struct drv_completion c;
        memset(&c, 0, sizeof c);
        c.response = DRV_SR_TASK_COMPLETE;
        c.ctrl_status = HBA_CS_SUCCESS;
        c.scsi_status = SCSI_STATUS_GOOD;
        c.bytes_transferred = io->done_bytes;
        task_finish(core, io, &c);
    } else {
        /* Ended by a task management function before every chunk was sent. */
        task_fail(core, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_ABORTED);
    }
}

static bool reissuable(uint8_t cs)
{
    return cs == HBA_CS_ABORTED || cs == HBA_CS_ABORTED_RESET || cs == HBA_CS_ABORTED_SQ_DELETED;
}

/* The chunk goes again; one event that ends several pieces of a task
 * together counts as one re-issue of the task. */
static void redo_chunk(struct drv_core *core, struct drv_io *io, uint32_t chunk, bool count)
{
    if (count && !io->nredo) {
        io->reissues++;
        core->stats.reissues++;
    }
    io->redo[io->nredo++] = chunk;
}

void task_command_done(struct drv_core *core, struct drv_io *io, const struct drv_cmd *cmd,
                       const struct hba_cq_entry *cqe, const uint8_t *sense)
{
    uint32_t chunk = 0;
    for (unsigned i = 0; i < io->nout; i++)
        if (io->out[i].cmd == cmd) {
            chunk = io->out[i].chunk;
            piece_remove(io, i);
            break;
        }
    uint8_t cs = cqe->ctrl_status;
    int s = core_state(core);
    /* A task a task management function ended is never sent again. */
    if (reissuable(cs) && !io->terminate && !io->stopped && (s == CORE_RUNNING || s == CORE_RECOVERING)) {
        /* Ended by our own recovery (or a reset for another command): the
         * command never ran to completion, so it is sent again. */
        if (io->reissues < core->opt.max_reissues || io->nredo) {
            redo_chunk(core, io, chunk, true);
            task_settle(core, io);
            return;
        }
        osal_log(core->os, OSAL_LOG_ERROR, "drv: task %llu ended by recovery %u times: failing it",
                 (unsigned long long)io->t.task_id, io->reissues + 1);
    }
    if (cs == HBA_CS_SUCCESS && !io->terminate && !io->stopped && s == CORE_RUNNING &&
        (cqe->scsi_status == SCSI_STATUS_TASK_SET_FULL || cqe->scsi_status == SCSI_STATUS_BUSY)) {
        /* The device cannot take the command now (its task set is full, or
         * it is busy): SAM-5 5.3 has the initiator try again later.  The
         * core does, at its next tick, for as long as the command's own
         * timeout; then the status goes up as it is. */
        if (DRV_MUTANT(TSF_FATAL) && cqe->scsi_status == SCSI_STATUS_TASK_SET_FULL) {
            /* The mutant: a full task set taken for a dead device. */
            task_fail(core, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_SUCCESS);
            return;
        }
        uint64_t now = core_now_ns(core);
        if (io->busy_retries == 0) {
            uint32_t timeout = io->t.timeout_ms ? io->t.timeout_ms : core->opt.default_timeout_ms;
            io->busy_until_ns = now + (uint64_t)timeout * 1000000u;
        }
        if (now < io->busy_until_ns) {
            io->busy_retries++;
            core->stats.busy_retries++;
            io->deferred = true;
            redo_chunk(core, io, chunk, false);
            if (!core->tick_armed)
                recovery_arm_tick(core);
            task_settle(core, io);
            return;
        }
    }
    uint64_t off, len;
    chunk_span(io, chunk, &off, &len);
    struct drv_completion c;
    memset(&c, 0, sizeof c);
    c.ctrl_status = cs;
    c.response = task_response_for(cs);
    uint64_t bytes = 0;
    if (cs == HBA_CS_SUCCESS) {
        bytes = cqe->result < len ? cqe->result : len;
        if (io->bounce && io->t.dir == DRV_DIR_FROM_TARGET && bytes)
            io_copy_to_pieces(io, off, io->bounce_mem.buf->vaddr, bytes);
        if (io->split && cqe->scsi_status == SCSI_STATUS_GOOD && bytes == len) {
            io->done_bytes += bytes;
            if (io->probe && chunk == io->end_chunk)
                io->probe = false; /* the last chunk is in range: the others may go */
            task_settle(core, io);
            return;
        }
        c.scsi_status = cqe->scsi_status;
        c.sense_len = cqe->sense_len;
        memcpy(c.sense, sense, c.sense_len);
    } else if (cs == HBA_CS_INVALID_TARGET) {
        /* Selection timeout: nothing answered at this address. */
    } else if (!io->terminate) { /* an abort asked for is no failure worth a warning */
        osal_log(core->os, OSAL_LOG_WARN, "drv: task %llu (%u:%u opcode %#x) failed with controller status %#x",
                 (unsigned long long)io->t.task_id, io->t.target, io->t.lun, io->t.cdb[0], cs);
    }
    task_stop(io, chunk, &c, bytes);
    task_settle(core, io);
}

/* ---- submission -------------------------------------------------------------- */

static uint8_t entry_flags(enum drv_dir d)
{
    switch (d) {
    case DRV_DIR_FROM_INITIATOR: return HBA_FLAG_DIR_WRITE;
    case DRV_DIR_FROM_TARGET:    return HBA_FLAG_DIR_READ;
    default:                     return HBA_FLAG_DIR_NONE;
    }
}

static void reject(struct drv_core *core, struct drv_io *io, const char *why)
{
    osal_log(core->os, OSAL_LOG_WARN, "drv: task %llu (opcode %#x, %llu bytes) rejected: %s",
             (unsigned long long)io->t.task_id, io->t.cdb[0], (unsigned long long)io->t.requested_transfer, why);
    task_fail(core, io, DRV_SR_FUNCTION_REJECTED, HBA_CS_SUCCESS);
}

/* A chunk the HBA cannot carry stops the task (with its pieces already at
 * the controller, once they are back). */
static void refuse_chunk(struct drv_core *core, struct drv_io *io, uint32_t chunk, enum drv_service_response r,
                         const char *why)
{
    osal_log(core->os, OSAL_LOG_WARN, "drv: task %llu (opcode %#x, %llu bytes) %s: %s",
             (unsigned long long)io->t.task_id, io->t.cdb[0], (unsigned long long)io->t.requested_transfer,
             r == DRV_SR_FUNCTION_REJECTED ? "rejected" : "failed", why);
    struct drv_completion c;
    memset(&c, 0, sizeof c);
    c.response = r;
    c.ctrl_status = HBA_CS_SUCCESS;
    task_stop(io, chunk, &c, 0);
    task_settle(core, io);
}

/* Sends io's next chunk on q (which has room): one sent again first, then a
 * split WRITE's probe, then the next in LBA order.  io stays pending while
 * it has more to send; on a failure it stops here.  *now: the drain's clock (0: unread). */
static void submit(struct drv_core *core, struct drv_io *io, struct drv_queue *q, uint64_t *now)
{
    if (!can_send(io)) {
        task_settle(core, io);
        return;
    }
    uint32_t chunk = io->nredo ? io->redo[io->nredo - 1u] : io->probe ? io->end_chunk : io->next_chunk;
    int rc = io_dma_prepare(core, io);
    if (rc == -E2BIG || rc == -EINVAL) {
        refuse_chunk(core, io, chunk, DRV_SR_FUNCTION_REJECTED,
                     "its data cannot be described within the HBA constraints");
        return;
    }
    if (rc < 0) {
        refuse_chunk(core, io, chunk, DRV_SR_SERVICE_DELIVERY_FAILURE, "preparing its data for DMA failed");
        return;
    }
    if (io->nout && !can_send(io)) { /* the bounce buffer, chosen just now, takes one chunk at a time */
        task_settle(core, io);
        return;
    }
    uint64_t off, len;
    chunk_span(io, chunk, &off, &len);
    struct drv_cmd *cmd = queue_slot_get(q);
    struct hba_sq_entry e;
    memset(&e, 0, sizeof e);
    e.opcode = HBA_OP_SCSI;
    e.flags = entry_flags(io->t.dir);
    /* The task attribute, as the host gave it: the controller's task set
     * orders by it (ORDERED and HEAD OF QUEUE), so a driver that drops it
     * lets SIMPLE reordering overtake a barrier the host relies on. */
    e.flags |= (uint8_t)((unsigned)io->t.attr << HBA_FLAG_ATTR_SHIFT);
    e.cid = cmd->cid;
    e.target = io->t.target;
    e.lun = io->t.lun;
    e.initiator = io->t.initiator;
    e.target_port = io->t.target_port;   /* multipath: the firmware answers per port */
    e.cdb_len = io->t.cdb_len;
    memcpy(e.u.cdb, io->t.cdb, io->t.cdb_len);
    if (io->split)
        cdb_rw_retarget(io->t.cdb, io->t.cdb_len, io->rw.lba + off / io->plan.block_size,
                        (uint32_t)(len / io->plan.block_size), e.u.cdb);
    if (DRV_MUTANT(F5B))
        cdb_clear_write_fua(e.u.cdb, e.cdb_len);
    e.sense_len = HBA_SENSE_MAX;
    e.sense_addr = cmd->sense_iova;
    e.data_len = (uint32_t)len;
    uint32_t timeout = io->t.timeout_ms ? io->t.timeout_ms : core->opt.default_timeout_ms;
    e.timeout_ms = timeout;
    if (len) {
        struct sgl_space space = { .cpu = cmd->lists, .list_iova = cmd->lists_iova, .lists = DRV_SGL_LISTS };
        enum sgl_verdict v = sgl_build(io->segs, io->nsegs, io->bounce ? 0 : off, len, &space, &e.sge, NULL);
        if (v != SGL_OK) {
            queue_slot_put(q, cmd);
            refuse_chunk(core, io, chunk, DRV_SR_FUNCTION_REJECTED, sgl_verdict_name(v));
            return;
        }
        if (io->bounce && io->t.dir == DRV_DIR_FROM_INITIATOR)
            io_copy_from_pieces(io, off, io->bounce_mem.buf->vaddr, len);
    }
    if (io->nredo)
        io->nredo--;
    else if (!io->probe)
        io->next_chunk++;
    cmd->io = io;
    cmd->deadline_ns = (*now ? *now : (*now = core_now_ns(core))) + (uint64_t)timeout * 1000000u;
    io->out[io->nout++] = (struct drv_piece){ .cmd = cmd, .q = q, .chunk = chunk };
    queue_push(q, &e);
    core->stats.commands++;
    if (!can_send(io))
        pend_remove(core, io);
}

static struct drv_queue *pick_queue(struct drv_core *core)
{
    for (unsigned k = 0; k < core->nioq; k++) {
        struct drv_queue *q = &core->ioq[(core->next_q + k) % core->nioq];
        if (queue_has_room(q)) {
            core->next_q = (core->next_q + k + 1u) % core->nioq;
            return q;
        }
    }
    return NULL;
}

/* The pending tasks in order, each sent unless the ORDERED rule holds it
 * back (core_order.c); one held back holds back the later ones of its LU,
 * which keeps their order.  A split task sends all the chunks it may before
 * the next task is looked at. */
static void drain_ordered(struct drv_core *core, uint64_t *now)
{
    struct order_block blocked = { 0 };
    struct drv_io *next;
    for (struct drv_io *io = core->pend_head; io; io = next) {
        next = io->pend_next;
        if (order_blocked(&blocked, io) || order_must_wait(core, io)) {
            if (!order_block(&blocked, io))
                return;
            continue;
        }
        struct drv_queue *q;
        while (io->pending && (q = pick_queue(core)) != NULL)
            submit(core, io, q, now);
        if (io->pending)
            return; /* no room left */
    }
}

/* Sends what may be sent; then rings each queue's doorbell for what it
 * wrote — unless a task_start is queued and fewer than DRV_DOORBELL_BATCH
 * entries wait: that start drains after this one and rings for both (it
 * always drains, whatever becomes of its own task). */
void task_drain(struct drv_core *core)
{
    struct drv_queue *q;
    bool running = core_state(core) == CORE_RUNNING; /* the ringing below runs either way */
    uint64_t now = 0; /* one clock read for every deadline of the drain: they are in milliseconds */
    if (running && core->ordered_tasks)
        drain_ordered(core, &now);
    else if (running)
        while (core->pend_head && (q = pick_queue(core)) != NULL)
            submit(core, core->pend_head, q, &now);
    bool more = core->starts_local || atomic_load_explicit(&core->starts_foreign, memory_order_acquire);
    for (unsigned i = 0; i < core->nioq; i++)
        if (!more || queue_unrung(&core->ioq[i]) >= DRV_DOORBELL_BATCH)
            queue_ring(core, &core->ioq[i]);
}

static void task_start_one(void *arg)
{
    struct drv_io *io = arg;
    struct drv_core *core = io->core;
    if (io->t.attr > DRV_ATTR_ACA)
        io->t.attr = DRV_ATTR_SIMPLE;
    if (DRV_MUTANT(ORDERED_SIMPLE) && io->t.attr == DRV_ATTR_ORDERED)
        io->t.attr = DRV_ATTR_SIMPLE; /* the mutant: "the HBA has no ordered tags" */
    link_io(core, io);
    core->ordered_tasks += io->t.attr == DRV_ATTR_ORDERED;
    core->stats.tasks++;
    int s = core_state(core);
    if (s != CORE_RUNNING && s != CORE_RECOVERING) {
        task_fail(core, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_SUCCESS);
        return;
    }
    if (DRV_MUTANT(F1) && cdb_is_sync_cache(io->t.cdb, io->t.cdb_len)) {
        struct drv_completion c; /* "the cache is the controller's business": GOOD, never sent */
        memset(&c, 0, sizeof c);
        task_finish(core, io, &c);
        return;
    }
    if (DRV_MUTANT(F6) && io->t.cdb_len && io->t.cdb[0] >= 0xC0) {
        reject(core, io, "vendor-specific opcode filtered"); /* "the HBA only speaks SBC" */
        return;
    }
    if (io->t.requested_transfer > core->lim.max_bytes && !DRV_MUTANT(F5)) {
        int rc = -EINVAL;
        if (cdb_parse_rw(io->t.cdb, io->t.cdb_len, &io->rw))
            rc = cdb_split_plan(&io->rw, io->t.requested_transfer, core->lim.max_bytes, &io->plan);
        if (rc < 0) {
            reject(core, io, "longer than the HBA's maximum transfer and not a READ/WRITE that can be split");
            return;
        }
        io->split = true;
        core->stats.split_tasks++;
    }
    io->end_chunk = io->split ? io->plan.chunks : 1u;
    if (io->split && io->plan.chunks > 1 && io->t.dir != DRV_DIR_FROM_TARGET) {
        /* A split WRITE sends the chunk holding its LAST block first, alone:
         * if the request runs past the end of the medium, the firmware
         * refuses that chunk (LBA OUT OF RANGE) and nothing is written, as
         * SBC-4 requires of an out-of-range command.  The other chunks then
         * go together.  A READ sends every chunk at once: a refused chunk
         * leaves nothing on the medium, and the task then reports no data
         * (task_stop). */
        io->probe = true;
        io->end_chunk--;
    }
    if (io->t.attr == DRV_ATTR_HEAD_OF_QUEUE)
        task_requeue_front(core, io); /* SAM-5 8.6: before the tasks waiting */
    else
        pend_push_back(core, io);
}

/* One task_start block more (queued) or less (run or not queued after all). */
static void count_start(struct drv_core *core, const struct drv_io *io, bool more)
{
    if (io->start_local && more)
        core->starts_local++;
    else if (io->start_local)
        core->starts_local--;
    else if (more)
        atomic_fetch_add_explicit(&core->starts_foreign, 1, memory_order_acq_rel);
    else
        atomic_fetch_sub_explicit(&core->starts_foreign, 1, memory_order_acq_rel);
}

/* The block drv_core_process_task queues.  The drain runs on every path, even
 * when the task was refused or ended at once: an earlier start may have
 * written entries and left their doorbell to this one (task_drain). */
static void task_start(void *arg)
{
    struct drv_io *io = arg;
    struct drv_core *core = io->core;
    count_start(core, io, false);
    task_start_one(io);
    task_drain(core);
}

int drv_core_process_task(struct drv_core *core, const struct drv_task *t, drv_task_done done, void *arg)
{
    if (!core || !done)
        return -EINVAL;
    int rc = task_check(t);
    if (rc < 0)
        return rc;
    int s = core_state(core);
    if (s == CORE_CREATED || s == CORE_STOPPING || s == CORE_STOPPED)
        return -ESHUTDOWN;
    struct drv_io *io = io_get(core);
    if (!io)
        return -ENOMEM;
    if (t->piece_count) {
        io->pieces = t->piece_count <= DRV_IO_INLINE_PIECES ? io->piece_store
                                                            : calloc(t->piece_count, sizeof *io->pieces);
        if (!io->pieces) {
            io_put(core, io);
            return -ENOMEM;
        }
        memcpy(io->pieces, t->pieces, t->piece_count * sizeof *io->pieces);
    }
    io->core = core;
    io->t = *t;
    io->t.pieces = io->pieces;
    io->done = done;
    io->arg = arg;
    /* Counted before it is queued, so that no drain between the two rings
     * for it; a start that cannot be queued (the OS tearing down, or out of
     * memory) is uncounted again. */
    io->start_local = osal_on_queue(core->os);
    count_start(core, io, true);
    rc = osal_queue_async(core->os, task_start, io);
    if (rc < 0) {
        count_start(core, io, false);
        io_put(core, io);
    }
    return rc;
}

/* --- a reap's batch ---------------------------------------------------------
 * A reap that finds many completions at once unmaps all their DMA with one
 * IOMMU wait (osal_dma_defer_begin/end) instead of one wait per task: in two
 * processes each wait is a round trip to the controller's process.  The
 * tasks' done callbacks run only after that wait, so no caller sees its
 * buffer before the device can no longer reach it. */

bool task_batch_begin(struct drv_core *core)
{
    if (core->finish_batch)
        return false;
    core->finish_batch = true;
    core->finished = NULL;
    core->finished_tail = &core->finished;
    osal_dma_defer_begin(core->os);
    return true;
}

/* Ends the deferral and reports what ended in the batch, in order.  A done
 * callback may submit, or reap again: the batch is off while they run. */
void task_batch_end(struct drv_core *core)
{
    core->finish_batch = false;
    osal_dma_defer_end(core->os);
    struct drv_io *io = core->finished;
    core->finished = NULL;
    core->finished_tail = &core->finished;
    while (io) {
        struct drv_io *next = io->fin_next;
        io->done(io->arg, &io->stop);
        io_put(core, io);
        io = next;
    }
}
