/* tests/test_fw_lbp.c — thin provisioning: the store really deallocates
 * (memory chunks freed, file holes punched, dirty cache copies dropped, the
 * oracle told), reads of deallocated blocks return zeros, GET LBA STATUS
 * reports the runs, and a fully provisioned drive offers none of it. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"
#include "tests/support/store_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/store/store.h"

static struct fw *thin_fw(uint64_t blocks)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    struct sim_lu_config *lu = fwh_add_lu(&cfg, 0, 0, blocks, 512);
    lu->thin = true;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    return fw;
}

static void unmap(struct fw *fw, struct fw_task *t, uint64_t lba, uint32_t n)
{
    uint8_t p[24] = { 0, 22, 0, 16 };
    scsi_put_be64(p + 8, lba);
    scsi_put_be32(p + 16, n);
    uint8_t cdb[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, sizeof(p), 0 };
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_WRITE, p, sizeof(p));
}

/* GET LBA STATUS from lba: the first descriptor's run and status. */
static void lba_status(struct fw *fw, uint64_t lba, uint32_t *run, uint8_t *status)
{
    uint8_t cdb[16] = { 0x9e, 0x12 }, b[24];
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, sizeof(b));
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be64(b + 8), lba);
    *run = scsi_get_be32(b + 16);
    *status = b[20] & 0x0f;
}

START_TEST(unmap_frees_memory_and_reads_zeros)
{
    struct fw *fw = thin_fw(4096);
    uint8_t *w = malloc(256 * 512), r[512], zero[512] = { 0 };
    memset(w, 0x5a, 256 * 512);
    fwh_write(fw, 128, 256, w, 512, true);         /* on media: two 64 KiB chunks */
    uint32_t run;
    uint8_t st;
    lba_status(fw, 128, &run, &st);
    ck_assert_uint_eq(st, 0);
    ck_assert_uint_eq(run, 256);
    lba_status(fw, 0, &run, &st);
    ck_assert_uint_eq(st, 1);
    ck_assert_uint_eq(run, 128);
    struct fw_task t;
    unmap(fw, &t, 128, 256);
    fwh_expect_good(&t);
    lba_status(fw, 0, &run, &st);
    ck_assert_uint_eq(st, 1);
    ck_assert_uint_eq(run, 4096);                  /* one deallocated run: the chunks are gone */
    fwh_read(fw, 200, 1, r, 512);
    ck_assert(memcmp(r, zero, 512) == 0);
    free(w);
    fw_destroy(fw);
}
END_TEST

START_TEST(unmap_drops_dirty_cache_and_oracle_agrees)
{
    struct sim_store_config sc = { .blocks = 1024, .block_size = 512, .seed = 1 };
    struct sim_store *s;
    char err[128];
    ck_assert_int_eq(sim_store_create(&sc, &s, err, sizeof(err)), 0);
    uint8_t w[8 * 512], r[8 * 512], zero[8 * 512] = { 0 };
    memset(w, 0x33, sizeof(w));
    ck_assert_int_eq(sim_store_write(s, 10, 8, w, false), 0);    /* dirty in the cache */
    ck_assert_uint_gt(sim_store_dirty_bytes(s), 0);
    bool mapped;
    uint64_t run;
    ck_assert_int_eq(sim_store_mapped(s, 10, 8, &mapped, &run), 0);
    ck_assert(mapped);                                           /* dirty counts as mapped */
    ck_assert_uint_eq(run, 8);
    ck_assert_int_eq(sim_store_unmap(s, 10, 8), 0);
    ck_assert_uint_eq(sim_store_dirty_bytes(s), 0);
    ck_assert_int_eq(sim_store_read(s, 10, 8, r), 0);
    ck_assert(memcmp(r, zero, sizeof(r)) == 0);
    ck_assert_int_eq(sim_store_mapped(s, 0, 1024, &mapped, &run), 0);
    ck_assert(!mapped);
    ck_assert_uint_eq(run, 1024);
    /* The zeros are what the drive promised: a power cut loses nothing. */
    sim_store_power_cut(s, NULL);
    ck_assert_int_eq(sim_store_power_on(s), 0);
    struct sim_oracle_report rep;
    ck_assert_int_eq(sim_store_check(s, &rep), 0);
    ck_assert_uint_eq(rep.durable_lost, 0);
    ck_assert_uint_eq(rep.blocks_checked, 8);
    /* Powered off, unmap fails like every other access. */
    sim_store_power_cut(s, NULL);
    ck_assert_int_eq(sim_store_unmap(s, 0, 1), -EIO);
    sim_store_destroy(s);
}
END_TEST

