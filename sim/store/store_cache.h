/* sim/store/store_cache.h — the volatile write-back cache: dirty lines only.
 *
 * A line covers STORE_LINE_BYTES of the drive, aligned; a bit per block says
 * which blocks are dirty, so partial lines are exact.  Line data lives in 4 KiB
 * pages allocated when a block in them first turns dirty, so scattered small
 * writes cost about what they wrote.  Lines are indexed by a store_map and kept
 * on a list in order of their last write (least recently written first): the
 * store evicts from the front when dirty bytes exceed the capacity.  Clean
 * data is never cached (reads go to media), so a line disappears as soon as
 * its last dirty block is written back.
 *
 * Internal to the store; the store decides when to write back.
 */
#ifndef SIM_STORE_STORE_CACHE_H
#define SIM_STORE_STORE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/store/store_map.h"

#define STORE_LINE_BYTES  65536u
#define STORE_PAGE_BYTES  4096u
#define STORE_LINE_PAGES  (STORE_LINE_BYTES / STORE_PAGE_BYTES)
#define STORE_LINE_MAX_BLOCKS (STORE_LINE_BYTES / 512u)

struct cache_line {
    uint64_t line;                              /* lba / line_blocks */
    uint64_t dirty[STORE_LINE_MAX_BLOCKS / 64]; /* bit per block of the line */
    uint32_t ndirty;
    uint32_t prev, next;                        /* write order; STORE_MAP_NONE ends */
    unsigned char *page[STORE_LINE_PAGES];
};

struct store_cache {
    uint32_t block_size;
    uint32_t line_blocks;     /* blocks per line: 128 (512 B) or 16 (4 KiB) */
    uint64_t dirty_bytes;
    uint64_t page_bytes;      /* line data allocated */
    struct store_map  index;  /* line number -> slab id */
    struct store_slab lines;
    uint32_t oldest, newest;  /* ends of the write-order list */
    unsigned char *bounce;    /* one line, to write a dirty run with one call */
};

/* Writes n blocks at lba to the media below (write-back). */
typedef int (*store_writeback_fn)(void *ctx, uint64_t lba, uint32_t n, const void *data);

int  store_cache_init(struct store_cache *c, uint32_t block_size);
void store_cache_free(struct store_cache *c);

static inline uint64_t store_cache_nlines(const struct store_cache *c)
{
    return c->lines.live;
}
static inline struct cache_line *store_cache_at(const struct store_cache *c, uint32_t id)
{
    return store_slab_at(&c->lines, id);
}
/* Slab id of a line number, STORE_MAP_NONE if that line holds nothing dirty. */
static inline uint32_t store_cache_find(const struct store_cache *c, uint64_t line)
{
    return store_map_get(&c->index, line);
}
static inline bool store_cache_is_dirty(const struct cache_line *l, uint32_t i)
{
    return (l->dirty[i / 64] >> (i % 64)) & 1;
}
/* Block i of a line (must be dirty, so its page exists). */
static inline unsigned char *store_cache_block(const struct store_cache *c,
                                               const struct cache_line *l, uint32_t i)
{
    uint32_t off = i * c->block_size;
    return l->page[off / STORE_PAGE_BYTES] + off % STORE_PAGE_BYTES;
}

/* The ranges below must lie within one line. */
/* Copies n blocks in and marks them dirty; the line becomes the newest. */
int  store_cache_write(struct store_cache *c, uint64_t lba, uint32_t n, const void *data);
/* Marks n blocks clean (a durable write replaced them on media). */
void store_cache_undirty(struct store_cache *c, uint64_t lba, uint32_t n);
/* How many of the n blocks at lba are dirty. */
uint32_t store_cache_count_dirty(const struct store_cache *c, uint64_t lba, uint32_t n);
/* Copies the dirty blocks among the n at lba over buf. */
void store_cache_overlay(const struct store_cache *c, uint64_t lba, uint32_t n, void *buf);

/* Writes back the dirty blocks of line id within [lo, hi) in runs, marking
 * them clean; the line is freed when clean.  Stops at the first error. */
int  store_cache_writeback(struct store_cache *c, uint32_t id, uint64_t lo, uint64_t hi,
                           store_writeback_fn fn, void *ctx);
/* Forgets a line and its dirty data. */
void store_cache_drop(struct store_cache *c, uint32_t id);
/* Forgets everything; returns the number of lines dropped. */
uint64_t store_cache_drop_all(struct store_cache *c);
size_t store_cache_mem_bytes(const struct store_cache *c);

#endif
