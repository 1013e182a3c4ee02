/* sim/store/store_oracle.c — per-block record of acknowledged, promised and media
 * versions; see store_oracle.h for the model and sim/store/store.h for the rules. */
#include "sim/store/store_oracle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/tbuf.h"
#include "sim/store/store_hash.h"

#define GROUP_SHIFT 3
#define GROUP_BLOCKS (1u << GROUP_SHIFT)

struct group {
    uint8_t  present;    /* bit i: block i has an acknowledged version */
    uint8_t  durable;    /* newest == promised (implies on_media) */
    uint8_t  on_media;   /* newest == media */
    uint8_t  forfeit;    /* newest was lost at a power cut: never promotable */
    uint32_t newest[GROUP_BLOCKS];
};

struct side {           /* older versions, kept only while they differ from newest */
    uint32_t promised;
    uint32_t media;
    uint8_t  has_promised;
    uint8_t  has_media;
};

void store_oracle_init(struct store_oracle *o, uint32_t block_size)
{
    memset(o, 0, sizeof(*o));
    o->block_size = block_size;
    o->journal_fd = -1;
    store_map_init(&o->group_index);
    store_slab_init(&o->groups, sizeof(struct group));
    store_map_init(&o->side_index);
    store_slab_init(&o->sides, sizeof(struct side));
}

void store_oracle_free(struct store_oracle *o)
{
    if (o->journal_fd >= 0)
        close(o->journal_fd);
    o->journal_fd = -1;
    store_map_free(&o->group_index);
    store_slab_free(&o->groups);
    store_map_free(&o->side_index);
    store_slab_free(&o->sides);
}

static struct group *group_get(const struct store_oracle *o, uint64_t g)
{
    uint32_t id = store_map_get(&o->group_index, g);
    return id == STORE_MAP_NONE ? NULL : store_slab_at(&o->groups, id);
}

static struct group *group_get_or_add(struct store_oracle *o, uint64_t g)
{
    struct group *gr = group_get(o, g);
    if (gr)
        return gr;
    uint32_t id = store_slab_alloc(&o->groups);
    if (id == STORE_MAP_NONE)
        return NULL;
    if (store_map_put(&o->group_index, g, id)) {
        store_slab_release(&o->groups, id);
        return NULL;
    }
    return store_slab_at(&o->groups, id);
}

static struct side *side_get(const struct store_oracle *o, uint64_t lba)
{
    uint32_t id = store_map_get(&o->side_index, lba);
    return id == STORE_MAP_NONE ? NULL : store_slab_at(&o->sides, id);
}

static void side_del(struct store_oracle *o, uint64_t lba)
{
    uint32_t id = store_map_get(&o->side_index, lba);
    if (id == STORE_MAP_NONE)
        return;
    store_map_del(&o->side_index, lba);
    store_slab_release(&o->sides, id);
}

/* Records the older versions of lba, or drops the record when there are none. */
static int side_set(struct store_oracle *o, uint64_t lba, const struct side *v)
{
    if (!v->has_promised && !v->has_media) {
        side_del(o, lba);
        return 0;
    }
    struct side *sd = side_get(o, lba);
    if (!sd) {
        uint32_t id = store_slab_alloc(&o->sides);
        if (id == STORE_MAP_NONE)
            return -ENOMEM;
        if (store_map_put(&o->side_index, lba, id)) {
            store_slab_release(&o->sides, id);
            return -ENOMEM;
        }
        sd = store_slab_at(&o->sides, id);
    }
    *sd = *v;
    return 0;
}

/* One block's new version, hash h: what promised and media held before is
 * kept aside unless the write itself is durable. */
