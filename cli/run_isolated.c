/* cli/run_isolated.c — each trace replayed in a child process (see
 * cli/run_isolated.h).
 *
 * A child replays its one trace as replay_file does and writes the result
 * to a pipe (the structures of conformance/report/result.h, byte for byte:
 * parent and child are the same program).  While it replays, the child keeps
 * the trace line it is on in a word shared with the parent
 * (conformance/replay/replay_watch.h); a fatal signal handler writes a
 * backtrace to a second pipe and dies of the signal.  The parent starts up
 * to jobs children, reads their pipes, and ends each one as:
 *   result read, exit 0            the child's own verdict
 *   killed by a signal             FAILED: the signal, the line, the backtrace
 *   still running past its budget  FAILED: killed, the line it hung on
 *   exited otherwise               FAILED: the exit status */
#include <errno.h>
#include <fcntl.h>
#include <execinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/tbuf.h"
#include "cli/run_isolated.h"
#include "conformance/replay/replay_watch.h"

/* How long past its time budget a child may take to report. */
#define ISOLATED_GRACE_NS (2ull * 1000000000ull)
#define BACKTRACE_MAX 64

/* ---- the child ---------------------------------------------------------- */

static int crash_fd = -1;

static void on_fatal(int sig)
{
    void *frames[BACKTRACE_MAX];
    int n = backtrace(frames, BACKTRACE_MAX);
    if (crash_fd >= 0)
        backtrace_symbols_fd(frames, n, crash_fd);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put_str(struct tbuf *b, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) + 1 : 0; /* 0: NULL */
    tbuf_put(b, (const char *)&n, sizeof n);
    if (n)
        tbuf_put(b, s, n);
}

/* One file result, as bytes. */
static void put_file(struct tbuf *b, const struct trace_file_result *f)
{
    put_str(b, f->path);
    put_str(b, f->title);
    put_str(b, f->reason);
    put_str(b, f->basis);
    tbuf_put(b, (const char *)&f->outcome, sizeof f->outcome);
    tbuf_put(b, (const char *)&f->elapsed_ns, sizeof f->elapsed_ns);
    tbuf_put(b, (const char *)&f->n_checks, sizeof f->n_checks);
    for (size_t i = 0; i < f->n_checks; i++) {
        const struct trace_check *c = &f->checks[i];
        tbuf_put(b, (const char *)c, sizeof *c);
        if (c->detail)
            tbuf_put(b, (const char *)c->detail, sizeof *c->detail);
    }
}

static _Noreturn void child(const char *path, const struct replay_options *o, int out_fd, int bt_fd,
                            volatile unsigned *line)
{
    crash_fd = bt_fd; /* the unwinder was loaded by the parent (run_isolated) */
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], on_fatal);
    replay_watch_set(line);
    struct trace_run run;
    trace_run_init(&run);
    int rc = replay_file(path, o, &run);
    replay_watch_set(NULL);
    struct tbuf b = { 0 };
    uint64_t nfiles = run.n_files;
    tbuf_put(&b, (const char *)&nfiles, sizeof nfiles);
    for (size_t i = 0; i < run.n_files; i++)
        put_file(&b, &run.files[i]);
    int wr = write_all(out_fd, tbuf_str(&b), b.len);
    _exit(rc < 0 || wr < 0 ? 3 : 0);
}

/* ---- the parent --------------------------------------------------------- */

struct slot {
    pid_t pid;               /* 0: free */
    size_t index;            /* the trace */
    int out_fd, bt_fd;
    struct tbuf out, bt;
    uint64_t deadline_ns;
    bool hung;
};

struct reader {
    const char *p, *end;
    bool bad;
};

static void get(struct reader *r, void *dst, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p, n);
    r->p += n;
}

static char *get_str(struct reader *r)
{
    uint32_t n;
    get(r, &n, sizeof n);
    if (r->bad || n == 0)
        return NULL;
    if ((size_t)(r->end - r->p) < n || r->p[n - 1] != '\0') {
        r->bad = true;
        return NULL;
    }
    char *s = strdup(r->p);
    r->p += n;
    return s;
}

