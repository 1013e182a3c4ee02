/* base/clock.c — see clock.h. */
#include "base/clock.h"

uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec clock_deadline_ms(uint64_t ms)
{
    uint64_t t = clock_now_ns() + ms * 1000000u;
    struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u) };
    return ts;
}
