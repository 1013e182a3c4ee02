/* tests/test_trace_report.c — deciding a replay (trace_judge) and reporting
 * it: which expectation failed and why, the decoded text diff, TAP, JUnit XML
 * (well-formed and in the common schema's shape, also with hostile text) and
 * JSON, and the exit codes. */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/report/judge.h"
#include "conformance/report/report.h"
#include "conformance/report/result.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

static const char inquiry_trace[] =
    V "# INQUIRY, SYNCHRONIZE CACHE and a media check.\n"
      "@title \"judge <&> test\"\n"
      "@nexus 0:0:0:0\n"
      "+0.000 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n"      /* line 5 */
      "+0.001 H < - t1 DIN 00 00 05 02 1f 00 00 00 \"SCSISIM\":8 ..\n"
      "+0.001 H < - t1 STATUS GOOD resid=0\n"
      "- H ! - - within 1\n"                                       /* line 8 */
      "+0.002 H > - t2 CMD 35 00 00 00 00 00 00 00 00 00\n"        /* line 9 */
      "+0.003 H < - t2 STATUS GOOD\n"
      "- H ! - - power-loss\n"
      "- H ! - - power-on\n"
      "- H ! 0:0:0:0 - check-media\n";                             /* line 13 */

struct run {
    struct trace *t;
    uint8_t din[36];
    uint8_t sense[64];
    struct trace_actual_task tasks[2];
    struct trace_actual_media media;
    struct trace_actual actual;
};

/* Everything as the trace expects. */
static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    struct located_error err;
    r->t = tt_parse(inquiry_trace, &err);
    ck_assert_msg(r->t != NULL, "%s", err.message);
    ck_assert_uint_eq(r->t->n_tasks, 2);
    const uint8_t head[8] = { 0, 0, 5, 2, 0x1f, 0, 0, 0 };
    memcpy(r->din, head, 8);
    memcpy(r->din + 8, "SCSISIM SIM DISK        0001", 28);
    r->tasks[0] = (struct trace_actual_task){ .submitted = true, .completed = true, .status = SCSI_STATUS_GOOD,
                                              .din = r->din, .din_len = 36, .resid_valid = true, .xfer = 36,
                                              .elapsed_known = true, .elapsed_ns = 1000000 };
    r->tasks[1] = (struct trace_actual_task){ .submitted = true, .completed = true, .status = SCSI_STATUS_GOOD,
                                              .elapsed_known = true, .elapsed_ns = 2000000 };
    for (size_t i = 0; i < r->t->n_lines; i++)
        if (r->t->lines[i].lineno == 13)
            r->media.line = i;
    r->media.checked = true;
    r->media.report.blocks_checked = 8;
    r->actual = (struct trace_actual){ .tasks = r->tasks, .media = &r->media, .n_media = 1, .elapsed_ns = 5000000 };
}

static struct trace_file_result *judge(struct run *r, struct trace_run *run)
{
    trace_run_init(run);
    struct trace_file_result *f = trace_run_add(run, "traces/t.trace", r->t->title);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(trace_judge(r->t, &r->actual, f), 0);
    return f;
}

