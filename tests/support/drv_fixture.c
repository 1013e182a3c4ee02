/* tests/support/drv_fixture.c — the driver core on an in-process controller (see
 * drv_fixture.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/drv_fixture.h"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"

void drvfx_config(struct sim_config *cfg, unsigned targets, unsigned luns)
{
    sim_config_init(cfg);
    sim_config_clear_lus(cfg);
    for (unsigned t = 0; t < targets; t++)
        for (unsigned l = 0; l < luns; l++) {
            struct sim_lu_config *lu = sim_config_lu(cfg, (uint16_t)t, (uint16_t)l);
            ck_assert_ptr_nonnull(lu);
            lu->blocks = 64u * 1024 * 1024 / 512;
            lu->cache_bytes = 4u * 1024 * 1024;
        }
    cfg->host_ram_bytes = 64u * 1024 * 1024;
}

void drvfx_fast_options(struct drv_core_options *o)
{
    memset(o, 0, sizeof *o);
    /* Short enough that a test of a dropped or hung command ends in about a
     * second, long enough that a command, an ABORT or a reset that works is
     * never late on a loaded 2-core machine: a healthy controller that misses
     * one of these would add an abort or a reset the tests count exactly. */
    o->default_timeout_ms = 1000;
    o->abort_grace_ms = 500;
    o->admin_timeout_ms = 1000;
    o->ready_timeout_ms = 1000;
    o->watchdog_ms = 10;
    o->heartbeat_stall_ms = 1000; /* generous: a loaded machine must not look like a hang */
}

static void on_event(void *arg, const struct drv_event *e)
{
    struct drvfx *f = arg;
    pthread_mutex_lock(&f->mu);
    if (f->nevents < DRVFX_MAX_EVENTS)
        f->events[f->nevents++] = *e;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void drvfx_build(struct drvfx *f, const struct sim_config *cfg, const struct drv_core_options *opt,
                 const struct osal_user_options *oo)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    ck_assert_int_eq(sim_config_copy(&f->cfg, cfg), 0);
    char why[256] = "";
    int rc = sim_ctrl_create(&f->cfg, &f->ctrl, why, sizeof why);
    ck_assert_msg(rc == 0, "sim_ctrl_create: %s", why);
    ck_assert_int_eq(sim_ctrl_power_on(f->ctrl), 0);
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(f->ctrl), NULL, &f->bus), 0);
    struct osal_user_options o;
    if (oo) {
        o = *oo;
    } else {
        osal_user_options_init(&o);
        o.log_level = OSAL_LOG_ERROR;
    }
    ck_assert_int_eq(osal_user_create(f->bus, &o, &f->os), 0);
    if (opt)
        f->opt = *opt;
    f->opt.on_event = on_event;
    f->opt.event_arg = f;
    ck_assert_int_eq(drv_core_create(f->os, &f->opt, &f->core), 0);
}

void drvfx_open(struct drvfx *f, const struct sim_config *cfg, const struct drv_core_options *opt,
                const struct osal_user_options *oo)
{
    drvfx_build(f, cfg, opt, oo);
    int rc = drv_core_start(f->core);
    ck_assert_msg(rc == 0, "drv_core_start: %d", rc);
}

void drvfx_close(struct drvfx *f)
{
    drv_core_destroy(f->core);
    osal_user_destroy(f->os);
    bus_detach(f->bus);
    sim_ctrl_destroy(f->ctrl);
    sim_config_free(&f->cfg);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}

void drvfx_exec(struct drvfx *f, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len, enum drv_dir dir,
                void *buf, uint64_t len, struct drv_completion *out)
{
    struct osal_dma_buffer *dma = NULL;
    if (len) {
        ck_assert_int_eq(osal_dma_alloc(f->os, len, 4096, &dma), 0);
        if (dir == DRV_DIR_FROM_INITIATOR)
            memcpy(dma->vaddr, buf, len);
    }
    struct drv_buffer_piece piece = { .buf = dma, .offset = 0, .length = len };
    struct drv_task t;
    memset(&t, 0, sizeof t);
    static uint64_t next_id = 1;
    t.task_id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    t.target = target;
    t.lun = lun;
    memcpy(t.cdb, cdb, cdb_len);
    t.cdb_len = cdb_len;
    t.dir = dir;
    t.requested_transfer = len;
    t.pieces = len ? &piece : NULL;
    t.piece_count = len ? 1 : 0;
    t.timeout_ms = f->task_timeout_ms;
    int rc = drv_core_run_task(f->core, &t, out);
    ck_assert_msg(rc == 0, "task not accepted: %d", rc);
    ck_assert_uint_eq(out->task_id, t.task_id);
    if (len && dir == DRV_DIR_FROM_TARGET)
        memcpy(buf, dma->vaddr, out->bytes_transferred < len ? out->bytes_transferred : len);
    if (dma)
        osal_dma_free(f->os, dma);
}

