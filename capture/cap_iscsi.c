/* capture/cap_iscsi.c — iSCSI PDUs (RFC 7143) out of each direction's byte
 * stream: framing (BHS, AHS, digests, data segment with padding), finding
 * the next BHS again after bytes the capture lacks, and what each PDU means
 * for the trace: SCSI Command, Data-Out, Data-In, R2T and SCSI Response fold
 * into one command; task management is kept until its response; logins,
 * logouts, text, NOP, reject and asynchronous messages are comments. */
#include "capture/cap_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_print.h"
#include "scsi/scsi.h"

enum {
    OP_NOP_OUT = 0x00, OP_SCSI_CMD = 0x01, OP_TMF_REQ = 0x02, OP_LOGIN_REQ = 0x03, OP_TEXT_REQ = 0x04,
    OP_DATA_OUT = 0x05, OP_LOGOUT_REQ = 0x06, OP_SNACK = 0x10,
    OP_NOP_IN = 0x20, OP_SCSI_RESP = 0x21, OP_TMF_RESP = 0x22, OP_LOGIN_RESP = 0x23, OP_TEXT_RESP = 0x24,
    OP_DATA_IN = 0x25, OP_LOGOUT_RESP = 0x26, OP_R2T = 0x31, OP_ASYNC = 0x32, OP_REJECT = 0x3f,
};

static const char *dir_name(int dir)
{
    return dir ? "target to initiator" : "initiator to target";
}

static struct cap_cmd *cmd_find(struct cap_conn *k, uint32_t itt, size_t *at)
{
    for (size_t i = 0; i < k->n_cmds; i++)
        if (k->cmds[i]->itt == itt) {
            if (at)
                *at = i;
            return k->cmds[i];
        }
    return NULL;
}

bool cap_iscsi_plausible(const struct cap_conn *k, int dir, const uint8_t *b)
{
    unsigned op = b[0] & 0x3f;
    if (b[0] & 0x80)
        return false;
    static const uint8_t to_target[] = { OP_NOP_OUT, OP_SCSI_CMD, OP_TMF_REQ, OP_LOGIN_REQ, OP_TEXT_REQ,
                                         OP_DATA_OUT, OP_LOGOUT_REQ, OP_SNACK };
    static const uint8_t to_init[] = { OP_NOP_IN, OP_SCSI_RESP, OP_TMF_RESP, OP_LOGIN_RESP, OP_TEXT_RESP,
                                       OP_DATA_IN, OP_LOGOUT_RESP, OP_R2T, OP_ASYNC, OP_REJECT };
    const uint8_t *ops = dir ? to_init : to_target;
    size_t n = dir ? sizeof to_init : sizeof to_target, i = 0;
    while (i < n && ops[i] != op)
        i++;
    if (i == n || (dir && (b[0] & 0x40)))
        return false;
    if (b[4] && op != OP_SCSI_CMD)
        return false;
    uint32_t itt = cap_be32(b + 16);
    switch (op) {
    case OP_LOGIN_REQ: case OP_LOGIN_RESP:
        return b[2] == 0 && b[3] == 0;
    case OP_SCSI_CMD:
        return itt != 0xffffffffu && (scsi_cdb_length(b[32]) != 0 || b[32] >= 0xc0);
    case OP_DATA_OUT:
        if (b[1] & 0x7f)
            return false;
        /* fall through */
    case OP_DATA_IN: case OP_R2T: case OP_SCSI_RESP:
        if (op == OP_SCSI_RESP && b[2] > 1)
            return false;
        return k->n_cmds == 0 || cmd_find((struct cap_conn *)k, itt, NULL) != NULL;
    default:
        return true;
    }
}

/* "# +T.TTT c1 packet N: ..." */
static void pdu_comment(struct cap_ctx *c, struct cap_conn *k, int dir, const char *fmt, const char *a,
                        const char *b)
{
    struct tbuf t = { 0 };
    tbuf_puts(&t, "# ");
    trace_fmt_seconds(&t, cap_time(c, c->now_ns), 3);
    tbuf_printf(&t, " c%u packet %llu (%s): ", k->idx, (unsigned long long)k->half[dir].pdu_pkt,
                dir ? "target" : "initiator");
    tbuf_printf(&t, fmt, a, b);
    cap_comment(c, "%s", tbuf_str(&t));
    tbuf_free(&t);
}

