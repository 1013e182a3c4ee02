/* capture/cap_uas.c — USB Attached SCSI (UAS) out of Linux usbmon captures:
 * the information units (IUs) of one device's four bulk pipes become the
 * same struct cap_cmd / struct cap_tmf the Bulk-Only reader and the iSCSI
 * importer hand to the trace writer (cap_emit.c) and device inference.
 *
 * The pipes.  A UAS interface names its pipes in pipe usage descriptors;
 * when the capture holds the host's GET_DESCRIPTOR (CONFIGURATION) they come
 * from there (cap_uas_pipes_from_config).  A capture started after
 * enumeration does not hold them, and usbmon shows endpoints.  So then they
 * are learned from the traffic: the command pipe is the
 * bulk-out endpoint of the first Command IU (cap_usb.c saw its shape), the
 * status pipe the bulk-in endpoint of the first transfer shaped as a status
 * IU (Sense, Response, READ READY or WRITE READY, of exactly its length)
 * for a tag in flight; other bulk-in and bulk-out endpoints are the data
 * pipes.  A malformed IU on a learned pipe is a note naming the packet, the
 * byte and the field, not the end of the import: the capture shows what the
 * host and device sent.
 *
 * The data.  UAS carries no transfer length: a command's length is what the
 * host submitted on the data pipes for it (the usbmon submission's length),
 * resid= what the device did not move of it.  Which command a data transfer
 * belongs to:
 *  - USB 2 (no streams): the device sends READ READY or WRITE READY with the
 *    tag, the host submits the data URB in answer; cap_uas_submit_tag ties
 *    that submission to the tag.
 *  - USB 3 (bulk streams, stream ID = tag, no ready IUs): usbmon's header
 *    has no stream ID.  With one command in flight the data is its; with
 *    several the capture cannot say, and the import stops with an error
 *    naming the packet rather than guess. */
#include "capture/cap_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"

enum {
    IU_COMMAND = 0x01, IU_SENSE = 0x03, IU_RESPONSE = 0x04, IU_TASK_MGMT = 0x05,
    IU_READ_READY = 0x06, IU_WRITE_READY = 0x07,
};

#define CMD_IU_LEN    32u   /* IU header, LUN, 16 CDB bytes */
#define SENSE_IU_HDR  16u   /* before the sense data */
#define RESP_IU_LEN   8u
#define READY_IU_LEN  4u
#define TMF_IU_LEN    16u
#define TASKS_MAX     256u  /* commands in flight per device (Linux uas queues at most its tag count) */
#define TMFS_MAX      16u
#define UAS_NOTES_MAX 20u   /* malformed IUs reported per device */

struct uas_task {
    struct cap_cmd *cmd;
    uint64_t moved;         /* data bytes moved */
};

struct cap_uas {
    struct cap_conn *k;
    uint16_t bus;
    uint8_t  addr;
    int      cmd_ep, status_ep;        /* -1: not learned yet */
    int32_t  ready[2];                 /* [0] READ READY, [1] WRITE READY tag pending; -1 none */
    struct uas_task tasks[TASKS_MAX];
    size_t   n_tasks;
    struct cap_tmf tmfs[TMFS_MAX];
    size_t   n_tmfs;
    unsigned notes;
};

/* The task management functions a trace has a record for, as the iSCSI
 * function codes cap_emit_tmf takes (UAS uses SAM's codes). */
