/* sim/bus/bus_proto.h — the two-process bus: the wire protocol between a host
 * (the driver's process, platform/bus_client.c) and a controller process
 * (`scsisim controller`, sim/bus/bus_server.c).
 *
 * THE PROTOCOL IN ONE PAGE
 *
 * Transport.  A Unix-domain SOCK_SEQPACKET socket at a filesystem path: every
 * message is one packet, so a message's length is the packet's length, and
 * file descriptors travel with the packet that carries them (SCM_RIGHTS).  A
 * message is a struct bproto_hdr followed by the type's body; all fields are
 * the host's byte order (both ends are on one machine), reserved fields are
 * zero.  A message is at most BPROTO_MAX_MSG bytes.
 *
 * Shared memory.  The host owns host RAM: it creates a sealed memfd
 * (sim_host_ram_create) and hands it over in HELLO.  The controller owns its
 * device memory (BAR0 + the PRIV page, SIM_REGION_DEV_SIZE bytes, sealed) and
 * its eventfds (the bell, one per interrupt vector), handed over in ATTACH.
 * From then on registers, queues and data move through shared memory and
 * eventfds exactly as in one process (platform/bus.h); the socket carries only
 * what has no place there: IOMMU programming and test control.
 *
 *   host                                   controller
 *   HELLO  version, ram_size  [ram memfd] ->
 *                                       <- ATTACH status, nvec, reason
 *                                             [device memfd, bell, vector 0..nvec-1]
 *   request (seq = n)                     ->
 *                                       <- REPLY (seq = n) status, value, payload
 *   ...                                       one request outstanding at a time
 *
 * Handshake.  The first message must be HELLO with exactly one fd; the
 * controller checks the version (BPROTO_VERSION), that the fd is a memfd of
 * ram_size bytes sealed against shrinking (sim_memfd_check) and that the size
 * follows the host-ram rules, moves the controller onto that RAM (with an
 * empty IOMMU: a new host platform) and powers it on.  ATTACH says yes
 * (status 0, 2 + nvec fds) or no (status -errno, no fds, a human-readable
 * reason); after a no the controller closes the connection.  One host at a
 * time: a second connection gets ATTACH -EBUSY.
 *
 * Requests.  Every request gets one REPLY with the request's seq: status 0 or
 * -errno (what the sim_ctrl_* function returned), value (lines lost for
 * POWER_CUT, entries for FAULT_LOG), and for CHECK_MEDIA / FAULT_LOG a
 * payload.  The host must not pipeline requests; a host that does not read
 * its replies is disconnected.
 *
 * The peer is untrusted, both ways.  The controller answers a request it can
 * parse but not accept (unknown type -EOPNOTSUPP; wrong body length, fds
 * where none belong, a non-zero reserved field -EBADMSG; a bad value -EINVAL;
 * HELLO twice -EISCONN) and keeps serving; it disconnects a peer whose framing
 * it cannot trust (shorter than a header, bad magic, len != packet length,
 * oversized, too many fds) and any peer before a good HELLO.  Received fds
 * never leak: every fd not taken over is closed.  The host checks ATTACH the
 * same way (memfd size and seals, eventfd types) before it maps anything.
 *
 * Ending.  The host closing the socket (or dying) is "the host went away":
 * the controller shuts down in order (caches flushed) and waits for the next
 * host.  The controller dying (SIGKILL) is a power cut: the host sees the
 * socket hang up, marks its bus dead (platform/bus.h), and may reconnect to a
 * restarted controller (bus_remote_reconnect), which replays the IOMMU.
 */
#ifndef SIM_BUS_BUS_PROTO_H
#define SIM_BUS_BUS_PROTO_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hw/hba.h"

#define BPROTO_MAGIC    0x55425353u /* "SSBU" in little-endian bytes */
#define BPROTO_VERSION  1u
#define BPROTO_MAX_MSG  4096u
#define BPROTO_MAX_FDS  (2u + HBA_MAX_VECTORS) /* ATTACH: device memfd, bell, vectors */
#define BPROTO_REASON   96u                    /* bytes of the ATTACH reason text */

