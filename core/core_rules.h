/* core/core_rules.h — the pure rules of the task path (no osal, no state):
 * task validation and the controller-status to service-response mapping. */
#ifndef CORE_CORE_RULES_H
#define CORE_CORE_RULES_H

#include "core/core.h"

/* Validates a task as drv_core_process_task does: CDB length 6..16, a known
 * direction, data only with a direction, pieces that lie inside their
 * buffers, none of length 0, and at least requested_transfer bytes in all.
 * 0 or -EINVAL. */
int task_check(const struct drv_task *t);

/* The service response for a completion's controller status: SUCCESS is a
 * completed task; a request the controller refused (bad field, SGL, length,
 * direction, shut down) is FUNCTION_REJECTED; anything that leaves the
 * command's fate unknown (no selection, DMA error, abort, reset) is
 * SERVICE_DELIVERY_FAILURE. */
enum drv_service_response task_response_for(uint8_t ctrl_status);

#endif
