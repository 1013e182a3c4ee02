/* tests/support/hba_harness.c — the raw test driver (see hba_harness.h). */
#include "tests/support/hba_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "tests/support/testutil.h"

static void nap(void)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = 50000 };
    nanosleep(&ts, NULL);
}

void hh_config(struct sim_config *cfg)
{
    sim_config_init(cfg);
    cfg->host_ram_bytes = 32u << 20;
    cfg->init_ms = 5;
    cfg->seed = 42;
    if (cfg->lu_count)
        cfg->lus[0].blocks = 8192;
}

void hh_open(struct hh *h, struct sim_config *cfg)
{
    memset(h, 0, sizeof(*h));
    if (cfg)
        h->cfg = *cfg;
    else
        hh_config(&h->cfg);
    char err[256] = "";
    int rc = sim_ctrl_create(&h->cfg, &h->ctrl, err, sizeof(err));
    ck_assert_msg(rc == 0, "sim_ctrl_create: %d %s", rc, err);
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(h->ctrl), NULL, &h->bus), 0);
    h->ram = bus_ram(h->bus);
    h->ram_size = bus_ram_size(h->bus);
    ck_assert_int_eq(sim_ctrl_power_on(h->ctrl), 0);
}

void hh_forget_queues(struct hh *h)
{
    for (unsigned q = 0; q < HBA_MAX_QUEUES; q++) {
        free(h->q[q].stash);
        memset(&h->q[q], 0, sizeof(h->q[q]));
    }
}

void hh_restart_admin(struct hh *h)
{
    for (unsigned q = 1; q < HBA_MAX_QUEUES; q++) {
        free(h->q[q].stash);
        memset(&h->q[q], 0, sizeof(h->q[q]));
    }
    struct hh_queue *a = &h->q[0];
    a->sq_tail = a->cq_head = 0;
    a->phase = 1;
    a->nstash = 0;
}

void hh_close(struct hh *h)
{
    hh_forget_queues(h);
    bus_detach(h->bus);
    sim_ctrl_destroy(h->ctrl);
    sim_config_free(&h->cfg);
    memset(h, 0, sizeof(*h));
}

void hh_open_ready(struct hh *h, struct sim_config *cfg)
{
    hh_open(h, cfg);
    ck_assert(hh_wait_state(h, HBA_STATE_READY));
    ck_assert(hh_enable(h, 32));
    ck_assert_int_eq(hh_create_pair(h, 1, 64, 1, 0), 0);
}

uint32_t hh_rd(struct hh *h, uint32_t off)
{
    return bus_read32(h->bus, off);
}

void hh_wr(struct hh *h, uint32_t off, uint32_t val)
{
    bus_write32(h->bus, off, val);
}

bool hh_wait_reg(struct hh *h, uint32_t off, uint32_t mask, uint32_t want, int timeout_ms)
{
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if ((hh_rd(h, off) & mask) == want)
            return true;
        if (clock_now_ms() > end)
            return false;
        nap();
    }
}

bool hh_wait_state(struct hh *h, enum hba_state s)
{
    return hh_wait_reg(h, HBA_REG_STATUS, 0xFu << HBA_STATUS_STATE_SHIFT, (uint32_t)s << HBA_STATUS_STATE_SHIFT,
                       HH_TIMEOUT_MS);
}

bool hh_wait_heartbeat(struct hh *h, uint32_t from, int timeout_ms)
{
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    while (hh_rd(h, HBA_REG_HEARTBEAT) == from) {
        if (clock_now_ms() > end)
            return false;
        nap();
    }
    return true;
}

/* ---- memory -------------------------------------------------------------- */

