/* cli/cli.h — the scsisim command's subcommand table.  Each subcommand lives in
 * its own cli/cmd_*.c and exports one struct cli_command. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

struct cli_command {
    const char *name;
    const char *summary;              /* one line for `scsisim --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name; returns the exit code */
};

/* Exit codes shared by every subcommand (docs/scsisim.md). */
enum cli_exit {
    CLI_EXIT_OK       = 0,
    CLI_EXIT_FAILURE  = 1, /* the job ran and found failures */
    CLI_EXIT_USAGE    = 2, /* unusable input: bad option, bad file */
    CLI_EXIT_INTERNAL = 3, /* could not run (system error) */
};

/* "scsisim CMD: <fmt with arg>" and where the usage is, on stderr; returns
 * CLI_EXIT_USAGE.  The one way a subcommand refuses a bad option. */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);

#endif
