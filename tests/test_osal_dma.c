/* tests/test_osal_dma.c — osal_user's DMA memory and mappings: allocation,
 * alignment, zeroing, exhaustion, thread safety; prepare/complete against a
 * recording IOMMU (exact map/unmap calls, page offsets, directions, scatter
 * pieces, IOVAs above 4 GiB, address-bit limits, IOVA exhaustion, failures),
 * against the controller's real IOMMU, bus switching and teardown cleanup. */
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

static struct osal_dma_buffer *alloc(uint64_t len, uint64_t align)
{
    struct osal_dma_buffer *b = NULL;
    ck_assert_int_eq(osal_dma_alloc(OS, len, align, &b), 0);
    ck_assert_ptr_nonnull(b);
    return b;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* --- memory --------------------------------------------------------------- */

START_TEST(alloc_is_aligned_zeroed_and_in_host_ram)
{
    static const uint64_t aligns[] = { 1, 8, 64, 512, 4096, 65536 };
    struct osal_dma_buffer *b[6];
    for (size_t i = 0; i < 6; i++) {
        b[i] = alloc(100 + i * 1000, aligns[i]);
        ck_assert_uint_eq(b[i]->phys % aligns[i], 0);
        ck_assert_uint_eq(b[i]->length, 100 + i * 1000);
        ck_assert_ptr_eq(b[i]->vaddr, bus_ram(F.bus) + b[i]->phys);
        ck_assert(b[i]->phys + b[i]->length <= RAM);
        ck_assert(all_zero(b[i]->vaddr, b[i]->length));
        memset(b[i]->vaddr, 0xA0 + (int)i, b[i]->length);
    }
    /* No two buffers overlap: each still holds its own pattern. */
    for (size_t i = 0; i < 6; i++)
        for (size_t k = 0; k < b[i]->length; k++)
            ck_assert_uint_eq(((uint8_t *)b[i]->vaddr)[k], 0xA0 + i);
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.dma_buffers_live, 6);
    for (size_t i = 0; i < 6; i++)
        osal_dma_free(OS, b[i]);
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.dma_buffers_live, 0);
    ck_assert_uint_eq(s.dma_bytes_live, 0);
    /* Recycled RAM comes back zeroed. */
    struct osal_dma_buffer *again = alloc(8192, 8);
    ck_assert(all_zero(again->vaddr, 8192));
    osal_dma_free(OS, again);
}
END_TEST

