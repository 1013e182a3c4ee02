/* host/iscsi_pdu.h — iSCSI PDUs on the wire (RFC 7143 section 11).
 *
 * Every PDU starts with a 48-byte Basic Header Segment (BHS), then optional
 * Additional Header Segments (TotalAHSLength 4-byte words), an optional header
 * digest (CRC32C over BHS+AHS), the data segment (DataSegmentLength bytes,
 * padded with zeros to a multiple of 4) and an optional data digest (CRC32C
 * over data and padding).  All multi-byte fields are big-endian; digests are
 * little-endian (host/iscsi_crc32c.h).
 *
 * The structs below are byte arrays laid out exactly as on the wire, one per
 * opcode, with _Static_asserts on size and offsets; fields are read with the
 * scsi_get_be* accessors, never by casting to wider integers.
 */
#ifndef HOST_ISCSI_PDU_H
#define HOST_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"

#define ISCSI_BHS_LEN      48
#define ISCSI_DIGEST_LEN   4
#define ISCSI_AHS_MAX      (255 * 4)
#define ISCSI_RESERVED_TAG 0xffffffffu
#define ISCSI_DLENGTH_MAX  0xffffffu

/* Opcodes: initiator to target 00h-1Fh, target to initiator 20h-3Fh. */
enum iscsi_opcode {
    ISCSI_OP_NOP_OUT    = 0x00,
    ISCSI_OP_SCSI_CMD   = 0x01,
    ISCSI_OP_TMF_REQ    = 0x02,
    ISCSI_OP_LOGIN_REQ  = 0x03,
    ISCSI_OP_TEXT_REQ   = 0x04,
    ISCSI_OP_DATA_OUT   = 0x05,
    ISCSI_OP_LOGOUT_REQ = 0x06,
    ISCSI_OP_SNACK      = 0x10,
    ISCSI_OP_NOP_IN     = 0x20,
    ISCSI_OP_SCSI_RSP   = 0x21,
    ISCSI_OP_TMF_RSP    = 0x22,
    ISCSI_OP_LOGIN_RSP  = 0x23,
    ISCSI_OP_TEXT_RSP   = 0x24,
    ISCSI_OP_DATA_IN    = 0x25,
    ISCSI_OP_LOGOUT_RSP = 0x26,
    ISCSI_OP_R2T        = 0x31,
    ISCSI_OP_ASYNC      = 0x32,
    ISCSI_OP_REJECT     = 0x3f,
};
#define ISCSI_OPCODE_MASK    0x3f
#define ISCSI_OP_IMMEDIATE   0x40 /* byte 0: I bit */
#define ISCSI_FLAG_FINAL     0x80 /* byte 1: F bit (T bit for login) */

/* SCSI Command flags (byte 1). */
#define ISCSI_CMD_READ       0x40
#define ISCSI_CMD_WRITE      0x20
#define ISCSI_CMD_ATTR_MASK  0x07
/* SCSI Response / Data-In flags (byte 1). */
#define ISCSI_RSP_BIDI_OVERFLOW  0x10
#define ISCSI_RSP_BIDI_UNDERFLOW 0x08
#define ISCSI_RSP_OVERFLOW       0x04
#define ISCSI_RSP_UNDERFLOW      0x02
#define ISCSI_DATAIN_ACK         0x40
#define ISCSI_DATAIN_STATUS      0x01
/* Login / Text flags (byte 1). */
#define ISCSI_LOGIN_TRANSIT  0x80
#define ISCSI_LOGIN_CONTINUE 0x40
#define ISCSI_LOGIN_CSG(f)   (((f) >> 2) & 3)
#define ISCSI_LOGIN_NSG(f)   ((f) & 3)
#define ISCSI_TEXT_CONTINUE  0x40

/* Login stages (CSG / NSG). */
enum iscsi_login_stage {
    ISCSI_STAGE_SECURITY    = 0,
    ISCSI_STAGE_OPERATIONAL = 1,
    ISCSI_STAGE_FULL        = 3,
};

