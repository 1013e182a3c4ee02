/* tests/test_backend_stack.c — host/backend_stack.h through its scsi_backend
 * interface against an in-process stack: everything is answered by the
 * controller (REPORT LUNS, missing LUNs, unknown opcodes), nexus ids and
 * nexus loss, lent and copied buffers, the overflow rules, and task
 * management ending commands the controller holds (inject drop-next) without
 * the core re-issuing them.  Also the LUN map's device mode and
 * drv_core_task_mgmt's argument checks. */
#include "tests/support/testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/backend_mem.h"
#include "host/backend_stack.h"
#include "host/scsi_lunmap.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "sim/sim.h"
#include "tests/support/stack_fixture.h"

static struct stack *st;
static struct backend_stack *bs;
static struct scsi_backend *be0; /* controller target 0 */

/* ---- a task and waiting for it ---------------------------------------------- */

struct job {
    struct scsi_backend_task t;
    atomic_int done;
    atomic_int seq;       /* order of completion among jobs and TMFs */
};
static atomic_int order;

static void job_done(struct scsi_backend_task *t)
{
    struct job *j = (struct job *)t;
    atomic_store(&j->seq, atomic_fetch_add(&order, 1) + 1);
    atomic_store(&j->done, 1);
}

struct tmfjob {
    struct scsi_backend_tmf f;
    atomic_int done;
    atomic_int seq;
};

static void tmfjob_done(struct scsi_backend_tmf *f)
{
    struct tmfjob *j = (struct tmfjob *)f;
    atomic_store(&j->seq, atomic_fetch_add(&order, 1) + 1);
    atomic_store(&j->done, 1);
}

static bool wait_flag(atomic_int *flag)
{
    TESTUTIL_WAIT_FOR(atomic_load(flag));
    return atomic_load(flag);
}

static void job_init(struct job *j, uint64_t nexus, uint64_t lun, uint64_t tag, const uint8_t *cdb, uint8_t cdb_len)
{
    memset(j, 0, sizeof(*j));
    j->t.nexus = nexus;
    j->t.lun = lun;
    j->t.tag = tag;
    memcpy(j->t.cdb, cdb, cdb_len);
    j->t.cdb_len = cdb_len;
    j->t.done = job_done;
}

static void job_read(struct job *j, uint8_t *buf, uint64_t len)
{
    j->t.dir = SCSI_DIR_READ;
    j->t.expected_len = len;
    j->t.data_in = buf;
    j->t.data_in_cap = len;
}

static void job_write(struct job *j, const uint8_t *buf, uint64_t len)
{
    j->t.dir = SCSI_DIR_WRITE;
    j->t.expected_len = len;
    j->t.data_out = buf;
    j->t.data_out_len = len;
}

/* Submits and waits; asserts it was accepted and completed. */
static void run_on(struct scsi_backend *be, struct job *j)
{
    int rc = scsi_backend_submit(be, &j->t);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(wait_flag(&j->done), "task %llu never completed", (unsigned long long)j->t.tag);
}

static uint32_t sense_of(const struct scsi_backend_task *t)
{
    struct scsi_sense_info si;
    if (!scsi_sense_parse(t->result.sense, t->result.sense_len, &si))
        return 0;
    return (uint32_t)si.key << 16 | (uint32_t)si.asc << 8 | si.ascq;
}

static void tur(uint64_t nexus, uint64_t lun, struct job *j)
{
    static const uint8_t cdb[6] = { SCSI_OP_TEST_UNIT_READY };
    job_init(j, nexus, lun, 1, cdb, 6);
    run_on(be0, j);
}

/* TEST UNIT READY until GOOD on nexus (consumes the power-on unit attention). */
static void clear_ua_lun(uint64_t nexus, uint64_t lun)
{
    struct job j;
    for (int i = 0; i < 4; i++) {
        tur(nexus, lun, &j);
        if (j.t.result.status == SCSI_STATUS_GOOD)
            return;
    }
    ck_abort_msg("nexus %llu: TEST UNIT READY never GOOD", (unsigned long long)nexus);
}

static void clear_ua(uint64_t nexus)
{
    clear_ua_lun(nexus, 0);
}

static void rw10(uint8_t cdb[10], bool write, uint32_t lba, uint16_t blocks)
{
    sf_cdb_rw10(cdb, write, lba, blocks);
}

