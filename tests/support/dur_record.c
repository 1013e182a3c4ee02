/* tests/support/dur_record.c — the checking side's record of durable writes (see
 * tests/support/dur_record.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/dur_record.h"
#include "tests/support/testutil.h"

#define DUR_MAGIC 0x42525544u /* "DURB" */

struct dur_head {
    uint32_t magic;
    uint32_t gen;
    uint64_t lba;
    uint32_t sum;
    uint32_t zero; /* no padding: the header's bytes are all defined */
};
_Static_assert(sizeof(struct dur_head) == 24, "dur_head has no padding");

static uint32_t mix(uint64_t lba, uint32_t gen)
{
    uint64_t x = lba * 0x9E3779B97F4A7C15ull ^ (uint64_t)gen * 0xC2B2AE3D27D4EB4Full;
    x ^= x >> 29;
    return (uint32_t)(x ^ (x >> 32));
}

static void make_block(uint64_t lba, uint32_t gen, uint8_t *b)
{
    struct dur_head h = { .magic = DUR_MAGIC, .gen = gen, .lba = lba, .sum = mix(lba, gen) };
    uint32_t x = h.sum;
    for (size_t i = sizeof(h); i < DUR_BLOCK; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    memcpy(b, &h, sizeof(h));
}

void dur_init(struct dur_record *d, uint64_t blocks)
{
    d->blocks = blocks;
    d->durable = calloc(blocks, sizeof(uint32_t));
    d->acked = calloc(blocks, sizeof(uint32_t));
    d->issued = calloc(blocks, sizeof(uint32_t));
    d->next = calloc(blocks, sizeof(uint32_t));
    ck_assert(d->durable && d->acked && d->issued && d->next);
    for (uint64_t i = 0; i < blocks; i++)
        d->next[i] = 1;
}

void dur_free(struct dur_record *d)
{
    free(d->durable);
    free(d->acked);
    free(d->issued);
    free(d->next);
    memset(d, 0, sizeof(*d));
}

void dur_fill(struct dur_record *d, uint64_t lba, uint32_t n, uint8_t *buf)
{
    ck_assert_uint_le(lba + n, d->blocks);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t gen = d->next[lba + i]++;
        d->issued[lba + i] = gen;
        make_block(lba + i, gen, buf + (size_t)i * DUR_BLOCK);
    }
}

void dur_acked(struct dur_record *d, uint64_t lba, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        d->acked[lba + i] = d->issued[lba + i];
}

void dur_flushed(struct dur_record *d)
{
    memcpy(d->durable, d->acked, d->blocks * sizeof(uint32_t));
}

/* The generation a block holds: 0 for zeros, UINT32_MAX when it is no block
 * of ours for this LBA (torn, foreign, garbage). */
static uint32_t generation(uint64_t lba, const uint8_t *b)
{
    static const uint8_t zero[DUR_BLOCK];
    if (!memcmp(b, zero, DUR_BLOCK))
        return 0;
    struct dur_head h;
    memcpy(&h, b, sizeof(h));
    if (h.magic != DUR_MAGIC || h.lba != lba || h.gen == 0)
        return UINT32_MAX;
    uint8_t want[DUR_BLOCK];
    make_block(lba, h.gen, want);
    return memcmp(b, want, DUR_BLOCK) ? UINT32_MAX : h.gen;
}

bool dur_check(const struct dur_record *d, uint64_t lba, const uint8_t *block, struct dur_verdict *v, char *why,
               size_t whylen)
{
    uint32_t g = generation(lba, block);
    memset(v, 0, sizeof(*v));
    if (g == UINT32_MAX) {
        snprintf(why, whylen, "LBA %llu: not a block this test wrote there (torn or foreign)",
                 (unsigned long long)lba);
        return false;
    }
    /* Generations of one LBA are handed out in order, so everything in
     * [durable, issued] was written there at some point. */
    if (g < d->durable[lba] || g > d->issued[lba]) {
        snprintf(why, whylen, "LBA %llu: generation %u read back, durable %u, newest issued %u",
                 (unsigned long long)lba, g, d->durable[lba], d->issued[lba]);
        return false;
    }
    v->newer = g > d->durable[lba];
    v->acked_lost = g < d->acked[lba];
    return true;
}

void dur_adopt(struct dur_record *d, uint64_t lba, const uint8_t *block)
{
    uint32_t g = generation(lba, block);
    ck_assert_uint_ne(g, UINT32_MAX);
    d->durable[lba] = d->acked[lba] = d->issued[lba] = g;
}
