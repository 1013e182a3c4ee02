/* cli/cmd_config.c — `scsisim config`: load, check and print a controller
 * configuration, the way every other subcommand will build one. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "sim/config.h"

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

struct setting {
    const char *flag; /* "--set" or "--drive" */
    const char *arg;
};

/* "--set X", "--set=X"; returns the value or NULL (and advances *i). */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

static int apply_setting(struct sim_config *cfg, const struct setting *s)
{
    struct sim_config_error err;
    const char *prefix = strcmp(s->flag, "--drive") ? "" : "drive=";
    size_t plen = strlen(prefix);
    char *text = malloc(plen + strlen(s->arg) + 1);
    if (!text) {
        fprintf(stderr, "scsisim config: out of memory\n");
        return CLI_EXIT_INTERNAL;
    }
    memcpy(text, prefix, plen);
    strcpy(text + plen, s->arg);
    int rc = sim_config_apply_option(cfg, text, &err);
    free(text);
    if (rc == 0)
        return CLI_EXIT_OK;
    /* Columns count in the argument as the user typed it. */
    unsigned col = err.column > plen ? err.column - (unsigned)plen : 1;
    fprintf(stderr, "scsisim config: %s %s: column %u: error: %s\n", s->flag, s->arg, col, err.message);
    return CLI_EXIT_USAGE;
}

static int run(int argc, char **argv)
{
    struct setting *settings = calloc((size_t)argc, sizeof *settings);
    if (!settings) {
        fprintf(stderr, "scsisim config: out of memory\n");
        return CLI_EXIT_INTERNAL;
    }
    size_t nsettings = 0;
    const char *file = NULL;
    int rc = CLI_EXIT_OK;
    bool options_done = false;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char *a = argv[i], *v;
        if (!options_done && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            fputs(usage_text, stdout);
            free(settings);
            return CLI_EXIT_OK;
        } else if (!options_done && !strcmp(a, "--")) {
            options_done = true;
        } else if (!options_done && ((v = flag_value(argc, argv, &i, "--set")) ||
                                     (v = flag_value(argc, argv, &i, "--drive")))) {
            const char *flag = strncmp(a, "--set", 5) ? "--drive" : "--set";
            if (!*v) {
                fprintf(stderr, "scsisim config: %s needs a value%s\n", flag,
                        strcmp(flag, "--set") ? ", e.g. --drive 1:0,capacity=1G" : ", e.g. --set max-targets=32");
                rc = CLI_EXIT_USAGE;
            }
            settings[nsettings++] = (struct setting){ flag, v };
        } else if (!options_done && a[0] == '-' && a[1]) {
            fprintf(stderr, "scsisim config: unknown option '%s'; 'scsisim config --help' lists the options\n", a);
            rc = CLI_EXIT_USAGE;
        } else if (file) {
            fprintf(stderr, "scsisim config: one FILE at most ('%s' and '%s' given)\n", file, a);
            rc = CLI_EXIT_USAGE;
        } else {
            file = a;
        }
    }
    if (rc != CLI_EXIT_OK) {
        free(settings);
        return rc;
    }

    struct sim_config cfg;
    struct sim_config_error err;
    char msg[sizeof err.file + sizeof err.message + 64];
    sim_config_init(&cfg);
    if (file && sim_config_load_file(&cfg, file, &err)) {
        sim_config_format_error(&err, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        rc = CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < nsettings && rc == CLI_EXIT_OK; i++)
        rc = apply_setting(&cfg, &settings[i]);
    if (rc == CLI_EXIT_OK && sim_config_validate(&cfg, &err)) {
        sim_config_format_error(&err, msg, sizeof msg);
        fprintf(stderr, "scsisim config: %s\n", msg);
        rc = CLI_EXIT_USAGE;
    }
    if (rc == CLI_EXIT_OK && sim_config_print(&cfg, stdout)) {
        perror("scsisim config: writing the configuration");
        rc = CLI_EXIT_INTERNAL;
    }
    sim_config_free(&cfg);
    free(settings);
    return rc;
}

const struct cli_command cli_cmd_config = {
    .name = "config",
    .summary = "load, check and print a controller configuration",
    .run = run,
};
