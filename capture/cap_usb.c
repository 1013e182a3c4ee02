/* capture/cap_usb.c — USB mass storage out of Linux usbmon captures
 * (LINKTYPE_USB_LINUX: a 48-byte header per event; LINKTYPE_USB_LINUX_MMAPPED:
 * 64 bytes), Bulk-Only Transport (USB Mass Storage Class, Bulk-Only
 * Transport 1.0).
 *
 * usbmon records each URB twice: when the host submits it ('S': an OUT
 * transfer's data is here) and when it completes ('C': the bytes actually
 * moved, an IN transfer's data, the status — a stall is -EPIPE).  A transfer
 * is judged at its completion, with the data of its submission (matched by
 * the URB id) for OUT.  Per device (bus, address) the host is in one of two
 * places: waiting to send a CBW, or inside a command between its CBW and its
 * CSW.  A 31-byte bulk-out transfer that starts with 43425355h is a CBW; the
 * bulk transfers that follow are the data stage; a 13-byte bulk-in transfer
 * with 53425355h and the CBW's tag is the CSW (and so is whatever 13-byte
 * transfer comes once the data stage is complete — one with another
 * signature is an invalid CSW).  Each command becomes a struct cap_cmd, and
 * the iSCSI importer's writer and device inference take it from there: CMD,
 * DOUT/DIN, STATUS.
 *
 * CSW status 0 is GOOD, 1 CHECK CONDITION (the sense data come from the
 * REQUEST SENSE the host sends next, which is folded into that STATUS), 2 a
 * phase error: SERVICE_FAILURE.  The residue becomes resid=, the larger of
 * the CSW's residue and what the data stage left unmoved (as Linux
 * usb-storage does); a disagreement is a comment.  Each device is its own
 * I_T nexus, each CBW LUN its own LUN.  A device whose first bulk-out
 * transfer is a UAS Command IU (or every device, with --usb uas) is USB
 * Attached SCSI: its bulk transfers go to cap_uas.c. */
#include "capture/cap_priv.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pcap/usb.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_print.h"
#include "scsi/scsi.h"

_Static_assert(sizeof(pcap_usb_header) == 48, "LINKTYPE_USB_LINUX header: 48 bytes");
_Static_assert(sizeof(pcap_usb_header_mmapped) == 64, "LINKTYPE_USB_LINUX_MMAPPED header: 64 bytes");

#define CBW_LEN     31u
#define CSW_LEN     13u
#define CBW_SIG     0x43425355u  /* "USBC" little-endian */
#define CSW_SIG     0x53425355u  /* "USBS" */
#define URBS_MAX    4096u        /* submissions held for their completion before the oldest is dropped */
#define NOTES_MAX   20u          /* odd events reported per capture */
#define OP_REQUEST_SENSE 0x03

/* A submitted bulk URB, until its completion. */
struct urb {
    uint64_t id;
    uint16_t bus;
    uint8_t  dev, ep;
    uint32_t len;     /* bytes offered (OUT) or asked for (IN) */
    uint32_t caplen;  /* OUT: bytes of the data the capture holds */
    uint8_t *data;    /* OUT: those bytes */
    uint64_t pkt, offset, ns;  /* the submission: packet number, its record's file offset, time */
    uint32_t hl;               /* usbmon header bytes before the data in that packet */
    int32_t  uas_tag;          /* UAS: the READ/WRITE READY tag it was submitted for (-1: none) */
    bool     config;           /* a GET_DESCRIPTOR (CONFIGURATION) control transfer */
};

struct usb_dev {
    uint16_t bus;
    uint8_t  addr;
    struct cap_conn *k;       /* nexus, tags and the writer's view */
    struct cap_cmd *cmd;      /* between its CBW and its CSW */
    uint64_t moved;           /* data-stage bytes so far */
    struct cap_cmd *failed;   /* CSW status 1, waiting for the host's REQUEST SENSE */
    bool     autosense;       /* cmd is that REQUEST SENSE */
    bool     counted;         /* it sent a valid CBW: a Bulk-Only mass storage device */
    bool     uas_noted;
    struct cap_uas *uas;      /* a UAS device (cap_uas.c); NULL: Bulk-Only */
    uint8_t  uas_pipes[5];    /* from its configuration descriptor: endpoint per UAS pipe ID 1..4 (0: unknown) */
    uint64_t stray;           /* bulk transfers before its first CBW (other USB devices use bulk too) */
};

