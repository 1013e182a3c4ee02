/* sim/fw/fw.h — the controller firmware's SCSI emulation: every logical drive,
 * its mode pages, its unit attentions per I_T nexus, and the command table.
 *
 * The controller core hands the firmware one task at a time with the data in a
 * bounce buffer (data-out already copied in by DMA; data-in copied out by DMA
 * after the task returns), so the firmware never touches host memory or queues.
 * Command handling is table-driven: an opcode table carries the handler, the CDB
 * usage mask (reserved bits → INVALID FIELD IN CDB with the field pointer), and
 * cross-cutting flags (skips unit attention, media access, needs ready, writes).
 * Handlers return a sense reason; sense bytes are built in one place
 * (scsi_sense_build), fixed or descriptor as the drive's D_SENSE bit says.
 *
 * Thread-safe: every entry point takes the firmware lock.
 */
#ifndef SIM_FW_H
#define SIM_FW_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/hba.h"
#include "sim/store.h"

struct fw;

struct fw_task {
    /* in */
    uint16_t initiator;       /* I_T nexus, < HBA_MAX_INITIATORS */
    uint16_t target, lun;
    const uint8_t *cdb;
    uint8_t  cdb_len;
    uint8_t  dir;             /* HBA_FLAG_DIR_* from the entry */
    uint8_t *data;            /* bounce buffer of data_len bytes */
    uint32_t data_len;
    /* out */
    uint8_t  ctrl_status;     /* HBA_CS_SUCCESS, or HBA_CS_DIRECTION_MISMATCH / HBA_CS_INVALID_TARGET */
    uint8_t  status;          /* SAM status */
    uint32_t xfer;            /* bytes of data consumed (data-out) or produced (data-in) */
    uint8_t  sense_len;
    uint8_t  sense[HBA_SENSE_MAX];
};

/* Event the firmware raises for the controller to report (HBA_AEV_*). */
typedef void (*fw_event_fn)(void *arg, uint8_t type, uint32_t info);

int  fw_create(const struct sim_config *cfg, struct fw **out, char *err, size_t errlen);
void fw_destroy(struct fw *fw);
void fw_set_event_hook(struct fw *fw, fw_event_fn fn, void *arg);

/* Runs one SCSI command. */
void fw_execute(struct fw *fw, struct fw_task *t);

/* Resets: LUN reset and target reset raise 29h/03h, bus reset 29h/02h, a
 * controller hard reset 29h/04h, for every nexus of the drives concerned. */
void fw_reset(struct fw *fw, enum hba_reset_scope scope, uint16_t target, uint16_t lun);
void fw_controller_reset(struct fw *fw);
/* The I_T nexus of `initiator` was lost: 29h/07h for it on every drive. */
void fw_nexus_loss(struct fw *fw, uint16_t initiator);

/* Power: a cut drops dirty cache lines as `how` says (battery permitting);
 * power on replays battery-held lines, raises 29h/01h on every drive for every
 * nexus and restarts each drive's time-to-ready. Returns lines lost. */
uint64_t fw_power_cut(struct fw *fw, const struct sim_power_cut *how);
void fw_power_on(struct fw *fw);

/* Cache control from admin commands; target/lun = HBA_ALL_DRIVES >> 16 for all. */
int  fw_flush(struct fw *fw, uint16_t target, uint16_t lun, bool all);
int  fw_set_write_cache(struct fw *fw, uint16_t target, uint16_t lun, bool on);
int  fw_get_write_cache(struct fw *fw, uint16_t target, uint16_t lun, bool *on);
int  fw_set_battery(struct fw *fw, uint16_t target, uint16_t lun, enum hba_battery b);

/* Identify data for admin IDENTIFY; -ENOENT for no drive there. */
int    fw_identify_drive(struct fw *fw, uint16_t target, uint16_t lun, struct hba_identify_drive *out);
size_t fw_drive_list(struct fw *fw, uint32_t *addrs, size_t max); /* target << 16 | lun */

/* Test hooks: raise a unit attention, change capacity, check the oracle. */
int fw_raise_ua(struct fw *fw, uint16_t target, uint16_t lun, int initiator /* -1 = all */, uint16_t asc_ascq);
int fw_set_capacity(struct fw *fw, uint16_t target, uint16_t lun, uint64_t blocks); /* raises 2Ah/09h */
int fw_check_media(struct fw *fw, uint16_t target, uint16_t lun, struct sim_oracle_report *r);

#endif
