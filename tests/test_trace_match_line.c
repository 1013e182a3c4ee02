/* tests/test_trace_match_line.c — a trace's own match level, `@match LEVEL`
 * (docs/trace-format.md, "Device lines"; docs/replay.md, "Matching
 * levels"): parsed, printed, refused with a located error when wrong, and
 * applied by `scsisim run` unless the run's --match overrides it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/format/trace_print.h"
#include "conformance/report/judge.h"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

/* An INQUIRY whose expected vendor is not the simulator's: only the status
 * level lets it pass. */
#define BODY                                                                                      \
    "+0 H > - i1 CMD 12 00 00 00 24 00 len=36 dir=in\n"                                           \
    "+0 H < - i1 DIN 00 00 ?? ?? ?? 00 ?? ?? \"NOTSCSI\":8 ??*16 ??*4\n"                          \
    "+0 H < - i1 STATUS GOOD\n"

START_TEST(parsed_and_printed)
{
    struct located_error err;
    struct trace *t = tt_parse(V "@match status\n" BODY, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert(t->match_given);
    ck_assert_int_eq(t->match, TRACE_MATCH_STATUS);
    ck_assert_int_eq(trace_match_for(t, TRACE_MATCH_EXACT, false), TRACE_MATCH_STATUS);
    ck_assert_int_eq(trace_match_for(t, TRACE_MATCH_EXACT, true), TRACE_MATCH_EXACT); /* --match wins */
    struct tbuf b = { 0 };
    trace_fmt_line(&b, t, &t->lines[0]);
    ck_assert_str_eq(tbuf_str(&b), "@match status");
    tbuf_free(&b);
    trace_free(t);

    t = tt_parse(V BODY, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert(!t->match_given);
    ck_assert_int_eq(trace_match_for(t, TRACE_MATCH_MASKS, false), TRACE_MATCH_MASKS);
    trace_free(t);
}
END_TEST

static void refused(const char *text, const char *want)
{
    struct located_error err;
    const char *msg = tt_parse_error(text, strlen(text), &err);
    ck_assert_msg(strstr(msg, want), "'%s' not in '%s'", want, msg);
}

START_TEST(bad_lines_refused)
{
    refused(V "@match statsu\n" BODY, "t.trace:2:8: error: unknown match level 'statsu'; did you mean 'status'?");
    refused(V "@match loose\n" BODY, "t.trace:2:8: error: unknown match level 'loose'; expected exact, status or masks");
    refused(V "@match\n" BODY, "@match needs a level: exact, status or masks");
    refused(V "@match exact\n@match masks\n" BODY, "t.trace:3:8: error: @match given twice");
    refused(V "@match exact masks\n" BODY, "t.trace:2:14: error: @match takes one level");
    refused(V BODY "@match exact\n", "after the first record");
}
END_TEST

/* End to end: the trace's level judges it; --match overrides it. */
START_TEST(run_uses_trace_level)
{
    char dir[256], path[512];
    proc_tmpdir(dir, sizeof dir, "match-line");
    snprintf(path, sizeof path, "%s/m.trace", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(V "@match status\n" BODY, f);
    fclose(f);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", path, NULL }, &r);
    ck_assert_msg(r.status == 0, "exit %d:\n%s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "1 passed, 0 failed"), "%s", r.out);
    proc_result_free(&r);
    proc_scsisim((const char *const[]){ "run", "--match", "exact", path, NULL }, &r);
    ck_assert_msg(r.status == 1, "exit %d:\n%s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "data-in:"), "%s", r.out);
    proc_result_free(&r);
    /* import --match checks its level the same way */
    proc_scsisim((const char *const[]){ "import", "--match", "loose", path, NULL }, &r);
    ck_assert_msg(r.status == 2 && strstr(r.err, "--match needs exact, status or masks, not 'loose'"), "exit %d: %s",
                  r.status, r.err);
    proc_result_free(&r);
    proc_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_match_line");
    TCase *tc = tcase_create("match");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parsed_and_printed);
    tcase_add_test(tc, bad_lines_refused);
    tcase_add_test(tc, run_uses_trace_level);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