static char *capture(int (*writer)(const struct trace_run *, FILE *), const struct trace_run *run, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ck_assert_int_eq(writer(run, f), 0);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static int text_plain(const struct trace_run *run, FILE *out)
{
    struct report_text_options o = { .color = false };
    return report_text(run, out, &o);
}

START_TEST(test_all_pass)
{
    struct run r;
    run_init(&r);
    struct trace_run run;
    struct trace_file_result *f = judge(&r, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_PASS);
    ck_assert_uint_eq(f->n_checks, 3); /* two tasks and the media check, in file order */
    ck_assert_int_eq(f->checks[0].kind, TRACE_CHECK_COMMAND);
    ck_assert_uint_eq(f->checks[0].line, 5);
    ck_assert_uint_eq(f->checks[0].cdb[0], 0x12);
    ck_assert_int_eq(f->checks[2].kind, TRACE_CHECK_MEDIA);
    for (size_t i = 0; i < 3; i++) {
        ck_assert(f->checks[i].pass);
        ck_assert_ptr_null(f->checks[i].detail);
    }
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_PASS);
    char *text = capture(text_plain, &run, NULL);
    ck_assert_ptr_nonnull(strstr(text, "PASS     traces/t.trace  \"judge <&> test\"  (3 checks, 0.005 s)\n"));
    ck_assert_ptr_nonnull(strstr(text, "1 trace: 1 passed, 0 failed, 0 skipped, 0 unusable (3 checks, 0 failed)\n"));
    ck_assert_ptr_null(strstr(text, "[FAILED]"));
    free(text);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

START_TEST(test_status_and_sense_failure)
{
    struct run r;
    run_init(&r);
    struct scsi_sense_reason why = scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_COMMAND_OPCODE);
    r.tasks[1].status = SCSI_STATUS_CHECK_CONDITION;
    r.tasks[1].sense = r.sense;
    r.tasks[1].sense_len = scsi_sense_build(r.sense, sizeof r.sense, true, &why);
    struct trace_run run;
    struct trace_file_result *f = judge(&r, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    const struct trace_check *c = &f->checks[1];
    ck_assert(!c->pass);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_STATUS);
    ck_assert_uint_eq(c->line, 9);
    ck_assert_uint_eq(c->expect_line, 10);
    ck_assert_str_eq(c->summary, "status: expected GOOD, got CHECK ILLEGAL_REQUEST/0x20/0x00");
    ck_assert(c->detail->sense_valid);
    ck_assert(c->detail->sense.descriptor);
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_FAIL);

    char *text = capture(text_plain, &run, NULL);
    ck_assert_ptr_nonnull(strstr(text, "FAIL     traces/t.trace"));
    ck_assert_ptr_nonnull(strstr(text, "[FAILED] traces/t.trace:10: t2 Synchronize cache(10) (layer H): status: "
                                       "expected GOOD, got CHECK ILLEGAL_REQUEST/0x20/0x00\n"));
    ck_assert_ptr_nonnull(strstr(text, "    cdb       35 00 00 00 00 00 00 00 00 00 (line 9)\n"));
    ck_assert_ptr_nonnull(strstr(text, "              actual   CHECK (0x02, Check Condition)\n"));
    ck_assert_ptr_nonnull(strstr(text, "    sense     actual   ILLEGAL_REQUEST/0x20/0x00 = Illegal Request: Invalid "
                                       "command operation code (descriptor format)\n"));
    free(text);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

