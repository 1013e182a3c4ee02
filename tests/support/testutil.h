/* tests/support/testutil.h — what every Check test program shares: running
 * its suite, and knowing whether it runs under valgrind (make valgrind sets
 * SCSISIM_VALGRIND), where long loops must loop less. */
#ifndef TESTS_SUPPORT_TESTUTIL_H
#define TESTS_SUPPORT_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

/* Check's per-test timeouts (tcase_set_timeout, 4 s when a tcase sets none)
 * are hang detectors sized on a quiet machine; under a load average of 20 on
 * 2 cores a CPU-bound test runs several times slower and would be killed
 * while working.  Every test program therefore runs with Check's own
 * CK_TIMEOUT_MULTIPLIER=3 unless the caller set one (make check-repeat, a
 * by-hand run).  Check reads it when a tcase is created and when its timeout
 * is set, so it is set before main. */
__attribute__((constructor)) static void testutil_timeout_multiplier(void)
{
    setenv("CK_TIMEOUT_MULTIPLIER", "3", 0);
}

/* Runs a suite, prints Check's summary, returns the process exit code. */
static inline int testutil_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* True when the Makefile runs the tests under valgrind (SCSISIM_VALGRIND). */
static inline bool testutil_valgrind(void)
{
    const char *v = getenv("SCSISIM_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

/* n normally, small under valgrind. */
static inline unsigned testutil_scale(unsigned n, unsigned small)
{
    return testutil_valgrind() ? small : n;
}

/* Waiting for an event without a deadline that a loaded machine can miss.
 * A test that waits for something which must happen (a completion, a state,
 * a file) polls it under TESTUTIL_WAIT_FOR, which gives up only after
 * TESTUTIL_PATIENCE_MS of wall-clock time — far longer than the event takes
 * on a 2-core machine with a load average of 20 — and the test then asserts
 * the condition, so running out is a failure that says what did not happen.
 * The bound is wall-clock, not an iteration count, because under load each
 * nap lasts longer than asked and the work being waited for slows with it.
 * It stays below the usual tcase timeout (20-30 s) so the failure is the
 * test's own message rather than Check's "timeout expired". */
#define TESTUTIL_PATIENCE_MS 15000u

struct testutil_wait {
    uint64_t end_ms;
    unsigned nap_us;
};

static inline struct testutil_wait testutil_wait_start(unsigned ms)
{
    return (struct testutil_wait){ clock_now_ms() + ms, 100 };
}

/* Sleeps a little (100 us, doubling up to 5 ms, so fast events cost little);
 * false once the patience has run out. */
static inline bool testutil_wait_nap(struct testutil_wait *w)
{
    if (clock_now_ms() >= w->end_ms)
        return false;
    struct timespec ts = { 0, (long)w->nap_us * 1000L };
    nanosleep(&ts, NULL);
    if (w->nap_us < 5000)
        w->nap_us *= 2;
    return true;
}

/* Polls cond until it holds or the patience (ms) ran out; the caller then
 * asserts cond.  cond is evaluated again after every nap. */
#define TESTUTIL_WAIT_FOR_MS(cond, ms) \
    for (struct testutil_wait testutil_w_ = testutil_wait_start(ms); !(cond) && testutil_wait_nap(&testutil_w_);)
#define TESTUTIL_WAIT_FOR(cond) TESTUTIL_WAIT_FOR_MS(cond, TESTUTIL_PATIENCE_MS)

#endif
