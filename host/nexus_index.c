/* host/nexus_index.c — see nexus_index.h. */
#include "host/nexus_index.h"

_Static_assert((NEXUS_INDEX_SLOTS & (NEXUS_INDEX_SLOTS - 1)) == 0, "slot count is a power of two");
_Static_assert(NEXUS_INDEX_SLOTS > HBA_MAX_INITIATORS, "an empty slot always exists, so probes end");

#define MASK (NEXUS_INDEX_SLOTS - 1u)

/* Fibonacci hashing: nexus numbers are small consecutive integers, which the
 * multiplication spreads over the table. */
static unsigned home(uint64_t nexus)
{
    return (unsigned)((nexus * 0x9E3779B97F4A7C15ull) >> 40) & MASK;
}

int nexus_index_find(const struct nexus_index *x, uint64_t nexus)
{
    for (unsigned i = home(nexus);; i = (i + 1) & MASK) {
        if (x->slot[i].nexus == nexus)
            return x->slot[i].id;
        if (x->slot[i].nexus == 0)
            return -1;
    }
}

void nexus_index_put(struct nexus_index *x, uint64_t nexus, uint16_t id)
{
    unsigned i = home(nexus);
    while (x->slot[i].nexus != 0 && x->slot[i].nexus != nexus)
        i = (i + 1) & MASK;
    x->slot[i].nexus = nexus;
    x->slot[i].id = id;
}

void nexus_index_remove(struct nexus_index *x, uint64_t nexus)
{
    unsigned i = home(nexus);
    while (x->slot[i].nexus != nexus) {
        if (x->slot[i].nexus == 0)
            return;
        i = (i + 1) & MASK;
    }
    /* Backward shift: pull later entries of the run into the hole when their
     * home is not between the hole and them, so no probe meets a false end. */
    unsigned hole = i;
    for (unsigned j = (i + 1) & MASK; x->slot[j].nexus != 0; j = (j + 1) & MASK) {
        unsigned h = home(x->slot[j].nexus);
        if (((j - h) & MASK) >= ((j - hole) & MASK)) {
            x->slot[hole] = x->slot[j];
            hole = j;
        }
    }
    x->slot[hole].nexus = 0;
    x->slot[hole].id = 0;
}