START_TEST(test_data_failure_side_by_side)
{
    struct run r;
    run_init(&r);
    r.din[3] = 0;   /* the F2 symptom, partly: bytes that never arrived */
    r.din[4] = 0;
    r.din[8] = 'X';
    struct trace_run run;
    struct trace_file_result *f = judge(&r, &run);
    const struct trace_check *c = &f->checks[0];
    ck_assert_uint_eq(c->failures, TRACE_FAIL_DATA);
    ck_assert_uint_eq(c->expect_line, 6); /* the DIN line */
    ck_assert_str_eq(c->summary, "data-in: 3 byte(s) differ, first at offset 3");
    ck_assert_uint_eq(c->detail->data.n_ranges, 2);
    ck_assert_uint_eq(c->detail->data_line, 6);
    char *text = capture(text_plain, &run, NULL);
    ck_assert_ptr_nonnull(strstr(text, "    data-in   expected 16 byte(s) and '..' (line 6), received 36; 3 differ; at 3..4, 8\n"
                                       "      offset    expected                | actual\n"
                                       "      0x000000  00 00 05 02 1f 00 00 00 | 00 00 05 00 00 00 00 00  |........||........|\n"
                                       "                         ^^ ^^          |          ^^ ^^\n"
                                       "      0x000008  53 43 53 49 53 49 4d 20 | 58 43 53 49 53 49 4d 20  |SCSISIM ||XCSISIM |\n"
                                       "                ^^                      | ^^\n"
                                       "      0x000010  .. .. .. .. .. .. .. .. | 53 49 4d 20 44 49 53 4b  |        ||SIM DISK|\n"));
    /* Issue 10: the INQUIRY field that differs, decoded. */
    ck_assert_ptr_nonnull(strstr(text, "    field     vendor: expected 'SCSISIM ', actual 'XCSISIM ' (bytes 8..15)\n"));
    free(text);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

START_TEST(test_each_failure_kind)
{
    struct run r;
    struct trace_run run;
    struct trace_file_result *f;

    run_init(&r); /* never sent */
    r.tasks[0].submitted = false;
    r.tasks[0].note = "the controller was in FAULT";
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[0].failures, TRACE_FAIL_NOT_RUN);
    ck_assert_str_eq(f->checks[0].summary, "not run: the controller was in FAULT");
    ck_assert_str_eq(f->checks[0].detail->note, "the controller was in FAULT");
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r); /* stalled */
    r.tasks[1].completed = false;
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[1].failures, TRACE_FAIL_NO_RESPONSE);
    ck_assert_str_eq(f->checks[1].summary, "no STATUS: the command stalled (expected GOOD)");
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r); /* too slow for its within */
    r.tasks[1].elapsed_ns = 1500000000;
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[1].failures, TRACE_FAIL_DEADLINE);
    ck_assert_str_eq(f->checks[1].summary, "answered after 1.5 s; the within at line 8 allows 1 s");
    ck_assert_uint_eq(f->checks[1].detail->deadline_ns, 1000000000u);
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r); /* a residual where none was expected, and no data */
    r.tasks[0].resid = 20;
    r.tasks[0].din_len = 16;
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[0].failures, TRACE_FAIL_RESID);
    ck_assert_str_eq(f->checks[0].summary, "resid: expected 0, got 20");
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r);
    r.tasks[0].resid_valid = false;
    r.tasks[0].din = NULL;
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[0].failures, TRACE_FAIL_RESID | TRACE_FAIL_DATA);
    ck_assert_str_eq(f->checks[0].summary, "resid: expected 0, none reported");
    ck_assert(f->checks[0].detail->data.too_short);
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r); /* media lost what was promised */
    r.media.report.durable_lost = 3;
    r.media.report.first_bad_lba = 8;
    r.media.report.n_ranges = 3;
    r.media.report.range[0] = (struct sim_oracle_range){ .lba = 8, .count = 2, .durable = true };
    r.media.report.range[1] = (struct sim_oracle_range){ .lba = 40, .count = 1, .target = 1, .lun = 2, .durable = true };
    r.media.report.range[2] = (struct sim_oracle_range){ .lba = 99, .count = 4, .durable = false };
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[2].failures, TRACE_FAIL_MEDIA);
    ck_assert_str_eq(f->checks[2].summary,
                     "media: 3 block(s) promised durable were lost (0:0 LBA 8-9, 1:2 LBA 40); expected durable");
    ck_assert_uint_eq(f->checks[2].detail->media.first_bad_lba, 8);
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r); /* more runs than the report has room for */
    r.media.report.durable_lost = 40;
    r.media.report.n_ranges = 1;
    r.media.report.ranges_more = 2;
    r.media.report.range[0] = (struct sim_oracle_range){ .lba = 16, .count = 8, .durable = true };
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[2].failures, TRACE_FAIL_MEDIA);
    ck_assert_str_eq(f->checks[2].summary, "media: 40 block(s) promised durable were lost (0:0 LBA 16-23, and 2 more "
                                           "runs not listed); expected durable");
    trace_run_free(&run);
    trace_free(r.t);

    run_init(&r); /* media check that never ran */
    r.actual.n_media = 0;
    f = judge(&r, &run);
    ck_assert_uint_eq(f->checks[2].failures, TRACE_FAIL_NOT_RUN);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

/* Layer C: what the controller saw is compared with the trace's patterns; TMF
 * responses; a task ended by an abort passes whatever happened. */
