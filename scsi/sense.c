/* scsi/sense.c — the one place sense bytes are built, and their format-neutral
 * reader.  Building is hand-written because libsgutils2's sg_build_sense_buffer
 * has no INFORMATION or sense-key-specific fields; reading leans on libsgutils2. */
#include "scsi/sense.h"

#include <scsi/sg_lib.h>
#include <string.h>

static struct scsi_sense_reason invalid_field(uint8_t key, uint16_t asc, bool in_cdb, uint16_t byte, int bit)
{
    struct scsi_sense_reason r = scsi_reason(key, asc);
    r.fp.valid = true;
    r.fp.in_cdb = in_cdb;
    r.fp.byte = byte;
    if (bit >= 0 && bit <= 7) {
        r.fp.bit_valid = true;
        r.fp.bit = (uint8_t)bit;
    }
    return r;
}

struct scsi_sense_reason scsi_reason_invalid_cdb_field(uint16_t byte, int bit)
{
    return invalid_field(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB, true, byte, bit);
}

struct scsi_sense_reason scsi_reason_invalid_param_field(uint16_t byte, int bit)
{
    return invalid_field(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST, false, byte, bit);
}

/* The three sense-key-specific bytes: a field pointer (SPC-5 table 56) or a
 * progress indication (SPC-5 table 58, SKSV and PROGRESS INDICATION). */
static bool has_sks(const struct scsi_sense_reason *r)
{
    return r->fp.valid || r->progress_valid;
}

static void put_sks(uint8_t *p, const struct scsi_sense_reason *r)
{
    if (!r->fp.valid) {
        p[0] = 0x80;
        scsi_put_be16(p + 1, r->progress);
        return;
    }
    p[0] = (uint8_t)(0x80 | (r->fp.in_cdb ? 0x40 : 0) | (r->fp.bit_valid ? 0x08 | (r->fp.bit & 7) : 0));
    scsi_put_be16(p + 1, r->fp.byte);
}


static size_t build_fixed(uint8_t *s, const struct scsi_sense_reason *r)
{
    s[0] = 0x70;
    s[2] = r->key & 0x0f;
    if (r->info_valid && r->info <= UINT32_MAX) { /* a wider value cannot be told in fixed format */
        s[0] |= 0x80;
        scsi_put_be32(s + 3, (uint32_t)r->info);
    }
    s[7] = 10; /* additional sense length: bytes 8..17 */
    s[12] = (uint8_t)(r->asc_ascq >> 8);
    s[13] = (uint8_t)r->asc_ascq;
    if (has_sks(r))
        put_sks(s + 15, r);
    return 18;
}

static size_t build_descriptor(uint8_t *s, const struct scsi_sense_reason *r)
{
    size_t n = 8;
    s[0] = 0x72;
    s[1] = r->key & 0x0f;
    s[2] = (uint8_t)(r->asc_ascq >> 8);
    s[3] = (uint8_t)r->asc_ascq;
    if (r->info_valid) { /* information descriptor, type 00h */
        s[n] = 0x00; s[n + 1] = 0x0a; s[n + 2] = 0x80;
        scsi_put_be64(s + n + 4, r->info);
        n += 12;
    }
    if (has_sks(r)) { /* sense key specific descriptor, type 02h */
        s[n] = 0x02; s[n + 1] = 0x06;
        put_sks(s + n + 4, r);
        n += 8;
    }
    s[7] = (uint8_t)(n - 8);
    return n;
}

size_t scsi_sense_build(uint8_t *buf, size_t cap, bool descriptor, const struct scsi_sense_reason *reason)
{
    uint8_t tmp[SCSI_SENSE_MAX];
    memset(tmp, 0, sizeof(tmp));
    size_t n = descriptor ? build_descriptor(tmp, reason) : build_fixed(tmp, reason);
    if (n > cap)
        n = cap;
    memcpy(buf, tmp, n);
    return n;
}

static void get_field_pointer(const uint8_t *p, struct scsi_field_pointer *fp)
{
    fp->valid = (p[0] & 0x80) != 0;
    fp->in_cdb = (p[0] & 0x40) != 0;
    fp->bit_valid = (p[0] & 0x08) != 0;
    fp->bit = p[0] & 7;
    fp->byte = scsi_get_be16(p + 1);
}

bool scsi_sense_parse(const uint8_t *sense, size_t len, struct scsi_sense_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!sense || len < 8 || len > SCSI_SENSE_MAX)
        return false;
    struct sg_scsi_sense_hdr h;
    if (!sg_scsi_normalize_sense(sense, (int)len, &h))
        return false;
    out->descriptor = h.response_code >= 0x72;
    out->deferred = (h.response_code & 1) != 0;
    out->key = h.sense_key;
    out->asc = h.asc;
    out->ascq = h.ascq;
    out->info_valid = sg_get_sense_info_fld(sense, (int)len, &out->info);
    if (out->descriptor) {
        const uint8_t *d = sg_scsi_sense_desc_find(sense, (int)len, 2);
        if (d && d[1] >= 6 && (size_t)(d - sense) + 7 <= len)
            get_field_pointer(d + 4, &out->fp);
    } else if (len >= 18 && sense[7] >= 10) {
        get_field_pointer(sense + 15, &out->fp);
    }
    if (out->fp.valid && (out->key == SCSI_SK_NO_SENSE || out->key == SCSI_SK_NOT_READY)) {
        out->progress_valid = true;      /* these keys carry a progress indication */
        out->progress = out->fp.byte;
        out->fp.valid = false;
    }
    if (!out->fp.valid)
        memset(&out->fp, 0, sizeof(out->fp));
    return true;
}

const char *scsi_sense_key_name(uint8_t key, char *buf, size_t buf_len)
{
    if (buf_len == 0)
        return buf;
    buf[0] = '\0';
    sg_get_sense_key_str(key, (int)buf_len, buf);
    return buf;
}

const char *scsi_asc_name(uint8_t asc, uint8_t ascq, char *buf, size_t buf_len)
{
    if (buf_len == 0)
        return buf;
    buf[0] = '\0';
    sg_get_asc_ascq_str(asc, ascq, (int)buf_len, buf);
    return buf;
}
