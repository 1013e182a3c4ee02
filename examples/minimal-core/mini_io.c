/* mini_io.c — a task's life: split when longer than the controller takes,
 * map its data and describe it with SGEs (or bounce it), send it, complete
 * it, re-send it after an abort or reset, and the watchdog that escalates a
 * command past its deadline: ABORT -> LUN reset -> controller reset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mini.h"

#define SCSI_GOOD 0x00u
#define SCSI_BUSY 0x08u
#define SCSI_TASK_SET_FULL 0x28u

static unsigned nslots(const struct drv_core *c) { return c->ioq.entries - 1u; }

/* --- the wait list --------------------------------------------------------- */

static void wait_push(struct drv_core *c, struct mini_io *io, bool front)
{
    io->next = NULL;
    if (!c->wait_head) {
        c->wait_head = c->wait_tail = io;
    } else if (front) {
        io->next = c->wait_head;
        c->wait_head = io;
    } else {
        c->wait_tail->next = io;
        c->wait_tail = io;
    }
}

static struct mini_io *wait_pop(struct drv_core *c)
{
    struct mini_io *io = c->wait_head;
    if (io && !(c->wait_head = io->next))
        c->wait_tail = NULL;
    return io;
}

/* --- completing a task ----------------------------------------------------- */

static void finish(struct drv_core *c, struct mini_io *io, struct drv_completion *done)
{
    done->task_id = io->t.task_id;
    done->bytes_transferred = io->bytes;
    c->stats.completed++;
    io->done(io->arg, done);
    free(io->pieces);
    free(io);
}

void mini_end_io(struct drv_core *c, struct mini_io *io, enum drv_service_response r, uint8_t cs)
{
    struct drv_completion done;
    memset(&done, 0, sizeof done);
    done.response = r;
    done.ctrl_status = cs;
    if (r == DRV_SR_FUNCTION_REJECTED)
        c->stats.rejected_tasks++;
    finish(c, io, &done);
}

/* Copies between the task's pieces (from byte off of its data) and a flat buffer. */
static void copy_pieces(struct mini_io *io, uint64_t off, uint8_t *flat, uint64_t len, bool to_flat)
{
    for (uint32_t i = 0; i < io->t.piece_count && len; i++) {
        const struct drv_buffer_piece *p = &io->pieces[i];
        if (off >= p->length) {
            off -= p->length;
            continue;
        }
        uint64_t n = p->length - off < len ? p->length - off : len;
        uint8_t *host = (uint8_t *)p->buf->vaddr + p->offset + off;
        memcpy(to_flat ? flat : host, to_flat ? host : flat, n);
        flat += n;
        len -= n;
        off = 0;
    }
}

/* --- splitting ------------------------------------------------------------- */

/* A READ/WRITE longer than CAP_MAX_XFER goes as several commands.  The chunk
 * with the last block goes first: if the request runs off the end of the
 * medium, that chunk fails and nothing at all was transferred, as SBC wants
 * of an out-of-range command. */
static void chunk_range(const struct mini_io *io, uint32_t step, uint64_t *first_block, uint32_t *blocks)
{
    uint32_t k = step == 0 ? io->plan.chunks - 1u : step - 1u;
    uint64_t first = (uint64_t)k * io->plan.chunk_blocks;
    uint64_t left = io->rw.blocks - first;
    *first_block = first;
    *blocks = (uint32_t)(left < io->plan.chunk_blocks ? left : io->plan.chunk_blocks);
}

int mini_io_accept(struct drv_core *c, struct mini_io *io)
{
#ifdef MINI_BUGGY
    /* The deliberate bug of core-buggy.so (field bug F1): SYNCHRONIZE CACHE
     * answered GOOD at once, never sent — the write cache is not flushed, and
     * the suite's power-cut traces lose the data the host thinks is safe. */
    if (cdb_is_sync_cache(io->t.cdb, io->t.cdb_len)) {
        struct drv_completion good;
        memset(&good, 0, sizeof good);
        good.response = DRV_SR_TASK_COMPLETE;
        finish(c, io, &good);
        return -EALREADY;
    }
#endif
    io->off = 0;
    io->len = io->t.requested_transfer;
    if (io->t.requested_transfer <= c->max_xfer)
        return 0;
    if (cdb_parse_rw(io->t.cdb, io->t.cdb_len, &io->rw) &&
        cdb_split_plan(&io->rw, io->t.requested_transfer, c->max_xfer, &io->plan) == 0 && io->plan.chunks > 1) {
        io->split = true;
        c->stats.split_tasks++;
        return 0;
    }
    /* Any other command cannot be divided. */
    mini_end_io(c, io, DRV_SR_FUNCTION_REJECTED, HBA_CS_SUCCESS);
    return -E2BIG;
}

