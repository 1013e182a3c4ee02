/* core/sgl.c — scatter-gather lists within the SSIM-1's constraints (see
 * core/sgl.h for the layout and the rules). */
#include <string.h>

#include "core/drv_mutant.h"
#include "core/sgl.h"

const char *sgl_verdict_name(enum sgl_verdict v)
{
    switch (v) {
    case SGL_OK:            return "ok";
    case SGL_TOO_MANY:      return "more segments than the HBA takes";
    case SGL_ADDR_TOO_HIGH: return "an address above the HBA's address lines";
    case SGL_TOO_LONG:      return "longer than the HBA's maximum transfer";
    case SGL_ZERO_LENGTH:   return "a zero-length segment";
    case SGL_SHORT:         return "segments shorter than the transfer";
    case SGL_NO_SPACE:      return "no room for the segment lists";
    }
    return "unknown verdict";
}

uint32_t sgl_coalesce(struct osal_dma_segment *seg, uint32_t nseg)
{
    if (nseg == 0)
        return 0;
    uint32_t out = 0;
    for (uint32_t i = 1; i < nseg; i++) {
        struct osal_dma_segment *last = &seg[out];
        bool continues = last->length && last->iova + last->length == seg[i].iova &&
                         last->iova + last->length > last->iova;
        if (continues && last->length + seg[i].length <= SGL_SGE_MAX_LEN)
            last->length += seg[i].length;
        else
            seg[++out] = seg[i];
    }
    return out + 1;
}

