/* host/iscsi_tmf.c — Task Management Function requests.
 *
 * The connection's own view is settled first (a task still collecting write
 * data simply ends; a task in the backend is marked so that its status is
 * never sent), then the function goes to the backend, whose answer arrives
 * after every task it ended has completed; only then is the TMF Response
 * sent.  TARGET COLD RESET also ends every connection to the node. */
#include "host/iscsi_int.h"

#include <string.h>

static void send_tmf_rsp(struct iscsi_conn *c, uint32_t itt, uint8_t response)
{
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx) {
        iscsi_conn_close(c, "out of memory");
        return;
    }
    struct iscsi_tmf_rsp *h = (struct iscsi_tmf_rsp *)tx->hdr;
    h->opcode = ISCSI_OP_TMF_RSP;
    h->flags = ISCSI_FLAG_FINAL;
    h->response = response;
    scsi_put_be32(h->itt, itt);
    iscsi_conn_stamp(c, tx->hdr, true);
    iscsi_tx_queue(c, tx);
}

static void cold_reset_node(struct iscsi_conn *c)
{
    struct iscsi_node *node = c->sess->node;
    for (struct iscsi_conn *o = c->target->conns; o; o = o->next)
        if (o != c && o->sess && o->sess->node == node)
            iscsi_conn_close(o, "target cold reset");
    iscsi_conn_close_after_send(c);
}

/* Answers the TMF task and lets it go. */
static void finish_tmf(struct iscsi_task *task, uint8_t response)
{
    struct iscsi_conn *c = task->conn;
    task->state = ISCSI_TASK_RESPONDING;
    if (iscsi_conn_alive(c) && c->sess) {
        send_tmf_rsp(c, task->itt, response);
        if (task->tmf_function == SCSI_TMF_TARGET_COLD_RESET && response == ISCSI_TMF_RSP_COMPLETE)
            cold_reset_node(c);
    }
    iscsi_task_maybe_free(task);
}

/* Ends this connection's commands the function covers (all LUNs if !lun). */
static void abort_local(struct iscsi_conn *c, const uint8_t *lun)
{
    for (unsigned i = 0; i < c->n_tasks; i++) {
        struct iscsi_task *t = &c->tasks[i];
        if (t->kind != ISCSI_TASK_CMD || t->state == ISCSI_TASK_FREE || t->state == ISCSI_TASK_RESPONDING)
            continue;
        if (lun && memcmp(t->lun_raw, lun, 8) != 0)
            continue;
        if (t->state == ISCSI_TASK_DATA_OUT)
            iscsi_task_finish(t);
        else
            t->aborted = true;
    }
}

static void forward(struct iscsi_conn *c, struct iscsi_task *task, enum scsi_tmf_function fn, uint64_t lun,
                    uint64_t ref_tag)
{
    struct scsi_backend_tmf *f = &task->tmf;
    memset(f, 0, sizeof(*f));
    f->fn = fn;
    f->nexus = c->sess->nexus;
    f->lun = lun;
    f->ref_tag = ref_tag;
    f->done = iscsi_task_tmf_done;
    task->state = ISCSI_TASK_BACKEND;
    scsi_backend_task_mgmt(scsi_lunmap_backend(c->sess->node->luns), f);
}

static void abort_task(struct iscsi_conn *c, struct iscsi_task *task, const struct iscsi_tmf_req *h)
{
    uint32_t rtt = scsi_get_be32(h->rtt);
    struct iscsi_task *victim = iscsi_task_by_itt(c, rtt);
    if (!victim || victim == task || victim->kind != ISCSI_TASK_CMD || memcmp(victim->lun_raw, h->lun, 8) != 0) {
        finish_tmf(task, ISCSI_TMF_RSP_NO_TASK);
        return;
    }
    switch (victim->state) {
    case ISCSI_TASK_DATA_OUT:
        iscsi_task_finish(victim);
        finish_tmf(task, ISCSI_TMF_RSP_COMPLETE);
        return;
    case ISCSI_TASK_QUEUED:
        victim->aborted = true; /* done, but its status is not sent yet: never will be */
        finish_tmf(task, ISCSI_TMF_RSP_COMPLETE);
        return;
    case ISCSI_TASK_BACKEND:
        victim->aborted = true;
        task->tmf_target = victim;
        forward(c, task, SCSI_TMF_ABORT_TASK, scsi_lun_from_sam(victim->lun_raw), victim->be.tag);
        return;
    default: /* its status is already on its way */
        finish_tmf(task, ISCSI_TMF_RSP_NO_TASK);
        return;
    }
}

