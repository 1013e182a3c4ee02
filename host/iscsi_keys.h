/* host/iscsi_keys.h — iSCSI text keys: key=value parsing, answer building,
 * and the negotiation TABLE (RFC 7143 sections 6 and 13).
 *
 * Each key has a row: its combining rule, the values it may take, where it
 * may appear (security stage, login only, leading login only, any time), its
 * RFC default, and whether it is irrelevant in a discovery session.  The
 * negotiator walks a request's pairs in table order (so MaxBurstLength is
 * settled before FirstBurstLength is clamped by it), answers each offered key
 * with the combined value, and records the result:
 *
 *   rule         result                                  answer when invalid
 *   MIN / MAX    min / max(offer, target preference)     Reject
 *   OR / AND     offer || pref, offer && pref (Yes/No)   Reject
 *   LIST         first offered value the target allows   Reject
 *   DECLARATIVE  the sender's value, no answer           -
 *   SECURITY     handled by the login (AuthMethod, CHAP_*)
 *   unknown key  NotUnderstood;  irrelevant key: Irrelevant
 *
 * Keys not offered keep their RFC defaults (the target never offers keys of
 * its own, so a login never waits on an answer from the initiator).
 */
#ifndef HOST_ISCSI_KEYS_H
#define HOST_ISCSI_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/tbuf.h"

#define ISCSI_KEY_NAME_MAX   63
#define ISCSI_VALUE_MAX      255
#define ISCSI_VALUE_LONG_MAX 1024 /* CHAP binary values */
#define ISCSI_TEXT_PAIRS_MAX 128  /* pairs per request */

/* One key=value pair pointing into the received text (not NUL-terminated
 * at the key; the value is NUL-terminated in the text). */
