/* conformance/report/report_fields.c — the known fields of a data-in that
 * differs, decoded beside the hex: INQUIRY's vendor and product (SPC-4
 * 6.6.2, bytes 8..15 and 16..31), READ CAPACITY's last LBA and block length
 * (SBC-3 5.16 / 5.17).  A field is shown only when the diff's window holds it
 * on both sides, so what is printed is what was compared. */
#include "conformance/report/report_priv.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "scsi/scsi.h"

enum field_kind { FIELD_TEXT, FIELD_UINT };

struct field {
    const char *name;
    uint32_t offset, len;
    enum field_kind kind;
};

static const struct field inquiry_fields[] = {
    { "vendor", 8, 8, FIELD_TEXT },
    { "product", 16, 16, FIELD_TEXT },
    { "revision", 32, 4, FIELD_TEXT },
    { NULL, 0, 0, FIELD_UINT },
};
static const struct field capacity10_fields[] = {
    { "last LBA", 0, 4, FIELD_UINT },
    { "block length", 4, 4, FIELD_UINT },
    { NULL, 0, 0, FIELD_UINT },
};
static const struct field capacity16_fields[] = {
    { "last LBA", 0, 8, FIELD_UINT },
    { "block length", 8, 4, FIELD_UINT },
    { NULL, 0, 0, FIELD_UINT },
};

static const struct field *fields_of(const uint8_t *cdb, size_t cdb_len)
{
    if (cdb_len >= 6 && cdb[0] == 0x12 && !(cdb[1] & 1)) /* standard INQUIRY data, not a VPD page */
        return inquiry_fields;
    if (cdb_len >= 10 && cdb[0] == 0x25)
        return capacity10_fields;
    if (cdb_len >= 16 && cdb[0] == 0x9e && (cdb[1] & 0x1f) == 0x10)
        return capacity16_fields;
    return NULL;
}

/* The field's bytes on one side into v; false when any is outside the window,
 * missing, or (expected side) a don't-care. */
static bool side(const struct trace_data_diff *d, const struct field *f, int s, uint8_t *v)
{
    if (f->offset < d->window_offset || f->offset + f->len > d->window_offset + d->window_len)
        return false;
    for (uint32_t i = 0; i < f->len; i++) {
        uint32_t w = (uint32_t)(f->offset - d->window_offset) + i;
        if (s == 0) {
            if (!(d->flags[w] & TRACE_DIFF_HAS_EXPECTED) || d->exp_mask[w] != 0xff)
                return false;
            v[i] = d->exp_value[w];
        } else {
            if (!(d->flags[w] & TRACE_DIFF_HAS_ACTUAL))
                return false;
            v[i] = d->actual[w];
        }
    }
    return true;
}

static void value_text(struct tbuf *b, const struct field *f, const uint8_t *v)
{
    if (f->kind == FIELD_TEXT) {
        tbuf_putc(b, '\'');
        for (uint32_t i = 0; i < f->len; i++)
            tbuf_putc(b, isprint(v[i]) ? (char)v[i] : '.');
        tbuf_putc(b, '\'');
        return;
    }
    uint64_t x = 0;
    for (uint32_t i = 0; i < f->len; i++)
        x = x << 8 | v[i];
    tbuf_printf(b, "%" PRIu64, x);
}

void report_describe_fields(struct tbuf *b, const uint8_t *cdb, size_t cdb_len, const struct trace_data_diff *d)
{
    const struct field *f = fields_of(cdb, cdb_len);
    for (; f && f->name; f++) {
        uint8_t e[16], a[16];
        if (!side(d, f, 0, e) || !side(d, f, 1, a) || !memcmp(e, a, f->len))
            continue; /* only the fields that differ: the rest is noise */
        tbuf_printf(b, "    %-9s %s: expected ", "field", f->name);
        value_text(b, f, e);
        tbuf_puts(b, ", actual ");
        value_text(b, f, a);
        tbuf_printf(b, " (bytes %" PRIu32 "..%" PRIu32 ")\n", f->offset, f->offset + f->len - 1);
    }
}
