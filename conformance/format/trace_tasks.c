/* conformance/format/trace_tasks.c — what records mean together: tags tie a CMD to
 * its DOUT, DIN and STATUS (or a TMF request to its response) at one layer;
 * TMFs end tasks, and so do directives (through their rows' tasks functions,
 * conformance/directive/, which use the helpers here: hold/release and within
 * attach to the requests they name).  The checks here are the ones no single line can make:
 * a tag reused while outstanding, data or status for an unknown tag, a
 * command left without status at the end of the file. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"

void tp_tag_key(char *key, size_t len, char layer, const char *tag)
{
    snprintf(key, len, "%c:%s", layer, tag);
}

static int layer_index(char layer)
{
    return layer == 'H' ? 0 : layer == 'C' ? 1 : 2;
}

struct tp_within *tp_within_of(struct tp *p, char layer)
{
    return &p->within[layer_index(layer)];
}

const char *tp_layer_name(char layer)
{
    return layer == 'H' ? "H (host)" : layer == 'C' ? "C (controller)" : "W (wire)";
}

struct trace_nexus trace_record_nexus(const struct trace *t, const struct trace_record *r)
{
    return r->nexus_given ? r->nexus : t->default_nexus;
}

bool trace_nexus_covers(const struct trace_nexus *p, const struct trace_nexus *n)
{
    uint8_t any = p->any | n->any;
    return ((any & TRACE_ANY_HOST) || p->host == n->host) && ((any & TRACE_ANY_CHANNEL) || p->channel == n->channel) &&
           ((any & TRACE_ANY_TARGET) || p->target == n->target) && ((any & TRACE_ANY_LUN) || p->lun == n->lun);
}

static struct trace_record *rec(struct tp *p, size_t line)
{
    return &p->t->lines[line].record;
}

static int new_task(struct tp *p, size_t line, size_t *out)
{
    struct trace *t = p->t;
    if (t->n_tasks == p->cap_tasks) {
        size_t ncap = p->cap_tasks ? p->cap_tasks * 2 : 16;
        struct trace_task *nt = realloc(t->tasks, ncap * sizeof(*nt));
        if (!nt)
            return tp_fail(p, 1, "out of memory");
        t->tasks = nt;
        p->cap_tasks = ncap;
    }
    struct trace_task *k = &t->tasks[t->n_tasks];
    *k = (struct trace_task){ .request = line, .dout = TRACE_NONE, .din = TRACE_NONE,
                              .dout_last = TRACE_NONE, .din_last = TRACE_NONE, .response = TRACE_NONE,
                              .ended_by = TRACE_NONE, .within = TRACE_NONE, .held_by = TRACE_NONE,
                              .released_by = TRACE_NONE, .deadline_ns = t->timeout_ns };
    *out = t->n_tasks++;
    return 0;
}

void tp_end_tasks(struct tp *p, size_t by, const struct trace_nexus *scope, bool ignore_lun, bool ignore_target,
                      bool ignore_channel)
{
    struct trace_map *m = &p->open;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        struct trace_task *k = &p->t->tasks[m->slots[i].value];
        const struct trace_record *r = rec(p, k->request);
        if (r->verb != TRACE_VERB_CMD || k->ended_by != TRACE_NONE)
            continue;
        if (scope) {
            struct trace_nexus s = *scope, n = trace_record_nexus(p->t, r);
            if (ignore_lun)
                s.any |= TRACE_ANY_LUN;
            if (ignore_target)
                s.any |= TRACE_ANY_TARGET;
            if (ignore_channel)
                s.any |= TRACE_ANY_CHANNEL;
            if (!trace_nexus_covers(&s, &n))
                continue;
        }
        k->ended_by = by;
    }
}

static int request(struct tp *p, size_t line, const struct tp_tok *tag_tok)
{
    struct trace_record *r = rec(p, line);
    char key[TRACE_TAG_MAX + 4];
    tp_tag_key(key, sizeof key, r->layer, r->tag);
    size_t old;
    if (trace_map_get(&p->open, key, &old)) {
        const struct trace_task *k = &p->t->tasks[old];
        if (k->ended_by == TRACE_NONE)
            return tp_fail(p, tag_tok->col, "tag '%s' is reused while its %s from line %u is outstanding (no %s "
                           "yet); use another tag, or give line %u its %s first", r->tag,
                           rec(p, k->request)->verb == TRACE_VERB_CMD ? "command" : "TMF",
                           p->t->lines[k->request].lineno,
                           rec(p, k->request)->verb == TRACE_VERB_CMD ? "STATUS" : "response",
                           p->t->lines[k->request].lineno,
                           rec(p, k->request)->verb == TRACE_VERB_CMD ? "STATUS" : "response");
    }
    size_t ti = 0;
    if (new_task(p, line, &ti))
        return -ENOMEM;
    struct trace_task *k = &p->t->tasks[ti];
    r->task = ti;
    size_t hold;
    if (r->verb == TRACE_VERB_CMD && trace_map_get(&p->holds, key, &hold)) {
        k->held_by = hold;
        trace_map_del(&p->holds, key);
    }
    struct tp_within *w = &p->within[layer_index(r->layer)];
    if (w->line != TRACE_NONE) {
        k->within = w->line;
        k->deadline_ns = rec(p, w->line)->directive.ns;
        if (--w->remaining == 0)
            w->line = TRACE_NONE;
    }
    if (trace_map_set(&p->open, key, ti))
        return tp_fail(p, tag_tok->col, "out of memory");
    if (r->verb != TRACE_VERB_TMF)
        return 0;
    /* What the TMF ends. */
    struct trace_nexus n = trace_record_nexus(p->t, r);
    switch (r->tmf.fn) {
    case TRACE_TMF_ABORT_TASK: {
        char rkey[TRACE_TAG_MAX + 4];
        size_t target;
        tp_tag_key(rkey, sizeof rkey, r->layer, r->tmf.ref_tag);
        if (!trace_map_get(&p->open, rkey, &target) || rec(p, p->t->tasks[target].request)->verb != TRACE_VERB_CMD) {
            return tp_fail(p, p->ref_col, "abort-task names tag '%s', which has no outstanding command at layer %s",
                           r->tmf.ref_tag, tp_layer_name(r->layer));
        }
        if (p->t->tasks[target].ended_by == TRACE_NONE)
            p->t->tasks[target].ended_by = line;
        break;
    }
    case TRACE_TMF_ABORT_TASK_SET:
        tp_end_tasks(p, line, &n, false, false, false); /* the initiator's tasks at the LUN */
        break;
    case TRACE_TMF_CLEAR_TASK_SET:
    case TRACE_TMF_LUN_RESET:
        n.any |= TRACE_ANY_HOST; /* every initiator's tasks at the LUN (SAM-5 7.4, 7.7) */
        tp_end_tasks(p, line, &n, false, false, false);
        break;
    case TRACE_TMF_TARGET_RESET:
        n.any |= TRACE_ANY_HOST;
        tp_end_tasks(p, line, &n, true, false, false);
        break;
    case TRACE_TMF_IT_NEXUS_RESET:
        /* The initiator's tasks: the HBA knows one nexus per initiator for
         * all its targets. */
        tp_end_tasks(p, line, &n, true, true, false);
        break;
    default:
        break;
    }
    return 0;
}

