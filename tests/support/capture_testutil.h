/* tests/support/capture_testutil.h — a trace through `scsisim export` and
 * back through `scsisim import`, the round trip several capture tests make. */
#ifndef TESTS_SUPPORT_CAPTURE_TESTUTIL_H
#define TESTS_SUPPORT_CAPTURE_TESTUTIL_H

#include <stddef.h>

#include "conformance/format/trace.h"

/* Exports t to path (pcapng when the name ends ".pcapng", else pcap) and
 * imports that capture: the imported trace's text (malloc'd, *len bytes), or
 * NULL with why (wlen bytes) naming the step that failed. */
char *ct_export_import(const struct trace *t, const char *path, size_t *len, char *why, size_t wlen);

#endif
