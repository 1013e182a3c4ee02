/* bench/ring_ref.h — the ring-limit reference of issue 14: the least a command
 * can cost when a driver thread and a device thread share two lock-free
 * single-producer single-consumer rings and nothing else.
 *
 * The driver thread keeps qd commands in flight: it writes a 64-byte
 * submission entry (the size of struct hba_sq_entry) into the submission ring
 * and publishes the tail with a release store.  The device thread takes the
 * entry (acquire), copies 4 KiB from its "media" into the command's data
 * buffer (what a 4 KiB READ's DMA costs) and writes a 64-byte completion entry
 * into the completion ring.  The driver thread reaps it, checks the command id
 * and submits the command again.  Both threads spin; there is no allocation,
 * lock, system call or wake-up, so what is left is two cache-line hand-offs
 * and a copy per command.  Every ratio `scsisim bench` prints is against this
 * figure measured in the same run (docs/benchmarks.md).
 *
 * Static inline because it is compiled into each program that measures it
 * (build/bench/bench_ring and the scsisim command). */
#ifndef BENCH_RING_REF_H
#define BENCH_RING_REF_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

#define RING_REF_ENTRIES 256u   /* a power of two, above any queue depth measured */
#define RING_REF_XFER    4096u
#define RING_REF_MAX_QD  (RING_REF_ENTRIES - 1u)
/* Empty polls before a thread yields its CPU.  Both threads spin, but on a
 * machine with fewer free CPUs than two a spinner that never yields would
 * keep its peer from running for a whole time slice; a yield after a few
 * hundred empty polls costs nothing when the peer has a CPU of its own. */
#define RING_REF_SPINS   256u

struct ring_ref_sqe {
    uint16_t cid;
    uint8_t opcode, flags;
    uint32_t nsid;
    uint64_t lba;
    uint64_t data;            /* the command's buffer (an index here, an IOVA on a device) */
    uint8_t rest[40];
};
_Static_assert(sizeof(struct ring_ref_sqe) == 64, "a submission entry is 64 bytes, as struct hba_sq_entry");

struct ring_ref_cqe {
    uint16_t cid;
    uint16_t status;
    uint32_t bytes;
    uint8_t rest[56];
};
_Static_assert(sizeof(struct ring_ref_cqe) == 64, "a completion entry is 64 bytes");

/* One direction: the producer owns tail, the consumer head; each index on a
 * cache line of its own so the two threads do not share one they both write. */
struct ring_ref_ring {
    alignas(64) _Atomic uint32_t tail;
    alignas(64) _Atomic uint32_t head;
    alignas(64) unsigned char e[RING_REF_ENTRIES][64];
};

struct ring_ref {
    struct ring_ref_ring sq, cq;
    _Atomic int stop;
    uint8_t *media;           /* RING_REF_XFER bytes the device reads from */
    uint8_t *data;            /* RING_REF_MAX_QD buffers of RING_REF_XFER bytes */
    uint64_t copied;          /* device side: commands served */
};

struct ring_ref_result {
    unsigned qd;
    uint64_t commands;        /* completed in the measured window */
    double seconds;
    double per_s;             /* commands per second */
    uint64_t bad;             /* completions for a command not in flight: must be 0 */
};

/* The entry of a ring at a free-running index. */
static inline void *ring_ref_slot(struct ring_ref_ring *r, uint32_t tail)
{
    return r->e[tail % RING_REF_ENTRIES];
}

static inline void *ring_ref_device(void *arg)
{
    struct ring_ref *rr = arg;
    uint32_t sq_head = 0, cq_tail = 0;
    unsigned idle = 0;
    while (!atomic_load_explicit(&rr->stop, memory_order_relaxed)) {
        uint32_t sq_tail = atomic_load_explicit(&rr->sq.tail, memory_order_acquire);
        if (sq_head == sq_tail) {
            if (++idle % RING_REF_SPINS == 0)
                sched_yield();
            continue;
        }
        idle = 0;
        while (sq_head != sq_tail) {
            struct ring_ref_sqe s;
            memcpy(&s, ring_ref_slot(&rr->sq, sq_head), sizeof(s));
            sq_head++;
            memcpy(rr->data + (size_t)s.data * RING_REF_XFER, rr->media, RING_REF_XFER);
            /* The completion ring has as many entries as the submission ring
             * and at most qd commands are in flight: never full. */
            struct ring_ref_cqe c = { .cid = s.cid, .status = 0, .bytes = RING_REF_XFER };
            memcpy(ring_ref_slot(&rr->cq, cq_tail), &c, sizeof(c));
            cq_tail++;
            rr->copied++;
        }
        atomic_store_explicit(&rr->sq.head, sq_head, memory_order_release);
        atomic_store_explicit(&rr->cq.tail, cq_tail, memory_order_release);
    }
    return NULL;
}

