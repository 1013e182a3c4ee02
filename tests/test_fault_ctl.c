/* tests/test_fault_ctl.c — fault rules and live control end to end:
 * `scsisim serve --ctl` driven by real initiators (qemu-io, iscsi-inq,
 * iscsi-readcapacity16) that see each kind of fault; `scsisim ctl` with bad
 * commands; a peer that sends garbage; two `scsisim controller --ctl`
 * processes controlled apart.  A tool that is not installed fails the test
 * with its package name (.ci/run and mk/deps.sh install them). */
#include "tests/support/testutil.h"
#include "base/clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

#define LIBISCSI_HINT "apt-get install libiscsi-bin"
#define QEMU_HINT     "apt-get install qemu-utils qemu-block-extra"

static struct serve_proc srv;
static char dir[256], ctl_path[300];

static void start(void)
{
    proc_tmpdir(dir, sizeof dir, "faultctl");
    snprintf(ctl_path, sizeof ctl_path, "%s/ctl.sock", dir);
    const char *args[] = { "--ctl", ctl_path, NULL };
    serve_start(&srv, args);
}

static void stop(void)
{
    int rc = serve_stop(&srv, SIGTERM);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(access(ctl_path, F_OK) != 0, "the control socket was left behind");
    proc_rmdir(dir);
}

/* `scsisim ctl SOCKET words...`: returns its exit code, its stdout in *out. */
static int ctl_at(const char *sock, const char *line, char **out)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    const char *args[40] = { "ctl", sock };
    int n = 2;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < 39; w = strtok_r(NULL, " ", &save))
        args[n++] = w;
    args[n] = NULL;
    struct proc_result r;
    proc_scsisim(args, &r);
    int status = r.status;
    if (out)
        *out = strdup(r.out);
    proc_result_free(&r);
    return status;
}

static void ctl_ok(const char *line)
{
    char *out;
    int rc = ctl_at(ctl_path, line, &out);
    ck_assert_msg(rc == 0 && strstr(out, "{\"ok\":true"), "ctl %s: exit %d: %s", line, rc, out);
    free(out);
}

static int tool(const char *const *argv, int timeout_s, char **out)
{
    return proc_tool(argv, timeout_s, out);
}

static double now_s(void)
{
    return (double)clock_now_ns() / 1e9;
}

/* ---- each fault kind, seen by a real initiator ------------------------------- */

