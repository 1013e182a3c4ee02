/* sim/posted.h — the SIM_REGION_PRIV page: the posted-write FIFO between the
 * bus (driver side) and the firmware thread.
 *
 * Control registers (CONFIG, AQ_*, RESET_KEY, DIAG) have side effects that
 * depend on every single write, not on the last value: four RESET_KEY writes
 * in a row must all be seen, and CONFIG.EN 1 -> 0 -> 1 is a controller reset
 * followed by an enable even if the firmware looks only once.  So the bus
 * appends each such write to this FIFO (and rings the bell), and the firmware
 * drains it in order.  The FIFO is a bounded multi-producer ring with a
 * sequence number per slot: a producer claims a slot by compare-and-swap on
 * `head`, fills it, then publishes it by storing seq = position + 1; the single
 * consumer takes a slot only when its seq says it is published.
 *
 * The page sits in shared memory the driver can write, so the firmware treats
 * everything here as hostile: it validates the register offset of every slot,
 * and a corrupted sequence number only stalls the FIFO (the driver's own loss),
 * never the firmware.
 */
#ifndef SIM_POSTED_H
#define SIM_POSTED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"

#define SIM_POSTED_SLOTS 128u

struct sim_posted_slot {
    _Atomic uint32_t seq; /* position + 1 once published; position + SLOTS once free again */
    uint32_t reg;         /* BAR0 offset */
    uint32_t val;
    uint32_t rsvd;
};

struct sim_priv_page {
    _Atomic uint32_t powered;   /* 1 while the firmware runs; the bus drops writes otherwise */
    _Atomic uint32_t head;      /* next position a producer claims */
    _Atomic uint32_t tail;      /* next position the firmware drains */
    _Atomic uint32_t dropped;   /* writes lost because the FIFO was full */
    uint32_t rsvd[12];
    struct sim_posted_slot slot[SIM_POSTED_SLOTS];
};
_Static_assert(sizeof(struct sim_priv_page) <= SIM_REGION_PRIV_SIZE, "PRIV page overflow");

/* Resets the FIFO to empty (firmware side, with no producer running). */
static inline void sim_posted_reset(struct sim_priv_page *p)
{
    for (uint32_t i = 0; i < SIM_POSTED_SLOTS; i++)
        atomic_store_explicit(&p->slot[i].seq, i, memory_order_relaxed);
    atomic_store_explicit(&p->head, 0, memory_order_relaxed);
    atomic_store_explicit(&p->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&p->dropped, 0, memory_order_relaxed);
}

/* Producer: appends (reg, val).  false if the FIFO is full (the write is lost
 * and counted, as a posted write to a wedged device would be). */
static inline bool sim_posted_push(struct sim_priv_page *p, uint32_t reg, uint32_t val)
{
    uint32_t pos = atomic_load_explicit(&p->head, memory_order_relaxed);
    for (;;) {
        struct sim_posted_slot *s = &p->slot[pos % SIM_POSTED_SLOTS];
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int32_t diff = (int32_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&p->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                s->reg = reg;
                s->val = val;
                atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
                return true;
            }
        } else if (diff < 0) {
            atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
            return false;
        } else {
            pos = atomic_load_explicit(&p->head, memory_order_relaxed);
        }
    }
}

/* Consumer (the firmware thread only): takes the oldest published write. */
static inline bool sim_posted_pop(struct sim_priv_page *p, uint32_t *reg, uint32_t *val)
{
    uint32_t pos = atomic_load_explicit(&p->tail, memory_order_relaxed);
    struct sim_posted_slot *s = &p->slot[pos % SIM_POSTED_SLOTS];
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != pos + 1)
        return false;
    *reg = s->reg;
    *val = s->val;
    atomic_store_explicit(&s->seq, pos + SIM_POSTED_SLOTS, memory_order_release);
    atomic_store_explicit(&p->tail, pos + 1, memory_order_relaxed);
    return true;
}

/* Registers whose writes go through the FIFO. */
static inline bool sim_posted_register(uint32_t reg)
{
    switch (reg) {
    case HBA_REG_CONFIG:
    case HBA_REG_AQ_SQ_BASE_LO:
    case HBA_REG_AQ_SQ_BASE_HI:
    case HBA_REG_AQ_CQ_BASE_LO:
    case HBA_REG_AQ_CQ_BASE_HI:
    case HBA_REG_AQ_SIZE:
    case HBA_REG_RESET_KEY:
    case HBA_REG_DIAG:
        return true;
    default:
        return false;
    }
}

/* BAR0 as 32-bit atomics (registers are shared with another thread or process). */
static inline _Atomic uint32_t *sim_reg(_Atomic uint32_t *bar, uint32_t off)
{
    return &bar[off / 4];
}

#endif
