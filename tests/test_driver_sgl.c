/* tests/test_driver_sgl.c — the SGL builder and its constraint checks
 * (core/sgl.c), with fake IOVA segments.  Every SGL built is walked back
 * the way the controller walks it (hw/hba.h "Data" rules) and must describe
 * exactly the bytes asked for. */
#include <stdlib.h>
#include <string.h>

#include "core/sgl.h"
#include "tests/support/testutil.h"

#define KiB 1024u
#define GiB (1024ull * 1024 * 1024)
#define LIST_IOVA 0x70000000ull /* where the fake segment lists live */

static const struct sgl_limits default_lim = {
    .max_sges = 128, .max_depth = 8, .addr_bits = 64, .max_bytes = 512 * KiB,
};

/* n segments of len bytes each, a page apart so none are adjacent. */
static struct osal_dma_segment *spread(uint32_t n, uint64_t base, uint64_t len)
{
    struct osal_dma_segment *s = calloc(n, sizeof *s);
    for (uint32_t i = 0; i < n; i++)
        s[i] = (struct osal_dma_segment){ .iova = base + i * (len + 4096), .length = len };
    return s;
}

struct space_mem {
    struct hba_sge lists[4][HBA_SGL_SEGMENT_MAX];
    uint64_t iova[4];
    struct sgl_space space;
};

/* List l lives at LIST_IOVA + 4 KiB * order[l]: not in list order, since a
 * chain may point anywhere. */
static void space_init(struct space_mem *m, uint32_t lists)
{
    static const unsigned order[4] = { 2, 0, 3, 1 };
    memset(m->lists, 0xA5, sizeof m->lists); /* garbage: the builder must write what it uses */
    for (unsigned l = 0; l < 4; l++)
        m->iova[l] = LIST_IOVA + 4096u * order[l];
    m->space = (struct sgl_space){ .cpu = &m->lists[0][0], .list_iova = m->iova, .lists = lists };
}

/* The CPU view of the list the device finds at iova. */
static const struct hba_sge *list_at(const struct space_mem *m, uint64_t iova)
{
    for (unsigned l = 0; l < 4; l++)
        if (iova == m->iova[l])
            return m->lists[l];
    return NULL;
}

/* The controller's walk: DATA SGEs in order, SEGMENTs only last in a list.
 * Fills out[] with the DATA SGEs covering data_len; returns their count, or
 * -1 on a rule violation. */
static int walk(const struct space_mem *m, const struct hba_sge *first, uint64_t data_len, struct hba_sge *out,
                int max_out, unsigned *depth_out)
{
    struct hba_sge list[HBA_SGL_SEGMENT_MAX];
    size_t idx = 0, n = 1;
    unsigned depth = 0;
    uint64_t covered = 0;
    int nout = 0;
    list[0] = *first;
    while (covered < data_len) {
        if (idx == n)
            return -1;
        struct hba_sge s = list[idx];
        if (s.type == HBA_SGE_DATA) {
            if (s.length == 0 || nout == max_out)
                return -1;
            out[nout++] = s;
            covered += s.length;
            idx++;
        } else if (s.type == HBA_SGE_SEGMENT) {
            if (idx != n - 1 || s.length == 0 || s.length % 16 || s.length / 16 > HBA_SGL_SEGMENT_MAX)
                return -1;
            const struct hba_sge *at = list_at(m, s.addr);
            if (!at)
                return -1;
            memcpy(list, at, s.length);
            n = s.length / 16;
            idx = 0;
            depth++;
        } else {
            return -1;
        }
    }
    if (depth_out)
        *depth_out = depth;
    return nout;
}

/* The byte ranges [off, off + len) of the segments' concatenation, as the
 * test computes them independently, must match the walked SGEs. */
static void expect_covers(const struct hba_sge *got, int ngot, const struct osal_dma_segment *seg, uint32_t nseg,
                          uint64_t off, uint64_t len)
{
    int k = 0;
    uint64_t in_sge = 0;
    for (uint32_t i = 0; i < nseg && len; i++) {
        if (off >= seg[i].length) {
            off -= seg[i].length;
            continue;
        }
        for (uint64_t b = off; b < seg[i].length && len; b += 4096) {
            uint64_t step = seg[i].length - b < 4096 ? seg[i].length - b : 4096;
            if (step > len)
                step = len;
            ck_assert_int_lt(k, ngot);
            ck_assert_uint_eq(got[k].addr + in_sge, seg[i].iova + b);
            in_sge += step;
            if (in_sge == got[k].length) {
                k++;
                in_sge = 0;
            }
            len -= step;
        }
        off = 0;
    }
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(k, ngot);
}

