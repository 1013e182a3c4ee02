/* conformance/format/trace_free.c — freeing a trace, comparing two, and reading its
 * header comment. */
#include "conformance/format/trace_priv.h"

#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"

void trace_line_free(struct trace_line *line)
{
    free(line->comment);
    if (line->kind == TRACE_LINE_DEVICE) {
        struct trace_device *d = &line->device;
        for (size_t i = 0; i < d->n_settings; i++) {
            free(d->settings[i].key);
            free(d->settings[i].value);
        }
        free(d->settings);
        free(d->text);
        for (size_t i = 0; i < d->n_words; i++)
            free(d->words[i]);
        free(d->words);
    } else if (line->kind == TRACE_LINE_RECORD) {
        struct trace_record *r = &line->record;
        switch (r->verb) {
        case TRACE_VERB_CMD: trace_pattern_free(&r->cmd.cdb); break;
        case TRACE_VERB_DOUT:
        case TRACE_VERB_DIN: trace_pattern_free(&r->data); break;
        case TRACE_VERB_STATUS: trace_pattern_free(&r->status.sense_pattern); break;
        case TRACE_VERB_DIRECTIVE: {
            const struct trace_directive_ops *ops = trace_directive_ops(r->directive.kind);
            if (ops && ops->free)
                ops->free(&r->directive);
            break;
        }
        default: break;
        }
    }
    memset(line, 0, sizeof(*line));
}

void trace_free(struct trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_lines; i++)
        trace_line_free(&t->lines[i]);
    free(t->lines);
    free(t->tasks);
    free(t->name);
    free(t);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool pattern_eq(const struct trace_pattern *a, const struct trace_pattern *b)
{
    if (a->n_elems != b->n_elems || a->rest != b->rest || a->length != b->length)
        return false;
    for (size_t i = 0; i < a->n_elems; i++) {
        const struct trace_pat_elem *x = &a->elems[i], *y = &b->elems[i];
        if (x->kind != y->kind || x->n != y->n || x->text_len != y->text_len || x->width_given != y->width_given)
            return false;
        size_t vn = x->kind == TRACE_PAT_BYTES ? x->n : x->kind == TRACE_PAT_REPEAT ? 1 : x->text_len;
        size_t mn = x->kind == TRACE_PAT_TEXT ? 0 : vn;
        if (vn && memcmp(x->value, y->value, vn))
            return false;
        if (mn && memcmp(x->mask, y->mask, mn))
            return false;
    }
    return true;
}

static bool nexus_eq(const struct trace_nexus *a, const struct trace_nexus *b)
{
    return a->any == b->any && ((a->any & TRACE_ANY_HOST) || a->host == b->host) &&
           ((a->any & TRACE_ANY_CHANNEL) || a->channel == b->channel) &&
           ((a->any & TRACE_ANY_TARGET) || a->target == b->target) && ((a->any & TRACE_ANY_LUN) || a->lun == b->lun);
}

static bool alts_eq(const struct trace_status_alt *a, const struct trace_status_alt *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct trace_status_alt *x = &a[i], *y = &b[i];
        if (x->status != y->status || x->sense_given != y->sense_given)
            return false;
        if (x->sense_given &&
            (x->sense.key != y->sense.key || x->sense.asc_any != y->sense.asc_any ||
             x->sense.ascq_any != y->sense.ascq_any || (!x->sense.asc_any && x->sense.asc != y->sense.asc) ||
             (!x->sense.ascq_any && x->sense.ascq != y->sense.ascq)))
            return false;
    }
    return true;
}

static bool status_eq(const struct trace_status *a, const struct trace_status *b)
{
    if (a->n_std_alts != b->n_std_alts || !alts_eq(a->std_alts, b->std_alts, a->n_std_alts))
        return false;
    if (a->n_alts != b->n_alts || a->resid_given != b->resid_given || a->xfer_given != b->xfer_given ||
        a->sense_pattern_given != b->sense_pattern_given)
        return false;
    if ((a->resid_given && a->resid != b->resid) || (a->xfer_given && a->xfer != b->xfer))
        return false;
    if (a->sense_pattern_given && !pattern_eq(&a->sense_pattern, &b->sense_pattern))
        return false;
    for (size_t i = 0; i < a->n_alts; i++) {
        const struct trace_status_alt *x = &a->alts[i], *y = &b->alts[i];
        if (x->status != y->status || x->sense_given != y->sense_given)
            return false;
        if (x->sense_given &&
            (x->sense.key != y->sense.key || x->sense.asc_any != y->sense.asc_any ||
             x->sense.ascq_any != y->sense.ascq_any || (!x->sense.asc_any && x->sense.asc != y->sense.asc) ||
             (!x->sense.ascq_any && x->sense.ascq != y->sense.ascq)))
            return false;
    }
    return true;
}

