/* conformance/replay/replay_tmf.c — a TMF record of a trace through the
 * driver core's task management (drv_core_task_mgmt, through the stack's
 * core ops so a loaded core answers), and what it leaves for the judge.
 *
 *   abort-task TAG      DRV_TMF_ABORT_TASK of the task TAG names
 *   abort-task-set      DRV_TMF_ABORT_TASK_SET (the initiator's tasks at the LUN)
 *   clear-task-set      DRV_TMF_CLEAR_TASK_SET (every initiator's, at the LUN)
 *   lun-reset           DRV_TMF_LUN_RESET (the controller raises 29h/03h)
 *   target-reset        DRV_TMF_TARGET_RESET
 *   it-nexus-reset      DRV_TMF_NEXUS_LOSS (the initiator's tasks; 29h/07h)
 *   query-task TAG      DRV_TMF_QUERY_TASK
 *   clear-aca           FUNCTION REJECTED: the controller has no ACA
 *
 * The core's answer becomes the SAM-5 service response: 0 FUNCTION COMPLETE
 * (QUERY TASK: FUNCTION SUCCEEDED, the task is in the task set); -ENOENT
 * FUNCTION COMPLETE (nothing to abort; QUERY TASK: not in the task set);
 * -ENXIO INCORRECT LOGICAL UNIT NUMBER; -EIO FUNCTION REJECTED; anything
 * else SERVICE DELIVERY OR TARGET FAILURE. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conformance/replay/replay_priv.h"
#include "stack/driver_core.h"

static const struct trace_record *rec(const struct replay *rp, size_t line)
{
    return &rp->t->lines[line].record;
}

/* The CMD task `tag` names at the TMF's layer: the latest CMD with that tag
 * before the TMF (a tag is unique among outstanding commands), or NULL. */
static struct replay_task *named_task(struct replay *rp, const struct trace_record *req, size_t req_line)
{
    for (size_t l = req_line; l-- > 0;) {
        const struct trace_line *ln = &rp->t->lines[l];
        if (ln->kind != TRACE_LINE_RECORD)
            continue;
        const struct trace_record *r = &ln->record;
        if (r->verb == TRACE_VERB_CMD && r->dir == TRACE_DIR_TO_TARGET && r->layer == req->layer &&
            r->task != TRACE_NONE && !strcmp(r->tag, req->tmf.ref_tag))
            return &rp->tasks[r->task];
    }
    return NULL;
}

static enum trace_tmf_resp response_of(enum trace_tmf_fn fn, int rc)
{
    switch (rc) {
    case 0:
        return fn == TRACE_TMF_QUERY_TASK ? TRACE_TMF_FUNCTION_SUCCEEDED : TRACE_TMF_FUNCTION_COMPLETE;
    case -ENOENT:
        return TRACE_TMF_FUNCTION_COMPLETE;
    case -ENXIO:
        return TRACE_TMF_INCORRECT_LUN;
    case -EIO:
        return TRACE_TMF_FUNCTION_REJECTED;
    default:
        return TRACE_TMF_SERVICE_FAILURE;
    }
}

/* Ends the TMF task k with rc (on the dispatch queue, or the replay thread
 * when the function never reached the core). */
static void tmf_end(struct replay_task *k, int rc)
{
    struct replay *rp = k->rp;
    const struct trace_record *req = rec(rp, rp->t->tasks[k->index].request);
    uint64_t now = replay_now_ns();
    pthread_mutex_lock(&rp->lock);
    if (!rp->closing && !k->done) {
        k->tmf_resp = response_of(req->tmf.fn, rc);
        k->done_ns = now;
        k->done = true;
        if (rc < 0 && rc != -ENOENT && !k->note[0])
            snprintf(k->note, sizeof k->note, "the driver core answered the task management function with %s",
                     strerror(-rc));
        pthread_cond_broadcast(&rp->cv);
    }
    pthread_mutex_unlock(&rp->lock);
}

static void tmf_done(void *arg, int rc)
{
    tmf_end(arg, rc);
}

void replay_tmf_submit(struct replay *rp, struct replay_task *k)
{
    const struct trace_task *tk = &rp->t->tasks[k->index];
    const struct trace_record *req = rec(rp, tk->request);
    if (!rp->st) {
        snprintf(k->note, sizeof k->note, "%s", rp->engine_note);
        return;
    }
    struct trace_nexus nx = trace_record_nexus(rp->t, req);
    struct drv_tmf t = {
        .initiator = (nx.any & TRACE_ANY_HOST) ? 0 : (uint16_t)nx.host,
        .target = (nx.any & TRACE_ANY_TARGET) ? 0 : (uint16_t)nx.target,
        .lun = (nx.any & TRACE_ANY_LUN) ? 0 : (uint16_t)nx.lun,
    };
    k->submit_ns = replay_now_ns();
    k->submitted = true;
    switch (req->tmf.fn) {
    case TRACE_TMF_ABORT_TASK:
    case TRACE_TMF_QUERY_TASK: {
        struct replay_task *named = named_task(rp, req, tk->request);
        t.kind = req->tmf.fn == TRACE_TMF_ABORT_TASK ? DRV_TMF_ABORT_TASK : DRV_TMF_QUERY_TASK;
        /* replay_submit's task ids; one never submitted is no task of the core's. */
        t.task_id = named && named->submitted ? named->index + 1 : 0;
        break;
    }
    case TRACE_TMF_ABORT_TASK_SET:  t.kind = DRV_TMF_ABORT_TASK_SET; break;
    case TRACE_TMF_CLEAR_TASK_SET:  t.kind = DRV_TMF_CLEAR_TASK_SET; break;
    case TRACE_TMF_LUN_RESET:       t.kind = DRV_TMF_LUN_RESET; break;
    case TRACE_TMF_TARGET_RESET:    t.kind = DRV_TMF_TARGET_RESET; break;
    case TRACE_TMF_IT_NEXUS_RESET:  t.kind = DRV_TMF_NEXUS_LOSS; break;
    case TRACE_TMF_CLEAR_ACA:
    default:
        snprintf(k->note, sizeof k->note, "the controller has no ACA: CLEAR ACA is rejected");
        tmf_end(k, -EIO);
        return;
    }
    int rc = stack_core_ops(rp->st)->task_mgmt(stack_core(rp->st), &t, tmf_done, k);
    if (rc < 0) {
        snprintf(k->note, sizeof k->note, "the driver core refused the task management function (%s)",
                 strerror(-rc));
        tmf_end(k, rc == -ENOENT ? -EINVAL : rc);
    }
}

void replay_tmf_actual(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a)
{
    (void)rp;
    memset(a, 0, sizeof *a);
    a->submitted = k->submitted;
    a->completed = k->done;
    a->tmf = k->tmf_resp;
    a->note = k->note[0] ? k->note : NULL;
    if (k->done) {
        a->elapsed_known = true;
        a->elapsed_ns = k->done_ns - k->submit_ns;
    }
}
