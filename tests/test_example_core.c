/* tests/test_example_core.c — examples/minimal-core, built the way a driver
 * author builds it: `make install` into a temporary prefix, the example's
 * sources copied from the installed share/doc/scsisim/examples, compiled
 * against the installed headers through pkg-config.  The claims of examples/minimal-core/README.md are asserted
 * here so they cannot drift:
 *   - core.so passes the whole bundled suite (--strict: no skips); the exact
 *     set of traces it fails is EXPECTED_FAILS below (none);
 *   - core-buggy.so (BUGGY=1: SYNCHRONIZE CACHE answered locally, field bug
 *     F1) is caught: the F1 field-bug traces fail, and every trace that
 *     fails sends a SYNCHRONIZE CACHE (CMD 35 or CMD 91) — nothing else;
 *   - `scsisim serve --driver-core core.so` answers iscsi-inq and
 *     iscsi-readcapacity16, and libiscsi's iscsi-test-cu -t ALL reports 0
 *     failed tests. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"
#include "tests/support/testutil.h"

/* Traces the minimal core is known to fail: none (README.md says so; with
 * ABI version 2 that includes traces/ordering/ and traces/tmf/). */
static const char *const EXPECTED_FAILS[] = { NULL };

static char root[PATH_MAX], tmp[PATH_MAX], core_so[PATH_MAX + 64], buggy_so[PATH_MAX + 64];
static bool built;

static void run_ok(const char *const *argv, const char *what)
{
    struct proc_result r;
    proc_run(argv, PROC_PATH | PROC_MERGE, 300000, &r);
    ck_assert_msg(r.status == 0, "%s: exit %d:\n%s", what, r.status, r.out);
    proc_result_free(&r);
}

/* Once, in the parent: install, copy out of the tree, build both cores. */
static void build_cores(void)
{
    char bin[PATH_MAX];
    ck_assert_msg(realpath(proc_scsisim_bin(), bin), "no scsisim binary at %s", proc_scsisim_bin());
    char build[PATH_MAX];
    snprintf(build, sizeof build, "%s", bin);
    *strrchr(build, '/') = '\0';              /* BUILD */
    snprintf(root, sizeof root, "%s", build);
    *strrchr(root, '/') = '\0';               /* the source tree */
    proc_tmpdir(tmp, sizeof tmp, "example-core");
    /* A make of its own, not a job of the make that runs the tests. */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    char prefix_arg[PATH_MAX + 32], build_arg[PATH_MAX + 32], pc[PATH_MAX + 64], src[PATH_MAX + 16],
         from[PATH_MAX + 64];
    snprintf(prefix_arg, sizeof prefix_arg, "PREFIX=%s/prefix", tmp);
    snprintf(build_arg, sizeof build_arg, "BUILD=%s", build);
    run_ok((const char *const[]){ "make", "-s", "-C", root, build_arg, prefix_arg, "install", NULL }, "make install");
    snprintf(src, sizeof src, "%s/src", tmp);
    /* The copy `make install` put in share/doc, as a driver author finds it. */
    snprintf(from, sizeof from, "%s/prefix/share/doc/scsisim/examples/minimal-core/.", tmp);
    run_ok((const char *const[]){ "cp", "-R", from, src, NULL }, "copying the installed example");
    snprintf(pc, sizeof pc, "PKG_CONFIG_PATH=%s/prefix/lib/pkgconfig", tmp);
    run_ok((const char *const[]){ "make", "-s", "-C", src, pc, NULL }, "building core.so");
    run_ok((const char *const[]){ "make", "-s", "-C", src, pc, "BUGGY=1", NULL }, "building core-buggy.so");
    snprintf(core_so, sizeof core_so, "%s/core.so", src);
    snprintf(buggy_so, sizeof buggy_so, "%s/core-buggy.so", src);
    built = access(core_so, R_OK) == 0 && access(buggy_so, R_OK) == 0;
}

static void remove_tmp(void)
{
    if (tmp[0])
        proc_rmdir(tmp);
}

/* "not ok N - PATH (title)" lines of a TAP report: the trace file names. */
static size_t failed_traces(const char *tap, char names[][PATH_MAX], size_t cap)
{
    size_t n = 0;
    for (const char *p = tap; (p = strstr(p, "not ok ")); p++) {
        if (p != tap && p[-1] != '\n')
            continue;
        const char *dash = strstr(p, " - ");
        if (!dash)
            break;
        dash += 3;
        size_t len = strcspn(dash, " \n");
        if (n < cap)
            snprintf(names[n], PATH_MAX, "%.*s", (int)len, dash);
        n++;
    }
    return n;
}

