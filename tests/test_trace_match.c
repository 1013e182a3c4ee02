/* tests/test_trace_match.c — the matcher: every pattern construct against
 * actual bytes (with the structured diff it yields), sense compared the same
 * whether fixed or descriptor format, status lists, TMF responses. */
#include "tests/support/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "conformance/format/match.h"
#include "conformance/format/trace.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

/* A trace holding one DIN with `pattern` (len 64 KiB); the pattern is its record 1. */
struct fixture {
    struct trace *t;
    const struct trace_pattern *p;
};

static struct fixture din(const char *pattern)
{
    char text[4096];
    snprintf(text, sizeof text,
             V "- H > - t1 CMD 28 00 00 00 00 00 00 00 80 00 len=4294967295 dir=in\n- H < - t1 DIN %s\n"
               "- H < - t1 STATUS GOOD\n", pattern);
    struct located_error err;
    struct fixture f = { tt_parse(text, &err), NULL };
    ck_assert_msg(f.t != NULL, "'%s': %s", pattern, err.message);
    f.p = &f.t->lines[1].record.data;
    return f;
}

static struct trace_data_diff match(const char *pattern, const uint8_t *actual, size_t len)
{
    struct fixture f = din(pattern);
    struct trace_data_diff d;
    trace_match_data(f.p, actual, len, &d);
    trace_free(f.t);
    return d;
}

START_TEST(test_exact_bytes)
{
    const uint8_t a[] = { 0x12, 0x00, 0x00, 0x00, 0x24, 0x00 };
    struct trace_data_diff d = match("12 00 00 00 24 00", a, sizeof a);
    ck_assert(d.match);
    ck_assert_uint_eq(d.n_ranges, 0);
    ck_assert_uint_eq(d.window_len, 0);
    d = match("120000002400", a, sizeof a);
    ck_assert(d.match);
    const uint8_t b[] = { 0x12, 0x00, 0x00, 0x00, 0x25, 0x00 };
    d = match("12 00 00 00 24 00", b, sizeof b);
    ck_assert(!d.match);
    ck_assert_uint_eq(d.differing, 1);
    ck_assert_uint_eq(d.n_ranges, 1);
    ck_assert_uint_eq(d.ranges[0].offset, 4);
    ck_assert_uint_eq(d.ranges[0].length, 1);
    ck_assert_uint_eq(d.window_offset, 0);
    ck_assert_uint_eq(d.window_len, 6);
    ck_assert_uint_eq(d.flags[4], TRACE_DIFF_HAS_EXPECTED | TRACE_DIFF_HAS_ACTUAL | TRACE_DIFF_DIFFERS);
    ck_assert_uint_eq(d.flags[3], TRACE_DIFF_HAS_EXPECTED | TRACE_DIFF_HAS_ACTUAL);
    ck_assert_uint_eq(d.exp_value[4], 0x24);
    ck_assert_uint_eq(d.actual[4], 0x25);
}
END_TEST

START_TEST(test_dont_care_and_masks)
{
    const uint8_t a[] = { 0x7f, 0x1f, 0x55 };
    ck_assert(match("?? 1f ??", a, 3).match);
    ck_assert(match("??1f??", a, 3).match);
    ck_assert(match("??*3", (const uint8_t[]){ 1, 2, 3 }, 3).match);
    /* 10/f0: the high nibble must be 1 */
    ck_assert(match("10/f0", (const uint8_t[]){ 0x1f }, 1).match);
    ck_assert(match("10/f0", (const uint8_t[]){ 0x10 }, 1).match);
    struct trace_data_diff d = match("10/f0", (const uint8_t[]){ 0x20 }, 1);
    ck_assert(!d.match);
    ck_assert_uint_eq(d.exp_mask[0], 0xf0);
    /* peripheral qualifier 0 whatever the device type: 00/e0 */
    ck_assert(match("00/e0 ..", (const uint8_t[]){ 0x05, 0x80 }, 2).match);
    ck_assert(!match("00/e0 ..", (const uint8_t[]){ 0x7f, 0x80 }, 2).match);
}
END_TEST

