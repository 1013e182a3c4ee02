/* sim/fw/fw_priv.h — the firmware's insides, shared by the sim/fw/ files only.
 *
 * struct fw holds a (target, lun) -> drive table; each drive holds its store,
 * its mode parameters, its readiness and one unit-attention queue per I_T nexus.
 * fw_table.c describes every supported command; fw.c runs a task through the
 * table's cross-cutting gates and calls the handler, which returns a sense
 * reason (GOOD when key and ASC/ASCQ are zero).
 */
#ifndef SIM_FW_FW_PRIV_H
#define SIM_FW_FW_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "base/errf.h"
#include "scsi/cdb.h"
#include "scsi/sense.h"
#include "sim/fw/fw.h"
#include "sim/fw/fw_plugin_abi.h"

/* Identity of the emulated controller when no drive speaks for itself
 * (INQUIRY of an empty LUN), and the IEEE company ID in NAA designators:
 * 0A5353h has the "locally assigned" bit of a CID set and is no vendor's OUI. */
#define FW_VENDOR          "SCSISIM"
#define FW_PRODUCT         "SSIM-1 NO LUN"
#define FW_REVISION        "0100"
#define FW_IEEE_COMPANY_ID 0x0A5353u

/* Additional sense codes only the firmware uses. */
#define FW_ASC_INVALID_FIELD_IN_IU      SCSI_ASCQ(0x0e, 0x03)
#define FW_ASC_INVALID_RELEASE_OF_PR    SCSI_ASCQ(0x26, 0x04)
#define FW_ASC_RESERVATIONS_PREEMPTED   SCSI_ASCQ(0x2a, 0x03)
#define FW_ASC_RESERVATIONS_RELEASED    SCSI_ASCQ(0x2a, 0x04)
#define FW_ASC_REGISTRATIONS_PREEMPTED  SCSI_ASCQ(0x2a, 0x05)
#define FW_ASC_SANITIZE_IN_PROGRESS     SCSI_ASCQ(0x04, 0x1b)
#define FW_ASC_SANITIZE_COMMAND_FAILED  SCSI_ASCQ(0x31, 0x03)
#define FW_ASC_GUARD_CHECK_FAILED       SCSI_ASCQ(0x10, 0x01)  /* protection information (fw_pi.c) */
#define FW_ASC_APP_TAG_CHECK_FAILED     SCSI_ASCQ(0x10, 0x02)
#define FW_ASC_APP_TAG_CHECK_FAILED     SCSI_ASCQ(0x10, 0x02)
#define FW_ASC_REF_TAG_CHECK_FAILED     SCSI_ASCQ(0x10, 0x03)

/* Operation codes only the firmware needs (SBC-4, SPC-5). */
enum fw_opcode {
    FW_OP_RESERVE_6          = 0x16,
    FW_OP_RELEASE_6          = 0x17,
    FW_OP_WRITE_VERIFY_10    = 0x2e,
    FW_OP_PREFETCH_10        = 0x34,
    FW_OP_WRITE_SAME_10      = 0x41,
    FW_OP_UNMAP              = 0x42,
    FW_OP_RESERVE_10         = 0x56,
    FW_OP_RELEASE_10         = 0x57,
    FW_OP_PR_IN              = 0x5e,
    FW_OP_PR_OUT             = 0x5f,
    FW_OP_ORWRITE_16         = 0x8b,
    FW_OP_COMPARE_AND_WRITE  = 0x89,
    FW_OP_WRITE_VERIFY_16    = 0x8e,
    FW_OP_PREFETCH_16        = 0x90,
    FW_OP_WRITE_SAME_16      = 0x93,
    FW_OP_WRITE_VERIFY_12    = 0xae,
    FW_OP_READ_DEFECT_10     = 0x37,
    FW_OP_READ_DEFECT_12     = 0xb7,
    FW_OP_VERIFY_12          = 0xaf,
    FW_OP_WRITE_ATOMIC_16    = 0x9c,
    FW_OP_SANITIZE           = 0x48,
    FW_OP_EXTENDED_COPY      = 0x83,
    FW_OP_RECEIVE_COPY_RESULTS = 0x84,
};
#define FW_SAI_GET_LBA_STATUS 0x12
#define FW_OP_PREVENT_ALLOW   0x1e    /* PREVENT ALLOW MEDIUM REMOVAL (fw_removable.c) */
#define FW_SAI_REPORT_TPGS    0x0a    /* MAINTENANCE IN: REPORT TARGET PORT GROUPS (fw_tpg.c) */

