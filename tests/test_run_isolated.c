/* tests/test_run_isolated.c — a loaded core's traces replayed by shard
 * children (cli/run_isolated.c): one child replays trace after trace, yet no
 * trace's verdict depends on the ones before it.  The fixture cores keep a
 * process-wide counter in a static and break on the 3rd command "in a
 * process" (tests/fixtures/segv3.c, hang3.c): with -j1 every trace goes to the
 * same shard, so a counter carried from one trace into the next would break
 * an early command of a later trace.  Each trace must instead see the core as
 * a fresh child would: the 2-command trace passes however many run before
 * it, and the longer one breaks at its own 3rd command (line 25); the trace
 * after a crash or a hang runs in a new child and passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static char fixtures[1024], suite[1024];
static const char *short_trace = "errors/control-link.trace";            /* 2 commands */
static const char *long_trace = "fieldbugs/F1-sync-cache-not-flushed.trace"; /* 3rd command at line 25 */

static void setup(void)
{
    char dir[900];
    proc_build_dir(dir, sizeof dir);
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures", dir);
    snprintf(suite, sizeof suite, "%s/../traces", dir);
    unsetenv("SCSISIM_TRACES");
    unsetenv("SCSISIM_DRIVER_CORE");
}

static void contains(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle), "'%s' not in:\n%.3000s", needle, hay);
}

/* `scsisim run -j1 --tap --driver-core FIXTURE.so` over the traces named by
 * order ('s' short, 'l' long); the TAP text in r. */
static void run_order(const char *fixture, const char *order, struct proc_result *r)
{
    static char paths[8][1200];
    char so[1200];
    snprintf(so, sizeof so, "%s/%s.so", fixtures, fixture);
    const char *argv[20] = { "run", "-j1", "--tap", "--timeout", "1", "--driver-core", so };
    size_t a = 7;
    for (size_t i = 0; order[i] && i < 8; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", suite, order[i] == 's' ? short_trace : long_trace);
        argv[a++] = paths[i];
    }
    argv[a] = NULL;
    proc_scsisim(argv, r);
}

/* "ok N - " or "not ok N - " as line N of the TAP text must be. */
static void tap_line(const char *tap, unsigned n, bool ok)
{
    char want[64];
    snprintf(want, sizeof want, "\n%sok %u - ", ok ? "" : "not ", n);
    char *with_nl = NULL;
    ck_assert_int_ge(asprintf(&with_nl, "\n%s", tap), 0);
    ck_assert_msg(strstr(with_nl, want), "'%s' not in:\n%.3000s", want + 1, tap);
    free(with_nl);
}

/* Three short traces in one shard: 6 commands in one process, no crash
 * (the statics go back before each trace); then the long one still breaks
 * at its own 3rd command, not its 1st. */
START_TEST(statics_do_not_carry_between_traces)
{
    struct proc_result r;
    run_order("segv3", "sssl", &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    tap_line(r.out, 1, true);
    tap_line(r.out, 2, true);
    tap_line(r.out, 3, true);
    tap_line(r.out, 4, false);
    contains(r.out, "the driver core crashed: signal 11 (SIGSEGV");
    contains(r.out, "F1-sync-cache-not-flushed.trace:25");
    contains(r.err, "3 passed, 1 failed");
    free(r.out);
    free(r.err);
}
END_TEST

/* A crash, then the traces after it: a new child takes them, they pass, and
 * a second long trace breaks at its own line 25 again. */
START_TEST(crash_then_a_fresh_child)
{
    struct proc_result r;
    run_order("segv3", "lssl", &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    tap_line(r.out, 1, false);
    tap_line(r.out, 2, true);
    tap_line(r.out, 3, true);
    tap_line(r.out, 4, false);
    contains(r.err, "2 passed, 2 failed");
    free(r.out);
    free(r.err);
}
END_TEST

/* A hang is killed at its budget (--timeout 1 and the grace); the child that
 * replaces it replays the rest. */
START_TEST(hang_then_a_fresh_child)
{
    struct proc_result r;
    run_order("hang3", "sls", &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    tap_line(r.out, 1, true);
    tap_line(r.out, 2, false);
    tap_line(r.out, 3, true);
    contains(r.out, "the driver core hung");
    contains(r.out, "F1-sync-cache-not-flushed.trace:25");
    contains(r.err, "2 passed, 1 failed");
    free(r.out);
    free(r.err);
}
END_TEST

/* Two shards at once over more traces than shards: every trace has its
 * result, in the order given. */
START_TEST(two_shards_report_in_order)
{
    char so[1200], p[6][1200];
    snprintf(so, sizeof so, "%s/segv3.so", fixtures);
    const char *argv[16] = { "run", "-j2", "--tap", "--timeout", "1", "--driver-core", so };
    for (int i = 0; i < 6; i++) {
        snprintf(p[i], sizeof p[i], "%s/%s", suite, i == 3 ? long_trace : short_trace);
        argv[7 + i] = p[i];
    }
    argv[13] = NULL;
    struct proc_result r;
    proc_scsisim(argv, &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    for (unsigned i = 1; i <= 6; i++)
        tap_line(r.out, i, i != 4);
    contains(r.err, "5 passed, 1 failed");
    free(r.out);
    free(r.err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_isolated");
    TCase *tc = tcase_create("shards");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, statics_do_not_carry_between_traces);
    tcase_add_test(tc, crash_then_a_fresh_child);
    tcase_add_test(tc, hang_then_a_fresh_child);
    tcase_add_test(tc, two_shards_report_in_order);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
