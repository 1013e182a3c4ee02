/* capture/cap_priv.h — the importer's shared state (see capture.h): the
 * packet reader (cap_pcap.c) feeds TCP segments to the reassembler
 * (cap_tcp.c), which feeds each direction's byte stream to the iSCSI framer
 * (cap_iscsi.c), which hands finished commands to the trace writer
 * (cap_emit.c) and to device inference (cap_infer.c).  usbmon packets go
 * to the USB reader (cap_usb.c: Bulk-Only Transport; cap_uas.c: USB Attached
 * SCSI), which hands its commands to the same writer and inference. */
#ifndef CAPTURE_CAP_PRIV_H
#define CAPTURE_CAP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/tbuf.h"
#include "capture/capture.h"
#include "conformance/format/trace.h"

#define CAP_BHS_LEN       48u
#define CAP_HDR_MAX       (CAP_BHS_LEN + 1020u + 4u)  /* BHS, AHS (255 words), header digest */
#define CAP_OOO_MAX_BYTES (16u << 20)  /* out-of-order bytes held before the hole is declared a gap */
#define CAP_OOO_MAX_SEGS  8192u
#define CAP_RECENT        (256u << 10) /* delivered bytes kept to compare retransmissions with */
#define CAP_DATA_BUDGET   (256u << 20) /* data bytes kept for the commands in flight, all together */

/* One SCSI command in flight on a connection: what its PDUs said so far. */
struct cap_cmd {
    uint32_t itt;
    uint64_t lun;
    uint8_t  flags;          /* SCSI Command byte 1: F R W ATTR */
    uint8_t  cdb[16];
    bool     cdb_extended;   /* an AHS held more CDB bytes */
    uint32_t edtl;           /* expected data transfer length */
    uint64_t cmd_pkt, last_pkt;
    uint64_t cmd_ns, dout_ns, din_ns;
    uint8_t *data;           /* data-out or data-in bytes, by buffer offset */
    uint8_t *have;           /* 1 where data[] was captured */
    uint32_t data_cap;       /* bytes allocated */
    uint32_t data_end;       /* highest offset + 1 kept (captured or not); beyond it: not captured */
    bool     dropped;        /* data past CAP_DATA_BUDGET was not kept (written as not captured) */
    uint64_t lost_from, lost_to; /* packets around data the capture lacks (0: none) */
    bool     flushed;        /* its CMD was written early (an abort-task names it) */
    bool     ended;          /* that abort-task completed: no STATUS is needed */
    /* the response */
    bool     done;
    uint8_t  response, status, rflags;
    uint32_t residual;
    uint8_t  sense[252];
    uint32_t sense_len;
    uint64_t resp_pkt;
    uint64_t resp_ns;        /* when the response was seen */
};

struct cap_tmf {
    uint32_t itt, rtt;
    uint64_t lun;
    uint8_t  fn;
    uint64_t pkt, ns;
};

/* An out-of-order TCP segment, held until the bytes before it arrive. */
struct cap_seg {
    uint32_t seq;
    uint32_t caplen, wirelen;  /* captured payload bytes, payload bytes on the wire */
    uint64_t pkt;
    uint8_t *data;
};

/* One direction of a connection: TCP reassembly and iSCSI framing. */
struct cap_half {
    bool     started;
    uint32_t next_seq;
    bool     fin;
    struct cap_seg *ooo;       /* sorted by seq */
    size_t   n_ooo, ooo_cap;
    uint64_t ooo_bytes;
    uint8_t *recent;           /* ring of the last CAP_RECENT delivered bytes */
    uint64_t delivered;        /* stream bytes delivered (or skipped) */
    uint64_t pkt;              /* packet of the bytes being delivered */
    /* framing */
    bool     scan;             /* looking for a BHS (start, or after a gap) */
    uint64_t scan_skipped;
    uint8_t  hdr[CAP_HDR_MAX];
    uint32_t hdr_len, hdr_need;
    uint8_t *dseg, *dhave;     /* data segment with padding and digest */
    uint32_t dseg_len, dseg_need, dseg_cap;
    uint64_t pdu_pkt;          /* packet of the PDU's first byte */
};

