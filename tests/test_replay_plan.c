/* tests/test_replay_plan.c — the order in which the workers of a run take
 * the traces (replay_plan) and the waiters' own threads
 * (replay_waiter_slots): with two or more workers the traces that sit in
 * `wait` directives (or @host driver deadlines) for REPLAY_WAITER_NS or more lead, longest first, ties in
 * file order, then the others by their waits; one worker keeps file order
 * and has no waiter threads; a trace that does not parse waits 0.  And a run
 * with waiter threads still reports every result, in file order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/replay.h"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static char dir[512];
static char paths[6][700];
/* a: no wait; b: 0.05 s (under the line); c: 0.2 s; d: 0.1 s twice (0.2 s,
 * after c in file order); e: 0.3 s; f: does not parse. */
static const char *const waits[6] = { "", "0.05", "0.2", "0.1", "0.3", NULL };

static void write_trace(const char *path, const char *wait, bool twice)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f, "cannot write %s", path);
    if (!wait) {
        fputs("#!scsitrace 1\nthis is not a trace line\n", f);
    } else {
        fputs("#!scsitrace 1\n@title \"plan\"\n@basis model \"the plan test's own\"\n@drive 0:0 capacity=1M\n\n"
              "- H > - t0 CMD 00 00 00 00 00 00\n- H < - t0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n", f);
        for (int i = 0; wait[0] && i < (twice ? 2 : 1); i++)
            fprintf(f, "- H ! - - wait %s\n", wait);
    }
    fclose(f);
}

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "plan");
    for (int i = 0; i < 6; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%c.trace", dir, 'a' + i);
        write_trace(paths[i], waits[i], i == 3);
    }
}

static void teardown(void)
{
    proc_rmdir(dir);
}

START_TEST(waiters_lead_longest_first)
{
    const char *const p[6] = { paths[0], paths[1], paths[2], paths[3], paths[4], paths[5] };
    size_t order[6];
    ck_assert_uint_eq(replay_plan(p, 6, 2, order), 3);
    const size_t want[6] = { 4, 2, 3, 1, 0, 5 };
    for (int i = 0; i < 6; i++)
        ck_assert_msg(order[i] == want[i], "order[%d] = %zu, want %zu", i, order[i], want[i]);
}
END_TEST

/* A trace that sets a driver deadline with @host waits it out: it is planned
 * as a waiter by its longest deadline, with no `wait` line at all. */
START_TEST(a_host_deadline_counts_as_waiting)
{
    char hang[700];
    snprintf(hang, sizeof hang, "%s/hang.trace", dir);
    FILE *f = fopen(hang, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n@title \"plan\"\n@basis model \"the plan test's own\"\n"
          "@host heartbeat-stall=250ms admin-timeout=150ms\n@drive 0:0 capacity=1M\n\n"
          "- H > - t0 CMD 00 00 00 00 00 00\n- H < - t0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n", f);
    fclose(f);
    /* a (no wait), c (0.2 s), hang (0.25 s), e (0.3 s) */
    const char *const p[4] = { paths[0], paths[2], hang, paths[4] };
    size_t order[4];
    ck_assert_uint_eq(replay_plan(p, 4, 2, order), 3);
    const size_t want[4] = { 3, 2, 1, 0 };
    for (int i = 0; i < 4; i++)
        ck_assert_msg(order[i] == want[i], "order[%d] = %zu, want %zu", i, order[i], want[i]);
}
END_TEST

START_TEST(one_worker_keeps_file_order)
{
    const char *const p[6] = { paths[0], paths[1], paths[2], paths[3], paths[4], paths[5] };
    size_t order[6];
    ck_assert_uint_eq(replay_plan(p, 6, 1, order), 0);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(order[i], i);
}
END_TEST

START_TEST(waiter_slots_are_bounded_by_jobs)
{
    ck_assert_uint_eq(replay_waiter_slots(3, 2), 2);
    ck_assert_uint_eq(replay_waiter_slots(1, 2), 1);
    ck_assert_uint_eq(replay_waiter_slots(0, 4), 0);
    ck_assert_uint_eq(replay_waiter_slots(3, 1), 0);
    ck_assert_uint_eq(replay_waiter_slots(9, 4), 4);
}
END_TEST

/* Two workers and two waiter threads: six results, in file order, the five
 * good traces passed and the bad one unusable. */
START_TEST(run_with_waiters_reports_in_file_order)
{
    const char *const p[6] = { paths[0], paths[1], paths[2], paths[3], paths[4], paths[5] };
    struct replay_options o = { 0 };
    struct trace_run run;
    trace_run_init(&run);
    ck_assert_int_eq(replay_files(p, 6, 2, &o, &run, NULL, NULL), 0);
    ck_assert_uint_eq(run.n_files, 6);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_str_eq(run.files[i].path, paths[i]);
        ck_assert_msg(run.files[i].outcome == (i == 5 ? TRACE_OUTCOME_UNUSABLE : TRACE_OUTCOME_PASS),
                      "%s: outcome %d (%s)", paths[i], (int)run.files[i].outcome,
                      run.files[i].reason ? run.files[i].reason : "");
    }
    trace_run_free(&run);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("replay_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, waiters_lead_longest_first);
    tcase_add_test(tc, a_host_deadline_counts_as_waiting);
    tcase_add_test(tc, one_worker_keeps_file_order);
    tcase_add_test(tc, waiter_slots_are_bounded_by_jobs);
    tcase_add_test(tc, run_with_waiters_reports_in_file_order);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
