/* capture/cap_export.c — capture_export: a trace's host-layer (H) records as
 * the iSCSI session(s) that would carry them, written as a pcap file through
 * libpcap's writer, or a pcapng file (a name ending in .pcapng) through
 * cap_pcapng.c (cap_wire.c), that Wireshark and tshark decode as iSCSI.
 *
 * Each I_T nexus of the trace — host number H with target number T — is one
 * TCP connection from initiator iqn.2026-01.org.scsisim.export:hH to target
 * iqn.2026-01.org.scsisim.export:tT, opened with a one-step login
 * (operational stage to full feature phase, no digests, ImmediateData=No,
 * InitialR2T=Yes) when the nexus is first used and logged out at the end.
 * The records, in the trace's order:
 *
 *   CMD         SCSI Command (ITT = the task's number + 1, the EDTL = len=, R/W from dir=)
 *   DOUT piece  R2T for the piece (offset=, its length) and Data-Out PDUs
 *   DIN piece   Data-In PDUs at the piece's offset (the last piece also the
 *               zeros a ".." stands for, up to len= less resid=)
 *   STATUS      SCSI Response: the first alternative's status, its sense (sense=
 *               bytes, else fixed-format key/ASC/ASCQ), the residual (resid=,
 *               else what the data PDUs left out); SERVICE_FAILURE is response
 *               01h; UNKNOWN sends nothing
 *   TMF         Task Management Function Request / Response (the first response)
 *
 * Data PDUs carry at most MAX_DSL bytes.  Bytes a pattern leaves open ("??",
 * masked bits) are written as zeros.  Directives and controller-layer (C)
 * records have no wire form and are counted, not written (docs/capture.md,
 * "Exporting").  libpcap 1.10 has no pcapng writer: cap_pcapng.c is ours. */
#include "capture/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_wire.h"
#include "conformance/format/trace.h"
#include "host/iscsi_pdu.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"

#define MAX_DSL    8192u      /* MaxRecvDataSegmentLength both ways */
#define MAX_BURST  262144u    /* MaxBurstLength: the most one R2T asks for */
#define NAME_BASE  "iqn.2026-01.org.scsisim.export"
#define ITT_LOGIN  0x40000000u

struct xconn {
    uint32_t host, target;
    struct cap_wire_conn w;
    uint32_t cmdsn, statsn;
    unsigned idx;
};

struct xtask {
    int      conn;           /* index in conns, -1 before its request */
    uint32_t itt, cmdsn;
    uint32_t datasn, r2tsn;
    uint64_t din_end, dout_end; /* highest data offset + 1 sent */
};

struct xctx {
    const struct trace *t;
    struct cap_wire *w;
    struct xconn *conns;
    size_t n_conns;
    struct xtask *tasks;
    struct capture_export_stats *st;
    int rc;
    uint8_t pdu[ISCSI_BHS_LEN + MAX_DSL + 4];
};

/* ---- patterns as bytes ------------------------------------------------------------------- */

/* Reads a pattern front to back; bytes past its elements are zeros. */
struct cursor {
    const struct trace_pattern *p;
    size_t e;
    uint64_t k;
};

static void fill(struct cursor *c, uint8_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        while (c->e < c->p->n_elems && c->k >= c->p->elems[c->e].n) {
            c->e++;
            c->k = 0;
        }
        if (c->e >= c->p->n_elems) {
            out[i] = 0;
            continue;
        }
        uint8_t v, m;
        trace_pat_elem_byte(&c->p->elems[c->e], c->k++, &v, &m);
        out[i] = v & m;
    }
}

/* ---- PDUs -------------------------------------------------------------------------------- */

static void put_lun(uint8_t *f, uint64_t lun)
{
    memset(f, 0, 8);
    if (lun < 256) {
        f[1] = (uint8_t)lun; /* peripheral device addressing */
    } else {
        f[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f)); /* flat space */
        f[1] = (uint8_t)lun;
    }
}

