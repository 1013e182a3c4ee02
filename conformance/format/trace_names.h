/* conformance/format/trace_names.h — the words of the trace format: verbs, status and
 * sense key symbols, TMF functions and responses, directives and their
 * arguments.  One table per kind serves the parser, the printer and the
 * reporters, so a word cannot be parseable but unprintable. */
#ifndef CONFORMANCE_TRACE_NAMES_H
#define CONFORMANCE_TRACE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/format/trace.h"

/* A table of words indexed by value; NULL entries have no word. */
struct trace_words {
    const char *const *words;
    size_t n;
};

extern const struct trace_words trace_verb_words;       /* enum trace_verb (DIRECTIVE has none) */
extern const struct trace_words trace_tmf_fn_words;     /* enum trace_tmf_fn */
extern const struct trace_words trace_tmf_resp_words;   /* enum trace_tmf_resp */
extern const struct trace_words trace_directive_words;  /* enum trace_directive_kind */
extern const struct trace_words trace_power_words;      /* enum trace_power_mode */
extern const struct trace_words trace_reset_words;      /* enum trace_reset_scope */
extern const struct trace_words trace_inject_words;     /* enum trace_inject_kind */
extern const struct trace_words trace_media_words;      /* enum trace_media_expect */
extern const struct trace_words trace_device_words;     /* enum trace_device_kind */
extern const struct trace_words trace_host_key_words;   /* enum trace_host_key (@host keys) */
extern const struct trace_words trace_attr_words;       /* enum trace_task_attr (attr=) */
extern const struct trace_words trace_sense_key_words;  /* sense key 0..15 */
extern const struct trace_words trace_match_words;      /* enum trace_match_level (@match, run --match) */
extern const struct trace_words trace_battery_words;    /* enum hba_battery (set battery=, events battery:) */

/* Index of word s[0..len) in the table (exact, case-sensitive), or -1. */
int trace_words_find(const struct trace_words *w, const char *s, size_t len);
/* The entry closest to s[0..len) when it is close enough to be a typo, or NULL. */
const char *trace_words_suggest(const struct trace_words *w, const char *s, size_t len);
/* "a, b, c or d" into buf, for "expected ..." messages. */
const char *trace_words_list(const struct trace_words *w, char *buf, size_t len);
/* The word for value v, or NULL. */
const char *trace_word(const struct trace_words *w, unsigned v);

/* Features a trace may name in @requires that this scsisim knows
 * (docs/trace-format.md, "Device lines"). */
extern const struct trace_words trace_feature_words;
/* True when this scsisim knows the feature (an unknown one is a parse error). */
bool trace_feature_known(const char *name);

/* Status symbols: GOOD CHECK CONDITION_MET BUSY RESV TASK_SET_FULL ACA_ACTIVE
 * TASK_ABORTED SERVICE_FAILURE UNKNOWN (and the long forms CHECK_CONDITION,
 * RESERVATION_CONFLICT on input).  -1 when unknown. */
int trace_status_find(const char *s, size_t len);
/* Symbol for a status code (canonical short form), or NULL. */
const char *trace_status_symbol(unsigned status);
/* "GOOD, CHECK, ..." for messages. */
const char *trace_status_list(void);

#endif
