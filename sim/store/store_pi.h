/* sim/store/store_pi.h — the protection information tuple stored beside each
 * block (8 bytes: guard, application tag, reference tag; fw_pi.c gives them
 * meaning, the store only keeps them).
 *
 * The tuple must follow its block through the cache's durability rules: a
 * block lost from the volatile cache in a power cut takes its tuple with it,
 * a block written back carries its tuple to the media.  So each block ever
 * written keeps two tuples: the newest (that of the version last written,
 * which the cache may still hold dirty) and the media's (that of the version
 * on media).  A read takes the newest when the block is dirty in the cache,
 * else the media's; the store copies newest to media wherever it writes the
 * block's data to media (write-through, write-back, flush, eviction, a power
 * cut's write-backs).  A torn block (half written back) keeps its old media
 * tuple, so its guard no longer matches: as on a real drive.
 *
 * Sparse like the data: a map from LBA to a record, only for blocks written
 * on a drive formatted with protection information (about 40 bytes a block).
 * A block never written, or unmapped, reads as FFFFFFFF_FFFFFFFFh: the escape
 * values that disable every check (SBC-4 4.22).
 *
 * Internal to the store; not thread-safe.
 */
#ifndef SIM_STORE_STORE_PI_H
#define SIM_STORE_STORE_PI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/store/store_map.h"

#define STORE_PI_BYTES 8u

struct store_pi {
    struct store_map  index;  /* lba -> slab id */
    struct store_slab recs;
};

void store_pi_init(struct store_pi *p);
void store_pi_free(struct store_pi *p);
/* Sets the newest tuple of n blocks from lba: 8 bytes each from tuples. */
int  store_pi_set_newest(struct store_pi *p, uint64_t lba, uint32_t n, const uint8_t *tuples);
/* The newest versions of n blocks from lba reached the media. */
void store_pi_on_media(struct store_pi *p, uint64_t lba, uint32_t n);
/* The tuple of block lba: its newest when dirty, else its media's. */
void store_pi_get(const struct store_pi *p, uint64_t lba, bool dirty, uint8_t out[STORE_PI_BYTES]);
/* Forgets n blocks from lba (unmapped: escape values from now on). */
void store_pi_forget(struct store_pi *p, uint64_t lba, uint64_t n);
size_t store_pi_bytes(const struct store_pi *p);

#endif
