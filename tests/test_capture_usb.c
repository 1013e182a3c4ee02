/* tests/test_capture_usb.c — `scsisim import` of USB mass storage (Bulk-Only
 * Transport) from Linux usbmon captures.  No machine here has a USB stick to
 * capture, so the captures are written with libpcap's writer
 * (tests/support/usbmon_gen.h) from known CBW / data / CSW sequences, event
 * for event as usbmon records them.  One capture
 * replays against the simulator; others have a phase error, residues, a
 * CBW with a bad signature, an invalid CSW, a stall, a cut capture. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pcap/usb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "conformance/format/trace.h"
#include "conformance/replay/trace_sim.h"
#include "tests/support/capture_testutil.h"
#include "tests/support/proc.h"
#include "tests/support/usbmon_gen.h"

/* ---- writing usbmon captures --------------------------------------------------------------- */

static char dir[256];

static const char *path_of(const char *name)
{
    static char p[4][320];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

#define EP_OUT 0x02
#define EP_IN  0x81

/* A bulk-out transfer: submitted with its data, completed with `actual` moved. */
static void bulk_out(struct ugen *g, const void *data, uint32_t len, uint32_t actual, int32_t status)
{
    uint64_t id = ++g->id;
    ugen_event(g, 'S', URB_BULK, EP_OUT, id, -115, len, data, len, NULL);
    ugen_event(g, 'C', URB_BULK, EP_OUT, id, status, actual, NULL, 0, NULL);
}

/* A bulk-in transfer asking for `asked` bytes and getting `len`. */
static void bulk_in(struct ugen *g, uint32_t asked, const void *data, uint32_t len, int32_t status)
{
    uint64_t id = ++g->id;
    ugen_event(g, 'S', URB_BULK, EP_IN, id, -115, asked, NULL, 0, NULL);
    ugen_event(g, 'C', URB_BULK, EP_IN, id, status, len, data, len, NULL);
}

static void control(struct ugen *g, uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t length)
{
    uint8_t s[8] = { type, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index, (uint8_t)(index >> 8),
                     (uint8_t)length, (uint8_t)(length >> 8) };
    uint64_t id = ++g->id;
    ugen_event(g, 'S', URB_CONTROL, type & 0x80 ? 0x80 : 0x00, id, -115, length, NULL, 0, s);
    uint8_t one = 0;
    ugen_event(g, 'C', URB_CONTROL, type & 0x80 ? 0x80 : 0x00, id, 0, type & 0x80 ? length : 0, &one,
          type & 0x80 ? length : 0, NULL);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void cbw_sig(struct ugen *g, uint32_t sig, uint32_t tag, uint32_t len, bool in, uint8_t lun, const uint8_t *cdb,
                    uint8_t cdb_len)
{
    uint8_t w[31] = { 0 };
    le32(w, sig);
    le32(w + 4, tag);
    le32(w + 8, len);
    w[12] = in ? 0x80 : 0;
    w[13] = lun;
    w[14] = cdb_len;
    memcpy(w + 15, cdb, cdb_len);
    bulk_out(g, w, 31, 31, 0);
}

static void cbw(struct ugen *g, uint32_t tag, uint32_t len, bool in, uint8_t lun, const uint8_t *cdb, uint8_t cdb_len)
{
    cbw_sig(g, 0x43425355u, tag, len, in, lun, cdb, cdb_len);
}

static void csw_sig(struct ugen *g, uint32_t sig, uint32_t tag, uint32_t residue, uint8_t status)
{
    uint8_t s[13];
    le32(s, sig);
    le32(s + 4, tag);
    le32(s + 8, residue);
    s[12] = status;
    bulk_in(g, 13, s, 13, 0);
}

static void csw(struct ugen *g, uint32_t tag, uint32_t residue, uint8_t status)
{
    csw_sig(g, 0x53425355u, tag, residue, status);
}

static const uint8_t tur[6] = { 0x00 };
static const uint8_t request_sense[6] = { 0x03, 0, 0, 0, 18, 0 };
static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
static const uint8_t read_capacity[10] = { 0x25 };

/* TEST UNIT READY failing with the power-on unit attention, and the host's
 * REQUEST SENSE for it. */
static void tur_with_unit_attention(struct ugen *g, uint32_t tag)
{
    cbw(g, tag, 0, false, 0, tur, 6);
    csw(g, tag, 0, 1);
    cbw(g, tag + 1, 18, true, 0, request_sense, 6);
    uint8_t s[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x01 };
    bulk_in(g, 18, s, 18, 0);
    csw(g, tag + 1, 0, 0);
}

static void read_capacity_10(struct ugen *g, uint32_t tag, uint8_t lun, uint32_t last_lba, uint32_t block)
{
    uint8_t d[8];
    be32(d, last_lba);
    be32(d + 4, block);
    cbw(g, tag, 8, true, lun, read_capacity, 10);
    bulk_in(g, 8, d, 8, 0);
    csw(g, tag, 0, 0);
}

static void inquiry_36(struct ugen *g, uint32_t tag, uint8_t lun, const char *vendor)
{
    uint8_t d[36] = { 0, 0x80, 6, 2, 31 };
    memset(d + 8, ' ', 28);
    memcpy(d + 8, vendor, strlen(vendor));
    memcpy(d + 16, "USB Stick", 9);
    memcpy(d + 32, "1.00", 4);
    cbw(g, tag, 36, true, lun, inquiry, 6);
    bulk_in(g, 36, d, 36, 0);
    csw(g, tag, 0, 0);
}

/* ---- importing ----------------------------------------------------------------------------- */

static void import(struct ct_import *r, const char *name)
{
    ct_import_file(r, path_of(name), NULL);
}

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "usbcap");
}