static int write_block(struct store_oracle *o, uint64_t b, uint32_t h, bool durable)
{
    struct group *gr = group_get_or_add(o, b >> GROUP_SHIFT);
    if (!gr)
        return -ENOMEM;
    uint8_t bit = (uint8_t)(1u << (b & (GROUP_BLOCKS - 1)));
    uint32_t *newest = &gr->newest[b & (GROUP_BLOCKS - 1)];

    /* What promised/media hold before this write. */
    struct side old = { 0 };
    const struct side *sd = side_get(o, b);
    if (sd)
        old = *sd;
    if (gr->present & bit) {
        if (gr->durable & bit) {
            old.promised = *newest;
            old.has_promised = 1;
        }
        if (gr->on_media & bit) {
            old.media = *newest;
            old.has_media = 1;
        }
    }

    *newest = h;
    gr->present |= bit;
    gr->forfeit &= (uint8_t)~bit;
    if (durable) {
        gr->durable |= bit;
        gr->on_media |= bit;
        side_del(o, b);
        return 0;
    }
    gr->durable &= (uint8_t)~bit;
    gr->on_media &= (uint8_t)~bit;
    return side_set(o, b, &old);
}

int store_oracle_write(struct store_oracle *o, uint64_t lba, uint64_t n, const void *data, bool durable)
{
    const unsigned char *p = data;
    for (uint64_t i = 0; i < n; i++, p += o->block_size) {
        int rc = write_block(o, lba + i, store_block_hash(p, o->block_size), durable);
        if (rc)
            return rc;
    }
    return 0;
}

typedef int (*group_fn)(struct store_oracle *o, uint64_t g, struct group *gr, uint8_t mask);

/* Calls fn for every known group overlapping [lba, lba + n) with the mask of
 * its blocks inside the range: looks the range up group by group when it is
 * smaller than the index, else walks the whole index. */
static int for_each_group(struct store_oracle *o, uint64_t lba, uint64_t n, group_fn fn)
{
    if (n == 0)
        return 0;
    uint64_t last = lba + n - 1;
    uint64_t g0 = lba >> GROUP_SHIFT, g1 = last >> GROUP_SHIFT;
    bool by_range = g1 - g0 < o->group_index.count;
    const struct store_map *m = &o->group_index;
    size_t buckets = m->keys ? m->mask + 1 : 0;
    for (uint64_t k = 0; by_range ? k <= g1 - g0 : k < buckets; k++) {
        uint64_t g;
        uint32_t id;
        if (by_range) {
            g = g0 + k;
            id = store_map_get(m, g);
            if (id == STORE_MAP_NONE)
                continue;
        } else {
            if (!store_map_used(m, k) || m->keys[k] < g0 || m->keys[k] > g1)
                continue;
            g = m->keys[k];
            id = m->vals[k];
        }
        uint8_t mask = 0xff;
        if (g == g0)
            mask &= (uint8_t)(0xffu << (lba & (GROUP_BLOCKS - 1)));
        if (g == g1)
            mask &= (uint8_t)(0xffu >> (GROUP_BLOCKS - 1 - (last & (GROUP_BLOCKS - 1))));
        int rc = fn(o, g, store_slab_at(&o->groups, id), mask);
        if (rc)
            return rc;
    }
    return 0;
}

static int mark_on_media(struct store_oracle *o, uint64_t g, struct group *gr, uint8_t mask)
{
    mask &= gr->present;
    for (unsigned i = 0; i < GROUP_BLOCKS; i++) {
        uint8_t bit = (uint8_t)(1u << i);
        if (!(mask & bit) || (gr->on_media & bit))
            continue;
        uint64_t b = (g << GROUP_SHIFT) + i;
        struct side *sd = side_get(o, b);
        if (sd) {
            struct side v = *sd;
            v.has_media = 0;
            int rc = side_set(o, b, &v);
            if (rc)
                return rc;
        }
        gr->on_media |= bit;
        gr->forfeit &= (uint8_t)~bit;
    }
    return 0;
}

int store_oracle_on_media(struct store_oracle *o, uint64_t lba, uint64_t n)
{
    return for_each_group(o, lba, n, mark_on_media);
}

static int mark_promised(struct store_oracle *o, uint64_t g, struct group *gr, uint8_t mask)
{
    mask &= gr->present & (uint8_t)~gr->forfeit & (uint8_t)~gr->durable;
    for (unsigned i = 0; i < GROUP_BLOCKS; i++)
        if (mask & (1u << i))
            side_del(o, (g << GROUP_SHIFT) + i);
    gr->durable |= mask;
    gr->on_media |= mask;
    return 0;
}

