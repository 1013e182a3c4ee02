/* hw/hba.h — the datasheet of the scsisim RAID controller ("SSIM-1").
 *
 * This header is the only part of sim/ a driver may include: it describes the
 * controller the way a hardware datasheet does.  docs/controller.md is the prose
 * version of the same contract.
 *
 * THE PROTOCOL IN ONE PAGE
 *
 * Address spaces.  The controller has one 4 KiB register window (BAR0) of
 * little-endian 32-bit registers, and reaches host memory only by DMA through an
 * IOMMU: every address the driver hands the controller (queue bases, SGL entries,
 * sense buffers, admin data) is an IOVA that the OS must have mapped, with a
 * direction, before the controller touches it.  An access to an unmapped IOVA, or
 * against the mapping's direction, is an IOMMU fault: the access is aborted,
 * dropped (writes discarded, reads return all-ones) or the controller goes fatal,
 * as the platform's fault policy says; every fault is logged (HBA_LOG_IOMMU_FAULTS)
 * and raised as an asynchronous event.
 *
 * Bring-up.  After power on or a hard reset the controller is in state RESET
 * (STATUS.RDY = 0) while its firmware initialises; it then enters READY.  The
 * driver reads CAP*, programs the admin queue (AQ_*), and sets CONFIG.EN; the
 * controller validates the admin queue and enters OPERATIONAL (STATUS.RDY = 1,
 * STATE = OPERATIONAL), or FAULT with FAULT_CODE = HBA_FAULT_BAD_ADMIN_QUEUE.
 * Clearing CONFIG.EN is a controller reset: outstanding commands complete with
 * HBA_CS_ABORTED_RESET, I/O queues are deleted, and the controller returns to
 * READY.  FAULT is left only by a hard reset: write the four HBA_RESET_KEY_* values
 * to RESET_KEY in order (anything else restarts the sequence), then set
 * DIAG.HARD_RESET.  FAULT_CODE is sticky: the first fault wins until the hard
 * reset.  HEARTBEAT counts up every HBA_HEARTBEAT_PERIOD_MS while the firmware
 * runs; a heartbeat that stops means the controller is dead or hung.
 *
 * Queues.  Queue 0 is the admin queue pair; I/O queue pairs are created with
 * admin commands.  A submission queue (SQ) is a ring of 64-byte entries, a
 * completion queue (CQ) a ring of 16-byte entries, both in host memory.
 *
 *   Submit:  write the entry at the SQ tail, then store the new tail to the
 *            queue's SQ_TAIL doorbell with release order.  The controller copies
 *            each entry once before it parses it.  Shadow doorbell / event index:
 *            before it parks, the controller writes SQ_EVENT_IDX (its SQ head:
 *            the index of the next entry it will fetch), issues a full fence and
 *            re-reads the tail.  The driver, after its release store of the tail,
 *            issues a full (sequentially consistent) fence, loads SQ_EVENT_IDX,
 *            and needs to ring the wake-up (the platform's "bell") only when the
 *            tail it wrote moved past SQ_EVENT_IDX, i.e. when
 *            (u16)(new_tail - event_idx - 1) < (u16)(new_tail - old_tail).
 *            Writes to any register other than a doorbell always wake the firmware.
 *            A queue of N entries holds at most N - 1: it is full when
 *            (tail + 1) % N == head.  A doorbell value >= N is a FAULT
 *            (HBA_FAULT_DOORBELL).
 *   Complete: the controller writes the 16-byte entry with the phase bit of the
 *            current pass (1 on the first pass, flipping on every wrap), storing
 *            the last dword (sq_id + phase) with release order, then raises the
 *            CQ's interrupt vector.  The driver consumes entries while the phase
 *            bit matches its expected phase (acquire load), then writes the new
 *            head to CQ_HEAD.  Completions arrive in any order; the command id
 *            ties a completion to its submission.  A command id must be unique
 *            among the commands outstanding on one SQ; a duplicate completes with
 *            HBA_CS_CID_CONFLICT.  Every completion carries the SQ head, which
 *            frees SQ slots.
 *
 * Interrupts.  One vector per CQ (chosen at creation; vector 0 serves the admin
 * CQ).  The controller sets the vector's bit in INT_STATUS and, unless that bit is
 * masked, signals the vector.  INT_STATUS is write-1-to-clear; INT_MASK_SET and
 * INT_MASK_CLEAR set and clear bits of the mask (read INT_MASK_SET for the mask).
 * Unmasking a vector with status pending signals it.  Coalescing (feature
 * HBA_FEATURE_INT_COALESCING) delays the signal until THRESHOLD completions are
 * pending or TIME_US microseconds passed since the first one (a field of 0 sets
 * no limit of its kind; the admin vector 0 is never delayed).  A CQ created with
 * HBA_CQ_FLAG_NO_IRQ is polled: the controller never signals for it.
 *
 * Data.  Each entry describes its data with one inline scatter-gather element
 * (SGE).  A DATA SGE is the whole buffer.  A SEGMENT SGE points to a list of up
 * to 256 SGEs in host memory; in the list, only the last element may be a SEGMENT
 * (chaining to the next list).  Rules, each with its controller status:
 *   - a DATA SGE of length 0                 -> HBA_CS_SGL_ZERO_LENGTH
 *   - more DATA SGEs than CAP_SGL.MAX_SGES,
 *     or a list nested deeper than allowed   -> HBA_CS_SGL_TOO_MANY
 *   - SEGMENT length not a multiple of 16,
 *     zero, or above 256 entries; a SEGMENT
 *     in the middle of a list; unknown type  -> HBA_CS_SGL_INVALID
 *   - the SGEs add up to less than data_len  -> HBA_CS_SGL_SHORT
 *   - data_len above CAP_MAX_XFER            -> HBA_CS_XFER_TOO_LONG
 * Bytes of SGEs beyond data_len are ignored.  The controller drives only
 * CAP_SGL.ADDR_BITS address lines: address bits above that are dropped before
 * the IOMMU sees the address (a driver that hands a 64-bit IOVA to a 32-bit
 * controller DMAs somewhere else — see field bug F7).
 *
 * SCSI.  A HBA_OP_SCSI entry carries a CDB for logical drive (target, lun) as
 * seen by initiator (I_T nexus) `initiator`.  The firmware runs the command; the
 * completion gives the SCSI status, the bytes actually transferred, and (for
 * CHECK CONDITION) the sense length — the sense bytes are DMA'd to the entry's
 * sense buffer (at most sense_len bytes).  A LUN with no logical drive, on a
 * target that has one, answers as SPC requires (INQUIRY with peripheral
 * qualifier 011b, otherwise ILLEGAL REQUEST / LOGICAL UNIT NOT SUPPORTED); a
 * target or LUN beyond CAP_TARGETS, or a target with no logical drive at all
 * (nothing answers its selection), completes with HBA_CS_INVALID_TARGET.
 *
 * Events.  The driver keeps HBA_ADM_ASYNC_EVENT commands outstanding; each
 * completes when an event happens (result = type [7:0] | info [31:8], see
 * HBA_AEV_TYPE / HBA_AEV_INFO).  Events that happen while none is outstanding
 * are queued (up to 64; older are dropped and HBA_AEV_OVERFLOW is reported
 * first, its info the number of events lost).
 *
 * Admin data.  An admin command that moves data (IDENTIFY, GET_LOG) uses the
 * entry's SGL and data_len like an I/O command; its result is the number of
 * bytes written.  CREATE_CQ / CREATE_SQ take the queue's base IOVA in sge.addr:
 * entries * entry size contiguous bytes of IOVA space.
 */
