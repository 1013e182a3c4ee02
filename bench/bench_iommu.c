/* bench/bench_iommu.c — cost of IOMMU translation on the DMA hot path.
 *
 *   build/bench/bench_iommu [mappings] [futex]
 *
 * Maps `mappings` 4 KiB pages (default 65536) by writing the IOMMU's tables in
 * host RAM (platform/iommu_pt.h), then times 64-byte device reads scattered
 * over them (translation-dominated: mostly IOTLB misses and table walks),
 * 128 KiB reads spanning 32 pages (copy-dominated), and map + unmap of one
 * page (the unmap waits for its invalidation), and prints ns per operation
 * and the IOTLB hit rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "platform/iommu_pt.h"
#include "sim/iommu/iommu.h"

static void doorbell(void *m)
{
    sim_iommu_doorbell(m);
}

static double now_ns(void)
{
    return (double)clock_now_ns();
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 65536;
    if (n < 32)
        n = 32;
    uint64_t ram_size = 64ull << 20;
    uint8_t *ram = calloc(1, ram_size);
    struct sim_iommu *m;
    struct iommu_pt *pt;
    if (!ram || sim_iommu_create(ram, ram_size, HBA_IOMMU_POLICY_ABORT, &m) || iommu_pt_open(ram, ram_size, &pt)) {
        fprintf(stderr, "bench_iommu: out of memory\n");
        return 3;
    }
    /* One process: the queue's doorbell is handled on this thread, as the
     * in-process stack does (argv[2] = "futex": wake the IOMMU's thread instead,
     * as two processes do). */
    if (!(argc > 2 && strcmp(argv[2], "futex") == 0))
        iommu_pt_set_doorbell(pt, doorbell, m);
    uint64_t ram_pages = iommu_pt_area_base(pt) / HBA_IOMMU_PAGE_SIZE;
    for (uint64_t i = 0; i < n; i++)
        if (iommu_pt_map(pt, (0x100000 + i) << 12, (i % ram_pages) << 12, HBA_IOMMU_PAGE_SIZE,
                         HBA_DMA_BIDIRECTIONAL)) {
            fprintf(stderr, "bench_iommu: map failed at %llu\n", (unsigned long long)i);
            return 3;
        }
    struct sim_dma_ctx ctx = { .cid = 1, .sq_id = 1 };
    static uint8_t buf[128 << 10];
    enum { SMALL = 2000000, LARGE = 20000 };

    double t0 = now_ns();
    for (uint64_t i = 0; i < SMALL; i++)
        if (sim_iommu_dma_read(m, ((0x100000 + (i * 7919) % n) << 12) + 64, buf, 64, ctx) != SIM_DMA_OK)
            return 1;
    double t1 = now_ns();
    for (uint64_t i = 0; i < LARGE; i++)
        if (sim_iommu_dma_read(m, (0x100000 + (i * 32) % (n - 31)) << 12, buf, sizeof buf, ctx) != SIM_DMA_OK)
            return 1;
    double t2 = now_ns();
    enum { CYCLES = 20000 };
    for (uint64_t i = 0; i < CYCLES; i++) {
        uint64_t iova = 0x800000000ull + (i << 13);
        if (iommu_pt_map(pt, iova, 0, HBA_IOMMU_PAGE_SIZE, HBA_DMA_FROM_DEVICE) ||
            sim_iommu_dma_write(m, iova, buf, 64, ctx) != SIM_DMA_OK || iommu_pt_unmap(pt, iova, HBA_IOMMU_PAGE_SIZE))
            return 1;
    }
    double t3 = now_ns();
    struct sim_iommu_stats st;
    sim_iommu_stats(m, &st);
    printf("mappings %llu: 64 B read %.1f ns/access; 128 KiB read %.0f ns/access (%.1f ns/page, %.2f GB/s)\n",
           (unsigned long long)n, (t1 - t0) / SMALL, (t2 - t1) / LARGE, (t2 - t1) / LARGE / 32,
           (double)sizeof buf * LARGE / (t2 - t1));
    printf("map + 64 B DMA + unmap (invalidation waited for): %.0f ns/cycle; IOTLB %llu hits, %llu misses\n",
           (t3 - t2) / CYCLES, (unsigned long long)st.hits, (unsigned long long)st.misses);
    iommu_pt_close(pt);
    sim_iommu_destroy(m);
    free(ram);
    return 0;
}
