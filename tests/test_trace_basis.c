/* tests/test_trace_basis.c — every expectation says where it comes from
 * (issue 12): the @basis line (standard with SPC-5 / SBC-4 / SAM-5 clauses, or
 * this model's behaviour with the reason) and a STATUS's standard= answers,
 * parsed into the tree with located errors, printed back canonically; every
 * bundled trace marked, and no bundled first command tolerant where the
 * simulator's state is known; `run --standard-only` replaying only standard
 * traces (the others SKIPPED "model behaviour (--standard-only)", never
 * passed), judging standard= there and leaving sense= (this model's format)
 * out; the basis in the text, TAP, JUnit and JSON reports. */
#include "tests/support/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance/replay/replay.h"
#include "scsi/scsi.h"
#include "tests/support/proc.h"
#include "tests/support/replay_testutil.h"
#include "tests/support/tgtd_proc.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"
#define TUR "+0.000 H > - t1 CMD 00 00 00 00 00 00\n"

/* --- the @basis line ------------------------------------------------------------------------ */

START_TEST(basis_lines_fill_the_tree)
{
    struct located_error err;
    struct trace *t = tt_parse(V "@title x\n@basis standard SPC-5 6.7 SAM-5 5.14 SBC-4 A.3\n" TUR
                                 "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_int_eq(t->basis, TRACE_BASIS_STANDARD);
    ck_assert_uint_eq(t->basis_line, 1);
    const struct trace_device *d = &t->lines[1].device;
    ck_assert_int_eq(d->kind, TRACE_DEV_BASIS);
    ck_assert_uint_eq(d->n_words, 6);
    ck_assert_str_eq(d->words[0], "SPC-5");
    ck_assert_str_eq(d->words[5], "A.3");
    char text[128];
    trace_basis_text(t, text, sizeof text);
    ck_assert_str_eq(text, "standard SPC-5 6.7; SAM-5 5.14; SBC-4 A.3");
    trace_free(t);

    t = tt_parse(V "@basis model \"the cache loses \\\"unflushed\\\" data\"\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_int_eq(t->basis, TRACE_BASIS_MODEL);
    ck_assert_str_eq(t->lines[0].device.text, "the cache loses \"unflushed\" data");
    trace_basis_text(t, text, sizeof text);
    ck_assert_str_eq(text, "model: the cache loses \"unflushed\" data");
    trace_free(t);

    /* A bare word is a reason too; no line at all is "unmarked". */
    t = tt_parse(V "@basis model simulator-only\n", &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_str_eq(t->lines[0].device.text, "simulator-only");
    trace_free(t);
    t = tt_parse(V TUR "+0.000 H < - t1 STATUS GOOD\n", &err);
    ck_assert_int_eq(t->basis, TRACE_BASIS_NONE);
    trace_basis_text(t, text, sizeof text);
    ck_assert_str_eq(text, "unmarked");
    trace_free(t);
}
END_TEST

struct bad {
    const char *name;
    const char *line;     /* the second line of the trace */
    const char *at;       /* where the error points: the first occurrence of this in line (NULL: its end) */
    const char *fragment; /* must appear in the message */
};

static const struct bad bads[] = {
    { "no kind", "@basis", NULL, "@basis needs 'standard DOCUMENT CLAUSE...' or 'model \"why\"'" },
    { "unknown kind", "@basis required SPC-5 6.7", "required", "unknown basis 'required'; expected 'standard'" },
    { "no citation", "@basis standard", NULL, "@basis standard needs the clause it relies on" },
    { "unknown standard", "@basis standard SPC-4 6.4", "SPC-4", "unknown standard 'SPC-4'" },
    { "near miss", "@basis standard SBC4 5.30", "SBC4", "did you mean 'SBC-4'?" },
    { "no clause", "@basis standard SPC-5", NULL, "SPC-5 needs a clause number after it" },
    { "clause not a number", "@basis standard SPC-5 INQUIRY", "INQUIRY", "bad clause 'INQUIRY' after SPC-5" },
    { "clause with two dots", "@basis standard SAM-5 5..14", "5..14", "bad clause '5..14'" },
    { "clause ends in a dot", "@basis standard SAM-5 5.14.", "5.14.", "bad clause '5.14.'" },
    { "no reason", "@basis model", NULL, "@basis model needs the reason" },
    { "empty reason", "@basis model \"\"", "\"\"", "needs a reason, not an empty text" },
    { "two reasons", "@basis model because cache", "cache", "@basis model takes one reason" },
    { "text after the quote", "@basis model \"x\"y", "y", "unexpected text after the closing quote" },
};

static unsigned col_of(const char *line, const char *at)
{
    return at ? (unsigned)(strstr(line, at) - line) + 1 : (unsigned)strlen(line) + 1;
}

START_TEST(basis_errors_are_located)
{
    const struct bad *b = &bads[_i];
    char why[1024];
    ck_assert_msg(tt_line_fails_at(b->line, col_of(b->line, b->at), b->fragment, why, sizeof why), "case '%s': %s",
                  b->name, why);
}
END_TEST

START_TEST(basis_once_and_before_the_records)
{
    struct located_error err;
    static const char twice[] = V "@basis model why\n@basis standard SPC-5 6.7\n";
    tt_parse_error(twice, strlen(twice), &err);
    ck_assert_uint_eq(err.line, 3);
    ck_assert_msg(strstr(err.message, "@basis given twice"), "%s", err.message);
    static const char late[] = V TUR "+0.000 H < - t1 STATUS GOOD\n@basis model why\n";
    tt_parse_error(late, strlen(late), &err);
    ck_assert_uint_eq(err.line, 4);
    ck_assert_msg(strstr(err.message, "after the first record"), "%s", err.message);
    static const char typo[] = V "@bases model why\n";
    tt_parse_error(typo, strlen(typo), &err);
    ck_assert_msg(strstr(err.message, "did you mean '@basis'?"), "%s", err.message);
}
END_TEST

/* --- standard= on a STATUS ------------------------------------------------------------------ */

START_TEST(standard_alternatives_fill_the_tree)
{
    struct located_error err;
    struct trace *t = tt_parse(V TUR "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01 standard=UNIT_ATTENTION/0x29/??|GOOD\n",
                               &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    const struct trace_status *st = &t->lines[1].record.status;
    ck_assert_uint_eq(st->n_alts, 1);
    ck_assert_uint_eq(st->n_std_alts, 2);
    ck_assert_uint_eq(st->std_alts[0].status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert(st->std_alts[0].sense_given && st->std_alts[0].sense.key == 6 && st->std_alts[0].sense.asc == 0x29);
    ck_assert(st->std_alts[0].sense.ascq_any);
    ck_assert_uint_eq(st->std_alts[1].status, SCSI_STATUS_GOOD);
    trace_free(t);
}
END_TEST

static const struct bad std_bads[] = {
    { "empty", "+0.000 H < - t1 STATUS GOOD standard=", NULL, "standard= needs alternatives" },
    { "trailing bar", "+0.000 H < - t1 STATUS GOOD standard=GOOD|", NULL, "standard= needs alternatives" },
    { "unknown status", "+0.000 H < - t1 STATUS GOOD standard=FINE", "FINE", "unknown status 'FINE' in standard=" },
    { "bad sense", "+0.000 H < - t1 STATUS GOOD standard=UNIT_ATTENTION/0x29/0x100", "0x100", "bad ASCQ '0x100'" },
    { "twice", "+0.000 H < - t1 STATUS GOOD standard=GOOD standard=BUSY", "BUSY", "option 'standard' given twice" },
    { "unknown option", "+0.000 H < - t1 STATUS GOOD standrd=GOOD", "standrd", "expected resid=N, xfer=N, sense=BYTES or standard=ALT|ALT" },
};

START_TEST(standard_errors_are_located)
{
    const struct bad *b = &std_bads[_i];
    char text[256];
    snprintf(text, sizeof text, V TUR "%s\n", b->line);
    struct located_error err;
    const char *msg = tt_parse_error(text, strlen(text), &err);
    ck_assert_msg(err.line == 3 && err.column >= col_of(b->line, b->at) && strstr(err.message, b->fragment),
                  "case '%s': expected t.trace:3:%u or later with '%s', got: %s", b->name, col_of(b->line, b->at),
                  b->fragment, msg);
}
END_TEST

/* The canonical printer gives back what it was given, and the parser reads
 * what the printer writes; trace_equal sees every part of the marks. */
START_TEST(marks_round_trip)
{
    static const char *const canon[] = {
        V "@title \"x\"\n@basis standard SPC-5 6.7 SAM-5 5.14\n" TUR
          "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01 standard=UNIT_ATTENTION/0x29/??|GOOD\n",
        V "@basis model \"a \\\"quoted\\\" reason\"\n" TUR "+0.000 H < - t1 STATUS GOOD standard=GOOD|BUSY|TASK_SET_FULL\n",
    };
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        struct located_error err;
        struct trace *t = tt_parse(canon[i], &err);
        ck_assert_msg(t != NULL, "%s", err.message);
        char *text = NULL;
        size_t len = 0;
        ck_assert_int_eq(trace_print_string(t, &text, &len), 0);
        ck_assert_str_eq(text, canon[i]);
        struct trace *u = tt_parse(text, &err);
        ck_assert_ptr_nonnull(u);
        ck_assert(trace_equal(t, u));
        free(text);
        trace_free(u);
        trace_free(t);
    }
    /* A bare-word reason prints quoted. */
    struct located_error err;
    struct trace *t = tt_parse(V "@basis model why\n", &err);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(trace_print_string(t, &text, &len), 0);
    ck_assert_str_eq(text, V "@basis model \"why\"\n");
    free(text);
    trace_free(t);

    /* Differences in the kind, a clause, the reason or standard= are differences. */
    static const char *const pairs[][2] = {
        { V "@basis standard SPC-5 6.7\n", V "@basis standard SPC-5 6.8\n" },
        { V "@basis standard SPC-5 6.7\n", V "@basis model \"SPC-5 6.7\"\n" },
        { V "@basis model a\n", V "@basis model b\n" },
        { V TUR "+0.000 H < - t1 STATUS GOOD standard=GOOD\n", V TUR "+0.000 H < - t1 STATUS GOOD\n" },
        { V TUR "+0.000 H < - t1 STATUS GOOD standard=GOOD\n", V TUR "+0.000 H < - t1 STATUS GOOD standard=BUSY\n" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct trace *a = tt_parse(pairs[i][0], &err), *b = tt_parse(pairs[i][1], &err);
        ck_assert(a && b);
        ck_assert_msg(!trace_equal(a, b), "pair %zu compares equal", i);
        trace_free(a);
        trace_free(b);
    }
}
END_TEST

/* --- the bundled corpus --------------------------------------------------------------------- */

struct files {
    char  **paths;
    size_t  n, cap;
};

static void walk(const char *dir, struct files *f, int depth)
{
    DIR *d = depth < 8 ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t len = strlen(e->d_name);
        if (S_ISDIR(st.st_mode)) {
            walk(path, f, depth + 1);
        } else if (len > 6 && !strcmp(e->d_name + len - 6, ".trace")) {
            if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 256;
                f->paths = realloc(f->paths, f->cap * sizeof *f->paths);
                ck_assert_ptr_nonnull(f->paths);
            }
            f->paths[f->n++] = strdup(path);
        }
    }
    closedir(d);
}

static const char *corpus_root(void)
{
    const char *env = getenv("SCSISIM_TRACES");
    return env && *env ? env : "traces";
}

/* Every bundled trace says where its expectations come from. */
START_TEST(every_bundled_trace_is_marked)
{
    struct files f = { 0 };
    walk(corpus_root(), &f, 0);
    ck_assert_msg(f.n >= 150, "only %zu traces under %s", f.n, corpus_root());
    size_t unmarked = 0, standard = 0;
    char list[4096] = "";
    for (size_t i = 0; i < f.n; i++) {
        struct trace *t = NULL;
        struct located_error err;
        ck_assert_msg(trace_parse_file(f.paths[i], &t, &err) == 0, "%s: %s", f.paths[i], err.message);
        if (t->basis == TRACE_BASIS_NONE) {
            unmarked++;
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "  %s\n", f.paths[i]);
        }
        standard += t->basis == TRACE_BASIS_STANDARD;
        trace_free(t);
        free(f.paths[i]);
    }
    free(f.paths);
    ck_assert_msg(unmarked == 0, "%zu traces have no @basis line (add `@basis standard DOC CLAUSE` or "
                  "`@basis model \"why\"` after @title):\n%s", unmarked, list);
    ck_assert_msg(standard > 0, "no trace is marked standard: --standard-only would run nothing");
}
END_TEST

/* The example of the issue: a block outside the flushed range being lost is
 * this model's volatile cache, not SBC-4. */
START_TEST(range_flush_is_model_behaviour)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sync-cache/range-flush-is-partial.trace", corpus_root());
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_msg(trace_parse_file(path, &t, &err) == 0, "%s", err.message);
    ck_assert_int_eq(t->basis, TRACE_BASIS_MODEL);
    trace_free(t);
}
END_TEST

/* A bundled trace's own alternatives never accept both a reset-family unit
 * attention and GOOD: each trace starts on a freshly powered simulator, so
 * its first command's answer is known.  What the standard allows on a device
 * whose history is unknown belongs in standard=, and only in standard traces
 * (the only ones --standard-only runs). */
START_TEST(no_tolerant_first_commands)
{
    struct files f = { 0 };
    walk(corpus_root(), &f, 0);
    size_t loose = 0;
    char list[4096] = "";
    for (size_t i = 0; i < f.n; i++) {
        struct trace *t = NULL;
        struct located_error err;
        ck_assert_msg(trace_parse_file(f.paths[i], &t, &err) == 0, "%s: %s", f.paths[i], err.message);
        for (size_t l = 0; l < t->n_lines; l++) {
            const struct trace_line *ln = &t->lines[l];
            if (ln->kind != TRACE_LINE_RECORD || ln->record.verb != TRACE_VERB_STATUS)
                continue;
            const struct trace_status *st = &ln->record.status;
            bool good = false, reset_ua = false;
            for (size_t a = 0; a < st->n_alts; a++) {
                good |= st->alts[a].status == SCSI_STATUS_GOOD;
                reset_ua |= st->alts[a].sense_given && st->alts[a].sense.key == 6 && st->alts[a].sense.asc == 0x29;
            }
            /* standard= only where --standard-only can read it */
            bool dead = st->n_std_alts && t->basis != TRACE_BASIS_STANDARD;
            if ((good && reset_ua) || dead) {
                loose++;
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "  %s:%u%s\n", f.paths[i], ln->lineno,
                         dead ? ": standard= in a trace not marked standard" : "");
            }
        }
        trace_free(t);
        free(f.paths[i]);
    }
    free(f.paths);
    ck_assert_msg(loose == 0, "%zu STATUS lines accept a 29h unit attention or GOOD:\n%s", loose, list);
}
END_TEST

