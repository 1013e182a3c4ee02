/* tests/test_store_io.c — sim/store block I/O: creation, reads, writes, the
 * dirty cache, durable writes, flush, eviction and file media persistence.
 * Loop tests run each case on {memory, file} x {512, 4096}-byte blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/store/store.h"
#include "tests/support/store_fixture.h"
#include "tests/support/testutil.h"

#define BLOCKS 100000u   /* 48.8 MiB or 390 MiB: sparse either way */

struct variant {
    struct sim_store *s;
    char *path;
    uint32_t bs;
};

static struct variant open_variant(int i, uint64_t cache_bytes, enum hba_battery battery)
{
    struct variant v = { .bs = (i & 1) ? 4096 : 512 };
    v.path = (i & 2) ? fixture_media_path() : NULL;
    v.s = fixture_store(BLOCKS, v.bs, v.path, cache_bytes, battery, 1);
    return v;
}

static void close_variant(struct variant *v)
{
    sim_store_destroy(v->s);
    if (v->path)
        fixture_media_cleanup(v->path, BLOCKS, v->bs);
}

/* The media's own bytes for a block, bypassing the cache: a second store on
 * the same file sees only what reached the file. */
static bool media_file_holds(const struct variant *v, uint64_t lba, uint32_t n, uint32_t tag)
{
    struct sim_store *peek = fixture_store(BLOCKS, v->bs, v->path, 0, HBA_BATTERY_ABSENT, 1);
    bool r = fixture_holds(peek, lba, n, v->bs, tag);
    sim_store_destroy(peek);
    return r;
}

static int create_rc(uint64_t blocks, uint32_t bs, const char *path, int battery, char *err, size_t len)
{
    struct sim_store_config cfg = { .blocks = blocks, .block_size = bs, .media_path = path,
                                    .battery = (enum hba_battery)battery };
    struct sim_store *s = (struct sim_store *)&cfg;  /* must be reset to NULL on failure */
    int rc = sim_store_create(&cfg, &s, err, len);
    if (rc == 0)
        sim_store_destroy(s);
    else
        ck_assert_ptr_null(s);
    return rc;
}

START_TEST(create_rejects_bad_parameters)
{
    char err[256];
    err[0] = 0;
    ck_assert_int_eq(create_rc(1000, 1024, NULL, 0, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "1024"));
    err[0] = 0;
    ck_assert_int_eq(create_rc(1000, 0, NULL, 0, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "512 or 4096"));
    err[0] = 0;
    ck_assert_int_eq(create_rc(0, 512, NULL, 0, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "blocks"));
    err[0] = 0;
    ck_assert_int_eq(create_rc(UINT64_MAX / 512 + 1, 512, NULL, 0, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "2^63"));
    ck_assert_int_eq(create_rc((UINT64_C(1) << 63) / 4096, 4096, NULL, 0, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(create_rc((UINT64_C(1) << 63) / 4096 - 1, 4096, NULL, 0, err, sizeof(err)), 0);
    err[0] = 0;
    ck_assert_int_eq(create_rc(1000, 512, NULL, 7, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "battery"));
    err[0] = 0;
    ck_assert_int_eq(create_rc(1000, 512, "/nonexistent-dir/x/media", 0, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x/media"));
    /* No error buffer at all is fine too. */
    ck_assert_int_eq(create_rc(0, 512, NULL, 0, NULL, 0), -EINVAL);
    struct sim_store *s = NULL;
    ck_assert_int_eq(sim_store_create(NULL, &s, err, sizeof(err)), -EINVAL);
    struct sim_store_config cfg = { .blocks = 1, .block_size = 512 };
    ck_assert_int_eq(sim_store_create(&cfg, NULL, err, sizeof(err)), -EINVAL);
    sim_store_destroy(NULL);
}
END_TEST

START_TEST(io_rejects_out_of_range)
{
    struct variant v = open_variant(_i, 0, HBA_BATTERY_ABSENT);
    unsigned char buf[8192];
    ck_assert_int_eq(sim_store_read(v.s, BLOCKS, 1, buf), -EINVAL);
    ck_assert_int_eq(sim_store_read(v.s, BLOCKS - 1, 2, buf), -EINVAL);
    ck_assert_int_eq(sim_store_read(v.s, 0, 0, buf), -EINVAL);
    ck_assert_int_eq(sim_store_read(v.s, 0, 1, NULL), -EINVAL);
    ck_assert_int_eq(sim_store_write(v.s, UINT64_MAX, 1, buf, false), -EINVAL);
    ck_assert_int_eq(sim_store_write(v.s, BLOCKS - 1, 2, buf, true), -EINVAL);
    ck_assert_int_eq(sim_store_flush(v.s, BLOCKS, 0), -EINVAL);
    ck_assert_int_eq(sim_store_flush(v.s, 5, BLOCKS), -EINVAL);
    ck_assert_int_eq(sim_store_read(v.s, BLOCKS - 1, 1, buf), 0);
    ck_assert_int_eq(sim_store_flush(v.s, BLOCKS - 1, 0), 0);
    close_variant(&v);
}
END_TEST

START_TEST(unwritten_reads_zeros)
{
    struct variant v = open_variant(_i, 0, HBA_BATTERY_ABSENT);
    ck_assert(fixture_holds(v.s, 0, 64, v.bs, 0));
    ck_assert(fixture_holds(v.s, BLOCKS - 7, 7, v.bs, 0));
    fixture_write(v.s, 1000, 3, v.bs, 5, false);
    ck_assert(fixture_holds(v.s, 997, 3, v.bs, 0));    /* neighbours of a dirty run */
    ck_assert(fixture_holds(v.s, 1003, 200, v.bs, 0));
    close_variant(&v);
}
END_TEST

START_TEST(round_trip_across_lines)
{
    struct variant v = open_variant(_i, 0, HBA_BATTERY_ABSENT);
    uint32_t line = 65536 / v.bs;
    /* Starts mid-line, spans three line boundaries, ends mid-line. */
    uint64_t lba = 5 * line - 3;
    uint32_t n = 3 * line + 7;
    fixture_write(v.s, lba, n, v.bs, 1, false);
    ck_assert(fixture_holds(v.s, lba, n, v.bs, 1));
    /* A partial overwrite inside one line keeps the rest of the line exact. */
    fixture_write(v.s, lba + line + 2, 3, v.bs, 2, false);
    ck_assert(fixture_holds(v.s, lba, line + 2, v.bs, 1));
    ck_assert(fixture_holds(v.s, lba + line + 2, 3, v.bs, 2));
    ck_assert(fixture_holds(v.s, lba + line + 5, n - line - 5, v.bs, 1));
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), (uint64_t)n * v.bs);
    /* Same after everything reached media. */
    ck_assert_int_eq(sim_store_flush(v.s, 0, 0), 0);
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), 0);
    ck_assert(fixture_holds(v.s, lba, line + 2, v.bs, 1));
    ck_assert(fixture_holds(v.s, lba + line + 2, 3, v.bs, 2));
    ck_assert(fixture_holds(v.s, lba + line + 5, n - line - 5, v.bs, 1));
    close_variant(&v);
}
END_TEST

