/* tests/test_store_power.c — sim/store power cuts, the battery and the oracle:
 * what survives, what is lost, and what the oracle says about it. */
#include <errno.h>
#include <string.h>

#include "sim/store/store.h"
#include "tests/support/store_fixture.h"
#include "tests/support/testutil.h"

#define BLOCKS 200000u
#define BS 4096u
#define LINE (65536u / BS)

static struct sim_oracle_report check(struct sim_store *s)
{
    struct sim_oracle_report r;
    memset(&r, 0xa5, sizeof(r));
    ck_assert_int_eq(sim_store_check(s, &r), 0);
    return r;
}

static uint64_t cut(struct sim_store *s, enum sim_power_cut_mode mode, uint64_t seed)
{
    struct sim_power_cut how = { .mode = mode, .seed = seed };
    uint64_t lost = sim_store_power_cut(s, &how);
    ck_assert_int_eq(sim_store_power_on(s), 0);
    return lost;
}

START_TEST(no_battery_keeps_flushed_loses_unflushed)
{
    /* _i: 0 battery absent, 1 battery failed — the same behaviour. */
    enum hba_battery b = _i ? HBA_BATTERY_FAILED : HBA_BATTERY_ABSENT;
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, b, 1);
    fixture_write(s, 0, 40, BS, 1, false);
    ck_assert_int_eq(sim_store_flush(s, 0, 40), 0);
    fixture_write(s, 1000, 20, BS, 2, false);            /* acknowledged, never flushed */
    ck_assert_uint_eq(cut(s, SIM_POWER_CUT_ALL, 0), 2);  /* 1000..1019 spans two lines */
    ck_assert_uint_eq(sim_store_dirty_bytes(s), 0);
    ck_assert(fixture_holds(s, 0, 40, BS, 1));
    ck_assert(fixture_holds(s, 1000, 20, BS, 0));
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.blocks_checked, 60);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 20);
    ck_assert_uint_eq(r.volatile_kept, 0);
    sim_store_destroy(s);
}
END_TEST

START_TEST(good_battery_holds_dirty_lines)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_GOOD, 1);
    fixture_write(s, 10, 30, BS, 1, false);
    uint64_t dirty = sim_store_dirty_bytes(s);
    ck_assert_uint_eq(sim_store_power_cut(s, NULL), 0);
    /* Off: no I/O. */
    unsigned char buf[BS];
    ck_assert_int_eq(sim_store_read(s, 10, 1, buf), -EIO);
    ck_assert_int_eq(sim_store_write(s, 10, 1, buf, false), -EIO);
    ck_assert_int_eq(sim_store_flush(s, 0, 0), -EIO);
    ck_assert_uint_eq(sim_store_power_cut(s, NULL), 0);     /* already off */
    ck_assert_int_eq(sim_store_power_on(s), 0);
    ck_assert_int_eq(sim_store_power_on(s), -EALREADY);
    ck_assert_uint_eq(sim_store_dirty_bytes(s), dirty);     /* replayed, still dirty */
    ck_assert(fixture_holds(s, 10, 30, BS, 1));
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.volatile_kept, 30);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    /* Flushing after power on makes the replayed data durable. */
    ck_assert_int_eq(sim_store_flush(s, 0, 0), 0);
    sim_store_set_battery(s, HBA_BATTERY_ABSENT);
    ck_assert_uint_eq(cut(s, SIM_POWER_CUT_ALL, 0), 0);
    r = check(s);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_kept + r.volatile_lost, 0);
    ck_assert(fixture_holds(s, 10, 30, BS, 1));
    sim_store_destroy(s);
}
END_TEST

START_TEST(battery_failing_while_off_loses_held_lines)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_GOOD, 1);
    fixture_write(s, 10, 30, BS, 1, false);
    ck_assert_uint_eq(sim_store_power_cut(s, NULL), 0);
    sim_store_set_battery(s, HBA_BATTERY_FAILED);
    ck_assert_int_eq(sim_store_battery(s), HBA_BATTERY_FAILED);
    ck_assert_int_eq(sim_store_power_on(s), 0);
    ck_assert_uint_eq(sim_store_dirty_bytes(s), 0);
    ck_assert(fixture_holds(s, 10, 30, BS, 0));
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.volatile_lost, 30);
    ck_assert_uint_eq(r.durable_lost, 0);
    sim_store_destroy(s);
}
END_TEST

