/* scsi/scsi.h — SCSI vocabulary shared by every layer of scsisim.
 *
 * Operation codes, status codes, sense keys and the additional sense codes the
 * project uses, plus big-endian field accessors for CDBs and parameter data.
 * Values come from T10 SPC-5 / SBC-4.  Nothing here knows about the simulator,
 * the driver or the transport.
 */
#ifndef SCSI_SCSI_H
#define SCSI_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Operation codes (SPC-5 / SBC-4). */
enum scsi_opcode {
    SCSI_OP_TEST_UNIT_READY      = 0x00,
    SCSI_OP_REQUEST_SENSE        = 0x03,
    SCSI_OP_READ_6               = 0x08,
    SCSI_OP_WRITE_6              = 0x0a,
    SCSI_OP_INQUIRY              = 0x12,
    SCSI_OP_MODE_SELECT_6        = 0x15,
    SCSI_OP_MODE_SENSE_6         = 0x1a,
    SCSI_OP_START_STOP_UNIT      = 0x1b,
    SCSI_OP_SEND_DIAGNOSTIC      = 0x1d,
    SCSI_OP_READ_CAPACITY_10     = 0x25,
    SCSI_OP_READ_10              = 0x28,
    SCSI_OP_WRITE_10             = 0x2a,
    SCSI_OP_VERIFY_10            = 0x2f,
    SCSI_OP_SYNCHRONIZE_CACHE_10 = 0x35,
    SCSI_OP_WRITE_BUFFER         = 0x3b,
    SCSI_OP_READ_BUFFER          = 0x3c,
    SCSI_OP_MODE_SELECT_10       = 0x55,
    SCSI_OP_MODE_SENSE_10        = 0x5a,
    SCSI_OP_READ_16              = 0x88,
    SCSI_OP_WRITE_16             = 0x8a,
    SCSI_OP_VERIFY_16            = 0x8f,
    SCSI_OP_SYNCHRONIZE_CACHE_16 = 0x91,
    SCSI_OP_SERVICE_ACTION_IN_16 = 0x9e, /* READ CAPACITY (16) is SA 10h */
    SCSI_OP_REPORT_LUNS          = 0xa0,
    SCSI_OP_MAINTENANCE_IN       = 0xa3,
    SCSI_OP_READ_12              = 0xa8,
    SCSI_OP_WRITE_12             = 0xaa,
};
#define SCSI_SAI_READ_CAPACITY_16 0x10

/* SAM-5 status codes. */
enum scsi_status {
    SCSI_STATUS_GOOD                 = 0x00,
    SCSI_STATUS_CHECK_CONDITION      = 0x02,
    SCSI_STATUS_CONDITION_MET        = 0x04,
    SCSI_STATUS_BUSY                 = 0x08,
    SCSI_STATUS_RESERVATION_CONFLICT = 0x18,
    SCSI_STATUS_TASK_SET_FULL        = 0x28,
    SCSI_STATUS_ACA_ACTIVE           = 0x30,
    SCSI_STATUS_TASK_ABORTED         = 0x40,
};

/* Sense keys. */
enum scsi_sense_key {
    SCSI_SK_NO_SENSE        = 0x0,
    SCSI_SK_RECOVERED_ERROR = 0x1,
    SCSI_SK_NOT_READY       = 0x2,
    SCSI_SK_MEDIUM_ERROR    = 0x3,
    SCSI_SK_HARDWARE_ERROR  = 0x4,
    SCSI_SK_ILLEGAL_REQUEST = 0x5,
    SCSI_SK_UNIT_ATTENTION  = 0x6,
    SCSI_SK_DATA_PROTECT    = 0x7,
    SCSI_SK_COPY_ABORTED    = 0xa,
    SCSI_SK_ABORTED_COMMAND = 0xb,
    SCSI_SK_MISCOMPARE      = 0xe,
};

/* Additional sense code and qualifier packed as (ASC << 8) | ASCQ, and the
 * ASC of a packed code. */
