/* tests/test_serve_tools.c — real initiators drive `scsisim serve` (the whole
 * stack): libiscsi's iscsi-inq, iscsi-readcapacity16 and iscsi-ls, and
 * qemu-io writing a pattern, flushing and reading it back.  A test whose
 * tool is not installed fails with "not installed: apt-get install PKG"
 * (.ci/run and mk/deps.sh install libiscsi-bin, qemu-utils and qemu-block-extra). */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/serve_proc.h"
#include "tests/support/proc.h"

#define LIBISCSI_HINT "apt-get install libiscsi-bin"

static struct serve_proc srv;

static void start(void)
{
    serve_start(&srv, NULL);
}

static void stop(void)
{
    int rc = serve_stop(&srv, SIGTERM);
    ck_assert_int_eq(rc, 0);
}

START_TEST(iscsi_inq_sees_the_firmwares_inquiry_data)
{
    if (!proc_tool_present("iscsi_inq", "iscsi-inq", LIBISCSI_HINT))
        return;
    const char *argv[] = { "iscsi-inq", srv.url, NULL };
    char *out;
    int rc = proc_tool(argv, 30, &out);
    ck_assert_msg(rc == 0, "iscsi-inq exited %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "Vendor:SCSISIM"), "%s", out);
    ck_assert_msg(strstr(out, "Product:SIM DISK"), "%s", out);
    ck_assert_msg(strstr(out, "Peripheral Device Type:DIRECT_ACCESS"), "%s", out);
    free(out);

    /* A VPD page, the firmware's too. */
    const char *vpd[] = { "iscsi-inq", "-e", "1", "-c", "0x80", srv.url, NULL };
    rc = proc_tool(vpd, 30, &out);
    ck_assert_msg(rc == 0, "iscsi-inq -e 1 -c 0x80 exited %d:\n%s", rc, out);
    free(out);
}
END_TEST

START_TEST(iscsi_readcapacity16_reports_512_mib_of_512_byte_blocks)
{
    if (!proc_tool_present("iscsi_readcapacity16", "iscsi-readcapacity16", LIBISCSI_HINT))
        return;
    const char *argv[] = { "iscsi-readcapacity16", srv.url, NULL };
    char *out;
    int rc = proc_tool(argv, 30, &out);
    ck_assert_msg(rc == 0, "iscsi-readcapacity16 exited %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "RETURNED LOGICAL BLOCK ADDRESS:1048575"), "%s", out);
    ck_assert_msg(strstr(out, "LOGICAL BLOCK LENGTH IN BYTES:512"), "%s", out);
    ck_assert_msg(strstr(out, "Total size:536870912"), "%s", out);
    free(out);
}
END_TEST

START_TEST(iscsi_ls_discovers_the_target)
{
    if (!proc_tool_present("iscsi_ls", "iscsi-ls", LIBISCSI_HINT))
        return;
    char portal[128], want[512];
    snprintf(portal, sizeof(portal), "iscsi://%s", srv.portal);
    snprintf(want, sizeof(want), "Target:%s Portal:%s,1", srv.iqn, srv.portal);
    const char *argv[] = { "iscsi-ls", portal, NULL };
    char *out;
    int rc = proc_tool(argv, 30, &out);
    ck_assert_msg(rc == 0, "iscsi-ls exited %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, want), "expected '%s' in:\n%s", want, out);
    free(out);
}
END_TEST

START_TEST(qemu_io_writes_flushes_and_reads_back_a_pattern)
{
    if (!proc_tool_present("qemu_io", "qemu-io", "apt-get install qemu-utils qemu-block-extra"))
        return;
    const char *argv[] = { "qemu-io", "-f", "raw", srv.url, "-c", "write -P 0xab 0 1M", "-c", "flush",
                           "-c", "read -P 0xab 0 1M", "-c", "read -P 0x00 1M 64k", NULL };
    char *out;
    int rc = proc_tool(argv, 60, &out);
    if (rc != 0 && strstr(out, "Unknown protocol")) {
        /* qemu-utils without qemu-block-extra has no iscsi driver. */
        free(out);
        ck_abort_msg("qemu_io: qemu-io's iscsi block driver not installed: apt-get install qemu-block-extra");
    }
    ck_assert_msg(rc == 0, "qemu-io exited %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "wrote 1048576/1048576 bytes at offset 0"), "%s", out);
    ck_assert_msg(strstr(out, "read 1048576/1048576 bytes at offset 0"), "%s", out);
    ck_assert_msg(strstr(out, "read 65536/65536 bytes at offset 1048576"), "%s", out);
    ck_assert_msg(!strstr(out, "Pattern verification failed"), "%s", out);
    free(out);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_tools");
    TCase *tc = tcase_create("tools");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, iscsi_inq_sees_the_firmwares_inquiry_data);
    tcase_add_test(tc, iscsi_readcapacity16_reports_512_mib_of_512_byte_blocks);
    tcase_add_test(tc, iscsi_ls_discovers_the_target);
    tcase_add_test(tc, qemu_io_writes_flushes_and_reads_back_a_pattern);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
