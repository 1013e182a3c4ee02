/* mini_core.c — the entry points scsisim (or a dext's thin class) calls: the
 * table of core/driver_core_abi.h.  Calls from other threads hop onto the
 * dispatch queue; task management and resets are done there, the admin
 * queue polled, so each runs start to end without interleaving. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/driver_core_abi.h"
#include "mini.h"

static void on_irq(void *arg, unsigned vector)
{
    struct drv_core *c = arg;
    /* Clear first, then drain: a completion after the drain signals again. */
    osal_reg_write32(c->os, HBA_REG_INT_STATUS, 1u << vector);
    mini_reap(c);
}

static int create(struct osal *os, const struct drv_core_options *opt, struct drv_core **out)
{
    struct drv_core *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->os = os;
    c->opt = *opt;
    struct drv_core_options *o = &c->opt;
#define DEFAULT(f, v) if (!o->f) o->f = v
    DEFAULT(queue_depth, 256);
    DEFAULT(default_timeout_ms, 10000);
    DEFAULT(abort_grace_ms, 1000);
    DEFAULT(admin_timeout_ms, 2000);
    DEFAULT(ready_timeout_ms, 5000);
    DEFAULT(max_reissues, 3);
    DEFAULT(watchdog_ms, 20);
    DEFAULT(heartbeat_stall_ms, 500);
#undef DEFAULT
    if (o->queue_depth < 2)
        o->queue_depth = 2; /* a ring of N entries holds N - 1 */
    int rc = osal_timer_create(os, mini_watchdog, c, &c->watchdog);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Blocks run with osal_queue_sync carry their answer in a struct. */
struct call {
    struct drv_core *c;
    int rc;
    bool hard;
    enum hba_reset_scope scope;
    uint16_t target, lun;
};

static void start_q(void *arg)
{
    struct call *k = arg;
    struct drv_core *c = k->c;
    k->rc = mini_bringup(c);
    if (k->rc < 0)
        return;
    if (!c->opt.polled && !c->irq) {
        k->rc = osal_irq_create(c->os, c->ioq_vec, on_irq, c, &c->irq);
        if (k->rc < 0)
            return;
        osal_irq_enable(c->irq);
    }
    c->tick_at_ns = osal_now_ns(c->os);
    osal_timer_arm(c->watchdog, c->opt.watchdog_ms);
}

static int start(struct drv_core *c)
{
    struct call k = { .c = c };
    int rc = osal_queue_sync(c->os, start_q, &k);
    return rc < 0 ? rc : k.rc;
}

static void stop_q(void *arg)
{
    struct call *k = arg;
    osal_timer_cancel(k->c->watchdog);
    mini_fail_all(k->c);
    mini_teardown(k->c, true);
}

static void stop(struct drv_core *c)
{
    struct call k = { .c = c };
    osal_queue_sync(c->os, stop_q, &k);
}

static void destroy(struct drv_core *c)
{
    if (!c)
        return;
    if (c->slots)
        stop(c);
    if (c->irq)
        osal_irq_destroy(c->irq);
    osal_timer_destroy(c->watchdog);
    free(c);
}

static void constraints(const struct drv_core *c, struct drv_constraints *out)
{
    memset(out, 0, sizeof *out);
    out->max_segment_count = c->max_depth == 0 ? 1 : c->max_sges < HBA_SGL_SEGMENT_MAX ? c->max_sges : HBA_SGL_SEGMENT_MAX;
    out->max_byte_count = c->max_xfer;
    out->max_segment_size = c->max_xfer;
    out->addressable_bits = c->addr_bits;
    out->alignment_mask = 0; /* the SSIM-1 moves data at any byte address */
    out->max_targets = c->targets;
    out->max_luns = c->luns;
    out->max_outstanding = c->ioq.entries ? c->ioq.entries - 1u : 0;
}

/* --- tasks ------------------------------------------------------------------- */

static void accept_q(void *arg)
{
    struct mini_io *io = arg;
    struct drv_core *c = io->core;
    c->stats.tasks++;
    if (!c->running) {
        mini_end_io(c, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_SUCCESS);
        return;
    }
    if (mini_io_accept(c, io) < 0)
        return; /* completed there: it cannot be sent */
    mini_enqueue(c, io);
}

static int process_task(struct drv_core *c, const struct drv_task *t, drv_task_done done, void *arg)
{
    if (!t || !done || t->cdb_len < 6 || t->cdb_len > 16)
        return -EINVAL;
    struct mini_io *io = calloc(1, sizeof *io);
    if (!io)
        return -ENOMEM;
    io->t = *t;
    io->pieces = calloc(t->piece_count ? t->piece_count : 1, sizeof *io->pieces);
    if (!io->pieces) {
        free(io);
        return -ENOMEM;
    }
    if (t->piece_count)
        memcpy(io->pieces, t->pieces, t->piece_count * sizeof *io->pieces);
    io->t.pieces = io->pieces;
    io->done = done;
    io->arg = arg;
    io->core = c;
    int rc = osal_queue_async(c->os, accept_q, io);
    if (rc < 0) {
        free(io->pieces);
        free(io);
    }
    return rc;
}

static void poll_q(void *arg)
{
    struct call *k = arg;
    k->rc = mini_reap(k->c);
}

static int poll_core(struct drv_core *c)
{
    struct call k = { .c = c };
    int rc = osal_queue_sync(c->os, poll_q, &k);
    return rc < 0 ? rc : k.rc;
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct drv_completion *out;
};

static void wake(void *arg, const struct drv_completion *done)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    *w->out = *done;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int run_task(struct drv_core *c, const struct drv_task *t, struct drv_completion *out)
{
    if (osal_on_queue(c->os))
        return -EDEADLK;
    struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, out };
    int rc = process_task(c, t, wake, &w);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&w.mu);
    while (!w.done) {
        if (c->opt.polled) { /* nobody else reaps: do it between short waits */
            pthread_mutex_unlock(&w.mu);
            poll_core(c);
            pthread_mutex_lock(&w.mu);
            if (w.done)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&w.cv, &w.mu, &ts);
        } else {
            pthread_cond_wait(&w.cv, &w.mu);
        }
    }
    pthread_mutex_unlock(&w.mu);
    return 0;
}

