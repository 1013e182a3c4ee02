/* tests/test_replay_ctl.c — the set and stats directives replayed against the
 * simulator (conformance/directive/ctl.c): a battery changed at run time
 * decides what a power cut loses, the controller's write-cache setting
 * changes what a WRITE is, the statistics are judged counter by counter with
 * every difference named, a directive with nothing to act on fails the
 * trace instead of passing quietly; and fault ... expect=refused (the
 * controller's refusal of an action is what the trace expects). */
#include <string.h>

#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"

#define HDR "#!scsitrace 1\n"
#define CLEAR_UA                                                  \
    "+0 H > - u0 CMD 00 00 00 00 00 00\n"                         \
    "+0 H < - u0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
#define WRITE8(tag, byte)                                                  \
    "+0 H > - " tag " CMD 2a 00 00 00 00 00 00 00 08 00 len=4096 dir=out\n" \
    "+0 H > - " tag " DOUT " byte "*4096\n"                                 \
    "+0 H < - " tag " STATUS GOOD\n"

START_TEST(battery_set_at_run_time_decides_the_power_cut)
{
    /* No battery at first; an unflushed WRITE; the battery turns GOOD:
     * nothing is lost.  It fails; another unflushed WRITE is lost. */
    static const char text[] = HDR
        "@drive 0:0 capacity=1M write-cache=on battery=absent\n"     /* 2 */
        CLEAR_UA                                                     /* 3, 4 */
        WRITE8("w1", "11")                                           /* 5 */
        "- H ! - - set battery=good\n"                               /* 8 */
        "- H ! - - power-loss\n"
        "- H ! - - power-on\n"
        "- H ! - - check-media expect=intact\n"                      /* 11 */
        CLEAR_UA                                                     /* 12, 13 */
        "- H ! 0:0:0:0 - set battery=failed\n"                       /* 14 */
        WRITE8("w2", "22")                                           /* 15 */
        "- H ! - - power-loss\n"
        "- H ! - - power-on\n"
        "- H ! - - check-media expect=lost-unflushed\n";             /* 20 */
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    rt_assert_passed(f);
    ck_assert(rt_check(f, 11)->pass); /* the media checks are checks of their own */
    ck_assert(rt_check(f, 20)->pass);
    trace_run_free(&run);
}
END_TEST

START_TEST(write_cache_off_writes_through)
{
    /* The controller's setting turns WCE off: the WRITE after it is durable,
     * so a power cut without a battery loses nothing. */
    static const char text[] = HDR
        "@drive 0:0 capacity=1M write-cache=on battery=absent\n"
        CLEAR_UA
        "- H ! - - set write-cache=off\n"
        WRITE8("w1", "33")
        "- H ! - - power-loss\n"
        "- H ! - - check-media expect=intact\n"                      /* 10 */
        "- H ! - - power-on\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    rt_assert_passed(f);
    ck_assert(rt_check(f, 10)->pass);
    trace_run_free(&run);
}
END_TEST

START_TEST(stats_judges_each_counter)
{
    /* A WRITE then a READ of the same dirty blocks: 8 hits.  Line 10 is
     * right; line 11 is wrong in two counters, and its note names both with
     * what the controller counted; line 12 judges an opcode nothing sent
     * (no entry: every counter 0).  A stats directive that holds adds no
     * check (as a ua or a fault that happened); one that does not is a
     * failed directive check. */
    static const char text[] = HDR
        "@drive 0:0 capacity=1M write-cache=on\n"
        CLEAR_UA
        WRITE8("w1", "44")                                                      /* 5 */
        "+0 H > - r1 CMD 28 00 00 00 00 00 00 00 08 00 len=4096 dir=in\n"      /* 8 */
        "+0 H < - r1 STATUS GOOD\n"
        "- H ! - - stats read-blocks=8 hit-blocks=8 dirty-lines=1 injected=0\n"  /* 10 */
        "- H ! 0:0:0:0 - stats hit-blocks=7 dirty-bytes=4096 writebacks=1\n"    /* 11 */
        "- H ! - - stats opcode=0x8a commands=0 bytes=0 injected=0\n"          /* 12 */
        "- H ! - - stats opcode=0x28 commands=1 bytes=4096\n";                 /* 13 */
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(f->n_checks, 4); /* u0, w1, r1 and line 11 */
    const struct trace_check *c = rt_check(f, 11);
    ck_assert(!c->pass);
    ck_assert_int_eq(c->kind, TRACE_CHECK_DIRECTIVE);
    ck_assert_msg(strstr(c->summary, "hit-blocks=8 (expected 7), writebacks=0 (expected 1)"), "%s", c->summary);
    ck_assert_msg(!strstr(c->summary, "dirty-bytes"), "%s", c->summary);
    ck_assert_uint_eq(rt_failed(f), 1);
    trace_run_free(&run);
}
END_TEST