static bool directive_eq(const struct trace_directive *a, const struct trace_directive *b)
{
    if (a->kind != b->kind)
        return false;
    const struct trace_directive_ops *ops = trace_directive_ops(a->kind);
    return !ops || !ops->equal || ops->equal(a, b);
}

static bool record_eq(const struct trace_record *a, const struct trace_record *b)
{
    if (a->time_known != b->time_known || (a->time_known && a->time_ns != b->time_ns) || a->layer != b->layer ||
        a->dir != b->dir || a->nexus_given != b->nexus_given || (a->nexus_given && !nexus_eq(&a->nexus, &b->nexus)) ||
        strcmp(a->tag, b->tag) || a->verb != b->verb)
        return false;
    switch (a->verb) {
    case TRACE_VERB_CMD:
        return pattern_eq(&a->cmd.cdb, &b->cmd.cdb) && a->cmd.len == b->cmd.len &&
               a->cmd.len_given == b->cmd.len_given && a->cmd.dir == b->cmd.dir && a->cmd.dir_given == b->cmd.dir_given &&
               a->cmd.pieces == b->cmd.pieces && a->cmd.attr == b->cmd.attr && a->cmd.attr_given == b->cmd.attr_given;
    case TRACE_VERB_DOUT:
    case TRACE_VERB_DIN:
        return pattern_eq(&a->data, &b->data) && a->offset_given == b->offset_given && a->offset == b->offset &&
               a->next_piece == b->next_piece;
    case TRACE_VERB_STATUS:
        return status_eq(&a->status, &b->status);
    case TRACE_VERB_TMF:
        return a->tmf.fn == b->tmf.fn && !strcmp(a->tmf.ref_tag, b->tmf.ref_tag) && a->tmf.n_resps == b->tmf.n_resps &&
               !memcmp(a->tmf.resps, b->tmf.resps, a->tmf.n_resps * sizeof(a->tmf.resps[0]));
    case TRACE_VERB_DIRECTIVE:
        return directive_eq(&a->directive, &b->directive);
    }
    return false;
}

static bool device_eq(const struct trace_device *a, const struct trace_device *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case TRACE_DEV_NEXUS:
        return nexus_eq(&a->nexus, &b->nexus);
    case TRACE_DEV_DRIVE:
    case TRACE_DEV_CONTROLLER:
    case TRACE_DEV_HOST:
        if ((a->kind == TRACE_DEV_DRIVE && (a->target != b->target || a->lun != b->lun)) ||
            a->n_settings != b->n_settings)
            return false;
        for (size_t i = 0; i < a->n_settings; i++)
            if (strcmp(a->settings[i].key, b->settings[i].key) || strcmp(a->settings[i].value, b->settings[i].value))
                return false;
        return true;
    case TRACE_DEV_TITLE:
        return str_eq(a->text, b->text);
    case TRACE_DEV_BASIS:
    case TRACE_DEV_REQUIRES:
        /* a basis: its kind and reason, then its citations as words */
        if (a->kind == TRACE_DEV_BASIS &&
            (a->basis != b->basis || (a->basis == TRACE_BASIS_MODEL && !str_eq(a->text, b->text))))
            return false;
        if (a->n_words != b->n_words)
            return false;
        for (size_t i = 0; i < a->n_words; i++)
            if (strcmp(a->words[i], b->words[i]))
                return false;
        return true;
    case TRACE_DEV_TIMEOUT:
        return a->ns == b->ns;
    case TRACE_DEV_MATCH:
        return a->match == b->match;
    }
    return false;
}

bool trace_equal(const struct trace *a, const struct trace *b)
{
    if (a->n_lines != b->n_lines || a->n_tasks != b->n_tasks)
        return false;
    for (size_t i = 0; i < a->n_lines; i++) {
        const struct trace_line *x = &a->lines[i], *y = &b->lines[i];
        if (x->kind != y->kind || !str_eq(x->comment, y->comment))
            return false;
        if (x->kind == TRACE_LINE_DEVICE && !device_eq(&x->device, &y->device))
            return false;
        if (x->kind == TRACE_LINE_RECORD && !record_eq(&x->record, &y->record))
            return false;
    }
    for (size_t i = 0; i < a->n_tasks; i++)
        if (memcmp(&a->tasks[i], &b->tasks[i], sizeof(a->tasks[i])))
            return false;
    return true;
}

char *trace_header_text(const struct trace *t)
{
    struct tbuf b = { 0 };
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_COMMENT)
            break;
        const char *c = l->comment + 1;
        if (*c == ' ')
            c++;
        if (b.len)
            tbuf_putc(&b, '\n');
        tbuf_puts(&b, c);
    }
    if (b.oom || !b.len) {
        tbuf_free(&b);
        return NULL;
    }
    return b.s;
}
