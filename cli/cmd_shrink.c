/* cli/cmd_shrink.c — `scsisim shrink FAILING.trace -o SMALL.trace`: cuts a
 * failing trace down to a small one that still fails the same way (delta
 * debugging, docs/replay.md "Shrinking a failing trace").
 *
 * The trace is cut into units: one per task (a command's CMD, DOUT, DIN and
 * STATUS records, or a TMF's request and response: trace.h `tasks`) and one
 * per record outside a task (directives).  Device lines (@title, @drive,
 * @controller, @requires, ...) and the leading comment block are always
 * kept; other comments are dropped.  A candidate is a set of kept units,
 * printed line by line with the canonical printer, parsed back (a candidate
 * that does not parse, e.g. a release without its hold, is simply not
 * interesting) and replayed in this process (replay.h).  It is interesting
 * when it FAILS with the original's signature: the first failed check's
 * kind, layer, CDB bytes and failure bits (result.h).  With a loaded core
 * (--driver-core, --mutant) it must also PASS with scsisim's own core when
 * the original did, so the result shows the loaded core's bug and not a
 * trace that is wrong on its own.
 *
 * ddmin, in fixed order and so deterministic: first over whole nexuses
 * (every unit on one I_T_L nexus), then over single units; each round tries
 * to drop one chunk of the units left, in file order, and halves the chunks
 * when none can go.  Last, the data: each data-in expectation left (a DIN
 * record: what the device is expected to send) is dropped if the failure
 * stays without it, else cut to the shortest prefix, followed by "..", that
 * still fails the same way (a binary search: comparing more bytes of the
 * same data never hides a difference the prefix shows).  Data-out (what
 * the host sends) is the command's input and stays whole. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/tbuf.h"
#include "cli/commands.h"
#include "cli/driver_core_opt.h"
#include "conformance/format/trace_print.h"
#include "conformance/replay/replay.h"
#include "conformance/replay/trace_sim.h"
#include "stack/driver_core.h"

#define SHRINK_DEFAULT_SECONDS 300u
/* A candidate often stalls (its power-on or its hold dropped): such a
 * command is given up on after this, not the replay's 10 s, so a stall costs
 * little.  A within / @timeout in the trace still applies. */
#define SHRINK_COMMAND_TIMEOUT_NS (2ull * 1000000000ull)

static const char usage_text[] =
    "usage: scsisim shrink FAILING.trace -o SMALL.trace [OPTIONS]\n"
    "\n"
    "Cuts a failing trace down to a smaller one that still fails the same way:\n"
    "the same record (a command, by its layer and CDB bytes, or a check-media)\n"
    "fails with the same kind of difference (status, sense, data, not run, ...).\n"
    "Delta debugging (ddmin) drops whole nexuses, then whole tasks (a command\n"
    "with its DOUT, DIN and STATUS, or a TMF with its response) and directives,\n"
    "replaying each candidate in this process.  Device lines (@title, @drive,\n"
    "@controller, @requires, ...) and the leading comment block are kept; other\n"
    "comments are dropped.  Then each data-in expectation left is dropped, or\n"
    "cut to the shortest prefix (and '..') that still fails the same way;\n"
    "data-out stays whole.  The order of the tries is\n"
    "fixed, so the same input gives the same output.  Progress goes to stderr;\n"
    "the result is written in canonical form (docs/trace-format.md).\n"
    "\n"
    "  -o, --output FILE   the smaller trace to write (required)\n"
    "  --seconds N         time budget (default 300); when it runs out, the\n"
    "                      smallest failing trace found so far is written\n"
    "  --driver-core PATH  shrink against this driver core (.so), as `scsisim run`\n"
    "  --mutant NAME       shrink against mutant NAME's core (build/mutants/)\n"
    "                      With either, a candidate must also pass with scsisim's\n"
    "                      own core when the input does.\n"
    "\n"
    "A command without a within or @timeout deadline is given up on after 2 s\n"
    "(`scsisim run`: 10 s), so that candidates that stall cost little.\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 written (smaller, or already minimal); 1 the input does not\n"
    "fail (nothing to shrink); 2 bad option or a trace that does not parse;\n"
    "3 system error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error("shrink", fmt, arg);
}

