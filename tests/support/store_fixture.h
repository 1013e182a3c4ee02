/* tests/support/store_fixture.h — helpers for the sim/store tests: stores on memory or
 * a temporary media file, and per-block patterns that name their LBA and a tag. */
#ifndef TESTS_SUPPORT_STORE_FIXTURE_H
#define TESTS_SUPPORT_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/store/store.h"

/* A fresh temporary directory's media path ("<dir>/media"); free with
 * fixture_media_cleanup, which also deletes every media file and the dir. */
char *fixture_media_path(void);
void  fixture_media_cleanup(char *path, uint64_t blocks, uint32_t block_size);

/* Creates a store, failing the test (with the error text) if it cannot. */
struct sim_store *fixture_store(uint64_t blocks, uint32_t block_size, const char *path,
                                uint64_t cache_bytes, enum hba_battery battery, uint64_t seed);

/* Fills n blocks with a pattern unique to (lba, tag); tag 0 = zeros. */
void fixture_fill(void *buf, uint64_t lba, uint32_t n, uint32_t block_size, uint32_t tag);
/* Writes the (lba, tag) pattern; asserts success. */
void fixture_write(struct sim_store *s, uint64_t lba, uint32_t n, uint32_t block_size,
                   uint32_t tag, bool durable);
/* True when the n blocks at lba hold the (lba, tag) pattern. */
bool fixture_holds(struct sim_store *s, uint64_t lba, uint32_t n, uint32_t block_size, uint32_t tag);

#endif
