/* tests/test_store_map.c — the store's containers (hash map, slab) and its
 * block hash, against simple reference models. */
#include <stdlib.h>
#include <string.h>

#include "sim/store/store_hash.h"
#include "sim/store/store_map.h"
#include "tests/support/testutil.h"

#define KEYS 20000u

START_TEST(map_matches_reference_under_churn)
{
    /* Keys clustered (consecutive LBAs) and spread, inserted, replaced and
     * deleted at random; after every step a sample is compared. */
    struct store_map m;
    store_map_init(&m);
    uint32_t *ref = malloc(KEYS * sizeof(*ref));
    ck_assert_ptr_nonnull(ref);
    for (uint32_t k = 0; k < KEYS; k++)
        ref[k] = STORE_MAP_NONE;
    uint64_t rng = 7;
    size_t live = 0;
    for (unsigned step = 0; step < 200000; step++) {
        uint32_t k = (uint32_t)(store_rng_next(&rng) % KEYS);
        uint64_t key = (k & 1) ? k : (uint64_t)k << 40;
        if (store_rng_next(&rng) % 3 == 0) {
            store_map_del(&m, key);
            live -= ref[k] != STORE_MAP_NONE;
            ref[k] = STORE_MAP_NONE;
        } else {
            ck_assert_int_eq(store_map_put(&m, key, step), 0);
            live += ref[k] == STORE_MAP_NONE;
            ref[k] = step;
        }
        ck_assert_uint_eq(m.count, live);
        if (step % 1000 == 0)
            for (uint32_t j = 0; j < KEYS; j++)
                ck_assert_uint_eq(store_map_get(&m, (j & 1) ? j : (uint64_t)j << 40), ref[j]);
    }
    /* Iteration sees each live key once. */
    size_t seen = 0;
    for (size_t i = 0; m.keys && i <= m.mask; i++)
        seen += store_map_used(&m, i);
    ck_assert_uint_eq(seen, live);
    ck_assert_uint_le(m.count * 4, (m.mask + 1) * 3);
    ck_assert_int_ne(store_map_put(&m, UINT64_MAX, 1), 0);   /* the empty marker */
    store_map_free(&m);
    ck_assert_uint_eq(store_map_get(&m, 1), STORE_MAP_NONE);
    store_map_del(&m, 1);                                     /* harmless when empty */
    free(ref);
}
END_TEST

START_TEST(slab_reuses_released_records)
{
    struct store_slab sl;
    store_slab_init(&sl, 24);
    uint32_t ids[10000];
    for (uint32_t i = 0; i < 10000; i++) {
        ids[i] = store_slab_alloc(&sl);
        ck_assert_uint_eq(ids[i], i);
        memset(store_slab_at(&sl, ids[i]), (int)(i & 0xff), 24);
    }
    ck_assert_uint_eq(sl.live, 10000);
    store_slab_release(&sl, 17);
    store_slab_release(&sl, 5000);
    ck_assert_uint_eq(sl.live, 9998);
    uint32_t a = store_slab_alloc(&sl), b = store_slab_alloc(&sl);
    ck_assert(a == 5000 && b == 17);                          /* LIFO reuse */
    const unsigned char *p = store_slab_at(&sl, a);
    for (int i = 0; i < 24; i++)
        ck_assert_uint_eq(p[i], 0);                           /* zeroed again */
    ck_assert_uint_eq(*(unsigned char *)store_slab_at(&sl, 9999), 9999 & 0xff);
    ck_assert_uint_eq(store_slab_alloc(&sl), 10000);
    ck_assert_uint_ge(store_slab_bytes(&sl), 10001u * 24);
    store_slab_free(&sl);
}
END_TEST

START_TEST(block_hash_separates_contents)
{
    unsigned char a[4096], b[4096];
    memset(a, 0, sizeof(a));
    memcpy(b, a, sizeof(a));
    ck_assert_uint_eq(store_block_hash(a, 4096), store_block_hash(b, 4096));
    ck_assert_uint_ne(store_block_hash(a, 512), store_block_hash(a, 4096));  /* length counts */
    /* Every single-bit flip of a zero block and of a patterned block changes
     * the hash. */
    for (int pattern = 0; pattern < 2; pattern++) {
        for (size_t i = 0; i < sizeof(a); i++)
            a[i] = pattern ? (unsigned char)(i * 31 + 7) : 0;
        uint32_t h = store_block_hash(a, sizeof(a));
        for (size_t bit = 0; bit < sizeof(a) * 8; bit += 3) {
            a[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            ck_assert_uint_ne(store_block_hash(a, sizeof(a)), h);
            a[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
    }
    /* Swapping two 8-byte words in different lanes changes it too. */
    uint64_t x = 1, y = 2;
    memset(a, 0, sizeof(a));
    memcpy(a, &x, 8);
    memcpy(a + 8, &y, 8);
    uint32_t h1 = store_block_hash(a, 512);
    memcpy(a, &y, 8);
    memcpy(a + 8, &x, 8);
    ck_assert_uint_ne(store_block_hash(a, 512), h1);
}
END_TEST

START_TEST(rng_is_deterministic)
{
    uint64_t s1 = 99, s2 = 99, s3 = 100;
    for (int i = 0; i < 100; i++) {
        uint64_t v = store_rng_next(&s1);
        ck_assert_uint_eq(v, store_rng_next(&s2));
        ck_assert_uint_ne(v, store_rng_next(&s3));
    }
}
END_TEST

static Suite *store_map_suite(void)
{
    Suite *s = suite_create("store_map");
    TCase *tc = tcase_create("containers");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, map_matches_reference_under_churn);
    tcase_add_test(tc, slab_reuses_released_records);
    tcase_add_test(tc, block_hash_separates_contents);
    tcase_add_test(tc, rng_is_deterministic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(store_map_suite());
}
