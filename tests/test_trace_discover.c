/* tests/test_trace_discover.c — the discover directive (the driver core's
 * discovery judged by the trace) and @host's driver deadlines: parsing into
 * the tree, the canonical printer's round trip, located errors, and the
 * replay judging what the core found (pass, and a failure that names both
 * lists). */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_print.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

START_TEST(host_deadlines_fill_the_tree)
{
    struct located_error err;
    struct trace *t = tt_parse(V "@host command-timeout=30ms abort-grace=2s admin-timeout=100\n"
                                 "@host heartbeat-stall=50ms\n",
                               &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    const struct trace_host *h = &t->host;
    ck_assert(h->given[TRACE_HOST_COMMAND_TIMEOUT] && h->given[TRACE_HOST_ABORT_GRACE]);
    ck_assert(h->given[TRACE_HOST_ADMIN_TIMEOUT] && h->given[TRACE_HOST_HEARTBEAT_STALL]);
    ck_assert_uint_eq(h->command_timeout_ms, 30);
    ck_assert_uint_eq(h->abort_grace_ms, 2000);
    ck_assert_uint_eq(h->admin_timeout_ms, 100);
    ck_assert_uint_eq(h->heartbeat_stall_ms, 50);
    trace_free(t);
}
END_TEST

START_TEST(discover_parses_and_round_trips)
{
    static const char canonical[] =
        V "@controller max-targets=3 max-luns=4\n"
          "- H ! - - discover 0:0 1:3=NOT_READY/0x04/0x01 targets=2 dropped=0 ready-timeout=0.5\n"
          "- H ! - - discover targets=0\n"
          "- H ! - - discover\n";
    struct located_error err;
    struct trace *t = tt_parse(canonical, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    const struct trace_directive *d = &t->lines[1].record.directive;
    ck_assert_int_eq(d->kind, TRACE_DIR_DISCOVER);
    ck_assert_str_eq(d->disc_units, "0:0 1:3=NOT_READY/0x04/0x01");
    ck_assert(d->disc_targets_given && d->disc_targets == 2);
    ck_assert(d->disc_dropped_given && d->disc_dropped == 0);
    ck_assert_uint_eq(d->ns, 500000000u);
    ck_assert(!t->lines[2].record.directive.disc_dropped_given);
    char *text;
    size_t len;
    ck_assert_int_eq(trace_print_string(t, &text, &len), 0);
    ck_assert_str_eq(text, canonical);
    struct trace *again = tt_parse(text, &err);
    ck_assert_ptr_nonnull(again);
    ck_assert(trace_equal(t, again));
    free(text);
    trace_free(again);
    /* A different unit list is a different trace. */
    struct trace *other = tt_parse(V "@controller max-targets=3 max-luns=4\n"
                                     "- H ! - - discover 0:0 1:3 targets=2 dropped=0 ready-timeout=0.5\n"
                                     "- H ! - - discover targets=0\n- H ! - - discover\n",
                                   &err);
    ck_assert_ptr_nonnull(other);
    ck_assert(!trace_equal(t, other));
    trace_free(other);
    trace_free(t);
}
END_TEST

struct bad {
    const char *name, *line;
    unsigned col;
    const char *fragment;
};

static const struct bad bads[] = {
    { "no colon", "- H ! - - discover 0", 20, "a unit is TARGET:LUN" },
    { "bad LUN", "- H ! - - discover 0:x", 22, "LUN" },
    { "wildcard sense", "- H ! - - discover 0:0=NOT_READY/?\?/0x01", 24, "no wildcards" },
    { "unknown key", "- H ! - - discover speed=1", 20, "unknown discover key 'speed'" },
    { "targets twice", "- H ! - - discover targets=1 targets=2", 30, "targets= is given twice" },
    { "timeout zero", "- H ! - - discover ready-timeout=0", 34, "ready-timeout is 0.001 to 60 seconds" },
    { "deadline zero", "@host command-timeout=0", 23, "out of range; give 1ms to 600s" },
    { "deadline too long", "@host abort-grace=601s", 19, "out of range" },
    { "deadline not a number", "@host admin-timeout=fast", 21, "admin-timeout" },
};

START_TEST(errors_are_located)
{
    const struct bad *b = &bads[_i];
    char why[1024];
    ck_assert_msg(tt_line_fails_at(b->line, b->col, b->fragment, why, sizeof why), "case '%s': %s", b->name, why);
}
END_TEST

/* The replay runs the driver core's discovery where the directive stands. */
START_TEST(replay_judges_discovery)
{
    static const char text[] = V "@basis model \"test\"\n@controller init-time=0 max-targets=3 max-luns=2\n"
                                 "@drive 0:1 capacity=1M\n@drive 2:0 capacity=1M\n"
                                 "- H ! - - discover 0:1 2:0 targets=2 dropped=0\n"
                                 "- H ! - - discover 0:1 targets=2\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    ck_assert(rt_check(f, 6)->pass);
    const struct trace_check *c = rt_check(f, 7);
    ck_assert(!c->pass);
    ck_assert_int_eq(c->kind, TRACE_CHECK_DISCOVERY);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_DISCOVERY);
    ck_assert_ptr_nonnull(strstr(c->summary, "expected 0:1 targets=2, the driver core found 0:1 2:0 targets=2"));
    ck_assert_str_eq(c->detail->note, "0:1 2:0 targets=2");
    trace_run_free(&run);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_discover");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, host_deadlines_fill_the_tree);
    tcase_add_test(p, discover_parses_and_round_trips);
    tcase_add_loop_test(p, errors_are_located, 0, (int)(sizeof bads / sizeof bads[0]));
    suite_add_tcase(s, p);
    TCase *r = tcase_create("replay");
    tcase_set_timeout(r, 30);
    tcase_add_test(r, replay_judges_discovery);
    suite_add_tcase(s, r);
    return testutil_run(s);
}
