/* core/core_bringup.c — the controller bring-up of docs/controller.md
 * section 5, and the way back down.
 *
 *   core_bringup   ID/VERSION, CAP_* -> limits, READY (a hard reset out of
 *                  FAULT), admin queue + CONFIG.EN, identify, I/O queue pairs,
 *                  interrupts, async events
 *   core_disable   CONFIG.EN 1 -> 0 (a hard reset when READY does not come),
 *                  then every queue freed
 *   core_release   every queue freed without talking to the controller
 *
 * Bring-up polls registers and the admin CQ while it holds the dispatch queue:
 * it is what UserStartController does in a dext, and it keeps one code path
 * for the first start and for every recovery. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"

/* ---- registers ------------------------------------------------------------ */

static bool status_dead(uint32_t st)
{
    return st == 0xFFFFFFFFu;
}

/* Polls STATUS until its STATE is one of `states` (a bit per enum hba_state).
 * 0 with *st, or -ETIMEDOUT / -ENODEV (registers read all-ones). */
static int wait_state(struct drv_core *core, unsigned states, uint32_t *st)
{
    struct core_wait w;
    core_wait_start(&w, core_now_ns(core), core->opt.ready_timeout_ms);
    for (;;) {
        *st = osal_reg_read32(core->os, HBA_REG_STATUS);
        if (status_dead(*st))
            return -ENODEV;
        if (states & (1u << HBA_STATUS_STATE(*st)))
            return 0;
        if (core_wait_expired(&w, core_now_ns(core)))
            return -ETIMEDOUT;
        core_wait_nap(&w);
    }
}

#define STATE_BIT(s) (1u << (s))

