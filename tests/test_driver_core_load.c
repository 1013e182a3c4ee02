/* tests/test_driver_core_load.c — loading a driver core at run time
 * (core/driver_core_abi.h, --driver-core): scsisim's own core as a .so passes
 * what the built-in one passes; a mutant loads as a .so and is caught; a bad
 * core is one precise error and exit 2 (not a shared object, a missing
 * symbol, a wrong ABI version, a NULL entry point, a core that fails to
 * start) for run, serve and bench; a core that segfaults on the 3rd command,
 * or hangs on it, fails the traces that reach it — with the signal, the line
 * and a backtrace, or the overrun — in the text, TAP, JUnit and JSON reports,
 * while the other traces still run and pass.  The fixture cores are
 * .c files of tests/fixtures/, built by the Makefile into build/tests/fixtures/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static char fixtures[1024], lib_core[1024], mutant_f1[1024], suite[1024];
/* Under segv3/hang3: a trace of 2 commands passes (the core breaks on the
 * 3rd), one of more fails at its 3rd. */
static const char *short_trace = "errors/control-link.trace";
static const char *long_trace = "fieldbugs/F1-sync-cache-not-flushed.trace";

static void setup(void)
{
    char dir[900];
    proc_build_dir(dir, sizeof dir);
    snprintf(fixtures, sizeof fixtures, "%s/tests/fixtures", dir);
    snprintf(lib_core, sizeof lib_core, "%s/lib/scsisim-core.so", dir);
    snprintf(mutant_f1, sizeof mutant_f1, "%s/mutants/core-F1.so", dir);
    snprintf(suite, sizeof suite, "%s/../traces", dir);
    unsetenv("SCSISIM_TRACES");
    unsetenv("SCSISIM_DRIVER_CORE");
}

static const char *fixture(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.so", fixtures, name);
    return buf;
}

static const char *trace(const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", suite, rel);
    return buf;
}

static void contains(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle), "'%s' not in:\n%.3000s", needle, hay);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "cannot open %s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

START_TEST(own_core_as_so_passes_like_builtin)
{
    char t1[1200], t2[1200];
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--driver-core", lib_core, trace(short_trace, t1, sizeof t1),
                                        trace(long_trace, t2, sizeof t2), NULL }, &r);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, " 2 passed, 0 failed");
    free(r.out);
    free(r.err);
}
END_TEST

START_TEST(mutant_loads_as_so_and_is_caught)
{
    if (access(mutant_f1, R_OK) != 0) {
        fprintf(stderr, "test_driver_core_load: %s not built (make mutants): not run\n", mutant_f1);
        ck_abort_msg("mutant core %s not built: not run (make mutants builds it)", mutant_f1);
    }
    char t[1200];
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--mutant", "F1", trace(long_trace, t, sizeof t), NULL }, &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "FAIL");
    free(r.out);
    free(r.err);
}
END_TEST

/* Each bad core, and the words its error must carry. */
static const struct {
    const char *fixture;
    const char *words[2];
} bad[] = {
    { "bad_abi", { "wrong driver-core ABI version 1; this scsisim speaks version 2", "added drv_task.attr" } },
    { "no_symbol", { "missing symbol scsisim_driver_core", "no_symbol.so" } },
    { "null_entry", { "missing entry point 'recover'", "null_entry.so" } },
    { "no_start", { "the core failed to start", "could not bring the controller up" } },
};

START_TEST(bad_core_is_exit_2_naming_the_fault)
{
    char so[1200], t[1200];
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--driver-core", fixture(bad[_i].fixture, so, sizeof so),
                                        trace(short_trace, t, sizeof t), NULL }, &r);
    ck_assert_msg(r.status == 2, "%s: exit %d: %s%s", bad[_i].fixture, r.status, r.out, r.err);
    contains(r.err, bad[_i].words[0]);
    contains(r.err, bad[_i].words[1]);
    contains(r.err, "scsisim run: --driver-core");
    free(r.out);
    free(r.err);
}
END_TEST

START_TEST(not_a_shared_object_is_exit_2)
{
    char path[] = "/tmp/scsisim-notso-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "not ELF\n", 8), 8);
    close(fd);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--driver-core", path, NULL }, &r);
    unlink(path);
    ck_assert_msg(r.status == 2, "exit %d: %s", r.status, r.err);
    contains(r.err, "cannot load it as a driver core");
    contains(r.err, path);
    free(r.out);
    free(r.err);
    proc_scsisim((const char *const[]){ "run", "--driver-core", "/nonexistent/core.so", NULL }, &r);
    ck_assert_msg(r.status == 2, "exit %d: %s", r.status, r.err);
    contains(r.err, "/nonexistent/core.so");
    free(r.out);
    free(r.err);
}
END_TEST