/* The child's results into *into; false when they do not read back whole. */
static bool read_results(const struct tbuf *b, struct trace_run *into)
{
    struct reader r = { .p = b->len ? tbuf_str(b) : "", .end = (b->len ? tbuf_str(b) : "") + b->len };
    uint64_t nfiles;
    get(&r, &nfiles, sizeof nfiles);
    for (uint64_t i = 0; !r.bad && i < nfiles; i++) {
        char *path = get_str(&r), *title = get_str(&r), *reason = get_str(&r), *basis = get_str(&r);
        struct trace_file_result *f = r.bad ? NULL : trace_run_add(into, path, title);
        free(path);
        free(title);
        if (!f) {
            free(reason);
            free(basis);
            return false;
        }
        f->reason = reason;
        f->basis = basis;
        get(&r, &f->outcome, sizeof f->outcome);
        get(&r, &f->elapsed_ns, sizeof f->elapsed_ns);
        size_t n;
        get(&r, &n, sizeof n);
        for (size_t k = 0; !r.bad && k < n; k++) {
            struct trace_check *c = trace_file_add_check(f);
            if (!c)
                return false;
            get(&r, c, sizeof *c);
            if (c->detail) {
                c->detail = malloc(sizeof *c->detail);
                if (!c->detail)
                    return false;
                get(&r, c->detail, sizeof *c->detail);
            }
        }
    }
    return !r.bad && r.p == r.end;
}

/* A FAILED result for a trace whose child did not report. */
static int add_failure(struct trace_run *into, const char *path, unsigned line, const char *why, const char *bt)
{
    struct trace_file_result *f = trace_run_add(into, path, NULL);
    if (!f)
        return -ENOMEM;
    f->outcome = TRACE_OUTCOME_FAIL;
    struct tbuf reason = { 0 };
    if (line)
        tbuf_printf(&reason, "%s while %s:%u was replayed", why, path, line);
    else
        tbuf_printf(&reason, "%s before the first record was replayed", why);
    if (bt && bt[0])
        tbuf_printf(&reason, "\nbacktrace:\n%s", bt);
    f->reason = strdup(tbuf_str(&reason));
    tbuf_free(&reason);
    struct trace_check *c = trace_file_add_check(f);
    if (!f->reason || !c)
        return -ENOMEM;
    c->line = c->expect_line = line;
    trace_check_fail(c, TRACE_FAIL_NO_RESPONSE, "%s (line %u)", why, line);
    if (c->detail && bt && bt[0])
        snprintf(c->detail->note, sizeof c->detail->note, "backtrace: %s", bt);
    return 0;
}

static void drain_fd(int *fd, struct tbuf *b)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            tbuf_put(b, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        close(*fd);
        *fd = -1;
        return;
    }
}

