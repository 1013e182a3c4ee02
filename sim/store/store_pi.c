/* sim/store/store_pi.c — protection information tuples beside the blocks
 * (the rules are in store_pi.h). */
#include "sim/store/store_pi.h"

#include <errno.h>
#include <string.h>

struct pi_rec {
    uint8_t newest[STORE_PI_BYTES];
    uint8_t media[STORE_PI_BYTES];
    bool    on_media;            /* media[] is valid: some version reached the media */
};

void store_pi_init(struct store_pi *p)
{
    store_map_init(&p->index);
    store_slab_init(&p->recs, sizeof(struct pi_rec));
}

void store_pi_free(struct store_pi *p)
{
    store_map_free(&p->index);
    store_slab_free(&p->recs);
}

int store_pi_set_newest(struct store_pi *p, uint64_t lba, uint32_t n, const uint8_t *tuples)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id = store_map_get(&p->index, lba + i);
        if (id == STORE_MAP_NONE) {
            id = store_slab_alloc(&p->recs);
            if (id == STORE_MAP_NONE)
                return -ENOMEM;
            if (store_map_put(&p->index, lba + i, id) < 0) {
                store_slab_release(&p->recs, id);
                return -ENOMEM;
            }
        }
        struct pi_rec *r = store_slab_at(&p->recs, id);
        memcpy(r->newest, tuples + (size_t)i * STORE_PI_BYTES, STORE_PI_BYTES);
    }
    return 0;
}

void store_pi_on_media(struct store_pi *p, uint64_t lba, uint32_t n)
{
    if (p->index.count == 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id = store_map_get(&p->index, lba + i);
        if (id == STORE_MAP_NONE)
            continue;
        struct pi_rec *r = store_slab_at(&p->recs, id);
        memcpy(r->media, r->newest, STORE_PI_BYTES);
        r->on_media = true;
    }
}

void store_pi_get(const struct store_pi *p, uint64_t lba, bool dirty, uint8_t out[STORE_PI_BYTES])
{
    uint32_t id = store_map_get(&p->index, lba);
    const struct pi_rec *r = id == STORE_MAP_NONE ? NULL : store_slab_at(&p->recs, id);
    if (r && dirty)
        memcpy(out, r->newest, STORE_PI_BYTES);
    else if (r && r->on_media)
        memcpy(out, r->media, STORE_PI_BYTES);
    else
        memset(out, 0xff, STORE_PI_BYTES);
}

void store_pi_forget(struct store_pi *p, uint64_t lba, uint64_t n)
{
    if (p->index.count == 0)
        return;
    /* A huge unmap over few tuples: walk the tuples, not the range. */
    if (n > p->index.count) {
        for (size_t b = 0; p->index.keys && b <= p->index.mask;) {
            uint64_t key = p->index.keys[b];
            if (store_map_used(&p->index, b) && key >= lba && key - lba < n) {
                store_slab_release(&p->recs, p->index.vals[b]);
                store_map_del(&p->index, key);   /* shifts a later key into b: look again */
                continue;
            }
            b++;
        }
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t id = store_map_get(&p->index, lba + i);
        if (id != STORE_MAP_NONE) {
            store_slab_release(&p->recs, id);
            store_map_del(&p->index, lba + i);
        }
    }
}

size_t store_pi_bytes(const struct store_pi *p)
{
    return store_map_bytes(&p->index) + store_slab_bytes(&p->recs);
}