START_TEST(serve_and_bench_refuse_a_bad_core)
{
    char so[1200];
    struct proc_result r;
    proc_scsisim((const char *const[]){ "serve", "--listen", "127.0.0.1:0", "--driver-core",
                                        fixture("bad_abi", so, sizeof so), NULL }, &r);
    ck_assert_msg(r.status == 2, "serve: exit %d: %s", r.status, r.err);
    contains(r.err, "scsisim serve: --driver-core");
    contains(r.err, "wrong driver-core ABI version");
    free(r.out);
    free(r.err);
    proc_scsisim((const char *const[]){ "bench", "--seconds", "0.01", "--driver-core",
                                        fixture("no_symbol", so, sizeof so), NULL }, &r);
    ck_assert_msg(r.status == 2, "bench: exit %d: %s", r.status, r.err);
    contains(r.err, "scsisim bench: --driver-core");
    contains(r.err, "missing symbol scsisim_driver_core");
    free(r.out);
    free(r.err);
}
END_TEST

START_TEST(env_names_the_default_core)
{
    char so[1200], t[1200];
    setenv("SCSISIM_DRIVER_CORE", fixture("bad_abi", so, sizeof so), 1);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", trace(short_trace, t, sizeof t), NULL }, &r);
    unsetenv("SCSISIM_DRIVER_CORE");
    ck_assert_msg(r.status == 2, "exit %d: %s", r.status, r.err);
    contains(r.err, "$SCSISIM_DRIVER_CORE");
    free(r.out);
    free(r.err);
}
END_TEST

/* A core that breaks on the 3rd command: the long trace fails with the
 * reason in every report, the short one still passes. */
static void breaking_core(const char *name, const char *reason, const char *extra)
{
    char so[1200], t1[1200], t2[1200], junit[] = "/tmp/scsisim-junit-XXXXXX", json[] = "/tmp/scsisim-json-XXXXXX";
    int fd = mkstemp(junit);
    close(fd);
    fd = mkstemp(json);
    close(fd);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--driver-core", fixture(name, so, sizeof so), "--timeout", "1",
                                        "--tap", "--junit", junit, "--json", json,
                                        trace(long_trace, t1, sizeof t1), trace(short_trace, t2, sizeof t2),
                                        NULL }, &r);
    ck_assert_msg(r.status == 1, "%s: exit %d: %s%s", name, r.status, r.out, r.err);
    contains(r.out, "not ok 1 - ");
    contains(r.out, "F1-sync-cache-not-flushed.trace");
    contains(r.out, "ok 2 - ");
    contains(r.out, reason);
    contains(r.out, "F1-sync-cache-not-flushed.trace:25");  /* the 3rd command's line */
    if (extra)
        contains(r.out, extra);
    contains(r.err, "1 passed, 1 failed");
    char *x = slurp(junit);
    contains(x, reason);
    ck_assert_int_eq(count(x, "<failure"), 1);
    free(x);
    x = slurp(json);
    contains(x, reason);
    contains(x, "\"outcome\":\"fail\"");
    contains(x, "\"outcome\":\"pass\"");
    free(x);
    unlink(junit);
    unlink(json);
    free(r.out);
    free(r.err);
}

START_TEST(segfault_on_third_command_is_a_failed_trace)
{
    breaking_core("segv3", "the driver core crashed: signal 11 (SIGSEGV", "backtrace:");
}
END_TEST

START_TEST(hang_on_third_command_is_a_failed_trace)
{
    breaking_core("hang3", "the driver core hung", NULL);
}
END_TEST

/* --isolate: a child per trace with the built-in core too; the results are
 * those of the in-process run, and it cannot go with --target. */
START_TEST(isolate_runs_the_builtin_core_in_children)
{
    char t1[1200], t2[1200];
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--isolate", "--tap", trace(long_trace, t1, sizeof t1),
                                        trace(short_trace, t2, sizeof t2), NULL }, &r);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "ok 1 - ");
    contains(r.out, "ok 2 - ");
    contains(r.err, "2 passed, 0 failed");
    free(r.out);
    free(r.err);
    proc_scsisim((const char *const[]){ "run", "--isolate", "--target", "iscsi://127.0.0.1:1/iqn.x/0", t1, NULL }, &r);
    ck_assert_msg(r.status == 2, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.err, "--isolate");
    free(r.out);
    free(r.err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_core_load");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, own_core_as_so_passes_like_builtin);
    tcase_add_test(tc, mutant_loads_as_so_and_is_caught);
    tcase_add_loop_test(tc, bad_core_is_exit_2_naming_the_fault, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, not_a_shared_object_is_exit_2);
    tcase_add_test(tc, serve_and_bench_refuse_a_bad_core);
    tcase_add_test(tc, env_names_the_default_core);
    tcase_add_test(tc, segfault_on_third_command_is_a_failed_trace);
    tcase_add_test(tc, hang_on_third_command_is_a_failed_trace);
    tcase_add_test(tc, isolate_runs_the_builtin_core_in_children);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