START_TEST(one_segment_is_inline_data)
{
    struct osal_dma_segment s = { .iova = 0x10000, .length = 64 * KiB };
    struct space_mem m;
    space_init(&m, 2);
    uint32_t n, lists = 99;
    struct hba_sge in;
    ck_assert_int_eq(sgl_check(&s, 1, 0, s.length, &default_lim, &n), SGL_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sgl_build(&s, 1, 0, s.length, &m.space, &in, &lists), SGL_OK);
    ck_assert_uint_eq(lists, 0);
    ck_assert_uint_eq(in.type, HBA_SGE_DATA);
    ck_assert_uint_eq(in.addr, 0x10000);
    ck_assert_uint_eq(in.length, 64 * KiB);
    ck_assert_mem_eq(in.rsvd, "\0\0\0", 3);
}
END_TEST

START_TEST(max_segments_go_into_one_list)
{
    struct osal_dma_segment *s = spread(128, 0x100000, 4096);
    struct space_mem m;
    space_init(&m, 2);
    uint32_t n, lists;
    struct hba_sge in, got[600];
    ck_assert_int_eq(sgl_check(s, 128, 0, 128 * 4096, &default_lim, &n), SGL_OK);
    ck_assert_uint_eq(n, 128);
    ck_assert_int_eq(sgl_build(s, 128, 0, 128 * 4096, &m.space, &in, &lists), SGL_OK);
    ck_assert_uint_eq(lists, 1);
    ck_assert_uint_eq(in.type, HBA_SGE_SEGMENT);
    ck_assert_uint_eq(in.addr, m.iova[0]);
    ck_assert_uint_eq(in.length, 128 * 16);
    unsigned depth;
    int k = walk(&m, &in, 128 * 4096, got, 600, &depth);
    ck_assert_int_eq(k, 128);
    ck_assert_uint_eq(depth, 1);
    expect_covers(got, k, s, 128, 0, 128 * 4096);
    free(s);
}
END_TEST

START_TEST(one_segment_more_than_allowed_needs_bounce)
{
    struct osal_dma_segment *s = spread(129, 0x100000, 2048);
    uint32_t n;
    ck_assert_int_eq(sgl_check(s, 129, 0, 129 * 2048, &default_lim, &n), SGL_TOO_MANY);
    ck_assert_uint_eq(n, 129);
    /* The same slice minus one segment fits. */
    ck_assert_int_eq(sgl_check(s, 129, 0, 128 * 2048, &default_lim, &n), SGL_OK);
    free(s);
}
END_TEST

START_TEST(long_lists_chain)
{
    /* 300 SGEs: list 0 carries 255 and chains to list 1 with 45. */
    struct osal_dma_segment *s = spread(300, 0x100000, 512);
    struct sgl_limits lim = default_lim;
    lim.max_sges = 511;
    struct space_mem m;
    space_init(&m, 2);
    uint32_t lists;
    struct hba_sge in, got[600];
    ck_assert_int_eq(sgl_check(s, 300, 0, 300 * 512, &lim, NULL), SGL_OK);
    ck_assert_int_eq(sgl_build(s, 300, 0, 300 * 512, &m.space, &in, &lists), SGL_OK);
    ck_assert_uint_eq(lists, 2);
    ck_assert_uint_eq(in.length, 256 * 16);
    ck_assert_uint_eq(m.lists[0][255].type, HBA_SGE_SEGMENT);
    ck_assert_uint_eq(m.lists[0][255].addr, m.iova[1]);
    ck_assert_uint_eq(m.lists[0][255].length, 45 * 16);
    unsigned depth;
    int k = walk(&m, &in, 300 * 512, got, 600, &depth);
    ck_assert_int_eq(k, 300);
    ck_assert_uint_eq(depth, 2);
    expect_covers(got, k, s, 300, 0, 300 * 512);
    free(s);
}
END_TEST

