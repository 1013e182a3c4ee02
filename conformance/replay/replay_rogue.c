/* conformance/replay/replay_rogue.c — the harness's raw driver for the rogue
 * directive (replay_rogue.h): queues in the stack's DMA memory, entries
 * written by hand, completions found by their phase bit. */
#include "conformance/replay/replay_rogue.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/errf.h"
#include "platform/bus.h"
#include "stack/driver_core.h"
#include "stack/stack.h"

static void nap(void)
{
    struct timespec ts = { 0, 50 * 1000 }; /* polling, not a timed assertion */
    nanosleep(&ts, NULL);
}

uint32_t rogue_reg(struct rogue *r, uint32_t off)
{
    return bus_read32(r->bus, off);
}

void rogue_write(struct rogue *r, uint32_t off, uint32_t val)
{
    bus_write32(r->bus, off, val);
}

static bool faulted(struct rogue *r)
{
    return (rogue_reg(r, HBA_REG_STATUS) & HBA_STATUS_FATAL) != 0;
}

static int mem_get(struct rogue *r, struct rogue_mem *m, uint64_t len, enum hba_dma_dir dir)
{
    int rc = osal_dma_alloc(r->os, len, 4096, &m->buf);
    if (rc < 0) {
        errf(r->err, sizeof r->err, "no DMA memory for the rogue driver (%s)", strerror(-rc));
        return rc;
    }
    rc = osal_dma_prepare(r->os, m->buf, 0, len, dir, r->addr_bits, &m->map);
    if (rc < 0) {
        errf(r->err, sizeof r->err, "could not map the rogue driver's memory (%s)", strerror(-rc));
        return rc;
    }
    m->mapped = true;
    if (m->map.nseg != 1) {
        errf(r->err, sizeof r->err, "the host split the rogue driver's memory in %u IOVA pieces; "
             "rogue needs one (drop @host scatter=on)", m->map.nseg);
        return -EINVAL;
    }
    return 0;
}

static void mem_put(struct rogue *r, struct rogue_mem *m)
{
    if (m->mapped)
        osal_dma_complete(r->os, &m->map);
    if (m->buf)
        osal_dma_free(r->os, m->buf);
    memset(m, 0, sizeof *m);
}

static uint64_t iova(const struct rogue_mem *m)
{
    return m->map.seg[0].iova;
}

uint32_t rogue_fit(struct rogue *r, uint32_t n)
{
    uint32_t max = rogue_reg(r, HBA_REG_CAP_QUEUES) & 0xFFFFu;
    return max >= 2 && max < n ? max : n;
}

uint64_t rogue_data_iova(const struct rogue *r)
{
    return iova(&r->data);
}

uint8_t *rogue_data(struct rogue *r)
{
    r->data_fresh = false; /* the caller may write it */
    return r->data.buf->vaddr;
}

void rogue_data_zero(struct rogue *r)
{
    /* Fresh from the allocator it is zeros already: a 256 KiB memset would
     * only fault in its pages (one rogue action per directive, mostly). */
    if (!r->data_fresh)
        memset(r->data.buf->vaddr, 0, ROGUE_DATA_BYTES);
    r->data_fresh = false;
}

