/* tests/test_iscsi_protocol.c — protocol behaviour a stock initiator never
 * exercises, checked PDU by PDU over a raw socket: Data-In sequencing
 * (DataSN, offsets, F and S bits, MaxBurstLength sequences), unsolicited
 * Data-Out and multiple R2Ts, the CmdSN window, immediate commands, NOP-In
 * pings, text continuations, logout variants, security-stage logins with CHAP
 * in base64, session reinstatement, and data digests end to end. */
#include "tests/support/testutil.h"

#include <ctype.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scsi/scsi.h"
#include "tests/support/iscsi_client.h"

static struct iscsi_test_server *srv;
static int port;

static void start_cfg(struct iscsi_test_config *cfg)
{
    srv = iscsi_test_server_start(cfg);
    port = iscsi_test_server_port(srv);
}

static void setup(void)
{
    start_cfg(NULL);
}

static void teardown(void)
{
    iscsi_test_server_stop(srv);
}

static void login(struct raw_conn *c, const char *extra)
{
    raw_connect(c, port);
    ck_assert_int_eq(raw_login(c, ISCSI_TEST_IQN, extra), 0);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 9));
}

/* Sends a READ(16) of len bytes at lba and checks every Data-In on the way.
 * Returns the bytes read (malloc'd); *pdus counts Data-In PDUs. */
static uint8_t *read_checked(struct raw_conn *c, uint64_t lba, uint32_t len, uint32_t mrdsl, uint32_t mbl,
                             unsigned *pdus)
{
    uint8_t b[RAW_BHS], cdb[16] = { 0x88 };
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, len / 512);
    uint32_t itt = c->itt++;
    raw_bhs_scsi_cmd(b, itt, c->cmdsn++, len, 0x80 | 0x40, cdb, 16, 0);
    ck_assert(raw_send_pdu(c, b, NULL, 0, NULL, 0));
    uint8_t *out = malloc(len);
    uint32_t expect_off = 0, expect_sn = 0, in_burst = 0;
    *pdus = 0;
    for (;;) {
        struct raw_pdu p;
        ck_assert(raw_recv_pdu(c, &p));
        ck_assert_uint_eq(p.bhs[0] & 0x3f, 0x25);
        ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
        ck_assert_uint_eq(scsi_get_be32(p.bhs + 20), 0xffffffffu);
        ck_assert_uint_eq(scsi_get_be32(p.bhs + 36), expect_sn);
        ck_assert_uint_eq(scsi_get_be32(p.bhs + 40), expect_off);
        ck_assert_uint_le(p.dlen, mrdsl);
        ck_assert_uint_gt(p.dlen, 0);
        memcpy(out + expect_off, p.data, p.dlen);
        expect_off += p.dlen;
        expect_sn++;
        in_burst += p.dlen;
        ck_assert_uint_le(in_burst, mbl);
        bool final = p.bhs[1] & 0x80, status = p.bhs[1] & 0x01;
        /* F closes each MaxBurstLength sequence and the last PDU. */
        ck_assert(final == (in_burst == mbl || expect_off == len));
        if (final)
            in_burst = 0;
        (*pdus)++;
        if (status) {
            ck_assert(final);
            ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
            ck_assert_uint_eq(p.bhs[1] & 0x06, 0); /* no residual */
            raw_pdu_free(&p);
            break;
        }
        raw_pdu_free(&p);
    }
    ck_assert_uint_eq(expect_off, len);
    return out;
}

/* WRITE(16) of data: imm bytes immediate, unsol more as unsolicited Data-Out
 * (pdu bytes each), the rest when solicited.  Returns the R2Ts seen. */
