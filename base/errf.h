/* base/errf.h — the one way a function says what failed: it returns a
 * negative errno and, given a caller's (err, errlen), writes a sentence there.
 * err may be NULL or errlen 0 (the caller does not want the sentence). */
#ifndef BASE_ERRF_H
#define BASE_ERRF_H

#include <stdarg.h>
#include <stddef.h>

void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void verrf(char *err, size_t errlen, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
