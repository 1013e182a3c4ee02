/* core/core_admin.c — admin commands on queue 0: asynchronous submission
 * with a completion callback (recovery, events, fault log), and a polled
 * synchronous form for bring-up, which runs before interrupts are wanted and
 * must not wait for a dispatch-queue block that cannot run while it waits. */
#include <errno.h>
#include <string.h>

#include "core/core_internal.h"

void adm_entry(struct hba_sq_entry *e, uint8_t opcode)
{
    memset(e, 0, sizeof *e);
    e->opcode = opcode;
}

int adm_submit(struct drv_core *core, struct hba_sq_entry *e, uint32_t timeout_ms, drv_adm_fn fn, void *arg)
{
    struct drv_queue *q = &core->admin;
    struct drv_cmd *c = queue_slot_get(q);
    if (!c)
        return -EBUSY;
    c->adm_fn = fn;
    c->adm_arg = arg;
    c->deadline_ns = timeout_ms ? core_now_ns(core) + (uint64_t)timeout_ms * 1000000u : 0;
    e->cid = c->cid;
    e->timeout_ms = timeout_ms;
    queue_push(q, e);
    queue_ring(core, q);
    return 0;
}

struct adm_waiter {
    bool done;
    struct hba_cq_entry cqe;
};

static void waiter_done(struct drv_core *core, void *arg, const struct hba_cq_entry *cqe)
{
    (void)core;
    struct adm_waiter *w = arg;
    w->cqe = *cqe;
    w->done = true;
}

int adm_run(struct drv_core *core, struct hba_sq_entry *e, struct hba_cq_entry *out)
{
    struct adm_waiter w = { 0 };
    uint32_t timeout_ms = core->opt.admin_timeout_ms;
    int rc = adm_submit(core, e, timeout_ms, waiter_done, &w);
    if (rc < 0)
        return rc;
    uint16_t cid = e->cid;
    struct core_wait wait;
    core_wait_start(&wait, core_now_ns(core), timeout_ms);
    for (;;) {
        queue_reap(core, &core->admin);
        if (w.done) {
            *out = w.cqe;
            return 0;
        }
        uint32_t st = osal_reg_read32(core->os, HBA_REG_STATUS);
        bool fatal = st == 0xFFFFFFFFu || (st & HBA_STATUS_FATAL);
        if (fatal || core_wait_expired(&wait, core_now_ns(core))) {
            /* Leave the slot to the reset that follows, but never call back
             * into this stack frame. */
            struct drv_cmd *c = queue_find(&core->admin, cid);
            if (c) {
                c->adm_fn = NULL;
                c->adm_arg = NULL;
            }
            osal_log(core->os, OSAL_LOG_ERROR, "drv: admin command %#x %s", e->opcode,
                     fatal ? "failed: the controller is in FAULT" : "timed out");
            return fatal ? -EIO : -ETIMEDOUT;
        }
        core_wait_nap(&wait);
    }
}

void adm_cancel_all(struct drv_core *core)
{
    struct drv_queue *q = &core->admin;
    for (uint16_t i = 0; q->cmd && i < q->nslots; i++) {
        struct drv_cmd *c = &q->cmd[i];
        if (!c->busy)
            continue;
        struct hba_cq_entry cqe = { .cid = c->cid, .ctrl_status = HBA_CS_ABORTED_RESET, .sq_id = 0 };
        drv_adm_fn fn = c->adm_fn;
        void *arg = c->adm_arg;
        queue_slot_put(q, c);
        if (fn)
            fn(core, arg, &cqe);
    }
}
