/* tests/test_replay_cli.c — `scsisim run`, the built binary: exit codes 0
 * (all pass), 1 (a check failed) and 2 (a trace that does not parse, a bad
 * path or option), the text, TAP, JUnit XML and JSON reports of a real run,
 * --filter, --shard, the bundled suite found without a PATH, and delegation
 * to another build (--driver, --mutant). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"
#include "tests/support/trace_testutil.h"
#include "tests/support/proc.h"

static char good[512], fail_trace[512], bad_trace[512], skip_trace[512], unknown_req[512];

static void setup(void)
{
    rt_data("good", good, sizeof good);
    rt_data("fail.trace", fail_trace, sizeof fail_trace);
    rt_data("bad.trace", bad_trace, sizeof bad_trace);
    rt_data("skip.trace", skip_trace, sizeof skip_trace);
    rt_data("unknown-requires.trace", unknown_req, sizeof unknown_req);
    unsetenv("SCSISIM_TRACES");
}

/* Runs scsisim with argv; returns the exit code, output in *out / *err (malloc). */
static int run_scsisim(const char *const *argv, char **out, char **err)
{
    struct proc_result r;
    proc_scsisim(argv, &r);
    *out = r.out;
    *err = r.err;
    return r.status;
}
/* Runs scsisim run ARGS... */
#define RUN(out, err, ...) run_scsisim((const char *const[]){ "run", __VA_ARGS__, NULL }, out, err)

static void contains(const char *hay, const char *needle)
{
    /* Check messages are bounded: show the start of the text only. */
    ck_assert_msg(strstr(hay, needle), "'%s' not in:\n%.2000s", needle, hay);
}

START_TEST(all_pass_exits_0)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, good), 0);
    contains(out, "PASS     ");
    contains(out, "scsisim run: 5 traces, ");
    contains(out, " 5 passed, 0 failed, ");
    free(out);
    free(err);
}
END_TEST

START_TEST(failure_exits_1_with_file_and_line)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, good, fail_trace), 1);
    contains(out, "FAIL     ");
    contains(out, "fail.trace:6: t1 Inquiry (layer H): data-in: 7 byte(s) differ");
    contains(out, "scsisim run: 6 traces, ");
    contains(out, " 5 passed, 1 failed");
    free(out);
    free(err);
}
END_TEST

START_TEST(unusable_exits_2_and_wins)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, fail_trace, bad_trace), 2);
    contains(out, "bad.trace:5:17: error: unknown verb 'STATSU'; did you mean 'STATUS'?");
    contains(out, "1 unusable");
    free(out);
    free(err);

    ck_assert_int_eq(RUN(&out, &err, "/nonexistent/folder"), 2);
    contains(err, "/nonexistent/folder: No such file or directory");
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--jobs", "0", good), 2);
    contains(err, "--jobs needs a number");
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--shard", "3/2", good), 2);
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--no-such-option"), 2);
    contains(err, "unknown option '--no-such-option'");
    free(out);
    free(err);
}
END_TEST

/* Issue 12: a skip is never a pass.  Counted in the summary line, marked as a
 * skip in every report, a failure with --strict; an unknown requirement is
 * unusable input with its place. */