START_TEST(test_repeats)
{
    uint8_t z[512] = { 0 };
    ck_assert(match("00*512", z, sizeof z).match);
    z[300] = 1;
    z[301] = 1;
    z[400] = 2;
    struct trace_data_diff d = match("00*512", z, sizeof z);
    ck_assert_uint_eq(d.differing, 3);
    ck_assert_uint_eq(d.n_ranges, 2);
    ck_assert_uint_eq(d.ranges[0].offset, 300);
    ck_assert_uint_eq(d.ranges[0].length, 2);
    ck_assert_uint_eq(d.ranges[1].offset, 400);
    ck_assert_uint_eq(d.window_offset, 288); /* the row of the first difference */
    ck_assert_uint_eq(d.window_len, TRACE_DIFF_WINDOW);
    ck_assert(d.flags[12] & TRACE_DIFF_DIFFERS);
    /* a 4 GiB repeat against 10 bytes: compared without expanding it */
    d = match("00*4294967295", z, 10);
    ck_assert(d.too_short);
    ck_assert_uint_eq(d.ranges[0].offset, 10);
    ck_assert_uint_eq(d.ranges[0].length, 4294967285ull);
    ck_assert_uint_eq(d.differing, 0);
    /* repeats next to other items */
    ck_assert(match("01 00*3 02", (const uint8_t[]){ 1, 0, 0, 0, 2 }, 5).match);
    ck_assert(!match("01 00*3 02", (const uint8_t[]){ 1, 0, 0, 2, 0 }, 5).match);
}
END_TEST

START_TEST(test_text)
{
    ck_assert(match("\"AB\":4", (const uint8_t *)"AB  ", 4).match);
    struct trace_data_diff d = match("\"AB\":4", (const uint8_t *)"AB\0\0", 4);
    ck_assert_uint_eq(d.differing, 2);
    ck_assert_uint_eq(d.ranges[0].offset, 2);
    ck_assert_uint_eq(d.ranges[0].length, 2);
    ck_assert_uint_eq(d.exp_value[2], ' ');
    ck_assert(match("\"SCSISIM\":8 \"SIM DISK\":16", (const uint8_t *)"SCSISIM SIM DISK        ", 24).match);
    ck_assert(match("\"a\\\"b\"", (const uint8_t *)"a\"b", 3).match);
}
END_TEST

START_TEST(test_rest_and_lengths)
{
    const uint8_t a[] = { 1, 2, 3, 4, 5 };
    ck_assert(match("01 02 ..", a, 5).match);
    ck_assert(match("01 02 03 04 05 ..", a, 5).match); /* ".." may be empty */
    /* without "..", extra bytes differ */
    struct trace_data_diff d = match("01 02", a, 5);
    ck_assert(!d.match);
    ck_assert(d.too_long);
    ck_assert_uint_eq(d.differing, 0);
    ck_assert_uint_eq(d.ranges[0].offset, 2);
    ck_assert_uint_eq(d.ranges[0].length, 3);
    ck_assert_uint_eq(d.flags[3], TRACE_DIFF_HAS_ACTUAL | TRACE_DIFF_DIFFERS);
    /* short data: missing bytes differ, also with ".." */
    d = match("01 02 03 04 05 06 ..", a, 5);
    ck_assert(d.too_short);
    ck_assert_uint_eq(d.ranges[0].offset, 5);
    ck_assert_uint_eq(d.ranges[0].length, 1);
    ck_assert_uint_eq(d.flags[5], TRACE_DIFF_HAS_EXPECTED | TRACE_DIFF_DIFFERS);
    /* nothing received */
    d = match("01", NULL, 0);
    ck_assert(d.too_short);
    ck_assert(!d.match);
    ck_assert(match("..", NULL, 0).match);
    /* with "..", bytes past the pattern are neither expected nor different */
    d = match("00 ..", (const uint8_t[]){ 1, 9, 9 }, 3);
    ck_assert_uint_eq(d.window_len, 3);
    ck_assert_uint_eq(d.flags[1], TRACE_DIFF_HAS_ACTUAL);
}
END_TEST

START_TEST(test_many_ranges)
{
    uint8_t a[64];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 40; i += 2)
        a[i] = 0xff;
    struct trace_data_diff d = match("00*64", a, sizeof a);
    ck_assert_uint_eq(d.differing, 20);
    ck_assert_uint_eq(d.n_ranges, TRACE_DIFF_RANGES);
    ck_assert(d.more_ranges);
    ck_assert_uint_eq(d.ranges[7].offset, 14);
}
END_TEST