void store_oracle_flush(struct store_oracle *o, uint64_t lba, uint64_t n)
{
    (void)for_each_group(o, lba, n, mark_promised);  /* only deletes: cannot fail */
}

void store_oracle_power_loss(struct store_oracle *o)
{
    const struct store_map *m = &o->group_index;
    for (size_t k = 0; m->keys && k <= m->mask; k++) {
        if (!store_map_used(m, k))
            continue;
        struct group *gr = store_slab_at(&o->groups, m->vals[k]);
        gr->forfeit |= gr->present & (uint8_t)~gr->on_media;
    }
}

/* A lost block, noted for the report's ranges: the LBA, and LOST_DURABLE
 * set when it was promised durable (LBAs stay below 2^63: capacities are
 * at most 2^63 bytes). */
#define LOST_DURABLE (1ull << 63)

static void note_lost(struct tbuf *lost, uint64_t b, bool durable)
{
    uint64_t v = b | (durable ? LOST_DURABLE : 0);
    tbuf_put(lost, (const char *)&v, sizeof(v));
}

/* Durable first, then by LBA. */
static int cmp_lost(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a ^ LOST_DURABLE, y = *(const uint64_t *)b ^ LOST_DURABLE;
    return x < y ? -1 : x > y;
}

/* The noted blocks as runs of consecutive LBAs of one kind, as many as the
 * report has room for; the others are counted in ranges_more. */
static void make_ranges(struct sim_oracle_report *r, struct tbuf *lost)
{
    size_t n = lost->len / sizeof(uint64_t);
    uint64_t *v = (uint64_t *)(void *)lost->s;
    if (!n)
        return;
    qsort(v, n, sizeof(*v), cmp_lost);
    struct sim_oracle_range *cur = NULL;
    for (size_t k = 0; k < n; k++) {
        uint64_t lba = v[k] & ~LOST_DURABLE;
        bool durable = v[k] & LOST_DURABLE;
        if (cur && cur->durable == durable && cur->lba + cur->count == lba && cur->count < UINT32_MAX) {
            cur->count++;
            continue;
        }
        if (r->n_ranges == SIM_ORACLE_RANGES) {
            r->ranges_more++;
            cur = NULL;
            continue;
        }
        cur = &r->range[r->n_ranges++];
        *cur = (struct sim_oracle_range){ .lba = lba, .count = 1, .durable = durable };
    }
}

/* Classifies one block whose current content hashes to `have`. */
static void classify(struct sim_oracle_report *r, struct tbuf *lost, uint64_t b, const struct group *gr,
                     unsigned i, const struct side *sd, uint32_t have)
{
    uint8_t bit = (uint8_t)(1u << i);
    uint32_t newest = gr->newest[i];
    bool lost_durable;
    if (gr->durable & bit) {
        lost_durable = have != newest;
    } else if (have == newest) {
        r->volatile_kept++;
        return;
    } else {
        bool older = sd && ((sd->has_promised && have == sd->promised) ||
                            (sd->has_media && have == sd->media));
        /* Unknown content (torn, or garbage) destroyed a promised version. */
        lost_durable = !older && sd && sd->has_promised;
        if (!lost_durable) {
            r->volatile_lost++;
            note_lost(lost, b, false);
        }
    }
    if (lost_durable) {
        if (r->durable_lost == 0 || b < r->first_bad_lba)
            r->first_bad_lba = b;
        r->durable_lost++;
        note_lost(lost, b, true);
    }
}

