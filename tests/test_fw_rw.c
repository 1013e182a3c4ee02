/* tests/test_fw_rw.c — the block commands: READ CAPACITY, READ/WRITE in every
 * CDB size, VERIFY, SYNCHRONIZE CACHE, range checks, data-length rules, write
 * protection, and FUA / WCE durability checked by power cut + oracle. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <stdlib.h>
#include <string.h>

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

/* fw_execute hands every command a zeroed data-in buffer except the media
 * READs, which write every byte they report: a buffer the controller reuses
 * must not carry one command's bytes into another's answer. */
START_TEST(data_in_starts_zeroed_except_for_media_reads)
{
    struct fw *fw = fwh_simple(4096);
    struct fw_task t;
    uint8_t buf[255];
    memset(buf, 0xEE, sizeof buf);
    const uint8_t ms6[6] = { SCSI_OP_MODE_SENSE_6, 0x08, 0x08, 0x00, sizeof buf, 0x00 }; /* caching page */
    fwh_run0(fw, &t, ms6, sizeof ms6, HBA_FLAG_DIR_READ, buf, sizeof buf);
    fwh_expect_good(&t);
    ck_assert_uint_lt(t.xfer, sizeof buf);
    for (size_t i = t.xfer; i < sizeof buf; i++)
        ck_assert_msg(buf[i] == 0, "byte %zu after a %u-byte MODE SENSE is %#x", i, t.xfer, buf[i]);
    /* a READ of blocks nobody wrote: every byte reported is written (zeros) */
    uint8_t blk[2 * 512];
    memset(blk, 0xEE, sizeof blk);
    uint8_t rd[10];
    fwh_cdb_rw10(rd, SCSI_OP_READ_10, 1000, 2, 0);
    fwh_run0(fw, &t, rd, sizeof rd, HBA_FLAG_DIR_READ, blk, sizeof blk);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, sizeof blk);
    for (size_t i = 0; i < sizeof blk; i++)
        ck_assert_msg(blk[i] == 0, "byte %zu of an unwritten block is %#x", i, blk[i]);
    fw_destroy(fw);
}
END_TEST

/* fw_task.host_data: a media READ writes the host's memory directly, and
 * nothing else ever does (an INQUIRY's short answer must not zero the rest of
 * a host buffer the controller would not have copied). */
START_TEST(only_a_media_read_fills_the_host_window)
{
    struct fw *fw = fwh_simple(4096);
    struct fw_task t;
    uint8_t w[2 * 512], host[2 * 512], bounce[2 * 512], wr[10], rd[10];
    fill(w, sizeof w, 7);
    fwh_cdb_rw10(wr, SCSI_OP_WRITE_10, 200, 2, 0);
    fwh_run0(fw, &t, wr, sizeof wr, HBA_FLAG_DIR_WRITE, w, sizeof w);
    fwh_expect_good(&t);
    memset(host, 0xEE, sizeof host);
    memset(bounce, 0xBB, sizeof bounce);
    fwh_cdb_rw10(rd, SCSI_OP_READ_10, 200, 2, 0);
    t = (struct fw_task){ .cdb = rd, .cdb_len = sizeof rd, .dir = HBA_FLAG_DIR_READ, .data = bounce,
                          .data_len = sizeof bounce, .host_data = host };
    fw_execute(fw, &t);
    fwh_expect_good(&t);
    ck_assert(t.direct);
    ck_assert_uint_eq(t.xfer, sizeof host);
    ck_assert_mem_eq(host, w, sizeof host);
    for (size_t i = 0; i < sizeof bounce; i++)
        ck_assert_msg(bounce[i] == 0xBB, "bounce byte %zu written (%#x) by a direct READ", i, bounce[i]);
    const uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 36, 0 };
    memset(host, 0xEE, sizeof host);
    t = (struct fw_task){ .cdb = inq, .cdb_len = sizeof inq, .dir = HBA_FLAG_DIR_READ, .data = bounce,
                          .data_len = sizeof bounce, .host_data = host };
    fw_execute(fw, &t);
    fwh_expect_good(&t);
    ck_assert(!t.direct);
    ck_assert_uint_eq(t.xfer, 36);
    for (size_t i = 0; i < sizeof host; i++)
        ck_assert_msg(host[i] == 0xEE, "host byte %zu written (%#x) by an INQUIRY", i, host[i]);
    fw_destroy(fw);
}
END_TEST