struct hh_buf hh_alloc_unmapped(struct hh *h, uint64_t len)
{
    uint64_t pages = (len + HBA_IOMMU_PAGE_SIZE - 1) / HBA_IOMMU_PAGE_SIZE;
    if (!pages)
        pages = 1;
    ck_assert_msg(h->ram_next + pages * HBA_IOMMU_PAGE_SIZE <= h->ram_size, "harness out of host RAM");
    struct hh_buf b = { .p = h->ram + h->ram_next, .ram = h->ram_next, .iova = HH_IOVA_BASE + h->ram_next,
                        .len = len };
    memset(b.p, 0, pages * HBA_IOMMU_PAGE_SIZE);
    h->ram_next += pages * HBA_IOMMU_PAGE_SIZE;
    return b;
}

struct hh_buf hh_alloc_at(struct hh *h, uint64_t len, enum hba_dma_dir dir, uint64_t iova)
{
    struct hh_buf b = hh_alloc_unmapped(h, len);
    b.iova = iova;
    int rc = bus_iommu_map(h->bus, iova, b.ram, len ? len : 1, dir);
    ck_assert_msg(rc == 0, "iommu map %#llx: %d", (unsigned long long)iova, rc);
    return b;
}

struct hh_buf hh_alloc(struct hh *h, uint64_t len, enum hba_dma_dir dir)
{
    struct hh_buf b = hh_alloc_unmapped(h, len);
    return hh_alloc_at(h, len, dir, b.iova);
}

void hh_unmap(struct hh *h, const struct hh_buf *b)
{
    ck_assert_int_eq(bus_iommu_unmap(h->bus, b->iova, b->len ? b->len : 1), 0);
}

/* ---- bring-up ------------------------------------------------------------ */

void hh_program_aq(struct hh *h, uint32_t entries)
{
    struct hh_queue *q = &h->q[0];
    free(q->stash);
    memset(q, 0, sizeof(*q));
    q->size = q->cq_size = entries;
    q->sq = hh_alloc(h, (uint64_t)entries * sizeof(struct hba_sq_entry), HBA_DMA_TO_DEVICE);
    q->cq = hh_alloc(h, (uint64_t)entries * sizeof(struct hba_cq_entry), HBA_DMA_FROM_DEVICE);
    q->phase = 1;
    q->live = true;
    q->stash = calloc(HH_STASH, sizeof(struct hba_cq_entry));
    ck_assert_ptr_nonnull(q->stash);
    hh_wr(h, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)q->sq.iova);
    hh_wr(h, HBA_REG_AQ_SQ_BASE_HI, (uint32_t)(q->sq.iova >> 32));
    hh_wr(h, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)q->cq.iova);
    hh_wr(h, HBA_REG_AQ_CQ_BASE_HI, (uint32_t)(q->cq.iova >> 32));
    hh_wr(h, HBA_REG_AQ_SIZE, entries | entries << 16);
}

bool hh_enable(struct hh *h, uint32_t entries)
{
    hh_program_aq(h, entries);
    hh_wr(h, HBA_REG_CONFIG, HBA_CONFIG_EN);
    return hh_wait_reg(h, HBA_REG_STATUS, HBA_STATUS_RDY | HBA_STATUS_FATAL, HBA_STATUS_RDY, HH_TIMEOUT_MS);
}

