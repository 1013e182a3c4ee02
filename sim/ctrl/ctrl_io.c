/* sim/ctrl/ctrl_io.c — HBA_OP_SCSI: validate the copied entry, move data-out into
 * a bounce buffer, run the command in the firmware, move data-in and sense
 * back to host memory, complete.  Every field of the entry is checked before
 * it is used; a bad field is a controller status, never a crash. */
#include <stddef.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "sim/ctrl/ctrl_internal.h"

/* HBA_CS_SUCCESS, or the controller status for a malformed entry. */
static int validate(const struct sim_ctrl *c, const struct hba_sq_entry *e)
{
    uint8_t dir = e->flags & HBA_FLAG_DIR_MASK;
    if (e->cdb_len < 6 || e->cdb_len > HBA_CDB_MAX)
        return HBA_CS_INVALID_FIELD;
    if (e->sense_len > HBA_SENSE_MAX || e->initiator >= HBA_MAX_INITIATORS)
        return HBA_CS_INVALID_FIELD;
    if (e->target_port >= (c->cfg.target_ports ? c->cfg.target_ports : 1))
        return HBA_CS_INVALID_FIELD; /* no such port */
    if (e->flags & ~(HBA_FLAG_DIR_MASK | HBA_FLAG_ATTR_MASK))
        return HBA_CS_INVALID_FIELD; /* reserved flag bits */
    if (dir == (HBA_FLAG_DIR_READ | HBA_FLAG_DIR_WRITE))
        return HBA_CS_INVALID_FIELD; /* bidirectional commands are not supported */
    if (dir == HBA_FLAG_DIR_NONE && e->data_len)
        return HBA_CS_INVALID_FIELD;
    if (e->target >= c->cfg.max_targets || e->lun >= c->cfg.max_luns)
        return HBA_CS_INVALID_TARGET;
    if (e->data_len > c->cfg.max_xfer)
        return HBA_CS_XFER_TOO_LONG;
    return HBA_CS_SUCCESS;
}

static bool take_drop(struct sim_ctrl *c)
{
    uint32_t n = atomic_load(&c->inj_drop);
    while (n && !atomic_compare_exchange_weak(&c->inj_drop, &n, n - 1))
        ;
    return n != 0;
}

/* Tells the observer (sim_ctrl_set_observer), if any, what became of e. */
static void observe(struct sim_ctrl *c, uint16_t sqid, const struct hba_sq_entry *e, bool completed, uint8_t cs,
                    uint8_t status, const uint8_t *data, uint32_t xfer, const uint8_t *sense, uint8_t sense_len)
{
    sim_cmd_observer fn = atomic_load_explicit(&c->observer, memory_order_acquire);
    if (!fn)
        return;
    uint8_t dir = e->flags & HBA_FLAG_DIR_MASK;
    struct sim_cmd_seen s = {
        .initiator = e->initiator, .target = e->target, .lun = e->lun, .sq_id = sqid, .cid = e->cid,
        .cdb = e->u.cdb, .cdb_len = e->cdb_len <= HBA_CDB_MAX ? e->cdb_len : HBA_CDB_MAX, .dir = dir,
        .attr = (uint8_t)((e->flags & HBA_FLAG_ATTR_MASK) >> HBA_FLAG_ATTR_SHIFT),
        .data_len = e->data_len, .data = data, .xfer = xfer, .completed = completed, .ctrl_status = cs,
        .scsi_status = status, .sense = sense, .sense_len = sense_len,
    };
    fn(atomic_load_explicit(&c->observer_arg, memory_order_acquire), &s);
}

void sim_ctrl_set_observer(struct sim_ctrl *c, sim_cmd_observer fn, void *arg)
{
    atomic_store_explicit(&c->observer, NULL, memory_order_release);
    atomic_store_explicit(&c->observer_arg, arg, memory_order_release);
    atomic_store_explicit(&c->observer, fn, memory_order_release);
}

/* A command's statistics wait for its batch's end (ctrl_stats_settle, at
 * the end of sq_service): one clock read per batch, not one per command. */
static void note_later(struct sim_ctrl *c, const struct hba_sq_entry *e, uint64_t t0, uint32_t xfer, bool injected)
{
    struct ctrl_fw *f = &c->fw_state;
    if (f->nnotes == CTRL_NOTES_MAX)
        ctrl_stats_settle(c);
    f->notes[f->nnotes++] = (struct ctrl_note){
        .t0 = t0, .bytes = xfer, .target = e->target, .lun = e->lun, .opcode = e->u.cdb[0], .injected = injected,
    };
}

