/* platform/bus_maps.c — the host's record of its IOMMU mappings (see platform/bus_maps.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform/bus_maps.h"
#include "hw/hba.h"

#define PAGE_SHIFT 12
_Static_assert(HBA_IOMMU_PAGE_SIZE == 1u << PAGE_SHIFT, "IOMMU pages are 4 KiB");
#define PAGE_OFF(a) ((a) & (HBA_IOMMU_PAGE_SIZE - 1))

static int wraps(uint64_t a, uint64_t len)
{
    return len - 1 > UINT64_MAX - a;
}

/* Index of the first range that ends after page p (n if none). */
static size_t first_ending_after(const struct bus_maps *m, uint64_t p)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct bus_map *r = &m->v[mid];
        if (r->iova_page + r->pages - 1 < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int bus_maps_check(const struct bus_maps *m, uint64_t iova, uint64_t ram_addr, uint64_t len, uint32_t dir,
                   uint64_t ram_size)
{
    if (dir < HBA_DMA_TO_DEVICE || dir > HBA_DMA_BIDIRECTIONAL || len == 0)
        return -EINVAL;
    if (wraps(iova, len) || wraps(ram_addr, len) || ram_addr >= ram_size || len > ram_size - ram_addr)
        return -EINVAL;
    if (PAGE_OFF(iova) != PAGE_OFF(ram_addr))
        return -EINVAL;
    uint64_t first = iova >> PAGE_SHIFT, last = (iova + len - 1) >> PAGE_SHIFT;
    size_t i = first_ending_after(m, first);
    if (i < m->n && m->v[i].iova_page <= last)
        return -EEXIST;
    return 0;
}

static int reserve(struct bus_maps *m, size_t more)
{
    if (m->n + more <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 16;
    while (cap < m->n + more)
        cap *= 2;
    struct bus_map *v = realloc(m->v, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    m->v = v;
    m->cap = cap;
    return 0;
}

int bus_maps_add(struct bus_maps *m, uint64_t iova, uint64_t ram_addr, uint64_t len, uint32_t dir)
{
    if (reserve(m, 1) < 0)
        return -ENOMEM;
    uint64_t first = iova >> PAGE_SHIFT, last = (iova + len - 1) >> PAGE_SHIFT;
    size_t i = first_ending_after(m, first);
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(m->v[0]));
    m->v[i] = (struct bus_map){ .iova_page = first, .ram_page = ram_addr >> PAGE_SHIFT, .pages = last - first + 1,
                                .dir = dir };
    m->n++;
    m->pages += last - first + 1;
    return 0;
}

int bus_maps_remove(struct bus_maps *m, uint64_t iova, uint64_t len)
{
    if (len == 0 || wraps(iova, len))
        return -EINVAL;
    uint64_t first = iova >> PAGE_SHIFT, last = (iova + len - 1) >> PAGE_SHIFT;
    size_t i = first_ending_after(m, first), j = i;
    uint64_t covered = 0;
    while (j < m->n && m->v[j].iova_page <= last) {
        const struct bus_map *r = &m->v[j];
        uint64_t lo = r->iova_page > first ? r->iova_page : first;
        uint64_t r_last = r->iova_page + r->pages - 1;
        uint64_t hi = r_last < last ? r_last : last;
        covered += hi - lo + 1;
        j++;
    }
    /* What survives of ranges [i, j): a head of the first, a tail of the last. */
    struct bus_map keep[2];
    size_t nkeep = 0;
    if (i < j && m->v[i].iova_page < first) {
        keep[nkeep] = m->v[i];
        keep[nkeep++].pages = first - m->v[i].iova_page;
    }
    if (i < j) {
        const struct bus_map *r = &m->v[j - 1];
        uint64_t r_last = r->iova_page + r->pages - 1;
        if (r_last > last) {
            keep[nkeep] = *r;
            keep[nkeep].iova_page = last + 1;
            keep[nkeep].ram_page = r->ram_page + (last + 1 - r->iova_page);
            keep[nkeep++].pages = r_last - last;
        }
    }
    if (nkeep > j - i && reserve(m, nkeep - (j - i)) < 0)
        return -ENOMEM;
    memmove(&m->v[i + nkeep], &m->v[j], (m->n - j) * sizeof(m->v[0]));
    memcpy(&m->v[i], keep, nkeep * sizeof(keep[0]));
    m->n = m->n - (j - i) + nkeep;
    m->pages -= covered;
    return covered == last - first + 1 ? 0 : -ENOENT;
}

void bus_maps_free(struct bus_maps *m)
{
    free(m->v);
    memset(m, 0, sizeof(*m));
}
