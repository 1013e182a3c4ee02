/* tests/test_range_alloc.c — the range allocator under osal_user's RAM and
 * IOVA allocators: first fit and next fit, alignment, limits, the very top of
 * the 64-bit space, release errors, and a randomized model check against a
 * bitmap of pages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform/range_alloc.h"
#include "tests/support/testutil.h"

START_TEST(first_fit_reuses_the_lowest_hole)
{
    struct range_alloc a;
    range_alloc_init(&a, 0, 1000);
    uint64_t s[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(range_alloc_get(&a, 100, 1, UINT64_MAX, false, &s[i]), 0);
        ck_assert_uint_eq(s[i], 100u * (unsigned)i);
    }
    uint64_t size;
    ck_assert_int_eq(range_alloc_put(&a, 100, &size), 0);
    ck_assert_uint_eq(size, 100);
    uint64_t x;
    ck_assert_int_eq(range_alloc_get(&a, 50, 1, UINT64_MAX, false, &x), 0);
    ck_assert_uint_eq(x, 100);
    ck_assert_int_eq(range_alloc_get(&a, 60, 1, UINT64_MAX, false, &x), 0);
    ck_assert_uint_eq(x, 400); /* 50 left in the hole: too small */
    ck_assert_uint_eq(a.used, 410);
    ck_assert_uint_eq(range_alloc_top(&a), 460);
    range_alloc_fini(&a);
}
END_TEST

START_TEST(next_fit_moves_on_and_wraps)
{
    struct range_alloc a;
    range_alloc_init(&a, 0x1000, 0x5000);
    uint64_t s1, s2, s3;
    ck_assert_int_eq(range_alloc_get(&a, 0x1000, 0x1000, UINT64_MAX, true, &s1), 0);
    ck_assert_int_eq(range_alloc_put(&a, s1, NULL), 0);
    ck_assert_int_eq(range_alloc_get(&a, 0x1000, 0x1000, UINT64_MAX, true, &s2), 0);
    ck_assert_uint_eq(s2, 0x2000); /* not the hole just freed */
    ck_assert_int_eq(range_alloc_get(&a, 0x2000, 0x1000, UINT64_MAX, true, &s3), 0);
    ck_assert_uint_eq(s3, 0x3000);
    /* Cursor at the end: the next one wraps to the start. */
    ck_assert_int_eq(range_alloc_get(&a, 0x1000, 0x1000, UINT64_MAX, true, &s1), 0);
    ck_assert_uint_eq(s1, 0x1000);
    ck_assert_int_eq(range_alloc_get(&a, 0x1000, 0x1000, UINT64_MAX, true, &s1), -ENOSPC);
    range_alloc_fini(&a);
}
END_TEST

START_TEST(alignment_and_limits)
{
    struct range_alloc a;
    range_alloc_init(&a, 8, 1 << 20);
    uint64_t x;
    ck_assert_int_eq(range_alloc_get(&a, 10, 4096, UINT64_MAX, false, &x), 0);
    ck_assert_uint_eq(x, 4096);
    ck_assert_int_eq(range_alloc_get(&a, 10, 8, UINT64_MAX, false, &x), 0);
    ck_assert_uint_eq(x, 8); /* below the aligned one */
    ck_assert_int_eq(range_alloc_get(&a, 4096, 4096, 8192, false, &x), -ENOSPC); /* would end at 12288 */
    ck_assert_int_eq(range_alloc_get(&a, 4086, 1, 8192, false, &x), 0);
    ck_assert_uint_eq(x, 4106);
    ck_assert_int_eq(range_alloc_get(&a, 1, 1, 4096, false, &x), 0);
    ck_assert_uint_eq(x, 18);
    ck_assert_int_eq(range_alloc_get(&a, 0, 1, UINT64_MAX, false, &x), -EINVAL);
    ck_assert_int_eq(range_alloc_get(&a, 1, 3, UINT64_MAX, false, &x), -EINVAL);
    ck_assert_int_eq(range_alloc_get(&a, 1, 0, UINT64_MAX, false, &x), -EINVAL);
    ck_assert_int_eq(range_alloc_get(&a, 2u << 20, 1, UINT64_MAX, false, &x), -ENOSPC);
    ck_assert_int_eq(range_alloc_put(&a, 9, NULL), -ENOENT);
    ck_assert_int_eq(range_alloc_put(&a, 8, NULL), 0);
    ck_assert_int_eq(range_alloc_put(&a, 8, NULL), -ENOENT);
    range_alloc_fini(&a);
}
END_TEST

