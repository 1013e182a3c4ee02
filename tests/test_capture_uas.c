/* tests/test_capture_uas.c — `scsisim import` of USB Attached SCSI (UAS)
 * from Linux usbmon captures.  The captures are written with libpcap's
 * writer (tests/support/usbmon_gen.h) from known IU sequences, event for
 * event as usbmon records them: USB 2 devices with READ READY / WRITE READY
 * IUs (two tags interleaved), a USB 3 streams device with one command in
 * flight and with two (the ambiguity error), sense on CHECK CONDITION, task
 * management, and malformed IUs. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "conformance/format/trace.h"
#include "conformance/replay/trace_sim.h"
#include "tests/support/capture_testutil.h"
#include "tests/support/proc.h"
#include "tests/support/usbmon_gen.h"

/* The four pipes, as an ASMedia bridge numbers them. */
#define EP_DATA_IN  0x81
#define EP_DATA_OUT 0x02
#define EP_STATUS   0x83
#define EP_COMMAND  0x04
#define STATUS_BUF  112u   /* what Linux uas submits on the status pipe: a Sense IU with 96 sense bytes */

static char dir[256];

static const char *path_of(const char *name)
{
    static char p[4][320];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void command_iu(struct ugen *g, uint16_t tag, uint8_t lun, const uint8_t *cdb, uint8_t cdb_len)
{
    uint8_t iu[32] = { 0x01, 0, (uint8_t)(tag >> 8), (uint8_t)tag };
    iu[9] = lun;
    memcpy(iu + 16, cdb, cdb_len);
    ugen_bulk(g, EP_COMMAND, iu, sizeof iu, sizeof iu, 0);
}

/* A Sense IU: sense_len claimed, n bytes of sense sent. */
static void sense_iu_raw(struct ugen *g, uint16_t tag, uint8_t status, uint16_t sense_len, const uint8_t *sense,
                         uint32_t n)
{
    uint8_t iu[16 + 96] = { 0x03, 0, (uint8_t)(tag >> 8), (uint8_t)tag };
    iu[6] = status;
    iu[14] = (uint8_t)(sense_len >> 8);
    iu[15] = (uint8_t)sense_len;
    if (n)
        memcpy(iu + 16, sense, n);
    ugen_bulk(g, EP_STATUS, iu, STATUS_BUF, 16 + n, 0);
}

static void sense_iu(struct ugen *g, uint16_t tag, uint8_t status, const uint8_t *sense, uint16_t n)
{
    sense_iu_raw(g, tag, status, n, sense, n);
}

static void ready_iu(struct ugen *g, uint8_t id, uint16_t tag)
{
    uint8_t iu[4] = { id, 0, (uint8_t)(tag >> 8), (uint8_t)tag };
    ugen_bulk(g, EP_STATUS, iu, STATUS_BUF, 4, 0);
}

/* The host's GET_DESCRIPTOR (CONFIGURATION) at enumeration, answered with a
 * UAS interface (class 08h, subclass 06h, protocol 62h): four bulk
 * endpoints, each followed by its pipe usage descriptor (24h). */
static void config_descriptor(struct ugen *g)
{
    static const uint8_t pipes[4][2] = { { EP_COMMAND, 1 }, { EP_STATUS, 2 }, { EP_DATA_IN, 3 }, { EP_DATA_OUT, 4 } };
    uint8_t d[9 + 9 + 4 * 11] = { 9, 0x02, sizeof d, 0, 1, 1, 0, 0x80, 50, 9, 0x04, 0, 0, 4, 0x08, 0x06, 0x62, 0 };
    for (int i = 0; i < 4; i++) {
        uint8_t *e = d + 18 + 11 * i;
        const uint8_t ep[11] = { 7, 0x05, pipes[i][0], 0x02, 0x00, 0x02, 0, 4, 0x24, pipes[i][1], 0 };
        memcpy(e, ep, sizeof ep);
    }
    const uint8_t setup[8] = { 0x80, 0x06, 0x00, 0x02, 0, 0, sizeof d, 0 };
    uint64_t id = ugen_urb(g);
    ugen_event(g, 'S', URB_CONTROL, 0x80, id, -115, sizeof d, NULL, 0, setup);
    ugen_event(g, 'C', URB_CONTROL, 0x80, id, 0, sizeof d, d, sizeof d, NULL);
}

static void good(struct ugen *g, uint16_t tag)
{
    sense_iu(g, tag, 0, NULL, 0);
}

static const uint8_t tur[6] = { 0x00 };
static const uint8_t read_capacity[10] = { 0x25 };
static const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 16, 0, 0, 8, 0 };
static const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 8, 0 };
static const uint8_t read10_1[10] = { 0x28, 0, 0, 0, 0, 32, 0, 0, 1, 0 };
static const uint8_t write10_1[10] = { 0x2a, 0, 0, 0, 0, 48, 0, 0, 1, 0 };
static const uint8_t unit_attention[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x01 };

