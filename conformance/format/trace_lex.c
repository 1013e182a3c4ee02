/* conformance/format/trace_lex.c — the token reader and the readers of the small
 * things a record is made of (numbers, seconds, tags, nexus, quoted text), with
 * located errors. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

static void set_error(struct tp *p, unsigned lineno, unsigned col, uint64_t offset, bool truncated,
                      const char *fmt, va_list ap)
{
    struct located_error *e = p->err;
    if (!e)
        return;
    located_vset(e, p->name, lineno, col, offset, fmt, ap);
    size_t n = strlen(e->message);
    if (truncated && n + 1 < sizeof e->message)
        snprintf(e->message + n, sizeof e->message - n,
                 " (the file ends in the middle of this line: was it cut short?)");
}

int tp_fail(struct tp *p, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, p->lineno, col, p->offset + (col ? col - 1 : 0), !p->newline, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int tp_fail_at(struct tp *p, const struct trace_line *line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, line->lineno, col, line->offset + (col ? col - 1 : 0), !p->newline, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

unsigned tp_end_col(const struct tp *p)
{
    /* The end of the content: before a trailing comment and trailing blanks. */
    size_t end = p->len;
    size_t i = 0;
    bool in_quote = false, at_token_start = true;
    for (; i < p->len; i++) {
        char c = p->s[i];
        if (in_quote) {
            if (c == '\\' && i + 1 < p->len)
                i++;
            else if (c == '"')
                in_quote = false;
            continue;
        }
        if (c == ' ' || c == '\t') {
            at_token_start = true;
            continue;
        }
        if (c == '#' && at_token_start) {
            end = i;
            break;
        }
        if (c == '"')
            in_quote = true;
        at_token_start = false;
    }
    while (end > 0 && (p->s[end - 1] == ' ' || p->s[end - 1] == '\t'))
        end--;
    return (unsigned)end + 1; /* one past the last character, 1-based */
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

int tp_next(struct tp *p, struct tp_tok *tok)
{
    while (p->pos < p->len && blank(p->s[p->pos]))
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] == '#')
        return 0;
    size_t start = p->pos, i = start;
    while (i < p->len && !blank(p->s[i])) {
        if (p->s[i] == '"') {
            size_t q = i++;
            while (i < p->len && p->s[i] != '"') {
                if (p->s[i] == '\\' && i + 1 < p->len)
                    i++;
                i++;
            }
            if (i >= p->len)
                return tp_fail(p, (unsigned)q + 1, "unterminated quoted text; close it with '\"'");
        }
        i++;
    }
    tok->s = p->s + start;
    tok->len = i - start;
    tok->col = (unsigned)start + 1;
    p->pos = i;
    return 1;
}

const char *tp_comment(const struct tp *p, size_t *len)
{
    size_t i = p->pos;
    while (i < p->len && blank(p->s[i]))
        i++;
    if (i >= p->len || p->s[i] != '#')
        return NULL;
    *len = p->len - i;
    return p->s + i;
}

bool tp_tok_is(const struct tp_tok *tok, const char *word)
{
    return strlen(word) == tok->len && !memcmp(tok->s, word, tok->len);
}

