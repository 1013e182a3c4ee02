/* tests/test_driver_core_recovery.c — timeouts and recovery against the
 * controller's fault injection (sim/sim.h): a dropped command is aborted and
 * re-issued; a hung firmware costs a controller reset and a hard reset; a
 * FAULT, a stopped heartbeat, a power cut are seen by the watchdog; a
 * controller that does not come back is declared dead and revived with
 * drv_core_recover; the re-issue budget holds; stop fails what is in flight. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/core_internal.h"
#include "scsi/scsi.h"
#include "tests/support/drv_fixture.h"
#include "tests/support/testutil.h"

static struct drvfx fx;
static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };

static void open_fast_hb(int polled, uint32_t max_reissues, uint32_t heartbeat_stall_ms)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 2);
    struct drv_core_options o;
    drvfx_fast_options(&o);
    o.polled = polled != 0;
    o.max_reissues = max_reissues;
    if (heartbeat_stall_ms)
        o.heartbeat_stall_ms = heartbeat_stall_ms;
    drvfx_open(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);
    struct drv_completion c;
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "first TEST UNIT READY");
}

static void open_fast(int polled, uint32_t max_reissues)
{
    open_fast_hb(polled, max_reissues, 0);
}

/* A block on the core's serial queue that does nothing: once osal_queue_sync
 * has run it, everything queued before it (task_start, which writes the
 * command into its slot and rings the doorbell) has run too.  The tests use
 * it instead of sleeping "long enough" for a task to be in flight. */
static void barrier(void *arg)
{
    (void)arg;
}

static void queue_barrier(void)
{
    ck_assert_int_eq(osal_queue_sync(fx.os, barrier, NULL), 0);
}

START_TEST(dropped_command_is_aborted_and_reissued)
{
    open_fast(_i, 0);
    uint8_t data[4096], back[4096], cdb[10];
    struct drv_completion c;
    drvfx_pattern(data, 40, 8, 1);
    drvfx_rw10(cdb, true, 40, 8);
    drvfx_exec(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_INITIATOR, data, 4096, &c);
    drvfx_expect_good(&c, "WRITE");
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    fx.task_timeout_ms = 1000; /* the re-issue must never be late: exact counts below */
    drvfx_rw10(cdb, false, 40, 8);
    drvfx_exec(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, back, 4096, &c);
    drvfx_expect_good(&c, "READ after its first try was dropped");
    ck_assert_mem_eq(back, data, 4096);
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.timeouts, 1);
    ck_assert_uint_eq(st.aborts, 1);
    ck_assert_uint_eq(st.reissues, 1);
    ck_assert_uint_eq(st.controller_resets, 0);
    drvfx_close(&fx);
}
END_TEST

START_TEST(reissue_budget_is_bounded)
{
    open_fast(_i, 2);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_DROP_NEXT, 10), 0);
    fx.task_timeout_ms = 150;
    struct drv_completion c;
    drvfx_exec(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_int_eq(c.response, DRV_SR_SERVICE_DELIVERY_FAILURE);
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_ABORTED);
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.aborts, 3);
    ck_assert_uint_eq(st.reissues, 2);
    sim_ctrl_inject_clear(fx.ctrl);
    drvfx_close(&fx);
}
END_TEST

START_TEST(hung_firmware_costs_a_hard_reset)
{
    open_fast(_i, 0);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_HANG, 0), 0);
    fx.task_timeout_ms = 1000; /* the re-issue must never be late: exact counts below */
    struct drv_completion c;
    drvfx_exec(&fx, 0, 1, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    /* Re-issued after the resets: the unit reports the reset first. */
    uint8_t key, asc, ascq;
    drvfx_sense(&c, &key, &asc, &ascq);
    ck_assert_uint_eq(key, SCSI_SK_UNIT_ATTENTION);
    ck_assert_uint_eq(asc, 0x29);
    drvfx_exec_past_ua(&fx, 0, 1, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after recovery");
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.aborts, 1);
    ck_assert_uint_ge(st.controller_resets, 1);
    ck_assert_uint_ge(st.hard_resets, 1);
    ck_assert_uint_eq(st.reissues, 1);
    ck_assert_uint_ge(drvfx_events(&fx, DRV_EVENT_CONTROLLER_RESET, NULL), 1);
    ck_assert_uint_eq(drvfx_events(&fx, DRV_EVENT_CONTROLLER_DEAD, NULL), 0);
    drvfx_close(&fx);
}
END_TEST

