/* host/iscsi_text.c — Text Requests in the full feature phase: SendTargets
 * (the discovery service) and the few keys negotiable after login.
 *
 * Requests may span PDUs (C bit): the target answers each partial request
 * with an empty response carrying a Target Transfer Tag, and accumulates the
 * text up to a bound.  Answers longer than the initiator's
 * MaxRecvDataSegmentLength go out in pieces (C bit), each fetched by an
 * empty request echoing the tag. */
#include "host/iscsi_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reset_text(struct iscsi_conn *c)
{
    tbuf_free(&c->text_in);
    free(c->text_out);
    c->text_out = NULL;
    c->text_out_len = c->text_out_sent = 0;
    c->text_ttt = ISCSI_RESERVED_TAG;
}

static uint32_t new_ttt(struct iscsi_conn *c)
{
    /* Text tags are only ever compared with text tags, so sharing the
     * ping counter is harmless. */
    uint32_t t = c->next_ping_ttt++;
    if (t == ISCSI_RESERVED_TAG)
        t = c->next_ping_ttt++;
    return t;
}

static void send_text_rsp(struct iscsi_conn *c, const struct iscsi_text *req, uint8_t flags, uint32_t ttt,
                          const uint8_t *data, uint32_t len)
{
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx) {
        iscsi_conn_close(c, "out of memory");
        return;
    }
    struct iscsi_text *h = (struct iscsi_text *)tx->hdr;
    h->opcode = ISCSI_OP_TEXT_RSP;
    h->flags = flags;
    memcpy(h->lun, req->lun, 8);
    memcpy(h->itt, req->itt, 4);
    scsi_put_be32(h->ttt, ttt);
    iscsi_conn_stamp(c, tx->hdr, true);
    if (iscsi_tx_queue_copy(c, tx, data, len) < 0)
        iscsi_conn_close(c, "out of memory");
}

/* Sends the next piece of a pending answer. */
static void send_answer_piece(struct iscsi_conn *c, const struct iscsi_text *req)
{
    uint32_t left = c->text_out_len - c->text_out_sent;
    uint32_t n = left < c->peer_mrdsl ? left : c->peer_mrdsl;
    const uint8_t *p = c->text_out + c->text_out_sent;
    c->text_out_sent += n;
    if (c->text_out_sent < c->text_out_len) {
        send_text_rsp(c, req, ISCSI_TEXT_CONTINUE, c->text_ttt, p, n);
        return;
    }
    send_text_rsp(c, req, ISCSI_FLAG_FINAL, ISCSI_RESERVED_TAG, p, n);
    reset_text(c);
}

/* The TargetAddress of every portal but `own` (multipath: each node is
 * reachable through every portal, one target port group each). */
static void iscsi_text_add_portals(const struct iscsi_target *t, unsigned own, struct iscsi_text_out *out)
{
    char addr[128];
    for (unsigned p = 0; p <= t->n_more; p++) {
        if (p == own)
            continue;
        const char *host = p ? t->more[p - 1].host : t->host;
        int port = p ? t->more[p - 1].port : t->port;
        bool v6 = strchr(host, ':') != NULL;
        snprintf(addr, sizeof(addr), "%s%s%s:%d,%u", v6 ? "[" : "", host, v6 ? "]" : "", port,
                 iscsi_portal_tpgt(t, p));
        iscsi_text_add(out, "TargetAddress", addr);
    }
}

/* TargetName/TargetAddress pairs of the nodes initiator may see: all of
 * them ("All"), the session's own (""), or the one named. */
static void send_targets(struct iscsi_conn *c, const char *which, const char *initiator, struct iscsi_text_out *out)
{
    struct iscsi_target *t = c->target;
    char addr[128];
    if (c->local_v6)
        snprintf(addr, sizeof(addr), "[%s]:%d,%u", c->local_host, c->local_port, iscsi_portal_tpgt(t, c->portal));
    else
        snprintf(addr, sizeof(addr), "%s:%d,%u", c->local_host, c->local_port, iscsi_portal_tpgt(t, c->portal));
    for (struct iscsi_node *n = t->nodes; n; n = n->next) {
        bool wanted = strcmp(which, "All") == 0 ? true
                    : which[0] == '\0'          ? (c->sess && c->sess->node == n)
                                                : iscsi_name_eq(which, n->name);
        if (!wanted || !iscsi_node_admits(n, initiator))
            continue;
        iscsi_text_add(out, "TargetName", n->name);
        iscsi_text_add(out, "TargetAddress", addr);
        iscsi_text_add_portals(t, c->portal, out);   /* the other paths to it */
    }
}