/* --- data: map, describe, or bounce ------------------------------------------ */

static void unmap_data(struct drv_core *c, struct mini_slot *s)
{
    for (uint32_t i = 0; i < s->nmaps; i++)
        osal_dma_complete(c->os, &s->maps[i]);
    free(s->maps);
    s->maps = NULL;
    s->nmaps = 0;
    mini_dma_put(c, &s->bounce);
}

/* Maps [off, off+len) of the task's pieces, one mapping per run of pieces
 * that continue each other in one buffer. */
static int map_pieces(struct drv_core *c, struct mini_io *io, struct mini_slot *s, enum hba_dma_dir dir)
{
    s->maps = calloc(io->t.piece_count ? io->t.piece_count : 1, sizeof *s->maps);
    if (!s->maps)
        return -ENOMEM;
    uint64_t off = io->off, len = io->len;
    for (uint32_t i = 0; i < io->t.piece_count && len; i++) {
        const struct drv_buffer_piece *p = &io->pieces[i];
        if (off >= p->length) {
            off -= p->length;
            continue;
        }
        uint64_t at = p->offset + off, n = p->length - off < len ? p->length - off : len;
        while (n < len && i + 1 < io->t.piece_count && io->pieces[i + 1].buf == p->buf &&
               io->pieces[i + 1].offset == p->offset + p->length) { /* the next piece continues this one */
            p = &io->pieces[++i];
            n = p->offset + p->length - at < len ? p->offset + p->length - at : len;
        }
        int rc = osal_dma_prepare(c->os, p->buf, at, n, dir, c->addr_bits, &s->maps[s->nmaps]);
        if (rc < 0)
            return rc;
        s->nmaps++;
        len -= n;
        off = 0;
    }
    return len ? -EINVAL : 0; /* the pieces are shorter than the transfer */
}

/* SGEs one command may carry: the inline one, or one list of up to 256. */
static uint32_t sge_limit(const struct drv_core *c)
{
    if (c->max_depth == 0)
        return 1;
    return c->max_sges < HBA_SGL_SEGMENT_MAX ? c->max_sges : HBA_SGL_SEGMENT_MAX;
}

/* Writes the DATA SGEs of the mappings into the slot's list page; false when
 * there are too many or one lies above the controller's address lines. */
static bool describe(struct drv_core *c, const struct osal_dma_mapping *maps, uint32_t nmaps,
                     struct hba_sge *list, uint32_t *count)
{
    uint32_t n = 0;
    for (uint32_t m = 0; m < nmaps; m++)
        for (uint32_t i = 0; i < maps[m].nseg; i++) {
            const struct osal_dma_segment *g = &maps[m].seg[i];
            if (c->addr_bits < 64 && (g->iova + g->length - 1) >> c->addr_bits)
                return false; /* field bug F7: the high bits would be dropped */
            if (n == sge_limit(c))
                return false;
            list[n++] = (struct hba_sge){ .addr = g->iova, .length = (uint32_t)g->length, .type = HBA_SGE_DATA };
        }
    *count = n;
    return true;
}

