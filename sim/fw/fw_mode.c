/* sim/fw/fw_mode.c — MODE SENSE and MODE SELECT (6 and 10).
 *
 * Three pages, each described once in a table: caching (08h: WCE, RCD),
 * control (0Ah: D_SENSE, SWP, ATMPE) and, on a drive with protection
 * information, the control page's Application Tag subpage (0Ah/02h,
 * fw_apptag.c).  A page of subpage 00h has a builder (values -> bytes) and a
 * parser (bytes -> values); changeable values are the same builder fed
 * "every changeable bit set" with the fixed fields left out, so MODE SELECT
 * can find an attempt to change an unchangeable bit by comparing against the
 * current page under that mask.  A subpage (SPF format: 4-byte header, 2-byte
 * PAGE LENGTH) holds a variable list, so it brings its own builder and its
 * own check.  Saved values are supported (SP=1, PC=11b).
 */
#include "sim/fw/fw_priv.h"
#include "sim/fw/fw_plugin.h"

#include <string.h>

enum page_control { PC_CURRENT = 0, PC_CHANGEABLE = 1, PC_DEFAULT = 2, PC_SAVED = 3 };

#define MODE_PS 0x80   /* PS: the page is savable */
#define MODE_SPF 0x40  /* SPF: subpage format */
#define SUBPAGE_ALL 0xff
#define DSP_WP      0x80
#define DSP_DPOFUA  0x10
/* ATMPE, control page byte 5 bit 5 (SPC-5 control mode page: byte 5 holds
 * ATO bit 7, TAS bit 6, ATMPE bit 5, RWWP bit 4, AUTOLOAD MODE bits 2-0; the
 * same layout as Microsoft's MODE_CONTROL_PAGE in minitape.h, found in the
 * code corpus as I-gor-C/windows-driver-docs-ddi, ns-minitape--mode-control-page.md). */
#define CTL_ATMPE   0x20

static void caching_build(const struct fw_drive *d, const struct fw_mode_params *p, bool mask, uint8_t *b)
{
    (void)d;
    (void)mask;        /* every field other than WCE and RCD is zero */
    b[2] = (uint8_t)((p->wce ? 0x04 : 0) | (p->rcd ? 0x01 : 0));
}

static void caching_parse(const uint8_t *b, struct fw_mode_params *p)
{
    p->wce = b[2] & 0x04;
    p->rcd = b[2] & 0x01;
}

static void control_build(const struct fw_drive *d, const struct fw_mode_params *p, bool mask, uint8_t *b)
{
    b[2] = p->d_sense ? 0x04 : 0;
    if (!mask)
        b[3] = 0x10;   /* QUEUE ALGORITHM MODIFIER 1: unrestricted reordering (fixed) */
    b[4] = p->swp ? 0x08 : 0;
    /* ATMPE means something only where blocks carry an application tag. */
    b[5] = p->atmpe && d->prot_type ? CTL_ATMPE : 0;
}

static void control_parse(const uint8_t *b, struct fw_mode_params *p)
{
    p->d_sense = b[2] & 0x04;
    p->swp = b[4] & 0x08;
    p->atmpe = b[5] & CTL_ATMPE;
}

static const struct mode_page {
    uint8_t code, subpage;
    uint8_t len;         /* subpage 00h: whole page, header included */
    bool pi_only;        /* offered only on a drive with protection information */
    void (*build)(const struct fw_drive *d, const struct fw_mode_params *p, bool mask, uint8_t *b);
    void (*parse)(const uint8_t *b, struct fw_mode_params *p);
    /* a subpage: the whole page built, and checked and taken, by its own code */
    size_t (*build_sub)(const struct fw_mode_params *p, bool mask, uint8_t *b);
    struct scsi_sense_reason (*take_sub)(const struct fw_drive *d, const uint8_t *pg, size_t len, uint16_t at,
                                         struct fw_mode_params *next);
} pages[] = {
    { SCSI_MODE_PAGE_CACHING, 0x00, 20, false, caching_build, caching_parse, NULL, NULL },
    { SCSI_MODE_PAGE_CONTROL, 0x00, 12, false, control_build, control_parse, NULL, NULL },
    { SCSI_MODE_PAGE_CONTROL, 0x02, 0, true, NULL, NULL, fw_apptag_build, fw_apptag_take },
};
#define NPAGES (sizeof(pages) / sizeof(pages[0]))

static const struct fw_mode_params every_changeable = {
    .wce = true, .rcd = true, .d_sense = true, .swp = true, .atmpe = true,
};

static size_t build_page(const struct fw_drive *d, const struct mode_page *pg, const struct fw_mode_params *p,
                         bool mask, uint8_t *b)
{
    if (pg->build_sub)
        return pg->build_sub(p, mask, b);
    memset(b, 0, pg->len);
    b[0] = (uint8_t)(MODE_PS | pg->code);
    b[1] = (uint8_t)(pg->len - 2);
    pg->build(d, p, mask, b);
    return pg->len;
}

static bool offered(const struct fw_drive *d, const struct mode_page *pg)
{
    return !pg->pi_only || d->prot_type;
}

