/* cli/commands.h — every subcommand the scsisim command knows; each is defined
 * in its own cli/cmd_*.c and listed in cli/main.c's table. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "cli/cli.h"

extern const struct cli_command cli_cmd_bench;
extern const struct cli_command cli_cmd_config;
extern const struct cli_command cli_cmd_run;
extern const struct cli_command cli_cmd_controller;
extern const struct cli_command cli_cmd_serve;
extern const struct cli_command cli_cmd_import;
extern const struct cli_command cli_cmd_export;
extern const struct cli_command cli_cmd_ctl;
extern const struct cli_command cli_cmd_campaign;
extern const struct cli_command cli_cmd_shrink;

#endif
