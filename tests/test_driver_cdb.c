/* tests/test_driver_cdb.c — READ/WRITE decoding, splitting by LBA at the
 * HBA's maximum transfer, and the CDB checks the core and its mutants use
 * (scsi/cdb.c). */
#include <errno.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/scsi.h"
#include "tests/support/testutil.h"

#define KiB 1024u

static void read10(uint8_t *c, uint32_t lba, uint16_t blocks, bool fua)
{
    memset(c, 0, 10);
    c[0] = SCSI_OP_READ_10;
    c[1] = fua ? 0x08 : 0;
    scsi_put_be32(c + 2, lba);
    scsi_put_be16(c + 7, blocks);
}

START_TEST(parse_every_size)
{
    struct cdb_rw rw;
    uint8_t c6[6] = { SCSI_OP_WRITE_6, 0x1F, 0xFF, 0xFE, 0, 0 };
    ck_assert(cdb_parse_rw(c6, 6, &rw));
    ck_assert(rw.write);
    ck_assert_uint_eq(rw.lba, 0x1FFFFE);
    ck_assert_uint_eq(rw.blocks, 256); /* 0 means 256 */

    uint8_t c10[10];
    read10(c10, 0xDEADBEEF, 0x1234, true);
    ck_assert(cdb_parse_rw(c10, 10, &rw));
    ck_assert(!rw.write);
    ck_assert(rw.fua);
    ck_assert_uint_eq(rw.lba, 0xDEADBEEF);
    ck_assert_uint_eq(rw.blocks, 0x1234);

    uint8_t c12[12] = { SCSI_OP_WRITE_12 };
    scsi_put_be32(c12 + 2, 77);
    scsi_put_be32(c12 + 6, 100000);
    ck_assert(cdb_parse_rw(c12, 12, &rw));
    ck_assert_uint_eq(rw.blocks, 100000);

    uint8_t c16[16] = { SCSI_OP_READ_16 };
    scsi_put_be64(c16 + 2, 0x0000123456789ABCull);
    scsi_put_be32(c16 + 10, 4096);
    ck_assert(cdb_parse_rw(c16, 16, &rw));
    ck_assert_uint_eq(rw.lba, 0x0000123456789ABCull);
    ck_assert_uint_eq(rw.blocks, 4096);

    /* Not a READ/WRITE, or too short for its opcode. */
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    ck_assert(!cdb_parse_rw(tur, 6, &rw));
    ck_assert(!cdb_parse_rw(c16, 10, &rw));
    ck_assert(!cdb_parse_rw(c10, 5, &rw));
}
END_TEST

START_TEST(retarget_rewrites_only_lba_and_length)
{
    uint8_t c10[10], out[16];
    read10(c10, 1000, 2048, true);
    c10[6] = 0x05; /* group number: must survive */
    c10[9] = 0x40; /* control */
    ck_assert_int_eq(cdb_rw_retarget(c10, 10, 2024, 1024, out), 0);
    struct cdb_rw rw;
    ck_assert(cdb_parse_rw(out, 10, &rw));
    ck_assert_uint_eq(rw.lba, 2024);
    ck_assert_uint_eq(rw.blocks, 1024);
    ck_assert(rw.fua);
    ck_assert_uint_eq(out[6], 0x05);
    ck_assert_uint_eq(out[9], 0x40);
    ck_assert_int_eq(cdb_rw_retarget(c10, 10, 0x100000000ull, 1, out), -ERANGE);
    ck_assert_int_eq(cdb_rw_retarget(c10, 10, 0, 0x10000, out), -ERANGE);

    uint8_t c6[6] = { SCSI_OP_READ_6, 0xE0, 0, 0, 8, 0 }; /* LUN bits in byte 1 kept */
    ck_assert_int_eq(cdb_rw_retarget(c6, 6, 0x12345, 256, out), 0);
    ck_assert_uint_eq(out[1], 0xE1);
    ck_assert_uint_eq(out[4], 0);
    ck_assert_int_eq(cdb_rw_retarget(c6, 6, 0x200000, 1, out), -ERANGE);
    ck_assert_int_eq(cdb_rw_retarget(c6, 6, 0, 257, out), -ERANGE);

    uint8_t c16[16] = { SCSI_OP_WRITE_16, 0x08 };
    ck_assert_int_eq(cdb_rw_retarget(c16, 16, 1ull << 40, 99, out), 0);
    ck_assert(cdb_parse_rw(out, 16, &rw));
    ck_assert_uint_eq(rw.lba, 1ull << 40);
    ck_assert(rw.write && rw.fua);

    uint8_t inq[6] = { SCSI_OP_INQUIRY };
    ck_assert_int_eq(cdb_rw_retarget(inq, 6, 0, 1, out), -EINVAL);
}
END_TEST