static void teardown(void)
{
    proc_rmdir(dir);
}

/* ---- tests --------------------------------------------------------------------------------- */

/* A session as Linux usb-storage makes it, on a device the simulator can
 * impersonate: it imports with the device inferred and replays clean. */
START_TEST(bot_session_imports_and_replays)
{
    struct ugen g;
    ugen_open(&g, path_of("stick.pcap"), DLT_USB_LINUX_MMAPPED);
    control(&g, 0xa1, 0xfe, 0, 0, 1);            /* Get Max LUN */
    tur_with_unit_attention(&g, 1);
    read_capacity_10(&g, 3, 0, 0x3ffff, 512);    /* 128 MiB of 512-byte blocks */
    static uint8_t blocks[4096];
    for (unsigned i = 0; i < sizeof blocks; i++)
        blocks[i] = (uint8_t)(i * 7 + i / 512);
    const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 16, 0, 0, 8, 0 };
    cbw(&g, 4, 4096, false, 0, write10, 10);
    bulk_out(&g, blocks, 2048, 2048, 0);         /* the data stage in two URBs */
    bulk_out(&g, blocks + 2048, 2048, 2048, 0);
    csw(&g, 4, 0, 0);
    const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 8, 0 };
    cbw(&g, 5, 4096, true, 0, read10, 10);
    bulk_in(&g, 4096, blocks, 4096, 0);
    csw(&g, 5, 0, 0);
    /* The host asks for more than the CDB does (case Hi > Di): the device
     * sends its 4096 bytes, stalls, and reports the rest as the residue. */
    cbw(&g, 6, 8192, true, 0, read10, 10);
    bulk_in(&g, 8192, blocks, 4096, -32);
    control(&g, 0x02, 0x01, 0, EP_IN, 0);        /* CLEAR_FEATURE(ENDPOINT_HALT) */
    csw(&g, 6, 4096, 0);
    ugen_close(&g);

    struct ct_import r;
    import(&r, "stick.pcap");
    ct_has(&r, "@drive 0:0 block-size=512 blocks=262144");
    ct_has(&r, "d1.1 CMD 00 00 00 00 00 00");
    ct_has(&r, "d1.1 STATUS CHECK UNIT_ATTENTION/0x29/0x01");
    ct_has(&r, "REQUEST SENSE (CBW tag 0x2");
    ct_lacks(&r, "d1.2 CMD");
    ct_has(&r, "d1.4 CMD 2a 00 00 00 00 10 00 00 08 00 len=4096 dir=out");
    ct_has(&r, "d1.5 STATUS GOOD");
    ct_has(&r, "d1.6 STATUS GOOD resid=4096");
    ct_has(&r, "ended with status -32, stall (-EPIPE) after 4096 byte(s)");
    ct_has(&r, "CLEAR_FEATURE (ENDPOINT_HALT), endpoint 0x81");
    ct_has(&r, "Get Max LUN");
    ct_has(&r, "initiator USB host, bus 2, target USB device 2.5 at usbmon bus 2, address 5");
    ck_assert_uint_eq(r.st.usb_devices, 1);
    ck_assert_uint_eq(r.st.commands, 5);
    ck_assert_uint_eq(r.st.incomplete, 0);
    ck_assert_uint_eq(r.st.nexuses, 1);
    ct_import_free(&r);

    /* Wireshark's dissector reads the same capture as USB mass storage: the
     * generator writes what usbmon writes.  tshark is required here. */
    ck_assert_msg(proc_tool_present("bot_session_imports_and_replays", "tshark", "apt-get install tshark"),
                  "tshark is not installed (apt-get install tshark): this check cannot run");
    const char *ts[] = { "tshark", "-r", path_of("stick.pcap"), "-Y", "usbms", NULL };
    char *ts_out = NULL;
    int ts_rc = proc_tool(ts, 60, &ts_out);
    unsigned usbms = 0;
    for (const char *l = ts_out; l && (l = strstr(l, "USBMS")); l += 5)
        usbms++;
    ck_assert_msg(ts_rc == 0 && usbms >= 12, "tshark exited %d, %u USBMS frames:\n%s", ts_rc, usbms, ts_out);
    free(ts_out);

    /* The same through the command, and replayed against the simulator. */
    ct_import_and_replay(path_of("stick.pcap"), path_of("stick.trace"), "5 commands");
}
END_TEST