START_TEST(test_controller_layer_and_tmf)
{
    struct located_error err;
    struct trace *t = tt_parse(V "+0 H > - t1 CMD 35 00 00 00 00 00 00 00 00 00\n"
                                 "+0 C > - c1 CMD 35 00 ?? ?? ?? ?? 00 00 00 00\n"
                                 "+0 C < - c1 STATUS GOOD\n"
                                 "+0 H > - m1 TMF abort-task t1\n"
                                 "+0 H < - m1 TMF function-complete\n"
                                 "+0 H > - t2 CMD 00 00 00 00 00 00\n"
                                 "+0 H > - m2 TMF lun-reset\n"
                                 "+0 H < - m2 TMF function-complete|function-succeeded\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_uint_eq(t->n_tasks, 5);
    const uint8_t seen[] = { 0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0 }; /* IMMED set by the driver */
    struct trace_actual_task a[5] = {
        { .submitted = true, .completed = false },
        { .submitted = true, .completed = true, .status = SCSI_STATUS_GOOD, .cdb = seen, .cdb_len = sizeof seen },
        { .submitted = true, .completed = true, .tmf = TRACE_TMF_FUNCTION_REJECTED },
        { .submitted = true, .completed = true, .status = SCSI_STATUS_BUSY },
        { .submitted = true, .completed = true, .tmf = TRACE_TMF_FUNCTION_SUCCEEDED },
    };
    struct trace_actual actual = { .tasks = a };
    struct trace_run run;
    trace_run_init(&run);
    struct trace_file_result *f = trace_run_add(&run, "c.trace", NULL);
    ck_assert_int_eq(trace_judge(t, &actual, f), 0);
    ck_assert_uint_eq(f->n_checks, 5);
    ck_assert(f->checks[0].pass);                        /* t1: aborted, no STATUS expected */
    ck_assert_uint_eq(f->checks[1].failures, TRACE_FAIL_CDB);
    ck_assert_uint_eq(f->checks[1].detail->cdb.ranges[0].offset, 1);
    ck_assert_uint_eq(f->checks[2].failures, TRACE_FAIL_TMF);
    ck_assert_str_eq(f->checks[2].summary, "TMF response: expected function-complete, got function-rejected");
    ck_assert(f->checks[3].pass);                        /* t2: ended by the lun-reset */
    ck_assert(f->checks[4].pass);
    ck_assert_int_eq(f->checks[2].kind, TRACE_CHECK_TMF);
    char *text = capture(text_plain, &run, NULL);
    ck_assert_msg(strstr(text, "[FAILED] c.trace:3: c1 Synchronize cache(10) (layer C): CDB at the controller"), "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "    response  expected function-complete\n              actual   function-rejected\n"));
    free(text);
    trace_run_free(&run);
    trace_free(t);
}
END_TEST

/* A run with a failure, an unusable trace and a skipped one, with hostile text. */
static void mixed_run(struct trace_run *run, struct run *r)
{
    run_init(r);
    r->din[0] = 0x7f;
    trace_run_init(run);
    struct trace_file_result *f = trace_run_add(run, "traces/spc/t\x01\xff.trace", "title <&>\"' \x02 caf\xc3\xa9");
    ck_assert_int_eq(trace_judge(r->t, &r->actual, f), 0);
    ck_assert_int_eq(trace_run_add_unusable(run, "x.trace", "x.trace:12:17: error: bad hex byte 'G1' in CDB; expected "
                                                            "two hex digits, '?\?', 'xx/mm' or 'xx*N'"), 0);
    ck_assert_int_eq(trace_run_add_skip(run, "y.trace", NULL, "requires power-cycle # and more"), 0);
}

START_TEST(test_exit_codes)
{
    struct trace_run run;
    trace_run_init(&run);
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_PASS);
    ck_assert_int_eq(trace_run_add_skip(&run, "s.trace", NULL, "requires tmf"), 0);
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_PASS); /* skips do not count against */
    struct trace_file_result *f = trace_run_add(&run, "f.trace", NULL);
    struct trace_check *c = trace_file_add_check(f);
    ck_assert_int_eq(trace_check_fail(c, TRACE_FAIL_STATUS, "status: %s", "x"), 0);
    f->outcome = TRACE_OUTCOME_FAIL;
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_FAIL);
    ck_assert_int_eq(trace_run_add_unusable(&run, "u.trace", "u.trace:1:1: error: empty file"), 0);
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_UNUSABLE); /* unusable input wins */
    struct trace_run_summary s;
    trace_run_summarize(&run, &s);
    ck_assert_uint_eq(s.files, 3);
    ck_assert_uint_eq(s.skipped, 1);
    ck_assert_uint_eq(s.failed, 1);
    ck_assert_uint_eq(s.unusable, 1);
    ck_assert_uint_eq(s.checks_failed, 1);
    trace_run_free(&run);
}
END_TEST

