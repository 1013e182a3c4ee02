/* tests/test_replay_race.c — concurrent traces (docs/replay.md,
 * "Concurrency"): commands between a CMD and its STATUS are in flight
 * together, and a READ that raced WRITEs to its blocks is accepted with the
 * data of any order SAM allows — the recorded one, any of the writes it
 * raced — while a READ issued after a WRITE completed must see it, ORDERED
 * constrains the order, and a READ that fits no order names the commands
 * that raced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/testutil.h"

#define HDR "#!scsitrace 1\n@drive 0:0 capacity=1M\n"
#define CLEAR_UA                                                  \
    "+0 H > - u0 CMD 00 00 00 00 00 00\n"                         \
    "+0 H < - u0 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
#define W(tag, byte, attr)                                                          \
    "+0 H > - " tag " CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out" attr "\n"  \
    "+0 H > - " tag " DOUT " byte "*512\n"
#define ST(tag) "+0 H < - " tag " STATUS GOOD\n"
#define READ(byte)                                                \
    "+0 H > - r1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n" \
    "+0 H < - r1 DIN " byte "*512\n"                                \
    "+0 H < - r1 STATUS GOOD\n"

/* The check of the read (the last CMD), after replaying text. */
static bool read_passes(const char *text, char *note, size_t len)
{
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    const struct trace_check *r = &f->checks[f->n_checks - 1];
    bool pass = r->pass;
    if (note)
        snprintf(note, len, "%s", r->detail ? r->detail->note : "");
    for (size_t i = 0; i + 1 < f->n_checks; i++)
        ck_assert_msg(f->checks[i].pass, "line %u: %s", f->checks[i].line, f->checks[i].summary);
    trace_run_free(&run);
    return pass;
}

START_TEST(a_read_after_racing_writes_may_see_any_of_them)
{
    /* The three writes in flight together (as qemu-io's aio_write records),
     * completing in another order than issued: whichever the recording saw
     * last, the replay may see another. */
    static const char *const seen[] = { READ("11"), READ("22"), READ("33"), READ("00") };
    for (size_t i = 0; i < 3; i++) {
        char text[2048];
        snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", HDR, CLEAR_UA, W("w1", "11", ""), W("w2", "22", ""),
                 W("w3", "33", ""), ST("w1"), ST("w3"), ST("w2"), seen[i]);
        ck_assert_msg(read_passes(text, NULL, 0), "recorded %zu", i);
    }
    /* A recording that no order explains (0x00: every write completed
     * before the read) still passes while the replay's data fits one: the
     * replay's data is judged, not the recording's. */
    char text[2048];
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", HDR, CLEAR_UA, W("w1", "11", ""), W("w2", "22", ""),
             W("w3", "33", ""), ST("w1"), ST("w3"), ST("w2"), seen[3]);
    ck_assert(read_passes(text, NULL, 0));
}
END_TEST

START_TEST(a_read_after_a_completed_write_must_see_it)
{
    /* One after the other: no race, the last write is what a read sees. */
    char text[2048], note[256];
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", HDR, CLEAR_UA, W("w1", "11", ""), ST("w1"), W("w2", "22", ""),
             ST("w2"), W("w3", "33", ""), ST("w3"), READ("22"));
    ck_assert(!read_passes(text, note, sizeof note));
    ck_assert_str_eq(note, "");
    /* w1 and w2 raced each other, w3 came after both completed. */
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", HDR, CLEAR_UA, W("w1", "11", ""), W("w2", "22", ""), ST("w2"),
             ST("w1"), W("w3", "33", ""), ST("w3"), READ("11"));
    ck_assert(!read_passes(text, NULL, 0));
}
END_TEST

START_TEST(ordered_constrains_the_order)
{
    /* w3 ORDERED, issued last: it runs after w1 and w2, so only 0x33 is a
     * read's to see. */
    char text[2048];
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", HDR, CLEAR_UA, W("w1", "11", ""), W("w2", "22", ""),
             W("w3", "33", " attr=ordered"), ST("w1"), ST("w3"), ST("w2"), READ("22"));
    ck_assert(!read_passes(text, NULL, 0));
    /* The same with w3 SIMPLE: 0x22 is one allowed order. */
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s%s%s", HDR, CLEAR_UA, W("w1", "11", ""), W("w2", "22", ""),
             W("w3", "33", ""), ST("w1"), ST("w3"), ST("w2"), READ("22"));
    ck_assert(read_passes(text, NULL, 0));
}
END_TEST

START_TEST(a_read_in_flight_with_a_write_may_see_the_old_data)
{
    /* The read raced the only write to its block: before it, zeros (fresh
     * media); after it, the write's data. */
    static const char text[] = HDR CLEAR_UA W("w1", "44", "")
        "+0 H > - r1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n" ST("w1")
        "+0 H < - r1 DIN 44*512\n"
        "+0 H < - r1 STATUS GOOD\n";
    ck_assert(read_passes(text, NULL, 0));
}
END_TEST

/* A driver that corrupts the data (the F7 mutant with IOVAs at 2 GiB and an
 * IOMMU that drops faulting accesses): the raced read fits no order, and the
 * report names the writes it raced. */
START_TEST(a_read_that_fits_no_order_names_the_commands_that_raced)
{
    char so[512];
    snprintf(so, sizeof so, "%s", proc_scsisim_bin());
    char *slash = strrchr(so, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof so - (size_t)(slash + 1 - so), "mutants/core-F7.so");
    if (access(so, R_OK) != 0)
        ck_abort_msg("not run: %s is missing; `make mutants` (or `make check`) builds it", so);
    char path[] = "/tmp/scsisim-race-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(HDR "@host iova-base=0x80000000\n@controller iommu-policy=drop\n" CLEAR_UA W("w1", "11", "")
              W("w2", "22", "") W("w3", "33", "") ST("w1") ST("w3") ST("w2") READ("22"), f);
    ck_assert_int_eq(fclose(f), 0);
    struct proc_result r;
    const char *good[] = { "run", path, NULL };
    proc_scsisim(good, &r);
    ck_assert_msg(r.status == 0, "%s%s", r.out, r.err);
    proc_result_free(&r);
    const char *bad[] = { "run", "--mutant", "F7", path, NULL };
    proc_scsisim(bad, &r);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "block 0 fits no order SAM allows for the commands that raced: the recorded data, "
                                "or the data of w1 (line 7), w2 (line 9), w3 (line 11)"),
                  "%s", r.out);
    proc_result_free(&r);
    unlink(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("replay_race");
    TCase *tc = tcase_create("race");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_read_after_racing_writes_may_see_any_of_them);
    tcase_add_test(tc, a_read_after_a_completed_write_must_see_it);
    tcase_add_test(tc, ordered_constrains_the_order);
    tcase_add_test(tc, a_read_in_flight_with_a_write_may_see_the_old_data);
    tcase_add_test(tc, a_read_that_fits_no_order_names_the_commands_that_raced);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
