/* tests/test_iommu.c — the emulated IOMMU (sim/iommu) programmed the way the
 * platform programs it (platform/iommu_pt.h: tables and invalidation queue in
 * host RAM): translation, direction, faults, policies, the fault log,
 * map/unmap rules, the table format of the datasheet, the IOTLB, the
 * invalidation queue and its errors, malformed entries, and concurrent use. */
#include "tests/support/iommu_one.h"
#include "tests/support/proc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "base/clock.h"
#include "platform/iommu_pt.h"
#include "sim/iommu/iommu.h"

#define RAM_PAGES 16u         /* the low pages the tests put data in */
#define AREA_BASE (RAM_SIZE - RAM_SIZE / 8) /* the IOMMU's area (iommu_pt_area_base) above */

static const struct sim_dma_ctx CTX = { .cid = 0x1234, .sq_id = 3 };

static uint64_t mapped(void)
{
    struct iommu_pt_stats st;
    iommu_pt_stats(pt, &st);
    return st.mapped_pages;
}

/* A register the IOMMU's threads write, read as the OS reads it. */
static uint32_t reg_ld(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
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
    ck_assert_int_eq(iommu_pt_map(pt, iova, ram_addr, 0x300, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_uint_eq(mapped(), 2);
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
    ck_assert_int_eq(iommu_pt_map(pt, 0x100000, 4 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x101000, 9 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
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

START_TEST(a_write_window_is_the_ram_of_one_contiguous_writable_run)
{
    /* Three IOVA pages on three consecutive RAM pages: one window. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x200000, 4 * PG, 3 * PG, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_ptr_eq(sim_iommu_write_window(mmu, 0x200100, 3 * PG - 0x100), ram + 4 * PG + 0x100);
    /* Past the mapping, zero length, or wrapping the IOVA space: none. */
    ck_assert_ptr_null(sim_iommu_write_window(mmu, 0x200100, 3 * PG));
    ck_assert_ptr_null(sim_iommu_write_window(mmu, 0x200000, 0));
    ck_assert_ptr_null(sim_iommu_write_window(mmu, UINT64_MAX - 0x10, 0x20));
    /* Adjacent IOVA pages on RAM pages apart: the copy must scatter, no window. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x100000, 4 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x101000, 9 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_ptr_nonnull(sim_iommu_write_window(mmu, 0x100000, PG));
    ck_assert_ptr_null(sim_iommu_write_window(mmu, 0x100800, PG));
    /* A buffer the device may only read: no window. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x300000, 12 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_ptr_null(sim_iommu_write_window(mmu, 0x300000, 16));
    /* A declined window logs no fault: the copy that follows reports it. */
    ck_assert_uint_eq(fault_total(), 0);
}
END_TEST

START_TEST(mapping_covers_whole_pages)
{
    /* Mapping 16 bytes maps their page: the rest of the page is reachable too. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x7010, 5 * PG + 0x10, 16, HBA_DMA_FROM_DEVICE), 0);
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
    ck_assert_int_eq(iommu_pt_map(pt, 0x3000, PG, PG, HBA_DMA_TO_DEVICE), 0);
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
    ck_assert_int_eq(iommu_pt_map(pt, 0x3000, PG, PG, HBA_DMA_FROM_DEVICE), 0);
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
    /* A second IOMMU over the same tables, on a RAM that ends 100 bytes into
     * the page past RAM_SIZE (its register page is the same one: the last
     * whole page).  A leaf pointing at that page is only partly RAM. */
    struct sim_iommu *m;
    ck_assert_int_eq(sim_iommu_create(ram, RAM_SIZE + 100, HBA_IOMMU_POLICY_ABORT, &m), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x9000, 3 * PG, 100, HBA_DMA_BIDIRECTIONAL), 0);
    uint64_t *leaf = leaf_of(0x9000);
    ck_assert_ptr_nonnull(leaf);
    *leaf = (*leaf & ~HBA_IOMMU_PTE_ADDR) | RAM_SIZE; /* the platform never writes this: a test does */
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
    /* The IOMMU over RAM_SIZE sees the page wholly outside. */
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x9000, buf, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_BEYOND_RAM);
    sim_iommu_destroy(m);
}
END_TEST

START_TEST(access_wrapping_iova_space_faults)
{
    /* The top page is mapped, but the access runs past 2^64. */
    ck_assert_int_eq(iommu_pt_map(pt, UINT64_MAX - PG + 1, 0, PG, HBA_DMA_BIDIRECTIONAL), 0);
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
    ck_assert_int_eq(iommu_pt_map(pt, 0x200000, 1 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x202000, 3 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
}

START_TEST(abort_copies_nothing_past_the_fault)
{
    map_with_hole();
    static uint8_t out[3 * PG], in[3 * PG];
    fill_pattern(out, sizeof out, 3);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x200000, out, sizeof out, CTX), SIM_DMA_ABORTED);
    ck_assert_mem_eq(ram + PG, out, PG);
    ck_assert(all_bytes(ram + 2 * PG, AREA_BASE - 2 * PG, 0xA5));
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
    ck_assert(all_bytes(ram + 4 * PG, AREA_BASE - 4 * PG, 0xA5));

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
    ck_assert_int_eq(iommu_pt_map(pt, 0x40000, 7 * PG, 36, HBA_DMA_TO_DEVICE), 0);
    uint8_t inquiry[36];
    fill_pattern(inquiry, sizeof inquiry, 0);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x40000, inquiry, 6, CTX), SIM_DMA_DROPPED);
    ck_assert(all_bytes(ram, AREA_BASE, 0xA5));
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
    ck_assert(all_bytes(ram + 2 * PG, AREA_BASE - 2 * PG, 0xA5));
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
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, 0, PG, (enum hba_dma_dir)0), -EINVAL);
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, 0, PG, (enum hba_dma_dir)4), -EINVAL);
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, 0, 0, HBA_DMA_TO_DEVICE), -EINVAL);
    /* IOVA range wraps. */
    ck_assert_int_eq(iommu_pt_map(pt, UINT64_MAX - 10, PG - 11, 100, HBA_DMA_TO_DEVICE), -EINVAL);
    /* RAM range wraps / runs into the IOMMU's area / starts in it / past RAM. */
    uint64_t area = iommu_pt_area_base(pt);
    ck_assert_uint_eq(area, AREA_BASE); /* 1/8 of RAM */
    ck_assert_int_eq(iommu_pt_map(pt, 0xFFF, UINT64_MAX, 2, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, area - PG, PG + 1, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, area, 1, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, RAM_SIZE, 1, HBA_DMA_TO_DEVICE), -EINVAL);
    /* Page offsets differ. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x1010, 0x20, 16, HBA_DMA_TO_DEVICE), -EINVAL);
    ck_assert_uint_eq(mapped(), 0);
    /* The very last DMA RAM byte and the very last IOVA byte are fine. */
    ck_assert_int_eq(iommu_pt_map(pt, UINT64_MAX, area - 1, 1, HBA_DMA_TO_DEVICE), 0);
    ck_assert_uint_eq(mapped(), 1);
}
END_TEST