static unsigned write_checked(struct raw_conn *c, uint64_t lba, const uint8_t *data, uint32_t len, uint32_t imm,
                              uint32_t unsol, uint32_t pdu, uint32_t mbl)
{
    uint8_t b[RAW_BHS], cdb[16] = { 0x8a };
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, len / 512);
    uint32_t itt = c->itt++;
    raw_bhs_scsi_cmd(b, itt, c->cmdsn++, len, (unsol ? 0 : 0x80) | 0x20, cdb, 16, 0);
    ck_assert(raw_send_pdu(c, b, NULL, 0, data, imm));
    uint32_t off = imm, sn = 0;
    while (unsol) {
        uint32_t n = unsol < pdu ? unsol : pdu;
        unsol -= n;
        raw_bhs_data_out(b, itt, 0xffffffff, sn++, off, unsol == 0, 0);
        ck_assert(raw_send_pdu(c, b, NULL, 0, data + off, n));
        off += n;
    }
    unsigned r2ts = 0;
    for (;;) {
        struct raw_pdu p;
        ck_assert(raw_recv_pdu(c, &p));
        uint8_t op = p.bhs[0] & 0x3f;
        if (op == 0x21) {
            ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
            ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
            ck_assert_uint_eq(scsi_get_be32(p.bhs + 36), r2ts); /* ExpDataSN counts R2Ts */
            raw_pdu_free(&p);
            break;
        }
        ck_assert_uint_eq(op, 0x31);
        uint32_t ttt = scsi_get_be32(p.bhs + 20);
        uint32_t r_off = scsi_get_be32(p.bhs + 40), r_len = scsi_get_be32(p.bhs + 44);
        ck_assert_uint_eq(scsi_get_be32(p.bhs + 36), r2ts);
        ck_assert_uint_eq(r_off, off);
        ck_assert_uint_le(r_len, mbl);
        ck_assert_uint_le(r_off + r_len, len);
        raw_pdu_free(&p);
        r2ts++;
        uint32_t dsn = 0;
        while (r_len) {
            uint32_t n = r_len < pdu ? r_len : pdu;
            r_len -= n;
            raw_bhs_data_out(b, itt, ttt, dsn++, off, r_len == 0, 0);
            ck_assert(raw_send_pdu(c, b, NULL, 0, data + off, n));
            off += n;
        }
    }
    ck_assert_uint_eq(off, len);
    return r2ts;
}

START_TEST(data_in_follows_the_initiators_limits)
{
    struct raw_conn c;
    login(&c, "MaxRecvDataSegmentLength=4096\nMaxBurstLength=16384");
    uint8_t *data = malloc(65536);
    fill(data, 65536, 1);
    ck_assert_uint_eq(write_checked(&c, 0, data, 65536, 4096, 0, 4096, 16384), 4);
    unsigned pdus;
    uint8_t *back = read_checked(&c, 0, 65536, 4096, 16384, &pdus);
    ck_assert_uint_eq(pdus, 16);
    ck_assert(memcmp(back, data, 65536) == 0);
    free(back);
    free(data);
    raw_close(&c);
}
END_TEST

START_TEST(unsolicited_data_then_r2t_bursts)
{
    struct raw_conn c;
    login(&c, "FirstBurstLength=65536\nMaxBurstLength=65536\nMaxRecvDataSegmentLength=262144");
    uint32_t len = 1u << 20;
    uint8_t *data = malloc(len);
    fill(data, len, 2);
    /* 16 KiB immediate + 48 KiB unsolicited in 8 KiB PDUs = the first burst;
     * the remaining 960 KiB come in 15 R2Ts of 64 KiB. */
    ck_assert_uint_eq(write_checked(&c, 100, data, len, 16384, 49152, 8192, 65536), 15);
    uint8_t *media = malloc(len);
    ck_assert_int_eq(iscsi_test_server_peek(srv, 0, 100 * 512, media, len), 0);
    ck_assert(memcmp(media, data, len) == 0);
    /* The unsolicited burst may also end early with F. */
    fill(data, len, 3);
    ck_assert_uint_eq(write_checked(&c, 100, data, 131072, 0, 8192, 8192, 65536), 2);
    ck_assert_int_eq(iscsi_test_server_peek(srv, 0, 100 * 512, media, 131072), 0);
    ck_assert(memcmp(media, data, 131072) == 0);
    free(media);
    free(data);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).protocol_errors, 0);
    raw_close(&c);
}
END_TEST

START_TEST(initial_r2t_yes_solicits_everything)
{
    struct raw_conn c;
    login(&c, "InitialR2T=Yes\nImmediateData=No");
    uint8_t data[8192];
    fill(data, sizeof(data), 4);
    ck_assert_uint_eq(write_checked(&c, 8, data, sizeof(data), 0, 0, 8192, 262144), 1);
    raw_close(&c);
}
END_TEST

