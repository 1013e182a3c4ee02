/* bench/bench_driver.c — what the driver core's data handling costs: tasks
 * handed straight to drv_core_process_task (no stack wrapper), re-submitted
 * from their done callbacks, with a chosen transfer size and number of buffer
 * pieces — so the SGL forms (inline DATA, a segment list), the bounce buffer
 * (more pieces than the HBA's 128 SGEs) and the split of transfers above the
 * HBA's 512 KiB can be compared.  bench_stack measures the 4 KiB command path.
 *
 *   build/bench/bench_driver [irq|poll] [queue-depth] [tasks] [bytes] [pieces] [read|write]
 *
 * Defaults: irq, queue depth 8, 20000 tasks, 65536 bytes in 1 piece, read.
 * Each piece lies in its own run of pages of one DMA buffer, so every piece is
 * at least one SGE.  Prints tasks/s, µs per task, MB/s, and per task the
 * commands sent and whether it was bounced.  Exit 1 if a task fails, 2 on bad
 * arguments, 3 if the stack cannot be set up. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/driver_core.h"
#include "stack/stack.h"
#include "scsi/scsi.h"
#include "sim/config/config.h"

#include "bench/bench_util.h"

#define DRIVE_BLOCKS (1u << 21) /* 1 GiB of 512-byte blocks */

struct bench {
    struct drv_core *core;
    const struct scsisim_driver_core *ops;
    uint64_t total, issued, done, failed;
    uint32_t bytes;
    bool write;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct slot {
    struct bench *b;
    struct osal_dma_buffer *buf;
    struct drv_buffer_piece *pieces;
    struct drv_task task;
    uint64_t rng;
};

static void issue(struct slot *s);

static void done(void *arg, const struct drv_completion *c)
{
    struct slot *s = arg;
    struct bench *b = s->b;
    bool ok = c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_GOOD &&
              c->bytes_transferred == b->bytes;
    pthread_mutex_lock(&b->mu);
    b->done++;
    if (!ok)
        b->failed++;
    bool more = b->issued < b->total;
    if (more)
        b->issued++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (more)
        issue(s);
}

static void issue(struct slot *s)
{
    uint32_t blocks = s->b->bytes / 512;
    s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t lba = ((s->rng >> 33) % (DRIVE_BLOCKS - blocks)) & ~7ull;
    struct drv_task *t = &s->task;
    memset(t->cdb, 0, sizeof t->cdb);
    t->cdb[0] = s->b->write ? SCSI_OP_WRITE_16 : SCSI_OP_READ_16;
    scsi_put_be64(t->cdb + 2, lba);
    scsi_put_be32(t->cdb + 10, blocks);
    if (s->b->ops->process_task(s->b->core, t, done, s) < 0) {
        fprintf(stderr, "bench_driver: a task was not accepted\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    bool poll = argc > 1 && strcmp(argv[1], "poll") == 0;
    unsigned qd = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
    uint64_t total = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000;
    uint32_t bytes = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 65536;
    uint32_t npieces = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 1;
    bool write = argc > 6 && strcmp(argv[6], "write") == 0;
    if ((argc > 1 && !poll && strcmp(argv[1], "irq") != 0) || qd < 1 || qd > 256 || total < qd || bytes < 512 ||
        bytes % 512 || bytes > (16u << 20) || npieces < 1 || npieces > bytes / 512 || bytes % npieces ||
        (argc > 6 && !write && strcmp(argv[6], "read") != 0)) {
        fprintf(stderr, "usage: bench_driver [irq|poll] [queue-depth 1..256] [tasks] [bytes (512-byte multiple)] "
                        "[pieces dividing bytes] [read|write]\n");
        return 2;
    }
    uint32_t piece_len = bytes / npieces;
    uint64_t stride = (piece_len + 4095u) / 4096u * 4096u;

    struct sim_config cfg;
    sim_config_init(&cfg);
    cfg.host_ram_bytes = 256ull << 20;
    cfg.lus[0].blocks = DRIVE_BLOCKS;
    struct stack_options o;
    stack_options_init(&o);
    o.polled = poll;
    struct stack *st;
    char err[256];
    int rc = stack_open(&cfg, &o, &st, err, sizeof err);
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "bench_driver: %s\n", err);
        return 3;
    }
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    for (int i = 0; i < 3; i++) /* past the power-on UNIT ATTENTION */
        stack_exec(st, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);

    struct bench b = { .core = stack_core(st), .ops = stack_core_ops(st), .total = total, .bytes = bytes, .write = write };
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    struct slot *slots = calloc(qd, sizeof *slots);
    for (unsigned i = 0; i < qd; i++) {
        struct slot *s = &slots[i];
        s->b = &b;
        s->rng = i + 1;
        s->pieces = calloc(npieces, sizeof *s->pieces);
        if (!s->pieces || osal_dma_alloc(stack_osal(st), stride * npieces, 4096, &s->buf) < 0) {
            fprintf(stderr, "bench_driver: out of DMA memory\n");
            return 3;
        }
        for (uint32_t p = 0; p < npieces; p++)
            s->pieces[p] = (struct drv_buffer_piece){ .buf = s->buf, .offset = p * stride, .length = piece_len };
        s->task = (struct drv_task){ .task_id = i, .cdb_len = 16,
                                     .dir = write ? DRV_DIR_FROM_INITIATOR : DRV_DIR_FROM_TARGET,
                                     .requested_transfer = bytes, .pieces = s->pieces, .piece_count = npieces };
    }
    struct drv_core_stats s0, s1;
    b.ops->get_stats(b.core, &s0);
    double t0 = bench_now_s();
    b.issued = qd;
    for (unsigned i = 0; i < qd; i++)
        issue(&slots[i]);
    pthread_mutex_lock(&b.mu);
    while (b.done < total) {
        if (poll) {
            pthread_mutex_unlock(&b.mu);
            b.ops->poll(b.core);
            pthread_mutex_lock(&b.mu);
        } else {
            pthread_cond_wait(&b.cv, &b.mu);
        }
    }
    pthread_mutex_unlock(&b.mu);
    double dt = bench_now_s() - t0;
    b.ops->get_stats(b.core, &s1);
    printf("bench_driver: %s qd %u, %llu %ss of %u bytes in %u piece(s): %.0f tasks/s, %.1f us/task, %.0f MB/s, "
           "%.2f commands/task, %.2f bounced/task%s\n",
           poll ? "poll" : "irq", qd, (unsigned long long)total, write ? "write" : "read", bytes, npieces,
           (double)total / dt, dt * 1e6 / (double)total, (double)total * bytes / dt / 1e6,
           (double)(s1.commands - s0.commands) / (double)total,
           (double)(s1.bounced_tasks - s0.bounced_tasks) / (double)total, b.failed ? " (FAILURES)" : "");
    for (unsigned i = 0; i < qd; i++) {
        osal_dma_free(stack_osal(st), slots[i].buf);
        free(slots[i].pieces);
    }
    free(slots);
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);
    stack_close(st);
    return b.failed ? 1 : 0;
}
