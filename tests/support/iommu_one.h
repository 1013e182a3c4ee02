/* tests/support/iommu_one.h — the fixture the IOMMU table tests share
 * (tests/test_iommu.c, tests/test_iommu_lockfree.c): one emulated IOMMU
 * (sim/iommu) and the OS side that programs it (platform/iommu_pt.h) over a
 * host RAM of RAM_SIZE bytes, in the globals ram, mmu and pt, made by setup
 * (check's fixture) and closed by teardown; and the reads the tests make of
 * them: the register page, the IOMMU's statistics and fault count, and a
 * leaf entry found by the datasheet's walk.  Header-only because each test
 * program has its own globals; the helpers are static inline so a test that
 * uses only some of them still builds with -Werror. */
#ifndef TESTS_SUPPORT_IOMMU_ONE_H
#define TESTS_SUPPORT_IOMMU_ONE_H

#include <stdint.h>
#include <string.h>

#include "platform/iommu_pt.h"
#include "sim/iommu/iommu.h"
#include "tests/support/testutil.h"

#define PG       HBA_IOMMU_PAGE_SIZE
#define RAM_SIZE (4u << 20) /* the IOMMU area is its top 512 KiB */

/* One page more than RAM_SIZE, for an IOMMU over a RAM that ends mid-page
 * (test_iommu.c). */
static uint8_t ram[RAM_SIZE + PG];
static struct sim_iommu *mmu;
static struct iommu_pt *pt;

static inline void setup(void)
{
    /* 0xA5, not 0: test_iommu.c checks that the bytes no DMA may reach
     * still hold it.  The tables, the wait status and the registers the
     * IOMMU reads are written by iommu_pt_open and table_alloc, so no test
     * depends on the fill there. */
    memset(ram, 0xA5, sizeof ram);
    ck_assert_int_eq(sim_iommu_create(ram, RAM_SIZE, HBA_IOMMU_POLICY_ABORT, &mmu), 0);
    ck_assert_int_eq(iommu_pt_open(ram, RAM_SIZE, &pt), 0);
}

static inline void teardown(void)
{
    iommu_pt_close(pt);
    pt = NULL;
    sim_iommu_destroy(mmu);
    mmu = NULL;
}

/* The register page, the last page of host RAM (hw/hba.h). */
static inline struct hba_iommu_regs *regs(void)
{
    return (struct hba_iommu_regs *)(ram + RAM_SIZE - PG);
}

static inline struct sim_iommu_stats mmu_stats(void)
{
    struct sim_iommu_stats st;
    sim_iommu_stats(mmu, &st);
    return st;
}

/* Faults ever logged by the IOMMU. */
static inline uint32_t fault_total(void)
{
    struct hba_log_header h;
    sim_iommu_fault_log(mmu, 0, NULL, 0, &h);
    return h.total;
}

/* The leaf entry of iova, found by walking the tables as the datasheet
 * describes them; NULL if a level is missing.  The walk loads atomically
 * (acquire), as the IOMMU does: lock-free maps and unmaps may be storing
 * into the tables meanwhile. */
static inline uint64_t *leaf_of(uint64_t iova)
{
    uint64_t t = __atomic_load_n(&regs()->root, __ATOMIC_ACQUIRE) & HBA_IOMMU_PTE_ADDR;
    for (unsigned level = HBA_IOMMU_LEVELS; level > 1; level--) {
        uint64_t e = __atomic_load_n(&((uint64_t *)(ram + t))[HBA_IOMMU_INDEX(iova, level)], __ATOMIC_ACQUIRE);
        if (!(e & HBA_IOMMU_PTE_P))
            return NULL;
        t = e & HBA_IOMMU_PTE_ADDR;
    }
    return &((uint64_t *)(ram + t))[HBA_IOMMU_INDEX(iova, 1)];
}

/* The value of iova's leaf entry, loaded atomically; 0 if a level is missing. */
static inline uint64_t leaf_entry(uint64_t iova)
{
    uint64_t *e = leaf_of(iova);
    return e ? __atomic_load_n(e, __ATOMIC_ACQUIRE) : 0;
}

#endif
