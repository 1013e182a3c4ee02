/* sim/config/config.c — configuration defaults, the drive list, copying and the
 * cross-field checks.  Parsing is in config_parse.c, printing in
 * config_print.c, the key table in config_keys.c. */
#include "sim/config/config_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sim_lu_config_init(struct sim_lu_config *lu, uint16_t target, uint16_t lun)
{
    memset(lu, 0, sizeof *lu);
    lu->target = target;
    lu->lun = lun;
    lu->block_size = 512;
    lu->blocks = (512ull << 20) / lu->block_size;
    snprintf(lu->vendor, sizeof lu->vendor, "%s", "SCSISIM");
    snprintf(lu->product, sizeof lu->product, "%s", "SIM DISK");
    snprintf(lu->revision, sizeof lu->revision, "%s", "0001");
    lu->write_cache = true;
    lu->battery = HBA_BATTERY_ABSENT;
    lu->ready_ms = 0;
    lu->write_protect = false;
    lu->media_path = NULL;
    lu->cache_bytes = 16ull << 20;
}

void sim_config_init(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_targets = 16;
    cfg->max_luns = 8;
    cfg->max_io_queues = 8;
    cfg->max_queue_entries = 1024;
    cfg->vectors = 9;
    cfg->max_sges = 128;
    cfg->max_sgl_depth = 8;
    cfg->addr_bits = 64;
    cfg->max_xfer = 512u << 10;
    cfg->target_ports = 1;
    cfg->iommu_policy = HBA_IOMMU_POLICY_ABORT;
    cfg->host_ram_bytes = 256ull << 20;
    cfg->poll = false;
    cfg->reorder = true;
    cfg->init_ms = 20;
    cfg->tick_ms = HBA_HEARTBEAT_PERIOD_MS;
    cfg->seed = 1;
    cfg_media_defaults(cfg);
    cfg_firmware_defaults(cfg);
    /* If this one small allocation fails the configuration has no drive, which
     * is still a valid controller (every LUN answers "not supported"). */
    if (sim_config_lu(cfg, 0, 0))
        cfg->lus_are_default = true;
}

static void free_lus(struct sim_lu_config *lus, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lus[i].media_path);
    free(lus);
}

void sim_config_free(struct sim_config *cfg)
{
    if (!cfg)
        return;
    free_lus(cfg->lus, cfg->lu_count);
    cfg->lus = NULL;
    cfg->lu_count = 0;
    cfg->lus_are_default = false;
    free(cfg->media_dir);
    cfg->media_dir = NULL;
    free(cfg->firmware);
    cfg->firmware = NULL;
    free(cfg->faults);
    cfg->faults = NULL;
}

const struct sim_lu_config *sim_config_find_lu(const struct sim_config *cfg, uint16_t target, uint16_t lun)
{
    for (size_t i = 0; i < cfg->lu_count; i++)
        if (cfg->lus[i].target == target && cfg->lus[i].lun == lun)
            return &cfg->lus[i];
    return NULL;
}

