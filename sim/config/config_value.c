/* sim/config/config_value.c — the lexical side of configuration values: integers,
 * sizes with binary suffixes, durations, booleans, block sizes.  Every error
 * names the key, shows the text, says what was expected and points its column
 * at the offending character. */
#include "sim/config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "base/hex.h"

int cfg_fail(const struct cfg_ctx *ctx, unsigned column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    located_vset(ctx->err, ctx->file, ctx->line, column, 0, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int cfg_fail_rc(const struct cfg_ctx *ctx, int rc, unsigned column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    located_vset(ctx->err, ctx->file, ctx->line, column, 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* Reads an unsigned integer at v[*i] (decimal, or hexadecimal after 0x).
 * 0, -EINVAL (no digits), -ERANGE (more than 64 bits); *i moves past it. */
static int scan_number(const char *v, size_t *i, uint64_t *out)
{
    unsigned base = 10;
    size_t p = *i;
    if (v[p] == '0' && (v[p + 1] == 'x' || v[p + 1] == 'X') && isxdigit((unsigned char)v[p + 2])) {
        base = 16;
        p += 2;
    }
    uint64_t val = 0;
    bool any = false, overflow = false;
    for (;; p++) {
        int digit = hex_digit((unsigned char)v[p]);
        if (digit < 0 || (unsigned)digit >= base)
            break;
        unsigned d = (unsigned)digit;
        any = true;
        if (val > (UINT64_MAX - d) / base)
            overflow = true;
        else
            val = val * base + d;
    }
    *i = p;
    if (!any)
        return -EINVAL;
    if (overflow)
        return -ERANGE;
    *out = val;
    return 0;
}

static int number_or_fail(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, size_t *i,
                          uint64_t *out, const char *expected)
{
    if (!v[0])
        return cfg_fail(ctx, col, "'%s' needs a value: expected %s", key, expected);
    int rc = scan_number(v, i, out);
    if (rc == -EINVAL)
        return cfg_fail(ctx, col, "%s: '%s' is not a number; expected %s", key, v, expected);
    if (rc == -ERANGE)
        return cfg_fail(ctx, col, "%s: '%s' overflows a 64-bit number; expected %s", key, v, expected);
    return 0;
}

int cfg_parse_uint(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    char expected[96];
    snprintf(expected, sizeof expected, "an integer in %llu..%llu", (unsigned long long)min,
             (unsigned long long)max);
    size_t i = 0;
    uint64_t val;
    int rc = number_or_fail(ctx, key, v, col, &i, &val, expected);
    if (rc)
        return rc;
    if (v[i])
        return cfg_fail(ctx, col + (unsigned)i, "%s: unexpected '%s' after the number; expected %s", key, v + i,
                        expected);
    if (val < min || val > max)
        return cfg_fail(ctx, col, "%s = %s is out of range; expected %s", key, v, expected);
    *out = val;
    return 0;
}

/* Multiplier for a size suffix at s ("K", "KiB", "KB", case-insensitive), 0 if not one. */
static uint64_t size_suffix(const char *s)
{
    static const char letters[] = "KMGTP";
    const char *at = strchr(letters, toupper((unsigned char)s[0]));
    if (!s[0] || !at)
        return 0;
    const char *rest = s + 1;
    if (*rest && strcasecmp(rest, "iB") != 0 && strcasecmp(rest, "B") != 0)
        return 0;
    return 1ull << (10 * (at - letters + 1));
}

int cfg_parse_size(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    char lo[32], hi[32], expected[128];
    cfg_format_size(min, lo, sizeof lo);
    cfg_format_size(max, hi, sizeof hi);
    snprintf(expected, sizeof expected, "a size in %s..%s (bytes, or with a suffix K, M, G, T or P)", lo, hi);
    size_t i = 0;
    uint64_t val;
    int rc = number_or_fail(ctx, key, v, col, &i, &val, expected);
    if (rc)
        return rc;
    if (v[i]) {
        uint64_t mult = size_suffix(v + i);
        if (!mult)
            return cfg_fail(ctx, col + (unsigned)i,
                            "%s: unknown size suffix '%s'; use K, M, G, T or P (binary: 1K = 1024 bytes), "
                            "or none for bytes",
                            key, v + i);
        if (val > UINT64_MAX / mult)
            return cfg_fail(ctx, col, "%s: %s overflows 64 bits of bytes; expected %s", key, v, expected);
        val *= mult;
    }
    if (val < min || val > max)
        return cfg_fail(ctx, col, "%s = %s is out of range; expected %s", key, v, expected);
    *out = val;
    return 0;
}

int cfg_parse_ms(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, uint64_t max,
                 uint32_t *out)
{
    char expected[96];
    snprintf(expected, sizeof expected, "a duration in 0..%llums (N or Nms for milliseconds, Ns for seconds)",
             (unsigned long long)max);
    size_t i = 0;
    uint64_t val;
    int rc = number_or_fail(ctx, key, v, col, &i, &val, expected);
    if (rc)
        return rc;
    if (!strcmp(v + i, "s")) {
        if (val > UINT64_MAX / 1000)
            return cfg_fail(ctx, col, "%s: %s overflows; expected %s", key, v, expected);
        val *= 1000;
    } else if (v[i] && strcmp(v + i, "ms") != 0) {
        return cfg_fail(ctx, col + (unsigned)i, "%s: unknown time unit '%s'; use ms or s", key, v + i);
    }
    if (val > max)
        return cfg_fail(ctx, col, "%s = %s is out of range; expected %s", key, v, expected);
    *out = (uint32_t)val;
    return 0;
}

int cfg_parse_bool(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col, bool *out)
{
    static const char *const yes[] = { "on", "true", "yes", "1" };
    static const char *const no[] = { "off", "false", "no", "0" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return cfg_fail(ctx, col, "%s: '%s' is not a boolean; use on or off (or true/false, yes/no, 1/0)", key, v);
}

int cfg_parse_block_size(const struct cfg_ctx *ctx, const char *key, const char *v, unsigned col,
                         uint32_t *out)
{
    uint64_t val;
    int rc = cfg_parse_size(ctx, key, v, col, 1, UINT32_MAX, &val);
    if (rc)
        return rc;
    if (val != 512 && val != 4096)
        return cfg_fail(ctx, col, "%s %s is not supported; use 512 or 4096", key, v);
    *out = (uint32_t)val;
    return 0;
}

void cfg_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char suffixes[] = "PTGMK";
    for (int s = 0; s < 5; s++) {
        unsigned shift = 10u * (unsigned)(5 - s);
        uint64_t unit = 1ull << shift;
        if (bytes && bytes % unit == 0) {
            snprintf(buf, len, "%llu%c", (unsigned long long)(bytes >> shift), suffixes[s]);
            return;
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long)bytes);
}
