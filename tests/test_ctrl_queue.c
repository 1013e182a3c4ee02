/* tests/test_ctrl_queue.c — queue mechanics: out-of-order completion across
 * a batch, phase wrap over several laps, the event index (the firmware is
 * woken only when needed), a full CQ holding completions back, several queue
 * pairs served round-robin, a controller reset completing every outstanding
 * command, and a hung firmware whose heartbeat goes on. */
#include <string.h>

#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

static uint64_t wakeups(struct hh *h)
{
    struct sim_ctrl_stats s;
    sim_ctrl_get_stats(h->ctrl, &s);
    return s.wakeups;
}

static void firmware_caught_up(struct hh *h)
{
    uint64_t w = wakeups(h);
    for (int i = 0; i < 100000 && wakeups(h) < w + 2; i++)
        proc_sleep_ms(1);
    ck_assert_uint_ge(wakeups(h), w + 2);
}

static uint64_t bell_rings(struct hh *h)
{
    struct bus_stats s;
    bus_get_stats(h->bus, &s);
    return s.bell_rings;
}

static struct hba_sq_entry tur_entry(uint16_t cid)
{
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = cid;
    return e;
}

/* Submits n TURs with cids 0..n-1 under one doorbell; collects completions in arrival order. */
static void batch(struct hh *h, uint16_t qid, unsigned n, struct hba_cq_entry *out)
{
    for (unsigned i = 0; i < n; i++) {
        struct hba_sq_entry e = tur_entry((uint16_t)i);
        hh_put(h, qid, &e);
    }
    hh_doorbell(h, qid);
    ck_assert(hh_wait_n(h, qid, n, out, HH_TIMEOUT_MS));
}

static bool in_cid_order(const struct hba_cq_entry *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (c[i].cid != i)
            return false;
    return true;
}

START_TEST(reorder_completes_a_batch_out_of_order)
{
    struct hh h;
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.reorder = true;
    hh_open_ready(&h, &cfg);
    struct hba_cq_entry c[32];
    batch(&h, 1, 32, c);
    ck_assert(!in_cid_order(c, 32));
    bool seen[32] = { false };
    for (unsigned i = 0; i < 32; i++) {
        ck_assert_uint_lt(c[i].cid, 32);
        ck_assert(!seen[c[i].cid]);
        seen[c[i].cid] = true;
        /* A pass fetches up to 8 entries of the SQ and posts their
         * completions at its end: each comes back with the SQ head of its
         * pass, after the commands of that pass only. */
        ck_assert_uint_eq(c[i].sq_head % 8, 0);
        ck_assert_uint_lt(c[i].cid, c[i].sq_head);
        ck_assert_uint_ge(c[i].cid, c[i].sq_head - 8);
        if (i > 0)
            ck_assert_uint_ge(c[i].sq_head, c[i - 1].sq_head);
    }
    hh_close(&h);
}
END_TEST

START_TEST(no_reorder_completes_in_order)
{
    struct hh h;
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.reorder = false;
    hh_open_ready(&h, &cfg);
    struct hba_cq_entry c[32];
    batch(&h, 1, 32, c);
    ck_assert(in_cid_order(c, 32));
    hh_close(&h);
}
END_TEST

START_TEST(phase_wraps_over_many_laps_of_a_small_queue)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert_int_eq(hh_create_pair(&h, 2, 4, 1, 0), 0);
    for (unsigned lap = 0; lap < 7; lap++) {
        struct hba_cq_entry c[3];
        batch(&h, 2, 3, c); /* a 4-entry queue holds 3 */
        for (unsigned i = 0; i < 3; i++)
            ck_assert_uint_eq(c[i].ctrl_status, HBA_CS_SUCCESS);
        ck_assert_uint_eq(c[2].sq_head, h.q[2].sq_tail);
    }
    /* 21 completions through 4 slots: the harness is on its sixth pass. */
    ck_assert_uint_eq(h.q[2].phase, (21 / 4) % 2 ? 0 : 1);
    ck_assert_int_eq(hh_create_pair(&h, 3, 2, 1, 0), 0);
    for (uint16_t i = 0; i < 9; i++) {
        struct hba_sq_entry e = tur_entry(i);
        struct hba_cq_entry c;
        hh_submit(&h, 3, &e);
        ck_assert(hh_wait_cqe(&h, 3, i, &c, HH_TIMEOUT_MS));
    }
    hh_close(&h);
}
END_TEST

