/* sim/store/store_oracle.h — what the drive promised, block by block.
 *
 * The store tells the oracle every acknowledged write (with its data, hashed
 * per block), every flush, every write-back of dirty blocks to media and every
 * power loss.  For each block ever written the oracle keeps a 32-bit hash of
 *   newest   — the newest acknowledged version,
 *   promised — the newest version the protocol promised durable (a durable
 *              write, or a flush covering the block),
 *   media    — the version written to media (durable write, flush, write-back),
 * and whether the newest version was forfeited by a power loss (it was never
 * promised and was not on media when the cache lost it; a later flush does not
 * promise it).  The rules of store_oracle_check are in sim/store/store.h.
 *
 * Footprint: blocks are kept in groups of 8 consecutive LBAs (40-byte record:
 * 4 bit masks + 8 newest hashes) in a store_map; promised/media hashes that
 * differ from newest live in a side table (12-byte record per block), which
 * only holds blocks written since their last write-back, plus blocks lost at a
 * power cut.  About 60 bytes per written group, so 1 GiB of scattered 4 KiB
 * writes costs about 16 MiB.
 *
 * Internal to the store.
 */
#ifndef SIM_STORE_STORE_ORACLE_H
#define SIM_STORE_STORE_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/store/store.h"
#include "sim/store/store_map.h"

struct store_oracle {
    uint32_t block_size;
    struct store_map  group_index;   /* lba / 8 -> group record */
    struct store_slab groups;
    struct store_map  side_index;    /* lba -> side record */
    struct store_slab sides;
};

void store_oracle_init(struct store_oracle *o, uint32_t block_size);
void store_oracle_free(struct store_oracle *o);
/* An acknowledged write of n blocks (data = n * block_size bytes). */
int  store_oracle_write(struct store_oracle *o, uint64_t lba, uint64_t n, const void *data, bool durable);
/* The blocks were deallocated (UNMAP): every block with an acknowledged
 * version now durably holds zero_block (one block of zeros); blocks never
 * written stay unknown, so unmapping a huge range costs what was written. */
int  store_oracle_unmap(struct store_oracle *o, uint64_t lba, uint64_t n, const void *zero_block);
/* The newest version of these blocks reached media (write-back of dirty data). */
int  store_oracle_on_media(struct store_oracle *o, uint64_t lba, uint64_t n);
/* A flush of [lba, lba + n) completed: every acknowledged, not forfeited
 * version in the range is now promised (and on media). */
void store_oracle_flush(struct store_oracle *o, uint64_t lba, uint64_t n);
/* Power lost without a battery holding the cache: every newest version not on
 * media is forfeited. */
void store_oracle_power_loss(struct store_oracle *o);

typedef int (*store_read_block_fn)(void *ctx, uint64_t lba, void *buf);
/* Reads every known block through read_block and classifies it. */
int  store_oracle_check(struct store_oracle *o, store_read_block_fn read_block, void *ctx,
                        struct sim_oracle_report *r);
size_t store_oracle_bytes(const struct store_oracle *o);

#endif
