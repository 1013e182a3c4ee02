/* tests/test_iscsi_keys.c — text parsing and the negotiation table: every
 * combining rule, Reject / Irrelevant / NotUnderstood, and the errors that
 * must fail a login. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <string.h>

#include "host/iscsi_keys.h"

/* Text with pairs separated by '\n' in the source, NUL on the wire. */
static size_t wire(const char *s, uint8_t *out)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] == '\n' ? 0 : (uint8_t)s[i];
    out[n] = 0;
    return n + 1;
}

START_TEST(parse_pairs)
{
    uint8_t t[256];
    size_t n = wire("InitiatorName=iqn.x:y\nMaxBurstLength=512\nX-vendor.key=\n\nEmpty=", t);
    struct iscsi_kv kv[8];
    int r = iscsi_text_parse(t, n, kv, 8);
    ck_assert_int_eq(r, 4);
    ck_assert(iscsi_kv_is(&kv[0], "InitiatorName"));
    ck_assert_str_eq(kv[0].value, "iqn.x:y");
    ck_assert(iscsi_kv_is(&kv[1], "MaxBurstLength"));
    ck_assert_str_eq(kv[1].value, "512");
    ck_assert(iscsi_kv_is(&kv[2], "X-vendor.key"));
    ck_assert_uint_eq(kv[2].value_len, 0);
    ck_assert(iscsi_kv_is(&kv[3], "Empty"));
}
END_TEST

START_TEST(parse_rejects_malformed_text)
{
    struct iscsi_kv kv[4];
    uint8_t t[600];
    size_t n = wire("NoEqualsSign", t);
    ck_assert_int_eq(iscsi_text_parse(t, n, kv, 4), -EPROTO);
    n = wire("=value", t);
    ck_assert_int_eq(iscsi_text_parse(t, n, kv, 4), -EPROTO);
    n = wire("Bad Key=1", t);
    ck_assert_int_eq(iscsi_text_parse(t, n, kv, 4), -EPROTO);
    /* The last pair is not NUL-terminated. */
    memcpy(t, "A=1", 3);
    ck_assert_int_eq(iscsi_text_parse(t, 3, kv, 4), -EPROTO);
    /* A value longer than 255 bytes. */
    memcpy(t, "K=", 2);
    memset(t + 2, 'v', 300);
    t[302] = 0;
    ck_assert_int_eq(iscsi_text_parse(t, 303, kv, 4), -EPROTO);
    /* A key longer than 63 bytes. */
    memset(t, 'k', 64);
    t[64] = '=';
    t[65] = 0;
    ck_assert_int_eq(iscsi_text_parse(t, 66, kv, 4), -EPROTO);
    n = wire("A=1\nB=2\nC=3\nD=4\nE=5", t);
    ck_assert_int_eq(iscsi_text_parse(t, n, kv, 4), -E2BIG);
}
END_TEST

START_TEST(numbers)
{
    uint64_t v;
    ck_assert_int_eq(iscsi_parse_number("262144", &v), 0);
    ck_assert_uint_eq(v, 262144);
    ck_assert_int_eq(iscsi_parse_number("0x200", &v), 0);
    ck_assert_uint_eq(v, 512);
    ck_assert_int_eq(iscsi_parse_number("", &v), -EINVAL);
    ck_assert_int_eq(iscsi_parse_number("0x", &v), -EINVAL);
    ck_assert_int_eq(iscsi_parse_number("12a", &v), -EINVAL);
    ck_assert_int_eq(iscsi_parse_number("-1", &v), -EINVAL);
    ck_assert_int_eq(iscsi_parse_number("99999999999999999999999", &v), -EINVAL);
}
END_TEST

/* Negotiates text against a target preferring the defaults of the brief. */
struct neg {
    struct iscsi_params result, pref;
    struct iscsi_negotiator n;
    struct iscsi_text_out out;
    char answer[2048];
};

static void neg_init(struct neg *g, enum iscsi_neg_phase phase, bool discovery)
{
    memset(g, 0, sizeof(*g));
    iscsi_params_defaults(&g->result);
    iscsi_params_defaults(&g->pref);
    g->pref.v[ISCSI_KEY_HEADER_DIGEST] = 3; /* None and CRC32C */
    g->pref.v[ISCSI_KEY_DATA_DIGEST] = 1;   /* None only */
    g->pref.v[ISCSI_KEY_INITIAL_R2T] = 0;
    g->pref.v[ISCSI_KEY_IMMEDIATE_DATA] = 1;
    g->pref.v[ISCSI_KEY_MAX_BURST_LENGTH] = 1048576;
    g->pref.v[ISCSI_KEY_FIRST_BURST_LENGTH] = 262144;
    g->pref.v[ISCSI_KEY_DEFAULT_TIME2WAIT] = 2;
    g->pref.v[ISCSI_KEY_DEFAULT_TIME2RETAIN] = 20;
    g->pref.v[ISCSI_KEY_ERROR_RECOVERY_LEVEL] = 0;
    g->pref.v[ISCSI_KEY_TASK_REPORTING] = 1;
    g->pref.v[ISCSI_KEY_PROTOCOL_LEVEL] = 1;
    g->n.result = &g->result;
    g->n.pref = &g->pref;
    g->n.phase = phase;
    g->n.discovery = discovery;
    iscsi_text_out_init(&g->out, 8192);
}

