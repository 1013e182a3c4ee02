/* tests/test_ctrl_regs.c — the register file and the controller state
 * machine: reset values, CAP fields from the configuration, bring-up, FAULT
 * (sticky, first fault wins) and the hard reset key sequence, controller
 * reset, shutdown, heartbeat and its stall, registers while powered off. */
#include <errno.h>
#include <string.h>

#include <stdatomic.h>

#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

static uint64_t wakeups(struct hh *h)
{
    struct sim_ctrl_stats s;
    sim_ctrl_get_stats(h->ctrl, &s);
    return s.wakeups;
}

/* Returns once the firmware ran a whole loop iteration that began after now. */
static void firmware_caught_up(struct hh *h)
{
    uint64_t w = wakeups(h);
    for (int i = 0; i < 100000 && wakeups(h) < w + 2; i++)
        proc_sleep_ms(1);
    ck_assert_uint_ge(wakeups(h), w + 2);
}

START_TEST(reset_values_and_cap_fields_follow_the_config)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.max_targets = 4;
    cfg.max_luns = 2;
    cfg.max_io_queues = 5;
    cfg.max_queue_entries = 256;
    cfg.vectors = 6;
    cfg.max_sges = 64;
    cfg.max_sgl_depth = 3;
    cfg.addr_bits = 48;
    cfg.max_xfer = 256 * 1024;
    cfg.reorder = false;
    struct hh h;
    hh_open(&h, &cfg);

    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_VERSION), HBA_VERSION_1_0);
    uint32_t q = hh_rd(&h, HBA_REG_CAP_QUEUES);
    ck_assert_uint_eq(HBA_CAPQ_MAX_ENTRIES(q), 256);
    ck_assert_uint_eq(HBA_CAPQ_MAX_IO_QUEUES(q), 5);
    ck_assert_uint_eq(HBA_CAPQ_VECTORS(q), 6);
    uint32_t s = hh_rd(&h, HBA_REG_CAP_SGL);
    ck_assert_uint_eq(HBA_CAPS_MAX_SGES(s), 64);
    ck_assert_uint_eq(HBA_CAPS_ADDR_BITS(s), 48);
    ck_assert_uint_eq(HBA_CAPS_MAX_DEPTH(s), 3);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CAP_MAX_XFER), 256 * 1024);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CAP_TARGETS), 4u | 2u << 16);
    uint32_t f = hh_rd(&h, HBA_REG_CAP_FEATURES);
    ck_assert(f & HBA_FEAT_BIT_IOMMU);
    ck_assert(f & HBA_FEAT_BIT_EVENT_IDX);
    ck_assert(f & HBA_FEAT_BIT_POLL);
    ck_assert(f & HBA_FEAT_BIT_VWC);
    ck_assert(!(f & HBA_FEAT_BIT_OOO));
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_STATUS), (uint32_t)HBA_STATE_READY << HBA_STATUS_STATE_SHIFT);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CONFIG), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_INT_STATUS), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_INT_MASK_SET), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_DIAG), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_SQ_TAIL(0)), 0);
    hh_close(&h);

    hh_config(&cfg);
    cfg.reorder = true;
    hh_open(&h, &cfg);
    ck_assert(hh_rd(&h, HBA_REG_CAP_FEATURES) & HBA_FEAT_BIT_OOO);
    hh_close(&h);
}
END_TEST

START_TEST(bad_configs_are_refused_with_a_reason)
{
    struct sim_config cfg;
    struct sim_ctrl *c = NULL;
    char err[256] = "";
    hh_config(&cfg);
    cfg.vectors = 33;
    ck_assert_int_eq(sim_ctrl_create(&cfg, &c, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err, "vectors"));
    cfg.vectors = 9;
    cfg.addr_bits = 31;
    ck_assert_int_eq(sim_ctrl_create(&cfg, &c, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "addr_bits"));
    sim_config_free(&cfg);
}
END_TEST

START_TEST(state_is_reset_while_the_firmware_initialises)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.init_ms = 60000;
    struct hh h;
    hh_open(&h, &cfg);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert_uint_eq(HBA_STATUS_STATE(hh_rd(&h, HBA_REG_STATUS)), HBA_STATE_RESET);
    ck_assert(!(hh_rd(&h, HBA_REG_STATUS) & HBA_STATUS_RDY));
    ck_assert_int_eq(sim_ctrl_power_on(h.ctrl), -EALREADY);
    hh_close(&h);
}
END_TEST

