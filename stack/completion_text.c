/* stack/completion_text.c — a task's ending in words (stack/completion_text.h). */
#include <stdio.h>

#include "hw/hba.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "stack/completion_text.h"

const char *stack_ctrl_status_name(uint8_t cs)
{
    switch (cs) {
    case HBA_CS_SUCCESS: return "success";
    case HBA_CS_INVALID_OPCODE: return "invalid opcode";
    case HBA_CS_INVALID_FIELD: return "invalid field in the entry";
    case HBA_CS_CID_CONFLICT: return "command id conflict";
    case HBA_CS_INVALID_TARGET: return "invalid target (selection timeout)";
    case HBA_CS_SGL_ZERO_LENGTH: return "zero-length SGE";
    case HBA_CS_SGL_TOO_MANY: return "too many SGEs";
    case HBA_CS_SGL_INVALID: return "invalid SGL";
    case HBA_CS_SGL_SHORT: return "SGL shorter than the data";
    case HBA_CS_XFER_TOO_LONG: return "transfer too long";
    case HBA_CS_DATA_XFER_ERROR: return "data transfer error (IOMMU fault)";
    case HBA_CS_SENSE_XFER_ERROR: return "sense transfer error";
    case HBA_CS_ABORTED: return "aborted";
    case HBA_CS_ABORTED_RESET: return "aborted by a reset";
    case HBA_CS_ABORTED_SQ_DELETED: return "aborted: queue deleted";
    case HBA_CS_INVALID_QUEUE: return "invalid queue";
    case HBA_CS_SHUTDOWN: return "controller shut down";
    case HBA_CS_DIRECTION_MISMATCH: return "data direction mismatch";
    case HBA_CS_INTERNAL: return "simulator internal error";
    default: return "unknown controller status";
    }
}

const char *stack_response_name(enum drv_service_response r)
{
    switch (r) {
    case DRV_SR_TASK_COMPLETE: return "task complete";
    case DRV_SR_SERVICE_DELIVERY_FAILURE: return "service delivery failure";
    case DRV_SR_FUNCTION_REJECTED: return "function rejected";
    }
    return "unknown service response";
}

const char *stack_completion_text(const struct drv_completion *c, char *buf, size_t len)
{
    if (c->response != DRV_SR_TASK_COMPLETE) {
        snprintf(buf, len, "%s (controller status %#x: %s)", stack_response_name(c->response), c->ctrl_status,
                 stack_ctrl_status_name(c->ctrl_status));
        return buf;
    }
    char status[64];
    scsi_status_name(c->scsi_status, status, sizeof status);
    struct scsi_sense_info si;
    if (c->scsi_status != SCSI_STATUS_CHECK_CONDITION || !scsi_sense_parse(c->sense, c->sense_len, &si)) {
        snprintf(buf, len, "%s (status %#x)", status, c->scsi_status);
        return buf;
    }
    char key[64], asc[128];
    snprintf(buf, len, "%s, sense %s %02Xh/%02Xh (%s)", status, scsi_sense_key_name(si.key, key, sizeof key), si.asc,
             si.ascq, scsi_asc_name(si.asc, si.ascq, asc, sizeof asc));
    return buf;
}
