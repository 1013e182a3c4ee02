/* tests/test_fw_inquiry.c — addressing and the SPC commands every LUN answers:
 * INQUIRY (standard and VPD), REPORT LUNS, REQUEST SENSE, REPORT SUPPORTED
 * OPERATION CODES, unknown opcodes, reserved bits, controller-level checks. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <errno.h>
#include <string.h>

static void inquiry(struct fw *fw, struct fw_task *t, uint16_t target, uint16_t lun, bool evpd,
                    uint8_t page, uint16_t alloc, uint8_t *buf, uint32_t len)
{
    static uint8_t cdb[6];
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = SCSI_OP_INQUIRY;
    cdb[1] = evpd ? 1 : 0;
    cdb[2] = page;
    scsi_put_be16(cdb + 3, alloc);
    fwh_run(fw, t, 0, target, lun, cdb, 6, HBA_FLAG_DIR_READ, buf, len);
}

START_TEST(standard_inquiry_fields)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[256];
    memset(b, 0xEE, sizeof(b));
    struct fw_task t;
    inquiry(fw, &t, 0, 0, false, 0, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 96);
    ck_assert_uint_eq(b[0], 0x00);                /* connected, direct access */
    ck_assert_uint_eq(b[1], 0x00);                /* not removable */
    ck_assert(b[2] == 0x06 || b[2] == 0x07);      /* SPC-4 or SPC-5 */
    ck_assert_uint_eq(b[3] & 0x0f, 2);            /* response data format */
    ck_assert_uint_eq(b[3] & 0x10, 0x10);         /* HiSup */
    ck_assert_uint_eq(b[4], 96 - 5);
    ck_assert_uint_eq(b[7] & 0x02, 0x02);         /* CmdQue */
    ck_assert_uint_eq(b[5], 0x08);                /* 3PC: EXTENDED COPY is served; no TPGS, no PROTECT */
    ck_assert(memcmp(b + 8, "SCSISIM ", 8) == 0);
    ck_assert(memcmp(b + 16, "FWTEST          ", 16) == 0);
    ck_assert(memcmp(b + 32, "1.0 ", 4) == 0);
    /* version descriptors: SAM-5, SPC-4, SBC-3 */
    ck_assert_uint_eq(scsi_get_be16(b + 58), 0x00A0);
    ck_assert_uint_eq(scsi_get_be16(b + 60), 0x0460);
    ck_assert_uint_eq(scsi_get_be16(b + 62), 0x04C0);
    ck_assert_uint_eq(b[96], 0);                  /* beyond the data: the zeros fw_execute starts with */
    fw_destroy(fw);
}
END_TEST

static const uint16_t alloc_lengths[] = { 0, 5, 36, 96, 255 };

START_TEST(inquiry_allocation_lengths)
{
    struct fw *fw = fwh_simple(1024);
    uint16_t alloc = alloc_lengths[_i];
    uint8_t b[300];
    memset(b, 0xEE, sizeof(b));
    struct fw_task t;
    inquiry(fw, &t, 0, 0, false, 0, alloc, b, sizeof(b));
    fwh_expect_good(&t);                          /* allocation length 0 is not an error */
    uint32_t want = alloc < 96 ? alloc : 96;
    ck_assert_uint_eq(t.xfer, want);
    ck_assert_uint_eq(b[want], 0);                /* the zeros fw_execute starts with, not data */
    if (alloc >= 5)
        ck_assert_uint_eq(b[4], 91);              /* ADDITIONAL LENGTH is the full length */
    fw_destroy(fw);
}
END_TEST

START_TEST(inquiry_short_buffer_is_a_residual)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[10];
    struct fw_task t;
    inquiry(fw, &t, 0, 0, false, 0, 96, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 10);
    ck_assert_uint_eq(b[4], 91);
    fw_destroy(fw);
}
END_TEST