START_TEST(alloc_rejects_bad_arguments)
{
    struct osal_dma_buffer *b = (void *)1;
    ck_assert_int_eq(osal_dma_alloc(OS, 0, 8, &b), -EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(osal_dma_alloc(OS, 64, 0, &b), -EINVAL);
    ck_assert_int_eq(osal_dma_alloc(OS, 64, 24, &b), -EINVAL);
    ck_assert_int_eq(osal_dma_alloc(OS, 64, 8, NULL), -EINVAL);
    ck_assert_int_eq(osal_dma_alloc(NULL, 64, 8, &b), -EINVAL);
    ck_assert_int_eq(osal_dma_alloc(OS, RAM + 1, 8, &b), -ENOMEM);
    ck_assert_int_eq(osal_dma_alloc(OS, UINT64_MAX, 8, &b), -ENOMEM);
    osal_dma_free(OS, NULL); /* harmless */
}
END_TEST

START_TEST(alloc_exhausts_then_recovers)
{
    static struct osal_dma_buffer *b[RAM / PG + 1];
    size_t n = 0;
    int rc;
    while ((rc = osal_dma_alloc(OS, PG, PG, &b[n])) == 0)
        n++;
    ck_assert_int_eq(rc, -ENOMEM);
    /* DMA memory ends where the IOMMU's tables begin (the top 1/8 of host RAM). */
    uint64_t dma_ram = bus_dma_ram_top(F.bus);
    ck_assert_uint_eq(dma_ram, RAM - RAM / 8);
    ck_assert_uint_eq(n, dma_ram / PG);
    /* Alignment can make a request fail even with room: nothing is left at all here. */
    struct osal_dma_buffer *x;
    ck_assert_int_eq(osal_dma_alloc(OS, 8, 8, &x), -ENOMEM);
    osal_dma_free(OS, b[7]);
    ck_assert_int_eq(osal_dma_alloc(OS, PG, PG, &x), 0);
    ck_assert_uint_eq(x->phys, 7 * PG); /* first fit: the hole just freed */
    osal_dma_free(OS, x);
    for (size_t i = 0; i < n; i++)
        if (i != 7)
            osal_dma_free(OS, b[i]);
    /* Everything free again: the whole DMA RAM in one piece. */
    ck_assert_int_eq(osal_dma_alloc(OS, dma_ram, PG, &x), 0);
    osal_dma_free(OS, x);
}
END_TEST

struct churn {
    unsigned seed;
    uint8_t id;
    int errors;
};

static void *churn_thread(void *arg)
{
    struct churn *c = arg;
    struct osal_dma_buffer *held[8] = { 0 };
    for (int i = 0; i < 2000; i++) {
        unsigned slot = (unsigned)rand_r(&c->seed) % 8;
        if (held[slot]) {
            const uint8_t *p = held[slot]->vaddr;
            for (uint64_t k = 0; k < held[slot]->length; k++)
                if (p[k] != (uint8_t)(c->id * 16 + slot))
                    c->errors++;
            osal_dma_free(OS, held[slot]);
            held[slot] = NULL;
        } else {
            uint64_t len = 1 + (uint64_t)rand_r(&c->seed) % 9000;
            if (osal_dma_alloc(OS, len, 64, &held[slot]) < 0) {
                c->errors++;
                continue;
            }
            memset(held[slot]->vaddr, c->id * 16 + (int)slot, len);
        }
    }
    for (int s = 0; s < 8; s++)
        osal_dma_free(OS, held[s]);
    return NULL;
}

START_TEST(alloc_is_thread_safe)
{
    pthread_t t[4];
    struct churn c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct churn){ .seed = 17u * (unsigned)i + 1, .id = (uint8_t)(i + 1), .errors = 0 };
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn_thread, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(c[i].errors, 0);
    }
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.dma_buffers_live, 0);
}
END_TEST

/* --- mappings ------------------------------------------------------------- */

