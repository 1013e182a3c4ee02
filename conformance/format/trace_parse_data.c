/* conformance/format/trace_parse_data.c — data patterns (CDBs, DIN, DOUT, sense=)
 * and key/asc/ascq sense specifications.
 *
 * A pattern is read token by token; consecutive hex tokens ("12 00", "1200",
 * "??", "10/f0") are merged into one BYTES element, so two spellings of the
 * same bytes give the same tree and the printer can choose the canonical one.
 */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "conformance/format/trace_names.h"

struct builder {
    struct trace_pattern *pat;
    size_t   cap_elems;
    uint8_t *val, *mask;     /* the BYTES run being collected */
    size_t   run, run_cap;
    const char *what;
    unsigned rules;
    bool     rest_seen;
    unsigned rest_col;
};

static int add_length(struct tp *p, struct builder *b, uint64_t n, unsigned col)
{
    if (n > TRACE_DATA_MAX - b->pat->length)
        return tp_fail(p, col, "the %s pattern describes more than %u bytes", b->what, TRACE_DATA_MAX);
    b->pat->length += n;
    return 0;
}

static struct trace_pat_elem *new_elem(struct tp *p, struct builder *b, unsigned col)
{
    struct trace_pattern *pat = b->pat;
    if (pat->n_elems == b->cap_elems) {
        size_t ncap = b->cap_elems ? b->cap_elems * 2 : 4;
        struct trace_pat_elem *ne = realloc(pat->elems, ncap * sizeof(*ne));
        if (!ne) {
            tp_fail(p, col, "out of memory");
            return NULL;
        }
        pat->elems = ne;
        b->cap_elems = ncap;
    }
    struct trace_pat_elem *e = &pat->elems[pat->n_elems++];
    memset(e, 0, sizeof(*e));
    return e;
}

/* Ends the BYTES run being collected (if any) as an element. */
static int flush_run(struct tp *p, struct builder *b, unsigned col)
{
    if (b->run == 0)
        return 0;
    struct trace_pat_elem *e = new_elem(p, b, col);
    if (!e)
        return -ENOMEM;
    e->kind = TRACE_PAT_BYTES;
    e->n = (uint32_t)b->run;
    e->value = malloc(b->run * 2); /* values, then masks: one allocation */
    if (!e->value)
        return tp_fail(p, col, "out of memory");
    e->mask = e->value + b->run;
    memcpy(e->value, b->val, b->run);
    memcpy(e->mask, b->mask, b->run);
    b->run = 0;
    return 0;
}

static int run_byte(struct tp *p, struct builder *b, uint8_t v, uint8_t m, unsigned col)
{
    if (b->run == b->run_cap) {
        size_t ncap = b->run_cap ? b->run_cap * 2 : 64;
        uint8_t *nv = realloc(b->val, ncap), *nm;
        if (!nv)
            return tp_fail(p, col, "out of memory");
        b->val = nv;
        nm = realloc(b->mask, ncap);
        if (!nm)
            return tp_fail(p, col, "out of memory");
        b->mask = nm;
        b->run_cap = ncap;
    }
    if (add_length(p, b, 1, col))
        return -EINVAL;
    b->val[b->run] = v;
    b->mask[b->run] = m;
    b->run++;
    return 0;
}

static int not_concrete(struct tp *p, struct builder *b, unsigned col, const char *item)
{
    return tp_fail(p, col,
                   "%s in %s: what the replay sends (layers H and W) must be concrete bytes; don't-care bytes, "
                   "masks and '..' are for expectations", item, b->what);
}

static int bad_byte(struct tp *p, struct builder *b, const char *s, size_t n, unsigned col)
{
    char shown[8];
    if (n > 4)
        n = 4;
    memcpy(shown, s, n);
    shown[n] = '\0';
    return tp_fail(p, col, "bad hex byte '%s' in %s; expected two hex digits, '?\?', 'xx/mm' or 'xx*N'", shown,
                   b->what);
}

