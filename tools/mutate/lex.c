/* tools/mutate/lex.c — see lex.h. */
#include "tools/mutate/lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int push(struct toks *t, struct tok k)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct tok *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = k;
    return 0;
}

/* Punctuators longest first, so "<<=" is never read as "<" "<=". */
static const char *const puncts[] = {
    "<<=", ">>=", "...", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
    "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##",
};

void toks_free(struct toks *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

int lex(const char *s, size_t len, struct toks *out)
{
    size_t i = 0, line_start = 0;
    int line = 1;
    int at_line_start = 1; /* only blanks so far on this line: '#' starts a directive */
    memset(out, 0, sizeof *out);
    while (i < len) {
        char c = s[i];
        if (c == '\n') {
            i++, line++, line_start = i, at_line_start = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < len && s[i + 1] == '*') {
            for (i += 2; i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'); i++)
                if (s[i] == '\n')
                    line++, line_start = i + 1;
            i = i + 2 < len ? i + 2 : len;
            continue;
        }
        if (c == '#' && at_line_start) {
            /* A directive runs to the end of the line, continued by '\'. */
            while (i < len && s[i] != '\n') {
                if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\n')
                    i++, line++, line_start = i + 1;
                i++;
            }
            continue;
        }
        at_line_start = 0;
        struct tok k = { .off = i, .line = line, .col = (int)(i - line_start) + 1 };
        if (isalpha((unsigned char)c) || c == '_') {
            while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_'))
                i++;
            k.kind = TOK_IDENT;
        } else if (isdigit((unsigned char)c) || (c == '.' && i + 1 < len && isdigit((unsigned char)s[i + 1]))) {
            while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' ||
                               ((s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E' ||
                                                                 s[i - 1] == 'p' || s[i - 1] == 'P'))))
                i++;
            k.kind = TOK_NUMBER;
        } else if (c == '"' || c == '\'') {
            for (i++; i < len && s[i] != c && s[i] != '\n'; i++)
                if (s[i] == '\\' && i + 1 < len)
                    i++;
            if (i < len && s[i] == c)
                i++;
            k.kind = c == '"' ? TOK_STRING : TOK_CHAR;
        } else {
            size_t n = 1;
            for (size_t p = 0; p < sizeof puncts / sizeof puncts[0]; p++) {
                size_t pl = strlen(puncts[p]);
                if (pl <= len - i && memcmp(s + i, puncts[p], pl) == 0) {
                    n = pl;
                    break;
                }
            }
            i += n;
            k.kind = TOK_PUNCT;
        }
        k.len = i - k.off;
        if (push(out, k) < 0) {
            toks_free(out);
            return -ENOMEM;
        }
    }
    return 0;
}
