/* conformance/replay/replay.c — replaying one trace (see replay.h): what this
 * target can do, the walk over the records, the notes that explain failures,
 * and the verdict. */
#include "conformance/replay/replay.h"
#include "conformance/replay/replay_watch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/remote/remote.h"
#include "conformance/replay/replay_priv.h"
#include "sim/sim.h"
#include "sim/store/media_file.h"

void replay_options_init(struct replay_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = STACK_IN_PROCESS;
    o->command_timeout_ns = REPLAY_COMMAND_TIMEOUT_NS;
    o->trace_timeout_ns = REPLAY_TRACE_TIMEOUT_NS;
    o->driver_timeout_ms = REPLAY_DRIVER_TIMEOUT_MS;
    o->cpu_pin = true;
}

/* ---- features --------------------------------------------------------------- */

/* What the in-process simulator offers.  Not offered: "controller-hold"
 * (hold / release at layer C: the simulator cannot hold one command). */
static const char *const in_process_features[] = {
    "simulator", "power-cycle", "fault-injection", "media-check", "controller-layer", "tmf", NULL,
};
/* A controller in another process offers the same test control through the
 * stack (power, injection, the oracle, unit attentions), but not the command
 * tap that shows layer C: it calls back into the replay for every command,
 * which does not cross processes. */
static const char *const two_process_features[] = {
    "simulator", "power-cycle", "fault-injection", "media-check", "tmf", NULL,
};

bool replay_has_feature(const struct replay_options *o, const char *feature)
{
    if (o && o->target)
        return remote_has_feature(o->target, feature);
    const char *const *list = o && o->mode != STACK_IN_PROCESS ? two_process_features : in_process_features;
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], feature))
            return true;
    return false;
}

/* Why this target lacks a feature, when there is more to say than its name. */
static const char *feature_gap(const struct replay_options *o, const char *feature)
{
    if (o->mode != STACK_IN_PROCESS && !strcmp(feature, "controller-layer"))
        return "; layer C is seen through the controller's command tap, which works only in one process";
    return "";
}

/* The feature a record needs, or NULL (a directive: its row says). */
static const char *record_feature(const struct trace_record *r, const char **what)
{
    if (r->verb == TRACE_VERB_TMF) {
        *what = "a TMF record";
        return "tmf";
    }
    if (r->verb != TRACE_VERB_DIRECTIVE) {
        if (r->layer == TRACE_LAYER_CONTROLLER) {
            *what = "a record at layer C";
            return "controller-layer";
        }
        return NULL;
    }
    const struct trace_directive_ops *ops = trace_directive_ops(r->directive.kind);
    return ops && ops->needs ? ops->needs(r, what) : NULL;
}

const char *replay_missing_feature(const struct trace *t, const struct replay_options *o, const char **why)
{
    static const char declared[] = "declared with @requires";
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_DEVICE || l->device.kind != TRACE_DEV_REQUIRES)
            continue;
        for (size_t w = 0; w < l->device.n_words; w++)
            if (!replay_has_feature(o, l->device.words[w])) {
                if (why)
                    *why = declared;
                return l->device.words[w];
            }
    }
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        const char *what = NULL;
        const char *f = l->kind == TRACE_LINE_RECORD ? record_feature(&l->record, &what) : NULL;
        if (f && !replay_has_feature(o, f)) {
            if (why)
                *why = what;
            return f;
        }
    }
    return NULL;
}

/* ---- notes ------------------------------------------------------------------ */

static const char *fault_reason(uint8_t r)
{
    switch (r) {
    case HBA_IOMMU_UNMAPPED: return "no mapping for the IOVA";
    case HBA_IOMMU_READ_ONLY: return "device write to a device-read-only mapping";
    case HBA_IOMMU_WRITE_ONLY: return "device read of a device-write-only mapping";
    case HBA_IOMMU_BEYOND_RAM: return "the mapping points outside host RAM";
    case HBA_IOMMU_BAD_ENTRY: return "a malformed entry in the IOMMU's translation tables";
    default: return "IOMMU fault";
    }
}

static void seconds(char *buf, size_t len, uint64_t ns)
{
    snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, ns / 1000000000u, ns / 1000000u % 1000u);
}