START_TEST(inquiry_page_code_without_evpd)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[96];
    struct fw_task t;
    inquiry(fw, &t, 0, 0, false, 0x80, 96, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 2, -1);
    ck_assert_uint_eq(t.xfer, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(inquiry_reserved_bits)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[96];
    struct fw_task t;
    uint8_t cdb[6] = { SCSI_OP_INQUIRY, 0x02, 0, 0, 96, 0 };   /* obsolete CMDDT */
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 1);
    uint8_t naca[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0x04 };  /* NACA unsupported */
    fwh_run0(fw, &t, naca, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 5, 2);
    uint8_t vendor[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0xc0 }; /* vendor bits are fine */
    fwh_run0(fw, &t, vendor, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(vpd_supported_pages)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[255];
    struct fw_task t;
    inquiry(fw, &t, 0, 0, true, 0x00, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0], 0x00);
    ck_assert_uint_eq(b[1], 0x00);
    uint16_t n = scsi_get_be16(b + 2);
    ck_assert_uint_eq(t.xfer, 4u + n);
    static const uint8_t want[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
    ck_assert_uint_eq(n, sizeof(want));
    ck_assert(memcmp(b + 4, want, sizeof(want)) == 0);
    /* every listed page answers */
    for (size_t i = 0; i < sizeof(want); i++) {
        uint8_t p[255];
        inquiry(fw, &t, 0, 0, true, want[i], 255, p, sizeof(p));
        fwh_expect_good(&t);
        ck_assert_uint_eq(p[1], want[i]);
        ck_assert_uint_eq(t.xfer, 4u + scsi_get_be16(p + 2));
    }
    fw_destroy(fw);
}
END_TEST

START_TEST(vpd_unsupported_page)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[255];
    struct fw_task t;
    inquiry(fw, &t, 0, 0, true, 0x86, 255, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 2, -1);
    fw_destroy(fw);
}
END_TEST

START_TEST(vpd_serial_derived_and_configured)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 4, 4);
    fwh_add_lu(&cfg, 1, 2, 100, 512);
    struct sim_lu_config *lu = fwh_add_lu(&cfg, 1, 3, 100, 512);
    strcpy(lu->serial, "ABC123");
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    uint8_t b[255];
    struct fw_task t;
    inquiry(fw, &t, 1, 2, true, 0x80, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 2), strlen("SSIM-001-002"));
    ck_assert(memcmp(b + 4, "SSIM-001-002", 12) == 0);
    inquiry(fw, &t, 1, 3, true, 0x80, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 2), 6);
    ck_assert(memcmp(b + 4, "ABC123", 6) == 0);
    fw_destroy(fw);
}
END_TEST

/* Finds designator `type` in a VPD 83h page; NULL if absent. */
static const uint8_t *find_designator(const uint8_t *page, uint8_t type)
{
    size_t len = 4u + scsi_get_be16(page + 2);
    for (size_t off = 4; off + 4 <= len; off += 4u + page[off + 3])
        if ((page[off + 1] & 0x0f) == type)
            return page + off;
    return NULL;
}

