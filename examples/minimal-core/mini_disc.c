/* mini_disc.c — discovery as a host's SCSI scan does it (core/discovery.h):
 * REPORT LUNS per target, then TEST UNIT READY and INQUIRY per LUN, through
 * ordinary tasks.  A UNIT ATTENTION is the drive saying "something changed",
 * not "I am broken": retry the command (field bug F3 is giving up). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mini.h"
#include "scsi/sense.h"

#define SK_NOT_READY      0x2u
#define SK_ILLEGAL_REQUEST 0x5u
#define SK_UNIT_ATTENTION 0x6u
#define SCSI_CHECK        0x02u

struct probe {
    struct drv_core *c;
    struct drv_disc_options opt;
    struct osal_dma_buffer *buf;
    struct drv_disc_result *out;
};

/* One command with up to 4 KiB data-in, UNIT ATTENTIONs retried. */
static int command(struct probe *p, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
                   uint32_t len, struct drv_completion *done, struct scsi_sense_info *sense)
{
    struct drv_buffer_piece piece = { p->buf, 0, len };
    struct drv_task t = { .target = target, .lun = lun, .initiator = p->opt.initiator, .cdb_len = cdb_len,
                          .dir = len ? DRV_DIR_FROM_TARGET : DRV_DIR_NONE, .requested_transfer = len,
                          .pieces = len ? &piece : NULL, .piece_count = len ? 1 : 0 };
    memcpy(t.cdb, cdb, cdb_len);
    for (unsigned tries = 0;; tries++) {
        int rc = mini_run_task(p->c, &t, done);
        if (rc < 0)
            return rc;
        memset(sense, 0, sizeof *sense);
        if (done->response == DRV_SR_TASK_COMPLETE && done->scsi_status == SCSI_CHECK)
            scsi_sense_parse(done->sense, done->sense_len, sense);
        if (sense->key != SK_UNIT_ATTENTION || tries >= p->opt.ua_retries)
            return 0;
        p->out->unit_attentions++;
    }
}

static void trim(char *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    for (size_t i = n; i > 0 && (dst[i - 1] == ' ' || dst[i - 1] == '\0'); i--)
        dst[i - 1] = '\0';
}

static int probe_lun(struct probe *p, uint16_t target, uint16_t lun)
{
    struct drv_completion done;
    struct scsi_sense_info sense;
    struct drv_disc_lun l = { .target = target, .lun = lun };
    static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 }, tur[6] = { 0 };
    int rc = command(p, target, lun, inquiry, 6, 36, &done, &sense);
    if (rc < 0)
        return rc;
    const uint8_t *d = p->buf->vaddr;
    if (done.response != DRV_SR_TASK_COMPLETE || done.scsi_status != 0 || done.bytes_transferred < 36 ||
        (d[0] >> 5) == 3) /* peripheral qualifier 011b: no unit here */
        return 0;
    l.pdt = d[0] & 0x1Fu;
    trim(l.vendor, d + 8, 8);
    trim(l.product, d + 16, 16);
    trim(l.revision, d + 32, 4);
    uint64_t until = osal_now_ns(p->c->os) + (uint64_t)p->opt.ready_timeout_ms * 1000000u;
    for (;;) {
        rc = command(p, target, lun, tur, 6, 0, &done, &sense);
        if (rc < 0)
            return rc;
        l.ready = done.response == DRV_SR_TASK_COMPLETE && done.scsi_status == 0;
        l.sense_key = sense.key;
        l.asc = sense.asc;
        l.ascq = sense.ascq;
        bool becoming = sense.key == SK_NOT_READY && sense.asc == 0x04 && sense.ascq == 0x01;
        if (!becoming || osal_now_ns(p->c->os) > until)
            break;
        struct timespec ts = { 0, (long)p->opt.ready_poll_ms * 1000000L };
        nanosleep(&ts, NULL);
    }
    /* LOGICAL UNIT NOT SUPPORTED is the device server saying no unit is at
     * this LUN, whatever INQUIRY said (SAM-5: only INQUIRY and REQUEST SENSE
     * answer for a LUN without a unit). */
    if (sense.key == SK_ILLEGAL_REQUEST && sense.asc == 0x25 && sense.ascq == 0x00)
        return 0;
    struct drv_disc_lun *grown = realloc(p->out->luns, (p->out->count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    p->out->luns = grown;
    grown[p->out->count++] = l;
    return 0;
}

static int probe_target(struct probe *p, uint16_t target)
{
    struct drv_completion done;
    struct scsi_sense_info sense;
    const uint32_t alloc = 4096;
    const uint8_t report_luns[12] = { 0xA0, 0, 0, 0, 0, 0, alloc >> 24, (alloc >> 16) & 0xFF,
                                      (alloc >> 8) & 0xFF, alloc & 0xFF, 0, 0 };
    int rc = command(p, target, 0, report_luns, 12, alloc, &done, &sense);
    if (rc < 0)
        return rc;
    if (done.response != DRV_SR_TASK_COMPLETE)
        return 0; /* HBA_CS_INVALID_TARGET: nothing answers this selection */
    p->out->targets_answering++;
    if (done.scsi_status != 0 || done.bytes_transferred < 8) { /* refused: try every LUN */
        for (uint16_t lun = 0; lun < p->c->luns && rc == 0; lun++)
            rc = probe_lun(p, target, lun);
        return rc;
    }
    const uint8_t *d = p->buf->vaddr;
    uint32_t bytes = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    uint32_t n = bytes / 8, fit = (uint32_t)(done.bytes_transferred - 8) / 8;
    uint16_t luns[512];
    n = n < fit ? n : fit;
    n = n < 512 ? n : 512;
    for (uint32_t i = 0; i < n; i++) /* peripheral / flat addressing: 14 bits */
        luns[i] = (uint16_t)((d[8 + 8 * i] & 0x3Fu) << 8 | d[9 + 8 * i]);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = probe_lun(p, target, luns[i]);
    return rc;
}

int mini_discover(struct drv_core *c, const struct drv_disc_options *opt, struct drv_disc_result *out)
{
    struct probe p = { .c = c, .opt = *opt, .out = out };
    memset(out, 0, sizeof *out);
    if (!p.opt.ua_retries)
        p.opt.ua_retries = 8;
    if (!p.opt.ready_timeout_ms)
        p.opt.ready_timeout_ms = 10000;
    if (!p.opt.ready_poll_ms)
        p.opt.ready_poll_ms = 10;
    uint32_t targets = p.opt.max_targets && p.opt.max_targets < c->targets ? p.opt.max_targets : c->targets;
    int rc = osal_dma_alloc(c->os, 4096, HBA_IOMMU_PAGE_SIZE, &p.buf);
    if (rc < 0)
        return rc;
    for (uint32_t t = 0; t < targets && rc == 0; t++)
        rc = probe_target(&p, (uint16_t)t);
    osal_dma_free(c->os, p.buf);
    if (rc < 0)
        mini_disc_result_free(out);
    return rc;
}

void mini_disc_result_free(struct drv_disc_result *r)
{
    free(r->luns);
    memset(r, 0, sizeof *r);
}
