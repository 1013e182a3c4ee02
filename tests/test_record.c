/* tests/test_record.c — conformance/replay/record.h on made-up events: the device
 * lines, repeats for runs of equal bytes, data too long for one line written
 * whole as offset= pieces (never cut), residuals, statuses with sense,
 * service failures, aborted and unrecordable commands as comments, and the
 * directives task management and nexus loss leave.  Every file it writes
 * must parse, and print back byte for byte; a recorded 1 MiB random write
 * replays with `scsisim run` and reads back the same bytes. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/replay/record.h"
#include "conformance/replay/trace_sim.h"
#include "scsi/sense.h"
#include "tests/support/proc.h"
#include "tests/support/trace_testutil.h"

static char path[64];
static struct trace_recorder *rec;
static char *file_text; /* the file finish() read */

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/scsisim-rec-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct sim_config cfg;
    sim_config_init(&cfg);
    struct located_error cerr;
    ck_assert_int_eq(sim_config_apply_option(&cfg, "drive=0:0,media=not-recorded.img", &cerr), 0);
    char err[256] = "";
    ck_assert_int_eq(trace_recorder_open(path, &cfg, &rec, err, sizeof(err)), 0);
    sim_config_free(&cfg);
}

static void teardown(void)
{
    free(file_text);
    file_text = NULL;
    unlink(path);
}

/* Closes the recorder, parses and re-prints the file; returns its text and
 * (when out is not NULL) the parsed trace. */
static char *finish_parsed(struct trace **out)
{
    ck_assert_int_eq(trace_recorder_close(rec), 0);
    size_t len;
    file_text = tt_read_file(path, &len);
    ck_assert_ptr_nonnull(file_text);
    struct trace *t;
    struct located_error e;
    int rc = trace_parse_file(path, &t, &e);
    char msg[1024];
    located_format(&e, msg, sizeof(msg));
    ck_assert_msg(rc == 0, "%s", msg);
    char *printed;
    size_t plen;
    ck_assert_int_eq(trace_print_string(t, &printed, &plen), 0);
    ck_assert_uint_eq(plen, len);
    ck_assert_int_eq(memcmp(printed, file_text, len), 0);
    free(printed);
    if (out)
        *out = t;
    else
        trace_free(t);
    return file_text;
}

static char *finish(void)
{
    return finish_parsed(NULL);
}

/* The bytes a task's DOUT or DIN pieces give, all of them (malloc'ed). */
static uint8_t *task_bytes(const struct trace *t, size_t first, size_t *len)
{
    ck_assert_uint_ne(first, TRACE_NONE);
    struct trace_pattern all;
    ck_assert_int_eq(trace_data_view(t, first, &all), 0);
    uint8_t *buf = malloc(all.length ? all.length : 1);
    ck_assert_ptr_nonnull(buf);
    long n = trace_pattern_bytes(&all, buf, all.length);
    ck_assert_int_eq(n, (long)all.length);
    trace_data_view_free(&all);
    *len = (size_t)n;
    return buf;
}

/* The longest line of s. */
static size_t longest_line(const char *s)
{
    size_t max = 0;
    for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1)
        if ((size_t)(nl - s) > max)
            max = (size_t)(nl - s);
    return max;
}

static struct backend_stack_event cmd_event(const uint8_t *cdb, uint8_t cdb_len, struct scsi_backend_result *res)
{
    memset(res, 0, sizeof(*res));
    struct backend_stack_event ev = { .kind = BACKEND_STACK_COMMAND, .nexus = 5, .tag = 0x1f, .initiator = 3,
                                      .target = 0, .lun = 0, .cdb = cdb, .cdb_len = cdb_len, .result = res,
                                      .submit_ns = 1, .done_ns = 2 };
    return ev;
}

/* What backend_stack does for one command: its submission, then its
 * completion (the recorder writes the CMD at the first, the STATUS at the
 * second). */
static void observe_command(struct backend_stack_event *ev)
{
    struct backend_stack_event sub = *ev;
    sub.kind = BACKEND_STACK_SUBMIT;
    sub.result = NULL;
    sub.data_in = NULL;
    trace_recorder_observe(rec, &sub);
    trace_recorder_observe(rec, ev);
}