START_TEST(vpd_device_identification)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 16, 8);
    fwh_add_lu(&cfg, 0, 0, 100, 512);
    fwh_add_lu(&cfg, 3, 5, 100, 512);
    struct fw *fw = fwh_create(&cfg);
    struct fw *again = fwh_create(&cfg);
    fwh_config_free(&cfg);
    uint8_t a[255], b[255], c[255];
    struct fw_task t;
    inquiry(fw, &t, 0, 0, true, 0x83, 255, a, sizeof(a));
    fwh_expect_good(&t);
    inquiry(fw, &t, 3, 5, true, 0x83, 255, b, sizeof(b));
    fwh_expect_good(&t);
    inquiry(again, &t, 3, 5, true, 0x83, 255, c, sizeof(c));
    fwh_expect_good(&t);

    const uint8_t *naa = find_designator(b, 3);
    ck_assert_ptr_nonnull(naa);
    ck_assert_uint_eq(naa[0] & 0x0f, 1);              /* binary */
    ck_assert_uint_eq(naa[1] & 0x30, 0);              /* associated with the LU */
    ck_assert_uint_eq(naa[3], 16);
    uint8_t naa_type = naa[4] >> 4;
    ck_assert(naa_type == 6 || naa_type == 5);
    /* unique per drive, identical across runs */
    const uint8_t *naa0 = find_designator(a, 3);
    ck_assert_ptr_nonnull(naa0);
    ck_assert(memcmp(naa0 + 4, naa + 4, 16) != 0);
    ck_assert(memcmp(find_designator(c, 3) + 4, naa + 4, 16) == 0);

    const uint8_t *t10 = find_designator(b, 1);
    ck_assert_ptr_nonnull(t10);
    ck_assert_uint_eq(t10[0] & 0x0f, 2);              /* ASCII */
    ck_assert(memcmp(t10 + 4, "SCSISIM ", 8) == 0);

    /* IDENTIFY reports the same NAA designator */
    struct hba_identify_drive id;
    ck_assert_int_eq(fw_identify_drive(fw, 3, 5, &id), 0);
    ck_assert(memcmp(id.naa_id, naa + 4, 16) == 0);
    fw_destroy(fw);
    fw_destroy(again);
}
END_TEST

START_TEST(vpd_block_pages)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 1000, 4096);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    uint8_t b[255];
    struct fw_task t;
    inquiry(fw, &t, 0, 0, true, 0xb0, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 2), 0x3c);
    ck_assert_uint_eq(scsi_get_be32(b + 8), 512 * 1024 / 4096);   /* MAXIMUM TRANSFER LENGTH */
    inquiry(fw, &t, 0, 0, true, 0xb1, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 4), 1);                   /* non-rotating */
    inquiry(fw, &t, 0, 0, true, 0xb2, 255, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 2), 4);
    ck_assert_uint_eq(b[5] & 0x80, 0);                            /* no LBPU */
    /* a VPD page is cut at the allocation length too */
    inquiry(fw, &t, 0, 0, true, 0xb0, 5, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 5);
    fw_destroy(fw);
}
END_TEST

static struct fw *grid(void)
{
    /* 16 targets x 8 LUNs: target 2 has only LUN 3, target 5 has nothing,
     * every other target has every LUN. */
    struct sim_config cfg;
    fwh_config_init(&cfg, 16, 8);
    for (uint16_t tg = 0; tg < 16; tg++)
        for (uint16_t l = 0; l < 8; l++)
            if (tg != 5 && (tg != 2 || l == 3))
                fwh_add_lu(&cfg, tg, l, 64 + tg * 8 + l, 512);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    return fw;
}