int core_hard_reset(struct drv_core *core)
{
    struct osal *os = core->os;
    osal_log(os, OSAL_LOG_WARN, "drv: hard reset (status %#x, fault code %u)", osal_reg_read32(os, HBA_REG_STATUS),
             osal_reg_read32(os, HBA_REG_FAULT_CODE));
    core->stats.hard_resets++;
    osal_reg_write32(os, HBA_REG_RESET_KEY, HBA_RESET_KEY_1);
    osal_reg_write32(os, HBA_REG_RESET_KEY, HBA_RESET_KEY_2);
    osal_reg_write32(os, HBA_REG_RESET_KEY, HBA_RESET_KEY_3);
    osal_reg_write32(os, HBA_REG_RESET_KEY, HBA_RESET_KEY_4);
    osal_reg_write32(os, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    uint32_t st;
    int rc = wait_state(core, STATE_BIT(HBA_STATE_READY), &st);
    if (rc < 0)
        osal_log(os, OSAL_LOG_ERROR, "drv: controller not READY after a hard reset (status %#x)", st);
    return rc;
}

/* From whatever state the controller is in to READY. */
static int reach_ready(struct drv_core *core)
{
    uint32_t st;
    int rc = wait_state(core, STATE_BIT(HBA_STATE_READY) | STATE_BIT(HBA_STATE_OPERATIONAL) |
                                  STATE_BIT(HBA_STATE_FAULT), &st);
    if (rc == 0 && HBA_STATUS_STATE(st) == HBA_STATE_OPERATIONAL) {
        /* Left enabled by someone before us: a controller reset gets READY. */
        osal_reg_write32(core->os, HBA_REG_CONFIG, 0);
        rc = wait_state(core, STATE_BIT(HBA_STATE_READY) | STATE_BIT(HBA_STATE_FAULT), &st);
    }
    if (rc == -ENODEV)
        return rc;
    if (rc < 0 || HBA_STATUS_STATE(st) == HBA_STATE_FAULT)
        return core_hard_reset(core);
    return 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Reads CAP_* and derives the limits the core works within. */
static int read_caps(struct drv_core *core)
{
    struct osal *os = core->os;
    core->cap_queues = osal_reg_read32(os, HBA_REG_CAP_QUEUES);
    core->cap_sgl = osal_reg_read32(os, HBA_REG_CAP_SGL);
    core->cap_max_xfer = osal_reg_read32(os, HBA_REG_CAP_MAX_XFER);
    core->cap_features = osal_reg_read32(os, HBA_REG_CAP_FEATURES);
    core->cap_targets = osal_reg_read32(os, HBA_REG_CAP_TARGETS);

    uint32_t max_entries = HBA_CAPQ_MAX_ENTRIES(core->cap_queues);
    uint32_t max_ioq = HBA_CAPQ_MAX_IO_QUEUES(core->cap_queues);
    uint32_t addr_bits = HBA_CAPS_ADDR_BITS(core->cap_sgl);
    uint32_t max_sges = HBA_CAPS_MAX_SGES(core->cap_sgl);
    if (max_entries < 2 || max_ioq < 1 || addr_bits < 32 || addr_bits > 64 || max_sges < 1 ||
        core->cap_max_xfer == 0 || (core->cap_targets & 0xFFFFu) == 0) {
        osal_log(os, OSAL_LOG_ERROR, "drv: implausible capabilities (queues %#x, sgl %#x, max xfer %u, targets %#x)",
                 core->cap_queues, core->cap_sgl, core->cap_max_xfer, core->cap_targets);
        return -ENODEV;
    }
    unsigned nvec = HBA_CAPQ_VECTORS(core->cap_queues);
    if (nvec == 0)
        nvec = 1;
    if (nvec > HBA_MAX_VECTORS)
        nvec = HBA_MAX_VECTORS;
    struct sgl_limits lim;
    lim.max_depth = HBA_CAPS_MAX_DEPTH(core->cap_sgl);
    lim.max_sges = min_u32(min_u32(max_sges, sgl_capacity(lim.max_depth)), DRV_SGL_MAX_SGES);
    lim.addr_bits = addr_bits;
    lim.max_bytes = core->cap_max_xfer;
    unsigned nioq = core->opt.io_queues < max_ioq ? core->opt.io_queues : max_ioq;
    if (nioq > HBA_MAX_QUEUES - 1)
        nioq = HBA_MAX_QUEUES - 1;
    uint32_t depth = min_u32(min_u32(core->opt.queue_depth, max_entries), DRV_CID_SLOT_MASK);
    if (depth < 2)
        depth = 2;

    if (core->started_once) {
        /* Other threads read the limits without locking: after the first
         * bring-up they never change, and a controller whose limits did is refused. */
        bool same = lim.max_depth == core->lim.max_depth && lim.max_sges == core->lim.max_sges &&
                    lim.addr_bits == core->lim.addr_bits && lim.max_bytes == core->lim.max_bytes;
        if (!same || nioq != core->nioq || depth != core->opt.queue_depth || nvec != core->nvec) {
            osal_log(os, OSAL_LOG_ERROR, "drv: the controller's capabilities changed across a reset");
            return -ENODEV;
        }
        return 0;
    }
    core->nvec = nvec;
    core->lim = lim;
    core->nioq = nioq;
    core->opt.queue_depth = depth;
    if (core->opt.polled && !(core->cap_features & HBA_FEAT_BIT_POLL)) {
        osal_log(os, OSAL_LOG_WARN, "drv: the controller has no polled queues: using interrupts");
        core->opt.polled = false;
    }

    struct drv_constraints *c = &core->cons;
    c->max_segment_count = core->lim.max_sges;
    c->max_byte_count = core->lim.max_bytes;
    c->max_segment_size = SGL_SGE_MAX_LEN < core->cap_max_xfer ? SGL_SGE_MAX_LEN : core->cap_max_xfer;
    c->addressable_bits = addr_bits;
    c->alignment_mask = 0; /* the SSIM-1 moves data at any byte address */
    c->max_targets = core->cap_targets & 0xFFFFu;
    c->max_luns = core->cap_targets >> 16;
    c->max_outstanding = core->nioq * (core->opt.queue_depth - 1u);
    return 0;
}

static unsigned io_vector(const struct drv_core *core, unsigned i)
{
    return core->nvec > 1 ? 1u + i % (core->nvec - 1u) : 0u;
}

static int admin_queue_up(struct drv_core *core)
{
    struct osal *os = core->os;
    uint16_t entries = (uint16_t)min_u32(DRV_ADMIN_ENTRIES, HBA_CAPQ_MAX_ENTRIES(core->cap_queues));
    int rc = queue_alloc(core, &core->admin, 0, entries, 0, false, false);
    if (rc == -ENOSPC)
        osal_log(os, OSAL_LOG_ERROR, "drv: admin queue memory is not one IOVA range");
    if (rc < 0)
        return rc;
    uint64_t sq, cq;
    dma_iova(&core->admin.sq_mem, 0, 1, &sq);
    dma_iova(&core->admin.cq_mem, 0, 1, &cq);
    osal_reg_write32(os, HBA_REG_INT_MASK_SET, 0xFFFFFFFFu);
    osal_reg_write32(os, HBA_REG_INT_STATUS, 0xFFFFFFFFu);
    osal_reg_write32(os, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)sq);
    osal_reg_write32(os, HBA_REG_AQ_SQ_BASE_HI, (uint32_t)(sq >> 32));
    osal_reg_write32(os, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)cq);
    osal_reg_write32(os, HBA_REG_AQ_CQ_BASE_HI, (uint32_t)(cq >> 32));
    osal_reg_write32(os, HBA_REG_AQ_SIZE, (uint32_t)entries << 16 | entries);
    osal_reg_write32(os, HBA_REG_CONFIG, HBA_CONFIG_EN);
    uint32_t st;
    rc = wait_state(core, STATE_BIT(HBA_STATE_OPERATIONAL) | STATE_BIT(HBA_STATE_FAULT), &st);
    if (rc == 0 && !(st & HBA_STATUS_RDY)) {
        osal_log(os, OSAL_LOG_ERROR, "drv: the controller refused the admin queue (fault code %u)",
                 osal_reg_read32(os, HBA_REG_FAULT_CODE));
        rc = -EIO;
    }
    if (rc < 0)
        return rc;
    core->admin.live = true;
    return 0;
}

