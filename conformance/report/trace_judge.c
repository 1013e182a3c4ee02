/* conformance/report/trace_judge.c — see judge.h.  Every expectation of a task is
 * checked (not only the first that fails), so a report shows status, sense
 * and data together. */
#include "conformance/report/judge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/match.h"
#include "base/tbuf.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_print.h"
#include "scsi/scsi.h"

static const struct trace_record *rec(const struct trace *t, size_t line)
{
    return &t->lines[line].record;
}

static unsigned lineno(const struct trace *t, size_t line)
{
    return line == TRACE_NONE ? 0 : t->lines[line].lineno;
}

/* Marks a failure of the expectation on line `at`; the first failure names
 * the check's expect_line.  On ENOMEM the check stays failed without details. */
#define FAIL_AT(c, at, bits, ...)                            \
    do {                                                     \
        if ((c)->pass)                                       \
            (c)->expect_line = (at);                         \
        if (trace_check_fail((c), (bits), __VA_ARGS__))      \
            return -ENOMEM;                                  \
    } while (0)

static void describe_status(char *buf, size_t len, unsigned status, bool sense_valid,
                            const struct scsi_sense_info *s)
{
    const char *name = trace_status_symbol(status);
    char num[16];
    if (!name) {
        snprintf(num, sizeof num, "0x%02x", status);
        name = num;
    }
    if (status == SCSI_STATUS_CHECK_CONDITION && sense_valid) {
        struct trace_sense_spec sp = { .key = s->key, .asc = s->asc, .ascq = s->ascq };
        struct tbuf b = { 0 };
        trace_fmt_sense_spec(&b, &sp);
        snprintf(buf, len, "%s %s", name, tbuf_str(&b));
        tbuf_free(&b);
    } else {
        snprintf(buf, len, "%s", name);
    }
}

static void set_expected(struct trace_failure *f, const struct tbuf *b)
{
    if (f && !f->expected[0])
        snprintf(f->expected, sizeof f->expected, "%s", tbuf_str(b));
}

/* Whether some @drive line of the trace sets the capacity: then a real
 * device's capacity is compared even at the masks level. */
static bool capacity_pinned(const struct trace *t)
{
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_DEVICE || l->device.kind != TRACE_DEV_DRIVE)
            continue;
        for (size_t s = 0; s < l->device.n_settings; s++)
            if (!strcmp(l->device.settings[s].key, "capacity") || !strcmp(l->device.settings[s].key, "blocks"))
                return true;
    }
    return false;
}

/* The masks level: a copy of the actual data-in whose masked fields hold the
 * trace's bytes, so that the one comparison (trace_match_data) passes them
 * and still reports every other byte.  A field of any length (a VPD page's
 * serial or designators) takes the trace's length too.  *out NULL when
 * nothing is masked; -ENOMEM. */
static int mask_actual(const struct trace_pattern *exp, const struct trace_check *c, bool pinned,
                       const uint8_t *act, size_t act_len, uint8_t **out, size_t *out_len)
{
    const struct trace_mask_field *f[8];
    size_t n = trace_mask_fields(c->cdb, c->cdb_len, pinned, f, 8);
    *out = NULL;
    *out_len = act_len;
    if (!n || !act)
        return 0;
    size_t len = act_len;
    for (size_t i = 0; i < n; i++)
        if (f[i]->any_length && act_len >= f[i]->from)
            len = exp->length > f[i]->from ? exp->length : f[i]->from;
    uint8_t *b = calloc(len ? len : 1, 1);
    if (!b)
        return -ENOMEM;
    memcpy(b, act, act_len < len ? act_len : len);
    for (size_t i = 0; i < n; i++) {
        uint64_t end = f[i]->to == UINT32_MAX ? len : f[i]->to;
        for (uint64_t o = f[i]->from; o < end && o < len && o < exp->length; o++) {
            uint8_t v, m;
            trace_pattern_at(exp, o, &v, &m);
            b[o] = (uint8_t)((v & m) | (b[o] & ~m));
        }
    }
    *out = b;
    *out_len = len;
    return 0;
}

