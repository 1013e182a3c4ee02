/* conformance/directive/reset.c — reset lun|target|bus|host [fails]: the
 * driver core resets that much of the nexus (a host reset is the controller's
 * hard reset), and the tasks there end without status.  `reset host fails`
 * expects the controller not to come back (a reset-fail rule): the core must
 * say so, not report a reset that worked. */
#include <errno.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "stack/driver_core.h"

static int reset_parse(struct tp *p, struct trace_directive *d)
{
    struct tp_tok tok;
    char list[100];
    int v, rc = tp_next(p, &tok);
    if (rc == 0)
        return tp_fail(p, tp_end_col(p), "reset needs a scope: %s",
                       trace_words_list(&trace_reset_words, list, sizeof list));
    if (rc < 0 || tp_word(p, &tok, &trace_reset_words, "reset scope", &v))
        return -EINVAL;
    d->reset = (enum trace_reset_scope)v;
    if (d->reset == TRACE_RESET_HOST) {
        rc = tp_next(p, &tok);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (tok.len != 5 || memcmp(tok.s, "fails", 5))
                return tp_fail(p, tok.col, "after 'reset host' only 'fails' may follow (the controller must not "
                                           "come back), not '%.*s'", (int)tok.len, tok.s);
            d->reset_fails = true;
        }
    }
    return tp_no_more(p, d->reset_fails ? "'reset host fails'" : "the reset scope");
}

static void reset_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_printf(b, " %s%s", trace_word(&trace_reset_words, d->reset), d->reset_fails ? " fails" : "");
}

static bool reset_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->reset == b->reset && a->reset_fails == b->reset_fails;
}

static bool reset_uses_nexus(const struct trace_directive *d)
{
    (void)d;
    return true;
}

/* The commands the reset reaches end: a LUN's, a target's, a bus's (every
 * target on the channel), or all of them. */
static int reset_tasks(struct tp *p, size_t line)
{
    const struct trace_record *r = tp_record(p, line);
    const struct trace_directive *d = &r->directive;
    struct trace_nexus n = trace_record_nexus(p->t, r);
    if (d->reset == TRACE_RESET_HOST)
        tp_end_tasks(p, line, NULL, false, false, false);
    else
        tp_end_tasks(p, line, &n, d->reset != TRACE_RESET_LUN, d->reset == TRACE_RESET_BUS, false);
    return 0;
}

struct reset_ctx {
    enum hba_reset_scope scope;
    bool done_target[256];
    size_t line;
};

static int reset_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct reset_ctx *x = arg;
    if (x->scope == HBA_RESET_TARGET) {
        if (target < 256 && x->done_target[target])
            return 0;
        if (target < 256)
            x->done_target[target] = true;
    }
    int rc = stack_core_ops(rp->st)->reset(stack_core(rp->st), x->scope, target, lun);
    if (rc < 0)
        replay_problem(rp, x->line, "reset of %u:%u failed (%s)", target, lun, strerror(-rc));
    return 0;
}

static void reset_run(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    if (!replay_need_stack(rp, line, "reset"))
        return;
    struct trace_nexus nx = trace_record_nexus(rp->t, replay_record(rp, line));
    int rc;
    switch (d->reset) {
    case TRACE_RESET_HOST:
        rc = stack_core_ops(rp->st)->reset_controller(stack_core(rp->st), true);
        if (rc < 0 && !d->reset_fails)
            replay_problem(rp, line, "reset host: the controller did not come back (%s)", strerror(-rc));
        if (rc == 0 && d->reset_fails)
            replay_problem(rp, line, "reset host fails: the driver core reported the controller back, "
                                     "the trace says it does not come back (a reset-fail rule)");
        return;
    case TRACE_RESET_BUS:
        rc = stack_core_ops(rp->st)->reset(stack_core(rp->st), HBA_RESET_BUS, 0, 0);
        if (rc < 0)
            replay_problem(rp, line, "reset bus failed (%s)", strerror(-rc));
        return;
    case TRACE_RESET_TARGET:
    case TRACE_RESET_LUN: {
        struct reset_ctx x = { .scope = d->reset == TRACE_RESET_LUN ? HBA_RESET_LUN : HBA_RESET_TARGET, .line = line };
        if (d->reset == TRACE_RESET_TARGET)
            nx.any |= TRACE_ANY_LUN; /* the target, whatever LUN the nexus names */
        if (replay_for_drives(rp, &nx, reset_one, &x) == 0) {
            /* Nothing configured there: the reset still goes to the controller. */
            uint16_t t = (nx.any & TRACE_ANY_TARGET) ? 0 : (uint16_t)nx.target;
            uint16_t l = (nx.any & TRACE_ANY_LUN) ? 0 : (uint16_t)nx.lun;
            reset_one(rp, t, l, &x);
        }
        return;
    }
    }
}

const struct trace_directive_ops trace_dir_reset = {
    .parse = reset_parse,
    .print = reset_print,
    .equal = reset_equal,
    .uses_nexus = reset_uses_nexus,
    .tasks = reset_tasks,
    .run = reset_run,
};