static const struct { uint8_t uas, iscsi; const char *name; } tmf_fns[] = {
    { 0x01, 1, "ABORT TASK" },        { 0x02, 2, "ABORT TASK SET" }, { 0x04, 4, "CLEAR TASK SET" },
    { 0x08, 5, "LOGICAL UNIT RESET" }, { 0x10, 6, "I_T NEXUS RESET" }, { 0x40, 3, "CLEAR ACA" },
    { 0x80, 9, "QUERY TASK" },         { 0x81, 0, "QUERY TASK SET" },  { 0x82, 0, "QUERY ASYNCHRONOUS EVENT" },
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void oom(struct cap_ctx *c)
{
    if (!c->rc)
        c->rc = -ENOMEM;
}

/* A malformed IU: where (packet, file offset, byte of the packet and of the
 * IU), which field, and what is wrong with it. */
static void bad_iu(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x, uint32_t at,
                   const char *field, const char *what)
{
    if (u->notes++ >= UAS_NOTES_MAX)
        return;
    cap_note(c, "usb %u.%u packet %llu (file offset %llu), byte %u of the packet (byte %u of the IU, %s): %s; "
             "ignored", u->bus, u->addr, (unsigned long long)x->data_pkt, (unsigned long long)x->data_offset,
             x->hl + at, at, field, what);
}

bool cap_uas_command_shape(const uint8_t *p, uint32_t captured, uint32_t actual)
{
    return captured >= CMD_IU_LEN && p[0] == IU_COMMAND && p[1] == 0 &&
           actual == CMD_IU_LEN + 4u * (p[6] >> 2u);
}

struct cap_uas *cap_uas_new(struct cap_ctx *c, struct cap_conn *k, uint16_t bus, uint8_t addr,
                            const uint8_t *pipes)
{
    struct cap_uas *u = calloc(1, sizeof *u);
    if (!u) {
        oom(c);
        return NULL;
    }
    *u = (struct cap_uas){ .k = k, .bus = bus, .addr = addr, .cmd_ep = -1, .status_ep = -1, .ready = { -1, -1 } };
    if (pipes && pipes[1] && pipes[2]) {
        u->cmd_ep = pipes[1];
        u->status_ep = pipes[2];
    }
    return u;
}

bool cap_uas_pipes_from_config(const uint8_t *d, uint32_t n, uint8_t pipes[5])
{
    bool uas = false;
    int ep = -1;   /* the endpoint the next pipe usage descriptor describes */
    memset(pipes, 0, 5);
    for (uint32_t at = 0; at + 2 <= n && d[at] >= 2 && at + d[at] <= n; at += d[at]) {
        const uint8_t *x = d + at;
        if (x[1] == 0x04 && x[0] >= 9) {          /* INTERFACE */
            uas = x[5] == 0x08 && x[6] == 0x06 && x[7] == 0x62;
            ep = -1;
        } else if (x[1] == 0x05 && x[0] >= 7) {   /* ENDPOINT */
            ep = uas && (x[3] & 0x03) == 0x02 ? x[2] : -1;
        } else if (x[1] == 0x24 && x[0] >= 3 && ep >= 0 && x[2] >= 1 && x[2] <= 4) {
            pipes[x[2]] = (uint8_t)ep;            /* PIPE USAGE: bPipeID */
            ep = -1;
        }
    }
    return pipes[1] && pipes[2] && pipes[3] && pipes[4];
}

static struct uas_task *task_of(struct cap_uas *u, uint32_t tag)
{
    for (size_t i = 0; i < u->n_tasks; i++)
        if (u->tasks[i].cmd->itt == tag)
            return &u->tasks[i];
    return NULL;
}

static struct cap_tmf *tmf_of(struct cap_uas *u, uint32_t tag)
{
    for (size_t i = 0; i < u->n_tmfs; i++)
        if (u->tmfs[i].itt == tag)
            return &u->tmfs[i];
    return NULL;
}

/* Writes a task's records (known: its Sense IU was seen) and forgets it. */
static void task_end(struct cap_ctx *c, struct cap_uas *u, struct uas_task *t, bool known)
{
    struct cap_cmd *cmd = t->cmd;
    for (int d = 0; d < 2; d++)
        if (u->ready[d] == (int32_t)cmd->itt)
            u->ready[d] = -1;
    if (known)
        cap_infer(c, u->k, cmd);
    cap_emit_command(c, u->k, cmd, !known);
    cap_cmd_free(c, cmd);
    *t = u->tasks[--u->n_tasks];
}

/* SAM LUN: the single-level peripheral and flat addressing methods. */
static uint64_t lun_of(const uint8_t *p)
{
    return (uint64_t)(p[0] & 0x3f) << 8 | p[1];
}

static void command_iu(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x)
{
    const uint8_t *p = x->data;
    char msg[200];
    if (x->captured < CMD_IU_LEN || x->actual < CMD_IU_LEN) {
        snprintf(msg, sizeof msg, "a Command IU of %u byte(s) (%u captured); it is at least %u: not a command",
                 x->actual, x->captured, CMD_IU_LEN);
        bad_iu(c, u, x, x->captured < x->actual ? x->captured : x->actual, "length", msg);
        return;
    }
    uint32_t add = 4u * (p[6] >> 2u);
    if (x->actual != CMD_IU_LEN + add) {
        snprintf(msg, sizeof msg, "additional CDB length %u byte(s) makes the IU %u bytes, but the transfer is %u",
                 add, CMD_IU_LEN + add, x->actual);
        bad_iu(c, u, x, 6, "ADDITIONAL CDB LENGTH", msg);
        return;
    }
    uint32_t tag = be16(p + 2);
    struct uas_task *old = task_of(u, tag);
    if (old) {
        char t[TRACE_TAG_MAX + 1];
        cap_tag(t, u->k, tag);
        cap_note(c, "%s: packet %llu reuses tag 0x%x while its command from packet %llu is in flight (an "
                 "overlapped tag; the device answers it with a Response IU): the earlier command's status is unknown",
                 t, (unsigned long long)x->data_pkt, tag, (unsigned long long)old->cmd->cmd_pkt);
        task_end(c, u, old, false);
    }
    if (u->n_tasks == TASKS_MAX) {
        bad_iu(c, u, x, 2, "TAG", "more than 256 commands in flight on one device");
        return;
    }
    struct cap_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd) {
        oom(c);
        return;
    }
    cmd->itt = tag;
    cmd->lun = lun_of(p + 8);
    memcpy(cmd->cdb, p + 16, 16);
    cmd->cdb_extended = add != 0;
    cmd->cmd_pkt = cmd->last_pkt = x->data_pkt;
    cmd->cmd_ns = cmd->dout_ns = cmd->din_ns = x->ns;
    u->tasks[u->n_tasks++] = (struct uas_task){ .cmd = cmd };
}

