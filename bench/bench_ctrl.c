/* bench/bench_ctrl.c — the controller's command path end to end: doorbell,
 * entry fetch through the IOMMU, firmware READ(10) of 4 KiB, data-in DMA,
 * completion, interrupt.
 *
 *   build/bench/bench_ctrl [irq|poll] [queue-depth] [commands]
 *
 * irq (default): the firmware parks between doorbells (event index) and the
 * driver sleeps on the CQ's vector; poll: the firmware busy-polls and the CQ
 * is polled (HBA_CQ_FLAG_NO_IRQ).  Defaults: queue depth 32, 200000 commands.
 * Prints commands per second, mean microseconds per command, and bell rings
 * and firmware wake-ups per command.  Exit 1 if a command fails, 2 on bad
 * arguments, 3 if the controller cannot be set up. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/bus.h"
#include "sim/sim.h"

#include "bench/bench_util.h"

#define IOVA   0x10000000ull
#define QSIZE  256u
#define XFER   4096u

struct drv {
    struct sim_ctrl *ctrl;
    struct bus *bus;
    uint8_t *ram;
    uint64_t next;             /* bump allocator in host RAM */
    uint32_t sq_tail[2], cq_head[2];
    uint8_t  phase[2];
    uint64_t sq[2], cq[2];     /* RAM offsets (IOVA = IOVA + offset) */
    uint16_t cid;
};

static uint64_t alloc(struct drv *d, uint64_t len, enum hba_dma_dir dir)
{
    uint64_t off = d->next;
    d->next += (len + 4095) & ~4095ull;
    if (bus_iommu_map(d->bus, IOVA + off, off, len, dir) != 0) {
        fprintf(stderr, "bench_ctrl: IOMMU map failed\n");
        exit(3);
    }
    return off;
}

