/* tests/test_fw_removable.c — a removable-medium drive (sim/fw/fw_removable.c):
 * RMB, PREVENT ALLOW MEDIUM REMOVAL per I_T nexus, START STOP UNIT with LOEJ
 * (eject and load refused while any nexus prevents: 05h/53h/02h), NOT READY
 * 02h/3Ah/00h for every medium command without a medium, 28h/00h for the
 * other nexuses on a load, what ends a prevention (nexus loss, LUN reset,
 * power on), malformed CDBs, and that a fixed drive has none of it. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

static struct fw *removable(void)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 4, 4);
    fwh_add_lu(&cfg, 0, 0, 2048, 512)->removable = true;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 1, 0, 0);
    return fw;
}

static void cmd6(struct fw *fw, struct fw_task *t, uint16_t ini, uint8_t op, uint8_t b1, uint8_t b4)
{
    uint8_t cdb[6] = { op, b1, 0, 0, b4, 0 };
    fwh_run(fw, t, ini, 0, 0, cdb, 6, HBA_FLAG_DIR_NONE, NULL, 0);
}

#define PREVENT(fw, t, ini, v) cmd6(fw, t, ini, 0x1e, 0, v)
#define EJECT(fw, t, ini)      cmd6(fw, t, ini, 0x1b, 0, 0x02)   /* LOEJ, START=0 */
#define LOAD(fw, t, ini)       cmd6(fw, t, ini, 0x1b, 0, 0x03)   /* LOEJ, START=1 */
#define TUR(fw, t, ini)        cmd6(fw, t, ini, 0x00, 0, 0)

START_TEST(rmb_and_prevented_eject)
{
    struct fw *fw = removable();
    struct fw_task t;
    uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, b[96];
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_READ, b, sizeof b);
    ck_assert_uint_eq(b[1] & 0x80, 0x80);                   /* RMB */
    PREVENT(fw, &t, 0, 1);
    fwh_expect_good(&t);
    EJECT(fw, &t, 1);                                       /* another nexus: refused too */
    fwh_expect_sense(&t, 0x05, 0x53, 0x02);
    EJECT(fw, &t, 0);
    fwh_expect_sense(&t, 0x05, 0x53, 0x02);
    TUR(fw, &t, 0);
    fwh_expect_good(&t);                                    /* the medium stayed */
    PREVENT(fw, &t, 0, 0);
    EJECT(fw, &t, 1);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(no_medium_then_load)
{
    struct fw *fw = removable();
    struct fw_task t;
    uint8_t data[512];
    memset(data, 0x5a, sizeof data);
    fwh_write(fw, 7, 1, data, 512, true);
    EJECT(fw, &t, 0);
    fwh_expect_good(&t);
    EJECT(fw, &t, 0);                                       /* again: nothing to eject, GOOD */
    fwh_expect_good(&t);
    TUR(fw, &t, 0);
    fwh_expect_sense(&t, 0x02, 0x3a, 0x00);
    uint8_t rd[10], b[512];
    fwh_cdb_rw10(rd, 0x28, 7, 1, 0);
    fwh_run0(fw, &t, rd, 10, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_sense(&t, 0x02, 0x3a, 0x00);
    uint8_t sync[10] = { 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    fwh_run0(fw, &t, sync, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, 0x02, 0x3a, 0x00);
    uint8_t rc[10] = { 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, cap[8];
    fwh_run0(fw, &t, rc, 10, HBA_FLAG_DIR_READ, cap, sizeof cap);
    fwh_expect_sense(&t, 0x02, 0x3a, 0x00);
    uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 }, sense[18];    /* REQUEST SENSE says why */
    fwh_run0(fw, &t, rs, 6, HBA_FLAG_DIR_READ, sense, sizeof sense);
    fwh_expect_good(&t);
    ck_assert_uint_eq(sense[2] & 0x0f, 0x02);
    ck_assert_uint_eq(sense[12], 0x3a);
    LOAD(fw, &t, 0);
    fwh_expect_good(&t);
    TUR(fw, &t, 0);
    fwh_expect_good(&t);                                    /* the loader knows: no UA */
    TUR(fw, &t, 1);
    fwh_expect_sense(&t, 0x06, 0x28, 0x00);                 /* the other nexus is told */
    TUR(fw, &t, 1);
    fwh_expect_good(&t);
    fwh_read(fw, 7, 1, b, 512);                             /* the same cartridge */
    ck_assert_mem_eq(b, data, 512);
    fw_destroy(fw);
}
END_TEST

/* Prevention ends with its nexus, a LUN reset and power on. */
START_TEST(prevention_endings)
{
    struct fw *fw = removable();
    struct fw_task t;
    PREVENT(fw, &t, 1, 1);
    fw_nexus_loss(fw, 1);
    EJECT(fw, &t, 0);
    fwh_expect_good(&t);
    LOAD(fw, &t, 0);
    fwh_expect_good(&t);
    PREVENT(fw, &t, 0, 1);
    fw_reset(fw, HBA_RESET_LUN, 0, 0);
    fwh_drain_ua(fw, 0, 0, 0);
    EJECT(fw, &t, 0);
    fwh_expect_good(&t);
    LOAD(fw, &t, 0);
    PREVENT(fw, &t, 0, 1);
    LOAD(fw, &t, 0);                                        /* loading is held too */
    fwh_expect_sense(&t, 0x05, 0x53, 0x02);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    EJECT(fw, &t, 0);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(malformed_and_fixed_drive)
{
    struct fw *fw = removable();
    struct fw_task t;
    PREVENT(fw, &t, 0, 2);                                  /* obsolete persistent prevention */
    fwh_expect_invalid_cdb(&t, 4, 1);
    PREVENT(fw, &t, 0, 0x04);                               /* reserved bit */
    fwh_expect_invalid_cdb(&t, 4, 2);
    cmd6(fw, &t, 0, 0x1e, 0x01, 0);                         /* reserved byte 1 */
    fwh_expect_invalid_cdb(&t, 1, 0);
    uint8_t one[12] = { 0xa3, 0x0c, 0x01, 0x1e, 0, 0, 0, 0, 0, 32, 0, 0 }, b[32];
    fwh_run0(fw, &t, one, 12, HBA_FLAG_DIR_READ, b, sizeof b);   /* RSOC lists it */
    ck_assert_uint_eq(b[1] & 0x07, 0x03);
    ck_assert_uint_eq(b[4 + 4], 0x03);                      /* PREVENT's usage bits */
    fw_destroy(fw);

    fw = fwh_simple(2048);                                  /* a fixed drive */
    PREVENT(fw, &t, 0, 1);
    fwh_expect_sense(&t, 0x05, 0x20, 0x00);                 /* not offered */
    fwh_run0(fw, &t, one, 12, HBA_FLAG_DIR_READ, b, sizeof b);
    ck_assert_uint_eq(b[1] & 0x07, 0x01);
    EJECT(fw, &t, 0);                                       /* LOEJ ignored: a plain stop */
    fwh_expect_good(&t);
    TUR(fw, &t, 0);
    fwh_expect_sense(&t, 0x02, 0x04, 0x02);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_removable");
    TCase *tc = tcase_create("removable");
    tcase_add_test(tc, rmb_and_prevented_eject);
    tcase_add_test(tc, no_medium_then_load);
    tcase_add_test(tc, prevention_endings);
    tcase_add_test(tc, malformed_and_fixed_drive);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
