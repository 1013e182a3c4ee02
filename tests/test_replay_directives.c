/* tests/test_replay_directives.c — what each directive of a trace does when
 * replayed against the simulator through the driver core: power loss and
 * power on (all, random, torn) with the oracle's check-media, resets of
 * every scope, unit attentions, fault injection the driver recovers from,
 * hold / release, wait, mark, and the error paths (a directive with nothing
 * to act on, one the controller refuses: each fails the trace). */
#include <string.h>

#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"

#define HDR "#!scsitrace 1\n"
/* Clears the power-on unit attention of the default nexus (lines follow). */
#define CLEAR_UA                                                  \
    "+0 H > - u0 CMD 00 00 00 00 00 00\n"                         \
    "+0 H < - u0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"

START_TEST(power_cut_loses_only_unflushed_data)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M write-cache=on battery=absent\n"               /* 2 */
        CLEAR_UA                                                                /* 3, 4 */
        "+0 H > - w1 CMD 2a 00 00 00 00 00 00 00 08 00 len=4096 dir=out\n"      /* 5 */
        "+0 H > - w1 DOUT 5a*4096\n"
        "+0 H < - w1 STATUS GOOD\n"
        "+0 H > - s1 CMD 35 00 00 00 00 00 00 00 00 00\n"                       /* 8 */
        "+0 H < - s1 STATUS GOOD\n"
        "+0 H > - w2 CMD 2a 00 00 00 00 08 00 00 08 00 len=4096 dir=out\n"      /* 10 */
        "+0 H > - w2 DOUT a5*4096\n"
        "+0 H < - w2 STATUS GOOD\n"
        "- H ! - - power-loss\n"                                                /* 13 */
        "- H ! - - check-media expect=lost-unflushed\n"                         /* 14 */
        "- H ! - - check-media expect=intact\n"                                 /* 15: must fail */
        "- H ! - - power-on\n"
        "+0 H > - r1 CMD 28 00 00 00 00 00 00 00 08 00 len=4096 dir=in\n"      /* 17 */
        "+0 H < - r1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 H > - r2 CMD 28 00 00 00 00 00 00 00 10 00 len=8192 dir=in\n"      /* 19 */
        "+0 H < - r2 DIN 5a*4096 00*4096\n"
        "+0 H < - r2 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(f->n_checks, 8);
    ck_assert(rt_check(f, 14)->pass);
    const struct trace_check *c = rt_check(f, 15);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->kind, TRACE_CHECK_MEDIA);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_MEDIA);
    ck_assert_uint_eq(c->detail->media.durable_lost, 0);
    ck_assert_uint_eq(c->detail->media.volatile_lost, 8); /* the eight blocks of w2 */
    ck_assert(rt_check(f, 17)->pass);
    ck_assert(rt_check(f, 19)->pass);
    ck_assert_uint_eq(rt_failed(f), 1);
    trace_run_free(&run);
}
END_TEST

START_TEST(torn_and_random_cuts_keep_durable_data)
{
    /* Sixteen unflushed cache lines (64 KiB each): a torn cut loses them all
     * (one half written), a random one some of them; what was made durable
     * stays either way. */
    static const char text[] = HDR
        "@drive 0:0 capacity=64M write-cache=on battery=absent\n"
        CLEAR_UA
        "+0 H > - w0 CMD 2a 08 00 00 01 00 00 00 08 00 len=4096 dir=out\n"      /* FUA: durable */
        "+0 H > - w0 DOUT 33*4096\n"
        "+0 H < - w0 STATUS GOOD\n"
        "+0 H > - w1 CMD 2a 00 00 00 02 00 00 08 00 00 len=1048576 dir=out\n"
        "+0 H > - w1 DOUT 11*1048576\n"
        "+0 H < - w1 STATUS GOOD\n"
        "- H ! - - power-loss %s\n"
        "- H ! - - check-media expect=durable\n"                                /* 12 */
        "- H ! - - check-media expect=lost-unflushed\n"                         /* 13 */
        "- H ! - - power-on\n";
    static const char *const modes[] = { "torn seed=5", "random seed=7", "all" };
    for (size_t m = 0; m < 3; m++) {
        char buf[2048];
        snprintf(buf, sizeof buf, text, modes[m]);
        struct replay_options o;
        rt_options(&o);
        struct trace_run run;
        trace_run_init(&run);
        const struct trace_file_result *f = rt_replay(buf, &o, &run);
        ck_assert_msg(rt_check(f, 12)->pass, "%s: durable data lost", modes[m]);
        ck_assert_msg(rt_check(f, 13)->pass, "%s: nothing unflushed was lost", modes[m]);
        trace_run_free(&run);
    }
}
END_TEST

