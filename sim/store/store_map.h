/* sim/store/store_map.h — the two containers every part of the store is built on.
 *
 * store_map: an open-addressing hash map from a 64-bit key to a 32-bit slot
 * number (linear probing, backward-shift deletion, so no tombstones).  12 bytes
 * per bucket, load kept at or below 3/4: the oracle and the cache index stay
 * compact on a 66 TB drive where only a few GiB were ever written.
 *
 * store_slab: fixed-size records addressed by a 32-bit number, allocated in
 * chunks that never move (no realloc peak, stable pointers) with a free list.
 *
 * Internal to the store; not thread-safe.
 */
#ifndef SIM_STORE_STORE_MAP_H
#define SIM_STORE_STORE_MAP_H

#include <stddef.h>
#include <stdint.h>

#define STORE_MAP_NONE UINT32_MAX  /* "no such key" from store_map_get */

struct store_map {
    uint64_t *keys;     /* STORE_MAP_EMPTY_KEY marks a free bucket */
    uint32_t *vals;
    size_t    mask;     /* buckets - 1; buckets is a power of two (0 when empty) */
    size_t    count;
};

void     store_map_init(struct store_map *m);
void     store_map_free(struct store_map *m);
/* STORE_MAP_NONE when absent. */
uint32_t store_map_get(const struct store_map *m, uint64_t key);
/* Inserts or replaces; key must not be UINT64_MAX.  -ENOMEM on failure. */
int      store_map_put(struct store_map *m, uint64_t key, uint32_t val);
/* Removes key if present. */
void     store_map_del(struct store_map *m, uint64_t key);
size_t   store_map_bytes(const struct store_map *m);
/* Iteration: for (size_t i = 0; i <= m->mask && m->keys; i++) if (store_map_used(m, i)) … */
int      store_map_used(const struct store_map *m, size_t bucket);

#define STORE_SLAB_CHUNK_SHIFT 12  /* 4096 records per chunk */

struct store_slab {
    size_t    elem;       /* record size, >= 4 */
    void    **chunks;
    uint32_t  nchunks;
    uint32_t  used;       /* records ever handed out (high-water mark) */
    uint32_t  live;       /* records currently allocated */
    uint32_t  free_head;  /* STORE_MAP_NONE when the free list is empty */
};

void     store_slab_init(struct store_slab *sl, size_t elem);
void     store_slab_free(struct store_slab *sl);
/* New zeroed record; STORE_MAP_NONE on -ENOMEM or when 2^32-1 records exist. */
uint32_t store_slab_alloc(struct store_slab *sl);
void     store_slab_release(struct store_slab *sl, uint32_t id);
size_t   store_slab_bytes(const struct store_slab *sl);

static inline void *store_slab_at(const struct store_slab *sl, uint32_t id)
{
    return (char *)sl->chunks[id >> STORE_SLAB_CHUNK_SHIFT] +
           (size_t)(id & ((1u << STORE_SLAB_CHUNK_SHIFT) - 1)) * sl->elem;
}

#endif
