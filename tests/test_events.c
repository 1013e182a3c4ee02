/* tests/test_events.c — asynchronous events judged by traces: the rogue
 * events action (conformance/directive/rogue.c: the controller's answers to
 * ASYNC EVENT requests) and the events directive (conformance/directive/
 * events.c: what the driver core reported).  Every malformed argument is an
 * error at its column; what the datasheet says passes; a wrong expectation
 * fails its check naming what came instead. */
#include "tests/support/testutil.h"

#include <string.h>

#include "tests/support/replay_testutil.h"
#include "tests/support/trace_testutil.h"

struct bad_arg {
    const char *line;
    unsigned col;
    const char *fragment;
};

static const struct bad_arg bad[] = {
    { "- C ! - - rogue events faults=2 expect=success", 47, "rogue events needs answers=" },
    { "- C ! - - rogue events faults=2 answers=fault+2 expect=success", 33, "names fault+2, but the directive causes 2" },
    { "- C ! - - rogue events faults=3 ask=1 answers=fault+0-2 expect=success", 39, "only held= + ask= = 1 requests" },
    { "- C ! - - rogue events ask=1 answers=bogus:1 expect=success", 38, "answers= is none, or a list of fault+K" },
    { "- C ! - - rogue events faults=3 ask=3 answers=fault+2-1 expect=success", 55, "the range ends before it starts" },
    { "- C ! - - rogue events ask=1 answers=overflow:1, expect=success", 49, "needs an item after each ','" },
    { "- C ! - - rogue events ask=1 answers=none answers=none expect=success", 43, "answers= given twice" },
    { "- C ! - - rogue events held=65 answers=none expect=success", 29, "too large" },
    { "- C ! - - rogue admin identify answers=none expect=success", 32, "rogue admin has no option 'answers'" },
    { "- H ! - - events", 17, "events needs" },
    { "- H ! - - events fault:", 18, "events takes none, or a list" },
    { "- H ! - - events fault:3-1", 26, "the range ends before it starts" },
    { "- H ! - - events fault:1@xyz", 26, "IOVA" },
    { "- H ! - - events lost:1", 18, "events takes none, or a list" },
    { "- H ! - - events none none", 23, "" },
    { "- H ! - - events drive-changed:2:1*0", 36, "a repeat count is at least 1" },
    { "- H ! - - events drive-changed:2:1*x", 36, "repeat count" },
    { "- H ! - - events drive-changed:2:1*257", 36, "too large" },
    { "- H ! - - events cache-lost:1*", 31, "events takes none, or a list" },
    { "- H ! - - events cache-lost:*2", 18, "events takes none, or a list" },
    { "- H ! - - events fault:1*2", 25, "a fault is not repeated: write entries S..E as fault:S-E" },
    { "- H ! - - events battery:dead", 26, "battery state" },
    { "- H ! - - events battery:good*0", 31, "a repeat count is at least 1" },
};

START_TEST(bad_argument_is_located)
{
    char why[512];
    ck_assert_msg(tt_line_fails_at(bad[_i].line, bad[_i].col, bad[_i].fragment, why, sizeof why), "%s: %s",
                  bad[_i].line, why);
}
END_TEST

#define HDR "#!scsitrace 1\n@requires controller-layer\n@controller init-time=0\n@drive 0:0 capacity=1M\n"

static const struct trace_file_result *replay(const char *text, struct trace_run *run)
{
    struct replay_options o;
    rt_options(&o);
    trace_run_init(run);
    return rt_replay(text, &o, run);
}

/* The controller's answers as the datasheet gives them pass; the driver
 * core, back, takes the three fault events left queued and reads the fault
 * log: every entry, the rogue directives' faults too, each once. */
START_TEST(datasheet_answers_pass)
{
    static const char text[] = HDR
        "- C ! - - rogue events held=1 faults=2 ask=2 answers=fault+0-1 expect=success\n" /* 5 */
        "- C ! - - rogue events faults=66 ask=65 answers=overflow:2,fault+2-65 expect=success\n"
        "- C ! - - rogue admin identify len=256 addr=0xdead0000 times=3 expect=data-xfer-error\n"
        "- H > - t1 CMD 00 00 00 00 00 00\n" /* 8 */
        "- H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "- H ! - - events fault:0-70@0xdead0000\n" /* 10: the whole log, read on the first event */
        "- H ! - - events none\n";
    struct trace_run run;
    const struct trace_file_result *f = replay(text, &run);
    ck_assert_uint_eq(f->n_checks, 6);
    rt_assert_passed(f);
    ck_assert_uint_eq(rt_check(f, 10)->kind, TRACE_CHECK_CONTROLLER);
    trace_run_free(&run);
}
END_TEST

