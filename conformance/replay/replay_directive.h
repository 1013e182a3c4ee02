/* conformance/replay/replay_directive.h — what a directive's run function
 * (conformance/directive/) may use of the replay engine besides its state
 * (replay_priv.h). */
#ifndef CONFORMANCE_REPLAY_REPLAY_DIRECTIVE_H
#define CONFORMANCE_REPLAY_REPLAY_DIRECTIVE_H

#include "conformance/replay/replay_priv.h"

/* The record of the directive at rp->t->lines[line]. */
static inline const struct trace_record *replay_record(const struct replay *rp, size_t line)
{
    return &rp->t->lines[line].record;
}

/* A directive that could not do its job: the reason goes to the log and
 * becomes the note of later commands that fail without one of their own. */
void replay_problem(struct replay *rp, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True when the stack is open; else a problem "WHAT: the stack is not open". */
bool replay_need_stack(struct replay *rp, size_t line, const char *what);
/* A new verdict of a directive that is one check of its own (rogue,
 * events), zeroed but for its line; NULL out of memory. */
struct trace_actual_verdict *replay_verdict_add(struct replay *rp, size_t line);

#endif
