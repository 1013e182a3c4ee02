/* platform/range_alloc.c — see platform/range_alloc.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform/range_alloc.h"

void range_alloc_init(struct range_alloc *a, uint64_t lo, uint64_t hi)
{
    memset(a, 0, sizeof(*a));
    a->lo = lo;
    a->hi = hi > lo ? hi : lo;
    a->cursor = lo;
}

void range_alloc_fini(struct range_alloc *a)
{
    free(a->r);
    a->r = NULL;
    a->n = a->cap = 0;
    a->used = 0;
}

/* Index of the first range whose start is >= addr. */
static size_t lower_bound(const struct range_alloc *a, uint64_t addr)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->r[mid].start < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Tries to place the range in the gap before range i (i == n: the last gap),
 * not below `from`.  True with *start on success. */
static bool fit_gap(const struct range_alloc *a, size_t i, uint64_t from, uint64_t size, uint64_t align,
                    uint64_t limit, uint64_t *start)
{
    uint64_t gs = i == 0 ? a->lo : a->r[i - 1].start + a->r[i - 1].size;
    uint64_t ge = i == a->n ? a->hi : a->r[i].start;
    if (ge > limit)
        ge = limit;
    if (gs < from)
        gs = from;
    if (gs >= ge)
        return false;
    uint64_t s = (gs + (align - 1)) & ~(align - 1);
    if (s < gs) /* wrapped past 2^64 */
        return false;
    if (s >= ge || ge - s < size)
        return false;
    *start = s;
    return true;
}

static int insert_at(struct range_alloc *a, size_t i, uint64_t start, uint64_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct range *r = realloc(a->r, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        a->r = r;
        a->cap = cap;
    }
    memmove(&a->r[i + 1], &a->r[i], (a->n - i) * sizeof(*a->r));
    a->r[i].start = start;
    a->r[i].size = size;
    a->n++;
    a->used += size;
    return 0;
}

int range_alloc_get(struct range_alloc *a, uint64_t size, uint64_t align, uint64_t limit, bool next_fit,
                    uint64_t *out)
{
    if (size == 0 || align == 0 || (align & (align - 1)))
        return -EINVAL;
    if (limit > a->hi)
        limit = a->hi;
    uint64_t from = next_fit && a->cursor < limit ? a->cursor : a->lo;
    for (int pass = 0; pass < 2; pass++) {
        /* The gap that contains `from` is the one before the first range
         * starting above it; earlier gaps lie wholly below `from`. */
        size_t first = lower_bound(a, from);
        for (size_t i = first; i <= a->n; i++) {
            uint64_t s;
            if (i > 0 && a->r[i - 1].start + a->r[i - 1].size >= limit)
                break; /* this gap and every later one start at or above the limit */
            if (fit_gap(a, i, from, size, align, limit, &s)) {
                int rc = insert_at(a, i, s, size);
                if (rc < 0)
                    return rc;
                a->cursor = s + size;
                *out = s;
                return 0;
            }
        }
        if (from == a->lo)
            break;
        from = a->lo;
    }
    return -ENOSPC;
}

int range_alloc_put(struct range_alloc *a, uint64_t start, uint64_t *size)
{
    size_t i = lower_bound(a, start);
    if (i == a->n || a->r[i].start != start)
        return -ENOENT;
    if (size)
        *size = a->r[i].size;
    a->used -= a->r[i].size;
    memmove(&a->r[i], &a->r[i + 1], (a->n - i - 1) * sizeof(*a->r));
    a->n--;
    return 0;
}

uint64_t range_alloc_top(const struct range_alloc *a)
{
    return a->n ? a->r[a->n - 1].start + a->r[a->n - 1].size : a->lo;
}
