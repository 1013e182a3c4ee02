/* platform/osal_user.c — the osal instance, its dispatch queue (a libuv loop on
 * its own thread), registers, time and logging.  DMA is in osal_user_dma.c,
 * interrupt and timer sources in osal_user_src.c.  See platform/osal_user.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "platform/osal_user_internal.h"
#include "platform/bus.h"

void osal_user_options_init(struct osal_user_options *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "osal";
    o->log_level = OSAL_LOG_WARN;
    o->iova_base = OSAL_PAGE;
    o->low_window = true;
}

/* --- the dispatch queue ---------------------------------------------------- *
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
 * them, as osal_queue_sync does.
 *
 * libuv handles may only be touched on the queue's thread, so what the
 * sources do with them (osal_user_src.c) goes through a second list the
 * queue's thread alone runs (osal_loop_sync / osal_loop_async), without
 * os->run: it touches no state of the blocks. */

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

/* Pops the first item of a list (under qlock); NULL when empty. */
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

/* Runs every item of one list, in order, until it is empty.  Taking the next
 * item and keeping the previous one share one lock acquisition. */
static void run_list(struct osal *os, struct osal_qitem **head, struct osal_qitem **tail)
{
    struct osal_qitem *spent = NULL;
    for (;;) {
        pthread_mutex_lock(&os->qlock);
        if (spent && os->nkept < QITEMS_KEPT) {
            spent->next = os->kept;
            os->kept = spent;
            os->nkept++;
            spent = NULL;
        }
        struct osal_qitem *it = pop(head, tail);
        pthread_mutex_unlock(&os->qlock);
        free(spent); /* beyond what is kept */
        spent = NULL;
        if (!it)
            return;
        it->fn(it->arg);
        if (it->sync) {
            pthread_mutex_lock(&os->qlock);
            it->done = true;
            pthread_cond_broadcast(&os->qcond);
            pthread_mutex_unlock(&os->qlock);
        } else {
            spent = it;
        }
    }
}

void osal_queue_run_pending(struct osal *os)
{
    run_list(os, &os->head, &os->tail);
}

/* The wake-up: the loop-only items, then every queued block; at shutdown
 * (both lists empty and stopping) closes the handles so uv_run returns. */
static void on_wake(uv_async_t *h)
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

static void *queue_thread(void *arg)
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

/* Appends it to the queue (loop false) or the loop-only list; -ESHUTDOWN
 * once teardown began. */