void hh_hard_reset(struct hh *h)
{
    hh_wr(h, HBA_REG_RESET_KEY, HBA_RESET_KEY_1);
    hh_wr(h, HBA_REG_RESET_KEY, HBA_RESET_KEY_2);
    hh_wr(h, HBA_REG_RESET_KEY, HBA_RESET_KEY_3);
    hh_wr(h, HBA_REG_RESET_KEY, HBA_RESET_KEY_4);
    hh_wr(h, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
}

struct hba_sq_entry hh_admin_entry(uint8_t opcode, uint32_t cdw0, uint32_t cdw1, uint32_t cdw2, uint32_t cdw3)
{
    struct hba_sq_entry e;
    memset(&e, 0, sizeof(e));
    e.opcode = opcode;
    e.u.cdw[0] = cdw0;
    e.u.cdw[1] = cdw1;
    e.u.cdw[2] = cdw2;
    e.u.cdw[3] = cdw3;
    return e;
}

int hh_create_pair(struct hh *h, uint16_t qid, uint32_t entries, uint16_t vector, uint32_t cq_flags)
{
    return hh_create_queues(h, qid, entries, entries, vector, cq_flags);
}

int hh_create_queues(struct hh *h, uint16_t qid, uint32_t sq_entries, uint32_t cq_entries, uint16_t vector,
                     uint32_t cq_flags)
{
    struct hh_queue *q = &h->q[qid];
    free(q->stash);
    memset(q, 0, sizeof(*q));
    q->size = sq_entries;
    q->cq_size = cq_entries;
    q->sq = hh_alloc(h, (uint64_t)sq_entries * sizeof(struct hba_sq_entry), HBA_DMA_TO_DEVICE);
    q->cq = hh_alloc(h, (uint64_t)cq_entries * sizeof(struct hba_cq_entry), HBA_DMA_FROM_DEVICE);
    q->phase = 1;
    q->stash = calloc(HH_STASH, sizeof(struct hba_cq_entry));
    ck_assert_ptr_nonnull(q->stash);

    struct hba_cq_entry out;
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_CREATE_CQ, qid, cq_entries, vector, cq_flags);
    e.sge = hh_sge(q->cq.iova, (uint32_t)q->cq.len, HBA_SGE_DATA);
    int rc = hh_admin(h, &e, &out);
    if (rc)
        return rc;
    e = hh_admin_entry(HBA_ADM_CREATE_SQ, qid, sq_entries, qid, 0);
    e.sge = hh_sge(q->sq.iova, (uint32_t)q->sq.len, HBA_SGE_DATA);
    rc = hh_admin(h, &e, &out);
    if (rc == 0)
        q->live = true;
    return rc;
}

/* ---- submission and completion ------------------------------------------ */

uint16_t hh_cid(struct hh *h, uint16_t qid)
{
    return h->q[qid].next_cid++;
}

void hh_put(struct hh *h, uint16_t qid, const struct hba_sq_entry *e)
{
    struct hh_queue *q = &h->q[qid];
    memcpy(q->sq.p + (uint64_t)q->sq_tail * sizeof(*e), e, sizeof(*e));
    q->sq_tail = (q->sq_tail + 1) % q->size;
}

void hh_doorbell(struct hh *h, uint16_t qid)
{
    hh_wr(h, HBA_REG_SQ_TAIL(qid), h->q[qid].sq_tail);
}

void hh_submit(struct hh *h, uint16_t qid, const struct hba_sq_entry *e)
{
    hh_put(h, qid, e);
    hh_doorbell(h, qid);
}

bool hh_wait_fetched(struct hh *h, uint16_t qid)
{
    return hh_wait_reg(h, HBA_REG_SQ_EVENT_IDX(qid), 0xFFFFFFFFu, h->q[qid].sq_tail, HH_TIMEOUT_MS);
}

/* Takes the entry at the CQ head if its phase is current. */
static bool take(struct hh *h, uint16_t qid, struct hba_cq_entry *out)
{
    struct hh_queue *q = &h->q[qid];
    uint8_t *slot = q->cq.p + (uint64_t)q->cq_head * sizeof(*out);
    uint32_t dw3 = __atomic_load_n((uint32_t *)(void *)(slot + 12), __ATOMIC_ACQUIRE);
    if (((dw3 >> 16) & 1u) != q->phase)
        return false;
    memcpy(out, slot, sizeof(*out));
    if (++q->cq_head == q->cq_size) {
        q->cq_head = 0;
        q->phase ^= 1;
    }
    hh_wr(h, HBA_REG_CQ_HEAD(qid), q->cq_head);
    return true;
}

bool hh_poll_cqe(struct hh *h, uint16_t qid, struct hba_cq_entry *out)
{
    struct hh_queue *q = &h->q[qid];
    if (q->nstash) {
        *out = q->stash[0];
        memmove(q->stash, q->stash + 1, (q->nstash - 1) * sizeof(*out));
        q->nstash--;
        return true;
    }
    return take(h, qid, out);
}

