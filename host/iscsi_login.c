/* host/iscsi_login.c — the login phase (RFC 7143 section 6).
 *
 * Stages: SecurityNegotiation (0) -> LoginOperationalNegotiation (1) ->
 * FullFeaturePhase (3).  The initiator proposes a transition with T=1 and
 * NSG; the target follows it when it can (authentication finished) and
 * otherwise answers T=0 to continue the stage.
 *
 * Security: AuthMethod None, or CHAP with MD5 (CHAP_A=5): the target sends
 * CHAP_I and a random CHAP_C, the initiator answers CHAP_N and CHAP_R =
 * MD5(CHAP_I || secret || CHAP_C); for mutual CHAP the initiator adds its own
 * CHAP_I / CHAP_C and the target answers with its name and response.  A node
 * with CHAP configured refuses logins that skip the security stage.
 *
 * On success the session is created (or reinstated: a new login with the same
 * initiator name and ISID closes the old session first), its TSIH goes in the
 * final response, and negotiated values take effect on the next PDU.  Every
 * failure is a Login Response with a status class and detail, then the
 * connection closes.
 */
#include "host/iscsi_int.h"

#include "base/hex.h"

#include <errno.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define CHAP_CHALLENGE_LEN 16
#define CHAP_BINARY_MAX    512

enum sec_state { SEC_START, SEC_CHAP_WAIT_A, SEC_CHAP_WAIT_R, SEC_DONE };

struct iscsi_login {
    bool started;
    uint8_t isid[6];
    uint16_t tsih, cid;
    uint32_t itt, cmdsn;
    char initiator[ISCSI_NAME_MAX + 1];
    char target_name[ISCSI_NAME_MAX + 1];
    bool discovery;
    struct iscsi_node *node;
    uint8_t stage;
    enum sec_state sec;
    bool authenticated;
    uint8_t chap_id;
    uint8_t challenge[CHAP_CHALLENGE_LEN];
    struct iscsi_params params;
    uint64_t seen;
    bool declared_mrdsl, declared_tpgt;
    struct tbuf text; /* gathered over C-bit PDUs */
};

void iscsi_login_free(struct iscsi_conn *c)
{
    if (!c->login)
        return;
    tbuf_free(&c->login->text);
    /* The challenge is not secret, but there is no reason to leave it about. */
    memset(c->login, 0, sizeof(*c->login));
    free(c->login);
    c->login = NULL;
}

/* ---- responses ------------------------------------------------------------- */

static void send_login_rsp(struct iscsi_conn *c, uint8_t flags, uint16_t status, uint16_t tsih,
                           const struct iscsi_text_out *text)
{
    struct iscsi_login *L = c->login;
    const struct iscsi_login_req *req = (const struct iscsi_login_req *)c->hdr;
    struct iscsi_tx *tx = iscsi_tx_get(c);
    if (!tx) {
        iscsi_conn_close(c, "out of memory");
        return;
    }
    struct iscsi_login_rsp *h = (struct iscsi_login_rsp *)tx->hdr;
    h->opcode = ISCSI_OP_LOGIN_RSP;
    h->flags = flags;
    h->version_max = 0;
    h->version_active = 0;
    memcpy(h->isid, req->isid, 6);
    scsi_put_be16(h->tsih, tsih);
    memcpy(h->itt, req->itt, 4);
    scsi_put_be32(h->statsn, iscsi_conn_statsn(c, true));
    uint32_t cmdsn = L ? L->cmdsn : scsi_get_be32(req->cmdsn);
    scsi_put_be32(h->exp_cmdsn, cmdsn);
    scsi_put_be32(h->max_cmdsn, cmdsn + c->target->opt.queue_depth - 1);
    h->status_class = (uint8_t)(status >> 8);
    h->status_detail = (uint8_t)status;
    if (text && text->text.len) {
        if (iscsi_tx_queue_copy(c, tx, text->text.s, (uint32_t)text->text.len) < 0)
            iscsi_conn_close(c, "out of memory");
        return;
    }
    iscsi_tx_queue(c, tx);
}

