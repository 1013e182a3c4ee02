/* cli/main.c — `scsisim`: one command, subcommands in a table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const struct cli_command *const commands[] = {
    &cli_cmd_bench,
    &cli_cmd_config,
    &cli_cmd_run,
    &cli_cmd_controller,
    &cli_cmd_serve,
    &cli_cmd_import,
    &cli_cmd_export,
    &cli_cmd_ctl,
    &cli_cmd_campaign,
    &cli_cmd_shrink,
    NULL,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: scsisim [--help] [--version] <command> [args]\n"
            "\n"
            "scsisim is a userspace SCSI target simulator and protocol conformance harness.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; commands[i]; i++)
        fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'scsisim <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("scsisim %s\n", SCSISIM_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; commands[i]; i++)
        if (!strcmp(cmd, commands[i]->name))
            return commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "scsisim: unknown command '%s'; 'scsisim --help' lists the commands\n", cmd);
    return CLI_EXIT_USAGE;
}
