/* tests/test_iommu_lockfree.c — the OS side of the IOMMU (platform/iommu_pt.c)
 * on its lock-free paths: maps into leaf tables that exist and deferred
 * unmaps pin the table with a compare-and-swap instead of taking the lock,
 * emptied leaf tables are parked and pruned later, and invalidations are
 * queued by several threads at once.  Each test checks the end state
 * exactly: the tables, the counts, the invalidation queue, and that no
 * cached translation outlives its unmap. */
#include "tests/support/iommu_one.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "platform/iommu_pt.h"
#include "sim/iommu/iommu.h"

#define POOL      (RAM_SIZE / 8 / PG - 3) /* the IOMMU area is 512 KiB: 125 table pages */
#define LEAF      (512ull * PG) /* the IOVA one leaf table covers */

static const struct sim_dma_ctx CTX = { .cid = 0x77, .sq_id = 1 };

static struct iommu_pt_stats pt_stats(void)
{
    struct iommu_pt_stats st;
    iommu_pt_stats(pt, &st);
    return st;
}

/* --- threads on neighbouring pages ---------------------------------------- */

#define THREADS 4u
#define ROUNDS  3000u
#define SPAN    (3u * 512u) /* pages over three leaf tables, interleaved between the threads */
#define BASE    0x40000000ull

struct worker {
    unsigned k;
    unsigned errors, stale, maps;
    char what[160];
};

static void note_error(struct worker *w, const char *what, uint64_t iova, int rc)
{
    if (w->errors++ == 0)
        snprintf(w->what, sizeof w->what, "thread %u: %s at IOVA 0x%llx: %d", w->k, what, (unsigned long long)iova, rc);
}

/* Thread k owns the pages k, k + THREADS, ...: the same leaf tables as the
 * others, so their counts are pinned and emptied by several threads, and
 * one unmap in seven is the waited one, which unhooks emptied tables under
 * the lock while the others pin without it. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (unsigned r = 0; r < ROUNDS; r++) {
        uint64_t page = (uint64_t)((r * 7u) % (SPAN / THREADS)) * THREADS + w->k;
        uint64_t iova = BASE + page * PG, ram_page = 1 + (page % 16);
        int rc = iommu_pt_map(pt, iova, ram_page * PG, PG, HBA_DMA_FROM_DEVICE);
        if (rc != 0) {
            note_error(w, "map", iova, rc);
            continue;
        }
        w->maps++;
        uint64_t want = ram_page * PG | HBA_IOMMU_PTE_P | ((uint64_t)HBA_DMA_FROM_DEVICE << 1);
        if (leaf_entry(iova) != want)
            note_error(w, "leaf entry", iova, 0);
        uint8_t b = (uint8_t)r;
        if (sim_iommu_dma_write(mmu, iova, &b, 1, CTX) != SIM_DMA_OK) /* cached in the IOTLB now */
            note_error(w, "DMA through a fresh mapping", iova, 0);
        if (r % 7 == 3) {
            rc = iommu_pt_unmap(pt, iova, PG);
        } else {
            rc = iommu_pt_unmap_deferred(pt, iova, PG);
            if (rc == 0)
                rc = iommu_pt_sync(pt);
        }
        if (rc != 0)
            note_error(w, "unmap", iova, rc);
        if (leaf_entry(iova) != 0)
            note_error(w, "leaf left after unmap", iova, 0);
        if (sim_iommu_dma_write(mmu, iova, &b, 1, CTX) != SIM_DMA_ABORTED)
            w->stale++; /* a translation outlived its unmap and wait */
    }
    return NULL;
}