static bool is_ua(const struct drv_completion *c)
{
    struct scsi_sense_info si;
    return c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_CHECK_CONDITION &&
           scsi_sense_parse(c->sense, c->sense_len, &si) && si.key == SCSI_SK_UNIT_ATTENTION;
}

void drvfx_exec_past_ua(struct drvfx *f, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
                        enum drv_dir dir, void *buf, uint64_t len, struct drv_completion *out)
{
    for (int i = 0; i < 9; i++) {
        drvfx_exec(f, target, lun, cdb, cdb_len, dir, buf, len, out);
        if (!is_ua(out))
            return;
    }
}

void drvfx_expect_good(const struct drv_completion *c, const char *what)
{
    struct scsi_sense_info si = { 0 };
    if (c->sense_len)
        scsi_sense_parse(c->sense, c->sense_len, &si);
    ck_assert_msg(c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_GOOD,
                  "%s: response %d, ctrl status %#x, SCSI status %#x, sense %x/%02x/%02x", what, c->response,
                  c->ctrl_status, c->scsi_status, si.key, si.asc, si.ascq);
}

void drvfx_sense(const struct drv_completion *c, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
    ck_assert_int_eq(c->response, DRV_SR_TASK_COMPLETE);
    ck_assert_uint_eq(c->scsi_status, SCSI_STATUS_CHECK_CONDITION);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(c->sense, c->sense_len, &si));
    *key = si.key;
    *asc = si.asc;
    *ascq = si.ascq;
}

static unsigned count_locked(struct drvfx *f, enum drv_event_kind kind, struct drv_event *last)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->nevents; i++)
        if (f->events[i].kind == kind) {
            n++;
            if (last)
                *last = f->events[i];
        }
    return n;
}

unsigned drvfx_events(struct drvfx *f, enum drv_event_kind kind, struct drv_event *last)
{
    pthread_mutex_lock(&f->mu);
    unsigned n = count_locked(f, kind, last);
    pthread_mutex_unlock(&f->mu);
    return n;
}

bool drvfx_wait_events(struct drvfx *f, enum drv_event_kind kind, unsigned n)
{
    struct timespec until = clock_deadline_ms(TESTUTIL_PATIENCE_MS);
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    while (count_locked(f, kind, NULL) < n && rc == 0)
        rc = pthread_cond_timedwait(&f->cv, &f->mu, &until);
    bool got = count_locked(f, kind, NULL) >= n;
    pthread_mutex_unlock(&f->mu);
    return got;
}

bool drvfx_wait_event(struct drvfx *f, enum drv_event_kind kind)
{
    return drvfx_wait_events(f, kind, 1);
}

void drvfx_rw10(uint8_t *cdb, bool write, uint32_t lba, uint16_t blocks)
{
    memset(cdb, 0, 10);
    cdb[0] = write ? SCSI_OP_WRITE_10 : SCSI_OP_READ_10;
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, blocks);
}

void drvfx_rw16(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks)
{
    memset(cdb, 0, 16);
    cdb[0] = write ? SCSI_OP_WRITE_16 : SCSI_OP_READ_16;
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, blocks);
}

void drvfx_pattern(uint8_t *buf, uint64_t lba, uint32_t blocks, uint32_t tag)
{
    for (uint32_t b = 0; b < blocks; b++)
        for (uint32_t i = 0; i < 512; i += 8) {
            uint64_t v = (lba + b) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)tag << 32 | i);
            memcpy(buf + (size_t)b * 512 + i, &v, 8);
        }
}
