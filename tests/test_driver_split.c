/* tests/test_driver_split.c — a task longer than the controller's maximum
 * transfer, split by the driver core into chunks that are at the controller
 * together (core/core_task.c, DRV_SPLIT_WINDOW): all of them within the
 * window, one completion when every piece is back, the first bad block in
 * LBA order reported with the bytes before it, an abort that ends every
 * piece, the ORDERED barrier kept around all the pieces of a task, one piece
 * refused TASK SET FULL sent again alone, and a controller reset that sends
 * every piece again.
 *
 * The controller holds READs with the fault rule `hang op=read` (taken, never
 * completed until an abort): how many commands the core then has out shows
 * whether the pieces went together, without any timing. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/drv_fixture.h"
#include "tests/support/testutil.h"

#define KiB 1024u
#define CHUNK_BLOCKS (512u * KiB / 512u) /* the controller's 512 KiB in 512-byte blocks */

static struct drvfx fx;
static atomic_uint held; /* commands the controller took and holds (the hang rule) */

static void observe(void *arg, const struct sim_cmd_seen *s)
{
    (void)arg;
    if (!s->completed)
        atomic_fetch_add(&held, 1u);
}

/* _i: 0 interrupt-driven, 1 polled */
static void open_mode(int polled)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 2);
    struct drv_core_options o = { .polled = polled != 0, .io_queues = 2 };
    drvfx_open(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);
    atomic_store(&held, 0u);
    sim_ctrl_set_observer(fx.ctrl, observe, NULL);
    uint8_t cdb[6] = { 0 }; /* TEST UNIT READY: collects the power-on unit attention of each LU */
    struct drv_completion c;
    for (uint16_t lun = 0; lun < 2; lun++) {
        drvfx_exec_past_ua(&fx, 0, lun, cdb, 6, DRV_DIR_NONE, NULL, 0, &c);
        drvfx_expect_good(&c, "TEST UNIT READY");
    }
}

static void close_fx(void)
{
    sim_ctrl_set_observer(fx.ctrl, NULL, NULL);
    drvfx_close(&fx);
}

static void add_rule(const char *rule)
{
    char err[256];
    ck_assert_msg(sim_ctrl_fault_add(fx.ctrl, rule, err, sizeof err) == 0, "%s: %s", rule, err);
}

/* A task submitted without waiting for it. */
struct pending_task {
    struct osal_dma_buffer *dma;
    struct drv_buffer_piece piece;
    struct drv_task t;
    atomic_bool done;
    struct drv_completion c;
};

static void task_done(void *arg, const struct drv_completion *c)
{
    struct pending_task *p = arg;
    p->c = *c;
    atomic_store(&p->done, true);
}

static void submit(struct pending_task *p, uint64_t id, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
                   enum drv_dir dir, uint64_t len, enum drv_task_attr attr)
{
    memset(p, 0, sizeof *p);
    if (len)
        ck_assert_int_eq(osal_dma_alloc(fx.os, len, 4096, &p->dma), 0);
    p->piece = (struct drv_buffer_piece){ .buf = p->dma, .offset = 0, .length = len };
    p->t.task_id = id;
    p->t.lun = lun;
    memcpy(p->t.cdb, cdb, cdb_len);
    p->t.cdb_len = cdb_len;
    p->t.dir = dir;
    p->t.requested_transfer = len;
    p->t.pieces = len ? &p->piece : NULL;
    p->t.piece_count = len ? 1u : 0u;
    p->t.attr = attr;
    ck_assert_int_eq(drv_core_process_task(fx.core, &p->t, task_done, p), 0);
}

static void wait_done(struct pending_task *p)
{
    TESTUTIL_WAIT_FOR(atomic_load(&p->done));
    ck_assert_msg(atomic_load(&p->done), "task %llu never completed", (unsigned long long)p->t.task_id);
    if (p->dma)
        osal_dma_free(fx.os, p->dma);
    p->dma = NULL;
}

/* Commands the core has sent since st0 (the stats call runs on the core's
 * dispatch queue after everything submitted before it). */