START_TEST(check_condition_goes_in_a_response_with_sense)
{
    struct raw_conn c;
    login(&c, NULL);
    uint8_t b[RAW_BHS], cdb[16] = { 0x88 };
    scsi_put_be64(cdb + 2, 1u << 20); /* far past the end */
    scsi_put_be32(cdb + 10, 1);
    uint32_t itt = c.itt++;
    raw_bhs_scsi_cmd(b, itt, c.cmdsn++, 512, 0x80 | 0x40, cdb, 16, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_pdu(&c, &p));
    ck_assert_uint_eq(p.bhs[0] & 0x3f, 0x21); /* no Data-In at all */
    ck_assert_uint_eq(p.bhs[2], 0x00);
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_CHECK_CONDITION);
    ck_assert(p.bhs[1] & 0x02); /* underflow: nothing of the 512 bytes moved */
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 44), 512);
    uint16_t sl = scsi_get_be16(p.data);
    ck_assert_uint_eq(p.dlen, 2u + sl);
    ck_assert_uint_eq(p.data[2] & 0x7f, 0x70);
    ck_assert_uint_eq(p.data[2 + 2] & 0x0f, SCSI_SK_ILLEGAL_REQUEST);
    ck_assert_uint_eq(p.data[2 + 12], 0x21);
    raw_pdu_free(&p);
    raw_close(&c);
}
END_TEST

START_TEST(residual_overflow_on_a_short_buffer)
{
    struct raw_conn c;
    login(&c, NULL);
    uint8_t b[RAW_BHS], cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0 }; /* 1024 bytes */
    uint32_t itt = c.itt++;
    raw_bhs_scsi_cmd(b, itt, c.cmdsn++, 512, 0x80 | 0x40, cdb, 10, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x25, &p));
    ck_assert(p.bhs[1] & 0x01);
    ck_assert(p.bhs[1] & 0x04); /* O */
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 44), 512);
    ck_assert_uint_eq(p.dlen, 512);
    raw_pdu_free(&p);
    raw_close(&c);
}
END_TEST

START_TEST(cmdsn_gap_is_closed_later)
{
    struct raw_conn c;
    login(&c, NULL);
    uint32_t base = c.cmdsn;
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, 501, base + 1, 0, 0x80, cdb, 6, 0); /* ahead of a gap */
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), 501);
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 28), base); /* ExpCmdSN waits for the gap */
    raw_pdu_free(&p);
    raw_bhs_scsi_cmd(b, 500, base, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), 500);
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 28), base + 2); /* jumps over both */
    raw_pdu_free(&p);
    raw_close(&c);
}
END_TEST

START_TEST(immediate_commands_do_not_advance_cmdsn)
{
    struct raw_conn c;
    login(&c, NULL);
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, 600, c.cmdsn, 0, 0x80, cdb, 6, 0);
    b[0] |= 0x40;
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 28), c.cmdsn);
    raw_pdu_free(&p);
    ck_assert(raw_tur_ok(&c)); /* the same CmdSN, now non-immediate */
    raw_close(&c);
}
END_TEST

START_TEST(statsn_counts_status_pdus)
{
    struct raw_conn c;
    login(&c, NULL);
    uint32_t first = c.exp_statsn;
    ck_assert(raw_tur_ok(&c));
    ck_assert_uint_eq(c.exp_statsn, first + 1);
    uint8_t b[RAW_BHS];
    raw_bhs_nop_out(b, 700, 0xffffffff, c.cmdsn, true);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x20, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 24), first + 1);
    raw_pdu_free(&p);
    ck_assert(raw_tur_ok(&c));
    ck_assert_uint_eq(c.exp_statsn, first + 3);
    raw_close(&c);
}
END_TEST

START_TEST(nop_out_without_answer_wanted)
{
    struct raw_conn c;
    login(&c, NULL);
    uint8_t b[RAW_BHS];
    raw_bhs_nop_out(b, 0xffffffff, 0xffffffff, c.cmdsn, true);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    ck_assert(raw_tur_ok(&c)); /* the next PDU is the TUR's answer, not a NOP-In */
    raw_close(&c);
}
END_TEST

START_TEST(discovery_session_rejects_scsi)
{
    struct raw_conn c;
    raw_connect(&c, port);
    ck_assert_int_eq(raw_login(&c, NULL, NULL), 0);
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x3f, &p));
    ck_assert_uint_eq(p.bhs[2], 0x05);
    raw_pdu_free(&p);
    raw_close(&c);
}
END_TEST

