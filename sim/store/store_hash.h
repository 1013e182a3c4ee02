/* sim/store/store_hash.h — the block content hash the oracle keeps, and the seeded
 * generator behind RANDOM and TORN power cuts.  Internal to the store. */
#ifndef SIM_STORE_STORE_HASH_H
#define SIM_STORE_STORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 32-bit hash of one block's bytes (len a multiple of 32).  Four independent
 * multiply-rotate lanes keep it at memory speed; a 64-bit avalanche folds them.
 * Two different blocks hash equal with probability about 2^-32. */
uint32_t store_block_hash(const void *data, size_t len);

/* splitmix64: deterministic for a seed, good enough to pick lines. */
static inline uint64_t store_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
