/* sim/ctrl/ctrl_queue.c — submission and completion queues in host memory.
 *
 * Fetch: the tail doorbell is read once (acquire) and bounds-checked; each
 * 64-byte entry is copied once by DMA into firmware memory and only the copy
 * is parsed.  Post: a completion is written with the phase of the CQ's current
 * pass, its last dword (sq_id + phase) stored after a release fence, then the
 * CQ's vector is noted for an interrupt.  Completions of one pass are posted
 * together, in a seeded random order when cfg.reorder is set, and wait in a
 * per-CQ list while the CQ is full.  A command id stays busy on its SQ until
 * its completion is visible to the driver.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/ctrl/ctrl_internal.h"

#define ADMIN_BUDGET 16u /* entries per pass from the admin SQ */
#define IO_BUDGET    8u  /* entries per pass from each I/O SQ: completions are posted at the end of a pass, so a small pass lets the driver reap and refill while the firmware goes on */
#define CID_WORDS    (65536u / 64u)
#define CQ_RUN_MAX   16u /* completions written in one access (cq_write_run) */
#define CTRL_SQ_PREFETCH IO_BUDGET /* entries read in one access (sq_prefetch) */
#define NO_CID       0xFFFFu

/* A completion waiting in a batch or a CQ list keeps, beside the entry, whether
 * it frees its command id; the entry's reserved byte carries that flag while
 * inside the firmware and is cleared before the entry reaches host memory. */
#define CQE_OWNS_CID 0x1u

bool ctrl_cid_busy(const struct ctrl_sq *sq, uint16_t cid)
{
    return sq->cids[cid / 64] >> (cid % 64) & 1u;
}

