/* conformance/format/trace_print.c — a trace as canonical text.
 *
 * Canonical form (docs/trace-format.md): single blanks between fields;
 * lowercase hex; byte runs of up to 32 bytes as spaced bytes ("12 00 00"),
 * longer runs compact ("1200..."); times with at least millisecond digits;
 * other seconds in their shortest form; sense as SYMBOL/0xAA/0xQQ; options only
 * when given; comments verbatim.  Every tree prints to text that parses back to
 * an equal tree. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "scsi/scsi.h"

#define SPACED_MAX 32 /* longer byte runs print compact */


/* The two digits of every byte value, "000102...ff": printing data is one
 * look-up and a 2-byte copy per byte (an import prints every captured byte,
 * so this is its hot path). */
#define HEX_ROW(h)                                                                                              \
    h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex_pairs[] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2") HEX_ROW("3") HEX_ROW("4") HEX_ROW("5")
    HEX_ROW("6") HEX_ROW("7") HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b") HEX_ROW("c") HEX_ROW("d")
    HEX_ROW("e") HEX_ROW("f");
#undef HEX_ROW
_Static_assert(sizeof hex_pairs == 2 * 256 + 1, "two digits for each of the 256 byte values");

#define HEX_CHUNK 2048 /* bytes formatted on the stack per append to the buffer */

static void put_hex(struct tbuf *b, uint8_t v)
{
    tbuf_put(b, hex_pairs + 2 * v, 2);
}

static void put_byte(struct tbuf *b, uint8_t v, uint8_t m)
{
    if (m == 0) {
        tbuf_put(b, "??", 2);
    } else {
        put_hex(b, v);
        if (m != 0xFF) {
            tbuf_putc(b, '/');
            put_hex(b, m);
        }
    }
}

/* n exact bytes, compact ("1200ff..."), appended HEX_CHUNK at a time
 * rather than byte by byte. */
static void put_exact_run(struct tbuf *b, const uint8_t *v, size_t n)
{
    char buf[2 * HEX_CHUNK];
    while (n) {
        size_t k = n < HEX_CHUNK ? n : HEX_CHUNK;
        for (size_t i = 0; i < k; i++)
            memcpy(buf + 2 * i, hex_pairs + 2 * v[i], 2);
        tbuf_put(b, buf, 2 * k);
        v += k;
        n -= k;
    }
}

static void put_bytes(struct tbuf *b, const struct trace_pat_elem *e, char sep)
{
    if (e->n <= SPACED_MAX) {
        for (uint32_t i = 0; i < e->n; i++) {
            if (i)
                tbuf_putc(b, sep);
            put_byte(b, e->value[i], e->mask[i]);
        }
        return;
    }
    /* Compact runs of exact and don't-care bytes; masked bytes stand alone:
     * a separator goes before a byte when it or the byte before it is
     * masked (neither exact nor "??"). */
    bool prev_partial = false;
    for (uint32_t i = 0; i < e->n;) {
        uint8_t m = e->mask[i];
        bool partial = m != 0 && m != 0xFF;
        if (i && (partial || prev_partial))
            tbuf_putc(b, sep);
        prev_partial = partial;
        if (m == 0xFF) {
            uint32_t j = i + 1;
            while (j < e->n && e->mask[j] == 0xFF)
                j++;
            put_exact_run(b, e->value + i, j - i);
            i = j;
            continue;
        }
        put_byte(b, e->value[i], m);
        i++;
    }
}

void trace_fmt_quoted(struct tbuf *b, const char *s, size_t len)
{
    tbuf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            tbuf_putc(b, '\\');
        tbuf_putc(b, s[i]);
    }
    tbuf_putc(b, '"');
}

void trace_fmt_pattern(struct tbuf *b, const struct trace_pattern *pat, char sep)
{
    for (size_t i = 0; i < pat->n_elems; i++) {
        const struct trace_pat_elem *e = &pat->elems[i];
        if (i)
            tbuf_putc(b, sep);
        switch (e->kind) {
        case TRACE_PAT_BYTES:
            put_bytes(b, e, sep);
            break;
        case TRACE_PAT_REPEAT:
            put_byte(b, e->value[0], e->mask[0]);
            tbuf_printf(b, "*%" PRIu32, e->n);
            break;
        case TRACE_PAT_TEXT:
            trace_fmt_quoted(b, (const char *)e->value, e->text_len);
            if (e->width_given)
                tbuf_printf(b, ":%" PRIu32, e->n);
            break;
        }
    }
    if (pat->rest) {
        if (pat->n_elems)
            tbuf_putc(b, sep);
        tbuf_put(b, "..", 2);
    }
}

void trace_fmt_seconds(struct tbuf *b, uint64_t ns, unsigned min_digits)
{
    char frac[10];
    snprintf(frac, sizeof frac, "%09" PRIu64, ns % 1000000000u);
    unsigned digits = 9;
    while (digits > min_digits && frac[digits - 1] == '0')
        digits--;
    tbuf_printf(b, "%" PRIu64, ns / 1000000000u);
    if (digits) {
        tbuf_putc(b, '.');
        tbuf_put(b, frac, digits);
    }
}

