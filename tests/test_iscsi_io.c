/* tests/test_iscsi_io.c — SCSI I/O through the iSCSI target with libiscsi as
 * the initiator: INQUIRY, READ CAPACITY, large writes and reads (R2T and
 * multi-PDU Data-In), SYNCHRONIZE CACHE, sense delivery, residuals, LUN map,
 * several sessions at once. */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "tests/support/iscsi_client.h"

static struct iscsi_test_server *srv;

static void setup(void)
{
    srv = iscsi_test_server_start(NULL);
}

static void teardown(void)
{
    iscsi_test_server_stop(srv);
}

START_TEST(inquiry_returns_the_test_disk)
{
    struct iscsi_context *ctx = client_connect(srv);
    struct scsi_task *t = iscsi_inquiry_sync(ctx, 0, 0, 0, 255);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(t->datain.size, 36);
    ck_assert_int_eq(t->datain.data[0], 0x00);
    ck_assert(memcmp(t->datain.data + 8, "SCSISIM ", 8) == 0);
    /* 255 asked, 36 sent: an underflow of 219 bytes. */
    ck_assert_int_eq(t->residual_status, SCSI_RESIDUAL_UNDERFLOW);
    ck_assert_int_eq(t->residual, 255 - 36);
    scsi_free_scsi_task(t);
    client_free(ctx);
}
END_TEST

