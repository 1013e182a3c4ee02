/* capture/cap_emit.c — the records of the imported trace.  Every line is a
 * trace_line printed by the conformance printer (trace_fmt_line); nothing
 * here formats record syntax by hand.  A command is written when its
 * response arrives (or at the end of the capture): its CMD, DOUT and DIN
 * pieces and STATUS together, so tasks never interleave. */
#include "capture/cap_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_names.h"
#include "conformance/format/trace_print.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"

#define PIECE_BYTES 4096u  /* data bytes per DOUT / DIN line; more come in pieces with offset= */
#define MIN_REPEAT  8u     /* equal bytes written as xx*N from this many on */

uint64_t cap_time(const struct cap_ctx *c, uint64_t ns)
{
    return ns > c->t0_ns ? ns - c->t0_ns : 0;
}

void cap_emit_line(struct cap_ctx *c, const struct trace_line *l)
{
    if (c->dry)
        return;
    tbuf_reset(&c->line);
    trace_fmt_line(&c->line, &c->empty, l);
    tbuf_putc(&c->line, '\n');
    if (c->line.oom) {
        if (!c->rc)
            c->rc = -ENOMEM;
        return;
    }
    if (fwrite(tbuf_str(&c->line), 1, c->line.len, c->body) != c->line.len && !c->rc)
        c->rc = -EIO;
}

static void vcomment(struct cap_ctx *c, const char *fmt, va_list ap)
{
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    struct trace_line l = { .kind = TRACE_LINE_COMMENT, .comment = text };
    cap_emit_line(c, &l);
}

void cap_comment(struct cap_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vcomment(c, fmt, ap);
    va_end(ap);
}

