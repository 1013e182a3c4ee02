/* tests/test_ctrl_admin.c — every admin command of hw/hba.h, good path and
 * error paths, through the admin queue of a running controller. */
#include <errno.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

static struct hh H;

static void setup(void)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.lus[0].battery = HBA_BATTERY_GOOD;
    hh_open(&H, &cfg);
    ck_assert(hh_wait_state(&H, HBA_STATE_READY));
    ck_assert(hh_enable(&H, 128));
    ck_assert_int_eq(hh_create_pair(&H, 1, 64, 1, 0), 0);
}

static void teardown(void)
{
    hh_close(&H);
}

static int admin(uint8_t op, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, struct hba_cq_entry *out)
{
    struct hba_sq_entry e = hh_admin_entry(op, c0, c1, c2, c3);
    return hh_admin(&H, &e, out);
}

static int admin_data(uint8_t op, uint32_t c0, uint32_t c1, const struct hh_buf *b, uint32_t len,
                      struct hba_cq_entry *out)
{
    struct hba_sq_entry e = hh_admin_entry(op, c0, c1, 0, 0);
    e.data_len = len;
    e.sge = hh_sge(b->iova, len, HBA_SGE_DATA);
    return hh_admin(&H, &e, out);
}

/* A TEST UNIT READY that the firmware will lose (DROP_NEXT), left outstanding. */
static uint16_t lost_tur(uint16_t target, uint16_t lun)
{
    ck_assert_int_eq(sim_ctrl_inject(H.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(target, lun, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = hh_cid(&H, 1);
    hh_submit(&H, 1, &e);
    ck_assert(hh_wait_fetched(&H, 1)); /* held now, before any admin command looks for it */
    return e.cid;
}

START_TEST(identify_controller)
{
    struct hh_buf b = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    struct hba_cq_entry c;
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_CONTROLLER, 0, &b, 4096, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, sizeof(struct hba_identify_ctrl));
    struct hba_identify_ctrl id;
    memcpy(&id, b.p, sizeof(id));
    ck_assert(memcmp(id.vendor, "SCSISIM ", 8) == 0);
    ck_assert_uint_eq(id.max_targets, H.cfg.max_targets);
    ck_assert_uint_eq(id.max_luns, H.cfg.max_luns);
    ck_assert_uint_eq(id.drive_count, 1);
    ck_assert_uint_eq(id.battery, HBA_BATTERY_GOOD);

    /* A shorter buffer gets a truncated copy and nothing past it. */
    struct hh_buf s = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    memset(s.p, 0xEE, 64);
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_CONTROLLER, 0, &s, 20, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 20);
    ck_assert(memcmp(s.p, "SCSISIM ", 8) == 0);
    ck_assert_uint_eq(s.p[20], 0xEE);
}
END_TEST

START_TEST(identify_drives)
{
    struct hh_buf b = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    struct hba_cq_entry c;
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_DRIVE_LIST, 0, &b, 4096, &c), HBA_CS_SUCCESS);
    uint32_t list[2];
    memcpy(list, b.p, sizeof(list));
    ck_assert_uint_eq(list[0], 1);
    ck_assert_uint_eq(list[1], 0);
    ck_assert_uint_eq(c.result, 8);

    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_DRIVE, 0, &b, 128, &c), HBA_CS_SUCCESS);
    struct hba_identify_drive d;
    memcpy(&d, b.p, sizeof(d));
    ck_assert_uint_eq(d.blocks, H.cfg.lus[0].blocks);
    ck_assert_uint_eq(d.block_size, H.cfg.lus[0].block_size);

    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_DRIVE, 5u << 16, &b, 128, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_DRIVE, 100u << 16, &b, 128, &c),
                     HBA_CS_INVALID_TARGET);
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, 9, 0, &b, 128, &c), HBA_CS_INVALID_FIELD);
}
END_TEST

START_TEST(identify_data_errors)
{
    struct hh_buf b = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    struct hba_cq_entry c;
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_IDENTIFY, HBA_IDENTIFY_CONTROLLER, 0, 0, 0);
    e.data_len = 256;
    e.sge = hh_sge(b.iova, 0, HBA_SGE_DATA);
    ck_assert_int_eq(hh_admin(&H, &e, &c), HBA_CS_SGL_ZERO_LENGTH);
    e.sge = hh_sge(b.iova, 128, HBA_SGE_DATA);
    ck_assert_int_eq(hh_admin(&H, &e, &c), HBA_CS_SGL_SHORT);

    /* Read-only for the device: the IOMMU aborts the write. */
    struct hh_buf ro = hh_alloc(&H, 4096, HBA_DMA_TO_DEVICE);
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, HBA_IDENTIFY_CONTROLLER, 0, &ro, 256, &c),
                     HBA_CS_DATA_XFER_ERROR);
    ck_assert_uint_eq(ro.p[0], 0);
}
END_TEST

