/* sim/fw/fw_lbp.c — logical block provisioning (SBC-4 4.7, 5.32, 5.50-5.51,
 * 5.7): UNMAP, WRITE SAME (10)/(16) with UNMAP and NDOB, and GET LBA STATUS,
 * for a drive configured thin.  Deallocation is real: the store drops cached
 * copies and gives the media back (sim_store_unmap), and reads of a
 * deallocated block return zeros (LBPRZ = 001b).  The limits the handlers
 * enforce are the ones VPD B0h reports (fw_lbp_limits). */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

#define UNMAP_HEADER 8u
#define UNMAP_DESC   16u
#define WS_CHUNK     (64u * 1024u)

void fw_lbp_limits(const struct fw_drive *d, struct fw_lbp_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->max_write_same = FW_MAX_WRITE_SAME_BLOCKS;
    if (!d->thin)
        return;
    l->max_unmap_lbas = FW_MAX_UNMAP_BLOCKS;
    l->max_unmap_descs = FW_MAX_UNMAP_DESCRIPTORS;
    /* The media frees whole 64 KiB chunks (memory) or file-system blocks:
     * unmapping less deallocates nothing but still reads back as zeros. */
    l->granularity = 65536u / d->block_size;
}

/* Checks one descriptor at p (offset off in the parameter list). */
static struct scsi_sense_reason check_desc(const struct fw_drive *d, const uint8_t *p, uint16_t off)
{
    uint64_t lba = scsi_get_be64(p);
    uint32_t n = scsi_get_be32(p + 8);
    for (unsigned i = 12; i < UNMAP_DESC; i++)
        if (p[i])
            return scsi_reason_invalid_param_field((uint16_t)(off + i), fw_top_bit(p[i]));
    if (n > FW_MAX_UNMAP_BLOCKS)
        return scsi_reason_invalid_param_field((uint16_t)(off + 8), -1);
    if (lba > d->blocks || n > d->blocks - lba)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    return fw_good();
}

/* UNMAP (SBC-4 5.32): every descriptor is checked before any block is
 * deallocated, so a bad list changes nothing. */
struct scsi_sense_reason fw_lbp_unmap(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    const uint8_t *p = c->t->data;
    uint64_t plen = c->length;
    if (c->cdb[1] & 0x01)            /* ANCHOR: ANC_SUP is 0 in VPD B2h */
        return scsi_reason_invalid_cdb_field(1, 0);
    if (plen == 0)
        return fw_good();            /* no parameter data: nothing to do */
    if (plen < UNMAP_HEADER)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    c->t->xfer = (uint32_t)plen;
    uint16_t data_len = scsi_get_be16(p);
    uint16_t desc_len = scsi_get_be16(p + 2);
    if ((uint64_t)data_len + 2 > plen)
        return scsi_reason_invalid_param_field(0, -1);
    if ((uint64_t)desc_len + UNMAP_HEADER > plen || desc_len + 6u > data_len)
        return scsi_reason_invalid_param_field(2, -1);
    for (unsigned i = 4; i < UNMAP_HEADER; i++)
        if (p[i])
            return scsi_reason_invalid_param_field((uint16_t)i, fw_top_bit(p[i]));
    /* SBC-4: a partial descriptor at the end is ignored. */
    unsigned ndesc = desc_len / UNMAP_DESC;
    if (ndesc > FW_MAX_UNMAP_DESCRIPTORS)
        return scsi_reason_invalid_param_field(2, -1);
    for (unsigned i = 0; i < ndesc; i++) {
        uint16_t off = (uint16_t)(UNMAP_HEADER + i * UNMAP_DESC);
        struct scsi_sense_reason r = check_desc(d, p + off, off);
        if (!fw_is_good(&r))
            return r;
    }
    for (unsigned i = 0; i < ndesc; i++) {
        const uint8_t *e = p + UNMAP_HEADER + i * UNMAP_DESC;
        uint64_t lba = scsi_get_be64(e);
        uint32_t n = scsi_get_be32(e + 8);
        if (n == 0)
            continue;
        int rc = sim_store_unmap(d->store, lba, n);
        if (rc < 0)
            return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, lba);
    }
    return fw_good();
}

