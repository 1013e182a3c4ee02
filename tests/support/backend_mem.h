/* tests/support/backend_mem.h — a TEST backend: a small in-memory disk per
 * LUN behind the scsi_backend interface (host/scsi_backend.h), so the iSCSI
 * front-end is tested without the simulator.  It is not the simulator:
 * `scsisim serve` uses the real backend (host/backend_stack.h).  It lives with
 * the tests because only they use it; it stays (rather than the tests moving
 * to the stack backend) for what the stack cannot give them: holding tasks
 * for TMF tests, reading LUN contents back (peek) and its own counters.
 *
 * Commands: INQUIRY (standard; VPD 00h/80h/83h), TEST UNIT READY, READ
 * CAPACITY (10/16), READ/WRITE (6/10/12/16), REPORT LUNS, REQUEST SENSE,
 * SYNCHRONIZE CACHE (10/16), MODE SENSE (6/10: caching and control pages).
 * Anything else: CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND OPERATION
 * CODE (05h/20h/00h).  Sense is built by scsi_sense_build.  A write that
 * brings less data than its CDB asks for writes the whole blocks that came
 * and reports the rest as an overflow residual (what iSCSI targets do).
 *
 * For task-management tests it can HOLD tasks: held tasks park until
 * backend_mem_release() executes them (on the caller's thread, which exercises
 * cross-thread completion) or a TMF / nexus loss aborts them.
 *
 * Thread-safe; completions run outside its lock.
 */
#ifndef TESTS_SUPPORT_BACKEND_MEM_H
#define TESTS_SUPPORT_BACKEND_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "host/scsi_backend.h"

struct backend_mem;

struct backend_mem_options {
    unsigned luns;            /* LUNs 0..luns-1, default 1 */
    uint32_t block_size;      /* default 512 */
    uint64_t blocks;          /* per LUN, default 16384 (8 MiB at 512) */
    bool     descriptor_sense;/* D_SENSE: descriptor format sense */
};

struct backend_mem_stats {
    uint64_t commands;        /* tasks submitted */
    uint64_t reads, writes;   /* READ/WRITE commands that moved data */
    uint64_t syncs;           /* SYNCHRONIZE CACHE */
    uint64_t tmfs;            /* task management functions */
    uint64_t aborted;         /* tasks ended by TMF or nexus loss */
    uint64_t nexus_losses;
    uint64_t last_nexus_lost;
    enum scsi_tmf_function last_tmf;
};

/* Returns 0 or -errno (-EINVAL for zero or absurd sizes, -ENOMEM). */
int  backend_mem_create(const struct backend_mem_options *opt, struct backend_mem **out);
void backend_mem_destroy(struct backend_mem *m);
struct scsi_backend *backend_mem_backend(struct backend_mem *m);

void     backend_mem_set_hold(struct backend_mem *m, bool hold);
unsigned backend_mem_held(struct backend_mem *m);
/* Executes every held task now, on this thread; returns how many. */
unsigned backend_mem_release(struct backend_mem *m);
void     backend_mem_get_stats(struct backend_mem *m, struct backend_mem_stats *out);
/* Copies len bytes at byte offset off of a LUN's medium (for test checks). */
int      backend_mem_peek(struct backend_mem *m, unsigned lun, uint64_t off, void *buf, uint64_t len);

#endif
