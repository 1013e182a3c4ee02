/* platform/osal_user_queue.c — the dispatch queue of osal_user (core/osal.h:
 * osal_queue_async, osal_queue_sync, osal_queue_run_here, osal_on_queue),
 * and osal_user_pause, the host not running the core for a while.
 *
 * One serial queue, run by whoever holds os->run, "the right to run blocks":
 * the queue's thread in each of its loop's callbacks (a wake-up, an
 * interrupt, a timer), or a thread that calls osal_queue_run_here — a
 * polled driver reaping completions from the thread that submits, with no
 * hand-off to the queue's thread and back.  Either way blocks run one at a
 * time and in order, and osal_on_queue is true while they do.  Such a thread
 * runs only its own block and the blocks that block queues (kept on a list of
 * their own, os->rhead): blocks other threads queued are the queue thread's,
 * and when there are any osal_queue_run_here hands its block over behind
 * them, as osal_queue_sync does.  That own list, and the spent items its
 * blocks reuse, are touched only by the thread holding os->run that is not
 * the queue's thread, so os->run guards them and a polled completion that
 * submits the next command takes no qlock (issue 14: no lock per command).
 *
 * libuv handles may only be touched on the queue's thread, so what the
 * sources do with them (osal_user_src.c) goes through a second list the
 * queue's thread alone runs (osal_loop_sync / osal_loop_async), without
 * os->run: it touches no state of the blocks. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "platform/osal_user_internal.h"

/* Items of finished async blocks are kept for the next osal_queue_async (at
 * most this many): at steady state a submission costs no malloc or free. */
#define QITEMS_KEPT 1024u

/* The osal whose blocks this thread is running (it holds that os->run). */
static _Thread_local struct osal *tl_running;

struct osal *osal_run_enter(struct osal *os)
{
    /* The queue's thread says it is waiting, so that osal_queue_run_here
     * lets it have its turn (a mutex is not fair: a thread polling in a tight
     * loop could otherwise take it back again and again). */
    bool loop = osal_on_loop_thread(os);
    if (loop)
        atomic_fetch_add(&os->loop_waiting, 1);
    pthread_mutex_lock(&os->run);
    if (loop)
        atomic_fetch_sub(&os->loop_waiting, 1);
    struct osal *saved = tl_running;
    tl_running = os;
    return saved;
}

void osal_run_leave(struct osal *os, struct osal *saved)
{
    tl_running = saved;
    pthread_mutex_unlock(&os->run);
}

bool osal_running_here(struct osal *os)
{
    return os && tl_running == os;
}

bool osal_on_loop_thread(struct osal *os)
{
    return os && pthread_equal(pthread_self(), os->thread);
}

/* Whether this thread is an osal_queue_run_here thread running os's blocks
 * (it holds os->run and is not the queue's thread). */
static bool runner_here(struct osal *os)
{
    return tl_running == os && !osal_on_loop_thread(os);
}

/* Pops the first item of a list (under the lock that guards it); NULL when
 * empty. */
static struct osal_qitem *pop(struct osal_qitem **head, struct osal_qitem **tail)
{
    struct osal_qitem *it = *head;
    if (it) {
        *head = it->next;
        if (!*head)
            *tail = NULL;
    }
    return it;
}

/* Appends it to a list (under the lock that guards it). */
static void append(struct osal_qitem **head, struct osal_qitem **tail, struct osal_qitem *it)
{
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
}

/* Keeps a spent item for reuse: false when enough are kept (free it). */
static bool keep_item(struct osal_qkept *k, struct osal_qitem *it)
{
    if (k->n >= QITEMS_KEPT)
        return false;
    it->next = k->first;
    k->first = it;
    k->n++;
    return true;
}

/* A kept item, or NULL. */
static struct osal_qitem *take_item(struct osal_qkept *k)
{
    struct osal_qitem *it = k->first;
    if (it) {
        k->first = it->next;
        k->n--;
    }
    return it;
}

static void free_kept(struct osal_qkept *k)
{
    for (struct osal_qitem *it; (it = take_item(k)) != NULL;)
        free(it);
}