START_TEST(map_over_a_mapped_page_changes_nothing)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x13000, 3 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    /* Pages 0x10..0x13: the last one is taken. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x10000, 0, 4 * PG, HBA_DMA_BIDIRECTIONAL), -EEXIST);
    ck_assert_uint_eq(mapped(), 1);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x10000, &b, 1, CTX), SIM_DMA_ABORTED);
    /* The existing mapping kept its direction. */
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x13000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_READ_ONLY);
    /* A range that touches the page only at its last byte conflicts too. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x12FFF, PG - 1, 2, HBA_DMA_BIDIRECTIONAL), -EEXIST);
}
END_TEST

/* A map walks to each leaf table once for the pages it holds (512 pages, 2
 * MiB of IOVA): a range across leaf tables, one of them missing, is checked
 * and written page by page all the same. */
START_TEST(a_map_across_leaf_tables_is_checked_and_written_whole)
{
    const uint64_t leaf = 512 * PG, base = 7 * leaf, start = base + leaf - 4 * PG;
    /* taken: the second page of the third leaf table */
    ck_assert_int_eq(iommu_pt_map(pt, base + 2 * leaf + PG, PG, PG, HBA_DMA_TO_DEVICE), 0);
    /* from the end of the first (no table yet) into the third: refused, nothing written */
    ck_assert_int_eq(iommu_pt_map(pt, start, 0, leaf + 8 * PG, HBA_DMA_BIDIRECTIONAL), -EEXIST);
    ck_assert_uint_eq(mapped(), 1);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, start, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, base + leaf + PG, &b, 1, CTX), SIM_DMA_ABORTED);
    /* up to the taken page: every page of the range mapped, to its own RAM page */
    const uint64_t len = leaf + 5 * PG;
    ck_assert_int_eq(iommu_pt_map(pt, start, 0, len, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_uint_eq(mapped(), 1 + len / PG);
    for (uint64_t off = 0; off < len; off += PG) {
        uint64_t word = off;
        ck_assert_int_eq(sim_iommu_dma_write(mmu, start + off, &word, sizeof word, CTX), SIM_DMA_OK);
        ck_assert_mem_eq(ram + off, &word, sizeof word);
    }
    ck_assert_int_eq(iommu_pt_unmap(pt, base, 3 * leaf), -ENOENT); /* the pages before start were not mapped */
    ck_assert_uint_eq(mapped(), 0);
}
END_TEST

START_TEST(unmap_reports_pages_that_were_not_mapped)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x20000, 0, 2 * PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x30000, 0, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_uint_eq(mapped(), 3);
    /* Four pages asked, two mapped: both are gone, and the caller hears of it. */
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x20000, 4 * PG), -ENOENT);
    ck_assert_uint_eq(mapped(), 1);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x21000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x30000, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x30000, 1), 0);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x30000, 1), -ENOENT);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x30000, 0), -EINVAL);
    ck_assert_int_eq(iommu_pt_unmap(pt, UINT64_MAX, 2), -EINVAL);
    ck_assert_uint_eq(mapped(), 0);
}
END_TEST

