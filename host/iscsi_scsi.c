/* host/iscsi_scsi.c — SCSI commands over iSCSI: the command PDU, write data
 * (immediate, unsolicited Data-Out up to FirstBurstLength, then R2T bursts
 * with MaxOutstandingR2T=1), submission to the backend, and the answer:
 * Data-In PDUs of at most the initiator's MaxRecvDataSegmentLength with the
 * status folded into the last one when it is GOOD, or a SCSI Response
 * carrying sense data.
 *
 * Write data must arrive in order (DataPDUInOrder=Yes, DataSequenceInOrder=
 * Yes): every Data-Out is checked for its DataSN, its Buffer Offset and its
 * length against the open sequence.  A violation cannot be recovered at
 * ErrorRecoveryLevel 0: the PDU is rejected and the connection ends. */
#include "host/iscsi_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- answers ---------------------------------------------------------------- */

static void put_residual(uint8_t *flags, uint8_t *count, const struct iscsi_task *t, uint64_t moved)
{
    const struct scsi_backend_result *r = &t->be.result;
    uint64_t res = 0;
    if (r->residual_kind == SCSI_RESID_OVER) {
        *flags |= ISCSI_RSP_OVERFLOW;
        res = r->residual;
    } else if (moved < t->edtl) {
        *flags |= ISCSI_RSP_UNDERFLOW;
        res = t->edtl - moved;
    }
    scsi_put_be32(count, res > UINT32_MAX ? UINT32_MAX : (uint32_t)res);
}

static bool send_data_in(struct iscsi_conn *c, struct iscsi_task *t, uint32_t offset, uint32_t len, bool final,
                         bool with_status, uint64_t moved)
{
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx)
        return false;
    struct iscsi_data_in *h = (struct iscsi_data_in *)tx->hdr;
    h->opcode = ISCSI_OP_DATA_IN;
    h->flags = final ? ISCSI_FLAG_FINAL : 0;
    memcpy(h->lun, t->lun_raw, 8);
    scsi_put_be32(h->itt, t->itt);
    scsi_put_be32(h->ttt, ISCSI_RESERVED_TAG);
    if (with_status) {
        h->flags |= ISCSI_FLAG_FINAL | ISCSI_DATAIN_STATUS;
        h->status = t->be.result.status;
        put_residual(&h->flags, h->residual, t, moved);
        iscsi_conn_stamp(c, tx->hdr, true);
    } else if (c->sess) {
        iscsi_session_window(c->sess, h->exp_cmdsn, h->max_cmdsn);
    }
    scsi_put_be32(h->datasn, t->datasn++);
    scsi_put_be32(h->offset, offset);
    tx->task = t;
    tx->data = t->buf + offset;
    tx->data_len = len;
    iscsi_tx_queue(c, tx);
    return true;
}

static bool send_response(struct iscsi_conn *c, struct iscsi_task *t, uint64_t moved)
{
    const struct scsi_backend_result *r = &t->be.result;
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx)
        return false;
    struct iscsi_scsi_rsp *h = (struct iscsi_scsi_rsp *)tx->hdr;
    h->opcode = ISCSI_OP_SCSI_RSP;
    h->flags = ISCSI_FLAG_FINAL;
    scsi_put_be32(h->itt, t->itt);
    iscsi_conn_stamp(c, tx->hdr, true);
    if (r->response != SCSI_SR_TASK_COMPLETE) {
        h->response = ISCSI_RESPONSE_TARGET_FAILURE;
        iscsi_tx_queue(c, tx);
        return true;
    }
    h->response = ISCSI_RESPONSE_COMPLETED;
    h->status = r->status;
    scsi_put_be32(h->exp_datasn, t->is_read ? t->datasn : t->r2tsn);
    put_residual(&h->flags, h->residual, t, moved);
    if (r->sense_len) {
        /* Sense data travels behind its 2-byte length (RFC 7143 11.4.7.2). */
        uint8_t sense[2 + SCSI_SENSE_MAX];
        uint32_t n = r->sense_len > SCSI_SENSE_MAX ? SCSI_SENSE_MAX : r->sense_len;
        scsi_put_be16(sense, (uint16_t)n);
        memcpy(sense + 2, r->sense, n);
        return iscsi_tx_queue_copy(c, tx, sense, 2 + n) == 0;
    }
    iscsi_tx_queue(c, tx);
    return true;
}