#ifndef HW_HBA_H
#define HW_HBA_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------
 * BAR0 register map (4 KiB, little-endian 32-bit registers)
 * ------------------------------------------------------------------------- */
#define HBA_BAR0_SIZE          0x1000u

#define HBA_REG_ID             0x000u /* RO: HBA_ID_MAGIC */
#define HBA_REG_VERSION        0x004u /* RO: major << 16 | minor */
#define HBA_REG_CAP_QUEUES     0x008u /* RO: see HBA_CAPQ_* */
#define HBA_REG_CAP_SGL        0x00Cu /* RO: see HBA_CAPS_* */
#define HBA_REG_CAP_MAX_XFER   0x010u /* RO: maximum bytes per command */
#define HBA_REG_CAP_FEATURES   0x014u /* RO: HBA_FEAT_BIT_* */
#define HBA_REG_CAP_TARGETS    0x018u /* RO: targets [15:0], LUNs per target [31:16] */
#define HBA_REG_CONFIG         0x020u /* RW: HBA_CONFIG_* */
#define HBA_REG_STATUS         0x024u /* RO: HBA_STATUS_* */
#define HBA_REG_FAULT_CODE     0x028u /* RO: sticky enum hba_fault_code, first fault wins */
#define HBA_REG_HEARTBEAT      0x02Cu /* RO: increments every HBA_HEARTBEAT_PERIOD_MS */
#define HBA_REG_INT_STATUS     0x030u /* RW1C: one bit per vector */
#define HBA_REG_INT_MASK_SET   0x034u /* W: 1 bits mask vectors; R: the mask */
#define HBA_REG_INT_MASK_CLEAR 0x038u /* W: 1 bits unmask vectors; R: the mask */
#define HBA_REG_AQ_SQ_BASE_LO  0x040u /* RW: admin SQ IOVA, 64-byte aligned */
#define HBA_REG_AQ_SQ_BASE_HI  0x044u
#define HBA_REG_AQ_CQ_BASE_LO  0x048u /* RW: admin CQ IOVA, 16-byte aligned */
#define HBA_REG_AQ_CQ_BASE_HI  0x04Cu
#define HBA_REG_AQ_SIZE        0x050u /* RW: SQ entries [15:0], CQ entries [31:16]; 2..4096 each */
#define HBA_REG_RESET_KEY      0x058u /* W: hard reset key sequence */
#define HBA_REG_DIAG           0x05Cu /* RW: HBA_DIAG_* */

/* Per-queue doorbells: queue q (0 = admin) owns 16 bytes at HBA_REG_DB_BASE + 16*q. */
#define HBA_REG_DB_BASE        0x100u
#define HBA_DB_STRIDE          16u
#define HBA_DB_SQ_TAIL         0x0u /* W by driver: new SQ tail */
#define HBA_DB_CQ_HEAD         0x4u /* W by driver: new CQ head */
#define HBA_DB_SQ_EVENT_IDX    0x8u /* W by controller: ring the bell when the tail passes this */
#define HBA_REG_SQ_TAIL(q)      (HBA_REG_DB_BASE + HBA_DB_STRIDE * (uint32_t)(q) + HBA_DB_SQ_TAIL)
#define HBA_REG_CQ_HEAD(q)      (HBA_REG_DB_BASE + HBA_DB_STRIDE * (uint32_t)(q) + HBA_DB_CQ_HEAD)
#define HBA_REG_SQ_EVENT_IDX(q) (HBA_REG_DB_BASE + HBA_DB_STRIDE * (uint32_t)(q) + HBA_DB_SQ_EVENT_IDX)

#define HBA_ID_MAGIC           0x4D495353u /* "SSIM" in little-endian bytes */
#define HBA_VERSION_1_0        0x00010000u
#define HBA_MAX_QUEUES         64u         /* queue ids 0..63; the doorbells fit BAR0 */
#define HBA_MAX_VECTORS        32u         /* INT_STATUS is 32 bits */
#define HBA_HEARTBEAT_PERIOD_MS 10u