/* Fills e->sge for the slot's chunk; 0, or -errno. */
static int build_sgl(struct drv_core *c, struct mini_io *io, unsigned cid, struct hba_sq_entry *e)
{
    struct mini_slot *s = &c->slots[cid];
    if (io->len == 0 || io->t.dir == DRV_DIR_NONE)
        return 0;
    enum hba_dma_dir dir = io->t.dir == DRV_DIR_FROM_TARGET ? HBA_DMA_FROM_DEVICE : HBA_DMA_TO_DEVICE;
    struct hba_sge *list = (struct hba_sge *)((uint8_t *)c->lists.buf->vaddr + (size_t)cid * HBA_IOMMU_PAGE_SIZE);
    uint32_t n = 0;
    int rc = map_pieces(c, io, s, dir);
    if (rc == -EINVAL)
        return rc;
    if (rc < 0 || !describe(c, s->maps, s->nmaps, list, &n)) {
        /* Bounce: one contiguous buffer below the address limit. */
        unmap_data(c, s);
        if (!mini_dma_get(c, &s->bounce, io->len, dir))
            return -ENOSPC;
        c->stats.bounced_tasks++;
        if (io->t.dir == DRV_DIR_FROM_INITIATOR)
            copy_pieces(io, io->off, s->bounce.buf->vaddr, io->len, true);
        if (!describe(c, &s->bounce.map, 1, list, &n))
            return -E2BIG;
    }
    if (n == 1) {
        e->sge = list[0];
        return 0;
    }
    uint64_t list_iova;
    if (!mini_iova(&c->lists.map, (uint64_t)cid * HBA_IOMMU_PAGE_SIZE, n * sizeof *list, &list_iova))
        return -EFAULT;
    e->sge = (struct hba_sge){ .addr = list_iova, .length = n * (uint32_t)sizeof *list, .type = HBA_SGE_SEGMENT };
    return 0;
}

/* --- sending --------------------------------------------------------------- */

static void send(struct drv_core *c, struct mini_io *io, unsigned cid)
{
    struct mini_slot *s = &c->slots[cid];
    struct hba_sq_entry e;
    memset(&e, 0, sizeof e);
    memcpy(e.u.cdb, io->t.cdb, io->t.cdb_len);
    if (io->split) {
        uint64_t first;
        uint32_t blocks;
        chunk_range(io, io->chunk, &first, &blocks);
        io->off = first * io->plan.block_size;
        io->len = (uint64_t)blocks * io->plan.block_size;
        cdb_rw_retarget(io->t.cdb, io->t.cdb_len, io->rw.lba + first, blocks, e.u.cdb);
    }
    int rc = build_sgl(c, io, cid, &e);
    if (rc < 0) {
        unmap_data(c, s);
        osal_log(c->os, OSAL_LOG_WARN, "mini: task %llu: data cannot be described (%d)",
                 (unsigned long long)io->t.task_id, rc);
        mini_end_io(c, io, rc == -E2BIG || rc == -EINVAL ? DRV_SR_FUNCTION_REJECTED : DRV_SR_SERVICE_DELIVERY_FAILURE,
                    HBA_CS_SUCCESS);
        return;
    }
    e.opcode = HBA_OP_SCSI;
    e.flags = io->t.dir == DRV_DIR_FROM_TARGET ? HBA_FLAG_DIR_READ
            : io->t.dir == DRV_DIR_FROM_INITIATOR ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_NONE;
    /* The task attribute, for the firmware's task set (hw/hba.h). */
    e.flags |= (uint8_t)(((unsigned)io->t.attr << HBA_FLAG_ATTR_SHIFT) & HBA_FLAG_ATTR_MASK);
    e.cid = (uint16_t)cid;
    e.target = io->t.target;
    e.lun = io->t.lun;
    e.initiator = io->t.initiator;
    e.cdb_len = io->t.cdb_len;
    e.data_len = (uint32_t)io->len;
    e.sense_len = HBA_SENSE_MAX;
    mini_iova(&c->sense.map, (uint64_t)cid * MINI_SENSE, MINI_SENSE, &e.sense_addr);
    uint32_t tmo = io->t.timeout_ms ? io->t.timeout_ms : c->opt.default_timeout_ms;
    e.timeout_ms = tmo;
    s->io = io;
    s->busy = true;
    s->stage = 0;
    s->target = io->t.target;
    s->lun = io->t.lun;
    s->deadline_ns = osal_now_ns(c->os) + (uint64_t)tmo * 1000000u;
    if (!io->deadline_ns)
        io->deadline_ns = s->deadline_ns;
    c->stats.commands++;
    mini_submit(c, &e);
}

void mini_enqueue(struct drv_core *c, struct mini_io *io)
{
    /* HEAD OF QUEUE: ahead of every task still waiting (SAM-5 8.6.4). */
    wait_push(c, io, io->t.attr == DRV_ATTR_HEAD_OF_QUEUE);
    mini_kick(c);
}

/* Is a command of the task's LU at the controller?  (Orphaned cids too: the
 * controller has not answered for them yet.) */
