/* tests/test_replay_two_process.c — the replay with the controller in
 * another process (STACK_TWO_PROCESS, `scsisim run --two-process`): bundled
 * traces that cut and restore power, check the media, inject faults, raise
 * unit attentions, reset the host adapter, place IOVAs above 4 GiB and hand
 * the driver buffers in pieces all pass as they do in one process; a wrong
 * expectation still fails; layer-C traces are skipped with the reason; the
 * command line runs the same (a controller per trace, or one the user
 * started) and says when no controller listens. */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance/replay/replay.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/proc.h"

/* Bundled traces that need the controller's test control over the socket. */
static const char *const bundled[] = {
    "fieldbugs/F1-sync-cache-not-flushed.trace",     /* power-loss, power-on, check-media */
    "fieldbugs/F5-32bit-controller-iovas-above-4g.trace", /* @host iova-base, pieces */
    "fieldbugs/F5-129-pieces-128-sges.trace",        /* @host scatter, 129 pieces: bounce */
    "tur/controller-fault-recovered.trace",          /* inject fatal, recovery */
    "tur/queued-attentions-in-order.trace",          /* ua */
    "tur/host-reset-ua.trace",                       /* reset host */
    "fieldbugs/F2-inquiry-zero-filled.trace",        /* IOMMU faults reported by the driver */
};

static const char *trace_path(const char *rel, char *buf, size_t len)
{
    const char *root = getenv("SCSISIM_TRACES");
    snprintf(buf, len, "%s/%s", root && *root ? root : "traces", rel);
    return buf;
}

static void two_process(struct replay_options *o)
{
    rt_options(o);
    o->mode = STACK_TWO_PROCESS;
    o->scsisim_bin = proc_scsisim_bin(); /* the controller process: this build's scsisim */
}

START_TEST(bundled_traces_pass_with_a_spawned_controller)
{
    struct replay_options o;
    two_process(&o);
    char path[512];
    trace_path(bundled[_i], path, sizeof path);
    struct trace_run run;
    trace_run_init(&run);
    ck_assert_int_eq(replay_file(path, &o, &run), 0);
    ck_assert_uint_eq(run.n_files, 1);
    const struct trace_file_result *f = &run.files[0];
    for (size_t i = 0; i < f->n_checks; i++)
        ck_assert_msg(f->checks[i].pass, "%s:%u: %s", path, f->checks[i].line, f->checks[i].summary);
    ck_assert_msg(f->outcome == TRACE_OUTCOME_PASS, "%s: %s", path, trace_outcome_name(f->outcome));
    ck_assert_uint_gt(f->n_checks, 0);
    trace_run_free(&run);
}
END_TEST

/* The verdict still bites: a power cut after an unflushed write on a
 * controller without battery loses the data, and a trace that claims it
 * is intact fails at its check-media; one that expects the loss passes. */
START_TEST(wrong_expectations_still_fail)
{
    static const char base[] =
        "#!scsitrace 1\n"
        "@controller init-time=0\n"
        "@drive 0:0 capacity=1M write-cache=on battery=absent\n"
        "- H > - ua CMD 00 00 00 00 00 00\n"
        "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n"
        "- H > - w1 CMD 2a 00 00 00 00 00 00 00 08 00 len=4096 dir=out\n"
        "- H > - w1 DOUT 5a*4096\n"
        "- H < - w1 STATUS GOOD\n"
        "- H ! - - power-loss\n"
        "- H ! - - power-on\n"
        "- H ! - - check-media expect=%s\n";
    struct replay_options o;
    two_process(&o);
    char text[1024];
    snprintf(text, sizeof text, base, "intact");
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    ck_assert(!rt_check(f, 11)->pass);
    ck_assert(rt_check(f, 6)->pass);
    trace_run_free(&run);

    snprintf(text, sizeof text, base, "lost-unflushed");
    trace_run_init(&run);
    f = rt_replay(text, &o, &run);
    ck_assert_msg(f->outcome == TRACE_OUTCOME_PASS, "%zu failed", rt_failed(f));
    trace_run_free(&run);
}
END_TEST