/* Appends src to the string in dst (cap bytes), cut short if it must be. */
static void append(char *dst, size_t cap, const char *src)
{
    size_t used = strlen(dst), n = strlen(src);
    if (used + 1 >= cap)
        return;
    if (n > cap - used - 1)
        n = cap - used - 1;
    memcpy(dst + used, src, n);
    dst[used + n] = '\0';
}

static bool xfer_error(const struct replay_task *k)
{
    return k->done && k->c.response != DRV_SR_TASK_COMPLETE &&
           (k->c.ctrl_status == HBA_CS_DATA_XFER_ERROR || k->c.ctrl_status == HBA_CS_SENSE_XFER_ERROR);
}

/* An IOMMU fault reaches the replay as an event after the fact (the driver
 * reads the fault log).  It belongs to the earliest command that failed with
 * a transfer error and has no fault yet (abort policy), else to the last
 * command submitted before it (drop policy: the command itself succeeded). */
static void note_faults(struct replay *rp)
{
    for (size_t f = 0; f < rp->n_faults; f++) {
        struct replay_task *owner = NULL;
        for (size_t i = 0; i < rp->t->n_tasks; i++) {
            struct replay_task *k = &rp->tasks[i];
            if (k->submitted && !k->fault_noted && xfer_error(k) && k->submit_ns <= rp->faults[f].at_ns &&
                (!owner || k->submit_ns < owner->submit_ns))
                owner = k;
        }
        for (size_t i = 0; !owner && i < rp->t->n_tasks; i++) {
            struct replay_task *k = &rp->tasks[i];
            if (k->submitted && k->submit_ns <= rp->faults[f].at_ns && (!owner || k->submit_ns > owner->submit_ns))
                owner = k;
        }
        if (!owner || owner->fault_noted)
            continue;
        owner->fault_noted = true;
        const struct hba_iommu_fault *x = &rp->faults[f].f;
        char text[REPLAY_NOTE_MAX];
        snprintf(text, sizeof text, "IOMMU fault: IOVA %#" PRIx64 ", %u bytes, device %s, %s", x->iova, x->length,
                 x->dir == HBA_DMA_FROM_DEVICE ? "write" : "read", fault_reason(x->reason));
        if (owner->note[0]) {
            append(text, sizeof text, "; ");
            append(text, sizeof text, owner->note);
        }
        snprintf(owner->note, sizeof owner->note, "%s", text);
    }
}

/* Gives every task that went wrong and has no explanation of its own the
 * best one the replay has: the deadline it missed with the driver's last
 * complaint, the exhausted time budget, the reason the stack is missing. */
static void finish_notes(struct replay *rp)
{
    note_faults(rp);
    for (size_t i = 0; i < rp->t->n_tasks; i++) {
        struct replay_task *k = &rp->tasks[i];
        const struct trace_task *tk = &rp->t->tasks[i];
        if (k->note[0] || k->done)
            continue;
        if (!k->submitted) {
            if (rp->out_of_time) {
                char s[32];
                seconds(s, sizeof s, rp->o.trace_timeout_ns);
                snprintf(k->note, sizeof k->note, "the trace's time budget of %s s ran out at line %u", s,
                         rp->out_of_time_line);
            } else if (rp->engine_note[0]) {
                snprintf(k->note, sizeof k->note, "%s", rp->engine_note);
            }
            continue;
        }
        char s[32];
        seconds(s, sizeof s, k->limit_ns);
        const char *src = tk->within != TRACE_NONE ? "its within" : rp->t->timeout_ns ? "@timeout" : "the replay's default";
        snprintf(k->note, sizeof k->note, "no completion within %s s (%s)", s, src);
        if (rp->last_log[0] && rp->last_log_ns >= k->submit_ns) {
            append(k->note, sizeof k->note, "; driver: ");
            append(k->note, sizeof k->note, rp->last_log);
        } else if (rp->engine_note[0]) {
            append(k->note, sizeof k->note, "; ");
            append(k->note, sizeof k->note, rp->engine_note);
        }
    }
}

/* ---- the walk ---------------------------------------------------------------- */

/* Concurrency as the trace has it: a CMD is submitted where it stands and
 * the replay goes on; it waits for a command where its STATUS stands.  So
 * the commands between a CMD and its STATUS in the file are in flight
 * together in the replay too (per nexus and across nexuses: never more than
 * the trace had), a command whose STATUS comes before another's CMD has
 * completed before that one is issued, and completions may come in any
 * order.  A trace written one command after the other (CMD, DOUT, DIN,
 * STATUS) runs one command at a time. */
