/* cli/campaign_promises.c — see campaign_promises.h. */
#include "cli/campaign_promises.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "stack/stack.h"

#define BLOCK 512u
#define READ_CHUNK 128u /* blocks per READ(10) of the check */

int campaign_promises_init(struct campaign_promises *p, uint64_t blocks)
{
    memset(p, 0, sizeof *p);
    p->blocks = blocks;
    p->durable = calloc(blocks, sizeof *p->durable);
    p->acked = calloc(blocks, sizeof *p->acked);
    p->touched = calloc((blocks + 7) / 8, 1);
    p->why = calloc(blocks, 1);
    if (!p->durable || !p->acked || !p->touched || !p->why) {
        campaign_promises_free(p);
        return -ENOMEM;
    }
    return 0;
}

void campaign_promises_free(struct campaign_promises *p)
{
    free(p->durable);
    free(p->acked);
    free(p->touched);
    free(p->why);
    memset(p, 0, sizeof *p);
}

const char *campaign_promise_name(enum campaign_promise_kind k)
{
    static const char *const names[] = { "none", "FUA", "cache off", "range flush", "full flush",
                                         "battery-backed cache" };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

void campaign_promises_write(struct campaign_promises *p, uint64_t lba, uint32_t len, uint32_t seq,
                             enum campaign_promise_kind durable)
{
    if (durable == PROMISE_NONE && p->battery)
        durable = PROMISE_BATTERY;
    for (uint64_t b = lba; b < lba + len && b < p->blocks; b++) {
        p->acked[b] = seq;
        if (durable) {
            p->durable[b] = seq;
            p->why[b] = (uint8_t)durable;
        }
        p->touched[b / 8] |= (uint8_t)(1u << (b % 8));
    }
}

void campaign_promises_forfeit(struct campaign_promises *p)
{
    for (uint64_t b = 0; b < p->blocks; b++)
        p->acked[b] = p->durable[b];
}

void campaign_promises_sync(struct campaign_promises *p, uint64_t lba, uint64_t n)
{
    uint64_t end = n == 0 || lba + n > p->blocks ? p->blocks : lba + n;
    for (uint64_t b = lba; b < end; b++)
        if (p->acked[b] > p->durable[b]) {
            p->durable[b] = p->acked[b];
            p->why[b] = n ? PROMISE_SYNC_RANGE : PROMISE_SYNC_ALL;
        }
}

static bool touched(const struct campaign_promises *p, uint64_t b)
{
    return p->touched[b / 8] & (1u << (b % 8));
}

/* Block b as read: holds version `found` (0 when it is not one of the
 * writer's blocks for b: never written, or torn). */
static uint32_t version_of(const uint8_t *blk, uint64_t b)
{
    uint32_t seq = scsi_get_be32(blk + 4);
    for (unsigned i = 0; i < BLOCK; i += 8)
        if (scsi_get_be32(blk + i) != (uint32_t)b || scsi_get_be32(blk + i + 4) != seq)
            return 0;
    return seq;
}

int campaign_promises_check(struct campaign_promises *p, struct stack *st, struct campaign_broken *out)
{
    memset(out, 0, sizeof *out);
    static uint8_t buf[READ_CHUNK * BLOCK];
    for (uint64_t b = 0; b < p->blocks;) {
        if (!touched(p, b)) {
            b++;
            continue;
        }
        uint32_t n = 1;
        while (n < READ_CHUNK && b + n < p->blocks && touched(p, b + n))
            n++;
        uint8_t cdb[10] = { SCSI_OP_READ_10 };
        scsi_put_be32(cdb + 2, (uint32_t)b);
        scsi_put_be16(cdb + 7, (uint16_t)n);
        struct drv_completion c;
        int rc = -EIO;
        /* A driver whose recovery gave up (the controller came back after
         * its deadline: "did not come back") fails every task until it is
         * recovered again; that is the campaign's recovery question, not
         * this check's, so recover and read again a few times. */
        for (int tries = 0; tries < 8; tries++) {
            char err[256];
            if (rc == -ENODEV && stack_reconnect(st, err, sizeof err) < 0)
                continue;
            rc = stack_exec(st, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, buf, (uint64_t)n * BLOCK, &c);
            if (rc < 0)
                continue;
            struct scsi_sense_info si;
            if (c.response != DRV_SR_TASK_COMPLETE)
                rc = -ENODEV; /* recover, then again */
            else if (c.scsi_status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_parse(c.sense, c.sense_len, &si) &&
                     si.key == SCSI_SK_UNIT_ATTENTION)
                rc = -EAGAIN; /* the restart's power-on attention: again */
            else if (c.scsi_status != 0)
                rc = -EIO;
            if (rc == 0 || rc == -EIO)
                break;
        }
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t lba = b + i;
            out->checked++;
            p->touched[lba / 8] &= (uint8_t)~(1u << (lba % 8));
            if (!p->durable[lba])
                continue; /* nothing promised: anything it holds is allowed */
            uint32_t found = version_of(buf + (size_t)i * BLOCK, lba);
            if (found >= p->durable[lba])
                continue; /* the promised version, or a newer one */
            if (!out->bad++) {
                out->lba = lba;
                out->promised = p->durable[lba];
                out->found = found;
                out->why = (enum campaign_promise_kind)p->why[lba];
            }
        }
        b += n;
    }
    return 0;
}
