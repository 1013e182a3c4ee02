/* tests/test_capture_runs.c — how the importer writes data bytes
 * (capture/cap_emit.c, data_records): a run of 8 or more equal bytes is one
 * "xx*N" element, anything else exact bytes, in 4 KiB pieces.  Its scan for
 * runs looks at eight neighbours at a time; this compares what it writes
 * with the rule applied byte by byte, on data with runs of 1 to 12 bytes at
 * every alignment, exported to a capture and imported back.  And the two
 * ways an import writes its trace (capture/cap_pcap.c): two passes over a
 * file, one pass through a temporary file for a pipe — the same text. */
#include "tests/support/testutil.h"
#include "tests/support/capture_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tbuf.h"
#include "capture/capture.h"
#include "conformance/format/match.h"
#include "conformance/format/trace.h"
#include "tests/support/proc.h"
#include "tests/support/trace_testutil.h"

#define LEN 12288u

/* The elements the rule gives for [at, end): kinds and lengths, "B5 R9 ...". */
static void expected(const uint8_t *d, uint32_t at, uint32_t end, char *out, size_t cap)
{
    size_t o = 0;
    for (uint32_t i = at; i < end;) {
        uint32_t j = i;
        /* exact bytes until a run of 8 starts (a run counts from its first byte) */
        while (j < end) {
            uint32_t r = j + 1;
            while (r < end && d[r] == d[j])
                r++;
            if (r - j >= 8)
                break;
            j = r;
        }
        if (j > i) {
            o += (size_t)snprintf(out + o, cap - o, "B%u ", j - i);
            i = j;
            continue;
        }
        uint32_t r = i + 1;
        while (r < end && d[r] == d[i])
            r++;
        o += (size_t)snprintf(out + o, cap - o, "R%u ", r - i);
        i = r;
    }
}

START_TEST(runs_written_as_the_rule_says)
{
    static uint8_t d[LEN];
    uint32_t seed = 12345, at = 0;
    /* runs of 1..12 equal bytes, of fresh values, at every offset */
    for (unsigned len = 1; at < LEN; len = len % 12 + 1) {
        seed = seed * 1103515245u + 12345u;
        uint8_t v = (uint8_t)(seed >> 16);
        if (at && v == d[at - 1])
            v++;
        for (unsigned k = 0; k < len && at < LEN; k++)
            d[at++] = v;
    }
    struct tbuf text = { 0 };
    tbuf_puts(&text, "#!scsitrace 1\n+0 H > - r1 CMD 28 00 00 00 00 00 00 00 18 00 len=12288 dir=in\n+0 H < - r1 DIN ");
    for (uint32_t i = 0; i < LEN; i++)
        tbuf_printf(&text, "%02x", d[i]);
    tbuf_puts(&text, "\n+0 H < - r1 STATUS GOOD\n");
    struct located_error err;
    struct trace *t = tt_parse(tbuf_str(&text), &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    char dir[256], pcap[400];
    proc_tmpdir(dir, sizeof dir, "runs");
    snprintf(pcap, sizeof pcap, "%s/r.pcapng", dir);
    char why[1200];
    size_t len = 0;
    char *buf = ct_export_import(t, pcap, &len, why, sizeof why);
    ck_assert_msg(buf != NULL, "%s", why);
    struct trace *u = NULL;
    ck_assert_int_eq(trace_parse_buffer("u", buf, len, &u, &err), 0);
    unsigned pieces = 0;
    for (size_t i = 0; i < u->n_lines; i++) {
        const struct trace_line *l = &u->lines[i];
        if (l->kind != TRACE_LINE_RECORD || l->record.verb != TRACE_VERB_DIN)
            continue;
        const struct trace_pattern *p = &l->record.data;
        char want[8192], got[8192];
        expected(d, l->record.offset, l->record.offset + (uint32_t)p->length, want, sizeof want);
        size_t o = 0;
        for (size_t k = 0; k < p->n_elems; k++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%c%u ",
                                  p->elems[k].kind == TRACE_PAT_REPEAT ? 'R' : 'B', p->elems[k].n);
        if (!p->n_elems)
            got[0] = '\0';
        ck_assert_msg(!strcmp(want, got), "piece at %u:\nwant %s\ngot  %s", l->record.offset, want, got);
        pieces++;
    }
    ck_assert_uint_eq(pieces, 3);
    /* and the bytes are the bytes */
    struct trace_pattern v;
    ck_assert_int_eq(trace_data_view(u, u->tasks[0].din, &v), 0);
    struct trace_data_diff diff;
    trace_match_data(&v, d, LEN, &diff);
    ck_assert(diff.match);
    trace_data_view_free(&v);
    free(buf);
    tbuf_free(&text);
    trace_free(u);
    trace_free(t);
    proc_rmdir(dir);
}
END_TEST

static char *slurp_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    struct tbuf b = { 0 };
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0)
        tbuf_put(&b, buf, got);
    ck_assert_int_eq(pclose(p), 0);
    return b.s;
}

START_TEST(file_and_pipe_give_the_same_trace)
{
    char dir[256], pcap[400], cmd[1200];
    proc_tmpdir(dir, sizeof dir, "runs-pipe");
    snprintf(pcap, sizeof pcap, "%s/attach.pcap", dir);
    struct trace *t = NULL;
    struct located_error err;
    const char *root = getenv("SCSISIM_TRACES");
    char path[512];
    snprintf(path, sizeof path, "%s/hosts/linux-sd-attach.trace", root && *root ? root : "traces");
    ck_assert_msg(trace_parse_file(path, &t, &err) == 0, "%s", err.message);
    struct capture_export_stats xs;
    ck_assert_int_eq(capture_export(t, pcap, &xs, &err), 0);
    trace_free(t);
    snprintf(cmd, sizeof cmd, "'%s' import '%s'", proc_scsisim_bin(), pcap);
    char *two_passes = slurp_cmd(cmd);
    snprintf(cmd, sizeof cmd, "cat '%s' | '%s' import - | sed -e 's|^#   -$|#   %s|' -e 's|^@title \"-\"$|@title \"attach.pcap\"|'",
             pcap, proc_scsisim_bin(), pcap);
    char *one_pass = slurp_cmd(cmd);
    ck_assert_msg(two_passes && strstr(two_passes, "@drive 0:0 vendor="), "%s", two_passes);
    ck_assert_msg(one_pass && !strcmp(two_passes, one_pass), "file:\n%s\npipe:\n%s", two_passes, one_pass);
    free(two_passes);
    free(one_pass);
    proc_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture_runs");
    TCase *tc = tcase_create("runs");
    tcase_add_test(tc, runs_written_as_the_rule_says);
    tcase_add_test(tc, file_and_pipe_give_the_same_trace);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
