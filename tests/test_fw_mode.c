/* tests/test_fw_mode.c — MODE SENSE and MODE SELECT: the caching and control
 * pages, page control, block descriptors, parameter validation with field
 * pointers, saved values, descriptor sense after D_SENSE, WCE 1 -> 0 flushing,
 * and MODE PARAMETERS CHANGED for the other nexuses. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

static void mode_sense6(struct fw *fw, struct fw_task *t, uint16_t ini, uint8_t dbd_pc_page, uint8_t page_pc,
                        uint8_t subpage, uint8_t alloc, uint8_t *b)
{
    uint8_t cdb[6] = { SCSI_OP_MODE_SENSE_6, dbd_pc_page, page_pc, subpage, alloc, 0 };
    fwh_run(fw, t, ini, 0, 0, cdb, 6, HBA_FLAG_DIR_READ, b, 255);
}

static void mode_sense10(struct fw *fw, struct fw_task *t, uint8_t byte1, uint8_t page_pc, uint16_t alloc,
                         uint8_t *b)
{
    uint8_t cdb[10] = { SCSI_OP_MODE_SENSE_10, byte1, page_pc };
    scsi_put_be16(cdb + 7, alloc);
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_READ, b, 512);
}

/* Finds page `code` after the header and block descriptors of MODE SENSE(6) data. */
static const uint8_t *page6(const uint8_t *b, uint8_t code)
{
    size_t end = (size_t)b[0] + 1;
    for (size_t off = 4u + b[3]; off + 2 <= end; off += 2u + b[off + 1])
        if ((b[off] & 0x3f) == code)
            return b + off;
    return NULL;
}

static void mode_select6(struct fw *fw, struct fw_task *t, uint16_t ini, uint8_t byte1, uint8_t *list, uint8_t len)
{
    uint8_t cdb[6] = { SCSI_OP_MODE_SELECT_6, byte1, 0, 0, len, 0 };
    fwh_run(fw, t, ini, 0, 0, cdb, 6, HBA_FLAG_DIR_WRITE, list, len);
}

/* Reads the current caching + control pages and returns a MODE SELECT(6)
 * parameter list echoing them: header (4), block descriptor (8), caching
 * page (20) at 12, control page (12) at 32. */
static uint8_t echo_list(struct fw *fw, uint8_t *list)
{
    uint8_t b[255];
    struct fw_task t;
    mode_sense6(fw, &t, 0, 0x00, 0x3f, 0, 255, b);   /* with the block descriptor */
    fwh_expect_good(&t);
    uint8_t n = (uint8_t)(b[0] + 1);
    memcpy(list, b, n);
    list[0] = 0;      /* MODE DATA LENGTH is reserved in MODE SELECT */
    return n;
}

