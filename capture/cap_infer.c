/* capture/cap_infer.c — device inference: the captured device's answers to
 * INQUIRY (standard data and VPD 80h), READ CAPACITY (10/16) and MODE SENSE
 * (the caching page) become the @drive settings of docs/config.md, so the
 * simulator answers as the captured device did.  Only answers with GOOD
 * status and every byte captured count; a value the simulator cannot hold
 * (a block size other than 512 or 4096, text it does not take) is a comment. */
#include "capture/cap_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/trace_print.h"
#include "scsi/cdb.h"
#include "scsi/scsi.h"
#include "sim/config/config.h"

struct cap_drive *cap_drive_get(struct cap_ctx *c, uint32_t target, uint64_t lun)
{
    for (size_t i = 0; i < c->n_drives; i++)
        if (c->drives[i].target == target && c->drives[i].lun == lun)
            return &c->drives[i];
    struct cap_drive *d = realloc(c->drives, (c->n_drives + 1) * sizeof *d);
    if (!d) {
        c->rc = -ENOMEM;
        return NULL;
    }
    c->drives = d;
    d = &c->drives[c->n_drives++];
    *d = (struct cap_drive){ .target = target, .lun = lun };
    return d;
}

static bool captured(const struct cap_cmd *cmd, uint32_t n)
{
    if (cmd->data_end < n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!cmd->have[i])
            return false;
    return true;
}

/* ASCII text of a field, trailing blanks dropped; false for text the
 * configuration's quoted values cannot hold. */
static bool text(const uint8_t *p, size_t n, char *out, size_t cap)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == 0))
        n--;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
            return false;
        out[i] = (char)p[i];
    }
    out[n] = '\0';
    return true;
}

static void set_text(struct cap_ctx *c, const char *tag, const char *what, const uint8_t *p, size_t n, char *out,
                     size_t cap, bool *has)
{
    if (text(p, n, out, cap))
        *has = true;
    else
        cap_note(c, "%s: the %s is not text the simulator can hold (printable ASCII, at most %zu characters); "
                 "not inferred", tag, what, cap - 1);
}

void cap_infer(struct cap_ctx *c, struct cap_conn *k, const struct cap_cmd *cmd)
{
    if (cmd->response != 0 || cmd->status != SCSI_STATUS_GOOD || !(cmd->flags & 0x40))
        return;
    int nx = cap_nexus_of(c, k);
    if (c->rc)
        return;
    struct cap_drive *d = cap_drive_get(c, c->nexus[nx].target_no, cmd->lun);
    if (!d || c->opt->no_infer)
        return;
    char tag[TRACE_TAG_MAX + 1];
    cap_tag(tag, k, cmd->itt);
    uint32_t got = (cmd->rflags & 0x02) && cmd->residual < cmd->edtl ? cmd->edtl - cmd->residual : cmd->edtl;
    if (got > cmd->data_end)
        got = cmd->data_end;
    const uint8_t *cdb = cmd->cdb, *p = cmd->data;
    switch (cdb[0]) {
    case 0x12: /* INQUIRY */
        if (!(cdb[1] & 1) && got >= 36 && captured(cmd, 36)) {
            set_text(c, tag, "vendor", p + 8, 8, d->vendor, sizeof d->vendor, &d->has_vendor);
            set_text(c, tag, "product", p + 16, 16, d->product, sizeof d->product, &d->has_product);
            set_text(c, tag, "revision", p + 32, 4, d->revision, sizeof d->revision, &d->has_revision);
        } else if ((cdb[1] & 1) && cdb[2] == 0x80 && got >= 4 && captured(cmd, got)) {
            uint32_t n = cap_be16(p + 2);
            if (n > got - 4)
                n = got - 4;
            /* An empty serial (blanks or NULs: what an export of a masked
             * serial sends) says nothing the simulator could answer. */
            bool blank = true;
            for (uint32_t i = 0; i < n && blank; i++)
                blank = p[4 + i] == ' ' || p[4 + i] == 0;
            if (!blank)
                set_text(c, tag, "unit serial number", p + 4, n, d->serial, sizeof d->serial, &d->has_serial);
        }
        return;
    case 0x25: /* READ CAPACITY (10) */
        if (got >= 8 && captured(cmd, 8) && cap_be32(p) != 0xffffffffu && !d->has_capacity) {
            d->blocks = (uint64_t)cap_be32(p) + 1;
            d->block_size = cap_be32(p + 4);
            d->has_capacity = true;
        }
        return;
    case 0x9e: /* SERVICE ACTION IN (16): READ CAPACITY (16) */
        if ((cdb[1] & 0x1f) == 0x10 && got >= 12 && captured(cmd, 12)) {
            d->blocks = ((uint64_t)cap_be32(p) << 32 | cap_be32(p + 4)) + 1;
            d->block_size = cap_be32(p + 8);
            d->has_capacity = true;
            if (got >= 13 && captured(cmd, 13) && (p[12] & 1))
                cap_note(c, "%s: the device reports protection (P_TYPE %u); the simulator has none", tag,
                         ((p[12] >> 1) & 7) + 1);
        }
        return;
    case 0x1a: case 0x5a: { /* MODE SENSE (6) / (10), current values */
        if ((cdb[2] >> 6) != 0 || !captured(cmd, got))
            return;
        long at = cdb_mode_caching_page(cdb, p, got);
        if (at >= 0 && (uint64_t)at + 3 <= got) {
            d->wce = p[at + 2] & 0x04;
            d->has_wce = true;
        }
        return;
    }
    default:
        return;
    }
}