/* Two characters: a hex byte or "??".  *mask = 0 for "??". */
static int pair(struct tp *p, struct builder *b, const char *s, size_t avail, unsigned col, uint8_t *v, uint8_t *m)
{
    if (avail >= 2 && s[0] == '?' && s[1] == '?') {
        if (b->rules & TP_PAT_CONCRETE)
            return not_concrete(p, b, col, "don't-care '?\?'");
        *v = 0;
        *m = 0;
        return 0;
    }
    if (avail < 2 || hex_digit(s[0]) < 0 || hex_digit(s[1]) < 0)
        return bad_byte(p, b, s, avail < 2 ? avail : 2, col);
    *v = (uint8_t)(hex_digit(s[0]) << 4 | hex_digit(s[1]));
    *m = 0xFF;
    return 0;
}

static int text_token(struct tp *p, struct builder *b, const struct tp_tok *tok)
{
    char shown[48];
    char *text;
    size_t tlen, end;
    if (tp_quoted(p, tok, 0, true, &text, &tlen, &end))
        return -EINVAL;
    uint64_t width = tlen;
    bool width_given = false;
    if (end < tok->len) {
        if (tok->s[end] != ':') {
            free(text);
            return tp_fail(p, tok->col + (unsigned)end,
                           "unexpected '%s' after quoted text; expected ':N' (pad with spaces to N bytes) or a blank",
                           tp_tok_str(&(struct tp_tok){ tok->s + end, tok->len - end, 0 }, shown, sizeof shown));
        }
        struct tp_tok w = { tok->s + end + 1, tok->len - end - 1, tok->col + (unsigned)end + 1 };
        if (tp_u64(p, &w, "text width", TRACE_DATA_MAX, &width)) {
            free(text);
            return -EINVAL;
        }
        if (width < tlen) {
            free(text);
            return tp_fail(p, w.col, "text of %zu characters does not fit in :%llu; widen it or shorten the text",
                           tlen, (unsigned long long)width);
        }
        width_given = true;
    }
    if (width == 0) {
        free(text);
        return tp_fail(p, tok->col, "empty text \"\" describes no bytes; write \"\":N for N spaces or leave it out");
    }
    if (flush_run(p, b, tok->col) || add_length(p, b, width, tok->col)) {
        free(text);
        return -EINVAL;
    }
    struct trace_pat_elem *e = new_elem(p, b, tok->col);
    if (!e) {
        free(text);
        return -ENOMEM;
    }
    e->kind = TRACE_PAT_TEXT;
    e->n = (uint32_t)width;
    e->text_len = (uint32_t)tlen;
    e->width_given = width_given;
    e->value = (uint8_t *)text;
    return 0;
}

static int repeat_token(struct tp *p, struct builder *b, const struct tp_tok *tok, size_t star)
{
    uint8_t v, m;
    if (star != 2)
        return bad_byte(p, b, tok->s, star, tok->col);
    if (pair(p, b, tok->s, 2, tok->col, &v, &m))
        return -EINVAL;
    struct tp_tok cnt = { tok->s + 3, tok->len - 3, tok->col + 3 };
    if (cnt.len == 0)
        return tp_fail(p, tok->col + 2, "missing repeat count after '*' in %s; write xx*N (N times the byte xx)",
                       b->what);
    uint64_t n;
    if (tp_u64(p, &cnt, "repeat count", TRACE_DATA_MAX, &n))
        return -EINVAL;
    if (n == 0)
        return tp_fail(p, cnt.col, "repeat count must be at least 1");
    if (flush_run(p, b, tok->col) || add_length(p, b, n, tok->col))
        return -EINVAL;
    struct trace_pat_elem *e = new_elem(p, b, tok->col);
    if (!e)
        return -ENOMEM;
    e->kind = TRACE_PAT_REPEAT;
    e->n = (uint32_t)n;
    e->value = malloc(2);
    if (!e->value)
        return tp_fail(p, tok->col, "out of memory");
    e->mask = e->value + 1;
    e->value[0] = v;
    e->mask[0] = m;
    return 0;
}

