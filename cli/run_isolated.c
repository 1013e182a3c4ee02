/* cli/run_isolated.c — traces replayed in child processes (see
 * cli/run_isolated.h).
 *
 * Up to jobs children at a time, each a shard: it takes the next trace from a
 * counter shared with the parent and its siblings, replays it as replay_file
 * does and writes the result to its pipe as one frame (the structures of
 * conformance/report/result.h, byte for byte: parent and child are the same
 * program), then takes the next.  While it replays, the child keeps the trace
 * it is on, since when, and the trace line in words shared with the parent
 * (conformance/replay/replay_watch.h); a fatal signal handler writes a
 * backtrace to a second pipe and dies of the signal.
 *
 * What a shard child carries from one trace to the next: nothing a trace can
 * see.  The stack, the controller, the host RAM and the core's instance are
 * built and torn down per trace as in one process; a loaded core's static
 * data is put back as it was when the child started (cli/core_statics.h);
 * and the child ends — a fresh one takes the next trace — after a trace that
 * FAILED, or one that left a thread or an open file behind.
 *
 * The parent reads the frames as they come, and when a child ends:
 *   exit 0, its last frame read    nothing more (it had no trace left, or
 *                                  ended after a failure, as above)
 *   killed by a signal             the trace it was on FAILED: the signal,
 *                                  the line, the backtrace
 *   still on a trace past budget   FAILED: killed, the line it hung on
 *   exited otherwise               FAILED: the exit status
 * and starts a new child in its slot while traces are left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <execinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/cpu_pin.h"
#include "base/tbuf.h"
#include "cli/core_statics.h"
#include "cli/run_isolated.h"
#include "cli/run_leaks.h"
#include "conformance/replay/replay_watch.h"
#include "stack/driver_core.h"

/* How long past its time budget a child may take to report. */
#define ISOLATED_GRACE_NS (2ull * 1000000000ull)
#define BACKTRACE_MAX 64

/* Shared with the children (MAP_SHARED): the next trace to take, then one
 * watch per slot. */
struct shared {
    atomic_size_t next;
};

struct watch {
    volatile unsigned line;        /* the trace line being replayed (0: none yet) */
    _Atomic uint64_t started_ns;   /* when the current trace (or the child) started */
    _Atomic uint64_t current;      /* the trace being replayed, index + 1; 0: none */
};

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

/* The run: the traces, the order they are taken in (replay_plan), and —
 * the parent's — their results. */
struct run_state {
    const char *const *paths;
    size_t n;
    size_t *order;             /* replay_plan's */
    size_t waiters;            /* how many waiters lead order */
    struct trace_run *results; /* one per trace */
    bool *ready;
    int cpus[CPU_PIN_MAX];     /* cpu_pin_allowed's, when o->cpu_pin */
    unsigned ncpu;
};

/* The next place in the order to replay, if it is below limit (n for a
 * worker, the waiters for a waiter's slot); SIZE_MAX when none is left. */
static size_t take(struct shared *sh, size_t limit)
{
    size_t k = atomic_load(&sh->next);
    while (k < limit)
        if (atomic_compare_exchange_weak(&sh->next, &k, k + 1))
            return k;
    return SIZE_MAX;
}

/* How many entries a /proc/self directory has (threads, open files), or -1. */
static long count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Whether the next trace may run in this child: the one just replayed
 * passed (or did not run), and the core left no thread behind (the
 * directory stream count_entries opens is closed again before it returns,
 * so the counts compare like with like) and no file (fds_clean: the leak
 * check, which fails the trace when it did).  A trace that failed may have
 * left the core's process in any state: the next one gets a fresh child. */
static bool may_go_on(const struct trace_run *run, long threads, bool fds_clean)
{
    for (size_t i = 0; i < run->n_files; i++)
        if (run->files[i].outcome == TRACE_OUTCOME_FAIL)
            return false;
    return fds_clean && threads >= 0 && count_entries("/proc/self/task") == threads;
}

/* The leak check of one trace: descriptors open now that were not when
 * the child started fail the trace's last result.  True when the sets
 * were taken and are the same. */
static bool check_fds(const struct run_fds *before, struct trace_run *run)
{
    struct run_fds after;
    int rc = run_fds_take(&after);
    if (rc < 0) {
        fprintf(stderr, "scsisim run: the descriptor leak check was not run after a trace: /proc/self/fd: %s\n",
                strerror(-rc));
        return false;
    }
    struct tbuf msg = { 0 };
    bool differ = run_fds_compare(before, &after, "after this trace had torn down", "this trace", &msg);
    run_fds_free(&after);
    if (differ && run->n_files && (msg.oom ||
                   run_fds_fail(&run->files[run->n_files - 1], tbuf_str(&msg),
                                "a descriptor the simulator or the driver core opened for the trace and "
                                "never closed, or closed without having opened it") < 0))
        _exit(3);
    tbuf_free(&msg);
    return !differ;
}

