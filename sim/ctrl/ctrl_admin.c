/* sim/ctrl/ctrl_admin.c — the admin command set of hw/hba.h: identify, queue
 * creation and deletion, features, abort, asynchronous events, cache flush,
 * shutdown, logs, resets and nexus loss.  Parameters come from the entry
 * copied once by ctrl_queue.c; each is range-checked before use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/ctrl/ctrl_internal.h"

#ifndef SCSISIM_VERSION
#define SCSISIM_VERSION "0"
#endif

#define NO_STATUS (-1) /* the command is held or the controller faulted: no completion now */

static void pad(char *dst, size_t n, const char *src)
{
    memset(dst, ' ', n);
    size_t l = strlen(src);
    memcpy(dst, src, l < n ? l : n);
}

static const struct ctrl_lu *find_lu(const struct sim_ctrl *c, uint16_t target, uint16_t lun)
{
    for (size_t i = 0; i < c->nlus; i++)
        if (c->lus[i].target == target && c->lus[i].lun == lun)
            return &c->lus[i];
    return NULL;
}

/* Copies len bytes of admin data to the entry's data buffer; *result = bytes
 * moved.  The SGL is walked for the whole data_len the driver declared. */
static int data_to_host(struct sim_ctrl *c, const struct hba_sq_entry *e, const void *buf, uint32_t len,
                        uint32_t *result)
{
    struct ctrl_sgl sgl;
    int rc = ctrl_sgl_walk(c, &e->sge, e->data_len, 0, e->cid, &sgl);
    if (rc != HBA_CS_SUCCESS)
        return rc;
    uint32_t n = len < e->data_len ? len : e->data_len;
    rc = ctrl_sgl_copy_out(c, &sgl, buf, n, 0, e->cid);
    if (rc == HBA_CS_SUCCESS)
        *result = n;
    return rc;
}

static int identify(struct sim_ctrl *c, const struct hba_sq_entry *e, uint32_t *result)
{
    uint32_t cns = e->u.cdw[0];
    uint16_t target = (uint16_t)(e->u.cdw[1] >> 16), lun = (uint16_t)e->u.cdw[1];
    if (cns == HBA_IDENTIFY_CONTROLLER) {
        struct hba_identify_ctrl id;
        char serial[32];
        memset(&id, 0, sizeof(id));
        snprintf(serial, sizeof(serial), "SSIM%016llX", (unsigned long long)c->cfg.seed);
        pad(id.vendor, sizeof(id.vendor), "SCSISIM");
        pad(id.model, sizeof(id.model), "SSIM-1 RAID");
        pad(id.firmware, sizeof(id.firmware), SCSISIM_VERSION);
        pad(id.serial, sizeof(id.serial), serial);
        id.max_targets = c->cfg.max_targets;
        id.max_luns = c->cfg.max_luns;
        id.drive_count = (uint32_t)c->nlus;
        id.cache_bytes = c->nlus ? (uint32_t)(c->lus[0].cache_bytes > UINT32_MAX ? UINT32_MAX
                                                                                : c->lus[0].cache_bytes)
                                 : 0;
        id.battery = c->nlus ? (uint8_t)atomic_load(&c->lus[0].battery) : HBA_BATTERY_ABSENT;
        return data_to_host(c, e, &id, sizeof(id), result);
    }
    if (cns == HBA_IDENTIFY_DRIVE_LIST) {
        size_t max = c->nlus + 1;
        uint32_t *list = calloc(max, sizeof(uint32_t));
        if (!list) {
            ctrl_sim_bug(c, "out of memory for the drive list");
            return HBA_CS_INTERNAL;
        }
        size_t n = fw_drive_list(c->fw, list + 1, max - 1);
        list[0] = (uint32_t)(n < max - 1 ? n : max - 1);
        int rc = data_to_host(c, e, list, (uint32_t)((list[0] + 1) * sizeof(uint32_t)), result);
        free(list);
        return rc;
    }
    if (cns == HBA_IDENTIFY_DRIVE) {
        struct hba_identify_drive d;
        memset(&d, 0, sizeof(d));
        if (target >= c->cfg.max_targets || lun >= c->cfg.max_luns)
            return HBA_CS_INVALID_TARGET;
        if (fw_identify_drive(c->fw, target, lun, &d) < 0)
            return HBA_CS_INVALID_FIELD;
        return data_to_host(c, e, &d, sizeof(d), result);
    }
    return HBA_CS_INVALID_FIELD;
}

