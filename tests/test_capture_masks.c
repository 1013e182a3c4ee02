/* tests/test_capture_masks.c — the importer's masks (capture/cap_masks.c):
 * the data-in bytes it writes as "??" although the capture holds them,
 * because they differ between runs and between units of one model (serial
 * numbers, designators, time stamps), and nothing else.  Checked on the
 * table directly and end to end: a trace exported to a capture and
 * imported back has "??" exactly there, with a comment saying why. */
#include "tests/support/testutil.h"
#include "tests/support/capture_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_priv.h"
#include "capture/capture.h"
#include "conformance/format/trace.h"
#include "tests/support/proc.h"
#include "tests/support/trace_testutil.h"

START_TEST(table)
{
    struct cap_mask m[8];
    static const uint8_t std_inq[6] = { 0x12, 0, 0, 0, 96, 0 };
    uint8_t data[96] = { 0 };
    ck_assert_uint_eq(cap_masks(std_inq, data, NULL, 96, m, 8), 1);
    ck_assert_uint_eq(m[0].from, 36);
    ck_assert_uint_eq(m[0].to, 56);
    /* a 36-byte answer has no vendor specific bytes: nothing masked */
    ck_assert_uint_eq(cap_masks(std_inq, data, NULL, 36, m, 8), 0);

    static const uint8_t vpd80[6] = { 0x12, 1, 0x80, 0, 255, 0 };
    uint8_t p80[20] = { 0, 0x80, 0, 12, 'S', 'N' };
    ck_assert_uint_eq(cap_masks(vpd80, p80, NULL, 20, m, 8), 1);
    ck_assert_uint_eq(m[0].from, 4);
    ck_assert_uint_eq(m[0].to, 16); /* the page's length, not the buffer's */

    /* VPD 83h: two descriptors, an 8-byte NAA and a 4-byte target port id;
     * their headers stay exact. */
    static const uint8_t vpd83[6] = { 0x12, 1, 0x83, 0, 255, 0 };
    uint8_t p83[24] = { 0, 0x83, 0, 20, 0x01, 0x03, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0x61, 0x94, 0, 4, 0, 0, 0, 1 };
    ck_assert_uint_eq(cap_masks(vpd83, p83, NULL, 24, m, 8), 2);
    ck_assert_uint_eq(m[0].from, 8);
    ck_assert_uint_eq(m[0].to, 16);
    ck_assert_uint_eq(m[1].from, 20);
    ck_assert_uint_eq(m[1].to, 24);
    /* a page length not captured: the descriptors cannot be walked */
    uint8_t have[24];
    memset(have, 1, sizeof have);
    have[3] = 0;
    ck_assert_uint_eq(cap_masks(vpd83, p83, have, 24, m, 8), 0);

    static const uint8_t ts[12] = { 0xa3, 0x0f, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0 };
    uint8_t tsd[12] = { 0 };
    ck_assert_uint_eq(cap_masks(ts, tsd, NULL, 12, m, 8), 1);
    ck_assert_uint_eq(m[0].from, 4);
    ck_assert_uint_eq(m[0].to, 10);

    /* other commands keep every byte */
    static const uint8_t rc10[10] = { 0x25 };
    static const uint8_t rtpg[12] = { 0xa3, 0x0a };
    ck_assert_uint_eq(cap_masks(rc10, tsd, NULL, 8, m, 8), 0);
    ck_assert_uint_eq(cap_masks(rtpg, tsd, NULL, 12, m, 8), 0);
}
END_TEST

START_TEST(import_writes_masks)
{
    static const char text[] =
        "#!scsitrace 1\n"
        "+0 H > - s1 CMD 12 01 80 00 ff 00 len=255 dir=in\n"
        "+0 H < - s1 DIN 00 80 00 08 \"SERIAL01\"\n"
        "+0 H < - s1 STATUS GOOD resid=243\n"
        "+0 H > - d1 CMD 12 01 83 00 ff 00 len=255 dir=in\n"
        "+0 H < - d1 DIN 00 83 00 0c 01 03 00 08 60 01 40 51 de ad be ef\n"
        "+0 H < - d1 STATUS GOOD resid=239\n"
        "+0 H > - c1 CMD 25 00 00 00 00 00 00 00 00 00 len=8 dir=in\n"
        "+0 H < - c1 DIN 00 00 ff ff 00 00 02 00\n"
        "+0 H < - c1 STATUS GOOD\n";
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    char dir[256], pcap[400];
    proc_tmpdir(dir, sizeof dir, "masks");
    snprintf(pcap, sizeof pcap, "%s/m.pcap", dir);
    char why[1200];
    size_t len = 0;
    char *buf = ct_export_import(t, pcap, &len, why, sizeof why);
    ck_assert_msg(buf != NULL, "%s", why);
    /* the serial and the designator are "??"; headers, lengths and the capacity exact */
    ck_assert_msg(strstr(buf, "DIN 00 80 00 08 ??*8\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "DIN 00 83 00 0c 01 03 00 08 ??*8\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "DIN 00 00 ff ff 00 00 02 00\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "data-in bytes 4..11 (VPD 80h unit serial number) written as ?? on purpose"), "%s",
                  buf);
    ck_assert_msg(strstr(buf, "data-in bytes 8..15 (VPD 83h designators"), "%s", buf);
    /* the serial still reaches the simulator through @drive */
    ck_assert_msg(strstr(buf, "serial=\"SERIAL01\""), "%s", buf);
    free(buf);
    trace_free(t);
    proc_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capture_masks");
    TCase *tc = tcase_create("masks");
    tcase_add_test(tc, table);
    tcase_add_test(tc, import_writes_masks);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
