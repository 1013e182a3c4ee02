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
 * The page sits in shared memory both sides can write, so each treats the
 * other's words as hostile.  The firmware validates the register offset of
 * every slot and drains at most SIM_POSTED_SLOTS per wake-up, and a corrupted
 * sequence number only stalls the FIFO (the driver's own loss), never the
 * firmware.  The producer never spins on what the controller may have
 * scribbled: a slot published ahead of `head` is impossible in a sound ring
 * (a producer moves head before it publishes, and the acquire of seq makes
 * that move visible), so seeing one means the page is corrupt, and push says
 * SIM_POSTED_BROKEN after a bounded number of tries either way.
 */
#ifndef SIM_POSTED_H
#define SIM_POSTED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"

#define SIM_POSTED_SLOTS 128u
/* Lost compare-and-swap races a producer tolerates before it calls the page
 * broken: each loss means another producer moved head, so a sound ring with
 * a handful of producers never comes near it. */
#define SIM_POSTED_TRIES (8u * SIM_POSTED_SLOTS)

enum sim_posted_rc {
    SIM_POSTED_OK,     /* appended */
    SIM_POSTED_FULL,   /* the FIFO is full: the write is lost and counted */
    SIM_POSTED_BROKEN, /* the page is corrupt (the other side is broken): nothing appended */
};

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

/* Producer: appends (reg, val).  SIM_POSTED_FULL: the FIFO is full (the write
 * is lost and counted, as a posted write to a wedged device would be);
 * SIM_POSTED_BROKEN: the page is corrupt (see above).  Returns after at most
 * SIM_POSTED_TRIES attempts whatever the page holds. */
static inline enum sim_posted_rc sim_posted_push(struct sim_priv_page *p, uint32_t reg, uint32_t val)
{
    uint32_t pos = atomic_load_explicit(&p->head, memory_order_relaxed);
    for (uint32_t tries = 0; tries < SIM_POSTED_TRIES; tries++) {
        struct sim_posted_slot *s = &p->slot[pos % SIM_POSTED_SLOTS];
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int32_t diff = (int32_t)(seq - pos);
        if (diff == 0) {
            /* On failure pos becomes the head another producer moved to. */
            if (atomic_compare_exchange_weak_explicit(&p->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                s->reg = reg;
                s->val = val;
                atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
                return SIM_POSTED_OK;
            }
        } else if (diff < 0) {
            atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
            return SIM_POSTED_FULL;
        } else {
            uint32_t now = atomic_load_explicit(&p->head, memory_order_relaxed);
            if (now == pos)
                return SIM_POSTED_BROKEN; /* published ahead of head: corrupt */
            pos = now;
        }
    }
    return SIM_POSTED_BROKEN; /* head keeps moving under us: nobody sound does that */
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