/* ---- unit attentions (fw_ua.c) ---- */

/* Pending unit attentions of one I_T nexus: a small set, reported highest
 * priority first.  At most one power-on/reset class (29h) condition is kept. */
#define FW_UA_DEPTH 8
struct fw_ua_queue {
    uint8_t  count;
    uint16_t code[FW_UA_DEPTH]; /* SCSI_ASCQ(asc, ascq), in arrival order */
};

void fw_ua_add(struct fw_ua_queue *q, uint16_t asc_ascq);
/* fw_ua_add on each of the n queues at qs but the skip-th (skip >= n: none). */
void fw_ua_add_all(struct fw_ua_queue *qs, unsigned n, unsigned skip, uint16_t asc_ascq);
/* Each of the n queues at qs holds asc_ascq alone (fw_ua_clear, then fw_ua_add). */
void fw_ua_set_all(struct fw_ua_queue *qs, unsigned n, uint16_t asc_ascq);
/* Takes the highest-priority pending condition; false when none is pending. */
bool fw_ua_take(struct fw_ua_queue *q, uint16_t *asc_ascq);
bool fw_ua_pending(const struct fw_ua_queue *q);
void fw_ua_clear(struct fw_ua_queue *q);

/* ---- one logical drive ---- */

/* One Application Tag descriptor (SBC-4 Application Tag mode page, 0Ah/02h):
 * the application tag every block of [lba, lba + blocks) is expected to carry. */
struct fw_app_tag {
    uint64_t lba, blocks;
    uint16_t tag;
};

/* Descriptors a drive keeps: 8 keep the MODE SENSE (6) answer of every page
 * (3Fh/FFh) within its 255-byte length (fw_apptag.c). */
#define FW_APP_TAGS_MAX 8u

/* The changeable mode parameters (caching page 08h, control page 0Ah and its
 * Application Tag subpage 02h). */
struct fw_mode_params {
    bool wce;     /* caching: write cache enable */
    bool rcd;     /* caching: read cache disable (accepted, no effect on data) */
    bool d_sense; /* control: descriptor-format sense */
    bool swp;     /* control: software write protect */
    bool atmpe;   /* control: the Application Tag mode page is in force (PI drives only) */
    uint8_t napp; /* Application Tag descriptors in app[] */
    struct fw_app_tag app[FW_APP_TAGS_MAX];
};

/* The copy status EXTENDED COPY leaves for RECEIVE COPY RESULTS (fw_xcopy.c). */
struct fw_xcopy_status {
    bool     valid;
    uint8_t  list_id;
    uint8_t  status;          /* COPY MANAGER STATUS */
    uint16_t segments;        /* SEGMENTS PROCESSED */
    uint32_t bytes;           /* TRANSFER COUNT, in bytes */
};

