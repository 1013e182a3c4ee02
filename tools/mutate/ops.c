/* tools/mutate/ops.c — see ops.h.  One pass over the tokens finds, for each
 * token, whether it is in code (a function body, not an initializer's braces)
 * and whether it starts a statement; the operators are patterns over that. */
#include "tools/mutate/ops.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = { "flip", "bound", "plus1", "minus1", "negif", "drop", "andor", "ret" };

int mutant_op_known(const char *name)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(name, op_names[i]) == 0)
            return 1;
    return 0;
}

void mutants_free(struct mutants *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

static bool is(const char *src, const struct tok *k, const char *text)
{
    return k->len == strlen(text) && memcmp(src + k->off, text, k->len) == 0;
}

static bool is_keyword(const char *src, const struct tok *k)
{
    static const char *const kw[] = {
        "return", "break", "continue", "goto", "if", "else", "for", "while", "do", "switch", "case",
        "default", "sizeof", "typedef", "struct", "union", "enum", "static", "const", "volatile",
        "extern", "register", "inline", "unsigned", "signed", "int", "char", "short", "long", "float",
        "double", "void", "_Bool", "bool", "_Static_assert", "static_assert", "assert", "__attribute__",
        "auto", "restrict", "_Alignof", "alignof",
    };
    if (k->kind != TOK_IDENT)
        return false;
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (is(src, k, kw[i]))
            return true;
    return false;
}

static bool is_relop(const char *src, const struct tok *k)
{
    return k->kind == TOK_PUNCT && (is(src, k, "<") || is(src, k, ">") || is(src, k, "<=") ||
                                    is(src, k, ">=") || is(src, k, "==") || is(src, k, "!="));
}

static bool is_assign(const char *src, const struct tok *k)
{
    static const char *const as[] = { "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "++", "--" };
    if (k->kind != TOK_PUNCT)
        return false;
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
        if (is(src, k, as[i]))
            return true;
    return false;
}

/* An integer literal (no '.', no exponent, not a float suffix). */
static bool is_int(const char *src, const struct tok *k)
{
    if (k->kind != TOK_NUMBER)
        return false;
    bool hex = k->len > 1 && src[k->off] == '0' && (src[k->off + 1] == 'x' || src[k->off + 1] == 'X');
    for (size_t i = 0; i < k->len; i++) {
        char c = src[k->off + i];
        if (c == '.' || (!hex && (c == 'e' || c == 'E' || c == 'f' || c == 'F')))
            return false;
    }
    return true;
}

static bool all_caps(const char *src, const struct tok *k)
{
    bool letter = false;
    for (size_t i = 0; i < k->len; i++) {
        char c = src[k->off + i];
        if (islower((unsigned char)c))
            return false;
        letter |= isupper((unsigned char)c) != 0;
    }
    return letter;
}

static int add(struct mutants *out, const struct tok *at, const char *op, int nedit, const struct edit *e)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        struct mutant *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        out->v = v;
        out->cap = cap;
    }
    struct mutant *m = &out->v[out->n++];
    memset(m, 0, sizeof *m);
    m->line = at->line;
    m->col = at->col;
    m->op = op;
    m->nedit = nedit;
    memcpy(m->e, e, (size_t)nedit * sizeof *e);
    return 0;
}

static struct edit repl(const struct tok *k, const char *fmt, const char *src)
{
    struct edit e = { .off = k->off, .len = k->len };
    snprintf(e.text, sizeof e.text, fmt, (int)k->len, src + k->off);
    return e;
}

/* The token facts the operators need, one pass: matching parentheses, which
 * ')' closes an if/for/while/switch header, and for each token whether it is
 * code and whether it starts a statement. */
struct facts {
    size_t *match;      /* for '(' and ')': the other one's index; else SIZE_MAX */
    bool   *header_end; /* ')' of a control header */
    bool   *code;
    bool   *stmt;
};

