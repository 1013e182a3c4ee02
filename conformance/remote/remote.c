/* conformance/remote/remote.c — replaying one trace against a real target
 * (remote.h): what such a target cannot honour (the trace is then skipped
 * with the reason), the walk over the records with the simulator replay's
 * concurrency rules, and the verdict through trace_judge_at. */
#include "conformance/remote/remote.h"
#include "conformance/remote/remote_priv.h"
#include "conformance/report/judge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/format/trace_names.h"
#include "scsi/scsi.h"

_Static_assert(REMOTE_SENSE_MAX == SCSI_SENSE_MAX, "a remote task keeps as much sense as the judge reads");

static const struct trace_record *rec(const struct trace *t, size_t line)
{
    return &t->lines[line].record;
}

/* ---- what a real target cannot do ------------------------------------------------- */

/* The first record (or @requires) a real target cannot honour, as a
 * sentence in reason; false when every record can be sent. */
static bool unsupported(const struct trace *t, const struct replay_options *o, const struct remote_ops *ops,
                        char *reason, size_t len)
{
    const char *why = NULL;
    const char *missing = replay_missing_feature(t, o, &why);
    if (missing) {
        snprintf(reason, len, "needs '%s' (%s), which a real target (%s at %s) cannot honour: only the simulator "
                 "offers it", missing, why, ops->kind, o->target);
        return true;
    }
    bool lun_seen = false, host_seen = false;
    uint64_t lun = 0;
    uint32_t host = 0;
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_RECORD)
            continue;
        const struct trace_record *r = &l->record;
        unsigned ln = l->lineno;
        if (r->verb == TRACE_VERB_DIRECTIVE) {
            const struct trace_directive *d = &r->directive;
            if (d->kind == TRACE_DIR_RESET && (d->reset == TRACE_RESET_BUS || d->reset == TRACE_RESET_HOST ||
                                               ops == &remote_sg_ops)) {
                snprintf(reason, len, "line %u: reset %s has no equivalent on %s at %s (only reset lun and reset "
                         "target, as iSCSI TMFs)", ln, d->reset == TRACE_RESET_BUS ? "bus" : d->reset ==
                         TRACE_RESET_HOST ? "host" : d->reset == TRACE_RESET_LUN ? "lun" : "target", ops->kind,
                         o->target);
                return true;
            }
            continue;
        }
        if (r->verb == TRACE_VERB_TMF && r->dir == TRACE_DIR_TO_TARGET &&
            (r->tmf.fn == TRACE_TMF_QUERY_TASK || r->tmf.fn == TRACE_TMF_IT_NEXUS_RESET)) {
            snprintf(reason, len, "line %u: TMF %s: libiscsi has no call for it, so %s cannot send it", ln,
                     trace_word(&trace_tmf_fn_words, r->tmf.fn), ops->kind);
            return true;
        }
        struct trace_nexus nx = trace_record_nexus(t, r);
        if (!(nx.any & TRACE_ANY_TARGET) && nx.target != 0) {
            snprintf(reason, len, "line %u: addresses target %" PRIu32 "; --target names one target, which is the "
                     "trace's target 0", ln, nx.target);
            return true;
        }
        if (!(nx.any & TRACE_ANY_LUN)) {
            if (lun_seen && nx.lun != lun) {
                snprintf(reason, len, "line %u: addresses LUN %" PRIu64 " after LUN %" PRIu64 "; --target names "
                         "one LUN, which stands for the trace's only one", ln, nx.lun, lun);
                return true;
            }
            lun_seen = true;
            lun = nx.lun;
        }
        if (ops == &remote_sg_ops && !(nx.any & TRACE_ANY_HOST)) {
            if (host_seen && nx.host != host) {
                snprintf(reason, len, "line %u: a second initiator (host %" PRIu32 "); a SCSI generic device is "
                         "reached as one initiator, this host", ln, nx.host);
                return true;
            }
            host_seen = true;
            host = nx.host;
        }
    }
    return false;
}

/* ---- the walk ------------------------------------------------------------------------ */

static uint32_t initiator_of(const struct trace *t, const struct trace_record *r)
{
    struct trace_nexus nx = trace_record_nexus(t, r);
    return (nx.any & TRACE_ANY_HOST) ? 0 : nx.host;
}

static uint64_t limit_ns(const struct remote *r, size_t task)
{
    uint64_t d = r->t->tasks[task].deadline_ns;
    return d ? d : r->command_timeout_ns;
}