/* --- run --standard-only and the reports ---------------------------------------------------- */

struct dir {
    char path[64];
};

static void put(const struct dir *d, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void make_dir(struct dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/scsisim-basis-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->path));
    /* The first TEST UNIT READY on a fresh simulator: POWER ON OCCURRED. */
    put(d, "a-standard.trace", V "# A standard trace: the power-on attention, then GOOD.\n# (SAM-5)\n"
                               "@title std\n@basis standard SAM-5 5.14\n" TUR
                               "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
                               "+0.000 H > - t2 CMD 00 00 00 00 00 00\n+0.000 H < - t2 STATUS GOOD\n");
    put(d, "b-model.trace", V "@title mdl\n@basis model \"this controller's own answer\"\n" TUR
                            "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n");
    put(d, "c-unmarked.trace", V "@title none\n" TUR "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n");
}

static void remove_dir(const struct dir *d)
{
    static const char *const names[] = { "a-standard.trace", "b-model.trace", "c-unmarked.trace", "d-std-alts.trace",
                                         "e-sense.trace", "r.json", "r.xml" };
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", d->path, names[i]);
        unlink(path);
    }
    rmdir(d->path);
}

START_TEST(standard_only_skips_the_rest_never_passes_it)
{
    struct dir d;
    make_dir(&d);
    char json[128], xml[128];
    snprintf(json, sizeof json, "%s/r.json", d.path);
    snprintf(xml, sizeof xml, "%s/r.xml", d.path);
    const char *args[] = { "run", "--standard-only", "--json", json, "--junit", xml, d.path, NULL };
    struct proc_result r;
    proc_scsisim(args, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "1 passed, 0 failed, 2 skipped"), "exit %d:\n%s%s", r.status, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "SKIP") && strstr(r.out, "model behaviour (--standard-only): this controller's own "
                  "answer") && strstr(r.out, "no @basis line: not known to be required by the standard "
                  "(--standard-only)"), "%s", r.out);
    proc_result_free(&r);

    size_t len = 0;
    char *doc = tt_read_file(json, &len);
    ck_assert_ptr_nonnull(doc);
    ck_assert_msg(tt_json_check(doc, len) == NULL, "%s", tt_json_check(doc, len));
    ck_assert_msg(strstr(doc, "\"basis\":\"standard SAM-5 5.14\"") &&
                  strstr(doc, "\"basis\":\"model: this controller's own answer\"") &&
                  strstr(doc, "\"basis\":\"unmarked\"") && strstr(doc, "\"outcome\":\"skip\""), "%s", doc);
    free(doc);
    doc = tt_read_file(xml, &len);
    ck_assert_ptr_nonnull(doc);
    ck_assert_msg(tt_xml_check(doc, len, NULL, 0, NULL) == NULL, "%s", doc);
    ck_assert_msg(strstr(doc, "<property name=\"basis\" value=\"standard SAM-5 5.14\"/>") &&
                  strstr(doc, "<skipped message=\"model behaviour (--standard-only)"), "%s", doc);
    free(doc);

    /* --strict: a skip is a failure, --standard-only's too. */
    const char *strict[] = { "run", "--standard-only", "--strict", d.path, NULL };
    proc_scsisim(strict, &r);
    ck_assert_msg(r.status == 1 && strstr(r.out, "2 skipped (--strict"), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);

    /* Without it every trace runs, and TAP says each one's basis. */
    const char *all[] = { "run", "--tap", d.path, NULL };
    proc_scsisim(all, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "ok 1 - ") && strstr(r.out, "  basis: \"standard SAM-5 5.14\"") &&
                  strstr(r.out, "  basis: \"model: this controller's own answer\"") &&
                  strstr(r.out, "  basis: \"unmarked\""), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);
    remove_dir(&d);
}
END_TEST