struct cap_usb {
    uint32_t hl;              /* the current packet's usbmon header length */
    struct urb *urbs;
    size_t n_urbs, urbs_cap;
    struct usb_dev *devs;
    size_t n_devs;
    unsigned odd;             /* odd events reported */
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static bool oom(struct cap_ctx *c)
{
    if (!c->rc)
        c->rc = -ENOMEM;
    return false;
}

static void odd(struct cap_ctx *c, const char *what)
{
    if (c->usb && c->usb->odd++ < NOTES_MAX)
        cap_note(c, "packet %llu (file offset %llu): %s; ignored", (unsigned long long)c->pkt,
                 (unsigned long long)c->pkt_offset, what);
}

/* "# +T d1 packet N (host|device): ..." */
static void dev_comment(struct cap_ctx *c, const struct usb_dev *d, bool from_device, const char *what)
{
    struct tbuf t = { 0 };
    tbuf_puts(&t, "# ");
    trace_fmt_seconds(&t, cap_time(c, c->now_ns), 3);
    tbuf_printf(&t, " usb %u.%u packet %llu (%s): %s", d->bus, d->addr, (unsigned long long)c->pkt,
                from_device ? "device" : "host", what);
    cap_comment(c, "%s", tbuf_str(&t));
    tbuf_free(&t);
}

static struct usb_dev *dev_get(struct cap_ctx *c, uint16_t bus, uint8_t addr)
{
    struct cap_usb *u = c->usb;
    for (size_t i = 0; i < u->n_devs; i++)
        if (u->devs[i].bus == bus && u->devs[i].addr == addr)
            return &u->devs[i];
    struct usb_dev *p = realloc(u->devs, (u->n_devs + 1) * sizeof *p);
    if (!p)
        return oom(c), NULL;
    u->devs = p;
    struct cap_conn *k = calloc(1, sizeof *k);
    if (!k)
        return oom(c), NULL;
    k->family = 0;
    k->nexus = -1;
    k->port[0] = bus;
    k->port[1] = addr;
    k->idx = (unsigned)u->n_devs + 1;
    snprintf(k->initiator_name, sizeof k->initiator_name, "USB host, bus %u", bus);
    snprintf(k->target_name, sizeof k->target_name, "USB device %u.%u", bus, addr);
    p[u->n_devs] = (struct usb_dev){ .bus = bus, .addr = addr, .k = k };
    return &p[u->n_devs++];
}


/* Writes a command's records; `known`: its CSW was valid. */
static void finish(struct cap_ctx *c, struct usb_dev *d, struct cap_cmd *cmd, bool known)
{
    if (known)
        cap_infer(c, d->k, cmd);
    cap_emit_command(c, d->k, cmd, !known);
    cap_cmd_free(c, cmd);
}

/* A command whose CSW said CHECK CONDITION, written without its sense data. */
static void failed_without_sense(struct cap_ctx *c, struct usb_dev *d, const char *why)
{
    if (!d->failed)
        return;
    char tag[TRACE_TAG_MAX + 1];
    cap_tag(tag, d->k, d->failed->itt);
    cap_note(c, "%s: CSW status 1 (command failed) and %s: written as CHECK CONDITION without sense", tag, why);
    finish(c, d, d->failed, true);
    d->failed = NULL;
}

/* The command in flight never got a (valid) CSW. */
static void abandon(struct cap_ctx *c, struct usb_dev *d, const char *why)
{
    if (!d->cmd)
        return;
    char tag[TRACE_TAG_MAX + 1];
    cap_tag(tag, d->k, d->cmd->itt);
    cap_note(c, "%s: %s (packet %llu)", tag, why, (unsigned long long)c->pkt);
    if (d->autosense) {
        failed_without_sense(c, d, "the REQUEST SENSE after it got no valid CSW");
        d->autosense = false;
    }
    finish(c, d, d->cmd, false);
    d->cmd = NULL;
}

static void cbw(struct cap_ctx *c, struct usb_dev *d, const uint8_t *p, uint32_t captured, uint32_t actual,
                const struct urb *sub)
{
    char msg[300];
    uint64_t ns = sub ? sub->ns : c->now_ns;
    if (captured < CBW_LEN) {
        snprintf(msg, sizeof msg, "a %u-byte bulk-out transfer to device %u.%u of which the capture holds %u "
                 "byte(s): a Command Block Wrapper not captured (its command is lost)", actual, d->bus, d->addr,
                 captured);
        odd(c, msg);
        return;
    }
    uint32_t sig = le32(p), cblen = p[14] & 0x1f;
    if (sig != CBW_SIG || actual != CBW_LEN || cblen < 1 || cblen > 16) {
        /* BOT 6.2.1: a CBW is 31 bytes with this signature and a CDB of 1..16
         * bytes; the device must not act on anything else.  Not our error:
         * the capture shows what the host sent. */
        if (sig != CBW_SIG)
            snprintf(msg, sizeof msg, "bulk-out transfer of %u bytes to device %u.%u where a CBW was expected: "
                     "signature 0x%08x at byte 0 of its data, not 43425355h (\"USBC\"); not a command", actual,
                     d->bus, d->addr, sig);
        else if (actual != CBW_LEN)
            snprintf(msg, sizeof msg, "CBW of %u bytes to device %u.%u (a CBW is 31); not a command", actual, d->bus,
                     d->addr);
        else
            snprintf(msg, sizeof msg, "CBW to device %u.%u with bCBWCBLength %u at byte 14 (1..16 allowed); not "
                     "a command", d->bus, d->addr, cblen);
        /* The bytes are in the submission's packet: name it. */
        if (c->usb->odd++ < NOTES_MAX)
            cap_note(c, "packet %llu (file offset %llu, the transfer's data from byte %u of the packet, completed in "
                     "packet %llu): %s; ignored", (unsigned long long)sub->pkt, (unsigned long long)sub->offset,
                     sub->hl, (unsigned long long)c->pkt, msg);
        return;
    }
    struct cap_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd) {
        oom(c);
        return;
    }
    uint32_t len = le32(p + 8);
    cmd->itt = le32(p + 4);
    cmd->lun = p[13] & 0x0f;
    cmd->flags = len ? ((p[12] & 0x80) ? 0x40 : 0x20) : 0; /* as iSCSI's R and W bits */
    memcpy(cmd->cdb, p + 15, cblen);
    cmd->edtl = len;
    cmd->cmd_pkt = cmd->last_pkt = c->pkt;
    cmd->cmd_ns = cmd->dout_ns = cmd->din_ns = ns;
    if (!d->counted) {
        d->counted = true;
        c->stats->usb_devices++;
    }
    bool sense = d->failed && cmd->cdb[0] == OP_REQUEST_SENSE && cmd->lun == d->failed->lun && (cmd->flags & 0x40);
    if (d->failed && !sense)
        failed_without_sense(c, d, "the host sent no REQUEST SENSE after it");
    d->autosense = sense;
    d->cmd = cmd;
    d->moved = 0;
}

