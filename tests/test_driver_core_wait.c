/* tests/test_driver_core_wait.c — the deadline of the driver core's
 * synchronous waits (core/core_internal.h, core_wait): it passes after its
 * milliseconds of polling, and a gap between polls far longer than a poll's
 * sleep (the host starved the core) moves it out by the gap, so a starved
 * machine does not read as a silent controller.  Clock values are given, not
 * read: nothing here depends on how fast the machine is; and the pause
 * between polls: a few yields of the CPU, then sleeps that back off. */
#include "tests/support/testutil.h"

#include "core/core_internal.h"

#define MS 1000000ull

START_TEST(passes_after_its_time_of_regular_polls)
{
    struct core_wait w;
    uint64_t t = 5 * MS;
    core_wait_start(&w, t, 100);
    for (int i = 0; i < 100; i++) {
        t += 1 * MS;                        /* polls a millisecond apart */
        ck_assert(!core_wait_expired(&w, t));
    }
    t += 1 * MS;
    ck_assert(core_wait_expired(&w, t));  /* 101 ms of polling: past 100 */
}
END_TEST

START_TEST(a_starved_gap_moves_the_deadline_out)
{
    struct core_wait w;
    core_wait_start(&w, 0, 100);
    ck_assert(!core_wait_expired(&w, 10 * MS));
    ck_assert(!core_wait_expired(&w, 3010 * MS)); /* the host did not run us for 3 s */
    /* 10 ms before the gap and 90 after it, in polls 15 ms apart */
    for (uint64_t t = 3025; t <= 3100; t += 15)
        ck_assert(!core_wait_expired(&w, t * MS));
    ck_assert(core_wait_expired(&w, 3101 * MS));
}
END_TEST

START_TEST(gaps_up_to_the_threshold_count_as_polling)
{
    struct core_wait w;
    uint64_t t = 0;
    core_wait_start(&w, t, 100);
    for (int i = 0; i < 5; i++) {
        t += 20 * MS;                       /* slow polls, but not starvation */
        ck_assert(!core_wait_expired(&w, t));
    }
    ck_assert(core_wait_expired(&w, t + 1 * MS));
}
END_TEST

START_TEST(the_pause_between_polls_doubles_up_to_its_cap)
{
    struct core_wait w;
    core_wait_start(&w, 0, 100);
    ck_assert_uint_eq(w.nap_us, DRV_POLL_SLEEP_US);
    /* the first pauses only yield: no sleep yet, so no back-off */
    for (unsigned i = 0; i < DRV_POLL_YIELDS; i++) {
        ck_assert_uint_eq(w.yields, i);
        core_wait_nap(&w);
        ck_assert_uint_eq(w.nap_us, DRV_POLL_SLEEP_US);
    }
    ck_assert_uint_eq(w.yields, DRV_POLL_YIELDS);
    unsigned want = DRV_POLL_SLEEP_US;
    for (int i = 0; i < 8; i++) {
        core_wait_nap(&w);
        want = want * 2 < DRV_POLL_SLEEP_MAX_US ? want * 2 : DRV_POLL_SLEEP_MAX_US;
        ck_assert_uint_eq(w.nap_us, want);
    }
    ck_assert_uint_eq(w.nap_us, DRV_POLL_SLEEP_MAX_US);
    core_wait_start(&w, 0, 100); /* a new wait starts quick again */
    ck_assert_uint_eq(w.nap_us, DRV_POLL_SLEEP_US);
    ck_assert_uint_eq(w.yields, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_core_wait");
    TCase *tc = tcase_create("wait");
    tcase_add_test(tc, passes_after_its_time_of_regular_polls);
    tcase_add_test(tc, a_starved_gap_moves_the_deadline_out);
    tcase_add_test(tc, gaps_up_to_the_threshold_count_as_polling);
    tcase_add_test(tc, the_pause_between_polls_doubles_up_to_its_cap);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
