/* tests/test_fw_verify.c — VERIFY (10/12/16) reads the medium whatever
 * BYTCHK (a medium error is reported with its LBA, as READ reports it),
 * WRITE AND VERIFY writes through to the medium (PRE-FETCH: test_fw_prefetch). */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

/* With the store's power cut, every media access fails with -EIO: VERIFY
 * with BYTCHK 00b must see it (it used to answer GOOD without reading). */
START_TEST(verify_bytchk0_reports_medium_error)
{
    struct fw *fw = fwh_simple(64);
    static const uint8_t ops[] = { 0x2f, 0xaf, 0x8f };
    static const uint8_t lens[] = { 10, 12, 16 };
    fw_power_cut(fw, NULL);
    for (int k = 0; k < 3; k++) {
        uint8_t cdb[16] = { ops[k] };
        if (lens[k] == 16) {
            scsi_put_be64(cdb + 2, 9);
            scsi_put_be32(cdb + 10, 2);
        } else {
            scsi_put_be32(cdb + 2, 9);
            if (lens[k] == 10)
                scsi_put_be16(cdb + 7, 2);
            else
                scsi_put_be32(cdb + 6, 2);
        }
        struct fw_task t;
        fwh_run0(fw, &t, cdb, lens[k], HBA_FLAG_DIR_NONE, NULL, 0);
        fwh_expect_sense(&t, SCSI_SK_MEDIUM_ERROR, 0x11, 0x00);
        struct scsi_sense_info si = fwh_sense(&t);
        ck_assert(si.info_valid);
        ck_assert_uint_eq(si.info, 9);
    }
    fw_destroy(fw);
}
END_TEST

START_TEST(write_and_verify_is_durable)
{
    struct fw *fw = fwh_simple(64);
    uint8_t w[1024], r[1024];
    memset(w, 0x5c, sizeof(w));
    uint8_t cdb[10] = { 0x2e, 0x02, 0, 0, 0, 4, 0, 0, 2, 0 };
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, w, sizeof(w));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, sizeof(w));
    /* WCE is on, yet the blocks are on the medium: a power cut keeps them */
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_read(fw, 4, 2, r, 512);
    ck_assert(memcmp(w, r, sizeof(r)) == 0);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_verify");
    TCase *tc = tcase_create("verify");
    tcase_add_test(tc, verify_bytchk0_reports_medium_error);
    tcase_add_test(tc, write_and_verify_is_durable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
