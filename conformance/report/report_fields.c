/* conformance/report/report_fields.c — the known fields of a data-in that
 * differs, decoded beside the hex: INQUIRY's vendor and product (SPC-4
 * 6.6.2, bytes 8..15 and 16..31), READ CAPACITY's last LBA and block length
 * (SBC-3 5.16 / 5.17), and MODE SENSE's header and the fields of the
 * read-write error recovery, caching, control and informational exceptions
 * pages, bit fields included, wherever the data puts those pages.  A field is shown only when the diff's window holds it
 * on both sides, so what is printed is what was compared. */
#include "conformance/report/report_priv.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scsi/scsi.h"

enum field_kind { FIELD_TEXT, FIELD_UINT };

struct field {
    const char *name;
    uint32_t offset, len;
    enum field_kind kind;
    uint8_t mask;          /* FIELD_UINT of one byte: only these bits (0: the whole bytes) */
};

static const struct field inquiry_fields[] = {
    { "vendor", 8, 8, FIELD_TEXT, 0 },
    { "product", 16, 16, FIELD_TEXT, 0 },
    { "revision", 32, 4, FIELD_TEXT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field capacity10_fields[] = {
    { "last LBA", 0, 4, FIELD_UINT, 0 },
    { "block length", 4, 4, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field capacity16_fields[] = {
    { "last LBA", 0, 8, FIELD_UINT, 0 },
    { "block length", 8, 4, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};

/* Mode parameter data (SPC-5 7.5): a header, block descriptors, then pages
 * whose places depend on what came before, so their fields are found by
 * walking the actual data (trace_data_diff.head).  Offsets below are within
 * the header or the page. */
static const struct field mode_header6[] = {
    { "mode data length", 0, 1, FIELD_UINT, 0 },
    { "medium type", 1, 1, FIELD_UINT, 0 },
    { "WP", 2, 1, FIELD_UINT, 0x80 },
    { "DPOFUA", 2, 1, FIELD_UINT, 0x10 },
    { "block descriptor length", 3, 1, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field mode_header10[] = {
    { "mode data length", 0, 2, FIELD_UINT, 0 },
    { "medium type", 2, 1, FIELD_UINT, 0 },
    { "WP", 3, 1, FIELD_UINT, 0x80 },
    { "DPOFUA", 3, 1, FIELD_UINT, 0x10 },
    { "LONGLBA", 4, 1, FIELD_UINT, 0x01 },
    { "block descriptor length", 6, 2, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field rw_recovery_page[] = { /* 01h, SBC-4 6.5.10 */
    { "AWRE", 2, 1, FIELD_UINT, 0x80 },
    { "ARRE", 2, 1, FIELD_UINT, 0x40 },
    { "TB", 2, 1, FIELD_UINT, 0x20 },
    { "PER", 2, 1, FIELD_UINT, 0x04 },
    { "DCR", 2, 1, FIELD_UINT, 0x01 },
    { "read retry count", 3, 1, FIELD_UINT, 0 },
    { "write retry count", 8, 1, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field caching_page[] = { /* 08h, SBC-4 6.5.5 */
    { "IC", 2, 1, FIELD_UINT, 0x80 },
    { "DISC", 2, 1, FIELD_UINT, 0x10 },
    { "WCE", 2, 1, FIELD_UINT, 0x04 },
    { "RCD", 2, 1, FIELD_UINT, 0x01 },
    { "FSW", 12, 1, FIELD_UINT, 0x80 },
    { "DRA", 12, 1, FIELD_UINT, 0x20 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field control_page[] = { /* 0Ah, SPC-5 7.5.10 */
    { "TST", 2, 1, FIELD_UINT, 0xe0 },
    { "TMF_ONLY", 2, 1, FIELD_UINT, 0x10 },
    { "D_SENSE", 2, 1, FIELD_UINT, 0x04 },
    { "GLTSD", 2, 1, FIELD_UINT, 0x02 },
    { "queue algorithm modifier", 3, 1, FIELD_UINT, 0xf0 },
    { "QERR", 3, 1, FIELD_UINT, 0x06 },
    { "UA_INTLCK_CTRL", 4, 1, FIELD_UINT, 0x30 },
    { "SWP", 4, 1, FIELD_UINT, 0x08 },
    { "ATO", 5, 1, FIELD_UINT, 0x80 },
    { "TAS", 5, 1, FIELD_UINT, 0x40 },
    { "busy timeout period", 8, 2, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};
static const struct field iec_page[] = { /* 1Ch, SPC-5 7.5.12 */
    { "PERF", 2, 1, FIELD_UINT, 0x80 },
    { "EWASC", 2, 1, FIELD_UINT, 0x10 },
    { "DEXCPT", 2, 1, FIELD_UINT, 0x08 },
    { "TEST", 2, 1, FIELD_UINT, 0x04 },
    { "MRIE", 3, 1, FIELD_UINT, 0x0f },
    { "interval timer", 4, 4, FIELD_UINT, 0 },
    { "report count", 8, 4, FIELD_UINT, 0 },
    { NULL, 0, 0, FIELD_UINT, 0 },
};

static const struct { uint8_t code; const char *name; const struct field *fields; } mode_pages[] = {
    { 0x01, "read-write error recovery page", rw_recovery_page },
    { 0x08, "caching page", caching_page },
    { 0x0a, "control page", control_page },
    { 0x1c, "informational exceptions page", iec_page },
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
 * missing, or (expected side) not fully given (a don't-care in its bits). */
static bool side(const struct trace_data_diff *d, const struct field *f, uint32_t base, int s, uint8_t *v)
{
    uint64_t off = (uint64_t)base + f->offset;
    if (off < d->window_offset || off + f->len > d->window_offset + d->window_len)
        return false;
    uint8_t need = f->mask ? f->mask : 0xff;
    for (uint32_t i = 0; i < f->len; i++) {
        uint32_t w = (uint32_t)(off - d->window_offset) + i;
        if (s == 0) {
            if (!(d->flags[w] & TRACE_DIFF_HAS_EXPECTED) || (d->exp_mask[w] & need) != need)
                return false;
            v[i] = d->exp_value[w];
        } else {
            if (!(d->flags[w] & TRACE_DIFF_HAS_ACTUAL))
                return false;
            v[i] = d->actual[w];
        }
    }
    if (f->mask && f->len == 1)
        v[0] &= f->mask;
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
    if (f->mask)
        x >>= __builtin_ctz(f->mask);
    tbuf_printf(b, "%" PRIu64, x);
}

/* Every field of a table that differs, found at base (prefix names its page). */
static void describe_table(struct tbuf *b, const struct field *f, uint32_t base, const char *prefix,
                           const struct trace_data_diff *d)
{
    for (; f && f->name; f++) {
        uint8_t e[16] = { 0 }, a[16] = { 0 };
        if (!side(d, f, base, 0, e) || !side(d, f, base, 1, a) || !memcmp(e, a, f->len))
            continue; /* only the fields that differ: the rest is noise */
        tbuf_printf(b, "    %-9s %s%s: expected ", "field", prefix, f->name);
        value_text(b, f, e);
        tbuf_puts(b, ", actual ");
        value_text(b, f, a);
        uint32_t first = base + f->offset, last = first + f->len - 1;
        if (f->mask)
            tbuf_printf(b, " (byte %" PRIu32 ", mask 0x%02x)\n", first, f->mask);
        else
            tbuf_printf(b, " (bytes %" PRIu32 "..%" PRIu32 ")\n", first, last);
    }
}

/* MODE SENSE (6)/(10) data: the header, then each known page where the
 * actual data puts it. */
static void describe_mode_data(struct tbuf *b, bool ten, const struct trace_data_diff *d)
{
    const uint8_t *h = d->head;
    uint32_t hdr = ten ? 8 : 4;
    describe_table(b, ten ? mode_header10 : mode_header6, 0, "", d);
    if (d->head_len < hdr)
        return;
    uint32_t total = ten ? ((uint32_t)h[0] << 8 | h[1]) + 2u : h[0] + 1u;
    uint32_t bdlen = ten ? ((uint32_t)h[6] << 8 | h[7]) : h[3];
    uint32_t end = total < d->head_len ? total : d->head_len;
    for (uint32_t off = hdr + bdlen; off + 2 <= end;) {
        bool spf = h[off] & 0x40;
        uint32_t plen = spf ? (off + 4 <= end ? ((uint32_t)h[off + 2] << 8 | h[off + 3]) + 4u : 0) : h[off + 1] + 2u;
        if (plen == 0)
            break;
        for (size_t i = 0; !spf && i < sizeof(mode_pages) / sizeof(mode_pages[0]); i++) {
            if (mode_pages[i].code != (h[off] & 0x3f))
                continue;
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s ", mode_pages[i].name);
            describe_table(b, mode_pages[i].fields, off, prefix, d);
        }
        off += plen;
    }
}

void report_describe_fields(struct tbuf *b, const uint8_t *cdb, size_t cdb_len, const struct trace_data_diff *d)
{
    if (cdb_len >= 6 && (cdb[0] == 0x1a || cdb[0] == 0x5a)) {
        describe_mode_data(b, cdb[0] == 0x5a, d);
        return;
    }
    describe_table(b, fields_of(cdb, cdb_len), 0, "", d);
}