START_TEST(send_targets_in_a_normal_session)
{
    struct raw_conn c;
    login(&c, NULL);
    uint8_t b[RAW_BHS];
    static const char req[] = "SendTargets=All";
    raw_bhs_text(b, c.itt++, 0xffffffff, c.cmdsn++, 0x80);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, req, sizeof(req)));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x24, &p));
    ck_assert(p.bhs[1] & 0x80);
    char expect[128];
    snprintf(expect, sizeof(expect), "TargetName=%s", ISCSI_TEST_IQN);
    ck_assert_str_eq((char *)p.data, expect);
    char addr[128];
    snprintf(addr, sizeof(addr), "TargetAddress=%s,1", iscsi_test_server_portal(srv));
    ck_assert_str_eq((char *)p.data + strlen(expect) + 1, addr);
    ck_assert_uint_eq(p.dlen, strlen(expect) + 1 + strlen(addr) + 1);
    raw_pdu_free(&p);
    raw_close(&c);
}
END_TEST

static void start_many_nodes(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.extra_nodes = 20;
    start_cfg(&cfg);
}

START_TEST(long_text_answers_come_in_pieces)
{
    struct raw_conn c;
    raw_connect(&c, port);
    ck_assert_int_eq(raw_login(&c, NULL, "MaxRecvDataSegmentLength=512"), 0);
    uint8_t b[RAW_BHS];
    /* The request itself in two pieces (C bit). */
    uint32_t itt = c.itt++;
    raw_bhs_text(b, itt, 0xffffffff, c.cmdsn++, 0x40);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, "SendTar", 7));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x24, &p));
    ck_assert_uint_eq(p.dlen, 0);
    uint32_t ttt = scsi_get_be32(p.bhs + 20);
    ck_assert_uint_ne(ttt, 0xffffffff);
    raw_pdu_free(&p);
    raw_bhs_text(b, itt, ttt, c.cmdsn++, 0x80);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, "gets=All", 9));
    /* The answer in pieces of at most 512 bytes, fetched one by one. */
    char *all = calloc(1, 65536);
    size_t total = 0;
    int pieces = 0;
    for (;;) {
        ck_assert(raw_recv_opcode(&c, 0x24, &p));
        ck_assert_uint_le(p.dlen, 512);
        memcpy(all + total, p.data, p.dlen);
        total += p.dlen;
        pieces++;
        bool final = p.bhs[1] & 0x80;
        ttt = scsi_get_be32(p.bhs + 20);
        raw_pdu_free(&p);
        if (final) {
            ck_assert_uint_eq(ttt, 0xffffffff);
            break;
        }
        raw_bhs_text(b, itt, ttt, c.cmdsn++, 0x80);
        ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    }
    ck_assert_int_gt(pieces, 2);
    int names = 0;
    for (size_t i = 0; i < total; i += strlen(all + i) + 1)
        names += strncmp(all + i, "TargetName=", 11) == 0;
    ck_assert_int_eq(names, 21);
    free(all);
    raw_close(&c);
}
END_TEST

START_TEST(max_recv_renegotiated_in_full_feature_phase)
{
    struct raw_conn c;
    login(&c, "MaxRecvDataSegmentLength=65536");
    uint8_t b[RAW_BHS];
    static const char req[] = "MaxRecvDataSegmentLength=1024";
    raw_bhs_text(b, c.itt++, 0xffffffff, c.cmdsn++, 0x80);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, req, sizeof(req)));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x24, &p));
    raw_pdu_free(&p);
    unsigned pdus;
    uint8_t *back = read_checked(&c, 0, 8192, 1024, 262144, &pdus);
    ck_assert_uint_eq(pdus, 8);
    free(back);
    raw_close(&c);
}
END_TEST

START_TEST(logout_variants)
{
    struct raw_conn c;
    login(&c, NULL);
    uint8_t b[RAW_BHS];
    struct raw_pdu p;
    raw_bhs_logout(b, c.itt++, c.cmdsn, 2); /* remove for recovery: ERL 0 cannot */
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    ck_assert(raw_recv_opcode(&c, 0x26, &p));
    ck_assert_uint_eq(p.bhs[2], 2);
    raw_pdu_free(&p);
    raw_bhs_logout(b, c.itt++, c.cmdsn, 1);
    scsi_put_be16(b + 20, 9); /* not our CID */
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    ck_assert(raw_recv_opcode(&c, 0x26, &p));
    ck_assert_uint_eq(p.bhs[2], 1);
    raw_pdu_free(&p);
    ck_assert(raw_tur_ok(&c));
    raw_bhs_logout(b, c.itt++, c.cmdsn, 1); /* CID 0: ours */
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    ck_assert(raw_recv_opcode(&c, 0x26, &p));
    ck_assert_uint_eq(p.bhs[2], 0);
    raw_pdu_free(&p);
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);
}
END_TEST

