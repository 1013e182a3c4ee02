/* tests/test_fw_plugin.c — firmware plug-ins (sim/fw/fw_plugin_abi.h) in the
 * firmware itself: a plug-in's rows come before the built-in table (a
 * vendor opcode runs, a built-in command is overridden, service actions
 * select rows and an unknown one is refused precisely), the gates apply to
 * its rows (reserved bits, LBA range, write protect), handlers reach the
 * media and the sense builder through the API table and keep per-drive and
 * per-row state, REPORT SUPPORTED OPERATION CODES, VPD 00h and MODE SENSE
 * show its rows and pages; a bad plug-in is refused at load with a precise
 * error; a handler that returns garbage is answered HARDWARE ERROR 44h/00h
 * and the firmware goes on serving.  The plug-ins are tests/fixtures/fw_*.c
 * and examples/firmware-relink/, built by the Makefile. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"
#include "tests/support/proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char build_dir[900];

static void setup(void)
{
    proc_build_dir(build_dir, sizeof build_dir);
}

static char *fixture(const char *name)
{
    char *p = malloc(1024);
    ck_assert_ptr_nonnull(p);
    snprintf(p, 1024, "%s/tests/fixtures/%s.so", build_dir, name);
    return p;
}

/* One drive 0:0 of 2048 blocks with plug-in `name`, UAs drained. */
static struct fw *plugged(const char *name)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 2048, 512);
    cfg.firmware = fixture(name);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    return fw;
}

START_TEST(vendor_rows_state_and_service_actions)
{
    struct fw *fw = plugged("fw_api");
    struct fw_task t;
    uint8_t b[8];
    uint8_t count[10] = { 0xd0, 0x01, 0, 0, 0, 0, 0, 0, 4, 0 };
    for (uint32_t i = 1; i <= 3; i++) {
        memset(b, 0, sizeof b);
        fwh_run0(fw, &t, count, 10, HBA_FLAG_DIR_READ, b, 4);
        fwh_expect_good(&t);
        ck_assert_uint_eq(t.xfer, 4);
        ck_assert_uint_eq(scsi_get_be32(b), i);       /* per-drive state kept */
    }
    uint8_t rs[10] = { 0xd0, 0x02, 0, 0, 0, 0, 0, 0, 4, 0 };
    fwh_run0(fw, &t, rs, 10, HBA_FLAG_DIR_READ, b, 4);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 1);
    ck_assert_uint_eq(b[0], 0x5a);                   /* the row's state */
    uint8_t unknown_sa[10] = { 0xd0, 0x03, 0, 0, 0, 0, 0, 0, 4, 0 };
    fwh_run0(fw, &t, unknown_sa, 10, HBA_FLAG_DIR_READ, b, 4);
    fwh_expect_invalid_cdb(&t, 1, 4);                 /* known opcode, unknown service action */
    uint8_t reserved[10] = { 0xd0, 0x01, 0x01, 0, 0, 0, 0, 0, 4, 0 };
    fwh_run0(fw, &t, reserved, 10, HBA_FLAG_DIR_READ, b, 4);
    fwh_expect_invalid_cdb(&t, 2, 0);                 /* the row's usage bits: checked before it runs */
    uint8_t fieldc[6] = { 0xc9, 0, 0, 0, 0, 0 };
    fwh_run0(fw, &t, fieldc, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_invalid_cdb(&t, 2, 3);                 /* api->invalid_field */
    uint8_t still_unknown[6] = { 0xc0, 0, 0, 0, 0, 0 };
    fwh_run0(fw, &t, still_unknown, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(override_and_media)
{
    struct fw *fw = plugged("fw_api");
    struct fw_task t;
    uint8_t diag[6] = { 0x1d, 0x04, 0, 0, 0, 0 };
    fwh_run0(fw, &t, diag, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_HARDWARE_ERROR, 0x40, 0x80);   /* the plug-in's, not the built-in GOOD */
    uint8_t w[2 * 512], r[2 * 512];
    for (size_t i = 0; i < sizeof w; i++)
        w[i] = (uint8_t)(i * 7 + 3);
    uint8_t mw[10] = { 0xc8, 0, 0, 0, 0x01, 0x00, 0, 0, 2, 0 };   /* LBA 256, 2 blocks */
    fwh_run0(fw, &t, mw, 10, HBA_FLAG_DIR_WRITE, w, sizeof w);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, sizeof w);
    fwh_read(fw, 256, 2, r, 512);                     /* the built-in READ sees it */
    ck_assert_mem_eq(r, w, sizeof w);
    uint8_t out[10] = { 0xc8, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0 }; /* LBA 2047 + 2 blocks */
    fwh_run0(fw, &t, out, 10, HBA_FLAG_DIR_WRITE, w, sizeof w);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);  /* the range gate, before the handler */
    fwh_run0(fw, &t, mw, 10, HBA_FLAG_DIR_WRITE, w, 512);
    fwh_expect_invalid_cdb(&t, 7, -1);                /* data-out shorter than the CDB says */
    fw_destroy(fw);
}
END_TEST