START_TEST(cache_hit_over_media)
{
    struct variant v = open_variant(_i | 2, 0, HBA_BATTERY_ABSENT);   /* file media */
    fixture_write(v.s, 40, 8, v.bs, 1, true);       /* on media */
    fixture_write(v.s, 42, 4, v.bs, 2, false);      /* dirty over it */
    ck_assert(fixture_holds(v.s, 40, 2, v.bs, 1));
    ck_assert(fixture_holds(v.s, 42, 4, v.bs, 2));
    ck_assert(fixture_holds(v.s, 46, 2, v.bs, 1));
    ck_assert(media_file_holds(&v, 42, 4, 1));      /* the file still has the old data */
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), 4u * v.bs);
    close_variant(&v);
}
END_TEST

START_TEST(flush_range_writes_back_only_the_range)
{
    struct variant v = open_variant(_i | 2, 0, HBA_BATTERY_ABSENT);
    uint32_t line = 65536 / v.bs;
    fixture_write(v.s, 0, 2 * line, v.bs, 1, false);
    fixture_write(v.s, 10 * line, 4, v.bs, 2, false);
    struct sim_store_stats st0, st1;
    sim_store_stats(v.s, &st0);
    /* A range that ends mid-line: the rest of that line stays dirty. */
    ck_assert_int_eq(sim_store_flush(v.s, 0, line + 5), 0);
    sim_store_stats(v.s, &st1);
    ck_assert_uint_eq(st1.media_syncs, st0.media_syncs + 1);
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), (uint64_t)(line - 5 + 4) * v.bs);
    ck_assert(media_file_holds(&v, 0, line + 5, 1));
    ck_assert(media_file_holds(&v, line + 5, line - 5, 0));
    ck_assert(media_file_holds(&v, 10 * line, 4, 0));
    ck_assert(fixture_holds(v.s, 0, 2 * line, v.bs, 1));
    ck_assert(fixture_holds(v.s, 10 * line, 4, v.bs, 2));
    /* Flushing a range with nothing dirty still syncs and succeeds. */
    ck_assert_int_eq(sim_store_flush(v.s, 50 * line, 10), 0);
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), (uint64_t)(line - 5 + 4) * v.bs);
    close_variant(&v);
}
END_TEST

