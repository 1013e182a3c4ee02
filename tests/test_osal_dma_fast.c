/* tests/test_osal_dma_fast.c — osal_user's cache of (record, IOVA range)
 * pairs (platform/osal_user_dma.c, "the pair cache"), the lock-free path of a
 * command's prepare and complete: threads preparing and completing at once
 * never get an IOVA that is live, a freed IOVA is not reused before 32
 * others, the cache stays bounded, a window that runs out gets the cache's
 * ranges back, a small window has no cache, and a device's address limit
 * (F5) is kept. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "platform/osal_user.h"
#include "tests/support/osal_one.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"

#define RAM OSAL_ONE_RAM
#define PG OSAL_ONE_PAGE


/* --- threads ------------------------------------------------------------- */

#define THREADS 4u
#define HELD    4u     /* live mappings per thread */
#define ROUNDS  4000u

/* Every IOVA live now, whoever holds it (the test's own bookkeeping). */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t live_iova[THREADS * HELD];

struct worker {
    unsigned k;
    struct osal_dma_buffer *buf;
    unsigned errors;
    char what[160];
};

static void note(struct worker *w, const char *what, uint64_t v)
{
    if (w->errors++ == 0)
        snprintf(w->what, sizeof w->what, "thread %u: %s (0x%llx)", w->k, what, (unsigned long long)v);
}

static bool claim(unsigned slot, uint64_t iova)
{
    pthread_mutex_lock(&live_lock);
    bool clash = false;
    for (unsigned i = 0; i < THREADS * HELD; i++)
        clash |= live_iova[i] == iova;
    if (!clash)
        live_iova[slot] = iova;
    pthread_mutex_unlock(&live_lock);
    return !clash;
}

static void unclaim(unsigned slot)
{
    pthread_mutex_lock(&live_lock);
    live_iova[slot] = 0;
    pthread_mutex_unlock(&live_lock);
}

/* Thread 0 completes in deferred batches of HELD (a reaping driver); the
 * others one by one.  Mappings of one and two pages, at varying offsets. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct osal_dma_mapping m[HELD];
    for (unsigned r = 0; r < ROUNDS / HELD; r++) {
        for (unsigned h = 0; h < HELD; h++) {
            uint64_t off = (uint64_t)((r + h) % 8) * 512, len = h % 2 ? 3000 : PG;
            int rc = osal_dma_prepare(OS, w->buf, off + h * 2 * PG, len, HBA_DMA_FROM_DEVICE, 64, &m[h]);
            if (rc != 0) {
                note(w, "prepare failed", (uint64_t)-rc);
                return NULL;
            }
            if (m[h].nseg != 1 || m[h].seg[0].iova % PG != (w->buf->phys + off) % PG)
                note(w, "mapping's segment", m[h].seg[0].iova);
            if (!claim(w->k * HELD + h, m[h].seg[0].iova & ~(uint64_t)(PG - 1)))
                note(w, "an IOVA live elsewhere handed out", m[h].seg[0].iova);
        }
        if (w->k == 0)
            osal_dma_defer_begin(OS);
        for (unsigned h = 0; h < HELD; h++) {
            unclaim(w->k * HELD + h);
            int rc = osal_dma_complete(OS, &m[h]);
            if (rc != 0)
                note(w, "complete failed", (uint64_t)-rc);
        }
        if (w->k == 0 && osal_dma_defer_end(OS) != 0)
            note(w, "defer_end failed", 0);
    }
    return NULL;
}

START_TEST(threads_prepare_and_complete_at_once)
{
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (unsigned k = 0; k < THREADS; k++) {
        w[k] = (struct worker){ .k = k, .buf = alloc_page_aligned(4 * HELD * PG) };
        ck_assert_int_eq(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
    }
    for (unsigned k = 0; k < THREADS; k++)
        pthread_join(t[k], NULL);
    for (unsigned k = 0; k < THREADS; k++)
        ck_assert_msg(w[k].errors == 0, "%u errors, first: %s", w[k].errors, w[k].what);
    struct osal_user_stats s = stats();
    ck_assert_uint_eq(s.mappings_live, 0);
    ck_assert_uint_eq(s.unmaps_unwaited, 0);
    ck_assert_uint_eq(s.iova_pages_live, 0);
    ck_assert_uint_eq(s.mappings_total, THREADS * ROUNDS);
    ck_assert_uint_eq(s.deferred_unmaps, ROUNDS);
    ck_assert_uint_eq(s.defer_waits, ROUNDS / HELD);
    /* Records: the live ones and the cache's, at most 256 pairs a size. */
    ck_assert_uint_le(s.map_records, 2 * 256 + 64);
    for (unsigned k = 0; k < THREADS; k++)
        osal_dma_free(OS, w[k].buf);
    ck_assert(!of_log_has(&L, "fail"));
}
END_TEST

/* --- one thread ----------------------------------------------------------- */

/* A freed IOVA goes to the back of its size's free list: it is handed out
 * again only after at least 32 other mappings, and the cache makes the IOVAs
 * in use a small set (the pairs) rather than the whole window. */
