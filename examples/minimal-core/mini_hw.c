/* mini_hw.c — the register layer of the minimal core: everything that knows
 * the SSIM-1 datasheet (docs/controller.md, hw/hba.h) and nothing else.
 * Bring-up (section 5), the admin queue driven by polling (12), the one I/O
 * queue pair (6-8), resets (4.3).  A team porting the core to other hardware
 * rewrites this file; mini_io.c and mini_core.c stay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mini.h"

static uint32_t rd(struct drv_core *c, uint32_t off) { return osal_reg_read32(c->os, off); }
static void wr(struct drv_core *c, uint32_t off, uint32_t v) { osal_reg_write32(c->os, off, v); }

static void sleep_us(unsigned us)
{
    struct timespec ts = { 0, (long)us * 1000 };
    nanosleep(&ts, NULL);
}

/* Control writes are posted (datasheet 3): poll STATUS for their effect. */
static bool wait_state(struct drv_core *c, unsigned state, uint32_t timeout_ms)
{
    uint64_t until = osal_now_ns(c->os) + (uint64_t)timeout_ms * 1000000u;
    do {
        uint32_t s = rd(c, HBA_REG_STATUS);
        if (s == 0xFFFFFFFFu)
            return false; /* gone from the bus: waiting does not bring it back */
        if (HBA_STATUS_STATE(s) == state)
            return true;
        sleep_us(200);
    } while (osal_now_ns(c->os) < until);
    return false;
}

/* --- DMA memory the core owns ------------------------------------------- */

bool mini_dma_get(struct drv_core *c, struct mini_dma *d, uint64_t len, enum hba_dma_dir dir)
{
    memset(d, 0, sizeof *d);
    if (osal_dma_alloc(c->os, len, HBA_IOMMU_PAGE_SIZE, &d->buf) < 0)
        return false;
    if (osal_dma_prepare(c->os, d->buf, 0, len, dir, c->addr_bits, &d->map) < 0) {
        osal_dma_free(c->os, d->buf);
        d->buf = NULL;
        return false;
    }
    d->mapped = true;
    return true;
}

void mini_dma_put(struct drv_core *c, struct mini_dma *d)
{
    if (d->mapped)
        osal_dma_complete(c->os, &d->map);
    if (d->buf)
        osal_dma_free(c->os, d->buf);
    memset(d, 0, sizeof *d);
}

/* The IOVA of [off, off+len) of a mapping, when it lies in one IOVA piece. */
bool mini_iova(const struct osal_dma_mapping *m, uint64_t off, uint64_t len, uint64_t *iova)
{
    for (uint32_t i = 0; i < m->nseg && i < 8; i++) {
        if (off < m->seg[i].length) {
            if (len > m->seg[i].length - off)
                return false;
            *iova = m->seg[i].iova + off;
            return true;
        }
        off -= m->seg[i].length;
    }
    return false;
}

/* --- queues -------------------------------------------------------------- */

/* Rings must be contiguous in IOVA space (datasheet 5, step 4). */
static bool queue_alloc(struct drv_core *c, struct mini_queue *q, uint16_t id, uint16_t entries)
{
    memset(q, 0, sizeof *q);
    q->id = id;
    q->entries = entries;
    if (!mini_dma_get(c, &q->sq, (uint64_t)entries * sizeof(struct hba_sq_entry), HBA_DMA_TO_DEVICE) ||
        !mini_dma_get(c, &q->cq, (uint64_t)entries * sizeof(struct hba_cq_entry), HBA_DMA_FROM_DEVICE) ||
        q->sq.map.nseg != 1 || q->cq.map.nseg != 1) {
        mini_dma_put(c, &q->sq);
        mini_dma_put(c, &q->cq);
        return false;
    }
    return true;
}

static void queue_restart(struct mini_queue *q)
{
    memset(q->cq.buf->vaddr, 0, (size_t)q->entries * sizeof(struct hba_cq_entry));
    q->sq_tail = q->sq_head = q->cq_head = 0;
    q->phase = 1;
}

static void sq_write(struct drv_core *c, struct mini_queue *q, const struct hba_sq_entry *e)
{
    struct hba_sq_entry *ring = q->sq.buf->vaddr;
    uint16_t old = q->sq_tail;
    ring[old] = *e;
    q->sq_tail = (uint16_t)((old + 1u) % q->entries);
    /* The bus stores the tail with release order and rings the bell when the
     * event index says the controller parked (datasheet 7.1). */
    wr(c, HBA_REG_SQ_TAIL(q->id), q->sq_tail);
}

