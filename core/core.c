/* core/core.c — the core's life cycle (create, start, stop, destroy) and
 * its small public accessors.  Bring-up and teardown of the controller are in
 * core/core_bringup.c; everything runs on the osal dispatch queue, reached
 * from other threads with osal_queue_sync. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "core/core_internal.h"

int core_state(const struct drv_core *core)
{
    return atomic_load(&core->state);
}

void core_set_state(struct drv_core *core, enum drv_core_state s)
{
    atomic_store(&core->state, (int)s);
}

/* IOSleep in a dext; the only place the core waits on wall-clock time. */
void core_sleep_us(unsigned us)
{
    struct timespec ts = { .tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000 };
    nanosleep(&ts, NULL);
}

uint64_t core_now_ns(const struct drv_core *core)
{
    return osal_now_ns(core->os);
}

/* A gap between two polls longer than this was the host's, not ours: the
 * polls sleep tens of microseconds. */
#define CORE_WAIT_STARVED_NS (20u * 1000000u)

void core_wait_start(struct core_wait *w, uint64_t now_ns, uint32_t ms)
{
    w->last = now_ns;
    w->end = now_ns + (uint64_t)ms * 1000000u;
    w->nap_us = DRV_POLL_SLEEP_US;
    w->yields = 0;
}

void core_wait_nap(struct core_wait *w)
{
    /* The first few pauses only give the CPU to whoever is ready to run
     * (sched_yield, a POSIX call a dext has too): the answer polled for is
     * often a few microseconds of the controller's work away, and when the
     * controller's thread shares this CPU, a yield runs it at once, while a
     * sleep costs a timer and two context switches, and waits out the rest
     * of its time (a simulated bring-up took twice as long). */
    if (w->yields < DRV_POLL_YIELDS) {
        w->yields++;
        sched_yield();
        return;
    }
    core_sleep_us(w->nap_us);
    if (w->nap_us < DRV_POLL_SLEEP_MAX_US)
        w->nap_us = w->nap_us * 2 < DRV_POLL_SLEEP_MAX_US ? w->nap_us * 2 : DRV_POLL_SLEEP_MAX_US;
}

bool core_wait_expired(struct core_wait *w, uint64_t now)
{
    if (now - w->last > CORE_WAIT_STARVED_NS)
        w->end += now - w->last;
    w->last = now;
    return now > w->end;
}

void core_emit(struct drv_core *core, const struct drv_event *e)
{
    core->stats.events++;
    if (core->opt.on_event)
        core->opt.on_event(core->opt.event_arg, e);
}

/* An option left 0 takes its default (core.h). */
static uint32_t or_default(uint32_t value, uint32_t dflt)
{
    return value ? value : dflt;
}

static void defaults(struct drv_core_options *o)
{
    o->io_queues = or_default(o->io_queues, 1);
    o->queue_depth = or_default(o->queue_depth, 256);
    o->default_timeout_ms = or_default(o->default_timeout_ms, 10000);
    o->abort_grace_ms = or_default(o->abort_grace_ms, 1000);
    o->admin_timeout_ms = or_default(o->admin_timeout_ms, 2000);
    o->ready_timeout_ms = or_default(o->ready_timeout_ms, 5000);
    o->max_reissues = or_default(o->max_reissues, 3);
    o->watchdog_ms = or_default(o->watchdog_ms, 20);
    o->heartbeat_stall_ms = or_default(o->heartbeat_stall_ms, 500);
    o->async_events = or_default(o->async_events, 4);
    if (o->async_events > DRV_ADMIN_ENTRIES / 2)
        o->async_events = DRV_ADMIN_ENTRIES / 2;
}

/* ---- public API ----------------------------------------------------------- */

int drv_core_create(struct osal *os, const struct drv_core_options *opt, struct drv_core **out)
{
    if (!os || !out)
        return -EINVAL;
    struct drv_core *core = calloc(1, sizeof *core);
    if (!core)
        return -ENOMEM;
    core->os = os;
    if (opt)
        core->opt = *opt;
    defaults(&core->opt);
    core_set_state(core, CORE_CREATED);
    /* One task object per command slot the I/O queues will have: at steady
     * state no task costs an allocation. */
    uint64_t slots = (uint64_t)core->opt.queue_depth * core->opt.io_queues;
    if (io_pool_init(core, (uint32_t)(slots < DRV_IO_POOL_MAX ? slots : DRV_IO_POOL_MAX)) < 0) {
        free(core);
        return -ENOMEM;
    }
    int rc = osal_timer_create(os, recovery_tick, core, &core->tick);
    if (rc < 0) {
        io_pool_fini(core);
        free(core);
        return rc;
    }
    *out = core;
    return 0;
}

struct start_ctx {
    struct drv_core *core;
    int rc;
};

static void start_block(void *arg)
{
    struct start_ctx *x = arg;
    struct drv_core *core = x->core;
    int s = core_state(core);
    if (s != CORE_CREATED && s != CORE_STOPPED) {
        x->rc = -EALREADY;
        return;
    }
    x->rc = core_bringup(core);
    if (x->rc < 0) {
        osal_log(core->os, OSAL_LOG_ERROR, "drv: bring-up failed (%d)", x->rc);
        core_disable(core, false);
        core_set_state(core, CORE_STOPPED);
        return;
    }
    core_set_state(core, CORE_RUNNING);
    recovery_arm_tick(core);
}