/* Value of KEY in a login or text data segment (NUL-separated key=value). */
static bool text_key(const uint8_t *d, uint32_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < n;) {
        uint32_t e = i;
        while (e < n && d[e])
            e++;
        if (e - i > kl && !memcmp(d + i, key, kl) && d[i + kl] == '=') {
            size_t vl = e - i - kl - 1;
            if (vl >= cap)
                vl = cap - 1;
            for (size_t j = 0; j < vl; j++) {
                uint8_t ch = d[i + kl + 1 + j];
                out[j] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
            }
            out[vl] = '\0';
            return true;
        }
        i = e + 1;
    }
    return false;
}

bool cap_cmd_data(struct cap_ctx *c, struct cap_cmd *cmd, uint32_t off, const uint8_t *p, const uint8_t *have,
                  uint32_t n)
{
    if (off >= cmd->edtl)
        return n == 0;
    bool overflow = (uint64_t)off + n > cmd->edtl;
    if (overflow)
        n = cmd->edtl - off;
    uint32_t end = off + n;
    if (end > cmd->data_cap) {
        /* Memory follows the data kept, within one budget for all commands
         * in flight: a capture that claims a 4 GiB transfer (or an offset
         * near it) cannot make the importer allocate that much. */
        /* The first allocation takes a whole ordinary transfer (up to 1 MiB)
         * at once: no reallocation and copying as it fills. */
        uint64_t cap = cmd->data_cap ? cmd->data_cap : cmd->edtl < (1u << 20) ? cmd->edtl : (1u << 20);
        while (cap < end)
            cap *= 2;
        if (cap > cmd->edtl)
            cap = cmd->edtl;
        if (c->data_bytes - cmd->data_cap + cap > CAP_DATA_BUDGET)
            cap = end;
        if (c->data_bytes - cmd->data_cap + cap > CAP_DATA_BUDGET) {
            cmd->dropped = true;
            return !overflow;
        }
        if (!cmd->data && c->spare_data && c->spare_cap >= cap && c->spare_cap / 2 <= cap &&
            c->data_bytes + c->spare_cap <= CAP_DATA_BUDGET) {
            /* The buffers of the last command that ended, when of about
             * this command's size: pages already mapped, no page faults on
             * the way in (cap_cmd_free). */
            cmd->data = c->spare_data;
            cmd->have = c->spare_have;
            c->spare_data = c->spare_have = NULL;
            memset(cmd->data, 0, c->spare_cap);
            memset(cmd->have, 0, c->spare_cap);
            c->data_bytes += c->spare_cap;
            cmd->data_cap = c->spare_cap;
            c->spare_cap = 0;
            goto copy;
        }
        uint8_t *d = realloc(cmd->data, cap), *h = d ? realloc(cmd->have, cap) : NULL;
        if (d)
            cmd->data = d;
        if (!d || !h) {
            if (!c->rc)
                c->rc = -ENOMEM;
            return false;
        }
        cmd->have = h;
        memset(d + cmd->data_cap, 0, cap - cmd->data_cap);
        memset(h + cmd->data_cap, 0, cap - cmd->data_cap);
        c->data_bytes += cap - cmd->data_cap;
        cmd->data_cap = (uint32_t)cap;
    }
copy:
    memcpy(cmd->data + off, p, n);
    memcpy(cmd->have + off, have, n);
    if (memchr(have, 0, n)) /* rare: bytes the capture lacks */
        for (uint32_t i = 0; i < n; i++)
            if (!have[i]) {
                cmd->data[off + i] = 0; /* not captured: kept as zero */
                if (!cmd->lost_from)
                    cmd->lost_from = cmd->last_pkt;
            }
    if (end > cmd->data_end)
        cmd->data_end = end;
    return !overflow;
}

