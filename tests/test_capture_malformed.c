/* tests/test_capture_malformed.c — `scsisim import` on captures this test
 * writes itself with libpcap's writer (pcap_open_dead + pcap_dump_open), so
 * no binary fixtures are needed: well-formed iSCSI sessions cut, reordered,
 * retransmitted, gapped and damaged in every way docs/capture.md lists.  Each
 * gives a precise error (file, packet number, byte offset) or an imported
 * trace whose comments name what the capture lost — and every imported trace
 * must parse with the simulator's checks. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "conformance/format/trace.h"
#include "conformance/replay/trace_sim.h"

/* ---- writing captures -------------------------------------------------------------------- */

struct gen {
    pcap_t *dead;
    pcap_dumper_t *d;
    int dlt;
    uint32_t seq[2];     /* next sequence number per direction (0: initiator to target) */
    uint16_t port;       /* the target's port */
    uint64_t usec;
    bool v6;
};

static char dir_path[64];

static const char *path_of(const char *name)
{
    static char p[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir_path, name);
    return p[i];
}

static void gen_open(struct gen *g, const char *name, int dlt, int snaplen)
{
    memset(g, 0, sizeof *g);
    g->dlt = dlt;
    g->port = 3260;
    g->seq[0] = 1000;
    g->seq[1] = 0xfffff000u; /* wraps during the session */
    g->dead = pcap_open_dead(dlt, snaplen);
    ck_assert_ptr_nonnull(g->dead);
    g->d = pcap_dump_open(g->dead, path_of(name));
    ck_assert_msg(g->d != NULL, "%s", pcap_geterr(g->dead));
}

