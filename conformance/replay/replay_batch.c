/* conformance/replay/replay_batch.c — many traces, several at a time: worker
 * threads take the next file, replay it into a result of its own, and the
 * calling thread moves the results into the run in the order given (so the
 * reports do not depend on scheduling), reporting progress as it goes. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/replay.h"

struct batch {
    const char *const *paths;
    size_t n;
    const struct replay_options *o;
    atomic_size_t next;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    struct trace_run *slots; /* one per file */
    bool *ready;
    int *rc;
};

static void *worker(void *arg)
{
    struct batch *b = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n)
            return NULL;
        int rc = replay_file(b->paths[i], b->o, &b->slots[i]);
        pthread_mutex_lock(&b->lock);
        b->rc[i] = rc;
        b->ready[i] = true;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->lock);
    }
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
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cv, NULL);
    b.slots = calloc(n ? n : 1, sizeof *b.slots);
    b.ready = calloc(n ? n : 1, sizeof *b.ready);
    b.rc = calloc(n ? n : 1, sizeof *b.rc);
    int rc = 0;
    if (!b.slots || !b.ready || !b.rc) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        trace_run_init(&b.slots[i]);
    if (jobs < 1)
        jobs = 1;
    if (jobs > n)
        jobs = (unsigned)n;
    pthread_t *th = calloc(jobs ? jobs : 1, sizeof *th);
    unsigned started = 0;
    if (!th) {
        rc = -ENOMEM;
        goto out;
    }
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker, &b) != 0)
            break;
    if (started == 0 && n) {
        worker(&b); /* no thread could start: do the work here */
    }
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
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.lock);
    return rc;
}
