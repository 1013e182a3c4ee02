/* tests/test_bus_twoproc_ram.c — host RAM belongs to the host (in one process):
 * sim_host_ram_create and sim_memfd_check, a controller on the host's RAM
 * (sim_ctrl_create_with_ram) that dies without taking the RAM along, moving
 * a powered-off controller to another host's RAM (sim_ctrl_set_ram: a new
 * platform, so a new IOMMU), and the orderly sim_ctrl_shutdown that flushes
 * where a power cut loses. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/iommu_pt.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

#define RAM (4u << 20)

START_TEST(host_ram_is_a_sealed_memfd)
{
    char err[200] = "";
    ck_assert_int_eq(sim_host_ram_create(0, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "1 MiB"));
    ck_assert_int_eq(sim_host_ram_create(SIM_HOST_RAM_MIN - 4096, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(sim_host_ram_create(SIM_HOST_RAM_MIN + 1, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(sim_host_ram_create(SIM_HOST_RAM_MAX + 4096, err, sizeof(err)), -EINVAL);
    int fd = sim_host_ram_create(RAM, err, sizeof(err));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    int seals = fcntl(fd, F_GET_SEALS);
    ck_assert_int_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    ck_assert_int_eq(ftruncate(fd, RAM / 2), -1); /* the controller's mapping cannot be cut short */
    ck_assert_int_eq(sim_memfd_check(fd, RAM), 0);
    ck_assert_int_eq(sim_memfd_check(fd, RAM * 2), -EINVAL);
    int plain = memfd_create("plain", MFD_CLOEXEC);
    ck_assert_int_eq(ftruncate(plain, RAM), 0);
    ck_assert_int_eq(sim_memfd_check(plain, RAM), -EPERM);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(sim_memfd_check(p[0], RAM), -EBADF);
    ck_assert_int_eq(sim_memfd_check(-1, RAM), -EBADF);
    close(p[0]);
    close(p[1]);
    close(plain);
    close(fd);
}
END_TEST

/* The harness on a controller created over the host's RAM fd. */
static void open_on(struct hh *h, int ram_fd, uint64_t size)
{
    memset(h, 0, sizeof(*h));
    hh_config(&h->cfg);
    char err[256] = "";
    int rc = sim_ctrl_create_with_ram(&h->cfg, ram_fd, size, &h->ctrl, err, sizeof(err));
    ck_assert_msg(rc == 0, "%d %s", rc, err);
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(h->ctrl), NULL, &h->bus), 0);
    h->ram = bus_ram(h->bus);
    h->ram_size = bus_ram_size(h->bus);
    ck_assert_int_eq(sim_ctrl_power_on(h->ctrl), 0);
}

START_TEST(the_hosts_ram_outlives_its_controller)
{
    char err[256] = "";
    int fd = sim_host_ram_create(RAM, err, sizeof(err));
    ck_assert_int_ge(fd, 0);
    uint8_t *mine = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(mine, MAP_FAILED);
    struct hh h;
    open_on(&h, fd, RAM);
    close(fd); /* the controller and the bus hold their own references */
    ck_assert_uint_eq(sim_ctrl_ram_size(h.ctrl), RAM);
    ck_assert_uint_eq(sim_ctrl_attach_info(h.ctrl)->ram_size, RAM);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert(hh_enable(&h, 8));
    ck_assert_int_eq(hh_create_pair(&h, 1, 8, 1, 0), 0);
    struct hh_buf inq = hh_alloc(&h, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 36);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(inq.iova, 36, HBA_SGE_DATA));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
    /* The controller goes; what it DMA'd stays in the host's memory. */
    sim_ctrl_destroy(h.ctrl);
    h.ctrl = NULL;
    ck_assert_int_eq(memcmp(mine + inq.ram + 8, "SCSISIM ", 8), 0);
    ck_assert_int_eq(memcmp(h.ram + inq.ram + 8, "SCSISIM ", 8), 0);
    hh_close(&h);
    munmap(mine, RAM);
}
END_TEST

START_TEST(a_controller_takes_only_sealed_ram_of_the_right_size)
{
    struct sim_config cfg;
    hh_config(&cfg);
    struct sim_ctrl *c = NULL;
    char err[256] = "";
    int plain = memfd_create("plain", MFD_CLOEXEC);
    ck_assert_int_eq(ftruncate(plain, RAM), 0);
    ck_assert_int_eq(sim_ctrl_create_with_ram(&cfg, plain, RAM, &c, err, sizeof(err)), -EPERM);
    ck_assert_ptr_nonnull(strstr(err, "sealed"));
    int fd = sim_host_ram_create(RAM, err, sizeof(err));
    ck_assert_int_eq(sim_ctrl_create_with_ram(&cfg, fd, RAM * 2, &c, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "size"));
    ck_assert_int_eq(sim_ctrl_create_with_ram(&cfg, fd, 8192, &c, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "host-ram"));
    ck_assert_int_eq(sim_ctrl_create_with_ram(&cfg, -1, RAM, &c, err, sizeof(err)), -EBADF);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(sim_ctrl_create_with_ram(&cfg, fd, RAM, &c, err, sizeof(err)), 0);
    sim_ctrl_destroy(c);
    close(fd);
    close(plain);
    sim_config_free(&cfg);
}
END_TEST

