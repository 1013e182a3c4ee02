/* tests/test_iommu.c — the emulated IOMMU: translation, direction, faults,
 * policies, the fault log, map/unmap rules and concurrent use. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "sim/iommu/iommu.h"

#define PG        HBA_IOMMU_PAGE_SIZE
#define RAM_PAGES 16u
#define RAM_SIZE  (RAM_PAGES * PG)

static const struct sim_dma_ctx CTX = { .cid = 0x1234, .sq_id = 3 };

static uint8_t ram[RAM_SIZE];
static struct sim_iommu *mmu;

static void setup(void)
{
    memset(ram, 0xA5, sizeof ram);
    ck_assert_int_eq(sim_iommu_create(ram, RAM_SIZE, HBA_IOMMU_POLICY_ABORT, &mmu), 0);
}

static void teardown(void)
{
    sim_iommu_destroy(mmu);
    mmu = NULL;
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + seed);
}

static bool all_bytes(const uint8_t *buf, size_t len, uint8_t v)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != v)
            return false;
    return true;
}

static struct hba_iommu_fault last_fault(void)
{
    struct hba_log_header h;
    struct hba_iommu_fault f[HBA_FAULT_LOG_DEPTH];
    size_t n = sim_iommu_fault_log(mmu, 0, f, HBA_FAULT_LOG_DEPTH, &h);
    ck_assert_uint_gt(n, 0);
    return f[n - 1];
}

static uint32_t fault_total(void)
{
    struct hba_log_header h;
    sim_iommu_fault_log(mmu, 0, NULL, 0, &h);
    return h.total;
}

/* --- life cycle ------------------------------------------------------------- */

START_TEST(create_rejects_bad_arguments)
{
    struct sim_iommu *m = (struct sim_iommu *)1;
    ck_assert_int_eq(sim_iommu_create(NULL, 4096, HBA_IOMMU_POLICY_ABORT, &m), -EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(sim_iommu_create(ram, RAM_SIZE, (enum hba_iommu_policy)7, &m), -EINVAL);
    ck_assert_int_eq(sim_iommu_create(ram, RAM_SIZE, HBA_IOMMU_POLICY_DROP, &m), 0);
    ck_assert_int_eq(sim_iommu_policy(m), HBA_IOMMU_POLICY_DROP);
    sim_iommu_set_policy(m, HBA_IOMMU_POLICY_FATAL);
    ck_assert_int_eq(sim_iommu_policy(m), HBA_IOMMU_POLICY_FATAL);
    sim_iommu_set_policy(m, (enum hba_iommu_policy)9); /* ignored */
    ck_assert_int_eq(sim_iommu_policy(m), HBA_IOMMU_POLICY_FATAL);
    sim_iommu_destroy(m);
    sim_iommu_destroy(NULL);
}
END_TEST

/* --- round trips -------------------------------------------------------------- */

START_TEST(round_trip_across_a_page_boundary)
{
    uint64_t iova = 0x10000 + 0xF00, ram_addr = 2 * PG + 0xF00;
    ck_assert_int_eq(sim_iommu_map(mmu, iova, ram_addr, 0x300, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 2);
    uint8_t out[0x300], in[0x300];
    fill_pattern(out, sizeof out, 1);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, iova, out, sizeof out, CTX), SIM_DMA_OK);
    ck_assert_mem_eq(ram + ram_addr, out, sizeof out);
    ck_assert(all_bytes(ram + ram_addr - 16, 16, 0xA5));
    ck_assert(all_bytes(ram + ram_addr + sizeof out, 16, 0xA5));
    memset(in, 0, sizeof in);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, iova, in, sizeof in, CTX), SIM_DMA_OK);
    ck_assert_mem_eq(in, out, sizeof in);
    ck_assert_uint_eq(fault_total(), 0);
}
END_TEST

START_TEST(round_trip_across_two_mappings)
{
    /* Two adjacent IOVA pages backed by RAM pages far apart. */
    ck_assert_int_eq(sim_iommu_map(mmu, 0x100000, 4 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x101000, 9 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    uint8_t out[PG], in[PG];
    fill_pattern(out, sizeof out, 9);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x100800, out, sizeof out, CTX), SIM_DMA_OK);
    ck_assert_mem_eq(ram + 4 * PG + 0x800, out, PG / 2);
    ck_assert_mem_eq(ram + 9 * PG, out + PG / 2, PG / 2);
    ck_assert(all_bytes(ram + 9 * PG + PG / 2, PG / 2, 0xA5));
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x100800, in, sizeof in, CTX), SIM_DMA_OK);
    ck_assert_mem_eq(in, out, sizeof in);
}
END_TEST