START_TEST(mode_sense6_all_pages)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[255];
    struct fw_task t;
    mode_sense6(fw, &t, 0, 0, 0x3f, 0, 255, b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, (uint32_t)b[0] + 1);
    ck_assert_uint_eq(b[1], 0);                      /* medium type */
    ck_assert_uint_eq(b[2] & 0x80, 0);               /* not write protected */
    ck_assert_uint_eq(b[2] & 0x10, 0x10);            /* DPOFUA */
    ck_assert_uint_eq(b[3], 8);                      /* short block descriptor */
    ck_assert_uint_eq(scsi_get_be32(b + 4), 1000);
    ck_assert_uint_eq(scsi_get_be24(b + 9), 512);
    const uint8_t *cache = page6(b, 0x08), *ctl = page6(b, 0x0a);
    ck_assert_ptr_nonnull(cache);
    ck_assert_ptr_nonnull(ctl);
    ck_assert_uint_eq(cache[1], 0x12);
    ck_assert_uint_eq(cache[2] & 0x04, 0x04);        /* WCE from the configuration */
    ck_assert_uint_eq(cache[0] & 0x80, 0x80);        /* PS: savable */
    ck_assert_uint_eq(ctl[1], 0x0a);
    ck_assert_uint_eq(ctl[2] & 0x04, 0);             /* D_SENSE off */
    ck_assert(cache < ctl);                          /* ascending page order */
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_sense_dbd_and_alloc)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[255];
    struct fw_task t;
    mode_sense6(fw, &t, 0, 0x08, 0x08, 0, 255, b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[3], 0);                      /* DBD: no block descriptor */
    ck_assert_uint_eq(b[0] + 1, 4 + 20);
    ck_assert_uint_eq(b[4] & 0x3f, 0x08);
    mode_sense6(fw, &t, 0, 0x08, 0x3f, 0, 0, b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 0);
    mode_sense6(fw, &t, 0, 0x00, 0x3f, 0, 3, b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 3);
    ck_assert_uint_eq(b[0], 4 + 8 + 20 + 12 - 1);    /* full length even when cut */
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_sense10_long_lba)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[512];
    struct fw_task t;
    mode_sense10(fw, &t, 0x10, 0x0a, 512, b);        /* LLBAA */
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b) + 2u, t.xfer);
    ck_assert_uint_eq(b[4] & 0x01, 0x01);            /* LONGLBA */
    ck_assert_uint_eq(scsi_get_be16(b + 6), 16);
    ck_assert_uint_eq(scsi_get_be64(b + 8), 1000);
    ck_assert_uint_eq(scsi_get_be32(b + 8 + 12), 512);
    ck_assert_uint_eq(b[24] & 0x3f, 0x0a);
    mode_sense10(fw, &t, 0x00, 0x08, 512, b);        /* short descriptor */
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[4] & 0x01, 0);
    ck_assert_uint_eq(scsi_get_be16(b + 6), 8);
    ck_assert_uint_eq(t.xfer, 8 + 8 + 20);
    mode_sense10(fw, &t, 0x20, 0x08, 512, b);        /* reserved bit */
    fwh_expect_invalid_cdb(&t, 1, 5);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_sense_huge_drive_short_descriptor)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 1ull << 40, 512);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    uint8_t b[255];
    struct fw_task t;
    mode_sense6(fw, &t, 0, 0, 0x08, 0, 255, b);      /* MODE SENSE skips no UA: drain first */
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    mode_sense6(fw, &t, 0, 0, 0x08, 0, 255, b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(b + 4), 0xFFFFFFFFu);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_sense_page_control)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[255];
    struct fw_task t;
    mode_sense6(fw, &t, 0, 0x08, 0x40 | 0x3f, 0, 255, b);   /* changeable */
    fwh_expect_good(&t);
    const uint8_t *cache = page6(b, 0x08), *ctl = page6(b, 0x0a);
    ck_assert_uint_eq(cache[2], 0x05);               /* WCE, RCD */
    ck_assert_uint_eq(ctl[2], 0x04);                 /* D_SENSE */
    ck_assert_uint_eq(ctl[3], 0x00);                 /* queue algorithm is fixed */
    ck_assert_uint_eq(ctl[4], 0x08);                 /* SWP */
    mode_sense6(fw, &t, 0, 0x08, 0x80 | 0x08, 0, 255, b);   /* default */
    fwh_expect_good(&t);
    ck_assert_uint_eq(page6(b, 0x08)[2], 0x04);
    mode_sense6(fw, &t, 0, 0x08, 0xc0 | 0x0a, 0, 255, b);   /* saved */
    fwh_expect_good(&t);
    ck_assert_uint_eq(page6(b, 0x0a)[3], 0x10);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_sense_bad_pages)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[255];
    struct fw_task t;
    mode_sense6(fw, &t, 0, 0x08, 0x1c, 0, 255, b);
    fwh_expect_invalid_cdb(&t, 2, 5);
    mode_sense6(fw, &t, 0, 0x08, 0x08, 0x01, 255, b);
    fwh_expect_invalid_cdb(&t, 3, -1);
    mode_sense6(fw, &t, 0, 0x08, 0x3f, 0xff, 255, b);        /* all pages and subpages */
    fwh_expect_good(&t);
    mode_sense6(fw, &t, 0, 0x01, 0x3f, 0, 255, b);           /* reserved bit 0 */
    fwh_expect_invalid_cdb(&t, 1, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_select_wce_off_flushes)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[4 * 512];
    memset(w, 0x3c, sizeof(w));
    fwh_write(fw, 0, 4, w, 512, false);   /* sits in the write-back cache */
    uint8_t list[64];
    uint8_t n = echo_list(fw, list);
    uint8_t *cache = list + 4 + 8;
    ck_assert_uint_eq(cache[0] & 0x3f, 0x08);
    cache[2] &= (uint8_t)~0x04;
    struct fw_task t;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, n);
    bool on = true;
    ck_assert_int_eq(fw_get_write_cache(fw, 0, 0, &on), 0);
    ck_assert(!on);
    /* what the cache held reached media; new writes go straight there */
    fwh_write(fw, 10, 4, w, 512, false);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    struct sim_oracle_report r;
    ck_assert_int_eq(fw_check_media(fw, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    /* not saved: power on brings WCE back */
    ck_assert_int_eq(fw_get_write_cache(fw, 0, 0, &on), 0);
    ck_assert(on);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_select_saved_values_survive_power)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t list[64];
    uint8_t n = echo_list(fw, list);
    list[4 + 8 + 2] &= (uint8_t)~0x04;   /* WCE off */
    struct fw_task t;
    mode_select6(fw, &t, 0, 0x11, list, n);   /* PF + SP */
    fwh_expect_good(&t);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    bool on = true;
    ck_assert_int_eq(fw_get_write_cache(fw, 0, 0, &on), 0);
    ck_assert(!on);
    uint8_t b[255];
    mode_sense6(fw, &t, 0, 0x08, 0xc0 | 0x08, 0, 255, b);   /* saved */
    fwh_expect_good(&t);
    ck_assert_uint_eq(page6(b, 0x08)[2] & 0x04, 0);
    mode_sense6(fw, &t, 0, 0x08, 0x80 | 0x08, 0, 255, b);   /* default unchanged */
    fwh_expect_good(&t);
    ck_assert_uint_eq(page6(b, 0x08)[2] & 0x04, 0x04);
    fw_destroy(fw);
}
END_TEST