struct sim_lu_config *sim_config_lu(struct sim_config *cfg, uint16_t target, uint16_t lun)
{
    const struct sim_lu_config *found = sim_config_find_lu(cfg, target, lun);
    if (found)
        return (struct sim_lu_config *)found;
    struct sim_lu_config *grown = realloc(cfg->lus, (cfg->lu_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    cfg->lus = grown;
    struct sim_lu_config *lu = &cfg->lus[cfg->lu_count++];
    sim_lu_config_init(lu, target, lun);
    cfg->lus_are_default = false;
    return lu;
}

void sim_config_clear_lus(struct sim_config *cfg)
{
    free_lus(cfg->lus, cfg->lu_count);
    cfg->lus = NULL;
    cfg->lu_count = 0;
    cfg->lus_are_default = false;
}

int sim_config_copy(struct sim_config *dst, const struct sim_config *src)
{
    *dst = *src;
    dst->lus = NULL;
    dst->lu_count = 0;
    dst->media_dir = NULL;
    dst->faults = NULL;
    dst->firmware = NULL;
    if (src->media_dir && !(dst->media_dir = strdup(src->media_dir)))
        return -ENOMEM;
    if (src->firmware && !(dst->firmware = strdup(src->firmware)))
        return -ENOMEM;
    if (src->faults && !(dst->faults = strdup(src->faults)))
        return -ENOMEM;
    if (!src->lu_count)
        return 0;
    dst->lus = calloc(src->lu_count, sizeof *dst->lus);
    if (!dst->lus)
        return -ENOMEM;
    for (size_t i = 0; i < src->lu_count; i++) {
        dst->lus[i] = src->lus[i];
        dst->lus[i].media_path = NULL;
        if (src->lus[i].media_path && !(dst->lus[i].media_path = strdup(src->lus[i].media_path))) {
            free_lus(dst->lus, i);
            dst->lus = NULL;
            dst->lu_count = 0;
            return -ENOMEM;
        }
        dst->lu_count = i + 1;
    }
    return 0;
}

/* --- validation ---------------------------------------------------------------- */

static int check_key(const struct cfg_ctx *ctx, const struct cfg_key *k, const void *base, const char *where)
{
    const char *field = (const char *)base + k->offset;
    uint64_t v = 0;
    uint32_t u32;
    switch (k->type) {
    case CFG_U32:
    case CFG_SIZE32:
    case CFG_MS:
        memcpy(&u32, field, sizeof u32);
        v = u32;
        break;
    case CFG_U64:
    case CFG_SIZE64:
        memcpy(&v, field, sizeof v);
        break;
    case CFG_POLICY: {
        int p = (int)*(const enum hba_iommu_policy *)field;
        if (p < HBA_IOMMU_POLICY_ABORT || p > HBA_IOMMU_POLICY_FATAL)
            return cfg_fail(ctx, 0, "%s%s = %d is not a policy; use abort, drop or fatal", where, k->name, p);
        return 0;
    }
    case CFG_BATTERY: {
        int b = (int)*(const enum hba_battery *)field;
        if (b < HBA_BATTERY_ABSENT || b > HBA_BATTERY_FAILED)
            return cfg_fail(ctx, 0, "%s%s = %d is not a battery state; use absent, good or failed", where,
                            k->name, b);
        return 0;
    }
    case CFG_PROTECTION:
        if (*(const uint8_t *)field > 3)
            return cfg_fail(ctx, 0, "%s%s = %u is not a protection format; use off, type1, type2 or type3",
                            where, k->name, *(const uint8_t *)field);
        return 0;
    case CFG_TEXT: {
        const char *nul = memchr(field, '\0', k->size);
        if (!nul)
            return cfg_fail(ctx, 0, "%s%s is not terminated within %zu characters", where, k->name,
                            k->size - 1);
        for (const char *c = field; c < nul; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7E)
                return cfg_fail(ctx, 0, "%s%s holds byte 0x%02X; only printable ASCII is allowed", where,
                                k->name, (unsigned char)*c);
        return 0;
    }
    case CFG_BOOL:
    case CFG_PATH:
    case CFG_MEDIA:
    case CFG_BLOCK_SIZE:
    case CFG_CAPACITY:
    case CFG_BLOCKS:
        return 0; /* no range, or checked with the drive */
    }
    if (v < k->min || v > k->max)
        return cfg_fail(ctx, 0, "%s%s = %llu is out of range; expected %llu..%llu", where, k->name,
                        (unsigned long long)v, (unsigned long long)k->min, (unsigned long long)k->max);
    if (k->align && v % k->align)
        return cfg_fail(ctx, 0, "%s%s = %llu is not a multiple of %llu", where, k->name, (unsigned long long)v,
                        (unsigned long long)k->align);
    return 0;
}

static int check_drive(const struct cfg_ctx *ctx, const struct sim_config *cfg, size_t idx)
{
    const struct sim_lu_config *lu = &cfg->lus[idx];
    char where[40];
    snprintf(where, sizeof where, "drive %u:%u: ", lu->target, lu->lun);
    if (lu->target >= cfg->max_targets)
        return cfg_fail(ctx, 0, "%starget %u is outside max-targets = %u (targets 0..%u); raise max-targets "
                        "or renumber the drive", where, lu->target, cfg->max_targets, cfg->max_targets - 1);
    if (lu->lun >= cfg->max_luns)
        return cfg_fail(ctx, 0, "%sLUN %u is outside max-luns = %u (LUNs 0..%u); raise max-luns or renumber "
                        "the drive", where, lu->lun, cfg->max_luns, cfg->max_luns - 1);
    for (size_t j = 0; j < idx; j++)
        if (cfg->lus[j].target == lu->target && cfg->lus[j].lun == lu->lun)
            return cfg_fail(ctx, 0, "%sdefined twice; each target:lun may appear once", where);
    if (lu->block_size != 512 && lu->block_size != 4096)
        return cfg_fail(ctx, 0, "%sblock-size %u is not supported; use 512 or 4096", where, lu->block_size);
    if (lu->physical_block_size &&
        ((lu->physical_block_size != 512 && lu->physical_block_size != 4096) ||
         lu->physical_block_size < lu->block_size))
        return cfg_fail(ctx, 0, "%sphysical-block-size %u is not supported with block-size %u; use 0, or 512 "
                        "or 4096 and at least the block size", where, lu->physical_block_size, lu->block_size);
    if (lu->blocks == 0)
        return cfg_fail(ctx, 0, "%scapacity is 0; a drive needs at least one block", where);
    if (lu->blocks > UINT64_MAX / lu->block_size)
        return cfg_fail(ctx, 0, "%s%llu blocks of %u bytes overflow 64 bits of bytes", where,
                        (unsigned long long)lu->blocks, lu->block_size);
    for (size_t i = 0; i < cfg_key_count; i++) {
        int rc = cfg_keys[i].scope == CFG_DRIVE ? check_key(ctx, &cfg_keys[i], lu, where) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

int sim_config_validate(const struct sim_config *cfg, struct located_error *err)
{
    struct cfg_ctx ctx = { .err = err, .file = "", .line = 0 };
    for (size_t i = 0; i < cfg_key_count; i++) {
        int rc = cfg_keys[i].scope == CFG_CONTROLLER ? check_key(&ctx, &cfg_keys[i], cfg, "") : 0;
        if (rc)
            return rc;
    }
    if (cfg->lu_count && !cfg->lus)
        return cfg_fail(&ctx, 0, "lu_count is %zu but the drive list is missing", cfg->lu_count);
    for (size_t i = 0; i < cfg->lu_count; i++) {
        int rc = check_drive(&ctx, cfg, i);
        if (rc)
            return rc;
    }
    return 0;
}
