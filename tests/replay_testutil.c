/* tests/replay_testutil.c — see tests/replay_testutil.h. */
#include "tests/replay_testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "tests/trace_testutil.h"

void rt_options(struct replay_options *o)
{
    replay_options_init(o);
    o->driver_timeout_ms = 300;
    o->command_timeout_ns = 5ull * 1000000000u;
    o->trace_timeout_ns = 20ull * 1000000000u;
}

const struct trace_file_result *rt_replay(const char *text, const struct replay_options *o, struct trace_run *run)
{
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    if (!t) {
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        ck_abort_msg("the test trace does not parse: %s", msg);
    }
    ck_assert_int_eq(replay_trace(t, o, run), 0);
    trace_free(t);
    ck_assert_uint_ge(run->n_files, 1);
    return &run->files[run->n_files - 1];
}

const struct trace_check *rt_check(const struct trace_file_result *f, unsigned line)
{
    for (size_t i = 0; i < f->n_checks; i++)
        if (f->checks[i].line == line)
            return &f->checks[i];
    ck_abort_msg("no check at line %u (%zu checks)", line, f->n_checks);
    return NULL;
}

size_t rt_failed(const struct trace_file_result *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_checks; i++)
        n += !f->checks[i].pass;
    return n;
}

const char *rt_data(const char *name, char *buf, size_t len)
{
    return tt_data_path("../replay", name, buf, len);
}

const char *rt_scsisim_path(void)
{
    /* The test programs live in BUILD/tests/, the command in BUILD/. */
    static char path[4096];
    if (!path[0]) {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        ck_assert_int_gt(n, 0);
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
        snprintf(path, sizeof path, "%s/../scsisim", exe);
    }
    return path;
}

/* Reads fd to its end into a malloc'ed string. */
static char *slurp(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

int rt_run_scsisim(const char *const *argv, char **out, char **err)
{
    char outname[] = "/tmp/rt-out-XXXXXX", errname[] = "/tmp/rt-err-XXXXXX";
    int ofd = mkstemp(outname), efd = mkstemp(errname);
    ck_assert(ofd >= 0 && efd >= 0);
    unlink(outname);
    unlink(errname);
    size_t n = 0;
    while (argv[n])
        n++;
    const char **args = calloc(n + 2, sizeof *args);
    ck_assert_ptr_nonnull(args);
    args[0] = rt_scsisim_path();
    for (size_t i = 0; i < n; i++)
        args[i + 1] = argv[i];
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    free(args);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    char *o = slurp(ofd), *e = slurp(efd);
    close(ofd);
    close(efd);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
