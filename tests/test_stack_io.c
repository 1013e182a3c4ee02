/* tests/test_stack_io.c — SCSI commands through the whole in-process path
 * (stack -> driver core -> osal_user -> controller -> firmware and back), once
 * with interrupts, once polled, once with IOVAs above 4 GiB and data in
 * scattered pieces, once with everything (queues too) in scattered pieces:
 * INQUIRY, TEST UNIT READY, READ CAPACITY(16), WRITE(10)+READ(10) round trips
 * (small, and longer than one command may carry), SYNCHRONIZE CACHE(10), MODE
 * SENSE(6) caching page, many tasks in flight with stack_submit + stack_wait,
 * CHECK CONDITION with sense, and argument errors.
 * Every run must leave the controller's IOMMU fault log empty. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "platform/bus.h"
#include "scsi/scsi.h"
#include "sim/sim.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"

static struct stack *ST;

static void open_flavour(int i)
{
    ST = sf_open((enum sf_flavour)i, NULL);
}

static void close_stack(void)
{
    /* No command may have faulted in the IOMMU: the driver mapped what the
     * device touched, with the right direction. */
    struct hba_log_header hdr;
    struct hba_iommu_fault f;
    ck_assert_int_ge(stack_fault_log(ST, 0, &f, 1, &hdr), 0);
    ck_assert_msg(hdr.total == 0, "IOMMU fault at IOVA 0x%llx reason %u", (unsigned long long)f.iova, f.reason);
    ck_assert_uint_eq(stack_outstanding(ST), 0);
    stack_close(ST);
    ST = NULL;
}