struct fw_drive {
    uint16_t target, lun;
    uint64_t blocks;          /* reported capacity (fw_set_capacity may shrink it) */
    uint64_t store_blocks;    /* capacity the store was created with */
    uint32_t block_size;
    char     vendor[9], product[17], revision[5], serial[21];
    bool     write_protect;   /* hardware write protect from the configuration */
    bool     thin;            /* logical block provisioning management (fw_lbp.c) */
    uint8_t  lbppbe;          /* log2(physical block size / block size) */
    enum hba_battery battery;
    uint32_t ready_ms;
    uint64_t ready_at_ns;     /* CLOCK_MONOTONIC time the drive becomes ready */
    bool     ready;           /* latched once ready_at_ns passed */
    bool     stopped;         /* START STOP UNIT with START=0 */
    struct fw_mode_params cur, saved, dflt;
    struct sim_store *store;
    uint8_t  naa[16];         /* NAA 6 designator, VPD 83h and IDENTIFY */
    struct fw_ua_queue ua[HBA_MAX_INITIATORS];
    int      reserved_by;     /* nexus (initiator) holding RESERVE, or FW_NOT_RESERVED */
    struct {                  /* persistent reservations (fw_pr.c) */
        uint32_t generation;
        bool     aptpl;       /* survives power on (the last REGISTER's APTPL) */
        bool     reserved;
        uint8_t  type;
        uint16_t holder;      /* nexus, when reserved and not an all-registrants type */
        struct { bool used, all_tg_pt; uint64_t key; } reg[HBA_MAX_INITIATORS];
    } pr;
    uint32_t sanitize_ms;     /* how long a SANITIZE is in progress (fw_sanitize.c) */
    uint64_t cache_bytes;     /* the store's cache capacity: what PRE-FETCH fits (fw_prefetch.c) */
    struct fw_xcopy_status xcopy[HBA_MAX_INITIATORS]; /* per I_T nexus (fw_xcopy.c) */
    struct {                  /* SANITIZE (fw_sanitize.c); kept across resets and power cycles */
        uint64_t start_ns, end_ns;   /* in progress while now < end_ns (0: none) */
        bool     failed;      /* sanitize failure mode */
        bool     ause;        /* the failed SANITIZE allowed EXIT FAILURE MODE */
    } san;
    struct fw_plugin *plugin; /* firmware plug-in (fw_plugin.h), NULL = none or not opened */
    void    *pstate;          /* the plug-in's per-drive state (drive_open) */
    struct scsisim_fw_drive_info pinfo;
    uint16_t target_ports;    /* the controller's ports (fw_tpg.c): ALUA when > 1 */
    bool     removable;       /* removable medium (fw_removable.c) */
    bool     medium_absent;   /* ejected by START STOP UNIT with LOEJ */
    uint64_t prevent[HBA_MAX_INITIATORS / 64]; /* PREVENT ALLOW MEDIUM REMOVAL: bit n = nexus n prevents */
    unsigned preventers;      /* bits set in prevent[]: any nexus prevents */
    uint8_t  prot_type;       /* protection information: 0 none, 1..3 type (fw_pi.c) */
};
_Static_assert(HBA_MAX_INITIATORS % 64 == 0, "fw_drive.prevent holds a bit per nexus");
#define FW_NOT_RESERVED (-1)

/* Events raised under the lock and delivered after it is dropped, so the hook
 * may call back into the controller (which may call the firmware) freely. */
#define FW_EVENTS_MAX 4
struct fw_events {
    unsigned n;
    struct { uint8_t type; uint32_t info; } e[FW_EVENTS_MAX];
};

struct fw {
    pthread_mutex_t lock;     /* control calls: fw_lock, fw_unlock */
    /* The thread that claimed fw (fw_claim_thread) runs commands without the
     * lock: busy while it runs one, ctl while a control call holds the lock. */
    _Atomic bool busy, ctl;
    uint32_t max_targets, max_luns, max_xfer;
    struct fw_drive **slot;   /* [target * max_luns + lun], NULL = no drive */
    uint16_t *luns_in_target; /* drives per target */
    size_t   drive_count;
    fw_event_fn event_fn;
    void    *event_arg;
    struct fw_plugin *plugin; /* --firmware PATH.so (fw_plugin.h), NULL = built-in only */
};

/* The firmware's state outside the firmware thread's commands: takes the
 * lock, then waits out a command that thread runs without it (fw.c). */
void fw_lock(struct fw *fw);
void fw_unlock(struct fw *fw);

