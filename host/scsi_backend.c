/* host/scsi_backend.c — small helpers every backend uses to fill a result. */
#include "host/scsi_backend.h"

#include <string.h>

void scsi_backend_result_reset(struct scsi_backend_task *t)
{
    struct scsi_backend_result *r = &t->result;
    r->response = SCSI_SR_TASK_COMPLETE;
    r->status = SCSI_STATUS_GOOD;
    r->aborted = false;
    r->sense_len = 0;
    r->data_len = 0;
    r->residual_kind = SCSI_RESID_NONE;
    r->residual = 0;
}

void scsi_backend_set_sense(struct scsi_backend_task *t, const struct scsi_sense_reason *reason, bool descriptor)
{
    t->result.status = SCSI_STATUS_CHECK_CONDITION;
    t->result.sense_len = (uint8_t)scsi_sense_build(t->result.sense, sizeof(t->result.sense), descriptor, reason);
}

void scsi_backend_set_transfer(struct scsi_backend_task *t, uint64_t wanted, uint64_t moved)
{
    struct scsi_backend_result *r = &t->result;
    r->data_len = moved;
    if (wanted > t->expected_len) {
        r->residual_kind = SCSI_RESID_OVER;
        r->residual = wanted - t->expected_len;
    } else if (moved < t->expected_len) {
        r->residual_kind = SCSI_RESID_UNDER;
        r->residual = t->expected_len - moved;
    } else {
        r->residual_kind = SCSI_RESID_NONE;
        r->residual = 0;
    }
}

void scsi_backend_abort_task(struct scsi_backend_task *t)
{
    scsi_backend_result_reset(t);
    t->result.status = SCSI_STATUS_TASK_ABORTED;
    t->result.aborted = true;
    t->done(t);
}