static void import_opt(struct ct_import *r, const char *name, enum capture_usb_proto usb)
{
    struct capture_options opt = { .port = CAPTURE_DEFAULT_PORT, .usb = usb };
    ct_import_file(r, path_of(name), &opt);
}

static void import(struct ct_import *r, const char *name)
{
    import_opt(r, name, CAPTURE_USB_AUTO);
}

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "uascap");
}

static void teardown(void)
{
    proc_rmdir(dir);
}

/* A USB 2 UAS session as Linux uas makes it, on a device the simulator can
 * impersonate: TEST UNIT READY with the power-on unit attention in its
 * Sense IU, READ CAPACITY and a READ after READ READY, a WRITE after WRITE
 * READY.  It imports with the device inferred and replays clean. */
START_TEST(usb2_session_imports_and_replays)
{
    struct ugen g;
    ugen_open(&g, path_of("uas.pcap"), DLT_USB_LINUX_MMAPPED);
    config_descriptor(&g);
    command_iu(&g, 1, 0, tur, 6);
    sense_iu(&g, 1, 0x02, unit_attention, sizeof unit_attention);
    command_iu(&g, 1, 0, read_capacity, 10);
    ready_iu(&g, 0x06, 1);
    uint8_t cap[8] = { 0, 0x03, 0xff, 0xff, 0, 0, 0x02, 0 };   /* 262144 blocks of 512 bytes */
    ugen_bulk(&g, EP_DATA_IN, cap, 8, 8, 0);
    good(&g, 1);
    static uint8_t blocks[4096];
    for (unsigned i = 0; i < sizeof blocks; i++)
        blocks[i] = (uint8_t)(i * 7 + i / 512);
    command_iu(&g, 2, 0, write10, 10);
    ready_iu(&g, 0x07, 2);
    ugen_bulk(&g, EP_DATA_OUT, blocks, 4096, 4096, 0);
    good(&g, 2);
    command_iu(&g, 3, 0, read10, 10);
    ready_iu(&g, 0x06, 3);
    ugen_bulk(&g, EP_DATA_IN, blocks, 4096, 4096, 0);
    good(&g, 3);
    ugen_close(&g);

    struct ct_import r;
    import(&r, "uas.pcap");
    ct_has(&r, "@drive 0:0 block-size=512 blocks=262144");
    ct_has(&r, "d1.1 CMD 00 00 00 00 00 00\n");
    ct_has(&r, "d1.1 STATUS CHECK UNIT_ATTENTION/0x29/0x01");
    ct_has(&r, "d1.1 CMD 25 00 00 00 00 00 00 00 00 00 len=8 dir=in");
    ct_has(&r, "d1.2 CMD 2a 00 00 00 00 10 00 00 08 00 len=4096 dir=out");
    ct_has(&r, "d1.3 STATUS GOOD");
    ct_has(&r, "configuration descriptor: a UAS interface, pipes command 0x04, status 0x83, data-in 0x81, data-out 0x02");
    ck_assert_uint_eq(r.st.usb_devices, 1);
    ck_assert_uint_eq(r.st.commands, 4);
    ck_assert_uint_eq(r.st.incomplete, 0);
    ct_import_free(&r);

    /* Wireshark's UASP dissector (it knows the interface from the
     * configuration descriptor) reads the same IUs: the generator writes
     * what a UAS device and Linux uas put on the wire.  tshark is required. */
    ck_assert_msg(proc_tool_present("usb2_session_imports_and_replays", "tshark", "apt-get install tshark"),
                  "tshark is not installed (apt-get install tshark): this check cannot run");
    const char *ts[] = { "tshark", "-r", path_of("uas.pcap"), "-Y", "uasp", NULL };
    char *ts_out = NULL;
    int ts_rc = proc_tool(ts, 60, &ts_out);
    ck_assert_msg(ts_rc == 0 && ts_out && strstr(ts_out, "Test Unit Ready") && strstr(ts_out, "Check Condition") &&
                      strstr(ts_out, "Read Ready IU") && strstr(ts_out, "Write Ready IU") &&
                      strstr(ts_out, "Read Capacity(10) Response Data") && strstr(ts_out, "Write(10) Request Data") &&
                      strstr(ts_out, "Read(10) Response Data"),
                  "tshark exited %d:\n%s", ts_rc, ts_out ? ts_out : "");
    free(ts_out);

    /* Through the command, and replayed against the simulator. */
    ct_import_and_replay(path_of("uas.pcap"), path_of("uas.trace"), "4 commands");
}
END_TEST