static int find_facts(const char *src, const struct toks *t, struct facts *f)
{
    size_t n = t->n;
    f->match = malloc((n + 1) * sizeof *f->match);
    f->header_end = calloc(n + 1, 1);
    f->code = calloc(n + 1, 1);
    f->stmt = calloc(n + 1, 1);
    size_t *stack = malloc((n + 1) * sizeof *stack);
    bool *brace_code = calloc(n + 1, 1);
    if (!f->match || !f->header_end || !f->code || !f->stmt || !stack || !brace_code) {
        free(stack), free(brace_code);
        return -ENOMEM;
    }
    size_t sp = 0;
    for (size_t i = 0; i < n; i++) {
        f->match[i] = SIZE_MAX;
        if (is(src, &t->v[i], "("))
            stack[sp++] = i;
        else if (is(src, &t->v[i], ")") && sp > 0) {
            size_t o = stack[--sp];
            f->match[o] = i, f->match[i] = o;
            if (o > 0 && (is(src, &t->v[o - 1], "if") || is(src, &t->v[o - 1], "for") ||
                          is(src, &t->v[o - 1], "while") || is(src, &t->v[o - 1], "switch")))
                f->header_end[i] = true;
        }
    }
    size_t depth = 0;   /* braces */
    int parens = 0;
    bool in_case = false;
    bool next_stmt = false;
    for (size_t i = 0; i < n; i++) {
        const struct tok *k = &t->v[i];
        bool code = depth > 0 && brace_code[depth - 1];
        f->code[i] = code;
        f->stmt[i] = code && parens == 0 && next_stmt;
        if (f->stmt[i] && (is(src, k, "case") || is(src, k, "default")))
            in_case = true;
        next_stmt = false;
        if (is(src, k, "{")) {
            const struct tok *p = i > 0 ? &t->v[i - 1] : NULL;
            bool block;
            if (depth == 0)
                block = p && is(src, p, ")");               /* a function body */
            else
                block = code && p && ((is(src, p, ")") && f->header_end[i - 1]) || is(src, p, "{") ||
                                      is(src, p, "}") || is(src, p, ";") || is(src, p, "else") ||
                                      is(src, p, "do") || is(src, p, ":"));
            brace_code[depth++] = block;
            next_stmt = block;
            parens = 0;
        } else if (is(src, k, "}")) {
            if (depth > 0)
                depth--;
            next_stmt = depth > 0 && brace_code[depth - 1];
        } else if (is(src, k, "(")) {
            parens++;
        } else if (is(src, k, ")")) {
            if (parens > 0)
                parens--;
            next_stmt = f->header_end[i];
        } else if (is(src, k, ";")) {
            next_stmt = parens == 0;
        } else if (is(src, k, "else") || is(src, k, "do")) {
            next_stmt = true;
        } else if (is(src, k, ":") && parens == 0 && code &&
                   (in_case || (i > 0 && f->stmt[i - 1] && t->v[i - 1].kind == TOK_IDENT))) {
            in_case = false;                                /* after a case or a label */
            next_stmt = true;
        }
    }
    free(stack), free(brace_code);
    return 0;
}

static void free_facts(struct facts *f)
{
    free(f->match), free(f->header_end), free(f->code), free(f->stmt);
}

/* A call or assignment statement starting at token s: the index of its ';',
 * or SIZE_MAX.  Declarations ("T x = ...", "T *x = ..."), labels, and
 * statements with braces are not. */
static size_t droppable(const char *src, const struct toks *t, size_t s)
{
    const struct tok *k = t->v;
    size_t n = t->n;
    bool call = false, assign = false;
    size_t i = s;
    if (k[s].kind == TOK_IDENT) {
        if (is_keyword(src, &k[s]) || s + 2 >= n || k[s + 1].kind == TOK_IDENT || is(src, &k[s + 1], ":"))
            return SIZE_MAX;
        if (is(src, &k[s + 1], "*") && k[s + 2].kind == TOK_IDENT)
            return SIZE_MAX;                               /* "T *x": a declaration */
    } else if (is(src, &k[s], "(") && s + 3 < n && is(src, &k[s + 1], "void") && is(src, &k[s + 2], ")")) {
        i = s + 3;                                         /* (void)f(x); */
        if (k[i].kind != TOK_IDENT)
            return SIZE_MAX;
    } else if (!is(src, &k[s], "*") && !is(src, &k[s], "++") && !is(src, &k[s], "--")) {
        return SIZE_MAX;
    }
    /* Release calls are not dropped: a leak is not a behaviour a replay can
     * see (make asan and make valgrind are where leaks are caught). */
    const struct tok *callee = &k[i];
    if (callee->kind == TOK_IDENT && i + 1 < n && is(src, &k[i + 1], "(")) {
        static const char *const rel[] = { "_free", "_destroy", "_close", "_put", "_release" };
        if (is(src, callee, "free") || is(src, callee, "close"))
            return SIZE_MAX;
        for (size_t r = 0; r < sizeof rel / sizeof rel[0]; r++) {
            size_t rl = strlen(rel[r]);
            if (callee->len > rl && memcmp(src + callee->off + callee->len - rl, rel[r], rl) == 0)
                return SIZE_MAX;
        }
    }
    int depth = 0;
    for (; i < n; i++) {
        if (is(src, &k[i], "{") || is(src, &k[i], "}"))
            return SIZE_MAX;
        if (is(src, &k[i], "(") || is(src, &k[i], "[")) {
            if (depth == 0 && is(src, &k[i], "("))
                call = true;
            depth++;
        } else if (is(src, &k[i], ")") || is(src, &k[i], "]")) {
            depth--;
        } else if (depth == 0 && is_assign(src, &k[i])) {
            assign = true;
        } else if (depth == 0 && is(src, &k[i], ";")) {
            return call || assign ? i : SIZE_MAX;
        }
    }
    return SIZE_MAX;
}

