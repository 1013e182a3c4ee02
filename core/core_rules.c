/* core/core_rules.c — the pure rules of the task path: which tasks the core
 * accepts, and what a controller status means to the layer above. */
#include <errno.h>

#include "core/core_rules.h"

int task_check(const struct drv_task *t)
{
    if (!t || t->cdb_len < 6 || t->cdb_len > HBA_CDB_MAX)
        return -EINVAL;
    if (t->dir != DRV_DIR_NONE && t->dir != DRV_DIR_FROM_INITIATOR && t->dir != DRV_DIR_FROM_TARGET)
        return -EINVAL;
    if (t->dir == DRV_DIR_NONE && t->requested_transfer)
        return -EINVAL;
    if (t->piece_count && !t->pieces)
        return -EINVAL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < t->piece_count; i++) {
        const struct drv_buffer_piece *p = &t->pieces[i];
        if (!p->buf || !p->buf->vaddr || p->length == 0)
            return -EINVAL; /* a zero-length piece would become a zero-length SGE */
        if (p->offset > p->buf->length || p->length > p->buf->length - p->offset)
            return -EINVAL;
        if (sum + p->length < sum)
            return -EINVAL;
        sum += p->length;
    }
    if (sum < t->requested_transfer)
        return -EINVAL;
    return 0;
}

enum drv_service_response task_response_for(uint8_t ctrl_status)
{
    switch (ctrl_status) {
    case HBA_CS_SUCCESS:
        return DRV_SR_TASK_COMPLETE;
    case HBA_CS_INVALID_OPCODE:
    case HBA_CS_INVALID_FIELD:
    case HBA_CS_SGL_ZERO_LENGTH:
    case HBA_CS_SGL_TOO_MANY:
    case HBA_CS_SGL_INVALID:
    case HBA_CS_SGL_SHORT:
    case HBA_CS_XFER_TOO_LONG:
    case HBA_CS_INVALID_QUEUE:
    case HBA_CS_SHUTDOWN:
    case HBA_CS_DIRECTION_MISMATCH:
        return DRV_SR_FUNCTION_REJECTED;
    default: /* no selection, DMA errors, aborts and resets: the fate is unknown */
        return DRV_SR_SERVICE_DELIVERY_FAILURE;
    }
}
