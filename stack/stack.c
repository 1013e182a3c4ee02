/* stack/stack.c — the assembled stack (see stack/stack.h): opening and
 * closing it, tasks, and the parts.  What depends on the mode is in the two
 * halves (struct stack_mode_ops): stack/stack_local.c (the controller in this
 * process) and stack/stack_proc.c (the controller process, the remote bus,
 * reconnection); test control is stack/stack_ctl.c. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/stack_internal.h"
#include "base/clock.h"
#include "base/errf.h"

/* What stack_submit wraps around the caller's callback.  STACK_CALLS of
 * them are preallocated per stack and reused through a lock-free free list
 * (core/index_stack.h): submitting on any thread and completing on the
 * dispatch queue cost no malloc or lock.  Beyond that many in flight, a call
 * is allocated. */
#define STACK_CALLS 1024u
struct stack_call {
    struct stack *st;
    drv_task_done done;
    void *arg;
    uint32_t index;
    bool pooled;
};

static struct stack_call *call_get(struct stack *st)
{
    uint32_t i = st->calls ? index_stack_pop(&st->call_free) : INDEX_STACK_NIL;
    if (i != INDEX_STACK_NIL) {
        st->calls[i] = (struct stack_call){ .st = st, .index = i, .pooled = true };
        return &st->calls[i];
    }
    struct stack_call *call = malloc(sizeof(*call));
    if (call)
        call->pooled = false;
    return call;
}

static void call_put(struct stack *st, struct stack_call *call)
{
    if (call->pooled)
        index_stack_push(&st->call_free, call->index);
    else
        free(call);
}

static int calls_init(struct stack *st)
{
    /* Written as each is handed out (call_get), not here: untouched pages
     * cost nothing. */
    st->calls = malloc(STACK_CALLS * sizeof(*st->calls));
    st->call_next = malloc(STACK_CALLS * sizeof(*st->call_next));
    if (!st->calls || !st->call_next)
        return -ENOMEM;
    index_stack_init(&st->call_free, st->call_next, STACK_CALLS);
    return 0;
}

void stack_options_init(struct stack_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = STACK_IN_PROCESS;
    osal_user_options_init(&o->osal);
    o->osal.name = "stack";
    o->core = stack_driver_core_default();
}

/* Frees whatever stack_open built so far, in reverse order. */
static void teardown(struct stack *st)
{
    st->half->stop_watch(st); /* no reconnection while the core stops */
    if (st->core) {
        if (st->started)
            st->ops->stop(st->core);
        st->ops->destroy(st->core);
    }
    osal_user_destroy(st->os);
    st->half->close(st);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->done_cv);
    free(st->calls);
    free(st->call_next);
    free(st);
}

/* The half of each mode; stack_open picks one and the rest follows. */
static const struct stack_mode_ops *const halves[] = {
    [STACK_IN_PROCESS] = &stack_local_ops,
    [STACK_TWO_PROCESS] = &stack_proc_ops,
};

int stack_open(const struct sim_config *cfg, const struct stack_options *o, struct stack **out, char *err,
               size_t errlen)
{
    if (out)
        *out = NULL;
    if (err && errlen)
        err[0] = 0;
    struct stack_options def;
    if (!o) {
        stack_options_init(&def);
        o = &def;
    }
    if (!out || (!cfg && (o->mode != STACK_TWO_PROCESS || o->spawn))) {
        errf(err, errlen, "stack_open needs a configuration and a place for the result");
        return -EINVAL;
    }
    if (o->mode != STACK_IN_PROCESS && o->mode != STACK_TWO_PROCESS) {
        errf(err, errlen, "unknown stack mode %d", (int)o->mode);
        return -EINVAL;
    }

    struct stack *st = calloc(1, sizeof(*st));
    if (!st) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&st->lock, NULL);
    /* Monotonic, like every deadline here (base/clock.h). */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    st->mode = o->mode;
    st->half = halves[o->mode];
    st->polled = o->polled;
    st->next_task_id = 1;
    st->ops = o->core ? o->core : stack_driver_core_default();
    if (calls_init(st) < 0) {
        errf(err, errlen, "out of memory");
        free(st->calls);
        free(st->call_next);
        pthread_mutex_destroy(&st->lock);
        pthread_cond_destroy(&st->done_cv);
        free(st);
        return -ENOMEM;
    }

    int rc = st->half->open(st, cfg, o, err, errlen);
    if (rc < 0)
        goto out_fail;
    if ((rc = osal_user_create(st->bus, &o->osal, &st->os)) < 0) {
        errf(err, errlen, "cannot create the OS layer: %s", strerror(-rc));
        goto out_fail;
    }
    struct drv_core_options copt = {
        .io_queues = o->io_queues,
        .queue_depth = o->queue_depth,
        .polled = o->polled,
        .int_coalescing = o->int_coalescing,
        .default_timeout_ms = o->default_timeout_ms,
        .on_event = o->on_event,
        .event_arg = o->event_arg,
        .abort_grace_ms = o->abort_grace_ms,
        .admin_timeout_ms = o->admin_timeout_ms,
        .ready_timeout_ms = o->ready_timeout_ms,
        .heartbeat_stall_ms = o->heartbeat_stall_ms,
    };
    if ((rc = st->ops->create(st->os, &copt, &st->core)) < 0) {
        errf(err, errlen, "cannot create the driver core (%s): %s", st->ops->name ? st->ops->name : "?", strerror(-rc));
        goto out_fail;
    }
    if ((rc = st->ops->start(st->core)) < 0) {
        errf(err, errlen, "the driver core (%s) could not bring the controller up: %s", st->ops->name ? st->ops->name : "?", strerror(-rc));
        goto out_fail;
    }
    st->started = true;
    if ((rc = st->half->start_watch(st, err, errlen)) < 0)
        goto out_fail;
    *out = st;
    return 0;
