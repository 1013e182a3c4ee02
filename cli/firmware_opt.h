/* cli/firmware_opt.h — `--firmware PATH.so` for run, serve, controller and
 * bench: a firmware plug-in (sim/fw/fw_plugin_abi.h, docs/firmware-plugins.md)
 * every controller the command builds loads, in whichever process runs the
 * controller.  The path becomes the default of every configuration (a run's
 * traces get it; a trace itself can never name one), and is loaded and
 * checked once before anything starts, so a bad plug-in is one clear error
 * and exit 2. */
#ifndef CLI_FIRMWARE_OPT_H
#define CLI_FIRMWARE_OPT_H

struct sim_config;

/* The row of a command's cli_opt list (cli/options.h). */
#define CLI_FIRMWARE_OPT(v) { .name = "--firmware", .value = &(v), .example = "--firmware ./myfw.so" }

/* The lines the option adds to a command's --help. */
#define CLI_FIRMWARE_HELP                                                                          \
    "  --firmware PATH.so         load a firmware plug-in into the controller: its\n"             \
    "                             commands (vendor-unique ones too), VPD and mode\n"              \
    "                             pages come before the built-in firmware's\n"                    \
    "                             (docs/firmware-plugins.md); also firmware = PATH\n"             \
    "                             in [controller]\n"

/* Makes path (made absolute, so that a controller process elsewhere finds it)
 * the default of every configuration; NULL: nothing.  CLI_EXIT_OK, or
 * CLI_EXIT_INTERNAL after printing why (out of memory). */
int cli_firmware_default(const char *cmd, const char *path);
/* Scans argv for --firmware PATH / --firmware=PATH (before the configuration
 * is built) and makes it the default. */
int cli_firmware_prescan(const char *cmd, int argc, char **argv);
/* Loads and checks cfg's plug-in, if it names one.  CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing "scsisim CMD: --firmware: why". */
int cli_firmware_check(const char *cmd, const struct sim_config *cfg);

#endif
