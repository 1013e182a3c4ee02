/* stack/completion_text.h — one way to say, in words, how a task ended when
 * it did not end GOOD: the driver's service response and the controller's
 * completion status (hw/hba.h), or the SCSI status with its sense key and
 * additional sense code.  Used by the replay's notes and by scsisim bench's
 * report of a failed command, so both name a failure the same way. */
#ifndef STACK_COMPLETION_TEXT_H
#define STACK_COMPLETION_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/driver_core_abi.h"

/* The controller's completion status (HBA_CS_*) in words. */
const char *stack_ctrl_status_name(uint8_t cs);
/* The driver's service response (DRV_SR_*) in words. */
const char *stack_response_name(enum drv_service_response r);
/* The whole ending in one sentence fragment, e.g. "service delivery failure
 * (controller status 0x9: aborted)" or "CHECK CONDITION, sense UNIT ATTENTION
 * 29h/00h (...)" or "GOOD".  Returns buf. */
const char *stack_completion_text(const struct drv_completion *c, char *buf, size_t len);

#endif
