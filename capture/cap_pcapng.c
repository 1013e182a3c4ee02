/* capture/cap_pcapng.c — see cap_pcapng.h.  Every block is
 *   block type (4) | block total length (4) | body | block total length (4)
 * with the body padded to 32 bits; options are code (2) | length (2) |
 * value padded to 32 bits, ended by opt_endofopt.  The file is written in
 * little-endian order, which the SHB's byte-order magic announces. */
#include "capture/cap_pcapng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_SHB 0x0a0d0d0au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du

#define OPT_ENDOFOPT  0
#define OPT_USERAPPL  4 /* shb_userappl: the application that wrote the section */
#define OPT_TSRESOL   9 /* if_tsresol: 9 = 10^-9 s */

/* The fixed parts of the three blocks, as laid out in the file (all fields
 * little-endian, see put32). */
struct shb_fixed {
    uint32_t type, total_len, magic;
    uint16_t major, minor;
    uint32_t section_len_lo, section_len_hi; /* -1: not given */
};
_Static_assert(sizeof(struct shb_fixed) == 24, "SHB: type, length, magic, version, section length");
struct idb_fixed {
    uint32_t type, total_len;
    uint16_t linktype, reserved;
    uint32_t snaplen;
};
_Static_assert(sizeof(struct idb_fixed) == 16, "IDB: type, length, link type, reserved, snap length");
struct epb_fixed {
    uint32_t type, total_len, interface, ts_high, ts_low, caplen, origlen;
};
_Static_assert(sizeof(struct epb_fixed) == 28, "EPB: type, length, interface, timestamp, lengths");

struct cap_pcapng {
    FILE *f;
    int   rc;
};

static uint32_t le32(uint32_t v)
{
    const uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    uint32_t out;
    memcpy(&out, b, 4);
    return out;
}

static uint16_t le16(uint16_t v)
{
    const uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    uint16_t out;
    memcpy(&out, b, 2);
    return out;
}

static void put(struct cap_pcapng *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->f) != n)
        w->rc = -EIO;
}

static void put32(struct cap_pcapng *w, uint32_t v)
{
    v = le32(v);
    put(w, &v, 4);
}

static size_t pad4(size_t n)
{
    return (4 - (n & 3)) & 3;
}

/* An option's length on the file: header, value, padding. */
static size_t opt_size(size_t len)
{
    return 4 + len + pad4(len);
}

static void put_opt(struct cap_pcapng *w, uint16_t code, const void *v, uint16_t len)
{
    static const uint8_t zeros[4];
    uint16_t h[2] = { le16(code), le16(len) };
    put(w, h, 4);
    put(w, v, len);
    put(w, zeros, pad4(len));
}

struct cap_pcapng *cap_pcapng_open(const char *path, uint16_t linktype, uint32_t snaplen)
{
    struct cap_pcapng *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->f = fopen(path, "wb");
    if (!w->f) {
        int e = errno;
        free(w);
        errno = e;
        return NULL;
    }
    static const char appl[] = "scsisim export";
    uint32_t shb_len = (uint32_t)(sizeof(struct shb_fixed) + opt_size(sizeof appl - 1) + opt_size(0) + 4);
    struct shb_fixed shb = { .type = le32(BT_SHB), .total_len = le32(shb_len), .magic = le32(BYTE_ORDER_MAGIC),
                             .major = le16(1), .minor = le16(0), .section_len_lo = 0xffffffffu,
                             .section_len_hi = 0xffffffffu };
    put(w, &shb, sizeof shb);
    put_opt(w, OPT_USERAPPL, appl, sizeof appl - 1);
    put_opt(w, OPT_ENDOFOPT, NULL, 0);
    put32(w, shb_len);

    const uint8_t tsresol = 9;
    uint32_t idb_len = (uint32_t)(sizeof(struct idb_fixed) + opt_size(1) + opt_size(0) + 4);
    struct idb_fixed idb = { .type = le32(BT_IDB), .total_len = le32(idb_len), .linktype = le16(linktype),
                             .snaplen = le32(snaplen) };
    put(w, &idb, sizeof idb);
    put_opt(w, OPT_TSRESOL, &tsresol, 1);
    put_opt(w, OPT_ENDOFOPT, NULL, 0);
    put32(w, idb_len);
    return w;
}

void cap_pcapng_packet(struct cap_pcapng *w, uint64_t ns, const uint8_t *p, uint32_t len)
{
    static const uint8_t zeros[4];
    uint32_t total = (uint32_t)(sizeof(struct epb_fixed) + len + pad4(len) + 4);
    struct epb_fixed epb = { .type = le32(BT_EPB), .total_len = le32(total), .interface = 0,
                             .ts_high = le32((uint32_t)(ns >> 32)), .ts_low = le32((uint32_t)ns),
                             .caplen = le32(len), .origlen = le32(len) };
    put(w, &epb, sizeof epb);
    put(w, p, len);
    put(w, zeros, pad4(len));
    put32(w, total);
}

int cap_pcapng_close(struct cap_pcapng *w)
{
    if (!w)
        return 0;
    int rc = w->rc;
    if (fclose(w->f) != 0)
        rc = -EIO;
    free(w);
    return rc;
}