struct cap_conn {
    unsigned idx;              /* 1-based, in order of appearance */
    int      family;           /* 4 or 6; 0: a USB device (cap_usb.c), port[0] its bus, port[1] its address */
    uint8_t  addr[2][16];      /* [0] initiator, [1] target */
    uint16_t port[2];
    bool     roles_known;
    bool     ignored;          /* not iSCSI */
    struct cap_half half[2];   /* [0] initiator -> target, [1] target -> initiator */
    bool     ffp;              /* full feature phase: digests apply */
    bool     hdigest, ddigest, hdigest_offered, ddigest_offered;
    bool     discovery;
    char     initiator_name[224], target_name[224];
    uint8_t  isid[6];
    int      nexus;            /* index in ctx->nexus, -1 until the first command */
    struct cap_cmd **cmds;
    size_t   n_cmds, cmds_cap;
    struct cap_tmf *tmfs;
    size_t   n_tmfs, tmfs_cap;
    /* ITTs of the last CAP_DONE_ITTS commands that completed (a ring): a
     * QUERY TASK or ABORT TASK may name a task that has already ended, and
     * its record still has to name it.  Bounded, so memory stays bounded by
     * the longest transfer, not by the capture. */
#define CAP_DONE_ITTS 256
    uint32_t done_itt[CAP_DONE_ITTS];
    unsigned n_done;
};

struct cap_nexus {
    char    *initiator, *target; /* names (or addresses) */
    uint32_t host, target_no;
};

struct cap_drive {
    uint32_t target;
    uint64_t lun;
    bool     has_vendor, has_product, has_revision, has_serial, has_capacity, has_wce;
    char     vendor[9], product[17], revision[5], serial[21];
    uint64_t blocks;
    uint32_t block_size;
    bool     wce;
};

struct cap_ctx {
    const struct capture_options *opt;
    struct capture_stats *stats;
    struct located_error *err;
    int      rc;               /* first -errno (ENOMEM, EIO) */
    FILE    *body;             /* records, written before the device lines are known */
    bool     dry;              /* the first of two passes: learn the device lines, write nothing */
    struct tbuf line;
    struct trace empty;        /* the printer's context */
    const char *file;          /* current file */
    size_t   n_files;
    uint64_t pkt;              /* current packet number (continues across files) */
    uint64_t pkt_offset;       /* file offset of the current packet */
    uint64_t now_ns;           /* current packet's capture time */
    bool     t0_set;
    uint64_t t0_ns;
    struct cap_conn **conns;
    size_t   n_conns, conns_cap;
    struct cap_nexus *nexus;
    size_t   n_nexus;
    char   **targets;          /* target names, index = target number */
    size_t   n_targets;
    struct cap_drive *drives;
    size_t   n_drives;
    uint64_t truncated_pkt;    /* the file ended inside this packet (0: it did not) */
    uint64_t data_bytes;       /* bytes allocated for command data (CAP_DATA_BUDGET) */
    uint8_t *spare_data, *spare_have; /* a finished command's buffers, for the next (cap_cmd_free) */
    uint32_t spare_cap;
    struct cap_usb *usb;       /* USB devices and URBs in flight (cap_usb.c) */
};

/* cap_tcp.c */
void cap_tcp_segment(struct cap_ctx *c, int family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                     uint16_t dport, uint32_t seq, uint8_t flags, const uint8_t *payload, uint32_t caplen,
                     uint32_t wirelen);
void cap_tcp_finish(struct cap_ctx *c);
void cap_conn_free(struct cap_conn *k);

/* cap_iscsi.c: bytes of one direction, in stream order; skip = bytes the capture lacks. */
bool cap_iscsi_plausible(const struct cap_conn *k, int dir, const uint8_t *bhs);
void cap_iscsi_feed(struct cap_ctx *c, struct cap_conn *k, int dir, const uint8_t *p, size_t n);
void cap_iscsi_skip(struct cap_ctx *c, struct cap_conn *k, int dir, uint64_t n, const char *why);
void cap_iscsi_finish(struct cap_ctx *c, struct cap_conn *k);

/* Puts n data bytes at buffer offset off of a command (have[i]: byte i was
 * captured); false when they run past its expected length (the rest is dropped). */
bool cap_cmd_data(struct cap_ctx *c, struct cap_cmd *cmd, uint32_t off, const uint8_t *p, const uint8_t *have,
                  uint32_t n);
/* Frees a command and gives its data back to the budget. */
void cap_cmd_free(struct cap_ctx *c, struct cap_cmd *cmd);

/* cap_usb.c: a packet of a usbmon capture (LINKTYPE_USB_LINUX or _MMAPPED). */
void cap_usb_packet(struct cap_ctx *c, int dlt, const uint8_t *p, uint32_t caplen, uint32_t wirelen);
void cap_usb_finish(struct cap_ctx *c);
void cap_usb_free(struct cap_ctx *c);

