/* capture/cap_wire.c — TCP connections into a pcap file (see cap_wire.h).
 * Checksums are computed (IPv4 header and TCP over the pseudo-header), so
 * Wireshark's checksum validation, when turned on, passes. */
#include "capture/cap_wire.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_pcapng.h"
#include "scsi/scsi.h"

#define ETH_LEN 14u
#define IP_LEN  20u
#define TCP_LEN 20u
#define T0_NS   1767225600000000000ull /* 2026-01-01T00:00:00Z: where exported time 0 lies */

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10 };

struct cap_wire {
    pcap_t *dead;           /* pcap: libpcap's writer */
    pcap_dumper_t *d;
    struct cap_pcapng *ng;  /* pcapng: ours */
    uint64_t ns;        /* time of the last packet, since T0_NS */
    uint64_t packets;
    uint16_t ip_id;
    uint8_t  pkt[ETH_LEN + IP_LEN + TCP_LEN + CAP_WIRE_MSS];
};

struct cap_wire *cap_wire_open(const char *path, enum cap_wire_format fmt, char *errbuf)
{
    struct cap_wire *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    if (fmt == CAP_WIRE_PCAPNG) {
        w->ng = cap_pcapng_open(path, DLT_EN10MB, (uint32_t)sizeof w->pkt);
        if (!w->ng) {
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
            free(w);
            return NULL;
        }
        return w;
    }
    w->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)sizeof w->pkt, PCAP_TSTAMP_PRECISION_NANO);
    if (!w->dead) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "libpcap cannot open a writer");
        free(w);
        return NULL;
    }
    w->d = pcap_dump_open(w->dead, path);
    if (!w->d) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(w->dead));
        pcap_close(w->dead);
        free(w);
        return NULL;
    }
    return w;
}

int cap_wire_close(struct cap_wire *w)
{
    if (!w)
        return 0;
    if (w->ng) {
        int rc = cap_pcapng_close(w->ng);
        free(w);
        return rc;
    }
    int rc = pcap_dump_flush(w->d) == 0 && !ferror(pcap_dump_file(w->d)) ? 0 : -EIO;
    pcap_dump_close(w->d);
    pcap_close(w->dead);
    free(w);
    return rc;
}

void cap_wire_at(struct cap_wire *w, uint64_t ns)
{
    if (ns > w->ns)
        w->ns = ns;
}

uint64_t cap_wire_packets(const struct cap_wire *w)
{
    return w->packets;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void segment(struct cap_wire *w, struct cap_wire_conn *k, int dir, uint8_t flags, const uint8_t *p,
                    uint32_t n)
{
    uint8_t *e = w->pkt, *ip = e + ETH_LEN, *t = ip + IP_LEN;
    /* Ethernet: locally administered addresses per side. */
    static const uint8_t mac[2][6] = { { 0x02, 0, 0, 0, 0, 0x01 }, { 0x02, 0, 0, 0, 0, 0x02 } };
    memcpy(e, mac[!dir], 6);
    memcpy(e + 6, mac[dir], 6);
    scsi_put_be16(e + 12, 0x0800);
    memset(ip, 0, IP_LEN);
    ip[0] = 0x45;
    scsi_put_be16(ip + 2, (uint16_t)(IP_LEN + TCP_LEN + n));
    scsi_put_be16(ip + 4, w->ip_id++);
    ip[6] = 0x40; /* don't fragment */
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, k->addr[dir], 4);
    memcpy(ip + 16, k->addr[!dir], 4);
    scsi_put_be16(ip + 10, fold(sum16(0, ip, IP_LEN)));
    memset(t, 0, TCP_LEN);
    scsi_put_be16(t, k->port[dir]);
    scsi_put_be16(t + 2, k->port[!dir]);
    scsi_put_be32(t + 4, k->seq[dir]);
    if (flags & TCP_ACK)
        scsi_put_be32(t + 8, k->seq[!dir]);
    t[12] = (TCP_LEN / 4) << 4;
    t[13] = flags;
    scsi_put_be16(t + 14, 65535);
    if (n)
        memcpy(t + TCP_LEN, p, n);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    scsi_put_be16(pseudo + 10, (uint16_t)(TCP_LEN + n));
    scsi_put_be16(t + 16, fold(sum16(sum16(0, pseudo, sizeof pseudo), t, TCP_LEN + n)));
    k->seq[dir] += n + ((flags & (TCP_SYN | TCP_FIN)) ? 1u : 0u);
    uint32_t len = ETH_LEN + IP_LEN + TCP_LEN + n;
    uint64_t at = T0_NS + w->ns;
    w->packets++;
    w->ns += 1000; /* 1 us to the next packet */
    if (w->ng) {
        cap_pcapng_packet(w->ng, at, w->pkt, len);
        return;
    }
    struct pcap_pkthdr h = { .caplen = len, .len = len };
    h.ts.tv_sec = (time_t)(at / 1000000000u);
    h.ts.tv_usec = (suseconds_t)(at % 1000000000u); /* nanoseconds: the writer's precision */
    pcap_dump((u_char *)w->d, &h, w->pkt);
}

void cap_wire_connect(struct cap_wire *w, struct cap_wire_conn *k)
{
    k->seq[0] = 0x10000000u + (uint32_t)k->port[0] * 7919u;
    k->seq[1] = 0x70000000u + (uint32_t)k->port[0] * 104729u;
    segment(w, k, 0, TCP_SYN, NULL, 0);
    segment(w, k, 1, TCP_SYN | TCP_ACK, NULL, 0);
    segment(w, k, 0, TCP_ACK, NULL, 0);
    k->open = true;
}

void cap_wire_send(struct cap_wire *w, struct cap_wire_conn *k, int dir, const uint8_t *p, size_t n)
{
    while (n > 0) {
        uint32_t take = n > CAP_WIRE_MSS ? CAP_WIRE_MSS : (uint32_t)n;
        segment(w, k, dir, TCP_ACK | TCP_PSH, p, take);
        p += take;
        n -= take;
    }
}

void cap_wire_disconnect(struct cap_wire *w, struct cap_wire_conn *k)
{
    if (!k->open)
        return;
    segment(w, k, 0, TCP_FIN | TCP_ACK, NULL, 0);
    segment(w, k, 1, TCP_FIN | TCP_ACK, NULL, 0);
    segment(w, k, 0, TCP_ACK, NULL, 0);
    k->open = false;
}
