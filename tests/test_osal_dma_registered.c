/* tests/test_osal_dma_registered.c — registered DMA buffers
 * (osal_user_dma_register, platform/osal_user_dma.c "registered buffers"):
 * one IOMMU mapping for the buffer's life, which a command's prepare and
 * complete hand out and take back without touching a table; another direction
 * or a lower address limit still maps per command; a complete twice, a free
 * while prepared and a bus switch are handled as for other mappings; a
 * deferred batch that unmapped nothing waits for nothing; registrations come
 * and go while other threads use theirs. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "platform/osal_user.h"
#include "tests/support/osal_one.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"

#define PG OSAL_ONE_PAGE

static struct osal_dma_buffer *registered(uint64_t len, enum hba_dma_dir dir)
{
    struct osal_dma_buffer *b = alloc_page_aligned(len);
    ck_assert_int_eq(osal_user_dma_register(OS, b, dir), 0);
    return b;
}

/* The standing mapping's IOVA of b (its one map call on the fake bus). */
static uint64_t standing_iova(const struct osal_dma_buffer *b)
{
    for (size_t i = 0; i < of_rec_count(&F.rec, 'm'); i++) {
        struct of_call c;
        ck_assert(of_rec_get(&F.rec, 'm', i, &c));
        if (c.ram == b->phys)
            return c.iova;
    }
    ck_abort_msg("no map call for the buffer at RAM 0x%llx", (unsigned long long)b->phys);
    return 0;
}

START_TEST(a_registered_buffer_is_mapped_once_for_many_commands)
{
    struct osal_dma_buffer *b = registered(2 * PG, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 1);
    uint64_t iova = standing_iova(b);
    ck_assert_uint_eq(stats().mappings_live, 0); /* registered, not prepared */
    uint64_t total = stats().mappings_total;
    for (unsigned i = 0; i < 100; i++) {
        uint64_t off = (i % 8) * 512, len = i % 2 ? PG : 3000;
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, off, len, HBA_DMA_FROM_DEVICE, 64, &m), 0);
        ck_assert_uint_eq(m.nseg, 1);
        ck_assert_uint_eq(m.seg[0].iova, iova + off);
        ck_assert_uint_eq(m.seg[0].length, len);
        ck_assert_uint_eq(stats().mappings_live, 1);
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
        ck_assert_uint_eq(m.nseg, 0);
    }
    ck_assert_uint_eq(stats().mappings_live, 0);
    ck_assert_uint_eq(stats().mappings_total, total + 100);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 1); /* no table touched per command */
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 0);
    ck_assert_uint_eq(stats().iova_pages_live, 2);
    osal_dma_free(OS, b);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 1);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    ck_assert(!of_log_has(&L, "live mapping"));
}
END_TEST

START_TEST(another_direction_is_mapped_per_command)
{
    struct osal_dma_buffer *b = registered(PG, HBA_DMA_FROM_DEVICE);
    uint64_t iova = standing_iova(b);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
    ck_assert_uint_ne(m.seg[0].iova, iova);
    struct of_call c;
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 2);
    ck_assert(of_rec_get(&F.rec, 'm', 1, &c));
    ck_assert_int_eq(c.dir, HBA_DMA_TO_DEVICE);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 1);
    /* The reverse-directions knob (a trace's F2 platform) turns a READ's
     * mapping into the other direction: per command, so the IOMMU sees it. */
    osal_user_set_reverse_directions(OS, true);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_uint_ne(m.seg[0].iova, iova);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    osal_user_set_reverse_directions(OS, false);
    osal_dma_free(OS, b);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
}
END_TEST

