/* sim/store/store_cache.c — dirty lines: index, write order, pages, write-back runs. */
#include "sim/store/store_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int store_cache_init(struct store_cache *c, uint32_t block_size)
{
    memset(c, 0, sizeof(*c));
    c->block_size = block_size;
    c->line_blocks = STORE_LINE_BYTES / block_size;
    c->oldest = c->newest = STORE_MAP_NONE;
    store_map_init(&c->index);
    store_slab_init(&c->lines, sizeof(struct cache_line));
    c->bounce = malloc(STORE_LINE_BYTES);
    return c->bounce ? 0 : -ENOMEM;
}

void store_cache_free(struct store_cache *c)
{
    store_cache_drop_all(c);
    store_map_free(&c->index);
    store_slab_free(&c->lines);
    free(c->bounce);
    c->bounce = NULL;
}

static void list_unlink(struct store_cache *c, uint32_t id)
{
    struct cache_line *l = store_cache_at(c, id);
    if (l->prev != STORE_MAP_NONE)
        store_cache_at(c, l->prev)->next = l->next;
    else
        c->oldest = l->next;
    if (l->next != STORE_MAP_NONE)
        store_cache_at(c, l->next)->prev = l->prev;
    else
        c->newest = l->prev;
}

static void list_append(struct store_cache *c, uint32_t id)
{
    struct cache_line *l = store_cache_at(c, id);
    l->prev = c->newest;
    l->next = STORE_MAP_NONE;
    if (c->newest != STORE_MAP_NONE)
        store_cache_at(c, c->newest)->next = id;
    else
        c->oldest = id;
    c->newest = id;
}

void store_cache_drop(struct store_cache *c, uint32_t id)
{
    struct cache_line *l = store_cache_at(c, id);
    list_unlink(c, id);
    store_map_del(&c->index, l->line);
    c->dirty_bytes -= (uint64_t)l->ndirty * c->block_size;
    for (unsigned p = 0; p < STORE_LINE_PAGES; p++) {
        if (l->page[p]) {
            free(l->page[p]);
            c->page_bytes -= STORE_PAGE_BYTES;
        }
    }
    store_slab_release(&c->lines, id);
}

uint64_t store_cache_drop_all(struct store_cache *c)
{
    uint64_t n = 0;
    while (c->oldest != STORE_MAP_NONE) {
        store_cache_drop(c, c->oldest);
        n++;
    }
    return n;
}

static uint32_t line_add(struct store_cache *c, uint64_t line)
{
    uint32_t id = store_slab_alloc(&c->lines);
    if (id == STORE_MAP_NONE)
        return id;
    if (store_map_put(&c->index, line, id)) {
        store_slab_release(&c->lines, id);
        return STORE_MAP_NONE;
    }
    store_cache_at(c, id)->line = line;
    list_append(c, id);
    return id;
}

static void set_dirty(struct cache_line *l, uint32_t i, bool on)
{
    uint64_t bit = UINT64_C(1) << (i % 64);
    if (on)
        l->dirty[i / 64] |= bit;
    else
        l->dirty[i / 64] &= ~bit;
}

int store_cache_write(struct store_cache *c, uint64_t lba, uint32_t n, const void *data)
{
    uint64_t line = lba / c->line_blocks;
    uint32_t first = (uint32_t)(lba % c->line_blocks);
    uint32_t id = store_cache_find(c, line);
    bool fresh = id == STORE_MAP_NONE;
    if (fresh && (id = line_add(c, line)) == STORE_MAP_NONE)
        return -ENOMEM;
    struct cache_line *l = store_cache_at(c, id);

    /* Allocate every page first so a failure leaves the line unchanged. */
    uint32_t p0 = first * c->block_size / STORE_PAGE_BYTES;
    uint32_t p1 = ((first + n) * c->block_size - 1) / STORE_PAGE_BYTES;
    for (uint32_t p = p0; p <= p1; p++) {
        if (l->page[p])
            continue;
        if (!(l->page[p] = malloc(STORE_PAGE_BYTES))) {
            if (fresh && l->ndirty == 0)
                store_cache_drop(c, id);
            return -ENOMEM;
        }
        c->page_bytes += STORE_PAGE_BYTES;
    }
    const unsigned char *src = data;
    for (uint32_t i = first; i < first + n; i++, src += c->block_size) {
        memcpy(store_cache_block(c, l, i), src, c->block_size);
        if (!store_cache_is_dirty(l, i)) {
            set_dirty(l, i, true);
            l->ndirty++;
            c->dirty_bytes += c->block_size;
        }
    }
    if (!fresh) {              /* the most recently written line is evicted last */
        list_unlink(c, id);
        list_append(c, id);
    }
    return 0;
}