/* ---- fixture ---------------------------------------------------------------- */

static void setup(void)
{
    struct sim_config cfg;
    sf_config(&cfg);
    ck_assert_ptr_nonnull(sim_config_lu(&cfg, 0, 3)); /* a second drive: LUN 3 */
    cfg.lus[1].blocks = SF_BLOCKS;
    st = sf_open(SF_INTERRUPTS, &cfg);
    sim_config_free(&cfg);
    char err[256] = "";
    struct backend_stack_options o = { .timeout_ms = 30000 }; /* dropped commands wait for the TMF */
    ck_assert_int_eq(backend_stack_create(st, &o, &bs, err, sizeof(err)), 0);
    be0 = backend_stack_target(bs, 0);
    ck_assert_ptr_nonnull(be0);
    atomic_store(&order, 0);
}

static void teardown(void)
{
    backend_stack_destroy(bs);
    stack_close(st);
}

/* ---- nothing is answered above the controller --------------------------------- */

START_TEST(report_luns_comes_from_the_firmware)
{
    uint8_t cdb[12] = { SCSI_OP_REPORT_LUNS }, buf[64];
    scsi_put_be32(cdb + 6, sizeof(buf));
    struct job j;
    job_init(&j, 1, 5, 1, cdb, 12); /* at a LUN without a drive: still the target's list */
    job_read(&j, buf, sizeof(buf));
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(scsi_get_be32(buf), 16);
    ck_assert_uint_eq(buf[8 + 1], 0);
    ck_assert_uint_eq(buf[16 + 1], 3);
    ck_assert_uint_eq(j.t.result.data_len, 24);
    ck_assert_int_eq(j.t.result.residual_kind, SCSI_RESID_UNDER);
    ck_assert_uint_eq(j.t.result.residual, sizeof(buf) - 24);
}
END_TEST

START_TEST(missing_luns_answer_as_sam_says)
{
    uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 }, buf[36];
    struct job j;
    job_init(&j, 1, 5, 1, inq, 6); /* within the controller's range, no drive */
    job_read(&j, buf, sizeof(buf));
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(buf[0], 0x7f); /* the firmware's peripheral qualifier 011b */

    job_init(&j, 1, 300, 2, inq, 6); /* beyond what the HBA can select */
    job_read(&j, buf, sizeof(buf));
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sense_of(&j.t), 0x052500);

    struct scsi_backend *be2 = backend_stack_target(bs, 2); /* a target without drives */
    ck_assert_ptr_nonnull(be2);
    job_init(&j, 1, 0, 3, inq, 6);
    job_read(&j, buf, sizeof(buf));
    run_on(be2, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sense_of(&j.t), 0x052500);
}
END_TEST

START_TEST(unknown_opcode_is_the_firmwares_answer)
{
    clear_ua(1);
    uint8_t cdb[10] = { 0x4d }; /* LOG SENSE: not implemented */
    struct job j;
    job_init(&j, 1, 0, 1, cdb, 10);
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sense_of(&j.t), 0x052000);
}
END_TEST

START_TEST(bad_tasks_are_refused)
{
    uint8_t cdb[6] = { SCSI_OP_TEST_UNIT_READY };
    struct job j;
    job_init(&j, 0, 0, 1, cdb, 6); /* nexus 0 is never valid */
    ck_assert_int_eq(scsi_backend_submit(be0, &j.t), -EINVAL);
    job_init(&j, 1, 0, 1, cdb, 6);
    j.t.cdb_len = 0;
    ck_assert_int_eq(scsi_backend_submit(be0, &j.t), -EINVAL);
    job_init(&j, 1, 0, 1, cdb, 6);
    j.t.dir = SCSI_DIR_WRITE;
    j.t.data_out_len = 512; /* and no data */
    ck_assert_int_eq(scsi_backend_submit(be0, &j.t), -EINVAL);
    ck_assert_ptr_eq(backend_stack_target(bs, 0), be0);
}
END_TEST

/* ---- nexus ids ------------------------------------------------------------------ */

