/* conformance/report/report_json.c — results as one JSON document: a summary, the
 * exit code, and per trace its outcome and checks; a failed check carries the
 * expected and actual status, decoded sense, residuals and data diffs (byte
 * ranges plus the window around the first difference as hex strings). */
#include "conformance/report/report_priv.h"

#include <errno.h>
#include <inttypes.h>

#include "conformance/format/trace_names.h"
#include "scsi/scsi.h"

static void hex_string(struct tbuf *b, const uint8_t *p, size_t n)
{
    tbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++)
        tbuf_printf(b, "%s%02x", i ? " " : "", p[i]);
    tbuf_putc(b, '"');
}

static void diff_json(struct tbuf *b, const char *key, const struct trace_data_diff *d)
{
    tbuf_printf(b, ",\"%s\":{\"expected_len\":%" PRIu64 ",\"expected_rest\":%s,\"actual_len\":%" PRIu64
                ",\"differing\":%" PRIu64 ",\"too_short\":%s,\"too_long\":%s,\"ranges\":[",
                key, d->expected_len, d->expected_rest ? "true" : "false", d->actual_len, d->differing,
                d->too_short ? "true" : "false", d->too_long ? "true" : "false");
    for (size_t i = 0; i < d->n_ranges; i++)
        tbuf_printf(b, "%s[%" PRIu64 ",%" PRIu64 "]", i ? "," : "", d->ranges[i].offset, d->ranges[i].length);
    tbuf_printf(b, "],\"more_ranges\":%s,\"window_offset\":%" PRIu64 ",\"expected\":\"", d->more_ranges ? "true" : "false",
                d->window_offset);
    for (uint32_t i = 0; i < d->window_len; i++) {
        if (i)
            tbuf_putc(b, ' ');
        if (!(d->flags[i] & TRACE_DIFF_HAS_EXPECTED))
            tbuf_puts(b, d->expected_rest ? ".." : "--");
        else if (d->exp_mask[i] == 0)
            tbuf_puts(b, "??");
        else
            tbuf_printf(b, "%02x", d->exp_value[i]);
    }
    tbuf_puts(b, "\",\"actual\":\"");
    for (uint32_t i = 0; i < d->window_len; i++) {
        if (i)
            tbuf_putc(b, ' ');
        if (d->flags[i] & TRACE_DIFF_HAS_ACTUAL)
            tbuf_printf(b, "%02x", d->actual[i]);
        else
            tbuf_puts(b, "--");
    }
    tbuf_puts(b, "\",\"differs\":[");
    bool first = true;
    for (uint32_t i = 0; i < d->window_len; i++)
        if (d->flags[i] & TRACE_DIFF_DIFFERS) {
            tbuf_printf(b, "%s%" PRIu64, first ? "" : ",", d->window_offset + i);
            first = false;
        }
    tbuf_puts(b, "]}");
}

static const char *kind_name(enum trace_check_kind k)
{
    switch (k) {
    case TRACE_CHECK_COMMAND:    return "command";
    case TRACE_CHECK_TMF:        return "tmf";
    case TRACE_CHECK_MEDIA:      return "media";
    case TRACE_CHECK_CONTROLLER: return "controller";
    case TRACE_CHECK_DISCOVERY:  return "discovery";
    case TRACE_CHECK_DIRECTIVE:  return "directive";
    case TRACE_CHECK_LEAK:       return "leak";
    }
    return "command";
}

static void failure_list(struct tbuf *b, unsigned bits)
{
    static const char *const names[] = { "not-run", "no-response", "deadline", "status", "sense", "data-in",
                                         "data-out", "cdb", "resid", "xfer", "tmf", "media", "attr", "controller",
                                         "discovery", "directive", "leak" };
    tbuf_puts(b, "[");
    bool first = true;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bits & (1u << i)) {
            tbuf_printf(b, "%s\"%s\"", first ? "" : ",", names[i]);
            first = false;
        }
    tbuf_puts(b, "]");
}