START_TEST(layer_c_is_skipped_with_the_reason)
{
    struct replay_options o;
    two_process(&o);
    ck_assert(!replay_has_feature(&o, "controller-layer"));
    ck_assert(replay_has_feature(&o, "power-cycle"));
    ck_assert(replay_has_feature(&o, "media-check"));
    ck_assert(replay_has_feature(&o, "fault-injection"));
    ck_assert(replay_has_feature(&o, "simulator"));
    char path[512];
    trace_path("read-write/split-seen-at-controller.trace", path, sizeof path);
    struct trace_run run;
    trace_run_init(&run);
    ck_assert_int_eq(replay_file(path, &o, &run), 0);
    const struct trace_file_result *f = &run.files[0];
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_SKIP);
    ck_assert_ptr_nonnull(f->reason);
    ck_assert_msg(strstr(f->reason, "controller-layer") && strstr(f->reason, "works only in one process"), "%s",
                  f->reason);
    trace_run_free(&run);
    /* In one process the same trace runs. */
    rt_options(&o);
    ck_assert(replay_has_feature(&o, "controller-layer"));
}
END_TEST

START_TEST(command_line_two_process)
{
    char a[512], b[512], c[512];
    trace_path("fieldbugs/F7-iovas-above-4g-32bit.trace", a, sizeof a);
    trace_path("sync-cache/sc16-range-at-controller.trace", b, sizeof b);
    trace_path("fieldbugs/F5B-fua-write-dropped.trace", c, sizeof c);
    const char *argv[] = { "run", "--two-process", "-j", "2", a, b, c, NULL };
    struct proc_result r;
    proc_scsisim(argv, &r);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "3 traces: 2 passed, 0 failed, 1 skipped"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "SKIP") && strstr(r.out, "sc16-range-at-controller"), "%s", r.out);
    proc_result_free(&r);

    /* Nobody listening at the socket given: exit 3, the socket named. */
    const char *argv2[] = { "run", "--two-process=/nonexistent/ctrl.sock", a, NULL };
    proc_scsisim(argv2, &r);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "--two-process") && strstr(r.err, "/nonexistent/ctrl.sock"), "%s", r.err);
    proc_result_free(&r);
}
END_TEST

/* --two-process=SOCKET: a controller the user started (`scsisim controller`,
 * its own configuration); the trace runs against it. */
START_TEST(command_line_external_controller)
{
    char dir[64];
    proc_tmpdir(dir, sizeof dir, "rt-2p");
    char sock[256], trace[256];
    snprintf(sock, sizeof sock, "%s/ctrl.sock", dir);
    snprintf(trace, sizeof trace, "%s/t.trace", dir);
    FILE *f = fopen(trace, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n"
          "- H > - ua CMD 00 00 00 00 00 00\n"
          "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n"
          "- H > - w1 CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out pieces=2\n"
          "- H > - w1 DOUT 3c*512\n"
          "- H < - w1 STATUS GOOD\n"
          "- H > - r1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"
          "- H < - r1 DIN 3c*512\n"
          "- H < - r1 STATUS GOOD\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    const char *ctl[] = { proc_scsisim_bin(), "controller", "--socket", sock, "--set", "init-time=0", NULL };
    pid_t pid = proc_spawn(ctl, -1, STDERR_FILENO, 0);
    struct stat st;
    TESTUTIL_WAIT_FOR(stat(sock, &st) == 0);
    ck_assert_msg(stat(sock, &st) == 0, "scsisim controller never made %s", sock);
    char arg[300];
    snprintf(arg, sizeof arg, "--two-process=%s", sock);
    const char *argv[] = { "run", arg, "-j", "2", trace, NULL };
    struct proc_result r;
    proc_scsisim(argv, &r);
    kill(pid, SIGTERM);
    proc_wait(pid, -1);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "1 trace: 1 passed"), "%s", r.out);
    proc_result_free(&r);
    proc_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("replay_two_process");
    TCase *t = tcase_create("two_process");
    tcase_set_timeout(t, 30);
    tcase_add_loop_test(t, bundled_traces_pass_with_a_spawned_controller, 0,
                        (int)(sizeof bundled / sizeof bundled[0]));
    tcase_add_test(t, wrong_expectations_still_fail);
    tcase_add_test(t, layer_c_is_skipped_with_the_reason);
    tcase_add_test(t, command_line_two_process);
    tcase_add_test(t, command_line_external_controller);
    suite_add_tcase(s, t);
    return testutil_run(s);
}