/* Two tags in flight on USB 2: the READY IUs say whose data each data
 * URB is, even when a READ READY for one comes between the other's
 * WRITE READY and its data completing. */
START_TEST(usb2_two_tags_interleaved)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    command_iu(&g, 1, 0, tur, 6);           /* the status pipe is learned from its Sense IU */
    good(&g, 1);
    static uint8_t in[512], out[512];
    memset(in, 0xaa, sizeof in);
    memset(out, 0x55, sizeof out);
    command_iu(&g, 4, 0, read10_1, 10);
    command_iu(&g, 5, 0, write10_1, 10);
    ready_iu(&g, 0x07, 5);
    uint64_t wid = ugen_urb(&g);
    ugen_bulk_submit(&g, wid, EP_DATA_OUT, out, 512);
    ready_iu(&g, 0x06, 4);
    uint64_t rid = ugen_urb(&g);
    ugen_bulk_submit(&g, rid, EP_DATA_IN, NULL, 512);
    ugen_bulk_complete(&g, rid, EP_DATA_IN, in, 512, 0);
    ugen_bulk_complete(&g, wid, EP_DATA_OUT, NULL, 512, 0);
    good(&g, 5);
    good(&g, 4);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.4 CMD 28 00 00 00 00 20 00 00 01 00 len=512 dir=in");
    ct_has(&r, "d1.5 CMD 2a 00 00 00 00 30 00 00 01 00 len=512 dir=out");
    ct_has(&r, "d1.5 DOUT 55*512");
    ct_has(&r, "d1.4 DIN aa*512");
    ct_has(&r, "d1.4 STATUS GOOD\n");
    ct_has(&r, "d1.5 STATUS GOOD\n");
    ck_assert_uint_eq(r.st.commands, 3);
    ct_import_free(&r);
}
END_TEST

/* USB 3: no READY IUs; with one command in flight its data is its own. */
START_TEST(usb3_streams_one_in_flight)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    static uint8_t in[512];
    memset(in, 0x3c, sizeof in);
    command_iu(&g, 1, 0, read10_1, 10);
    ugen_bulk(&g, EP_DATA_IN, in, 4096, 512, 0);   /* the host's buffer is larger: resid= */
    good(&g, 1);
    command_iu(&g, 2, 0, tur, 6);
    uint8_t busy[16] = { 0x03, 0, 0, 2, 0x40, 0x10, 0x08 }; /* BUSY with a status qualifier */
    ugen_bulk(&g, EP_STATUS, busy, STATUS_BUF, 16, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.1 CMD 28 00 00 00 00 20 00 00 01 00 len=4096 dir=in");
    ct_has(&r, "d1.1 DIN 3c*512");
    ct_has(&r, "d1.1 STATUS GOOD resid=3584");
    ct_has(&r, "d1.2: the Sense IU in packet 10 has status qualifier 0x4010 (bytes 4..5), which the trace does not hold");
    ct_has(&r, "d1.2 STATUS BUSY\n");
    ct_import_free(&r);
}
END_TEST

/* USB 3 with two commands in flight: usbmon has no stream ID, so the data
 * cannot be attributed: an error naming the packet, never a guess. */
START_TEST(usb3_streams_two_in_flight_is_an_error)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    static uint8_t in[512];
    command_iu(&g, 1, 0, read10_1, 10);         /* packets 1, 2 */
    command_iu(&g, 2, 0, read10_1, 10);         /* 3, 4 */
    ugen_bulk(&g, EP_DATA_IN, in, 512, 512, 0); /* 5, 6 */
    good(&g, 1);
    good(&g, 2);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ck_assert_int_eq(r.rc, -EINVAL);
    char msg[1024];
    located_format(&r.err, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "x.pcap: error: packet 6 (byte offset 488): ") &&
                      strstr(msg, "a 512-byte bulk-in transfer of UAS device 2.5 while 2 commands are in flight "
                                  "(tags 0x1, 0x2)") &&
                      strstr(msg, "usbmon records no stream ID") && strstr(msg, "docs/capture.md"), "%s", msg);
    ct_import_free(&r);

    /* The command exits 2 with it. */
    struct proc_result pr;
    const char *imp[] = { "import", path_of("x.pcap"), "-o", path_of("x.trace"), NULL };
    proc_scsisim(imp, &pr);
    ck_assert_msg(pr.status == 2 && strstr(pr.err, "usbmon records no stream ID"), "import exited %d:\n%s",
                  pr.status, pr.err);
    proc_result_free(&pr);
}
END_TEST