START_TEST(device_lines_and_a_simple_command)
{
    uint8_t cdb[6] = { 0 };
    struct scsi_backend_result res;
    struct backend_stack_event ev = cmd_event(cdb, 6, &res);
    observe_command(&ev);
    char *text = finish();
    ck_assert_ptr_nonnull(strstr(text, "#!scsitrace 1\n# Recorded by scsisim serve"));
    ck_assert_ptr_nonnull(strstr(text, "@controller max-targets=16 "));
    ck_assert_ptr_nonnull(strstr(text, "@drive 0:0 block-size=512"));
    ck_assert_ptr_null(strstr(text, "media")); /* a replay starts from empty media */
    ck_assert_ptr_nonnull(strstr(text, " H > 3:0:0:0 i3.1f CMD 00 00 00 00 00 00\n"));
    ck_assert_ptr_nonnull(strstr(text, " H < 3:0:0:0 i3.1f STATUS GOOD\n"));
}
END_TEST

START_TEST(data_in_pieces_repeats_and_residuals)
{
    static uint8_t out[128 * 1024], in[128 * 1024];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 131 + (i >> 7));
    memset(in, 0xab, 4096);
    for (size_t i = 4096; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + (i >> 9));
    memset(in + 60000, 0, 5000); /* a run of zeros inside a piece */
    uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    struct scsi_backend_result res;
    struct backend_stack_event ev = cmd_event(wr, 10, &res);
    ev.dir = SCSI_DIR_WRITE;
    ev.expected_len = ev.down_len = ev.data_out_len = sizeof(out);
    ev.data_out = out;
    res.data_len = sizeof(out);
    observe_command(&ev);

    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    ev = cmd_event(rd, 10, &res);
    ev.tag = 0x20;
    ev.dir = SCSI_DIR_READ;
    ev.expected_len = ev.down_len = sizeof(in) + 512;
    ev.data_in = in;
    res.data_len = sizeof(in); /* less than asked: a residual */
    observe_command(&ev);

    uint8_t small[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    ev = cmd_event(small, 10, &res);
    ev.tag = 0x21;
    ev.dir = SCSI_DIR_READ;
    ev.expected_len = ev.down_len = 512;
    ev.data_in = in;
    res.data_len = 512;
    observe_command(&ev);
    struct trace_recorder_stats st;
    trace_recorder_get_stats(rec, &st);
    ck_assert_uint_eq(st.split, 2); /* the small read fits one line */
    ck_assert_uint_eq(st.commands, 3);
    struct trace *t;
    char *txt = finish_parsed(&t);
    /* Nothing cut: every byte is in the file, in lines well under the limit. */
    ck_assert_ptr_null(strstr(txt, ".."));
    ck_assert_uint_lt(longest_line(txt), 16384 + 128);
    ck_assert_ptr_nonnull(strstr(txt, " DOUT offset=0 "));
    ck_assert_ptr_nonnull(strstr(txt, " DIN offset=0 ab*4096 "));
    ck_assert_ptr_nonnull(strstr(txt, " 00*5000 "));
    ck_assert_ptr_nonnull(strstr(txt, " i3.21 DIN ab*512\n")); /* one line: no offset= */
    ck_assert_ptr_nonnull(strstr(txt, "STATUS GOOD resid=512\n"));
    ck_assert_ptr_nonnull(strstr(txt, "len=131584 dir=in"));
    ck_assert_uint_eq(t->n_tasks, 3);
    size_t n;
    uint8_t *got = task_bytes(t, t->tasks[0].dout, &n);
    ck_assert_uint_eq(n, sizeof(out));
    ck_assert_int_eq(memcmp(got, out, n), 0);
    ck_assert_uint_ne(t->tasks[0].dout, t->tasks[0].dout_last);
    free(got);
    got = task_bytes(t, t->tasks[1].din, &n);
    ck_assert_uint_eq(n, sizeof(in));
    ck_assert_int_eq(memcmp(got, in, n), 0);
    free(got);
    ck_assert_uint_eq(t->tasks[2].din, t->tasks[2].din_last);
    ck_assert(!t->lines[t->tasks[2].din].record.offset_given);
    trace_free(t);
}
END_TEST

/* A 1 MiB random write and its read-back, recorded and replayed on a fresh
 * controller: the read compares every byte against the recorded data-in, so
 * it passes only when the replay wrote exactly the recorded bytes. */