START_TEST(medium_read_error_seen_by_qemu_io)
{
    if (!proc_tool_present("medium_read", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject medium drive=0:0 lba=100 count=8 io=read");
    const char *argv[] = { "qemu-io", "-f", "raw", "-c", "read 0 4k", "-c", "read 51200 4k", srv.url, NULL };
    char *out;
    tool(argv, 30, &out);
    ck_assert_msg(strstr(out, "read 4096/4096 bytes at offset 0"), "%s", out);
    ck_assert_msg(strstr(out, "SENSE KEY:(null)(3) ASCQ:(null)(0x1100)"), "%s", out);
    ck_assert_msg(strstr(out, "read failed: Input/output error"), "%s", out);
    free(out);
    char *list;
    ck_assert_int_eq(ctl_at(ctl_path, "list", &list), 0);
    ck_assert_msg(strstr(list, "\"rule\":\"medium drive=0:0 lba=100 count=8 io=read recovered=no\""), "%s", list);
    ck_assert_msg(!strstr(list, "\"fired\":0"), "%s", list);
    free(list);
}
END_TEST

START_TEST(medium_write_and_recovered_errors_seen_by_qemu_io)
{
    if (!proc_tool_present("medium_write", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject medium lba=0 count=8 io=write");
    const char *w[] = { "qemu-io", "-f", "raw", "-c", "write 0 512", srv.url, NULL };
    char *out;
    tool(w, 30, &out);
    ck_assert_msg(strstr(out, "SENSE KEY:(null)(3) ASCQ:(null)(0x0c00)") && strstr(out, "write failed"), "%s", out);
    free(out);
    ctl_ok("clear");
    ctl_ok("inject medium lba=8 io=read recovered=yes limit=1");
    const char *r[] = { "qemu-io", "-f", "raw", "-c", "read 4096 512", srv.url, NULL };
    tool(r, 30, &out);
    ck_assert_msg(strstr(out, "SENSE KEY:RECOVERED ERROR(1) ASCQ:(null)(0x1800)"), "%s", out);
    free(out);
}
END_TEST

START_TEST(every_nth_seen_by_qemu_io)
{
    if (!proc_tool_present("every_nth", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject every-nth n=4 op=read sense=3/11/00");
    const char *argv[] = { "qemu-io", "-f", "raw", "-c", "read 0 512", "-c", "read 0 512", "-c", "read 0 512",
                           "-c", "read 0 512", "-c", "read 0 512", srv.url, NULL };
    char *out;
    tool(argv, 30, &out);
    ck_assert_msg(strstr(out, "ASCQ:(null)(0x1100)") && strstr(out, "read 512/512 bytes"), "%s", out);
    free(out);
}
END_TEST

/* The rule's delay reaches the initiator: 10 sequential READs with 20 ms each
 * take at least 200 ms, and the controller's statistics say p50 >= 20 ms.
 * Lower bounds only: a loaded machine adds time, never removes it. */
START_TEST(latency_seen_by_qemu_io_and_in_the_stats)
{
    if (!proc_tool_present("latency", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject latency op=0x28 dist=fixed time=20ms");
    const char *argv[3 + 2 * 10 + 2] = { "qemu-io", "-f", "raw" }; /* options, 10 reads, the URL, NULL */
    int n = 3;
    for (int i = 0; i < 10; i++) {
        argv[n++] = "-c";
        argv[n++] = "read 0 4k";
    }
    argv[n++] = srv.url;
    argv[n] = NULL;
    char *out;
    double t0 = now_s();
    int rc = tool(argv, 60, &out);
    double took = now_s() - t0;
    ck_assert_msg(rc == 0, "qemu-io exited %d: %s", rc, out);
    ck_assert_msg(took >= 0.2, "10 reads with 20 ms each took %.3f s", took);
    free(out);
    char *st;
    ck_assert_int_eq(ctl_at(ctl_path, "stats", &st), 0);
    const char *op = strstr(st, "\"opcode\":\"0x28\"");
    ck_assert_msg(op, "%s", st);
    const char *p50 = strstr(op, "\"p50_us\":");
    ck_assert_ptr_nonnull(p50);
    ck_assert_msg(atof(p50 + 9) >= 20000.0, "%s", st);
    ck_assert_msg(strstr(st, "\"lus\":[{\"drive\":\"0:0\""), "%s", st);
    free(st);
}
END_TEST

START_TEST(busy_and_task_set_full_seen_by_iscsi_inq)
{
    if (!proc_tool_present("busy", "iscsi-inq", LIBISCSI_HINT))
        return;
    ctl_ok("inject busy op=inquiry status=busy");
    const char *argv[] = { "iscsi-inq", srv.url, NULL };
    char *out;
    tool(argv, 30, &out);
    ck_assert_msg(strstr(out, "BUSY"), "%s", out);
    free(out);
    ctl_ok("clear");
    ctl_ok("inject busy op=inquiry status=task-set-full");
    tool(argv, 30, &out);
    ck_assert_msg(strstr(out, "TASK_SET_FULL") || strstr(out, "TASK SET FULL"), "%s", out);
    free(out);
    ctl_ok("clear");
    int rc = tool(argv, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "Vendor:SCSISIM"), "%s", out);
    free(out);
}
END_TEST

START_TEST(hangs_seen_by_iscsi_inq)
{
    if (!proc_tool_present("hang", "iscsi-inq", LIBISCSI_HINT))
        return;
    /* Completes after T: the tool waits and succeeds. */
    ctl_ok("inject hang op=inquiry after=300ms");
    const char *argv[] = { "iscsi-inq", srv.url, NULL };
    char *out;
    double t0 = now_s();
    int rc = tool(argv, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "Vendor:SCSISIM"), "%s", out);
    ck_assert_msg(now_s() - t0 >= 0.3, "took %.3f s", now_s() - t0);
    free(out);
    ctl_ok("clear");
    /* Never completes: the tool is still waiting when it is killed. */
    ctl_ok("inject hang op=inquiry");
    rc = tool(argv, 2, &out);
    ck_assert_msg(rc == 128 + SIGKILL || rc == 128 + SIGTERM, "iscsi-inq exited %d: %s", rc, out);
    free(out);
    char *list;
    ck_assert_int_eq(ctl_at(ctl_path, "list", &list), 0);
    ck_assert_msg(strstr(list, "\"rule\":\"hang op=inquiry\",\"seen\":1,\"fired\":1"), "%s", list);
    free(list);
    ctl_ok("clear");
}
END_TEST

START_TEST(lost_completion_seen_by_qemu_io)
{
    if (!proc_tool_present("lose", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject lose op=write limit=1");
    const char *w[] = { "qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 512", srv.url, NULL };
    char *out;
    int rc = tool(w, 2, &out);
    ck_assert_msg(rc == 128 + SIGKILL || rc == 128 + SIGTERM, "qemu-io exited %d: %s", rc, out);
    free(out);
    /* The write ran all the same. */
    const char *r[] = { "qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 512", srv.url, NULL };
    rc = tool(r, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "read 512/512 bytes") && !strstr(out, "Pattern verification failed"),
                  "%s", out);
    free(out);
}
END_TEST

/* Every READ's completion twice: qemu-io's pattern-checked reads still get
 * their own data, and the driver says it dropped the second one. */
START_TEST(duplicate_completions_survived_with_qemu_io)
{
    if (!proc_tool_present("duplicate", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject duplicate op=read");
    const char *argv[40] = { "qemu-io", "-f", "raw" };
    int n = 3;
    static const char *const cmds[] = { "write -P 0x11 0 4k", "write -P 0x22 4k 4k", "read -P 0x11 0 4k",
                                        "read -P 0x22 4k 4k", "read -P 0x11 0 4k", "read -P 0x22 4k 4k" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        argv[n++] = "-c";
        argv[n++] = cmds[i];
    }
    argv[n++] = srv.url;
    argv[n] = NULL;
    char *out;
    int rc = tool(argv, 60, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "Pattern verification failed") && !strstr(out, "failed"), "%s", out);
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(strstr(err, "which is not outstanding"), "%s", err);
    free(err);
}
END_TEST

START_TEST(write_protect_toggle_seen_by_qemu_io)
{
    if (!proc_tool_present("write_protect", "qemu-io", QEMU_HINT))
        return;
    ctl_ok("inject write-protect drive=0:0");
    const char *w[] = { "qemu-io", "-f", "raw", "-c", "write 0 512", srv.url, NULL };
    char *out;
    tool(w, 30, &out);
    ck_assert_msg(strstr(out, "DATA PROTECTION(7)") && strstr(out, "0x2700"), "%s", out);
    free(out);
    ctl_ok("clear");
    int rc = tool(w, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "wrote 512/512 bytes"), "%s", out);
    free(out);
}
END_TEST

START_TEST(capacity_change_seen_by_iscsi_readcapacity16)
{
    if (!proc_tool_present("capacity", "iscsi-readcapacity16", LIBISCSI_HINT))
        return;
    ctl_ok("set 0:0 blocks=1000");
    const char *argv[] = { "iscsi-readcapacity16", srv.url, NULL };
    char *out;
    int rc = tool(argv, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "RETURNED LOGICAL BLOCK ADDRESS:999\n"), "%s", out);
    free(out);
    char *bad;
    ck_assert_int_eq(ctl_at(ctl_path, "set 0:0 blocks=99999999999", &bad), 1);
    ck_assert_msg(strstr(bad, "above the capacity"), "%s", bad);
    free(bad);
}
END_TEST

/* ---- the control socket itself -------------------------------------------- */

/* qemu-io with three WRITEs of its own pattern each, for the reads below. */
static void write_three_blocks(void)
{
    const char *w[] = { "qemu-io", "-f", "raw", "-c", "write -P 0x11 0 512", "-c", "write -P 0x22 512 512",
                        "-c", "write -P 0x33 1024 512", srv.url, NULL };
    char *out;
    int rc = tool(w, 30, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "failed"), "qemu-io exited %d: %s", rc, out);
    free(out);
}

/* Three READs in flight together (qemu-io's aio_read prints each when it
 * completes): a window of 3 completes last-first, each with its own data. */
START_TEST(reorder_seen_by_qemu_io)
{
    if (!proc_tool_present("reorder", "qemu-io", QEMU_HINT))
        return;
    write_three_blocks();
    ctl_ok("inject reorder op=read window=3 step=100ms");
    const char *r[] = { "qemu-io", "-f", "raw", "-c", "aio_read -P 0x11 0 512", "-c", "aio_read -P 0x22 512 512",
                        "-c", "aio_read -P 0x33 1024 512", "-c", "aio_flush", srv.url, NULL };
    char *out;
    int rc = tool(r, 30, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "failed"), "qemu-io exited %d: %s", rc, out);
    const char *a = strstr(out, "read 512/512 bytes at offset 1024");
    const char *b = strstr(out, "read 512/512 bytes at offset 512");
    const char *c = strstr(out, "read 512/512 bytes at offset 0\n");
    ck_assert_msg(a && b && c && a < b && b < c, "not last-first: %s", out);
    free(out);
}
END_TEST

/* An interrupt with nothing posted before each READ's completion: qemu-io's
 * pattern-checked reads all get their data, once, and the rule fired. */
START_TEST(spurious_interrupts_survived_with_qemu_io)
{
    if (!proc_tool_present("spurious", "qemu-io", QEMU_HINT))
        return;
    write_three_blocks();
    ctl_ok("inject spurious op=read n=1");
    const char *r[] = { "qemu-io", "-f", "raw", "-c", "read -P 0x11 0 512", "-c", "read -P 0x22 512 512",
                        "-c", "read -P 0x33 1024 512", srv.url, NULL };
    char *out;
    int rc = tool(r, 30, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "failed"), "qemu-io exited %d: %s", rc, out);
    free(out);
    char *list;
    ck_assert_int_eq(ctl_at(ctl_path, "list", &list), 0);
    ck_assert_msg(strstr(list, "\"rule\":\"spurious op=read n=1\"") && !strstr(list, "\"fired\":0"), "%s", list);
    free(list);
}
END_TEST

/* The first DMA access of the first READ faults (policy abort): the READ's
 * data never reaches qemu-io, the next READ's does, serve logs the fault.
 * (The target answers the failed READ with iSCSI response "target failure";
 * qemu-io 7.2 over libiscsi 1.19 then reports the read done and its pattern
 * check fails, which is how the missing data shows.) */
START_TEST(iommu_fault_seen_by_qemu_io)
{
    if (!proc_tool_present("iommu_fault", "qemu-io", QEMU_HINT))
        return;
    write_three_blocks();
    ctl_ok("inject iommu-fault op=read nth=1");
    const char *r[] = { "qemu-io", "-f", "raw", "-c", "read -P 0x11 0 512", "-c", "read -P 0x22 512 512", srv.url,
                        NULL };
    char *out;
    tool(r, 30, &out);
    ck_assert_msg(strstr(out, "Pattern verification failed at offset 0,"), "%s", out);
    ck_assert_msg(!strstr(out, "Pattern verification failed at offset 512"), "%s", out);
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(strstr(err, "IOMMU fault #0: device write of 512 bytes") && strstr(err, "(unmapped)"), "%s", err);
    free(err);
}
END_TEST

/* The 2nd READ makes the controller fatal: the driver hard-resets it, the
 * READ is sent again, qemu-io sees DEVICE INTERNAL RESET and every READ's
 * data. */
START_TEST(fatal_recovered_seen_by_qemu_io)
{
    if (!proc_tool_present("fatal", "qemu-io", QEMU_HINT))
        return;
    write_three_blocks();
    ctl_ok("inject fatal op=read nth=2");
    const char *r[] = { "qemu-io", "-f", "raw", "-c", "read -P 0x11 0 512", "-c", "read -P 0x22 512 512",
                        "-c", "read -P 0x33 1024 512", srv.url, NULL };
    char *out;
    int rc = tool(r, 60, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "Pattern verification failed"), "qemu-io exited %d: %s", rc, out);
    ck_assert_msg(strstr(out, "DEVICE_INTERNAL_RESET(0x2904)"), "%s", out);
    ck_assert_msg(strstr(out, "read 512/512 bytes at offset 1024"), "%s", out);
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(strstr(err, "hard reset") && strstr(err, "fault code 5"), "%s", err);
    free(err);
}
END_TEST

/* lun remove / lun add (the remove and insert actions) through serve with two
 * drives: iscsi-inq on the pulled LUN is refused with LOGICAL UNIT NOT
 * SUPPORTED, iscsi-readcapacity16 sees the inserted drive's size, and the
 * refusals name the reason.  (3Fh/0Eh on the sibling is checked by
 * traces/faults/remove-and-insert.trace: a fresh libiscsi login consumes unit
 * attentions in its own TEST UNIT READY.) */
START_TEST(lun_remove_and_add_seen_by_libiscsi_tools)
{
    if (!proc_tool_present("lun", "iscsi-inq", LIBISCSI_HINT))
        return;
    struct serve_proc p;
    char d[256], sock[300], url1[520];
    proc_tmpdir(d, sizeof d, "faultlun");
    snprintf(sock, sizeof sock, "%s/ctl.sock", d);
    const char *args[] = { "--ctl", sock, "--drive", "0:0,capacity=1M", "--drive", "0:1,capacity=2M", NULL };
    serve_start(&p, args);
    snprintf(url1, sizeof url1, "%.*s1", (int)strlen(p.url) - 1, p.url); /* .../0 -> .../1 */
    char *out;
    ck_assert_int_eq(ctl_at(sock, "lun remove 0:1", &out), 0);
    ck_assert_str_eq(out, "{\"ok\":true,\"drive\":\"0:1\"}\n");
    free(out);
    const char *inq[] = { "iscsi-inq", url1, NULL };
    int rc = tool(inq, 30, &out);
    ck_assert_msg(rc != 0 && strstr(out, "LOGICAL_UNIT_NOT_SUPPORTED(0x2500)"), "iscsi-inq exited %d: %s", rc, out);
    free(out);
    ck_assert_int_eq(ctl_at(sock, "lun remove 0:1", &out), 1);
    ck_assert_msg(strstr(out, "lun remove: no drive 0:1"), "%s", out);
    free(out);

    ck_assert_int_eq(ctl_at(sock, "lun add 0:1 blocks=4096", &out), 0);
    free(out);
    const char *cap[] = { "iscsi-readcapacity16", url1, NULL };
    rc = tool(cap, 30, &out);
    ck_assert_msg(rc == 0 && strstr(out, "RETURNED LOGICAL BLOCK ADDRESS:4095"), "exit %d: %s", rc, out);
    free(out);

    static const struct { const char *cmd; const char *says; } bad[] = {
        { "lun add 0:1", "lun add: drive 0:1 is there already; remove it first" },
        { "lun add 0:99", "beyond the controller's" },
        { "lun add 0:2 blocks=x", "lun add: bad blocks 'x'" },
        { "lun add 0:2 block-size=1000", "bad block-size '1000': write 512 or 4096" },
        { "lun add 0:2 colour=red", "unexpected 'colour=red'" },
        { "lun remove 0:1 now", "write lun add T:L" },
        { "lun frob 0:1", "write lun add T:L" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(ctl_at(sock, bad[i].cmd, &out), 1);
        ck_assert_msg(strstr(out, bad[i].says), "%s: %s", bad[i].cmd, out);
        free(out);
    }
    ck_assert_int_eq(serve_stop(&p, SIGTERM), 0);
    proc_rmdir(d);
}
END_TEST

/* stats' per-drive cache counters: qemu-io (write-back caching, so no FUA)
 * writes 8 KiB, reads half of it back from the dirty lines and a block
 * elsewhere from the media; its closing flush writes the 16 blocks back. */
START_TEST(cache_counters_in_the_stats)
{
    if (!proc_tool_present("cache", "qemu-io", QEMU_HINT))
        return;
    const char *q[] = { "qemu-io", "-f", "raw", "-t", "writeback", "-c", "write -P 0x11 0 8k", "-c",
                        "read -P 0x11 0 4k", "-c", "read -P 0 65536 4k", srv.url, NULL };
    char *out;
    int rc = tool(q, 30, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "failed"), "qemu-io exited %d: %s", rc, out);
    free(out);
    ck_assert_int_eq(ctl_at(ctl_path, "stats", &out), 0);
    ck_assert_msg(strstr(out, "\"caches\":[{\"drive\":\"0:0\",\"read_blocks\":16,\"hit_blocks\":8,\"dirty_lines\":0,"
                              "\"dirty_bytes\":0,\"writebacks\":1,\"blocks_written_back\":16,"
                              "\"line_records\":1}]"), "%s", out);
    free(out);
}
END_TEST

START_TEST(bad_commands_get_clear_errors)
{
    static const struct { const char *line; int rc; const char *says; } bad[] = {
        { "frobnicate", 1, "unknown command 'frobnicate'" },
        { "inject", 1, "inject needs a rule" },
        { "inject medium lba=x", 1, "column 12: bad lba 'x'" },
        { "inject latency dist=fixed", 1, "needs time=T" },
        { "list now", 1, "list takes no arguments" },
        { "set 0:0", 1, "write set T:L" },
        { "set 0:0 color=red", 1, "unknown drive option 'color=red'" },
        { "set 9:9 battery=good", 1, "no such drive" },
        { "set 0:0 battery=maybe", 1, "bad battery 'maybe'" },
        { "set 0:0 write-cache=maybe", 1, "bad write-cache 'maybe'" },
        { "set 7:7 write-cache=off", 1, "no such drive" },
        { "check-media x", 1, "write check-media T:L" },
        { "power-cut sometimes", 1, "unexpected 'sometimes'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out;
        int rc = ctl_at(ctl_path, bad[i].line, &out);
        ck_assert_msg(rc == bad[i].rc && strstr(out, "{\"ok\":false,\"error\":") && strstr(out, bad[i].says),
                      "ctl %s: exit %d: %s", bad[i].line, rc, out);
        free(out);
    }
    /* Usage errors of the client itself. */
    struct proc_result r;
    const char *none[] = { "ctl", ctl_path, NULL };
    proc_scsisim(none, &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "give the socket and a command"), "%s", r.err);
    proc_result_free(&r);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nobody.sock", dir);
    const char *gone[] = { "ctl", missing, "list", NULL };
    proc_scsisim(gone, &r);
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "is 'scsisim serve --ctl"), "%s", r.err);
    proc_result_free(&r);
    ctl_ok("help");
    ctl_ok("check-media 0:0");
    ctl_ok("set 0:0 write-cache=off");
    ctl_ok("set 0:0 write-cache=on");
    ctl_ok("set 0:0 battery=good");
}
END_TEST