START_TEST(each_nexus_gets_an_hba_id_and_its_unit_attentions)
{
    struct job j;
    tur(7, 0, &j); /* id 0, whose power-on unit attention the fixture consumed */
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(backend_stack_initiator_of(bs, 7), 0);
    tur(9, 0, &j);
    ck_assert_uint_eq(sense_of(&j.t), 0x062901); /* a new nexus, a new id: power on */
    ck_assert_int_eq(backend_stack_initiator_of(bs, 9), 1);
    tur(9, 0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(backend_stack_initiator_of(bs, 8), -1);

    scsi_backend_nexus_loss(be0, 7);
    scsi_backend_nexus_loss(be0, 12345); /* never seen: nothing to do */
    tur(9, 0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD); /* not for the others */
    /* The same I_T nexus comes back: same id, and it learns of the loss. */
    struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
    for (;;) { /* the NEXUS LOSS admin command may land after the first commands */
        tur(7, 0, &j);
        if (sense_of(&j.t) == 0x062907 || !testutil_wait_nap(&w))
            break;
        ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    }
    ck_assert_uint_eq(sense_of(&j.t), 0x062907);
    ck_assert_int_eq(backend_stack_initiator_of(bs, 7), 0);
    struct backend_stack_stats s;
    backend_stack_get_stats(bs, &s);
    ck_assert_uint_eq(s.nexuses, 2);
    ck_assert_uint_eq(s.nexus_losses, 2);
}
END_TEST

START_TEST(ids_run_out_and_come_back_after_a_loss)
{
    struct job j;
    for (uint64_t n = 1; n <= BACKEND_STACK_INITIATORS; n++)
        tur(100 + n, 0, &j);
    uint8_t cdb[6] = { SCSI_OP_TEST_UNIT_READY };
    job_init(&j, 999999, 0, 1, cdb, 6);
    ck_assert_int_eq(scsi_backend_submit(be0, &j.t), -EBUSY);
    scsi_backend_nexus_loss(be0, 105);
    int rc = -EBUSY;
    struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
    do { /* once the controller answered the loss */
        job_init(&j, 999999, 0, 1, cdb, 6);
        rc = scsi_backend_submit(be0, &j.t);
    } while (rc == -EBUSY && testutil_wait_nap(&w));
    ck_assert_int_eq(rc, 0);
    ck_assert(wait_flag(&j.done));
    ck_assert_int_eq(backend_stack_initiator_of(bs, 999999), 4); /* 105's id */
    ck_assert_int_eq(backend_stack_initiator_of(bs, 105), -1);
    struct backend_stack_stats s;
    backend_stack_get_stats(bs, &s);
    ck_assert_uint_ge(s.busy, 1);
}
END_TEST

/* ---- data ------------------------------------------------------------------------- */

START_TEST(lent_and_copied_buffers_carry_the_same_data)
{
    clear_ua(1);
    struct scsi_backend_buf lent;
    ck_assert_int_eq(scsi_backend_buf_get(be0, 0, 8192, &lent), 0);
    ck_assert_uint_ge(lent.cap, 8192);
    sf_fill(lent.data, 8192, 42);
    uint8_t cdb[10];
    rw10(cdb, true, 100, 16);
    struct job j;
    job_init(&j, 1, 0, 1, cdb, 10);
    job_write(&j, lent.data, 8192);
    j.t.buf = &lent;
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(j.t.result.data_len, 8192);

    uint8_t *mine = malloc(8192);
    rw10(cdb, false, 100, 16);
    job_init(&j, 1, 0, 2, cdb, 10);
    job_read(&j, mine, 8192);
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(memcmp(mine, lent.data, 8192), 0);
    struct backend_stack_stats s;
    backend_stack_get_stats(bs, &s);
    ck_assert_uint_eq(s.zero_copy, 1);
    ck_assert_uint_ge(s.copied, 1);
    free(mine);
    scsi_backend_buf_put(&lent);
    ck_assert_ptr_null(lent.owner);
    ck_assert_int_eq(scsi_backend_buf_get(be0, 0, 0, &lent), -EINVAL);
}
END_TEST

START_TEST(a_short_write_writes_the_blocks_that_came)
{
    clear_ua(1);
    uint8_t a[1024], b[1024], got[1024];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    uint8_t cdb[10];
    struct job j;
    rw10(cdb, true, 10, 2);
    job_init(&j, 1, 0, 1, cdb, 10);
    job_write(&j, a, 1024);
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);

    job_init(&j, 1, 0, 2, cdb, 10); /* two blocks asked, one sent */
    job_write(&j, b, 512);
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(j.t.result.residual_kind, SCSI_RESID_OVER);
    ck_assert_uint_eq(j.t.result.residual, 512);

    rw10(cdb, false, 10, 2);
    job_init(&j, 1, 0, 3, cdb, 10);
    job_read(&j, got, 1024);
    run_on(be0, &j);
    ck_assert_int_eq(memcmp(got, b, 512), 0);
    ck_assert_int_eq(memcmp(got + 512, a, 512), 0);

    rw10(cdb, true, 10, 1); /* nothing sent at all */
    job_init(&j, 1, 0, 4, cdb, 10);
    j.t.dir = SCSI_DIR_WRITE;
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(j.t.result.residual_kind, SCSI_RESID_OVER);
    ck_assert_uint_eq(j.t.result.residual, 512);
}
END_TEST

