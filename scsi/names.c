/* scsi/names.c — names of opcodes and status codes, from libsgutils2, and the
 * CDB length rule of SPC. */
#include "scsi/scsi.h"

#include <scsi/sg_lib.h>

int scsi_cdb_length(uint8_t opcode)
{
    switch (opcode >> 5) {
    case 0: return 6;
    case 1: case 2: return 10;
    case 4: return 16;
    case 5: return 12;
    default: return 0; /* group 3 is reserved/variable length; 6 and 7 are vendor specific */
    }
}

const char *scsi_opcode_name(const uint8_t *cdb, size_t cdb_len, char *buf, size_t buf_len)
{
    if (buf_len == 0)
        return buf;
    buf[0] = '\0';
    if (cdb_len == 0)
        return buf;
    sg_get_command_name(cdb, SCSI_PDT_DISK, (int)buf_len, buf);
    return buf;
}

const char *scsi_status_name(uint8_t status, char *buf, size_t buf_len)
{
    if (buf_len == 0)
        return buf;
    buf[0] = '\0';
    sg_get_scsi_status_str(status, (int)buf_len, buf);
    return buf;
}