static void gen_close(struct gen *g)
{
    pcap_dump_close(g->d);
    pcap_close(g->dead);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One TCP segment at sequence `seq` of direction dir; caplen < len cuts it. */
static void gen_raw(struct gen *g, int dir, uint32_t seq, uint8_t flags, const uint8_t *data, uint32_t len,
                    uint32_t caplen)
{
    static uint8_t pkt[70000];
    uint32_t off = 0;
    if (g->dlt == DLT_EN10MB) {
        memset(pkt, 0, 12);
        put16(pkt + 12, g->v6 ? 0x86dd : 0x0800);
        off = 14;
    } else if (g->dlt == DLT_LINUX_SLL) {
        memset(pkt, 0, 16);
        put16(pkt + 14, g->v6 ? 0x86dd : 0x0800);
        off = 16;
    } else if (g->dlt == DLT_NULL) {
        uint32_t fam = g->v6 ? 10 : 2;
        memcpy(pkt, &fam, 4);
        off = 4;
    }
    uint16_t ports[2] = { 40000, g->port };
    uint8_t *ip = pkt + off;
    uint32_t iphl;
    if (g->v6) {
        memset(ip, 0, 40);
        ip[0] = 0x60;
        put16(ip + 4, 20 + len);
        ip[6] = 6;
        ip[7] = 64;
        ip[23] = (uint8_t)(1 + dir);
        ip[39] = (uint8_t)(2 - dir);
        iphl = 40;
    } else {
        memset(ip, 0, 20);
        ip[0] = 0x45;
        put16(ip + 2, 20 + 20 + len);
        ip[8] = 64;
        ip[9] = 6;
        uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
        memcpy(ip + 12, dir ? b : a, 4);
        memcpy(ip + 16, dir ? a : b, 4);
        iphl = 20;
    }
    uint8_t *t = ip + iphl;
    memset(t, 0, 20);
    put16(t, ports[dir]);
    put16(t + 2, ports[!dir]);
    put32(t + 4, seq);
    t[12] = 5 << 4;
    t[13] = flags;
    if (len)
        memcpy(t + 20, data, len);
    uint32_t total = off + iphl + 20 + len;
    struct pcap_pkthdr h = { .caplen = total - (len - caplen), .len = total };
    h.ts.tv_sec = 1700000000 + (time_t)(g->usec / 1000000);
    h.ts.tv_usec = (suseconds_t)(g->usec % 1000000);
    g->usec += 100;
    pcap_dump((u_char *)g->d, &h, pkt);
}

/* The next segment of direction dir (sequence advances). */
static void gen_seg(struct gen *g, int dir, const uint8_t *data, uint32_t len)
{
    gen_raw(g, dir, g->seq[dir], 0x18, data, len, len);
    g->seq[dir] += len;
}

static void gen_syn(struct gen *g)
{
    gen_raw(g, 0, g->seq[0]++, 0x02, NULL, 0, 0);
    gen_raw(g, 1, g->seq[1]++, 0x12, NULL, 0, 0);
}

/* ---- iSCSI PDUs -------------------------------------------------------------------------- */

struct pdu {
    uint8_t b[48 + 4 + 70000];
    uint32_t len;
};

static void pdu_init(struct pdu *p, uint8_t op, const void *data, uint32_t dlen)
{
    memset(p->b, 0, 48);
    p->b[0] = op;
    p->b[5] = (uint8_t)(dlen >> 16);
    p->b[6] = (uint8_t)(dlen >> 8);
    p->b[7] = (uint8_t)dlen;
    if (dlen)
        memcpy(p->b + 48, data, dlen);
    uint32_t pad = (4 - dlen % 4) % 4;
    memset(p->b + 48 + dlen, 0, pad);
    p->len = 48 + dlen + pad;
}

static const char login_req_text[] = "InitiatorName=iqn.2025-01.test:ini\0TargetName=iqn.2025-01.test:tgt\0"
                                     "SessionType=Normal\0";

static void pdu_login(struct pdu *p, int dir, const char *text, uint32_t tlen)
{
    pdu_init(p, dir ? 0x23 : 0x43, text, tlen);
    p->b[1] = 0x80 | (1 << 2) | 3; /* T, CSG 1 -> NSG 3 */
    uint8_t isid[6] = { 0x80, 1, 2, 3, 0, 0 };
    memcpy(p->b + 8, isid, 6);
}

static void pdu_cmd(struct pdu *p, uint32_t itt, const uint8_t *cdb, size_t cdb_len, uint32_t edtl, uint8_t rw,
                    const void *imm, uint32_t imm_len)
{
    pdu_init(p, 0x01, imm, imm_len);
    p->b[1] = 0x80 | rw;
    put32(p->b + 16, itt);
    put32(p->b + 20, edtl);
    memcpy(p->b + 32, cdb, cdb_len);
}

static void pdu_din(struct pdu *p, uint32_t itt, uint32_t offset, const void *data, uint32_t len, bool status,
                    uint32_t residual)
{
    pdu_init(p, 0x25, data, len);
    p->b[1] = 0x80 | (status ? 0x01 : 0) | (residual ? 0x02 : 0);
    put32(p->b + 16, itt);
    put32(p->b + 40, offset);
    put32(p->b + 44, residual);
}

static void pdu_dout(struct pdu *p, uint32_t itt, uint32_t offset, const void *data, uint32_t len, bool final)
{
    pdu_init(p, 0x05, data, len);
    p->b[1] = final ? 0x80 : 0;
    put32(p->b + 16, itt);
    put32(p->b + 40, offset);
}

static void pdu_resp(struct pdu *p, uint32_t itt, uint8_t status, const uint8_t *sense, uint32_t sense_len)
{
    uint8_t d[300];
    put16(d, sense_len);
    if (sense_len)
        memcpy(d + 2, sense, sense_len);
    pdu_init(p, 0x21, d, sense_len ? sense_len + 2 : 0);
    p->b[1] = 0x80;
    p->b[3] = status;
    put32(p->b + 16, itt);
}

static void send_pdu(struct gen *g, int dir, const struct pdu *p)
{
    gen_seg(g, dir, p->b, p->len);
}

static const uint8_t inquiry_cdb[6] = { 0x12, 0, 0, 0, 36, 0 };

static void inquiry_data(uint8_t d[36])
{
    memset(d, 0, 36);
    d[2] = 6;
    d[3] = 2;
    d[4] = 31;
    memcpy(d + 8, "ACME    ", 8);
    memcpy(d + 16, "Capture Disk    ", 16);
    memcpy(d + 32, "7.10", 4);
}

/* A login on a fresh connection. */
static void session_start(struct gen *g)
{
    struct pdu p;
    gen_syn(g);
    pdu_login(&p, 0, login_req_text, sizeof login_req_text);
    send_pdu(g, 0, &p);
    pdu_login(&p, 1, "", 0);
    send_pdu(g, 1, &p);
}

/* INQUIRY with ITT itt, answered with status in the Data-In. */
static void inquiry(struct gen *g, uint32_t itt)
{
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    pdu_cmd(&p, itt, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(g, 0, &p);
    pdu_din(&p, itt, 0, d, 36, true, 0);
    send_pdu(g, 1, &p);
}

/* ---- importing --------------------------------------------------------------------------- */

struct result {
    int rc;
    struct located_error err;
    struct capture_stats st;
    char *text;
};

static void import_opt(struct result *r, const char *name, const struct capture_options *opt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    const char *files[1] = { path_of(name) };
    r->rc = capture_import(files, 1, opt, out, &r->st, &r->err);
    fclose(out);
    r->text = buf;
    if (r->rc == 0) {
        struct trace *t = NULL;
        struct located_error e;
        int prc = trace_parse_buffer(name, buf, len, &t, &e);
        char msg[1024];
        located_format(&e, msg, sizeof msg);
        ck_assert_msg(prc == 0, "the imported trace does not parse: %s\n%s", msg, buf);
        trace_free(t);
    }
}

static void import(struct result *r, const char *name)
{
    import_opt(r, name, NULL);
}

static void expect_ok(struct result *r, const char *want)
{
    ck_assert_msg(r->rc == 0, "import failed (%d): %s", r->rc, r->err.message);
    ck_assert_msg(!want || strstr(r->text, want), "expected '%s' in:\n%s", want, r->text);
}

static void expect_error(struct result *r, const char *want, uint64_t offset)
{
    ck_assert_msg(r->rc == -EINVAL, "expected an error, got %d:\n%s", r->rc, r->text);
    ck_assert_msg(strstr(r->err.message, want), "expected '%s' in the error '%s'", want, r->err.message);
    ck_assert_msg(strstr(r->err.file, dir_path), "the error names no file: '%s'", r->err.file);
    ck_assert_msg(r->err.offset == offset, "offset %llu, expected %llu", (unsigned long long)r->err.offset,
                  (unsigned long long)offset);
}

static void result_free(struct result *r)
{
    free(r->text);
}

static void write_file(const char *name, const void *data, size_t len)
{
    FILE *f = fopen(path_of(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void setup(void)
{
    snprintf(dir_path, sizeof dir_path, "/tmp/scsisim-capture-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir_path));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_path);
    ck_assert_int_eq(system(cmd), 0);
}


/* ---- files that are not captures ---------------------------------------------------------- */

START_TEST(text_file_is_not_a_capture)
{
    write_file("x.pcap", "hello, this is not a capture\n", 29);
    struct result r;
    import(&r, "x.pcap");
    expect_error(&r, "not a pcap or pcapng capture at byte offset 0", 0);
    result_free(&r);
}
END_TEST

START_TEST(empty_file_is_not_a_capture)
{
    write_file("x.pcap", "", 0);
    struct result r;
    import(&r, "x.pcap");
    expect_error(&r, "not a pcap or pcapng capture", 0);
    result_free(&r);
}
END_TEST

START_TEST(wrong_magic_number)
{
    uint8_t h[24] = { 0xde, 0xad, 0xbe, 0xef, 2, 0, 4, 0 };
    write_file("x.pcap", h, sizeof h);
    struct result r;
    import(&r, "x.pcap");
    expect_error(&r, "not a pcap or pcapng capture", 0);
    result_free(&r);
}
END_TEST

START_TEST(global_header_cut_short)
{
    uint8_t h[10] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 };
    write_file("x.pcap", h, sizeof h);
    struct result r;
    import(&r, "x.pcap");
    expect_error(&r, "not a pcap or pcapng capture", 0);
    result_free(&r);
}
END_TEST

START_TEST(missing_file)
{
    struct result r;
    import(&r, "nonexistent.pcap");
    expect_error(&r, "cannot open it", 0);
    result_free(&r);
}
END_TEST

START_TEST(unknown_link_type)
{
    struct gen g;
    gen_open(&g, "x.pcap", 147 /* DLT_USER0 */, 65535);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_error(&r, "unknown link type 147", 0);
    ck_assert(strstr(r.err.message, "packet 1"));
    result_free(&r);
}
END_TEST

/* usbmon captures are read (tests/test_capture_usb.c); an empty one is an empty trace. */
START_TEST(empty_usbmon_capture_is_an_empty_trace)
{
    struct gen g;
    gen_open(&g, "x.pcap", 220 /* LINKTYPE_USB_LINUX_MMAPPED */, 65535);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "# 0 packets, 0 iSCSI connections, 0 I_T nexuses, 0 commands");
    ck_assert_uint_eq(r.st.commands, 0);
    result_free(&r);
}
END_TEST

START_TEST(damaged_packet_record)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    gen_close(&g);
    FILE *f = fopen(path_of("x.pcap"), "ab");
    ck_assert_ptr_nonnull(f);
    long size = ftell(f);
    uint8_t rec[16] = { 0 };
    rec[8] = rec[9] = rec[10] = 0xff; /* caplen 16 MiB, far beyond the snap length */
    rec[11] = 0x00;
    fwrite(rec, 1, sizeof rec, f);
    fclose(f);
    struct result r;
    import(&r, "x.pcap");
    expect_error(&r, "damaged packet record at packet 5", (uint64_t)size);
    char want[64];
    snprintf(want, sizeof want, "packet 5 (byte offset %ld)", size);
    ck_assert_msg(strstr(r.err.message, want), "%s", r.err.message);
    result_free(&r);
}
END_TEST

/* ---- captures that are imported with what they lost ----------------------------------------- */

START_TEST(file_cut_inside_the_last_packet)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    inquiry(&g, 1);
    gen_close(&g);
    FILE *f = fopen(path_of("x.pcap"), "rb+");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(path_of("x.pcap"), size - 20), 0);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "ends inside packet 6");
    ck_assert_msg(strstr(r.text, "STATUS UNKNOWN"), "%s", r.text);
    ck_assert_uint_eq(r.st.incomplete, 1);
    result_free(&r);
}
END_TEST

