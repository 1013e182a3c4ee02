/* tests/test_ring_ref.c — the ring-limit reference (bench/ring_ref.h) that
 * `scsisim bench` divides by: it runs at the queue depths asked for, every
 * completion matches a command in flight, and it refuses depths its rings
 * cannot hold.  Not a measurement: no figure is asserted, only that commands
 * went round. */
#include <errno.h>
#include <stdlib.h>

#include "bench/ring_ref.h"
#include "tests/support/testutil.h"

START_TEST(each_depth_completes_commands_that_match)
{
    const unsigned qds[] = { 1, 2, 32, RING_REF_MAX_QD };
    for (size_t i = 0; i < sizeof(qds) / sizeof(qds[0]); i++) {
        struct ring_ref_result r;
        /* A starved machine may give the two threads no common moment in a
         * short window: longer windows until commands go round (at most
         * about 3 s); the behaviour judged is that they do, not how fast. */
        static const double windows[] = { 0.02, 0.1, 0.5, 2.0 };
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            ck_assert_int_eq(ring_ref_run(qds[i], windows[w], &r), 0);
            if (r.commands > 0)
                break;
        }
        ck_assert_uint_eq(r.qd, qds[i]);
        ck_assert_uint_eq(r.bad, 0);
        ck_assert_uint_gt(r.commands, 0);
        ck_assert(r.per_s > 0);
    }
}
END_TEST

START_TEST(depths_the_rings_cannot_hold_are_refused)
{
    struct ring_ref_result r;
    ck_assert_int_eq(ring_ref_run(0, 0.01, &r), -EINVAL);
    ck_assert_int_eq(ring_ref_run(RING_REF_MAX_QD + 1, 0.01, &r), -EINVAL);
    ck_assert_int_eq(ring_ref_run(1, 0, &r), -EINVAL);
    ck_assert_uint_eq(r.commands, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ring_ref");
    TCase *t = tcase_create("ring_ref");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, each_depth_completes_commands_that_match);
    tcase_add_test(t, depths_the_rings_cannot_hold_are_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