START_TEST(many_targets_and_luns)
{
    struct fw *fw = grid();
    ck_assert_uint_eq(fw_drive_list(fw, NULL, 0), 14 * 8 + 1);
    uint8_t cdb[10], b[8];
    struct fw_task t;
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = SCSI_OP_READ_CAPACITY_10;
    for (uint16_t tg = 0; tg < 16; tg++) {
        for (uint16_t l = 0; l < 8; l++) {
            if (tg == 5 || (tg == 2 && l != 3))
                continue;
            fwh_drain_ua(fw, 0, tg, l);
            fwh_run(fw, &t, 0, tg, l, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
            fwh_expect_good(&t);
            ck_assert_uint_eq(scsi_get_be32(b), 64u + tg * 8u + l - 1);  /* each drive is itself */
        }
    }
    fw_destroy(fw);
}
END_TEST

START_TEST(missing_lun_answers)
{
    struct fw *fw = grid();
    uint8_t b[96];
    struct fw_task t;
    /* LUN 0 of target 2 has no drive */
    inquiry(fw, &t, 2, 0, false, 0, 96, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 96);
    ck_assert_uint_eq(b[0], 0x7f);
    inquiry(fw, &t, 2, 0, true, 0x00, 96, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x25, 0x00);
    const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    fwh_run(fw, &t, 0, 2, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x25, 0x00);
    const uint8_t unknown[6] = { 0x02 };
    fwh_run(fw, &t, 0, 2, 0, unknown, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x25, 0x00);
    /* REQUEST SENSE on a missing LUN: GOOD, sense data says LUN NOT SUPPORTED */
    const uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 96, 0 };
    fwh_run(fw, &t, 0, 2, 0, rs, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(b, t.xfer, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_ILLEGAL_REQUEST);
    ck_assert_uint_eq(si.asc, 0x25);
    fw_destroy(fw);
}
END_TEST

START_TEST(invalid_targets)
{
    struct fw *fw = grid();
    uint8_t b[96];
    struct fw_task t;
    inquiry(fw, &t, 5, 0, false, 0, 96, b, sizeof(b));     /* no drive at all */
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_TARGET);
    ck_assert_uint_eq(t.xfer, 0);
    inquiry(fw, &t, 16, 0, false, 0, 96, b, sizeof(b));    /* beyond max_targets */
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_TARGET);
    inquiry(fw, &t, 0xffff, 0, false, 0, 96, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_TARGET);
    /* a LUN beyond max_luns is beyond CAP_TARGETS too (hw/hba.h) */
    inquiry(fw, &t, 0, 8, false, 0, 96, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_TARGET);
    inquiry(fw, &t, 0, 7, false, 0, 96, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0], 0x00);
    fw_destroy(fw);
}
END_TEST

static void report_luns(struct fw *fw, struct fw_task *t, uint16_t target, uint16_t lun, uint8_t select,
                        uint32_t alloc, uint8_t *buf, uint32_t len)
{
    static uint8_t cdb[12];
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = SCSI_OP_REPORT_LUNS;
    cdb[2] = select;
    scsi_put_be32(cdb + 6, alloc);
    fwh_run(fw, t, 0, target, lun, cdb, 12, HBA_FLAG_DIR_READ, buf, len);
}

START_TEST(report_luns_lists_drives)
{
    struct fw *fw = grid();
    uint8_t b[256];
    struct fw_task t;
    report_luns(fw, &t, 0, 0, 0, sizeof(b), b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(b), 8 * 8);
    ck_assert_uint_eq(t.xfer, 8 + 64);
    for (unsigned i = 0; i < 8; i++) {
        static const uint8_t zero[6];
        ck_assert_uint_eq(b[8 + 8 * i], 0x00);          /* peripheral addressing, bus 0 */
        ck_assert_uint_eq(b[8 + 8 * i + 1], i);
        ck_assert(memcmp(b + 8 + 8 * i + 2, zero, 6) == 0);
    }
    /* target 2 has only LUN 3, and LUN 0 (no drive) still answers */
    report_luns(fw, &t, 2, 0, 2, sizeof(b), b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(b), 8);
    ck_assert_uint_eq(b[9], 3);
    /* select report 1: well-known LUNs only, there are none */
    report_luns(fw, &t, 0, 0, 1, sizeof(b), b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(b), 0);
    ck_assert_uint_eq(t.xfer, 8);
    /* allocation length 16 cuts the list but keeps the full LUN LIST LENGTH */
    report_luns(fw, &t, 0, 0, 0, 16, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 16);
    ck_assert_uint_eq(scsi_get_be32(b), 64);
    fw_destroy(fw);
}
END_TEST