/* CAP_QUEUES */
#define HBA_CAPQ_MAX_ENTRIES(v)  ((v) & 0xFFFFu)        /* entries per queue, max */
#define HBA_CAPQ_MAX_IO_QUEUES(v) (((v) >> 16) & 0xFFu) /* I/O queue pairs */
#define HBA_CAPQ_VECTORS(v)      (((v) >> 24) & 0xFFu)  /* interrupt vectors */
/* CAP_SGL */
#define HBA_CAPS_MAX_SGES(v)     ((v) & 0xFFFFu)        /* DATA SGEs per command */
#define HBA_CAPS_ADDR_BITS(v)    (((v) >> 16) & 0xFFu)  /* DMA address lines, 32..64 */
#define HBA_CAPS_MAX_DEPTH(v)    (((v) >> 24) & 0xFFu)  /* segment lists per command */

/* CAP_FEATURES */
#define HBA_FEAT_BIT_VWC        (1u << 0) /* volatile write cache */
#define HBA_FEAT_BIT_FUA        (1u << 1) /* forced unit access honoured */
#define HBA_FEAT_BIT_BATTERY    (1u << 2) /* battery-backed cache present */
#define HBA_FEAT_BIT_IOMMU      (1u << 3) /* all DMA goes through an IOMMU */
#define HBA_FEAT_BIT_OOO        (1u << 4) /* completions may be out of order */
#define HBA_FEAT_BIT_EVENT_IDX  (1u << 5) /* SQ_EVENT_IDX is maintained */
#define HBA_FEAT_BIT_POLL       (1u << 6) /* CQs without interrupts allowed */

/* CONFIG */
#define HBA_CONFIG_EN           (1u << 0) /* 0 -> 1: go operational; 1 -> 0: controller reset */
#define HBA_CONFIG_SHN          (1u << 1) /* 1: orderly shutdown, flush the cache */

/* STATUS */
#define HBA_STATUS_RDY          (1u << 0) /* operational: queues accepted */
#define HBA_STATUS_FATAL        (1u << 1) /* state FAULT; see FAULT_CODE */
#define HBA_STATUS_SHST_DONE    (1u << 2) /* shutdown complete, cache flushed */
#define HBA_STATUS_SHST_DIRTY   (1u << 3) /* with SHST_DONE: a drive's cache could not be
                                           * flushed; its dirty data stays in the cache,
                                           * not durable */
#define HBA_STATUS_STATE(v)     (((v) >> 8) & 0xFu)
#define HBA_STATUS_STATE_SHIFT  8
enum hba_state {
    HBA_STATE_RESET       = 0, /* firmware initialising after power on / hard reset */
    HBA_STATE_READY       = 1, /* waiting for CONFIG.EN */
    HBA_STATE_OPERATIONAL = 2,
    HBA_STATE_FAULT       = 3, /* only a hard reset leaves this state */
};

/* FAULT_CODE */
enum hba_fault_code {
    HBA_FAULT_NONE            = 0,
    HBA_FAULT_BAD_ADMIN_QUEUE = 1, /* AQ registers invalid or unmapped at CONFIG.EN */
    HBA_FAULT_IOMMU           = 2, /* an IOMMU fault under the fatal policy */
    HBA_FAULT_QUEUE_ACCESS    = 3, /* a queue's memory became unreachable */
    HBA_FAULT_DOORBELL        = 4, /* a doorbell written with an out-of-range index */
    HBA_FAULT_INJECTED        = 5, /* a test asked for it */
    HBA_FAULT_INTERNAL        = 6, /* a simulator bug, never a driver error */
};

/* RESET_KEY / DIAG */
#define HBA_RESET_KEY_1         0x0000A5A5u
#define HBA_RESET_KEY_2         0x00005A5Au
#define HBA_RESET_KEY_3         0x0000C3C3u
#define HBA_RESET_KEY_4         0x00003C3Cu
#define HBA_DIAG_KEY_ACCEPTED   (1u << 0) /* RO: the four keys were written in order */
#define HBA_DIAG_HARD_RESET     (1u << 1) /* W: with KEY_ACCEPTED, reset the controller */

/* ---------------------------------------------------------------------------
 * Scatter-gather element (16 bytes)
 * ------------------------------------------------------------------------- */
enum hba_sge_type {
    HBA_SGE_DATA    = 0, /* addr/length describe data */
    HBA_SGE_SEGMENT = 1, /* addr/length describe a list of SGEs (length = 16 * n) */
};
#define HBA_SGL_SEGMENT_MAX 256u /* SGEs in one segment list */

struct hba_sge {
    uint64_t addr;    /* IOVA */
    uint32_t length;  /* bytes */
    uint8_t  type;    /* enum hba_sge_type */
    uint8_t  rsvd[3];
};
_Static_assert(sizeof(struct hba_sge) == 16, "hba_sge is 16 bytes");
_Static_assert(offsetof(struct hba_sge, length) == 8, "hba_sge.length at 8");
_Static_assert(offsetof(struct hba_sge, type) == 12, "hba_sge.type at 12");

/* ---------------------------------------------------------------------------
 * Submission entry (64 bytes)
 * ------------------------------------------------------------------------- */