static void detail_json(struct tbuf *b, const struct trace_check *c)
{
    const struct trace_failure *d = c->detail;
    char name[128];
    tbuf_puts(b, ",\"expected\":");
    report_json_string(b, d->expected);
    tbuf_printf(b, ",\"actual\":{\"completed\":%s", d->completed ? "true" : "false");
    if (d->completed && c->kind == TRACE_CHECK_COMMAND) {
        const char *sym = trace_status_symbol(d->status);
        tbuf_printf(b, ",\"status\":%u,\"status_symbol\":", d->status);
        report_json_string(b, sym ? sym : "");
        if (d->status != TRACE_STATUS_SERVICE_FAILURE) {
            tbuf_puts(b, ",\"status_name\":");
            report_json_string(b, scsi_status_name((uint8_t)d->status, name, sizeof name));
        }
        if (d->sense_len) {
            tbuf_puts(b, ",\"sense\":{\"bytes\":");
            hex_string(b, d->sense_bytes, d->sense_len);
            tbuf_printf(b, ",\"valid\":%s", d->sense_valid ? "true" : "false");
            if (d->sense_valid) {
                tbuf_printf(b, ",\"descriptor\":%s,\"key\":%u,\"asc\":%u,\"ascq\":%u,\"key_name\":",
                            d->sense.descriptor ? "true" : "false", d->sense.key, d->sense.asc, d->sense.ascq);
                report_json_string(b, scsi_sense_key_name(d->sense.key, name, sizeof name));
                tbuf_puts(b, ",\"asc_name\":");
                report_json_string(b, scsi_asc_name(d->sense.asc, d->sense.ascq, name, sizeof name));
            }
            tbuf_puts(b, "}");
        }
        if (d->resid_valid)
            tbuf_printf(b, ",\"resid\":%" PRIu32, d->actual_resid);
        tbuf_printf(b, ",\"xfer\":%" PRIu64, d->actual_xfer);
    }
    if (d->completed && c->kind == TRACE_CHECK_TMF) {
        tbuf_puts(b, ",\"response\":");
        report_json_string(b, trace_word(&trace_tmf_resp_words, d->tmf));
    }
    if (c->kind == TRACE_CHECK_MEDIA)
        tbuf_printf(b, ",\"blocks_checked\":%" PRIu64 ",\"durable_lost\":%" PRIu64 ",\"volatile_lost\":%" PRIu64
                    ",\"volatile_kept\":%" PRIu64 ",\"first_bad_lba\":%" PRIu64,
                    d->media.blocks_checked, d->media.durable_lost, d->media.volatile_lost, d->media.volatile_kept,
                    d->media.first_bad_lba);
    if (c->kind == TRACE_CHECK_MEDIA) {
        tbuf_puts(b, ",\"lost\":[");
        for (uint32_t i = 0; i < d->media.n_ranges && i < SIM_ORACLE_RANGES; i++) {
            const struct sim_oracle_range *g = &d->media.range[i];
            tbuf_printf(b, "%s{\"drive\":\"%u:%u\",\"lba\":%" PRIu64 ",\"count\":%" PRIu32 ",\"durable\":%s}",
                        i ? "," : "", g->target, g->lun, g->lba, g->count, g->durable ? "true" : "false");
        }
        tbuf_printf(b, "],\"lost_runs_not_listed\":%" PRIu32, d->media.ranges_more);
    }
    tbuf_puts(b, "}");
    if (d->resid_expected)
        tbuf_printf(b, ",\"expected_resid\":%" PRIu32, d->expected_resid);
    if (d->xfer_expected)
        tbuf_printf(b, ",\"expected_xfer\":%" PRIu32, d->expected_xfer);
    if (c->failures & TRACE_FAIL_DEADLINE)
        tbuf_printf(b, ",\"deadline_ns\":%" PRIu64, d->deadline_ns);
    if (c->failures & TRACE_FAIL_DATA) {
        tbuf_printf(b, ",\"data_line\":%u", d->data_line);
        diff_json(b, "data", &d->data);
    }
    if (c->failures & TRACE_FAIL_SENSE_BYTES)
        diff_json(b, "sense_diff", &d->sense_diff);
    if (c->failures & TRACE_FAIL_CDB)
        diff_json(b, "cdb_diff", &d->cdb);
    if (c->failures & TRACE_FAIL_DOUT)
        diff_json(b, "dout_diff", &d->dout);
    if (d->note[0]) {
        tbuf_puts(b, ",\"note\":");
        report_json_string(b, d->note);
    }
}

