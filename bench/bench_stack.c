/* bench/bench_stack.c — what a command costs through the whole in-process
 * stack (stack -> driver core -> osal_user -> controller -> firmware), and what
 * the OS layer's own operations cost.
 *
 *   build/bench/bench_stack [seconds-per-run]      (default 1)
 *
 * For interrupts and for polling: 4 KiB READ(10) at queue depth 1 through
 * stack_exec (latency: the full round trip, DMA buffer and mapping included)
 * and at queue depth 32 through stack_submit (throughput).  Then osal_dma_prepare
 * + osal_dma_complete of one 4 KiB page, osal_queue_sync, and osal_user_create
 * + destroy.  Exit status 1 when a command fails. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/stack.h"
#include "scsi/scsi.h"
#include "sim/config/config.h"

#include "bench/bench_util.h"

#define QD 32
#define BLOCK 512u
#define XFER 4096u
#define DRIVE_BLOCKS 65536u

static void read10(uint8_t cdb[10], uint32_t lba)
{
    memset(cdb, 0, 10);
    cdb[0] = SCSI_OP_READ_10;
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, XFER / BLOCK);
}

static struct stack *open_stack(bool polled)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    cfg.host_ram_bytes = 64u << 20;
    cfg.init_ms = 1;
    cfg.lus[0].blocks = DRIVE_BLOCKS;
    struct stack_options o;
    stack_options_init(&o);
    o.polled = polled;
    struct stack *st;
    char err[256];
    int rc = stack_open(&cfg, &o, &st, err, sizeof(err));
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "bench_stack: %s\n", err);
        exit(1);
    }
    /* Consume the power-on unit attention. */
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    struct drv_completion c;
    for (int i = 0; i < 4; i++)
        if (stack_exec(st, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c) == 0 && c.scsi_status == 0)
            break;
    return st;
}

static void qd1(struct stack *st, double secs, const char *mode)
{
    uint8_t buf[XFER], cdb[10];
    uint64_t n = 0;
    double t0 = bench_now_s(), t;
    do {
        read10(cdb, (uint32_t)(n * 8 % DRIVE_BLOCKS));
        struct drv_completion c;
        if (stack_exec(st, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, buf, XFER, &c) < 0 || c.scsi_status != 0) {
            fprintf(stderr, "bench_stack: READ failed\n");
            exit(1);
        }
        n++;
    } while ((t = bench_now_s()) - t0 < secs);
    printf("%-10s QD1  stack_exec 4 KiB READ   %8.0f IOPS  %7.1f us/command\n", mode, (double)n / (t - t0),
           (t - t0) / (double)n * 1e6);
}

struct slot {
    struct stack *st;
    struct osal_dma_buffer *buf;
    struct drv_buffer_piece piece;
    _Atomic uint64_t *done;
    _Atomic int *failed;
};

static void slot_done(void *arg, const struct drv_completion *c)
{
    struct slot *s = arg;
    if (c->response != DRV_SR_TASK_COMPLETE || c->scsi_status != 0)
        atomic_store(s->failed, 1);
    atomic_fetch_add(s->done, 1);
}

static void qd32(struct stack *st, double secs, const char *mode)
{
    static struct slot slots[QD];
    _Atomic uint64_t done = 0;
    _Atomic int failed = 0;
    for (int i = 0; i < QD; i++) {
        slots[i] = (struct slot){ .st = st, .done = &done, .failed = &failed };
        if (osal_dma_alloc(stack_osal(st), XFER, 4096, &slots[i].buf) < 0)
            exit(1);
        slots[i].piece = (struct drv_buffer_piece){ .buf = slots[i].buf, .length = XFER };
    }
    uint64_t n = 0;
    double t0 = bench_now_s(), t;
    do {
        /* Batches of QD: submit all, wait for all. */
        for (int i = 0; i < QD; i++) {
            struct drv_task task = { .task_id = n + (uint64_t)i, .cdb_len = 10, .dir = DRV_DIR_FROM_TARGET,
                                     .requested_transfer = XFER, .pieces = &slots[i].piece, .piece_count = 1 };
            read10(task.cdb, (uint32_t)((n + (uint64_t)i) * 8 % DRIVE_BLOCKS));
            if (stack_submit(st, &task, slot_done, &slots[i]) < 0)
                exit(1);
        }
        if (stack_wait(st, 10000) < 0 || atomic_load(&failed)) {
            fprintf(stderr, "bench_stack: batch failed\n");
            exit(1);
        }
        n += QD;
    } while ((t = bench_now_s()) - t0 < secs);
    printf("%-10s QD32 stack_submit 4 KiB READ %8.0f IOPS  %7.1f us/command\n", mode, (double)n / (t - t0),
           (t - t0) / (double)n * 1e6);
    for (int i = 0; i < QD; i++)
        osal_dma_free(stack_osal(st), slots[i].buf);
}

static void nothing(void *arg)
{
    (void)arg;
}

static void osal_costs(struct stack *st, double secs)
{
    struct osal *os = stack_osal(st);
    struct osal_dma_buffer *b;
    if (osal_dma_alloc(os, 4096, 4096, &b) < 0)
        exit(1);
    uint64_t n = 0;
    double t0 = bench_now_s(), t;
    do {
        struct osal_dma_mapping m;
        if (osal_dma_prepare(os, b, 0, 4096, HBA_DMA_FROM_DEVICE, 64, &m) < 0 || osal_dma_complete(os, &m) < 0)
            exit(1);
        n++;
    } while ((t = bench_now_s()) - t0 < secs / 4);
    printf("osal_dma_prepare + complete, 4 KiB:      %7.2f us\n", (t - t0) / (double)n * 1e6);
    osal_dma_free(os, b);

    n = 0;
    t0 = bench_now_s();
    do {
        osal_queue_sync(os, nothing, NULL);
        n++;
    } while ((t = bench_now_s()) - t0 < secs / 4);
    printf("osal_queue_sync (another thread's loop):  %7.2f us\n", (t - t0) / (double)n * 1e6);

    n = 0;
    t0 = bench_now_s();
    do {
        struct osal *o2;
        if (osal_user_create(stack_bus(st), NULL, &o2) < 0)
            exit(1);
        osal_user_destroy(o2);
        n++;
    } while ((t = bench_now_s()) - t0 < secs / 4);
    printf("osal_user_create + destroy:              %7.2f us\n", (t - t0) / (double)n * 1e6);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0)
        secs = 1.0;
    for (int polled = 0; polled <= 1; polled++) {
        struct stack *st = open_stack(polled);
        const char *mode = polled ? "polled" : "interrupts";
        qd1(st, secs, mode);
        qd32(st, secs, mode);
        if (polled)
            osal_costs(st, secs);
        stack_close(st);
    }
    return 0;
}