/* A shard child: replays trace after trace (taking the next index from the
 * shared counter), writing each result as one frame — index, length, the
 * results — as soon as it is done. */
static _Noreturn void child(const struct run_state *rs, bool waiters_only, const struct replay_options *o,
                            struct shared *sh, struct watch *w, int out_fd, int bt_fd, unsigned slot)
{
    /* the slot's CPU, its traces' threads with it (base/cpu_pin.h); unpinned is only slower */
    (void)cpu_pin_slot(rs->cpus, rs->ncpu, slot);
    crash_fd = bt_fd; /* the unwinder was loaded by the parent (run_isolated) */
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], on_fatal);
    replay_watch_set(&w->line);
    /* A loaded core's statics as a fresh child has them, put back before
     * every trace after the first (cli/core_statics.h). */
    const struct scsisim_driver_core *core = stack_driver_core_default();
    bool statics = stack_driver_core_default_path() && core_statics_save(core) == 0;
    long threads = count_entries("/proc/self/task");
    struct run_fds fds_before;
    int fds_rc = run_fds_take(&fds_before);
    if (fds_rc < 0)
        fprintf(stderr, "scsisim run: the descriptor leak check is not run in this shard child: /proc/self/fd: %s\n",
                strerror(-fds_rc));
    struct tbuf b = { 0 };
    for (bool first = true;; first = false) {
        size_t k = take(sh, waiters_only ? rs->waiters : rs->n);
        if (k == SIZE_MAX)
            _exit(0);
        k = rs->order[k];
        w->line = 0;
        atomic_store(&w->started_ns, clock_now_ns());
        atomic_store(&w->current, k + 1);
        if (statics && !first)
            core_statics_restore();
        struct trace_run run;
        trace_run_init(&run);
        if (replay_file(rs->paths[k], o, &run) < 0)
            _exit(3);
        w->line = 0;
        /* Every descriptor the trace opened is closed by now (its stack is
         * torn down, its threads joined): one still open is a leak, and it
         * fails this very trace (cli/run_leaks.h). */
        bool fds_clean = fds_rc == 0 && check_fds(&fds_before, &run);
        tbuf_reset(&b);
        uint64_t head[2] = { k, 0 };
        tbuf_put(&b, (const char *)head, sizeof head);
        uint64_t nfiles = run.n_files;
        tbuf_put(&b, (const char *)&nfiles, sizeof nfiles);
        for (size_t i = 0; i < run.n_files; i++)
            put_file(&b, &run.files[i]);
        if (b.oom)
            _exit(3);
        head[1] = b.len - sizeof head;
        memcpy(b.s + sizeof head[0], &head[1], sizeof head[1]);
        if (write_all(out_fd, b.s, b.len) < 0)
            _exit(3);
        atomic_store(&w->current, 0);
        bool go_on = may_go_on(&run, threads, fds_clean);
        trace_run_free(&run);
        if (!go_on)
            _exit(0);
    }
}

/* ---- the parent --------------------------------------------------------- */