static void task_mgmt_iu(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x)
{
    const uint8_t *p = x->data;
    if (x->captured < TMF_IU_LEN || x->actual != TMF_IU_LEN) {
        char msg[160];
        snprintf(msg, sizeof msg, "a Task Management IU of %u byte(s) (%u captured); it is %u", x->actual,
                 x->captured, TMF_IU_LEN);
        bad_iu(c, u, x, x->captured < TMF_IU_LEN ? x->captured : TMF_IU_LEN, "length", msg);
        return;
    }
    if (u->n_tmfs == TMFS_MAX) {
        bad_iu(c, u, x, 2, "TAG", "more than 16 task management functions in flight on one device");
        return;
    }
    c->stats->tmfs++;
    u->tmfs[u->n_tmfs++] = (struct cap_tmf){ .itt = be16(p + 2), .fn = p[4], .rtt = be16(p + 6),
                                             .lun = lun_of(p + 8), .pkt = x->data_pkt, .ns = x->ns };
}

static void response_iu(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x)
{
    const uint8_t *p = x->data;
    uint32_t tag = be16(p + 2);
    uint8_t code = p[7];
    struct cap_tmf *t = tmf_of(u, tag);
    char msg[240];
    if (!t) {
        struct uas_task *task = task_of(u, tag);
        if (!task) {
            snprintf(msg, sizeof msg, "Response IU (code %02xh) for tag 0x%x, which names no command or task "
                     "management function in flight", code, tag);
            bad_iu(c, u, x, 2, "TAG", msg);
            return;
        }
        /* The device refused the Command IU itself (invalid IU, overlapped
         * tag): no SCSI status, as a service delivery failure. */
        char tt[TRACE_TAG_MAX + 1];
        cap_tag(tt, u->k, tag);
        cap_note(c, "%s: Response IU with response code %02xh in packet %llu instead of a Sense IU: written as "
                 "SERVICE_FAILURE", tt, code, (unsigned long long)c->pkt);
        task->cmd->done = true;
        task->cmd->response = 1;
        task->cmd->resp_pkt = c->pkt;
        task->cmd->resp_ns = c->now_ns;
        task_end(c, u, task, true);
        return;
    }
    uint8_t fn = 0;
    const char *name = NULL;
    for (size_t i = 0; i < sizeof tmf_fns / sizeof tmf_fns[0]; i++)
        if (tmf_fns[i].uas == t->fn) {
            fn = tmf_fns[i].iscsi;
            name = tmf_fns[i].name;
        }
    char tt[TRACE_TAG_MAX + 1];
    cap_tag(tt, u->k, tag);
    if (!fn) {
        cap_note(c, "%s: task management function %02xh (%s) from packet %llu, response code %02xh: it has no "
                 "trace form; written as this comment", tt, t->fn, name ? name : "reserved",
                 (unsigned long long)t->pkt, code);
    } else {
        /* UAS response codes: 00h TMF complete, 08h TMF succeeded (a QUERY
         * found what it asked about), 09h incorrect LUN; 02h invalid IU,
         * 04h not supported, 05h failed, 0Ah overlapped tag are rejections. */
        enum trace_tmf_resp r = code == 0x00   ? TRACE_TMF_FUNCTION_COMPLETE
                                : code == 0x08 ? TRACE_TMF_FUNCTION_SUCCEEDED
                                : code == 0x09 ? TRACE_TMF_INCORRECT_LUN
                                               : TRACE_TMF_FUNCTION_REJECTED;
        if (t->fn == 0x10)
            cap_note(c, "%s: I_T NEXUS RESET written as target-reset (the device is one target)", tt);
        struct uas_task *ref = (t->fn == 0x01 || t->fn == 0x80) ? task_of(u, t->rtt) : NULL;
        struct cap_tmf copy = *t;
        copy.fn = fn;
        cap_emit_tmf_resp(c, u->k, &copy, code, r, ref ? ref->cmd : NULL);
        if (ref && ref->cmd->ended) {
            /* Aborted: it gets no Sense IU; its CMD is written. */
            cap_cmd_free(c, ref->cmd);
            *ref = u->tasks[--u->n_tasks];
        }
    }
    *t = u->tmfs[--u->n_tmfs];
}

