/* tests/test_iscsi_malformed.c — hostile and broken initiators, over raw
 * sockets.  Every case checks two things: the bad connection is answered the
 * way the protocol says (a Reject, a failed login, or the connection ends),
 * and a second, healthy session on the same target still logs in, reads,
 * writes and logs out. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scsi/scsi.h"
#include "tests/support/iscsi_client.h"

static struct iscsi_test_server *srv;
static int port;

static void setup(void)
{
    srv = iscsi_test_server_start(NULL);
    port = iscsi_test_server_port(srv);
}

static void teardown(void)
{
    iscsi_test_server_stop(srv);
}

#define HEALTHY() ck_assert_msg(raw_healthy_session(port), "a healthy session failed after the bad one")

/* Receives until a Reject; checks its reason and that it quotes our header. */
static void expect_reject(struct raw_conn *c, uint8_t reason, uint8_t opcode)
{
    struct raw_pdu p;
    ck_assert_msg(raw_recv_opcode(c, 0x3f, &p), "no Reject came back");
    ck_assert_uint_eq(p.bhs[2], reason);
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), 0xffffffffu);
    ck_assert_uint_eq(p.dlen, 48);
    ck_assert_uint_eq(p.data[0] & 0x3f, opcode);
    raw_pdu_free(&p);
}

static void expect_closed(struct raw_conn *c)
{
    ck_assert_msg(raw_wait_closed(c), "the target kept the bad connection open");
}

static void expect_login_status(struct raw_conn *c, int status)
{
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(c, 0x23, &p));
    ck_assert_int_eq(scsi_get_be16(p.bhs + 36), status);
    raw_pdu_free(&p);
    expect_closed(c);
}

static void logged_in(struct raw_conn *c)
{
    raw_connect(c, port);
    ck_assert_int_eq(raw_login(c, ISCSI_TEST_IQN, NULL), 0);
}

/* Starts a 256 KiB WRITE(10) with no immediate data; returns the R2T's TTT. */
static uint32_t start_write(struct raw_conn *c, uint32_t itt)
{
    uint8_t b[RAW_BHS], cdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0 };
    raw_bhs_scsi_cmd(b, itt, c->cmdsn++, 262144, 0x80 | 0x20, cdb, 10, 0);
    ck_assert(raw_send_pdu(c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(c, 0x31, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 40), 0);
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 44), 262144);
    uint32_t ttt = scsi_get_be32(p.bhs + 20);
    raw_pdu_free(&p);
    return ttt;
}

/* The write under itt ends with CHECK CONDITION, ABORTED COMMAND, asc. */
static void expect_write_failed(struct raw_conn *c, uint32_t itt, uint8_t asc, uint8_t ascq)
{
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_ge(p.dlen, 2 + 18);
    ck_assert_uint_eq(p.data[2 + 2] & 0x0f, SCSI_SK_ABORTED_COMMAND);
    ck_assert_uint_eq(p.data[2 + 12], asc);
    ck_assert_uint_eq(p.data[2 + 13], ascq);
    raw_pdu_free(&p);
}

/* A login request in the operational stage with the given flags and text. */
static void send_login(struct raw_conn *c, uint8_t flags, const char *text, size_t len)
{
    uint8_t b[RAW_BHS] = { 0 };
    b[0] = 0x43;
    b[1] = flags;
    memcpy(b + 8, c->isid, 6);
    scsi_put_be32(b + 16, 1);
    scsi_put_be32(b + 24, 1);
    ck_assert(raw_send_pdu(c, b, NULL, 0, text, (uint32_t)len));
}

#define LOGIN_KEYS "InitiatorName=" ISCSI_TEST_INITIATOR "\0TargetName=" ISCSI_TEST_IQN "\0"

/* ---- before and during login ------------------------------------------------- */