/* Login status: class << 8 | detail (RFC 7143 11.13.5). */
enum iscsi_login_status {
    ISCSI_LOGIN_OK                   = 0x0000,
    ISCSI_LOGIN_INITIATOR_ERROR      = 0x0200,
    ISCSI_LOGIN_AUTH_FAILED          = 0x0201,
    ISCSI_LOGIN_FORBIDDEN            = 0x0202,
    ISCSI_LOGIN_NOT_FOUND            = 0x0203,
    ISCSI_LOGIN_TARGET_REMOVED       = 0x0204,
    ISCSI_LOGIN_UNSUPPORTED_VERSION  = 0x0205,
    ISCSI_LOGIN_TOO_MANY_CONNECTIONS = 0x0206,
    ISCSI_LOGIN_MISSING_PARAMETER    = 0x0207,
    ISCSI_LOGIN_CANT_INCLUDE         = 0x0208,
    ISCSI_LOGIN_SESSION_TYPE         = 0x0209,
    ISCSI_LOGIN_NO_SESSION           = 0x020a,
    ISCSI_LOGIN_INVALID_DURING_LOGIN = 0x020b,
    ISCSI_LOGIN_TARGET_ERROR         = 0x0300,
    ISCSI_LOGIN_SERVICE_UNAVAILABLE  = 0x0301,
    ISCSI_LOGIN_OUT_OF_RESOURCES     = 0x0302,
};

/* Reject reasons (RFC 7143 11.17.1). */
enum iscsi_reject_reason {
    ISCSI_REJECT_DATA_DIGEST      = 0x02,
    ISCSI_REJECT_SNACK            = 0x03,
    ISCSI_REJECT_PROTOCOL_ERROR   = 0x04,
    ISCSI_REJECT_NOT_SUPPORTED    = 0x05,
    ISCSI_REJECT_TOO_MANY_IMMEDIATE = 0x06,
    ISCSI_REJECT_TASK_IN_PROGRESS = 0x07,
    ISCSI_REJECT_INVALID_DATA_ACK = 0x08,
    ISCSI_REJECT_INVALID_FIELD    = 0x09,
    ISCSI_REJECT_OUT_OF_RESOURCES = 0x0a,
    ISCSI_REJECT_WAITING_LOGOUT   = 0x0c,
};

/* Task management function response codes (RFC 7143 11.6.1). */
enum iscsi_tmf_response_code {
    ISCSI_TMF_RSP_COMPLETE          = 0,
    ISCSI_TMF_RSP_NO_TASK           = 1,
    ISCSI_TMF_RSP_NO_LUN            = 2,
    ISCSI_TMF_RSP_ALLEGIANT         = 3,
    ISCSI_TMF_RSP_NO_REASSIGN       = 4,
    ISCSI_TMF_RSP_NOT_SUPPORTED     = 5,
    ISCSI_TMF_RSP_AUTH_FAILED       = 6,
    ISCSI_TMF_RSP_REJECTED          = 255,
};
#define ISCSI_TMF_FUNC_MASK 0x7f
#define ISCSI_TMF_TASK_REASSIGN 8

/* Logout reason codes and responses. */
#define ISCSI_LOGOUT_REASON_MASK 0x7f
enum { ISCSI_LOGOUT_CLOSE_SESSION = 0, ISCSI_LOGOUT_CLOSE_CONNECTION = 1, ISCSI_LOGOUT_REMOVE_FOR_RECOVERY = 2 };
enum { ISCSI_LOGOUT_RSP_OK = 0, ISCSI_LOGOUT_RSP_NO_CID = 1, ISCSI_LOGOUT_RSP_NO_RECOVERY = 2 };

/* SCSI Response "Response" byte. */
enum { ISCSI_RESPONSE_COMPLETED = 0x00, ISCSI_RESPONSE_TARGET_FAILURE = 0x01 };

/* AHS types. */
enum { ISCSI_AHS_EXTENDED_CDB = 1, ISCSI_AHS_BIDI_READ_LENGTH = 2 };

/* ---- Basic Header Segments ------------------------------------------------- */

/* Fields every BHS shares. */
struct iscsi_bhs {
    uint8_t opcode;          /* 0: . I opcode */
    uint8_t flags;           /* 1 */
    uint8_t spec2[2];        /* 2 */
    uint8_t total_ahs_len;   /* 4: in 4-byte words */
    uint8_t dlength[3];      /* 5 */
    uint8_t lun[8];          /* 8: LUN or opcode-specific */
    uint8_t itt[4];          /* 16 */
    uint8_t spec20[28];      /* 20 */
};

struct iscsi_scsi_cmd {
    uint8_t opcode, flags, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t edtl[4];         /* 20: Expected Data Transfer Length */
    uint8_t cmdsn[4];        /* 24 */
    uint8_t exp_statsn[4];   /* 28 */
    uint8_t cdb[16];         /* 32 */
};

struct iscsi_scsi_rsp {
    uint8_t opcode, flags, response, status;
    uint8_t total_ahs_len, dlength[3];
    uint8_t rsvd8[8];
    uint8_t itt[4];
    uint8_t snack_tag[4];    /* 20 */
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t exp_datasn[4];   /* 36 */
    uint8_t bidi_residual[4];/* 40 */
    uint8_t residual[4];     /* 44 */
};

