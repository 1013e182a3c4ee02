/* sim/ctrl/ctrl.c — the controller object: create / destroy, power on / power cut,
 * the firmware thread's main loop, heartbeat, fault injection, and the rest
 * of the sim/sim.h API.
 *
 * The firmware loop, once per iteration: drain the bell; beat the heart;
 * apply posted register writes in order (state machine); run the RESET ->
 * READY timer; when operational and not hung, fetch from the admin SQ and the
 * I/O SQs round-robin with a per-pass budget, deliver async events; post the
 * pass's completions; fire coalescing timers.  With nothing to do it publishes
 * every SQ_EVENT_IDX, fences, re-checks the tails, and parks on the bell until
 * the next timer (heartbeat, initialisation, coalescing, CQ room).  cfg.poll
 * skips the parking: the firmware busy-polls.  Between the two, after a pass
 * that fetched work the firmware keeps polling for FW_IDLE_POLL_NS (yielding
 * the CPU on each turn) before it arms the event indexes: a driver that keeps
 * submitting meanwhile finds SQ_EVENT_IDX behind its tail and rings no bell,
 * which in two processes saves an eventfd write and a wake-up per command. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/ctrl/ctrl_internal.h"

#define HEARTBEAT_NS ((uint64_t)HBA_HEARTBEAT_PERIOD_MS * 1000000u)
#define CQ_RETRY_NS  1000000u /* re-read CQ_HEAD this often while completions wait for room */
/* How long the firmware polls after its last command before it arms and
 * parks: at a steady command rate the next one comes well within it. */
#define FW_IDLE_POLL_NS 20000u

