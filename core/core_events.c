/* core/core_events.c — asynchronous events: a few HBA_ADM_ASYNC_EVENT
 * commands stay outstanding; each completion becomes a drv_event for the
 * layer above and is re-armed.  An IOMMU fault event sends us to the fault
 * log (HBA_ADM_GET_LOG), read from the sequence number after the last entry
 * seen, so each fault is reported once with its IOVA, direction and reason. */
#include <string.h>

#include "core/core_internal.h"

static void log_fetch(struct drv_core *core);

static void aev_done(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe);

static void arm_one(struct drv_core *core)
{
    struct hba_sq_entry e;
    adm_entry(&e, HBA_ADM_ASYNC_EVENT);
    if (adm_submit(core, &e, 0, aev_done, NULL) < 0)
        osal_log(core->os, OSAL_LOG_WARN, "drv: admin queue full: one async event command fewer");
}

void events_arm(struct drv_core *core)
{
    for (unsigned i = 0; i < core->opt.async_events && i + 1u < core->admin.nslots; i++) /* a slot stays for resets */
        arm_one(core);
}

static void aev_done(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    (void)arg;
    if (cqe->ctrl_status != HBA_CS_SUCCESS)
        return; /* ended by a reset: bring-up arms new ones */
    uint32_t type = HBA_AEV_TYPE(cqe->result), info = HBA_AEV_INFO(cqe->result);
    struct drv_event ev;
    memset(&ev, 0, sizeof ev);
    ev.info = info;
    switch (type) {
    case HBA_AEV_IOMMU_FAULT:
        log_fetch(core); /* the event is raised per log entry */
        break;
    case HBA_AEV_BATTERY:
        ev.kind = DRV_EVENT_BATTERY;
        core_emit(core, &ev);
        break;
    case HBA_AEV_DRIVE_CHANGED:
        ev.kind = DRV_EVENT_DRIVE_CHANGED;
        ev.target = (uint16_t)(info >> 8);
        ev.lun = (uint16_t)(info & 0xFFu);
        core_emit(core, &ev);
        break;
    case HBA_AEV_CACHE_LOST:
        osal_log(core->os, OSAL_LOG_WARN, "drv: the controller lost %u dirty cache lines at the last power cut", info);
        ev.kind = DRV_EVENT_CACHE_LOST;
        core_emit(core, &ev);
        break;
    case HBA_AEV_OVERFLOW:
        osal_log(core->os, OSAL_LOG_WARN, "drv: %u asynchronous events were lost; re-reading the fault log", info);
        log_fetch(core);
        break;
    default:
        osal_log(core->os, OSAL_LOG_WARN, "drv: unknown asynchronous event type %#x (info %#x)", type, info);
        break;
    }
    if (core_state(core) == CORE_RUNNING && core->admin.live)
        arm_one(core);
}

static const char *reason_name(uint8_t r)
{
    switch (r) {
    case HBA_IOMMU_UNMAPPED:   return "unmapped";
    case HBA_IOMMU_READ_ONLY:  return "device write to a to-device mapping";
    case HBA_IOMMU_WRITE_ONLY: return "device read of a from-device mapping";
    case HBA_IOMMU_BEYOND_RAM: return "beyond host RAM";
    case HBA_IOMMU_BAD_ENTRY:  return "malformed translation-table entry";
    default:                   return "unknown reason";
    }
}

static void log_done(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    (void)arg;
    core->log_busy = false;
    if (cqe->ctrl_status != HBA_CS_SUCCESS || !core->log_mem.buf) {
        core->log_again = false;
        return;
    }
    const uint8_t *buf = core->log_mem.buf->vaddr;
    uint64_t cap = core->log_mem.buf->length;
    uint64_t got = cqe->result < cap ? cqe->result : cap;
    if (got < sizeof(struct hba_log_header))
        return;
    struct hba_log_header h;
    memcpy(&h, buf, sizeof h);
    uint64_t fit = (got - sizeof h) / sizeof(struct hba_iommu_fault);
    uint32_t count = h.count < fit ? h.count : (uint32_t)fit;
    if (h.total < core->log_next_seq)
        core->log_next_seq = 0; /* the log restarted (hard reset): read it from its start */
    for (uint32_t i = 0; i < count; i++) {
        struct hba_iommu_fault f;
        memcpy(&f, buf + sizeof h + (size_t)i * sizeof f, sizeof f);
        if (f.seq < core->log_next_seq)
            continue;
        core->log_next_seq = f.seq + 1u;
        osal_log(core->os, OSAL_LOG_WARN,
                 "drv: IOMMU fault #%u: %s of %u bytes at IOVA %#llx (%s), cid %#x on SQ %u",
                 f.seq, f.dir == HBA_DMA_FROM_DEVICE ? "device write" : "device read", f.length,
                 (unsigned long long)f.iova, reason_name(f.reason), f.cid, f.sq_id);
        struct drv_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = DRV_EVENT_IOMMU_FAULT;
        ev.info = f.seq;
        ev.fault = f;
        core_emit(core, &ev);
    }
    bool more = count && h.first + count < h.total;
    if (more || core->log_again) {
        core->log_again = false;
        log_fetch(core);
    }
}

static void log_fetch(struct drv_core *core)
{
    if (core->log_busy) {
        core->log_again = true;
        return;
    }
    uint64_t iova;
    uint64_t len = core->log_mem.buf ? core->log_mem.buf->length : 0;
    if (!len || !dma_iova(&core->log_mem, 0, len, &iova))
        return;
    struct hba_sq_entry e;
    adm_entry(&e, HBA_ADM_GET_LOG);
    e.u.cdw[0] = HBA_LOG_IOMMU_FAULTS;
    e.u.cdw[1] = core->log_next_seq;
    e.data_len = (uint32_t)len;
    e.sge = (struct hba_sge){ .addr = iova, .length = (uint32_t)len, .type = HBA_SGE_DATA };
    if (adm_submit(core, &e, core->opt.admin_timeout_ms, log_done, NULL) == 0)
        core->log_busy = true;
}
