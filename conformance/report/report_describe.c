/* conformance/report/report_describe.c — the decoded, side-by-side explanation of a
 * failed check, shared by every reporter (the text reporter prints it, the
 * others embed it).  Names come from libsgutils2 (scsi/scsi.h, scsi/sense.h);
 * the trace's own symbols are shown next to them, so a reader can match the
 * report with the trace line it names. */
#include "conformance/report/report_priv.h"

#include <inttypes.h>
#include <string.h>

#include "base/tbuf.h"
#include "conformance/report/judge.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_print.h"
#include "scsi/scsi.h"

#define ROW 8 /* bytes per row on each side: two sides fit in 80 columns */

static const char *red(bool color)
{
    return color ? "\033[31m" : "";
}

static const char *reset(bool color)
{
    return color ? "\033[0m" : "";
}

const char *report_check_name(const struct trace_check *c, char *buf, size_t len)
{
    switch (c->kind) {
    case TRACE_CHECK_MEDIA:
        snprintf(buf, len, "check-media");
        break;
    case TRACE_CHECK_CONTROLLER: /* rogue, or the events directive (its tag) */
        snprintf(buf, len, "%s", c->tag[0] ? c->tag : "rogue");
        break;
    case TRACE_CHECK_DISCOVERY:
        snprintf(buf, len, "discover");
        break;
    case TRACE_CHECK_DIRECTIVE:
        snprintf(buf, len, "directive");
        break;
    case TRACE_CHECK_LEAK:
        snprintf(buf, len, "leak check");
        break;
    case TRACE_CHECK_TMF:
        snprintf(buf, len, "%s TMF", c->tag);
        break;
    case TRACE_CHECK_COMMAND: {
        char name[96];
        scsi_opcode_name(c->cdb, c->cdb_len, name, sizeof name);
        snprintf(buf, len, "%s %s", c->tag, name[0] ? name : "(unknown opcode)");
        break;
    }
    }
    return buf;
}

static void status_text(struct tbuf *b, unsigned status)
{
    const char *sym = trace_status_symbol(status);
    if (status == TRACE_STATUS_SERVICE_FAILURE) {
        tbuf_puts(b, "SERVICE_FAILURE (no SCSI status: service delivery or target failure)");
        return;
    }
    char name[64];
    scsi_status_name((uint8_t)status, name, sizeof name);
    tbuf_printf(b, "%s (0x%02x, %s)", sym ? sym : "?", status, name);
}

static void sense_text(struct tbuf *b, const struct scsi_sense_info *s)
{
    char key[64], asc[128];
    struct trace_sense_spec sp = { .key = s->key, .asc = s->asc, .ascq = s->ascq };
    trace_fmt_sense_spec(b, &sp);
    const char *asc_text = scsi_asc_name(s->asc, s->ascq, asc, sizeof asc);
    static const char prefix[] = "Additional sense: "; /* libsgutils2's, redundant here */
    if (!strncmp(asc_text, prefix, sizeof prefix - 1))
        asc_text += sizeof prefix - 1;
    tbuf_printf(b, " = %s: %s (%s format)", scsi_sense_key_name(s->key, key, sizeof key), asc_text,
                s->descriptor ? "descriptor" : "fixed");
}

static void hex_bytes(struct tbuf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tbuf_printf(b, "%s%02x", i ? " " : "", p[i]);
}

/* The row as text, hexdump style, each side between bars: '.' for a byte
 * that is not printable, '?' for a don't-care, a blank for a byte missing. */
static void ascii_row(struct tbuf *b, const struct trace_data_diff *d, uint32_t row)
{
    for (int side = 0; side < 2; side++) {
        tbuf_puts(b, side ? "|" : "  |");
        for (uint32_t i = row; i < row + ROW; i++) {
            uint8_t f = i < d->window_len ? d->flags[i] : 0;
            int c;
            if (i >= d->window_len)
                c = ' '; /* past the window: the columns stay aligned */
            else if (side == 0 && !(f & TRACE_DIFF_HAS_EXPECTED))
                c = ' ';
            else if (side == 0 && d->exp_mask[i] == 0)
                c = '?';
            else if (side == 1 && !(f & TRACE_DIFF_HAS_ACTUAL))
                c = ' ';
            else {
                uint8_t v = side == 0 ? d->exp_value[i] : d->actual[i];
                c = v >= 0x20 && v < 0x7f ? v : '.';
            }
            tbuf_putc(b, (char)c);
        }
        tbuf_putc(b, '|');
    }
}

/* Side by side: offset, expected row | actual row, and a marker row under
 * differing bytes.  Don't-care bytes show as ??, missing ones as --. */
