/* tests/test_fw_resv.c — RESERVE/RELEASE and persistent reservations: who
 * conflicts under each reservation type (SPC-5 table 71, the same matrix
 * libiscsi's ProutReserve tests walk), what ends a reservation (RELEASE,
 * nexus loss, resets for RESERVE; power on for PR), PRGENERATION, and the
 * command table's REPORT SUPPORTED OPERATION CODES rows for them. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

static void prout(struct fw *fw, struct fw_task *t, uint16_t ini, uint8_t sa, uint8_t type,
                  uint64_t key, uint64_t sark)
{
    uint8_t cdb[10] = { 0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0 }, p[24] = { 0 };
    scsi_put_be64(p, key);
    scsi_put_be64(p + 8, sark);
    fwh_run(fw, t, ini, 0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, p, sizeof(p));
}

static void prout_ok(struct fw *fw, uint16_t ini, uint8_t sa, uint8_t type, uint64_t key, uint64_t sark)
{
    struct fw_task t;
    prout(fw, &t, ini, sa, type, key, sark);
    fwh_expect_good(&t);
}

static uint8_t rw_status(struct fw *fw, uint16_t ini, bool write)
{
    uint8_t cdb[10] = { write ? 0x2a : 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, b[512] = { 0 };
    struct fw_task t;
    fwh_run(fw, &t, ini, 0, 0, cdb, 10, write ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_READ, b, 512);
    ck_assert(t.status == SCSI_STATUS_GOOD || t.status == SCSI_STATUS_RESERVATION_CONFLICT);
    return t.status;
}

/* Initiator 1's access while initiator 0 holds each type: registered read,
 * registered write, unregistered read, unregistered write (1 = allowed). */
static const struct { uint8_t type; bool rr, rw, ur, uw; } matrix[] = {
    { 1, 1, 0, 1, 0 },   /* Write Exclusive */
    { 3, 0, 0, 0, 0 },   /* Exclusive Access */
    { 5, 1, 1, 1, 0 },   /* Write Exclusive - Registrants Only */
    { 6, 1, 1, 0, 0 },   /* Exclusive Access - Registrants Only */
    { 7, 1, 1, 1, 0 },   /* Write Exclusive - All Registrants */
    { 8, 1, 1, 0, 0 },   /* Exclusive Access - All Registrants */
};

START_TEST(pr_access_matrix)
{
    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        struct fw *fw = fwh_simple(64);
        prout_ok(fw, 0, 6, 0, 0, 0xa);
        prout_ok(fw, 1, 6, 0, 0, 0xb);
        prout_ok(fw, 0, 1, matrix[i].type, 0xa, 0);
        ck_assert_uint_eq(rw_status(fw, 0, false), SCSI_STATUS_GOOD);
        ck_assert_uint_eq(rw_status(fw, 0, true), SCSI_STATUS_GOOD);
        uint8_t want[4] = { matrix[i].rr, matrix[i].rw, matrix[i].ur, matrix[i].uw };
        for (int k = 0; k < 4; k++) {
            if (k == 2)
                prout_ok(fw, 1, 0, 0, 0xb, 0);        /* initiator 1 unregisters */
            uint8_t st = rw_status(fw, 1, k & 1);
            ck_assert_msg(st == (want[k] ? SCSI_STATUS_GOOD : SCSI_STATUS_RESERVATION_CONFLICT),
                          "type %u case %d: status %02x", matrix[i].type, k, st);
        }
        fw_destroy(fw);
    }
}
END_TEST