static void sense_iu(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x, struct uas_task *task)
{
    const uint8_t *p = x->data;
    uint32_t len = be16(p + 14);
    if (SENSE_IU_HDR + len > x->actual) {
        char msg[160];
        snprintf(msg, sizeof msg, "sense length %u runs past the %u-byte IU (%u + %u bytes)", len, x->actual,
                 SENSE_IU_HDR, len);
        bad_iu(c, u, x, 14, "LENGTH", msg);
        return;
    }
    struct cap_cmd *cmd = task->cmd;
    uint32_t have = x->captured > SENSE_IU_HDR ? x->captured - SENSE_IU_HDR : 0;
    uint32_t n = len < have ? len : have;
    if (n > sizeof cmd->sense)
        n = sizeof cmd->sense;
    if (n < len) {
        char t[TRACE_TAG_MAX + 1];
        cap_tag(t, u->k, cmd->itt);
        cap_note(c, "%s: %u of the %u sense byte(s) in packet %llu are in the trace (capture or trace limit)", t, n,
                 len, (unsigned long long)c->pkt);
    }
    if (be16(p + 4)) {
        /* SAM's status qualifier (a retry delay, for one): a trace has no
         * field for it. */
        char t[TRACE_TAG_MAX + 1];
        cap_tag(t, u->k, cmd->itt);
        cap_note(c, "%s: the Sense IU in packet %llu has status qualifier 0x%04x (bytes 4..5), which the trace does "
                 "not hold", t, (unsigned long long)c->pkt, be16(p + 4));
    }
    memcpy(cmd->sense, p + SENSE_IU_HDR, n);
    cmd->sense_len = n;
    cmd->done = true;
    cmd->response = 0;
    cmd->status = p[6];
    uint64_t unmoved = cmd->edtl > task->moved ? cmd->edtl - task->moved : 0;
    cmd->residual = (uint32_t)unmoved;
    cmd->rflags = unmoved ? 0x02 : 0;
    cmd->resp_pkt = c->pkt;
    cmd->resp_ns = c->now_ns;
    task_end(c, u, task, true);
}

/* A transfer on the status pipe (or one shaped like it, learning the pipe);
 * `learn`: only say whether it is a well-formed status IU for a tag in
 * flight, and act on nothing. */
