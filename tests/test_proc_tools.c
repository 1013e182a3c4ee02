/* tests/test_proc_tools.c — a test that needs an external program fails when
 * the program is missing ("<tool> not installed: apt-get install <pkg>"),
 * never passes quietly (issue 12, tests/support/proc.h).  The helper is run
 * in an inner Check suite, forked, and that suite's verdict is judged. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>

#include "tests/support/proc.h"

START_TEST(inner_missing_tool)
{
    proc_tool_present("inner", "scsisim-no-such-tool", "apt-get install scsisim-no-such-package");
    ck_abort_msg("not reached: proc_tool_present returned for a missing tool");
}
END_TEST

START_TEST(inner_present_tool)
{
    ck_assert(proc_tool_present("inner", "sh", "apt-get install dash"));
}
END_TEST

/* Runs one inner test forked; returns its result message ("Passed" when it passed). */
static int inner(const TTest *test, char *msg, size_t len)
{
    Suite *s = suite_create("inner");
    TCase *tc = tcase_create("inner");
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    TestResult **r = srunner_results(sr);
    snprintf(msg, len, "%s", r && r[0] ? tr_msg(r[0]) : "(no result)");
    free(r);
    srunner_free(sr);
    return failed;
}

START_TEST(a_missing_tool_fails_the_test)
{
    char msg[512];
    ck_assert_int_eq(inner(inner_missing_tool, msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "inner: scsisim-no-such-tool not installed: apt-get install scsisim-no-such-package"),
                  "message: %s", msg);
    ck_assert_int_eq(inner(inner_present_tool, msg, sizeof msg), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("proc_tools");
    TCase *tc = tcase_create("tools");
    tcase_add_test(tc, a_missing_tool_fails_the_test);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