static void data_stage(struct cap_ctx *c, struct usb_dev *d, bool in, const uint8_t *p, uint32_t captured,
                       uint32_t actual)
{
    struct cap_cmd *cmd = d->cmd;
    char tag[TRACE_TAG_MAX + 1];
    cap_tag(tag, d->k, cmd->itt);
    bool want = in ? (cmd->flags & 0x40) : (cmd->flags & 0x20);
    if (!want) {
        /* BOT 6.7: the thirteen cases; the device's CSW will say phase error. */
        cap_note(c, "%s: %u byte(s) of data %s the device in packet %llu, but the CBW announced %s; not in the "
                 "trace", tag, actual, in ? "from" : "to", (unsigned long long)c->pkt,
                 !cmd->edtl ? "no data" : in ? "data to the device" : "data from the device");
        return;
    }
    cmd->last_pkt = c->pkt;
    if (in)
        cmd->din_ns = c->now_ns;
    else
        cmd->dout_ns = c->now_ns;
    if (captured < actual)
        cap_note(c, "%s: bytes %u..%u of the %u-byte transfer in packet %llu are not in the capture (snap length, "
                 "or usbmon's limit)", tag, captured, actual - 1, actual, (unsigned long long)c->pkt);
    /* Only the captured bytes are kept: what lies past them (a transfer
     * longer than usbmon kept, or than the header claims) stays "not
     * captured" without memory spent on it. */
    uint64_t off = d->moved;
    uint64_t room = cmd->edtl > off ? cmd->edtl - off : 0;
    uint32_t keep = captured < room ? captured : (uint32_t)room;
    static uint8_t ones[4096];
    if (!ones[0])
        memset(ones, 1, sizeof ones);
    for (uint32_t done = 0; done < keep && !c->rc;) {
        uint32_t n = keep - done > sizeof ones ? (uint32_t)sizeof ones : keep - done;
        cap_cmd_data(c, cmd, (uint32_t)(off + done), p + done, ones, n);
        done += n;
    }
    if ((uint64_t)actual > room)
        cap_note(c, "%s: the data stage moved %llu byte(s), more than the CBW's %u: the rest is not in the trace",
                 tag, (unsigned long long)(off + actual), cmd->edtl);
    d->moved += actual;
}

