/* host/iscsi_pdu.c — AHS parsing and opcode names. */
#include "host/iscsi_pdu.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int iscsi_ahs_parse(const uint8_t *ahs, size_t len, struct iscsi_ahs_info *out)
{
    memset(out, 0, sizeof(*out));
    size_t at = 0;
    while (at < len) {
        if (len - at < 4)
            return -EPROTO;
        /* AHSLength counts the bytes after the type byte, padding excluded. */
        size_t ahs_len = scsi_get_be16(ahs + at);
        uint8_t type = ahs[at + 2];
        size_t total = 3 + ahs_len;
        total += (4 - (total & 3)) & 3;
        if (ahs_len == 0 || total > len - at)
            return -EPROTO;
        const uint8_t *body = ahs + at + 4; /* after the reserved byte */
        switch (type) {
        case ISCSI_AHS_EXTENDED_CDB:
            if (out->ext_cdb || ahs_len < 2)
                return -EPROTO;
            out->ext_cdb = body;
            out->ext_cdb_len = (uint32_t)(ahs_len - 1);
            break;
        case ISCSI_AHS_BIDI_READ_LENGTH:
            if (out->has_bidi_read_len || ahs_len != 5)
                return -EPROTO;
            out->has_bidi_read_len = true;
            out->bidi_read_len = scsi_get_be32(body);
            break;
        default:
            return -EPROTO;
        }
        at += total;
    }
    return 0;
}

const char *iscsi_opcode_name(uint8_t opcode, char *buf, size_t buf_len)
{
    switch (opcode & ISCSI_OPCODE_MASK) {
    case ISCSI_OP_NOP_OUT:    return "NOP-Out";
    case ISCSI_OP_SCSI_CMD:   return "SCSI Command";
    case ISCSI_OP_TMF_REQ:    return "Task Management Function Request";
    case ISCSI_OP_LOGIN_REQ:  return "Login Request";
    case ISCSI_OP_TEXT_REQ:   return "Text Request";
    case ISCSI_OP_DATA_OUT:   return "SCSI Data-Out";
    case ISCSI_OP_LOGOUT_REQ: return "Logout Request";
    case ISCSI_OP_SNACK:      return "SNACK Request";
    case ISCSI_OP_NOP_IN:     return "NOP-In";
    case ISCSI_OP_SCSI_RSP:   return "SCSI Response";
    case ISCSI_OP_TMF_RSP:    return "Task Management Function Response";
    case ISCSI_OP_LOGIN_RSP:  return "Login Response";
    case ISCSI_OP_TEXT_RSP:   return "Text Response";
    case ISCSI_OP_DATA_IN:    return "SCSI Data-In";
    case ISCSI_OP_LOGOUT_RSP: return "Logout Response";
    case ISCSI_OP_R2T:        return "Ready To Transfer";
    case ISCSI_OP_ASYNC:      return "Asynchronous Message";
    case ISCSI_OP_REJECT:     return "Reject";
    default:
        snprintf(buf, buf_len, "opcode 0x%02x", opcode & ISCSI_OPCODE_MASK);
        return buf;
    }
}
