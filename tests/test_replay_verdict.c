/* tests/test_replay_verdict.c — what the replay reports: a wrong
 * expectation fails at the right file:line with the right reason, statuses,
 * residuals and service failures as the driver reports them, traces this
 * target cannot replay are skipped with the feature named, layer C (what
 * the controller saw) matched and judged, unusable files,
 * a stack that cannot be built, the trace's time budget, the driver's
 * warning on a status it changed by recovering, several traces at
 * once in order, and the fixtures of tests/data/replay/good passing. */
#include <stdlib.h>
#include <string.h>

#include "conformance/report/report.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"
#include "tests/support/trace_testutil.h"

#define HDR "#!scsitrace 1\n"

START_TEST(wrong_data_fails_at_its_line)
{
    static const char text[] = HDR
        "# the vendor is SCSISIM, not WRONG\n"                                  /* 2 */
        "@drive 0:0 capacity=64M vendor=SCSISIM\n"                              /* 3 */
        "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n"                     /* 4 */
        "+0 H < - t1 DIN 00 00 ?? ?? ?? ?? ?? ?? \"WRONG\":8 ..\n"              /* 5 */
        "+0 H < - t1 STATUS GOOD\n";                                            /* 6 */
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    ck_assert_uint_eq(f->n_checks, 1);
    const struct trace_check *c = rt_check(f, 4);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_DATA);
    ck_assert_uint_eq(c->expect_line, 5);
    ck_assert_uint_eq(c->detail->data.differing, 7); /* "SCSISIM " vs "WRONG   ": all but the last */
    ck_assert_uint_eq(c->detail->data.ranges[0].offset, 8);

    /* The report names the file and the line. */
    char *text_out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text_out, &len);
    struct report_text_options to = { .color = false };
    ck_assert_int_eq(report_text(&run, mem, &to), 0);
    fclose(mem);
    ck_assert_msg(strstr(text_out, "[FAILED] t.trace:5: t1 Inquiry"), "%s", text_out);
    free(text_out);
    trace_run_free(&run);
}
END_TEST

/* Data in pieces: the replay writes every DOUT piece at its offset (here
 * into a host buffer of several pieces=); DIN pieces are judged as one
 * transfer, a difference reported at its offset in the whole transfer and at
 * the line of the piece that holds it. */
START_TEST(data_pieces_are_one_transfer)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"                                               /* 2 */
        "+0 H > - u CMD 00 00 00 00 00 00\n"                                     /* 3 */
        "+0 H < - u STATUS CHECK UNIT_ATTENTION/0x29/??\n"
        "+0 H > - w CMD 2a 00 00 00 00 08 00 00 03 00 len=1536 dir=out pieces=5\n" /* 5: in a scattered buffer */
        "+0 H > - w DOUT offset=0 11*512\n"
        "+0 H > - w DOUT offset=512 22*500 \"tail\" 33*8\n"
        "+0 H > - w DOUT offset=1024 44*512\n"
        "+0 H < - w STATUS GOOD\n"
        "+0 H > - r CMD 28 00 00 00 00 08 00 00 03 00 len=1536 dir=in\n"         /* 10 */
        "+0 H < - r DIN 11*512\n"                                                 /* 11 */
        "+0 H < - r DIN offset=512 22*500 \"tail\" 33*8\n"                       /* 12 */
        "+0 H < - r DIN offset=1024 44*512\n"                                     /* 13 */
        "+0 H < - r STATUS GOOD\n"
        "+0 H > - x CMD 28 00 00 00 00 08 00 00 03 00 len=1536 dir=in\n"         /* 15 */
        "+0 H < - x DIN 11*512\n"                                                 /* 16 */
        "+0 H < - x DIN offset=512 22*500 \"tall\" 33*8\n"                       /* 17: one byte differs */
        "+0 H < - x DIN offset=1024 ..\n"                                         /* 18 */
        "+0 H < - x STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_uint_eq(f->n_checks, 4);
    ck_assert(rt_check(f, 5)->pass);
    ck_assert(rt_check(f, 10)->pass); /* every byte as the three pieces wrote it */
    const struct trace_check *c = rt_check(f, 15);
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_DATA);
    ck_assert_uint_eq(c->expect_line, 17);
    ck_assert_uint_eq(c->detail->data_line, 17);
    ck_assert_uint_eq(c->detail->data.differing, 1);
    ck_assert_uint_eq(c->detail->data.ranges[0].offset, 1014); /* 512 + 500 + 2: "tail" vs "tall" */
    ck_assert_uint_eq(c->detail->data.expected_len, 1024);
    ck_assert(c->detail->data.expected_rest);
    ck_assert_uint_eq(c->detail->data.actual_len, 1536);
    ck_assert_msg(strstr(c->summary, "1 byte(s) differ, first at offset 1014"), "%s", c->summary);
    ck_assert_uint_eq(rt_failed(f), 1);
    trace_run_free(&run);
}
END_TEST

