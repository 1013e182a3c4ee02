/* sim/fw/fw_admin.c — what the controller asks of the firmware outside SCSI
 * commands: resets, nexus loss, power, cache control, battery, identify data,
 * and the test hooks.  Every entry point takes the firmware lock; events are
 * delivered to the hook after the lock is dropped. */
#include "sim/fw/fw_priv.h"

#include <errno.h>
#include <string.h>

#define ALL16 ((uint16_t)(HBA_ALL_DRIVES >> 16))

static void event_add(struct fw_events *ev, uint8_t type, uint32_t info)
{
    if (ev->n < FW_EVENTS_MAX) {
        ev->e[ev->n].type = type;
        ev->e[ev->n].info = info & 0xffffffu;   /* the completion carries 24 bits */
        ev->n++;
    }
}

/* Drops the lock, then tells the controller. */
static void unlock_and_emit(struct fw *fw, const struct fw_events *ev)
{
    fw_event_fn fn = fw->event_fn;
    void *arg = fw->event_arg;
    fw_unlock(fw);
    for (unsigned i = 0; fn && i < ev->n; i++)
        fn(arg, ev->e[i].type, ev->e[i].info);
}

static struct fw_drive *slot_at(const struct fw *fw, size_t i)
{
    return fw->slot[i];
}

static size_t slot_count(const struct fw *fw)
{
    return (size_t)fw->max_targets * fw->max_luns;
}

static void raise_all_nexuses(struct fw_drive *d, uint16_t code)
{
    fw_ua_add_all(d->ua, HBA_MAX_INITIATORS, HBA_MAX_INITIATORS, code);
}

/* SAM: after a reset the mode parameters return to their saved values.  A
 * failed flush (WCE 1 -> 0) leaves the current values, and the data, alone. */
static void reset_drive(struct fw_drive *d, uint16_t code)
{
    raise_all_nexuses(d, code);
    d->reserved_by = FW_NOT_RESERVED;   /* SPC-2: a reset releases a RESERVE */
    fw_removable_allow(d, -1);          /* SPC-5: and ends medium removal prevention */
    (void)fw_drive_set_mode(d, &d->saved, false);
}

void fw_reset(struct fw *fw, enum hba_reset_scope scope, uint16_t target, uint16_t lun)
{
    fw_lock(fw);
    for (size_t i = 0; i < slot_count(fw); i++) {
        struct fw_drive *d = slot_at(fw, i);
        if (!d)
            continue;
        if (scope == HBA_RESET_BUS)
            reset_drive(d, SCSI_ASC_SCSI_BUS_RESET);
        else if (d->target == target && (scope == HBA_RESET_TARGET || (scope == HBA_RESET_LUN && d->lun == lun)))
            reset_drive(d, SCSI_ASC_BUS_DEVICE_RESET);
    }
    fw_unlock(fw);
}

void fw_controller_reset(struct fw *fw)
{
    fw_lock(fw);
    for (size_t i = 0; i < slot_count(fw); i++)
        if (slot_at(fw, i))
            reset_drive(slot_at(fw, i), SCSI_ASC_DEVICE_INTERNAL_RESET);
    fw_unlock(fw);
}

void fw_nexus_loss(struct fw *fw, uint16_t initiator)
{
    if (initiator >= HBA_MAX_INITIATORS)
        return;
    fw_lock(fw);
    for (size_t i = 0; i < slot_count(fw); i++) {
        struct fw_drive *d = slot_at(fw, i);
        if (!d)
            continue;
        fw_ua_add(&d->ua[initiator], SCSI_ASC_I_T_NEXUS_LOSS);
        fw_xcopy_nexus_loss(d, initiator);
        if (d->reserved_by == (int)initiator)
            d->reserved_by = FW_NOT_RESERVED;   /* the holder's nexus is gone */
        fw_removable_allow(d, initiator);
    }
    fw_unlock(fw);
}

uint64_t fw_power_cut(struct fw *fw, const struct sim_power_cut *how)
{
    struct sim_power_cut all = { .mode = SIM_POWER_CUT_ALL };
    uint64_t lost = 0;
    fw_lock(fw);
    for (size_t i = 0; i < slot_count(fw); i++)
        if (slot_at(fw, i))
            lost += sim_store_power_cut(slot_at(fw, i)->store, how ? how : &all);
    fw_unlock(fw);
    return lost;
}