uint64_t ctrl_stats_settle(struct sim_ctrl *c)
{
    struct ctrl_fw *f = &c->fw_state;
    if (!f->nnotes)
        return 0;
    uint64_t now = clock_now_ns();
    for (unsigned i = 0; i < f->nnotes; i++) {
        const struct ctrl_note *n = &f->notes[i];
        fault_stats_note(&c->faults, n->target, n->lun, n->opcode, n->bytes, now - n->t0, n->injected);
    }
    f->nnotes = 0;
    f->flush_ns = now;
    return now;
}

/* Posts a decided completion now, or holds it for the fault engine's delay;
 * records the command in the statistics either way (a held one at once, the
 * rest at its batch's end). */
static void finish(struct sim_ctrl *c, uint16_t sqid, const struct hba_sq_entry *e, uint64_t t0,
                   const struct fault_verdict *fv, uint8_t cs, uint8_t ss, uint32_t xfer, uint8_t sense_len,
                   uint64_t fw_hold_ns)
{
    bool injected = fv->outcome != FAULT_RUN || fv->delay_ns || fv->spurious;
    /* The firmware's own work may outlast the command (SANITIZE with IMMED=0,
     * fw.h hold_ns): its completion is held like a latency rule's, but it is
     * not an injected fault. */
    uint64_t delay = fv->delay_ns > fw_hold_ns ? fv->delay_ns : fw_hold_ns;
    if (delay) {
        /* Held: its due time wants the clock now, so it is noted now too. */
        uint64_t now = clock_now_ns();
        fault_stats_note(&c->faults, e->target, e->lun, e->u.cdb[0], xfer, now - t0 + delay, injected);
        if (ctrl_held_delay(c, sqid, e->cid, e->target, e->lun, now + delay, cs, ss, xfer, sense_len) == 0)
            return;
    } else {
        note_later(c, e, t0, xfer, injected);
    }
    ctrl_complete(c, sqid, e->cid, cs, ss, xfer, sense_len);
    if (fv->outcome == FAULT_DUP)
        ctrl_complete(c, sqid, e->cid, cs, ss, xfer, sense_len); /* the same entry twice: a firmware bug */
}

/* A fault rule's CHECK CONDITION: sense (fixed format) to the host, no data. */
static void fault_check(struct sim_ctrl *c, uint16_t sqid, const struct hba_sq_entry *e, uint64_t t0,
                        const struct fault_verdict *fv)
{
    uint8_t sense[HBA_SENSE_MAX];
    uint8_t ss = fv->outcome == FAULT_STATUS ? fv->status : SCSI_STATUS_CHECK_CONDITION;
    uint8_t n = 0, len = 0;
    if (fv->outcome == FAULT_CHECK)
        n = (uint8_t)scsi_sense_build(sense, sizeof sense, false, &fv->sense);
    int rc = HBA_CS_SUCCESS;
    if (n && e->sense_len) {
        len = n < e->sense_len ? n : e->sense_len;
        rc = ctrl_dma_write(c, e->sense_addr, sense, len, sqid, e->cid);
        if (rc == HBA_CS_DATA_XFER_ERROR)
            rc = HBA_CS_SENSE_XFER_ERROR;
    }
    if (rc == CTRL_CS_FAULTED) {
        observe(c, sqid, e, false, HBA_CS_SUCCESS, 0, NULL, 0, NULL, 0);
        return;
    }
    observe(c, sqid, e, true, (uint8_t)rc, ss, NULL, 0, sense, n);
    finish(c, sqid, e, t0, fv, (uint8_t)rc, rc == HBA_CS_SUCCESS ? ss : 0, 0, rc == HBA_CS_SUCCESS ? len : 0, 0);
}

/* Host memory a READ's data may go to directly (fw_task.host_data): the
 * SGL is one element and the IOMMU translates all of it to one run of RAM
 * the device may write.  Not while an iommu-fault rule is set: those count
 * and fault the copies the controller makes (sim/fault), so the copy stays. */
static uint8_t *read_window(struct sim_ctrl *c, uint8_t dir, const struct ctrl_sgl *sgl, uint32_t len)
{
    if (dir != HBA_FLAG_DIR_READ || len == 0 || sgl->nseg != 1 || sgl->seg[0].len < len ||
        fault_dma_rules_set(&c->faults))
        return NULL;
    return sim_iommu_write_window(c->iommu, sgl->seg[0].addr & c->addr_mask, len);
}