/* What "fails the same way" means: the first failed check's identity. */
struct signature {
    enum trace_check_kind kind;
    char     layer;
    uint8_t  cdb[TRACE_CDB_MAX];
    uint8_t  cdb_len;
    unsigned failures;
    char     summary[256];
};

struct shrink {
    const struct trace *t;
    size_t  *unit_of;       /* per line: its unit, or KEEP / DROP */
    size_t   n_units;
    bool    *keep;          /* per unit */
    uint64_t *din_keep;     /* per line: DIN_WHOLE, DIN_DROPPED, or the bytes of its data kept */
    const struct scsisim_driver_core *loaded; /* NULL: the built-in core only */
    const char *loaded_path;
    bool     need_ref_pass; /* candidates must pass with the built-in core */
    struct signature sig;
    struct replay_options ro;
    uint64_t deadline_ns;
    unsigned replays;
    bool     out_of_time;
};

#define UNIT_KEEP ((size_t)-1)
#define UNIT_DROP ((size_t)-2)
#define DIN_WHOLE   UINT64_MAX
#define DIN_DROPPED (UINT64_MAX - 1)

/* The first `keep` bytes of p, then "..": elements copied into elems (room
 * for p->n_elems), the one the cut falls in shortened (a "text" element
 * cannot be cut and goes whole or not at all). */
static void pattern_prefix(const struct trace_pattern *p, uint64_t keep, struct trace_pat_elem *elems,
                           struct trace_pattern *out)
{
    *out = (struct trace_pattern){ .elems = elems, .rest = true };
    for (size_t i = 0; i < p->n_elems && out->length < keep; i++) {
        struct trace_pat_elem e = p->elems[i];
        uint64_t left = keep - out->length;
        if (e.n > left) {
            if (e.kind == TRACE_PAT_TEXT)
                break;
            e.n = (uint32_t)left;
        }
        elems[out->n_elems++] = e;
        out->length += e.n;
    }
}

/* Appends line i as the candidate has it: a DIN possibly cut or dropped. */
static int candidate_line(const struct shrink *s, size_t i, struct tbuf *b)
{
    const struct trace_line *l = &s->t->lines[i];
    uint64_t keep = s->din_keep ? s->din_keep[i] : DIN_WHOLE;
    if (keep == DIN_DROPPED)
        return 0;
    if (keep == DIN_WHOLE) {
        trace_fmt_line(b, s->t, l);
        tbuf_putc(b, '\n');
        return 0;
    }
    const struct trace_pattern *p = &l->record.data;
    struct trace_pat_elem *elems = malloc((p->n_elems ? p->n_elems : 1) * sizeof *elems);
    if (!elems)
        return -ENOMEM;
    struct trace_line cut = *l;
    pattern_prefix(p, keep, elems, &cut.record.data);
    trace_fmt_line(b, s->t, &cut);
    tbuf_putc(b, '\n');
    free(elems);
    return 0;
}

static bool check_matches(const struct trace_check *c, const struct signature *s)
{
    return !c->pass && c->kind == s->kind && c->layer == s->layer && c->cdb_len == s->cdb_len &&
           !memcmp(c->cdb, s->cdb, c->cdb_len) && c->failures == s->failures;
}

/* The text of the candidate `keep` describes. */
static int candidate_text(const struct shrink *s, const bool *keep, struct tbuf *b)
{
    tbuf_puts(b, "#!scsitrace 1\n");
    for (size_t i = 0; i < s->t->n_lines; i++) {
        size_t u = s->unit_of[i];
        if (u == UNIT_DROP || (u != UNIT_KEEP && !keep[u]))
            continue;
        if (candidate_line(s, i, b))
            return -ENOMEM;
    }
    return b->oom ? -ENOMEM : 0;
}

/* Replays t with core (NULL: built-in) into a fresh run. */
static int replay_with(struct shrink *s, const struct trace *t, const struct scsisim_driver_core *core,
                       const char *path, struct trace_run *run)
{
    stack_driver_core_set_default(core, path); /* NULL: the built-in core */
    trace_run_init(run);
    s->replays++;
    return replay_trace(t, &s->ro, run);
}

/* Whether the candidate fails with the signature (and, when asked, passes
 * with the built-in core).  -ENOMEM on allocation failure. */