static int mask_token(struct tp *p, struct builder *b, const struct tp_tok *tok, size_t slash)
{
    char shown[48];
    if (b->rules & TP_PAT_CONCRETE)
        return not_concrete(p, b, tok->col, "mask");
    if (slash != 2 || tok->len != 5 || hex_digit(tok->s[0]) < 0 || hex_digit(tok->s[1]) < 0 || hex_digit(tok->s[3]) < 0 ||
        hex_digit(tok->s[4]) < 0)
        return tp_fail(p, tok->col, "bad masked byte '%s' in %s; expected xx/mm (hex value, '/', hex mask)",
                       tp_tok_str(tok, shown, sizeof shown), b->what);
    uint8_t v = (uint8_t)(hex_digit(tok->s[0]) << 4 | hex_digit(tok->s[1]));
    uint8_t m = (uint8_t)(hex_digit(tok->s[3]) << 4 | hex_digit(tok->s[4]));
    if (v & ~m)
        return tp_fail(p, tok->col, "value %02x has bits outside mask %02x in %s; they could never be compared: "
                       "write %02x/%02x", v, m, b->what, v & m, m);
    return run_byte(p, b, v, m, tok->col);
}

/* One token of a pattern. */
static int add_token(struct tp *p, struct builder *b, const struct tp_tok *tok)
{
    char shown[48];
    if (b->rest_seen)
        return tp_fail(p, tok->col, "'..' (the rest unspecified) must be the last item of the %s pattern; found '%s' "
                       "after it", b->what, tp_tok_str(tok, shown, sizeof shown));
    if (tp_tok_is(tok, "..")) {
        if (b->rules & TP_PAT_CONCRETE)
            return not_concrete(p, b, tok->col, "'..'");
        if (b->rules & TP_PAT_NO_REST)
            return tp_fail(p, tok->col, "'..' is not allowed in a %s: its length is part of it", b->what);
        b->rest_seen = true;
        b->rest_col = tok->col;
        return 0;
    }
    if (tok->s[0] == '"')
        return text_token(p, b, tok);
    const char *star = memchr(tok->s, '*', tok->len);
    if (star)
        return repeat_token(p, b, tok, (size_t)(star - tok->s));
    const char *slash = memchr(tok->s, '/', tok->len);
    if (slash)
        return mask_token(p, b, tok, (size_t)(slash - tok->s));
    for (size_t i = 0; i < tok->len; i += 2) {
        uint8_t v, m;
        if (pair(p, b, tok->s + i, tok->len - i, tok->col + (unsigned)i, &v, &m) ||
            run_byte(p, b, v, m, tok->col + (unsigned)i))
            return -EINVAL;
    }
    return 0;
}

static int finish(struct tp *p, struct builder *b, unsigned col, int rc)
{
    if (rc == 0)
        rc = flush_run(p, b, col);
    b->pat->rest = b->rest_seen;
    if (rc == 0 && b->pat->n_elems && b->pat->n_elems < b->cap_elems) {
        /* keep only what is used: a trace holds many small patterns */
        struct trace_pat_elem *fit = realloc(b->pat->elems, b->pat->n_elems * sizeof(*fit));
        if (fit)
            b->pat->elems = fit;
    }
    free(b->val);
    free(b->mask);
    if (rc)
        trace_pattern_free(b->pat);
    return rc ? -EINVAL : 0;
}

int tp_pattern_line(struct tp *p, const char *what, unsigned rules, struct trace_pattern *out,
                    struct tp_tok *stopped_at)
{
    struct builder b = { .pat = out, .what = what, .rules = rules };
    memset(out, 0, sizeof(*out));
    struct tp_tok tok;
    int rc, got;
    stopped_at->len = 0;
    stopped_at->s = NULL;
    while ((got = tp_next(p, &tok)) == 1) {
        if (tok.s[0] != '"' && memchr(tok.s, '=', tok.len)) {
            *stopped_at = tok;
            break;
        }
        if ((rc = add_token(p, &b, &tok)))
            return finish(p, &b, tok.col, rc);
    }
    if (got < 0)
        return finish(p, &b, 0, got);
    return finish(p, &b, tp_end_col(p), 0);
}

