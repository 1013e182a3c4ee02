/* sim/fw/fw_resv.c — RESERVE and RELEASE (6)/(10) (SPC-2 7.21-7.24, kept by
 * SPC-5 as the "reserve/release" management method): one I_T nexus may
 * reserve a logical unit; every other nexus then gets RESERVATION CONFLICT on
 * every command but the few the table marks FW_F_RESV_OK (INQUIRY, REQUEST
 * SENSE, REPORT LUNS, REPORT SUPPORTED OPERATION CODES, RELEASE).  Initiators
 * are told apart as the unit attentions tell them apart: t->initiator, the
 * controller's nexus index.  A reservation ends with RELEASE from its holder,
 * the holder's nexus loss, a LUN, target or bus reset, and power on (fw.c,
 * fw_admin.c).  Third-party reservations and extents are not supported: their
 * CDB fields are reserved bits in the table. */
#include "sim/fw/fw_priv.h"

/* The dispatcher's gate: a command from another nexus than the holder's. */
bool fw_resv_conflict(const struct fw_ctx *c)
{
    if (!c->d)
        return false;
    /* SPC-5 5.14.3: RESERVE and RELEASE meet persistent reservations with a conflict. */
    if ((c->cmd->handler == fw_resv_reserve || c->cmd->handler == fw_resv_release) && fw_pr_active(c->d))
        return true;
    return c->d->reserved_by >= 0 && c->d->reserved_by != (int)c->t->initiator &&
           !(c->cmd->flags & FW_F_RESV_OK);
}

/* RESERVE (6)/(10): the gate already refused another nexus's; the holder
 * reserving again is GOOD. */
struct scsi_sense_reason fw_resv_reserve(struct fw_ctx *c)
{
    c->d->reserved_by = c->t->initiator;
    return fw_good();
}

/* RELEASE (6)/(10): from the holder, ends the reservation; from anyone else
 * (or with none held) GOOD and nothing changes (SPC-2 7.21.1). */
struct scsi_sense_reason fw_resv_release(struct fw_ctx *c)
{
    if (c->d->reserved_by == (int)c->t->initiator)
        c->d->reserved_by = FW_NOT_RESERVED;
    return fw_good();
}
