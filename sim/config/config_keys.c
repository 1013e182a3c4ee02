/* sim/config/config_keys.c — the table of configuration keys and what it takes to
 * set and print each one.  Adding a field to struct sim_config or struct
 * sim_lu_config means adding a row here (and to docs/config.md). */
#include "sim/config/config_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CTRL(name, type, field, min, max, help) \
    { name, CFG_CONTROLLER, type, offsetof(struct sim_config, field), 0, min, max, 0, help, false }
#define CTRL_TRUSTED(name, type, field, min, max, help) \
    { name, CFG_CONTROLLER, type, offsetof(struct sim_config, field), 0, min, max, 0, help, true }
#define CTRL_ALIGNED(name, type, field, min, max, align, help) \
    { name, CFG_CONTROLLER, type, offsetof(struct sim_config, field), 0, min, max, align, help, false }
#define DRIVE(name, type, field, min, max, help) \
    { name, CFG_DRIVE, type, offsetof(struct sim_lu_config, field), 0, min, max, 0, help, false }
#define DRIVE_TEXT(name, field, help) \
    { name, CFG_DRIVE, CFG_TEXT, offsetof(struct sim_lu_config, field), \
      sizeof(((struct sim_lu_config *)0)->field), 0, 0, 0, help, false }

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

const struct cfg_key cfg_keys[] = {
    CTRL("max-targets", CFG_U32, max_targets, 1, SIM_MAX_TARGETS_LIMIT, "targets (CAP_TARGETS)"),
    CTRL("max-luns", CFG_U32, max_luns, 1, SIM_MAX_LUNS_LIMIT, "LUNs per target (CAP_TARGETS)"),
    CTRL("max-io-queues", CFG_U32, max_io_queues, 1, HBA_MAX_QUEUES - 1, "I/O queue pairs (CAP_QUEUES)"),
    CTRL("max-queue-entries", CFG_U32, max_queue_entries, 2, 4096, "entries per queue (CAP_QUEUES)"),
    CTRL("vectors", CFG_U32, vectors, 1, HBA_MAX_VECTORS, "interrupt vectors (CAP_QUEUES)"),
    CTRL("max-sges", CFG_U32, max_sges, 1, 0xFFFF, "DATA SGEs per command (CAP_SGL)"),
    CTRL("max-sgl-depth", CFG_U32, max_sgl_depth, 0, 0xFF, "segment lists per command (CAP_SGL)"),
    CTRL("addr-bits", CFG_U32, addr_bits, 32, 64, "DMA address lines (CAP_SGL)"),
    CTRL("max-xfer", CFG_SIZE32, max_xfer, 4 * KiB, UINT32_MAX, "bytes per command (CAP_MAX_XFER)"),
    CTRL("target-ports", CFG_U32, target_ports, 1, HBA_MAX_TARGET_PORTS,
         "target ports (multipath): one target port group each, REPORT TARGET PORT GROUPS"),
    CTRL("iommu-policy", CFG_POLICY, iommu_policy, 0, 0, "what an IOMMU fault does"),
    CTRL_ALIGNED("host-ram", CFG_SIZE64, host_ram_bytes, 1 * MiB, 1 * TiB, HBA_IOMMU_PAGE_SIZE,
                 "shared host RAM pool"),
    CTRL("poll", CFG_BOOL, poll, 0, 0, "firmware busy-polls instead of parking"),
    CTRL("reorder", CFG_BOOL, reorder, 0, 0, "completions posted in a seeded random order"),
    CTRL("init-time", CFG_MS, init_ms, 0, 60000, "time in state RESET after power on"),
    CTRL("firmware-tick", CFG_MS, tick_ms, 1, 60000,
         "the firmware's own timer: how long it sleeps when no doorbell and no deadline wakes it"),
    CTRL("seed", CFG_U64, seed, 0, UINT64_MAX, "seed of every random choice"),
    CTRL_TRUSTED("media-dir", CFG_PATH, media_dir, 0, 0, "directory media names resolve under"),
    CTRL_TRUSTED("media-max", CFG_SIZE64, media_max, 1 * MiB, UINT64_MAX, "largest file media"),
    CTRL_TRUSTED("media-force", CFG_BOOL, media_force, 0, 0, "use existing files that are not media of ours"),
    CTRL_TRUSTED("firmware", CFG_PATH, firmware, 0, 0, "firmware plug-in: a shared object (docs/firmware-plugins.md)"),

    DRIVE("block-size", CFG_BLOCK_SIZE, block_size, 512, 4096, "logical block size"),
    DRIVE("capacity", CFG_CAPACITY, blocks, 1, UINT64_MAX, "capacity in bytes"),
    DRIVE("blocks", CFG_BLOCKS, blocks, 1, UINT64_MAX, "capacity in logical blocks"),
    DRIVE_TEXT("vendor", vendor, "INQUIRY T10 vendor identification"),
    DRIVE_TEXT("product", product, "INQUIRY product identification"),
    DRIVE_TEXT("revision", revision, "INQUIRY product revision level"),
    DRIVE_TEXT("serial", serial, "unit serial number (VPD 80h)"),
    DRIVE("write-cache", CFG_BOOL, write_cache, 0, 0, "write-back cache enabled (WCE)"),
    DRIVE("battery", CFG_BATTERY, battery, 0, 0, "cache battery"),
    DRIVE("ready-time", CFG_MS, ready_ms, 0, 600000, "NOT READY this long after power on"),
    DRIVE("sanitize-time", CFG_MS, sanitize_ms, 0, 600000, "how long a SANITIZE runs (progress in sense meanwhile)"),
    DRIVE("write-protect", CFG_BOOL, write_protect, 0, 0, "writes fail with DATA PROTECT"),
    DRIVE("physical-block-size", CFG_U32, physical_block_size, 0, 4096,
          "physical block size reported (0: the logical block size)"),
    DRIVE("thin", CFG_BOOL, thin, 0, 0, "thin provisioned: UNMAP, WRITE SAME with UNMAP, GET LBA STATUS"),
    DRIVE("queue-depth", CFG_U32, queue_depth, 0, 65535, "task set size: TASK SET FULL beyond it (0: no limit)"),
    DRIVE("media", CFG_MEDIA, media_path, 0, 0, "sparse media file under the media directory"),
    DRIVE("removable", CFG_BOOL, removable, 0, 0,
          "removable medium: PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT LOEJ eject and load"),
    DRIVE("protection", CFG_PROTECTION, protection, 0, 3,
          "protection information format: off, type1, type2 or type3 (T10-DIF tuple per block)"),
    DRIVE("cache-size", CFG_SIZE64, cache_bytes, 4 * KiB, 1 * TiB, "write-back cache capacity"),
};
const size_t cfg_key_count = sizeof cfg_keys / sizeof cfg_keys[0];
_Static_assert(sizeof cfg_keys / sizeof cfg_keys[0] <= CFG_KEYS_MAX, "raise CFG_KEYS_MAX");