START_TEST(mapping_covers_whole_pages)
{
    /* Mapping 16 bytes maps their page: the rest of the page is reachable too. */
    ck_assert_int_eq(sim_iommu_map(mmu, 0x7010, 5 * PG + 0x10, 16, HBA_DMA_FROM_DEVICE), 0);
    uint8_t b = 0x42;
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x7FFF, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_uint_eq(ram[6 * PG - 1], 0x42);
}
END_TEST

START_TEST(zero_length_access_never_faults)
{
    uint8_t b = 0;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0xdead000, &b, 0, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, UINT64_MAX, &b, 0, CTX), SIM_DMA_OK);
    ck_assert_uint_eq(fault_total(), 0);
}
END_TEST

/* --- fault reasons ------------------------------------------------------------ */

START_TEST(read_of_unmapped_iova_faults_unmapped)
{
    uint8_t buf[100];
    memset(buf, 0x11, sizeof buf);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x5000123, buf, sizeof buf, CTX), SIM_DMA_ABORTED);
    ck_assert(all_bytes(buf, sizeof buf, 0x11));
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.iova, 0x5000123);
    ck_assert_uint_eq(f.length, 100);
    ck_assert_uint_eq(f.seq, 0);
    ck_assert_uint_eq(f.cid, 0x1234);
    ck_assert_uint_eq(f.sq_id, 3);
    ck_assert_uint_eq(f.dir, HBA_DMA_TO_DEVICE);
    ck_assert_uint_eq(f.reason, HBA_IOMMU_UNMAPPED);
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_ABORT);
}
END_TEST

START_TEST(write_to_to_device_mapping_faults_read_only)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x3000, PG, PG, HBA_DMA_TO_DEVICE), 0);
    uint8_t six[6] = { 0, 0, 5, 2, 0x1F, 0 };
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x3000, six, sizeof six, CTX), SIM_DMA_ABORTED);
    ck_assert(all_bytes(ram + PG, PG, 0xA5));
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.reason, HBA_IOMMU_READ_ONLY);
    ck_assert_uint_eq(f.dir, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_eq(f.iova, 0x3000);
    ck_assert_uint_eq(f.length, 6);
    /* Reading a to-device mapping is what it is for. */
    uint8_t in[6];
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x3000, in, sizeof in, CTX), SIM_DMA_OK);
}
END_TEST

START_TEST(read_of_from_device_mapping_faults_write_only)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x3000, PG, PG, HBA_DMA_FROM_DEVICE), 0);
    uint8_t in[8];
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x3008, in, sizeof in, CTX), SIM_DMA_ABORTED);
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.reason, HBA_IOMMU_WRITE_ONLY);
    ck_assert_uint_eq(f.dir, HBA_DMA_TO_DEVICE);
    ck_assert_uint_eq(f.iova, 0x3008);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x3008, in, sizeof in, CTX), SIM_DMA_OK);
}
END_TEST

