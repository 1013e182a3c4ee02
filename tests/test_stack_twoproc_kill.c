/* tests/test_stack_twoproc_kill.c — SIGKILL of the controller process under a write
 * + flush workload that goes through the whole driver stack (stack_submit ->
 * driver core -> osal_user -> remote bus -> `scsisim controller`).
 *
 * Each round submits batches of WRITE(10)s and SYNCHRONIZE CACHE(10)s and
 * kills the controller at a seeded random step with commands in flight; the
 * core sees the bus go dead and fails what was in flight; the controller is
 * restarted on the same socket and media file, stack_reconnect re-attaches,
 * and everything is read back through the stack.  Every write a completed
 * SYNCHRONIZE CACHE covered must be there.
 *
 * Whose record: the controller's oracle dies with its process, so the check
 * uses the host-side record of tests/support/dur_record.h (self-describing blocks:
 * per LBA the generation the last completed flush made durable and the
 * newest one issued; what is read back must lie in between).  Fifty rounds
 * per flavour (interrupts, polled) in one test each.
 *
 * The same with stack_options.auto_reconnect: the controller is killed from
 * outside the stack (a crash), and the stack restarts it and reconnects by
 * itself while I/O waits to be retried. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scsi/scsi.h"
#include "platform/bus_client.h"
#include "tests/support/dur_record.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

#define BLOCKS  64u   /* the drive: 16 slots of 4 blocks */
#define SLOT    4u
#define SLOTS   (BLOCKS / SLOT)
#define ROUNDS  50
#define STEPS   8
#define BATCH   4u    /* writes in flight at once, each in a slot of its own */

static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* One command in flight and what its completion means to the record. */
struct op {
    struct dur_record *d;
    bool flush;
    uint32_t lba, n;
    struct osal_dma_buffer *buf;
    struct drv_completion c;
    atomic_bool done;
};

static void op_done(void *arg, const struct drv_completion *c)
{
    struct op *o = arg;
    o->c = *c;
    bool good = c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_GOOD;
    if (good && o->flush)
        dur_flushed(o->d); /* submitted with no write outstanding */
    else if (good)
        dur_acked(o->d, o->lba, o->n);
    atomic_store(&o->done, true);
}

static void submit(struct stack *st, struct op *o, uint64_t id)
{
    struct drv_task t = { .task_id = id, .target = 0, .lun = 0 };
    struct drv_buffer_piece piece;
    if (o->flush) {
        t.cdb[0] = SCSI_OP_SYNCHRONIZE_CACHE_10;
        t.cdb_len = 10;
        t.dir = DRV_DIR_NONE;
    } else {
        sf_cdb_rw10(t.cdb, true, o->lba, (uint16_t)o->n);
        t.cdb_len = 10;
        t.dir = DRV_DIR_FROM_INITIATOR;
        t.requested_transfer = (uint64_t)o->n * DUR_BLOCK;
        piece = (struct drv_buffer_piece){ .buf = o->buf, .offset = 0, .length = t.requested_transfer };
        t.pieces = &piece;
        t.piece_count = 1;
    }
    atomic_init(&o->done, false);
    ck_assert_int_eq(stack_submit(st, &t, op_done, o), 0);
}

/* Reads the whole drive back through the stack and checks it against the
 * record; then what is on the media is the new baseline. */