/* The open task a DOUT/DIN/STATUS/TMF response names. */
static int find_open(struct tp *p, size_t line, const struct tp_tok *tag_tok, const char *verb, size_t *out)
{
    struct trace_record *r = rec(p, line);
    char key[TRACE_TAG_MAX + 4];
    tp_tag_key(key, sizeof key, r->layer, r->tag);
    if (!trace_map_get(&p->open, key, out))
        return tp_fail(p, tag_tok->col, "%s for tag '%s', which has no outstanding %s at layer %s (no %s %s before "
                       "it, or its %s came already)", verb, r->tag, r->verb == TRACE_VERB_TMF ? "TMF" : "command",
                       tp_layer_name(r->layer), r->verb == TRACE_VERB_TMF ? "TMF" : "CMD", r->tag,
                       r->verb == TRACE_VERB_TMF ? "response" : "STATUS");
    const struct trace_record *req = rec(p, p->t->tasks[*out].request);
    bool want_tmf = r->verb == TRACE_VERB_TMF;
    if ((req->verb == TRACE_VERB_TMF) != want_tmf)
        return tp_fail(p, tag_tok->col, "%s for tag '%s', which is a %s (line %u)", verb, r->tag,
                       want_tmf ? "command, not a TMF" : "TMF: its answer is a TMF response record",
                       p->t->lines[p->t->tasks[*out].request].lineno);
    r->task = *out;
    return 0;
}

/* Where a piece of a command's data ends (offset + bytes described). */
static uint64_t piece_end(const struct trace_record *r)
{
    return (uint64_t)r->offset + r->data.length;
}

/* A further piece of a command's data: it must start where the last one
 * ended (no overlap, no gap, in increasing offset order), and nothing may
 * follow a piece whose data ends in "..". */