static void walk(struct replay *rp)
{
    const struct trace *t = rp->t;
    for (size_t line = 0; line < t->n_lines; line++) {
        const struct trace_line *l = &t->lines[line];
        if (l->kind != TRACE_LINE_RECORD)
            continue;
        if (replay_out_of_time(rp, l->lineno))
            return;
        const struct trace_record *r = &l->record;
        replay_watch_line(l->lineno);
        if (r->verb == TRACE_VERB_DIRECTIVE) {
            replay_directive(rp, line);
            continue;
        }
        if (r->layer == TRACE_LAYER_CONTROLLER || r->task == TRACE_NONE)
            continue; /* layer C is judged from the command tap */
        struct replay_task *k = &rp->tasks[r->task];
        if (r->verb == TRACE_VERB_CMD && r->dir == TRACE_DIR_TO_TARGET)
            replay_submit(rp, k);
        else if (r->verb == TRACE_VERB_TMF && r->dir == TRACE_DIR_TO_TARGET)
            replay_tmf_submit(rp, k);
        else if ((r->verb == TRACE_VERB_STATUS || r->verb == TRACE_VERB_TMF) && k->submitted && !k->reaped)
            replay_wait(rp, k);
        /* DOUT went with its CMD; DIN is judged at the end. */
    }
}

/* Commands still out (held ones, late ones) get until their own limit. */
static void drain(struct replay *rp)
{
    for (size_t i = 0; i < rp->t->n_tasks; i++) {
        struct replay_task *k = &rp->tasks[i];
        if (k->submitted && !k->reaped)
            replay_wait(rp, k);
    }
}

static int judge(struct replay *rp, struct trace_run *run)
{
    const struct trace *t = rp->t;
    struct trace_actual_task *at = calloc(t->n_tasks ? t->n_tasks : 1, sizeof *at);
    if (!at)
        return -ENOMEM;
    replay_judge_races(rp);
    for (size_t i = 0; i < t->n_tasks; i++)
        if (!replay_observed(rp, &rp->tasks[i], &at[i]))
            replay_actual(rp, &rp->tasks[i], &at[i]);
    struct trace_actual a = {
        .tasks = at, .media = rp->media, .n_media = rp->n_media,
        .verdicts = rp->verdicts, .n_verdicts = rp->n_verdicts, .discs = rp->discs, .n_discs = rp->n_discs,
        .problems = rp->problems, .n_problems = rp->n_problems,
        .elapsed_ns = replay_now_ns() - rp->start_ns,
    };
    int rc = -ENOMEM;
    struct trace_file_result *f = trace_run_add(run, t->name, t->title);
    if (f)
        rc = trace_judge_std(t, &a, trace_match_for(t, rp->o.match, rp->o.match_given), rp->o.standard_only, f);
    free(at);
    return rc;
}

static void replay_free(struct replay *rp)
{
    for (size_t i = 0; rp->tasks && i < rp->t->n_tasks; i++)
        free(rp->tasks[i].din);
    for (size_t i = 0; i < rp->n_seen; i++)
        free(rp->seen[i].data);
    free(rp->seen);
    free(rp->tasks);
    free(rp->media);
    free(rp->verdicts);
    free(rp->discs);
    free(rp->problems);
    free(rp->lost_targets);
    if (rp->cfg_ok)
        sim_config_free(&rp->cfg);
    if (rp->media_subdir[0])
        sim_media_private_subdir_remove(rp->media_subdir);
    pthread_cond_destroy(&rp->cv);
    pthread_mutex_destroy(&rp->lock);
}

static int replay_one(const struct trace *t, const struct replay_options *o, struct trace_run *run);

/* --standard-only: a trace that is not marked standard is not run.  The
 * reason says which kind it is, so a report never reads it as a pass. */
static bool skip_for_basis(const struct trace *t, const struct replay_options *o, char *reason, size_t len)
{
    if (!o->standard_only || t->basis == TRACE_BASIS_STANDARD)
        return false;
    if (t->basis == TRACE_BASIS_MODEL)
        snprintf(reason, len, "model behaviour (--standard-only): %s", t->lines[t->basis_line].device.text);
    else
        snprintf(reason, len, "no @basis line: not known to be required by the standard (--standard-only)");
    return true;
}