START_TEST(wrong_status_and_resid)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        "+0 H > - t1 CMD 00 00 00 00 00 00\n"                                    /* 3: gets the UA */
        "+0 H < - t1 STATUS GOOD\n"
        "+0 H > - t2 CMD 12 00 00 00 ff 00 len=255 dir=in\n"                     /* 5: 96 bytes come */
        "+0 H < - t2 DIN 00 00 06 ..\n"
        "+0 H < - t2 STATUS GOOD resid=159 xfer=96\n"
        "+0 H > - t3 CMD 12 00 00 00 ff 00 len=255 dir=in\n"                     /* 8 */
        "+0 H < - t3 STATUS GOOD resid=0\n"
        "+0 H > - t4 CMD 00 00 00 00 00 00\n"                                    /* 10 */
        "+0 H < - t4 STATUS GOOD\n"
        "+0 H > 0:0:5:0 t5 CMD 00 00 00 00 00 00\n"                              /* 12: nothing there */
        "+0 H < 0:0:5:0 t5 STATUS SERVICE_FAILURE\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 3);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_STATUS);
    ck_assert_uint_eq(c->expect_line, 4);
    ck_assert(c->detail->sense_valid);
    ck_assert_uint_eq(c->detail->sense.key, 6);
    ck_assert_uint_eq(c->detail->sense.asc, 0x29);
    ck_assert(rt_check(f, 5)->pass);
    c = rt_check(f, 8);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_RESID);
    ck_assert_uint_eq(c->detail->actual_resid, 159);
    ck_assert(rt_check(f, 10)->pass);
    ck_assert(rt_check(f, 12)->pass);
    ck_assert_uint_eq(rt_failed(f), 2);
    trace_run_free(&run);
}
END_TEST

START_TEST(unsupported_features_skip)
{
    static const char *const texts[] = {
        HDR "@drive 0:0\n- C ! - - hold c1\n+0 C > - c1 CMD 00 00 00 00 00 00\n- C ! - - release c1\n"
            "+0 C < - c1 STATUS GOOD\n",
        HDR "@requires controller-hold\n@drive 0:0\n",
    };
    static const char *const feature[] = { "'controller-hold'", "'controller-hold'" };
    for (size_t i = 0; i < 2; i++) {
        struct replay_options o;
        rt_options(&o);
        struct trace_run run;
        trace_run_init(&run);
        const struct trace_file_result *f = rt_replay(texts[i], &o, &run);
        ck_assert_int_eq(f->outcome, TRACE_OUTCOME_SKIP);
        ck_assert_msg(f->reason && strstr(f->reason, feature[i]), "reason: %s", f->reason ? f->reason : "(none)");
        ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_PASS);
        trace_run_free(&run);
    }
    struct replay_options o;
    rt_options(&o);
    ck_assert(replay_has_feature(&o, "power-cycle"));
    ck_assert(replay_has_feature(&o, "media-check"));
    ck_assert(replay_has_feature(&o, "controller-layer"));
    ck_assert(replay_has_feature(&o, "tmf")); /* through the core's task management */
    ck_assert(!replay_has_feature(&o, "controller-hold"));
    o.mode = STACK_TWO_PROCESS; /* test control crosses the socket, the layer-C tap does not */
    ck_assert(replay_has_feature(&o, "power-cycle"));
    ck_assert(!replay_has_feature(&o, "controller-layer"));
}
END_TEST

