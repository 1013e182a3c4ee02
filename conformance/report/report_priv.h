/* conformance/report/report_priv.h — what the reporters share: escaping text for
 * XML, JSON and YAML (control characters and invalid UTF-8 never reach the
 * output raw), seconds, and writing a buffer out. */
#ifndef CONFORMANCE_REPORT_PRIV_H
#define CONFORMANCE_REPORT_PRIV_H

#include <stdio.h>

#include "conformance/report/report.h"
#include "base/tbuf.h"

/* XML character data or attribute value (& < > " ' escaped; characters XML
 * 1.0 forbids and invalid UTF-8 become U+FFFD; in an attribute, line ends
 * and tabs become character references). */
void report_xml_escape(struct tbuf *b, const char *s, bool attribute);
/* A JSON string literal, quotes included. */
void report_json_string(struct tbuf *b, const char *s);
/* A YAML double-quoted scalar, quotes included. */
void report_yaml_string(struct tbuf *b, const char *s);
/* Seconds with 6 decimals ("0.012345"). */
void report_seconds(struct tbuf *b, uint64_t ns);
/* Writes b to out: 0, -ENOMEM (b ran out of memory) or -EIO. */
int report_flush(struct tbuf *b, FILE *out);
/* The known fields of data-in that differ (INQUIRY vendor / product /
 * revision, READ CAPACITY last LBA and block length), one line each:
 * "    field     vendor: expected 'WRONG   ', actual 'SCSISIM '". */
struct trace_data_diff;
void report_describe_fields(struct tbuf *b, const uint8_t *cdb, size_t cdb_len, const struct trace_data_diff *d);

#endif