START_TEST(exactly_full_lists_do_not_chain_needlessly)
{
    /* 256 SGEs fit one list of 256 without a chain element. */
    struct osal_dma_segment *s = spread(256, 0x100000, 512);
    struct space_mem m;
    space_init(&m, 1);
    uint32_t lists;
    struct hba_sge in, got[300];
    ck_assert_int_eq(sgl_build(s, 256, 0, 256 * 512, &m.space, &in, &lists), SGL_OK);
    ck_assert_uint_eq(lists, 1);
    ck_assert_uint_eq(m.lists[0][255].type, HBA_SGE_DATA);
    ck_assert_int_eq(walk(&m, &in, 256 * 512, got, 300, NULL), 256);
    /* 257 do not fit one list. */
    struct osal_dma_segment *t = spread(257, 0x100000, 512);
    ck_assert_int_eq(sgl_build(t, 257, 0, 257 * 512, &m.space, &in, &lists), SGL_NO_SPACE);
    free(s);
    free(t);
}
END_TEST

START_TEST(depth_limit_needs_bounce)
{
    struct osal_dma_segment *s = spread(257, 0x100000, 512);
    struct sgl_limits lim = default_lim;
    lim.max_sges = 1000;
    lim.max_depth = 1;
    ck_assert_int_eq(sgl_check(s, 256, 0, 256 * 512, &lim, NULL), SGL_OK);
    ck_assert_int_eq(sgl_check(s, 257, 0, 257 * 512, &lim, NULL), SGL_TOO_MANY);
    lim.max_depth = 0; /* only an inline DATA SGE */
    ck_assert_int_eq(sgl_check(s, 1, 0, 512, &lim, NULL), SGL_OK);
    ck_assert_int_eq(sgl_check(s, 2, 0, 1024, &lim, NULL), SGL_TOO_MANY);
    free(s);
}
END_TEST

START_TEST(capacity_and_lists_needed)
{
    ck_assert_uint_eq(sgl_capacity(0), 1);
    ck_assert_uint_eq(sgl_capacity(1), 256);
    ck_assert_uint_eq(sgl_capacity(2), 511);
    ck_assert_uint_eq(sgl_lists_needed(0), 0);
    ck_assert_uint_eq(sgl_lists_needed(1), 0);
    ck_assert_uint_eq(sgl_lists_needed(2), 1);
    ck_assert_uint_eq(sgl_lists_needed(256), 1);
    ck_assert_uint_eq(sgl_lists_needed(257), 2);
    ck_assert_uint_eq(sgl_lists_needed(511), 2);
    ck_assert_uint_eq(sgl_lists_needed(512), 3);
    for (uint32_t d = 1; d < 10; d++)
        ck_assert_uint_eq(sgl_lists_needed(sgl_capacity(d)), d);
}
END_TEST

START_TEST(addresses_above_32_bits_need_bounce)
{
    struct sgl_limits lim = default_lim;
    lim.addr_bits = 32;
    struct osal_dma_segment high = { .iova = 5 * GiB, .length = 8192 };
    ck_assert_int_eq(sgl_check(&high, 1, 0, 8192, &lim, NULL), SGL_ADDR_TOO_HIGH);
    /* Ending exactly at 4 GiB is fine; one byte more is not. */
    struct osal_dma_segment edge = { .iova = 4 * GiB - 8192, .length = 8192 };
    ck_assert_int_eq(sgl_check(&edge, 1, 0, 8192, &lim, NULL), SGL_OK);
    edge.length = 8193;
    ck_assert_int_eq(sgl_check(&edge, 1, 0, 8193, &lim, NULL), SGL_ADDR_TOO_HIGH);
    /* Only the slice matters: a high segment past the slice is not used. */
    struct osal_dma_segment mixed[2] = { { .iova = 0x1000, .length = 4096 }, { .iova = 6 * GiB, .length = 4096 } };
    ck_assert_int_eq(sgl_check(mixed, 2, 0, 4096, &lim, NULL), SGL_OK);
    ck_assert_int_eq(sgl_check(mixed, 2, 0, 8192, &lim, NULL), SGL_ADDR_TOO_HIGH);
    /* With 64 address lines nothing is too high, but a wrap past 2^64 is. */
    struct osal_dma_segment wrap = { .iova = UINT64_MAX - 100, .length = 4096 };
    ck_assert_int_eq(sgl_check(&high, 1, 0, 8192, &default_lim, NULL), SGL_OK);
    ck_assert_int_eq(sgl_check(&wrap, 1, 0, 4096, &default_lim, NULL), SGL_ADDR_TOO_HIGH);
}
END_TEST