struct slot {
    pid_t pid;               /* 0: free */
    int out_fd, bt_fd;
    struct tbuf out, bt;     /* out: frames not yet read, from out_off on */
    size_t out_off;
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

/* One frame's results (len bytes at p) into *into; false when they do not
 * read back whole. */
static bool read_results(const char *p, size_t len, struct trace_run *into)
{
    struct reader r = { .p = p, .end = p + len };
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
        size_t nc;
        get(&r, &nc, sizeof nc);
        for (size_t k = 0; !r.bad && k < nc; k++) {
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

/* The complete frames s->out holds, into their traces' results.  A frame
 * that does not read back is that trace's failure. */
static int take_frames(struct slot *s, struct run_state *rs)
{
    for (;;) {
        size_t have = s->out.len - s->out_off;
        uint64_t head[2];
        if (have < sizeof head)
            break;
        memcpy(head, s->out.s + s->out_off, sizeof head);
        if (head[1] > have - sizeof head)
            break;
        const char *payload = s->out.s + s->out_off + sizeof head;
        s->out_off += sizeof head + head[1];
        size_t i = head[0];
        if (i >= rs->n || rs->ready[i])
            continue; /* cannot come from our child: nothing to credit it to */
        rs->ready[i] = true;
        if (!read_results(payload, head[1], &rs->results[i])) {
            trace_run_free(&rs->results[i]);
            trace_run_init(&rs->results[i]);
            int rc = add_failure(&rs->results[i], rs->paths[i], 0,
                                 "the replay's result did not read back from its process", NULL);
            if (rc < 0)
                return rc;
        }
    }
    if (s->out_off == s->out.len) {
        tbuf_reset(&s->out);
        s->out_off = 0;
    }
    return 0;
}

/* The child of slot s has ended (or was killed): the results it wrote, and
 * the trace it was on, if any, as FAILED with the reason. */
static int finish(struct slot *s, struct watch *w, struct run_state *rs, uint64_t budget_ns)
{
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (s->out_fd >= 0)
        drain_fd(&s->out_fd, &s->out);
    if (s->bt_fd >= 0)
        drain_fd(&s->bt_fd, &s->bt);
    int rc = take_frames(s, rs);
    uint64_t cur = atomic_load(&w->current);
    if (rc == 0 && cur && cur <= rs->n && !rs->ready[cur - 1]) {
        size_t i = cur - 1;
        char why[256];
        const char *bt = NULL;
        if (s->hung) {
            snprintf(why, sizeof why, "the driver core hung: no result %.1f s after the trace started (its time "
                     "budget and %.0f s of grace); killed", (double)budget_ns / 1e9,
                     (double)ISOLATED_GRACE_NS / 1e9);
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            snprintf(why, sizeof why, "the driver core crashed: signal %d (SIG%s, %s)", sig,
                     sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", strsignal(sig));
            bt = s->bt.len ? tbuf_str(&s->bt) : NULL;
        } else {
            snprintf(why, sizeof why, "the replay's process ended with exit status %d without a result",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        rs->ready[i] = true;
        rc = add_failure(&rs->results[i], rs->paths[i], w->line, why, bt);
    }
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->bt_fd >= 0)
        close(s->bt_fd);
    tbuf_free(&s->out);
    tbuf_free(&s->bt);
    *s = (struct slot){ .out_fd = -1, .bt_fd = -1 };
    return rc;
}

/* A new shard child into slot s, the index-th. */
static int start(struct slot *s, unsigned index, bool waiters_only, struct shared *sh, struct watch *w,
                 struct run_state *rs, const struct replay_options *o)
{
    int po[2], pb[2];
    if (pipe2(po, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(pb, O_CLOEXEC) < 0) {
        int rc = -errno;
        close(po[0]);
        close(po[1]);
        return rc;
    }
    w->line = 0;
    atomic_store(&w->current, 0);
    atomic_store(&w->started_ns, clock_now_ns());
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(po[0]), close(po[1]), close(pb[0]), close(pb[1]);
        return rc;
    }
    if (pid == 0) {
        close(po[0]);
        close(pb[0]);
        child(rs, waiters_only, o, sh, w, po[1], pb[1], index);
    }
    close(po[1]);
    close(pb[1]);
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pb[0], F_SETFL, O_NONBLOCK);
    *s = (struct slot){ .pid = pid, .out_fd = po[0], .bt_fd = pb[0] };
    return 0;
}

int run_isolated(const char *const *paths, size_t n, unsigned jobs, const struct replay_options *o,
                 struct trace_run *run, replay_progress_fn progress, void *arg)
{
    if (jobs < 1)
        jobs = 1;
    if (n && jobs > n)
        jobs = (unsigned)n;
    struct run_state rs = { .paths = paths, .n = n };
    rs.ncpu = o->cpu_pin ? cpu_pin_allowed(rs.cpus, CPU_PIN_MAX) : 0;
    rs.order = calloc(n ? n : 1, sizeof *rs.order);
    if (!rs.order)
        return -ENOMEM;
    rs.waiters = replay_plan(paths, n, jobs, rs.order);
    unsigned workers = jobs; /* slots from workers on replay only the waiters */
    jobs += replay_waiter_slots(rs.waiters, workers);
    uint64_t budget = (o->trace_timeout_ns ? o->trace_timeout_ns : REPLAY_TRACE_TIMEOUT_NS) + ISOLATED_GRACE_NS;
    struct slot *slots = calloc(jobs, sizeof *slots);
    struct pollfd *pfd = calloc(jobs, sizeof *pfd);
    unsigned *map = calloc(jobs, sizeof *map);
    rs.results = calloc(n ? n : 1, sizeof *rs.results);
    rs.ready = calloc(n ? n : 1, sizeof *rs.ready);
    /* shared with the children: the next trace to take, and per slot the
     * trace its child is on, since when, and the line */
    size_t shared_len = sizeof(struct shared) + jobs * sizeof(struct watch);
    struct shared *sh = mmap(NULL, shared_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int rc = 0;
    if (!slots || !pfd || !map || !rs.results || !rs.ready || sh == MAP_FAILED) {
        rc = -ENOMEM;
        goto out;
    }
    struct watch *watch = (struct watch *)(sh + 1);
    atomic_init(&sh->next, 0);
    for (unsigned j = 0; j < jobs; j++)
        slots[j] = (struct slot){ .out_fd = -1, .bt_fd = -1 };
    for (size_t i = 0; i < n; i++)
        trace_run_init(&rs.results[i]);
    /* backtrace() loads libgcc's unwinder on first use (a dlopen): do it once
     * here, so every child inherits it instead of loading it again (and so
     * the crash handler never has to). */
    void *warm[1];
    backtrace(warm, 1);
    /* Part of every child's starting set of open files, so that a child's
     * first trace does not look like one that left a file open. */
    run_fds_warm();
    size_t reported = 0, running = 0;
    while (rc == 0 && reported < n) {
        /* a child into every free slot while traces are left to take */
        for (unsigned j = 0; j < jobs && rc == 0; j++) {
            if (slots[j].pid || atomic_load(&sh->next) >= (j < workers ? n : rs.waiters))
                continue;
            if ((rc = start(&slots[j], j, j >= workers, sh, &watch[j], &rs, o)) == 0)
                running++;
        }
        if (rc < 0)
            break;
        if (!running) {
            /* every trace was taken and every child has ended, yet some
             * trace has no result: its child ended between taking it and
             * saying so (it cannot, short of being killed from outside) */
            for (size_t i = 0; i < n && rc == 0; i++)
                if (!rs.ready[i]) {
                    rs.ready[i] = true;
                    rc = add_failure(&rs.results[i], paths[i], 0, "the replay's process ended without a result",
                                     NULL);
                }
        }
        /* wait for output, an end of file or the nearest deadline */
        unsigned np = 0;
        uint64_t now = clock_now_ns(), nearest = UINT64_MAX;
        for (unsigned j = 0; j < jobs; j++) {
            if (!slots[j].pid)
                continue;
            uint64_t deadline = atomic_load(&watch[j].started_ns) + budget;
            if (deadline < nearest)
                nearest = deadline;
            if (slots[j].out_fd >= 0) {
                pfd[np] = (struct pollfd){ .fd = slots[j].out_fd, .events = POLLIN };
                map[np++] = j;
            }
        }
        if (running) {
            int wait_ms = nearest <= now ? 0 : (int)((nearest - now) / 1000000 + 1);
            if (np == 0 || wait_ms > 200)
                wait_ms = np == 0 ? 10 : 200; /* a child that closed its pipe is reaped below */
            if (poll(pfd, np, wait_ms) < 0 && errno != EINTR) {
                rc = -errno;
                break;
            }
            for (unsigned q = 0; q < np && rc == 0; q++)
                if (pfd[q].revents) {
                    drain_fd(&slots[map[q]].out_fd, &slots[map[q]].out);
                    rc = take_frames(&slots[map[q]], &rs);
                }
        }
        now = clock_now_ns();
        for (unsigned j = 0; j < jobs && rc == 0; j++) {
            struct slot *s = &slots[j];
            if (!s->pid)
                continue;
            if (s->bt_fd >= 0)
                drain_fd(&s->bt_fd, &s->bt);
            bool ended = s->out_fd < 0; /* its pipe closes when it ends, whatever the way */
            if (!ended && now >= atomic_load(&watch[j].started_ns) + budget) {
                s->hung = true;
                kill(s->pid, SIGKILL);
                ended = true;
            }
            if (!ended)
                continue;
            rc = finish(s, &watch[j], &rs, budget);
            running--;
        }
        /* report in order */
        while (rc == 0 && reported < n && rs.ready[reported]) {
            struct trace_run *r = &rs.results[reported];
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
            int status;
            while (waitpid(slots[j].pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (slots[j].out_fd >= 0)
                close(slots[j].out_fd);
            if (slots[j].bt_fd >= 0)
                close(slots[j].bt_fd);
            tbuf_free(&slots[j].out);
            tbuf_free(&slots[j].bt);
        }
    for (size_t i = 0; rs.results && i < n; i++)
        trace_run_free(&rs.results[i]);
    free(rs.results);
    free(rs.ready);
    free(rs.order);
    free(slots);
    free(pfd);
    free(map);
    if (sh != MAP_FAILED)
        munmap(sh, shared_len);
    return rc;
}