static void csw(struct cap_ctx *c, struct usb_dev *d, const uint8_t *p)
{
    uint32_t tag = le32(p + 4), residue = le32(p + 8);
    uint8_t st = p[12];
    struct cap_cmd *cmd = d->cmd;
    char t[TRACE_TAG_MAX + 1], msg[200];
    if (!cmd) {
        snprintf(msg, sizeof msg, "CSW from device %u.%u (tag 0x%x, status %u) for a CBW not in the capture", d->bus,
                 d->addr, tag, st);
        odd(c, msg);
        return;
    }
    cap_tag(t, d->k, cmd->itt);
    if (tag != cmd->itt || st > 2) {
        snprintf(msg, sizeof msg, "the CSW is not valid (%s %u): the status is unknown (the host does reset recovery)",
                 tag != cmd->itt ? "its tag does not match the CBW's; tag" : "reserved bCSWStatus",
                 tag != cmd->itt ? tag : st);
        abandon(c, d, msg);
        return;
    }
    d->cmd = NULL;
    cmd->done = true;
    cmd->resp_pkt = c->pkt;
    cmd->resp_ns = c->now_ns;
    cmd->din_ns = c->now_ns;
    if (st == 2) {
        /* Phase error: no SCSI status at all; the host resets the device. */
        cap_note(c, "%s: phase error (CSW status 2, packet %llu): written as SERVICE_FAILURE; the host does reset "
                 "recovery", t, (unsigned long long)c->pkt);
        cmd->response = 1;
        if (d->autosense) {
            d->autosense = false;
            failed_without_sense(c, d, "its REQUEST SENSE ended in a phase error");
        }
        finish(c, d, cmd, true);
        return;
    }
    uint64_t unmoved = cmd->edtl > d->moved ? cmd->edtl - d->moved : 0;
    uint32_t r = residue > cmd->edtl ? cmd->edtl : residue;
    if (residue > cmd->edtl)
        cap_note(c, "%s: CSW residue %u is more than the CBW's length %u", t, residue, cmd->edtl);
    if (r != unmoved)
        cap_note(c, "%s: CSW residue %u, but the data stage left %llu of %u byte(s) unmoved: resid= is the larger", t,
                 residue, (unsigned long long)unmoved, cmd->edtl);
    uint32_t resid = r > unmoved ? r : (uint32_t)unmoved;
    cmd->response = 0;
    cmd->status = st ? SCSI_STATUS_CHECK_CONDITION : SCSI_STATUS_GOOD;
    cmd->rflags = resid ? 0x02 : 0;
    cmd->residual = resid;
    if (st == 1) {
        if (d->autosense) {
            d->autosense = false;
            failed_without_sense(c, d, "its REQUEST SENSE failed too");
        }
        d->failed = cmd;
        return;
    }
    if (!d->autosense) {
        finish(c, d, cmd, true);
        return;
    }
    /* The host's REQUEST SENSE for the command before it: its data are that
     * command's sense, and it is no record of its own (a replay gets the
     * sense with the CHECK CONDITION). */
    d->autosense = false;
    struct cap_cmd *f = d->failed;
    uint32_t n = cmd->edtl - resid;
    if (n > cmd->data_end)
        n = cmd->data_end;
    if (n > sizeof f->sense)
        n = sizeof f->sense;
    bool whole = true;
    for (uint32_t i = 0; i < n; i++)
        whole &= cmd->have[i] != 0;
    if (whole && n) {
        memcpy(f->sense, cmd->data, n);
        f->sense_len = n;
    }
    char ft[TRACE_TAG_MAX + 1];
    cap_tag(ft, d->k, f->itt);
    snprintf(msg, sizeof msg, "REQUEST SENSE (CBW tag 0x%x, packets %llu..%llu) is the host's sense request for %s: "
             "its %u byte(s) are in %s's STATUS", cmd->itt, (unsigned long long)cmd->cmd_pkt,
             (unsigned long long)c->pkt, ft, n, ft);
    d->failed = NULL;
    finish(c, d, f, true);
    if (!whole)
        cap_note(c, "%s: the sense data are not all in the capture", ft);
    dev_comment(c, d, true, msg);
    cap_cmd_free(c, cmd);
}

