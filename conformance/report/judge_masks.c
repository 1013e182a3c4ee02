/* conformance/report/judge_masks.c — the fields a real device legitimately
 * answers differently from the trace (`--match masks`, docs/replay.md,
 * "Matching levels"), one row each: a replay against tgtd or a disk must not
 * fail on the vendor name or the serial number, while every other byte of the
 * same answer is still compared.  The judge (trace_judge.c) takes the rows
 * that apply to a command's CDB and lets the actual bytes in those ranges
 * pass as the trace's. */
#include "conformance/report/judge.h"

#include "conformance/format/trace_names.h"

#include <string.h>

/* Which CDBs a row is about. */
enum mask_when { MASK_STD_INQUIRY, MASK_VPD_80, MASK_VPD_83, MASK_READ_CAPACITY_10, MASK_READ_CAPACITY_16 };

struct mask_row {
    enum mask_when when;
    struct trace_mask_field f;
};

#define TO_END UINT32_MAX

static const struct mask_row rows[] = {
    { MASK_STD_INQUIRY, { "INQUIRY vendor identification", 8, 16, false, false } },
    { MASK_STD_INQUIRY, { "INQUIRY product identification", 16, 32, false, false } },
    { MASK_STD_INQUIRY, { "INQUIRY product revision level", 32, 36, false, false } },
    { MASK_STD_INQUIRY, { "INQUIRY vendor specific (serial number)", 36, 56, false, false } },
    /* The page length follows the serial's and designators' lengths. */
    { MASK_VPD_80, { "VPD 80h page length and product serial number", 2, TO_END, true, false } },
    { MASK_VPD_83, { "VPD 83h page length and designation descriptors", 2, TO_END, true, false } },
    { MASK_READ_CAPACITY_10, { "READ CAPACITY (10) returned logical block address", 0, 4, false, true } },
    { MASK_READ_CAPACITY_16, { "READ CAPACITY (16) returned logical block address", 0, 8, false, true } },
};

static bool applies(enum mask_when w, const uint8_t *cdb, size_t len)
{
    if (len < 6)
        return false;
    bool evpd = cdb[0] == 0x12 && (cdb[1] & 1);
    switch (w) {
    case MASK_STD_INQUIRY: return cdb[0] == 0x12 && !evpd;
    case MASK_VPD_80: return evpd && cdb[2] == 0x80;
    case MASK_VPD_83: return evpd && cdb[2] == 0x83;
    case MASK_READ_CAPACITY_10: return cdb[0] == 0x25;
    case MASK_READ_CAPACITY_16: return cdb[0] == 0x9e && len >= 16 && (cdb[1] & 0x1f) == 0x10;
    }
    return false;
}

size_t trace_mask_fields(const uint8_t *cdb, size_t cdb_len, bool capacity_pinned, const struct trace_mask_field **out,
                         size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!applies(rows[i].when, cdb, cdb_len) || (rows[i].f.capacity && capacity_pinned))
            continue;
        if (n < max)
            out[n] = &rows[i].f;
        n++;
    }
    return n;
}

size_t trace_mask_all(const struct trace_mask_field **out, size_t max)
{
    size_t n = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = &rows[i].f;
    return n;
}

/* The names are the trace format's (@match), one table: trace_match_words. */
const char *trace_match_level_name(enum trace_match_level l)
{
    const char *w = (unsigned)l < TRACE_MATCH_LEVEL_COUNT ? trace_word(&trace_match_words, l) : NULL;
    return w ? w : "?";
}

int trace_match_level_parse(const char *s, enum trace_match_level *out)
{
    int i = trace_words_find(&trace_match_words, s, strlen(s));
    if (i < 0)
        return -1;
    *out = (enum trace_match_level)i;
    return 0;
}

enum trace_match_level trace_match_for(const struct trace *t, enum trace_match_level run_level, bool run_given)
{
    if (run_given || !t->match_given)
        return run_level;
    return t->match;
}
