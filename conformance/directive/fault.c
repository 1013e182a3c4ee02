/* conformance/directive/fault.c — fault RULE... [expect=refused] | fault
 * clear: a rule of the controller's fault and timing engine
 * (sim/fault/fault.h, docs/faults.md), the same text `scsisim ctl inject` and
 * the configuration's fault= key take, parsed by the same parser; `clear`
 * removes every rule.  With expect=refused the controller must refuse the
 * rule (an action on a drive that is not there, a capacity above the
 * drive's): the refusal passes, an acceptance fails the directive.  A replay
 * needs "fault-injection". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "sim/fault/fault.h"

#define FAULT_WORDS_MAX 32

static int fault_parse(struct tp *p, struct trace_directive *d)
{
    struct tp_tok tok[FAULT_WORDS_MAX];
    size_t at[FAULT_WORDS_MAX]; /* where each word starts in the joined text */
    char text[FAULT_TEXT_MAX + 1];
    size_t len = 0;
    int n = 0, got;
    while ((got = tp_next(p, &tok[n])) == 1) {
        if (tp_tok_is(&tok[n], "expect=refused")) {
            /* Not a word of the rule: what the controller must make of it. */
            if (d->fault_refused)
                return tp_fail(p, tok[n].col, "'expect=refused' is given twice");
            d->fault_refused = true;
            continue;
        }
        if (n + 1 == FAULT_WORDS_MAX)
            return tp_fail(p, tok[n].col, "a fault rule has at most %d words", FAULT_WORDS_MAX - 1);
        if (len + tok[n].len + 1 > FAULT_TEXT_MAX)
            return tp_fail(p, tok[n].col, "a fault rule is at most %u characters", FAULT_TEXT_MAX);
        if (n)
            text[len++] = ' ';
        at[n] = len;
        memcpy(text + len, tok[n].s, tok[n].len);
        len += tok[n].len;
        n++;
    }
    if (got < 0)
        return got;
    text[len] = '\0';
    if (n == 0)
        return tp_fail(p, tp_end_col(p), "fault needs a rule (e.g. fault medium drive=0:0 lba=100) or 'clear'");
    if (n == 1 && !strcmp(text, "clear")) {
        if (d->fault_refused)
            return tp_fail(p, tok[0].col, "fault clear is never refused: leave out expect=refused");
        d->fault = NULL;
        return 0;
    }
    struct fault_rule r;
    char msg[400];
    unsigned col = 1;
    if (fault_rule_parse(text, &r, msg, sizeof msg, &col) < 0) {
        /* Back from the joined text's column to the line's. */
        size_t off = col - 1;
        int w = 0;
        while (w + 1 < n && at[w + 1] <= off)
            w++;
        unsigned line_col = tok[w].col + (unsigned)(off - at[w]);
        if (off >= len)
            line_col = tok[n - 1].col + (unsigned)tok[n - 1].len;
        const char *why = strstr(msg, ": ");
        return tp_fail(p, line_col, "%s", why ? why + 2 : msg);
    }
    struct tbuf b = { 0 };
    fault_rule_format(&r, &b);
    if (b.oom) {
        tbuf_free(&b);
        return tp_fail(p, 1, "out of memory");
    }
    d->fault = strdup(tbuf_str(&b));
    tbuf_free(&b);
    return d->fault ? 0 : tp_fail(p, 1, "out of memory");
}

static void fault_print(struct tbuf *b, const struct trace_directive *d)
{
    tbuf_printf(b, " %s%s", d->fault ? d->fault : "clear", d->fault_refused ? " expect=refused" : "");
}

static bool fault_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->fault_refused == b->fault_refused &&
           ((!a->fault && !b->fault) || (a->fault && b->fault && !strcmp(a->fault, b->fault)));
}

static void fault_free(struct trace_directive *d)
{
    free(d->fault);
    d->fault = NULL;
}

static const char *fault_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "fault";
    return "fault-injection";
}

static void fault_run(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    if (!replay_need_stack(rp, line, "fault"))
        return;
    char err[300] = "";
    int rc = d->fault ? stack_fault_add(rp->st, d->fault, err, sizeof err) : stack_fault_clear(rp->st);
    if (d->fault_refused && rc == 0)
        replay_problem(rp, line, "fault %s was accepted; the trace expects the controller to refuse it", d->fault);
    else if (rc < 0 && !d->fault_refused)
        replay_problem(rp, line, "fault failed: %s", err[0] ? err : strerror(-rc));
}

const struct trace_directive_ops trace_dir_fault = {
    .parse = fault_parse,
    .print = fault_print,
    .equal = fault_equal,
    .free = fault_free,
    .needs = fault_needs,
    .run = fault_run,
};
