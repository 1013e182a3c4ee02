/* base/clock.h — the one clock of the project (outside the portable driver
 * core, which asks its OS layer: core/osal.h).  Monotonic, so intervals and
 * deadlines survive wall-clock changes. */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in nanoseconds / microseconds / milliseconds. */
uint64_t clock_now_ns(void);
static inline uint64_t clock_now_us(void) { return clock_now_ns() / 1000u; }
static inline uint64_t clock_now_ms(void) { return clock_now_ns() / 1000000u; }

/* The CLOCK_MONOTONIC instant ms milliseconds from now, for
 * pthread_cond_timedwait on a condition variable whose clock is
 * CLOCK_MONOTONIC (pthread_condattr_setclock). */
struct timespec clock_deadline_ms(uint64_t ms);

#endif
