/* sim/fw/fw_vpd.c — INQUIRY vital product data pages, one builder per page in
 * a table: supported pages (00h), unit serial number (80h), device
 * identification (83h), extended INQUIRY data (86h, on a drive with protection
 * information), block limits (B0h), block device characteristics (B1h) and
 * logical block provisioning (B2h). */
#include "sim/fw/fw_priv.h"
#include "sim/fw/fw_plugin.h"

#include <string.h>

#define VPD_MAX 256

/* FNV-1a: a stable 64-bit digest of the serial number for the NAA extension. */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* NAA 6 (IEEE registered extended): NAA(4) | company ID(24) | vendor specific
 * identifier(36) | extension(64).  The identifier is 1h | target | lun, the
 * extension a digest of the serial number: unique per drive, stable across runs. */
void fw_naa_designator(uint16_t target, uint16_t lun, const char *serial, uint8_t out[16])
{
    uint32_t cid = FW_IEEE_COMPANY_ID;
    uint64_t vsi = (uint64_t)1 << 32 | (uint32_t)target << 16 | lun;
    out[0] = (uint8_t)(0x60 | ((cid >> 20) & 0x0f));
    out[1] = (uint8_t)(cid >> 12);
    out[2] = (uint8_t)(cid >> 4);
    out[3] = (uint8_t)((cid & 0x0f) << 4 | ((vsi >> 32) & 0x0f));
    scsi_put_be32(out + 4, (uint32_t)vsi);
    scsi_put_be64(out + 8, fnv1a64(serial));
}

static size_t page_supported(const struct fw_ctx *c, uint8_t *p);

static size_t page_serial(const struct fw_ctx *c, uint8_t *p)
{
    size_t n = strlen(c->d->serial);
    memcpy(p, c->d->serial, n);
    return n;
}

static size_t put_ascii_padded(uint8_t *p, size_t width, const char *s)
{
    size_t n = strnlen(s, width);
    memset(p, ' ', width);
    memcpy(p, s, n);
    return width;
}

static size_t page_device_id(const struct fw_ctx *c, uint8_t *p)
{
    const struct fw_drive *d = c->d;
    size_t n = 0;
    /* NAA designator: binary, associated with the logical unit, type 3 */
    p[n++] = 0x01;
    p[n++] = 0x03;
    p[n++] = 0x00;
    p[n++] = 16;
    memcpy(p + n, d->naa, 16);
    n += 16;
    /* T10 vendor ID designator: ASCII, logical unit, type 1:
     * vendor (8) + product (16) + serial number */
    size_t serial_len = strlen(d->serial);
    p[n++] = 0x02;
    p[n++] = 0x01;
    p[n++] = 0x00;
    p[n++] = (uint8_t)(8 + 16 + serial_len);
    n += put_ascii_padded(p + n, 8, d->vendor);
    n += put_ascii_padded(p + n, 16, d->product);
    memcpy(p + n, d->serial, serial_len);
    n += serial_len;
    return n + fw_tpg_designators(c, p + n);   /* the port's, with several ports */
}

static size_t page_block_limits(const struct fw_ctx *c, uint8_t *p)
{
    /* p[i] is byte i + 4 of the page (SBC-4 table 262) */
    memset(p, 0, 0x3c);
    uint32_t max_blocks = c->fw->max_xfer / c->d->block_size;
    struct fw_lbp_limits l;
    fw_lbp_limits(c->d, &l);
    p[0] = 0x01;                         /* WSNZ: WRITE SAME of 0 blocks is refused */
    p[1] = FW_MAX_COMPARE_AND_WRITE_BLOCKS; /* MAXIMUM COMPARE AND WRITE LENGTH */
    scsi_put_be16(p + 2, (uint16_t)(1u << c->d->lbppbe)); /* OPTIMAL TRANSFER LENGTH GRANULARITY:
                                                             one physical block */
    scsi_put_be32(p + 4, max_blocks);    /* MAXIMUM TRANSFER LENGTH (0: no limit) */
    scsi_put_be32(p + 8, max_blocks);    /* OPTIMAL TRANSFER LENGTH */
    scsi_put_be32(p + 16, l.max_unmap_lbas);   /* MAXIMUM UNMAP LBA COUNT (0: no UNMAP) */
    scsi_put_be32(p + 20, l.max_unmap_descs);  /* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
    scsi_put_be32(p + 24, l.granularity);      /* OPTIMAL UNMAP GRANULARITY */
    if (l.granularity)
        p[28] = 0x80;                    /* UGAVALID, UNMAP GRANULARITY ALIGNMENT 0 */
    scsi_put_be64(p + 32, l.max_write_same);   /* MAXIMUM WRITE SAME LENGTH */
    scsi_put_be32(p + 40, max_blocks);   /* MAXIMUM ATOMIC TRANSFER LENGTH: any transfer;
                                            ATOMIC ALIGNMENT and GRANULARITY 0 (one block),
                                            no atomic boundaries */
    return 0x3c;
}