/* Refuses the login with status and ends the connection once it is sent. */
static int login_fail(struct iscsi_conn *c, uint16_t status, const char *why)
{
    struct iscsi_target *t = c->target;
    ISCSI_STAT_INC(t, logins_failed);
    iscsi_log(t, ISCSI_TLOG_WARN, "connection %llu (%s): login refused (status 0x%04x): %s", (unsigned long long)c->id,
              c->peer, status, why);
    send_login_rsp(c, 0, status, 0, NULL);
    iscsi_conn_close_after_send(c);
    return 0;
}

/* ---- CHAP -------------------------------------------------------------------- */

static int random_bytes(uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int b64val(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* Decodes a binary value, "0x<hex>" or "0b<base64>"; -EINVAL when malformed. */
static int decode_binary(const char *v, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        const char *p = v + 2;
        size_t digits = strlen(p);
        if (digits == 0)
            return -EINVAL;
        bool odd = digits & 1;
        while (*p) {
            int hi = 0, lo;
            if (odd) {
                odd = false;
            } else {
                hi = hex_digit(*p++);
            }
            lo = hex_digit(*p++);
            if (hi < 0 || lo < 0 || n == cap)
                return -EINVAL;
            out[n++] = (uint8_t)(hi << 4 | lo);
        }
        return (int)n;
    }
    if (v[0] == '0' && (v[1] == 'b' || v[1] == 'B')) {
        uint32_t acc = 0;
        int bits = 0;
        for (const char *p = v + 2; *p && *p != '='; p++) {
            int d = b64val(*p);
            if (d < 0)
                return -EINVAL;
            acc = acc << 6 | (uint32_t)d;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (n == cap)
                    return -EINVAL;
                out[n++] = (uint8_t)(acc >> bits);
            }
        }
        return n ? (int)n : -EINVAL;
    }
    return -EINVAL;
}

static void chap_response(uint8_t id, const char *secret, const uint8_t *challenge, size_t clen,
                          uint8_t out[MD5_DIGEST_SIZE])
{
    struct md5_ctx ctx;
    md5_init(&ctx);
    md5_update(&ctx, 1, &id);
    md5_update(&ctx, strlen(secret), (const uint8_t *)secret);
    md5_update(&ctx, clen, challenge);
    md5_digest(&ctx, MD5_DIGEST_SIZE, out);
}

static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0; /* constant time: the comparison reveals nothing */
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

static void add_hex(struct iscsi_text_out *out, const char *key, const uint8_t *b, size_t n)
{
    char v[2 + 2 * CHAP_BINARY_MAX + 1];
    static const char hex[] = "0123456789abcdef";
    v[0] = '0';
    v[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        v[2 + 2 * i] = hex[b[i] >> 4];
        v[3 + 2 * i] = hex[b[i] & 15];
    }
    v[2 + 2 * n] = '\0';
    iscsi_text_add(out, key, v);
}

static const struct iscsi_kv *find_kv(const struct iscsi_kv *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (iscsi_kv_is(&kv[i], key))
            return &kv[i];
    return NULL;
}

static bool list_has(const char *list, const char *item)
{
    size_t il = strlen(item);
    const char *s = list;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t l = comma ? (size_t)(comma - s) : strlen(s);
        if (l == il && memcmp(s, item, l) == 0)
            return true;
        if (!comma)
            return false;
        s = comma + 1;
    }
}

/* Whose credentials this login must show: the node's, or for a discovery
 * session the target's discovery credentials. */
static const struct iscsi_auth *auth_of(const struct iscsi_conn *c)
{
    const struct iscsi_login *L = c->login;
    return L->discovery ? &c->target->discovery_auth : L->node ? &L->node->auth : NULL;
}

static bool auth_required(const struct iscsi_conn *c)
{
    const struct iscsi_auth *a = auth_of(c);
    return a && a->chap;
}