void cap_cmd_free(struct cap_ctx *c, struct cap_cmd *cmd)
{
    if (!cmd)
        return;
    c->data_bytes -= cmd->data_cap;
    if (cmd->data && cmd->data_cap >= c->spare_cap) {
        /* Kept for the next command: a fresh buffer of a transfer's size
         * is mapped anew by malloc each time, and every one of its pages
         * faulted in.  One spare, the largest: memory stays bounded by the
         * longest transfer. */
        free(c->spare_data);
        free(c->spare_have);
        c->spare_data = cmd->data;
        c->spare_have = cmd->have;
        c->spare_cap = cmd->data_cap;
    } else {
        free(cmd->data);
        free(cmd->have);
    }
    free(cmd);
}

static void scsi_command(struct cap_ctx *c, struct cap_conn *k, const uint8_t *b, const uint8_t *d,
                         const uint8_t *dh, uint32_t dlen)
{
    uint32_t itt = cap_be32(b + 16);
    if (cmd_find(k, itt, NULL)) {
        char t[16];
        snprintf(t, sizeof t, "%08x", itt);
        pdu_comment(c, k, 0, "SCSI Command reuses ITT 0x%s of a command without a response; the earlier one is "
                    "written as not answered%s", t, "");
        size_t at = 0;
        struct cap_cmd *old = cmd_find(k, itt, &at);
        cap_emit_command(c, k, old, true);
        cap_cmd_free(c, old);
        k->cmds[at] = k->cmds[--k->n_cmds];
    }
    if (k->n_cmds == k->cmds_cap) {
        size_t cap = k->cmds_cap ? k->cmds_cap * 2 : 16;
        struct cap_cmd **p = realloc(k->cmds, cap * sizeof *p);
        if (!p) {
            c->rc = -ENOMEM;
            return;
        }
        k->cmds = p;
        k->cmds_cap = cap;
    }
    struct cap_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd) {
        c->rc = -ENOMEM;
        return;
    }
    cmd->itt = itt;
    const uint8_t *l = b + 8;
    cmd->lun = ((uint64_t)(l[0] & 0x3f) << 8) | l[1];
    cmd->flags = b[1];
    memcpy(cmd->cdb, b + 32, 16);
    cmd->cdb_extended = b[4] != 0;
    cmd->edtl = cap_be32(b + 20);
    cmd->cmd_pkt = cmd->last_pkt = k->half[0].pdu_pkt;
    cmd->cmd_ns = cmd->dout_ns = cmd->din_ns = c->now_ns;
    k->cmds[k->n_cmds++] = cmd;
    if (dlen && (cmd->flags & 0x20))
        cap_cmd_data(c, cmd, 0, d, dh, dlen);
}

static void complete(struct cap_ctx *c, struct cap_conn *k, struct cap_cmd *cmd, size_t at)
{
    cmd->done = true;
    k->done_itt[k->n_done++ % CAP_DONE_ITTS] = cmd->itt;
    cmd->resp_pkt = k->half[1].pdu_pkt;
    cmd->resp_ns = c->now_ns;
    cap_infer(c, k, cmd);
    cap_emit_command(c, k, cmd, false);
    cap_cmd_free(c, cmd);
    k->cmds[at] = k->cmds[--k->n_cmds];
}

static void data_pdu(struct cap_ctx *c, struct cap_conn *k, int dir, const uint8_t *b, const uint8_t *d,
                     const uint8_t *dh, uint32_t dlen)
{
    size_t at;
    uint32_t itt = cap_be32(b + 16);
    struct cap_cmd *cmd = cmd_find(k, itt, &at);
    if (!cmd) {
        char t[16];
        snprintf(t, sizeof t, "%08x", itt);
        pdu_comment(c, k, dir, "%s for ITT 0x%s, whose SCSI Command is not in the capture; ignored",
                    dir ? "Data-In" : "Data-Out", t);
        return;
    }
    cmd->last_pkt = k->half[dir].pdu_pkt;
    if (dir) {
        cmd->din_ns = c->now_ns;
        if (cmd->flags & 0x40)
            cap_cmd_data(c, cmd, cap_be32(b + 40), d, dh, dlen);
        if (b[1] & 0x01) { /* S: the status is in this Data-In */
            cmd->response = 0;
            cmd->status = b[3];
            cmd->rflags = b[1];
            cmd->residual = cap_be32(b + 44);
            complete(c, k, cmd, at);
        }
    } else {
        cmd->dout_ns = c->now_ns;
        if (cmd->flags & 0x20)
            cap_cmd_data(c, cmd, cap_be32(b + 40), d, dh, dlen);
    }
}

