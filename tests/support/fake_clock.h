/* tests/support/fake_clock.h — a controllable clock for tests of code that
 * reads base/clock.h synchronously (the firmware's "becoming ready" time,
 * ready_ms).  A test that includes this header links fake_clock.c, whose
 * clock_now_ns and clock_deadline_ms take the place of base/clock.c's (the
 * linker then never pulls clock.o from libscsisim_base.a): time stands still
 * until the test moves it, so "not ready yet" and "ready now" are certain on
 * any machine, however loaded, and the test takes no wall time.
 *
 * Only for test programs with no thread that waits on the clock (a
 * controller thread, a libuv loop, pthread_cond_timedwait): those would never
 * see time pass. */
#ifndef TESTS_SUPPORT_FAKE_CLOCK_H
#define TESTS_SUPPORT_FAKE_CLOCK_H

#include <stdint.h>

#include "base/clock.h"

/* Moves the clock forward by ms milliseconds. */
void fake_clock_advance_ms(uint64_t ms);

#endif