START_TEST(a_1mib_random_write_records_whole_and_replays)
{
    enum { MIB = 1 << 20 };
    uint8_t *data = malloc(MIB);
    ck_assert_ptr_nonnull(data);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < MIB; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    /* What a fresh controller answers first: the power-on unit attention. */
    uint8_t tur[6] = { 0 };
    struct scsi_backend_result res;
    struct backend_stack_event ev = cmd_event(tur, 6, &res);
    struct scsi_sense_reason why = scsi_reason(SCSI_SK_UNIT_ATTENTION, SCSI_ASCQ(0x29, 0x01));
    res.status = SCSI_STATUS_CHECK_CONDITION;
    res.sense_len = (uint8_t)scsi_sense_build(res.sense, sizeof(res.sense), false, &why);
    observe_command(&ev);
    uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0x10, 0, 0x08, 0, 0 }; /* LBA 16, 2048 blocks */
    ev = cmd_event(wr, 10, &res);
    ev.tag = 0x30;
    ev.dir = SCSI_DIR_WRITE;
    ev.expected_len = ev.down_len = ev.data_out_len = MIB;
    ev.data_out = data;
    res.data_len = MIB;
    observe_command(&ev);
    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0x10, 0, 0x08, 0, 0 };
    ev = cmd_event(rd, 10, &res);
    ev.tag = 0x31;
    ev.dir = SCSI_DIR_READ;
    ev.expected_len = ev.down_len = MIB;
    ev.data_in = data;
    res.data_len = MIB;
    observe_command(&ev);
    struct trace_recorder_stats st;
    trace_recorder_get_stats(rec, &st);
    ck_assert_uint_eq(st.split, 2);
    ck_assert_uint_eq(st.write_errors, 0);
    struct trace *t;
    char *txt = finish_parsed(&t);
    ck_assert_uint_lt(longest_line(txt), 16384 + 128);
    size_t n;
    uint8_t *got = task_bytes(t, t->tasks[1].dout, &n);
    ck_assert_uint_eq(n, MIB);
    ck_assert_int_eq(memcmp(got, data, MIB), 0);
    free(got);
    trace_free(t);

    struct proc_result r;
    const char *run[] = { "run", path, NULL };
    proc_scsisim(run, &r);
    ck_assert_msg(r.status == 0, "scsisim run: exit %d\n%s%s", r.status, r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "1 passed, 0 failed"));
    proc_result_free(&r);

    /* The same file with one byte of the write changed (in a piece in the
     * middle): the read-back finds exactly that byte, at its offset in the
     * whole transfer. */
    char *piece = strstr(txt, " DOUT offset=");
    for (int i = 0; i < 60 && piece; i++)
        piece = strstr(piece + 1, " DOUT offset=");
    ck_assert_ptr_nonnull(piece);
    unsigned long off = strtoul(piece + 13, NULL, 10);
    ck_assert_uint_gt(off, 0);
    char *hex = strchr(piece + 13, ' ') + 1;
    ck_assert_uint_eq(strspn(hex, "0123456789abcdef"), 2 * 8192u); /* a compact run of exact bytes */
    hex[0] = hex[0] == '0' ? '1' : '0';
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(txt, 1, strlen(txt), f), strlen(txt));
    ck_assert_int_eq(fclose(f), 0);
    proc_scsisim(run, &r);
    ck_assert_int_eq(r.status, 1);
    char want[96];
    snprintf(want, sizeof(want), "data-in: 1 byte(s) differ, first at offset %lu", off);
    ck_assert_msg(strstr(r.out, want), "expected '%s' in\n%s", want, r.out);
    proc_result_free(&r);
    free(data);
}
END_TEST

