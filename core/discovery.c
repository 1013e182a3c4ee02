/* core/discovery.c — target and LUN discovery as a host does it (see
 * core/discovery.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/discovery.h"
#include "core/drv_mutant.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"

#define INQUIRY_LEN 96u
#define DISC_MAX_LUNS 16384u /* what flat addressing can name */

struct disc {
    struct drv_core *core;
    struct drv_disc_options opt;
    struct osal_dma_buffer *buf;
    uint32_t buf_len;
    uint32_t max_luns;
    struct drv_disc_result *res;
    uint64_t next_task_id;
};

/* How one command ended, in the terms discovery decides on. */
enum outcome {
    OK,              /* GOOD */
    NO_TARGET,       /* nothing answered selection */
    UNIT_ATTENTION,
    BECOMING_READY,  /* NOT READY 04h/01h */
    NOT_READY,       /* any other NOT READY */
    NO_LUN,          /* ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED */
    REFUSED,         /* another CHECK CONDITION */
    FAILED,          /* the command did not complete */
};

struct result {
    enum outcome how;
    uint64_t bytes;
    struct scsi_sense_info sense;
};

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
    nanosleep(&ts, NULL);
}

static struct result run(struct disc *d, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
                         uint32_t data_in)
{
    struct drv_buffer_piece piece = { .buf = d->buf, .offset = 0, .length = data_in };
    struct drv_task t;
    memset(&t, 0, sizeof t);
    t.task_id = d->next_task_id++;
    t.target = target;
    t.lun = lun;
    t.initiator = d->opt.initiator;
    memcpy(t.cdb, cdb, cdb_len);
    t.cdb_len = cdb_len;
    t.dir = data_in ? DRV_DIR_FROM_TARGET : DRV_DIR_NONE;
    t.requested_transfer = data_in;
    t.pieces = data_in ? &piece : NULL;
    t.piece_count = data_in ? 1 : 0;
    if (data_in)
        memset(d->buf->vaddr, 0, data_in);

    struct result r = { .how = FAILED };
    struct drv_completion c;
    if (drv_core_run_task(d->core, &t, &c) < 0)
        return r;
    if (c.response != DRV_SR_TASK_COMPLETE) {
        r.how = c.ctrl_status == HBA_CS_INVALID_TARGET ? NO_TARGET : FAILED;
        return r;
    }
    r.bytes = c.bytes_transferred;
    if (c.scsi_status == SCSI_STATUS_GOOD) {
        r.how = OK;
        return r;
    }
    r.how = REFUSED;
    if (c.scsi_status != SCSI_STATUS_CHECK_CONDITION || !scsi_sense_parse(c.sense, c.sense_len, &r.sense))
        return r;
    uint16_t ascq = SCSI_ASCQ(r.sense.asc, r.sense.ascq);
    if (r.sense.key == SCSI_SK_UNIT_ATTENTION)
        r.how = UNIT_ATTENTION;
    else if (r.sense.key == SCSI_SK_NOT_READY)
        r.how = ascq == SCSI_ASC_LUN_NOT_READY_BECOMING ? BECOMING_READY : NOT_READY;
    else if (r.sense.key == SCSI_SK_ILLEGAL_REQUEST && ascq == SCSI_ASC_LUN_NOT_SUPPORTED)
        r.how = NO_LUN;
    return r;
}

/* Runs a command again while it reports UNIT ATTENTION (bounded). */
static struct result run_past_ua(struct disc *d, uint16_t target, uint16_t lun, const uint8_t *cdb,
                                 uint8_t cdb_len, uint32_t data_in)
{
    struct result r = run(d, target, lun, cdb, cdb_len, data_in);
    for (unsigned i = 0; r.how == UNIT_ATTENTION && i < d->opt.ua_retries; i++) {
        d->res->unit_attentions++;
        r = run(d, target, lun, cdb, cdb_len, data_in);
    }
    return r;
}

static void ascii_field(char *dst, const uint8_t *src, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        dst[len++] = src[i] >= 0x20 && src[i] < 0x7F ? (char)src[i] : ' ';
    while (len && dst[len - 1] == ' ')
        len--;
    dst[len] = '\0';
}

static int add_lun(struct disc *d, const struct drv_disc_lun *l)
{
    struct drv_disc_result *r = d->res;
    struct drv_disc_lun *p = realloc(r->luns, (r->count + 1) * sizeof *p);
    if (!p)
        return -ENOMEM;
    r->luns = p;
    r->luns[r->count++] = *l;
    return 0;
}

/* TEST UNIT READY until GOOD or a verdict.  Returns false when the target
 * must be dropped. */
static bool probe_ready(struct disc *d, struct drv_disc_lun *l, enum outcome *how)
{
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    uint64_t waited = 0;
    unsigned uas = 0;
    for (;;) {
        struct result r = run(d, l->target, l->lun, tur, sizeof tur, 0);
        *how = r.how;
        if (r.how == UNIT_ATTENTION) {
            /* F3: the broken driver takes the attention as a dead target. */
            if (DRV_MUTANT(F3) && l->target != 0)
                return false;
            d->res->unit_attentions++;
            if (++uas > d->opt.ua_retries)
                return true;
            continue;
        }
        if (r.how == BECOMING_READY && waited < d->opt.ready_timeout_ms) {
            sleep_ms(d->opt.ready_poll_ms);
            waited += d->opt.ready_poll_ms;
            continue;
        }
        l->ready = r.how == OK;
        if (!l->ready) {
            l->sense_key = r.sense.key;
            l->asc = r.sense.asc;
            l->ascq = r.sense.ascq;
        }
        return true;
    }
}

