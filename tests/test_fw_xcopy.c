/* tests/test_fw_xcopy.c — the copy manager (sim/fw/fw_xcopy.c): EXTENDED
 * COPY (LID1) with identification CSCD descriptors (E4h) built from the VPD
 * 83h designators the drives report and block-to-block segments (02h), on
 * one LU and across LUs; RECEIVE COPY RESULTS operating parameters and copy
 * status; malformed parameter lists answered with the ASCs and field
 * pointers SPC-4 asks for, with nothing copied. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

#define BLOCKS 128u
#define BS 512u

static struct fw *two_luns(void)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 2);
    fwh_add_lu(&cfg, 0, 0, BLOCKS, BS);
    fwh_add_lu(&cfg, 0, 1, BLOCKS, BS);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    for (uint16_t i = 0; i < 2; i++)
        for (uint16_t lun = 0; lun < 2; lun++)
            fwh_drain_ua(fw, i, 0, lun);
    return fw;
}

/* An E4h CSCD descriptor for LUN lun: its NAA designator from VPD 83h. */
static void cscd(struct fw *fw, uint16_t lun, uint8_t *e)
{
    uint8_t inq[6] = { 0x12, 0x01, 0x83, 0x00, 0xff, 0x00 }, page[255];
    struct fw_task t;
    fwh_run(fw, &t, 0, 0, lun, inq, 6, HBA_FLAG_DIR_READ, page, sizeof page);
    fwh_expect_good(&t);
    ck_assert_uint_eq(page[5] & 0x0f, 3);      /* the first designator is the NAA one */
    memset(e, 0, 32);
    e[0] = 0xe4;
    memcpy(e + 4, page + 4, 4 + 16);           /* designation descriptor header + NAA */
    scsi_put_be24(e + 29, BS);
}

static void b2b(uint8_t *e, uint16_t src, uint16_t dst, uint16_t blocks, uint64_t src_lba, uint64_t dst_lba)
{
    memset(e, 0, 28);
    e[0] = 0x02;
    scsi_put_be16(e + 2, 0x18);
    scsi_put_be16(e + 4, src);
    scsi_put_be16(e + 6, dst);
    scsi_put_be16(e + 10, blocks);
    scsi_put_be64(e + 12, src_lba);
    scsi_put_be64(e + 20, dst_lba);
}

/* Header for ncscd CSCDs and nseg segments: list id, usage. */
static uint32_t header(uint8_t *p, uint8_t list_id, uint8_t usage, unsigned ncscd, unsigned nseg)
{
    memset(p, 0, 16);
    p[0] = list_id;
    p[1] = (uint8_t)(usage << 3);
    scsi_put_be16(p + 2, (uint16_t)(32 * ncscd));
    scsi_put_be32(p + 8, 28 * nseg);
    return 16 + 32 * ncscd + 28 * nseg;
}

static void xcopy(struct fw *fw, struct fw_task *t, uint16_t lun, uint8_t *p, uint32_t len)
{
    uint8_t cdb[16] = { 0x83 };
    scsi_put_be32(cdb + 10, len);
    fwh_run(fw, t, 0, 0, lun, cdb, 16, len ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_NONE, p, len);
}

static void fill(struct fw *fw, uint16_t lun, uint32_t lba, uint16_t n, uint8_t v)
{
    uint8_t buf[16 * BS], cdb[10];
    memset(buf, v, n * BS);
    fwh_cdb_rw10(cdb, 0x2a, lba, n, 0);
    struct fw_task t;
    fwh_run(fw, &t, 0, 0, lun, cdb, 10, HBA_FLAG_DIR_WRITE, buf, n * BS);
    fwh_expect_good(&t);
}

static void expect_fill(struct fw *fw, uint16_t lun, uint32_t lba, uint16_t n, uint8_t v)
{
    uint8_t buf[16 * BS], want[16 * BS], cdb[10];
    memset(want, v, n * BS);
    fwh_cdb_rw10(cdb, 0x28, lba, n, 0);
    struct fw_task t;
    fwh_run(fw, &t, 0, 0, lun, cdb, 10, HBA_FLAG_DIR_READ, buf, n * BS);
    fwh_expect_good(&t);
    ck_assert_msg(!memcmp(buf, want, n * BS), "LUN %u LBA %u..: not all %02x", lun, lba, v);
}

