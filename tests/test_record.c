/* tests/test_record.c — conformance/record.h on made-up events: the device
 * lines, repeats for runs of equal bytes, data cut at the line limit (a DIN
 * ends in "..", a DOUT says so), residuals, statuses with sense, service
 * failures, aborted and unrecordable commands as comments, and the
 * directives task management and nexus loss leave.  Every file it writes
 * must parse, and print back byte for byte. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/record.h"
#include "conformance/trace.h"
#include "scsi/sense.h"

static char path[64];
static struct trace_recorder *rec;

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/scsisim-rec-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct sim_config cfg;
    sim_config_init(&cfg);
    struct sim_config_error cerr;
    ck_assert_int_eq(sim_config_apply_option(&cfg, "drive=0:0,media=/tmp/not-recorded.img", &cerr), 0);
    char err[256] = "";
    ck_assert_int_eq(trace_recorder_open(path, &cfg, &rec, err, sizeof(err)), 0);
    sim_config_free(&cfg);
}

static void teardown(void)
{
    unlink(path);
}

/* Closes the recorder, parses and re-prints the file; returns its text. */
static char *finish(void)
{
    ck_assert_int_eq(trace_recorder_close(rec), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    text[len] = '\0';
    fclose(f);
    struct trace *t;
    struct trace_error e;
    int rc = trace_parse_file(path, &t, &e);
    char msg[1024];
    trace_format_error(&e, msg, sizeof(msg));
    ck_assert_msg(rc == 0, "%s", msg);
    char *printed;
    size_t plen;
    ck_assert_int_eq(trace_print_string(t, &printed, &plen), 0);
    ck_assert_uint_eq(plen, len);
    ck_assert_int_eq(memcmp(printed, text, len), 0);
    free(printed);
    trace_free(t);
    return text;
}

static struct backend_stack_event cmd_event(const uint8_t *cdb, uint8_t cdb_len, struct scsi_backend_result *res)
{
    memset(res, 0, sizeof(*res));
    struct backend_stack_event ev = { .kind = BACKEND_STACK_COMMAND, .nexus = 5, .tag = 0x1f, .initiator = 3,
                                      .target = 0, .lun = 0, .cdb = cdb, .cdb_len = cdb_len, .result = res,
                                      .submit_ns = 1, .done_ns = 2 };
    return ev;
}

START_TEST(device_lines_and_a_simple_command)
{
    uint8_t cdb[6] = { 0 };
    struct scsi_backend_result res;
    struct backend_stack_event ev = cmd_event(cdb, 6, &res);
    trace_recorder_observe(rec, &ev);
    char *text = finish();
    ck_assert_ptr_nonnull(strstr(text, "#!scsitrace 1\n# Recorded by scsisim serve"));
    ck_assert_ptr_nonnull(strstr(text, "@controller max-targets=16 "));
    ck_assert_ptr_nonnull(strstr(text, "@drive 0:0 block-size=512"));
    ck_assert_ptr_null(strstr(text, "media")); /* a replay starts from empty media */
    ck_assert_ptr_nonnull(strstr(text, " H > 3:0:0:0 i3.1f CMD 00 00 00 00 00 00\n"));
    ck_assert_ptr_nonnull(strstr(text, " H < 3:0:0:0 i3.1f STATUS GOOD\n"));
}
END_TEST

START_TEST(data_repeats_cuts_and_residuals)
{
    static uint8_t out[128 * 1024], in[128 * 1024];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 131 + (i >> 7));
    memset(in, 0xab, 4096);
    for (size_t i = 4096; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + (i >> 9));
    uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    struct scsi_backend_result res;
    struct backend_stack_event ev = cmd_event(wr, 10, &res);
    ev.dir = SCSI_DIR_WRITE;
    ev.expected_len = ev.down_len = ev.data_out_len = sizeof(out);
    ev.data_out = out;
    res.data_len = sizeof(out);
    trace_recorder_observe(rec, &ev);

    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    ev = cmd_event(rd, 10, &res);
    ev.tag = 0x20;
    ev.dir = SCSI_DIR_READ;
    ev.expected_len = ev.down_len = sizeof(in) + 512;
    ev.data_in = in;
    res.data_len = sizeof(in); /* less than asked: a residual */
    trace_recorder_observe(rec, &ev);
    struct trace_recorder_stats st;
    trace_recorder_get_stats(rec, &st);
    ck_assert_uint_eq(st.cut, 2);
    ck_assert_uint_eq(st.commands, 2);
    char *text = finish();
    ck_assert_ptr_nonnull(strstr(text, "# data-out cut at "));
    ck_assert_ptr_nonnull(strstr(text, " DIN ab*4096 "));
    ck_assert_ptr_nonnull(strstr(text, " ..\n"));
    ck_assert_ptr_nonnull(strstr(text, "STATUS GOOD resid=512\n"));
    ck_assert_ptr_nonnull(strstr(text, "len=131584 dir=in"));
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
    trace_recorder_observe(rec, &ev);
    ev = cmd_event(cdb, 6, &res);
    res.response = SCSI_SR_SERVICE_DELIVERY_FAILURE;
    trace_recorder_observe(rec, &ev);
    ev = cmd_event(cdb, 6, &res);
    res.aborted = true;
    trace_recorder_observe(rec, &ev);
    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    ev = cmd_event(rd, 10, &res); /* R bit, no data */
    ev.dir = SCSI_DIR_READ;
    trace_recorder_observe(rec, &ev);

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
    ck_assert_ptr_nonnull(strstr(text, "ended by task management (not recorded)"));
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
    tcase_add_test(tc, data_repeats_cuts_and_residuals);
    tcase_add_test(tc, statuses_comments_and_directives);
    tcase_add_test(tc, an_unwritable_file_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