static int interesting(struct shrink *s, const bool *keep)
{
    struct tbuf b = { 0 };
    if (candidate_text(s, keep, &b)) {
        tbuf_free(&b);
        return -ENOMEM;
    }
    struct trace *t = NULL;
    struct located_error err;
    int rc = trace_parse_buffer(s->t->name, tbuf_str(&b), b.len, &t, &err);
    tbuf_free(&b);
    if (rc == -ENOMEM)
        return -ENOMEM;
    if (rc)
        return 0; /* e.g. a release whose hold was dropped */
    struct trace_run run;
    bool ok = false;
    if ((rc = replay_with(s, t, s->loaded, s->loaded_path, &run)) == 0 && run.n_files == 1 &&
        run.files[0].outcome == TRACE_OUTCOME_FAIL) {
        for (size_t i = 0; i < run.files[0].n_checks && !ok; i++)
            ok = check_matches(&run.files[0].checks[i], &s->sig);
    }
    trace_run_free(&run);
    if (!rc && ok && s->need_ref_pass) {
        if ((rc = replay_with(s, t, NULL, NULL, &run)) == 0)
            ok = run.n_files == 1 && run.files[0].outcome == TRACE_OUTCOME_PASS;
        trace_run_free(&run);
    }
    trace_free(t);
    return rc ? rc : ok;
}

static size_t units_left(const struct shrink *s)
{
    size_t n = 0;
    for (size_t u = 0; u < s->n_units; u++)
        n += s->keep[u];
    return n;
}

static void progress(const struct shrink *s, const char *phase)
{
    fprintf(stderr, "scsisim shrink: %s: %zu of %zu units left after %u replays\n", phase, units_left(s),
            s->n_units, s->replays);
}

/* ddmin over items (each a list of units, terminated by UNIT_DROP in a flat
 * array: items[k] starts at start[k], ends at start[k+1]).  Drops items
 * while the trace stays interesting. */
static int ddmin(struct shrink *s, const size_t *flat, const size_t *start, size_t n_items, const char *phase)
{
    bool *alive = calloc(n_items ? n_items : 1, 1), *trial = malloc(s->n_units ? s->n_units : 1);
    if (!alive || !trial) {
        free(alive);
        free(trial);
        return -ENOMEM;
    }
    size_t count = 0;
    for (size_t k = 0; k < n_items; k++) {
        for (size_t j = start[k]; j < start[k + 1]; j++)
            alive[k] |= s->keep[flat[j]];
        count += alive[k];
    }
    size_t gran = 2;
    int rc = 0;
    while (count >= 1 && !s->out_of_time) {
        if (gran > count)
            gran = count;
        size_t chunk = (count + gran - 1) / gran, pos = 0;
        bool reduced = false;
        /* The alive items, chunk by chunk in file order: try without each. */
        for (size_t c0 = 0; c0 < count && !reduced; c0 += chunk) {
            if (clock_now_ns() >= s->deadline_ns) {
                s->out_of_time = true;
                break;
            }
            memcpy(trial, s->keep, s->n_units);
            size_t seen = 0;
            for (size_t k = 0; k < n_items; k++) {
                if (!alive[k])
                    continue;
                if (seen >= c0 && seen < c0 + chunk)
                    for (size_t j = start[k]; j < start[k + 1]; j++)
                        trial[flat[j]] = false;
                seen++;
            }
            int r = interesting(s, trial);
            if (r < 0) {
                rc = r;
                goto out;
            }
            if (r) {
                memcpy(s->keep, trial, s->n_units);
                seen = 0;
                for (size_t k = 0; k < n_items; k++)
                    if (alive[k]) {
                        if (seen >= c0 && seen < c0 + chunk)
                            alive[k] = false, pos++;
                        seen++;
                    }
                count -= pos;
                gran = gran > 2 ? gran - 1 : 2;
                reduced = true;
                progress(s, phase);
            }
        }
        if (!reduced) {
            if (gran >= count)
                break;
            gran = gran * 2 < count ? gran * 2 : count;
        }
    }
out:
    free(alive);
    free(trial);
    return rc;
}

/* Items for ddmin: one per unit, or one per nexus (units grouped by the
 * nexus of their first record). */