/* The next completion of q, or NULL; phase bit first, with acquire order. */
static const struct hba_cq_entry *cq_peek(struct mini_queue *q)
{
    struct hba_cq_entry *e = (struct hba_cq_entry *)q->cq.buf->vaddr + q->cq_head;
    uint16_t ph = __atomic_load_n(&e->phase, __ATOMIC_ACQUIRE);
    return (ph & 1u) == q->phase ? e : NULL;
}

static void cq_pop(struct drv_core *c, struct mini_queue *q)
{
    if (++q->cq_head == q->entries) {
        q->cq_head = 0;
        q->phase ^= 1u;
    }
    wr(c, HBA_REG_CQ_HEAD(q->id), q->cq_head);
}

/* --- admin commands: one at a time, polled -------------------------------- */

int mini_admin(struct drv_core *c, struct hba_sq_entry *e, uint32_t *result)
{
    e->cid = c->admin_cid++ & 0x7FFFu; /* never 0xFFFF */
    sq_write(c, &c->aq, e);
    uint64_t until = osal_now_ns(c->os) + (uint64_t)c->opt.admin_timeout_ms * 1000000u;
    for (;;) {
        const struct hba_cq_entry *ce;
        while ((ce = cq_peek(&c->aq))) {
            bool mine = ce->cid == e->cid;
            uint8_t cs = ce->ctrl_status;
            if (!mine && (ce->cid & MINI_AEV_CID) && c->naev < MINI_AEV)
                c->aev[c->naev++] = *ce; /* an event: handled at the watchdog's tick */
            if (result)
                *result = mine ? ce->result : 0;
            c->aq.sq_head = ce->sq_head;
            cq_pop(c, &c->aq);
            if (mine)
                return cs;
            /* an answer to an earlier command that timed out: drop it */
        }
        if (osal_now_ns(c->os) > until) {
            osal_log(c->os, OSAL_LOG_ERROR, "mini: admin opcode %#x timed out", e->opcode);
            return -ETIMEDOUT;
        }
        sleep_us(20);
    }
}

void mini_admin_post(struct drv_core *c, const struct hba_sq_entry *e)
{
    sq_write(c, &c->aq, e);
}

/* Nothing else is outstanding on the admin queue here: mini_admin waits for
 * its own command on the dispatch queue, where this runs too. */
void mini_admin_reap(struct drv_core *c)
{
    const struct hba_cq_entry *ce;
    while (c->running && (ce = cq_peek(&c->aq))) {
        if ((ce->cid & MINI_AEV_CID) && c->naev < MINI_AEV)
            c->aev[c->naev++] = *ce;
        c->aq.sq_head = ce->sq_head;
        cq_pop(c, &c->aq);
    }
}

/* --- the I/O queue -------------------------------------------------------- */

void mini_submit(struct drv_core *c, const struct hba_sq_entry *e)
{
    sq_write(c, &c->ioq, e);
}

int mini_reap(struct drv_core *c)
{
    int n = 0;
    const struct hba_cq_entry *ce;
    if (!c->running)
        return 0;
    while ((ce = cq_peek(&c->ioq))) {
        struct hba_cq_entry copy = *ce;
        c->ioq.sq_head = copy.sq_head;
        cq_pop(c, &c->ioq);
        mini_command_done(c, &copy);
        n++;
    }
    return n;
}

/* --- bring-up ------------------------------------------------------------- */

