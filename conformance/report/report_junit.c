/* conformance/report/report_junit.c — JUnit XML as CI servers read it:
 * <testsuites> with one <testsuite> per trace and one <testcase> per check;
 * a failed check has <failure message type>decoded diff</failure>, an
 * unusable trace one <testcase> with <error>, a skipped trace one with
 * <skipped> (with --strict a <failure type="skipped">).  Every attribute and
 * text is escaped (report_xml_escape). */
#include "conformance/report/report_priv.h"

#include <errno.h>
#include <string.h>

/* "traces/spc/inquiry.trace" -> "traces.spc.inquiry" */
static void classname(struct tbuf *b, const char *path)
{
    struct tbuf c = { 0 };
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".trace"))
        n -= 6;
    while (n > 2 && path[0] == '.' && path[1] == '/') {
        path += 2;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++)
        tbuf_putc(&c, path[i] == '/' ? '.' : path[i]);
    report_xml_escape(b, tbuf_str(&c), true);
    tbuf_free(&c);
}

static const char *failure_type(unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        { TRACE_FAIL_NOT_RUN, "not-run" },       { TRACE_FAIL_NO_RESPONSE, "no-response" },
        { TRACE_FAIL_DEADLINE, "deadline" },     { TRACE_FAIL_STATUS, "status" },
        { TRACE_FAIL_SENSE_BYTES, "sense" },     { TRACE_FAIL_DATA, "data-in" },
        { TRACE_FAIL_DOUT, "data-out" },         { TRACE_FAIL_CDB, "cdb" },
        { TRACE_FAIL_RESID, "resid" },           { TRACE_FAIL_XFER, "xfer" },
        { TRACE_FAIL_TMF, "tmf" },               { TRACE_FAIL_MEDIA, "media" },
        { TRACE_FAIL_ATTR, "attr" },             { TRACE_FAIL_CONTROLLER, "controller" },
        { TRACE_FAIL_DISCOVERY, "discovery" },      { TRACE_FAIL_DIRECTIVE, "directive" },
        { TRACE_FAIL_LEAK, "leak" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bits & names[i].bit)
            return names[i].name;
    return "mismatch";
}

static void testcase_open(struct tbuf *b, const struct trace_file_result *f, const char *name, uint64_t ns)
{
    tbuf_puts(b, "    <testcase classname=\"");
    classname(b, f->path);
    tbuf_puts(b, "\" name=\"");
    report_xml_escape(b, name, true);
    tbuf_puts(b, "\" time=\"");
    report_seconds(b, ns);
    tbuf_puts(b, "\"");
}

static void suite(struct tbuf *b, const struct trace_file_result *f, bool strict)
{
    size_t tests = f->n_checks, failures = 0, errors = 0, skipped = 0;
    /* --strict: a skip is a failure of type "skipped", never <skipped/>. */
    bool strict_skip = strict && f->outcome == TRACE_OUTCOME_SKIP;
    for (size_t i = 0; i < f->n_checks; i++)
        failures += !f->checks[i].pass;
    if (f->outcome == TRACE_OUTCOME_UNUSABLE) {
        tests = 1;
        errors = 1;
    } else if (f->outcome == TRACE_OUTCOME_SKIP) {
        tests = 1;
        skipped = !strict_skip;
        failures = strict_skip;
    }
    tbuf_puts(b, "  <testsuite name=\"");
    report_xml_escape(b, f->path, true);
    tbuf_printf(b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"", tests, failures, errors,
                skipped);
    report_seconds(b, f->elapsed_ns);
    tbuf_puts(b, "\">\n");
    if (f->title || f->basis) {
        tbuf_puts(b, "    <properties>\n");
        if (f->title) {
            tbuf_puts(b, "      <property name=\"title\" value=\"");
            report_xml_escape(b, f->title, true);
            tbuf_puts(b, "\"/>\n");
        }
        if (f->basis) {
            tbuf_puts(b, "      <property name=\"basis\" value=\"");
            report_xml_escape(b, f->basis, true);
            tbuf_puts(b, "\"/>\n");
        }
        tbuf_puts(b, "    </properties>\n");
    }
    if (f->outcome == TRACE_OUTCOME_UNUSABLE || f->outcome == TRACE_OUTCOME_SKIP) {
        bool unusable = f->outcome == TRACE_OUTCOME_UNUSABLE;
        testcase_open(b, f, unusable ? "parse" : "requirements", 0);
        tbuf_puts(b, unusable      ? ">\n      <error type=\"unusable\" message=\""
                     : strict_skip ? ">\n      <failure type=\"skipped\" message=\""
                                   : ">\n      <skipped message=\"");
        report_xml_escape(b, f->reason, true);
        if (unusable || strict_skip) {
            tbuf_puts(b, "\">");
            report_xml_escape(b, f->reason, false);
            tbuf_puts(b, unusable ? "</error>\n" : "</failure>\n");
        } else {
            tbuf_puts(b, "\"/>\n");
        }
        tbuf_puts(b, "    </testcase>\n");
    }
    for (size_t i = 0; i < f->n_checks; i++) {
        const struct trace_check *c = &f->checks[i];
        char cname[160], name[200];
        snprintf(name, sizeof name, "line %u: %s", c->line, report_check_name(c, cname, sizeof cname));
        testcase_open(b, f, name, c->elapsed_known ? c->elapsed_ns : 0);
        if (c->pass) {
            tbuf_puts(b, "/>\n");
            continue;
        }
        tbuf_printf(b, ">\n      <failure type=\"%s\" message=\"", failure_type(c->failures));
        report_xml_escape(b, c->summary, true);
        tbuf_puts(b, "\">");
        struct tbuf d = { 0 };
        report_describe_failure(&d, f, c, false);
        report_xml_escape(b, tbuf_str(&d), false);
        tbuf_free(&d);
        tbuf_puts(b, "</failure>\n    </testcase>\n");
    }
    tbuf_puts(b, "  </testsuite>\n");
}

int report_junit(const struct trace_run *run, FILE *out)
{
    struct trace_run_summary s;
    trace_run_summarize(run, &s);
    size_t tests = s.checks + s.unusable + s.skipped;
    struct tbuf b = { 0 };
    tbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    tbuf_printf(&b, "<testsuites name=\"scsisim\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"",
                tests, s.checks_failed + (run->strict ? s.skipped : 0), s.unusable,
                run->strict ? 0 : s.skipped);
    report_seconds(&b, run->elapsed_ns);
    tbuf_puts(&b, "\">\n");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < run->n_files; i++) {
        suite(&b, &run->files[i], run->strict);
        rc = report_flush(&b, out);
    }
    if (rc == 0) {
        tbuf_puts(&b, "</testsuites>\n");
        rc = report_flush(&b, out);
    }
    tbuf_free(&b);
    if (rc == 0 && fflush(out) == EOF)
        rc = -EIO;
    return rc;
}
