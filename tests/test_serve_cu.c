/* tests/test_serve_cu.c — libiscsi's conformance suite against `scsisim
 * serve` with a thin-provisioned drive behind two portals (multipath), every
 * test, destructive ones included:
 *
 *   scsisim serve --listen 127.0.0.1:0 --listen 127.0.0.1:0 --drive 0:0,thin=on
 *   iscsi-test-cu -v -t ALL -d iscsi://127.0.0.1:PORT1/IQN/0 iscsi://127.0.0.1:PORT2/IQN/0
 *
 * must report, with the built-in core and again with the same core loaded
 * as build/lib/scsisim-core.so (--driver-core), 0 failed tests and at least
 * CLEAN_FLOOR tests that passed without being skipped (a test that prints [SKIPPED] passes in CUnit's
 * count: the target lacked the feature, answering INVALID COMMAND OPERATION
 * CODE or saying so in VPD/INQUIRY).  The suites that need another kind of
 * drive run against one: PreventAllow, StartStopUnit.Simple and NoMedia
 * against a removable drive (removable=on), ReadOnly against a read-only one
 * (write-protect=on); each of their tests must pass clean.  A run of its own with --allow-sanitize
 * (-S) takes 10 of the 11 SANITIZE tests: all must pass clean.  The per-test reading is the one
 * mk/cu-table.awk makes for docs/iscsi.md.  Without iscsi-test-cu the test
 * fails ("not installed: apt-get install libiscsi-bin"). */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/serve_proc.h"
#include "tests/support/proc.h"

/* Tests that passed without printing [SKIPPED], from -v output: a test
 * starts at "  Test: NAME ..." and ends with "passed" or "FAILED" (on its
 * own line or right after the dots); what follows "passed" on that line is
 * the next suite's setup. */
#define CLEAN_FLOOR 202u
static unsigned clean_passes(const char *out, unsigned *skipped)
{
    unsigned clean = 0;
    bool in = false, skip = false;
    *skipped = 0;
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), l);
        const char *rest = line;
        if (!strncmp(line, "  Test: ", 8)) {
            in = true;
            skip = false;
            const char *dots = strstr(line, " ...");
            rest = dots ? dots + 4 : "";
        }
        if (in) {
            bool ends_pass = !strncmp(rest, "passed", 6), ends_fail = !strncmp(rest, "FAILED", 6);
            if (!ends_pass && !ends_fail && strstr(rest, "[SKIPPED]"))
                skip = true;
            if (ends_pass || ends_fail) {
                if (ends_pass)
                    skip ? (*skipped)++ : clean++;
                in = false;
            }
        }
        l = nl ? nl + 1 : NULL;
    }
    return clean;
}

/* iscsi-test-cu against `scsisim serve` with a thin drive on two portals and
 * args (NULL: none): 0 failures, at least CLEAN_FLOOR clean passes. */
static void all_tests_pass(const char *const *args)
{
    if (!proc_tool_present("iscsi_test_cu", "iscsi-test-cu", "apt-get install libiscsi-bin"))
        return;
    struct serve_proc srv;
    const char *serve_args[10] = { "--drive", "0:0,thin=on", "--listen", "127.0.0.1:0" };
    for (size_t i = 0; args && args[i] && i + 5 < sizeof serve_args / sizeof serve_args[0]; i++)
        serve_args[4 + i] = args[i];
    serve_start(&srv, serve_args);
    char url2[512];
    serve_next_url(&srv, url2, sizeof url2);   /* the same LU through the second portal */
    ck_assert_str_ne(url2, srv.url);
    const char *argv[] = { "iscsi-test-cu", "-v", "-t", "ALL", "-d", srv.url, url2, NULL };
    char *out;
    int rc = proc_tool(argv, 240, &out);
    unsigned v[4];
    bool got = serve_cu_summary(out, v);
    if (!got || v[3] != 0) {
        /* The failures, for the log. */
        const char *f = strstr(out, "had failures");
        fprintf(stderr, "%s\n", f ? f - (f - out > 200 ? 200 : f - out) : out);
    }
    ck_assert_msg(got, "iscsi-test-cu (exit %d) printed no run summary:\n%.4000s", rc, out);
    ck_assert_msg(v[1] >= 200, "only %u tests ran", v[1]);
    ck_assert_msg(v[3] == 0, "%u of %u tests failed", v[3], v[1]);
    ck_assert_uint_eq(v[2], v[1]);
    unsigned skipped, clean = clean_passes(out, &skipped);
    fprintf(stderr, "iscsi-test-cu: %u tests ran, %u passed clean, %u skipped\n", v[1], clean, skipped);
    ck_assert_msg(clean >= CLEAN_FLOOR, "only %u tests passed without skipping (floor %u)", clean, CLEAN_FLOOR);
    ck_assert_uint_eq(clean + skipped, v[2]);
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}

/* libiscsi's SANITIZE tests run only with --allow-sanitize, so in a run of
 * their own: every one but Sanitize.Reset, which expects the sanitize to
 * survive ABORT TASK, LUN and target resets and a new login, then polls TEST
 * UNIT READY with a 60 s sleep between tries (minutes per run); its
 * in-progress part is covered by traces/sanitize/ and test_fw_sanitize. */