static uint64_t commands_since(const struct drv_core_stats *st0)
{
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    return st.commands - st0->commands;
}

static void tmf_done(void *arg, int rc)
{
    atomic_int *out = arg;
    atomic_store(out, rc == 0 ? 1 : -1);
}

static void abort_task(uint64_t id)
{
    atomic_int answered = 0;
    struct drv_tmf tmf = { .kind = DRV_TMF_ABORT_TASK, .task_id = id };
    ck_assert_int_eq(drv_core_task_mgmt(fx.core, &tmf, tmf_done, &answered), 0);
    TESTUTIL_WAIT_FOR(atomic_load(&answered) != 0);
    ck_assert_int_eq(atomic_load(&answered), 1);
}

START_TEST(pieces_are_at_the_controller_together_and_an_abort_ends_every_one)
{
    open_mode(_i);
    add_rule("hang op=read");
    struct drv_core_stats st0;
    drv_core_get_stats(fx.core, &st0);

    /* 3 chunks: every one goes at once (one after the other, the first
     * would be the only one out, held by the rule). */
    uint8_t cdb[16];
    struct pending_task p;
    drvfx_rw16(cdb, false, 5000, 2 * CHUNK_BLOCKS + 1);
    submit(&p, 101, 0, cdb, 16, DRV_DIR_FROM_TARGET, (uint64_t)(2 * CHUNK_BLOCKS + 1) * 512, DRV_ATTR_SIMPLE);
    ck_assert_uint_eq(commands_since(&st0), 3);
    TESTUTIL_WAIT_FOR(atomic_load(&held) == 3);
    ck_assert_uint_eq(atomic_load(&held), 3);
    ck_assert(!atomic_load(&p.done));

    /* The abort ends each piece at the controller (only an abort ends a held
     * one), and the task once, with nothing transferred. */
    abort_task(101);
    wait_done(&p);
    ck_assert_int_ne(p.c.response, DRV_SR_TASK_COMPLETE);
    ck_assert_uint_eq(p.c.ctrl_status, HBA_CS_ABORTED);
    ck_assert_uint_eq(p.c.bytes_transferred, 0);
    ck_assert_uint_eq(commands_since(&st0), 3);

    /* 20 chunks: DRV_SPLIT_WINDOW of them at once, no more, and none after the abort. */
    drv_core_get_stats(fx.core, &st0);
    atomic_store(&held, 0u);
    drvfx_rw16(cdb, false, 0, 20 * CHUNK_BLOCKS);
    submit(&p, 102, 0, cdb, 16, DRV_DIR_FROM_TARGET, (uint64_t)20 * CHUNK_BLOCKS * 512, DRV_ATTR_SIMPLE);
    ck_assert_uint_eq(commands_since(&st0), DRV_SPLIT_WINDOW);
    TESTUTIL_WAIT_FOR(atomic_load(&held) == DRV_SPLIT_WINDOW);
    ck_assert_uint_eq(atomic_load(&held), DRV_SPLIT_WINDOW);
    abort_task(102);
    wait_done(&p);
    ck_assert_uint_eq(p.c.ctrl_status, HBA_CS_ABORTED);
    ck_assert_uint_eq(commands_since(&st0), DRV_SPLIT_WINDOW);

    /* Without the rule the same read completes whole: every slot came back. */
    ck_assert_int_eq(sim_ctrl_fault_clear(fx.ctrl), 0);
    submit(&p, 103, 0, cdb, 16, DRV_DIR_FROM_TARGET, (uint64_t)20 * CHUNK_BLOCKS * 512, DRV_ATTR_SIMPLE);
    wait_done(&p);
    drvfx_expect_good(&p.c, "split READ(16) of 10 MiB");
    ck_assert_uint_eq(p.c.bytes_transferred, (uint64_t)20 * CHUNK_BLOCKS * 512);
    close_fx();
}
END_TEST