bool hh_wait_cqe(struct hh *h, uint16_t qid, uint16_t cid, struct hba_cq_entry *out, int timeout_ms)
{
    struct hh_queue *q = &h->q[qid];
    for (size_t i = 0; i < q->nstash; i++) {
        if (q->stash[i].cid == cid) {
            *out = q->stash[i];
            memmove(q->stash + i, q->stash + i + 1, (q->nstash - i - 1) * sizeof(*out));
            q->nstash--;
            return true;
        }
    }
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        struct hba_cq_entry e;
        while (take(h, qid, &e)) {
            if (e.cid == cid) {
                *out = e;
                return true;
            }
            ck_assert_msg(q->nstash < HH_STASH, "harness completion stash full");
            q->stash[q->nstash++] = e;
        }
        if (clock_now_ms() > end)
            return false;
        nap();
    }
}

bool hh_wait_n(struct hh *h, uint16_t qid, size_t n, struct hba_cq_entry *out, int timeout_ms)
{
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    size_t got = 0;
    while (got < n) {
        if (hh_poll_cqe(h, qid, &out[got])) {
            got++;
            continue;
        }
        if (clock_now_ms() > end)
            return false;
        nap();
    }
    return true;
}

int hh_admin(struct hh *h, struct hba_sq_entry *e, struct hba_cq_entry *out)
{
    e->cid = hh_cid(h, 0);
    hh_submit(h, 0, e);
    bool ok = hh_wait_cqe(h, 0, e->cid, out, HH_TIMEOUT_MS);
    ck_assert_msg(ok, "admin opcode %#x got no completion", e->opcode);
    return out->ctrl_status;
}

struct hh_buf hh_sgl(struct hh *h, const struct hba_sge *list, size_t n)
{
    struct hh_buf b = hh_alloc(h, n * sizeof(*list), HBA_DMA_TO_DEVICE);
    memcpy(b.p, list, n * sizeof(*list));
    return b;
}

struct hba_sq_entry hh_scsi_entry(uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
                                  uint32_t data_len, struct hba_sge sge)
{
    struct hba_sq_entry e;
    memset(&e, 0, sizeof(e));
    e.opcode = HBA_OP_SCSI;
    e.flags = dir;
    e.target = target;
    e.lun = lun;
    e.cdb_len = cdb_len;
    memcpy(e.u.cdb, cdb, cdb_len <= HBA_CDB_MAX ? cdb_len : HBA_CDB_MAX);
    e.data_len = data_len;
    e.sge = sge;
    return e;
}

int hh_scsi(struct hh *h, uint16_t qid, struct hba_sq_entry *e, struct hba_cq_entry *out)
{
    e->cid = hh_cid(h, qid);
    hh_submit(h, qid, e);
    bool ok = hh_wait_cqe(h, qid, e->cid, out, HH_TIMEOUT_MS);
    ck_assert_msg(ok, "SCSI opcode %#x got no completion", e->u.cdb[0]);
    return out->ctrl_status;
}

void hh_cdb_rw10(uint8_t cdb[10], bool write, uint32_t lba, uint16_t blocks)
{
    memset(cdb, 0, 10);
    cdb[0] = write ? 0x2a : 0x28;
    cdb[2] = (uint8_t)(lba >> 24);
    cdb[3] = (uint8_t)(lba >> 16);
    cdb[4] = (uint8_t)(lba >> 8);
    cdb[5] = (uint8_t)lba;
    cdb[7] = (uint8_t)(blocks >> 8);
    cdb[8] = (uint8_t)blocks;
}

void hh_cdb_inquiry(uint8_t cdb[6], uint16_t alloc)
{
    memset(cdb, 0, 6);
    cdb[0] = 0x12;
    cdb[3] = (uint8_t)(alloc >> 8);
    cdb[4] = (uint8_t)alloc;
}
