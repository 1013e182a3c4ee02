/* sim/ctrl/ctrl_event.c — asynchronous events: a queue of up to CTRL_EVENT_DEPTH
 * result dwords, filled from any thread (IOMMU faults, battery and drive
 * changes), drained into the HBA_ADM_ASYNC_EVENT commands the driver keeps
 * outstanding.  When the queue overflows the oldest events go, and the next
 * delivery reports HBA_AEV_OVERFLOW with the number lost. */
#include "sim/ctrl/ctrl_internal.h"

void ctrl_event_init(struct sim_ctrl *c)
{
    pthread_mutex_init(&c->ev.lock, NULL);
    c->ev.first = c->ev.count = 0;
    c->ev.lost = 0;
    atomic_init(&c->ev.pending, false);
}

void ctrl_event_fini(struct sim_ctrl *c)
{
    pthread_mutex_destroy(&c->ev.lock);
}

void ctrl_event_clear(struct sim_ctrl *c)
{
    pthread_mutex_lock(&c->ev.lock);
    c->ev.first = c->ev.count = 0;
    c->ev.lost = 0;
    atomic_store_explicit(&c->ev.pending, false, memory_order_release);
    pthread_mutex_unlock(&c->ev.lock);
}

void ctrl_event_raise(struct sim_ctrl *c, uint8_t type, uint32_t info)
{
    struct ctrl_events *q = &c->ev;
    pthread_mutex_lock(&q->lock);
    if (q->count == CTRL_EVENT_DEPTH) {
        q->first = (q->first + 1) % CTRL_EVENT_DEPTH;
        q->count--;
        if (q->lost < 0xFFFFFFu)
            q->lost++;
    }
    q->ring[(q->first + q->count) % CTRL_EVENT_DEPTH] = type | (info & 0xFFFFFFu) << 8;
    q->count++;
    atomic_store_explicit(&q->pending, true, memory_order_release);
    pthread_mutex_unlock(&q->lock);
    sim_region_ring(c->region.bell_fd);
}

bool ctrl_event_pop(struct sim_ctrl *c, uint32_t *result)
{
    struct ctrl_events *q = &c->ev;
    bool got = true;
    /* Nothing queued (nearly every pass): no lock.  An event raised just now
     * may be missed by this look; its raiser rings the bell, so the next pass
     * delivers it. */
    if (!atomic_load_explicit(&q->pending, memory_order_acquire))
        return false;
    pthread_mutex_lock(&q->lock);
    if (q->lost) {
        *result = HBA_AEV_OVERFLOW | q->lost << 8;
        q->lost = 0;
    } else if (q->count) {
        *result = q->ring[q->first];
        q->first = (q->first + 1) % CTRL_EVENT_DEPTH;
        q->count--;
    } else {
        got = false;
    }
    atomic_store_explicit(&q->pending, q->lost || q->count, memory_order_release);
    pthread_mutex_unlock(&q->lock);
    return got;
}

void ctrl_event_deliver(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    for (size_t i = 0; i < f->nheld;) {
        uint32_t result;
        if (f->held[i].kind != CTRL_HELD_ASYNC_EVENT) {
            i++;
            continue;
        }
        if (!ctrl_event_pop(c, &result))
            return;
        ctrl_complete(c, f->held[i].sqid, f->held[i].cid, HBA_CS_SUCCESS, 0, result, 0);
        ctrl_held_remove(c, i);
    }
}
