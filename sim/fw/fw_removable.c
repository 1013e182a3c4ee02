/* sim/fw/fw_removable.c — a drive with a removable medium (SBC-4 4.2.3, the
 * `removable` drive key): RMB in INQUIRY, PREVENT ALLOW MEDIUM REMOVAL, and
 * START STOP UNIT with LOEJ ejecting and loading the medium.
 *
 * The medium's blocks stay in the store while it is out (the same cartridge
 * goes back in); what changes is that every command needing a ready unit
 * answers NOT READY 3Ah/00h (fw_drive_readiness) until it is loaded again.
 * Prevention is held per I_T nexus, as SPC-5 has it: the medium may not be
 * ejected while any nexus prevents it, and a nexus's prevention ends with
 * PREVENT=0 from it, its loss, a LUN or target reset, or power on. */
#include "sim/fw/fw_priv.h"

#include <string.h>

#define FW_ASC_MEDIUM_REMOVAL_PREVENTED SCSI_ASCQ(0x53, 0x02)
#define FW_ASC_MEDIUM_MAY_HAVE_CHANGED  SCSI_ASCQ(0x28, 0x00)   /* NOT READY TO READY CHANGE */

#define INQ_RMB 0x80   /* standard INQUIRY byte 1 */

void fw_removable_inquiry(const struct fw_drive *d, uint8_t *std)
{
    if (d && d->removable)
        std[1] |= INQ_RMB;
}

/* Nexus i's prevention bit, and the count of nexuses that prevent. */
static void set_prevent(struct fw_drive *d, unsigned i, bool on)
{
    uint64_t bit = 1ull << (i % 64), *w = &d->prevent[i / 64];
    if (on && !(*w & bit))
        d->preventers++;
    else if (!on && (*w & bit))
        d->preventers--;
    *w = on ? *w | bit : *w & ~bit;
}

void fw_removable_allow(struct fw_drive *d, int initiator)
{
    if (initiator < 0) {
        memset(d->prevent, 0, sizeof d->prevent);
        d->preventers = 0;
    } else if (initiator < (int)HBA_MAX_INITIATORS) {
        set_prevent(d, (unsigned)initiator, false);
    }
}

struct scsi_sense_reason fw_removable_prevent_allow(struct fw_ctx *c)
{
    /* PREVENT 00b allows, 01b prevents; 10b and 11b are the obsolete
     * persistent prevention (the usage data lets both bits through so the
     * field pointer names the field, not a reserved bit). */
    uint8_t prevent = c->cdb[4] & 0x03;
    if (prevent > 1)
        return scsi_reason_invalid_cdb_field(4, 1);
    set_prevent(c->d, c->t->initiator, prevent);
    return fw_good();
}

struct scsi_sense_reason fw_removable_load_eject(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    bool start = c->cdb[4] & 0x01, no_flush = c->cdb[4] & 0x04;
    /* Prevention holds the tray shut both ways: no eject, and no load
     * either (what libiscsi's PreventAllow.Eject expects, as tgt does). */
    if (d->preventers)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, FW_ASC_MEDIUM_REMOVAL_PREVENTED);
    if (!start) {
        if (d->medium_absent)
            return fw_good();            /* nothing in the drive: nothing to do */
        if (!no_flush) {
            int rc = sim_store_flush(d->store, 0, 0);
            if (rc < 0)
                return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, 0);
        }
        d->medium_absent = true;
        d->stopped = true;
        return fw_good();
    }
    bool was_absent = d->medium_absent;
    d->medium_absent = false;
    d->stopped = false;
    d->ready = true;                     /* loaded and spun up when the command ends */
    if (was_absent) {
        /* Every other nexus learns the medium may have changed; the one
         * that loaded it knows. */
        fw_ua_add_all(d->ua, HBA_MAX_INITIATORS, c->t->initiator, FW_ASC_MEDIUM_MAY_HAVE_CHANGED);
    }
    return fw_good();
}
