/* sim/fw/fw_sanitize.c — SANITIZE (SBC-4 5.30, 4.11): OVERWRITE, BLOCK
 * ERASE, CRYPTOGRAPHIC ERASE and EXIT FAILURE MODE.
 *
 * The medium is changed at once, under the firmware lock, when the command
 * runs; what takes time is modelled: for the drive's `sanitize-time` after
 * that (docs/config.md) the operation is "in progress".  Meanwhile every
 * command but INQUIRY, REPORT LUNS and REQUEST SENSE ends in NOT READY,
 * LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS (04h/1Bh) with a progress
 * indication in the sense-key-specific bytes, and REQUEST SENSE returns that
 * sense with GOOD status (SBC-4 4.11.2).  With IMMED=0 the command's own
 * completion is held by the controller until the operation ends (fw.h,
 * hold_ns); with IMMED=1 it completes at once.  Resets and power cycles do
 * not stop an operation in progress (SBC-4 4.11.2: it resumes).
 *
 * A sanitize that fails (the store refused a write: a media error, or the
 * media powered off) leaves the drive in sanitize failure mode: commands that
 * access the medium end in MEDIUM ERROR, SANITIZE COMMAND FAILED (31h/03h),
 * until a SANITIZE succeeds or, when the failed one had AUSE=1, EXIT FAILURE
 * MODE is asked for (SBC-4 4.11.3).  The mode survives power cycles.
 *
 * What each service action leaves on the medium:
 *  - OVERWRITE: every block holds the initialization pattern, repeated to
 *    fill the block; with INVERT the pattern is inverted between passes, so
 *    after an even OVERWRITE COUNT the medium holds the inverted pattern.
 *    The blocks are written while the command runs, under the firmware lock:
 *    it takes time in proportion to the capacity (about 1 s per GiB of
 *    memory media on an idle machine) and memory media grow to the whole
 *    capacity, so past a few GiB the driver core's command timeout (1 s by
 *    default) fires first.  A zero pattern on a fully provisioned drive is
 *    the exception: the store deallocates every block instead, at once.
 *  - BLOCK ERASE (offered on a thin drive only): every block is deallocated
 *    and reads as zeros (LBPRZ); WABEREQ 01b in VPD B1h.
 *  - CRYPTOGRAPHIC ERASE: the media key is replaced, so nothing written
 *    before can be read back; this drive models the new key's view of the old
 *    data as deallocated blocks that read as zeros; WACEREQ 01b. */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

#define SA_OVERWRITE    0x01
#define SA_BLOCK_ERASE  0x02
#define SA_CRYPTO_ERASE 0x03
#define SA_EXIT_FAILURE 0x1f

#define CDB_PLEN_BYTE 7            /* PARAMETER LIST LENGTH, bytes 7..8 */
#define CHUNK (1024u * 1024u)      /* overwrite: bytes per store write */

struct scsi_sense_reason fw_sanitize_status(struct fw_drive *d)
{
    if (!d->san.end_ns)
        return fw_good();
    uint64_t now = clock_now_ns();
    if (now >= d->san.end_ns) {
        d->san.end_ns = 0;         /* done: latched, like readiness */
        return fw_good();
    }
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_NOT_READY, FW_ASC_SANITIZE_IN_PROGRESS);
    uint64_t total = d->san.end_ns - d->san.start_ns, done = now - d->san.start_ns;
    r.progress_valid = true;
    r.progress = (uint16_t)(done * 65536u / total);   /* done < total: below 65536 */
    return r;
}

struct scsi_sense_reason fw_sanitize_gate(struct fw_ctx *c)
{
    /* The commands a sanitize lets through are the ones an empty LUN answers
     * (FW_F_ANY_LUN): INQUIRY, REPORT LUNS, REQUEST SENSE — SBC-4 4.11.2's list
     * (LOG SENSE, also on it, is not implemented). */
    if (!c->d || (c->cmd->flags & FW_F_ANY_LUN))
        return fw_good();
    struct scsi_sense_reason r = fw_sanitize_status(c->d);
    if (!fw_is_good(&r))
        return r;
    if (c->d->san.failed && (c->cmd->flags & FW_F_MEDIA_ACCESS))
        return scsi_reason(SCSI_SK_MEDIUM_ERROR, FW_ASC_SANITIZE_COMMAND_FAILED);
    return fw_good();
}

