/* cli/run_leaks.c — the descriptor leak check of `scsisim run` (see
 * cli/run_leaks.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/run_leaks.h"

void run_fds_warm(void)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) == 0)
        uv_loop_close(&loop);
}

void run_fds_free(struct run_fds *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->target[i]);
    free(s->fd);
    free(s->target);
    memset(s, 0, sizeof *s);
}

static int add(struct run_fds *s, int fd)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len < 0)
        len = snprintf(target, sizeof target, "?");
    target[len] = '\0';
    int *nfd = realloc(s->fd, (s->n + 1) * sizeof *nfd);
    if (nfd)
        s->fd = nfd;
    char **nt = realloc(s->target, (s->n + 1) * sizeof *nt);
    if (nt)
        s->target = nt;
    char *t = strdup(target);
    if (!nfd || !nt || !t) {
        free(t);
        return -ENOMEM;
    }
    s->fd[s->n] = fd;
    s->target[s->n++] = t;
    return 0;
}

int run_fds_take(struct run_fds *s)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    int self = dirfd(d), rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self)
            rc = add(s, fd);
    }
    closedir(d);
    if (rc < 0)
        run_fds_free(s);
    return rc;
}

static bool had(const struct run_fds *s, int fd, const char *target)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->fd[i] == fd && !strcmp(s->target[i], target))
            return true;
    return false;
}

/* Whether after's i-th descriptor is new and is the first new one with its
 * target (the text names each target once, with how many there are). */
static bool is_new(const struct run_fds *before, const struct run_fds *after, size_t i)
{
    return !had(before, after->fd[i], after->target[i]);
}

size_t run_fds_new(const struct run_fds *before, const struct run_fds *after, struct tbuf *text)
{
    size_t n = 0, shown = 0;
    for (size_t i = 0; i < after->n; i++) {
        if (!is_new(before, after, i))
            continue;
        n++;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !(is_new(before, after, j) && !strcmp(after->target[j], after->target[i]));
        if (!first)
            continue;
        size_t same = 0;
        for (size_t j = i; j < after->n; j++)
            same += is_new(before, after, j) && !strcmp(after->target[j], after->target[i]);
        tbuf_printf(text, "%s%s", shown++ ? ", " : "", after->target[i]);
        if (same > 1)
            tbuf_printf(text, " x%zu (fd %d and up)", same, after->fd[i]);
        else
            tbuf_printf(text, " (fd %d)", after->fd[i]);
    }
    return n;
}

int run_fds_fail(struct trace_file_result *f, size_t n, const char *fds, const char *scope, const char *hint)
{
    f->outcome = TRACE_OUTCOME_FAIL;
    struct trace_check *c = trace_file_add_check(f);
    if (!c)
        return -ENOMEM;
    c->kind = TRACE_CHECK_LEAK;
    int rc = trace_check_fail(c, TRACE_FAIL_LEAK, "%zu file descriptor%s left open %s: %s", n, n == 1 ? "" : "s",
                              scope, fds);
    if (rc == 0)
        snprintf(c->detail->note, sizeof c->detail->note, "%s", hint);
    return rc;
}

int run_fds_check_run(const struct run_fds *before, struct trace_run *run, const char *const *paths, size_t n,
                      const struct trace_file_result **added)
{
    *added = NULL;
    struct run_fds after;
    if (run_fds_take(&after) < 0)
        return 0; /* no second set, no comparison: never a guess */
    struct tbuf fds = { 0 }, hint = { 0 };
    size_t leaked = run_fds_new(before, &after, &fds);
    run_fds_free(&after);
    int rc = 0;
    if (leaked) {
        /* The note has room for two paths: the first and the last. */
        if (n == 1)
            tbuf_printf(&hint, "the trace that ran: %s", paths[0]);
        else if (n > 1)
            tbuf_printf(&hint, "%zu traces ran (the first and last given: %s, %s)", n, paths[0], paths[n - 1]);
        tbuf_puts(&hint, "; rerun with --isolate: each trace is then checked on its own");
        char scope[96];
        snprintf(scope, sizeof scope, "after the %zu trace%s of the run had torn down", n, n == 1 ? "" : "s");
        struct trace_file_result *f = trace_run_add(run, "(run)", "open file descriptors before and after the traces");
        rc = !f || fds.oom || hint.oom ? -ENOMEM : run_fds_fail(f, leaked, tbuf_str(&fds), scope, tbuf_str(&hint));
        *added = f;
    }
    tbuf_free(&fds);
    tbuf_free(&hint);
    return rc;
}
