/* sim/config/config_firmware.c — the command line's firmware plug-in, the
 * default of every configuration built after it is set (a run's traces get it
 * this way; a trace itself may never name one: config_keys.c, "trusted"). */
#include "sim/config/config_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Set once at start-up by the command line, before any thread reads it. */
static char *default_firmware;

int sim_config_set_firmware_default(const char *path)
{
    char *copy = path && *path ? strdup(path) : NULL;
    if (path && *path && !copy)
        return -ENOMEM;
    free(default_firmware);
    default_firmware = copy;
    return 0;
}

void cfg_firmware_defaults(struct sim_config *cfg)
{
    cfg->firmware = default_firmware ? strdup(default_firmware) : NULL;
}
