/* conformance/report/report_text.c — results for a terminal: one short line per
 * trace, then for each failed check the decoded side-by-side explanation, and
 * a last line with the counts. */
#include "conformance/report/report_priv.h"

#include <errno.h>
#include <inttypes.h>

#include "conformance/format/trace_print.h"

static const char *outcome_word(enum trace_outcome o)
{
    switch (o) {
    case TRACE_OUTCOME_PASS: return "PASS";
    case TRACE_OUTCOME_FAIL: return "FAIL";
    case TRACE_OUTCOME_SKIP: return "SKIP";
    case TRACE_OUTCOME_UNUSABLE: return "UNUSABLE";
    }
    return "?";
}

static const char *outcome_color(enum trace_outcome o)
{
    switch (o) {
    case TRACE_OUTCOME_PASS: return "\033[32m";
    case TRACE_OUTCOME_SKIP: return "\033[33m";
    default: return "\033[31m";
    }
}

static void file_line(struct tbuf *b, const struct trace_file_result *f, bool color)
{
    size_t failed = 0;
    for (size_t i = 0; i < f->n_checks; i++)
        failed += !f->checks[i].pass;
    tbuf_printf(b, "%s%-8s%s %s", color ? outcome_color(f->outcome) : "", outcome_word(f->outcome),
                color ? "\033[0m" : "", f->path);
    if (f->title)
        tbuf_printf(b, "  \"%s\"", f->title);
    switch (f->outcome) {
    case TRACE_OUTCOME_PASS:
    case TRACE_OUTCOME_FAIL:
        tbuf_printf(b, "  (%zu check%s", f->n_checks, f->n_checks == 1 ? "" : "s");
        if (failed)
            tbuf_printf(b, ", %zu failed", failed);
        tbuf_puts(b, ", ");
        trace_fmt_seconds(b, f->elapsed_ns, 3);
        tbuf_puts(b, " s)\n");
        break;
    case TRACE_OUTCOME_SKIP:
        tbuf_printf(b, "  (skipped: %s)\n", f->reason ? f->reason : "");
        break;
    case TRACE_OUTCOME_UNUSABLE:
        tbuf_printf(b, "\n  %s\n", f->reason ? f->reason : "");
        break;
    }
}

static void file_text(struct tbuf *b, const struct trace_file_result *f, const struct report_text_options *opt)
{
    file_line(b, f, opt->color);
    /* A failure reads differently when only this controller model promised
     * it: say where the expectations come from (every trace with -v). */
    if (f->basis && (f->outcome == TRACE_OUTCOME_FAIL || opt->verbose))
        tbuf_printf(b, "  basis: %s\n", f->basis);
    for (size_t k = 0; k < f->n_checks; k++) {
        const struct trace_check *c = &f->checks[k];
        if (!c->pass) {
            report_describe_failure(b, f, c, opt->color);
        } else if (opt->verbose) {
            char name[160];
            tbuf_printf(b, "  [OK] %s:%u: %s\n", f->path, c->line, report_check_name(c, name, sizeof name));
        }
    }
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

int report_text_file(const struct trace_file_result *f, FILE *out, const struct report_text_options *opt)
{
    struct report_text_options none = { 0 };
    struct tbuf b = { 0 };
    file_text(&b, f, opt ? opt : &none);
    int rc = report_flush(&b, out);
    tbuf_free(&b);
    /* Flushed per trace: a run killed by a CI timeout leaves what it did. */
    if (rc == 0 && fflush(out) == EOF)
        rc = -EIO;
    return rc;
}

int report_text_summary(const struct trace_run *run, FILE *out)
{
    struct trace_run_summary s;
    trace_run_summarize(run, &s);
    struct tbuf b = { 0 };
    tbuf_printf(&b, "%zu trace%s: %zu passed, %zu failed, %zu skipped, %zu unusable (%zu check%s, %zu failed)\n",
                s.files, plural(s.files), s.passed, s.failed, s.skipped, s.unusable, s.checks, plural(s.checks),
                s.checks_failed);
    int rc = report_flush(&b, out);
    tbuf_free(&b);
    if (rc == 0 && fflush(out) == EOF)
        rc = -EIO;
    return rc;
}

int report_text(const struct trace_run *run, FILE *out, const struct report_text_options *opt)
{
    struct report_text_options none = { 0 };
    if (!opt)
        opt = &none;
    struct tbuf b = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < run->n_files; i++) {
        file_text(&b, &run->files[i], opt);
        rc = report_flush(&b, out);
    }
    tbuf_free(&b);
    if (rc == 0)
        rc = report_text_summary(run, out);
    return rc;
}
