/* sim/ctrl/ctrl_taskset.c — the logical unit's task set and its size
 * (SAM-5 5.3: a task the device server cannot accept because its task set
 * is full completes with TASK SET FULL).  The firmware runs each command
 * as it fetches it, so the tasks that stay in a task set are the ones it
 * holds (a command it lost, ctrl_held); an LU configured with queue-depth=N
 * answers TASK SET FULL to a command that finds N of its commands held.
 * The driver is expected to retry it later (core/core_task.c). */
#include "sim/ctrl/ctrl_internal.h"

bool ctrl_task_set_full(const struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint32_t depth = 0;
    for (size_t i = 0; i < c->nlus; i++)
        if (c->lus[i].target == e->target && c->lus[i].lun == e->lun)
            depth = c->lus[i].queue_depth;
    if (depth == 0)
        return false;
    const struct ctrl_fw *f = &c->fw_state;
    uint32_t held = 0;
    for (size_t i = 0; i < f->nheld; i++)
        held += f->held[i].kind == CTRL_HELD_DROPPED && f->held[i].target == e->target && f->held[i].lun == e->lun;
    return held >= depth;
}