START_TEST(layer_c_is_what_the_controller_saw)
{
    /* The host's 128 KiB WRITE reaches a 64 KiB-per-command controller as
     * two WRITEs (split by the driver), its SYNCHRONIZE CACHE as one; no
     * host command became a VERIFY. */
    static const char text[] = HDR
        "@controller max-xfer=64K\n"
        "@drive 0:0 capacity=64M\n"
        "+0 H > - u CMD 00 00 00 00 00 00\n"                                     /* 4 */
        "+0 C > - u CMD 00 00 00 00 00 00\n"                                     /* 5 */
        "+0 C < - u STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 H < - u STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 H > - w CMD 2a 00 00 00 01 00 00 01 00 00 len=131072 dir=out\n"      /* 8 */
        "+0 H > - w DOUT 3c*65536 c3*65536\n"
        "+0 H < - w STATUS GOOD\n"
        "+0 C > - w1 CMD 2a 00 00 00 01 00 00 00 80 00 len=65536 dir=out\n"     /* 11 */
        "+0 C > - w1 DOUT 3c*65536\n"
        "+0 C < - w1 STATUS GOOD resid=0\n"
        "+0 C > - w2 CMD 2a ?? 00 00 01 80 ?? 00 80 ?? len=65536 dir=out\n"     /* 14 */
        "+0 C > - w2 DOUT c3*65536\n"
        "+0 C < - w2 STATUS GOOD\n"
        "+0 H > - s CMD 35 00 00 00 00 00 00 00 00 00\n"                         /* 17 */
        "+0 H < - s STATUS GOOD\n"
        "+0 C > - s CMD 35 ?? ??*4 ?? ??*2 ??\n"                                  /* 19: a CDB pattern */
        "+0 C < - s STATUS GOOD\n"
        "+0 C > - v CMD 2f 00 00 00 00 00 00 00 01 00\n"                         /* 21: never sent */
        "+0 C < - v STATUS GOOD\n"
        "+0 C > - x CMD 2a 00 00 00 01 00 00 00 80 00 len=65536 dir=out\n"      /* 23: w1 is taken */
        "+0 C < - x STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    static const unsigned passing[] = { 4, 5, 8, 11, 14, 17, 19 };
    for (size_t i = 0; i < sizeof passing / sizeof *passing; i++) {
        const struct trace_check *c = rt_check(f, passing[i]);
        ck_assert_msg(c->pass, "line %u: %s", passing[i], c->summary);
    }
    const struct trace_check *c = rt_check(f, 21);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_NOT_RUN);
    ck_assert_msg(strstr(c->detail->note, "the controller never saw a command with this CDB"), "%s", c->detail->note);
    ck_assert_uint_eq(rt_check(f, 23)->failures, TRACE_FAIL_NOT_RUN);
    ck_assert_uint_eq(rt_failed(f), 2);
    trace_run_free(&run);
}
END_TEST

START_TEST(layer_c_data_mismatch)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        "+0 H > - w CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out\n"
        "+0 H > - w DOUT 01*512\n"
        "+0 H < - w STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 C > - w CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out\n"         /* 6 */
        "+0 C > - w DOUT 02*512\n"
        "+0 C < - w STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 6);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_STATUS | TRACE_FAIL_DOUT);
    ck_assert_uint_eq(c->detail->dout.differing, 512);
    trace_run_free(&run);
}
END_TEST