int rogue_begin(struct rogue *r, struct stack *st, unsigned addr_bits)
{
    memset(r, 0, sizeof *r);
    r->st = st;
    r->bus = stack_bus(st);
    r->os = stack_osal(st);
    r->addr_bits = addr_bits ? addr_bits : 64;
    r->next_cid = 0x4000; /* far from anything the driver core used: the controller forgot those anyway */
    r->ioq_entries = rogue_fit(r, ROGUE_IOQ_ENTRIES);
    /* The replay saw every task of the trace complete (rogue_run checks);
     * the stack counts a task until its done callback has returned, which
     * may be a moment later. */
    uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
    while (stack_outstanding(st) && clock_now_ms() <= end)
        nap();
    if (stack_outstanding(st)) {
        errf(r->err, sizeof r->err, "%u command(s) still outstanding: rogue takes the controller from an idle "
             "driver (end the tasks before it)", stack_outstanding(st));
        return -EBUSY;
    }
    stack_core_ops(st)->stop(stack_core(st));
    r->core_stopped = true;
    /* A core's stop need not leave the controller READY (the datasheet's
     * starting point, 5): from OPERATIONAL a controller reset, from FAULT a
     * hard reset, and CONFIG.EN 0 so that the rogue driver's EN is an edge. */
    uint32_t s = rogue_reg(r, HBA_REG_STATUS);
    if (s & HBA_STATUS_FATAL) {
        static const uint32_t keys[4] = { HBA_RESET_KEY_1, HBA_RESET_KEY_2, HBA_RESET_KEY_3, HBA_RESET_KEY_4 };
        for (int i = 0; i < 4; i++)
            rogue_write(r, HBA_REG_RESET_KEY, keys[i]);
        rogue_write(r, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    }
    rogue_write(r, HBA_REG_CONFIG, 0);
    if (rogue_wait_reg(r, HBA_REG_STATUS, HBA_STATUS_FATAL | 0xF00u, HBA_STATE_READY << HBA_STATUS_STATE_SHIFT) < 0)
        return -ETIMEDOUT;
    /* Every vector masked: the stopped core's interrupt handler would still
     * clear INT_STATUS bits, which the rogue directive judges. */
    r->saved_mask = rogue_reg(r, HBA_REG_INT_MASK_SET);
    rogue_write(r, HBA_REG_INT_MASK_SET, 0xFFFFFFFFu);
    int rc;
    if ((rc = mem_get(r, &r->q[0].sq, ROGUE_AQ_ENTRIES * sizeof(struct hba_sq_entry), HBA_DMA_TO_DEVICE)) < 0 ||
        (rc = mem_get(r, &r->q[0].cq, ROGUE_AQ_ENTRIES * sizeof(struct hba_cq_entry), HBA_DMA_FROM_DEVICE)) < 0 ||
        (rc = mem_get(r, &r->data, ROGUE_DATA_BYTES, HBA_DMA_BIDIRECTIONAL)) < 0)
        return rc;
    r->data_fresh = true; /* osal_dma_alloc's memory reads as zeros */
    return 0;
}

int rogue_enable(struct rogue *r, uint32_t sq_n, uint32_t cq_n, uint64_t sq_addr, uint64_t cq_addr)
{
    uint64_t sq = sq_addr ? sq_addr : iova(&r->q[0].sq), cq = cq_addr ? cq_addr : iova(&r->q[0].cq);
    r->q[0].entries = sq_n < ROGUE_AQ_ENTRIES ? sq_n : ROGUE_AQ_ENTRIES;
    r->q[0].tail = r->q[0].head = 0;
    r->q[0].phase = 1;
    memset(r->q[0].cq.buf->vaddr, 0, ROGUE_AQ_ENTRIES * sizeof(struct hba_cq_entry));
    rogue_write(r, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)sq);
    rogue_write(r, HBA_REG_AQ_SQ_BASE_HI, (uint32_t)(sq >> 32));
    rogue_write(r, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)cq);
    rogue_write(r, HBA_REG_AQ_CQ_BASE_HI, (uint32_t)(cq >> 32));
    rogue_write(r, HBA_REG_AQ_SIZE, (sq_n & 0xFFFFu) | cq_n << 16);
    rogue_write(r, HBA_REG_CONFIG, HBA_CONFIG_EN);
    uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
    for (;;) {
        uint32_t s = rogue_reg(r, HBA_REG_STATUS);
        if (s & HBA_STATUS_RDY)
            return 1;
        if (s & HBA_STATUS_FATAL)
            return 0;
        if (clock_now_ms() > end) {
            errf(r->err, sizeof r->err, "CONFIG.EN: neither RDY nor FATAL within %d ms (STATUS %#x)",
                 ROGUE_LIMIT_MS, s);
            r->timed_out = true;
            return -ETIMEDOUT;
        }
        nap();
    }
}