void cap_note(struct cap_ctx *c, const char *fmt, ...)
{
    char text[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    c->stats->notes++;
    cap_comment(c, "# capture: %s", text);
}

void cap_tag(char tag[TRACE_TAG_MAX + 1], const struct cap_conn *k, uint32_t itt)
{
    /* USB devices: d<device>.<CBW tag>; iSCSI connections: c<connection>.<ITT>. */
    snprintf(tag, TRACE_TAG_MAX + 1, "%c%u.%x", k->family ? 'c' : 'd', k->idx, itt);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void addr_text(char *out, size_t cap, const struct cap_conn *k, int side)
{
    const uint8_t *a = k->addr[side];
    if (k->family == 0 && side)
        snprintf(out, cap, "usbmon bus %u, address %u", k->port[0], k->port[1]);
    else if (k->family == 0)
        snprintf(out, cap, "usbmon bus %u", k->port[0]);
    else if (k->family == 4)
        snprintf(out, cap, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], k->port[side]);
    else {
        size_t o = (size_t)snprintf(out, cap, "[");
        for (int i = 0; i < 16 && o < cap; i += 2)
            o += (size_t)snprintf(out + o, cap - o, "%s%x", i ? ":" : "", cap_be16(a + i));
        if (o < cap)
            snprintf(out + o, cap - o, "]:%u", k->port[side]);
    }
}

/* The I_T nexus of a connection: the initiator name and ISID (or its
 * address when the login is not in the capture) with the target name (or
 * address).  Connections of one session share it. */
int cap_nexus_of(struct cap_ctx *c, struct cap_conn *k)
{
    if (k->nexus >= 0)
        return k->nexus;
    char ini[300], tgt[300], a[80];
    if (k->family == 0) /* USB: the names are the bus and the device (cap_usb.c) */
        snprintf(ini, sizeof ini, "%s", k->initiator_name);
    else if (k->initiator_name[0])
        snprintf(ini, sizeof ini, "%s ISID %02x%02x%02x%02x%02x%02x", k->initiator_name, k->isid[0], k->isid[1],
                 k->isid[2], k->isid[3], k->isid[4], k->isid[5]);
    else {
        addr_text(a, sizeof a, k, 0);
        snprintf(ini, sizeof ini, "%s (login not in the capture)", a);
    }
    if (k->target_name[0])
        snprintf(tgt, sizeof tgt, "%s", k->target_name);
    else {
        addr_text(a, sizeof a, k, 1);
        snprintf(tgt, sizeof tgt, "%s", a);
    }
    for (size_t i = 0; i < c->n_nexus; i++)
        if (!strcmp(c->nexus[i].initiator, ini) && !strcmp(c->nexus[i].target, tgt))
            return k->nexus = (int)i;
    size_t t = 0;
    while (t < c->n_targets && strcmp(c->targets[t], tgt))
        t++;
    if (t == c->n_targets) {
        char **p = realloc(c->targets, (t + 1) * sizeof *p);
        if (!p || !(p[t] = dup_str(tgt))) {
            if (p)
                c->targets = p;
            c->rc = -ENOMEM;
            return 0;
        }
        c->targets = p;
        c->n_targets++;
    }
    struct cap_nexus *n = realloc(c->nexus, (c->n_nexus + 1) * sizeof *n);
    if (!n) {
        c->rc = -ENOMEM;
        return 0;
    }
    c->nexus = n;
    n = &c->nexus[c->n_nexus];
    *n = (struct cap_nexus){ .initiator = dup_str(ini), .target = dup_str(tgt), .host = (uint32_t)c->n_nexus,
                             .target_no = (uint32_t)t };
    if (!n->initiator || !n->target) {
        free(n->initiator);
        free(n->target);
        c->rc = -ENOMEM;
        return 0;
    }
    c->stats->nexuses++;
    addr_text(a, sizeof a, k, 1);
    cap_comment(c, "# I_T nexus %u (records %u:0:%u:L): initiator %s, target %s at %s", n->host, n->host,
                n->target_no, ini, tgt, a);
    return k->nexus = (int)c->n_nexus++;
}

static void record_base(struct cap_ctx *c, struct cap_conn *k, uint32_t itt, uint64_t lun, struct trace_line *l)
{
    int ni = cap_nexus_of(c, k); /* first: it may grow c->nexus */
    static const struct cap_nexus none;
    const struct cap_nexus *n = c->n_nexus ? &c->nexus[ni] : &none;
    *l = (struct trace_line){ .kind = TRACE_LINE_RECORD };
    struct trace_record *r = &l->record;
    r->time_known = true;
    r->layer = TRACE_LAYER_HOST;
    r->nexus_given = true;
    r->nexus = (struct trace_nexus){ .host = n->host, .target = n->target_no, .lun = lun };
    cap_tag(r->tag, k, itt);
    r->task = TRACE_NONE;
    r->next_piece = TRACE_NONE;
}

/* The end of the run of bytes equal to d[i] in [i, end): eight at a time
 * (zero-filled blocks are common data). */
static uint32_t run_end(const uint8_t *d, uint32_t i, uint32_t end)
{
    uint64_t all = 0x0101010101010101ull * d[i];
    uint32_t j = i + 1;
    for (uint64_t w; j + 8 <= end; j += 8) {
        memcpy(&w, d + j, 8);
        if (w != all)
            break;
    }
    while (j < end && d[j] == d[i])
        j++;
    return j;
}

/* Where the first run of MIN_REPEAT or more equal bytes starting at or
 * after i begins (i itself counts as a run start), or end.  Looks for two
 * equal neighbours eight positions at a time: in data that is not made of
 * runs (most data) they are rare, and the byte-by-byte scan was the
 * import's hottest loop. */
static uint32_t next_long_run(const uint8_t *d, uint32_t i, uint32_t end)
{
    uint32_t p = i;
    while (p < end) {
        /* the first p' >= p with d[p'] == d[p' + 1] */
        while (p + 9 <= end) {
            uint64_t a, b;
            memcpy(&a, d + p, 8);
            memcpy(&b, d + p + 1, 8);
            uint64_t x = a ^ b; /* a zero byte: equal neighbours there */
            uint64_t z = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
            if (z) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                p += (uint32_t)__builtin_clzll(z) / 8; /* the first byte in memory is the highest */
#else
                p += (uint32_t)__builtin_ctzll(z) / 8; /* the first byte in memory is the lowest */
#endif
                break;
            }
            p += 8;
        }
        if (p + 9 > end)
            while (p + 1 < end && d[p] != d[p + 1])
                p++;
        if (p + 1 >= end)
            return end;
        uint32_t r = run_end(d, p, end);
        if (r - p >= MIN_REPEAT)
            return p;
        p = r;
    }
    return end;
}

/* Data pieces of [0, len): of the first `kept` bytes, exact ones where
 * have[] says captured (have NULL: all), "??" where not; the bytes from
 * `kept` on were not kept at all and are one last piece, "??" (or zeros
 * when `zeros`: data-out must send something), so the output and the memory
 * follow what the capture holds, not the length a command claims.  `rest`
 * ends the last piece with "..". */