START_TEST(fault_is_cured_by_a_hard_reset)
{
    open_fast(_i, 0);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_FATAL, 0), 0);
    ck_assert(drvfx_wait_event(&fx, DRV_EVENT_CONTROLLER_RESET));
    struct drv_completion c;
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after FAULT");
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_ge(st.hard_resets, 1);
    ck_assert_uint_eq(osal_reg_read32(fx.os, HBA_REG_FAULT_CODE), HBA_FAULT_NONE);
    drvfx_close(&fx);
}
END_TEST

START_TEST(stopped_heartbeat_is_noticed)
{
    open_fast_hb(_i, 0, 200);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_STALL_HEARTBEAT, 0), 0);
    /* A controller reset does not restart the heartbeat: the watchdog goes on to a hard reset. */
    struct drv_core_stats st;
    TESTUTIL_WAIT_FOR((drv_core_get_stats(fx.core, &st), st.hard_resets != 0));
    ck_assert_uint_ge(st.controller_resets, 2);
    ck_assert_uint_ge(st.hard_resets, 1);
    struct drv_completion c;
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after the heartbeat came back");
    ck_assert_uint_eq(drvfx_events(&fx, DRV_EVENT_CONTROLLER_DEAD, NULL), 0);
    drvfx_close(&fx);
}
END_TEST