START_TEST(create_queue_errors)
{
    struct hh_buf m = hh_alloc(&H, 64 * 64, HBA_DMA_BIDIRECTIONAL);
    struct hba_cq_entry c;
    struct hba_sq_entry e;
#define CQ(qid, n, vec, fl, addr)                                                                                   \
    (e = hh_admin_entry(HBA_ADM_CREATE_CQ, qid, n, vec, fl), e.sge = hh_sge(addr, 4096, HBA_SGE_DATA),           \
     hh_admin(&H, &e, &c))
#define SQ(qid, n, cq, addr)                                                                                        \
    (e = hh_admin_entry(HBA_ADM_CREATE_SQ, qid, n, cq, 0), e.sge = hh_sge(addr, 4096, HBA_SGE_DATA),             \
     hh_admin(&H, &e, &c))
    ck_assert_int_eq(CQ(0, 8, 1, 0, m.iova), HBA_CS_INVALID_QUEUE);       /* the admin queue id */
    ck_assert_int_eq(CQ(9, 8, 1, 0, m.iova), HBA_CS_INVALID_QUEUE);       /* > max_io_queues (8) */
    ck_assert_int_eq(CQ(1, 8, 1, 0, m.iova), HBA_CS_INVALID_QUEUE);       /* exists */
    ck_assert_int_eq(CQ(2, 1, 1, 0, m.iova), HBA_CS_INVALID_QUEUE);       /* too small */
    ck_assert_int_eq(CQ(2, 1025, 1, 0, m.iova), HBA_CS_INVALID_QUEUE);    /* > max_queue_entries */
    ck_assert_int_eq(CQ(2, 8, 9, 0, m.iova), HBA_CS_INVALID_QUEUE);       /* vector beyond 9 */
    ck_assert_int_eq(CQ(2, 8, 1, 2, m.iova), HBA_CS_INVALID_QUEUE);       /* unknown flag */
    ck_assert_int_eq(CQ(2, 8, 1, 0, m.iova + 8), HBA_CS_INVALID_QUEUE);   /* misaligned */
    ck_assert_int_eq(CQ(2, 8, 1, 0, 0x7000000000ull), HBA_CS_DATA_XFER_ERROR); /* unmapped */
    ck_assert_int_eq(CQ(2, 8, 1, 0, m.iova), HBA_CS_SUCCESS);

    ck_assert_int_eq(SQ(2, 8, 3, m.iova + 1024), HBA_CS_INVALID_QUEUE);   /* no CQ 3 */
    ck_assert_int_eq(SQ(2, 8, 0, m.iova + 1024), HBA_CS_INVALID_QUEUE);   /* the admin CQ */
    ck_assert_int_eq(SQ(1, 8, 2, m.iova + 1024), HBA_CS_INVALID_QUEUE);   /* exists */
    ck_assert_int_eq(SQ(2, 8, 2, m.iova + 1056), HBA_CS_INVALID_QUEUE);   /* not 64-byte aligned */
    ck_assert_int_eq(SQ(2, 4097, 2, m.iova + 1024), HBA_CS_INVALID_QUEUE);
    ck_assert_int_eq(SQ(2, 8, 2, 0x7000000000ull), HBA_CS_DATA_XFER_ERROR);
    ck_assert_int_eq(SQ(2, 8, 2, m.iova + 1024), HBA_CS_SUCCESS);
#undef CQ
#undef SQ
}
END_TEST