static void data_records(struct cap_ctx *c, struct trace_line *l, enum trace_verb verb, const uint8_t *data,
                         const uint8_t *have, uint32_t kept, uint32_t len, bool rest, bool zeros)
{
    if (c->dry)
        return; /* nothing is written in the first pass */
    static const uint8_t zero = 0, ff = 0xff;
    static uint8_t ones[PIECE_BYTES];
    if (!ones[0])
        memset(ones, 0xff, sizeof ones);
    struct trace_pat_elem elems[PIECE_BYTES + 1];
    struct trace_record *r = &l->record;
    r->verb = verb;
    if (kept > len)
        kept = len;
    for (uint32_t at = 0; at < len;) {
        uint32_t end = at >= kept ? len : kept - at > PIECE_BYTES ? at + PIECE_BYTES : kept;
        size_t n = 0;
        /* the common piece has every byte: no per-byte look at have[] */
        bool all = !have || at >= kept || !memchr(have + at, 0, end - at);
#define HAVE(i) (all || have[i])
        if (at >= kept) {
            elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_REPEAT, .n = len - at, .value = (uint8_t *)&zero,
                                                  .mask = zeros ? (uint8_t *)&ff : (uint8_t *)&zero };
        }
        for (uint32_t i = at; all && i < end && at < kept;) {
            /* every byte captured: exact bytes up to the next long run, then the run */
            uint32_t s = next_long_run(data, i, end);
            if (s > i) {
                elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_BYTES, .n = s - i,
                                                      .value = (uint8_t *)&data[i], .mask = ones };
                i = s;
                continue;
            }
            uint32_t j = run_end(data, i, end);
            elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_REPEAT, .n = j - i,
                                                  .value = (uint8_t *)&data[i], .mask = (uint8_t *)&ff };
            i = j;
        }
        for (uint32_t i = at; !all && i < end && at < kept;) {
            uint32_t j = i + 1;
            if (!HAVE(i)) {
                while (j < end && !HAVE(j))
                    j++;
                elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_REPEAT, .n = j - i,
                                                      .value = (uint8_t *)&zero, .mask = (uint8_t *)&zero };
            } else {
                while (j < end && HAVE(j) && data[j] == data[i])
                    j++;
                if (j - i >= MIN_REPEAT) {
                    elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_REPEAT, .n = j - i,
                                                          .value = (uint8_t *)&data[i], .mask = (uint8_t *)&ff };
                } else {
                    /* exact bytes up to the next hole or long run */
                    j = i;
                    while (j < end && HAVE(j)) {
                        uint32_t e = j + 1;
                        while (e < end && HAVE(e) && data[e] == data[j])
                            e++;
                        if (e - j >= MIN_REPEAT)
                            break;
                        j = e;
                    }
                    elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_BYTES, .n = j - i,
                                                          .value = (uint8_t *)&data[i], .mask = ones };
                }
            }
            i = j;
        }
#undef HAVE
        if (at < kept && end == kept && kept < len) {
            /* what was not kept ends this piece */
            elems[n++] = (struct trace_pat_elem){ .kind = TRACE_PAT_REPEAT, .n = len - kept, .value = (uint8_t *)&zero,
                                                  .mask = zeros ? (uint8_t *)&ff : (uint8_t *)&zero };
            end = len;
        }
        r->data = (struct trace_pattern){ .elems = elems, .n_elems = n, .length = end - at,
                                          .rest = rest && end == len };
        r->offset_given = at > 0 || end < len;
        r->offset = at;
        cap_emit_line(c, l);
        at = end;
    }
    r->offset_given = false;
    r->offset = 0;
}

/* "bytes 512..1023, 4096..8191" of what have[] lacks in [0, len) (all of
 * [kept, len)). */
static unsigned holes(const uint8_t *have, uint32_t kept, uint32_t len, char *out, size_t cap)
{
    unsigned count = 0;
    size_t o = 0;
    out[0] = '\0';
    if (kept > len)
        kept = len;
    for (uint32_t i = 0; i < len;) {
        if (i < kept && have[i]) {
            const uint8_t *z = memchr(have + i, 0, kept - i); /* the next byte not captured */
            i = z ? (uint32_t)(z - have) : kept;
            continue;
        }
        uint32_t j = i;
        while (j < kept && !have[j])
            j++;
        if (j >= kept)
            j = len;
        if (count < 4 && o < cap)
            o += (size_t)snprintf(out + o, cap - o, "%s%u..%u", count ? ", " : "", i, j - 1);
        else if (count == 4 && o < cap)
            o += (size_t)snprintf(out + o, cap - o, ", ...");
        count++;
        i = j;
    }
    return count;
}