struct fw_drive *fw_drive_at(const struct fw *fw, uint16_t target, uint16_t lun);
/* A drive and its store, as the configuration's lu describes it (not yet in a
 * slot, not powered on); fw_hotplug.c inserts drives with it too. */
int fw_drive_create(const struct sim_config *cfg, const struct sim_lu_config *lu, struct fw_drive **out, char *err,
                    size_t errlen);
/* NOT READY reason of a drive, or GOOD when it is ready (latches readiness). */
struct scsi_sense_reason fw_drive_readiness(struct fw_drive *d);
/* Store errno -> sense: media errors (-EIO) are MEDIUM ERROR with the given
 * ASC (11h/00h for reads, 0Ch/00h for writes), anything else HARDWARE ERROR. */
struct scsi_sense_reason fw_store_error(int err, uint16_t medium_asc, uint64_t lba);
/* Sets the current (and with save, saved) mode parameters; WCE 1 -> 0 flushes
 * the whole cache first.  0 or the store's negative errno (nothing changed). */
int fw_drive_set_mode(struct fw_drive *d, const struct fw_mode_params *p, bool save);
/* Power-on state: time-to-ready restarts, the unit spins, and every nexus
 * holds exactly POWER ON OCCURRED. */
void fw_drive_power_on(struct fw_drive *d, uint64_t now);
void fw_naa_designator(uint16_t target, uint16_t lun, const char *serial, uint8_t out[16]);

/* ---- the command table (fw_table.c) ---- */

enum fw_cmd_flag {
    FW_F_SKIPS_UA     = 1u << 0, /* never reports nor clears a unit attention */
    FW_F_ANY_LUN      = 1u << 1, /* runs on a LUN without a drive (of an existing target) */
    FW_F_NEEDS_READY  = 1u << 2, /* NOT READY while becoming ready or stopped */
    FW_F_MEDIA_ACCESS = 1u << 3, /* LBA + length fields, range-checked before the handler */
    FW_F_WRITES       = 1u << 4, /* changes media: DATA PROTECT when write protected */
    FW_F_SA           = 1u << 5, /* the service action (byte 1 bits 4..0) selects the entry */
    FW_F_LEN_BLOCKS   = 1u << 6, /* the length field counts logical blocks */
    FW_F_BYTCHK       = 1u << 8, /* VERIFY: data-out only when BYTCHK asks for it */
    FW_F_ONE_BLOCK    = 1u << 9, /* WRITE SAME: one block of data-out (none with NDOB) */
    FW_F_THIN         = 1u << 10,/* exists only on a thin-provisioned drive (else unknown) */
    FW_F_TWICE        = 1u << 11,/* COMPARE AND WRITE: data-out is the blocks twice */
    FW_F_RESV_OK      = 1u << 12,/* runs despite another nexus's RESERVE (fw_resv.c) */
    FW_F_PR_EXEMPT    = 1u << 13,/* runs whatever the persistent reservation (fw_pr.c) */
    FW_F_PR_READ      = 1u << 14,/* a read: runs for non-holders under Write Exclusive types */
    FW_F_MULTIPORT    = 1u << 7, /* exists only with several target ports (fw_tpg.c) */
    FW_F_REMOVABLE    = 1u << 15,/* exists only on a removable-medium drive (fw_removable.c) */
    FW_F_PROTECT      = 1u << 16,/* byte 1 bits 7..5 are RDPROTECT/WRPROTECT/VRPROTECT: used
                                    on a drive with protection information (fw_pi.c) */
    FW_F_FILLS_DATA   = 1u << 17,/* the handler writes every data-in byte it reports
                                    (the media READs without protection information), so
                                    fw_execute need not zero the buffer first */
};

struct fw_ctx;
typedef struct scsi_sense_reason (*fw_handler_fn)(struct fw_ctx *c);