START_TEST(max_bytes_per_command)
{
    struct osal_dma_segment s = { .iova = 0x100000, .length = 1024 * KiB };
    ck_assert_int_eq(sgl_check(&s, 1, 0, 512 * KiB, &default_lim, NULL), SGL_OK);
    ck_assert_int_eq(sgl_check(&s, 1, 0, 512 * KiB + 512, &default_lim, NULL), SGL_TOO_LONG);
    /* The second half of the buffer is a command of its own. */
    ck_assert_int_eq(sgl_check(&s, 1, 512 * KiB, 512 * KiB, &default_lim, NULL), SGL_OK);
}
END_TEST

START_TEST(zero_length_and_short_segments_are_refused)
{
    struct osal_dma_segment s[3] = { { 0x1000, 4096 }, { 0x3000, 0 }, { 0x5000, 4096 } };
    struct hba_sge in;
    struct space_mem m;
    space_init(&m, 1);
    ck_assert_int_eq(sgl_check(s, 3, 0, 8192, &default_lim, NULL), SGL_ZERO_LENGTH);
    ck_assert_int_eq(sgl_build(s, 3, 0, 8192, &m.space, &in, NULL), SGL_ZERO_LENGTH);
    ck_assert_int_eq(sgl_check(s, 1, 0, 8192, &default_lim, NULL), SGL_SHORT);
    ck_assert_int_eq(sgl_build(s, 1, 0, 8192, &m.space, &in, NULL), SGL_SHORT);
    ck_assert_int_eq(sgl_check(s, 1, 4096, 1, &default_lim, NULL), SGL_SHORT);
    /* len 0 needs no SGE at all. */
    uint32_t n = 7;
    ck_assert_int_eq(sgl_check(s, 1, 0, 0, &default_lim, &n), SGL_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(sgl_build(s, 1, 0, 0, &m.space, &in, NULL), SGL_OK);
    ck_assert_uint_eq(in.length, 0);
}
END_TEST

START_TEST(slices_start_and_end_inside_segments)
{
    struct osal_dma_segment *s = spread(10, 0x200000, 3 * 4096);
    struct space_mem m;
    space_init(&m, 1);
    struct hba_sge in, got[40];
    uint64_t off = 4096 + 100, len = (3 * 4096 - off) + 5 * 3 * 4096 + 77;
    uint32_t n;
    ck_assert_int_eq(sgl_check(s, 10, off, len, &default_lim, &n), SGL_OK);
    ck_assert_uint_eq(n, 7); /* a partial first, five whole, a partial last */
    ck_assert_int_eq(sgl_build(s, 10, off, len, &m.space, &in, NULL), SGL_OK);
    int k = walk(&m, &in, len, got, 40, NULL);
    ck_assert_int_eq(k, 7);
    ck_assert_uint_eq(got[0].addr, 0x200000 + off);
    ck_assert_uint_eq(got[0].length, 3 * 4096 - off);
    expect_covers(got, k, s, 10, off, len);
    free(s);
}
END_TEST

START_TEST(random_slices_round_trip)
{
    srand(7);
    struct sgl_limits lim = { .max_sges = 511, .max_depth = 8, .addr_bits = 64, .max_bytes = 1u << 30 };
    for (int round = 0; round < 300; round++) {
        uint32_t nseg = 1 + (uint32_t)rand() % 400;
        struct osal_dma_segment *s = calloc(nseg, sizeof *s);
        uint64_t total = 0, at = 0x1000;
        for (uint32_t i = 0; i < nseg; i++) {
            uint64_t len = 1 + (uint64_t)rand() % 9000;
            at += (uint64_t)(rand() % 3) * 4096 + 1; /* sometimes adjacent, mostly not */
            s[i] = (struct osal_dma_segment){ .iova = at, .length = len };
            at += len;
            total += len;
        }
        uint64_t off = (uint64_t)rand() % total;
        uint64_t len = 1 + (uint64_t)rand() % (total - off);
        uint32_t n;
        enum sgl_verdict v = sgl_check(s, nseg, off, len, &lim, &n);
        struct space_mem m;
        space_init(&m, 2);
        struct hba_sge in, got[600];
        if (v == SGL_OK) {
            ck_assert_int_eq(sgl_build(s, nseg, off, len, &m.space, &in, NULL), SGL_OK);
            int k = walk(&m, &in, len, got, 600, NULL);
            ck_assert_int_eq(k, (int)n);
            expect_covers(got, k, s, nseg, off, len);
        } else {
            ck_assert_int_eq(v, SGL_TOO_MANY);
            ck_assert_uint_gt(n, 511);
        }
        free(s);
    }
}
END_TEST

START_TEST(coalesce_merges_only_contiguous_iovas)
{
    struct osal_dma_segment s[6] = {
        { 0x1000, 0x1000 }, { 0x2000, 0x1000 }, { 0x3000, 0x800 }, /* one run */
        { 0x5000, 0x1000 },                                       /* a gap before */
        { 0x6000, 0x1000 },                                       /* continues it */
        { 0x1000, 0x1000 },                                       /* goes backwards */
    };
    uint32_t n = sgl_coalesce(s, 6);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(s[0].iova, 0x1000);
    ck_assert_uint_eq(s[0].length, 0x2800);
    ck_assert_uint_eq(s[1].iova, 0x5000);
    ck_assert_uint_eq(s[1].length, 0x2000);
    ck_assert_uint_eq(s[2].iova, 0x1000);
    ck_assert_uint_eq(sgl_coalesce(s, 0), 0);
    /* Never past the longest SGE. */
    struct osal_dma_segment big[2] = { { 0, SGL_SGE_MAX_LEN }, { SGL_SGE_MAX_LEN, 4096 } };
    ck_assert_uint_eq(sgl_coalesce(big, 2), 2);
}
END_TEST

START_TEST(segments_longer_than_one_sge_are_cut)
{
    struct osal_dma_segment s = { .iova = 0x100000000ull, .length = 2ull * SGL_SGE_MAX_LEN + 4096 };
    struct sgl_limits lim = default_lim;
    lim.max_bytes = UINT64_MAX;
    uint32_t n;
    ck_assert_int_eq(sgl_check(&s, 1, 0, s.length, &lim, &n), SGL_OK);
    ck_assert_uint_eq(n, 3);
    struct space_mem m;
    space_init(&m, 1);
    struct hba_sge in;
    ck_assert_int_eq(sgl_build(&s, 1, 0, s.length, &m.space, &in, NULL), SGL_OK);
    ck_assert_uint_eq(m.lists[0][0].length, SGL_SGE_MAX_LEN);
    ck_assert_uint_eq(m.lists[0][1].addr, s.iova + SGL_SGE_MAX_LEN);
    ck_assert_uint_eq(m.lists[0][2].length, 4096);
}
END_TEST

START_TEST(verdicts_have_names)
{
    for (int v = SGL_TOO_MANY; v <= SGL_NO_SPACE; v++)
        ck_assert_str_ne(sgl_verdict_name((enum sgl_verdict)v), "unknown verdict");
    ck_assert_str_eq(sgl_verdict_name(SGL_OK), "ok");
    ck_assert_str_eq(sgl_verdict_name((enum sgl_verdict)99), "unknown verdict");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_sgl");
    TCase *tc = tcase_create("sgl");
    tcase_add_test(tc, one_segment_is_inline_data);
    tcase_add_test(tc, max_segments_go_into_one_list);
    tcase_add_test(tc, one_segment_more_than_allowed_needs_bounce);
    tcase_add_test(tc, long_lists_chain);
    tcase_add_test(tc, exactly_full_lists_do_not_chain_needlessly);
    tcase_add_test(tc, depth_limit_needs_bounce);
    tcase_add_test(tc, capacity_and_lists_needed);
    tcase_add_test(tc, addresses_above_32_bits_need_bounce);
    tcase_add_test(tc, max_bytes_per_command);
    tcase_add_test(tc, zero_length_and_short_segments_are_refused);
    tcase_add_test(tc, slices_start_and_end_inside_segments);
    tcase_add_test(tc, random_slices_round_trip);
    tcase_add_test(tc, coalesce_merges_only_contiguous_iovas);
    tcase_add_test(tc, segments_longer_than_one_sge_are_cut);
    tcase_add_test(tc, verdicts_have_names);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
