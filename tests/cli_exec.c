/* tests/cli_exec.c — see cli_exec.h. */
#include "tests/cli_exec.h"

#include <check.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *cli_exec_bin(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("SCSISIM_BIN");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(path, sizeof(path), "%s/../scsisim", dirname(self)); /* BUILD/tests/x -> BUILD/scsisim */
    return path;
}

struct sink {
    int fd;
    char *buf;
    size_t len, cap;
};

/* Reads what is available on s->fd; returns 0 at end of file. */
static int drain(struct sink *s)
{
    if (s->cap - s->len < 4096) {
        s->cap = s->cap ? s->cap * 2 : 8192;
        s->buf = realloc(s->buf, s->cap);
        ck_assert_ptr_nonnull(s->buf);
    }
    ssize_t n = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
    ck_assert_int_ge(n, 0);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return n > 0;
}

void cli_exec(const char *const *args, struct cli_exec_result *r)
{
    int po[2], pe[2];
    ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
    size_t n = 0;
    while (args[n])
        n++;
    const char **argv = calloc(n + 2, sizeof(*argv));
    ck_assert_ptr_nonnull(argv);
    argv[0] = cli_exec_bin();
    memcpy(argv + 1, args, n * sizeof(*argv));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(argv);
    close(po[1]);
    close(pe[1]);
    struct sink s[2] = { { .fd = po[0] }, { .fd = pe[0] } };
    bool open_[2] = { true, true };
    while (open_[0] || open_[1]) {
        struct pollfd p[2] = { { .fd = open_[0] ? s[0].fd : -1, .events = POLLIN },
                               { .fd = open_[1] ? s[1].fd : -1, .events = POLLIN } };
        ck_assert_int_ge(poll(p, 2, -1), 0);
        for (int i = 0; i < 2; i++)
            if (open_[i] && (p[i].revents & (POLLIN | POLLHUP)) && !drain(&s[i]))
                open_[i] = false;
    }
    for (int i = 0; i < 2; i++) {
        close(s[i].fd);
        if (!s[i].buf)
            s[i].buf = calloc(1, 1);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = s[0].buf;
    r->err = s[1].buf;
}

void cli_exec_free(struct cli_exec_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}