#define PATH_MAX_LEN 4095u

const struct cfg_key *cfg_key_find(enum cfg_scope scope, const char *name)
{
    for (size_t i = 0; i < cfg_key_count; i++)
        if (cfg_keys[i].scope == scope && !strcmp(cfg_keys[i].name, name))
            return &cfg_keys[i];
    return NULL;
}

unsigned cfg_edit_distance(const char *a, const char *b)
{
    /* Two rows of the Levenshtein matrix; inputs are short (keys, section names). */
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXLEN || lb > MAXLEN)
        return (unsigned)(la > lb ? la : lb);
    unsigned prev[MAXLEN + 1], cur[MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

const struct cfg_key *cfg_key_suggest(enum cfg_scope scope, const char *name)
{
    const struct cfg_key *best = NULL;
    unsigned best_d = 0;
    for (size_t i = 0; i < cfg_key_count; i++) {
        if (cfg_keys[i].scope != scope)
            continue;
        unsigned d = cfg_edit_distance(name, cfg_keys[i].name);
        if (!best || d < best_d) {
            best = &cfg_keys[i];
            best_d = d;
        }
    }
    /* Close enough to be a typo: two edits, or a third of a longer key. */
    size_t len = strlen(name);
    unsigned limit = len >= 9 ? (unsigned)(len / 3) : 2;
    return best && best_d <= limit && best_d < len ? best : NULL;
}

const char *cfg_policy_name(enum hba_iommu_policy p)
{
    switch (p) {
    case HBA_IOMMU_POLICY_ABORT: return "abort";
    case HBA_IOMMU_POLICY_DROP:  return "drop";
    case HBA_IOMMU_POLICY_FATAL: return "fatal";
    }
    return "?";
}

const char *cfg_battery_name(enum hba_battery b)
{
    switch (b) {
    case HBA_BATTERY_ABSENT: return "absent";
    case HBA_BATTERY_GOOD:   return "good";
    case HBA_BATTERY_FAILED: return "failed";
    }
    return "?";
}

/* The protection key's values, indexed by the type (0 = none). */
static const char *const protection_names[] = { "off", "type1", "type2", "type3" };

const char *cfg_protection_name(unsigned type)
{
    return type < 4 ? protection_names[type] : "?";
}

static int set_protection(const struct cfg_ctx *ctx, const struct cfg_key *k, uint8_t *field, const char *v,
                          unsigned col)
{
    for (unsigned i = 0; i < 4; i++) {
        if (!strcasecmp(v, protection_names[i])) {
            *field = (uint8_t)i;
            return 0;
        }
    }
    return cfg_fail(ctx, col, "%s: '%s' is not a protection format; use off, type1, type2 or type3", k->name, v);
}

static int set_text(const struct cfg_ctx *ctx, const struct cfg_key *k, char *field, const char *v,
                    unsigned col)
{
    size_t len = strlen(v);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 || ch > 0x7E)
            return cfg_fail(ctx, col + (unsigned)i,
                            "%s: character 0x%02X is not printable ASCII; SCSI text fields allow only "
                            "' ' to '~'",
                            k->name, ch);
    }
    if (len >= k->size)
        return cfg_fail(ctx, col, "%s '%s' is %zu characters; at most %zu fit (%s): shorten it", k->name, v, len,
                        k->size - 1, k->help);
    memcpy(field, v, len + 1);
    return 0;
}