/* Sends the PDU in x->pdu: its BHS and dlen data bytes after it, padded. */
static void send_pdu(struct xctx *x, struct xconn *k, int dir, uint32_t dlen)
{
    iscsi_bhs_set_dlength(x->pdu, dlen);
    uint32_t pad = iscsi_pad4(dlen);
    memset(x->pdu + ISCSI_BHS_LEN + dlen, 0, pad);
    cap_wire_send(x->w, &k->w, dir, x->pdu, ISCSI_BHS_LEN + dlen + pad);
    x->st->pdus++;
}

static uint8_t *bhs(struct xctx *x)
{
    memset(x->pdu, 0, ISCSI_BHS_LEN);
    return x->pdu;
}

static void target_sns(struct xconn *k, uint8_t *statsn, uint8_t *exp_cmdsn, uint8_t *max_cmdsn)
{
    if (statsn)
        scsi_put_be32(statsn, k->statsn);
    scsi_put_be32(exp_cmdsn, k->cmdsn);
    scsi_put_be32(max_cmdsn, k->cmdsn + 64);
}

static uint32_t text(uint8_t *d, const char *const *keys)
{
    uint32_t n = 0;
    for (size_t i = 0; keys[i]; i++) {
        size_t l = strlen(keys[i]) + 1;
        memcpy(d + n, keys[i], l);
        n += (uint32_t)l;
    }
    return n;
}

static struct xconn *conn_of(struct xctx *x, uint32_t host, uint32_t target)
{
    for (size_t i = 0; i < x->n_conns; i++)
        if (x->conns[i].host == host && x->conns[i].target == target)
            return &x->conns[i];
    struct xconn *p = realloc(x->conns, (x->n_conns + 1) * sizeof *p);
    if (!p) {
        x->rc = -ENOMEM;
        return NULL;
    }
    x->conns = p;
    struct xconn *k = &p[x->n_conns++];
    *k = (struct xconn){ .host = host, .target = target, .cmdsn = 1, .statsn = 1, .idx = (unsigned)x->n_conns };
    uint8_t ini[4] = { 10, 0, (uint8_t)(host >> 8), (uint8_t)(1 + (host & 0xff)) };
    uint8_t tgt[4] = { 10, 1, (uint8_t)(target >> 8), (uint8_t)(1 + (target & 0xff)) };
    memcpy(k->w.addr[0], ini, 4);
    memcpy(k->w.addr[1], tgt, 4);
    k->w.port[0] = (uint16_t)(40000 + k->idx);
    k->w.port[1] = CAPTURE_DEFAULT_PORT;
    cap_wire_connect(x->w, &k->w);
    x->st->connections++;