START_TEST(unmap_of_a_huge_range_keeps_pages_outside_it)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x1000, 0, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x7000000000000000ull, PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x8000000000000000ull, 2 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_map(pt, UINT64_MAX - PG + 1, 3 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x1000, 0x8000000000000000ull - 0x1000), -ENOENT);
    ck_assert_uint_eq(mapped(), 2);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x8000000000000000ull, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, UINT64_MAX, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x7000000000000000ull, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0, UINT64_MAX), -ENOENT); /* everything */
    ck_assert_uint_eq(mapped(), 0);
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
        uint64_t iova = (i * 7 + 5) << 12; /* scattered page numbers */
        ck_assert_int_eq(iommu_pt_map(pt, iova, (i % RAM_PAGES) * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    }
    ck_assert_uint_eq(mapped(), N);
    for (uint64_t i = 0; i < N; i += 2)
        ck_assert_int_eq(iommu_pt_unmap(pt, (i * 7 + 5) << 12, PG), 0);
    ck_assert_uint_eq(mapped(), N / 2);
    for (uint64_t i = 0; i < N; i++) {
        uint8_t b = 0xEE;
        enum sim_dma_result r = sim_iommu_dma_read(mmu, ((i * 7 + 5) << 12) + 17, &b, 1, CTX);
        if (i % 2) {
            ck_assert_int_eq(r, SIM_DMA_OK);
            ck_assert_uint_eq(b, i % RAM_PAGES);
        } else {
            ck_assert_int_eq(r, SIM_DMA_ABORTED);
        }
    }
}
END_TEST

START_TEST(a_map_out_of_table_pages_leaves_the_queue_working)
{
    /* Each mapping 2^39 apart needs tables of its own down to the leaf, so
     * the pool runs dry; the map that finds it dry at its first page has
     * written nothing and must queue nothing either (an invalidation of 0
     * pages is a malformed descriptor that would stop the queue). */
    uint64_t n = 0;
    int rc;
    while ((rc = iommu_pt_map(pt, (n + 1) << 39, 0, PG, HBA_DMA_TO_DEVICE)) == 0)
        n++;
    ck_assert_int_eq(rc, -ENOMEM);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(reg_ld(&regs()->iq_error), 0);
    ck_assert_int_eq(iommu_pt_unmap(pt, 1ull << 39, PG), 0);
    ck_assert_uint_eq(reg_ld(&regs()->iq_error), 0);
    ck_assert_uint_eq(mapped(), n - 1);
}
END_TEST

/* --- tables in host RAM, IOTLB, invalidation queue ------------------------------------ */

START_TEST(tables_have_the_datasheet_format)
{
    /* A 64-bit IOVA (F5/F7 use them) and a low one, each through six levels. */
    ck_assert_int_eq(iommu_pt_map(pt, 0xFEDC000012345000ull, 5 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x3000, 6 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_uint_eq(regs()->root & HBA_IOMMU_ROOT_EN, HBA_IOMMU_ROOT_EN);
    uint64_t *a = leaf_of(0xFEDC000012345000ull), *b = leaf_of(0x3000);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(*a, 5 * PG | HBA_IOMMU_PTE_P | HBA_IOMMU_PTE_W);
    ck_assert_uint_eq(*b, 6 * PG | HBA_IOMMU_PTE_P | HBA_IOMMU_PTE_R | HBA_IOMMU_PTE_W);
    struct iommu_pt_stats st;
    iommu_pt_stats(pt, &st);
    ck_assert_uint_eq(st.table_pages, 1 + 5 + 5); /* a root, two separate paths below it */
    /* Unmapping gives the emptied tables back. */
    ck_assert_int_eq(iommu_pt_unmap(pt, 0xFEDC000012345000ull, PG), 0);
    ck_assert_ptr_null(leaf_of(0xFEDC000012345000ull));
    iommu_pt_stats(pt, &st);
    ck_assert_uint_eq(st.table_pages, 1 + 5);
}
END_TEST

START_TEST(iotlb_misses_once_then_hits)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x40000, 2 * PG, 2 * PG, HBA_DMA_BIDIRECTIONAL), 0);
    uint8_t b[8];
    struct sim_iommu_stats s0 = mmu_stats();
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x40000, b, sizeof b, CTX), SIM_DMA_OK);
    struct sim_iommu_stats s1 = mmu_stats();
    ck_assert_uint_eq(s1.misses, s0.misses + 1);
    ck_assert_uint_eq(s1.hits, s0.hits);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x40000 + 64 * (uint64_t)i, b, sizeof b, CTX), SIM_DMA_OK);
    struct sim_iommu_stats s2 = mmu_stats();
    ck_assert_uint_eq(s2.misses, s1.misses);
    ck_assert_uint_eq(s2.hits, s1.hits + 5);
    /* An access over two pages: the second page is a miss of its own. */
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x41000 - 4, b, sizeof b, CTX), SIM_DMA_OK);
    struct sim_iommu_stats s3 = mmu_stats();
    ck_assert_uint_eq(s3.misses, s2.misses + 1);
    ck_assert_uint_eq(s3.hits, s2.hits + 1);
    /* Faults are never cached: mapping the page later needs no invalidation. */
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x50000, b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_int_eq(iommu_pt_map(pt, 0x50000, 3 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x50000, b, 1, CTX), SIM_DMA_OK);
    ck_assert_uint_eq(mmu_stats().walks_faulted, s3.walks_faulted + 1);
}
END_TEST

/* IOVA 0x60000 mapped to RAM page 4 and used (cached), unmapped, then mapped
 * to RAM page 7: where does the device's next write land? */
