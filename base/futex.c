/* base/futex.c — see base/futex.h. */
#include "base/futex.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void futex_wait_shared(uint32_t *word, uint32_t expect, int timeout_ms)
{
    struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L };
    /* EAGAIN (the word already differs), EINTR and ETIMEDOUT all mean "look
     * again": the caller's loop decides. */
    (void)syscall(SYS_futex, word, FUTEX_WAIT, expect, timeout_ms < 0 ? NULL : &ts, NULL, 0);
}

void futex_wake_shared(uint32_t *word)
{
    (void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
