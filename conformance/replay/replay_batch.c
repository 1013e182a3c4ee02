/* conformance/replay/replay_batch.c — many traces, several at a time: worker
 * threads take the next file, replay it into a result of its own, and the
 * calling thread moves the results into the run in the order given (so the
 * reports do not depend on scheduling), reporting progress as it goes.
 *
 * The workers take the traces that wait longest first (`wait` directives,
 * driver deadlines set to be waited out)
 * (a trace that waits 2 s for a drive to spin up, started last, would keep
 * the run going alone for those 2 s); the others in file order.  Those that
 * wait REPLAY_WAITER_NS or more also have threads of their own beside the
 * `jobs` workers (replay_waiter_slots): asleep in their waits they take no
 * CPU, so they need not hold a worker that could replay other traces. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu_pin.h"
#include "conformance/format/trace.h"
#include "conformance/replay/replay.h"

struct batch {
    const char *const *paths;
    size_t n;
    const struct replay_options *o;
    size_t *order;           /* the files, in the order the workers take them */
    size_t waiters;          /* how many waiters lead order */
    atomic_size_t next;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    struct trace_run *slots; /* one per file */
    bool *ready;
    int *rc;
    int cpus[CPU_PIN_MAX];   /* cpu_pin_allowed's, when o->cpu_pin */
    unsigned ncpu;
    atomic_uint slot;        /* the next thread's place among them */
};

static void replay_one(struct batch *b, size_t k)
{
    size_t i = b->order[k];
    int rc = replay_file(b->paths[i], b->o, &b->slots[i]);
    pthread_mutex_lock(&b->lock);
    b->rc[i] = rc;
    b->ready[i] = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->lock);
}

/* A worker or waiter thread keeps to one CPU, and the threads of the
 * traces it replays with it (base/cpu_pin.h); slots spread round-robin. */
static void pin(struct batch *b)
{
    if (b->ncpu)
        (void)cpu_pin_slot(b->cpus, b->ncpu, atomic_fetch_add(&b->slot, 1)); /* unpinned is only slower */
}

static void *worker(void *arg)
{
    struct batch *b = arg;
    pin(b);
    for (;;) {
        size_t k = atomic_fetch_add(&b->next, 1);
        if (k >= b->n)
            return NULL;
        replay_one(b, k);
    }
}

/* A waiter thread: takes only the waiters that lead the order, and ends when
 * none is left to take. */
static void *waiter(void *arg)
{
    struct batch *b = arg;
    pin(b);
    size_t k = atomic_load(&b->next);
    for (;;) {
        if (k >= b->waiters)
            return NULL;
        if (!atomic_compare_exchange_weak(&b->next, &k, k + 1))
            continue; /* k is the counter's value now: look again */
        replay_one(b, k);
        k = atomic_load(&b->next);
    }
}

/* The time a trace spends waiting on purpose (0 when it does not parse: the
 * replay reports that): its `wait` and `pause host` directives, and the longest driver
 * deadline its @host lines set — a trace shortens a deadline only to wait it
 * out (a hang escalated, a heartbeat that stops), sleeping as a `wait` does. */
static uint64_t waits_ns(const char *path)
{
    struct trace *t = NULL;
    struct located_error err;
    if (trace_parse_file(path, &t, &err))
        return 0;
    uint64_t ns = 0;
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind == TRACE_LINE_RECORD && l->record.verb == TRACE_VERB_DIRECTIVE &&
            (l->record.directive.kind == TRACE_DIR_WAIT || l->record.directive.kind == TRACE_DIR_PAUSE))
            ns += l->record.directive.ns;
    }
    const struct trace_host *h = &t->host;
    uint32_t ms = h->command_timeout_ms;
    ms = h->abort_grace_ms > ms ? h->abort_grace_ms : ms;
    ms = h->admin_timeout_ms > ms ? h->admin_timeout_ms : ms;
    ms = h->heartbeat_stall_ms > ms ? h->heartbeat_stall_ms : ms;
    ns += (uint64_t)ms * 1000000u;
    trace_free(t);
    return ns;
}

struct by_wait {
    size_t i;
    uint64_t ns;
};

static int longest_first(const void *a, const void *b)
{
    const struct by_wait *x = a, *y = b;
    if (x->ns != y->ns)
        return x->ns > y->ns ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i; /* then file order */
}

