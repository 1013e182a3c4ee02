/* tests/test_fw_sanitize.c — SANITIZE (sim/fw/fw_sanitize.c): what each
 * service action leaves on the medium, malformed CDBs and parameter lists
 * with their field pointers, the in-progress state (NOT READY 04h/1Bh with a
 * progress indication; IMMED=0 asks the controller to hold its completion),
 * and sanitize failure mode with EXIT FAILURE MODE.  No test depends on
 * timing: an operation "in progress" is configured to run for a minute. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

#define BLOCKS 64u
#define BS 512u
#define OP_SANITIZE 0x48

static void san_cdb(uint8_t cdb[10], uint8_t byte1, uint16_t plen)
{
    memset(cdb, 0, 10);
    cdb[0] = OP_SANITIZE;
    cdb[1] = byte1;
    scsi_put_be16(cdb + 7, plen);
}

/* SANITIZE from initiator 0 on drive 0:0 with data of len bytes. */
static void sanitize(struct fw *fw, struct fw_task *t, uint8_t byte1, const void *data, uint16_t len)
{
    uint8_t cdb[10];
    san_cdb(cdb, byte1, len);
    fwh_run0(fw, t, cdb, 10, len ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_NONE, (void *)data, len);
}

/* An OVERWRITE parameter list: byte 0, then a pattern of n bytes of v. */
static uint16_t ow_params(uint8_t *p, uint8_t byte0, uint16_t n, uint8_t v)
{
    memset(p, 0, 4 + BS + 8);
    p[0] = byte0;
    scsi_put_be16(p + 2, n);
    memset(p + 4, v, n);
    return (uint16_t)(4 + n);
}

static struct fw *drive(bool thin, uint32_t sanitize_ms, bool write_protect)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 2);
    for (uint16_t lun = 0; lun < 2; lun++) {
        struct sim_lu_config *lu = fwh_add_lu(&cfg, 0, lun, BLOCKS, BS);
        lu->thin = thin;
        lu->sanitize_ms = sanitize_ms;
        lu->write_protect = write_protect;
    }
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    for (uint16_t i = 0; i < 2; i++)
        for (uint16_t lun = 0; lun < 2; lun++)
            fwh_drain_ua(fw, i, 0, lun);
    return fw;
}

static void expect_blocks(struct fw *fw, uint32_t lba, uint8_t v)
{
    uint8_t buf[BS], want[BS];
    memset(want, v, BS);
    fwh_read(fw, lba, 1, buf, BS);
    ck_assert_msg(!memcmp(buf, want, BS), "block %u is not all %02x (first byte %02x)", lba, v, buf[0]);
}

