/* tools/mutate/ops.h — the mutation operators of `make mutation`, applied to
 * one C source's tokens (lex.h).  Token and line patterns only, not a parser:
 * a candidate the compiler then rejects is a stillborn mutant, counted apart
 * and never in the score (docs/mutation.md).
 *
 *   flip    a relational or equality operator to its negation (== !=, < >=, > <=)
 *   bound   off by one at a bound: < to <=, <= to <, > to >=, >= to >
 *   plus1   an integer constant that is an operand of a comparison, +1
 *   minus1  the same constant, -1
 *   negif   if (C) to if (!(C))
 *   drop    a call or assignment statement replaced by (void)0;
 *   andor   && to ||, || to &&
 *   ret     a returned constant replaced: 0 to 1, any other number, -ERRNO or
 *           an upper-case constant (not NULL, which is 0) to 0, true to
 *           false and back
 *
 * drop leaves release calls alone (free, close, *_free, *_destroy,
 * *_close, *_put, *_release): a leak is not a behaviour a replay can see.
 *
 * Only code inside function bodies is mutated (not initializers, not file-
 * scope declarations, not preprocessor lines).  A mutant's id is
 * FILE:LINE:COLUMN:OPERATOR, stable as long as the source is. */
#ifndef TOOLS_MUTATE_OPS_H
#define TOOLS_MUTATE_OPS_H

#include <stddef.h>

#include "base/tbuf.h"
#include "tools/mutate/lex.h"

struct edit {
    size_t off, len;   /* the source bytes replaced */
    char text[48];     /* by this */
};

struct mutant {
    int line, col;
    const char *op;    /* one of the names above (static storage) */
    int nedit;
    struct edit e[2];  /* in source order, not overlapping */
};

struct mutants {
    struct mutant *v;
    size_t n, cap;
};

/* Every mutant of src (tokens t), in token order.  Returns 0 or -ENOMEM. */
int  mutants_of(const char *src, const struct toks *t, struct mutants *out);
void mutants_free(struct mutants *m);
/* The source with m applied, into out (appended). */
void mutant_apply(const char *src, size_t len, const struct mutant *m, struct tbuf *out);
/* Whether name is one of the operators. */
int  mutant_op_known(const char *name);

#endif