static void diff_rows(struct tbuf *b, const struct trace_data_diff *d, bool color)
{
    tbuf_printf(b, "      %-8s  %-*s | %s\n", "offset", ROW * 3 - 1, "expected", "actual");
    for (uint32_t row = 0; row < d->window_len; row += ROW) {
        struct tbuf marks = { 0 };
        bool any = false;
        tbuf_printf(b, "      0x%06" PRIx64 "  ", d->window_offset + row);
        for (int side = 0; side < 2; side++) {
            for (uint32_t i = row; i < row + ROW; i++) {
                if (i > row) {
                    tbuf_putc(b, ' ');
                    tbuf_putc(&marks, ' ');
                }
                bool in = i < d->window_len;
                uint8_t f = in ? d->flags[i] : 0;
                bool differs = (f & TRACE_DIFF_DIFFERS) != 0;
                if (differs)
                    tbuf_puts(b, red(color));
                if (!in)
                    tbuf_puts(b, "  ");
                else if (side == 0 && !(f & TRACE_DIFF_HAS_EXPECTED))
                    tbuf_puts(b, d->expected_rest ? ".." : "--");
                else if (side == 0 && d->exp_mask[i] == 0)
                    tbuf_puts(b, "??");
                else if (side == 0)
                    tbuf_printf(b, "%02x", d->exp_value[i]);
                else if (!(f & TRACE_DIFF_HAS_ACTUAL))
                    tbuf_puts(b, "--");
                else
                    tbuf_printf(b, "%02x", d->actual[i]);
                if (differs)
                    tbuf_puts(b, reset(color));
                tbuf_puts(&marks, differs ? "^^" : "  ");
                any |= differs;
            }
            if (side == 0) {
                tbuf_puts(b, " | ");
                tbuf_puts(&marks, " | ");
            }
        }
        ascii_row(b, d, row);
        tbuf_putc(b, '\n');
        if (any) {
            /* trailing blanks of the marker row are dropped */
            size_t n = marks.len;
            while (n && marks.s[n - 1] == ' ')
                n--;
            tbuf_printf(b, "      %-8s  ", "");
            tbuf_put(b, tbuf_str(&marks), n);
            tbuf_putc(b, '\n');
        }
        tbuf_free(&marks);
    }
}

static void ranges_text(struct tbuf *b, const struct trace_data_diff *d)
{
    for (size_t i = 0; i < d->n_ranges; i++) {
        const struct trace_diff_range *r = &d->ranges[i];
        tbuf_printf(b, "%s%" PRIu64, i ? ", " : "", r->offset);
        if (r->length > 1)
            tbuf_printf(b, "..%" PRIu64, r->offset + r->length - 1);
    }
    if (d->more_ranges)
        tbuf_puts(b, ", ...");
}

static void diff_block(struct tbuf *b, const char *what, unsigned line, const struct trace_data_diff *d, bool color)
{
    tbuf_printf(b, "    %-9s ", what);
    tbuf_printf(b, "expected %" PRIu64 " byte(s)%s", d->expected_len, d->expected_rest ? " and '..'" : "");
    if (line)
        tbuf_printf(b, " (line %u)", line);
    tbuf_printf(b, ", received %" PRIu64, d->actual_len);
    if (d->differing)
        tbuf_printf(b, "; %" PRIu64 " differ", d->differing);
    if (d->too_short)
        tbuf_puts(b, "; too short");
    if (d->too_long)
        tbuf_puts(b, "; too long");
    tbuf_puts(b, "; at ");
    ranges_text(b, d);
    tbuf_putc(b, '\n');
    diff_rows(b, d, color);
}