START_TEST(top_of_the_64_bit_space)
{
    const uint64_t top = UINT64_MAX & ~0xFFFull;
    struct range_alloc a;
    range_alloc_init(&a, top - 0x3000, top);
    uint64_t x;
    ck_assert_int_eq(range_alloc_get(&a, 0x3000, 0x1000, UINT64_MAX, true, &x), 0);
    ck_assert_uint_eq(x, top - 0x3000);
    ck_assert_int_eq(range_alloc_get(&a, 1, 0x1000, UINT64_MAX, true, &x), -ENOSPC);
    ck_assert_int_eq(range_alloc_put(&a, top - 0x3000, NULL), 0);
    /* An alignment that would wrap past 2^64 must not. */
    ck_assert_int_eq(range_alloc_get(&a, 1, 1ull << 63, UINT64_MAX, false, &x), -ENOSPC);
    range_alloc_fini(&a);
}
END_TEST

/* Random gets and puts against a page bitmap: no overlap, nothing outside
 * the space or the limit, -ENOSPC only when no aligned run fits, every put
 * returns the size it got. */
START_TEST(model_check)
{
    enum { PAGES = 256 };
    struct range_alloc a;
    range_alloc_init(&a, 0, PAGES);
    static unsigned char used[PAGES];
    static uint64_t start[PAGES], size[PAGES];
    memset(used, 0, sizeof(used));
    size_t live = 0;
    unsigned seed = 12345;
    for (int step = 0; step < 20000; step++) {
        if (live && rand_r(&seed) % 2) {
            size_t k = (size_t)rand_r(&seed) % live;
            uint64_t got;
            ck_assert_int_eq(range_alloc_put(&a, start[k], &got), 0);
            ck_assert_uint_eq(got, size[k]);
            for (uint64_t p = start[k]; p < start[k] + size[k]; p++)
                used[p] = 0;
            start[k] = start[live - 1];
            size[k] = size[live - 1];
            live--;
        } else {
            uint64_t n = 1 + (uint64_t)rand_r(&seed) % 8, align = 1u << (rand_r(&seed) % 3);
            uint64_t limit = rand_r(&seed) % 4 ? UINT64_MAX : 128;
            uint64_t s;
            int rc = range_alloc_get(&a, n, align, limit, rand_r(&seed) % 2, &s);
            if (rc == -ENOSPC) {
                /* Only when really nothing fits. */
                uint64_t end = limit < PAGES ? limit : PAGES;
                for (uint64_t p = 0; p + n <= end; p += align) {
                    uint64_t q = p;
                    while (q < p + n && !used[q])
                        q++;
                    ck_assert_msg(q < p + n, "-ENOSPC with %llu free pages at %llu", (unsigned long long)n,
                                  (unsigned long long)p);
                }
                continue;
            }
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(s % align, 0);
            ck_assert_uint_le(s + n, limit < PAGES ? limit : PAGES);
            for (uint64_t p = s; p < s + n; p++) {
                ck_assert_uint_eq(used[p], 0);
                used[p] = 1;
            }
            start[live] = s;
            size[live] = n;
            live++;
        }
        ck_assert_uint_eq(a.n, live);
    }
    range_alloc_fini(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("range_alloc");
    TCase *t = tcase_create("range_alloc");
    tcase_add_test(t, first_fit_reuses_the_lowest_hole);
    tcase_add_test(t, next_fit_moves_on_and_wraps);
    tcase_add_test(t, alignment_and_limits);
    tcase_add_test(t, top_of_the_64_bit_space);
    tcase_add_test(t, model_check);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
