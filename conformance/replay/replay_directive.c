/* conformance/replay/replay_directive.c — the harness directives of a trace
 * (docs/trace-format.md, "Directives") during a replay: each through its
 * row's run function (conformance/directive/, done to the simulated
 * controller through the stack's test control or through the driver core),
 * and the problems they report. */
#include "conformance/replay/replay_directive.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "conformance/format/directive.h"

void replay_problem(struct replay *rp, size_t line, const char *fmt, ...)
{
    char msg[REPLAY_NOTE_MAX - 32];
    va_list ap;
    va_start(ap, fmt);
    verrf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(rp->engine_note, sizeof rp->engine_note, "line %u: %s", rp->t->lines[line].lineno, msg);
    /* The directive's own failed check (conformance/report/trace_judge.c):
     * a trace whose directive did not happen did not run as written.  Out
     * of memory, the note above is all that is left. */
    struct trace_actual_problem *p = realloc(rp->problems, (rp->n_problems + 1) * sizeof *p);
    if (p) {
        rp->problems = p;
        p[rp->n_problems].line = line;
        snprintf(p[rp->n_problems].msg, sizeof p[rp->n_problems].msg, "%s", msg);
        rp->n_problems++;
    }
    if (rp->o.log)
        fprintf(rp->o.log, "%s:%u: replay: %s\n", rp->t->name, rp->t->lines[line].lineno, msg);
}

bool replay_need_stack(struct replay *rp, size_t line, const char *what)
{
    if (rp->st)
        return true;
    replay_problem(rp, line, "%s: the stack is not open", what);
    return false;
}

struct trace_actual_verdict *replay_verdict_add(struct replay *rp, size_t line)
{
    struct trace_actual_verdict *v = realloc(rp->verdicts, (rp->n_verdicts + 1) * sizeof *v);
    if (!v)
        return NULL;
    rp->verdicts = v;
    v = &rp->verdicts[rp->n_verdicts++];
    memset(v, 0, sizeof *v);
    v->line = line;
    return v;
}

void replay_directive(struct replay *rp, size_t line)
{
    const struct trace_directive_ops *ops = trace_directive_ops(replay_record(rp, line)->directive.kind);
    if (ops && ops->run)
        ops->run(rp, line);
}