START_TEST(write_read_round_trip_all_sizes)
{
    struct fw *fw = fwh_simple(4096);
    uint8_t w[4 * 512], r[4 * 512];
    struct fw_task t;
    static const uint8_t wops[] = { SCSI_OP_WRITE_6, SCSI_OP_WRITE_10, SCSI_OP_WRITE_12, SCSI_OP_WRITE_16 };
    static const uint8_t rops[] = { SCSI_OP_READ_6, SCSI_OP_READ_10, SCSI_OP_READ_12, SCSI_OP_READ_16 };
    for (int k = 0; k < 4; k++) {
        uint32_t lba = 100 + 10 * (uint32_t)k;
        uint8_t cdb[16];
        memset(cdb, 0, sizeof(cdb));
        fill(w, sizeof(w), (uint8_t)(k + 1));
        for (int dir = 0; dir < 2; dir++) {
            uint8_t op = dir ? rops[k] : wops[k];
            uint8_t len = 0;
            switch (k) {
            case 0: cdb[0] = op; scsi_put_be24(cdb + 1, lba); cdb[4] = 4; len = 6; break;
            case 1: fwh_cdb_rw10(cdb, op, lba, 4, 0); len = 10; break;
            case 2: cdb[0] = op; scsi_put_be32(cdb + 2, lba); scsi_put_be32(cdb + 6, 4); len = 12; break;
            case 3: fwh_cdb_rw16(cdb, op, lba, 4, 0); len = 16; break;
            }
            memset(r, 0, sizeof(r));
            fwh_run0(fw, &t, cdb, len, dir ? HBA_FLAG_DIR_READ : HBA_FLAG_DIR_WRITE, dir ? r : w, sizeof(w));
            fwh_expect_good(&t);
            ck_assert_uint_eq(t.xfer, sizeof(w));
        }
        ck_assert(memcmp(w, r, sizeof(w)) == 0);
    }
    /* a block nobody wrote reads as zeros */
    uint8_t z[512], zero[512] = { 0 };
    fwh_read(fw, 4000, 1, z, 512);
    ck_assert(memcmp(z, zero, 512) == 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(rw6_length_zero_means_256)
{
    struct fw *fw = fwh_simple(4096);
    size_t n = 256 * 512;
    uint8_t *w = malloc(n), *r = malloc(n);
    fill(w, n, 9);
    uint8_t cdb[6] = { SCSI_OP_WRITE_6, 0, 0, 10, 0, 0 };
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_WRITE, w, (uint32_t)n);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, n);
    fwh_read(fw, 10, 256, r, 512);
    ck_assert(memcmp(w, r, n) == 0);
    /* 256 blocks from LBA 3841 run past the end of 4096 blocks */
    cdb[0] = SCSI_OP_READ_6;
    scsi_put_be24(cdb + 1, 3841);
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, r, (uint32_t)n);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    scsi_put_be24(cdb + 1, 3840);
    fwh_run0(fw, &t, cdb, 6, HBA_FLAG_DIR_READ, r, (uint32_t)n);
    fwh_expect_good(&t);
    free(w);
    free(r);
    fw_destroy(fw);
}
END_TEST

