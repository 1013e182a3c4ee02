/* tests/test_bus_twoproc_kill.c — SIGKILL of the controller process is a real power
 * cut.  A write + flush workload runs against `scsisim controller` with a
 * media file; at a seeded random step the controller is killed with a
 * command in flight, restarted on the same socket and media, and the host
 * reconnects (same RAM, mappings replayed) and reads everything back: every
 * write a completed SYNCHRONIZE CACHE covered must be there, and
 * acknowledged writes that were never flushed are (as without a battery)
 * gone.  The oracle died with the controller, so tests/support/dur_record keeps the
 * record on this side.  Fifty rounds in one test. */
#include <errno.h>
#include <string.h>

#include "platform/iommu_pt.h"
#include "platform/bus_client.h"
#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/dur_record.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

#define BLOCKS 64u
#define ROUNDS 50
#define STEPS  8
#define MAX_W  4u

static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* The queues die with the controller: their IOVAs go back to the platform
 * (recorded only: the bus is dead). */
static void unmap_queues(struct hh *h)
{
    for (unsigned q = 0; q < 2; q++) {
        if (!h->q[q].live)
            continue;
        ck_assert_int_eq(bus_iommu_unmap(h->bus, h->q[q].sq.iova, h->q[q].sq.len), 0);
        ck_assert_int_eq(bus_iommu_unmap(h->bus, h->q[q].cq.iova, h->q[q].cq.len), 0);
    }
}

static struct hba_sq_entry write_entry(struct hh *h, const struct hh_buf *buf, uint32_t lba, uint32_t n)
{
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, true, lba, (uint16_t)n);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, n * DUR_BLOCK,
                                          hh_sge(buf->iova, n * DUR_BLOCK, HBA_SGE_DATA));
    e.cid = hh_cid(h, 1);
    return e;
}

static struct hba_sq_entry flush_entry(struct hh *h)
{
    uint8_t cdb[10] = { 0x35 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = hh_cid(h, 1);
    return e;
}

START_TEST(every_flushed_write_survives_fifty_sigkills)
{
    struct b2_proc p;
    b2_init(&p);
    char drive[200];
    snprintf(drive, sizeof(drive), "0:0,blocks=%u,media=ld0.img", BLOCKS);
    const char *const args[] = { "--set", "init-time=1ms", "--drive", drive, NULL };
    b2_start(&p, args);
    struct hh h;
    b2_attach(&h, &p);
    b2_bringup(&h);
    struct hh_buf wbuf = hh_alloc(&h, MAX_W * DUR_BLOCK, HBA_DMA_TO_DEVICE);
    struct hh_buf rbuf = hh_alloc(&h, BLOCKS * DUR_BLOCK, HBA_DMA_FROM_DEVICE);
    struct iommu_pt_stats ps;
    bus_iommu_stats(h.bus, &ps);
    uint64_t pages_before = ps.mapped_pages, tables_before = ps.table_pages;
    int fds_before = proc_count_fds(0);

    struct dur_record d;
    dur_init(&d, BLOCKS);
    uint64_t seed = 20260101;
    unsigned acked_lost = 0, newer_kept = 0, flushes = 0, writes = 0;
    for (int round = 0; round < ROUNDS; round++) {
        unsigned kill_at = rnd(&seed) % STEPS;
        for (unsigned step = 0; step <= kill_at; step++) {
            bool flush = rnd(&seed) % 4 == 0;
            uint32_t lba = 0, n = 0;
            struct hba_sq_entry e;
            if (flush) {
                e = flush_entry(&h);
            } else {
                lba = rnd(&seed) % (BLOCKS - MAX_W + 1);
                n = 1 + rnd(&seed) % MAX_W;
                dur_fill(&d, lba, n, wbuf.p);
                e = write_entry(&h, &wbuf, lba, n);
            }
            hh_submit(&h, 1, &e);
            if (step == kill_at)
                break; /* in flight when the power goes */
            struct hba_cq_entry c;
            ck_assert(hh_wait_cqe(&h, 1, e.cid, &c, HH_TIMEOUT_MS));
            ck_assert_int_eq(c.ctrl_status, HBA_CS_SUCCESS);
            ck_assert_int_eq(c.scsi_status, 0);
            if (flush) {
                dur_flushed(&d);
                flushes++;
            } else {
                dur_acked(&d, lba, n);
                writes++;
            }
        }
        b2_kill(&p);
        ck_assert(b2_wait_dead(h.bus));
        ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), 0xFFFFFFFFu);
        unmap_queues(&h);

        b2_restart(&p);
        char err[256] = "";
        int rc = bus_remote_reconnect(h.bus, NULL, err, sizeof(err));
        ck_assert_msg(rc == 0, "round %d: reconnect: %s", round, err);
        b2_bringup(&h);
        ck_assert_int_eq(b2_rw(&h, false, 0, BLOCKS, &rbuf), 0);
        for (uint32_t lba = 0; lba < BLOCKS; lba++) {
            const uint8_t *blk = rbuf.p + (size_t)lba * DUR_BLOCK;
            struct dur_verdict v;
            char why[160];
            ck_assert_msg(dur_check(&d, lba, blk, &v, why, sizeof(why)), "round %d: %s", round, why);
            acked_lost += v.acked_lost;
            newer_kept += v.newer;
            dur_adopt(&d, lba, blk);
        }
    }
    /* Flushed data always survived (checked above); unflushed data died with
     * the process, as in a power cut without a battery. */
    ck_assert_uint_gt(flushes, 0);
    ck_assert_uint_gt(writes, 0);
    ck_assert_uint_gt(acked_lost, 0);
    (void)newer_kept; /* in-flight flushes may make later data durable: allowed, not required */
    /* Nothing accumulates across the deaths: mappings, fds. */
    bus_iommu_stats(h.bus, &ps);
    ck_assert_uint_eq(ps.mapped_pages, pages_before);
    ck_assert_uint_eq(ps.table_pages, tables_before);
    ck_assert_int_eq(proc_count_fds(0), fds_before);
    dur_free(&d);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_kill");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_flushed_write_survives_fifty_sigkills);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