static void remap_and_write(void)
{
    memset(ram + 4 * PG, 0, PG);
    memset(ram + 7 * PG, 0, PG);
    uint8_t b = 0x11;
    ck_assert_int_eq(iommu_pt_map(pt, 0x60000, 4 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x60000, &b, 1, CTX), SIM_DMA_OK);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x60000, PG), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x60000, 7 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    b = 0x22;
    ck_assert_int_eq(sim_iommu_dma_write(mmu, 0x60000, &b, 1, CTX), SIM_DMA_OK);
}

START_TEST(unmap_invalidates_and_waits)
{
    struct sim_iommu_stats s0 = mmu_stats();
    remap_and_write();
    ck_assert_uint_eq(ram[7 * PG], 0x22); /* the new translation */
    ck_assert_uint_eq(ram[4 * PG], 0x11); /* the freed page untouched after the unmap */
    struct sim_iommu_stats s1 = mmu_stats();
    ck_assert_uint_eq(s1.inv_waits, s0.inv_waits + 1);
    ck_assert_uint_eq(s1.inv_descs, s0.inv_descs + 2); /* INV_PAGES, INV_WAIT */
    /* The queue's thread writes these: read them as the OS does. */
    ck_assert_uint_eq(reg_ld(&regs()->iq_head), reg_ld(&regs()->iq_tail));
    ck_assert_uint_eq(reg_ld(&regs()->iq_error), 0);
}
END_TEST

static void ring_here(void *m)
{
    sim_iommu_doorbell(m);
}

START_TEST(a_synchronous_doorbell_invalidates_on_the_callers_thread)
{
    /* What the in-process stack does: no hand-over to the queue thread. */
    iommu_pt_set_doorbell(pt, ring_here, mmu);
    struct sim_iommu_stats s0 = mmu_stats();
    remap_and_write();
    ck_assert_uint_eq(ram[7 * PG], 0x22);
    ck_assert_uint_eq(ram[4 * PG], 0x11);
    ck_assert_uint_eq(mmu_stats().inv_waits, s0.inv_waits + 1);
}
END_TEST

START_TEST(without_invalidation_a_stale_entry_writes_the_freed_page)
{
    /* The platform mutant NOINV: the table is right, the IOTLB is not. */
    iommu_pt_set_skip_invalidate(pt, true);
    remap_and_write();
    ck_assert_uint_eq(ram[4 * PG], 0x22); /* DMA landed in the freed page */
    ck_assert_uint_eq(ram[7 * PG], 0x00);
    ck_assert_uint_eq(*leaf_of(0x60000) & HBA_IOMMU_PTE_ADDR, 7 * PG);
}
END_TEST

START_TEST(a_stale_iotlb_entry_gives_a_stale_window)
{
    /* As for the copy (NOINV): the window is the IOTLB's translation. */
    iommu_pt_set_skip_invalidate(pt, true);
    remap_and_write();
    ck_assert_ptr_eq(sim_iommu_write_window(mmu, 0x60000, 16), ram + 4 * PG);
}
END_TEST

/* The controller's cached paths (sim_iommu_dma_read_cached for SQ entries,
 * sim_iommu_dma_post_cached for completions): only the IOTLB answers them,
 * so an invalidation reaches them as it reaches a copy. */
static const struct sim_dma_ctx QCTX = { .cid = 0xFFFF, .sq_id = 1 };

START_TEST(the_cached_paths_answer_only_from_the_iotlb)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x80000, 2 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    fill_pattern(ram + 2 * PG, 128, 3);
    uint8_t b[128], want[128];
    memcpy(want, ram + 2 * PG, sizeof want);
    /* Cold: no walk, nothing read, nothing counted or logged. */
    struct sim_iommu_stats s0 = mmu_stats();
    uint32_t f0 = fault_total();
    memset(b, 0, sizeof b);
    ck_assert(!sim_iommu_dma_read_cached(mmu, 0x80000, b, sizeof b, QCTX));
    ck_assert(all_bytes(b, sizeof b, 0));
    ck_assert_uint_eq(mmu_stats().misses, s0.misses);
    ck_assert_uint_eq(mmu_stats().hits, s0.hits);
    /* Cached by an ordinary access: one lookup for the whole read. */
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x80000, b, 1, QCTX), SIM_DMA_OK);
    struct sim_iommu_stats s1 = mmu_stats();
    ck_assert(sim_iommu_dma_read_cached(mmu, 0x80000, b, sizeof b, QCTX));
    ck_assert_mem_eq(b, want, sizeof b);
    ck_assert_uint_eq(mmu_stats().hits, s1.hits + 1);
    /* Not across a page, not zero bytes. */
    ck_assert(!sim_iommu_dma_read_cached(mmu, 0x81000 - 64, b, 128, QCTX));
    ck_assert(!sim_iommu_dma_read_cached(mmu, 0x80000, b, 0, QCTX));
    /* Unmapped and invalidated: the cached path no longer reads it. */
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x80000, PG), 0);
    ck_assert(!sim_iommu_dma_read_cached(mmu, 0x80000, b, sizeof b, QCTX));
    ck_assert_uint_eq(fault_total(), f0);
}
END_TEST

static bool fault_every_access(void *arg, struct sim_dma_ctx ctx)
{
    (void)arg;
    (void)ctx;
    return true;
}