/* ABORT TASK and LOGICAL UNIT RESET: Task Management IU and Response IU. */
START_TEST(task_management)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    command_iu(&g, 1, 0, tur, 6);
    good(&g, 1);
    command_iu(&g, 2, 0, read10_1, 10);
    uint8_t tmf[16] = { 0x05, 0, 0, 0x10, 0x01, 0, 0, 2 };   /* ABORT TASK of tag 2 */
    ugen_bulk(&g, EP_COMMAND, tmf, 16, 16, 0);
    uint8_t resp[8] = { 0x04, 0, 0, 0x10, 0, 0, 0, 0x00 };   /* TMF complete */
    ugen_bulk(&g, EP_STATUS, resp, STATUS_BUF, 8, 0);
    uint8_t lr[16] = { 0x05, 0, 0, 0x11, 0x08 };             /* LOGICAL UNIT RESET */
    ugen_bulk(&g, EP_COMMAND, lr, 16, 16, 0);
    uint8_t lr_resp[8] = { 0x04, 0, 0, 0x11, 0, 0, 0, 0x00 }; /* complete */
    ugen_bulk(&g, EP_STATUS, lr_resp, STATUS_BUF, 8, 0);
    command_iu(&g, 3, 0, tur, 6);
    uint8_t qt[16] = { 0x05, 0, 0, 0x12, 0x80, 0, 0, 3 };     /* QUERY TASK of tag 3 */
    ugen_bulk(&g, EP_COMMAND, qt, 16, 16, 0);
    uint8_t qt_resp[8] = { 0x04, 0, 0, 0x12, 0, 0, 0, 0x08 }; /* succeeded: the task exists */
    ugen_bulk(&g, EP_STATUS, qt_resp, STATUS_BUF, 8, 0);
    uint8_t qts[16] = { 0x05, 0, 0, 0x13, 0x81 };            /* QUERY TASK SET: no trace form */
    ugen_bulk(&g, EP_COMMAND, qts, 16, 16, 0);
    uint8_t qts_resp[8] = { 0x04, 0, 0, 0x13, 0, 0, 0, 0x08 };
    ugen_bulk(&g, EP_STATUS, qts_resp, STATUS_BUF, 8, 0);
    good(&g, 3);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.2 CMD 28 00 00 00 00 20 00 00 01 00");
    ct_has(&r, "d1.10 TMF abort-task d1.2");
    ct_has(&r, "d1.10 TMF function-complete");
    ct_has(&r, "d1.11 TMF lun-reset");
    ct_has(&r, "d1.12 TMF query-task d1.3");
    ct_has(&r, "d1.12 TMF function-succeeded");
    ct_has(&r, "d1.13: task management function 81h (QUERY TASK SET) from packet 21, response code 08h: it has no trace "
            "form; written as this comment");
    ct_has(&r, "d1.3 STATUS GOOD");
    ck_assert_msg(!strstr(r.text, "d1.2 STATUS"), "%s", r.text);
    ck_assert_uint_eq(r.st.tmfs, 4);
    ct_import_free(&r);
}
END_TEST

/* Malformed IUs: each a note naming the packet, the byte and the field; the
 * import goes on. */