START_TEST(statuses_comments_and_directives)
{
    uint8_t cdb[6] = { 0 };
    struct scsi_backend_result res;
    struct backend_stack_event ev = cmd_event(cdb, 6, &res);
    struct scsi_sense_reason why = scsi_reason(SCSI_SK_UNIT_ATTENTION, SCSI_ASCQ(0x29, 0x01));
    res.status = SCSI_STATUS_CHECK_CONDITION;
    res.sense_len = (uint8_t)scsi_sense_build(res.sense, sizeof(res.sense), false, &why);
    observe_command(&ev);
    ev = cmd_event(cdb, 6, &res);
    res.response = SCSI_SR_SERVICE_DELIVERY_FAILURE;
    observe_command(&ev);
    ev = cmd_event(cdb, 6, &res);
    res.aborted = true;
    observe_command(&ev);
    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    ev = cmd_event(rd, 10, &res); /* R bit, no data */
    ev.dir = SCSI_DIR_READ;
    observe_command(&ev);

    struct backend_stack_event tmf = { .kind = BACKEND_STACK_TMF, .tmf_fn = SCSI_TMF_LUN_RESET,
                                       .tmf_response = SCSI_TMF_COMPLETE, .initiator = 3, .target = 0, .lun = 1 };
    trace_recorder_observe(rec, &tmf);
    tmf.tmf_fn = SCSI_TMF_TARGET_WARM_RESET;
    trace_recorder_observe(rec, &tmf);
    tmf.tmf_fn = SCSI_TMF_TARGET_COLD_RESET;
    trace_recorder_observe(rec, &tmf);
    tmf.tmf_fn = SCSI_TMF_ABORT_TASK;
    trace_recorder_observe(rec, &tmf);
    tmf.tmf_fn = SCSI_TMF_LUN_RESET;
    tmf.tmf_response = SCSI_TMF_REJECTED; /* did nothing: only a comment */
    trace_recorder_observe(rec, &tmf);
    struct backend_stack_event loss = { .kind = BACKEND_STACK_NEXUS_LOSS, .nexus = 5, .initiator = 3 };
    trace_recorder_observe(rec, &loss);
    struct trace_recorder_stats st;
    trace_recorder_get_stats(rec, &st);
    ck_assert_uint_eq(st.commands, 2);
    ck_assert_uint_eq(st.aborted, 1);
    ck_assert_uint_eq(st.skipped, 1);
    char *text = finish();
    ck_assert_ptr_nonnull(strstr(text, "STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"));
    ck_assert_ptr_nonnull(strstr(text, "STATUS SERVICE_FAILURE\n"));
    ck_assert_ptr_nonnull(strstr(text, "ended by task management: any outcome"));
    ck_assert_ptr_nonnull(strstr(text, "STATUS UNKNOWN\n"));
    ck_assert_ptr_nonnull(strstr(text, "with a data direction but no data (not recorded)"));
    ck_assert_ptr_nonnull(strstr(text, "- H ! 3:0:0:1 - reset lun\n"));
    ck_assert_ptr_nonnull(strstr(text, "- H ! 3:0:0:1 - reset target\n"));
    ck_assert_ptr_nonnull(strstr(text, "- H ! *:*:*:* - ua 0x29/0x04\n"));
    ck_assert_ptr_nonnull(strstr(text, "# task management: ABORT TASK"));
    ck_assert_ptr_nonnull(strstr(text, "- H ! 3:0:0:* - ua 0x29/0x07\n"));
    /* The rejected LUN RESET left no second reset lun. */
    const char *first = strstr(text, "reset lun");
    ck_assert_ptr_null(strstr(first + 1, "reset lun"));
}
END_TEST

/* Two writes to the same block in flight together and a read after both:
 * the file holds both CMDs before either STATUS (where each was received,
 * where each completed), the task attribute, and times that never go back,
 * and it replays. */
START_TEST(interleaved_commands_are_recorded_where_they_happened)
{
    /* What a fresh controller answers first: the power-on unit attention. */
    uint8_t tur[6] = { 0 };
    struct scsi_backend_result rt;
    struct backend_stack_event et = cmd_event(tur, 6, &rt);
    struct scsi_sense_reason why = scsi_reason(SCSI_SK_UNIT_ATTENTION, SCSI_ASCQ(0x29, 0x01));
    rt.status = SCSI_STATUS_CHECK_CONDITION;
    rt.sense_len = (uint8_t)scsi_sense_build(rt.sense, sizeof(rt.sense), false, &why);
    observe_command(&et);
    static uint8_t a[512], b[512];
    memset(a, 0x11, sizeof(a));
    memset(b, 0x22, sizeof(b));
    uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    struct scsi_backend_result ra, rb, rr;
    struct backend_stack_event ea = cmd_event(wr, 10, &ra), eb = cmd_event(wr, 10, &rb);
    ea.lun = eb.lun = 0;
    ea.tag = 0x40;
    eb.tag = 0x41;
    eb.attr = SCSI_ATTR_ORDERED;
    ea.dir = eb.dir = SCSI_DIR_WRITE;
    ea.expected_len = ea.down_len = ea.data_out_len = eb.expected_len = eb.down_len = eb.data_out_len = 512;
    ea.data_out = a;
    eb.data_out = b;
    ra.data_len = rb.data_len = 512;
    struct backend_stack_event sa = ea, sb = eb;
    sa.kind = sb.kind = BACKEND_STACK_SUBMIT;
    trace_recorder_observe(rec, &sa);
    trace_recorder_observe(rec, &sb);
    trace_recorder_observe(rec, &eb); /* the second completes first */
    trace_recorder_observe(rec, &ea);
    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    struct backend_stack_event er = cmd_event(rd, 10, &rr);
    er.tag = 0x42;
    er.dir = SCSI_DIR_READ;
    er.expected_len = er.down_len = 512;
    er.data_in = b;
    rr.data_len = 512;
    observe_command(&er);
    struct trace *t;
    char *txt = finish_parsed(&t);
    const char *ca = strstr(txt, " i3.40 CMD "), *cb = strstr(txt, " i3.41 CMD ");
    const char *stb = strstr(txt, " i3.41 STATUS GOOD"), *sta = strstr(txt, " i3.40 STATUS GOOD");
    ck_assert(ca && cb && sta && stb);
    ck_assert(ca < cb && cb < stb && stb < sta);
    ck_assert_ptr_nonnull(strstr(txt, " i3.41 CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out attr=ordered\n"));
    ck_assert_ptr_nonnull(strstr(txt, " i3.40 CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out\n"));
    uint64_t last = 0;
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_RECORD || !l->record.time_known)
            continue;
        ck_assert_uint_ge(l->record.time_ns, last);
        last = l->record.time_ns;
    }
    trace_free(t);
    struct proc_result r;
    const char *run[] = { "run", path, NULL };
    proc_scsisim(run, &r);
    ck_assert_msg(r.status == 0, "scsisim run: exit %d\n%s%s", r.status, r.out, r.err);
    proc_result_free(&r);
}
END_TEST