void report_describe_failure(struct tbuf *b, const struct trace_file_result *f, const struct trace_check *c,
                             bool color)
{
    char name[160];
    tbuf_printf(b, "  %s[FAILED]%s %s:%u: %s (layer %c): %s\n", red(color), reset(color), f->path, c->expect_line,
                report_check_name(c, name, sizeof name), c->layer ? c->layer : '-', c->summary);
    if (c->kind == TRACE_CHECK_COMMAND) {
        tbuf_printf(b, "    %-9s ", "cdb");
        hex_bytes(b, c->cdb, c->cdb_len);
        tbuf_printf(b, " (line %u)\n", c->line);
    }
    const struct trace_failure *d = c->detail;
    if (!d)
        return;
    if (c->kind == TRACE_CHECK_DISCOVERY) {
        tbuf_printf(b, "    %-9s expected %s\n", "found", d->expected);
        tbuf_printf(b, "    %-9s actual   %s\n", "", d->note);
        return;
    }
    if (c->kind == TRACE_CHECK_MEDIA) {
        tbuf_printf(b, "    %-9s expected %s\n", "media", d->expected);
        tbuf_printf(b, "    %-9s actual   %" PRIu64 " block(s) checked: %" PRIu64 " durable lost, %" PRIu64
                    " unflushed lost, %" PRIu64 " unflushed kept", "", d->media.blocks_checked, d->media.durable_lost,
                    d->media.volatile_lost, d->media.volatile_kept);
        tbuf_putc(b, '\n');
        for (int durable = 1; durable >= 0; durable--) {
            if (!(durable ? d->media.durable_lost : d->media.volatile_lost))
                continue;
            tbuf_printf(b, "    %-9s %s ", "", durable ? "durable lost:" : "unflushed lost:");
            trace_media_ranges_text(b, &d->media, durable);
            tbuf_putc(b, '\n');
        }
        return;
    }
    if (c->kind == TRACE_CHECK_CONTROLLER) {
        if (d->expected[0] && c->tag[0])
            tbuf_printf(b, "    %-9s expected %s\n", c->tag, d->expected);
        else if (d->expected[0])
            tbuf_printf(b, "    %-9s expected %s (the datasheet: docs/controller.md, hw/hba.h)\n", "controller",
                        d->expected);
        return;
    }
    if (c->kind == TRACE_CHECK_TMF) {
        tbuf_printf(b, "    %-9s expected %s\n", "response", d->expected[0] ? d->expected : "-");
        tbuf_printf(b, "    %-9s actual   %s\n", "", !d->completed ? "(none)" : trace_word(&trace_tmf_resp_words, d->tmf));
    } else if (c->failures & (TRACE_FAIL_STATUS | TRACE_FAIL_NO_RESPONSE | TRACE_FAIL_SENSE_BYTES | TRACE_FAIL_RESID |
                              TRACE_FAIL_XFER | TRACE_FAIL_DEADLINE | TRACE_FAIL_DATA)) {
        tbuf_printf(b, "    %-9s expected %s\n", "status", d->expected[0] ? d->expected : "-");
        tbuf_printf(b, "    %-9s actual   ", "");
        if (!d->completed)
            tbuf_puts(b, "(no status)");
        else
            status_text(b, d->status);
        tbuf_putc(b, '\n');
        if (d->completed && d->status == SCSI_STATUS_CHECK_CONDITION) {
            tbuf_printf(b, "    %-9s actual   ", "sense");
            if (d->sense_valid)
                sense_text(b, &d->sense);
            else if (d->sense_len)
                tbuf_puts(b, "(not valid sense data)");
            else
                tbuf_puts(b, "(none)");
            tbuf_putc(b, '\n');
            if (d->sense_len && (c->failures & TRACE_FAIL_SENSE_BYTES)) {
                tbuf_printf(b, "    %-9s ", "");
                hex_bytes(b, d->sense_bytes, d->sense_len);
                tbuf_putc(b, '\n');
            }
        }
    }
    if (c->failures & TRACE_FAIL_RESID) {
        tbuf_printf(b, "    %-9s expected %" PRIu32 ", actual ", "resid", d->expected_resid);
        if (d->resid_valid)
            tbuf_printf(b, "%" PRIu32 "\n", d->actual_resid);
        else
            tbuf_puts(b, "(not reported)\n");
    }
    if (c->failures & TRACE_FAIL_XFER)
        tbuf_printf(b, "    %-9s expected %" PRIu32 ", actual %" PRIu64 "\n", "xfer", d->expected_xfer, d->actual_xfer);
    if (c->failures & TRACE_FAIL_DEADLINE) {
        struct tbuf s = { 0 };
        trace_fmt_seconds(&s, c->elapsed_ns, 3);
        tbuf_printf(b, "    %-9s answered after %s s\n", "deadline", tbuf_str(&s));
        tbuf_free(&s);
    }
    if (c->failures & TRACE_FAIL_SENSE_BYTES)
        diff_block(b, "sense", c->expect_line, &d->sense_diff, color);
    if (c->failures & TRACE_FAIL_DATA) {
        diff_block(b, "data-in", d->data_line, &d->data, color);
        report_describe_fields(b, c->cdb, c->cdb_len, &d->data);
    }
    if (c->failures & TRACE_FAIL_CDB)
        diff_block(b, "cdb", c->line, &d->cdb, color);
    if (c->failures & TRACE_FAIL_DOUT)
        diff_block(b, "data-out", 0, &d->dout, color);
    if (d->note[0])
        tbuf_printf(b, "    %-9s %s\n", "note", d->note);
}