START_TEST(completing_twice_is_an_error_and_counts_once)
{
    struct osal_dma_buffer *b = registered(PG, HBA_DMA_TO_DEVICE);
    struct osal_dma_mapping m, copy;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 512, HBA_DMA_TO_DEVICE, 64, &m), 0);
    copy = m;
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &copy), -ENOENT);
    ck_assert(of_log_has(&L, "completed twice"));
    ck_assert_uint_eq(stats().mappings_live, 0);
    /* A mapping changed after prepare is refused, and stays live. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 512, HBA_DMA_TO_DEVICE, 64, &m), 0);
    copy = m;
    copy.length = 1024;
    ck_assert_int_eq(osal_dma_complete(OS, &copy), -EINVAL);
    ck_assert(of_log_has(&L, "modified after prepare"));
    ck_assert_uint_eq(stats().mappings_live, 1);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_uint_eq(stats().mappings_live, 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(a_buffer_freed_while_prepared_is_logged_and_unmapped)
{
    struct osal_dma_buffer *b = registered(PG, HBA_DMA_FROM_DEVICE);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    osal_dma_free(OS, b);
    ck_assert(of_log_has(&L, "freed with 1 live mapping"));
    ck_assert_uint_eq(stats().mappings_live, 0);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    /* Its complete, late: refused (the buffer's struct is kept for reuse, so
     * reading it is safe; under ASan a freed one would be caught). */
    ck_assert_int_eq(osal_dma_complete(OS, &m), -ENOENT);
    ck_assert_uint_eq(stats().mappings_live, 0);
}
END_TEST

START_TEST(registration_refuses_what_it_cannot_keep)
{
    struct osal_dma_buffer *b = alloc_page_aligned(PG);
    ck_assert_int_eq(osal_user_dma_register(NULL, b, HBA_DMA_FROM_DEVICE), -EINVAL);
    ck_assert_int_eq(osal_user_dma_register(OS, NULL, HBA_DMA_FROM_DEVICE), -EINVAL);
    ck_assert_int_eq(osal_user_dma_register(OS, b, (enum hba_dma_dir)7), -EINVAL);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_int_eq(osal_user_dma_register(OS, b, HBA_DMA_FROM_DEVICE), -EBUSY); /* mapped right now */
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_int_eq(osal_user_dma_register(OS, b, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_int_eq(osal_user_dma_register(OS, b, HBA_DMA_TO_DEVICE), -EBUSY); /* already */
    osal_dma_free(OS, b);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
}
END_TEST

/* F5's limit: a standing mapping above what the device can address is not
 * handed out; the prepare maps below instead (the low window). */
START_TEST(a_lower_address_limit_is_mapped_per_command)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 1ull << 32;
    open_with(&o);
    struct osal_dma_buffer *b = registered(PG, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_ge(standing_iova(b), 1ull << 32);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 32, &m), 0);
    ck_assert_uint_lt(m.seg[0].iova + PG, (1ull << 32) + 1);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 2);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(m.seg[0].iova, standing_iova(b));
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    osal_dma_free(OS, b);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
}
END_TEST

START_TEST(a_bus_switch_replays_the_standing_mapping)
{
    struct osal_dma_buffer *b = registered(PG, HBA_DMA_FROM_DEVICE);
    uint64_t iova = standing_iova(b);
    struct of_fake g;
    struct of_call c = switch_bus_one_replay(&g);
    ck_assert_uint_eq(c.iova, iova);
    ck_assert_uint_eq(c.ram, b->phys);
    ck_assert_int_eq(c.dir, HBA_DMA_FROM_DEVICE);
    osal_dma_free(OS, b);
    ck_assert_int_eq(of_rec_net(&g.rec), 0); /* unmapped on the new bus */
    switch_bus_back(&g);
}
END_TEST

/* A reap's osal_dma_defer_end waits once for what its batch unmapped; a
 * batch of registered completes unmapped nothing and waits for nothing. */