/* standard= is what --standard-only judges; a run without it judges the
 * record's own (this model's) answer.  A failure shows the basis. */
START_TEST(standard_alternatives_judged_only_with_standard_only)
{
    struct dir d;
    make_dir(&d);
    /* GOOD is this "model's" answer here (wrong for the simulator, which
     * reports POWER ON OCCURRED); standard= allows the attention. */
    put(&d, "d-std-alts.trace", V "@title alts\n@basis standard SAM-5 5.14\n" TUR
                                "+0.000 H < - t1 STATUS GOOD standard=UNIT_ATTENTION/0x29/??|GOOD\n");
    char path[128];
    snprintf(path, sizeof path, "%s/d-std-alts.trace", d.path);
    const char *plain[] = { "run", path, NULL };
    struct proc_result r;
    proc_scsisim(plain, &r);
    ck_assert_msg(r.status == 1 && strstr(r.out, "status: expected GOOD, got CHECK UNIT_ATTENTION/0x29/0x01") &&
                  strstr(r.out, "  basis: standard SAM-5 5.14\n"), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);
    const char *std[] = { "run", "--standard-only", path, NULL };
    proc_scsisim(std, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "1 passed, 0 failed, 0 skipped"), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);

    /* sense= pins this model's format and field pointer: --standard-only
     * leaves it out (here descriptor format is expected, fixed comes). */
    put(&d, "e-sense.trace", V "@title sense\n@basis standard SAM-5 5.14\n" TUR
                             "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01 sense=72,..\n");
    snprintf(path, sizeof path, "%s/e-sense.trace", d.path);
    proc_scsisim(plain, &r);
    ck_assert_msg(r.status == 1 && strstr(r.out, "sense bytes differ from sense="), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);
    proc_scsisim(std, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "1 passed, 0 failed, 0 skipped"), "exit %d:\n%s", r.status, r.out);
    proc_result_free(&r);
    remove_dir(&d);
}
END_TEST