static uint32_t max_entries(const struct sim_ctrl *c)
{
    return c->cfg.max_queue_entries < 4096 ? c->cfg.max_queue_entries : 4096;
}

static bool io_qid_ok(const struct sim_ctrl *c, uint32_t qid)
{
    return qid >= 1 && qid <= c->cfg.max_io_queues && qid < HBA_MAX_QUEUES;
}

/* The verdict of a queue memory probe as a command status. */
static int probe_status(struct sim_ctrl *c, enum sim_dma_result r)
{
    if (r == SIM_DMA_ABORTED)
        return HBA_CS_DATA_XFER_ERROR;
    if (r == SIM_DMA_FATAL) {
        ctrl_fault(c, HBA_FAULT_IOMMU);
        return NO_STATUS;
    }
    return HBA_CS_SUCCESS;
}

static int create_cq(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint32_t qid = e->u.cdw[0], n = e->u.cdw[1], vector = e->u.cdw[2], flags = e->u.cdw[3];
    uint64_t base = e->sge.addr & c->addr_mask;
    if (!io_qid_ok(c, qid) || c->fw_state.cq[qid].live || n < 2 || n > max_entries(c) ||
        vector >= c->cfg.vectors || (flags & ~HBA_CQ_FLAG_NO_IRQ) || base % sizeof(struct hba_cq_entry))
        return HBA_CS_INVALID_QUEUE;
    int rc = probe_status(c, ctrl_queue_probe(c, 0, base, (size_t)n * sizeof(struct hba_cq_entry), true));
    if (rc != HBA_CS_SUCCESS)
        return rc;
    ctrl_queue_create_cq(c, (uint16_t)qid, base, n, (uint16_t)vector, flags & HBA_CQ_FLAG_NO_IRQ);
    return HBA_CS_SUCCESS;
}

static int create_sq(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint32_t qid = e->u.cdw[0], n = e->u.cdw[1], cqid = e->u.cdw[2];
    uint64_t base = e->sge.addr & c->addr_mask;
    if (!io_qid_ok(c, qid) || c->fw_state.sq[qid].live || n < 2 || n > max_entries(c) || !io_qid_ok(c, cqid) ||
        !c->fw_state.cq[cqid].live || base % sizeof(struct hba_sq_entry))
        return HBA_CS_INVALID_QUEUE;
    int rc = probe_status(c, ctrl_queue_probe(c, 0, base, (size_t)n * sizeof(struct hba_sq_entry), false));
    if (rc != HBA_CS_SUCCESS)
        return rc;
    if (ctrl_queue_create_sq(c, (uint16_t)qid, base, n, (uint16_t)cqid) < 0) {
        ctrl_sim_bug(c, "out of memory creating SQ %u", qid);
        return HBA_CS_INTERNAL;
    }
    return HBA_CS_SUCCESS;
}

static int delete_sq(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint32_t qid = e->u.cdw[0];
    if (!io_qid_ok(c, qid) || !c->fw_state.sq[qid].live)
        return HBA_CS_INVALID_QUEUE;
    ctrl_queue_delete_sq(c, (uint16_t)qid, HBA_CS_ABORTED_SQ_DELETED);
    return c->fw_state.state == HBA_STATE_OPERATIONAL ? HBA_CS_SUCCESS : NO_STATUS;
}

static int delete_cq(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint32_t qid = e->u.cdw[0];
    if (!io_qid_ok(c, qid) || !c->fw_state.cq[qid].live || c->fw_state.cq[qid].users)
        return HBA_CS_INVALID_QUEUE;
    ctrl_queue_delete_cq(c, (uint16_t)qid);
    return HBA_CS_SUCCESS;
}

static int drive_status(int rc)
{
    return rc == -ENOENT || rc == -EINVAL ? HBA_CS_INVALID_FIELD : HBA_CS_INTERNAL;
}

static int get_feature(struct sim_ctrl *c, const struct hba_sq_entry *e, uint32_t *result)
{
    uint16_t target = (uint16_t)(e->u.cdw[1] >> 16), lun = (uint16_t)e->u.cdw[1];
    switch (e->u.cdw[0]) {
    case HBA_FEATURE_WRITE_CACHE: {
        bool on = false;
        int rc = fw_get_write_cache(c->fw, target, lun, &on);
        if (rc < 0)
            return drive_status(rc);
        *result = on;
        return HBA_CS_SUCCESS;
    }
    case HBA_FEATURE_INT_COALESCING:
        *result = c->fw_state.coalescing;
        return HBA_CS_SUCCESS;
    case HBA_FEATURE_BATTERY: {
        const struct ctrl_lu *lu = find_lu(c, target, lun);
        if (!lu)
            return HBA_CS_INVALID_FIELD;
        *result = (uint32_t)atomic_load(&lu->battery);
        return HBA_CS_SUCCESS;
    }
    default:
        return HBA_CS_INVALID_FIELD;
    }
}

