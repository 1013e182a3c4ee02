/* conformance/replay/replay_directive.c — the harness directives of a trace
 * (docs/trace-format.md, "Directives"), done to the simulated controller
 * through the stack's test control (power, unit attentions, fault
 * injection, the oracle: the same in one process and in two) or through the
 * driver core (resets, recovery after power on). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/replay_priv.h"
#include "sim/sim.h"

static const struct trace_record *rec(const struct replay *rp, size_t line)
{
    return &rp->t->lines[line].record;
}

/* A directive that could not do its job: the reason goes to the log and
 * becomes the note of later commands that fail without one of their own. */
static void problem(struct replay *rp, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct replay *rp, size_t line, const char *fmt, ...)
{
    char msg[REPLAY_NOTE_MAX - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(rp->engine_note, sizeof rp->engine_note, "line %u: %s", rp->t->lines[line].lineno, msg);
    if (rp->o.log)
        fprintf(rp->o.log, "%s:%u: replay: %s\n", rp->t->name, rp->t->lines[line].lineno, msg);
}

static bool need_stack(struct replay *rp, size_t line, const char *what)
{
    if (rp->st)
        return true;
    problem(rp, line, "%s: the stack is not open", what);
    return false;
}

static void power_loss(struct replay *rp, size_t line, const struct trace_directive *d)
{
    if (!need_stack(rp, line, "power-loss") || rp->powered_off)
        return;
    struct sim_power_cut how = { .mode = (enum sim_power_cut_mode)d->power_mode, .seed = d->seed_given ? d->seed : 0 };
    int64_t lost = stack_power_cut(rp->st, &how);
    if (lost < 0)
        problem(rp, line, "power-loss failed (%s)", strerror((int)-lost));
    else
        rp->powered_off = true;
}

static void power_on(struct replay *rp, size_t line)
{
    if (!need_stack(rp, line, "power-on"))
        return;
    int rc = stack_power_on(rp->st);
    if (rc == -EALREADY)
        return; /* it never went off: nothing to recover from */
    if (rc < 0) {
        problem(rp, line, "power-on failed (%s)", strerror(-rc));
        return;
    }
    rp->powered_off = false;
    /* The driver core found its controller gone (or will): bring it up
     * from scratch, as the OS does when the device comes back. */
    rc = drv_core_recover(stack_core(rp->st));
    if (rc < 0)
        problem(rp, line, "after power-on the driver core did not bring the controller back (%s)", strerror(-rc));
}

struct reset_ctx {
    enum hba_reset_scope scope;
    bool done_target[256];
    size_t line;
};

static int reset_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct reset_ctx *x = arg;
    if (x->scope == HBA_RESET_TARGET) {
        if (target < 256 && x->done_target[target])
            return 0;
        if (target < 256)
            x->done_target[target] = true;
    }
    int rc = drv_core_reset(stack_core(rp->st), x->scope, target, lun);
    if (rc < 0)
        problem(rp, x->line, "reset of %u:%u failed (%s)", target, lun, strerror(-rc));
    return 0;
}

static void reset(struct replay *rp, size_t line, const struct trace_directive *d)
{
    if (!rp->st) {
        problem(rp, line, "reset: the stack is not open");
        return;
    }
    struct trace_nexus nx = trace_record_nexus(rp->t, rec(rp, line));
    int rc;
    switch (d->reset) {
    case TRACE_RESET_HOST:
        rc = drv_core_reset_controller(stack_core(rp->st), true);
        if (rc < 0)
            problem(rp, line, "reset host: the controller did not come back (%s)", strerror(-rc));
        return;
    case TRACE_RESET_BUS:
        rc = drv_core_reset(stack_core(rp->st), HBA_RESET_BUS, 0, 0);
        if (rc < 0)
            problem(rp, line, "reset bus failed (%s)", strerror(-rc));
        return;
    case TRACE_RESET_TARGET:
    case TRACE_RESET_LUN: {
        struct reset_ctx x = { .scope = d->reset == TRACE_RESET_LUN ? HBA_RESET_LUN : HBA_RESET_TARGET, .line = line };
        if (d->reset == TRACE_RESET_TARGET)
            nx.any |= TRACE_ANY_LUN; /* the target, whatever LUN the nexus names */
        if (replay_for_drives(rp, &nx, reset_one, &x) == 0) {
            /* Nothing configured there: the reset still goes to the controller. */
            uint16_t t = (nx.any & TRACE_ANY_TARGET) ? 0 : (uint16_t)nx.target;
            uint16_t l = (nx.any & TRACE_ANY_LUN) ? 0 : (uint16_t)nx.lun;
            reset_one(rp, t, l, &x);
        }
        return;
    }
    }
}

struct ua_ctx {
    int initiator;
    uint16_t code;
    size_t line;
};

static int ua_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct ua_ctx *x = arg;
    int rc = stack_raise_ua(rp->st, target, lun, x->initiator, x->code);
    if (rc < 0)
        problem(rp, x->line, "ua on %u:%u failed (%s)", target, lun, strerror(-rc));
    return 0;
}