/* In process: the replay's skip, and the basis on every result. */
START_TEST(replay_marks_results)
{
    struct replay_options o;
    rt_options(&o);
    o.standard_only = true;
    struct trace_run run;
    trace_run_init(&run);
    const struct trace_file_result *f =
        rt_replay(V "@basis model \"because\"\n" TUR "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n", &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_SKIP);
    ck_assert_str_eq(f->reason, "model behaviour (--standard-only): because");
    ck_assert_str_eq(f->basis, "model: because");
    ck_assert_uint_eq(f->n_checks, 0);
    f = rt_replay(V "@basis standard SAM-5 5.14\n" TUR "+0.000 H < - t1 STATUS CHECK UNIT_ATTENTION/0x29/0x01\n", &o, &run);
    ck_assert_int_eq(f->outcome, TRACE_OUTCOME_PASS);
    ck_assert_str_eq(f->basis, "standard SAM-5 5.14");
    trace_run_free(&run);
}
END_TEST

/* A real peer: tgtd, whose history a trace cannot set up: it answers each
 * new I_T nexus with 29h/00h, where the freshly powered simulator says POWER
 * ON OCCURRED (29h/01h).  Judged as written (--match masks) the first
 * commands fail; with --standard-only their standard= answers apply and the
 * standard traces pass, while a model trace is skipped with its reason. */
