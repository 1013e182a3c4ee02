/* tests/test_osal_dma_pool.c — osal_user's pool of DMA mapping records and its
 * index by first IOVA (platform/osal_user_dma.c, "the record pool"): many
 * prepares and completes in mixed order each find their own record, a double
 * complete and a mapping of another buffer are refused with -ENOENT, a
 * modified one with -EINVAL, more live mappings than a slab work, failed
 * prepares return their record, and at steady state the pool stops growing
 * (no allocation per command, issue 14). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "platform/osal_user.h"
#include "tests/support/osal_one.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"

#define RAM OSAL_ONE_RAM
#define PG OSAL_ONE_PAGE
#define SLAB 64u /* MAP_SLAB of osal_user_dma.c */


/* A deterministic shuffle (no seeds from the clock: the test is repeatable). */
static void shuffle(unsigned *v, unsigned n, uint32_t seed)
{
    for (unsigned i = 0; i < n; i++)
        v[i] = i;
    for (unsigned i = n - 1; i > 0; i--) {
        seed = seed * 1664525u + 1013904223u;
        unsigned j = (seed >> 8) % (i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

#define MANY 200u /* more than three slabs live at once */

START_TEST(mixed_order_completes_find_their_own_records)
{
    struct osal_dma_buffer *b[4];
    for (unsigned i = 0; i < 4; i++)
        b[i] = alloc_page_aligned(8 * PG);
    static struct osal_dma_mapping m[MANY];
    for (unsigned i = 0; i < MANY; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b[i % 4], (i % 8) * 100, 64 + i, HBA_DMA_FROM_DEVICE, 64, &m[i]), 0);
    ck_assert_uint_eq(stats().mappings_live, MANY);
    ck_assert_uint_ge(stats().map_records, MANY);

    unsigned order[MANY];
    shuffle(order, MANY, 14);
    for (unsigned k = 0; k < MANY; k++) {
        unsigned i = order[k];
        uint64_t iova = m[i].seg[0].iova, len = m[i].seg[0].length;
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
        /* The unmap is of this mapping's own IOVA range, not a neighbour's. */
        struct of_call c;
        ck_assert(of_rec_get(&F.rec, 'u', k, &c));
        ck_assert_uint_eq(c.iova, iova);
        ck_assert_uint_eq(c.len, len);
        ck_assert_uint_eq(stats().mappings_live, MANY - 1 - k);
        /* Every mapping still live is still found: a later one of each ten is
         * checked by a refused modified complete, which leaves it live. */
        if (k % 10 == 0 && k + 1 < MANY) {
            struct osal_dma_mapping x = m[order[k + 1]];
            x.seg[0].length++;
            ck_assert_int_eq(osal_dma_complete(OS, &x), -EINVAL);
        }
    }
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    for (unsigned i = 0; i < 4; i++)
        osal_dma_free(OS, b[i]);
}
END_TEST

START_TEST(interleaved_prepares_and_completes_stay_correct)
{
    /* A model of which mappings are live; each round completes some and
     * prepares others, so records and index slots are reused in every order. */
    struct osal_dma_buffer *b = alloc_page_aligned(16 * PG);
    enum { SLOTS = 150, ROUNDS = 4000 };
    static struct osal_dma_mapping m[SLOTS], done[SLOTS];
    bool live[SLOTS] = { false }, was[SLOTS] = { false };
    unsigned nlive = 0;
    uint32_t seed = 7;
    for (unsigned r = 0; r < ROUNDS; r++) {
        seed = seed * 1664525u + 1013904223u;
        unsigned i = (seed >> 8) % SLOTS;
        if (live[i]) {
            done[i] = m[i]; /* complete clears m[i].nseg */
            ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
            live[i] = false;
            was[i] = true;
            nlive--;
        } else {
            if (was[i]) /* its previous mapping is gone: completing it again is refused */
                ck_assert_int_eq(osal_dma_complete(OS, &done[i]), -ENOENT);
            ck_assert_int_eq(osal_dma_prepare(OS, b, (i % 16) * 200, 1 + i * 10, HBA_DMA_TO_DEVICE, 64, &m[i]), 0);
            live[i] = true;
            nlive++;
        }
        ck_assert_uint_eq(stats().mappings_live, nlive);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (live[i])
            ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    ck_assert_uint_eq(stats().mappings_live, 0);
    ck_assert_uint_le(stats().map_records, 3 * SLAB); /* never more than SLOTS live */
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(double_complete_and_other_buffer_are_not_prepared)
{
    struct osal_dma_buffer *a = alloc_page_aligned(PG), *b = alloc_page_aligned(PG);
    struct osal_dma_mapping m, copy;
    ck_assert_int_eq(osal_dma_prepare(OS, a, 0, 512, HBA_DMA_TO_DEVICE, 64, &m), 0);
    copy = m;
    /* The same IOVA claimed for another buffer is not this mapping. */
    copy.buf = b;
    ck_assert_int_eq(osal_dma_complete(OS, &copy), -ENOENT);
    ck_assert(of_log_has(&L, "is not a prepared mapping"));
    ck_assert_uint_eq(stats().mappings_live, 1);
    copy = m;
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &copy), -ENOENT);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 1);
    osal_dma_free(OS, a);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(modified_mapping_is_refused_and_stays_live)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.scatter = true; /* several segments, each of which may be modified */
    open_with(&o);
    struct osal_dma_buffer *b = alloc_page_aligned(4 * PG);
    struct osal_dma_mapping m, x;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 100, 3 * PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_uint_ge(m.nseg, 3);
    x = m;
    x.seg[2].iova += PG;
    ck_assert_int_eq(osal_dma_complete(OS, &x), -EINVAL);
    ck_assert(of_log_has(&L, "was modified after prepare"));
    x = m;
    x.nseg--;
    ck_assert_int_eq(osal_dma_complete(OS, &x), -EINVAL);
    ck_assert_uint_eq(stats().mappings_live, 1);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(pool_grows_by_slabs_past_one_slab)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    static struct osal_dma_mapping m[3 * SLAB + 1];
    ck_assert_uint_eq(stats().map_pool_grows, 0); /* nothing before the first prepare */
    for (unsigned i = 0; i < 3 * SLAB + 1; i++) {
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 64, HBA_DMA_TO_DEVICE, 64, &m[i]), 0);
        ck_assert_uint_eq(stats().map_pool_grows, i / SLAB + 1);
        ck_assert_uint_eq(stats().map_records, (i / SLAB + 1) * SLAB);
    }
    for (unsigned i = 0; i < 3 * SLAB + 1; i++)
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    /* The pool keeps its slabs: the same number again needs no growth. */
    for (unsigned i = 0; i < 3 * SLAB + 1; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 64, HBA_DMA_TO_DEVICE, 64, &m[i]), 0);
    ck_assert_uint_eq(stats().map_pool_grows, 4);
    ck_assert_uint_eq(stats().map_records, 4 * SLAB);
    /* Left live for teardown: osal_user_destroy drops them and frees the pool
     * (asan and valgrind runs of this test see any leak). */
}
END_TEST