static int hard_reset(struct drv_core *c)
{
    static const uint32_t keys[] = { HBA_RESET_KEY_1, HBA_RESET_KEY_2, HBA_RESET_KEY_3, HBA_RESET_KEY_4 };
    for (unsigned i = 0; i < 4; i++)
        wr(c, HBA_REG_RESET_KEY, keys[i]);
    wr(c, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    c->stats.hard_resets++;
    return wait_state(c, HBA_STATE_READY, c->opt.ready_timeout_ms) ? 0 : -ETIMEDOUT;
}

static int create_io_queue(struct drv_core *c)
{
    struct hba_sq_entry e;
    memset(&e, 0, sizeof e);
    e.opcode = HBA_ADM_CREATE_CQ;
    e.u.cdw[0] = MINI_IOQ;
    e.u.cdw[1] = c->ioq.entries;
    e.u.cdw[2] = c->ioq_vec;
    e.u.cdw[3] = c->opt.polled ? HBA_CQ_FLAG_NO_IRQ : 0;
    e.sge.addr = c->ioq.cq.map.seg[0].iova;
    if (mini_admin(c, &e, NULL) != HBA_CS_SUCCESS)
        return -EIO;
    memset(&e, 0, sizeof e);
    e.opcode = HBA_ADM_CREATE_SQ;
    e.u.cdw[0] = MINI_IOQ;
    e.u.cdw[1] = c->ioq.entries;
    e.u.cdw[2] = MINI_IOQ;
    e.sge.addr = c->ioq.sq.map.seg[0].iova;
    return mini_admin(c, &e, NULL) == HBA_CS_SUCCESS ? 0 : -EIO;
}

/* First bring-up allocates; later ones (after a reset) reuse the memory. */
static int allocate(struct drv_core *c)
{
    uint32_t capq = rd(c, HBA_REG_CAP_QUEUES), caps = rd(c, HBA_REG_CAP_SGL), capt = rd(c, HBA_REG_CAP_TARGETS);
    c->max_entries = HBA_CAPQ_MAX_ENTRIES(capq);
    /* One vector: the I/O CQ shares it with the (polled) admin CQ. */
    c->ioq_vec = HBA_CAPQ_VECTORS(capq) > 1 ? MINI_IOQ_VEC : 0u;
    c->max_sges = HBA_CAPS_MAX_SGES(caps);
    c->addr_bits = HBA_CAPS_ADDR_BITS(caps);
    c->max_depth = HBA_CAPS_MAX_DEPTH(caps);
    c->max_xfer = rd(c, HBA_REG_CAP_MAX_XFER);
    c->targets = capt & 0xFFFFu;
    c->luns = capt >> 16;
    uint16_t aq = MINI_ADMIN_Q < c->max_entries ? MINI_ADMIN_Q : (uint16_t)c->max_entries;
    if (!queue_alloc(c, &c->aq, 0, aq))
        return -ENOMEM;
    unsigned depth = c->opt.queue_depth < c->max_entries ? c->opt.queue_depth : c->max_entries;
    /* An OS that maps in pieces gets rings of one page (64 SQ entries). */
    if (!queue_alloc(c, &c->ioq, MINI_IOQ, (uint16_t)depth) && !queue_alloc(c, &c->ioq, MINI_IOQ, (uint16_t)(depth < 64 ? depth : 64)))
        return -ENOMEM;
    unsigned nslots = c->ioq.entries - 1u;
    c->slots = calloc(nslots, sizeof *c->slots);
    if (!c->slots || !mini_dma_get(c, &c->lists, (uint64_t)nslots * HBA_IOMMU_PAGE_SIZE, HBA_DMA_TO_DEVICE) ||
        !mini_dma_get(c, &c->sense, (uint64_t)nslots * MINI_SENSE, HBA_DMA_FROM_DEVICE) ||
        !mini_dma_get(c, &c->log, MINI_LOG, HBA_DMA_FROM_DEVICE))
        return -ENOMEM;
    return 0;
}

int mini_bringup(struct drv_core *c)
{
    if (rd(c, HBA_REG_ID) != HBA_ID_MAGIC || (rd(c, HBA_REG_VERSION) >> 16) != 1u) {
        osal_log(c->os, OSAL_LOG_ERROR, "mini: not an SSIM-1 (ID %#x)", rd(c, HBA_REG_ID));
        return -ENODEV;
    }
    if (!c->slots) {
        int rc = allocate(c);
        if (rc < 0)
            return rc;
    }
    /* Only a hard reset leaves FAULT (datasheet 4.3); otherwise wait for READY. */
    bool fault = rd(c, HBA_REG_STATUS) & HBA_STATUS_FATAL;
    if ((fault || !wait_state(c, HBA_STATE_READY, c->opt.ready_timeout_ms)) && hard_reset(c) < 0)
        return -ETIMEDOUT;
    queue_restart(&c->aq);
    queue_restart(&c->ioq);
    wr(c, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)c->aq.sq.map.seg[0].iova);
    wr(c, HBA_REG_AQ_SQ_BASE_HI, (uint32_t)(c->aq.sq.map.seg[0].iova >> 32));
    wr(c, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)c->aq.cq.map.seg[0].iova);
    wr(c, HBA_REG_AQ_CQ_BASE_HI, (uint32_t)(c->aq.cq.map.seg[0].iova >> 32));
    wr(c, HBA_REG_AQ_SIZE, (uint32_t)c->aq.entries << 16 | c->aq.entries);
    /* The admin CQ is polled: only the I/O vector may interrupt. */
    wr(c, HBA_REG_INT_MASK_SET, ~(1u << c->ioq_vec));
    wr(c, HBA_REG_CONFIG, HBA_CONFIG_EN);
    if (!wait_state(c, HBA_STATE_OPERATIONAL, c->opt.ready_timeout_ms)) {
        osal_log(c->os, OSAL_LOG_ERROR, "mini: controller did not go operational (fault %u)",
                 rd(c, HBA_REG_FAULT_CODE));
        return -EIO;
    }
    c->admin_cid = 0;
    if (create_io_queue(c) < 0)
        return -EIO;
    wr(c, HBA_REG_INT_MASK_CLEAR, 1u << c->ioq_vec);
    c->last_heartbeat = rd(c, HBA_REG_HEARTBEAT);
    c->heartbeat_at_ns = osal_now_ns(c->os);
    c->running = true;
    mini_events_arm(c);
    return 0;
}

