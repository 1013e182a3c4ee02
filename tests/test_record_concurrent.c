/* tests/test_record_concurrent.c — a recording of concurrent I/O replays
 * (issue 10): qemu-io issues three overlapping aio_write calls (0x11, 0x22,
 * 0x33 at offset 0), an aio_flush and a read through `scsisim serve
 * --record`; the recording holds each CMD where the target received it and
 * each STATUS where it completed (the three writes in flight together),
 * its times never go back, and `scsisim run` passes it.  qemu-io missing
 * fails with "not installed" (mk/deps.sh installs qemu-utils and
 * qemu-block-extra). */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The line of text that starts at s, into line (cut to len). */
static void line_at(const char *s, char *line, size_t len)
{
    size_t n = strcspn(s, "\n");
    if (n >= len)
        n = len - 1;
    memcpy(line, s, n);
    line[n] = '\0';
}

/* The tag of the CMD line that starts at s ("+T H > NEXUS TAG CMD ..."). */
static void tag_of(const char *s, char *tag, size_t len)
{
    char time[32], layer[4], dir[4], nexus[64];
    char line[512];
    line_at(s, line, sizeof(line));
    ck_assert_int_eq(sscanf(line, "%31s %3s %3s %63s %63s", time, layer, dir, nexus, tag), 5);
    (void)len;
}

static void record_aio(char *path, char **text)
{
    struct serve_proc srv;
    const char *args[] = { "--record", path, NULL };
    serve_start(&srv, args);
    const char *argv[] = { "qemu-io", "-f", "raw", srv.url, "-c", "aio_write -P 0x11 0 64k", "-c",
                           "aio_write -P 0x22 0 64k", "-c", "aio_write -P 0x33 0 64k", "-c", "aio_flush", "-c",
                           "read -P 0x33 0 64k", NULL };
    char *out;
    int rc = proc_tool(argv, 60, &out);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
    if (rc != 0 && strstr(out, "Unknown protocol")) {
        free(out);
        ck_abort_msg("qemu_io: qemu-io's iscsi block driver not installed: apt-get install qemu-block-extra");
    }
    ck_assert_msg(rc == 0, "qemu-io exited %d:\n%s", rc, out);
    /* Live, the read-back saw the last write. */
    ck_assert_msg(strstr(out, "read 65536/65536 bytes at offset 0"), "%s", out);
    ck_assert_msg(!strstr(out, "Pattern verification failed"), "%s", out);
    free(out);
    *text = slurp(path);
}

START_TEST(three_overlapping_aio_writes_record_in_submission_order_and_replay)
{
    if (!proc_tool_present("qemu_io", "qemu-io", "apt-get install qemu-utils qemu-block-extra"))
        return;
    char path[] = "/tmp/scsisim-aio-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char *text;
    record_aio(path, &text);

    /* The three 64 KiB writes at LBA 0, each STATUS after its own CMD.
     * (Whether all three were in flight at once depends on the timing of
     * the machine; test_record.c checks the order of interleaved
     * submissions and completions deterministically.) */
    static const char wr[] = "CMD 2a ";
    const char *cmds[3] = { NULL };
    const char *at = text;
    for (int i = 0; i < 3; i++) {
        at = strstr(at, wr);
        ck_assert_msg(at, "write %d not recorded:\n%s", i, text);
        while (at > text && at[-1] != '\n')
            at--;
        cmds[i] = at;
        at = strchr(at, '\n');
        ck_assert_ptr_nonnull(at);
    }
    for (int i = 0; i < 3; i++) {
        char tag[64], status[96];
        tag_of(cmds[i], tag, sizeof(tag));
        snprintf(status, sizeof(status), " %s STATUS GOOD", tag);
        const char *st = strstr(text, status);
        ck_assert_msg(st, "no STATUS for %s:\n%s", tag, text);
        ck_assert_msg(st > cmds[i], "the STATUS of write %s comes before its CMD:\n%s", tag, text);
    }
    ck_assert_ptr_nonnull(strstr(text, "DOUT 11*65536"));
    ck_assert_ptr_nonnull(strstr(text, "DOUT 22*65536"));
    ck_assert_ptr_nonnull(strstr(text, "DOUT 33*65536"));
    ck_assert_ptr_nonnull(strstr(text, "DIN 33*65536"));

    /* Times never go back. */
    double last = 0;
    for (const char *ln = text; *ln; ln = strchr(ln, '\n') ? strchr(ln, '\n') + 1 : ln + strlen(ln)) {
        if (*ln != '+')
            continue;
        double tm = strtod(ln + 1, NULL);
        char line[128];
        line_at(ln, line, sizeof(line));
        ck_assert_msg(tm >= last, "time goes back at '%s' (%.9f after %.9f)", line, tm, last);
        last = tm;
    }

    struct proc_result r;
    const char *run[] = { "run", path, NULL };
    proc_scsisim(run, &r);
    ck_assert_msg(r.status == 0, "scsisim run: exit %d\n%s%s\n%s", r.status, r.out, r.err, text);
    ck_assert_ptr_nonnull(strstr(r.out, "1 passed, 0 failed"));
    proc_result_free(&r);
    free(text);
    unlink(path);
}
END_TEST