START_TEST(another_hosts_ram_comes_with_a_fresh_iommu)
{
    struct hh h;
    hh_open(&h, NULL);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert(hh_enable(&h, 8));
    sim_ctrl_set_iommu_policy(h.ctrl, HBA_IOMMU_POLICY_DROP);
    char err[256] = "";
    int fd = sim_host_ram_create(RAM, err, sizeof(err));
    ck_assert_int_eq(sim_ctrl_set_ram(h.ctrl, fd, RAM, err, sizeof(err)), -EBUSY);
    ck_assert_int_ge(sim_ctrl_power_cut(h.ctrl, NULL), 0);
    /* A refused RAM changes nothing: the old mappings still translate. */
    ck_assert_int_eq(sim_ctrl_set_ram(h.ctrl, fd, RAM + 4096, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(bus_iommu_map(h.bus, h.q[0].sq.iova, h.q[0].sq.ram, 4096, HBA_DMA_TO_DEVICE), -EEXIST);
    ck_assert_uint_eq(sim_ctrl_ram_size(h.ctrl), 32u << 20);

    ck_assert_int_eq(sim_ctrl_set_ram(h.ctrl, fd, RAM, err, sizeof(err)), 0);
    ck_assert_uint_eq(sim_ctrl_ram_size(h.ctrl), RAM);
    ck_assert_uint_eq(sim_ctrl_attach_info(h.ctrl)->ram_size, RAM);
    /* New platform: nothing logged, the policy kept. */
    struct hba_log_header hdr;
    struct hba_iommu_fault f;
    ck_assert_uint_eq(sim_ctrl_fault_log(h.ctrl, 0, &f, 1, &hdr), 0);
    ck_assert_uint_eq(hdr.total, 0);
    /* A driver on the new RAM: its bus maps the new fd. */
    bus_detach(h.bus);
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(h.ctrl), NULL, &h.bus), 0);
    h.ram = bus_ram(h.bus);
    h.ram_size = bus_ram_size(h.bus);
    h.ram_next = 0;
    /* ... whose IOMMU tables start empty. */
    struct iommu_pt_stats ps;
    bus_iommu_stats(h.bus, &ps);
    ck_assert_uint_eq(ps.mapped_pages, 0);
    hh_forget_queues(&h);
    ck_assert_int_eq(sim_ctrl_power_on(h.ctrl), 0);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert(hh_enable(&h, 8));
    /* An access to an IOVA nobody mapped on this platform faults, logged
     * with the kept policy. */
    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_IDENTIFY, HBA_IDENTIFY_CONTROLLER, 0, 0, 0);
    e.data_len = 256;
    e.sge = hh_sge(0x7700000000ull, 256, HBA_SGE_DATA);
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_admin(&h, &e, &c), HBA_CS_SUCCESS); /* DROP: the controller cannot tell */
    ck_assert_uint_eq(sim_ctrl_fault_log(h.ctrl, 0, &f, 1, &hdr), 1);
    ck_assert_uint_eq(f.policy, HBA_IOMMU_POLICY_DROP);
    close(fd);
    hh_close(&h);
}
END_TEST

START_TEST(shutdown_flushes_where_a_power_cut_loses)
{
    struct hh h;
    hh_open_ready(&h, NULL);
    struct hh_buf out = hh_alloc(&h, 4 * 512, HBA_DMA_TO_DEVICE);
    memset(out.p, 0xA5, 4 * 512);
    uint8_t cdb[10];
    struct hba_cq_entry c;
    hh_cdb_rw10(cdb, true, 8, 4);
    struct hba_sq_entry e =
        hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, 2048, hh_sge(out.iova, 2048, HBA_SGE_DATA));
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
    /* hh_open_ready consumed no UA: the first command may report it. */
    if (c.scsi_status != 0) {
        e.cid = 0;
        ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
    }
    ck_assert_int_eq(c.scsi_status, 0);

    ck_assert_int_eq(sim_ctrl_shutdown(h.ctrl), 0);
    ck_assert(!sim_ctrl_powered(h.ctrl));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), 0);
    ck_assert_int_eq(sim_ctrl_shutdown(h.ctrl), -EALREADY);
    ck_assert_int_eq(sim_ctrl_power_on(h.ctrl), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_ctrl_check_media(h.ctrl, 0, 0, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, 4);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);

    /* The same without the flush: lost. */
    hh_forget_queues(&h);
    ck_assert(hh_wait_state(&h, HBA_STATE_READY));
    ck_assert(hh_enable(&h, 8));
    ck_assert_int_eq(hh_create_pair(&h, 1, 8, 1, 0), 0);
    hh_cdb_rw10(cdb, true, 100, 4);
    for (int i = 0; i < 3; i++) { /* past the power-on unit attention */
        e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, 2048, hh_sge(out.iova, 2048, HBA_SGE_DATA));
        ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
        if (c.scsi_status == 0)
            break;
    }
    ck_assert_int_eq(c.scsi_status, 0);
    ck_assert_int_gt(sim_ctrl_power_cut(h.ctrl, NULL), 0);
    ck_assert_int_eq(sim_ctrl_power_on(h.ctrl), 0);
    ck_assert_int_eq(sim_ctrl_check_media(h.ctrl, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 4);
    hh_close(&h);
}
END_TEST

START_TEST(a_local_bus_is_never_dead)
{
    struct hh h;
    hh_open(&h, NULL);
    ck_assert(!bus_is_dead(h.bus));
    bus_set_dead_handler(h.bus, NULL, NULL);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_ram");
    TCase *tc = tcase_create("ram");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, host_ram_is_a_sealed_memfd);
    tcase_add_test(tc, the_hosts_ram_outlives_its_controller);
    tcase_add_test(tc, a_controller_takes_only_sealed_ram_of_the_right_size);
    tcase_add_test(tc, another_hosts_ram_comes_with_a_fresh_iommu);
    tcase_add_test(tc, shutdown_flushes_where_a_power_cut_loses);
    tcase_add_test(tc, a_local_bus_is_never_dead);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