struct fw_cmd {
    const char *name;
    uint8_t  opcode, sa;
    uint8_t  cdb_len;
    uint8_t  dir;             /* HBA_FLAG_DIR_* of the command's data */
    uint32_t flags;           /* enum fw_cmd_flag */
    uint8_t  len_off, len_width; /* allocation / parameter list / transfer length field */
    uint8_t  fixed_len;       /* data-in size when the CDB has no length field */
    uint8_t  lba_off, lba_width; /* MEDIA_ACCESS */
    fw_handler_fn handler;
    uint8_t  usage[HBA_CDB_MAX]; /* bits a CDB may set; others are reserved */
};

const struct fw_cmd *fw_cmd_lookup(const uint8_t *cdb, bool *opcode_known);
/* The same in this firmware's view: a plug-in's rows first, then the
 * built-ins it does not override (fw_plugin.h); fw_cmd_view(fw, i) walks it. */
const struct fw_cmd *fw_cmd_find(const struct fw *fw, const uint8_t *cdb, bool *opcode_known);
const struct fw_cmd *fw_cmd_view(const struct fw *fw, size_t i);
size_t fw_cmd_count(void);
const struct fw_cmd *fw_cmd_at(size_t i);
/* Whether the drive offers cmd (FW_F_THIN commands only on thin drives):
 * fw_execute answers an unoffered command as unknown, and REPORT SUPPORTED
 * OPERATION CODES leaves it out. */
bool fw_cmd_offered(const struct fw_cmd *cmd, const struct fw_drive *d);
/* Byte i of cmd's CDB usage data on drive d (NULL: no drive): the table's,
 * plus the protect field of FW_F_PROTECT commands on a drive with protection
 * information. */
uint8_t fw_cmd_usage(const struct fw_cmd *cmd, const struct fw_drive *d, unsigned i);
/* The first reserved bit set in the CDB, as INVALID FIELD IN CDB; GOOD if none:
 * the table's usage data, or (_on) drive d's (fw_cmd_usage). */
struct scsi_sense_reason fw_cmd_check_usage(const struct fw_cmd *cmd, const uint8_t *cdb);
struct scsi_sense_reason fw_cmd_check_usage_on(const struct fw_cmd *cmd, const struct fw_drive *d,
                                               const uint8_t *cdb);

/* Everything a handler needs about the task it runs. */
struct fw_ctx {
    struct fw       *fw;
    struct fw_drive *d;       /* NULL only for FW_F_ANY_LUN commands on an empty LUN */
    struct fw_task  *t;
    const struct fw_cmd *cmd;
    const uint8_t   *cdb;
    uint64_t lba, nblocks;    /* MEDIA_ACCESS: parsed LBA and block count */
    bool     fua;             /* READ/WRITE (10/12/16) with FUA set */
    uint64_t length;          /* the length field's value (blocks or bytes) */
    uint64_t want;            /* bytes the CDB asks to move in the command's direction */
    uint8_t  status;          /* status when the reason is GOOD: GOOD, or a status
                                 without sense (RESERVATION CONFLICT) */
};

static inline struct scsi_sense_reason fw_good(void)
{
    struct scsi_sense_reason r = { 0 };
    return r;
}
static inline bool fw_is_good(const struct scsi_sense_reason *r)
{
    return r->key == SCSI_SK_NO_SENSE && r->asc_ascq == 0;
}
/* The most significant set bit of a nonzero byte: where a field pointer's bit
 * pointer points (SPC: the left-most bit of the field in error). */
static inline int fw_top_bit(uint8_t v)
{
    int b = 7;
    while (b > 0 && !(v & (1u << b)))
        b--;
    return b;
}
/* Copies up to n bytes of produced data-in to the task (bounded by its buffer). */
void fw_data_in(struct fw_ctx *c, const void *src, size_t n);