/* Queue depth 32, mixed: batches of 32 aio_write and aio_read calls to 16
 * overlapping 4 KiB blocks (a fixed pseudo-random choice), each batch
 * ended by aio_flush.  Reads race writes to their blocks; the recording
 * replays concurrently and passes. */
START_TEST(mixed_reads_and_writes_at_queue_depth_32_replay)
{
    if (!proc_tool_present("qemu_io", "qemu-io", "apt-get install qemu-utils qemu-block-extra"))
        return;
    char path[] = "/tmp/scsisim-mix-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct serve_proc srv;
    const char *args[] = { "--record", path, NULL };
    serve_start(&srv, args);
    enum { BATCHES = 12, DEPTH = 32, ARGS = 4 + BATCHES * (DEPTH + 1) * 2 + 1 };
    static char texts[BATCHES * DEPTH][48];
    const char *argv[ARGS];
    size_t n = 0, t = 0;
    argv[n++] = "qemu-io";
    argv[n++] = "-f";
    argv[n++] = "raw";
    argv[n++] = srv.url;
    uint32_t x = 12345;
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < DEPTH; i++, t++) {
            x = x * 1103515245u + 12345u;
            unsigned block = (x >> 16) % 16, pattern = 1 + (x >> 8) % 250;
            if ((x >> 24) & 1)
                snprintf(texts[t], sizeof texts[t], "aio_write -P 0x%02x %u 4k", pattern, block * 4096);
            else
                snprintf(texts[t], sizeof texts[t], "aio_read %u 4k", block * 4096);
            argv[n++] = "-c";
            argv[n++] = texts[t];
        }
        argv[n++] = "-c";
        argv[n++] = "aio_flush";
    }
    argv[n] = NULL;
    char *out;
    int rc = proc_tool(argv, 120, &out);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
    ck_assert_msg(rc == 0, "qemu-io exited %d:\n%s", rc, out);
    free(out);
    char *text = slurp(path);
    /* In flight together at most 32 (qemu-io's batches), at least 2. */
    size_t open = 0, most = 0;
    for (const char *ln = text; *ln; ln = strchr(ln, '\n') ? strchr(ln, '\n') + 1 : ln + strlen(ln)) {
        char line[160];
        line_at(ln, line, sizeof line);
        if (*ln != '+')
            continue;
        if (strstr(line, " H > ") && strstr(line, " CMD "))
            open++;
        else if (strstr(line, " H < ") && strstr(line, " STATUS ") && open)
            open--;
        if (open > most)
            most = open;
    }
    ck_assert_uint_le(most, 32);
    ck_assert_uint_ge(most, 2);
    free(text);
    struct proc_result r;
    const char *run[] = { "run", path, NULL };
    proc_scsisim(run, &r);
    ck_assert_msg(r.status == 0, "scsisim run: exit %d\n%s%s", r.status, r.out, r.err);
    proc_result_free(&r);
    unlink(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("record_concurrent");
    TCase *tc = tcase_create("qemu_io");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, three_overlapping_aio_writes_record_in_submission_order_and_replay);
    tcase_add_test(tc, mixed_reads_and_writes_at_queue_depth_32_replay);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