void iscsi_send_scsi_status(struct iscsi_conn *c, uint32_t itt, uint32_t edtl, uint8_t status,
                            const struct scsi_sense_reason *reason)
{
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx) {
        iscsi_conn_close(c, "out of memory");
        return;
    }
    struct iscsi_scsi_rsp *h = (struct iscsi_scsi_rsp *)tx->hdr;
    h->opcode = ISCSI_OP_SCSI_RSP;
    h->flags = ISCSI_FLAG_FINAL;
    h->response = ISCSI_RESPONSE_COMPLETED;
    h->status = status;
    scsi_put_be32(h->itt, itt);
    iscsi_conn_stamp(c, tx->hdr, true);
    if (edtl) {
        h->flags |= ISCSI_RSP_UNDERFLOW;
        scsi_put_be32(h->residual, edtl);
    }
    if (reason) {
        uint8_t sense[2 + SCSI_SENSE_MAX];
        size_t n = scsi_sense_build(sense + 2, SCSI_SENSE_MAX, false, reason);
        scsi_put_be16(sense, (uint16_t)n);
        if (iscsi_tx_queue_copy(c, tx, sense, (uint32_t)(2 + n)) < 0)
            iscsi_conn_close(c, "out of memory");
        return;
    }
    iscsi_tx_queue(c, tx);
}

void iscsi_scsi_complete(struct iscsi_task *t)
{
    struct iscsi_conn *c = t->conn;
    const struct scsi_backend_result *r = &t->be.result;
    t->state = ISCSI_TASK_RESPONDING;
    if (!iscsi_conn_alive(c) || t->aborted || r->aborted || !c->sess) {
        iscsi_task_maybe_free(t);
        return;
    }
    if (t->holds_slot) {
        /* The window slot frees with the answer, so the answer's MaxCmdSN
         * already offers it to the initiator. */
        iscsi_session_release(c->sess, t->immediate);
        t->holds_slot = false;
    }
    uint64_t moved = 0;
    bool ok = true;
    if (r->response == SCSI_SR_TASK_COMPLETE) {
        if (t->is_read) {
            uint64_t len = r->data_len;
            if (len > t->edtl)
                len = t->edtl;
            moved = len;
            bool fold = len > 0 && r->status == SCSI_STATUS_GOOD && r->sense_len == 0;
            uint32_t mrdsl = c->peer_mrdsl;
            uint32_t mbl = c->sess->params.v[ISCSI_KEY_MAX_BURST_LENGTH];
            uint32_t off = 0, burst_left = mbl;
            while (ok && off < len) {
                uint32_t seg = (uint32_t)(len - off);
                if (seg > mrdsl)
                    seg = mrdsl;
                if (seg > burst_left)
                    seg = burst_left;
                bool last = off + seg == len;
                burst_left -= seg;
                bool end_of_burst = burst_left == 0 || last;
                ok = send_data_in(c, t, off, seg, end_of_burst, last && fold, moved);
                if (burst_left == 0)
                    burst_left = mbl;
                off += seg;
            }
            if (ok && !fold)
                ok = send_response(c, t, moved);
        } else {
            moved = t->is_write ? r->data_len : 0;
            ok = send_response(c, t, moved);
        }
    } else {
        ok = send_response(c, t, 0);
    }
    if (!ok)
        iscsi_conn_close(c, "out of memory building a response");
    iscsi_task_maybe_free(t);
}

void iscsi_scsi_fail(struct iscsi_task *t, uint16_t asc_ascq)
{
    if (t->state != ISCSI_TASK_DATA_OUT)
        return;
    scsi_backend_result_reset(&t->be);
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_ABORTED_COMMAND, asc_ascq);
    scsi_backend_set_sense(&t->be, &r, false);
    t->unsol_open = t->r2t_open = false;
    iscsi_scsi_complete(t);
}

/* ---- submission -------------------------------------------------------------- */

static uint8_t task_attr(uint8_t iscsi_attr)
{
    switch (iscsi_attr & ISCSI_CMD_ATTR_MASK) {
    case 2: return SCSI_ATTR_ORDERED;
    case 3: return SCSI_ATTR_HEAD_OF_QUEUE;
    case 4: return SCSI_ATTR_ACA;
    default: return SCSI_ATTR_SIMPLE; /* untagged and simple */
    }
}