static const struct mode_page *find_page(const struct fw_drive *d, uint8_t code, uint8_t subpage)
{
    for (size_t i = 0; i < NPAGES; i++)
        if (pages[i].code == code && pages[i].subpage == subpage && offered(d, &pages[i]))
            return &pages[i];
    return NULL;
}

static bool params_equal(const struct fw_mode_params *a, const struct fw_mode_params *b)
{
    if (a->wce != b->wce || a->rcd != b->rcd || a->d_sense != b->d_sense || a->swp != b->swp ||
        a->atmpe != b->atmpe || a->napp != b->napp)
        return false;
    for (unsigned i = 0; i < a->napp; i++)
        if (a->app[i].lba != b->app[i].lba || a->app[i].blocks != b->app[i].blocks || a->app[i].tag != b->app[i].tag)
            return false;
    return true;
}

static bool is_ten(const struct fw_ctx *c)
{
    return c->cdb[0] == SCSI_OP_MODE_SENSE_10 || c->cdb[0] == SCSI_OP_MODE_SELECT_10;
}

static bool write_protected(const struct fw_drive *d)
{
    return d->write_protect || d->cur.swp;
}

struct scsi_sense_reason fw_mode_sense(struct fw_ctx *c)
{
    const struct fw_drive *d = c->d;
    bool ten = is_ten(c);
    bool dbd = c->cdb[1] & 0x08;
    bool llbaa = ten && (c->cdb[1] & 0x10);
    uint8_t pc = c->cdb[2] >> 6, code = c->cdb[2] & 0x3f, subpage = c->cdb[3];
    bool all = code == SCSI_MODE_PAGE_ALL;
    if (subpage != 0x00 && subpage != SUBPAGE_ALL && (all || !find_page(d, code, subpage)))
        return scsi_reason_invalid_cdb_field(3, -1);   /* a subpage this drive does not have */
    if (!all && !find_page(d, code, 0) && !fw_plugin_has_mode_page(c->fw->plugin, code))
        return scsi_reason_invalid_cdb_field(2, 5);

    const struct fw_mode_params *vals = pc == PC_CURRENT ? &d->cur
                                      : pc == PC_DEFAULT ? &d->dflt
                                      : pc == PC_SAVED ? &d->saved : &every_changeable;
    bool mask = pc == PC_CHANGEABLE;
    uint8_t b[512];   /* 256 for a (6), whose MODE DATA LENGTH is one byte */
    size_t cap = ten ? sizeof b : 256;
    memset(b, 0, sizeof(b));
    size_t hdr = ten ? 8 : 4;
    size_t bdlen = dbd ? 0 : llbaa ? 16 : 8;
    uint8_t *bd = b + hdr;
    if (bdlen && !mask) {   /* no block descriptor field is changeable: all zero */
        if (bdlen == 16) {
            scsi_put_be64(bd, d->blocks);
            scsi_put_be32(bd + 12, d->block_size);
        } else {
            scsi_put_be32(bd, d->blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)d->blocks);
            scsi_put_be24(bd + 5, d->block_size);
        }
    }
    size_t n = hdr + bdlen;
    /* Subpage 00h: the pages of subpage 00h; FFh: every subpage too. */
    for (size_t i = 0; i < NPAGES; i++)
        if ((all || pages[i].code == code) && offered(d, &pages[i]) &&
            (subpage == SUBPAGE_ALL || pages[i].subpage == subpage))
            n += build_page(d, &pages[i], vals, mask, b + n);
    if (subpage == 0x00 || subpage == SUBPAGE_ALL)   /* plug-in pages have no subpages */
        n += fw_plugin_mode_pages(c, code, pc, b + n, cap - n);

    uint8_t dsp = (uint8_t)((write_protected(d) ? DSP_WP : 0) | DSP_DPOFUA);
    if (ten) {
        scsi_put_be16(b, (uint16_t)(n - 2));
        b[3] = dsp;
        b[4] = bdlen == 16 ? 0x01 : 0;   /* LONGLBA */
        scsi_put_be16(b + 6, (uint16_t)bdlen);
    } else {
        b[0] = (uint8_t)(n - 1);
        b[2] = dsp;
        b[3] = (uint8_t)bdlen;
    }
    fw_data_in(c, b, c->length < n ? c->length : n);
    return fw_good();
}

static struct scsi_sense_reason list_length_error(void)
{
    return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
}

/* A block descriptor may restate the drive's geometry, never change it. */
static struct scsi_sense_reason check_block_descriptor(const struct fw_drive *d, const uint8_t *bd,
                                                       size_t bdlen, uint16_t at)
{
    if (bdlen == 16) {
        uint64_t blocks = scsi_get_be64(bd);
        if (blocks != 0 && blocks != d->blocks)
            return scsi_reason_invalid_param_field(at, -1);
        for (unsigned i = 8; i < 12; i++)
            if (bd[i])
                return scsi_reason_invalid_param_field((uint16_t)(at + i), -1);
        if (scsi_get_be32(bd + 12) != d->block_size)
            return scsi_reason_invalid_param_field((uint16_t)(at + 12), -1);
    } else {
        uint32_t blocks = scsi_get_be32(bd);
        uint32_t reported = d->blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)d->blocks;
        if (blocks != 0 && blocks != reported)
            return scsi_reason_invalid_param_field(at, -1);
        if (bd[4])
            return scsi_reason_invalid_param_field((uint16_t)(at + 4), -1);
        if (scsi_get_be24(bd + 5) != d->block_size)
            return scsi_reason_invalid_param_field((uint16_t)(at + 5), -1);
    }
    return fw_good();
}

