/* base/tbuf.h — the one growable buffer (text or bytes) of the project: the
 * trace printer, the reporters and anything else that builds output.  An allocation failure is sticky (oom) and makes later appends
 * no-ops, so callers check once at the end. */
#ifndef BASE_TBUF_H
#define BASE_TBUF_H

#include <stdbool.h>
#include <stddef.h>

struct tbuf {
    char  *s;      /* NUL-terminated when len > 0 */
    size_t len, cap;
    bool   oom;
};

void tbuf_put(struct tbuf *b, const char *s, size_t n);
void tbuf_puts(struct tbuf *b, const char *s);
void tbuf_putc(struct tbuf *b, char c);
void tbuf_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer (keeps its memory). */
void tbuf_reset(struct tbuf *b);
/* The text so far ("" when empty). */
const char *tbuf_str(const struct tbuf *b);
void tbuf_free(struct tbuf *b);

#endif