static void cid_set(struct ctrl_sq *sq, uint16_t cid, bool busy)
{
    uint64_t bit = 1ull << (cid % 64);
    if (busy)
        sq->cids[cid / 64] |= bit;
    else
        sq->cids[cid / 64] &= ~bit;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

/* ---- creation and deletion ---------------------------------------------- */

enum sim_dma_result ctrl_queue_probe(struct sim_ctrl *c, uint16_t qid, uint64_t base, size_t bytes, bool cq)
{
    struct ctrl_fw *f = &c->fw_state;
    uint8_t *buf = ctrl_buffer(&f->scratch, &f->scratch_cap, bytes);
    if (!buf)
        return SIM_DMA_ABORTED;
    struct sim_dma_ctx ctx = { .cid = NO_CID, .sq_id = qid };
    if (!cq)
        return sim_iommu_dma_read(c->iommu, base & c->addr_mask, buf, bytes, ctx);
    memset(buf, 0, bytes);
    return sim_iommu_dma_write(c->iommu, base & c->addr_mask, buf, bytes, ctx);
}

int ctrl_queue_create_sq(struct sim_ctrl *c, uint16_t qid, uint64_t base, uint32_t size, uint16_t cqid)
{
    struct ctrl_sq *sq = &c->fw_state.sq[qid];
    uint64_t *cids = calloc(CID_WORDS, sizeof(uint64_t));
    if (!cids)
        return -ENOMEM;
    uint32_t gen = sq->gen + 1;
    memset(sq, 0, sizeof(*sq));
    sq->live = true;
    sq->gen = gen;
    sq->cqid = cqid;
    sq->size = size;
    sq->base = base & c->addr_mask;
    sq->cids = cids;
    c->fw_state.sq_live |= 1ull << qid;
    c->fw_state.cq[cqid].users++;
    ctrl_reg_set(c, HBA_REG_SQ_TAIL(qid), 0);
    ctrl_reg_set(c, HBA_REG_SQ_EVENT_IDX(qid), 0);
    return 0;
}

int ctrl_queue_create_cq(struct sim_ctrl *c, uint16_t qid, uint64_t base, uint32_t size, uint16_t vector,
                         bool no_irq)
{
    struct ctrl_cq *cq = &c->fw_state.cq[qid];
    memset(cq, 0, sizeof(*cq));
    cq->live = true;
    cq->no_irq = no_irq;
    cq->vector = vector;
    cq->size = size;
    cq->base = base & c->addr_mask;
    cq->phase = 1;
    c->fw_state.cq_live |= 1ull << qid;
    ctrl_reg_set(c, HBA_REG_CQ_HEAD(qid), 0);
    return 0;
}

static void sq_free(struct sim_ctrl *c, uint16_t qid)
{
    struct ctrl_sq *sq = &c->fw_state.sq[qid];
    if (!sq->live)
        return;
    c->fw_state.cq[sq->cqid].users--;
    free(sq->cids);
    sq->cids = NULL;
    sq->live = false;
    c->fw_state.sq_live &= ~(1ull << qid);
}

static void cq_free(struct sim_ctrl *c, uint16_t qid)
{
    struct ctrl_cq *cq = &c->fw_state.cq[qid];
    free(cq->pend);
    memset(cq, 0, sizeof(*cq));
    c->fw_state.cq_live &= ~(1ull << qid);
}

void ctrl_queue_delete_sq(struct sim_ctrl *c, uint16_t qid, uint8_t status)
{
    ctrl_queue_abort_sq(c, qid, status);
    ctrl_abort_held(c, qid, false, -1, -1, status);
    /* Post now: the completions must reach the CQ before the SQ is gone. */
    ctrl_queue_flush(c);
    sq_free(c, qid);
    ctrl_reg_set(c, HBA_REG_SQ_TAIL(qid), 0);
    ctrl_reg_set(c, HBA_REG_SQ_EVENT_IDX(qid), 0);
}

void ctrl_queue_delete_cq(struct sim_ctrl *c, uint16_t qid)
{
    cq_free(c, qid);
    ctrl_reg_set(c, HBA_REG_CQ_HEAD(qid), 0);
}

void ctrl_queue_forget_all(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    for (uint16_t q = 0; q < HBA_MAX_QUEUES; q++)
        sq_free(c, q);
    for (uint16_t q = 0; q < HBA_MAX_QUEUES; q++)
        cq_free(c, q);
    f->nheld = 0;
    f->nbatch = 0;
    f->rr_next = 0;
}

void ctrl_queue_free(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    ctrl_queue_forget_all(c);
    free(f->held);
    free(f->batch);
    f->held = NULL;
    f->batch = NULL;
    f->held_cap = f->batch_cap = 0;
}

/* ---- held commands ------------------------------------------------------ */

int ctrl_held_add(struct sim_ctrl *c, uint8_t kind, uint16_t sqid, uint16_t cid, uint16_t target, uint16_t lun)
{
    struct ctrl_fw *f = &c->fw_state;
    struct ctrl_held *h = grow(f->held, &f->held_cap, f->nheld + 1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    f->held = h;
    h[f->nheld++] = (struct ctrl_held){ .kind = kind, .sqid = sqid, .cid = cid, .target = target, .lun = lun };
    return 0;
}

int ctrl_held_delay(struct sim_ctrl *c, uint16_t sqid, uint16_t cid, uint16_t target, uint16_t lun, uint64_t due_ns,
                    uint8_t cs, uint8_t ss, uint32_t result, uint8_t sense_len)
{
    int rc = ctrl_held_add(c, CTRL_HELD_DELAYED, sqid, cid, target, lun);
    if (rc == 0) {
        struct ctrl_held *h = &c->fw_state.held[c->fw_state.nheld - 1];
        h->due_ns = due_ns;
        h->cs = cs;
        h->ss = ss;
        h->result = result;
        h->sense_len = sense_len;
    }
    return rc;
}

uint64_t ctrl_held_due(struct sim_ctrl *c, uint64_t now)
{
    struct ctrl_fw *f = &c->fw_state;
    uint64_t next = 0;
    for (size_t i = 0; i < f->nheld;) {
        const struct ctrl_held *h = &f->held[i];
        if (h->kind != CTRL_HELD_DELAYED) {
            i++;
        } else if (h->due_ns <= now) {
            ctrl_complete(c, h->sqid, h->cid, h->cs, h->ss, h->result, h->sense_len);
            ctrl_held_remove(c, i);
        } else {
            next = !next || h->due_ns < next ? h->due_ns : next;
            i++;
        }
    }
    return next;
}

void ctrl_held_remove(struct sim_ctrl *c, size_t i)
{
    struct ctrl_fw *f = &c->fw_state;
    memmove(&f->held[i], &f->held[i + 1], (f->nheld - i - 1) * sizeof(f->held[0]));
    f->nheld--;
}

/* ---- completions -------------------------------------------------------- */

static void complete_raw(struct sim_ctrl *c, uint16_t sqid, uint16_t cid, uint8_t cs, uint8_t ss, uint32_t result,
                         uint8_t sense_len, bool owns_cid)
{
    struct ctrl_fw *f = &c->fw_state;
    struct ctrl_sq *sq = &f->sq[sqid];
    if (!sq->live) {
        ctrl_sim_bug(c, "completion for cid %u on SQ %u that does not exist", cid, sqid);
        return;
    }
    struct ctrl_cqe *b = grow(f->batch, &f->batch_cap, f->nbatch + 1, sizeof(*b));
    if (!b) {
        ctrl_sim_bug(c, "out of memory queueing a completion (cid %u, SQ %u): lost", cid, sqid);
        return;
    }
    f->batch = b;
    b[f->nbatch++] = (struct ctrl_cqe){
        .cqid = sq->cqid,
        .sq_gen = sq->gen,
        .e = { .cid = cid, .scsi_status = ss, .ctrl_status = cs, .result = result, .sq_head = (uint16_t)sq->head,
               .sense_len = sense_len, .rsvd = owns_cid ? CQE_OWNS_CID : 0, .sq_id = sqid },
    };
}

void ctrl_complete(struct sim_ctrl *c, uint16_t sqid, uint16_t cid, uint8_t ctrl_status, uint8_t scsi_status,
                   uint32_t result, uint8_t sense_len)
{
    /* A conflicting duplicate must not free the id of the command it collided with. */
    complete_raw(c, sqid, cid, ctrl_status, scsi_status, result, sense_len, ctrl_status != HBA_CS_CID_CONFLICT);
}

static uint64_t prng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool cq_refresh_head(struct sim_ctrl *c, uint16_t qid)
{
    struct ctrl_cq *cq = &c->fw_state.cq[qid];
    uint32_t h = ctrl_reg_get(c, HBA_REG_CQ_HEAD(qid));
    if (h >= cq->size) {
        ctrl_driver_error(c, "CQ %u head doorbell %u beyond its %u entries", qid, h, cq->size);
        ctrl_fault(c, HBA_FAULT_DOORBELL);
        return false;
    }
    cq->head = h;
    return true;
}

static uint32_t cq_room(const struct ctrl_cq *cq)
{
    return cq->size - 1 - (cq->tail + cq->size - cq->head) % cq->size;
}

/* Whether x still answers a command of the SQ it names (not one deleted or
 * re-created since). */
static bool cqe_same_sq(const struct ctrl_fw *f, const struct ctrl_cqe *x)
{
    const struct ctrl_sq *sq = &f->sq[x->e.sq_id];
    return sq->live && sq->gen == x->sq_gen;
}

/* x's entry as the host gets it: its SQ's head now, no flag, the CQ's phase. */
static struct hba_cq_entry cq_entry(const struct ctrl_fw *f, const struct ctrl_cq *cq, const struct ctrl_cqe *x)
{
    struct hba_cq_entry e = x->e;
    if (cqe_same_sq(f, x))
        e.sq_head = (uint16_t)f->sq[x->e.sq_id].head;
    e.rsvd = 0;
    e.phase = cq->phase;
    return e;
}

/* x's entry is visible: its command id is free again (if it owns it), and
 * the CQ's tail moves on (its phase flips at the wrap). */
static void cq_entry_done(struct ctrl_fw *f, struct ctrl_cq *cq, const struct ctrl_cqe *x)
{
    if ((x->e.rsvd & CQE_OWNS_CID) && cqe_same_sq(f, x))
        cid_set(&f->sq[x->e.sq_id], x->e.cid, false);
    if (++cq->tail == cq->size) {
        cq->tail = 0;
        cq->phase ^= 1;
    }
}

/* Writes one completion into host memory; false if the controller faulted. */
static bool cq_write(struct sim_ctrl *c, uint16_t qid, const struct ctrl_cqe *x)
{
    struct ctrl_fw *f = &c->fw_state;
    struct ctrl_cq *cq = &f->cq[qid];
    struct hba_cq_entry e = cq_entry(f, cq, x);
    uint64_t iova = cq->base + (uint64_t)cq->tail * sizeof(struct hba_cq_entry);
    struct sim_dma_ctx ctx = { .cid = NO_CID, .sq_id = x->e.sq_id };
    /* The phase dword last, after a release fence: the driver's acquire load
     * of it pairs with that fence. */
    enum sim_dma_result r = sim_iommu_dma_post(c->iommu, iova & c->addr_mask, &e, sizeof e, 4, ctx);
    if (r == SIM_DMA_ABORTED || r == SIM_DMA_FATAL) {
        ctrl_driver_error(c, "CQ %u entry at %#llx not writable", qid, (unsigned long long)iova);
        ctrl_fault(c, r == SIM_DMA_FATAL ? HBA_FAULT_IOMMU : HBA_FAULT_QUEUE_ACCESS);
        return false;
    }
    cq_entry_done(f, cq, x);
    return true;
}

/* Up to `want` of a CQ's waiting completions from x on, written in one IOMMU
 * access when they lie in one page of the ring before its wrap and the IOTLB
 * holds that page's translation (sim_iommu_dma_post_cached): each entry as
 * cq_write writes it, every phase dword after one release fence.  Returns
 * how many were posted: 0 when it does not apply (then cq_write posts them
 * one by one, and walks, faults and logs as always). */
static uint32_t cq_write_run(struct sim_ctrl *c, uint16_t qid, const struct ctrl_cqe *x, uint32_t want)
{
    struct ctrl_fw *f = &c->fw_state;
    struct ctrl_cq *cq = &f->cq[qid];
    uint64_t iova = cq->base + (uint64_t)cq->tail * sizeof(struct hba_cq_entry);
    uint32_t to_page = (uint32_t)((HBA_IOMMU_PAGE_SIZE - (iova & (HBA_IOMMU_PAGE_SIZE - 1))) /
                                  sizeof(struct hba_cq_entry));
    uint32_t k = want < CQ_RUN_MAX ? want : CQ_RUN_MAX;
    k = k < cq->size - cq->tail ? k : cq->size - cq->tail;
    k = k < to_page ? k : to_page;
    if (k < 2)
        return 0;
    struct hba_cq_entry e[CQ_RUN_MAX];
    for (uint32_t i = 0; i < k; i++)
        e[i] = cq_entry(f, cq, &x[i]);
    struct sim_dma_ctx ctx = { .cid = NO_CID, .sq_id = x[0].e.sq_id };
    if (!sim_iommu_dma_post_cached(c->iommu, iova & c->addr_mask, e, k, sizeof e[0], 4, ctx))
        return 0;
    for (uint32_t i = 0; i < k; i++)
        cq_entry_done(f, cq, &x[i]);
    return k;
}

/* Posts what fits of a CQ's waiting completions. */
static void cq_post(struct sim_ctrl *c, uint16_t qid, uint64_t now)
{
    struct ctrl_cq *cq = &c->fw_state.cq[qid];
    if (!cq->npend || !cq_refresh_head(c, qid))
        return;
    uint32_t room = cq_room(cq), n = 0;
    while (n < cq->npend && n < room) {
        uint32_t k = cq_write_run(c, qid, &cq->pend[n], (cq->npend < room ? cq->npend : room) - n);
        if (k) {
            n += k;
            continue;
        }
        if (!cq_write(c, qid, &cq->pend[n]))
            break;
        n++;
    }
    memmove(cq->pend, cq->pend + n, (cq->npend - n) * sizeof(cq->pend[0]));
    cq->npend -= n;
    if (n && !cq->no_irq && !fault_irq_lost(&c->faults, qid)) /* irq-lost: posted, not signalled */
        ctrl_irq_note(c, cq->vector, n, now);
}

void ctrl_queue_flush(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    ctrl_stats_settle(c); /* a command is in the statistics before its completion is visible */
    if (c->cfg.reorder)
        for (size_t i = f->nbatch; i > 1; i--) {
            size_t j = (size_t)(prng_next(&f->prng) % i);
            struct ctrl_cqe t = f->batch[i - 1];
            f->batch[i - 1] = f->batch[j];
            f->batch[j] = t;
        }
    for (size_t i = 0; i < f->nbatch; i++) {
        struct ctrl_cq *cq = &f->cq[f->batch[i].cqid];
        if (!cq->live) {
            ctrl_sim_bug(c, "completion for CQ %u that does not exist: lost", f->batch[i].cqid);
            continue;
        }
        struct ctrl_cqe *p = grow(cq->pend, &cq->pend_cap, cq->npend + 1, sizeof(*p));
        if (!p) {
            ctrl_sim_bug(c, "out of memory queueing a completion for CQ %u: lost", f->batch[i].cqid);
            continue;
        }
        cq->pend = p;
        p[cq->npend++] = f->batch[i];
    }
    f->nbatch = 0;
    /* The time the completions are posted at, for interrupt coalescing: the
     * clock read that ended the pass's last batch (no read of its own), or a
     * fresh one when no batch ran since the last flush, and none at all when
     * nothing waits (an idle pass). */
    uint64_t now = f->flush_ns;
    f->flush_ns = 0;
    for (uint64_t m = f->cq_live; m && f->state != HBA_STATE_FAULT; m &= m - 1) {
        uint16_t q = (uint16_t)__builtin_ctzll(m);
        if (!f->cq[q].npend)
            continue;
        if (!now)
            now = clock_now_ns();
        cq_post(c, q, now);
    }
}

bool ctrl_queue_waiting(const struct sim_ctrl *c)
{
    for (uint64_t m = c->fw_state.cq_live; m; m &= m - 1)
        if (c->fw_state.cq[__builtin_ctzll(m)].npend)
            return true;
    return false;
}

/* ---- fetching ----------------------------------------------------------- */

/* Reads and bounds-checks an SQ's tail doorbell; false if the controller faulted. */
static bool sq_tail(struct sim_ctrl *c, uint16_t qid, uint32_t *tail)
{
    struct ctrl_sq *sq = &c->fw_state.sq[qid];
    uint32_t t = ctrl_reg_get(c, HBA_REG_SQ_TAIL(qid));
    if (t >= sq->size) {
        ctrl_driver_error(c, "SQ %u tail doorbell %u beyond its %u entries", qid, t, sq->size);
        ctrl_fault(c, HBA_FAULT_DOORBELL);
        return false;
    }
    *tail = t;
    return true;
}

/* The entry at the head is taken: the head moves on. */
static void sq_take(struct ctrl_sq *sq)
{
    sq->head = (sq->head + 1) % sq->size;
}

/* Copies the entry at the SQ head into e and advances the head. */
static bool sq_fetch(struct sim_ctrl *c, uint16_t qid, struct hba_sq_entry *e)
{
    struct ctrl_sq *sq = &c->fw_state.sq[qid];
    uint64_t iova = sq->base + (uint64_t)sq->head * sizeof(*e);
    struct sim_dma_ctx ctx = { .cid = NO_CID, .sq_id = qid };
    enum sim_dma_result r = sim_iommu_dma_read(c->iommu, iova & c->addr_mask, e, sizeof(*e), ctx);
    if (r == SIM_DMA_ABORTED || r == SIM_DMA_FATAL) {
        ctrl_driver_error(c, "SQ %u entry at %#llx not readable", qid, (unsigned long long)iova);
        ctrl_fault(c, r == SIM_DMA_FATAL ? HBA_FAULT_IOMMU : HBA_FAULT_QUEUE_ACCESS);
        return false;
    }
    /* SIM_DMA_DROPPED: the entry reads as all-ones and fails validation. */
    sq_take(sq);
    return true;
}

void ctrl_queue_abort_sq(struct sim_ctrl *c, uint16_t qid, uint8_t status)
{
    struct ctrl_sq *sq = &c->fw_state.sq[qid];
    uint32_t tail;
    if (!sq->live || !sq_tail(c, qid, &tail))
        return;
    struct hba_sq_entry e;
    while (sq->head != tail && sq_fetch(c, qid, &e))
        complete_raw(c, qid, e.cid, status, 0, 0, 0, false);
}

void ctrl_sq_mark(struct sim_ctrl *c, uint16_t qid, uint16_t cid)
{
    cid_set(&c->fw_state.sq[qid], cid, true);
}

/* Up to `want` entries from an I/O SQ's head on, in one read, when they lie
 * in one page of the ring before its wrap and the IOTLB holds that page's
 * translation (sim_iommu_dma_read_cached): one access instead of one per
 * entry.  Each entry is still copied once and only the copy is parsed; the
 * head moves as each is taken (sq_service), so entries not taken are fetched
 * again later.  0 when it does not apply: then sq_fetch reads them one by
 * one (and walks, faults and logs as always).  Not the admin SQ: its
 * commands may reset the controller, delete queues or fetch the I/O SQs
 * (ctrl_queue_fetch_io) between two entries, which would leave the rest of
 * what was read stale.  An I/O command does none of that; one that faults
 * the controller ends the batch (sq_service's loop). */
static unsigned sq_prefetch(struct sim_ctrl *c, uint16_t qid, uint32_t tail, unsigned want,
                            struct hba_sq_entry *out)
{
    const struct ctrl_sq *sq = &c->fw_state.sq[qid];
    uint32_t avail = (tail + sq->size - sq->head) % sq->size, to_wrap = sq->size - sq->head;
    uint64_t iova = sq->base + (uint64_t)sq->head * sizeof(*out);
    uint32_t to_page = (uint32_t)((HBA_IOMMU_PAGE_SIZE - (iova & (HBA_IOMMU_PAGE_SIZE - 1))) / sizeof(*out));
    unsigned k = want < CTRL_SQ_PREFETCH ? want : CTRL_SQ_PREFETCH;
    k = k < avail ? k : avail;
    k = k < to_wrap ? k : to_wrap;
    k = k < to_page ? k : to_page;
    if (qid == 0 || k < 2)
        return 0;
    struct sim_dma_ctx ctx = { .cid = NO_CID, .sq_id = qid };
    return sim_iommu_dma_read_cached(c->iommu, iova & c->addr_mask, out, k * sizeof(*out), ctx) ? k : 0;
}

static unsigned sq_service(struct sim_ctrl *c, uint16_t qid, unsigned budget)
{
    struct ctrl_fw *f = &c->fw_state;
    struct ctrl_sq *sq = &f->sq[qid];
    uint32_t tail;
    if (f->cq[sq->cqid].npend)
        return 0; /* its CQ is full: fetch more only once the driver made room */
    if (!sq_tail(c, qid, &tail))
        return 0;
    unsigned n = 0;
    if (sq->head != tail) {
        f->fetch_ns = f->clock_ns ? f->clock_ns : clock_now_ns();
        f->clock_ns = 0; /* commands run from here on */
    }
    struct hba_sq_entry pre[CTRL_SQ_PREFETCH];
    unsigned npre = 0, ipre = 0;
    /* A power cut stops the firmware between two commands, not after the pass. */
    while (sq->head != tail && n < budget && f->state == HBA_STATE_OPERATIONAL && !atomic_load(&c->stop)) {
        struct hba_sq_entry one;
        const struct hba_sq_entry *e = &one;
        if (ipre == npre) {
            npre = sq_prefetch(c, qid, tail, budget - n, pre);
            ipre = 0;
        }
        if (ipre < npre) {
            e = &pre[ipre++];
            sq_take(sq);
        } else if (!sq_fetch(c, qid, &one)) {
            break;
        }
        n++;
        if (qid == 0)
            ctrl_admin_submit(c, e);
        else
            ctrl_io_submit(c, qid, e);
        /* The OS may be waiting on an invalidation (two processes): it is
         * answered within a command's time (sim_iommu_service). */
        sim_iommu_service(c->iommu);
    }
    /* The batch's latencies end here: one clock read, which the next batch
     * and pass start from (ctrl_fw.clock_ns). */
    uint64_t now = ctrl_stats_settle(c);
    if (n)
        f->clock_ns = now;
    return n;
}

unsigned ctrl_queue_pass(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    unsigned n = 0;
    if (f->sq[0].live)
        n += sq_service(c, 0, ADMIN_BUDGET);
    /* The live I/O SQs from 1 + rr_next up, then from 1 up to it: the
     * round robin that gives no queue the first turn twice in a row. */
    unsigned first = 1 + f->rr_next;
    uint64_t io = f->sq_live & ~1ull, from = io & (~0ull << first);
    uint64_t order[2] = { from, io & ~from };
    for (unsigned k = 0; k < 2; k++)
        for (uint64_t m = order[k]; m && f->state == HBA_STATE_OPERATIONAL; m &= m - 1) {
            unsigned q = (unsigned)__builtin_ctzll(m);
            if (f->sq_live >> q & 1) /* still: a command of this pass may have reset the controller */
                n += sq_service(c, (uint16_t)q, IO_BUDGET);
        }
    f->rr_next = (f->rr_next + 1) % (HBA_MAX_QUEUES - 1);
    return n;
}

bool ctrl_queue_arm(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    for (uint16_t q = 0; q < HBA_MAX_QUEUES; q++)
        if (f->sq[q].live)
            ctrl_reg_set(c, HBA_REG_SQ_EVENT_IDX(q), f->sq[q].head);
    /* Pairs with the bus's fence between its tail store and event-index load:
     * either the driver sees the new event index, or we see its new tail. */
    atomic_thread_fence(memory_order_seq_cst);
    for (uint16_t q = 0; q < HBA_MAX_QUEUES; q++) {
        struct ctrl_sq *sq = &f->sq[q];
        if (sq->live && !f->cq[sq->cqid].npend && ctrl_reg_get(c, HBA_REG_SQ_TAIL(q)) != sq->head)
            return true;
    }
    return false;
}

void ctrl_abort_held(struct sim_ctrl *c, int sqid, bool scsi_only, int target, int lun, uint8_t status)
{
    struct ctrl_fw *f = &c->fw_state;
    for (size_t i = 0; i < f->nheld;) {
        const struct ctrl_held *h = &f->held[i];
        bool match = (sqid < 0 || h->sqid == sqid) && (!scsi_only || h->kind != CTRL_HELD_ASYNC_EVENT) &&
                     (target < 0 || h->target == target) && (lun < 0 || h->lun == lun);
        if (!match) {
            i++;
            continue;
        }
        ctrl_complete(c, h->sqid, h->cid, status, 0, 0, 0);
        ctrl_held_remove(c, i);
    }
}

/* Before an ABORT or a reset runs: every entry the host had put on an I/O SQ
 * by then is fetched (and run, or held) first, so the task management covers
 * every command submitted before it, however few entries a pass takes
 * (docs/controller.md 12). */
void ctrl_queue_fetch_io(struct sim_ctrl *c)
{
    for (uint16_t q = 1; q < HBA_MAX_QUEUES && c->fw_state.state == HBA_STATE_OPERATIONAL; q++)
        if (c->fw_state.sq[q].live)
            sq_service(c, q, UINT32_MAX);
}