START_TEST(a_middle_piece_failing_reports_its_first_bad_block_and_the_bytes_before)
{
    open_mode(_i);
    const uint32_t blocks = 2 * CHUNK_BLOCKS + 1; /* chunks: 5000.., 6024.., 7048 */
    uint8_t *data = malloc((size_t)blocks * 512), *back = calloc(blocks, 512);
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(back);
    drvfx_pattern(data, 5000, blocks, 9);
    uint8_t cdb[16];
    struct drv_completion c;
    drvfx_rw16(cdb, true, 5000, blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_INITIATOR, data, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "split WRITE(16)");

    /* Bad blocks in the middle chunk and the last: the middle one is what a
     * single command would have hit first. */
    add_rule("medium lba=7048 count=1");
    add_rule("medium lba=6500 count=1");
    struct drv_core_stats st0;
    drv_core_get_stats(fx.core, &st0);
    drvfx_rw16(cdb, false, 5000, blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, back, (uint64_t)blocks * 512, &c);
    ck_assert_uint_eq(commands_since(&st0), 3);
    ck_assert_uint_eq(c.response, DRV_SR_TASK_COMPLETE);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(c.sense, c.sense_len, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_MEDIUM_ERROR);
    ck_assert_uint_eq(si.asc, 0x11);
    ck_assert(si.info_valid);
    ck_assert_uint_eq(si.info, 6500);
    /* The first chunk whole; the failing one moved nothing. */
    ck_assert_uint_eq(c.bytes_transferred, (uint64_t)CHUNK_BLOCKS * 512);
    ck_assert_mem_eq(back, data, (size_t)CHUNK_BLOCKS * 512);

    /* Only the last chunk bad: everything before it counts. */
    ck_assert_int_eq(sim_ctrl_fault_clear(fx.ctrl), 0);
    add_rule("medium lba=7048 count=1");
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, back, (uint64_t)blocks * 512, &c);
    ck_assert(scsi_sense_parse(c.sense, c.sense_len, &si));
    ck_assert_uint_eq(si.info, 7048);
    ck_assert_uint_eq(c.bytes_transferred, (uint64_t)2 * CHUNK_BLOCKS * 512);
    free(data);
    free(back);
    close_fx();
}
END_TEST

START_TEST(nothing_later_passes_an_ordered_split_task)
{
    open_mode(_i);
    add_rule("hang op=read");
    struct drv_core_stats st0;
    drv_core_get_stats(fx.core, &st0);
    uint8_t cdb[16], tur[6] = { 0 };
    struct pending_task ordered, later, other_lu;
    drvfx_rw16(cdb, false, 0, 3 * CHUNK_BLOCKS);
    submit(&ordered, 201, 0, cdb, 16, DRV_DIR_FROM_TARGET, (uint64_t)3 * CHUNK_BLOCKS * 512, DRV_ATTR_ORDERED);
    /* Its pieces go together ... */
    ck_assert_uint_eq(commands_since(&st0), 3);
    /* ... and a SIMPLE task of its LU received after it waits for all of them;
     * another LU's does not. */
    submit(&later, 202, 0, tur, 6, DRV_DIR_NONE, 0, DRV_ATTR_SIMPLE);
    submit(&other_lu, 203, 1, tur, 6, DRV_DIR_NONE, 0, DRV_ATTR_SIMPLE);
    wait_done(&other_lu);
    drvfx_expect_good(&other_lu.c, "TEST UNIT READY on LUN 1");
    ck_assert_uint_eq(commands_since(&st0), 4);
    ck_assert(!atomic_load(&later.done));

    abort_task(201);
    wait_done(&ordered);
    ck_assert_uint_eq(ordered.c.ctrl_status, HBA_CS_ABORTED);
    wait_done(&later);
    drvfx_expect_good(&later.c, "TEST UNIT READY after the ORDERED task");
    ck_assert_uint_eq(commands_since(&st0), 5);
    close_fx();
}
END_TEST