START_TEST(stats_judges_a_bound)
{
    /* The same 8 blocks written, flushed and written again: the line's
     * record is reused, so one record (line-records, the most lines dirty at
     * once).  A bound that holds adds no check; one that does not names the
     * count and the bound (line 14); a count judged exactly still must be
     * equal (line 15). */
    static const char text[] = HDR
        "@drive 0:0 capacity=1M write-cache=on\n"
        CLEAR_UA
        WRITE8("w1", "44")                                                      /* 5 */
        "+0 H > - s1 CMD 35 00 00 00 00 00 00 00 00 00\n"                      /* 8 */
        "+0 H < - s1 STATUS GOOD\n"
        WRITE8("w2", "55")                                                      /* 10 */
        "- H ! - - stats dirty-lines=1 line-records<=1 writebacks<=5\n"        /* 13 */
        "- H ! - - stats line-records<=0\n"                                    /* 14 */
        "- H ! - - stats line-records=2\n";                                    /* 15 */
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(rt_failed(f), 2);
    const struct trace_check *c = rt_check(f, 14);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "line-records=1 (expected at most 0)"), "%s", c->summary);
    c = rt_check(f, 15);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "line-records=1 (expected 2)"), "%s", c->summary);
    trace_run_free(&run);
}
END_TEST

START_TEST(nothing_to_act_on_fails)
{
    /* set and stats at a nexus without a drive: each is a directive the
     * replay could not carry out, never a quiet pass. */
    static const char text[] = HDR
        "@drive 0:0 capacity=1M\n"
        CLEAR_UA
        "- H ! 0:0:3:0 - set battery=good\n"                  /* 5 */
        "- H ! 0:0:3:0 - stats hit-blocks=0\n"                /* 6 */
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                 /* 7 */
        "+0 H < - t1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 5);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "set: no drive at the directive's nexus"), "%s", c->summary);
    c = rt_check(f, 6);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "stats: no drive at the directive's nexus"), "%s", c->summary);
    ck_assert(rt_check(f, 7)->pass);
    ck_assert_uint_eq(rt_failed(f), 2);
    trace_run_free(&run);
}
END_TEST

START_TEST(stats_need_the_controller_in_this_process)
{
    /* In two processes the statistics are the controller process's (its
     * --ctl socket): the trace is skipped for controller-layer, not passed. */
    static const char text[] = HDR
        "@requires controller-layer\n"
        "@drive 0:0 capacity=1M\n"
        CLEAR_UA
        "- H ! - - stats hit-blocks=0\n";
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

START_TEST(fault_expect_refused)
{
    /* A removal of a drive that is not there must be refused (line 5
     * passes, adding no check); a removal that is accepted where the trace
     * expects a refusal fails (line 6), and the drive is gone after it. */
    static const char text[] = HDR
        "@requires fault-injection\n"
        "@drive 0:0 capacity=1M\n"
        "@drive 0:1 capacity=1M\n"
        CLEAR_UA
        "- C ! - - fault remove drive=1:0 expect=refused\n"     /* 7 */
        "- C ! - - fault remove drive=0:1 expect=refused\n"     /* 8 */
        "+0 H > 0:0:0:1 t1 CMD 00 00 00 00 00 00\n"             /* 9 */
        "+0 H < 0:0:0:1 t1 STATUS CHECK ILLEGAL_REQUEST/0x25/0x00\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 8);
    ck_assert(!c->pass);
    ck_assert_msg(strstr(c->summary, "fault remove drive=0:1 was accepted; the trace expects the controller to refuse it"),
                  "%s", c->summary);
    ck_assert(rt_check(f, 9)->pass);
    ck_assert_uint_eq(rt_failed(f), 1);
    ck_assert_uint_eq(f->n_checks, 3); /* u0, line 8 and t1 */
    trace_run_free(&run);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_ctl");
    TCase *t = tcase_create("ctl");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, battery_set_at_run_time_decides_the_power_cut);
    tcase_add_test(t, write_cache_off_writes_through);
    tcase_add_test(t, stats_judges_each_counter);
    tcase_add_test(t, stats_judges_a_bound);
    tcase_add_test(t, nothing_to_act_on_fails);
    tcase_add_test(t, stats_need_the_controller_in_this_process);
    tcase_add_test(t, fault_expect_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
