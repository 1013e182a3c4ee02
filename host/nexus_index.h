/* host/nexus_index.h — which HBA initiator id an I_T nexus holds, found in
 * constant time.
 *
 * backend_stack looks a nexus up on every command; with thousands of ids
 * (HBA_MAX_INITIATORS) a scan of its table would cost microseconds per
 * command, so it keeps this index beside the table.  Open addressing with
 * linear probing and backward-shift deletion, sized at twice the ids so a
 * probe stays short; keys are nexus numbers (never 0), values ids.  Written
 * by hand: a fixed-size uint64 -> uint16 map is smaller than any dependency.
 * Not thread-safe: the caller's lock covers it. */
#ifndef HOST_NEXUS_INDEX_H
#define HOST_NEXUS_INDEX_H

#include <stdint.h>

#include "hw/hba.h"

#define NEXUS_INDEX_SLOTS (2u * HBA_MAX_INITIATORS) /* a power of two */

struct nexus_index {
    struct { uint64_t nexus; uint16_t id; } slot[NEXUS_INDEX_SLOTS]; /* nexus 0: empty */
};

/* The id nexus holds, or -1. */
int  nexus_index_find(const struct nexus_index *x, uint64_t nexus);
/* Records nexus -> id (nexus != 0, not already present). */
void nexus_index_put(struct nexus_index *x, uint64_t nexus, uint16_t id);
/* Forgets nexus; nothing happens when it is absent. */
void nexus_index_remove(struct nexus_index *x, uint64_t nexus);

#endif