/* Runs every item of one list, in order, until it is empty.  Taking the next
 * item and keeping the previous one share one lock acquisition. */
static void run_list(struct osal *os, struct osal_qitem **head, struct osal_qitem **tail)
{
    struct osal_qitem *spent = NULL;
    for (;;) {
        pthread_mutex_lock(&os->qlock);
        if (spent && keep_item(&os->kept, spent))
            spent = NULL;
        struct osal_qitem *it = pop(head, tail);
        if (it && head == &os->head)
            atomic_fetch_sub_explicit(&os->queued, 1, memory_order_relaxed);
        pthread_mutex_unlock(&os->qlock);
        free(spent); /* beyond what is kept */
        spent = NULL;
        if (!it)
            return;
        it->fn(it->arg);
        if (it->sync) {
            pthread_mutex_lock(&os->qlock);
            it->done = true;
            pthread_mutex_unlock(&os->qlock);
            /* After the unlock, so the waiter it wakes does not at once block
             * on qlock again.  Only os is touched from here: it (on the
             * waiter's stack) may be gone as soon as qlock was released. */
            pthread_cond_broadcast(&os->qcond);
        } else {
            spent = it;
        }
    }
}

/* Runs the blocks this run_here thread's blocks queued until none is left.
 * No qlock: see runner_here.  None is a sync item: a run_here thread's
 * osal_queue_sync runs its block at once (osal_on_queue is true there), and
 * loop-only items go on the loop's list. */
static void run_runner_list(struct osal *os)
{
    struct osal_qitem *it;
    while ((it = pop(&os->rhead, &os->rtail))) {
        it->fn(it->arg);
        if (!keep_item(&os->rkept, it))
            free(it);
    }
}

void osal_queue_run_pending(struct osal *os)
{
    run_list(os, &os->head, &os->tail);
}

/* The wake-up: the loop-only items, then every queued block; at shutdown
 * (both lists empty and stopping) closes the handles so uv_run returns. */
void osal_queue_on_wake(uv_async_t *h)
{
    struct osal *os = h->data;
    run_list(os, &os->lhead, &os->ltail);
    struct osal *saved = osal_run_enter(os);
    osal_queue_run_pending(os);
    osal_run_leave(os, saved);
    pthread_mutex_lock(&os->qlock);
    bool stop = !os->head && !os->lhead && os->stopping;
    pthread_mutex_unlock(&os->qlock);
    if (stop) {
        osal_src_close_all(os);
        uv_close((uv_handle_t *)&os->wake, NULL);
    }
}

void *osal_queue_thread(void *arg)
{
    struct osal *os = arg;
    pthread_mutex_lock(&os->qlock);
    os->thread = pthread_self();
    os->started = true;
    pthread_cond_broadcast(&os->qcond);
    pthread_mutex_unlock(&os->qlock);
    uv_run(&os->loop, UV_RUN_DEFAULT);
    return NULL;
}

bool osal_on_queue(struct osal *os)
{
    return os && (tl_running == os || pthread_equal(pthread_self(), os->thread));
}

/* Appends it to the queue (loop false) or the loop-only list, or (runner:
 * the caller is an osal_queue_run_here thread running blocks, runner_here)
 * to that thread's own list, which it runs before it returns: no qlock and
 * no wake-up.  -ESHUTDOWN once teardown began. */
static int enqueue(struct osal *os, struct osal_qitem *it, bool loop, bool runner)
{
    if (runner) {
        if (atomic_load_explicit(&os->stopping, memory_order_relaxed))
            return -ESHUTDOWN;
        append(&os->rhead, &os->rtail, it);
        return 0;
    }
    pthread_mutex_lock(&os->qlock);
    if (os->stopping) {
        pthread_mutex_unlock(&os->qlock);
        return -ESHUTDOWN;
    }
    append(loop ? &os->lhead : &os->head, loop ? &os->ltail : &os->tail, it);
    if (!loop)
        atomic_fetch_add_explicit(&os->queued, 1, memory_order_relaxed);
    /* Sent under the lock: the loop decides to close the handle under the
     * same lock, so no send can reach a closed (or freed) handle.  A block
     * queued by the thread that is running the queue's blocks needs no
     * wake-up: that thread runs the queue empty before it lets go of
     * os->run (every loop callback and osal_queue_run_here end so), so a
     * completion that submits the next command costs no system call. */
    if (loop || tl_running != os) {
        uv_async_send(&os->wake);
        os->queue_wakeups++;
    }
    pthread_mutex_unlock(&os->qlock);
    return 0;
}