const char *tp_tok_str(const struct tp_tok *tok, char *buf, size_t len)
{
    size_t n = tok->len;
    if (len == 0)
        return buf;
    if (n > len - 1) {
        n = len - 1;
        /* do not cut a UTF-8 sequence in half */
        while (n > 0 && ((unsigned char)tok->s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(buf, tok->s, n);
    buf[n] = '\0';
    if (n < tok->len && len > 4 && n >= 3)
        memcpy(buf + n - 3, "...", 3);
    return buf;
}

bool tp_split_kv(const struct tp_tok *tok, struct tp_tok *key, struct tp_tok *value)
{
    const char *eq = memchr(tok->s, '=', tok->len);
    if (!eq)
        return false;
    size_t klen = (size_t)(eq - tok->s);
    *key = (struct tp_tok){ tok->s, klen, tok->col };
    *value = (struct tp_tok){ eq + 1, tok->len - klen - 1, tok->col + (unsigned)klen + 1 };
    return true;
}

int tp_u64(struct tp *p, const struct tp_tok *tok, const char *what, uint64_t max, uint64_t *out)
{
    char shown[48];
    if (tok->len == 0)
        return tp_fail(p, tok->col, "expected a number for %s", what);
    bool hex = tok->len > 2 && tok->s[0] == '0' && (tok->s[1] == 'x' || tok->s[1] == 'X');
    size_t i = hex ? 2 : 0;
    uint64_t v = 0;
    for (; i < tok->len; i++) {
        int d = hex ? hex_digit(tok->s[i]) : (tok->s[i] >= '0' && tok->s[i] <= '9' ? tok->s[i] - '0' : -1);
        if (d < 0)
            return tp_fail(p, tok->col + (unsigned)i, "'%s' is not a number (%s); use decimal digits or 0x and hex digits",
                           tp_tok_str(tok, shown, sizeof shown), what);
        unsigned base = hex ? 16 : 10;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return tp_fail(p, tok->col, "%s %s is too large (at most %llu)", what, tp_tok_str(tok, shown, sizeof shown),
                           (unsigned long long)max);
        v = v * base + (uint64_t)d;
    }
    if (v > max)
        return tp_fail(p, tok->col, "%s %s is too large (at most %llu)", what, tp_tok_str(tok, shown, sizeof shown),
                       (unsigned long long)max);
    *out = v;
    return 0;
}

int tp_hex_byte(struct tp *p, const struct tp_tok *tok, const char *what, uint8_t *out)
{
    char shown[48];
    size_t i = tok->len > 2 && tok->s[0] == '0' && (tok->s[1] == 'x' || tok->s[1] == 'X') ? 2 : 0;
    size_t digits = tok->len - i;
    if (digits < 1 || digits > 2 || hex_digit(tok->s[i]) < 0 || (digits == 2 && hex_digit(tok->s[i + 1]) < 0))
        return tp_fail(p, tok->col, "bad %s '%s'; expected a hex byte such as 24 or 0x24", what,
                       tp_tok_str(tok, shown, sizeof shown));
    int v = hex_digit(tok->s[i]);
    if (digits == 2)
        v = v * 16 + hex_digit(tok->s[i + 1]);
    *out = (uint8_t)v;
    return 0;
}

#define MAX_SECONDS (UINT64_MAX / 1000000000ull)

int tp_seconds(struct tp *p, const struct tp_tok *tok, const char *what, uint64_t *ns)
{
    char shown[48];
    size_t i = 0;
    uint64_t s = 0;
    while (i < tok->len && tok->s[i] >= '0' && tok->s[i] <= '9') {
        s = s * 10 + (uint64_t)(tok->s[i] - '0');
        if (s > MAX_SECONDS)
            return tp_fail(p, tok->col, "%s %s is too large (at most %llu seconds)", what,
                           tp_tok_str(tok, shown, sizeof shown), (unsigned long long)MAX_SECONDS);
        i++;
    }
    if (i == 0)
        return tp_fail(p, tok->col, "bad %s '%s'; expected seconds such as 2, 0.5 or 0.000125",
                       what, tp_tok_str(tok, shown, sizeof shown));
    uint64_t frac = 0;
    unsigned digits = 0;
    if (i < tok->len && tok->s[i] == '.') {
        i++;
        while (i < tok->len && tok->s[i] >= '0' && tok->s[i] <= '9') {
            if (++digits > 9)
                return tp_fail(p, tok->col + (unsigned)i, "%s %s has more than 9 decimal places (nanoseconds)",
                               what, tp_tok_str(tok, shown, sizeof shown));
            frac = frac * 10 + (uint64_t)(tok->s[i] - '0');
            i++;
        }
        if (digits == 0)
            return tp_fail(p, tok->col + (unsigned)i, "bad %s '%s'; expected digits after '.'", what,
                           tp_tok_str(tok, shown, sizeof shown));
    }
    if (i != tok->len)
        return tp_fail(p, tok->col + (unsigned)i, "bad %s '%s'; expected seconds such as 2, 0.5 or 0.000125",
                       what, tp_tok_str(tok, shown, sizeof shown));
    for (; digits < 9; digits++)
        frac *= 10;
    uint64_t total = s * 1000000000ull;
    if (total > UINT64_MAX - frac)
        return tp_fail(p, tok->col, "%s %s is too large (at most %llu seconds)", what,
                       tp_tok_str(tok, shown, sizeof shown), (unsigned long long)MAX_SECONDS);
    *ns = total + frac;
    return 0;
}

int tp_quoted(struct tp *p, const struct tp_tok *tok, size_t start, bool ascii_only, char **out, size_t *out_len,
              size_t *end)
{
    /* tp_next guarantees the closing quote exists. */
    size_t i = start + 1, n = 0;
    char *s = malloc(tok->len + 1);
    if (!s)
        return tp_fail(p, tok->col, "out of memory");
    while (i < tok->len && tok->s[i] != '"') {
        unsigned char c = (unsigned char)tok->s[i];
        if (c == '\\') {
            char e = i + 1 < tok->len ? tok->s[i + 1] : '\0';
            if (e != '"' && e != '\\') {
                free(s);
                return tp_fail(p, tok->col + (unsigned)i,
                               "unknown escape '\\%c' in quoted text; only \\\" and \\\\ are escapes", e ? e : ' ');
            }
            s[n++] = e;
            i += 2;
            continue;
        }
        /* A TAB is text like any other the file may hold: a bare word can
         * carry one inside its quotes (a"b<TAB>c"), and the printer quotes
         * such a word, so quoted text must take it back. */
        bool tab_ok = c == '\t' && !ascii_only;
        if ((c < 0x20 && !tab_ok) || c == 0x7F || (ascii_only && c > 0x7E)) {
            free(s);
            if (ascii_only)
                return tp_fail(p, tok->col + (unsigned)i,
                               "byte 0x%02X in quoted text is not printable ASCII; data text allows ' ' to '~' "
                               "(write other bytes in hex)", c);
            return tp_fail(p, tok->col + (unsigned)i, "control character 0x%02X in quoted text", c);
        }
        s[n++] = (char)c;
        i++;
    }
    if (i >= tok->len) {
        free(s);
        return tp_fail(p, tok->col + (unsigned)start, "unterminated quoted text; close it with '\"'");
    }
    s[n] = '\0';
    *out = s;
    *out_len = n;
    *end = i + 1;
    return 0;
}

static bool tag_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (!first && (c == '.' || c == '-'));
}

static int ident(struct tp *p, const struct tp_tok *tok, const char *what, size_t max, char *out)
{
    char shown[48];
    if (tok->len > max)
        return tp_fail(p, tok->col, "%s '%s' is %zu characters; at most %zu", what,
                       tp_tok_str(tok, shown, sizeof shown), tok->len, max);
    for (size_t i = 0; i < tok->len; i++)
        if (!tag_char(tok->s[i], i == 0))
            return tp_fail(p, tok->col + (unsigned)i,
                           "bad %s '%s'; use letters, digits and '_' (and '.' or '-' after the first)", what,
                           tp_tok_str(tok, shown, sizeof shown));
    memcpy(out, tok->s, tok->len);
    out[tok->len] = '\0';
    return 0;
}

int tp_tag(struct tp *p, const struct tp_tok *tok, const char *what, char *out)
{
    return ident(p, tok, what, TRACE_TAG_MAX, out);
}

int tp_name(struct tp *p, const struct tp_tok *tok, const char *what, char *out)
{
    return ident(p, tok, what, TRACE_NAME_MAX, out);
}

int tp_nexus(struct tp *p, const struct tp_tok *tok, struct trace_nexus *out)
{
    static const char *const field[] = { "host", "channel", "target", "LUN" };
    static const uint64_t max[] = { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT64_MAX };
    char shown[64];
    struct trace_nexus n = { 0 };
    size_t i = 0;
    for (unsigned f = 0; f < 4; f++) {
        size_t a = i;
        while (i < tok->len && tok->s[i] != ':')
            i++;
        if ((f < 3 && i >= tok->len) || (f == 3 && i < tok->len))
            return tp_fail(p, tok->col, "bad nexus '%s'; expected host:channel:target:lun (four numbers or '*', "
                           "e.g. 0:0:1:0)", tp_tok_str(tok, shown, sizeof shown));
        struct tp_tok part = { tok->s + a, i - a, tok->col + (unsigned)a };
        uint64_t v = 0;
        if (part.len == 1 && part.s[0] == '*') {
            n.any |= (uint8_t)(1u << f);
        } else {
            for (size_t k = 0; k < part.len; k++)
                if (part.s[k] < '0' || part.s[k] > '9' || part.len > 20)
                    return tp_fail(p, part.col, "bad %s '%s' in nexus; expected a decimal number or '*'", field[f],
                                   tp_tok_str(&part, shown, sizeof shown));
            if (part.len == 0)
                return tp_fail(p, part.col, "missing %s in nexus '%s'; expected a decimal number or '*'", field[f],
                               tp_tok_str(tok, shown, sizeof shown));
            if (tp_u64(p, &part, field[f], max[f], &v))
                return -EINVAL;
        }
        switch (f) {
        case 0: n.host = (uint32_t)v; break;
        case 1: n.channel = (uint32_t)v; break;
        case 2: n.target = (uint32_t)v; break;
        default: n.lun = v; break;
        }
        i++; /* past ':' */
    }
    *out = n;
    return 0;
}
