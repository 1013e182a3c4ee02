/* platform/osal_user_src.c — interrupt and timer sources of osal_user: uv_poll
 * on a vector's eventfd and uv_timer, both on the dispatch queue's loop.
 *
 * Every change to a handle happens on the queue thread (libuv handles are not
 * thread-safe): calls from other threads are marshalled with osal_loop_sync,
 * which also gives the caller a strong guarantee — when osal_timer_cancel or
 * osal_irq_disable returns, the handler is neither running nor going to run
 * (handlers run on that thread too).  A block run by osal_queue_run_here on
 * another thread may arm and cancel timers (the change reaches the handle a
 * moment later; `armed` decides at once whether a firing runs the handler)
 * but not create, enable, disable or destroy a source: that would wait for
 * the queue's thread, which may be waiting for the block.
 * uv handles are allocated apart from the source objects because uv_close
 * finishes later: the handle is freed in its close callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/osal_user_internal.h"
#include "platform/bus.h"

struct osal_irq {
    struct osal *os;
    unsigned vector;
    osal_irq_handler fn;
    void *arg;
    uv_poll_t *poll;       /* NULL when the bus has no fd for the vector (should not happen) */
    bool enabled;
    LIST_ENTRY(osal_irq) link; /* in os->irqs */
};

struct osal_timer {
    struct osal *os;
    osal_timer_handler fn;
    void *arg;
    uv_timer_t *h;
    _Atomic bool armed;    /* a firing runs the handler only while set */
    uint64_t delay_ms;     /* for an arm passed on by osal_queue_run_here's thread */
    LIST_ENTRY(osal_timer) link; /* in os->timers */
};

static void free_handle(uv_handle_t *h)
{
    free(h);
}

/* osal_loop_sync, saying what went wrong when it cannot (see the top). */
static int on_loop(struct osal *os, osal_block fn, void *arg, const char *what)
{
    int rc = osal_loop_sync(os, fn, arg);
    if (rc == -EDEADLK)
        osal_log(os, OSAL_LOG_ERROR,
                 "%s from a block run by osal_queue_run_here: not done (only timers may be armed or cancelled there)",
                 what);
    return rc;
}

/* --- interrupts ----------------------------------------------------------- */

static void on_vector(uv_poll_t *p, int status, int events)
{
    struct osal_irq *irq = p->data;
    struct osal *os = irq->os;
    (void)events;
    if (status < 0) {
        osal_log(os, OSAL_LOG_ERROR, "interrupt vector %u: poll failed: %s; disabling it", irq->vector,
                 uv_strerror(status));
        uv_poll_stop(p);
        irq->enabled = false;
        return;
    }
    uint64_t count;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)p, &fd) < 0 || read(fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
        return; /* another reader consumed the signal: nothing to deliver */
    atomic_fetch_add_explicit(&os->irqs_delivered, 1, memory_order_relaxed);
    /* Blocks the handler queues (a completion submitting the next command)
     * run before the loop sleeps again, without an eventfd wake-up. */
    struct osal *saved = osal_run_enter(os);
    irq->fn(irq->arg, irq->vector);
    osal_queue_run_pending(os);
    osal_run_leave(os, saved);
}

/* Binds irq to the current bus's eventfd (on the queue); -errno. */
static int bind_irq(struct osal_irq *irq)
{
    struct osal *os = irq->os;
    int fd = bus_vector_fd(osal_user_bus(os), irq->vector);
    if (fd < 0)
        return -EINVAL;
    uv_poll_t *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int rc = uv_poll_init(&os->loop, p, fd);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p->data = irq;
    irq->poll = p;
    if (irq->enabled && (rc = uv_poll_start(p, UV_READABLE, on_vector)) < 0)
        irq->enabled = false;
    return rc;
}

static void unbind_irq(struct osal_irq *irq)
{
    if (irq->poll)
        uv_close((uv_handle_t *)irq->poll, free_handle);
    irq->poll = NULL;
}

struct irq_call {
    struct osal_irq *irq;
    int rc;
};

static void irq_create_on_queue(void *arg)
{
    struct irq_call *c = arg;
    struct osal_irq *irq = c->irq;
    struct osal *os = irq->os;
    struct osal_irq *o;
    LIST_FOREACH(o, &os->irqs, link) {
        if (o->vector == irq->vector) {
            c->rc = -EBUSY;
            return;
        }
    }
    c->rc = bind_irq(irq);
    if (c->rc < 0)
        return;
    LIST_INSERT_HEAD(&os->irqs, irq, link);
    atomic_fetch_add(&os->irqs_live, 1);
}

