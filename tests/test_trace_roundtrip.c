/* tests/test_trace_roundtrip.c — the printer: a canonical fixture prints back
 * byte for byte; any valid trace satisfies parse(print(parse(x))) == parse(x)
 * and printing is idempotent; the canonical spellings of each construct;
 * trace_equal sees every difference that matters. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/trace_sim.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

static char *print(const struct trace *t, size_t *len)
{
    char *text;
    ck_assert_int_eq(trace_print_string(t, &text, len), 0);
    return text;
}

static void assert_round_trip(const char *name, const char *text, size_t len, bool canonical)
{
    struct trace *a = NULL, *b = NULL;
    struct located_error err;
    ck_assert_msg(trace_parse_buffer(name, text, len, &a, &err) == 0, "%s:%u:%u: %s", name, err.line, err.column,
                  err.message);
    size_t plen;
    char *printed = print(a, &plen);
    if (canonical)
        ck_assert_msg(plen == len && !memcmp(printed, text, len), "%s is not printed back byte for byte:\n%s", name,
                      printed);
    ck_assert_msg(trace_parse_buffer("printed", printed, plen, &b, &err) == 0, "%s printed: %u:%u: %s\n%s", name,
                  err.line, err.column, err.message, printed);
    ck_assert_msg(trace_equal(a, b), "%s: parse(print(parse(x))) != parse(x)", name);
    size_t plen2;
    char *printed2 = print(b, &plen2);
    ck_assert_msg(plen2 == plen && !memcmp(printed, printed2, plen), "%s: printing is not idempotent", name);
    free(printed);
    free(printed2);
    trace_free(a);
    trace_free(b);
}

static void each_fixture(const char *sub, bool canonical, size_t min)
{
    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/%s", tt_data_dir(), sub);
    size_t n;
    char **names = tt_list_traces(dir, &n);
    ck_assert_uint_ge(n, min);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *text = tt_read_file(tt_data_path(sub, names[i], path, sizeof path), &len);
        ck_assert_ptr_nonnull(text);
        assert_round_trip(names[i], text, len, canonical);
        free(text);
    }
    tt_free_names(names, n);
}

START_TEST(test_canonical_fixtures_print_back_identically)
{
    each_fixture("canonical", true, 4);
}
END_TEST

START_TEST(test_other_fixtures_round_trip)
{
    each_fixture("other", false, 3);
}
END_TEST

/* What the parser takes, the printer writes back as text the parser takes
 * (audit finding: a bare @title word with a TAB inside its quotes printed as
 * quoted text the parser refused).  tests/fuzz/fuzz_trace_roundtrip.c checks
 * the same property on generated input. */
START_TEST(test_text_with_tabs_and_quotes_round_trips)
{
    static const char *const texts[] = {
        V "@title a\"b\tc\"\n",
        V "@title \"a\tb\"\n",
        V "@title a\"\\\"\tx\"y\n",
        V "@drive 0:0 product=\"A\tB\"\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct trace *t = NULL;
        struct located_error err;
        if (trace_parse_buffer("t", texts[i], strlen(texts[i]), &t, &err) == 0) {
            trace_free(t);
            assert_round_trip("t", texts[i], strlen(texts[i]), false);
        }
    }
    /* The first is the audit's case and must parse. */
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_int_eq(trace_parse_buffer("t", texts[0], strlen(texts[0]), &t, &err), 0);
    ck_assert_str_eq(t->title, "a\"b\tc\"");
    trace_free(t);
}
END_TEST

/* Prints the single record line of text (after the version line). */
static const char *print_record(const char *text)
{
    static char out[70000];
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    ck_assert_msg(t != NULL, "%u:%u: %s", err.line, err.column, err.message);
    size_t len;
    char *p = print(t, &len);
    /* the line of the first record: skip the version line, blank and device lines */
    const char *line = p;
    for (size_t i = 0; i < t->n_lines && t->lines[i].kind != TRACE_LINE_RECORD; i++)
        line = strchr(line, '\n') + 1;
    line = strchr(line, '\n') + 1;
    const char *end = strchr(line, '\n');
    snprintf(out, sizeof out, "%.*s", (int)(end - line), line);
    free(p);
    trace_free(t);
    return out;
}

START_TEST(test_canonical_spellings)
{
    ck_assert_str_eq(print_record(V "+1.5 H > 0:0:0:0 t1 CMD 120000002400 len=0x24 dir=in\n+0 H < 0:0:0:0 t1 STATUS GOOD\n"),
                     "+1.500 H > 0:0:0:0 t1 CMD 12 00 00 00 24 00 len=36 dir=in");
    ck_assert_str_eq(print_record(V "+0.000125000 H > - t1 CMD 00 00 00 00 00 00\n+0 H < - t1 STATUS GOOD\n"),
                     "+0.000125 H > - t1 CMD 00 00 00 00 00 00");
    ck_assert_str_eq(print_record(V "+3 H > - t1 CMD 00 00 00 00 00 00\n+0 H < - t1 STATUS GOOD\n"),
                     "+3.000 H > - t1 CMD 00 00 00 00 00 00");
    ck_assert_str_eq(print_record(V "- H > - t1 CMD 00 00 00 00 00 00\n- H < - t1 STATUS CHECK_CONDITION 5/24/0 |CHECK 0xb/0x4b/?? | BUSY\n"
                                    "- H ! - - mark x\n"),
                     "- H > - t1 CMD 00 00 00 00 00 00");
    ck_assert_str_eq(print_record(V "- H ! - - power-loss all  \t# cut\n"), "- H ! - - power-loss  # cut");
    ck_assert_str_eq(print_record(V "- H ! - - within 2.000 count=0x1\n- H > - t1 CMD 00 00 00 00 00 00\n- H < - t1 STATUS GOOD\n"),
                     "- H ! - - within 2 count=1");
    ck_assert_str_eq(print_record(V "- H ! 0:0:0:0 - ua 29/0\n"), "- H ! 0:0:0:0 - ua 0x29/0x00");
    ck_assert_str_eq(print_record(V "- C ! - - inject fatal code=0x12\n"), "- C ! - - inject fatal code=18");
}
END_TEST

