/* tests/test_run_target_capture.c — a capture of a real target, replayed:
 * dumpcap records the loopback while libiscsi's iscsi-inq (standard data and
 * VPD 80h), iscsi-readcapacity16 and qemu-io (asynchronous writes, a flush,
 * reads that check the pattern) talk to tgt's tgtd; `scsisim import` turns
 * the capture into a trace (four sessions, four I_T nexuses, the device
 * inferred); the trace replays
 *   - against the simulator at the status level (the inferred device, and
 *     the judging of what a reply means: tgtd's 29h/00h is the simulator's
 *     29h/01h), and
 *   - against tgtd itself with --target at the exact level: every byte.
 * The tools are required: missing ones fail with "not installed". */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/dumpcap_proc.h"
#include "tests/support/proc.h"
#include "tests/support/tgtd_proc.h"

static void tool(const char *const *argv)
{
    char *out;
    int rc = proc_tool(argv, 30, &out);
    ck_assert_msg(rc == 0, "%s exited %d:\n%s", argv[0], rc, out);
    free(out);
}

START_TEST(tgtd_capture_replays_against_the_simulator_and_tgtd)
{
    static const char test[] = "tgtd_capture_replays_against_the_simulator_and_tgtd";
    ck_assert(proc_tool_present(test, "iscsi-inq", "apt-get install libiscsi-bin"));
    ck_assert(proc_tool_present(test, "iscsi-readcapacity16", "apt-get install libiscsi-bin"));
    ck_assert(proc_tool_present(test, "qemu-io", "apt-get install qemu-utils qemu-block-extra"));
    struct tgtd_proc t;
    tgtd_start(&t, test, 64);
    char cap[400], trace[400];
    snprintf(cap, sizeof cap, "%s/tgtd.pcapng", t.dir);
    snprintf(trace, sizeof trace, "%s/tgtd.trace", t.dir);
    pid_t dc = dumpcap_start(test, cap, t.port);
    const char *inq[] = { "iscsi-inq", t.url, NULL };
    const char *vpd80[] = { "iscsi-inq", "-e", "1", "-c", "128", t.url, NULL };
    const char *cap16[] = { "iscsi-readcapacity16", t.url, NULL };
    tool(inq);
    tool(vpd80);
    tool(cap16);
    const char *qemu[] = { "qemu-io", "-f", "raw", "-c", "aio_write -P 0x11 0 64k", "-c", "aio_write -P 0x22 64k 64k",
                           "-c", "aio_write -P 0x33 128k 4k", "-c", "aio_flush", "-c", "read -P 0x22 64k 64k",
                           "-c", "read -P 0x33 128k 4k", t.url, NULL };
    tool(qemu);
    dumpcap_stop(dc);

    struct proc_result r;
    const char *imp[] = { "import", cap, "-o", trace, NULL };
    proc_scsisim(imp, &r);
    ck_assert_msg(r.status == 0 && strstr(r.err, "4 connections"), "import exited %d: %s", r.status, r.err);
    proc_result_free(&r);
    FILE *f = fopen(trace, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "@drive 0:1 vendor=\"IET\" product=\"VIRTUAL-DISK\""), "%s", text);
    ck_assert_msg(strstr(text, "CMD 2a ") && strstr(text, "CMD 28 ") && strstr(text, "CMD 35 "), "%s", text);

    const char *sim[] = { "run", "--match", "status", trace, NULL };
    proc_scsisim(sim, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "1 passed, 0 failed"), "against the simulator: exit %d:\n%s%s",
                  r.status, r.out, r.err);
    proc_result_free(&r);
    /* The status level is what makes it pass: exact sees tgtd's own UA ASCQ. */
    const char *sim_exact[] = { "run", trace, NULL };
    proc_scsisim(sim_exact, &r);
    ck_assert_msg(r.status == 1 && strstr(r.out, "expected CHECK UNIT_ATTENTION/0x29/0x00, got CHECK "
                                           "UNIT_ATTENTION/0x29/0x01"), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);

    const char *back[] = { "run", "--target", t.url, trace, NULL };
    proc_scsisim(back, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "1 passed, 0 failed, 0 skipped"),
                  "against tgtd at exact level: exit %d:\n%s%s", r.status, r.out, r.err);
    proc_result_free(&r);
    tgtd_stop(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("run_target_capture");
    TCase *tc = tcase_create("run_target_capture");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, tgtd_capture_replays_against_the_simulator_and_tgtd);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
