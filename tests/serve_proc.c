/* tests/serve_proc.c — see serve_proc.h. */
#include "tests/serve_proc.h"

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

#include "tests/cli_exec.h"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for pid up to timeout_ms; returns the exit code or -1 on timeout. */
static int wait_exit(pid_t pid, long timeout_ms)
{
    long end = now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 || now_ms() > end)
            return -1;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
}

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
    argv[0] = cli_exec_bin();
    argv[1] = "serve";
    argv[2] = "--listen";
    argv[3] = "127.0.0.1:0";
    if (n)
        memcpy(argv + 4, args, n * sizeof(*argv));
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 || dup2(efd, 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(argv);
    close(po[1]);
    close(efd);
    p->out_fd = po[0];
    /* The first line with a URL says it is ready. */
    char line[1024];
    size_t len = 0;
    long end = now_ms() + 20000;
    while (now_ms() < end) {
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
        wait_exit(p->pid, 5000);
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

int serve_stop(struct serve_proc *p, int sig)
{
    kill(p->pid, sig);
    int rc = wait_exit(p->pid, 20000);
    if (rc < 0) {
        kill(p->pid, SIGKILL);
        wait_exit(p->pid, 5000);
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

bool tool_present(const char *test, const char *tool, const char *hint)
{
    const char *path = getenv("PATH");
    if (path) {
        char *copy = strdup(path), *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            char full[4096];
            snprintf(full, sizeof(full), "%s/%s", dir, tool);
            if (access(full, X_OK) == 0) {
                free(copy);
                return true;
            }
        }
        free(copy);
    }
    printf("SKIP %s: %s is not installed (%s)\n", test, tool, hint);
    fflush(stdout);
    return false;
}

int tool_run(const char *const *argv, int timeout_s, char **out)
{
    int po[2];
    ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 || dup2(po[1], 2) < 0)
            _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    long end = now_ms() + timeout_s * 1000L;
    bool killed = false;
    for (;;) {
        struct pollfd pf = { .fd = po[0], .events = POLLIN };
        int pr = poll(&pf, 1, 100);
        if (pr > 0) {
            if (cap - len < 4096) {
                cap *= 2;
                buf = realloc(buf, cap);
                ck_assert_ptr_nonnull(buf);
            }
            ssize_t r = read(po[0], buf + len, cap - len - 1);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        if (!killed && now_ms() > end) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    buf[len] = '\0';
    close(po[0]);
    int rc = wait_exit(pid, 10000);
    *out = buf;
    return rc;
}