START_TEST(copies_within_and_across_luns)
{
    struct fw *fw = two_luns();
    fill(fw, 0, 0, 8, 0xa0);
    fill(fw, 1, 0, 8, 0xb1);
    uint8_t p[16 + 2 * 32 + 2 * 28];
    uint32_t len = header(p, 7, 0, 2, 2);
    cscd(fw, 0, p + 16);
    cscd(fw, 1, p + 48);
    b2b(p + 80, 0, 1, 8, 0, 100);              /* LUN 0 -> LUN 1 */
    b2b(p + 108, 1, 1, 4, 0, 50);              /* LUN 1 -> LUN 1 */
    struct fw_task t;
    xcopy(fw, &t, 0, p, len);                  /* sent to LUN 0 */
    fwh_expect_good(&t);
    expect_fill(fw, 1, 100, 8, 0xa0);
    expect_fill(fw, 1, 50, 4, 0xb1);
    /* The copy status, once, for this nexus and list id. */
    uint8_t rcr[16] = { 0x84, 0x00, 7 }, st[12];
    scsi_put_be32(rcr + 10, sizeof st);
    fwh_run(fw, &t, 1, 0, 0, rcr, 16, HBA_FLAG_DIR_READ, st, sizeof st);
    fwh_expect_invalid_cdb(&t, 2, -1);         /* another nexus has none */
    fwh_run(fw, &t, 0, 0, 0, rcr, 16, HBA_FLAG_DIR_READ, st, sizeof st);
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(st), 8);
    ck_assert_uint_eq(st[4], 0x00);            /* completed without errors */
    ck_assert_uint_eq(scsi_get_be16(st + 5), 2);
    ck_assert_uint_eq(scsi_get_be32(st + 8), 12 * BS);
    fwh_run(fw, &t, 0, 0, 0, rcr, 16, HBA_FLAG_DIR_READ, st, sizeof st);
    fwh_expect_invalid_cdb(&t, 2, -1);         /* returned once */
    fw_destroy(fw);
}
END_TEST

START_TEST(overlapping_copy_on_one_lun)
{
    struct fw *fw = two_luns();
    for (uint32_t i = 0; i < 8; i++)
        fill(fw, 0, i, 1, (uint8_t)(0x10 + i));
    uint8_t p[16 + 32 + 28];
    uint32_t len = header(p, 0, 3, 1, 1);      /* LIST ID USAGE 11b: no status kept */
    cscd(fw, 0, p + 16);
    b2b(p + 48, 0, 0, 6, 0, 2);                /* shift up by two blocks */
    struct fw_task t;
    xcopy(fw, &t, 0, p, len);
    fwh_expect_good(&t);
    for (uint32_t i = 0; i < 6; i++)
        expect_fill(fw, 0, 2 + i, 1, (uint8_t)(0x10 + i));
    fw_destroy(fw);
}
END_TEST

START_TEST(operating_parameters)
{
    struct fw *fw = two_luns();
    uint8_t rcr[16] = { 0x84, 0x03 }, b[64];
    scsi_put_be32(rcr + 10, sizeof b);
    struct fw_task t;
    fwh_run0(fw, &t, rcr, 16, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 46);
    ck_assert_uint_eq(scsi_get_be32(b), 42);
    ck_assert_uint_eq(scsi_get_be16(b + 8), 8);
    ck_assert_uint_eq(scsi_get_be16(b + 10), 16);
    ck_assert_uint_eq(scsi_get_be32(b + 12), 1024);
    ck_assert_uint_eq(b[43], 2);
    ck_assert_uint_eq(b[44], 0x02);
    ck_assert_uint_eq(b[45], 0xe4);
    rcr[2] = 1;                                /* no list id for operating parameters */
    fwh_run0(fw, &t, rcr, 16, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 2, -1);
    rcr[2] = 0;
    rcr[1] = 0x01;                             /* RECEIVE DATA: not offered */
    fwh_run0(fw, &t, rcr, 16, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 1, 4);
    fw_destroy(fw);
}
END_TEST

static void expect_copy_aborted(const struct fw_task *t, uint8_t asc, uint8_t ascq, uint16_t byte)
{
    fwh_expect_sense(t, SCSI_SK_COPY_ABORTED, asc, ascq);
    struct scsi_sense_info si = fwh_sense(t);
    ck_assert(si.fp.valid);
    ck_assert(!si.fp.in_cdb);
    ck_assert_uint_eq(si.fp.byte, byte);
}