static int set_path(const struct cfg_ctx *ctx, const struct cfg_key *k, char **field, const char *v,
                    unsigned col)
{
    size_t len = strlen(v);
    if (len > PATH_MAX_LEN)
        return cfg_fail(ctx, col, "%s: the path is %zu bytes; at most %u fit", k->name, len, PATH_MAX_LEN);
    char *copy = NULL;
    if (len) {
        copy = strdup(v);
        if (!copy)
            return cfg_fail_rc(ctx, -ENOMEM, col, "%s: out of memory", k->name);
    }
    free(*field);
    *field = copy;
    return 0;
}

static int set_enum(const struct cfg_ctx *ctx, const struct cfg_key *k, int *field, const char *v, unsigned col)
{
    /* Both enums are 0, 1, 2. */
    for (int i = 0; i < 3; i++) {
        const char *name = k->type == CFG_POLICY ? cfg_policy_name((enum hba_iommu_policy)i)
                                                 : cfg_battery_name((enum hba_battery)i);
        if (!strcasecmp(v, name)) {
            *field = i;
            return 0;
        }
    }
    if (k->type == CFG_POLICY)
        return cfg_fail(ctx, col, "%s: '%s' is not a policy; use abort, drop or fatal", k->name, v);
    return cfg_fail(ctx, col, "%s: '%s' is not a battery state; use absent, good or failed", k->name, v);
}