START_TEST(a_command_access_with_an_access_hook_is_never_cached)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x80000, 2 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    uint8_t b[16] = { 0 };
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x80000, b, 1, QCTX), SIM_DMA_OK);
    ck_assert(sim_iommu_dma_read_cached(mmu, 0x80000, b, sizeof b, CTX));
    sim_iommu_set_access_hook(mmu, fault_every_access, NULL);
    ck_assert(!sim_iommu_dma_read_cached(mmu, 0x80000, b, sizeof b, CTX));
    ck_assert(!sim_iommu_dma_post_cached(mmu, 0x80000, b, 1, sizeof b, 4, CTX));
    /* The controller's own accesses never ask the hook. */
    ck_assert(sim_iommu_dma_read_cached(mmu, 0x80000, b, sizeof b, QCTX));
    sim_iommu_set_access_hook(mmu, NULL, NULL);
}
END_TEST

START_TEST(posted_entries_land_whole_and_only_through_the_iotlb)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x90000, 5 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    memset(ram + 5 * PG, 0, PG);
    uint8_t e[3][16];
    for (int i = 0; i < 3; i++)
        fill_pattern(e[i], 16, (unsigned)i + 1);
    /* Cold: nothing written (the caller writes them one by one then). */
    ck_assert(!sim_iommu_dma_post_cached(mmu, 0x90000 + 32, e, 3, 16, 4, QCTX));
    ck_assert(all_bytes(ram + 5 * PG, PG, 0));
    /* sim_iommu_dma_post walks on a miss, as two writes did. */
    ck_assert_int_eq(sim_iommu_dma_post(mmu, 0x90000, e[0], 16, 4, QCTX), SIM_DMA_OK);
    ck_assert_mem_eq(ram + 5 * PG, e[0], 16);
    struct sim_iommu_stats s0 = mmu_stats();
    ck_assert(sim_iommu_dma_post_cached(mmu, 0x90000 + 32, e, 3, 16, 4, QCTX));
    ck_assert_mem_eq(ram + 5 * PG + 32, e, sizeof e);
    ck_assert_uint_eq(mmu_stats().hits, s0.hits + 1);
    /* Not across a page, not an entry whose polled part is longer than it. */
    ck_assert(!sim_iommu_dma_post_cached(mmu, 0x91000 - 16, e, 2, 16, 4, QCTX));
    ck_assert(!sim_iommu_dma_post_cached(mmu, 0x90000, e, 1, 16, 17, QCTX));
    /* A read-only page: not written by the cached path; the general one faults. */
    ck_assert_int_eq(iommu_pt_map(pt, 0xA0000, 6 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    memset(ram + 6 * PG, 0, PG);
    uint8_t b;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0xA0000, &b, 1, QCTX), SIM_DMA_OK);
    ck_assert(!sim_iommu_dma_post_cached(mmu, 0xA0000, e, 1, 16, 4, QCTX));
    ck_assert(all_bytes(ram + 6 * PG, PG, 0));
    uint32_t f0 = fault_total();
    ck_assert_int_eq(sim_iommu_dma_post(mmu, 0xA0000, e[0], 16, 4, QCTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(fault_total(), f0 + 1);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_READ_ONLY);
    /* Unmapped, remapped elsewhere and invalidated: the next post goes to
     * the new page, never the freed one. */
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x90000, PG), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x90000, 7 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
    memset(ram + 5 * PG, 0, PG);
    memset(ram + 7 * PG, 0, PG);
    ck_assert(!sim_iommu_dma_post_cached(mmu, 0x90000, e, 1, 16, 4, QCTX));
    ck_assert_int_eq(sim_iommu_dma_post(mmu, 0x90000, e[1], 16, 4, QCTX), SIM_DMA_OK);
    ck_assert_mem_eq(ram + 7 * PG, e[1], 16);
    ck_assert(all_bytes(ram + 5 * PG, PG, 0));
}
END_TEST

START_TEST(a_post_under_drop_faults_as_two_writes)
{
    sim_iommu_set_policy(mmu, HBA_IOMMU_POLICY_DROP);
    uint8_t e[16] = { 1 };
    uint32_t f0 = fault_total();
    ck_assert_int_eq(sim_iommu_dma_post(mmu, 0xB0000, e, 16, 4, QCTX), SIM_DMA_DROPPED);
    ck_assert_uint_eq(fault_total(), f0 + 2); /* the entry's body, then its phase dword */
    ck_assert_uint_eq(last_fault().iova, 0xB0000 + 12);
    ck_assert_uint_eq(last_fault().length, 4);
}
END_TEST