START_TEST(garbage_instead_of_login)
{
    struct raw_conn c;
    raw_connect(&c, port);
    uint8_t junk[48];
    for (int i = 0; i < 48; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    junk[0] = 0x0b; /* not a login opcode */
    ck_assert(raw_send_bytes(&c, junk, sizeof(junk)));
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(truncated_header_then_close)
{
    struct raw_conn c;
    raw_connect(&c, port);
    uint8_t half[20] = { 0x43, 0x87 };
    ck_assert(raw_send_bytes(&c, half, sizeof(half)));
    shutdown(c.fd, SHUT_WR);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(truncated_data_segment_then_close)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS];
    raw_bhs_nop_out(b, 9, 0xffffffff, c.cmdsn, true);
    scsi_put_be24(b + 5, 1000); /* announces 1000 bytes, sends 10 */
    ck_assert(raw_send_bytes(&c, b, RAW_BHS));
    ck_assert(raw_send_bytes(&c, "0123456789", 10));
    shutdown(c.fd, SHUT_WR);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(scsi_command_before_login)
{
    struct raw_conn c;
    raw_connect(&c, port);
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, 1, 1, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_data_segment_too_long)
{
    struct raw_conn c;
    raw_connect(&c, port);
    uint8_t b[RAW_BHS] = { 0x43, 0x87 };
    scsi_put_be24(b + 5, 0xffffff);
    ck_assert(raw_send_bytes(&c, b, RAW_BHS));
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_without_initiator_name)
{
    struct raw_conn c;
    raw_connect(&c, port);
    static const char keys[] = "TargetName=" ISCSI_TEST_IQN;
    send_login(&c, 0x87, keys, sizeof(keys));
    expect_login_status(&c, 0x0207);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_unsupported_version)
{
    struct raw_conn c;
    raw_connect(&c, port);
    uint8_t b[RAW_BHS] = { 0x43, 0x87, 5, 5 };
    memcpy(b + 8, c.isid, 6);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1));
    expect_login_status(&c, 0x0205);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_transit_and_continue_together)
{
    struct raw_conn c;
    raw_connect(&c, port);
    send_login(&c, 0x80 | 0x40 | 0x07, LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1);
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_text_not_terminated)
{
    struct raw_conn c;
    raw_connect(&c, port);
    static const char keys[] = "InitiatorName=" ISCSI_TEST_INITIATOR; /* sent without its NUL */
    send_login(&c, 0x87, keys, sizeof(keys) - 1);
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_invalid_next_stage)
{
    struct raw_conn c;
    raw_connect(&c, port);
    send_login(&c, 0x80 | (1 << 2) | 1, LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1); /* 1 -> 1 */
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_starting_in_full_feature_stage)
{
    struct raw_conn c;
    raw_connect(&c, port);
    send_login(&c, (3 << 2), LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1);
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_with_unknown_tsih)
{
    struct raw_conn c;
    raw_connect(&c, port);
    c.tsih = 0x4242;
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, NULL), 0x020a);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_key_twice)
{
    struct raw_conn c;
    raw_connect(&c, port);
    static const char keys[] = LOGIN_KEYS "MaxBurstLength=8192\0MaxBurstLength=16384";
    send_login(&c, 0x87, keys, sizeof(keys));
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_bad_session_type)
{
    struct raw_conn c;
    raw_connect(&c, port);
    static const char keys[] = LOGIN_KEYS "SessionType=Sideways";
    send_login(&c, 0x87, keys, sizeof(keys));
    expect_login_status(&c, 0x0209);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_security_key_in_operational_stage)
{
    struct raw_conn c;
    raw_connect(&c, port);
    static const char keys[] = LOGIN_KEYS "AuthMethod=None";
    send_login(&c, 0x87, keys, sizeof(keys));
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_isid_changes_midway)
{
    struct raw_conn c;
    raw_connect(&c, port);
    send_login(&c, (1 << 2), LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1); /* T=0: stays in stage 1 */
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x23, &p));
    ck_assert_int_eq(scsi_get_be16(p.bhs + 36), 0);
    ck_assert_uint_eq(p.bhs[1] & 0x80, 0);
    raw_pdu_free(&p);
    c.isid[5] ^= 0xff;
    send_login(&c, 0x87, "", 0);
    expect_login_status(&c, 0x0200);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(abandoned_logins)
{
    struct raw_conn c[40];
    for (int i = 0; i < 40; i++) {
        raw_connect(&c[i], port);
        if (i & 1)
            send_login(&c[i], (1 << 2), LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1);
    }
    HEALTHY();
    for (int i = 0; i < 40; i++)
        raw_close(&c[i]);
    HEALTHY();
}
END_TEST