START_TEST(bring_up_reaches_operational)
{
    struct hh h;
    hh_open(&h, NULL);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert(hh_enable(&h, 16));
    uint32_t st = hh_rd(&h, HBA_REG_STATUS);
    ck_assert_uint_eq(HBA_STATUS_STATE(st), HBA_STATE_OPERATIONAL);
    ck_assert(st & HBA_STATUS_RDY);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CONFIG), HBA_CONFIG_EN); /* reads back at once */
    ck_assert_int_eq(hh_create_pair(&h, 1, 8, 1, 0), 0);
    hh_close(&h);
}
END_TEST

START_TEST(enable_written_during_reset_takes_effect_at_ready)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.init_ms = 100;
    struct hh h;
    hh_open(&h, &cfg);
    ck_assert(hh_enable(&h, 8));
    hh_close(&h);
}
END_TEST

static void expect_bad_aq(void (*spoil)(struct hh *h))
{
    struct hh h;
    hh_open(&h, NULL);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    hh_program_aq(&h, 16);
    spoil(&h);
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert(hh_rd(&h, HBA_REG_STATUS) & HBA_STATUS_FATAL);
    ck_assert(!(hh_rd(&h, HBA_REG_STATUS) & HBA_STATUS_RDY));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_BAD_ADMIN_QUEUE);
    hh_close(&h);
}

static void size_one(struct hh *h) { hh_wr(h, HBA_REG_AQ_SIZE, 1u | 16u << 16); }
static void cq_too_big(struct hh *h) { hh_wr(h, HBA_REG_AQ_SIZE, 16u | 4097u << 16); }
static void sq_misaligned(struct hh *h) { hh_wr(h, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)h->q[0].sq.iova + 32); }
static void sq_unmapped(struct hh *h) { hh_wr(h, HBA_REG_AQ_SQ_BASE_HI, 0x7); }
static void cq_read_only(struct hh *h)
{
    struct hh_buf b = hh_alloc(h, 4096, HBA_DMA_TO_DEVICE);
    hh_wr(h, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)b.iova);
}

START_TEST(bad_admin_queue_faults)
{
    expect_bad_aq(size_one);
    expect_bad_aq(cq_too_big);
    expect_bad_aq(sq_misaligned);
    expect_bad_aq(sq_unmapped);
    expect_bad_aq(cq_read_only);
}
END_TEST

START_TEST(fault_is_sticky_and_only_the_right_key_sequence_recovers)
{
    struct hh h;
    hh_open(&h, NULL);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    hh_program_aq(&h, 16);
    hh_wr(&h, HBA_REG_AQ_SIZE, 0);
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_BAD_ADMIN_QUEUE);

    /* A second fault does not overwrite the first. */
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_FATAL, 0), 0);
    firmware_caught_up(&h);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_BAD_ADMIN_QUEUE);

    /* Clearing EN does not leave FAULT. */
    hh_wr(&h, HBA_REG_CONFIG, 0);
    /* A broken key sequence followed by HARD_RESET does nothing... */
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_1);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_2);
    hh_wr(&h, HBA_REG_RESET_KEY, 0x1234);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_3);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_4);
    hh_wr(&h, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    /* ...and neither does a sequence in the wrong order. */
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_2);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_1);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_3);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_4);
    hh_wr(&h, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    /* The four keys in order are accepted; the FIFO keeps order, so once
     * KEY_ACCEPTED shows, every write above was handled. */
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_1);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_2);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_3);
    hh_wr(&h, HBA_REG_RESET_KEY, HBA_RESET_KEY_4);
    ck_assert(hh_wait_reg(&h, HBA_REG_DIAG, HBA_DIAG_KEY_ACCEPTED, HBA_DIAG_KEY_ACCEPTED, HH_TIMEOUT_MS));
    ck_assert_uint_eq(HBA_STATUS_STATE(hh_rd(&h, HBA_REG_STATUS)), HBA_STATE_FAULT);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_BAD_ADMIN_QUEUE);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_RESET_KEY), 0); /* write-only */

    hh_wr(&h, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_DIAG), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CONFIG), 0);
    hh_forget_queues(&h);
    ck_assert(hh_enable(&h, 16));
    ck_assert_int_eq(hh_create_pair(&h, 1, 8, 1, 0), 0);
    hh_close(&h);
}
END_TEST

