/* tests/test_stack_twoproc_leak.c — no file descriptor or memory leaks across
 * controller restarts, in both modes.  Counted here: /proc/self/fd, the OS
 * layer's live DMA buffers, mappings and IOVA pages, the interrupt sources
 * and timers, the bus client's remembered mappings.  Memory: every loop runs
 * under ASan's leak checker (make asan) and valgrind (make valgrind), where
 * the loops are shorter (SCSISIM_VALGRIND, set by the Makefile).
 *
 *   in one process: 1,000 power cut + power on + stack_reconnect rounds on
 *   one stack (a TEST UNIT READY through each), and 200 stack_open +
 *   stack_close;
 *   in two processes: 100 SIGKILL + restart + stack_reconnect rounds of the
 *   controller process on one stack, and 20 stack_open + stack_close (each
 *   starts and stops a controller process; its temporary directory goes). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "platform/iommu_pt.h"
#include "scsi/scsi.h"
#include "platform/bus_client.h"
#include "tests/support/stack_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

struct snapshot {
    int fds;
    struct osal_user_stats os;
    uint64_t map_pages, table_pages;
};

static void snap(struct stack *st, struct snapshot *s)
{
    s->fds = proc_count_fds(0);
    osal_user_get_stats(stack_osal(st), &s->os);
    struct iommu_pt_stats ps;
    bus_iommu_stats(stack_bus(st), &ps);
    s->map_pages = ps.mapped_pages;
    s->table_pages = ps.table_pages;
}

static void same(const struct snapshot *a, const struct snapshot *b, const char *when)
{
    ck_assert_msg(a->fds == b->fds, "%s: %d fds, then %d", when, a->fds, b->fds);
    ck_assert_uint_eq(a->os.dma_buffers_live, b->os.dma_buffers_live);
    ck_assert_uint_eq(a->os.dma_bytes_live, b->os.dma_bytes_live);
    ck_assert_uint_eq(a->os.mappings_live, b->os.mappings_live);
    ck_assert_uint_eq(a->os.iova_pages_live, b->os.iova_pages_live);
    ck_assert_uint_eq(a->os.irqs_live, b->os.irqs_live);
    ck_assert_uint_eq(a->os.timers_live, b->os.timers_live);
    ck_assert_uint_eq(a->map_pages, b->map_pages);
    /* Emptied tables are given back: the same number of mappings at other
     * IOVAs (the allocator's cursor moved) may straddle other table
     * boundaries, at most one more path of tables below the root, never a
     * growing number. */
    ck_assert_uint_le(b->table_pages, a->table_pages + HBA_IOMMU_LEVELS - 1);
}

/* A stack of the flavour that logs errors only: every round resets the
 * controller, which is worth a warning in real life, not 1,000 here. */
static struct stack *open_quiet(int flavour, const struct sim_config *cfg)
{
    struct stack_options o;
    s2_options(&o, flavour);
    o.osal.log_level = OSAL_LOG_ERROR;
    return s2_open(flavour, cfg, &o);
}

static void tur_good(struct stack *st)
{
    ck_assert(sf_clear_ua(st, 0, 0));
}

START_TEST(in_process_power_cycles)
{
    struct stack *st = open_quiet(_i, NULL);
    struct snapshot a, b;
    snap(st, &a);
    unsigned rounds = testutil_scale(1000, 30);
    char err[256];
    for (unsigned r = 0; r < rounds; r++) {
        ck_assert_int_ge(stack_power_cut(st, NULL), 0);
        ck_assert_int_eq(stack_power_on(st), 0);
        ck_assert_msg(stack_reconnect(st, err, sizeof(err)) == 0, "round %u: %s", r, err);
        tur_good(st);
    }
    ck_assert_uint_eq(stack_reconnects(st), rounds);
    snap(st, &b);
    same(&a, &b, "after the power cycles");
    stack_close(st);
}
END_TEST

START_TEST(in_process_open_close)
{
    /* One first, so what the first use allocates once (libuv, libc) is in
     * the baseline. */
    stack_close(open_quiet(_i, NULL));
    int fds = proc_count_fds(0);
    unsigned n = testutil_scale(200, 5);
    for (unsigned i = 0; i < n; i++)
        stack_close(open_quiet(_i, NULL));
    ck_assert_int_eq(proc_count_fds(0), fds);
}
END_TEST

START_TEST(two_process_controller_restarts)
{
    char dir[256];
    proc_tmpdir(dir, sizeof(dir), "s2");
    char media[300];
    snprintf(media, sizeof(media), "%s/ld0.img", dir);
    struct sim_config cfg;
    s2_config(&cfg, media);
    struct stack *st = open_quiet(_i, &cfg);
    sim_config_free(&cfg);
    struct snapshot a, b;
    snap(st, &a);
    ck_assert_uint_gt(a.map_pages, 0); /* the queues, at least */
    unsigned rounds = testutil_scale(100, 10);
    char err[512];
    for (unsigned r = 0; r < rounds; r++) {
        ck_assert_int_eq(stack_kill_controller(st), 0);
        ck_assert_msg(stack_start_controller(st, err, sizeof(err)) == 0, "round %u: %s", r, err);
        ck_assert_msg(stack_reconnect(st, err, sizeof(err)) == 0, "round %u: %s", r, err);
        tur_good(st);
    }
    ck_assert_uint_eq(stack_reconnects(st), rounds);
    snap(st, &b);
    same(&a, &b, "after the controller restarts");
    stack_close(st);
    proc_rmdir(dir);
}
END_TEST

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(two_process_open_close)
{
    /* The stacks make their temporary directories under TMPDIR. */
    char dir[256];
    proc_tmpdir(dir, sizeof(dir), "s2");
    setenv("TMPDIR", dir, 1);
    stack_close(open_quiet(_i, NULL));
    int fds = proc_count_fds(0);
    unsigned n = testutil_scale(20, 3);
    for (unsigned i = 0; i < n; i++) {
        struct stack *st = open_quiet(_i, NULL);
        ck_assert_int_gt(stack_controller_pid(st), 0);
        ck_assert_int_eq(entries(dir), 1);
        stack_close(st);
        ck_assert_int_eq(entries(dir), 0);
    }
    ck_assert_int_eq(proc_count_fds(0), fds);
    unsetenv("TMPDIR");
    proc_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stack_twoproc_leak");
    TCase *t = tcase_create("leak");
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, in_process_power_cycles, S2_IN_IRQ, S2_IN_POLL + 1);
    tcase_add_loop_test(t, in_process_open_close, S2_IN_IRQ, S2_IN_IRQ + 1);
    tcase_add_loop_test(t, two_process_controller_restarts, S2_TWO_IRQ, S2_TWO_POLL + 1);
    tcase_add_loop_test(t, two_process_open_close, S2_TWO_IRQ, S2_TWO_IRQ + 1);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
