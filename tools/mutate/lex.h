/* tools/mutate/lex.h — the C tokens of one source file, as the mutation
 * generator needs them: punctuators, identifiers, numbers and literals with
 * their byte offset, line and column.  Comments, string and character
 * literals' insides and preprocessor lines (with their continuations) are
 * skipped, so nothing in them is ever mutated.  This is a lexer, not a parser:
 * it knows no types and no grammar (ops.c works on token patterns). */
#ifndef TOOLS_MUTATE_LEX_H
#define TOOLS_MUTATE_LEX_H

#include <stddef.h>

enum tok_kind { TOK_IDENT, TOK_NUMBER, TOK_STRING, TOK_CHAR, TOK_PUNCT };

struct tok {
    enum tok_kind kind;
    size_t off, len;   /* bytes of the source */
    int line, col;     /* 1-based; col counts bytes */
};

struct toks {
    struct tok *v;
    size_t n, cap;
};

/* Tokenizes src[0..len).  Returns 0, or -ENOMEM. */
int  lex(const char *src, size_t len, struct toks *out);
void toks_free(struct toks *t);

#endif