static void submit(struct iscsi_conn *c, struct iscsi_task *t)
{
    /* The CDB and attribute were saved when the command arrived (c->hdr may
     * hold a Data-Out header by now). */
    struct scsi_backend_task *bt = &t->be;
    bt->nexus = c->sess->nexus;
    bt->target_port = (uint16_t)c->sess->portal;
    bt->lun = scsi_lun_from_sam(t->lun_raw);
    bt->tag = t->itt;
    bt->expected_len = t->edtl;
    bt->dir = t->is_write ? SCSI_DIR_WRITE : t->is_read ? SCSI_DIR_READ : SCSI_DIR_NONE;
    bt->data_out = t->is_write ? t->buf : NULL;
    bt->data_out_len = t->is_write ? t->edtl : 0;
    bt->data_in = t->is_read ? t->buf : NULL;
    bt->data_in_cap = t->is_read ? t->edtl : 0;
    bt->buf = t->lent.owner ? &t->lent : NULL;
    bt->done = iscsi_task_backend_done;
    bt->be_next = NULL;
    scsi_backend_result_reset(bt);
    t->state = ISCSI_TASK_BACKEND;
    ISCSI_STAT_INC(c->target, commands);
    int r = scsi_backend_submit(scsi_lunmap_backend(c->sess->node->luns), bt);
    if (r < 0) {
        /* Not accepted, so done will not come: answer BUSY ourselves. */
        scsi_backend_result_reset(bt);
        bt->result.status = SCSI_STATUS_BUSY;
        iscsi_scsi_complete(t);
    }
    /* From here the task may already be completed (and queued): hands off. */
}

/* ---- R2T ------------------------------------------------------------------- */

static void send_r2t(struct iscsi_conn *c, struct iscsi_task *t)
{
    uint32_t mbl = c->sess->params.v[ISCSI_KEY_MAX_BURST_LENGTH];
    uint32_t want = t->edtl - t->received;
    if (want > mbl)
        want = mbl;
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx) {
        iscsi_conn_close(c, "out of memory");
        return;
    }
    t->burst_end = t->received + want;
    t->next_datasn = 0;
    t->r2t_open = true;
    struct iscsi_r2t *h = (struct iscsi_r2t *)tx->hdr;
    h->opcode = ISCSI_OP_R2T;
    h->flags = ISCSI_FLAG_FINAL;
    memcpy(h->lun, t->lun_raw, 8);
    scsi_put_be32(h->itt, t->itt);
    scsi_put_be32(h->ttt, iscsi_task_ttt(t));
    iscsi_conn_stamp(c, tx->hdr, false);
    scsi_put_be32(h->r2tsn, t->r2tsn++);
    scsi_put_be32(h->offset, t->received);
    scsi_put_be32(h->desired_len, want);
    iscsi_tx_queue(c, tx);
}

/* After a data sequence ends: run the command, or ask for the next burst. */
static void write_progress(struct iscsi_conn *c, struct iscsi_task *t)
{
    if (t->received == t->edtl)
        submit(c, t);
    else
        send_r2t(c, t);
}

/* ---- SCSI Command ------------------------------------------------------------ */

static void refuse(struct iscsi_conn *c, bool immediate, uint32_t itt, uint32_t edtl, uint8_t status,
                   const struct scsi_sense_reason *r)
{
    iscsi_send_scsi_status(c, itt, edtl, status, r);
    iscsi_session_release(c->sess, immediate);
}

