/* core/core_reset.c — resets requested by the layer above (see core.h):
 * a LUN, target or bus reset as one admin command, a host adapter reset as a
 * controller reset and bring-up.  The caller waits outside the dispatch
 * queue; everything that touches the core runs on it. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "core/core_internal.h"

/* The caller's wait for the admin completion.  The core always calls back:
 * on the answer, or with HBA_CS_ABORTED_RESET when a controller reset or a
 * stop cancels the command first. */
struct reset_wait {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool done;
    uint8_t ctrl_status;
};

struct reset_submit {
    struct drv_core *core;
    struct reset_wait *w;
    struct hba_sq_entry e;
    int rc;
};

static void reset_answered(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    (void)core;
    struct reset_wait *w = arg;
    pthread_mutex_lock(&w->lock);
    w->ctrl_status = cqe->ctrl_status;
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

static void submit_block(void *arg)
{
    struct reset_submit *x = arg;
    struct drv_core *core = x->core;
    if (core_state(core) != CORE_RUNNING) {
        x->rc = -ENODEV;
        return;
    }
    x->rc = adm_submit(core, &x->e, core->opt.admin_timeout_ms, reset_answered, x->w);
    if (x->rc == 0)
        core->stats.lun_resets += x->e.u.cdw[0] == HBA_RESET_LUN;
}

int drv_core_reset(struct drv_core *core, enum hba_reset_scope scope, uint16_t target, uint16_t lun)
{
    if (!core || (scope != HBA_RESET_LUN && scope != HBA_RESET_TARGET && scope != HBA_RESET_BUS))
        return -EINVAL;
    if (osal_on_queue(core->os))
        return -EDEADLK;
    struct reset_wait w = { .done = false };
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cv, NULL);
    struct reset_submit x = { .core = core, .w = &w, .rc = -EIO };
    adm_entry(&x.e, HBA_ADM_RESET);
    x.e.u.cdw[0] = (uint32_t)scope;
    x.e.u.cdw[1] = (uint32_t)target << 16 | lun;
    int rc = osal_queue_sync(core->os, submit_block, &x);
    if (rc == 0)
        rc = x.rc;
    if (rc == 0) {
        pthread_mutex_lock(&w.lock);
        while (!w.done) {
            if (core->opt.polled) { /* the admin CQ may have no interrupt: reap it */
                pthread_mutex_unlock(&w.lock);
                drv_core_poll(core);
                pthread_mutex_lock(&w.lock);
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 2 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (!w.done)
                pthread_cond_timedwait(&w.cv, &w.lock, &ts);
        }
        pthread_mutex_unlock(&w.lock);
        if (w.ctrl_status != HBA_CS_SUCCESS) {
            osal_log(core->os, OSAL_LOG_WARN, "drv: requested reset (scope %d, %u:%u) ended with controller status %#x",
                     (int)scope, target, lun, w.ctrl_status);
            rc = -EIO;
        }
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

struct host_reset {
    struct drv_core *core;
    bool hard;
    int rc;
};

static void host_block(void *arg)
{
    struct host_reset *x = arg;
    struct drv_core *core = x->core;
    int s = core_state(core);
    if (s != CORE_RUNNING && s != CORE_DEAD) {
        x->rc = -ENODEV;
        return;
    }
    /* Asked for, not a symptom: the streak that gives up on a sick
     * controller must not count it. */
    core->reset_streak = 0;
    core->last_reset_ns = 0;
    x->rc = recovery_reset_controller(core, "the host asked for a controller reset", true, x->hard);
    core->reset_streak = 0;
    core->last_reset_ns = 0;
    if (core_state(core) == CORE_RUNNING && !core->tick_armed)
        recovery_arm_tick(core);
}

int drv_core_reset_controller(struct drv_core *core, bool hard)
{
    if (!core)
        return -EINVAL;
    if (osal_on_queue(core->os))
        return -EDEADLK;
    struct host_reset x = { .core = core, .hard = hard, .rc = -EIO };
    int rc = osal_queue_sync(core->os, host_block, &x);
    return rc < 0 ? rc : x.rc;
}
