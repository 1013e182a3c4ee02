/* cli/cmd_run.c — `scsisim run`: replay traces (the bundled suite by
 * default) against the embedded simulator through the driver core (or a
 * real target: --target, conformance/remote/), and report: text, TAP, JUnit XML, JSON.  Exit 0 all passed, 1 failures,
 * 2 unusable input, 3 could not run. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/media_opts.h"
#include "cli/driver_core_opt.h"
#include "cli/firmware_opt.h"
#include "cli/run_isolated.h"
#include "cli/run_leaks.h"
#include "cli/run_files.h"
#include "conformance/remote/remote.h"
#include "conformance/replay/replay.h"
#include "conformance/report/report.h"
#include "sim/config/config.h"
#include "sim/store/media_file.h"
#include "stack/driver_core.h"

static const char usage_text[] =
    "usage: scsisim run [OPTIONS] [PATH...]\n"
    "\n"
    "Replays scsitrace files against the embedded simulator, through the real driver\n"
    "core (or, with --target, against a real target), and reports every divergence.\n"
    "A PATH is a trace file or a folder (searched recursively for *.trace).  Without\n"
    "a PATH: the bundled suite, found in $SCSISIM_TRACES, else ../traces next to the\n"
    "executable (build/scsisim -> traces/), else ../share/scsisim/traces (installed).\n"
    "\n"
    "  --filter GLOB     only traces whose path or file name matches GLOB ('f1-*')\n"
    "  --jobs N, -j N    replay N traces at a time (default: 4 per online CPU, at\n"
    "                    most 64); with N >= 2, up to N more replay only traces\n"
    "                    that wait 0.1 s or more (`wait` lines, @host deadlines)\n"
    "  --no-cpu-pin      let the traces' threads run on any CPU; by default each\n"
    "                    of the N replay slots keeps to one CPU, round-robin, so\n"
    "                    a trace's threads hand commands to each other without\n"
    "                    cross-CPU wake-ups (a third less CPU on this project's\n"
    "                    2-CPU test machine)\n"
    "  --shard I/N       only every N-th trace, starting with the I-th (1 <= I <= N)\n"
    "  --timeout S       time budget of one trace in seconds (default 60)\n"
    "  --driver-timeout MS  the driver core's own command timeout (default 1000)\n"
    "  --two-process     each trace's controller in a process of its own (`scsisim\n"
    "                    controller`, this program or $SCSISIM_BIN), reached over a\n"
    "                    Unix socket; traces with layer-C records or rogue\n"
    "                    directives are skipped\n"
    "  --two-process=SOCKET  every trace against the controller already listening at\n"
    "                    SOCKET (its own configuration; one trace at a time)\n"
    "  --driver-core PATH.so  replay with the driver core loaded from PATH.so\n"
    "                    (core/driver_core_abi.h; default $SCSISIM_DRIVER_CORE, else\n"
    "                    the built-in core); the traces then run in child processes,\n"
    "                    so a core that crashes or hangs fails that trace only\n"
    "  --mutant NAME     run with the driver core built as mutant NAME (F1, F2, ...):\n"
    "                    loads mutants/core-NAME.so next to this executable\n"
    "                    (built by `make mutants`), as --driver-core does\n"
    "  --isolate         the traces in child processes with the built-in core too\n"
    "                    (a loaded core always is): a crash or a hang fails that\n"
    "                    trace only, with the signal or the deadline\n"
    "  --driver PATH     delegate the whole run to another scsisim build at PATH\n"
    "  --firmware PATH.so  every trace's controller loads this firmware plug-in: its\n"
    "                    commands (vendor-unique ones too), VPD and mode pages come\n"
    "                    before the built-in firmware's (docs/firmware-plugins.md);\n"
    "                    a trace can never name one\n"
    "  --media-dir DIR   media=NAME files of the traces' drives live under DIR\n"
    "                    (default: each trace's own directory, removed when it ends,\n"
    "                    in a private temporary one, removed at exit);\n"
    "                    a trace can neither leave DIR nor set media-dir\n"
    "  --media-max SIZE  largest file media a trace's drive may have (default 4T)\n"
    "  --force           let traces use existing files under DIR scsisim did not create\n"
    "  --target URL      replay against a real target instead of the simulator:\n"
    "                    iscsi://HOST[:PORT]/IQN/LUN (libiscsi; one session per\n"
    "                    initiator of the trace) or a SCSI generic device /dev/sgN,\n"
    "                    /dev/bsg/... (sg_pt); one trace at a time.  Traces that need\n"
    "                    what only the simulator can do (power-loss, inject, fault,\n"
    "                    ua, set, stats, check-media, layer C, rogue, reset bus/host,\n"
    "                    query-task, it-nexus-reset) are skipped with the reason\n"
    "  --match LEVEL     how replies are judged: exact (default: every byte the trace\n"
    "                    gives), status (status and sense key/ASC/ASCQ only: data,\n"
    "                    sense=, resid= and xfer= ignored), masks (exact except the\n"
    "                    fields a real device legitimately answers differently:\n"
    "                    INQUIRY vendor, product, revision and serial, VPD 80h/83h,\n"
    "                    the capacity when the trace pins none; docs/replay.md).\n"
    "                    Overrides each trace's own @match line\n"
    "  --standard-only   replay only traces marked `@basis standard` (what SPC-5,\n"
    "                    SBC-4 or SAM-5 require of any device); the others are\n"
    "                    skipped as \"model behaviour (--standard-only)\", never\n"
    "                    passed; a STATUS's standard= answers are judged instead\n"
    "                    of its own, sense= patterns not at all.  For --target\n"
    "                    runs against real devices\n"
    "  --strict          a skipped trace (a feature this target lacks) fails the run\n"
    "                    (exit 1) and is reported as a failure, not as a skip\n"
    "  --tap             TAP version 13 on standard output instead of the text report\n"
    "  --junit FILE      also write JUnit XML to FILE\n"
    "  --json FILE|-     also write JSON to FILE ('-': standard output, no text report)\n"
    "                    (both files are opened before any trace runs: a path that\n"
    "                    cannot be written is exit 2 at once)\n"
    "  -v, --verbose     list every check; the driver's warnings on standard error\n"
    "  -h, --help        this text\n"
    "\n"
    "The trace format: docs/trace-format.md.  What the replay does for each record and\n"
    "directive: docs/replay.md.\n"
    "\n"
    "A skipped trace is never a pass: the summary line counts the skips, and TAP,\n"
    "JUnit and JSON mark them as skips.  A @requires feature this scsisim does not\n"
    "know makes the trace unusable.\n"
    "\n"
    "File descriptors left open fail the run: those open after the last trace has\n"
    "torn down that were not before the first (or open before and closed since)\n"
    "are a failed result \"(run)\" naming each one's target; in the child processes\n"
    "(a loaded core, --isolate) each trace is checked on its own and fails itself.\n"
    "\n"
    "When standard output is not a terminal (CI), each trace's result is written\n"
    "and flushed as the trace finishes, so a run cut short keeps its log so far.\n"
    "\n"
    "Exit status: 0 every trace passed or was skipped (without --strict); 1 a check\n"
    "failed (or, with --strict, a trace was skipped); 2 unusable input (a trace that\n"
    "does not parse, an unknown @requires feature: FILE:LINE:COLUMN, a trace with no\n"
    "records, a folder with no *.trace, a --filter that matches nothing, a bad option\n"
    "or path); 3 the run itself could not be done (a report not written, a --target\n"
    "that does not answer, ...).\n";

struct run_args {
    const char **filters; /* --filter, repeatable: a trace matching any is kept */
    size_t nfilters;
    unsigned jobs;
    unsigned shard_i, shard_n;
    double timeout_s;
    unsigned driver_timeout_ms;
    bool two_process;
    bool isolate;             /* --isolate: traces in child processes with any core */
    const char *socket_path;
    const char *mutant;
    const char *driver_core;
    const char *driver;
    const char *firmware;
    bool tap;
    const char *junit;
    const char *json;
    bool verbose;
    struct cli_media media;
    bool strict;
    bool standard_only;
    bool no_cpu_pin;          /* --no-cpu-pin */
    const char *target;
    enum trace_match_level match;
    bool match_given;
    const char **paths;
    size_t npaths;
};