int iscsi_scsi_cmd_header(struct iscsi_conn *c)
{
    const struct iscsi_scsi_cmd *h = (const struct iscsi_scsi_cmd *)c->hdr;
    struct iscsi_session *s = c->sess;
    const struct iscsi_params *p = &s->params;
    bool imm = h->opcode & ISCSI_OP_IMMEDIATE;
    bool rd = h->flags & ISCSI_CMD_READ, wr = h->flags & ISCSI_CMD_WRITE, fin = h->flags & ISCSI_FLAG_FINAL;
    uint32_t itt = scsi_get_be32(h->itt), edtl = scsi_get_be32(h->edtl), cmdsn = scsi_get_be32(h->cmdsn);

    if (s->discovery) {
        iscsi_send_reject(c, ISCSI_REJECT_NOT_SUPPORTED, c->hdr);
        return 0;
    }
    /* Framing the target cannot trust: the data that follows is suspect. */
    const char *bad = NULL;
    if (c->dlen && !wr)
        bad = "immediate data on a command that writes nothing";
    else if (c->dlen && !p->v[ISCSI_KEY_IMMEDIATE_DATA])
        bad = "immediate data while ImmediateData=No";
    else if (c->dlen > edtl)
        bad = "immediate data beyond the Expected Data Transfer Length";
    else if (c->dlen > p->v[ISCSI_KEY_FIRST_BURST_LENGTH])
        bad = "immediate data beyond FirstBurstLength";
    else if (wr && !fin && p->v[ISCSI_KEY_INITIAL_R2T])
        bad = "unsolicited Data-Out announced while InitialR2T=Yes";
    if (bad) {
        iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
        iscsi_conn_protocol_error(c, bad);
        return 0;
    }
    if (c->ahs_len) {
        struct iscsi_ahs_info ahs;
        if (iscsi_ahs_parse(c->hdr + ISCSI_BHS_LEN, c->ahs_len, &ahs) < 0) {
            iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
            iscsi_conn_protocol_error(c, "malformed additional header segment");
            return 0;
        }
    }
    if (itt == ISCSI_RESERVED_TAG) {
        iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
        return 0;
    }
    if (iscsi_session_check_cmdsn(s, cmdsn, imm) == ISCSI_CMDSN_DROP) {
        ISCSI_STAT_INC(c->target, commands_dropped);
        return 0; /* silently ignored; its data is discarded */
    }
    if (imm && s->active_immediate > ISCSI_IMMEDIATE_EXTRA) {
        iscsi_session_release(s, true);
        iscsi_send_reject(c, ISCSI_REJECT_TOO_MANY_IMMEDIATE, c->hdr);
        return 0;
    }
    if (iscsi_task_by_itt(c, itt)) {
        iscsi_session_release(s, imm);
        iscsi_send_reject(c, ISCSI_REJECT_TASK_IN_PROGRESS, c->hdr);
        return 0;
    }
    if (edtl && !rd && !wr) {
        iscsi_session_release(s, imm);
        iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
        return 0;
    }
    struct scsi_sense_reason cdb_field = scsi_reason_invalid_cdb_field(0, -1);
    if (c->ahs_len || (rd && wr)) {
        /* Long CDBs and bidirectional commands are not offered by any backend. */
        refuse(c, imm, itt, edtl, SCSI_STATUS_CHECK_CONDITION, &cdb_field);
        return 0;
    }
    if (edtl > c->target->opt.max_io_bytes) {
        struct scsi_sense_reason too_long = scsi_reason_invalid_cdb_field((uint16_t)(h->cdb[0] >= 0x80 ? 10 : 7), -1);
        refuse(c, imm, itt, edtl, SCSI_STATUS_CHECK_CONDITION, &too_long);
        return 0;
    }
    struct iscsi_task *t = iscsi_task_alloc(c, ISCSI_TASK_CMD, itt);
    if (!t) {
        refuse(c, imm, itt, edtl, SCSI_STATUS_TASK_SET_FULL, NULL);
        return 0;
    }
    t->holds_slot = true;
    t->immediate = imm;
    memcpy(t->lun_raw, h->lun, 8); /* the buffer comes from the LUN's backend */
    if (iscsi_task_buffer(t, edtl) < 0) {
        iscsi_task_finish(t); /* gives the slot back */
        iscsi_send_scsi_status(c, itt, edtl, SCSI_STATUS_TASK_SET_FULL, NULL);
        return 0;
    }
    t->cmdsn = cmdsn;
    t->edtl = edtl;
    memcpy(t->be.cdb, h->cdb, 16);
    int cl = scsi_cdb_length(h->cdb[0]);
    t->be.cdb_len = (uint8_t)(cl > 0 && cl <= 16 ? cl : 16);
    t->be.attr = task_attr(h->flags);
    t->is_read = rd;
    t->is_write = wr;
    if (wr) {
        t->unsol_limit = edtl < p->v[ISCSI_KEY_FIRST_BURST_LENGTH] ? edtl : p->v[ISCSI_KEY_FIRST_BURST_LENGTH];
        t->unsol_open = !fin;
        if (c->dlen)
            iscsi_rx_to_task(c, t, 0);
    }
    c->rx_task = t;
    return 0;
}