START_TEST(test_canonical_status_and_data)
{
    struct located_error err;
    struct trace *t = tt_parse(V "- H > - t1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"
                                 "- H < - t1 DIN 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 "
                                 "18 19 1a 1b 1c 1d 1e 1F\n"
                                 "- H < - t1 STATUS CHECK_CONDITION 5/24/0 |CHECK 0xb/0x4b/?? | BUSY sense=70??0B..\n"
                                 "- H > - t2 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"
                                 "- H < - t2 DIN 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 ?? 44/7f 55\n"
                                 "- H < - t2 STATUS GOOD\n",
                               &err);
    ck_assert_msg(t != NULL, "%u:%u: %s", err.line, err.column, err.message);
    size_t len;
    char *p = print(t, &len);
    /* 32 bytes print spaced; 33 and more compact, with masked bytes standing alone */
    ck_assert_ptr_nonnull(strstr(p, "- H < - t1 DIN 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 "
                                    "16 17 18 19 1a 1b 1c 1d 1e 1f\n"));
    ck_assert_ptr_nonnull(strstr(p, "- H < - t1 STATUS CHECK ILLEGAL_REQUEST/0x24/0x00|ABORTED_COMMAND/0x4b/??|BUSY "
                                    "sense=70,??,0b,..\n"));
    ck_assert_ptr_nonnull(strstr(p, "- H < - t2 DIN 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20?? "
                                    "44/7f 55\n"));
    free(p);
    trace_free(t);

    /* offset= in decimal, first, kept when written (offset=0 too); a record without it stays without. */
    t = tt_parse(V "- H > - t1 CMD 2a 00 00 00 00 00 00 00 03 00 len=1536 dir=out\n"
                   "- H > - t1 DOUT offset=0x0 01*512\n- H > - t1 DOUT offset=0x200   02*512\n"
                   "- H > - t1 DOUT offset=1024 \"abc\":512\n- H < - t1 STATUS GOOD\n"
                   "- H > - t2 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"
                   "- H < - t2 DIN 00\n- H < - t2 DIN offset=1 ?? ..\n- H < - t2 STATUS GOOD\n", &err);
    ck_assert_msg(t != NULL, "%u:%u: %s", err.line, err.column, err.message);
    p = print(t, &len);
    ck_assert_ptr_nonnull(strstr(p, "- H > - t1 DOUT offset=0 01*512\n- H > - t1 DOUT offset=512 02*512\n"
                                    "- H > - t1 DOUT offset=1024 \"abc\":512\n"));
    ck_assert_ptr_nonnull(strstr(p, "- H < - t2 DIN 00\n- H < - t2 DIN offset=1 ?? ..\n"));
    free(p);
    trace_free(t);
}
END_TEST

/* trace_equal is not vacuous: each single change is seen. */
START_TEST(test_equal_sees_differences)
{
    static const char *const base = V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n"
                                      "- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n";
    static const char *const variants[] = {
        V "@nexus 0:0:0:1\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 23 00 len=36 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=35 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 00 ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 ??\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=1\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS BUSY resid=0\n",
        V "@nexus 0:0:0:0\n+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t2 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t2 DIN 00 ?? ..\n- H < - t2 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in  # c\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN offset=0 00 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
        V "@nexus 0:0:0:0\n- H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n- H < - t1 DIN 00\n- H < - t1 DIN offset=1 ?? ..\n- H < - t1 STATUS GOOD resid=0\n",
    };
    struct located_error err;
    struct trace *a = tt_parse(base, &err), *same = tt_parse(base, &err);
    ck_assert(trace_equal(a, same));
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        struct trace *b = tt_parse(variants[i], &err);
        ck_assert_msg(b != NULL, "variant %zu: %s", i, err.message);
        ck_assert_msg(!trace_equal(a, b), "variant %zu compares equal", i);
        trace_free(b);
    }
    trace_free(a);
    trace_free(same);
}
END_TEST

/* A line that fits when read may not fit in canonical form: the printer says so. */
START_TEST(test_print_overflow)
{
    size_t bytes = 32760; /* the DIN line is exactly 65536 bytes */
    size_t cap = bytes * 2 + 256;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    int n = snprintf(text, cap, V "+0 H > - t1 CMD 28 00 00 00 00 00 00 00 80 00 len=65536 dir=in\n+0 H < - t1 DIN ");
    size_t at = (size_t)n;
    for (size_t i = 0; i < bytes; i++, at += 2)
        memcpy(text + at, "ab", 2);
    memcpy(text + at, "\n+0 H < - t1 STATUS GOOD\n", 26);
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    char *out;
    size_t len;
    ck_assert_int_eq(trace_print_string(t, &out, &len), -EOVERFLOW); /* "+0" became "+0.000" */
    FILE *f = fopen("/dev/null", "w");
    ck_assert_int_eq(trace_print(t, f), -EOVERFLOW);
    fclose(f);
    trace_free(t);
    free(text);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_roundtrip");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, test_canonical_fixtures_print_back_identically);
    tcase_add_test(tc, test_other_fixtures_round_trip);
    tcase_add_test(tc, test_canonical_spellings);
    tcase_add_test(tc, test_canonical_status_and_data);
    tcase_add_test(tc, test_equal_sees_differences);
    tcase_add_test(tc, test_print_overflow);
    tcase_add_test(tc, test_text_with_tabs_and_quotes_round_trips);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
