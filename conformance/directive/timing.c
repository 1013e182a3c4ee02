/* conformance/directive/timing.c — within SECONDS [count=N] and wait
 * SECONDS: a deadline for the next N requests at the directive's layer (the
 * parser gives each task its deadline; the replay waits that long at most),
 * and a pause of the replay. */
#include <errno.h>
#include <inttypes.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"

static int within_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    if (tp_one_arg(p, &tok, "within", "within 2.5"))
        return -EINVAL;
    if (tp_seconds(p, &tok, "deadline", &d->ns))
        return -EINVAL;
    if (d->ns == 0)
        return tp_fail(p, tok.col, "a within deadline must be more than 0 seconds");
    d->count = 1;
    int got = tp_next(p, &tok);
    if (got <= 0)
        return got;
    if (!tp_split_kv(&tok, &key, &val) || !tp_tok_is(&key, "count"))
        return tp_fail(p, tok.col, "unexpected '%s'; write within SECONDS [count=N]",
                       tp_tok_str(&tok, shown, sizeof shown));
    uint64_t n;
    if (tp_u64(p, &val, "within count", UINT32_MAX, &n))
        return -EINVAL;
    if (n == 0)
        return tp_fail(p, val.col, "within count must be at least 1");
    d->count = (uint32_t)n;
    d->count_given = true;
    return tp_no_more(p, "within SECONDS count=N");
}

static void within_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_putc(b, ' ');
    trace_fmt_seconds(b, d->ns, 0);
    if (d->count_given)
        tbuf_printf(b, " count=%" PRIu32, d->count);
}

static bool within_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->ns == b->ns && a->count == b->count && a->count_given == b->count_given;
}

/* The deadline waits for its requests (trace_tasks.c gives it to them). */
static int within_tasks(struct tp *p, size_t line)
{
    const struct trace_record *r = tp_record(p, line);
    struct tp_within *w = tp_within_of(p, r->layer);
    if (w->line != TRACE_NONE)
        return tp_fail(p, 1, "the within at line %u still covers %u more request(s) at layer %s; a deadline "
                       "cannot start before the previous one's requests are given",
                       p->t->lines[w->line].lineno, w->remaining, tp_layer_name(r->layer));
    w->line = line;
    w->remaining = r->directive.count;
    return 0;
}

static int wait_parse(struct tp *p, struct trace_directive *d)
{
    struct tp_tok tok;
    int rc = tp_one_arg(p, &tok, "wait", "wait 0.5");
    if (rc == 0)
        rc = tp_seconds(p, &tok, "wait", &d->ns);
    if (rc == 0)
        rc = tp_no_more(p, "the wait time");
    return rc;
}

static void wait_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_putc(b, ' ');
    trace_fmt_seconds(b, d->ns, 0);
}

static bool wait_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->ns == b->ns;
}

static void wait_run(struct replay *rp, size_t line)
{
    replay_sleep_ns(rp, replay_record(rp, line)->directive.ns);
}

const struct trace_directive_ops trace_dir_within = {
    .parse = within_parse,
    .print = within_print,
    .equal = within_equal,
    .tasks = within_tasks,
};

const struct trace_directive_ops trace_dir_wait = {
    .parse = wait_parse,
    .print = wait_print,
    .equal = wait_equal,
    .run = wait_run,
};