int osal_irq_create(struct osal *os, unsigned vector, osal_irq_handler fn, void *arg, struct osal_irq **out)
{
    if (out)
        *out = NULL;
    if (!os || !fn || !out)
        return -EINVAL;
    if (bus_vector_fd(osal_user_bus(os), vector) < 0)
        return -EINVAL;
    struct osal_irq *irq = calloc(1, sizeof(*irq));
    if (!irq)
        return -ENOMEM;
    irq->os = os;
    irq->vector = vector;
    irq->fn = fn;
    irq->arg = arg;
    struct irq_call c = { .irq = irq, .rc = 0 };
    int rc = on_loop(os, irq_create_on_queue, &c, "osal_irq_create");
    if (rc == 0)
        rc = c.rc;
    if (rc < 0) {
        free(irq);
        return rc;
    }
    *out = irq;
    return 0;
}

static void irq_enable_on_queue(void *arg)
{
    struct osal_irq *irq = arg;
    if (irq->enabled || !irq->poll)
        return;
    int rc = uv_poll_start(irq->poll, UV_READABLE, on_vector);
    if (rc < 0) {
        osal_log(irq->os, OSAL_LOG_ERROR, "interrupt vector %u: cannot enable: %s", irq->vector, uv_strerror(rc));
        return;
    }
    irq->enabled = true;
}

static void irq_disable_on_queue(void *arg)
{
    struct osal_irq *irq = arg;
    if (irq->enabled && irq->poll)
        uv_poll_stop(irq->poll);
    irq->enabled = false;
}

void osal_irq_enable(struct osal_irq *irq)
{
    if (irq)
        on_loop(irq->os, irq_enable_on_queue, irq, "osal_irq_enable");
}

void osal_irq_disable(struct osal_irq *irq)
{
    if (irq)
        on_loop(irq->os, irq_disable_on_queue, irq, "osal_irq_disable");
}

/* Runs a source's destroy step on the queue, then frees the source.  When
 * teardown already began, osal_user_destroy closes and frees it instead. */
static void destroy_source(struct osal *os, osal_block on_queue, void *src, const char *what)
{
    if (on_loop(os, on_queue, src, what) >= 0)
        free(src);
}

static void irq_destroy_on_queue(void *arg)
{
    struct osal_irq *irq = arg;
    unbind_irq(irq);
    LIST_REMOVE(irq, link);
    atomic_fetch_sub(&irq->os->irqs_live, 1);
}

void osal_irq_destroy(struct osal_irq *irq)
{
    if (irq)
        destroy_source(irq->os, irq_destroy_on_queue, irq, "osal_irq_destroy");
}

void osal_src_rebind(void *arg)
{
    struct osal *os = arg;
    struct osal_irq *irq;
    LIST_FOREACH(irq, &os->irqs, link) {
        unbind_irq(irq);
        int rc = bind_irq(irq);
        if (rc < 0)
            osal_log(os, OSAL_LOG_ERROR, "interrupt vector %u: cannot bind to the new bus: %s", irq->vector,
                     uv_strerror(rc));
    }
}

/* --- timers --------------------------------------------------------------- */

static void on_timer(uv_timer_t *h)
{
    struct osal_timer *t = h->data;
    struct osal *os = t->os;
    struct osal *saved = osal_run_enter(os); /* as in on_vector */
    /* Cancelled by a block that ran while this firing waited for os->run. */
    if (atomic_exchange(&t->armed, false))
        t->fn(t->arg);
    osal_queue_run_pending(os);
    osal_run_leave(os, saved);
}

struct timer_call {
    struct osal_timer *t;
    uint64_t delay_ms;
    int rc;
};

static void timer_create_on_queue(void *arg)
{
    struct timer_call *c = arg;
    struct osal_timer *t = c->t;
    struct osal *os = t->os;
    c->rc = uv_timer_init(&os->loop, t->h);
    if (c->rc < 0)
        return;
    t->h->data = t;
    LIST_INSERT_HEAD(&os->timers, t, link);
    atomic_fetch_add(&os->timers_live, 1);
}