enum hba_opcode {
    /* I/O queues */
    HBA_OP_SCSI = 0x01,          /* SCSI pass-through to (target, lun) */
    /* admin queue */
    HBA_ADM_IDENTIFY        = 0x80, /* cdw[0] = enum hba_identify_cns, cdw[1] = target << 16 | lun */
    HBA_ADM_CREATE_CQ       = 0x81, /* cdw[0] = qid, cdw[1] = entries, cdw[2] = vector, cdw[3] = flags; sge.addr = base */
    HBA_ADM_CREATE_SQ       = 0x82, /* cdw[0] = qid, cdw[1] = entries, cdw[2] = cq id; sge.addr = base */
    HBA_ADM_DELETE_SQ       = 0x83, /* cdw[0] = qid; outstanding commands complete ABORTED_SQ_DELETED */
    HBA_ADM_DELETE_CQ       = 0x84, /* cdw[0] = qid; no SQ may still use it */
    HBA_ADM_GET_FEATURE     = 0x85, /* cdw[0] = enum hba_feature, cdw[1] = target << 16 | lun; result = value */
    HBA_ADM_SET_FEATURE     = 0x86, /* cdw[0] = feature, cdw[1] = target << 16 | lun (or HBA_ALL_DRIVES), cdw[2] = value */
    HBA_ADM_ABORT           = 0x87, /* cdw[0] = sq id, cdw[1] = command id; result 0 = aborted, 1 = not found */
    HBA_ADM_ASYNC_EVENT     = 0x88, /* completes when an event happens */
    HBA_ADM_CACHE_FLUSH     = 0x89, /* cdw[1] = target << 16 | lun, or HBA_ALL_DRIVES */
    HBA_ADM_SHUTDOWN        = 0x8A, /* flush every cache; further I/O fails with HBA_CS_SHUTDOWN */
    HBA_ADM_GET_LOG         = 0x8B, /* cdw[0] = enum hba_log_id, cdw[1] = first entry; data = buffer */
    HBA_ADM_RESET           = 0x8C, /* cdw[0] = enum hba_reset_scope, cdw[1] = target << 16 | lun */
    HBA_ADM_NEXUS_LOSS      = 0x8D, /* cdw[0] = initiator: its I_T nexus is gone (29h/07h next time) */
};
#define HBA_ALL_DRIVES 0xFFFFFFFFu

#define HBA_FLAG_DIR_MASK    0x03u
#define HBA_FLAG_DIR_NONE    0x00u
#define HBA_FLAG_DIR_WRITE   0x01u /* host -> device (data-out) */
#define HBA_FLAG_DIR_READ    0x02u /* device -> host (data-in) */
/* The SAM-5 task attribute (8.6) of an HBA_OP_SCSI command, bits 3:2.  The
 * firmware keeps one task set per logical unit: an ORDERED task runs after
 * every task fetched before it and before every task fetched after it; a
 * HEAD OF QUEUE task runs before the SIMPLE tasks fetched with it; SIMPLE
 * tasks between them may run in any order (docs/controller.md). */
#define HBA_FLAG_ATTR_SHIFT  2u
#define HBA_FLAG_ATTR_MASK   0x0cu
#define HBA_ATTR_SIMPLE      0u
#define HBA_ATTR_ORDERED     1u
#define HBA_ATTR_HEAD        2u
#define HBA_ATTR_ACA         3u
/* Both direction bits (bidirectional), other flag bits, or DIR_NONE with
 * data_len != 0: HBA_CS_INVALID_FIELD. */

#define HBA_CDB_MAX   16u
#define HBA_SENSE_MAX 252u
#define HBA_MAX_INITIATORS 4096u /* I_T nexus ids 0..4095: an iSCSI target needs thousands of sessions */
#define HBA_MAX_TARGET_PORTS 4u /* target ports (multipath), each its own target port group */

struct hba_sq_entry {
    uint8_t  opcode;     /* enum hba_opcode */
    uint8_t  flags;      /* HBA_FLAG_DIR_* */
    uint16_t cid;        /* command id, unique among those outstanding on the SQ */
    uint16_t target;
    uint16_t lun;
    uint16_t initiator;  /* I_T nexus id, < HBA_MAX_INITIATORS */
    uint8_t  cdb_len;    /* 6..16 for HBA_OP_SCSI */
    uint8_t  sense_len;  /* bytes available at sense_addr, <= HBA_SENSE_MAX */
    uint32_t data_len;   /* bytes to transfer */
    union {
        uint8_t  cdb[HBA_CDB_MAX]; /* HBA_OP_SCSI */
        uint32_t cdw[4];           /* admin parameters */
    } u;
    uint64_t sense_addr; /* IOVA of the sense buffer */
    struct hba_sge sge;  /* data, or the first segment list */
    uint32_t timeout_ms; /* 0: none; informational, the driver enforces timeouts */
    uint16_t target_port; /* the controller port the command arrived on, 0-based (< HBA_MAX_TARGET_PORTS):
                             the firmware reports it as relative target port port + 1 */
    uint16_t rsvd;
};
_Static_assert(sizeof(struct hba_sq_entry) == 64, "hba_sq_entry is 64 bytes");
_Static_assert(offsetof(struct hba_sq_entry, cid) == 2, "cid at 2");
_Static_assert(offsetof(struct hba_sq_entry, target) == 4, "target at 4");
_Static_assert(offsetof(struct hba_sq_entry, lun) == 6, "lun at 6");
_Static_assert(offsetof(struct hba_sq_entry, initiator) == 8, "initiator at 8");
_Static_assert(offsetof(struct hba_sq_entry, cdb_len) == 10, "cdb_len at 10");
_Static_assert(offsetof(struct hba_sq_entry, sense_len) == 11, "sense_len at 11");
_Static_assert(offsetof(struct hba_sq_entry, data_len) == 12, "data_len at 12");
_Static_assert(offsetof(struct hba_sq_entry, u) == 16, "cdb at 16");
_Static_assert(offsetof(struct hba_sq_entry, sense_addr) == 32, "sense_addr at 32");
_Static_assert(offsetof(struct hba_sq_entry, sge) == 40, "sge at 40");
_Static_assert(offsetof(struct hba_sq_entry, timeout_ms) == 56, "timeout_ms at 56");
_Static_assert(offsetof(struct hba_sq_entry, target_port) == 60, "target_port at 60");

/* ---------------------------------------------------------------------------
 * Completion entry (16 bytes)
 * ------------------------------------------------------------------------- */
