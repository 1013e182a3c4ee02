/* scsi/cdb.c — READ/WRITE decoding and re-encoding for splitting, and the
 * few CDB checks the core needs (see scsi/cdb.h). */
#include <errno.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/scsi.h"

#define CDB_FUA_BIT 0x08u /* byte 1 bit 3 of READ/WRITE (10/12/16) */

/* Where READ and WRITE of each size keep their fields: decoding and
 * re-encoding read the same row, so the two cannot disagree. */
struct rw_form {
    uint8_t  read_op, write_op, cdb_len;
    uint8_t  lba_off, lba_bytes;  /* the LBA field */
    uint8_t  len_off, len_bytes;  /* the transfer length, in blocks */
    uint64_t lba_max;             /* the LBA bits of the field (a (6) has 21) */
    uint32_t blocks_max;          /* the most blocks the length can ask for */
    bool     six;                 /* a (6): length 0 means 256 blocks, and no FUA bit */
};

static const struct rw_form rw_forms[] = {
    { SCSI_OP_READ_6, SCSI_OP_WRITE_6, 6, 1, 3, 4, 1, 0x1FFFFFu, 256, true },
    { SCSI_OP_READ_10, SCSI_OP_WRITE_10, 10, 2, 4, 7, 2, UINT32_MAX, UINT16_MAX, false },
    { SCSI_OP_READ_12, SCSI_OP_WRITE_12, 12, 2, 4, 6, 4, UINT32_MAX, UINT32_MAX, false },
    { SCSI_OP_READ_16, SCSI_OP_WRITE_16, 16, 2, 8, 10, 4, UINT64_MAX, UINT32_MAX, false },
};

/* The row of a READ/WRITE opcode (and which of the two it is), or NULL. */
static const struct rw_form *rw_form_of(uint8_t opcode, bool *write)
{
    for (size_t i = 0; i < sizeof rw_forms / sizeof rw_forms[0]; i++) {
        if (opcode == rw_forms[i].read_op || opcode == rw_forms[i].write_op) {
            *write = opcode == rw_forms[i].write_op;
            return &rw_forms[i];
        }
    }
    return NULL;
}

bool cdb_parse_rw(const uint8_t *cdb, uint8_t len, struct cdb_rw *out)
{
    bool write = false;
    const struct rw_form *f = len ? rw_form_of(cdb[0], &write) : NULL;
    if (!f || len < f->cdb_len)
        return false;
    struct cdb_rw rw = { .write = write };
    rw.lba = scsi_get_be(cdb + f->lba_off, f->lba_bytes) & f->lba_max;
    rw.blocks = (uint32_t)scsi_get_be(cdb + f->len_off, f->len_bytes);
    if (f->six)
        rw.blocks = rw.blocks ? rw.blocks : 256u;
    else
        rw.fua = cdb[1] & CDB_FUA_BIT;
    *out = rw;
    return true;
}

int cdb_rw_retarget(const uint8_t *cdb, uint8_t len, uint64_t lba, uint32_t blocks, uint8_t *out)
{
    bool write;
    const struct rw_form *f = len ? rw_form_of(cdb[0], &write) : NULL;
    if (!f || len < f->cdb_len)
        return -EINVAL;
    if (lba > f->lba_max || blocks > f->blocks_max || (f->six && blocks == 0))
        return -ERANGE;
    uint8_t c[16];
    memcpy(c, cdb, len);
    /* A (6) keeps the bits of byte 1 above its 21-bit LBA. */
    uint64_t kept = scsi_get_be(c + f->lba_off, f->lba_bytes) & ~f->lba_max;
    scsi_put_be(c + f->lba_off, f->lba_bytes, kept | lba);
    scsi_put_be(c + f->len_off, f->len_bytes, blocks); /* a (6)'s 256 is written as 0 */
    memcpy(out, c, len);
    return 0;
}

int cdb_split_plan(const struct cdb_rw *rw, uint64_t requested, uint64_t max_bytes, struct cdb_split *out)
{
    if (rw->blocks == 0 || requested == 0 || requested % rw->blocks)
        return -EINVAL;
    uint64_t bs = requested / rw->blocks;
    if (bs > UINT32_MAX)
        return -EINVAL;
    if (bs > max_bytes)
        return -E2BIG;
    uint64_t per = max_bytes / bs;
    if (per > rw->blocks)
        per = rw->blocks;
    out->block_size = (uint32_t)bs;
    out->chunk_blocks = (uint32_t)per;
    out->chunks = (uint32_t)((rw->blocks + per - 1) / per);
    return 0;
}

bool cdb_is_sync_cache(const uint8_t *cdb, uint8_t len)
{
    return len >= 10 && (cdb[0] == SCSI_OP_SYNCHRONIZE_CACHE_10 || cdb[0] == SCSI_OP_SYNCHRONIZE_CACHE_16);
}

bool cdb_is_mode_sense(const uint8_t *cdb, uint8_t len)
{
    return len >= 6 && (cdb[0] == SCSI_OP_MODE_SENSE_6 || cdb[0] == SCSI_OP_MODE_SENSE_10);
}

bool cdb_write_has_fua(const uint8_t *cdb, uint8_t len)
{
    return len >= 10 && (cdb[0] == SCSI_OP_WRITE_10 || cdb[0] == SCSI_OP_WRITE_16) && (cdb[1] & CDB_FUA_BIT);
}

void cdb_clear_write_fua(uint8_t *cdb, uint8_t len)
{
    if (cdb_write_has_fua(cdb, len))
        cdb[1] &= (uint8_t)~CDB_FUA_BIT;
}

long cdb_mode_caching_page(const uint8_t *cdb, const uint8_t *data, uint64_t len)
{
    uint64_t hdr, bd_len;
    if (cdb[0] == SCSI_OP_MODE_SENSE_6) {
        if (len < 4)
            return -1;
        hdr = 4;
        bd_len = data[3];
    } else {
        if (len < 8)
            return -1;
        hdr = 8;
        bd_len = scsi_get_be16(data + 6);
    }
    uint64_t at = hdr + bd_len;
    while (at + 2 <= len) {
        uint8_t code = data[at] & 0x3Fu;
        bool subpage = data[at] & 0x40u;
        uint64_t plen = subpage ? (at + 4 <= len ? 4u + scsi_get_be16(data + at + 2) : len) : 2u + data[at + 1];
        if (code == SCSI_MODE_PAGE_CACHING && !subpage && at + 3 <= len)
            return (long)at;
        at += plen;
    }
    return -1;
}
