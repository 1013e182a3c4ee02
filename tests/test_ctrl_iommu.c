/* tests/test_ctrl_iommu.c — the IOMMU fault policies seen end to end through
 * the controller: ABORT fails the command with DATA_XFER_ERROR, logs the fault
 * (GET_LOG names the IOVA and the command) and raises an async event; DROP
 * lets the command "succeed" while the host buffer stays untouched (field bug
 * F2); FATAL puts the controller in FAULT.  Queue memory that becomes
 * unreachable is a FAULT of its own. */
#include <string.h>

#include "scsi/scsi.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

#define BLK 512u

static void open_policy(struct hh *h, enum hba_iommu_policy p)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.iommu_policy = p;
    hh_open_ready(h, &cfg);
}

static void submit_inquiry(struct hh *h, uint64_t iova, struct hba_sq_entry *e)
{
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 36);
    *e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(iova, 36, HBA_SGE_DATA));
    e->cid = hh_cid(h, 1);
    hh_submit(h, 1, e);
}

/* INQUIRY into iova; returns the controller status of its completion. */
static int inquiry_into(struct hh *h, uint64_t iova, struct hba_sq_entry *e)
{
    submit_inquiry(h, iova, e);
    struct hba_cq_entry c;
    ck_assert(hh_wait_cqe(h, 1, e->cid, &c, HH_TIMEOUT_MS));
    if (c.ctrl_status == HBA_CS_SUCCESS)
        ck_assert_uint_eq(c.result, 36);
    else
        ck_assert_uint_eq(c.result, 0);
    return c.ctrl_status;
}

START_TEST(abort_policy_fails_logs_and_raises_an_event)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_ABORT);
    struct hba_sq_entry a = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    a.cid = hh_cid(&h, 0);
    hh_submit(&h, 0, &a);

    const uint64_t bad = 0x5500000000ull;
    struct hba_sq_entry e;
    ck_assert_int_eq(inquiry_into(&h, bad, &e), HBA_CS_DATA_XFER_ERROR);

    struct hba_cq_entry ac;
    ck_assert(hh_wait_cqe(&h, 0, a.cid, &ac, HH_TIMEOUT_MS));
    ck_assert_uint_eq(HBA_AEV_TYPE(ac.result), HBA_AEV_IOMMU_FAULT);
    uint32_t seq = HBA_AEV_INFO(ac.result);

    struct hh_buf log = hh_alloc(&h, 4096, HBA_DMA_FROM_DEVICE);
    struct hba_sq_entry g = hh_admin_entry(HBA_ADM_GET_LOG, HBA_LOG_IOMMU_FAULTS, seq, 0, 0);
    g.data_len = 4096;
    g.sge = hh_sge(log.iova, 4096, HBA_SGE_DATA);
    struct hba_cq_entry gc;
    ck_assert_int_eq(hh_admin(&h, &g, &gc), HBA_CS_SUCCESS);
    struct hba_log_header hdr;
    struct hba_iommu_fault f;
    memcpy(&hdr, log.p, sizeof(hdr));
    memcpy(&f, log.p + sizeof(hdr), sizeof(f));
    ck_assert_uint_ge(hdr.count, 1);
    ck_assert_uint_eq(hdr.first, seq);
    ck_assert_uint_eq(f.seq, seq);
    ck_assert_uint_eq(f.iova, bad);
    ck_assert_uint_eq(f.cid, e.cid);
    ck_assert_uint_eq(f.sq_id, 1);
    ck_assert_uint_eq(f.dir, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_eq(f.reason, HBA_IOMMU_UNMAPPED);
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_ABORT);
    ck_assert_uint_eq(HBA_STATUS_STATE(hh_rd(&h, HBA_REG_STATUS)), HBA_STATE_OPERATIONAL);
    hh_close(&h);
}
END_TEST