static void cmd_line(struct cap_ctx *c, struct cap_conn *k, struct cap_cmd *cmd, struct trace_line *l,
                     uint8_t cdb_len, enum trace_data_dir dir)
{
    static const uint8_t exact[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    struct trace_pat_elem cdb = { .kind = TRACE_PAT_BYTES, .n = cdb_len, .value = cmd->cdb,
                                  .mask = (uint8_t *)exact };
    record_base(c, k, cmd->itt, cmd->lun, l);
    struct trace_record *r = &l->record;
    r->time_ns = cap_time(c, cmd->cmd_ns);
    r->dir = TRACE_DIR_TO_TARGET;
    r->verb = TRACE_VERB_CMD;
    r->cmd = (struct trace_cmd){ .cdb = { .elems = &cdb, .n_elems = 1, .length = cdb_len } };
    if (dir != TRACE_DATA_NONE) {
        r->cmd.len = cmd->edtl;
        r->cmd.len_given = r->cmd.dir_given = true;
        r->cmd.dir = dir;
    }
    cap_emit_line(c, l);
    if (dir == TRACE_DATA_OUT) {
        /* The data the initiator sent; bytes not captured are written as
         * zeros (a replay must send something). */
        uint32_t kept = cmd->data_end < cmd->edtl ? cmd->data_end : cmd->edtl;
        char list[160];
        if (holes(cmd->have, kept, cmd->edtl, list, sizeof list)) {
            c->stats->uncaptured++;
            cap_note(c, "%s: data-out bytes %s were not in the capture (packets %llu..%llu)%s: written as zeros",
                     r->tag, list, (unsigned long long)cmd->cmd_pkt, (unsigned long long)cmd->last_pkt,
                     cmd->dropped ? ", or past the importer's budget of data in flight" : "");
        }
        r->time_ns = cap_time(c, cmd->dout_ns);
        data_records(c, l, TRACE_VERB_DOUT, cmd->data, NULL, kept, cmd->edtl, false, true);
    }
}

/* The importer's masks (cap_masks.c) of a data-in: a copy of have[] with
 * the masked bytes cleared, so they are written as "??", and a comment
 * saying which and why; NULL when nothing is masked (or out of memory,
 * then c->rc says so). */
static uint8_t *mask_din(struct cap_ctx *c, const struct cap_cmd *cmd, const char *tag, uint32_t kept)
{
    if (c->dry)
        return NULL;
    struct cap_mask m[8];
    size_t n = kept && cmd->have ? cap_masks(cmd->cdb, cmd->data, cmd->have, kept, m, 8) : 0;
    if (!n)
        return NULL;
    uint8_t *have = malloc(kept);
    if (!have) {
        if (!c->rc)
            c->rc = -ENOMEM;
        return NULL;
    }
    memcpy(have, cmd->have, kept);
    char list[160];
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && i < 8; i++) {
        memset(have + m[i].from, 0, m[i].to - m[i].from);
        if (i < 4 && o < sizeof list)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%u..%u", i ? ", " : "", m[i].from, m[i].to - 1);
        else if (i == 4 && o < sizeof list)
            o += (size_t)snprintf(list + o, sizeof list - o, ", ...");
    }
    cap_comment(c, "# %s: data-in bytes %s (%s) written as ?? on purpose: they differ between runs and between units "
                "of one model (docs/capture.md, \"Masks\")", tag, list, m[0].what);
    return have;
}

void cap_emit_flush(struct cap_ctx *c, struct cap_conn *k, struct cap_cmd *cmd)
{
    struct trace_line l;
    uint8_t cdb_len = (uint8_t)(scsi_cdb_length(cmd->cdb[0]) ? scsi_cdb_length(cmd->cdb[0]) : 16);
    bool r = cmd->flags & 0x40, w = cmd->flags & 0x20;
    enum trace_data_dir dir = !cmd->edtl ? TRACE_DATA_NONE : r ? TRACE_DATA_IN : w ? TRACE_DATA_OUT : TRACE_DATA_NONE;
    cmd_line(c, k, cmd, &l, cdb_len, dir);
    cmd->flushed = true;
}