/* Wrong expectations fail, each naming the event that came instead. */
START_TEST(a_different_answer_fails_naming_it)
{
    static const char text[] = HDR
        "- C ! - - rogue events faults=2 ask=2 answers=fault+1,fault+0 expect=success\n" /* 5 */
        "- C ! - - rogue events faults=1 ask=2 answers=fault+0-0,overflow:1 expect=success\n" /* 6 */
        "- C ! - - rogue events held=1 answers=none expect=success\n"             /* 7 */
        "- C ! - - rogue admin identify len=256 addr=0xdead0000 expect=data-xfer-error\n" /* 8: left queued */
        "- H > - t1 CMD 00 00 00 00 00 00\n"
        "- H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "- H ! - - events fault:1-4\n"       /* 11: four listed, so all four the log holds are waited for */
        "- H ! - - events cache-lost:1\n";   /* 12: none comes */
    struct trace_run run;
    const struct trace_file_result *f = replay(text, &run);
    const struct trace_check *c = rt_check(f, 5);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "request 1 of 2 with fault+0") && strstr(c->summary, "not fault+1"), "%s",
                  c->summary);
    c = rt_check(f, 6);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "nothing to request 2 of 2") && strstr(c->summary, "overflow:1"), "%s",
                  c->summary);
    ck_assert(rt_check(f, 7)->pass);
    c = rt_check(f, 11);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "event 1 the driver core reported is fault:0@0xdead0000, not fault:1"), "%s",
                  c->summary);
    c = rt_check(f, 12);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "reported 0 of the 1 events") && strstr(c->summary, "cache-lost:1"), "%s",
                  c->summary);
    trace_run_free(&run);
}
END_TEST

/* drive-changed:T:L*N lists one drive's change N times in a row: three pass;
 * and each of the N is judged, so another drive's change among them fails,
 * named (the two changes may come in either order: one firmware pass posts
 * its answers in any order). */
START_TEST(a_repeated_item_counts_its_events)
{
    static const char text[] = HDR
        "- H > - ua CMD 00 00 00 00 00 00\n" /* 5 */
        "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "- C ! - - fault insert drive=2:1 blocks=2048\n"
        "- C ! - - fault remove drive=2:1\n"
        "- C ! - - fault insert drive=2:1 blocks=2048\n"
        "- H ! - - events drive-changed:2:1*3\n" /* 10 */
        "- C ! - - fault remove drive=2:1\n"
        "- C ! - - fault insert drive=3:1 blocks=2048\n"
        "- H ! - - events drive-changed:2:1*2\n"; /* 13: one is 3:1's */
    struct trace_run run;
    const struct trace_file_result *f = replay(text, &run);
    ck_assert(rt_check(f, 10)->pass);
    const struct trace_check *c = rt_check(f, 13);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "is drive-changed:3:1, not drive-changed:2:1"), "%s", c->summary);
    trace_run_free(&run);
}
END_TEST

/* battery:STATE is the BATTERY event with that state; another state fails,
 * named in the directive's words. */
START_TEST(a_battery_change_is_judged_by_its_state)
{
    static const char text[] = HDR
        "- H > - ua CMD 00 00 00 00 00 00\n" /* 5 */
        "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "- H ! - - set battery=good\n"
        "- H ! - - events battery:good\n" /* 8 */
        "- H ! - - set battery=failed\n"
        "- H ! - - events battery:absent\n"; /* 10 */
    struct trace_run run;
    const struct trace_file_result *f = replay(text, &run);
    ck_assert(rt_check(f, 8)->pass);
    const struct trace_check *c = rt_check(f, 10);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "event 1 the driver core reported is battery:failed, not battery:absent"), "%s",
                  c->summary);
    trace_run_free(&run);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, bad_argument_is_located, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, datasheet_answers_pass);
    tcase_add_test(tc, a_different_answer_fails_naming_it);
    tcase_add_test(tc, a_repeated_item_counts_its_events);
    tcase_add_test(tc, a_battery_change_is_judged_by_its_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