/* Task management as TMF records: the request where the function acted,
 * the commands it ended (any outcome: UNKNOWN) or that completed while it
 * acted (their status or TASK ABORTED), then its response. */
START_TEST(task_management_becomes_tmf_records)
{
    uint8_t tur[6] = { 0 };
    struct scsi_backend_result ra, rb;
    struct backend_stack_event a = cmd_event(tur, 6, &ra), b = cmd_event(tur, 6, &rb);
    a.tag = 0x50;
    b.tag = 0x51;
    struct backend_stack_event sa = a, sb = b;
    sa.kind = sb.kind = BACKEND_STACK_SUBMIT;
    trace_recorder_observe(rec, &sa);
    trace_recorder_observe(rec, &sb);
    int key1, key2;
    struct backend_stack_event m = { .kind = BACKEND_STACK_TMF_SUBMIT, .tmf_fn = SCSI_TMF_ABORT_TASK, .initiator = 3,
                                     .tag = 0x50, .tmf_key = &key1 };
    trace_recorder_observe(rec, &m);
    ra.aborted = true;
    trace_recorder_observe(rec, &a);
    m.kind = BACKEND_STACK_TMF;
    m.tmf_response = SCSI_TMF_COMPLETE;
    trace_recorder_observe(rec, &m);
    struct backend_stack_event lr = { .kind = BACKEND_STACK_TMF_SUBMIT, .tmf_fn = SCSI_TMF_LUN_RESET, .initiator = 3,
                                      .tmf_key = &key2 };
    trace_recorder_observe(rec, &lr);
    trace_recorder_observe(rec, &b); /* completed GOOD while the reset acted */
    lr.kind = BACKEND_STACK_TMF;
    lr.tmf_response = SCSI_TMF_COMPLETE;
    trace_recorder_observe(rec, &lr);
    struct trace *t;
    char *txt = finish_parsed(&t);
    ck_assert_ptr_nonnull(strstr(txt, " H > 3:0:0:0 m1 TMF abort-task i3.50\n"));
    ck_assert_ptr_nonnull(strstr(txt, " H < 3:0:0:0 i3.50 STATUS UNKNOWN\n"));
    ck_assert_ptr_nonnull(strstr(txt, " H < 3:0:0:0 m1 TMF function-complete\n"));
    ck_assert_ptr_nonnull(strstr(txt, " H > 3:0:0:0 m2 TMF lun-reset\n"));
    ck_assert_ptr_nonnull(strstr(txt, " H < 3:0:0:0 i3.51 STATUS GOOD|TASK_ABORTED\n"));
    ck_assert_ptr_nonnull(strstr(txt, " H < 3:0:0:0 m2 TMF function-complete\n"));
    ck_assert_ptr_null(strstr(txt, "reset lun")); /* the TMF record is the reset */
    trace_free(t);
}
END_TEST

START_TEST(an_unwritable_file_is_refused)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    char err[256] = "";
    struct trace_recorder *r = NULL;
    ck_assert_int_lt(trace_recorder_open("/nonexistent-dir/x.trace", &cfg, &r, err, sizeof(err)), 0);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "cannot create it"));
    sim_config_free(&cfg);
    ck_assert_int_eq(trace_recorder_close(NULL), 0);
    ck_assert_int_eq(trace_recorder_close(rec), 0); /* the fixture's */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("record");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, device_lines_and_a_simple_command);
    tcase_add_test(tc, data_in_pieces_repeats_and_residuals);
    tcase_add_test(tc, a_1mib_random_write_records_whole_and_replays);
    tcase_add_test(tc, statuses_comments_and_directives);
    tcase_add_test(tc, interleaved_commands_are_recorded_where_they_happened);
    tcase_add_test(tc, task_management_becomes_tmf_records);
    tcase_add_test(tc, an_unwritable_file_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