START_TEST(malformed_entries_fault_bad_entry)
{
    uint8_t b = 0;
    ck_assert_int_eq(iommu_pt_map(pt, 0x70000, 1 * PG, 4 * PG, HBA_DMA_BIDIRECTIONAL), 0);
    uint64_t *leaf = leaf_of(0x70000);
    /* Reserved bits in a leaf. */
    leaf[0] |= 1u << 5;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x70000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_BAD_ENTRY);
    /* A present leaf that allows nothing. */
    leaf[1] &= ~(HBA_IOMMU_PTE_R | HBA_IOMMU_PTE_W);
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x71000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_BAD_ENTRY);
    /* A non-present leaf is plainly unmapped. */
    leaf[2] &= ~HBA_IOMMU_PTE_P;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x72000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_UNMAPPED);
    /* A table entry with access bits, then one pointing outside RAM. */
    uint64_t *root = (uint64_t *)(ram + (regs()->root & HBA_IOMMU_PTE_ADDR));
    uint64_t *top = &root[HBA_IOMMU_INDEX(0x70000, HBA_IOMMU_LEVELS)];
    uint64_t good = *top;
    *top = good | HBA_IOMMU_PTE_R;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x73000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_BAD_ENTRY);
    *top = (uint64_t)RAM_SIZE | HBA_IOMMU_PTE_P;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x73000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_BAD_ENTRY);
    *top = good;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x73000, &b, 1, CTX), SIM_DMA_OK);
    /* A root with stray low bits; then translation switched off. */
    uint64_t r = regs()->root;
    regs()->root = r | 0x10;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x74000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_BAD_ENTRY);
    regs()->root = r & ~HBA_IOMMU_ROOT_EN;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x74000, &b, 1, CTX), SIM_DMA_ABORTED);
    ck_assert_uint_eq(last_fault().reason, HBA_IOMMU_UNMAPPED);
    regs()->root = r;
    /* The DROP policy applies to them as to any fault (F2's behaviour). */
    sim_iommu_set_policy(mmu, HBA_IOMMU_POLICY_DROP);
    b = 0;
    ck_assert_int_eq(sim_iommu_dma_read(mmu, 0x71000, &b, 1, CTX), SIM_DMA_DROPPED);
    ck_assert_uint_eq(b, 0xFF);
}
END_TEST

/* Puts descriptor d in the ring by hand and rings; waits for the IOMMU. */
static void queue_raw(struct hba_iommu_inv d)
{
    struct hba_iommu_regs *r = regs();
    struct hba_iommu_inv *ring = (struct hba_iommu_inv *)(ram + r->iq_base);
    uint32_t tail = r->iq_tail;
    ring[tail] = d;
    __atomic_store_n(&r->iq_tail, (tail + 1) & (r->iq_size - 1), __ATOMIC_RELEASE);
    uint64_t end = clock_now_ms() + TESTUTIL_PATIENCE_MS;
    while (__atomic_load_n(&r->iq_head, __ATOMIC_ACQUIRE) == tail && !__atomic_load_n(&r->iq_error, __ATOMIC_ACQUIRE) &&
           clock_now_ms() < end)
        proc_sleep_ms(1); /* the IOMMU's idle poll picks it up without a futex wake */
}

START_TEST(an_inv_wait_nobody_sleeps_on_skips_its_wake)
{
    /* hw/hba.h "Skipping the wake-ups": run on this thread, the INV_WAIT is
     * done before the OS could count itself asleep, so no wake is sent. */
    iommu_pt_set_doorbell(pt, ring_here, mmu);
    struct sim_iommu_stats s0 = mmu_stats();
    remap_and_write();
    ck_assert_uint_eq(ram[4 * PG], 0x11);
    struct sim_iommu_stats s1 = mmu_stats();
    ck_assert_uint_eq(s1.inv_waits, s0.inv_waits + 1);
    ck_assert_uint_eq(s1.wakes_skipped, s0.wakes_skipped + 1);
    ck_assert_uint_eq(regs()->inv_waiters, 0);
    /* A counted sleeper is woken: the word is stored and no wake skipped. */
    iommu_pt_set_doorbell(pt, NULL, NULL);
    uint32_t *word = (uint32_t *)(ram + 9 * PG);
    *word = 0;
    __atomic_store_n(&regs()->inv_waiters, 1, __ATOMIC_SEQ_CST);
    queue_raw((struct hba_iommu_inv){ .type = HBA_IOMMU_INV_WAIT, .data = 77, .addr = 9 * PG });
    __atomic_store_n(&regs()->inv_waiters, 0, __ATOMIC_SEQ_CST);
    ck_assert_uint_eq(__atomic_load_n(word, __ATOMIC_ACQUIRE), 77);
    ck_assert_uint_eq(mmu_stats().wakes_skipped, s1.wakes_skipped);
}
END_TEST

START_TEST(a_parked_iommu_is_woken_and_a_polling_one_is_not_lost)
{
    /* Parked: iq_awake reads 0 and the doorbell wakes it (no skip). */
    uint64_t end = clock_now_ms() + 5000;
    while (__atomic_load_n(&regs()->iq_awake, __ATOMIC_ACQUIRE) && clock_now_ms() < end)
        proc_sleep_ms(1);
    ck_assert_uint_eq(reg_ld(&regs()->iq_awake), 0);
    struct iommu_pt_stats a, b;
    iommu_pt_stats(pt, &a);
    remap_and_write();
    ck_assert_uint_eq(ram[4 * PG], 0x11);
    iommu_pt_stats(pt, &b);
    ck_assert_uint_eq(b.waits, a.waits + 1);
    /* Back to back, whether each doorbell finds it polling or parked, every
     * unmap is invalidated and waited for. */
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(iommu_pt_map(pt, 0xA0000, 5 * PG, PG, HBA_DMA_FROM_DEVICE), 0);
        ck_assert_int_eq(iommu_pt_unmap(pt, 0xA0000, PG), 0);
    }
    iommu_pt_stats(pt, &a);
    ck_assert_uint_eq(a.waits, b.waits + 200);
    ck_assert_uint_eq(reg_ld(&regs()->iq_head), reg_ld(&regs()->iq_tail));
    ck_assert_uint_eq(reg_ld(&regs()->inv_waiters), 0);
}
END_TEST

