/* base/hex.h — the one hexadecimal digit parser. */
#ifndef BASE_HEX_H
#define BASE_HEX_H

/* The value of hexadecimal digit c (0-9, a-f, A-F), or -1. */
static inline int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
