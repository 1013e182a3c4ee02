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

/* The descriptors of set missing from other (same number, same target),
 * each target once, with how many there are; their count. */
static size_t list_extra(const struct run_fds *other, const struct run_fds *set, struct tbuf *text)
{
    /* 1: missing from other and not yet listed; 0 otherwise. */
    unsigned char *left = calloc(set->n ? set->n : 1, 1);
    size_t n = 0, shown = 0;
    for (size_t i = 0; i < set->n; i++) {
        bool missing = !had(other, set->fd[i], set->target[i]);
        n += missing;
        if (left)
            left[i] = missing;
    }
    if (!left) {
        text->oom = true; /* the message then says it is out of memory; the check still fails */
        return n;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (!left[i])
            continue;
        size_t same = 0;
        for (size_t j = i; j < set->n; j++)
            if (left[j] && !strcmp(set->target[j], set->target[i])) {
                left[j] = 0;
                same++;
            }
        tbuf_printf(text, "%s%s", shown++ ? ", " : "", set->target[i]);
        if (same > 1)
            tbuf_printf(text, " x%zu (fd %d and up)", same, set->fd[i]);
        else
            tbuf_printf(text, " (fd %d)", set->fd[i]);
    }
    free(left);
    return n;
}

size_t run_fds_new(const struct run_fds *before, const struct run_fds *after, struct tbuf *text)
{
    return list_extra(before, after, text);
}

size_t run_fds_gone(const struct run_fds *before, const struct run_fds *after, struct tbuf *text)
{
    return list_extra(after, before, text);
}

bool run_fds_compare(const struct run_fds *before, const struct run_fds *after, const char *when, const char *who,
                     struct tbuf *msg)
{
    struct tbuf left = { 0 }, gone = { 0 };
    size_t nl = run_fds_new(before, after, &left), ng = run_fds_gone(before, after, &gone);
    if (nl)
        tbuf_printf(msg, "%zu file descriptor%s left open %s: %s", nl, nl == 1 ? "" : "s", when, tbuf_str(&left));
    if (ng)
        tbuf_printf(msg, "%s%zu file descriptor%s the run had open before %s %s closed during it: %s", nl ? "; " : "",
                    ng, ng == 1 ? "" : "s", who, ng == 1 ? "was" : "were", tbuf_str(&gone));
    tbuf_free(&left);
    tbuf_free(&gone);
    return nl || ng;
}

int run_fds_fail(struct trace_file_result *f, const char *msg, const char *hint)
{
    f->outcome = TRACE_OUTCOME_FAIL;
    struct trace_check *c = trace_file_add_check(f);
    if (!c)
        return -ENOMEM;
    c->kind = TRACE_CHECK_LEAK;
    int rc = trace_check_fail(c, TRACE_FAIL_LEAK, "%s", msg);
    if (rc == 0)
        snprintf(c->detail->note, sizeof c->detail->note, "%s", hint);
    return rc;
}

int run_fds_check_run(const struct run_fds *before, struct trace_run *run, const char *const *paths, size_t n,
                      const struct trace_file_result **added)
{
    *added = NULL;
    struct run_fds after;
    int taken = run_fds_take(&after);
    if (taken < 0) {
        /* No second set, no comparison: never a guess, and never silent. */
        fprintf(stderr, "scsisim run: the descriptor leak check was not run: /proc/self/fd: %s\n", strerror(-taken));
        return 0;
    }
    struct tbuf msg = { 0 }, hint = { 0 };
    char when[96];
    snprintf(when, sizeof when, "after the %zu trace%s of the run had torn down", n, n == 1 ? "" : "s");
    bool differ = run_fds_compare(before, &after, when, "the traces", &msg);
    run_fds_free(&after);
    int rc = 0;
    if (differ) {
        /* The note has room for two paths: the first and the last. */
        if (n == 1)
            tbuf_printf(&hint, "the trace that ran: %s", paths[0]);
        else if (n > 1)
            tbuf_printf(&hint, "%zu traces ran (the first and last given: %s, %s)", n, paths[0], paths[n - 1]);
        tbuf_puts(&hint, "; rerun with --isolate: each trace is then checked on its own");
        struct trace_file_result *f = trace_run_add(run, "(run)", "open file descriptors before and after the traces");
        rc = !f || msg.oom || hint.oom ? -ENOMEM : run_fds_fail(f, tbuf_str(&msg), tbuf_str(&hint));
        *added = f;
    }
    tbuf_free(&msg);
    tbuf_free(&hint);
    return rc;
}