START_TEST(queue_errors_stop_the_queue)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x80000, 1 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    queue_raw((struct hba_iommu_inv){ .type = HBA_IOMMU_INV_ALL });
    ck_assert_uint_eq(regs()->iq_error, 0);
    uint32_t head = regs()->iq_head;
    queue_raw((struct hba_iommu_inv){ .type = 9 });
    ck_assert_uint_eq(regs()->iq_error, HBA_IOMMU_IQE_TYPE);
    ck_assert_uint_eq(regs()->iq_head, head); /* stays on the bad descriptor */
    /* The platform hears of it on its next unmap, instead of waiting. */
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x80000, PG), -EIO);
    /* Re-opening (a new epoch) restarts the queue. */
    iommu_pt_close(pt);
    ck_assert_int_eq(iommu_pt_open(ram, RAM_SIZE, &pt), 0);
    ck_assert_int_eq(iommu_pt_map(pt, 0x80000, 1 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x80000, PG), 0);
    ck_assert_uint_eq(regs()->iq_error, 0);
    /* The other malformed descriptors. */
    struct { struct hba_iommu_inv d; uint32_t err; } bad[] = {
        { { .type = HBA_IOMMU_INV_PAGES, .rsvd = { 1 }, .data = 1 }, HBA_IOMMU_IQE_RESERVED },
        { { .type = HBA_IOMMU_INV_PAGES, .data = 0, .addr = PG }, HBA_IOMMU_IQE_COUNT },
        { { .type = HBA_IOMMU_INV_PAGES, .data = 2, .addr = UINT64_MAX - PG + 1 }, HBA_IOMMU_IQE_COUNT },
        { { .type = HBA_IOMMU_INV_PAGES, .data = 1, .addr = PG + 8 }, HBA_IOMMU_IQE_ADDRESS },
        { { .type = HBA_IOMMU_INV_WAIT, .data = 1, .addr = RAM_SIZE }, HBA_IOMMU_IQE_ADDRESS },
        { { .type = HBA_IOMMU_INV_WAIT, .data = 1, .addr = 2 }, HBA_IOMMU_IQE_ADDRESS },
        { { .type = HBA_IOMMU_INV_ALL, .addr = 1 }, HBA_IOMMU_IQE_RESERVED },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iommu_pt_close(pt);
        ck_assert_int_eq(iommu_pt_open(ram, RAM_SIZE, &pt), 0);
        queue_raw(bad[i].d);
        ck_assert_msg(reg_ld(&regs()->iq_error) == bad[i].err, "descriptor %zu: iq_error %u, want %u", i,
                      reg_ld(&regs()->iq_error), bad[i].err);
    }
    /* A queue whose own registers are wrong. */
    iommu_pt_close(pt);
    ck_assert_int_eq(iommu_pt_open(ram, RAM_SIZE, &pt), 0);
    __atomic_store_n(&regs()->iq_size, 24, __ATOMIC_RELEASE); /* not a power of two */
    queue_raw((struct hba_iommu_inv){ .type = HBA_IOMMU_INV_ALL });
    ck_assert_uint_eq(reg_ld(&regs()->iq_error), HBA_IOMMU_IQE_QUEUE);
}
END_TEST

START_TEST(unmap_does_not_wait_for_a_stopped_iommu)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x90000, 1 * PG, PG, HBA_DMA_BIDIRECTIONAL), 0);
    sim_iommu_destroy(mmu);
    ck_assert_uint_eq(regs()->online, 0);
    struct iommu_pt_stats before, after;
    iommu_pt_stats(pt, &before);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x90000, PG), 0);
    iommu_pt_stats(pt, &after);
    /* Nothing queued, nothing waited for: no IOMMU caches anything now. */
    ck_assert_uint_eq(after.invalidations, before.invalidations);
    ck_assert_uint_eq(after.waits, before.waits);
    ck_assert_uint_eq(after.mapped_pages, before.mapped_pages - 1);
    ck_assert_int_eq(sim_iommu_create(ram, RAM_SIZE, HBA_IOMMU_POLICY_ABORT, &mmu), 0);
    ck_assert_uint_eq(regs()->online, 1);
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
        if (iommu_pt_map(pt, iova, (8 + i % 8) * PG, PG, HBA_DMA_BIDIRECTIONAL) != 0)
            c->errors++;
        if (iommu_pt_unmap(pt, iova, PG) != 0)
            c->errors++;
        atomic_fetch_add(&c->cycles, 1);
    }
    return NULL;
}

START_TEST(dma_runs_while_other_pages_are_mapped_and_unmapped)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x100000, 0, 4 * PG, HBA_DMA_BIDIRECTIONAL), 0);
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
    ck_assert_uint_eq(mapped(), 4);
    ck_assert_uint_eq(fault_total(), 0);
}
END_TEST

/* A reap's batch (iommu_pt_unmap_deferred, iommu_pt_sync): the tables are
 * cleared at once, one INV_WAIT covers the lot, and after it no cached
 * translation is left. */