uint16_t rogue_put(struct rogue *r, unsigned q, struct hba_sq_entry *e)
{
    return rogue_put_cid(r, q, e, NULL);
}

uint16_t rogue_put_cid(struct rogue *r, unsigned q, struct hba_sq_entry *e, const uint16_t *cid)
{
    struct rogue_q *x = &r->q[q];
    e->cid = cid ? *cid : r->next_cid++;
    struct hba_sq_entry *ring = x->sq.buf->vaddr;
    memcpy(&ring[x->tail], e, sizeof *e);
    x->tail = (x->tail + 1) % x->entries;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    rogue_write(r, HBA_REG_SQ_TAIL(q), x->tail);
    return e->cid;
}

bool rogue_poll(struct rogue *r, unsigned q, struct hba_cq_entry *out)
{
    struct rogue_q *x = &r->q[q];
    volatile struct hba_cq_entry *ring = x->cq.buf->vaddr;
    if ((__atomic_load_n(&ring[x->head].phase, __ATOMIC_ACQUIRE) & 1u) != x->phase)
        return false;
    memcpy(out, (const void *)&ring[x->head], sizeof *out);
    if (++x->head == x->entries) {
        x->head = 0;
        x->phase ^= 1u;
    }
    rogue_write(r, HBA_REG_CQ_HEAD(q), x->head);
    return true;
}

int rogue_wait_filled(struct rogue *r, unsigned q, unsigned k)
{
    struct rogue_q *x = &r->q[q];
    volatile struct hba_cq_entry *ring = x->cq.buf->vaddr;
    /* The k-th entry from the head carries the phase this lap would give it
     * (the next lap's when it lies past the end). */
    unsigned at = (x->head + k - 1) % x->entries;
    uint8_t phase = at < x->head ? (uint8_t)(x->phase ^ 1u) : x->phase;
    uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
    while ((__atomic_load_n(&ring[at].phase, __ATOMIC_ACQUIRE) & 1u) != phase) {
        if (clock_now_ms() > end) {
            errf(r->err, sizeof r->err, "CQ %u did not fill to %u entries within %d ms", q, k, ROGUE_LIMIT_MS);
            r->timed_out = true;
            return -ETIMEDOUT;
        }
        nap();
    }
    return 0;
}

int rogue_wait(struct rogue *r, unsigned q, struct hba_cq_entry *out)
{
    return rogue_wait_any(r, q, out, false);
}

int rogue_wait_any(struct rogue *r, unsigned q, struct hba_cq_entry *out, bool or_leave)
{
    uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
    for (;;) {
        if (rogue_poll(r, q, out))
            return 1;
        uint32_t s = rogue_reg(r, HBA_REG_STATUS);
        if (s & HBA_STATUS_FATAL)
            return 0;
        if (or_leave && HBA_STATUS_STATE(s) != HBA_STATE_OPERATIONAL)
            return 2;
        if (clock_now_ms() > end) {
            errf(r->err, sizeof r->err, "no completion on queue %u and no FAULT within %d ms", q, ROGUE_LIMIT_MS);
            r->timed_out = true;
            return -ETIMEDOUT;
        }
        nap();
    }
}

int rogue_collect(struct rogue *r, int cid, unsigned until, struct rogue_seen *seen, struct hba_cq_entry *out)
{
    uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
    for (;;) {
        struct hba_cq_entry c;
        while (rogue_poll(r, 0, &c)) {
            if (cid >= 0 && c.cid == (uint16_t)cid) {
                *out = c;
                return 1;
            }
            if (seen->n < ROGUE_SEEN_MAX)
                seen->c[seen->n++] = c;
            else
                seen->more = true;
        }
        if (cid < 0 && seen->n >= until)
            return 1;
        if (faulted(r))
            return 0;
        if (clock_now_ms() > end) {
            if (cid < 0)
                return 2; /* the controller answers, but not with as many as wanted: the caller's verdict */
            errf(r->err, sizeof r->err, "no completion for command id %#x and no FAULT within %d ms", cid,
                 ROGUE_LIMIT_MS);
            r->timed_out = true;
            return -ETIMEDOUT;
        }
        nap();
    }
}