START_TEST(zero_length_packets)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    struct pcap_pkthdr h = { .caplen = 0, .len = 0 };
    pcap_dump((u_char *)g.d, &h, (const u_char *)"");
    session_start(&g);
    pcap_dump((u_char *)g.d, &h, (const u_char *)"");
    inquiry(&g, 1);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "packet 1 (file offset 24): no bytes captured; ignored");
    ck_assert_msg(strstr(r.text, "STATUS GOOD"), "%s", r.text);
    result_free(&r);
}
END_TEST

START_TEST(clean_session_and_inference)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    inquiry(&g, 1);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "@drive 0:0 vendor=\"ACME\" product=\"Capture Disk\" revision=\"7.10\"");
    ck_assert(strstr(r.text, "CMD 12 00 00 00 24 00 len=36 dir=in"));
    ck_assert(strstr(r.text, "initiator iqn.2025-01.test:ini ISID 800102030000, target iqn.2025-01.test:tgt"));
    ck_assert(strstr(r.text, "Login Request"));
    ck_assert_uint_eq(r.st.commands, 1);
    ck_assert_uint_eq(r.st.notes, 0);
    result_free(&r);
}
END_TEST

START_TEST(no_infer_keeps_defaults)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    inquiry(&g, 1);
    gen_close(&g);
    struct result r;
    struct capture_options o = { .no_infer = true };
    import_opt(&r, "x.pcap", &o);
    expect_ok(&r, "@drive 0:0\n");
    ck_assert(!strstr(r.text, "vendor="));
    result_free(&r);
}
END_TEST