START_TEST(rsoc_vpd_and_mode_pages)
{
    struct fw *fw = plugged("fw_api");
    struct fw_task t;
    uint8_t b[4096];
    /* one command, with service action: the row's usage data */
    uint8_t one[12] = { 0xa3, 0x0c, 0x02, 0xd0, 0x00, 0x01, 0, 0, 0, 64, 0, 0 };
    fwh_run0(fw, &t, one, 12, HBA_FLAG_DIR_READ, b, 64);
    fwh_expect_good(&t);
    const uint8_t want[] = { 0x00, 0x03, 0x00, 0x0a, 0xd0, 0x01, 0, 0, 0, 0, 0, 0, 0xff, 0xc0 };
    ck_assert_mem_eq(b, want, sizeof want);
    /* all commands: the plug-in's rows once, SEND DIAGNOSTIC once */
    uint8_t all[12] = { 0xa3, 0x0c, 0x00, 0, 0, 0, 0x00, 0x00, 0x10, 0x00, 0, 0 };
    fwh_run0(fw, &t, all, 12, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_good(&t);
    unsigned n = scsi_get_be32(b), diag = 0, d0 = 0, c8 = 0;
    for (unsigned off = 4; off + 8 <= 4 + n; off += 8) {
        diag += b[off] == 0x1d;
        d0 += b[off] == 0xd0;
        c8 += b[off] == 0xc8;
    }
    ck_assert_uint_eq(diag, 1);
    ck_assert_uint_eq(d0, 2);
    ck_assert_uint_eq(c8, 1);
    /* VPD 00h lists C1h in order; C1h is the plug-in's page */
    uint8_t vpd0[6] = { 0x12, 0x01, 0x00, 0x00, 0xff, 0x00 };
    fwh_run0(fw, &t, vpd0, 6, HBA_FLAG_DIR_READ, b, 255);
    fwh_expect_good(&t);
    const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2, 0xc1 };
    ck_assert_uint_eq(scsi_get_be16(b + 2), sizeof pages);
    ck_assert_mem_eq(b + 4, pages, sizeof pages);
    uint8_t vpdc1[6] = { 0x12, 0x01, 0xc1, 0x00, 0xff, 0x00 };
    fwh_run0(fw, &t, vpdc1, 6, HBA_FLAG_DIR_READ, b, 255);
    fwh_expect_good(&t);
    const uint8_t c1[] = { 0x00, 0xc1, 0x00, 0x06, 0, 0, 'A', 'P', 'I', '!' };
    ck_assert_uint_eq(t.xfer, sizeof c1);
    ck_assert_mem_eq(b, c1, sizeof c1);
    /* MODE SENSE of page 22h (default values: page control 2), and all pages */
    uint8_t ms[6] = { 0x1a, 0x08, 0x80 | 0x22, 0x00, 0xff, 0x00 };
    fwh_run0(fw, &t, ms, 6, HBA_FLAG_DIR_READ, b, 255);
    fwh_expect_good(&t);
    const uint8_t m22[] = { 0x07, 0x00, 0x10, 0x00, 0x22, 0x02, 0x02, 0x00 };
    ck_assert_uint_eq(t.xfer, sizeof m22);
    ck_assert_mem_eq(b, m22, sizeof m22);
    uint8_t msall[6] = { 0x1a, 0x08, 0x3f, 0x00, 0xff, 0x00 };
    fwh_run0(fw, &t, msall, 6, HBA_FLAG_DIR_READ, b, 255);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0] + 1u, 4 + 20 + 12 + 4);   /* caching, control, 22h */
    fw_destroy(fw);
}
END_TEST