    /* Login: operational negotiation straight to full feature phase. */
    char ini_name[96], tgt_name[96];
    snprintf(ini_name, sizeof ini_name, "InitiatorName=" NAME_BASE ":h%u", host);
    snprintf(tgt_name, sizeof tgt_name, "TargetName=" NAME_BASE ":t%u", target);
    const char *req_keys[] = { ini_name, tgt_name, "SessionType=Normal", "HeaderDigest=None", "DataDigest=None",
                               "InitialR2T=Yes", "ImmediateData=No", "MaxRecvDataSegmentLength=8192",
                               "MaxBurstLength=262144", "FirstBurstLength=65536", NULL };
    struct iscsi_login_req *lq = (struct iscsi_login_req *)bhs(x);
    lq->opcode = ISCSI_OP_IMMEDIATE | ISCSI_OP_LOGIN_REQ;
    lq->flags = ISCSI_LOGIN_TRANSIT | ISCSI_STAGE_OPERATIONAL << 2 | ISCSI_STAGE_FULL;
    uint8_t isid[6] = { 0x80, 0x53, 0x53, 0x49, (uint8_t)(k->idx >> 8), (uint8_t)k->idx };
    memcpy(lq->isid, isid, 6);
    scsi_put_be32(lq->itt, ITT_LOGIN + k->idx);
    scsi_put_be32(lq->cmdsn, k->cmdsn);
    scsi_put_be32(lq->exp_statsn, k->statsn);
    send_pdu(x, k, 0, text(x->pdu + ISCSI_BHS_LEN, req_keys));
    const char *rsp_keys[] = { "HeaderDigest=None", "DataDigest=None", "InitialR2T=Yes", "ImmediateData=No",
                               "MaxRecvDataSegmentLength=8192", "MaxBurstLength=262144", "FirstBurstLength=65536",
                               NULL };
    struct iscsi_login_rsp *lr = (struct iscsi_login_rsp *)bhs(x);
    lr->opcode = ISCSI_OP_LOGIN_RSP;
    lr->flags = ISCSI_LOGIN_TRANSIT | ISCSI_STAGE_OPERATIONAL << 2 | ISCSI_STAGE_FULL;
    memcpy(lr->isid, isid, 6);
    scsi_put_be16(lr->tsih, (uint16_t)k->idx);
    scsi_put_be32(lr->itt, ITT_LOGIN + k->idx);
    target_sns(k, lr->statsn, lr->exp_cmdsn, lr->max_cmdsn);
    k->statsn++;
    send_pdu(x, k, 1, text(x->pdu + ISCSI_BHS_LEN, rsp_keys));
    return k;
}

static void logout(struct xctx *x, struct xconn *k)
{
    struct iscsi_logout_req *q = (struct iscsi_logout_req *)bhs(x);
    q->opcode = ISCSI_OP_IMMEDIATE | ISCSI_OP_LOGOUT_REQ;
    q->reason = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
    scsi_put_be32(q->itt, ITT_LOGIN + 0x1000 + k->idx);
    scsi_put_be32(q->cmdsn, k->cmdsn);
    scsi_put_be32(q->exp_statsn, k->statsn);
    send_pdu(x, k, 0, 0);
    struct iscsi_logout_rsp *r = (struct iscsi_logout_rsp *)bhs(x);
    r->opcode = ISCSI_OP_LOGOUT_RSP;
    r->flags = ISCSI_FLAG_FINAL;
    scsi_put_be32(r->itt, ITT_LOGIN + 0x1000 + k->idx);
    target_sns(k, r->statsn, r->exp_cmdsn, r->max_cmdsn);
    k->statsn++;
    send_pdu(x, k, 1, 0);
    cap_wire_disconnect(x->w, &k->w);
}

static const struct trace_record *request_of(const struct xctx *x, const struct trace_record *r)
{
    return r->task == TRACE_NONE ? NULL : &x->t->lines[x->t->tasks[r->task].request].record;
}

static void command(struct xctx *x, struct xconn *k, struct xtask *tk, const struct trace_record *r)
{
    struct iscsi_scsi_cmd *c = (struct iscsi_scsi_cmd *)bhs(x);
    c->opcode = ISCSI_OP_SCSI_CMD;
    uint32_t len = r->cmd.len_given ? r->cmd.len : 0;
    c->flags = ISCSI_FLAG_FINAL | 0x01 /* SIMPLE */;
    if (len && r->cmd.dir == TRACE_DATA_IN)
        c->flags |= ISCSI_CMD_READ;
    if (len && r->cmd.dir == TRACE_DATA_OUT)
        c->flags |= ISCSI_CMD_WRITE;
    put_lun(c->lun, trace_record_nexus(x->t, r).lun);
    scsi_put_be32(c->itt, tk->itt);
    scsi_put_be32(c->edtl, len);
    tk->cmdsn = k->cmdsn++;
    scsi_put_be32(c->cmdsn, tk->cmdsn);
    scsi_put_be32(c->exp_statsn, k->statsn);
    struct cursor cur = { .p = &r->cmd.cdb };
    fill(&cur, c->cdb, r->cmd.cdb.length < 16 ? (uint32_t)r->cmd.cdb.length : 16u);
    send_pdu(x, k, 0, 0);
    x->st->commands++;
}