/* One STATUS line parsed, for status matching. */
static struct trace *status_trace(const char *status)
{
    char text[512];
    snprintf(text, sizeof text, V "- H > - t1 CMD 00 00 00 00 00 00\n- H < - t1 STATUS %s\n", status);
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    ck_assert_msg(t != NULL, "%s: %s", status, err.message);
    return t;
}

static bool status_ok(const char *status, unsigned actual, const uint8_t *sense, size_t len)
{
    struct trace *t = status_trace(status);
    struct trace_status_match m;
    bool ok = trace_match_status(&t->lines[1].record.status, actual, sense, len, &m);
    ck_assert_int_eq(ok, m.ok);
    trace_free(t);
    return ok;
}

START_TEST(test_sense_fixed_and_descriptor_are_equivalent)
{
    uint8_t fixed[64], desc[64];
    struct scsi_sense_reason r = scsi_reason_invalid_cdb_field(4, -1);
    size_t fl = scsi_sense_build(fixed, sizeof fixed, false, &r);
    size_t dl = scsi_sense_build(desc, sizeof desc, true, &r);
    ck_assert_uint_eq(fixed[0], 0x70);
    ck_assert_uint_eq(desc[0], 0x72);
    static const char *const specs[] = { "CHECK ILLEGAL_REQUEST/0x24/0x00", "CHECK 5/24/00", "CHECK 0x5/0x24/??",
                                         "CHECK ILLEGAL_REQUEST/?\?/?\?", "CHECK", "GOOD|CHECK 5/20/00|5/24/00" };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        ck_assert_msg(status_ok(specs[i], SCSI_STATUS_CHECK_CONDITION, fixed, fl), "fixed vs %s", specs[i]);
        ck_assert_msg(status_ok(specs[i], SCSI_STATUS_CHECK_CONDITION, desc, dl), "descriptor vs %s", specs[i]);
    }
    static const char *const wrong[] = { "CHECK ILLEGAL_REQUEST/0x20/0x00", "CHECK 6/24/00", "CHECK 5/24/01", "GOOD" };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        ck_assert_msg(!status_ok(wrong[i], SCSI_STATUS_CHECK_CONDITION, fixed, fl), "fixed vs %s", wrong[i]);
        ck_assert_msg(!status_ok(wrong[i], SCSI_STATUS_CHECK_CONDITION, desc, dl), "descriptor vs %s", wrong[i]);
    }
    /* the decoded sense is reported, and which alternative matched */
    struct trace *t = status_trace("GOOD|CHECK 5/20/00|5/24/00");
    struct trace_status_match m;
    ck_assert(trace_match_status(&t->lines[1].record.status, SCSI_STATUS_CHECK_CONDITION, desc, dl, &m));
    ck_assert_int_eq(m.alt, 2);
    ck_assert(m.sense_valid);
    ck_assert(m.sense.descriptor);
    ck_assert_uint_eq(m.sense.asc, 0x24);
    trace_free(t);
}
END_TEST

START_TEST(test_unit_attention_wildcards)
{
    uint8_t s[32];
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_UNIT_ATTENTION, SCSI_ASC_SCSI_BUS_RESET);
    size_t n = scsi_sense_build(s, sizeof s, false, &r);
    ck_assert(status_ok("CHECK UNIT_ATTENTION/0x29/??", SCSI_STATUS_CHECK_CONDITION, s, n));
    ck_assert(!status_ok("CHECK UNIT_ATTENTION/0x29/0x00", SCSI_STATUS_CHECK_CONDITION, s, n));
    ck_assert(status_ok("CHECK UNIT_ATTENTION/0x29/0x00|UNIT_ATTENTION/0x29/0x02", SCSI_STATUS_CHECK_CONDITION, s, n));
    ck_assert(status_ok("CHECK UNIT_ATTENTION/0x29/??|GOOD", SCSI_STATUS_GOOD, NULL, 0));
}
END_TEST