/* Runs one request; the answer comes back with '\n' between pairs. */
static int neg_run(struct neg *g, const char *text)
{
    uint8_t t[1024];
    size_t n = wire(text, t);
    struct iscsi_kv kv[32];
    int c = iscsi_text_parse(t, n, kv, 32);
    ck_assert_int_ge(c, 0);
    tbuf_reset(&g->out.text);
    int r = iscsi_negotiate(&g->n, kv, (size_t)c, &g->out);
    size_t l = g->out.text.len < sizeof(g->answer) - 1 ? g->out.text.len : sizeof(g->answer) - 1;
    memcpy(g->answer, tbuf_str(&g->out.text), l);
    for (size_t i = 0; i < l; i++)
        if (g->answer[i] == 0)
            g->answer[i] = '\n';
    g->answer[l] = 0;
    return r;
}

START_TEST(minimum_and_maximum)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "MaxBurstLength=16776192\nFirstBurstLength=65536\nDefaultTime2Wait=0\n"
                                 "DefaultTime2Retain=0\nMaxOutstandingR2T=8\nErrorRecoveryLevel=2"), 0);
    ck_assert_str_eq(g.answer, "MaxBurstLength=1048576\nFirstBurstLength=65536\nDefaultTime2Wait=2\n"
                               "DefaultTime2Retain=0\nMaxOutstandingR2T=1\nErrorRecoveryLevel=0\n");
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_BURST_LENGTH], 1048576);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_FIRST_BURST_LENGTH], 65536);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_DEFAULT_TIME2WAIT], 2);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_OUTSTANDING_R2T], 1);
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(first_burst_never_exceeds_max_burst)
{
    /* Offered in the "wrong" order: the table settles MaxBurstLength first. */
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "FirstBurstLength=262144\nMaxBurstLength=4096"), 0);
    ck_assert_str_eq(g.answer, "MaxBurstLength=4096\nFirstBurstLength=4096\n");
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(boolean_or_and)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "InitialR2T=No\nImmediateData=Yes\nDataPDUInOrder=No\nIFMarker=Yes"), 0);
    ck_assert_str_eq(g.answer, "InitialR2T=No\nImmediateData=Yes\nDataPDUInOrder=Yes\nIFMarker=No\n");
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_INITIAL_R2T], 0);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_IMMEDIATE_DATA], 1);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_DATA_PDU_IN_ORDER], 1);
    iscsi_text_out_free(&g.out);

    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "InitialR2T=Yes\nImmediateData=No"), 0);
    ck_assert_str_eq(g.answer, "InitialR2T=Yes\nImmediateData=No\n");
    ck_assert_int_eq(neg_run(&g, "FirstBurstLength=8192"), 0);
    ck_assert_str_eq(g.answer, "FirstBurstLength=Irrelevant\n");
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(lists_pick_the_first_acceptable)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "HeaderDigest=CRC32C,None\nDataDigest=CRC32C,None"), 0);
    ck_assert_str_eq(g.answer, "HeaderDigest=CRC32C\nDataDigest=None\n");
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_HEADER_DIGEST], ISCSI_DIGEST_CRC32C);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_DATA_DIGEST], ISCSI_DIGEST_NONE);
    iscsi_text_out_free(&g.out);

    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "DataDigest=CRC32C,MD5\nTaskReporting=FastAbort,RFC3720"), 0);
    ck_assert_str_eq(g.answer, "DataDigest=Reject\nTaskReporting=RFC3720\n");
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_DATA_DIGEST], ISCSI_DIGEST_NONE);
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(invalid_values_are_rejected)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "MaxBurstLength=100\nInitialR2T=Maybe\nMaxOutstandingR2T=0\n"
                                 "ErrorRecoveryLevel=banana\nMaxRecvDataSegmentLength=16777216"), 0);
    ck_assert_str_eq(g.answer, "InitialR2T=Reject\nMaxRecvDataSegmentLength=Reject\nMaxBurstLength=Reject\n"
                               "MaxOutstandingR2T=Reject\nErrorRecoveryLevel=Reject\n");
    /* Rejected keys keep their defaults. */
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_BURST_LENGTH], 262144);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_RECV_DSL], 8192);
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(declarations_get_no_answer)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "InitiatorName=iqn.a:b\nInitiatorAlias=host\nMaxRecvDataSegmentLength=65536\n"
                                 "SessionType=Normal\nTargetAlias=pretend"), 0);
    ck_assert_str_eq(g.answer, "");
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_RECV_DSL], 65536);
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(unknown_keys_are_not_understood)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "X-com.example.Feature=on\nFancyNewKey=1\nOFMarkInt=2048~8192"), 0);
    ck_assert_str_eq(g.answer, "OFMarkInt=Irrelevant\nX-com.example.Feature=NotUnderstood\nFancyNewKey=NotUnderstood\n");
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(discovery_makes_session_keys_irrelevant)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, true);
    ck_assert_int_eq(neg_run(&g, "HeaderDigest=None\nInitialR2T=No\nMaxBurstLength=8192\nMaxConnections=1"), 0);
    ck_assert_str_eq(g.answer, "HeaderDigest=None\nMaxConnections=Irrelevant\nInitialR2T=Irrelevant\n"
                               "MaxBurstLength=Irrelevant\n");
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(protocol_errors)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "MaxBurstLength=8192\nMaxBurstLength=4096"), -EPROTO);
    iscsi_text_out_free(&g.out);

    neg_init(&g, ISCSI_NEG_OPERATIONAL, false);
    ck_assert_int_eq(neg_run(&g, "MaxBurstLength=8192"), 0);
    ck_assert_int_eq(neg_run(&g, "MaxBurstLength=4096"), -EPROTO); /* again, same login */
    ck_assert_int_eq(neg_run(&g, "AuthMethod=None"), -EPROTO);     /* security key, wrong stage */
    iscsi_text_out_free(&g.out);

    neg_init(&g, ISCSI_NEG_SECURITY, false);
    ck_assert_int_eq(neg_run(&g, "AuthMethod=CHAP,None\nMaxBurstLength=8192"), 0);
    ck_assert_str_eq(g.answer, "MaxBurstLength=8192\n"); /* AuthMethod is the login's */
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(full_feature_phase_rejects_login_keys)
{
    struct neg g;
    neg_init(&g, ISCSI_NEG_FULL_FEATURE, false);
    ck_assert_int_eq(neg_run(&g, "MaxBurstLength=8192\nMaxRecvDataSegmentLength=4096"), 0);
    ck_assert_str_eq(g.answer, "MaxBurstLength=Reject\n");
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_RECV_DSL], 4096);
    /* Keys may be renegotiated in later text exchanges. */
    ck_assert_int_eq(neg_run(&g, "MaxRecvDataSegmentLength=8192"), 0);
    ck_assert_uint_eq(g.result.v[ISCSI_KEY_MAX_RECV_DSL], 8192);
    iscsi_text_out_free(&g.out);
}
END_TEST

