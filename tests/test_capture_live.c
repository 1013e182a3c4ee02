/* tests/test_capture_live.c — captures this test makes itself: dumpcap
 * (Debian tshark) records the loopback while libiscsi's iscsi-inq and
 * iscsi-readcapacity16 talk to `scsisim serve`, whose drive is set up to
 * look like some other device; `scsisim import` turns the capture into a
 * trace whose inferred @drive makes a default simulator answer as that
 * device, and `scsisim run` replays it: every check passes.  Without
 * inference (--no-infer) the INQUIRY and READ CAPACITY checks fail, which
 * shows the inference is what makes it pass.  The tools are required: a
 * missing one fails the test with "not installed" (.ci/run installs tshark
 * and libiscsi-bin; dumpcap on "lo" needs root or the wireshark group). */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

static bool on_path(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void require(const char *tool, const char *package)
{
    ck_assert_msg(on_path(tool), "%s is not installed (apt-get install %s): this test cannot run", tool, package);
}

static char dir[256];

/* Starts dumpcap on lo for the port; returns once it writes its file. */
static pid_t capture_start(const char *file, int port)
{
    char filter[64];
    snprintf(filter, sizeof filter, "tcp port %d", port);
    const char *argv[] = { "dumpcap", "-q", "-i", "lo", "-f", filter, "-w", file, NULL };
    char errpath[300];
    snprintf(errpath, sizeof errpath, "%s/dumpcap.err", dir);
    FILE *err = fopen(errpath, "w");
    ck_assert_ptr_nonnull(err);
    pid_t pid = proc_spawn(argv, -1, fileno(err), PROC_PATH | PROC_DIE_WITH_US);
    fclose(err);
    /* dumpcap writes the pcapng section header once it captures. */
    struct stat st;
    struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
    while ((stat(file, &st) != 0 || st.st_size == 0) && testutil_wait_nap(&w))
        ck_assert_msg(proc_wait(pid, 0) == -1, "dumpcap exited; see %s", errpath);
    ck_assert_msg(stat(file, &st) == 0 && st.st_size > 0, "dumpcap wrote nothing to %s", file);
    proc_sleep_ms(300); /* its filter is attached before the header is written; a margin for the first SYN */
    return pid;
}

static void capture_stop(pid_t pid)
{
    proc_sleep_ms(300); /* let it read what the kernel still holds */
    kill(pid, SIGINT);
    int rc = proc_wait(pid, 20000);
    ck_assert_msg(rc == 0, "dumpcap exited %d", rc);
}

static void tool(const char *name, const char *arg1, const char *arg2, const char *url)
{
    const char *argv[] = { name, arg1 ? arg1 : url, arg1 ? arg2 : NULL, arg1 ? url : NULL, NULL };
    char *out;
    int rc = proc_tool(argv, 30, &out);
    ck_assert_msg(rc == 0, "%s exited %d:\n%s", name, rc, out);
    free(out);
}

START_TEST(serve_capture_imports_and_replays_with_the_inferred_device)
{
    require("dumpcap", "tshark");
    require("iscsi-inq", "libiscsi-bin");
    require("iscsi-readcapacity16", "libiscsi-bin");
    proc_tmpdir(dir, sizeof dir, "capture-live");
    const char *args[] = { "--drive",
                           "0:0,vendor=ACME,product=\"Capture Disk\",revision=7.1,serial=CAP0001,capacity=64M,"
                           "block-size=4096,write-cache=off",
                           NULL };
    struct serve_proc srv;
    serve_start(&srv, args);
    char cap[300], trace[300], plain[300];
    snprintf(cap, sizeof cap, "%s/session.pcapng", dir);
    snprintf(trace, sizeof trace, "%s/session.trace", dir);
    snprintf(plain, sizeof plain, "%s/plain.trace", dir);
    pid_t dc = capture_start(cap, srv.port);
    tool("iscsi-inq", NULL, NULL, srv.url);
    tool("iscsi-inq", "-e", "1", srv.url);
    const char *vpd80[] = { "iscsi-inq", "-e", "1", "-c", "128", srv.url, NULL };
    char *out;
    ck_assert_int_eq(proc_tool(vpd80, 30, &out), 0);
    free(out);
    tool("iscsi-readcapacity16", NULL, NULL, srv.url);
    capture_stop(dc);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);

    struct proc_result r;
    const char *imp[] = { "import", cap, "-o", trace, NULL };
    proc_scsisim(imp, &r);
    ck_assert_msg(r.status == 0, "import exited %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "4 connections"), "%s", r.err);
    proc_result_free(&r);
    FILE *f = fopen(trace, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "@drive 0:0 vendor=\"ACME\" product=\"Capture Disk\" revision=\"7.1\" serial=\"CAP0001\" "
                               "block-size=4096 blocks=16384"), "%s", text);
    ck_assert_msg(strstr(text, "CMD 9e 10"), "%s", text);
    ck_assert_msg(strstr(text, "Login Request"), "%s", text);

    const char *run[] = { "run", trace, NULL };
    proc_scsisim(run, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "1 passed, 0 failed"), "run exited %d:\n%s%s", r.status, r.out,
                  r.err);
    proc_result_free(&r);

    const char *imp2[] = { "import", "--no-infer", cap, "-o", plain, NULL };
    proc_scsisim(imp2, &r);
    ck_assert_int_eq(r.status, 0);
    proc_result_free(&r);
    const char *run2[] = { "run", plain, NULL };
    proc_scsisim(run2, &r);
    ck_assert_msg(r.status == 1, "without inference the replay should fail; exited %d:\n%s", r.status, r.out);
    proc_result_free(&r);
    proc_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture_live");
    TCase *tc = tcase_create("serve");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, serve_capture_imports_and_replays_with_the_inferred_device);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
