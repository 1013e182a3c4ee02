/* tests/test_fw_plugin_cli.c — `--firmware PATH.so` end to end: the relink
 * example's trace passes on the fixed plug-in and fails on the F6 one, in
 * one process and with the controller in a process of its own; a bad
 * plug-in is one precise error and exit 2 for run, serve, controller and
 * bench, and for `firmware =` in a configuration file; a trace cannot name
 * a plug-in; a handler returning garbage is HARDWARE ERROR 44h/00h seen by
 * the host, with a log line naming the plug-in and the opcode, and the
 * trace's next commands are served; over iSCSI, libiscsi's iscsi-inq sees the
 * plug-in's VPD page. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"
#include "tests/support/testutil.h"

static char build_dir[900], example_trace[1200], tmp[512];

static void setup(void)
{
    snprintf(build_dir, sizeof build_dir, "%s", proc_scsisim_bin());
    char *slash = strrchr(build_dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(build_dir, sizeof build_dir, ".");
    snprintf(example_trace, sizeof example_trace, "%s/../examples/firmware-relink/relink.trace", build_dir);
    proc_tmpdir(tmp, sizeof tmp, "fwplug");
}

static void teardown(void)
{
    proc_rmdir(tmp);
}

static const char *so(const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.so", build_dir, rel);
    return buf;
}

static void contains(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle), "'%s' not in:\n%.3000s", needle, hay);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(relink_fixed_passes_buggy_fails)
{
    char p[1200];
    struct proc_result r;
    const char *two = _i ? "--two-process" : "--jobs=1";
    proc_scsisim((const char *const[]){ "run", two, "--firmware",
                                        so("examples/firmware-relink/relink-fixed", p, sizeof p), example_trace,
                                        NULL }, &r);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "1 trace: 1 passed, 0 failed");
    proc_result_free(&r);
    proc_scsisim((const char *const[]){ "run", two, "--firmware",
                                        so("examples/firmware-relink/relink-buggy", p, sizeof p), example_trace,
                                        NULL }, &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "rl-vpd");
    contains(r.out, "0 passed, 1 failed");
    proc_result_free(&r);
    /* and without a plug-in, the built-in firmware refuses the vendor opcode */
    proc_scsisim((const char *const[]){ "run", two, example_trace, NULL }, &r);
    ck_assert_msg(r.status == 1, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "ILLEGAL_REQUEST/0x20/0x00");
    proc_result_free(&r);
}
END_TEST

/* Each bad plug-in and the words of its error. */
static const struct {
    const char *fixture;
    const char *words;
} bad[] = {
    { "tests/fixtures/fw_bad_abi", "wrong firmware plug-in ABI version 42; this scsisim speaks version 1" },
    { "tests/fixtures/fw_no_symbol", "missing symbol scsisim_fw_plugin" },
    { "tests/fixtures/fw_no_handler", "command row 1 (HALF DONE, opcode C1h): no handler" },
    { "tests/fixtures/no_such", "cannot load it as a firmware plug-in" },
};

START_TEST(bad_plugin_exit_2_everywhere)
{
    char p[1200], sock[700];
    so(bad[_i].fixture, p, sizeof p);
    snprintf(sock, sizeof sock, "%s/c.sock", tmp);
    const char *const cmds[][8] = {
        { "run", "--firmware", p, example_trace, NULL },
        { "serve", "--listen", "127.0.0.1:0", "--firmware", p, NULL },
        { "controller", "--socket", sock, "--firmware", p, NULL },
        { "bench", "--seconds", "0.1", "--firmware", p, NULL },
    };
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        struct proc_result r;
        proc_scsisim(cmds[c], &r);
        ck_assert_msg(r.status == 2, "%s %s: exit %d: %s%s", cmds[c][0], bad[_i].fixture, r.status, r.out, r.err);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "scsisim %s: --firmware: ", cmds[c][0]);
        contains(r.err, prefix);
        contains(r.err, bad[_i].words);
        proc_result_free(&r);
    }
}
END_TEST

