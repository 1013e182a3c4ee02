/* conformance/directive/discover.c — discover [T:L[=KEY/ASC/ASCQ]]...
 * [targets=N] [dropped=N] [ready-timeout=SECONDS]: the driver core's
 * discovery runs again where the directive stands (a host's rescan, through
 * the driver-core ABI's discover entry, on the probe's own I_T nexus), and
 * the units it found must be exactly these, in target, LUN order: T:L a unit
 * that answered TEST UNIT READY with GOOD, T:L=KEY/ASC/ASCQ one found but not
 * ready, with the sense that said so.  targets= is how many targets answered
 * REPORT LUNS, dropped= how many the core gave up on (field bug F3); each is
 * checked only when written.  ready-timeout= is how long a unit may stay
 * BECOMING READY (the replay's attach discovery waits 1 ms, the default
 * here too).  So a trace judges discovery itself, not only through the
 * targets a replay keeps.  A replay needs "simulator". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/tbuf.h"
#include "conformance/format/directive.h"
#include "conformance/format/trace_print.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "conformance/replay/replay_priv.h"
#include "core/discovery.h"
#include "stack/driver_core.h"

#define DISC_READY_DEFAULT_MS 1u /* as the replay's discovery at attach */

/* One unit, "T:L" or "T:L=KEY/0xAA/0xBB", appended with a blank before it
 * when the buffer holds something already. */
static void unit_fmt(struct tbuf *b, unsigned target, unsigned lun, bool ready, const struct trace_sense_spec *s)
{
    tbuf_printf(b, "%s%u:%u", b->len ? " " : "", target, lun);
    if (!ready) {
        tbuf_putc(b, '=');
        trace_fmt_sense_spec(b, s);
    }
}

static int unit_parse(struct tp *p, const struct tp_tok *tok, struct tbuf *units)
{
    char shown[64];
    const char *eq = memchr(tok->s, '=', tok->len);
    struct tp_tok addr = { tok->s, eq ? (size_t)(eq - tok->s) : tok->len, tok->col };
    const char *colon = memchr(addr.s, ':', addr.len);
    if (!colon)
        return tp_fail(p, tok->col, "unexpected '%s'; a unit is TARGET:LUN, or TARGET:LUN=KEY/ASC/ASCQ when it is "
                       "not ready (e.g. 1:0=NOT_READY/0x04/0x01)", tp_tok_str(tok, shown, sizeof shown));
    struct tp_tok t = { addr.s, (size_t)(colon - addr.s), addr.col };
    struct tp_tok l = { colon + 1, addr.len - t.len - 1, addr.col + (unsigned)t.len + 1 };
    uint64_t target, lun;
    if (tp_u64(p, &t, "target", UINT16_MAX, &target) || tp_u64(p, &l, "LUN", UINT16_MAX, &lun))
        return -EINVAL;
    struct trace_sense_spec s = { 0 };
    if (eq) {
        struct tp_tok sense = { eq + 1, tok->len - addr.len - 1, tok->col + (unsigned)addr.len + 1 };
        if (tp_sense_spec(p, &sense, &s))
            return -EINVAL;
        if (s.asc_any || s.ascq_any)
            return tp_fail(p, sense.col, "a unit's sense names its ASC and ASCQ (no wildcards): discovery keeps both");
    }
    unit_fmt(units, (unsigned)target, (unsigned)lun, !eq, &s);
    return 0;
}

static int discover_parse(struct tp *p, struct trace_directive *d)
{
    char shown[64];
    struct tp_tok tok, key, val;
    struct tbuf units = { 0 };
    int got, rc = 0;
    while (rc == 0 && (got = tp_next(p, &tok)) == 1) {
        if (!tp_split_kv(&tok, &key, &val) || memchr(key.s, ':', key.len)) {
            rc = unit_parse(p, &tok, &units);
            continue;
        }
        uint64_t v;
        if (tp_tok_is(&key, "targets") || tp_tok_is(&key, "dropped")) {
            bool targets = tp_tok_is(&key, "targets");
            if ((targets ? d->disc_targets_given : d->disc_dropped_given)) {
                rc = tp_fail(p, key.col, "%s= is given twice", targets ? "targets" : "dropped");
            } else if ((rc = tp_u64(p, &val, targets ? "targets" : "dropped", UINT16_MAX, &v)) == 0) {
                *(targets ? &d->disc_targets : &d->disc_dropped) = (uint32_t)v;
                *(targets ? &d->disc_targets_given : &d->disc_dropped_given) = true;
            }
        } else if (tp_tok_is(&key, "ready-timeout")) {
            if ((rc = tp_seconds(p, &val, "ready-timeout", &d->ns)) == 0 && (d->ns < 1000000u || d->ns > 60000000000u))
                rc = tp_fail(p, val.col, "ready-timeout is 0.001 to 60 seconds");
        } else {
            rc = tp_fail(p, key.col, "unknown discover key '%s'; expected targets=, dropped= or ready-timeout=",
                         tp_tok_str(&key, shown, sizeof shown));
        }
    }
    if (rc == 0 && got < 0)
        rc = got;
    if (rc == 0 && !(d->disc_units = strdup(tbuf_str(&units))))
        rc = tp_fail(p, 1, "out of memory");
    tbuf_free(&units);
    return rc;
}

