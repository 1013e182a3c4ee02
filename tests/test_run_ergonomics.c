/* tests/test_run_ergonomics.c — `scsisim run` in CI (issue 10, item 7): the
 * text report streams trace by trace into a pipe; an empty folder, a
 * --filter matching nothing and a trace with no records are exit 2; repeated
 * --filter options combine; an unwritable --junit / --json path is exit 2
 * before any trace runs; counts agree in number; data diffs show ASCII and
 * decode known fields. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"

static char good[512], pass_trace[512], fail_trace[512], dir[256];

static void setup(void)
{
    rt_data("good", good, sizeof good);
    rt_data("good/pass.trace", pass_trace, sizeof pass_trace);
    rt_data("fail.trace", fail_trace, sizeof fail_trace);
    proc_tmpdir(dir, sizeof dir, "ergo");
    unsetenv("SCSISIM_TRACES");
}

static void teardown(void)
{
    proc_rmdir(dir);
}

static int run_scsisim(const char *const *argv, char **out, char **err)
{
    struct proc_result r;
    proc_scsisim(argv, &r);
    *out = r.out;
    *err = r.err;
    return r.status;
}
#define RUN(out, err, ...) run_scsisim((const char *const[]){ "run", __VA_ARGS__, NULL }, out, err)

static void contains(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle), "'%s' not in:\n%.2000s", needle, hay);
}

/* The second trace is a FIFO: its replay cannot start until the test writes
 * it, and the test writes it only after reading the first trace's result
 * from the pipe.  A report written at the end would never arrive, and the
 * test would fail at its time limit: no timing is involved. */
START_TEST(streams_per_trace_into_a_pipe)
{
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/second.trace", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = proc_spawn((const char *const[]){ proc_scsisim_bin(), "run", "--jobs", "1", pass_trace, fifo, NULL },
                           p[1], -1, PROC_DIE_WITH_US);
    close(p[1]);
    FILE *out = fdopen(p[0], "r");
    ck_assert_ptr_nonnull(out);
    char line[1024];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, out));
    ck_assert_msg(!strncmp(line, "PASS     ", 9) && strstr(line, "pass.trace"), "%s", line);
    /* Only now the second trace exists. */
    int w = open(fifo, O_WRONLY);
    ck_assert_int_ge(w, 0);
    static const char second[] = "#!scsitrace 1\n@drive 0:0 capacity=64M\n"
                                 "+0.000 H > - t1 CMD 00 00 00 00 00 00\n+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n";
    ck_assert_int_eq(write(w, second, sizeof second - 1), (ssize_t)(sizeof second - 1));
    close(w);
    char rest[4096];
    size_t n = fread(rest, 1, sizeof rest - 1, out);
    rest[n] = '\0';
    fclose(out);
    ck_assert_int_eq(proc_wait(pid, -1), 0);
    contains(rest, "second.trace");
    contains(rest, "2 traces: 2 passed");
    /* Each trace once: the streamed lines are not repeated at the end. */
    ck_assert_ptr_null(strstr(rest, "pass.trace"));
}
END_TEST

START_TEST(nothing_to_run_is_exit_2)
{
    char *out, *err;
    /* An empty folder. */
    ck_assert_int_eq(RUN(&out, &err, dir), 2);
    contains(err, "no *.trace file in this folder or below it");
    free(out);
    free(err);
    /* A --filter that matches nothing. */
    ck_assert_int_eq(RUN(&out, &err, "--filter", "no-such-*", good), 2);
    contains(err, "none of the 5 traces found matches --filter 'no-such-*'");
    free(out);
    free(err);
    /* A trace with no records. */
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty.trace", dir);
    FILE *f = fopen(empty, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n# only headers\n@drive 0:0 capacity=64M\n", f);
    fclose(f);
    ck_assert_int_eq(RUN(&out, &err, empty), 2);
    contains(out, "UNUSABLE");
    contains(out, "empty.trace: error: the trace has no records");
    ck_assert_ptr_null(strstr(out, "1 passed"));
    free(out);
    free(err);
}
END_TEST

START_TEST(filters_combine)
{
    char *out, *err;
    ck_assert_int_eq(RUN(&out, &err, "--filter", "pass.trace", "--filter=fua-*", good), 0);
    contains(out, "pass.trace");
    contains(out, "fua-durable.trace");
    contains(out, "scsisim run: 2 traces, ");
    ck_assert_ptr_null(strstr(out, "split-transfer"));
    free(out);
    free(err);
}
END_TEST

START_TEST(report_paths_checked_first)
{
    char *out, *err;
    char bad[512];
    snprintf(bad, sizeof bad, "%s/no-such-folder/r.xml", dir);
    ck_assert_int_eq(RUN(&out, &err, "--junit", bad, good), 2);
    contains(err, "cannot write the JUnit report to ");
    /* Before any trace ran: no result line, no summary. */
    ck_assert_ptr_null(strstr(out, "PASS"));
    ck_assert_ptr_null(strstr(out, "traces"));
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, "--json", bad, good), 2);
    contains(err, "cannot write the JSON report to ");
    ck_assert_ptr_null(strstr(out, "PASS"));
    free(out);
    free(err);
}
END_TEST