#define SCSI_ASCQ(asc, ascq) ((uint16_t)(((asc) << 8) | (ascq)))
#define SCSI_ASC_OF(asc_ascq) ((uint8_t)((asc_ascq) >> 8))
/* ASC 29h, whatever the ASCQ: power on, reset or bus device reset occurred. */
#define SCSI_ASC_RESET_CLASS 0x29
enum scsi_asc_ascq {
    SCSI_ASC_NO_ADDITIONAL_SENSE         = SCSI_ASCQ(0x00, 0x00),
    SCSI_ASC_LUN_NOT_READY_BECOMING      = SCSI_ASCQ(0x04, 0x01),
    SCSI_ASC_LUN_NOT_READY_INIT_REQUIRED = SCSI_ASCQ(0x04, 0x02),
    SCSI_ASC_LUN_NOT_READY_STOPPED       = SCSI_ASCQ(0x04, 0x02),
    SCSI_ASC_WRITE_ERROR                 = SCSI_ASCQ(0x0c, 0x00),
    SCSI_ASC_UNRECOVERED_READ_ERROR      = SCSI_ASCQ(0x11, 0x00),
    SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR = SCSI_ASCQ(0x1a, 0x00),
    SCSI_ASC_MISCOMPARE_DURING_VERIFY    = SCSI_ASCQ(0x1d, 0x00),
    SCSI_ASC_INVALID_COMMAND_OPCODE      = SCSI_ASCQ(0x20, 0x00),
    SCSI_ASC_LBA_OUT_OF_RANGE            = SCSI_ASCQ(0x21, 0x00),
    SCSI_ASC_INVALID_FIELD_IN_CDB        = SCSI_ASCQ(0x24, 0x00),
    SCSI_ASC_LUN_NOT_SUPPORTED           = SCSI_ASCQ(0x25, 0x00),
    SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST = SCSI_ASCQ(0x26, 0x00),
    SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED = SCSI_ASCQ(0x39, 0x00),
    SCSI_ASC_WRITE_PROTECTED             = SCSI_ASCQ(0x27, 0x00),
    SCSI_ASC_SOFTWARE_WRITE_PROTECTED    = SCSI_ASCQ(0x27, 0x02),
    SCSI_ASC_POWER_ON_RESET              = SCSI_ASCQ(0x29, 0x00),
    SCSI_ASC_POWER_ON_OCCURRED           = SCSI_ASCQ(0x29, 0x01),
    SCSI_ASC_SCSI_BUS_RESET              = SCSI_ASCQ(0x29, 0x02),
    SCSI_ASC_BUS_DEVICE_RESET            = SCSI_ASCQ(0x29, 0x03),
    SCSI_ASC_DEVICE_INTERNAL_RESET       = SCSI_ASCQ(0x29, 0x04),
    SCSI_ASC_I_T_NEXUS_LOSS              = SCSI_ASCQ(0x29, 0x07),
    SCSI_ASC_MODE_PARAMETERS_CHANGED     = SCSI_ASCQ(0x2a, 0x01),
    SCSI_ASC_CAPACITY_DATA_CHANGED       = SCSI_ASCQ(0x2a, 0x09),
    SCSI_ASC_COMMANDS_CLEARED_BY_ANOTHER = SCSI_ASCQ(0x2f, 0x00),
    SCSI_ASC_INTERNAL_TARGET_FAILURE     = SCSI_ASCQ(0x44, 0x00),
    SCSI_ASC_REPORTED_LUNS_CHANGED       = SCSI_ASCQ(0x3f, 0x0e),
    SCSI_ASC_PROTOCOL_SERVICE_CRC_ERROR  = SCSI_ASCQ(0x47, 0x05),
    SCSI_ASC_DATA_PHASE_ERROR            = SCSI_ASCQ(0x4b, 0x00),
    SCSI_ASC_MEDIUM_NOT_PRESENT          = SCSI_ASCQ(0x3a, 0x00),
};

/* Peripheral device types and qualifiers (INQUIRY byte 0). */
#define SCSI_PDT_DISK          0x00
#define SCSI_PDT_UNKNOWN       0x1f
#define SCSI_PQ_CONNECTED      0x0
#define SCSI_PQ_NOT_SUPPORTED  0x3   /* 011b: no LUN at this address */

/* Mode pages. */
#define SCSI_MODE_PAGE_CACHING  0x08
#define SCSI_MODE_PAGE_CONTROL  0x0a
#define SCSI_MODE_PAGE_ALL      0x3f

/* Longest sense data scsisim ever builds or accepts (SPC-5: 252 bytes). */
#define SCSI_SENSE_MAX 252

/* Big-endian accessors: CDBs and parameter data are big-endian on the wire. */
static inline uint16_t scsi_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t scsi_get_be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t scsi_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t scsi_get_be64(const uint8_t *p)
{
    return (uint64_t)scsi_get_be32(p) << 32 | scsi_get_be32(p + 4);
}
static inline void scsi_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void scsi_put_be24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline void scsi_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void scsi_put_be64(uint8_t *p, uint64_t v)
{
    scsi_put_be32(p, (uint32_t)(v >> 32)); scsi_put_be32(p + 4, (uint32_t)v);
}
/* A field of n bytes (0..8), for code that finds a field's width in a table;
 * put writes the low n bytes of v. */
static inline uint64_t scsi_get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}
static inline void scsi_put_be(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

/* CDB length implied by the group code in the top three bits of the opcode
 * (SPC-5 4.2.5.1); 0 for the reserved and vendor-specific groups 3, 6, 7. */
int scsi_cdb_length(uint8_t opcode);

/* Name of an operation code for a disk (via libsgutils2), into buf. */
const char *scsi_opcode_name(const uint8_t *cdb, size_t cdb_len, char *buf, size_t buf_len);
/* Name of a status code ("Good", "Check Condition", ...), into buf. */
const char *scsi_status_name(uint8_t status, char *buf, size_t buf_len);

#endif