/* --- task management and resets ------------------------------------------------ */

struct tmf_call {
    struct drv_core *c;
    struct drv_tmf tmf;
    drv_tmf_done done;
    void *arg;
};

static bool match_tmf(const struct mini_io *io, const void *key)
{
    const struct drv_tmf *f = key;
    switch (f->kind) {
    case DRV_TMF_ABORT_TASK:      return io->t.task_id == f->task_id;
    case DRV_TMF_ABORT_TASK_SET:  return io->t.initiator == f->initiator && io->t.target == f->target && io->t.lun == f->lun;
    case DRV_TMF_CLEAR_TASK_SET:
    case DRV_TMF_LUN_RESET:       return io->t.target == f->target && io->t.lun == f->lun;
    case DRV_TMF_TARGET_RESET:
    case DRV_TMF_CONTROLLER_RESET:return io->t.target == f->target;
    case DRV_TMF_BUS_RESET:       return true;
    case DRV_TMF_NEXUS_LOSS:      return io->t.initiator == f->initiator;
    case DRV_TMF_QUERY_TASK:      return io->t.task_id == f->task_id;
    }
    return false;
}

static int admin2(struct drv_core *c, uint8_t op, uint32_t cdw0, uint32_t cdw1)
{
    struct hba_sq_entry e;
    memset(&e, 0, sizeof e);
    e.opcode = op;
    e.u.cdw[0] = cdw0;
    e.u.cdw[1] = cdw1;
    int cs = mini_admin(c, &e, NULL);
    return cs == HBA_CS_SUCCESS ? 0 : cs == HBA_CS_INVALID_TARGET ? -ENXIO : -EIO;
}

static void tmf_q(void *arg)
{
    struct tmf_call *k = arg;
    struct drv_core *c = k->c;
    const struct drv_tmf *f = &k->tmf;
    int rc = 0;
    if (!c->running) {
        rc = -ENODEV;
        goto out;
    }
    if (f->kind == DRV_TMF_QUERY_TASK) { /* asks, ends nothing: no admin command */
        rc = mini_count(c, match_tmf, f) ? 0 : -ENOENT;
        goto out;
    }
    mini_retry_now(c); /* a task waiting to be retried is one the function may end */
    bool resets = f->kind >= DRV_TMF_LUN_RESET && f->kind <= DRV_TMF_CONTROLLER_RESET;
    unsigned n = mini_mark(c, match_tmf, f, resets ? HBA_CS_ABORTED_RESET : HBA_CS_ABORTED);
    if (f->kind == DRV_TMF_ABORT_TASK && n == 0) {
        rc = -ENOENT;
        goto out;
    }
    uint32_t tl = (uint32_t)f->target << 16 | f->lun;
    switch (f->kind) {
    case DRV_TMF_LUN_RESET:    rc = admin2(c, HBA_ADM_RESET, HBA_RESET_LUN, tl); break;
    case DRV_TMF_TARGET_RESET: rc = admin2(c, HBA_ADM_RESET, HBA_RESET_TARGET, tl); break;
    case DRV_TMF_BUS_RESET:    rc = admin2(c, HBA_ADM_RESET, HBA_RESET_BUS, 0); break;
    case DRV_TMF_CONTROLLER_RESET:
        mini_end_marked(c);
        rc = mini_controller_reset(c, false);
        goto out;
    default: /* the aborts: one HBA_ADM_ABORT per command sent */
        for (unsigned i = 0; i + 1u < c->ioq.entries; i++)
            if (c->slots[i].io && c->slots[i].io->end_status)
                admin2(c, HBA_ADM_ABORT, MINI_IOQ, i);
        if (f->kind == DRV_TMF_NEXUS_LOSS)
            rc = admin2(c, HBA_ADM_NEXUS_LOSS, f->initiator, 0);
    }
    if (resets && rc < 0) /* refused: nothing was ended, the tasks go on */
        mini_mark(c, match_tmf, f, 0);
    mini_reap(c);       /* what the controller ended completes with its own status */
    mini_end_marked(c); /* the rest ends here */
    mini_kick(c);
out:
    k->done(k->arg, rc);
    free(k);
}