START_TEST(delete_queues)
{
    struct hba_cq_entry c;
    ck_assert_int_eq(admin(HBA_ADM_DELETE_SQ, 5, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE);
    ck_assert_int_eq(admin(HBA_ADM_DELETE_SQ, 0, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE);
    ck_assert_int_eq(admin(HBA_ADM_DELETE_CQ, 1, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE); /* SQ 1 uses it */
    ck_assert_int_eq(admin(HBA_ADM_DELETE_CQ, 0, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE);

    uint16_t cid = lost_tur(0, 0);
    ck_assert_int_eq(admin(HBA_ADM_DELETE_SQ, 1, 0, 0, 0, &c), HBA_CS_SUCCESS);
    struct hba_cq_entry io;
    ck_assert(hh_wait_cqe(&H, 1, cid, &io, HH_TIMEOUT_MS));
    ck_assert_uint_eq(io.ctrl_status, HBA_CS_ABORTED_SQ_DELETED);
    ck_assert_int_eq(admin(HBA_ADM_DELETE_SQ, 1, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE);
    ck_assert_int_eq(admin(HBA_ADM_DELETE_CQ, 1, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_DELETE_CQ, 1, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE);
    ck_assert_int_eq(hh_create_pair(&H, 1, 16, 1, 0), 0);
}
END_TEST

START_TEST(features)
{
    struct hba_cq_entry c;
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_WRITE_CACHE, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_WRITE_CACHE, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 0);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_WRITE_CACHE, 0, 1, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_WRITE_CACHE, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 1);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_WRITE_CACHE, HBA_ALL_DRIVES, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_WRITE_CACHE, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 0);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_WRITE_CACHE, HBA_ALL_DRIVES, 1, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_WRITE_CACHE, HBA_ALL_DRIVES, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 1);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_WRITE_CACHE, 0, 2, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_WRITE_CACHE, 3u << 16, 1, 0, &c),
                     HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_WRITE_CACHE, 3u << 16, 0, 0, &c),
                     HBA_CS_INVALID_FIELD);

    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_INT_COALESCING, 0, 0x1234508, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_INT_COALESCING, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 0x1234508);

    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_BATTERY, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, HBA_BATTERY_GOOD);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, HBA_FEATURE_BATTERY, 0, 0, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_BATTERY, 2u << 16, 0, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, 99, 0, 0, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_SET_FEATURE, 99, 0, 0, 0, &c), HBA_CS_INVALID_FIELD);
}
END_TEST

