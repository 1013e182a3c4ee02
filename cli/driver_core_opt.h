/* cli/driver_core_opt.h — `--driver-core PATH.so` (and $SCSISIM_DRIVER_CORE,
 * and run's --mutant NAME) for the commands that run a driver core: run,
 * serve, bench.  The core is loaded once and becomes the process's default
 * (stack/driver_core.h); every stack the command opens runs it. */
#ifndef CLI_DRIVER_CORE_OPT_H
#define CLI_DRIVER_CORE_OPT_H

#include <stdbool.h>

/* The environment variable that names a default driver core. */
#define CLI_DRIVER_CORE_ENV "SCSISIM_DRIVER_CORE"

/* Loads path (NULL: $SCSISIM_DRIVER_CORE when set, else nothing to do) and
 * makes it the default.  CLI_EXIT_OK, or CLI_EXIT_USAGE after printing
 * "scsisim CMD: --driver-core PATH: what is wrong" on stderr. */
int cli_driver_core_use(const char *cmd, const char *path);
/* The path of mutant NAME's core, next to this executable:
 * DIR/mutants/core-NAME.so (malloc'd; NULL on ENOMEM). */
char *cli_mutant_core_path(const char *name);
/* With a loaded core: brings a controller of the default configuration up
 * with it, in this process, and stops it again, so that a core that cannot
 * start is one clear error (exit 2), not a failure per trace.  CLI_EXIT_OK,
 * or CLI_EXIT_USAGE after printing why. */
int cli_driver_core_preflight(const char *cmd);

#endif
