/* conformance/report/report.h — writing a run's results (result.h) for people and
 * for CI: text for a terminal (a short line per trace, a decoded side-by-side
 * diff per failure), TAP version 13 (--tap), JUnit XML (--junit FILE; the
 * common testsuites/testsuite/testcase/failure schema) and JSON (--json).
 *
 * Each writer returns 0, or -EIO when writing failed (-ENOMEM when memory ran
 * out).  The exit code of a run is trace_run_exit_code (result.h):
 * 0 all passed, 1 failures, 2 unusable input. */
#ifndef CONFORMANCE_REPORT_H
#define CONFORMANCE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "conformance/report/result.h"

struct report_text_options {
    bool color;    /* ANSI colours (for a terminal) */
    bool verbose;  /* list every check, not only failed ones */
};

int report_text(const struct trace_run *run, FILE *out, const struct report_text_options *opt);
/* report_text in two parts, for a report streamed as the traces finish: one
 * trace's lines, then the counts line; each flushes out. */
int report_text_file(const struct trace_file_result *f, FILE *out, const struct report_text_options *opt);
int report_text_summary(const struct trace_run *run, FILE *out);
int report_tap(const struct trace_run *run, FILE *out);
int report_junit(const struct trace_run *run, FILE *out);
int report_json(const struct trace_run *run, FILE *out);

/* The decoded explanation of one failed check, as report_text prints it
 * (without colours): opcode, status and sense names, side-by-side hex with
 * differing bytes marked, the trace's file:line.  Appended to *b. */
struct tbuf;
void report_describe_failure(struct tbuf *b, const struct trace_file_result *f, const struct trace_check *c,
                             bool color);
/* "t3 SYNCHRONIZE CACHE(10)" / "t5 TMF" / "check-media" into buf. */
const char *report_check_name(const struct trace_check *c, char *buf, size_t len);

#endif
