/* tests/test_iscsi_batch.c — the target writes its PDUs in batches: the
 * answers to commands that arrived together leave in one writev (one turn of
 * the event loop), with and without header and data digests, and every
 * answer is still right.
 *
 * The commands go out in a single send() of a few hundred bytes: on loopback
 * that is one segment, so the target reads them in one turn and the count of
 * writes it makes is exact, not a matter of timing. */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "host/iscsi_crc32c.h"
#include "scsi/scsi.h"
#include "tests/support/iscsi_client.h"

#define BURST 8
#define READ_LEN 4096u

static struct iscsi_test_server *srv;

static void setup(void)
{
    srv = iscsi_test_server_start(NULL);
}

static void teardown(void)
{
    iscsi_test_server_stop(srv);
}

/* Appends one READ(16) command PDU (no data segment) at lba to out, with a
 * header digest when the connection has them; returns its length. */
static size_t put_read(struct raw_conn *c, uint8_t *out, uint64_t lba)
{
    uint8_t cdb[16] = { 0x88 };
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, READ_LEN / 512);
    raw_bhs_scsi_cmd(out, c->itt++, c->cmdsn++, READ_LEN, 0x80 | 0x40, cdb, 16, 0);
    size_t n = RAW_BHS;
    if (c->hdigest) {
        iscsi_digest_put(out + n, iscsi_crc32c(out, RAW_BHS));
        n += 4;
    }
    return n;
}

/* Writes a known pattern, sends BURST reads of it in one send(), and checks
 * that BURST Data-In PDUs (status folded in) came back in one write. */
static void burst_of_reads(struct raw_conn *c)
{
    uint8_t data[READ_LEN];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    /* The same block pattern at BURST places, through a WRITE(10) each. */
    for (unsigned i = 0; i < BURST; i++) {
        uint8_t b[RAW_BHS], cdb[10] = { 0x2a };
        scsi_put_be32(cdb + 2, 64 + i * 8);
        scsi_put_be16(cdb + 7, READ_LEN / 512);
        raw_bhs_scsi_cmd(b, c->itt++, c->cmdsn++, READ_LEN, 0x80 | 0x20, cdb, 10, 0);
        ck_assert(raw_send_pdu(c, b, NULL, 0, data, READ_LEN));
        struct raw_pdu p;
        ck_assert(raw_recv_opcode(c, 0x21, &p));
        ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
        raw_pdu_free(&p);
    }

    struct iscsi_target_stats before = iscsi_test_server_stats(srv);
    uint8_t burst[BURST * (RAW_BHS + 4)];
    size_t len = 0;
    uint32_t first_itt = c->itt;
    for (unsigned i = 0; i < BURST; i++)
        len += put_read(c, burst + len, 64 + i * 8);
    ck_assert(raw_send_bytes(c, burst, len));
    for (unsigned i = 0; i < BURST; i++) {
        struct raw_pdu p;
        ck_assert(raw_recv_pdu(c, &p));
        ck_assert_uint_eq(p.bhs[0] & 0x3f, 0x25);      /* Data-In */
        ck_assert_uint_eq(p.bhs[1] & 0x81, 0x81);      /* F and S: the status folded in */
        ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
        ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), first_itt + i); /* in order */
        ck_assert_uint_eq(p.dlen, READ_LEN);
        ck_assert(memcmp(p.data, data, READ_LEN) == 0);
        raw_pdu_free(&p);
    }
    struct iscsi_target_stats after = iscsi_test_server_stats(srv);
    ck_assert_uint_eq(after.tx_pdus - before.tx_pdus, BURST);
    ck_assert_uint_eq(after.tx_writes - before.tx_writes, 1);
    ck_assert_uint_eq(after.digest_errors, 0);
}

START_TEST(answers_to_a_burst_leave_in_one_write)
{
    struct raw_conn c;
    raw_connect(&c, iscsi_test_server_port(srv));
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, NULL), 0);
    burst_of_reads(&c);
    raw_close(&c);
}
END_TEST

START_TEST(answers_to_a_burst_leave_in_one_write_with_digests)
{
    struct raw_conn c;
    raw_connect(&c, iscsi_test_server_port(srv));
    c.hdigest = c.ddigest = true;
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, NULL), 0);
    ck_assert(c.hdigest && c.ddigest);
    burst_of_reads(&c);
    raw_close(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_batch");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, answers_to_a_burst_leave_in_one_write);
    tcase_add_test(tc, answers_to_a_burst_leave_in_one_write_with_digests);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