/* The security stage; returns a login status (0 to carry on). */
static uint16_t security(struct iscsi_conn *c, const struct iscsi_kv *kv, int n, struct iscsi_text_out *out,
                         const char **why)
{
    struct iscsi_login *L = c->login;
    const struct iscsi_kv *method = find_kv(kv, n, "AuthMethod");
    const struct iscsi_kv *a = find_kv(kv, n, "CHAP_A");
    const struct iscsi_kv *cn = find_kv(kv, n, "CHAP_N"), *cr = find_kv(kv, n, "CHAP_R");
    const struct iscsi_kv *ci = find_kv(kv, n, "CHAP_I"), *cc = find_kv(kv, n, "CHAP_C");

    switch (L->sec) {
    case SEC_START:
        if (a || cn || cr || ci || cc) {
            *why = "CHAP keys before AuthMethod";
            return ISCSI_LOGIN_INITIATOR_ERROR;
        }
        if (!method) {
            if (auth_required(c)) {
                *why = "no AuthMethod offered but the target requires CHAP";
                return ISCSI_LOGIN_AUTH_FAILED;
            }
            L->authenticated = true;
            L->sec = SEC_DONE;
            return 0;
        }
        if (auth_required(c)) {
            if (!list_has(method->value, "CHAP")) {
                iscsi_text_add(out, "AuthMethod", "Reject");
                *why = "the target requires CHAP";
                return ISCSI_LOGIN_AUTH_FAILED;
            }
            iscsi_text_add(out, "AuthMethod", "CHAP");
            L->sec = SEC_CHAP_WAIT_A;
            return 0;
        }
        if (!list_has(method->value, "None")) {
            iscsi_text_add(out, "AuthMethod", "Reject");
            *why = "no acceptable AuthMethod (the target has no CHAP secret)";
            return ISCSI_LOGIN_AUTH_FAILED;
        }
        iscsi_text_add(out, "AuthMethod", "None");
        L->authenticated = true;
        L->sec = SEC_DONE;
        return 0;

    case SEC_CHAP_WAIT_A:
        if (method || cn || cr || ci || cc || !a) {
            *why = "expected CHAP_A";
            return ISCSI_LOGIN_AUTH_FAILED;
        }
        if (!list_has(a->value, "5")) {
            iscsi_text_add(out, "CHAP_A", "Reject");
            *why = "CHAP without MD5 (CHAP_A=5)";
            return ISCSI_LOGIN_AUTH_FAILED;
        }
        if (random_bytes(&L->chap_id, 1) < 0 || random_bytes(L->challenge, sizeof(L->challenge)) < 0) {
            *why = "no randomness for a CHAP challenge";
            return ISCSI_LOGIN_TARGET_ERROR;
        }
        iscsi_text_add(out, "CHAP_A", "5");
        iscsi_text_addf(out, "CHAP_I", "%u", L->chap_id);
        add_hex(out, "CHAP_C", L->challenge, sizeof(L->challenge));
        L->sec = SEC_CHAP_WAIT_R;
        return 0;

    case SEC_CHAP_WAIT_R: {
        if (method || a || !cn || !cr) {
            *why = "expected CHAP_N and CHAP_R";
            return ISCSI_LOGIN_AUTH_FAILED;
        }
        const struct iscsi_auth *node = auth_of(c); /* chap is set: auth_required */
        uint8_t got[CHAP_BINARY_MAX], want[MD5_DIGEST_SIZE];
        int glen = decode_binary(cr->value, got, sizeof(got));
        chap_response(L->chap_id, node->chap_secret, L->challenge, sizeof(L->challenge), want);
        bool name_ok = strcmp(cn->value, node->chap_user) == 0;
        bool resp_ok = glen == MD5_DIGEST_SIZE && same_bytes(got, want, MD5_DIGEST_SIZE);
        if (!name_ok || !resp_ok) {
            *why = "CHAP name or response wrong";
            return ISCSI_LOGIN_AUTH_FAILED;
        }
        if (ci || cc) {
            /* Mutual CHAP: the initiator challenges the target. */
            uint64_t id;
            uint8_t chal[CHAP_BINARY_MAX], resp[MD5_DIGEST_SIZE];
            int clen = cc ? decode_binary(cc->value, chal, sizeof(chal)) : -EINVAL;
            if (!ci || !cc || iscsi_parse_number(ci->value, &id) < 0 || id > 255 || clen <= 0) {
                *why = "malformed mutual CHAP challenge";
                return ISCSI_LOGIN_AUTH_FAILED;
            }
            if (!node->mutual) {
                *why = "mutual CHAP asked but the target has no credentials to answer";
                return ISCSI_LOGIN_AUTH_FAILED;
            }
            if ((size_t)clen == sizeof(L->challenge) && memcmp(chal, L->challenge, sizeof(L->challenge)) == 0) {
                *why = "the initiator reflected the target's own challenge";
                return ISCSI_LOGIN_AUTH_FAILED;
            }
            chap_response((uint8_t)id, node->mutual_secret, chal, (size_t)clen, resp);
            iscsi_text_add(out, "CHAP_N", node->mutual_user);
            add_hex(out, "CHAP_R", resp, sizeof(resp));
        }
        L->authenticated = true;
        L->sec = SEC_DONE;
        return 0;
    }
    case SEC_DONE:
        if (method || a || cn || cr || ci || cc) {
            *why = "security keys after authentication";
            return ISCSI_LOGIN_INITIATOR_ERROR;
        }
        return 0;
    }
    return ISCSI_LOGIN_TARGET_ERROR;
}