static size_t page_block_characteristics(const struct fw_ctx *c, uint8_t *p)
{
    memset(p, 0, 0x3c);
    scsi_put_be16(p, 0x0001);            /* MEDIUM ROTATION RATE: non-rotating */
    /* WABEREQ / WACEREQ 01b: after a BLOCK ERASE (thin drives only) or a
     * CRYPTOGRAPHIC ERASE, reads succeed (fw_sanitize.c: they return zeros). */
    p[3] = (uint8_t)((c->d->thin ? 0x40 : 0x00) | 0x10);
    return 0x3c;
}

static size_t page_provisioning(const struct fw_ctx *c, uint8_t *p)
{
    memset(p, 0, 4);                     /* p[i] is byte i + 4 (SBC-4 table 269) */
    if (!c->d->thin)
        return 4;                        /* no unmap support; PROVISIONING TYPE 0: full */
    /* LBPU (UNMAP), LBPWS (WRITE SAME (16) with UNMAP), LBPWS10, LBPRZ 001b
     * (deallocated blocks read as zeros); ANC_SUP 0; no thresholds. */
    p[1] = 0x80 | 0x40 | 0x20 | 0x01 << 2;
    p[2] = 0x02;                         /* PROVISIONING TYPE 010b: thin */
    return 4;
}

/* Extended INQUIRY data (SPC-5 7.7.7), offered with protection information
 * only (what it says beyond that is all "not supported").  SPT is the one
 * type the drive is formatted with (000b type 1, 010b type 2, 100b type 3);
 * fw_pi.c checks the guard always, the reference tag on type 1 only, the
 * application tag on types 1 and 3 (against the Application Tag mode page;
 * type 2's expected value would come in a 32-byte CDB, which cannot reach it). */
static size_t page_extended_inquiry(const struct fw_ctx *c, uint8_t *p)
{
    static const uint8_t spt[4] = { 0, 0x0, 0x2, 0x4 };
    memset(p, 0, 0x3c);
    uint8_t type = c->d->prot_type;
    p[0] = (uint8_t)(spt[type] << 3 | 0x04 | (type != 2 ? 0x02 : 0) |
                     (type == 1 ? 0x01 : 0));   /* SPT, GRD_CHK, APP_CHK, REF_CHK */
    p[2] = 0x01;                         /* V_SUP: a volatile cache */
    return 0x3c;
}

static bool page_offered(const struct fw_ctx *c, uint8_t code)
{
    return code != 0x86 || (c->d && c->d->prot_type);
}

static const struct vpd_page {
    uint8_t code;
    size_t (*build)(const struct fw_ctx *c, uint8_t *payload);  /* bytes after the header */
} pages[] = {
    { 0x00, page_supported },
    { 0x80, page_serial },
    { 0x83, page_device_id },
    { 0x86, page_extended_inquiry },
    { 0xb0, page_block_limits },
    { 0xb1, page_block_characteristics },
    { 0xb2, page_provisioning },
};
#define NPAGES (sizeof(pages) / sizeof(pages[0]))

/* Built-in and plug-in pages, in ascending order, each once (SPC). */
static size_t page_supported(const struct fw_ctx *c, uint8_t *p)
{
    uint8_t codes[NPAGES + SCSISIM_FW_MAX_VPD_PAGES];
    size_t n = 0;
    for (size_t i = 0; i < NPAGES; i++)
        if (page_offered(c, pages[i].code))
            codes[n++] = pages[i].code;
    n += fw_plugin_vpd_codes(c->fw->plugin, codes + n, SCSISIM_FW_MAX_VPD_PAGES);
    size_t out = 0;
    for (unsigned code = 0; code <= 0xff; code++)
        for (size_t i = 0; i < n; i++)
            if (codes[i] == code) {
                p[out++] = (uint8_t)code;
                break;
            }
    return out;
}

struct scsi_sense_reason fw_vpd_inquiry(struct fw_ctx *c)
{
    uint8_t code = c->cdb[2];
    uint8_t pb[VPD_MAX];
    size_t pn;
    struct scsi_sense_reason pr;
    if (fw_plugin_vpd(c, code, pb, sizeof pb, &pn, &pr)) {   /* a plug-in's page wins */
        if (fw_is_good(&pr))
            fw_data_in(c, pb, c->length < pn ? c->length : pn);
        return pr;
    }
    for (size_t i = 0; i < NPAGES; i++) {
        if (pages[i].code != code || !page_offered(c, code))
            continue;
        uint8_t b[VPD_MAX];
        memset(b, 0, sizeof(b));
        b[0] = SCSI_PQ_CONNECTED << 5 | SCSI_PDT_DISK;
        b[1] = code;
        size_t n = pages[i].build(c, b + 4);
        scsi_put_be16(b + 2, (uint16_t)n);
        n += 4;
        fw_data_in(c, b, c->length < n ? c->length : n);
        return fw_good();
    }
    return scsi_reason_invalid_cdb_field(2, -1);
}
