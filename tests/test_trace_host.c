/* tests/test_trace_host.c — the host side of a trace: @host lines (IOVA
 * placement, low window, scatter) and CMD pieces=N.  Parsing into the tree,
 * located errors for bad keys and values, the canonical printer's round trip,
 * and the replay applying them (the OS-layer options it builds, a stack that
 * cannot be built without the low window, data in pieces intact both ways). */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/replay.h"
#include "hw/hba.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"
#define UA "- H > - ua CMD 00 00 00 00 00 00\n- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n"

/* --- parsing ------------------------------------------------------------------------------- */

START_TEST(host_lines_fill_the_tree)
{
    struct located_error err;
    struct trace *t = tt_parse(V "@host iova-base=0x100000000 scatter=on\n@host iova-limit=16G low-window=off\n"
                                 "+0 H > - t1 CMD 28 00 00 00 00 00 00 00 08 00 len=4096 dir=in pieces=3\n"
                                 "+0 H < - t1 STATUS GOOD\n",
                               &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    const struct trace_host *h = &t->host;
    ck_assert(h->given[TRACE_HOST_IOVA_BASE] && h->given[TRACE_HOST_IOVA_LIMIT]);
    ck_assert(h->given[TRACE_HOST_LOW_WINDOW] && h->given[TRACE_HOST_SCATTER]);
    ck_assert_uint_eq(h->iova_base, 0x100000000ull);
    ck_assert_uint_eq(h->iova_limit, 16ull << 30);
    ck_assert(!h->low_window);
    ck_assert(h->scatter);
    ck_assert_int_eq(t->lines[0].device.kind, TRACE_DEV_HOST);
    ck_assert_uint_eq(t->lines[0].device.n_settings, 2);
    ck_assert_str_eq(t->lines[0].device.settings[0].key, "iova-base");
    ck_assert_str_eq(t->lines[0].device.settings[0].value, "0x100000000");
    ck_assert_uint_eq(t->lines[2].record.cmd.pieces, 3);
    trace_free(t);

    /* Without @host nothing is given; without pieces= the count is 0 (one buffer). */
    t = tt_parse(V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 STATUS GOOD\n", &err);
    ck_assert_ptr_nonnull(t);
    for (int k = 0; k < TRACE_HOST_KEY_COUNT; k++)
        ck_assert(!t->host.given[k]);
    ck_assert_uint_eq(t->lines[0].record.cmd.pieces, 0);
    trace_free(t);

    /* Booleans in every spelling docs/config.md accepts; sizes with suffixes. */
    t = tt_parse(V "@host reverse-directions=on\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert(t->host.given[TRACE_HOST_REVERSE_DIRECTIONS] && t->host.reverse_directions);
    trace_free(t);
    t = tt_parse(V "@host scatter=TRUE low-window=0 iova-base=4096K\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert(t->host.scatter);
    ck_assert(!t->host.low_window);
    ck_assert_uint_eq(t->host.iova_base, 4096ull << 10);
    trace_free(t);

    /* The core's bring-up options: HBA_COALESCE(threshold, time_us), entries per queue. */
    t = tt_parse(V "@host coalescing=8/2ms queue-depth=16\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert(t->host.given[TRACE_HOST_COALESCING] && t->host.given[TRACE_HOST_QUEUE_DEPTH]);
    ck_assert_uint_eq(t->host.coalescing, HBA_COALESCE(8, 2000));
    ck_assert_uint_eq(t->host.queue_depth, 16);
    trace_free(t);
    t = tt_parse(V "@host coalescing=255\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_uint_eq(t->host.coalescing, HBA_COALESCE(255, 0));
    trace_free(t);
}
END_TEST

struct bad {
    const char *name;
    const char *line;     /* the second line of the trace */
    const char *at;       /* where the error points: the first occurrence of this in line */
    const char *fragment; /* must appear in the message */
};

static const struct bad bads[] = {
    { "unknown key, near miss", "@host iova-bas=4G", "iova-bas", "unknown @host key 'iova-bas'; did you mean 'iova-base'?" },
    { "unknown key", "@host mmu=on", "mmu", "expected iova-base, iova-limit, low-window, scatter, reverse-directions, command-timeout, abort-grace, admin-timeout, heartbeat-stall, coalescing or queue-depth" },
    { "not key=value", "@host scatter", "scatter", "expected KEY=VALUE" },
    { "no settings", "@host", NULL, "@host needs KEY=VALUE settings" },
    { "empty value", "@host scatter=", NULL, "'scatter' needs a value" },
    { "bad boolean", "@host scatter=maybe", "maybe", "scatter: 'maybe' is not a boolean; use scatter=on or scatter=off" },
    { "not a number", "@host iova-base=0x1g000", "g", "'0x1g000' is not a number (iova-base)" },
    { "unaligned base", "@host iova-base=0x100000800", "0x100000800", "is not a multiple of 4 KiB" },
    { "base zero", "@host iova-base=0", "0", "too low; at least 0x1000" },
    { "limit too low", "@host iova-limit=4K", "4K", "too low; at least 0x2000" },
    { "base overflows", "@host iova-base=0x10000000000000000", "0x1", "too large" },
    { "suffix overflows", "@host iova-base=99999999P", "9", "does not fit in 64 bits" },
    { "limit not above base", "@host iova-base=8G iova-limit=4G", "4G", "iova-limit 0x100000000 is not above iova-base" },
    { "limit at the default base", "@host iova-limit=0x1000", "0x1000", "too low" },
    { "coalescing threshold 0", "@host coalescing=0", "0", "threshold 0: give 1 to 255 completions" },
    { "coalescing threshold too big", "@host coalescing=256", "256", "too large" },
    { "coalescing time without unit", "@host coalescing=8/200", "200", "time needs its unit" },
    { "coalescing time too long", "@host coalescing=8/20s", "20s", "out of range; give 1us to 16777215us" },
    { "coalescing no threshold", "@host coalescing=/5ms", "/5ms", "needs a completion count" },
    { "queue depth 0", "@host queue-depth=0", "0", "queue-depth 0: give 1 to 4096" },
    { "queue depth too big", "@host queue-depth=5000", "5000", "too large" },
};

static unsigned col_of(const char *line, const char *at)
{
    if (!at)
        return (unsigned)strlen(line) + 1;
    const char *eq = strchr(line, '=');
    /* Values are searched after the first '=' so "0" finds the value, not a digit of the key. */
    const char *from = eq && strstr(eq, at) ? eq : line;
    return (unsigned)(strstr(from, at) - line) + 1;
}

START_TEST(host_errors_are_located)
{
    const struct bad *b = &bads[_i];
    char why[1024];
    ck_assert_msg(tt_line_fails_at(b->line, col_of(b->line, b->at), b->fragment, why, sizeof why), "case '%s': %s",
                  b->name, why);
}
END_TEST

START_TEST(host_key_twice_names_the_first_line)
{
    struct located_error err;
    static const char twice[] = V "@host iova-base=4G\n# comment\n@host scatter=on iova-base=8G\n";
    tt_parse_error(twice, strlen(twice), &err);
    ck_assert_uint_eq(err.line, 4);
    ck_assert_uint_eq(err.column, 18);
    ck_assert_msg(strstr(err.message, "@host key 'iova-base' is already set at line 2"), "%s", err.message);
    /* @host after a record, like every device line. */
    static const char late[] = V "+0 H > - t1 CMD 00 00 00 00 00 00\n+0 H < - t1 STATUS GOOD\n@host scatter=on\n";
    tt_parse_error(late, strlen(late), &err);
    ck_assert_uint_eq(err.line, 4);
    ck_assert_msg(strstr(err.message, "after the first record"), "%s", err.message);
    /* A typo of the device line itself. */
    tt_parse_error(V "@hots scatter=on\n", strlen(V "@hots scatter=on\n"), &err);
    ck_assert_msg(strstr(err.message, "did you mean '@host'?"), "%s", err.message);
}
END_TEST

static const struct bad pieces_bads[] = {
    { "zero pieces", "+0 H > - t1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in pieces=0", "0 len", NULL },
    { "too many pieces", "+0 H > - t1 CMD 28 00 00 00 00 00 00 00 09 00 len=4608 dir=in pieces=4097", "4097",
      "pieces=4097 is out of range; the host buffer is 1 to 4096 pieces" },
    { "more pieces than bytes", "+0 H > - t1 CMD 12 00 00 00 04 00 len=4 dir=in pieces=5", "pieces",
      "pieces=5 needs at least one byte per piece; the command moves 4 byte(s)" },
    { "pieces without data", "+0 H > - t1 CMD 00 00 00 00 00 00 pieces=2", "pieces", "needs at least one byte" },
    { "pieces twice", "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in pieces=2 pieces=3", "pieces=3",
      "option 'pieces' given twice" },
    { "pieces not a number", "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in pieces=two", "two", "is not a number" },
    { "pieces at layer C", "+0 C > - t1 CMD 12 00 00 00 24 00 len=36 dir=in pieces=2", "pieces",
      "pieces= describes the host's buffer" },
};

START_TEST(pieces_errors_are_located)
{
    const struct bad *b = &pieces_bads[_i];
    char text[512];
    snprintf(text, sizeof text, V "%s\n+0 %c < - t1 STATUS GOOD\n", b->line, b->line[3]);
    struct located_error err;
    const char *msg = tt_parse_error(text, strlen(text), &err);
    const char *at = strstr(b->line, b->at);
    if (!strcmp(b->name, "zero pieces"))
        at = strstr(b->line, "pieces=") + 7; /* the value */
    unsigned col = (unsigned)(at - b->line) + 1;
    const char *fragment = b->fragment ? b->fragment : "pieces=0 is out of range";
    ck_assert_msg(err.line == 2 && err.column == col && strstr(err.message, fragment),
                  "case '%s': expected t.trace:2:%u with '%s', got: %s", b->name, col, fragment, msg);
}
END_TEST

START_TEST(unknown_cmd_option_lists_pieces)
{
    struct located_error err;
    static const char text[] = V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in piece=2\n+0 H < - t1 STATUS GOOD\n";
    tt_parse_error(text, strlen(text), &err);
    ck_assert_msg(strstr(err.message, "unknown CMD option 'piece'; expected len=N, dir=in|out|none, pieces=N or "
                         "attr=simple|ordered|head|aca"),
                  "%s", err.message);
}
END_TEST

/* --- canonical form ------------------------------------------------------------------------ */

START_TEST(host_and_pieces_round_trip)
{
    static const char canonical[] =
        V "# a host that maps above 4 GiB\n"
          "@host iova-base=0x100000000 iova-limit=64G  # the high window\n"
          "@host low-window=off scatter=on\n"
          "@controller addr-bits=64\n"
          "+0.000 H > - t1 CMD 2a 00 00 00 00 00 00 00 02 00 len=1024 dir=out pieces=7\n"
          "+0.000 H > - t1 DOUT 5a*1024\n"
          "+0.001 H < - t1 STATUS GOOD\n"
          "+0.002 W > - t2 CMD 28 00 00 00 00 00 00 00 02 00 len=1024 dir=in pieces=1\n"
          "+0.003 W < - t2 STATUS GOOD\n";
    struct located_error err;
    struct trace *t = tt_parse(canonical, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    char *text;
    size_t len;
    ck_assert_int_eq(trace_print_string(t, &text, &len), 0);
    ck_assert_str_eq(text, canonical);
    struct trace *again = tt_parse(text, &err);
    ck_assert_ptr_nonnull(again);
    ck_assert(trace_equal(t, again));
    ck_assert_uint_eq(again->host.iova_limit, 64ull << 30);
    free(text);
    trace_free(again);

    /* pieces= makes a difference to equality. */
    struct trace *other = tt_parse(V "@host iova-base=0x100000000 iova-limit=64G\n", &err);
    ck_assert_ptr_nonnull(other);
    ck_assert(!trace_equal(t, other));
    trace_free(other);
    trace_free(t);
    struct trace *a = tt_parse(V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in pieces=2\n"
                                 "+0 H < - t1 STATUS GOOD\n", &err);
    struct trace *b = tt_parse(V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in pieces=3\n"
                                 "+0 H < - t1 STATUS GOOD\n", &err);
    ck_assert(a && b);
    ck_assert(!trace_equal(a, b));
    trace_free(a);
    trace_free(b);
}
END_TEST

/* --- the replay ---------------------------------------------------------------------------- */

START_TEST(replay_builds_the_os_options)
{
    struct located_error err;
    struct trace *t = tt_parse(V "@host iova-base=6G scatter=on\n", &err);
    ck_assert_ptr_nonnull(t);
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_limit = 123ull << 30;
    replay_host_options(t, &o);
    ck_assert_uint_eq(o.iova_base, 6ull << 30);
    ck_assert(o.scatter);
    ck_assert_uint_eq(o.iova_limit, 123ull << 30); /* not given: left alone */
    ck_assert(o.low_window);
    trace_free(t);

    t = tt_parse(V "@host low-window=off iova-limit=0x200000000\n", &err);
    ck_assert_ptr_nonnull(t);
    osal_user_options_init(&o);
    replay_host_options(t, &o);
    ck_assert(!o.low_window);
    ck_assert_uint_eq(o.iova_limit, 0x200000000ull);
    ck_assert_uint_eq(o.iova_base, 0x1000);
    ck_assert(!o.scatter);
    trace_free(t);
}
END_TEST

/* A 32-bit controller on a host whose IOVAs start at 4 GiB: with the low
 * window the driver gets its 32-bit mappings and the data round-trips; with
 * low-window=off nothing can be mapped, so the stack is not even built —
 * which shows the replay applied the @host line. */
START_TEST(replay_applies_the_host_line)
{
    static const char body[] =
        "@controller addr-bits=32 init-time=0\n"
        "@drive 0:0 capacity=1M\n" UA
        "- H > - w1 CMD 2a 00 00 00 00 00 00 00 08 00 len=4096 dir=out\n"
        "- H > - w1 DOUT 11*2048 22*2048\n"
        "- H < - w1 STATUS GOOD\n"
        "- H > - r1 CMD 28 00 00 00 00 00 00 00 08 00 len=4096 dir=in\n"
        "- H < - r1 DIN 11*2048 22*2048\n"
        "- H < - r1 STATUS GOOD\n";
    struct replay_options o;
    rt_options(&o);
    char text[1024];
    snprintf(text, sizeof text, V "@host iova-base=0x100000000\n%s", body);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_PASS);
    trace_run_free(&run);

    snprintf(text, sizeof text, V "@host iova-base=0x100000000 low-window=off\n%s", body);
    trace_run_init(&run);
    f = rt_replay(text, &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_FAIL);
    const struct trace_check *c = rt_check(f, 7);
    ck_assert(!c->pass);
    ck_assert_ptr_nonnull(c->detail);
    ck_assert_msg(strstr(c->detail->note, "stack could not be built"), "%s", c->detail->note);
    trace_run_free(&run);
}
END_TEST

/* Data split over pieces of uneven size (1024 bytes in 3: 342, 341, 341),
 * 300 pieces for 512 bytes (beyond the 128 SGEs: bounced), reads in other
 * piece counts than the writes, and a short read (512 of 1000 bytes in 3
 * pieces) whose bytes must come back in order across the pieces. */
START_TEST(replay_moves_data_through_pieces)
{
    static const char text[] =
        V "@controller init-time=0\n"
          "@host scatter=on\n"
          "@drive 0:0 capacity=1M\n" UA
          "- H > - w1 CMD 2a 00 00 00 00 10 00 00 02 00 len=1024 dir=out pieces=3\n"
          "- H > - w1 DOUT 00 01 02 03 04 05 06 07 a1*326 b2*333 c3*333 d4*24\n"
          "- H < - w1 STATUS GOOD\n"
          "- H > - w2 CMD 2a 00 00 00 00 20 00 00 01 00 len=512 dir=out pieces=300\n"
          "- H > - w2 DOUT 7e*300 e7*212\n"
          "- H < - w2 STATUS GOOD\n"
          "- H > - r1 CMD 28 00 00 00 00 10 00 00 02 00 len=1024 dir=in pieces=5\n"
          "- H < - r1 DIN 00 01 02 03 04 05 06 07 a1*326 b2*333 c3*333 d4*24\n"
          "- H < - r1 STATUS GOOD\n"
          "- H > - r2 CMD 28 00 00 00 00 20 00 00 01 00 len=512 dir=in pieces=300\n"
          "- H < - r2 DIN 7e*300 e7*212\n"
          "- H < - r2 STATUS GOOD\n"
          "- H > - r3 CMD 28 00 00 00 00 10 00 00 01 00 len=1000 dir=in pieces=3\n"
          "- H < - r3 DIN 00 01 02 03 04 05 06 07 a1*326 b2*178\n"
          "- H < - r3 STATUS GOOD resid=488\n";
    struct replay_options o;
    rt_options(&o);
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f = rt_replay(text, &o, &run);
    ck_assert_msg(f->outcome == TRACE_OUTCOME_PASS, "%zu failed checks", rt_failed(f));
    trace_run_free(&run);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_host");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, host_lines_fill_the_tree);
    tcase_add_loop_test(p, host_errors_are_located, 0, (int)(sizeof bads / sizeof bads[0]));
    tcase_add_test(p, host_key_twice_names_the_first_line);
    tcase_add_loop_test(p, pieces_errors_are_located, 0, (int)(sizeof pieces_bads / sizeof pieces_bads[0]));
    tcase_add_test(p, unknown_cmd_option_lists_pieces);
    tcase_add_test(p, host_and_pieces_round_trip);
    suite_add_tcase(s, p);
    TCase *r = tcase_create("replay");
    tcase_set_timeout(r, 30);
    tcase_add_test(r, replay_builds_the_os_options);
    tcase_add_test(r, replay_applies_the_host_line);
    tcase_add_test(r, replay_moves_data_through_pieces);
    suite_add_tcase(s, r);
    return testutil_run(s);
}