int mutants_of(const char *src, const struct toks *t, struct mutants *out)
{
    struct facts f;
    memset(out, 0, sizeof *out);
    if (find_facts(src, t, &f) < 0) {
        free_facts(&f);
        return -ENOMEM;
    }
    int rc = 0;
    const struct tok *k = t->v;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        if (!f.code[i])
            continue;
        const struct tok *p = i > 0 ? &k[i - 1] : NULL, *x = i + 1 < t->n ? &k[i + 1] : NULL;
        struct edit e[2];
        if (is_relop(src, &k[i])) {
            static const char *const from[] = { "==", "!=", "<", ">=", ">", "<=" };
            static const char *const neg[]  = { "!=", "==", ">=", "<", "<=", ">" };
            static const char *const off1[] = { NULL, NULL, "<=", ">", ">=", "<" };
            for (size_t j = 0; j < 6; j++) {
                if (!is(src, &k[i], from[j]))
                    continue;
                e[0] = (struct edit){ .off = k[i].off, .len = k[i].len };
                snprintf(e[0].text, sizeof e[0].text, "%s", neg[j]);
                rc = add(out, &k[i], "flip", 1, e);
                if (rc == 0 && off1[j]) {
                    snprintf(e[0].text, sizeof e[0].text, "%s", off1[j]);
                    rc = add(out, &k[i], "bound", 1, e);
                }
            }
        } else if (is_int(src, &k[i]) && ((p && is_relop(src, p)) || (x && is_relop(src, x))) &&
                   !(p && (is(src, p, "-") || is(src, p, ".") || is(src, p, "->")))) {
            e[0] = repl(&k[i], "(%.*s + 1)", src);
            rc = add(out, &k[i], "plus1", 1, e);
            e[0] = repl(&k[i], "(%.*s - 1)", src);
            if (rc == 0)
                rc = add(out, &k[i], "minus1", 1, e);
        } else if (is(src, &k[i], "&&") || is(src, &k[i], "||")) {
            e[0] = (struct edit){ .off = k[i].off, .len = k[i].len };
            snprintf(e[0].text, sizeof e[0].text, "%s", is(src, &k[i], "&&") ? "||" : "&&");
            rc = add(out, &k[i], "andor", 1, e);
        }
        if (rc == 0 && is(src, &k[i], "if") && x && is(src, x, "(") && f.match[i + 1] != SIZE_MAX) {
            e[0] = (struct edit){ .off = x->off + 1, .text = "!(" };
            e[1] = (struct edit){ .off = k[f.match[i + 1]].off, .text = ")" };
            rc = add(out, &k[i], "negif", 2, e);
        }
        if (rc == 0 && f.stmt[i] && is(src, &k[i], "return") && i + 2 < t->n) {
            /* return N; return -N; return -ERRNO; return CONSTANT; return true|false; */
            size_t v = i + 1, end = i + 2;
            bool minus = is(src, &k[v], "-");
            if (minus)
                v++, end++;
            if (end < t->n && is(src, &k[end], ";")) {
                const char *to = NULL;
                if (!minus && is(src, &k[v], "true"))
                    to = "false";
                else if (!minus && is(src, &k[v], "false"))
                    to = "true";
                else if (is_int(src, &k[v]))
                    to = !minus && strtoull(src + k[v].off, NULL, 0) == 0 ? "1" : "0";
                else if (k[v].kind == TOK_IDENT && all_caps(src, &k[v]) && !is(src, &k[v], "NULL"))
                    to = "0";
                if (to) {
                    e[0] = (struct edit){ .off = k[i + 1].off, .len = k[end - 1].off + k[end - 1].len - k[i + 1].off };
                    snprintf(e[0].text, sizeof e[0].text, "%s", to);
                    rc = add(out, &k[i], "ret", 1, e);
                }
            }
        }
        if (rc == 0 && f.stmt[i]) {
            size_t end = droppable(src, t, i);
            if (end != SIZE_MAX) {
                e[0] = (struct edit){ .off = k[i].off, .len = k[end].off + 1 - k[i].off, .text = "(void)0;" };
                rc = add(out, &k[i], "drop", 1, e);
            }
        }
    }
    free_facts(&f);
    if (rc < 0)
        mutants_free(out);
    return rc;
}

void mutant_apply(const char *src, size_t len, const struct mutant *m, struct tbuf *out)
{
    size_t at = 0;
    for (int j = 0; j < m->nedit; j++) {
        tbuf_put(out, src + at, m->e[j].off - at);
        tbuf_puts(out, m->e[j].text);
        at = m->e[j].off + m->e[j].len;
    }
    tbuf_put(out, src + at, len - at);
}
