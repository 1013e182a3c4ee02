/* core/core_queue.c — SQ/CQ rings: memory, command slots and ids,
 * submission, and completion reaping with the phase bit.
 *
 * Submission writes the 64-byte entry at the tail; queue_ring then stores the
 * tail to SQ_TAIL (the bus makes it a release store and applies the event
 * index).  Reaping reads each CQ entry's phase with an acquire load, copies
 * the entry once, validates it (the controller is not trusted: a completion
 * naming no outstanding command is counted and dropped), then writes CQ_HEAD.
 * Command ids are slot | generation << 12, so a completion for an earlier use
 * of a slot cannot be mistaken for the current one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "core/ring.h"

int queue_alloc(struct drv_core *core, struct drv_queue *q, uint16_t qid, uint16_t entries, unsigned vector,
                bool polled, bool io)
{
    memset(q, 0, sizeof *q);
    q->qid = qid;
    q->entries = entries;
    q->vector = vector;
    q->polled = polled;
    q->phase = 1;
    q->nslots = (uint16_t)(entries - 1u);
    uint64_t sq_len = (uint64_t)entries * sizeof(struct hba_sq_entry);
    uint64_t cq_len = (uint64_t)entries * sizeof(struct hba_cq_entry);
    uint64_t iova;
    int rc = dma_get(core, sq_len, HBA_DMA_TO_DEVICE, &q->sq_mem);
    if (rc == 0)
        rc = dma_get(core, cq_len, HBA_DMA_FROM_DEVICE, &q->cq_mem);
    if (rc == 0 && (!dma_iova(&q->sq_mem, 0, sq_len, &iova) || !dma_iova(&q->cq_mem, 0, cq_len, &iova)))
        rc = -ENOSPC; /* the OS mapped it in pieces: a queue must be one IOVA range */
    q->cmd = calloc(q->nslots, sizeof *q->cmd);
    q->free_slot = calloc(q->nslots, sizeof *q->free_slot);
    if (rc == 0 && (!q->cmd || !q->free_slot))
        rc = -ENOMEM;
    if (rc == 0 && io) {
        /* Lists are page-sized and page-aligned, sense buffers divide a page:
         * each lies in one IOVA piece however the OS splits the mapping. */
        const uint64_t list_bytes = (uint64_t)HBA_SGL_SEGMENT_MAX * sizeof(struct hba_sge);
        rc = dma_get(core, list_bytes * DRV_SGL_LISTS * q->nslots, HBA_DMA_TO_DEVICE, &q->list_mem);
        if (rc == 0)
            rc = dma_get(core, (uint64_t)DRV_SENSE_STRIDE * q->nslots, HBA_DMA_FROM_DEVICE, &q->sense_mem);
        for (uint16_t i = 0; rc == 0 && i < q->nslots; i++) {
            struct drv_cmd *c = &q->cmd[i];
            uint64_t first = list_bytes * DRV_SGL_LISTS * i;
            c->lists = (struct hba_sge *)((uint8_t *)q->list_mem.buf->vaddr + first);
            c->sense = (uint8_t *)q->sense_mem.buf->vaddr + (uint64_t)DRV_SENSE_STRIDE * i;
            bool ok = dma_iova(&q->sense_mem, (uint64_t)DRV_SENSE_STRIDE * i, DRV_SENSE_STRIDE, &c->sense_iova);
            for (unsigned l = 0; l < DRV_SGL_LISTS; l++)
                ok = ok && dma_iova(&q->list_mem, first + list_bytes * l, list_bytes, &c->lists_iova[l]);
            if (!ok) {
                osal_log(core->os, OSAL_LOG_ERROR, "drv: queue %u: a slot's SGL or sense memory straddles IOVA pieces",
                         qid);
                rc = -ENOSPC;
            }
        }
    }
    if (rc < 0) {
        queue_free(core, q);
        return rc;
    }
    q->sq = q->sq_mem.buf->vaddr;
    q->cq = q->cq_mem.buf->vaddr;
    memset(q->cq, 0, cq_len); /* no stale phase bit may look new */
    for (uint16_t i = 0; i < q->nslots; i++) {
        q->cmd[i].cid = i;
        q->free_slot[q->nslots - 1u - i] = i; /* slot 0 first */
    }
    q->nfree = q->nslots;
    return 0;
}

void queue_free(struct drv_core *core, struct drv_queue *q)
{
    dma_put(core, &q->sq_mem);
    dma_put(core, &q->cq_mem);
    dma_put(core, &q->list_mem);
    dma_put(core, &q->sense_mem);
    free(q->cmd);
    free(q->free_slot);
    q->cmd = NULL;
    q->free_slot = NULL;
    q->sq = NULL;
    q->cq = NULL;
    q->nfree = q->nslots = 0;
    q->live = false;
}

bool queue_has_room(const struct drv_queue *q)
{
    return q->live && q->nfree > 0 && !ring_full(q->sq_tail, q->sq_head, q->entries);
}

struct drv_cmd *queue_slot_get(struct drv_queue *q)
{
    if (!queue_has_room(q))
        return NULL;
    uint16_t slot = q->free_slot[--q->nfree];
    struct drv_cmd *c = &q->cmd[slot];
    c->gen = (uint8_t)((c->gen + 1u) & 0xFu);
    c->cid = (uint16_t)(c->gen << DRV_CID_SLOT_BITS | slot);
    c->busy = true;
    c->io = NULL;
    c->adm_fn = NULL;
    c->adm_arg = NULL;
    c->deadline_ns = 0;
    c->esc = ESC_NONE;
    c->esc_deadline_ns = 0;
    return c;
}

