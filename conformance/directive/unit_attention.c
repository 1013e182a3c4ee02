/* conformance/directive/unit_attention.c — ua ASC/ASCQ: the controller
 * raises a unit attention on the drives at the directive's nexus, for one
 * initiator (its host number) or all ('*').  A replay needs "simulator". */
#include <errno.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"

static int ua_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok;
    if (tp_one_arg(p, &tok, "ua", "ua 0x29/0x00"))
        return -EINVAL;
    const char *slash = memchr(tok.s, '/', tok.len);
    if (!slash)
        return tp_fail(p, tok.col, "bad unit attention '%s'; expected ASC/ASCQ (e.g. 0x29/0x00 or 2a/09)",
                       tp_tok_str(&tok, shown, sizeof shown));
    struct tp_tok asc = { tok.s, (size_t)(slash - tok.s), tok.col };
    struct tp_tok ascq = { slash + 1, tok.len - asc.len - 1, tok.col + (unsigned)asc.len + 1 };
    if (tp_hex_byte(p, &asc, "ASC", &d->asc) || tp_hex_byte(p, &ascq, "ASCQ", &d->ascq))
        return -EINVAL;
    return tp_no_more(p, "the unit attention");
}

static void ua_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_printf(b, " 0x%02x/0x%02x", d->asc, d->ascq);
}

static bool ua_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->asc == b->asc && a->ascq == b->ascq;
}

static bool ua_uses_nexus(const struct trace_directive *d)
{
    (void)d;
    return true;
}

static const char *ua_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "ua";
    return "simulator";
}

struct ua_ctx {
    int initiator;
    uint16_t code;
    size_t line;
};

static int ua_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct ua_ctx *x = arg;
    int rc = stack_raise_ua(rp->st, target, lun, x->initiator, x->code);
    if (rc < 0)
        replay_problem(rp, x->line, "ua on %u:%u failed (%s)", target, lun, strerror(-rc));
    return 0;
}

static void ua_run(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    if (!replay_need_stack(rp, line, "ua"))
        return;
    struct trace_nexus nx = trace_record_nexus(rp->t, replay_record(rp, line));
    struct ua_ctx x = { .code = (uint16_t)(d->asc << 8 | d->ascq), .line = line };
    x.initiator = (nx.any & TRACE_ANY_HOST) ? -1 : nx.host < HBA_MAX_INITIATORS ? (int)nx.host : -2;
    if (x.initiator == -2) {
        replay_problem(rp, line, "ua: initiator %u is beyond the controller's %u I_T nexuses", nx.host,
                       HBA_MAX_INITIATORS);
        return;
    }
    if (replay_for_drives(rp, &nx, ua_one, &x) == 0)
        replay_problem(rp, line, "ua: no drive at the directive's nexus");
}

const struct trace_directive_ops trace_dir_ua = {
    .parse = ua_parse,
    .print = ua_print,
    .equal = ua_equal,
    .uses_nexus = ua_uses_nexus,
    .needs = ua_needs,
    .run = ua_run,
};