START_TEST(translation_past_ram_end_faults_beyond_ram)
{
    /* RAM of 3 pages + 100 bytes: the last page is only partly RAM. */
    struct sim_iommu *m;
    uint64_t size = 3 * PG + 100;
    ck_assert_int_eq(sim_iommu_create(ram, size, HBA_IOMMU_POLICY_ABORT, &m), 0);
    ck_assert_int_eq(sim_iommu_map(m, 0x9000, 3 * PG, 100, HBA_DMA_BIDIRECTIONAL), 0);
    uint8_t buf[200] = { 0 };
    ck_assert_int_eq(sim_iommu_dma_write(m, 0x9000, buf, 100, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_write(m, 0x9000, buf, 101, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(sim_iommu_dma_read(m, 0x9000 + 200, buf, 1, CTX), SIM_DMA_ABORTED);
    struct hba_iommu_fault f[2];
    struct hba_log_header h;
    ck_assert_uint_eq(sim_iommu_fault_log(m, 0, f, 2, &h), 2);
    ck_assert_uint_eq(f[0].reason, HBA_IOMMU_BEYOND_RAM);
    ck_assert_uint_eq(f[0].length, 101);
    ck_assert_uint_eq(f[1].reason, HBA_IOMMU_BEYOND_RAM);
    ck_assert_uint_eq(f[1].iova, 0x9000 + 200);
    sim_iommu_destroy(m);
}
END_TEST

START_TEST(access_wrapping_iova_space_faults)
{
    /* The top page is mapped, but the access runs past 2^64. */
    ck_assert_int_eq(sim_iommu_map(mmu, UINT64_MAX - PG + 1, 0, PG, HBA_DMA_BIDIRECTIONAL), 0);
    uint8_t buf[32];
    memset(buf, 0x11, sizeof buf);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, UINT64_MAX - 15, buf, 16, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, UINT64_MAX - 15, buf, 32, CTX), SIM_DMA_ABORTED);
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.reason, HBA_IOMMU_UNMAPPED);
    ck_assert_uint_eq(f.iova, UINT64_MAX - 15);
    ck_assert_uint_eq(f.length, 32);
    sim_iommu_set_policy(mmu, HBA_IOMMU_POLICY_DROP);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, UINT64_MAX - 15, buf, 32, CTX), SIM_DMA_DROPPED);
    ck_assert(all_bytes(buf, 32, 0xFF));
    ck_assert(all_bytes(ram, PG, 0xA5));
    ck_assert_int_eq(sim_iommu_dma_write(mmu, UINT64_MAX - 15, buf, 32, CTX), SIM_DMA_DROPPED);
    ck_assert(all_bytes(ram, PG, 0xA5));
}
END_TEST

/* --- policies ----------------------------------------------------------------- */

/* IOVA pages 0x200 and 0x202 mapped (RAM pages 1 and 3), 0x201 is a hole. */
static void map_with_hole(void)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x200000, 1 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x202000, 3 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
}

START_TEST(abort_copies_nothing_past_the_fault)
{
    map_with_hole();
    static uint8_t out[3 * PG], in[3 * PG];
    fill_pattern(out, sizeof out, 3);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x200000, out, sizeof out, CTX), SIM_DMA_ABORTED);
    ck_assert_mem_eq(ram + PG, out, PG);
    ck_assert(all_bytes(ram + 2 * PG, RAM_SIZE - 2 * PG, 0xA5));
    ck_assert(all_bytes(ram, PG, 0xA5));
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.iova, 0x201000);
    ck_assert_uint_eq(f.length, 3 * PG);
    ck_assert_uint_eq(f.reason, HBA_IOMMU_UNMAPPED);

    memset(in, 0x11, sizeof in);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x200000, in, sizeof in, CTX), SIM_DMA_ABORTED);
    ck_assert_mem_eq(in, out, PG);
    ck_assert(all_bytes(in + PG, 2 * PG, 0x11));
    ck_assert_uint_eq(fault_total(), 2);
}
END_TEST

START_TEST(drop_discards_writes_and_reads_all_ones)
{
    sim_iommu_set_policy(mmu, HBA_IOMMU_POLICY_DROP);
    map_with_hole();
    static uint8_t out[3 * PG], in[3 * PG];
    fill_pattern(out, sizeof out, 5);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x200000, out, sizeof out, CTX), SIM_DMA_DROPPED);
    ck_assert_mem_eq(ram + PG, out, PG);
    ck_assert(all_bytes(ram + 2 * PG, PG, 0xA5));
    ck_assert_mem_eq(ram + 3 * PG, out + 2 * PG, PG);
    ck_assert(all_bytes(ram, PG, 0xA5));
    ck_assert(all_bytes(ram + 4 * PG, RAM_SIZE - 4 * PG, 0xA5));

    memset(in, 0x11, sizeof in);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x200000, in, sizeof in, CTX), SIM_DMA_DROPPED);
    ck_assert_mem_eq(in, out, PG);
    ck_assert(all_bytes(in + PG, PG, 0xFF));
    ck_assert_mem_eq(in + 2 * PG, out + 2 * PG, PG);
    /* One log entry per access, naming the first faulting byte. */
    ck_assert_uint_eq(fault_total(), 2);
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_DROP);
    ck_assert_uint_eq(f.iova, 0x201000);
}
END_TEST

