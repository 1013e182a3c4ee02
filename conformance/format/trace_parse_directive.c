/* conformance/format/trace_parse_directive.c — TMF records and the harness
 * directives (DIR '!'): their arguments, checked one by one. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <string.h>

#include "conformance/format/trace_names.h"

/* A word from a table, with "did you mean" or the list of words on failure. */
static int word(struct tp *p, const struct tp_tok *tok, const struct trace_words *w, const char *what, int *out)
{
    char shown[48], list[300];
    int v = trace_words_find(w, tok->s, tok->len);
    *out = 0;
    if (v >= 0) {
        *out = v;
        return 0;
    }
    const char *near = trace_words_suggest(w, tok->s, tok->len);
    if (near)
        return tp_fail(p, tok->col, "unknown %s '%s'; did you mean '%s'?", what, tp_tok_str(tok, shown, sizeof shown),
                       near);
    return tp_fail(p, tok->col, "unknown %s '%s'; expected %s", what, tp_tok_str(tok, shown, sizeof shown),
                   trace_words_list(w, list, sizeof list));
}

static int no_more(struct tp *p, const char *after)
{
    char shown[48];
    struct tp_tok tok;
    int got = tp_next(p, &tok);
    if (got == 1)
        return tp_fail(p, tok.col, "unexpected '%s' after %s", tp_tok_str(&tok, shown, sizeof shown), after);
    return got;
}

static int tmf_responses(struct tp *p, struct trace_tmf *tmf)
{
    struct tp_tok tok;
    int got;
    unsigned bars = 0, bar_col = 0;
    bool seen = false;
    while ((got = tp_next(p, &tok)) == 1) {
        size_t i = 0;
        while (i < tok.len) {
            if (tok.s[i] == '|') {
                bar_col = tok.col + (unsigned)i;
                if (!seen || ++bars > 1)
                    return tp_fail(p, bar_col, "missing TMF response %s '|'", seen ? "between two" : "before");
                i++;
                continue;
            }
            size_t a = i;
            while (i < tok.len && tok.s[i] != '|')
                i++;
            struct tp_tok pc = { tok.s + a, i - a, tok.col + (unsigned)a };
            if (seen && bars == 0)
                return tp_fail(p, pc.col, "separate acceptable TMF responses with '|'");
            int v;
            if (word(p, &pc, &trace_tmf_resp_words, "TMF response", &v))
                return -EINVAL;
            if (tmf->n_resps == TRACE_TMF_RESP_COUNT)
                return tp_fail(p, pc.col, "too many TMF responses");
            tmf->resps[tmf->n_resps++] = (enum trace_tmf_resp)v;
            seen = true;
            bars = 0;
        }
    }
    if (got < 0)
        return got;
    if (bars)
        return tp_fail(p, bar_col + 1, "missing TMF response after '|'");
    if (!seen) {
        char list[200];
        return tp_fail(p, tp_end_col(p), "a TMF response record needs the expected response: %s",
                       trace_words_list(&trace_tmf_resp_words, list, sizeof list));
    }
    return 0;
}

int tp_tmf(struct tp *p, struct trace_record *r)
{
    struct trace_tmf *tmf = &r->tmf;
    if (r->dir == '<')
        return tmf_responses(p, tmf);
    struct tp_tok tok;
    char list[200];
    int got = tp_next(p, &tok), v;
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "TMF needs a function: %s",
                       trace_words_list(&trace_tmf_fn_words, list, sizeof list));
    if (word(p, &tok, &trace_tmf_fn_words, "task management function", &v))
        return -EINVAL;
    tmf->fn = (enum trace_tmf_fn)v;
    if (tmf->fn == TRACE_TMF_ABORT_TASK || tmf->fn == TRACE_TMF_QUERY_TASK) {
        struct tp_tok ref;
        got = tp_next(p, &ref);
        if (got < 0)
            return got;
        if (got == 0)
            return tp_fail(p, tp_end_col(p), "%s needs the tag of the task it names (e.g. TMF %s t1)",
                           trace_tmf_fn_words.words[v], trace_tmf_fn_words.words[v]);
        if (tp_tag(p, &ref, "task tag", tmf->ref_tag))
            return -EINVAL;
        p->ref_col = ref.col;
    }
    return no_more(p, "the task management function");
}

/* A nexus is meaningful for some directives only. */
static bool uses_nexus(enum trace_directive_kind k, const struct trace_directive *d)
{
    switch (k) {
    case TRACE_DIR_RESET:
    case TRACE_DIR_UA:
    case TRACE_DIR_CHECK_MEDIA:
        return true;
    case TRACE_DIR_INJECT:
        return d->inject == TRACE_INJECT_DROP_NEXT;
    default:
        return false;
    }
}

static int power_loss(struct tp *p, struct trace_directive *d)
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
        if (word(p, &tok, &trace_power_words, "power-loss mode", &v))
            return -EINVAL;
        d->power_mode = (enum trace_power_mode)v;
        mode_given = true;
    }
    return got;
}

static int one_arg(struct tp *p, struct tp_tok *tok, const char *directive, const char *example)
{
    int got = tp_next(p, tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "%s needs an argument (e.g. %s)", directive, example);
    return 0;
}

