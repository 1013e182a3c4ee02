/* tests/test_stack_twoproc_hang.c — a controller that stops answering, recovered by
 * the driver core's escalation, through the stack in both modes (the
 * injection goes through stack_inject, so over the socket in two-process
 * mode).
 *
 *   SIM_INJECT_HANG: the firmware stops processing every queue, the admin
 *   queue included, while its heartbeat goes on.  A WRITE times out, its
 *   ABORT is never answered, so the core resets the controller; a hung
 *   firmware survives CONFIG.EN 1 -> 0, so the bring-up's first admin
 *   command times out too and the core falls back to a hard reset, which
 *   ends the hang.  The WRITE is re-issued and completes: with the UNIT
 *   ATTENTION the reset left (29h/04h DEVICE INTERNAL RESET), as a real
 *   device answers the first command after a reset; sent again, as a host's
 *   SCSI layer does after a unit attention, it is GOOD and its data is there.  (The LUN-reset step of the escalation needs an ABORT that is
 *   answered without ending the command; a hung admin queue answers none,
 *   so this path goes abort -> controller reset -> hard reset.)
 *
 *   SIM_INJECT_DROP_NEXT: the firmware loses one READ; its ABORT is answered
 *   and ends it, the READ is re-issued and completes: abort only, no reset.
 *
 *   SIM_INJECT_FATAL: the controller enters FAULT; the watchdog sees it and
 *   hard-resets; I/O flows again. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"

struct events {
    atomic_uint resets, dead;
};

static void on_event(void *arg, const struct drv_event *e)
{
    struct events *ev = arg;
    if (e->kind == DRV_EVENT_CONTROLLER_RESET)
        atomic_fetch_add(&ev->resets, 1);
    if (e->kind == DRV_EVENT_CONTROLLER_DEAD)
        atomic_fetch_add(&ev->dead, 1);
}

static struct stack *open_tuned(int flavour, struct events *ev)
{
    struct stack_options o;
    s2_options(&o, flavour);
    /* Short deadlines so the escalation runs in a few seconds, yet long
     * enough that a command or an ABORT that works is never late on a loaded
     * 2-core machine (the tests count aborts and resets exactly); under
     * valgrind everything is slower, so they are longer there. */
    unsigned k = testutil_valgrind() ? 10 : 1;
    o.default_timeout_ms = 1000 * k;
    o.abort_grace_ms = 500 * k;
    o.admin_timeout_ms = 1000 * k;
    o.on_event = on_event;
    o.event_arg = ev;
    return s2_open(flavour, NULL, &o);
}

static void write10(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed)
{
    struct drv_completion c = sf_write10_seeded(st, lba, blocks, seed);
    ck_assert_msg(c.scsi_status == SCSI_STATUS_GOOD, "WRITE: status %02xh sense %06x", c.scsi_status, sf_sense(&c));
    ck_assert_uint_eq(c.bytes_transferred, (uint64_t)blocks * S2_BLOCK);
}

static void read10_compare(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed)
{
    ck_assert(sf_read10_matches(st, lba, blocks, seed));
}

START_TEST(hang_recovered_by_escalation_and_write_reissued)
{
    struct events ev = { 0 };
    struct stack *st = open_tuned(_i, &ev);
    write10(st, 10, 8, 1);
    struct drv_core_stats s0, s1;
    drv_core_get_stats(stack_core(st), &s0);
    ck_assert_int_eq(stack_inject(st, SIM_INJECT_HANG, 0), 0);
    /* Stuck, escalated, re-issued, completed. */
    struct drv_completion c = sf_write10_seeded(st, 10, 8, 2);
    if (c.scsi_status != SCSI_STATUS_GOOD) {
        ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
        ck_assert_uint_eq(sf_sense(&c), (uint32_t)SCSI_SK_UNIT_ATTENTION << 16 | SCSI_ASC_DEVICE_INTERNAL_RESET);
        write10(st, 10, 8, 2);
    }
    drv_core_get_stats(stack_core(st), &s1);
    ck_assert_uint_ge(s1.timeouts - s0.timeouts, 1);
    ck_assert_uint_ge(s1.aborts - s0.aborts, 1);
    ck_assert_uint_ge(s1.controller_resets - s0.controller_resets, 1);
    ck_assert_uint_ge(s1.hard_resets - s0.hard_resets, 1);
    ck_assert_uint_ge(s1.reissues - s0.reissues, 1);
    ck_assert_uint_ge(atomic_load(&ev.resets), 1);
    ck_assert_uint_eq(atomic_load(&ev.dead), 0);
    read10_compare(st, 10, 8, 2);
    stack_close(st);
}
END_TEST

START_TEST(dropped_command_aborted_and_reissued)
{
    struct events ev = { 0 };
    struct stack *st = open_tuned(_i, &ev);
    write10(st, 40, 4, 3);
    struct drv_core_stats s0, s1;
    drv_core_get_stats(stack_core(st), &s0);
    ck_assert_int_eq(stack_inject(st, SIM_INJECT_DROP_NEXT, 1), 0);
    read10_compare(st, 40, 4, 3);
    drv_core_get_stats(stack_core(st), &s1);
    ck_assert_uint_eq(s1.aborts - s0.aborts, 1);
    ck_assert_uint_eq(s1.reissues - s0.reissues, 1);
    ck_assert_uint_eq(s1.lun_resets - s0.lun_resets, 0);
    ck_assert_uint_eq(s1.controller_resets - s0.controller_resets, 0);
    ck_assert_uint_eq(atomic_load(&ev.resets), 0);
    stack_close(st);
}
END_TEST

START_TEST(fatal_controller_hard_reset_by_the_watchdog)
{
    struct events ev = { 0 };
    struct stack *st = open_tuned(_i, &ev);
    write10(st, 80, 4, 4);
    uint8_t sync[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    struct drv_completion c;
    sf_exec(st, sync, 10, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    struct drv_core_stats s0, s1;
    drv_core_get_stats(stack_core(st), &s0);
    ck_assert_int_eq(stack_inject(st, SIM_INJECT_FATAL, 0), 0);
    /* Commands keep being accepted; the first ones after the fault may see
     * the reset's unit attention. */
    ck_assert(sf_clear_ua(st, 0, 0));
    read10_compare(st, 80, 4, 4);
    drv_core_get_stats(stack_core(st), &s1);
    ck_assert_uint_ge(s1.hard_resets - s0.hard_resets, 1);
    ck_assert_uint_ge(atomic_load(&ev.resets), 1);
    /* Injection needs power: a bad kind is refused in both modes. */
    ck_assert_int_lt(stack_inject(st, (enum sim_inject_kind)99, 0), 0);
    ck_assert_int_eq(stack_inject_clear(st), 0);
    stack_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_twoproc_hang");
    TCase *t = tcase_create("hang");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, hang_recovered_by_escalation_and_write_reissued, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, dropped_command_aborted_and_reissued, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, fatal_controller_hard_reset_by_the_watchdog, 0, S2_FLAVOURS);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