START_TEST(drop_on_read_only_buffer_leaves_ram_untouched)
{
    /* Field bug F2: INQUIRY data DMA'd into a buffer mapped device-read-only. */
    sim_iommu_set_policy(mmu, HBA_IOMMU_POLICY_DROP);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x40000, 7 * PG, 36, HBA_DMA_TO_DEVICE), 0);
    uint8_t inquiry[36];
    fill_pattern(inquiry, sizeof inquiry, 0);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x40000, inquiry, 6, CTX), SIM_DMA_DROPPED);
    ck_assert(all_bytes(ram, RAM_SIZE, 0xA5));
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.reason, HBA_IOMMU_READ_ONLY);
    ck_assert_uint_eq(f.iova, 0x40000);
    ck_assert_uint_eq(f.length, 6);
}
END_TEST

START_TEST(fatal_stops_at_the_fault)
{
    sim_iommu_set_policy(mmu, HBA_IOMMU_POLICY_FATAL);
    map_with_hole();
    static uint8_t out[3 * PG];
    fill_pattern(out, sizeof out, 8);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x200000, out, sizeof out, CTX), SIM_DMA_FATAL);
    ck_assert_mem_eq(ram + PG, out, PG);
    ck_assert(all_bytes(ram + 2 * PG, RAM_SIZE - 2 * PG, 0xA5));
    struct hba_iommu_fault f = last_fault();
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_FATAL);
    ck_assert_uint_eq(f.dir, HBA_DMA_FROM_DEVICE);
    uint8_t in[8];
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x201000, in, sizeof in, CTX), SIM_DMA_FATAL);
}
END_TEST

/* --- fault log ------------------------------------------------------------------ */

START_TEST(fault_log_keeps_the_newest_entries)
{
    uint8_t b;
    for (uint32_t i = 0; i < 300; i++) {
        struct sim_dma_ctx ctx = { .cid = (uint16_t)i, .sq_id = 1 };
        ck_assert_int_eq(sim_iommu_dma_read(mmu, (uint64_t)i << 12, &b, 1, ctx), SIM_DMA_ABORTED);
    }
    static struct hba_iommu_fault f[400];
    struct hba_log_header h;
    size_t n = sim_iommu_fault_log(mmu, 0, f, 400, &h);
    ck_assert_uint_eq(n, HBA_FAULT_LOG_DEPTH);
    ck_assert_uint_eq(h.total, 300);
    ck_assert_uint_eq(h.count, HBA_FAULT_LOG_DEPTH);
    ck_assert_uint_eq(h.first, 300 - HBA_FAULT_LOG_DEPTH);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(f[i].seq, h.first + i);
        ck_assert_uint_eq(f[i].cid, h.first + i);
        ck_assert_uint_eq(f[i].iova, (uint64_t)(h.first + i) << 12);
    }
    /* Reading on from a sequence number, bounded by max. */
    n = sim_iommu_fault_log(mmu, 290, f, 4, &h);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(h.first, 290);
    ck_assert_uint_eq(h.count, 4);
    ck_assert_uint_eq(f[0].seq, 290);
    ck_assert_uint_eq(f[3].seq, 293);
    n = sim_iommu_fault_log(mmu, 295, f, 400, &h);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(f[4].seq, 299);
    /* Past the end: nothing, and first says where the next entry will be. */
    n = sim_iommu_fault_log(mmu, 1000, f, 400, &h);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(h.first, 300);
    ck_assert_uint_eq(h.total, 300);
}
END_TEST

static void hook_reads_log(void *arg, const struct hba_iommu_fault *f)
{
    /* The hook runs outside the IOMMU's locks: calling back in must not deadlock. */
    struct hba_log_header h;
    sim_iommu_fault_log(mmu, 0, NULL, 0, &h);
    uint32_t *seen = arg;
    ck_assert_uint_eq(h.total, f->seq + 1);
    seen[0]++;
    seen[1] = f->reason;
}

START_TEST(fault_hook_sees_each_fault)
{
    uint32_t seen[2] = { 0, 0 };
    sim_iommu_set_fault_hook(mmu, hook_reads_log, seen);
    uint8_t b = 0;
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x1000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x2000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(seen[0], 2);
    ck_assert_uint_eq(seen[1], HBA_IOMMU_UNMAPPED);
    sim_iommu_set_fault_hook(mmu, NULL, NULL);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x2000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(seen[0], 2);
}
END_TEST

/* --- map / unmap ------------------------------------------------------------------ */

