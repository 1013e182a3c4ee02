/* tests/test_rogue.c — the rogue directive (conformance/directive/rogue.c):
 * every malformed argument is an error at its column, and a replay judges
 * the controller's answer: what the datasheet says passes, anything else is
 * a failed controller check that names the expectation — also when the
 * controller's defence is really missing (an IOMMU that drops faults), and
 * the commands after it still run through the driver core; a controller
 * built with a defence broken fails the bundled trace. */
#include "tests/support/testutil.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/trace_testutil.h"

struct bad_arg {
    const char *line;
    unsigned col;
    const char *fragment;
};

static const struct bad_arg bad[] = {
    { "- C ! - - rogue", 16, "rogue needs an action: admin, io, sq-tail, cq-head" },
    { "- C ! - - rogue adm expect=success", 17, "did you mean 'admin'?" },
    { "- C ! - - rogue admin", 22, "rogue admin needs an opcode" },
    { "- C ! - - rogue admin 0x100 expect=success", 23, "too large" },
    { "- C ! - - rogue admin identfy expect=success", 23, "did you mean 'identify'?" },
    { "- C ! - - rogue admin identify", 31, "rogue needs expect=STATUS or expect=fault:CODE" },
    { "- C ! - - rogue admin identify junk expect=success", 32, "unexpected 'junk'; rogue admin takes key=value" },
    { "- C ! - - rogue admin identify expect=bogus", 39, "controller status (or fault:CODE)" },
    { "- C ! - - rogue admin identify expect=invalid-feld", 39, "did you mean 'invalid-field'?" },
    { "- C ! - - rogue admin identify expect=fault:dorbell", 45, "did you mean 'doorbell'?" },
    { "- C ! - - rogue admin identify expect=success expect=success", 47, "expect= given twice" },
    { "- C ! - - rogue io target=1 cdw0=1 expect=success", 29, "rogue io has no option 'cdw0'" },
    { "- C ! - - rogue io target=1 target=2 expect=success", 29, "target= given twice" },
    { "- C ! - - rogue io len=999999 expect=success", 24, "too large" },
    { "- C ! - - rogue io target=x expect=success", 27, "target" },
    { "- C ! - - rogue io addr=0x1000 offset=4 expect=success", 32, "addr= and offset= both place the SGE" },
    { "- C ! - - rogue io list=2 chain=2 expect=success", 27, "list= and chain= both write the segment list" },
    { "- C ! - - rogue sq-tail 1", 26, "rogue sq-tail needs the value to write" },
    { "- C ! - - rogue cq-head", 24, "rogue cq-head needs a queue id and a value" },
    { "- C ! - - rogue sq-tail 64 1 expect=success", 25, "too large" },
    { "- C ! - - rogue write 0x3 1 expect=success", 23, "register offset 0x3 is not a multiple of 4" },
    { "- C ! - - rogue write 0x0 1 reg=0 expect=success", 29, "reg=OFFSET and read=VALUE go together" },
    { "- C ! - - rogue hard-reset keys=1,5 expect=success", 35, "keys= is a list like 1,2,3,4" },
    { "- C ! - - rogue hard-reset keys=1, expect=success", 35, "keys= needs a key after each ','" },
    { "- C ! - - rogue hard-reset fault-first=1 keys=1,2 expect=success", 42, "fault-first=1 needs keys" },
    { "- C ! - - rogue enable sq-size=70000 expect=success", 32, "too large" },
    { "- C ! - - rogue enable cdw0=1 expect=success", 24, "rogue enable has no option 'cdw0'" },
    { "- C ! - - rogue io then=abort,delte-sq expect=success", 31, "did you mean 'delete-sq'?" },
    { "- C ! - - rogue io then=abort, expect=success", 31, "then= steps are delete-sq, abort, reset, reset-other, reset-lun" },
    { "- C ! - - rogue io then=reset,reset,reset,reset expect=success", 43, "then= has at most 3 steps" },
    { "- C ! - - rogue admin identify at=0x10 expect=success", 32, "at=OFFSET and is=VALUE go together" },
    { "- C ! - - rogue io polled=2 expect=success", 27, "too large" },
    { "- C ! - - rogue admin identify polled=1 expect=success", 32, "rogue admin has no option 'polled'" },
    { "- C ! - - rogue io then=abort cq-full=1 expect=success", 31, "cq-full=1 waits for every entry's completion" },
    { "- C ! - - rogue io cq-full=1 wait=1 expect=success", 20, "it takes no then=, wait= or same-cid=" },
    { "- C ! - - rogue io int-wait=3 then=abort expect=success", 20, "int-wait= judges the interrupts of the entries" },
};

START_TEST(bad_argument_is_located)
{
    char why[512];
    ck_assert_msg(tt_line_fails_at(bad[_i].line, bad[_i].col, bad[_i].fragment, why, sizeof why), "%s: %s",
                  bad[_i].line, why);
}
END_TEST

