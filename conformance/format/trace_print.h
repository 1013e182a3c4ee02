/* conformance/format/trace_print.h — the canonical text of the pieces of a trace, for
 * the printer and for reporters that quote what a trace expected. */
#ifndef CONFORMANCE_TRACE_PRINT_H
#define CONFORMANCE_TRACE_PRINT_H

#include "base/tbuf.h"
#include "conformance/format/trace.h"

/* A data pattern; sep is ' ' on a record line, ',' inside an option value. */
void trace_fmt_pattern(struct tbuf *b, const struct trace_pattern *pat, char sep);
/* Seconds with at least min_digits fraction digits, trailing zeros beyond them dropped. */
void trace_fmt_seconds(struct tbuf *b, uint64_t ns, unsigned min_digits);
void trace_fmt_nexus(struct tbuf *b, const struct trace_nexus *n);
/* The arguments of a STATUS record: alternatives, then resid=, xfer=, sense=. */
void trace_fmt_status(struct tbuf *b, const struct trace_status *st);
/* Only the alternatives ("GOOD|CHECK UNIT_ATTENTION/0x29/0x00"). */
void trace_fmt_status_alts(struct tbuf *b, const struct trace_status *st);
void trace_fmt_sense_spec(struct tbuf *b, const struct trace_sense_spec *s);
/* "text" with \" and \\ escapes. */
void trace_fmt_quoted(struct tbuf *b, const char *s, size_t len);
/* One line (without its line end) as the printer writes it. */
void trace_fmt_line(struct tbuf *b, const struct trace *t, const struct trace_line *line);
/* The TMF response alternatives ("function-complete|function-succeeded"). */
void trace_fmt_tmf_resps(struct tbuf *b, const struct trace_tmf *tmf);

#endif
