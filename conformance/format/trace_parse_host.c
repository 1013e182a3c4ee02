/* conformance/format/trace_parse_host.c — @host lines: the host platform under the
 * driver (where the OS places DMA mappings and whether it splits them, in
 * the words of osal_user_options; the deadlines it gives the driver core, in
 * those of drv_core_options).  Each key once over all @host lines; every
 * value checked where it is written. */
#include "conformance/format/trace_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conformance/format/trace_names.h"
#include "hw/hba.h"

#define HOST_PAGE 4096ull

/* "on"/"off" (and the other spellings docs/config.md accepts). */
static int host_bool(struct tp *p, const struct tp_tok *key, const struct tp_tok *val, bool *out)
{
    static const char *const yes[] = { "on", "true", "yes", "1" };
    static const char *const no[] = { "off", "false", "no", "0" };
    char v[16], k[TRACE_NAME_MAX + 1], shown[48];
    tp_tok_str(key, k, sizeof k);
    if (val->len < sizeof v) {
        tp_tok_str(val, v, sizeof v);
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
    }
    return tp_fail(p, val->col, "%s: '%s' is not a boolean; use %s=on or %s=off", k,
                   tp_tok_str(val, shown, sizeof shown), k, k);
}

/* An IOVA: decimal or 0x hex, optionally with a binary suffix K, M, G, T or
 * P; a multiple of 4 KiB (the IOMMU's page) and at least `min`. */
static int host_address(struct tp *p, const struct tp_tok *key, const struct tp_tok *val, uint64_t min,
                        uint64_t *out)
{
    char k[TRACE_NAME_MAX + 1], shown[48];
    tp_tok_str(key, k, sizeof k);
    struct tp_tok num = *val;
    uint64_t mult = 1;
    bool hex = val->len > 2 && val->s[0] == '0' && (val->s[1] == 'x' || val->s[1] == 'X');
    if (!hex && num.len > 1) {
        static const char letters[] = "KMGTP";
        const char *at = memchr(letters, val->s[val->len - 1] & ~0x20, sizeof letters - 1);
        if (at) {
            mult = 1ull << (10 * (at - letters + 1));
            num.len--;
        }
    }
    uint64_t v;
    if (num.len == 0)
        return tp_fail(p, val->col, "%s needs an address (e.g. %s=0x100000000 or %s=4G)", k, k, k);
    if (tp_u64(p, &num, k, UINT64_MAX, &v))
        return -EINVAL;
    if (v > UINT64_MAX / mult)
        return tp_fail(p, val->col, "%s %s does not fit in 64 bits", k, tp_tok_str(val, shown, sizeof shown));
    v *= mult;
    if (v % HOST_PAGE)
        return tp_fail(p, val->col, "%s %s is not a multiple of 4 KiB (the IOMMU page); use e.g. 0x%llx",
                       k, tp_tok_str(val, shown, sizeof shown), (unsigned long long)(v & ~(HOST_PAGE - 1)) + HOST_PAGE);
    if (v < min)
        return tp_fail(p, val->col, "%s %s is too low; at least 0x%llx (IOVA page 0 is never handed out)", k,
                       tp_tok_str(val, shown, sizeof shown), (unsigned long long)min);
    *out = v;
    return 0;
}

/* A driver deadline: N or Nms (milliseconds) or Ns (seconds), 1 ms to 600 s. */
static int host_ms(struct tp *p, const struct tp_tok *key, const struct tp_tok *val, uint32_t *out)
{
    char k[TRACE_NAME_MAX + 1], shown[48];
    tp_tok_str(key, k, sizeof k);
    struct tp_tok num = *val;
    uint64_t mult = 1;
    if (num.len > 2 && !memcmp(num.s + num.len - 2, "ms", 2)) {
        num.len -= 2;
    } else if (num.len > 1 && num.s[num.len - 1] == 's') {
        num.len--;
        mult = 1000;
    }
    uint64_t v;
    if (tp_u64(p, &num, k, 600000, &v))
        return -EINVAL;
    v *= mult;
    if (v == 0 || v > 600000)
        return tp_fail(p, val->col, "%s %s is out of range; give 1ms to 600s (e.g. %s=50ms)", k,
                       tp_tok_str(val, shown, sizeof shown), k);
    *out = (uint32_t)v;
    return 0;
}