START_TEST(skips_are_never_passes)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, good), 0);
    contains(out, " 5 passed, 0 failed, 0 skipped, ");
    free(out);
    free(err);

    ck_assert_int_eq(RUN(&out, &err, good, skip_trace), 0);
    contains(out, "SKIP     ");
    contains(out, "(skipped: needs 'controller-hold'");
    contains(out, " 5 passed, 0 failed, 1 skipped, ");
    free(out);
    free(err);

    ck_assert_int_eq(RUN(&out, &err, "--strict", good, skip_trace), 1);
    contains(out, " 5 passed, 0 failed, 1 skipped (--strict: a skip fails the run), ");
    free(out);
    free(err);

    /* TAP: "ok # SKIP", or with --strict "not ok" and no SKIP directive. */
    ck_assert_int_eq(RUN(&out, &err, "--tap", skip_trace), 0);
    contains(out, "ok 1 - ");
    contains(out, " # SKIP needs 'controller-hold'");
    ck_assert_ptr_null(strstr(out, "not ok"));
    contains(err, "1 skipped");
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--tap", "--strict", skip_trace), 1);
    contains(out, "not ok 1 - ");
    contains(out, "severity: skipped (--strict: a skip fails)");
    ck_assert_ptr_null(strstr(out, "# SKIP"));
    free(out);
    free(err);

    /* JUnit and JSON, without and with --strict. */
    for (int strict = 0; strict < 2; strict++) {
        char xml[] = "/tmp/rt-junit-XXXXXX", json[] = "/tmp/rt-json-XXXXXX";
        int fx = mkstemp(xml), fj = mkstemp(json);
        ck_assert(fx >= 0 && fj >= 0);
        close(fx);
        close(fj);
        int rc = strict ? RUN(&out, &err, "--strict", "--junit", xml, "--json", json, skip_trace)
                        : RUN(&out, &err, "--junit", xml, "--json", json, skip_trace);
        ck_assert_int_eq(rc, strict ? 1 : 0);
        free(out);
        free(err);
        size_t len;
        char *doc = tt_read_file(xml, &len);
        ck_assert_ptr_nonnull(doc);
        ck_assert_msg(!tt_xml_check(doc, len, (struct tt_xml_element[64]){ 0 }, 64, &(size_t){ 0 }), "%s", doc);
        if (strict) {
            contains(doc, "<failure type=\"skipped\" message=\"needs &apos;controller-hold&apos;");
            ck_assert_ptr_null(strstr(doc, "<skipped"));
        } else {
            contains(doc, "<skipped message=\"needs &apos;controller-hold&apos;");
            contains(doc, "skipped=\"1\"");
        }
        free(doc);
        doc = tt_read_file(json, &len);
        ck_assert_ptr_nonnull(doc);
        ck_assert_msg(!tt_json_check(doc, len), "%s", doc);
        contains(doc, "\"outcome\":\"skip\"");
        contains(doc, "\"skipped\":1");
        contains(doc, strict ? "\"exit_code\":1,\"strict\":true" : "\"exit_code\":0,\"strict\":false");
        free(doc);
        unlink(xml);
        unlink(json);
    }

    /* A misspelt @requires: unusable, exit 2, the place of the name. */
    ck_assert_int_eq(RUN(&out, &err, good, unknown_req), 2);
    contains(out, "unknown-requires.trace:4:11: error: unknown feature 'power-cylce' in @requires; did you mean "
                  "'power-cycle'?");
    contains(out, "1 unusable");
    free(out);
    free(err);
}
END_TEST

START_TEST(tap_report)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, "--tap", fail_trace, good), 1);
    ck_assert_msg(!strncmp(out, "TAP version 13\n1..6\n", 20), "%s", out);
    contains(out, "not ok 1 - ");
    contains(out, "ok 2 - ");
    contains(out, "    - at: \"");
    contains(err, "scsisim run: 6 traces"); /* the summary goes to stderr with --tap */
    free(out);
    free(err);
}
END_TEST