static int post(struct osal *os, osal_block fn, void *arg, bool loop)
{
    if (!os || !fn)
        return -EINVAL;
    struct osal_qitem *it;
    bool runner = !loop && runner_here(os);
    if (runner) {
        it = take_item(&os->rkept); /* os->run guards it: no qlock */
    } else {
        pthread_mutex_lock(&os->qlock);
        it = take_item(&os->kept);
        pthread_mutex_unlock(&os->qlock);
    }
    if (!it && !(it = malloc(sizeof(*it))))
        return -ENOMEM;
    *it = (struct osal_qitem){ .fn = fn, .arg = arg };
    int rc = enqueue(os, it, loop, runner);
    if (rc < 0)
        free(it);
    return rc;
}

/* Queues a sync item and waits until it ran (never on the queue: no runner). */
static int post_and_wait(struct osal *os, osal_block fn, void *arg, bool loop)
{
    struct osal_qitem it = { .fn = fn, .arg = arg, .sync = true };
    int rc = enqueue(os, &it, loop, false);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&os->qlock);
    while (!it.done)
        pthread_cond_wait(&os->qcond, &os->qlock);
    pthread_mutex_unlock(&os->qlock);
    return 0;
}

int osal_queue_async(struct osal *os, osal_block fn, void *arg)
{
    return post(os, fn, arg, false);
}

int osal_queue_sync(struct osal *os, osal_block fn, void *arg)
{
    if (!os || !fn)
        return -EINVAL;
    if (osal_on_queue(os)) {
        fn(arg);
        return 0;
    }
    return post_and_wait(os, fn, arg, false);
}

int osal_queue_run_here(struct osal *os, osal_block fn, void *arg)
{
    if (!os || !fn)
        return -EINVAL;
    if (osal_on_queue(os)) {
        fn(arg);
        return 0;
    }
    /* The queue's thread waiting for its turn (a handler, a timer) goes
     * first: this block then waits behind it, like osal_queue_sync. */
    if (atomic_load(&os->loop_waiting))
        return osal_queue_sync(os, fn, arg);
    struct osal *saved = osal_run_enter(os);
    /* Read without qlock: a block another thread queues at this very moment
     * may run before or after fn either way, as with a lock. */
    if (atomic_load(&os->stopping) || atomic_load(&os->queued)) {
        /* Blocks other threads queued come first, on the queue's thread. */
        osal_run_leave(os, saved);
        return osal_queue_sync(os, fn, arg);
    }
    fn(arg);
    run_runner_list(os); /* what fn queued, without a wake-up */
    osal_run_leave(os, saved);
    return 0;
}

/* The pause runs as a block rather than by taking os->run from the
 * caller's thread: the queue's thread itself is then busy, so its loop
 * polls nothing, and once the block ends libuv runs the timers that came
 * due before the interrupts that came meanwhile, as a host that got the CPU
 * back would run its late tick first. */
static void pause_block(void *arg)
{
    uint64_t ns = *(const uint64_t *)arg;
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int osal_user_pause(struct osal *os, uint64_t ns)
{
    return osal_queue_sync(os, pause_block, &ns);
}

int osal_loop_sync(struct osal *os, osal_block fn, void *arg)
{
    if (osal_on_loop_thread(os)) {
        fn(arg);
        return 0;
    }
    /* The queue's thread may be waiting for os->run, which this thread
     * holds: waiting for it here would never end. */
    if (osal_running_here(os))
        return -EDEADLK;
    return post_and_wait(os, fn, arg, true);
}

int osal_loop_async(struct osal *os, osal_block fn, void *arg)
{
    return post(os, fn, arg, true);
}

void osal_queue_fini(struct osal *os)
{
    free_kept(&os->kept);
    free_kept(&os->rkept);
}