/* "--opt VALUE" or "--opt=VALUE"; NULL when argv[*i] is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return "";
    }
    return argv[++*i];
}

static bool parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "scsisim run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n'scsisim run --help' lists the options\n");
    return CLI_EXIT_USAGE;
}

/* 0 parsed, or an exit code (help printed: CLI_EXIT_OK + 100). */
static int parse_args(int argc, char **argv, struct run_args *a)
{
    /* A replay mostly waits on the simulated controller's timings (its tick,
     * heartbeats, the driver's deadlines) and keeps about a third of a CPU
     * busy: four traces per CPU keep the CPUs busy (docs/benchmarks.md). */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    a->jobs = ncpu > 0 ? (unsigned)(ncpu < 16 ? 4 * ncpu : 64) : 4;
    a->paths = calloc((size_t)argc, sizeof *a->paths);
    a->filters = calloc((size_t)argc, sizeof *a->filters);
    if (!a->paths || !a->filters)
        return CLI_EXIT_INTERNAL;
    bool only_paths = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        const char *v;
        if (only_paths || arg[0] != '-' || !strcmp(arg, "-")) {
            a->paths[a->npaths++] = arg;
        } else if (!strcmp(arg, "--")) {
            only_paths = true;
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage_text, stdout);
            return CLI_EXIT_OK + 100;
        } else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
            a->verbose = true;
        } else if (!strcmp(arg, "--strict")) {
            a->strict = true;
        } else if (!strcmp(arg, "--isolate")) {
            a->isolate = true;
        } else if (!strcmp(arg, "--standard-only")) {
            a->standard_only = true;
        } else if (!strcmp(arg, "--no-cpu-pin")) {
            a->no_cpu_pin = true;
        } else if (!strcmp(arg, "--tap")) {
            a->tap = true;
        } else if (!strcmp(arg, "--two-process")) {
            a->two_process = true;
        } else if (!strncmp(arg, "--two-process=", 14)) {
            a->two_process = true;
            a->socket_path = arg + 14;
        } else if ((v = opt_value(argc, argv, &i, "--filter", &missing))) {
            if (missing)
                return usage_error("%s needs a glob", arg);
            a->filters[a->nfilters++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--jobs", &missing)) ||
                   (v = opt_value(argc, argv, &i, "-j", &missing)) ||
                   (!strncmp(arg, "-j", 2) && (v = arg + 2))) { /* -j4 */
            if (missing || !parse_uint(v, 1, 1024, &a->jobs))
                return usage_error("--jobs needs a number from 1 to 1024, not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--shard", &missing))) {
            const char *slash = strchr(v, '/');
            char first[32];
            size_t n = slash ? (size_t)(slash - v) : 0;
            if (missing || !slash || n == 0 || n >= sizeof first)
                return usage_error("--shard needs I/N (for example 1/4), not '%s'", v);
            memcpy(first, v, n);
            first[n] = '\0';
            if (!parse_uint(first, 1, 1000000, &a->shard_i) || !parse_uint(slash + 1, 1, 1000000, &a->shard_n) ||
                a->shard_i > a->shard_n)
                return usage_error("--shard needs I/N with 1 <= I <= N, not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--timeout", &missing))) {
            char *end;
            a->timeout_s = strtod(v, &end);
            if (missing || end == v || *end || !(a->timeout_s > 0) || a->timeout_s > 86400)
                return usage_error("--timeout needs seconds (0 < S <= 86400), not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--driver-timeout", &missing))) {
            if (missing || !parse_uint(v, 1, 3600000, &a->driver_timeout_ms))
                return usage_error("--driver-timeout needs milliseconds (1 to 3600000), not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--mutant", &missing))) {
            if (missing || !v[0] || strchr(v, '/'))
                return usage_error("--mutant needs a mutant name (F1, F2, ...), not '%s'", v);
            a->mutant = v;
        } else if ((v = opt_value(argc, argv, &i, "--driver-core", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs the path of a driver core (a .so)", arg);
            a->driver_core = v;
        } else if ((v = opt_value(argc, argv, &i, "--driver", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs the path of a scsisim executable", arg);
            a->driver = v;
        } else if ((v = opt_value(argc, argv, &i, "--firmware", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs the path of a firmware plug-in (a .so)", arg);
            a->firmware = v;
        } else if (!strcmp(arg, "--force")) {
            a->media.force = true;
        } else if ((v = opt_value(argc, argv, &i, "--media-dir", &missing)) ||
                   (v = opt_value(argc, argv, &i, "--media-max", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs a value", !strncmp(arg, "--media-dir", 11) ? "--media-dir" : "--media-max");
            *(!strncmp(arg, "--media-dir", 11) ? &a->media.dir : &a->media.max) = v;
        } else if ((v = opt_value(argc, argv, &i, "--target", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs iscsi://HOST[:PORT]/IQN/LUN or a /dev/sg or /dev/bsg device", arg);
            a->target = v;
        } else if ((v = opt_value(argc, argv, &i, "--match", &missing))) {
            if (missing || trace_match_level_parse(v, &a->match) < 0)
                return usage_error("--match needs exact, status or masks, not '%s'", v);
            a->match_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--junit", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs a file name", arg);
            a->junit = v;
        } else if ((v = opt_value(argc, argv, &i, "--json", &missing))) {
            if (missing || !v[0])
                return usage_error("%s needs a file name or '-'", arg);
            a->json = v;
        } else {
            return usage_error("unknown option '%s'", arg);
        }
    }
    if (a->tap && a->json && !strcmp(a->json, "-"))
        return usage_error("%s", "--tap and --json - both want standard output; give --json a file");
    if (a->target && (a->two_process || a->mutant || a->driver || a->driver_core || a->firmware || a->isolate))
        return usage_error("%s", "--target replays against a real target: --two-process, --mutant, --driver, "
                           "--driver-core, --firmware and --isolate choose parts of the simulator; leave them out");
    if (!!a->mutant + !!a->driver + !!a->driver_core > 1)
        return usage_error("%s", "--mutant, --driver and --driver-core each choose the core to run; give one");
    return 0;
}

/* --driver-core / --mutant / $SCSISIM_DRIVER_CORE: the core this process
 * loads (cli/driver_core_opt.h), checked to start before any trace runs. */
static int run_choose_core(const struct run_args *a)
{
    char *path = NULL;
    if (a->mutant) {
        if (!(path = cli_mutant_core_path(a->mutant)))
            return CLI_EXIT_INTERNAL;
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "scsisim run: no build of mutant '%s' at %s; `make mutants` builds one per mutant "
                    "(see docs/mutants.md)\n", a->mutant, path);
            free(path);
            return CLI_EXIT_USAGE;
        }
    }
    if (a->driver)
        return CLI_EXIT_OK; /* the other build chooses its own */
    int rc = cli_driver_core_use("run", path ? path : a->driver_core);
    free(path); /* stack_driver_core_set_default keeps a copy */
    return rc == CLI_EXIT_OK ? cli_driver_core_preflight("run") : rc;
}

/* --firmware: loaded and checked once here, so that a bad plug-in is one
 * clear error (exit 2) rather than a failure per trace. */
static int run_check_firmware(void)
{
    struct sim_config cfg;
    sim_config_init(&cfg);   /* carries the default just set */
    int rc = cli_firmware_check("run", &cfg);
    sim_config_free(&cfg);
    return rc;
}

/* --driver: the same run, by another build of scsisim. */
static int delegate(const struct run_args *a, int argc, char **argv)
{
    char *exe = strdup(a->driver);
    if (!exe)
        return CLI_EXIT_INTERNAL;
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "scsisim run: --driver %s: not an executable (%s)\n", exe, strerror(errno));
        free(exe);
        return CLI_EXIT_USAGE;
    }
    /* The other build must replay the same suite, wherever it lives. */
    if (!a->npaths && !getenv("SCSISIM_TRACES")) {
        char *suite = run_files_suite_dir(NULL);
        if (suite)
            setenv("SCSISIM_TRACES", suite, 1);
        free(suite);
    }
    char **nargv = calloc((size_t)argc + 2, sizeof *nargv);
    if (!nargv) {
        free(exe);
        return CLI_EXIT_INTERNAL;
    }
    size_t n = 0;
    nargv[n++] = exe;
    nargv[n++] = "run";
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool two = !strcmp(s, "--driver");
        if (two) {
            i++;
            continue;
        }
        if (!strncmp(s, "--driver=", 9))
            continue;
        nargv[n++] = argv[i];
    }
    nargv[n] = NULL;
    fflush(NULL);
    execv(exe, nargv);
    fprintf(stderr, "scsisim run: cannot run %s: %s\n", exe, strerror(errno));
    free(nargv);
    free(exe);
    return CLI_EXIT_INTERNAL;
}

struct progress {
    bool on;                 /* the one-line progress on a terminal's standard error */
    bool stream;             /* the text report, written trace by trace */
    bool failed_io;
    struct report_text_options text;
};

static void show_progress(void *arg, const struct trace_file_result *f, size_t done, size_t total)
{
    struct progress *p = arg;
    if (p->stream && report_text_file(f, stdout, &p->text) < 0)
        p->failed_io = true;
    if (!p->on)
        return;
    const char *mark = f->outcome == TRACE_OUTCOME_PASS ? "" : f->outcome == TRACE_OUTCOME_SKIP ? " skip" : " FAIL";
    fprintf(stderr, "\r\033[K[%zu/%zu]%s %s", done, total, mark, f->path);
    if (f->outcome == TRACE_OUTCOME_FAIL || f->outcome == TRACE_OUTCOME_UNUSABLE)
        fputc('\n', stderr); /* keep failures on screen */
    fflush(stderr);
}

/* --junit / --json FILE: opened before any trace runs, so a path that cannot
 * be written costs nothing but a message (exit 2). */
static FILE *open_report(const char *what, const char *path)
{
    if (!path || !strcmp(path, "-"))
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "scsisim run: cannot write the %s report to %s: %s; give a writable path\n", what, path,
                strerror(errno));
    return f;
}

static int write_report(const char *what, const char *path, FILE *f, const struct trace_run *run,
                        int (*fn)(const struct trace_run *, FILE *))
{
    bool out = !strcmp(path, "-");
    if (out)
        f = stdout;
    int rc = fn(run, f);
    if (out)
        rc = fflush(f) ? -EIO : rc;
    else if (fclose(f) != 0)
        rc = -EIO;
    if (rc < 0)
        fprintf(stderr, "scsisim run: writing the %s report to %s failed\n", what, path);
    return rc;
}

/* Fails early and clearly when the chosen stack mode cannot be built. */
static int check_mode(const struct replay_options *o)
{
    if (o->mode == STACK_IN_PROCESS)
        return 0;
    struct sim_config cfg;
    sim_config_init(&cfg);
    struct stack_options so;
    stack_options_init(&so);
    so.mode = o->mode;
    so.socket_path = o->socket_path;
    so.spawn = !o->socket_path;
    so.scsisim_bin = o->scsisim_bin;
    if (o->socket_path)
        so.connect_timeout_ms = 1000; /* a controller the user started listens already */
    so.osal.log_level = OSAL_LOG_ERROR;
    struct stack *st = NULL;
    char err[256] = "";
    int rc = stack_open(&cfg, &so, &st, err, sizeof err);
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "scsisim run: --two-process: %s\n", err);
        return -1;
    }
    stack_close(st);
    return 0;
}

