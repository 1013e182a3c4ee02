/* tests/test_run_target_capture.c — captures of real peers, replayed.
 * dumpcap records the loopback while libiscsi's iscsi-inq (standard data,
 * VPD 80h and 83h), iscsi-readcapacity16, a subset of iscsi-test-cu
 * (SCSI.Inquiry, SCSI.ReadCapacity16, SCSI.Read10) and qemu-io (concurrent
 * asynchronous writes, a flush, reads that check the pattern) talk to a
 * target; `scsisim import` turns the capture into a trace (one I_T nexus
 * per session, the device inferred, serials and designators masked as ??);
 * the trace replays against the same target with --target at the exact
 * level: every byte not masked, and it passes.  Two targets:
 *   - tgt's tgtd, whose capture also replays against the simulator at the
 *     status level (the inferred device, and the judging of what a reply
 *     means: tgtd's 29h/00h is the simulator's 29h/01h) — and at the exact
 *     level it does not, which shows what the level does;
 *   - `scsisim serve`.
 * qemu-io writes 8 MiB into the disk, away from the blocks iscsi-test-cu
 * reads, so the replay (which writes the same data again) reads what the
 * capture read.  The tools are required: missing ones fail with "not
 * installed". */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/dumpcap_proc.h"
#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"
#include "tests/support/tgtd_proc.h"

static void tool(const char *const *argv)
{
    char *out;
    int rc = proc_tool(argv, 120, &out);
    ck_assert_msg(rc == 0, "%s exited %d:\n%.4000s", argv[0], rc, out);
    free(out);
}

static void require_tools(const char *test)
{
    ck_assert(proc_tool_present(test, "iscsi-inq", "apt-get install libiscsi-bin"));
    ck_assert(proc_tool_present(test, "iscsi-readcapacity16", "apt-get install libiscsi-bin"));
    ck_assert(proc_tool_present(test, "iscsi-test-cu", "apt-get install libiscsi-bin"));
    ck_assert(proc_tool_present(test, "qemu-io", "apt-get install qemu-utils qemu-block-extra"));
}

/* The peers' session against url, captured into cap; false when the
 * capture lost packets (a starved dumpcap: the kernel's buffer overflowed). */
static bool session_once(const char *test, const char *url, int port, const char *cap)
{
    pid_t dc = dumpcap_start(test, cap, port);
    const char *inq[] = { "iscsi-inq", url, NULL };
    const char *vpd80[] = { "iscsi-inq", "-e", "1", "-c", "128", url, NULL };
    const char *vpd83[] = { "iscsi-inq", "-e", "1", "-c", "131", url, NULL };
    const char *cap16[] = { "iscsi-readcapacity16", url, NULL };
    tool(inq);
    tool(vpd80);
    tool(vpd83);
    tool(cap16);
    /* -f: a failing test exits non-zero (tool() then fails with its output) */
    const char *cu[] = { "iscsi-test-cu", "-f", "-s", "-t", "SCSI.Inquiry,SCSI.ReadCapacity16,SCSI.Read10", url, NULL };
    tool(cu);
    const char *qemu[] = { "qemu-io", "-f", "raw", "-c", "aio_write -P 0x11 8M 64k", "-c", "aio_write -P 0x22 8256k 64k",
                           "-c", "aio_write -P 0x33 8320k 4k", "-c", "aio_flush", "-c", "read -P 0x22 8256k 64k",
                           "-c", "read -P 0x33 8320k 4k", url, NULL };
    tool(qemu);
    unsigned long dropped = dumpcap_stop(dc, cap);
    if (dropped)
        fprintf(stderr, "%s: the capture lost %lu packets (dumpcap starved); taking the session again\n", test,
                dropped);
    return dropped == 0;
}

/* The session, taken again (at most three times in all) while the capture
 * loses packets: what is judged here is the import and the replay, which need
 * every packet, not dumpcap's speed on a loaded machine. */
static void session(const char *test, const char *url, int port, const char *cap)
{
    for (int attempt = 1; attempt <= 3; attempt++)
        if (session_once(test, url, port, cap))
            return;
    ck_abort_msg("%s: three captures of the session each lost packets (see %s.err): the machine is too loaded for "
                 "dumpcap to keep up", test, cap);
}

/* The number written just before word in text ("9 connections"), or 0. */
static unsigned long count_before(const char *text, const char *word)
{
    const char *w = strstr(text, word);
    if (!w)
        return 0;
    const char *d = w;
    while (d > text && d[-1] >= '0' && d[-1] <= '9')
        d--;
    return strtoul(d, NULL, 10);
}

