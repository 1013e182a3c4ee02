/* base/fd_limit.h — raising the open-file limit (RLIMIT_NOFILE) to what a
 * program with many connections needs: the one place serve, the session
 * benchmark and the session tests do it. */
#ifndef BASE_FD_LIMIT_H
#define BASE_FD_LIMIT_H

#include <sys/resource.h>

/* Raises the soft limit to at least need, and the hard limit too when the
 * process may (root); otherwise as far as the hard limit allows.  0 when the
 * soft limit now reaches need, else -errno (-EMFILE: the hard limit is
 * below need and could not be raised).  *now (may be NULL) gets the soft
 * limit in force afterwards. */
int fd_limit_raise(rlim_t need, rlim_t *now);

#endif
