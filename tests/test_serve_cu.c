/* tests/test_serve_cu.c — libiscsi's conformance suite against `scsisim
 * serve`, every test, destructive ones included:
 *
 *   iscsi-test-cu -n -t ALL -d iscsi://127.0.0.1:PORT/IQN/0
 *
 * must report 0 failed tests, with the built-in core and with the same core
 * loaded as build/lib/scsisim-core.so (--driver-core).  What the controller does not implement
 * answers INVALID COMMAND OPERATION CODE and the suite skips it.  Without
 * iscsi-test-cu the test fails ("not installed: apt-get install libiscsi-bin"). */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/serve_proc.h"
#include "tests/support/proc.h"

/* The "tests" row of CUnit's run summary: total, ran, passed, failed. */
static bool summary(const char *out, unsigned v[4])
{
    const char *row = strstr(out, "Run Summary:");
    row = row ? strstr(row, "tests") : NULL;
    return row && sscanf(row, "tests %u %u %u %u", &v[0], &v[1], &v[2], &v[3]) == 4;
}

/* iscsi-test-cu against `scsisim serve args...`: every test passes. */
static void all_tests_pass(const char *const *args)
{
    if (!proc_tool_present("iscsi_test_cu", "iscsi-test-cu", "apt-get install libiscsi-bin"))
        return;
    struct serve_proc srv;
    serve_start(&srv, args);
    const char *argv[] = { "iscsi-test-cu", "-n", "-t", "ALL", "-d", srv.url, NULL };
    char *out;
    int rc = proc_tool(argv, 240, &out);
    unsigned v[4];
    bool got = summary(out, v);
    if (!got || v[3] != 0) {
        /* The failures, for the log. */
        const char *f = strstr(out, "had failures");
        fprintf(stderr, "%s\n", f ? f - (f - out > 200 ? 200 : f - out) : out);
    }
    ck_assert_msg(got, "iscsi-test-cu (exit %d) printed no run summary:\n%.4000s", rc, out);
    ck_assert_msg(v[1] >= 200, "only %u tests ran", v[1]);
    ck_assert_msg(v[3] == 0, "%u of %u tests failed", v[3], v[1]);
    ck_assert_uint_eq(v[2], v[1]);
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}

START_TEST(iscsi_test_cu_all_tests_pass)
{
    all_tests_pass(NULL);
}
END_TEST

/* The same with scsisim's own core loaded as a .so (--driver-core, issue 15). */
START_TEST(iscsi_test_cu_all_tests_pass_with_loaded_core)
{
    char core[1024];
    snprintf(core, sizeof core, "%s", proc_scsisim_bin());
    char *slash = strrchr(core, '/');
    snprintf(slash ? slash + 1 : core, sizeof core - (size_t)(slash ? slash + 1 - core : 0), "lib/scsisim-core.so");
    all_tests_pass((const char *const[]){ "--driver-core", core, NULL });
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_cu");
    TCase *tc = tcase_create("libiscsi");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, iscsi_test_cu_all_tests_pass);
    tcase_add_test(tc, iscsi_test_cu_all_tests_pass_with_loaded_core);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