START_TEST(event_index_bell_only_when_parked)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    for (uint16_t i = 0; i < 6; i++) {
        ck_assert(hh_wait_fetched(&h, 1)); /* parked with SQ_EVENT_IDX = tail */
        uint64_t before = bell_rings(&h);
        struct hba_sq_entry e = tur_entry(i);
        hh_submit(&h, 1, &e);
        ck_assert_uint_eq(bell_rings(&h), before + 1);
        struct hba_cq_entry c;
        ck_assert(hh_wait_cqe(&h, 1, i, &c, HH_TIMEOUT_MS));
    }
    hh_close(&h);
}
END_TEST

START_TEST(event_index_no_bell_while_the_firmware_has_not_caught_up)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert(hh_wait_fetched(&h, 1));
    /* Hung, the firmware keeps its old event index: the first doorbell passes
     * it and rings, the next ones do not need to. */
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_HANG, 0), 0);
    firmware_caught_up(&h);
    uint64_t before = bell_rings(&h);
    for (uint16_t i = 0; i < 4; i++) {
        struct hba_sq_entry e = tur_entry(i);
        hh_submit(&h, 1, &e);
    }
    ck_assert_uint_eq(bell_rings(&h), before + 1);
    ck_assert_int_eq(sim_ctrl_inject_clear(h.ctrl), 0);
    struct hba_cq_entry c[4];
    ck_assert(hh_wait_n(&h, 1, 4, c, HH_TIMEOUT_MS));
    hh_close(&h);
}
END_TEST

static unsigned visible(struct hh *h, uint16_t qid)
{
    struct hh_queue *q = &h->q[qid];
    unsigned n = 0;
    for (uint32_t i = 0; i < q->cq_size; i++) {
        uint32_t dw3 = __atomic_load_n((uint32_t *)(void *)(q->cq.p + i * 16 + 12), __ATOMIC_ACQUIRE);
        n += (dw3 >> 16) & 1u;
    }
    return n;
}

START_TEST(full_cq_holds_completions_until_the_driver_makes_room)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert_int_eq(hh_create_queues(&h, 2, 16, 4, 1, 0), 0);
    for (uint16_t i = 0; i < 10; i++) {
        struct hba_sq_entry e = tur_entry(i);
        hh_put(&h, 2, &e);
    }
    hh_doorbell(&h, 2);
    for (int i = 0; i < 100000 && visible(&h, 2) < 3; i++)
        proc_sleep_ms(1);
    firmware_caught_up(&h);
    ck_assert_uint_eq(visible(&h, 2), 3); /* a 4-entry CQ holds 3 */
    struct hba_cq_entry c[10];
    ck_assert(hh_wait_n(&h, 2, 10, c, HH_TIMEOUT_MS));
    bool seen[10] = { false };
    for (unsigned i = 0; i < 10; i++) {
        ck_assert_uint_lt(c[i].cid, 10);
        ck_assert(!seen[c[i].cid]);
        seen[c[i].cid] = true;
    }
    hh_close(&h);
}
END_TEST

START_TEST(several_queue_pairs_are_all_served)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    for (uint16_t q = 2; q <= 8; q++)
        ck_assert_int_eq(hh_create_pair(&h, q, 32, (uint16_t)(q % 9), 0), 0);
    for (uint16_t q = 1; q <= 8; q++)
        for (uint16_t i = 0; i < 20; i++) {
            struct hba_sq_entry e = tur_entry(i);
            hh_put(&h, q, &e);
        }
    for (uint16_t q = 1; q <= 8; q++)
        hh_doorbell(&h, q);
    for (uint16_t q = 1; q <= 8; q++) {
        struct hba_cq_entry c[20];
        ck_assert(hh_wait_n(&h, q, 20, c, HH_TIMEOUT_MS));
        for (unsigned i = 0; i < 20; i++)
            ck_assert_uint_eq(c[i].sq_id, q);
    }
    hh_close(&h);
}
END_TEST