/* ---- the first request: who is logging in, to what ------------------------------ */

static uint16_t identify(struct iscsi_conn *c, const struct iscsi_kv *kv, int n, const char **why)
{
    struct iscsi_login *L = c->login;
    struct iscsi_target *t = c->target;
    const struct iscsi_kv *iname = find_kv(kv, n, "InitiatorName");
    const struct iscsi_kv *tname = find_kv(kv, n, "TargetName");
    const struct iscsi_kv *stype = find_kv(kv, n, "SessionType");

    if (!iname || iname->value_len == 0 || iname->value_len > ISCSI_NAME_MAX) {
        *why = "InitiatorName missing";
        return ISCSI_LOGIN_MISSING_PARAMETER;
    }
    memcpy(L->initiator, iname->value, iname->value_len + 1);
    if (stype && strcmp(stype->value, "Discovery") == 0) {
        L->discovery = true;
    } else if (stype && strcmp(stype->value, "Normal") != 0) {
        *why = "unknown SessionType";
        return ISCSI_LOGIN_SESSION_TYPE;
    }
    if (!L->discovery) {
        if (!tname || tname->value_len == 0 || tname->value_len > ISCSI_NAME_MAX) {
            *why = "TargetName missing for a normal session";
            return ISCSI_LOGIN_MISSING_PARAMETER;
        }
        memcpy(L->target_name, tname->value, tname->value_len + 1);
        L->node = iscsi_target_find_node(t, L->target_name);
        if (!L->node) {
            *why = "no such target";
            return ISCSI_LOGIN_NOT_FOUND;
        }
        if (!iscsi_node_admits(L->node, L->initiator)) {
            *why = "initiator not in the target's access list";
            return ISCSI_LOGIN_FORBIDDEN;
        }
    }
    if (L->tsih != 0) {
        /* Adding a connection to a session: one connection per session here. */
        bool exists = false;
        for (struct iscsi_session *s = t->sessions; s; s = s->next)
            exists |= s->tsih == L->tsih;
        *why = exists ? "MaxConnections is 1" : "TSIH names no session";
        return exists ? ISCSI_LOGIN_TOO_MANY_CONNECTIONS : ISCSI_LOGIN_NO_SESSION;
    }
    if (L->stage == ISCSI_STAGE_OPERATIONAL && auth_required(c)) {
        *why = "security stage skipped but the target requires CHAP";
        return ISCSI_LOGIN_AUTH_FAILED;
    }
    return 0;
}

