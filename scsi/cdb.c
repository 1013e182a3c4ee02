/* scsi/cdb.c — READ/WRITE decoding and re-encoding for splitting, and the
 * few CDB checks the core needs (see scsi/cdb.h). */
#include <errno.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/scsi.h"

#define CDB_FUA_BIT 0x08u /* byte 1 bit 3 of READ/WRITE (10/12/16) */

bool cdb_parse_rw(const uint8_t *cdb, uint8_t len, struct cdb_rw *out)
{
    if (len < 6)
        return false;
    struct cdb_rw rw = { 0 };
    switch (cdb[0]) {
    case SCSI_OP_WRITE_6:
        rw.write = true;
        /* fall through */
    case SCSI_OP_READ_6:
        rw.lba = scsi_get_be24(cdb + 1) & 0x1FFFFFu;
        rw.blocks = cdb[4] ? cdb[4] : 256u;
        break;
    case SCSI_OP_WRITE_10:
        rw.write = true;
        /* fall through */
    case SCSI_OP_READ_10:
        if (len < 10)
            return false;
        rw.lba = scsi_get_be32(cdb + 2);
        rw.blocks = scsi_get_be16(cdb + 7);
        rw.fua = cdb[1] & CDB_FUA_BIT;
        break;
    case SCSI_OP_WRITE_12:
        rw.write = true;
        /* fall through */
    case SCSI_OP_READ_12:
        if (len < 12)
            return false;
        rw.lba = scsi_get_be32(cdb + 2);
        rw.blocks = scsi_get_be32(cdb + 6);
        rw.fua = cdb[1] & CDB_FUA_BIT;
        break;
    case SCSI_OP_WRITE_16:
        rw.write = true;
        /* fall through */
    case SCSI_OP_READ_16:
        if (len < 16)
            return false;
        rw.lba = scsi_get_be64(cdb + 2);
        rw.blocks = scsi_get_be32(cdb + 10);
        rw.fua = cdb[1] & CDB_FUA_BIT;
        break;
    default:
        return false;
    }
    *out = rw;
    return true;
}

int cdb_rw_retarget(const uint8_t *cdb, uint8_t len, uint64_t lba, uint32_t blocks, uint8_t *out)
{
    struct cdb_rw rw;
    if (!cdb_parse_rw(cdb, len, &rw))
        return -EINVAL;
    uint8_t c[16];
    memcpy(c, cdb, len);
    switch (cdb[0]) {
    case SCSI_OP_READ_6:
    case SCSI_OP_WRITE_6:
        if (lba > 0x1FFFFFu || blocks == 0 || blocks > 256)
            return -ERANGE;
        c[1] = (uint8_t)((c[1] & 0xE0u) | (lba >> 16));
        c[2] = (uint8_t)(lba >> 8);
        c[3] = (uint8_t)lba;
        c[4] = (uint8_t)(blocks == 256 ? 0 : blocks);
        break;
    case SCSI_OP_READ_10:
    case SCSI_OP_WRITE_10:
        if (lba > UINT32_MAX || blocks > UINT16_MAX)
            return -ERANGE;
        scsi_put_be32(c + 2, (uint32_t)lba);
        scsi_put_be16(c + 7, (uint16_t)blocks);
        break;
    case SCSI_OP_READ_12:
    case SCSI_OP_WRITE_12:
        if (lba > UINT32_MAX)
            return -ERANGE;
        scsi_put_be32(c + 2, (uint32_t)lba);
        scsi_put_be32(c + 6, blocks);
        break;
    default: /* (16) */
        scsi_put_be64(c + 2, lba);
        scsi_put_be32(c + 10, blocks);
        break;
    }
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