START_TEST(prepare_maps_one_piece_at_the_same_page_offset)
{
    struct osal_dma_buffer *b = alloc(3 * PG, PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 100, 5000, HBA_DMA_TO_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(m.nseg, 1);
    ck_assert_ptr_eq(m.buf, b);
    ck_assert_uint_eq(m.offset, 100);
    ck_assert_uint_eq(m.length, 5000);
    ck_assert_int_eq(m.dir, HBA_DMA_TO_DEVICE);
    ck_assert_uint_eq(m.seg[0].length, 5000);
    ck_assert_uint_eq(m.seg[0].iova % PG, (b->phys + 100) % PG);
    ck_assert_uint_ge(m.seg[0].iova, 0x1000); /* IOVA 0 is never handed out */
    struct of_call c;
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 1);
    ck_assert(of_rec_get(&F.rec, 'm', 0, &c));
    ck_assert_uint_eq(c.iova, m.seg[0].iova);
    ck_assert_uint_eq(c.ram, b->phys + 100);
    ck_assert_uint_eq(c.len, 5000);
    ck_assert_int_eq(c.dir, HBA_DMA_TO_DEVICE);
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.mappings_live, 1);
    ck_assert_uint_eq(s.iova_pages_live, 2); /* 100 + 5000 bytes touch two pages */

    uint64_t iova = m.seg[0].iova;
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 1);
    ck_assert(of_rec_get(&F.rec, 'u', 0, &c));
    ck_assert_uint_eq(c.iova, iova);
    ck_assert_uint_eq(c.len, 5000);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.mappings_live, 0);
    ck_assert_uint_eq(s.iova_pages_live, 0);

    /* Completing twice is a driver bug, caught and reported. */
    m.nseg = 1;
    m.seg[0].iova = iova;
    ck_assert_int_eq(osal_dma_complete(OS, &m), -ENOENT);
    ck_assert(of_log_has(&L, "not a prepared mapping"));
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 1);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(prepare_passes_every_direction)
{
    static const enum hba_dma_dir dirs[] = { HBA_DMA_TO_DEVICE, HBA_DMA_FROM_DEVICE, HBA_DMA_BIDIRECTIONAL };
    struct osal_dma_buffer *b = alloc(PG, PG);
    for (size_t i = 0; i < 3; i++) {
        struct osal_dma_mapping m;
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 512, dirs[i], 64, &m), 0);
        struct of_call c;
        ck_assert(of_rec_get(&F.rec, 'm', i, &c));
        ck_assert_int_eq(c.dir, dirs[i]);
        ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    }
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(prepare_rejects_bad_arguments)
{
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 0, HBA_DMA_TO_DEVICE, 64, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG + 1, HBA_DMA_TO_DEVICE, 64, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, PG, 1, HBA_DMA_TO_DEVICE, 64, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, UINT64_MAX, 2, HBA_DMA_TO_DEVICE, 64, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 8, 0, 64, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 8, 4, 64, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 8, HBA_DMA_TO_DEVICE, 0, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 8, HBA_DMA_TO_DEVICE, 65, &m), -EINVAL);
    ck_assert_int_eq(osal_dma_prepare(OS, NULL, 0, 8, HBA_DMA_TO_DEVICE, 64, &m), -EINVAL);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 0);
    m.nseg = 0;
    ck_assert_int_eq(osal_dma_complete(OS, &m), -EINVAL);
    m.nseg = 9;
    ck_assert_int_eq(osal_dma_complete(OS, &m), -EINVAL);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(complete_rejects_a_modified_mapping)
{
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 512, HBA_DMA_TO_DEVICE, 64, &m), 0);
    m.seg[0].length = 256;
    ck_assert_int_eq(osal_dma_complete(OS, &m), -EINVAL);
    ck_assert(of_log_has(&L, "modified"));
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 0);
    m.seg[0].length = 512;
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(freed_iovas_are_not_reused_at_once)
{
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m1, m2;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m1), 0);
    uint64_t first = m1.seg[0].iova;
    ck_assert_int_eq(osal_dma_complete(OS, &m1), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 64, &m2), 0);
    ck_assert_uint_ne(m2.seg[0].iova, first); /* a stale IOVA faults instead of aliasing */
    ck_assert_int_eq(osal_dma_complete(OS, &m2), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(scatter_maps_each_page_apart)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.scatter = true;
    open_with(&o);
    struct osal_dma_buffer *b = alloc(32 * PG, PG);
    struct osal_dma_mapping m;
    /* 512 bytes into the buffer, three pages long: touches four pages. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 512, 3 * PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(m.nseg, 4);
    ck_assert_uint_eq(m.seg[0].length, PG - 512);
    ck_assert_uint_eq(m.seg[1].length, PG);
    ck_assert_uint_eq(m.seg[2].length, PG);
    ck_assert_uint_eq(m.seg[3].length, 512);
    ck_assert_uint_eq(m.seg[0].iova % PG, 512);
    for (uint32_t i = 1; i < m.nseg; i++) {
        ck_assert_uint_eq(m.seg[i].iova % PG, 0);
        /* not contiguous with the previous piece: a driver must use every segment */
        ck_assert_uint_gt(m.seg[i].iova, m.seg[i - 1].iova + m.seg[i - 1].length);
    }
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 4);
    struct osal_user_stats st;
    osal_user_get_stats(OS, &st);
    ck_assert_uint_eq(st.mappings_total, 1);
    ck_assert_uint_eq(st.segments_total, 4);
    for (size_t i = 0; i < 4; i++) {
        struct of_call c;
        ck_assert(of_rec_get(&F.rec, 'm', i, &c));
        ck_assert_uint_eq(c.iova, m.seg[i].iova);
        ck_assert_uint_eq(c.len, m.seg[i].length);
    }
    struct of_call c0;
    ck_assert(of_rec_get(&F.rec, 'm', 1, &c0));
    ck_assert_uint_eq(c0.ram, b->phys + PG);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 4);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);

    /* Twenty pages: seven single pages, then the tail as the eighth piece. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 20 * PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(m.nseg, 8);
    uint64_t total = 0;
    for (uint32_t i = 0; i < 7; i++) {
        ck_assert_uint_eq(m.seg[i].length, PG);
        total += m.seg[i].length;
    }
    ck_assert_uint_eq(m.seg[7].length, 13 * PG);
    ck_assert_uint_eq(total + m.seg[7].length, 20 * PG);
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.iova_pages_live, 20 + 7 + 1); /* pieces plus guard pages, one after the last */
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);

    /* A small buffer within one page stays one piece. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 8, 36, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(m.nseg, 1);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    /* Turned off at run time: one piece again. */
    osal_user_set_scatter(OS, false);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 20 * PG, HBA_DMA_FROM_DEVICE, 64, &m), 0);
    ck_assert_uint_eq(m.nseg, 1);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(iovas_above_4g_and_address_bits)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x100000000ull;
    open_with(&o);
    struct osal_dma_buffer *b = alloc(4 * PG, PG);
    struct osal_dma_mapping m[3];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 4 * PG, HBA_DMA_TO_DEVICE, 64, &m[i]), 0);
        ck_assert_uint_ge(m[i].seg[0].iova, 0x100000000ull);
    }
    /* A 32-bit device cannot reach any of that: its mappings come from the
     * low window instead, [0x1000, 4 GiB). */
    struct osal_dma_mapping x, y;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 2 * PG, HBA_DMA_TO_DEVICE, 32, &x), 0);
    ck_assert_uint_ge(x.seg[0].iova, 0x1000);
    ck_assert_uint_lt(x.seg[0].iova + x.seg[0].length - 1, 0x100000000ull);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_FROM_DEVICE, 20, &y), 0);
    ck_assert_uint_lt(y.seg[0].iova + PG - 1, 1ull << 20);
    ck_assert_uint_ne(y.seg[0].iova, x.seg[0].iova);
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.iova_pages_live, 3 * 4 + 2 + 1);
    ck_assert_uint_eq(s.iova_low_pages_live, 2 + 1);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 5);
    /* Each goes back to its own window. */
    ck_assert_int_eq(osal_dma_complete(OS, &x), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &y), 0);
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.iova_low_pages_live, 0);
    ck_assert_uint_eq(s.iova_pages_live, 3 * 4);
    /* 33 bits: [4 GiB, 8 GiB) is within reach: the high window. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 33, &x), 0);
    ck_assert_uint_ge(x.seg[0].iova, 0x100000000ull);
    ck_assert_uint_lt(x.seg[0].iova + x.seg[0].length - 1, 0x200000000ull);
    ck_assert_int_eq(osal_dma_complete(OS, &x), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(osal_dma_complete(OS, &m[i]), 0);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.iova_pages_live, 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(low_window_off_leaves_a_32bit_device_nothing)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x100000000ull;
    o.low_window = false;
    open_with(&o);
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping x;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 32, &x), -ENOSPC);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &x), 0);
    ck_assert_uint_ge(x.seg[0].iova, 0x100000000ull);
    ck_assert_int_eq(osal_dma_complete(OS, &x), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(low_window_is_small_and_exhausts)
{
    /* iova_base 0x5000: the low window is [0x1000, 0x5000), four pages; a
     * 14-bit device (limit 0x4000) reaches three of them. */
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x5000;
    open_with(&o);
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m[4];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 14, &m[i]), 0);
        ck_assert_uint_eq(m[i].seg[0].iova, 0x1000 + (uint64_t)i * PG);
    }
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 14, &m[3]), -ENOSPC);
    /* A 64-bit mapping is not squeezed into the low window. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[3]), 0);
    ck_assert_uint_eq(m[3].seg[0].iova, 0x5000);
    ck_assert_int_eq(osal_dma_complete(OS, &m[1]), 0);
    struct osal_dma_mapping again;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 14, &again), 0);
    ck_assert_uint_eq(again.seg[0].iova, 0x2000); /* the only hole, found after wrapping */
    ck_assert_int_eq(osal_dma_complete(OS, &again), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[0]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[2]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[3]), 0);
    osal_dma_free(OS, b);
    /* iova_limit below iova_base caps the low window too. */
    teardown();
    osal_user_options_init(&o);
    o.iova_base = 0x100000000ull;
    o.iova_limit = 0x3000;
    open_with(&o);
    b = alloc(PG, PG);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 32, &m[0]), 0);
    ck_assert_uint_eq(m[0].seg[0].iova, 0x1000);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 32, &m[1]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 32, &m[2]), -ENOSPC);
    ck_assert_int_eq(osal_dma_complete(OS, &m[0]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[1]), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(scatter_keeps_separate_mappings_apart)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.scatter = true;
    open_with(&o);
    /* Two one-page buffers mapped one after the other: each is one piece,
     * and a guard page keeps the second from continuing the first. */
    struct osal_dma_buffer *a = alloc(PG, PG), *b = alloc(PG, PG);
    struct osal_dma_mapping ma, mb;
    ck_assert_int_eq(osal_dma_prepare(OS, a, 0, PG, HBA_DMA_TO_DEVICE, 64, &ma), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &mb), 0);
    ck_assert_uint_eq(ma.nseg, 1);
    ck_assert_uint_eq(mb.nseg, 1);
    ck_assert_uint_eq(mb.seg[0].iova, ma.seg[0].iova + 2 * PG);
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.iova_pages_live, 4);
    ck_assert_int_eq(osal_dma_complete(OS, &ma), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &mb), 0);
    /* Without scatter the same two land back to back. */
    osal_user_set_scatter(OS, false);
    ck_assert_int_eq(osal_dma_prepare(OS, a, 0, PG, HBA_DMA_TO_DEVICE, 64, &ma), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &mb), 0);
    ck_assert_uint_eq(mb.seg[0].iova, ma.seg[0].iova + PG);
    ck_assert_int_eq(osal_dma_complete(OS, &ma), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &mb), 0);
    osal_dma_free(OS, a);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(address_bits_below_4g_stay_below)
{
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 32, &m), 0);
    ck_assert_uint_lt(m.seg[0].iova + PG - 1, 0x100000000ull);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    /* 12 address bits: only [0x1000, 0x1000) is left above the base: nothing. */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 12, &m), -ENOSPC);
    /* 13 bits: exactly one page, [0x1000, 0x2000). */
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 13, &m), 0);
    ck_assert_uint_eq(m.seg[0].iova, 0x1000);
    struct osal_dma_mapping m2;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 8, HBA_DMA_TO_DEVICE, 13, &m2), -ENOSPC);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(iova_space_exhausts_then_recovers)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x10000;
    o.iova_limit = 0x10000 + 4 * PG;
    open_with(&o);
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m[5];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[i]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[4]), -ENOSPC);
    ck_assert_int_eq(osal_dma_complete(OS, &m[1]), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m[4]), 0);
    ck_assert_uint_eq(m[4].seg[0].iova, 0x10000 + PG); /* the only hole, found after wrapping */
    ck_assert_int_eq(osal_dma_complete(OS, &m[0]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[2]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[3]), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m[4]), 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(failed_map_unmaps_what_it_mapped)
{
    teardown();
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.scatter = true;
    open_with(&o);
    struct osal_dma_buffer *b = alloc(8 * PG, PG);
    F.rec.fail_map_at = 2; /* the third piece fails */
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, 4 * PG, HBA_DMA_TO_DEVICE, 64, &m), -EIO);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'm'), 2);
    ck_assert_uint_eq(of_rec_count(&F.rec, 'u'), 2);
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    ck_assert(of_log_has(&L, "IOMMU map"));
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.mappings_live, 0);
    ck_assert_uint_eq(s.iova_pages_live, 0);
    osal_dma_free(OS, b);
}
END_TEST