/* The status level judges what a reply means: a UNIT ATTENTION of the
 * power-on-or-reset family (ASC 29h) is one event whatever its ASCQ —
 * 29h/00h is the family's umbrella, and tgtd reports 29h/00h where the
 * simulator reports 29h/01h (power on) for a new I_T nexus. */
static bool reset_family_matches(const struct trace_status *st, const struct trace_actual_task *a)
{
    struct trace_status loose = *st; /* only the alternatives are read */
    for (size_t i = 0; i < loose.n_alts; i++) {
        struct trace_status_alt *alt = &loose.alts[i];
        if (alt->sense_given && alt->sense.key == 0x6 && !alt->sense.asc_any && alt->sense.asc == 0x29)
            alt->sense.ascq_any = true;
    }
    struct trace_status_match m;
    return trace_match_status(&loose, a->status, a->sense, a->sense_len, &m);
}

static int check_command(const struct trace *t, const struct trace_task *k, const struct trace_actual_task *a,
                         enum trace_match_level level, bool standard_only, struct trace_check *c)
{
    const struct trace_record *req = rec(t, k->request);
    struct tbuf exp = { 0 };
    int rc = 0;
    if (!a || !a->submitted) {
        FAIL_AT(c, c->line, TRACE_FAIL_NOT_RUN, "not run%s%s", a && a->note ? ": " : "", a && a->note ? a->note : "");
        goto details;
    }
    if (k->response == TRACE_NONE)
        goto details; /* ended by a TMF or a directive: whatever happened is acceptable */
    const struct trace_status *st = &rec(t, k->response)->status;
    /* --standard-only: where the record names what the standard allows
     * (standard=), that is what a device owes; resid= and the data are
     * judged as written, sense= not at all (its format and field pointer
     * are this model's choices: SPC-5 4.4 lets a device pick the format
     * and leaves the sense-key specific bytes optional). */
    struct trace_status std_view;
    if (standard_only && st->n_std_alts) {
        std_view = *st;
        std_view.n_alts = st->n_std_alts;
        memcpy(std_view.alts, st->std_alts, st->n_std_alts * sizeof st->std_alts[0]);
        st = &std_view;
    }
    unsigned st_line = lineno(t, k->response);
    trace_fmt_status_alts(&exp, st);
    if (!a->completed && trace_status_unknown(st))
        goto details; /* no response observed in the capture: a stall matches too */
    if (!a->completed) {
        FAIL_AT(c, st_line, TRACE_FAIL_NO_RESPONSE, "no STATUS: the command stalled (expected %s)", tbuf_str(&exp));
        goto details;
    }
    struct trace_status_match m;
    if (!trace_match_status(st, a->status, a->sense, a->sense_len, &m) &&
        !(level == TRACE_MATCH_STATUS && reset_family_matches(st, a))) {
        char actual[96];
        describe_status(actual, sizeof actual, a->status, m.sense_valid, &m.sense);
        FAIL_AT(c, st_line, TRACE_FAIL_STATUS, "status: expected %s, got %s", tbuf_str(&exp), actual);
    }
    if (level == TRACE_MATCH_STATUS)
        goto timing; /* status and sense key/ASC/ASCQ only */
    if (st->sense_pattern_given && !standard_only) {
        struct trace_data_diff d;
        trace_match_data(&st->sense_pattern, a->sense, a->sense ? a->sense_len : 0, &d);
        if (!d.match) {
            FAIL_AT(c, st_line, TRACE_FAIL_SENSE_BYTES, "sense bytes differ from sense= (%" PRIu64 " differ, first at offset %" PRIu64 ")",
                 d.differing, d.ranges[0].offset);
            c->detail->sense_diff = d;
        }
    }
    /* A masked field of any length (a VPD page's serial) moves the
     * transfer's length with it: resid= and xfer= cannot hold then. */
    bool length_masked = false;
    if (level == TRACE_MATCH_MASKS) {
        const struct trace_mask_field *f[8];
        size_t n = trace_mask_fields(c->cdb, c->cdb_len, capacity_pinned(t), f, 8);
        for (size_t i = 0; i < n && i < 8; i++)
            length_masked |= f[i]->any_length;
    }
    if (length_masked)
        goto data;
    if (st->resid_given && (!a->resid_valid || a->resid != st->resid)) {
        if (a->resid_valid)
            FAIL_AT(c, st_line, TRACE_FAIL_RESID, "resid: expected %" PRIu32 ", got %" PRIu32, st->resid, a->resid);
        else
            FAIL_AT(c, st_line, TRACE_FAIL_RESID, "resid: expected %" PRIu32 ", none reported", st->resid);
    }
    if (st->xfer_given && a->xfer != st->xfer)
        FAIL_AT(c, st_line, TRACE_FAIL_XFER, "xfer: expected %" PRIu32 " bytes transferred, got %" PRIu64, st->xfer, a->xfer);
data:
    if (k->din != TRACE_NONE && !a->din_raced_ok) {
        /* The DIN pieces as one pattern: offsets are in the whole transfer. */
        struct trace_data_diff d;
        struct trace_pattern din;
        if (trace_data_view(t, k->din, &din)) {
            tbuf_free(&exp);
            return -ENOMEM;
        }
        uint8_t *masked = NULL;
        size_t masked_len = 0;
        if (level == TRACE_MATCH_MASKS &&
            mask_actual(&din, c, capacity_pinned(t), a->din, a->din ? a->din_len : 0, &masked, &masked_len)) {
            trace_data_view_free(&din);
            tbuf_free(&exp);
            return -ENOMEM;
        }
        if (masked)
            trace_match_data(&din, masked, masked_len, &d);
        else
            trace_match_data(&din, a->din, a->din ? a->din_len : 0, &d);
        free(masked);
        trace_data_view_free(&din);
        if (!d.match) {
            unsigned at = lineno(t, trace_data_piece_at(t, k->din, d.ranges[0].offset));
            if (d.differing)
                FAIL_AT(c, at, TRACE_FAIL_DATA, "data-in: %" PRIu64 " byte(s) differ, first at offset %" PRIu64, d.differing,
                     d.ranges[0].offset);
            else if (d.too_short)
                FAIL_AT(c, at, TRACE_FAIL_DATA, "data-in: %" PRIu64 " bytes received, the trace expects %" PRIu64,
                     d.actual_len, d.expected_len);
            else
                FAIL_AT(c, at, TRACE_FAIL_DATA, "data-in: %" PRIu64 " bytes received, the trace expects %" PRIu64
                     " (no '..')", d.actual_len, d.expected_len);
            c->detail->data = d;
            c->detail->data_line = at;
        }
    }
    if (req->layer == 'C') {
        struct trace_data_diff d;
        if (a->cdb) {
            trace_match_data(&req->cmd.cdb, a->cdb, a->cdb_len, &d);
            if (!d.match) {
                FAIL_AT(c, c->line, TRACE_FAIL_CDB, "CDB at the controller differs from the trace");
                c->detail->cdb = d;
            }
        }
        if (req->cmd.attr_given && a->attr_seen && a->attr != req->cmd.attr)
            FAIL_AT(c, c->line, TRACE_FAIL_ATTR, "task attribute at the controller: expected %s, got %s",
                    trace_word(&trace_attr_words, req->cmd.attr), trace_word(&trace_attr_words, a->attr));
        if (k->dout != TRACE_NONE && a->dout) {
            struct trace_pattern dout;
            if (trace_data_view(t, k->dout, &dout)) {
                tbuf_free(&exp);
                return -ENOMEM;
            }
            trace_match_data(&dout, a->dout, a->dout_len, &d);
            trace_data_view_free(&dout);
            if (!d.match) {
                unsigned at = lineno(t, trace_data_piece_at(t, k->dout, d.ranges[0].offset));
                FAIL_AT(c, at, TRACE_FAIL_DOUT, "data-out read by the controller: %" PRIu64 " byte(s) differ", d.differing);
                c->detail->dout = d;
            }
        }
    }
timing:
    if (k->within != TRACE_NONE && a->elapsed_known && a->elapsed_ns > k->deadline_ns) {
        struct tbuf s1 = { 0 }, s2 = { 0 };
        trace_fmt_seconds(&s1, a->elapsed_ns, 0);
        trace_fmt_seconds(&s2, k->deadline_ns, 0);
        if (c->pass)
            c->expect_line = st_line;
        if (trace_check_fail(c, TRACE_FAIL_DEADLINE, "answered after %s s; the within at line %u allows %s s",
                             tbuf_str(&s1), lineno(t, k->within), tbuf_str(&s2)))
            rc = -ENOMEM;
        else
            c->detail->deadline_ns = k->deadline_ns;
        tbuf_free(&s1);
        tbuf_free(&s2);
    }
details:
    if (!c->pass && c->detail && a) {
        struct trace_failure *f = c->detail;
        set_expected(f, &exp);
        f->completed = a->completed;
        f->status = a->status;
        if (a->sense && a->sense_len) {
            f->sense_len = a->sense_len < SCSI_SENSE_MAX ? a->sense_len : SCSI_SENSE_MAX;
            memcpy(f->sense_bytes, a->sense, f->sense_len);
            f->sense_valid = scsi_sense_parse(a->sense, a->sense_len, &f->sense);
        }
        if (k->response != TRACE_NONE) {
            const struct trace_status *st2 = &rec(t, k->response)->status;
            f->resid_expected = st2->resid_given;
            f->expected_resid = st2->resid;
            f->xfer_expected = st2->xfer_given;
            f->expected_xfer = st2->xfer;
        }
        f->resid_valid = a->resid_valid;
        f->actual_resid = a->resid;
        f->actual_xfer = a->xfer;
        if (a->note)
            snprintf(f->note, sizeof f->note, "%s", a->note);
    }
    tbuf_free(&exp);
    return rc;
}