START_TEST(overwrite_writes_the_pattern_everywhere)
{
    struct fw *fw = drive(false, 0, false);
    uint8_t data[BS], p[4 + BS + 8];
    memset(data, 'a', sizeof data);
    fwh_write(fw, 0, 1, data, BS, false);
    fwh_write(fw, BLOCKS - 1, 1, data, BS, false);
    struct fw_task t;
    sanitize(fw, &t, 0x01, p, ow_params(p, 0x01, BS, 0xaa));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.hold_ns, 0);           /* sanitize-time 0: done at once */
    expect_blocks(fw, 0, 0xaa);
    expect_blocks(fw, BLOCKS / 2, 0xaa);
    expect_blocks(fw, BLOCKS - 1, 0xaa);
    /* A 2-byte pattern repeats through the block. */
    uint16_t n = ow_params(p, 0x01, 2, 0);
    p[4] = 0x12;
    p[5] = 0x34;
    sanitize(fw, &t, 0x01, p, n);
    fwh_expect_good(&t);
    uint8_t buf[BS];
    fwh_read(fw, 7, 1, buf, BS);
    ck_assert_uint_eq(buf[0], 0x12);
    ck_assert_uint_eq(buf[BS - 1], 0x34);
    /* INVERT: inverted between passes, so 2 passes end inverted, 3 do not. */
    sanitize(fw, &t, 0x01, p, ow_params(p, 0x80 | 2, 4, 0x0f));
    fwh_expect_good(&t);
    expect_blocks(fw, 3, 0xf0);
    sanitize(fw, &t, 0x01, p, ow_params(p, 0x80 | 3, 4, 0x0f));
    fwh_expect_good(&t);
    expect_blocks(fw, 3, 0x0f);
    /* A zero pattern (here: 0xff inverted once) reads back as zeros. */
    sanitize(fw, &t, 0x01, p, ow_params(p, 0x80 | 2, 1, 0xff));
    fwh_expect_good(&t);
    expect_blocks(fw, 0, 0x00);
    expect_blocks(fw, BLOCKS - 1, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(erases_leave_zeros)
{
    struct fw *fw = drive(true, 0, false);
    uint8_t data[BS];
    memset(data, 'a', sizeof data);
    fwh_write(fw, 5, 1, data, BS, false);
    struct fw_task t;
    sanitize(fw, &t, 0x02, NULL, 0);           /* BLOCK ERASE */
    fwh_expect_good(&t);
    expect_blocks(fw, 5, 0x00);
    fwh_write(fw, 5, 1, data, BS, true);
    sanitize(fw, &t, 0x03, NULL, 0);           /* CRYPTOGRAPHIC ERASE */
    fwh_expect_good(&t);
    expect_blocks(fw, 5, 0x00);
    fw_destroy(fw);
}
END_TEST

/* REPORT SUPPORTED OPERATION CODES, one command: 48h with service action sa. */
static bool rsoc_supported(struct fw *fw, uint8_t sa)
{
    uint8_t cdb[12] = { 0xa3, 0x0c, 0x02, OP_SANITIZE, 0, sa, 0, 0, 0, 64, 0, 0 }, buf[64];
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, buf, sizeof buf);
    fwh_expect_good(&t);
    return (buf[1] & 0x07) == 0x03;
}

START_TEST(block_erase_only_on_a_thin_drive)
{
    struct fw *full = drive(false, 0, false), *thin = drive(true, 0, false);
    ck_assert(rsoc_supported(full, 0x01));
    ck_assert(!rsoc_supported(full, 0x02));
    ck_assert(rsoc_supported(full, 0x03));
    ck_assert(rsoc_supported(full, 0x1f));
    ck_assert(rsoc_supported(thin, 0x02));
    struct fw_task t;
    sanitize(full, &t, 0x02, NULL, 0);
    fwh_expect_invalid_cdb(&t, 1, 4);          /* an unknown service action */
    /* VPD B1h: WABEREQ 01b only where BLOCK ERASE exists; WACEREQ 01b. */
    uint8_t inq[6] = { 0x12, 0x01, 0xb1, 0x00, 0x40, 0x00 }, page[64];
    fwh_run0(full, &t, inq, 6, HBA_FLAG_DIR_READ, page, sizeof page);
    fwh_expect_good(&t);
    ck_assert_uint_eq(page[7], 0x10);
    fwh_run0(thin, &t, inq, 6, HBA_FLAG_DIR_READ, page, sizeof page);
    ck_assert_uint_eq(page[7], 0x50);
    fw_destroy(full);
    fw_destroy(thin);
}
END_TEST

