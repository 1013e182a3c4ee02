/* platform/bus_maps.h — the host's record of its IOMMU mappings, so they can be
 * replayed into a controller that restarted (platform/bus_client.c).
 *
 * Mappings are kept page by page as the IOMMU keeps them (a mapping covers
 * every page its bytes touch; sim/iommu/iommu.h), as sorted, disjoint ranges of
 * IOVA pages.  bus_maps_check applies the IOMMU's rules, so a record that
 * accepted a mapping while no controller was there replays cleanly. */
#ifndef PLATFORM_BUS_MAPS_H
#define PLATFORM_BUS_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct bus_map {
    uint64_t iova_page;  /* first IOVA page */
    uint64_t ram_page;   /* host RAM page it maps to */
    uint64_t pages;
    uint32_t dir;        /* enum hba_dma_dir */
};

struct bus_maps {
    struct bus_map *v;
    size_t n, cap;
    uint64_t pages;      /* pages mapped in all */
};

/* What sim_iommu_map would say: -EINVAL (direction, zero length, wraps,
 * beyond ram_size, page offsets differ), -EEXIST (a page already mapped), 0. */
int  bus_maps_check(const struct bus_maps *m, uint64_t iova, uint64_t ram_addr, uint64_t len, uint32_t dir,
                    uint64_t ram_size);
/* Records a mapping that passed bus_maps_check.  0 or -ENOMEM (unchanged). */
int  bus_maps_add(struct bus_maps *m, uint64_t iova, uint64_t ram_addr, uint64_t len, uint32_t dir);
/* Forgets every page of [iova, iova+len): 0, -ENOENT if some page was not
 * mapped (the others are forgotten), -EINVAL (zero length, wraps), -ENOMEM
 * (splitting a range needed memory; unchanged). */
int  bus_maps_remove(struct bus_maps *m, uint64_t iova, uint64_t len);
void bus_maps_free(struct bus_maps *m);

#endif
