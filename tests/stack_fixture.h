/* tests/stack_fixture.h — opening an in-process stack for tests in one of a
 * few flavours (interrupts, polling, IOVAs above 4 GiB, scattered pieces),
 * running commands through it, and the CDBs the tests send. */
#ifndef TESTS_STACK_FIXTURE_H
#define TESTS_STACK_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/stack.h"
#include "sim/config/config.h"

enum sf_flavour {
    SF_INTERRUPTS = 0,
    SF_POLLED     = 1,
    SF_HIGH_IOVA  = 2, /* interrupts; IOVAs above 4 GiB, data mapped page by page */
    SF_SCATTERED  = 3, /* interrupts; everything mapped page by page from bring-up on */
    SF_FLAVOURS   = 4,
};
const char *sf_flavour_name(enum sf_flavour f);

#define SF_BLOCKS 8192u
#define SF_BLOCK  512u

/* Test defaults: 64 MiB host RAM, 1 ms init, drive 0:0 of SF_BLOCKS blocks. */
void sf_config(struct sim_config *cfg);
/* Opens a stack of the flavour on cfg (NULL: sf_config) and clears the
 * power-on unit attention of 0:0.  Check assertions on failure. */
struct stack *sf_open(enum sf_flavour f, const struct sim_config *cfg);

/* Runs a command; asserts it completed (service response TASK COMPLETE). */
void sf_exec(struct stack *st, const uint8_t *cdb, uint8_t cdb_len, enum drv_dir dir, void *buf, uint64_t len,
             struct drv_completion *c);
/* TEST UNIT READY until GOOD (unit attentions are consumed); false if never. */
bool sf_clear_ua(struct stack *st, uint16_t target, uint16_t lun);
/* Sense key/ASC/ASCQ of a completion as (key << 16 | asc << 8 | ascq), 0 if none. */
uint32_t sf_sense(const struct drv_completion *c);

void sf_cdb_rw10(uint8_t cdb[10], bool write, uint32_t lba, uint16_t blocks);
void sf_fill(uint8_t *p, size_t n, unsigned seed);

#endif
