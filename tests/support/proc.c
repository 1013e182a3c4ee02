/* tests/support/proc.c — see proc.h. */
#include "tests/support/proc.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/tbuf.h"

const char *proc_scsisim_bin(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("SCSISIM_BIN");
    if (env && *env)
        return env;
    if (!path[0]) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        ck_assert_int_gt(n, 0);
        self[n] = '\0';
        snprintf(path, sizeof(path), "%s/../scsisim", dirname(self)); /* BUILD/tests/x -> BUILD/scsisim */
    }
    return path;
}

void proc_build_dir(char *dir, size_t len)
{
    snprintf(dir, len, "%s", proc_scsisim_bin());
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, len, ".");
}

pid_t proc_spawn(const char *const *argv, int out_fd, int err_fd, unsigned flags)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (flags & PROC_DIE_WITH_US) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) /* it died before the line above */
                _exit(126);
        }
        int null_in = open("/dev/null", O_RDONLY), null_out = open("/dev/null", O_WRONLY);
        if (null_in < 0 || null_out < 0 || dup2(null_in, 0) < 0 || dup2(out_fd >= 0 ? out_fd : null_out, 1) < 0 ||
            dup2(err_fd >= 0 ? err_fd : null_out, 2) < 0)
            _exit(127);
        if (flags & PROC_PATH)
            execvp(argv[0], (char *const *)argv);
        else
            execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int proc_wait(pid_t pid, int timeout_ms)
{
    int st;
    if (timeout_ms < 0) {
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                return -1;
        return exit_code(st);
    }
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return exit_code(st);
        if (r < 0 || clock_now_ms() > end)
            return -1;
        proc_sleep_ms(5);
    }
}

/* Reads what is available on fd into b; false at end of file. */
static bool drain(int fd, struct tbuf *b)
{
    char chunk[8192];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
        return true;
    ck_assert_int_ge(n, 0);
    tbuf_put(b, chunk, (size_t)n);
    return n > 0;
}

/* The text of b, handed over to the caller ("" when empty). */
static char *take(struct tbuf *b)
{
    ck_assert(!b->oom);
    char *s = b->s ? b->s : calloc(1, 1);
    ck_assert_ptr_nonnull(s);
    return s;
}

void proc_run(const char *const *argv, unsigned flags, int timeout_ms, struct proc_result *r)
{
    int po[2], pe[2] = { -1, -1 };
    ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
    if (!(flags & PROC_MERGE))
        ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
    pid_t pid = proc_spawn(argv, po[1], flags & PROC_MERGE ? po[1] : pe[1], flags);
    close(po[1]);
    if (pe[1] >= 0)
        close(pe[1]);
    int fds[2] = { po[0], pe[0] };
    struct tbuf text[2] = { { 0 }, { 0 } };
    uint64_t end = timeout_ms < 0 ? UINT64_MAX : clock_now_ms() + (uint64_t)timeout_ms;
    bool killed = false;
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN } };
        int pr = poll(p, 2, timeout_ms < 0 ? -1 : 100);
        ck_assert(pr >= 0 || errno == EINTR);
        for (int i = 0; i < 2 && pr > 0; i++)
            if (fds[i] >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) && !drain(fds[i], &text[i])) {
                close(fds[i]);
                fds[i] = -1;
            }
        if (!killed && clock_now_ms() > end) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    r->status = proc_wait(pid, -1);
    r->out = take(&text[0]);
    r->err = take(&text[1]);
}

void proc_scsisim(const char *const *args, struct proc_result *r)
{
    size_t n = 0;
    while (args[n])
        n++;
    const char **argv = calloc(n + 2, sizeof(*argv));
    ck_assert_ptr_nonnull(argv);
    argv[0] = proc_scsisim_bin();
    memcpy(argv + 1, args, n * sizeof(*argv));
    proc_run(argv, 0, -1, r);
    free(argv);
}

void proc_result_free(struct proc_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int proc_tool(const char *const *argv, int timeout_s, char **out)
{
    struct proc_result r;
    proc_run(argv, PROC_PATH | PROC_MERGE, timeout_s * 1000, &r);
    free(r.err);
    *out = r.out;
    return r.status;
}

bool proc_tool_present(const char *test, const char *tool, const char *hint)
{
    const char *path = getenv("PATH");
    if (path) {
        char *copy = strdup(path), *save = NULL;
        ck_assert_ptr_nonnull(copy);
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            char full[PATH_MAX];
            snprintf(full, sizeof(full), "%s/%s", dir, tool);
            if (access(full, X_OK) == 0) {
                free(copy);
                return true;
            }
        }
        free(copy);
    }
    ck_abort_msg("%s: %s not installed: %s", test, tool, hint);
    return false;
}

void proc_tmpdir(char *dir, size_t len, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, len, "%s/scsisim-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    ck_assert_msg(n > 0 && (size_t)n < len, "temporary folder name too long for %zu bytes", len);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void proc_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int proc_count_fds(pid_t pid)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/fd");
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - (pid ? 0 : 1); /* not the directory stream's own fd */
}

int proc_settle_fds(pid_t pid, int want, int timeout_ms)
{
    int n = proc_count_fds(pid);
    for (int waited = 0; waited < timeout_ms && n != want; waited++) {
        proc_sleep_ms(1);
        n = proc_count_fds(pid);
    }
    return n;
}

void proc_sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}