static int next_piece(struct tp *p, const struct trace_record *r, const char *verb, size_t last)
{
    const struct trace_record *prev = rec(p, last);
    unsigned prev_line = p->t->lines[last].lineno;
    uint64_t end = piece_end(prev);
    if (!r->offset_given)
        return tp_fail(p, p->piece_col, "another %s for tag '%s' without offset= (the one before is at line %u); "
                       "when a command's data is given in several records, each gives its place: offset=%llu", verb,
                       r->tag, prev_line, (unsigned long long)end);
    if (prev->data.rest)
        return tp_fail(p, p->piece_col, "%s piece after the one at line %u, which ends in '..' (the rest "
                       "unspecified); only the last piece may end in '..'", verb, prev_line);
    if (r->offset < prev->offset)
        return tp_fail(p, p->piece_col, "%s piece at offset %u comes after the piece at offset %u (line %u); "
                       "give the pieces in increasing offset order", verb, r->offset, prev->offset, prev_line);
    if (r->offset < end)
        return tp_fail(p, p->piece_col, "%s piece at offset %u overlaps the piece at line %u (bytes %u to %llu); "
                       "the next piece starts at offset=%llu", verb, r->offset, prev_line, prev->offset,
                       (unsigned long long)end - 1, (unsigned long long)end);
    if (r->offset > end)
        return tp_fail(p, p->piece_col, "gap before the %s piece at offset %u: bytes %llu to %u are in no piece "
                       "(the piece at line %u ends at offset %llu); pieces follow each other without gaps", verb,
                       r->offset, (unsigned long long)end, r->offset - 1, prev_line, (unsigned long long)end);
    return 0;
}

static int data(struct tp *p, size_t line, const struct tp_tok *tag_tok)
{
    struct trace_record *r = rec(p, line);
    bool out = r->verb == TRACE_VERB_DOUT;
    const char *verb = out ? "DOUT" : "DIN";
    size_t ti = 0;
    if (find_open(p, line, tag_tok, verb, &ti))
        return -EINVAL;
    struct trace_task *k = &p->t->tasks[ti];
    const struct trace_cmd *c = &rec(p, k->request)->cmd;
    unsigned cmd_line = p->t->lines[k->request].lineno;
    enum trace_data_dir want = out ? TRACE_DATA_OUT : TRACE_DATA_IN;
    if (c->dir != want)
        return tp_fail(p, tag_tok->col, "%s for tag '%s', whose CMD (line %u) has dir=%s; a %s needs dir=%s", verb,
                       r->tag, cmd_line, c->dir == TRACE_DATA_NONE ? "none" : c->dir == TRACE_DATA_IN ? "in" : "out",
                       verb, out ? "out" : "in");
    size_t *first = out ? &k->dout : &k->din, *last = out ? &k->dout_last : &k->din_last;
    if (*first == TRACE_NONE && r->offset != 0)
        return tp_fail(p, p->piece_col, "the first %s piece for tag '%s' starts at offset %u: bytes 0 to %u are in "
                       "no piece; a command's data pieces start at offset 0 and follow each other without gaps",
                       verb, r->tag, r->offset, r->offset - 1);
    if (*first != TRACE_NONE && next_piece(p, r, verb, *last))
        return -EINVAL;
    if (piece_end(r) > c->len) {
        if (!r->offset_given)
            return tp_fail(p, tag_tok->col, "%s describes %llu bytes but the CMD at line %u has len=%u", verb,
                           (unsigned long long)r->data.length, cmd_line, c->len);
        return tp_fail(p, p->piece_col, "%s piece at offset %u describes %llu bytes: it ends at offset %llu, beyond "
                       "the CMD's len=%u (line %u)", verb, r->offset, (unsigned long long)r->data.length,
                       (unsigned long long)piece_end(r), c->len, cmd_line);
    }
    if (*first == TRACE_NONE)
        *first = line;
    else
        rec(p, *last)->next_piece = line;
    *last = line;
    return 0;
}

/* Data sent in pieces (offset= given) must be all there: at layers H and W
 * the replay sends it, and a piece left out would silently become zeros.
 * (A single DOUT without offset= may be shorter: zeros follow, as ever.) */
static int dout_complete(struct tp *p, const struct trace_task *k)
{
    if (k->dout == TRACE_NONE)
        return 0;
    const struct trace_record *first = rec(p, k->dout), *last = rec(p, k->dout_last);
    const struct trace_cmd *c = &rec(p, k->request)->cmd;
    if (first->layer == 'C' || (k->dout == k->dout_last && !first->offset_given) || piece_end(last) >= c->len)
        return 0;
    const struct trace_line *l = &p->t->lines[k->dout_last];
    return tp_fail_at(p, l, 1, "the DOUT pieces for tag '%s' end at offset %llu but the CMD (line %u) has len=%u; "
                      "data given in pieces (offset=) covers all of it: add the piece at offset=%llu",
                      first->tag, (unsigned long long)piece_end(last), p->t->lines[k->request].lineno, c->len,
                      (unsigned long long)piece_end(last));
}

static void close_task(struct tp *p, size_t line, size_t ti)
{
    struct trace_record *r = rec(p, line);
    char key[TRACE_TAG_MAX + 4];
    tp_tag_key(key, sizeof key, r->layer, r->tag);
    p->t->tasks[ti].response = line;
    trace_map_del(&p->open, key);
}