START_TEST(counts_agree_in_number)
{
    char *out, *err;
    char one[512];
    snprintf(one, sizeof one, "%s/one.trace", dir);
    FILE *f = fopen(one, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n@drive 0:0 capacity=64M\n"
          "+0.000 H > - t1 CMD 00 00 00 00 00 00\n+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n", f);
    fclose(f);
    ck_assert_int_eq(RUN(&out, &err, one), 0);
    contains(out, "(1 check, ");
    contains(out, "1 trace: 1 passed, 0 failed, 0 skipped, 0 unusable (1 check, 0 failed)");
    contains(out, "scsisim run: 1 trace, 1 command replayed");
    ck_assert_ptr_null(strstr(out, "1 checks"));
    free(out);
    free(err);
    ck_assert_int_eq(RUN(&out, &err, one, pass_trace), 0);
    contains(out, "2 traces: 2 passed");
    contains(out, " checks, 0 failed)");
    free(out);
    free(err);
}
END_TEST

/* A data-in diff: ASCII beside the hex, and READ CAPACITY's block length decoded. */
START_TEST(data_diff_ascii_and_fields)
{
    char *out, *err;
    char rc10[512];
    snprintf(rc10, sizeof rc10, "%s/capacity.trace", dir);
    FILE *f = fopen(rc10, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n@drive 0:0 capacity=64M\n"
          "+0.000 H > - t1 CMD 00 00 00 00 00 00\n+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
          "+0.001 H > - t2 CMD 25 00 00 00 00 00 00 00 00 00 len=8 dir=in\n"
          "+0.001 H < - t2 DIN 00 01 ff ff 00 00 10 00\n+0.001 H < - t2 STATUS GOOD\n", f);
    fclose(f);
    ck_assert_int_eq(RUN(&out, &err, rc10), 1);
    contains(out, "      0x000000  00 01 ff ff 00 00 10 00 | 00 01 ff ff 00 00 02 00  |........||........|\n");
    contains(out, "    field     block length: expected 4096, actual 512 (bytes 4..7)\n");
    ck_assert_ptr_null(strstr(out, "last LBA")); /* equal fields are not shown */
    free(out);
    free(err);
}
END_TEST

/* MODE SENSE data: the pages are found where the data puts them, and their
 * bit fields named (issue 10: "decode ... mode-page fields"). */
START_TEST(data_diff_mode_page_fields)
{
    char *out, *err;
    char path[512];
    snprintf(path, sizeof path, "%s/mode.trace", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    /* The real answer has WCE 1 (byte 14) and D_SENSE 0 (byte 34); the
     * trace expects the opposite of both. */
    fputs("#!scsitrace 1\n@drive 0:0 capacity=64M\n"
          "+0.000 H > - t1 CMD 00 00 00 00 00 00\n+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
          "+0.001 H > - t2 CMD 1a 00 3f 00 ff 00 len=255 dir=in\n"
          "+0.001 H < - t2 DIN 2b 00 10 08 00 02 00 00 00 00 02 00 88 12 00 00 00*16 8a 0a 04 10 ..\n"
          "+0.001 H < - t2 STATUS GOOD\n", f);
    fclose(f);
    ck_assert_int_eq(RUN(&out, &err, path), 1);
    contains(out, "    field     caching page WCE: expected 0, actual 1 (byte 14, mask 0x04)\n");
    contains(out, "    field     control page D_SENSE: expected 1, actual 0 (byte 34, mask 0x04)\n");
    ck_assert_ptr_null(strstr(out, "mode data length")); /* equal fields are not shown */
    ck_assert_ptr_null(strstr(out, "RCD"));
    free(out);
    free(err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("run_ergonomics");
    TCase *t = tcase_create("ci");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, streams_per_trace_into_a_pipe);
    tcase_add_test(t, nothing_to_run_is_exit_2);
    tcase_add_test(t, filters_combine);
    tcase_add_test(t, report_paths_checked_first);
    tcase_add_test(t, counts_agree_in_number);
    tcase_add_test(t, data_diff_ascii_and_fields);
    tcase_add_test(t, data_diff_mode_page_fields);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