static bool lu_busy(const struct drv_core *c, const struct mini_io *io)
{
    for (unsigned i = 0; i < nslots(c); i++)
        if (c->slots[i].busy && c->slots[i].target == io->t.target && c->slots[i].lun == io->t.lun)
            return true;
    return false;
}

/* Is an ORDERED task of the LU at the controller? */
static bool lu_ordered_busy(const struct drv_core *c, const struct mini_io *io)
{
    for (unsigned i = 0; i < nslots(c); i++) {
        const struct mini_slot *s = &c->slots[i];
        if (s->busy && s->io && s->io->t.attr == DRV_ATTR_ORDERED && s->target == io->t.target &&
            s->lun == io->t.lun)
            return true;
    }
    return false;
}

/* Takes io out of the wait list; prev is the task before it (NULL: the head). */
static void wait_unlink(struct drv_core *c, struct mini_io *prev, struct mini_io *io)
{
    if (prev)
        prev->next = io->next;
    else
        c->wait_head = io->next;
    if (c->wait_tail == io)
        c->wait_tail = prev;
    io->next = NULL;
}

/* Is an earlier task of the same LU still waiting?  Then this one waits
 * too: the tasks of one LU are sent in the order they came. */
static bool lu_waits_before(const struct drv_core *c, const struct mini_io *io)
{
    for (const struct mini_io *p = c->wait_head; p && p != io; p = p->next)
        if (p->t.target == io->t.target && p->t.lun == io->t.lun)
            return true;
    return false;
}

/* The simplest ordering that is right whatever the firmware does with the
 * attribute bits: an ORDERED task is sent only when no earlier command of
 * its LU is at the controller, and nothing after it of its LU is sent until
 * it has completed.  A task that must wait holds up only the later ones of
 * its own LU (SAM-5 8.6: a task set is one LU's); the others go past it, so
 * one hung disk does not freeze every disk behind the controller. */
void mini_kick(struct drv_core *c)
{
    unsigned cid = 0;
    struct mini_io *prev = NULL, *io = c->wait_head;
    while (c->running && io) {
        if ((io->t.attr == DRV_ATTR_ORDERED && lu_busy(c, io)) || lu_ordered_busy(c, io) ||
            lu_waits_before(c, io)) {
            prev = io; /* the completion that frees its LU kicks again */
            io = io->next;
            continue;
        }
        while (cid < nslots(c) && c->slots[cid].busy)
            cid++;
        if (cid == nslots(c))
            return; /* the next completion kicks again */
        struct mini_io *next = io->next;
        wait_unlink(c, prev, io);
        send(c, io, cid);
        io = next;
    }
}

/* --- completions ----------------------------------------------------------- */

void mini_slot_release(struct drv_core *c, unsigned cid)
{
    struct mini_slot *s = &c->slots[cid];
    unmap_data(c, s);
    s->io = NULL;
    s->busy = false;
}

static bool reissuable(uint8_t cs)
{
    return cs == HBA_CS_ABORTED || cs == HBA_CS_ABORTED_RESET || cs == HBA_CS_ABORTED_SQ_DELETED;
}