out_fail:
    teardown(st);
    return rc;
}

void stack_close(struct stack *st)
{
    if (!st)
        return;
    uint32_t n = stack_outstanding(st);
    if (n)
        osal_log(st->os, OSAL_LOG_WARN, "closing with %u task(s) outstanding; they fail", n);
    teardown(st);
}

/* --- tasks ---------------------------------------------------------------- */

/* One task less outstanding; wakes the threads waiting, if any.  The
 * sequentially consistent decrement and load here and the increment and fence
 * after waiters++ in wait_until make a Dekker pair: either this sees the
 * waiter, and broadcasts under the lock the waiter checks under, or the waiter
 * sees the count (and whatever the done callback stored before it) — no
 * wake-up is lost.  (No fence of its own: a seq_cst read-modify-write already
 * orders the load after it; on x86 a fence here was an mfence per command.) */
static void one_less(struct stack *st)
{
    atomic_fetch_sub(&st->outstanding, 1);
    if (atomic_load(&st->waiters)) {
        pthread_mutex_lock(&st->lock);
        pthread_cond_broadcast(&st->done_cv);
        pthread_mutex_unlock(&st->lock);
    }
}

static void call_done(void *arg, const struct drv_completion *c)
{
    struct stack_call *call = arg;
    struct stack *st = call->st;
    call->done(call->arg, c);
    call_put(st, call);
    one_less(st);
}

int stack_submit(struct stack *st, const struct drv_task *t, drv_task_done done, void *arg)
{
    if (!st || !t || !done)
        return -EINVAL;
    struct stack_call *call = call_get(st);
    if (!call)
        return -ENOMEM;
    call->st = st;
    call->done = done;
    call->arg = arg;
    atomic_fetch_add(&st->outstanding, 1);
    int rc = st->ops->process_task(st->core, t, call_done, call);
    if (rc < 0) {
        call_put(st, call);
        one_less(st);
    }
    return rc;
}

int stack_poll(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ops->poll(st->core);
}

uint32_t stack_outstanding(struct stack *st)
{
    return atomic_load(&st->outstanding);
}

/* Waits until *cond_fn(arg) holds (checked under st->lock) or the deadline
 * passes (deadline 0 = none).  Interrupt mode sleeps on the condition variable;
 * polled mode reaps completions between short sleeps. */
static int wait_until(struct stack *st, bool (*cond_fn)(struct stack *, void *), void *arg, uint64_t deadline)
{
    for (;;) {
        if (st->polled && stack_poll(st) < 0)
            return -EIO;
        if (!st->polled) {
            atomic_fetch_add(&st->waiters, 1);
            atomic_thread_fence(memory_order_seq_cst); /* pairs with one_less */
        }
        pthread_mutex_lock(&st->lock);
        bool ok = cond_fn(st, arg);
        if (!ok && !st->polled) {
            /* Wake up now and then even without a signal: deadlines are
             * checked here, not by the condition variable. */
            struct timespec ts = clock_deadline_ms(20);
            pthread_cond_timedwait(&st->done_cv, &st->lock, &ts);
            ok = cond_fn(st, arg);
        }
        pthread_mutex_unlock(&st->lock);
        if (!st->polled)
            atomic_fetch_sub(&st->waiters, 1);
        if (ok)
            return 0;
        if (deadline && clock_now_ms() >= deadline)
            return -ETIMEDOUT;
        /* Polled: each stack_poll reaps on this thread (the core's
         * osal_queue_run_here), with no sleep between polls; yielding lets
         * the firmware thread run on a busy machine. */
        if (st->polled)
            sched_yield();
    }
}

