/* conformance/directive/hold.c — hold TAG and release TAG: the CMD with that
 * tag (the next one at the directive's layer) is submitted without waiting
 * for it, and waited for at the release, so commands after it run while it
 * is outstanding.  At layer C (the controller holding a command) a replay
 * needs "controller-hold". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"

static int tag_arg(struct tp *p, struct trace_directive *d, const char *directive, const char *example)
{
    struct tp_tok tok;
    int rc = tp_one_arg(p, &tok, directive, example);
    if (rc == 0)
        rc = tp_tag(p, &tok, "task tag", d->tag);
    if (rc == 0)
        rc = tp_no_more(p, "the task tag");
    return rc;
}

static int hold_parse(struct tp *p, struct trace_directive *d)
{
    return tag_arg(p, d, "hold", "hold t1");
}

static int release_parse(struct tp *p, struct trace_directive *d)
{
    return tag_arg(p, d, "release", "release t1");
}

static void tag_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_printf(b, " %s", d->tag);
}

static bool tag_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return !strcmp(a->tag, b->tag);
}

/* The hold waits in p->holds for its CMD (trace_tasks.c attaches it). */
static int hold_tasks(struct tp *p, size_t line)
{
    const struct trace_record *r = tp_record(p, line);
    const struct trace_directive *d = &r->directive;
    char key[TRACE_NAME_MAX + 4];
    size_t v;
    tp_tag_key(key, sizeof key, r->layer, d->tag);
    if (trace_map_get(&p->open, key, &v))
        return tp_fail(p, tp_end_col(p) - (unsigned)strlen(d->tag),
                       "hold %s: the command %s is already outstanding (line %u); put the hold before its CMD",
                       d->tag, d->tag, p->t->lines[p->t->tasks[v].request].lineno);
    if (trace_map_get(&p->holds, key, &v))
        return tp_fail(p, tp_end_col(p) - (unsigned)strlen(d->tag), "%s is already held (line %u)", d->tag,
                       p->t->lines[v].lineno);
    if (trace_map_set(&p->holds, key, line))
        return tp_fail(p, 1, "out of memory");
    return 0;
}

static int release_tasks(struct tp *p, size_t line)
{
    const struct trace_record *r = tp_record(p, line);
    const struct trace_directive *d = &r->directive;
    char key[TRACE_NAME_MAX + 4];
    size_t v;
    unsigned col = tp_end_col(p) - (unsigned)strlen(d->tag);
    tp_tag_key(key, sizeof key, r->layer, d->tag);
    if (trace_map_get(&p->holds, key, &v))
        return tp_fail(p, col, "release %s comes before the held CMD %s; release it after the CMD", d->tag, d->tag);
    if (!trace_map_get(&p->open, key, &v) || p->t->tasks[v].held_by == TRACE_NONE)
        return tp_fail(p, col, "release %s: no held command %s is outstanding at layer %s (hold it with 'hold "
                       "%s' before its CMD)", d->tag, d->tag, tp_layer_name(r->layer), d->tag);
    if (p->t->tasks[v].released_by != TRACE_NONE)
        return tp_fail(p, col, "%s was already released at line %u", d->tag,
                       p->t->lines[p->t->tasks[v].released_by].lineno);
    p->t->tasks[v].released_by = line;
    return 0;
}

static const char *hold_needs(const struct trace_record *r, const char **what)
{
    if (r->layer != TRACE_LAYER_CONTROLLER)
        return NULL;
    *what = "hold / release at layer C (the controller holding a command)";
    return "controller-hold";
}

/* The CMD it holds is simply not waited for (the replay's walk); the
 * release waits for it. */
static void release_run(struct replay *rp, size_t line)
{
    for (size_t i = 0; i < rp->t->n_tasks; i++)
        if (rp->t->tasks[i].released_by == line) {
            replay_wait(rp, &rp->tasks[i]);
            return;
        }
}

const struct trace_directive_ops trace_dir_hold = {
    .parse = hold_parse,
    .print = tag_print,
    .equal = tag_equal,
    .tasks = hold_tasks,
    .needs = hold_needs,
};

const struct trace_directive_ops trace_dir_release = {
    .parse = release_parse,
    .print = tag_print,
    .equal = tag_equal,
    .tasks = release_tasks,
    .needs = hold_needs,
    .run = release_run,
};
