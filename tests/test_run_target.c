/* tests/test_run_target.c — `scsisim run --target` against real targets:
 * tgt's tgtd (started here on a loopback port with a scratch backing file)
 * and `scsisim serve` (the simulator as a real iSCSI target), and the
 * --match levels that judge a foreign device.  The tools are required: a
 * missing tgtd fails with "not installed".  A SCSI generic device is used
 * when this machine has one; otherwise that part says "not run". */
#include "tests/support/testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"
#include "tests/support/tgtd_proc.h"

#define TRACES "traces/"

static struct proc_result run(const char *const *args)
{
    struct proc_result r;
    proc_scsisim(args, &r);
    return r;
}

#define ASSERT_RUN(r, code, text)                                                                            \
    ck_assert_msg((r).status == (code) && strstr((r).out, (text)), "expected exit %d and '%s'; exit %d:\n%s%s", \
                  (code), (text), (r).status, (r).out, (r).err)

/* Bundled traces whose expectations hold for any SPC disk, at the status
 * level (tgtd's own identity and capacity): they pass.  A trace that needs
 * the simulator is skipped with the reason, never passed; --strict fails it. */
START_TEST(tgtd_bundled_traces_at_status_level)
{
    struct tgtd_proc t;
    tgtd_start(&t, "tgtd_bundled_traces_at_status_level", 64);
    const char *args[] = { "run", "--target", t.url, "--match", "status", TRACES "smoke/inquiry.trace",
                           TRACES "smoke/read-capacity-16.trace", TRACES "smoke/tur.trace",
                           TRACES "inquiry/vpd-83-naa-and-t10.trace", TRACES "tur/ua-per-nexus.trace",
                           TRACES "tmf/abort-racing-completion.trace", NULL };
    struct proc_result r = run(args);
    ASSERT_RUN(r, 0, "6 passed, 0 failed, 0 skipped");
    proc_result_free(&r);

    const char *skip[] = { "run", "--target", t.url, "--match", "status", TRACES "smoke/write-sync-power-loss.trace",
                           TRACES "inquiry/target-1.trace", NULL };
    r = run(skip);
    ASSERT_RUN(r, 0, "0 passed, 0 failed, 2 skipped");
    ck_assert_msg(strstr(r.out, "SKIP") && strstr(r.out, "needs 'power-cycle'") &&
                  strstr(r.out, "cannot honour") && strstr(r.out, "addresses target 1"), "%s", r.out);
    proc_result_free(&r);
    const char *strict[] = { "run", "--strict", "--target", t.url, TRACES "smoke/write-sync-power-loss.trace", NULL };
    r = run(strict);
    ck_assert_msg(r.status == 1 && strstr(r.out, "1 skipped (--strict"), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);
    tgtd_stop(&t);
}
END_TEST

/* The levels on one trace: tgtd's INQUIRY says IET VIRTUAL-DISK where the
 * trace says SCSISIM SIM DISK.  exact fails on those bytes, masks passes
 * them (and still compares the rest), status ignores data; a real
 * difference (tgtd accepts INQUIRY with CMDDT=1) fails at every level. */
START_TEST(tgtd_match_levels)
{
    struct tgtd_proc t;
    tgtd_start(&t, "tgtd_match_levels", 16);
    const char *trace = TRACES "inquiry/standard-fields-36.trace";
    const char *exact[] = { "run", "--target", t.url, trace, NULL };
    struct proc_result r = run(exact);
    ASSERT_RUN(r, 1, "data-in: 18 byte(s) differ, first at offset 8");
    proc_result_free(&r);
    const char *masks[] = { "run", "--target", t.url, "--match", "masks", trace,
                            TRACES "inquiry/vpd-80-serial-default.trace", NULL };
    r = run(masks);
    ASSERT_RUN(r, 0, "2 passed, 0 failed");
    proc_result_free(&r);
    const char *status[] = { "run", "--target", t.url, "--match=status", trace, NULL };
    r = run(status);
    ASSERT_RUN(r, 0, "1 passed, 0 failed");
    proc_result_free(&r);
    const char *diff[] = { "run", "--target", t.url, "--match", "masks", TRACES "inquiry/cmddt-obsolete-bit.trace",
                           NULL };
    r = run(diff);
    ASSERT_RUN(r, 1, "status: expected CHECK ILLEGAL_REQUEST/0x24/0x00, got GOOD");
    proc_result_free(&r);
    tgtd_stop(&t);
}
END_TEST