static int identify(struct drv_core *core)
{
    uint32_t targets = core->cons.max_targets, luns = core->cons.max_luns;
    /* One page: one IOVA range however the OS maps.  The drive list may be
     * longer; "a shorter buffer receives the first bytes", the count included. */
    uint64_t len = HBA_IOMMU_PAGE_SIZE;
    int rc = dma_get(core, len, HBA_DMA_FROM_DEVICE, &core->id_mem);
    uint64_t iova;
    if (rc == 0 && !dma_iova(&core->id_mem, 0, len, &iova))
        rc = -ENOSPC;
    if (rc < 0)
        return rc;
    struct hba_sq_entry e;
    struct hba_cq_entry c;
    adm_entry(&e, HBA_ADM_IDENTIFY);
    e.u.cdw[0] = HBA_IDENTIFY_CONTROLLER;
    e.data_len = sizeof core->ident;
    e.sge = (struct hba_sge){ .addr = iova, .length = sizeof core->ident, .type = HBA_SGE_DATA };
    rc = adm_run(core, &e, &c);
    if (rc == 0 && c.ctrl_status != HBA_CS_SUCCESS)
        rc = -EIO;
    if (rc < 0)
        return rc;
    memcpy(&core->ident, core->id_mem.buf->vaddr, sizeof core->ident);

    adm_entry(&e, HBA_ADM_IDENTIFY);
    e.u.cdw[0] = HBA_IDENTIFY_DRIVE_LIST;
    e.data_len = (uint32_t)len;
    e.sge = (struct hba_sge){ .addr = iova, .length = (uint32_t)len, .type = HBA_SGE_DATA };
    rc = adm_run(core, &e, &c);
    if (rc == 0 && c.ctrl_status != HBA_CS_SUCCESS)
        rc = -EIO;
    if (rc < 0)
        return rc;
    uint32_t n;
    memcpy(&n, core->id_mem.buf->vaddr, sizeof n);
    core->ndrives = n;
    osal_log(core->os, OSAL_LOG_INFO, "drv: %.8s %.16s firmware %.8s: %u targets x %u LUNs, %u drives",
             core->ident.vendor, core->ident.model, core->ident.firmware, targets, luns, n);
    return 0;
}