START_TEST(map_rejects_bad_arguments)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1000, 0, PG, (enum hba_dma_dir)0), -EINVAL);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1000, 0, PG, (enum hba_dma_dir)4), -EINVAL);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1000, 0, 0, HBA_DMA_TO_DEVICE), -EINVAL);
    /* IOVA range wraps. */
    ck_assert_int_eq(sim_iommu_map(mmu, UINT64_MAX - 10, PG - 11, 100, HBA_DMA_TO_DEVICE), -EINVAL);
    /* RAM range wraps / leaves RAM / starts past RAM. */
    ck_assert_int_eq(sim_iommu_map(mmu, 0xFFF, UINT64_MAX, 2, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1000, RAM_SIZE - PG, PG + 1, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1000, RAM_SIZE, 1, HBA_DMA_TO_DEVICE), -EINVAL);
    /* Page offsets differ. */
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1010, 0x20, 16, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 0);
    /* The very last RAM byte and the very last IOVA byte are fine. */
    ck_assert_int_eq(sim_iommu_map(mmu, UINT64_MAX, RAM_SIZE - 1, 1, HBA_DMA_TO_DEVICE), 0);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 1);
}
END_TEST

START_TEST(map_over_a_mapped_page_changes_nothing)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x13000, 3 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    /* Pages 0x10..0x13: the last one is taken. */
    ck_assert_int_eq(sim_iommu_map(mmu, 0x10000, 0, 4 * PG, HBA_DMA_BIDIRECTIONAL), -EEXIST);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 1);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x10000, &b, 1, CTX), SIM_DMA_ABORTED);
    /* The existing mapping kept its direction. */
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x13000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_READ_ONLY);
    /* A range that touches the page only at its last byte conflicts too. */
    ck_assert_int_eq(sim_iommu_map(mmu, 0x12FFF, PG - 1, 2, HBA_DMA_BIDIRECTIONAL), -EEXIST);
}
END_TEST

START_TEST(unmap_reports_pages_that_were_not_mapped)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x20000, 0, 2 * PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x30000, 0, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 3);
    /* Four pages asked, two mapped: both are gone, and the caller hears of it. */
    ck_assert_int_eq(sim_iommu_unmap(mmu, 0x20000, 4 * PG), -ENOENT);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 1);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x21000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x30000, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_unmap(mmu, 0x30000, 1), 0);
    ck_assert_int_eq(sim_iommu_unmap(mmu, 0x30000, 1), -ENOENT);
    ck_assert_int_eq(sim_iommu_unmap(mmu, 0x30000, 0), -EINVAL);
    ck_assert_int_eq(sim_iommu_unmap(mmu, UINT64_MAX, 2), -EINVAL);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 0);
}
END_TEST

START_TEST(unmap_of_a_huge_range_keeps_pages_outside_it)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x1000, 0, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x7000000000000000ull, PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_map(mmu, 0x8000000000000000ull, 2 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_map(mmu, UINT64_MAX - PG + 1, 3 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(sim_iommu_unmap(mmu, 0x1000, 0x8000000000000000ull - 0x1000), -ENOENT);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 2);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x8000000000000000ull, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, UINT64_MAX, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x7000000000000000ull, &b, 1, CTX), SIM_DMA_ABORTED);
    sim_iommu_unmap_all(mmu);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 0);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, UINT64_MAX, &b, 1, CTX), SIM_DMA_ABORTED);
}
END_TEST

START_TEST(many_mappings_survive_growth_and_removal)
{
    /* Each RAM page holds its own number; IOVA page i maps RAM page i % 16. */
    for (unsigned p = 0; p < RAM_PAGES; p++)
        memset(ram + p * PG, (int)p, PG);
    enum { N = 5000 };
    for (uint64_t i = 0; i < N; i++) {
        uint64_t iova = (i * 37 + 5) << 12; /* scattered page numbers */
        ck_assert_int_eq(sim_iommu_map(mmu, iova, (i % RAM_PAGES) * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    }
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), N);
    for (uint64_t i = 0; i < N; i += 2)
        ck_assert_int_eq(sim_iommu_unmap(mmu, (i * 37 + 5) << 12, PG), 0);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), N / 2);
    for (uint64_t i = 0; i < N; i++) {
        uint8_t b = 0xEE;
        enum sim_dma_result r = sim_iommu_dma_read(mmu, ((i * 37 + 5) << 12) + 17, &b, 1, CTX);
        if (i % 2) {
            ck_assert_int_eq(r, SIM_DMA_OK);
            ck_assert_uint_eq(b, i % RAM_PAGES);
        } else {
            ck_assert_int_eq(r, SIM_DMA_ABORTED);
        }
    }
}
END_TEST

