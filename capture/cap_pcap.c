/* capture/cap_pcap.c — capture_import: reading the files through libpcap and
 * taking each packet's link, IP and TCP headers apart (see capture.h). */
#include "capture/cap_priv.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>

/* Link types whose packets we can reach IP in. */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_USB_DARWIN
#define DLT_USB_DARWIN 266
#endif

static bool link_known(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB: case DLT_NULL: case DLT_LOOP: case DLT_RAW: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
    case DLT_IPV4: case DLT_IPV6: case DLT_USB_LINUX: case DLT_USB_LINUX_MMAPPED:
        return true;
    default:
        return false;
    }
}

/* Reports a packet we cannot use at most a few times, then counts. */
static void odd_packet(struct cap_ctx *c, const char *what)
{
    static const unsigned max_notes = 20;
    if (c->stats->notes < max_notes)
        cap_note(c, "packet %llu (file offset %llu): %s; ignored", (unsigned long long)c->pkt,
                 (unsigned long long)c->pkt_offset, what);
}

static void tcp(struct cap_ctx *c, int family, const uint8_t *src, const uint8_t *dst, const uint8_t *p,
                uint32_t cap, uint32_t wire)
{
    if (cap < 20) {
        odd_packet(c, wire >= 20 ? "TCP header cut by the snap length" : "TCP header shorter than 20 bytes");
        return;
    }
    uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > wire) {
        odd_packet(c, "TCP data offset outside the segment");
        return;
    }
    if (hl > cap) {
        odd_packet(c, "TCP options cut by the snap length");
        return;
    }
    cap_tcp_segment(c, family, src, dst, cap_be16(p), cap_be16(p + 2), cap_be32(p + 4), p[13], p + hl, cap - hl,
                    wire - hl);
}

static void ipv4(struct cap_ctx *c, const uint8_t *p, uint32_t cap, uint32_t wire)
{
    if (cap < 20 || (p[0] >> 4) != 4) {
        odd_packet(c, cap < 20 ? "IPv4 header cut short" : "not an IPv4 header");
        return;
    }
    uint32_t ihl = (uint32_t)(p[0] & 0xf) * 4, total = cap_be16(p + 2);
    if (ihl < 20 || total < ihl || ihl > cap) {
        odd_packet(c, "IPv4 header length or total length invalid");
        return;
    }
    if (p[9] != 6)
        return; /* not TCP */
    if ((cap_be16(p + 6) & 0x3fff) != 0) {
        odd_packet(c, "IPv4 fragment (fragments are not reassembled)");
        return;
    }
    if (total > wire)
        total = wire;
    uint32_t avail = cap < total ? cap : total; /* Ethernet pads short frames */
    tcp(c, 4, p + 12, p + 16, p + ihl, avail - ihl, total - ihl);
}

static void ipv6(struct cap_ctx *c, const uint8_t *p, uint32_t cap, uint32_t wire)
{
    if (cap < 40 || (p[0] >> 4) != 6) {
        odd_packet(c, cap < 40 ? "IPv6 header cut short" : "not an IPv6 header");
        return;
    }
    uint32_t total = 40u + cap_be16(p + 4), off = 40;
    uint8_t next = p[6];
    if (total > wire)
        total = wire;
    uint32_t avail = cap < total ? cap : total;
    while (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, destination options */
        if (off + 8 > avail) {
            odd_packet(c, "IPv6 extension header cut short");
            return;
        }
        next = p[off];
        off += 8u + (uint32_t)p[off + 1] * 8u;
    }
    if (next == 44) {
        odd_packet(c, "IPv6 fragment (fragments are not reassembled)");
        return;
    }
    if (next != 6 || off > avail)
        return;
    tcp(c, 6, p + 8, p + 24, p + off, avail - off, total - off);
}

/* The network layer by EtherType (or address family for DLT_NULL/LOOP). */
static void network(struct cap_ctx *c, unsigned type, const uint8_t *p, uint32_t cap, uint32_t wire)
{
    if (type == 0x0800)
        ipv4(c, p, cap, wire);
    else if (type == 0x86dd)
        ipv6(c, p, cap, wire);
}