START_TEST(split_at_512k_edges)
{
    struct cdb_rw rw = { .lba = 0, .blocks = 1024 };
    struct cdb_split p;
    /* Exactly 512 KiB of 512-byte blocks: one command. */
    ck_assert_int_eq(cdb_split_plan(&rw, 512 * KiB, 512 * KiB, &p), 0);
    ck_assert_uint_eq(p.chunks, 1);
    ck_assert_uint_eq(p.chunk_blocks, 1024);
    ck_assert_uint_eq(p.block_size, 512);
    /* One block more: a full command and a one-block command. */
    rw.blocks = 1025;
    ck_assert_int_eq(cdb_split_plan(&rw, 512 * KiB + 512, 512 * KiB, &p), 0);
    ck_assert_uint_eq(p.chunks, 2);
    ck_assert_uint_eq(p.chunk_blocks, 1024);
    /* 4 KiB blocks, 2 MiB: four commands of 128 blocks. */
    rw.blocks = 512;
    ck_assert_int_eq(cdb_split_plan(&rw, 2048 * KiB, 512 * KiB, &p), 0);
    ck_assert_uint_eq(p.block_size, 4096);
    ck_assert_uint_eq(p.chunk_blocks, 128);
    ck_assert_uint_eq(p.chunks, 4);
    /* A max transfer that is not a whole number of blocks rounds down. */
    rw.blocks = 10;
    ck_assert_int_eq(cdb_split_plan(&rw, 10 * 4096, 3 * 4096 + 100, &p), 0);
    ck_assert_uint_eq(p.chunk_blocks, 3);
    ck_assert_uint_eq(p.chunks, 4);
}
END_TEST

START_TEST(split_refuses_what_cannot_divide)
{
    struct cdb_rw rw = { .blocks = 3 };
    struct cdb_split p;
    ck_assert_int_eq(cdb_split_plan(&rw, 1000, 512, &p), -EINVAL); /* 1000 / 3 blocks */
    rw.blocks = 0;
    ck_assert_int_eq(cdb_split_plan(&rw, 0, 512, &p), -EINVAL);
    rw.blocks = 1;
    ck_assert_int_eq(cdb_split_plan(&rw, 8192, 4096, &p), -E2BIG); /* one block > max */
}
END_TEST

START_TEST(special_commands)
{
    uint8_t sc10[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 }, sc16[16] = { SCSI_OP_SYNCHRONIZE_CACHE_16 };
    ck_assert(cdb_is_sync_cache(sc10, 10));
    ck_assert(cdb_is_sync_cache(sc16, 16));
    uint8_t rd[10];
    read10(rd, 0, 1, true);
    ck_assert(!cdb_is_sync_cache(rd, 10));
    ck_assert(!cdb_write_has_fua(rd, 10)); /* a READ's FUA is not a write's */

    uint8_t w10[10] = { SCSI_OP_WRITE_10, 0x08 }, w16[16] = { SCSI_OP_WRITE_16, 0x0A };
    ck_assert(cdb_write_has_fua(w10, 10));
    cdb_clear_write_fua(w10, 10);
    ck_assert_uint_eq(w10[1], 0);
    cdb_clear_write_fua(w16, 16);
    ck_assert_uint_eq(w16[1], 0x02); /* only FUA goes */
    cdb_clear_write_fua(rd, 10);
    ck_assert_uint_eq(rd[1], 0x08);

    uint8_t ms6[6] = { SCSI_OP_MODE_SENSE_6 }, ms10[10] = { SCSI_OP_MODE_SENSE_10 };
    ck_assert(cdb_is_mode_sense(ms6, 6));
    ck_assert(cdb_is_mode_sense(ms10, 10));
    ck_assert(!cdb_is_mode_sense(rd, 10));
}
END_TEST

START_TEST(finds_the_caching_page)
{
    uint8_t ms6[6] = { SCSI_OP_MODE_SENSE_6 }, ms10[10] = { SCSI_OP_MODE_SENSE_10 };
    /* MODE SENSE (6): header, an 8-byte block descriptor, the control page, then caching. */
    uint8_t d6[4 + 8 + 12 + 20] = { 0 };
    d6[3] = 8;
    d6[12] = 0x0A;
    d6[13] = 10;
    d6[24] = 0x08;
    d6[25] = 18;
    d6[26] = 0x04; /* WCE */
    ck_assert_int_eq(cdb_mode_caching_page(ms6, d6, sizeof d6), 24);
    ck_assert_int_eq(cdb_mode_caching_page(ms6, d6, 25), -1); /* truncated before the page */
    /* MODE SENSE (10) without block descriptors. */
    uint8_t d10[8 + 20] = { 0 };
    d10[8] = 0x88; /* PS bit set */
    d10[9] = 18;
    ck_assert_int_eq(cdb_mode_caching_page(ms10, d10, sizeof d10), 8);
    /* A subpage-format caching page is not the one. */
    d10[8] = 0x48;
    ck_assert_int_eq(cdb_mode_caching_page(ms10, d10, sizeof d10), -1);
    ck_assert_int_eq(cdb_mode_caching_page(ms10, d10, 4), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_cdb");
    TCase *tc = tcase_create("cdb");
    tcase_add_test(tc, parse_every_size);
    tcase_add_test(tc, retarget_rewrites_only_lba_and_length);
    tcase_add_test(tc, split_at_512k_edges);
    tcase_add_test(tc, split_refuses_what_cannot_divide);
    tcase_add_test(tc, special_commands);
    tcase_add_test(tc, finds_the_caching_page);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