START_TEST(malformed_lists_copy_nothing)
{
    struct fw *fw = two_luns();
    fill(fw, 0, 0, 4, 0x5a);
    uint8_t p[16 + 9 * 32 + 17 * 28 + 64];
    struct fw_task t;
    uint32_t len = header(p, 1, 2, 1, 1);
    cscd(fw, 0, p + 16);
    b2b(p + 48, 0, 0, 4, 0, 64);
    xcopy(fw, &t, 0, p, 0);                    /* no parameter list: nothing to do */
    fwh_expect_good(&t);
    xcopy(fw, &t, 0, p, 15);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    xcopy(fw, &t, 0, p, len - 1);              /* the segment cut short */
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    p[1] = 1 << 3;                             /* LIST ID USAGE 01b */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_invalid_param(&t, 1, 4);
    p[1] = 3 << 3;                             /* 11b wants list id 0 */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_invalid_param(&t, 0, -1);
    p[1] = 2 << 3;
    p[15] = 1;                                 /* inline data */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_invalid_param(&t, 12, -1);
    p[15] = 0;
    p[16] = 0xe0;                              /* a Fibre Channel CSCD */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x26, 0x07);
    ck_assert_uint_eq(fwh_sense(&t).fp.byte, 16);
    p[16] = 0xe4;
    p[17] = 0x01;                              /* not a block device */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_invalid_param(&t, 17, 4);
    p[17] = 0;
    p[48] = 0x03;                              /* stream-to-stream segment */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x26, 0x09);
    p[48] = 0x02;
    p[51] = 0x14;                              /* wrong DESCRIPTOR LENGTH */
    xcopy(fw, &t, 0, p, len);
    fwh_expect_invalid_param(&t, 50, -1);
    p[51] = 0x18;
    p[31] ^= 0xff;                             /* a designator of no drive here */
    xcopy(fw, &t, 0, p, len);
    expect_copy_aborted(&t, 0x0d, 0x02, 20);
    p[31] ^= 0xff;
    scsi_put_be24(p + 45, 4096);               /* DISK BLOCK LENGTH not the drive's */
    xcopy(fw, &t, 0, p, len);
    expect_copy_aborted(&t, 0x0d, 0x03, 45);
    scsi_put_be24(p + 45, BS);
    scsi_put_be16(p + 54, 1);                  /* destination index past the list */
    xcopy(fw, &t, 0, p, len);
    expect_copy_aborted(&t, 0x08, 0x04, 54);
    scsi_put_be16(p + 54, 0);
    scsi_put_be64(p + 68, BLOCKS - 1);         /* destination past the end */
    xcopy(fw, &t, 0, p, len);
    expect_copy_aborted(&t, 0x00, 0x00, 68);
    expect_fill(fw, 0, BLOCKS - 1, 1, 0x00);   /* nothing copied by any of them */
    expect_fill(fw, 0, 64, 4, 0x00);
    /* Too many CSCDs, too many segments, too long a list. */
    len = header(p, 1, 2, 9, 1);
    for (unsigned i = 0; i < 9; i++)
        cscd(fw, 0, p + 16 + 32 * i);
    b2b(p + 16 + 9 * 32, 0, 0, 1, 0, 1);
    xcopy(fw, &t, 0, p, len);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x26, 0x06);
    len = header(p, 1, 2, 1, 17);
    cscd(fw, 0, p + 16);
    for (unsigned i = 0; i < 17; i++)
        b2b(p + 48 + 28 * i, 0, 0, 1, 0, 1);
    xcopy(fw, &t, 0, p, len);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x26, 0x08);
    header(p, 1, 2, 9, 27);                    /* 288 + 756 > 1024 */
    xcopy(fw, &t, 0, p, sizeof p);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(write_protected_destination_aborts)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 2);
    fwh_add_lu(&cfg, 0, 0, BLOCKS, BS);
    fwh_add_lu(&cfg, 0, 1, BLOCKS, BS)->write_protect = true;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 0, 0, 1);
    uint8_t p[16 + 2 * 32 + 28];
    uint32_t len = header(p, 1, 2, 2, 1);
    cscd(fw, 0, p + 16);
    cscd(fw, 1, p + 48);
    b2b(p + 80, 0, 1, 1, 0, 0);
    struct fw_task t;
    xcopy(fw, &t, 0, p, len);
    expect_copy_aborted(&t, 0x27, 0x00, 86);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_xcopy");
    TCase *tc = tcase_create("xcopy");
    tcase_add_test(tc, copies_within_and_across_luns);
    tcase_add_test(tc, overlapping_copy_on_one_lun);
    tcase_add_test(tc, operating_parameters);
    tcase_add_test(tc, malformed_lists_copy_nothing);
    tcase_add_test(tc, write_protected_destination_aborts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
