/* host/iscsi_keys.c — text pairs and the key negotiation table (see .h). */
#include "host/iscsi_keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

/* ---- parsing ---------------------------------------------------------------- */

static bool key_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '+' || c == '@' || c == '_' || c == '#';
}

static bool is_long_value_key(const char *key, size_t len)
{
    /* CHAP challenges and responses are binary values written out in hex. */
    return len == 6 && (memcmp(key, "CHAP_C", 6) == 0 || memcmp(key, "CHAP_R", 6) == 0);
}

int iscsi_text_parse(const uint8_t *text, size_t len, struct iscsi_kv *out, size_t max)
{
    const char *p = (const char *)text;
    size_t at = 0;
    size_t n = 0;
    while (at < len) {
        const char *s = p + at;
        const char *nul = memchr(s, '\0', len - at);
        if (!nul)
            return -EPROTO; /* the last pair must be terminated */
        size_t slen = (size_t)(nul - s);
        at += slen + 1;
        if (slen == 0)
            continue;
        const char *eq = memchr(s, '=', slen);
        if (!eq)
            return -EPROTO;
        size_t klen = (size_t)(eq - s);
        if (klen == 0 || klen > ISCSI_KEY_NAME_MAX)
            return -EPROTO;
        for (size_t i = 0; i < klen; i++)
            if (!key_char_ok(s[i]))
                return -EPROTO;
        size_t vlen = slen - klen - 1;
        if (vlen > (is_long_value_key(s, klen) ? ISCSI_VALUE_LONG_MAX : ISCSI_VALUE_MAX))
            return -EPROTO;
        if (n == max)
            return -E2BIG;
        out[n].key = s;
        out[n].key_len = klen;
        out[n].value = eq + 1;
        out[n].value_len = vlen;
        n++;
    }
    return (int)n;
}

bool iscsi_kv_is(const struct iscsi_kv *kv, const char *key)
{
    size_t l = strlen(key);
    return kv->key_len == l && memcmp(kv->key, key, l) == 0;
}

int iscsi_parse_number(const char *v, uint64_t *out)
{
    if (!v[0])
        return -EINVAL;
    int base = 10;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v += 2;
        if (!v[0])
            return -EINVAL;
    }
    uint64_t r = 0;
    for (const char *c = v; *c; c++) {
        int d = hex_digit(*c);
        if (d < 0 || d >= base)
            return -EINVAL;
        if (r > (UINT64_MAX - (unsigned)d) / (uint64_t)base)
            return -EINVAL;
        r = r * (uint64_t)base + (unsigned)d;
    }
    *out = r;
    return 0;
}

/* ---- answers ---------------------------------------------------------------- */

void iscsi_text_out_init(struct iscsi_text_out *o, size_t limit)
{
    memset(o, 0, sizeof(*o));
    o->limit = limit;
}

void iscsi_text_out_free(struct iscsi_text_out *o)
{
    tbuf_free(&o->text);
    memset(o, 0, sizeof(*o));
}

static void append(struct iscsi_text_out *o, const char *s, size_t n)
{
    if (o->overflow)
        return;
    if (o->text.len + n > o->limit) {
        o->overflow = true;
        return;
    }
    tbuf_put(&o->text, s, n);
    if (o->text.oom)
        o->overflow = true;
}

void iscsi_text_add(struct iscsi_text_out *o, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    char tmp[ISCSI_KEY_NAME_MAX + ISCSI_VALUE_LONG_MAX + 3];
    if (kl + vl + 2 > sizeof(tmp)) {
        o->overflow = true;
        return;
    }
    memcpy(tmp, key, kl);
    tmp[kl] = '=';
    memcpy(tmp + kl + 1, value, vl);
    tmp[kl + 1 + vl] = '\0';
    append(o, tmp, kl + vl + 2);
}

void iscsi_text_addf(struct iscsi_text_out *o, const char *key, const char *fmt, ...)
{
    char v[ISCSI_VALUE_LONG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(v)) {
        o->overflow = true;
        return;
    }
    iscsi_text_add(o, key, v);
}

/* ---- the table -------------------------------------------------------------- */

static const char *const digest_values[] = { "None", "CRC32C", NULL };
static const char *const reporting_values[] = { "RFC3720", NULL };

#define LO   (ISCSI_KF_LOGIN | ISCSI_KF_LEADING)
#define IO   ISCSI_KF_LOGIN
#define DIRR ISCSI_KF_DISC_IRREL
#define SEC  (ISCSI_KF_SECURITY | ISCSI_KF_LOGIN)
#define TDEC ISCSI_KF_TARGET_DECL
#define LEN_MAX 16777215u

