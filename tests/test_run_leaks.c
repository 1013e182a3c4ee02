/* tests/test_run_leaks.c — the descriptor leak check of `scsisim run`
 * (cli/run_leaks.h).
 *
 * The check itself, in this process: a descriptor opened between the two
 * sets is named with its target and fails the run as a "(run)" result; one
 * closed again is not; one whose number was reused for another file is; one
 * open before and closed between (by code that never opened it) is too.
 * (cli/ is no library the tests link, so the file is compiled in here.)
 *
 * End to end: a loaded core that leaks a memfd per start
 * (tests/fixtures/leak_fd.c) fails every trace it ran in its shard child,
 * with exit 1, in the summary line, TAP, JSON and JUnit; one that closes
 * descriptor 0 (tests/fixtures/close_fd0.c) fails its trace; scsisim's own core
 * over the same traces — in process, isolated and in two processes — leaks
 * nothing and passes (the check must never fail an honest run).  Nor does a
 * run leave its private media directory behind, however its traces ran. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/run_leaks.c"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static char fixtures[1024], suite[1024], tmp[1024];
static const char *traces[] = { "errors/control-link.trace", "fieldbugs/F1-sync-cache-not-flushed.trace" };

static void setup(void)
{
    char dir[900];
    proc_build_dir(dir, sizeof dir);
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures", dir);
    snprintf(suite, sizeof suite, "%s/../traces", dir);
    unsetenv("SCSISIM_TRACES");
    unsetenv("SCSISIM_DRIVER_CORE");
    proc_tmpdir(tmp, sizeof tmp, "leaks");
}

static void teardown(void)
{
    proc_rmdir(tmp);
}

static void contains(const char *hay, const char *needle)
{
    ck_assert_msg(hay && strstr(hay, needle), "'%s' not in:\n%.3000s", needle, hay ? hay : "(null)");
}

static const char *const paths[] = { "a.trace", "b.trace" };

/* One memfd opened between the sets: a failed "(run)" result naming it. */
START_TEST(a_descriptor_left_open_fails_the_run)
{
    run_fds_warm();
    struct run_fds before;
    ck_assert_int_eq(run_fds_take(&before), 0);
    int fd = memfd_create("scsisim-test-leak", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *added;
    ck_assert_int_eq(run_fds_check_run(&before, &run, paths, 2, &added), 0);
    ck_assert_ptr_nonnull(added);
    ck_assert_uint_eq(run.n_files, 1);
    const struct trace_file_result *f = &run.files[0];
    ck_assert_str_eq(f->path, "(run)");
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    ck_assert_uint_eq(f->n_checks, 1);
    const struct trace_check *c = &f->checks[0];
    ck_assert_int_eq(c->kind, TRACE_CHECK_LEAK);
    ck_assert_uint_eq(c->failures, TRACE_FAIL_LEAK);
    char want[128];
    snprintf(want, sizeof want, "memfd:scsisim-test-leak (deleted) (fd %d)", fd);
    contains(c->summary, "1 file descriptor left open after the 2 traces of the run had torn down");
    contains(c->summary, want);
    contains(c->detail->note, "2 traces ran (the first and last given: a.trace, b.trace)");
    contains(c->detail->note, "--isolate");
    ck_assert_int_eq(trace_run_exit_code(&run), TRACE_EXIT_FAIL);
    trace_run_free(&run);

    /* Closed again: nothing to report. */
    close(fd);
    trace_run_init(&run);
    ck_assert_int_eq(run_fds_check_run(&before, &run, paths, 2, &added), 0);
    ck_assert_ptr_null(added);
    ck_assert_uint_eq(run.n_files, 0);
    trace_run_free(&run);
    run_fds_free(&before);
}
END_TEST

/* A number reused for another file is a new descriptor; several with one
 * target are named once, with their count. */
START_TEST(reused_numbers_and_many_alike)
{
    int keep = memfd_create("scsisim-test-first", MFD_CLOEXEC);
    ck_assert_int_ge(keep, 0);
    struct run_fds before;
    ck_assert_int_eq(run_fds_take(&before), 0);
    close(keep);
    int again = memfd_create("scsisim-test-second", MFD_CLOEXEC);
    ck_assert_int_eq(again, keep); /* the lowest free number */
    int more[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(more[i] = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
    struct run_fds after;
    ck_assert_int_eq(run_fds_take(&after), 0);
    struct tbuf text = { 0 };
    ck_assert_uint_eq(run_fds_new(&before, &after, &text), 4);
    contains(tbuf_str(&text), "memfd:scsisim-test-second (deleted) (fd");
    char want[64];
    snprintf(want, sizeof want, "/dev/null x3 (fd %d and up)", more[0]);
    contains(tbuf_str(&text), want);
    ck_assert_ptr_null(strstr(tbuf_str(&text), "scsisim-test-first"));
    tbuf_free(&text);
    run_fds_free(&after);
    run_fds_free(&before);
    close(again);
    for (int i = 0; i < 3; i++)
        close(more[i]);
}
END_TEST

/* A descriptor open before and closed between the sets: named as closed. */
START_TEST(a_descriptor_closed_by_the_traces_fails_the_run)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct run_fds before;
    ck_assert_int_eq(run_fds_take(&before), 0);
    close(fd);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *added;
    ck_assert_int_eq(run_fds_check_run(&before, &run, paths, 1, &added), 0);
    ck_assert_ptr_nonnull(added);
    const struct trace_check *c = &run.files[0].checks[0];
    char want[160];
    snprintf(want, sizeof want, "1 file descriptor the run had open before the traces was closed during it: "
             "/dev/null (fd %d)", fd);
    contains(c->summary, want);
    ck_assert_ptr_null(strstr(c->summary, "left open"));
    contains(c->detail->note, "the trace that ran: a.trace");
    trace_run_free(&run);
    run_fds_free(&before);
}
END_TEST

/* scsisim run over the two traces with extra arguments; reports in tmp. */
static void run_two(const char *const *extra, struct proc_result *r)
{
    static char p[2][1200], json[1200], junit[1200];
    snprintf(json, sizeof json, "%s/run.json", tmp);
    snprintf(junit, sizeof junit, "%s/run.xml", tmp);
    const char *argv[24] = { "run", "-j1", "--tap", "--timeout", "10", "--json", json, "--junit", junit };
    size_t a = 9;
    for (size_t i = 0; extra[i]; i++)
        argv[a++] = extra[i];
    for (int i = 0; i < 2; i++) {
        snprintf(p[i], sizeof p[i], "%s/%s", suite, traces[i]);
        argv[a++] = p[i];
    }
    argv[a] = NULL;
    proc_scsisim(argv, r);
}

static char *slurp(const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "%s not written", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* run_two with the fixture driver core NAME.so loaded. */
static void run_two_with_core(const char *name, struct proc_result *r)
{
    char so[1200];
    snprintf(so, sizeof so, "%s/%s.so", fixtures, name);
    const char *extra[] = { "--driver-core", so, NULL };
    run_two(extra, r);
}

/* The leaking core: each trace fails in its shard child, in every report. */
START_TEST(a_leaking_core_fails_each_trace)
{
    struct proc_result r;
    run_two_with_core("leak_fd", &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "not ok 1 - ");
    contains(r.out, "not ok 2 - ");
    contains(r.out, "1 file descriptor left open after this trace had torn down: /memfd:scsisim-test-leak (deleted)");
    contains(r.err, "0 passed, 2 failed");
    contains(slurp("run.json"), "\"kind\":\"leak\"");
    contains(slurp("run.json"), "\"failures\":[\"leak\"]");
    contains(slurp("run.xml"), "type=\"leak\"");
    contains(slurp("run.xml"), "memfd:scsisim-test-leak");
    proc_result_free(&r);
}
END_TEST

/* A core that closes descriptor 0: its trace fails, naming it. */
START_TEST(a_core_closing_what_it_never_opened_fails)
{
    struct proc_result r;
    run_two_with_core("close_fd0", &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "not ok 1 - ");
    contains(r.out, "1 file descriptor the run had open before this trace was closed during it: /dev/null (fd 0)");
    proc_result_free(&r);
}
END_TEST

/* scsisim's own core leaks nothing, however the traces run. */
START_TEST(an_honest_run_passes)
{
    static const char *const modes[][3] = { { NULL }, { "--isolate", NULL }, { "--two-process", NULL },
                                             { "-j2", NULL } };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct proc_result r;
        run_two(modes[m], &r);
        ck_assert_msg(r.status == 0, "mode %s: exit %d: %s%s", modes[m][0] ? modes[m][0] : "in process", r.status,
                      r.out, r.err);
        ck_assert_msg(!strstr(r.out, "left open"), "%s", r.out);
        contains(r.err, "2 passed, 0 failed");
        proc_result_free(&r);
    }
}
END_TEST

/* The private media directory (no --media-dir): made once by the run and
 * removed at its exit, also when its traces ran in shard children, which
 * leave with _exit (each used to leave its own directory behind, in memory
 * since the directory is in /dev/shm). */
START_TEST(no_private_media_directory_is_left_behind)
{
    static const char *const modes[][4] = { { NULL }, { "--isolate", NULL }, { "--isolate", "-j2", NULL },
                                             { "--two-process", NULL } };
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/tmpdir", tmp);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    setenv("TMPDIR", dir, 1);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        char p[2][1100];
        snprintf(p[0], sizeof p[0], "%s/sync-cache/file-media-flush-power-cut.trace", suite);
        snprintf(p[1], sizeof p[1], "%s/store/reopen-journal.trace", suite);
        const char *argv[8] = { "run" };
        int a = 1;
        for (int i = 0; modes[m][i]; i++)
            argv[a++] = modes[m][i];
        argv[a++] = p[0];
        argv[a++] = p[1];
        argv[a] = NULL;
        struct proc_result r;
        proc_scsisim(argv, &r);
        const char *mode = modes[m][0] ? modes[m][0] : "in process";
        ck_assert_msg(r.status == 0, "mode %s: exit %d: %s%s", mode, r.status, r.out, r.err);
        contains(r.out, "2 passed, 0 failed");
        proc_result_free(&r);
        DIR *d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        struct dirent *e;
        while ((e = readdir(d)))
            ck_assert_msg(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."), "mode %s%s%s: %s/%s left behind",
                          mode, modes[m][1] ? " " : "", modes[m][1] ? modes[m][1] : "", dir, e->d_name);
        closedir(d);
    }
    unsetenv("TMPDIR");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_leaks");
    TCase *tc = tcase_create("leaks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_descriptor_left_open_fails_the_run);
    tcase_add_test(tc, reused_numbers_and_many_alike);
    tcase_add_test(tc, a_descriptor_closed_by_the_traces_fails_the_run);
    tcase_add_test(tc, a_leaking_core_fails_each_trace);
    tcase_add_test(tc, a_core_closing_what_it_never_opened_fails);
    tcase_add_test(tc, an_honest_run_passes);
    tcase_add_test(tc, no_private_media_directory_is_left_behind);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