int cfg_key_set(const struct cfg_ctx *ctx, const struct cfg_key *k, void *base, const char *v, unsigned col)
{
    char *field = (char *)base + k->offset;
    uint64_t u;
    if (k->trusted && ctx->untrusted)
        return cfg_fail(ctx, col, "%s can be set only by a configuration file or the command line, not by a "
                        "trace (%s)", k->name, !strcmp(k->name, "firmware")
                        ? "a plug-in is code the user chooses to run: --firmware PATH.so"
                        : "media files are the user's to place: --media-dir, --media-max, --force");
    switch (k->type) {
    case CFG_U32:
    case CFG_SIZE32: {
        int rc = k->type == CFG_U32 ? cfg_parse_uint(ctx, k->name, v, col, k->min, k->max, &u)
                                    : cfg_parse_size(ctx, k->name, v, col, k->min, k->max, &u);
        if (rc)
            return rc;
        uint32_t u32 = (uint32_t)u;
        memcpy(field, &u32, sizeof u32);
        return 0;
    }
    case CFG_U64:
    case CFG_SIZE64: {
        int rc = k->type == CFG_U64 ? cfg_parse_uint(ctx, k->name, v, col, k->min, k->max, &u)
                                    : cfg_parse_size(ctx, k->name, v, col, k->min, k->max, &u);
        if (rc)
            return rc;
        if (k->align && u % k->align) {
            char a[32];
            cfg_format_size(k->align, a, sizeof a);
            return cfg_fail(ctx, col, "%s = %s is not a multiple of %s; round it to one (e.g. 256M)", k->name, v, a);
        }
        memcpy(field, &u, sizeof u);
        return 0;
    }
    case CFG_BOOL:
        return cfg_parse_bool(ctx, k->name, v, col, (bool *)field);
    case CFG_MS:
        return cfg_parse_ms(ctx, k->name, v, col, k->max, (uint32_t *)field);
    case CFG_POLICY:
    case CFG_BATTERY: {
        int val;
        int rc = set_enum(ctx, k, &val, v, col);
        if (rc)
            return rc;
        if (k->type == CFG_POLICY)
            *(enum hba_iommu_policy *)field = (enum hba_iommu_policy)val;
        else
            *(enum hba_battery *)field = (enum hba_battery)val;
        return 0;
    }
    case CFG_PROTECTION:
        return set_protection(ctx, k, (uint8_t *)field, v, col);
    case CFG_TEXT:
        return set_text(ctx, k, field, v, col);
    case CFG_MEDIA:
    case CFG_PATH:
        return set_path(ctx, k, (char **)field, v, col);
    case CFG_BLOCK_SIZE:
        return cfg_parse_block_size(ctx, k->name, v, col, (uint32_t *)field);
    case CFG_CAPACITY:
    case CFG_BLOCKS:
        break; /* resolved with block-size by the drive parser */
    }
    return cfg_fail(ctx, col, "%s: internal error: key type %d has no setter", k->name, (int)k->type);
}

/* Quotes text for the file format: "..." with \" and \\ escaped. */
static void quote(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    if (len < 3) {
        if (len)
            buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    for (; s && *s && o + 3 < len; s++) {
        if (*s == '"' || *s == '\\')
            buf[o++] = '\\';
        buf[o++] = *s;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

void cfg_key_format(const struct cfg_key *k, const void *base, char *buf, size_t len)
{
    const char *field = (const char *)base + k->offset;
    uint32_t u32;
    uint64_t u64;
    switch (k->type) {
    case CFG_U32:
    case CFG_BLOCK_SIZE:
        memcpy(&u32, field, sizeof u32);
        snprintf(buf, len, "%u", u32);
        return;
    case CFG_SIZE32:
        memcpy(&u32, field, sizeof u32);
        cfg_format_size(u32, buf, len);
        return;
    case CFG_U64:
    case CFG_BLOCKS:
        memcpy(&u64, field, sizeof u64);
        snprintf(buf, len, "%llu", (unsigned long long)u64);
        return;
    case CFG_SIZE64:
        memcpy(&u64, field, sizeof u64);
        cfg_format_size(u64, buf, len);
        return;
    case CFG_CAPACITY: {
        const struct sim_lu_config *lu = base;
        cfg_format_size(lu->blocks * lu->block_size, buf, len);
        return;
    }
    case CFG_BOOL:
        snprintf(buf, len, "%s", *(const bool *)field ? "on" : "off");
        return;
    case CFG_MS:
        memcpy(&u32, field, sizeof u32);
        snprintf(buf, len, "%ums", u32);
        return;
    case CFG_POLICY:
        snprintf(buf, len, "%s", cfg_policy_name(*(const enum hba_iommu_policy *)field));
        return;
    case CFG_BATTERY:
        snprintf(buf, len, "%s", cfg_battery_name(*(const enum hba_battery *)field));
        return;
    case CFG_PROTECTION:
        snprintf(buf, len, "%s", cfg_protection_name(*(const uint8_t *)field));
        return;
    case CFG_TEXT:
        quote(field, buf, len);
        return;
    case CFG_PATH:
    case CFG_MEDIA:
        quote(*(char *const *)field, buf, len);
        return;
    }
    snprintf(buf, len, "?");
}