static void check_json(struct tbuf *b, const struct trace_check *c)
{
    char name[128];
    tbuf_printf(b, "{\"kind\":\"%s\",\"line\":%u,\"expect_line\":%u,\"layer\":\"%c\",\"tag\":", kind_name(c->kind),
                c->line, c->expect_line, c->layer ? c->layer : '-');
    report_json_string(b, c->tag);
    if (c->kind == TRACE_CHECK_COMMAND) {
        tbuf_puts(b, ",\"cdb\":");
        hex_string(b, c->cdb, c->cdb_len);
        tbuf_puts(b, ",\"opcode\":");
        report_json_string(b, scsi_opcode_name(c->cdb, c->cdb_len, name, sizeof name));
    }
    tbuf_printf(b, ",\"pass\":%s", c->pass ? "true" : "false");
    if (c->elapsed_known) {
        tbuf_puts(b, ",\"time\":");
        report_seconds(b, c->elapsed_ns);
    }
    if (!c->pass) {
        tbuf_puts(b, ",\"failures\":");
        failure_list(b, c->failures);
        tbuf_puts(b, ",\"summary\":");
        report_json_string(b, c->summary);
        if (c->detail)
            detail_json(b, c);
    }
    tbuf_puts(b, "}");
}

int report_json(const struct trace_run *run, FILE *out)
{
    struct trace_run_summary s;
    trace_run_summarize(run, &s);
    struct tbuf b = { 0 };
    tbuf_printf(&b, "{\"format\":\"scsisim-results\",\"version\":1,\"exit_code\":%d,\"strict\":%s,\n"
                "\"summary\":{\"traces\":%zu,\"passed\":%zu,\"failed\":%zu,\"skipped\":%zu,\"unusable\":%zu,"
                "\"checks\":%zu,\"checks_failed\":%zu,\"time\":",
                trace_run_exit_code(run), run->strict ? "true" : "false", s.files, s.passed, s.failed, s.skipped,
                s.unusable, s.checks, s.checks_failed);
    report_seconds(&b, run->elapsed_ns);
    tbuf_puts(&b, "},\n\"traces\":[");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < run->n_files; i++) {
        const struct trace_file_result *f = &run->files[i];
        tbuf_puts(&b, i ? ",\n{" : "\n{");
        tbuf_puts(&b, "\"file\":");
        report_json_string(&b, f->path);
        tbuf_puts(&b, ",\"title\":");
        if (f->title)
            report_json_string(&b, f->title);
        else
            tbuf_puts(&b, "null");
        tbuf_printf(&b, ",\"outcome\":\"%s\",\"reason\":", trace_outcome_name(f->outcome));
        if (f->reason)
            report_json_string(&b, f->reason);
        else
            tbuf_puts(&b, "null");
        tbuf_puts(&b, ",\"basis\":");
        if (f->basis)
            report_json_string(&b, f->basis);
        else
            tbuf_puts(&b, "null");
        tbuf_puts(&b, ",\"time\":");
        report_seconds(&b, f->elapsed_ns);
        tbuf_puts(&b, ",\"checks\":[");
        for (size_t k = 0; k < f->n_checks; k++) {
            tbuf_puts(&b, k ? ",\n  " : "\n  ");
            check_json(&b, &f->checks[k]);
        }
        tbuf_puts(&b, "]}");
        rc = report_flush(&b, out);
    }
    if (rc == 0) {
        tbuf_puts(&b, "]}\n");
        rc = report_flush(&b, out);
    }
    tbuf_free(&b);
    if (rc == 0 && fflush(out) == EOF)
        rc = -EIO;
    return rc;
}