struct iscsi_data_out {
    uint8_t opcode, flags, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t ttt[4];          /* 20 */
    uint8_t rsvd24[4];
    uint8_t exp_statsn[4];   /* 28 */
    uint8_t rsvd32[4];
    uint8_t datasn[4];       /* 36 */
    uint8_t offset[4];       /* 40: Buffer Offset */
    uint8_t rsvd44[4];
};

struct iscsi_data_in {
    uint8_t opcode, flags, rsvd2, status;
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t ttt[4];          /* 20 */
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t datasn[4];       /* 36 */
    uint8_t offset[4];       /* 40 */
    uint8_t residual[4];     /* 44 */
};

struct iscsi_r2t {
    uint8_t opcode, flags, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t ttt[4];          /* 20 */
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t r2tsn[4];        /* 36 */
    uint8_t offset[4];       /* 40 */
    uint8_t desired_len[4];  /* 44 */
};

/* NOP-Out and NOP-In share one layout. */
struct iscsi_nop {
    uint8_t opcode, flags, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t ttt[4];          /* 20 */
    uint8_t sn24[4];         /* 24: CmdSN (out) / StatSN (in) */
    uint8_t sn28[4];         /* 28: ExpStatSN (out) / ExpCmdSN (in) */
    uint8_t max_cmdsn[4];    /* 32 (in) */
    uint8_t rsvd36[12];
};

struct iscsi_tmf_req {
    uint8_t opcode, function, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t rtt[4];          /* 20: Referenced Task Tag */
    uint8_t cmdsn[4];        /* 24 */
    uint8_t exp_statsn[4];   /* 28 */
    uint8_t ref_cmdsn[4];    /* 32 */
    uint8_t exp_datasn[4];   /* 36 */
    uint8_t rsvd40[8];
};

struct iscsi_tmf_rsp {
    uint8_t opcode, flags, response, rsvd3;
    uint8_t total_ahs_len, dlength[3];
    uint8_t rsvd8[8];
    uint8_t itt[4];
    uint8_t rsvd20[4];
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t rsvd36[12];
};

struct iscsi_login_req {
    uint8_t opcode, flags, version_max, version_min;
    uint8_t total_ahs_len, dlength[3];
    uint8_t isid[6];         /* 8 */
    uint8_t tsih[2];         /* 14 */
    uint8_t itt[4];
    uint8_t cid[2];          /* 20 */
    uint8_t rsvd22[2];
    uint8_t cmdsn[4];        /* 24 */
    uint8_t exp_statsn[4];   /* 28 */
    uint8_t rsvd32[16];
};

struct iscsi_login_rsp {
    uint8_t opcode, flags, version_max, version_active;
    uint8_t total_ahs_len, dlength[3];
    uint8_t isid[6];
    uint8_t tsih[2];
    uint8_t itt[4];
    uint8_t rsvd20[4];
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t status_class;    /* 36 */
    uint8_t status_detail;   /* 37 */
    uint8_t rsvd38[10];
};

/* Text Request and Text Response share one layout. */
struct iscsi_text {
    uint8_t opcode, flags, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t lun[8];
    uint8_t itt[4];
    uint8_t ttt[4];          /* 20 */
    uint8_t sn24[4];         /* 24: CmdSN (req) / StatSN (rsp) */
    uint8_t sn28[4];         /* 28: ExpStatSN (req) / ExpCmdSN (rsp) */
    uint8_t max_cmdsn[4];    /* 32 (rsp) */
    uint8_t rsvd36[12];
};

struct iscsi_logout_req {
    uint8_t opcode, reason, rsvd2[2];
    uint8_t total_ahs_len, dlength[3];
    uint8_t rsvd8[8];
    uint8_t itt[4];
    uint8_t cid[2];          /* 20 */
    uint8_t rsvd22[2];
    uint8_t cmdsn[4];        /* 24 */
    uint8_t exp_statsn[4];   /* 28 */
    uint8_t rsvd32[16];
};

struct iscsi_logout_rsp {
    uint8_t opcode, flags, response, rsvd3;
    uint8_t total_ahs_len, dlength[3];
    uint8_t rsvd8[8];
    uint8_t itt[4];
    uint8_t rsvd20[4];
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t rsvd36[4];
    uint8_t time2wait[2];    /* 40 */
    uint8_t time2retain[2];  /* 42 */
    uint8_t rsvd44[4];
};

