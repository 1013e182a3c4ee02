/* conformance/replay/replay_stack.c — the device a trace describes, built and torn
 * down: the simulated controller from the @controller / @drive lines, the
 * stack on top of it, the driver's discovery (what a host does when the
 * controller attaches), and the driver's events and log lines, kept as
 * explanations for failures. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/replay_priv.h"
#include "core/discovery.h"
#include "stack/driver_core.h"
#include "sim/sim.h"
#include "sim/store/media_file.h"

/* On the dispatch queue. */
static void on_event(void *arg, const struct drv_event *e)
{
    struct replay *rp = arg;
    pthread_mutex_lock(&rp->lock);
    if (rp->n_events < REPLAY_EVENTS_MAX)
        rp->events[rp->n_events++] = *e;
    else
        rp->events_lost++;
    if (e->kind == DRV_EVENT_IOMMU_FAULT && rp->n_faults < REPLAY_FAULTS_MAX)
        rp->faults[rp->n_faults++] = (struct replay_fault){ .at_ns = replay_now_ns(), .f = e->fault };
    pthread_cond_broadcast(&rp->cv); /* an `events` line may be waiting for it */
    pthread_mutex_unlock(&rp->lock);
}

/* Any thread. */
static void on_log(void *arg, enum osal_log_level level, const char *line)
{
    struct replay *rp = arg;
    if (level > OSAL_LOG_WARN)
        return;
    pthread_mutex_lock(&rp->lock);
    snprintf(rp->last_log, sizeof rp->last_log, "%s", line);
    rp->last_log_ns = replay_now_ns();
    if (rp->o.log)
        fprintf(rp->o.log, "%s: %s\n", rp->t->name, line);
    pthread_mutex_unlock(&rp->lock);
}

static int highest_target(const struct sim_config *cfg)
{
    int hi = -1;
    for (size_t i = 0; i < cfg->lu_count; i++)
        if ((int)cfg->lus[i].target > hi)
            hi = cfg->lus[i].target;
    return hi;
}

/* A target the discovery gave up on (F3: a UNIT ATTENTION taken for a dead
 * target) has no device on the host: commands to it are refused above the
 * driver.  A target merely not found (its probe commands failed) is left
 * alone, so the trace shows the failing commands themselves. */
static int discover(struct replay *rp)
{
    int hi = highest_target(&rp->cfg);
    if (hi < 0)
        return 0;
    struct drv_disc_options dopt = {
        .initiator = REPLAY_PROBE_INITIATOR,
        .ready_timeout_ms = 1, /* do not wait out ready-time: the trace may want to see NOT READY */
        .ready_poll_ms = 1,
        .max_targets = (uint32_t)hi + 1,
    };
    struct drv_disc_result res;
    const struct scsisim_driver_core *core = stack_core_ops(rp->st);
    int rc = core->discover(stack_core(rp->st), &dopt, &res);
    if (rc < 0)
        return rc;
    if (res.targets_dropped) {
        rp->lost_targets = calloc(rp->cfg.max_targets, sizeof *rp->lost_targets);
        if (!rp->lost_targets) {
            core->disc_result_free(&res);
            return -ENOMEM;
        }
        for (size_t i = 0; i < rp->cfg.lu_count; i++) {
            uint16_t t = rp->cfg.lus[i].target;
            bool found = false;
            for (size_t j = 0; j < res.count && !found; j++)
                found = res.luns[j].target == t;
            if (!found && t < rp->cfg.max_targets)
                rp->lost_targets[t] = true;
        }
    }
    core->disc_result_free(&res);
    return 0;
}

void replay_host_options(const struct trace *t, struct osal_user_options *o)
{
    const struct trace_host *h = &t->host;
    if (h->given[TRACE_HOST_IOVA_BASE])
        o->iova_base = h->iova_base;
    if (h->given[TRACE_HOST_IOVA_LIMIT])
        o->iova_limit = h->iova_limit;
    if (h->given[TRACE_HOST_LOW_WINDOW])
        o->low_window = h->low_window;
    if (h->given[TRACE_HOST_SCATTER])
        o->scatter = h->scatter;
}