START_TEST(read_capacity_16_reports_size)
{
    struct iscsi_context *ctx = client_connect(srv);
    struct scsi_task *t = iscsi_readcapacity16_sync(ctx, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(t);
    ck_assert_ptr_nonnull(rc);
    ck_assert_uint_eq(rc->returned_lba, 16383);
    ck_assert_uint_eq(rc->block_length, 512);
    scsi_free_scsi_task(t);
    client_free(ctx);
}
END_TEST

static void round_trip(struct iscsi_context *ctx, uint64_t lba, uint32_t len, unsigned seed)
{
    unsigned char *out = malloc(len);
    ck_assert_ptr_nonnull(out);
    client_pattern(out, len, seed);
    struct scsi_task *t = iscsi_write16_sync(ctx, 0, lba, out, len, 512, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(t->status == SCSI_STATUS_GOOD, "write: %s", iscsi_get_error(ctx));
    scsi_free_scsi_task(t);
    t = iscsi_read16_sync(ctx, 0, lba, len, 512, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(t->status == SCSI_STATUS_GOOD, "read: %s", iscsi_get_error(ctx));
    ck_assert_int_eq(t->datain.size, (int)len);
    ck_assert(memcmp(t->datain.data, out, len) == 0);
    scsi_free_scsi_task(t);
    /* What the backend holds is what was written. */
    unsigned char *media = malloc(len);
    ck_assert_int_eq(iscsi_test_server_peek(srv, 0, lba * 512, media, len), 0);
    ck_assert(memcmp(media, out, len) == 0);
    free(media);
    free(out);
}

START_TEST(write_read_one_mebibyte)
{
    struct iscsi_context *ctx = client_connect(srv);
    round_trip(ctx, 2048, 1u << 20, 1);
    struct iscsi_target_stats st = iscsi_test_server_stats(srv);
    ck_assert_uint_eq(st.protocol_errors, 0);
    client_free(ctx);
}
END_TEST

START_TEST(write_read_without_immediate_data_and_with_initial_r2t)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_immediate_data(ctx, ISCSI_IMMEDIATE_DATA_NO);
    iscsi_set_initial_r2t(ctx, ISCSI_INITIAL_R2T_YES);
    ck_assert_int_eq(client_login(ctx, srv), 0);
    round_trip(ctx, 100, 3u << 20, 2);
    round_trip(ctx, 7, 512, 3);
    client_free(ctx);
}
END_TEST

START_TEST(small_writes_in_a_row)
{
    struct iscsi_context *ctx = client_connect(srv);
    for (unsigned i = 0; i < 64; i++)
        round_trip(ctx, i * 8, 4096, 100 + i);
    client_free(ctx);
}
END_TEST

START_TEST(synchronize_cache_reaches_the_backend)
{
    struct iscsi_context *ctx = client_connect(srv);
    struct iscsi_test_mem_stats before = iscsi_test_server_mem_stats(srv);
    struct scsi_task *t = iscsi_synchronizecache10_sync(ctx, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    scsi_free_scsi_task(t);
    struct iscsi_test_mem_stats after = iscsi_test_server_mem_stats(srv);
    ck_assert_uint_eq(after.syncs, before.syncs + 1);
    client_free(ctx);
}
END_TEST

START_TEST(check_condition_carries_sense)
{
    struct iscsi_context *ctx = client_connect(srv);
    /* READ(16) past the end of the medium. */
    struct scsi_task *t = iscsi_read16_sync(ctx, 0, 16384, 512, 512, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_int_eq(t->sense.key, SCSI_SENSE_ILLEGAL_REQUEST);
    ck_assert_int_eq(t->sense.ascq, 0x2100);
    scsi_free_scsi_task(t);
    /* An opcode the test disk does not know. */
    unsigned char cdb[6] = { 0x1d, 0, 0, 0, 0, 0 }; /* SEND DIAGNOSTIC */
    t = scsi_create_task(6, cdb, SCSI_XFER_NONE, 0);
    ck_assert_ptr_nonnull(t);
    struct scsi_task *r = iscsi_scsi_command_sync(ctx, 0, t, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(t->status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_int_eq(t->sense.key, SCSI_SENSE_ILLEGAL_REQUEST);
    ck_assert_int_eq(t->sense.ascq, 0x2000);
    scsi_free_scsi_task(t);
    client_free(ctx);
}
END_TEST

START_TEST(report_luns_lists_the_map)
{
    struct iscsi_context *ctx = client_connect(srv);
    struct scsi_task *t = iscsi_reportluns_sync(ctx, 0, 512);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    struct scsi_reportluns_list *l = scsi_datain_unmarshall(t);
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(l->num, 2);
    ck_assert_uint_eq(l->luns[0], 0);
    ck_assert_uint_eq(l->luns[1], 1);
    scsi_free_scsi_task(t);
    client_free(ctx);
}
END_TEST

START_TEST(unmapped_lun_answers_like_a_target)
{
    struct iscsi_context *ctx = client_connect(srv);
    struct scsi_task *t = iscsi_inquiry_sync(ctx, 5, 0, 0, 36);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(t->datain.data[0], 0x7f); /* qualifier 011b, type 1Fh */
    scsi_free_scsi_task(t);
    t = iscsi_testunitready_sync(ctx, 5);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_int_eq(t->sense.ascq, 0x2500);
    scsi_free_scsi_task(t);
    client_free(ctx);
}
END_TEST

START_TEST(luns_are_separate_media)
{
    struct iscsi_context *ctx = client_connect(srv);
    unsigned char a[4096], b[4096];
    client_pattern(a, sizeof(a), 11);
    client_pattern(b, sizeof(b), 12);
    struct scsi_task *t = iscsi_write16_sync(ctx, 0, 10, a, sizeof(a), 512, 0, 0, 0, 0, 0);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    scsi_free_scsi_task(t);
    t = iscsi_write16_sync(ctx, 1, 10, b, sizeof(b), 512, 0, 0, 0, 0, 0);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    scsi_free_scsi_task(t);
    t = iscsi_read16_sync(ctx, 0, 10, sizeof(a), 512, 0, 0, 0, 0, 0);
    ck_assert(memcmp(t->datain.data, a, sizeof(a)) == 0);
    scsi_free_scsi_task(t);
    t = iscsi_read16_sync(ctx, 1, 10, sizeof(b), 512, 0, 0, 0, 0, 0);
    ck_assert(memcmp(t->datain.data, b, sizeof(b)) == 0);
    scsi_free_scsi_task(t);
    client_free(ctx);
}
END_TEST

START_TEST(several_sessions_at_once)
{
    enum { N = 4 };
    struct iscsi_context *ctx[N];
    char name[64];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "iqn.2024-01.org.scsisim:tester%d", i);
        ctx[i] = client_new(name, NULL);
        ck_assert_int_eq(client_login(ctx[i], srv), 0);
    }
    ck_assert_uint_eq(iscsi_test_server_stats(srv).sessions_open, N);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++)
            round_trip(ctx[i], (uint64_t)(i * 512 + round * 64), 64 * 1024, (unsigned)(round * N + i));
    for (int i = 0; i < N; i++)
        client_free(ctx[i]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_io");
    TCase *tc = tcase_create("io");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, inquiry_returns_the_test_disk);
    tcase_add_test(tc, read_capacity_16_reports_size);
    tcase_add_test(tc, write_read_one_mebibyte);
    tcase_add_test(tc, write_read_without_immediate_data_and_with_initial_r2t);
    tcase_add_test(tc, small_writes_in_a_row);
    tcase_add_test(tc, synchronize_cache_reaches_the_backend);
    tcase_add_test(tc, check_condition_carries_sense);
    tcase_add_test(tc, report_luns_lists_the_map);
    tcase_add_test(tc, unmapped_lun_answers_like_a_target);
    tcase_add_test(tc, luns_are_separate_media);
    tcase_add_test(tc, several_sessions_at_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