/* --- concurrency ------------------------------------------------------------------- */

struct churn {
    atomic_bool stop;
    atomic_uint cycles;
    int errors;
};

static void *map_unmap_churn(void *arg)
{
    struct churn *c = arg;
    for (unsigned i = 0; i < 20000 && !atomic_load(&c->stop); i++) {
        uint64_t iova = 0x900000 + (uint64_t)(i % 8) * PG;
        if (sim_iommu_map(mmu, iova, (8 + i % 8) * PG, PG, HBA_DMA_BIDIRECTIONAL) != 0)
            c->errors++;
        if (sim_iommu_unmap(mmu, iova, PG) != 0)
            c->errors++;
        atomic_fetch_add(&c->cycles, 1);
    }
    return NULL;
}

START_TEST(dma_runs_while_other_pages_are_mapped_and_unmapped)
{
    ck_assert_int_eq(sim_iommu_map(mmu, 0x100000, 0, 4 * PG, HBA_DMA_BIDIRECTIONAL), 0);
    struct churn c = { .errors = 0 };
    atomic_init(&c.stop, false);
    atomic_init(&c.cycles, 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, map_unmap_churn, &c), 0);
    static uint8_t out[4 * PG], in[4 * PG];
    int bad = 0;
    /* Keep DMA going until the churn thread has really run alongside it: on a
     * loaded machine it may not be scheduled before 2000 rounds are done.  The
     * churn stops by itself after 20000 cycles, so this ends. */
    for (unsigned i = 0; i < 2000 || atomic_load(&c.cycles) < 200; i++) {
        fill_pattern(out, sizeof out, i);
        bad += sim_iommu_dma_write(mmu, 0x100000, out, sizeof out, CTX) != SIM_DMA_OK;
        bad += sim_iommu_dma_read(mmu, 0x100000, in, sizeof in, CTX) != SIM_DMA_OK;
        bad += memcmp(in, out, sizeof in) != 0;
    }
    atomic_store(&c.stop, true);
    pthread_join(t, NULL);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(c.errors, 0);
    ck_assert_uint_ge(atomic_load(&c.cycles), 200);
    ck_assert_uint_eq(sim_iommu_mapped_pages(mmu), 4);
    ck_assert_uint_eq(fault_total(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iommu");
    TCase *tc = tcase_create("iommu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_rejects_bad_arguments);
    tcase_add_test(tc, round_trip_across_a_page_boundary);
    tcase_add_test(tc, round_trip_across_two_mappings);
    tcase_add_test(tc, mapping_covers_whole_pages);
    tcase_add_test(tc, zero_length_access_never_faults);
    tcase_add_test(tc, read_of_unmapped_iova_faults_unmapped);
    tcase_add_test(tc, write_to_to_device_mapping_faults_read_only);
    tcase_add_test(tc, read_of_from_device_mapping_faults_write_only);
    tcase_add_test(tc, translation_past_ram_end_faults_beyond_ram);
    tcase_add_test(tc, access_wrapping_iova_space_faults);
    tcase_add_test(tc, abort_copies_nothing_past_the_fault);
    tcase_add_test(tc, drop_discards_writes_and_reads_all_ones);
    tcase_add_test(tc, drop_on_read_only_buffer_leaves_ram_untouched);
    tcase_add_test(tc, fatal_stops_at_the_fault);
    tcase_add_test(tc, fault_log_keeps_the_newest_entries);
    tcase_add_test(tc, fault_hook_sees_each_fault);
    tcase_add_test(tc, map_rejects_bad_arguments);
    tcase_add_test(tc, map_over_a_mapped_page_changes_nothing);
    tcase_add_test(tc, unmap_reports_pages_that_were_not_mapped);
    tcase_add_test(tc, unmap_of_a_huge_range_keeps_pages_outside_it);
    tcase_add_test(tc, many_mappings_survive_growth_and_removal);
    tcase_add_test(tc, dma_runs_while_other_pages_are_mapped_and_unmapped);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