static int count_ok(const char *tap)
{
    int n = 0;
    for (const char *p = tap; (p = strstr(p, "ok ")); p++)
        if (p == tap || p[-1] == '\n')
            n++;
    return n;
}

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "cannot open %s", path);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

START_TEST(minimal_core_passes_the_suite)
{
    ck_assert_msg(built, "the example cores were not built (see the output above)");
    char suite[PATH_MAX + 16];
    snprintf(suite, sizeof suite, "%s/traces", root);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--strict", "--tap", "--driver-core", core_so, suite, NULL }, &r);
    static char names[64][PATH_MAX];
    size_t n = failed_traces(r.out, names, 64);
    size_t want = 0;
    while (EXPECTED_FAILS[want])
        want++;
    ck_assert_msg(n == want, "the minimal core fails %zu traces, README.md says %zu; first: %s\n%.2000s", n, want,
                  n ? names[0] : "-", r.err);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(names[i], EXPECTED_FAILS[i]), "unexpected failure: %s", names[i]);
    ck_assert_msg(count_ok(r.out) >= 320, "only %d traces reported", count_ok(r.out));
    ck_assert_msg(r.status == (want ? 1 : 0), "exit %d:\n%.2000s", r.status, r.err);
    proc_result_free(&r);
}
END_TEST

START_TEST(buggy_core_is_caught_by_the_sync_cache_traces)
{
    ck_assert_msg(built, "the example cores were not built (see the output above)");
    char suite[PATH_MAX + 16];
    snprintf(suite, sizeof suite, "%s/traces", root);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--tap", "--driver-core", buggy_so, suite, NULL }, &r);
    ck_assert_msg(r.status == 1, "exit %d (want 1: traces failed):\n%.2000s", r.status, r.err);
    static char names[128][PATH_MAX];
    size_t n = failed_traces(r.out, names, 128);
    ck_assert_msg(n > 0 && n <= 128, "%zu traces failed", n);
    bool f1 = false, f1_16 = false;
    for (size_t i = 0; i < n; i++) {
        f1 |= strstr(names[i], "fieldbugs/F1-sync-cache-not-flushed.trace") != NULL;
        f1_16 |= strstr(names[i], "fieldbugs/F1-sync-cache16-not-flushed.trace") != NULL;
        ck_assert_msg(file_has(names[i], "CMD 35") || file_has(names[i], "CMD 91"),
                      "%s failed but sends no SYNCHRONIZE CACHE: the bug is not what failed it", names[i]);
    }
    ck_assert_msg(f1 && f1_16, "the F1 field-bug traces did not catch the buggy core");
    proc_result_free(&r);
}
END_TEST

START_TEST(minimal_core_serves_libiscsi)
{
    ck_assert_msg(built, "the example cores were not built (see the output above)");
    if (!proc_tool_present("example_core", "iscsi-test-cu", "apt-get install libiscsi-bin"))
        return;
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--driver-core", core_so, NULL });
    char *out;
    int rc = proc_tool((const char *const[]){ "iscsi-inq", srv.url, NULL }, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "DIRECT_ACCESS"), "iscsi-inq exit %d:\n%s", rc, out);
    free(out);
    rc = proc_tool((const char *const[]){ "iscsi-readcapacity16", srv.url, NULL }, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "LOGICAL BLOCK LENGTH IN BYTES:"), "iscsi-readcapacity16 exit %d:\n%s", rc, out);
    free(out);
    rc = proc_tool((const char *const[]){ "iscsi-test-cu", "-n", "-t", "ALL", "-d", srv.url, NULL }, 240, &out);
    unsigned v[4];
    bool got = serve_cu_summary(out, v);
    ck_assert_msg(got, "iscsi-test-cu (exit %d) printed no run summary:\n%.4000s", rc, out);
    ck_assert_msg(v[1] >= 200, "only %u tests ran", v[1]);
    if (v[3] != 0) { /* CUnit lists the failed tests before its summary */
        const char *f = strstr(out, "had failures");
        char *err = serve_stderr(&srv);
        ck_abort_msg("%u of %u tests failed:\n%.3000s\nscsisim serve said:\n%.3000s", v[3], v[1],
                     f ? f - (f - out > 300 ? 300 : f - out) : out, err);
    }
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("example_core");
    TCase *tc = tcase_create("example");
    tcase_add_unchecked_fixture(tc, build_cores, remove_tmp);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, minimal_core_passes_the_suite);
    tcase_add_test(tc, buggy_core_is_caught_by_the_sync_cache_traces);
    tcase_add_test(tc, minimal_core_serves_libiscsi);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
