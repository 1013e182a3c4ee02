/* conformance/format/match.h — comparing what a trace expects with what happened:
 * data bytes against a pattern (masks, don't-care bytes, repeats, ".."),
 * sense data against key/asc/ascq whatever its format (fixed 70h/71h or
 * descriptor 72h/73h, normalized by scsi_sense_parse), a status against a list
 * of acceptable ones, a TMF response against its acceptable list.
 *
 * A data comparison yields a structured diff: how many bytes differ, the first
 * differing ranges, and a window of expected/actual bytes around the first
 * difference for side-by-side reports.  Nothing here allocates. */
#ifndef CONFORMANCE_MATCH_H
#define CONFORMANCE_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/format/trace.h"
#include "scsi/sense.h"

#define TRACE_DIFF_RANGES 8   /* differing ranges kept (the first ones) */
#define TRACE_DIFF_WINDOW 64  /* bytes shown around the first difference */
#define TRACE_DIFF_HEAD   256 /* leading actual bytes kept to find fields in variable layouts */

struct trace_diff_range {
    uint64_t offset, length;
};

/* flags[] of the window */
enum { TRACE_DIFF_HAS_EXPECTED = 1, TRACE_DIFF_HAS_ACTUAL = 2, TRACE_DIFF_DIFFERS = 4 };

struct trace_data_diff {
    bool     match;
    uint64_t expected_len;     /* bytes the pattern describes */
    bool     expected_rest;    /* the pattern ends with "..": further bytes are not compared */
    uint64_t actual_len;
    uint64_t differing;        /* bytes present on both sides that differ */
    bool     too_short;        /* actual ends before the pattern does */
    bool     too_long;         /* actual continues past a pattern without ".." */
    size_t   n_ranges;         /* differing, missing or extra byte ranges, in offset order */
    struct trace_diff_range ranges[TRACE_DIFF_RANGES];
    bool     more_ranges;      /* ranges beyond the first TRACE_DIFF_RANGES were dropped */
    /* Window: bytes [window_offset, window_offset + window_len), 16-byte aligned,
     * starting at the first difference's row. */
    uint64_t window_offset;
    uint32_t window_len;
    uint8_t  exp_value[TRACE_DIFF_WINDOW], exp_mask[TRACE_DIFF_WINDOW], actual[TRACE_DIFF_WINDOW];
    uint8_t  flags[TRACE_DIFF_WINDOW];
    /* The first head_len actual bytes, whatever the window: where a layout is
     * variable (mode pages), the reporter walks it to find its fields. */
    uint32_t head_len;
    uint8_t  head[TRACE_DIFF_HEAD];
};

/* Compares len bytes of actual with the pattern; fills *d (always). */
void trace_match_data(const struct trace_pattern *p, const uint8_t *actual, size_t len, struct trace_data_diff *d);

/* True when decoded sense matches key/asc/ascq ("??" matches anything). */
bool trace_match_sense_spec(const struct trace_sense_spec *s, const struct scsi_sense_info *info);

struct trace_status_match {
    bool ok;                  /* some alternative accepts the status (and its sense) */
    int  alt;                 /* the first accepting alternative, or -1 */
    bool status_listed;       /* some alternative has this status code (the sense may be what differs) */
    bool sense_valid;         /* the sense bytes parsed */
    struct scsi_sense_info sense;
};
/* status: a SCSI status byte or TRACE_STATUS_SERVICE_FAILURE.  Checks the
 * alternatives only (resid=, xfer= and sense= are separate checks). */
bool trace_match_status(const struct trace_status *exp, unsigned status, const uint8_t *sense, size_t sense_len,
                        struct trace_status_match *out);

/* True when some alternative is UNKNOWN (no response observed): then any
 * outcome, a missing response included, is accepted. */
bool trace_status_unknown(const struct trace_status *exp);
bool trace_match_tmf(const struct trace_tmf *exp, enum trace_tmf_resp actual);

#endif