START_TEST(abort_command)
{
    struct hba_cq_entry c, io;
    uint16_t cid = lost_tur(0, 0);
    ck_assert_int_eq(admin(HBA_ADM_ABORT, 1, cid, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 0);
    ck_assert(hh_wait_cqe(&H, 1, cid, &io, HH_TIMEOUT_MS));
    ck_assert_uint_eq(io.ctrl_status, HBA_CS_ABORTED);
    ck_assert_int_eq(admin(HBA_ADM_ABORT, 1, cid, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 1); /* not found any more */
    ck_assert_int_eq(admin(HBA_ADM_ABORT, 7, 0, 0, 0, &c), HBA_CS_INVALID_QUEUE);
    ck_assert_int_eq(admin(HBA_ADM_ABORT, 1, 0x10000, 0, 0, &c), HBA_CS_INVALID_FIELD);
}
END_TEST

static uint16_t async_request(void)
{
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    e.cid = hh_cid(&H, 0);
    hh_submit(&H, 0, &e);
    return e.cid;
}

START_TEST(async_events_complete_when_something_happens)
{
    struct hba_cq_entry c;
    uint16_t a1 = async_request(), a2 = async_request();
    /* Nothing happened yet: a later admin command completes, the requests don't. */
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_INT_COALESCING, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert(!hh_wait_cqe(&H, 0, a1, &c, 0));

    ck_assert_int_eq(sim_ctrl_set_battery(H.ctrl, 0, 0, HBA_BATTERY_FAILED), 0);
    ck_assert(hh_wait_cqe(&H, 0, a1, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_SUCCESS);
    ck_assert_uint_eq(HBA_AEV_TYPE(c.result), HBA_AEV_BATTERY);
    ck_assert_uint_eq(HBA_AEV_INFO(c.result), HBA_BATTERY_FAILED);
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_BATTERY, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, HBA_BATTERY_FAILED);

    /* An IOMMU fault is an event too. */
    struct hh_buf ro = hh_alloc(&H, 4096, HBA_DMA_TO_DEVICE);
    ck_assert_int_eq(admin_data(HBA_ADM_IDENTIFY, 0, 0, &ro, 256, &c), HBA_CS_DATA_XFER_ERROR);
    ck_assert(hh_wait_cqe(&H, 0, a2, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(HBA_AEV_TYPE(c.result), HBA_AEV_IOMMU_FAULT);
    ck_assert_uint_eq(HBA_AEV_INFO(c.result), 0); /* the first fault, sequence 0 */

    ck_assert_int_eq(sim_ctrl_set_battery(H.ctrl, 9, 9, HBA_BATTERY_GOOD), -ENOENT);
}
END_TEST

START_TEST(async_events_queue_and_overflow)
{
    struct hba_cq_entry c;
    /* 70 events with no request outstanding: 64 kept, 6 lost. */
    for (int i = 0; i < 70; i++)
        ck_assert_int_eq(sim_ctrl_set_battery(H.ctrl, 0, 0, i % 2 ? HBA_BATTERY_GOOD : HBA_BATTERY_FAILED), 0);
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    ck_assert_int_eq(hh_admin(&H, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(HBA_AEV_TYPE(c.result), HBA_AEV_OVERFLOW);
    ck_assert_uint_eq(HBA_AEV_INFO(c.result), 6);
    /* The oldest kept is event 6 (i = 6: FAILED). */
    e = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    ck_assert_int_eq(hh_admin(&H, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(HBA_AEV_TYPE(c.result), HBA_AEV_BATTERY);
    ck_assert_uint_eq(HBA_AEV_INFO(c.result), HBA_BATTERY_FAILED);
}
END_TEST

START_TEST(async_requests_are_bounded)
{
    struct hba_cq_entry c;
    for (int i = 0; i < 64; i++)
        async_request();
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    ck_assert_int_eq(hh_admin(&H, &e, &c), HBA_CS_INVALID_FIELD);
}
END_TEST

START_TEST(admin_cid_conflict)
{
    struct hba_cq_entry c;
    uint16_t a = async_request();
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_GET_FEATURE, HBA_FEATURE_INT_COALESCING, 0, 0, 0);
    e.cid = a;
    hh_submit(&H, 0, &e);
    ck_assert(hh_wait_cqe(&H, 0, a, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_CID_CONFLICT);
    /* The held request was not disturbed: an event still completes it. */
    ck_assert_int_eq(sim_ctrl_set_battery(H.ctrl, 0, 0, HBA_BATTERY_ABSENT), 0);
    ck_assert(hh_wait_cqe(&H, 0, a, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_SUCCESS);
    ck_assert_uint_eq(HBA_AEV_TYPE(c.result), HBA_AEV_BATTERY);
}
END_TEST

START_TEST(cache_flush_and_shutdown)
{
    struct hba_cq_entry c;
    ck_assert_int_eq(admin(HBA_ADM_CACHE_FLUSH, 0, HBA_ALL_DRIVES, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_CACHE_FLUSH, 0, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_CACHE_FLUSH, 0, 7u << 16 | 3, 0, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_SHUTDOWN, 0, 0, 0, 0, &c), HBA_CS_SUCCESS);
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SHUTDOWN);
    /* Admin commands still work. */
    ck_assert_int_eq(admin(HBA_ADM_GET_FEATURE, HBA_FEATURE_INT_COALESCING, 0, 0, 0, &c), HBA_CS_SUCCESS);
}
END_TEST

START_TEST(get_log_reports_iommu_faults)
{
    struct hh_buf log = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    struct hba_cq_entry c;
    ck_assert_int_eq(admin_data(HBA_ADM_GET_LOG, HBA_LOG_IOMMU_FAULTS, 0, &log, 4096, &c), HBA_CS_SUCCESS);
    struct hba_log_header hdr;
    memcpy(&hdr, log.p, sizeof(hdr));
    ck_assert_uint_eq(hdr.total, 0);
    ck_assert_uint_eq(hdr.count, 0);
    ck_assert_uint_eq(c.result, sizeof(hdr));

    struct hh_buf ro = hh_alloc(&H, 4096, HBA_DMA_TO_DEVICE);
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_IDENTIFY, 0, 0, 0, 0);
    e.data_len = 256;
    e.sge = hh_sge(ro.iova, 256, HBA_SGE_DATA);
    ck_assert_int_eq(hh_admin(&H, &e, &c), HBA_CS_DATA_XFER_ERROR);

    ck_assert_int_eq(admin_data(HBA_ADM_GET_LOG, HBA_LOG_IOMMU_FAULTS, 0, &log, 4096, &c), HBA_CS_SUCCESS);
    memcpy(&hdr, log.p, sizeof(hdr));
    ck_assert_uint_eq(hdr.total, 1);
    ck_assert_uint_eq(hdr.count, 1);
    ck_assert_uint_eq(c.result, sizeof(hdr) + sizeof(struct hba_iommu_fault));
    struct hba_iommu_fault f;
    memcpy(&f, log.p + sizeof(hdr), sizeof(f));
    ck_assert_uint_eq(f.iova, ro.iova);
    ck_assert_uint_eq(f.cid, e.cid);
    ck_assert_uint_eq(f.sq_id, 0);
    ck_assert_uint_eq(f.dir, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_eq(f.reason, HBA_IOMMU_READ_ONLY);
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_ABORT);

    ck_assert_int_eq(admin_data(HBA_ADM_GET_LOG, 7, 0, &log, 4096, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin_data(HBA_ADM_GET_LOG, HBA_LOG_IOMMU_FAULTS, 0, &log, 8, &c), HBA_CS_INVALID_FIELD);
}
END_TEST

START_TEST(reset_lun_aborts_its_commands_and_raises_a_unit_attention)
{
    struct hba_cq_entry c, io;
    uint16_t cid = lost_tur(0, 0);
    ck_assert_int_eq(admin(HBA_ADM_RESET, HBA_RESET_LUN, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert(hh_wait_cqe(&H, 1, cid, &io, HH_TIMEOUT_MS));
    ck_assert_uint_eq(io.ctrl_status, HBA_CS_ABORTED_RESET);

    ck_assert_int_eq(admin(HBA_ADM_RESET, 7, 0, 0, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(HBA_ADM_RESET, HBA_RESET_TARGET, 99u << 16, 0, 0, &c), HBA_CS_INVALID_TARGET);
    ck_assert_int_eq(admin(HBA_ADM_RESET, HBA_RESET_BUS, 0, 0, 0, &c), HBA_CS_SUCCESS);

    /* The next command to the LUN reports the reset. */
    struct hh_buf sense = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[6] = { 0 };
    bool saw_reset_ua = false;
    for (int i = 0; i < 4; i++) {
        struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
        e.sense_addr = sense.iova;
        e.sense_len = 96;
        ck_assert_int_eq(hh_scsi(&H, 1, &e, &io), HBA_CS_SUCCESS);
        struct scsi_sense_info si;
        if (io.scsi_status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_parse(sense.p, io.sense_len, &si) &&
            si.key == SCSI_SK_UNIT_ATTENTION && si.asc == 0x29)
            saw_reset_ua = true;
    }
    ck_assert(saw_reset_ua);
}
END_TEST

START_TEST(reset_target_leaves_other_targets_alone)
{
    struct hba_cq_entry c, io;
    uint16_t other = lost_tur(1, 0);
    uint16_t mine = lost_tur(0, 0);
    ck_assert_int_eq(admin(HBA_ADM_RESET, HBA_RESET_TARGET, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert(hh_wait_cqe(&H, 1, mine, &io, HH_TIMEOUT_MS));
    ck_assert_uint_eq(io.ctrl_status, HBA_CS_ABORTED_RESET);
    ck_assert_int_eq(admin(HBA_ADM_ABORT, 1, other, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.result, 0); /* it was still outstanding */
    ck_assert(hh_wait_cqe(&H, 1, other, &io, HH_TIMEOUT_MS));
    ck_assert_uint_eq(io.ctrl_status, HBA_CS_ABORTED);
}
END_TEST

START_TEST(nexus_loss_and_unknown_opcodes)
{
    struct hba_cq_entry c;
    ck_assert_int_eq(admin(HBA_ADM_NEXUS_LOSS, 3, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_NEXUS_LOSS, HBA_MAX_INITIATORS - 1, 0, 0, 0, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(admin(HBA_ADM_NEXUS_LOSS, HBA_MAX_INITIATORS, 0, 0, 0, &c), HBA_CS_INVALID_FIELD);
    ck_assert_int_eq(admin(0x99, 0, 0, 0, 0, &c), HBA_CS_INVALID_OPCODE);
    ck_assert_int_eq(admin(HBA_OP_SCSI, 0, 0, 0, 0, &c), HBA_CS_INVALID_OPCODE);
    struct sim_ctrl_stats s;
    sim_ctrl_get_stats(H.ctrl, &s);
    ck_assert_uint_ge(s.driver_errors, 3);
    ck_assert_uint_eq(s.sim_bugs, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_admin");
    TCase *tc = tcase_create("admin");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identify_controller);
    tcase_add_test(tc, identify_drives);
    tcase_add_test(tc, identify_data_errors);
    tcase_add_test(tc, create_queue_errors);
    tcase_add_test(tc, delete_queues);
    tcase_add_test(tc, features);
    tcase_add_test(tc, abort_command);
    tcase_add_test(tc, async_events_complete_when_something_happens);
    tcase_add_test(tc, async_events_queue_and_overflow);
    tcase_add_test(tc, async_requests_are_bounded);
    tcase_add_test(tc, admin_cid_conflict);
    tcase_add_test(tc, cache_flush_and_shutdown);
    tcase_add_test(tc, get_log_reports_iommu_faults);
    tcase_add_test(tc, reset_lun_aborts_its_commands_and_raises_a_unit_attention);
    tcase_add_test(tc, reset_target_leaves_other_targets_alone);
    tcase_add_test(tc, nexus_loss_and_unknown_opcodes);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
