/* cli/bench.h — the measuring engine of `scsisim bench` (cli/cmd_bench.c):
 * one cell is one command kind at one queue depth on one open stack, run
 * closed-loop for a fixed time, with every completion's latency kept for
 * the percentiles. */
#ifndef CLI_BENCH_H
#define CLI_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/stack.h"

enum bench_op { BENCH_TUR = 0, BENCH_READ = 1, BENCH_WRITE = 2, BENCH_OPS = 3 };
const char *bench_op_name(enum bench_op op);

struct bench_cell {
    /* what to run */
    enum bench_op op;
    unsigned qd;              /* commands kept in flight */
    bool polled;              /* the stack was opened polled: reap from this thread */
    bool registered;          /* the slots' buffers are registered (osal_user_dma_register): their
                                 IOMMU mapping stands for the run, no map and unmap per command */
    double seconds;           /* measured time; a short warm-up comes first */
    uint32_t io_bytes;        /* READ / WRITE transfer length (a multiple of the block size) */
    uint16_t target, lun;
    uint64_t blocks;          /* the drive's capacity and block size */
    uint32_t block_size;
    /* what came out */
    uint64_t completed;       /* commands completed within the measured time */
    uint64_t errors;          /* completions other than GOOD (all of the run) */
    char first_error[160];    /* the first of them in words (stack_completion_text), when errors */
    double elapsed_s;         /* the measured time as it was */
    double iops;
    double p50_us, p99_us, p999_us, max_us;
};

/* Runs the cell on st (which must be idle; unit attentions cleared).  0, or
 * -errno with err saying why (no DMA memory, a task refused). */
int bench_run_cell(struct stack *st, struct bench_cell *cell, char *err, size_t errlen);

#endif
