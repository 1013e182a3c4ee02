/* tests/test_fw_tpg.c — target ports and ALUA (sim/fw/fw_tpg.c): with two
 * ports, standard INQUIRY says TPGS 01b, VPD 83h carries the relative target
 * port and target port group designators of the port the command arrived
 * on, REPORT TARGET PORT GROUPS lists both groups active/optimized (both
 * parameter data formats) and REPORT SUPPORTED OPERATION CODES lists it;
 * a malformed RTPG gets the field pointer; with one port nothing of this
 * shows (the single-port firmware is what it was). */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

static struct fw *two_ports(void)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 4, 4);
    cfg.target_ports = 2;
    fwh_add_lu(&cfg, 0, 0, 2048, 512);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 1, 0, 0);
    return fw;
}

/* One command from initiator ini through port (0-based). */
static void run_port(struct fw *fw, struct fw_task *t, uint16_t ini, uint16_t port, const uint8_t *cdb,
                     uint8_t len, void *data, uint32_t dlen)
{
    memset(t, 0, sizeof(*t));
    t->initiator = ini;
    t->target_port = port;
    t->cdb = cdb;
    t->cdb_len = len;
    t->dir = dlen ? HBA_FLAG_DIR_READ : HBA_FLAG_DIR_NONE;
    t->data = data;
    t->data_len = dlen;
    fw_execute(fw, t);
}

/* The (association target port) designator of type `type` in a VPD 83h page; -1 if absent. */
static int port_designator(const uint8_t *p, size_t n, uint8_t type)
{
    size_t end = 4 + scsi_get_be16(p + 2);
    for (size_t at = 4; at + 4 <= end && at + 4 <= n; at += 4u + p[at + 3])
        if ((p[at + 1] & 0x30) == 0x10 && (p[at + 1] & 0x0f) == type) {
            ck_assert_uint_eq(p[at + 3], 4);
            return (int)scsi_get_be16(p + at + 6);
        }
    return -1;
}

START_TEST(inquiry_and_vpd_per_port)
{
    struct fw *fw = two_ports();
    uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, b[96];
    struct fw_task t;
    run_port(fw, &t, 0, 0, inq, 6, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[5] & 0x30, 0x10);              /* TPGS 01b: implicit ALUA */
    uint8_t vpd[6] = { 0x12, 1, 0x83, 0, 255, 0 }, p[255];
    for (uint16_t port = 0; port < 2; port++) {
        memset(p, 0, sizeof p);
        run_port(fw, &t, 1, port, vpd, 6, p, sizeof p);
        fwh_expect_good(&t);
        ck_assert_int_eq(port_designator(p, t.xfer, 4), port + 1);   /* relative target port */
        ck_assert_int_eq(port_designator(p, t.xfer, 5), port + 1);   /* its target port group */
        ck_assert_uint_eq(p[4 + 1], 0x03);                            /* the LU's NAA stays first */
    }
    fw_destroy(fw);
}
END_TEST

START_TEST(rtpg_both_formats)
{
    struct fw *fw = two_ports();
    uint8_t cdb[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 }, b[256];
    struct fw_task t;
    memset(b, 0xee, sizeof b);
    run_port(fw, &t, 0, 1, cdb, 12, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 4 + 2 * 12);
    ck_assert_uint_eq(scsi_get_be32(b), 24);
    for (unsigned g = 0; g < 2; g++) {
        const uint8_t *d = b + 4 + 12 * g;
        ck_assert_uint_eq(d[0] & 0x0f, 0);                  /* active/optimized */
        ck_assert_uint_eq(d[1], 0x01);                      /* AO_SUP only */
        ck_assert_uint_eq(scsi_get_be16(d + 2), g + 1);     /* group */
        ck_assert_uint_eq(d[7], 1);                         /* one port */
        ck_assert_uint_eq(scsi_get_be16(d + 10), g + 1);    /* relative target port */
    }
    cdb[1] = 0x20 | 0x0a;                                   /* extended header */
    run_port(fw, &t, 0, 0, cdb, 12, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 8 + 2 * 12);
    ck_assert_uint_eq(scsi_get_be32(b), 28);
    ck_assert_uint_eq(b[4], 0x10);                          /* FORMAT TYPE 001b */
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 12 + 2), 2);
    cdb[1] = 0x0a;                                          /* a short allocation: a residual */
    cdb[9] = 8;
    run_port(fw, &t, 0, 0, cdb, 12, b, 8);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 8);
    fw_destroy(fw);
}
END_TEST

START_TEST(rtpg_malformed)
{
    struct fw *fw = two_ports();
    uint8_t b[64];
    struct fw_task t;
    uint8_t fmt[12] = { 0xa3, 0x40 | 0x0a, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0 };   /* format 010b */
    run_port(fw, &t, 0, 0, fmt, 12, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 1, 7);
    uint8_t rsvd[12] = { 0xa3, 0x0a, 0x01, 0, 0, 0, 0, 0, 0, 64, 0, 0 };      /* reserved byte 2 */
    run_port(fw, &t, 0, 0, rsvd, 12, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 2, 0);
    uint8_t b10[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0, 64, 0x80, 0 };       /* reserved byte 10 */
    run_port(fw, &t, 0, 0, b10, 12, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 10, 7);
    fw_destroy(fw);
}
END_TEST

/* RSOC lists RTPG with its usage data with two ports, and not with one. */
START_TEST(rsoc_and_single_port)
{
    struct fw *fw = two_ports();
    uint8_t one[12] = { 0xa3, 0x0c, 0x02, 0xa3, 0x00, 0x0a, 0, 0, 0, 64, 0, 0 }, b[64];
    struct fw_task t;
    run_port(fw, &t, 0, 0, one, 12, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[1] & 0x07, 0x03);                   /* supported */
    ck_assert_uint_eq(scsi_get_be16(b + 2), 12);
    ck_assert_uint_eq(b[4], 0xa3);
    ck_assert_uint_eq(b[5], 0xe0 | 0x0a);                   /* PARAMETER DATA FORMAT settable */
    fw_destroy(fw);

    fw = fwh_simple(2048);                                  /* one port */
    fwh_run0(fw, &t, one, 12, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[1] & 0x07, 0x01);                   /* not supported */
    uint8_t rtpg[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0 };
    fwh_run0(fw, &t, rtpg, 12, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 1, 4);                       /* unknown service action */
    uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, s[96];
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_READ, s, sizeof s);
    ck_assert_uint_eq(s[5] & 0x30, 0);                      /* TPGS 0 */
    uint8_t vpd[6] = { 0x12, 1, 0x83, 0, 255, 0 }, p[255];
    fwh_run0(fw, &t, vpd, 6, HBA_FLAG_DIR_READ, p, sizeof p);
    ck_assert_int_eq(port_designator(p, t.xfer, 4), -1);
    fw_destroy(fw);
}
END_TEST

/* The configuration refuses more ports than the datasheet has. */
START_TEST(too_many_ports)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 4, 4);
    cfg.target_ports = HBA_MAX_TARGET_PORTS + 1;
    fwh_add_lu(&cfg, 0, 0, 2048, 512);
    struct fw *fw = NULL;
    char err[256] = "";
    ck_assert_int_lt(fw_create(&cfg, &fw, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "target_ports"));
    fwh_config_free(&cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_tpg");
    TCase *tc = tcase_create("tpg");
    tcase_add_test(tc, inquiry_and_vpd_per_port);
    tcase_add_test(tc, rtpg_both_formats);
    tcase_add_test(tc, rtpg_malformed);
    tcase_add_test(tc, rsoc_and_single_port);
    tcase_add_test(tc, too_many_ports);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
