/* sim/config/config_print.c — writes a configuration in the file format, every key
 * with its effective value, so that loading the output gives the same
 * configuration back. */
#include "sim/config/config_internal.h"

#include <errno.h>
#include <string.h>

static void print_keys(enum cfg_scope scope, const void *base, FILE *out)
{
    char value[2 * 4096 + 8];
    for (size_t i = 0; i < cfg_key_count; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        /* blocks is printed as capacity; a drive without media prints none. */
        if (k->scope != scope || k->type == CFG_BLOCKS)
            continue;
        if ((k->type == CFG_PATH || k->type == CFG_MEDIA) && !*(char *const *)((const char *)base + k->offset))
            continue;
        cfg_key_format(k, base, value, sizeof value);
        fprintf(out, "%-18s = %s\n", k->name, value);
    }
}

int sim_config_print(const struct sim_config *cfg, FILE *out)
{
    fprintf(out, "# scsisim configuration (docs/config.md)\n[controller]\n");
    print_keys(CFG_CONTROLLER, cfg, out);
    for (const char *f = cfg->faults; f && *f;) {
        size_t n = strcspn(f, "\n");
        fprintf(out, "%-18s = %.*s\n", "fault", (int)n, f);
        f += n + (f[n] == '\n');
    }
    for (size_t i = 0; i < cfg->lu_count; i++) {
        fprintf(out, "\n[drive %u:%u]\n", cfg->lus[i].target, cfg->lus[i].lun);
        print_keys(CFG_DRIVE, &cfg->lus[i], out);
    }
    if (fflush(out) == EOF || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}