/* One DOUT piece: R2Ts for it (at most MAX_BURST each) and the Data-Out PDUs. */
static void data_out(struct xctx *x, struct xconn *k, struct xtask *tk, const struct trace_record *r)
{
    const struct trace_record *cmd = request_of(x, r);
    uint64_t lun = cmd ? trace_record_nexus(x->t, cmd).lun : 0;
    struct cursor cur = { .p = &r->data };
    uint64_t off = r->offset, end = r->offset + r->data.length;
    while (off < end) {
        uint32_t burst = end - off > MAX_BURST ? MAX_BURST : (uint32_t)(end - off);
        struct iscsi_r2t *t = (struct iscsi_r2t *)bhs(x);
        t->opcode = ISCSI_OP_R2T;
        t->flags = ISCSI_FLAG_FINAL;
        put_lun(t->lun, lun);
        scsi_put_be32(t->itt, tk->itt);
        scsi_put_be32(t->ttt, 0x80000000u | tk->itt);
        target_sns(k, t->statsn, t->exp_cmdsn, t->max_cmdsn);
        scsi_put_be32(t->r2tsn, tk->r2tsn++);
        scsi_put_be32(t->offset, (uint32_t)off);
        scsi_put_be32(t->desired_len, burst);
        send_pdu(x, k, 1, 0);
        uint32_t datasn = 0;
        for (uint32_t done = 0; done < burst;) {
            uint32_t n = burst - done > MAX_DSL ? MAX_DSL : burst - done;
            struct iscsi_data_out *d = (struct iscsi_data_out *)bhs(x);
            d->opcode = ISCSI_OP_DATA_OUT;
            d->flags = done + n == burst ? ISCSI_FLAG_FINAL : 0;
            put_lun(d->lun, lun);
            scsi_put_be32(d->itt, tk->itt);
            scsi_put_be32(d->ttt, 0x80000000u | tk->itt);
            scsi_put_be32(d->exp_statsn, k->statsn);
            scsi_put_be32(d->datasn, datasn++);
            scsi_put_be32(d->offset, (uint32_t)(off + done));
            fill(&cur, x->pdu + ISCSI_BHS_LEN, n);
            send_pdu(x, k, 0, n);
            done += n;
        }
        off += burst;
    }
    if (end > tk->dout_end)
        tk->dout_end = end;
}

/* One DIN piece; the last one also sends the zeros of a ".." up to the
 * length the STATUS says moved. */
static void data_in(struct xctx *x, struct xconn *k, struct xtask *tk, const struct trace_record *r)
{
    const struct trace_record *cmd = request_of(x, r);
    uint64_t off = r->offset, end = r->offset + r->data.length;
    if (r->next_piece == TRACE_NONE && cmd && r->task != TRACE_NONE) {
        uint32_t len = cmd->cmd.len_given ? cmd->cmd.len : 0;
        size_t resp = x->t->tasks[r->task].response;
        const struct trace_record *st = resp != TRACE_NONE ? &x->t->lines[resp].record : NULL;
        uint64_t moved = end;
        if (st && st->status.resid_given && st->status.resid <= len)
            moved = len - st->status.resid;
        else if (r->data.rest)
            moved = len;
        if (moved > end)
            end = moved;
    }
    struct cursor cur = { .p = &r->data };
    while (off < end) {
        uint32_t n = end - off > MAX_DSL ? MAX_DSL : (uint32_t)(end - off);
        struct iscsi_data_in *d = (struct iscsi_data_in *)bhs(x);
        d->opcode = ISCSI_OP_DATA_IN;
        d->flags = off + n == end ? ISCSI_FLAG_FINAL : 0;
        scsi_put_be32(d->itt, tk->itt);
        scsi_put_be32(d->ttt, ISCSI_RESERVED_TAG);
        target_sns(k, NULL, d->exp_cmdsn, d->max_cmdsn);
        scsi_put_be32(d->datasn, tk->datasn++);
        scsi_put_be32(d->offset, (uint32_t)off);
        fill(&cur, x->pdu + ISCSI_BHS_LEN, n);
        send_pdu(x, k, 1, n);
        off += n;
    }
    if (end > tk->din_end)
        tk->din_end = end;
}

