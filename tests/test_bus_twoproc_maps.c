/* tests/test_bus_twoproc_maps.c — the host's record of its IOMMU mappings
 * (platform/bus_maps.h): what it accepts and refuses must be exactly what the
 * IOMMU accepts and refuses, or a replay after a controller restart would
 * differ from what the driver programmed.  Checked against sim/iommu/iommu.c on a
 * seeded random sequence, plus the splitting cases by hand. */
#include <errno.h>
#include <stdlib.h>

#include "platform/bus_maps.h"
#include "sim/iommu/iommu.h"
#include "tests/support/testutil.h"

#define PG HBA_IOMMU_PAGE_SIZE

START_TEST(rules_match_the_iommu)
{
    struct bus_maps m = { 0 };
    const uint64_t ram = 64 * PG;
    ck_assert_int_eq(bus_maps_check(&m, 0, 0, PG, 0, ram), -EINVAL);              /* direction */
    ck_assert_int_eq(bus_maps_check(&m, 0, 0, PG, 4, ram), -EINVAL);
    ck_assert_int_eq(bus_maps_check(&m, 0, 0, 0, 1, ram), -EINVAL);               /* empty */
    ck_assert_int_eq(bus_maps_check(&m, UINT64_MAX - 10, 0, 100, 1, ram), -EINVAL); /* wraps */
    ck_assert_int_eq(bus_maps_check(&m, 0, ram, 1, 1, ram), -EINVAL);             /* beyond RAM */
    ck_assert_int_eq(bus_maps_check(&m, 0, ram - 10, 11, 1, ram), -EINVAL);
    ck_assert_int_eq(bus_maps_check(&m, 0x10, 0x20, 16, 1, ram), -EINVAL);        /* page offsets */
    ck_assert_int_eq(bus_maps_check(&m, 0x1010, 0x3010, 16, 1, ram), 0);
    ck_assert_int_eq(bus_maps_add(&m, 0x1010, 0x3010, 16, 1), 0);
    ck_assert_int_eq(bus_maps_check(&m, 0x1FFF, 0x1FFF, 1, 2, ram), -EEXIST);    /* same page */
    ck_assert_int_eq(bus_maps_check(&m, 0, 0, PG + 1, 2, ram), -EEXIST);           /* touches it */
    ck_assert_int_eq(bus_maps_check(&m, 0, 0, PG, 2, ram), 0);
    ck_assert_int_eq(bus_maps_remove(&m, 0, 0), -EINVAL);
    ck_assert_int_eq(bus_maps_remove(&m, UINT64_MAX, 2), -EINVAL);
    bus_maps_free(&m);
}
END_TEST