/* OVERWRITE's parameter list (SBC-4 table 92): byte 0 INVERT (7), TEST
 * (6..5), OVERWRITE COUNT (4..0); byte 1 reserved; bytes 2..3 INITIALIZATION
 * PATTERN LENGTH; the pattern.  Fills *pattern (a whole block) on success. */
static struct scsi_sense_reason overwrite_params(const struct fw_ctx *c, uint8_t *block)
{
    uint32_t bs = c->d->block_size;
    const uint8_t *p = c->t->data;
    if (p[0] & 0x60)
        return scsi_reason_invalid_param_field(0, 6);   /* TEST: not supported */
    uint8_t count = p[0] & 0x1f;
    if (count == 0)
        return scsi_reason_invalid_param_field(0, 4);   /* OVERWRITE COUNT 0 */
    if (p[1])
        return scsi_reason_invalid_param_field(1, fw_top_bit(p[1]));
    uint16_t iplen = scsi_get_be16(p + 2);
    if (iplen == 0 || iplen > bs || iplen + 4u != c->length)
        return scsi_reason_invalid_param_field(2, -1);
    bool invert = (p[0] & 0x80) && count % 2 == 0;       /* the last pass's pattern */
    for (uint32_t i = 0; i < bs; i++)
        block[i] = (uint8_t)(invert ? ~p[4 + i % iplen] : p[4 + i % iplen]);
    return fw_good();
}

static bool zero_block(const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static int overwrite(struct fw_drive *d, const uint8_t *block)
{
    uint32_t bs = d->block_size, per = CHUNK / bs;
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return -1;
    for (uint32_t i = 0; i < per; i++)
        memcpy(buf + (size_t)i * bs, block, bs);
    int rc = 0;
    for (uint64_t lba = 0; lba < d->store_blocks && rc == 0; lba += per) {
        uint32_t n = d->store_blocks - lba < per ? (uint32_t)(d->store_blocks - lba) : per;
        rc = sim_store_write(d->store, lba, n, buf, true);   /* durable: a sanitize is not cached */
    }
    free(buf);
    return rc;
}

struct scsi_sense_reason fw_sanitize(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    uint8_t sa = c->cdb[1] & 0x1f;
    bool immed = c->cdb[1] & 0x80, ause = c->cdb[1] & 0x20;

    if (sa == SA_EXIT_FAILURE) {
        if (c->length)
            return scsi_reason_invalid_cdb_field(CDB_PLEN_BYTE, -1);
        if (d->san.failed && !d->san.ause)
            return scsi_reason_invalid_cdb_field(1, 4);   /* the failed one forbade it */
        d->san.failed = false;
        return fw_good();
    }
    uint8_t *block = NULL;
    if (sa == SA_OVERWRITE) {
        if (c->length <= 4 || c->length > d->block_size + 4u)
            return scsi_reason_invalid_cdb_field(CDB_PLEN_BYTE, -1);
        block = malloc(d->block_size);
        if (!block)
            return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
        struct scsi_sense_reason r = overwrite_params(c, block);
        if (!fw_is_good(&r)) {
            free(block);
            return r;
        }
    } else if (c->length) {
        return scsi_reason_invalid_cdb_field(CDB_PLEN_BYTE, -1);   /* erases take no parameters */
    }
    c->t->xfer = (uint32_t)c->want;

    /* A zero pattern on a fully provisioned drive reads back the same from
     * deallocated media, which the store gives back at once instead of
     * writing (and, in memory, allocating) every block. */
    if (block && !d->thin && zero_block(block, d->block_size)) {
        free(block);
        block = NULL;
    }
    int rc = block ? overwrite(d, block) : sim_store_unmap(d->store, 0, d->store_blocks);
    free(block);
    uint64_t now = clock_now_ns();
    d->san.start_ns = now;
    d->san.end_ns = d->sanitize_ms ? now + (uint64_t)d->sanitize_ms * 1000000ull : 0;
    if (!immed && d->san.end_ns)
        c->t->hold_ns = d->san.end_ns - now;   /* IMMED=0: status when the operation ends */
    if (rc != 0) {
        d->san.failed = true;
        d->san.ause = ause;
        /* IMMED=1 already promised GOOD; the failure shows in later commands. */
        return immed ? fw_good() : scsi_reason(SCSI_SK_MEDIUM_ERROR, FW_ASC_SANITIZE_COMMAND_FAILED);
    }
    d->san.failed = false;
    return fw_good();
}
