/* scsi/sense.h — sense data, built in exactly one place and read back
 * format-independently.
 *
 * Every layer that must report an error describes it as a struct scsi_sense_reason
 * (sense key, ASC/ASCQ, optional sense-key-specific field pointer and INFORMATION)
 * and calls scsi_sense_build(), which writes fixed (70h) or descriptor (72h)
 * format as the logical unit's D_SENSE bit asks.  Readers call scsi_sense_parse(),
 * which normalizes either format (through libsgutils2) so a comparison never
 * depends on the format.
 */
#ifndef SCSI_SENSE_H
#define SCSI_SENSE_H

#include "scsi/scsi.h"

/* Sense-key specific "field pointer" (SPC-5 4.4.2.2): which byte (and bit) of
 * the CDB or of the parameter list was wrong. */
struct scsi_field_pointer {
    bool     valid;     /* SKSV */
    bool     in_cdb;    /* C/D: 1 = the error is in the CDB, 0 = in parameter data */
    bool     bit_valid; /* BPV */
    uint8_t  bit;       /* bit pointer, 0..7, meaningful when bit_valid */
    uint16_t byte;      /* field pointer: byte offset of the bad field */
};

/* What went wrong, independent of how it is encoded. */
struct scsi_sense_reason {
    uint8_t  key;                 /* enum scsi_sense_key */
    uint16_t asc_ascq;            /* SCSI_ASCQ(asc, ascq) */
    struct scsi_field_pointer fp; /* ILLEGAL REQUEST field pointer, if any */
    bool     info_valid;
    uint64_t info;                /* INFORMATION field (e.g. the failing LBA) */
    /* Progress indication (SPC-5 4.4.2.4) in the sense-key-specific bytes of
     * a NOT READY "operation in progress" (e.g. 04h/1Bh SANITIZE IN
     * PROGRESS): the fraction done, 0..65535 of 65536.  Used only when fp is
     * not valid (the two share the bytes). */
    bool     progress_valid;
    uint16_t progress;
};

static inline struct scsi_sense_reason scsi_reason(uint8_t key, uint16_t asc_ascq)
{
    struct scsi_sense_reason r = { .key = key, .asc_ascq = asc_ascq };
    return r;
}
/* ILLEGAL REQUEST / INVALID FIELD IN CDB pointing at byte (and bit, or -1). */
struct scsi_sense_reason scsi_reason_invalid_cdb_field(uint16_t byte, int bit);
/* ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST pointing at byte (and bit, or -1). */
struct scsi_sense_reason scsi_reason_invalid_param_field(uint16_t byte, int bit);

/* Builds sense data for reason into buf (cap bytes); descriptor selects format
 * 72h (D_SENSE=1) over 70h.  Returns the number of bytes written, at most cap,
 * at most SCSI_SENSE_MAX; a reason that does not fit is truncated, never overrun. */
size_t scsi_sense_build(uint8_t *buf, size_t cap, bool descriptor, const struct scsi_sense_reason *reason);

/* Sense data decoded, whatever its format. */
struct scsi_sense_info {
    bool     descriptor;  /* response code 72h/73h */
    bool     deferred;    /* response code 71h/73h */
    uint8_t  key;
    uint8_t  asc, ascq;
    struct scsi_field_pointer fp;
    bool     info_valid;
    uint64_t info;
    /* NO SENSE / NOT READY with SKSV: a progress indication, not a field
     * pointer (fp is then left invalid). */
    bool     progress_valid;
    uint16_t progress;
};
/* Parses sense data of len bytes.  Returns false (and leaves *out zeroed) when
 * the bytes are not valid sense data (bad response code, too short). */
bool scsi_sense_parse(const uint8_t *sense, size_t len, struct scsi_sense_info *out);

/* Human-readable names (from libsgutils2) into buf; always NUL-terminated. */
const char *scsi_sense_key_name(uint8_t key, char *buf, size_t buf_len);
const char *scsi_asc_name(uint8_t asc, uint8_t ascq, char *buf, size_t buf_len);

#endif
