/* conformance/format/trace_parse_basis.c — the @basis line: where a trace's
 * expectations come from.
 *
 *   @basis standard SPC-5 6.6.1 SAM-5 5.14     required by these clauses
 *   @basis model "the cache keeps ... (docs/controller.md 5.2)"
 *
 * A replay against a real device (`run --target --standard-only`) must judge
 * only what the standard requires: a model expectation there would report a
 * correct device as failing.  So the mark is parsed, not a comment, and a
 * citation names one of the three standards the suite is written against,
 * with a clause number that looks like one. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_names.h"

static const char *const documents[] = { "SPC-5", "SBC-4", "SAM-5" };
static const struct trace_words document_words = { documents, sizeof documents / sizeof documents[0] };
static const char *const kinds[] = { [TRACE_BASIS_STANDARD] = "standard", [TRACE_BASIS_MODEL] = "model" };
static const struct trace_words kind_words = { kinds, sizeof kinds / sizeof kinds[0] };

/* A clause: "6.6.1", "4.2.5", or an annex "A.3": a digit or capital letter
 * first, then digits, single dots between them, a digit last. */
static bool clause_ok(const struct tp_tok *tok)
{
    if (tok->len == 0 || tok->len > 24)
        return false;
    char c0 = tok->s[0];
    if (!((c0 >= '0' && c0 <= '9') || (c0 >= 'A' && c0 <= 'Z')))
        return false;
    for (size_t i = 1; i < tok->len; i++) {
        char c = tok->s[i];
        if (c == '.' ? tok->s[i - 1] == '.' : !(c >= '0' && c <= '9'))
            return false;
    }
    bool annex = c0 >= 'A';
    return tok->s[tok->len - 1] != '.' && (!annex || (tok->len >= 3 && tok->s[1] == '.'));
}

static int add_word(struct tp *p, struct trace_device *dev, const struct tp_tok *tok)
{
    char **nw = realloc(dev->words, (dev->n_words + 1) * sizeof(*nw));
    if (!nw)
        return tp_fail(p, tok->col, "out of memory");
    dev->words = nw;
    if (!(dev->words[dev->n_words] = strndup(tok->s, tok->len)))
        return tp_fail(p, tok->col, "out of memory");
    dev->n_words++;
    return 0;
}

static int citations(struct tp *p, struct trace_device *dev)
{
    struct tp_tok doc, clause;
    char shown[48], list[80];
    int got;
    while ((got = tp_next(p, &doc)) == 1) {
        if (trace_words_find(&document_words, doc.s, doc.len) < 0) {
            const char *near = trace_words_suggest(&document_words, doc.s, doc.len);
            return tp_fail(p, doc.col, "unknown standard '%s' in @basis standard; expected %s%s%s%s",
                           tp_tok_str(&doc, shown, sizeof shown),
                           trace_words_list(&document_words, list, sizeof list), near ? " (did you mean '" : "",
                           near ? near : "", near ? "'?)" : "");
        }
        if (dev->n_words / 2 == TRACE_CITES_MAX)
            return tp_fail(p, doc.col, "more than %u citations on one @basis line; cite the clauses that decide",
                           TRACE_CITES_MAX);
        got = tp_next(p, &clause);
        if (got < 0)
            return got;
        if (got == 0)
            return tp_fail(p, tp_end_col(p), "@basis standard: %s needs a clause number after it (e.g. %s 6.6.1)",
                           tp_tok_str(&doc, shown, sizeof shown), tp_tok_str(&doc, shown, sizeof shown));
        if (!clause_ok(&clause))
            return tp_fail(p, clause.col, "bad clause '%s' after %.5s; expected a clause number such as 6.6.1 or "
                           "an annex such as A.3", tp_tok_str(&clause, shown, sizeof shown), doc.s);
        if (add_word(p, dev, &doc) || add_word(p, dev, &clause))
            return -EINVAL;
    }
    if (got < 0)
        return got;
    if (dev->n_words == 0)
        return tp_fail(p, tp_end_col(p), "@basis standard needs the clause it relies on (e.g. @basis standard "
                       "SPC-5 6.6.1); use @basis model \"why\" for this controller's own behaviour");
    return 0;
}

static int reason(struct tp *p, struct trace_device *dev)
{
    struct tp_tok tok, extra;
    int got = tp_next(p, &tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@basis model needs the reason, quoted (e.g. @basis model \"the write-back "
                       "cache flushes whole lines\")");
    size_t len = tok.len, end = tok.len;
    if (tok.s[0] == '"') {
        if (tp_quoted(p, &tok, 0, false, &dev->text, &len, &end))
            return -EINVAL;
        if (end != tok.len)
            return tp_fail(p, tok.col + (unsigned)end, "unexpected text after the closing quote of @basis model");
    } else if (!(dev->text = strndup(tok.s, tok.len))) {
        return tp_fail(p, tok.col, "out of memory");
    }
    if (len == 0)
        return tp_fail(p, tok.col, "@basis model needs a reason, not an empty text");
    got = tp_next(p, &extra);
    if (got == 1)
        return tp_fail(p, extra.col, "@basis model takes one reason; quote a reason with blanks: @basis model \"...\"");
    return got < 0 ? got : 0;
}

int tp_device_basis(struct tp *p, struct trace_line *line, const struct tp_tok *at)
{
    struct trace_device *dev = &line->device;
    struct tp_tok tok;
    char shown[48];
    int got = tp_next(p, &tok);
    if (got < 0)
        return got;
    if (got == 0)
        return tp_fail(p, tp_end_col(p), "@basis needs 'standard DOCUMENT CLAUSE...' or 'model \"why\"' "
                       "(e.g. @basis standard SPC-5 6.6.1)");
    if (p->t->basis_line != TRACE_NONE)
        return tp_fail(p, at->col, "@basis given twice; a trace has one basis (cite several clauses on one line)");
    int k = trace_words_find(&kind_words, tok.s, tok.len);
    if (k <= 0)
        return tp_fail(p, tok.col, "unknown basis '%s'; expected 'standard' (the standard requires it: SPC-5, "
                       "SBC-4 or SAM-5 with the clause) or 'model' (this controller model's behaviour)",
                       tp_tok_str(&tok, shown, sizeof shown));
    dev->basis = (enum trace_basis)k;
    int rc = dev->basis == TRACE_BASIS_STANDARD ? citations(p, dev) : reason(p, dev);
    if (rc)
        return rc;
    p->t->basis = dev->basis;
    p->t->basis_line = (size_t)(line - p->t->lines);
    return 0;
}

void trace_basis_text(const struct trace *t, char *buf, size_t len)
{
    if (!len)
        return;
    if (t->basis == TRACE_BASIS_NONE || t->basis_line >= t->n_lines) {
        snprintf(buf, len, "unmarked");
        return;
    }
    const struct trace_device *d = &t->lines[t->basis_line].device;
    if (d->basis == TRACE_BASIS_MODEL) {
        snprintf(buf, len, "model: %s", d->text);
        return;
    }
    size_t at = (size_t)snprintf(buf, len, "standard");
    for (size_t i = 0; i + 1 < d->n_words && at < len; i += 2)
        at += (size_t)snprintf(buf + at, len - at, "%s %s %s", i ? ";" : "", d->words[i], d->words[i + 1]);
}