static void scsi_response(struct cap_ctx *c, struct cap_conn *k, const uint8_t *b, const uint8_t *d,
                          const uint8_t *dh, uint32_t dlen)
{
    size_t at;
    uint32_t itt = cap_be32(b + 16);
    struct cap_cmd *cmd = cmd_find(k, itt, &at);
    if (!cmd) {
        char t[16];
        snprintf(t, sizeof t, "%08x", itt);
        pdu_comment(c, k, 1, "SCSI Response for ITT 0x%s, whose SCSI Command is not in the capture; ignored%s", t,
                    "");
        return;
    }
    cmd->response = b[2];
    cmd->status = b[3];
    cmd->rflags = b[1];
    cmd->residual = cap_be32(b + 44);
    if (dlen >= 2) {
        uint32_t sl = cap_be16(d);
        bool whole = true;
        for (uint32_t i = 0; i < dlen && i < sl + 2; i++)
            whole &= dh[i] != 0;
        if (sl > dlen - 2)
            sl = dlen - 2;
        if (sl > sizeof cmd->sense)
            sl = sizeof cmd->sense;
        if (whole) {
            memcpy(cmd->sense, d + 2, sl);
            cmd->sense_len = sl;
        }
    }
    complete(c, k, cmd, at);
}

static void tmf_request(struct cap_ctx *c, struct cap_conn *k, const uint8_t *b)
{
    if (k->n_tmfs == k->tmfs_cap) {
        size_t cap = k->tmfs_cap ? k->tmfs_cap * 2 : 4;
        struct cap_tmf *p = realloc(k->tmfs, cap * sizeof *p);
        if (!p) {
            c->rc = -ENOMEM;
            return;
        }
        k->tmfs = p;
        k->tmfs_cap = cap;
    }
    k->tmfs[k->n_tmfs++] = (struct cap_tmf){ .itt = cap_be32(b + 16), .rtt = cap_be32(b + 20),
                                             .lun = ((uint64_t)(b[8] & 0x3f) << 8) | b[9], .fn = b[1] & 0x7f,
                                             .pkt = k->half[0].pdu_pkt, .ns = c->now_ns };
    c->stats->tmfs++;
}

static void tmf_response(struct cap_ctx *c, struct cap_conn *k, const uint8_t *b)
{
    uint32_t itt = cap_be32(b + 16);
    for (size_t i = 0; i < k->n_tmfs; i++)
        if (k->tmfs[i].itt == itt) {
            struct cap_tmf t = k->tmfs[i];
            k->tmfs[i] = k->tmfs[--k->n_tmfs];
            cap_emit_tmf(c, k, &t, b[2], cmd_find(k, t.rtt, NULL));
            return;
        }
    pdu_comment(c, k, 1, "Task Management Function Response (response %s) to a request not in the capture%s",
                b[2] == 0 ? "function complete" : "not complete", "");
}