START_TEST(a_freed_iova_waits_behind_32_others)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    enum { N = 2000 };
    static uint64_t iova[N];
    for (unsigned i = 0; i < N; i++) {
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
        iova[i] = m.seg[0].iova;
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
        for (unsigned j = i > 32 ? i - 32 : 0; j < i; j++)
            ck_assert_uint_ne(iova[j], iova[i]);
    }
    unsigned distinct = 0;
    for (unsigned i = 0; i < N; i++) {
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = iova[j] == iova[i];
        distinct += !seen;
    }
    /* One at a time, the cache needs the 32 kept back and one more. */
    ck_assert_uint_le(distinct, 32 + 2);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    ck_assert_uint_eq(stats().map_pool_grows, 1);
    osal_dma_free(OS, b);
}
END_TEST

/* A window just big enough for the cache (48 MiB): filled with mappings
 * of three pages (never cached) until a prepare fails, every page of it is
 * used, the cache's free pairs' included: a prepare that finds no room gets
 * their ranges back instead of failing while they sit idle. */
START_TEST(a_window_that_runs_out_drains_the_cache)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    enum { WINDOW = 48u << 20, BIG = 4u << 20 };
    o.iova_base = 0x10000;
    o.iova_limit = 0x10000 + WINDOW;
    OS = of_osal_open(&F, &L, BIG, 4, &o); /* room for the tables of 48 MiB */
    struct osal_dma_buffer *b = alloc_page_aligned(3 * PG);
    for (unsigned i = 0; i < 100; i++) { /* pairs at the window's start */
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    }
    enum { MAX = WINDOW / (3 * PG) };
    static struct osal_dma_mapping m[MAX];
    unsigned n = 0;
    while (n < MAX && osal_dma_prepare(OS, b, 0, 3 * PG, HBA_DMA_TO_DEVICE, 64, &m[n]) == 0)
        n++;
    ck_assert_uint_eq(n, MAX); /* 48 MiB / 12 KiB: not one range lost to the cache */
    ck_assert_uint_eq(stats().iova_pages_live, 3 * MAX);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    osal_dma_free(OS, b);
}
END_TEST

/* A small window (2 MiB here) has no cache: a freed range is reused as next
 * fit places it, where a stale translation of another buffer may still be. */
START_TEST(a_small_window_has_no_cache)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x10000;
    o.iova_limit = 0x10000 + (2u << 20);
    open_with(&o);
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    uint64_t last = 0;
    for (unsigned i = 0; i < 100; i++) {
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
        ck_assert_uint_eq(m.seg[0].iova, 0x10000 + (uint64_t)i * PG); /* next fit, page after page */
        last = m.seg[0].iova;
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    }
    ck_assert_uint_eq(last, 0x10000 + 99 * PG);
    ck_assert_uint_eq(stats().map_records, 64); /* one slab: nothing kept */
    osal_dma_free(OS, b);
}
END_TEST

/* F5: with the cache full of pairs, a device that addresses 14 bits gets an
 * IOVA below 16 KiB (the pairs above are passed over, the window drained). */
START_TEST(an_address_limit_passes_over_pairs_above_it)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    for (unsigned i = 0; i < 400; i++) {
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    }
    for (unsigned i = 0; i < 50; i++) {
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 14, &m), 0);
        ck_assert_uint_le(m.seg[0].iova + PG, 1u << 14);
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    }
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    osal_dma_free(OS, b);
}
END_TEST

/* A bus switch replays the cache's live mappings at the same IOVAs, and a
 * buffer freed with a live cached mapping unmaps it. */
START_TEST(live_pairs_are_replayed_and_unmapped_with_their_buffer)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    for (unsigned i = 0; i < 100; i++) { /* warm: the next prepare is a pair */
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    }
    uint64_t records = stats().map_records;
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(stats().map_records, records); /* from the cache */
    ck_assert_uint_eq(stats().mappings_live, 1);
    ck_assert_uint_eq(stats().iova_pages_live, 1);
    struct of_fake g;
    struct of_call c = switch_bus_one_replay(&g);
    ck_assert_uint_eq(c.iova, m.seg[0].iova); /* the same IOVA: the device's view does not change */
    ck_assert_uint_eq(c.ram, b->phys);
    osal_dma_free(OS, b); /* logged: a live mapping */
    ck_assert(of_log_has(&L, "freed with 1 live mapping"));
    ck_assert_int_eq(of_rec_net(&g.rec), 0); /* unmapped on the new bus */
    ck_assert_uint_eq(stats().mappings_live, 0);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    switch_bus_back(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("osal_dma_fast");
    TCase *tc = tcase_create("osal_dma_fast");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threads_prepare_and_complete_at_once);
    tcase_add_test(tc, a_freed_iova_waits_behind_32_others);
    tcase_add_test(tc, a_window_that_runs_out_drains_the_cache);
    tcase_add_test(tc, a_small_window_has_no_cache);
    tcase_add_test(tc, an_address_limit_passes_over_pairs_above_it);
    tcase_add_test(tc, live_pairs_are_replayed_and_unmapped_with_their_buffer);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
