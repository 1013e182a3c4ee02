/* platform/range_alloc.h — an allocator of address ranges inside [lo, hi): the
 * host-RAM allocator and the IOVA allocator of osal_user are both one of these.
 *
 * It keeps the allocated ranges in an array sorted by start and walks the gaps
 * between them, which is simple, exact and fast enough for the few thousand
 * ranges a driver keeps live.  First fit (lowest address that fits) or next fit
 * (the first fit at or after the end of the previous allocation, wrapping to lo):
 * next fit delays reuse of a freed range, so a device that keeps using a stale
 * address hits a hole instead of somebody else's fresh range.
 *
 * Not thread-safe: the owner locks.
 */
#ifndef PLATFORM_RANGE_ALLOC_H
#define PLATFORM_RANGE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct range {
    uint64_t start, size;
};

struct range_alloc {
    uint64_t lo, hi;       /* the space: [lo, hi) */
    struct range *r;       /* allocated, sorted by start, disjoint */
    size_t n, cap;
    uint64_t cursor;       /* next-fit search start */
    uint64_t used;         /* sum of sizes */
};

void range_alloc_init(struct range_alloc *a, uint64_t lo, uint64_t hi);
void range_alloc_fini(struct range_alloc *a);

/* Reserves size bytes (> 0) aligned to align (a power of two) ending at or
 * below limit (and hi).  0 with *out = start, -ENOSPC when no gap fits,
 * -ENOMEM when the bookkeeping cannot grow, -EINVAL on bad arguments. */
int range_alloc_get(struct range_alloc *a, uint64_t size, uint64_t align, uint64_t limit, bool next_fit,
                    uint64_t *out);
/* Releases the range starting at start; its size in *size (may be NULL).
 * -ENOENT when no range starts there. */
int range_alloc_put(struct range_alloc *a, uint64_t start, uint64_t *size);
/* The highest end of any allocated range (lo when empty). */
uint64_t range_alloc_top(const struct range_alloc *a);

#endif