START_TEST(lba_out_of_range_and_wrap)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[8 * 512];
    uint8_t cdb[16];
    struct fw_task t;
    struct { uint64_t lba; uint32_t n; bool ok; } cases[] = {
        { 999, 1, true }, { 992, 8, true }, { 993, 8, false }, { 1000, 1, false },
        { 999, 0, true }, { 1000, 0, false },
        { UINT64_MAX, 1, false }, { UINT64_MAX - 3, 8, false },   /* lba + n wraps */
        { 0xFFFFFFFFFFFFFFF8ull, 8, false }, { 1ull << 63, 1, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fwh_cdb_rw16(cdb, SCSI_OP_READ_16, cases[i].lba, cases[i].n, 0);
        fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
        if (cases[i].ok) {
            fwh_expect_good(&t);
        } else {
            fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
            ck_assert_uint_eq(t.xfer, 0);
        }
        fwh_cdb_rw16(cdb, SCSI_OP_WRITE_16, cases[i].lba, cases[i].n, 0);
        fwh_run0(fw, &t, cdb, 16, cases[i].n ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_NONE, b, cases[i].n * 512);
        if (cases[i].ok)
            fwh_expect_good(&t);
        else
            fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    }
    /* a huge block count with a small LBA */
    fwh_cdb_rw16(cdb, SCSI_OP_READ_16, 0, 0xFFFFFFFFu, 0);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(rw_reserved_fields)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t b[512];
    uint8_t cdb[16];
    struct fw_task t;
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 0, 1, 0x20);       /* RDPROTECT without protection */
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 7); /* the protect field's left-most bit */
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, 0, 1, 0x04);      /* reserved */
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 2);
    fwh_cdb_rw16(cdb, SCSI_OP_READ_16, 0, 1, 0);
    cdb[14] = 0x80;                                       /* DLD1 */
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 14, 7);
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 0, 1, 0x18);       /* DPO + FUA are fine */
    cdb[6] = 0x05;                                        /* group number is fine */
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(data_length_rules)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[4 * 512], r[4 * 512];
    uint8_t cdb[10];
    struct fw_task t;
    fill(w, sizeof(w), 3);
    fwh_write(fw, 20, 4, w, 512, false);
    /* data-in shorter than asked: what fits, including part of a block */
    memset(r, 0xEE, sizeof(r));
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 20, 4, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, r, 700);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 700);
    ck_assert(memcmp(r, w, 700) == 0);
    ck_assert_uint_eq(r[700], 0xEE);
    /* data-in larger than asked: only the blocks asked for */
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 20, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, r, sizeof(r));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 512);
    /* data-out shorter than the blocks: rejected, nothing written */
    uint8_t other[4 * 512];
    fill(other, sizeof(other), 77);
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, 20, 4, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, other, 3 * 512);
    fwh_expect_invalid_cdb(&t, 7, -1);
    ck_assert_uint_eq(t.xfer, 0);
    fwh_read(fw, 20, 4, r, 512);
    ck_assert(memcmp(r, w, sizeof(w)) == 0);
    /* wrong direction for a transfer */
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 20, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, r, 512);
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_DIRECTION_MISMATCH);
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, 20, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, r, 512);
    ck_assert_uint_eq(t.ctrl_status, HBA_CS_DIRECTION_MISMATCH);
    /* transfer length 0: no data, any direction */
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, 20, 0, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 0);
    fw_destroy(fw);
}
END_TEST

static void read_capacity(struct fw *fw, struct fw_task *t, uint8_t *b10, uint8_t *b16)
{
    uint8_t c10[10] = { SCSI_OP_READ_CAPACITY_10 };
    fwh_run0(fw, t, c10, 10, HBA_FLAG_DIR_READ, b10, 8);
    fwh_expect_good(t);
    ck_assert_uint_eq(t->xfer, 8);
    uint8_t c16[16] = { SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    scsi_put_be32(c16 + 10, 32);
    fwh_run0(fw, t, c16, 16, HBA_FLAG_DIR_READ, b16, 32);
    fwh_expect_good(t);
    ck_assert_uint_eq(t->xfer, 32);
}

static struct fw *one_drive(uint64_t blocks, uint32_t bs)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, blocks, bs);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    return fw;
}

START_TEST(read_capacity_small_drive)
{
    struct fw *fw = fwh_simple(2048);
    uint8_t b10[8], b16[32];
    struct fw_task t;
    read_capacity(fw, &t, b10, b16);
    ck_assert_uint_eq(scsi_get_be32(b10), 2047);
    ck_assert_uint_eq(scsi_get_be32(b10 + 4), 512);
    ck_assert_uint_eq(scsi_get_be64(b16), 2047);
    ck_assert_uint_eq(scsi_get_be32(b16 + 8), 512);
    ck_assert_uint_eq(b16[12], 0);          /* no protection */
    ck_assert_uint_eq(b16[13] & 0x0f, 0);   /* logical blocks per physical block exponent */
    ck_assert_uint_eq(b16[14] & 0xc0, 0);   /* LBPME, LBPRZ */
    fw_destroy(fw);
}
END_TEST