static void run(struct sim_ctrl *c, uint16_t sqid, const struct hba_sq_entry *e)
{
    struct ctrl_fw *f = &c->fw_state;
    uint64_t t0 = f->fetch_ns; /* the fetch of its pass (sq_service): no clock read per command */
    uint8_t dir = e->flags & HBA_FLAG_DIR_MASK;
    struct fault_verdict fv = { .outcome = FAULT_RUN };
    struct ctrl_sgl sgl;
    int rc = ctrl_sgl_walk(c, &e->sge, dir == HBA_FLAG_DIR_NONE ? 0 : e->data_len, sqid, e->cid, &sgl);
    if (rc != HBA_CS_SUCCESS)
        goto done;

    if (take_drop(c)) {
        /* Injected: the firmware loses the command; only an abort or a reset
         * ever completes it. */
        if (ctrl_held_add(c, CTRL_HELD_DROPPED, sqid, e->cid, e->target, e->lun) == 0) {
            observe(c, sqid, e, false, HBA_CS_SUCCESS, 0, NULL, 0, NULL, 0);
            return;
        }
        ctrl_sim_bug(c, "out of memory holding a dropped command");
        rc = HBA_CS_INTERNAL;
        goto done;
    }

    const struct fault_cmd fc = { .target = e->target, .lun = e->lun, .cdb = e->u.cdb, .cdb_len = e->cdb_len };
    fault_eval(&c->faults, &fc, &fv);
    if (fv.spurious)
        ctrl_irq_spurious(c, sqid); /* before this command's completion exists */
    if (fv.outcome == FAULT_FATAL_STATUS) {
        /* Controller fatal as a rule: the command is not run; the driver's
         * recovery (hard reset) ends it with the rest. */
        fault_stats_note(&c->faults, e->target, e->lun, e->u.cdb[0], 0, clock_now_ns() - t0, true);
        ctrl_fault(c, HBA_FAULT_INJECTED);
        observe(c, sqid, e, false, HBA_CS_SUCCESS, 0, NULL, 0, NULL, 0);
        return;
    }
    if (fv.outcome == FAULT_CHECK || fv.outcome == FAULT_STATUS) {
        fault_check(c, sqid, e, t0, &fv);
        return;
    }
    if (fv.outcome == FAULT_HOLD) {
        /* A hang: the command is never run and never completed; an abort or a
         * reset completes it, as for a dropped one. */
        fault_stats_note(&c->faults, e->target, e->lun, e->u.cdb[0], 0, clock_now_ns() - t0, true);
        if (ctrl_held_add(c, CTRL_HELD_DROPPED, sqid, e->cid, e->target, e->lun) == 0) {
            observe(c, sqid, e, false, HBA_CS_SUCCESS, 0, NULL, 0, NULL, 0);
            return;
        }
        ctrl_sim_bug(c, "out of memory holding a hung command");
        rc = HBA_CS_INTERNAL;
        goto done;
    }

    uint8_t *data = ctrl_buffer(&f->bounce, &f->bounce_cap, e->data_len);
    if (!data) {
        ctrl_sim_bug(c, "out of memory for a %u-byte bounce buffer", e->data_len);
        rc = HBA_CS_INTERNAL;
        goto done;
    }
    /* A data-in buffer is the firmware's to zero (fw_execute), which knows
     * the commands that fill every byte they report. */
    if (dir == HBA_FLAG_DIR_WRITE) {
        rc = ctrl_sgl_copy_in(c, &sgl, data, e->data_len, sqid, e->cid);
        if (rc != HBA_CS_SUCCESS)
            goto done;
    }

    uint8_t cdb[HBA_CDB_MAX];
    memcpy(cdb, e->u.cdb, sizeof(cdb));
    /* Zeroed up to the sense buffer, not whole (an initializer would zero its
     * 252 bytes at every command): sense is written by whoever sets sense_len
     * and read only up to it, and fw_execute sets the outputs after it. */
    struct fw_task t;
    memset(&t, 0, offsetof(struct fw_task, sense));
    t.initiator = e->initiator;
    t.target_port = e->target_port;
    t.target = e->target;
    t.lun = e->lun;
    t.cdb = cdb;
    t.cdb_len = e->cdb_len;
    t.dir = dir;
    t.data = data;
    t.data_len = dir == HBA_FLAG_DIR_NONE ? 0 : e->data_len;
    t.host_data = read_window(c, dir, &sgl, e->data_len);
    fw_execute(c->fw, &t);
    if (t.direct)
        data = t.data; /* the data-in is already in host memory */
    if (fv.outcome == FAULT_CHECK_AFTER && t.ctrl_status == HBA_CS_SUCCESS && t.status == SCSI_STATUS_GOOD) {
        /* A recovered error: the data moved, the status says it needed help. */
        t.status = SCSI_STATUS_CHECK_CONDITION;
        t.sense_len = (uint8_t)scsi_sense_build(t.sense, sizeof t.sense, false, &fv.sense);
    }
    if (t.ctrl_status != HBA_CS_SUCCESS) {
        rc = t.ctrl_status;
        goto done;
    }
    uint32_t xfer = t.xfer < t.data_len ? t.xfer : t.data_len;
    if (dir == HBA_FLAG_DIR_READ && xfer && !t.direct) {
        rc = ctrl_sgl_copy_out(c, &sgl, data, xfer, sqid, e->cid);
        if (rc != HBA_CS_SUCCESS)
            goto done;
    }
    uint8_t sense_len = 0;
    if (t.status == SCSI_STATUS_CHECK_CONDITION && t.sense_len && e->sense_len) {
        sense_len = t.sense_len < e->sense_len ? t.sense_len : e->sense_len;
        rc = ctrl_dma_write(c, e->sense_addr, t.sense, sense_len, sqid, e->cid);
        if (rc == HBA_CS_DATA_XFER_ERROR)
            rc = HBA_CS_SENSE_XFER_ERROR;
        if (rc != HBA_CS_SUCCESS)
            goto done;
    }
    if (fv.outcome == FAULT_LOST) {
        /* The command ran (its data is where it went); its completion is lost. */
        fault_stats_note(&c->faults, e->target, e->lun, e->u.cdb[0], xfer, clock_now_ns() - t0, true);
        if (ctrl_held_add(c, CTRL_HELD_DROPPED, sqid, e->cid, e->target, e->lun) == 0) {
            observe(c, sqid, e, false, HBA_CS_SUCCESS, 0, NULL, 0, NULL, 0);
            return;
        }
        ctrl_sim_bug(c, "out of memory holding a lost completion");
    }
    observe(c, sqid, e, true, HBA_CS_SUCCESS, t.status, dir == HBA_FLAG_DIR_NONE ? NULL : data,
            dir == HBA_FLAG_DIR_WRITE ? t.data_len : xfer, t.sense, t.sense_len);
    finish(c, sqid, e, t0, &fv, HBA_CS_SUCCESS, t.status, xfer, sense_len, t.hold_ns);
    return;
done:
    observe(c, sqid, e, rc != CTRL_CS_FAULTED, rc == CTRL_CS_FAULTED ? HBA_CS_SUCCESS : (uint8_t)rc, 0, NULL, 0,
            NULL, 0);
    if (rc != CTRL_CS_FAULTED)
        finish(c, sqid, e, t0, &fv, (uint8_t)rc, 0, 0, 0, 0);
}