static void login(struct cap_ctx *c, struct cap_conn *k, int dir, const uint8_t *b, const uint8_t *d,
                  uint32_t dlen)
{
    char v[224], note[512];
    unsigned csg = (b[1] >> 2) & 3, nsg = b[1] & 3;
    bool transit = b[1] & 0x80;
    if (!dir) {
        memcpy(k->isid, b + 8, 6);
        if (text_key(d, dlen, "InitiatorName", v, sizeof v))
            snprintf(k->initiator_name, sizeof k->initiator_name, "%s", v);
        if (text_key(d, dlen, "TargetName", v, sizeof v))
            snprintf(k->target_name, sizeof k->target_name, "%s", v);
        if (text_key(d, dlen, "SessionType", v, sizeof v) && !strcmp(v, "Discovery"))
            k->discovery = true;
        if (text_key(d, dlen, "HeaderDigest", v, sizeof v))
            k->hdigest_offered = true;
        snprintf(note, sizeof note, "stage %u%s%u, InitiatorName %s, TargetName %s%s", csg, transit ? " -> " : " ",
                 transit ? nsg : csg, k->initiator_name[0] ? k->initiator_name : "-",
                 k->target_name[0] ? k->target_name : "-", k->discovery ? ", discovery session" : "");
        pdu_comment(c, k, 0, "Login Request: %s%s", note, "");
        return;
    }
    if (text_key(d, dlen, "HeaderDigest", v, sizeof v))
        k->hdigest = !strcmp(v, "CRC32C");
    if (text_key(d, dlen, "DataDigest", v, sizeof v))
        k->ddigest = !strcmp(v, "CRC32C");
    snprintf(note, sizeof note, "stage %u%s%u, status class %u detail %u%s%s", csg, transit ? " -> " : " ",
             transit ? nsg : csg, b[36], b[37], k->hdigest ? ", header digest CRC32C" : "",
             k->ddigest ? ", data digest CRC32C" : "");
    pdu_comment(c, k, 1, "Login Response: %s%s", note, "");
    if (transit && nsg == 3 && b[36] == 0)
        k->ffp = true;
}

static void process(struct cap_ctx *c, struct cap_conn *k, int dir)
{
    struct cap_half *h = &k->half[dir];
    const uint8_t *b = h->hdr;
    uint32_t dlen = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    const uint8_t *d = h->dseg, *dh = h->dhave;
    static const uint8_t none = 0;
    if (!d)
        d = dh = &none;
    bool lost = dlen && memchr(dh, 0, dlen) != NULL;
    char buf[64];
    switch (b[0] & 0x3f) {
    case OP_SCSI_CMD:
        scsi_command(c, k, b, d, dh, dlen);
        break;
    case OP_DATA_OUT: case OP_DATA_IN:
        data_pdu(c, k, dir, b, d, dh, dlen);
        break;
    case OP_SCSI_RESP:
        scsi_response(c, k, b, d, dh, dlen);
        break;
    case OP_R2T:
        break; /* the Data-Out PDUs that answer it carry the data */
    case OP_TMF_REQ:
        tmf_request(c, k, b);
        break;
    case OP_TMF_RESP:
        tmf_response(c, k, b);
        break;
    case OP_LOGIN_REQ: case OP_LOGIN_RESP:
        login(c, k, dir, b, d, dlen);
        break;
    case OP_NOP_OUT: case OP_NOP_IN:
        snprintf(buf, sizeof buf, "%u data byte(s)", dlen);
        pdu_comment(c, k, dir, "%s, %s", dir ? "NOP-In" : "NOP-Out", buf);
        break;
    case OP_LOGOUT_REQ:
        snprintf(buf, sizeof buf, "reason code %u", b[1] & 0x7f);
        pdu_comment(c, k, 0, "Logout Request, %s%s", buf, "");
        break;
    case OP_LOGOUT_RESP:
        snprintf(buf, sizeof buf, "response %u", b[2]);
        pdu_comment(c, k, 1, "Logout Response, %s%s", buf, "");
        break;
    case OP_TEXT_REQ: case OP_TEXT_RESP:
        snprintf(buf, sizeof buf, "%u data byte(s)", dlen);
        pdu_comment(c, k, dir, "%s, %s", dir ? "Text Response" : "Text Request", buf);
        break;
    case OP_REJECT:
        snprintf(buf, sizeof buf, "reason 0x%02x", b[2]);
        pdu_comment(c, k, 1, "Reject, %s%s", buf, "");
        break;
    case OP_ASYNC:
        snprintf(buf, sizeof buf, "event %u", b[36]);
        pdu_comment(c, k, 1, "Asynchronous Message, %s%s", buf, "");
        break;
    default:
        pdu_comment(c, k, dir, "SNACK Request%s%s", "", "");
        break;
    }
    if (lost && (b[0] & 0x3f) != OP_DATA_IN && (b[0] & 0x3f) != OP_DATA_OUT && (b[0] & 0x3f) != OP_SCSI_CMD)
        pdu_comment(c, k, dir, "parts of this PDU's data segment are not in the capture%s%s", "", "");
}