#define SANITIZE_TESTS "ALL.Sanitize.BlockErase,ALL.Sanitize.BlockEraseReserved,"                \
                       "ALL.Sanitize.CryptoErase,ALL.Sanitize.CryptoEraseReserved,"              \
                       "ALL.Sanitize.ExitFailureMode,ALL.Sanitize.InvalidServiceAction,"         \
                       "ALL.Sanitize.Overwrite,ALL.Sanitize.OverwriteReserved,"                  \
                       "ALL.Sanitize.Readonly,ALL.Sanitize.Reservations"
#define SANITIZE_CLEAN 10u

START_TEST(iscsi_test_cu_sanitize_tests_pass)
{
    if (!proc_tool_present("iscsi_test_cu", "iscsi-test-cu", "apt-get install libiscsi-bin"))
        return;
    struct serve_proc srv;
    /* 64 MiB: OVERWRITE writes every block while the command runs, and
     * libiscsi sends three; on the 512 MiB default drive of a loaded machine
     * one can outlast the driver core's 1 s command timeout. */
    serve_start(&srv, (const char *const[]){ "--drive", "0:0,thin=on,capacity=64M", NULL });
    const char *argv[] = { "iscsi-test-cu", "-v", "-S", "-d", "-t", SANITIZE_TESTS, srv.url, NULL };
    char *out;
    int rc = proc_tool(argv, 240, &out);
    unsigned v[4];
    bool got = serve_cu_summary(out, v);
    ck_assert_msg(got, "iscsi-test-cu (exit %d) printed no run summary:\n%.4000s", rc, out);
    ck_assert_msg(v[3] == 0, "%u of %u tests failed:\n%.8000s", v[3], v[1], out);
    unsigned skipped, clean = clean_passes(out, &skipped);
    fprintf(stderr, "iscsi-test-cu -S: %u tests ran, %u passed clean, %u skipped\n", v[1], clean, skipped);
    ck_assert_msg(clean == SANITIZE_CLEAN, "%u of the %u SANITIZE tests passed without skipping:\n%.8000s",
                  clean, SANITIZE_CLEAN, out);
    free(out);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

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

/* The suites a fixed, writable drive skips, against a drive that has what
 * they test: every test of each must pass without a skip or a failure. */
static void suites_pass_clean(const char *drive, const char *const *suites, unsigned want)
{
    if (!proc_tool_present("iscsi_test_cu", "iscsi-test-cu", "apt-get install libiscsi-bin"))
        return;
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--drive", drive, NULL });
    unsigned total = 0;
    for (size_t i = 0; suites[i]; i++) {
        const char *argv[] = { "iscsi-test-cu", "-v", "-t", suites[i], "-d", srv.url, NULL };
        char *out;
        int rc = proc_tool(argv, 120, &out);
        unsigned v[4], skipped;
        ck_assert_msg(serve_cu_summary(out, v), "iscsi-test-cu -t %s (exit %d) printed no run summary:\n%.4000s",
                      suites[i], rc, out);
        unsigned clean = clean_passes(out, &skipped);
        ck_assert_msg(v[3] == 0 && skipped == 0 && clean == v[1],
                      "%s on %s: %u ran, %u failed, %u skipped, %u clean:\n%.6000s", suites[i], drive, v[1], v[3],
                      skipped, clean, out);
        total += clean;
        free(out);
    }
    fprintf(stderr, "iscsi-test-cu on %s: %u tests passed clean\n", drive, total);
    ck_assert_uint_eq(total, want);
    char *err = serve_stderr(&srv);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}

/* PreventAllow (8), StartStopUnit.Simple and NoMedia against a removable
 * drive (thin, so NoMedia's UNMAP and GET LBA STATUS parts run too).
 * StartStopUnit.NoLoej and .PwrCnd stay out: they want TEST UNIT READY GOOD
 * after a STOP and every power condition accepted, which SBC-4 does not
 * (docs/iscsi.md). */
START_TEST(iscsi_test_cu_removable_suites)
{
    suites_pass_clean("0:0,removable=on,thin=on",
                      (const char *const[]){ "ALL.PreventAllow", "ALL.StartStopUnit.Simple", "ALL.NoMedia", NULL },
                      10);
}
END_TEST

/* ReadOnly against a read-only LUN: every write refused with DATA PROTECT. */
START_TEST(iscsi_test_cu_read_only_suite)
{
    suites_pass_clean("0:0,write-protect=on,thin=on", (const char *const[]){ "ALL.ReadOnly", NULL }, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_cu");
    TCase *tc = tcase_create("libiscsi");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, iscsi_test_cu_all_tests_pass);
    tcase_add_test(tc, iscsi_test_cu_all_tests_pass_with_loaded_core);
    tcase_add_test(tc, iscsi_test_cu_removable_suites);
    tcase_add_test(tc, iscsi_test_cu_read_only_suite);
    tcase_add_test(tc, iscsi_test_cu_sanitize_tests_pass);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
