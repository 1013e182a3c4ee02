/* sim/iommu/inflight.h — device accesses in flight, and a barrier that waits
 * for the ones that began before it, without a lock on the access side.
 *
 * The IOMMU's INV_WAIT promises that no access that used a translation
 * dropped before it is still landing (hw/hba.h): the OS frees or reuses the
 * buffer as soon as the wait is written.  A mutex held across every access
 * kept that promise, but the unmapping thread and the DMA thread then took
 * turns at it on every command (futex wake-ups under load).  Instead each
 * access counts itself under the parity of the generation it began in; the
 * barrier moves to the next generation and waits until the old parity's count
 * drains.  Accesses of the generation before were drained by the previous
 * barrier (barriers are serialized by their caller), and accesses that begin
 * after the move see whatever the caller dropped before calling it.  The
 * access side is two atomic additions and two loads on one cache line.
 * Written by hand: it is a two-counter epoch scheme, a few lines, and the
 * libraries that offer one (liburcu) would bring a whole RCU flavour for it. */
#ifndef SIM_IOMMU_INFLIGHT_H
#define SIM_IOMMU_INFLIGHT_H

#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

struct sim_inflight {
    alignas(64) _Atomic uint32_t gen;
    _Atomic uint32_t count[2];      /* accesses in flight, by the parity of their generation */
};

static inline void sim_inflight_init(struct sim_inflight *f)
{
    atomic_init(&f->gen, 0);
    atomic_init(&f->count[0], 0);
    atomic_init(&f->count[1], 0);
}

/* Counts an access under the current generation; pass the result to
 * sim_inflight_end.  Everything the access reads after this (sequentially
 * consistent) is at least as new as what a barrier's caller changed before a
 * barrier that did not wait for it. */
static inline uint32_t sim_inflight_begin(struct sim_inflight *f)
{
    for (;;) {
        uint32_t g = atomic_load(&f->gen);
        atomic_fetch_add(&f->count[g & 1], 1);
        if (atomic_load(&f->gen) == g)
            return g;
        /* A barrier moved on between the two loads: count in the new generation. */
        atomic_fetch_sub_explicit(&f->count[g & 1], 1, memory_order_release);
    }
}

static inline void sim_inflight_end(struct sim_inflight *f, uint32_t g)
{
    atomic_fetch_sub_explicit(&f->count[g & 1], 1, memory_order_release);
}

/* Returns once every access that began before the call has ended.  Callers
 * are serialized (one barrier at a time); an access must never wait for a
 * barrier, or the two wait for each other.  Spins, yielding now and then:
 * what it waits for is one copy of at most a transfer's length. */
static inline void sim_inflight_barrier(struct sim_inflight *f)
{
    /* Nothing in flight at all (both parities read empty, one after the
     * other, after the caller's changes): every access that began before has
     * ended, and no generation move is needed. */
    if (!atomic_load(&f->count[0]) && !atomic_load(&f->count[1]))
        return;
    uint32_t g = atomic_fetch_add(&f->gen, 1);
    for (unsigned i = 1; atomic_load_explicit(&f->count[g & 1], memory_order_acquire); i++)
        if (i % 64 == 0)
            sched_yield();
}

#endif