START_TEST(unmap_punches_holes_in_file_media)
{
    char *path = fixture_media_path(); /* a new file in a private folder: ours to create */
    struct sim_store_config sc = { .blocks = 2048, .block_size = 512, .media_path = path };
    struct sim_store *s;
    char err[128];
    ck_assert_int_eq(sim_store_create(&sc, &s, err, sizeof(err)), 0);
    uint8_t *w = malloc(256 * 512);
    memset(w, 0x77, 256 * 512);
    ck_assert_int_eq(sim_store_write(s, 512, 256, w, true), 0);
    bool mapped;
    uint64_t run;
    ck_assert_int_eq(sim_store_mapped(s, 512, 256, &mapped, &run), 0);
    ck_assert(mapped);
    ck_assert_uint_eq(run, 256);
    ck_assert_int_eq(sim_store_unmap(s, 512, 256), 0);
    ck_assert_int_eq(sim_store_mapped(s, 512, 256, &mapped, &run), 0);
    if (mapped)
        fprintf(stderr, "not run: %s's file system does not punch holes\n", path);
    else
        ck_assert_uint_eq(run, 256);
    ck_assert_int_eq(sim_store_read(s, 600, 1, w), 0);
    for (int i = 0; i < 512; i++)
        ck_assert_uint_eq(w[i], 0);
    sim_store_destroy(s);
    free(w);
    fixture_media_cleanup(path, 2048, 512);
}
END_TEST

START_TEST(unmap_checks_everything_before_anything)
{
    struct fw *fw = thin_fw(1024);
    uint8_t w[512], r[512];
    memset(w, 0x11, sizeof(w));
    fwh_write(fw, 5, 1, w, 512, false);
    /* descriptor 1 fine, descriptor 2 past the end: nothing is unmapped */
    uint8_t p[40] = { 0, 38, 0, 32 };
    scsi_put_be64(p + 8, 5);
    scsi_put_be32(p + 16, 1);
    scsi_put_be64(p + 24, 1023);
    scsi_put_be32(p + 32, 2);
    uint8_t cdb[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, sizeof(p), 0 };
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, p, sizeof(p));
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    fwh_read(fw, 5, 1, r, 512);
    ck_assert(memcmp(w, r, 512) == 0);
    /* 65 descriptors: one more than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
    size_t n = 8 + 65 * 16;
    uint8_t *big = calloc(1, n);
    scsi_put_be16(big, (uint16_t)(n - 2));
    scsi_put_be16(big + 2, (uint16_t)(n - 8));
    scsi_put_be16(cdb + 7, (uint16_t)n);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, big, (uint32_t)n);
    fwh_expect_invalid_param(&t, 2, -1);
    free(big);
    fw_destroy(fw);
}
END_TEST

/* REPORT SUPPORTED OPERATION CODES: UNMAP exists exactly on thin drives. */
static bool rsoc_has(struct fw *fw, uint8_t op)
{
    uint8_t cdb[12] = { 0xa3, 0x0c, 0x01, op, 0, 0, 0, 0, 0, 64, 0, 0 }, b[64];
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    return (b[1] & 0x07) == 0x03;
}

START_TEST(full_drive_offers_no_unmap)
{
    struct fw *full = fwh_simple(1024), *thin = thin_fw(1024);
    ck_assert(!rsoc_has(full, 0x42));
    ck_assert(rsoc_has(thin, 0x42));
    ck_assert(rsoc_has(full, 0x93));   /* WRITE SAME itself is everywhere */
    struct fw_task t;
    unmap(full, &t, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    uint8_t cdb[16] = { 0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24 }, b[24];
    fwh_run0(full, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 4);
    /* READ CAPACITY (16) byte 14 says which is which */
    uint8_t rc[16] = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 }, d[32];
    fwh_run0(full, &t, rc, 16, HBA_FLAG_DIR_READ, d, sizeof(d));
    ck_assert_uint_eq(d[14], 0x00);
    fwh_run0(thin, &t, rc, 16, HBA_FLAG_DIR_READ, d, sizeof(d));
    ck_assert_uint_eq(d[14], 0xc0);
    fw_destroy(full);
    fw_destroy(thin);
}
END_TEST