START_TEST(read_capacity_66tb_4k)
{
    /* 66 TB in 4096-byte blocks: 16,113,281,250 blocks, beyond 32 bits */
    uint64_t blocks = 66000000000000ull / 4096;
    struct fw *fw = one_drive(blocks, 4096);
    uint8_t b10[8], b16[32];
    struct fw_task t;
    read_capacity(fw, &t, b10, b16);
    ck_assert_uint_eq(scsi_get_be32(b10), 0xFFFFFFFFu);
    ck_assert_uint_eq(scsi_get_be32(b10 + 4), 4096);
    ck_assert_uint_eq(scsi_get_be64(b16), blocks - 1);
    ck_assert_uint_eq(scsi_get_be32(b16 + 8), 4096);
    /* I/O at the far end of the drive works; one past does not */
    uint8_t w[4096], r[4096];
    fill(w, sizeof(w), 5);
    uint8_t cdb[16];
    fwh_cdb_rw16(cdb, SCSI_OP_WRITE_16, blocks - 1, 1, 0);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, w, sizeof(w));
    fwh_expect_good(&t);
    fwh_cdb_rw16(cdb, SCSI_OP_READ_16, blocks - 1, 1, 0);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, r, sizeof(r));
    fwh_expect_good(&t);
    ck_assert(memcmp(w, r, sizeof(w)) == 0);
    fwh_cdb_rw16(cdb, SCSI_OP_READ_16, blocks, 1, 0);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_READ, r, sizeof(r));
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(read_capacity_boundary_2e32)
{
    /* exactly 2^32 blocks: last LBA FFFFFFFFh already needs READ CAPACITY (16) */
    struct fw *fw = one_drive(1ull << 32, 512);
    uint8_t b10[8], b16[32];
    struct fw_task t;
    read_capacity(fw, &t, b10, b16);
    ck_assert_uint_eq(scsi_get_be32(b10), 0xFFFFFFFFu);
    ck_assert_uint_eq(scsi_get_be64(b16), 0xFFFFFFFFull);
    fw_destroy(fw);
    fw = one_drive(0xFFFFFFFFull, 512);    /* last LBA FFFFFFFEh still fits */
    read_capacity(fw, &t, b10, b16);
    ck_assert_uint_eq(scsi_get_be32(b10), 0xFFFFFFFEu);
    fw_destroy(fw);
}
END_TEST

START_TEST(read_capacity_pmi_rules)
{
    struct fw *fw = fwh_simple(2048);
    uint8_t b[32];
    struct fw_task t;
    uint8_t c10[10] = { SCSI_OP_READ_CAPACITY_10, 0, 0, 0, 0, 5 };   /* LBA without PMI */
    fwh_run0(fw, &t, c10, 10, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_invalid_cdb(&t, 2, -1);
    c10[8] = 0x01;                                                  /* with PMI: fine */
    fwh_run0(fw, &t, c10, 10, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(b), 2047);
    c10[8] = 0x02;                                                  /* reserved */
    fwh_run0(fw, &t, c10, 10, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_invalid_cdb(&t, 8, 1);
    uint8_t c16[16] = { SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    scsi_put_be64(c16 + 2, 7);
    scsi_put_be32(c16 + 10, 32);
    fwh_run0(fw, &t, c16, 16, HBA_FLAG_DIR_READ, b, 32);
    fwh_expect_invalid_cdb(&t, 2, -1);
    c16[14] = 0x01;
    fwh_run0(fw, &t, c16, 16, HBA_FLAG_DIR_READ, b, 32);
    fwh_expect_good(&t);
    /* allocation length 12 cuts the data */
    scsi_put_be32(c16 + 10, 12);
    fwh_run0(fw, &t, c16, 16, HBA_FLAG_DIR_READ, b, 32);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 12);
    /* a short buffer for READ CAPACITY (10) is a residual */
    fwh_run0(fw, &t, c10, 10, HBA_FLAG_DIR_READ, b, 4);
    fwh_expect_invalid_cdb(&t, 8, 1);
    c10[8] = 0;
    memset(c10 + 2, 0, 4);
    fwh_run0(fw, &t, c10, 10, HBA_FLAG_DIR_READ, b, 4);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, 4);
    fw_destroy(fw);
}
END_TEST

START_TEST(verify_modes)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[4 * 512], cmp[4 * 512];
    uint8_t cdb[16];
    struct fw_task t;
    fill(w, sizeof(w), 11);
    fwh_write(fw, 40, 4, w, 512, false);
    /* BYTCHK 0: range only, no data */
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 40, 4, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 998, 4, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    /* BYTCHK 1: the same data compares equal */
    memcpy(cmp, w, sizeof(w));
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 40, 4, 0x02);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, cmp, sizeof(cmp));
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, sizeof(cmp));
    /* one byte off in the third block: MISCOMPARE, INFORMATION = its offset */
    cmp[2 * 512 + 17] ^= 0x40;
    fwh_cdb_rw16(cdb, SCSI_OP_VERIFY_16, 40, 4, 0x02);
    fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_WRITE, cmp, sizeof(cmp));
    fwh_expect_sense(&t, SCSI_SK_MISCOMPARE, 0x1d, 0x00);
    struct scsi_sense_info si = fwh_sense(&t);
    ck_assert(si.info_valid);
    ck_assert_uint_eq(si.info, 2 * 512 + 17);
    /* BYTCHK 3: one block against each */
    uint8_t same[512];
    memset(same, 0x5a, sizeof(same));
    uint8_t four[4 * 512];
    memset(four, 0x5a, sizeof(four));
    fwh_write(fw, 60, 4, four, 512, false);
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 60, 4, 0x06);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, same, sizeof(same));
    fwh_expect_good(&t);
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 59, 4, 0x06);   /* block 59 is zeros */
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, same, sizeof(same));
    fwh_expect_sense(&t, SCSI_SK_MISCOMPARE, 0x1d, 0x00);
    /* BYTCHK 2 is reserved */
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 40, 1, 0x04);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_invalid_cdb(&t, 1, 2);
    /* BYTCHK 1 with too little data-out */
    fwh_cdb_rw10(cdb, SCSI_OP_VERIFY_10, 40, 4, 0x02);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, cmp, 512);
    fwh_expect_invalid_cdb(&t, 7, -1);
    fw_destroy(fw);
}
END_TEST

