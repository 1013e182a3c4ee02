/* tests/test_iscsi_send.c — how the target sends.
 *  - Batches: the answers to commands that arrived together leave in one
 *    writev (one turn of the event loop), with and without header and data
 *    digests, and every answer is still right.
 *  - Zero copy: over the driver stack, write data is received into and read
 *    data sent from the controller's own DMA buffers (the backend counts no
 *    copied task), and the data is right.
 *
 * The commands go out in a single send() of a few hundred bytes: on loopback
 * that is one segment, so the target reads them in one turn and the count of
 * writes it makes is exact, not a matter of timing. */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "host/backend_stack.h"
#include "host/iscsi_crc32c.h"
#include "scsi/scsi.h"
#include "tests/support/iscsi_client.h"
#include "tests/support/stack_fixture.h"

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

/* LUN 0 on a driver stack in this process. */
static struct stack *st;
static struct backend_stack *bs;

static void setup_stack(void)
{
    st = sf_open(SF_INTERRUPTS, NULL);
    char err[256] = "";
    ck_assert_msg(backend_stack_create(st, NULL, &bs, err, sizeof(err)) == 0, "%s", err);
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.lun0 = backend_stack_target(bs, 0);
    ck_assert_ptr_nonnull(cfg.lun0);
    srv = iscsi_test_server_start(&cfg);
}

static void teardown_stack(void)
{
    iscsi_test_server_stop(srv);
    backend_stack_destroy(bs);
    stack_close(st);
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

/* TEST UNIT READY until GOOD: a new I_T nexus first hears of the power on. */
static void clear_unit_attention(struct raw_conn *c)
{
    for (int i = 0; i < 5; i++) {
        uint8_t b[RAW_BHS], cdb[6] = { 0 };
        raw_bhs_scsi_cmd(b, c->itt++, c->cmdsn++, 0, 0x80, cdb, 6, 0);
        ck_assert(raw_send_pdu(c, b, NULL, 0, NULL, 0));
        struct raw_pdu p;
        ck_assert(raw_recv_opcode(c, 0x21, &p));
        uint8_t status = p.bhs[3];
        raw_pdu_free(&p);
        if (status == SCSI_STATUS_GOOD)
            return;
    }
    ck_abort_msg("TEST UNIT READY never answered GOOD");
}

START_TEST(data_moves_in_the_controllers_dma_buffers)
{
    struct raw_conn c;
    raw_connect(&c, iscsi_test_server_port(srv));
    ck_assert_int_eq(raw_login(&c, ISCSI_TEST_IQN, "MaxRecvDataSegmentLength=8192"), 0);
    clear_unit_attention(&c);
    struct backend_stack_stats before;
    backend_stack_get_stats(bs, &before);

    enum { LEN = 65536 };
    uint8_t *data = malloc(LEN), *back = calloc(1, LEN);
    ck_assert(data && back);
    for (size_t i = 0; i < LEN; i++)
        data[i] = (uint8_t)(i * 13 + (i >> 9));
    /* WRITE (10), all of it immediate data: received into the lent buffer. */
    uint8_t b[RAW_BHS], cdb[10] = { 0x2a };
    scsi_put_be32(cdb + 2, 100);
    scsi_put_be16(cdb + 7, LEN / 512);
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, LEN, 0x80 | 0x20, cdb, 10, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, data, LEN));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&c, 0x21, &p));
    ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
    raw_pdu_free(&p);

    /* READ (10): eight Data-In PDUs of 8 KiB sent from the lent buffer. */
    cdb[0] = 0x28;
    raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, LEN, 0x80 | 0x40, cdb, 10, 0);
    ck_assert(raw_send_pdu(&c, b, NULL, 0, NULL, 0));
    unsigned pdus = 0;
    bool status_seen = false;
    while (!status_seen) {
        ck_assert(raw_recv_pdu(&c, &p));
        ck_assert_uint_eq(p.bhs[0] & 0x3f, 0x25);
        uint32_t off = scsi_get_be32(p.bhs + 40);
        ck_assert_uint_le((uint64_t)off + p.dlen, LEN);
        memcpy(back + off, p.data, p.dlen);
        pdus++;
        if (p.bhs[1] & 0x01) {
            ck_assert_uint_eq(p.bhs[3], SCSI_STATUS_GOOD);
            status_seen = true;
        }
        raw_pdu_free(&p);
    }
    ck_assert_uint_eq(pdus, LEN / 8192);
    ck_assert(memcmp(back, data, LEN) == 0);

    struct backend_stack_stats after;
    backend_stack_get_stats(bs, &after);
    ck_assert_uint_eq(after.zero_copy - before.zero_copy, 2);
    ck_assert_uint_eq(after.copied - before.copied, 0);
    free(data);
    free(back);
    raw_close(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_send");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, answers_to_a_burst_leave_in_one_write);
    tcase_add_test(tc, answers_to_a_burst_leave_in_one_write_with_digests);
    suite_add_tcase(s, tc);

    tc = tcase_create("zero_copy");
    tcase_add_checked_fixture(tc, setup_stack, teardown_stack);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, data_moves_in_the_controllers_dma_buffers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
