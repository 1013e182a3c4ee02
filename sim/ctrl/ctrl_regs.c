/* sim/ctrl/ctrl_regs.c — the register file and the controller state machine:
 * reset values and CAP fields from the configuration, the posted control
 * writes drained in order, enable / controller reset / shutdown, the hard
 * reset key sequence, and the sticky FAULT_CODE. */
#include <errno.h>
#include <string.h>

#include "sim/ctrl/ctrl_internal.h"

static const uint32_t reset_keys[4] = { HBA_RESET_KEY_1, HBA_RESET_KEY_2, HBA_RESET_KEY_3, HBA_RESET_KEY_4 };

static void publish_status(struct sim_ctrl *c)
{
    const struct ctrl_fw *f = &c->fw_state;
    uint32_t s = (uint32_t)f->state << HBA_STATUS_STATE_SHIFT;
    if (f->state == HBA_STATE_OPERATIONAL)
        s |= HBA_STATUS_RDY;
    if (f->state == HBA_STATE_FAULT)
        s |= HBA_STATUS_FATAL;
    if (f->shst)
        s |= HBA_STATUS_SHST_DONE;
    if (f->shst && f->shst_dirty)
        s |= HBA_STATUS_SHST_DIRTY;
    ctrl_reg_set(c, HBA_REG_STATUS, f->off_bus ? 0xFFFFFFFFu : s); /* reset-fail: a device gone from the bus */
    ctrl_reg_set(c, HBA_REG_DIAG, f->key_step == 4 ? HBA_DIAG_KEY_ACCEPTED : 0);
}

static uint32_t cap_features(const struct sim_ctrl *c)
{
    uint32_t f = HBA_FEAT_BIT_VWC | HBA_FEAT_BIT_FUA | HBA_FEAT_BIT_IOMMU | HBA_FEAT_BIT_EVENT_IDX |
                 HBA_FEAT_BIT_POLL;
    for (size_t i = 0; i < c->nlus; i++)
        if (atomic_load(&c->lus[i].battery) != HBA_BATTERY_ABSENT)
            f |= HBA_FEAT_BIT_BATTERY;
    if (c->cfg.reorder)
        f |= HBA_FEAT_BIT_OOO;
    return f;
}