START_TEST(resets_raise_their_unit_attentions)
{
    /* LUN and target resets report 29h/03h, a bus reset 29h/02h, a host
     * adapter (controller hard) reset 29h/04h; the driver keeps working. */
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        "@drive 0:1 capacity=64M\n"
        CLEAR_UA
        "- H ! 0:0:0:0 - reset lun\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                                    /* 7 */
        "+0 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x03\n"
        "- H ! 0:0:0:* - reset target\n"
        "+0 H > - t2 CMD 00 00 00 00 00 00\n"                                    /* 10 */
        "+0 H < - t2 STATUS CHECK UNIT_ATTENTION/0x29/0x03\n"
        "- H ! - - reset bus\n"
        "+0 H > - t3 CMD 00 00 00 00 00 00\n"                                    /* 13 */
        "+0 H < - t3 STATUS CHECK UNIT_ATTENTION/0x29/0x02\n"
        "- H ! - - reset host\n"
        "+0 H > - t4 CMD 00 00 00 00 00 00\n"                                    /* 16 */
        "+0 H < - t4 STATUS CHECK UNIT_ATTENTION/0x29/0x04\n"
        "+0 H > - t5 CMD 00 00 00 00 00 00\n"
        "+0 H < - t5 STATUS GOOD\n"
        "+0 H > 0:0:0:1 t6 CMD 00 00 00 00 00 00\n"                              /* 20: LUN 1 */
        "+0 H < 0:0:0:1 t6 STATUS CHECK UNIT_ATTENTION/0x29/??\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    rt_assert_passed(rt_replay(text, &o, &run));
    trace_run_free(&run);
}
END_TEST

START_TEST(ua_reaches_only_the_nexus_named)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        CLEAR_UA
        "- H ! 0:0:0:0 - ua 0x2a/0x09\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"
        "+0 H < - t1 STATUS CHECK UNIT_ATTENTION/0x2a/0x09\n"
        "+0 H > 1:0:0:0 t2 CMD 00 00 00 00 00 00\n"          /* initiator 1: only its power-on UA */
        "+0 H < 1:0:0:0 t2 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 H > 1:0:0:0 t3 CMD 00 00 00 00 00 00\n"
        "+0 H < 1:0:0:0 t3 STATUS GOOD\n"
        "- H ! *:0:0:0 - ua 0x3f/0x0e\n"                      /* every initiator */
        "+0 H > 1:0:0:0 t4 CMD 00 00 00 00 00 00\n"
        "+0 H < 1:0:0:0 t4 STATUS CHECK UNIT_ATTENTION/0x3f/0x0e\n"
        "+0 H > - t5 CMD 00 00 00 00 00 00\n"
        "+0 H < - t5 STATUS CHECK UNIT_ATTENTION/0x3f/0x0e\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    rt_assert_passed(rt_replay(text, &o, &run));
    trace_run_free(&run);
}
END_TEST

START_TEST(driver_recovers_from_injected_faults)
{
    /* A dropped command is aborted and re-issued by the driver; a fatal
     * controller is hard-reset and brought back. */
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        "@timeout 10\n"
        CLEAR_UA
        "- C ! 0:0:0:0 - inject drop-next 1\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"
        "+0 H < - t1 STATUS GOOD\n"
        "- C ! - - inject fatal code=7\n"
        "+0 H > - t2 CMD 00 00 00 00 00 00\n"
        "+0 H < - t2 STATUS CHECK UNIT_ATTENTION/0x29/??|GOOD\n"
        "+0 H > - t3 CMD 12 00 00 00 24 00 len=36 dir=in\n"
        "+0 H < - t3 DIN 00 00 ..\n"
        "+0 H < - t3 STATUS GOOD\n"
        "- C ! - - inject iommu-drop\n"                       /* a correct driver never faults */
        "+0 H > - t4 CMD 12 00 00 00 24 00 len=36 dir=in\n"
        "+0 H < - t4 DIN 00 00 06 ..\n"
        "+0 H < - t4 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    rt_assert_passed(rt_replay(text, &o, &run));
    trace_run_free(&run);
}
END_TEST

START_TEST(within_turns_a_hang_into_a_failure)
{
    /* The firmware hangs: the command cannot be answered within 0.3 s.  The
     * replay gives up on it, goes on, and ends. */
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        CLEAR_UA
        "- C ! - - inject hang\n"
        "- H ! - - within 0.3\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                 /* 7 */
        "+0 H < - t1 STATUS GOOD\n"
        "- H ! - - mark after-the-hang\n";
    struct replay_options o;
    rt_options(&o);
    o.driver_timeout_ms = 5000; /* the driver's own timeout is not what ends the wait */
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    const struct trace_check *c = rt_check(f, 7);
    ck_assert(!c->pass);
    ck_assert_msg(c->failures & (TRACE_FAIL_NO_RESPONSE | TRACE_FAIL_DEADLINE), "failures %#x: %s", c->failures,
                  c->summary);
    ck_assert(!(c->failures & TRACE_FAIL_STATUS));
    if (c->failures & TRACE_FAIL_NO_RESPONSE)
        ck_assert_msg(strstr(c->detail->note, "no completion within 0.300 s (its within)"), "note: %s",
                      c->detail->note);
    trace_run_free(&run);
}
END_TEST