void mini_command_done(struct drv_core *c, const struct hba_cq_entry *e)
{
    if (e->cid >= nslots(c) || !c->slots[e->cid].busy) {
        c->stats.stray_completions++;
        return;
    }
    struct mini_slot *s = &c->slots[e->cid];
    struct mini_io *io = s->io;
    uint8_t cs = e->ctrl_status;
    uint64_t got = e->result < (io ? io->len : 0) ? e->result : (io ? io->len : 0);
    if (io && cs == HBA_CS_SUCCESS && s->bounce.buf && io->t.dir == DRV_DIR_FROM_TARGET)
        copy_pieces(io, io->off, s->bounce.buf->vaddr, got, false);
    mini_slot_release(c, e->cid); /* unmapped before the task completes */
    if (!io) { /* orphaned by a TMF: the task has completed already */
        mini_kick(c);
        return;
    }
    if (reissuable(cs) && !io->end_status && io->reissues < c->opt.max_reissues) {
        /* Ended by a reset or our own abort: it never ran to the end, send it again. */
        io->reissues++;
        c->stats.reissues++;
        wait_push(c, io, true);
    } else if (cs == HBA_CS_SUCCESS && (e->scsi_status == SCSI_TASK_SET_FULL || e->scsi_status == SCSI_BUSY) &&
               !io->end_status && osal_now_ns(c->os) < io->deadline_ns) {
        /* The LU's task set is full or it is busy: the same command again at
         * the watchdog's next tick, while the task's timeout lasts; after it
         * the status goes up as it came. */
        c->stats.busy_retries++;
        io->next = c->retry;
        c->retry = io;
    } else if (cs == HBA_CS_SUCCESS && io->split && !io->end_status && io->chunk + 1u < io->plan.chunks &&
               e->scsi_status == SCSI_GOOD && got == io->len) {
        io->bytes += got;
        io->chunk++;
        wait_push(c, io, true);
    } else {
        struct drv_completion done;
        memset(&done, 0, sizeof done);
        done.ctrl_status = cs;
        switch (cs) {
        case HBA_CS_SUCCESS:
            io->bytes += got;
            done.response = DRV_SR_TASK_COMPLETE;
            done.scsi_status = e->scsi_status;
            done.sense_len = e->sense_len < HBA_SENSE_MAX ? e->sense_len : HBA_SENSE_MAX;
            memcpy(done.sense, (uint8_t *)c->sense.buf->vaddr + (size_t)e->cid * MINI_SENSE, done.sense_len);
            break;
        case HBA_CS_INVALID_OPCODE: case HBA_CS_INVALID_FIELD: case HBA_CS_SGL_ZERO_LENGTH:
        case HBA_CS_SGL_TOO_MANY: case HBA_CS_SGL_INVALID: case HBA_CS_SGL_SHORT:
        case HBA_CS_XFER_TOO_LONG: case HBA_CS_INVALID_QUEUE:
            done.response = DRV_SR_FUNCTION_REJECTED; /* the controller refused it */
            break;
        default:
            done.response = DRV_SR_SERVICE_DELIVERY_FAILURE; /* selection timeout, DMA error, ... */
        }
        finish(c, io, &done);
    }
    mini_kick(c);
}

void mini_requeue_all(struct drv_core *c)
{
    if (!c->slots)
        return;
    for (unsigned i = nslots(c); i-- > 0;) {
        struct mini_io *io = c->slots[i].io;
        if (!c->slots[i].busy)
            continue;
        mini_slot_release(c, i);
        if (!io)
            continue;
        if (io->reissues++ < c->opt.max_reissues) {
            c->stats.reissues++;
            wait_push(c, io, true);
        } else {
            mini_end_io(c, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_ABORTED_RESET);
        }
    }
}

unsigned mini_mark(struct drv_core *c, bool (*match)(const struct mini_io *, const void *),
                   const void *key, uint8_t cs)
{
    unsigned n = 0;
    for (unsigned i = 0; c->slots && i < nslots(c); i++) {
        struct mini_io *io = c->slots[i].io;
        if (io && match(io, key)) {
            io->end_status = cs;
            n++;
        }
    }
    for (struct mini_io *io = c->wait_head; io; io = io->next)
        if (match(io, key)) {
            io->end_status = cs;
            n++;
        }
    return n;
}

void mini_end_marked(struct drv_core *c)
{
    for (unsigned i = 0; c->slots && i < nslots(c); i++) {
        struct mini_io *io = c->slots[i].io;
        if (io && io->end_status) {
            unmap_data(c, &c->slots[i]);
            c->slots[i].io = NULL; /* busy until the controller answers for the cid */
            mini_end_io(c, io, DRV_SR_SERVICE_DELIVERY_FAILURE, io->end_status);
        }
    }
    struct mini_io *keep = NULL, **tail = &keep;
    for (struct mini_io *io; (io = wait_pop(c));) {
        if (io->end_status) {
            mini_end_io(c, io, DRV_SR_SERVICE_DELIVERY_FAILURE, io->end_status);
        } else {
            *tail = io;
            tail = &io->next;
        }
    }
    for (struct mini_io *io = keep, *next; io; io = next) {
        next = io->next;
        wait_push(c, io, false);
    }
}

void mini_retry_now(struct drv_core *c)
{
    for (struct mini_io *io = c->retry, *next; io; io = next) {
        next = io->next;
        wait_push(c, io, true);
    }
    c->retry = NULL;
}

