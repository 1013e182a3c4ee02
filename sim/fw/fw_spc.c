/* sim/fw/fw_spc.c — the primary commands every logical unit answers (SPC):
 * INQUIRY (standard data; VPD pages are in fw_vpd.c), REQUEST SENSE,
 * REPORT LUNS, TEST UNIT READY, START STOP UNIT, SEND DIAGNOSTIC and
 * REPORT SUPPORTED OPERATION CODES (served from the command table). */
#include "sim/fw/fw_priv.h"

#include <string.h>

#define INQUIRY_STD_LEN 96

/* Version descriptors (SPC-4 table "Version descriptor values"): the standards
 * this firmware follows, no transport (the controller's bus is its own). */
static const uint16_t version_descriptors[] = {
    0x00A0, /* SAM-5 (no version claimed) */
    0x0460, /* SPC-4 (no version claimed) */
    0x04C0, /* SBC-3 (no version claimed) */
};

static void put_ascii(uint8_t *dst, size_t width, const char *src)
{
    size_t n = strnlen(src, width);
    memset(dst, ' ', width);
    memcpy(dst, src, n);
}

static void standard_inquiry(const struct fw_drive *d, uint8_t *b)
{
    memset(b, 0, INQUIRY_STD_LEN);
    b[0] = d ? (SCSI_PQ_CONNECTED << 5 | SCSI_PDT_DISK) : (SCSI_PQ_NOT_SUPPORTED << 5 | SCSI_PDT_UNKNOWN);
    b[2] = 0x06;                     /* VERSION: SPC-4 */
    b[3] = 0x10 | 0x02;              /* HISUP, RESPONSE DATA FORMAT 2 */
    b[4] = INQUIRY_STD_LEN - 5;      /* ADDITIONAL LENGTH */
    b[7] = 0x02;                     /* CMDQUE: full task management */
    put_ascii(b + 8, 8, d ? d->vendor : FW_VENDOR);
    put_ascii(b + 16, 16, d ? d->product : FW_PRODUCT);
    put_ascii(b + 32, 4, d ? d->revision : FW_REVISION);
    for (size_t i = 0; i < sizeof(version_descriptors) / sizeof(version_descriptors[0]); i++)
        scsi_put_be16(b + 58 + 2 * i, version_descriptors[i]);
    if (d)
        b[5] |= 0x08;                /* 3PC: EXTENDED COPY's copy manager is here (fw_xcopy.c) */
    if (d && d->prot_type)
        b[5] |= 0x01;                /* PROTECT: formatted with protection information */
    fw_removable_inquiry(d, b);
    fw_tpg_inquiry(d, b);
}

struct scsi_sense_reason fw_spc_inquiry(struct fw_ctx *c)
{
    bool evpd = c->cdb[1] & 0x01;
    if (!evpd && c->cdb[2] != 0)
        return scsi_reason_invalid_cdb_field(2, -1);  /* PAGE CODE without EVPD */
    if (evpd) {
        if (!c->d)  /* no VPD for an absent LUN: only its standard data says "nobody here" */
            return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
        return fw_vpd_inquiry(c);
    }
    uint8_t b[INQUIRY_STD_LEN];
    standard_inquiry(c->d, b);
    fw_data_in(c, b, c->length < sizeof(b) ? c->length : sizeof(b));
    return fw_good();
}

struct scsi_sense_reason fw_spc_request_sense(struct fw_ctx *c)
{
    bool desc = c->cdb[1] & 0x01;
    struct scsi_sense_reason what;
    if (!c->d)  /* SPC: sense data for an incorrect LUN, with GOOD status */
        what = scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
    else
        what = fw_drive_readiness(c->d);   /* NO SENSE once ready */
    uint8_t b[SCSI_SENSE_MAX];
    size_t n = scsi_sense_build(b, sizeof(b), desc, &what);
    fw_data_in(c, b, c->length < n ? c->length : n);
    return fw_good();
}

struct scsi_sense_reason fw_spc_report_luns(struct fw_ctx *c)
{
    uint8_t select = c->cdb[2];
    if (select > 2)
        return scsi_reason_invalid_cdb_field(2, -1);
    if (c->length < 16)
        return scsi_reason_invalid_cdb_field(6, -1);
    uint8_t b[8 + 8 * SIM_MAX_LUNS_LIMIT];
    memset(b, 0, sizeof(b));
    size_t n = 0;
    /* SELECT REPORT 1 asks for well-known LUNs only: there are none. */
    for (uint32_t lun = 0; select != 1 && lun < c->fw->max_luns; lun++) {
        if (!fw_drive_at(c->fw, c->t->target, (uint16_t)lun))
            continue;
        uint8_t *e = b + 8 + 8 * n++;
        e[0] = 0x00;                 /* peripheral device addressing, bus 0 */
        e[1] = (uint8_t)lun;         /* max_luns <= 256 keeps every LUN in one byte */
    }
    scsi_put_be32(b, (uint32_t)(8 * n));
    size_t total = 8 + 8 * n;
    fw_data_in(c, b, c->length < total ? c->length : total);
    return fw_good();
}

struct scsi_sense_reason fw_spc_test_unit_ready(struct fw_ctx *c)
{
    (void)c;   /* the readiness gate already answered NOT READY if it had to */
    return fw_good();
}

