/* tests/support/replay_testutil.c — see replay_testutil.h. */
#include "tests/support/replay_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/testutil.h"
#include "tests/support/trace_testutil.h"

void rt_options(struct replay_options *o)
{
    replay_options_init(o);
    /* Short, so a dropped command is recovered quickly; long enough that a
     * command that works is never aborted on a loaded machine. */
    o->driver_timeout_ms = 1000;
    o->command_timeout_ns = 5ull * 1000000000u;
    o->trace_timeout_ns = 20ull * 1000000000u;
}

const struct trace_file_result *rt_replay(const char *text, const struct replay_options *o, struct trace_run *run)
{
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    if (!t) {
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        ck_abort_msg("the test trace does not parse: %s", msg);
    }
    ck_assert_int_eq(replay_trace(t, o, run), 0);
    trace_free(t);
    ck_assert_uint_ge(run->n_files, 1);
    return &run->files[run->n_files - 1];
}

const struct trace_check *rt_check(const struct trace_file_result *f, unsigned line)
{
    for (size_t i = 0; i < f->n_checks; i++)
        if (f->checks[i].line == line)
            return &f->checks[i];
    ck_abort_msg("no check at line %u (%zu checks)", line, f->n_checks);
    return NULL;
}

size_t rt_failed(const struct trace_file_result *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_checks; i++)
        n += !f->checks[i].pass;
    return n;
}

const char *rt_data(const char *name, char *buf, size_t len)
{
    return tt_data_path("../replay", name, buf, len);
}

void rt_assert_passed(const struct trace_file_result *f)
{
    for (size_t i = 0; i < f->n_checks; i++)
        ck_assert_msg(f->checks[i].pass, "line %u failed: %s%s%s", f->checks[i].line, f->checks[i].summary,
                      f->checks[i].detail && f->checks[i].detail->note[0] ? " — " : "",
                      f->checks[i].detail ? f->checks[i].detail->note : "");
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_PASS);
}