START_TEST(drop_policy_succeeds_with_the_buffer_untouched)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_DROP);
    /* F2: the buffer is mapped device-read-only; the device's write vanishes. */
    struct hh_buf ro = hh_alloc(&h, 4096, HBA_DMA_TO_DEVICE);
    struct hba_sq_entry e;
    ck_assert_int_eq(inquiry_into(&h, ro.iova, &e), HBA_CS_SUCCESS);
    for (unsigned i = 0; i < 36; i++)
        ck_assert_uint_eq(ro.p[i], 0);
    struct hba_iommu_fault f;
    struct hba_log_header hdr;
    ck_assert_uint_eq(sim_ctrl_fault_log(h.ctrl, 0, &f, 1, &hdr), 1);
    ck_assert_uint_eq(f.reason, HBA_IOMMU_READ_ONLY);
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_DROP);
    ck_assert_uint_eq(f.cid, e.cid);

    /* Data-out from an unmapped buffer reads as all-ones and is written. */
    struct hba_cq_entry c;
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, true, 10, 1);
    struct hba_sq_entry w = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, BLK, hh_sge(0x5500000000ull, BLK, 0));
    for (int i = 0; i < 4; i++) /* past the power-on unit attention */
        if (hh_scsi(&h, 1, &w, &c) == HBA_CS_SUCCESS && c.scsi_status == SCSI_STATUS_GOOD)
            break;
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    struct hh_buf in = hh_alloc(&h, BLK, HBA_DMA_FROM_DEVICE);
    hh_cdb_rw10(cdb, false, 10, 1);
    struct hba_sq_entry r = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_READ, BLK, hh_sge(in.iova, BLK, 0));
    ck_assert_int_eq(hh_scsi(&h, 1, &r, &c), HBA_CS_SUCCESS);
    for (unsigned i = 0; i < BLK; i++)
        ck_assert_uint_eq(in.p[i], 0xFF);
    hh_close(&h);
}
END_TEST

START_TEST(fatal_policy_faults_the_controller)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_FATAL);
    struct hba_sq_entry e;
    submit_inquiry(&h, 0x5500000000ull, &e);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_IOMMU);
    struct hba_cq_entry c;
    ck_assert(!hh_poll_cqe(&h, 1, &c)); /* a dead controller posts nothing */
    hh_close(&h);
}
END_TEST

START_TEST(policy_can_change_at_run_time)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_ABORT);
    struct hh_buf ro = hh_alloc(&h, 4096, HBA_DMA_TO_DEVICE);
    struct hba_sq_entry e;
    ck_assert_int_eq(inquiry_into(&h, ro.iova, &e), HBA_CS_DATA_XFER_ERROR);
    sim_ctrl_set_iommu_policy(h.ctrl, HBA_IOMMU_POLICY_DROP);
    ck_assert_int_eq(inquiry_into(&h, ro.iova, &e), HBA_CS_SUCCESS);
    hh_close(&h);
}
END_TEST

START_TEST(unmapped_sq_memory_faults_queue_access)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_ABORT);
    hh_unmap(&h, &h.q[1].sq);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    hh_submit(&h, 1, &e);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_QUEUE_ACCESS);
    struct hba_iommu_fault f;
    struct hba_log_header hdr;
    ck_assert_uint_eq(sim_ctrl_fault_log(h.ctrl, 0, &f, 1, &hdr), 1);
    ck_assert_uint_eq(f.cid, 0xFFFF); /* a queue access, not a command's data */
    ck_assert_uint_eq(f.sq_id, 1);
    ck_assert_uint_eq(f.iova, h.q[1].sq.iova);
    hh_close(&h);
}
END_TEST

START_TEST(unmapped_cq_memory_faults_queue_access)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_ABORT);
    hh_unmap(&h, &h.q[1].cq);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    hh_submit(&h, 1, &e);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_QUEUE_ACCESS);
    hh_close(&h);
}
END_TEST

START_TEST(queue_fault_under_fatal_policy_is_an_iommu_fault)
{
    struct hh h;
    open_policy(&h, HBA_IOMMU_POLICY_FATAL);
    hh_unmap(&h, &h.q[1].sq);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    hh_submit(&h, 1, &e);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_IOMMU);
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_iommu");
    TCase *tc = tcase_create("iommu");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, abort_policy_fails_logs_and_raises_an_event);
    tcase_add_test(tc, drop_policy_succeeds_with_the_buffer_untouched);
    tcase_add_test(tc, fatal_policy_faults_the_controller);
    tcase_add_test(tc, policy_can_change_at_run_time);
    tcase_add_test(tc, unmapped_sq_memory_faults_queue_access);
    tcase_add_test(tc, unmapped_cq_memory_faults_queue_access);
    tcase_add_test(tc, queue_fault_under_fatal_policy_is_an_iommu_fault);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
