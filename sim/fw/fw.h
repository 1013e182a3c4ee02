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
 * Thread-safe: every entry point takes the firmware lock.  The event hook is
 * called after the lock is dropped, so it may call back into the firmware.
 *
 * HOW fw_execute DECIDES (in this order)
 *  1. Controller status, no SCSI status: a NULL CDB, cdb_len 0 or > 16, or
 *     initiator >= HBA_MAX_INITIATORS -> HBA_CS_INVALID_FIELD; a target >=
 *     max_targets, a LUN >= max_luns, or a target without any drive ->
 *     HBA_CS_INVALID_TARGET (selection timeout); cdb_len shorter than the
 *     opcode's CDB -> HBA_CS_INVALID_FIELD (bytes beyond it are ignored).
 *  2. A LUN without a drive answers INQUIRY (standard data, byte 0 = 7Fh;
 *     EVPD=1 gets LOGICAL UNIT NOT SUPPORTED), REPORT LUNS, and REQUEST SENSE
 *     (sense data 05h/25h/00h with GOOD status); anything else, known or not,
 *     gets ILLEGAL REQUEST 25h/00h.
 *  3. Data direction: when the CDB asks to move data (allocation length,
 *     parameter list length, transfer length, VERIFY with BYTCHK), the task's
 *     dir must be the command's, else HBA_CS_DIRECTION_MISMATCH.  A CDB that
 *     moves nothing accepts any dir and any data_len (xfer = 0).  A write
 *     (FW_F_WRITES) that brought no data at all to a write-protected drive
 *     goes on to the DATA PROTECT of step 9 instead.
 *  4. Unit attention (not for INQUIRY, REPORT LUNS, REQUEST SENSE, which
 *     neither report nor clear one): the highest-priority pending condition of
 *     this nexus is reported once and cleared for this nexus only.  Priority:
 *     29h/01h power on, 29h/00h, 29h/04h, 29h/02h, 29h/03h, 29h/07h, then the
 *     others in the order they arose; only the most severe 29h is kept.  A UA
 *     is reported before an unknown opcode or a bad CDB, and before NOT READY.
 *  4a. A SANITIZE in progress (sanitize-time, fw_sanitize.c): every command
 *     but INQUIRY, REPORT LUNS and REQUEST SENSE -> NOT READY 04h/1Bh with a
 *     progress indication; REQUEST SENSE returns that sense.  In sanitize
 *     failure mode, commands that access the medium -> MEDIUM ERROR 31h/03h.
 *  4b. Reservation conflict: another nexus holds RESERVE (6)/(10), or a
 *     persistent reservation refuses this nexus the command (SPC-5 table 71,
 *     through the table's FW_F_RESV_OK / FW_F_PR_EXEMPT / FW_F_PR_READ flags)
 *     -> status RESERVATION CONFLICT without sense.
 *  5. Unknown opcode -> 05h/20h/00h (field pointer byte 0); unknown service
 *     action of a known opcode -> 05h/24h/00h (byte 1, bit 4); a command the
 *     drive does not offer (UNMAP, GET LBA STATUS on a drive not thin) is
 *     unknown the same way; a reserved bit
 *     set -> 05h/24h/00h pointing at the first such byte and its top bit.
 *  6. Data-out shorter than the CDB requires (data_len < blocks * block size,
 *     or < the parameter list length) -> 05h/24h/00h pointing at the length
 *     field; nothing is written.  (Writing part of it is never acceptable.)
 *     Data-in shorter than the CDB allows is a residual, not an error: what
 *     fits is transferred and xfer says how much.
 *  7. Readiness (TEST UNIT READY, READ CAPACITY and every command that
 *     touches the medium, FW_F_NEEDS_READY in the table): NOT READY 04h/01h for ready_ms after power on (creation counts),
 *     04h/02h while stopped by START STOP UNIT (START=0) until START=1;
 *     02h/3Ah/00h while a removable drive's medium is ejected.
 *  8. LBA range (overflow-safe; READ/WRITE(6) length 0 means 256 blocks; a
 *     zero length still needs a valid LBA) -> 05h/21h/00h.
 *  9. Writes on a write-protected drive (every FW_F_WRITES command: WRITE,
 *     WRITE AND VERIFY, WRITE SAME, UNMAP, COMPARE AND WRITE, ORWRITE, WRITE
 *     ATOMIC) -> DATA PROTECT 27h/00h (configured: a read-only LUN) or 27h/02h
 *     (SWP in the control page).  SYNCHRONIZE CACHE is allowed.
 *
 * CACHE.  WRITE with FUA, or with WCE=0, is durable before GOOD; READ with FUA
 * flushes its range first.  SYNCHRONIZE CACHE flushes [lba, lba+count) (count 0
 * = to the end) before GOOD whatever IMMED says (IMMED only permits an early
 * GOOD).  Store -EIO -> MEDIUM ERROR 11h/00h (read) or 0Ch/00h (write, flush),
 * any other store error -> HARDWARE ERROR 44h/00h.
 *
 * SANITIZE.  OVERWRITE, BLOCK ERASE (thin drives), CRYPTOGRAPHIC ERASE and
 * EXIT FAILURE MODE change the medium when they run; the operation then stays
 * in progress for the drive's sanitize-time.  IMMED=1 returns GOOD at once;
 * IMMED=0 sets hold_ns, and the controller posts the completion that much
 * later (sim/fw/fw_sanitize.c).
 *
 * START STOP UNIT.  STOP flushes the cache unless NO_FLUSH; START with IMMED=0
 * returns with the unit ready (the rest of the time-to-ready is skipped rather
 * than blocking the firmware), START with IMMED=1 returns at once and a stopped
 * unit then needs ready_ms again.  LOEJ is ignored on a fixed drive; on a
 * removable one (the `removable` key, fw_removable.c) it ejects (START=0) or
 * loads (START=1) the medium, refused with 05h/53h/02h while any nexus holds a
 * PREVENT ALLOW MEDIUM REMOVAL; a load raises 28h/00h for every other nexus.
 * Power conditions other than 0 are INVALID FIELD IN CDB.
 *
 * TARGET PORTS.  fw_task.target_port is the port the command arrived on; with
 * target_ports > 1 (fw_tpg.c) INQUIRY reports TPGS 01b, VPD 83h that port's
 * relative target port and group, and REPORT TARGET PORT GROUPS every group
 * (one per port, active/optimized).
 *
 * MODE PARAMETERS.  Caching 08h (WCE, RCD) and control 0Ah (D_SENSE, SWP) are
 * changeable; current, changeable, default and saved values are reported and
 * SP=1 saves.  A MODE SELECT that changes anything raises 2Ah/01h for every
 * other nexus of the drive.  Power on and every reset return the current
 * values to the saved ones (SAM), flushing first when WCE goes 1 -> 0.
 */
#ifndef SIM_FW_FW_H
#define SIM_FW_FW_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/config/config.h"
#include "hw/hba.h"
#include "sim/store/store.h"
#include "base/tbuf.h"

struct fw;

/* The controller (sim/ctrl/ctrl_io.c run) zeroes everything before sense,
 * sets the inputs, and leaves sense as it was (read only up to sense_len). */
struct fw_task {
    /* in */
    uint16_t initiator;       /* I_T nexus, < HBA_MAX_INITIATORS */
    uint16_t target_port;     /* the port it arrived on, 0-based, < HBA_MAX_TARGET_PORTS */
    uint16_t target, lun;
    const uint8_t *cdb;
    uint8_t  cdb_len;
    uint8_t  dir;             /* HBA_FLAG_DIR_* from the entry */
    uint8_t *data;            /* bounce buffer of data_len bytes */
    uint32_t data_len;
    uint8_t *host_data;       /* NULL, or data_len bytes of host memory (a window through the
                                 IOMMU) a media READ may fill directly instead of data */
    /* out */
    uint8_t  ctrl_status;     /* HBA_CS_SUCCESS, or HBA_CS_DIRECTION_MISMATCH / _INVALID_TARGET / _INVALID_FIELD */
    uint8_t  status;          /* SAM status */
    uint32_t xfer;            /* bytes of data consumed (data-out) or produced (data-in) */
    bool     direct;          /* the data-in went to host_data, not data */
    uint8_t  sense_len;
    uint8_t  sense[HBA_SENSE_MAX];
    uint64_t hold_ns;         /* the command's work goes on this long after it ran: the
                                 controller holds the completion (SANITIZE with IMMED=0) */
};

/* Event the firmware raises for the controller to report (HBA_AEV_*). */
typedef void (*fw_event_fn)(void *arg, uint8_t type, uint32_t info);

int  fw_create(const struct sim_config *cfg, struct fw **out, char *err, size_t errlen);
void fw_destroy(struct fw *fw);
/* Loads the firmware plug-in at path, checks its table (sim/fw/fw_plugin_abi.h)
 * and unloads it: 0, or -errno with err saying what is wrong (the command line
 * checks --firmware with it before anything starts).  fw_create loads
 * cfg->firmware the same way. */
int  fw_plugin_check(const char *path, char *err, size_t errlen);
void fw_set_event_hook(struct fw *fw, fw_event_fn fn, void *arg);

/* Runs one SCSI command. */
void fw_execute(struct fw *fw, struct fw_task *t);
/* The calling thread becomes (mine) or stops being the one that runs fw's
 * commands without a lock: the controller's firmware thread, for its life.
 * Control calls (below) from any thread then wait for the command it runs to
 * end, and the commands it runs meanwhile wait for them.  Any other thread's
 * fw_execute takes the lock as a control call does. */
void fw_claim_thread(struct fw *fw, bool mine);

/* Resets: LUN reset and target reset raise 29h/03h, bus reset 29h/02h, a
 * controller hard reset 29h/04h, for every nexus of the drives concerned.
 * Cached data stays; mode parameters return to their saved values. */
void fw_reset(struct fw *fw, enum hba_reset_scope scope, uint16_t target, uint16_t lun);
void fw_controller_reset(struct fw *fw);
/* The I_T nexus of `initiator` was lost: 29h/07h for it on every drive. */
void fw_nexus_loss(struct fw *fw, uint16_t initiator);

/* Power: a cut drops dirty cache lines as `how` says (battery permitting;
 * NULL = SIM_POWER_CUT_ALL); power on replays battery-held lines, raises
 * 29h/01h on every drive for every nexus (dropping older conditions), restarts
 * each drive's time-to-ready and restores saved mode values.  fw_power_cut
 * returns the lines lost; reporting HBA_AEV_CACHE_LOST is the caller's job. */
uint64_t fw_power_cut(struct fw *fw, const struct sim_power_cut *how);
void fw_power_on(struct fw *fw);

/* Cache control from admin commands; target/lun = HBA_ALL_DRIVES >> 16 for all
 * (fw_flush also with all = true).  0, -ENOENT (no such drive), or the first
 * store error.  fw_set_write_cache sets the current and saved WCE (turning it
 * off flushes first) and raises no unit attention: it is the controller's
 * configuration, not a MODE SELECT.  fw_get_write_cache of all drives: true
 * when every drive has WCE on.  fw_set_battery raises HBA_AEV_BATTERY (info =
 * the new state) when any drive's battery changed; -EINVAL for a bad state. */
int  fw_flush(struct fw *fw, uint16_t target, uint16_t lun, bool all);
/* The io-error failures every drive's store has taken (sim_store_injected):
 * read before and after a store operation, it tells an injected failure
 * from a simulator bug. */
uint64_t fw_store_injected(struct fw *fw);
int  fw_set_write_cache(struct fw *fw, uint16_t target, uint16_t lun, bool on);
int  fw_get_write_cache(struct fw *fw, uint16_t target, uint16_t lun, bool *on);
int  fw_set_battery(struct fw *fw, uint16_t target, uint16_t lun, enum hba_battery b);

/* Identify data for admin IDENTIFY; -ENOENT for no drive there. */
int    fw_identify_drive(struct fw *fw, uint16_t target, uint16_t lun, struct hba_identify_drive *out);
/* Fills up to max addresses (target << 16 | lun), target then LUN order;
 * returns how many drives exist (may exceed max). */
size_t fw_drive_list(struct fw *fw, uint32_t *addrs, size_t max);

/* Test hooks: raise a unit attention, change capacity, check the oracle.
 * fw_raise_ua: -ENOENT without a drive, -EINVAL for initiator outside
 * -1..HBA_MAX_INITIATORS-1; 3Fh/0Eh (REPORTED LUNS DATA CHANGED) is raised on
 * every drive of the target, as the LUN inventory is the target's.
 * fw_set_capacity: 1..the capacity the drive was created with (-EINVAL for 0,
 * -ERANGE above: the store does not grow); a change raises 2Ah/09h for every
 * nexus and HBA_AEV_DRIVE_CHANGED (info = target << 8 | lun). */
int fw_raise_ua(struct fw *fw, uint16_t target, uint16_t lun, int initiator /* -1 = all */, uint16_t asc_ascq);
int fw_set_capacity(struct fw *fw, uint16_t target, uint16_t lun, uint64_t blocks);
int fw_check_media(struct fw *fw, uint16_t target, uint16_t lun, struct sim_oracle_report *r);

/* The write-back cache counters of every drive, target then LUN order, as
 * JSON objects {"drive":"T:L","read_blocks":..,"hit_blocks":..,"dirty_lines":..,
 * "dirty_bytes":..,"writebacks":..,"blocks_written_back":..,"line_records":..} separated by
 * commas (sim/fw/fw_cache_stats.c; scsisim ctl stats). */
void fw_cache_stats_json(struct fw *fw, struct tbuf *b);

/* Hot plug (sim/fw/fw_hotplug.c; the fault engine's insert and remove
 * actions).  Insert: a new drive as lu describes it appears at lu's address,
 * powered on; -EEXIST if one is there, -ERANGE beyond the controller's
 * targets and LUNs.  Remove: a surprise removal, the drive and its cache are
 * gone; -ENOENT if none is there.  Both raise REPORTED LUNS DATA HAS CHANGED
 * (3Fh/0Eh) on every other drive of the target, for every nexus, and send
 * HBA_AEV_DRIVE_CHANGED. */
int fw_drive_insert(struct fw *fw, const struct sim_config *cfg, const struct sim_lu_config *lu, char *err,
                    size_t errlen);
int fw_drive_remove(struct fw *fw, uint16_t target, uint16_t lun);

/* The fault engine's store actions (sim/fw/fw_store_fault.c): io-error
 * (sim_store_fail_io) and reopen (sim_store_reopen, then POWER ON) on drive
 * r->target:r->lun.  -ENOENT without a drive there.  A reopen whose files
 * fail to open is not an error here: the drive then reports it on every
 * medium access. */
struct fault_rule;
int fw_store_action(struct fw *fw, const struct fault_rule *r, char *err, size_t errlen);

#endif
