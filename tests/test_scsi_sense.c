/* tests/test_scsi_sense.c — sense built in one place, parsed format-independently. */
#include "tests/support/testutil.h"
#include <string.h>

#include "scsi/sense.h"

START_TEST(fixed_invalid_field_has_field_pointer)
{
    uint8_t s[SCSI_SENSE_MAX];
    struct scsi_sense_reason r = scsi_reason_invalid_cdb_field(2, 1);
    size_t n = scsi_sense_build(s, sizeof(s), false, &r);
    ck_assert_uint_eq(n, 18);
    ck_assert_uint_eq(s[0], 0x70);
    ck_assert_uint_eq(s[2], SCSI_SK_ILLEGAL_REQUEST);
    ck_assert_uint_eq(s[7], 10);
    ck_assert_uint_eq(s[12], 0x24);
    ck_assert_uint_eq(s[13], 0x00);
    ck_assert_uint_eq(s[15], 0x80 | 0x40 | 0x08 | 1); /* SKSV, C/D, BPV, bit 1 */
    ck_assert_uint_eq(s[16], 0);
    ck_assert_uint_eq(s[17], 2);
}
END_TEST

START_TEST(descriptor_and_fixed_parse_the_same)
{
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    r.info_valid = true;
    r.info = 0x1234;
    uint8_t f[SCSI_SENSE_MAX], d[SCSI_SENSE_MAX];
    size_t nf = scsi_sense_build(f, sizeof(f), false, &r);
    size_t nd = scsi_sense_build(d, sizeof(d), true, &r);
    ck_assert_uint_eq(d[0], 0x72);
    ck_assert_uint_eq(nd, 8 + 12);
    struct scsi_sense_info a, b;
    ck_assert(scsi_sense_parse(f, nf, &a));
    ck_assert(scsi_sense_parse(d, nd, &b));
    ck_assert(!a.descriptor);
    ck_assert(b.descriptor);
    ck_assert_uint_eq(a.key, b.key);
    ck_assert_uint_eq(a.asc, 0x21);
    ck_assert_uint_eq(b.asc, 0x21);
    ck_assert_uint_eq(a.ascq, b.ascq);
    ck_assert(a.info_valid && b.info_valid);
    ck_assert_uint_eq(a.info, 0x1234);
    ck_assert_uint_eq(b.info, 0x1234);
}
END_TEST

START_TEST(descriptor_field_pointer_round_trip)
{
    struct scsi_sense_reason r = scsi_reason_invalid_param_field(7, -1);
    uint8_t d[SCSI_SENSE_MAX];
    size_t nd = scsi_sense_build(d, sizeof(d), true, &r);
    struct scsi_sense_info i;
    ck_assert(scsi_sense_parse(d, nd, &i));
    ck_assert(i.fp.valid);
    ck_assert(!i.fp.in_cdb);
    ck_assert(!i.fp.bit_valid);
    ck_assert_uint_eq(i.fp.byte, 7);
    ck_assert_uint_eq(i.asc, 0x26);
}
END_TEST

START_TEST(wide_info_is_not_claimed_in_fixed_format)
{
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
    r.info_valid = true;
    r.info = 0x100000000ull;
    uint8_t f[SCSI_SENSE_MAX];
    scsi_sense_build(f, sizeof(f), false, &r);
    ck_assert_uint_eq(f[0] & 0x80, 0); /* VALID clear: the LBA does not fit 32 bits */
}
END_TEST

START_TEST(truncated_build_never_overruns)
{
    uint8_t s[8 + 4];
    memset(s, 0xEE, sizeof(s));
    struct scsi_sense_reason r = scsi_reason_invalid_cdb_field(1, -1);
    size_t n = scsi_sense_build(s, 8, false, &r);
    ck_assert_uint_eq(n, 8);
    for (size_t i = 8; i < sizeof(s); i++)
        ck_assert_uint_eq(s[i], 0xEE);
}
END_TEST

START_TEST(garbage_is_not_sense)
{
    uint8_t g[18] = { 0x12, 0x34 };
    struct scsi_sense_info i;
    ck_assert(!scsi_sense_parse(g, sizeof(g), &i));
    ck_assert(!scsi_sense_parse(g, 3, &i));
    ck_assert(!scsi_sense_parse(NULL, 0, &i));
}
END_TEST

/* A progress indication (SPC-5 4.4.2.4: NOT READY, e.g. 04h/1Bh SANITIZE IN
 * PROGRESS) shares the sense-key-specific bytes with the field pointer: SKSV
 * and the fraction done, read back as progress, not as a field pointer. */
START_TEST(progress_indication_round_trip)
{
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_NOT_READY, SCSI_ASCQ(0x04, 0x1b));
    r.progress_valid = true;
    r.progress = 0x4000;
    for (int desc = 0; desc <= 1; desc++) {
        uint8_t s[SCSI_SENSE_MAX];
        size_t n = scsi_sense_build(s, sizeof s, desc, &r);
        if (!desc) {
            ck_assert_uint_eq(s[15], 0x80);
            ck_assert_uint_eq(scsi_get_be16(s + 16), 0x4000);
        } else {
            ck_assert_uint_eq(s[8], 0x02);         /* sense key specific descriptor */
            ck_assert_uint_eq(s[12], 0x80);
            ck_assert_uint_eq(scsi_get_be16(s + 13), 0x4000);
        }
        struct scsi_sense_info si;
        ck_assert(scsi_sense_parse(s, n, &si));
        ck_assert_uint_eq(si.key, SCSI_SK_NOT_READY);
        ck_assert(si.progress_valid);
        ck_assert_uint_eq(si.progress, 0x4000);
        ck_assert(!si.fp.valid);
    }
}
END_TEST

START_TEST(names_come_from_libsgutils2)
{
    char b[128];
    ck_assert_str_eq(scsi_sense_key_name(SCSI_SK_ILLEGAL_REQUEST, b, sizeof(b)), "Illegal Request");
    ck_assert(strstr(scsi_asc_name(0x24, 0x00, b, sizeof(b)), "Invalid field in cdb") != NULL);
    uint8_t tur[6] = { 0 };
    ck_assert_str_eq(scsi_opcode_name(tur, 6, b, sizeof(b)), "Test Unit Ready");
    ck_assert_int_eq(scsi_cdb_length(0x88), 16);
    ck_assert_int_eq(scsi_cdb_length(0xa0), 12);
    ck_assert_int_eq(scsi_cdb_length(0xc0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scsi_sense");
    TCase *tc = tcase_create("sense");
    tcase_add_test(tc, fixed_invalid_field_has_field_pointer);
    tcase_add_test(tc, descriptor_and_fixed_parse_the_same);
    tcase_add_test(tc, descriptor_field_pointer_round_trip);
    tcase_add_test(tc, wide_info_is_not_claimed_in_fixed_format);
    tcase_add_test(tc, truncated_build_never_overruns);
    tcase_add_test(tc, garbage_is_not_sense);
    tcase_add_test(tc, progress_indication_round_trip);
    tcase_add_test(tc, names_come_from_libsgutils2);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
