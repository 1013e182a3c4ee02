/* cli/firmware_opt.c — choosing a firmware plug-in from the command line
 * (see cli/firmware_opt.h). */
#include "cli/firmware_opt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/config/config.h"
#include "sim/fw/fw.h"

int cli_firmware_default(const char *cmd, const char *path)
{
    if (!path)
        return CLI_EXIT_OK;
    char abs[PATH_MAX];
    /* A path that does not resolve is kept as given: the check then says why. */
    const char *use = realpath(path, abs) ? abs : path;
    if (sim_config_set_firmware_default(use)) {
        fprintf(stderr, "scsisim %s: out of memory\n", cmd);
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}

int cli_firmware_prescan(const char *cmd, int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (!strncmp(a, "--firmware=", 11))
            path = a + 11;
        else if (!strcmp(a, "--firmware") && i + 1 < argc)
            path = argv[++i];
    }
    return cli_firmware_default(cmd, path);
}

int cli_firmware_check(const char *cmd, const struct sim_config *cfg)
{
    if (!cfg->firmware || !cfg->firmware[0])
        return CLI_EXIT_OK;
    char err[1024] = "";
    int rc = fw_plugin_check(cfg->firmware, err, sizeof err);
    if (rc == -ENOMEM) {
        fprintf(stderr, "scsisim %s: out of memory\n", cmd);
        return CLI_EXIT_INTERNAL;
    }
    if (rc < 0) {
        fprintf(stderr, "scsisim %s: --firmware: %s\n", cmd, err);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}
