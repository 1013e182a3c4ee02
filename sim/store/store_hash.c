/* sim/store/store_hash.c — block content hash for the oracle. */
#include "sim/store/store_hash.h"

#include <string.h>

#define K1 0xa0761d6478bd642full
#define K2 0xe7037ed1a0b428dbull
#define K3 0x8ebc6af09c88c6e3ull

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane(uint64_t acc, uint64_t word)
{
    return rotl(acc + word * K2, 31) * K1;
}

uint32_t store_block_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t a = K1, b = K2, c = K3, d = K1 ^ K2;
    for (size_t i = 0; i + 32 <= len; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof(w));
        a = lane(a, w[0]);
        b = lane(b, w[1]);
        c = lane(c, w[2]);
        d = lane(d, w[3]);
    }
    uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + len;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}