void ctrl_driver_error(struct sim_ctrl *c, const char *fmt, ...)
{
    atomic_fetch_add(&c->driver_errors, 1);
    if (!c->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "scsisim: driver error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void ctrl_sim_bug(struct sim_ctrl *c, const char *fmt, ...)
{
    atomic_fetch_add(&c->sim_bugs, 1);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "scsisim: simulator bug: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- the firmware thread ------------------------------------------------ */

/* HEARTBEAT counts up every period while the controller has power, unless a
 * test stalled it (SIM_INJECT_STALL_HEARTBEAT).  It runs beside the firmware
 * thread, so a firmware busy in a long media sync still beats; SIGKILL, a
 * power cut and a stall stop it. */
static void *heartbeat_main(void *arg)
{
    struct sim_ctrl *c = arg;
    struct timespec next = clock_deadline_ms(0); /* now; beats are scheduled from it, so they do not drift */
    pthread_mutex_lock(&c->beat_lock);
    while (!c->beat_stop) {
        next.tv_nsec += (long)HEARTBEAT_NS;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (!c->beat_stop && pthread_cond_timedwait(&c->beat_cond, &c->beat_lock, &next) != ETIMEDOUT)
            ;
        if (c->beat_stop)
            break;
        if (!atomic_load(&c->inj_stall))
            ctrl_reg_set(c, HBA_REG_HEARTBEAT, atomic_fetch_add(&c->beat, 1) + 1);
    }
    pthread_mutex_unlock(&c->beat_lock);
    return NULL;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

static void park(struct sim_ctrl *c, uint64_t now, uint64_t irq_next)
{
    struct ctrl_fw *f = &c->fw_state;
    /* The firmware's own timer tick bounds every park, as it did when the
     * heartbeat lived here: posted writes and injections are noticed within a
     * tick even when no bell rang. */
    uint64_t until = earliest(irq_next, now + (uint64_t)c->cfg.tick_ms * 1000000u);
    if (f->state == HBA_STATE_RESET)
        until = earliest(until, f->init_done_ns);
    if (ctrl_queue_waiting(c))
        until = earliest(until, now + CQ_RETRY_NS);
    uint64_t wait = until > now ? until - now : 0;
    struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000u), .tv_nsec = (long)(wait % 1000000000u) };
    struct pollfd p = { .fd = c->region.bell_fd, .events = POLLIN };
    /* The bell is drained here, after a park, not at every pass: a read per
     * pass was a system call per few commands. */
    if (ppoll(&p, 1, &ts, NULL) > 0 && (p.revents & POLLIN))
        sim_region_drain_fd(c->region.bell_fd);
    atomic_fetch_add(&c->wakeups, 1);
}

static void *firmware_main(void *arg)
{
    struct sim_ctrl *c = arg;
    struct ctrl_fw *f = &c->fw_state;
    sim_iommu_engine_awake(c->iommu, true); /* counted in iq_awake while not parked */
    fw_claim_thread(c->fw, true); /* its commands run without the firmware's lock */
    f->clock_ns = 0; /* what a thread before this one read is old */
    while (!atomic_load(&c->stop)) {
        /* Odd from the injection checks through the pass (sim_ctrl_inject):
         * a command the host submits after an injection returned is fetched
         * only by a pass that saw it.  No lock: this store and the flags' loads
         * below, and the injector's flag store and its load of pass_seq, are
         * sequentially consistent, so either this pass sees the flag or the
         * injector sees the pass and waits for its end. */
        uint64_t pass = atomic_load_explicit(&c->pass_seq, memory_order_relaxed);
        atomic_store(&c->pass_seq, pass + 1);
        /* A pass after a pass with work starts at that pass's last clock
         * read (ctrl_fw.clock_ns: its last batch's end, a flush before). */
        uint64_t now = f->clock_ns ? f->clock_ns : clock_now_ns();
        f->clock_ns = now;
        f->flush_ns = 0; /* a batch's clock read serves only the flush of its own pass */
        if (atomic_exchange(&c->inj_fatal, false))
            ctrl_fault(c, HBA_FAULT_INJECTED);
        ctrl_regs_drain(c);
        ctrl_regs_tick(c, now);

        bool hung = atomic_load(&c->inj_hang);
        sim_iommu_service(c->iommu); /* also when no command came: the OS may be unmapping the last one */
        unsigned work = 0;
        if (f->state == HBA_STATE_OPERATIONAL && !hung) {
            work = ctrl_queue_pass(c);
            if (f->state == HBA_STATE_OPERATIONAL)
                ctrl_event_deliver(c);
            if (f->state == HBA_STATE_OPERATIONAL)
                ctrl_queue_flush(c);
        }
        uint64_t held_next = 0;
        if (f->state == HBA_STATE_OPERATIONAL && !hung && f->nheld) {
            held_next = ctrl_held_due(c, now); /* fault rules' delayed completions */
            ctrl_queue_flush(c);
        }
        atomic_store_explicit(&c->pass_seq, pass + 2, memory_order_release);
        uint64_t irq_next = earliest(ctrl_irq_tick(c, now), held_next);
        if (work)
            f->last_work_ns = now;
        else
            f->clock_ns = 0; /* an idle pass's read is not the next one's: time passes */
        if (work || c->cfg.poll)
            continue;
        /* Not armed yet, so the driver's doorbells ring no bell (the event
         * indexes stay where the last park left them, behind the tails). */
        if (f->state == HBA_STATE_OPERATIONAL && !hung && now - f->last_work_ns < FW_IDLE_POLL_NS) {
            sched_yield();
            continue;
        }
        if (f->state == HBA_STATE_OPERATIONAL && !hung && ctrl_queue_arm(c))
            continue;
        sim_iommu_engine_awake(c->iommu, false);
        park(c, now, irq_next);
        sim_iommu_engine_awake(c->iommu, true);
    }
    fw_claim_thread(c->fw, false);
    sim_iommu_engine_awake(c->iommu, false);
    return NULL;
}

static int start_thread(struct sim_ctrl *c)
{
    atomic_store(&c->stop, false);
    c->beat_stop = false;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&c->beat_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -rc;
    if ((rc = pthread_mutex_init(&c->beat_lock, NULL)) != 0) {
        pthread_cond_destroy(&c->beat_cond);
        return -rc;
    }
    if ((rc = pthread_create(&c->beat_thread, NULL, heartbeat_main, c)) != 0)
        goto fail_beat;
    if ((rc = pthread_create(&c->thread, NULL, firmware_main, c)) != 0)
        goto fail_fw;
    return 0;
fail_fw:
    pthread_mutex_lock(&c->beat_lock);
    c->beat_stop = true;
    pthread_cond_signal(&c->beat_cond);
    pthread_mutex_unlock(&c->beat_lock);
    pthread_join(c->beat_thread, NULL);
fail_beat:
    pthread_mutex_destroy(&c->beat_lock);
    pthread_cond_destroy(&c->beat_cond);
    return -rc;
}

static void stop_thread(struct sim_ctrl *c)
{
    atomic_store(&c->stop, true);
    sim_region_ring(c->region.bell_fd);
    pthread_join(c->thread, NULL);
    pthread_mutex_lock(&c->beat_lock);
    c->beat_stop = true;
    pthread_cond_signal(&c->beat_cond);
    pthread_mutex_unlock(&c->beat_lock);
    pthread_join(c->beat_thread, NULL);
    pthread_mutex_destroy(&c->beat_lock);
    pthread_cond_destroy(&c->beat_cond);
}

/* ---- hooks -------------------------------------------------------------- */

static void on_iommu_fault(void *arg, const struct hba_iommu_fault *fault)
{
    ctrl_event_raise(arg, HBA_AEV_IOMMU_FAULT, fault->seq & 0xFFFFFFu);
}

/* The fault engine's iommu-fault rule, asked by the IOMMU before each DMA
 * access made for a command. */
static bool on_dma_access(void *arg, struct sim_dma_ctx ctx)
{
    (void)ctx;
    struct sim_ctrl *c = arg;
    return fault_dma_access(&c->faults);
}

static void on_fw_event(void *arg, uint8_t type, uint32_t info)
{
    ctrl_event_raise(arg, type, info);
}

/* ---- create / destroy --------------------------------------------------- */

static int bad_config(char *err, size_t errlen, const char *what)
{
    errf(err, errlen, "controller configuration: %s", what);
    return -EINVAL;
}

static int check_config(const struct sim_config *k, char *err, size_t errlen)
{
    if (k->max_targets < 1 || k->max_targets > SIM_MAX_TARGETS_LIMIT)
        return bad_config(err, errlen, "max_targets must be 1..256");
    if (k->max_luns < 1 || k->max_luns > SIM_MAX_LUNS_LIMIT)
        return bad_config(err, errlen, "max_luns must be 1..256");
    if (k->max_io_queues < 1 || k->max_io_queues > HBA_MAX_QUEUES - 1)
        return bad_config(err, errlen, "max_io_queues must be 1..63");
    if (k->max_queue_entries < 2 || k->max_queue_entries > 4096)
        return bad_config(err, errlen, "max_queue_entries must be 2..4096");
    if (k->vectors < 1 || k->vectors > HBA_MAX_VECTORS)
        return bad_config(err, errlen, "vectors must be 1..32");
    if (k->max_sges < 1 || k->max_sges > 0xFFFF)
        return bad_config(err, errlen, "max_sges must be 1..65535");
    if (k->max_sgl_depth > 0xFF)
        return bad_config(err, errlen, "max_sgl_depth must be 0..255");
    if (k->addr_bits < 32 || k->addr_bits > 64)
        return bad_config(err, errlen, "addr_bits must be 32..64");
    if (k->max_xfer < 1)
        return bad_config(err, errlen, "max_xfer must be at least 1 byte");
    if (k->iommu_policy > HBA_IOMMU_POLICY_FATAL)
        return bad_config(err, errlen, "unknown IOMMU fault policy");
    struct located_error e;
    if (sim_config_validate(k, &e) < 0)
        return bad_config(err, errlen, e.message);
    return 0;
}

/* The IOMMU over the RAM attached now, with `policy`; replaces any old one. */
static int make_iommu(struct sim_ctrl *c, enum hba_iommu_policy policy)
{
    struct sim_iommu *m;
    int rc = sim_iommu_create(c->region.ram, c->region.ram_size, policy, &m);
    if (rc < 0)
        return rc;
    sim_iommu_set_fault_hook(m, on_iommu_fault, c);
    sim_iommu_set_access_hook(m, on_dma_access, c);
    if (c->iommu)
        sim_iommu_destroy(c->iommu);
    c->iommu = m;
    c->ram = c->region.ram;
    c->attach.ram_fd = c->region.ram_fd;
    c->attach.ram_size = c->region.ram_size;
    return 0;
}

/* The configuration's fault rules (checked when the configuration was read). */
static int add_config_faults(struct sim_ctrl *c, const char *faults, char *err, size_t errlen)
{
    for (const char *f = faults; f && *f;) {
        size_t n = strcspn(f, "\n");
        char line[FAULT_TEXT_MAX + 1];
        if (n > FAULT_TEXT_MAX)
            return bad_config(err, errlen, "a fault rule is too long");
        memcpy(line, f, n);
        line[n] = '\0';
        f += n + (f[n] == '\n');
        char msg[300];
        int rc = sim_ctrl_fault_add(c, line, msg, sizeof msg);
        if (rc < 0) {
            errf(err, errlen, "controller configuration: fault rule '%s': %s", line, msg);
            return rc;
        }
    }
    return 0;
}

int sim_ctrl_create_with_ram(const struct sim_config *cfg, int ram_fd, uint64_t ram_size, struct sim_ctrl **out,
                             char *err, size_t errlen)
{
    if (!cfg || !out)
        return -EINVAL;
    *out = NULL;
    /* The host's RAM follows the host-ram key's rules (docs/config.md). */
    struct sim_config k = *cfg;
    k.host_ram_bytes = ram_size;
    int rc = check_config(&k, err, errlen);
    if (rc < 0)
        return rc;
    struct sim_ctrl *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    c->cfg.lus = NULL;
    c->cfg.lu_count = 0;
    c->cfg.media_dir = NULL;
    c->cfg.faults = NULL;
    c->cfg.host_ram_bytes = ram_size;
    c->region.dev_fd = c->region.ram_fd = c->region.bell_fd = -1;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        c->region.vector_fd[v] = -1;
    ctrl_event_init(c);
    if (fault_set_init(&c->faults, cfg->seed) < 0) {
        ctrl_event_fini(c);
        free(c);
        return -ENOMEM;
    }
    c->verbose = getenv("SCSISIM_SIM_VERBOSE") != NULL;
    c->addr_mask = cfg->addr_bits >= 64 ? UINT64_MAX : (1ull << cfg->addr_bits) - 1;

    rc = -ENOMEM;
    c->lus = calloc(cfg->lu_count ? cfg->lu_count : 1, sizeof(*c->lus));
    c->fw_state.segs = calloc(cfg->max_sges, sizeof(struct ctrl_seg));
    if (!c->lus || !c->fw_state.segs)
        goto fail;
    c->nlus = cfg->lu_count;
    for (size_t i = 0; i < cfg->lu_count; i++) {
        c->lus[i].target = cfg->lus[i].target;
        c->lus[i].lun = cfg->lus[i].lun;
        atomic_init(&c->lus[i].battery, (int)cfg->lus[i].battery);
        c->lus[i].cache_bytes = cfg->lus[i].cache_bytes;
        c->lus[i].queue_depth = cfg->lus[i].queue_depth;
    }
    c->fw_state.prng = cfg->seed ^ 0x5353494D31ull; /* "SSIM1": distinct from other users of the seed */

    rc = sim_region_create(&c->region, cfg->vectors, err, errlen);
    if (rc < 0)
        goto fail;
    rc = sim_region_attach_ram(&c->region, ram_fd, ram_size, err, errlen);
    if (rc < 0)
        goto fail;
    c->bar = (_Atomic uint32_t *)(void *)c->region.dev;
    c->priv = (struct sim_priv_page *)(void *)(c->region.dev + SIM_REGION_PRIV);
    sim_posted_reset(c->priv);

    c->attach.dev_fd = c->region.dev_fd;
    c->attach.bell_fd = c->region.bell_fd;
    c->attach.nvec = c->region.nvec;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        c->attach.vector_fd[v] = c->region.vector_fd[v];

    rc = make_iommu(c, cfg->iommu_policy);
    if (rc < 0) {
        bad_config(err, errlen, "cannot create the IOMMU");
        goto fail;
    }
    /* Media names become paths under the media directory here, once every
     * rule of sim/store/media_file.h holds. */
    struct sim_config placed;
    rc = sim_config_media_prepare(cfg, &placed, err, errlen);
    if (rc < 0)
        goto fail;
    rc = fw_create(&placed, &c->fw, err, errlen);
    sim_config_free(&placed);
    if (rc < 0)
        goto fail;
    fw_set_event_hook(c->fw, on_fw_event, c);
    rc = add_config_faults(c, cfg->faults, err, errlen);
    if (rc < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    sim_ctrl_destroy(c);
    return rc;
}

int sim_ctrl_create(const struct sim_config *cfg, struct sim_ctrl **out, char *err, size_t errlen)
{
    if (!cfg || !out)
        return -EINVAL;
    *out = NULL;
    int rc = check_config(cfg, err, errlen);
    if (rc < 0)
        return rc;
    int fd = sim_host_ram_create(cfg->host_ram_bytes, err, errlen);
    if (fd < 0)
        return fd;
    rc = sim_ctrl_create_with_ram(cfg, fd, cfg->host_ram_bytes, out, err, errlen);
    close(fd); /* the controller holds its own reference */
    return rc;
}

int sim_ctrl_set_ram(struct sim_ctrl *c, int ram_fd, uint64_t ram_size, char *err, size_t errlen)
{
    if (c->powered)
        return -EBUSY;
    struct sim_region keep = c->region;
    /* Attach the new RAM beside the old so a failure changes nothing. */
    c->region.ram_fd = -1;
    c->region.ram = NULL;
    struct sim_config k = c->cfg;
    k.host_ram_bytes = ram_size;
    int rc = check_config(&k, err, errlen);
    if (rc == 0)
        rc = sim_region_attach_ram(&c->region, ram_fd, ram_size, err, errlen);
    if (rc == 0 && (rc = make_iommu(c, sim_iommu_policy(c->iommu))) < 0)
        bad_config(err, errlen, "cannot create the IOMMU");
    if (rc < 0) {
        sim_region_detach_ram(&c->region);
        c->region = keep;
        return rc;
    }
    c->cfg.host_ram_bytes = ram_size;
    sim_region_detach_ram(&keep);
    return 0;
}

void sim_ctrl_destroy(struct sim_ctrl *c)
{
    if (!c)
        return;
    if (c->powered) {
        atomic_store_explicit(&c->priv->powered, 0, memory_order_release);
        stop_thread(c);
    }
    if (c->fw)
        fw_destroy(c->fw);
    if (c->iommu)
        sim_iommu_destroy(c->iommu);
    sim_region_destroy(&c->region);
    ctrl_queue_free(c);
    free(c->fw_state.segs);
    free(c->fw_state.bounce);
    free(c->fw_state.scratch);
    free(c->lus);
    ctrl_event_fini(c);
    fault_set_fini(&c->faults);
    free(c);
}

/* ---- power -------------------------------------------------------------- */

static void forget_volatile_state(struct sim_ctrl *c)
{
    ctrl_queue_forget_all(c);
    ctrl_event_clear(c);
    c->fw_state.coalescing = 0;
    ctrl_irq_reset(c);
    atomic_store(&c->inj_hang, false);
    atomic_store(&c->inj_stall, false);
    atomic_store(&c->inj_fatal, false);
    atomic_store(&c->inj_drop, 0);
}

int sim_ctrl_power_on(struct sim_ctrl *c)
{
    if (c->powered)
        return -EALREADY;
    forget_volatile_state(c);
    sim_region_drain_fd(c->region.bell_fd);
    ctrl_regs_power_on(c);
    fw_power_on(c->fw);
    if (c->lines_lost) /* reported once, to the first driver that asks after power on */
        ctrl_event_raise(c, HBA_AEV_CACHE_LOST, c->lines_lost > 0xFFFFFFu ? 0xFFFFFFu : (uint32_t)c->lines_lost);
    c->lines_lost = 0;
    int rc = start_thread(c);
    if (rc < 0) {
        atomic_store(&c->priv->powered, 0);
        ctrl_regs_zero(c);
        return rc;
    }
    c->powered = true;
    return 0;
}

/* Power goes off: the firmware stops first; `flush` writes every cache back
 * before the store sees the cut (an orderly shutdown loses nothing). */
static int power_down(struct sim_ctrl *c, const struct sim_power_cut *how, bool flush, uint64_t *lost)
{
    atomic_store_explicit(&c->priv->powered, 0, memory_order_release);
    stop_thread(c);
    c->powered = false;
    int rc = flush ? fw_flush(c->fw, 0, 0, true) : 0;
    struct sim_power_cut all = { .mode = SIM_POWER_CUT_ALL, .seed = 0 };
    *lost = fw_power_cut(c->fw, how ? how : &all);
    c->lines_lost += *lost;
    ctrl_regs_zero(c);
    sim_posted_reset(c->priv);
    forget_volatile_state(c);
    return rc;
}

int64_t sim_ctrl_power_cut(struct sim_ctrl *c, const struct sim_power_cut *how)
{
    if (!c->powered)
        return -EALREADY;
    uint64_t lost;
    power_down(c, how, false, &lost);
    return lost > INT64_MAX ? INT64_MAX : (int64_t)lost;
}

int sim_ctrl_shutdown(struct sim_ctrl *c)
{
    if (!c->powered)
        return -EALREADY;
    uint64_t lost;
    return power_down(c, NULL, true, &lost);
}

bool sim_ctrl_powered(const struct sim_ctrl *c)
{
    return c->powered;
}

/* ---- shared memory and IOMMU -------------------------------------------- */

const struct sim_attach *sim_ctrl_attach_info(const struct sim_ctrl *c)
{
    return &c->attach;
}

volatile uint32_t *sim_ctrl_bar(struct sim_ctrl *c)
{
    return (volatile uint32_t *)(void *)c->bar;
}

uint8_t *sim_ctrl_ram(struct sim_ctrl *c)
{
    return c->ram;
}

uint64_t sim_ctrl_ram_size(const struct sim_ctrl *c)
{
    return c->region.ram_size;
}

void sim_ctrl_iommu_doorbell(struct sim_ctrl *c)
{
    sim_iommu_doorbell(c->iommu);
}

void sim_ctrl_set_iommu_policy(struct sim_ctrl *c, enum hba_iommu_policy p)
{
    sim_iommu_set_policy(c->iommu, p);
}

size_t sim_ctrl_fault_log(struct sim_ctrl *c, uint32_t first, struct hba_iommu_fault *out, size_t max,
                          struct hba_log_header *hdr)
{
    return sim_iommu_fault_log(c->iommu, first, out, max, hdr);
}

/* ---- drives ------------------------------------------------------------- */

int sim_ctrl_set_battery(struct sim_ctrl *c, uint16_t target, uint16_t lun, enum hba_battery b)
{
    if (b > HBA_BATTERY_FAILED)
        return -EINVAL;
    struct ctrl_lu *lu = NULL;
    for (size_t i = 0; i < c->nlus; i++)
        if (c->lus[i].target == target && c->lus[i].lun == lun)
            lu = &c->lus[i];
    if (!lu)
        return -ENOENT;
    int rc = fw_set_battery(c->fw, target, lun, b);
    if (rc < 0)
        return rc;
    /* The firmware raises HBA_AEV_BATTERY itself when the state changed. */
    atomic_store(&lu->battery, (int)b);
    return 0;
}

int sim_ctrl_check_media(struct sim_ctrl *c, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    return fw_check_media(c->fw, target, lun, r);
}

int sim_ctrl_raise_ua(struct sim_ctrl *c, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    return fw_raise_ua(c->fw, target, lun, initiator, asc_ascq);
}

int sim_ctrl_set_write_cache(struct sim_ctrl *c, uint16_t target, uint16_t lun, bool on)
{
    return fw_set_write_cache(c->fw, target, lun, on);
}

/* ---- injection ---------------------------------------------------------- */

int sim_ctrl_inject(struct sim_ctrl *c, enum sim_inject_kind kind, uint32_t count)
{
    if (!c->powered)
        return -ENODEV;
    switch (kind) {
    case SIM_INJECT_HANG:            atomic_store(&c->inj_hang, true); break;
    case SIM_INJECT_FATAL:           atomic_store(&c->inj_fatal, true); break;
    case SIM_INJECT_DROP_NEXT:       atomic_store(&c->inj_drop, count); break;
    case SIM_INJECT_STALL_HEARTBEAT:
        /* Under the heartbeat thread's lock: once this returns, no beat lands. */
        pthread_mutex_lock(&c->beat_lock);
        atomic_store(&c->inj_stall, true);
        pthread_mutex_unlock(&c->beat_lock);
        break;
    default:
        return -EINVAL;
    }
    /* Between two of the firmware's passes, not in one (firmware_main): a
     * pass running now may have looked at the flags before they were set, so
     * wait for its end; from here on no command is fetched before the
     * firmware acted on this.  (A pass is short; an injection is rare.) */
    uint64_t pass = atomic_load(&c->pass_seq);
    while ((pass & 1) && atomic_load_explicit(&c->pass_seq, memory_order_acquire) == pass)
        sched_yield();
    sim_region_ring(c->region.bell_fd);
    return 0;
}

int sim_ctrl_inject_clear(struct sim_ctrl *c)
{
    fault_set_clear(&c->faults); /* lifting every fault lifts the rules too */
    atomic_store(&c->inj_hang, false);
    atomic_store(&c->inj_stall, false);
    atomic_store(&c->inj_fatal, false);
    atomic_store(&c->inj_drop, 0);
    sim_region_ring(c->region.bell_fd);
    return 0;
}

void sim_ctrl_get_stats(const struct sim_ctrl *c, struct sim_ctrl_stats *s)
{
    s->wakeups = atomic_load(&c->wakeups);
    s->driver_errors = atomic_load(&c->driver_errors);
    s->sim_bugs = atomic_load(&c->sim_bugs);
}

/* ---- the fault and timing engine (sim/fault/) ---------------------------- */

int sim_ctrl_fault_add(struct sim_ctrl *c, const char *rule, char *err, size_t errlen)
{
    struct fault_rule r;
    int rc = fault_rule_parse(rule, &r, err, errlen, NULL);
    if (rc < 0)
        return rc;
    if (r.kind == FAULT_CAPACITY) {
        /* An action, not a rule: the drive's capacity changes now (fw_set_capacity
         * raises CAPACITY DATA HAS CHANGED and tells the driver). */
        rc = fw_set_capacity(c->fw, r.target, r.lun, r.blocks);
        if (rc == -ENOENT)
            errf(err, errlen, "no drive %u:%u", r.target, r.lun);
        else if (rc == -ERANGE)
            errf(err, errlen, "blocks=%llu is above the capacity drive %u:%u was created with (it only shrinks "
                              "and grows back)", (unsigned long long)r.blocks, r.target, r.lun);
        else if (rc < 0)
            errf(err, errlen, "%s", strerror(-rc));
        return rc;
    }
    if (r.kind == FAULT_REMOVE) {
        /* A surprise removal (sim/fw/fw_hotplug.c): 3Fh/0Eh and HBA_AEV_DRIVE_CHANGED. */
        rc = fw_drive_remove(c->fw, r.target, r.lun);
        if (rc == -ENOENT)
            errf(err, errlen, "no drive %u:%u", r.target, r.lun);
        return rc;
    }
    if (r.kind == FAULT_INSERT) {
        struct sim_lu_config lu;
        sim_lu_config_init(&lu, r.target, r.lun);
        lu.blocks = r.blocks;
        lu.block_size = r.block_size;
        return fw_drive_insert(c->fw, &c->cfg, &lu, err, errlen);
    }
    if (r.kind == FAULT_BATTERY) {
        /* As SET_BATTERY / scsisim ctl set would: HBA_AEV_BATTERY when it changed. */
        rc = sim_ctrl_set_battery(c, r.target, r.lun, (enum hba_battery)r.battery);
        if (rc == -ENOENT)
            errf(err, errlen, "no drive %u:%u", r.target, r.lun);
        return rc;
    }
    if (r.kind == FAULT_IO_ERROR || r.kind == FAULT_REOPEN)   /* the store's actions (sim/fw/fw_store_fault.c) */
        return fw_store_action(c->fw, &r, err, errlen);
    rc = fault_set_add(&c->faults, &r);
    if (rc == -ENOSPC)
        errf(err, errlen, "%u fault rules are set already; clear some first", FAULT_RULES_MAX);
    else if (rc == 0)
        sim_region_ring(c->region.bell_fd); /* a delay or hang applies from the next command on */
    return rc;
}

int sim_ctrl_fault_clear(struct sim_ctrl *c)
{
    fault_set_clear(&c->faults);
    sim_region_ring(c->region.bell_fd);
    return 0;
}

void sim_ctrl_fault_list_json(struct sim_ctrl *c, struct tbuf *json)
{
    fault_set_list_json(&c->faults, json);
}

void sim_ctrl_stats_json(struct sim_ctrl *c, struct tbuf *json)
{
    struct sim_ctrl_stats s;
    sim_ctrl_get_stats(c, &s);
    fault_stats_json(&c->faults, json, true);
    tbuf_puts(json, ",\"caches\":[");
    fw_cache_stats_json(c->fw, json);
    tbuf_putc(json, ']');
    tbuf_printf(json, ",\"powered\":%s,\"rules\":%zu,\"wakeups\":%llu,\"driver_errors\":%llu,\"sim_bugs\":%llu}",
                c->powered ? "true" : "false", fault_set_count(&c->faults), (unsigned long long)s.wakeups,
                (unsigned long long)s.driver_errors, (unsigned long long)s.sim_bugs);
}