static int create_io_queues(struct drv_core *core)
{
    for (unsigned i = 0; i < core->nioq; i++) {
        struct drv_queue *q = &core->ioq[i];
        uint16_t qid = (uint16_t)(i + 1u);
        int rc = queue_alloc(core, q, qid, (uint16_t)core->opt.queue_depth, io_vector(core, i), core->opt.polled,
                             true);
        uint32_t one_page = HBA_IOMMU_PAGE_SIZE / sizeof(struct hba_sq_entry);
        if (rc == -ENOSPC && !core->started_once && i == 0 && core->opt.queue_depth > one_page) {
            /* The OS hands out mappings in pieces (as DriverKit may without a
             * segment limit): a queue that fits one page is still one range. */
            osal_log(core->os, OSAL_LOG_WARN,
                     "drv: queue memory is mapped in pieces: I/O queues shrink from %u to %u entries",
                     core->opt.queue_depth, one_page);
            core->opt.queue_depth = one_page;
            core->cons.max_outstanding = core->nioq * (one_page - 1u);
            rc = queue_alloc(core, q, qid, (uint16_t)one_page, io_vector(core, i), core->opt.polled, true);
        }
        if (rc == -ENOSPC)
            osal_log(core->os, OSAL_LOG_ERROR, "drv: queue %u memory is not one IOVA range", qid);
        if (rc < 0)
            return rc;
        uint64_t sq, cq;
        dma_iova(&q->sq_mem, 0, 1, &sq);
        dma_iova(&q->cq_mem, 0, 1, &cq);
        struct hba_sq_entry e;
        struct hba_cq_entry c;
        adm_entry(&e, HBA_ADM_CREATE_CQ);
        e.u.cdw[0] = qid;
        e.u.cdw[1] = q->entries;
        e.u.cdw[2] = q->vector;
        e.u.cdw[3] = q->polled ? HBA_CQ_FLAG_NO_IRQ : 0;
        e.sge.addr = cq;
        rc = adm_run(core, &e, &c);
        if (rc == 0 && c.ctrl_status != HBA_CS_SUCCESS) {
            osal_log(core->os, OSAL_LOG_ERROR, "drv: CREATE_CQ %u failed with controller status %#x", qid,
                     c.ctrl_status);
            rc = -EIO;
        }
        if (rc < 0)
            return rc;
        adm_entry(&e, HBA_ADM_CREATE_SQ);
        e.u.cdw[0] = qid;
        e.u.cdw[1] = q->entries;
        e.u.cdw[2] = qid;
        e.sge.addr = sq;
        rc = adm_run(core, &e, &c);
        if (rc == 0 && c.ctrl_status != HBA_CS_SUCCESS) {
            osal_log(core->os, OSAL_LOG_ERROR, "drv: CREATE_SQ %u failed with controller status %#x", qid,
                     c.ctrl_status);
            rc = -EIO;
        }
        if (rc < 0)
            return rc;
        q->live = true;
    }
    return 0;
}

/* Interrupt coalescing (hw/hba.h), when asked for and the queues take
 * interrupts: the controller forgets it at every reset, so every bring-up
 * sets it. */
static int set_coalescing(struct drv_core *core)
{
    if (core->opt.polled || !core->opt.int_coalescing)
        return 0;
    struct hba_sq_entry e;
    struct hba_cq_entry c;
    adm_entry(&e, HBA_ADM_SET_FEATURE);
    e.u.cdw[0] = HBA_FEATURE_INT_COALESCING;
    e.u.cdw[1] = 0;
    e.u.cdw[2] = core->opt.int_coalescing;
    int rc = adm_run(core, &e, &c);
    if (rc == 0 && c.ctrl_status != HBA_CS_SUCCESS) {
        osal_log(core->os, OSAL_LOG_ERROR, "drv: SET_FEATURE INT_COALESCING %#x failed with controller status %#x",
                 core->opt.int_coalescing, c.ctrl_status);
        rc = -EIO;
    }
    return rc;
}