int store_oracle_check(struct store_oracle *o, store_read_block_fn read_block, void *ctx,
                       struct sim_oracle_report *r)
{
    memset(r, 0, sizeof(*r));
    void *buf = malloc(o->block_size);
    if (!buf)
        return -ENOMEM;
    struct tbuf lost = { 0 };
    const struct store_map *m = &o->group_index;
    int rc = 0;
    for (size_t k = 0; m->keys && k <= m->mask && rc == 0; k++) {
        if (!store_map_used(m, k))
            continue;
        const struct group *gr = store_slab_at(&o->groups, m->vals[k]);
        for (unsigned i = 0; i < GROUP_BLOCKS; i++) {
            if (!(gr->present & (1u << i)))
                continue;
            uint64_t b = (m->keys[k] << GROUP_SHIFT) + i;
            rc = read_block(ctx, b, buf);
            if (rc)
                break;
            r->blocks_checked++;
            classify(r, &lost, b, gr, i, side_get(o, b), store_block_hash(buf, o->block_size));
        }
    }
    free(buf);
    if (rc == 0 && lost.oom)
        rc = -ENOMEM;
    if (rc == 0)
        make_ranges(r, &lost);
    tbuf_free(&lost);
    return rc;
}

/* store_oracle_write for one block whose hash is known (a journal replay). */
int store_oracle_write_hash(struct store_oracle *o, uint64_t b, uint32_t h)
{
    return write_block(o, b, h, false);
}