START_TEST(logout_with_a_command_in_the_backend)
{
    struct raw_conn c;
    login(&c, NULL);
    iscsi_test_server_hold(srv, true);
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    raw_bhs_scsi_cmd(b, 900, c.cmdsn++, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    raw_bhs_logout(b, 901, c.cmdsn, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x26, &p));
    ck_assert_uint_eq(p.bhs[2], 0);
    raw_pdu_free(&p);
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);
    /* The session's nexus is gone and took the held command with it. */
    TESTUTIL_WAIT_FOR(iscsi_test_server_held(srv) == 0);
    ck_assert_uint_eq(iscsi_test_server_held(srv), 0);
    iscsi_test_server_hold(srv, false);
    ck_assert(raw_healthy_session(port));
}
END_TEST

START_TEST(reinstatement_closes_the_old_connection)
{
    struct raw_conn a, b;
    login(&a, NULL);
    raw_connect(&b, port);
    memcpy(b.isid, a.isid, 6);
    ck_assert_int_eq(raw_login(&b, ISCSI_TEST_IQN, NULL), 0);
    ck_assert(raw_wait_closed(&a));
    ck_assert(raw_tur_ok(&b));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).sessions_reinstated, 1);
    raw_close(&a);
    raw_close(&b);
}
END_TEST

START_TEST(data_digest_end_to_end)
{
    struct raw_conn c;
    raw_connect(&c, port);
    c.hdigest = c.ddigest = true;
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, "MaxRecvDataSegmentLength=8192"), 0);
    ck_assert(c.hdigest && c.ddigest);
    uint32_t len = 131072 + 512;
    uint8_t *data = malloc(len);
    fill(data, len, 9);
    write_checked(&c, 300, data, len, 8192, 0, 8192, 262144);
    unsigned pdus;
    uint8_t *back = read_checked(&c, 300, len, 8192, 262144, &pdus);
    ck_assert(memcmp(back, data, len) == 0);
    free(back);
    free(data);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).digest_errors, 0);
    raw_close(&c);
}
END_TEST

/* ---- security stage by hand ------------------------------------------------------- */

static void start_chap(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.chap_user = "alice";
    cfg.chap_secret = "alice-secret-12";
    start_cfg(&cfg);
}

/* Sends one security-stage login request with text; returns the response. */
static void sec_step(struct raw_conn *c, uint8_t flags, const char *text, struct raw_pdu *p)
{
    uint8_t b[RAW_BHS] = { 0 };
    b[0] = 0x43;
    b[1] = flags;
    memcpy(b + 8, c->isid, 6);
    scsi_put_be32(b + 16, 1);
    scsi_put_be32(b + 24, c->cmdsn);
    size_t n = strlen(text);
    char *t = malloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        t[i] = text[i] == '\n' ? 0 : text[i];
    ck_assert(raw_send_pdu(c, b, NULL, 0, t, (uint32_t)(n + 1)));
    free(t);
    ck_assert(raw_recv_opcode(c, 0x23, p));
    for (uint32_t i = 0; i + 1 < p->dlen; i++)
        if (p->data[i] == 0)
            p->data[i] = '\n';
}

static const char *value_of(const char *text, const char *key)
{
    const char *v = strstr(text, key);
    ck_assert_ptr_nonnull(v);
    return v + strlen(key);
}

static void base64(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = 0;
}