static int set_feature(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint16_t target = (uint16_t)(e->u.cdw[1] >> 16), lun = (uint16_t)e->u.cdw[1];
    uint32_t value = e->u.cdw[2];
    switch (e->u.cdw[0]) {
    case HBA_FEATURE_WRITE_CACHE: {
        if (value > 1)
            return HBA_CS_INVALID_FIELD;
        int rc = fw_set_write_cache(c->fw, target, lun, value == 1);
        return rc < 0 ? drive_status(rc) : HBA_CS_SUCCESS;
    }
    case HBA_FEATURE_INT_COALESCING:
        c->fw_state.coalescing = value;
        ctrl_irq_flush(c); /* completions held back under the old setting go out now */
        return HBA_CS_SUCCESS;
    default: /* HBA_FEATURE_BATTERY is read-only */
        return HBA_CS_INVALID_FIELD;
    }
}

static int abort_cmd(struct sim_ctrl *c, const struct hba_sq_entry *e, uint32_t *result)
{
    uint32_t sqid = e->u.cdw[0], cid = e->u.cdw[1];
    struct ctrl_fw *f = &c->fw_state;
    if (sqid >= HBA_MAX_QUEUES || !f->sq[sqid].live)
        return HBA_CS_INVALID_QUEUE;
    if (cid > 0xFFFF)
        return HBA_CS_INVALID_FIELD;
    ctrl_queue_fetch_io(c); /* a command still waiting in an SQ is found too */
    *result = 1;
    for (size_t i = 0; i < f->nheld; i++) {
        if (f->held[i].sqid == sqid && f->held[i].cid == cid) {
            ctrl_complete(c, (uint16_t)sqid, (uint16_t)cid, HBA_CS_ABORTED, 0, 0, 0);
            ctrl_held_remove(c, i);
            *result = 0;
            break;
        }
    }
    return HBA_CS_SUCCESS;
}

static int async_event(struct sim_ctrl *c, const struct hba_sq_entry *e, uint32_t *result)
{
    if (ctrl_event_pop(c, result))
        return HBA_CS_SUCCESS;
    size_t held = 0;
    for (size_t i = 0; i < c->fw_state.nheld; i++)
        held += c->fw_state.held[i].kind == CTRL_HELD_ASYNC_EVENT;
    if (held >= CTRL_ASYNC_MAX)
        return HBA_CS_INVALID_FIELD;
    if (ctrl_held_add(c, CTRL_HELD_ASYNC_EVENT, 0, e->cid, 0, 0) < 0) {
        ctrl_sim_bug(c, "out of memory holding an async event request");
        return HBA_CS_INTERNAL;
    }
    return NO_STATUS;
}

static int flush(struct sim_ctrl *c, uint32_t addr)
{
    uint64_t injected = fw_store_injected(c->fw);   /* an io-error rule's failure is no bug */
    int rc = fw_flush(c->fw, (uint16_t)(addr >> 16), (uint16_t)addr, addr == HBA_ALL_DRIVES);
    if (rc == 0)
        return HBA_CS_SUCCESS;
    if (rc != -ENOENT && rc != -EINVAL && fw_store_injected(c->fw) == injected)
        ctrl_sim_bug(c, "cache flush failed (%d)", rc);
    return drive_status(rc);
}

