/* base/located.c — see located.h. */
#include "base/located.h"

#include <stdio.h>

void located_vset(struct located_error *e, const char *file, unsigned line, unsigned column, uint64_t offset,
                  const char *fmt, va_list ap)
{
    if (!e)
        return;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    e->column = column;
    e->offset = offset;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

void located_set(struct located_error *e, const char *file, unsigned line, unsigned column, uint64_t offset,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    located_vset(e, file, line, column, offset, fmt, ap);
    va_end(ap);
}

void located_format(const struct located_error *e, char *buf, size_t len)
{
    if (e->file[0] && e->line)
        snprintf(buf, len, "%s:%u:%u: error: %s", e->file, e->line, e->column, e->message);
    else if (e->file[0])
        snprintf(buf, len, "%s: error: %s", e->file, e->message);
    else if (e->column)
        snprintf(buf, len, "column %u: error: %s", e->column, e->message);
    else
        snprintf(buf, len, "error: %s", e->message);
}
