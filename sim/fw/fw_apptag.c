/* sim/fw/fw_apptag.c — the Application Tag mode page (SBC-4: page 0Ah,
 * subpage 02h), which tells a drive with protection information of type 1 or
 * 3 the LOGICAL BLOCK APPLICATION TAG it is to expect in ranges of blocks.
 * The 10/12/16-byte CDBs carry no expected application tag, so this page is
 * the only source of one for them; it is in force while the control page's
 * ATMPE bit is 1 (fw_mode.c), and fw_pi.c checks against it.
 *
 * The page, SPF format: bytes 0-3 the subpage header (PS, SPF, page code,
 * subpage code, a 2-byte PAGE LENGTH), 4-15 reserved, then 24-byte
 * descriptors: byte 0 bit 7 LAST, 1-5 reserved, 6-7 LOGICAL BLOCK
 * APPLICATION TAG, 8-15 LOGICAL BLOCK ADDRESS, 16-23 LOGICAL BLOCKS.  The
 * descriptor has no mask: every bit of the tag is compared (the mask exists
 * only in the 32-byte CDBs, which the controller's 16-byte CDB field cannot
 * carry).  A descriptor with LAST ends the list; any after it are ignored.
 */
#include "sim/fw/fw_priv.h"

#include <string.h>

#define HDR 16u     /* subpage header and reserved bytes before the first descriptor */
#define DESC 24u
#define LAST 0x80

_Static_assert(HDR + FW_APP_TAGS_MAX * DESC <= 255 - 4 - 8 - 20 - 12,
               "every page must fit MODE SENSE (6): header, block descriptor, 08h, 0Ah, 0Ah/02h");

static void put_desc(uint8_t *o, bool last, uint16_t tag, uint64_t lba, uint64_t blocks)
{
    o[0] = last ? LAST : 0;
    scsi_put_be16(o + 6, tag);
    scsi_put_be64(o + 8, lba);
    scsi_put_be64(o + 16, blocks);
}

size_t fw_apptag_build(const struct fw_mode_params *p, bool mask, uint8_t *b)
{
    unsigned n = mask ? 1 : p->napp;
    size_t len = HDR + (size_t)n * DESC;
    memset(b, 0, len);
    b[0] = 0x80 | 0x40 | SCSI_MODE_PAGE_CONTROL;   /* PS, SPF */
    b[1] = 0x02;
    scsi_put_be16(b + 2, (uint16_t)(len - 4));
    if (mask)   /* every field of a descriptor is changeable */
        put_desc(b + HDR, true, 0xffff, UINT64_MAX, UINT64_MAX);
    else
        for (unsigned i = 0; i < n; i++)
            put_desc(b + HDR + i * DESC, i + 1 == n, p->app[i].tag, p->app[i].lba, p->app[i].blocks);
    return len;
}

static struct scsi_sense_reason reserved_bytes(const uint8_t *pg, size_t from, size_t to, uint16_t at)
{
    for (size_t i = from; i < to; i++)
        if (pg[i])
            return scsi_reason_invalid_param_field((uint16_t)(at + i), fw_top_bit(pg[i]));
    return fw_good();
}

static bool overlaps(const struct fw_app_tag *a, uint64_t lba, uint64_t blocks)
{
    return lba < a->lba + a->blocks && a->lba < lba + blocks;   /* both ranges lie inside the drive */
}

struct scsi_sense_reason fw_apptag_take(const struct fw_drive *d, const uint8_t *pg, size_t len, uint16_t at,
                                        struct fw_mode_params *next)
{
    if (len < HDR || (len - HDR) % DESC || (len - HDR) / DESC > FW_APP_TAGS_MAX)
        return scsi_reason_invalid_param_field((uint16_t)(at + 2), -1);   /* PAGE LENGTH */
    struct scsi_sense_reason r = reserved_bytes(pg, 4, HDR, at);
    if (!fw_is_good(&r))
        return r;
    unsigned n = 0;
    for (size_t o = HDR; o < len; o += DESC) {
        const uint8_t *e = pg + o;
        if (e[0] & ~LAST)
            return scsi_reason_invalid_param_field((uint16_t)(at + o), fw_top_bit(e[0] & ~LAST));
        r = reserved_bytes(pg, o + 1, o + 6, at);
        if (!fw_is_good(&r))
            return r;
        uint64_t lba = scsi_get_be64(e + 8), blocks = scsi_get_be64(e + 16);
        if (lba >= d->blocks)
            return scsi_reason_invalid_param_field((uint16_t)(at + o + 8), -1);
        if (blocks == 0 || blocks > d->blocks - lba)
            return scsi_reason_invalid_param_field((uint16_t)(at + o + 16), -1);
        for (unsigned i = 0; i < n; i++)
            if (overlaps(&next->app[i], lba, blocks))   /* one expected tag per block */
                return scsi_reason_invalid_param_field((uint16_t)(at + o + 8), -1);
        next->app[n++] = (struct fw_app_tag){ .lba = lba, .blocks = blocks, .tag = scsi_get_be16(e + 6) };
        if (e[0] & LAST)
            break;
    }
    next->napp = (uint8_t)n;
    return fw_good();
}

bool fw_apptag_expected(const struct fw_drive *d, uint64_t lba, uint16_t *tag)
{
    if (!d->cur.atmpe)
        return false;
    for (unsigned i = 0; i < d->cur.napp; i++)
        if (lba - d->cur.app[i].lba < d->cur.app[i].blocks) {
            *tag = d->cur.app[i].tag;
            return true;
        }
    return false;
}