static void packet(struct cap_ctx *c, int dlt, const uint8_t *p, uint32_t cap, uint32_t wire)
{
    if (wire < cap)
        wire = cap;
    switch (dlt) {
    case DLT_USB_LINUX: case DLT_USB_LINUX_MMAPPED:
        cap_usb_packet(c, dlt, p, cap, wire);
        return;
    case DLT_EN10MB: {
        uint32_t off = 12;
        if (cap < 14) {
            odd_packet(c, cap == 0 ? "no bytes captured" : "Ethernet header cut short");
            return;
        }
        unsigned type = cap_be16(p + off);
        while ((type == 0x8100 || type == 0x88a8) && off + 6 <= cap) { /* VLAN tags */
            off += 4;
            type = cap_be16(p + off);
        }
        off += 2;
        if (off > cap)
            return;
        network(c, type, p + off, cap - off, wire - off);
        return;
    }
    case DLT_NULL: case DLT_LOOP: {
        if (cap < 4) {
            odd_packet(c, cap == 0 ? "no bytes captured" : "loopback header cut short");
            return;
        }
        uint32_t fam = dlt == DLT_LOOP ? cap_be32(p) : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                                                             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (dlt == DLT_NULL && fam > 0xffff) /* written by a big-endian host */
            fam = cap_be32(p);
        /* AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 by system. */
        unsigned type = fam == 2 ? 0x0800 : (fam == 10 || fam == 24 || fam == 28 || fam == 30) ? 0x86dd : 0;
        network(c, type, p + 4, cap - 4, wire - 4);
        return;
    }
    case DLT_LINUX_SLL:
        if (cap < 16) {
            odd_packet(c, cap == 0 ? "no bytes captured" : "Linux cooked header cut short");
            return;
        }
        network(c, cap_be16(p + 14), p + 16, cap - 16, wire - 16);
        return;
    case DLT_LINUX_SLL2:
        if (cap < 20) {
            odd_packet(c, cap == 0 ? "no bytes captured" : "Linux cooked (v2) header cut short");
            return;
        }
        network(c, cap_be16(p), p + 20, cap - 20, wire - 20);
        return;
    default: /* DLT_RAW, DLT_IPV4, DLT_IPV6: the packet starts with IP */
        if (cap == 0) {
            odd_packet(c, "no bytes captured");
            return;
        }
        network(c, (p[0] >> 4) == 6 ? 0x86dd : 0x0800, p, cap, wire);
        return;
    }
}

static int fail(struct cap_ctx *c, const char *file, uint64_t offset, const char *fmt, const char *a,
                const char *b)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a, b);
    located_set(c->err, file, 0, 0, offset, "%s", msg);
    return -EINVAL;
}

static int read_file(struct cap_ctx *c, const char *file)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    c->file = file;
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!pc) {
        if (strstr(ebuf, "No such file") || strstr(ebuf, "ermission"))
            return fail(c, file, 0, "cannot open it (%s)%s", ebuf, "");
        return fail(c, file, 0,
                    "not a pcap or pcapng capture at byte offset 0 (libpcap: %s); write captures with "
                    "'tcpdump -w', 'tshark -w' or 'dumpcap -w'%s", ebuf, "");
    }
    int dlt = pcap_datalink(pc);
    if (!link_known(dlt)) {
        char name[160];
        const char *n = pcap_datalink_val_to_name(dlt);
        snprintf(name, sizeof name, "%d (%s)", dlt, n ? n : "no name");
        pcap_close(pc);
        if (dlt == DLT_USB_DARWIN)
            return fail(c, file, 0,
                        "unknown link type %s at packet 1: a macOS USB capture (XHC20), which is not read; "
                        "capture the device on Linux with usbmon (docs/capture.md, macOS)%s", name, "");
        return fail(c, file, 0,
                    "unknown link type %s at packet 1; iSCSI is read from Ethernet, Linux cooked (any), "
                    "loopback and raw IP captures, USB mass storage from Linux usbmon captures%s", name, "");
    }
    FILE *fp = pcap_file(pc);
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        long at = fp ? ftell(fp) : -1;
        c->pkt_offset = at >= 0 ? (uint64_t)at : 0;
        int rc = pcap_next_ex(pc, &h, &data);
        if (rc == PCAP_ERROR_BREAK)
            break;
        if (rc != 1) {
            const char *e = pcap_geterr(pc);
            c->pkt++;
            if (strstr(e, "truncated")) {
                /* A capture stopped while writing: keep what came before. */
                cap_note(c, "%s ends inside packet %llu (file offset %llu): %s; the packets before it are "
                         "imported", file, (unsigned long long)c->pkt, (unsigned long long)c->pkt_offset, e);
                c->truncated_pkt = c->pkt;
                c->pkt--;
                break;
            }
            char where[96];
            snprintf(where, sizeof where, "%llu (byte offset %llu)", (unsigned long long)c->pkt,
                     (unsigned long long)c->pkt_offset);
            int frc = fail(c, file, c->pkt_offset, "damaged packet record at packet %s: %s; the file is not a "
                           "capture libpcap can read past this point", where, e);
            pcap_close(pc); /* after: e is libpcap's */
            return frc;
        }
        c->pkt++;
        c->stats->packets++;
        uint64_t ns = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec; /* nano precision */
        if (!c->t0_set) {
            c->t0_set = true;
            c->t0_ns = ns;
        }
        c->now_ns = ns;
        packet(c, dlt, data, h->caplen, h->len);
        if (c->rc)
            break;
    }
    pcap_close(pc);
    return c->rc;
}