/* A redirected stderr, to see the log line. */
static char *capture_stderr_begin(int *saved)
{
    char *path = strdup("/tmp/scsisim-fwplug-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    *saved = dup(2);
    dup2(fd, 2);
    close(fd);
    return path;
}

static char *capture_stderr_end(int saved, char *path)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1, 8192);
    size_t n = fread(text, 1, 8191, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    free(path);
    return text;
}

START_TEST(garbage_is_hardware_error_and_serving_goes_on)
{
    struct fw *fw = plugged("fw_garbage");
    struct fw_task t;
    uint8_t b[64];
    int saved;
    char *path = capture_stderr_begin(&saved);
    const uint8_t ops[] = { 0xc0, 0xc1, 0xc2, 0xc3, 0xc4 };
    for (size_t i = 0; i < sizeof ops; i++) {
        uint8_t cdb[6] = { ops[i], 0, 0, 0, ops[i] == 0xc2 ? 16 : 0, 0 };
        bool in = ops[i] == 0xc2;
        fwh_run0(fw, &t, cdb, 6, in ? HBA_FLAG_DIR_READ : HBA_FLAG_DIR_NONE, in ? b : NULL, in ? 32 : 0);
        fwh_expect_sense(&t, SCSI_SK_HARDWARE_ERROR, 0x44, 0x00);
        ck_assert_uint_eq(t.xfer, 0);
        /* and the next command is served normally */
        uint8_t fine[6] = { 0xc5, 0, 0, 0, 0, 0 };
        fwh_run0(fw, &t, fine, 6, HBA_FLAG_DIR_NONE, NULL, 0);
        fwh_expect_good(&t);
    }
    uint8_t vpd[6] = { 0x12, 0x01, 0xc5, 0x00, 0xff, 0x00 };
    fwh_run0(fw, &t, vpd, 6, HBA_FLAG_DIR_READ, b, 64);
    fwh_expect_sense(&t, SCSI_SK_HARDWARE_ERROR, 0x44, 0x00);
    uint8_t ms[6] = { 0x1a, 0x08, 0x3f, 0x00, 0xff, 0x00 };   /* the malformed 21h is left out */
    fwh_run0(fw, &t, ms, 6, HBA_FLAG_DIR_READ, b, 64);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0] + 1u, 4 + 20 + 12);
    char *log = capture_stderr_end(saved, path);
    ck_assert_msg(strstr(log, "firmware plug-in garbage fixture: opcode C0h (BAD STATUS): the handler returned "
                              "status 85"), "log: %s", log);
    ck_assert_msg(strstr(log, "opcode C1h (HUGE SENSE): the handler returned CHECK CONDITION with a sense length "
                              "of 300"), "log: %s", log);
    ck_assert_msg(strstr(log, "opcode C2h (TOO MUCH DATA)"), "log: %s", log);
    ck_assert_msg(strstr(log, "opcode C3h (NOT SENSE)"), "log: %s", log);
    ck_assert_msg(strstr(log, "opcode C4h (SENSE WITH GOOD)"), "log: %s", log);
    ck_assert_msg(strstr(log, "mode page 21h is malformed"), "log: %s", log);
    ck_assert_msg(strstr(log, "HARDWARE ERROR, INTERNAL TARGET FAILURE (04h/44h/00h)"), "log: %s", log);
    free(log);
    fw_destroy(fw);
}
END_TEST

static void expect_refused(const char *name, int want_rc, const char *needle)
{
    char *path = fixture(name);
    char err[1024] = "";
    ck_assert_int_eq(fw_plugin_check(path, err, sizeof err), want_rc);
    ck_assert_msg(strstr(err, needle) && strstr(err, path), "'%s' not in: %s", needle, err);
    /* and fw_create says the same */
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 64, 512);
    cfg.firmware = path;
    struct fw *fw = NULL;
    char err2[1024] = "";
    ck_assert_int_eq(fw_create(&cfg, &fw, err2, sizeof err2), want_rc);
    ck_assert_ptr_null(fw);
    ck_assert_str_eq(err2, err);
    fwh_config_free(&cfg);
}

