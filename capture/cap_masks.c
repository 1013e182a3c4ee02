/* capture/cap_masks.c — the data-in bytes the importer writes as "??"
 * (don't care) although the capture holds them: values that legitimately
 * differ between two runs against the same target, or between two devices
 * of one model — serial numbers, designators, time stamps.  A trace that
 * kept them exact would fail against the next unit off the line, or against
 * the same target re-created with a new serial, for no fault of either.
 * Everything else stays exact (docs/capture.md, "Masks").
 *
 * "??" is the trace format's own don't-care: no new syntax, and every
 * matching level honours it.  The identity fields a *different* device
 * answers differently (vendor, product, capacity) are not masked here:
 * that is the replay's `masks` level (conformance/report/judge_masks.c),
 * chosen with @match or --match. */
#include "capture/cap_priv.h"

#include <string.h>

/* What a row masks: a fixed byte range, or each designator of VPD 83h. */
enum mask_kind { MASK_RANGE, MASK_DESIGNATORS };

struct mask_row {
    uint8_t opcode;
    int     evpd_page;   /* INQUIRY: -1 standard data, else the VPD page; -2 not INQUIRY */
    int     service;     /* service action (byte 1, bits 4..0), or -1 */
    enum mask_kind kind;
    uint32_t from, to;   /* MASK_RANGE: [from, to); to = 0: the page's length (bytes 2..3) + 4 */
    const char *what;
};

static const struct mask_row rows[] = {
    { 0x12, -1, -1, MASK_RANGE, 36, 56, "standard INQUIRY vendor specific bytes (where disks put their serial number)" },
    { 0x12, 0x80, -1, MASK_RANGE, 4, 0, "VPD 80h unit serial number" },
    { 0x12, 0x83, -1, MASK_DESIGNATORS, 0, 0, "VPD 83h designators (derived from the serial number or the unit's WWN)" },
    { 0xa3, -2, 0x0f, MASK_RANGE, 4, 10, "REPORT TIMESTAMP time stamp" },
};

static bool row_applies(const struct mask_row *r, const uint8_t *cdb)
{
    if (cdb[0] != r->opcode)
        return false;
    if (r->service >= 0 && (cdb[1] & 0x1f) != r->service)
        return false;
    if (r->evpd_page == -2)
        return true;
    bool evpd = cdb[1] & 1;
    return r->evpd_page == -1 ? !evpd : evpd && cdb[2] == r->evpd_page;
}

static bool captured(const uint8_t *have, uint32_t from, uint32_t to)
{
    return !have || !memchr(have + from, 0, to - from);
}

static void add(struct cap_mask *out, size_t max, size_t *n, uint32_t from, uint32_t to, uint32_t len, const char *what)
{
    if (to > len)
        to = len;
    if (from >= to)
        return;
    if (*n < max)
        out[*n] = (struct cap_mask){ .from = from, .to = to, .what = what };
    (*n)++;
}

size_t cap_masks(const uint8_t *cdb, const uint8_t *data, const uint8_t *have, uint32_t len, struct cap_mask *out,
                 size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct mask_row *r = &rows[i];
        if (!row_applies(r, cdb))
            continue;
        if (r->kind == MASK_RANGE) {
            uint32_t to = r->to;
            if (!to) { /* to the page's end, as its length says (the rest of the buffer when it was not captured) */
                to = len;
                if (len >= 4 && captured(have, 2, 4))
                    to = 4u + cap_be16(data + 2);
            }
            add(out, max, &n, r->from, to, len, r->what);
            continue;
        }
        /* VPD 83h: keep each descriptor's header (code set, association,
         * designator type, length), mask its designator. */
        if (len < 4 || !captured(have, 2, 4))
            continue;
        uint32_t end = 4u + cap_be16(data + 2);
        if (end > len)
            end = len;
        for (uint32_t at = 4; at + 4 <= end && captured(have, at, at + 4);) {
            uint32_t dlen = data[at + 3];
            add(out, max, &n, at + 4, at + 4 + dlen, end, r->what);
            at += 4 + dlen;
        }
    }
    return n;
}