START_TEST(test_tap)
{
    struct run r;
    struct trace_run run;
    mixed_run(&run, &r);
    char *tap = capture(report_tap, &run, NULL);
    ck_assert_msg(!strncmp(tap, "TAP version 13\n1..3\nnot ok 1 - traces/spc/t", 42), "%s", tap);
    ck_assert_ptr_nonnull(strstr(tap, "\n  ---\n  severity: fail\n  failures:\n    - at: \"traces/spc/t\\x01\\uFFFD.trace:6\"\n"
                                      "      message: \"data-in: 1 byte(s) differ, first at offset 0\"\n      diff: |\n"
                                      "          [FAILED] "));
    ck_assert_ptr_nonnull(strstr(tap, "\nnot ok 2 - x.trace\n  ---\n  message: \"x.trace:12:17: error: bad hex byte"));
    ck_assert_ptr_nonnull(strstr(tap, "\nok 3 - y.trace # SKIP requires power-cycle \\# and more\n"));
    free(tap);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

START_TEST(test_junit_well_formed)
{
    struct run r;
    struct trace_run run;
    mixed_run(&run, &r);
    size_t len;
    char *xml = capture(report_junit, &run, &len);
    struct tt_xml_element el[64];
    size_t n = 0;
    const char *bad = tt_xml_check(xml, len, el, 64, &n);
    ck_assert_msg(bad == NULL, "%s\n%s", bad, xml);
    /* the common JUnit shape: testsuites > testsuite > (properties > property | testcase > failure|error|skipped) */
    ck_assert_str_eq(el[0].name, "testsuites");
    size_t suites = 0, cases = 0, failures = 0, errors = 0, skipped = 0;
    for (size_t i = 1; i < n && i < 64; i++) {
        const char *nm = el[i].name;
        if (el[i].depth == 1) {
            ck_assert_str_eq(nm, "testsuite");
            suites++;
        } else if (el[i].depth == 2) {
            ck_assert_msg(!strcmp(nm, "testcase") || !strcmp(nm, "properties"), "%s at depth 2", nm);
            cases += !strcmp(nm, "testcase");
        } else if (el[i].depth == 3) {
            ck_assert_msg(!strcmp(nm, "failure") || !strcmp(nm, "error") || !strcmp(nm, "skipped") ||
                              !strcmp(nm, "property"), "%s at depth 3", nm);
            failures += !strcmp(nm, "failure");
            errors += !strcmp(nm, "error");
            skipped += !strcmp(nm, "skipped");
        } else {
            ck_abort_msg("element %s at depth %d", nm, el[i].depth);
        }
    }
    ck_assert_uint_eq(suites, 3);
    ck_assert_uint_eq(cases, 3 + 1 + 1);
    ck_assert_uint_eq(failures, 1);
    ck_assert_uint_eq(errors, 1);
    ck_assert_uint_eq(skipped, 1);
    ck_assert_ptr_nonnull(strstr(xml, "<testsuites name=\"scsisim\" tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\""));
    ck_assert_ptr_nonnull(strstr(xml, "value=\"title &lt;&amp;&gt;&quot;&apos; \xEF\xBF\xBD caf\xc3\xa9\""));
    ck_assert_ptr_nonnull(strstr(xml, "classname=\"traces.spc.t\xEF\xBF\xBD\xEF\xBF\xBD\""));
    ck_assert_ptr_nonnull(strstr(xml, "<failure type=\"data-in\" message=\"data-in: 1 byte(s) differ, first at offset 0\">"));

    /* xmllint must agree (.ci/run and mk/deps.sh install libxml2-utils) */
    char path[] = "/tmp/scsisim-junit-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, xml, len), (ssize_t)len);
    close(fd);
    if (system("command -v xmllint >/dev/null 2>&1") != 0) {
        unlink(path);
        ck_abort_msg("xmllint not installed: apt-get install libxml2-utils");
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "xmllint --noout %s", path);
    ck_assert_int_eq(system(cmd), 0);
    unlink(path);

    /* the checker itself rejects broken documents */
    static const char *const broken[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a><b></a>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a x=\"<\"/>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>&bogus;</a>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\x01</a>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a></a><b/>",
        "<a/>",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        ck_assert_msg(tt_xml_check(broken[i], strlen(broken[i]), NULL, 0, NULL) != NULL, "accepted: %s", broken[i]);
    free(xml);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

START_TEST(test_json_well_formed)
{
    struct run r;
    struct trace_run run;
    mixed_run(&run, &r);
    size_t len;
    char *json = capture(report_json, &run, &len);
    const char *bad = tt_json_check(json, len);
    ck_assert_msg(bad == NULL, "%s\n%s", bad, json);
    ck_assert_ptr_nonnull(strstr(json, "\"exit_code\":2"));
    ck_assert_ptr_nonnull(strstr(json, "\"summary\":{\"traces\":3,\"passed\":0,\"failed\":1,\"skipped\":1,\"unusable\":1,"
                                       "\"checks\":3,\"checks_failed\":1"));
    ck_assert_ptr_nonnull(strstr(json, "\"file\":\"traces/spc/t\\u0001\\ufffd.trace\""));
    ck_assert_ptr_nonnull(strstr(json, "\"opcode\":\"Inquiry\",\"pass\":false"));
    ck_assert_ptr_nonnull(strstr(json, "\"failures\":[\"data-in\"]"));
    ck_assert_ptr_nonnull(strstr(json, "\"data\":{\"expected_len\":16,\"expected_rest\":true,\"actual_len\":36,"
                                       "\"differing\":1"));
    ck_assert_ptr_nonnull(strstr(json, "\"outcome\":\"unusable\",\"reason\":\"x.trace:12:17: error: bad hex byte"));
    static const char *const broken[] = { "{\"a\":}", "[1,]", "{\"a\" 1}", "\"\x01\"", "01", "{} {}" };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        ck_assert_msg(tt_json_check(broken[i], strlen(broken[i])) != NULL, "accepted: %s", broken[i]);
    free(json);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

START_TEST(test_text_colors_and_verbose)
{
    struct run r;
    struct trace_run run;
    mixed_run(&run, &r);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    struct report_text_options o = { .color = true, .verbose = true };
    ck_assert_int_eq(report_text(&run, f, &o), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "\033[31mFAIL    \033[0m traces/spc/t"));
    ck_assert_ptr_nonnull(strstr(buf, "\033[33mSKIP    \033[0m y.trace  (skipped: requires power-cycle # and more)\n"));
    ck_assert_ptr_nonnull(strstr(buf, "UNUSABLE\033[0m x.trace\n  x.trace:12:17: error: bad hex byte 'G1'"));
    ck_assert_ptr_nonnull(strstr(buf, "  [OK] traces/spc/t\x01\xff.trace:9: t2 Synchronize cache(10)\n"));
    ck_assert_ptr_nonnull(strstr(buf, "3 traces: 0 passed, 1 failed, 1 skipped, 1 unusable (3 checks, 1 failed)\n"));
    free(buf);
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

/* A writer that cannot write says so. */
START_TEST(test_write_error)
{
    struct run r;
    struct trace_run run;
    mixed_run(&run, &r);
    FILE *f = fopen("/dev/full", "w");
    if (f) {
        setvbuf(f, NULL, _IONBF, 0);
        ck_assert_int_lt(report_json(&run, f), 0);
        ck_assert_int_lt(report_junit(&run, f), 0);
        ck_assert_int_lt(report_tap(&run, f), 0);
        ck_assert_int_lt(report_text(&run, f, NULL), 0);
        fclose(f);
    }
    trace_run_free(&run);
    trace_free(r.t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, test_all_pass);
    tcase_add_test(tc, test_status_and_sense_failure);
    tcase_add_test(tc, test_data_failure_side_by_side);
    tcase_add_test(tc, test_each_failure_kind);
    tcase_add_test(tc, test_controller_layer_and_tmf);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_tap);
    tcase_add_test(tc, test_junit_well_formed);
    tcase_add_test(tc, test_json_well_formed);
    tcase_add_test(tc, test_text_colors_and_verbose);
    tcase_add_test(tc, test_write_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
