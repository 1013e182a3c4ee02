/* capture/cap_pcapng.h — a pcapng writer (one Section Header Block, one
 * Interface Description Block, an Enhanced Packet Block per packet) for
 * `scsisim export -o OUT.pcapng`.
 *
 * Hand-written because libpcap 1.10 (Debian 12's), which the project uses
 * for everything else about captures, reads pcapng but has no writer for
 * it: pcap_dump_open writes only the classic pcap format.  The block
 * layouts follow the pcapng specification (draft-ietf-opsawg-pcapng,
 * sections 4.1-4.3); libpcap's reader, tshark and `scsisim import` read
 * what this writes. */
#ifndef CAPTURE_CAP_PCAPNG_H
#define CAPTURE_CAP_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

struct cap_pcapng;

/* Creates path and writes the SHB and the IDB (link type, snap length,
 * if_tsresol = 10^-9: timestamps in nanoseconds).  NULL with errno set. */
struct cap_pcapng *cap_pcapng_open(const char *path, uint16_t linktype, uint32_t snaplen);
/* One EPB: the packet's bytes (len captured = on the wire) at ns since the
 * Unix epoch. */
void cap_pcapng_packet(struct cap_pcapng *w, uint64_t ns, const uint8_t *p, uint32_t len);
/* Flushes and closes; 0, or -EIO when a write failed at some point. */
int  cap_pcapng_close(struct cap_pcapng *w);

#endif