static int raw_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(ctl_path), sizeof sa.sun_path);
    memcpy(sa.sun_path, ctl_path, strlen(ctl_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads until EOF (the server closed) or 8 KiB; returns what came. */
static char *read_all(int fd)
{
    static char buf[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    return buf;
}

/* One "help" on a new control connection: true when it was answered. */
static bool ctl_answers_help(void)
{
    int fd = raw_connect();
    send(fd, "help\n", 5, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    bool ok = strstr(read_all(fd), "{\"ok\":true") != NULL;
    close(fd);
    return ok;
}

START_TEST(a_peer_sending_garbage_is_answered_and_dropped)
{
    struct stat st;
    ck_assert_int_eq(stat(ctl_path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);

    int fd = raw_connect();
    static const char junk[] = "list\n\x00\xff\x13garbage\n";
    ck_assert_int_eq(send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL), (ssize_t)(sizeof junk - 1));
    char *got = read_all(fd);
    ck_assert_msg(strstr(got, "{\"ok\":true,\"rules\":[]}\n"), "%s", got); /* the good line first */
    ck_assert_msg(strstr(got, "byte 0x00 at offset 0") && strstr(got, "closing the connection"), "%s", got);
    close(fd);

    /* A line that never ends. */
    fd = raw_connect();
    char big[5000];
    memset(big, 'a', sizeof big);
    send(fd, big, sizeof big, MSG_NOSIGNAL);
    got = read_all(fd);
    ck_assert_msg(strstr(got, "longer than 4096 bytes"), "%s", got);
    close(fd);

    /* A peer that connects and leaves, and one that sends half a line and leaves. */
    close(raw_connect());
    fd = raw_connect();
    send(fd, "stat", 4, MSG_NOSIGNAL);
    close(fd);

    /* Several commands on one connection, each answered in order. */
    fd = raw_connect();
    static const char two[] = "inject busy fraction=0.5\r\nlist\n";
    send(fd, two, sizeof two - 1, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    got = read_all(fd);
    ck_assert_msg(strstr(got, "{\"ok\":true}\n{\"ok\":true,\"rules\":[{\"rule\":\"busy fraction=0.5 status=busy\"") ==
                  got, "%s", got);
    close(fd);

    /* A peer holding 32 connections open: the 33rd is told and closed. */
    int held[32];
    for (int i = 0; i < 32; i++)
        held[i] = raw_connect();
    fd = raw_connect();
    got = read_all(fd);
    ck_assert_msg(strstr(got, "too many control connections at once (32)"), "%s", got);
    close(fd);
    for (int i = 0; i < 32; i++)
        close(held[i]);
    /* The server counts them gone once it has seen them close: a bounded wait. */
    bool back = false;
    TESTUTIL_WAIT_FOR(back = ctl_answers_help());
    ck_assert_msg(back, "the control socket did not take connections again");

    /* The server carries on. */
    ctl_ok("clear");
    ctl_ok("stats");
}
END_TEST

/* ---- two controller processes ------------------------------------------------ */

static bool unix_connects(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool up = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    close(fd);
    return up;
}

static pid_t start_controller(const char *bus, const char *ctl)
{
    const char *argv[] = { proc_scsisim_bin(), "controller", "--socket", bus, "--ctl", ctl, "--drive",
                           "0:0,capacity=1M", NULL };
    pid_t pid = proc_spawn(argv, -1, -1, PROC_DIE_WITH_US);
    /* Ready when it answers (a stale file from a killed one does not). */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(ctl), sizeof sa.sun_path);
    memcpy(sa.sun_path, ctl, strlen(ctl) + 1);
    bool up = false;
    TESTUTIL_WAIT_FOR(up = unix_connects(&sa));
    ck_assert_msg(up, "controller --ctl %s did not open it", ctl);
    return pid;
}

START_TEST(two_controllers_are_controlled_apart)
{
    char d[256], bus1[300], bus2[300], c1[300], c2[300];
    proc_tmpdir(d, sizeof d, "faultctl2");
    snprintf(bus1, sizeof bus1, "%s/bus1", d);
    snprintf(bus2, sizeof bus2, "%s/bus2", d);
    snprintf(c1, sizeof c1, "%s/ctl1", d);
    snprintf(c2, sizeof c2, "%s/ctl2", d);
    pid_t p1 = start_controller(bus1, c1), p2 = start_controller(bus2, c2);
    char *out;
    ck_assert_int_eq(ctl_at(c1, "inject medium lba=5", &out), 0);
    free(out);
    ck_assert_int_eq(ctl_at(c2, "inject write-protect", &out), 0);
    free(out);
    ck_assert_int_eq(ctl_at(c1, "list", &out), 0);
    ck_assert_msg(strstr(out, "medium lba=5") && !strstr(out, "write-protect"), "%s", out);
    free(out);
    ck_assert_int_eq(ctl_at(c2, "list", &out), 0);
    ck_assert_msg(strstr(out, "write-protect") && !strstr(out, "medium"), "%s", out);
    free(out);
    /* Power is each one's own.  Without a host a controller process is
     * off: power it on first. */
    ck_assert_int_eq(ctl_at(c1, "power-cut", &out), 1);
    ck_assert_msg(strstr(out, "already powered off"), "%s", out);
    free(out);
    ck_assert_int_eq(ctl_at(c1, "power-on", &out), 0);
    free(out);
    ck_assert_int_eq(ctl_at(c2, "power-on", &out), 0);
    free(out);
    ck_assert_int_eq(ctl_at(c1, "power-cut", &out), 0);
    ck_assert_msg(strstr(out, "\"lines_lost\":0"), "%s", out);
    free(out);
    ck_assert_int_eq(ctl_at(c1, "stats", &out), 0);
    ck_assert_msg(strstr(out, "\"powered\":false"), "%s", out);
    free(out);
    ck_assert_int_eq(ctl_at(c2, "stats", &out), 0);
    ck_assert_msg(strstr(out, "\"powered\":true"), "%s", out);
    free(out);
    ck_assert_int_eq(ctl_at(c1, "power-on", &out), 0);
    free(out);
    ck_assert_int_eq(ctl_at(c1, "check-media 0:0", &out), 0);
    ck_assert_msg(strstr(out, "\"durable_lost\":0"), "%s", out);
    free(out);
    /* A third one on a control socket in use is refused. */
    struct proc_result r;
    char bus3[300];
    snprintf(bus3, sizeof bus3, "%s/bus3", d);
    const char *third[] = { "controller", "--socket", bus3, "--ctl", c1, NULL };
    proc_scsisim(third, &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "another process is listening there"), "%s", r.err);
    proc_result_free(&r);
    kill(p1, SIGTERM);
    kill(p2, SIGTERM);
    ck_assert_int_eq(proc_wait(p1, 20000), 0);
    ck_assert_int_eq(proc_wait(p2, 20000), 0);
    ck_assert_msg(access(c1, F_OK) != 0 && access(c2, F_OK) != 0, "control sockets left behind");
    /* A controller killed with SIGKILL leaves a stale socket: the next one replaces it. */
    pid_t p3 = start_controller(bus1, c1);
    kill(p3, SIGKILL);
    proc_wait(p3, 20000);
    ck_assert_int_eq(access(c1, F_OK), 0);
    pid_t p4 = start_controller(bus1, c1);
    ck_assert_int_eq(ctl_at(c1, "list", &out), 0);
    free(out);
    kill(p4, SIGTERM);
    ck_assert_int_eq(proc_wait(p4, 20000), 0);
    proc_rmdir(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fault_ctl");
    TCase *t = tcase_create("serve");
    tcase_add_checked_fixture(t, start, stop);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, medium_read_error_seen_by_qemu_io);
    tcase_add_test(t, medium_write_and_recovered_errors_seen_by_qemu_io);
    tcase_add_test(t, every_nth_seen_by_qemu_io);
    tcase_add_test(t, latency_seen_by_qemu_io_and_in_the_stats);
    tcase_add_test(t, busy_and_task_set_full_seen_by_iscsi_inq);
    tcase_add_test(t, hangs_seen_by_iscsi_inq);
    tcase_add_test(t, lost_completion_seen_by_qemu_io);
    tcase_add_test(t, duplicate_completions_survived_with_qemu_io);
    tcase_add_test(t, write_protect_toggle_seen_by_qemu_io);
    tcase_add_test(t, capacity_change_seen_by_iscsi_readcapacity16);
    tcase_add_test(t, reorder_seen_by_qemu_io);
    tcase_add_test(t, spurious_interrupts_survived_with_qemu_io);
    tcase_add_test(t, iommu_fault_seen_by_qemu_io);
    tcase_add_test(t, fatal_recovered_seen_by_qemu_io);
    tcase_add_test(t, cache_counters_in_the_stats);
    tcase_add_test(t, bad_commands_get_clear_errors);
    tcase_add_test(t, a_peer_sending_garbage_is_answered_and_dropped);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("controllers");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, two_controllers_are_controlled_apart);
    tcase_add_test(c, lun_remove_and_add_seen_by_libiscsi_tools);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