START_TEST(power_cut_kills_then_recover_revives)
{
    open_fast(_i, 0);
    ck_assert_int_ge(sim_ctrl_power_cut(fx.ctrl, NULL), 0);
    ck_assert(drvfx_wait_event(&fx, DRV_EVENT_CONTROLLER_DEAD));
    struct drv_completion c;
    drvfx_exec(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_int_eq(c.response, DRV_SR_SERVICE_DELIVERY_FAILURE);

    ck_assert_int_eq(sim_ctrl_power_on(fx.ctrl), 0);
    ck_assert_int_eq(drv_core_recover(fx.core), 0);
    drvfx_exec(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    uint8_t key, asc, ascq;
    drvfx_sense(&c, &key, &asc, &ascq); /* power on occurred */
    ck_assert_uint_eq(key, SCSI_SK_UNIT_ATTENTION);
    ck_assert_uint_eq(asc, 0x29);
    ck_assert_uint_eq(ascq, 0x01);
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after drv_core_recover");
    drvfx_close(&fx);
}
END_TEST

struct one {
    int calls;
    struct drv_completion c;
};

static void one_done(void *arg, const struct drv_completion *c)
{
    struct one *o = arg;
    o->c = *c;
    __atomic_fetch_add(&o->calls, 1, __ATOMIC_SEQ_CST);
}

START_TEST(task_in_flight_when_the_controller_dies_fails)
{
    open_fast(_i, 0);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    struct drv_task t;
    memset(&t, 0, sizeof t);
    t.task_id = 5;
    memcpy(t.cdb, tur, 6);
    t.cdb_len = 6;
    t.timeout_ms = 120000; /* no abort before the controller is gone, however slow the host */
    struct one o = { 0 };
    ck_assert_int_eq(drv_core_process_task(fx.core, &t, one_done, &o), 0);
    queue_barrier(); /* in its slot: dropped by the controller, never completed */
    ck_assert_int_eq(__atomic_load_n(&o.calls, __ATOMIC_SEQ_CST), 0);
    ck_assert_int_ge(sim_ctrl_power_cut(fx.ctrl, NULL), 0);
    TESTUTIL_WAIT_FOR((drv_core_poll(fx.core), __atomic_load_n(&o.calls, __ATOMIC_SEQ_CST) != 0));
    ck_assert_int_eq(o.calls, 1);
    ck_assert_uint_eq(o.c.task_id, 5);
    ck_assert_int_eq(o.c.response, DRV_SR_SERVICE_DELIVERY_FAILURE);
    ck_assert_uint_eq(drvfx_events(&fx, DRV_EVENT_CONTROLLER_DEAD, NULL), 1);
    drvfx_close(&fx);
}
END_TEST

START_TEST(stop_fails_what_is_in_flight)
{
    open_fast(_i, 0);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    struct drv_task t;
    memset(&t, 0, sizeof t);
    memcpy(t.cdb, tur, 6);
    t.cdb_len = 6;
    t.timeout_ms = 10000;
    struct one o = { 0 };
    ck_assert_int_eq(drv_core_process_task(fx.core, &t, one_done, &o), 0);
    queue_barrier(); /* in flight (dropped) when the core stops */
    ck_assert_int_eq(__atomic_load_n(&o.calls, __ATOMIC_SEQ_CST), 0);
    drv_core_stop(fx.core);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.c.response, DRV_SR_SERVICE_DELIVERY_FAILURE);
    /* Stopped: nothing more is accepted; the controller was shut down cleanly. */
    ck_assert_int_eq(drv_core_process_task(fx.core, &t, one_done, &o), -ESHUTDOWN);
    ck_assert_uint_eq(HBA_STATUS_STATE(osal_reg_read32(fx.os, HBA_REG_STATUS)), HBA_STATE_READY);
    drvfx_close(&fx);
}
END_TEST

/* The controller loses track of a command (white box: the core's record of
 * its id is changed, so the ABORT names an id the controller does not hold
 * and answers "not found"): the core waits its grace period, resets the LUN,
 * and when even that does not end the command, resets the controller. */
struct lose {
    struct drv_task t;
    struct one *o;
    int rc;
    int forgotten; /* commands whose id was changed: must be 1 */
};

static void forget_cid(void *arg)
{
    struct lose *l = arg;
    struct drv_core *core = fx.core;
    for (unsigned i = 0; i < core->nioq; i++)
        for (uint16_t s = 0; s < core->ioq[i].nslots; s++) {
            struct drv_cmd *c = &core->ioq[i].cmd[s];
            if (c->busy && c->io) {
                c->cid ^= 0x8000u; /* another generation of the same slot */
                l->forgotten++;
            }
        }
}

/* Runs on the core's queue: submits the task and queues forget_cid right
 * behind its task_start, so the id is changed before the task's timer can
 * run however slow the host is (no "sleep well before the deadline"). */
static void submit_then_forget(void *arg)
{
    struct lose *l = arg;
    l->rc = drv_core_process_task(fx.core, &l->t, one_done, l->o);
    if (l->rc == 0)
        l->rc = osal_queue_async(fx.os, forget_cid, l);
}

START_TEST(lost_command_escalates_to_lun_then_controller_reset)
{
    open_fast(_i, 0);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_DROP_NEXT, 1), 0);
    struct one o = { 0 };
    struct lose l = { .o = &o };
    l.t.task_id = 9;
    memcpy(l.t.cdb, tur, 6);
    l.t.cdb_len = 6;
    l.t.lun = 1;
    l.t.timeout_ms = 1000; /* the re-issue after the reset must never be late */
    ck_assert_int_eq(osal_queue_sync(fx.os, submit_then_forget, &l), 0);
    ck_assert_int_eq(l.rc, 0);
    TESTUTIL_WAIT_FOR((drv_core_poll(fx.core), __atomic_load_n(&o.calls, __ATOMIC_SEQ_CST) != 0));
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(l.forgotten, 1);
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.aborts, 1);
    ck_assert_uint_eq(st.lun_resets, 1);
    ck_assert_uint_eq(st.controller_resets, 1);
    ck_assert_uint_ge(st.stray_completions, 1); /* the LUN reset ended the id we no longer knew */
    ck_assert_uint_eq(st.reissues, 1);
    /* Re-issued after the reset: GOOD, or the reset's UNIT ATTENTION. */
    ck_assert_int_eq(o.c.response, DRV_SR_TASK_COMPLETE);
    struct drv_completion c;
    drvfx_exec_past_ua(&fx, 0, 1, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after the escalation");
    drvfx_close(&fx);
}
END_TEST