START_TEST(durable_write_replaces_dirty_copy)
{
    struct variant v = open_variant(_i, 0, HBA_BATTERY_ABSENT);
    fixture_write(v.s, 100, 16, v.bs, 1, false);
    fixture_write(v.s, 104, 4, v.bs, 2, true);
    ck_assert(fixture_holds(v.s, 100, 4, v.bs, 1));
    ck_assert(fixture_holds(v.s, 104, 4, v.bs, 2));
    ck_assert(fixture_holds(v.s, 108, 8, v.bs, 1));
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), 12u * v.bs);
    /* The durable blocks are on media: a power cut keeps exactly them. */
    sim_store_power_cut(v.s, NULL);
    ck_assert_int_eq(sim_store_power_on(v.s), 0);
    ck_assert(fixture_holds(v.s, 100, 4, v.bs, 0));
    ck_assert(fixture_holds(v.s, 104, 4, v.bs, 2));
    ck_assert(fixture_holds(v.s, 108, 8, v.bs, 0));
    /* A durable write covering a whole dirty line removes the line. */
    fixture_write(v.s, 0, 65536 / v.bs, v.bs, 3, false);
    fixture_write(v.s, 0, 65536 / v.bs, v.bs, 4, true);
    ck_assert_uint_eq(sim_store_dirty_bytes(v.s), 0);
    struct sim_store_stats st;
    sim_store_stats(v.s, &st);
    ck_assert_uint_eq(st.dirty_lines, 0);
    ck_assert(fixture_holds(v.s, 0, 65536 / v.bs, v.bs, 4));
    close_variant(&v);
}
END_TEST

