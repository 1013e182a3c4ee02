/* sim/fw/fw_sbc.c — the block commands (SBC): READ CAPACITY (10)/(16),
 * READ and WRITE (6/10/12/16) and SYNCHRONIZE CACHE (10)/(16) (VERIFY,
 * WRITE AND VERIFY and PRE-FETCH are in fw_verify.c).  The dispatcher has
 * already checked the CDB, readiness, the LBA range and write protection, and
 * that a data-out buffer holds every block. */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

struct scsi_sense_reason fw_sbc_read_capacity10(struct fw_ctx *c)
{
    bool pmi = c->cdb[8] & 0x01;
    if (!pmi && scsi_get_be32(c->cdb + 2))
        return scsi_reason_invalid_cdb_field(2, -1);   /* LBA needs PMI */
    uint64_t last = c->d->blocks - 1;
    uint8_t b[8];
    /* FFFFFFFFh: the capacity needs READ CAPACITY (16) */
    scsi_put_be32(b, last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last);
    scsi_put_be32(b + 4, c->d->block_size);
    fw_data_in(c, b, sizeof(b));
    return fw_good();
}

struct scsi_sense_reason fw_sbc_read_capacity16(struct fw_ctx *c)
{
    bool pmi = c->cdb[14] & 0x01;
    if (!pmi && scsi_get_be64(c->cdb + 2))
        return scsi_reason_invalid_cdb_field(2, -1);
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    scsi_put_be64(b, c->d->blocks - 1);
    scsi_put_be32(b + 8, c->d->block_size);
    /* byte 12: P_TYPE (type - 1) and PROT_EN (fw_pi.c); byte 13: P_I_EXPONENT 0
     * (one tuple per block) and the exponent below; byte 14: LBPME and LBPRZ
     * on a thin drive; lowest aligned LBA 0 */
    if (c->d->prot_type)
        b[12] = (uint8_t)((c->d->prot_type - 1) << 1 | 0x01);
    b[13] = c->d->lbppbe;   /* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT */
    if (c->d->thin)
        b[14] = 0x80 | 0x40;
    fw_data_in(c, b, c->length < sizeof(b) ? c->length : sizeof(b));
    return fw_good();
}

struct scsi_sense_reason fw_sbc_read(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    struct fw_task *t = c->t;
    uint32_t bs = d->block_size;
    uint32_t room = t->data ? t->data_len : 0;
    if (d->prot_type)
        return fw_pi_read(c);   /* every read of such a drive checks the tuples */
    if (c->nblocks == 0)
        return fw_good();
    if (c->fua) {
        /* SBC: a newer copy in the volatile cache reaches the medium before a
         * FUA read is served from it. */
        int rc = sim_store_flush(d->store, c->lba, c->nblocks);
        if (rc < 0)
            return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
    }
    /* A data-in buffer shorter than the blocks asked for gets what fits. */
    uint64_t whole = room / bs;
    if (whole > c->nblocks)
        whole = c->nblocks;
    if (whole) {
        int rc = sim_store_read(d->store, c->lba, (uint32_t)whole, t->data);
        if (rc < 0)
            return fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, c->lba);
    }
    uint32_t tail = (uint32_t)(room - whole * bs);
    if (whole < c->nblocks && tail) {
        uint8_t *blk = malloc(bs);
        if (!blk)
            return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
        int rc = sim_store_read(d->store, c->lba + whole, 1, blk);
        if (rc == 0)
            memcpy(t->data + whole * bs, blk, tail);
        free(blk);
        if (rc < 0)
            return fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, c->lba + whole);
        t->xfer = room;
    } else {
        t->xfer = (uint32_t)(whole * bs);
    }
    return fw_good();
}

struct scsi_sense_reason fw_sbc_write(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    if (d->prot_type && fw_pi_field(c))
        return fw_pi_write(c);  /* tuples in the data-out; without, the store generates them */
    if (c->nblocks == 0)
        return fw_good();
    /* Written through when the initiator asks (FUA) or the cache is off. */
    bool durable = c->fua || !d->cur.wce;
    int rc = sim_store_write(d->store, c->lba, (uint32_t)c->nblocks, c->t->data, durable);
    if (rc < 0)
        return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
    c->t->xfer = (uint32_t)c->want;
    return fw_good();
}

/* WRITE ATOMIC (16) (SBC-4 5.48): every command is atomic here (fw_execute
 * runs it whole under the firmware lock), so the limits of VPD B0h are the
 * only rules: a TRANSFER LENGTH above the MAXIMUM ATOMIC TRANSFER LENGTH (the
 * maximum transfer length) and any ATOMIC BOUNDARY (MAXIMUM ATOMIC BOUNDARY
 * SIZE is 0) are INVALID FIELD IN CDB; alignment and granularity are one
 * block.  FUA is byte 1 bit 3 as in WRITE (16). */
struct scsi_sense_reason fw_sbc_write_atomic(struct fw_ctx *c)
{
    if (scsi_get_be16(c->cdb + 10))
        return scsi_reason_invalid_cdb_field(10, -1);
    if (c->nblocks > c->fw->max_xfer / c->d->block_size)
        return scsi_reason_invalid_cdb_field(12, -1);
    c->fua = c->cdb[1] & 0x08;
    return fw_sbc_write(c);
}

struct scsi_sense_reason fw_sbc_sync_cache(struct fw_ctx *c)
{
    /* IMMED=1 allows GOOD before the flush ends; flushing first is within
     * that allowance and keeps the oracle simple.  Block count 0 = to the end. */
    int rc = sim_store_flush(c->d->store, c->lba, c->nblocks);
    if (rc < 0)
        return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
    return fw_good();
}

/* READ DEFECT DATA (10)/(12) (SBC-4 5.18, 5.19): the simulated medium has no
 * defects, so both lists are valid and empty, in whichever format is asked
 * for among the address descriptor formats of SBC-4 table 7 (short block,
 * long block, bytes from index, physical sector, and their extended forms are
 * all empty alike); the reserved formats 001b, 010b and 111b and the vendor
 * format 110b are INVALID FIELD IN CDB. */
struct scsi_sense_reason fw_sbc_read_defect_data(struct fw_ctx *c)
{
    bool ten = c->cmd->cdb_len == 10;
    uint8_t req = ten ? c->cdb[2] : c->cdb[1];
    uint8_t format = req & 0x07;
    if (format == 1 || format == 2 || format >= 6)
        return scsi_reason_invalid_cdb_field(ten ? 2 : 1, 2);
    uint8_t b[8] = { 0 };
    b[1] = (uint8_t)(req & 0x1f);   /* PLISTV/GLISTV as requested, the format */
    fw_data_in(c, b, c->length < (ten ? 4u : 8u) ? c->length : (ten ? 4u : 8u));
    return fw_good();
}