static void args_free(struct run_args *a)
{
    free(a->paths);
    free(a->filters);
    a->paths = NULL;
    a->filters = NULL;
}

static int run(int argc, char **argv)
{
    struct run_args a = { 0 };
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        args_free(&a);
        return rc == CLI_EXIT_OK + 100 ? CLI_EXIT_OK : rc;
    }
    if ((rc = cli_media_set_defaults("run", &a.media)) != CLI_EXIT_OK) {
        args_free(&a);
        return rc;
    }
    /* Shard children (cli/run_isolated.c) leave with _exit: without
     * --media-dir the private media directory is made here, in the parent,
     * so that they share it and the parent removes it at its exit (made in a
     * child, one was left behind per child).  Should it fail, the drives
     * that need it say so, trace by trace. */
    char media_dir[PATH_MAX], media_why[256];
    if (!a.media.dir)
        (void)sim_media_dir_resolve(NULL, media_dir, sizeof media_dir, media_why, sizeof media_why);
    if ((rc = cli_firmware_default("run", a.firmware)) != CLI_EXIT_OK ||
        (a.firmware && (rc = run_check_firmware()) != CLI_EXIT_OK)) {
        args_free(&a);
        return rc;
    }
    if (a.target) {
        char err[512];
        if (remote_target_check(a.target, err, sizeof err) < 0) {
            fprintf(stderr, "scsisim run: %s\n", err);
            args_free(&a);
            return CLI_EXIT_USAGE;
        }
        if (remote_preflight(a.target, err, sizeof err) < 0) {
            fprintf(stderr, "scsisim run: --target %s: %s\n", a.target, err);
            args_free(&a);
            return CLI_EXIT_INTERNAL;
        }
        a.jobs = 1; /* one real target, whose state the traces share */
    }
    if ((rc = run_choose_core(&a)) != CLI_EXIT_OK) {
        args_free(&a);
        return rc;
    }
    if (a.driver) {
        rc = delegate(&a, argc, argv);
        args_free(&a);
        return rc;
    }

    struct run_files files = { 0 };
    if (a.npaths == 0) {
        char *tried = NULL;
        char *suite = run_files_suite_dir(&tried);
        if (!suite) {
            fprintf(stderr, "scsisim run: the bundled trace suite was not found (looked in %s); give a PATH or set "
                    "SCSISIM_TRACES\n", tried ? tried : "nowhere");
            free(tried);
            args_free(&a);
            return CLI_EXIT_USAGE;
        }
        free(tried);
        rc = run_files_add(&files, suite);
        free(suite);
    } else {
        for (size_t i = 0; i < a.npaths && rc == 0; i++) {
            size_t before = files.n;
            rc = run_files_add(&files, a.paths[i]);
            if (rc < 0 && rc != -ENOMEM) {
                fprintf(stderr, "scsisim run: %s: %s\n", a.paths[i], strerror(-rc));
                run_files_free(&files);
                args_free(&a);
                return CLI_EXIT_USAGE;
            }
            /* An empty folder is a mistake (a wrong path, a failed checkout), not a pass. */
            if (rc == 0 && files.n == before) {
                fprintf(stderr, "scsisim run: %s: no *.trace file in this folder or below it; give a folder "
                        "of traces or a trace file\n", a.paths[i]);
                run_files_free(&files);
                args_free(&a);
                return CLI_EXIT_USAGE;
            }
        }
    }
    if (rc < 0) {
        fprintf(stderr, "scsisim run: %s\n", strerror(-rc));
        run_files_free(&files);
        args_free(&a);
        return CLI_EXIT_INTERNAL;
    }
    size_t found = files.n;
    if (a.nfilters)
        run_files_filter(&files, a.filters, a.nfilters);
    if (files.n == 0) {
        /* Nothing replayed must not read as "all passed" in CI. */
        fprintf(stderr, "scsisim run: no trace to replay: none of the %zu trace%s found matches", found,
                found == 1 ? "" : "s");
        for (size_t i = 0; i < a.nfilters; i++)
            fprintf(stderr, "%s --filter '%s'", i ? " or" : "", a.filters[i]);
        fprintf(stderr, "; check the glob (it matches the path or the file name)\n");
        run_files_free(&files);
        args_free(&a);
        return CLI_EXIT_USAGE;
    }
    if (a.shard_n)
        run_files_shard(&files, a.shard_i, a.shard_n);
    if (files.n == 0) /* more shards than traces: this shard has none, which is no mistake */
        fprintf(stderr, "scsisim run: no trace to replay in shard %u/%u\n", a.shard_i, a.shard_n);
    args_free(&a);
    FILE *junit = open_report("JUnit", a.junit), *json = open_report("JSON", a.json);
    if ((a.junit && strcmp(a.junit, "-") && !junit) || (a.json && strcmp(a.json, "-") && !json)) {
        if (junit)
            fclose(junit);
        if (json)
            fclose(json);
        run_files_free(&files);
        return CLI_EXIT_USAGE;
    }

    struct replay_options o;
    replay_options_init(&o);
    if (a.timeout_s > 0)
        o.trace_timeout_ns = (uint64_t)(a.timeout_s * 1e9);
    if (a.driver_timeout_ms)
        o.driver_timeout_ms = a.driver_timeout_ms;
    char self[PATH_MAX];
    if (a.two_process) {
        o.mode = STACK_TWO_PROCESS;
        o.socket_path = a.socket_path;
        /* The controller processes run this very build (a mutant's too),
         * unless $SCSISIM_BIN names another. */
        ssize_t n = getenv("SCSISIM_BIN") ? -1 : readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            o.scsisim_bin = self;
        }
        if (a.socket_path)
            a.jobs = 1; /* one controller, one trace at a time */
    }
    if (a.verbose)
        o.log = stderr;
    o.target = a.target;
    o.match = a.match;
    o.match_given = a.match_given;
    o.standard_only = a.standard_only;
    o.cpu_pin = !a.no_cpu_pin;
    bool json_stdout = a.json && !strcmp(a.json, "-");
    if (check_mode(&o) < 0) {
        run_files_free(&files);
        if (junit)
            fclose(junit);
        if (json)
            fclose(json);
        return CLI_EXIT_INTERNAL;
    }

    struct progress prog = {
        .on = !a.verbose && isatty(STDERR_FILENO),
        .stream = !a.tap && !json_stdout && !isatty(STDOUT_FILENO),
        .text = { .color = false, .verbose = a.verbose },
    };
    struct trace_run result;
    trace_run_init(&result);
    result.strict = a.strict;
    /* The descriptors open before any trace (report files, log, what libuv
     * keeps): the leak check's base (cli/run_leaks.h). */
    run_fds_warm();
    struct run_fds fds_before;
    int fds_rc = run_fds_take(&fds_before);
    bool fds_known = fds_rc == 0;
    if (!fds_known)
        fprintf(stderr, "scsisim run: the descriptor leak check is not run: /proc/self/fd: %s\n", strerror(-fds_rc));
    uint64_t t0 = clock_now_ns();
    /* A core scsisim did not build runs the traces in children (cli/run_isolated.h);
     * --isolate asks for that with the built-in core too. */
    if ((stack_driver_core_default_path() || a.isolate) && !o.target)
        rc = run_isolated((const char *const *)files.paths, files.n, a.jobs, &o, &result, show_progress, &prog);
    else
        rc = replay_files((const char *const *)files.paths, files.n, a.jobs, &o, &result, show_progress, &prog);
    result.elapsed_ns = clock_now_ns() - t0;
    const struct trace_file_result *leak = NULL;
    if (rc >= 0 && fds_known)
        rc = run_fds_check_run(&fds_before, &result, (const char *const *)files.paths, files.n, &leak);
    if (fds_known)
        run_fds_free(&fds_before);
    if (leak)
        show_progress(&prog, leak, result.n_files, result.n_files);
    if (prog.on)
        fprintf(stderr, "\r\033[K");
    run_files_free(&files);
    if (rc < 0) {
        fprintf(stderr, "scsisim run: %s\n", strerror(-rc));
        trace_run_free(&result);
        if (junit)
            fclose(junit);
        if (json)
            fclose(json);
        return CLI_EXIT_INTERNAL;
    }

    int exit_code = trace_run_exit_code(&result);
    bool failed_io = prog.failed_io;
    if (a.tap) {
        failed_io |= write_report("TAP", "-", NULL, &result, report_tap) < 0;
    } else if (prog.stream) {
        failed_io |= report_text_summary(&result, stdout) < 0; /* the traces' lines are out already */
    } else if (!json_stdout) {
        struct report_text_options to = { .color = isatty(STDOUT_FILENO), .verbose = a.verbose };
        failed_io |= report_text(&result, stdout, &to) < 0;
    }
    if (a.junit)
        failed_io |= write_report("JUnit", a.junit, junit, &result, report_junit) < 0;
    if (a.json)
        failed_io |= write_report("JSON", a.json, json, &result, report_json) < 0;

    struct trace_run_summary s;
    trace_run_summarize(&result, &s);
    FILE *sum = a.tap || json_stdout ? stderr : stdout;
    fprintf(sum, "scsisim run: %zu trace%s, %zu command%s replayed, %zu passed, %zu failed", s.files,
            s.files == 1 ? "" : "s", replay_run_commands(&result), replay_run_commands(&result) == 1 ? "" : "s",
            s.passed, s.failed);
    /* Always said, 0 too: a skip is not a pass, and the line must not let it pass for one. */
    fprintf(sum, ", %zu skipped%s", s.skipped, s.skipped && a.strict ? " (--strict: a skip fails the run)" : "");
    if (s.unusable)
        fprintf(sum, ", %zu unusable", s.unusable);
    if (leak) /* counted as 1 failed above: say what it is */
        fprintf(sum, ", file descriptors left open or closed (the \"(run)\" result)");
    fprintf(sum, ", %.2f s\n", (double)result.elapsed_ns / 1e9);
    fflush(sum);
    trace_run_free(&result);
    if (failed_io && exit_code == TRACE_EXIT_PASS)
        return CLI_EXIT_INTERNAL;
    return exit_code;
}

const struct cli_command cli_cmd_run = {
    .name = "run",
    .summary = "replay traces (the bundled suite by default) and report",
    .run = run,
};
