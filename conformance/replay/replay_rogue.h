/* conformance/replay/replay_rogue.h — the harness as a raw driver of the
 * simulated controller, for the rogue directive (conformance/directive/
 * rogue.c): it stops the driver core, brings the controller up with its own
 * admin queue (and, when asked, one I/O queue pair) in DMA memory of the
 * stack's OS layer, sends what a driver that breaks the datasheet would send,
 * and gives the controller back to the driver core, which brings it up again
 * (out of FAULT by a hard reset, docs/controller.md section 5).
 *
 * Nothing here waits for a time: a completion is polled for until it comes or
 * the controller reports FAULT; the limit is only a failure detector. */
#ifndef CONFORMANCE_REPLAY_REPLAY_ROGUE_H
#define CONFORMANCE_REPLAY_REPLAY_ROGUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/osal.h"
#include "hw/hba.h"

struct replay;
struct stack;
struct bus;

#define ROGUE_AQ_ENTRIES  128u           /* room for 65 held ASYNC EVENT requests */
#define ROGUE_IOQ_ENTRIES 64u            /* (both at most CAP_QUEUES.MAX_ENTRIES: rogue_fit) */
#define ROGUE_DATA_BYTES  (256u * 1024u) /* the largest queue CREATE may name: 4096 SQ entries */
#define ROGUE_LIMIT_MS    2000           /* failure detector, not a timing assertion */

struct rogue_mem {
    struct osal_dma_buffer *buf;
    struct osal_dma_mapping map;
    bool mapped;
};

struct rogue_q {
    struct rogue_mem sq, cq;
    uint32_t entries, tail, head;
    uint8_t phase;
};

struct rogue {
    struct stack *st;
    struct bus *bus;
    struct osal *os;
    unsigned addr_bits;
    bool core_stopped;
    uint32_t saved_mask; /* INT_MASK before: the driver core's */
    struct rogue_q q[2]; /* 0: admin, 1: the I/O pair */
    struct rogue_mem data;
    bool data_fresh;     /* data is as the allocator gave it, zeros: nobody asked for it since */
    uint16_t next_cid;
    uint32_t ioq_entries; /* ROGUE_IOQ_ENTRIES, or CAP_QUEUES.MAX_ENTRIES when smaller */
    uint32_t cq_flags;    /* CREATE CQ 1's flags (cdw3): HBA_CQ_FLAG_NO_IRQ for a polled CQ */
    char err[200];       /* why a call failed (the harness's own trouble, not the controller's) */
    bool timed_out;      /* a wait reached ROGUE_LIMIT_MS: the controller stopped answering */
};

/* Stops the driver core (no command may be outstanding) and maps the admin
 * queue and the data buffer.  0, or -errno with r->err. */
int rogue_begin(struct rogue *r, struct stack *st, unsigned addr_bits);
/* Programs the admin queue registers (SQ/CQ sizes, addresses displaced by
 * sq_off / cq_off bytes, or the absolute IOVAs sq_addr / cq_addr when not 0)
 * and sets CONFIG.EN; waits for RDY or FATAL.  1 RDY, 0 FAULT, -errno (r->err). */
int rogue_enable(struct rogue *r, uint32_t sq_n, uint32_t cq_n, uint64_t sq_addr, uint64_t cq_addr);
/* n, or CAP_QUEUES.MAX_ENTRIES when that is smaller: the rogue driver's own
 * queues are always ones the controller takes. */
uint32_t rogue_fit(struct rogue *r, uint32_t n);
/* The IOVA of the data buffer. */
uint64_t rogue_data_iova(const struct rogue *r);
/* The data buffer, to read or write (ROGUE_DATA_BYTES). */
uint8_t *rogue_data(struct rogue *r);
/* Zeroes the data buffer (before an action uses it). */
void rogue_data_zero(struct rogue *r);
/* Copies e (its cid set here) to queue q's tail and rings SQ_TAIL(q).
 * Returns the cid. */
uint16_t rogue_put(struct rogue *r, unsigned q, struct hba_sq_entry *e);
/* The same with the command id *cid (NULL: a new one), for a driver that
 * reuses an id still outstanding. */
uint16_t rogue_put_cid(struct rogue *r, unsigned q, struct hba_sq_entry *e, const uint16_t *cid);
/* The next completion of queue q if there is one now (its CQ head rung). */
bool rogue_poll(struct rogue *r, unsigned q, struct hba_cq_entry *out);
/* Waits until k completions are in CQ q beyond its head, without taking
 * them (CQ_HEAD is not written): 0, or -ETIMEDOUT (r->err). */
int rogue_wait_filled(struct rogue *r, unsigned q, unsigned k);
/* The next completion of queue q: 1 (*out), 0 the controller went FAULT first,
 * -ETIMEDOUT (r->err). */
int rogue_wait(struct rogue *r, unsigned q, struct hba_cq_entry *out);
/* The same; with or_leave also 2 when STATUS.STATE left OPERATIONAL (a
 * reset the rogue driver caused) before a completion came. */
int rogue_wait_any(struct rogue *r, unsigned q, struct hba_cq_entry *out, bool or_leave);
/* The admin queue with ASYNC EVENT requests outstanding: their answers come
 * between the completions of the other admin commands.  Polls queue 0 until
 * the completion of command id `cid` (1, *out) or, with cid < 0, until
 * seen->n reaches `until` (1); every other completion on the way is noted in
 * *seen.  0 the controller went FAULT; with cid < 0, 2 when the limit passed
 * with fewer; -ETIMEDOUT (r->err) when cid's completion never came. */
#define ROGUE_SEEN_MAX 160u
struct rogue_seen {
    struct hba_cq_entry c[ROGUE_SEEN_MAX];
    unsigned n;
    bool more; /* completions past ROGUE_SEEN_MAX came (not kept) */
};
int rogue_collect(struct rogue *r, int cid, unsigned until, struct rogue_seen *seen, struct hba_cq_entry *out);
/* Polls register off until (value & mask) == want: 0, or -ETIMEDOUT (r->err). */
int rogue_wait_reg(struct rogue *r, uint32_t off, uint32_t mask, uint32_t want);
/* rogue_put + rogue_wait on the admin queue. */
int rogue_admin(struct rogue *r, struct hba_sq_entry *e, struct hba_cq_entry *out);
/* Creates I/O CQ 1 (vector v, flags r->cq_flags) and, with_sq, SQ 1, ROGUE_IOQ_ENTRIES each.
 * 1 all succeeded, 0 a status or FAULT (r->err says which), -errno. */
int rogue_io_queues(struct rogue *r, uint16_t vector, bool with_sq);
uint32_t rogue_reg(struct rogue *r, uint32_t off);
void rogue_write(struct rogue *r, uint32_t off, uint32_t val);
/* Leaves the controller READY (CONFIG.EN 1 -> 0) unless it is in FAULT, frees
 * the memory and starts the driver core again.  0, or -errno (r->err). */
int rogue_end(struct rogue *r);

#endif
