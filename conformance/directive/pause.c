/* conformance/directive/pause.c — pause host SECONDS: the host does not run
 * the driver core for that long, as an overloaded machine or a descheduled
 * VM would.  Its dispatch queue, interrupt handlers and timers are held
 * (osal_user_pause, platform/osal_user.h) while the controller runs on: it
 * is other hardware, so what it completes meanwhile waits for the core.  A
 * driver must then tell time it was not run from time the device took.  A
 * replay needs "simulator" (a real target's host is not ours to stop). */
#include <errno.h>
#include <string.h>

#include "base/tbuf.h"
#include "conformance/format/directive.h"
#include "conformance/format/trace_print.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "platform/osal_user.h"

/* Longer than this is a trace's mistake, not a VM's hiccup: it would only
 * eat the trace's time budget. */
#define PAUSE_MAX_NS (10ull * 1000000000ull)

static int pause_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok;
    if (tp_one_arg(p, &tok, "pause", "pause host 0.3"))
        return -EINVAL;
    if (!tp_tok_is(&tok, "host"))
        return tp_fail(p, tok.col, "pause stops the host, not '%s'; write pause host SECONDS (e.g. pause host 0.3)",
                       tp_tok_str(&tok, shown, sizeof shown));
    int rc = tp_next(p, &tok);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return tp_fail(p, tp_end_col(p), "pause host needs how long, in seconds (e.g. pause host 0.3)");
    if (tp_seconds(p, &tok, "pause", &d->ns))
        return -EINVAL;
    if (d->ns == 0)
        return tp_fail(p, tok.col, "a pause must be more than 0 seconds");
    if (d->ns > PAUSE_MAX_NS)
        return tp_fail(p, tok.col, "pause %s is too long (at most 10 seconds: a longer one only spends the "
                                   "trace's time budget)", tp_tok_str(&tok, shown, sizeof shown));
    return tp_no_more(p, "the pause time");
}

static void pause_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_puts(b, " host ");
    trace_fmt_seconds(b, d->ns, 0);
}

static bool pause_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->ns == b->ns;
}

static const char *pause_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "pause host";
    return "simulator";
}

static void pause_run(struct replay *rp, size_t line)
{
    if (!replay_need_stack(rp, line, "pause host"))
        return;
    int rc = osal_user_pause(stack_osal(rp->st), replay_record(rp, line)->directive.ns);
    if (rc < 0)
        replay_problem(rp, line, "pause host: the driver core's dispatch queue could not be held (%s)",
                       strerror(-rc));
}

const struct trace_directive_ops trace_dir_pause = {
    .parse = pause_parse,
    .print = pause_print,
    .equal = pause_equal,
    .needs = pause_needs,
    .run = pause_run,
};