static bool chap_login(struct raw_conn *c, const char *secret)
{
    struct raw_pdu p;
    sec_step(c, 0x81, "InitiatorName=" ISCSI_TEST_INITIATOR "\nTargetName=" ISCSI_TEST_IQN "\nAuthMethod=CHAP", &p);
    ck_assert_int_eq(scsi_get_be16(p.bhs + 36), 0);
    ck_assert(strstr((char *)p.data, "AuthMethod=CHAP") != NULL);
    ck_assert(strstr((char *)p.data, "TargetPortalGroupTag=1") != NULL);
    ck_assert_uint_eq(p.bhs[1] & 0x80, 0); /* no transit before authentication */
    raw_pdu_free(&p);
    sec_step(c, 0x01, "CHAP_A=7,5", &p);
    ck_assert(strstr((char *)p.data, "CHAP_A=5") != NULL);
    unsigned id = (unsigned)atoi(value_of((char *)p.data, "CHAP_I="));
    const char *hex = value_of((char *)p.data, "CHAP_C=0x");
    uint8_t chal[64];
    size_t clen = 0;
    while (isxdigit((unsigned char)hex[2 * clen]) && clen < sizeof(chal)) {
        unsigned byte;
        sscanf(hex + 2 * clen, "%2x", &byte);
        chal[clen++] = (uint8_t)byte;
    }
    raw_pdu_free(&p);
    struct md5_ctx m;
    uint8_t id8 = (uint8_t)id, resp[16];
    md5_init(&m);
    md5_update(&m, 1, &id8);
    md5_update(&m, strlen(secret), (const uint8_t *)secret);
    md5_update(&m, clen, chal);
    md5_digest(&m, 16, resp);
    char text[128], b64[32];
    base64(resp, 16, b64);
    snprintf(text, sizeof(text), "CHAP_N=alice\nCHAP_R=0b%s", b64);
    sec_step(c, 0x81, text, &p);
    int status = scsi_get_be16(p.bhs + 36);
    bool transit = p.bhs[1] & 0x80;
    raw_pdu_free(&p);
    if (status != 0)
        return false;
    ck_assert(transit);
    ck_assert_int_eq(raw_login(c, ISCSI_TEST_IQN, NULL), 0); /* the operational stage */
    return true;
}

START_TEST(chap_by_hand_with_base64)
{
    struct raw_conn c;
    raw_connect(&c, port);
    ck_assert(chap_login(&c, "alice-secret-12"));
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    raw_connect(&c, port);
    ck_assert(!chap_login(&c, "alice-secret-13"));
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);
}
END_TEST

START_TEST(chap_cannot_be_skipped)
{
    struct raw_conn c;
    raw_connect(&c, port);
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, NULL), 0x0201);
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);
    raw_connect(&c, port);
    struct raw_pdu p;
    sec_step(&c, 0x81, "InitiatorName=" ISCSI_TEST_INITIATOR "\nTargetName=" ISCSI_TEST_IQN "\nAuthMethod=None", &p);
    ck_assert_int_eq(scsi_get_be16(p.bhs + 36), 0x0201);
    raw_pdu_free(&p);
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);
}
END_TEST

/* ---- windows, pings and timers ------------------------------------------------------ */

static void start_small_window(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.queue_depth = 4;
    start_cfg(&cfg);
}

START_TEST(window_closes_while_commands_run)
{
    struct raw_conn c;
    login(&c, NULL);
    ck_assert_uint_eq(c.max_cmdsn, c.cmdsn + 3);
    iscsi_test_server_hold(srv, true);
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    for (uint32_t i = 0; i < 4; i++) {
        raw_bhs_scsi_cmd(b, 1000 + i, c.cmdsn++, 0, 0x80, cdb, 6, 0);
        ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    }
    /* A fifth is beyond MaxCmdSN: ignored. */
    raw_bhs_scsi_cmd(b, 1004, c.cmdsn, 0, 0x80, cdb, 6, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    /* A NOP-In shows the window: ExpCmdSN moved on, MaxCmdSN did not. */
    raw_bhs_nop_out(b, 1100, 0xffffffff, c.cmdsn, true);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x20, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 28), c.cmdsn);
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 32), c.cmdsn - 1);
    raw_pdu_free(&p);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).commands_dropped, 1);
    ck_assert_uint_eq(iscsi_test_server_release(srv), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert(raw_recv_opcode(&c, 0x21, &p));
        raw_pdu_free(&p);
    }
    /* All four done: the window is open again. */
    ck_assert_uint_eq(c.max_cmdsn, c.cmdsn + 3);
    iscsi_test_server_hold(srv, false);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
}
END_TEST

START_TEST(too_many_immediate_commands)
{
    struct raw_conn c;
    login(&c, NULL);
    iscsi_test_server_hold(srv, true);
    uint8_t b[RAW_BHS], cdb[6] = { 0 };
    for (uint32_t i = 0; i < 9; i++) {
        raw_bhs_scsi_cmd(b, 2000 + i, c.cmdsn, 0, 0x80, cdb, 6, 0);
        b[0] |= 0x40;
        ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    }
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x3f, &p));
    ck_assert_uint_eq(p.bhs[2], 0x06);
    raw_pdu_free(&p);
    ck_assert_uint_eq(iscsi_test_server_release(srv), 8);
    iscsi_test_server_hold(srv, false);
    raw_close(&c);
}
END_TEST

