/* host/iscsi_ffp.c — the full feature phase: which handler a PDU goes to,
 * NOP-Out / NOP-In in both directions, Logout, and Reject.
 *
 * Unknown and unsupported opcodes are rejected and the connection carries
 * on (the data segment length was valid, so framing is intact); a Login
 * Request in the full feature phase, or a PDU only a target may send, is a
 * protocol error that ends the connection. */
#include "host/iscsi_int.h"

#include <string.h>

void iscsi_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t *bad_bhs)
{
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx) {
        iscsi_conn_close(c, "out of memory");
        return;
    }
    ISCSI_STAT_INC(c->target, rejects);
    char name[32];
    iscsi_log(c->target, ISCSI_TLOG_INFO, "connection %llu: reject %s (reason 0x%02x)", (unsigned long long)c->id,
              iscsi_opcode_name(bad_bhs[0], name, sizeof(name)), reason);
    struct iscsi_reject *h = (struct iscsi_reject *)tx->hdr;
    h->opcode = ISCSI_OP_REJECT;
    h->flags = ISCSI_FLAG_FINAL;
    h->reason = reason;
    scsi_put_be32(h->itt, ISCSI_RESERVED_TAG);
    iscsi_conn_stamp(c, tx->hdr, true);
    /* The data segment is the header of the rejected PDU. */
    if (iscsi_tx_queue_copy(c, tx, bad_bhs, ISCSI_BHS_LEN) < 0)
        iscsi_conn_close(c, "out of memory");
}

void iscsi_send_nop_ping(struct iscsi_conn *c)
{
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx)
        return;
    uint32_t ttt = c->next_ping_ttt++;
    if (ttt == ISCSI_RESERVED_TAG)
        ttt = c->next_ping_ttt++;
    struct iscsi_nop *h = (struct iscsi_nop *)tx->hdr;
    h->opcode = ISCSI_OP_NOP_IN;
    h->flags = ISCSI_FLAG_FINAL;
    scsi_put_be32(h->itt, ISCSI_RESERVED_TAG);
    scsi_put_be32(h->ttt, ttt);
    /* A ping does not consume a StatSN. */
    iscsi_conn_stamp(c, tx->hdr, false);
    c->ping_out = true;
    c->ping_ttt = ttt;
    c->ping_sent_ms = iscsi_now_ms(c->target);
    ISCSI_STAT_INC(c->target, nop_pings);
    iscsi_tx_queue(c, tx);
}

static int nop_out(struct iscsi_conn *c)
{
    const struct iscsi_nop *h = (const struct iscsi_nop *)c->hdr;
    bool imm = h->opcode & ISCSI_OP_IMMEDIATE;
    uint32_t itt = scsi_get_be32(h->itt), ttt = scsi_get_be32(h->ttt);
    if (itt == ISCSI_RESERVED_TAG) {
        /* No answer wanted: the reply to our ping, or a bare ExpStatSN update.
         * It must be immediate; if a careless initiator spent a CmdSN on it
         * anyway, account for it so the window does not stall on a gap. */
        if (!imm && iscsi_session_check_cmdsn(c->sess, scsi_get_be32(h->sn24), false) == ISCSI_CMDSN_ACCEPT)
            iscsi_session_release(c->sess, false);
        if (ttt != ISCSI_RESERVED_TAG && c->ping_out && ttt == c->ping_ttt)
            c->ping_out = false;
        return 0;
    }
    if (ttt != ISCSI_RESERVED_TAG) {
        iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
        return 0;
    }
    if (iscsi_session_check_cmdsn(c->sess, scsi_get_be32(h->sn24), imm) == ISCSI_CMDSN_DROP) {
        ISCSI_STAT_INC(c->target, commands_dropped);
        return 0;
    }
    iscsi_session_release(c->sess, imm);
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx)
        return -1;
    struct iscsi_nop *r = (struct iscsi_nop *)tx->hdr;
    r->opcode = ISCSI_OP_NOP_IN;
    r->flags = ISCSI_FLAG_FINAL;
    memcpy(r->lun, h->lun, 8);
    memcpy(r->itt, h->itt, 4);
    scsi_put_be32(r->ttt, ISCSI_RESERVED_TAG);
    iscsi_conn_stamp(c, tx->hdr, true);
    /* Echo the ping data, up to what the initiator can receive. */
    uint32_t n = c->dlen < c->peer_mrdsl ? c->dlen : c->peer_mrdsl;
    return iscsi_tx_queue_copy(c, tx, c->ctl, n);
}