#define HDR                                                                                                     \
    "#!scsitrace 1\n@requires controller-layer\n@controller init-time=0\n@drive 0:0 capacity=1M\n"

/* What the datasheet says passes, and the driver core brings the controller
 * back for the host's commands (lines 9-12). */
START_TEST(datasheet_answers_pass_and_the_core_recovers)
{
    static const char text[] = HDR
        "- C ! - - rogue admin 0x7f expect=invalid-opcode\n"                                  /* 5 */
        "- C ! - - rogue admin create-cq cdw0=9 cdw1=2 cdw2=1 expect=invalid-queue\n"        /* 6 */
        "- C ! - - rogue sq-tail 1 64 expect=fault:doorbell\n"                                /* 7 */
        "- C ! - - rogue admin get-log cdw0=1 len=16 expect=success count=0 total=0 result=16\n" /* 8 */
        "- H > - t1 CMD 00 00 00 00 00 00\n"                                                 /* 9 */
        "- H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "- H > - t2 CMD 00 00 00 00 00 00\n"                                                 /* 11 */
        "- H < - t2 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(f->n_checks, 6);
    rt_assert_passed(f);
    ck_assert_uint_eq(rt_check(f, 7)->kind, TRACE_CHECK_CONTROLLER);
    trace_run_free(&run);
}
END_TEST

/* A wrong expectation fails its check with the datasheet's answer and the
 * controller's; the other checks are untouched. */
START_TEST(a_different_answer_fails_naming_both)
{
    static const char text[] = HDR
        "- C ! - - rogue admin 0x7f expect=invalid-field\n"              /* 5 */
        "- C ! - - rogue sq-tail 1 63 expect=fault:doorbell\n"            /* 6 */
        "- C ! - - rogue admin identify len=100 expect=success result=256\n" /* 7 */
        "- C ! - - rogue admin identify len=100 expect=success result=100\n"; /* 8 */
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(f->n_checks, 4);
    ck_assert_uint_eq(rt_failed(f), 3);
    const struct trace_check *c = rt_check(f, 5);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->kind, TRACE_CHECK_CONTROLLER);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_CONTROLLER);
    ck_assert_msg(strstr(c->summary, "answered completion status invalid-opcode (0x1); the datasheet says "
                                     "completion status invalid-field (0x2)"), "%s", c->summary);
    ck_assert_str_eq(c->detail->expected, "completion status invalid-field (0x2)");
    c = rt_check(f, 6);
    ck_assert_msg(strstr(c->summary, "answered completion status success (0); the datasheet says FAULT "
                                     "(FAULT_CODE doorbell)"), "%s", c->summary);
    c = rt_check(f, 7);
    ck_assert_msg(strstr(c->summary, "the completion's result is 0x64; the datasheet says 0x100"), "%s", c->summary);
    ck_assert(rt_check(f, 8)->pass);
    trace_run_free(&run);
}
END_TEST

/* polled=1 and cq-full=1 judge interrupts: a polled CQ leaves INT_STATUS
 * clear, so a trace that expects vector 1's bit fails naming what it read;
 * a full CQ raises nothing until its head moves, then everything is taken
 * (68 completions) and vector 1 is raised. */
START_TEST(polled_and_full_cqs_judge_interrupts)
{
    static const char text[] = HDR
        "- C ! - - rogue io times=2 polled=1 int-status=2 expect=success\n"       /* 5 */
        "- C ! - - rogue io times=5 cq-full=1 int-status=3 expect=success\n";     /* 6 */
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(f->n_checks, 2);
    const struct trace_check *c = rt_check(f, 5);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "INT_STATUS is 0; the datasheet says 0x2"), "%s", c->summary);
    ck_assert(rt_check(f, 6)->pass);
    trace_run_free(&run);
}
END_TEST

/* A controller whose defence is missing fails the trace: with the drop
 * policy (field bug F2's IOMMU) DMA to an unmapped IOVA is silently lost, so
 * the abort the default policy gives never comes; and a hard reset without
 * the key sequence is a check that fails when a trace expects it to work. */
START_TEST(a_missing_defence_fails_the_trace)
{
    static const char text[] = "#!scsitrace 1\n@requires controller-layer\n"
                               "@controller init-time=0 iommu-policy=drop\n@drive 0:0 capacity=1M\n"
                               "- C ! - - rogue admin identify len=256 addr=0xdead0000 expect=data-xfer-error\n"
                               "- C ! - - rogue hard-reset keys=1,2,3 accepted=1 expect=success\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    const struct trace_check *c = rt_check(f, 5);
    ck_assert_msg(strstr(c->summary, "the controller answered completion status success (0); the datasheet says "
                                     "completion status data-xfer-error (0xa)"), "%s", c->summary);
    c = rt_check(f, 6);
    ck_assert_msg(strstr(c->summary, "DIAG.KEY_ACCEPTED after the keys is 0; the datasheet says 0x1"), "%s",
                  c->summary);
    trace_run_free(&run);
}
END_TEST

