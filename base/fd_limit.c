/* base/fd_limit.c — see fd_limit.h. */
#include "base/fd_limit.h"

#include <errno.h>
#include <stdbool.h>

int fd_limit_raise(rlim_t need, rlim_t *now)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < need) {
        bool hard_ok = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need;
        struct rlimit up = { .rlim_cur = need, .rlim_max = hard_ok ? rl.rlim_max : need };
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            rl = up;
        } else if (!hard_ok) {
            rl.rlim_cur = rl.rlim_max; /* as far as the hard limit goes */
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        } else {
            int e = errno;
            if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
            if (now)
                *now = rl.rlim_cur;
            return -e;
        }
    }
    if (now)
        *now = rl.rlim_cur;
    return rl.rlim_cur >= need ? 0 : -EMFILE;
}