static int get_log(struct sim_ctrl *c, const struct hba_sq_entry *e, uint32_t *result)
{
    if (e->u.cdw[0] != HBA_LOG_IOMMU_FAULTS || e->data_len < sizeof(struct hba_log_header))
        return HBA_CS_INVALID_FIELD;
    size_t max = (e->data_len - sizeof(struct hba_log_header)) / sizeof(struct hba_iommu_fault);
    if (max > HBA_FAULT_LOG_DEPTH)
        max = HBA_FAULT_LOG_DEPTH;
    size_t bytes = sizeof(struct hba_log_header) + max * sizeof(struct hba_iommu_fault);
    struct ctrl_fw *f = &c->fw_state;
    uint8_t *buf = ctrl_buffer(&f->scratch, &f->scratch_cap, bytes);
    if (!buf) {
        ctrl_sim_bug(c, "out of memory for the fault log");
        return HBA_CS_INTERNAL;
    }
    struct hba_log_header hdr;
    memset(&hdr, 0, sizeof(hdr));
    size_t n = sim_iommu_fault_log(c->iommu, e->u.cdw[1], (struct hba_iommu_fault *)(buf + sizeof(hdr)), max, &hdr);
    hdr.count = (uint32_t)n;
    memcpy(buf, &hdr, sizeof(hdr));
    return data_to_host(c, e, buf, (uint32_t)(sizeof(hdr) + n * sizeof(struct hba_iommu_fault)), result);
}

static int reset(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint32_t scope = e->u.cdw[0];
    uint16_t target = (uint16_t)(e->u.cdw[1] >> 16), lun = (uint16_t)e->u.cdw[1];
    if (scope != HBA_RESET_LUN && scope != HBA_RESET_TARGET && scope != HBA_RESET_BUS)
        return HBA_CS_INVALID_FIELD;
    if (scope != HBA_RESET_BUS && (target >= c->cfg.max_targets || lun >= c->cfg.max_luns))
        return HBA_CS_INVALID_TARGET;
    ctrl_queue_fetch_io(c); /* the reset covers the commands still waiting in the SQs */
    fw_reset(c->fw, (enum hba_reset_scope)scope, target, lun);
    ctrl_abort_held(c, -1, true, scope == HBA_RESET_BUS ? -1 : target, scope == HBA_RESET_LUN ? lun : -1,
                    HBA_CS_ABORTED_RESET);
    return HBA_CS_SUCCESS;
}

static int dispatch(struct sim_ctrl *c, const struct hba_sq_entry *e, uint32_t *result)
{
    switch (e->opcode) {
    case HBA_ADM_IDENTIFY:      return identify(c, e, result);
    case HBA_ADM_CREATE_CQ:     return create_cq(c, e);
    case HBA_ADM_CREATE_SQ:     return create_sq(c, e);
    case HBA_ADM_DELETE_SQ:     return delete_sq(c, e);
    case HBA_ADM_DELETE_CQ:     return delete_cq(c, e);
    case HBA_ADM_GET_FEATURE:   return get_feature(c, e, result);
    case HBA_ADM_SET_FEATURE:   return set_feature(c, e);
    case HBA_ADM_ABORT:         return abort_cmd(c, e, result);
    case HBA_ADM_ASYNC_EVENT:   return async_event(c, e, result);
    case HBA_ADM_CACHE_FLUSH:   return flush(c, e->u.cdw[1]);
    case HBA_ADM_SHUTDOWN: {
        int rc = flush(c, HBA_ALL_DRIVES);
        c->fw_state.shut_down = true;
        return rc;
    }
    case HBA_ADM_GET_LOG:       return get_log(c, e, result);
    case HBA_ADM_RESET:         return reset(c, e);
    case HBA_ADM_NEXUS_LOSS:
        if (e->u.cdw[0] >= HBA_MAX_INITIATORS)
            return HBA_CS_INVALID_FIELD;
        fw_nexus_loss(c->fw, (uint16_t)e->u.cdw[0]);
        return HBA_CS_SUCCESS;
    default:
        return HBA_CS_INVALID_OPCODE;
    }
}

void ctrl_admin_submit(struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    struct ctrl_sq *sq = &c->fw_state.sq[0];
    if (ctrl_cid_busy(sq, e->cid)) {
        ctrl_driver_error(c, "admin SQ: command id %u already outstanding", e->cid);
        ctrl_complete(c, 0, e->cid, HBA_CS_CID_CONFLICT, 0, 0, 0);
        return;
    }
    ctrl_sq_mark(c, 0, e->cid);
    uint32_t result = 0;
    int rc = fault_admin_refused(&c->faults, e->opcode) ? HBA_CS_INVALID_FIELD : dispatch(c, e, &result);
    if (rc == NO_STATUS || rc == CTRL_CS_FAULTED)
        return;
    if (rc != HBA_CS_SUCCESS)
        ctrl_driver_error(c, "admin opcode %#x cid %u: controller status %#x", e->opcode, e->cid, rc);
    ctrl_complete(c, 0, e->cid, (uint8_t)rc, 0, result, 0);
}