static void submit_cmd(struct remote *r, struct remote_task *k)
{
    const struct trace_task *tk = &r->t->tasks[k->index];
    const struct trace_record *req = rec(r->t, tk->request);
    uint8_t cdb[TRACE_CDB_MAX];
    long n = trace_pattern_bytes(&req->cmd.cdb, cdb, sizeof cdb);
    if (n <= 0) {
        snprintf(k->note, sizeof k->note, "the CDB is not concrete bytes");
        return;
    }
    struct remote_cmd c = {
        .initiator = initiator_of(r->t, req), .lun = r->lun, .cdb = cdb, .cdb_len = (size_t)n,
        .dir = req->cmd.dir, .len = req->cmd.len,
    };
    k->len = c.len;
    if (c.dir == TRACE_DATA_OUT && c.len) {
        /* Every DOUT piece at its offset; zeros after a single short one. */
        if (!(k->dout = calloc(c.len, 1))) {
            snprintf(k->note, sizeof k->note, "out of memory for %" PRIu32 " bytes of data-out", c.len);
            return;
        }
        for (size_t l = tk->dout; l != TRACE_NONE; l = rec(r->t, l)->next_piece) {
            const struct trace_record *p = rec(r->t, l);
            if (p->offset > c.len || trace_pattern_bytes(&p->data, k->dout + p->offset, c.len - p->offset) < 0) {
                snprintf(k->note, sizeof k->note, "the DOUT at line %u is not concrete bytes", r->t->lines[l].lineno);
                return;
            }
        }
    }
    r->ops->submit(r, k, &c);
}

/* The task of the CMD an abort-task names: the last one before it. */
static struct remote_task *named_task(struct remote *r, const struct trace_record *req, size_t req_line)
{
    for (size_t l = req_line; l-- > 0;) {
        const struct trace_line *ln = &r->t->lines[l];
        if (ln->kind == TRACE_LINE_RECORD && ln->record.verb == TRACE_VERB_CMD &&
            ln->record.dir == TRACE_DIR_TO_TARGET && ln->record.task != TRACE_NONE &&
            !strcmp(ln->record.tag, req->tmf.ref_tag))
            return &r->tasks[ln->record.task];
    }
    return NULL;
}

static void wait_task(struct remote *r, struct remote_task *k, uint64_t budget_end)
{
    if (!k->submitted || k->done)
        return;
    uint64_t end = k->submit_ns + limit_ns(r, k->index);
    r->ops->wait(r, k, end < budget_end ? end : budget_end);
    if (!k->done && !k->note[0])
        snprintf(k->note, sizeof k->note, "no answer from the target within %.3f s",
                 (double)((end < budget_end ? end : budget_end) - k->submit_ns) / 1e9);
}

/* reset lun / reset target: the iSCSI TMF (unsupported() let no other through). */
static void directive(struct remote *r, size_t line, uint64_t budget_end)
{
    const struct trace_record *d = rec(r->t, line);
    if (d->directive.kind == TRACE_DIR_RELEASE) {
        for (size_t i = 0; i < r->t->n_tasks; i++)
            if (r->t->tasks[i].released_by == line)
                wait_task(r, &r->tasks[i], budget_end);
    } else if (d->directive.kind == TRACE_DIR_WAIT) {
        uint64_t now = remote_now_ns(), until = now + d->directive.ns;
        if (until > budget_end)
            until = budget_end;
        if (until > now) {
            struct timespec ts = { (time_t)((until - now) / 1000000000u), (long)((until - now) % 1000000000u) };
            nanosleep(&ts, NULL);
        }
    } else if (d->directive.kind == TRACE_DIR_RESET && r->ops->tmf) {
        struct remote_task k;
        memset(&k, 0, sizeof k);
        k.index = SIZE_MAX;
        r->ops->tmf(r, &k, initiator_of(r->t, d), r->lun,
                    d->directive.reset == TRACE_RESET_LUN ? TRACE_TMF_LUN_RESET : TRACE_TMF_TARGET_RESET, NULL);
        if (k.submitted)
            r->ops->wait(r, &k, remote_now_ns() + r->command_timeout_ns);
        if (!k.done || k.tmf != TRACE_TMF_FUNCTION_COMPLETE) {
            char what[32];
            snprintf(what, sizeof what, "reset at line %u: ", r->t->lines[line].lineno);
            size_t w = strlen(what);
            memcpy(r->engine_note, what, w + 1);
            snprintf(r->engine_note + w, sizeof r->engine_note - w, "%.200s",
                     k.note[0] ? k.note : "the target did not complete it");
        }
    }
}