static int enqueue(struct osal *os, struct osal_qitem *it, bool loop)
{
    /* A block queued by osal_queue_run_here's thread while it runs blocks
     * goes on that thread's own list, which it runs before it returns. */
    bool runner = !loop && tl_running == os && !osal_on_loop_thread(os);
    pthread_mutex_lock(&os->qlock);
    if (os->stopping) {
        pthread_mutex_unlock(&os->qlock);
        return -ESHUTDOWN;
    }
    struct osal_qitem **head = loop ? &os->lhead : runner ? &os->rhead : &os->head;
    struct osal_qitem **tail = loop ? &os->ltail : runner ? &os->rtail : &os->tail;
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
    /* Sent under the lock: the loop decides to close the handle under the
     * same lock, so no send can reach a closed (or freed) handle.  A block
     * queued by the thread that is running the queue's blocks needs no
     * wake-up: that thread runs the queue empty before it lets go of
     * os->run (every loop callback and osal_queue_run_here end so), so a
     * completion that submits the next command costs no system call. */
    if (loop || tl_running != os) { /* (runner implies tl_running == os) */
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
    pthread_mutex_lock(&os->qlock);
    struct osal_qitem *it = os->kept;
    if (it) {
        os->kept = it->next;
        os->nkept--;
    }
    pthread_mutex_unlock(&os->qlock);
    if (!it && !(it = malloc(sizeof(*it))))
        return -ENOMEM;
    *it = (struct osal_qitem){ .fn = fn, .arg = arg };
    int rc = enqueue(os, it, loop);
    if (rc < 0)
        free(it);
    return rc;
}

/* Queues a sync item and waits until it ran. */
static int post_and_wait(struct osal *os, osal_block fn, void *arg, bool loop)
{
    struct osal_qitem it = { .fn = fn, .arg = arg, .sync = true };
    int rc = enqueue(os, &it, loop);
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
    pthread_mutex_lock(&os->qlock);
    bool stopping = os->stopping, behind = os->head != NULL;
    pthread_mutex_unlock(&os->qlock);
    if (stopping || behind) {
        /* Blocks other threads queued come first, on the queue's thread. */
        osal_run_leave(os, saved);
        return osal_queue_sync(os, fn, arg);
    }
    fn(arg);
    run_list(os, &os->rhead, &os->rtail); /* what fn queued, without a wake-up */
    osal_run_leave(os, saved);
    return 0;
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

/* --- life cycle ----------------------------------------------------------- */

static void fini_sync(struct osal *os)
{
    pthread_mutex_destroy(&os->run);
    pthread_mutex_destroy(&os->qlock);
    pthread_cond_destroy(&os->qcond);
    pthread_mutex_destroy(&os->dlock);
}

int osal_user_create(struct bus *bus, const struct osal_user_options *o, struct osal **out)
{
    if (!bus || !out)
        return -EINVAL;
    *out = NULL;
    struct osal_user_options def;
    if (!o) {
        osal_user_options_init(&def);
        o = &def;
    }
    if ((unsigned)o->log_level > OSAL_LOG_DEBUG)
        return -EINVAL;
    struct osal *os = calloc(1, sizeof(*os));
    if (!os)
        return -ENOMEM;
    atomic_init(&os->bus, bus);
    snprintf(os->name, sizeof(os->name), "%s", o->name ? o->name : "osal");
    os->log_level = o->log_level;
    os->log_sink = o->log_sink;
    os->log_arg = o->log_arg;
    pthread_mutex_init(&os->qlock, NULL);
    pthread_mutex_init(&os->run, NULL);
    pthread_cond_init(&os->qcond, NULL);
    pthread_mutex_init(&os->dlock, NULL);
    osal_dma_init(os, o, bus_ram_size(bus));

    int rc = uv_loop_init(&os->loop);
    if (rc < 0)
        goto fail_loop;
    rc = uv_async_init(&os->loop, &os->wake, on_wake);
    if (rc < 0)
        goto fail_async;
    os->wake.data = os;

    /* The queue thread takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    rc = -pthread_create(&tid, NULL, queue_thread, os);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0)
        goto fail_thread;
    pthread_mutex_lock(&os->qlock);
    while (!os->started)
        pthread_cond_wait(&os->qcond, &os->qlock);
    pthread_mutex_unlock(&os->qlock);
    os->joinable = tid;
    *out = os;
    return 0;

fail_thread:
    uv_close((uv_handle_t *)&os->wake, NULL);
    uv_run(&os->loop, UV_RUN_DEFAULT);
fail_async:
    uv_loop_close(&os->loop);
fail_loop:
    osal_dma_fini(os);
    fini_sync(os);
    free(os);
    return rc;
}

void osal_user_destroy(struct osal *os)
{
    if (!os)
        return;
    if (osal_on_queue(os)) {
        /* Joining ourselves would deadlock: refuse, loudly. */
        osal_log(os, OSAL_LOG_ERROR, "osal_user_destroy called on the dispatch queue; not destroyed");
        return;
    }
    pthread_mutex_lock(&os->qlock);
    os->stopping = true;
    uv_async_send(&os->wake);
    pthread_mutex_unlock(&os->qlock);
    pthread_join(os->joinable, NULL);
    if (uv_loop_close(&os->loop) != 0)
        osal_log(os, OSAL_LOG_ERROR, "event loop still had handles at teardown");
    osal_dma_fini(os);
    for (struct osal_qitem *it = os->kept, *next; it; it = next) {
        next = it->next;
        free(it);
    }
    fini_sync(os);
    free(os);
}

int osal_user_set_bus(struct osal *os, struct bus *bus)
{
    if (!os || !bus)
        return -EINVAL;
    if (osal_on_queue(os))
        return -EDEADLK;
    /* The same bus again: a remote bus re-attached in place to a restarted
     * controller (bus_remote_reconnect), which replayed the IOMMU mappings
     * from its own record and kept host RAM where it was; only the
     * interrupt eventfds behind the vector numbers are new. */
    int rc = bus == osal_user_bus(os) ? 0 : osal_dma_switch_bus(os, bus);
    if (rc == -ERANGE)
        return rc;
    int qrc = osal_loop_sync(os, osal_src_rebind, os);
    return rc < 0 ? rc : qrc;
}

struct bus *osal_user_bus(struct osal *os)
{
    return atomic_load_explicit(&os->bus, memory_order_acquire);
}

/* --- registers ------------------------------------------------------------ */

uint32_t osal_reg_read32(struct osal *os, uint32_t offset)
{
    return bus_read32(osal_user_bus(os), offset);
}

void osal_reg_write32(struct osal *os, uint32_t offset, uint32_t value)
{
    bus_write32(osal_user_bus(os), offset, value);
}

/* --- time and logging ----------------------------------------------------- */

uint64_t osal_now_ns(struct osal *os)
{
    (void)os;
    return clock_now_ns();
}

static const char *level_name(enum osal_log_level l)
{
    switch (l) {
    case OSAL_LOG_ERROR:
        return "error";
    case OSAL_LOG_WARN:
        return "warning";
    case OSAL_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void osal_log(struct osal *os, enum osal_log_level level, const char *fmt, ...)
{
    if (os && level > os->log_level)
        return;
    char line[512];
    int n = snprintf(line, sizeof(line), "%s: %s: ", os ? os->name : "osal", level_name(level));
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (os && os->log_sink) {
        os->log_sink(os->log_arg, level, line);
        return;
    }
    /* One write per line so lines from several threads do not interleave. */
    size_t len = strlen(line);
    if (len < sizeof(line) - 1)
        line[len++] = '\n';
    else
        line[len - 1] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nowhere left to report it */
    }
}

/* --- statistics ----------------------------------------------------------- */

void osal_user_get_stats(struct osal *os, struct osal_user_stats *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_lock(&os->dlock);
    s->dma_bytes_live = os->ram.used;
    s->dma_buffers_live = os->nbufs;
    s->mappings_live = os->nmaps;
    s->iova_pages_live = (os->iova.used + os->iova_low.used) / OSAL_PAGE;
    s->iova_low_pages_live = os->iova_low.used / OSAL_PAGE;
    s->mappings_total = os->maps_total;
    s->segments_total = os->segs_total;
    pthread_mutex_unlock(&os->dlock);
    s->irqs_live = atomic_load(&os->irqs_live);
    s->timers_live = atomic_load(&os->timers_live);
    s->irqs_delivered = atomic_load(&os->irqs_delivered);
    pthread_mutex_lock(&os->qlock);
    s->queue_wakeups = os->queue_wakeups;
    pthread_mutex_unlock(&os->qlock);
}