struct iscsi_kv {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

/* Splits text (key=value\0 ...) into pairs.  Empty strings are skipped.
 * Returns the number of pairs, or -EPROTO (no '=', bad key, value too long,
 * unterminated last pair) or -E2BIG (more than max pairs). */
int iscsi_text_parse(const uint8_t *text, size_t len, struct iscsi_kv *out, size_t max);
bool iscsi_kv_is(const struct iscsi_kv *kv, const char *key);

/* Growing answer text with a hard cap; overflow is sticky. */
struct iscsi_text_out {
    struct tbuf text; /* key=value\0 ... */
    size_t limit;     /* bytes the text may not exceed */
    bool overflow;    /* past the limit, or out of memory */
};
void iscsi_text_out_init(struct iscsi_text_out *o, size_t limit);
void iscsi_text_out_free(struct iscsi_text_out *o);
void iscsi_text_add(struct iscsi_text_out *o, const char *key, const char *value);
void iscsi_text_addf(struct iscsi_text_out *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Numeric value: decimal, or hex with 0x.  -EINVAL when not a number. */
int iscsi_parse_number(const char *value, uint64_t *out);

enum iscsi_key_id {
    ISCSI_KEY_HEADER_DIGEST,
    ISCSI_KEY_DATA_DIGEST,
    ISCSI_KEY_MAX_CONNECTIONS,
    ISCSI_KEY_SEND_TARGETS,
    ISCSI_KEY_TARGET_NAME,
    ISCSI_KEY_INITIATOR_NAME,
    ISCSI_KEY_TARGET_ALIAS,
    ISCSI_KEY_INITIATOR_ALIAS,
    ISCSI_KEY_TARGET_ADDRESS,
    ISCSI_KEY_TARGET_PORTAL_GROUP_TAG,
    ISCSI_KEY_INITIAL_R2T,
    ISCSI_KEY_IMMEDIATE_DATA,
    ISCSI_KEY_MAX_RECV_DSL,
    ISCSI_KEY_MAX_BURST_LENGTH,
    ISCSI_KEY_FIRST_BURST_LENGTH,
    ISCSI_KEY_DEFAULT_TIME2WAIT,
    ISCSI_KEY_DEFAULT_TIME2RETAIN,
    ISCSI_KEY_MAX_OUTSTANDING_R2T,
    ISCSI_KEY_DATA_PDU_IN_ORDER,
    ISCSI_KEY_DATA_SEQUENCE_IN_ORDER,
    ISCSI_KEY_ERROR_RECOVERY_LEVEL,
    ISCSI_KEY_SESSION_TYPE,
    ISCSI_KEY_AUTH_METHOD,
    ISCSI_KEY_CHAP_A,
    ISCSI_KEY_CHAP_I,
    ISCSI_KEY_CHAP_C,
    ISCSI_KEY_CHAP_N,
    ISCSI_KEY_CHAP_R,
    ISCSI_KEY_OF_MARKER,
    ISCSI_KEY_IF_MARKER,
    ISCSI_KEY_OF_MARK_INT,
    ISCSI_KEY_IF_MARK_INT,
    ISCSI_KEY_TASK_REPORTING,
    ISCSI_KEY_PROTOCOL_LEVEL,
    ISCSI_KEY_COUNT
};

enum iscsi_key_rule {
    ISCSI_RULE_DECLARATIVE,
    ISCSI_RULE_LIST,
    ISCSI_RULE_MIN,
    ISCSI_RULE_MAX,
    ISCSI_RULE_OR,
    ISCSI_RULE_AND,
    ISCSI_RULE_SECURITY,   /* handled by the login state machine */
    ISCSI_RULE_IRRELEVANT, /* always answered Irrelevant (marker intervals) */
};

/* Where a key may appear and how it behaves. */
#define ISCSI_KF_SECURITY   0x01 /* only in the security stage */
#define ISCSI_KF_LOGIN      0x02 /* only during login (IO / LO) */
#define ISCSI_KF_LEADING    0x04 /* only in the leading login of a session (LO) */
#define ISCSI_KF_DISC_IRREL 0x08 /* Irrelevant when SessionType=Discovery */
#define ISCSI_KF_TARGET_DECL 0x10 /* declared by the target only */

struct iscsi_key_def {
    const char *name;
    enum iscsi_key_id id;
    enum iscsi_key_rule rule;
    uint8_t flags;
    uint32_t min, max;            /* numeric range */
    uint32_t rfc_default;         /* numbers, 0/1 for No/Yes, list index */
    const char *const *values;    /* LIST: the values known, NULL-terminated */
};

/* The table, in negotiation order, and a lookup by name. */
extern const struct iscsi_key_def iscsi_key_table[ISCSI_KEY_COUNT];
const struct iscsi_key_def *iscsi_key_find(const char *name, size_t len);

/* Digest list values (index into the HeaderDigest/DataDigest values). */
enum { ISCSI_DIGEST_NONE = 0, ISCSI_DIGEST_CRC32C = 1 };

/* Results (or preferences) for every key, by id. */
struct iscsi_params {
    uint32_t v[ISCSI_KEY_COUNT];
};
/* RFC defaults for every key. */
void iscsi_params_defaults(struct iscsi_params *p);

enum iscsi_neg_phase {
    ISCSI_NEG_SECURITY,
    ISCSI_NEG_OPERATIONAL,
    ISCSI_NEG_FULL_FEATURE,
};

struct iscsi_negotiator {
    struct iscsi_params *result;       /* starts at RFC defaults */
    const struct iscsi_params *pref;   /* the target's choices; LIST: bitmask of allowed values */
    enum iscsi_neg_phase phase;
    bool discovery;
    uint64_t seen;                     /* keys negotiated so far (bit per id) */
};

/* Negotiates every pair of one request in table order and appends answers
 * to out.  Security keys and the declarative names are left to the caller
 * (it reads them with iscsi_kv_is).  Unknown keys get NotUnderstood.
 * Returns 0, or -EPROTO when the initiator broke the rules so badly the login
 * must fail: a key offered twice in one request, a negotiated key offered
 * again later in the same login, a security key outside the security stage.
 * Keys only the target declares (TargetAlias, ...) are ignored. */
int iscsi_negotiate(struct iscsi_negotiator *n, const struct iscsi_kv *kv, size_t count, struct iscsi_text_out *out);

#endif
