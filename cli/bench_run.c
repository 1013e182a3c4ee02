/* cli/bench_run.c — one benchmark cell (see cli/bench.h).
 *
 * Closed loop: qd slots, each with its own DMA buffer, each resubmitting its
 * command from its completion callback (on the dispatch queue) until the end
 * time.  The caller's thread meanwhile waits (interrupts) or polls (polled
 * mode: every completion is reaped by stack_poll from this thread).  A
 * completion counts when it lands in the measured window [start, end): the
 * warm-up before it fills the queues and the caches.  Latency is from
 * stack_submit to the completion callback: what the layer above sees (a
 * resubmission's start is its slot's previous completion's clock reading,
 * a few instructions before the call). */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/errf.h"
#include "cli/bench.h"
#include "platform/osal_user.h"
#include "scsi/scsi.h"
#include "stack/completion_text.h"

#define WARMUP_MAX_NS  200000000ull /* at most 0.2 s of warm-up ... */
#define WARMUP_SHARE   10u          /* ... or a tenth of the measured time */
#define MAX_SAMPLES    (64u << 20)  /* latencies kept at most (512 MiB of them would be absurd) */
#define BENCH_POLL_SPINS 64u        /* empty polls between two yields of the polling thread */

const char *bench_op_name(enum bench_op op)
{
    switch (op) {
    case BENCH_TUR:
        return "TUR";
    case BENCH_READ:
        return "READ";
    case BENCH_WRITE:
        return "WRITE";
    default:
        return "?";
    }
}

struct run;

struct slot {
    struct run *r;
    struct osal_dma_buffer *buf;
    uint64_t t0;
    uint64_t rng;
    /* Task ids: slot i gives i + 1, i + 1 + qd, ...  Each slot's are its own:
     * with interrupts the first submissions (this thread) and the first
     * completions (the queue's thread) run at once, and a shared counter
     * raced. */
    uint64_t next_id;
};

