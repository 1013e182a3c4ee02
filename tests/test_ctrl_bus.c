/* tests/test_ctrl_bus.c — the driver-side bus: the posted-write FIFO on its
 * own (order, full, wrap), attach argument checks, and a driver in another
 * process that reaches the controller only through the attach fds. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/posted.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

START_TEST(posted_fifo_keeps_order_and_refuses_when_full)
{
    static struct sim_priv_page p;
    sim_posted_reset(&p);
    uint32_t reg, val;
    ck_assert(!sim_posted_pop(&p, &reg, &val));
    for (uint32_t i = 0; i < SIM_POSTED_SLOTS; i++)
        ck_assert_int_eq(sim_posted_push(&p, HBA_REG_RESET_KEY, i), SIM_POSTED_OK);
    ck_assert_int_eq(sim_posted_push(&p, HBA_REG_RESET_KEY, 999), SIM_POSTED_FULL);
    ck_assert_uint_eq(atomic_load(&p.dropped), 1);
    for (uint32_t i = 0; i < SIM_POSTED_SLOTS; i++) {
        ck_assert(sim_posted_pop(&p, &reg, &val));
        ck_assert_uint_eq(reg, HBA_REG_RESET_KEY);
        ck_assert_uint_eq(val, i);
    }
    ck_assert(!sim_posted_pop(&p, &reg, &val));
    /* Many laps around the ring. */
    for (uint32_t i = 0; i < 10 * SIM_POSTED_SLOTS; i++) {
        ck_assert_int_eq(sim_posted_push(&p, HBA_REG_CONFIG, i), SIM_POSTED_OK);
        ck_assert(sim_posted_pop(&p, &reg, &val));
        ck_assert_uint_eq(val, i);
    }
}
END_TEST

START_TEST(posted_fifo_ignores_a_corrupted_slot)
{
    static struct sim_priv_page p;
    sim_posted_reset(&p);
    /* A driver scribbling on the page cannot make the consumer read an
     * unpublished slot: only seq == position + 1 counts. */
    atomic_store(&p.slot[0].seq, 12345);
    uint32_t reg, val;
    ck_assert(!sim_posted_pop(&p, &reg, &val));
    ck_assert(sim_posted_register(HBA_REG_CONFIG));
    ck_assert(!sim_posted_register(HBA_REG_STATUS));
    ck_assert(!sim_posted_register(HBA_REG_SQ_TAIL(0)));
}
END_TEST

/* Audit finding: head = 7 with slot[7].seq = 1000 made the producer spin for
 * ever.  Every corruption the other side can write ends in a bounded number
 * of steps, as BROKEN (or FULL, which drops the write). */
START_TEST(posted_push_never_spins_on_a_corrupted_page)
{
    static struct sim_priv_page p;
    sim_posted_reset(&p);
    atomic_store(&p.head, 7);
    atomic_store(&p.slot[7].seq, 1000);
    ck_assert_int_eq(sim_posted_push(&p, HBA_REG_CONFIG, 1), SIM_POSTED_BROKEN);
    /* Every slot claims to be published far ahead, at every head. */
    for (uint32_t head = 0; head < 3 * SIM_POSTED_SLOTS; head += 37) {
        sim_posted_reset(&p);
        for (uint32_t i = 0; i < SIM_POSTED_SLOTS; i++)
            atomic_store(&p.slot[i].seq, head + 1 + i * 977);
        atomic_store(&p.head, head);
        ck_assert_int_ne(sim_posted_push(&p, HBA_REG_CONFIG, 1), SIM_POSTED_OK);
    }
    /* A sound page still works after a reset. */
    sim_posted_reset(&p);
    ck_assert_int_eq(sim_posted_push(&p, HBA_REG_CONFIG, 1), SIM_POSTED_OK);
}
END_TEST

static void on_dead(void *arg, struct bus *b)
{
    (void)b;
    atomic_store((_Atomic int *)arg, 1);
}

/* The same through the bus: bus_write32(CONFIG) returns, the bus goes dead as
 * in a surprise removal, and the dead handler hears of it. */
START_TEST(bus_reports_a_corrupted_page_as_a_dead_device)
{
    struct hh h;
    hh_open(&h, NULL); /* powered on */
    static _Atomic int told;
    atomic_store(&told, 0);
    bus_set_dead_handler(h.bus, on_dead, (void *)&told);
    /* The controller's side of the page, as another process would map it. */
    const struct sim_attach *a = sim_ctrl_attach_info(h.ctrl);
    uint8_t *dev = mmap(NULL, SIM_REGION_DEV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a->dev_fd, 0);
    ck_assert_ptr_ne(dev, MAP_FAILED);
    struct sim_priv_page *page = (struct sim_priv_page *)(void *)(dev + SIM_REGION_PRIV);
    atomic_store(&page->slot[7].seq, 1000);
    atomic_store(&page->head, 7);
    bus_write32(h.bus, HBA_REG_CONFIG, 0);
    ck_assert(bus_is_dead(h.bus));
    ck_assert_int_eq(atomic_load(&told), 1);
    ck_assert_uint_eq(bus_read32(h.bus, HBA_REG_ID), 0xFFFFFFFFu);
    struct bus_stats st;
    bus_get_stats(h.bus, &st);
    ck_assert_uint_eq(st.peer_broken, 1);
    bus_set_dead_handler(h.bus, NULL, NULL);
    munmap(dev, SIM_REGION_DEV_SIZE);
    hh_close(&h);
}
END_TEST