void cap_emit_command(struct cap_ctx *c, struct cap_conn *k, struct cap_cmd *cmd, bool at_end)
{
    char tag[TRACE_TAG_MAX + 1];
    cap_tag(tag, k, cmd->itt);
    bool r = cmd->flags & 0x40, w = cmd->flags & 0x20;
    int want = scsi_cdb_length(cmd->cdb[0]);
    if ((r && w && cmd->edtl) || cmd->cdb_extended || cmd->cdb[0] == 0x7f) {
        cap_note(c, "%s: opcode 0x%02x from packet %llu is %s, which a trace cannot hold; not written", tag,
                 cmd->cdb[0], (unsigned long long)cmd->cmd_pkt,
                 r && w ? "bidirectional" : "a CDB longer than 16 bytes");
        return;
    }
    if (cmd->ended && !cmd->done)
        return; /* an abort-task ended it; its CMD is written */
    uint8_t cdb_len = (uint8_t)(want ? want : 16);
    enum trace_data_dir dir = !cmd->edtl ? TRACE_DATA_NONE : r ? TRACE_DATA_IN : w ? TRACE_DATA_OUT : TRACE_DATA_NONE;
    struct trace_line l;
    if (!cmd->flushed)
        cmd_line(c, k, cmd, &l, cdb_len, dir);
    else
        record_base(c, k, cmd->itt, cmd->lun, &l);
    struct trace_record *rec = &l.record;
    c->stats->commands++;
    cap_drive_get(c, rec->nexus.target, cmd->lun); /* every drive used gets its @drive line */
    bool known = cmd->done && !at_end;
    bool failed = known && cmd->response != 0;
    bool under = known && (cmd->rflags & 0x02), over = known && (cmd->rflags & 0x04);
    uint32_t resid = under ? (cmd->residual < cmd->edtl ? cmd->residual : cmd->edtl) : 0;
    rec->dir = TRACE_DIR_FROM_TARGET;
    if (dir == TRACE_DATA_IN && !failed && !cmd->flushed) {
        uint32_t moved = known ? cmd->edtl - resid : (cmd->data_end < cmd->edtl ? cmd->data_end : cmd->edtl);
        if (moved) {
            uint32_t kept = cmd->data_end < moved ? cmd->data_end : moved;
            char list[160];
            if (holes(cmd->have, kept, moved, list, sizeof list)) {
                c->stats->uncaptured++;
                cap_note(c, "%s: data-in bytes %s were not in the capture (packets %llu..%llu)%s: written as ??", tag,
                         list, (unsigned long long)cmd->cmd_pkt, (unsigned long long)cmd->last_pkt,
                         cmd->dropped ? ", or past the importer's budget of data in flight" : "");
            }
            uint8_t *masked = mask_din(c, cmd, tag, kept);
            rec->time_ns = cap_time(c, cmd->din_ns);
            data_records(c, &l, TRACE_VERB_DIN, cmd->data, masked ? masked : cmd->have, kept, moved, !known, false);
            free(masked);
        }
    }
    rec->verb = TRACE_VERB_STATUS;
    memset(&rec->status, 0, sizeof rec->status);
    struct trace_status_alt *a = &rec->status.alts[0];
    rec->status.n_alts = 1;
    if (!known) {
        c->stats->incomplete++;
        cap_note(c, "%s: no response observed for the command in packet %llu (the capture ends at packet %llu, "
                 "or lost it): STATUS UNKNOWN", tag, (unsigned long long)cmd->cmd_pkt, (unsigned long long)c->pkt);
        a->status = TRACE_STATUS_UNKNOWN;
        rec->time_ns = cap_time(c, cmd->din_ns > cmd->dout_ns ? cmd->din_ns : cmd->dout_ns);
    } else {
        rec->time_ns = cap_time(c, cmd->resp_ns); /* when the response was seen */
        if (failed) {
            a->status = TRACE_STATUS_SERVICE_FAILURE;
        } else if (!trace_status_symbol(cmd->status)) {
            /* Found by tests/fuzz/fuzz_import.c: a reserved status byte
             * printed as "?", which no trace parser reads. */
            cap_note(c, "%s: status byte 0x%02x in packet %llu is no SCSI status a trace can hold: STATUS UNKNOWN",
                     tag, cmd->status, (unsigned long long)cmd->resp_pkt);
            a->status = TRACE_STATUS_UNKNOWN;
        } else {
            a->status = cmd->status;
            struct scsi_sense_info si;
            if (cmd->status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_parse(cmd->sense, cmd->sense_len, &si)) {
                a->sense_given = true;
                a->sense = (struct trace_sense_spec){ .key = si.key, .asc = si.asc, .ascq = si.ascq };
            }
            if (under && dir != TRACE_DATA_NONE && !cmd->flushed) {
                rec->status.resid_given = true;
                rec->status.resid = resid;
            }
            if (over)
                cap_note(c, "%s: the target reported an overflow of %u byte(s), which a trace cannot hold", tag,
                         cmd->residual);
        }
    }
    cap_emit_line(c, &l);
}