/* A phase error (CSW status 2) and residues on data-in and data-out. */
START_TEST(phase_error_and_residue)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    static uint8_t data[4096];
    memset(data, 0x5a, sizeof data);
    const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
    cbw(&g, 0x10, 4096, true, 0, read10, 10);
    bulk_in(&g, 4096, data, 512, 0);             /* a short packet ends the data stage */
    csw(&g, 0x10, 3584, 0);
    const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
    cbw(&g, 0x11, 4096, false, 0, write10, 10);
    bulk_out(&g, data, 4096, 4096, 0);
    csw(&g, 0x11, 1024, 0);                      /* the device took 3072 of them */
    cbw(&g, 0x12, 4096, false, 0, write10, 10);
    bulk_out(&g, data, 4096, 0, -32);            /* stalled at once */
    control(&g, 0x02, 0x01, 0, EP_OUT, 0);
    csw(&g, 0x12, 4096, 2);                      /* phase error */
    control(&g, 0x21, 0xff, 0, 0, 0);            /* reset recovery */
    control(&g, 0x02, 0x01, 0, EP_IN, 0);
    control(&g, 0x02, 0x01, 0, EP_OUT, 0);
    cbw(&g, 0x13, 0, false, 0, tur, 6);
    csw(&g, 0x13, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.10 DIN 5a*512\n");
    ct_has(&r, "d1.10 STATUS GOOD resid=3584");
    ct_has(&r, "d1.11 STATUS GOOD resid=1024");
    ct_has(&r, "CSW residue 1024, but the data stage left 0 of 4096 byte(s) unmoved: resid= is the larger");
    ct_has(&r, "d1.12 STATUS SERVICE_FAILURE");
    ct_has(&r, "d1.12: phase error (CSW status 2, packet");
    ct_has(&r, "Bulk-Only Mass Storage Reset, interface 0 (reset recovery)");
    ct_has(&r, "d1.13 STATUS GOOD");
    ck_assert_uint_eq(r.st.commands, 4);
    ct_import_free(&r);
}
END_TEST

START_TEST(cbw_with_a_bad_signature)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 1, 0, false, 0, tur, 6);
    csw(&g, 1, 0, 0);
    cbw_sig(&g, 0x58425355u, 2, 0, false, 0, tur, 6); /* "USBX" */
    cbw(&g, 3, 0, false, 0, tur, 6);
    csw(&g, 3, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "bulk-out transfer of 31 bytes to device 2.5 where a CBW was expected: signature 0x58425355 at byte 0 of "
            "its data, not 43425355h (\"USBC\"); not a command; ignored");
    ct_has(&r, "packet 5 (file offset 388, the transfer's data from byte 64 of the packet, completed in packet 6)");
    ct_has(&r, "d1.3 STATUS GOOD");
    ck_assert_uint_eq(r.st.commands, 2);
    ct_import_free(&r);
}
END_TEST

START_TEST(cbw_with_a_bad_cdb_length)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 1, 0, false, 0, tur, 6);
    csw(&g, 1, 0, 0);
    cbw(&g, 2, 0, false, 0, tur, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "bCBWCBLength 0 at byte 14 (1..16 allowed)");
    ck_assert_uint_eq(r.st.commands, 1);
    ct_import_free(&r);
}
END_TEST

START_TEST(csw_tag_mismatch_is_status_unknown)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 7, 0, false, 0, tur, 6);
    csw(&g, 8, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.7: the CSW is not valid (its tag does not match the CBW's; tag 8)");
    ct_has(&r, "d1.7 STATUS UNKNOWN");
    ck_assert_uint_eq(r.st.incomplete, 1);
    ct_import_free(&r);
}
END_TEST

START_TEST(csw_with_a_bad_signature_is_status_unknown)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 7, 0, false, 0, tur, 6);
    csw_sig(&g, 0x12345678u, 7, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "is not a CSW (signature not 53425355h)");
    ct_has(&r, "d1.7 STATUS UNKNOWN");
    ct_import_free(&r);
}
END_TEST