START_TEST(pr_generation_preempt_and_power)
{
    struct fw *fw = fwh_simple(64);
    uint8_t cdb[10] = { 0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0 }, b[64];
    prout_ok(fw, 0, 0, 0, 0, 0x11);
    prout_ok(fw, 1, 0, 0, 0, 0x22);
    prout_ok(fw, 0, 1, 3, 0x11, 0);                  /* RESERVE: no generation change */
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(scsi_get_be32(b), 2);
    ck_assert_uint_eq(scsi_get_be32(b + 4), 16);
    /* initiator 1 preempts the holder: 0's registration goes, 1 holds type 1 */
    prout_ok(fw, 1, 4, 1, 0x22, 0x11);
    fwh_run(fw, &t, 0, 0, 0, (uint8_t[]){ 0, 0, 0, 0, 0, 0 }, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x2a, 0x05);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(scsi_get_be32(b), 3);
    ck_assert_uint_eq(scsi_get_be32(b + 4), 8);
    ck_assert_uint_eq(scsi_get_be64(b + 8), 0x22);
    /* REGISTER with the wrong key: conflict, nothing changes */
    prout(fw, &t, 1, 0, 0, 0x23, 0x99);
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);
    /* resets and nexus losses leave PR state; power on ends it */
    fw_reset(fw, HBA_RESET_LUN, 0, 0);
    fw_nexus_loss(fw, 1);
    fwh_drain_ua(fw, 0, 0, 0);
    ck_assert_uint_eq(rw_status(fw, 0, true), SCSI_STATUS_RESERVATION_CONFLICT);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    ck_assert_uint_eq(rw_status(fw, 0, true), SCSI_STATUS_GOOD);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(scsi_get_be32(b + 4), 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(reserve6_holder_and_endings)
{
    struct fw *fw = fwh_simple(64);
    uint8_t res[6] = { 0x16 }, rel[6] = { 0x17 }, tur[6] = { 0 }, inq[6] = { 0x12, 0, 0, 0, 36, 0 }, b[36];
    struct fw_task t;
    fwh_run(fw, &t, 0, 0, 0, res, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_run(fw, &t, 1, 0, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);
    ck_assert_uint_eq(t.sense_len, 0);
    fwh_run(fw, &t, 1, 0, 0, inq, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    fwh_run(fw, &t, 1, 0, 0, rel, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);                             /* not the holder: no effect */
    ck_assert_uint_eq(rw_status(fw, 1, false), SCSI_STATUS_RESERVATION_CONFLICT);
    fw_nexus_loss(fw, 0);                            /* the holder's nexus is gone */
    ck_assert_uint_eq(rw_status(fw, 1, false), SCSI_STATUS_GOOD);
    fwh_run(fw, &t, 1, 0, 0, res, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fw_reset(fw, HBA_RESET_TARGET, 0, 0);            /* a reset ends it too */
    fwh_drain_ua(fw, 0, 0, 0);
    ck_assert_uint_eq(rw_status(fw, 0, true), SCSI_STATUS_GOOD);
    /* RESERVE meets persistent registrations with a conflict */
    prout_ok(fw, 0, 0, 0, 0, 0x5);
    fwh_run(fw, &t, 0, 0, 0, res, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);
    fw_destroy(fw);
}
END_TEST

/* Every PR OUT service action, REGISTER AND MOVE included, is in REPORT
 * SUPPORTED OPERATION CODES; 08h is not. */
START_TEST(rsoc_lists_pr_service_actions)
{
    struct fw *fw = fwh_simple(64);
    for (uint8_t sa = 0; sa < 9; sa++) {
        uint8_t cdb[12] = { 0xa3, 0x0c, 0x02, 0x5f, 0, sa, 0, 0, 0, 64, 0, 0 }, b[64];
        struct fw_task t;
        fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
        fwh_expect_good(&t);
        ck_assert_uint_eq(b[1] & 0x07, sa < 8 ? 3 : 1);
    }
    fw_destroy(fw);
}
END_TEST

/* APTPL on the last REGISTER keeps registrations and the reservation
 * through a power cycle; PRGENERATION restarts at 0. */
START_TEST(pr_aptpl_survives_power_cycle)
{
    struct fw *fw = fwh_simple(64);
    uint8_t cdb[10] = { 0x5f, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, p[24] = { 0 };
    scsi_put_be64(p + 8, 0x77);
    p[20] = 0x01;                                    /* APTPL */
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, p, sizeof(p));
    fwh_expect_good(&t);
    prout_ok(fw, 0, 1, 3, 0x77, 0);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 1, 0, 0);
    ck_assert_uint_eq(rw_status(fw, 1, false), SCSI_STATUS_RESERVATION_CONFLICT);
    ck_assert_uint_eq(rw_status(fw, 0, true), SCSI_STATUS_GOOD);
    uint8_t in[10] = { 0x5e, 0, 0, 0, 0, 0, 0, 0, 16, 0 }, b[16];
    fwh_run0(fw, &t, in, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(scsi_get_be32(b), 0);
    ck_assert_uint_eq(scsi_get_be64(b + 8), 0x77);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_resv");
    TCase *tc = tcase_create("resv");
    tcase_add_test(tc, pr_access_matrix);
    tcase_add_test(tc, pr_generation_preempt_and_power);
    tcase_add_test(tc, reserve6_holder_and_endings);
    tcase_add_test(tc, rsoc_lists_pr_service_actions);
    tcase_add_test(tc, pr_aptpl_survives_power_cycle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