struct iscsi_reject {
    uint8_t opcode, flags, reason, rsvd3;
    uint8_t total_ahs_len, dlength[3];
    uint8_t rsvd8[8];
    uint8_t itt[4];          /* 16: always FFFFFFFFh */
    uint8_t rsvd20[4];
    uint8_t statsn[4];       /* 24 */
    uint8_t exp_cmdsn[4];    /* 28 */
    uint8_t max_cmdsn[4];    /* 32 */
    uint8_t datasn[4];       /* 36: DataSN/R2TSN or reserved */
    uint8_t rsvd40[8];
};

#define ISCSI_ASSERT_BHS(type) _Static_assert(sizeof(struct type) == ISCSI_BHS_LEN, #type " is 48 bytes")
ISCSI_ASSERT_BHS(iscsi_bhs);
ISCSI_ASSERT_BHS(iscsi_scsi_cmd);
ISCSI_ASSERT_BHS(iscsi_scsi_rsp);
ISCSI_ASSERT_BHS(iscsi_data_out);
ISCSI_ASSERT_BHS(iscsi_data_in);
ISCSI_ASSERT_BHS(iscsi_r2t);
ISCSI_ASSERT_BHS(iscsi_nop);
ISCSI_ASSERT_BHS(iscsi_tmf_req);
ISCSI_ASSERT_BHS(iscsi_tmf_rsp);
ISCSI_ASSERT_BHS(iscsi_login_req);
ISCSI_ASSERT_BHS(iscsi_login_rsp);
ISCSI_ASSERT_BHS(iscsi_text);
ISCSI_ASSERT_BHS(iscsi_logout_req);
ISCSI_ASSERT_BHS(iscsi_logout_rsp);
ISCSI_ASSERT_BHS(iscsi_reject);
_Static_assert(offsetof(struct iscsi_bhs, dlength) == 5, "DataSegmentLength at 5");
_Static_assert(offsetof(struct iscsi_bhs, itt) == 16, "ITT at 16");
_Static_assert(offsetof(struct iscsi_scsi_cmd, edtl) == 20, "EDTL at 20");
_Static_assert(offsetof(struct iscsi_scsi_cmd, cdb) == 32, "CDB at 32");
_Static_assert(offsetof(struct iscsi_scsi_rsp, exp_datasn) == 36, "ExpDataSN at 36");
_Static_assert(offsetof(struct iscsi_scsi_rsp, residual) == 44, "Residual Count at 44");
_Static_assert(offsetof(struct iscsi_data_out, datasn) == 36, "DataSN at 36");
_Static_assert(offsetof(struct iscsi_data_out, offset) == 40, "Buffer Offset at 40");
_Static_assert(offsetof(struct iscsi_data_in, residual) == 44, "Data-In residual at 44");
_Static_assert(offsetof(struct iscsi_r2t, desired_len) == 44, "Desired Data Transfer Length at 44");
_Static_assert(offsetof(struct iscsi_tmf_req, ref_cmdsn) == 32, "RefCmdSN at 32");
_Static_assert(offsetof(struct iscsi_login_req, tsih) == 14, "TSIH at 14");
_Static_assert(offsetof(struct iscsi_login_req, cid) == 20, "CID at 20");
_Static_assert(offsetof(struct iscsi_login_rsp, status_class) == 36, "Status-Class at 36");
_Static_assert(offsetof(struct iscsi_logout_rsp, time2wait) == 40, "Time2Wait at 40");
_Static_assert(offsetof(struct iscsi_reject, datasn) == 36, "Reject DataSN at 36");

static inline uint32_t iscsi_bhs_dlength(const void *bhs)
{
    return scsi_get_be24(((const struct iscsi_bhs *)bhs)->dlength);
}
static inline void iscsi_bhs_set_dlength(void *bhs, uint32_t len)
{
    scsi_put_be24(((struct iscsi_bhs *)bhs)->dlength, len);
}
static inline uint8_t iscsi_bhs_opcode(const void *bhs)
{
    return ((const uint8_t *)bhs)[0] & ISCSI_OPCODE_MASK;
}
static inline uint32_t iscsi_pad4(uint32_t len)
{
    return (4 - (len & 3)) & 3;
}

/* What the AHS of a SCSI Command carries. */
struct iscsi_ahs_info {
    const uint8_t *ext_cdb;  /* bytes 16.. of a long CDB */
    uint32_t ext_cdb_len;
    bool has_bidi_read_len;
    uint32_t bidi_read_len;
};
/* Parses len bytes of AHS; -EPROTO when a segment is malformed or overruns. */
int iscsi_ahs_parse(const uint8_t *ahs, size_t len, struct iscsi_ahs_info *out);

/* "SCSI Command", "Login Response", ... or "opcode 0x1b". buf for the latter. */
const char *iscsi_opcode_name(uint8_t opcode, char *buf, size_t buf_len);

#endif