START_TEST(layer_c_data_out_in_pieces)
{
    static const char text[] = HDR
        "@drive 0:0 capacity=64M\n"
        "+0 H > - w CMD 2a 00 00 00 00 00 00 00 02 00 len=1024 dir=out\n"
        "+0 H > - w DOUT offset=0 01*512\n"
        "+0 H > - w DOUT offset=512 02*512\n"
        "+0 H < - w STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
        "+0 C > - w CMD 2a 00 00 00 00 00 00 00 02 00 len=1024 dir=out\n"         /* 7 */
        "+0 C > - w DOUT 01*512\n"                                                 /* 8 */
        "+0 C > - w DOUT offset=512 02*256 03*256\n"                               /* 9: half of it differs */
        "+0 C < - w STATUS CHECK UNIT_ATTENTION/0x29/0x01\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 7);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_DOUT);
    ck_assert_uint_eq(c->expect_line, 9);
    ck_assert_uint_eq(c->detail->dout.differing, 256);
    ck_assert_uint_eq(c->detail->dout.ranges[0].offset, 768);
    trace_run_free(&run);
}
END_TEST

START_TEST(unusable_file_names_the_place)
{
    char path[512];
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    ck_assert_int_eq(replay_file(rt_data("bad.trace", path, sizeof path), &o, &run), 0);
    ck_assert_uint_eq(run.n_files, 1);
    ck_assert_int_eq(run.files[0].outcome, TRACE_OUTCOME_UNUSABLE);
    ck_assert_msg(strstr(run.files[0].reason, "bad.trace:5:17: error: unknown verb 'STATSU'"), "%s",
                  run.files[0].reason);
    ck_assert_int_eq(replay_file("/nonexistent/x.trace", &o, &run), 0);
    ck_assert_int_eq(run.files[1].outcome, TRACE_OUTCOME_UNUSABLE);
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_UNUSABLE);
    trace_run_free(&run);
}
END_TEST

START_TEST(stack_that_cannot_be_built_fails_every_check)
{
    /* Two processes, but no controller listens at the socket: the stack
     * says so, and every command fails "not run" with that reason. */
    static const char text[] = HDR "@drive 0:0\n"
                                   "+0 H > - t1 CMD 00 00 00 00 00 00\n"
                                   "+0 H < - t1 STATUS GOOD|CHECK\n";
    struct replay_options o;
    rt_options(&o);
    o.mode = STACK_TWO_PROCESS;
    o.socket_path = "/nonexistent/socket";
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *c = rt_check(f, 3);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_NOT_RUN);
    ck_assert_msg(strstr(c->detail->note, "the stack could not be built"), "%s", c->detail->note);
    trace_run_free(&run);
}
END_TEST

START_TEST(time_budget_ends_the_trace)
{
    static const char text[] = HDR "@drive 0:0\n"
                                   "+0 H > - t1 CMD 00 00 00 00 00 00\n"    /* 3 */
                                   "+0 H < - t1 STATUS CHECK|GOOD\n"
                                   "- H ! - - wait 30\n"                     /* 5 */
                                   "+0 H > - t2 CMD 00 00 00 00 00 00\n"    /* 6 */
                                   "+0 H < - t2 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    o.trace_timeout_ns = 5000000000u; /* far more than t1 needs under load, far less than the wait */
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert(rt_check(f, 3)->pass);
    const struct trace_check *c = rt_check(f, 6);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_NOT_RUN);
    ck_assert_msg(strstr(c->detail->note, "time budget of 5.000 s ran out at line 6"), "%s", c->detail->note);
    trace_run_free(&run);
}
END_TEST

/* A status that came out wrong because the driver core recovered under the
 * command (here it aborts it, resets the LUN and then the controller): the
 * failed check names the warning the core logged while it ran. */