START_TEST(standard_only_against_tgtd)
{
    struct tgtd_proc t;
    tgtd_start(&t, "standard_only_against_tgtd", 16);
    char tur[256], ua[256], model[256];
    snprintf(tur, sizeof tur, "%s/smoke/tur.trace", corpus_root());
    snprintf(ua, sizeof ua, "%s/tur/ua-per-nexus.trace", corpus_root());
    snprintf(model, sizeof model, "%s/smoke/write-sync-power-loss.trace", corpus_root());
    const char *plain[] = { "run", "--target", t.url, "--match", "masks", tur, NULL };
    struct proc_result r;
    proc_scsisim(plain, &r);
    char out[8192];
    snprintf(out, sizeof out, "exit %d:\n%s%s", r.status, r.out, r.err);
    bool as_written = r.status == 1 &&
                      strstr(r.out, "expected CHECK UNIT_ATTENTION/0x29/0x01, got CHECK UNIT_ATTENTION/0x29/0x00");
    proc_result_free(&r);
    if (as_written) {
        const char *std[] = { "run", "--target", t.url, "--match", "masks", "--standard-only", tur, ua, model, NULL };
        proc_scsisim(std, &r);
        snprintf(out, sizeof out, "exit %d:\n%s%s", r.status, r.out, r.err);
        as_written = r.status == 0 && strstr(r.out, "2 passed, 0 failed, 1 skipped") &&
                     strstr(r.out, "model behaviour (--standard-only)");
        proc_result_free(&r);
    }
    tgtd_stop(&t);
    ck_assert_msg(as_written, "%s", out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_basis");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, basis_lines_fill_the_tree);
    tcase_add_loop_test(p, basis_errors_are_located, 0, (int)(sizeof bads / sizeof bads[0]));
    tcase_add_test(p, basis_once_and_before_the_records);
    tcase_add_test(p, standard_alternatives_fill_the_tree);
    tcase_add_loop_test(p, standard_errors_are_located, 0, (int)(sizeof std_bads / sizeof std_bads[0]));
    tcase_add_test(p, marks_round_trip);
    suite_add_tcase(s, p);
    TCase *c = tcase_create("corpus");
    tcase_set_timeout(c, 60);
    tcase_add_test(c, every_bundled_trace_is_marked);
    tcase_add_test(c, range_flush_is_model_behaviour);
    tcase_add_test(c, no_tolerant_first_commands);
    suite_add_tcase(s, c);
    TCase *r = tcase_create("run");
    tcase_set_timeout(r, 60);
    tcase_add_test(r, standard_only_skips_the_rest_never_passes_it);
    tcase_add_test(r, standard_alternatives_judged_only_with_standard_only);
    tcase_add_test(r, replay_marks_results);
    suite_add_tcase(s, r);
    TCase *peer = tcase_create("tgtd");
    tcase_set_timeout(peer, 120);
    tcase_add_test(peer, standard_only_against_tgtd);
    suite_add_tcase(s, peer);
    return testutil_run(s);
}