static void status(struct xctx *x, struct xconn *k, struct xtask *tk, const struct trace_record *r)
{
    const struct trace_status_alt *a = &r->status.alts[0];
    if (r->status.n_alts == 0 || a->status == TRACE_STATUS_UNKNOWN) {
        x->st->unanswered++;
        return; /* no response observed: none is sent */
    }
    const struct trace_record *cmd = request_of(x, r);
    uint32_t len = cmd && cmd->cmd.len_given ? cmd->cmd.len : 0;
    enum trace_data_dir dir = cmd ? cmd->cmd.dir : TRACE_DATA_NONE;
    uint64_t sent = dir == TRACE_DATA_IN ? tk->din_end : dir == TRACE_DATA_OUT ? tk->dout_end : 0;
    uint64_t resid = r->status.resid_given ? r->status.resid : len > sent ? len - sent : 0;
    struct iscsi_scsi_rsp *s = (struct iscsi_scsi_rsp *)bhs(x);
    s->opcode = ISCSI_OP_SCSI_RSP;
    s->flags = ISCSI_FLAG_FINAL;
    if (len && resid)
        s->flags |= ISCSI_RSP_UNDERFLOW;
    else if (sent > len)
        s->flags |= ISCSI_RSP_OVERFLOW;
    uint8_t *d = x->pdu + ISCSI_BHS_LEN;
    uint32_t dlen = 0;
    if (a->status == TRACE_STATUS_SERVICE_FAILURE) {
        s->response = ISCSI_RESPONSE_TARGET_FAILURE;
    } else {
        s->status = (uint8_t)a->status;
        /* Sense: built from key/ASC/ASCQ (in the format sense= names), then
         * the bytes sense= pins down laid over it, so both agree; a sense=
         * without "..": exactly its bytes. */
        const struct trace_pattern *sp = r->status.sense_pattern_given ? &r->status.sense_pattern : NULL;
        uint8_t v0 = 0, m0 = 0;
        if (sp && sp->length)
            trace_pattern_at(sp, 0, &v0, &m0);
        uint32_t n = 0;
        if (a->status == SCSI_STATUS_CHECK_CONDITION && (a->sense_given || sp)) {
            struct scsi_sense_reason why = scsi_reason(a->sense.key, SCSI_ASCQ(a->sense.asc_any ? 0 : a->sense.asc,
                                                                               a->sense.ascq_any ? 0 : a->sense.ascq));
            n = (uint32_t)scsi_sense_build(d + 2, 252, (v0 & 0x7e) == 0x72, &why);
        }
        if (sp && sp->length) {
            uint32_t pl = sp->length > 252 ? 252u : (uint32_t)sp->length;
            if (pl > n)
                memset(d + 2 + n, 0, pl - n);
            for (uint32_t k2 = 0; k2 < pl; k2++) {
                uint8_t v, m;
                trace_pattern_at(sp, k2, &v, &m);
                d[2 + k2] = (uint8_t)((d[2 + k2] & ~m) | (v & m));
            }
            n = sp->rest && n > pl ? n : pl;
        }
        if (n) {
            scsi_put_be16(d, (uint16_t)n);
            dlen = n + 2;
        }
    }
    scsi_put_be32(s->itt, tk->itt);
    target_sns(k, s->statsn, s->exp_cmdsn, s->max_cmdsn);
    k->statsn++;
    scsi_put_be32(s->exp_datasn, tk->datasn);
    scsi_put_be32(s->residual, (s->flags & (ISCSI_RSP_UNDERFLOW | ISCSI_RSP_OVERFLOW))
                                   ? (uint32_t)(sent > len ? sent - len : resid) : 0);
    send_pdu(x, k, 1, dlen);
}

