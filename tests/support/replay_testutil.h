/* tests/support/replay_testutil.h — what the replay tests share: replaying a
 * trace given as text, finding a check by its line and the fixture folder
 * tests/data/replay.  (Running the built scsisim: tests/support/proc.h.) */
#ifndef TESTS_SUPPORT_REPLAY_TESTUTIL_H
#define TESTS_SUPPORT_REPLAY_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "conformance/replay/replay.h"

/* Test defaults: in-process, a short driver timeout (300 ms) so recovery
 * from dropped commands is quick, 5 s per command, 20 s per trace. */
void rt_options(struct replay_options *o);

/* Parses text as "t.trace" (asserting it parses) and replays it into run
 * (initialised by the caller); returns the file result. */
const struct trace_file_result *rt_replay(const char *text, const struct replay_options *o, struct trace_run *run);

/* The check whose request line is `line` (asserting there is one). */
const struct trace_check *rt_check(const struct trace_file_result *f, unsigned line);
/* Asserts that every check passed (naming the first that did not, with its
 * note) and that the trace's outcome is PASS. */
void rt_assert_passed(const struct trace_file_result *f);
/* The number of failed checks. */
size_t rt_failed(const struct trace_file_result *f);

/* tests/data/replay/name into buf. */
const char *rt_data(const char *name, char *buf, size_t len);

#endif