uint32_t sgl_capacity(uint32_t depth)
{
    if (depth == 0)
        return 1;
    uint64_t cap = (uint64_t)SGL_PER_CHAINED_LIST * depth + 1;
    return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

uint32_t sgl_lists_needed(uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Every list but the last gives up one slot to the chain. */
    return (n - 1 + SGL_PER_CHAINED_LIST - 1) / SGL_PER_CHAINED_LIST;
}

/* Walks bytes [off, off + len) of the concatenated segments as SGE-sized pieces. */
struct slice {
    const struct osal_dma_segment *seg;
    uint32_t nseg, i;
    uint64_t pos;   /* offset inside seg[i] */
    uint64_t left;  /* bytes of the slice still to hand out */
};

static enum sgl_verdict slice_start(struct slice *s, const struct osal_dma_segment *seg, uint32_t nseg,
                                    uint64_t off, uint64_t len)
{
    *s = (struct slice){ .seg = seg, .nseg = nseg, .left = len };
    for (uint32_t i = 0; i < nseg; i++)
        if (seg[i].length == 0)
            return SGL_ZERO_LENGTH;
    while (s->i < nseg && off >= seg[s->i].length) {
        off -= seg[s->i].length;
        s->i++;
    }
    if (len && s->i == nseg)
        return SGL_SHORT;
    s->pos = off;
    return SGL_OK;
}

/* Next piece, or false at the end of the slice (*v says SGL_SHORT when the
 * segments ran out first). */
static bool slice_next(struct slice *s, uint64_t *addr, uint32_t *len, enum sgl_verdict *v)
{
    if (s->left == 0)
        return false;
    if (s->i == s->nseg) {
        *v = SGL_SHORT;
        return false;
    }
    const struct osal_dma_segment *g = &s->seg[s->i];
    uint64_t take = g->length - s->pos;
    if (take > s->left)
        take = s->left;
    if (take > SGL_SGE_MAX_LEN)
        take = SGL_SGE_MAX_LEN;
    *addr = g->iova + s->pos;
    *len = (uint32_t)take;
    s->pos += take;
    s->left -= take;
    if (s->pos == g->length) {
        s->i++;
        s->pos = 0;
    }
    return true;
}

static bool reachable(uint64_t addr, uint32_t len, uint32_t addr_bits)
{
    uint64_t last = addr + len - 1;
    if (last < addr)
        return false; /* wraps past 2^64 */
    if (addr_bits >= 64)
        return true;
    return (last >> addr_bits) == 0;
}

enum sgl_verdict sgl_check(const struct osal_dma_segment *seg, uint32_t nseg, uint64_t off, uint64_t len,
                           const struct sgl_limits *lim, uint32_t *n_sges)
{
    if (n_sges)
        *n_sges = 0;
    if (len > lim->max_bytes)
        return SGL_TOO_LONG;
    struct slice s;
    enum sgl_verdict v = slice_start(&s, seg, nseg, off, len);
    if (v != SGL_OK)
        return v;
    uint64_t addr;
    uint32_t piece;
    uint32_t n = 0;
    bool too_high = false;
    while (slice_next(&s, &addr, &piece, &v)) {
        if (!reachable(addr, piece, lim->addr_bits))
            too_high = true;
        if (n < UINT32_MAX)
            n++;
    }
    if (v != SGL_OK)
        return v;
    if (n_sges)
        *n_sges = n;
    if (too_high)
        return SGL_ADDR_TOO_HIGH;
    if (n > lim->max_sges || sgl_lists_needed(n) > lim->max_depth)
        return SGL_TOO_MANY;
    return SGL_OK;
}

static struct hba_sge sge(uint64_t addr, uint32_t len, enum hba_sge_type type)
{
    struct hba_sge e;
    memset(&e, 0, sizeof e);
    e.addr = addr;
    /* F7: `int addr = iova;` -- fine until the host has 2 GiB mapped. */
    if (DRV_MUTANT(F7) && type == HBA_SGE_DATA)
        e.addr = (uint64_t)(int64_t)(int32_t)(uint32_t)addr;
    e.length = len;
    e.type = (uint8_t)type;
    return e;
}

static struct hba_sge chain_to(const struct sgl_space *space, uint32_t list, uint32_t remaining)
{
    uint32_t entries = remaining <= HBA_SGL_SEGMENT_MAX ? remaining : HBA_SGL_SEGMENT_MAX;
    return sge(space->list_iova[list], entries * (uint32_t)sizeof(struct hba_sge), HBA_SGE_SEGMENT);
}

enum sgl_verdict sgl_build(const struct osal_dma_segment *seg, uint32_t nseg, uint64_t off, uint64_t len,
                           const struct sgl_space *space, struct hba_sge *inline_sge, uint32_t *lists_used)
{
    if (lists_used)
        *lists_used = 0;
    *inline_sge = sge(0, 0, HBA_SGE_DATA);
    struct slice s;
    enum sgl_verdict v = slice_start(&s, seg, nseg, off, len);
    if (v != SGL_OK)
        return v;

    /* First pass: how many DATA SGEs, so the chain lengths are known. */
    uint64_t addr;
    uint32_t piece, n = 0;
    struct slice count = s;
    while (slice_next(&count, &addr, &piece, &v))
        n++;
    if (v != SGL_OK)
        return v;
    if (n == 0)
        return SGL_OK;
    if (n == 1) {
        slice_next(&s, &addr, &piece, &v);
        *inline_sge = sge(addr, piece, HBA_SGE_DATA);
        return SGL_OK;
    }
    uint32_t lists = sgl_lists_needed(n);
    if (!space || !space->cpu || !space->list_iova || lists > space->lists)
        return SGL_NO_SPACE;

    *inline_sge = chain_to(space, 0, n);
    uint32_t remaining = n;
    for (uint32_t l = 0; l < lists; l++) {
        struct hba_sge *list = space->cpu + (size_t)l * HBA_SGL_SEGMENT_MAX;
        uint32_t data = remaining <= HBA_SGL_SEGMENT_MAX ? remaining : SGL_PER_CHAINED_LIST;
        for (uint32_t k = 0; k < data; k++) {
            slice_next(&s, &addr, &piece, &v);
            list[k] = sge(addr, piece, HBA_SGE_DATA);
        }
        remaining -= data;
        if (remaining)
            list[SGL_PER_CHAINED_LIST] = chain_to(space, l + 1, remaining);
    }
    if (lists_used)
        *lists_used = lists;
    return SGL_OK;
}
