/* core/core_tmf.c — task management the layer above asks for (see
 * drv_core_task_mgmt in core.h): what a SCSI target's task manager needs from
 * its HBA driver when an initiator aborts tasks, resets a LUN or the target,
 * or its I_T nexus goes away.
 *
 * Unlike the core's own recovery (core_recovery.c), which aborts or resets to
 * get a stuck command moving and then RE-ISSUES it, a function asked for from
 * above ENDS its tasks: they are marked `terminate`, so core_task.c and the
 * controller reset never send them again.  Each function is one tmf_op that
 * lives on core->tmfs until (1) every admin command it sent was answered and
 * (2) no task it ended is still owned by the core; then its done runs.  Both
 * conditions are re-checked whenever a terminated task completes
 * (tmf_task_ended) or an admin answer arrives.
 *
 * How each function reaches the controller:
 *   ABORT TASK / ABORT TASK SET / CLEAR TASK SET / NEXUS LOSS
 *       tasks still waiting for a queue slot end at once; each command in
 *       flight gets an HBA_ADM_ABORT (its completion, ABORTED or whatever it
 *       reached first, ends the task); NEXUS LOSS then sends
 *       HBA_ADM_NEXUS_LOSS so the firmware forgets the initiator's state and
 *       raises 29h/07h for it;
 *   LUN / TARGET / BUS RESET
 *       one HBA_ADM_RESET of that scope: the controller ends its commands
 *       ABORTED_RESET and raises the reset's unit attention;
 *   QUERY TASK
 *       nothing reaches the controller: whether the core still holds the
 *       task (SAM-5 7.9: FUNCTION SUCCEEDED while it is in the task set);
 *   CONTROLLER RESET
 *       the core's controller reset (CONFIG.EN 1 -> 0, bring-up); the tasks
 *       of the named target are marked so that none is re-issued, the others
 *       are re-issued as after any controller reset (other targets' hosts
 *       never notice beyond a unit attention).
 * A reset or a nexus loss that finds the admin queue full is not dropped: the
 * function keeps it as `unsent` and sends it when a slot frees (after every
 * admin completion, tmf_retry_unsent) or at the next recovery tick; the
 * function does not end before it was sent and answered, so the controller
 * always hears of a nexus loss and raises 29h/07h for it.  A core that stops
 * or dies ends such functions with -ENODEV.  (An ABORT that finds the queue
 * full is left out: the command completes on its own, or its timeout
 * escalates.)
 * Everything here runs on the dispatch queue. */
#include <errno.h>
#include <stdlib.h>

#include "core/core_internal.h"

struct tmf_op {
    struct drv_core *core;
    struct tmf_op *next;
    struct drv_tmf t;
    drv_tmf_done done;
    void *arg;
    unsigned admin_pending;   /* admin commands sent and not answered yet */
    bool unsent;              /* the reset / nexus loss below waits for an admin slot */
    bool swept;               /* stragglers got their HBA_ADM_ABORT (see admin_answered) */
    bool overtaken;           /* a controller reset cut it off: it ends with the reset's outcome */
    uint8_t unsent_opcode;
    uint32_t unsent_cdw[2];
    int rc;
};

static bool in_scope(const struct drv_tmf *t, const struct drv_io *io)
{
    const struct drv_task *k = &io->t;
    switch (t->kind) {
    case DRV_TMF_ABORT_TASK:       return k->task_id == t->task_id;
    case DRV_TMF_ABORT_TASK_SET:   return k->initiator == t->initiator && k->target == t->target && k->lun == t->lun;
    case DRV_TMF_CLEAR_TASK_SET:
    case DRV_TMF_LUN_RESET:        return k->target == t->target && k->lun == t->lun;
    case DRV_TMF_TARGET_RESET:     return k->target == t->target;
    case DRV_TMF_CONTROLLER_RESET: return k->target == t->target;
    case DRV_TMF_BUS_RESET:        return true;
    case DRV_TMF_NEXUS_LOSS:       return k->initiator == t->initiator;
    case DRV_TMF_QUERY_TASK:       return false; /* ends nothing: tmf_start answers it */
    }
    return false;
}

static bool aborts_commands(enum drv_tmf_kind k)
{
    return k == DRV_TMF_ABORT_TASK || k == DRV_TMF_ABORT_TASK_SET || k == DRV_TMF_CLEAR_TASK_SET ||
           k == DRV_TMF_NEXUS_LOSS;
}

/* Whether a task this function ended is still owned by the core. */
static bool waits_for_tasks(const struct tmf_op *op)
{
    for (const struct drv_io *io = op->core->ios; io; io = io->next)
        if (io->terminate && in_scope(&op->t, io))
            return true;
    return false;
}

