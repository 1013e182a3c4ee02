/* sim/config/config_media.c — media names in a configuration: their checks
 * when set, the process's media defaults, and the resolved copy a controller
 * is built from (the rules are in sim/store/media_file.h). */
#include "sim/config/config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "sim/store/media_file.h"

/* Set once at start-up by the command line, before any thread reads them. */
static struct {
    char    *dir;
    uint64_t max;
    bool     force;
} defaults = { NULL, SIM_MEDIA_MAX_DEFAULT, false };

int sim_config_set_media_defaults(const char *dir, uint64_t max, bool force)
{
    char *copy = dir && *dir ? strdup(dir) : NULL;
    if (dir && *dir && !copy)
        return -ENOMEM;
    free(defaults.dir);
    defaults.dir = copy;
    defaults.max = max ? max : SIM_MEDIA_MAX_DEFAULT;
    defaults.force = force;
    return 0;
}

void cfg_media_defaults(struct sim_config *cfg)
{
    cfg->media_dir = defaults.dir ? strdup(defaults.dir) : NULL;
    cfg->media_max = defaults.max;
    cfg->media_force = defaults.force;
}

int cfg_media_check(const struct cfg_ctx *ctx, const struct sim_config *cfg, const char *v, unsigned col)
{
    char why[512];
    size_t at;
    if (!*v)
        return 0; /* "" = memory media */
    if (sim_media_name_check(v, &at, why, sizeof why))
        return cfg_fail(ctx, col + (unsigned)at, "media: %s", why);
    /* The private default directory is new and empty: nothing to look at. */
    if (cfg->media_dir && *cfg->media_dir) {
        int rc = sim_media_inspect(cfg->media_dir, v, false, why, sizeof why);
        /* With media-force an unmarked file is for the drive to take when it
         * starts; a directory not made yet is checked then too. */
        if (rc && !(rc == -EPERM && cfg->media_force) && rc != -ENOENT)
            return cfg_fail(ctx, col, "%s", why);
    }
    return 0;
}

int sim_config_media_prepare(const struct sim_config *cfg, struct sim_config *out, char *err, size_t errlen)
{
    int rc = sim_config_copy(out, cfg);
    if (rc) {
        errf(err, errlen, "out of memory copying the configuration");
        return rc;
    }
    char dir[PATH_MAX] = "", why[512];
    for (size_t i = 0; i < out->lu_count; i++) {
        struct sim_lu_config *lu = &out->lus[i];
        if (!lu->media_path)
            continue;
        size_t at;
        uint64_t bytes = lu->blocks * lu->block_size; /* validated: no overflow */
        if (sim_media_name_check(lu->media_path, &at, why, sizeof why))
            rc = -EINVAL;
        else if (bytes > cfg->media_max) {
            char have[32], max[32];
            cfg_format_size(bytes, have, sizeof have);
            cfg_format_size(cfg->media_max, max, sizeof max);
            errf(why, sizeof why, "media '%s': %s of file media is above media-max = %s; raise it with "
                 "--media-max SIZE (or media-max in [controller]) if you mean it", lu->media_path, have, max);
            rc = -EFBIG;
        } else if (!dir[0])
            rc = sim_media_dir_resolve(cfg->media_dir, dir, sizeof dir, why, sizeof why);
        if (rc == 0)
            rc = sim_media_inspect(dir, lu->media_path, cfg->media_force, why, sizeof why);
        char *full = NULL;
        if (rc == 0 && asprintf(&full, "%s/%s", dir, lu->media_path) < 0) {
            errf(why, sizeof why, "out of memory");
            rc = -ENOMEM;
        }
        if (rc) {
            errf(err, errlen, "drive %u:%u: %s", lu->target, lu->lun, why);
            sim_config_free(out);
            return rc;
        }
        free(lu->media_path);
        lu->media_path = full;
    }
    return 0;
}