START_TEST(answer_text_is_bounded)
{
    struct iscsi_text_out o;
    iscsi_text_out_init(&o, 20);
    iscsi_text_add(&o, "Key", "value");       /* 10 bytes */
    ck_assert(!o.overflow);
    iscsi_text_add(&o, "Another", "value12"); /* 16 more: over */
    ck_assert(o.overflow);
    ck_assert_uint_eq(o.text.len, 10);
    iscsi_text_out_free(&o);
}
END_TEST

START_TEST(table_is_indexed_by_id)
{
    for (int i = 0; i < ISCSI_KEY_COUNT; i++) {
        ck_assert_int_eq(iscsi_key_table[i].id, i);
        const struct iscsi_key_def *d = iscsi_key_find(iscsi_key_table[i].name, strlen(iscsi_key_table[i].name));
        ck_assert_ptr_eq(d, &iscsi_key_table[i]);
    }
    ck_assert_ptr_null(iscsi_key_find("MaxBurst", 8));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_keys");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, parse_pairs);
    tcase_add_test(tc, parse_rejects_malformed_text);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, minimum_and_maximum);
    tcase_add_test(tc, first_burst_never_exceeds_max_burst);
    tcase_add_test(tc, boolean_or_and);
    tcase_add_test(tc, lists_pick_the_first_acceptable);
    tcase_add_test(tc, invalid_values_are_rejected);
    tcase_add_test(tc, declarations_get_no_answer);
    tcase_add_test(tc, unknown_keys_are_not_understood);
    tcase_add_test(tc, discovery_makes_session_keys_irrelevant);
    tcase_add_test(tc, protocol_errors);
    tcase_add_test(tc, full_feature_phase_rejects_login_keys);
    tcase_add_test(tc, answer_text_is_bounded);
    tcase_add_test(tc, table_is_indexed_by_id);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