static bool wait_status(struct drv *d, uint32_t mask, uint32_t want)
{
    for (int i = 0; i < 50000; i++) {
        if ((bus_read32(d->bus, HBA_REG_STATUS) & mask) == want)
            return true;
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    return false;
}

static void submit(struct drv *d, unsigned q, const struct hba_sq_entry *e)
{
    memcpy(d->ram + d->sq[q] + (uint64_t)d->sq_tail[q] * sizeof(*e), e, sizeof(*e));
    d->sq_tail[q] = (d->sq_tail[q] + 1) % QSIZE;
    bus_write32(d->bus, HBA_REG_SQ_TAIL(q), d->sq_tail[q]);
}

/* Takes one completion from CQ q if there is one. */
static bool reap(struct drv *d, unsigned q, struct hba_cq_entry *out)
{
    uint8_t *slot = d->ram + d->cq[q] + (uint64_t)d->cq_head[q] * sizeof(*out);
    uint32_t dw3 = __atomic_load_n((uint32_t *)(void *)(slot + 12), __ATOMIC_ACQUIRE);
    if (((dw3 >> 16) & 1u) != d->phase[q])
        return false;
    memcpy(out, slot, sizeof(*out));
    if (++d->cq_head[q] == QSIZE) {
        d->cq_head[q] = 0;
        d->phase[q] ^= 1;
    }
    return true;
}

static int admin(struct drv *d, struct hba_sq_entry *e)
{
    e->cid = d->cid++;
    submit(d, 0, e);
    struct hba_cq_entry c;
    /* A deadline, not a count of polls: 5 million polls were about 10 ms,
     * and a firmware thread not yet scheduled that long (a loaded machine)
     * failed the bring-up now and then. */
    uint64_t give_up_ms = clock_now_ms() + 5000;
    for (unsigned i = 0; i % 1024 || clock_now_ms() < give_up_ms; i++)
        if (reap(d, 0, &c)) {
            bus_write32(d->bus, HBA_REG_CQ_HEAD(0), d->cq_head[0]);
            return c.ctrl_status;
        }
    return -1;
}

/* Bring-up failed: says what and where the controller stands, and exits 3. */
static void give_up(struct drv *d, const char *what)
{
    fprintf(stderr, "bench_ctrl: %s (STATUS 0x%08x)\n", what, bus_read32(d->bus, HBA_REG_STATUS));
    exit(3);
}

static void bring_up(struct drv *d, bool polled)
{
    if (!wait_status(d, 0xFu << HBA_STATUS_STATE_SHIFT, (uint32_t)HBA_STATE_READY << HBA_STATUS_STATE_SHIFT))
        give_up(d, "the controller did not reach READY within 5 s");
    for (unsigned q = 0; q < 2; q++) {
        d->sq[q] = alloc(d, QSIZE * 64, HBA_DMA_TO_DEVICE);
        d->cq[q] = alloc(d, QSIZE * 16, HBA_DMA_FROM_DEVICE);
        d->phase[q] = 1;
    }
    bus_write32(d->bus, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)(IOVA + d->sq[0]));
    bus_write32(d->bus, HBA_REG_AQ_SQ_BASE_HI, 0);
    bus_write32(d->bus, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)(IOVA + d->cq[0]));
    bus_write32(d->bus, HBA_REG_AQ_CQ_BASE_HI, 0);
    bus_write32(d->bus, HBA_REG_AQ_SIZE, QSIZE | QSIZE << 16);
    bus_write32(d->bus, HBA_REG_CONFIG, HBA_CONFIG_EN);
    if (!wait_status(d, HBA_STATUS_RDY, HBA_STATUS_RDY))
        give_up(d, "the controller did not set RDY within 5 s of CONFIG.EN");
    struct hba_sq_entry e;
    memset(&e, 0, sizeof(e));
    e.opcode = HBA_ADM_CREATE_CQ;
    e.u.cdw[0] = 1;
    e.u.cdw[1] = QSIZE;
    e.u.cdw[2] = 1;
    e.u.cdw[3] = polled ? HBA_CQ_FLAG_NO_IRQ : 0;
    e.sge.addr = IOVA + d->cq[1];
    int st = admin(d, &e);
    if (st != 0)
        give_up(d, st < 0 ? "CREATE CQ got no completion" : "CREATE CQ failed");
    memset(&e, 0, sizeof(e));
    e.opcode = HBA_ADM_CREATE_SQ;
    e.u.cdw[0] = 1;
    e.u.cdw[1] = QSIZE;
    e.u.cdw[2] = 1;
    e.sge.addr = IOVA + d->sq[1];
    st = admin(d, &e);
    if (st != 0)
        give_up(d, st < 0 ? "CREATE SQ got no completion" : "CREATE SQ failed");
}

static void read_entry(struct hba_sq_entry *e, uint16_t cid, uint32_t lba, uint64_t buf_iova)
{
    memset(e, 0, sizeof(*e));
    e->opcode = HBA_OP_SCSI;
    e->flags = HBA_FLAG_DIR_READ;
    e->cid = cid;
    e->cdb_len = 10;
    e->u.cdb[0] = 0x28;
    e->u.cdb[2] = (uint8_t)(lba >> 24);
    e->u.cdb[3] = (uint8_t)(lba >> 16);
    e->u.cdb[4] = (uint8_t)(lba >> 8);
    e->u.cdb[5] = (uint8_t)lba;
    e->u.cdb[8] = XFER / 512;
    e->data_len = XFER;
    e->sge.addr = buf_iova;
    e->sge.length = XFER;
}

