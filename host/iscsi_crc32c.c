/* host/iscsi_crc32c.c — CRC32C through ISA-L's crc32_iscsi.
 *
 * ISA-L's conventions: crc32_iscsi(buf, len, init) is a plain running update
 * in the reflected (iSCSI) bit order — it neither inverts the value it starts
 * from nor the one it returns.  That is exactly iscsi_crc32c_update: callers
 * start from ISCSI_CRC32C_INIT (all ones) and invert once at the end
 * (iscsi_crc32c_final), so a digest can be run over a PDU's data and then its
 * padding without joining them.  Its length is an int, so longer spans go in
 * pieces; it takes a non-const pointer but only reads through it. */
#include "host/iscsi_crc32c.h"

#include <isa-l/crc.h>

/* Large enough that the split costs nothing, small enough for an int. */
#define CRC_CHUNK ((size_t)1 << 30)

uint32_t iscsi_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)(uintptr_t)buf;
    while (len > 0) {
        size_t n = len < CRC_CHUNK ? len : CRC_CHUNK;
        crc = crc32_iscsi(p, (int)n, crc);
        p += n;
        len -= n;
    }
    return crc;
}
