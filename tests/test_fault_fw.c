/* tests/test_fault_fw.c — what the fault engine and live control ask of the
 * firmware.  The remove and insert actions (sim/fw/fw_hotplug.c): what a
 * removed address answers, the REPORTED LUNS DATA HAS CHANGED unit attention
 * on the siblings, the driver's drive-changed event, a target whose last
 * drive goes, and the refusals (through a trace:
 * traces/faults/remove-and-insert.trace; through serve: tests/test_fault_ctl.c,
 * `ctl lun add|remove`).  The per-drive cache counters of `ctl stats`
 * (sim/fw/fw_cache_stats.c). */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <errno.h>
#include <string.h>

struct events {
    unsigned n;
    uint8_t type[8];
    uint32_t info[8];
};

static void on_event(void *arg, uint8_t type, uint32_t info)
{
    struct events *e = arg;
    if (e->n < 8) {
        e->type[e->n] = type;
        e->info[e->n] = info;
        e->n++;
    }
}

static struct fw *two_drives(struct sim_config *cfg)
{
    fwh_config_init(cfg, 4, 4);
    fwh_add_lu(cfg, 1, 0, 1000, 512);
    fwh_add_lu(cfg, 1, 2, 2000, 512);
    struct fw *fw = fwh_create(cfg);
    for (uint16_t i = 0; i < 3; i++) {
        fwh_drain_ua(fw, i, 1, 0);
        fwh_drain_ua(fw, i, 1, 2);
    }
    return fw;
}

static const uint8_t tur[6] = { 0 };

START_TEST(remove_then_insert)
{
    struct sim_config cfg;
    struct fw *fw = two_drives(&cfg);
    struct events ev = { 0 };
    fw_set_event_hook(fw, on_event, &ev);
    struct fw_task t;

    ck_assert_int_eq(fw_drive_remove(fw, 1, 2), 0);
    ck_assert_uint_eq(ev.n, 1);
    ck_assert_uint_eq(ev.type[0], HBA_AEV_DRIVE_CHANGED);
    ck_assert_uint_eq(ev.info[0], 1u << 8 | 2);
    fwh_run(fw, &t, 0, 1, 2, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x25, 0x00); /* the address is empty now */
    for (uint16_t i = 0; i < 3; i++) { /* every nexus, once */
        fwh_run(fw, &t, i, 1, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
        fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x3f, 0x0e);
        fwh_run(fw, &t, i, 1, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
        fwh_expect_good(&t);
    }
    ck_assert_int_eq(fw_drive_remove(fw, 1, 2), -ENOENT);

    struct sim_lu_config lu;
    sim_lu_config_init(&lu, 1, 2);
    lu.blocks = 64;
    char err[200] = "";
    ck_assert_int_eq(fw_drive_insert(fw, &cfg, &lu, err, sizeof err), 0);
    ck_assert_uint_eq(ev.n, 2);
    ck_assert_uint_eq(ev.info[1], 1u << 8 | 2);
    fwh_run(fw, &t, 0, 1, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x3f, 0x0e);
    fwh_run(fw, &t, 0, 1, 2, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01); /* a new drive powers on */
    struct hba_identify_drive id;
    ck_assert_int_eq(fw_identify_drive(fw, 1, 2, &id), 0);
    ck_assert_uint_eq(id.blocks, 64);

    /* Refusals: an occupied address, one beyond the controller. */
    ck_assert_int_eq(fw_drive_insert(fw, &cfg, &lu, err, sizeof err), -EEXIST);
    ck_assert_msg(strstr(err, "drive 1:2 is there already"), "%s", err);
    sim_lu_config_init(&lu, 9, 0);
    ck_assert_int_eq(fw_drive_insert(fw, &cfg, &lu, err, sizeof err), -ERANGE);
    ck_assert_msg(strstr(err, "beyond the controller's 4 targets"), "%s", err);
    ck_assert_uint_eq(ev.n, 2);
    fw_destroy(fw);
    fwh_config_free(&cfg);
}
END_TEST

/* The last drive of a target goes: the target no longer answers selection. */
START_TEST(last_drive_of_a_target)
{
    struct sim_config cfg;
    struct fw *fw = two_drives(&cfg);
    ck_assert_int_eq(fw_drive_remove(fw, 1, 0), 0);
    ck_assert_int_eq(fw_drive_remove(fw, 1, 2), 0);
    struct fw_task t;
    fwh_run(fw, &t, 0, 1, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_TARGET);
    uint32_t addrs[4];
    ck_assert_uint_eq(fw_drive_list(fw, addrs, 4), 0);
    fw_destroy(fw);
    fwh_config_free(&cfg);
}
END_TEST

/* Hits are blocks read from dirty lines; write-backs count runs and blocks. */
START_TEST(cache_counters_per_drive)
{
    struct sim_config cfg;
    struct fw *fw = two_drives(&cfg);
    uint8_t buf[4 * 512];
    memset(buf, 0x5a, sizeof buf);
    struct fw_task t;
    uint8_t cdb[10];
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, 0, 4, 0);
    fwh_run(fw, &t, 0, 1, 0, cdb, 10, HBA_FLAG_DIR_WRITE, buf, sizeof buf);
    fwh_expect_good(&t);
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 2, 4, 0); /* blocks 2, 3 dirty; 4, 5 from media */
    fwh_run(fw, &t, 0, 1, 0, cdb, 10, HBA_FLAG_DIR_READ, buf, sizeof buf);
    fwh_expect_good(&t);
    struct tbuf j = { 0 };
    fw_cache_stats_json(fw, &j);
    ck_assert_str_eq(tbuf_str(&j), "{\"drive\":\"1:0\",\"read_blocks\":4,\"hit_blocks\":2,\"dirty_lines\":1,"
                                   "\"dirty_bytes\":2048,\"writebacks\":0,\"blocks_written_back\":0,\"line_records\":1},"
                                   "{\"drive\":\"1:2\",\"read_blocks\":0,\"hit_blocks\":0,\"dirty_lines\":0,"
                                   "\"dirty_bytes\":0,\"writebacks\":0,\"blocks_written_back\":0,\"line_records\":0}");
    tbuf_free(&j);
    ck_assert_int_eq(fw_flush(fw, 1, 0, false), 0);
    fw_cache_stats_json(fw, &j);
    ck_assert_msg(strstr(tbuf_str(&j), "\"dirty_lines\":0,\"dirty_bytes\":0,\"writebacks\":1,"
                                       "\"blocks_written_back\":4,\"line_records\":1}"), "%s", tbuf_str(&j));
    tbuf_free(&j);
    fw_destroy(fw);
    fwh_config_free(&cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fault_fw");
    TCase *t = tcase_create("fw");
    tcase_add_test(t, cache_counters_per_drive);
    tcase_add_test(t, remove_then_insert);
    tcase_add_test(t, last_drive_of_a_target);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