/* Interrupt coalescing: THRESHOLD (1..255 completions) or THRESHOLD/TIME
 * (TIME with its unit, us, ms or s, up to the datasheet's 24-bit
 * microseconds), as HBA_COALESCE(threshold, time_us). */
static int host_coalescing(struct tp *p, const struct tp_tok *key, const struct tp_tok *val, uint32_t *out)
{
    char k[TRACE_NAME_MAX + 1], shown[48];
    tp_tok_str(key, k, sizeof k);
    struct tp_tok num = *val, tim = { 0 };
    const char *slash = memchr(val->s, '/', val->len);
    if (slash) {
        num.len = (size_t)(slash - val->s);
        tim.s = slash + 1;
        tim.len = val->len - num.len - 1;
        tim.col = val->col + (unsigned)num.len + 1;
    }
    uint64_t threshold, us = 0;
    if (num.len == 0)
        return tp_fail(p, val->col, "%s needs a completion count (e.g. %s=8 or %s=8/200us)", k, k, k);
    if (tp_u64(p, &num, k, HBA_COALESCE_THRESHOLD_MAX, &threshold))
        return -EINVAL;
    if (threshold == 0)
        return tp_fail(p, val->col, "%s threshold 0: give 1 to %u completions (leave the key out for no "
                       "coalescing)", k, HBA_COALESCE_THRESHOLD_MAX);
    if (slash) {
        uint64_t mult = 0;
        if (tim.len > 2 && !memcmp(tim.s + tim.len - 2, "us", 2))
            mult = 1, tim.len -= 2;
        else if (tim.len > 2 && !memcmp(tim.s + tim.len - 2, "ms", 2))
            mult = 1000, tim.len -= 2;
        else if (tim.len > 1 && tim.s[tim.len - 1] == 's')
            mult = 1000000, tim.len--;
        if (!mult)
            return tp_fail(p, tim.col, "%s time needs its unit: us, ms or s (e.g. %s=8/200us)", k, k);
        if (tp_u64(p, &tim, k, HBA_COALESCE_TIME_US_MAX, &us))
            return -EINVAL;
        us *= mult;
        if (us == 0 || us > HBA_COALESCE_TIME_US_MAX)
            return tp_fail(p, tim.col, "%s time %s is out of range; give 1us to %uus", k,
                           tp_tok_str(val, shown, sizeof shown), HBA_COALESCE_TIME_US_MAX);
    }
    *out = HBA_COALESCE(threshold, us);
    return 0;
}