START_TEST(write_protect_config)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 1000, 512)->write_protect = true;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    uint8_t b[512] = { 1 };
    uint8_t cdb[16];
    struct fw_task t;
    static const uint8_t ops[] = { SCSI_OP_WRITE_10, SCSI_OP_WRITE_16 };
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            fwh_cdb_rw10(cdb, ops[i], 0, 1, 0);
        else
            fwh_cdb_rw16(cdb, ops[i], 0, 1, 0);
        fwh_run0(fw, &t, cdb, i ? 16 : 10, HBA_FLAG_DIR_WRITE, b, sizeof(b));
        fwh_expect_sense(&t, SCSI_SK_DATA_PROTECT, 0x27, 0x00);
    }
    uint8_t w6[6] = { SCSI_OP_WRITE_6, 0, 0, 0, 1, 0 };
    fwh_run0(fw, &t, w6, 6, HBA_FLAG_DIR_WRITE, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_DATA_PROTECT, 0x27, 0x00);
    /* reads and SYNCHRONIZE CACHE still work */
    uint8_t r[512];
    fwh_read(fw, 0, 1, r, 512);
    uint8_t sc[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    fwh_run0(fw, &t, sc, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    /* WP in the mode parameter header */
    uint8_t ms[6] = { SCSI_OP_MODE_SENSE_6, 0x08, 0x3f, 0, 255, 0 };
    uint8_t m[255];
    fwh_run0(fw, &t, ms, 6, HBA_FLAG_DIR_READ, m, sizeof(m));
    fwh_expect_good(&t);
    ck_assert_uint_eq(m[2] & 0x80, 0x80);
    fw_destroy(fw);
}
END_TEST

START_TEST(synchronize_cache_ranges)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t cdb[16];
    struct fw_task t;
    struct { uint64_t lba; uint32_t n; bool ok; } cases[] = {
        { 0, 0, true }, { 999, 0, true }, { 999, 1, true }, { 0, 1000, true },
        { 1000, 0, false }, { 999, 2, false }, { UINT64_MAX, 2, false }, { 0, 1001, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fwh_cdb_rw16(cdb, SCSI_OP_SYNCHRONIZE_CACHE_16, cases[i].lba, cases[i].n, 0x02 /* IMMED */);
        fwh_run0(fw, &t, cdb, 16, HBA_FLAG_DIR_NONE, NULL, 0);
        if (cases[i].ok)
            fwh_expect_good(&t);
        else
            fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    }
    fwh_cdb_rw10(cdb, SCSI_OP_SYNCHRONIZE_CACHE_10, 0, 0, 0x01);   /* obsolete bit 0 */
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_invalid_cdb(&t, 1, 0);
    fw_destroy(fw);
}
END_TEST

/* Durability: what reached media survives a power cut without a battery. */

static struct sim_oracle_report cut_and_check(struct fw *fw)
{
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(fw_check_media(fw, 0, 0, &r), 0);
    return r;
}

START_TEST(unflushed_writes_are_lost)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[8 * 512];
    fill(w, sizeof(w), 1);
    fwh_write(fw, 0, 8, w, 512, false);
    struct sim_oracle_report r = cut_and_check(fw);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_gt(r.volatile_lost, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(sync_cache_makes_writes_durable)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[8 * 512], r8[8 * 512];
    fill(w, sizeof(w), 2);
    fwh_write(fw, 100, 8, w, 512, false);
    uint8_t sc[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    struct fw_task t;
    fwh_run0(fw, &t, sc, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    struct sim_oracle_report r = cut_and_check(fw);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_ge(r.blocks_checked, 8);
    fwh_read(fw, 100, 8, r8, 512);
    ck_assert(memcmp(w, r8, sizeof(w)) == 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(sync_cache_range_flushes_only_the_range)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[512];
    fill(w, sizeof(w), 3);
    fwh_write(fw, 10, 1, w, 512, false);
    fwh_write(fw, 500, 1, w, 512, false);
    uint8_t sc[10];
    fwh_cdb_rw10(sc, SCSI_OP_SYNCHRONIZE_CACHE_10, 0, 100, 0);
    struct fw_task t;
    fwh_run0(fw, &t, sc, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    struct sim_oracle_report r = cut_and_check(fw);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_gt(r.volatile_lost, 0);   /* LBA 500 was outside the range */
    uint8_t back[512];
    fwh_read(fw, 10, 1, back, 512);
    ck_assert(memcmp(w, back, 512) == 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(fua_write_is_durable)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[4 * 512];
    fill(w, sizeof(w), 4);
    fwh_write(fw, 7, 4, w, 512, true);
    struct sim_oracle_report r = cut_and_check(fw);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    uint8_t back[4 * 512];
    fwh_read(fw, 7, 4, back, 512);
    ck_assert(memcmp(w, back, sizeof(w)) == 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(fua_read_flushes_its_range)
{
    struct fw *fw = fwh_simple(1000);
    uint8_t w[512], r[512];
    fill(w, sizeof(w), 6);
    fwh_write(fw, 3, 1, w, 512, false);
    uint8_t cdb[10];
    struct fw_task t;
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 3, 1, 0x08);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, r, sizeof(r));
    fwh_expect_good(&t);
    ck_assert(memcmp(w, r, 512) == 0);
    struct sim_oracle_report rep = cut_and_check(fw);
    ck_assert_uint_eq(rep.volatile_lost, 0);
    ck_assert_uint_eq(rep.durable_lost, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(wce_off_writes_through)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 1000, 512)->write_cache = false;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    uint8_t w[4 * 512];
    fill(w, sizeof(w), 8);
    fwh_write(fw, 0, 4, w, 512, false);
    struct sim_oracle_report r = cut_and_check(fw);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(good_battery_keeps_cache)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 1000, 512)->battery = HBA_BATTERY_GOOD;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    uint8_t w[2 * 512], back[2 * 512];
    fill(w, sizeof(w), 12);
    fwh_write(fw, 50, 2, w, 512, false);
    ck_assert_uint_eq(fw_power_cut(fw, NULL), 0);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_read(fw, 50, 2, back, 512);
    ck_assert(memcmp(w, back, sizeof(w)) == 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(fw_check_media(fw, 0, 0, &r), 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    fw_destroy(fw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fw_rw");
    TCase *tc = tcase_create("sbc");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, data_in_starts_zeroed_except_for_media_reads);
    tcase_add_test(tc, write_read_round_trip_all_sizes);
    tcase_add_test(tc, only_a_media_read_fills_the_host_window);
    tcase_add_test(tc, rw6_length_zero_means_256);
    tcase_add_test(tc, lba_out_of_range_and_wrap);
    tcase_add_test(tc, rw_reserved_fields);
    tcase_add_test(tc, data_length_rules);
    tcase_add_test(tc, read_capacity_small_drive);
    tcase_add_test(tc, read_capacity_66tb_4k);
    tcase_add_test(tc, read_capacity_boundary_2e32);
    tcase_add_test(tc, read_capacity_pmi_rules);
    tcase_add_test(tc, verify_modes);
    tcase_add_test(tc, write_protect_config);
    tcase_add_test(tc, synchronize_cache_ranges);
    tcase_add_test(tc, unflushed_writes_are_lost);
    tcase_add_test(tc, sync_cache_makes_writes_durable);
    tcase_add_test(tc, sync_cache_range_flushes_only_the_range);
    tcase_add_test(tc, fua_write_is_durable);
    tcase_add_test(tc, fua_read_flushes_its_range);
    tcase_add_test(tc, wce_off_writes_through);
    tcase_add_test(tc, good_battery_keeps_cache);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
