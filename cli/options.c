/* cli/options.c — building a controller configuration from the command line
 * (see cli/options.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"

struct setting {
    const char *flag; /* "--set" or "--drive" */
    const char *arg;
};

/* "--name X", "--name=X"; returns the value ("" when missing) or NULL when
 * argv[*i] is another option (and advances *i past a separate value). */
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

static int apply_setting(const char *cmd, struct sim_config *cfg, const struct setting *s)
{
    struct located_error err;
    const char *prefix = strcmp(s->flag, "--drive") ? "" : "drive=";
    size_t plen = strlen(prefix);
    char *text = malloc(plen + strlen(s->arg) + 1);
    if (!text) {
        fprintf(stderr, "scsisim %s: out of memory\n", cmd);
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
    fprintf(stderr, "scsisim %s: %s %s: column %u: error: %s\n", cmd, s->flag, s->arg, col, err.message);
    return CLI_EXIT_USAGE;
}

/* Whether argv[*i] is one of the command's own options; if so *rc says
 * whether it was usable. */
static bool own_option(const char *cmd, int argc, char **argv, int *i, const struct cli_opt *opts, int *rc)
{
    *rc = CLI_EXIT_OK;
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        if (o->flag) {
            if (strcmp(argv[*i], o->name) == 0) {
                *o->flag = true;
                return true;
            }
            continue;
        }
        const char *v = flag_value(argc, argv, i, o->name);
        if (!v)
            continue;
        if (!*v) {
            fprintf(stderr, "scsisim %s: %s needs a value, e.g. %s\n", cmd, o->name, o->example);
            *rc = CLI_EXIT_USAGE;
        }
        *o->value = v;
        return true;
    }
    return false;
}

static int build(const char *cmd, const char *file, const struct setting *settings, size_t n, struct sim_config *cfg)
{
    struct located_error err;
    char msg[sizeof err.file + sizeof err.message + 64];
    int rc = CLI_EXIT_OK;
    if (file && sim_config_load_file(cfg, file, &err)) {
        located_format(&err, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        rc = CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < n && rc == CLI_EXIT_OK; i++)
        rc = apply_setting(cmd, cfg, &settings[i]);
    if (rc == CLI_EXIT_OK && sim_config_validate(cfg, &err)) {
        located_format(&err, msg, sizeof msg);
        fprintf(stderr, "scsisim %s: %s\n", cmd, msg);
        rc = CLI_EXIT_USAGE;
    }
    return rc;
}

int cli_config_from_args(const char *cmd, const char *usage, int argc, char **argv, const struct cli_opt *opts,
                         struct sim_config *cfg)
{
    sim_config_init(cfg);
    struct setting *settings = calloc((size_t)argc, sizeof *settings);
    if (!settings) {
        fprintf(stderr, "scsisim %s: out of memory\n", cmd);
        sim_config_free(cfg);
        return CLI_EXIT_INTERNAL;
    }
    size_t nsettings = 0;
    const char *file = NULL;
    int rc = CLI_EXIT_OK;
    bool options_done = false;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char *a = argv[i], *v;
        if (!options_done && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            fputs(usage, stdout);
            rc = CLI_HELP_SHOWN;
        } else if (!options_done && !strcmp(a, "--")) {
            options_done = true;
        } else if (!options_done && ((v = flag_value(argc, argv, &i, "--set")) ||
                                     (v = flag_value(argc, argv, &i, "--drive")))) {
            const char *flag = strncmp(a, "--set", 5) ? "--drive" : "--set";
            if (!*v) {
                fprintf(stderr, "scsisim %s: %s needs a value%s\n", cmd, flag,
                        strcmp(flag, "--set") ? ", e.g. --drive 1:0,capacity=1G" : ", e.g. --set max-targets=32");
                rc = CLI_EXIT_USAGE;
            }
            settings[nsettings++] = (struct setting){ flag, v };
        } else if (!options_done && a[0] == '-' && a[1] && own_option(cmd, argc, argv, &i, opts, &rc)) {
            /* taken (or its error printed) */
        } else if (!options_done && a[0] == '-' && a[1]) {
            fprintf(stderr, "scsisim %s: unknown option '%s'; 'scsisim %s --help' lists the options\n", cmd, a, cmd);
            rc = CLI_EXIT_USAGE;
        } else if (file) {
            fprintf(stderr, "scsisim %s: one FILE at most ('%s' and '%s' given)\n", cmd, file, a);
            rc = CLI_EXIT_USAGE;
        } else {
            file = a;
        }
    }
    if (rc == CLI_EXIT_OK)
        rc = build(cmd, file, settings, nsettings, cfg);
    free(settings);
    if (rc != CLI_EXIT_OK)
        sim_config_free(cfg);
    return rc;
}

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "scsisim %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; 'scsisim %s --help' shows the usage\n", cmd);
    return CLI_EXIT_USAGE;
}