/* Runs the reference at queue depth qd for `seconds` after a warm-up of a
 * tenth of that.  0, or -EINVAL (qd out of 1..RING_REF_MAX_QD), -ENOMEM, or
 * the -errno of pthread_create. */
static inline int ring_ref_run(unsigned qd, double seconds, struct ring_ref_result *out)
{
    memset(out, 0, sizeof(*out));
    if (qd < 1 || qd > RING_REF_MAX_QD || !(seconds > 0))
        return -EINVAL;
    struct ring_ref *rr = aligned_alloc(64, sizeof(*rr));
    if (!rr)
        return -ENOMEM;
    memset(rr, 0, sizeof(*rr));
    rr->media = aligned_alloc(64, RING_REF_XFER);
    rr->data = aligned_alloc(64, (size_t)qd * RING_REF_XFER);
    if (!rr->media || !rr->data) {
        free(rr->media);
        free(rr->data);
        free(rr);
        return -ENOMEM;
    }
    memset(rr->media, 0x5A, RING_REF_XFER);
    memset(rr->data, 0, (size_t)qd * RING_REF_XFER);
    pthread_t dev;
    int rc = -pthread_create(&dev, NULL, ring_ref_device, rr);
    if (rc < 0) {
        free(rr->media);
        free(rr->data);
        free(rr);
        return rc;
    }
    uint64_t measured = (uint64_t)(seconds * 1e9);
    uint64_t start = clock_now_ns() + measured / 10, end = start + measured;
    uint32_t sq_tail = 0, cq_head = 0;
    uint8_t in_flight[RING_REF_MAX_QD] = { 0 };
    for (unsigned i = 0; i < qd; i++) {
        struct ring_ref_sqe s = { .cid = (uint16_t)i, .opcode = 0x88, .lba = i * 8u, .data = i };
        memcpy(ring_ref_slot(&rr->sq, sq_tail++), &s, sizeof(s));
        in_flight[i] = 1;
    }
    atomic_store_explicit(&rr->sq.tail, sq_tail, memory_order_release);
    uint64_t counted = 0, bad = 0, t = clock_now_ns();
    unsigned spins = 0;
    while (t < end) {
        uint32_t cq_tail = atomic_load_explicit(&rr->cq.tail, memory_order_acquire);
        if (cq_head == cq_tail) {
            if (++spins % RING_REF_SPINS == 0) {
                sched_yield();
                t = clock_now_ns();
            }
            continue;
        }
        t = clock_now_ns(); /* once per batch: the clock is not free either */
        while (cq_head != cq_tail) {
            struct ring_ref_cqe c;
            memcpy(&c, ring_ref_slot(&rr->cq, cq_head), sizeof(c));
            cq_head++;
            if (c.cid >= qd || !in_flight[c.cid] || c.bytes != RING_REF_XFER) {
                bad++;
                continue;
            }
            if (t >= start)
                counted++;
            /* Submitted again at once: the closed loop of scsisim bench. */
            struct ring_ref_sqe s = { .cid = c.cid, .opcode = 0x88, .lba = c.cid * 8u, .data = c.cid };
            memcpy(ring_ref_slot(&rr->sq, sq_tail++), &s, sizeof(s));
        }
        atomic_store_explicit(&rr->cq.head, cq_head, memory_order_release);
        atomic_store_explicit(&rr->sq.tail, sq_tail, memory_order_release); /* one doorbell per batch */
    }
    atomic_store(&rr->stop, 1);
    pthread_join(dev, NULL);
    out->qd = qd;
    out->commands = counted;
    out->seconds = (double)measured / 1e9;
    out->per_s = (double)counted / out->seconds;
    out->bad = bad;
    free(rr->media);
    free(rr->data);
    free(rr);
    return 0;
}

#endif