struct run {
    struct stack *st;
    struct bench_cell *cell;
    uint64_t start, end;       /* the measured window */
    uint64_t io_blocks, spans; /* blocks per command; aligned places on the drive */
    /* touched only on the dispatch queue (callbacks run one at a time) */
    uint64_t *lat;
    size_t nlat, cap;
    uint64_t completed, errors;
    struct drv_completion first_error; /* valid when errors > 0 */
    bool out_of_memory;
    int submit_error;
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void done(void *arg, const struct drv_completion *c);

/* Submits slot s's next command; now: the clock as the caller read it (a
 * completion's own reading serves as its slot's next submission time: one
 * clock read per command instead of two). */
static int submit_slot(struct slot *s, uint64_t now)
{
    struct run *r = s->r;
    const struct bench_cell *cl = r->cell;
    struct drv_task t = { .task_id = s->next_id, .target = cl->target, .lun = cl->lun };
    s->next_id += cl->qd;
    struct drv_buffer_piece piece;
    if (cl->op == BENCH_TUR) {
        t.cdb[0] = SCSI_OP_TEST_UNIT_READY;
        t.cdb_len = 6;
        t.dir = DRV_DIR_NONE;
    } else {
        bool write = cl->op == BENCH_WRITE;
        uint64_t lba = (xorshift(&s->rng) % r->spans) * r->io_blocks;
        t.cdb[0] = write ? SCSI_OP_WRITE_16 : SCSI_OP_READ_16;
        scsi_put_be64(t.cdb + 2, lba);
        scsi_put_be32(t.cdb + 10, (uint32_t)r->io_blocks);
        t.cdb_len = 16;
        t.dir = write ? DRV_DIR_FROM_INITIATOR : DRV_DIR_FROM_TARGET;
        t.requested_transfer = cl->io_bytes;
        piece = (struct drv_buffer_piece){ .buf = s->buf, .offset = 0, .length = cl->io_bytes };
        t.pieces = &piece;
        t.piece_count = 1;
    }
    s->t0 = now;
    return stack_submit(r->st, &t, done, s);
}

static void keep(struct run *r, uint64_t ns)
{
    if (r->nlat == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 65536;
        uint64_t *p = cap <= MAX_SAMPLES ? realloc(r->lat, cap * sizeof(*p)) : NULL;
        if (!p) {
            r->out_of_memory = true;
            return;
        }
        r->lat = p;
        r->cap = cap;
    }
    r->lat[r->nlat++] = ns;
}

static void done(void *arg, const struct drv_completion *c)
{
    struct slot *s = arg;
    struct run *r = s->r;
    uint64_t t = clock_now_ns();
    if (c->response != DRV_SR_TASK_COMPLETE || c->scsi_status != SCSI_STATUS_GOOD) {
        if (!r->errors++)
            r->first_error = *c;
    }
    if (t >= r->start && t < r->end) {
        r->completed++;
        keep(r, t - s->t0);
    }
    if (t < r->end) {
        int rc = submit_slot(s, t);
        if (rc < 0 && !r->submit_error)
            r->submit_error = rc;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of sorted v, in microseconds. */
static double quantile_us(const uint64_t *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

int bench_run_cell(struct stack *st, struct bench_cell *cell, char *err, size_t errlen)
{
    if (!cell->qd || cell->seconds <= 0 || !cell->block_size || !cell->blocks ||
        (cell->op != BENCH_TUR && (cell->io_bytes % cell->block_size || cell->io_bytes / cell->block_size >
                                                                             cell->blocks))) {
        errf(err, errlen, "a cell of %u commands in flight for %g s of %u bytes makes no sense", cell->qd,
             cell->seconds, cell->io_bytes);
        return -EINVAL;
    }
    struct run r = { .st = st, .cell = cell };
    r.io_blocks = cell->op == BENCH_TUR ? 1 : cell->io_bytes / cell->block_size;
    r.spans = cell->blocks / r.io_blocks;
    struct slot *slots = calloc(cell->qd, sizeof(*slots));
    if (!slots) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = 0;
    for (unsigned i = 0; i < cell->qd && rc == 0; i++) {
        slots[i].r = &r;
        slots[i].next_id = i + 1;
        slots[i].rng = 0x9E3779B97F4A7C15ull * (i + 1) ^ (uint64_t)cell->op << 32;
        if (cell->op != BENCH_TUR) {
            rc = osal_dma_alloc(stack_osal(st), cell->io_bytes, 4096, &slots[i].buf);
            if (rc < 0)
                errf(err, errlen, "cannot allocate %u DMA buffers of %u bytes: %s", cell->qd, cell->io_bytes,
                     strerror(-rc));
            else
                memset(slots[i].buf->vaddr, 0xA5 ^ (int)i, cell->io_bytes);
            enum hba_dma_dir dir = cell->op == BENCH_WRITE ? HBA_DMA_TO_DEVICE : HBA_DMA_FROM_DEVICE;
            if (rc == 0 && cell->registered && (rc = osal_user_dma_register(stack_osal(st), slots[i].buf, dir)) < 0)
                errf(err, errlen, "cannot register DMA buffer %u of %u (--dma registered): %s; --dma per-command "
                     "maps each command instead", i + 1, cell->qd, strerror(-rc));
        }
    }
    uint64_t measured = (uint64_t)(cell->seconds * 1e9);
    uint64_t warm = measured / WARMUP_SHARE < WARMUP_MAX_NS ? measured / WARMUP_SHARE : WARMUP_MAX_NS;
    r.start = clock_now_ns() + warm;
    r.end = r.start + measured;
    for (unsigned i = 0; i < cell->qd && rc == 0; i++) {
        rc = submit_slot(&slots[i], clock_now_ns());
        if (rc < 0)
            errf(err, errlen, "the stack refused a command: %s", strerror(-rc));
    }
    if (cell->polled) {
        /* Every completion is reaped from here.  Empty polls yield the CPU
         * only now and then, as the ring reference does (bench/ring_ref.h):
         * a yield is a system call, and on a machine with a CPU free for the
         * firmware the next completion is usually a few polls away. */
        unsigned idle = 0, polls = 0;
        uint64_t give_up = r.end + 1000000000ull;
        /* The clock only every BENCH_POLL_SPINS polls: read at each, it took
         * about 2 % of this thread's samples, and the give-up is a second away. */
        while (stack_outstanding(st) && (++polls % BENCH_POLL_SPINS || clock_now_ns() < give_up)) {
            if (stack_poll(st) != 0)
                idle = 0;
            else if (++idle % BENCH_POLL_SPINS == 0)
                sched_yield();
        }
    } else {
        /* Sleep through the run rather than wake at every completion: on a
         * small machine a waiter woken 100,000 times a second is load. */
        uint64_t t = clock_now_ns();
        if (t < r.end) {
            struct timespec ts = { .tv_sec = (time_t)((r.end - t) / 1000000000ull),
                                   .tv_nsec = (long)((r.end - t) % 1000000000ull) };
            nanosleep(&ts, NULL);
        }
    }
    /* The last commands; one that hangs is ended by the core's own timeouts
     * and recovery, so waiting for ever is right. */
    stack_wait(st, -1);
    if (rc == 0 && r.submit_error) {
        rc = r.submit_error;
        errf(err, errlen, "the stack refused a command: %s", strerror(-rc));
    }
    if (rc == 0 && r.out_of_memory) {
        rc = -ENOMEM;
        errf(err, errlen, "out of memory for latency samples");
    }
    cell->elapsed_s = (double)(r.end - r.start) / 1e9;
    cell->completed = r.completed;
    cell->errors = r.errors;
    if (r.errors)
        stack_completion_text(&r.first_error, cell->first_error, sizeof cell->first_error);
    cell->iops = cell->elapsed_s > 0 ? (double)r.completed / cell->elapsed_s : 0;
    qsort(r.lat, r.nlat, sizeof(*r.lat), cmp_u64);
    cell->p50_us = quantile_us(r.lat, r.nlat, 0.50);
    cell->p99_us = quantile_us(r.lat, r.nlat, 0.99);
    cell->p999_us = quantile_us(r.lat, r.nlat, 0.999);
    cell->max_us = r.nlat ? (double)r.lat[r.nlat - 1] / 1000.0 : 0;
    free(r.lat);
    for (unsigned i = 0; i < cell->qd; i++)
        osal_dma_free(stack_osal(st), slots[i].buf);
    free(slots);
    return rc;
}