static bool status_iu(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x, bool learn)
{
    const uint8_t *p = x->data;
    char msg[200];
    if (x->captured < READY_IU_LEN) {
        if (!learn) {
            snprintf(msg, sizeof msg, "a %u-byte transfer on the status pipe (%u captured) is shorter than an "
                     "IU header (4 bytes)", x->actual, x->captured);
            bad_iu(c, u, x, x->captured, "IU header", msg);
        }
        return false;
    }
    uint8_t id = p[0];
    uint32_t tag = be16(p + 2);
    struct uas_task *task = task_of(u, tag);
    uint32_t need = id == IU_SENSE ? SENSE_IU_HDR : id == IU_RESPONSE ? RESP_IU_LEN : READY_IU_LEN;
    if (learn) {
        if (id == IU_SENSE)
            return task && x->captured >= SENSE_IU_HDR && SENSE_IU_HDR + be16(p + 14) == x->actual;
        if (id == IU_RESPONSE)
            return (task || tmf_of(u, tag)) && x->actual == RESP_IU_LEN;
        return (id == IU_READ_READY || id == IU_WRITE_READY) && task && x->actual == READY_IU_LEN;
    }
    if (id != IU_SENSE && id != IU_RESPONSE && id != IU_READ_READY && id != IU_WRITE_READY) {
        snprintf(msg, sizeof msg, "IU ID %02xh is not one the status pipe carries (03h Sense, 04h Response, 06h "
                 "READ READY, 07h WRITE READY)", id);
        bad_iu(c, u, x, 0, "IU ID", msg);
        return false;
    }
    if (x->captured < need) {
        snprintf(msg, sizeof msg, "a %s IU of %u byte(s) (%u captured); it is at least %u",
                 id == IU_SENSE ? "Sense" : id == IU_RESPONSE ? "Response" : "READY", x->actual, x->captured, need);
        bad_iu(c, u, x, x->captured, "length", msg);
        return false;
    }
    if (id == IU_RESPONSE) {
        response_iu(c, u, x);
        return true;
    }
    if (!task) {
        snprintf(msg, sizeof msg, "tag 0x%x names no command in flight (%s IU)", tag,
                 id == IU_SENSE ? "Sense" : id == IU_READ_READY ? "READ READY" : "WRITE READY");
        bad_iu(c, u, x, 2, "TAG", msg);
        return false;
    }
    if (id == IU_SENSE)
        sense_iu(c, u, x, task);
    else
        u->ready[id == IU_WRITE_READY] = (int32_t)tag;
    return true;
}

/* The error for data that only a stream ID could attribute. */
static void streams_ambiguous(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x, bool in)
{
    char tags[64] = "";
    size_t o = 0;
    for (size_t i = 0; i < u->n_tasks && i < 4 && o < sizeof tags; i++)
        o += (size_t)snprintf(tags + o, sizeof tags - o, "%s0x%x", i ? ", " : "", u->tasks[i].cmd->itt);
    located_set(c->err, c->file, 0, 0, c->pkt_offset,
                "packet %llu (byte offset %llu): a %u-byte bulk-%s transfer of UAS device %u.%u while %zu commands "
                "are in flight (tags %s%s) and no READ/WRITE READY IU names one: the device uses USB 3 bulk "
                "streams (stream ID = tag) and usbmon records no stream ID, so the data cannot be attributed; "
                "capture with one command in flight (queue_depth 1) or on a USB 2 port (docs/capture.md, UAS)",
                (unsigned long long)c->pkt, (unsigned long long)c->pkt_offset, x->actual, in ? "in" : "out", u->bus,
                u->addr, u->n_tasks, tags, u->n_tasks > 4 ? ", ..." : "");
    if (!c->rc)
        c->rc = -EINVAL;
}

