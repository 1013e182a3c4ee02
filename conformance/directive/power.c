/* conformance/directive/power.c — power-loss [all|random|torn] [seed=N] and
 * power-on: the controller loses power (all unflushed data, random lines of
 * it, or torn writes) and comes back.  A power loss ends every outstanding
 * task; a replay needs "power-cycle". */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "stack/driver_core.h"
#include "sim/sim.h"

static int power_loss_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    int got;
    bool mode_given = false;
    while ((got = tp_next(p, &tok)) == 1) {
        if (tp_split_kv(&tok, &key, &val)) {
            if (!tp_tok_is(&key, "seed"))
                return tp_fail(p, tok.col, "unknown power-loss option '%s'; expected seed=N",
                               tp_tok_str(&key, shown, sizeof shown));
            if (d->seed_given)
                return tp_fail(p, tok.col, "option 'seed' given twice");
            if (tp_u64(p, &val, "seed", UINT64_MAX, &d->seed))
                return -EINVAL;
            d->seed_given = true;
            if (d->power_mode == TRACE_POWER_ALL)
                return tp_fail(p, tok.col, "seed= chooses which lines are lost: it needs power-loss random or torn");
            continue;
        }
        if (mode_given || d->seed_given)
            return tp_fail(p, tok.col, "unexpected '%s'; write power-loss [all|random|torn] [seed=N]",
                           tp_tok_str(&tok, shown, sizeof shown));
        int v;
        if (tp_word(p, &tok, &trace_power_words, "power-loss mode", &v))
            return -EINVAL;
        d->power_mode = (enum trace_power_mode)v;
        mode_given = true;
    }
    return got;
}

static void power_loss_print(struct tbuf *b, const struct trace_directive *d)
{
    if (d->power_mode != TRACE_POWER_ALL)
        tbuf_printf(b, " %s", trace_word(&trace_power_words, d->power_mode));
    if (d->seed_given)
        tbuf_printf(b, " seed=%" PRIu64, d->seed);
}

static bool power_loss_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->power_mode == b->power_mode && a->seed_given == b->seed_given && a->seed == b->seed;
}

/* Whatever was outstanding is gone with the power. */
static int power_loss_tasks(struct tp *p, size_t line)
{
    tp_end_tasks(p, line, NULL, false, false, false);
    return 0;
}

static const char *power_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "power-loss / power-on";
    return "power-cycle";
}

static void power_loss_run(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    if (!replay_need_stack(rp, line, "power-loss") || rp->powered_off)
        return;
    struct sim_power_cut how = { .mode = (enum sim_power_cut_mode)d->power_mode, .seed = d->seed_given ? d->seed : 0 };
    int64_t lost = stack_power_cut(rp->st, &how);
    if (lost < 0)
        replay_problem(rp, line, "power-loss failed (%s)", strerror((int)-lost));
    else
        rp->powered_off = true;
}

static void power_on_run(struct replay *rp, size_t line)
{
    if (!replay_need_stack(rp, line, "power-on"))
        return;
    int rc = stack_power_on(rp->st);
    if (rc == -EALREADY)
        return; /* it never went off: nothing to recover from */
    if (rc < 0) {
        replay_problem(rp, line, "power-on failed (%s)", strerror(-rc));
        return;
    }
    rp->powered_off = false;
    /* The driver core found its controller gone (or will): bring it up
     * from scratch, as the OS does when the device comes back. */
    rc = stack_core_ops(rp->st)->recover(stack_core(rp->st));
    if (rc < 0)
        replay_problem(rp, line, "after power-on the driver core did not bring the controller back (%s)",
                       strerror(-rc));
}

const struct trace_directive_ops trace_dir_power_loss = {
    .parse = power_loss_parse,
    .print = power_loss_print,
    .equal = power_loss_equal,
    .tasks = power_loss_tasks,
    .needs = power_needs,
    .run = power_loss_run,
};

const struct trace_directive_ops trace_dir_power_on = {
    .needs = power_needs,
    .run = power_on_run,
};