/* Sets up the data segment after a complete header. */
static bool header_done(struct cap_ctx *c, struct cap_conn *k, int dir)
{
    struct cap_half *h = &k->half[dir];
    const uint8_t *b = h->hdr;
    uint32_t dlen = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    unsigned op = b[0] & 0x3f;
    bool login = op == OP_LOGIN_REQ || op == OP_LOGIN_RESP;
    uint32_t need = dlen ? ((dlen + 3) & ~3u) + (k->ffp && k->ddigest && !login ? 4u : 0u) : 0;
    if (need > h->dseg_cap) {
        uint8_t *d = realloc(h->dseg, need), *hv = d ? realloc(h->dhave, need) : NULL;
        if (d)
            h->dseg = d;
        if (!d || !hv) {
            if (!c->rc)
                c->rc = -ENOMEM;
            return false;
        }
        h->dhave = hv;
        h->dseg_cap = need;
    }
    h->dseg_len = 0;
    h->dseg_need = need;
    return true;
}

static void pdu_reset(struct cap_half *h)
{
    h->hdr_len = 0;
    h->hdr_need = CAP_BHS_LEN;
    h->dseg_len = h->dseg_need = 0;
}

/* After the BHS: how long the whole header is (AHS, header digest). */
static uint32_t header_len(const struct cap_conn *k, const uint8_t *b)
{
    unsigned op = b[0] & 0x3f;
    bool login = op == OP_LOGIN_REQ || op == OP_LOGIN_RESP;
    return CAP_BHS_LEN + (uint32_t)b[4] * 4u + (k->ffp && k->hdigest && !login ? 4u : 0u);
}

void cap_iscsi_feed(struct cap_ctx *c, struct cap_conn *k, int dir, const uint8_t *p, size_t n)
{
    struct cap_half *h = &k->half[dir];
    if (!h->hdr_need)
        h->hdr_need = CAP_BHS_LEN;
    while (n > 0 && !c->rc) {
        if (h->scan) {
            h->hdr[h->hdr_len++] = *p++;
            n--;
            if (h->hdr_len < CAP_BHS_LEN)
                continue;
            if (cap_iscsi_plausible(k, dir, h->hdr)) {
                h->scan = false;
                if (h->scan_skipped)
                    cap_note(c, "connection %u (%s): %llu byte(s) skipped to the next PDU header, in packet %llu",
                             k->idx, dir_name(dir), (unsigned long long)h->scan_skipped,
                             (unsigned long long)h->pkt);
                h->scan_skipped = 0;
                h->pdu_pkt = h->pkt;
                h->hdr_need = header_len(k, h->hdr);
                if (h->hdr_len == h->hdr_need && !header_done(c, k, dir))
                    return;
            } else {
                memmove(h->hdr, h->hdr + 1, CAP_BHS_LEN - 1);
                h->hdr_len--;
                h->scan_skipped++;
                continue;
            }
        } else if (h->hdr_len < h->hdr_need) {
            if (h->hdr_len == 0)
                h->pdu_pkt = h->pkt;
            size_t take = h->hdr_need - h->hdr_len;
            if (take > n)
                take = n;
            memcpy(h->hdr + h->hdr_len, p, take);
            h->hdr_len += (uint32_t)take;
            p += take;
            n -= take;
            if (h->hdr_len == CAP_BHS_LEN && h->hdr_need == CAP_BHS_LEN) {
                if (!cap_iscsi_plausible(k, dir, h->hdr) && (h->hdr[0] & 0x3f) != OP_SCSI_CMD) {
                    /* Not a header after all: we lost track somewhere. */
                    cap_note(c, "connection %u (%s): bytes at packet %llu are not an iSCSI header (opcode 0x%02x); "
                             "looking for the next one", k->idx, dir_name(dir), (unsigned long long)h->pkt,
                             h->hdr[0] & 0x3f);
                    h->scan = true;
                    memmove(h->hdr, h->hdr + 1, CAP_BHS_LEN - 1);
                    h->hdr_len--;
                    h->scan_skipped = 1;
                    continue;
                }
                h->hdr_need = header_len(k, h->hdr);
            }
            if (h->hdr_len == h->hdr_need && !header_done(c, k, dir))
                return;
        } else {
            size_t take = h->dseg_need - h->dseg_len;
            if (take > n)
                take = n;
            memcpy(h->dseg + h->dseg_len, p, take);
            memset(h->dhave + h->dseg_len, 1, take);
            h->dseg_len += (uint32_t)take;
            p += take;
            n -= take;
        }
        if (!h->scan && h->hdr_len == h->hdr_need && h->dseg_len == h->dseg_need) {
            process(c, k, dir);
            pdu_reset(h);
        }
    }
}

