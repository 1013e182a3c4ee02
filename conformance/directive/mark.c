/* conformance/directive/mark.c — mark NAME: a named place in the trace
 * (unique), for reports and for the people reading it; a replay does
 * nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_priv.h"

static int mark_parse(struct tp *p, struct trace_directive *d)
{
    struct tp_tok tok;
    int rc = tp_one_arg(p, &tok, "mark", "mark flushed");
    if (rc == 0)
        rc = tp_name(p, &tok, "mark name", d->name);
    if (rc == 0)
        rc = tp_no_more(p, "the mark name");
    return rc;
}

static void mark_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_printf(b, " %s", d->name);
}

static bool mark_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return !strcmp(a->name, b->name);
}

static int mark_tasks(struct tp *p, size_t line)
{
    const struct trace_directive *d = &tp_record(p, line)->directive;
    char key[TRACE_NAME_MAX + 4];
    size_t v;
    snprintf(key, sizeof key, "m:%s", d->name);
    if (trace_map_get(&p->marks, key, &v))
        return tp_fail(p, tp_end_col(p) - (unsigned)strlen(d->name), "mark '%s' is already used at line %zu; "
                       "marks name a place and must be unique", d->name, v);
    if (trace_map_set(&p->marks, key, p->lineno))
        return tp_fail(p, 1, "out of memory");
    return 0;
}

const struct trace_directive_ops trace_dir_mark = {
    .parse = mark_parse,
    .print = mark_print,
    .equal = mark_equal,
    .tasks = mark_tasks,
};