static void tmf(struct xctx *x, struct xconn *k, struct xtask *tk, const struct trace_record *r, size_t li)
{
    /* RFC 7143 11.5.1 function codes; QUERY TASK as 9, as the importer reads it. */
    static const uint8_t fn[TRACE_TMF_FN_COUNT] = {
        [TRACE_TMF_ABORT_TASK] = 1, [TRACE_TMF_ABORT_TASK_SET] = 2, [TRACE_TMF_CLEAR_ACA] = 3,
        [TRACE_TMF_CLEAR_TASK_SET] = 4, [TRACE_TMF_LUN_RESET] = 5, [TRACE_TMF_TARGET_RESET] = 6,
        [TRACE_TMF_QUERY_TASK] = 9,
    };
    /* RFC 7143 11.6.1 responses.  It has no "function succeeded" (QUERY TASK
     * found the task): that is written as function complete, and a service
     * failure as "not supported" (docs/capture.md, "Exporting"). */
    static const uint8_t resp[TRACE_TMF_RESP_COUNT] = {
        [TRACE_TMF_FUNCTION_COMPLETE] = ISCSI_TMF_RSP_COMPLETE,
        [TRACE_TMF_FUNCTION_SUCCEEDED] = ISCSI_TMF_RSP_COMPLETE,
        [TRACE_TMF_FUNCTION_REJECTED] = ISCSI_TMF_RSP_REJECTED, [TRACE_TMF_INCORRECT_LUN] = ISCSI_TMF_RSP_NO_LUN,
        [TRACE_TMF_SERVICE_FAILURE] = ISCSI_TMF_RSP_NOT_SUPPORTED,
    };
    if (r->dir == TRACE_DIR_TO_TARGET) {
        struct iscsi_tmf_req *q = (struct iscsi_tmf_req *)bhs(x);
        q->opcode = ISCSI_OP_IMMEDIATE | ISCSI_OP_TMF_REQ;
        q->function = (uint8_t)(ISCSI_FLAG_FINAL | fn[r->tmf.fn]);
        put_lun(q->lun, trace_record_nexus(x->t, r).lun);
        scsi_put_be32(q->itt, tk->itt);
        uint32_t rtt = ISCSI_RESERVED_TAG, refsn = 0;
        if (r->tmf.fn == TRACE_TMF_ABORT_TASK || r->tmf.fn == TRACE_TMF_QUERY_TASK) {
            /* The task it names: the last request with that tag before it. */
            for (size_t i = 0; i < x->t->n_tasks; i++) {
                const struct trace_record *q2 = &x->t->lines[x->t->tasks[i].request].record;
                if (x->t->tasks[i].request < li && q2->layer == r->layer &&
                    !strcmp(q2->tag, r->tmf.ref_tag) && x->tasks[i].conn >= 0) {
                    rtt = x->tasks[i].itt;
                    refsn = x->tasks[i].cmdsn;
                }
            }
        }
        scsi_put_be32(q->rtt, rtt);
        scsi_put_be32(q->cmdsn, k->cmdsn);
        scsi_put_be32(q->exp_statsn, k->statsn);
        scsi_put_be32(q->ref_cmdsn, refsn);
        send_pdu(x, k, 0, 0);
        x->st->tmfs++;
        return;
    }
    struct iscsi_tmf_rsp *s = (struct iscsi_tmf_rsp *)bhs(x);
    s->opcode = ISCSI_OP_TMF_RSP;
    s->flags = ISCSI_FLAG_FINAL;
    s->response = r->tmf.n_resps ? resp[r->tmf.resps[0]] : ISCSI_TMF_RSP_COMPLETE;
    scsi_put_be32(s->itt, tk->itt);
    target_sns(k, s->statsn, s->exp_cmdsn, s->max_cmdsn);
    k->statsn++;
    send_pdu(x, k, 1, 0);
}