/* The usbmon header length of the current packet: where an IN transfer's data starts. */
static uint32_t captured_hl(const struct cap_ctx *c)
{
    return c->usb->hl;
}

/* Whether a device with no command yet is UAS (its first bulk-out transfer
 * a Command IU, or --usb uas); if so it becomes one. */
static bool uas_device(struct cap_ctx *c, struct usb_dev *d, const struct urb *sub, uint32_t actual)
{
    enum capture_usb_proto proto = c->opt->usb;
    if (proto == CAPTURE_USB_BOT || actual == 0)
        return false;
    const uint8_t *data = sub ? sub->data : NULL;
    uint32_t have = sub ? (sub->caplen < actual ? sub->caplen : actual) : 0;
    /* With the pipes known from the descriptors, any IU ID 01h on the
     * command pipe starts UAS (a malformed first Command IU is reported). */
    bool on_cmd_pipe = d->uas_pipes[1] && sub && sub->ep == d->uas_pipes[1] && have >= 1 && data[0] == 0x01;
    if (proto == CAPTURE_USB_AUTO && !on_cmd_pipe && !(data && cap_uas_command_shape(data, have, actual)))
        return false;
    d->uas = cap_uas_new(c, d->k, d->bus, d->addr, d->uas_pipes);
    if (!d->uas)
        return true;
    d->counted = true;
    c->stats->usb_devices++;
    return false; /* the transfer itself goes to cap_uas.c */
}