START_TEST(threads_map_and_unmap_neighbours_in_shared_leaf_tables)
{
    struct iommu_pt_stats p0 = pt_stats();
    struct sim_iommu_stats s0 = mmu_stats();
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (unsigned k = 0; k < THREADS; k++) {
        w[k] = (struct worker){ .k = k };
        ck_assert_int_eq(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
    }
    unsigned maps = 0, stale = 0;
    for (unsigned k = 0; k < THREADS; k++) {
        pthread_join(t[k], NULL);
        ck_assert_msg(w[k].errors == 0, "%u errors, first: %s", w[k].errors, w[k].what);
        maps += w[k].maps;
        stale += w[k].stale;
    }
    ck_assert_uint_eq(maps, THREADS * ROUNDS);
    ck_assert_uint_eq(stale, 0);
    ck_assert_int_eq(iommu_pt_sync(pt), 0);
    struct iommu_pt_stats p1 = pt_stats();
    ck_assert_uint_eq(p1.mapped_pages, 0);
    for (uint64_t page = 0; page < SPAN; page++)
        ck_assert_uint_eq(leaf_entry(BASE + page * PG), 0);
    /* Bounded: the root, four tables above the leaves, at most the three
     * leaf tables (parked ones included). */
    ck_assert_uint_le(p1.table_pages, 1 + 4 + 3);
    /* Every descriptor queued by the four threads at once was read, in
     * order, with no error: one per unmap plus the INV_WAITs. */
    struct sim_iommu_stats s1 = mmu_stats();
    ck_assert_uint_eq(p1.invalidations - p0.invalidations, THREADS * ROUNDS);
    ck_assert_uint_eq(s1.inv_descs - s0.inv_descs, (p1.invalidations - p0.invalidations) + (p1.waits - p0.waits));
    ck_assert_uint_eq(__atomic_load_n(&regs()->iq_error, __ATOMIC_ACQUIRE), 0);
    ck_assert_uint_eq(fault_total(), THREADS * ROUNDS); /* exactly the probes after each unmap */
}
END_TEST

/* --- table memory ----------------------------------------------------------- */

/* One page in each of 1000 leaf tables, eight times the pool: a deferred
 * unmap leaves its leaf table parked, so without the sync's prune (after
 * PARK_MAX = 32 parked) or the map's reclaim the pool would run dry at the
 * 120th.  With `sync` every unmap is followed by iommu_pt_sync (a reap);
 * without, only the map that finds the pool empty reclaims. */
static void walk_leaf_tables(bool sync)
{
    uint64_t most = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t iova = 0x80000000ull + i * LEAF;
        ck_assert_int_eq(iommu_pt_map(pt, iova, PG, PG, HBA_DMA_TO_DEVICE), 0);
        ck_assert_int_eq(iommu_pt_unmap_deferred(pt, iova, PG), 0);
        if (sync)
            ck_assert_int_eq(iommu_pt_sync(pt), 0);
        struct iommu_pt_stats st = pt_stats();
        ck_assert_uint_le(st.table_pages, POOL);
        if (st.table_pages > most)
            most = st.table_pages;
    }
    ck_assert_int_eq(iommu_pt_sync(pt), 0);
    ck_assert_uint_eq(pt_stats().mapped_pages, 0);
    if (sync) /* the root, 4 levels, 32 parked leaf tables, and a second level-2 table when 512 are crossed */
        ck_assert_uint_le(most, 1 + 4 + 32 + 2);
    /* The pool is whole again: a map far away still finds its tables. */
    ck_assert_int_eq(iommu_pt_map(pt, 0x7000000000ull, PG, PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_int_eq(iommu_pt_unmap(pt, 0x7000000000ull, PG), 0);
    ck_assert_uint_eq(__atomic_load_n(&regs()->iq_error, __ATOMIC_ACQUIRE), 0);
}

START_TEST(parked_tables_are_pruned_by_the_sync)
{
    walk_leaf_tables(true);
}
END_TEST

START_TEST(parked_tables_never_cost_a_refused_map)
{
    walk_leaf_tables(false);
}
END_TEST

/* A parked leaf table is reused by the next map without a new table, and a
 * waited unmap still gives an emptied table back at once. */
START_TEST(a_parked_leaf_table_is_reused)
{
    ck_assert_int_eq(iommu_pt_map(pt, BASE, PG, PG, HBA_DMA_TO_DEVICE), 0);
    uint64_t tables = pt_stats().table_pages;
    ck_assert_uint_eq(tables, 1 + 5);
    ck_assert_int_eq(iommu_pt_unmap_deferred(pt, BASE, PG), 0);
    ck_assert_int_eq(iommu_pt_sync(pt), 0);
    ck_assert_uint_eq(pt_stats().table_pages, tables); /* parked */
    ck_assert_int_eq(iommu_pt_map(pt, BASE + PG, 2 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_uint_eq(pt_stats().table_pages, tables);
    ck_assert_uint_eq(leaf_entry(BASE + PG), 2 * PG | HBA_IOMMU_PTE_P | ((uint64_t)HBA_DMA_TO_DEVICE << 1));
    /* A map over a page that is mapped changes nothing, on the lock-free path too. */
    ck_assert_int_eq(iommu_pt_map(pt, BASE, 3 * PG, 2 * PG, HBA_DMA_TO_DEVICE), -EEXIST);
    ck_assert_uint_eq(leaf_entry(BASE), 0);
    ck_assert_uint_eq(pt_stats().mapped_pages, 1);
    ck_assert_int_eq(iommu_pt_unmap(pt, BASE + PG, PG), 0);
    ck_assert_uint_eq(pt_stats().table_pages, 1);
    ck_assert_uint_eq(pt_stats().mapped_pages, 0);
}
END_TEST

/* --- no lock on the map into an existing leaf table ------------------------- */

#define HELD_MS 5000u /* how long the doorbell holds pt->lock for the map to return */

/* A map into an existing leaf table while another thread holds pt->lock:
 * the doorbell is rung from wait_all, with the lock held, and runs the
 * queue on the caller's thread (as sim_ctrl_iommu_doorbell does).  Before
 * it does, it lets a second thread map a page and waits for that map to
 * return: it can only if the map takes no lock.  A stats call from a third
 * thread must not return meanwhile, which shows that the lock is held. */
struct held {
    atomic_bool go, mapped, statted;
    atomic_int map_rc;
    atomic_uint rings;
    bool map_returned, stats_blocked; /* what the doorbell saw; read after the joins */
};

static struct held H;

static void ring_holding_the_lock(void *arg)
{
    if (atomic_fetch_add(&H.rings, 1) == 0) {
        atomic_store(&H.go, true);
        uint64_t until = clock_now_ms() + HELD_MS;
        while (!atomic_load(&H.mapped) && clock_now_ms() < until)
            sched_yield();
        H.map_returned = atomic_load(&H.mapped);
        H.stats_blocked = !atomic_load(&H.statted);
    }
    sim_iommu_doorbell(arg); /* the invalidation and the INV_WAIT, as any doorbell */
}

/* Waits (bounded) for the doorbell's go; false if it never came. */
static bool wait_go(void)
{
    uint64_t until = clock_now_ms() + 2 * HELD_MS;
    while (!atomic_load(&H.go)) {
        if (clock_now_ms() >= until)
            return false;
        sched_yield();
    }
    return true;
}

static void *map_while_held(void *arg)
{
    (void)arg;
    if (!wait_go())
        return NULL;
    atomic_store(&H.map_rc, iommu_pt_map(pt, BASE + PG, 2 * PG, PG, HBA_DMA_TO_DEVICE));
    atomic_store(&H.mapped, true);
    return NULL;
}

static void *stats_while_held(void *arg)
{
    (void)arg;
    if (!wait_go())
        return NULL;
    struct iommu_pt_stats st;
    iommu_pt_stats(pt, &st); /* takes pt->lock */
    atomic_store(&H.statted, true);
    return NULL;
}

START_TEST(a_map_into_an_existing_leaf_table_takes_no_lock)
{
    H = (struct held){ .map_rc = 1 };
    /* Two pages in one leaf table: unmapping one leaves the table hooked. */
    ck_assert_int_eq(iommu_pt_map(pt, BASE, PG, PG, HBA_DMA_TO_DEVICE), 0);
    ck_assert_int_eq(iommu_pt_map(pt, BASE + 2 * PG, 3 * PG, PG, HBA_DMA_TO_DEVICE), 0);
    uint64_t tables = pt_stats().table_pages;
    struct sim_iommu_stats s0 = mmu_stats();
    iommu_pt_set_doorbell(pt, ring_holding_the_lock, mmu);
    pthread_t mapper, statter;
    ck_assert_int_eq(pthread_create(&mapper, NULL, map_while_held, NULL), 0);
    ck_assert_int_eq(pthread_create(&statter, NULL, stats_while_held, NULL), 0);
    /* The waited unmap rings the doorbell from wait_all, lock held. */
    int rc = iommu_pt_unmap(pt, BASE + 2 * PG, PG);
    pthread_join(mapper, NULL);
    pthread_join(statter, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(atomic_load(&H.go), "the doorbell was never rung");
    ck_assert_msg(H.stats_blocked, "iommu_pt_stats returned while the doorbell ran: it is not rung under pt->lock");
    ck_assert_msg(H.map_returned, "a map into an existing leaf table did not return within %u ms while pt->lock was "
                  "held: it took the lock", HELD_MS);
    ck_assert_int_eq(atomic_load(&H.map_rc), 0);
    ck_assert_uint_eq(atomic_load(&H.rings), 1);
    ck_assert_uint_eq(leaf_entry(BASE + PG), 2 * PG | HBA_IOMMU_PTE_P | ((uint64_t)HBA_DMA_TO_DEVICE << 1));
    ck_assert_uint_eq(leaf_entry(BASE + 2 * PG), 0);
    struct iommu_pt_stats p1 = pt_stats();
    ck_assert_uint_eq(p1.table_pages, tables); /* no new table */
    ck_assert_uint_eq(p1.mapped_pages, 2);
    /* The doorbell still runs the queue: the unmap's INV_WAIT was answered. */
    ck_assert_uint_eq(mmu_stats().inv_waits, s0.inv_waits + 1);
    ck_assert_uint_eq(__atomic_load_n(&regs()->iq_error, __ATOMIC_ACQUIRE), 0);
    iommu_pt_set_doorbell(pt, NULL, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iommu_lockfree");
    TCase *tc = tcase_create("iommu_lockfree");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threads_map_and_unmap_neighbours_in_shared_leaf_tables);
    tcase_add_test(tc, parked_tables_are_pruned_by_the_sync);
    tcase_add_test(tc, parked_tables_never_cost_a_refused_map);
    tcase_add_test(tc, a_parked_leaf_table_is_reused);
    tcase_add_test(tc, a_map_into_an_existing_leaf_table_takes_no_lock);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