START_TEST(inquiry)
{
    open_flavour(_i);
    uint8_t cdb[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    uint8_t buf[96];
    memset(buf, 0xEE, sizeof(buf));
    struct drv_completion c;
    sf_exec(ST, cdb, 6, DRV_DIR_FROM_TARGET, buf, sizeof(buf), &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_ge(c.bytes_transferred, 36);
    ck_assert_uint_le(c.bytes_transferred, 96);
    ck_assert_uint_eq(buf[0], SCSI_PDT_DISK);
    ck_assert(memcmp(buf + 8, "SCSISIM ", 8) == 0);
    ck_assert(memcmp(buf + 16, "SIM DISK", 8) == 0);
    close_stack();
}
END_TEST

START_TEST(test_unit_ready)
{
    open_flavour(_i);
    uint8_t cdb[6] = { SCSI_OP_TEST_UNIT_READY };
    struct drv_completion c;
    sf_exec(ST, cdb, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.bytes_transferred, 0);
    ck_assert_uint_eq(c.sense_len, 0);
    close_stack();
}
END_TEST

START_TEST(read_capacity_16)
{
    open_flavour(_i);
    uint8_t cdb[16] = { SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    scsi_put_be32(cdb + 10, 32);
    uint8_t buf[32] = { 0 };
    struct drv_completion c;
    sf_exec(ST, cdb, 16, DRV_DIR_FROM_TARGET, buf, sizeof(buf), &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.bytes_transferred, 32);
    ck_assert_uint_eq(scsi_get_be64(buf), SF_BLOCKS - 1);
    ck_assert_uint_eq(scsi_get_be32(buf + 8), SF_BLOCK);
    close_stack();
}
END_TEST

static void write_read(uint32_t lba, uint16_t blocks, unsigned seed)
{
    size_t n = (size_t)blocks * SF_BLOCK;
    uint8_t *out = malloc(n), *in = malloc(n);
    ck_assert(out && in);
    sf_fill(out, n, seed);
    memset(in, 0, n);
    uint8_t cdb[10];
    struct drv_completion c;
    sf_cdb_rw10(cdb, true, lba, blocks);
    sf_exec(ST, cdb, 10, DRV_DIR_FROM_INITIATOR, out, n, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.bytes_transferred, n);
    sf_cdb_rw10(cdb, false, lba, blocks);
    sf_exec(ST, cdb, 10, DRV_DIR_FROM_TARGET, in, n, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.bytes_transferred, n);
    ck_assert_msg(memcmp(in, out, n) == 0, "data read back differs (lba %u, %u blocks)", lba, blocks);
    free(out);
    free(in);
}

START_TEST(write_read_round_trip)
{
    open_flavour(_i);
    struct osal_user_stats before;
    osal_user_get_stats(stack_osal(ST), &before); /* the core's queues and such */
    write_read(100, 1, 1);
    write_read(200, 16, 2);
    write_read(1000, 64, 3);
    /* 1 MiB: more than the controller takes in one command (512 KiB). */
    write_read(4000, 2048, 4);
    /* The first write is still there. */
    write_read(100, 1, 1);
    struct osal_user_stats os;
    osal_user_get_stats(stack_osal(ST), &os);
    ck_assert_uint_eq(os.mappings_live, before.mappings_live); /* every data mapping was completed */
    ck_assert_uint_gt(os.mappings_total, before.mappings_total);
    if (_i == SF_HIGH_IOVA || _i == SF_SCATTERED) /* the core really met multi-segment mappings */
        ck_assert_uint_gt(os.segments_total, os.mappings_total);
    else
        ck_assert_uint_eq(os.segments_total - before.segments_total, os.mappings_total - before.mappings_total);
    close_stack();
}
END_TEST

START_TEST(synchronize_cache)
{
    open_flavour(_i);
    write_read(10, 8, 5);
    uint8_t cdb[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    struct drv_completion c;
    sf_exec(ST, cdb, 10, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    close_stack();
}
END_TEST

START_TEST(mode_sense_caching_page)
{
    open_flavour(_i);
    /* DBD = 1: no block descriptor, the page follows the 4-byte header. */
    uint8_t cdb[6] = { SCSI_OP_MODE_SENSE_6, 0x08, SCSI_MODE_PAGE_CACHING, 0, 255, 0 };
    uint8_t buf[255] = { 0 };
    struct drv_completion c;
    sf_exec(ST, cdb, 6, DRV_DIR_FROM_TARGET, buf, sizeof(buf), &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_uint_ge(c.bytes_transferred, 4 + 20);
    ck_assert_uint_eq(buf[0] + 1u, c.bytes_transferred); /* MODE DATA LENGTH */
    ck_assert_uint_eq(buf[3], 0);                         /* no block descriptor */
    ck_assert_uint_eq(buf[4] & 0x3F, SCSI_MODE_PAGE_CACHING);
    ck_assert_uint_eq(buf[5], 0x12);
    ck_assert(buf[6] & 0x04); /* WCE: the drive's write cache is on */
    close_stack();
}
END_TEST

START_TEST(check_condition_carries_sense)
{
    open_flavour(_i);
    /* READ(10) beyond the end of the drive. */
    uint8_t cdb[10], buf[SF_BLOCK];
    sf_cdb_rw10(cdb, false, SF_BLOCKS, 1);
    struct drv_completion c;
    sf_exec(ST, cdb, 10, DRV_DIR_FROM_TARGET, buf, sizeof(buf), &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sf_sense(&c), (uint32_t)SCSI_SK_ILLEGAL_REQUEST << 16 | SCSI_ASC_LBA_OUT_OF_RANGE);
    /* A vendor opcode nobody knows. */
    uint8_t vendor[6] = { 0xC0 };
    sf_exec(ST, vendor, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sf_sense(&c) >> 16, SCSI_SK_ILLEGAL_REQUEST);
    close_stack();
}
END_TEST

#define INFLIGHT 48

struct flight {
    _Atomic int done;
    _Atomic int good;
    _Atomic int wrong_id;
    _Atomic int unwaited; /* done callbacks that ran before their unmap was waited for */
};

struct one {
    struct flight *f;
    uint64_t id;
};

static void flight_done(void *arg, const struct drv_completion *c)
{
    struct one *o = arg;
    /* A reap unmaps its batch with one IOMMU wait before any done runs: the
     * caller never sees its buffer while the device may still reach it. */
    struct osal_user_stats s;
    osal_user_get_stats(stack_osal(ST), &s);
    if (s.unmaps_unwaited)
        atomic_fetch_add(&o->f->unwaited, 1);
    if (c->task_id != o->id)
        atomic_fetch_add(&o->f->wrong_id, 1);
    if (c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_GOOD &&
        c->bytes_transferred == 8 * SF_BLOCK)
        atomic_fetch_add(&o->f->good, 1);
    atomic_fetch_add(&o->f->done, 1);
}

/* Submits an 8-block READ(10) of lba, task id `id`, into a fresh DMA buffer
 * (*buf, which *piece describes), reported to flight_done through *o. */
static int submit_read8(struct flight *f, struct one *o, struct osal_dma_buffer **buf, struct drv_buffer_piece *piece,
                        uint64_t id, uint32_t lba)
{
    ck_assert_int_eq(osal_dma_alloc(stack_osal(ST), 8 * SF_BLOCK, 4096, buf), 0);
    *piece = (struct drv_buffer_piece){ .buf = *buf, .offset = 0, .length = 8 * SF_BLOCK };
    struct drv_task t = { .task_id = id, .dir = DRV_DIR_FROM_TARGET, .requested_transfer = 8 * SF_BLOCK,
                          .pieces = piece, .piece_count = 1, .cdb_len = 10 };
    sf_cdb_rw10(t.cdb, false, lba, 8);
    *o = (struct one){ .f = f, .id = id };
    return stack_submit(ST, &t, flight_done, o);
}

START_TEST(many_tasks_in_flight)
{
    open_flavour(_i);
    struct osal *os = stack_osal(ST);
    /* Distinct data per LBA range, written first. */
    for (int i = 0; i < INFLIGHT; i++)
        write_read(2000 + 8 * (uint32_t)i, 8, 100 + (unsigned)i);

    static struct flight f;
    static struct one ones[INFLIGHT];
    struct osal_dma_buffer *bufs[INFLIGHT];
    struct drv_buffer_piece pieces[INFLIGHT];
    memset(&f, 0, sizeof(f));
    struct osal_user_stats before;
    osal_user_get_stats(os, &before);
    for (int i = 0; i < INFLIGHT; i++)
        ck_assert_int_eq(submit_read8(&f, &ones[i], &bufs[i], &pieces[i], 5000 + (uint64_t)i, 2000 + 8 * (uint32_t)i), 0);
    ck_assert_int_eq(stack_wait(ST, 20000), 0);
    ck_assert_int_eq(atomic_load(&f.unwaited), 0);
    struct osal_user_stats after;
    osal_user_get_stats(os, &after);
    ck_assert_uint_eq(after.deferred_unmaps - before.deferred_unmaps, INFLIGHT); /* every READ's, in a batch */
    ck_assert_uint_le(after.defer_waits - before.defer_waits, INFLIGHT);
    ck_assert_int_eq(atomic_load(&f.done), INFLIGHT);
    ck_assert_int_eq(atomic_load(&f.good), INFLIGHT);
    ck_assert_int_eq(atomic_load(&f.wrong_id), 0);
    ck_assert_uint_eq(stack_outstanding(ST), 0);
    ck_assert_int_eq(stack_wait(ST, 0), 0);
    for (int i = 0; i < INFLIGHT; i++) {
        uint8_t want[8 * SF_BLOCK];
        sf_fill(want, sizeof(want), 100 + (unsigned)i);
        ck_assert_msg(memcmp(bufs[i]->vaddr, want, sizeof(want)) == 0, "task %d read the wrong data", i);
        osal_dma_free(os, bufs[i]);
    }
    close_stack();
}
END_TEST

/* Sixteen READs submitted from one block, as a reap's done callbacks submit
 * the next commands: their SQ entries are written one by one, but the
 * doorbell rings once per DRV_DOORBELL_BATCH (4) of them (core_task.c,
 * task_drain), not once per command. */
struct burst {
    struct flight *f;
    struct one *ones;
    struct osal_dma_buffer **bufs;
    struct drv_buffer_piece *pieces;
    int rc;
};

static void submit_burst(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < 16 && b->rc == 0; i++)
        b->rc = submit_read8(b->f, &b->ones[i], &b->bufs[i], &b->pieces[i], 9000 + (uint64_t)i,
                             2000 + 8 * (uint32_t)i);
}

START_TEST(a_burst_of_submissions_rings_once_per_batch)
{
    open_flavour(_i);
    struct osal *os = stack_osal(ST);
    static struct flight f;
    static struct one ones[16];
    struct osal_dma_buffer *bufs[16];
    struct drv_buffer_piece pieces[16];
    memset(&f, 0, sizeof(f));
    struct burst b = { .f = &f, .ones = ones, .bufs = bufs, .pieces = pieces };
    struct bus_stats before, after;
    bus_get_stats(stack_bus(ST), &before);
    ck_assert_int_eq(osal_queue_run_here(os, submit_burst, &b), 0);
    bus_get_stats(stack_bus(ST), &after);
    ck_assert_int_eq(b.rc, 0);
    /* One I/O queue (the default): 16 / 4 doorbells.  The admin queue's are
     * left out: a watchdog tick may ring it meanwhile. */
    ck_assert_uint_eq((after.doorbells - after.admin_doorbells) - (before.doorbells - before.admin_doorbells), 4);
    ck_assert_int_eq(stack_wait(ST, 20000), 0);
    ck_assert_int_eq(atomic_load(&f.done), 16);
    ck_assert_int_eq(atomic_load(&f.good), 16);
    ck_assert_int_eq(atomic_load(&f.wrong_id), 0);
    for (int i = 0; i < 16; i++)
        osal_dma_free(os, bufs[i]);
    close_stack();
}
END_TEST

/* READs whose data-in buffers the OS maps device-read-only: each one's DMA
 * faults in the IOMMU and the task fails.  A task that fails inside a reap
 * is reported at once, not at the batch's end, and its unmap is waited for
 * before its done runs all the same. */
START_TEST(failed_tasks_in_a_reap_are_unmapped_before_their_done)
{
    open_flavour(_i);
    struct osal *os = stack_osal(ST);
    osal_user_set_reverse_directions(os, true);
    static struct flight f;
    static struct one ones[8];
    struct osal_dma_buffer *bufs[8];
    struct drv_buffer_piece pieces[8];
    memset(&f, 0, sizeof(f));
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(submit_read8(&f, &ones[i], &bufs[i], &pieces[i], 7000 + (uint64_t)i, 8 * (uint32_t)i), 0);
    ck_assert_int_eq(stack_wait(ST, 20000), 0);
    ck_assert_int_eq(atomic_load(&f.done), 8);
    ck_assert_int_eq(atomic_load(&f.good), 0);
    ck_assert_int_eq(atomic_load(&f.unwaited), 0);
    osal_user_set_reverse_directions(os, false);
    for (int i = 0; i < 8; i++)
        osal_dma_free(os, bufs[i]);
    stack_close(ST); /* the IOMMU faults were the point: not close_stack */
    ST = NULL;
}
END_TEST

START_TEST(exec_rejects_bad_arguments)
{
    open_flavour(_i);
    uint8_t cdb[6] = { SCSI_OP_TEST_UNIT_READY };
    struct drv_completion c;
    ck_assert_int_eq(stack_exec(ST, 0, 0, cdb, 0, DRV_DIR_NONE, NULL, 0, &c), -EINVAL);
    ck_assert_int_eq(stack_exec(ST, 0, 0, cdb, 17, DRV_DIR_NONE, NULL, 0, &c), -EINVAL);
    ck_assert_int_eq(stack_exec(ST, 0, 0, NULL, 6, DRV_DIR_NONE, NULL, 0, &c), -EINVAL);
    ck_assert_int_eq(stack_exec(ST, 0, 0, cdb, 6, DRV_DIR_FROM_TARGET, NULL, 8, &c), -EINVAL);
    ck_assert_int_eq(stack_exec(ST, 0, 0, cdb, 6, (enum drv_dir)7, NULL, 0, &c), -EINVAL);
    ck_assert_int_eq(stack_exec(ST, 0, 0, cdb, 6, DRV_DIR_NONE, NULL, 0, NULL), -EINVAL);
    ck_assert_int_eq(stack_submit(ST, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(stack_wait(NULL, 0), -EINVAL);
    ck_assert_int_eq(stack_poll(NULL), -EINVAL);
    ck_assert_uint_eq(stack_outstanding(ST), 0);
    close_stack();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_io");
    TCase *t = tcase_create("io");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, inquiry, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, test_unit_ready, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, read_capacity_16, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, write_read_round_trip, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, synchronize_cache, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, mode_sense_caching_page, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, check_condition_carries_sense, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, many_tasks_in_flight, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, a_burst_of_submissions_rings_once_per_batch, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, failed_tasks_in_a_reap_are_unmapped_before_their_done, 0, SF_FLAVOURS);
    tcase_add_loop_test(t, exec_rejects_bad_arguments, 0, 1);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
