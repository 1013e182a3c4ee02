/* cli/cmd_config.c — `scsisim config`: load, check and print a controller
 * configuration, the way every other subcommand will build one. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "sim/config/config.h"

static const char usage_text[] =
    "usage: scsisim config [--set KEY=VALUE | --drive T:L,KEY=VALUE,...]... [FILE]\n"
    "\n"
    "Builds a controller configuration - the defaults, then FILE, then each --set and\n"
    "--drive in the order given - checks it, and prints the effective configuration\n"
    "in the file format (which loads back to the same configuration).\n"
    "\n"
    "  --set KEY=VALUE            set a controller key, e.g. --set max-targets=32\n"
    "  --drive T:L[,KEY=VALUE]... define or change drive T:L, e.g.\n"
    "                             --drive 1:0,capacity=1G,block-size=4096,battery=good\n"
    "  -h, --help                 this text\n"
    "\n"
    "The first drive defined (in FILE or by --drive) replaces the default drive 0:0.\n"
    "Keys, values and the file format: docs/config.md.\n"
    "\n"
    "Exit status: 0 printed; 2 bad option, file or value (\"FILE:LINE:COL: error: ...\"\n"
    "on stderr); 3 the output could not be written.\n";

static int run(int argc, char **argv)
{
    struct sim_config cfg;
    int rc = cli_config_from_args("config", usage_text, argc, argv, NULL, &cfg);
    if (rc == CLI_HELP_SHOWN)
        return CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    if (sim_config_print(&cfg, stdout)) {
        perror("scsisim config: writing the configuration");
        rc = CLI_EXIT_INTERNAL;
    }
    sim_config_free(&cfg);
    return rc;
}

const struct cli_command cli_cmd_config = {
    .name = "config",
    .summary = "load, check and print a controller configuration",
    .run = run,
};
