/* host/iscsi_crc32c.h — CRC32C (Castagnoli), the iSCSI header and data digest.
 *
 * Computed by Intel ISA-L's crc32_iscsi (Debian libisal-dev), which picks the
 * fastest code the CPU runs (PCLMULQDQ folding, the SSE4.2 CRC32 instruction,
 * or tables) at run time.  On the wire the digest is the final CRC in
 * little-endian byte order (RFC 7143 13.1 with the bit ordering of its CRC32C
 * examples). */
#ifndef HOST_ISCSI_CRC32C_H
#define HOST_ISCSI_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#define ISCSI_CRC32C_INIT 0xffffffffu

/* Continues a running CRC (start from ISCSI_CRC32C_INIT) over len bytes. */
uint32_t iscsi_crc32c_update(uint32_t crc, const void *buf, size_t len);
/* Final value of a running CRC. */
static inline uint32_t iscsi_crc32c_final(uint32_t crc) { return crc ^ 0xffffffffu; }
/* One-shot digest of a buffer. */
static inline uint32_t iscsi_crc32c(const void *buf, size_t len)
{
    return iscsi_crc32c_final(iscsi_crc32c_update(ISCSI_CRC32C_INIT, buf, len));
}

/* Digest bytes as they travel: little-endian. */
static inline void iscsi_digest_put(uint8_t *p, uint32_t d)
{
    p[0] = (uint8_t)d; p[1] = (uint8_t)(d >> 8); p[2] = (uint8_t)(d >> 16); p[3] = (uint8_t)(d >> 24);
}
static inline uint32_t iscsi_digest_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