START_TEST(bad_plugins_are_refused_at_load)
{
    expect_refused("fw_bad_abi", -EPROTO, "wrong firmware plug-in ABI version 42; this scsisim speaks version 1");
    expect_refused("fw_no_symbol", -ENOSYS, "missing symbol scsisim_fw_plugin");
    expect_refused("fw_no_handler", -EPROTO, "command row 1 (HALF DONE, opcode C1h): no handler");
    expect_refused("no_such_plugin", -ENOENT, "cannot load it as a firmware plug-in");
    /* a driver core is not a firmware plug-in */
    char *core = fixture("bad_abi"), err[1024];
    ck_assert_int_eq(fw_plugin_check(core, err, sizeof err), -ENOSYS);
    free(core);
}
END_TEST

START_TEST(relink_example_per_drive)
{
    /* Two drives: relinking one leaves the other's state alone. */
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 2);
    fwh_add_lu(&cfg, 0, 0, 64, 512);
    fwh_add_lu(&cfg, 0, 1, 64, 512);
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/firmware-relink/relink-fixed.so", build_dir);
    cfg.firmware = strdup(path);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 0, 0, 1);
    struct fw_task t;
    uint8_t drop[6] = { 0xc2, 0, 0, 0, 0, 0 }, relink[6] = { 0xc1, 0, 0, 0, 0, 0 };
    uint8_t vpd[6] = { 0x12, 0x01, 0xc0, 0x00, 0x08, 0x00 }, b[8];
    fwh_run(fw, &t, 0, 0, 0, drop, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_run(fw, &t, 0, 0, 1, drop, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_run(fw, &t, 0, 0, 0, relink, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_run(fw, &t, 0, 0, 0, vpd, 6, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[4], 1);
    fwh_run(fw, &t, 0, 0, 1, vpd, 6, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[4], 0);
    /* a power cycle brings the link up (the plug-in's power_on hook) */
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 1);
    fwh_run(fw, &t, 0, 0, 1, vpd, 6, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[4], 1);
    fw_destroy(fw);
}
END_TEST

START_TEST(empty_lun_stays_builtin)
{
    /* fw_api overrides nothing of INQUIRY, but its vendor rows must not run
     * for a LUN without a drive, and INQUIRY there is still 7Fh. */
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 2);
    fwh_add_lu(&cfg, 0, 0, 64, 512);
    cfg.firmware = fixture("fw_api");
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    struct fw_task t;
    uint8_t b[36];
    uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
    fwh_run(fw, &t, 0, 0, 1, inq, 6, HBA_FLAG_DIR_READ, b, 36);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0], 0x7f);
    uint8_t count[10] = { 0xd0, 0x01, 0, 0, 0, 0, 0, 0, 4, 0 };
    fwh_run(fw, &t, 0, 0, 1, count, 10, HBA_FLAG_DIR_READ, b, 4);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x25, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(no_plugin_no_change)
{
    /* Without a plug-in, vendor opcodes stay refused (the F6 traces of the suite). */
    struct fw *fw = fwh_simple(64);
    struct fw_task t;
    uint8_t relink[6] = { 0xc1, 0, 0, 0, 0, 0 };
    fwh_run0(fw, &t, relink, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_plugin");
    TCase *tc = tcase_create("plugin");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, vendor_rows_state_and_service_actions);
    tcase_add_test(tc, override_and_media);
    tcase_add_test(tc, rsoc_vpd_and_mode_pages);
    tcase_add_test(tc, garbage_is_hardware_error_and_serving_goes_on);
    tcase_add_test(tc, bad_plugins_are_refused_at_load);
    tcase_add_test(tc, relink_example_per_drive);
    tcase_add_test(tc, empty_lun_stays_builtin);
    tcase_add_test(tc, no_plugin_no_change);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