/* The same session written three ways must import to the same records. */
static void reference(struct result *r)
{
    struct gen g;
    gen_open(&g, "ref.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    inquiry(&g, 1);
    inquiry(&g, 2);
    gen_close(&g);
    import(r, "ref.pcap");
    expect_ok(r, NULL);
}

START_TEST(pdus_split_across_segments)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    for (uint32_t itt = 1; itt <= 2; itt++) {
        pdu_cmd(&p, itt, inquiry_cdb, 6, 36, 0x40, NULL, 0);
        for (uint32_t i = 0; i < p.len; i += 7)
            gen_seg(&g, 0, p.b + i, p.len - i < 7 ? p.len - i : 7);
        pdu_din(&p, itt, 0, d, 36, true, 0);
        for (uint32_t i = 0; i < p.len; i++)
            gen_seg(&g, 1, p.b + i, 1);
    }
    gen_close(&g);
    struct result r, ref;
    import(&r, "x.pcap");
    expect_ok(&r, NULL);
    reference(&ref);
    ck_assert_uint_eq(r.st.commands, 2);
    ck_assert_uint_eq(r.st.notes, 0);
    ck_assert(strstr(r.text, "c1.2 DIN 000006021f"));
    ck_assert(strstr(ref.text, "c1.2 DIN 000006021f"));
    result_free(&r);
    result_free(&ref);
}
END_TEST

START_TEST(several_pdus_in_one_segment)
{
    struct gen g;
    struct pdu a, b;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&a, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    pdu_cmd(&b, 2, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    uint8_t both[200];
    memcpy(both, a.b, a.len);
    memcpy(both + a.len, b.b, b.len);
    gen_seg(&g, 0, both, a.len + b.len);
    pdu_din(&a, 1, 0, d, 36, true, 0);
    pdu_din(&b, 2, 0, d, 36, true, 0);
    memcpy(both, a.b, a.len);
    memcpy(both + a.len, b.b, b.len);
    gen_seg(&g, 1, both, a.len + b.len);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.2 STATUS GOOD");
    ck_assert_uint_eq(r.st.commands, 2);
    result_free(&r);
}
END_TEST

START_TEST(out_of_order_segments)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    for (uint32_t itt = 1; itt <= 2; itt++) {
        pdu_cmd(&p, itt, inquiry_cdb, 6, 36, 0x40, NULL, 0);
        send_pdu(&g, 0, &p);
        pdu_din(&p, itt, 0, d, 36, true, 0);
        /* second half first */
        uint32_t s = g.seq[1], half = p.len / 2;
        gen_raw(&g, 1, s + half, 0x18, p.b + half, p.len - half, p.len - half);
        gen_raw(&g, 1, s, 0x18, p.b, half, half);
        g.seq[1] += p.len;
    }
    gen_close(&g);
    struct result r, ref;
    import(&r, "x.pcap");
    reference(&ref);
    expect_ok(&r, NULL);
    ck_assert_uint_eq(r.st.commands, 2);
    ck_assert_uint_eq(r.st.notes, 0);
    /* the records agree with the in-order capture's, times aside */
    ck_assert(strstr(r.text, "c1.2 DIN 000006021f"));
    ck_assert(strstr(ref.text, "c1.2 DIN 000006021f"));
    result_free(&r);
    result_free(&ref);
}
END_TEST

START_TEST(retransmission_with_the_same_bytes)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    gen_raw(&g, 0, g.seq[0] - p.len, 0x18, p.b, p.len, p.len); /* again */
    uint8_t d[36];
    inquiry_data(d);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    send_pdu(&g, 1, &p);
    gen_raw(&g, 1, g.seq[1] - p.len + 10, 0x18, p.b + 10, p.len - 10, p.len - 10); /* a partial overlap */
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1 STATUS GOOD");
    ck_assert_uint_eq(r.st.commands, 1);
    ck_assert_uint_eq(r.st.notes, 0);
    result_free(&r);
}
END_TEST

