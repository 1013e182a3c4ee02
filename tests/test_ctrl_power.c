/* tests/test_ctrl_power.c — power cut and power on through the controller:
 * registers read zero while off, outstanding commands are lost, the drives
 * report POWER ON (29h/01h) afterwards, cached writes survive only with a good
 * battery (checked with the oracle), and the lost lines are reported as an
 * HBA_AEV_CACHE_LOST event. */
#include <errno.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

#define BLK 512u

static void open_battery(struct hh *h, enum hba_battery b)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.lus[0].battery = b;
    cfg.lus[0].write_cache = true;
    hh_open_ready(h, &cfg);
}

/* Runs a command until it gets past unit attentions; returns its SCSI status. */
static uint8_t scsi_past_ua(struct hh *h, struct hba_sq_entry *e)
{
    struct hba_cq_entry c;
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(hh_scsi(h, 1, e, &c), HBA_CS_SUCCESS);
        if (c.scsi_status != SCSI_STATUS_CHECK_CONDITION)
            return c.scsi_status;
    }
    return c.scsi_status;
}

static void write_blocks(struct hh *h, uint32_t lba, uint16_t n, unsigned seed)
{
    struct hh_buf out = hh_alloc(h, (uint64_t)n * BLK, HBA_DMA_TO_DEVICE);
    for (size_t i = 0; i < (size_t)n * BLK; i++)
        out.p[i] = (uint8_t)(i * 3 + seed);
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, true, lba, n);
    struct hba_sq_entry e =
        hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, n * BLK, hh_sge(out.iova, n * BLK, HBA_SGE_DATA));
    ck_assert_uint_eq(scsi_past_ua(h, &e), SCSI_STATUS_GOOD);
}

/* Power cycle; then a fresh bring-up (the harness's queues are gone). */
static int64_t power_cycle(struct hh *h)
{
    int64_t lost = sim_ctrl_power_cut(h->ctrl, NULL);
    ck_assert_int_ge(lost, 0);
    ck_assert_uint_eq(hh_rd(h, HBA_REG_ID), 0);
    ck_assert_uint_eq(hh_rd(h, HBA_REG_STATUS), 0);
    ck_assert_int_eq(sim_ctrl_power_on(h->ctrl), 0);
    ck_assert(hh_wait_state(h, HBA_STATE_READY));
    hh_forget_queues(h);
    ck_assert(hh_enable(h, 32));
    ck_assert_int_eq(hh_create_pair(h, 1, 64, 1, 0), 0);
    return lost;
}

START_TEST(power_on_reports_a_unit_attention)
{
    struct hh h;
    open_battery(&h, HBA_BATTERY_ABSENT);
    uint8_t tur[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, tur, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    ck_assert_uint_eq(scsi_past_ua(&h, &e), SCSI_STATUS_GOOD);
    power_cycle(&h);

    struct hh_buf sense = hh_alloc(&h, 4096, HBA_DMA_FROM_DEVICE);
    e.sense_addr = sense.iova;
    e.sense_len = 64;
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(sense.p, c.sense_len, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_UNIT_ATTENTION);
    ck_assert_uint_eq(si.asc, 0x29);
    ck_assert_uint_eq(si.ascq, 0x01);
    hh_close(&h);
}
END_TEST

START_TEST(unbacked_cache_is_lost_and_reported)
{
    struct hh h;
    open_battery(&h, HBA_BATTERY_ABSENT);
    write_blocks(&h, 10, 8, 1);
    int64_t lost = power_cycle(&h);
    ck_assert_int_gt(lost, 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_ctrl_check_media(h.ctrl, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_gt(r.volatile_lost, 0);

    struct hba_sq_entry a = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_admin(&h, &a, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(HBA_AEV_TYPE(c.result), HBA_AEV_CACHE_LOST);
    ck_assert_uint_eq(HBA_AEV_INFO(c.result), (uint32_t)lost);
    hh_close(&h);
}
END_TEST

START_TEST(battery_backed_cache_survives)
{
    struct hh h;
    open_battery(&h, HBA_BATTERY_GOOD);
    write_blocks(&h, 10, 8, 2);
    ck_assert_int_eq(power_cycle(&h), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_ctrl_check_media(h.ctrl, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_gt(r.volatile_kept, 0);
    hh_close(&h);
}
END_TEST

START_TEST(flushed_data_survives_without_a_battery)
{
    struct hh h;
    open_battery(&h, HBA_BATTERY_ABSENT);
    write_blocks(&h, 20, 8, 3);
    struct hba_sq_entry f = hh_admin_entry(HBA_ADM_CACHE_FLUSH, 0, HBA_ALL_DRIVES, 0, 0);
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_admin(&h, &f, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(power_cycle(&h), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_ctrl_check_media(h.ctrl, 0, 0, &r), 0);
    ck_assert_uint_gt(r.blocks_checked, 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    hh_close(&h);
}
END_TEST

START_TEST(outstanding_commands_are_lost_at_a_power_cut)
{
    struct hh h;
    open_battery(&h, HBA_BATTERY_ABSENT);
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    uint8_t tur[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, tur, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = 77;
    hh_submit(&h, 1, &e);
    ck_assert(hh_wait_fetched(&h, 1));
    struct hh_queue old = h.q[1];
    ck_assert_int_ge(sim_ctrl_power_cut(h.ctrl, NULL), 0);
    /* Nothing was posted for it: the CQ slot still has phase 0. */
    uint32_t dw3;
    memcpy(&dw3, old.cq.p + (uint64_t)old.cq_head * 16 + 12, 4);
    ck_assert_uint_eq((dw3 >> 16) & 1, 0);
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_DROP_NEXT, 1), -ENODEV);
    ck_assert_int_eq(sim_ctrl_power_on(h.ctrl), 0);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    /* The injection did not survive the power cycle. */
    hh_forget_queues(&h);
    ck_assert(hh_enable(&h, 32));
    ck_assert_int_eq(hh_create_pair(&h, 1, 64, 1, 0), 0);
    ck_assert_uint_eq(scsi_past_ua(&h, &e), SCSI_STATUS_GOOD);
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_power");
    TCase *tc = tcase_create("power");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, power_on_reports_a_unit_attention);
    tcase_add_test(tc, unbacked_cache_is_lost_and_reported);
    tcase_add_test(tc, battery_backed_cache_survives);
    tcase_add_test(tc, flushed_data_survives_without_a_battery);
    tcase_add_test(tc, outstanding_commands_are_lost_at_a_power_cut);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
