/* tests/test_driver_rules.c — the driver core's pure rules: ring index
 * arithmetic (core/ring.h), task validation and the controller-status to
 * service-response mapping (core/core_rules.c). */
#include <errno.h>
#include <string.h>

#include "core/core_rules.h"
#include "core/ring.h"
#include "tests/support/testutil.h"

START_TEST(ring_arithmetic)
{
    ck_assert_uint_eq(ring_used(0, 0, 8), 0);
    ck_assert_uint_eq(ring_used(5, 2, 8), 3);
    ck_assert_uint_eq(ring_used(1, 6, 8), 3); /* wrapped */
    ck_assert(!ring_full(6, 0, 8));
    ck_assert(ring_full(7, 0, 8));              /* N - 1 entries: full */
    ck_assert(ring_full(2, 3, 8));
    ck_assert(ring_full(4095, 0, 4096));
    ck_assert(!ring_full(0, 0, 2));
    ck_assert(ring_full(1, 0, 2));
}
END_TEST

START_TEST(sq_head_may_only_move_forward_to_the_tail)
{
    /* head 6, tail 2 on a ring of 8: plausible heads are 6, 7, 0, 1, 2. */
    ck_assert(ring_head_ok(6, 6, 2, 8));
    ck_assert(ring_head_ok(6, 7, 2, 8));
    ck_assert(ring_head_ok(6, 0, 2, 8));
    ck_assert(ring_head_ok(6, 2, 2, 8));
    ck_assert(!ring_head_ok(6, 3, 2, 8)); /* past the tail */
    ck_assert(!ring_head_ok(6, 5, 2, 8)); /* backwards */
    ck_assert(!ring_head_ok(6, 8, 2, 8)); /* out of range */
    ck_assert(!ring_head_ok(0, 0xFFFF, 3, 8));
}
END_TEST

static struct osal_dma_buffer buf8k = { .vaddr = (void *)0x1000, .length = 8192 };

static struct drv_task read_task(struct drv_buffer_piece *p, uint32_t n, uint64_t len)
{
    struct drv_task t;
    memset(&t, 0, sizeof t);
    t.cdb[0] = 0x28;
    t.cdb_len = 10;
    t.dir = DRV_DIR_FROM_TARGET;
    t.requested_transfer = len;
    t.pieces = p;
    t.piece_count = n;
    return t;
}

START_TEST(valid_tasks_pass)
{
    struct drv_buffer_piece p[2] = { { &buf8k, 0, 4096 }, { &buf8k, 4096, 4096 } };
    struct drv_task t = read_task(p, 2, 8192);
    ck_assert_int_eq(task_check(&t), 0);
    t.requested_transfer = 5000; /* a buffer longer than the transfer is fine */
    ck_assert_int_eq(task_check(&t), 0);
    struct drv_task tur;
    memset(&tur, 0, sizeof tur);
    tur.cdb_len = 6;
    ck_assert_int_eq(task_check(&tur), 0);
    tur.cdb_len = 16;
    ck_assert_int_eq(task_check(&tur), 0);
}
END_TEST

START_TEST(zero_length_pieces_are_rejected)
{
    struct drv_buffer_piece p[3] = { { &buf8k, 0, 4096 }, { &buf8k, 4096, 0 }, { &buf8k, 4096, 4096 } };
    struct drv_task t = read_task(p, 3, 8192);
    ck_assert_int_eq(task_check(&t), -EINVAL);
}
END_TEST

START_TEST(bad_tasks_are_rejected)
{
    struct drv_buffer_piece p[1] = { { &buf8k, 0, 8192 } };
    struct drv_task t = read_task(p, 1, 8192);
    ck_assert_int_eq(task_check(NULL), -EINVAL);
    t.cdb_len = 5;
    ck_assert_int_eq(task_check(&t), -EINVAL);
    t.cdb_len = 17;
    ck_assert_int_eq(task_check(&t), -EINVAL);
    t = read_task(p, 1, 8193); /* more than the pieces hold */
    ck_assert_int_eq(task_check(&t), -EINVAL);
    t = read_task(p, 1, 8192);
    t.dir = DRV_DIR_NONE; /* data without a direction */
    ck_assert_int_eq(task_check(&t), -EINVAL);
    t.dir = (enum drv_dir)7;
    ck_assert_int_eq(task_check(&t), -EINVAL);
    t = read_task(NULL, 1, 0);
    ck_assert_int_eq(task_check(&t), -EINVAL);
    struct drv_buffer_piece outside = { &buf8k, 4096, 8192 }; /* runs past its buffer */
    t = read_task(&outside, 1, 8192);
    ck_assert_int_eq(task_check(&t), -EINVAL);
    struct drv_buffer_piece wraps = { &buf8k, UINT64_MAX - 10, 100 };
    t = read_task(&wraps, 1, 100);
    ck_assert_int_eq(task_check(&t), -EINVAL);
    struct drv_buffer_piece nobuf = { NULL, 0, 100 };
    t = read_task(&nobuf, 1, 100);
    ck_assert_int_eq(task_check(&t), -EINVAL);
}
END_TEST

START_TEST(status_mapping)
{
    ck_assert_int_eq(task_response_for(HBA_CS_SUCCESS), DRV_SR_TASK_COMPLETE);
    static const uint8_t rejected[] = { HBA_CS_INVALID_OPCODE, HBA_CS_INVALID_FIELD, HBA_CS_SGL_ZERO_LENGTH,
                                        HBA_CS_SGL_TOO_MANY,   HBA_CS_SGL_INVALID,   HBA_CS_SGL_SHORT,
                                        HBA_CS_XFER_TOO_LONG,  HBA_CS_SHUTDOWN,      HBA_CS_DIRECTION_MISMATCH };
    for (size_t i = 0; i < sizeof rejected; i++)
        ck_assert_int_eq(task_response_for(rejected[i]), DRV_SR_FUNCTION_REJECTED);
    static const uint8_t unknown_fate[] = { HBA_CS_INVALID_TARGET, HBA_CS_DATA_XFER_ERROR, HBA_CS_SENSE_XFER_ERROR,
                                            HBA_CS_ABORTED,        HBA_CS_ABORTED_RESET,   HBA_CS_ABORTED_SQ_DELETED,
                                            HBA_CS_CID_CONFLICT,   HBA_CS_INTERNAL,        0x77 };
    for (size_t i = 0; i < sizeof unknown_fate; i++)
        ck_assert_int_eq(task_response_for(unknown_fate[i]), DRV_SR_SERVICE_DELIVERY_FAILURE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_rules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, ring_arithmetic);
    tcase_add_test(tc, sq_head_may_only_move_forward_to_the_tail);
    tcase_add_test(tc, valid_tasks_pass);
    tcase_add_test(tc, zero_length_pieces_are_rejected);
    tcase_add_test(tc, bad_tasks_are_rejected);
    tcase_add_test(tc, status_mapping);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