static void header(struct cap_ctx *c, const char *const *files, size_t n, FILE *out)
{
    fputs("#!scsitrace 1\n", out);
    cap_comment(c, "# Imported by scsisim import from %zu capture file%s:", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        cap_comment(c, "#   %s", files[i]);
    if (c->t0_set) {
        time_t s = (time_t)(c->t0_ns / 1000000000u);
        struct tm tm;
        char stamp[64] = "?";
        if (gmtime_r(&s, &tm))
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        cap_comment(c, "# Times are seconds since the first packet, %s.%09lluZ.", stamp,
                    (unsigned long long)(c->t0_ns % 1000000000u));
    }
    char usb[64] = "";
    if (c->stats->usb_devices)
        snprintf(usb, sizeof usb, ", %llu USB mass storage devices", (unsigned long long)c->stats->usb_devices);
    cap_comment(c, "# %llu packets, %llu iSCSI connections%s, %llu I_T nexuses, %llu commands (%llu without a "
                "response observed), %llu task management functions.", (unsigned long long)c->stats->packets,
                (unsigned long long)c->stats->connections, usb, (unsigned long long)c->stats->nexuses,
                (unsigned long long)c->stats->commands, (unsigned long long)c->stats->incomplete,
                (unsigned long long)c->stats->tmfs);
    if (n > 1)
        cap_comment(c, "# Packet numbers count on across the files, in the order given.");
    cap_comment(c, "# Nexus H:0:T:L = I_T nexus H (below) : target T : LUN L; tag = c<connection>.<ITT in hex>%s.",
                c->stats->usb_devices ? ", or d<USB device>.<CBW or UAS IU tag in hex>" : "");
    struct trace_line title = { .kind = TRACE_LINE_DEVICE,
                                .device = { .kind = TRACE_DEV_TITLE, .text = (char *)"imported capture" } };
    if (n == 1) {
        const char *base = strrchr(files[0], '/');
        title.device.text = (char *)(base ? base + 1 : files[0]);
    }
    cap_emit_line(c, &title);
    if (c->opt->match_given) {
        struct trace_line m = { .kind = TRACE_LINE_DEVICE,
                                .device = { .kind = TRACE_DEV_MATCH, .match = c->opt->match } };
        cap_emit_line(c, &m);
    }
}

/* Copies the records from the temporary file after what out holds.
 * sendfile moves them inside the kernel — no read into user memory and
 * write back out — when out has a file descriptor (a file, a pipe,
 * /dev/null); a memory stream, or a descriptor sendfile refuses, gets them
 * through stdio. */
static int copy_body(FILE *body, FILE *out)
{
    if (fflush(body) == EOF)
        return -EIO;
    off_t size = ftello(body), off = 0;
    if (size < 0)
        return -EIO;
    int ofd = fileno(out);
    if (ofd >= 0 && fflush(out) != EOF) {
        while (off < size) {
            ssize_t n = sendfile(ofd, fileno(body), &off, (size_t)(size - off));
            if (n <= 0)
                break;
        }
        if (off == size)
            return 0;
    }
    if (fseeko(body, off, SEEK_SET) != 0)
        return -EIO;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, body)) > 0)
        if (fwrite(buf, 1, got, out) != got)
            return -EIO;
    return ferror(body) ? -EIO : 0;
}

