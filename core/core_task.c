/* core/core_task.c — UserProcessParallelTask: a task from the layer above
 * becomes one HBA_OP_SCSI command (or several, when a READ/WRITE is split),
 * and its completion becomes one drv_completion.
 *
 * Life of a task (all on the dispatch queue after drv_core_process_task):
 *   task_start     decide split / reject, then wait in the pending FIFO
 *   task_drain     give pending tasks free slots, round-robin over the queues
 *   submit         prepare DMA once (pieces or bounce), build the SGL of the
 *                  current chunk, write the entry; the doorbell follows once
 *                  per queue per drain
 *   task_command_done   the next chunk, a re-issue after an abort/reset, or
 *                  the final completion */
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

static struct drv_io *pend_pop(struct drv_core *core)
{
    struct drv_io *io = core->pend_head;
    if (!io)
        return NULL;
    core->pend_head = io->pend_next;
    if (!core->pend_head)
        core->pend_tail = NULL;
    io->pending = false;
    io->pend_next = NULL;
    return io;
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
    if (io->cmd) { /* its command may still complete: let the slot forget the task */
        io->cmd->io = NULL;
        io->cmd = NULL;
    }
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
    io->done(io->arg, c);
    io_put(core, io);
    if (by_tmf)
        tmf_task_ended(core); /* after its done: the function answers last */
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

/* A split READ/WRITE sends the chunk holding the request's LAST block first:
 * if the request runs past the end of the medium, the firmware refuses that
 * chunk (LBA OUT OF RANGE) and nothing else is sent, so the task transfers
 * nothing, as SBC-4 requires of an out-of-range command.  The other chunks
 * follow in order; one command's blocks carry no ordering promise. */
static uint32_t chunk_of_step(const struct drv_io *io, uint32_t step)
{
    if (!io->split || io->plan.chunks <= 1)
        return step;
    return step == 0 ? io->plan.chunks - 1 : step - 1;
}

static void chunk_setup(struct drv_io *io, uint32_t step)
{
    io->step = step;
    if (!io->split) {
        io->chunk_off = 0;
        uint64_t len = io->t.requested_transfer;
        io->chunk_len = len > UINT32_MAX ? UINT32_MAX : len; /* only a mutant gets here with more */
        return;
    }
    uint64_t first = (uint64_t)chunk_of_step(io, step) * io->plan.chunk_blocks;
    uint64_t blocks = io->rw.blocks - first < io->plan.chunk_blocks ? io->rw.blocks - first : io->plan.chunk_blocks;
    io->chunk_off = first * io->plan.block_size;
    io->chunk_len = blocks * io->plan.block_size;
}

static bool reissuable(uint8_t cs)
{
    return cs == HBA_CS_ABORTED || cs == HBA_CS_ABORTED_RESET || cs == HBA_CS_ABORTED_SQ_DELETED;
}

void task_command_done(struct drv_core *core, struct drv_io *io, const struct hba_cq_entry *cqe,
                       const uint8_t *sense)
{
    uint8_t cs = cqe->ctrl_status;
    int s = core_state(core);
    /* A task a task management function ended is never sent again. */
    if (reissuable(cs) && !io->terminate && (s == CORE_RUNNING || s == CORE_RECOVERING)) {
        /* Ended by our own recovery (or a reset for another command): the
         * command never ran to completion, so it is sent again. */
        if (io->reissues < core->opt.max_reissues) {
            io->reissues++;
            core->stats.reissues++;
            task_requeue_front(core, io);
            return;
        }
        osal_log(core->os, OSAL_LOG_ERROR, "drv: task %llu ended by recovery %u times: failing it",
                 (unsigned long long)io->t.task_id, io->reissues + 1);
    }
    if (cs == HBA_CS_SUCCESS && !io->terminate && s == CORE_RUNNING &&
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
            if (!core->tick_armed)
                recovery_arm_tick(core);
            return;
        }
    }
    struct drv_completion c;
    memset(&c, 0, sizeof c);
    c.ctrl_status = cs;
    c.response = task_response_for(cs);
    if (cs == HBA_CS_SUCCESS) {
        uint64_t bytes = cqe->result < io->chunk_len ? cqe->result : io->chunk_len;
        if (io->bounce && io->t.dir == DRV_DIR_FROM_TARGET && bytes)
            io_copy_to_pieces(io, io->chunk_off, io->bounce_mem.buf->vaddr, bytes);
        io->done_bytes += bytes;
        bool more = io->split && io->step + 1u < io->plan.chunks;
        if (more && !io->terminate && cqe->scsi_status == SCSI_STATUS_GOOD && bytes == io->chunk_len) {
            chunk_setup(io, io->step + 1u);
            task_requeue_front(core, io);
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
    c.bytes_transferred = io->done_bytes;
    task_finish(core, io, &c);
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

/* Sends the task's current chunk on q (which has room).  On a failure the
 * task is completed here. */
static void submit(struct drv_core *core, struct drv_io *io, struct drv_queue *q)
{
    int rc = io_dma_prepare(core, io);
    if (rc == -E2BIG || rc == -EINVAL) {
        reject(core, io, "its data cannot be described within the HBA constraints");
        return;
    }
    if (rc < 0) {
        osal_log(core->os, OSAL_LOG_ERROR, "drv: task %llu: preparing its data for DMA failed (%d)",
                 (unsigned long long)io->t.task_id, rc);
        task_fail(core, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_SUCCESS);
        return;
    }
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
        cdb_rw_retarget(io->t.cdb, io->t.cdb_len, io->rw.lba + io->chunk_off / io->plan.block_size,
                        (uint32_t)(io->chunk_len / io->plan.block_size), e.u.cdb);
    if (DRV_MUTANT(F5B))
        cdb_clear_write_fua(e.u.cdb, e.cdb_len);
    e.sense_len = HBA_SENSE_MAX;
    e.sense_addr = cmd->sense_iova;
    e.data_len = (uint32_t)io->chunk_len;
    uint32_t timeout = io->t.timeout_ms ? io->t.timeout_ms : core->opt.default_timeout_ms;
    e.timeout_ms = timeout;
    if (io->chunk_len) {
        struct sgl_space space = { .cpu = cmd->lists, .list_iova = cmd->lists_iova, .lists = DRV_SGL_LISTS };
        enum sgl_verdict v = sgl_build(io->segs, io->nsegs, io->bounce ? 0 : io->chunk_off, io->chunk_len, &space,
                                       &e.sge, NULL);
        if (v != SGL_OK) {
            queue_slot_put(q, cmd);
            reject(core, io, sgl_verdict_name(v));
            return;
        }
        if (io->bounce && io->t.dir == DRV_DIR_FROM_INITIATOR)
            io_copy_from_pieces(io, io->chunk_off, io->bounce_mem.buf->vaddr, io->chunk_len);
    }
    cmd->io = io;
    cmd->deadline_ns = core_now_ns(core) + (uint64_t)timeout * 1000000u;
    io->cmd = cmd;
    io->q = q;
    queue_push(q, &e);
    core->stats.commands++;
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
 * which keeps their order. */
static void drain_ordered(struct drv_core *core)
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
        struct drv_queue *q = pick_queue(core);
        if (!q)
            return;
        pend_remove(core, io);
        submit(core, io, q);
    }
}

void task_drain(struct drv_core *core)
{
    if (core_state(core) != CORE_RUNNING)
        return;
    struct drv_queue *q;
    if (core->ordered_tasks)
        drain_ordered(core);
    else
        while (core->pend_head && (q = pick_queue(core)) != NULL)
            submit(core, pend_pop(core), q);
    for (unsigned i = 0; i < core->nioq; i++)
        queue_ring(core, &core->ioq[i]);
}

static void task_start(void *arg)
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
    chunk_setup(io, 0);
    if (io->t.attr == DRV_ATTR_HEAD_OF_QUEUE)
        task_requeue_front(core, io); /* SAM-5 8.6: before the tasks waiting */
    else
        pend_push_back(core, io);
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
    rc = osal_queue_async(core->os, task_start, io);
    if (rc < 0)
        io_put(core, io);
    return rc;
}
