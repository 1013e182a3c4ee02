/* tests/support/fake_clock.c — see fake_clock.h. */
#include "tests/support/fake_clock.h"

/* Starts at 1 s, not 0, so "0 means unset" in the code under test never
 * meets a real instant. */
static uint64_t fake_now_ns = 1000000000ull;

uint64_t clock_now_ns(void)
{
    return __atomic_load_n(&fake_now_ns, __ATOMIC_SEQ_CST);
}

struct timespec clock_deadline_ms(uint64_t ms)
{
    uint64_t t = clock_now_ns() + ms * 1000000u;
    return (struct timespec){ .tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u) };
}

void fake_clock_advance_ms(uint64_t ms)
{
    __atomic_add_fetch(&fake_now_ns, ms * 1000000u, __ATOMIC_SEQ_CST);
}