/* Whether a command with this ITT completed on k lately (k->done_itt). */
static bool ended_recently(const struct cap_conn *k, uint32_t itt)
{
    unsigned n = k->n_done < CAP_DONE_ITTS ? k->n_done : CAP_DONE_ITTS;
    for (unsigned i = 0; i < n; i++)
        if (k->done_itt[i] == itt)
            return true;
    return false;
}

void cap_emit_tmf(struct cap_ctx *c, struct cap_conn *k, const struct cap_tmf *t, uint8_t response,
                  struct cap_cmd *ref)
{
    /* RFC 7143 11.6.1: 0 complete, 1 task does not exist, 2 LUN does not
     * exist, 3-6 not done, 255 rejected. */
    enum trace_tmf_resp resp = response == 0 || response == 1 ? TRACE_TMF_FUNCTION_COMPLETE
                               : response == 2                ? TRACE_TMF_INCORRECT_LUN
                                                              : TRACE_TMF_FUNCTION_REJECTED;
    cap_emit_tmf_resp(c, k, t, response, resp, ref);
}

void cap_emit_tmf_resp(struct cap_ctx *c, struct cap_conn *k, const struct cap_tmf *t, uint8_t response,
                       enum trace_tmf_resp resp, struct cap_cmd *ref)
{
    static const int fns[] = { [1] = TRACE_TMF_ABORT_TASK, [2] = TRACE_TMF_ABORT_TASK_SET,
                               [3] = TRACE_TMF_CLEAR_ACA, [4] = TRACE_TMF_CLEAR_TASK_SET,
                               [5] = TRACE_TMF_LUN_RESET, [6] = TRACE_TMF_TARGET_RESET,
                               [7] = TRACE_TMF_TARGET_RESET, [9] = TRACE_TMF_QUERY_TASK };
    char tag[TRACE_TAG_MAX + 1];
    cap_tag(tag, k, t->itt);
    bool names_task = t->fn == 1 || t->fn == 9;
    bool ended = names_task && !ref && ended_recently(k, t->rtt); /* names a task that already completed */
    if (t->fn >= sizeof fns / sizeof fns[0] || (t->fn != 1 && !fns[t->fn]) || (names_task && !ref && !ended)) {
        cap_note(c, "%s: task management function %u from packet %llu (response %u) %s; written as this comment",
                 tag, t->fn, (unsigned long long)t->pkt, response,
                 names_task ? "names a task that is not outstanding in the capture" : "has no trace form");
        return;
    }
    if (names_task && ref && !ref->flushed)
        cap_emit_flush(c, k, ref);
    if (t->fn == 7)
        cap_note(c, "%s: TARGET COLD RESET written as target-reset", tag);
    struct trace_line l;
    record_base(c, k, t->itt, t->lun, &l);
    struct trace_record *r = &l.record;
    r->time_ns = cap_time(c, t->ns);
    r->dir = TRACE_DIR_TO_TARGET;
    r->verb = TRACE_VERB_TMF;
    r->tmf = (struct trace_tmf){ .fn = (enum trace_tmf_fn)fns[t->fn] };
    if (names_task)
        cap_tag(r->tmf.ref_tag, k, ref ? ref->itt : t->rtt);
    cap_emit_line(c, &l);
    r->time_ns = cap_time(c, c->now_ns);
    r->dir = TRACE_DIR_FROM_TARGET;
    r->tmf = (struct trace_tmf){ .n_resps = 1, .resps = { resp } };
    cap_emit_line(c, &l);
    if (ref && t->fn == 1 && resp == TRACE_TMF_FUNCTION_COMPLETE)
        ref->ended = true;
}