START_TEST(config_file_key)
{
    char conf[700], p[1200], sock[700];
    snprintf(conf, sizeof conf, "%s/c.conf", tmp);
    snprintf(sock, sizeof sock, "%s/c.sock", tmp);
    char text[1600];
    snprintf(text, sizeof text, "[controller]\nfirmware = %s\n", so("tests/fixtures/fw_bad_abi", p, sizeof p));
    write_file(conf, text);
    struct proc_result r;
    proc_scsisim((const char *const[]){ "controller", "--socket", sock, conf, NULL }, &r);
    ck_assert_msg(r.status == 2, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.err, "wrong firmware plug-in ABI version");
    proc_result_free(&r);
    /* `scsisim config` shows the key */
    snprintf(text, sizeof text, "[controller]\nfirmware = %s\n",
             so("examples/firmware-relink/relink-fixed", p, sizeof p));
    write_file(conf, text);
    proc_scsisim((const char *const[]){ "config", conf, NULL }, &r);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "firmware");
    contains(r.out, "relink-fixed.so");
    proc_result_free(&r);
}
END_TEST

START_TEST(trace_cannot_name_a_plugin)
{
    char t[700];
    snprintf(t, sizeof t, "%s/names.trace", tmp);
    write_file(t, "#!scsitrace 1\n@title \"names a plug-in\"\n@controller firmware=/tmp/x.so\n@drive 0:0 capacity=1M\n\n"
                  "- H > - tur CMD 00 00 00 00 00 00\n- H < - tur STATUS CHECK UNIT_ATTENTION/0x29/0x01\n");
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", t, NULL }, &r);
    ck_assert_msg(r.status == 2, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "names.trace:3:22: error: firmware can be set only by a configuration file or the command "
                    "line, not by a trace");
    proc_result_free(&r);
}
END_TEST

START_TEST(garbage_handler_seen_by_host)
{
    char t[700], p[1200];
    snprintf(t, sizeof t, "%s/garbage.trace", tmp);
    write_file(t, "#!scsitrace 1\n@title \"a plug-in returns garbage\"\n@controller init-time=0\n@drive 0:0 capacity=1M\n\n"
                  "- H > - ua CMD 00 00 00 00 00 00\n- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n"
                  "- H > - bad CMD c0 00 00 00 00 00\n- H < - bad STATUS CHECK HARDWARE_ERROR/0x44/0x00\n"
                  "- H > - big CMD c2 00 00 00 10 00 len=16 dir=in\n- H < - big STATUS CHECK HARDWARE_ERROR/0x44/0x00\n"
                  "- H > - fine CMD c5 00 00 00 00 00\n- H < - fine STATUS GOOD\n"
                  "- H > - tur CMD 00 00 00 00 00 00\n- H < - tur STATUS GOOD\n");
    struct proc_result r;
    proc_scsisim((const char *const[]){ "run", "--firmware", so("tests/fixtures/fw_garbage", p, sizeof p), t, NULL },
                 &r);
    ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
    contains(r.out, "1 passed, 0 failed");
    contains(r.err, "scsisim: firmware plug-in garbage fixture: opcode C0h (BAD STATUS): the handler returned status 85");
    contains(r.err, "opcode C2h (TOO MUCH DATA): the handler returned more data than the allocation length");
    proc_result_free(&r);
}
END_TEST

/* A real initiator over iSCSI: libiscsi's iscsi-inq lists the plug-in's VPD
 * page among the built-in ones (VPD 00h). */
START_TEST(serve_with_plugin_iscsi_inq)
{
    if (!proc_tool_present("serve_with_plugin_iscsi_inq", "iscsi-inq", "apt-get install libiscsi-bin"))
        return;
    char p[1200];
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--firmware", so("examples/firmware-relink/relink-fixed", p, sizeof p),
                                             NULL });
    const char *vpd[] = { "iscsi-inq", "-e", "1", "-c", "0", srv.url, NULL };
    char *out;
    int rc = proc_tool(vpd, 30, &out);
    ck_assert_msg(rc == 0, "iscsi-inq exited %d:\n%s", rc, out);
    contains(out, "Page:0xb2");
    contains(out, "Page:0xc0");
    free(out);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_plugin_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, relink_fixed_passes_buggy_fails, 0, 2);
    tcase_add_loop_test(tc, bad_plugin_exit_2_everywhere, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, config_file_key);
    tcase_add_test(tc, trace_cannot_name_a_plugin);
    tcase_add_test(tc, garbage_handler_seen_by_host);
    tcase_add_test(tc, serve_with_plugin_iscsi_inq);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