/* The simulator as a real target: `scsisim serve` answers the traces at
 * the exact level, over iSCSI, sessions per initiator, TMFs through
 * libiscsi. */
START_TEST(serve_as_target_at_exact_level)
{
    struct serve_proc s;
    serve_start(&s, NULL);
    const char *args[] = { "run", "--target", s.url, TRACES "smoke/inquiry.trace", TRACES "smoke/tur.trace",
                           TRACES "inquiry/vpd-83-naa-and-t10.trace", TRACES "inquiry/standard-exact-96.trace",
                           TRACES "tmf/abort-racing-completion.trace", NULL };
    struct proc_result r = run(args);
    ASSERT_RUN(r, 0, "5 passed, 0 failed, 0 skipped");
    proc_result_free(&r);
    ck_assert_int_eq(serve_stop(&s, SIGTERM), 0);
}
END_TEST

/* Unusable --target values are exit 2 before anything runs; a target that
 * does not answer is exit 3, named. */
START_TEST(bad_targets_are_clear_errors)
{
    static const struct {
        const char *url, *match, *want;
        int code;
    } cases[] = {
        { "iscsi://127.0.0.1:3260", NULL, "no target name (IQN) and LUN", 2 },
        { "iscsi:///iqn.x/1", NULL, "no HOST", 2 },
        { "iscsi://127.0.0.1/iqn.x/lun", NULL, "the LUN 'lun' (at byte 24) is not a number", 2 },
        { "http://example/1", NULL, "unknown kind of target", 2 },
        { "/dev/sg-no-such-device", NULL, "No such file or directory; give an existing SCSI generic device", 2 },
        { "/dev/null", NULL, "is it a SCSI generic device", 3 },
        { "iscsi://127.0.0.1:1/iqn.2025-01.org.tgt:none/0", NULL, "cannot connect to 127.0.0.1:1", 3 },
        { "iscsi://127.0.0.1:1/iqn.x/0", "bytes", "--match needs exact, status or masks, not 'bytes'", 2 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[] = { "run", "--target", cases[i].url, "--match", cases[i].match ? cases[i].match : "exact",
                               TRACES "smoke/inquiry.trace", NULL };
        struct proc_result r = run(args);
        ck_assert_msg(r.status == cases[i].code && strstr(r.err, cases[i].want), "%s: exit %d:\n%s", cases[i].url,
                      r.status, r.err);
        proc_result_free(&r);
    }
    const char *two[] = { "run", "--target", "iscsi://127.0.0.1:1/iqn.x/0", "--two-process", NULL };
    struct proc_result r = run(two);
    ck_assert_msg(r.status == 2 && strstr(r.err, "leave them out"), "%s", r.err);
    proc_result_free(&r);
}
END_TEST

/* A SCSI generic device, where this machine has one (sg_pt). */
START_TEST(sg_device_when_present)
{
    char dev[300] = "";
    DIR *d = opendir("/dev");
    struct dirent *e;
    while (d && (e = readdir(d)) && !dev[0])
        if (!strncmp(e->d_name, "sg", 2) && e->d_name[2] >= '0' && e->d_name[2] <= '9')
            snprintf(dev, sizeof dev, "/dev/%s", e->d_name);
    if (d)
        closedir(d);
    if (!dev[0]) {
        printf("not run: sg_device_when_present: this machine has no /dev/sg device, so the SCSI generic path of "
               "run --target was not exercised\n");
        return;
    }
    const char *args[] = { "run", "--target", dev, "--match", "status", TRACES "tur/ready.trace", NULL };
    struct proc_result r = run(args);
    ck_assert_msg(r.status == 0 || r.status == 1, "exit %d:\n%s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "1 trace,"), "%s", r.out);
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("run_target");
    TCase *tc = tcase_create("run_target");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, tgtd_bundled_traces_at_status_level);
    tcase_add_test(tc, tgtd_match_levels);
    tcase_add_test(tc, serve_as_target_at_exact_level);
    tcase_add_test(tc, bad_targets_are_clear_errors);
    tcase_add_test(tc, sg_device_when_present);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
