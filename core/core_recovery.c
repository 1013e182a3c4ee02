/* core/core_recovery.c — timeouts, escalation and the watchdog.
 *
 * One periodic timer (opt.watchdog_ms) does all the checking, like a block
 * layer's timeout scan: per-command deadlines, the escalation deadlines, the
 * admin commands' deadlines, and the controller's pulse (HEARTBEAT, STATUS).
 *
 *   command past its deadline  -> HBA_ADM_ABORT               (ESC_ABORT_SENT)
 *   abort answered             -> wait abort_grace_ms          (ESC_ABORT_WAIT)
 *   still not ended            -> HBA_ADM_RESET, LUN scope    (ESC_RESET_SENT)
 *   still not ended, or an abort/admin command unanswered,
 *   or the watchdog fires      -> controller reset + bring-up, re-issue
 *
 * Commands an abort or reset ends come back ABORTED / ABORTED_RESET and are
 * re-issued by core_task.c within the task's budget (opt.max_reissues). */
#include <errno.h>
#include <stdint.h>

#include "core/core_internal.h"

void recovery_arm_tick(struct drv_core *core)
{
    osal_timer_arm(core->tick, core->opt.watchdog_ms);
    core->tick_armed = true;
}

static uint64_t ms_ns(uint32_t ms)
{
    return (uint64_t)ms * 1000000u;
}

/* ---- controller reset ------------------------------------------------------ */

int recovery_reset_controller(struct drv_core *core, const char *why, bool reap, bool hard)
{
    if (core->resetting)
        return -EBUSY;
    core->resetting = true;
    /* A reset that did not cure the controller (a stopped heartbeat survives
     * EN 1 -> 0) is followed by a hard one; a controller that keeps needing
     * resets is given up on rather than reset for ever. */
    uint64_t now = core_now_ns(core);
    uint64_t window = 4 * ms_ns(core->opt.heartbeat_stall_ms + core->opt.abort_grace_ms + core->opt.watchdog_ms);
    core->reset_streak = core->last_reset_ns && now - core->last_reset_ns < window ? core->reset_streak + 1 : 1;
    core->last_reset_ns = now;
    if (core->reset_streak > 1)
        hard = true;
    osal_log(core->os, OSAL_LOG_WARN, "drv: resetting the controller%s: %s", hard ? " (hard reset)" : "", why);
    core->stats.controller_resets++;
    core_set_state(core, CORE_RECOVERING);
    if (reap)
        core_reap_all(core, false); /* what completed before the reset is real */

    /* Which tasks had a command outstanding: after core_disable their slots are gone. */
    for (struct drv_io *io = core->ios; io; io = io->next) {
        io->caught_by_reset = io->nout != 0;
        task_pieces_lost(io); /* every chunk it had out goes again, should the task */
    }
    int rc = core_disable(core, hard);
    if (rc == 0 && core->reset_streak > DRV_RESET_STREAK_MAX) {
        osal_log(core->os, OSAL_LOG_ERROR, "drv: %u controller resets in a row did not help", core->reset_streak);
        rc = -EIO;
    }
    if (rc == 0) {
        rc = core_bringup(core);
        if (rc < 0 && rc != -ENODEV) {
            /* READY and enabled, but not answering (a hung firmware survives
             * EN 1 -> 0): the hard reset is the last resort. */
            rc = core_disable(core, true);
            if (rc == 0)
                rc = core_bringup(core);
        }
    }

    struct drv_io *next;
    for (struct drv_io *io = core->ios; io; io = next) {
        next = io->next;
        io_dma_release(core, io); /* the IOMMU may be new: prepare again */
        if (!io->caught_by_reset)
            continue;
        io->caught_by_reset = false;
        if (rc == 0 && !io->terminate && io->reissues < core->opt.max_reissues) {
            io->reissues++;
            core->stats.reissues++;
            if (!io->pending) /* a split task may be waiting with chunks still to send */
                task_requeue_front(core, io);
        } else {
            task_fail(core, io, DRV_SR_SERVICE_DELIVERY_FAILURE, HBA_CS_ABORTED_RESET);
        }
    }
    core->resetting = false;
    if (rc < 0) {
        osal_log(core->os, OSAL_LOG_ERROR, "drv: the controller did not come back (%d): failing every task", rc);
        core_release(core);
        core_set_state(core, CORE_DEAD);
        task_fail_all(core, DRV_SR_SERVICE_DELIVERY_FAILURE);
        tmf_retry_unsent(core); /* ends task management still waiting for a slot */
        struct drv_event ev = { .kind = DRV_EVENT_CONTROLLER_DEAD };
        core_emit(core, &ev);
        return rc;
    }
    core_set_state(core, CORE_RUNNING);
    struct drv_event ev = { .kind = DRV_EVENT_CONTROLLER_RESET };
    core_emit(core, &ev);
    task_drain(core);
    return 0;
}

/* ---- escalation -------------------------------------------------------------- */

