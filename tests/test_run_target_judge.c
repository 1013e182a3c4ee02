/* tests/test_run_target_judge.c — the matching levels of `scsisim run
 * --match` (conformance/report/trace_judge.c, judge_masks.c) without a
 * target: one trace, one set of replies from "another device", judged at
 * exact, status and masks. */
#include "tests/support/testutil.h"

#include <string.h>

#include "conformance/report/judge.h"
#include "conformance/report/result.h"
#include "scsi/scsi.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

/* Standard INQUIRY: vendor SCSISIM, product SIM DISK; a VPD 80h of 16
 * bytes; READ CAPACITY (10); TUR with the power-on attention 29h/01h. */
static const char trace_text[] =
    V "+0 H > - i1 CMD 12 00 00 00 24 00 len=36 dir=in\n"
      "+0 H < - i1 DIN 00 00 06 02 1f 00 00 02 \"SCSISIM\":8 \"SIM DISK\":16 \"0001\"\n"
      "+0 H < - i1 STATUS GOOD resid=0\n"
      "+0 H > - s1 CMD 12 01 80 00 40 00 len=64 dir=in\n"
      "+0 H < - s1 DIN 00 80 00 0c \"SIM00000000\":12\n"
      "+0 H < - s1 STATUS GOOD resid=48\n"
      "+0 H > - c1 CMD 25 00 00 00 00 00 00 00 00 00 len=8 dir=in\n"
      "+0 H < - c1 DIN 00 00 ff ff 00 00 02 00\n"
      "+0 H < - c1 STATUS GOOD\n"
      "+0 H > - t1 CMD 00 00 00 00 00 00\n"
      "+0 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n";

/* tgtd's answers: IET VIRTUAL-DISK, a 36-byte serial page, a 64 MiB disk,
 * 29h/00h. */
static uint8_t inq[36] = { 0x00, 0x00, 0x06, 0x02, 0x1f, 0x00, 0x00, 0x02, 'I', 'E', 'T', ' ', ' ', ' ', ' ', ' ',
                           'V', 'I', 'R', 'T', 'U', 'A', 'L', '-', 'D', 'I', 'S', 'K', ' ', ' ', ' ', ' ',
                           '0', '0', '0', '1' };
static uint8_t vpd80[40] = { 0x00, 0x80, 0x00, 0x24, 'b', 'e', 'a', 'f', '1', '1' };
static const uint8_t cap[8] = { 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00 };
static const uint8_t ua2900[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00 };

static struct trace_file_result *judge(struct trace_run *run, const struct trace *t, enum trace_match_level level,
                                       const uint8_t *inq_data)
{
    struct trace_actual_task a[4] = {
        { .submitted = true, .completed = true, .status = SCSI_STATUS_GOOD, .din = inq_data, .din_len = 36,
          .resid_valid = true },
        { .submitted = true, .completed = true, .status = SCSI_STATUS_GOOD, .din = vpd80, .din_len = 40,
          .resid_valid = true, .resid = 24 },
        { .submitted = true, .completed = true, .status = SCSI_STATUS_GOOD, .din = cap, .din_len = 8 },
        { .submitted = true, .completed = true, .status = SCSI_STATUS_CHECK_CONDITION, .sense = ua2900,
          .sense_len = sizeof ua2900 },
    };
    struct trace_actual actual = { .tasks = a };
    struct trace_file_result *f = trace_run_add(run, "x.trace", NULL);
    ck_assert_int_eq(trace_judge_at(t, &actual, level, f), 0);
    ck_assert_uint_eq(f->n_checks, 4);
    return f;
}

START_TEST(levels_judge_another_device)
{
    struct located_error err;
    struct trace *t = tt_parse(trace_text, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    struct trace_run run;
    trace_run_init(&run);

    struct trace_file_result *f = judge(&run, t, TRACE_MATCH_EXACT, inq);
    ck_assert_uint_eq(f->checks[0].failures, TRACE_FAIL_DATA);
    ck_assert_str_eq(f->checks[0].summary, "data-in: 18 byte(s) differ, first at offset 8");
    ck_assert(f->checks[1].failures & TRACE_FAIL_RESID);
    ck_assert_uint_eq(f->checks[2].failures, TRACE_FAIL_DATA);
    ck_assert_uint_eq(f->checks[3].failures, TRACE_FAIL_STATUS);

    f = judge(&run, t, TRACE_MATCH_STATUS, inq);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_PASS); /* 29h/00h is the umbrella of 29h/01h */

    f = judge(&run, t, TRACE_MATCH_MASKS, inq);
    ck_assert(f->checks[0].pass);                     /* vendor, product masked */
    ck_assert(f->checks[1].pass);                     /* the serial page: any length */
    ck_assert(f->checks[2].pass);                     /* no @drive capacity: the capacity is masked */
    ck_assert_uint_eq(f->checks[3].failures, TRACE_FAIL_STATUS); /* only the status level loosens 29h */

    /* Masks leave the other bytes compared: a different device type fails. */
    uint8_t tape[36];
    memcpy(tape, inq, sizeof tape);
    tape[0] = 0x01;
    f = judge(&run, t, TRACE_MATCH_MASKS, tape);
    ck_assert_str_eq(f->checks[0].summary, "data-in: 1 byte(s) differ, first at offset 0");
    trace_run_free(&run);
    trace_free(t);
}
END_TEST

/* A trace that pins the capacity keeps it compared at the masks level. */
START_TEST(pinned_capacity_is_compared)
{
    struct located_error err;
    char text[sizeof trace_text + 64];
    snprintf(text, sizeof text, V "@drive 0:0 capacity=32M\n%s", trace_text + strlen(V));
    struct trace *t = tt_parse(text, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    struct trace_run run;
    trace_run_init(&run);
    struct trace_file_result *f = judge(&run, t, TRACE_MATCH_MASKS, inq);
    ck_assert_uint_eq(f->checks[2].failures, TRACE_FAIL_DATA);
    trace_run_free(&run);
    trace_free(t);
}
END_TEST

START_TEST(level_names)
{
    enum trace_match_level l;
    ck_assert_int_eq(trace_match_level_parse("masks", &l), 0);
    ck_assert_int_eq(l, TRACE_MATCH_MASKS);
    ck_assert_int_eq(trace_match_level_parse("Status", &l), -1);
    ck_assert_str_eq(trace_match_level_name(TRACE_MATCH_STATUS), "status");
    const struct trace_mask_field *all[16];
    ck_assert_uint_eq(trace_mask_all(all, 16), 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_target_judge");
    TCase *tc = tcase_create("levels");
    tcase_add_test(tc, levels_judge_another_device);
    tcase_add_test(tc, pinned_capacity_is_compared);
    tcase_add_test(tc, level_names);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
