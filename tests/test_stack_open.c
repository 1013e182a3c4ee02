/* tests/test_stack_open.c — opening and closing the in-process stack: the
 * parts are there and wired (the bus is the controller's, the core runs on
 * the osal), defaults, every error path of stack_open with its message, the
 * two-process mode failing cleanly with no controller to reach, and repeated
 * open/close leaving no file descriptor or thread behind. */
#include <errno.h>
#include <string.h>

#include "stack/stack.h"
#include "platform/bus.h"
#include "sim/sim.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"

START_TEST(options_defaults)
{
    struct stack_options o;
    memset(&o, 0xA5, sizeof(o));
    stack_options_init(&o);
    ck_assert_int_eq(o.mode, STACK_IN_PROCESS);
    ck_assert_ptr_null(o.socket_path);
    ck_assert(!o.polled);
    ck_assert_uint_eq(o.io_queues, 0);
    ck_assert_ptr_null(o.on_event);
    ck_assert_str_eq(o.osal.name, "stack");
    ck_assert_int_eq(o.osal.log_level, OSAL_LOG_WARN);
    ck_assert_uint_eq(o.osal.iova_base, 0x1000);
}
END_TEST

START_TEST(open_wires_the_parts)
{
    struct sim_config cfg;
    sf_config(&cfg);
    struct stack *st;
    char err[256] = "untouched";
    ck_assert_int_eq(stack_open(&cfg, NULL, &st, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "");
    sim_config_free(&cfg);
    ck_assert_int_eq(stack_mode(st), STACK_IN_PROCESS);
    ck_assert_ptr_nonnull(stack_core(st));
    ck_assert_ptr_nonnull(stack_osal(st));
    ck_assert_ptr_eq(osal_user_bus(stack_osal(st)), stack_bus(st));
    ck_assert_int_eq(stack_powered(st), 1);
    /* The core brought the controller up through this bus. */
    uint32_t status = bus_read32(stack_bus(st), HBA_REG_STATUS);
    ck_assert_uint_eq(HBA_STATUS_STATE(status), HBA_STATE_OPERATIONAL);
    ck_assert(status & HBA_STATUS_RDY);
    struct drv_constraints k;
    drv_core_constraints(stack_core(st), &k);
    ck_assert_uint_eq(k.max_byte_count, 512 * 1024);
    ck_assert_uint_eq(stack_outstanding(st), 0);
    ck_assert_int_eq(stack_wait(st, 0), 0);
    ck_assert_int_ge(stack_poll(st), 0);
    stack_close(st);
    stack_close(NULL);
}
END_TEST

START_TEST(open_errors_say_what_failed)
{
    struct sim_config cfg;
    sf_config(&cfg);
    struct stack *st = (void *)1;
    char err[256];

    ck_assert_int_eq(stack_open(NULL, NULL, &st, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, "configuration"));
    ck_assert_int_eq(stack_open(&cfg, NULL, NULL, err, sizeof(err)), -EINVAL);

    struct stack_options o;
    stack_options_init(&o);
    o.mode = STACK_TWO_PROCESS; /* nobody listens there (tests/test_stack_twoproc_ctl.c has more) */
    o.socket_path = "/nonexistent-dir/scsisim-test.sock";
    o.connect_timeout_ms = 20;
    ck_assert_int_eq(stack_open(&cfg, &o, &st, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/scsisim-test.sock"));
    o.mode = (enum stack_mode)9;
    ck_assert_int_eq(stack_open(&cfg, &o, &st, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "mode"));

    /* The controller refuses this configuration: the message passes through. */
    cfg.max_xfer = 0;
    ck_assert_int_lt(stack_open(&cfg, NULL, &st, err, sizeof(err)), 0);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, "cannot create the controller"));
    ck_assert_ptr_nonnull(strstr(err, "max_xfer"));
    /* No room for err: still fails cleanly. */
    ck_assert_int_lt(stack_open(&cfg, NULL, &st, NULL, 0), 0);
    cfg.max_xfer = 512 * 1024;

    /* The OS layer refuses its options. */
    stack_options_init(&o);
    o.osal.log_level = (enum osal_log_level)9;
    ck_assert_int_eq(stack_open(&cfg, &o, &st, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "OS layer"));

    /* The driver cannot map anything below 32 address bits: bring-up fails. */
    cfg.addr_bits = 32;
    stack_options_init(&o);
    o.osal.iova_base = 0x100000000ull;
    o.osal.low_window = false; /* nothing below 4 GiB at all */
    o.osal.log_level = OSAL_LOG_ERROR;
    ck_assert_int_lt(stack_open(&cfg, &o, &st, err, sizeof(err)), 0);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, "driver core"));
    sim_config_free(&cfg);
}
END_TEST

START_TEST(open_close_many_times_leaks_nothing)
{
    struct sim_config cfg;
    sf_config(&cfg);
    /* libuv opens a process-wide pipe (its signal lock) the first time a
     * loop is created, and keeps it: count from after the first stack. */
    int fds = -1;
    for (int i = 0; i < 50; i++) {
        struct stack_options o;
        stack_options_init(&o);
        o.polled = i % 2;
        struct stack *st;
        char err[256];
        ck_assert_msg(stack_open(&cfg, &o, &st, err, sizeof(err)) == 0, "open %d: %s", i, err);
        if (i % 10 == 0)
            ck_assert(sf_clear_ua(st, 0, 0));
        stack_close(st);
        if (i == 0)
            fds = proc_count_fds(0);
    }
    ck_assert_int_eq(proc_count_fds(0), fds);
    sim_config_free(&cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_open");
    TCase *t = tcase_create("open");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, options_defaults);
    tcase_add_test(t, open_wires_the_parts);
    tcase_add_test(t, open_errors_say_what_failed);
    tcase_add_test(t, open_close_many_times_leaks_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
