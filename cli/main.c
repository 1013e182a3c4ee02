/* cli/main.c — `scsisim`: one command, subcommands in a table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* Started with descriptor 0, 1 or 2 closed (`<&-`, some service managers),
 * the next open(2) would take it: a media file, journal or battery copy on 1
 * or 2 would receive every message printed, one on 0 would be a descriptor
 * the store's checks must treat as valid.  /dev/null stands in for each
 * closed one, so no file scsisim opens is ever 0, 1 or 2. */
static int std_fds_open(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);   /* the lowest free: fd itself */
        if (n != fd)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (std_fds_open() < 0)
        return CLI_EXIT_INTERNAL;   /* /dev/null would not open: no stderr to say it on */
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