/* Acknowledged but never flushed, then a cut: the drive never promised it,
 * so the oracle must not call it a durable loss (the F1 pattern is the
 * host's belief, not the drive's promise). */
START_TEST(unflushed_loss_is_not_durable_loss)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 500, 8, BS, 1, true);          /* promised v1 */
    fixture_write(s, 500, 8, BS, 2, false);         /* acked v2, not flushed */
    fixture_write(s, 900, 8, BS, 3, false);         /* acked, nothing older */
    cut(s, SIM_POWER_CUT_ALL, 0);
    ck_assert(fixture_holds(s, 500, 8, BS, 1));
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 16);
    /* A flush after power on does not promise what the cut already lost. */
    ck_assert_int_eq(sim_store_flush(s, 0, 0), 0);
    r = check(s);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 16);
    sim_store_destroy(s);
}
END_TEST

/* The host believed a flush happened (a lying flush path: write, no flush
 * reached the store, power cut): the test expected durability and the
 * oracle shows the data as volatile and lost. */
START_TEST(lying_flush_shows_volatile_lost)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 4096, 64, BS, 7, false);
    /* ...the driver completes SYNCHRONIZE CACHE with GOOD without a flush... */
    cut(s, SIM_POWER_CUT_ALL, 0);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.volatile_lost, 64);      /* what the host expected is gone */
    ck_assert_uint_eq(r.volatile_kept, 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert(!fixture_holds(s, 4096, 64, BS, 7));
    sim_store_destroy(s);
}
END_TEST

START_TEST(durable_lost_when_media_corrupted)
{
    char *path = fixture_media_path();
    struct sim_store *s = fixture_store(BLOCKS, BS, path, 0, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 300, 10, BS, 1, false);
    fixture_write(s, 50, 10, BS, 1, false);
    ck_assert_int_eq(sim_store_flush(s, 0, 0), 0);
    /* Something behind the store's back overwrites blocks 55 and 305. */
    struct sim_store *vandal = fixture_store(BLOCKS, BS, path, 0, HBA_BATTERY_ABSENT, 1);
    fixture_write(vandal, 305, 1, BS, 9, true);
    fixture_write(vandal, 55, 1, BS, 9, true);
    sim_store_destroy(vandal);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.blocks_checked, 20);
    ck_assert_uint_eq(r.durable_lost, 2);
    ck_assert_uint_eq(r.first_bad_lba, 55);
    /* Named, in LBA order, whatever order the oracle keeps them in. */
    ck_assert_uint_eq(r.n_ranges, 2);
    ck_assert_uint_eq(r.ranges_more, 0);
    ck_assert(r.range[0].durable && r.range[0].lba == 55 && r.range[0].count == 1);
    ck_assert(r.range[1].durable && r.range[1].lba == 305 && r.range[1].count == 1);
    sim_store_destroy(s);
    fixture_media_cleanup(path, BLOCKS, BS);
}
END_TEST

static void random_workload(struct sim_store *s)
{
    for (unsigned k = 0; k < 64; k++)
        fixture_write(s, (uint64_t)k * 3 * LINE + k % 5, 4, BS, k + 1, false);
}