static void quoted(struct tbuf *b, const char *s)
{
    trace_fmt_quoted(b, s, strlen(s));
}

/* Whether the simulator can hold a drive at this address (sim/config). */
static bool drive_fits(const struct cap_drive *d)
{
    return d->target < SIM_MAX_TARGETS_LIMIT && d->lun < SIM_MAX_LUNS_LIMIT;
}

void cap_write_devices(struct cap_ctx *c, FILE *out)
{
    (void)out;
    uint32_t max_t = 0;
    uint64_t max_l = 0;
    for (size_t i = 0; i < c->n_drives; i++) {
        if (!drive_fits(&c->drives[i]))
            continue;
        if (c->drives[i].target > max_t)
            max_t = c->drives[i].target;
        if (c->drives[i].lun > max_l)
            max_l = c->drives[i].lun;
    }
    if (c->n_drives && (max_t >= 16 || max_l >= 8)) {
        char t[16], l[16];
        snprintf(t, sizeof t, "%u", max_t + 1);
        snprintf(l, sizeof l, "%llu", (unsigned long long)max_l + 1);
        struct trace_setting set[2] = { { .key = (char *)"max-targets", .value = t },
                                        { .key = (char *)"max-luns", .value = l } };
        struct trace_line ln = { .kind = TRACE_LINE_DEVICE,
                                 .device = { .kind = TRACE_DEV_CONTROLLER, .settings = set, .n_settings = 2 } };
        cap_emit_line(c, &ln);
    }
    for (size_t i = 0; i < c->n_drives; i++) {
        struct cap_drive *d = &c->drives[i];
        if (!drive_fits(d)) {
            cap_note(c, "drive %u:%llu: the simulator has targets 0..%u and LUNs 0..%u: no @drive line; its records "
                     "replay against an absent logical unit", d->target, (unsigned long long)d->lun,
                     SIM_MAX_TARGETS_LIMIT - 1, SIM_MAX_LUNS_LIMIT - 1);
            continue;
        }
        struct tbuf v[6] = { { 0 } };
        struct trace_setting set[7];
        size_t n = 0;
        char blocks[32], bs[16];
        if (d->has_vendor) {
            quoted(&v[0], d->vendor);
            set[n++] = (struct trace_setting){ .key = (char *)"vendor", .value = v[0].s };
        }
        if (d->has_product) {
            quoted(&v[1], d->product);
            set[n++] = (struct trace_setting){ .key = (char *)"product", .value = v[1].s };
        }
        if (d->has_revision) {
            quoted(&v[2], d->revision);
            set[n++] = (struct trace_setting){ .key = (char *)"revision", .value = v[2].s };
        }
        if (d->has_serial) {
            quoted(&v[3], d->serial);
            set[n++] = (struct trace_setting){ .key = (char *)"serial", .value = v[3].s };
        }
        if (d->has_capacity) {
            if (d->block_size == 512 || d->block_size == 4096) {
                snprintf(bs, sizeof bs, "%u", d->block_size);
                snprintf(blocks, sizeof blocks, "%llu", (unsigned long long)d->blocks);
                set[n++] = (struct trace_setting){ .key = (char *)"block-size", .value = bs };
                set[n++] = (struct trace_setting){ .key = (char *)"blocks", .value = blocks };
            } else {
                cap_note(c, "drive %u:%llu: block size %u; the simulator has 512 or 4096: capacity not inferred",
                         d->target, (unsigned long long)d->lun, d->block_size);
            }
        }
        if (d->has_wce)
            set[n++] = (struct trace_setting){ .key = (char *)"write-cache", .value = d->wce ? (char *)"on"
                                                                                            : (char *)"off" };
        bool oom = false;
        for (int j = 0; j < 4; j++)
            oom |= v[j].oom;
        if (oom)
            c->rc = -ENOMEM;
        struct trace_line ln = { .kind = TRACE_LINE_DEVICE,
                                 .device = { .kind = TRACE_DEV_DRIVE, .target = (uint16_t)d->target,
                                             .lun = (uint16_t)d->lun, .settings = set, .n_settings = n } };
        if (!oom)
            cap_emit_line(c, &ln);
        for (int j = 0; j < 4; j++)
            tbuf_free(&v[j]);
    }
}
