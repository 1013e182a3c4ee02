/* tests/test_shrink.c — `scsisim shrink`, the built binary: the F1 field-bug
 * trace padded with 18 unrelated commands shrinks, against the F1 mutant, to
 * a few tasks that still fail with the mutant on the same check and pass
 * with scsisim's own core; a MODE SENSE's data-in is cut to the byte the F4
 * mutant changes; a passing trace is exit 1, a trace that does not
 * parse exit 2 with file:line:column.  The mutant's core is built by
 * `make check` (and `make mutants`) before the tests run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"
#include "tests/support/trace_testutil.h"

static char dir[256];

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "shrink");
}

static void teardown(void)
{
    proc_rmdir(dir);
}

static void contains(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle), "'%s' not in:\n%.3000s", needle, hay);
}

static int scsisim(const char *const *argv, struct proc_result *r)
{
    proc_scsisim(argv, r);
    return r->status;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "%s not written", path);
    char *buf = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Lines of text that start with prefix and contain needle. */
static unsigned count_lines(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), p);
        n += strstr(line, needle) != NULL;
    }
    return n;
}

/* The F1 trace with 9 commands (TEST UNIT READY, INQUIRY, READ elsewhere)
 * before its write and 9 before its final read. */
static void write_padded(const char *path)
{
    char f1[512];
    tt_data_path("../../../traces/fieldbugs", "F1-sync-cache-not-flushed.trace", f1, sizeof f1);
    char *src = read_all(f1);
    FILE *out = fopen(path, "w");
    ck_assert_ptr_nonnull(out);
    unsigned k = 0;
    for (char *line = strtok(src, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "- H > - dd CMD", 14) || !strncmp(line, "- H > - rd CMD", 14)) {
            for (unsigned j = 0; j < 3; j++, k++) {
                fprintf(out, "- H > - t%u CMD 00 00 00 00 00 00\n", k);
                fprintf(out, "- H < - t%u STATUS GOOD|CHECK UNIT_ATTENTION/0x29/0x01\n", k);
                fprintf(out, "- H > - i%u CMD 12 00 00 00 24 00 len=36 dir=in\n", k);
                fprintf(out, "- H < - i%u STATUS GOOD\n", k);
                fprintf(out, "- H > - r%u CMD 28 00 00 00 10 00 00 00 01 00 len=512 dir=in\n", k);
                fprintf(out, "- H < - r%u DIN 00*512\n", k);
                fprintf(out, "- H < - r%u STATUS GOOD\n", k);
            }
        }
        fprintf(out, "%s\n", line);
    }
    fclose(out);
    free(src);
}

START_TEST(shrinks_padded_f1_against_the_mutant)
{
    char big[512], small[512];
    snprintf(big, sizeof big, "%s/padded.trace", dir);
    snprintf(small, sizeof small, "%s/small.trace", dir);
    write_padded(big);
    struct proc_result r;

    /* The padded trace: passes with the real core, fails with F1 at check-media. */
    ck_assert_int_eq(scsisim((const char *const[]){ "run", big, NULL }, &r), 0);
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "run", "--mutant", "F1", big, NULL }, &r), 1);
    contains(r.out, "check-media (layer H): media:");
    contains(r.out, "23 commands replayed");
    proc_result_free(&r);

    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", big, "-o", small, "--mutant", "F1", NULL }, &r), 0);
    contains(r.err, "fails at line");
    contains(r.err, "with scsisim's own core it passes");
    contains(r.err, "units left after");
    proc_result_free(&r);

    char *text = read_all(small);
    contains(text, "#!scsitrace 1\n");
    contains(text, "@title \"F1: SYNCHRONIZE CACHE must flush the controller's cache\"");
    contains(text, "@drive 0:0 capacity=16M write-cache=on battery=absent");
    contains(text, "# Field bug F1.");        /* the leading comment block stays */
    contains(text, " CMD 35 00 00 00 00 00"); /* the SYNCHRONIZE CACHE the bug is about */
    unsigned tasks = count_lines(text, " CMD ");
    ck_assert_msg(tasks >= 2 && tasks <= 6, "%u tasks left:\n%s", tasks, text);
    ck_assert_uint_eq(count_lines(text, "CMD 12 00"), 0); /* no INQUIRY padding left */
    free(text);

    /* Still the same failure with the mutant; a pass with the real core. */
    ck_assert_int_eq(scsisim((const char *const[]){ "run", "--mutant", "F1", small, NULL }, &r), 1);
    contains(r.out, "check-media (layer H): media:");
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "run", small, NULL }, &r), 0);
    proc_result_free(&r);
}
END_TEST