START_TEST(overlapping_retransmission_with_different_bytes)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    uint32_t s = g.seq[1];
    gen_seg(&g, 1, p.b, 60);
    p.b[56] ^= 0xff; /* vendor byte, resent different, overlapping the rest */
    gen_raw(&g, 1, s + 50, 0x18, p.b + 50, p.len - 50, p.len - 50);
    g.seq[1] = s + p.len;
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "with different contents than first sent");
    ck_assert(strstr(r.text, "the first copy is kept"));
    ck_assert_msg(strstr(r.text, "vendor=\"ACME\""), "%s", r.text);
    result_free(&r);
}
END_TEST

START_TEST(tcp_gap_inside_data_in)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    uint32_t s = g.seq[1];
    gen_raw(&g, 1, s, 0x18, p.b, 60, 60);
    /* bytes 60..69 never captured */
    gen_raw(&g, 1, s + 70, 0x18, p.b + 70, p.len - 70, p.len - 70);
    g.seq[1] = s + p.len;
    inquiry(&g, 2);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "a TCP gap of 10 bytes before packet 7");
    ck_assert_msg(strstr(r.text, "data-in bytes 12..21 were not in the capture"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "??*10"), "%s", r.text);
    ck_assert_uint_eq(r.st.uncaptured, 1);
    ck_assert_uint_eq(r.st.commands, 2);
    result_free(&r);
}
END_TEST

START_TEST(tcp_gap_in_a_header_resynchronises)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    g.seq[1] += 20; /* the first 20 bytes of the Data-In's header are lost */
    gen_seg(&g, 1, p.b + 20, p.len - 20);
    inquiry(&g, 2);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "the next PDU header is looked for");
    ck_assert_msg(strstr(r.text, "c1.2 STATUS GOOD"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "c1.1 STATUS UNKNOWN"), "%s", r.text);
    result_free(&r);
}
END_TEST

START_TEST(snap_length_cuts_data)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 128);
    session_start(&g);
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    /* 14 + 20 + 20 header bytes + 74 payload = 128 captured of 138 */
    gen_raw(&g, 1, g.seq[1], 0x18, p.b, p.len, 74);
    g.seq[1] += p.len;
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "cut by the snap length");
    ck_assert_msg(strstr(r.text, "data-in bytes 26..35 were not in the capture"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "c1.1 STATUS GOOD"), "%s", r.text);
    result_free(&r);
}
END_TEST

START_TEST(capture_ends_before_the_response)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    inquiry(&g, 1);
    pdu_cmd(&p, 2, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.2: no response observed for the command in packet 7");
    ck_assert(strstr(r.text, "c1.2 STATUS UNKNOWN"));
    ck_assert_uint_eq(r.st.incomplete, 1);
    result_free(&r);
}
END_TEST

START_TEST(data_segment_runs_past_the_stream)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    p.b[7] = 200; /* DataSegmentLength 200: more than the stream holds */
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "the capture ends inside the PDU that starts in packet 6");
    ck_assert(strstr(r.text, "c1.1 STATUS UNKNOWN"));
    result_free(&r);
}
END_TEST

START_TEST(data_in_for_an_unknown_task)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_din(&p, 0x77, 0, d, 36, true, 0);
    send_pdu(&g, 1, &p);
    pdu_resp(&p, 0x78, 0, NULL, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "Data-In for ITT 0x00000077, whose SCSI Command is not in the capture; ignored");
    ck_assert(strstr(r.text, "SCSI Response for ITT 0x00000078"));
    result_free(&r);
}
END_TEST

START_TEST(check_condition_with_sense)
{
    struct gen g;
    struct pdu p;
    static const uint8_t cdb[10] = { 0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0 };
    static const uint8_t sense[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x00 };
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, cdb, 10, 512, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_resp(&p, 1, 2, sense, 18);
    p.b[1] |= 0x02;
    put32(p.b + 44, 512);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1 STATUS CHECK ILLEGAL_REQUEST/0x21/0x00 resid=512");
    result_free(&r);
}
END_TEST

START_TEST(write_with_r2t_in_pieces)
{
    struct gen g;
    struct pdu p;
    static uint8_t data[8192];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    static const uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 16, 0 };
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, cdb, 10, 8192, 0x20, data, 1024); /* immediate data */
    send_pdu(&g, 0, &p);
    pdu_init(&p, 0x31, NULL, 0); /* R2T */
    p.b[1] = 0x80;
    put32(p.b + 16, 1);
    send_pdu(&g, 1, &p);
    pdu_dout(&p, 1, 1024, data + 1024, 4096, false);
    send_pdu(&g, 0, &p);
    pdu_dout(&p, 1, 5120, data + 5120, 3072, true);
    send_pdu(&g, 0, &p);
    pdu_resp(&p, 1, 0, NULL, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "CMD 2a 00 00 00 00 00 00 00 10 00 len=8192 dir=out");
    ck_assert(strstr(r.text, "c1.1 DOUT offset=0 "));
    ck_assert(strstr(r.text, "c1.1 DOUT offset=4096 "));
    ck_assert_uint_eq(r.st.uncaptured, 0);
    result_free(&r);
}
END_TEST