START_TEST(a_wrong_status_names_the_driver_warning_while_it_ran)
{
    static const char text[] = HDR "@requires fault-injection\n"
                                   "@controller init-time=0\n"
                                   "@host command-timeout=30ms abort-grace=30ms admin-timeout=200ms\n"
                                   "@drive 0:0 capacity=1M\n"
                                   "- H > - ua CMD 00 00 00 00 00 00\n"                            /* 6 */
                                   "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
                                   "- C ! - - fault hang op=write limit=1\n"
                                   "- C ! - - fault admin-refuse admin=abort\n"
                                   "- C ! - - fault admin-refuse admin=reset\n"
                                   "- H > - w1 CMD 2a 00 00 00 00 08 00 00 01 00 len=512 dir=out\n" /* 11 */
                                   "- H > - w1 DOUT 77*512\n"
                                   "- H < - w1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert(rt_check(f, 6)->pass);
    const struct trace_check *c = rt_check(f, 11);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_STATUS);
    ck_assert_uint_eq(c->detail->sense.asc, 0x29);
    ck_assert_uint_eq(c->detail->sense.ascq, 0x04);
    ck_assert_msg(strstr(c->detail->note, "while it ran the driver logged: ") &&
                      strstr(c->detail->note, "resetting the controller"),
                  "%s", c->detail->note);
    trace_run_free(&run);
}
END_TEST

static void progress(void *arg, const struct trace_file_result *f, size_t done, size_t total)
{
    size_t *calls = arg;
    ck_assert_uint_eq(done, ++*calls);
    ck_assert_uint_eq(total, 3);
    ck_assert_ptr_nonnull(f->path);
}

START_TEST(several_traces_in_order)
{
    char a[512], b[512], c[512];
    const char *paths[] = { rt_data("fail.trace", a, sizeof a), rt_data("good/pass.trace", b, sizeof b),
                            rt_data("bad.trace", c, sizeof c) };
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    size_t calls = 0;
    ck_assert_int_eq(replay_files(paths, 3, 2, &o, &run, progress, &calls), 0);
    ck_assert_uint_eq(calls, 3);
    ck_assert_uint_eq(run.n_files, 3);
    ck_assert_str_eq(run.files[0].path, paths[0]);
    ck_assert_int_eq(run.files[0].outcome, TRACE_OUTCOME_FAIL);
    ck_assert_int_eq(run.files[1].outcome, TRACE_OUTCOME_PASS);
    ck_assert_int_eq(run.files[2].outcome, TRACE_OUTCOME_UNUSABLE);
    ck_assert_uint_eq(replay_run_commands(&run), 3);
    trace_run_free(&run);
}
END_TEST

START_TEST(good_fixtures_pass)
{
    /* Each exercises a driver duty a field bug broke (discovery of target 1,
     * the caching page, splitting, FUA): the real driver passes them all. */
    char dir[512];
    size_t n = 0;
    char **names = tt_list_traces(rt_data("good", dir, sizeof dir), &n);
    ck_assert_uint_ge(n, 5);
    struct replay_options o;
    rt_options(&o);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct trace_run run;
        trace_run_init(&run);
        ck_assert_int_eq(replay_file(path, &o, &run), 0);
        const struct trace_file_result *f = &run.files[0];
        ck_assert_msg(f->outcome == TRACE_OUTCOME_PASS, "%s: %s (%s)", names[i], trace_outcome_name(f->outcome),
                      f->n_checks && rt_failed(f) ? f->checks[0].summary : "");
        trace_run_free(&run);
    }
    tt_free_names(names, n);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_verdict");
    TCase *t = tcase_create("verdict");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, wrong_data_fails_at_its_line);
    tcase_add_test(t, data_pieces_are_one_transfer);
    tcase_add_test(t, wrong_status_and_resid);
    tcase_add_test(t, unsupported_features_skip);
    tcase_add_test(t, layer_c_is_what_the_controller_saw);
    tcase_add_test(t, layer_c_data_mismatch);
    tcase_add_test(t, layer_c_data_out_in_pieces);
    tcase_add_test(t, unusable_file_names_the_place);
    tcase_add_test(t, stack_that_cannot_be_built_fails_every_check);
    tcase_add_test(t, time_budget_ends_the_trace);
    tcase_add_test(t, a_wrong_status_names_the_driver_warning_while_it_ran);
    tcase_add_test(t, several_traces_in_order);
    tcase_add_test(t, good_fixtures_pass);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