static void data(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x, bool in)
{
    int32_t tag = x->tag >= 0 ? x->tag : u->ready[!in];
    struct uas_task *task = NULL;
    if (tag >= 0)
        task = task_of(u, (uint32_t)tag);
    else if (u->n_tasks == 1)
        task = &u->tasks[0];
    else if (u->n_tasks > 1) {
        streams_ambiguous(c, u, x, in);
        return;
    }
    if (!task) {
        char msg[160];
        snprintf(msg, sizeof msg, "a %u-byte bulk-%s transfer on endpoint 0x%02x with no command in flight to "
                 "take it%s", x->actual, in ? "in" : "out", x->ep, tag >= 0 ? " (its READY IU's tag has ended)" : "");
        bad_iu(c, u, x, 0, "data", msg);
        return;
    }
    struct cap_cmd *cmd = task->cmd;
    uint8_t flag = in ? 0x40 : 0x20;
    cmd->flags |= flag;
    cmd->last_pkt = c->pkt;
    if (in)
        cmd->din_ns = c->now_ns;
    else
        cmd->dout_ns = c->now_ns;
    /* The host's buffer is the command's length: what it submitted. */
    uint32_t asked = x->asked > x->actual ? x->asked : x->actual;
    uint64_t edtl = (uint64_t)cmd->edtl + asked;
    cmd->edtl = edtl > UINT32_MAX ? UINT32_MAX : (uint32_t)edtl;
    if (x->captured < x->actual) {
        char t[TRACE_TAG_MAX + 1];
        cap_tag(t, u->k, cmd->itt);
        cap_note(c, "%s: bytes %u..%u of the %u-byte transfer in packet %llu are not in the capture (snap length, "
                 "or usbmon's limit)", t, x->captured, x->actual - 1, x->actual, (unsigned long long)c->pkt);
    }
    static uint8_t ones[4096];
    if (!ones[0])
        memset(ones, 1, sizeof ones);
    uint32_t keep = x->captured < x->actual ? x->captured : x->actual;
    for (uint32_t done = 0; done < keep && !c->rc && task->moved + done < UINT32_MAX;) {
        uint32_t n = keep - done > sizeof ones ? (uint32_t)sizeof ones : keep - done;
        cap_cmd_data(c, cmd, (uint32_t)(task->moved + done), x->data + done, ones, n);
        done += n;
    }
    task->moved += x->actual;
}

int32_t cap_uas_submit_tag(const struct cap_uas *u, uint8_t ep)
{
    bool in = ep & 0x80;
    if (ep == u->cmd_ep || ep == u->status_ep)
        return -1;
    return u->ready[!in];
}

void cap_uas_bulk(struct cap_ctx *c, struct cap_uas *u, const struct cap_usb_xfer *x)
{
    if (x->actual == 0)
        return;
    bool in = x->ep & 0x80;
    if (!in) {
        if (u->cmd_ep < 0 && cap_uas_command_shape(x->data, x->captured, x->actual))
            u->cmd_ep = x->ep;
        if (x->ep != u->cmd_ep) {
            data(c, u, x, false);
            return;
        }
        uint8_t id = x->captured ? x->data[0] : 0;
        if (!x->captured)
            bad_iu(c, u, x, 0, "IU ID", "the command pipe transfer's bytes are not in the capture");
        else if (id == IU_COMMAND)
            command_iu(c, u, x);
        else if (id == IU_TASK_MGMT)
            task_mgmt_iu(c, u, x);
        else {
            char msg[160];
            snprintf(msg, sizeof msg, "IU ID %02xh is not one the command pipe carries (01h Command, 05h Task "
                     "Management)", id);
            bad_iu(c, u, x, 0, "IU ID", msg);
        }
        return;
    }
    if (u->status_ep < 0 && status_iu(c, u, x, true))
        u->status_ep = x->ep;
    if (x->ep == u->status_ep)
        status_iu(c, u, x, false);
    else
        data(c, u, x, true);
}

void cap_uas_finish(struct cap_ctx *c, struct cap_uas *u)
{
    while (u->n_tasks && !c->rc) {
        char t[TRACE_TAG_MAX + 1];
        cap_tag(t, u->k, u->tasks[0].cmd->itt);
        cap_note(c, "usb %u.%u: the capture ends before the Sense IU of %s", u->bus, u->addr, t);
        task_end(c, u, &u->tasks[0], false);
    }
    for (size_t i = 0; i < u->n_tmfs; i++) {
        char t[TRACE_TAG_MAX + 1];
        cap_tag(t, u->k, u->tmfs[i].itt);
        cap_note(c, "%s: task management function %02xh from packet %llu got no Response IU in the capture; not "
                 "written", t, u->tmfs[i].fn, (unsigned long long)u->tmfs[i].pkt);
    }
    u->n_tmfs = 0;
    if (u->notes > UAS_NOTES_MAX)
        cap_note(c, "usb %u.%u: %u more malformed IU(s) or unattributed transfers, not listed one by one", u->bus,
                 u->addr, u->notes - UAS_NOTES_MAX);
}

void cap_uas_free(struct cap_ctx *c, struct cap_uas *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_tasks; i++)
        cap_cmd_free(c, u->tasks[i].cmd);
    free(u);
}