void mini_teardown(struct drv_core *c, bool talk)
{
    if (talk && c->running) {
        struct hba_sq_entry e;
        memset(&e, 0, sizeof e);
        e.opcode = HBA_ADM_DELETE_SQ;
        e.u.cdw[0] = MINI_IOQ;
        mini_admin(c, &e, NULL);
        mini_reap(c); /* what the delete aborted */
        e.opcode = HBA_ADM_DELETE_CQ;
        mini_admin(c, &e, NULL);
        /* Orderly shutdown flushes every write cache (datasheet 20). */
        wr(c, HBA_REG_CONFIG, HBA_CONFIG_EN | HBA_CONFIG_SHN);
        uint64_t until = osal_now_ns(c->os) + (uint64_t)c->opt.ready_timeout_ms * 1000000u;
        while (!(rd(c, HBA_REG_STATUS) & HBA_STATUS_SHST_DONE) && osal_now_ns(c->os) < until)
            sleep_us(200);
        /* The controller lets go of the queues' memory only once it is
         * READY again: an ASYNC EVENT answered before that is still written
         * to the admin CQ, which must be mapped then. */
        wr(c, HBA_REG_CONFIG, 0);
        wait_state(c, HBA_STATE_READY, c->opt.ready_timeout_ms);
    }
    c->running = false;
    mini_dma_put(c, &c->aq.sq);
    mini_dma_put(c, &c->aq.cq);
    mini_dma_put(c, &c->ioq.sq);
    mini_dma_put(c, &c->ioq.cq);
    mini_dma_put(c, &c->lists);
    mini_dma_put(c, &c->sense);
    mini_dma_put(c, &c->log);
    free(c->slots);
    c->slots = NULL;
}

/* CONFIG.EN 1 -> 0 (or the keyed hard reset), then a new bring-up; the
 * commands the reset ended are sent again. */
int mini_controller_reset(struct drv_core *c, bool hard)
{
    c->stats.controller_resets++;
    c->running = false;
    uint32_t s = rd(c, HBA_REG_STATUS);
    if (hard || (s & HBA_STATUS_FATAL) || s == 0xFFFFFFFFu) {
        hard_reset(c);
    } else {
        wr(c, HBA_REG_CONFIG, 0);
        if (!wait_state(c, HBA_STATE_READY, c->opt.ready_timeout_ms))
            hard_reset(c);
    }
    mini_requeue_all(c);
    int rc = mini_bringup(c);
    if (rc < 0) {
        /* READY again but not answering admin commands (a hung firmware
         * survives EN 1 -> 0, docs/controller.md 4.3), or an admin command of
         * the bring-up refused: the keyed hard reset and one more bring-up
         * are the last resort before giving the controller up. */
        osal_log(c->os, OSAL_LOG_WARN, "mini: no answer after the controller reset (%d): hard reset", rc);
        hard_reset(c);
        rc = mini_bringup(c);
    }
    if (rc < 0) {
        osal_log(c->os, OSAL_LOG_ERROR, "mini: the controller did not come back (%d)", rc);
        mini_fail_all(c);
        if (c->opt.on_event)
            c->opt.on_event(c->opt.event_arg, &(struct drv_event){ .kind = DRV_EVENT_CONTROLLER_DEAD });
        return rc;
    }
    mini_kick(c);
    return 0;
}
