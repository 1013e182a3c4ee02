/* tests/test_stack_power.c — durability through the whole stack: writes made
 * durable by SYNCHRONIZE CACHE survive a power cut (the oracle finds nothing
 * lost, durable or not), while writes left in the write-back cache are lost —
 * the control that shows the cut really drops the cache (field bug F1).
 * After power comes back the stack recovers and reads the flushed data. */
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "sim/sim.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"

#define LBA    300u
#define BLOCKS 64u

static void write_blocks(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed)
{
    size_t n = (size_t)blocks * SF_BLOCK;
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    sf_fill(p, n, seed);
    uint8_t cdb[10];
    sf_cdb_rw10(cdb, true, lba, blocks);
    struct drv_completion c;
    sf_exec(st, cdb, 10, DRV_DIR_FROM_INITIATOR, p, n, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    free(p);
}

static void synchronize_cache(struct stack *st)
{
    uint8_t cdb[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    struct drv_completion c;
    sf_exec(st, cdb, 10, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
}

static void power_cycle(struct stack *st)
{
    ck_assert_int_ge(stack_power_cut(st, NULL), 0);
    ck_assert_int_eq(stack_powered(st), 0);
    ck_assert_int_eq(stack_power_on(st), 0);
}

/* After power on: the driver notices the controller went away and brings it
 * back; the drive then reports the power-on unit attention once. */
static void come_back(struct stack *st)
{
    ck_assert_msg(sf_clear_ua(st, 0, 0), "the stack did not come back after power on");
}

START_TEST(flushed_writes_survive_a_power_cut)
{
    struct stack *st = sf_open((enum sf_flavour)_i, NULL);
    write_blocks(st, LBA, BLOCKS, 1);
    write_blocks(st, LBA + BLOCKS, BLOCKS, 2);
    synchronize_cache(st);
    power_cycle(st);
    struct sim_oracle_report r;
    ck_assert_int_eq(stack_check_media(st, 0, 0, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, 2 * BLOCKS);
    ck_assert_msg(r.durable_lost == 0, "%llu durable blocks lost, first at LBA %llu",
                  (unsigned long long)r.durable_lost, (unsigned long long)r.first_bad_lba);
    ck_assert_uint_eq(r.volatile_lost, 0); /* everything acknowledged had been flushed */
    come_back(st);
    stack_close(st);
}
END_TEST

START_TEST(unflushed_writes_are_lost)
{
    struct stack *st = sf_open((enum sf_flavour)_i, NULL);
    write_blocks(st, LBA, BLOCKS, 3);
    synchronize_cache(st);
    write_blocks(st, LBA + BLOCKS, BLOCKS, 4); /* acknowledged, never flushed */
    power_cycle(st);
    struct sim_oracle_report r;
    ck_assert_int_eq(stack_check_media(st, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, BLOCKS);
    come_back(st);
    stack_close(st);
}
END_TEST

START_TEST(stack_reads_flushed_data_after_power_on)
{
    struct stack *st = sf_open((enum sf_flavour)_i, NULL);
    write_blocks(st, LBA, BLOCKS, 5);
    synchronize_cache(st);
    power_cycle(st);
    come_back(st);
    size_t n = (size_t)BLOCKS * SF_BLOCK;
    uint8_t *want = malloc(n), *got = calloc(1, n);
    ck_assert(want && got);
    sf_fill(want, n, 5);
    uint8_t cdb[10];
    sf_cdb_rw10(cdb, false, LBA, BLOCKS);
    struct drv_completion c;
    sf_exec(st, cdb, 10, DRV_DIR_FROM_TARGET, got, n, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert(memcmp(got, want, n) == 0);
    free(want);
    free(got);
    stack_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_power");
    TCase *t = tcase_create("power");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, flushed_writes_survive_a_power_cut, SF_INTERRUPTS, SF_POLLED + 1);
    tcase_add_loop_test(t, unflushed_writes_are_lost, SF_INTERRUPTS, SF_POLLED + 1);
    tcase_add_loop_test(t, stack_reads_flushed_data_after_power_on, SF_INTERRUPTS, SF_POLLED + 1);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