int osal_timer_create(struct osal *os, osal_timer_handler fn, void *arg, struct osal_timer **out)
{
    if (out)
        *out = NULL;
    if (!os || !fn || !out)
        return -EINVAL;
    struct osal_timer *t = calloc(1, sizeof(*t));
    uv_timer_t *h = calloc(1, sizeof(*h));
    if (!t || !h) {
        free(t);
        free(h);
        return -ENOMEM;
    }
    t->os = os;
    t->fn = fn;
    t->arg = arg;
    t->h = h;
    struct timer_call c = { .t = t };
    int rc = on_loop(os, timer_create_on_queue, &c, "osal_timer_create");
    if (rc == 0)
        rc = c.rc;
    if (rc < 0) {
        free(h);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static void timer_arm_on_queue(void *arg)
{
    struct timer_call *c = arg;
    c->rc = uv_timer_start(c->t->h, on_timer, c->delay_ms, 0);
    atomic_store(&c->t->armed, c->rc == 0);
}

/* An arm or a cancel that a block run by osal_queue_run_here passed on:
 * `armed` already says what the caller asked; the handle follows. */
static void timer_arm_passed_on(void *arg)
{
    struct osal_timer *t = arg;
    if (!atomic_load(&t->armed))
        return; /* cancelled since */
    int rc = uv_timer_start(t->h, on_timer, t->delay_ms, 0);
    if (rc < 0) {
        atomic_store(&t->armed, false);
        osal_log(t->os, OSAL_LOG_ERROR, "cannot arm a timer: %s", uv_strerror(rc));
    }
}

static void timer_cancel_passed_on(void *arg)
{
    struct osal_timer *t = arg;
    if (!atomic_load(&t->armed))
        uv_timer_stop(t->h);
}

void osal_timer_arm(struct osal_timer *t, uint64_t delay_ms)
{
    if (!t)
        return;
    if (osal_running_here(t->os) && !osal_on_loop_thread(t->os)) {
        t->delay_ms = delay_ms;
        atomic_store(&t->armed, true);
        if (osal_loop_async(t->os, timer_arm_passed_on, t) < 0)
            atomic_store(&t->armed, false);
        return;
    }
    struct timer_call c = { .t = t, .delay_ms = delay_ms };
    if (osal_loop_sync(t->os, timer_arm_on_queue, &c) == 0 && c.rc < 0)
        osal_log(t->os, OSAL_LOG_ERROR, "cannot arm a timer: %s", uv_strerror(c.rc));
}

static void timer_cancel_on_queue(void *arg)
{
    struct osal_timer *t = arg;
    uv_timer_stop(t->h);
    atomic_store(&t->armed, false);
}

void osal_timer_cancel(struct osal_timer *t)
{
    if (!t)
        return;
    if (osal_running_here(t->os) && !osal_on_loop_thread(t->os)) {
        /* A firing waiting for os->run sees armed false and does nothing. */
        atomic_store(&t->armed, false);
        osal_loop_async(t->os, timer_cancel_passed_on, t);
        return;
    }
    osal_loop_sync(t->os, timer_cancel_on_queue, t);
}

static void timer_destroy_on_queue(void *arg)
{
    struct osal_timer *t = arg;
    uv_close((uv_handle_t *)t->h, free_handle);
    t->h = NULL;
    LIST_REMOVE(t, link);
    atomic_fetch_sub(&t->os->timers_live, 1);
}

void osal_timer_destroy(struct osal_timer *t)
{
    if (t)
        destroy_source(t->os, timer_destroy_on_queue, t, "osal_timer_destroy");
}

bool osal_user_timer_armed(struct osal_timer *t)
{
    return t && atomic_load(&t->armed);
}

/* --- shutdown ------------------------------------------------------------- */

void osal_src_close_all(struct osal *os)
{
    uint32_t n = atomic_load(&os->irqs_live), m = atomic_load(&os->timers_live);
    if (n || m)
        osal_log(os, OSAL_LOG_ERROR, "%u interrupt source(s) and %u timer(s) not destroyed before teardown", n, m);
    while (!LIST_EMPTY(&os->irqs)) {
        struct osal_irq *irq = LIST_FIRST(&os->irqs);
        irq_destroy_on_queue(irq);
        free(irq);
    }
    while (!LIST_EMPTY(&os->timers)) {
        struct osal_timer *t = LIST_FIRST(&os->timers);
        timer_destroy_on_queue(t);
        free(t);
    }
}