static int check_tmf(const struct trace *t, const struct trace_task *k, const struct trace_actual_task *a,
                     struct trace_check *c)
{
    struct tbuf exp = { 0 };
    if (k->response != TRACE_NONE)
        trace_fmt_tmf_resps(&exp, &rec(t, k->response)->tmf);
    int rc = 0;
    if (!a || !a->submitted)
        rc = trace_check_fail(c, TRACE_FAIL_NOT_RUN, "TMF not run%s%s", a && a->note ? ": " : "",
                              a && a->note ? a->note : "");
    else if (k->response == TRACE_NONE)
        ;
    else if (!a->completed)
        rc = trace_check_fail(c, TRACE_FAIL_NO_RESPONSE, "no TMF response (expected %s)", tbuf_str(&exp));
    else if (!trace_match_tmf(&rec(t, k->response)->tmf, a->tmf))
        rc = trace_check_fail(c, TRACE_FAIL_TMF, "TMF response: expected %s, got %s", tbuf_str(&exp),
                              trace_word(&trace_tmf_resp_words, a->tmf));
    if (!c->pass && !(c->failures & TRACE_FAIL_NOT_RUN))
        c->expect_line = lineno(t, k->response);
    if (!c->pass && c->detail) {
        set_expected(c->detail, &exp);
        c->detail->completed = a && a->completed;
        c->detail->tmf = a ? a->tmf : TRACE_TMF_FUNCTION_COMPLETE;
        if (a && a->note)
            snprintf(c->detail->note, sizeof c->detail->note, "%s", a->note);
    }
    tbuf_free(&exp);
    return rc ? -ENOMEM : 0;
}