/* Later requests may repeat the names, never change them. */
static bool names_consistent(const struct iscsi_login *L, const struct iscsi_kv *kv, int n)
{
    const struct iscsi_kv *iname = find_kv(kv, n, "InitiatorName");
    const struct iscsi_kv *tname = find_kv(kv, n, "TargetName");
    const struct iscsi_kv *stype = find_kv(kv, n, "SessionType");
    if (iname && strcmp(iname->value, L->initiator) != 0)
        return false;
    if (tname && (L->discovery || strcmp(tname->value, L->target_name) != 0))
        return false;
    if (stype && strcmp(stype->value, L->discovery ? "Discovery" : "Normal") != 0)
        return false;
    return true;
}

/* ---- entering the full feature phase --------------------------------------------- */

static uint16_t enter_full_feature(struct iscsi_conn *c, uint16_t *tsih, const char **why)
{
    struct iscsi_login *L = c->login;
    struct iscsi_target *t = c->target;
    /* A digest the target insists on but the initiator refused (the key
     * then keeps its default, None) is a login the target cannot accept. */
    static const enum iscsi_key_id digests[] = { ISCSI_KEY_HEADER_DIGEST, ISCSI_KEY_DATA_DIGEST };
    for (size_t i = 0; i < 2; i++) {
        if (!(t->pref.v[digests[i]] & (1u << ISCSI_DIGEST_NONE)) && L->params.v[digests[i]] == ISCSI_DIGEST_NONE) {
            *why = "the target requires CRC32C digests";
            return ISCSI_LOGIN_INITIATOR_ERROR;
        }
    }
    if (!L->discovery) {
        struct iscsi_session *old = iscsi_session_find(t, L->initiator, L->isid, L->node, false, c->portal);
        if (old) {
            /* Session reinstatement: the old I_T nexus ends before the new one starts. */
            ISCSI_STAT_INC(t, sessions_reinstated);
            iscsi_log(t, ISCSI_TLOG_INFO, "session %u of %s reinstated", old->tsih, L->initiator);
            iscsi_conn_close(old->conn, "session reinstated by a new login");
        }
    }
    unsigned depth = t->opt.queue_depth;
    if (iscsi_tasks_init(c, depth + ISCSI_IMMEDIATE_EXTRA + 4) < 0) {
        *why = "out of memory";
        return ISCSI_LOGIN_OUT_OF_RESOURCES;
    }
    if (!L->discovery && t->opt.max_sessions_per_initiator &&
        iscsi_sessions_of(t, L->initiator, L->isid, L->node) >= t->opt.max_sessions_per_initiator) {
        ISCSI_STAT_INC(t, logins_out_of_resources);
        *why = "the initiator has as many sessions as one initiator may (max_sessions_per_initiator)";
        return ISCSI_LOGIN_OUT_OF_RESOURCES;
    }
    uint64_t nexus = 0;
    if (!L->discovery && !(nexus = iscsi_nexus_acquire(t, L->initiator, L->isid, L->node, c->portal))) {
        *why = "out of memory";
        return ISCSI_LOGIN_OUT_OF_RESOURCES;
    }
    /* The device must have room for the I_T nexus now: a session accepted
     * without it would get BUSY for every command it sends. */
    if (nexus && scsi_backend_nexus_open(scsi_lunmap_backend(L->node->luns), nexus) < 0) {
        iscsi_nexus_release(t, nexus);
        ISCSI_STAT_INC(t, logins_out_of_resources);
        *why = "the device has no I_T nexus left for another session";
        return ISCSI_LOGIN_OUT_OF_RESOURCES;
    }
    struct iscsi_session *s = iscsi_session_create(c);
    if (!s) {
        if (nexus) {
            scsi_backend_nexus_loss(scsi_lunmap_backend(L->node->luns), nexus);
            iscsi_nexus_release(t, nexus);
        }
        *why = "out of memory";
        return ISCSI_LOGIN_OUT_OF_RESOURCES;
    }
    s->node = L->node;
    s->discovery = L->discovery;
    s->nexus = nexus;
    s->portal = c->portal;
    memcpy(s->initiator, L->initiator, sizeof(s->initiator));
    memcpy(s->isid, L->isid, 6);
    s->params = L->params;
    s->exp_cmdsn = L->cmdsn;
    s->max_cmdsn = L->cmdsn + depth - 1;
    c->sess = s;
    c->cid = L->cid;
    *tsih = s->tsih;
    return 0;
}