START_TEST(attach_checks_its_arguments)
{
    struct sim_attach a;
    memset(&a, 0, sizeof(a));
    a.dev_fd = a.ram_fd = -1;
    struct bus *b = NULL;
    ck_assert_int_eq(bus_attach(&a, NULL, &b), -EINVAL);
    ck_assert_int_eq(bus_attach(NULL, NULL, &b), -EINVAL);

    struct hh h;
    hh_open(&h, NULL);
    struct sim_attach bad = *sim_ctrl_attach_info(h.ctrl);
    bad.ram_size += 4096; /* larger than the RAM memfd */
    ck_assert_int_eq(bus_attach(&bad, NULL, &b), -EINVAL);
    bad = *sim_ctrl_attach_info(h.ctrl);
    bad.dev_fd = bad.bell_fd; /* not a file the device memory fits in */
    ck_assert_int_eq(bus_attach(&bad, NULL, &b), -EINVAL);
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(h.ctrl), NULL, &b), 0);
    /* IOMMU programming needs no ops: the bus writes the tables in host RAM. */
    ck_assert_int_eq(bus_iommu_map(b, 0, 0, 4096, HBA_DMA_TO_DEVICE), 0);
    ck_assert_int_eq(bus_iommu_unmap(b, 0, 4096), 0);
    ck_assert_int_eq(bus_iommu_unmap(b, 0, 4096), -ENOENT);
    ck_assert_int_eq(bus_vector_fd(b, 99), -1);
    ck_assert_int_ge(bus_vector_fd(b, 0), 0);
    ck_assert_uint_eq(bus_read32(b, HBA_REG_ID), HBA_ID_MAGIC);
    bus_detach(b);
    hh_close(&h);
}
END_TEST

/* The child process: a driver with nothing but the attach fds and the IOVAs
 * the parent mapped.  Exit code 0 = every step worked. */
static int child_driver(const struct sim_attach *a, const struct hh_buf *sq, const struct hh_buf *cq,
                        const struct hh_buf *data)
{
    struct bus *b;
    if (bus_attach(a, NULL, &b) != 0)
        return 10;
    uint8_t *ram = bus_ram(b);
    for (int i = 0; i < 100000 && HBA_STATUS_STATE(bus_read32(b, HBA_REG_STATUS)) != HBA_STATE_READY; i++)
        usleep(100);
    if (HBA_STATUS_STATE(bus_read32(b, HBA_REG_STATUS)) != HBA_STATE_READY)
        return 11;
    bus_write32(b, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)sq->iova);
    bus_write32(b, HBA_REG_AQ_SQ_BASE_HI, (uint32_t)(sq->iova >> 32));
    bus_write32(b, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)cq->iova);
    bus_write32(b, HBA_REG_AQ_CQ_BASE_HI, (uint32_t)(cq->iova >> 32));
    bus_write32(b, HBA_REG_AQ_SIZE, 8u | 8u << 16);
    bus_write32(b, HBA_REG_CONFIG, HBA_CONFIG_EN);
    for (int i = 0; i < 100000 && !(bus_read32(b, HBA_REG_STATUS) & HBA_STATUS_RDY); i++)
        usleep(100);
    if (!(bus_read32(b, HBA_REG_STATUS) & HBA_STATUS_RDY))
        return 12;

    struct hba_sq_entry e = hh_admin_entry(HBA_ADM_IDENTIFY, HBA_IDENTIFY_CONTROLLER, 0, 0, 0);
    e.cid = 0x42;
    e.data_len = 256;
    e.sge = hh_sge(data->iova, 256, HBA_SGE_DATA);
    memcpy(ram + sq->ram, &e, sizeof(e));
    bus_write32(b, HBA_REG_SQ_TAIL(0), 1);
    if (bus_wait_vector(b, 0, HH_TIMEOUT_MS) != 1)
        return 13;
    struct hba_cq_entry c;
    memcpy(&c, ram + cq->ram, sizeof(c));
    if (c.cid != 0x42 || c.ctrl_status != HBA_CS_SUCCESS || (c.phase & 1) != 1 || c.result != 256)
        return 14;
    if (memcmp(ram + data->ram, "SCSISIM ", 8) != 0)
        return 15;
    bus_write32(b, HBA_REG_CQ_HEAD(0), 1);
    bus_write32(b, HBA_REG_INT_STATUS, 1);
    bus_detach(b);
    return 0;
}

START_TEST(a_driver_in_another_process_uses_only_the_fds)
{
    struct hh h;
    hh_open(&h, NULL);
    /* The OS side (this process) maps the IOVAs; the driver runs elsewhere. */
    struct hh_buf sq = hh_alloc(&h, 8 * 64, HBA_DMA_TO_DEVICE);
    struct hh_buf cq = hh_alloc(&h, 8 * 16, HBA_DMA_FROM_DEVICE);
    struct hh_buf data = hh_alloc(&h, 4096, HBA_DMA_FROM_DEVICE);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_driver(sim_ctrl_attach_info(h.ctrl), &sq, &cq, &data));
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_CQ_HEAD(0)), 1); /* its writes reached our controller */
    hh_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_bus");
    TCase *tc = tcase_create("bus");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, posted_fifo_keeps_order_and_refuses_when_full);
    tcase_add_test(tc, posted_fifo_ignores_a_corrupted_slot);
    tcase_add_test(tc, posted_push_never_spins_on_a_corrupted_page);
    tcase_add_test(tc, bus_reports_a_corrupted_page_as_a_dead_device);
    tcase_add_test(tc, attach_checks_its_arguments);
    tcase_add_test(tc, a_driver_in_another_process_uses_only_the_fds);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