START_TEST(test_invalid_sense)
{
    const uint8_t junk[] = { 0x00, 0x01, 0x02 };
    /* CHECK with a key/asc/ascq needs valid sense; CHECK alone does not */
    ck_assert(!status_ok("CHECK 5/24/00", SCSI_STATUS_CHECK_CONDITION, junk, sizeof junk));
    ck_assert(status_ok("CHECK", SCSI_STATUS_CHECK_CONDITION, junk, sizeof junk));
    ck_assert(status_ok("CHECK", SCSI_STATUS_CHECK_CONDITION, NULL, 0));
    ck_assert(!status_ok("CHECK 5/24/00", SCSI_STATUS_CHECK_CONDITION, NULL, 0));
}
END_TEST

START_TEST(test_status_lists)
{
    ck_assert(status_ok("GOOD|BUSY", SCSI_STATUS_BUSY, NULL, 0));
    ck_assert(!status_ok("GOOD|BUSY", SCSI_STATUS_TASK_SET_FULL, NULL, 0));
    ck_assert(status_ok("RESV", SCSI_STATUS_RESERVATION_CONFLICT, NULL, 0));
    ck_assert(status_ok("TASK_SET_FULL|ACA_ACTIVE|TASK_ABORTED|CONDITION_MET", SCSI_STATUS_TASK_ABORTED, NULL, 0));
    ck_assert(status_ok("SERVICE_FAILURE", TRACE_STATUS_SERVICE_FAILURE, NULL, 0));
    ck_assert(!status_ok("GOOD", TRACE_STATUS_SERVICE_FAILURE, NULL, 0));
    /* status_listed: the status was acceptable, its sense was not */
    uint8_t s[32];
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_NOT_READY, SCSI_ASC_LUN_NOT_READY_BECOMING);
    size_t n = scsi_sense_build(s, sizeof s, false, &r);
    struct trace *t = status_trace("GOOD|CHECK UNIT_ATTENTION/0x29/??");
    struct trace_status_match m;
    ck_assert(!trace_match_status(&t->lines[1].record.status, SCSI_STATUS_CHECK_CONDITION, s, n, &m));
    ck_assert(m.status_listed);
    ck_assert_int_eq(m.alt, -1);
    ck_assert_uint_eq(m.sense.key, SCSI_SK_NOT_READY);
    ck_assert(!trace_match_status(&t->lines[1].record.status, SCSI_STATUS_BUSY, NULL, 0, &m));
    ck_assert(!m.status_listed);
    trace_free(t);
}
END_TEST

START_TEST(test_sense_bytes_pattern)
{
    /* sense= pins the format: fixed matches, descriptor does not */
    struct trace *t = status_trace("CHECK sense=70,??,05,..");
    const struct trace_pattern *p = &t->lines[1].record.status.sense_pattern;
    uint8_t fixed[32], desc[32];
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    size_t fl = scsi_sense_build(fixed, sizeof fixed, false, &r);
    size_t dl = scsi_sense_build(desc, sizeof desc, true, &r);
    struct trace_data_diff d;
    trace_match_data(p, fixed, fl, &d);
    ck_assert(d.match);
    trace_match_data(p, desc, dl, &d);
    ck_assert(!d.match);
    ck_assert_uint_eq(d.ranges[0].offset, 0);
    trace_free(t);
}
END_TEST

START_TEST(test_tmf_responses)
{
    struct located_error err;
    struct trace *t = tt_parse(V "- H > - m1 TMF lun-reset\n- H < - m1 TMF function-complete|function-succeeded\n", &err);
    ck_assert_ptr_nonnull(t);
    const struct trace_tmf *tmf = &t->lines[1].record.tmf;
    ck_assert(trace_match_tmf(tmf, TRACE_TMF_FUNCTION_COMPLETE));
    ck_assert(trace_match_tmf(tmf, TRACE_TMF_FUNCTION_SUCCEEDED));
    ck_assert(!trace_match_tmf(tmf, TRACE_TMF_FUNCTION_REJECTED));
    trace_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_match");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, test_exact_bytes);
    tcase_add_test(tc, test_dont_care_and_masks);
    tcase_add_test(tc, test_repeats);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_rest_and_lengths);
    tcase_add_test(tc, test_many_ranges);
    tcase_add_test(tc, test_sense_fixed_and_descriptor_are_equivalent);
    tcase_add_test(tc, test_unit_attention_wildcards);
    tcase_add_test(tc, test_invalid_sense);
    tcase_add_test(tc, test_status_lists);
    tcase_add_test(tc, test_sense_bytes_pattern);
    tcase_add_test(tc, test_tmf_responses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
