/* conformance/directive/inject.c — inject RULE: faults in the simulated
 * controller.  iommu-abort / iommu-drop / iommu-fatal set what its IOMMU does
 * with a DMA that has no mapping; hang wedges the firmware (no completions,
 * no heartbeat); drop-next N loses the next N completions at the nexus; fatal
 * [code=N] raises a fatal firmware fault.  A replay needs "fault-injection". */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "sim/sim.h"

static int inject_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48], list[200];
    struct tp_tok tok, key, val;
    int got = tp_next(p, &tok), v;
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "inject needs a rule: %s",
                       trace_words_list(&trace_inject_words, list, sizeof list));
    if (tp_word(p, &tok, &trace_inject_words, "inject rule", &v))
        return -EINVAL;
    d->inject = (enum trace_inject_kind)v;
    if (d->inject == TRACE_INJECT_DROP_NEXT) {
        struct tp_tok n;
        if (tp_one_arg(p, &n, "inject drop-next", "inject drop-next 1"))
            return -EINVAL;
        if (tp_u64(p, &n, "drop-next count", UINT32_MAX, &d->inject_arg))
            return -EINVAL;
        if (d->inject_arg == 0)
            return tp_fail(p, n.col, "drop-next count must be at least 1");
        d->inject_arg_given = true;
        return tp_no_more(p, "inject drop-next N");
    }
    if (d->inject == TRACE_INJECT_FATAL) {
        got = tp_next(p, &tok);
        if (got == 1) {
            if (!tp_split_kv(&tok, &key, &val) || !tp_tok_is(&key, "code"))
                return tp_fail(p, tok.col, "unexpected '%s'; write inject fatal [code=N]",
                               tp_tok_str(&tok, shown, sizeof shown));
            if (tp_u64(p, &val, "fault code", UINT32_MAX, &d->inject_arg))
                return -EINVAL;
            d->inject_arg_given = true;
            return tp_no_more(p, "inject fatal code=N");
        }
        return got;
    }
    return tp_no_more(p, "the inject rule (it takes no arguments)");
}

static void inject_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_printf(b, " %s", trace_word(&trace_inject_words, d->inject));
    if (d->inject == TRACE_INJECT_DROP_NEXT)
        tbuf_printf(b, " %" PRIu64, d->inject_arg);
    else if (d->inject_arg_given)
        tbuf_printf(b, " code=%" PRIu64, d->inject_arg);
}

static bool inject_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->inject == b->inject && a->inject_arg_given == b->inject_arg_given && a->inject_arg == b->inject_arg;
}

/* Only drop-next acts at a nexus; the other rules are the controller's. */
static bool inject_uses_nexus(const struct trace_directive *d)
{
    return d->inject == TRACE_INJECT_DROP_NEXT;
}

static const char *inject_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "inject";
    return "fault-injection";
}

static void inject_run(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    if (!replay_need_stack(rp, line, "inject"))
        return;
    int rc = 0;
    switch (d->inject) {
    case TRACE_INJECT_IOMMU_ABORT:
        rc = stack_set_iommu_policy(rp->st, HBA_IOMMU_POLICY_ABORT);
        break;
    case TRACE_INJECT_IOMMU_DROP:
        rc = stack_set_iommu_policy(rp->st, HBA_IOMMU_POLICY_DROP);
        break;
    case TRACE_INJECT_IOMMU_FATAL:
        rc = stack_set_iommu_policy(rp->st, HBA_IOMMU_POLICY_FATAL);
        break;
    case TRACE_INJECT_HANG:
        /* The trace's hang is a wedged firmware: no completions and no heartbeat. */
        rc = stack_inject(rp->st, SIM_INJECT_HANG, 0);
        if (rc == 0)
            rc = stack_inject(rp->st, SIM_INJECT_STALL_HEARTBEAT, 0);
        break;
    case TRACE_INJECT_DROP_NEXT:
        rc = stack_inject(rp->st, SIM_INJECT_DROP_NEXT,
                          d->inject_arg > UINT32_MAX ? UINT32_MAX : (uint32_t)d->inject_arg);
        break;
    case TRACE_INJECT_FATAL:
        rc = stack_inject(rp->st, SIM_INJECT_FATAL, 0);
        break;
    case TRACE_INJECT_KIND_COUNT:
        break;
    }
    if (rc < 0)
        replay_problem(rp, line, "inject failed (%s)",
                       rc == -ENODEV ? "the controller is powered off" : strerror(-rc));
}

const struct trace_directive_ops trace_dir_inject = {
    .parse = inject_parse,
    .print = inject_print,
    .equal = inject_equal,
    .uses_nexus = inject_uses_nexus,
    .needs = inject_needs,
    .run = inject_run,
};