START_TEST(write_with_data_out_lost)
{
    struct gen g;
    struct pdu p;
    static uint8_t data[2048];
    memset(data, 0x5a, sizeof data);
    static const uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 4, 0 };
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, cdb, 10, 2048, 0x20, data, 1024);
    send_pdu(&g, 0, &p);
    pdu_dout(&p, 1, 1024, data + 1024, 1024, true);
    g.seq[0] += p.len; /* lost */
    pdu_resp(&p, 1, 0, NULL, 0);
    send_pdu(&g, 1, &p);
    inquiry(&g, 2);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "data-out bytes 1024..2047 were not in the capture");
    ck_assert(strstr(r.text, "written as zeros"));
    ck_assert(strstr(r.text, "DOUT 5a*1024 00*1024"));
    result_free(&r);
}
END_TEST

START_TEST(long_read_in_pieces)
{
    struct gen g;
    struct pdu p;
    static uint8_t data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    static const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 20, 0 };
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, cdb, 10, 10240, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_din(&p, 1, 0, data, 8192, false, 0);
    send_pdu(&g, 1, &p);
    pdu_din(&p, 1, 8192, data + 8192, 1808, true, 240);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1 DIN offset=8192 ");
    ck_assert(strstr(r.text, "c1.1 STATUS GOOD resid=240"));
    result_free(&r);
}
END_TEST

START_TEST(abort_task_of_an_outstanding_command)
{
    struct gen g;
    struct pdu p;
    static const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 5, cdb, 10, 512, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_init(&p, 0x02, NULL, 0);
    p.b[1] = 0x80 | 1;
    put32(p.b + 16, 6);
    put32(p.b + 20, 5);
    send_pdu(&g, 0, &p);
    pdu_init(&p, 0x22, NULL, 0);
    p.b[1] = 0x80;
    put32(p.b + 16, 6);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.6 TMF abort-task c1.5");
    ck_assert(strstr(r.text, "c1.6 TMF function-complete"));
    ck_assert(!strstr(r.text, "c1.5 STATUS"));
    ck_assert_uint_eq(r.st.tmfs, 1);
    result_free(&r);
}
END_TEST

START_TEST(lun_reset)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    inquiry(&g, 1);
    pdu_init(&p, 0x02, NULL, 0);
    p.b[1] = 0x80 | 5;
    put32(p.b + 16, 9);
    put32(p.b + 20, 0xffffffffu);
    send_pdu(&g, 0, &p);
    pdu_init(&p, 0x22, NULL, 0);
    p.b[1] = 0x80;
    put32(p.b + 16, 9);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.9 TMF lun-reset");
    result_free(&r);
}
END_TEST

START_TEST(tmf_without_response)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_init(&p, 0x02, NULL, 0);
    p.b[1] = 0x80 | 5;
    put32(p.b + 16, 9);
    send_pdu(&g, 0, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "task management function 5 from packet 5 has no response in the capture");
    result_free(&r);
}
END_TEST

START_TEST(nops_and_logout_are_comments)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_init(&p, 0x40, NULL, 0);
    p.b[1] = 0x80;
    send_pdu(&g, 0, &p);
    pdu_init(&p, 0x20, NULL, 0);
    p.b[1] = 0x80;
    put32(p.b + 16, 0xffffffffu);
    send_pdu(&g, 1, &p);
    pdu_init(&p, 0x46, NULL, 0);
    p.b[1] = 0x80;
    send_pdu(&g, 0, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "NOP-Out");
    ck_assert(strstr(r.text, "NOP-In"));
    ck_assert(strstr(r.text, "Logout Request"));
    result_free(&r);
}
END_TEST

START_TEST(other_tcp_traffic_is_ignored)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    g.port = 80;
    gen_syn(&g);
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789012345678901234567890123456789";
    gen_seg(&g, 0, (const uint8_t *)http, sizeof http - 1);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, NULL);
    ck_assert_uint_eq(r.st.connections, 0);
    ck_assert_uint_eq(r.st.commands, 0);
    result_free(&r);
}
END_TEST

START_TEST(another_port_by_option_and_by_shape)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    g.port = 3299;
    session_start(&g);
    inquiry(&g, 1);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap"); /* by the shape of the login request */
    expect_ok(&r, "c1.1 STATUS GOOD");
    result_free(&r);
    struct capture_options o = { .port = 3299 };
    import_opt(&r, "x.pcap", &o);
    expect_ok(&r, "c1.1 STATUS GOOD");
    result_free(&r);
}
END_TEST