START_TEST(random_cut_is_deterministic_and_partial)
{
    struct sim_store *a = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_ABSENT, 42);
    struct sim_store *b = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_ABSENT, 42);
    struct sim_store *c = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_ABSENT, 42);
    random_workload(a);
    random_workload(b);
    random_workload(c);
    uint64_t la = cut(a, SIM_POWER_CUT_RANDOM, 0);       /* the store's seed, 42 */
    uint64_t lb = cut(b, SIM_POWER_CUT_RANDOM, 42);
    uint64_t lc = cut(c, SIM_POWER_CUT_RANDOM, 43);
    ck_assert_uint_eq(la, lb);
    ck_assert_uint_gt(la, 0);
    ck_assert_uint_lt(la, 64);
    bool differs = false;
    for (unsigned k = 0; k < 64; k++) {
        uint64_t lba = (uint64_t)k * 3 * LINE + k % 5;
        bool ka = fixture_holds(a, lba, 4, BS, k + 1);
        ck_assert(ka == fixture_holds(b, lba, 4, BS, k + 1));
        ck_assert(ka || fixture_holds(a, lba, 4, BS, 0));   /* all or nothing per line */
        differs |= ka != fixture_holds(c, lba, 4, BS, k + 1);
    }
    ck_assert_msg(differs || la != lc, "another seed should pick another subset");
    struct sim_oracle_report r = check(a);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, la * 4);
    ck_assert_uint_eq(r.volatile_kept, (64 - la) * 4);
    /* The kept lines are on media: a flush now promises them. */
    ck_assert_int_eq(sim_store_flush(a, 0, 0), 0);
    cut(a, SIM_POWER_CUT_ALL, 0);
    r = check(a);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_kept, 0);            /* kept ones are durable now */
    ck_assert_uint_eq(r.volatile_lost, la * 4);
    ck_assert_uint_eq(r.blocks_checked, 256);
    sim_store_destroy(a);
    sim_store_destroy(b);
    sim_store_destroy(c);
}
END_TEST

START_TEST(torn_cut_is_noticed)
{
    /* One line, 8 dirty blocks over a promised older version: 4 reach media
     * whole, block 4 is torn, 5..7 keep the old data. */
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_ABSENT, 3);
    fixture_write(s, 32, 8, BS, 1, true);
    fixture_write(s, 32, 8, BS, 2, false);
    ck_assert_uint_eq(cut(s, SIM_POWER_CUT_TORN, 0), 1);
    ck_assert(fixture_holds(s, 32, 4, BS, 2));
    ck_assert(fixture_holds(s, 37, 3, BS, 1));
    unsigned char have[BS], v1[BS], v2[BS];
    ck_assert_int_eq(sim_store_read(s, 36, 1, have), 0);
    fixture_fill(v1, 36, 1, BS, 1);
    fixture_fill(v2, 36, 1, BS, 2);
    ck_assert_mem_eq(have, v2, BS / 2);
    ck_assert_mem_eq(have + BS / 2, v1 + BS / 2, BS / 2);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.volatile_kept, 4);
    ck_assert_uint_eq(r.volatile_lost, 3);
    ck_assert_uint_eq(r.durable_lost, 1);        /* the torn block destroyed v1 */
    ck_assert_uint_eq(r.first_bad_lba, 36);
    /* The durable loss named first, then the unflushed run 37..39. */
    ck_assert_uint_eq(r.n_ranges, 2);
    ck_assert(r.range[0].durable && r.range[0].lba == 36 && r.range[0].count == 1);
    ck_assert(!r.range[1].durable && r.range[1].lba == 37 && r.range[1].count == 3);
    sim_store_destroy(s);
}
END_TEST

START_TEST(torn_cut_without_older_version_is_volatile)
{
    struct sim_store *s = fixture_store(BLOCKS, 512, NULL, 0, HBA_BATTERY_ABSENT, 5);
    fixture_write(s, 0, 1, 512, 1, false);
    ck_assert_uint_eq(cut(s, SIM_POWER_CUT_TORN, 0), 1);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 1);
    ck_assert(!fixture_holds(s, 0, 1, 512, 1));
    ck_assert(!fixture_holds(s, 0, 1, 512, 0));
    sim_store_destroy(s);
}
END_TEST

START_TEST(good_battery_ignores_cut_mode)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 0, HBA_BATTERY_GOOD, 1);
    random_workload(s);
    ck_assert_uint_eq(cut(s, SIM_POWER_CUT_TORN, 0), 0);
    ck_assert_uint_eq(cut(s, SIM_POWER_CUT_RANDOM, 0), 0);
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.volatile_kept, 256);
    ck_assert_uint_eq(r.volatile_lost + r.durable_lost, 0);
    sim_store_destroy(s);
}
END_TEST