START_TEST(report_luns_errors)
{
    struct fw *fw = grid();
    uint8_t b[256];
    struct fw_task t;
    fwh_drain_ua(fw, 0, 0, 0);
    report_luns(fw, &t, 0, 0, 3, sizeof(b), b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 2, -1);
    report_luns(fw, &t, 0, 0, 0, 15, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 6, -1);
    report_luns(fw, &t, 0, 0, 0, 0, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 6, -1);
    uint8_t cdb[12] = { SCSI_OP_REPORT_LUNS, 0x01, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(request_sense_formats)
{
    struct fw *fw = fwh_simple(1024);
    uint8_t b[255];
    struct fw_task t;
    uint8_t cdb[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0] & 0x7f, 0x70);
    ck_assert_uint_eq(b[2] & 0x0f, SCSI_SK_NO_SENSE);
    ck_assert_uint_eq(t.xfer, 18);
    cdb[1] = 0x01;   /* DESC */
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0], 0x72);
    ck_assert_uint_eq(b[1] & 0x0f, SCSI_SK_NO_SENSE);
    cdb[4] = 0;      /* allocation length 0: nothing, no error */
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 0);
    cdb[1] = 0x02;   /* reserved */
    cdb[4] = 18;
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 1);
    fw_destroy(fw);
}
END_TEST

START_TEST(unknown_opcodes_and_service_actions)
{
    struct fw *fw = fwh_simple(1024);
    struct fw_task t;
    uint8_t b[64];
    const uint8_t vendor[6] = { 0xc0, 0, 0, 0, 0, 0 };
    fwh_run0(fw, &t, vendor, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    struct scsi_sense_info si = fwh_sense(&t);
    ck_assert(si.fp.valid && si.fp.in_cdb);
    ck_assert_uint_eq(si.fp.byte, 0);
    const uint8_t format[6] = { 0x04 };   /* FORMAT UNIT: not supported */
    fwh_run0(fw, &t, format, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    uint8_t sai[16] = { SCSI_OP_SERVICE_ACTION_IN_16, 0x11 };
    scsi_put_be32(sai + 10, 32);
    fwh_run0(fw, &t, sai, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 4);
    fw_destroy(fw);
}
END_TEST

START_TEST(controller_level_checks)
{
    struct fw *fw = fwh_simple(1024);
    struct fw_task t;
    uint8_t b[96];
    const uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    /* a CDB cut shorter than the opcode's length */
    fwh_run0(fw, &t, inq, 5, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_FIELD);
    fwh_run0(fw, &t, inq, 0, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_FIELD);
    fwh_run0(fw, &t, inq, 17, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_FIELD);
    fwh_run(fw, &t, HBA_MAX_INITIATORS, 0, 0, inq, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_INVALID_FIELD);
    /* longer cdb_len than needed: the extra bytes are ignored */
    uint8_t longer[16] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0, 0xff, 0xff };
    fwh_run0(fw, &t, longer, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    /* data-in command with the wrong direction */
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_WRITE, b, sizeof(b));
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_DIRECTION_MISMATCH);
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_DIRECTION_MISMATCH);
    /* allocation length 0 moves nothing: any direction is fine */
    const uint8_t inq0[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 0, 0 };
    fwh_run0(fw, &t, inq0, 6, HBA_FLAG_DIR_NONE, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(report_supported_opcodes)
{
    struct fw *fw = fwh_simple(1024);
    struct fw_task t;
    uint8_t b[1024];
    uint8_t cdb[12] = { SCSI_OP_MAINTENANCE_IN, 0x0c, 0x00 };
    scsi_put_be32(cdb + 6, sizeof(b));
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    uint32_t len = scsi_get_be32(b);
    ck_assert_uint_eq(len % 8, 0);
    ck_assert_uint_ge(len / 8, 20);
    bool saw_inquiry = false, saw_rc16 = false;
    for (uint32_t off = 4; off < 4 + len; off += 8) {
        if (b[off] == SCSI_OP_INQUIRY)
            saw_inquiry = scsi_get_be16(b + off + 6) == 6;
        if (b[off] == SCSI_OP_SERVICE_ACTION_IN_16 && scsi_get_be16(b + off + 2) == 0x10)
            saw_rc16 = (b[off + 5] & 1) && scsi_get_be16(b + off + 6) == 16;
    }
    ck_assert(saw_inquiry);
    ck_assert(saw_rc16);
    /* one command: usage data is the table's mask */
    cdb[2] = 0x01;
    cdb[3] = SCSI_OP_READ_10;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[1] & 0x07, 0x03);
    ck_assert_uint_eq(scsi_get_be16(b + 2), 10);
    ck_assert_uint_eq(b[4], SCSI_OP_READ_10);
    ck_assert_uint_eq(b[5], 0x18);                  /* DPO, FUA */
    ck_assert_uint_eq(t.xfer, 14);
    /* unsupported opcode: SUPPORT 001b */
    cdb[3] = 0x04;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[1] & 0x07, 0x01);
    /* option 1 for an opcode with service actions is invalid */
    cdb[3] = SCSI_OP_SERVICE_ACTION_IN_16;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 2, 2);
    /* option 2 with the service action */
    cdb[2] = 0x02;
    scsi_put_be16(cdb + 4, 0x10);
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[1] & 0x07, 0x03);
    ck_assert_uint_eq(b[5], 0x10);
    /* RCTD adds a 12-byte timeouts descriptor */
    cdb[2] = 0x82;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[1] & 0x80, 0x80);
    ck_assert_uint_eq(t.xfer, 4 + 16 + 12);
    cdb[2] = 0x05;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 2, 2);
    fw_destroy(fw);
}
END_TEST