static int logout(struct iscsi_conn *c)
{
    const struct iscsi_logout_req *h = (const struct iscsi_logout_req *)c->hdr;
    bool imm = h->opcode & ISCSI_OP_IMMEDIATE;
    uint8_t reason = h->reason & ISCSI_LOGOUT_REASON_MASK;
    if (iscsi_session_check_cmdsn(c->sess, scsi_get_be32(h->cmdsn), imm) == ISCSI_CMDSN_DROP) {
        ISCSI_STAT_INC(c->target, commands_dropped);
        return 0;
    }
    iscsi_session_release(c->sess, imm);
    uint8_t response;
    switch (reason) {
    case ISCSI_LOGOUT_CLOSE_SESSION:
        response = ISCSI_LOGOUT_RSP_OK;
        break;
    case ISCSI_LOGOUT_CLOSE_CONNECTION:
        response = scsi_get_be16(h->cid) == c->cid ? ISCSI_LOGOUT_RSP_OK : ISCSI_LOGOUT_RSP_NO_CID;
        break;
    case ISCSI_LOGOUT_REMOVE_FOR_RECOVERY:
        response = ISCSI_LOGOUT_RSP_NO_RECOVERY; /* ErrorRecoveryLevel 0 */
        break;
    default:
        iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
        return 0;
    }
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx)
        return -1;
    struct iscsi_logout_rsp *r = (struct iscsi_logout_rsp *)tx->hdr;
    r->opcode = ISCSI_OP_LOGOUT_RSP;
    r->flags = ISCSI_FLAG_FINAL;
    r->response = response;
    memcpy(r->itt, h->itt, 4);
    iscsi_conn_stamp(c, tx->hdr, true);
    /* Time2Wait/Time2Retain 0: nothing of the session survives (ERL 0). */
    iscsi_tx_queue(c, tx);
    if (response == ISCSI_LOGOUT_RSP_OK) {
        c->state = ISCSI_CONN_LOGGING_OUT;
        iscsi_conn_close_after_send(c);
    }
    return 0;
}

/* ABORTED COMMAND / PROTOCOL SERVICE CRC ERROR: what a command whose data
 * failed its digest ends with at ErrorRecoveryLevel 0. */
void iscsi_ffp_data_digest_error(struct iscsi_conn *c)
{
    iscsi_send_reject(c, ISCSI_REJECT_DATA_DIGEST, c->hdr);
    struct iscsi_task *t = c->rx_task;
    if (t && t->kind == ISCSI_TASK_CMD && t->state == ISCSI_TASK_DATA_OUT)
        iscsi_scsi_fail(t, SCSI_ASC_PROTOCOL_SERVICE_CRC_ERROR);
}

int iscsi_ffp_header(struct iscsi_conn *c)
{
    switch (iscsi_bhs_opcode(c->hdr)) {
    case ISCSI_OP_SCSI_CMD:
        return iscsi_scsi_cmd_header(c);
    case ISCSI_OP_DATA_OUT:
        return iscsi_data_out_header(c);
    case ISCSI_OP_NOP_OUT:
    case ISCSI_OP_TEXT_REQ:
        return iscsi_rx_to_ctl(c);
    default:
        return 0; /* no data expected: whatever comes is discarded */
    }
}

int iscsi_ffp_pdu(struct iscsi_conn *c)
{
    uint8_t op = iscsi_bhs_opcode(c->hdr);
    switch (op) {
    case ISCSI_OP_SCSI_CMD:
        return iscsi_scsi_cmd_pdu(c);
    case ISCSI_OP_DATA_OUT:
        return iscsi_data_out_pdu(c);
    case ISCSI_OP_NOP_OUT:
        return nop_out(c);
    case ISCSI_OP_TMF_REQ:
        return iscsi_tmf_pdu(c);
    case ISCSI_OP_TEXT_REQ:
        return iscsi_text_pdu(c);
    case ISCSI_OP_LOGOUT_REQ:
        return logout(c);
    case ISCSI_OP_SNACK:
        iscsi_send_reject(c, ISCSI_REJECT_SNACK, c->hdr); /* ErrorRecoveryLevel 0 */
        return 0;
    case ISCSI_OP_LOGIN_REQ:
        iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
        iscsi_conn_protocol_error(c, "Login Request in the full feature phase");
        return 0;
    default:
        if (op >= 0x20) {
            iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
            iscsi_conn_protocol_error(c, "initiator sent a target opcode");
            return 0;
        }
        iscsi_send_reject(c, ISCSI_REJECT_NOT_SUPPORTED, c->hdr);
        return 0;
    }
}