void queue_slot_put(struct drv_queue *q, struct drv_cmd *c)
{
    c->busy = false;
    c->io = NULL;
    c->adm_fn = NULL;
    c->esc = ESC_NONE;
    q->free_slot[q->nfree++] = (uint16_t)(c - q->cmd);
}

struct drv_cmd *queue_find(struct drv_queue *q, uint16_t cid)
{
    uint16_t slot = cid & DRV_CID_SLOT_MASK;
    if (!q->cmd || slot >= q->nslots)
        return NULL;
    struct drv_cmd *c = &q->cmd[slot];
    return c->busy && c->cid == cid ? c : NULL;
}

void queue_push(struct drv_queue *q, const struct hba_sq_entry *e)
{
    memcpy(&q->sq[q->sq_tail], e, sizeof *e);
    q->sq_tail = (uint16_t)((q->sq_tail + 1u) % q->entries);
}

void queue_ring(struct drv_core *core, struct drv_queue *q)
{
    if (q->live && q->sq_db != q->sq_tail) {
        osal_reg_write32(core->os, HBA_REG_SQ_TAIL(q->qid), q->sq_tail);
        q->sq_db = q->sq_tail;
    }
}

static void dispatch(struct drv_core *core, struct drv_queue *q, const struct hba_cq_entry *e)
{
    if (e->sq_id != q->qid) {
        core->stats.stray_completions++;
        osal_log(core->os, OSAL_LOG_ERROR, "drv: CQ %u holds a completion for SQ %u (cid %#x): dropped", q->qid,
                 e->sq_id, e->cid);
        return;
    }
    if (ring_head_ok(q->sq_head, e->sq_head, q->sq_db, q->entries))
        q->sq_head = e->sq_head;
    else
        osal_log(core->os, OSAL_LOG_WARN, "drv: SQ %u: implausible sq_head %u (head %u, tail %u) ignored", q->qid,
                 e->sq_head, q->sq_head, q->sq_db);
    if (e->ctrl_status == HBA_CS_CID_CONFLICT) {
        /* Our ids are unique by construction: this is a driver bug worth a loud log.
         * The first command with the id is unaffected and completes on its own. */
        osal_log(core->os, OSAL_LOG_ERROR, "drv: SQ %u: controller reports a command id conflict on %#x", q->qid,
                 e->cid);
        return;
    }
    struct drv_cmd *c = queue_find(q, e->cid);
    if (!c) {
        core->stats.stray_completions++;
        osal_log(core->os, OSAL_LOG_WARN, "drv: SQ %u: completion for cid %#x, which is not outstanding", q->qid,
                 e->cid);
        return;
    }
    if (c->io) {
        struct drv_io *io = c->io;
        uint8_t sense[HBA_SENSE_MAX];
        uint8_t slen = e->sense_len <= HBA_SENSE_MAX ? e->sense_len : HBA_SENSE_MAX;
        if (e->ctrl_status != HBA_CS_SUCCESS)
            slen = 0;
        memcpy(sense, c->sense, slen);
        struct hba_cq_entry cqe = *e;
        cqe.sense_len = slen;
        queue_slot_put(q, c);
        task_command_done(core, io, c, &cqe, sense);
    } else {
        drv_adm_fn fn = c->adm_fn;
        void *arg = c->adm_arg;
        queue_slot_put(q, c);
        if (fn)
            fn(core, arg, e);
        tmf_retry_unsent(core); /* a slot is free: task management that waited for one */
    }
}

int queue_reap(struct drv_core *core, struct drv_queue *q)
{
    int n = 0;
    bool batch = false;
    while (q->live && q->cq) {
        struct hba_cq_entry *slot = &q->cq[q->cq_head];
        uint16_t phase = __atomic_load_n(&slot->phase, __ATOMIC_ACQUIRE);
        if ((phase & 1u) != q->phase)
            break;
        if (n == 0)
            batch = task_batch_begin(core); /* only when there is something: a poll finds nothing often */
        struct hba_cq_entry e;
        memcpy(&e, slot, sizeof e);
        if (++q->cq_head == q->entries) {
            q->cq_head = 0;
            q->phase ^= 1u;
        }
        n++;
        dispatch(core, q, &e);
        /* A callback may have reset the controller and freed this queue. */
        if (!q->live)
            break;
    }
    if (n && q->live)
        osal_reg_write32(core->os, HBA_REG_CQ_HEAD(q->qid), q->cq_head);
    if (batch)
        task_batch_end(core);
    return n;
}

int core_reap_all(struct drv_core *core, bool io_only)
{
    int n = 0;
    if (!io_only)
        n += queue_reap(core, &core->admin);
    for (unsigned i = 0; i < core->nioq; i++)
        n += queue_reap(core, &core->ioq[i]);
    return n;
}

void core_irq(void *arg, unsigned vector)
{
    struct drv_core *core = arg;
    /* A stopped core leaves the registers alone: a signal queued before the
     * stop may run after it, while something else owns the controller. */
    if (core_state(core) != CORE_RUNNING && core_state(core) != CORE_STOPPING)
        return;
    /* Clear first, then drain: a completion posted after the drain sets the
     * bit again and signals again, so none is lost. */
    osal_reg_write32(core->os, HBA_REG_INT_STATUS, 1u << vector);
    if (core->admin.vector == vector)
        queue_reap(core, &core->admin);
    for (unsigned i = 0; i < core->nioq; i++)
        if (core->ioq[i].vector == vector && !core->ioq[i].polled)
            queue_reap(core, &core->ioq[i]);
    task_drain(core);
}