static char *import(const char *cap, const char *trace)
{
    struct proc_result r;
    const char *imp[] = { "import", cap, "-o", trace, NULL };
    proc_scsisim(imp, &r);
    ck_assert_msg(r.status == 0, "import exited %d: %s", r.status, r.err);
    /* iscsi-test-cu's 17 tests alone send over a thousand commands, on
     * sessions of their own */
    unsigned long conns = count_before(r.err, " connections,"), cmds = count_before(r.err, " commands (");
    ck_assert_msg(conns >= 8 && cmds >= 1000, "import: %s", r.err);
    ck_assert_msg(strstr(r.err, "(0 without a response), 0 with data not captured"),
                  "the capture lost packets (did dumpcap drop some? see the .err file next to it): %s", r.err);
    fprintf(stderr, "%s", r.err);
    proc_result_free(&r);
    FILE *f = fopen(trace, "r");
    ck_assert_ptr_nonnull(f);
    static char text[8 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "CMD 2a ") && strstr(text, "CMD 28 ") && strstr(text, "CMD 35 "), "%.4000s", text);
    ck_assert_msg(strstr(text, "CMD 9e 10"), "no READ CAPACITY (16)");
    for (const char *l = strstr(text, "# capture:"); l; l = strstr(l + 1, "# capture:"))
        fprintf(stderr, "%.*s\n", (int)strcspn(l, "\n"), l);
    /* the importer's masks: the serial (VPD 80h) and the designators (83h) */
    ck_assert_msg(strstr(text, "(VPD 80h unit serial number) written as ?? on purpose"), "%.4000s", text);
    ck_assert_msg(strstr(text, "(VPD 83h designators"), "%.4000s", text);
    return text;
}

static void replay(const char *what, const char *const *argv, int want, const char *needle)
{
    struct proc_result r;
    proc_scsisim(argv, &r);
    ck_assert_msg(r.status == want && strstr(r.out, needle), "%s: exit %d (want %d, '%s'):\n%.6000s%.2000s", what,
                  r.status, want, needle, r.out, r.err);
    proc_result_free(&r);
}

START_TEST(tgtd_capture_replays_against_tgtd_and_the_simulator)
{
    static const char test[] = "tgtd_capture_replays_against_tgtd_and_the_simulator";
    require_tools(test);
    struct tgtd_proc t;
    tgtd_start(&t, test, 64);
    char cap[400], trace[400];
    snprintf(cap, sizeof cap, "%s/tgtd.pcapng", t.dir);
    snprintf(trace, sizeof trace, "%s/tgtd.trace", t.dir);
    session(test, t.url, t.port, cap);
    const char *text = import(cap, trace);
    ck_assert_msg(strstr(text, "@drive 0:1 vendor=\"IET\" product=\"VIRTUAL-DISK\""), "%.4000s", text);

    const char *back[] = { "run", "--target", t.url, trace, NULL };
    replay("against tgtd at the exact level", back, 0, "1 passed, 0 failed, 0 skipped");
    const char *sim[] = { "run", "--match", "status", trace, NULL };
    replay("against the simulator at the status level", sim, 0, "1 passed, 0 failed");
    /* The status level is what makes it pass: exact sees tgtd's own UA ASCQ. */
    const char *sim_exact[] = { "run", trace, NULL };
    replay("against the simulator at the exact level", sim_exact, 1,
           "expected CHECK UNIT_ATTENTION/0x29/0x00, got CHECK UNIT_ATTENTION/0x29/0x01");
    /* The level can travel with the trace: import --match writes @match,
     * which a run without --match uses and a run's --match overrides. */
    char status_trace[400];
    snprintf(status_trace, sizeof status_trace, "%s/tgtd-status.trace", t.dir);
    struct proc_result r;
    const char *imp[] = { "import", "--match", "status", cap, "-o", status_trace, NULL };
    proc_scsisim(imp, &r);
    ck_assert_msg(r.status == 0, "import --match exited %d: %s", r.status, r.err);
    proc_result_free(&r);
    const char *sim_own[] = { "run", status_trace, NULL };
    replay("@match status against the simulator", sim_own, 0, "1 passed, 0 failed");
    const char *sim_override[] = { "run", "--match", "exact", status_trace, NULL };
    replay("@match status overridden by --match exact", sim_override, 1, "expected CHECK UNIT_ATTENTION/0x29/0x00");
    tgtd_stop(&t);
}
END_TEST

START_TEST(serve_capture_replays_against_serve)
{
    static const char test[] = "serve_capture_replays_against_serve";
    require_tools(test);
    char dir[256], cap[400], trace[400];
    proc_tmpdir(dir, sizeof dir, "serve-capture");
    snprintf(cap, sizeof cap, "%s/serve.pcapng", dir);
    snprintf(trace, sizeof trace, "%s/serve.trace", dir);
    const char *args[] = { "--drive", "0:0,capacity=64M,serial=FIELD0042", NULL };
    struct serve_proc srv;
    serve_start(&srv, args);
    session(test, srv.url, srv.port, cap);
    const char *text = import(cap, trace);
    ck_assert_msg(strstr(text, "serial=\"FIELD0042\""), "%.4000s", text);
    const char *back[] = { "run", "--target", srv.url, trace, NULL };
    replay("against scsisim serve at the exact level", back, 0, "1 passed, 0 failed, 0 skipped");
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
    proc_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("run_target_capture");
    TCase *tc = tcase_create("run_target_capture");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, tgtd_capture_replays_against_tgtd_and_the_simulator);
    tcase_add_test(tc, serve_capture_replays_against_serve);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