static void ctx_free(struct cap_ctx *c)
{
    cap_usb_free(c);
    for (size_t i = 0; i < c->n_conns; i++)
        cap_conn_free(c->conns[i]);
    free(c->conns);
    for (size_t i = 0; i < c->n_nexus; i++) {
        free(c->nexus[i].initiator);
        free(c->nexus[i].target);
    }
    free(c->nexus);
    for (size_t i = 0; i < c->n_targets; i++)
        free(c->targets[i]);
    free(c->targets);
    free(c->drives);
    free(c->spare_data);
    free(c->spare_have);
    tbuf_free(&c->line);
}

/* One pass over the files, as one capture: 0, or the first error. */
static int pass(struct cap_ctx *c, const char *const *files, size_t n)
{
    memset(c->stats, 0, sizeof *c->stats);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = read_file(c, files[i]);
    if (rc == 0) {
        cap_tcp_finish(c);
        cap_usb_finish(c);
        rc = c->rc;
    }
    return rc;
}

/* Whether every file can be read a second time (not a pipe or "-"). */
static bool rereadable(const char *const *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (!strcmp(files[i], "-") || stat(files[i], &st) != 0 || !S_ISREG(st.st_mode))
            return false;
    }
    return true;
}

static int set_error(struct located_error *err, int rc)
{
    if (rc == -EIO)
        located_set(err, NULL, 0, 0, 0, "writing the trace failed");
    else if (rc == -ENOMEM)
        located_set(err, NULL, 0, 0, 0, "out of memory");
    return rc;
}

/* The header and the @drive lines come first in a trace, but are known only
 * once the whole capture is read.  Files that can be read twice are: a
 * first pass writes nothing (c.dry: no records are formatted) and learns
 * them, the second writes the records straight to out.  A pipe is read
 * once, its records waiting in a temporary file meanwhile. */
int capture_import(const char *const *files, size_t n, const struct capture_options *opt, FILE *out,
                   struct capture_stats *stats, struct located_error *err)
{
    struct capture_stats local;
    struct capture_options defaults = { .port = CAPTURE_DEFAULT_PORT };
    struct cap_ctx c = { .opt = opt ? opt : &defaults, .stats = stats ? stats : &local, .err = err,
                         .n_files = n };
    if (err)
        memset(err, 0, sizeof *err);
    if (rereadable(files, n)) {
        c.dry = true;
        int rc = pass(&c, files, n);
        if (rc == 0) {
            c.dry = false;
            c.body = out;
            header(&c, files, n, out);
            cap_write_devices(&c, out);
            rc = c.rc;
        }
        ctx_free(&c);
        if (rc == 0) {
            c = (struct cap_ctx){ .opt = opt ? opt : &defaults, .stats = stats ? stats : &local, .err = err,
                                  .n_files = n, .body = out };
            rc = pass(&c, files, n);
            if (rc == 0 && fflush(out) == EOF)
                rc = -EIO;
            ctx_free(&c);
        }
        return set_error(err, rc);
    }
    c.body = tmpfile();
    if (!c.body) {
        int e = errno;
        located_set(err, NULL, 0, 0, 0, "cannot create a temporary file: %s", strerror(e));
        return -e;
    }
    setvbuf(c.body, NULL, _IOFBF, 1u << 20); /* the records pass through it: fewer, larger writes */
    int rc = pass(&c, files, n);
    if (rc == 0) {
        FILE *body = c.body;
        c.body = out;
        header(&c, files, n, out);
        cap_write_devices(&c, out);
        c.body = body;
        rc = copy_body(body, out);
        if (ferror(body) || fflush(out) == EOF || c.rc)
            rc = rc ? rc : c.rc ? c.rc : -EIO;
    }
    fclose(c.body);
    ctx_free(&c);
    return set_error(err, rc);
}