enum bproto_type {
    BPROTO_HELLO            = 1,  /* host -> controller, fd: host RAM memfd */
    BPROTO_ATTACH           = 2,  /* controller -> host, fds: device memfd, bell, vectors */
    BPROTO_REPLY            = 3,  /* controller -> host: the answer to one request */
    /* requests (host -> controller) */
    /* 16, 17: retired (IOMMU map / unmap: the tables are in host RAM now,
     * hw/hba.h); never reused, so an old peer's request is refused as unknown. */
    BPROTO_POWER_CUT        = 18, /* struct bproto_power_cut -> value = lines lost */
    BPROTO_POWER_ON         = 19, /* header only */
    BPROTO_CHECK_MEDIA      = 20, /* struct bproto_drive -> payload struct bproto_oracle */
    BPROTO_FAULT_LOG        = 21, /* struct bproto_fault_log -> payload log header + entries */
    BPROTO_INJECT           = 22, /* struct bproto_inject -> sim_ctrl_inject */
    BPROTO_INJECT_CLEAR     = 23, /* header only */
    BPROTO_SET_BATTERY      = 24, /* struct bproto_battery */
    BPROTO_RAISE_UA         = 25, /* struct bproto_raise_ua */
    BPROTO_SET_IOMMU_POLICY = 26, /* struct bproto_policy */
    BPROTO_FAULT_ADD        = 27, /* struct bproto_fault -> sim_ctrl_fault_add */
    BPROTO_FAULT_CLEAR      = 28, /* header only -> sim_ctrl_fault_clear */
    BPROTO_SET_WRITE_CACHE  = 29, /* struct bproto_write_cache -> sim_ctrl_set_write_cache */
};

struct bproto_hdr {
    uint32_t magic;   /* BPROTO_MAGIC */
    uint16_t type;    /* enum bproto_type */
    uint16_t rsvd;
    uint32_t len;     /* the whole message, header included (= the packet's length) */
    uint32_t seq;     /* request number, echoed by its REPLY; 0 in HELLO / ATTACH */
};
_Static_assert(sizeof(struct bproto_hdr) == 16, "bproto_hdr is 16 bytes");
_Static_assert(offsetof(struct bproto_hdr, len) == 8, "len at 8");

struct bproto_hello {
    struct bproto_hdr h;
    uint32_t version;  /* BPROTO_VERSION */
    uint32_t rsvd;
    uint64_t ram_size; /* bytes of the memfd that comes with it */
};
_Static_assert(sizeof(struct bproto_hello) == 32, "hello is 32 bytes");
_Static_assert(offsetof(struct bproto_hello, ram_size) == 24, "ram_size at 24");

struct bproto_attach {
    struct bproto_hdr h;
    int32_t  status;   /* 0, or -errno: refused (no fds) */
    uint32_t version;  /* the controller's BPROTO_VERSION */
    uint64_t ram_size; /* echo of HELLO's */
    uint32_t dev_size; /* SIM_REGION_DEV_SIZE */
    uint32_t nvec;     /* interrupt vectors: nvec eventfds follow the bell */
    char     reason[BPROTO_REASON]; /* NUL-terminated, why it was refused */
};
_Static_assert(sizeof(struct bproto_attach) == 136, "attach is 136 bytes");
_Static_assert(offsetof(struct bproto_attach, ram_size) == 24, "ram_size at 24");
_Static_assert(offsetof(struct bproto_attach, reason) == 40, "reason at 40");

struct bproto_reply {
    struct bproto_hdr h;
    int32_t  status;   /* 0 or -errno */
    uint32_t rsvd;
    uint64_t value;    /* POWER_CUT: lines lost; FAULT_LOG: entries in the payload */
    /* payload: CHECK_MEDIA struct bproto_oracle; FAULT_LOG struct
     * hba_log_header then `value` struct hba_iommu_fault */
};
_Static_assert(sizeof(struct bproto_reply) == 32, "reply is 32 bytes");
_Static_assert(offsetof(struct bproto_reply, value) == 24, "value at 24");

struct bproto_power_cut {
    struct bproto_hdr h;
    uint32_t mode;     /* enum sim_power_cut_mode */
    uint32_t rsvd;
    uint64_t seed;
};
_Static_assert(sizeof(struct bproto_power_cut) == 32, "power cut is 32 bytes");

struct bproto_drive {
    struct bproto_hdr h;
    uint16_t target, lun;
    uint32_t rsvd;
};
_Static_assert(sizeof(struct bproto_drive) == 24, "drive is 24 bytes");

struct bproto_oracle_range {  /* struct sim_oracle_range */
    uint64_t lba;
    uint32_t count;
    uint16_t target, lun;
    uint8_t  durable;  /* 0 or 1 */
    uint8_t  rsvd[7];
};
_Static_assert(sizeof(struct bproto_oracle_range) == 24, "oracle range is 24 bytes");
#define BPROTO_ORACLE_RANGES 16u

