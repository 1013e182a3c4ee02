/* cli/media_opts.c — see media_opts.h. */
#include "cli/media_opts.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/config/config.h"

int cli_media_set_defaults(const char *cmd, const struct cli_media *m)
{
    uint64_t max = 0;
    if (m->max) {
        /* Parsed by the configuration's own size rules, for the same messages. */
        struct sim_config scratch;
        sim_config_init(&scratch);
        char setting[128];
        struct located_error err;
        snprintf(setting, sizeof setting, "media-max=%s", m->max);
        int rc = sim_config_apply_option(&scratch, setting, &err);
        max = scratch.media_max;
        sim_config_free(&scratch);
        if (rc) {
            fprintf(stderr, "scsisim %s: --media-max %s: %s\n", cmd, m->max, err.message);
            return CLI_EXIT_USAGE;
        }
    }
    if (sim_config_set_media_defaults(m->dir, max, m->force)) {
        fprintf(stderr, "scsisim %s: out of memory\n", cmd);
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}

int cli_media_prescan(const char *cmd, int argc, char **argv)
{
    struct cli_media m = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        const char **slot = !strncmp(a, "--media-dir", 11) ? &m.dir : !strncmp(a, "--media-max", 11) ? &m.max : NULL;
        if (!strcmp(a, "--force"))
            m.force = true;
        else if (slot && a[11] == '=')
            *slot = a + 12;
        else if (slot && !a[11] && i + 1 < argc)
            *slot = argv[++i];
    }
    return cli_media_set_defaults(cmd, &m);
}