START_TEST(a_busy_piece_goes_again_while_the_others_complete)
{
    open_mode(_i);
    /* One piece answered TASK SET FULL: only that chunk is sent again (at the
     * core's next tick), and the task completes whole, once. */
    add_rule("busy op=read status=task-set-full limit=1");
    const uint32_t blocks = 3 * CHUNK_BLOCKS;
    uint8_t *data = malloc((size_t)blocks * 512), *back = calloc(blocks, 512);
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(back);
    drvfx_pattern(data, 0, blocks, 4);
    uint8_t cdb[16];
    struct drv_completion c;
    drvfx_rw16(cdb, true, 0, blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_INITIATOR, data, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "split WRITE(16)");
    struct drv_core_stats st0, st;
    drv_core_get_stats(fx.core, &st0);
    drvfx_rw16(cdb, false, 0, blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, back, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "split READ(16) with one piece refused TASK SET FULL");
    ck_assert_uint_eq(c.bytes_transferred, (uint64_t)blocks * 512);
    ck_assert_mem_eq(back, data, (size_t)blocks * 512);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.busy_retries - st0.busy_retries, 1);
    ck_assert_uint_eq(st.commands - st0.commands, 3 + 1);
    free(data);
    free(back);
    close_fx();
}
END_TEST

START_TEST(a_controller_reset_sends_every_piece_again)
{
    open_mode(_i);
    /* The three pieces are held; the reset ends them (ABORTED_RESET), the
     * core sends each chunk again, and the rule, spent, lets them run.  The
     * first command after the reset gets its UNIT ATTENTION (DEVICE INTERNAL
     * RESET): that piece stops the task, once, and the read then goes whole. */
    add_rule("hang op=read limit=3");
    struct drv_core_stats st0, st;
    drv_core_get_stats(fx.core, &st0);
    uint8_t cdb[16];
    struct pending_task p;
    drvfx_rw16(cdb, false, 0, 3 * CHUNK_BLOCKS);
    submit(&p, 301, 0, cdb, 16, DRV_DIR_FROM_TARGET, (uint64_t)3 * CHUNK_BLOCKS * 512, DRV_ATTR_SIMPLE);
    TESTUTIL_WAIT_FOR(atomic_load(&held) == 3);
    ck_assert_uint_eq(atomic_load(&held), 3);
    ck_assert_int_eq(drv_core_reset_controller(fx.core, false), 0);
    wait_done(&p);
    uint8_t key, asc, ascq;
    drvfx_sense(&p.c, &key, &asc, &ascq);
    ck_assert_msg(key == SCSI_SK_UNIT_ATTENTION && asc == 0x29 && ascq == 0x04, "sense %x/%02x/%02x", key, asc, ascq);
    ck_assert_uint_lt(p.c.bytes_transferred, (uint64_t)3 * CHUNK_BLOCKS * 512);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.controller_resets - st0.controller_resets, 1);
    ck_assert_uint_eq(st.reissues - st0.reissues, 1); /* one re-issue of the task, all its pieces */
    ck_assert_uint_eq(st.commands - st0.commands, 3 + 3);
    submit(&p, 302, 0, cdb, 16, DRV_DIR_FROM_TARGET, (uint64_t)3 * CHUNK_BLOCKS * 512, DRV_ATTR_SIMPLE);
    wait_done(&p);
    drvfx_expect_good(&p.c, "split READ(16) after the reset");
    ck_assert_uint_eq(p.c.bytes_transferred, (uint64_t)3 * CHUNK_BLOCKS * 512);
    close_fx();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_split");
    TCase *tc = tcase_create("split");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, pieces_are_at_the_controller_together_and_an_abort_ends_every_one, 0, 2);
    tcase_add_loop_test(tc, a_middle_piece_failing_reports_its_first_bad_block_and_the_bytes_before, 0, 2);
    tcase_add_loop_test(tc, nothing_later_passes_an_ordered_split_task, 0, 2);
    tcase_add_loop_test(tc, a_busy_piece_goes_again_while_the_others_complete, 0, 2);
    tcase_add_loop_test(tc, a_controller_reset_sends_every_piece_again, 0, 2);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