struct scsi_sense_reason fw_spc_start_stop_unit(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    bool immed = c->cdb[1] & 0x01;
    uint8_t b4 = c->cdb[4];
    if (b4 >> 4)   /* POWER CONDITION: only 0h (START_VALID) is supported */
        return scsi_reason_invalid_cdb_field(4, 7);
    if (d->removable && (b4 & 0x02))
        return fw_removable_load_eject(c);          /* LOEJ: eject or load the medium */
    bool start = b4 & 0x01, no_flush = b4 & 0x04;   /* LOEJ (bit 1) is ignored: nothing to eject */
    if (!start) {
        if (!no_flush) {
            int rc = sim_store_flush(d->store, 0, 0);
            if (rc < 0)
                return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, 0);
        }
        d->stopped = true;
        return fw_good();
    }
    bool was_stopped = d->stopped;
    d->stopped = false;
    if (!immed) {
        /* IMMED=0 returns once the unit is ready; instead of blocking the
         * firmware, the spin-up is taken as finished when the command ends. */
        d->ready = true;
    } else if (was_stopped) {
        /* IMMED=1 returns at once; a stopped unit then spins up for ready_ms. */
        d->ready_at_ns = clock_now_ns() + (uint64_t)d->ready_ms * 1000000ull;
        d->ready = d->ready_ms == 0;
    }
    return fw_good();
}

struct scsi_sense_reason fw_spc_send_diagnostic(struct fw_ctx *c)
{
    uint8_t code = c->cdb[1] >> 5;
    bool selftest = c->cdb[1] & 0x04;
    if ((selftest && code) || code == 3 || code == 7)
        return scsi_reason_invalid_cdb_field(1, 7);
    if (c->length > 0)   /* no diagnostic pages are supported */
        return scsi_reason_invalid_param_field(0, -1);
    return fw_good();    /* every self-test passes at once */
}

/* ---- REPORT SUPPORTED OPERATION CODES ---- */

#define TIMEOUTS_DESC_LEN 12

static void put_timeouts(uint8_t *p)
{
    memset(p, 0, TIMEOUTS_DESC_LEN);
    scsi_put_be16(p, TIMEOUTS_DESC_LEN - 2);   /* nominal / recommended 0: not specified */
}

static bool opcode_has_sa(const struct fw *fw, uint8_t opcode)
{
    const struct fw_cmd *cmd;
    for (size_t i = 0; (cmd = fw_cmd_view(fw, i)); i++)
        if (cmd->opcode == opcode && (cmd->flags & FW_F_SA))
            return true;
    return false;
}

static size_t all_commands(const struct fw *fw, const struct fw_drive *d, uint8_t *b, size_t cap, bool rctd)
{
    size_t n = 4;
    const struct fw_cmd *cmd;
    for (size_t i = 0; (cmd = fw_cmd_view(fw, i)) && n + 8 + TIMEOUTS_DESC_LEN <= cap; i++) {
        if (!fw_cmd_offered(cmd, d))
            continue;
        uint8_t *e = b + n;
        memset(e, 0, 8);
        e[0] = cmd->opcode;
        if (cmd->flags & FW_F_SA) {
            scsi_put_be16(e + 2, cmd->sa);
            e[5] |= 0x01;            /* SERVACTV */
        }
        if (rctd)
            e[5] |= 0x02;            /* CTDP */
        scsi_put_be16(e + 6, cmd->cdb_len);
        n += 8;
        if (rctd) {
            put_timeouts(b + n);
            n += TIMEOUTS_DESC_LEN;
        }
    }
    scsi_put_be32(b, (uint32_t)(n - 4));
    return n;
}

static size_t one_command(uint8_t *b, const struct fw_cmd *cmd, const struct fw_drive *d, bool rctd)
{
    memset(b, 0, 4);
    if (!cmd) {
        b[1] = 0x01;                 /* SUPPORT 001b: not supported */
        return 4;
    }
    b[1] = (uint8_t)((rctd ? 0x80 : 0) | 0x03);  /* supported, per standard */
    scsi_put_be16(b + 2, cmd->cdb_len);
    for (unsigned i = 0; i < cmd->cdb_len; i++)
        b[4 + i] = fw_cmd_usage(cmd, d, i);
    b[4] = cmd->opcode;
    if (cmd->flags & FW_F_SA)
        b[5] = (uint8_t)((fw_cmd_usage(cmd, d, 1) & ~0x1fu) | cmd->sa);
    size_t n = 4u + cmd->cdb_len;
    if (rctd) {
        put_timeouts(b + n);
        n += TIMEOUTS_DESC_LEN;
    }
    return n;
}

struct scsi_sense_reason fw_spc_report_opcodes(struct fw_ctx *c)
{
    bool rctd = c->cdb[2] & 0x80;
    uint8_t options = c->cdb[2] & 0x07;
    uint8_t op = c->cdb[3];
    uint16_t sa = scsi_get_be16(c->cdb + 4);
    uint8_t b[4 + (96 + SCSISIM_FW_MAX_COMMANDS) * (8 + TIMEOUTS_DESC_LEN)]; /* built-ins + a plug-in's */
    size_t n;
    if (options == 0) {
        n = all_commands(c->fw, c->d, b, sizeof(b), rctd);
    } else if (options <= 3) {
        bool has_sa = opcode_has_sa(c->fw, op);
        if ((options == 1 && has_sa) || (options == 2 && !has_sa))
            return scsi_reason_invalid_cdb_field(2, 2);
        const struct fw_cmd *found = NULL;
        const struct fw_cmd *cmd;
        for (size_t i = 0; (cmd = fw_cmd_view(c->fw, i)) && !found; i++) {
            if (cmd->opcode == op && (!has_sa || cmd->sa == sa) && fw_cmd_offered(cmd, c->d))
                found = cmd;
        }
        n = one_command(b, found, c->d, rctd);
    } else {
        return scsi_reason_invalid_cdb_field(2, 2);
    }
    fw_data_in(c, b, c->length < n ? c->length : n);
    return fw_good();
}