static void record(struct xctx *x, size_t li)
{
    const struct trace_record *r = &x->t->lines[li].record;
    if (r->dir == TRACE_DIR_DIRECTIVE) {
        x->st->directives++;
        return;
    }
    if (r->layer != TRACE_LAYER_HOST || r->task == TRACE_NONE) {
        x->st->other_layers++;
        return;
    }
    struct xtask *tk = &x->tasks[r->task];
    const struct trace_record *req = request_of(x, r);
    if (tk->conn < 0) {
        struct trace_nexus n = trace_record_nexus(x->t, req ? req : r);
        struct xconn *k = conn_of(x, n.any & TRACE_ANY_HOST ? 0 : n.host, n.any & TRACE_ANY_TARGET ? 0 : n.target);
        if (!k)
            return;
        tk->conn = (int)(k - x->conns);
        tk->itt = (uint32_t)r->task + 1;
    }
    struct xconn *k = &x->conns[tk->conn];
    if (r->time_known)
        cap_wire_at(x->w, r->time_ns);
    switch (r->verb) {
    case TRACE_VERB_CMD:
        command(x, k, tk, r);
        break;
    case TRACE_VERB_DOUT:
        data_out(x, k, tk, r);
        break;
    case TRACE_VERB_DIN:
        data_in(x, k, tk, r);
        break;
    case TRACE_VERB_STATUS:
        status(x, k, tk, r);
        break;
    case TRACE_VERB_TMF:
        tmf(x, k, tk, r, li);
        break;
    default:
        break;
    }
}

int capture_export(const struct trace *t, const char *path, struct capture_export_stats *st,
                   struct located_error *err)
{
    struct capture_export_stats local;
    struct xctx *x = calloc(1, sizeof *x);
    if (err)
        memset(err, 0, sizeof *err);
    if (!x) {
        located_set(err, NULL, 0, 0, 0, "out of memory");
        return -ENOMEM;
    }
    x->t = t;
    x->st = st ? st : &local;
    memset(x->st, 0, sizeof *x->st);
    x->tasks = calloc(t->n_tasks ? t->n_tasks : 1, sizeof *x->tasks);
    if (!x->tasks) {
        free(x);
        located_set(err, NULL, 0, 0, 0, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n_tasks; i++)
        x->tasks[i].conn = -1;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    size_t plen = strlen(path);
    bool ng = plen >= 7 && !strcmp(path + plen - 7, ".pcapng");
    x->w = cap_wire_open(path, ng ? CAP_WIRE_PCAPNG : CAP_WIRE_PCAP, ebuf);
    int rc = 0;
    if (!x->w) {
        located_set(err, path, 0, 0, 0, ng ? "cannot create it: %s" : "cannot create it (libpcap: %s)", ebuf);
        rc = -EIO;
    } else {
        for (size_t i = 0; i < t->n_lines && !x->rc; i++)
            if (t->lines[i].kind == TRACE_LINE_RECORD)
                record(x, i);
        for (size_t i = 0; i < x->n_conns; i++)
            logout(x, &x->conns[i]);
        x->st->packets = cap_wire_packets(x->w);
        int crc = cap_wire_close(x->w);
        rc = x->rc ? x->rc : crc;
        if (rc == -ENOMEM)
            located_set(err, NULL, 0, 0, 0, "out of memory");
        else if (rc)
            located_set(err, path, 0, 0, 0, "writing the capture failed");
    }
    free(x->conns);
    free(x->tasks);
    free(x);
    return rc;
}
