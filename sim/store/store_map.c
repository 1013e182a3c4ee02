/* sim/store/store_map.c — hash map (u64 -> u32) and slab allocator for the store. */
#include "sim/store/store_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_KEY UINT64_MAX
#define MIN_BUCKETS 64u

/* Keys are LBAs or line numbers: consecutive values must spread. */
static size_t bucket_of(uint64_t key, size_t mask)
{
    key ^= key >> 31;
    key *= 0x9e3779b97f4a7c15ull;
    key ^= key >> 29;
    return (size_t)key & mask;
}

void store_map_init(struct store_map *m)
{
    memset(m, 0, sizeof(*m));
}

void store_map_free(struct store_map *m)
{
    free(m->keys);
    free(m->vals);
    store_map_init(m);
}

int store_map_used(const struct store_map *m, size_t bucket)
{
    return m->keys[bucket] != EMPTY_KEY;
}

uint32_t store_map_get(const struct store_map *m, uint64_t key)
{
    if (!m->keys)
        return STORE_MAP_NONE;
    for (size_t i = bucket_of(key, m->mask);; i = (i + 1) & m->mask) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == EMPTY_KEY)
            return STORE_MAP_NONE;
    }
}

static void place(uint64_t *keys, uint32_t *vals, size_t mask, uint64_t key, uint32_t val)
{
    size_t i = bucket_of(key, mask);
    while (keys[i] != EMPTY_KEY)
        i = (i + 1) & mask;
    keys[i] = key;
    vals[i] = val;
}

static int grow(struct store_map *m)
{
    size_t nb = m->keys ? (m->mask + 1) * 2 : MIN_BUCKETS;
    if (nb > SIZE_MAX / sizeof(uint64_t))
        return -ENOMEM;
    uint64_t *keys = malloc(nb * sizeof(*keys));
    uint32_t *vals = malloc(nb * sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -ENOMEM;
    }
    memset(keys, 0xff, nb * sizeof(*keys));  /* every key EMPTY_KEY */
    if (m->keys)
        for (size_t i = 0; i <= m->mask; i++)
            if (m->keys[i] != EMPTY_KEY)
                place(keys, vals, nb - 1, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->mask = nb - 1;
    return 0;
}

int store_map_put(struct store_map *m, uint64_t key, uint32_t val)
{
    if (key == EMPTY_KEY)
        return -EINVAL;
    if (m->keys) {
        for (size_t i = bucket_of(key, m->mask);; i = (i + 1) & m->mask) {
            if (m->keys[i] == key) {
                m->vals[i] = val;
                return 0;
            }
            if (m->keys[i] == EMPTY_KEY)
                break;
        }
    }
    /* Keep the load at or below 3/4 so probe runs stay short. */
    if (!m->keys || (m->count + 1) * 4 > (m->mask + 1) * 3) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    place(m->keys, m->vals, m->mask, key, val);
    m->count++;
    return 0;
}

void store_map_del(struct store_map *m, uint64_t key)
{
    if (!m->keys)
        return;
    size_t i = bucket_of(key, m->mask);
    while (m->keys[i] != key) {
        if (m->keys[i] == EMPTY_KEY)
            return;
        i = (i + 1) & m->mask;
    }
    /* Backward-shift deletion: pull later members of the probe run into the
     * hole when their home bucket does not lie cyclically in (hole, j]. */
    size_t hole = i;
    for (size_t j = (hole + 1) & m->mask; m->keys[j] != EMPTY_KEY; j = (j + 1) & m->mask) {
        size_t home = bucket_of(m->keys[j], m->mask);
        int stays = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = EMPTY_KEY;
    m->count--;
}

size_t store_map_bytes(const struct store_map *m)
{
    return m->keys ? (m->mask + 1) * (sizeof(uint64_t) + sizeof(uint32_t)) : 0;
}

void store_slab_init(struct store_slab *sl, size_t elem)
{
    memset(sl, 0, sizeof(*sl));
    sl->elem = elem < sizeof(uint32_t) ? sizeof(uint32_t) : elem;
    sl->free_head = STORE_MAP_NONE;
}

void store_slab_free(struct store_slab *sl)
{
    for (uint32_t i = 0; i < sl->nchunks; i++)
        free(sl->chunks[i]);
    free(sl->chunks);
    store_slab_init(sl, sl->elem);
}

uint32_t store_slab_alloc(struct store_slab *sl)
{
    uint32_t id;
    if (sl->free_head != STORE_MAP_NONE) {
        id = sl->free_head;
        void *rec = store_slab_at(sl, id);
        memcpy(&sl->free_head, rec, sizeof(uint32_t));
        memset(rec, 0, sl->elem);
        sl->live++;
        return id;
    }
    if (sl->used == STORE_MAP_NONE)
        return STORE_MAP_NONE;
    id = sl->used;
    uint32_t chunk = id >> STORE_SLAB_CHUNK_SHIFT;
    if (chunk == sl->nchunks) {
        void **chunks = realloc(sl->chunks, (sl->nchunks + 1) * sizeof(*chunks));
        if (!chunks)
            return STORE_MAP_NONE;
        sl->chunks = chunks;
        /* Not calloc: a chunk is thousands of records (a cache line's is
         * 4096 x 168 bytes) and a replay uses a few; each is zeroed as it
         * is handed out, so only those pages are ever touched. */
        chunks[chunk] = malloc(((size_t)1 << STORE_SLAB_CHUNK_SHIFT) * sl->elem);
        if (!chunks[chunk])
            return STORE_MAP_NONE;
        sl->nchunks++;
    }
    sl->used++;
    sl->live++;
    memset(store_slab_at(sl, id), 0, sl->elem);
    return id;
}

void store_slab_release(struct store_slab *sl, uint32_t id)
{
    memcpy(store_slab_at(sl, id), &sl->free_head, sizeof(uint32_t));
    sl->free_head = id;
    sl->live--;
}

size_t store_slab_bytes(const struct store_slab *sl)
{
    return (size_t)sl->nchunks * ((size_t)sl->elem << STORE_SLAB_CHUNK_SHIFT) +
           sl->nchunks * sizeof(void *);
}
