/* cli/options.h — the command line every subcommand that builds a controller
 * configuration shares: `[--set KEY=VALUE | --drive T:L,...]... [FILE]`,
 * plus each command's own options.  docs/config.md describes the settings. */
#ifndef CLI_OPTIONS_H
#define CLI_OPTIONS_H

#include <stdbool.h>

#include "sim/config/config.h"

/* One of a command's own options: with `value` it takes a value ("--socket
 * PATH" or "--socket=PATH"), with `flag` it is a switch.  Lists end with a
 * NULL name. */
struct cli_opt {
    const char *name;
    const char **value;
    bool *flag;
    const char *example; /* shown when the value is missing, e.g. "--socket /tmp/ctrl.sock" */
};

#define CLI_HELP_SHOWN (-1)

/* Parses argv[1..] of subcommand `cmd`: -h / --help (prints usage on stdout
 * and returns CLI_HELP_SHOWN), --set, --drive, opts, `--`, and at most one
 * FILE; then builds the configuration (defaults, FILE, each setting in the
 * order given) and validates it.  Returns CLI_EXIT_OK with *cfg built (the
 * caller frees it with sim_config_free), or CLI_EXIT_USAGE / CLI_EXIT_INTERNAL
 * after printing what was wrong ("scsisim CMD: ...") on stderr (*cfg is then
 * freed). */
int cli_config_from_args(const char *cmd, const char *usage, int argc, char **argv, const struct cli_opt *opts,
                         struct sim_config *cfg);

#endif