/* cap_uas.c: USB Attached SCSI on one device; cap_usb.c owns the URBs and
 * the devices and hands a UAS device's bulk transfers here. */
struct cap_uas;
/* One completed bulk transfer of a UAS device. */
struct cap_usb_xfer {
    uint8_t  ep;              /* endpoint with the direction bit (80h: IN) */
    const uint8_t *data;      /* the bytes the capture holds (OUT: the submission's) */
    uint32_t captured, actual;
    uint32_t asked;           /* the submission's length: the host's buffer (IN) or what it offered (OUT) */
    int32_t  tag;             /* the tag of the READ/WRITE READY IU the host submitted it for; -1: none */
    uint64_t data_pkt, data_offset; /* the packet holding the data (OUT: the submission), its file offset */
    uint32_t hl;              /* usbmon header bytes before the data in that packet */
    uint64_t ns;              /* when the transfer was submitted */
};
/* Whether a bulk-out transfer has the shape of a Command IU (cap_usb.c's detection). */
bool cap_uas_command_shape(const uint8_t *p, uint32_t captured, uint32_t actual);
/* pipes[1..4]: the endpoints of the command, status, data-in and data-out
 * pipes from the device's pipe usage descriptors (0: not known; pipes may be
 * NULL): those win over learning them from the traffic. */
struct cap_uas *cap_uas_new(struct cap_ctx *c, struct cap_conn *k, uint16_t bus, uint8_t addr,
                            const uint8_t *pipes);
/* Reads a configuration descriptor (n bytes) for a UAS interface (class 08h,
 * subclass 06h, protocol 62h) and the pipe usage descriptor (24h) after each
 * of its endpoints: pipes[id] = endpoint address.  True when all four were
 * found. */
bool cap_uas_pipes_from_config(const uint8_t *d, uint32_t n, uint8_t pipes[5]);
/* At a bulk submission on endpoint ep: the tag of the READ READY (IN) or WRITE
 * READY (OUT) IU it answers, -1 when none is pending or ep is not a data pipe. */
int32_t cap_uas_submit_tag(const struct cap_uas *u, uint8_t ep);
void cap_uas_bulk(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x);
void cap_uas_finish(struct cap_ctx *c, struct cap_uas *u);
void cap_uas_free(struct cap_ctx *c, struct cap_uas *u);

/* cap_emit.c */
void cap_emit_line(struct cap_ctx *c, const struct trace_line *l);
void cap_note(struct cap_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cap_comment(struct cap_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a finished (or, at the end, unfinished) command's records. */
void cap_emit_command(struct cap_ctx *c, struct cap_conn *k, struct cap_cmd *cmd, bool at_end);
/* Writes the CMD (and the data so far) of a command an abort-task names. */
void cap_emit_flush(struct cap_ctx *c, struct cap_conn *k, struct cap_cmd *cmd);
void cap_emit_tmf(struct cap_ctx *c, struct cap_conn *k, const struct cap_tmf *t, uint8_t response,
                  struct cap_cmd *ref);
/* The same with the trace's response chosen by the caller (UAS response
 * codes); response is the wire's code, for comments. */
void cap_emit_tmf_resp(struct cap_ctx *c, struct cap_conn *k, const struct cap_tmf *t, uint8_t response,
                       enum trace_tmf_resp resp, struct cap_cmd *ref);
int  cap_nexus_of(struct cap_ctx *c, struct cap_conn *k);
void cap_tag(char tag[TRACE_TAG_MAX + 1], const struct cap_conn *k, uint32_t itt);
uint64_t cap_time(const struct cap_ctx *c, uint64_t ns);

/* cap_masks.c: data-in bytes written as "??" because they differ between
 * runs or units (serials, designators, time stamps). */
struct cap_mask {
    uint32_t from, to;  /* bytes [from, to) of the data-in */
    const char *what;
};
/* The masks for a command with this CDB and data-in (len bytes; have[i]: byte
 * i was captured, have NULL: all were); returns how many (at most max stored). */
size_t cap_masks(const uint8_t *cdb, const uint8_t *data, const uint8_t *have, uint32_t len, struct cap_mask *out,
                 size_t max);

/* cap_infer.c */
void cap_infer(struct cap_ctx *c, struct cap_conn *k, const struct cap_cmd *cmd);
struct cap_drive *cap_drive_get(struct cap_ctx *c, uint32_t target, uint64_t lun);
void cap_write_devices(struct cap_ctx *c, FILE *out);

static inline uint32_t cap_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t cap_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