START_TEST(a_read_with_no_room_is_an_overflow)
{
    clear_ua(1);
    uint8_t cdb[10];
    rw10(cdb, false, 0, 1);
    struct job j;
    job_init(&j, 1, 0, 1, cdb, 10);
    j.t.dir = SCSI_DIR_READ;
    run_on(be0, &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(j.t.result.residual_kind, SCSI_RESID_OVER);
    ck_assert_uint_eq(j.t.result.residual, 512);
}
END_TEST

/* ---- the observer ------------------------------------------------------------------ */

struct seen {
    int n;
    enum backend_stack_event_kind first_kind;
    struct backend_stack_event last;
    uint8_t cdb[16];
};

static void observe(void *arg, const struct backend_stack_event *ev)
{
    struct seen *s = arg;
    if (s->n++ == 0)
        s->first_kind = ev->kind;
    s->last = *ev;
    memcpy(s->cdb, ev->cdb, ev->cdb_len);
}

START_TEST(the_observer_sees_what_went_down)
{
    clear_ua(1);
    struct seen seen = { 0 };
    backend_stack_set_observer(bs, observe, &seen);
    uint8_t data[512] = { 1, 2, 3 };
    uint8_t cdb[10];
    rw10(cdb, true, 20, 2);
    struct job j;
    job_init(&j, 1, 0, 0x77, cdb, 10);
    job_write(&j, data, 512);
    run_on(be0, &j);
    backend_stack_set_observer(bs, NULL, NULL);
    /* Where the target received it, then where it completed. */
    ck_assert_int_eq(seen.n, 2);
    ck_assert_int_eq(seen.first_kind, BACKEND_STACK_SUBMIT);
    ck_assert_int_eq(seen.last.kind, BACKEND_STACK_COMMAND);
    ck_assert_uint_eq(seen.last.tag, 0x77);
    ck_assert_uint_eq(seen.last.initiator, 0);
    ck_assert_uint_eq(seen.last.down_len, 512);
    ck_assert_uint_eq(seen.last.expected_len, 512);
    ck_assert_uint_eq(scsi_get_be16(seen.cdb + 7), 1); /* the trimmed CDB */
    ck_assert_uint_ge(seen.last.done_ns, seen.last.submit_ns);
}
END_TEST

/* ---- task management ---------------------------------------------------------------- */

/* Submits a READ the controller will hold (never completes on its own). */
static void held_read(struct job *j, uint64_t nexus, uint64_t tag, uint8_t *buf)
{
    ck_assert_int_eq(stack_inject(st, SIM_INJECT_DROP_NEXT, 1), 0);
    uint8_t cdb[10];
    rw10(cdb, false, 0, 1);
    job_init(j, nexus, 0, tag, cdb, 10);
    job_read(j, buf, 512);
    ck_assert_int_eq(scsi_backend_submit(be0, &j->t), 0);
    struct timespec ts = { 0, 20000000 };
    nanosleep(&ts, NULL);
    ck_assert_int_eq(atomic_load(&j->done), 0);
}

static void tmf(struct tmfjob *m, enum scsi_tmf_function fn, uint64_t nexus, uint64_t lun, uint64_t ref)
{
    memset(m, 0, sizeof(*m));
    m->f.fn = fn;
    m->f.nexus = nexus;
    m->f.lun = lun;
    m->f.ref_tag = ref;
    m->f.done = tmfjob_done;
    scsi_backend_task_mgmt(be0, &m->f);
    ck_assert_msg(wait_flag(&m->done), "TMF %d never answered", fn);
}

START_TEST(abort_task_ends_a_held_command_for_good)
{
    clear_ua(1);
    uint8_t buf[512];
    struct job j;
    held_read(&j, 1, 0x10, buf);
    struct tmfjob m;
    tmf(&m, SCSI_TMF_ABORT_TASK, 1, 0, 0x10);
    ck_assert_int_eq(m.f.response, SCSI_TMF_COMPLETE);
    ck_assert(atomic_load(&j.done));
    ck_assert(j.t.result.aborted);
    ck_assert_int_lt(atomic_load(&j.seq), atomic_load(&m.seq)); /* the task's done came first */
    struct drv_core_stats cs;
    drv_core_get_stats(stack_core(st), &cs);
    ck_assert_uint_eq(cs.reissues, 0);

    tmf(&m, SCSI_TMF_ABORT_TASK, 1, 0, 0x10); /* it is gone now */
    ck_assert_int_eq(m.f.response, SCSI_TMF_TASK_NOT_FOUND);
    struct job k;
    tur(1, 0, &k);
    ck_assert_int_eq(k.t.result.status, SCSI_STATUS_GOOD); /* an abort raises no unit attention */
}
END_TEST

START_TEST(lun_reset_ends_the_luns_commands_and_raises_29_03)
{
    clear_ua(1);
    clear_ua(2);
    uint8_t buf[512];
    struct job j;
    held_read(&j, 2, 0x20, buf); /* another nexus's command on the LUN */
    struct tmfjob m;
    tmf(&m, SCSI_TMF_LUN_RESET, 1, 0, 0);
    ck_assert_int_eq(m.f.response, SCSI_TMF_COMPLETE);
    ck_assert(j.t.result.aborted);
    ck_assert_int_lt(atomic_load(&j.seq), atomic_load(&m.seq));
    struct job k;
    tur(1, 0, &k);
    ck_assert_uint_eq(sense_of(&k.t), 0x062903);
    struct drv_core_stats cs;
    drv_core_get_stats(stack_core(st), &cs);
    ck_assert_uint_eq(cs.reissues, 0);
    struct backend_stack_stats s;
    backend_stack_get_stats(bs, &s);
    ck_assert_uint_eq(s.aborted, 1);
    ck_assert_uint_eq(s.tmfs, 1);
}
END_TEST

START_TEST(abort_task_set_ends_only_that_nexus)
{
    clear_ua(1);
    clear_ua(2);
    uint8_t buf[512];
    struct job j;
    held_read(&j, 1, 0x30, buf);
    struct tmfjob m;
    tmf(&m, SCSI_TMF_ABORT_TASK_SET, 2, 0, 0); /* another nexus: not its task */
    ck_assert_int_eq(m.f.response, SCSI_TMF_COMPLETE);
    ck_assert_int_eq(atomic_load(&j.done), 0);
    tmf(&m, SCSI_TMF_CLEAR_TASK_SET, 2, 0, 0); /* every nexus's */
    ck_assert_int_eq(m.f.response, SCSI_TMF_COMPLETE);
    ck_assert(j.t.result.aborted);
}
END_TEST

START_TEST(nexus_loss_aborts_its_commands)
{
    clear_ua(1);
    uint8_t buf[512];
    struct job j;
    held_read(&j, 1, 0x40, buf);
    scsi_backend_nexus_loss(be0, 1);
    ck_assert(wait_flag(&j.done));
    ck_assert(j.t.result.aborted);
}
END_TEST

/* Audit finding: when every nexus was lost at once, the nexus-loss admin
 * commands that found the admin queue full were dropped ("admin queue full:
 * task management opcode 0x8d not sent"), and those nexuses came back to
 * GOOD instead of 29h/07h.  Here the firmware is held while 256 nexuses are
 * lost, four times what the admin queue (64 entries, 4 of them async events)
 * can take; once it runs again, every returning nexus's first command must
 * report I_T NEXUS LOSS OCCURRED.  (Not all 4095: the retries drain at the
 * admin queue's pace, and the point is the overflow, not the count.) */
START_TEST(a_mass_nexus_loss_reaches_the_controller_for_every_nexus)
{
    enum { N = 256 };
    for (uint64_t n = 0; n < N; n++)
        clear_ua(200 + n);
    ck_assert_int_eq(stack_inject(st, SIM_INJECT_HANG, 0), 0);
    for (uint64_t n = 0; n < N; n++)
        scsi_backend_nexus_loss(be0, 200 + n);
    struct drv_core_stats cs;
    drv_core_get_stats(stack_core(st), &cs); /* on the core's queue: every loss has started */
    ck_assert_int_eq(stack_inject_clear(st), 0);
    struct backend_stack_stats s;
    /* until the controller answered every loss */
    TESTUTIL_WAIT_FOR((backend_stack_get_stats(bs, &s), s.tmfs_pending == 0));
    ck_assert_uint_eq(s.tmfs_pending, 0);
    for (uint64_t n = 0; n < N; n++) {
        struct job j;
        tur(200 + n, 0, &j);
        ck_assert_msg(sense_of(&j.t) == 0x062907, "nexus %llu: first TUR after the loss: status 0x%02x sense %06x",
                      (unsigned long long)(200 + n), j.t.result.status, sense_of(&j.t));
    }
    /* The test did make some wait for a slot. */
    drv_core_get_stats(stack_core(st), &cs);
    ck_assert_uint_ge(cs.tmf_retries, 1);
}
END_TEST

START_TEST(target_resets_reach_the_controller)
{
    clear_ua(1);
    clear_ua_lun(1, 3);
    uint8_t buf[512];
    struct job j;
    held_read(&j, 1, 0x50, buf);
    struct tmfjob m;
    tmf(&m, SCSI_TMF_TARGET_WARM_RESET, 1, 0, 0);
    ck_assert_int_eq(m.f.response, SCSI_TMF_COMPLETE);
    ck_assert(j.t.result.aborted);
    struct job k;
    tur(1, 3, &k); /* every LUN of the target */
    ck_assert_uint_eq(sense_of(&k.t), 0x062903);

    clear_ua(1);
    held_read(&j, 1, 0x51, buf);
    tmf(&m, SCSI_TMF_TARGET_COLD_RESET, 1, 0, 0); /* the controller is reset */
    ck_assert_int_eq(m.f.response, SCSI_TMF_COMPLETE);
    ck_assert(j.t.result.aborted);
    tur(1, 0, &k);
    ck_assert_uint_eq(sense_of(&k.t), 0x062904);
    struct drv_core_stats cs;
    drv_core_get_stats(stack_core(st), &cs);
    ck_assert_uint_eq(cs.controller_resets, 1);
    ck_assert_uint_eq(cs.reissues, 0);

    tmf(&m, SCSI_TMF_CLEAR_ACA, 1, 0, 0);
    ck_assert_int_eq(m.f.response, SCSI_TMF_NOT_SUPPORTED);
    tmf(&m, SCSI_TMF_LUN_RESET, 1, 300, 0); /* a LUN the controller cannot address */
    ck_assert_int_eq(m.f.response, SCSI_TMF_LUN_NOT_FOUND);
}
END_TEST

static void core_tmf_done(void *arg, int rc)
{
    atomic_int *out = arg;
    atomic_store(out, rc == 0 ? 1 : rc);
}

START_TEST(core_task_mgmt_checks_its_arguments)
{
    struct drv_core *core = stack_core(st);
    atomic_int res = 0;
    struct drv_tmf t = { .kind = 0 };
    ck_assert_int_eq(drv_core_task_mgmt(core, &t, core_tmf_done, &res), -EINVAL);
    t.kind = DRV_TMF_NEXUS_LOSS;
    t.initiator = HBA_MAX_INITIATORS;
    ck_assert_int_eq(drv_core_task_mgmt(core, &t, core_tmf_done, &res), -EINVAL);
    ck_assert_int_eq(drv_core_task_mgmt(core, NULL, core_tmf_done, &res), -EINVAL);
    t = (struct drv_tmf){ .kind = DRV_TMF_ABORT_TASK, .task_id = 123456 };
    ck_assert_int_eq(drv_core_task_mgmt(core, &t, NULL, &res), -EINVAL);
    ck_assert_int_eq(drv_core_task_mgmt(core, &t, core_tmf_done, &res), 0);
    ck_assert(wait_flag(&res));
    ck_assert_int_eq(atomic_load(&res), -ENOENT);
    atomic_store(&res, 0);
    t = (struct drv_tmf){ .kind = DRV_TMF_BUS_RESET };
    ck_assert_int_eq(drv_core_task_mgmt(core, &t, core_tmf_done, &res), 0);
    ck_assert(wait_flag(&res));
    ck_assert_int_eq(atomic_load(&res), 1);
}
END_TEST

/* ---- the LUN map in device mode -------------------------------------------------------- */

START_TEST(a_device_map_answers_nothing_itself)
{
    struct backend_mem *mem;
    struct backend_mem_options mo = { .luns = 2 };
    ck_assert_int_eq(backend_mem_create(&mo, &mem), 0);
    struct scsi_lunmap *m;
    ck_assert_int_eq(scsi_lunmap_create(&m), 0);
    ck_assert_int_eq(scsi_lunmap_set_device(m, NULL), -EINVAL);
    ck_assert_int_eq(scsi_lunmap_set_device(m, scsi_lunmap_backend(m)), -EINVAL);
    ck_assert_int_eq(scsi_lunmap_set_device(m, backend_mem_backend(mem)), 0);
    ck_assert_int_eq(scsi_lunmap_set_device(m, backend_mem_backend(mem)), -EEXIST);
    ck_assert_int_eq(scsi_lunmap_add(m, 0, backend_mem_backend(mem), 0), -EEXIST);
    ck_assert(scsi_lunmap_has(m, 77));
    ck_assert(!scsi_lunmap_has(m, SCSI_LUN_MAX + 1));

    /* LUN 7 is unknown to the map: the device answers (PQ 011b), with the LUN as given. */
    uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 }, buf[36];
    struct job j;
    job_init(&j, 1, 7, 1, inq, 6);
    job_read(&j, buf, sizeof(buf));
    run_on(scsi_lunmap_backend(m), &j);
    ck_assert_int_eq(j.t.result.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(buf[0], 0x7f);
    ck_assert_uint_eq(j.t.lun, 7);
    /* The test disk lends no buffers, and neither does the map for it. */
    struct scsi_backend_buf lent;
    ck_assert_int_eq(scsi_backend_buf_get(scsi_lunmap_backend(m), 0, 512, &lent), -ENOTSUP);
    scsi_backend_nexus_loss(scsi_lunmap_backend(m), 1);
    struct backend_mem_stats ms;
    backend_mem_get_stats(mem, &ms);
    ck_assert_uint_eq(ms.nexus_losses, 1);
    scsi_lunmap_destroy(m);
    backend_mem_destroy(mem);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("backend_stack");
    TCase *tc = tcase_create("stack");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, report_luns_comes_from_the_firmware);
    tcase_add_test(tc, missing_luns_answer_as_sam_says);
    tcase_add_test(tc, unknown_opcode_is_the_firmwares_answer);
    tcase_add_test(tc, bad_tasks_are_refused);
    tcase_add_test(tc, each_nexus_gets_an_hba_id_and_its_unit_attentions);
    tcase_add_test(tc, ids_run_out_and_come_back_after_a_loss);
    tcase_add_test(tc, lent_and_copied_buffers_carry_the_same_data);
    tcase_add_test(tc, a_short_write_writes_the_blocks_that_came);
    tcase_add_test(tc, a_read_with_no_room_is_an_overflow);
    tcase_add_test(tc, the_observer_sees_what_went_down);
    tcase_add_test(tc, abort_task_ends_a_held_command_for_good);
    tcase_add_test(tc, lun_reset_ends_the_luns_commands_and_raises_29_03);
    tcase_add_test(tc, abort_task_set_ends_only_that_nexus);
    tcase_add_test(tc, nexus_loss_aborts_its_commands);
    tcase_add_test(tc, a_mass_nexus_loss_reaches_the_controller_for_every_nexus);
    tcase_add_test(tc, target_resets_reach_the_controller);
    tcase_add_test(tc, core_task_mgmt_checks_its_arguments);
    suite_add_tcase(s, tc);
    TCase *map = tcase_create("lunmap");
    tcase_add_test(map, a_device_map_answers_nothing_itself);
    suite_add_tcase(s, map);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
