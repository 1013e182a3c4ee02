/* tests/test_replay_tmf.c — TMF records replayed through the driver core's
 * task management (docs/replay.md): each function's effect on the commands
 * in flight (TASK ABORTED), the unit attentions it leaves, its service
 * response (QUERY TASK: FUNCTION SUCCEEDED while the task is in the task
 * set; CLEAR ACA rejected), a wrong expectation failing with both named,
 * and the ABORTED_GOOD mutant caught by traces/tmf. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"

#define HDR "#!scsitrace 1\n@drive 0:0 capacity=64M\n"
#define CLEAR_UA(h)                                                  \
    "+0 H > " h ":0:0:0 u" h " CMD 00 00 00 00 00 00\n"              \
    "+0 H < " h ":0:0:0 u" h " STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"

START_TEST(every_function_ends_what_it_covers_and_answers)
{
    static const char text[] = HDR CLEAR_UA("0") CLEAR_UA("1")
        "+0 H > 0:0:0:0 t1 CMD 00 00 00 00 00 00\n"
        "+0 H < 0:0:0:0 t1 STATUS GOOD\n"
        "+0 H > 0:0:0:0 q1 TMF query-task t1\n"          /* completed: not in the task set */
        "+0 H < 0:0:0:0 q1 TMF function-complete\n"
        "+0 H > 0:0:0:0 m3 TMF clear-aca\n"
        "+0 H < 0:0:0:0 m3 TMF function-rejected\n"
        "- C ! - - inject drop-next 2\n"
        "+0 H > 0:0:0:0 a1 CMD 00 00 00 00 00 00\n"
        "+0 H > 1:0:0:0 b1 CMD 00 00 00 00 00 00\n"
        "+0 H > 0:0:0:0 q2 TMF query-task a1\n"          /* held by the controller: in the task set */
        "+0 H < 0:0:0:0 q2 TMF function-succeeded\n"
        "+0 H > 0:0:0:0 m4 TMF abort-task-set\n"         /* initiator 0's only */
        "+0 H < 0:0:0:0 m4 TMF function-complete\n"
        "+0 H < 0:0:0:0 a1 STATUS TASK_ABORTED\n"
        "+0 H > 1:0:0:0 m5 TMF clear-task-set\n"
        "+0 H < 1:0:0:0 m5 TMF function-complete\n"
        "+0 H < 1:0:0:0 b1 STATUS TASK_ABORTED\n"
        "+0 H > 0:0:0:0 m6 TMF it-nexus-reset\n"
        "+0 H < 0:0:0:0 m6 TMF function-complete\n"
        "+0 H > 0:0:0:0 t2 CMD 00 00 00 00 00 00\n"      /* the nexus loss's attention */
        "+0 H < 0:0:0:0 t2 STATUS CHECK UNIT_ATTENTION/0x29/0x07\n"
        "+0 H > 1:0:0:0 t3 CMD 00 00 00 00 00 00\n"      /* not initiator 1's */
        "+0 H < 1:0:0:0 t3 STATUS GOOD\n"
        "+0 H > 0:0:0:0 m7 TMF target-reset\n"
        "+0 H < 0:0:0:0 m7 TMF function-complete\n"
        "+0 H > 1:0:0:0 t4 CMD 00 00 00 00 00 00\n"
        "+0 H < 1:0:0:0 t4 STATUS CHECK UNIT_ATTENTION/0x29/0x03\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    rt_assert_passed(rt_replay(text, &o, &run));
    trace_run_free(&run);
}
END_TEST

START_TEST(a_wrong_response_or_status_fails_with_both_named)
{
    static const char text[] = HDR CLEAR_UA("0")
        "- C ! - - inject drop-next 1\n"
        "+0 H > - a1 CMD 00 00 00 00 00 00\n"            /* 6 */
        "+0 H > - q1 TMF query-task a1\n"                 /* 7 */
        "+0 H < - q1 TMF function-complete\n"
        "+0 H > - m1 TMF abort-task a1\n"                 /* 9 */
        "+0 H < - m1 TMF function-complete\n"
        "+0 H < - a1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *q = rt_check(f, 7);
    ck_assert(!q->pass);
    ck_assert_msg(strstr(q->summary, "TMF response: expected function-complete, got function-succeeded"), "%s",
                  q->summary);
    ck_assert(rt_check(f, 9)->pass);
    const struct trace_check *a = rt_check(f, 6);
    ck_assert(!a->pass);
    ck_assert_msg(strstr(a->summary, "status: expected GOOD, got TASK_ABORTED"), "%s", a->summary);
    trace_run_free(&run);
}
END_TEST

START_TEST(the_aborted_good_mutant_is_caught_by_traces_tmf)
{
    char so[512];
    snprintf(so, sizeof so, "%s", proc_scsisim_bin());
    char *slash = strrchr(so, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof so - (size_t)(slash + 1 - so), "mutants/core-ABORTED_GOOD.so");
    if (access(so, R_OK) != 0)
        ck_abort_msg("not run: %s is missing; `make mutants` (or `make check`) builds it", so);
    const char *trace = "traces/tmf/abort-held-command.trace"; /* tests run in the source tree */
    struct proc_result r;
    const char *good[] = { "run", trace, NULL };
    proc_scsisim(good, &r);
    ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
    proc_result_free(&r);
    const char *bad[] = { "run", "--mutant", "ABORTED_GOOD", trace, NULL };
    proc_scsisim(bad, &r);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "w1 Write(10) (layer H): status: expected TASK_ABORTED, got GOOD"), "%s", r.out);
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_tmf");
    TCase *tc = tcase_create("tmf");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_function_ends_what_it_covers_and_answers);
    tcase_add_test(tc, a_wrong_response_or_status_fails_with_both_named);
    tcase_add_test(tc, the_aborted_good_mutant_is_caught_by_traces_tmf);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