START_TEST(eviction_keeps_data_correct)
{
    struct variant v = open_variant(_i, 256 * 1024, HBA_BATTERY_ABSENT);
    /* 96 writes of 16 KiB at scattered, partly overlapping places: 1.5 MiB. */
    uint32_t n = 16384 / v.bs;
    uint64_t lbas[96];
    for (unsigned k = 0; k < 96; k++) {
        lbas[k] = (uint64_t)(k * 7919u % 1500u) * n / 2;
        fixture_write(v.s, lbas[k], n, v.bs, k + 1, false);
        ck_assert_uint_le(sim_store_dirty_bytes(v.s), 256 * 1024);
    }
    struct sim_store_stats st;
    sim_store_stats(v.s, &st);
    ck_assert_uint_gt(st.lines_written_back, 0);
    /* The newest write of each block wins: check the last writer's blocks
     * that no later write overlapped. */
    for (unsigned k = 0; k < 96; k++) {
        bool overlapped = false;
        for (unsigned j = k + 1; j < 96; j++)
            overlapped |= lbas[j] < lbas[k] + n && lbas[k] < lbas[j] + n;
        if (!overlapped)
            ck_assert_msg(fixture_holds(v.s, lbas[k], n, v.bs, k + 1), "write %u", k);
    }
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_store_check(v.s, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    ck_assert_uint_eq(r.volatile_kept, r.blocks_checked);
    close_variant(&v);
}
END_TEST

START_TEST(file_media_persists_across_reopen)
{
    char *path = fixture_media_path();
    uint32_t bs = (_i & 1) ? 4096 : 512;
    struct sim_store *s = fixture_store(BLOCKS, bs, path, 0, HBA_BATTERY_ABSENT, 1);
    fixture_write(s, 77, 50, bs, 1, false);
    fixture_write(s, 5000, 3, bs, 2, true);
    fixture_write(s, 9000, 3, bs, 3, false);     /* never flushed: lost with the store */
    ck_assert_int_eq(sim_store_flush(s, 0, 1000), 0);
    sim_store_destroy(s);
    s = fixture_store(BLOCKS, bs, path, 0, HBA_BATTERY_ABSENT, 1);
    ck_assert(fixture_holds(s, 77, 50, bs, 1));
    ck_assert(fixture_holds(s, 5000, 3, bs, 2));
    ck_assert(fixture_holds(s, 9000, 3, bs, 0));
    sim_store_destroy(s);
    fixture_media_cleanup(path, BLOCKS, bs);
}
END_TEST

START_TEST(default_cache_size_applies)
{
    struct sim_store *s = fixture_store(BLOCKS * 8, 4096, NULL, 0, HBA_BATTERY_ABSENT, 1);
    /* 20 MiB of dirty data: the default 16 MiB cache must have evicted. */
    for (uint64_t lba = 0; lba < 5120; lba += 256)
        fixture_write(s, lba, 256, 4096, 1, false);
    ck_assert_uint_le(sim_store_dirty_bytes(s), SIM_STORE_DEFAULT_CACHE_BYTES);
    ck_assert_uint_gt(sim_store_dirty_bytes(s), SIM_STORE_DEFAULT_CACHE_BYTES - (1u << 20));
    sim_store_destroy(s);
}
END_TEST

START_TEST(scattered_small_writes_keep_cache_memory_bounded)
{
    /* 512-byte writes, one per line: each takes a 4 KiB page. */
    const uint64_t cap = 256 * 1024;
    struct sim_store *s = fixture_store(UINT64_C(10000000), 512, NULL, cap, HBA_BATTERY_ABSENT, 1);
    for (uint64_t k = 0; k < 4000; k++) {
        fixture_write(s, k * 2048 + k % 128, 1, 512, (uint32_t)k + 1, false);
        struct sim_store_stats st;
        sim_store_stats(s, &st);
        ck_assert_uint_le(st.cache_data_bytes, 2 * cap + 65536);
        ck_assert_uint_le(st.dirty_bytes, cap);
    }
    for (uint64_t k = 0; k < 4000; k += 37)
        ck_assert(fixture_holds(s, k * 2048 + k % 128, 1, 512, (uint32_t)k + 1));
    sim_store_destroy(s);
}
END_TEST

START_TEST(memory_media_allocates_only_where_written)
{
    struct sim_store *s = fixture_store(UINT64_C(1) << 40, 4096, NULL, 0, HBA_BATTERY_ABSENT, 1);
    struct sim_store_stats st0, st1, st2;
    sim_store_stats(s, &st0);
    fixture_write(s, UINT64_C(1) << 39, 64, 4096, 0, true);     /* zeros into a hole */
    sim_store_stats(s, &st1);
    ck_assert_uint_eq(st1.media_mem_bytes, st0.media_mem_bytes);
    fixture_write(s, UINT64_C(1) << 39, 1, 4096, 1, true);      /* one block: one 64 KiB chunk */
    sim_store_stats(s, &st2);
    ck_assert_uint_ge(st2.media_mem_bytes, st0.media_mem_bytes + 65536);
    ck_assert_uint_lt(st2.media_mem_bytes, st0.media_mem_bytes + 65536 + (1u << 20));
    ck_assert(fixture_holds(s, UINT64_C(1) << 39, 1, 4096, 1));
    ck_assert(fixture_holds(s, (UINT64_C(1) << 39) + 1, 63, 4096, 0));
    sim_store_destroy(s);
}
END_TEST

static bool exists(const char *path, const char *suffix)
{
    char p[512];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return access(p, F_OK) == 0;
}

START_TEST(large_file_media_uses_segments_made_on_demand)
{
    char *path = fixture_media_path();
    const uint64_t blocks = (UINT64_C(20) << 40) / 4096;       /* 20 TiB: three 8 TiB files */
    struct sim_store *s = fixture_store(blocks, 4096, path, 0, HBA_BATTERY_ABSENT, 1);
    ck_assert(exists(path, ""));
    ck_assert(!exists(path, ".1") && !exists(path, ".2"));
    const uint64_t seg = (UINT64_C(8) << 40) / 4096;
    fixture_write(s, 2 * seg - 2, 4, 4096, 1, true);           /* straddles files 1 and 2 */
    ck_assert(exists(path, ".1") && exists(path, ".2"));
    ck_assert(fixture_holds(s, 2 * seg - 2, 4, 4096, 1));
    ck_assert(fixture_holds(s, blocks - 1, 1, 4096, 0));
    sim_store_destroy(s);
    ck_assert_int_eq(sim_store_remove_media(path, blocks, 4096), 0);
    ck_assert(!exists(path, "") && !exists(path, ".1") && !exists(path, ".2"));
    fixture_media_cleanup(path, blocks, 4096);
}
END_TEST

static Suite *store_io_suite(void)
{
    Suite *s = suite_create("store_io");
    TCase *tc = tcase_create("io");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, create_rejects_bad_parameters);
    tcase_add_loop_test(tc, io_rejects_out_of_range, 0, 4);
    tcase_add_loop_test(tc, unwritten_reads_zeros, 0, 4);
    tcase_add_loop_test(tc, round_trip_across_lines, 0, 4);
    tcase_add_loop_test(tc, cache_hit_over_media, 0, 2);
    tcase_add_loop_test(tc, flush_range_writes_back_only_the_range, 0, 2);
    tcase_add_loop_test(tc, durable_write_replaces_dirty_copy, 0, 4);
    tcase_add_loop_test(tc, eviction_keeps_data_correct, 0, 4);
    tcase_add_loop_test(tc, file_media_persists_across_reopen, 0, 2);
    tcase_add_test(tc, default_cache_size_applies);
    tcase_add_test(tc, scattered_small_writes_keep_cache_memory_bounded);
    tcase_add_test(tc, memory_media_allocates_only_where_written);
    tcase_add_test(tc, large_file_media_uses_segments_made_on_demand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(store_io_suite());
}
