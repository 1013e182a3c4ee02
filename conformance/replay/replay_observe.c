/* conformance/replay/replay_observe.c — layer C: what the controller saw.  The
 * simulator's command tap (stack_set_observer) logs every SCSI command
 * the firmware took; after the replay each layer-C task of the trace is
 * matched, in file order, with the first command not yet taken whose nexus
 * it covers and whose CDB matches its pattern.  The judge then checks the
 * task's status, sense, data and residual against that command. */
#include <stdlib.h>
#include <string.h>

#include "conformance/format/match.h"
#include "conformance/replay/replay_priv.h"
#include "sim/sim.h"

/* Data kept per command and in all (the rest is "not observed"): enough for
 * any trace that checks what the controller read or wrote. */
#define SEEN_DATA_MAX  (1u << 20)
#define SEEN_TOTAL_MAX (64u << 20)

/* On the firmware thread. */
static void on_seen(void *arg, const struct sim_cmd_seen *s)
{
    struct replay *rp = arg;
    if (s->initiator == REPLAY_PROBE_INITIATOR)
        return; /* the discovery's commands are not the trace's */
    pthread_mutex_lock(&rp->lock);
    if (rp->closing)
        goto out;
    if (rp->n_seen == rp->cap_seen) {
        size_t cap = rp->cap_seen ? rp->cap_seen * 2 : 32;
        struct replay_seen *p = realloc(rp->seen, cap * sizeof *p);
        if (!p)
            goto out;
        rp->seen = p;
        rp->cap_seen = cap;
    }
    struct replay_seen *x = &rp->seen[rp->n_seen++];
    memset(x, 0, sizeof *x);
    x->initiator = s->initiator;
    x->target = s->target;
    x->lun = s->lun;
    x->cdb_len = s->cdb_len <= sizeof x->cdb ? s->cdb_len : (uint8_t)sizeof x->cdb;
    memcpy(x->cdb, s->cdb, x->cdb_len);
    x->dir = s->dir;
    x->attr = s->attr;
    x->data_len = s->data_len;
    x->completed = s->completed;
    x->ctrl_status = s->ctrl_status;
    x->scsi_status = s->scsi_status;
    x->xfer = s->xfer;
    x->sense_len = s->sense_len <= sizeof x->sense ? s->sense_len : (uint8_t)sizeof x->sense;
    if (s->sense && x->sense_len)
        memcpy(x->sense, s->sense, x->sense_len);
    uint32_t n = s->dir == HBA_FLAG_DIR_WRITE ? s->data_len : s->xfer;
    if (s->data && n <= SEEN_DATA_MAX && rp->seen_bytes + n <= SEEN_TOTAL_MAX && (x->data = malloc(n ? n : 1))) {
        memcpy(x->data, s->data, n);
        x->data_bytes = n;
        x->data_kept = true;
        rp->seen_bytes += n;
    }
out:
    pthread_mutex_unlock(&rp->lock);
}

static bool uses_layer_c(const struct trace *t)
{
    for (size_t i = 0; i < t->n_tasks; i++)
        if (t->lines[t->tasks[i].request].record.layer == TRACE_LAYER_CONTROLLER)
            return true;
    return false;
}

void replay_observe_start(struct replay *rp)
{
    /* -ENOTSUP in two processes (the tap does not cross them), where
     * replay_missing_feature has the traces that need it skipped. */
    if (uses_layer_c(rp->t))
        (void)stack_set_observer(rp->st, on_seen, rp);
}

void replay_observe_match(struct replay *rp)
{
    const struct trace *t = rp->t;
    for (size_t i = 0; i < t->n_tasks; i++) {
        struct replay_task *k = &rp->tasks[i];
        const struct trace_record *req = &t->lines[t->tasks[i].request].record;
        k->seen = SIZE_MAX;
        if (req->layer != TRACE_LAYER_CONTROLLER || req->verb != TRACE_VERB_CMD)
            continue;
        struct trace_nexus want = trace_record_nexus(t, req);
        want.any |= TRACE_ANY_CHANNEL; /* one bus: the controller has no channel */
        for (size_t j = 0; j < rp->n_seen && k->seen == SIZE_MAX; j++) {
            struct replay_seen *x = &rp->seen[j];
            struct trace_nexus got = { .host = x->initiator, .target = x->target, .lun = x->lun };
            struct trace_data_diff d;
            if (x->consumed || !trace_nexus_covers(&want, &got))
                continue;
            trace_match_data(&req->cmd.cdb, x->cdb, x->cdb_len, &d);
            if (!d.match)
                continue;
            x->consumed = true;
            k->seen = j;
        }
        if (k->seen == SIZE_MAX && !k->note[0])
            snprintf(k->note, sizeof k->note, "the controller never saw a command with this CDB at this nexus "
                     "(it saw %zu command%s from the trace in all)", rp->n_seen, rp->n_seen == 1 ? "" : "s");
    }
}

bool replay_observed(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a)
{
    if (k->seen == SIZE_MAX || k->seen >= rp->n_seen)
        return false;
    const struct replay_seen *x = &rp->seen[k->seen];
    a->submitted = true;
    a->completed = x->completed;
    a->cdb = x->cdb;
    a->cdb_len = x->cdb_len;
    a->attr_seen = true;
    a->attr = x->attr; /* HBA_ATTR_* and enum trace_task_attr are both SAM-5's order */
    if (!x->completed)
        return true;
    if (x->ctrl_status == HBA_CS_SUCCESS) {
        a->status = x->scsi_status;
        if (x->sense_len) {
            a->sense = x->sense;
            a->sense_len = x->sense_len;
        }
        a->resid_valid = x->dir != HBA_FLAG_DIR_NONE;
        a->resid = x->xfer < x->data_len ? x->data_len - x->xfer : 0;
    } else {
        a->status = TRACE_STATUS_SERVICE_FAILURE;
    }
    a->xfer = x->xfer;
    if (x->data_kept && x->dir == HBA_FLAG_DIR_WRITE) {
        a->dout = x->data;
        a->dout_len = x->data_bytes;
    } else if (x->data_kept && x->dir == HBA_FLAG_DIR_READ) {
        a->din = x->data;
        a->din_len = x->data_bytes;
    }
    return true;
}