START_TEST(eviction_writes_back_but_promises_nothing)
{
    struct sim_store *s = fixture_store(BLOCKS, BS, NULL, 64 * 1024, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 0, LINE, BS, 1, true);          /* promised v1 */
    fixture_write(s, 0, LINE, BS, 2, false);         /* v2 dirty */
    fixture_write(s, 10 * LINE, LINE, BS, 3, false); /* pushes v2 out to media */
    ck_assert_uint_eq(sim_store_dirty_bytes(s), 64 * 1024);
    cut(s, SIM_POWER_CUT_ALL, 0);
    ck_assert(fixture_holds(s, 0, LINE, BS, 2));
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.volatile_kept, LINE);        /* v2 reached media by luck */
    ck_assert_uint_eq(r.volatile_lost, LINE);        /* the line still dirty at the cut */
    ck_assert_uint_eq(r.durable_lost, 0);
    sim_store_destroy(s);
}
END_TEST

START_TEST(huge_drive_near_the_end)
{
    /* 66e12 bytes; _i: 0 memory 4096, 1 memory 512, 2 file 4096 (segmented). */
    uint32_t bs = _i == 1 ? 512 : 4096;
    uint64_t blocks = UINT64_C(66000000000000) / bs;
    char *path = _i == 2 ? fixture_media_path() : NULL;
    struct sim_store *s = fixture_store(blocks, bs, path, 0, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, blocks - 40, 40, bs, 1, false);
    fixture_write(s, blocks / 2, 8, bs, 2, true);
    fixture_write(s, (UINT64_C(1) << 32) + 3, 5, bs, 3, false);   /* past 32-bit LBAs */
    ck_assert(fixture_holds(s, blocks - 40, 40, bs, 1));
    ck_assert_int_eq(sim_store_flush(s, blocks - 40, 0), 0);
    ck_assert_uint_eq(sim_store_dirty_bytes(s), 5u * bs);
    cut(s, SIM_POWER_CUT_ALL, 0);
    ck_assert(fixture_holds(s, blocks - 40, 40, bs, 1));
    ck_assert(fixture_holds(s, blocks / 2, 8, bs, 2));
    ck_assert(fixture_holds(s, (UINT64_C(1) << 32) + 3, 5, bs, 0));
    struct sim_oracle_report r = check(s);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 5);
    ck_assert_uint_eq(r.blocks_checked, 53);
    sim_store_destroy(s);
    if (path) {
        s = fixture_store(blocks, bs, path, 0, HBA_BATTERY_ABSENT, 1);   /* reopen */
        ck_assert(fixture_holds(s, blocks - 40, 40, bs, 1));
        sim_store_destroy(s);
        fixture_media_cleanup(path, blocks, bs);
    }
}
END_TEST

static Suite *store_power_suite(void)
{
    Suite *s = suite_create("store_power");
    TCase *tc = tcase_create("power");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, no_battery_keeps_flushed_loses_unflushed, 0, 2);
    tcase_add_test(tc, good_battery_holds_dirty_lines);
    tcase_add_test(tc, battery_failing_while_off_loses_held_lines);
    tcase_add_test(tc, unflushed_loss_is_not_durable_loss);
    tcase_add_test(tc, lying_flush_shows_volatile_lost);
    tcase_add_test(tc, durable_lost_when_media_corrupted);
    tcase_add_test(tc, random_cut_is_deterministic_and_partial);
    tcase_add_test(tc, torn_cut_is_noticed);
    tcase_add_test(tc, torn_cut_without_older_version_is_volatile);
    tcase_add_test(tc, good_battery_ignores_cut_mode);
    tcase_add_test(tc, eviction_writes_back_but_promises_nothing);
    tcase_add_loop_test(tc, huge_drive_near_the_end, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(store_power_suite());
}