static void walk(struct remote *r, uint64_t budget_end)
{
    const struct trace *t = r->t;
    for (size_t line = 0; line < t->n_lines; line++) {
        const struct trace_line *l = &t->lines[line];
        if (l->kind != TRACE_LINE_RECORD)
            continue;
        if (remote_now_ns() >= budget_end) {
            snprintf(r->engine_note, sizeof r->engine_note, "the trace's time budget ran out at line %u", l->lineno);
            return;
        }
        const struct trace_record *rc = &l->record;
        if (rc->verb == TRACE_VERB_DIRECTIVE) {
            directive(r, line, budget_end);
            continue;
        }
        if (rc->task == TRACE_NONE)
            continue;
        struct remote_task *k = &r->tasks[rc->task];
        if (rc->verb == TRACE_VERB_CMD && rc->dir == TRACE_DIR_TO_TARGET) {
            submit_cmd(r, k);
        } else if (rc->verb == TRACE_VERB_TMF && rc->dir == TRACE_DIR_TO_TARGET) {
            struct remote_task *ref = rc->tmf.fn == TRACE_TMF_ABORT_TASK ? named_task(r, rc, line) : NULL;
            r->ops->tmf(r, k, initiator_of(t, rc), r->lun, rc->tmf.fn, ref);
        } else if (rc->verb == TRACE_VERB_STATUS || rc->verb == TRACE_VERB_TMF) {
            wait_task(r, k, budget_end);
        }
    }
}

/* ---- the verdict --------------------------------------------------------------------- */

static void actual(const struct remote *r, const struct remote_task *k, struct trace_actual_task *a)
{
    memset(a, 0, sizeof *a);
    a->submitted = k->submitted;
    a->completed = k->done;
    a->note = k->note[0] ? k->note : r->engine_note[0] ? r->engine_note : NULL;
    if (!k->done)
        return;
    a->status = k->status;
    a->sense = k->sense_len ? k->sense : NULL;
    a->sense_len = k->sense_len;
    a->din = k->din;
    a->din_len = k->din_len;
    a->resid_valid = k->resid_valid;
    a->resid = k->resid;
    a->xfer = k->xfer;
    a->tmf = k->tmf;
    a->elapsed_known = true;
    a->elapsed_ns = k->done_ns - k->submit_ns;
}

int remote_replay_trace(const struct trace *t, const struct replay_options *o, struct trace_run *run)
{
    const struct remote_ops *ops = remote_ops_for(o->target);
    char reason[512];
    if (!ops) {
        remote_target_check(o->target, reason, sizeof reason);
        return trace_run_add_skip(run, t->name, t->title, reason);
    }
    if (unsupported(t, o, ops, reason, sizeof reason))
        return trace_run_add_skip(run, t->name, t->title, reason);

    struct remote r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.target = o->target;
    r.command_timeout_ns = o->command_timeout_ns ? o->command_timeout_ns : REPLAY_COMMAND_TIMEOUT_NS;
    r.ops = ops;
    r.tasks = calloc(t->n_tasks ? t->n_tasks : 1, sizeof *r.tasks);
    struct trace_actual_task *at = calloc(t->n_tasks ? t->n_tasks : 1, sizeof *at);
    if (!r.tasks || !at) {
        free(r.tasks);
        free(at);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n_tasks; i++)
        r.tasks[i].index = i;
    uint64_t start = remote_now_ns();
    uint64_t budget_end = start + (o->trace_timeout_ns ? o->trace_timeout_ns : REPLAY_TRACE_TIMEOUT_NS);
    char err[REMOTE_NOTE_MAX] = "";
    if (ops->open(&r, err, sizeof err) == 0) {
        walk(&r, budget_end);
        for (size_t i = 0; i < t->n_tasks; i++) /* held and late commands get until their own limit */
            wait_task(&r, &r.tasks[i], budget_end);
    } else {
        snprintf(r.engine_note, sizeof r.engine_note, "%s", err);
    }
    for (size_t i = 0; i < t->n_tasks; i++)
        actual(&r, &r.tasks[i], &at[i]);
    struct trace_actual a = { .tasks = at, .elapsed_ns = remote_now_ns() - start };
    int rc = -ENOMEM;
    struct trace_file_result *f = trace_run_add(run, t->name, t->title);
    if (f)
        rc = trace_judge_std(t, &a, trace_match_for(t, o->match, o->match_given), o->standard_only, f);
    ops->close(&r);
    for (size_t i = 0; i < t->n_tasks; i++) {
        free(r.tasks[i].din);
        free(r.tasks[i].dout);
    }
    free(r.tasks);
    free(at);
    return rc;
}