START_TEST(reset_restores_saved_values)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t list[64];
    uint8_t n = echo_list(fw, list);
    list[4 + 8 + 20 + 2] |= 0x04;        /* D_SENSE on, not saved */
    struct fw_task t;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_good(&t);
    fw_reset(fw, HBA_RESET_LUN, 0, 0);
    const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    fwh_run0(fw, &t, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x03);
    ck_assert_uint_eq(t.sense[0] & 0x7f, 0x70);   /* fixed again: D_SENSE reverted */
    fw_destroy(fw);
}
END_TEST

START_TEST(d_sense_gives_descriptor_sense)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t list[64];
    uint8_t n = echo_list(fw, list);
    uint8_t *ctl = list + 4 + 8 + 20;
    ck_assert_uint_eq(ctl[0] & 0x3f, 0x0a);
    ctl[2] |= 0x04;
    struct fw_task t;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_good(&t);
    uint8_t b[512];
    uint8_t cdb[16];
    fwh_cdb_rw16(cdb, SCSI_OP_READ_16, 0x123456789ull, 1, 0);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    ck_assert_uint_eq(t.sense[0], 0x72);
    fwh_cdb_rw16(cdb, SCSI_OP_READ_16, 0, 1, 0x40);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 7);                /* field pointer (RDPROTECT: bit 7) survives the format */
    ck_assert_uint_eq(t.sense[0], 0x72);
    /* and back to fixed */
    ctl[2] &= (uint8_t)~0x04;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_good(&t);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    ck_assert_uint_eq(t.sense[0], 0x70);
    fw_destroy(fw);
}
END_TEST

