/* tests/test_nexus_index.c — the nexus -> HBA id index of backend_stack:
 * every id held at once, lookups after removals that force backward shifts,
 * and a long random walk checked against a plain table. */
#include "tests/support/testutil.h"

#include <stdlib.h>

#include "host/nexus_index.h"

static struct nexus_index ix;

static void setup(void)
{
    memset(&ix, 0, sizeof(ix));
}

START_TEST(every_id_at_once)
{
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        nexus_index_put(&ix, 1000 + i, (uint16_t)i);
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        ck_assert_int_eq(nexus_index_find(&ix, 1000 + i), (int)i);
    ck_assert_int_eq(nexus_index_find(&ix, 999), -1);
    ck_assert_int_eq(nexus_index_find(&ix, 1000 + HBA_MAX_INITIATORS), -1);
}
END_TEST

START_TEST(removals_keep_the_rest_findable)
{
    /* Every other key out, then the rest still found and the removed ones not. */
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        nexus_index_put(&ix, 7 + 3 * (uint64_t)i, (uint16_t)i);
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i += 2)
        nexus_index_remove(&ix, 7 + 3 * (uint64_t)i);
    nexus_index_remove(&ix, 5); /* absent: nothing happens */
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        ck_assert_int_eq(nexus_index_find(&ix, 7 + 3 * (uint64_t)i), i % 2 ? (int)i : -1);
}
END_TEST

START_TEST(a_random_walk_agrees_with_a_plain_table)
{
    static uint64_t held[HBA_MAX_INITIATORS]; /* id -> nexus, 0 = free */
    memset(held, 0, sizeof(held));
    srand(12345);
    for (int step = 0; step < 200000; step++) {
        unsigned id = (unsigned)rand() % HBA_MAX_INITIATORS;
        if (held[id]) {
            ck_assert_int_eq(nexus_index_find(&ix, held[id]), (int)id);
            nexus_index_remove(&ix, held[id]);
            ck_assert_int_eq(nexus_index_find(&ix, held[id]), -1);
            held[id] = 0;
        } else {
            /* Keys from a small range so runs collide and wrap. */
            uint64_t nexus = 1 + (uint64_t)rand() % 50000;
            if (nexus_index_find(&ix, nexus) >= 0)
                continue;
            nexus_index_put(&ix, nexus, (uint16_t)id);
            held[id] = nexus;
        }
    }
    for (unsigned id = 0; id < HBA_MAX_INITIATORS; id++)
        if (held[id])
            ck_assert_int_eq(nexus_index_find(&ix, held[id]), (int)id);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nexus_index");
    TCase *tc = tcase_create("nexus_index");
    tcase_set_timeout(tc, 60); /* a loaded machine; the walk itself takes milliseconds */
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, every_id_at_once);
    tcase_add_test(tc, removals_keep_the_rest_findable);
    tcase_add_test(tc, a_random_walk_agrees_with_a_plain_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
