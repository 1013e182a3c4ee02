/* mini_events.c — asynchronous events (datasheet 15, 16): MINI_AEV ASYNC
 * EVENT commands stay outstanding on the admin queue.  The admin CQ is
 * polled, so their answers are found by mini_admin (which sets them aside)
 * or at the watchdog's tick (mini_admin_reap); each is handled there, told
 * to the layer above (on_event) and posted again under the same command id.
 * An IOMMU_FAULT, or an OVERFLOW (events were lost, faults among them
 * perhaps), sends us to the fault log, read from the first sequence number
 * not yet reported, so each fault is reported once. */
#include <string.h>

#include "mini.h"

static void post(struct drv_core *c, uint16_t cid)
{
    struct hba_sq_entry e;
    memset(&e, 0, sizeof e);
    e.opcode = HBA_ADM_ASYNC_EVENT;
    e.cid = cid;
    mini_admin_post(c, &e);
}

void mini_events_arm(struct drv_core *c)
{
    c->naev = 0; /* answers from before a reset: their commands are gone */
    for (unsigned i = 0; i < MINI_AEV; i++)
        post(c, (uint16_t)(MINI_AEV_CID + i));
}

static void emit(struct drv_core *c, struct drv_event *ev)
{
    c->stats.events++;
    if (c->opt.on_event)
        c->opt.on_event(c->opt.event_arg, ev);
}

/* GET LOG pages from c->log_next until the log's end; each entry once. */
static void read_fault_log(struct drv_core *c)
{
    for (int pages = 0; pages < 64 && c->running; pages++) {
        struct hba_sq_entry e;
        uint32_t got = 0;
        memset(&e, 0, sizeof e);
        e.opcode = HBA_ADM_GET_LOG;
        e.u.cdw[0] = HBA_LOG_IOMMU_FAULTS;
        e.u.cdw[1] = c->log_next;
        e.data_len = MINI_LOG;
        e.sge = (struct hba_sge){ .addr = c->log.map.seg[0].iova, .length = MINI_LOG, .type = HBA_SGE_DATA };
        if (mini_admin(c, &e, &got) != HBA_CS_SUCCESS || got < sizeof(struct hba_log_header) || got > MINI_LOG)
            return;
        const uint8_t *page = c->log.buf->vaddr;
        struct hba_log_header h;
        memcpy(&h, page, sizeof h);
        if (h.total < c->log_next) { /* the log restarted (hard reset): from its start again */
            c->log_next = 0;
            continue;
        }
        uint32_t fit = (got - (uint32_t)sizeof h) / (uint32_t)sizeof(struct hba_iommu_fault);
        uint32_t n = h.count < fit ? h.count : fit;
        for (uint32_t i = 0; i < n; i++) {
            struct drv_event ev;
            memset(&ev, 0, sizeof ev);
            memcpy(&ev.fault, page + sizeof h + (size_t)i * sizeof ev.fault, sizeof ev.fault);
            if (ev.fault.seq < c->log_next)
                continue;
            c->log_next = ev.fault.seq + 1u;
            ev.kind = DRV_EVENT_IOMMU_FAULT;
            ev.info = ev.fault.seq;
            emit(c, &ev);
        }
        if (!n || h.first + n >= h.total)
            return;
    }
}

void mini_events_poll(struct drv_core *c)
{
    mini_admin_reap(c);
    /* Reading the log may find more answers (mini_admin sets them aside). */
    while (c->running && c->naev) {
        struct hba_cq_entry a = c->aev[0]; /* in the order they came */
        memmove(c->aev, c->aev + 1, --c->naev * sizeof c->aev[0]);
        if (a.ctrl_status != HBA_CS_SUCCESS)
            continue; /* ended by a reset: bring-up posts new ones */
        struct drv_event ev;
        memset(&ev, 0, sizeof ev);
        ev.info = HBA_AEV_INFO(a.result);
        switch (HBA_AEV_TYPE(a.result)) {
        case HBA_AEV_IOMMU_FAULT:
        case HBA_AEV_OVERFLOW:
            read_fault_log(c);
            break;
        case HBA_AEV_BATTERY:
            ev.kind = DRV_EVENT_BATTERY;
            emit(c, &ev);
            break;
        case HBA_AEV_DRIVE_CHANGED:
            ev.kind = DRV_EVENT_DRIVE_CHANGED;
            ev.target = (uint16_t)(ev.info >> 8);
            ev.lun = (uint16_t)(ev.info & 0xFFu);
            emit(c, &ev);
            break;
        case HBA_AEV_CACHE_LOST:
            ev.kind = DRV_EVENT_CACHE_LOST;
            emit(c, &ev);
            break;
        default:
            break;
        }
        if (c->running)
            post(c, a.cid);
    }
}
