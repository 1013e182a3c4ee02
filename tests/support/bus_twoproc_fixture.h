/* tests/support/bus_twoproc_fixture.h — controller processes for the two-process bus tests:
 * `scsisim controller` started in a fresh temporary directory (its socket and
 * media files live there), killed with SIGKILL, stopped with SIGTERM,
 * restarted with the same arguments; and the raw harness (tests/support/hba_harness.h)
 * attached to it over a remote bus (tests/test_bus_twoproc_*.c). */
#ifndef TESTS_SUPPORT_BUS_TWOPROC_FIXTURE_H
#define TESTS_SUPPORT_BUS_TWOPROC_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform/bus_client.h"
#include "tests/support/hba_harness.h"
#include "tests/support/proc.h"

#define B2_RAM_BYTES (32u << 20)
#define B2_MAX_ARGS  16

struct b2_proc {
    pid_t pid;                 /* 0 when not running */
    char dir[64];              /* the temporary directory */
    char sock[108];            /* dir/ctrl.sock */
    char media[128];           /* dir/ld0.img, for tests that want one */
    char *args[B2_MAX_ARGS];   /* extra arguments of the last start (owned) */
};

/* Makes the temporary directory and the paths. */
void b2_init(struct b2_proc *p);
/* Starts `scsisim controller --socket SOCK ARGS...` (args NULL-terminated,
 * copied) and waits for its "listening" line.  The controller dies with the
 * test process (PR_SET_PDEATHSIG). */
void b2_start(struct b2_proc *p, const char *const *args);
/* Starts again with the arguments of the last b2_start. */
void b2_restart(struct b2_proc *p);
/* SIGKILL and reap. */
void b2_kill(struct b2_proc *p);
/* SIGTERM and reap: the exit status (asserts a normal exit). */
int  b2_stop(struct b2_proc *p);
/* Stops a running controller (SIGKILL), removes the directory and its files. */
void b2_fini(struct b2_proc *p);
/* Runs `scsisim ARGS...` (NULL-terminated) to completion, its output
 * dropped; returns the exit status (asserts a normal exit). */
int  b2_run(const char *const *args);

/* The harness on a remote bus to p's controller (B2_RAM_BYTES of host RAM);
 * h->ctrl stays NULL, hh_close disconnects. */
void b2_attach(struct hh *h, const struct b2_proc *p);
/* Waits for READY, enables with a 32-entry admin queue, creates I/O pair 1
 * (64 entries, vector 1), then consumes the power-on unit attention of drive
 * 0:0 with TEST UNIT READY. */
void b2_bringup(struct hh *h);
/* TEST UNIT READY until GOOD (at most a few unit attentions); the last status. */
int  b2_tur(struct hh *h, uint16_t target, uint16_t lun);
/* READ(10) / WRITE(10) of n 512-byte blocks through buffer buf (mapped both
 * ways); waits; returns ctrl_status << 8 | scsi_status. */
int  b2_rw(struct hh *h, bool write, uint32_t lba, uint16_t n, const struct hh_buf *buf);
/* SYNCHRONIZE CACHE(10) of the whole drive; same return. */
int  b2_sync(struct hh *h);

/* Waits (up to HH_TIMEOUT_MS) until the bus is dead. */
bool b2_wait_dead(struct bus *b);

#endif