static void discover_print(struct tbuf *b, const struct trace_directive *d)
{
    if (d->disc_units && d->disc_units[0])
        tbuf_printf(b, " %s", d->disc_units);
    if (d->disc_targets_given)
        tbuf_printf(b, " targets=%" PRIu32, d->disc_targets);
    if (d->disc_dropped_given)
        tbuf_printf(b, " dropped=%" PRIu32, d->disc_dropped);
    if (d->ns) {
        tbuf_puts(b, " ready-timeout=");
        trace_fmt_seconds(b, d->ns, 0);
    }
}

static bool discover_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return !strcmp(a->disc_units ? a->disc_units : "", b->disc_units ? b->disc_units : "") &&
           a->disc_targets_given == b->disc_targets_given && a->disc_targets == b->disc_targets &&
           a->disc_dropped_given == b->disc_dropped_given && a->disc_dropped == b->disc_dropped && a->ns == b->ns;
}

static void discover_free(struct trace_directive *d)
{
    free(d->disc_units);
    d->disc_units = NULL;
}

static const char *discover_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "discover";
    return "simulator";
}

/* What the core found, in the words discover_print writes for d. */
static void found_text(const struct trace_directive *d, const struct drv_disc_result *res, struct tbuf *b)
{
    struct tbuf units = { 0 };
    for (size_t i = 0; i < res->count; i++) {
        const struct drv_disc_lun *l = &res->luns[i];
        struct trace_sense_spec s = { .key = l->sense_key, .asc = l->asc, .ascq = l->ascq };
        unit_fmt(&units, l->target, l->lun, l->ready, &s);
    }
    struct trace_directive got = *d;
    got.disc_units = (char *)tbuf_str(&units);
    got.disc_targets = res->targets_answering;
    got.disc_dropped = res->targets_dropped;
    discover_print(b, &got);
    tbuf_free(&units);
}

static void discover_run(struct replay *rp, size_t line)
{
    struct trace_actual_disc *m = realloc(rp->discs, (rp->n_discs + 1) * sizeof *m);
    if (!m) {
        replay_problem(rp, line, "discover: out of memory");
        return;
    }
    rp->discs = m;
    m = &rp->discs[rp->n_discs++];
    memset(m, 0, sizeof *m);
    m->line = line;
    if (!replay_need_stack(rp, line, "discover")) {
        snprintf(m->note, sizeof m->note, "the stack is not open");
        return;
    }
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    struct drv_disc_options o = {
        .initiator = REPLAY_PROBE_INITIATOR,
        .ready_timeout_ms = d->ns ? (uint32_t)(d->ns / 1000000u) : DISC_READY_DEFAULT_MS,
        .ready_poll_ms = 1,
    };
    struct drv_disc_result res;
    const struct scsisim_driver_core *core = stack_core_ops(rp->st);
    int rc = core->discover(stack_core(rp->st), &o, &res);
    if (rc < 0) {
        snprintf(m->note, sizeof m->note, "the driver core's discovery failed (%s)", strerror(-rc));
        return;
    }
    struct tbuf b = { 0 };
    found_text(d, &res, &b);
    const char *s = tbuf_str(&b);
    snprintf(m->found, sizeof m->found, "%s", s + (*s == ' '));
    m->ran = true;
    tbuf_free(&b);
    core->disc_result_free(&res);
}

const struct trace_directive_ops trace_dir_discover = {
    .parse = discover_parse,
    .print = discover_print,
    .equal = discover_equal,
    .free = discover_free,
    .needs = discover_needs,
    .run = discover_run,
};