START_TEST(header_digests)
{
    struct gen g;
    struct pdu p;
    static const char resp[] = "HeaderDigest=CRC32C\0DataDigest=None\0";
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    gen_syn(&g);
    pdu_login(&p, 0, login_req_text, sizeof login_req_text);
    send_pdu(&g, 0, &p);
    pdu_login(&p, 1, resp, sizeof resp);
    send_pdu(&g, 1, &p);
    /* each header followed by a 4-byte digest (its value is not checked) */
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    uint8_t buf[200];
    memcpy(buf, p.b, 48);
    memset(buf + 48, 0xab, 4);
    gen_seg(&g, 0, buf, 52);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    memcpy(buf, p.b, 48);
    memset(buf + 48, 0xcd, 4);
    memcpy(buf + 52, p.b + 48, 36);
    gen_seg(&g, 1, buf, 88);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "header digest CRC32C");
    ck_assert_msg(strstr(r.text, "c1.1 STATUS GOOD"), "%s", r.text);
    ck_assert_uint_eq(r.st.notes, 0);
    result_free(&r);
}
END_TEST

START_TEST(ipv6_over_linux_cooked)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_LINUX_SLL, 65535);
    g.v6 = true;
    session_start(&g);
    inquiry(&g, 1);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1 STATUS GOOD");
    ck_assert(strstr(r.text, "at [0:0:0:0:0:0:0:2]:3260"));
    result_free(&r);
}
END_TEST

START_TEST(bsd_loopback)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_NULL, 65535);
    session_start(&g);
    inquiry(&g, 1);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1 STATUS GOOD");
    result_free(&r);
}
END_TEST

START_TEST(capture_starts_inside_a_pdu)
{
    struct gen g;
    struct pdu p;
    uint8_t d[36];
    inquiry_data(d);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    /* no SYN, no login: the first bytes are the tail of some PDU */
    static const uint8_t tail[13] = { 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3 };
    pdu_cmd(&p, 1, inquiry_cdb, 6, 36, 0x40, NULL, 0);
    uint8_t buf[100];
    memcpy(buf, tail, 13);
    memcpy(buf + 13, p.b, p.len);
    gen_seg(&g, 0, buf, 13 + p.len);
    pdu_din(&p, 1, 0, d, 36, true, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "13 byte(s) skipped to the next PDU header, in packet 1");
    ck_assert(strstr(r.text, "login not in the capture"));
    ck_assert(strstr(r.text, "c1.1 STATUS GOOD"));
    result_free(&r);
}
END_TEST

START_TEST(ip_fragment_is_reported)
{
    struct gen g;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    gen_close(&g);
    /* rewrite: a fragment by hand */
    struct gen g2;
    gen_open(&g2, "y.pcap", DLT_EN10MB, 65535);
    uint8_t pkt[60] = { 0 };
    put16(pkt + 12, 0x0800);
    pkt[14] = 0x45;
    put16(pkt + 16, 40);
    pkt[20] = 0x20; /* MF */
    pkt[23] = 6;
    struct pcap_pkthdr h = { .caplen = 54, .len = 54 };
    pcap_dump((u_char *)g2.d, &h, pkt);
    gen_close(&g2);
    struct result r;
    import(&r, "y.pcap");
    expect_ok(&r, "IPv4 fragment (fragments are not reassembled)");
    result_free(&r);
}
END_TEST

START_TEST(bidirectional_command_is_a_comment)
{
    struct gen g;
    struct pdu p;
    static const uint8_t cdb[10] = { 0x53, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    pdu_cmd(&p, 1, cdb, 10, 512, 0x60, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_resp(&p, 1, 0, NULL, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "is bidirectional, which a trace cannot hold; not written");
    result_free(&r);
}
END_TEST

START_TEST(garbage_on_the_iscsi_port)
{
    struct gen g;
    uint8_t junk[500];
    memset(junk, 0xff, sizeof junk);
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    gen_syn(&g);
    gen_seg(&g, 0, junk, sizeof junk);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "are not an iSCSI header (opcode 0x3f)");
    ck_assert_uint_eq(r.st.commands, 0);
    result_free(&r);
}
END_TEST

/* Found by tests/fuzz/fuzz_import.c: LUN 15516 made "@controller max-luns=15517",
 * which the simulator refuses (LUNs 0..255): the trace did not parse. */
START_TEST(lun_beyond_the_simulator_has_no_drive_line)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    const uint8_t tur[6] = { 0 };
    pdu_cmd(&p, 1, tur, 6, 0, 0, NULL, 0);
    p.b[8] = 0x40 | (15516 >> 8); /* flat space LUN 15516 */
    p.b[9] = 15516 & 0xff;
    send_pdu(&g, 0, &p);
    pdu_resp(&p, 1, 0, NULL, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "drive 0:15516: the simulator has targets 0..255 and LUNs 0..255: no @drive line");
    ck_assert_msg(!strstr(r.text, "max-luns"), "%s", r.text);
    ck_assert_msg(strstr(r.text, "0:0:0:15516 c1.1 STATUS GOOD"), "%s", r.text);
    result_free(&r);
}
END_TEST

/* A Data-In at an offset near 4 GiB of a command that claims 4 GiB: the
 * importer keeps what fits its budget of data in flight (256 MiB), not what
 * the header claims; the rest is written as not captured. */
