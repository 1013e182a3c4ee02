/* cli/media_opts.h — --media-dir DIR, --media-max SIZE and --force, shared by
 * run, serve and controller: where media files of drives live and what may be
 * done to files already there (sim/store/media_file.h, docs/config.md
 * "Media files"). */
#ifndef CLI_MEDIA_OPTS_H
#define CLI_MEDIA_OPTS_H

#include <stdbool.h>

struct cli_media {
    const char *dir;   /* NULL: not given */
    const char *max;   /* a size, e.g. 16T; NULL: not given */
    bool force;
};

/* The three rows of a command's cli_opt list (cli/options.h). */
#define CLI_MEDIA_OPTS(m)                                                                          \
    { .name = "--media-dir", .value = &(m).dir, .example = "--media-dir /var/lib/scsisim" },       \
    { .name = "--media-max", .value = &(m).max, .example = "--media-max 16T" },                   \
    { .name = "--force", .flag = &(m).force }

/* The lines the three options add to a command's --help. */
#define CLI_MEDIA_HELP                                                                                   \
    "  --media-dir DIR            media=NAME files live under DIR (default: a private\n"                 \
    "                             temporary directory, removed at exit); a name\n"                      \
    "                             leaving DIR (absolute, '..', a symlink) is refused\n"                 \
    "  --media-max SIZE           largest file media (default 4T)\n"                                    \
    "  --force                    use an existing file that scsisim did not create\n"

/* Scans argv for the three options (before the configuration is built, so a
 * drive's media name is checked against the directory where it is set) and
 * makes them the defaults of every configuration.  CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing "scsisim CMD: ..." (a bad size). */
int cli_media_prescan(const char *cmd, int argc, char **argv);
/* Makes m the defaults of every configuration (run sets them this way). */
int cli_media_set_defaults(const char *cmd, const struct cli_media *m);

#endif