enum hba_ctrl_status {
    HBA_CS_SUCCESS            = 0x00, /* the command ran; see scsi_status */
    HBA_CS_INVALID_OPCODE     = 0x01, /* unknown opcode for this queue */
    HBA_CS_INVALID_FIELD      = 0x02, /* a reserved or out-of-range field in the entry */
    HBA_CS_CID_CONFLICT       = 0x03, /* command id already outstanding on this SQ */
    HBA_CS_INVALID_TARGET     = 0x04, /* target/LUN beyond CAP_TARGETS, or a target without drives: selection timeout */
    HBA_CS_SGL_ZERO_LENGTH    = 0x05,
    HBA_CS_SGL_TOO_MANY       = 0x06,
    HBA_CS_SGL_INVALID        = 0x07,
    HBA_CS_SGL_SHORT          = 0x08,
    HBA_CS_XFER_TOO_LONG      = 0x09,
    HBA_CS_DATA_XFER_ERROR    = 0x0A, /* IOMMU fault while moving data (abort policy) */
    HBA_CS_SENSE_XFER_ERROR   = 0x0B, /* the sense buffer could not be written */
    HBA_CS_ABORTED            = 0x0C, /* HBA_ADM_ABORT */
    HBA_CS_ABORTED_RESET      = 0x0D, /* controller, target or LUN reset */
    HBA_CS_ABORTED_SQ_DELETED = 0x0E,
    HBA_CS_INVALID_QUEUE      = 0x0F, /* bad queue id / size / vector in an admin command */
    HBA_CS_SHUTDOWN           = 0x10, /* after HBA_ADM_SHUTDOWN */
    HBA_CS_DIRECTION_MISMATCH = 0x11, /* entry direction disagrees with the CDB's */
    HBA_CS_INTERNAL           = 0x1F, /* a simulator bug, never a driver error */
};

struct hba_cq_entry {
    uint16_t cid;
    uint8_t  scsi_status; /* SAM status when ctrl_status == HBA_CS_SUCCESS */
    uint8_t  ctrl_status; /* enum hba_ctrl_status */
    uint32_t result;      /* I/O: bytes transferred; admin: command-specific */
    uint16_t sq_head;     /* SQ entries consumed up to here */
    uint8_t  sense_len;   /* sense bytes written to sense_addr */
    uint8_t  rsvd;
    uint16_t sq_id;
    uint16_t phase;       /* bit 0: phase tag; dword 3 is stored last with release order */
};
_Static_assert(sizeof(struct hba_cq_entry) == 16, "hba_cq_entry is 16 bytes");
_Static_assert(offsetof(struct hba_cq_entry, result) == 4, "result at 4");
_Static_assert(offsetof(struct hba_cq_entry, sq_head) == 8, "sq_head at 8");
_Static_assert(offsetof(struct hba_cq_entry, sense_len) == 10, "sense_len at 10");
_Static_assert(offsetof(struct hba_cq_entry, sq_id) == 12, "sq_id at 12");
_Static_assert(offsetof(struct hba_cq_entry, phase) == 14, "phase at 14");

#define HBA_CQ_FLAG_NO_IRQ 0x1u /* polled CQ: never signals a vector */

/* ---------------------------------------------------------------------------
 * Admin data structures
 * ------------------------------------------------------------------------- */
enum hba_identify_cns {
    HBA_IDENTIFY_CONTROLLER = 0, /* struct hba_identify_ctrl (256 bytes) */
    HBA_IDENTIFY_DRIVE_LIST = 1, /* u32 count, then u32 (target << 16 | lun) per drive */
    HBA_IDENTIFY_DRIVE      = 2, /* struct hba_identify_drive (128 bytes) for cdw[1] */
};

struct hba_identify_ctrl {
    char     vendor[8];       /* ASCII, space padded */
    char     model[16];
    char     firmware[8];
    char     serial[20];
    uint32_t max_targets;
    uint32_t max_luns;
    uint32_t drive_count;
    uint32_t cache_bytes;     /* write-back cache size per drive */
    uint8_t  battery;         /* enum hba_battery */
    uint8_t  rsvd[187];
};
_Static_assert(sizeof(struct hba_identify_ctrl) == 256, "identify controller is 256 bytes");
_Static_assert(offsetof(struct hba_identify_ctrl, max_targets) == 52, "max_targets at 52");
_Static_assert(offsetof(struct hba_identify_ctrl, battery) == 68, "battery at 68");

struct hba_identify_drive {
    uint64_t blocks;          /* capacity in logical blocks */
    uint32_t block_size;      /* 512 or 4096 */
    uint16_t target;
    uint16_t lun;
    uint8_t  write_cache;     /* WCE */
    uint8_t  write_protect;
    uint8_t  ready;           /* 1 once the time-to-ready passed */
    uint8_t  rsvd0;
    char     serial[20];
    uint8_t  naa_id[16];      /* the NAA designator VPD 83h reports */
    uint8_t  rsvd[72];
};
_Static_assert(sizeof(struct hba_identify_drive) == 128, "identify drive is 128 bytes");
_Static_assert(offsetof(struct hba_identify_drive, write_cache) == 16, "write_cache at 16");
_Static_assert(offsetof(struct hba_identify_drive, serial) == 20, "serial at 20");

enum hba_feature {
    HBA_FEATURE_WRITE_CACHE    = 1, /* per drive: 1 = WCE (turning it off flushes first) */
    HBA_FEATURE_INT_COALESCING = 2, /* value = THRESHOLD [7:0] | TIME_US [31:8]; 0 = off */
    HBA_FEATURE_BATTERY        = 3, /* RO: enum hba_battery */
};