START_TEST(unmapping_the_middle_splits_a_range)
{
    struct bus_maps m = { 0 };
    ck_assert_int_eq(bus_maps_add(&m, 10 * PG, 20 * PG, 10 * PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_uint_eq(m.pages, 10);
    ck_assert_int_eq(bus_maps_remove(&m, 13 * PG, 2 * PG), 0);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_uint_eq(m.pages, 8);
    ck_assert_uint_eq(m.v[0].iova_page, 10);
    ck_assert_uint_eq(m.v[0].pages, 3);
    ck_assert_uint_eq(m.v[0].ram_page, 20);
    ck_assert_uint_eq(m.v[1].iova_page, 15);
    ck_assert_uint_eq(m.v[1].pages, 5);
    ck_assert_uint_eq(m.v[1].ram_page, 25);
    ck_assert_uint_eq(m.v[1].dir, HBA_DMA_TO_DEVICE);
    /* Across both pieces and a hole: the hole is reported, the rest goes. */
    ck_assert_int_eq(bus_maps_remove(&m, 12 * PG, 5 * PG), -ENOENT);
    ck_assert_uint_eq(m.pages, 5);
    ck_assert_uint_eq(m.v[0].pages, 2);
    ck_assert_uint_eq(m.v[1].iova_page, 17);
    ck_assert_uint_eq(m.v[1].ram_page, 27);
    ck_assert_int_eq(bus_maps_remove(&m, 0, 100 * PG), -ENOENT);
    ck_assert_uint_eq(m.n, 0);
    ck_assert_uint_eq(m.pages, 0);
    bus_maps_free(&m);
}
END_TEST

static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

START_TEST(a_random_sequence_agrees_with_the_iommu)
{
    const uint64_t ram_size = 256 * PG;
    uint8_t *ram = calloc(1, ram_size);
    struct sim_iommu *io;
    ck_assert_int_eq(sim_iommu_create(ram, ram_size, HBA_IOMMU_POLICY_ABORT, &io), 0);
    struct bus_maps m = { 0 };
    uint64_t seed = 99;
    for (int i = 0; i < 20000; i++) {
        /* Small IOVA and RAM windows so that ranges collide often. */
        uint64_t off = rnd(&seed) % 3 ? 0 : rnd(&seed) % PG;
        uint64_t iova = (uint64_t)(rnd(&seed) % 300) * PG + off;
        uint64_t ram_addr = (uint64_t)(rnd(&seed) % 260) * PG + (rnd(&seed) % 8 ? off : (off + 8) % PG);
        uint64_t len = 1 + rnd(&seed) % (6 * PG);
        uint32_t dir = rnd(&seed) % 5;
        if (rnd(&seed) % 3) {
            int want = sim_iommu_map(io, iova, ram_addr, len, (enum hba_dma_dir)dir);
            int got = bus_maps_check(&m, iova, ram_addr, len, dir, ram_size);
            ck_assert_msg(got == want, "step %d: map %#llx %#llx %llu dir %u: record %d, IOMMU %d", i,
                          (unsigned long long)iova, (unsigned long long)ram_addr, (unsigned long long)len, dir,
                          got, want);
            if (got == 0)
                ck_assert_int_eq(bus_maps_add(&m, iova, ram_addr, len, dir), 0);
        } else {
            int want = sim_iommu_unmap(io, iova, len);
            int got = bus_maps_remove(&m, iova, len);
            ck_assert_msg(got == want, "step %d: unmap: record %d, IOMMU %d", i, got, want);
        }
        ck_assert_uint_eq(m.pages, sim_iommu_mapped_pages(io));
    }
    /* The record replays into a fresh IOMMU and gives the same translations. */
    struct sim_iommu *fresh;
    ck_assert_int_eq(sim_iommu_create(ram, ram_size, HBA_IOMMU_POLICY_ABORT, &fresh), 0);
    for (size_t i = 0; i < m.n; i++)
        ck_assert_int_eq(sim_iommu_map(fresh, m.v[i].iova_page * PG, m.v[i].ram_page * PG, m.v[i].pages * PG,
                                       (enum hba_dma_dir)m.v[i].dir),
                         0);
    ck_assert_uint_eq(sim_iommu_mapped_pages(fresh), sim_iommu_mapped_pages(io));
    for (uint64_t p = 0; p < 310; p++) {
        struct sim_dma_ctx ctx = { .cid = 0xFFFF, .sq_id = 0 };
        uint8_t a = 0, b = 0;
        ram[(p % 256) * PG] = (uint8_t)p;
        enum sim_dma_result ra = sim_iommu_dma_read(io, p * PG, &a, 1, ctx);
        enum sim_dma_result rb = sim_iommu_dma_read(fresh, p * PG, &b, 1, ctx);
        ck_assert_int_eq(ra, rb);
        ck_assert_uint_eq(a, b);
    }
    sim_iommu_destroy(fresh);
    sim_iommu_destroy(io);
    bus_maps_free(&m);
    free(ram);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_maps");
    TCase *tc = tcase_create("maps");
    tcase_add_test(tc, rules_match_the_iommu);
    tcase_add_test(tc, unmapping_the_middle_splits_a_range);
    tcase_add_test(tc, a_random_sequence_agrees_with_the_iommu);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