START_TEST(controller_reset_completes_outstanding_commands)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    /* An async event request, two commands the firmware lost, and (hung) two
     * it never fetched. */
    struct hba_sq_entry a = hh_admin_entry(HBA_ADM_ASYNC_EVENT, 0, 0, 0, 0);
    a.cid = hh_cid(&h, 0);
    hh_submit(&h, 0, &a);
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_DROP_NEXT, 2), 0);
    for (uint16_t i = 0; i < 2; i++) {
        struct hba_sq_entry e = tur_entry(i);
        hh_submit(&h, 1, &e);
    }
    ck_assert(hh_wait_fetched(&h, 1));
    ck_assert(hh_wait_fetched(&h, 0));
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_HANG, 0), 0);
    for (uint16_t i = 2; i < 4; i++) {
        struct hba_sq_entry e = tur_entry(i);
        hh_submit(&h, 1, &e);
    }
    hh_wr(&h, HBA_REG_CONFIG, 0);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert(!(hh_rd(&h, HBA_REG_STATUS) & HBA_STATUS_RDY));

    struct hba_cq_entry c[4];
    ck_assert(hh_wait_n(&h, 1, 4, c, HH_TIMEOUT_MS));
    unsigned mask = 0;
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_uint_eq(c[i].ctrl_status, HBA_CS_ABORTED_RESET);
        mask |= 1u << c[i].cid;
    }
    ck_assert_uint_eq(mask, 0xF);
    struct hba_cq_entry ac;
    ck_assert(hh_wait_cqe(&h, 0, a.cid, &ac, HH_TIMEOUT_MS));
    ck_assert_uint_eq(ac.ctrl_status, HBA_CS_ABORTED_RESET);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_SQ_TAIL(1)), 0); /* doorbells reset */
    hh_close(&h);
}
END_TEST

START_TEST(hang_keeps_commands_outstanding_and_the_heartbeat_alive)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_HANG, 0), 0);
    firmware_caught_up(&h);
    struct hba_sq_entry e = tur_entry(5);
    hh_submit(&h, 1, &e);
    uint32_t beat = hh_rd(&h, HBA_REG_HEARTBEAT);
    ck_assert(hh_wait_heartbeat(&h, beat, HH_TIMEOUT_MS));
    firmware_caught_up(&h);
    struct hba_cq_entry c;
    ck_assert(!hh_poll_cqe(&h, 1, &c));
    ck_assert_uint_eq(HBA_STATUS_STATE(hh_rd(&h, HBA_REG_STATUS)), HBA_STATE_OPERATIONAL);
    ck_assert_int_eq(sim_ctrl_inject_clear(h.ctrl), 0);
    ck_assert(hh_wait_cqe(&h, 1, 5, &c, HH_TIMEOUT_MS));
    hh_close(&h);
}
END_TEST

START_TEST(busy_poll_mode_serves_queues)
{
    struct hh h;
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.poll = true;
    hh_open_ready(&h, &cfg);
    struct hba_cq_entry c[16];
    batch(&h, 1, 16, c);
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_queue");
    TCase *tc = tcase_create("queue");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reorder_completes_a_batch_out_of_order);
    tcase_add_test(tc, no_reorder_completes_in_order);
    tcase_add_test(tc, phase_wraps_over_many_laps_of_a_small_queue);
    tcase_add_test(tc, event_index_bell_only_when_parked);
    tcase_add_test(tc, event_index_no_bell_while_the_firmware_has_not_caught_up);
    tcase_add_test(tc, full_cq_holds_completions_until_the_driver_makes_room);
    tcase_add_test(tc, several_queue_pairs_are_all_served);
    tcase_add_test(tc, controller_reset_completes_outstanding_commands);
    tcase_add_test(tc, hang_keeps_commands_outstanding_and_the_heartbeat_alive);
    tcase_add_test(tc, busy_poll_mode_serves_queues);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