static int status(struct tp *p, size_t line, const struct tp_tok *tag_tok)
{
    struct trace_record *r = rec(p, line);
    size_t ti = 0;
    if (find_open(p, line, tag_tok, "STATUS", &ti))
        return -EINVAL;
    struct trace_task *k = &p->t->tasks[ti];
    const struct trace_cmd *c = &rec(p, k->request)->cmd;
    unsigned cmd_line = p->t->lines[k->request].lineno;
    const struct trace_status *st = &r->status;
    if (st->resid_given && st->resid > c->len)
        return tp_fail(p, tag_tok->col, "resid=%u is more than the CMD's len=%u (line %u)", st->resid, c->len,
                       cmd_line);
    if (st->xfer_given && st->xfer > c->len)
        return tp_fail(p, tag_tok->col, "xfer=%u is more than the CMD's len=%u (line %u)", st->xfer, c->len,
                       cmd_line);
    if (st->resid_given && st->xfer_given && (uint64_t)st->resid + st->xfer != c->len)
        return tp_fail(p, tag_tok->col, "xfer=%u and resid=%u do not add up to the CMD's len=%u (line %u)", st->xfer,
                       st->resid, c->len, cmd_line);
    if (dout_complete(p, k))
        return -EINVAL;
    if (k->din != TRACE_NONE) {
        uint64_t din = piece_end(rec(p, k->din_last));
        uint64_t moved = st->xfer_given ? st->xfer : st->resid_given ? (uint64_t)c->len - st->resid : c->len;
        if (din > moved)
            return tp_fail(p, tag_tok->col, "the DIN %s line %u describes %llu bytes but this STATUS says %llu "
                           "bytes were transferred", k->din == k->din_last ? "at" : "in pieces up to",
                           p->t->lines[k->din_last].lineno, (unsigned long long)din, (unsigned long long)moved);
    }
    close_task(p, line, ti);
    return 0;
}

static int tmf_response(struct tp *p, size_t line, const struct tp_tok *tag_tok)
{
    size_t ti = 0;
    if (find_open(p, line, tag_tok, "TMF response", &ti))
        return -EINVAL;
    close_task(p, line, ti);
    return 0;
}

int tp_task_record(struct tp *p, size_t line_idx, const struct tp_tok *tag_tok)
{
    struct trace_record *r = rec(p, line_idx);
    switch (r->verb) {
    case TRACE_VERB_CMD:
        return request(p, line_idx, tag_tok);
    case TRACE_VERB_TMF:
        return r->dir == '>' ? request(p, line_idx, tag_tok) : tmf_response(p, line_idx, tag_tok);
    case TRACE_VERB_DOUT:
    case TRACE_VERB_DIN:
        return data(p, line_idx, tag_tok);
    case TRACE_VERB_STATUS:
        return status(p, line_idx, tag_tok);
    case TRACE_VERB_DIRECTIVE: {
        const struct trace_directive_ops *ops = trace_directive_ops(r->directive.kind);
        return ops->tasks ? ops->tasks(p, line_idx) : 0;
    }
    }
    return 0;
}

int tp_tasks_finish(struct tp *p)
{
    const struct trace *t = p->t;
    for (size_t i = 0; i < t->n_tasks; i++) {
        const struct trace_task *k = &t->tasks[i];
        if (k->response == TRACE_NONE && dout_complete(p, k))
            return -EINVAL;
        if (k->response != TRACE_NONE || k->ended_by != TRACE_NONE)
            continue;
        const struct trace_line *l = &t->lines[k->request];
        const struct trace_record *r = &l->record;
        if (r->verb == TRACE_VERB_CMD)
            return tp_fail_at(p, l, 1,
                              "missing STATUS: CMD %s (layer %c) has no STATUS by the end of the file; add its STATUS "
                              "record, or end it with a TMF or a reset", r->tag, r->layer);
        return tp_fail_at(p, l, 1, "missing TMF response: TMF %s (layer %c) has no response by the end of the file",
                          r->tag, r->layer);
    }
    for (size_t i = 0; i < p->holds.cap; i++)
        if (p->holds.slots[i].used) {
            const struct trace_line *l = &t->lines[p->holds.slots[i].value];
            return tp_fail_at(p, l, 1, "hold %s: no CMD %s follows at layer %c", l->record.directive.tag,
                              l->record.directive.tag, l->record.layer);
        }
    for (int i = 0; i < 3; i++)
        if (p->within[i].line != TRACE_NONE) {
            const struct trace_line *l = &t->lines[p->within[i].line];
            uint32_t count = l->record.directive.count;
            return tp_fail_at(p, l, 1, "within count=%u covers %u request(s) at layer %c but only %u follow", count,
                              count, l->record.layer, count - p->within[i].remaining);
        }
    return 0;
}