/* Finishes every function whose conditions hold.  A done callback may queue
 * more work but never runs this list itself, so one pass after each finish
 * restarts from the head. */
static void tmf_check(struct drv_core *core)
{
    bool again = true;
    while (again) {
        again = false;
        for (struct tmf_op **pp = &core->tmfs; *pp; pp = &(*pp)->next) {
            struct tmf_op *op = *pp;
            if (op->unsent && core_state(core) != CORE_RUNNING) {
                op->unsent = false; /* nobody left to tell */
                if (op->rc == 0)
                    op->rc = -ENODEV;
            }
            /* A function a controller reset overtook did its work only if the
             * controller comes back: it waits for the recovery, and ends
             * with it (a dead controller reset nothing). */
            if (op->overtaken && core_state(core) == CORE_RECOVERING)
                continue;
            if (op->overtaken && core_state(core) != CORE_RUNNING && op->rc == 0)
                op->rc = -ENODEV;
            if (op->admin_pending || op->unsent || waits_for_tasks(op))
                continue;
            *pp = op->next;
            op->done(op->arg, op->rc);
            free(op);
            again = true;
            break;
        }
    }
}

void tmf_task_ended(struct drv_core *core)
{
    tmf_check(core);
}

static void send_admin(struct tmf_op *op, uint8_t opcode, uint32_t cdw0, uint32_t cdw1);

static void admin_answered(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    struct tmf_op *op = arg;
    op->admin_pending--;
    uint8_t cs = cqe->ctrl_status;
    if (cs != HBA_CS_SUCCESS && op->rc == 0 && !aborts_commands(op->t.kind)) {
        /* A reset or nexus loss the controller refused.  ABORTED_RESET means a
         * controller reset overtook it, which ended every task anyway. */
        if (cs == HBA_CS_INVALID_TARGET)
            op->rc = -ENXIO;
        else if (cs != HBA_CS_ABORTED_RESET)
            op->rc = -EIO;
        else
            op->overtaken = true;
        if (op->rc)
            osal_log(core->os, OSAL_LOG_WARN, "drv: task management %d (%u:%u) refused with controller status %#x",
                     (int)op->t.kind, op->t.target, op->t.lun, cs);
    }
    /* An HBA_ADM_ABORT answer says nothing final: the command's own
     * completion ends its task.  The controller services its admin queue
     * before the I/O queues, so a function may overtake commands submitted
     * before it that the controller had not fetched yet: once everything
     * the function sent is answered, each of its tasks still at the
     * controller gets one HBA_ADM_ABORT more, so it ends now rather than
     * at its timeout (SAM-5: the function covers every task received
     * before it). */
    if (op->admin_pending == 0 && !op->swept && op->t.kind != DRV_TMF_QUERY_TASK) {
        op->swept = true;
        for (struct drv_io *io = core->ios; io; io = io->next)
            if (io->terminate && in_scope(&op->t, io))
                for (unsigned i = 0; i < io->nout; i++)
                    send_admin(op, HBA_ADM_ABORT, io->out[i].q->qid, io->out[i].cmd->cid);
    }
    tmf_check(core);
}

static bool try_admin(struct tmf_op *op, uint8_t opcode, uint32_t cdw0, uint32_t cdw1)
{
    struct drv_core *core = op->core;
    struct hba_sq_entry e;
    adm_entry(&e, opcode);
    e.u.cdw[0] = cdw0;
    e.u.cdw[1] = cdw1;
    if (adm_submit(core, &e, core->opt.admin_timeout_ms, admin_answered, op) < 0)
        return false;
    op->admin_pending++;
    return true;
}

static void send_admin(struct tmf_op *op, uint8_t opcode, uint32_t cdw0, uint32_t cdw1)
{
    if (try_admin(op, opcode, cdw0, cdw1))
        return;
    /* The admin queue is full.  A missing abort only delays the end (the
     * command completes on its own, or its timeout escalates); a reset or a
     * nexus loss waits for a slot (see the top of this file). */
    if (opcode == HBA_ADM_ABORT)
        return;
    osal_log(op->core->os, OSAL_LOG_INFO, "drv: admin queue full: task management opcode %#x waits for a slot",
             opcode);
    op->unsent = true;
    op->unsent_opcode = opcode;
    op->unsent_cdw[0] = cdw0;
    op->unsent_cdw[1] = cdw1;
    op->core->stats.tmf_retries++;
}

