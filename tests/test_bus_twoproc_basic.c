/* tests/test_bus_twoproc_basic.c — the two-process bus end to end: a controller
 * process (`scsisim controller`) and the raw harness in this process over a
 * remote bus.  Bring-up and I/O through the queues, IOMMU programming and a
 * fault logged in the other process, every test-control request, a second
 * host turned away, the controller's death noticed and survived
 * (reconnection with replayed mappings), orderly stops, and the command
 * line's errors. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/iommu_pt.h"
#include "platform/bus_client.h"
#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/testutil.h"


static uint64_t mapped_pages(struct bus *b)
{
    struct iommu_pt_stats ps;
    bus_iommu_stats(b, &ps);
    return ps.mapped_pages;
}

static const char *const small_drive[] = { "--set", "init-time=1ms", "--drive", "0:0,blocks=2048", NULL };

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

START_TEST(bring_up_inquiry_write_read_in_another_process)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    struct hh h;
    b2_attach(&h, &p);
    ck_assert(bus_is_remote(h.bus));
    ck_assert(!bus_is_dead(h.bus));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert_uint_eq(bus_ram_size(h.bus), B2_RAM_BYTES);
    b2_bringup(&h);

    struct hh_buf inq = hh_alloc(&h, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 96);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_READ, 96, hh_sge(inq.iova, 96, HBA_SGE_DATA));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(c.scsi_status, 0);
    ck_assert_uint_eq(c.result, 96);
    ck_assert_int_eq(memcmp(inq.p + 8, "SCSISIM ", 8), 0);

    struct hh_buf out = hh_alloc(&h, 8 * 512, HBA_DMA_TO_DEVICE);
    struct hh_buf in = hh_alloc(&h, 8 * 512, HBA_DMA_FROM_DEVICE);
    fill(out.p, 8 * 512, 3);
    ck_assert_int_eq(b2_rw(&h, true, 100, 8, &out), 0);
    ck_assert_int_eq(b2_rw(&h, false, 100, 8, &in), 0);
    ck_assert_int_eq(memcmp(in.p, out.p, 8 * 512), 0);

    /* The firmware in the other process drives the heartbeat we see. */
    ck_assert(hh_wait_heartbeat(&h, hh_rd(&h, HBA_REG_HEARTBEAT), HH_TIMEOUT_MS));
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    struct stat st;
    ck_assert_int_eq(stat(p.sock, &st), -1); /* an orderly stop removes the socket */
    b2_fini(&p);
}
END_TEST