const struct iscsi_key_def iscsi_key_table[ISCSI_KEY_COUNT] = {
    { "HeaderDigest",           ISCSI_KEY_HEADER_DIGEST,     ISCSI_RULE_LIST, IO, 0, 0, ISCSI_DIGEST_NONE, digest_values },
    { "DataDigest",             ISCSI_KEY_DATA_DIGEST,       ISCSI_RULE_LIST, IO, 0, 0, ISCSI_DIGEST_NONE, digest_values },
    { "MaxConnections",         ISCSI_KEY_MAX_CONNECTIONS,   ISCSI_RULE_MIN, LO | DIRR, 1, 65535, 1, NULL },
    { "SendTargets",            ISCSI_KEY_SEND_TARGETS,      ISCSI_RULE_DECLARATIVE, 0, 0, 0, 0, NULL },
    { "TargetName",             ISCSI_KEY_TARGET_NAME,       ISCSI_RULE_DECLARATIVE, IO, 0, 0, 0, NULL },
    { "InitiatorName",          ISCSI_KEY_INITIATOR_NAME,    ISCSI_RULE_DECLARATIVE, IO, 0, 0, 0, NULL },
    { "TargetAlias",            ISCSI_KEY_TARGET_ALIAS,      ISCSI_RULE_DECLARATIVE, TDEC, 0, 0, 0, NULL },
    { "InitiatorAlias",         ISCSI_KEY_INITIATOR_ALIAS,   ISCSI_RULE_DECLARATIVE, 0, 0, 0, 0, NULL },
    { "TargetAddress",          ISCSI_KEY_TARGET_ADDRESS,    ISCSI_RULE_DECLARATIVE, TDEC, 0, 0, 0, NULL },
    { "TargetPortalGroupTag",   ISCSI_KEY_TARGET_PORTAL_GROUP_TAG, ISCSI_RULE_DECLARATIVE, IO | TDEC, 0, 65535, 1, NULL },
    { "InitialR2T",             ISCSI_KEY_INITIAL_R2T,       ISCSI_RULE_OR,  LO | DIRR, 0, 1, 1, NULL },
    { "ImmediateData",          ISCSI_KEY_IMMEDIATE_DATA,    ISCSI_RULE_AND, LO | DIRR, 0, 1, 1, NULL },
    { "MaxRecvDataSegmentLength", ISCSI_KEY_MAX_RECV_DSL,    ISCSI_RULE_DECLARATIVE, 0, 512, LEN_MAX, 8192, NULL },
    /* MaxBurstLength before FirstBurstLength: the first bounds the second. */
    { "MaxBurstLength",         ISCSI_KEY_MAX_BURST_LENGTH,  ISCSI_RULE_MIN, LO | DIRR, 512, LEN_MAX, 262144, NULL },
    { "FirstBurstLength",       ISCSI_KEY_FIRST_BURST_LENGTH, ISCSI_RULE_MIN, LO | DIRR, 512, LEN_MAX, 65536, NULL },
    { "DefaultTime2Wait",       ISCSI_KEY_DEFAULT_TIME2WAIT, ISCSI_RULE_MAX, LO | DIRR, 0, 3600, 2, NULL },
    { "DefaultTime2Retain",     ISCSI_KEY_DEFAULT_TIME2RETAIN, ISCSI_RULE_MIN, LO | DIRR, 0, 3600, 20, NULL },
    { "MaxOutstandingR2T",      ISCSI_KEY_MAX_OUTSTANDING_R2T, ISCSI_RULE_MIN, LO | DIRR, 1, 65535, 1, NULL },
    { "DataPDUInOrder",         ISCSI_KEY_DATA_PDU_IN_ORDER, ISCSI_RULE_OR,  LO | DIRR, 0, 1, 1, NULL },
    { "DataSequenceInOrder",    ISCSI_KEY_DATA_SEQUENCE_IN_ORDER, ISCSI_RULE_OR, LO | DIRR, 0, 1, 1, NULL },
    { "ErrorRecoveryLevel",     ISCSI_KEY_ERROR_RECOVERY_LEVEL, ISCSI_RULE_MIN, LO, 0, 2, 0, NULL },
    { "SessionType",            ISCSI_KEY_SESSION_TYPE,      ISCSI_RULE_DECLARATIVE, LO, 0, 0, 0, NULL },
    { "AuthMethod",             ISCSI_KEY_AUTH_METHOD,       ISCSI_RULE_SECURITY, SEC, 0, 0, 0, NULL },
    { "CHAP_A",                 ISCSI_KEY_CHAP_A,            ISCSI_RULE_SECURITY, SEC, 0, 0, 0, NULL },
    { "CHAP_I",                 ISCSI_KEY_CHAP_I,            ISCSI_RULE_SECURITY, SEC, 0, 0, 0, NULL },
    { "CHAP_C",                 ISCSI_KEY_CHAP_C,            ISCSI_RULE_SECURITY, SEC, 0, 0, 0, NULL },
    { "CHAP_N",                 ISCSI_KEY_CHAP_N,            ISCSI_RULE_SECURITY, SEC, 0, 0, 0, NULL },
    { "CHAP_R",                 ISCSI_KEY_CHAP_R,            ISCSI_RULE_SECURITY, SEC, 0, 0, 0, NULL },
    /* Markers are obsolete (RFC 7143 moved them out); No is the only answer. */
    { "OFMarker",               ISCSI_KEY_OF_MARKER,         ISCSI_RULE_AND, IO, 0, 1, 0, NULL },
    { "IFMarker",               ISCSI_KEY_IF_MARKER,         ISCSI_RULE_AND, IO, 0, 1, 0, NULL },
    { "OFMarkInt",              ISCSI_KEY_OF_MARK_INT,       ISCSI_RULE_IRRELEVANT, IO, 0, 0, 0, NULL },
    { "IFMarkInt",              ISCSI_KEY_IF_MARK_INT,       ISCSI_RULE_IRRELEVANT, IO, 0, 0, 0, NULL },
    { "TaskReporting",          ISCSI_KEY_TASK_REPORTING,    ISCSI_RULE_LIST, LO | DIRR, 0, 0, 0, reporting_values },
    { "iSCSIProtocolLevel",     ISCSI_KEY_PROTOCOL_LEVEL,    ISCSI_RULE_MIN, LO | DIRR, 0, 31, 0, NULL },
};