/* The real thing: the controller built with one defence broken (mutant
 * ctrl_admin.c:272:5:negif, GET LOG no longer limits a read to the buffer
 * the driver gave), the way `make mutation` builds it, fails the bundled
 * fault-log trace at the read into a one-entry buffer, naming what the
 * datasheet says. */
START_TEST(a_controller_mutant_fails_the_bundled_trace)
{
    static const char id[] = "sim/ctrl/ctrl_admin.c:272:5:negif";
    char bin0[512], build[512], script[4096], tmp[256];
    snprintf(bin0, sizeof bin0, "%s", proc_scsisim_bin());
    snprintf(build, sizeof build, "%s", dirname(bin0)); /* BUILD/scsisim -> BUILD */
    snprintf(script, sizeof script, "%s/mutation/build.sh", build);
    if (access(script, R_OK) != 0)
        ck_abort_msg("not run: %s is missing; `make` writes it", script);
    proc_tmpdir(tmp, sizeof tmp, "rogue-mutant");
    snprintf(script, sizeof script,
             ". %s/mutation/build.sh && %s/tools/mutate apply %s %s/ctrl_admin.c && "
             "mut_cc_sim %s/ctrl_admin.c sim/ctrl %s/ctrl_admin.o && mut_link_sim %s/scsisim %s/ctrl_admin.o",
             build, build, id, tmp, tmp, tmp, tmp, tmp);
    const char *const sh[] = { "sh", "-c", script, NULL };
    struct proc_result r;
    proc_run(sh, PROC_PATH | PROC_MERGE, 120000, &r);
    ck_assert_msg(r.status == 0, "building the mutant failed (%d): %s", r.status, r.out);
    proc_result_free(&r);

    char bin[300];
    snprintf(bin, sizeof bin, "%s/scsisim", tmp);
    const char *const run[] = { bin, "run", "traces/controller/fault-log.trace", NULL };
    proc_run(run, PROC_MERGE, 60000, &r);
    ck_assert_msg(r.status == 1, "the mutant was not caught (exit %d): %s", r.status, r.out);
    ck_assert_msg(strstr(r.out, "fault-log.trace:25: rogue (layer C): the log header's count is 0x3; the "
                                "datasheet says 0x1"), "%s", r.out);
    proc_result_free(&r);
    /* and the real build passes the same trace */
    const char *const real[] = { "run", "traces/controller/fault-log.trace", NULL };
    proc_scsisim(real, &r);
    ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
    proc_result_free(&r);
    proc_rmdir(tmp);
}
END_TEST

/* A command still held by the trace: the rogue driver would take the
 * controller from under it, so the check is "not run" with the tag, and the
 * held command still completes once released. */
START_TEST(an_outstanding_command_is_not_taken_over)
{
    static const char text[] = HDR
        "- H > - u0 CMD 00 00 00 00 00 00\n"
        "- H < - u0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "- H ! - - hold t1\n"                                        /* 7 */
        "- H > - t1 CMD 00 00 00 00 00 00\n"                         /* 8 */
        "- C ! - - rogue admin 0x7f expect=invalid-opcode\n"        /* 9 */
        "- H ! - - release t1\n"
        "- H < - t1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 9);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_NOT_RUN);
    ck_assert_msg(strstr(c->summary, "directive not run: task 't1' is still outstanding"), "%s", c->summary);
    ck_assert(rt_check(f, 8)->pass);
    ck_assert_uint_eq(rt_failed(f), 1);
    trace_run_free(&run);
}
END_TEST

/* Where the controller is in another process the command tap is not there:
 * the trace is skipped, naming the feature (never a quiet pass). */
START_TEST(two_process_skips)
{
    static const char text[] = HDR "- C ! - - rogue admin 0x7f expect=invalid-opcode\n";
    struct replay_options o;
    rt_options(&o);
    o.mode = STACK_TWO_PROCESS;
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_SKIP);
    ck_assert_msg(strstr(f->reason, "controller-layer"), "%s", f->reason);
    trace_run_free(&run);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rogue");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, bad_argument_is_located, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, datasheet_answers_pass_and_the_core_recovers);
    tcase_add_test(tc, a_different_answer_fails_naming_both);
    tcase_add_test(tc, polled_and_full_cqs_judge_interrupts);
    tcase_add_test(tc, a_missing_defence_fails_the_trace);
    tcase_add_test(tc, an_outstanding_command_is_not_taken_over);
    tcase_add_test(tc, a_controller_mutant_fails_the_bundled_trace);
    tcase_add_test(tc, two_process_skips);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
