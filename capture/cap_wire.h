/* capture/cap_wire.h — writing TCP connections into a pcap file (libpcap's
 * writer) or a pcapng file (cap_pcapng.c, as libpcap 1.10 writes no pcapng): Ethernet, IPv4 and TCP headers with computed checksums, the
 * three-way handshake, byte streams cut into segments whose sequence and
 * acknowledgement numbers follow each other, and FIN at the end.  What
 * `scsisim export` (cap_export.c) and the import benchmark write their
 * iSCSI sessions with. */
#ifndef CAPTURE_CAP_WIRE_H
#define CAPTURE_CAP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_WIRE_MSS 8960u  /* TCP payload bytes per segment (a 9000-byte MTU) */

struct cap_wire;

struct cap_wire_conn {
    uint8_t  addr[2][4];   /* [0] initiator, [1] target (IPv4) */
    uint16_t port[2];
    uint32_t seq[2];       /* next sequence number of each direction */
    bool     open;
};

enum cap_wire_format { CAP_WIRE_PCAP, CAP_WIRE_PCAPNG };

/* Opens path for writing (pcap or pcapng, nanosecond timestamps, Ethernet).
 * NULL with errbuf (PCAP_ERRBUF_SIZE) filled when the file cannot be
 * created. */
struct cap_wire *cap_wire_open(const char *path, enum cap_wire_format fmt, char *errbuf);
/* Flushes and closes; 0, or -EIO when writing failed at some point. */
int  cap_wire_close(struct cap_wire *w);
/* The time of the next packet: never earlier than the one before. */
void cap_wire_at(struct cap_wire *w, uint64_t ns);
uint64_t cap_wire_packets(const struct cap_wire *w);

/* A connection between the two addresses and ports: SYN, SYN-ACK, ACK. */
void cap_wire_connect(struct cap_wire *w, struct cap_wire_conn *k);
/* n bytes from dir (0: initiator to target) in segments of CAP_WIRE_MSS. */
void cap_wire_send(struct cap_wire *w, struct cap_wire_conn *k, int dir, const uint8_t *p, size_t n);
/* FIN from the initiator, FIN-ACK, ACK. */
void cap_wire_disconnect(struct cap_wire *w, struct cap_wire_conn *k);

#endif