static bool idle(struct stack *st, void *arg)
{
    (void)arg;
    return atomic_load(&st->outstanding) == 0;
}

int stack_wait(struct stack *st, int timeout_ms)
{
    if (!st)
        return -EINVAL;
    if (osal_on_queue(st->os))
        return -EDEADLK;
    if (timeout_ms == 0) {
        if (st->polled)
            stack_poll(st);
        return stack_outstanding(st) ? -ETIMEDOUT : 0;
    }
    return wait_until(st, idle, NULL, timeout_ms < 0 ? 0 : clock_now_ms() + (uint64_t)timeout_ms);
}

struct exec_wait {
    atomic_bool done;
    struct drv_completion c;
};

/* On the queue.  call_done broadcasts once this returns (one_less), under
 * st->lock when a thread waits, and the waiter tests done under that lock:
 * no wake-up is lost.  Nothing touches
 * w after done is set (the waiter may return at once). */
static void exec_done(void *arg, const struct drv_completion *c)
{
    struct exec_wait *w = arg;
    w->c = *c;
    atomic_store_explicit(&w->done, true, memory_order_release);
}

static bool exec_finished(struct stack *st, void *arg)
{
    (void)st;
    struct exec_wait *w = arg;
    return atomic_load_explicit(&w->done, memory_order_acquire);
}

int stack_exec(struct stack *st, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
               enum drv_dir dir, void *buffer, uint64_t len, struct drv_completion *out)
{
    if (!st || !cdb || !out || cdb_len == 0 || cdb_len > HBA_CDB_MAX || (len && !buffer))
        return -EINVAL;
    if (dir != DRV_DIR_NONE && dir != DRV_DIR_FROM_INITIATOR && dir != DRV_DIR_FROM_TARGET)
        return -EINVAL;
    if (osal_on_queue(st->os))
        return -EDEADLK;
    struct drv_task t = { .target = target, .lun = lun, .cdb_len = cdb_len, .dir = dir, .requested_transfer = len };
    memcpy(t.cdb, cdb, cdb_len);
    pthread_mutex_lock(&st->lock);
    t.task_id = st->next_task_id++;
    pthread_mutex_unlock(&st->lock);

    struct osal_dma_buffer *dma = NULL;
    struct drv_buffer_piece piece;
    if (len) {
        int rc = osal_dma_alloc(st->os, len, 4096, &dma);
        if (rc < 0)
            return rc;
        if (dir == DRV_DIR_FROM_INITIATOR)
            memcpy(dma->vaddr, buffer, len);
        piece = (struct drv_buffer_piece){ .buf = dma, .offset = 0, .length = len };
        t.pieces = &piece;
        t.piece_count = 1;
    }
    struct exec_wait w;
    atomic_init(&w.done, false);
    int rc = stack_submit(st, &t, exec_done, &w);
    if (rc == 0) {
        wait_until(st, exec_finished, &w, 0);
        *out = w.c;
        if (dir == DRV_DIR_FROM_TARGET && len) {
            uint64_t n = w.c.bytes_transferred < len ? w.c.bytes_transferred : len;
            memcpy(buffer, dma->vaddr, n);
        }
    }
    osal_dma_free(st->os, dma);
    return rc;
}

/* --- recovery and the controller process --------------------------------- */

int stack_reconnect(struct stack *st, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!st) {
        errf(err, errlen, "no stack");
        return -EINVAL;
    }
    if (osal_on_queue(st->os)) {
        errf(err, errlen, "stack_reconnect cannot run on the dispatch queue");
        return -EDEADLK;
    }
    return st->half->reconnect(st, err, errlen);
}

pid_t stack_controller_pid(const struct stack *st)
{
    return st ? st->half->pid(st) : 0;
}

int stack_kill_controller(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->half->kill(st);
}

int stack_start_controller(struct stack *st, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!st)
        return -EINVAL;
    return st->half->start(st, err, errlen);
}

uint64_t stack_reconnects(struct stack *st)
{
    return atomic_load(&st->reconnects);
}

/* --- accessors ------------------------------------------------------------ */

struct drv_core *stack_core(struct stack *st)
{
    return st->core;
}

const struct scsisim_driver_core *stack_core_ops(const struct stack *st)
{
    return st->ops;
}

struct osal *stack_osal(struct stack *st)
{
    return st->os;
}

struct bus *stack_bus(struct stack *st)
{
    return st->bus;
}

enum stack_mode stack_mode(const struct stack *st)
{
    return st->mode;
}