static int run_phases(struct shrink *s)
{
    size_t n = s->n_units;
    size_t *flat = malloc((n ? n : 1) * sizeof *flat), *start = malloc((n + 1) * sizeof *start);
    struct trace_nexus *nx = malloc((n ? n : 1) * sizeof *nx);
    size_t *unit_nexus = malloc((n ? n : 1) * sizeof *unit_nexus);
    int rc = -ENOMEM;
    if (!flat || !start || !nx || !unit_nexus)
        goto out;
    /* Nexuses, in the order they first appear. */
    size_t n_nx = 0;
    for (size_t u = 0; u < n; u++)
        unit_nexus[u] = UNIT_DROP;
    for (size_t i = 0; i < s->t->n_lines; i++) {
        size_t u = s->unit_of[i];
        if (u >= n || unit_nexus[u] != UNIT_DROP)
            continue;
        struct trace_nexus x = trace_record_nexus(s->t, &s->t->lines[i].record);
        size_t k = 0;
        while (k < n_nx && memcmp(&nx[k], &x, sizeof x))
            k++;
        if (k == n_nx)
            nx[n_nx++] = x;
        unit_nexus[u] = k;
    }
    if (n_nx > 1) {
        size_t j = 0;
        for (size_t k = 0; k < n_nx; k++) {
            start[k] = j;
            for (size_t u = 0; u < n; u++)
                if (unit_nexus[u] == k)
                    flat[j++] = u;
        }
        start[n_nx] = j;
        if ((rc = ddmin(s, flat, start, n_nx, "nexuses")))
            goto out;
    }
    for (size_t u = 0; u < n; u++)
        flat[u] = u, start[u] = u;
    start[n] = n;
    rc = ddmin(s, flat, start, n, "tasks and directives");
out:
    free(flat);
    free(start);
    free(nx);
    free(unit_nexus);
    return rc;
}

/* Whether the trace with line i's data kept as `keep` is interesting; the
 * setting stays when it is. */
static int try_din(struct shrink *s, size_t i, uint64_t keep)
{
    uint64_t was = s->din_keep[i];
    s->din_keep[i] = keep;
    int r = interesting(s, s->keep);
    if (r <= 0)
        s->din_keep[i] = was;
    return r;
}

/* The data phase: every DIN record of a kept unit, in file order. */
static int shrink_data(struct shrink *s, unsigned *dropped, unsigned *cut)
{
    const struct trace *t = s->t;
    if (!(s->din_keep = malloc((t->n_lines ? t->n_lines : 1) * sizeof *s->din_keep)))
        return -ENOMEM;
    for (size_t i = 0; i < t->n_lines; i++)
        s->din_keep[i] = DIN_WHOLE;
    for (size_t i = 0; i < t->n_lines && !s->out_of_time; i++) {
        const struct trace_line *l = &t->lines[i];
        size_t u = s->unit_of[i];
        if (l->kind != TRACE_LINE_RECORD || l->record.verb != TRACE_VERB_DIN || u >= s->n_units || !s->keep[u])
            continue;
        if (clock_now_ns() >= s->deadline_ns) {
            s->out_of_time = true;
            break;
        }
        int r = try_din(s, i, DIN_DROPPED);
        if (r < 0)
            return r;
        if (r) {
            (*dropped)++;
            continue;
        }
        /* The shortest prefix that still fails: the whole pattern does. */
        uint64_t lo = 0, hi = l->record.data.length;
        while (lo < hi && clock_now_ns() < s->deadline_ns) {
            uint64_t mid = lo + (hi - lo) / 2;
            if ((r = try_din(s, i, mid)) < 0)
                return r;
            if (r)
                hi = mid;
            else
                lo = mid + 1;
        }
        /* try_din kept each prefix that failed the same way: the last is the shortest. */
        if (s->din_keep[i] != DIN_WHOLE)
            (*cut)++;
    }
    return 0;
}

/* Units: a task's lines are its unit; any other record is one of its own;
 * device lines and the leading comment block stay; other lines go. */
static int assign_units(struct shrink *s)
{
    const struct trace *t = s->t;
    if (!(s->unit_of = malloc((t->n_lines ? t->n_lines : 1) * sizeof *s->unit_of)))
        return -ENOMEM;
    size_t next = t->n_tasks;
    bool header = true;
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_COMMENT)
            header = false;
        if (l->kind == TRACE_LINE_DEVICE || (l->kind == TRACE_LINE_COMMENT && header))
            s->unit_of[i] = UNIT_KEEP;
        else if (l->kind != TRACE_LINE_RECORD)
            s->unit_of[i] = UNIT_DROP;
        else if (l->record.task != TRACE_NONE)
            s->unit_of[i] = l->record.task;
        else
            s->unit_of[i] = next++;
    }
    s->n_units = next;
    if (!(s->keep = malloc(next ? next : 1)))
        return -ENOMEM;
    memset(s->keep, 1, next);
    return 0;
}