START_TEST(steady_state_allocates_no_record)
{
    /* A queue of depth 32: complete the oldest, prepare the next. */
    enum { QD = 32, COMMANDS = 20000 };
    struct osal_dma_buffer *b = alloc_page_aligned(QD * PG);
    struct osal_dma_mapping m[QD];
    for (unsigned i = 0; i < QD; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b, i * PG, PG, HBA_DMA_FROM_DEVICE, 64, &m[i]), 0);
    struct osal_user_stats warm = stats();
    ck_assert_uint_eq(warm.map_pool_grows, 1);
    for (unsigned n = 0; n < COMMANDS; n++) {
        unsigned i = n % QD;
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
        ck_assert_int_eq(osal_dma_prepare(OS, b, i * PG, PG, HBA_DMA_FROM_DEVICE, 64, &m[i]), 0);
    }
    struct osal_user_stats after = stats();
    ck_assert_uint_eq(after.map_pool_grows, warm.map_pool_grows);
    ck_assert_uint_eq(after.map_records, SLAB);
    ck_assert_uint_eq(after.mappings_total, warm.mappings_total + COMMANDS);
    for (unsigned i = 0; i < QD; i++)
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(failed_prepares_return_their_record)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x10000;
    o.iova_limit = 0x10000 + 2 * PG;
    open_with(&o);
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    struct osal_dma_mapping m[3];
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[0]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[1]), 0);
    /* No IOVA space: each refused prepare gives its record back. */
    for (unsigned i = 0; i < 3 * SLAB; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[2]), -ENOSPC);
    /* A failing IOMMU map too. */
    F.rec.fail_map_at = (int)F.rec.maps;
    ck_assert_int_eq(osal_dma_complete(OS, &m[0]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[2]), -EIO);
    ck_assert(of_log_has(&L, "IOMMU map"));
    ck_assert_uint_eq(stats().map_pool_grows, 1);
    ck_assert_uint_eq(stats().map_records, SLAB);
    ck_assert_uint_eq(stats().mappings_live, 1);
    /* The failed prepares left nothing in the index: m[1] is still found. */
    ck_assert_int_eq(osal_dma_complete(OS, &m[1]), 0);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(bus_switch_replays_every_pooled_mapping)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    static struct osal_dma_mapping m[SLAB + 10];
    for (unsigned i = 0; i < SLAB + 10; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b, i, 64, HBA_DMA_TO_DEVICE, 64, &m[i]), 0);
    for (unsigned i = 0; i < SLAB + 10; i += 2) /* holes in the live list */
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    struct of_fake g;
    of_fake_open(&g, RAM, 4);
    ck_assert_int_eq(osal_user_set_bus(OS, g.bus), 0);
    ck_assert_uint_eq(of_rec_count(&g.rec, 'm'), (SLAB + 10) / 2);
    for (unsigned i = 1; i < SLAB + 10; i += 2)
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    ck_assert_int_eq(of_rec_net(&g.rec), 0);
    ck_assert_int_eq(osal_user_set_bus(OS, F.bus), 0);
    osal_dma_free(OS, b);
    of_fake_close(&g);
}
END_TEST

