/* sim/fw/fw_hotplug.c — drives that appear and disappear while the controller
 * runs: the fault engine's insert and remove actions (docs/faults.md), behind
 * `scsisim ctl … lun add|remove`.  A removed drive is gone at once, dirty
 * cache and all, as a pulled disk is; commands to its address then get what
 * an empty address gets (LOGICAL UNIT NOT SUPPORTED, or no answer to
 * selection when it was its target's last drive).  Its siblings on the target
 * report REPORTED LUNS DATA HAS CHANGED so initiators rescan (SPC-4 7.8.3
 * leaves the choice of LU to the target: every other LU of it here). */
#include "sim/fw/fw_priv.h"
#include "sim/fw/fw_plugin.h"

#include <errno.h>
#include <stdlib.h>

/* Under fw->lock: 3Fh/0Eh on every drive of target but skip, every nexus. */
static void luns_changed(struct fw *fw, uint16_t target, const struct fw_drive *skip)
{
    for (uint32_t l = 0; l < fw->max_luns; l++) {
        struct fw_drive *o = fw_drive_at(fw, target, (uint16_t)l);
        if (!o || o == skip)
            continue;
        fw_ua_add_all(o->ua, HBA_MAX_INITIATORS, HBA_MAX_INITIATORS, SCSI_ASC_REPORTED_LUNS_CHANGED);
    }
}

static void emit_changed(struct fw *fw, uint16_t target, uint16_t lun)
{
    fw_event_fn fn = fw->event_fn;
    void *arg = fw->event_arg;
    fw_unlock(fw);
    if (fn)
        fn(arg, HBA_AEV_DRIVE_CHANGED, ((uint32_t)target << 8 | lun) & 0xffffffu);
}

static void drive_free(struct fw_drive *d)
{
    fw_plugin_drive_close(d);
    sim_store_destroy(d->store);
    free(d);
}

int fw_drive_insert(struct fw *fw, const struct sim_config *cfg, const struct sim_lu_config *lu, char *err,
                    size_t errlen)
{
    if (lu->target >= fw->max_targets || lu->lun >= fw->max_luns) {
        errf(err, errlen, "%u:%u is beyond the controller's %u targets and %u LUNs", lu->target, lu->lun,
             fw->max_targets, fw->max_luns);
        return -ERANGE;
    }
    fw_lock(fw);
    bool taken = fw_drive_at(fw, lu->target, lu->lun) != NULL;
    fw_unlock(fw);
    if (taken) {
        errf(err, errlen, "drive %u:%u is there already; remove it first", lu->target, lu->lun);
        return -EEXIST;
    }
    struct fw_drive *d;
    int rc = fw_drive_create(cfg, lu, &d, err, errlen); /* the store, outside the lock */
    if (rc < 0)
        return rc;
    if (fw->plugin && (rc = fw_plugin_drive_open(fw->plugin, d, err, errlen)) < 0) {
        sim_store_destroy(d->store);
        free(d);
        return rc;
    }
    fw_lock(fw);
    struct fw_drive **slot = &fw->slot[(size_t)lu->target * fw->max_luns + lu->lun];
    if (*slot) { /* another insert won the race */
        fw_unlock(fw);
        drive_free(d);
        errf(err, errlen, "drive %u:%u is there already; remove it first", lu->target, lu->lun);
        return -EEXIST;
    }
    fw_drive_power_on(d, clock_now_ns()); /* a new drive reports POWER ON (29h/01h) first */
    *slot = d;
    fw->luns_in_target[lu->target]++;
    fw->drive_count++;
    luns_changed(fw, lu->target, d);
    emit_changed(fw, lu->target, lu->lun);
    return 0;
}

int fw_drive_remove(struct fw *fw, uint16_t target, uint16_t lun)
{
    fw_lock(fw);
    struct fw_drive *d = fw_drive_at(fw, target, lun);
    if (!d) {
        fw_unlock(fw);
        return -ENOENT;
    }
    fw->slot[(size_t)target * fw->max_luns + lun] = NULL;
    fw->luns_in_target[target]--;
    fw->drive_count--;
    luns_changed(fw, target, NULL);
    emit_changed(fw, target, lun);
    /* Commands run under fw->lock or as the claimed thread's, which fw_lock
     * waited out, and look drives up each time: nothing holds d now. */
    drive_free(d);
    return 0;
}