/* ---- full feature phase: framing ------------------------------------------------ */

START_TEST(unknown_opcode_is_rejected_and_the_connection_lives)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS] = { 0x1c, 0x80 };
    ck_assert(raw_send_pdu(&c, b, NULL, 0, "vendor!", 7));
    expect_reject(&c, 0x05, 0x1c);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(target_opcode_from_initiator)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS] = { 0x21, 0x80 };
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_reject(&c, 0x04, 0x21);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(data_segment_beyond_max_recv)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS];
    raw_bhs_nop_out(b, 5, 0xffffffff, c.cmdsn, true);
    scsi_put_be24(b + 5, 262144 + 4);
    ck_assert(raw_send_bytes(&c, b, RAW_BHS));
    expect_reject(&c, 0x04, 0x00);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(bad_header_digest)
{
    struct raw_conn c;
    raw_connect(&c, port);
    c.hdigest = true;
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, NULL), 0);
    ck_assert(c.hdigest);
    ck_assert(raw_tur_ok(&c)); /* digests work both ways */
    uint8_t b[RAW_BHS + 4], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, 0, 0x80, cdb, 6, 0);
    memcpy(b + RAW_BHS, "\xde\xad\xbe\xef", 4);
    ck_assert(raw_send_bytes(&c, b, sizeof(b)));
    expect_closed(&c);
    raw_close(&c);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).digest_errors, 1);
    HEALTHY();
}
END_TEST

START_TEST(bad_data_digest)
{
    struct raw_conn c;
    raw_connect(&c, port);
    c.ddigest = true;
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, NULL), 0);
    ck_assert(c.ddigest);
    /* A good ping with data first: the digest is checked and echoed. */
    uint8_t b[RAW_BHS];
    raw_bhs_nop_out(b, 77, 0xffffffff, c.cmdsn, true);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, "ping", 4));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x20, &p));
    ck_assert_uint_eq(p.dlen, 4);
    ck_assert(memcmp(p.data, "ping", 4) == 0);
    raw_pdu_free(&p);
    /* A ping whose data digest is wrong is rejected and dropped. */
    uint8_t raw[RAW_BHS + 8];
    raw_bhs_nop_out(raw, 78, 0xffffffff, c.cmdsn, true);
    scsi_put_be24(raw + 5, 4);
    memcpy(raw + RAW_BHS, "pong", 4);
    memcpy(raw + RAW_BHS + 4, "\x01\x02\x03\x04", 4);
    ck_assert(raw_send_bytes(&c, raw, sizeof(raw)));
    expect_reject(&c, 0x02, 0x00);
    ck_assert(raw_tur_ok(&c));
    /* Write data with a wrong digest: rejected, and the write fails with
     * PROTOCOL SERVICE CRC ERROR; the connection carries on. */
    uint32_t itt = c.itt++;
    uint32_t ttt = start_write(&c, itt);
    uint8_t dout[RAW_BHS + 512 + 4] = { 0 };
    raw_bhs_data_out(dout, itt, ttt, 0, 0, false, 0);
    scsi_put_be24(dout + 5, 512);
    memcpy(dout + RAW_BHS + 512, "\xba\xad\xf0\x0d", 4);
    ck_assert(raw_send_bytes(&c, dout, sizeof(dout)));
    expect_reject(&c, 0x02, 0x05);
    expect_write_failed(&c, itt, 0x47, 0x05);
    ck_assert(raw_tur_ok(&c));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).digest_errors, 2);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(login_request_in_full_feature_phase)
{
    struct raw_conn c;
    logged_in(&c);
    send_login(&c, 0x87, LOGIN_KEYS, sizeof(LOGIN_KEYS) - 1);
    expect_reject(&c, 0x04, 0x03);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(snack_is_not_supported)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS] = { 0x10, 0x80 };
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_reject(&c, 0x03, 0x10);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(malformed_ahs)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS], cdb[6] = { 0 }, ahs[4] = { 0, 9, 0x3f, 0 };
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(&c, b, ahs, sizeof(ahs), NULL, 0));
    expect_reject(&c, 0x04, 0x01);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(random_pdus)
{
    /* Random opcodes, flags and fields with honest lengths: every one ends in
     * a Reject, a response, silence or a closed connection — never a crash. */
    srand(7);
    for (int round = 0; round < 30; round++) {
        struct raw_conn c;
        logged_in(&c);
        for (int i = 0; i < 20; i++) {
            uint8_t b[RAW_BHS], data[512];
            for (int k = 0; k < RAW_BHS; k++)
                b[k] = (uint8_t)rand();
            b[0] &= 0x5f; /* initiator opcodes, I bit either way */
            for (size_t k = 0; k < sizeof(data); k++)
                data[k] = (uint8_t)rand();
            uint32_t dlen = (uint32_t)(rand() % 513);
            if (!raw_send_pdu(&c, b, NULL, 0, data, dlen))
                break;
        }
        raw_close(&c);
    }
    HEALTHY();
}
END_TEST