int main(int argc, char **argv)
{
    bool polled = argc > 1 && strcmp(argv[1], "poll") == 0;
    if (argc > 1 && !polled && strcmp(argv[1], "irq") != 0) {
        fprintf(stderr, "usage: bench_ctrl [irq|poll] [queue-depth] [commands]\n");
        return 2;
    }
    unsigned qd = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 32;
    unsigned long total = argc > 3 ? strtoul(argv[3], NULL, 0) : 200000;
    if (qd < 1 || qd > QSIZE - 1 || total < qd) {
        fprintf(stderr, "bench_ctrl: queue depth must be 1..%u and commands >= queue depth\n", QSIZE - 1);
        return 2;
    }

    struct sim_config cfg;
    sim_config_init(&cfg);
    cfg.host_ram_bytes = 64u << 20;
    cfg.poll = polled;
    cfg.init_ms = 1;
    char err[256] = "";
    struct drv d;
    memset(&d, 0, sizeof(d));
    if (sim_ctrl_create(&cfg, &d.ctrl, err, sizeof(err)) != 0 || sim_ctrl_power_on(d.ctrl) != 0) {
        fprintf(stderr, "bench_ctrl: %s\n", err);
        return 3;
    }
    if (bus_attach(sim_ctrl_attach_info(d.ctrl), NULL, &d.bus) != 0) {
        fprintf(stderr, "bench_ctrl: cannot attach to the controller's bus\n");
        return 3;
    }
    d.ram = bus_ram(d.bus);
    bring_up(&d, polled);
    uint64_t bufs = alloc(&d, (uint64_t)qd * XFER, HBA_DMA_FROM_DEVICE);

    /* One TEST UNIT READY first: it takes the power-on unit attention. */
    struct hba_sq_entry e;
    read_entry(&e, 0, 0, IOVA + bufs);
    e.u.cdb[0] = 0;
    e.flags = HBA_FLAG_DIR_NONE;
    e.data_len = 0;
    submit(&d, 1, &e);
    struct hba_cq_entry c;
    while (!reap(&d, 1, &c))
        ;
    bus_write32(d.bus, HBA_REG_CQ_HEAD(1), d.cq_head[1]);

    struct bus_stats b0, b1;
    struct sim_ctrl_stats s0, s1;
    bus_get_stats(d.bus, &b0);
    sim_ctrl_get_stats(d.ctrl, &s0);
    uint32_t lba = 1;
    unsigned long sent = 0, done = 0;
    double t0 = bench_now_s();
    for (; sent < qd; sent++, lba = lba * 1103515245u + 12345u) {
        read_entry(&e, (uint16_t)sent, lba % 100000u * 8u, IOVA + bufs + sent * XFER);
        submit(&d, 1, &e);
    }
    while (done < total) {
        if (!polled) {
            bus_wait_vector(d.bus, 1, 1000);
            bus_write32(d.bus, HBA_REG_INT_STATUS, 1u << 1);
        }
        while (reap(&d, 1, &c)) {
            if (c.ctrl_status != HBA_CS_SUCCESS || c.scsi_status != 0 || c.result != XFER) {
                fprintf(stderr, "bench_ctrl: command %u failed: ctrl %#x scsi %#x\n", c.cid, c.ctrl_status,
                        c.scsi_status);
                return 1;
            }
            done++;
            if (sent < total) {
                lba = lba * 1103515245u + 12345u;
                read_entry(&e, c.cid, lba % 100000u * 8u, IOVA + bufs + (uint64_t)c.cid * XFER);
                submit(&d, 1, &e);
                sent++;
            }
        }
        bus_write32(d.bus, HBA_REG_CQ_HEAD(1), d.cq_head[1]);
    }
    double t1 = bench_now_s();
    bus_get_stats(d.bus, &b1);
    sim_ctrl_get_stats(d.ctrl, &s1);
    printf("%s qd %u: %lu commands of 4 KiB READ(10) in %.2f s: %.0f commands/s, %.2f us/command; "
           "bell rings %.3f/command, firmware wake-ups %.3f/command\n",
           polled ? "poll" : "irq", qd, total, t1 - t0, total / (t1 - t0), (t1 - t0) * 1e6 / total,
           (double)(b1.bell_rings - b0.bell_rings) / total, (double)(s1.wakeups - s0.wakeups) / total);
    bus_detach(d.bus);
    sim_ctrl_destroy(d.ctrl);
    sim_config_free(&cfg);
    return 0;
}