static int enable_interrupts(struct drv_core *core)
{
    core->vec_mask = 1u; /* the admin CQ */
    if (!core->opt.polled)
        for (unsigned i = 0; i < core->nioq; i++)
            core->vec_mask |= 1u << core->ioq[i].vector;
    for (unsigned v = 0; v < core->nvec; v++) {
        if (!(core->vec_mask & (1u << v)) || core->irq[v])
            continue;
        int rc = osal_irq_create(core->os, v, core_irq, core, &core->irq[v]);
        if (rc < 0)
            return rc;
        osal_irq_enable(core->irq[v]);
    }
    osal_reg_write32(core->os, HBA_REG_INT_MASK_CLEAR, core->vec_mask);
    return 0;
}

int core_bringup(struct drv_core *core)
{
    struct osal *os = core->os;
    uint32_t id = osal_reg_read32(os, HBA_REG_ID), version = osal_reg_read32(os, HBA_REG_VERSION);
    if (id != HBA_ID_MAGIC || version >> 16 != HBA_VERSION_1_0 >> 16) {
        osal_log(os, OSAL_LOG_ERROR, "drv: no SSIM-1 controller here (ID %#x, version %#x)", id, version);
        return -ENODEV;
    }
    int rc = read_caps(core);
    if (rc == 0 && !core->ioq) {
        core->ioq = calloc(core->nioq, sizeof *core->ioq);
        if (!core->ioq)
            rc = -ENOMEM;
    }
    if (rc == 0)
        rc = reach_ready(core);
    if (rc == 0)
        rc = admin_queue_up(core);
    if (rc == 0) {
        core->log_busy = core->log_again = false;
        /* One page of the fault log at a time (header + 127 entries): the
         * reader follows the log page by page. */
        rc = dma_get(core, HBA_IOMMU_PAGE_SIZE, HBA_DMA_FROM_DEVICE, &core->log_mem);
    }
    if (rc == 0)
        rc = identify(core);
    if (rc == 0)
        rc = create_io_queues(core);
    if (rc == 0)
        rc = set_coalescing(core);
    if (rc == 0)
        rc = enable_interrupts(core);
    if (rc < 0)
        return rc;
    events_arm(core);
    core->hb_last = osal_reg_read32(os, HBA_REG_HEARTBEAT);
    core->hb_changed_ns = core_now_ns(core);
    core->pulse_last_ns = core->hb_changed_ns; /* the core ran until now: a first tick far later is a pause (check_pulse) */
    core->started_once = true;
    return 0;
}

static void free_queues(struct drv_core *core)
{
    adm_cancel_all(core);
    for (unsigned i = 0; i < core->nioq && core->ioq; i++) {
        struct drv_queue *q = &core->ioq[i];
        for (uint16_t s = 0; q->cmd && s < q->nslots; s++) {
            struct drv_io *io = q->cmd[s].busy ? q->cmd[s].io : NULL;
            if (io)
                task_pieces_lost(io);
        }
        queue_free(core, q);
    }
    queue_free(core, &core->admin);
    dma_put(core, &core->id_mem);
    dma_put(core, &core->log_mem);
}

void core_release(struct drv_core *core)
{
    core->admin.live = false;
    for (unsigned i = 0; i < core->nioq && core->ioq; i++)
        core->ioq[i].live = false;
    free_queues(core);
}

int core_disable(struct drv_core *core, bool hard)
{
    struct osal *os = core->os;
    core->admin.live = false;
    for (unsigned i = 0; i < core->nioq && core->ioq; i++)
        core->ioq[i].live = false;
    uint32_t st = osal_reg_read32(os, HBA_REG_STATUS);
    int rc = -EIO;
    if (!hard && !status_dead(st) && !(st & HBA_STATUS_FATAL)) {
        osal_reg_write32(os, HBA_REG_CONFIG, 0);
        rc = wait_state(core, STATE_BIT(HBA_STATE_READY), &st);
    }
    if (rc < 0 && !status_dead(st))
        rc = core_hard_reset(core);
    /* READY: the controller holds no queue any more.  If it never got there,
     * unmapping still cuts it off our memory before the memory is freed. */
    free_queues(core);
    return rc;
}