static void read_back_and_check(struct stack *st, struct dur_record *d, int round, unsigned *acked_lost,
                                unsigned *newer)
{
    uint8_t *b = malloc(BLOCKS * DUR_BLOCK);
    ck_assert_ptr_nonnull(b);
    uint8_t cdb[10];
    sf_cdb_rw10(cdb, false, 0, BLOCKS);
    struct drv_completion c;
    sf_exec(st, cdb, 10, DRV_DIR_FROM_TARGET, b, BLOCKS * DUR_BLOCK, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    for (uint32_t lba = 0; lba < BLOCKS; lba++) {
        const uint8_t *blk = b + (size_t)lba * DUR_BLOCK;
        struct dur_verdict v;
        char why[200];
        ck_assert_msg(dur_check(d, lba, blk, &v, why, sizeof(why)), "round %d: flushed write lost: %s", round, why);
        *acked_lost += v.acked_lost;
        *newer += v.newer;
        dur_adopt(d, lba, blk);
    }
    free(b);
}

static struct stack *open_killable(int flavour, const char *dir, bool autorc)
{
    char media[300];
    snprintf(media, sizeof(media), "%s/ld0.img", dir);
    struct sim_config cfg;
    s2_config(&cfg, media);
    cfg.lus[0].blocks = BLOCKS;
    struct stack_options o;
    s2_options(&o, flavour);
    o.auto_reconnect = autorc;
    struct stack *st = s2_open(flavour, &cfg, &o);
    sim_config_free(&cfg);
    return st;
}

START_TEST(no_flushed_write_lost_across_fifty_sigkills)
{
    int flavour = _i;
    char dir[256];
    proc_tmpdir(dir, sizeof(dir), "s2");
    struct stack *st = open_killable(flavour, dir, false);
    struct op ops[BATCH];
    for (unsigned i = 0; i < BATCH; i++) {
        memset(&ops[i], 0, sizeof(ops[i]));
        ck_assert_int_eq(osal_dma_alloc(stack_osal(st), SLOT * DUR_BLOCK, 4096, &ops[i].buf), 0);
    }
    struct osal_user_stats os0;
    osal_user_get_stats(stack_osal(st), &os0);
    int fds0 = proc_count_fds(0);

    struct dur_record d;
    dur_init(&d, BLOCKS);
    uint64_t seed = 0x5eed0000u + (uint64_t)flavour, id = 1;
    unsigned acked_lost = 0, newer = 0, flushes = 0, writes = 0, failed = 0;
    for (int round = 0; round < ROUNDS; round++) {
        unsigned kill_at = rnd(&seed) % STEPS;
        for (unsigned step = 0; step <= kill_at; step++) {
            unsigned nops;
            if (rnd(&seed) % 4 == 0) {
                ops[0].d = &d;
                ops[0].flush = true;
                nops = 1;
                submit(st, &ops[0], id++);
            } else {
                nops = 1 + rnd(&seed) % BATCH;
                unsigned first_slot = rnd(&seed) % SLOTS;
                for (unsigned i = 0; i < nops; i++) {
                    struct op *o = &ops[i];
                    o->d = &d;
                    o->flush = false;
                    o->n = 1 + rnd(&seed) % SLOT;
                    o->lba = ((first_slot + i) % SLOTS) * SLOT + rnd(&seed) % (SLOT - o->n + 1);
                    dur_fill(&d, o->lba, o->n, o->buf->vaddr);
                    submit(st, o, id++);
                }
            }
            if (step == kill_at)
                break; /* in flight when the power goes */
            ck_assert_int_eq(stack_wait(st, 30000), 0);
            for (unsigned i = 0; i < nops; i++) {
                ck_assert_msg(ops[i].c.scsi_status == SCSI_STATUS_GOOD && ops[i].c.response == 0,
                              "round %d: a command failed with the controller alive", round);
                ops[i].flush ? flushes++ : writes++;
            }
        }
        ck_assert_int_eq(stack_kill_controller(st), 0);
        ck_assert_int_eq(stack_controller_pid(st), 0);
        /* The core sees the dead bus and fails what was in flight. */
        ck_assert_int_eq(stack_wait(st, 30000), 0);
        for (unsigned i = 0; i < BATCH; i++) {
            failed += atomic_load(&ops[i].done) && ops[i].c.response != DRV_SR_TASK_COMPLETE;
            atomic_store(&ops[i].done, false); /* counted once */
        }
        char err[512] = "";
        ck_assert_msg(stack_start_controller(st, err, sizeof(err)) == 0, "round %d: %s", round, err);
        ck_assert_int_gt(stack_controller_pid(st), 0);
        ck_assert_msg(stack_reconnect(st, err, sizeof(err)) == 0, "round %d: %s", round, err);
        ck_assert(sf_clear_ua(st, 0, 0));
        read_back_and_check(st, &d, round, &acked_lost, &newer);
    }
    /* The workload did what it claims: flushes and writes completed, some
     * in flight failed, and some acknowledged unflushed writes were lost
     * (the kill really dropped the controller's cache). */
    ck_assert_uint_gt(flushes, 10);
    ck_assert_uint_gt(writes, 50);
    ck_assert_uint_gt(failed, 0);
    ck_assert_uint_gt(acked_lost, 0);
    ck_assert_uint_eq(stack_reconnects(st), ROUNDS);
    /* Nothing leaked across the restarts: descriptors, buffers, mappings. */
    ck_assert_int_eq(proc_count_fds(0), fds0);
    struct osal_user_stats os1;
    osal_user_get_stats(stack_osal(st), &os1);
    ck_assert_uint_eq(os1.dma_buffers_live, os0.dma_buffers_live);
    ck_assert_uint_eq(os1.mappings_live, os0.mappings_live);
    ck_assert_uint_eq(os1.iova_pages_live, os0.iova_pages_live);
    dur_free(&d);
    for (unsigned i = 0; i < BATCH; i++)
        osal_dma_free(stack_osal(st), ops[i].buf);
    stack_close(st);
    proc_rmdir(dir);
}
END_TEST

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits (failure detector, not a timing assertion) until the stack has
 * reconnected `want` times. */
static bool await_reconnects(struct stack *st, uint64_t want)
{
    for (int i = 0; i < 30000 && stack_reconnects(st) < want; i++)
        sleep_ms(1);
    return stack_reconnects(st) >= want;
}

START_TEST(auto_reconnect_after_a_crash)
{
    int flavour = _i;
    char dir[256];
    proc_tmpdir(dir, sizeof(dir), "s2");
    struct stack *st = open_killable(flavour, dir, true);
    struct dur_record d;
    dur_init(&d, BLOCKS);
    uint8_t *b = malloc(BLOCKS * DUR_BLOCK);
    ck_assert_ptr_nonnull(b);
    unsigned kills = testutil_scale(5, 2);
    for (unsigned k = 0; k < kills; k++) {
        /* Write everything, flush: all durable. */
        dur_fill(&d, 0, BLOCKS, b);
        uint8_t cdb[10];
        sf_cdb_rw10(cdb, true, 0, BLOCKS);
        struct drv_completion c;
        sf_exec(st, cdb, 10, DRV_DIR_FROM_INITIATOR, b, BLOCKS * DUR_BLOCK, &c);
        ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
        dur_acked(&d, 0, BLOCKS);
        uint8_t sync[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
        sf_exec(st, sync, 10, DRV_DIR_NONE, NULL, 0, &c);
        ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
        dur_flushed(&d);
        /* A crash nobody told the stack about. */
        pid_t pid = stack_controller_pid(st);
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_msg(await_reconnects(st, k + 1), "no automatic reconnection after kill %u", k + 1);
        ck_assert_int_gt(stack_controller_pid(st), 0);
        ck_assert_int_ne(stack_controller_pid(st), pid);
        ck_assert(sf_clear_ua(st, 0, 0));
        unsigned lost = 0, newer = 0;
        read_back_and_check(st, &d, (int)k, &lost, &newer);
        ck_assert_uint_eq(lost, 0);
        ck_assert_uint_eq(newer, 0);
    }
    free(b);
    dur_free(&d);
    stack_close(st);
    proc_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_twoproc_kill");
    TCase *t = tcase_create("kill");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, no_flushed_write_lost_across_fifty_sigkills, S2_TWO_IRQ, S2_TWO_POLL + 1);
    tcase_add_loop_test(t, auto_reconnect_after_a_crash, S2_TWO_IRQ, S2_TWO_POLL + 1);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
