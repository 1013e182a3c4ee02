/* sim/fw/fw_table.c — every command the firmware supports, in one table.
 *
 * An entry says how long the CDB is, which bits of it may be set (the CDB
 * usage data REPORT SUPPORTED OPERATION CODES returns, and the reserved-bit
 * check), where its length and LBA fields are, which way its data flows and
 * which cross-cutting gates apply (unit attention, readiness, range, write
 * protect).  fw.c applies the gates; the handler only does the command's work.
 */
#include "sim/fw/fw_priv.h"
#include "sim/fw/fw_plugin.h"

/* CONTROL byte: vendor-specific bits 7..6 may be set; NACA and LINK may not
 * (neither is supported, so SPC asks for INVALID FIELD IN CDB). */
#define CTL 0xc0

static const struct fw_cmd table[] = {
    { .name = "TEST UNIT READY", .opcode = SCSI_OP_TEST_UNIT_READY, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_NONE, .flags = FW_F_PR_EXEMPT | FW_F_NEEDS_READY,
      .handler = fw_spc_test_unit_ready,
      .usage = { 0xff, 0x00, 0x00, 0x00, 0x00, CTL } },
    { .name = "REQUEST SENSE", .opcode = SCSI_OP_REQUEST_SENSE, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_EXEMPT | FW_F_SKIPS_UA | FW_F_ANY_LUN | FW_F_RESV_OK,
      .len_off = 4, .len_width = 1, .handler = fw_spc_request_sense,
      .usage = { 0xff, 0x01, 0x00, 0x00, 0xff, CTL } },
    { .name = "READ(6)", .opcode = SCSI_OP_READ_6, .cdb_len = 6, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_FILLS_DATA,
      .len_off = 4, .len_width = 1, .lba_off = 1, .lba_width = 3, .handler = fw_sbc_read,
      .usage = { 0xff, 0x1f, 0xff, 0xff, 0xff, CTL } },
    { .name = "WRITE(6)", .opcode = SCSI_OP_WRITE_6, .cdb_len = 6, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS,
      .len_off = 4, .len_width = 1, .lba_off = 1, .lba_width = 3, .handler = fw_sbc_write,
      .usage = { 0xff, 0x1f, 0xff, 0xff, 0xff, CTL } },
    { .name = "INQUIRY", .opcode = SCSI_OP_INQUIRY, .cdb_len = 6, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_EXEMPT | FW_F_SKIPS_UA | FW_F_ANY_LUN | FW_F_RESV_OK, .len_off = 3, .len_width = 2,
      .handler = fw_spc_inquiry,
      .usage = { 0xff, 0x01, 0xff, 0xff, 0xff, CTL } },
    { .name = "MODE SELECT(6)", .opcode = SCSI_OP_MODE_SELECT_6, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_WRITE, .len_off = 4, .len_width = 1, .handler = fw_mode_select,
      .usage = { 0xff, 0x11, 0x00, 0x00, 0xff, CTL } },
    { .name = "MODE SENSE(6)", .opcode = SCSI_OP_MODE_SENSE_6, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_READ, .len_off = 4, .len_width = 1, .handler = fw_mode_sense,
      .usage = { 0xff, 0x08, 0xff, 0xff, 0xff, CTL } },
    { .name = "START STOP UNIT", .opcode = SCSI_OP_START_STOP_UNIT, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_NONE, .handler = fw_spc_start_stop_unit,
      .usage = { 0xff, 0x01, 0x00, 0x00, 0xf7, CTL } },
    /* Removable medium (fw_removable.c): PREVENT is 2 bits (1xb refused by the handler). */
    { .name = "PREVENT ALLOW MEDIUM REMOVAL", .opcode = FW_OP_PREVENT_ALLOW, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_NONE, .flags = FW_F_REMOVABLE, .handler = fw_removable_prevent_allow,
      .usage = { 0xff, 0x00, 0x00, 0x00, 0x03, CTL } },
    { .name = "SEND DIAGNOSTIC", .opcode = SCSI_OP_SEND_DIAGNOSTIC, .cdb_len = 6,
      .dir = HBA_FLAG_DIR_WRITE, .len_off = 3, .len_width = 2, .handler = fw_spc_send_diagnostic,
      .usage = { 0xff, 0xf7, 0x00, 0xff, 0xff, CTL } },
    { .name = "READ CAPACITY(10)", .opcode = SCSI_OP_READ_CAPACITY_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_EXEMPT | FW_F_NEEDS_READY, .fixed_len = 8,
      .handler = fw_sbc_read_capacity10,
      .usage = { 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, CTL } },
    { .name = "READ(10)", .opcode = SCSI_OP_READ_10, .cdb_len = 10, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_PROTECT | FW_F_FILLS_DATA,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_read,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "WRITE(10)", .opcode = SCSI_OP_WRITE_10, .cdb_len = 10, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_PROTECT,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_write,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "VERIFY(10)", .opcode = SCSI_OP_VERIFY_10, .cdb_len = 10, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_BYTCHK | FW_F_PROTECT,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_verify,
      .usage = { 0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "SYNCHRONIZE CACHE(10)", .opcode = SCSI_OP_SYNCHRONIZE_CACHE_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_NONE, .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_sync_cache,
      .usage = { 0xff, 0x06, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "MODE SELECT(10)", .opcode = SCSI_OP_MODE_SELECT_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .len_off = 7, .len_width = 2, .handler = fw_mode_select,
      .usage = { 0xff, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "MODE SENSE(10)", .opcode = SCSI_OP_MODE_SENSE_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_READ, .len_off = 7, .len_width = 2, .handler = fw_mode_sense,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "READ(16)", .opcode = SCSI_OP_READ_16, .cdb_len = 16, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_PROTECT | FW_F_FILLS_DATA,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_read,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "WRITE(16)", .opcode = SCSI_OP_WRITE_16, .cdb_len = 16, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_PROTECT,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_write,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "VERIFY(16)", .opcode = SCSI_OP_VERIFY_16, .cdb_len = 16, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_BYTCHK | FW_F_PROTECT,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_verify,
      .usage = { 0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "SYNCHRONIZE CACHE(16)", .opcode = SCSI_OP_SYNCHRONIZE_CACHE_16, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_NONE, .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_sync_cache,
      .usage = { 0xff, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "READ CAPACITY(16)", .opcode = SCSI_OP_SERVICE_ACTION_IN_16,
      .sa = SCSI_SAI_READ_CAPACITY_16, .cdb_len = 16, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_EXEMPT | FW_F_NEEDS_READY | FW_F_SA, .len_off = 10, .len_width = 4,
      .handler = fw_sbc_read_capacity16,
      .usage = { 0xff, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x01, CTL } },
    { .name = "REPORT LUNS", .opcode = SCSI_OP_REPORT_LUNS, .cdb_len = 12,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_EXEMPT | FW_F_SKIPS_UA | FW_F_ANY_LUN | FW_F_RESV_OK,
      .len_off = 6, .len_width = 4, .handler = fw_spc_report_luns,
      .usage = { 0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    { .name = "REPORT SUPPORTED OPERATION CODES", .opcode = SCSI_OP_MAINTENANCE_IN, .sa = 0x0c,
      .cdb_len = 12, .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_EXEMPT | FW_F_SA | FW_F_RESV_OK, .len_off = 6,
      .len_width = 4, .handler = fw_spc_report_opcodes,
      .usage = { 0xff, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    /* Multipath (fw_tpg.c): byte 1 bits 7..5 are the PARAMETER DATA FORMAT. */
    { .name = "REPORT TARGET PORT GROUPS", .opcode = SCSI_OP_MAINTENANCE_IN, .sa = FW_SAI_REPORT_TPGS,
      .cdb_len = 12, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_EXEMPT | FW_F_SA | FW_F_RESV_OK | FW_F_MULTIPORT, .len_off = 6, .len_width = 4,
      .handler = fw_tpg_report,
      .usage = { 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    { .name = "READ(12)", .opcode = SCSI_OP_READ_12, .cdb_len = 12, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_PROTECT | FW_F_FILLS_DATA,
      .len_off = 6, .len_width = 4, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_read,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "WRITE(12)", .opcode = SCSI_OP_WRITE_12, .cdb_len = 12, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_PROTECT,
      .len_off = 6, .len_width = 4, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_write,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "VERIFY(12)", .opcode = FW_OP_VERIFY_12, .cdb_len = 12, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS | FW_F_BYTCHK | FW_F_PROTECT,
      .len_off = 6, .len_width = 4, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_verify,
      .usage = { 0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    /* WRITE AND VERIFY: byte 1 is DPO and BYTCHK (bits 2..1; 1xb answered as
     * reserved by the handler); WRPROTECT with protection information (fw_pi.c). */
    { .name = "WRITE AND VERIFY(10)", .opcode = FW_OP_WRITE_VERIFY_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_PROTECT,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_write_verify,
      .usage = { 0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "WRITE AND VERIFY(12)", .opcode = FW_OP_WRITE_VERIFY_12, .cdb_len = 12,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_PROTECT,
      .len_off = 6, .len_width = 4, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_write_verify,
      .usage = { 0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "WRITE AND VERIFY(16)", .opcode = FW_OP_WRITE_VERIFY_16, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_PROTECT,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_write_verify,
      .usage = { 0xff, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    /* PRE-FETCH moves no data: the length counts blocks to read into the cache. */
    { .name = "PRE-FETCH(10)", .opcode = FW_OP_PREFETCH_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_NONE, .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_sbc_prefetch,
      .usage = { 0xff, 0x02, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "PRE-FETCH(16)", .opcode = FW_OP_PREFETCH_16, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_NONE, .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_LEN_BLOCKS,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_prefetch,
      .usage = { 0xff, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    { .name = "READ DEFECT DATA(10)", .opcode = FW_OP_READ_DEFECT_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_READ | FW_F_NEEDS_READY, .len_off = 7, .len_width = 2,
      .handler = fw_sbc_read_defect_data,
      .usage = { 0xff, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "READ DEFECT DATA(12)", .opcode = FW_OP_READ_DEFECT_12, .cdb_len = 12,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_PR_READ | FW_F_NEEDS_READY, .len_off = 6, .len_width = 4,
      .handler = fw_sbc_read_defect_data,
      .usage = { 0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    /* RESERVE/RELEASE (fw_resv.c): no third-party or extent fields. */
    { .name = "RESERVE(6)", .opcode = FW_OP_RESERVE_6, .cdb_len = 6, .dir = HBA_FLAG_DIR_NONE,
      .handler = fw_resv_reserve, .usage = { 0xff, 0x00, 0x00, 0x00, 0x00, CTL } },
    { .name = "RELEASE(6)", .opcode = FW_OP_RELEASE_6, .cdb_len = 6, .dir = HBA_FLAG_DIR_NONE,
      .flags = FW_F_RESV_OK, .handler = fw_resv_release,
      .usage = { 0xff, 0x00, 0x00, 0x00, 0x00, CTL } },
    { .name = "RESERVE(10)", .opcode = FW_OP_RESERVE_10, .cdb_len = 10, .dir = HBA_FLAG_DIR_NONE,
      .handler = fw_resv_reserve,
      .usage = { 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, CTL } },
    { .name = "RELEASE(10)", .opcode = FW_OP_RELEASE_10, .cdb_len = 10, .dir = HBA_FLAG_DIR_NONE,
      .flags = FW_F_RESV_OK, .handler = fw_resv_release,
      .usage = { 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, CTL } },
    /* Persistent reservations (fw_pr.c). */
    { .name = "PERSISTENT RESERVE IN/READ KEYS", .opcode = FW_OP_PR_IN, .sa = 0, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 7, .len_width = 2,
      .handler = fw_pr_in,
      .usage = { 0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE IN/READ RESERVATION", .opcode = FW_OP_PR_IN, .sa = 1, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 7, .len_width = 2,
      .handler = fw_pr_in,
      .usage = { 0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE IN/REPORT CAPABILITIES", .opcode = FW_OP_PR_IN, .sa = 2, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 7, .len_width = 2,
      .handler = fw_pr_in,
      .usage = { 0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE IN/READ FULL STATUS", .opcode = FW_OP_PR_IN, .sa = 3, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_READ, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 7, .len_width = 2,
      .handler = fw_pr_in,
      .usage = { 0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/REGISTER", .opcode = FW_OP_PR_OUT, .sa = 0, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/RESERVE", .opcode = FW_OP_PR_OUT, .sa = 1, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/RELEASE", .opcode = FW_OP_PR_OUT, .sa = 2, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/CLEAR", .opcode = FW_OP_PR_OUT, .sa = 3, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/PREEMPT", .opcode = FW_OP_PR_OUT, .sa = 4, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/PREEMPT AND ABORT", .opcode = FW_OP_PR_OUT, .sa = 5, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/REGISTER AND IGNORE EXISTING KEY", .opcode = FW_OP_PR_OUT, .sa = 6, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "PERSISTENT RESERVE OUT/REGISTER AND MOVE", .opcode = FW_OP_PR_OUT, .sa = 7, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_PR_EXEMPT, .len_off = 5, .len_width = 4,
      .handler = fw_pr_out,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, CTL } },
    { .name = "WRITE ATOMIC(16)", .opcode = FW_OP_WRITE_ATOMIC_16, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS,
      .len_off = 12, .len_width = 2, .lba_off = 2, .lba_width = 8, .handler = fw_sbc_write_atomic,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    /* Read-modify-write (fw_caw.c): DPO and FUA; WRPROTECT/ORPROTECT reserved. */
    { .name = "COMPARE AND WRITE", .opcode = FW_OP_COMPARE_AND_WRITE, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_TWICE,
      .len_off = 13, .len_width = 1, .lba_off = 2, .lba_width = 8,
      .handler = fw_caw_compare_and_write,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0x00, 0x00, 0x00, 0xff, 0x3f, CTL } },
    { .name = "ORWRITE(16)", .opcode = FW_OP_ORWRITE_16, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_caw_orwrite,
      .usage = { 0xff, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    /* Thin provisioning (fw_lbp.c).  WRITE SAME: UNMAP (byte 1 bit 3) and, in
     * the (16), NDOB (bit 0); ANCHOR is reserved (ANC_SUP = 0 in VPD B2h). */
    { .name = "WRITE SAME(10)", .opcode = FW_OP_WRITE_SAME_10, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_ONE_BLOCK,
      .len_off = 7, .len_width = 2, .lba_off = 2, .lba_width = 4, .handler = fw_lbp_write_same,
      .usage = { 0xff, 0x08, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, CTL } },
    { .name = "WRITE SAME(16)", .opcode = FW_OP_WRITE_SAME_16, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_MEDIA_ACCESS | FW_F_WRITES | FW_F_LEN_BLOCKS | FW_F_ONE_BLOCK,
      .len_off = 10, .len_width = 4, .lba_off = 2, .lba_width = 8, .handler = fw_lbp_write_same,
      .usage = { 0xff, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x3f, CTL } },
    /* UNMAP: ANCHOR (byte 1 bit 0) is in the usage data as SBC-4 lists it, and
     * refused by the handler while ANC_SUP is 0. */
    { .name = "UNMAP", .opcode = FW_OP_UNMAP, .cdb_len = 10, .dir = HBA_FLAG_DIR_WRITE,
      .flags = FW_F_NEEDS_READY | FW_F_WRITES | FW_F_THIN,
      .len_off = 7, .len_width = 2, .handler = fw_lbp_unmap,
      .usage = { 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x3f, 0xff, 0xff, CTL } },
    { .name = "GET LBA STATUS", .opcode = SCSI_OP_SERVICE_ACTION_IN_16,
      .sa = FW_SAI_GET_LBA_STATUS, .cdb_len = 16, .dir = HBA_FLAG_DIR_READ,
      .flags = FW_F_PR_READ | FW_F_NEEDS_READY | FW_F_SA | FW_F_THIN, .len_off = 10, .len_width = 4,
      .handler = fw_lbp_get_lba_status,
      .usage = { 0xff, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    /* The copy manager (fw_xcopy.c): EXTENDED COPY (LID1) and RECEIVE COPY
     * RESULTS COPY STATUS / OPERATING PARAMETERS (no RECEIVE DATA: no held
     * data; no FAILED SEGMENT DETAILS: LID4 only). */
    { .name = "EXTENDED COPY(LID1)", .opcode = FW_OP_EXTENDED_COPY, .sa = 0x00, .cdb_len = 16,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_NEEDS_READY,
      .len_off = 10, .len_width = 4, .handler = fw_xcopy_extended_copy,
      .usage = { 0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    { .name = "RECEIVE COPY RESULTS/COPY STATUS", .opcode = FW_OP_RECEIVE_COPY_RESULTS, .sa = 0x00,
      .cdb_len = 16, .dir = HBA_FLAG_DIR_READ, .flags = FW_F_SA | FW_F_PR_READ,
      .len_off = 10, .len_width = 4, .handler = fw_xcopy_receive_copy_results,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    { .name = "RECEIVE COPY RESULTS/OPERATING PARAMETERS", .opcode = FW_OP_RECEIVE_COPY_RESULTS, .sa = 0x03,
      .cdb_len = 16, .dir = HBA_FLAG_DIR_READ, .flags = FW_F_SA | FW_F_PR_READ,
      .len_off = 10, .len_width = 4, .handler = fw_xcopy_receive_copy_results,
      .usage = { 0xff, 0x1f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                 0xff, 0xff, 0xff, 0xff, 0x00, CTL } },
    /* SANITIZE (fw_sanitize.c): byte 1 is IMMED (7), AUSE (5) and the service
     * action; ZNR (6) is reserved on this drive.  BLOCK ERASE deallocates, so
     * only a thin drive offers it. */
    { .name = "SANITIZE/OVERWRITE", .opcode = FW_OP_SANITIZE, .sa = 0x01, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_NEEDS_READY | FW_F_WRITES,
      .len_off = 7, .len_width = 2, .handler = fw_sanitize,
      .usage = { 0xff, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "SANITIZE/BLOCK ERASE", .opcode = FW_OP_SANITIZE, .sa = 0x02, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_NEEDS_READY | FW_F_WRITES | FW_F_THIN,
      .len_off = 7, .len_width = 2, .handler = fw_sanitize,
      .usage = { 0xff, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "SANITIZE/CRYPTOGRAPHIC ERASE", .opcode = FW_OP_SANITIZE, .sa = 0x03, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_NEEDS_READY | FW_F_WRITES,
      .len_off = 7, .len_width = 2, .handler = fw_sanitize,
      .usage = { 0xff, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
    { .name = "SANITIZE/EXIT FAILURE MODE", .opcode = FW_OP_SANITIZE, .sa = 0x1f, .cdb_len = 10,
      .dir = HBA_FLAG_DIR_WRITE, .flags = FW_F_SA | FW_F_NEEDS_READY,
      .len_off = 7, .len_width = 2, .handler = fw_sanitize,
      .usage = { 0xff, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, CTL } },
};

size_t fw_cmd_count(void)
{
    return sizeof(table) / sizeof(table[0]);
}

const struct fw_cmd *fw_cmd_at(size_t i)
{
    return i < fw_cmd_count() ? &table[i] : NULL;
}

/* The table is short (a few dozen entries), so a scan costs less than the
 * command itself; *opcode_known tells "unknown opcode" from "unknown service
 * action of a known opcode", which SPC reports differently. */
const struct fw_cmd *fw_cmd_lookup(const uint8_t *cdb, bool *opcode_known)
{
    *opcode_known = false;
    for (size_t i = 0; i < fw_cmd_count(); i++) {
        const struct fw_cmd *c = &table[i];
        if (c->opcode != cdb[0])
            continue;
        *opcode_known = true;
        if (!(c->flags & FW_F_SA) || c->sa == (cdb[1] & 0x1f))
            return c;
    }
    return NULL;
}

const struct fw_cmd *fw_cmd_view(const struct fw *fw, size_t i)
{
    return fw_plugin_view(fw->plugin, i);
}

const struct fw_cmd *fw_cmd_find(const struct fw *fw, const uint8_t *cdb, bool *opcode_known)
{
    if (!fw->plugin)
        return fw_cmd_lookup(cdb, opcode_known);
    *opcode_known = false;
    const struct fw_cmd *c;
    for (size_t i = 0; (c = fw_cmd_view(fw, i)); i++) {
        if (c->opcode != cdb[0])
            continue;
        *opcode_known = true;
        if (!(c->flags & FW_F_SA) || c->sa == (cdb[1] & 0x1f))
            return c;
    }
    return NULL;
}

bool fw_cmd_offered(const struct fw_cmd *cmd, const struct fw_drive *d)
{
    if ((cmd->flags & FW_F_MULTIPORT) && !(d && d->target_ports > 1))
        return false;
    if ((cmd->flags & FW_F_REMOVABLE) && !(d && d->removable))
        return false;
    return !(cmd->flags & FW_F_THIN) || (d && d->thin);
}

uint8_t fw_cmd_usage(const struct fw_cmd *cmd, const struct fw_drive *d, unsigned i)
{
    uint8_t u = cmd->usage[i];
    /* Without protection information the protect field is reserved (SBC-4:
     * INVALID FIELD IN CDB pointing at it). */
    if (i == 1 && (cmd->flags & FW_F_PROTECT) && d && d->prot_type)
        u |= 0xe0;
    return u;
}

struct scsi_sense_reason fw_cmd_check_usage(const struct fw_cmd *cmd, const uint8_t *cdb)
{
    return fw_cmd_check_usage_on(cmd, NULL, cdb);
}

struct scsi_sense_reason fw_cmd_check_usage_on(const struct fw_cmd *cmd, const struct fw_drive *d,
                                               const uint8_t *cdb)
{
    for (unsigned i = 0; i < cmd->cdb_len; i++) {
        uint8_t bad = (uint8_t)(cdb[i] & ~fw_cmd_usage(cmd, d, i));
        /* A protect field (bits 7..5) is one multi-bit field: the bit pointer
         * names its left-most bit whatever value it holds (SPC-5 4.4.2). */
        if (i == 1 && (cmd->flags & FW_F_PROTECT) && (bad & 0xe0))
            return scsi_reason_invalid_cdb_field(1, 7);
        if (bad)
            return scsi_reason_invalid_cdb_field((uint16_t)i, fw_top_bit(bad));
    }
    return fw_good();
}
