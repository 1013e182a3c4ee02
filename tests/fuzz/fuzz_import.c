/* tests/fuzz/fuzz_import.c — libFuzzer target for `scsisim import`
 * (capture_import): whatever the input, the importer returns 0 with a trace
 * the parser accepts, or -EINVAL with an error that names the file — never
 * a crash, a leak or a memory error (ASan), never -ENOMEM or -EIO on these
 * small inputs.
 *
 * The first byte picks how the rest becomes a capture, so the fuzzer reaches
 * past libpcap's file checks into the importer's own parsers:
 *   0  the bytes are the file itself (libpcap's reader, damaged records);
 *   1  Ethernet/IPv4/TCP packets on port 3260, built here around fuzzed
 *      payloads, directions, sequence jumps and flags (TCP reassembly, iSCSI
 *      framing, digests, commands, TMFs, inference);
 *   2  usbmon events (LINKTYPE_USB_LINUX_MMAPPED) with fuzzed header fields
 *      and data, often starting with a CBW or CSW signature (Bulk-Only) or
 *      a UAS IU ID (on the four endpoints of a UAS device too).
 * Captures go through a memfd, named /proc/self/fd/N.  Built by `make fuzz`
 * (clang, -fsanitize=fuzzer,address); docs/capture.md has the figures. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/capture.h"
#include "conformance/replay/trace_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static void tcp_packets(pcap_dumper_t *d, struct in *in)
{
    static uint8_t pkt[14 + 20 + 20 + 512];
    uint32_t seq[2] = { 1000, 0x7ffff000u };
    struct pcap_pkthdr h = { 0 };
    while (in->n >= 3) {
        unsigned ctl = take(in), len = take(in) % 200;
        int dir = ctl & 1;
        uint8_t flags = (ctl & 2) ? 0x02 : (ctl & 4) ? 0x11 : 0x18; /* SYN, FIN+ACK, PSH+ACK */
        if (len > in->n)
            len = (unsigned)in->n;
        memset(pkt, 0, 54);
        put16(pkt + 12, 0x0800);
        uint8_t *ip = pkt + 14, *t = ip + 20;
        ip[0] = 0x45;
        put16(ip + 2, 40 + len);
        ip[8] = 64;
        ip[9] = 6;
        uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
        memcpy(ip + 12, dir ? b : a, 4);
        memcpy(ip + 16, dir ? a : b, 4);
        put16(t, dir ? 3260 : 40000);
        put16(t + 2, dir ? 40000 : 3260);
        uint32_t s = seq[dir];
        if (ctl & 8)
            s += (ctl >> 4) * 16u;       /* a hole, or ... */
        else if (ctl & 0x80)
            s -= ((ctl >> 4) & 7) * 8u;  /* ... a retransmission */
        put32(t + 4, s);
        t[12] = 5 << 4;
        t[13] = flags;
        memcpy(t + 20, in->p, len);
        in->p += len;
        in->n -= len;
        seq[dir] = s + len + ((flags & 0x03) ? 1u : 0u);
        h.caplen = h.len = 54 + len;
        if (ctl & 0x40 && len > 4)
            h.caplen -= 4; /* cut by the snap length */
        h.ts.tv_usec++;
        pcap_dump((u_char *)d, &h, pkt);
    }
}

static void usb_packets(pcap_dumper_t *d, struct in *in)
{
    static uint8_t pkt[64 + 256];
    static const char events[] = { 'S', 'C', 'E', 'C' };
    static const uint8_t xfers[] = { 3, 3, 2, 1 }, eps[2][4] = { { 0x02, 0x81, 0x00, 0x80 }, { 0x04, 0x83, 0x00, 0x80 } };
    static const uint8_t iu_ids[8] = { 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x01, 0x03 };
    static const int32_t statuses[] = { 0, -115, -32, -121 };
    struct pcap_pkthdr h = { 0 };
    while (in->n >= 4) {
        unsigned a = take(in), b = take(in), len = take(in) % 64, kind = take(in);
        if (len > in->n)
            len = (unsigned)in->n;
        memset(pkt, 0, 64);
        uint64_t id = 0x1000 + (a & 7);
        memcpy(pkt, &id, 8);
        pkt[8] = (uint8_t)events[a >> 3 & 3];
        pkt[9] = xfers[a >> 5 & 3];
        pkt[10] = eps[b >> 7][b & 3];
        pkt[11] = (uint8_t)(1 + (b >> 2 & 1));
        pkt[12] = 1;
        pkt[14] = (kind & 0x80) ? 0 : '-';
        int32_t st = statuses[b >> 3 & 3];
        memcpy(pkt + 28, &st, 4);
        uint32_t urb_len = (b & 0x20) ? len : (b & 0x40) ? 31u : 13u, dlen = len;
        memcpy(pkt + 32, &urb_len, 4);
        memcpy(pkt + 36, &dlen, 4);
        uint8_t *data = pkt + 64;
        memcpy(data, in->p, len);
        if ((kind & 3) == 1 && len >= 4)
            memcpy(data, "USBC", 4);
        else if ((kind & 3) == 2 && len >= 4)
            memcpy(data, "USBS", 4);
        else if ((kind & 3) == 3 && len >= 2) {
            data[0] = iu_ids[kind >> 2 & 7];  /* a UAS IU: Command IUs of 32 bytes make a UAS device */
            data[1] = 0;
            if (len >= 7)
                data[6] &= 0x03;
        }
        in->p += len;
        in->n -= len;
        h.caplen = h.len = 64 + len;
        h.ts.tv_usec++;
        pcap_dump((u_char *)d, &h, pkt);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fd = memfd_create("fuzz-capture", 0);
    if (fd < 0)
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct in in = { data + 1, size - 1 };
    unsigned mode = data[0] % 3;
    if (mode == 0) {
        if (write(fd, in.p, in.n) != (ssize_t)in.n)
            abort();
    } else {
        pcap_t *dead = pcap_open_dead(mode == 1 ? DLT_EN10MB : DLT_USB_LINUX_MMAPPED, 65535);
        FILE *f = fdopen(dup(fd), "wb");
        pcap_dumper_t *d = dead && f ? pcap_dump_fopen(dead, f) : NULL;
        if (!d)
            abort();
        if (mode == 1)
            tcp_packets(d, &in);
        else
            usb_packets(d, &in);
        pcap_dump_close(d);
        pcap_close(dead);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    const char *files[1] = { path };
    struct capture_stats st;
    struct located_error err;
    int rc = capture_import(files, 1, NULL, out, &st, &err);
    fclose(out);
    close(fd);
    if (rc == 0) {
        struct trace *t = NULL;
        struct located_error perr;
        if (trace_parse_buffer("imported", text, len, &t, &perr) != 0) {
            fprintf(stderr, "the imported trace does not parse: %u:%u: %s\n%s\n", perr.line, perr.column,
                    perr.message, text);
            abort();
        }
        trace_free(t);
    } else if (rc != -EINVAL || !strstr(err.file, "/proc/self/fd/")) {
        fprintf(stderr, "import failed with %d and no file named: %s\n", rc, err.message);
        abort();
    }
    free(text);
    return 0;
}