void ctrl_io_submit(struct sim_ctrl *c, uint16_t sqid, const struct hba_sq_entry *e)
{
    struct ctrl_sq *sq = &c->fw_state.sq[sqid];
    if (ctrl_cid_busy(sq, e->cid)) {
        ctrl_driver_error(c, "SQ %u: command id %u already outstanding", sqid, e->cid);
        ctrl_complete(c, sqid, e->cid, HBA_CS_CID_CONFLICT, 0, 0, 0);
        return;
    }
    ctrl_sq_mark(c, sqid, e->cid);
    int rc = HBA_CS_SUCCESS;
    if (e->opcode != HBA_OP_SCSI)
        rc = HBA_CS_INVALID_OPCODE;
    else if (c->fw_state.shut_down)
        rc = HBA_CS_SHUTDOWN;
    else
        rc = validate(c, e);
    if (rc != HBA_CS_SUCCESS) {
        ctrl_driver_error(c, "SQ %u cid %u: entry rejected with controller status %#x", sqid, e->cid, rc);
        observe(c, sqid, e, true, (uint8_t)rc, 0, NULL, 0, NULL, 0);
        ctrl_complete(c, sqid, e->cid, (uint8_t)rc, 0, 0, 0);
        return;
    }
    if (ctrl_task_set_full(c, e)) {
        observe(c, sqid, e, true, HBA_CS_SUCCESS, SCSI_STATUS_TASK_SET_FULL, NULL, 0, NULL, 0);
        ctrl_complete(c, sqid, e->cid, HBA_CS_SUCCESS, SCSI_STATUS_TASK_SET_FULL, 0, 0);
        return;
    }
    run(c, sqid, e);
}