/* The completion of a bulk transfer. */
static void bulk(struct cap_ctx *c, struct usb_dev *d, bool in, uint8_t ep, const uint8_t *p, uint32_t captured,
                 uint32_t actual, int32_t status, const struct urb *sub)
{
    if (status != 0) {
        static const struct { int32_t v; const char *name; } names[] = {
            { -32, "stall (-EPIPE)" }, { -2, "unlinked by the host (-ENOENT)" },
            { -104, "unlinked by the host (-ECONNRESET)" }, { -71, "protocol error (-EPROTO)" },
            { -84, "CRC or bit-stuffing error (-EILSEQ)" }, { -62, "no response (-ETIME)" },
            { -75, "babble (-EOVERFLOW)" }, { -121, "short transfer (-EREMOTEIO)" },
            { -108, "device gone (-ESHUTDOWN)" }, { -19, "device gone (-ENODEV)" },
        };
        char what[160];
        const char *name = NULL;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].v == status)
                name = names[i].name;
        snprintf(what, sizeof what, "bulk-%s endpoint 0x%02x ended with status %d%s%s after %u byte(s)",
                 in ? "in" : "out", ep, status, name ? ", " : "", name ? name : "", actual);
        dev_comment(c, d, true, what);
    }
    if (!in && !d->counted && !d->uas && uas_device(c, d, sub, actual))
        return;
    if (d->uas) {
        struct cap_usb_xfer x = { .ep = ep, .data = in ? p : sub ? sub->data : NULL, .captured = in ? captured : 0,
                                  .actual = actual, .asked = sub ? sub->len : actual, .tag = sub ? sub->uas_tag : -1,
                                  .data_pkt = c->pkt, .data_offset = c->pkt_offset,
                                  .hl = in ? captured_hl(c) : 0, .ns = sub ? sub->ns : c->now_ns };
        if (!in && sub) {
            x.captured = sub->caplen < actual ? sub->caplen : actual;
            x.data_pkt = sub->pkt;
            x.data_offset = sub->offset;
            x.hl = sub->hl;
        }
        if (!x.data)
            x.captured = 0;
        cap_uas_bulk(c, d->uas, &x);
        return;
    }
    if (!in) {
        const uint8_t *data = sub ? sub->data : NULL;
        uint32_t have = sub ? sub->caplen : 0;
        if (have > actual)
            have = actual;
        if (actual == 0)
            return;
        if (!d->cmd) {
            if (!d->counted && !(have >= 4 && le32(data) == CBW_SIG)) {
                /* Not (yet) a mass storage device: a network adapter or a
                 * printer uses bulk endpoints too.  Counted, not reported. */
                d->stray++;
                if (have >= 1 && data[0] == 0x01 && actual >= 32 && !d->uas_noted) {
                    d->uas_noted = true;
                    cap_note(c, "device %u.%u: the bulk-out transfer in packet %llu looks like a UAS Command IU "
                             "(01h); UAS is not imported with --usb bot (docs/capture.md, USB Attached SCSI)",
                             d->bus, d->addr, (unsigned long long)c->pkt);
                }
                return;
            }
            cbw(c, d, data, have, actual, sub);
            return;
        }
        if (actual == CBW_LEN && have >= 4 && le32(data) == CBW_SIG && !((d->cmd->flags & 0x20) &&
                                                                          d->moved < d->cmd->edtl)) {
            abandon(c, d, "the host sent the next CBW before a CSW for this command");
            cbw(c, d, data, have, actual, sub);
            return;
        }
        data_stage(c, d, false, data ? data : p, have, actual);
        return;
    }
    if (actual == 0)
        return;
    struct cap_cmd *cmd = d->cmd;
    bool sig = captured >= CSW_LEN && actual == CSW_LEN && le32(p) == CSW_SIG;
    if (!cmd) {
        if (!d->counted)
            d->stray++;
        else if (sig)
            csw(c, d, p);
        else {
            char msg[160];
            snprintf(msg, sizeof msg, "bulk-in transfer of %u bytes from device %u.%u with no command outstanding",
                     actual, d->bus, d->addr);
            odd(c, msg);
        }
        return;
    }
    bool stage_done = !(cmd->flags & 0x40) || d->moved >= cmd->edtl;
    if (sig && (stage_done || le32(p + 4) == cmd->itt)) {
        csw(c, d, p);
        return;
    }
    if (stage_done) {
        char msg[200];
        snprintf(msg, sizeof msg, "the %u-byte bulk-in transfer where its CSW was due is not a CSW (%s): the status "
                 "is unknown (the host does reset recovery)", actual,
                 actual != CSW_LEN ? "a CSW is 13 bytes" : captured < 4 ? "not captured"
                                                                        : "signature not 53425355h");
        abandon(c, d, msg);
        return;
    }
    data_stage(c, d, true, p, captured, actual);
}

static void control(struct cap_ctx *c, uint16_t bus, uint8_t addr, const uint8_t *s)
{
    uint8_t type = s[0], req = s[1];
    uint16_t value = le16(s + 2), index = le16(s + 4);
    char what[120];
    if (type == 0x21 && req == 0xff) {
        struct usb_dev *d = dev_get(c, bus, addr);
        if (!d)
            return;
        snprintf(what, sizeof what, "Bulk-Only Mass Storage Reset, interface %u (reset recovery)", index);
        dev_comment(c, d, false, what);
        abandon(c, d, "the host reset the device before its CSW");
        failed_without_sense(c, d, "the host reset the device before asking for the sense");
    } else if (type == 0xa1 && req == 0xfe) {
        struct usb_dev *d = dev_get(c, bus, addr);
        if (d) {
            snprintf(what, sizeof what, "Get Max LUN, interface %u", index);
            dev_comment(c, d, false, what);
        }
    } else if (type == 0x02 && req == 0x01 && value == 0) {
        struct cap_usb *u = c->usb;
        for (size_t i = 0; i < u->n_devs; i++)
            if (u->devs[i].bus == bus && u->devs[i].addr == addr) {
                snprintf(what, sizeof what, "CLEAR_FEATURE (ENDPOINT_HALT), endpoint 0x%02x", index & 0xff);
                dev_comment(c, &u->devs[i], false, what);
            }
    }
}

