/* tests/test_ctrl_inject_pass.c — an injection lands between two firmware
 * passes without a lock (sim/ctrl/ctrl.c pass_seq, sim_ctrl_inject): a
 * command the host submits after `inject fatal` returned is never fetched,
 * with the firmware busy-polling (cfg.poll) so that a pass is nearly always
 * running when the injection comes.
 *
 * A pass already past its injection checks that fetched the command would
 * post its completion before the next pass enters FAULT; so once FAULT is
 * seen, the CQ slot must still be empty.  The race the wait closes is narrow,
 * so this is a stress test, repeated: with the injector's wait taken out it
 * failed 12 of 20 runs of 100 repetitions on a loaded 2-core machine (hence
 * 300 here); with the wait, never.  It cannot fail when the code is right. */
#include <errno.h>

#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

START_TEST(a_command_submitted_after_inject_fatal_is_never_fetched)
{
    struct sim_config cfg;
    hh_config(&cfg);
    cfg.poll = true;
    struct hh h;
    hh_open_ready(&h, &cfg);
    uint8_t tur[6] = { 0 };
    unsigned reps = testutil_scale(300, 20); /* valgrind runs its spinning firmware thread one slice at a time */
    for (unsigned i = 0; i < reps; i++) {
        ck_assert_int_eq(sim_ctrl_inject(h.ctrl, SIM_INJECT_FATAL, 0), 0);
        struct hba_sq_entry e = hh_scsi_entry(0, 0, tur, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
        hh_submit(&h, 1, &e);
        ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
        struct hba_cq_entry c;
        ck_assert_msg(!hh_poll_cqe(&h, 1, &c), "repetition %u: the command was fetched and completed", i);
        hh_hard_reset(&h);
        ck_assert(hh_wait_state(&h, HBA_STATE_READY));
        hh_forget_queues(&h);
        ck_assert(hh_enable(&h, 32));
        ck_assert_int_eq(hh_create_pair(&h, 1, 64, 1, 0), 0);
    }
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_inject_pass");
    TCase *tc = tcase_create("inject");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_command_submitted_after_inject_fatal_is_never_fetched);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