START_TEST(injected_fatal_faults_and_hard_reset_recovers)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_FATAL, 0), 0);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_INJECTED);
    hh_hard_reset(&h);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    hh_forget_queues(&h);
    ck_assert(hh_enable(&h, 16));
    hh_close(&h);
}
END_TEST

START_TEST(controller_reset_en_1_0_1_is_not_lost)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    /* Both writes are posted; the firmware sees the 1 -> 0 edge even if it
     * looks only after the second one. */
    hh_wr(&h, HBA_REG_CONFIG, 0);
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN);
    firmware_caught_up(&h);
    ck_assert(hh_wait_state(&h, HBA_STATE_OPERATIONAL));
    /* The reset deleted I/O queue 1 (so it can be created again) and
     * restarted the admin queue at index 0. */
    hh_restart_admin(&h);
    ck_assert_int_eq(hh_create_pair(&h, 1, 8, 1, 0), 0);
    hh_close(&h);
}
END_TEST

START_TEST(shutdown_flushes_and_reports_done)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert(!(hh_rd(&h, HBA_REG_STATUS) & HBA_STATUS_SHST_DONE));
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN | HBA_CONFIG_SHN);
    ck_assert(hh_wait_reg(&h, HBA_REG_STATUS, HBA_STATUS_SHST_DONE, HBA_STATUS_SHST_DONE, HH_TIMEOUT_MS));
    uint8_t cdb[6] = { 0 }; /* TEST UNIT READY */
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SHUTDOWN);
    hh_close(&h);
}
END_TEST

START_TEST(heartbeat_advances_and_stalls_on_injection)
{
    struct hh h;
    hh_open(&h, NULL);
    uint32_t b = hh_rd(&h, HBA_REG_HEARTBEAT);
    ck_assert(hh_wait_heartbeat(&h, b, HH_TIMEOUT_MS));
    ck_assert(hh_wait_heartbeat(&h, hh_rd(&h, HBA_REG_HEARTBEAT), HH_TIMEOUT_MS));

    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_STALL_HEARTBEAT, 0), 0);
    firmware_caught_up(&h);
    b = hh_rd(&h, HBA_REG_HEARTBEAT);
    firmware_caught_up(&h);
    firmware_caught_up(&h);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_HEARTBEAT), b);
    /* The stalled firmware still handles registers. */
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));

    ck_assert_int_eq(sim_ctrl_inject_clear(h.ctrl), 0);
    ck_assert(hh_wait_heartbeat(&h, b, HH_TIMEOUT_MS));
    hh_close(&h);
}
END_TEST

/* The firmware thread stuck for a while in one command (as in a long
 * fdatasync of SYNCHRONIZE CACHE on a big file-backed drive) is busy, not
 * dead: the heartbeat must keep counting, or a driver's watchdog would reset
 * a healthy controller in the middle of a flush. */
struct busy {
    atomic_int calls;
    atomic_int release; /* the test lets the command end */
};

/* Holds the firmware thread inside the command until the test releases it,
 * with a generous bound so a broken test cannot hang the controller; no
 * fixed "300 ms command" that a loaded machine could outlast. */
static void slow_observer(void *arg, const struct sim_cmd_seen *seen)
{
    (void)seen;
    struct busy *b = arg;
    atomic_fetch_add(&b->calls, 1);
    TESTUTIL_WAIT_FOR(atomic_load(&b->release));
}

