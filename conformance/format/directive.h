/* conformance/format/directive.h — what a harness directive is made of: one
 * row of functions per directive (directive_list.h lists them), so the parser,
 * the printer, the comparison, the task bookkeeping, the replay's feature
 * check and the replay itself each make one call through the row instead of
 * a switch of their own.
 *
 * format/ only declares the rows; they are defined with their functions in
 * conformance/directive/ (one file per family: power, reset, unit attention,
 * injection, media checks, hold/release, timing, marks), which sits on top of
 * both format/ (the parser's state) and replay/ (the replay engine's). */
#ifndef CONFORMANCE_FORMAT_DIRECTIVE_H
#define CONFORMANCE_FORMAT_DIRECTIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "conformance/format/trace.h"

struct replay;
struct tbuf;
struct tp;

/* Every member may be NULL: the directive has nothing of that kind. */
struct trace_directive_ops {
    /* Reads the arguments after the directive's word into d (the parser's
     * token reader; messages through tp_fail).  0 or -EINVAL.  NULL: it takes
     * no arguments. */
    int  (*parse)(struct tp *p, struct trace_directive *d);
    /* Writes the arguments in canonical form, each after a blank (the word
     * is already written).  NULL: no arguments. */
    void (*print)(struct tbuf *b, const struct trace_directive *d);
    /* True when a and b (of this kind) say the same.  NULL: always. */
    bool (*equal)(const struct trace_directive *a, const struct trace_directive *b);
    /* Frees what d owns.  NULL: it owns nothing. */
    void (*free)(struct trace_directive *d);
    /* True when the directive applies to a nexus (the NEXUS column may name
     * one).  NULL: it applies to none ('-'). */
    bool (*uses_nexus)(const struct trace_directive *d);
    /* What the directive at t->lines[line] means for the tasks around it
     * (ends them, holds one, sets deadlines), checked against what came
     * before.  0 or -EINVAL (tp_fail).  NULL: nothing. */
    int  (*tasks)(struct tp *p, size_t line);
    /* The feature (docs/trace-format.md, "Device lines") a replay needs to
     * do record r, with *what saying which record for the skip reason.
     * NULL, or a function returning NULL: none. */
    const char *(*needs)(const struct trace_record *r, const char **what);
    /* Does the directive at rp->t->lines[line] during a replay; what goes
     * wrong becomes a note (replay_problem).  NULL: nothing to do. */
    void (*run)(struct replay *rp, size_t line);
};

#define TRACE_DIRECTIVE(kind, word, ops) extern const struct trace_directive_ops ops;
#include "conformance/format/directive_list.h"
#undef TRACE_DIRECTIVE

/* The rows, indexed by enum trace_directive_kind (conformance/directive/table.c). */
extern const struct trace_directive_ops *const trace_directive_table[TRACE_DIR_KIND_COUNT];

static inline const struct trace_directive_ops *trace_directive_ops(enum trace_directive_kind kind)
{
    return (unsigned)kind < TRACE_DIR_KIND_COUNT ? trace_directive_table[kind] : NULL;
}

#endif
