/* tests/support/tgtd_proc.c — see tgtd_proc.h. */
#include "tests/support/tgtd_proc.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

#define TGT_IQN "iqn.2025-01.org.tgt:disk"

/* A loopback port nobody listens on now (tgtd binds it a moment later). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static int tgtadm(const struct tgtd_proc *p, const char *const *args, char **out)
{
    char ctl[16];
    snprintf(ctl, sizeof ctl, "%d", p->control);
    const char *argv[24] = { "tgtadm", "-C", ctl, "--lld", "iscsi" };
    size_t n = 5;
    for (size_t i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return proc_tool(argv, 20, out);
}

static void remove_sockets(int control)
{
    char path[64];
    snprintf(path, sizeof path, "/var/run/tgtd/socket.%d", control);
    unlink(path);
    snprintf(path, sizeof path, "/var/run/tgtd/socket.%d.lock", control);
    unlink(path);
}

void tgtd_start(struct tgtd_proc *p, const char *test, unsigned mib)
{
    memset(p, 0, sizeof *p);
    if (!proc_tool_present(test, "tgtd", "apt-get install tgt") ||
        !proc_tool_present(test, "tgtadm", "apt-get install tgt"))
        return;
    ck_assert_msg(geteuid() == 0, "%s: tgtd needs root (it is the real target of this test): run as root", test);
    proc_tmpdir(p->dir, sizeof p->dir, "tgtd");
    char img[300], log[300], size[32];
    snprintf(img, sizeof img, "%s/disk.img", p->dir);
    snprintf(log, sizeof log, "%s/tgtd.log", p->dir);
    snprintf(size, sizeof size, "%uM", mib);
    const char *trunc[] = { "truncate", "-s", size, img, NULL };
    char *out = NULL;
    ck_assert_msg(proc_tool(trunc, 20, &out) == 0, "truncate: %s", out);
    free(out);
    /* A control port and a portal of our own; another tgtd (another test,
     * another engineer's) may hold a port: try a few. */
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int attempt = 0; attempt < 5 && !p->pid; attempt++) {
        p->control = 1000 + rand() % 31000; /* tgtd takes -C up to 32767 */
        p->port = free_port();
        char portal[64], ctl[16];
        snprintf(portal, sizeof portal, "portal=127.0.0.1:%d", p->port);
        snprintf(ctl, sizeof ctl, "%d", p->control);
        FILE *lf = fopen(log, "w");
        ck_assert_ptr_nonnull(lf);
        const char *argv[] = { "tgtd", "-f", "-C", ctl, "--iscsi", portal, NULL };
        pid_t pid = proc_spawn(argv, fileno(lf), fileno(lf), PROC_PATH | PROC_DIE_WITH_US);
        fclose(lf);
        const char *show[] = { "--op", "show", "--mode", "target", NULL };
        bool up = false;
        struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
        while (!up && proc_wait(pid, 0) == -1 && testutil_wait_nap(&w)) {
            up = tgtadm(p, show, &out) == 0;
            free(out);
        }
        /* tgtd keeps running when its portal cannot be bound: ask its log. */
        char cmd[400];
        snprintf(cmd, sizeof cmd, "grep -q 'unable to bind' %s", log);
        if (up && system(cmd) != 0) {
            p->pid = pid;
        } else {
            kill(pid, SIGKILL);
            proc_wait(pid, 5000);
            remove_sockets(p->control);
        }
    }
    ck_assert_msg(p->pid, "%s: tgtd did not start on a free port in 5 tries; see %s", test, log);
    const char *target[] = { "--op", "new", "--mode", "target", "--tid", "1", "-T", TGT_IQN, NULL };
    const char *lun[] = { "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", img, NULL };
    const char *bind[] = { "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL", NULL };
    const char *const *steps[] = { target, lun, bind };
    for (size_t i = 0; i < 3; i++) {
        int rc = tgtadm(p, steps[i], &out);
        ck_assert_msg(rc == 0, "tgtadm %s %s failed (%d): %s", steps[i][1], steps[i][3], rc, out);
        free(out);
    }
    snprintf(p->url, sizeof p->url, "iscsi://127.0.0.1:%d/%s/1", p->port, TGT_IQN);
}

void tgtd_stop(struct tgtd_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        proc_wait(p->pid, 10000);
        remove_sockets(p->control);
        p->pid = 0;
    }
    if (p->dir[0])
        proc_rmdir(p->dir);
}
