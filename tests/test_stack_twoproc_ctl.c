/* tests/test_stack_twoproc_ctl.c — the stack's controller test control (power cut /
 * on, media check, battery, unit attentions, IOMMU policy and fault log)
 * behaving the same in one process and in two, and the two-process mode's
 * own life cycle and error paths: an external controller (not spawned) and
 * reconnection to it, stack_close stopping a spawned controller in order,
 * and what stack_open says about a missing program, a controller that will
 * not start, a socket nobody listens on, and options that make no sense.
 * Every failed stack_open leaves no descriptor and no process behind. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scsi/scsi.h"
#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"

static void write10(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed)
{
    ck_assert_uint_eq(sf_write10_seeded(st, lba, blocks, seed).scsi_status, SCSI_STATUS_GOOD);
}

static void power_cycle(struct stack *st)
{
    ck_assert_int_ge(stack_power_cut(st, NULL), 0);
    ck_assert_int_eq(stack_power_on(st), 0);
    ck_assert_int_eq(stack_power_on(st), -EALREADY);
}

START_TEST(battery_keeps_unflushed_writes_across_a_power_cut)
{
    struct stack *st = s2_open(_i, NULL, NULL);
    ck_assert_int_eq(stack_set_battery(st, 0, 0, HBA_BATTERY_GOOD), 0);
    write10(st, 200, 8, 5); /* acknowledged, never flushed */
    power_cycle(st);
    struct sim_oracle_report r;
    ck_assert_int_eq(stack_check_media(st, 0, 0, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, 8);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_eq(r.volatile_kept, 8);
    ck_assert(sf_clear_ua(st, 0, 0));
    ck_assert(sf_read10_matches(st, 200, 8, 5));
    /* Without the battery the same loses them, and the lines the battery
     * held too: power on replayed them as dirty lines, never flushed. */
    ck_assert_int_eq(stack_set_battery(st, 0, 0, HBA_BATTERY_ABSENT), 0);
    write10(st, 300, 8, 6);
    power_cycle(st);
    ck_assert_int_eq(stack_check_media(st, 0, 0, &r), 0);
    ck_assert_uint_eq(r.volatile_lost, 16);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert(sf_clear_ua(st, 0, 0));
    ck_assert(!sf_read10_matches(st, 300, 8, 6));
    /* No such drive. */
    ck_assert_int_lt(stack_check_media(st, 3, 0, &r), 0);
    ck_assert_int_lt(stack_set_battery(st, 3, 0, HBA_BATTERY_GOOD), 0);
    stack_close(st);
}
END_TEST