static void *cmd_ref(uint16_t qid, uint16_t cid)
{
    return (void *)(uintptr_t)((uint32_t)qid << 16 | cid);
}

static struct drv_cmd *cmd_deref(struct drv_core *core, void *ref, struct drv_queue **qout)
{
    uint32_t v = (uint32_t)(uintptr_t)ref;
    uint16_t qid = (uint16_t)(v >> 16);
    if (qid == 0 || qid > core->nioq)
        return NULL;
    *qout = &core->ioq[qid - 1u];
    return queue_find(*qout, (uint16_t)v);
}

static void abort_done(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    struct drv_queue *q;
    struct drv_cmd *c = cmd_deref(core, arg, &q);
    if (!c || c->esc != ESC_ABORT_SENT)
        return; /* it completed meanwhile */
    if (cqe->ctrl_status == HBA_CS_ABORTED_RESET)
        return; /* the controller is being reset: that path re-issues it */
    /* Aborted (its ABORTED completion follows) or not found (it may be about
     * to complete): either way it gets a grace period to end. */
    c->esc = ESC_ABORT_WAIT;
    c->esc_deadline_ns = core_now_ns(core) + ms_ns(core->opt.abort_grace_ms);
    if (cqe->ctrl_status != HBA_CS_SUCCESS)
        osal_log(core->os, OSAL_LOG_WARN, "drv: ABORT of cid %#x failed with controller status %#x", c->cid,
                 cqe->ctrl_status);
}

static void send_abort(struct drv_core *core, struct drv_queue *q, struct drv_cmd *c, uint64_t now)
{
    struct hba_sq_entry e;
    adm_entry(&e, HBA_ADM_ABORT);
    e.u.cdw[0] = q->qid;
    e.u.cdw[1] = c->cid;
    if (adm_submit(core, &e, core->opt.admin_timeout_ms, abort_done, cmd_ref(q->qid, c->cid)) < 0)
        return; /* admin queue full: try again at the next tick */
    const struct drv_io *io = c->io;
    osal_log(core->os, OSAL_LOG_WARN, "drv: task %llu (%u:%u opcode %#x) timed out: aborting cid %#x on SQ %u",
             (unsigned long long)io->t.task_id, io->t.target, io->t.lun, io->t.cdb[0], c->cid, q->qid);
    core->stats.timeouts++;
    core->stats.aborts++;
    c->esc = ESC_ABORT_SENT;
    c->esc_deadline_ns = now + ms_ns(core->opt.abort_grace_ms);
}

static void reset_done(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    (void)arg;
    if (cqe->ctrl_status != HBA_CS_SUCCESS && cqe->ctrl_status != HBA_CS_ABORTED_RESET)
        osal_log(core->os, OSAL_LOG_WARN, "drv: LUN reset failed with controller status %#x", cqe->ctrl_status);
}

static void send_lun_reset(struct drv_core *core, struct drv_cmd *c, uint64_t now)
{
    uint16_t target = c->io->t.target, lun = c->io->t.lun;
    struct hba_sq_entry e;
    adm_entry(&e, HBA_ADM_RESET);
    e.u.cdw[0] = HBA_RESET_LUN;
    e.u.cdw[1] = (uint32_t)target << 16 | lun;
    if (adm_submit(core, &e, core->opt.admin_timeout_ms, reset_done, NULL) < 0)
        return;
    osal_log(core->os, OSAL_LOG_WARN, "drv: cid %#x still outstanding after its abort: resetting LUN %u:%u", c->cid,
             target, lun);
    core->stats.lun_resets++;
    /* One reset covers every stuck command of the LUN. */
    for (unsigned i = 0; i < core->nioq; i++) {
        struct drv_queue *q = &core->ioq[i];
        for (uint16_t s = 0; s < q->nslots; s++) {
            struct drv_cmd *o = &q->cmd[s];
            if (o->busy && o->io && o->io->t.target == target && o->io->t.lun == lun && o->esc != ESC_NONE) {
                o->esc = ESC_RESET_SENT;
                o->esc_deadline_ns = now + ms_ns(core->opt.abort_grace_ms);
            }
        }
    }
}

/* Returns why the controller must be reset, or NULL. */
static const char *check_commands(struct drv_core *core, uint64_t now)
{
    struct drv_queue *a = &core->admin;
    for (uint16_t s = 0; s < a->nslots; s++)
        if (a->cmd[s].busy && a->cmd[s].deadline_ns && now > a->cmd[s].deadline_ns)
            return "an admin command got no answer";
    for (unsigned i = 0; i < core->nioq; i++) {
        struct drv_queue *q = &core->ioq[i];
        for (uint16_t s = 0; s < q->nslots; s++) {
            struct drv_cmd *c = &q->cmd[s];
            if (!c->busy || !c->io)
                continue;
            switch (c->esc) {
            case ESC_NONE:
                if (c->deadline_ns && now > c->deadline_ns)
                    send_abort(core, q, c, now);
                break;
            case ESC_ABORT_SENT:
                if (now > c->esc_deadline_ns)
                    return "an abort got no answer";
                break;
            case ESC_ABORT_WAIT:
                if (now > c->esc_deadline_ns)
                    send_lun_reset(core, c, now);
                break;
            case ESC_RESET_SENT:
                if (now > c->esc_deadline_ns)
                    return "a command survived its abort and a LUN reset";
                break;
            }
        }
    }
    return NULL;
}