int iscsi_tmf_pdu(struct iscsi_conn *c)
{
    const struct iscsi_tmf_req *h = (const struct iscsi_tmf_req *)c->hdr;
    struct iscsi_session *s = c->sess;
    bool imm = h->opcode & ISCSI_OP_IMMEDIATE;
    uint32_t itt = scsi_get_be32(h->itt);
    uint8_t fn = h->function & ISCSI_TMF_FUNC_MASK;

    if (s->discovery) {
        iscsi_send_reject(c, ISCSI_REJECT_NOT_SUPPORTED, c->hdr);
        return 0;
    }
    if (iscsi_session_check_cmdsn(s, scsi_get_be32(h->cmdsn), imm) == ISCSI_CMDSN_DROP) {
        ISCSI_STAT_INC(c->target, commands_dropped);
        return 0;
    }
    ISCSI_STAT_INC(c->target, tmfs);
    if (itt == ISCSI_RESERVED_TAG || iscsi_task_by_itt(c, itt)) {
        iscsi_session_release(s, imm);
        iscsi_send_reject(c, itt == ISCSI_RESERVED_TAG ? ISCSI_REJECT_INVALID_FIELD : ISCSI_REJECT_TASK_IN_PROGRESS,
                          c->hdr);
        return 0;
    }
    struct iscsi_task *task = iscsi_task_alloc(c, ISCSI_TASK_TMF, itt);
    if (!task) {
        iscsi_session_release(s, imm);
        send_tmf_rsp(c, itt, ISCSI_TMF_RSP_REJECTED);
        return 0;
    }
    task->holds_slot = true;
    task->immediate = imm;
    task->tmf_function = fn;
    memcpy(task->lun_raw, h->lun, 8);
    uint64_t lun = scsi_lun_from_sam(h->lun);

    switch (fn) {
    case SCSI_TMF_ABORT_TASK:
        abort_task(c, task, h);
        return 0;
    case SCSI_TMF_ABORT_TASK_SET:
    case SCSI_TMF_CLEAR_TASK_SET:
    case SCSI_TMF_LUN_RESET:
    case SCSI_TMF_CLEAR_ACA:
        if (!scsi_lunmap_has(s->node->luns, lun)) {
            finish_tmf(task, ISCSI_TMF_RSP_NO_LUN);
            return 0;
        }
        if (fn != SCSI_TMF_CLEAR_ACA)
            abort_local(c, h->lun);
        forward(c, task, (enum scsi_tmf_function)fn, lun, 0);
        return 0;
    case SCSI_TMF_TARGET_WARM_RESET:
    case SCSI_TMF_TARGET_COLD_RESET:
        abort_local(c, NULL);
        forward(c, task, (enum scsi_tmf_function)fn, 0, 0);
        return 0;
    case ISCSI_TMF_TASK_REASSIGN:
        /* Only meaningful at ErrorRecoveryLevel 2. */
        finish_tmf(task, ISCSI_TMF_RSP_NO_REASSIGN);
        return 0;
    default:
        finish_tmf(task, ISCSI_TMF_RSP_NOT_SUPPORTED);
        return 0;
    }
}

void iscsi_tmf_complete(struct iscsi_task *task)
{
    uint8_t rsp;
    switch (task->tmf.response) {
    case SCSI_TMF_COMPLETE:       rsp = ISCSI_TMF_RSP_COMPLETE; break;
    /* The victim was marked: its status will never be sent, so from the
     * initiator's side the abort did happen. */
    case SCSI_TMF_TASK_NOT_FOUND: rsp = task->tmf_target ? ISCSI_TMF_RSP_COMPLETE : ISCSI_TMF_RSP_NO_TASK; break;
    case SCSI_TMF_LUN_NOT_FOUND:  rsp = ISCSI_TMF_RSP_NO_LUN; break;
    case SCSI_TMF_NOT_SUPPORTED:  rsp = ISCSI_TMF_RSP_NOT_SUPPORTED; break;
    default:                      rsp = ISCSI_TMF_RSP_REJECTED; break;
    }
    task->tmf_target = NULL;
    finish_tmf(task, rsp);
}