static bool all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* WRITE SAME (SBC-4 5.50, 5.51): one block of data-out (none with NDOB: a
 * block of zeros) written to every block of the range.  With UNMAP on a thin
 * drive, a block of zeros deallocates the range instead (what an unmapped
 * block reads back as, so the result is the same); other data is written.
 * WSNZ is 1: a NUMBER OF LOGICAL BLOCKS of 0 is INVALID FIELD IN CDB (with
 * WSNZ 0, libiscsi 1.19's WriteSame10.UnmapUntilEnd expects non-zero data
 * with UNMAP to read back as zeros, which SBC-4 4.7.3.4 does not allow), as
 * is more than the MAXIMUM WRITE SAME LENGTH; a
 * data-out of other than one block is INVALID FIELD IN INFORMATION UNIT (the
 * transfer disagrees with the command; no CDB field is wrong). */
struct scsi_sense_reason fw_lbp_write_same(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    bool unmap = c->cdb[1] & 0x08;
    bool ndob = c->cmd->cdb_len == 16 && (c->cdb[1] & 0x01);
    uint32_t bs = d->block_size;
    uint32_t have = c->t->data ? c->t->data_len : 0;
    if (unmap && !d->thin)
        return scsi_reason_invalid_cdb_field(1, 3);
    if (have != c->want)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, FW_ASC_INVALID_FIELD_IN_IU);
    if (c->nblocks == 0 || c->nblocks > FW_MAX_WRITE_SAME_BLOCKS)
        return scsi_reason_invalid_cdb_field(c->cmd->len_off, -1);
    const uint8_t *block = ndob ? NULL : c->t->data;
    c->t->xfer = (uint32_t)c->want;
    if (unmap && (!block || all_zero(block, bs))) {
        int rc = sim_store_unmap(d->store, c->lba, c->nblocks);
        return rc < 0 ? fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba) : fw_good();
    }
    uint32_t per = WS_CHUNK / bs;
    uint8_t *buf = calloc(per, bs);
    if (!buf)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    for (uint32_t i = 0; block && i < per; i++)
        memcpy(buf + (size_t)i * bs, block, bs);
    bool durable = !d->cur.wce;
    struct scsi_sense_reason r = fw_good();
    for (uint64_t done = 0; done < c->nblocks;) {
        uint32_t k = c->nblocks - done < per ? (uint32_t)(c->nblocks - done) : per;
        int rc = sim_store_write(d->store, c->lba + done, k, buf, durable);
        if (rc < 0) {
            r = fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba + done);
            break;
        }
        done += k;
    }
    free(buf);
    return r;
}

/* GET LBA STATUS (SBC-4 5.7): descriptors of runs of mapped (0) and
 * deallocated (1) blocks from the starting LBA, as many as the allocation
 * length holds (at most GET_LBA_DESCS). */
#define GET_LBA_DESCS 64
struct scsi_sense_reason fw_lbp_get_lba_status(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    uint64_t lba = scsi_get_be64(c->cdb + 2);
    if (lba >= d->blocks)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    uint8_t b[8 + 16 * GET_LBA_DESCS];
    memset(b, 0, sizeof(b));
    size_t want = c->length < 24 ? 1 : (size_t)((c->length - 8) / 16);
    if (want > GET_LBA_DESCS)
        want = GET_LBA_DESCS;
    size_t n = 0;
    while (n < want && lba < d->blocks) {
        uint64_t left = d->blocks - lba;
        if (left > UINT32_MAX)
            left = UINT32_MAX;
        bool mapped;
        uint64_t run;
        int rc = sim_store_mapped(d->store, lba, left, &mapped, &run);
        if (rc < 0)
            return fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, lba);
        uint8_t *e = b + 8 + 16 * n++;
        scsi_put_be64(e, lba);
        scsi_put_be32(e + 8, (uint32_t)run);
        e[12] = mapped ? 0 : 1;
        lba += run;
    }
    size_t len = 8 + 16 * n;
    scsi_put_be32(b, (uint32_t)(len - 4));
    fw_data_in(c, b, c->length < len ? c->length : len);
    return fw_good();
}
