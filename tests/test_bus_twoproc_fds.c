/* tests/test_bus_twoproc_fds.c — nothing leaks across connections: 1,000 host
 * connect / disconnect cycles against one controller process leave the open
 * file descriptors of both processes where they started; so do reconnections
 * of one bus to a controller that is killed and restarted. */
#include <string.h>
#include <unistd.h>

#include "platform/bus_client.h"
#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

#define CYCLES 1000
#define SMALL_RAM (1u << 20)

static const char *const args[] = { "--set", "init-time=0", "--drive", "0:0,blocks=64", NULL };

START_TEST(a_thousand_connections_leak_no_fd)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, args);
    /* No host yet: the controller holds its own RAM then a host's, one fd
     * either way. */
    int theirs = proc_count_fds(p.pid);
    /* One cycle first, so that whatever this process opens once is open. */
    struct bus *b;
    char err[256] = "";
    ck_assert_int_eq(bus_remote_connect(p.sock, -1, SMALL_RAM, &b, err, sizeof(err)), 0);
    bus_detach(b);
    int mine = proc_count_fds(0);
    for (int i = 0; i < CYCLES; i++) {
        int rc = bus_remote_connect(p.sock, -1, SMALL_RAM, &b, err, sizeof(err));
        ck_assert_msg(rc == 0, "cycle %d: %d %s", i, rc, err);
        ck_assert_uint_eq(bus_read32(b, HBA_REG_ID), HBA_ID_MAGIC);
        if (i % 100 == 0) /* now and then with an IOMMU mapping to forget */
            ck_assert_int_eq(bus_iommu_map(b, 0x1000, 0x1000, 4096, HBA_DMA_TO_DEVICE), 0);
        bus_detach(b);
    }
    ck_assert_int_eq(proc_count_fds(0), mine);
    ck_assert_int_eq(proc_settle_fds(p.pid, theirs, 5000), theirs);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(reconnections_leak_no_fd)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, args);
    struct bus *b;
    char err[256] = "";
    ck_assert_int_eq(bus_remote_connect(p.sock, -1, SMALL_RAM, &b, err, sizeof(err)), 0);
    ck_assert_int_eq(bus_iommu_map(b, 0x1000, 0x1000, 8192, HBA_DMA_TO_DEVICE), 0);
    int mine = proc_count_fds(0);
    for (int i = 0; i < 20; i++) {
        b2_kill(&p);
        ck_assert(b2_wait_dead(b));
        /* A failed attempt (nobody listens yet) leaks nothing either. */
        ck_assert_int_lt(bus_remote_reconnect(b, NULL, err, sizeof(err)), 0);
        b2_restart(&p);
        int rc = bus_remote_reconnect(b, NULL, err, sizeof(err));
        ck_assert_msg(rc == 0, "round %d: %s", i, err);
        ck_assert_uint_eq(bus_read32(b, HBA_REG_ID), HBA_ID_MAGIC);
        ck_assert_int_eq(proc_count_fds(0), mine);
    }
    bus_detach(b);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_fds");
    TCase *tc = tcase_create("fds");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_thousand_connections_leak_no_fd);
    tcase_add_test(tc, reconnections_leak_no_fd);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