START_TEST(write_same_paths)
{
    struct fw *fw = thin_fw(1024);
    uint8_t blk[512], r[4 * 512];
    memset(blk, 0xc4, sizeof(blk));
    uint8_t cdb[16] = { 0x93, 0x00 };
    scsi_put_be64(cdb + 2, 100);
    scsi_put_be32(cdb + 10, 4);
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, blk, sizeof(blk));
    fwh_expect_good(&t);
    fwh_read(fw, 100, 4, r, 512);
    for (size_t i = 0; i < sizeof(r); i++)
        ck_assert_uint_eq(r[i], 0xc4);
    /* UNMAP + NDOB: no data-out, deallocated */
    cdb[1] = 0x09;
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_read(fw, 100, 4, r, 512);
    for (size_t i = 0; i < sizeof(r); i++)
        ck_assert_uint_eq(r[i], 0);
    /* more than MAXIMUM WRITE SAME LENGTH */
    cdb[1] = 0;
    scsi_put_be64(cdb + 2, 0);
    scsi_put_be32(cdb + 10, 0x10000);
    struct fw *big = thin_fw(0x20000);
    fwh_run0(big, &t, cdb, 16, HBA_FLAG_DIR_WRITE, blk, sizeof(blk));
    fwh_expect_invalid_cdb(&t, 10, -1);
    fw_destroy(big);
    fw_destroy(fw);
}
END_TEST

/* A 64 TiB thin drive: GET LBA STATUS answers in pieces (the store walks a
 * bounded number of chunks per call), each deallocated, contiguous. */
START_TEST(huge_sparse_drive_status_in_pieces)
{
    uint64_t blocks = UINT64_C(1) << 37;
    struct fw *fw = thin_fw(blocks);
    uint8_t w[512];
    memset(w, 1, sizeof(w));
    uint8_t cdb16[16] = { 0x8a };
    scsi_put_be64(cdb16 + 2, blocks - 1);
    scsi_put_be32(cdb16 + 10, 1);
    struct fw_task t;
    fwh_run0(fw, &t, cdb16, 16, HBA_FLAG_DIR_WRITE, w, sizeof(w));
    fwh_expect_good(&t);
    uint8_t cdb[16] = { 0x9e, 0x12 }, b[8 + 64 * 16];
    scsi_put_be32(cdb + 10, sizeof(b));
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    uint32_t n = (scsi_get_be32(b) - 4) / 16;
    ck_assert_uint_eq(n, 64);
    uint64_t next = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + 8 + 16 * i;
        ck_assert_uint_eq(scsi_get_be64(e), next);
        ck_assert_uint_gt(scsi_get_be32(e + 8), 0);
        ck_assert_uint_eq(e[12], 1);
        next += scsi_get_be32(e + 8);
    }
    ck_assert_uint_lt(next, blocks - 1);   /* the written last block is further on */
    {
        uint32_t run;
        uint8_t st;
        lba_status(fw, blocks - 1, &run, &st);
        ck_assert_uint_eq(st, 0);
        ck_assert_uint_eq(run, 1);
    }
    fw_destroy(fw);
}
END_TEST

/* The drive keys: thin and physical-block-size parse, print back, and a
 * physical block smaller than the logical one is refused. */
START_TEST(config_keys)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    struct located_error err;
    ck_assert_int_eq(sim_config_apply_option(&cfg, "drive=0:0,thin=on,physical-block-size=4096", &err), 0);
    ck_assert_int_eq(sim_config_validate(&cfg, &err), 0);
    const struct sim_lu_config *lu = sim_config_find_lu(&cfg, 0, 0);
    ck_assert(lu->thin);
    ck_assert_uint_eq(lu->physical_block_size, 4096);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(sim_config_print(&cfg, f), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "thin"));
    ck_assert_ptr_nonnull(strstr(text, "physical-block-size"));
    free(text);
    ck_assert_int_eq(sim_config_apply_option(&cfg, "drive=0:0,block-size=4096,physical-block-size=512", &err), 0);
    ck_assert_int_eq(sim_config_validate(&cfg, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "physical-block-size 512"));
    sim_config_free(&cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_lbp");
    TCase *tc = tcase_create("lbp");
    tcase_add_test(tc, unmap_frees_memory_and_reads_zeros);
    tcase_add_test(tc, unmap_drops_dirty_cache_and_oracle_agrees);
    tcase_add_test(tc, unmap_punches_holes_in_file_media);
    tcase_add_test(tc, unmap_checks_everything_before_anything);
    tcase_add_test(tc, full_drive_offers_no_unmap);
    tcase_add_test(tc, write_same_paths);
    tcase_add_test(tc, config_keys);
    tcase_add_test(tc, huge_sparse_drive_status_in_pieces);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
