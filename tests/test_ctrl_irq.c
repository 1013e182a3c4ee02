/* tests/test_ctrl_irq.c — interrupt vectors: INT_STATUS write-1-to-clear,
 * masking suppresses the signal, unmasking with status pending re-signals,
 * coalescing by threshold and by time, polled CQs never signal. */
#include <errno.h>
#include <string.h>

#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

static struct hh H;

static void setup(void)
{
    hh_open_ready(&H, NULL); /* I/O pair 1 on vector 1 */
    /* Consume the admin vector's signals from bring-up. */
    while (bus_wait_vector(H.bus, 0, 0) == 1)
        ;
    hh_wr(&H, HBA_REG_INT_STATUS, 0xFFFFFFFFu);
}

static void teardown(void)
{
    hh_close(&H);
}

static uint16_t tur(uint16_t qid)
{
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = hh_cid(&H, qid);
    hh_submit(&H, qid, &e);
    return e.cid;
}

static void complete(uint16_t qid, uint16_t cid)
{
    struct hba_cq_entry c;
    ck_assert(hh_wait_cqe(&H, qid, cid, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_SUCCESS);
}

static int set_coalescing(uint32_t threshold, uint32_t time_us)
{
    struct hba_cq_entry c;
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_SET_FEATURE, HBA_FEATURE_INT_COALESCING, 0,
                                           threshold | time_us << 8, 0);
    return hh_admin(&H, &e, &c);
}

START_TEST(completion_signals_its_vector_and_status_is_w1c)
{
    complete(1, tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, HH_TIMEOUT_MS), 1);
    ck_assert(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 1));
    hh_wr(&H, HBA_REG_INT_STATUS, 0); /* writing 0 clears nothing */
    ck_assert(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 1));
    hh_wr(&H, HBA_REG_INT_STATUS, 1u << 1);
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 1), 0);
    ck_assert_int_eq(bus_wait_vector(H.bus, 2, 0), 0); /* nobody else was signalled */
    ck_assert_int_eq(bus_wait_vector(H.bus, 99, 0), -EINVAL);
}
END_TEST

START_TEST(mask_suppresses_and_unmask_resignals)
{
    hh_wr(&H, HBA_REG_INT_MASK_SET, 1u << 1);
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_INT_MASK_SET), 1u << 1);
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_INT_MASK_CLEAR), 1u << 1);
    complete(1, tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, 0), 0);
    ck_assert(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 1)); /* pending, not signalled */

    hh_wr(&H, HBA_REG_INT_MASK_CLEAR, 1u << 1);
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_INT_MASK_SET), 0);
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, 0), 1); /* signalled at unmask */

    /* Unmasking with nothing pending signals nothing. */
    hh_wr(&H, HBA_REG_INT_STATUS, 1u << 1);
    hh_wr(&H, HBA_REG_INT_MASK_SET, 1u << 1);
    hh_wr(&H, HBA_REG_INT_MASK_CLEAR, 1u << 1);
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, 0), 0);

    /* Masking one vector leaves the others alone. */
    hh_wr(&H, HBA_REG_INT_MASK_SET, 1u << 3);
    complete(1, tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, HH_TIMEOUT_MS), 1);
}
END_TEST

START_TEST(coalescing_threshold)
{
    ck_assert_int_eq(set_coalescing(4, 0), HBA_CS_SUCCESS); /* 4 completions, no time limit */
    while (bus_wait_vector(H.bus, 0, 0) == 1)
        ;
    uint16_t cid[4];
    for (int i = 0; i < 3; i++)
        complete(1, cid[i] = tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, 0), 0);
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 1), 0);
    complete(1, cid[3] = tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, HH_TIMEOUT_MS), 1);
    ck_assert(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 1));

    /* The admin vector is never delayed. */
    ck_assert_int_eq(set_coalescing(4, 10000000), HBA_CS_SUCCESS);
    ck_assert_int_eq(bus_wait_vector(H.bus, 0, HH_TIMEOUT_MS), 1);
}
END_TEST

START_TEST(coalescing_time_limit_fires)
{
    ck_assert_int_eq(set_coalescing(200, 2000), HBA_CS_SUCCESS); /* 200 completions or 2 ms */
    complete(1, tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, HH_TIMEOUT_MS), 1);
}
END_TEST

START_TEST(turning_coalescing_off_releases_held_signals)
{
    ck_assert_int_eq(set_coalescing(50, 0), HBA_CS_SUCCESS); /* threshold only */
    complete(1, tur(1));
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, 0), 0);
    ck_assert_int_eq(set_coalescing(0, 0), HBA_CS_SUCCESS);
    ck_assert_int_eq(bus_wait_vector(H.bus, 1, HH_TIMEOUT_MS), 1);
}
END_TEST

START_TEST(polled_cq_never_signals)
{
    ck_assert_int_eq(hh_create_pair(&H, 2, 16, 2, HBA_CQ_FLAG_NO_IRQ), 0);
    for (int i = 0; i < 5; i++)
        complete(2, tur(2));
    ck_assert_int_eq(bus_wait_vector(H.bus, 2, 0), 0);
    ck_assert_uint_eq(hh_rd(&H, HBA_REG_INT_STATUS) & (1u << 2), 0);
    /* A CQ with interrupts on the same vector still signals it. */
    ck_assert_int_eq(hh_create_pair(&H, 3, 16, 2, 0), 0);
    complete(3, tur(3));
    ck_assert_int_eq(bus_wait_vector(H.bus, 2, HH_TIMEOUT_MS), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_irq");
    TCase *tc = tcase_create("irq");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, completion_signals_its_vector_and_status_is_w1c);
    tcase_add_test(tc, mask_suppresses_and_unmask_resignals);
    tcase_add_test(tc, coalescing_threshold);
    tcase_add_test(tc, coalescing_time_limit_fires);
    tcase_add_test(tc, turning_coalescing_off_releases_held_signals);
    tcase_add_test(tc, polled_cq_never_signals);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
