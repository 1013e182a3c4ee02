/* conformance/report/report_tap.c — TAP version 13: one test point per trace; a
 * failed or unusable trace carries a YAML block with each failure's place,
 * summary and decoded diff; a skipped one a "# SKIP" directive (with --strict,
 * "not ok" and the reason in the YAML block). */
#include "conformance/report/report_priv.h"

#include <errno.h>
#include <string.h>

/* A test point description may not hold '#' (it starts a directive) or a line end. */
static void description(struct tbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '#')
            tbuf_puts(b, "\\#");
        else if (*s == '\n' || *s == '\r')
            tbuf_putc(b, ' ');
        else
            tbuf_putc(b, *s);
    }
}

/* A YAML literal block, each line indented. */
static void literal(struct tbuf *b, const char *indent, const char *text)
{
    tbuf_puts(b, "|\n");
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        tbuf_puts(b, indent);
        /* keep the block plain text: control characters would end YAML parsing */
        for (size_t i = 0; i < n; i++)
            tbuf_putc(b, (unsigned char)s[i] < 0x20 && s[i] != '\t' ? '?' : s[i]);
        tbuf_putc(b, '\n');
        s += n + (nl != NULL);
    }
}

/* "  basis: ..." (the trace's @basis), when the result has one. */
static void basis(struct tbuf *b, const struct trace_file_result *f)
{
    if (!f->basis)
        return;
    tbuf_puts(b, "  basis: ");
    report_yaml_string(b, f->basis);
    tbuf_putc(b, '\n');
}

int report_tap(const struct trace_run *run, FILE *out)
{
    struct tbuf b = { 0 };
    int rc = 0;
    tbuf_printf(&b, "TAP version 13\n1..%zu\n", run->n_files);
    for (size_t i = 0; rc == 0 && i < run->n_files; i++) {
        const struct trace_file_result *f = &run->files[i];
        /* A skip is "ok # SKIP" (TAP's own mark, never counted as a pass);
         * with --strict it fails: "not ok" and the reason, without the
         * directive a harness would count as a skip. */
        bool strict_skip = run->strict && f->outcome == TRACE_OUTCOME_SKIP;
        bool ok = f->outcome == TRACE_OUTCOME_PASS || (f->outcome == TRACE_OUTCOME_SKIP && !strict_skip);
        tbuf_printf(&b, "%s %zu - ", ok ? "ok" : "not ok", i + 1);
        description(&b, f->path);
        if (f->title) {
            tbuf_puts(&b, " (");
            description(&b, f->title);
            tbuf_putc(&b, ')');
        }
        if (f->outcome == TRACE_OUTCOME_SKIP && !strict_skip) {
            tbuf_puts(&b, " # SKIP ");
            description(&b, f->reason ? f->reason : "");
        }
        tbuf_putc(&b, '\n');
        if (f->outcome == TRACE_OUTCOME_UNUSABLE || strict_skip) {
            tbuf_puts(&b, "  ---\n  message: ");
            report_yaml_string(&b, f->reason);
            tbuf_puts(&b, strict_skip ? "\n  severity: skipped (--strict: a skip fails)\n"
                                      : "\n  severity: unusable\n");
            basis(&b, f);
            tbuf_puts(&b, "  ...\n");
        } else if (f->outcome != TRACE_OUTCOME_FAIL) {
            /* a pass or a skip: a YAML block only to say where its
             * expectations come from */
            if (f->basis) {
                tbuf_puts(&b, "  ---\n");
                basis(&b, f);
                tbuf_puts(&b, "  ...\n");
            }
        } else {
            tbuf_puts(&b, "  ---\n  severity: fail\n  failures:\n");
            for (size_t k = 0; k < f->n_checks; k++) {
                const struct trace_check *c = &f->checks[k];
                if (c->pass)
                    continue;
                char at[600];
                snprintf(at, sizeof at, "%s:%u", f->path, c->expect_line);
                tbuf_puts(&b, "    - at: ");
                report_yaml_string(&b, at);
                tbuf_puts(&b, "\n      message: ");
                report_yaml_string(&b, c->summary);
                struct tbuf d = { 0 };
                report_describe_failure(&d, f, c, false);
                tbuf_puts(&b, "\n      diff: ");
                literal(&b, "        ", tbuf_str(&d));
                tbuf_free(&d);
            }
            basis(&b, f);
            tbuf_puts(&b, "  ...\n");
        }
        rc = report_flush(&b, out);
    }
    if (rc == 0)
        rc = report_flush(&b, out);
    tbuf_free(&b);
    if (rc == 0 && fflush(out) == EOF)
        rc = -EIO;
    return rc;
}