void fw_power_on(struct fw *fw)
{
    fw_lock(fw);
    uint64_t now = clock_now_ns();
    for (size_t i = 0; i < slot_count(fw); i++) {
        struct fw_drive *d = slot_at(fw, i);
        if (!d)
            continue;
        /* A replay failure leaves the lines lost; the oracle will say so. */
        (void)sim_store_power_on(d->store);
        (void)fw_drive_set_mode(d, &d->saved, false);
        fw_drive_power_on(d, now);
    }
    fw_unlock(fw);
}

/* Drives addressed by (target, lun): one, or every drive for HBA_ALL_DRIVES.
 * Calls fn on each; returns -ENOENT when none matched, else the first error. */
typedef int (*drive_fn)(struct fw_drive *d, void *arg);

static int for_drives(struct fw *fw, uint16_t target, uint16_t lun, bool all, drive_fn fn, void *arg)
{
    if (!all && !(target == ALL16 && lun == ALL16)) {
        struct fw_drive *d = fw_drive_at(fw, target, lun);
        return d ? fn(d, arg) : -ENOENT;
    }
    int first = 0;
    bool any = false;
    for (size_t i = 0; i < slot_count(fw); i++) {
        if (!slot_at(fw, i))
            continue;
        any = true;
        int rc = fn(slot_at(fw, i), arg);
        if (rc < 0 && first == 0)
            first = rc;   /* keep going: one drive's trouble must not skip the others */
    }
    return any ? first : -ENOENT;
}

static int flush_one(struct fw_drive *d, void *arg)
{
    (void)arg;
    return sim_store_flush(d->store, 0, 0);
}

int fw_flush(struct fw *fw, uint16_t target, uint16_t lun, bool all)
{
    fw_lock(fw);
    int rc = for_drives(fw, target, lun, all, flush_one, NULL);
    fw_unlock(fw);
    return rc;
}

static int set_wce_one(struct fw_drive *d, void *arg)
{
    struct fw_mode_params p = d->cur;
    p.wce = *(const bool *)arg;
    int rc = fw_drive_set_mode(d, &p, false);
    if (rc == 0)
        d->saved.wce = p.wce;   /* a controller setting outlives resets and power cycles */
    return rc;
}

int fw_set_write_cache(struct fw *fw, uint16_t target, uint16_t lun, bool on)
{
    fw_lock(fw);
    int rc = for_drives(fw, target, lun, false, set_wce_one, &on);
    fw_unlock(fw);
    return rc;
}

static int get_wce_one(struct fw_drive *d, void *arg)
{
    *(bool *)arg = *(bool *)arg && d->cur.wce;
    return 0;
}

int fw_get_write_cache(struct fw *fw, uint16_t target, uint16_t lun, bool *on)
{
    bool all_on = true;
    fw_lock(fw);
    int rc = for_drives(fw, target, lun, false, get_wce_one, &all_on);
    fw_unlock(fw);
    if (rc == 0)
        *on = all_on;
    return rc;
}

struct battery_arg {
    enum hba_battery b;
    bool changed;
};

static int set_battery_one(struct fw_drive *d, void *arg)
{
    struct battery_arg *a = arg;
    if (d->battery != a->b) {
        d->battery = a->b;
        sim_store_set_battery(d->store, a->b);
        a->changed = true;
    }
    return 0;
}

int fw_set_battery(struct fw *fw, uint16_t target, uint16_t lun, enum hba_battery b)
{
    if (b != HBA_BATTERY_ABSENT && b != HBA_BATTERY_GOOD && b != HBA_BATTERY_FAILED)
        return -EINVAL;
    struct battery_arg a = { .b = b };
    struct fw_events ev = { 0 };
    fw_lock(fw);
    int rc = for_drives(fw, target, lun, false, set_battery_one, &a);
    if (a.changed)
        event_add(&ev, HBA_AEV_BATTERY, b);
    unlock_and_emit(fw, &ev);
    return rc;
}

