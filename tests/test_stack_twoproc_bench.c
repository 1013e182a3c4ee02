/* tests/test_stack_twoproc_bench.c — `scsisim bench` runs and says what it measured:
 * a short run prints the table with one row per cell (every mode, each
 * command kind asked for, each queue depth) and no errors; --json prints the
 * same cells as JSON; bad options exit 2 with a message.  A smoke test, not
 * a measurement: nothing here looks at the figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

/* stderr of the last scsisim() run, for the failure message: a bench that
 * fails says on stderr which command failed and how. */
static char err_text[4096];

/* Runs `scsisim ARGS` with stdout captured into out (NUL-terminated) and
 * stderr into err_text; returns the exit status. */
static int scsisim(const char *args, char *out, size_t len)
{
    char errpath[] = "/tmp/scsisim-bench-err-XXXXXX";
    int efd = mkstemp(errpath);
    ck_assert_int_ge(efd, 0);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>'%s'", proc_scsisim_bin(), args, errpath);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    ssize_t e = read(efd, err_text, sizeof err_text - 1);
    err_text[e > 0 ? e : 0] = '\0';
    close(efd);
    unlink(errpath);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static char out[64 << 10];

START_TEST(a_short_run_prints_the_table)
{
    int rc = scsisim("bench --seconds 0.2 --ops tur,read --qd 1,32", out, sizeof(out));
    ck_assert_msg(rc == 0, "exit %d:\n%s%s", rc, out, err_text);
    ck_assert_ptr_nonnull(strstr(out, "IOPS"));
    ck_assert_ptr_nonnull(strstr(out, "p99.9 us"));
    /* 4 modes x 2 ops x 2 depths */
    ck_assert_int_eq(count(out, "in-process "), 8);
    ck_assert_int_eq(count(out, "two-process "), 8);
    ck_assert_int_eq(count(out, " TUR "), 8);
    ck_assert_int_eq(count(out, " READ "), 8);
    ck_assert_int_eq(count(out, " WRITE "), 0);
    ck_assert_int_eq(count(out, "interrupts "), 8);
    ck_assert_int_eq(count(out, "polled "), 8);
    /* the ring-limit reference, measured in the same run, and a ratio per cell */
    ck_assert_ptr_nonnull(strstr(out, "vs ring"));
    /* a ratio per cell, or "-" where the ring was starved on a loaded machine */
    ck_assert_int_eq(count(out, "x\n") + count(out, " -\n"), 16);
    ck_assert_ptr_nonnull(strstr(out, "ring-limit reference (bench/ring_ref.h, same run"));
    ck_assert_ptr_nonnull(strstr(out, "QD 1 "));
    ck_assert_ptr_nonnull(strstr(out, ", QD 32 "));
}
END_TEST

START_TEST(json_has_every_cell)
{
    int rc = scsisim("bench --seconds 0.05 --mode in-poll,two-irq --ops write --qd 1,4,8 --json", out, sizeof(out));
    ck_assert_msg(rc == 0, "exit %d:\n%s%s", rc, out, err_text);
    ck_assert_int_eq(count(out, "\"op\": \"WRITE\""), 6);
    ck_assert_int_eq(count(out, "\"errors\": 0,"), 6);
    ck_assert_int_eq(count(out, "\"controller\": \"two-process\""), 3);
    ck_assert_int_eq(count(out, "\"qd\": 8,"), 3); /* two cells and the ring reference */
    ck_assert_ptr_nonnull(strstr(out, "\"cells\": ["));
    ck_assert_int_eq(count(out, "\"ring_ratio\": "), 6);
    ck_assert_ptr_nonnull(strstr(out, "\"ring\": [{\"qd\": 1, "));
    ck_assert_int_eq(count(out, "\"per_s\": "), 3);
}
END_TEST

START_TEST(bad_options_exit_2)
{
    ck_assert_int_eq(scsisim("bench --seconds 0", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --seconds x", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --qd 0", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --qd 1,,2", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --mode sideways", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --ops erase", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --io-size 1000", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --coalesce 0:50", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --coalesce 16", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --coalesce 16:99999999", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --set no-such-key=1", out, sizeof(out)), 2);
    ck_assert_int_eq(scsisim("bench --help", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: scsisim bench"));
    ck_assert_int_eq(scsisim("--help", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "bench"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_twoproc_bench");
    TCase *t = tcase_create("bench");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_short_run_prints_the_table);
    tcase_add_test(t, json_has_every_cell);
    tcase_add_test(t, bad_options_exit_2);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