static int task_mgmt(struct drv_core *c, const struct drv_tmf *tmf, drv_tmf_done done, void *arg)
{
    if (!tmf || !done || tmf->kind < DRV_TMF_ABORT_TASK || tmf->kind > DRV_TMF_QUERY_TASK)
        return -EINVAL;
    struct tmf_call *k = malloc(sizeof *k);
    if (!k)
        return -ENOMEM;
    *k = (struct tmf_call){ c, *tmf, done, arg };
    int rc = osal_queue_async(c->os, tmf_q, k);
    if (rc < 0)
        free(k);
    return rc;
}

static void reset_q(void *arg)
{
    struct call *k = arg;
    if (!k->c->running) {
        k->rc = -ENODEV;
        return;
    }
    k->rc = admin2(k->c, HBA_ADM_RESET, k->scope, (uint32_t)k->target << 16 | k->lun) == 0 ? 0 : -EIO;
    mini_reap(k->c); /* ended commands are re-sent */
}

static int reset(struct drv_core *c, enum hba_reset_scope scope, uint16_t target, uint16_t lun)
{
    if (osal_on_queue(c->os))
        return -EDEADLK;
    struct call k = { .c = c, .scope = scope, .target = target, .lun = lun };
    int rc = osal_queue_sync(c->os, reset_q, &k);
    return rc < 0 ? rc : k.rc;
}

static void reset_controller_q(void *arg)
{
    struct call *k = arg;
    k->rc = mini_controller_reset(k->c, k->hard);
}

static int reset_controller(struct drv_core *c, bool hard)
{
    if (osal_on_queue(c->os))
        return -EDEADLK;
    struct call k = { .c = c, .hard = hard };
    int rc = osal_queue_sync(c->os, reset_controller_q, &k);
    return rc < 0 ? rc : k.rc;
}

/* The controller went away and came back (a new process): nothing it knew,
 * mappings included, survives — rebuild everything and re-send. */
static void recover_q(void *arg)
{
    struct call *k = arg;
    struct drv_core *c = k->c;
    mini_requeue_all(c);
    mini_teardown(c, false);
    k->rc = mini_bringup(c);
    if (k->rc < 0) {
        mini_fail_all(c);
        return;
    }
    mini_kick(c);
    c->tick_at_ns = osal_now_ns(c->os);
    osal_timer_arm(c->watchdog, c->opt.watchdog_ms);
}

static int recover(struct drv_core *c)
{
    struct call k = { .c = c };
    int rc = osal_queue_sync(c->os, recover_q, &k);
    return rc < 0 ? rc : k.rc;
}

struct stats_call {
    struct drv_core *c;
    struct drv_core_stats *out;
};

static void stats_q(void *arg)
{
    struct stats_call *k = arg;
    *k->out = k->c->stats;
}

static void get_stats(struct drv_core *c, struct drv_core_stats *out)
{
    struct stats_call k = { c, out };
    osal_queue_sync(c->os, stats_q, &k); /* a consistent copy */
}

int mini_run_task(struct drv_core *c, const struct drv_task *t, struct drv_completion *out)
{
    return run_task(c, t, out);
}

__attribute__((visibility("default")))
const struct scsisim_driver_core *scsisim_driver_core(void)
{
    static const struct scsisim_driver_core table = {
        .abi_version = SCSISIM_DRIVER_CORE_ABI_VERSION,
        .table_size = sizeof table,
        .name = "minimal example core",
        .create = create, .start = start, .stop = stop, .destroy = destroy,
        .constraints = constraints,
        .process_task = process_task, .run_task = run_task, .poll = poll_core,
        .task_mgmt = task_mgmt,
        .reset = reset, .reset_controller = reset_controller, .recover = recover,
        .discover = mini_discover, .disc_result_free = mini_disc_result_free,
        .get_stats = get_stats,
    };
    return &table;
}