const struct iscsi_key_def *iscsi_key_find(const char *name, size_t len)
{
    for (size_t i = 0; i < ISCSI_KEY_COUNT; i++)
        if (strlen(iscsi_key_table[i].name) == len && memcmp(iscsi_key_table[i].name, name, len) == 0)
            return &iscsi_key_table[i];
    return NULL;
}

void iscsi_params_defaults(struct iscsi_params *p)
{
    for (size_t i = 0; i < ISCSI_KEY_COUNT; i++)
        p->v[iscsi_key_table[i].id] = iscsi_key_table[i].rfc_default;
}

/* ---- negotiation ------------------------------------------------------------ */

static bool parse_bool(const char *v, uint32_t *out)
{
    if (strcmp(v, "Yes") == 0) { *out = 1; return true; }
    if (strcmp(v, "No") == 0)  { *out = 0; return true; }
    return false;
}

/* LIST: the first value of the offer the target allows; -1 when none. */
static int pick_from_list(const struct iscsi_key_def *d, const char *offer, uint32_t allowed_mask)
{
    const char *s = offer;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t l = comma ? (size_t)(comma - s) : strlen(s);
        for (int i = 0; d->values[i]; i++)
            if (strlen(d->values[i]) == l && memcmp(d->values[i], s, l) == 0 && (allowed_mask & (1u << i)))
                return i;
        if (!comma)
            break;
        s = comma + 1;
    }
    return -1;
}

/* A value that is itself an answer (the initiator answering something we
 * never offered) is ignored rather than negotiated. */
static bool is_answer_value(const char *v)
{
    return strcmp(v, "NotUnderstood") == 0 || strcmp(v, "Irrelevant") == 0 || strcmp(v, "Reject") == 0;
}

static void negotiate_one(struct iscsi_negotiator *n, const struct iscsi_key_def *d, const struct iscsi_kv *kv,
                          struct iscsi_text_out *out)
{
    uint32_t *res = &n->result->v[d->id];
    uint32_t pref = n->pref->v[d->id];
    const char *v = kv->value;
    uint32_t b;
    uint64_t num;

