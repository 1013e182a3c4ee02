/* host/iscsi_crc32c.c — CRC32C, hand-written (no Debian library offers it
 * cleanly): reflected polynomial 0x82F63B78, slicing-by-8 tables built once,
 * and the SSE4.2 CRC32 instruction on x86-64 CPUs that have it. */
#include "host/iscsi_crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY_REFLECTED 0x82f63b78u

/* Eight 256-entry tables: table[k][b] is the CRC of byte b followed by k
 * zero bytes.  Built once and read-only afterwards. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY_REFLECTED : 0);
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            crc_table[k][b] = (crc_table[k - 1][b] >> 8) ^ crc_table[0][crc_table[k - 1][b] & 0xff];
}

uint32_t iscsi_crc32c_update_sw(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_table_once, build_tables);
    const uint8_t *p = buf;
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2")))
static uint32_t crc32c_update_hw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = crc;
    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}

uint32_t iscsi_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
    /* __builtin_cpu_supports reads a table libgcc fills at start-up. */
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_update_hw(crc, buf, len);
    return iscsi_crc32c_update_sw(crc, buf, len);
}
#else
uint32_t iscsi_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
    return iscsi_crc32c_update_sw(crc, buf, len);
}
#endif
