/* tests/support/capture_testutil.h — what the capture tests share: a trace
 * through `scsisim export` and back through `scsisim import`; a capture
 * imported in this process (the trace text, which must parse) with
 * assertions on it; and a capture imported and replayed by the scsisim
 * program, as a user would. */
#ifndef TESTS_SUPPORT_CAPTURE_TESTUTIL_H
#define TESTS_SUPPORT_CAPTURE_TESTUTIL_H

#include <stddef.h>

#include "base/located.h"
#include "capture/capture.h"
#include "conformance/format/trace.h"

/* Exports t to path (pcapng when the name ends ".pcapng", else pcap) and
 * imports that capture: the imported trace's text (malloc'd, *len bytes), or
 * NULL with why (wlen bytes) naming the step that failed. */
char *ct_export_import(const struct trace *t, const char *path, size_t *len, char *why, size_t wlen);

/* One capture imported in this process. */
struct ct_import {
    int rc;                      /* capture_import's */
    struct located_error err;
    struct capture_stats st;
    char *text;                  /* the trace (malloc'd; ct_import_free) */
};
/* Imports path with opt (NULL: the defaults); when it succeeds the text must
 * parse as a trace (asserted).  The trace is named by the file's base name. */
void ct_import_file(struct ct_import *r, const char *path, const struct capture_options *opt);
void ct_import_free(struct ct_import *r);
/* The import succeeded and its text holds want / does not hold unwanted. */
void ct_has(const struct ct_import *r, const char *want);
void ct_lacks(const struct ct_import *r, const char *unwanted);
/* `scsisim import CAPTURE -o TRACE` must exit 0 with says in its summary
 * (e.g. "4 commands"), and `scsisim run TRACE` must pass it. */
void ct_import_and_replay(const char *capture, const char *trace, const char *says);

#endif