START_TEST(reserved_csw_status_is_status_unknown)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 7, 0, false, 0, tur, 6);
    csw(&g, 7, 0, 3);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "reserved bCSWStatus 3");
    ct_has(&r, "d1.7 STATUS UNKNOWN");
    ct_import_free(&r);
}
END_TEST

START_TEST(capture_ends_in_the_data_stage)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    static uint8_t data[1024];
    memset(data, 0x11, sizeof data);
    const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0 };
    cbw(&g, 1, 2048, true, 0, read10, 10);
    bulk_in(&g, 2048, data, 1024, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "the capture ends before the CSW of d1.1");
    ct_has(&r, "d1.1 DIN 11*1024 ..");
    ct_has(&r, "d1.1 STATUS UNKNOWN");
    ct_import_free(&r);
}
END_TEST

START_TEST(check_condition_without_request_sense)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 1, 0, false, 0, tur, 6);
    csw(&g, 1, 0, 1);
    read_capacity_10(&g, 2, 0, 1023, 4096);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.1: CSW status 1 (command failed) and the host sent no REQUEST SENSE after it");
    ct_has(&r, "d1.1 STATUS CHECK\n");
    ct_has(&r, "block-size=4096 blocks=1024");
    ct_import_free(&r);
}
END_TEST

START_TEST(devices_and_luns_are_their_own_nexus)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    inquiry_36(&g, 1, 0, "ALPHA");
    inquiry_36(&g, 2, 1, "BETA");
    g.dev = 9;
    inquiry_36(&g, 1, 0, "GAMMA");
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "@drive 0:0 vendor=\"ALPHA\" product=\"USB Stick\" revision=\"1.00\"");
    ct_has(&r, "@drive 0:1 vendor=\"BETA\"");
    ct_has(&r, "@drive 1:0 vendor=\"GAMMA\"");
    ct_has(&r, "0:0:0:1 d1.2 CMD 12");
    ct_has(&r, "1:0:1:0 d2.1 CMD 12");
    ct_has(&r, "target USB device 2.9");
    ck_assert_uint_eq(r.st.usb_devices, 2);
    ck_assert_uint_eq(r.st.nexuses, 2);
    ct_import_free(&r);
}
END_TEST

/* The 48-byte header of LINKTYPE_USB_LINUX (tcpdump before usbmon's mmap interface). */
START_TEST(usb_linux_48_byte_header)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX);
    inquiry_36(&g, 1, 0, "OLDHDR");
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "@drive 0:0 vendor=\"OLDHDR\"");
    ct_has(&r, "d1.1 STATUS GOOD");
    ct_import_free(&r);
}
END_TEST

START_TEST(data_beyond_the_capture_limit_is_not_captured)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    static uint8_t data[4096];
    memset(data, 0x22, sizeof data);
    const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
    cbw(&g, 1, 4096, true, 0, read10, 10);
    g.snap = 1000;
    bulk_in(&g, 4096, data, 4096, 0);
    g.snap = 1u << 20;
    csw(&g, 1, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.1: bytes 1000..4095 of the 4096-byte transfer in packet");
    ct_has(&r, "d1.1 DIN 22*1000 ??*3096");
    ct_has(&r, "d1.1 STATUS GOOD");
    ck_assert_uint_eq(r.st.uncaptured, 1);
    ct_import_free(&r);
}
END_TEST

START_TEST(data_in_the_wrong_direction)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    uint8_t d[64] = { 0 };
    cbw(&g, 1, 36, true, 0, inquiry, 6);
    bulk_out(&g, d, 64, 64, 0);                  /* a host that gets the direction wrong */
    csw(&g, 1, 36, 2);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.1: 64 byte(s) of data to the device in packet 4, but the CBW announced data from the device");
    ct_has(&r, "d1.1 STATUS SERVICE_FAILURE");
    ct_import_free(&r);
}
END_TEST

START_TEST(next_cbw_before_a_csw)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    cbw(&g, 1, 0, false, 0, tur, 6);
    cbw(&g, 2, 0, false, 0, tur, 6);
    csw(&g, 2, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.1: the host sent the next CBW before a CSW for this command");
    ct_has(&r, "d1.1 STATUS UNKNOWN");
    ct_has(&r, "d1.2 STATUS GOOD");
    ct_import_free(&r);
}
END_TEST

/* Other USB devices use bulk endpoints too; a UAS device is read as UAS
 * (tests/test_capture_uas.c has the rest). */