int drv_core_start(struct drv_core *core)
{
    struct start_ctx x = { .core = core, .rc = -EIO };
    int rc = osal_queue_sync(core->os, start_block, &x);
    return rc < 0 ? rc : x.rc;
}

static bool io_in_flight(const struct drv_core *core)
{
    for (const struct drv_io *io = core->ios; io; io = io->next)
        if (io->nout)
            return true;
    return false;
}

static void delete_io_queues(struct drv_core *core)
{
    for (unsigned i = core->nioq; i-- > 0;) {
        struct drv_queue *q = &core->ioq[i];
        if (!q->live)
            continue;
        struct hba_sq_entry e;
        struct hba_cq_entry c;
        adm_entry(&e, HBA_ADM_DELETE_SQ);
        e.u.cdw[0] = q->qid;
        if (adm_run(core, &e, &c) < 0)
            return;
        queue_reap(core, q); /* the ABORTED_SQ_DELETED completions */
        adm_entry(&e, HBA_ADM_DELETE_CQ);
        e.u.cdw[0] = q->qid;
        if (adm_run(core, &e, &c) < 0)
            return;
    }
}

static void stop_block(void *arg)
{
    struct drv_core *core = arg;
    int s = core_state(core);
    if (s == CORE_CREATED || s == CORE_STOPPED)
        return;
    bool alive = s != CORE_DEAD;
    core_set_state(core, CORE_STOPPING);
    osal_timer_cancel(core->tick);
    core->tick_armed = false;
    if (alive) {
        /* Give commands in flight a moment to finish on their own. */
        struct core_wait w;
        core_wait_start(&w, core_now_ns(core), core->opt.admin_timeout_ms);
        while (io_in_flight(core) && !core_wait_expired(&w, core_now_ns(core))) {
            core_reap_all(core, false);
            if (io_in_flight(core))
                core_wait_nap(&w);
        }
        delete_io_queues(core); /* ends what is still outstanding: ABORTED_SQ_DELETED */
        osal_reg_write32(core->os, HBA_REG_CONFIG, HBA_CONFIG_EN | HBA_CONFIG_SHN);
        core_wait_start(&w, core_now_ns(core), core->opt.ready_timeout_ms);
        while (!(osal_reg_read32(core->os, HBA_REG_STATUS) & HBA_STATUS_SHST_DONE) && !core_wait_expired(&w, core_now_ns(core)))
            core_wait_nap(&w);
    }
    if (alive)
        core_disable(core, false);
    else
        core_release(core); /* nobody to talk to */
    task_fail_all(core, DRV_SR_SERVICE_DELIVERY_FAILURE);
    core_set_state(core, CORE_STOPPED);
    tmf_retry_unsent(core); /* ends task management still waiting for a slot */
}

void drv_core_stop(struct drv_core *core)
{
    if (core)
        osal_queue_sync(core->os, stop_block, core);
}

void drv_core_destroy(struct drv_core *core)
{
    if (!core)
        return;
    drv_core_stop(core);
    osal_timer_destroy(core->tick);
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        if (core->irq[v]) {
            osal_irq_disable(core->irq[v]);
            osal_irq_destroy(core->irq[v]);
        }
    free(core->ioq);
    io_pool_fini(core);
    free(core);
}

void drv_core_constraints(const struct drv_core *core, struct drv_constraints *out)
{
    *out = core->cons;
}

struct osal *drv_core_osal(const struct drv_core *core)
{
    return core->os;
}

struct poll_ctx {
    struct drv_core *core;
    int n;
};

static void poll_block(void *arg)
{
    struct poll_ctx *x = arg;
    int s = core_state(x->core);
    if (s != CORE_RUNNING && s != CORE_STOPPING)
        return;
    x->n = core_reap_all(x->core, true);
    task_drain(x->core);
}

/* Polled mode reaps on the caller's thread (osal_queue_run_here): the
 * completions, their done callbacks and the commands those submit, with no
 * wake-up of the dispatch queue's thread. */
int drv_core_poll(struct drv_core *core)
{
    struct poll_ctx x = { .core = core };
    int rc = osal_queue_run_here(core->os, poll_block, &x);
    return rc < 0 ? rc : x.n;
}

struct copy_ctx {
    struct drv_core *core;
    void *out;
};

static void stats_block(void *arg)
{
    struct copy_ctx *x = arg;
    *(struct drv_core_stats *)x->out = x->core->stats;
}

void drv_core_get_stats(struct drv_core *core, struct drv_core_stats *out)
{
    struct copy_ctx x = { core, out };
    if (osal_queue_sync(core->os, stats_block, &x) < 0)
        *out = core->stats;
}

static void ident_block(void *arg)
{
    struct copy_ctx *x = arg;
    *(struct hba_identify_ctrl *)x->out = x->core->ident;
}

void drv_core_identity(struct drv_core *core, struct hba_identify_ctrl *out)
{
    struct copy_ctx x = { core, out };
    if (osal_queue_sync(core->os, ident_block, &x) < 0)
        *out = core->ident;
}
