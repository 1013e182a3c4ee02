/* capture/capture.h — importing packet captures as scsitraces (`scsisim
 * import`), and exporting traces as captures (`scsisim export`).
 *
 * USB mass storage is read from Linux usbmon captures too: Bulk-Only
 * Transport (cap_usb.c: each CBW, its data stage and its CSW become one
 * command) and USB Attached SCSI (cap_uas.c: each Command IU, its data and
 * its Sense IU), each device its own I_T nexus.
 *
 * A capture (pcap or pcapng, read through libpcap) of iSCSI over TCP becomes
 * one trace: every TCP connection is reassembled per direction, its PDUs
 * are framed, and each SCSI command with its R2T / Data-Out / Data-In PDUs
 * and its SCSI Response is folded into CMD, DOUT, DIN and STATUS records
 * printed by the conformance printer (docs/capture.md, docs/trace-format.md).
 *
 * Imperfect captures are imported, not refused: what the capture lost (a TCP
 * gap, data cut by the snap length, a capture that ends before a response)
 * is a comment naming the packets, with "??" data and `STATUS UNKNOWN` where
 * the bytes or the response were not seen.  What is not a capture at all —
 * not a pcap/pcapng file, an unknown link type, a damaged packet header — is
 * an error with the file, packet number and byte offset.
 *
 * Device inference: the INQUIRY, VPD 80h, READ CAPACITY (10/16) and MODE
 * SENSE caching-page answers in the capture become the settings of the
 * trace's @drive lines, so the simulator answers as the captured device did.
 */
#ifndef CAPTURE_CAPTURE_H
#define CAPTURE_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/located.h"
#include "conformance/format/trace.h"

#define CAPTURE_DEFAULT_PORT 3260

/* How a usbmon capture's mass storage devices are read (scsisim import --usb). */
enum capture_usb_proto {
    CAPTURE_USB_AUTO,   /* by shape: a CBW is Bulk-Only, a Command IU (01h) is UAS */
    CAPTURE_USB_BOT,    /* Bulk-Only Transport only */
    CAPTURE_USB_UAS,    /* USB Attached SCSI only: a device's first bulk-out transfer is its command pipe */
};

struct capture_options {
    uint16_t port;      /* the iSCSI target port (0: CAPTURE_DEFAULT_PORT); other ports by BHS shape */
    bool     no_infer;  /* keep the simulator's default device settings */
    bool     match_given;              /* write "@match LEVEL" (scsisim import --match) */
    enum trace_match_level match;
    enum capture_usb_proto usb;
};

struct capture_stats {
    uint64_t packets;       /* packets read, all files */
    uint64_t tcp_packets;   /* of them TCP segments of an iSCSI connection */
    uint64_t connections;   /* iSCSI connections */
    uint64_t usb_devices;   /* USB mass storage devices (Bulk-Only Transport or UAS) */
    uint64_t nexuses;       /* I_T nexuses */
    uint64_t commands;      /* SCSI commands written */
    uint64_t incomplete;    /* of them without an observed response (STATUS UNKNOWN) */
    uint64_t uncaptured;    /* commands with data bytes the capture lacks */
    uint64_t tmfs;          /* task management requests */
    uint64_t notes;         /* comments about what the capture lost or could not hold */
};

/* Imports the n files (in order, as one capture) and writes the trace to
 * out.  0, or a negative errno with *err filled: -EINVAL for input that is
 * not a usable capture (err names the file, the packet number and the byte
 * offset), -ENOMEM, -EIO when writing failed. */
int capture_import(const char *const *files, size_t n, const struct capture_options *opt, FILE *out,
                   struct capture_stats *stats, struct located_error *err);

/* ---- exporting (cap_export.c; docs/capture.md, "Exporting") ---- */

struct trace;

struct capture_export_stats {
    uint64_t packets;       /* written */
    uint64_t pdus;          /* iSCSI PDUs in them */
    uint64_t connections;   /* one per I_T nexus (host, target) of the trace */
    uint64_t commands;      /* SCSI Command PDUs */
    uint64_t tmfs;          /* task management requests */
    uint64_t unanswered;    /* STATUS UNKNOWN: no response sent */
    uint64_t directives;    /* directive records: no wire form, not written */
    uint64_t other_layers;  /* controller-layer (C) and wire-layer (W) records: not written */
};

/* Writes the host-layer records of a parsed trace as iSCSI over TCP into a
 * capture file at path: pcapng when path ends in ".pcapng" (cap_pcapng.c,
 * as libpcap 1.10 writes no pcapng), else pcap (libpcap's writer).  0,
 * or a negative errno with *err filled: -EIO when the file cannot be
 * created or written, -ENOMEM. */
int capture_export(const struct trace *t, const char *path, struct capture_export_stats *st,
                   struct located_error *err);

#endif