START_TEST(create_rejects_bad_configs)
{
    struct sim_config cfg;
    struct fw *fw = NULL;
    char err[256];
    fwh_config_init(&cfg, 4, 4);
    fwh_add_lu(&cfg, 4, 0, 100, 512);
    ck_assert_int_eq(fw_create(&cfg, &fw, err, sizeof(err)), -EINVAL);
    ck_assert(strstr(err, "4:0") != NULL);
    cfg.lus[0].target = 0;
    cfg.lus[0].block_size = 1024;
    ck_assert_int_eq(fw_create(&cfg, &fw, err, sizeof(err)), -EINVAL);
    cfg.lus[0].block_size = 512;
    cfg.lus[0].blocks = 0;
    ck_assert_int_eq(fw_create(&cfg, &fw, err, sizeof(err)), -EINVAL);
    cfg.lus[0].blocks = 10;
    fwh_add_lu(&cfg, 0, 0, 10, 512);
    ck_assert_int_eq(fw_create(&cfg, &fw, err, sizeof(err)), -EINVAL);
    ck_assert(strstr(err, "twice") != NULL);
    fwh_config_free(&cfg);
    fwh_config_init(&cfg, 0, 4);
    ck_assert_int_eq(fw_create(&cfg, &fw, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(fw_create(NULL, &fw, NULL, 0), -EINVAL);
    ck_assert_ptr_null(fw);
    fw_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fw_inquiry");
    TCase *tc = tcase_create("spc");
    tcase_add_test(tc, standard_inquiry_fields);
    tcase_add_loop_test(tc, inquiry_allocation_lengths, 0, sizeof(alloc_lengths) / sizeof(alloc_lengths[0]));
    tcase_add_test(tc, inquiry_short_buffer_is_a_residual);
    tcase_add_test(tc, inquiry_page_code_without_evpd);
    tcase_add_test(tc, inquiry_reserved_bits);
    tcase_add_test(tc, vpd_supported_pages);
    tcase_add_test(tc, vpd_unsupported_page);
    tcase_add_test(tc, vpd_serial_derived_and_configured);
    tcase_add_test(tc, vpd_device_identification);
    tcase_add_test(tc, vpd_block_pages);
    tcase_add_test(tc, many_targets_and_luns);
    tcase_add_test(tc, missing_lun_answers);
    tcase_add_test(tc, invalid_targets);
    tcase_add_test(tc, report_luns_lists_drives);
    tcase_add_test(tc, report_luns_errors);
    tcase_add_test(tc, request_sense_formats);
    tcase_add_test(tc, unknown_opcodes_and_service_actions);
    tcase_add_test(tc, controller_level_checks);
    tcase_add_test(tc, report_supported_opcodes);
    tcase_add_test(tc, create_rejects_bad_configs);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