static int choose_core(const char *mutant, const char *driver_core, char **path_out)
{
    char *path = NULL;
    if (mutant) {
        if (!(path = cli_mutant_core_path(mutant)))
            return CLI_EXIT_INTERNAL;
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "scsisim shrink: no build of mutant '%s' at %s; `make mutants` builds one per "
                    "mutant (see docs/mutants.md)\n", mutant, path);
            free(path);
            return CLI_EXIT_USAGE;
        }
    } else if (driver_core && !(path = strdup(driver_core))) {
        return CLI_EXIT_INTERNAL;
    }
    *path_out = path;
    if (!path)
        return CLI_EXIT_OK;
    int rc = cli_driver_core_use("shrink", path);
    return rc == CLI_EXIT_OK ? cli_driver_core_preflight("shrink") : rc;
}

static int write_result(const struct shrink *s, const char *output)
{
    struct tbuf b = { 0 };
    if (candidate_text(s, s->keep, &b))
        return CLI_EXIT_INTERNAL;
    struct trace *t = NULL;
    struct located_error err;
    int rc = trace_parse_buffer(s->t->name, tbuf_str(&b), b.len, &t, &err);
    tbuf_free(&b);
    if (rc) {
        fprintf(stderr, "scsisim shrink: internal error: the result does not parse back\n");
        return CLI_EXIT_INTERNAL;
    }
    FILE *f = fopen(output, "w");
    if (!f) {
        fprintf(stderr, "scsisim shrink: %s: %s\n", output, strerror(errno));
        trace_free(t);
        return CLI_EXIT_INTERNAL;
    }
    rc = trace_print(t, f);
    trace_free(t);
    if (fclose(f) != 0 || rc) {
        fprintf(stderr, "scsisim shrink: %s: could not be written\n", output);
        return CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}

static size_t kept_tasks(const struct shrink *s)
{
    size_t n = 0;
    for (size_t u = 0; u < s->t->n_tasks; u++)
        n += s->keep[u];
    return n;
}

static int shrink_trace(struct shrink *s, const char *input, const char *output, unsigned seconds)
{
    uint64_t t0 = clock_now_ns();
    s->deadline_ns = t0 + (uint64_t)seconds * 1000000000ull;
    struct trace_run run;
    int rc = replay_with(s, s->t, s->loaded, s->loaded_path, &run);
    if (rc) {
        trace_run_free(&run);
        return CLI_EXIT_INTERNAL;
    }
    const struct trace_file_result *f = run.n_files == 1 ? &run.files[0] : NULL;
    const struct trace_check *first = NULL;
    for (size_t i = 0; f && f->outcome == TRACE_OUTCOME_FAIL && i < f->n_checks && !first; i++)
        if (!f->checks[i].pass)
            first = &f->checks[i];
    if (!first) {
        fprintf(stderr, "scsisim shrink: %s does not fail%s%s%s (%s): nothing to shrink\n", input,
                s->loaded ? " with " : "", s->loaded ? s->loaded_path : "", f && f->reason ? ": " : "",
                f ? (f->reason ? f->reason : trace_outcome_name(f->outcome)) : "no result");
        trace_run_free(&run);
        return CLI_EXIT_FAILURE;
    }
    s->sig.kind = first->kind;
    s->sig.layer = first->layer;
    memcpy(s->sig.cdb, first->cdb, sizeof s->sig.cdb);
    s->sig.cdb_len = first->cdb_len;
    s->sig.failures = first->failures;
    snprintf(s->sig.summary, sizeof s->sig.summary, "%s", first->summary);
    unsigned line = first->line;
    trace_run_free(&run);
    fprintf(stderr, "scsisim shrink: %s fails at line %u: %s\n", input, line, s->sig.summary);
    if (s->loaded) {
        if ((rc = replay_with(s, s->t, NULL, NULL, &run)) != 0) {
            trace_run_free(&run);
            return CLI_EXIT_INTERNAL;
        }
        s->need_ref_pass = run.n_files == 1 && run.files[0].outcome == TRACE_OUTCOME_PASS;
        trace_run_free(&run);
        fprintf(stderr, "scsisim shrink: with scsisim's own core it %s\n",
                s->need_ref_pass ? "passes: every candidate must too" : "fails too: not required to pass");
    }
    size_t tasks0 = kept_tasks(s), units0 = units_left(s);
    if ((rc = run_phases(s)) != 0)
        return CLI_EXIT_INTERNAL;
    unsigned dropped = 0, cut = 0;
    if ((rc = shrink_data(s, &dropped, &cut)) != 0)
        return CLI_EXIT_INTERNAL;
    fprintf(stderr, "scsisim shrink: data: %u data-in expectation%s dropped, %u cut short after %u replays\n",
            dropped, dropped == 1 ? "" : "s", cut, s->replays);
    if ((rc = write_result(s, output)) != CLI_EXIT_OK)
        return rc;
    fprintf(stderr, "scsisim shrink: %s: %zu of %zu tasks, %zu of %zu units (tasks and directives) kept, "
            "%u replays, %.1f s%s\n", output, kept_tasks(s), tasks0, units_left(s), units0, s->replays,
            (double)(clock_now_ns() - t0) / 1e9, s->out_of_time ? "; the time budget ran out first" : "");
    return CLI_EXIT_OK;
}

static int run(int argc, char **argv)
{
    const char *input = NULL, *output = NULL, *mutant = NULL, *driver_core = NULL;
    unsigned seconds = SHRINK_DEFAULT_SECONDS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t name_len = a[0] == '-' && a[1] == '-' && eq ? (size_t)(eq - a) : strlen(a);
        const char *v = NULL;
#define TAKES(opt) (strlen(opt) == name_len && !strncmp(a, opt, name_len) && \
                    ((v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL), true))
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        } else if (TAKES("-o") || TAKES("--output")) {
            if (!v || !*v)
                return usage_error("%s needs a file name (-o SMALL.trace)", a);
            output = v;
        } else if (TAKES("--seconds")) {
            char *end;
            errno = 0;
            unsigned long n = v ? strtoul(v, &end, 10) : 0;
            if (!v || errno || end == v || *end || v[0] == '-' || n < 1 || n > 86400)
                return usage_error("--seconds needs a whole number of seconds from 1 to 86400, not '%s'",
                                   v ? v : "");
            seconds = (unsigned)n;
        } else if (TAKES("--mutant")) {
            if (!v || !*v)
                return usage_error("--mutant needs a mutant name (F1, F2, ...), not '%s'", v ? v : "");
            mutant = v;
        } else if (TAKES("--driver-core")) {
            if (!v || !*v)
                return usage_error("--driver-core needs the path of a driver core (.so)%s", "");
            driver_core = v;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (input) {
            return usage_error("one trace at a time; '%s' is a second one", a);
        } else {
            input = a;
        }
#undef TAKES
    }
    if (!input)
        return usage_error("no trace given%s", "");
    if (!output)
        return usage_error("no output file given (-o %s.trace)", "SMALL");
    if (mutant && driver_core)
        return usage_error("%s", "--mutant and --driver-core each choose the core; give one");

    struct trace *t = NULL;
    struct located_error err;
    if (trace_parse_file(input, &t, &err)) {
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        fprintf(stderr, "scsisim shrink: %s\n", msg);
        return CLI_EXIT_USAGE;
    }
    struct shrink s = { .t = t };
    char *core_path = NULL;
    int rc = choose_core(mutant, driver_core, &core_path);
    if (rc == CLI_EXIT_OK && core_path) {
        s.loaded = stack_driver_core_default();
        s.loaded_path = core_path;
    }
    replay_options_init(&s.ro);
    s.ro.command_timeout_ns = SHRINK_COMMAND_TIMEOUT_NS;
    if (rc == CLI_EXIT_OK)
        rc = assign_units(&s) ? CLI_EXIT_INTERNAL : shrink_trace(&s, input, output, seconds);
    free(s.unit_of);
    free(s.keep);
    free(s.din_keep);
    free(core_path);
    trace_free(t);
    return rc;
}

const struct cli_command cli_cmd_shrink = {
    .name = "shrink",
    .summary = "cut a failing trace down to a small one that fails the same way",
    .run = run,
};