/* Interrupt coalescing (HBA_FEATURE_INT_COALESCING).  The value is
 * THRESHOLD [7:0] | TIME_US [31:8]; 0 turns coalescing off.  An I/O vector is
 * signalled once THRESHOLD completions are pending on it, or TIME_US
 * microseconds after the first of them was posted, whichever comes first; a
 * field of 0 sets no limit of its kind (THRESHOLD 0 with TIME_US 0 is off).
 * The admin vector 0 is never delayed, and a polled CQ (HBA_CQ_FLAG_NO_IRQ) is
 * never signalled at all.  The setting is the controller's, for every I/O
 * vector; a controller reset (CONFIG.EN 1 -> 0) or a hard reset turns it off,
 * so a driver sets it again after each bring-up.
 *
 * What a driver may rely on, with or without coalescing: the controller
 * writes a completion entry, phase tag last, before it sets INT_STATUS or
 * signals the vector, and the phase tag is written with release order — a
 * driver that reads the phase tag with acquire order needs no lock to read
 * the rest of the entry, and may reap a CQ without waiting for a signal at
 * all (that is how a polled CQ is read).  A delayed signal therefore never
 * hides a completion from a driver that looks. */
#define HBA_COALESCE_THRESHOLD_MAX 0xFFu
#define HBA_COALESCE_TIME_US_MAX   0xFFFFFFu
#define HBA_COALESCE(threshold, time_us) \
    ((((uint32_t)(time_us) & HBA_COALESCE_TIME_US_MAX) << 8) | ((uint32_t)(threshold) & HBA_COALESCE_THRESHOLD_MAX))
#define HBA_COALESCE_THRESHOLD(v)  ((uint32_t)(v) & HBA_COALESCE_THRESHOLD_MAX)
#define HBA_COALESCE_TIME_US(v)    ((uint32_t)(v) >> 8)
_Static_assert(HBA_COALESCE(0, 0) == 0, "coalescing value 0 is off");
_Static_assert(HBA_COALESCE(32, 100) == (100u << 8 | 32u), "THRESHOLD [7:0] | TIME_US [31:8]");
_Static_assert(HBA_COALESCE_THRESHOLD(HBA_COALESCE(255, HBA_COALESCE_TIME_US_MAX)) == 255u,
               "THRESHOLD keeps its 8 bits beside the largest TIME_US");
_Static_assert(HBA_COALESCE_TIME_US(HBA_COALESCE(255, HBA_COALESCE_TIME_US_MAX)) == HBA_COALESCE_TIME_US_MAX,
               "TIME_US keeps its 24 bits beside the largest THRESHOLD");

enum hba_battery { HBA_BATTERY_ABSENT = 0, HBA_BATTERY_GOOD = 1, HBA_BATTERY_FAILED = 2 };

enum hba_reset_scope { HBA_RESET_LUN = 0, HBA_RESET_TARGET = 1, HBA_RESET_BUS = 2 };

/* Asynchronous events: the result dword of a completed HBA_ADM_ASYNC_EVENT is
 * type [7:0] | info [31:8]. */
enum hba_async_event_type {
    HBA_AEV_IOMMU_FAULT   = 1, /* info: fault log sequence number (low 24 bits) */
    HBA_AEV_BATTERY       = 2, /* info: enum hba_battery */
    HBA_AEV_DRIVE_CHANGED = 3, /* info: target << 8 | lun (low bits) */
    HBA_AEV_CACHE_LOST    = 4, /* info: dirty lines lost at the last power cut (saturating) */
    HBA_AEV_OVERFLOW      = 0xFF,
};
#define HBA_AEV_TYPE(r) ((r) & 0xFFu)
#define HBA_AEV_INFO(r) ((r) >> 8)

enum hba_log_id {
    HBA_LOG_IOMMU_FAULTS = 1, /* struct hba_log_header, then struct hba_iommu_fault entries */
};

struct hba_log_header {
    uint32_t total;   /* entries ever logged (the log keeps the newest HBA_FAULT_LOG_DEPTH) */
    uint32_t count;   /* entries that follow in this buffer */
    uint32_t first;   /* sequence number of the first entry that follows */
    uint32_t rsvd;
};
_Static_assert(sizeof(struct hba_log_header) == 16, "log header is 16 bytes");

#define HBA_FAULT_LOG_DEPTH 256u

enum hba_dma_dir {
    HBA_DMA_TO_DEVICE   = 1, /* the device reads host memory (data-out, queue entries) */
    HBA_DMA_FROM_DEVICE = 2, /* the device writes host memory (data-in, completions, sense) */
    HBA_DMA_BIDIRECTIONAL = 3,
};
enum hba_iommu_reason {
    HBA_IOMMU_UNMAPPED  = 1, /* no translation for the IOVA */
    HBA_IOMMU_READ_ONLY = 2, /* device write to a to-device mapping */
    HBA_IOMMU_WRITE_ONLY = 3, /* device read of a from-device mapping */
    HBA_IOMMU_BEYOND_RAM = 4, /* the translation points outside host memory */
    HBA_IOMMU_BAD_ENTRY  = 5, /* a malformed translation-table entry on the walk (see below) */
};
/* One entry per faulting access: iova is the first faulting byte, length the
 * whole access's length (so iova may lie inside [start, start + length)). */
struct hba_iommu_fault {
    uint64_t iova;
    uint32_t length;
    uint32_t seq;      /* 0, 1, 2, ... across the controller's life */
    uint16_t cid;      /* command id, or 0xFFFF for a queue access */
    uint16_t sq_id;
    uint8_t  dir;      /* enum hba_dma_dir of the access: TO_DEVICE = read, FROM_DEVICE = write */
    uint8_t  reason;   /* enum hba_iommu_reason */
    uint8_t  policy;   /* enum hba_iommu_policy in force */
    uint8_t  rsvd[5];
};
_Static_assert(sizeof(struct hba_iommu_fault) == 32, "iommu fault entry is 32 bytes");
_Static_assert(offsetof(struct hba_iommu_fault, cid) == 16, "cid at 16");
_Static_assert(offsetof(struct hba_iommu_fault, dir) == 20, "dir at 20");