void ctrl_regs_zero(struct sim_ctrl *c)
{
    for (uint32_t off = 0; off < HBA_BAR0_SIZE; off += 4)
        atomic_store_explicit(sim_reg(c->bar, off), 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

/* Reset values of everything but ID/CAP and HEARTBEAT. */
static void regs_reset(struct sim_ctrl *c)
{
    static const uint32_t cleared[] = {
        HBA_REG_CONFIG,        HBA_REG_STATUS,        HBA_REG_FAULT_CODE,    HBA_REG_INT_STATUS,
        HBA_REG_INT_MASK_SET,  HBA_REG_INT_MASK_CLEAR, HBA_REG_AQ_SQ_BASE_LO, HBA_REG_AQ_SQ_BASE_HI,
        HBA_REG_AQ_CQ_BASE_LO, HBA_REG_AQ_CQ_BASE_HI, HBA_REG_AQ_SIZE,       HBA_REG_RESET_KEY,
        HBA_REG_DIAG,
    };
    for (size_t i = 0; i < sizeof(cleared) / sizeof(cleared[0]); i++)
        ctrl_reg_set(c, cleared[i], 0);
    for (uint32_t off = HBA_REG_DB_BASE; off < HBA_BAR0_SIZE; off += 4)
        ctrl_reg_set(c, off, 0);
}

void ctrl_regs_power_on(struct sim_ctrl *c)
{
    const struct sim_config *k = &c->cfg;
    ctrl_regs_zero(c);
    ctrl_reg_set(c, HBA_REG_ID, HBA_ID_MAGIC);
    ctrl_reg_set(c, HBA_REG_VERSION, HBA_VERSION_1_0);
    ctrl_reg_set(c, HBA_REG_CAP_QUEUES, (k->max_queue_entries & 0xFFFFu) | (k->max_io_queues & 0xFFu) << 16 |
                                            (k->vectors & 0xFFu) << 24);
    ctrl_reg_set(c, HBA_REG_CAP_SGL,
                 (k->max_sges & 0xFFFFu) | (k->addr_bits & 0xFFu) << 16 | (k->max_sgl_depth & 0xFFu) << 24);
    ctrl_reg_set(c, HBA_REG_CAP_MAX_XFER, k->max_xfer);
    ctrl_reg_set(c, HBA_REG_CAP_FEATURES, cap_features(c));
    ctrl_reg_set(c, HBA_REG_CAP_TARGETS, (k->max_targets & 0xFFFFu) | (k->max_luns & 0xFFFFu) << 16);

    struct ctrl_fw *f = &c->fw_state;
    f->state = HBA_STATE_RESET;
    f->fault_code = HBA_FAULT_NONE;
    f->config = f->aq_sq_lo = f->aq_sq_hi = f->aq_cq_lo = f->aq_cq_hi = f->aq_size = 0;
    f->key_step = 0;
    f->shut_down = f->shst = f->off_bus = false;
    atomic_store(&c->beat, 0);
    uint64_t now = clock_now_ns();
    f->init_done_ns = now + (uint64_t)k->init_ms * 1000000u;
    publish_status(c);

    sim_posted_reset(c->priv);
    atomic_store_explicit(&c->priv->powered, 1, memory_order_release);
}

void ctrl_fault(struct sim_ctrl *c, enum hba_fault_code code)
{
    struct ctrl_fw *f = &c->fw_state;
    if (f->fault_code == HBA_FAULT_NONE) {
        f->fault_code = code;
        ctrl_reg_set(c, HBA_REG_FAULT_CODE, code);
    }
    f->state = HBA_STATE_FAULT;
    publish_status(c);
}

static void zero_doorbells(struct sim_ctrl *c)
{
    for (uint32_t off = HBA_REG_DB_BASE; off < HBA_BAR0_SIZE; off += 4)
        ctrl_reg_set(c, off, 0);
}

/* EN 0 -> 1 in READY: validate the admin queue and go operational. */
static void enable(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    uint32_t sqn = f->aq_size & 0xFFFFu, cqn = f->aq_size >> 16;
    uint32_t max = c->cfg.max_queue_entries < 4096 ? c->cfg.max_queue_entries : 4096;
    uint64_t sqb = ((uint64_t)f->aq_sq_hi << 32 | f->aq_sq_lo) & c->addr_mask;
    uint64_t cqb = ((uint64_t)f->aq_cq_hi << 32 | f->aq_cq_lo) & c->addr_mask;

    if (sqn < 2 || sqn > max || cqn < 2 || cqn > max || sqb % 64 || cqb % 16) {
        ctrl_driver_error(c, "CONFIG.EN with invalid admin queue (SQ %u entries at %#llx, CQ %u at %#llx)", sqn,
                          (unsigned long long)sqb, cqn, (unsigned long long)cqb);
        ctrl_fault(c, HBA_FAULT_BAD_ADMIN_QUEUE);
        return;
    }
    if (ctrl_queue_probe(c, 0, sqb, (size_t)sqn * sizeof(struct hba_sq_entry), false) != SIM_DMA_OK &&
        sim_iommu_policy(c->iommu) != HBA_IOMMU_POLICY_DROP) {
        ctrl_driver_error(c, "admin SQ at %#llx is not mapped for device reads", (unsigned long long)sqb);
        ctrl_fault(c, HBA_FAULT_BAD_ADMIN_QUEUE);
        return;
    }
    if (ctrl_queue_probe(c, 0, cqb, (size_t)cqn * sizeof(struct hba_cq_entry), true) != SIM_DMA_OK &&
        sim_iommu_policy(c->iommu) != HBA_IOMMU_POLICY_DROP) {
        ctrl_driver_error(c, "admin CQ at %#llx is not mapped for device writes", (unsigned long long)cqb);
        ctrl_fault(c, HBA_FAULT_BAD_ADMIN_QUEUE);
        return;
    }
    if (ctrl_queue_create_cq(c, 0, cqb, cqn, 0, false) < 0 || ctrl_queue_create_sq(c, 0, sqb, sqn, 0) < 0) {
        ctrl_sim_bug(c, "out of memory creating the admin queue");
        ctrl_queue_forget_all(c);
        ctrl_fault(c, HBA_FAULT_INTERNAL);
        return;
    }
    f->state = HBA_STATE_OPERATIONAL;
    publish_status(c);
}

/* EN 1 -> 0: every outstanding command completes with ABORTED_RESET, the
 * queues go, the drives see a reset, and the controller waits in READY. */
static void controller_reset(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    /* Entries still in the SQs count as outstanding too: the driver gets a
     * completion for everything it submitted.  A bad tail found here faults
     * the controller, which then posts nothing more. */
    for (uint16_t q = 0; q < HBA_MAX_QUEUES && f->state == HBA_STATE_OPERATIONAL; q++)
        if (f->sq[q].live)
            ctrl_queue_abort_sq(c, q, HBA_CS_ABORTED_RESET);
    if (f->state == HBA_STATE_OPERATIONAL) {
        ctrl_abort_held(c, -1, false, -1, -1, HBA_CS_ABORTED_RESET);
        ctrl_queue_flush(c);
    }
    ctrl_queue_forget_all(c);
    zero_doorbells(c);
    f->coalescing = 0;
    ctrl_irq_reset(c);
    f->shut_down = f->shst = false;
    fw_controller_reset(c->fw);
    if (f->state != HBA_STATE_FAULT)
        f->state = HBA_STATE_READY;
    publish_status(c);
}

static void shutdown(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    /* A drive whose flush fails keeps its dirty lines (the oracle promised
     * nothing for them) and the shutdown still completes, with SHST_DIRTY
     * set for the driver (docs/controller.md 20).  A failure that no io-error
     * rule injected is the simulator's own. */
    uint64_t injected = fw_store_injected(c->fw);
    int rc = fw_flush(c->fw, 0, 0, true);
    if (rc == -ENOENT)
        rc = 0;   /* no drive: nothing to flush */
    if (rc < 0 && fw_store_injected(c->fw) == injected)
        ctrl_sim_bug(c, "flushing every drive at shutdown failed (%d)", rc);
    f->shut_down = true;
    f->shst = true;
    f->shst_dirty = rc < 0;
    publish_status(c);
}

/* DIAG.HARD_RESET after the key sequence: reboot from any state, FAULT included. */
static void hard_reset(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    f->off_bus = fault_hard_reset_fails(&c->faults); /* reset-fail: this reboot never comes back */
    ctrl_queue_forget_all(c);
    ctrl_event_clear(c);
    f->coalescing = 0;
    ctrl_irq_reset(c);
    regs_reset(c);
    f->fault_code = HBA_FAULT_NONE;
    f->config = f->aq_sq_lo = f->aq_sq_hi = f->aq_cq_lo = f->aq_cq_hi = f->aq_size = 0;
    f->key_step = 0;
    f->shut_down = f->shst = false;
    atomic_store(&c->inj_hang, false);
    atomic_store(&c->inj_stall, false);
    atomic_store(&c->inj_fatal, false);
    fw_controller_reset(c->fw);
    f->state = HBA_STATE_RESET;
    f->init_done_ns = clock_now_ns() + (uint64_t)c->cfg.init_ms * 1000000u;
    publish_status(c);
}

static void write_config(struct sim_ctrl *c, uint32_t val)
{
    struct ctrl_fw *f = &c->fw_state;
    uint32_t old = f->config;
    f->config = val;
    if (f->state == HBA_STATE_FAULT || f->state == HBA_STATE_RESET)
        return; /* remembered: READY acts on an EN written early */
    if ((val & HBA_CONFIG_SHN) && !(old & HBA_CONFIG_SHN))
        shutdown(c);
    if (!(val & HBA_CONFIG_SHN) && (old & HBA_CONFIG_SHN) && f->shst) {
        f->shst = false;
        publish_status(c);
    }
    if ((old & HBA_CONFIG_EN) && !(val & HBA_CONFIG_EN) && f->state == HBA_STATE_OPERATIONAL)
        controller_reset(c);
    else if (!(old & HBA_CONFIG_EN) && (val & HBA_CONFIG_EN) && f->state == HBA_STATE_READY)
        enable(c);
}

static void write_reset_key(struct sim_ctrl *c, uint32_t val)
{
    struct ctrl_fw *f = &c->fw_state;
    if (f->key_step < 4 && val == reset_keys[f->key_step])
        f->key_step++;
    else
        f->key_step = val == reset_keys[0] ? 1 : 0;
    publish_status(c);
}

static void write_diag(struct sim_ctrl *c, uint32_t val)
{
    if (!(val & HBA_DIAG_HARD_RESET))
        return;
    if (c->fw_state.key_step != 4) {
        ctrl_driver_error(c, "DIAG.HARD_RESET without the reset key sequence: ignored");
        return;
    }
    hard_reset(c);
}

static void apply_write(struct sim_ctrl *c, uint32_t reg, uint32_t val)
{
    struct ctrl_fw *f = &c->fw_state;
    switch (reg) {
    case HBA_REG_CONFIG:        write_config(c, val); break;
    case HBA_REG_AQ_SQ_BASE_LO: f->aq_sq_lo = val; break;
    case HBA_REG_AQ_SQ_BASE_HI: f->aq_sq_hi = val; break;
    case HBA_REG_AQ_CQ_BASE_LO: f->aq_cq_lo = val; break;
    case HBA_REG_AQ_CQ_BASE_HI: f->aq_cq_hi = val; break;
    case HBA_REG_AQ_SIZE:       f->aq_size = val; break;
    case HBA_REG_RESET_KEY:     write_reset_key(c, val); break;
    case HBA_REG_DIAG:          write_diag(c, val); break;
    default:
        /* The FIFO is in driver-writable memory: a slot naming any other
         * register was not written by the bus. */
        ctrl_driver_error(c, "posted write to register %#x ignored", reg);
        break;
    }
}

void ctrl_regs_drain(struct sim_ctrl *c)
{
    uint32_t reg, val;
    /* Bounded so a driver that keeps writing cannot starve the queues. */
    for (unsigned n = 0; n < SIM_POSTED_SLOTS && sim_posted_pop(c->priv, &reg, &val); n++)
        apply_write(c, reg, val);
}

void ctrl_regs_tick(struct sim_ctrl *c, uint64_t now)
{
    struct ctrl_fw *f = &c->fw_state;
    if (f->state == HBA_STATE_RESET && now >= f->init_done_ns) {
        f->state = HBA_STATE_READY;
        publish_status(c);
        if (f->config & HBA_CONFIG_EN)
            enable(c);
    }
}