START_TEST(malformed_ius)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    command_iu(&g, 1, 0, tur, 6);                            /* packets 1, 2 */
    good(&g, 1);                                             /* 3, 4: the status pipe */
    uint8_t bad_cmd[32] = { 0x02, 0, 0, 7 };
    ugen_bulk(&g, EP_COMMAND, bad_cmd, 32, 32, 0);           /* 5, 6: IU ID 02h */
    command_iu(&g, 2, 0, tur, 6);                            /* 7, 8 */
    uint8_t bad_status[4] = { 0x09, 0, 0, 2 };
    ugen_bulk(&g, EP_STATUS, bad_status, STATUS_BUF, 4, 0);  /* 9, 10: IU ID 09h */
    uint8_t short_sense[10] = { 0x03, 0, 0, 2 };
    ugen_bulk(&g, EP_STATUS, short_sense, STATUS_BUF, 10, 0); /* 11, 12: short */
    sense_iu_raw(&g, 2, 0x02, 40, unit_attention, 18);       /* 13, 14: sense length past the IU */
    sense_iu(&g, 0x77, 0, NULL, 0);                          /* 15, 16: unknown tag */
    uint8_t short_cmd[20] = { 0x01, 0, 0, 3 };
    ugen_bulk(&g, EP_COMMAND, short_cmd, 20, 20, 0);         /* 17, 18: short Command IU */
    sense_iu(&g, 2, 0x02, unit_attention, 18);               /* 19, 20 */
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "usb 2.5 packet 5 (file offset ");
    ct_has(&r, "byte 64 of the packet (byte 0 of the IU, IU ID): IU ID 02h is not one the command pipe carries "
            "(01h Command, 05h Task Management); ignored");
    ct_has(&r, "usb 2.5 packet 10 (file offset ");
    ct_has(&r, "byte 64 of the packet (byte 0 of the IU, IU ID): IU ID 09h is not one the status pipe carries");
    ct_has(&r, "usb 2.5 packet 12 (file offset ");
    ct_has(&r, "byte 74 of the packet (byte 10 of the IU, length): a Sense IU of 10 byte(s) (10 captured); it is at "
            "least 16; ignored");
    ct_has(&r, "usb 2.5 packet 14 (file offset ");
    ct_has(&r, "byte 78 of the packet (byte 14 of the IU, LENGTH): sense length 40 runs past the 34-byte IU (16 + 40 "
            "bytes); ignored");
    ct_has(&r, "usb 2.5 packet 16 (file offset ");
    ct_has(&r, "byte 66 of the packet (byte 2 of the IU, TAG): tag 0x77 names no command in flight (Sense IU); ignored");
    ct_has(&r, "usb 2.5 packet 17 (file offset ");
    ct_has(&r, "(byte 20 of the IU, length): a Command IU of 20 byte(s) (20 captured); it is at least 32: not a command");
    ct_has(&r, "d1.2 STATUS CHECK UNIT_ATTENTION/0x29/0x01");
    ck_assert_uint_eq(r.st.commands, 2);
    ct_import_free(&r);
}
END_TEST

/* With the configuration descriptor in the capture the pipes are known from
 * the start: a malformed first IU on the status pipe is reported as one,
 * not taken for data. */
START_TEST(pipes_from_the_configuration_descriptor)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    config_descriptor(&g);                                   /* packets 1, 2 */
    command_iu(&g, 1, 0, tur, 6);                            /* 3, 4 */
    uint8_t bad_status[4] = { 0x01, 0, 0, 1 };
    ugen_bulk(&g, EP_STATUS, bad_status, STATUS_BUF, 4, 0);  /* 5, 6 */
    good(&g, 1);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "usb 2.5 packet 6 (file offset ");
    ct_has(&r, "(byte 0 of the IU, IU ID): IU ID 01h is not one the status pipe carries");
    ct_has(&r, "d1.1 CMD 00 00 00 00 00 00\n");
    ct_has(&r, "d1.1 STATUS GOOD\n");
    ct_import_free(&r);
}
END_TEST

/* --usb bot keeps a UAS device out (with a note); --usb uas reads a device
 * whose first Command IU has an odd shape. */
START_TEST(usb_option)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    command_iu(&g, 1, 0, tur, 6);
    good(&g, 1);
    ugen_close(&g);
    struct ct_import r;
    import_opt(&r, "x.pcap", CAPTURE_USB_BOT);
    ct_has(&r, "device 2.5: the bulk-out transfer in packet 2 looks like a UAS Command IU (01h); UAS is not imported "
            "with --usb bot");
    ck_assert_uint_eq(r.st.commands, 0);
    ct_import_free(&r);
    import_opt(&r, "x.pcap", CAPTURE_USB_UAS);
    ct_has(&r, "d1.1 STATUS GOOD");
    ct_import_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("capture_uas");
    TCase *tc = tcase_create("uas");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, usb2_session_imports_and_replays);
    tcase_add_test(tc, usb2_two_tags_interleaved);
    tcase_add_test(tc, usb3_streams_one_in_flight);
    tcase_add_test(tc, usb3_streams_two_in_flight_is_an_error);
    tcase_add_test(tc, task_management);
    tcase_add_test(tc, malformed_ius);
    tcase_add_test(tc, pipes_from_the_configuration_descriptor);
    tcase_add_test(tc, usb_option);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