int replay_open(struct replay *rp)
{
    struct located_error err;
    int rc = trace_sim_config(rp->t, &rp->cfg, &err);
    if (rc < 0) {
        located_format(&err, rp->engine_note, sizeof rp->engine_note);
        return rc;
    }
    rp->cfg_ok = true;
    /* Without --media-dir each trace's drives get a directory of their own:
     * traces replayed at once may name their media files alike. */
    bool file_media = false;
    for (size_t i = 0; i < rp->cfg.lu_count; i++)
        file_media |= rp->cfg.lus[i].media_path != NULL;
    if (file_media && !rp->cfg.media_dir) {
        char why[PATH_MAX + 100];
        if ((rc = sim_media_private_subdir(rp->media_subdir, sizeof rp->media_subdir, why, sizeof why)) < 0 ||
            !(rp->cfg.media_dir = strdup(rp->media_subdir))) {
            snprintf(rp->engine_note, sizeof rp->engine_note, "%.*s", (int)sizeof rp->engine_note - 1,
                     rc < 0 ? why : "out of memory");
            return rc < 0 ? rc : -ENOMEM;
        }
    }
    struct stack_options so;
    stack_options_init(&so);
    so.mode = rp->o.mode;
    so.socket_path = rp->o.socket_path;
    /* Two processes: a controller of its own for each trace, built from the
     * trace's device lines, unless the caller names one already running. */
    so.spawn = rp->o.mode == STACK_TWO_PROCESS && !rp->o.socket_path;
    so.scsisim_bin = rp->o.scsisim_bin;
    if (rp->o.mode == STACK_TWO_PROCESS && rp->o.socket_path)
        so.connect_timeout_ms = 1000; /* a controller the caller names listens already */
    so.polled = rp->o.polled;
    so.default_timeout_ms = rp->o.driver_timeout_ms;
    /* @host's driver deadlines: a recovery trace makes the escalation quick. */
    const struct trace_host *h = &rp->t->host;
    if (h->given[TRACE_HOST_COMMAND_TIMEOUT])
        so.default_timeout_ms = h->command_timeout_ms;
    if (h->given[TRACE_HOST_ABORT_GRACE])
        so.abort_grace_ms = h->abort_grace_ms;
    if (h->given[TRACE_HOST_ADMIN_TIMEOUT])
        so.admin_timeout_ms = h->admin_timeout_ms;
    if (h->given[TRACE_HOST_HEARTBEAT_STALL])
        so.heartbeat_stall_ms = h->heartbeat_stall_ms;
    /* @host's bring-up options, as a host driver's configuration would set them. */
    if (h->given[TRACE_HOST_COALESCING])
        so.int_coalescing = h->coalescing;
    if (h->given[TRACE_HOST_QUEUE_DEPTH])
        so.queue_depth = h->queue_depth;
    so.on_event = on_event;
    so.event_arg = rp;
    so.osal.name = "replay";
    so.osal.log_level = OSAL_LOG_WARN;
    so.osal.log_sink = on_log;
    so.osal.log_arg = rp;
    replay_host_options(rp->t, &so.osal);
    char why[200] = "";
    rc = stack_open(&rp->cfg, &so, &rp->st, why, sizeof why);
    if (rc < 0) {
        snprintf(rp->engine_note, sizeof rp->engine_note, "the stack could not be built: %s", why);
        rp->st = NULL;
        return rc;
    }
    if (!rp->o.no_discovery && (rc = discover(rp)) < 0) {
        snprintf(rp->engine_note, sizeof rp->engine_note, "the driver's discovery could not run (%s)",
                 strerror(-rc));
        replay_close(rp);
        return rc;
    }
    /* @host reverse-directions: from here on the platform maps data for the
     * opposite direction (after discovery, which must still work), so a
     * trace sees the controller's IOMMU direction check with any core. */
    if (rp->t->host.given[TRACE_HOST_REVERSE_DIRECTIONS])
        osal_user_set_reverse_directions(stack_osal(rp->st), rp->t->host.reverse_directions);
    replay_observe_start(rp);
    return 0;
}

void replay_close(struct replay *rp)
{
    if (rp->st) {
        /* A controller left without power would keep the driver's recovery
         * waiting for READY: give it power so the stop is an orderly one. */
        if (rp->powered_off) {
            stack_inject_clear(rp->st);
            stack_power_on(rp->st);
            rp->powered_off = false;
        }
        pthread_mutex_lock(&rp->lock);
        rp->closing = true;
        bool stuck = false;
        for (size_t i = 0; rp->tasks && i < rp->t->n_tasks; i++)
            stuck |= rp->tasks[i].submitted && !rp->tasks[i].done;
        pthread_mutex_unlock(&rp->lock);
        if (stuck) {
            /* Commands a hung or dropping controller still holds would keep
             * the driver's orderly stop waiting for them: lift the faults
             * and reset the controller, which ends them at once. */
            stack_inject_clear(rp->st);
            stack_core_ops(rp->st)->reset_controller(stack_core(rp->st), false);
        }
        /* Ends every task still in flight (their callbacks record nothing
         * now), so their DMA buffers may be freed before the osal goes. */
        stack_core_ops(rp->st)->stop(stack_core(rp->st));
        for (size_t i = 0; rp->tasks && i < rp->t->n_tasks; i++) {
            replay_free_buffers(rp, &rp->tasks[i]);
        }
        stack_close(rp->st);
        rp->st = NULL;
    }
}

int replay_for_drives(struct replay *rp, const struct trace_nexus *n, replay_drive_fn fn, void *arg)
{
    int found = 0;
    for (size_t i = 0; i < rp->cfg.lu_count; i++) {
        const struct sim_lu_config *lu = &rp->cfg.lus[i];
        if (!(n->any & TRACE_ANY_TARGET) && lu->target != n->target)
            continue;
        if (!(n->any & TRACE_ANY_LUN) && lu->lun != n->lun)
            continue;
        int rc = fn(rp, lu->target, lu->lun, arg);
        if (rc < 0)
            return rc;
        found++;
    }
    return found;
}
