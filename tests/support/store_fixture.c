/* tests/support/store_fixture.c — see store_fixture.h. */
#include "tests/support/store_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/proc.h"

char *fixture_media_path(void)
{
    char dir[4096], *path = NULL;
    proc_tmpdir(dir, sizeof(dir), "store");
    ck_assert_int_ge(asprintf(&path, "%s/media", dir), 0);
    return path;
}

void fixture_media_cleanup(char *path, uint64_t blocks, uint32_t block_size)
{
    ck_assert_int_eq(sim_store_remove_media(path, blocks, block_size), 0);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rmdir(path);
    free(path);
}

struct sim_store *fixture_store(uint64_t blocks, uint32_t block_size, const char *path,
                                uint64_t cache_bytes, enum hba_battery battery, uint64_t seed)
{
    struct sim_store_config cfg = {
        .blocks = blocks, .block_size = block_size, .media_path = path,
        .cache_bytes = cache_bytes, .battery = battery, .seed = seed,
    };
    struct sim_store *s = NULL;
    char err[256] = "";
    int rc = sim_store_create(&cfg, &s, err, sizeof(err));
    ck_assert_msg(rc == 0, "sim_store_create: %d %s", rc, err);
    ck_assert_ptr_nonnull(s);
    return s;
}

void fixture_fill(void *buf, uint64_t lba, uint32_t n, uint32_t block_size, uint32_t tag)
{
    unsigned char *p = buf;
    for (uint32_t b = 0; b < n; b++, p += block_size) {
        if (tag == 0) {
            memset(p, 0, block_size);
            continue;
        }
        uint64_t x = (lba + b) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)tag << 40) ^ tag;
        for (uint32_t i = 0; i < block_size; i += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(p + i, &x, 8);
        }
    }
}

void fixture_write(struct sim_store *s, uint64_t lba, uint32_t n, uint32_t block_size,
                   uint32_t tag, bool durable)
{
    void *buf = malloc((size_t)n * block_size);
    ck_assert_ptr_nonnull(buf);
    fixture_fill(buf, lba, n, block_size, tag);
    int rc = sim_store_write(s, lba, n, buf, durable);
    free(buf);
    ck_assert_int_eq(rc, 0);
}

bool fixture_holds(struct sim_store *s, uint64_t lba, uint32_t n, uint32_t block_size, uint32_t tag)
{
    size_t len = (size_t)n * block_size;
    unsigned char *want = malloc(len), *have = malloc(len);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(have);
    fixture_fill(want, lba, n, block_size, tag);
    int rc = sim_store_read(s, lba, n, have);
    bool same = rc == 0 && memcmp(want, have, len) == 0;
    free(want);
    free(have);
    return same;
}
