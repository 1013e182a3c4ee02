/* tests/test_cli.c — the scsisim command's own surface: help, version, unknown
 * commands, and `scsisim config` exit codes and located errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static void run(struct proc_result *r, const char *a0, const char *a1, const char *a2, const char *a3)
{
    const char *args[] = { a0, a1, a2, a3, NULL };
    proc_scsisim(args, r);
}

START_TEST(help_lists_commands_and_exits_0)
{
    struct proc_result r;
    run(&r, "--help", NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: scsisim"));
    const char *cmds[] = { "bench", "config", "controller", "run", "serve" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        ck_assert_msg(strstr(r.out, cmds[i]) != NULL, "--help does not list %s", cmds[i]);
    proc_result_free(&r);
}
END_TEST

START_TEST(version_prints_the_version)
{
    struct proc_result r;
    run(&r, "--version", NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "scsisim " SCSISIM_VERSION));
    proc_result_free(&r);
}
END_TEST

START_TEST(no_command_and_unknown_command_are_usage_errors)
{
    struct proc_result r;
    run(&r, NULL, NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "usage:"));
    proc_result_free(&r);
    run(&r, "frobnicate", NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown command 'frobnicate'"));
    proc_result_free(&r);
}
END_TEST

START_TEST(every_command_has_help)
{
    const char *cmds[] = { "bench", "config", "controller", "run", "serve" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        struct proc_result r;
        run(&r, cmds[i], "--help", NULL, NULL);
        ck_assert_msg(r.status == 0, "%s --help exited %d", cmds[i], r.status);
        ck_assert_msg(strstr(r.out, "usage: scsisim") != NULL, "%s --help: %s", cmds[i], r.out);
        proc_result_free(&r);
    }
}
END_TEST

START_TEST(config_prints_a_configuration_that_loads_back)
{
    struct proc_result r;
    run(&r, "config", "--drive", "0:0,capacity=66T,block-size=4096,battery=good", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "[drive 0:0]"));
    ck_assert_ptr_nonnull(strstr(r.out, "capacity           = 66T"));
    char path[] = "/tmp/scsisim-cli-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, r.out, strlen(r.out)), (ssize_t)strlen(r.out));
    close(fd);
    struct proc_result again;
    run(&again, "config", path, NULL, NULL);
    ck_assert_int_eq(again.status, 0);
    ck_assert_str_eq(again.out, r.out);
    unlink(path);
    proc_result_free(&again);
    proc_result_free(&r);
}
END_TEST

START_TEST(config_errors_name_file_line_column_and_exit_2)
{
    char path[] = "/tmp/scsisim-cli-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "[controller]\nmax-targts = 16\n";
    ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    struct proc_result r;
    run(&r, "config", path, NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    char where[64];
    snprintf(where, sizeof(where), "%s:2:1: error:", path);
    ck_assert_msg(strstr(r.err, where) != NULL, "stderr: %s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "did you mean 'max-targets'"));
    ck_assert_str_eq(r.out, "");
    proc_result_free(&r);
    unlink(path);
    run(&r, "config", "/nonexistent/scsisim.conf", NULL, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/scsisim.conf"));
    proc_result_free(&r);
    run(&r, "config", "--set", "iommu-policy=sometimes", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "iommu-policy"));
    proc_result_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, help_lists_commands_and_exits_0);
    tcase_add_test(tc, version_prints_the_version);
    tcase_add_test(tc, no_command_and_unknown_command_are_usage_errors);
    tcase_add_test(tc, every_command_has_help);
    tcase_add_test(tc, config_prints_a_configuration_that_loads_back);
    tcase_add_test(tc, config_errors_name_file_line_column_and_exit_2);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