int replay_trace(const struct trace *t, const struct replay_options *o, struct trace_run *run)
{
    struct replay_options def;
    if (!o) {
        replay_options_init(&def);
        o = &def;
    }
    size_t before = run->n_files;
    char reason[512];
    int rc = skip_for_basis(t, o, reason, sizeof reason) ? trace_run_add_skip(run, t->name, t->title, reason)
                                                          : replay_one(t, o, run);
    if (rc == 0 && run->n_files > before) {
        char basis[512];
        trace_basis_text(t, basis, sizeof basis);
        rc = trace_file_set_basis(&run->files[run->n_files - 1], basis);
    }
    return rc;
}

static int replay_one(const struct trace *t, const struct replay_options *o, struct trace_run *run)
{
    if (o->target)
        return remote_replay_trace(t, o, run);
    const char *why = NULL;
    const char *missing = replay_missing_feature(t, o, &why);
    if (missing) {
        char reason[256];
        snprintf(reason, sizeof reason, "needs '%s' (%s), which this replay target (%s) does not offer%s", missing,
                 why, o->mode == STACK_IN_PROCESS ? "the in-process simulator" : "a controller in another process",
                 feature_gap(o, missing));
        return trace_run_add_skip(run, t->name, t->title, reason);
    }

    struct replay rp;
    memset(&rp, 0, sizeof rp);
    rp.t = t;
    rp.o = *o;
    if (!rp.o.command_timeout_ns)
        rp.o.command_timeout_ns = REPLAY_COMMAND_TIMEOUT_NS;
    if (!rp.o.trace_timeout_ns)
        rp.o.trace_timeout_ns = REPLAY_TRACE_TIMEOUT_NS;
    if (!rp.o.driver_timeout_ms)
        rp.o.driver_timeout_ms = REPLAY_DRIVER_TIMEOUT_MS;
    pthread_mutex_init(&rp.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rp.cv, &ca);
    pthread_condattr_destroy(&ca);
    rp.tasks = calloc(t->n_tasks ? t->n_tasks : 1, sizeof *rp.tasks);
    if (!rp.tasks) {
        replay_free(&rp);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n_tasks; i++) {
        rp.tasks[i].rp = &rp;
        rp.tasks[i].index = i;
        rp.tasks[i].limit_ns = t->tasks[i].deadline_ns ? t->tasks[i].deadline_ns : rp.o.command_timeout_ns;
    }
    rp.start_ns = replay_now_ns();
    rp.budget_end_ns = rp.start_ns + rp.o.trace_timeout_ns;

    replay_open(&rp);
    walk(&rp);
    drain(&rp);
    finish_notes(&rp);
    replay_close(&rp);
    replay_observe_match(&rp);
    int rc = judge(&rp, run);
    replay_free(&rp);
    return rc;
}

int replay_file(const char *path, const struct replay_options *o, struct trace_run *run)
{
    struct trace *t = NULL;
    struct located_error err;
    int rc = trace_parse_file(path, &t, &err);
    if (rc < 0) {
        if (rc == -ENOMEM)
            return rc;
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        return trace_run_add_unusable(run, path, msg);
    }
    size_t records = 0;
    for (size_t i = 0; i < t->n_lines; i++)
        records += t->lines[i].kind == TRACE_LINE_RECORD;
    if (records == 0) {
        /* Nothing to check would read as a pass: a truncated or wrong file. */
        trace_free(t);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: error: the trace has no records (no CMD, TMF or directive line), so it "
                 "checks nothing; add records or leave the file out", path);
        return trace_run_add_unusable(run, path, msg);
    }
    rc = replay_trace(t, o, run);
    trace_free(t);
    return rc;
}

size_t replay_run_commands(const struct trace_run *run)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n_files; i++) {
        const struct trace_file_result *f = &run->files[i];
        for (size_t k = 0; k < f->n_checks; k++) {
            const struct trace_check *c = &f->checks[k];
            n += c->kind == TRACE_CHECK_COMMAND && c->layer != TRACE_LAYER_CONTROLLER &&
                 !(c->failures & TRACE_FAIL_NOT_RUN);
        }
    }
    return n;
}