int store_oracle_snapshot(const struct store_oracle *o, store_state_fn fn, void *ctx)
{
    const struct store_map *m = &o->group_index;
    for (size_t k = 0; m->keys && k <= m->mask; k++) {
        if (!store_map_used(m, k))
            continue;
        const struct group *gr = store_slab_at(&o->groups, m->vals[k]);
        for (unsigned i = 0; i < GROUP_BLOCKS; i++) {
            uint8_t bit = (uint8_t)(1u << i);
            if (!(gr->present & bit))
                continue;
            uint64_t b = (m->keys[k] << GROUP_SHIFT) + i;
            struct store_block_state st = {
                .newest = gr->newest[i], .durable = !!(gr->durable & bit), .on_media = !!(gr->on_media & bit),
                .forfeit = !!(gr->forfeit & bit),
            };
            const struct side *sd = side_get(o, b);
            if (sd) {
                st.has_promised = sd->has_promised, st.promised = sd->promised;
                st.has_media = sd->has_media, st.media = sd->media;
            }
            int rc = fn(ctx, b, &st);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int store_oracle_set_state(struct store_oracle *o, uint64_t lba, const struct store_block_state *st)
{
    struct group *gr = group_get_or_add(o, lba >> GROUP_SHIFT);
    if (!gr)
        return -ENOMEM;
    unsigned i = (unsigned)(lba & (GROUP_BLOCKS - 1));
    uint8_t bit = (uint8_t)(1u << i);
    gr->present |= bit;
    gr->newest[i] = st->newest;
    gr->durable = st->durable ? gr->durable | bit : gr->durable & (uint8_t)~bit;
    gr->on_media = st->on_media ? gr->on_media | bit : gr->on_media & (uint8_t)~bit;
    gr->forfeit = st->forfeit ? gr->forfeit | bit : gr->forfeit & (uint8_t)~bit;
    struct side v = { .promised = st->promised, .media = st->media, .has_promised = st->has_promised,
                      .has_media = st->has_media };
    return side_set(o, lba, &v);
}

bool store_oracle_is_durable(const struct store_oracle *o, uint64_t lba)
{
    const struct group *gr = group_get(o, lba >> GROUP_SHIFT);
    return gr && (gr->durable & (1u << (lba & (GROUP_BLOCKS - 1))));
}

int store_oracle_media_holds(struct store_oracle *o, uint64_t lba, uint32_t hash)
{
    struct group *gr = group_get(o, lba >> GROUP_SHIFT);
    uint8_t bit = (uint8_t)(1u << (lba & (GROUP_BLOCKS - 1)));
    if (!gr || !(gr->present & bit) || (gr->durable & bit))
        return 0;
    if (gr->newest[lba & (GROUP_BLOCKS - 1)] == hash) {
        gr->on_media |= bit;
        gr->forfeit &= (uint8_t)~bit;
        return 0;
    }
    struct side v = { 0 };
    const struct side *sd = side_get(o, lba);
    if (sd)
        v = *sd;
    v.media = hash;
    v.has_media = 1;
    return side_set(o, lba, &v);
}

int store_oracle_unacked_newest(struct store_oracle *o, uint64_t lba, uint32_t have, bool known)
{
    struct group *gr = group_get(o, lba >> GROUP_SHIFT);
    unsigned i = (unsigned)(lba & (GROUP_BLOCKS - 1));
    uint8_t bit = (uint8_t)(1u << i);
    if (!gr || !(gr->present & bit) || (gr->durable & bit))
        return 0;
    const struct side *sd = side_get(o, lba);
    bool promised = sd && sd->has_promised && sd->promised == have;
    if (gr->newest[i] == have)
        return store_oracle_media_holds(o, lba, have);
    if (!(known || promised || (sd && sd->has_media && sd->media == have)))
        return 0;   /* content the journal never saw: judged as it is */
    struct store_block_state st = { .newest = have, .on_media = true, .durable = promised };
    if (sd && sd->has_promised) {
        st.has_promised = true;
        st.promised = sd->promised;
    }
    return store_oracle_set_state(o, lba, &st);
}

bool store_oracle_newest(const struct store_oracle *o, uint64_t lba, uint32_t *hash)
{
    const struct group *gr = group_get(o, lba >> GROUP_SHIFT);
    unsigned i = (unsigned)(lba & (GROUP_BLOCKS - 1));
    if (!gr || !(gr->present & (1u << i)))
        return false;
    *hash = gr->newest[i];
    return true;
}

void store_oracle_forget(struct store_oracle *o, uint64_t lba)
{
    struct group *gr = group_get(o, lba >> GROUP_SHIFT);
    uint8_t keep = (uint8_t)~(1u << (lba & (GROUP_BLOCKS - 1)));
    if (!gr)
        return;
    gr->present &= keep;
    gr->durable &= keep;
    gr->on_media &= keep;
    gr->forfeit &= keep;
    side_del(o, lba);
}

size_t store_oracle_bytes(const struct store_oracle *o)
{
    return sizeof(*o) + store_map_bytes(&o->group_index) + store_slab_bytes(&o->groups) +
           store_map_bytes(&o->side_index) + store_slab_bytes(&o->sides);
}

/* Per present block of group g inside [lo, hi): a durable write of zeros. */
static int unmap_group(struct store_oracle *o, uint64_t g, uint64_t lo, uint64_t hi, const void *zero)
{
    const struct group *gr = group_get(o, g);
    if (!gr)
        return 0;
    uint8_t present = gr->present;
    for (uint32_t i = 0; i < GROUP_BLOCKS; i++) {
        uint64_t b = (g << GROUP_SHIFT) + i;
        if (b < lo || b >= hi || !(present & (1u << i)))
            continue;
        int rc = store_oracle_write(o, b, 1, zero, true);
        if (rc)
            return rc;
    }
    return 0;
}

int store_oracle_unmap(struct store_oracle *o, uint64_t lba, uint64_t n, const void *zero_block)
{
    if (n == 0)
        return 0;
    uint64_t hi = lba + n, g0 = lba >> GROUP_SHIFT, g1 = (hi - 1) >> GROUP_SHIFT;
    if (g1 - g0 < o->group_index.count) {
        for (uint64_t g = g0; g <= g1; g++) {
            int rc = unmap_group(o, g, lba, hi, zero_block);
            if (rc)
                return rc;
        }
        return 0;
    }
    /* A range wider than what was ever written: walk the written groups.
     * Recording a write to a present block adds no group, so the index does
     * not move under the walk. */
    for (size_t i = 0; o->group_index.keys && i <= o->group_index.mask; i++) {
        if (!store_map_used(&o->group_index, i))
            continue;
        uint64_t g = o->group_index.keys[i];
        if (g < g0 || g > g1)
            continue;
        int rc = unmap_group(o, g, lba, hi, zero_block);
        if (rc)
            return rc;
    }
    return 0;
}