/* osal_dma_defer_begin/end: completes on this thread hold their IOVA range
 * until the one wait at the end; a prepare in between gets other IOVAs. */
START_TEST(deferred_completes_wait_once_and_hold_their_iovas)
{
    struct osal_dma_buffer *b = alloc_page_aligned(4 * PG);
    struct osal_dma_mapping m[4], n;
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b, i * PG, PG, HBA_DMA_FROM_DEVICE, 64, &m[i]), 0);
    uint64_t iova[4];
    for (unsigned i = 0; i < 4; i++)
        iova[i] = m[i].seg[0].iova;
    struct osal_user_stats s0 = stats();
    osal_dma_defer_begin(OS);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    ck_assert_uint_eq(stats().mappings_live, 0);
    ck_assert_uint_eq(stats().deferred_unmaps, s0.deferred_unmaps + 4);
    ck_assert_uint_eq(stats().defer_waits, s0.defer_waits);
    /* Their IOVA pages are still reserved ... */
    ck_assert_uint_eq(stats().iova_pages_live, s0.iova_pages_live);
    /* ... so a new mapping does not reuse one of them. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &n), 0);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_ne(n.seg[0].iova, iova[i]);
    ck_assert_int_eq(osal_dma_defer_end(OS), 0);
    ck_assert_uint_eq(stats().defer_waits, s0.defer_waits + 1);
    ck_assert_uint_lt(stats().iova_pages_live, s0.iova_pages_live);
    /* A complete after the end is synchronous again. */
    ck_assert_int_eq(osal_dma_complete(OS, &n), 0);
    ck_assert_uint_eq(stats().deferred_unmaps, s0.deferred_unmaps + 4);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    osal_dma_free(OS, b);
    ck_assert(!of_log_has(&L, "still") && !of_log_has(&L, "failed"));
}
END_TEST

static struct osal_dma_mapping g_other;
static void *complete_elsewhere(void *arg)
{
    (void)arg;
    ck_assert_int_eq(osal_dma_complete(OS, &g_other), 0);
    return NULL;
}

START_TEST(another_threads_complete_is_not_deferred)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &g_other), 0);
    struct osal_user_stats s0 = stats();
    osal_dma_defer_begin(OS);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, complete_elsewhere, NULL), 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(stats().deferred_unmaps, s0.deferred_unmaps);
    ck_assert_uint_eq(stats().iova_pages_live, 0); /* given back at once */
    ck_assert_int_eq(osal_dma_defer_end(OS), 0);
    ck_assert_uint_eq(stats().defer_waits, s0.defer_waits); /* nothing to wait for */
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(a_buffer_freed_in_a_batch_waits_first)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    struct osal_user_stats s0 = stats();
    osal_dma_defer_begin(OS);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    osal_dma_free(OS, b); /* its memory may go back only once the device cannot reach it */
    ck_assert_uint_eq(stats().defer_waits, s0.defer_waits + 1);
    ck_assert_uint_eq(stats().dma_buffers_live, 0);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    ck_assert_int_eq(osal_dma_defer_end(OS), 0);
    ck_assert_uint_eq(stats().defer_waits, s0.defer_waits + 1);
    ck_assert(!of_log_has(&L, "live mapping")); /* not "freed with live mapping(s)" */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("osal_dma_pool");
    TCase *t = tcase_create("pool");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, mixed_order_completes_find_their_own_records);
    tcase_add_test(t, interleaved_prepares_and_completes_stay_correct);
    tcase_add_test(t, double_complete_and_other_buffer_are_not_prepared);
    tcase_add_test(t, modified_mapping_is_refused_and_stays_live);
    tcase_add_test(t, pool_grows_by_slabs_past_one_slab);
    tcase_add_test(t, steady_state_allocates_no_record);
    tcase_add_test(t, failed_prepares_return_their_record);
    tcase_add_test(t, bus_switch_replays_every_pooled_mapping);
    tcase_add_test(t, deferred_completes_wait_once_and_hold_their_iovas);
    tcase_add_test(t, another_threads_complete_is_not_deferred);
    tcase_add_test(t, a_buffer_freed_in_a_batch_waits_first);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