static void unit_attention(struct replay *rp, size_t line, const struct trace_directive *d)
{
    if (!need_stack(rp, line, "ua"))
        return;
    struct trace_nexus nx = trace_record_nexus(rp->t, rec(rp, line));
    struct ua_ctx x = { .code = (uint16_t)(d->asc << 8 | d->ascq), .line = line };
    x.initiator = (nx.any & TRACE_ANY_HOST) ? -1 : nx.host < HBA_MAX_INITIATORS ? (int)nx.host : -2;
    if (x.initiator == -2) {
        problem(rp, line, "ua: initiator %u is beyond the controller's %u I_T nexuses", nx.host,
                HBA_MAX_INITIATORS);
        return;
    }
    if (replay_for_drives(rp, &nx, ua_one, &x) == 0)
        problem(rp, line, "ua: no drive at the directive's nexus");
}

static void inject(struct replay *rp, size_t line, const struct trace_directive *d)
{
    if (!need_stack(rp, line, "inject"))
        return;
    int rc = 0;
    switch (d->inject) {
    case TRACE_INJECT_IOMMU_ABORT:
        rc = stack_set_iommu_policy(rp->st, HBA_IOMMU_POLICY_ABORT);
        break;
    case TRACE_INJECT_IOMMU_DROP:
        rc = stack_set_iommu_policy(rp->st, HBA_IOMMU_POLICY_DROP);
        break;
    case TRACE_INJECT_IOMMU_FATAL:
        rc = stack_set_iommu_policy(rp->st, HBA_IOMMU_POLICY_FATAL);
        break;
    case TRACE_INJECT_HANG:
        /* The trace's hang is a wedged firmware: no completions and no heartbeat. */
        rc = stack_inject(rp->st, SIM_INJECT_HANG, 0);
        if (rc == 0)
            rc = stack_inject(rp->st, SIM_INJECT_STALL_HEARTBEAT, 0);
        break;
    case TRACE_INJECT_DROP_NEXT:
        rc = stack_inject(rp->st, SIM_INJECT_DROP_NEXT,
                          d->inject_arg > UINT32_MAX ? UINT32_MAX : (uint32_t)d->inject_arg);
        break;
    case TRACE_INJECT_FATAL:
        rc = stack_inject(rp->st, SIM_INJECT_FATAL, 0);
        break;
    case TRACE_INJECT_KIND_COUNT:
        break;
    }
    if (rc < 0)
        problem(rp, line, "inject failed (%s)", rc == -ENODEV ? "the controller is powered off" : strerror(-rc));
}

static void release(struct replay *rp, size_t line)
{
    for (size_t i = 0; i < rp->t->n_tasks; i++)
        if (rp->t->tasks[i].released_by == line) {
            replay_wait(rp, &rp->tasks[i]);
            return;
        }
}

static int media_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct sim_oracle_report *sum = arg, r;
    int rc = stack_check_media(rp->st, target, lun, &r);
    if (rc < 0)
        return rc;
    if (r.durable_lost && !sum->durable_lost)
        sum->first_bad_lba = r.first_bad_lba;
    sum->blocks_checked += r.blocks_checked;
    sum->durable_lost += r.durable_lost;
    sum->volatile_kept += r.volatile_kept;
    sum->volatile_lost += r.volatile_lost;
    return 0;
}

static void check_media(struct replay *rp, size_t line)
{
    struct trace_actual_media *m = realloc(rp->media, (rp->n_media + 1) * sizeof *m);
    if (!m) {
        problem(rp, line, "check-media: out of memory");
        return;
    }
    rp->media = m;
    m = &rp->media[rp->n_media++];
    memset(m, 0, sizeof *m);
    m->line = line;
    if (!need_stack(rp, line, "check-media"))
        return;
    struct trace_nexus nx = trace_record_nexus(rp->t, rec(rp, line));
    int rc = replay_for_drives(rp, &nx, media_one, &m->report);
    if (rc < 0)
        problem(rp, line, "check-media failed (%s)", strerror(-rc));
    else if (rc == 0)
        problem(rp, line, "check-media: no drive at the directive's nexus");
    else
        m->checked = true;
}

void replay_directive(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &rec(rp, line)->directive;
    switch (d->kind) {
    case TRACE_DIR_POWER_LOSS: power_loss(rp, line, d); break;
    case TRACE_DIR_POWER_ON: power_on(rp, line); break;
    case TRACE_DIR_RESET: reset(rp, line, d); break;
    case TRACE_DIR_UA: unit_attention(rp, line, d); break;
    case TRACE_DIR_INJECT: inject(rp, line, d); break;
    case TRACE_DIR_RELEASE: release(rp, line); break;
    case TRACE_DIR_CHECK_MEDIA: check_media(rp, line); break;
    case TRACE_DIR_WAIT: replay_sleep_ns(rp, d->ns); break;
    case TRACE_DIR_HOLD:   /* the CMD it holds is simply not waited for */
    case TRACE_DIR_WITHIN: /* the parser gave each task its deadline */
    case TRACE_DIR_MARK:
    case TRACE_DIR_KIND_COUNT:
        break;
    }
}