size_t replay_plan(const char *const *paths, size_t n, unsigned jobs, size_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (jobs < 2)
        return 0; /* one at a time: the order changes nothing */
    struct by_wait *w = malloc(n * sizeof *w);
    if (!w)
        return 0; /* file order, no waiters: slower, never wrong */
    for (size_t i = 0; i < n; i++)
        w[i] = (struct by_wait){ .i = i, .ns = waits_ns(paths[i]) };
    qsort(w, n, sizeof *w, longest_first);
    size_t waiters = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = w[i].i;
        waiters += w[i].ns >= REPLAY_WAITER_NS;
    }
    free(w);
    return waiters;
}

unsigned replay_waiter_slots(size_t waiters, unsigned jobs)
{
    if (jobs < 2)
        return 0;
    return waiters < jobs ? (unsigned)waiters : jobs;
}

/* Moves every file result of src to the end of dst; src is left empty. */
static int move_results(struct trace_run *dst, struct trace_run *src)
{
    if (dst->n_files + src->n_files > dst->cap_files) {
        size_t cap = dst->cap_files ? dst->cap_files : 16;
        while (cap < dst->n_files + src->n_files)
            cap *= 2;
        struct trace_file_result *f = realloc(dst->files, cap * sizeof *f);
        if (!f)
            return -ENOMEM;
        dst->files = f;
        dst->cap_files = cap;
    }
    if (src->n_files)
        memcpy(dst->files + dst->n_files, src->files, src->n_files * sizeof *src->files);
    dst->n_files += src->n_files;
    free(src->files);
    trace_run_init(src);
    return 0;
}

int replay_files(const char *const *paths, size_t n, unsigned jobs, const struct replay_options *o,
                 struct trace_run *run, replay_progress_fn progress, void *arg)
{
    struct batch b = { .paths = paths, .n = n, .o = o };
    atomic_init(&b.next, 0);
    atomic_init(&b.slot, 0);
    b.ncpu = o->cpu_pin ? cpu_pin_allowed(b.cpus, CPU_PIN_MAX) : 0;
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cv, NULL);
    b.slots = calloc(n ? n : 1, sizeof *b.slots);
    b.ready = calloc(n ? n : 1, sizeof *b.ready);
    b.rc = calloc(n ? n : 1, sizeof *b.rc);
    b.order = calloc(n ? n : 1, sizeof *b.order);
    int rc = 0;
    if (!b.slots || !b.ready || !b.rc || !b.order) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        trace_run_init(&b.slots[i]);
    if (jobs < 1)
        jobs = 1;
    if (jobs > n)
        jobs = (unsigned)n;
    b.waiters = replay_plan(paths, n, jobs, b.order);
    unsigned extra = replay_waiter_slots(b.waiters, jobs);
    pthread_t *th = calloc(jobs + extra, sizeof *th);
    unsigned started = 0;
    if (!th) {
        rc = -ENOMEM;
        goto out;
    }
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker, &b) != 0)
            break;
    if (started == 0 && n) {
        b.ncpu = 0; /* (the calling thread stays where it may run) */
        worker(&b); /* no thread could start: do the work here */
    }
    /* the waiters' own threads (none is needed for the run to finish: the
     * workers take whatever they leave) */
    for (unsigned j = 0; started && j < extra; j++)
        if (pthread_create(&th[started], NULL, waiter, &b) == 0)
            started++;
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&b.lock);
        while (!b.ready[i])
            pthread_cond_wait(&b.cv, &b.lock);
        pthread_mutex_unlock(&b.lock);
        if (rc == 0 && b.rc[i] < 0)
            rc = b.rc[i];
        if (rc == 0)
            rc = move_results(run, &b.slots[i]);
        if (progress && run->n_files)
            progress(arg, &run->files[run->n_files - 1], i + 1, n);
    }
    for (unsigned j = 0; j < started; j++)
        pthread_join(th[j], NULL);
    free(th);
out:
    for (size_t i = 0; b.slots && i < n; i++)
        trace_run_free(&b.slots[i]);
    free(b.slots);
    free(b.ready);
    free(b.rc);
    free(b.order);
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.lock);
    return rc;
}