/* ---- handlers ---- */
struct scsi_sense_reason fw_spc_test_unit_ready(struct fw_ctx *c);
struct scsi_sense_reason fw_spc_inquiry(struct fw_ctx *c);
struct scsi_sense_reason fw_spc_request_sense(struct fw_ctx *c);
struct scsi_sense_reason fw_spc_report_luns(struct fw_ctx *c);
struct scsi_sense_reason fw_spc_start_stop_unit(struct fw_ctx *c);
struct scsi_sense_reason fw_spc_send_diagnostic(struct fw_ctx *c);
struct scsi_sense_reason fw_spc_report_opcodes(struct fw_ctx *c);
struct scsi_sense_reason fw_vpd_inquiry(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_read_capacity10(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_read_capacity16(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_read(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_write(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_verify(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_write_verify(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_prefetch(struct fw_ctx *c);
/* Reads [lba, lba + n) through the store (medium errors as READ reports them)
 * and, with want, compares: MISCOMPARE 1Dh/00h, INFORMATION = byte offset of
 * the first difference in the range (fw_verify.c). */
struct scsi_sense_reason fw_check_range(struct fw_drive *d, uint64_t lba, uint64_t n,
                                        const uint8_t *want, bool per_block);
struct scsi_sense_reason fw_sbc_sync_cache(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_read_defect_data(struct fw_ctx *c);
struct scsi_sense_reason fw_sbc_write_atomic(struct fw_ctx *c);
struct scsi_sense_reason fw_mode_sense(struct fw_ctx *c);
struct scsi_sense_reason fw_caw_compare_and_write(struct fw_ctx *c);
struct scsi_sense_reason fw_caw_orwrite(struct fw_ctx *c);
struct scsi_sense_reason fw_resv_reserve(struct fw_ctx *c);
struct scsi_sense_reason fw_resv_release(struct fw_ctx *c);
/* Another nexus holds a RESERVE and the command is not one it allows, or a
 * RESERVE/RELEASE meets persistent reservations. */
bool fw_resv_conflict(const struct fw_ctx *c);
struct scsi_sense_reason fw_pr_in(struct fw_ctx *c);
struct scsi_sense_reason fw_pr_out(struct fw_ctx *c);
/* The persistent reservation refuses this command from this nexus. */
bool fw_pr_conflict(const struct fw_ctx *c);
/* Any registration or reservation exists. */
bool fw_pr_active(const struct fw_drive *d);
/* Power on: registrations and the reservation end unless APTPL kept them. */
void fw_pr_power_on(struct fw_drive *d);
struct scsi_sense_reason fw_xcopy_extended_copy(struct fw_ctx *c);
struct scsi_sense_reason fw_xcopy_receive_copy_results(struct fw_ctx *c);
/* The nexus is gone: so is its copy status. */
void fw_xcopy_nexus_loss(struct fw_drive *d, uint16_t initiator);
struct scsi_sense_reason fw_sanitize(struct fw_ctx *c);
/* NOT READY 04h/1Bh with the progress while a sanitize runs, else GOOD. */
struct scsi_sense_reason fw_sanitize_status(struct fw_drive *d);
/* What a running or failed sanitize does to this command (fw.c, after the
 * unit attention): GOOD to let it run. */
struct scsi_sense_reason fw_sanitize_gate(struct fw_ctx *c);
/* ---- protection information (fw_pi.c) ---- */
/* The protect field of the CDB (RDPROTECT, WRPROTECT, VRPROTECT), 0 when the
 * command has none. */
uint8_t fw_pi_field(const struct fw_ctx *c);
/* Bytes a block occupies in this command's data: block size, plus 8 when the
 * protect field asks for the tuple to travel with it. */
uint32_t fw_pi_block_bytes(const struct fw_ctx *c);
/* The protect field's value on this drive: reserved values, and any nonzero
 * value on a type 2 drive (which needs the 32-byte CDBs), refused. */
struct scsi_sense_reason fw_pi_check_cdb(const struct fw_ctx *c);
/* The store's tuple generator (sim_store_pi_gen) for writes without one. */
void fw_pi_generate(void *arg, uint64_t lba, const void *block, uint32_t block_size, uint8_t tuple[8]);
/* READ, WRITE, VERIFY and WRITE AND VERIFY on a drive with protection
 * information (the write ones only with a nonzero protect field). */
struct scsi_sense_reason fw_pi_read(struct fw_ctx *c);
struct scsi_sense_reason fw_pi_write(struct fw_ctx *c);
struct scsi_sense_reason fw_pi_verify(struct fw_ctx *c);
struct scsi_sense_reason fw_pi_write_verify(struct fw_ctx *c);

/* The Application Tag mode page, 0Ah/02h (fw_apptag.c). */
/* The whole page (SPF format, header included) into b: the descriptors of p,
 * or with mask the changeable bits; returns its length. */
size_t fw_apptag_build(const struct fw_mode_params *p, bool mask, uint8_t *b);
/* Checks the page of len bytes at pg (offset `at` in the parameter list) and
 * puts its descriptors in next; INVALID FIELD IN PARAMETER LIST with the field
 * pointer for a malformed one. */
struct scsi_sense_reason fw_apptag_take(const struct fw_drive *d, const uint8_t *pg, size_t len, uint16_t at,
                                        struct fw_mode_params *next);
/* The application tag expected at lba: true with *tag when ATMPE is 1 and a
 * descriptor covers lba. */
bool fw_apptag_expected(const struct fw_drive *d, uint64_t lba, uint16_t *tag);

struct scsi_sense_reason fw_lbp_unmap(struct fw_ctx *c);
struct scsi_sense_reason fw_lbp_write_same(struct fw_ctx *c);
struct scsi_sense_reason fw_lbp_get_lba_status(struct fw_ctx *c);

/* ---- provisioning limits (fw_lbp.c), reported in VPD B0h ---- */
#define FW_MAX_WRITE_SAME_BLOCKS  0xffffu     /* MAXIMUM WRITE SAME LENGTH: what WRITE SAME (10) can ask */
#define FW_MAX_COMPARE_AND_WRITE_BLOCKS 255u /* MAXIMUM COMPARE AND WRITE LENGTH (a byte) */
#define FW_MAX_UNMAP_BLOCKS       (1u << 20)   /* MAXIMUM UNMAP LBA COUNT */
#define FW_MAX_UNMAP_DESCRIPTORS  64u          /* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
struct fw_lbp_limits {
    uint32_t max_unmap_lbas, max_unmap_descs, granularity; /* 0 on a fully provisioned drive */
    uint64_t max_write_same;
};
void fw_lbp_limits(const struct fw_drive *d, struct fw_lbp_limits *l);
struct scsi_sense_reason fw_mode_select(struct fw_ctx *c);

/* ---- target ports and ALUA (fw_tpg.c) ---- */
/* REPORT TARGET PORT GROUPS: one group per port, active/optimized. */
struct scsi_sense_reason fw_tpg_report(struct fw_ctx *c);
/* Standard INQUIRY: TPGS 01b (implicit ALUA) with several ports. */
void fw_tpg_inquiry(const struct fw_drive *d, uint8_t *std);
/* VPD 83h: the relative target port (type 4) and target port group (type 5)
 * designators of the port the command arrived on; returns the bytes added. */
size_t fw_tpg_designators(const struct fw_ctx *c, uint8_t *p);

/* ---- removable medium (fw_removable.c) ---- */
struct scsi_sense_reason fw_removable_prevent_allow(struct fw_ctx *c);
/* START STOP UNIT with LOEJ on a removable drive: eject (START=0) or load. */
struct scsi_sense_reason fw_removable_load_eject(struct fw_ctx *c);
/* Standard INQUIRY: RMB. */
void fw_removable_inquiry(const struct fw_drive *d, uint8_t *std);
/* Prevention ends for one nexus (-1: every nexus): nexus loss, reset, power on. */
void fw_removable_allow(struct fw_drive *d, int initiator);

#endif
