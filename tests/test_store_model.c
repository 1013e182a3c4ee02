/* tests/test_store_model.c — sim/store against a reference model: random
 * writes (cached and durable), reads, range flushes, power cuts with and
 * without a battery, eviction under a small cache.  After every step reads
 * must match the model, and the oracle's counts must match what the model
 * knows was acknowledged, promised and still held. */
#include <stdlib.h>
#include <string.h>

#include "sim/store/store.h"
#include "sim/store/store_hash.h"
#include "tests/support/store_fixture.h"
#include "tests/support/testutil.h"

#define MODEL_BLOCKS 2000u

struct block_model {
    uint32_t acked;      /* newest acknowledged tag, 0 = never written */
    uint32_t content;    /* tag the drive should hold now (0 = zeros) */
    bool promised;       /* acked was promised durable */
    uint32_t *history;   /* every tag written here, to recognise old content */
    uint32_t nhistory;
};

struct model {
    struct sim_store *s;
    uint32_t bs;
    struct block_model b[MODEL_BLOCKS];
};

static void model_write(struct model *m, uint64_t lba, uint32_t n, uint32_t tag, bool durable)
{
    fixture_write(m->s, lba, n, m->bs, tag, durable);
    for (uint64_t i = lba; i < lba + n; i++) {
        struct block_model *b = &m->b[i];
        b->acked = b->content = tag;
        b->promised = durable;
        b->history = realloc(b->history, (b->nhistory + 1) * sizeof(uint32_t));
        ck_assert_ptr_nonnull(b->history);
        b->history[b->nhistory++] = tag;
    }
}

static void model_flush(struct model *m, uint64_t lba, uint64_t n)
{
    ck_assert_int_eq(sim_store_flush(m->s, lba, n), 0);
    uint64_t end = n ? lba + n : MODEL_BLOCKS;
    for (uint64_t i = lba; i < end; i++)
        if (m->b[i].acked && m->b[i].content == m->b[i].acked)  /* not lost at a cut */
            m->b[i].promised = true;
}

/* After a cut without a battery: learn which version each block holds. */
static void model_rediscover(struct model *m)
{
    for (uint64_t i = 0; i < MODEL_BLOCKS; i++) {
        struct block_model *b = &m->b[i];
        if (!b->acked)
            continue;
        if (b->promised) {
            ck_assert_msg(fixture_holds(m->s, i, 1, m->bs, b->acked), "promised block %lu lost",
                          (unsigned long)i);
            continue;
        }
        uint32_t found = UINT32_MAX;
        if (fixture_holds(m->s, i, 1, m->bs, 0))
            found = 0;
        for (uint32_t h = b->nhistory; h-- > 0 && found == UINT32_MAX;)
            if (fixture_holds(m->s, i, 1, m->bs, b->history[h]))
                found = b->history[h];
        ck_assert_msg(found != UINT32_MAX, "block %lu holds data never written", (unsigned long)i);
        b->content = found;
    }
}

static void model_verify(struct model *m)
{
    uint64_t acked = 0, kept = 0, lost = 0;
    for (uint64_t i = 0; i < MODEL_BLOCKS; i++) {
        const struct block_model *b = &m->b[i];
        ck_assert_msg(fixture_holds(m->s, i, 1, m->bs, b->content), "block %lu", (unsigned long)i);
        if (!b->acked)
            continue;
        acked++;
        if (!b->promised) {
            kept += b->content == b->acked;
            lost += b->content != b->acked;
        }
    }
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(m->s, &r), 0);
    ck_assert_uint_eq(r.blocks_checked, acked);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_kept, kept);
    ck_assert_uint_eq(r.volatile_lost, lost);
}

START_TEST(random_operations_match_model)
{
    /* _i: bit 0 block size, bit 1 file media. */
    struct model *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    m->bs = (_i & 1) ? 4096 : 512;
    char *path = (_i & 2) ? fixture_media_path() : NULL;
    m->s = fixture_store(MODEL_BLOCKS, m->bs, path, 8u * m->bs * 16, HBA_BATTERY_ABSENT, 11);
    uint64_t rng = 1234 + (uint64_t)_i;
    uint32_t tag = 1;
    for (unsigned step = 0; step < 1200; step++) {
        uint64_t dice = store_rng_next(&rng) % 100;
        uint64_t lba = store_rng_next(&rng) % MODEL_BLOCKS;
        uint32_t n = 1 + (uint32_t)(store_rng_next(&rng) % 48);
        if (lba + n > MODEL_BLOCKS)
            n = (uint32_t)(MODEL_BLOCKS - lba);
        if (dice < 70) {
            model_write(m, lba, n, tag++, dice < 12);
        } else if (dice < 85) {
            for (uint64_t i = lba; i < lba + n; i++)
                ck_assert(fixture_holds(m->s, i, 1, m->bs, m->b[i].content));
        } else if (dice < 93) {
            model_flush(m, lba, dice < 90 ? n : 0);
        } else if (dice < 97) {
            /* Battery good: nothing changes across the cut. */
            sim_store_set_battery(m->s, HBA_BATTERY_GOOD);
            ck_assert_uint_eq(sim_store_power_cut(m->s, NULL), 0);
            ck_assert_int_eq(sim_store_power_on(m->s), 0);
            sim_store_set_battery(m->s, HBA_BATTERY_ABSENT);
        } else {
            struct sim_power_cut how = { .mode = dice == 99 ? SIM_POWER_CUT_RANDOM : SIM_POWER_CUT_ALL };
            sim_store_power_cut(m->s, &how);
            ck_assert_int_eq(sim_store_power_on(m->s), 0);
            model_rediscover(m);
        }
        if (step % 100 == 99)
            model_verify(m);
    }
    model_verify(m);
    sim_store_destroy(m->s);
    if (path)
        fixture_media_cleanup(path, MODEL_BLOCKS, m->bs);
    for (uint64_t i = 0; i < MODEL_BLOCKS; i++)
        free(m->b[i].history);
    free(m);
}
END_TEST

static Suite *store_model_suite(void)
{
    Suite *s = suite_create("store_model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, random_operations_match_model, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(store_model_suite());
}