void cap_iscsi_skip(struct cap_ctx *c, struct cap_conn *k, int dir, uint64_t n, const char *why)
{
    struct cap_half *h = &k->half[dir];
    if (!h->hdr_need)
        h->hdr_need = CAP_BHS_LEN;
    if (!h->scan && h->hdr_len == h->hdr_need && h->hdr_len > 0) {
        /* Inside a data segment: the framing holds; the bytes are marked lost. */
        uint64_t take = h->dseg_need - h->dseg_len;
        if (take > n)
            take = n;
        cap_note(c, "connection %u (%s): %llu byte(s) of the data of the PDU from packet %llu are not in the "
                 "capture (%s, packet %llu)", k->idx, dir_name(dir), (unsigned long long)take,
                 (unsigned long long)h->pdu_pkt, why, (unsigned long long)h->pkt);
        memset(h->dseg + h->dseg_len, 0, take);  /* defined bytes: readers that ignore dhave see zeros */
        memset(h->dhave + h->dseg_len, 0, take);
        h->dseg_len += (uint32_t)take;
        n -= take;
        if (h->dseg_len == h->dseg_need) {
            process(c, k, dir);
            pdu_reset(h);
        }
        if (n == 0)
            return;
    }
    cap_note(c, "connection %u (%s): %llu byte(s) of the stream are not in the capture (%s, packet %llu); the "
             "PDU %s is lost and the next PDU header is looked for", k->idx, dir_name(dir), (unsigned long long)n,
             why, (unsigned long long)h->pkt, h->hdr_len ? "they fall in" : "after them");
    pdu_reset(h);
    h->scan = true;
    h->scan_skipped = 0;
}

void cap_iscsi_finish(struct cap_ctx *c, struct cap_conn *k)
{
    for (int d = 0; d < 2; d++) {
        struct cap_half *h = &k->half[d];
        if (!h->scan && h->hdr_len > 0)
            cap_note(c, "connection %u (%s): the capture ends inside the PDU that starts in packet %llu (%u of its "
                     "header bytes, %u of %u data bytes seen)", k->idx, dir_name(d), (unsigned long long)h->pdu_pkt,
                     h->hdr_len, h->dseg_len, h->dseg_need);
    }
    while (k->n_cmds) {
        struct cap_cmd *cmd = k->cmds[--k->n_cmds];
        cap_emit_command(c, k, cmd, true);
        cap_cmd_free(c, cmd);
    }
    for (size_t i = 0; i < k->n_tmfs; i++)
        cap_note(c, "connection %u: task management function %u from packet %llu has no response in the capture; "
                 "not written as a record", k->idx, k->tmfs[i].fn, (unsigned long long)k->tmfs[i].pkt);
    k->n_tmfs = 0;
}