/* The data phase: a MODE SENSE whose caching page differs under the F4
 * mutant (the wrong caching identity) keeps its data-in only up to the byte
 * that differs (WCE, byte 14), then "..". */
START_TEST(cuts_data_in_to_the_difference)
{
    char big[512], small[512];
    snprintf(big, sizeof big, "%s/mode.trace", dir);
    snprintf(small, sizeof small, "%s/small.trace", dir);
    FILE *f = fopen(big, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n@drive 0:0 capacity=64M\n"
          "- H > - t0 CMD 00 00 00 00 00 00\n- H < - t0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
          "- H > - t1 CMD 00 00 00 00 00 00\n- H < - t1 STATUS GOOD\n"
          "- H > - m CMD 1a 00 3f 00 ff 00 len=255 dir=in\n"
          "- H < - m DIN 2b 00 10 08 00 02 00 00 00 00 02 00 88 12 04 00 00*16 8a 0a 00 10 00*8\n"
          "- H < - m STATUS GOOD resid=211\n"
          "- H > - t2 CMD 00 00 00 00 00 00\n- H < - t2 STATUS GOOD\n", f);
    fclose(f);
    struct proc_result r;
    ck_assert_int_eq(scsisim((const char *const[]){ "run", big, NULL }, &r), 0);
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", big, "-o", small, "--mutant", "F4", NULL }, &r), 0);
    contains(r.err, "data: 0 data-in expectations dropped, 1 cut short");
    proc_result_free(&r);
    char *text = read_all(small);
    contains(text, " DIN 2b 00 10 08 00 02 00 00 00 00 02 00 88 12 04 ..\n");
    ck_assert_uint_eq(count_lines(text, " CMD "), 2); /* the TUR that takes the power-on attention, and MODE SENSE */
    free(text);
    ck_assert_int_eq(scsisim((const char *const[]){ "run", "--mutant", "F4", small, NULL }, &r), 1);
    contains(r.out, "Mode sense(6) (layer H): data-in: 1 byte(s) differ, first at offset 14");
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "run", small, NULL }, &r), 0);
    proc_result_free(&r);
}
END_TEST

START_TEST(passing_trace_exits_1)
{
    char f1[512], small[512];
    tt_data_path("../../../traces/fieldbugs", "F1-sync-cache-not-flushed.trace", f1, sizeof f1);
    snprintf(small, sizeof small, "%s/small.trace", dir);
    struct proc_result r;
    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", f1, "-o", small, NULL }, &r), 1);
    contains(r.err, "does not fail");
    contains(r.err, "nothing to shrink");
    ck_assert_int_ne(access(small, F_OK), 0);
    proc_result_free(&r);
}
END_TEST

START_TEST(bad_input_exits_2)
{
    char bad[512], small[512];
    snprintf(bad, sizeof bad, "%s/bad.trace", dir);
    snprintf(small, sizeof small, "%s/small.trace", dir);
    FILE *f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n- H > - a CMD zz\n", f);
    fclose(f);
    struct proc_result r;
    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", bad, "-o", small, NULL }, &r), 2);
    contains(r.err, "bad.trace:2:");
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", bad, NULL }, &r), 2);
    contains(r.err, "no output file");
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", bad, "-o", small, "--seconds", "0", NULL }, &r), 2);
    contains(r.err, "--seconds");
    proc_result_free(&r);
    ck_assert_int_eq(scsisim((const char *const[]){ "shrink", "--help", NULL }, &r), 0);
    contains(r.out, "usage: scsisim shrink");
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shrink");
    TCase *t = tcase_create("shrink");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, shrinks_padded_f1_against_the_mutant);
    tcase_add_test(t, cuts_data_in_to_the_difference);
    tcase_add_test(t, passing_trace_exits_1);
    tcase_add_test(t, bad_input_exits_2);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
