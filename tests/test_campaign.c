/* tests/test_campaign.c — `scsisim campaign`: a short power-cut campaign
 * (the controller process killed with SIGKILL and restarted 8 times while a
 * writer drives it) loses no durable block and says so in text and JSON; bad
 * options are refused.  The 1000-cut run is in docs/benchmarks.md. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"

START_TEST(a_short_campaign_loses_no_durable_block)
{
    char dir[256], json[300];
    proc_tmpdir(dir, sizeof dir, "campaign");
    snprintf(json, sizeof json, "%s/summary.json", dir);
    const char *args[] = { "campaign", "--cuts", "8", "--seed", "5", "--quiet", "--json", json, NULL };
    struct proc_result r;
    proc_scsisim(args, &r);
    ck_assert_msg(r.status == 0, "exit %d:\n%s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "scsisim campaign: 8 cuts in") && strstr(r.out, "seed 5"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "durable blocks lost: 0 (of "), "%s", r.out);
    proc_result_free(&r);
    FILE *f = fopen(json, "r");
    ck_assert_ptr_nonnull(f);
    char buf[2048] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_msg(strstr(buf, "{\"cuts\":8,\"wce_off_cuts\":") && strstr(buf, "\"durable_lost\":0,") && strstr(buf, "\"seed\":5,"),
                  "%s", buf);
    proc_rmdir(dir);
}
END_TEST

START_TEST(bad_options_are_refused)
{
    static const char *const bad[][4] = {
        { "campaign", "--cuts", "0", NULL },
        { "campaign", "--cuts", "x", NULL },
        { "campaign", "--seed", "-1", NULL },
        { "campaign", "--frob", NULL, NULL },
        { "campaign", "--cuts", NULL, NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct proc_result r;
        proc_scsisim(bad[i], &r);
        ck_assert_msg(r.status == 2 && strstr(r.err, "scsisim campaign: "), "%s %s: exit %d: %s", bad[i][1],
                      bad[i][2] ? bad[i][2] : "", r.status, r.err);
        proc_result_free(&r);
    }
    const char *help[] = { "campaign", "--help", NULL };
    struct proc_result r;
    proc_scsisim(help, &r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: scsisim campaign"));
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("campaign");
    TCase *t = tcase_create("campaign");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, a_short_campaign_loses_no_durable_block);
    tcase_add_test(t, bad_options_are_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