START_TEST(malformed_cdbs_and_parameter_lists)
{
    struct fw *fw = drive(true, 0, false);
    uint8_t p[4 + BS + 8];
    struct fw_task t;
    for (uint16_t len = 1; len <= 4; len++) {  /* OVERWRITE needs 5..block size + 4 bytes */
        sanitize(fw, &t, 0x01, p, len);
        fwh_expect_invalid_cdb(&t, 7, -1);
    }
    sanitize(fw, &t, 0x01, NULL, 0);
    fwh_expect_invalid_cdb(&t, 7, -1);
    ow_params(p, 0x01, BS, 0xaa);
    sanitize(fw, &t, 0x01, p, BS + 5);
    fwh_expect_invalid_cdb(&t, 7, -1);
    sanitize(fw, &t, 0x01, p, ow_params(p, 0x00, BS, 0xaa));      /* OVERWRITE COUNT 0 */
    fwh_expect_invalid_param(&t, 0, 4);
    sanitize(fw, &t, 0x01, p, ow_params(p, 0x21, BS, 0xaa));      /* TEST 01b */
    fwh_expect_invalid_param(&t, 0, 6);
    uint16_t n = ow_params(p, 0x01, 8, 0xaa);
    p[1] = 0x04;                                                   /* reserved */
    sanitize(fw, &t, 0x01, p, n);
    fwh_expect_invalid_param(&t, 1, 2);
    n = ow_params(p, 0x01, 8, 0xaa);
    scsi_put_be16(p + 2, 0);                                       /* no pattern */
    sanitize(fw, &t, 0x01, p, n);
    fwh_expect_invalid_param(&t, 2, -1);
    n = ow_params(p, 0x01, BS, 0xaa);
    scsi_put_be16(p + 2, BS + 4);                                  /* longer than a block */
    sanitize(fw, &t, 0x01, p, n);
    fwh_expect_invalid_param(&t, 2, -1);
    n = ow_params(p, 0x01, 8, 0xaa);
    scsi_put_be16(p + 2, 6);                                       /* not the list's length */
    sanitize(fw, &t, 0x01, p, n);
    fwh_expect_invalid_param(&t, 2, -1);
    memset(p, 0, 8);
    for (uint8_t sa = 0x02; sa <= 0x1f; sa = sa == 0x03 ? 0x1f : sa + 1) {
        sanitize(fw, &t, sa, p, 8);                               /* no parameters allowed */
        fwh_expect_invalid_cdb(&t, 7, -1);
    }
    sanitize(fw, &t, 0x00, NULL, 0);
    fwh_expect_invalid_cdb(&t, 1, 4);
    sanitize(fw, &t, 0x04, NULL, 0);
    fwh_expect_invalid_cdb(&t, 1, 4);
    sanitize(fw, &t, 0x40 | 0x02, NULL, 0);    /* ZNR: reserved on this drive */
    fwh_expect_invalid_cdb(&t, 1, 6);
    uint8_t cdb[10];
    san_cdb(cdb, 0x02, 0);
    cdb[4] = 0x01;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_invalid_cdb(&t, 4, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(write_protected_drive_refuses)
{
    struct fw *fw = drive(true, 0, true);
    struct fw_task t;
    sanitize(fw, &t, 0x02, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_DATA_PROTECT, 0x27, 0x00);
    sanitize(fw, &t, 0x1f, NULL, 0);           /* EXIT FAILURE MODE writes nothing */
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

static void expect_in_progress(const struct fw_task *t)
{
    fwh_expect_sense(t, SCSI_SK_NOT_READY, 0x04, 0x1b);
    struct scsi_sense_info si = fwh_sense(t);
    ck_assert(si.progress_valid);
    ck_assert(!si.fp.valid);
}

START_TEST(in_progress_refuses_all_but_inquiry_report_luns_request_sense)
{
    struct fw *fw = drive(true, 60000, false);
    struct fw_task t;
    sanitize(fw, &t, 0x80 | 0x02, NULL, 0);    /* IMMED=1: GOOD at once */
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.hold_ns, 0);
    uint8_t tur[6] = { 0 }, buf[BS];
    fwh_run0(fw, &t, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    expect_in_progress(&t);
    uint8_t rd[10];
    fwh_cdb_rw10(rd, 0x28, 0, 1, 0);
    fwh_run(fw, &t, 1, 0, 0, rd, 10, HBA_FLAG_DIR_READ, buf, BS);   /* every nexus */
    expect_in_progress(&t);
    uint8_t ms[6] = { 0x1a, 0x08, 0x08, 0x00, 0xff, 0x00 };
    fwh_run0(fw, &t, ms, 6, HBA_FLAG_DIR_READ, buf, 255);
    expect_in_progress(&t);
    sanitize(fw, &t, 0x1f, NULL, 0);           /* even another SANITIZE */
    expect_in_progress(&t);
    uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 }, rl[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0 };
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_READ, buf, 36);
    fwh_expect_good(&t);
    fwh_run0(fw, &t, rl, 12, HBA_FLAG_DIR_READ, buf, 64);
    fwh_expect_good(&t);
    uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 };
    fwh_run0(fw, &t, rs, 6, HBA_FLAG_DIR_READ, buf, 18);
    fwh_expect_good(&t);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(buf, t.xfer, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_NOT_READY);
    ck_assert_uint_eq(si.asc, 0x04);
    ck_assert_uint_eq(si.ascq, 0x1b);
    ck_assert(si.progress_valid);
    ck_assert_uint_eq(buf[15], 0x80);          /* SKSV, fixed format */
    /* The other drive is not sanitizing; IMMED=0 there asks the controller to
     * hold the completion for the whole operation. */
    uint8_t cdb[10];
    san_cdb(cdb, 0x03, 0);
    fwh_run(fw, &t, 0, 0, 1, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    ck_assert_uint_ge(t.hold_ns, 59000000000ull);
    ck_assert_uint_le(t.hold_ns, 60000000000ull);
    /* A power cycle does not end it (SBC-4 4.11.2: it resumes). */
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 1);
    fwh_run(fw, &t, 0, 0, 1, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    expect_in_progress(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(failure_mode_until_a_sanitize_succeeds_or_exit_with_ause)
{
    struct fw *fw = drive(false, 0, false);
    uint8_t p[4 + BS + 8], buf[BS], rd[10];
    struct fw_task t;
    fwh_cdb_rw10(rd, 0x28, 0, 1, 0);
    for (int ause = 0; ause <= 1; ause++) {
        fw_power_cut(fw, NULL);                /* the media refuses the writes */
        sanitize(fw, &t, (uint8_t)(ause ? 0x21 : 0x01), p, ow_params(p, 0x01, BS, 0x55));
        fwh_expect_sense(&t, SCSI_SK_MEDIUM_ERROR, 0x31, 0x03);
        fw_power_on(fw);                       /* failure mode survives it */
        fwh_drain_ua(fw, 0, 0, 0);
        fwh_run0(fw, &t, rd, 10, HBA_FLAG_DIR_READ, buf, BS);
        fwh_expect_sense(&t, SCSI_SK_MEDIUM_ERROR, 0x31, 0x03);
        sanitize(fw, &t, 0x1f, NULL, 0);       /* EXIT FAILURE MODE */
        if (!ause) {
            fwh_expect_invalid_cdb(&t, 1, 4);  /* the failed one had AUSE=0 */
            fwh_run0(fw, &t, rd, 10, HBA_FLAG_DIR_READ, buf, BS);
            fwh_expect_sense(&t, SCSI_SK_MEDIUM_ERROR, 0x31, 0x03);
            sanitize(fw, &t, 0x01, p, ow_params(p, 0x01, BS, 0x55));   /* a good one ends it */
        }
        fwh_expect_good(&t);
        fwh_run0(fw, &t, rd, 10, HBA_FLAG_DIR_READ, buf, BS);
        fwh_expect_good(&t);
    }
    expect_blocks(fw, 9, 0x55);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_sanitize");
    TCase *tc = tcase_create("sanitize");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, overwrite_writes_the_pattern_everywhere);
    tcase_add_test(tc, erases_leave_zeros);
    tcase_add_test(tc, block_erase_only_on_a_thin_drive);
    tcase_add_test(tc, malformed_cdbs_and_parameter_lists);
    tcase_add_test(tc, write_protected_drive_refuses);
    tcase_add_test(tc, in_progress_refuses_all_but_inquiry_report_luns_request_sense);
    tcase_add_test(tc, failure_mode_until_a_sanitize_succeeds_or_exit_with_ause);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