/* Two-process reconnect, in one process: the controller is replaced by a new
 * one (a restarted controller process), the OS layer moves to its bus, and
 * drv_core_recover brings the core up on it. */
START_TEST(recover_on_a_new_controller)
{
    /* The watchdog must not step in: a loaded machine can take longer than a
     * short heartbeat stall between the power cut and drv_core_recover, and
     * this test is about the recovery the caller asks for. */
    open_fast_hb(_i, 0, 60000);
    char why[256];
    struct sim_ctrl *ctrl2;
    ck_assert_int_eq(sim_ctrl_create(&fx.cfg, &ctrl2, why, sizeof why), 0);
    ck_assert_int_eq(sim_ctrl_power_on(ctrl2), 0);
    struct bus *bus2;
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(ctrl2), NULL, &bus2), 0);
    ck_assert_int_ge(sim_ctrl_power_cut(fx.ctrl, NULL), 0); /* the old one dies */
    ck_assert_int_eq(osal_user_set_bus(fx.os, bus2), 0);
    /* The old bus goes only after the recovery: its host RAM is not the new
     * one (a restarted controller process keeps the RAM in place; this test
     * cannot), and a thread of the core that read a buffer's address just
     * before the switch must not find it unmapped. */
    struct bus *old_bus = fx.bus;
    struct sim_ctrl *old_ctrl = fx.ctrl;
    fx.bus = bus2;
    fx.ctrl = ctrl2;
    ck_assert_int_eq(drv_core_recover(fx.core), 0);
    bus_detach(old_bus);
    sim_ctrl_destroy(old_ctrl);

    struct drv_completion c;
    uint8_t data[4096], back[4096], cdb[10];
    drvfx_pattern(data, 8, 8, 3);
    drvfx_rw10(cdb, true, 8, 8);
    drvfx_exec_past_ua(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_INITIATOR, data, 4096, &c);
    drvfx_expect_good(&c, "WRITE on the new controller");
    drvfx_rw10(cdb, false, 8, 8);
    drvfx_exec(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, back, 4096, &c);
    drvfx_expect_good(&c, "READ on the new controller");
    ck_assert_mem_eq(back, data, 4096);
    drvfx_close(&fx);
}
END_TEST

/* Bring-up from FAULT: the core hard-resets the controller before it starts. */
START_TEST(start_from_fault)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 1);
    struct drv_core_options o;
    drvfx_fast_options(&o);
    drvfx_build(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);
    ck_assert_int_eq(sim_ctrl_inject(fx.ctrl, SIM_INJECT_FATAL, 0), 0);
    TESTUTIL_WAIT_FOR(bus_read32(fx.bus, HBA_REG_STATUS) & HBA_STATUS_FATAL);
    ck_assert_uint_eq(bus_read32(fx.bus, HBA_REG_STATUS) & HBA_STATUS_FATAL, HBA_STATUS_FATAL);
    ck_assert_int_eq(drv_core_start(fx.core), 0);
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.hard_resets, 1);
    struct drv_completion c;
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after starting from FAULT");
    drvfx_close(&fx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_core_recovery");
    TCase *tc = tcase_create("recovery");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, dropped_command_is_aborted_and_reissued, 0, 2);
    tcase_add_loop_test(tc, reissue_budget_is_bounded, 0, 2);
    tcase_add_loop_test(tc, hung_firmware_costs_a_hard_reset, 0, 2);
    tcase_add_loop_test(tc, fault_is_cured_by_a_hard_reset, 0, 1);
    tcase_add_loop_test(tc, stopped_heartbeat_is_noticed, 0, 1);
    tcase_add_loop_test(tc, power_cut_kills_then_recover_revives, 0, 2);
    tcase_add_loop_test(tc, task_in_flight_when_the_controller_dies_fails, 0, 2);
    tcase_add_loop_test(tc, stop_fails_what_is_in_flight, 0, 2);
    tcase_add_loop_test(tc, lost_command_escalates_to_lun_then_controller_reset, 0, 2);
    tcase_add_loop_test(tc, recover_on_a_new_controller, 0, 2);
    tcase_add_test(tc, start_from_fault);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