START_TEST(heartbeat_beats_while_the_firmware_is_busy)
{
    struct hh h;
    hh_open_ready(&h, NULL); /* I/O queue pair 1 exists */
    struct busy busy;
    atomic_init(&busy.calls, 0);
    atomic_init(&busy.release, 0);
    sim_ctrl_set_observer(h.ctrl, slow_observer, &busy);
    uint8_t cdb[6] = { 0 }; /* TEST UNIT READY */
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = hh_cid(&h, 1);
    hh_submit(&h, 1, &e);
    TESTUTIL_WAIT_FOR(atomic_load(&busy.calls) != 0);
    ck_assert_int_eq(atomic_load(&busy.calls), 1); /* the firmware thread is now inside the command */
    uint32_t b = hh_rd(&h, HBA_REG_HEARTBEAT);
    TESTUTIL_WAIT_FOR(hh_rd(&h, HBA_REG_HEARTBEAT) != b);
    ck_assert_uint_gt(hh_rd(&h, HBA_REG_HEARTBEAT), b);
    struct hba_cq_entry early;
    ck_assert(!hh_poll_cqe(&h, 1, &early)); /* and it still is: the beat came while it was busy */
    atomic_store(&busy.release, 1);
    struct hba_cq_entry c;
    ck_assert(hh_wait_cqe(&h, 1, e.cid, &c, HH_TIMEOUT_MS));
    sim_ctrl_set_observer(h.ctrl, NULL, NULL);
    hh_close(&h);
}
END_TEST

START_TEST(registers_read_zero_while_powered_off)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert_int_ge(sim_ctrl_power_cut(h.ctrl, NULL), 0);
    ck_assert(!sim_ctrl_powered(h.ctrl));
    ck_assert_int_eq(sim_ctrl_power_cut(h.ctrl, NULL), -EALREADY);
    for (uint32_t off = 0; off < HBA_BAR0_SIZE; off += 4)
        ck_assert_uint_eq(hh_rd(&h, off), 0);
    struct bus_stats s0, s1;
    bus_get_stats(h.bus, &s0);
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN);
    hh_wr(&h, HBA_REG_SQ_TAIL(1), 3);
    bus_get_stats(h.bus, &s1);
    ck_assert_uint_eq(s1.dropped, s0.dropped + 2);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CONFIG), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_SQ_TAIL(1)), 0);
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_HANG, 0), -ENODEV);

    ck_assert_int_eq(sim_ctrl_power_on(h.ctrl), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    hh_forget_queues(&h);
    ck_assert(hh_enable(&h, 16));
    hh_close(&h);
}
END_TEST

START_TEST(bus_ignores_read_only_and_reserved_registers)
{
    struct hh h;
    hh_open(&h, NULL);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    hh_wr(&h, HBA_REG_ID, 0);
    hh_wr(&h, HBA_REG_STATUS, 0xFFFFFFFF);
    hh_wr(&h, HBA_REG_FAULT_CODE, 7);
    hh_wr(&h, HBA_REG_SQ_EVENT_IDX(0), 5);
    hh_wr(&h, 0x3, 1);            /* misaligned */
    hh_wr(&h, HBA_BAR0_SIZE, 1);  /* outside BAR0 */
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert_uint_eq(HBA_STATUS_STATE(hh_rd(&h, HBA_REG_STATUS)), HBA_STATE_READY);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_SQ_EVENT_IDX(0)), 0);
    ck_assert_uint_eq(hh_rd(&h, 0x3), 0xFFFFFFFFu);
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_regs");
    TCase *tc = tcase_create("regs");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reset_values_and_cap_fields_follow_the_config);
    tcase_add_test(tc, bad_configs_are_refused_with_a_reason);
    tcase_add_test(tc, state_is_reset_while_the_firmware_initialises);
    tcase_add_test(tc, bring_up_reaches_operational);
    tcase_add_test(tc, enable_written_during_reset_takes_effect_at_ready);
    tcase_add_test(tc, bad_admin_queue_faults);
    tcase_add_test(tc, fault_is_sticky_and_only_the_right_key_sequence_recovers);
    tcase_add_test(tc, injected_fatal_faults_and_hard_reset_recovers);
    tcase_add_test(tc, controller_reset_en_1_0_1_is_not_lost);
    tcase_add_test(tc, shutdown_flushes_and_reports_done);
    tcase_add_test(tc, heartbeat_advances_and_stalls_on_injection);
    tcase_add_test(tc, heartbeat_beats_while_the_firmware_is_busy);
    tcase_add_test(tc, registers_read_zero_while_powered_off);
    tcase_add_test(tc, bus_ignores_read_only_and_reserved_registers);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
