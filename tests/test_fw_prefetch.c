/* tests/test_fw_prefetch.c — PRE-FETCH (10)/(16) (sim/fw/fw_prefetch.c):
 * CONDITION MET when the range fits the drive's cache, GOOD when it does not;
 * IMMED answers before reading (no medium error), IMMED=0 reads (a medium
 * error is reported); a length of 0 runs to the last block; the range and
 * the reserved bits are checked. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

#define BLOCKS 256u
#define CACHE_BLOCKS 16u    /* an 8 KiB cache of 512-byte blocks */

static struct fw *drive(void)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    struct sim_lu_config *lu = fwh_add_lu(&cfg, 0, 0, BLOCKS, 512);
    lu->cache_bytes = CACHE_BLOCKS * 512;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    return fw;
}

static void prefetch10(struct fw *fw, struct fw_task *t, uint8_t byte1, uint32_t lba, uint16_t n)
{
    uint8_t cdb[10] = { 0x34, byte1 };
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, n);
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
}

static void prefetch16(struct fw *fw, struct fw_task *t, uint8_t byte1, uint64_t lba, uint32_t n)
{
    uint8_t cdb[16] = { 0x90, byte1 };
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, n);
    fwh_run0(fw, t, cdb, 16, HBA_FLAG_DIR_NONE, NULL, 0);
}

static void expect_status(const struct fw_task *t, uint8_t status)
{
    ck_assert_uint_eq(t->ctrl_status, HBA_CS_SUCCESS);
    ck_assert_msg(t->status == status, "status %02x, wanted %02x", t->status, status);
    ck_assert_uint_eq(t->sense_len, 0);
    ck_assert_uint_eq(t->xfer, 0);
}

START_TEST(condition_met_when_it_fits_good_when_not)
{
    struct fw *fw = drive();
    struct fw_task t;
    prefetch10(fw, &t, 0, 0, CACHE_BLOCKS);
    expect_status(&t, SCSI_STATUS_CONDITION_MET);
    prefetch16(fw, &t, 0, BLOCKS - 1, 1);
    expect_status(&t, SCSI_STATUS_CONDITION_MET);
    prefetch10(fw, &t, 0, 0, CACHE_BLOCKS + 1);
    expect_status(&t, SCSI_STATUS_GOOD);
    prefetch16(fw, &t, 0x02, 0, CACHE_BLOCKS + 1);      /* IMMED: the same answer */
    expect_status(&t, SCSI_STATUS_GOOD);
    prefetch16(fw, &t, 0x02, 8, CACHE_BLOCKS);
    expect_status(&t, SCSI_STATUS_CONDITION_MET);
    /* 0 blocks: from the LBA to the last block. */
    prefetch10(fw, &t, 0, BLOCKS - CACHE_BLOCKS, 0);
    expect_status(&t, SCSI_STATUS_CONDITION_MET);
    prefetch10(fw, &t, 0, BLOCKS - CACHE_BLOCKS - 1, 0);
    expect_status(&t, SCSI_STATUS_GOOD);
    fw_destroy(fw);
}
END_TEST

START_TEST(medium_error_unless_immed)
{
    struct fw *fw = drive();
    struct fw_task t;
    fw_power_cut(fw, NULL);                          /* the media answers -EIO */
    prefetch10(fw, &t, 0, 4, 2);
    fwh_expect_sense(&t, SCSI_SK_MEDIUM_ERROR, 0x11, 0x00);
    ck_assert_uint_eq(fwh_sense(&t).info, 4);
    prefetch10(fw, &t, 0, 0, CACHE_BLOCKS + 8);       /* too big: the part that fits is read */
    fwh_expect_sense(&t, SCSI_SK_MEDIUM_ERROR, 0x11, 0x00);
    prefetch10(fw, &t, 0x02, 4, 2);                   /* IMMED: answered before reading */
    expect_status(&t, SCSI_STATUS_CONDITION_MET);
    fw_destroy(fw);
}
END_TEST

START_TEST(range_and_reserved_bits)
{
    struct fw *fw = drive();
    struct fw_task t;
    prefetch10(fw, &t, 0, BLOCKS - 1, 2);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    prefetch16(fw, &t, 0, BLOCKS, 0);                 /* 0 blocks still needs a valid LBA */
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    prefetch10(fw, &t, 0x01, 0, 1);
    fwh_expect_invalid_cdb(&t, 1, 0);
    prefetch16(fw, &t, 0x04, 0, 1);
    fwh_expect_invalid_cdb(&t, 1, 2);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_prefetch");
    TCase *tc = tcase_create("prefetch");
    tcase_add_test(tc, condition_met_when_it_fits_good_when_not);
    tcase_add_test(tc, medium_error_unless_immed);
    tcase_add_test(tc, range_and_reserved_bits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