/* Checks one page of the parameter list (its size into *size) against the
 * current page and, when only changeable bits differ, folds its values into
 * *next.  A subpage is checked by its own code. */
static struct scsi_sense_reason take_page(const struct fw_drive *d, const uint8_t *p, size_t off,
                                          size_t plen, struct fw_mode_params *next, size_t *size)
{
    if (plen - off < 2)
        return list_length_error();
    uint8_t code = p[off] & 0x3f;
    if (p[off] & MODE_SPF) {
        if (plen - off < 4)
            return list_length_error();
        const struct mode_page *sp = p[off + 1] ? find_page(d, code, p[off + 1]) : NULL;
        if (!sp)   /* subpage 00h is never in the SPF format */
            return find_page(d, code, 0) ? scsi_reason_invalid_param_field((uint16_t)(off + 1), -1)
                                         : scsi_reason_invalid_param_field((uint16_t)off, 5);
        *size = 4u + scsi_get_be16(p + off + 2);
        if (*size > plen - off)
            return list_length_error();
        return sp->take_sub(d, p + off, *size, (uint16_t)off, next);
    }
    const struct mode_page *pg = find_page(d, code, 0);
    if (!pg)
        return scsi_reason_invalid_param_field((uint16_t)off, 5);
    *size = 2u + p[off + 1];
    if (p[off + 1] != pg->len - 2)
        return scsi_reason_invalid_param_field((uint16_t)(off + 1), -1);
    if (pg->len > plen - off)
        return list_length_error();
    uint8_t cur[32], chg[32];
    build_page(d, pg, &d->cur, false, cur);
    build_page(d, pg, &every_changeable, true, chg);
    for (unsigned i = 2; i < pg->len; i++) {
        uint8_t bad = (uint8_t)((p[off + i] ^ cur[i]) & ~chg[i]);
        if (bad)
            return scsi_reason_invalid_param_field((uint16_t)(off + i), fw_top_bit(bad));
    }
    pg->parse(p + off, next);
    return fw_good();
}

struct scsi_sense_reason fw_mode_select(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    bool ten = is_ten(c);
    bool pf = c->cdb[1] & 0x10, sp = c->cdb[1] & 0x01;
    if (!pf)   /* only the page format is understood */
        return scsi_reason_invalid_cdb_field(1, 4);
    size_t plen = c->length;
    if (plen == 0)
        return fw_good();   /* SPC: no data is not an error */
    const uint8_t *p = c->t->data;   /* the dispatcher checked it holds plen bytes */
    size_t hdr = ten ? 8 : 4;
    if (plen < hdr)
        return list_length_error();
    /* Header: MODE DATA LENGTH is reserved here and ignored; the
     * device-specific parameter (WP, DPOFUA) is ignored as SBC says. */
    size_t medium = ten ? 2 : 1;
    if (p[medium])
        return scsi_reason_invalid_param_field((uint16_t)medium, -1);
    size_t bdlen = ten ? scsi_get_be16(p + 6) : p[3];
    bool longlba = ten && (p[4] & 0x01);
    if (ten && (p[4] & 0xfe))
        return scsi_reason_invalid_param_field(4, fw_top_bit(p[4] & 0xfe));
    if (ten && p[5])
        return scsi_reason_invalid_param_field(5, -1);
    if (bdlen != 0 && bdlen != (longlba ? 16u : 8u))
        return scsi_reason_invalid_param_field(ten ? 6 : 3, -1);
    if (hdr + bdlen > plen)
        return list_length_error();
    struct scsi_sense_reason r;
    if (bdlen) {
        r = check_block_descriptor(d, p + hdr, bdlen, (uint16_t)hdr);
        if (!fw_is_good(&r))
            return r;
    }
    struct fw_mode_params next = d->cur;
    for (size_t off = hdr + bdlen, size = 0; off < plen; off += size) {
        r = take_page(d, p, off, plen, &next, &size);
        if (!fw_is_good(&r))
            return r;
    }
    bool changed = !params_equal(&next, &d->cur);
    int rc = fw_drive_set_mode(d, &next, sp);
    if (rc < 0)
        return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, 0);
    if (changed) {
        /* SPC: every other I_T nexus learns that the parameters changed. */
        fw_ua_add_all(d->ua, HBA_MAX_INITIATORS, c->t->initiator, SCSI_ASC_MODE_PARAMETERS_CHANGED);
    }
    c->t->xfer = (uint32_t)plen;
    return fw_good();
}