static int check_media(const struct trace *t, size_t line, const struct trace_actual *a, struct trace_check *c)
{
    const struct trace_directive *d = &rec(t, line)->directive;
    const struct trace_actual_media *m = NULL;
    for (size_t i = 0; i < a->n_media; i++)
        if (a->media[i].line == line)
            m = &a->media[i];
    const char *want = trace_word(&trace_media_words, d->expect);
    int rc = 0;
    if (!m || !m->checked) {
        rc = trace_check_fail(c, TRACE_FAIL_NOT_RUN, "check-media not run");
    } else {
        const struct sim_oracle_report *r = &m->report;
        bool ok = r->durable_lost == 0 && (d->expect != TRACE_MEDIA_INTACT || r->volatile_lost == 0) &&
                  (d->expect != TRACE_MEDIA_LOST_UNFLUSHED || r->volatile_lost > 0);
        if (!ok) {
            struct tbuf where = { 0 };
            trace_media_ranges_text(&where, r, r->durable_lost != 0);
            if (r->durable_lost)
                rc = trace_check_fail(c, TRACE_FAIL_MEDIA, "media: %" PRIu64 " block(s) promised durable were lost "
                                      "(%s); expected %s", r->durable_lost, tbuf_str(&where), want);
            else if (d->expect == TRACE_MEDIA_INTACT)
                rc = trace_check_fail(c, TRACE_FAIL_MEDIA, "media: %" PRIu64 " unflushed block(s) lost (%s); "
                                      "expected intact", r->volatile_lost, tbuf_str(&where));
            else
                rc = trace_check_fail(c, TRACE_FAIL_MEDIA, "media: no unflushed block was lost; expected "
                                      "lost-unflushed (was anything left in the cache?)");
            tbuf_free(&where);
        }
    }
    if (!c->pass && c->detail) {
        snprintf(c->detail->expected, sizeof c->detail->expected, "%s", want);
        if (m)
            c->detail->media = m->report;
    }
    return rc ? -ENOMEM : 0;
}

