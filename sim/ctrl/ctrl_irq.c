/* sim/ctrl/ctrl_irq.c — interrupt vectors: INT_STATUS bits, the mask, coalescing.
 *
 * Raising vector v sets its INT_STATUS bit, then signals its eventfd unless the
 * mask has v set.  The bus does the mirror image when the driver unmasks
 * (clear the mask bit, then signal if status is pending); both sides use
 * sequentially consistent operations, so at least one of them signals.
 * Coalescing (HBA_FEATURE_INT_COALESCING: THRESHOLD [7:0] | TIME_US [31:8])
 * applies to I/O vectors: a vector is raised once THRESHOLD completions are
 * pending or TIME_US passed since the first of them; TIME_US 0 means no time
 * limit, THRESHOLD 0 no count limit.  The admin vector 0 is never delayed. */
#include <string.h>

#include "sim/ctrl/ctrl_internal.h"

static void raise_vector(struct sim_ctrl *c, uint16_t v)
{
    struct ctrl_vec *s = &c->fw_state.vec[v];
    uint32_t bit = 1u << v;
    s->pending = 0;
    s->deadline_ns = 0;
    atomic_fetch_or_explicit(sim_reg(c->bar, HBA_REG_INT_STATUS), bit, memory_order_seq_cst);
    uint32_t mask = atomic_load_explicit(sim_reg(c->bar, HBA_REG_INT_MASK_SET), memory_order_seq_cst);
    if (!(mask & bit))
        sim_region_ring(c->region.vector_fd[v]);
}

void ctrl_irq_note(struct sim_ctrl *c, uint16_t vector, uint32_t n, uint64_t now)
{
    uint32_t co = c->fw_state.coalescing;
    uint32_t threshold = HBA_COALESCE_THRESHOLD(co), time_us = HBA_COALESCE_TIME_US(co);
    if (vector >= c->region.nvec) {
        ctrl_sim_bug(c, "CQ with vector %u beyond %u vectors", vector, c->region.nvec);
        return;
    }
    if (co == 0 || vector == 0) {
        raise_vector(c, vector);
        return;
    }
    struct ctrl_vec *s = &c->fw_state.vec[vector];
    s->pending += n;
    if (threshold && s->pending >= threshold)
        raise_vector(c, vector);
    else if (!s->deadline_ns && time_us)
        s->deadline_ns = now + (uint64_t)time_us * 1000u;
}

uint64_t ctrl_irq_tick(struct sim_ctrl *c, uint64_t now)
{
    uint64_t next = 0;
    for (uint16_t v = 0; v < c->region.nvec; v++) {
        struct ctrl_vec *s = &c->fw_state.vec[v];
        if (!s->deadline_ns)
            continue;
        if (now >= s->deadline_ns)
            raise_vector(c, v);
        else if (!next || s->deadline_ns < next)
            next = s->deadline_ns;
    }
    return next;
}

void ctrl_irq_reset(struct sim_ctrl *c)
{
    memset(c->fw_state.vec, 0, sizeof(c->fw_state.vec));
}

void ctrl_irq_flush(struct sim_ctrl *c)
{
    for (uint16_t v = 0; v < c->region.nvec; v++)
        if (c->fw_state.vec[v].pending)
            raise_vector(c, v);
}

void ctrl_irq_spurious(struct sim_ctrl *c, uint16_t sqid)
{
    /* The fault engine's spurious rule: the vector of sqid's CQ is raised
     * with nothing new posted, bypassing coalescing (a stray edge is not a
     * completion). */
    const struct ctrl_sq *sq = &c->fw_state.sq[sqid];
    if (!sq->live || !c->fw_state.cq[sq->cqid].live)
        return;
    uint16_t v = c->fw_state.cq[sq->cqid].vector;
    if (v >= c->region.nvec)
        return;
    /* As raise_vector, but the coalescing count and deadline stay as they are. */
    uint32_t bit = 1u << v;
    atomic_fetch_or_explicit(sim_reg(c->bar, HBA_REG_INT_STATUS), bit, memory_order_seq_cst);
    uint32_t mask = atomic_load_explicit(sim_reg(c->bar, HBA_REG_INT_MASK_SET), memory_order_seq_cst);
    if (!(mask & bit))
        sim_region_ring(c->region.vector_fd[v]);
}