    if (is_answer_value(v))
        return;
    if (n->phase == ISCSI_NEG_FULL_FEATURE && (d->flags & ISCSI_KF_LOGIN)) {
        iscsi_text_add(out, d->name, "Reject");
        return;
    }
    if (n->discovery && (d->flags & ISCSI_KF_DISC_IRREL)) {
        iscsi_text_add(out, d->name, "Irrelevant");
        return;
    }
    switch (d->rule) {
    case ISCSI_RULE_IRRELEVANT:
        iscsi_text_add(out, d->name, "Irrelevant");
        return;
    case ISCSI_RULE_LIST: {
        int pick = pick_from_list(d, v, pref);
        if (pick < 0) {
            iscsi_text_add(out, d->name, "Reject");
            return;
        }
        *res = (uint32_t)pick;
        iscsi_text_add(out, d->name, d->values[pick]);
        return;
    }
    case ISCSI_RULE_OR:
    case ISCSI_RULE_AND:
        if (!parse_bool(v, &b)) {
            iscsi_text_add(out, d->name, "Reject");
            return;
        }
        *res = d->rule == ISCSI_RULE_OR ? (b || pref) : (b && pref);
        iscsi_text_add(out, d->name, *res ? "Yes" : "No");
        return;
    case ISCSI_RULE_MIN:
    case ISCSI_RULE_MAX:
        if (iscsi_parse_number(v, &num) < 0 || num < d->min || num > d->max) {
            iscsi_text_add(out, d->name, "Reject");
            return;
        }
        if (d->id == ISCSI_KEY_FIRST_BURST_LENGTH &&
            n->result->v[ISCSI_KEY_INITIAL_R2T] && !n->result->v[ISCSI_KEY_IMMEDIATE_DATA]) {
            /* No unsolicited data at all: the length means nothing. */
            iscsi_text_add(out, d->name, "Irrelevant");
            return;
        }
        if (d->rule == ISCSI_RULE_MIN)
            *res = (uint32_t)(num < pref ? num : pref);
        else
            *res = (uint32_t)(num > pref ? num : pref);
        if (d->id == ISCSI_KEY_FIRST_BURST_LENGTH && *res > n->result->v[ISCSI_KEY_MAX_BURST_LENGTH])
            *res = n->result->v[ISCSI_KEY_MAX_BURST_LENGTH];
        iscsi_text_addf(out, d->name, "%u", *res);
        return;
    case ISCSI_RULE_DECLARATIVE:
        if (d->id == ISCSI_KEY_MAX_RECV_DSL) {
            /* The initiator's receive limit: what our Data-In may carry. */
            if (iscsi_parse_number(v, &num) == 0 && num >= d->min && num <= d->max)
                *res = (uint32_t)num;
            else
                iscsi_text_add(out, d->name, "Reject");
        }
        return;
    case ISCSI_RULE_SECURITY:
        return;
    }
}

int iscsi_negotiate(struct iscsi_negotiator *n, const struct iscsi_kv *kv, size_t count, struct iscsi_text_out *out)
{
    uint64_t in_request = 0;
    const struct iscsi_key_def *defs[ISCSI_TEXT_PAIRS_MAX];
    if (count > ISCSI_TEXT_PAIRS_MAX)
        return -EPROTO;
    for (size_t i = 0; i < count; i++) {
        const struct iscsi_key_def *d = iscsi_key_find(kv[i].key, kv[i].key_len);
        defs[i] = d;
        if (!d)
            continue;
        uint64_t bit = UINT64_C(1) << d->id;
        if (in_request & bit)
            return -EPROTO; /* the same key twice in one request */
        in_request |= bit;
        if ((d->flags & ISCSI_KF_SECURITY) && n->phase != ISCSI_NEG_SECURITY)
            return -EPROTO;
        bool negotiated = d->rule != ISCSI_RULE_DECLARATIVE && d->rule != ISCSI_RULE_SECURITY;
        if (negotiated && (n->seen & bit) && n->phase != ISCSI_NEG_FULL_FEATURE)
            return -EPROTO; /* renegotiating a key within one login */
    }
    for (size_t k = 0; k < ISCSI_KEY_COUNT; k++) {
        for (size_t i = 0; i < count; i++) {
            if (defs[i] != &iscsi_key_table[k])
                continue;
            negotiate_one(n, defs[i], &kv[i], out);
            n->seen |= UINT64_C(1) << defs[i]->id;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (defs[i])
            continue;
        char name[ISCSI_KEY_NAME_MAX + 1];
        memcpy(name, kv[i].key, kv[i].key_len);
        name[kv[i].key_len] = '\0';
        iscsi_text_add(out, name, "NotUnderstood");
    }
    return 0;
}