struct bproto_oracle {  /* struct sim_oracle_report, field by field */
    uint64_t blocks_checked;
    uint64_t durable_lost;
    uint64_t first_bad_lba;
    uint64_t volatile_kept;
    uint64_t volatile_lost;
    uint32_t n_ranges;     /* <= BPROTO_ORACLE_RANGES */
    uint32_t ranges_more;
    struct bproto_oracle_range range[BPROTO_ORACLE_RANGES];
};
_Static_assert(sizeof(struct bproto_oracle) == 48 + 24 * BPROTO_ORACLE_RANGES, "oracle report is 432 bytes");
_Static_assert(offsetof(struct bproto_oracle, range) == 48, "ranges at 48");
_Static_assert(sizeof(struct bproto_reply) + sizeof(struct bproto_oracle) <= BPROTO_MAX_MSG, "fits one message");

struct bproto_fault_log {
    struct bproto_hdr h;
    uint32_t first;    /* sequence number of the first entry wanted */
    uint32_t max;      /* entries wanted; the controller sends at most BPROTO_FAULT_LOG_MAX */
};
_Static_assert(sizeof(struct bproto_fault_log) == 24, "fault log is 24 bytes");
#define BPROTO_FAULT_LOG_MAX \
    ((BPROTO_MAX_MSG - sizeof(struct bproto_reply) - sizeof(struct hba_log_header)) / sizeof(struct hba_iommu_fault))

struct bproto_inject {
    struct bproto_hdr h;
    uint32_t kind;     /* enum sim_inject_kind */
    uint32_t count;
};
_Static_assert(sizeof(struct bproto_inject) == 24, "inject is 24 bytes");

struct bproto_battery {
    struct bproto_hdr h;
    uint16_t target, lun;
    uint32_t battery;  /* enum hba_battery */
};
_Static_assert(sizeof(struct bproto_battery) == 24, "battery is 24 bytes");

struct bproto_raise_ua {
    struct bproto_hdr h;
    uint16_t target, lun;
    int32_t  initiator; /* -1 = every nexus */
    uint16_t asc_ascq;
    uint16_t rsvd[3];
};
_Static_assert(sizeof(struct bproto_raise_ua) == 32, "raise ua is 32 bytes");
_Static_assert(offsetof(struct bproto_raise_ua, asc_ascq) == 24, "asc_ascq at 24");

struct bproto_policy {
    struct bproto_hdr h;
    uint32_t policy;   /* enum hba_iommu_policy */
    uint32_t rsvd;
};
_Static_assert(sizeof(struct bproto_policy) == 24, "policy is 24 bytes");

struct bproto_write_cache {
    struct bproto_hdr h;
    uint16_t target, lun;
    uint32_t on;       /* 0 or 1 */
};
_Static_assert(sizeof(struct bproto_write_cache) == 24, "write cache is 24 bytes");

/* A fault rule (sim/fault/fault.h), NUL-terminated within the field; the
 * host checked it before sending, the controller checks it again. */
#define BPROTO_FAULT_TEXT 520u
struct bproto_fault {
    struct bproto_hdr h;
    char rule[BPROTO_FAULT_TEXT];
};
_Static_assert(sizeof(struct bproto_fault) == 536, "fault is 536 bytes");

/* ---- packet I/O with fds (sim/bus/bus_proto.c), used by both ends ------------ */

/* Fills the header of a message of `len` bytes. */
void bproto_init(void *msg, enum bproto_type type, uint32_t len, uint32_t seq);
/* Sends one packet with nfds fds (SCM_RIGHTS; nfds <= BPROTO_MAX_FDS) without
 * blocking or raising SIGPIPE.  0 or -errno (-EAGAIN: the peer is not reading). */
int bproto_send(int sock, const void *msg, size_t len, const int *fds, unsigned nfds);
/* Receives one packet without blocking: its length (0 = the peer closed),
 * -EAGAIN, -EMSGSIZE (longer than cap), -EBADMSG (more than max_fds fds, or
 * fds cut off), or -errno.  Fds arrive close-on-exec in fds[0..*nfds); on any
 * error every fd received is closed and *nfds is 0. */
ssize_t bproto_recv(int sock, void *buf, size_t cap, int *fds, unsigned max_fds, unsigned *nfds);
/* Closes fds[0..n). */
void bproto_close_fds(int *fds, unsigned n);
/* Whether the packet of n bytes in buf has trustworthy framing: at least a
 * header, the magic, and len == n. */
bool bproto_framed(const void *buf, size_t n);

#endif
