/* tests/support/drv_fixture.h — the driver core on a real (in-process) controller for
 * the driver tests: controller, bus, osal_user and drv_core assembled with the
 * core options a test chooses (short timeouts for recovery tests), plus
 * helpers to run SCSI commands through the core and to watch its events. */
#ifndef TESTS_SUPPORT_DRV_FIXTURE_H
#define TESTS_SUPPORT_DRV_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "platform/osal_user.h"
#include "platform/bus.h"
#include "sim/config/config.h"
#include "sim/sim.h"

#define DRVFX_MAX_EVENTS 64

struct drvfx {
    struct sim_config cfg;
    struct sim_ctrl *ctrl;
    struct bus *bus;
    struct osal *os;
    struct drv_core *core;
    struct drv_core_options opt;
    uint32_t task_timeout_ms;   /* drvfx_exec's tasks: 0 = the core's default */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* signalled on every event (CLOCK_MONOTONIC) */
    struct drv_event events[DRVFX_MAX_EVENTS];
    unsigned nevents;
};

/* A configuration of `targets` x `luns` drives of 64 MiB (512-byte blocks)
 * on a controller with the default capabilities. */
void drvfx_config(struct sim_config *cfg, unsigned targets, unsigned luns);
/* Core options with short recovery timeouts (tests wait for them). */
void drvfx_fast_options(struct drv_core_options *o);

/* Builds everything and starts the core; fails the test when it cannot.
 * cfg is copied; opt and oo may be NULL for defaults. */
void drvfx_open(struct drvfx *f, const struct sim_config *cfg, const struct drv_core_options *opt,
                const struct osal_user_options *oo);
/* The same without starting the core. */
void drvfx_build(struct drvfx *f, const struct sim_config *cfg, const struct drv_core_options *opt,
                const struct osal_user_options *oo);
void drvfx_close(struct drvfx *f);

/* One command through the core, its data via a DMA buffer of the osal (write:
 * len bytes of buf copied in; read: the bytes transferred copied out).
 * Asserts the task was accepted. */
void drvfx_exec(struct drvfx *f, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len, enum drv_dir dir,
                void *buf, uint64_t len, struct drv_completion *out);
/* The same, repeated while the answer is UNIT ATTENTION (at most 8 times). */
void drvfx_exec_past_ua(struct drvfx *f, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
                        enum drv_dir dir, void *buf, uint64_t len, struct drv_completion *out);
/* Asserts GOOD. */
void drvfx_expect_good(const struct drv_completion *c, const char *what);
/* Sense key / ASC / ASCQ of a CHECK CONDITION completion (asserts it is one). */
void drvfx_sense(const struct drv_completion *c, uint8_t *key, uint8_t *asc, uint8_t *ascq);

/* Events received so far of a kind. */
unsigned drvfx_events(struct drvfx *f, enum drv_event_kind kind, struct drv_event *last);
/* Waits until n events of that kind have arrived, woken by each event (no
 * polling), for at most TESTUTIL_PATIENCE_MS (tests/support/testutil.h);
 * true when they did.  drvfx_wait_event: the first one. */
bool drvfx_wait_events(struct drvfx *f, enum drv_event_kind kind, unsigned n);
bool drvfx_wait_event(struct drvfx *f, enum drv_event_kind kind);

/* CDB builders. */
void drvfx_rw10(uint8_t *cdb, bool write, uint32_t lba, uint16_t blocks);
void drvfx_rw16(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks);
/* Fills a buffer with a pattern naming (lba, tag) in every 512-byte block. */
void drvfx_pattern(uint8_t *buf, uint64_t lba, uint32_t blocks, uint32_t tag);

#endif
