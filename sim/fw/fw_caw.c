/* sim/fw/fw_caw.c — the read-modify-write commands: COMPARE AND WRITE (SBC-4
 * 5.3) and ORWRITE (16) (SBC-4 5.9).  Both are atomic with respect to every
 * other command because fw_execute runs each command whole under the
 * firmware lock: nothing, from any initiator, runs between the read and the
 * write. */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

/* COMPARE AND WRITE: the data-out holds n verify blocks then n write blocks.
 * The medium is compared with the verify blocks; if they all match the write
 * blocks are written (through, with FUA or WCE=0), otherwise nothing is
 * written and the sense is MISCOMPARE 1Dh/00h with INFORMATION = the offset
 * of the first differing byte (SBC-4 5.3.1).  NUMBER OF LOGICAL BLOCKS above
 * the MAXIMUM COMPARE AND WRITE LENGTH of VPD B0h is INVALID FIELD IN CDB.
 * So is a data-out of any other length than the 2 x NUMBER OF LOGICAL BLOCKS
 * the CDB implies: the command has no meaning for part of its data (and a
 * count of 256 written into the one-byte field reads as 0 blocks: the extra
 * data says the initiator meant something else). */
struct scsi_sense_reason fw_caw_compare_and_write(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    uint32_t have = c->t->data ? c->t->data_len : 0;
    if (c->nblocks > FW_MAX_COMPARE_AND_WRITE_BLOCKS || have != c->want)
        return scsi_reason_invalid_cdb_field(13, -1);
    if (c->nblocks == 0)
        return fw_good();
    size_t half = (size_t)c->nblocks * d->block_size;
    const uint8_t *verify = c->t->data, *write = c->t->data + half;
    struct scsi_sense_reason r = fw_check_range(d, c->lba, c->nblocks, verify, true);
    if (!fw_is_good(&r))
        return r;
    bool durable = (c->cdb[1] & 0x08) || !d->cur.wce;
    int rc = sim_store_write(d->store, c->lba, (uint32_t)c->nblocks, write, durable);
    if (rc < 0)
        return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
    c->t->xfer = (uint32_t)c->want;
    return fw_good();
}

/* ORWRITE (16): every block becomes the bitwise OR of the medium and the
 * data-out (ORPROTECT is reserved on this drive; BMOP 000b only). */
struct scsi_sense_reason fw_caw_orwrite(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    if (c->nblocks == 0)
        return fw_good();
    size_t len = (size_t)c->nblocks * d->block_size;
    uint8_t *buf = malloc(len);
    if (!buf)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    struct scsi_sense_reason r = fw_good();
    int rc = sim_store_read(d->store, c->lba, (uint32_t)c->nblocks, buf);
    if (rc < 0) {
        r = fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, c->lba);
    } else {
        for (size_t i = 0; i < len; i++)
            buf[i] |= c->t->data[i];
        bool durable = (c->cdb[1] & 0x08) || !d->cur.wce;
        rc = sim_store_write(d->store, c->lba, (uint32_t)c->nblocks, buf, durable);
        if (rc < 0)
            r = fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
        else
            c->t->xfer = (uint32_t)c->want;
    }
    free(buf);
    return r;
}