int fw_identify_drive(struct fw *fw, uint16_t target, uint16_t lun, struct hba_identify_drive *out)
{
    fw_lock(fw);
    struct fw_drive *d = fw_drive_at(fw, target, lun);
    if (!d) {
        fw_unlock(fw);
        return -ENOENT;
    }
    memset(out, 0, sizeof(*out));
    out->blocks = d->blocks;
    out->block_size = d->block_size;
    out->target = d->target;
    out->lun = d->lun;
    out->write_cache = d->cur.wce;
    out->write_protect = d->write_protect || d->cur.swp;
    out->ready = !d->stopped && (d->ready || clock_now_ns() >= d->ready_at_ns);
    memcpy(out->serial, d->serial, strnlen(d->serial, sizeof(out->serial)));
    memcpy(out->naa_id, d->naa, sizeof(out->naa_id));
    fw_unlock(fw);
    return 0;
}

size_t fw_drive_list(struct fw *fw, uint32_t *addrs, size_t max)
{
    size_t n = 0;
    fw_lock(fw);
    for (size_t i = 0; i < slot_count(fw); i++) {
        struct fw_drive *d = slot_at(fw, i);
        if (!d)
            continue;
        if (addrs && n < max)
            addrs[n] = (uint32_t)d->target << 16 | d->lun;
        n++;
    }
    fw_unlock(fw);
    return n;
}

static void raise_on(struct fw_drive *d, int initiator, uint16_t code)
{
    if (initiator < 0)
        raise_all_nexuses(d, code);
    else
        fw_ua_add(&d->ua[initiator], code);
}

int fw_raise_ua(struct fw *fw, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    if (initiator >= (int)HBA_MAX_INITIATORS || initiator < -1)
        return -EINVAL;
    fw_lock(fw);
    struct fw_drive *d = fw_drive_at(fw, target, lun);
    if (!d) {
        fw_unlock(fw);
        return -ENOENT;
    }
    if (asc_ascq == SCSI_ASC_REPORTED_LUNS_CHANGED) {
        /* The LUN inventory belongs to the target: every LUN of it tells. */
        for (uint32_t l = 0; l < fw->max_luns; l++)
            if (fw_drive_at(fw, target, (uint16_t)l))
                raise_on(fw_drive_at(fw, target, (uint16_t)l), initiator, asc_ascq);
    } else {
        raise_on(d, initiator, asc_ascq);
    }
    fw_unlock(fw);
    return 0;
}

int fw_set_capacity(struct fw *fw, uint16_t target, uint16_t lun, uint64_t blocks)
{
    struct fw_events ev = { 0 };
    fw_lock(fw);
    struct fw_drive *d = fw_drive_at(fw, target, lun);
    int rc = 0;
    if (!d)
        rc = -ENOENT;
    else if (blocks == 0)
        rc = -EINVAL;
    else if (blocks > d->store_blocks)
        rc = -ERANGE;   /* the store cannot grow past what it was created with */
    else if (blocks != d->blocks) {
        d->blocks = blocks;
        raise_all_nexuses(d, SCSI_ASC_CAPACITY_DATA_CHANGED);
        event_add(&ev, HBA_AEV_DRIVE_CHANGED, (uint32_t)target << 8 | lun);
    }
    unlock_and_emit(fw, &ev);
    return rc;
}

int fw_check_media(struct fw *fw, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    fw_lock(fw);
    struct fw_drive *d = fw_drive_at(fw, target, lun);
    int rc = d ? sim_store_check(d->store, r) : -ENOENT;
    fw_unlock(fw);
    for (uint32_t i = 0; rc == 0 && i < r->n_ranges; i++) {
        r->range[i].target = target;   /* the store does not know where it sits */
        r->range[i].lun = lun;
    }
    return rc;
}

uint64_t fw_store_injected(struct fw *fw)
{
    uint64_t n = 0;
    fw_lock(fw);
    for (size_t i = 0; i < slot_count(fw); i++)
        if (slot_at(fw, i))
            n += sim_store_injected(slot_at(fw, i)->store);
    fw_unlock(fw);
    return n;
}