static int host_setting(struct tp *p, const struct tp_tok *tok, const struct tp_tok *key, const struct tp_tok *val)
{
    char shown[48], list[240];
    struct trace_host *h = &p->t->host;
    int k = trace_words_find(&trace_host_key_words, key->s, key->len);
    if (k < 0) {
        const char *near = trace_words_suggest(&trace_host_key_words, key->s, key->len);
        if (near)
            return tp_fail(p, key->col, "unknown @host key '%s'; did you mean '%s'?",
                           tp_tok_str(key, shown, sizeof shown), near);
        return tp_fail(p, key->col, "unknown @host key '%s'; expected %s", tp_tok_str(key, shown, sizeof shown),
                       trace_words_list(&trace_host_key_words, list, sizeof list));
    }
    char mark[TRACE_NAME_MAX + 4];
    snprintf(mark, sizeof mark, "h:%s", trace_word(&trace_host_key_words, (unsigned)k));
    size_t first;
    if (trace_map_get(&p->marks, mark, &first))
        return tp_fail(p, tok->col, "@host key '%s' is already set at line %zu",
                       trace_word(&trace_host_key_words, (unsigned)k), first);
    if (trace_map_set(&p->marks, mark, p->lineno))
        return tp_fail(p, tok->col, "out of memory");
    if (val->len == 0)
        return tp_fail(p, val->col, "'%s' needs a value", trace_word(&trace_host_key_words, (unsigned)k));
    switch ((enum trace_host_key)k) {
    case TRACE_HOST_IOVA_BASE:
        if (host_address(p, key, val, HOST_PAGE, &h->iova_base))
            return -EINVAL;
        break;
    case TRACE_HOST_IOVA_LIMIT:
        if (host_address(p, key, val, 2 * HOST_PAGE, &h->iova_limit))
            return -EINVAL;
        break;
    case TRACE_HOST_LOW_WINDOW:
        if (host_bool(p, key, val, &h->low_window))
            return -EINVAL;
        break;
    case TRACE_HOST_SCATTER:
        if (host_bool(p, key, val, &h->scatter))
            return -EINVAL;
        break;
    case TRACE_HOST_REVERSE_DIRECTIONS:
        if (host_bool(p, key, val, &h->reverse_directions))
            return -EINVAL;
        break;
    case TRACE_HOST_COMMAND_TIMEOUT:
        if (host_ms(p, key, val, &h->command_timeout_ms))
            return -EINVAL;
        break;
    case TRACE_HOST_ABORT_GRACE:
        if (host_ms(p, key, val, &h->abort_grace_ms))
            return -EINVAL;
        break;
    case TRACE_HOST_ADMIN_TIMEOUT:
        if (host_ms(p, key, val, &h->admin_timeout_ms))
            return -EINVAL;
        break;
    case TRACE_HOST_HEARTBEAT_STALL:
        if (host_ms(p, key, val, &h->heartbeat_stall_ms))
            return -EINVAL;
        break;
    case TRACE_HOST_COALESCING:
        if (host_coalescing(p, key, val, &h->coalescing))
            return -EINVAL;
        break;
    case TRACE_HOST_QUEUE_DEPTH: {
        uint64_t v;
        if (tp_u64(p, val, "queue-depth", 4096, &v))
            return -EINVAL;
        if (v == 0)
            return tp_fail(p, val->col, "queue-depth 0: give 1 to 4096 entries per I/O queue (the core and "
                                        "the controller's CAP_QUEUES may allow fewer)");
        h->queue_depth = (uint32_t)v;
        break;
    }
    default:
        return -EINVAL;
    }
    h->given[k] = true;
    /* The high window [iova-base, iova-limit) must hold something. */
    if ((k == TRACE_HOST_IOVA_BASE || k == TRACE_HOST_IOVA_LIMIT) && h->given[TRACE_HOST_IOVA_LIMIT]) {
        uint64_t base = h->given[TRACE_HOST_IOVA_BASE] ? h->iova_base : HOST_PAGE;
        if (h->iova_limit <= base)
            return tp_fail(p, val->col, "iova-limit 0x%llx is not above iova-base 0x%llx: the IOVA window "
                           "[iova-base, iova-limit) would be empty", (unsigned long long)h->iova_limit,
                           (unsigned long long)base);
    }
    return 0;
}

int tp_device_host(struct tp *p, struct trace_line *line)
{
    struct trace_device *dev = &line->device;
    struct tp_tok tok, key, val;
    char shown[48];
    size_t cap = 0;
    int got;
    while ((got = tp_next(p, &tok)) == 1) {
        if (!tp_split_kv(&tok, &key, &val) || key.len == 0)
            return tp_fail(p, tok.col, "expected KEY=VALUE (e.g. iova-base=0x100000000), found '%s'",
                           tp_tok_str(&tok, shown, sizeof shown));
        if (host_setting(p, &tok, &key, &val))
            return -EINVAL;
        if (tp_add_setting(p, dev, &cap, &tok, &key, &val))
            return -EINVAL;
    }
    if (got < 0)
        return got;
    if (dev->n_settings == 0)
        return tp_fail(p, tp_end_col(p), "@host needs KEY=VALUE settings (e.g. @host iova-base=0x100000000 "
                       "scatter=on)");
    return 0;
}
