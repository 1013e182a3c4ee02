/* tests/support/stack_fixture.h — the assembled stack (stack/stack.h) for
 * tests, in either process mode: opening it in a flavour, running commands
 * through it, and the CDBs and data patterns the tests send.
 *
 * Two sets of flavours share one open path:
 *  - sf_*: in one process, with the OS layer varied (interrupts, polling,
 *    IOVAs above 4 GiB, scattered mappings);
 *  - s2_*: the process modes, for tests that must behave the same in one
 *    process and in two (a spawned `scsisim controller`), each with
 *    interrupts or polling (tests/test_stack_twoproc_*.c). */
#ifndef TESTS_SUPPORT_STACK_FIXTURE_H
#define TESTS_SUPPORT_STACK_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/config/config.h"
#include "stack/stack.h"
#include "tests/support/proc.h"

/* ---- in one process, the OS layer varied ------------------------------- */

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

/* ---- one process or two ------------------------------------------------- */

enum s2_flavour {
    S2_IN_IRQ   = 0, /* in one process, interrupts */
    S2_IN_POLL  = 1, /* in one process, polled */
    S2_TWO_IRQ  = 2, /* controller process, interrupts */
    S2_TWO_POLL = 3, /* controller process, polled */
    S2_FLAVOURS = 4,
};
const char *s2_name(int flavour);
bool s2_two(int flavour);
bool s2_polled(int flavour);

#define S2_BLOCKS 8192u
#define S2_BLOCK  512u

/* 32 MiB host RAM, 1 ms init, drive 0:0 of S2_BLOCKS 512-byte blocks on
 * sparse memory (media NULL) or the file media. */
void s2_config(struct sim_config *cfg, const char *media); /* media: DIR/NAME, DIR the media directory */
/* Options of a flavour; two-process flavours spawn the controller. */
void s2_options(struct stack_options *o, int flavour);
/* Opens a stack (cfg NULL: s2_config without media; o NULL: s2_options)
 * and clears the power-on unit attention of 0:0.  Check assertions on
 * failure. */
struct stack *s2_open(int flavour, const struct sim_config *cfg, const struct stack_options *o);

/* ---- commands ----------------------------------------------------------- */

/* Runs a command; asserts it completed (service response TASK COMPLETE). */
void sf_exec(struct stack *st, const uint8_t *cdb, uint8_t cdb_len, enum drv_dir dir, void *buf, uint64_t len,
             struct drv_completion *c);
/* TEST UNIT READY until GOOD (unit attentions are consumed); false if never. */
bool sf_clear_ua(struct stack *st, uint16_t target, uint16_t lun);
/* Sense key/ASC/ASCQ of a completion as (key << 16 | asc << 8 | ascq), 0 if none. */
uint32_t sf_sense(const struct drv_completion *c);

void sf_cdb_rw10(uint8_t cdb[10], bool write, uint32_t lba, uint16_t blocks);
void sf_fill(uint8_t *p, size_t n, unsigned seed);
/* WRITE (10) of `blocks` S2_BLOCK-byte blocks of sf_fill(seed) data at lba;
 * returns the completion (task complete asserted, SCSI status not). */
struct drv_completion sf_write10_seeded(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed);
/* READ (10) of the same; asserts GOOD and says whether the data is
 * sf_fill(seed)'s. */
bool sf_read10_matches(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed);

#endif