START_TEST(data_in_at_a_huge_offset)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    static const uint8_t cdb[16] = { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0 };
    pdu_cmd(&p, 1, cdb, 16, 0xfffffff0u, 0x40, NULL, 0);
    send_pdu(&g, 0, &p);
    uint8_t d[16];
    memset(d, 0x44, sizeof d);
    pdu_din(&p, 1, 0, d, 16, false, 0);
    send_pdu(&g, 1, &p);
    pdu_din(&p, 1, 0xffffffe0u, d, 16, true, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1 DIN 44*16 ??*4294967264\n");
    ck_assert_msg(strstr(r.text, "or past the importer's budget of data in flight"), "%s", r.text);
    ck_assert_msg(strlen(r.text) < 8192, "%zu bytes of trace", strlen(r.text));
    result_free(&r);
}
END_TEST

/* Found by tests/fuzz/fuzz_import.c: status byte 03h (reserved) was
 * printed as "STATUS ?", a trace no parser reads. */
START_TEST(reserved_status_byte_is_status_unknown)
{
    struct gen g;
    struct pdu p;
    gen_open(&g, "x.pcap", DLT_EN10MB, 65535);
    session_start(&g);
    const uint8_t tur[6] = { 0 };
    pdu_cmd(&p, 1, tur, 6, 0, 0, NULL, 0);
    send_pdu(&g, 0, &p);
    pdu_resp(&p, 1, 0x03, NULL, 0);
    send_pdu(&g, 1, &p);
    gen_close(&g);
    struct result r;
    import(&r, "x.pcap");
    expect_ok(&r, "c1.1: status byte 0x03 in packet 6 is no SCSI status a trace can hold: STATUS UNKNOWN");
    ck_assert_msg(strstr(r.text, "c1.1 STATUS UNKNOWN\n"), "%s", r.text);
    result_free(&r);
}
END_TEST

START_TEST(status_unknown_round_trips_and_matches_anything)
{
    static const char text[] = "#!scsitrace 1\n+0.000 H > - t1 CMD 00 00 00 00 00 00\n+0.001 H < - t1 STATUS UNKNOWN\n";
    struct trace *t = NULL;
    struct located_error e;
    ck_assert_int_eq(trace_parse_buffer("u.trace", text, sizeof text - 1, &t, &e), 0);
    char *out;
    size_t len;
    ck_assert_int_eq(trace_print_string(t, &out, &len), 0);
    ck_assert_str_eq(out, text);
    free(out);
    trace_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("capture_malformed");
    TCase *tc = tcase_create("import");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, text_file_is_not_a_capture);
    tcase_add_test(tc, empty_file_is_not_a_capture);
    tcase_add_test(tc, wrong_magic_number);
    tcase_add_test(tc, global_header_cut_short);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, unknown_link_type);
    tcase_add_test(tc, empty_usbmon_capture_is_an_empty_trace);
    tcase_add_test(tc, damaged_packet_record);
    tcase_add_test(tc, file_cut_inside_the_last_packet);
    tcase_add_test(tc, zero_length_packets);
    tcase_add_test(tc, clean_session_and_inference);
    tcase_add_test(tc, no_infer_keeps_defaults);
    tcase_add_test(tc, pdus_split_across_segments);
    tcase_add_test(tc, several_pdus_in_one_segment);
    tcase_add_test(tc, out_of_order_segments);
    tcase_add_test(tc, retransmission_with_the_same_bytes);
    tcase_add_test(tc, overlapping_retransmission_with_different_bytes);
    tcase_add_test(tc, tcp_gap_inside_data_in);
    tcase_add_test(tc, tcp_gap_in_a_header_resynchronises);
    tcase_add_test(tc, snap_length_cuts_data);
    tcase_add_test(tc, capture_ends_before_the_response);
    tcase_add_test(tc, data_segment_runs_past_the_stream);
    tcase_add_test(tc, data_in_for_an_unknown_task);
    tcase_add_test(tc, check_condition_with_sense);
    tcase_add_test(tc, write_with_r2t_in_pieces);
    tcase_add_test(tc, write_with_data_out_lost);
    tcase_add_test(tc, long_read_in_pieces);
    tcase_add_test(tc, abort_task_of_an_outstanding_command);
    tcase_add_test(tc, lun_reset);
    tcase_add_test(tc, tmf_without_response);
    tcase_add_test(tc, nops_and_logout_are_comments);
    tcase_add_test(tc, other_tcp_traffic_is_ignored);
    tcase_add_test(tc, another_port_by_option_and_by_shape);
    tcase_add_test(tc, header_digests);
    tcase_add_test(tc, ipv6_over_linux_cooked);
    tcase_add_test(tc, bsd_loopback);
    tcase_add_test(tc, capture_starts_inside_a_pdu);
    tcase_add_test(tc, ip_fragment_is_reported);
    tcase_add_test(tc, bidirectional_command_is_a_comment);
    tcase_add_test(tc, garbage_on_the_iscsi_port);
    tcase_add_test(tc, status_unknown_round_trips_and_matches_anything);
    tcase_add_test(tc, lun_beyond_the_simulator_has_no_drive_line);
    tcase_add_test(tc, data_in_at_a_huge_offset);
    tcase_add_test(tc, reserved_status_byte_is_status_unknown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