int iscsi_scsi_cmd_pdu(struct iscsi_conn *c)
{
    struct iscsi_task *t = c->rx_task;
    if (!t)
        return 0;
    if (!t->is_write) {
        submit(c, t);
        return 0;
    }
    t->received = c->dlen;
    t->next_datasn = 0;
    if (t->unsol_open && t->received >= t->unsol_limit)
        t->unsol_open = false;
    if (!t->unsol_open)
        write_progress(c, t);
    return 0;
}

/* ---- Data-Out ---------------------------------------------------------------- */

/* A Data-Out that breaks its sequence: ErrorRecoveryLevel 0 cannot ask for
 * the data again, so the PDU is rejected and its command ends with CHECK
 * CONDITION (DATA PHASE ERROR); the connection and other commands carry on.
 * Data still in flight for the command is discarded when it arrives. */
static int data_out_error(struct iscsi_conn *c, struct iscsi_task *t, const char *what)
{
    iscsi_log(c->target, ISCSI_TLOG_WARN, "connection %llu (%s): %s (task 0x%08x)", (unsigned long long)c->id,
              c->peer, what, t->itt);
    iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
    iscsi_scsi_fail(t, SCSI_ASC_DATA_PHASE_ERROR);
    c->rx_task = NULL;
    return 0;
}

int iscsi_data_out_header(struct iscsi_conn *c)
{
    const struct iscsi_data_out *h = (const struct iscsi_data_out *)c->hdr;
    uint32_t itt = scsi_get_be32(h->itt), ttt = scsi_get_be32(h->ttt);
    uint32_t datasn = scsi_get_be32(h->datasn), offset = scsi_get_be32(h->offset);
    struct iscsi_task *t;
    uint32_t limit;

    if (c->sess->discovery) {
        iscsi_send_reject(c, ISCSI_REJECT_NOT_SUPPORTED, c->hdr);
        return 0;
    }
    if (ttt == ISCSI_RESERVED_TAG) {
        t = iscsi_task_by_itt(c, itt);
        if (!t || t->kind != ISCSI_TASK_CMD || t->state != ISCSI_TASK_DATA_OUT) {
            /* Unsolicited data of a command that was dropped, refused or has
             * ended already: discard it quietly. */
            return 0;
        }
        if (!t->unsol_open)
            return data_out_error(c, t, "unsolicited Data-Out outside the first burst");
        limit = t->unsol_limit;
    } else {
        t = iscsi_task_by_ttt(c, ttt);
        if (!t || t->kind != ISCSI_TASK_CMD || t->itt != itt) {
            /* A tag this connection never gave out (or long retired). */
            iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
            return 0;
        }
        if (t->state != ISCSI_TASK_DATA_OUT)
            return 0; /* the command has ended: the rest of its data is moot */
        if (!t->r2t_open)
            return data_out_error(c, t, "Data-Out for a transfer tag with no open R2T");
        limit = t->burst_end;
    }
    if (datasn != t->next_datasn)
        return data_out_error(c, t, "Data-Out DataSN out of sequence");
    if (offset != t->received)
        return data_out_error(c, t, "Data-Out Buffer Offset out of order");
    if (c->dlen > limit - offset)
        return data_out_error(c, t, "Data-Out beyond the burst");
    if (c->dlen)
        iscsi_rx_to_task(c, t, offset);
    c->rx_task = t;
    return 0;
}

int iscsi_data_out_pdu(struct iscsi_conn *c)
{
    const struct iscsi_data_out *h = (const struct iscsi_data_out *)c->hdr;
    struct iscsi_task *t = c->rx_task;
    if (!t)
        return 0;
    bool fin = h->flags & ISCSI_FLAG_FINAL;
    t->received += c->dlen;
    t->next_datasn++;
    if (scsi_get_be32(h->ttt) == ISCSI_RESERVED_TAG) {
        if (fin || t->received >= t->unsol_limit) {
            t->unsol_open = false;
            t->next_datasn = 0;
            write_progress(c, t);
        }
        return 0;
    }
    if (fin && t->received != t->burst_end)
        return data_out_error(c, t, "Data-Out F bit before the end of the burst");
    if (t->received == t->burst_end) {
        t->r2t_open = false;
        write_progress(c, t);
    }
    return 0;
}
