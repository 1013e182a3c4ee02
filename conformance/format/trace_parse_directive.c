/* conformance/format/trace_parse_directive.c — TMF records, and the harness
 * directives (DIR '!'): the directive's word, its arguments through its row
 * (conformance/format/directive.h), and the NEXUS column checked against what
 * the directive applies to. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"

int tp_word(struct tp *p, const struct tp_tok *tok, const struct trace_words *w, const char *what, int *out)
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

int tp_no_more(struct tp *p, const char *after)
{
    char shown[48];
    struct tp_tok tok;
    int got = tp_next(p, &tok);
    if (got == 1)
        return tp_fail(p, tok.col, "unexpected '%s' after %s", tp_tok_str(&tok, shown, sizeof shown), after);
    return got;
}

int tp_one_arg(struct tp *p, struct tp_tok *tok, const char *directive, const char *example)
{
    int got = tp_next(p, tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "%s needs an argument (e.g. %s)", directive, example);
    return 0;
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
            if (tp_word(p, &pc, &trace_tmf_resp_words, "TMF response", &v))
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
    if (tp_word(p, &tok, &trace_tmf_fn_words, "task management function", &v))
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
    return tp_no_more(p, "the task management function");
}

int tp_directive(struct tp *p, struct trace_record *r, const struct tp_tok *verb)
{
    char shown[48];
    struct trace_directive *d = &r->directive;
    int k, rc;
    if (tp_word(p, verb, &trace_directive_words, "directive", &k))
        return -EINVAL;
    d->kind = (enum trace_directive_kind)k;
    const struct trace_directive_ops *ops = trace_directive_ops(d->kind);
    if (ops->parse) {
        rc = ops->parse(p, d);
    } else {
        char after[TRACE_NAME_MAX + 32];
        snprintf(after, sizeof after, "%s (it takes no arguments)", trace_directive_words.words[d->kind]);
        rc = tp_no_more(p, after);
    }
    if (rc)
        return rc < 0 ? rc : -EINVAL;
    if (r->nexus_given && !(ops->uses_nexus && ops->uses_nexus(d))) {
        /* The NEXUS column is the 4th token; find it again for the column. */
        struct tp_tok tok;
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
