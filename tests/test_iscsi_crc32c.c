/* tests/test_iscsi_crc32c.c — CRC32C (ISA-L's crc32_iscsi behind
 * iscsi_crc32c_update) against published check values, and against a
 * bit-at-a-time reference at every alignment and over odd lengths, so the
 * library's init/xor conventions are pinned down, not assumed. */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "host/iscsi_crc32c.h"

START_TEST(check_value)
{
    ck_assert_uint_eq(iscsi_crc32c("123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(iscsi_crc32c("", 0), 0);
}
END_TEST

START_TEST(rfc_test_patterns)
{
    /* The 32-byte patterns of the iSCSI specification's CRC examples. */
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    ck_assert_uint_eq(iscsi_crc32c(b, 32), 0x8a9136aau);
    memset(b, 0xff, sizeof(b));
    ck_assert_uint_eq(iscsi_crc32c(b, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    ck_assert_uint_eq(iscsi_crc32c(b, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(iscsi_crc32c(b, 32), 0x113fdb5cu);
}
END_TEST

START_TEST(digest_bytes_are_little_endian)
{
    uint8_t b[32] = { 0 }, d[4];
    iscsi_digest_put(d, iscsi_crc32c(b, 32));
    ck_assert_uint_eq(d[0], 0xaa);
    ck_assert_uint_eq(d[1], 0x36);
    ck_assert_uint_eq(d[2], 0x91);
    ck_assert_uint_eq(d[3], 0x8a);
    ck_assert_uint_eq(iscsi_digest_get(d), 0x8a9136aau);
}
END_TEST

START_TEST(incremental_equals_one_shot)
{
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 31 + 7);
    uint32_t whole = iscsi_crc32c(buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 37) {
        uint32_t c = iscsi_crc32c_update(ISCSI_CRC32C_INIT, buf, cut);
        c = iscsi_crc32c_update(c, buf + cut, sizeof(buf) - cut);
        ck_assert_uint_eq(iscsi_crc32c_final(c), whole);
    }
}
END_TEST

/* The definition itself, one bit at a time (reflected polynomial
 * 0x82F63B78): slow and obviously right, the oracle for the fast path. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--) {
        crc ^= *p++;
        for (int i = 0; i < 8; i++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
    }
    return crc;
}

START_TEST(library_matches_bitwise_reference_at_every_alignment)
{
    size_t size = (1u << 16) + 64;
    uint8_t *buf = malloc(size);
    ck_assert_ptr_nonnull(buf);
    uint32_t x = 12345;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len < 300; len += 7)
            ck_assert_uint_eq(iscsi_crc32c_update(ISCSI_CRC32C_INIT, buf + off, len),
                              crc32c_bitwise(ISCSI_CRC32C_INIT, buf + off, len));
    /* Lengths the library's wide (folding) paths take, misaligned. */
    ck_assert_uint_eq(iscsi_crc32c_update(ISCSI_CRC32C_INIT, buf + 3, 4096),
                      crc32c_bitwise(ISCSI_CRC32C_INIT, buf + 3, 4096));
    ck_assert_uint_eq(iscsi_crc32c_update(ISCSI_CRC32C_INIT, buf + 5, 1u << 16),
                      crc32c_bitwise(ISCSI_CRC32C_INIT, buf + 5, 1u << 16));
    /* A running value that is not all ones continues as the definition says. */
    ck_assert_uint_eq(iscsi_crc32c_update(0x12345678u, buf, 1000), crc32c_bitwise(0x12345678u, buf, 1000));
    free(buf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_add_test(tc, check_value);
    tcase_add_test(tc, rfc_test_patterns);
    tcase_add_test(tc, digest_bytes_are_little_endian);
    tcase_add_test(tc, incremental_equals_one_shot);
    tcase_add_test(tc, library_matches_bitwise_reference_at_every_alignment);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