void trace_fmt_nexus(struct tbuf *b, const struct trace_nexus *n)
{
    const uint64_t v[4] = { n->host, n->channel, n->target, n->lun };
    for (unsigned f = 0; f < 4; f++) {
        if (f)
            tbuf_putc(b, ':');
        if (n->any & (1u << f))
            tbuf_putc(b, '*');
        else
            tbuf_printf(b, "%" PRIu64, v[f]);
    }
}

void trace_fmt_sense_spec(struct tbuf *b, const struct trace_sense_spec *s)
{
    const char *key = trace_word(&trace_sense_key_words, s->key);
    if (key)
        tbuf_puts(b, key);
    else
        tbuf_printf(b, "0x%x", s->key);
    if (s->asc_any)
        tbuf_puts(b, "/??");
    else
        tbuf_printf(b, "/0x%02x", s->asc);
    if (s->ascq_any)
        tbuf_puts(b, "/??");
    else
        tbuf_printf(b, "/0x%02x", s->ascq);
}

void trace_fmt_status_alts(struct tbuf *b, const struct trace_status *st)
{
    for (size_t i = 0; i < st->n_alts; i++) {
        const struct trace_status_alt *a = &st->alts[i];
        if (i)
            tbuf_putc(b, '|');
        bool merge = i > 0 && a->status == SCSI_STATUS_CHECK_CONDITION && a->sense_given &&
                     st->alts[i - 1].status == SCSI_STATUS_CHECK_CONDITION && st->alts[i - 1].sense_given;
        if (!merge) {
            const char *name = trace_status_symbol(a->status);
            tbuf_puts(b, name ? name : "?");
            if (a->sense_given)
                tbuf_putc(b, ' ');
        }
        if (a->sense_given)
            trace_fmt_sense_spec(b, &a->sense);
    }
}

void trace_fmt_status(struct tbuf *b, const struct trace_status *st)
{
    trace_fmt_status_alts(b, st);
    if (st->resid_given)
        tbuf_printf(b, " resid=%" PRIu32, st->resid);
    if (st->xfer_given)
        tbuf_printf(b, " xfer=%" PRIu32, st->xfer);
    if (st->sense_pattern_given) {
        tbuf_puts(b, " sense=");
        trace_fmt_pattern(b, &st->sense_pattern, ',');
    }
    for (size_t i = 0; i < st->n_std_alts; i++) {
        const struct trace_status_alt *a = &st->std_alts[i];
        tbuf_puts(b, i ? "|" : " standard=");
        if (a->status == SCSI_STATUS_CHECK_CONDITION && a->sense_given) {
            trace_fmt_sense_spec(b, &a->sense);
        } else {
            const char *name = trace_status_symbol(a->status);
            tbuf_puts(b, name ? name : "?");
        }
    }
}

void trace_fmt_tmf_resps(struct tbuf *b, const struct trace_tmf *tmf)
{
    for (size_t i = 0; i < tmf->n_resps; i++) {
        if (i)
            tbuf_putc(b, '|');
        tbuf_puts(b, trace_word(&trace_tmf_resp_words, tmf->resps[i]));
    }
}

static void fmt_directive(struct tbuf *b, const struct trace_directive *d)
{
    const struct trace_directive_ops *ops = trace_directive_ops(d->kind);
    tbuf_puts(b, trace_word(&trace_directive_words, d->kind));
    if (ops && ops->print)
        ops->print(b, d);
}

static void fmt_record(struct tbuf *b, const struct trace_record *r)
{
    if (r->time_known) {
        tbuf_putc(b, '+');
        trace_fmt_seconds(b, r->time_ns, 3);
    } else {
        tbuf_putc(b, '-');
    }
    tbuf_printf(b, " %c %c ", r->layer, r->dir);
    if (r->nexus_given)
        trace_fmt_nexus(b, &r->nexus);
    else
        tbuf_putc(b, '-');
    tbuf_printf(b, " %s ", r->tag[0] ? r->tag : "-");
    if (r->verb != TRACE_VERB_DIRECTIVE) {
        tbuf_puts(b, trace_word(&trace_verb_words, r->verb));
        tbuf_putc(b, ' ');
    }
    switch (r->verb) {
    case TRACE_VERB_CMD:
        trace_fmt_pattern(b, &r->cmd.cdb, ' ');
        if (r->cmd.len_given)
            tbuf_printf(b, " len=%" PRIu32, r->cmd.len);
        if (r->cmd.dir_given)
            tbuf_printf(b, " dir=%s", r->cmd.dir == TRACE_DATA_IN ? "in" : r->cmd.dir == TRACE_DATA_OUT ? "out" : "none");
        if (r->cmd.pieces)
            tbuf_printf(b, " pieces=%" PRIu32, r->cmd.pieces);
        if (r->cmd.attr_given)
            tbuf_printf(b, " attr=%s", trace_word(&trace_attr_words, r->cmd.attr));
        break;
    case TRACE_VERB_DOUT:
    case TRACE_VERB_DIN:
        if (r->offset_given)
            tbuf_printf(b, "offset=%" PRIu32 " ", r->offset);
        trace_fmt_pattern(b, &r->data, ' ');
        break;
    case TRACE_VERB_STATUS:
        trace_fmt_status(b, &r->status);
        break;
    case TRACE_VERB_TMF:
        if (r->dir == '<') {
            trace_fmt_tmf_resps(b, &r->tmf);
        } else {
            tbuf_puts(b, trace_word(&trace_tmf_fn_words, r->tmf.fn));
            if (r->tmf.ref_tag[0])
                tbuf_printf(b, " %s", r->tmf.ref_tag);
        }
        break;
    case TRACE_VERB_DIRECTIVE:
        fmt_directive(b, &r->directive);
        break;
    }
}