START_TEST(raised_unit_attention_reaches_the_host)
{
    struct stack *st = s2_open(_i, NULL, NULL);
    ck_assert_int_eq(stack_raise_ua(st, 0, 0, -1, SCSI_ASC_CAPACITY_DATA_CHANGED), 0);
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    struct drv_completion c;
    sf_exec(st, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(sf_sense(&c), (uint32_t)SCSI_SK_UNIT_ATTENTION << 16 | SCSI_ASC_CAPACITY_DATA_CHANGED);
    sf_exec(st, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    ck_assert_int_lt(stack_raise_ua(st, 7, 0, -1, SCSI_ASC_CAPACITY_DATA_CHANGED), 0);
    stack_close(st);
}
END_TEST

START_TEST(iommu_policy_and_an_empty_fault_log)
{
    struct stack *st = s2_open(_i, NULL, NULL);
    ck_assert_int_eq(stack_set_iommu_policy(st, HBA_IOMMU_POLICY_DROP), 0);
    write10(st, 0, 4, 1);
    ck_assert(sf_read10_matches(st, 0, 4, 1)); /* the driver maps right: nothing dropped */
    ck_assert_int_eq(stack_set_iommu_policy(st, HBA_IOMMU_POLICY_ABORT), 0);
    ck_assert_int_eq(stack_set_iommu_policy(st, (enum hba_iommu_policy)9), -EINVAL);
    struct hba_log_header hdr;
    struct hba_iommu_fault f[4];
    ck_assert_int_eq(stack_fault_log(st, 0, f, 4, &hdr), 0);
    ck_assert_uint_eq(hdr.total, 0);
    ck_assert_uint_eq(hdr.count, 0);
    ck_assert_int_eq(stack_fault_log(st, 0, NULL, 4, &hdr), -EINVAL);
    ck_assert_int_eq(stack_fault_log(st, 0, f, 4, NULL), -EINVAL);
    stack_close(st);
}
END_TEST

START_TEST(process_control_in_one_process_is_refused)
{
    struct stack *st = s2_open(S2_IN_IRQ, NULL, NULL);
    char err[256] = "";
    ck_assert_int_eq(stack_kill_controller(st), -ENOTSUP);
    ck_assert_int_eq(stack_start_controller(st, err, sizeof(err)), -ENOTSUP);
    ck_assert_str_ne(err, "");
    ck_assert_int_eq(stack_controller_pid(st), 0);
    /* The controller is here: its power state and command tap are too. */
    ck_assert_int_eq(stack_powered(st), 1);
    ck_assert_int_eq(stack_set_observer(st, NULL, NULL), 0);
    /* stack_reconnect in one process: the core brought up again. */
    ck_assert_int_eq(stack_reconnect(st, err, sizeof(err)), 0);
    ck_assert(sf_clear_ua(st, 0, 0));
    ck_assert_int_eq(stack_power_cut(NULL, NULL), -EINVAL);
    ck_assert_int_eq(stack_inject(NULL, SIM_INJECT_HANG, 0), -EINVAL);
    ck_assert_int_eq(stack_reconnect(NULL, err, sizeof(err)), -EINVAL);
    stack_close(st);
}
END_TEST

START_TEST(spawned_controller_life_cycle)
{
    char dir[256];
    proc_tmpdir(dir, sizeof(dir), "s2");
    char sock[300];
    snprintf(sock, sizeof(sock), "%s/my.sock", dir);
    struct stack_options o;
    s2_options(&o, S2_TWO_IRQ);
    o.socket_path = sock;
    struct stack *st = s2_open(S2_TWO_IRQ, NULL, &o);
    /* Neither the controller's power state nor its command tap crosses
     * processes. */
    ck_assert_int_eq(stack_powered(st), -ENOTSUP);
    ck_assert_int_eq(stack_set_observer(st, NULL, NULL), -ENOTSUP);
    pid_t pid = stack_controller_pid(st);
    ck_assert_int_gt(pid, 0);
    struct stat sb;
    ck_assert_int_eq(stat(sock, &sb), 0);
    char err[512] = "";
    ck_assert_int_eq(stack_start_controller(st, err, sizeof(err)), -EALREADY);
    ck_assert_int_eq(stack_kill_controller(st), 0);
    ck_assert_int_eq(stack_kill_controller(st), -ESRCH);
    ck_assert_int_eq(stack_controller_pid(st), 0);
    /* Dead: commands fail (delivery failure), test control says so. */
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    struct drv_completion c;
    struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
    do /* until the core has seen it */
        ck_assert_int_eq(stack_exec(st, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c), 0);
    while (c.response == DRV_SR_TASK_COMPLETE && testutil_wait_nap(&w));
    ck_assert_int_eq(c.response, DRV_SR_SERVICE_DELIVERY_FAILURE);
    ck_assert_int_eq(stack_power_on(st), -ENODEV);
    /* Arguments are checked before the request: the same answer as in one
     * process, dead controller or not. */
    ck_assert_int_eq(stack_set_iommu_policy(st, (enum hba_iommu_policy)9), -EINVAL);
    /* Nobody listens: reconnection fails (and may be tried again). */
    ck_assert_int_lt(stack_reconnect(st, err, sizeof(err)), 0);
    ck_assert_str_ne(err, "");
    ck_assert_msg(stack_start_controller(st, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_ne(stack_controller_pid(st), pid);
    ck_assert_msg(stack_reconnect(st, err, sizeof(err)) == 0, "%s", err);
    ck_assert(sf_clear_ua(st, 0, 0));
    pid = stack_controller_pid(st);
    stack_close(st);
    /* Stopped in order (SIGTERM): it removed its socket, and it is gone. */
    ck_assert_int_eq(stat(sock, &sb), -1);
    ck_assert_int_eq(kill(pid, 0), -1);
    proc_rmdir(dir);
}
END_TEST

START_TEST(external_controller_and_reconnection)
{
    struct b2_proc p;
    b2_init(&p);
    const char *const args[] = { "--set", "init-time=1ms", NULL };
    b2_start(&p, args);
    struct stack_options o;
    s2_options(&o, S2_TWO_POLL);
    o.spawn = false;
    o.socket_path = p.sock;
    struct stack *st = NULL;
    char err[512] = "";
    /* No configuration needed: the controller has its own. */
    ck_assert_msg(stack_open(NULL, &o, &st, err, sizeof(err)) == 0, "%s", err);
    ck_assert(sf_clear_ua(st, 0, 0));
    ck_assert_int_eq(stack_controller_pid(st), 0);
    ck_assert_int_eq(stack_kill_controller(st), -ENOTSUP);
    ck_assert_int_eq(stack_start_controller(st, err, sizeof(err)), -ENOTSUP);
    write10(st, 8, 8, 9);
    b2_kill(&p);
    b2_restart(&p);
    ck_assert_msg(stack_reconnect(st, err, sizeof(err)) == 0, "%s", err);
    ck_assert(sf_clear_ua(st, 0, 0));
    ck_assert(!sf_read10_matches(st, 8, 8, 9)); /* sparse memory media: gone with the process */
    write10(st, 8, 8, 9);
    ck_assert(sf_read10_matches(st, 8, 8, 9));
    stack_close(st);
    /* The host went away: the controller shut down in order and serves on;
     * SIGTERM ends it with status 0. */
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

static int open_fails(struct stack_options *o, const struct sim_config *cfg, char *err, size_t errlen)
{
    struct stack *st = (struct stack *)&st;
    int rc = stack_open(cfg, o, &st, err, errlen);
    ck_assert_ptr_null(st);
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(err[0], "no reason given for %d", rc);
    return rc;
}

START_TEST(open_errors_leave_nothing_behind)
{
    char tmp[256];
    proc_tmpdir(tmp, sizeof(tmp), "s2");
    setenv("TMPDIR", tmp, 1);
    struct sim_config cfg;
    s2_config(&cfg, NULL);
    struct stack_options o;
    char err[512];
    int fds = proc_count_fds(0);

    s2_options(&o, S2_TWO_IRQ);
    o.scsisim_bin = "/nonexistent/scsisim";
    ck_assert_int_eq(open_fails(&o, &cfg, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/scsisim"));

    s2_options(&o, S2_TWO_IRQ);
    o.scsisim_bin = "/bin/false"; /* runs, never listens */
    ck_assert_int_eq(open_fails(&o, &cfg, err, sizeof(err)), -ECHILD);
    ck_assert_ptr_nonnull(strstr(err, "exited with status 1"));

    /* A configuration the controller refuses: media in a missing directory. */
    struct sim_config bad;
    s2_config(&bad, "/nonexistent/dir/ld0.img");
    s2_options(&o, S2_TWO_IRQ);
    ck_assert_int_eq(open_fails(&o, &bad, err, sizeof(err)), -ECHILD);
    ck_assert_ptr_nonnull(strstr(err, "exited with status 2"));
    sim_config_free(&bad);

    s2_options(&o, S2_TWO_IRQ);
    o.spawn = false;
    ck_assert_int_eq(open_fails(&o, &cfg, err, sizeof(err)), -EINVAL); /* no socket */
    char nobody[300];
    snprintf(nobody, sizeof(nobody), "%s/nobody.sock", tmp);
    o.socket_path = nobody;
    o.connect_timeout_ms = 50;
    ck_assert_int_eq(open_fails(&o, &cfg, err, sizeof(err)), -ENOENT);
    char longpath[200];
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    o.socket_path = longpath;
    ck_assert_int_eq(open_fails(&o, &cfg, err, sizeof(err)), -ENAMETOOLONG);

    s2_options(&o, S2_TWO_IRQ);
    ck_assert_int_eq(open_fails(&o, NULL, err, sizeof(err)), -EINVAL); /* spawn needs a configuration */
    o.mode = (enum stack_mode)7;
    ck_assert_int_eq(open_fails(&o, &cfg, err, sizeof(err)), -EINVAL);

    /* Nothing left: descriptors, processes (reaped), temporary directories. */
    ck_assert_int_eq(proc_count_fds(0), fds);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(rmdir(tmp), 0);
    unsetenv("TMPDIR");
    sim_config_free(&cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_twoproc_ctl");
    TCase *t = tcase_create("control");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, battery_keeps_unflushed_writes_across_a_power_cut, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, raised_unit_attention_reaches_the_host, 0, S2_FLAVOURS);
    tcase_add_loop_test(t, iommu_policy_and_an_empty_fault_log, 0, S2_FLAVOURS);
    tcase_add_test(t, process_control_in_one_process_is_refused);
    tcase_add_test(t, spawned_controller_life_cycle);
    tcase_add_test(t, external_controller_and_reconnection);
    tcase_add_test(t, open_errors_leave_nothing_behind);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