/* A device's configuration descriptor: its UAS pipes, if it has them. */
static void config_descriptor(struct cap_ctx *c, uint16_t bus, uint8_t addr, const uint8_t *p, uint32_t n)
{
    uint8_t pipes[5];
    if (!cap_uas_pipes_from_config(p, n, pipes))
        return;
    struct usb_dev *d = dev_get(c, bus, addr);
    if (!d)
        return;
    memcpy(d->uas_pipes, pipes, sizeof pipes);
    char what[200];
    snprintf(what, sizeof what, "configuration descriptor: a UAS interface, pipes command 0x%02x, status 0x%02x, "
             "data-in 0x%02x, data-out 0x%02x", pipes[1], pipes[2], pipes[3], pipes[4]);
    dev_comment(c, d, true, what);
}

static struct urb *urb_find(struct cap_usb *u, uint64_t id, uint16_t bus, uint8_t dev, size_t *at)
{
    for (size_t i = u->n_urbs; i-- > 0;)
        if (u->urbs[i].id == id && u->urbs[i].bus == bus && u->urbs[i].dev == dev) {
            *at = i;
            return &u->urbs[i];
        }
    return NULL;
}

static void urb_drop(struct cap_usb *u, size_t at)
{
    free(u->urbs[at].data);
    memmove(&u->urbs[at], &u->urbs[at + 1], (u->n_urbs - at - 1) * sizeof u->urbs[0]);
    u->n_urbs--;
}

static void submit(struct cap_ctx *c, const pcap_usb_header *h, uint32_t hl, bool in, const uint8_t *data,
                   uint32_t captured)
{
    struct cap_usb *u = c->usb;
    size_t at;
    if (urb_find(u, h->id, h->bus_id, h->device_address, &at))
        urb_drop(u, at); /* resubmitted: the completion of the first was not captured */
    if (u->n_urbs == URBS_MAX) {
        odd(c, "more than 4096 bulk transfers submitted and not completed; the oldest is forgotten");
        urb_drop(u, 0);
    }
    if (u->n_urbs == u->urbs_cap) {
        size_t cap = u->urbs_cap ? u->urbs_cap * 2 : 16;
        struct urb *p = realloc(u->urbs, cap * sizeof *p);
        if (!p) {
            oom(c);
            return;
        }
        u->urbs = p;
        u->urbs_cap = cap;
    }
    struct urb r = { .id = h->id, .bus = h->bus_id, .dev = h->device_address, .ep = h->endpoint_number,
                     .len = h->urb_len, .pkt = c->pkt, .offset = c->pkt_offset, .ns = c->now_ns, .hl = hl,
                     .uas_tag = -1 };
    for (size_t i = 0; i < u->n_devs; i++)
        if (u->devs[i].bus == h->bus_id && u->devs[i].addr == h->device_address && u->devs[i].uas)
            r.uas_tag = cap_uas_submit_tag(u->devs[i].uas, h->endpoint_number);
    if (!in && captured) {
        r.data = malloc(captured);
        if (!r.data) {
            oom(c);
            return;
        }
        memcpy(r.data, data, captured);
        r.caplen = captured;
    }
    u->urbs[u->n_urbs++] = r;
}