/* The host stopped running the core for gap ns (check_pulse): every
 * command deadline moves out by it, as the heartbeat window does, so a
 * command is not aborted for time in which nobody, the controller included,
 * could run. */
static void shift_deadlines(struct drv_core *core, uint64_t gap)
{
    struct drv_queue *a = &core->admin;
    for (uint16_t s = 0; s < a->nslots; s++)
        if (a->cmd[s].busy && a->cmd[s].deadline_ns)
            a->cmd[s].deadline_ns += gap;
    for (unsigned i = 0; i < core->nioq; i++) {
        struct drv_queue *q = &core->ioq[i];
        for (uint16_t s = 0; s < q->nslots; s++) {
            struct drv_cmd *c = &q->cmd[s];
            if (!c->busy)
                continue;
            if (c->deadline_ns)
                c->deadline_ns += gap;
            if (c->esc != ESC_NONE)
                c->esc_deadline_ns += gap;
        }
    }
}

/* The controller's pulse.  Returns why it must be reset, or NULL. */
static const char *check_pulse(struct drv_core *core, uint64_t now)
{
    uint32_t st = osal_reg_read32(core->os, HBA_REG_STATUS);
    if (st == 0xFFFFFFFFu)
        return "its registers read all-ones (gone from the bus)";
    if (st & HBA_STATUS_FATAL)
        return "it entered FAULT";
    if (!(st & HBA_STATUS_RDY))
        return "it left the operational state (power loss or reset behind our back)";
    /* A watchdog tick far later than it was armed for means the host did not
     * run this core for a while (an overloaded machine, a descheduled VM);
     * the controller's heartbeat was most likely kept off the CPU the same
     * way, so its stall window starts again instead of blaming the controller.
     * Ticks are due every watchdog_ms; half the stall window past that is not jitter. */
    if (core->pulse_last_ns && now - core->pulse_last_ns > ms_ns(core->opt.watchdog_ms + core->opt.heartbeat_stall_ms / 2)) {
        core->hb_changed_ns = now;
        shift_deadlines(core, now - core->pulse_last_ns);
    }
    core->pulse_last_ns = now;
    uint32_t hb = osal_reg_read32(core->os, HBA_REG_HEARTBEAT);
    if (hb != core->hb_last) {
        core->hb_last = hb;
        core->hb_changed_ns = now;
    } else if (now - core->hb_changed_ns > ms_ns(core->opt.heartbeat_stall_ms)) {
        return "its heartbeat stopped";
    }
    return NULL;
}

void recovery_tick(void *arg)
{
    struct drv_core *core = arg;
    core->tick_armed = false;
    tmf_retry_unsent(core);
    if (core_state(core) != CORE_RUNNING)
        return;
    if (core->opt.polled)
        core_reap_all(core, true); /* completions nobody polled for, before judging deadlines */
    uint64_t now = core_now_ns(core);
    const char *why = check_pulse(core, now);
    if (!why)
        why = check_commands(core, now);
    if (why) {
        uint32_t st = osal_reg_read32(core->os, HBA_REG_STATUS);
        recovery_reset_controller(core, why, true, st != 0xFFFFFFFFu && (st & HBA_STATUS_FATAL));
    }
    /* Commands the device could not take (TASK SET FULL, BUSY) go again. */
    for (struct drv_io *io = core->ios; io; io = io->next)
        if (io->deferred) {
            io->deferred = false;
            task_settle(core, io); /* pending again, or (all else back) ended */
        }
    task_drain(core);
    if (core_state(core) == CORE_RUNNING && !core->tick_armed)
        recovery_arm_tick(core);
}

struct recover_ctx {
    struct drv_core *core;
    int rc;
};

static void recover_block(void *arg)
{
    struct recover_ctx *x = arg;
    struct drv_core *core = x->core;
    int s = core_state(core);
    if (s == CORE_CREATED || s == CORE_STOPPING || s == CORE_STOPPED) {
        x->rc = -ESHUTDOWN;
        return;
    }
    /* The queues' memory may belong to a controller that is gone: not reaped. */
    core->reset_streak = 0;
    core->last_reset_ns = 0;
    x->rc = recovery_reset_controller(core, "the layer above re-attached the controller", false, false);
    if (core_state(core) == CORE_RUNNING && !core->tick_armed)
        recovery_arm_tick(core);
}

int drv_core_recover(struct drv_core *core)
{
    struct recover_ctx x = { .core = core, .rc = -EIO };
    int rc = osal_queue_sync(core->os, recover_block, &x);
    return rc < 0 ? rc : x.rc;
}
