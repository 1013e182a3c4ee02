/* tests/test_fw_caw.c — COMPARE AND WRITE and ORWRITE: the compare and the
 * write are one atomic step for every other command (threads racing through
 * fw_execute lose no update), a miscompare names its offset and writes
 * nothing, and ORWRITE ORs. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <pthread.h>
#include <string.h>

#define ROUNDS 400

struct racer {
    struct fw *fw;
    uint16_t initiator;
    unsigned done;
};

/* Increments the 32-bit counter in block 0 ROUNDS times with compare and
 * write, retrying after a miscompare: an update lost between another
 * thread's compare and its write would show in the final count. */
static void *incrementer(void *arg)
{
    struct racer *r = arg;
    while (r->done < ROUNDS)
        r->done += fwh_caw_increment(r->fw, r->initiator);
    return NULL;
}

/* Meanwhile WRITE (10) rewrites block 1 over and over: it must never land
 * in block 0 nor disturb the counter. */
static void *writer(void *arg)
{
    struct racer *r = arg;
    uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0 }, buf[512];
    memset(buf, 0xee, sizeof(buf));
    for (unsigned i = 0; i < 4 * ROUNDS; i++) {
        struct fw_task t;
        fwh_run(r->fw, &t, r->initiator, 0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, buf, 512);
        r->done += t.status == SCSI_STATUS_GOOD;
    }
    return NULL;
}

START_TEST(caw_racing_caw_and_write_loses_nothing)
{
    struct fw *fw = fwh_simple(64);
    fwh_drain_ua(fw, 2, 0, 0);
    struct racer a = { fw, 0, 0 }, b = { fw, 1, 0 }, w = { fw, 2, 0 };
    pthread_t ta, tb, tw;
    pthread_create(&ta, NULL, incrementer, &a);
    pthread_create(&tb, NULL, incrementer, &b);
    pthread_create(&tw, NULL, writer, &w);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tw, NULL);
    uint8_t r[1024];
    fwh_read(fw, 0, 2, r, 512);
    ck_assert_uint_eq(scsi_get_be32(r), 2 * ROUNDS);
    for (int i = 4; i < 512; i++)
        ck_assert_uint_eq(r[i], 0);
    ck_assert_uint_eq(w.done, 4 * ROUNDS);
    ck_assert_uint_eq(r[512], 0xee);
    fw_destroy(fw);
}
END_TEST

START_TEST(caw_miscompare_offset_and_nothing_written)
{
    struct fw *fw = fwh_simple(64);
    uint8_t w[1024], buf[2048], r[1024];
    memset(w, 0xa0, sizeof(w));
    fwh_write(fw, 10, 2, w, 512, false);
    memset(buf, 0xa0, 1024);
    memset(buf + 1024, 0xb1, 1024);
    buf[700] = 0;
    uint8_t cdb[16];
    fwh_cdb_rw16(cdb, 0x89, 10, 2, 0); /* COMPARE AND WRITE */
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, buf, sizeof(buf));
    fwh_expect_sense(&t, SCSI_SK_MISCOMPARE, 0x1d, 0x00);
    struct scsi_sense_info si = fwh_sense(&t);
    ck_assert(si.info_valid);
    ck_assert_uint_eq(si.info, 700);
    fwh_read(fw, 10, 2, r, 512);
    ck_assert(memcmp(r, w, sizeof(r)) == 0);
    /* matching: written */
    buf[700] = 0xa0;
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, buf, sizeof(buf));
    fwh_expect_good(&t);
    fwh_read(fw, 10, 2, r, 512);
    ck_assert(memcmp(r, buf + 1024, sizeof(r)) == 0);
    /* a data-out of other than 2 x blocks: refused at byte 13 */
    uint8_t big[4096] = { 0 };
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, big, sizeof(big));
    fwh_expect_invalid_cdb(&t, 13, -1);
    fw_destroy(fw);
}
END_TEST

START_TEST(orwrite_ors)
{
    struct fw *fw = fwh_simple(64);
    uint8_t w[512], o[512], r[512];
    memset(w, 0x0f, sizeof(w));
    memset(o, 0xf0, sizeof(o));
    o[3] = 0;
    fwh_write(fw, 3, 1, w, 512, false);
    uint8_t cdb[16] = { 0x8b };
    scsi_put_be64(cdb + 2, 3);
    scsi_put_be32(cdb + 10, 1);
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, o, sizeof(o));
    fwh_expect_good(&t);
    fwh_read(fw, 3, 1, r, 512);
    ck_assert_uint_eq(r[0], 0xff);
    ck_assert_uint_eq(r[3], 0x0f);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_caw");
    TCase *tc = tcase_create("caw");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, caw_racing_caw_and_write_loses_nothing);
    tcase_add_test(tc, caw_miscompare_offset_and_nothing_written);
    tcase_add_test(tc, orwrite_ors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