void cap_usb_packet(struct cap_ctx *c, int dlt, const uint8_t *p, uint32_t caplen, uint32_t wirelen)
{
    (void)wirelen;
    if (!c->usb && !(c->usb = calloc(1, sizeof *c->usb))) {
        oom(c);
        return;
    }
    uint32_t hl = dlt == DLT_USB_LINUX ? 48u : 64u;
    c->usb->hl = hl;
    if (caplen < hl) {
        odd(c, caplen ? "usbmon header cut short" : "no bytes captured");
        return;
    }
    /* libpcap has put the header in this host's byte order. */
    pcap_usb_header h;
    memcpy(&h, p, sizeof h);
    bool in = h.endpoint_number & URB_TRANSFER_IN;
    if (h.event_type != URB_SUBMIT && h.event_type != URB_COMPLETE && h.event_type != URB_ERROR) {
        odd(c, "usbmon event type is not S, C or E");
        return;
    }
    if (h.transfer_type == URB_CONTROL) {
        if (h.event_type == URB_SUBMIT && h.setup_flag == 0) {
            control(c, h.bus_id, h.device_address, p + 40);
            /* GET_DESCRIPTOR (CONFIGURATION): its answer names UAS pipes. */
            if (p[40] == 0x80 && p[41] == 0x06 && p[43] == 0x02) {
                submit(c, &h, hl, true, NULL, 0);
                if (c->usb->n_urbs)
                    c->usb->urbs[c->usb->n_urbs - 1].config = true;
            }
        } else if (h.event_type == URB_COMPLETE) {
            size_t at;
            struct urb *sub = urb_find(c->usb, h.id, h.bus_id, h.device_address, &at);
            if (sub && sub->config) {
                uint32_t n = h.data_flag == 0 ? h.data_len : 0;
                if (n > caplen - hl)
                    n = caplen - hl;
                config_descriptor(c, h.bus_id, h.device_address, p + hl, n);
                urb_drop(c->usb, at);
            }
        }
        return;
    }
    if (h.transfer_type != URB_BULK)
        return; /* interrupt and isochronous transfers: not mass storage */
    uint32_t captured = h.data_len;
    if (captured > caplen - hl)
        captured = caplen - hl;
    const uint8_t *data = p + hl;
    if (h.data_flag != 0)
        captured = 0; /* usbmon says no data follows */
    struct cap_usb *u = c->usb;
    if (h.event_type == URB_SUBMIT) {
        submit(c, &h, hl, in, data, captured);
        return;
    }
    size_t at = 0;
    struct urb *sub = urb_find(u, h.id, h.bus_id, h.device_address, &at);
    if (h.event_type == URB_ERROR) {
        if (sub)
            urb_drop(u, at);
        return;
    }
    struct usb_dev *d = dev_get(c, h.bus_id, h.device_address);
    if (d) {
        uint32_t actual = h.urb_len;
        if (in && captured > actual)
            captured = actual;
        bulk(c, d, in, h.endpoint_number, data, in ? captured : 0, actual, h.status, sub);
    }
    if (sub && urb_find(u, h.id, h.bus_id, h.device_address, &at))
        urb_drop(u, at);
}

void cap_usb_finish(struct cap_ctx *c)
{
    struct cap_usb *u = c->usb;
    if (!u)
        return;
    for (size_t i = 0; i < u->n_devs && !c->rc; i++) {
        struct usb_dev *d = &u->devs[i];
        if (d->uas) {
            cap_uas_finish(c, d->uas);
            continue;
        }
        if (d->cmd) {
            char tag[TRACE_TAG_MAX + 1];
            cap_tag(tag, d->k, d->cmd->itt);
            cap_note(c, "device %u.%u: the capture ends before the CSW of %s", d->bus, d->addr, tag);
            if (d->autosense) {
                d->autosense = false;
                failed_without_sense(c, d, "the capture ends inside its REQUEST SENSE");
            }
            finish(c, d, d->cmd, false);
            d->cmd = NULL;
        }
        failed_without_sense(c, d, "the capture ends before a REQUEST SENSE");
        if (!d->counted && d->stray)
            cap_note(c, "device %u.%u: %llu bulk transfer(s), none of them a CBW: not a Bulk-Only mass storage "
                     "device, or its commands are not in the capture; ignored", d->bus, d->addr,
                     (unsigned long long)d->stray);
    }
}

void cap_usb_free(struct cap_ctx *c)
{
    struct cap_usb *u = c->usb;
    if (!u)
        return;
    for (size_t i = 0; i < u->n_urbs; i++)
        free(u->urbs[i].data);
    free(u->urbs);
    for (size_t i = 0; i < u->n_devs; i++) {
        cap_cmd_free(c, u->devs[i].cmd);
        cap_cmd_free(c, u->devs[i].failed);
        cap_uas_free(c, u->devs[i].uas);
        cap_conn_free(u->devs[i].k);
    }
    free(u->devs);
    free(u);
    c->usb = NULL;
}