unsigned mini_count(struct drv_core *c, bool (*match)(const struct mini_io *, const void *), const void *key)
{
    unsigned n = 0;
    for (unsigned i = 0; c->slots && i < nslots(c); i++)
        n += c->slots[i].io && match(c->slots[i].io, key);
    for (struct mini_io *io = c->wait_head; io; io = io->next)
        n += match(io, key);
    for (struct mini_io *io = c->retry; io; io = io->next)
        n += match(io, key);
    return n;
}

void mini_fail_all(struct drv_core *c)
{
    mini_retry_now(c);
    mini_requeue_all(c);
    for (struct mini_io *io; (io = wait_pop(c));)
        mini_end_io(c, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_SUCCESS);
}

/* --- the watchdog ------------------------------------------------------------ */

static int admin2(struct drv_core *c, uint8_t op, uint32_t cdw0, uint32_t cdw1, uint32_t *result)
{
    struct hba_sq_entry e;
    memset(&e, 0, sizeof e);
    e.opcode = op;
    e.u.cdw[0] = cdw0;
    e.u.cdw[1] = cdw1;
    return mini_admin(c, &e, result);
}

/* A controller that stopped: FAULT, gone (all-ones), not operational, or a
 * heartbeat that stands still. */
static bool controller_sick(struct drv_core *c)
{
    uint32_t st = osal_reg_read32(c->os, HBA_REG_STATUS), hb = osal_reg_read32(c->os, HBA_REG_HEARTBEAT);
    uint64_t now = osal_now_ns(c->os);
    if (hb != c->last_heartbeat) {
        c->last_heartbeat = hb;
        c->heartbeat_at_ns = now;
    }
    return st == 0xFFFFFFFFu || (st & HBA_STATUS_FATAL) || !(st & HBA_STATUS_RDY) ||
           now - c->heartbeat_at_ns > (uint64_t)c->opt.heartbeat_stall_ms * 1000000u;
}

/* A tick far later than it was armed for (more than half the heartbeat
 * window past due) means the host did not run this core meanwhile (a
 * descheduled VM, an overloaded machine, a trace's `pause host`): nobody
 * could act in that time, so every deadline and the heartbeat's window move
 * out by it instead of the commands being aborted for it. */
static void late_tick(struct drv_core *c, uint64_t now)
{
    uint64_t due = c->tick_at_ns + (uint64_t)(c->opt.watchdog_ms + c->opt.heartbeat_stall_ms / 2) * 1000000u;
    if (!c->tick_at_ns || now <= due)
        return;
    uint64_t gap = now - c->tick_at_ns;
    c->heartbeat_at_ns = now;
    for (unsigned i = 0; i < nslots(c); i++)
        if (c->slots[i].busy)
            c->slots[i].deadline_ns += gap;
}

void mini_watchdog(void *arg)
{
    struct drv_core *c = arg;
    if (!c->running)
        return;
    late_tick(c, osal_now_ns(c->os));
    mini_reap(c); /* polled mode, or an interrupt that was lost */
    mini_events_poll(c);
    mini_retry_now(c);
    mini_kick(c);
    if (controller_sick(c)) {
        /* A controller reset; mini_controller_reset goes on to the keyed hard
         * reset when the controller is in FAULT, gone, or does not reach READY. */
        osal_log(c->os, OSAL_LOG_WARN, "mini: controller stopped answering: resetting it");
        mini_controller_reset(c, false);
    }
    uint64_t now = osal_now_ns(c->os), grace = (uint64_t)c->opt.abort_grace_ms * 1000000u;
    for (unsigned i = 0; c->running && i < nslots(c); i++) {
        struct mini_slot *s = &c->slots[i];
        if (!s->busy || now < s->deadline_ns)
            continue;
        s->deadline_ns = now + grace;
        if (s->stage == 0) {
            c->stats.timeouts++;
            c->stats.aborts++;
            s->stage = 1;
            admin2(c, HBA_ADM_ABORT, MINI_IOQ, i, NULL);
        } else if (s->stage == 1) {
            c->stats.lun_resets++;
            s->stage = 2;
            admin2(c, HBA_ADM_RESET, HBA_RESET_LUN, (uint32_t)s->target << 16 | s->lun, NULL);
        } else {
            mini_controller_reset(c, false);
            break;
        }
        mini_reap(c);
    }
    if (c->running) {
        c->tick_at_ns = osal_now_ns(c->os);
        osal_timer_arm(c->watchdog, c->opt.watchdog_ms);
    }
}
