/* core/core_order.c — SAM-5 task attributes across the core's I/O queues.
 *
 * The core spreads commands over several submission queues and the
 * controller serves them round robin, so two commands submitted one after
 * the other may run in the other order: what SIMPLE allows.  ORDERED does
 * not (SAM-5 8.6): an ORDERED task runs after every task of its logical unit
 * received before it, and before every task received after it.  The
 * controller cannot see the order of arrival across its queues, so the core
 * keeps the barrier itself, as drivers for multi-queue HBAs do: an ORDERED
 * task is sent only when nothing of its LU is at the controller, and while
 * it is there nothing else of its LU is sent (HEAD OF QUEUE excepted: it
 * goes first, past the barrier).  The attribute also travels in the queue
 * entry (HBA_FLAG_ATTR_*).  Everything here runs on the dispatch queue. */
#include "core/core_internal.h"

/* At the controller: a command (a split task's piece) out, or a TASK SET
 * FULL waiting for the tick.  A task's own pieces never hold each other
 * back: an ORDERED split task's chunks go together, and nothing of its LU
 * after it goes until the last is back. */
static bool at_controller(const struct drv_io *o)
{
    return o->nout != 0 || o->deferred;
}

bool order_must_wait(const struct drv_core *core, const struct drv_io *io)
{
    if (io->t.attr == DRV_ATTR_HEAD_OF_QUEUE)
        return false;
    bool ordered = io->t.attr == DRV_ATTR_ORDERED;
    for (const struct drv_io *o = core->ios; o; o = o->next) {
        if (o == io || o->t.target != io->t.target || o->t.lun != io->t.lun || !at_controller(o))
            continue;
        if (ordered || o->t.attr == DRV_ATTR_ORDERED)
            return true;
    }
    return false;
}

bool order_blocked(const struct order_block *b, const struct drv_io *io)
{
    for (unsigned i = 0; i < b->n; i++)
        if (b->target[i] == io->t.target && b->lun[i] == io->t.lun)
            return true;
    return false;
}

bool order_block(struct order_block *b, const struct drv_io *io)
{
    if (order_blocked(b, io))
        return true;
    if (b->n == ORDER_BLOCK_MAX)
        return false;
    b->target[b->n] = io->t.target;
    b->lun[b->n] = io->t.lun;
    b->n++;
    return true;
}