enum hba_iommu_policy {
    HBA_IOMMU_POLICY_ABORT = 0, /* the command fails with HBA_CS_DATA_XFER_ERROR */
    HBA_IOMMU_POLICY_DROP  = 1, /* writes discarded, reads return all-ones (field bug F2) */
    HBA_IOMMU_POLICY_FATAL = 2, /* the controller enters FAULT (HBA_FAULT_IOMMU) */
};

#define HBA_IOMMU_PAGE_SIZE 4096u

/* ---- IOMMU translation tables and invalidation queue in host RAM ----------
 *
 * The IOMMU is a platform device between the controller and host RAM, like
 * VT-d or an SMMU: its translation tables live in host RAM, written by the OS
 * with plain stores; the IOMMU walks them on an IOTLB miss and caches what it
 * found.  Nothing is sent to the controller to map or unmap a page.
 *
 * Register page.  The IOMMU's registers are the LAST 4 KiB page of host RAM
 * (host RAM offset ram_size - HBA_IOMMU_PAGE_SIZE), struct hba_iommu_regs: a
 * platform device, not part of the controller's BAR, so controller resets and
 * power cuts do not touch them (and a controller that is replaced finds them).
 * The OS writes root, iq_base, iq_size, then epoch (release order): a new
 * epoch makes the IOMMU drop its whole IOTLB, set iq_head to 0 and clear
 * iq_error (the OS zeroes iq_tail, iq_head and iq_error before it writes the
 * epoch, so that it never reads the old queue's state as the new one's).
 *
 * Tables.  HBA_IOMMU_LEVELS (6) levels of 4 KiB tables of 512 little-endian
 * 64-bit entries, sparse: only the tables on a mapped path exist.  A 64-bit
 * IOVA splits as [63:57] [56:48] [47:39] [38:30] [29:21] [20:12] [11:0]: the
 * index in the level-6 (root) table, ... in the level-1 (leaf) table, then
 * the byte in the page.  The root table uses entries 0..127 only.  root is
 * the host RAM address of the root table | HBA_IOMMU_ROOT_EN (bits 11:1 zero);
 * with EN clear nothing translates (HBA_IOMMU_UNMAPPED).
 *
 * Entry (hba_iommu_pte):  bit 0 P (present), bit 1 R (the device may read the
 * page: TO_DEVICE), bit 2 W (may write it: FROM_DEVICE), bits 11:3 reserved
 * (0), bits 63:12 the host RAM address of the next-level table (levels 6..2)
 * or of the page (level 1).  P = 0 anywhere on the walk: HBA_IOMMU_UNMAPPED.
 * HBA_IOMMU_BAD_ENTRY, the walk's fault reason for a malformed table: reserved
 * bits set; R or W set in a table entry (levels 6..2); a leaf with neither R
 * nor W; a table address (root included) outside host RAM or not page
 * aligned (bits 11:1 of root set).  A leaf whose page lies outside host
 * RAM is HBA_IOMMU_BEYOND_RAM, as before.  Direction faults are unchanged.
 *
 * IOTLB.  HBA_IOMMU_IOTLB_ENTRIES leaf translations, direct-mapped by IOVA
 * page number (slot = page % entries).  Only present, well-formed leaves are
 * cached (never a fault), so mapping a page needs no invalidation; changing
 * or clearing a present leaf does: until the IOMMU has processed an
 * invalidation for that page, it may still use the old translation.
 *
 * Invalidation queue.  A ring of iq_size (a power of two, 16..4096) 16-byte
 * descriptors at host RAM iq_base (page aligned).  The OS writes descriptors
 * at iq_tail, stores the new tail with release order (the doorbell; a
 * process-shared futex wake on iq_tail rouses an idle IOMMU) and the IOMMU
 * processes them in order, advancing iq_head:
 *   INV_PAGES  drop the IOTLB entries of `count` pages from IOVA addr (page aligned)
 *   INV_ALL    drop the whole IOTLB
 *   INV_WAIT   store `data` (32 bits) to host RAM at addr (4-byte aligned), then
 *              futex-wake it: every descriptor before it is done, and no DMA
 *              that used a dropped translation is still in flight
 * A malformed descriptor (unknown type, reserved bits, zero count, an address
 * misaligned or outside host RAM) stops the queue: iq_error gets the reason
 * (enum hba_iommu_iq_error), iq_head stays on it, and nothing further is
 * processed until the OS rewrites the queue and bumps epoch.  The OS waits for
 * its INV_WAIT before it reuses the IOVA or frees the memory behind it.
 *
 * Skipping the wake-ups (two Dekker pairs, each side: store, full fence, load).
 * Each futex wake is a system call, and one that finds a sleeper is a context
 * switch in each process: per command, that was most of the two-process cost.
 *   iq_awake     Counts who is looking at iq_tail: the IOMMU's queue thread
 *                while it polls after a busy pass, and the controller's
 *                command engine while it runs (it runs the queue between two
 *                commands).  Before either stops looking it takes itself off,
 *                fences, and re-reads iq_tail (the queue thread then sleeps
 *                only on the value it read; the engine runs what it finds).
 *                The OS stores iq_tail, fences, and reads iq_awake: if not 0,
 *                it skips the wake.  One of the two loads sees the other
 *                side's store, so a doorbell is never lost.  An OS whose
 *                INV_WAIT is not answered within its short spin (an engine
 *                busy with one long command) wakes the queue thread anyway.
 *                A new IOMMU clears what a killed one left; should a stale
 *                count ever hide a parked IOMMU, it still looks at its queue
 *                every 100 ms: late, never lost.
 *   inv_waiters  The OS adds 1 before it reads its INV_WAIT word to decide to
 *                sleep (a sequentially consistent read-modify-write), and
 *                takes it off after.  The IOMMU stores the INV_WAIT data,
 *                fences, and reads inv_waiters: 0 means nobody can be asleep
 *                on it, and the wake is skipped.  An OS that sleeps on an
 *                INV_WAIT word without counting itself is woken only by its
 *                own timeout.
 */