static int answer(struct iscsi_conn *c, const struct iscsi_text *req)
{
    struct iscsi_session *s = c->sess;
    struct iscsi_kv kv[ISCSI_TEXT_PAIRS_MAX];
    int n = iscsi_text_parse((const uint8_t *)c->text_in.s, c->text_in.len, kv, ISCSI_TEXT_PAIRS_MAX);
    if (n < 0) {
        reset_text(c);
        iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
        return 0;
    }
    struct iscsi_text_out out;
    iscsi_text_out_init(&out, ISCSI_TEXT_MAX);
    for (int i = 0; i < n; i++) {
        if (!iscsi_kv_is(&kv[i], "SendTargets"))
            continue;
        /* "All" is for discovery sessions; a normal session sees itself. */
        const char *which = kv[i].value;
        if (!s->discovery && strcmp(which, "All") == 0)
            which = "";
        send_targets(c, which, s->initiator, &out);
    }
    struct iscsi_negotiator neg = {
        .result = &s->params,
        .pref = &c->target->pref,
        .phase = ISCSI_NEG_FULL_FEATURE,
        .discovery = s->discovery,
    };
    int r = iscsi_negotiate(&neg, kv, (size_t)n, &out);
    c->peer_mrdsl = s->params.v[ISCSI_KEY_MAX_RECV_DSL];
    if (r < 0 || out.overflow) {
        iscsi_text_out_free(&out);
        reset_text(c);
        iscsi_send_reject(c, r < 0 ? ISCSI_REJECT_PROTOCOL_ERROR : ISCSI_REJECT_OUT_OF_RESOURCES, c->hdr);
        return 0;
    }
    tbuf_free(&c->text_in);
    c->text_out = (uint8_t *)out.text.s; /* ownership moves to the connection */
    c->text_out_len = (uint32_t)out.text.len;
    c->text_out_sent = 0;
    c->text_ttt = new_ttt(c);
    c->text_itt = scsi_get_be32(req->itt);
    send_answer_piece(c, req);
    return 0;
}

int iscsi_text_pdu(struct iscsi_conn *c)
{
    const struct iscsi_text *h = (const struct iscsi_text *)c->hdr;
    struct iscsi_session *s = c->sess;
    bool imm = h->opcode & ISCSI_OP_IMMEDIATE;
    uint32_t ttt = scsi_get_be32(h->ttt), itt = scsi_get_be32(h->itt);

    if (iscsi_session_check_cmdsn(s, scsi_get_be32(h->sn24), imm) == ISCSI_CMDSN_DROP) {
        ISCSI_STAT_INC(c->target, commands_dropped);
        return 0;
    }
    /* Text holds no resources past this PDU: its window slot frees now. */
    iscsi_session_release(s, imm);
    if (itt == ISCSI_RESERVED_TAG) {
        iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
        return 0;
    }
    if (ttt != ISCSI_RESERVED_TAG) {
        if (ttt != c->text_ttt || itt != c->text_itt) {
            reset_text(c);
            iscsi_send_reject(c, ISCSI_REJECT_INVALID_FIELD, c->hdr);
            return 0;
        }
        if (c->text_out) {
            send_answer_piece(c, h);
            return 0;
        }
    } else if (c->text_out || c->text_in.len) {
        reset_text(c); /* a new exchange abandons the old one */
    }
    if (c->text_in.len + c->dlen > ISCSI_TEXT_MAX) {
        reset_text(c);
        iscsi_send_reject(c, ISCSI_REJECT_OUT_OF_RESOURCES, c->hdr);
        return 0;
    }
    tbuf_put(&c->text_in, (const char *)c->ctl, c->dlen);
    if (c->text_in.oom) {
        reset_text(c);
        iscsi_send_reject(c, ISCSI_REJECT_OUT_OF_RESOURCES, c->hdr);
        return 0;
    }
    if (h->flags & ISCSI_TEXT_CONTINUE) {
        if (h->flags & ISCSI_FLAG_FINAL) {
            reset_text(c);
            iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, c->hdr);
            return 0;
        }
        c->text_ttt = new_ttt(c);
        c->text_itt = itt;
        send_text_rsp(c, h, 0, c->text_ttt, NULL, 0);
        return 0;
    }
    return answer(c, h);
}
