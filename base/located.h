/* base/located.h — the one located-error type: what went wrong and where, in
 * a file (line and column from 1, byte offset from 0) or on a command line
 * (column only).  The configuration parser and the trace parser both fill it;
 * every front end prints it with located_format.  Functions that fill one
 * return a negative errno (-EINVAL for bad input). */
#ifndef BASE_LOCATED_H
#define BASE_LOCATED_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct located_error {
    char     file[256];    /* "" for a command-line setting */
    unsigned line, column; /* 0 = not known */
    uint64_t offset;       /* byte offset in the file of the offending byte */
    char     message[512];
};

/* Fills e (NULL is ignored): file may be NULL. */
void located_set(struct located_error *e, const char *file, unsigned line, unsigned column, uint64_t offset,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void located_vset(struct located_error *e, const char *file, unsigned line, unsigned column, uint64_t offset,
                  const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* "FILE:LINE:COL: error: MESSAGE"; without a line "FILE: error: MESSAGE";
 * without a file "column COL: error: MESSAGE" (a command-line setting) or
 * "error: MESSAGE". */
void located_format(const struct located_error *e, char *buf, size_t len);

#endif
