/* base/tbuf.c — see tbuf.h. */
#include "base/tbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct tbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 128;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    char *ns = realloc(b->s, ncap);
    if (!ns) {
        b->oom = true;
        return false;
    }
    b->s = ns;
    b->cap = ncap;
    return true;
}

void tbuf_put(struct tbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void tbuf_puts(struct tbuf *b, const char *s)
{
    tbuf_put(b, s, strlen(s));
}

void tbuf_putc(struct tbuf *b, char c)
{
    tbuf_put(b, &c, 1);
}

void tbuf_printf(struct tbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        tbuf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tbuf_reset(struct tbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

const char *tbuf_str(const struct tbuf *b)
{
    return b->s && b->len ? b->s : "";
}

void tbuf_free(struct tbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}