int rogue_wait_reg(struct rogue *r, uint32_t off, uint32_t mask, uint32_t want)
{
    uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
    uint32_t v;
    while (((v = rogue_reg(r, off)) & mask) != want) {
        if (clock_now_ms() > end) {
            errf(r->err, sizeof r->err, "register %#x stayed %#x (waited for %#x under mask %#x) for %d ms", off, v,
                 want, mask, ROGUE_LIMIT_MS);
            r->timed_out = true;
            return -ETIMEDOUT;
        }
        nap();
    }
    return 0;
}

int rogue_admin(struct rogue *r, struct hba_sq_entry *e, struct hba_cq_entry *out)
{
    rogue_put(r, 0, e);
    return rogue_wait(r, 0, out);
}

static int create(struct rogue *r, uint8_t op, uint32_t cdw2, uint64_t base, const char *what)
{
    struct hba_sq_entry e = { .opcode = op };
    struct hba_cq_entry c;
    e.u.cdw[0] = 1;
    e.u.cdw[1] = r->ioq_entries;
    e.u.cdw[2] = cdw2;
    e.u.cdw[3] = op == HBA_ADM_CREATE_CQ ? r->cq_flags : 0;
    e.sge.addr = base;
    int rc = rogue_admin(r, &e, &c);
    if (rc == 1 && c.ctrl_status != HBA_CS_SUCCESS) {
        errf(r->err, sizeof r->err, "%s failed with controller status %#x", what, c.ctrl_status);
        return 0;
    }
    if (rc == 0)
        errf(r->err, sizeof r->err, "the controller went FAULT on %s", what);
    return rc;
}

int rogue_io_queues(struct rogue *r, uint16_t vector, bool with_sq)
{
    struct rogue_q *x = &r->q[1];
    int rc;
    if ((rc = mem_get(r, &x->sq, ROGUE_IOQ_ENTRIES * sizeof(struct hba_sq_entry), HBA_DMA_TO_DEVICE)) < 0 ||
        (rc = mem_get(r, &x->cq, ROGUE_IOQ_ENTRIES * sizeof(struct hba_cq_entry), HBA_DMA_FROM_DEVICE)) < 0)
        return rc;
    x->entries = r->ioq_entries;
    x->tail = x->head = 0;
    x->phase = 1;
    if ((rc = create(r, HBA_ADM_CREATE_CQ, vector, iova(&x->cq), "CREATE CQ 1")) != 1)
        return rc;
    return with_sq ? create(r, HBA_ADM_CREATE_SQ, 1, iova(&x->sq), "CREATE SQ 1") : 1;
}

int rogue_end(struct rogue *r)
{
    int rc = 0;
    if (r->core_stopped && !faulted(r)) {
        /* CONFIG.EN 1 -> 0: the controller drops every queue and waits in
         * READY, where the driver core's bring-up finds it. */
        rogue_write(r, HBA_REG_CONFIG, 0);
        uint64_t end = clock_now_ms() + ROGUE_LIMIT_MS;
        uint32_t s;
        while (HBA_STATUS_STATE(s = rogue_reg(r, HBA_REG_STATUS)) == HBA_STATE_OPERATIONAL &&
               !(s & HBA_STATUS_FATAL) && clock_now_ms() <= end)
            nap();
    }
    for (unsigned q = 0; q < 2; q++) {
        mem_put(r, &r->q[q].sq);
        mem_put(r, &r->q[q].cq);
    }
    mem_put(r, &r->data);
    if (r->core_stopped) {
        r->core_stopped = false;
        rogue_write(r, HBA_REG_INT_MASK_CLEAR, ~r->saved_mask);
        rc = stack_core_ops(r->st)->start(stack_core(r->st));
        if (rc < 0)
            errf(r->err, sizeof r->err, "the driver core did not bring the controller back (%s)", strerror(-rc));
    }
    return rc;
}