START_TEST(other_bulk_devices_and_uas_are_reported)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    uint8_t frame[64] = { 0xff, 0xff };
    bulk_out(&g, frame, 64, 64, 0);
    bulk_in(&g, 1536, frame, 64, 0);
    g.dev = 6;
    uint8_t iu[32] = { 0x01, 0, 0, 1 };
    iu[16] = 0x12;
    bulk_out(&g, iu, 32, 32, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "device 2.5: 2 bulk transfer(s), none of them a CBW: not a Bulk-Only mass storage device");
    ct_has(&r, "usb 2.6: the capture ends before the Sense IU of d2.1");
    ct_has(&r, "d2.1 STATUS UNKNOWN");
    ck_assert_uint_eq(r.st.commands, 1);
    ck_assert_uint_eq(r.st.usb_devices, 1);
    ct_import_free(&r);
}
END_TEST

/* Found by tests/fuzz/fuzz_import.c: a completion claiming 4 GiB moved (and
 * a CBW claiming 4 GiB) made the importer allocate that much.  Memory now
 * follows the bytes captured. */
START_TEST(claimed_lengths_cost_no_memory)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    const uint8_t read16[16] = { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0 };
    cbw(&g, 1, 0xfffffff0u, true, 0, read16, 16);
    uint8_t some[64];
    memset(some, 0x33, sizeof some);
    uint64_t id = ++g.id;
    ugen_event(&g, 'S', URB_BULK, EP_IN, id, -115, 0xfffffff0u, NULL, 0, NULL);
    ugen_event(&g, 'C', URB_BULK, EP_IN, id, 0, 0xfffffff0u, some, 64, NULL);
    csw(&g, 1, 0, 0);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "d1.1 DIN 33*64 ??*4294967216\n");
    ct_has(&r, "d1.1 STATUS GOOD\n");
    ck_assert_msg(strlen(r.text) < 8192, "%zu bytes of trace for 64 bytes of data", strlen(r.text));
    ct_import_free(&r);
}
END_TEST

START_TEST(usbmon_header_cut_short)
{
    struct ugen g;
    ugen_open(&g, path_of("x.pcap"), DLT_USB_LINUX_MMAPPED);
    uint8_t junk[20] = { 0 };
    struct pcap_pkthdr ph = { .caplen = 20, .len = 20 };
    pcap_dump((u_char *)g.d, &ph, junk);
    ugen_close(&g);
    struct ct_import r;
    import(&r, "x.pcap");
    ct_has(&r, "packet 1 (file offset 24): usbmon header cut short; ignored");
    ct_import_free(&r);
}
END_TEST

START_TEST(macos_usb_capture_is_refused_with_advice)
{
    pcap_t *dead = pcap_open_dead(266 /* LINKTYPE_USB_DARWIN */, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, path_of("mac.pcap"));
    ck_assert_ptr_nonnull(d);
    pcap_dump_close(d);
    pcap_close(dead);
    struct ct_import r;
    import(&r, "mac.pcap");
    ck_assert_int_eq(r.rc, -EINVAL);
    ck_assert_msg(strstr(r.err.message, "unknown link type 266") && strstr(r.err.message, "macOS USB capture") &&
                      strstr(r.err.message, "usbmon"), "%s", r.err.message);
    ct_import_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("capture_usb");
    TCase *tc = tcase_create("usbmon");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bot_session_imports_and_replays);
    tcase_add_test(tc, phase_error_and_residue);
    tcase_add_test(tc, cbw_with_a_bad_signature);
    tcase_add_test(tc, cbw_with_a_bad_cdb_length);
    tcase_add_test(tc, csw_tag_mismatch_is_status_unknown);
    tcase_add_test(tc, csw_with_a_bad_signature_is_status_unknown);
    tcase_add_test(tc, reserved_csw_status_is_status_unknown);
    tcase_add_test(tc, capture_ends_in_the_data_stage);
    tcase_add_test(tc, check_condition_without_request_sense);
    tcase_add_test(tc, devices_and_luns_are_their_own_nexus);
    tcase_add_test(tc, usb_linux_48_byte_header);
    tcase_add_test(tc, data_beyond_the_capture_limit_is_not_captured);
    tcase_add_test(tc, data_in_the_wrong_direction);
    tcase_add_test(tc, next_cbw_before_a_csw);
    tcase_add_test(tc, other_bulk_devices_and_uas_are_reported);
    tcase_add_test(tc, usbmon_header_cut_short);
    tcase_add_test(tc, claimed_lengths_cost_no_memory);
    tcase_add_test(tc, macos_usb_capture_is_refused_with_advice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