START_TEST(free_with_live_mapping_unmaps_it)
{
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
    osal_dma_free(OS, b);
    ck_assert(of_log_has(&L, "live mapping"));
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &m), -ENOENT);
}
END_TEST

START_TEST(teardown_releases_what_the_driver_forgot)
{
    struct osal_dma_buffer *b = alloc(PG, PG);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 0, PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
    alloc(100, 8);
    osal_user_destroy(OS);
    OS = NULL;
    ck_assert(of_log_has(&L, "still prepared"));
    ck_assert(of_log_has(&L, "still allocated"));
    ck_assert_int_eq(of_rec_net(&F.rec), 0);
    ck_assert_int_eq(osal_user_create(F.bus, NULL, &OS), 0); /* for teardown() */
}
END_TEST

START_TEST(set_bus_moves_buffers_and_replays_mappings)
{
    struct osal_dma_buffer *b = alloc(2 * PG, PG);
    memcpy(b->vaddr, "before", 6);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(OS, b, 16, 1000, HBA_DMA_FROM_DEVICE, 64, &m), 0);

    struct of_fake g;
    struct of_call c = switch_bus_one_replay(&g);
    ck_assert_ptr_eq(osal_user_bus(OS), g.bus);
    ck_assert_ptr_eq(b->vaddr, bus_ram(g.bus) + b->phys);
    ck_assert_uint_eq(c.iova, m.seg[0].iova); /* the same IOVA: the device's view does not change */
    ck_assert_uint_eq(c.ram, b->phys + 16);
    ck_assert_uint_eq(c.len, 1000);
    ck_assert_int_eq(c.dir, HBA_DMA_FROM_DEVICE);
    ck_assert_int_eq(osal_dma_complete(OS, &m), 0);
    ck_assert_int_eq(of_rec_net(&g.rec), 0);   /* unmapped on the bus in use */
    ck_assert_int_eq(of_rec_count(&F.rec, 'u'), 0);

    /* A bus whose RAM cannot hold the live buffers is refused, nothing changes. */
    struct of_fake small;
    of_fake_open(&small, PG, 4);
    ck_assert_int_eq(osal_user_set_bus(OS, small.bus), -ERANGE);
    ck_assert_ptr_eq(osal_user_bus(OS), g.bus);
    ck_assert(of_log_has(&L, "host RAM"));

    ck_assert_int_eq(osal_user_set_bus(OS, F.bus), 0);
    ck_assert_ptr_eq(b->vaddr, bus_ram(F.bus) + b->phys);
    osal_dma_free(OS, b);
    of_fake_close(&small);
    of_fake_close(&g);
}
END_TEST