/* ---- the state machine ------------------------------------------------------------ */

int iscsi_login_header(struct iscsi_conn *c)
{
    if (iscsi_bhs_opcode(c->hdr) != ISCSI_OP_LOGIN_REQ) {
        if (c->login && c->login->started)
            return login_fail(c, ISCSI_LOGIN_INVALID_DURING_LOGIN, "non-login PDU during login");
        iscsi_conn_close(c, "first PDU is not a Login Request");
        return -1;
    }
    return iscsi_rx_to_ctl(c);
}

int iscsi_login_pdu(struct iscsi_conn *c)
{
    const struct iscsi_login_req *h = (const struct iscsi_login_req *)c->hdr;
    struct iscsi_target *t = c->target;
    uint8_t flags = h->flags;
    bool transit = flags & ISCSI_LOGIN_TRANSIT, cont = flags & ISCSI_LOGIN_CONTINUE;
    uint8_t csg = ISCSI_LOGIN_CSG(flags), nsg = ISCSI_LOGIN_NSG(flags);
    const char *why = "";

    if (!c->login) {
        c->login = calloc(1, sizeof(*c->login));
        if (!c->login) {
            iscsi_conn_close(c, "out of memory");
            return -1;
        }
    }
    struct iscsi_login *L = c->login;
    if (!L->started) {
        L->started = true;
        memcpy(L->isid, h->isid, 6);
        L->tsih = scsi_get_be16(h->tsih);
        L->cid = scsi_get_be16(h->cid);
        L->itt = scsi_get_be32(h->itt);
        L->cmdsn = scsi_get_be32(h->cmdsn);
        L->stage = csg;
        iscsi_params_defaults(&L->params);
        if (h->version_min > 0 || h->version_max < h->version_min)
            return login_fail(c, ISCSI_LOGIN_UNSUPPORTED_VERSION, "only iSCSI version 0 is spoken");
        if (csg != ISCSI_STAGE_SECURITY && csg != ISCSI_STAGE_OPERATIONAL)
            return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "login must start in stage 0 or 1");
    } else if (memcmp(L->isid, h->isid, 6) != 0 || L->tsih != scsi_get_be16(h->tsih) ||
               L->cid != scsi_get_be16(h->cid)) {
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "ISID, TSIH or CID changed during login");
    }
    if (csg != L->stage)
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "CSG does not match the current stage");
    if (transit && cont)
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "T and C bits both set");
    if (transit && (nsg <= csg || nsg == 2))
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "invalid next stage");

    /* Gather text over C-bit PDUs. */
    if (L->text.len + c->dlen > ISCSI_TEXT_MAX)
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "login text too long");
    tbuf_put(&L->text, (const char *)c->ctl, c->dlen);
    if (L->text.oom)
        return login_fail(c, ISCSI_LOGIN_OUT_OF_RESOURCES, "out of memory");
    if (cont) {
        send_login_rsp(c, (uint8_t)(csg << 2), 0, 0, NULL);
        return 0;
    }

    struct iscsi_kv kv[ISCSI_TEXT_PAIRS_MAX];
    int n = iscsi_text_parse((const uint8_t *)L->text.s, L->text.len, kv, ISCSI_TEXT_PAIRS_MAX);
    if (n < 0)
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "malformed login text");

    uint16_t status = 0;
    bool first = !L->initiator[0];
    if (first)
        status = identify(c, kv, n, &why);
    else if (!names_consistent(L, kv, n))
        return login_fail(c, ISCSI_LOGIN_INITIATOR_ERROR, "names changed during login");
    if (status) {
        tbuf_free(&L->text);
        return login_fail(c, status, why);
    }

    struct iscsi_text_out out;
    iscsi_text_out_init(&out, ISCSI_LOGIN_MAX_DSL);
    if (L->stage == ISCSI_STAGE_SECURITY)
        status = security(c, kv, n, &out, &why);
    if (!status) {
        struct iscsi_negotiator neg = {
            .result = &L->params,
            .pref = &t->pref,
            .phase = L->stage == ISCSI_STAGE_SECURITY ? ISCSI_NEG_SECURITY : ISCSI_NEG_OPERATIONAL,
            .discovery = L->discovery,
            .seen = L->seen,
        };
        if (iscsi_negotiate(&neg, kv, (size_t)n, &out) < 0) {
            status = ISCSI_LOGIN_INITIATOR_ERROR;
            why = "key negotiated twice, or in the wrong stage";
        }
        L->seen = neg.seen;
    }
    tbuf_free(&L->text);
    if (status) {
        iscsi_text_out_free(&out);
        return login_fail(c, status, why);
    }

    /* What the target declares: its portal group first, its receive limit
     * once operational negotiation is under way. */
    if (!L->declared_tpgt && !L->discovery) {
        iscsi_text_addf(&out, "TargetPortalGroupTag", "%u", iscsi_portal_tpgt(t, c->portal));
        if (L->node->alias[0])
            iscsi_text_add(&out, "TargetAlias", L->node->alias);
        L->declared_tpgt = true;
    }
    bool can_transit = transit && (L->stage != ISCSI_STAGE_SECURITY || L->authenticated);
    if (!L->declared_mrdsl && (L->stage == ISCSI_STAGE_OPERATIONAL || (can_transit && nsg == ISCSI_STAGE_FULL))) {
        iscsi_text_addf(&out, "MaxRecvDataSegmentLength", "%u", t->opt.max_recv_dsl);
        L->declared_mrdsl = true;
    }
    if (out.overflow) {
        iscsi_text_out_free(&out);
        return login_fail(c, ISCSI_LOGIN_TARGET_ERROR, "login answer too long");
    }

    uint8_t rflags = (uint8_t)(L->stage << 2);
    uint16_t tsih = 0;
    bool to_full = false;
    if (can_transit) {
        rflags |= (uint8_t)(ISCSI_LOGIN_TRANSIT | nsg);
        if (nsg == ISCSI_STAGE_FULL) {
            status = enter_full_feature(c, &tsih, &why);
            if (status) {
                iscsi_text_out_free(&out);
                return login_fail(c, status, why);
            }
            to_full = true;
        } else {
            L->stage = nsg;
        }
    }
    send_login_rsp(c, rflags, 0, tsih, &out);
    iscsi_text_out_free(&out);
    if (!to_full)
        return 0;

    /* The negotiated values govern every PDU after the final response. */
    struct iscsi_session *s = c->sess;
    c->hdigest = s->params.v[ISCSI_KEY_HEADER_DIGEST] == ISCSI_DIGEST_CRC32C;
    c->ddigest = s->params.v[ISCSI_KEY_DATA_DIGEST] == ISCSI_DIGEST_CRC32C;
    c->peer_mrdsl = s->params.v[ISCSI_KEY_MAX_RECV_DSL];
    c->max_rx_dsl = t->opt.max_recv_dsl;
    c->state = ISCSI_CONN_FULL_FEATURE;
    c->last_rx_ms = iscsi_now_ms(t);
    ISCSI_STAT_INC(t, logins_ok);
    iscsi_log(t, ISCSI_TLOG_INFO, "connection %llu: %s session %u for %s%s%s", (unsigned long long)c->id,
              s->discovery ? "discovery" : "normal", s->tsih, s->initiator, s->node ? " to " : "",
              s->node ? s->node->name : "");
    iscsi_login_free(c);
    return 0;
}
