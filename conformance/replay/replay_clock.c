/* conformance/replay/replay_clock.c — the replay's sense of time: the project's
 * monotonic clock (base/clock.h), and the trace's time budget that bounds every wait. */
#include <errno.h>
#include <time.h>

#include "base/clock.h"
#include "conformance/replay/replay_priv.h"

/* The replay engine's name for base/clock.h's clock (its callers predate it). */
uint64_t replay_now_ns(void)
{
    return clock_now_ns();
}

void replay_sleep_ns(struct replay *rp, uint64_t ns)
{
    uint64_t now = replay_now_ns();
    if (now >= rp->budget_end_ns)
        return;
    if (ns > rp->budget_end_ns - now)
        ns = rp->budget_end_ns - now;
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool replay_out_of_time(struct replay *rp, unsigned line)
{
    if (rp->out_of_time)
        return true;
    if (replay_now_ns() < rp->budget_end_ns)
        return false;
    rp->out_of_time = true;
    rp->out_of_time_line = line;
    return true;
}