void store_cache_undirty(struct store_cache *c, uint64_t lba, uint32_t n)
{
    uint32_t id = store_cache_find(c, lba / c->line_blocks);
    if (id == STORE_MAP_NONE)
        return;
    struct cache_line *l = store_cache_at(c, id);
    uint32_t first = (uint32_t)(lba % c->line_blocks);
    for (uint32_t i = first; i < first + n; i++) {
        if (store_cache_is_dirty(l, i)) {
            set_dirty(l, i, false);
            l->ndirty--;
            c->dirty_bytes -= c->block_size;
        }
    }
    if (l->ndirty == 0)
        store_cache_drop(c, id);
}

uint32_t store_cache_count_dirty(const struct store_cache *c, uint64_t lba, uint32_t n)
{
    uint32_t id = store_cache_find(c, lba / c->line_blocks);
    if (id == STORE_MAP_NONE)
        return 0;
    const struct cache_line *l = store_cache_at(c, id);
    uint32_t first = (uint32_t)(lba % c->line_blocks), count = 0;
    for (uint32_t i = first; i < first + n; i++)
        count += store_cache_is_dirty(l, i);
    return count;
}

void store_cache_overlay(const struct store_cache *c, uint64_t lba, uint32_t n, void *buf)
{
    uint32_t id = store_cache_find(c, lba / c->line_blocks);
    if (id == STORE_MAP_NONE)
        return;
    const struct cache_line *l = store_cache_at(c, id);
    uint32_t first = (uint32_t)(lba % c->line_blocks);
    unsigned char *dst = buf;
    for (uint32_t i = first; i < first + n; i++, dst += c->block_size)
        if (store_cache_is_dirty(l, i))
            memcpy(dst, store_cache_block(c, l, i), c->block_size);
}

int store_cache_writeback(struct store_cache *c, uint32_t id, uint64_t lo, uint64_t hi,
                          store_writeback_fn fn, void *ctx)
{
    struct cache_line *l = store_cache_at(c, id);
    uint64_t base = l->line * c->line_blocks;
    uint32_t from = lo > base ? (uint32_t)(lo - base) : 0;
    uint32_t to = hi <= base ? 0 : hi - base < c->line_blocks ? (uint32_t)(hi - base) : c->line_blocks;
    int rc = 0;
    for (uint32_t i = from; i < to && rc == 0;) {
        if (!store_cache_is_dirty(l, i)) {
            i++;
            continue;
        }
        uint32_t run = 0;
        while (i + run < to && store_cache_is_dirty(l, i + run)) {
            memcpy(c->bounce + (size_t)run * c->block_size, store_cache_block(c, l, i + run),
                   c->block_size);
            run++;
        }
        rc = fn(ctx, base + i, run, c->bounce);
        if (rc == 0) {
            for (uint32_t k = i; k < i + run; k++)
                set_dirty(l, k, false);
            l->ndirty -= run;
            c->dirty_bytes -= (uint64_t)run * c->block_size;
        }
        i += run;
    }
    if (l->ndirty == 0)
        store_cache_drop(c, id);
    return rc;
}

size_t store_cache_mem_bytes(const struct store_cache *c)
{
    return store_map_bytes(&c->index) + store_slab_bytes(&c->lines) + c->page_bytes +
           STORE_LINE_BYTES;
}