static int ua(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok;
    if (one_arg(p, &tok, "ua", "ua 0x29/0x00"))
        return -EINVAL;
    const char *slash = memchr(tok.s, '/', tok.len);
    if (!slash)
        return tp_fail(p, tok.col, "bad unit attention '%s'; expected ASC/ASCQ (e.g. 0x29/0x00 or 2a/09)",
                       tp_tok_str(&tok, shown, sizeof shown));
    struct tp_tok asc = { tok.s, (size_t)(slash - tok.s), tok.col };
    struct tp_tok ascq = { slash + 1, tok.len - asc.len - 1, tok.col + (unsigned)asc.len + 1 };
    if (tp_hex_byte(p, &asc, "ASC", &d->asc) || tp_hex_byte(p, &ascq, "ASCQ", &d->ascq))
        return -EINVAL;
    return no_more(p, "the unit attention");
}

static int inject(struct tp *p, struct trace_directive *d)
{
    char shown[48], list[200];
    struct tp_tok tok, key, val;
    int got = tp_next(p, &tok), v;
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "inject needs a rule: %s",
                       trace_words_list(&trace_inject_words, list, sizeof list));
    if (word(p, &tok, &trace_inject_words, "inject rule", &v))
        return -EINVAL;
    d->inject = (enum trace_inject_kind)v;
    if (d->inject == TRACE_INJECT_DROP_NEXT) {
        struct tp_tok n;
        if (one_arg(p, &n, "inject drop-next", "inject drop-next 1"))
            return -EINVAL;
        if (tp_u64(p, &n, "drop-next count", UINT32_MAX, &d->inject_arg))
            return -EINVAL;
        if (d->inject_arg == 0)
            return tp_fail(p, n.col, "drop-next count must be at least 1");
        d->inject_arg_given = true;
        return no_more(p, "inject drop-next N");
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
            return no_more(p, "inject fatal code=N");
        }
        return got;
    }
    return no_more(p, "the inject rule (it takes no arguments)");
}

static int check_media(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    int got = tp_next(p, &tok), v;
    if (got <= 0)
        return got;
    if (!tp_split_kv(&tok, &key, &val) || !tp_tok_is(&key, "expect"))
        return tp_fail(p, tok.col, "unexpected '%s'; write check-media [expect=durable|intact|lost-unflushed]",
                       tp_tok_str(&tok, shown, sizeof shown));
    if (word(p, &val, &trace_media_words, "media expectation", &v))
        return -EINVAL;
    d->expect = (enum trace_media_expect)v;
    d->expect_given = true;
    return no_more(p, "check-media expect=...");
}

static int within(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    if (one_arg(p, &tok, "within", "within 2.5"))
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
    return no_more(p, "within SECONDS count=N");
}

int tp_directive(struct tp *p, struct trace_record *r, const struct tp_tok *verb)
{
    char shown[48];
    struct trace_directive *d = &r->directive;
    int k, rc;
    if (word(p, verb, &trace_directive_words, "directive", &k))
        return -EINVAL;
    d->kind = (enum trace_directive_kind)k;
    struct tp_tok tok;
    switch (d->kind) {
    case TRACE_DIR_POWER_LOSS:
        rc = power_loss(p, d);
        break;
    case TRACE_DIR_POWER_ON:
        rc = no_more(p, "power-on (it takes no arguments)");
        break;
    case TRACE_DIR_RESET: {
        char list[100];
        int v;
        rc = tp_next(p, &tok);
        if (rc == 0)
            return tp_fail(p, tp_end_col(p), "reset needs a scope: %s",
                           trace_words_list(&trace_reset_words, list, sizeof list));
        if (rc < 0 || word(p, &tok, &trace_reset_words, "reset scope", &v))
            return -EINVAL;
        d->reset = (enum trace_reset_scope)v;
        rc = no_more(p, "the reset scope");
        break;
    }
    case TRACE_DIR_UA:
        rc = ua(p, d);
        break;
    case TRACE_DIR_INJECT:
        rc = inject(p, d);
        break;
    case TRACE_DIR_HOLD:
    case TRACE_DIR_RELEASE:
        rc = one_arg(p, &tok, verb->s[0] == 'h' ? "hold" : "release", verb->s[0] == 'h' ? "hold t1" : "release t1");
        if (rc == 0)
            rc = tp_tag(p, &tok, "task tag", d->tag);
        if (rc == 0)
            rc = no_more(p, "the task tag");
        break;
    case TRACE_DIR_CHECK_MEDIA:
        rc = check_media(p, d);
        break;
    case TRACE_DIR_WITHIN:
        rc = within(p, d);
        break;
    case TRACE_DIR_MARK:
        rc = one_arg(p, &tok, "mark", "mark flushed");
        if (rc == 0)
            rc = tp_name(p, &tok, "mark name", d->name);
        if (rc == 0)
            rc = no_more(p, "the mark name");
        break;
    case TRACE_DIR_WAIT:
        rc = one_arg(p, &tok, "wait", "wait 0.5");
        if (rc == 0)
            rc = tp_seconds(p, &tok, "wait", &d->ns);
        if (rc == 0)
            rc = no_more(p, "the wait time");
        break;
    default:
        rc = -EINVAL;
        break;
    }
    if (rc)
        return rc < 0 ? rc : -EINVAL;
    if (r->nexus_given && !uses_nexus(d->kind, d)) {
        /* The NEXUS column is the 4th token; find it again for the column. */
        size_t save = p->pos;
        p->pos = 0;
        for (int i = 0; i < 4; i++)
            tp_next(p, &tok);
        p->pos = save;
        return tp_fail(p, tok.col, "%s applies to no nexus: write '-' in the NEXUS column (found '%s')",
                       trace_directive_words.words[d->kind], tp_tok_str(&tok, shown, sizeof shown));
    }
    return 0;
}