START_TEST(a_deferred_batch_that_unmapped_nothing_waits_for_nothing)
{
    struct osal_dma_buffer *b = registered(PG, HBA_DMA_FROM_DEVICE), *p = alloc_page_aligned(PG);
    struct osal_dma_mapping m[2];
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m[0]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 512, HBA_DMA_FROM_DEVICE, 64, &m[1]), 0);
    uint64_t waits = stats().defer_waits;
    osal_dma_defer_begin(OS);
    ck_assert_int_eq(osal_dma_complete(OS, &m[0]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[1]), 0);
    ck_assert_int_eq(osal_dma_defer_end(OS), 0);
    ck_assert_uint_eq(stats().defer_waits, waits);
    /* A batch with a mapping of its own waits once. */
    ck_assert_int_eq(osal_dma_prepare(OS, p, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m[0]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m[1]), 0);
    osal_dma_defer_begin(OS);
    ck_assert_int_eq(osal_dma_complete(OS, &m[0]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[1]), 0);
    ck_assert_uint_eq(stats().unmaps_unwaited, 1);
    ck_assert_int_eq(osal_dma_defer_end(OS), 0);
    ck_assert_uint_eq(stats().defer_waits, waits + 1);
    ck_assert_uint_eq(stats().unmaps_unwaited, 0);
    osal_dma_free(OS, p);
    osal_dma_free(OS, b);
    ck_assert_uint_eq(stats().mappings_live, 0);
}
END_TEST

/* --- registrations coming and going while others are used ---------------- */

#define USERS  2u
#define ROUNDS 20000u

struct user {
    struct osal_dma_buffer *buf;
    uint64_t iova;
    unsigned errors;
    _Atomic bool *stop;
};

static void *user_main(void *arg)
{
    struct user *u = arg;
    for (unsigned r = 0; r < ROUNDS && !atomic_load(u->stop); r++) {
        struct osal_dma_mapping m;
        uint64_t off = (r % 4) * 1024;
        if (osal_dma_prepare(OS, u->buf, off, 1024, HBA_DMA_FROM_DEVICE, 64, &m) != 0 || m.nseg != 1 ||
            m.seg[0].iova != u->iova + off)
            u->errors++;
        if (osal_dma_complete(OS, &m) != 0)
            u->errors++;
    }
    return NULL;
}

START_TEST(registrations_come_and_go_while_others_are_used)
{
    _Atomic bool stop = false;
    struct user u[USERS];
    pthread_t th[USERS];
    for (unsigned i = 0; i < USERS; i++) {
        u[i] = (struct user){ .buf = registered(PG, HBA_DMA_FROM_DEVICE), .stop = &stop };
        u[i].iova = standing_iova(u[i].buf);
    }
    for (unsigned i = 0; i < USERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, user_main, &u[i]), 0);
    /* Each registration and free changes the standing list and reuses buffer
     * structs while the users prepare and complete. */
    for (unsigned i = 0; i < 200; i++) {
        struct osal_dma_buffer *b = registered(PG, i % 2 ? HBA_DMA_TO_DEVICE : HBA_DMA_FROM_DEVICE);
        osal_dma_free(OS, b);
    }
    atomic_store(&stop, true);
    for (unsigned i = 0; i < USERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_uint_eq(u[i].errors, 0);
        osal_dma_free(OS, u[i].buf);
    }
    ck_assert_uint_eq(stats().mappings_live, 0);
    ck_assert_uint_eq(stats().iova_pages_live, 0);
    ck_assert(!of_log_has(&L, "osal_dma_complete"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("osal_dma_registered");
    TCase *tc = tcase_create("osal_dma_registered");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_registered_buffer_is_mapped_once_for_many_commands);
    tcase_add_test(tc, another_direction_is_mapped_per_command);
    tcase_add_test(tc, completing_twice_is_an_error_and_counts_once);
    tcase_add_test(tc, a_buffer_freed_while_prepared_is_logged_and_unmapped);
    tcase_add_test(tc, registration_refuses_what_it_cannot_keep);
    tcase_add_test(tc, a_lower_address_limit_is_mapped_per_command);
    tcase_add_test(tc, a_bus_switch_replays_the_standing_mapping);
    tcase_add_test(tc, a_deferred_batch_that_unmapped_nothing_waits_for_nothing);
    tcase_add_test(tc, registrations_come_and_go_while_others_are_used);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