static void batch_of_four(bool engine)
{
    static const uint64_t iova[4] = { 0x100000, 0x140000, 0x180000, 0x1C0000 };
    for (unsigned i = 0; i < 4; i++) {
        uint8_t b = (uint8_t)(0x40 + i);
        memset(ram + (8 + i) * PG, 0, PG);
        ck_assert_int_eq(iommu_pt_map(pt, iova[i], (8 + i) * PG, PG, HBA_DMA_FROM_DEVICE), 0);
        ck_assert_int_eq(sim_iommu_dma_write(mmu, iova[i], &b, 1, CTX), SIM_DMA_OK); /* cached now */
    }
    struct sim_iommu_stats s0 = mmu_stats();
    struct iommu_pt_stats p0;
    iommu_pt_stats(pt, &p0);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_int_eq(iommu_pt_unmap_deferred(pt, iova[i], PG), 0);
        if (engine)
            sim_iommu_service(mmu); /* the command engine between two commands */
    }
    ck_assert_uint_eq(mapped(), 0);
    ck_assert_int_eq(iommu_pt_sync(pt), 0);
    struct sim_iommu_stats s1 = mmu_stats();
    struct iommu_pt_stats p1;
    iommu_pt_stats(pt, &p1);
    ck_assert_uint_eq(p1.waits, p0.waits + 1);
    ck_assert_uint_eq(p1.invalidations, p0.invalidations + 4);
    ck_assert_uint_eq(s1.inv_waits, s0.inv_waits + 1);
    ck_assert_uint_eq(s1.inv_descs, s0.inv_descs + 5); /* 4 INV_PAGES, 1 INV_WAIT */
    for (unsigned i = 0; i < 4; i++) {
        uint8_t b = 0x99;
        ck_assert_int_eq(sim_iommu_dma_write(mmu, iova[i], &b, 1, CTX), SIM_DMA_ABORTED);
        ck_assert_uint_eq(ram[(8 + i) * PG], 0x40 + i); /* nothing landed after the sync */
    }
    /* Nothing pending: a second sync queues no wait. */
    ck_assert_int_eq(iommu_pt_sync(pt), 0);
    iommu_pt_stats(pt, &p1);
    ck_assert_uint_eq(p1.waits, p0.waits + 1);
}

START_TEST(a_batch_of_deferred_unmaps_waits_once)
{
    batch_of_four(false); /* the queue's thread answers */
}
END_TEST

START_TEST(the_command_engine_runs_the_queue_between_commands)
{
    /* Counted awake, the engine is relied on: the OS skips its wake. */
    sim_iommu_engine_awake(mmu, true);
    struct iommu_pt_stats p0;
    iommu_pt_stats(pt, &p0);
    struct sim_iommu_stats s0 = mmu_stats();
    batch_of_four(true);
    ck_assert_uint_gt(mmu_stats().engine_runs, s0.engine_runs);
    struct iommu_pt_stats p1;
    iommu_pt_stats(pt, &p1);
    ck_assert_uint_gt(p1.wakes_skipped, p0.wakes_skipped);
    sim_iommu_engine_awake(mmu, false);
}
END_TEST

START_TEST(a_deferred_unmap_of_pages_not_mapped_says_so)
{
    ck_assert_int_eq(iommu_pt_map(pt, 0x200000, 0, PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_int_eq(iommu_pt_unmap_deferred(pt, 0x200000, 2 * PG), -ENOENT);
    ck_assert_int_eq(iommu_pt_unmap_deferred(pt, 0x200000, 0), -EINVAL);
    ck_assert_int_eq(iommu_pt_sync(pt), 0);
    ck_assert_uint_eq(mapped(), 0);
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
    tcase_add_test(tc, a_write_window_is_the_ram_of_one_contiguous_writable_run);
    tcase_add_test(tc, a_stale_iotlb_entry_gives_a_stale_window);
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
    tcase_add_test(tc, a_map_across_leaf_tables_is_checked_and_written_whole);
    tcase_add_test(tc, unmap_reports_pages_that_were_not_mapped);
    tcase_add_test(tc, unmap_of_a_huge_range_keeps_pages_outside_it);
    tcase_add_test(tc, many_mappings_survive_growth_and_removal);
    tcase_add_test(tc, a_map_out_of_table_pages_leaves_the_queue_working);
    tcase_add_test(tc, dma_runs_while_other_pages_are_mapped_and_unmapped);
    tcase_add_test(tc, a_batch_of_deferred_unmaps_waits_once);
    tcase_add_test(tc, the_command_engine_runs_the_queue_between_commands);
    tcase_add_test(tc, a_deferred_unmap_of_pages_not_mapped_says_so);
    tcase_add_test(tc, tables_have_the_datasheet_format);
    tcase_add_test(tc, iotlb_misses_once_then_hits);
    tcase_add_test(tc, unmap_invalidates_and_waits);
    tcase_add_test(tc, a_synchronous_doorbell_invalidates_on_the_callers_thread);
    tcase_add_test(tc, an_inv_wait_nobody_sleeps_on_skips_its_wake);
    tcase_add_test(tc, a_parked_iommu_is_woken_and_a_polling_one_is_not_lost);
    tcase_add_test(tc, without_invalidation_a_stale_entry_writes_the_freed_page);
    tcase_add_test(tc, the_cached_paths_answer_only_from_the_iotlb);
    tcase_add_test(tc, a_command_access_with_an_access_hook_is_never_cached);
    tcase_add_test(tc, posted_entries_land_whole_and_only_through_the_iotlb);
    tcase_add_test(tc, a_post_under_drop_faults_as_two_writes);
    tcase_add_test(tc, malformed_entries_fault_bad_entry);
    tcase_add_test(tc, queue_errors_stop_the_queue);
    tcase_add_test(tc, unmap_does_not_wait_for_a_stopped_iommu);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