/* The timer tests: each short timer is one the test waits to see fire (a
 * one-sided wait, however slow the host); every timer the test must beat
 * (logging in, answering a ping) is generous, so a loaded machine cannot
 * make the test late for it. */
static void start_timers(uint32_t nop_timeout_ms, uint32_t login_timeout_ms)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.nop_interval_ms = 30;
    cfg.opt.nop_timeout_ms = nop_timeout_ms;
    cfg.opt.login_timeout_ms = login_timeout_ms;
    start_cfg(&cfg);
}

static void start_pinging(void)
{
    start_timers(100, 10000);
}

static void start_pinging_patiently(void)
{
    start_timers(10000, 10000);
}

static void start_login_timer(void)
{
    start_timers(10000, 100);
}

START_TEST(unanswered_ping_ends_the_connection)
{
    struct raw_conn c;
    login(&c, NULL);
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x20, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), 0xffffffffu); /* target-initiated */
    ck_assert_uint_ne(scsi_get_be32(p.bhs + 20), 0xffffffffu); /* wants an answer */
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 24), c.exp_statsn); /* StatSN not consumed */
    raw_pdu_free(&p);
    ck_assert(raw_wait_closed(&c));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).nop_timeouts, 1);
    raw_close(&c);
}
END_TEST

START_TEST(answered_pings_keep_the_connection)
{
    struct raw_conn c;
    login(&c, NULL);
    for (int i = 0; i < 5; i++) {
        struct raw_pdu p;
        ck_assert(raw_recv_opcode(&c, 0x20, &p));
        uint32_t ttt = scsi_get_be32(p.bhs + 20);
        raw_pdu_free(&p);
        uint8_t b[RAW_BHS];
        raw_bhs_nop_out(b, 0xffffffff, ttt, c.cmdsn, true);
        ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    }
    ck_assert(raw_tur_ok(&c));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).nop_timeouts, 0);
    raw_close(&c);
}
END_TEST

START_TEST(idle_login_times_out)
{
    struct raw_conn c;
    raw_connect(&c, port);
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_protocol");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, data_in_follows_the_initiators_limits);
    tcase_add_test(tc, unsolicited_data_then_r2t_bursts);
    tcase_add_test(tc, initial_r2t_yes_solicits_everything);
    tcase_add_test(tc, check_condition_goes_in_a_response_with_sense);
    tcase_add_test(tc, residual_overflow_on_a_short_buffer);
    tcase_add_test(tc, cmdsn_gap_is_closed_later);
    tcase_add_test(tc, immediate_commands_do_not_advance_cmdsn);
    tcase_add_test(tc, statsn_counts_status_pdus);
    tcase_add_test(tc, nop_out_without_answer_wanted);
    tcase_add_test(tc, discovery_session_rejects_scsi);
    tcase_add_test(tc, send_targets_in_a_normal_session);
    tcase_add_test(tc, max_recv_renegotiated_in_full_feature_phase);
    tcase_add_test(tc, logout_variants);
    tcase_add_test(tc, logout_with_a_command_in_the_backend);
    tcase_add_test(tc, reinstatement_closes_the_old_connection);
    tcase_add_test(tc, data_digest_end_to_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_add_checked_fixture(tc, start_many_nodes, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, long_text_answers_come_in_pieces);
    suite_add_tcase(s, tc);

    tc = tcase_create("chap");
    tcase_add_checked_fixture(tc, start_chap, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, chap_by_hand_with_base64);
    tcase_add_test(tc, chap_cannot_be_skipped);
    suite_add_tcase(s, tc);

    tc = tcase_create("window");
    tcase_add_checked_fixture(tc, start_small_window, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, window_closes_while_commands_run);
    tcase_add_test(tc, too_many_immediate_commands);
    suite_add_tcase(s, tc);

    tc = tcase_create("ping timeout");
    tcase_add_checked_fixture(tc, start_pinging, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, unanswered_ping_ends_the_connection);
    suite_add_tcase(s, tc);

    tc = tcase_create("pings answered");
    tcase_add_checked_fixture(tc, start_pinging_patiently, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, answered_pings_keep_the_connection);
    suite_add_tcase(s, tc);

    tc = tcase_create("login timeout");
    tcase_add_checked_fixture(tc, start_login_timer, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, idle_login_times_out);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