START_TEST(iommu_programmed_remotely_and_faults_logged_there)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    struct hh h;
    b2_attach(&h, &p);
    b2_bringup(&h);

    /* The controller's IOMMU answers through the socket. */
    struct hh_buf buf = hh_alloc_unmapped(&h, 4096);
    ck_assert_int_eq(bus_iommu_map(h.bus, 0x70000000, buf.ram, 4096, HBA_DMA_FROM_DEVICE), 0);
    ck_assert_int_eq(bus_iommu_map(h.bus, 0x70000000, buf.ram, 4096, HBA_DMA_FROM_DEVICE), -EEXIST);
    ck_assert_int_eq(bus_iommu_map(h.bus, 0x70001000, buf.ram, 0, HBA_DMA_FROM_DEVICE), -EINVAL);
    ck_assert_int_eq(bus_iommu_map(h.bus, 0x70001000, B2_RAM_BYTES, 4096, HBA_DMA_FROM_DEVICE), -EINVAL);
    ck_assert_int_eq(bus_iommu_unmap(h.bus, 0x70000000, 4096), 0);
    ck_assert_int_eq(bus_iommu_unmap(h.bus, 0x70000000, 4096), -ENOENT);

    /* INQUIRY into the now unmapped IOVA: the abort policy fails it and the
     * fault log (in the controller process) names the IOVA. */
    uint8_t cdb[6];
    hh_cdb_inquiry(cdb, 36);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_READ, 36, hh_sge(0x70000000, 36, HBA_SGE_DATA));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_DATA_XFER_ERROR);
    struct hba_iommu_fault f[4];
    struct hba_log_header hdr;
    int n = bus_remote_fault_log(h.bus, 0, f, 4, &hdr);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(hdr.total, 1);
    ck_assert_uint_eq(hdr.count, 1);
    ck_assert_uint_eq(f[0].iova, 0x70000000);
    ck_assert_uint_eq(f[0].length, 36);
    ck_assert_uint_eq(f[0].reason, HBA_IOMMU_UNMAPPED);
    ck_assert_uint_eq(f[0].dir, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_eq(f[0].cid, e.cid);
    ck_assert_uint_eq(f[0].sq_id, 1);
    /* Beyond the log: nothing, with the header still filled. */
    ck_assert_int_eq(bus_remote_fault_log(h.bus, 5, f, 4, &hdr), 0);

    /* The drop policy, switched remotely: the same INQUIRY "succeeds" (F2). */
    ck_assert_int_eq(bus_remote_set_iommu_policy(h.bus, HBA_IOMMU_POLICY_DROP), 0);
    ck_assert_int_eq(bus_remote_set_iommu_policy(h.bus, (enum hba_iommu_policy)9), -EINVAL);
    e.cid = 0;
    ck_assert_int_eq(hh_scsi(&h, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_int_eq(bus_remote_fault_log(h.bus, 0, f, 4, &hdr), 2);
    ck_assert_uint_eq(f[1].policy, HBA_IOMMU_POLICY_DROP);

    /* The tables in host RAM hold exactly what is mapped. */
    uint64_t pages = mapped_pages(h.bus);
    ck_assert_uint_gt(pages, 0);
    struct hh_buf two = hh_alloc(&h, 8192, HBA_DMA_TO_DEVICE);
    ck_assert_uint_eq(mapped_pages(h.bus), pages + 2);
    ck_assert_int_eq(bus_iommu_unmap(h.bus, two.iova + 4096, 4096), 0); /* half of it */
    ck_assert_uint_eq(mapped_pages(h.bus), pages + 1);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(test_control_requests_reach_the_controller)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    struct hh h;
    b2_attach(&h, &p);
    b2_bringup(&h);
    struct hh_buf out = hh_alloc(&h, 4 * 512, HBA_DMA_TO_DEVICE);
    fill(out.p, 4 * 512, 9);

    /* CHECK_MEDIA: the oracle counts an acknowledged write. */
    ck_assert_int_eq(b2_rw(&h, true, 10, 4, &out), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(bus_remote_check_media(h.bus, 0, 0, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, 4);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_int_eq(bus_remote_check_media(h.bus, 7, 0, &r), -ENOENT);

    /* POWER_CUT without a battery: the dirty lines are lost, registers read 0. */
    int64_t lost = bus_remote_power_cut(h.bus, NULL);
    ck_assert_int_gt(lost, 0);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), 0);
    ck_assert_int_eq(bus_remote_power_cut(h.bus, NULL), -EALREADY);
    struct sim_power_cut bad = { .mode = (enum sim_power_cut_mode)7 };
    ck_assert_int_eq(bus_remote_power_cut(h.bus, &bad), -EINVAL);
    ck_assert_int_eq(bus_remote_inject(h.bus, SIM_INJECT_HANG, 0), -ENODEV); /* powered off */
    ck_assert_int_eq(bus_remote_power_on(h.bus), 0);
    ck_assert_int_eq(bus_remote_power_on(h.bus), -EALREADY);
    ck_assert_int_eq(bus_remote_check_media(h.bus, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 4);
    b2_bringup(&h);

    /* INJECT / INJECT_CLEAR: a stalled heartbeat stops, and runs again. */
    ck_assert_int_eq(bus_remote_inject(h.bus, SIM_INJECT_STALL_HEARTBEAT, 0), 0);
    ck_assert_int_eq(bus_remote_inject(h.bus, (enum sim_inject_kind)99, 0), -EINVAL);
    uint32_t beat = 0;
    bool stalled = false;
    for (int i = 0; i < 100 && !stalled; i++) {
        beat = hh_rd(&h, HBA_REG_HEARTBEAT);
        stalled = !hh_wait_heartbeat(&h, beat, 5 * HBA_HEARTBEAT_PERIOD_MS);
    }
    ck_assert(stalled);
    ck_assert_int_eq(bus_remote_inject_clear(h.bus), 0);
    ck_assert(hh_wait_heartbeat(&h, beat, HH_TIMEOUT_MS));
    ck_assert_int_eq(bus_remote_inject(h.bus, SIM_INJECT_FATAL, 0), 0);
    ck_assert(hh_wait_state(&h, HBA_STATE_FAULT));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_FAULT_CODE), HBA_FAULT_INJECTED);

    /* SET_BATTERY and RAISE_UA check their arguments on the far side. */
    ck_assert_int_eq(bus_remote_set_battery(h.bus, 0, 0, HBA_BATTERY_GOOD), 0);
    ck_assert_int_eq(bus_remote_set_battery(h.bus, 3, 3, HBA_BATTERY_GOOD), -ENOENT);
    ck_assert_int_eq(bus_remote_set_battery(h.bus, 0, 0, (enum hba_battery)5), -EINVAL);
    ck_assert_int_eq(bus_remote_raise_ua(h.bus, 0, 0, -1, 0x2A09), 0);
    ck_assert_int_eq(bus_remote_raise_ua(h.bus, 0, 0, HBA_MAX_INITIATORS, 0x2A09), -EINVAL);
    /* With the battery good, a power cut keeps the dirty lines. */
    ck_assert_int_eq(bus_remote_power_cut(h.bus, NULL), 0);
    ck_assert_int_eq(bus_remote_power_on(h.bus), 0);
    b2_bringup(&h);
    ck_assert_int_eq(b2_rw(&h, true, 20, 4, &out), 0);
    ck_assert_int_eq(bus_remote_power_cut(h.bus, NULL), 0);
    ck_assert_int_eq(bus_remote_power_on(h.bus), 0);
    ck_assert_int_eq(bus_remote_check_media(h.bus, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(a_second_host_is_turned_away)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    struct hh h;
    b2_attach(&h, &p);
    struct bus *b2 = NULL;
    char err[256] = "";
    ck_assert_int_eq(bus_remote_connect(p.sock, -1, B2_RAM_BYTES, &b2, err, sizeof(err)), -EBUSY);
    ck_assert_ptr_null(b2);
    ck_assert_ptr_nonnull(strstr(err, "another host is attached"));
    /* The first one is still served. */
    b2_bringup(&h);
    hh_close(&h);
    /* Once it left, the next one is welcome. */
    b2_attach(&h, &p);
    b2_bringup(&h);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

static _Atomic int deaths;

static void on_dead(void *arg, struct bus *b)
{
    ck_assert_ptr_eq(arg, &deaths);
    ck_assert(bus_is_dead(b));
    atomic_fetch_add(&deaths, 1);
}

/* The handler runs just after the bus turns dead, on the monitor thread. */
static int wait_deaths(int n)
{
    for (int i = 0; i < HH_TIMEOUT_MS * 10 && atomic_load(&deaths) < n; i++)
        usleep(100);
    return atomic_load(&deaths);
}

START_TEST(a_killed_controller_is_noticed_and_a_restarted_one_takes_over)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    struct hh h;
    b2_attach(&h, &p);
    atomic_store(&deaths, 0);
    bus_set_dead_handler(h.bus, on_dead, &deaths);
    b2_bringup(&h);
    struct hh_buf out = hh_alloc(&h, 2 * 512, HBA_DMA_TO_DEVICE);
    struct hh_buf in = hh_alloc(&h, 2 * 512, HBA_DMA_FROM_DEVICE);
    fill(out.p, 2 * 512, 1);
    uint64_t pages = mapped_pages(h.bus);

    b2_kill(&p);
    ck_assert(b2_wait_dead(h.bus));
    ck_assert_int_eq(wait_deaths(1), 1);
    /* A surprise-removed device: all-ones, writes dropped, no interrupts. */
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), 0xFFFFFFFFu);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_HEARTBEAT), 0xFFFFFFFFu);
    struct bus_stats before, after;
    bus_get_stats(h.bus, &before);
    hh_wr(&h, HBA_REG_CONFIG, 0);
    bus_get_stats(h.bus, &after);
    ck_assert_uint_eq(after.dropped, before.dropped + 1);
    ck_assert_int_eq(bus_wait_vector(h.bus, 1, 0), -ENODEV);
    ck_assert_int_eq(bus_remote_power_on(h.bus), -ENODEV);
    struct hba_log_header hdr;
    ck_assert_int_eq(bus_remote_fault_log(h.bus, 0, NULL, 0, &hdr), -ENODEV);
    ck_assert_int_eq(bus_remote_fault_log(h.bus, 0, NULL, 1, &hdr), -EINVAL);
    /* Host RAM is the host's: still there, still ours. */
    ck_assert_uint_eq(out.p[1], 8);
    /* The IOMMU is the platform's: its tables are host RAM, editing them still
     * works, and an unmap does not wait for a dead controller's IOMMU. */
    struct hh_buf late = hh_alloc(&h, 4096, HBA_DMA_FROM_DEVICE);
    ck_assert_int_eq(bus_iommu_map(h.bus, late.iova, late.ram, 4096, HBA_DMA_FROM_DEVICE), -EEXIST);
    ck_assert_uint_eq(mapped_pages(h.bus), pages + 1);
    hh_unmap(&h, &late);
    ck_assert_int_eq(bus_iommu_unmap(h.bus, late.iova, 4096), -ENOENT);

    /* Restart, reconnect: same RAM address, the same tables in force. */
    uint8_t *ram = bus_ram(h.bus);
    int vfd = bus_vector_fd(h.bus, 1);
    char err[256] = "";
    ck_assert_int_eq(bus_remote_reconnect(h.bus, NULL, err, sizeof(err)), -ECONNREFUSED);
    ck_assert_ptr_nonnull(strstr(err, "cannot connect"));
    ck_assert(bus_is_dead(h.bus));
    b2_restart(&p);
    int rc = bus_remote_reconnect(h.bus, NULL, err, sizeof(err));
    ck_assert_msg(rc == 0, "reconnect: %d %s", rc, err);
    ck_assert(!bus_is_dead(h.bus));
    ck_assert_ptr_eq(bus_ram(h.bus), ram);
    ck_assert_int_eq(bus_vector_fd(h.bus, 1), vfd);
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert_uint_eq(mapped_pages(h.bus), pages);
    b2_bringup(&h);
    /* The buffers mapped before the death work without being mapped again. */
    ck_assert_int_eq(b2_rw(&h, true, 5, 2, &out), 0);
    ck_assert_int_eq(b2_rw(&h, false, 5, 2, &in), 0);
    ck_assert_int_eq(memcmp(in.p, out.p, 1024), 0);

    /* A second death is reported again. */
    b2_kill(&p);
    ck_assert(b2_wait_dead(h.bus));
    ck_assert_int_eq(wait_deaths(2), 2);
    b2_restart(&p);
    ck_assert_int_eq(bus_remote_reconnect(h.bus, NULL, err, sizeof(err)), 0);
    /* A reconnection to a live controller (the owner's choice) is no death. */
    ck_assert_int_eq(bus_remote_reconnect(h.bus, p.sock, err, sizeof(err)), 0);
    ck_assert_int_eq(atomic_load(&deaths), 2);
    b2_bringup(&h);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(swapping_buses_keeps_the_hosts_ram)
{
    /* The other way to survive a restart: a new bus on the same RAM fd. */
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    char err[256] = "";
    int ram = sim_host_ram_create(B2_RAM_BYTES, err, sizeof(err));
    ck_assert_int_ge(ram, 0);
    struct bus *old = NULL, *b = NULL;
    ck_assert_int_eq(bus_remote_connect(p.sock, ram, B2_RAM_BYTES, &old, err, sizeof(err)), 0);
    memcpy(bus_ram(old) + 12345, "kept", 4);
    b2_kill(&p);
    ck_assert(b2_wait_dead(old));
    b2_restart(&p);
    ck_assert_int_eq(bus_remote_connect(p.sock, ram, B2_RAM_BYTES, &b, err, sizeof(err)), 0);
    ck_assert_int_eq(memcmp(bus_ram(b) + 12345, "kept", 4), 0);
    bus_detach(old);
    ck_assert_uint_eq(bus_read32(b, HBA_REG_ID), HBA_ID_MAGIC);
    bus_detach(b);
    close(ram);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(orderly_stops_flush_the_cache)
{
    struct b2_proc p;
    b2_init(&p);
    char drive[200];
    snprintf(drive, sizeof(drive), "0:0,blocks=2048,media=ld0.img");
    const char *const args[] = { "--set", "init-time=1ms", "--drive", drive, NULL };
    b2_start(&p, args);
    struct hh h;
    b2_attach(&h, &p);
    b2_bringup(&h);
    struct hh_buf out = hh_alloc(&h, 2 * 512, HBA_DMA_TO_DEVICE);
    struct hh_buf in = hh_alloc(&h, 2 * 512, HBA_DMA_FROM_DEVICE);

    /* Written, never flushed, then SIGTERM: the stop flushes it to media. */
    fill(out.p, 1024, 40);
    ck_assert_int_eq(b2_rw(&h, true, 7, 2, &out), 0);
    ck_assert_int_eq(b2_stop(&p), 0);
    ck_assert(b2_wait_dead(h.bus));
    b2_restart(&p);
    char err[256];
    ck_assert_int_eq(bus_remote_reconnect(h.bus, NULL, err, sizeof(err)), 0);
    b2_bringup(&h);
    ck_assert_int_eq(b2_rw(&h, false, 7, 2, &in), 0);
    ck_assert_int_eq(memcmp(in.p, out.p, 1024), 0);

    /* Written, then the host leaves: the controller shuts down in order, so
     * even a SIGKILL afterwards loses nothing. */
    fill(out.p, 1024, 41);
    ck_assert_int_eq(b2_rw(&h, true, 7, 2, &out), 0);
    hh_close(&h);
    b2_attach(&h, &p); /* the next host finds it shut down and powers it on */
    hh_close(&h);
    b2_kill(&p);
    b2_restart(&p);
    b2_attach(&h, &p);
    b2_bringup(&h);
    in = hh_alloc(&h, 2 * 512, HBA_DMA_FROM_DEVICE);
    ck_assert_int_eq(b2_rw(&h, false, 7, 2, &in), 0);
    ck_assert_int_eq(memcmp(in.p, out.p, 1024), 0);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(command_line_errors_exit_2)
{
    struct b2_proc p;
    b2_init(&p);
    const char *const help[] = { "controller", "--help", NULL };
    ck_assert_int_eq(b2_run(help), 0);
    const char *const no_socket[] = { "controller", NULL };
    ck_assert_int_eq(b2_run(no_socket), 2);
    const char *const bad_opt[] = { "controller", "--socket", p.sock, "--frobnicate", NULL };
    ck_assert_int_eq(b2_run(bad_opt), 2);
    const char *const bad_key[] = { "controller", "--socket", p.sock, "--set", "max-targets=0", NULL };
    ck_assert_int_eq(b2_run(bad_key), 2);
    const char *const bad_file[] = { "controller", "--socket", p.sock, "/nonexistent/x.conf", NULL };
    ck_assert_int_eq(b2_run(bad_file), 2);
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    const char *const too_long[] = { "controller", "--socket", longpath, NULL };
    ck_assert_int_eq(b2_run(too_long), 2);
    const char *const no_dir[] = { "controller", "--socket", "/nonexistent-dir/ctrl.sock", NULL };
    ck_assert_int_eq(b2_run(no_dir), 2);
    /* A path that is not a socket is left alone. */
    FILE *f = fopen(p.media, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const char *const not_sock[] = { "controller", "--socket", p.media, NULL };
    ck_assert_int_eq(b2_run(not_sock), 2);
    struct stat st;
    ck_assert_int_eq(stat(p.media, &st), 0);
    /* A socket another controller listens on is not stolen. */
    b2_start(&p, small_drive);
    const char *const taken[] = { "controller", "--socket", p.sock, NULL };
    ck_assert_int_eq(b2_run(taken), 2);
    struct hh h;
    b2_attach(&h, &p);
    hh_close(&h);
    /* A stale socket (its controller killed) is replaced. */
    b2_kill(&p);
    ck_assert_int_eq(stat(p.sock, &st), 0);
    b2_restart(&p);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(connect_reports_what_is_wrong)
{
    struct b2_proc p;
    b2_init(&p);
    struct bus *b = NULL;
    char err[256] = "";
    ck_assert_int_eq(bus_remote_connect(p.sock, -1, B2_RAM_BYTES, &b, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "scsisim controller --socket"));
    b2_start(&p, small_drive);
    /* Host RAM outside the host-ram rules (1 MiB at least) is not even made. */
    ck_assert_int_eq(bus_remote_connect(p.sock, -1, 4096, &b, err, sizeof(err)), -EINVAL);
    /* A RAM fd that is not a sealed memfd of that size: refused here already. */
    int fd = sim_host_ram_create(2u << 20, err, sizeof(err));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bus_remote_connect(p.sock, fd, 4u << 20, &b, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(bus_remote_connect(p.sock, fd, 2u << 20, &b, err, sizeof(err)), 0);
    close(fd); /* the bus keeps its own reference */
    ck_assert_uint_eq(bus_ram_size(b), 2u << 20);
    struct hh h;
    memset(&h, 0, sizeof(h));
    h.bus = b;
    h.ram = bus_ram(b);
    h.ram_size = bus_ram_size(b);
    b2_bringup(&h);
    hh_close(&h);
    ck_assert_int_eq(bus_remote_reconnect(NULL, NULL, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_basic");
    TCase *tc = tcase_create("remote");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bring_up_inquiry_write_read_in_another_process);
    tcase_add_test(tc, iommu_programmed_remotely_and_faults_logged_there);
    tcase_add_test(tc, test_control_requests_reach_the_controller);
    tcase_add_test(tc, a_second_host_is_turned_away);
    tcase_add_test(tc, a_killed_controller_is_noticed_and_a_restarted_one_takes_over);
    tcase_add_test(tc, swapping_buses_keeps_the_hosts_ram);
    tcase_add_test(tc, orderly_stops_flush_the_cache);
    tcase_add_test(tc, command_line_errors_exit_2);
    tcase_add_test(tc, connect_reports_what_is_wrong);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