static void fmt_device(struct tbuf *b, const struct trace_device *d)
{
    tbuf_printf(b, "@%s", trace_word(&trace_device_words, d->kind));
    switch (d->kind) {
    case TRACE_DEV_NEXUS:
        tbuf_putc(b, ' ');
        trace_fmt_nexus(b, &d->nexus);
        break;
    case TRACE_DEV_DRIVE:
    case TRACE_DEV_CONTROLLER:
    case TRACE_DEV_HOST:
        if (d->kind == TRACE_DEV_DRIVE)
            tbuf_printf(b, " %u:%u", d->target, d->lun);
        for (size_t i = 0; i < d->n_settings; i++)
            tbuf_printf(b, " %s=%s", d->settings[i].key, d->settings[i].value);
        break;
    case TRACE_DEV_TITLE:
        tbuf_putc(b, ' ');
        trace_fmt_quoted(b, d->text, strlen(d->text));
        break;
    case TRACE_DEV_REQUIRES:
        for (size_t i = 0; i < d->n_words; i++)
            tbuf_printf(b, " %s", d->words[i]);
        break;
    case TRACE_DEV_TIMEOUT:
        tbuf_putc(b, ' ');
        trace_fmt_seconds(b, d->ns, 0);
        break;
    case TRACE_DEV_MATCH:
        tbuf_printf(b, " %s", trace_word(&trace_match_words, d->match));
        break;
    case TRACE_DEV_BASIS:
        if (d->basis == TRACE_BASIS_MODEL) {
            tbuf_puts(b, " model ");
            trace_fmt_quoted(b, d->text, strlen(d->text));
            break;
        }
        tbuf_puts(b, " standard");
        for (size_t i = 0; i < d->n_words; i++)
            tbuf_printf(b, " %s", d->words[i]);
        break;
    }
}

void trace_fmt_line(struct tbuf *b, const struct trace *t, const struct trace_line *line)
{
    (void)t;
    switch (line->kind) {
    case TRACE_LINE_BLANK:
        return;
    case TRACE_LINE_COMMENT:
        tbuf_puts(b, line->comment);
        return;
    case TRACE_LINE_DEVICE:
        fmt_device(b, &line->device);
        break;
    case TRACE_LINE_RECORD:
        fmt_record(b, &line->record);
        break;
    }
    if (line->comment) {
        tbuf_put(b, "  ", 2);
        tbuf_puts(b, line->comment);
    }
}

static int print_to(const struct trace *t, struct tbuf *all, FILE *out)
{
    struct tbuf b = { 0 };
    int rc = 0;
    const char *version = "#!scsitrace 1\n";
    if (out && fputs(version, out) == EOF)
        rc = -EIO;
    if (all)
        tbuf_puts(all, version);
    for (size_t i = 0; rc == 0 && i < t->n_lines; i++) {
        tbuf_reset(&b);
        trace_fmt_line(&b, t, &t->lines[i]);
        if (b.oom) {
            rc = -ENOMEM;
            break;
        }
        if (b.len > TRACE_LINE_MAX) {
            rc = -EOVERFLOW;
            break;
        }
        tbuf_putc(&b, '\n');
        if (out && fwrite(tbuf_str(&b), 1, b.len, out) != b.len)
            rc = -EIO;
        if (all)
            tbuf_put(all, tbuf_str(&b), b.len);
    }
    if (rc == 0 && all && all->oom)
        rc = -ENOMEM;
    tbuf_free(&b);
    return rc;
}

int trace_print(const struct trace *t, FILE *out)
{
    int rc = print_to(t, NULL, out);
    if (rc == 0 && fflush(out) == EOF)
        rc = -EIO;
    return rc;
}

int trace_print_string(const struct trace *t, char **text, size_t *len)
{
    struct tbuf all = { 0 };
    int rc = print_to(t, &all, NULL);
    if (rc) {
        tbuf_free(&all);
        *text = NULL;
        *len = 0;
        return rc;
    }
    *text = all.s;
    *len = all.len;
    return 0;
}
