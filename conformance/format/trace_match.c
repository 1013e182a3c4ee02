/* conformance/format/trace_match.c — see match.h. */
#include "conformance/format/match.h"

#include <string.h>

#include "scsi/scsi.h"

static void add_range(struct trace_data_diff *d, uint64_t off, uint64_t len)
{
    if (len == 0)
        return;
    if (d->n_ranges > 0) {
        struct trace_diff_range *last = &d->ranges[d->n_ranges - 1];
        if (last->offset + last->length == off) {
            last->length += len;
            return;
        }
    }
    if (d->n_ranges == TRACE_DIFF_RANGES) {
        d->more_ranges = true;
        return;
    }
    d->ranges[d->n_ranges++] = (struct trace_diff_range){ off, len };
}

static void fill_window(const struct trace_pattern *p, const uint8_t *actual, size_t len, struct trace_data_diff *d)
{
    uint64_t first = d->ranges[0].offset;
    uint64_t start = first & ~(uint64_t)15;
    uint64_t end_all = d->expected_len > len ? d->expected_len : len;
    uint64_t n = end_all - start < TRACE_DIFF_WINDOW ? end_all - start : TRACE_DIFF_WINDOW;
    d->window_offset = start;
    d->window_len = (uint32_t)n;
    d->head_len = (uint32_t)(len < TRACE_DIFF_HEAD ? len : TRACE_DIFF_HEAD);
    if (d->head_len) /* no data-in at all: actual may be NULL */
        memcpy(d->head, actual, d->head_len);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = start + i;
        uint8_t v = 0, m = 0, f = 0;
        if (trace_pattern_at(p, off, &v, &m))
            f |= TRACE_DIFF_HAS_EXPECTED;
        if (off < len) {
            f |= TRACE_DIFF_HAS_ACTUAL;
            d->actual[i] = actual[off];
        }
        if ((f & TRACE_DIFF_HAS_EXPECTED) && (f & TRACE_DIFF_HAS_ACTUAL))
            f |= (actual[off] & m) != v ? TRACE_DIFF_DIFFERS : 0;
        else if ((f & TRACE_DIFF_HAS_EXPECTED) || !d->expected_rest)
            f |= TRACE_DIFF_DIFFERS; /* missing, or extra beyond a pattern without ".." */
        d->exp_value[i] = v;
        d->exp_mask[i] = m;
        d->flags[i] = f;
    }
}

/* Whether n bytes at a match element e throughout: one branch-free pass the
 * compiler vectorises (a READ's data-in is up to megabytes), so the byte loop
 * below, which records where bytes differ, runs only for an element that has
 * a difference.  false for the kinds decided per byte. */
static bool elem_matches(const struct trace_pat_elem *e, const uint8_t *a, uint64_t n)
{
    uint8_t diff = 0;
    if (e->kind == TRACE_PAT_REPEAT) {
        uint8_t v = e->value[0], m = e->mask[0];
        for (uint64_t k = 0; k < n; k++)
            diff |= (uint8_t)((a[k] & m) ^ v);
    } else if (e->kind == TRACE_PAT_BYTES) {
        for (uint64_t k = 0; k < n; k++)
            diff |= (uint8_t)((a[k] & e->mask[k]) ^ e->value[k]);
    } else {
        return false;
    }
    return diff == 0;
}

void trace_match_data(const struct trace_pattern *p, const uint8_t *actual, size_t len, struct trace_data_diff *d)
{
    memset(d, 0, sizeof(*d));
    d->expected_len = p->length;
    d->expected_rest = p->rest;
    d->actual_len = len;
    uint64_t off = 0;
    for (size_t i = 0; i < p->n_elems && off < len; i++) {
        const struct trace_pat_elem *e = &p->elems[i];
        uint64_t n = e->n;
        if (n > len - off)
            n = len - off;
        /* The byte loop is the replay's hottest (64 KiB of data-in per
         * command in some traces): the element's kind is decided once, not
         * per byte as trace_pat_elem_byte would; same verdict per byte. */
        const uint8_t *a = actual + off;
        if (elem_matches(e, a, n)) {
            off += n;
            continue;
        }
        for (uint64_t k = 0; k < n; k++) {
            uint8_t v, m;
            if (e->kind == TRACE_PAT_REPEAT)
                v = e->value[0], m = e->mask[0];
            else if (e->kind == TRACE_PAT_BYTES)
                v = e->value[k], m = e->mask[k];
            else
                trace_pat_elem_byte(e, k, &v, &m);
            if ((a[k] & m) != v) {
                d->differing++;
                add_range(d, off + k, 1);
            }
        }
        off += n;
    }
    if (p->length > len) {
        d->too_short = true;
        add_range(d, len, p->length - len);
    } else if (!p->rest && len > p->length) {
        d->too_long = true;
        add_range(d, p->length, len - p->length);
    }
    d->match = d->n_ranges == 0;
    if (!d->match)
        fill_window(p, actual, len, d);
}

bool trace_match_sense_spec(const struct trace_sense_spec *s, const struct scsi_sense_info *info)
{
    return info->key == s->key && (s->asc_any || info->asc == s->asc) && (s->ascq_any || info->ascq == s->ascq);
}

bool trace_match_status(const struct trace_status *exp, unsigned status, const uint8_t *sense, size_t sense_len,
                        struct trace_status_match *out)
{
    memset(out, 0, sizeof(*out));
    out->alt = -1;
    if (status == SCSI_STATUS_CHECK_CONDITION && sense_len)
        out->sense_valid = scsi_sense_parse(sense, sense_len, &out->sense);
    for (size_t i = 0; i < exp->n_alts; i++) {
        const struct trace_status_alt *a = &exp->alts[i];
        if (a->status == TRACE_STATUS_UNKNOWN) { /* not observed: anything matches */
            out->ok = true;
            out->alt = (int)i;
            break;
        }
        if (a->status != status)
            continue;
        out->status_listed = true;
        if (a->sense_given && (!out->sense_valid || !trace_match_sense_spec(&a->sense, &out->sense)))
            continue;
        out->ok = true;
        out->alt = (int)i;
        break;
    }
    return out->ok;
}

bool trace_status_unknown(const struct trace_status *exp)
{
    for (size_t i = 0; i < exp->n_alts; i++)
        if (exp->alts[i].status == TRACE_STATUS_UNKNOWN)
            return true;
    return false;
}

bool trace_match_tmf(const struct trace_tmf *exp, enum trace_tmf_resp actual)
{
    for (size_t i = 0; i < exp->n_resps; i++)
        if (exp->resps[i] == actual)
            return true;
    return false;
}