START_TEST(junit_and_json_reports)
{
    char xml[] = "/tmp/rt-junit-XXXXXX", json[] = "/tmp/rt-json-XXXXXX";
    int fx = mkstemp(xml), fj = mkstemp(json);
    ck_assert(fx >= 0 && fj >= 0);
    close(fx);
    close(fj);
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, "--junit", xml, "--json", json, fail_trace, good, bad_trace), 2);
    free(out);
    free(err);

    size_t len;
    char *doc = tt_read_file(xml, &len);
    ck_assert_ptr_nonnull(doc);
    struct tt_xml_element el[256];
    size_t n = 0;
    const char *why = tt_xml_check(doc, len, el, 256, &n);
    ck_assert_msg(!why, "JUnit XML: %s", why);
    ck_assert_str_eq(el[0].name, "testsuites");
    size_t suites = 0, failures = 0, errors = 0;
    for (size_t i = 0; i < n; i++) {
        suites += !strcmp(el[i].name, "testsuite");
        failures += !strcmp(el[i].name, "failure");
        errors += !strcmp(el[i].name, "error");
    }
    ck_assert_uint_eq(suites, 7);
    ck_assert_uint_eq(failures, 1);
    ck_assert_uint_eq(errors, 1);
    free(doc);

    doc = tt_read_file(json, &len);
    ck_assert_ptr_nonnull(doc);
    why = tt_json_check(doc, len);
    ck_assert_msg(!why, "JSON: %s", why);
    ck_assert_ptr_nonnull(strstr(doc, "\"exit_code\":2"));
    free(doc);
    unlink(xml);
    unlink(json);

    /* --json - : the JSON alone on standard output. */
    ck_assert_int_eq(RUN(&out, &err, "--json", "-", good), 0);
    ck_assert_msg(!tt_json_check(out, strlen(out)), "stdout is not JSON:\n%.2000s", out);
    contains(err, "scsisim run: 5 traces");
    free(out);
    free(err);
}
END_TEST

START_TEST(filter_and_shard)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, "--filter", "pass*", good), 0);
    contains(out, "scsisim run: 1 trace, 2 commands replayed, 1 passed");
    free(out);
    free(err);
    /* Five traces: shard 1/2 takes the 1st, 3rd, 5th, shard 2/2 the others. */
    ck_assert_int_eq(RUN(&out, &err, "--shard", "1/2", good), 0);
    contains(out, "scsisim run: 3 traces");
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--shard=2/2", "-j", "1", good), 0);
    contains(out, "scsisim run: 2 traces");
    free(out);
    free(err);
    /* Issue 10: a filter that matches nothing is a mistake, not a pass. */
    ck_assert_int_eq(RUN(&out, &err, "--filter", "nothing-matches-*", good), 2);
    contains(err, "no trace to replay");
    free(out);
    free(err);
}
END_TEST

START_TEST(bundled_suite_without_a_path)
{
    char *out, *err;
    setenv("SCSISIM_TRACES", good, 1);
    ck_assert_int_eq(run_scsisim((const char *const[]){ "run", NULL }, &out, &err), 0);
    contains(out, "scsisim run: 5 traces");
    free(out);
    free(err);
    setenv("SCSISIM_TRACES", "/nonexistent/suite", 1);
    ck_assert_int_eq(run_scsisim((const char *const[]){ "run", NULL }, &out, &err), 2);
    contains(err, "the bundled trace suite was not found (looked in /nonexistent/suite)");
    free(out);
    free(err);
    /* Next to the executable: traces/ of this tree; its smoke traces pass. */
    unsetenv("SCSISIM_TRACES");
    ck_assert_int_eq(RUN(&out, &err, "--filter", "*/smoke/*"), 0);
    contains(out, "smoke/inquiry.trace");
    free(out);
    free(err);
}
END_TEST

START_TEST(delegation)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, "--driver", proc_scsisim_bin(), good), 0);
    contains(out, "scsisim run: 5 traces");
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--mutant", "NO-SUCH", good), 2);
    contains(err, "no build of mutant 'NO-SUCH'");
    contains(err, "make mutants");
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--driver", "/nonexistent/scsisim", good), 2);
    free(out);
    free(err);
    ck_assert_int_eq(run_scsisim((const char *const[]){ "run", "--help", NULL }, &out, &err), 0);
    contains(out, "usage: scsisim run");
    free(out);
    free(err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_cli");
    TCase *t = tcase_create("cli");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, all_pass_exits_0);
    tcase_add_test(t, failure_exits_1_with_file_and_line);
    tcase_add_test(t, unusable_exits_2_and_wins);
    tcase_add_test(t, skips_are_never_passes);
    tcase_add_test(t, tap_report);
    tcase_add_test(t, junit_and_json_reports);
    tcase_add_test(t, filter_and_shard);
    tcase_add_test(t, bundled_suite_without_a_path);
    tcase_add_test(t, delegation);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