/* Returns 1 when a unit was recorded, 0 when none is there, -1 to drop the
 * target, -ENOMEM. */
static int probe_lun(struct disc *d, uint16_t target, uint16_t lun)
{
    struct drv_disc_lun l;
    memset(&l, 0, sizeof l);
    l.target = target;
    l.lun = lun;
    enum outcome how;
    if (!probe_ready(d, &l, &how))
        return -1;
    if (how == NO_LUN || how == NO_TARGET || how == FAILED)
        return 0;

    uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, INQUIRY_LEN, 0 };
    struct result r = run_past_ua(d, target, lun, inq, sizeof inq, INQUIRY_LEN);
    if (r.how != OK || r.bytes < 36)
        return 0;
    const uint8_t *data = d->buf->vaddr;
    if ((data[0] >> 5) != SCSI_PQ_CONNECTED)
        return 0; /* 011b: no logical unit at this address */
    l.pdt = data[0] & 0x1Fu;
    ascii_field(l.vendor, data + 8, 8);
    ascii_field(l.product, data + 16, 16);
    ascii_field(l.revision, data + 32, 4);
    return add_lun(d, &l) < 0 ? -ENOMEM : 1;
}

/* The LUN numbers REPORT LUNS lists (single-level peripheral or flat
 * addressing), ascending; returns how many, -1 when REPORT LUNS was refused,
 * -2 when no target answered. */
static int report_luns(struct disc *d, uint16_t target, uint16_t *luns)
{
    uint8_t cdb[12] = { SCSI_OP_REPORT_LUNS };
    scsi_put_be32(cdb + 6, d->buf_len);
    struct result r = run_past_ua(d, target, 0, cdb, sizeof cdb, d->buf_len);
    if (r.how == NO_TARGET)
        return -2;
    if (r.how != OK || r.bytes < 8)
        return -1;
    const uint8_t *p = d->buf->vaddr;
    uint64_t list = scsi_get_be32(p);
    uint64_t avail = r.bytes - 8;
    if (list > avail)
        list = avail;
    bool *seen = calloc(d->max_luns, sizeof *seen);
    if (!seen)
        return -1;
    for (uint64_t off = 0; off + 8 <= list; off += 8) {
        const uint8_t *e = p + 8 + off;
        unsigned method = e[0] >> 6, lun;
        if (method == 0 && (e[0] & 0x3Fu) == 0)
            lun = e[1];
        else if (method == 1)
            lun = (unsigned)(e[0] & 0x3Fu) << 8 | e[1];
        else
            continue;
        if (lun < d->max_luns)
            seen[lun] = true;
    }
    int n = 0;
    for (unsigned lun = 0; lun < d->max_luns; lun++)
        if (seen[lun])
            luns[n++] = (uint16_t)lun;
    free(seen);
    return n;
}

int drv_discover(struct drv_core *core, const struct drv_disc_options *opt, struct drv_disc_result *out)
{
    if (!core || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    struct disc d = { .core = core, .res = out, .next_task_id = 1 };
    if (opt)
        d.opt = *opt;
    if (!d.opt.ua_retries)
        d.opt.ua_retries = 8;
    if (!d.opt.ready_timeout_ms)
        d.opt.ready_timeout_ms = 10000;
    if (!d.opt.ready_poll_ms)
        d.opt.ready_poll_ms = 10;
    struct drv_constraints c;
    drv_core_constraints(core, &c);
    uint32_t targets = d.opt.max_targets && d.opt.max_targets < c.max_targets ? d.opt.max_targets : c.max_targets;
    d.max_luns = c.max_luns < DISC_MAX_LUNS ? c.max_luns : DISC_MAX_LUNS;
    d.buf_len = 8u + 8u * d.max_luns;
    if (d.buf_len < INQUIRY_LEN)
        d.buf_len = INQUIRY_LEN;
    struct osal *os = drv_core_osal(core);
    int rc = osal_dma_alloc(os, d.buf_len, 64, &d.buf);
    if (rc < 0)
        return rc;
    uint16_t *luns = calloc(d.max_luns, sizeof *luns);
    if (!luns) {
        osal_dma_free(os, d.buf);
        return -ENOMEM;
    }
    rc = 0;
    for (uint32_t t = 0; t < targets && rc == 0; t++) {
        int n = report_luns(&d, (uint16_t)t, luns);
        if (n == -2)
            continue;
        out->targets_answering++;
        if (n < 0) { /* no REPORT LUNS: try every LUN number */
            n = (int)d.max_luns;
            for (int i = 0; i < n; i++)
                luns[i] = (uint16_t)i;
        }
        for (int i = 0; i < n; i++) {
            int got = probe_lun(&d, (uint16_t)t, luns[i]);
            if (got == -ENOMEM) {
                rc = got;
                break;
            }
            if (got < 0) {
                osal_log(os, OSAL_LOG_ERROR, "discovery: target %u dropped after a UNIT ATTENTION", t);
                out->targets_dropped++;
                while (out->count && out->luns[out->count - 1].target == t)
                    out->count--;
                break;
            }
        }
    }
    free(luns);
    osal_dma_free(os, d.buf);
    if (rc < 0)
        drv_disc_result_free(out);
    return rc;
}

void drv_disc_result_free(struct drv_disc_result *r)
{
    if (!r)
        return;
    free(r->luns);
    memset(r, 0, sizeof *r);
}
