/* tests/support/serve_proc.c — see serve_proc.h. */
#include "tests/support/serve_proc.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/proc.h"

void serve_start(struct serve_proc *p, const char *const *args)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->err_path, sizeof(p->err_path), "/tmp/scsisim-serve-XXXXXX");
    int efd = mkstemp(p->err_path);
    ck_assert_int_ge(efd, 0);
    int po[2];
    ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
    size_t n = 0;
    while (args && args[n])
        n++;
    const char **argv = calloc(n + 5, sizeof(*argv));
    ck_assert_ptr_nonnull(argv);
    argv[0] = proc_scsisim_bin();
    argv[1] = "serve";
    argv[2] = "--listen";
    argv[3] = "127.0.0.1:0";
    if (n)
        memcpy(argv + 4, args, n * sizeof(*argv));
    p->pid = proc_spawn(argv, po[1], efd, 0);
    free(argv);
    close(po[1]);
    close(efd);
    p->out_fd = po[0];
    /* The first line with a URL says it is ready. */
    char line[1024];
    size_t len = 0;
    uint64_t end = clock_now_ms() + 20000;
    while (clock_now_ms() < end) {
        struct pollfd pf = { .fd = p->out_fd, .events = POLLIN };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        char c;
        ssize_t r = read(p->out_fd, &c, 1);
        if (r <= 0)
            break;
        if (c != '\n') {
            if (len < sizeof(line) - 1)
                line[len++] = c;
            continue;
        }
        line[len] = '\0';
        const char *u = strstr(line, "iscsi://");
        if (u) {
            snprintf(p->url, sizeof(p->url), "%s", u);
            break;
        }
        len = 0;
    }
    if (!p->url[0]) {
        char *err = serve_stderr(p);
        kill(p->pid, SIGKILL);
        proc_wait(p->pid, 5000);
        ck_abort_msg("scsisim serve printed no URL; stderr: %s", err);
    }
    /* iscsi://HOST:PORT/IQN/LUN */
    const char *hp = p->url + strlen("iscsi://");
    const char *slash = strchr(hp, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(p->portal, sizeof(p->portal), "%.*s", (int)(slash - hp), hp);
    const char *colon = strrchr(p->portal, ':');
    ck_assert_ptr_nonnull(colon);
    p->port = atoi(colon + 1);
    const char *lun = strrchr(slash + 1, '/');
    ck_assert_ptr_nonnull(lun);
    snprintf(p->iqn, sizeof(p->iqn), "%.*s", (int)(lun - slash - 1), slash + 1);
}

void serve_next_url(struct serve_proc *p, char *out, size_t cap)
{
    char line[1024];
    size_t len = 0;
    uint64_t end = clock_now_ms() + 20000;
    out[0] = '\0';
    while (!out[0] && clock_now_ms() < end) {
        struct pollfd pf = { .fd = p->out_fd, .events = POLLIN };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        char c;
        if (read(p->out_fd, &c, 1) <= 0)
            break;
        if (c != '\n') {
            if (len < sizeof(line) - 1)
                line[len++] = c;
            continue;
        }
        line[len] = '\0';
        const char *u = strstr(line, "iscsi://");
        if (u)
            snprintf(out, cap, "%s", u);
        len = 0;
    }
    ck_assert_msg(out[0], "scsisim serve printed no further URL");
}

int serve_stop(struct serve_proc *p, int sig)
{
    kill(p->pid, sig);
    int rc = proc_wait(p->pid, 20000);
    if (rc < 0) {
        kill(p->pid, SIGKILL);
        proc_wait(p->pid, 5000);
        rc = 128 + SIGKILL;
    }
    close(p->out_fd);
    unlink(p->err_path);
    return rc;
}

char *serve_stderr(const struct serve_proc *p)
{
    FILE *f = fopen(p->err_path, "r");
    char *buf = calloc(1, 65536);
    ck_assert_ptr_nonnull(buf);
    if (f) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

bool serve_cu_summary(const char *out, unsigned v[4])
{
    const char *row = strstr(out, "Run Summary:");
    row = row ? strstr(row, "tests") : NULL;
    return row && sscanf(row, "tests %u %u %u %u", &v[0], &v[1], &v[2], &v[3]) == 4;
}