/* The child of s has ended (or was killed): its result into *dst. */
static int finish(struct slot *s, const char *path, unsigned line, uint64_t budget_ns, struct trace_run *dst)
{
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (s->out_fd >= 0)
        drain_fd(&s->out_fd, &s->out);
    if (s->bt_fd >= 0)
        drain_fd(&s->bt_fd, &s->bt);
    char why[256];
    int rc = 0;
    if (s->hung) {
        snprintf(why, sizeof why, "the driver core hung: no result %.1f s after the trace started (its time "
                 "budget and %.0f s of grace); killed", (double)budget_ns / 1e9, (double)ISOLATED_GRACE_NS / 1e9);
        rc = add_failure(dst, path, line, why, NULL);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        snprintf(why, sizeof why, "the driver core crashed: signal %d (SIG%s, %s)", sig,
                 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", strsignal(sig));
        rc = add_failure(dst, path, line, why, s->bt.len ? tbuf_str(&s->bt) : NULL);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && read_results(&s->out, dst)) {
        rc = 0;
    } else {
        trace_run_free(dst);
        trace_run_init(dst);
        snprintf(why, sizeof why, "the replay's process ended with exit status %d without a result",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        rc = add_failure(dst, path, line, why, NULL);
    }
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->bt_fd >= 0)
        close(s->bt_fd);
    tbuf_free(&s->out);
    tbuf_free(&s->bt);
    s->pid = 0;
    return rc;
}

int run_isolated(const char *const *paths, size_t n, unsigned jobs, const struct replay_options *o,
                 struct trace_run *run, replay_progress_fn progress, void *arg)
{
    if (jobs < 1)
        jobs = 1;
    uint64_t budget = (o->trace_timeout_ns ? o->trace_timeout_ns : REPLAY_TRACE_TIMEOUT_NS) + ISOLATED_GRACE_NS;
    struct slot *slots = calloc(jobs, sizeof *slots);
    struct pollfd *pfd = calloc(jobs, sizeof *pfd);
    unsigned *map = calloc(jobs, sizeof *map);
    struct trace_run *results = calloc(n ? n : 1, sizeof *results);
    bool *ready = calloc(n ? n : 1, sizeof *ready);
    /* one shared word per slot: the line its child is on */
    volatile unsigned *lines = mmap(NULL, jobs * sizeof(unsigned), PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int rc = 0;
    if (!slots || !pfd || !map || !results || !ready || lines == MAP_FAILED) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        trace_run_init(&results[i]);
    /* backtrace() loads libgcc's unwinder on first use (a dlopen): do it once
     * here, so every child inherits it instead of loading it again (and so
     * the crash handler never has to). */
    void *warm[1];
    backtrace(warm, 1);
    size_t next = 0, reported = 0, running = 0;
    while (rc == 0 && (next < n || running)) {
        /* start children into free slots */
        for (unsigned j = 0; j < jobs && next < n; j++) {
            struct slot *s = &slots[j];
            if (s->pid)
                continue;
            int po[2], pb[2];
            if (pipe2(po, O_CLOEXEC) < 0) {
                rc = -errno;
                break;
            }
            if (pipe2(pb, O_CLOEXEC) < 0) {
                rc = -errno;
                close(po[0]);
                close(po[1]);
                break;
            }
            lines[j] = 0;
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                rc = -errno;
                close(po[0]), close(po[1]), close(pb[0]), close(pb[1]);
                break;
            }
            if (pid == 0) {
                close(po[0]);
                close(pb[0]);
                child(paths[next], o, po[1], pb[1], &lines[j]);
            }
            close(po[1]);
            close(pb[1]);
            fcntl(po[0], F_SETFL, O_NONBLOCK);
            fcntl(pb[0], F_SETFL, O_NONBLOCK);
            *s = (struct slot){ .pid = pid, .index = next++, .out_fd = po[0], .bt_fd = pb[0],
                                .deadline_ns = clock_now_ns() + budget };
            running++;
        }
        if (rc < 0 || !running)
            break;
        /* wait for output, an end of file or the nearest deadline */
        unsigned np = 0;
        uint64_t now = clock_now_ns(), nearest = UINT64_MAX;
        for (unsigned j = 0; j < jobs; j++) {
            if (!slots[j].pid)
                continue;
            if (slots[j].deadline_ns < nearest)
                nearest = slots[j].deadline_ns;
            if (slots[j].out_fd >= 0) {
                pfd[np] = (struct pollfd){ .fd = slots[j].out_fd, .events = POLLIN };
                map[np++] = j;
            }
        }
        int wait_ms = nearest <= now ? 0 : (int)((nearest - now) / 1000000 + 1);
        if (np == 0 || wait_ms > 200)
            wait_ms = np == 0 ? 10 : 200; /* a child that closed its pipe is reaped below */
        if (poll(pfd, np, wait_ms) < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        for (unsigned q = 0; q < np; q++)
            if (pfd[q].revents)
                drain_fd(&slots[map[q]].out_fd, &slots[map[q]].out);
        now = clock_now_ns();
        for (unsigned j = 0; j < jobs && rc == 0; j++) {
            struct slot *s = &slots[j];
            if (!s->pid)
                continue;
            if (s->bt_fd >= 0)
                drain_fd(&s->bt_fd, &s->bt);
            bool ended = s->out_fd < 0;
            if (!ended && now >= s->deadline_ns) {
                s->hung = true;
                kill(s->pid, SIGKILL);
                ended = true;
            }
            if (!ended) {
                /* a child that died without closing... cannot: its fds close with it */
                continue;
            }
            size_t idx = s->index;
            rc = finish(s, paths[idx], lines[j], budget, &results[idx]);
            ready[idx] = true;
            running--;
        }
        /* report in order */
        while (rc == 0 && reported < n && ready[reported]) {
            struct trace_run *r = &results[reported];
            for (size_t k = 0; k < r->n_files && rc == 0; k++) {
                struct trace_file_result *f = trace_run_add(run, NULL, NULL);
                if (!f) {
                    rc = -ENOMEM;
                    break;
                }
                free(f->path);
                *f = r->files[k]; /* moved: r keeps no pointer to it */
                if (progress)
                    progress(arg, f, reported + 1, n);
            }
            free(r->files);
            trace_run_init(r);
            reported++;
        }
    }
out:
    for (unsigned j = 0; slots && j < jobs; j++)
        if (slots[j].pid) {
            kill(slots[j].pid, SIGKILL);
            slots[j].hung = true;
            struct trace_run discard;
            trace_run_init(&discard);
            finish(&slots[j], "", 0, budget, &discard);
            trace_run_free(&discard);
        }
    for (size_t i = 0; results && i < n; i++)
        trace_run_free(&results[i]);
    free(results);
    free(ready);
    free(slots);
    free(pfd);
    free(map);
    if (lines != MAP_FAILED)
        munmap((void *)lines, jobs * sizeof(unsigned));
    return rc;
}