int tp_pattern_value(struct tp *p, const struct tp_tok *value, const char *what, unsigned rules,
                     struct trace_pattern *out)
{
    struct builder b = { .pat = out, .what = what, .rules = rules };
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    int rc = 0;
    if (value->len == 0)
        return tp_fail(p, value->col, "empty %s; give hex bytes, e.g. 70,00,06 or 700006..", what);
    while (rc == 0 && i <= value->len) {
        size_t a = i;
        bool quoted = false;
        while (i < value->len && (quoted || value->s[i] != ',')) {
            if (value->s[i] == '"')
                quoted = !quoted;
            else if (quoted && value->s[i] == '\\')
                i++;
            i++;
        }
        if (i > value->len)
            i = value->len;
        struct tp_tok part = { value->s + a, i - a, value->col + (unsigned)a };
        if (part.len == 0)
            rc = tp_fail(p, part.col, "empty item in %s; separate items with a single ','", what);
        else if (part.len > 2 && part.s[part.len - 2] == '.' && part.s[part.len - 1] == '.' && part.s[0] != '"') {
            /* "700006.." : a hex run directly followed by the rest marker */
            struct tp_tok head = { part.s, part.len - 2, part.col };
            struct tp_tok tail = { part.s + part.len - 2, 2, part.col + (unsigned)part.len - 2 };
            rc = add_token(p, &b, &head);
            if (rc == 0)
                rc = add_token(p, &b, &tail);
        } else {
            rc = add_token(p, &b, &part);
        }
        i++;
    }
    return finish(p, &b, value->col + (unsigned)value->len, rc);
}

int tp_sense_spec(struct tp *p, const struct tp_tok *tok, struct trace_sense_spec *out)
{
    char shown[64], list[400];
    const char *s1 = memchr(tok->s, '/', tok->len);
    const char *s2 = s1 ? memchr(s1 + 1, '/', tok->len - (size_t)(s1 + 1 - tok->s)) : NULL;
    if (!s1 || !s2 || memchr(s2 + 1, '/', tok->len - (size_t)(s2 + 1 - tok->s)))
        return tp_fail(p, tok->col, "bad sense '%s'; expected KEY/ASC/ASCQ such as ILLEGAL_REQUEST/0x24/0x00 or "
                       "5/24/00", tp_tok_str(tok, shown, sizeof shown));
    struct tp_tok key = { tok->s, (size_t)(s1 - tok->s), tok->col };
    struct tp_tok asc = { s1 + 1, (size_t)(s2 - s1 - 1), tok->col + (unsigned)(s1 + 1 - tok->s) };
    struct tp_tok ascq = { s2 + 1, tok->len - (size_t)(s2 + 1 - tok->s), tok->col + (unsigned)(s2 + 1 - tok->s) };
    struct trace_sense_spec sp = { 0 };
    int k = trace_words_find(&trace_sense_key_words, key.s, key.len);
    if (k < 0) {
        size_t i = key.len > 2 && key.s[0] == '0' && (key.s[1] == 'x' || key.s[1] == 'X') ? 2 : 0;
        if (key.len - i == 1 && hex_digit(key.s[i]) >= 0) {
            k = hex_digit(key.s[i]);
        } else {
            const char *near = trace_words_suggest(&trace_sense_key_words, key.s, key.len);
            if (near)
                return tp_fail(p, key.col, "unknown sense key '%s'; did you mean '%s'?",
                               tp_tok_str(&key, shown, sizeof shown), near);
            return tp_fail(p, key.col, "unknown sense key '%s'; expected a hex digit (0-f) or %s",
                           tp_tok_str(&key, shown, sizeof shown),
                           trace_words_list(&trace_sense_key_words, list, sizeof list));
        }
    }
    sp.key = (uint8_t)k;
    if (tp_tok_is(&asc, "??"))
        sp.asc_any = true;
    else if (tp_hex_byte(p, &asc, "ASC", &sp.asc))
        return -EINVAL;
    if (tp_tok_is(&ascq, "??"))
        sp.ascq_any = true;
    else if (tp_hex_byte(p, &ascq, "ASCQ", &sp.ascq))
        return -EINVAL;
    *out = sp;
    return 0;
}