/* --- against the controller's IOMMU ---------------------------------------- */

START_TEST(mappings_are_in_the_iommu_tables)
{
    struct of_ctrl c;
    of_ctrl_open(&c);
    struct osal *os;
    ck_assert_int_eq(osal_user_create(c.bus, NULL, &os), 0);
    struct osal_dma_buffer *b;
    ck_assert_int_eq(osal_dma_alloc(os, 3 * PG, PG, &b), 0);
    struct osal_dma_mapping m;
    ck_assert_int_eq(osal_dma_prepare(os, b, 0, 3 * PG, HBA_DMA_TO_DEVICE, 64, &m), 0);
    /* The IOMMU's tables hold the translation: mapping the same IOVA again collides. */
    struct bus_ops t = bus_ops_table(c.bus);
    ck_assert_int_eq(t.iommu_map(t.arg, m.seg[0].iova, b->phys, PG, HBA_DMA_TO_DEVICE), -EEXIST);
    ck_assert_int_eq(t.iommu_map(t.arg, m.seg[0].iova + 2 * PG, b->phys, PG, HBA_DMA_TO_DEVICE), -EEXIST);
    ck_assert_int_eq(osal_dma_complete(os, &m), 0);
    /* ... and after complete it is gone. */
    ck_assert_int_eq(t.iommu_unmap(t.arg, m.seg[0].iova, 3 * PG), -ENOENT);
    osal_dma_free(os, b);
    osal_user_destroy(os);
    of_ctrl_close(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("osal_dma");
    TCase *t = tcase_create("dma");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, alloc_is_aligned_zeroed_and_in_host_ram);
    tcase_add_test(t, alloc_rejects_bad_arguments);
    tcase_add_test(t, alloc_exhausts_then_recovers);
    tcase_add_test(t, alloc_is_thread_safe);
    tcase_add_test(t, prepare_maps_one_piece_at_the_same_page_offset);
    tcase_add_test(t, prepare_passes_every_direction);
    tcase_add_test(t, prepare_rejects_bad_arguments);
    tcase_add_test(t, complete_rejects_a_modified_mapping);
    tcase_add_test(t, freed_iovas_are_not_reused_at_once);
    tcase_add_test(t, scatter_maps_each_page_apart);
    tcase_add_test(t, iovas_above_4g_and_address_bits);
    tcase_add_test(t, low_window_off_leaves_a_32bit_device_nothing);
    tcase_add_test(t, low_window_is_small_and_exhausts);
    tcase_add_test(t, scatter_keeps_separate_mappings_apart);
    tcase_add_test(t, address_bits_below_4g_stay_below);
    tcase_add_test(t, iova_space_exhausts_then_recovers);
    tcase_add_test(t, failed_map_unmaps_what_it_mapped);
    tcase_add_test(t, free_with_live_mapping_unmaps_it);
    tcase_add_test(t, teardown_releases_what_the_driver_forgot);
    tcase_add_test(t, set_bus_moves_buffers_and_replays_mappings);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("controller");
    tcase_add_test(c, mappings_are_in_the_iommu_tables);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