START_TEST(swp_protects)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t list[64];
    uint8_t n = echo_list(fw, list);
    list[4 + 8 + 20 + 4] |= 0x08;     /* SWP */
    struct fw_task t;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_good(&t);
    uint8_t w[512] = { 0 };
    uint8_t cdb[10];
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, 0, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, w, sizeof(w));
    fwh_expect_sense(&t, SCSI_SK_DATA_PROTECT, 0x27, 0x02);
    uint8_t b[255];
    mode_sense6(fw, &t, 0, 0x08, 0x08, 0, 255, b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[2] & 0x80, 0x80);            /* WP in the header */
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_select_validation)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t list[64], orig[64];
    uint8_t n = echo_list(fw, orig);
    struct fw_task t;
    /* PF = 0 */
    memcpy(list, orig, n);
    mode_select6(fw, &t, 0, 0x00, list, n);
    fwh_expect_invalid_cdb(&t, 1, 4);
    /* parameter list length 0: nothing, no error */
    mode_select6(fw, &t, 0, 0x10, list, 0);
    fwh_expect_good(&t);
    /* shorter than the header */
    mode_select6(fw, &t, 0, 0x10, list, 3);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    /* block descriptor runs past the list */
    mode_select6(fw, &t, 0, 0x10, list, 8);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    /* page cut short */
    mode_select6(fw, &t, 0, 0x10, list, 4 + 8 + 10);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    /* changing an unchangeable field: queue algorithm modifier in the control page */
    memcpy(list, orig, n);
    list[4 + 8 + 20 + 3] = 0x00;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 4 + 8 + 20 + 3, 4);
    /* an unchangeable bit of the caching page (IC, bit 7 of byte 2) */
    memcpy(list, orig, n);
    list[4 + 8 + 2] |= 0x80;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 4 + 8 + 2, 7);
    /* wrong page length */
    memcpy(list, orig, n);
    list[4 + 8 + 1] = 0x10;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 4 + 8 + 1, -1);
    /* unsupported page */
    memcpy(list, orig, n);
    list[4 + 8] = 0x1c;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 4 + 8, 5);
    /* block descriptor with another block size, another capacity, bad length */
    memcpy(list, orig, n);
    scsi_put_be24(list + 4 + 5, 4096);
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 4 + 5, -1);
    memcpy(list, orig, n);
    scsi_put_be32(list + 4, 999);
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 4, -1);
    memcpy(list, orig, n);
    list[3] = 4;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 3, -1);
    /* medium type must be 0 */
    memcpy(list, orig, n);
    list[1] = 1;
    mode_select6(fw, &t, 0, 0x10, list, n);
    fwh_expect_invalid_param(&t, 1, -1);
    /* data-out shorter than the parameter list length */
    memcpy(list, orig, n);
    uint8_t cdb[6] = { SCSI_OP_MODE_SELECT_6, 0x10, 0, 0, n, 0 };
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_WRITE, list, (uint32_t)n - 1);
    fwh_expect_invalid_cdb(&t, 4, -1);
    /* no rejected list changed anything */
    uint8_t now[64];
    ck_assert_uint_eq(echo_list(fw, now), n);
    ck_assert(memcmp(now, orig, n) == 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_select10_with_long_descriptor)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[512];
    struct fw_task t;
    mode_sense10(fw, &t, 0x10, 0x08, 512, b);
    fwh_expect_good(&t);
    uint16_t n = (uint16_t)(scsi_get_be16(b) + 2);
    b[0] = b[1] = 0;
    b[3] = 0;                                         /* device-specific parameter ignored anyway */
    b[8 + 16 + 2] &= (uint8_t)~0x04;                  /* WCE off */
    uint8_t cdb[10] = { SCSI_OP_MODE_SELECT_10, 0x10 };
    scsi_put_be16(cdb + 7, n);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, b, n);
    fwh_expect_good(&t);
    bool on = true;
    ck_assert_int_eq(fw_get_write_cache(fw, 0, 0, &on), 0);
    ck_assert(!on);
    /* a reserved bit in the header */
    b[4] |= 0x02;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, b, n);
    fwh_expect_invalid_param(&t, 4, 1);
    /* long descriptor length without LONGLBA */
    b[4] = 0;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, b, n);
    fwh_expect_invalid_param(&t, 6, -1);
    fw_destroy(fw);
}
END_TEST

START_TEST(mode_change_raises_ua_for_other_nexuses)
{
    struct fw *fw = fwh_simple(1000);
    fwh_drain_ua(fw, 2, 0, 0);
    uint8_t list[64];
    uint8_t n = echo_list(fw, list);
    list[4 + 8 + 2] |= 0x01;                          /* RCD */
    struct fw_task t;
    mode_select6(fw, &t, 1, 0x10, list, n);           /* from initiator 1 */
    fwh_expect_good(&t);
    const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    fwh_run(fw, &t, 1, 0, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);                              /* not for the one who changed it */
    fwh_run(fw, &t, 0, 0, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x2a, 0x01);
    fwh_run(fw, &t, 0, 0, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_run(fw, &t, 2, 0, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x2a, 0x01);
    /* an echo that changes nothing raises nothing */
    mode_select6(fw, &t, 1, 0x10, list, n);
    fwh_expect_good(&t);
    fwh_run(fw, &t, 0, 0, 0, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fw_mode");
    TCase *tc = tcase_create("mode");
    tcase_add_test(tc, mode_sense6_all_pages);
    tcase_add_test(tc, mode_sense_dbd_and_alloc);
    tcase_add_test(tc, mode_sense10_long_lba);
    tcase_add_test(tc, mode_sense_huge_drive_short_descriptor);
    tcase_add_test(tc, mode_sense_page_control);
    tcase_add_test(tc, mode_sense_bad_pages);
    tcase_add_test(tc, mode_select_wce_off_flushes);
    tcase_add_test(tc, mode_select_saved_values_survive_power);
    tcase_add_test(tc, reset_restores_saved_values);
    tcase_add_test(tc, d_sense_gives_descriptor_sense);
    tcase_add_test(tc, swp_protects);
    tcase_add_test(tc, mode_select_validation);
    tcase_add_test(tc, mode_select10_with_long_descriptor);
    tcase_add_test(tc, mode_change_raises_ua_for_other_nexuses);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
