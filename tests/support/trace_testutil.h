/* tests/support/trace_testutil.h — what the trace tests share: parsing from a string,
 * the fixture folder, and small well-formedness checkers for the XML and JSON
 * the reporters write (so the tests do not depend on external tools). */
#ifndef TESTS_SUPPORT_TRACE_TESTUTIL_H
#define TESTS_SUPPORT_TRACE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "conformance/replay/trace_sim.h"

/* tests/data/traces (found relative to this source file, as make runs tests
 * from the top of the tree). */
const char *tt_data_dir(void);
/* tt_data_dir()/sub/name into buf. */
const char *tt_data_path(const char *sub, const char *name, char *buf, size_t len);

/* Parses text (name "t.trace"); returns the trace or NULL with *err filled. */
struct trace *tt_parse(const char *text, struct located_error *err);
/* Parses text that must fail; returns the formatted error (static buffer). */
const char *tt_parse_error(const char *text, size_t len, struct located_error *err);

/* A trace of the version line and `line` must fail at t.trace:2:col with a
 * message holding fragment: true, else false with why (len bytes) saying
 * what came instead. */
bool tt_line_fails_at(const char *line, unsigned col, const char *fragment, char *why, size_t len);

/* Reads a whole file (malloc'ed, NUL-terminated); NULL on failure. */
char *tt_read_file(const char *path, size_t *len);

/* Sorted names of the files in dir ending in ".trace"; *n entries; free with tt_free_names. */
char **tt_list_traces(const char *dir, size_t *n);
void tt_free_names(char **names, size_t n);

/* XML well-formedness (XML 1.0 subset the reporters use: declaration,
 * elements, attributes, character data, entity and character references).
 * On success fills up to max element records (depth and name) in document
 * order.  Returns NULL when well-formed, else a message with the byte offset. */
struct tt_xml_element {
    int  depth;
    char name[32];
};
const char *tt_xml_check(const char *doc, size_t len, struct tt_xml_element *elems, size_t max, size_t *n_elems);

/* JSON well-formedness (RFC 8259); NULL when valid, else a message. */
const char *tt_json_check(const char *doc, size_t len);

#endif