START_TEST(hold_submits_without_waiting)
{
    /* t1 is held and its command is dropped by the controller; t2 is sent
     * and answered meanwhile; release waits for t1, which the driver
     * recovers (abort, re-issue). */
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        CLEAR_UA
        "- C ! - - inject drop-next 1\n"
        "- H ! - - hold t1\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                 /* 7 */
        "+0 H > - t2 CMD 12 00 00 00 24 00 len=36 dir=in\n"   /* 8 */
        "+0 H < - t2 DIN 00 00 06 ..\n"
        "+0 H < - t2 STATUS GOOD\n"
        "- H ! - - release t1\n"
        "+0 H < - t1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    rt_assert_passed(f);
    const struct trace_check *t1 = rt_check(f, 7), *t2 = rt_check(f, 8);
    ck_assert(t1->elapsed_known && t2->elapsed_known);
    /* t2 was answered while t1 was still held up: it took less time. */
    ck_assert_uint_lt(t2->elapsed_ns, t1->elapsed_ns);
    trace_run_free(&run);
}
END_TEST

START_TEST(wait_outlasts_the_ready_time)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M ready-time=400ms\n"
        CLEAR_UA
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"
        "+0 H < - t1 STATUS CHECK NOT_READY/0x04/0x01|GOOD\n"
        "- H ! - - wait 0.5\n"
        "+0 H > - t2 CMD 00 00 00 00 00 00\n"                 /* 8: ready by now */
        "+0 H < - t2 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    rt_assert_passed(rt_replay(text, &o, &run));
    trace_run_free(&run);
}
END_TEST

START_TEST(directives_with_nothing_to_act_on)
{
    /* check-media and ua at a nexus without a drive: the media check fails
     * "not run" (nothing was checked), the ua fails as a directive the
     * replay could not carry out, and the replay goes on; power-on of a
     * powered controller is harmless. */
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        CLEAR_UA
        "- H ! 0:0:3:0 - check-media\n"                        /* 5 */
        "- H ! 0:0:3:0 - ua 0x2a/0x09\n"
        "- H ! - - power-on\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                 /* 8 */
        "+0 H < - t1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 5);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_NOT_RUN);
    c = rt_check(f, 6);
    ck_assert(!c->pass);
    ck_assert_int_eq(c->kind, TRACE_CHECK_DIRECTIVE);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_DIRECTIVE);
    ck_assert_msg(strstr(c->summary, "ua: no drive at the directive's nexus"), "%s", c->summary);
    ck_assert(rt_check(f, 8)->pass);
    ck_assert_uint_eq(rt_failed(f), 2);
    trace_run_free(&run);
}
END_TEST

START_TEST(a_directive_the_controller_refuses_fails_the_trace)
{
    /* A fault rule for a drive the controller does not have: the directive
     * did not happen, so the trace did not run as written. */
    static const char text[] = HDR
        "@requires fault-injection\n"
        "@drive 0:0 capacity=1M\n"
        CLEAR_UA
        "- C ! - - fault capacity drive=1:0 blocks=1000\n"    /* 6 */
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                 /* 7 */
        "+0 H < - t1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    const struct trace_check *c = rt_check(f, 6);
    ck_assert(!c->pass);
    ck_assert_int_eq(c->kind, TRACE_CHECK_DIRECTIVE);
    ck_assert_msg(strstr(c->summary, "fault failed: no drive 1:0"), "%s", c->summary);
    ck_assert(rt_check(f, 7)->pass);
    ck_assert_uint_eq(rt_failed(f), 1);
    trace_run_free(&run);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_directives");
    TCase *t = tcase_create("directives");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, power_cut_loses_only_unflushed_data);
    tcase_add_test(t, torn_and_random_cuts_keep_durable_data);
    tcase_add_test(t, resets_raise_their_unit_attentions);
    tcase_add_test(t, ua_reaches_only_the_nexus_named);
    tcase_add_test(t, driver_recovers_from_injected_faults);
    tcase_add_test(t, within_turns_a_hang_into_a_failure);
    tcase_add_test(t, hold_submits_without_waiting);
    tcase_add_test(t, wait_outlasts_the_ready_time);
    tcase_add_test(t, directives_with_nothing_to_act_on);
    tcase_add_test(t, a_directive_the_controller_refuses_fails_the_trace);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
