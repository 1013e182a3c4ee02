/* tests/stack2_fixture.h — the stack in both modes for the tests that must
 * behave the same in one process and in two (tests/test_stack2_*.c): the
 * flavours (mode x interrupts/polling), a spawned `scsisim controller` for
 * two-process mode, temporary media directories, file descriptor counts, and
 * the loop sizes that shrink under valgrind. */
#ifndef TESTS_STACK2_FIXTURE_H
#define TESTS_STACK2_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/stack.h"
#include "sim/config/config.h"

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
void s2_config(struct sim_config *cfg, const char *media);
/* Options of a flavour; two-process flavours spawn the controller. */
void s2_options(struct stack_options *o, int flavour);
/* Opens a stack (cfg NULL: s2_config without media; o NULL: s2_options)
 * and clears the power-on unit attention of 0:0.  Check assertions on
 * failure. */
struct stack *s2_open(int flavour, const struct sim_config *cfg, const struct stack_options *o);

/* A fresh temporary directory (for media files) and its removal with
 * everything in it. */
void s2_tmpdir(char *dir, size_t len);
void s2_rmdir(const char *dir);

/* Open file descriptors of this process. */
int  s2_count_fds(void);
/* True when the Makefile runs the tests under valgrind (SCSISIM_VALGRIND). */
bool s2_valgrind(void);
/* n normally, small under valgrind. */
unsigned s2_scale(unsigned n, unsigned small);

#endif