static int check_controller(size_t line, const struct trace_actual *a, struct trace_check *c)
{
    const struct trace_actual_verdict *v = NULL;
    for (size_t i = 0; i < a->n_verdicts; i++)
        if (a->verdicts[i].line == line)
            v = &a->verdicts[i];
    int rc = 0;
    if (!v)
        rc = trace_check_fail(c, TRACE_FAIL_NOT_RUN, "directive not run");
    else if (!v->ran)
        rc = trace_check_fail(c, TRACE_FAIL_NOT_RUN, "directive not run: %s", v->msg);
    else if (!v->pass)
        rc = trace_check_fail(c, TRACE_FAIL_CONTROLLER, "%s", v->msg);
    if (!c->pass && c->detail && v)
        snprintf(c->detail->expected, sizeof c->detail->expected, "%s", v->expected);
    return rc ? -ENOMEM : 0;
}

/* A discover directive: what the driver core found, in the directive's
 * canonical words, against what the trace wrote. */
static int check_discovery(const struct trace *t, size_t line, const struct trace_actual *a, struct trace_check *c)
{
    const struct trace_record *r = rec(t, line);
    const struct trace_actual_disc *m = NULL;
    for (size_t i = 0; i < a->n_discs; i++)
        if (a->discs[i].line == line)
            m = &a->discs[i];
    struct tbuf want = { 0 };
    trace_directive_ops(r->directive.kind)->print(&want, &r->directive);
    const char *w = tbuf_str(&want);
    w += *w == ' '; /* print writes a blank before the arguments */
    int rc = 0;
    if (!m || !m->ran)
        rc = trace_check_fail(c, TRACE_FAIL_NOT_RUN, "discover not run%s%s", m && m->note[0] ? ": " : "",
                              m ? m->note : "");
    else if (strcmp(w, m->found))
        rc = trace_check_fail(c, TRACE_FAIL_DISCOVERY, "discovery: expected %s, the driver core found %s", w,
                              m->found);
    if (!c->pass && c->detail) {
        snprintf(c->detail->expected, sizeof c->detail->expected, "%s", w);
        snprintf(c->detail->note, sizeof c->detail->note, "%s", m && m->ran ? m->found : "(not run)");
    }
    tbuf_free(&want);
    return rc ? -ENOMEM : 0;
}

int trace_judge(const struct trace *t, const struct trace_actual *a, struct trace_file_result *out)
{
    return trace_judge_at(t, a, TRACE_MATCH_EXACT, out);
}

