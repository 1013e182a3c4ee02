/* tests/test_replay_attr.c — task attributes (attr=) from the trace to the
 * controller: the replay passes each CMD's attribute to the driver core,
 * which puts it in the queue entry (HBA_FLAG_ATTR_*); layer C shows the one
 * the controller got and judges it; the ORDERED_SIMPLE mutant is caught by
 * traces/ordering; a full task set (queue-depth=) answers TASK SET FULL,
 * which the core retries, and the TSF_FATAL mutant is caught. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"

#define HDR "#!scsitrace 1\n@drive 0:0 capacity=64M\n"

START_TEST(the_controller_gets_the_attribute_and_layer_c_judges_it)
{
    static const char text[] = HDR
        "+0 H > - t1 CMD 00 00 00 00 00 00 attr=ordered\n"        /* 3 */
        "+0 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 H > - t2 CMD 00 00 00 00 00 00 attr=head\n"
        "+0 H < - t2 STATUS GOOD\n"
        "+0 H > - t3 CMD 00 00 00 00 00 00\n"
        "+0 H < - t3 STATUS GOOD\n"
        "+0 C > - c1 CMD 00 00 00 00 00 00 attr=ordered\n"        /* 9 */
        "+0 C < - c1 STATUS CHECK\n"
        "+0 C > - c2 CMD 00 00 00 00 00 00 attr=head\n"           /* 11 */
        "+0 C < - c2 STATUS GOOD\n"
        "+0 C > - c3 CMD 00 00 00 00 00 00 attr=aca\n"            /* 13: it was SIMPLE */
        "+0 C < - c3 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert(rt_check(f, 9)->pass);
    ck_assert(rt_check(f, 11)->pass);
    const struct trace_check *c = rt_check(f, 13);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_ATTR);
    ck_assert_str_eq(c->summary, "task attribute at the controller: expected aca, got simple");
    trace_run_free(&run);
}
END_TEST

START_TEST(the_ordered_simple_mutant_is_caught)
{
    char so[512];
    snprintf(so, sizeof so, "%s", proc_scsisim_bin());
    char *slash = strrchr(so, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof so - (size_t)(slash + 1 - so), "mutants/core-ORDERED_SIMPLE.so");
    if (access(so, R_OK) != 0)
        ck_abort_msg("not run: %s is missing; `make mutants` (or `make check`) builds it", so);
    const char *trace = "traces/ordering/ordered-reaches-controller.trace"; /* tests run in the source tree */
    struct proc_result r;
    const char *good[] = { "run", trace, NULL };
    proc_scsisim(good, &r);
    ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
    proc_result_free(&r);
    const char *bad[] = { "run", "--mutant", "ORDERED_SIMPLE", trace, NULL };
    proc_scsisim(bad, &r);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "c2 Write(10) (layer C): task attribute at the controller: expected ordered, got "
                                "simple"), "%s", r.out);
    proc_result_free(&r);
}
END_TEST

START_TEST(task_set_full_is_retried_and_the_tsf_fatal_mutant_is_caught)
{
    const char *trace = "traces/ordering/task-set-full-retried.trace";
    struct proc_result r;
    const char *good[] = { "run", "-v", trace, NULL };
    proc_scsisim(good, &r);
    ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "[OK] traces/ordering/task-set-full-retried.trace:35: x1 Write(10)"));
    proc_result_free(&r);
    char so[512];
    snprintf(so, sizeof so, "%s", proc_scsisim_bin());
    char *slash = strrchr(so, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof so - (size_t)(slash + 1 - so), "mutants/core-TSF_FATAL.so");
    if (access(so, R_OK) != 0)
        ck_abort_msg("not run: %s is missing; `make mutants` (or `make check`) builds it", so);
    const char *bad[] = { "run", "--mutant", "TSF_FATAL", trace, NULL };
    proc_scsisim(bad, &r);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "c1 Write(10) (layer H): status: expected GOOD, got SERVICE_FAILURE"), "%s", r.out);
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_attr");
    TCase *tc = tcase_create("attr");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_controller_gets_the_attribute_and_layer_c_judges_it);
    tcase_add_test(tc, the_ordered_simple_mutant_is_caught);
    tcase_add_test(tc, task_set_full_is_retried_and_the_tsf_fatal_mutant_is_caught);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
