/* conformance/format/trace_pattern.c — what a parsed pattern says: its bytes when it
 * is concrete, the expectation at an offset, and freeing it. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void trace_pattern_free(struct trace_pattern *pat)
{
    for (size_t i = 0; i < pat->n_elems; i++)
        free(pat->elems[i].value); /* masks share the values' allocation */
    free(pat->elems);
    memset(pat, 0, sizeof(*pat));
}

bool trace_pattern_is_concrete(const struct trace_pattern *p)
{
    if (p->rest)
        return false;
    for (size_t i = 0; i < p->n_elems; i++) {
        const struct trace_pat_elem *e = &p->elems[i];
        size_t masks = e->kind == TRACE_PAT_BYTES ? e->n : e->kind == TRACE_PAT_REPEAT ? 1 : 0;
        for (size_t k = 0; k < masks; k++)
            if (e->mask[k] != 0xFF)
                return false;
    }
    return true;
}

void trace_pat_elem_byte(const struct trace_pat_elem *e, uint64_t k, uint8_t *v, uint8_t *m)
{
    switch (e->kind) {
    case TRACE_PAT_BYTES:
        *v = e->value[k];
        *m = e->mask[k];
        return;
    case TRACE_PAT_REPEAT:
        *v = e->value[0];
        *m = e->mask[0];
        return;
    case TRACE_PAT_TEXT:
        *v = k < e->text_len ? e->value[k] : ' ';
        *m = 0xFF;
        return;
    }
}

long trace_pattern_bytes(const struct trace_pattern *p, uint8_t *buf, size_t cap)
{
    if (!trace_pattern_is_concrete(p))
        return -EINVAL;
    if (p->length > cap || p->length > (uint64_t)LONG_MAX)
        return -ENOSPC;
    size_t off = 0;
    for (size_t i = 0; i < p->n_elems; i++) {
        const struct trace_pat_elem *e = &p->elems[i];
        /* whole runs at once: a data-out of 64 KiB is one REPEAT element */
        if (e->kind == TRACE_PAT_REPEAT) {
            memset(buf + off, e->value[0], e->n);
            off += e->n;
        } else if (e->kind == TRACE_PAT_BYTES) {
            if (e->n) /* value may be NULL for none */
                memcpy(buf + off, e->value, e->n);
            off += e->n;
        } else {
            for (uint64_t k = 0; k < e->n; k++) {
                uint8_t m;
                trace_pat_elem_byte(e, k, &buf[off++], &m);
            }
        }
    }
    return (long)off;
}

bool trace_pattern_at(const struct trace_pattern *p, uint64_t offset, uint8_t *value, uint8_t *mask)
{
    for (size_t i = 0; i < p->n_elems; i++) {
        const struct trace_pat_elem *e = &p->elems[i];
        if (offset < e->n) {
            trace_pat_elem_byte(e, offset, value, mask);
            return true;
        }
        offset -= e->n;
    }
    return false;
}

/* ---- a command's data pieces as one pattern ----------------------------------------------- */

int trace_data_view(const struct trace *t, size_t first, struct trace_pattern *view)
{
    memset(view, 0, sizeof(*view));
    size_t n = 0;
    for (size_t l = first; l != TRACE_NONE; l = t->lines[l].record.next_piece)
        n += t->lines[l].record.data.n_elems;
    if (n) {
        view->elems = malloc(n * sizeof(*view->elems));
        if (!view->elems)
            return -ENOMEM;
    }
    /* The parser has made the pieces consecutive (each starts where the one
     * before ends) and only the last may end in "..": their elements in a row
     * are the transfer's pattern. */
    for (size_t l = first; l != TRACE_NONE; l = t->lines[l].record.next_piece) {
        const struct trace_record *r = &t->lines[l].record;
        if (r->data.n_elems) /* a piece of only ".." has none */
            memcpy(view->elems + view->n_elems, r->data.elems, r->data.n_elems * sizeof(*view->elems));
        view->n_elems += r->data.n_elems;
        view->length = r->offset + r->data.length;
        view->rest = r->data.rest;
    }
    return 0;
}

void trace_data_view_free(struct trace_pattern *view)
{
    free(view->elems); /* only the array: the elements' bytes are the trace's */
    memset(view, 0, sizeof(*view));
}

size_t trace_data_piece_at(const struct trace *t, size_t first, uint64_t offset)
{
    size_t l = first;
    while (l != TRACE_NONE) {
        const struct trace_record *r = &t->lines[l].record;
        if (r->next_piece == TRACE_NONE || offset < (uint64_t)r->offset + r->data.length)
            break;
        l = r->next_piece;
    }
    return l;
}