int trace_judge_at(const struct trace *t, const struct trace_actual *a, enum trace_match_level level,
                   struct trace_file_result *out)
{
    return trace_judge_std(t, a, level, false, out);
}

int trace_judge_std(const struct trace *t, const struct trace_actual *a, enum trace_match_level level,
                    bool standard_only, struct trace_file_result *out)
{
    out->elapsed_ns = a->elapsed_ns;
    /* Checks in file order: tasks by their request line, media checks by theirs. */
    size_t next_task = 0;
    for (size_t line = 0; line < t->n_lines; line++) {
        const struct trace_line *l = &t->lines[line];
        if (l->kind != TRACE_LINE_RECORD)
            continue;
        const struct trace_record *r = &l->record;
        bool media = r->verb == TRACE_VERB_DIRECTIVE && r->directive.kind == TRACE_DIR_CHECK_MEDIA;
        /* rogue and events (the driver core's reports): one verdict each */
        bool verdict = r->verb == TRACE_VERB_DIRECTIVE &&
                     (r->directive.kind == TRACE_DIR_ROGUE || r->directive.kind == TRACE_DIR_EVENTS);
        bool disc = r->verb == TRACE_VERB_DIRECTIVE && r->directive.kind == TRACE_DIR_DISCOVER;
        bool request = next_task < t->n_tasks && t->tasks[next_task].request == line;
        /* Any other directive is a check only when the replay could not
         * carry it out (media, rogue and discover report that themselves). */
        const struct trace_actual_problem *problem = NULL;
        if (r->verb == TRACE_VERB_DIRECTIVE && !media && !verdict && !disc)
            for (size_t i = 0; i < a->n_problems; i++)
                if (a->problems[i].line == line)
                    problem = &a->problems[i];
        if (!media && !verdict && !disc && !request && !problem)
            continue;
        struct trace_check *c = trace_file_add_check(out);
        if (!c)
            return -ENOMEM;
        c->line = c->expect_line = l->lineno;
        c->layer = r->layer;
        int rc;
        if (media) {
            c->kind = TRACE_CHECK_MEDIA;
            rc = check_media(t, line, a, c);
        } else if (verdict) {
            c->kind = TRACE_CHECK_CONTROLLER;
            if (r->directive.kind == TRACE_DIR_EVENTS) /* named apart from rogue in reports */
                snprintf(c->tag, sizeof c->tag, "events");
            rc = check_controller(line, a, c);
        } else if (disc) {
            c->kind = TRACE_CHECK_DISCOVERY;
            rc = check_discovery(t, line, a, c);
        } else if (problem) {
            c->kind = TRACE_CHECK_DIRECTIVE;
            rc = trace_check_fail(c, TRACE_FAIL_DIRECTIVE, "the directive could not be carried out: %s", problem->msg)
                     ? -ENOMEM
                     : 0;
        } else {
            const struct trace_task *k = &t->tasks[next_task];
            const struct trace_actual_task *at = a->tasks ? &a->tasks[next_task] : NULL;
            next_task++;
            snprintf(c->tag, sizeof c->tag, "%s", r->tag);
            if (at && at->elapsed_known) {
                c->elapsed_known = true;
                c->elapsed_ns = at->elapsed_ns;
            }
            if (r->verb == TRACE_VERB_CMD) {
                c->kind = TRACE_CHECK_COMMAND;
                for (uint64_t i = 0; i < r->cmd.cdb.length && i < TRACE_CDB_MAX; i++) {
                    uint8_t v, m;
                    trace_pattern_at(&r->cmd.cdb, i, &v, &m);
                    c->cdb[i] = v;
                }
                c->cdb_len = (uint8_t)r->cmd.cdb.length;
                rc = check_command(t, k, at, level, standard_only, c);
            } else {
                c->kind = TRACE_CHECK_TMF;
                rc = check_tmf(t, k, at, c);
            }
        }
        if (rc)
            return rc;
        if (!c->pass)
            out->outcome = TRACE_OUTCOME_FAIL;
    }
    return 0;
}