#define HBA_IOMMU_LEVELS         6u
#define HBA_IOMMU_PTES_PER_TABLE 512u
#define HBA_IOMMU_ROOT_ENTRIES   128u
#define HBA_IOMMU_IOTLB_ENTRIES  512u
#define HBA_IOMMU_IQ_MIN         16u
#define HBA_IOMMU_IQ_MAX         4096u

#define HBA_IOMMU_ROOT_EN        (1ull << 0)
#define HBA_IOMMU_PTE_P          (1ull << 0)
#define HBA_IOMMU_PTE_R          (1ull << 1) /* == HBA_DMA_TO_DEVICE << 1 */
#define HBA_IOMMU_PTE_W          (1ull << 2) /* == HBA_DMA_FROM_DEVICE << 1 */
#define HBA_IOMMU_PTE_RSVD       0xFF8ull
#define HBA_IOMMU_PTE_ADDR       (~0xFFFull)
/* The index of iova in a level's table (level 1 = leaf .. 6 = root). */
#define HBA_IOMMU_INDEX(iova, level) \
    ((unsigned)(((uint64_t)(iova) >> (12u + 9u * ((level) - 1u))) & (HBA_IOMMU_PTES_PER_TABLE - 1u)))

typedef uint64_t hba_iommu_pte;
_Static_assert(HBA_IOMMU_PTES_PER_TABLE * sizeof(hba_iommu_pte) == HBA_IOMMU_PAGE_SIZE, "a table is a page");
_Static_assert(12u + 9u * (HBA_IOMMU_LEVELS - 1u) + 7u == 64u, "six levels cover 64-bit IOVAs, 7 bits at the root");
_Static_assert(HBA_IOMMU_PTE_R == (uint64_t)HBA_DMA_TO_DEVICE << 1, "R is the to-device direction");
_Static_assert(HBA_IOMMU_PTE_W == (uint64_t)HBA_DMA_FROM_DEVICE << 1, "W is the from-device direction");

struct hba_iommu_regs {
    /* Line 0: set up by the OS, read by the IOMMU on every access. */
    uint64_t root;        /* OS: root table address | HBA_IOMMU_ROOT_EN */
    uint64_t iq_base;     /* OS: invalidation queue ring, page aligned */
    uint32_t iq_size;     /* OS: descriptors in the ring; 0 = no queue */
    uint32_t epoch;       /* OS: written last; a change drops the IOTLB */
    uint32_t online;      /* IOMMU: 1 while it runs, 0 once stopped (an OS need not wait for it then) */
    uint32_t rsvd0[9];
    /* Line 1: written by the OS at every unmap.  Kept apart from line 0 so
     * that the doorbell does not take the line the IOMMU reads at every
     * access away from it (a cache-line transfer per command each way). */
    uint32_t iq_tail;     /* OS: doorbell, the next descriptor the OS will write */
    uint32_t inv_waiters; /* OS: threads asleep (or going to sleep) on an INV_WAIT word; 0 = skip the wake */
    uint32_t rsvd1[14];
    /* Line 2: written by the IOMMU as it runs the queue. */
    uint32_t iq_head;     /* IOMMU: the next descriptor it will process */
    uint32_t iq_error;    /* IOMMU: enum hba_iommu_iq_error, 0 = none */
    uint32_t iq_awake;    /* IOMMU: 1 while its queue is being polled (the OS may skip the futex wake) */
    uint32_t rsvd2[13];
};
_Static_assert(sizeof(struct hba_iommu_regs) == 192, "IOMMU register block is three 64-byte lines");
_Static_assert(offsetof(struct hba_iommu_regs, epoch) == 20, "epoch at 20");
_Static_assert(offsetof(struct hba_iommu_regs, online) == 24, "online at 24");
_Static_assert(offsetof(struct hba_iommu_regs, iq_tail) == 64, "iq_tail at 64");
_Static_assert(offsetof(struct hba_iommu_regs, inv_waiters) == 68, "inv_waiters at 68");
_Static_assert(offsetof(struct hba_iommu_regs, iq_head) == 128, "iq_head at 128");
_Static_assert(offsetof(struct hba_iommu_regs, iq_error) == 132, "iq_error at 132");
_Static_assert(offsetof(struct hba_iommu_regs, iq_awake) == 136, "iq_awake at 136");

enum hba_iommu_inv_type {
    HBA_IOMMU_INV_PAGES = 1,
    HBA_IOMMU_INV_ALL   = 2,
    HBA_IOMMU_INV_WAIT  = 3,
};
enum hba_iommu_iq_error {
    HBA_IOMMU_IQE_NONE      = 0,
    HBA_IOMMU_IQE_TYPE      = 1, /* unknown descriptor type */
    HBA_IOMMU_IQE_RESERVED  = 2, /* a reserved byte is not zero */
    HBA_IOMMU_IQE_COUNT     = 3, /* INV_PAGES with count 0, or a range past 2^64 */
    HBA_IOMMU_IQE_ADDRESS   = 4, /* misaligned address, or an INV_WAIT status outside host RAM */
    HBA_IOMMU_IQE_QUEUE     = 5, /* iq_base / iq_size themselves invalid */
};
struct hba_iommu_inv {
    uint8_t  type;        /* enum hba_iommu_inv_type */
    uint8_t  rsvd[3];
    uint32_t data;        /* INV_PAGES: page count; INV_WAIT: the value stored */
    uint64_t addr;        /* INV_PAGES: first IOVA; INV_WAIT: host RAM address */
};
_Static_assert(sizeof(struct hba_iommu_inv) == 16, "invalidation descriptor is 16 bytes");
_Static_assert(offsetof(struct hba_iommu_inv, addr) == 8, "addr at 8");

#endif