START_TEST(random_bytes_after_login)
{
    srand(11);
    for (int round = 0; round < 20; round++) {
        struct raw_conn c;
        logged_in(&c);
        uint8_t junk[2048];
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (uint8_t)rand();
        raw_send_bytes(&c, junk, (size_t)(rand() % (int)sizeof(junk)));
        raw_close(&c);
    }
    HEALTHY();
}
END_TEST

/* ---- full feature phase: commands ---------------------------------------------------- */

/* Sends TUR with the given CmdSN and ITT; no wait. */
static void send_tur(struct raw_conn *c, uint32_t itt, uint32_t cmdsn)
{
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, itt, cmdsn, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(c, b, NULL, 0, NULL, 0));
}

static uint32_t next_response_itt(struct raw_conn *c, uint32_t *exp_cmdsn)
{
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(c, 0x21, &p));
    uint32_t itt = scsi_get_be32(p.bhs + 16);
    *exp_cmdsn = scsi_get_be32(p.bhs + 28);
    raw_pdu_free(&p);
    return itt;
}

START_TEST(cmdsn_beyond_the_window_is_dropped)
{
    struct raw_conn c;
    logged_in(&c);
    send_tur(&c, 100, c.cmdsn + 5000);
    send_tur(&c, 101, c.cmdsn);
    uint32_t exp;
    ck_assert_uint_eq(next_response_itt(&c, &exp), 101);
    ck_assert_uint_eq(exp, c.cmdsn + 1);
    c.cmdsn++;
    ck_assert_uint_eq(iscsi_test_server_stats(srv).commands_dropped, 1);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(old_and_duplicate_cmdsn_are_dropped)
{
    struct raw_conn c;
    logged_in(&c);
    ck_assert(raw_tur_ok(&c)); /* uses cmdsn, cmdsn+1 is next */
    send_tur(&c, 200, c.cmdsn - 1); /* already seen */
    send_tur(&c, 201, c.cmdsn - 100); /* long gone */
    send_tur(&c, 202, c.cmdsn);
    uint32_t exp;
    ck_assert_uint_eq(next_response_itt(&c, &exp), 202);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).commands_dropped, 2);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(reserved_itt_is_rejected)
{
    struct raw_conn c;
    logged_in(&c);
    send_tur(&c, 0xffffffff, c.cmdsn);
    expect_reject(&c, 0x09, 0x01);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(immediate_data_on_a_read)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS], cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, 512, 0x80 | 0x40, cdb, 10, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, "data", 4));
    expect_reject(&c, 0x04, 0x01);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(immediate_data_beyond_expected_length)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS], cdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, data[1024] = { 0 };
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, 512, 0x80 | 0x20, cdb, 10, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    expect_reject(&c, 0x04, 0x01);
    expect_closed(&c);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(expected_length_beyond_the_limit)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS], cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0 };
    uint32_t itt = c.itt++;
    raw_bhs_scsi_cmd(b, itt, c.cmdsn++, 0x7fffffff, 0x80 | 0x40, cdb, 10, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_ge(p.dlen, 2 + 18);
    ck_assert_uint_eq(p.data[2 + 2] & 0x0f, SCSI_SK_ILLEGAL_REQUEST);
    raw_pdu_free(&p);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(extended_cdb_and_bidirectional_get_check_condition)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS], cdb[16] = { 0x7f }, ahs[8] = { 0, 5, 1, 0, 1, 2, 3, 4 };
    uint32_t itt = c.itt++;
    raw_bhs_scsi_cmd(b, itt, c.cmdsn++, 0, 0x80, cdb, 16, 0);
    ck_assert(raw_send_pdu(&c, b, ahs, sizeof(ahs), NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_CHECK_CONDITION);
    raw_pdu_free(&p);
    itt = c.itt++;
    raw_bhs_scsi_cmd(b, itt, c.cmdsn++, 512, 0x80 | 0x40 | 0x20, cdb, 16, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_CHECK_CONDITION);
    raw_pdu_free(&p);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST



START_TEST(data_out_with_unknown_transfer_tag)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    uint32_t ttt = start_write(&c, itt);
    uint8_t b[RAW_BHS], data[512] = { 0 };
    raw_bhs_data_out(b, itt, ttt ^ 0x00010000, 0, 0, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    expect_reject(&c, 0x09, 0x05);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(data_out_with_wrong_datasn)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    uint32_t ttt = start_write(&c, itt);
    uint8_t b[RAW_BHS], data[512] = { 0 };
    raw_bhs_data_out(b, itt, ttt, 3, 0, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    expect_reject(&c, 0x04, 0x05);
    expect_write_failed(&c, itt, 0x4b, 0x00); /* DATA PHASE ERROR */
    /* The rest of the burst is discarded; the connection carries on. */
    raw_bhs_data_out(b, itt, ttt, 1, 512, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(data_out_with_wrong_offset)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    uint32_t ttt = start_write(&c, itt);
    uint8_t b[RAW_BHS], data[512] = { 0 };
    raw_bhs_data_out(b, itt, ttt, 0, 4096, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    expect_reject(&c, 0x04, 0x05);
    expect_write_failed(&c, itt, 0x4b, 0x00); /* DATA PHASE ERROR */
    /* The rest of the burst is discarded; the connection carries on. */
    raw_bhs_data_out(b, itt, ttt, 1, 512, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(data_out_beyond_the_burst)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    uint32_t ttt = start_write(&c, itt);
    uint8_t b[RAW_BHS];
    uint8_t *data = calloc(1, 65536);
    uint32_t off = 0;
    for (uint32_t sn = 0; sn < 4; sn++, off += 65536) {
        raw_bhs_data_out(b, itt, ttt, sn, off, sn == 3, 0);
        ck_assert(raw_send_pdu(&c, b, NULL, 0, data, 65536));
    }
    /* The burst is complete and the command runs; one more is too many:
     * discarded (or, once the tag is retired, rejected) — never written. */
    memset(data, 0xcc, 512);
    raw_bhs_data_out(b, itt, ttt, 4, off, true, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, 512));
    free(data);
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
    raw_pdu_free(&p);
    ck_assert(raw_tur_ok(&c));
    uint8_t after[512];
    ck_assert_int_eq(iscsi_test_server_peek(srv, 0, 512 * 512, after, sizeof(after)), 0);
    ck_assert_uint_eq(after[0], 0);
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(data_out_final_before_the_end)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    uint32_t ttt = start_write(&c, itt);
    uint8_t b[RAW_BHS], data[512] = { 0 };
    raw_bhs_data_out(b, itt, ttt, 0, 0, true, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    expect_reject(&c, 0x04, 0x05);
    expect_write_failed(&c, itt, 0x4b, 0x00); /* DATA PHASE ERROR */
    /* The rest of the burst is discarded; the connection carries on. */
    raw_bhs_data_out(b, itt, ttt, 1, 512, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(unsolicited_data_out_after_final_command)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    start_write(&c, itt); /* F=1: no unsolicited data may follow */
    uint8_t b[RAW_BHS], data[512] = { 0 };
    raw_bhs_data_out(b, itt, 0xffffffff, 0, 0, false, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, sizeof(data)));
    expect_reject(&c, 0x04, 0x05);
    expect_write_failed(&c, itt, 0x4b, 0x00);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(task_tag_already_in_use)
{
    struct raw_conn c;
    logged_in(&c);
    uint32_t itt = c.itt++;
    start_write(&c, itt); /* waits for data under this tag */
    send_tur(&c, itt, c.cmdsn++);
    expect_reject(&c, 0x07, 0x01);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(nop_out_with_both_tags)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS];
    raw_bhs_nop_out(b, 12, 34, c.cmdsn, true);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_reject(&c, 0x09, 0x00);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(malformed_text_request)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS];
    raw_bhs_text(b, c.itt++, 0xffffffff, c.cmdsn++, 0x80);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, "NoEqualsSign", 12)); /* and no NUL */
    expect_reject(&c, 0x04, 0x04);
    raw_bhs_text(b, c.itt++, 0x12345678, c.cmdsn++, 0x80); /* a tag the target never gave */
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_reject(&c, 0x09, 0x04);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(text_too_long_over_continuations)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS];
    char *chunk = malloc(16384);
    memset(chunk, 'a', 16384);
    uint32_t itt = c.itt++, ttt = 0xffffffff;
    bool rejected = false;
    for (int i = 0; i < 8 && !rejected; i++) {
        raw_bhs_text(b, itt, ttt, c.cmdsn++, 0x40); /* C bit: more to come */
        ck_assert(raw_send_pdu(&c, b, NULL, 0, chunk, 16384));
        struct raw_pdu p;
        ck_assert(raw_recv_pdu(&c, &p));
        if ((p.bhs[0] & 0x3f) == 0x3f) {
            rejected = true;
            ck_assert_uint_eq(p.bhs[2], 0x0a);
        } else {
            ck_assert_uint_eq(p.bhs[0] & 0x3f, 0x24);
            ttt = scsi_get_be32(p.bhs + 20);
        }
        raw_pdu_free(&p);
    }
    free(chunk);
    ck_assert(rejected);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(tmf_and_logout_with_bad_fields)
{
    struct raw_conn c;
    logged_in(&c);
    uint8_t b[RAW_BHS];
    raw_bhs_tmf(b, 0xffffffff, c.cmdsn, 5, 0xffffffff, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_reject(&c, 0x09, 0x02);
    raw_bhs_logout(b, c.itt++, c.cmdsn, 0x33);
    b[0] = 0x46;
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    expect_reject(&c, 0x09, 0x06);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    HEALTHY();
}
END_TEST

START_TEST(initiator_that_never_reads_is_throttled)
{
    /* Pings with 64 KiB of data each, answers never read: the target must
     * stop reading (TCP pushes back) instead of buffering echoes forever. */
    struct raw_conn c;
    logged_in(&c);
    uint8_t *data = calloc(1, 65536);
    uint8_t pdu[RAW_BHS + 65536];
    size_t sent = 0;
    bool blocked = false;
    for (int i = 0; i < 4096 && !blocked; i++) {
        raw_bhs_nop_out(pdu, (uint32_t)(i + 1), 0xffffffff, c.cmdsn, true);
        scsi_put_be24(pdu + 5, 65536);
        memcpy(pdu + RAW_BHS, data, 65536);
        size_t off = 0;
        while (off < sizeof(pdu)) {
            ssize_t n = send(c.fd, pdu + off, sizeof(pdu) - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* Give the target a moment, then decide. */
                usleep(20000);
                n = send(c.fd, pdu + off, sizeof(pdu) - off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                    blocked = true;
                    break;
                }
            }
            ck_assert_int_ge(n, 0);
            off += (size_t)n;
            sent += (size_t)n;
        }
    }
    free(data);
    ck_assert_msg(blocked, "the target swallowed %zu bytes without pausing", sent);
    ck_assert_uint_lt(sent, 200u << 20);
    HEALTHY(); /* others are served meanwhile */
    raw_close(&c);
    HEALTHY();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_malformed");
    TCase *tc = tcase_create("login");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 25);
    tcase_add_test(tc, garbage_instead_of_login);
    tcase_add_test(tc, truncated_header_then_close);
    tcase_add_test(tc, truncated_data_segment_then_close);
    tcase_add_test(tc, scsi_command_before_login);
    tcase_add_test(tc, login_data_segment_too_long);
    tcase_add_test(tc, login_without_initiator_name);
    tcase_add_test(tc, login_unsupported_version);
    tcase_add_test(tc, login_transit_and_continue_together);
    tcase_add_test(tc, login_text_not_terminated);
    tcase_add_test(tc, login_invalid_next_stage);
    tcase_add_test(tc, login_starting_in_full_feature_stage);
    tcase_add_test(tc, login_with_unknown_tsih);
    tcase_add_test(tc, login_key_twice);
    tcase_add_test(tc, login_bad_session_type);
    tcase_add_test(tc, login_security_key_in_operational_stage);
    tcase_add_test(tc, login_isid_changes_midway);
    tcase_add_test(tc, abandoned_logins);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 25);
    tcase_add_test(tc, unknown_opcode_is_rejected_and_the_connection_lives);
    tcase_add_test(tc, target_opcode_from_initiator);
    tcase_add_test(tc, data_segment_beyond_max_recv);
    tcase_add_test(tc, bad_header_digest);
    tcase_add_test(tc, bad_data_digest);
    tcase_add_test(tc, login_request_in_full_feature_phase);
    tcase_add_test(tc, snack_is_not_supported);
    tcase_add_test(tc, malformed_ahs);
    tcase_add_test(tc, random_pdus);
    tcase_add_test(tc, random_bytes_after_login);
    tcase_add_test(tc, initiator_that_never_reads_is_throttled);
    suite_add_tcase(s, tc);

    tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 25);
    tcase_add_test(tc, cmdsn_beyond_the_window_is_dropped);
    tcase_add_test(tc, old_and_duplicate_cmdsn_are_dropped);
    tcase_add_test(tc, reserved_itt_is_rejected);
    tcase_add_test(tc, immediate_data_on_a_read);
    tcase_add_test(tc, immediate_data_beyond_expected_length);
    tcase_add_test(tc, expected_length_beyond_the_limit);
    tcase_add_test(tc, extended_cdb_and_bidirectional_get_check_condition);
    tcase_add_test(tc, data_out_with_unknown_transfer_tag);
    tcase_add_test(tc, data_out_with_wrong_datasn);
    tcase_add_test(tc, data_out_with_wrong_offset);
    tcase_add_test(tc, data_out_beyond_the_burst);
    tcase_add_test(tc, data_out_final_before_the_end);
    tcase_add_test(tc, unsolicited_data_out_after_final_command);
    tcase_add_test(tc, task_tag_already_in_use);
    tcase_add_test(tc, nop_out_with_both_tags);
    tcase_add_test(tc, malformed_text_request);
    tcase_add_test(tc, text_too_long_over_continuations);
    tcase_add_test(tc, tmf_and_logout_with_bad_fields);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