void tmf_retry_unsent(struct drv_core *core)
{
    if (core_state(core) != CORE_RUNNING) {
        tmf_check(core);
        return;
    }
    if (core->resetting)
        return; /* the queues are being rebuilt: the next tick sends them */
    /* Oldest first would be fairer, but every one goes out as slots free. */
    for (struct tmf_op *op = core->tmfs; op; op = op->next) {
        if (!op->unsent)
            continue;
        if (!try_admin(op, op->unsent_opcode, op->unsent_cdw[0], op->unsent_cdw[1]))
            break; /* still full */
        op->unsent = false;
    }
    tmf_check(core); /* those a controller reset overtook end now that it is over */
}

static void tmf_start(void *arg)
{
    struct tmf_op *op = arg;
    struct drv_core *core = op->core;
    if (core_state(core) != CORE_RUNNING) {
        op->done(op->arg, -ENODEV);
        free(op);
        return;
    }
    enum drv_tmf_kind kind = op->t.kind;
    if (kind == DRV_TMF_QUERY_TASK) {
        /* A task the function set above has not ended is in the task set. */
        int rc = -ENOENT;
        for (const struct drv_io *io = core->ios; io && rc; io = io->next)
            if (io->t.task_id == op->t.task_id && !io->terminate)
                rc = 0;
        op->done(op->arg, rc);
        free(op);
        return;
    }
    bool found = false;
    struct drv_io *next;
    for (struct drv_io *io = core->ios; io; io = next) {
        next = io->next;
        if (!in_scope(&op->t, io))
            continue;
        found = true;
        io->terminate = true;
        if ((io->pending || io->deferred) && !io->nout) {
            /* Never reached the controller (or waits for TASK SET FULL to
             * pass): it ends here. */
            task_fail(core, io, DRV_SR_SERVICE_DELIVERY_FAILURE,
                      aborts_commands(kind) ? HBA_CS_ABORTED : HBA_CS_ABORTED_RESET);
        } else if (io->nout) {
            /* At the controller, a split task maybe with several pieces:
             * nothing more is sent, each piece is aborted (or ended by the
             * reset), and the last one back ends the task. */
            task_settle(core, io);
            for (unsigned i = 0; aborts_commands(kind) && i < io->nout; i++)
                send_admin(op, HBA_ADM_ABORT, io->out[i].q->qid, io->out[i].cmd->cid);
        }
    }
    if (kind == DRV_TMF_ABORT_TASK && !found)
        op->rc = -ENOENT;
    uint32_t addr = (uint32_t)op->t.target << 16 | op->t.lun;
    switch (kind) {
    case DRV_TMF_LUN_RESET:    send_admin(op, HBA_ADM_RESET, HBA_RESET_LUN, addr); break;
    case DRV_TMF_TARGET_RESET: send_admin(op, HBA_ADM_RESET, HBA_RESET_TARGET, addr); break;
    case DRV_TMF_BUS_RESET:    send_admin(op, HBA_ADM_RESET, HBA_RESET_BUS, 0); break;
    case DRV_TMF_NEXUS_LOSS:   send_admin(op, HBA_ADM_NEXUS_LOSS, op->t.initiator, 0); break;
    case DRV_TMF_CONTROLLER_RESET: {
        /* Asked for, not a symptom: it must not count towards the streak
         * after which recovery gives the controller up. */
        core->reset_streak = 0;
        core->last_reset_ns = 0;
        int rc = recovery_reset_controller(core, "task management asked for a controller reset", true, false);
        core->reset_streak = 0;
        core->last_reset_ns = 0;
        if (rc < 0)
            op->rc = rc;
        if (core_state(core) == CORE_RUNNING && !core->tick_armed)
            recovery_arm_tick(core);
        break;
    }
    default:
        break;
    }
    op->next = core->tmfs;
    core->tmfs = op;
    tmf_check(core);
    task_drain(core); /* slots the ended tasks freed */
}

int drv_core_task_mgmt(struct drv_core *core, const struct drv_tmf *tmf, drv_tmf_done done, void *arg)
{
    if (!core || !tmf || !done || tmf->kind < DRV_TMF_ABORT_TASK || tmf->kind > DRV_TMF_QUERY_TASK)
        return -EINVAL;
    if (tmf->kind == DRV_TMF_NEXUS_LOSS && tmf->initiator >= HBA_MAX_INITIATORS)
        return -EINVAL;
    int s = core_state(core);
    if (s == CORE_CREATED || s == CORE_STOPPING || s == CORE_STOPPED)
        return -ESHUTDOWN;
    struct tmf_op *op = calloc(1, sizeof *op);
    if (!op)
        return -ENOMEM;
    *op = (struct tmf_op){ .core = core, .t = *tmf, .done = done, .arg = arg };
    int rc = osal_queue_async(core->os, tmf_start, op);
    if (rc < 0)
        free(op);
    return rc;
}
