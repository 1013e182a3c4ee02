/* tests/test_corpus_parses.c — the bundled scenario corpus (traces/) stays
 * usable: every .trace file under traces/ parses, says what it checks (a header and a
 * title), builds a simulator configuration, survives the canonical printer, and
 * the corpus keeps its shape (the folders, at least 150 traces, one trace per
 * field bug F1..F7).  A trace that does not parse is reported as
 * FILE:LINE:COLUMN with the parser's message, so a broken trace is found here
 * and not in the middle of a conformance run.
 *
 * The corpus is found at $SCSISIM_TRACES, else "traces" (make runs the tests
 * from the top of the tree). */
#include "tests/support/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance/replay/trace_sim.h"
#include "sim/config/config.h"

#define CORPUS_MIN_TRACES 150u
#define CORPUS_MAX_FILES  4096u
#define REPORT_MAX        8192u

/* Every trace file under the corpus, sorted. */
struct corpus {
    char  *paths[CORPUS_MAX_FILES];
    size_t n;
    bool   overflow;
};

static const char *corpus_root(void)
{
    const char *env = getenv("SCSISIM_TRACES");
    return env && *env ? env : "traces";
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void walk(const char *dir, struct corpus *c, int depth)
{
    if (depth > 8)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len < 0 || (size_t)len >= sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path, c, depth + 1);
        } else if (S_ISREG(st.st_mode) && has_suffix(e->d_name, ".trace")) {
            if (c->n == CORPUS_MAX_FILES) {
                c->overflow = true;
                continue;
            }
            c->paths[c->n] = strdup(path);
            if (c->paths[c->n])
                c->n++;
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct corpus *corpus_load(void)
{
    struct corpus *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    walk(corpus_root(), c, 0);
    ck_assert_msg(!c->overflow, "more than %u trace files under %s", CORPUS_MAX_FILES, corpus_root());
    qsort(c->paths, c->n, sizeof c->paths[0], cmp_str);
    return c;
}

static void corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->paths[i]);
    free(c);
}

/* Appends one line to a bounded report. */
static void report_add(char *rep, size_t *used, const char *line)
{
    if (*used >= REPORT_MAX - 1)
        return;
    int n = snprintf(rep + *used, REPORT_MAX - *used, "%s\n", line);
    if (n > 0)
        *used += (size_t)n < REPORT_MAX - *used ? (size_t)n : REPORT_MAX - *used - 1;
}

/* Every trace parses; the failures are listed one per line as
 * FILE:LINE:COLUMN: error: ... */
START_TEST(every_trace_parses)
{
    struct corpus *c = corpus_load();
    char *rep = calloc(1, REPORT_MAX);
    ck_assert_ptr_nonnull(rep);
    size_t used = 0, bad = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct trace *t = NULL;
        struct located_error err;
        if (trace_parse_file(c->paths[i], &t, &err) < 0) {
            char line[1024];
            located_format(&err, line, sizeof line);
            report_add(rep, &used, line);
            bad++;
            continue;
        }
        trace_free(t);
    }
    ck_assert_msg(bad == 0, "%zu of %zu traces do not parse:\n%s", bad, c->n, rep);
    free(rep);
    corpus_free(c);
}
END_TEST

/* Every trace says what it checks and why: a header comment of a few lines
 * after the version line, and a @title for the reports. */
START_TEST(every_trace_has_header_and_title)
{
    struct corpus *c = corpus_load();
    char *rep = calloc(1, REPORT_MAX);
    ck_assert_ptr_nonnull(rep);
    size_t used = 0, bad = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct trace *t = NULL;
        struct located_error err;
        if (trace_parse_file(c->paths[i], &t, &err) < 0)
            continue;   /* every_trace_parses reports it */
        char *hdr = trace_header_text(t);
        char line[1024];
        if (!hdr || strlen(hdr) < 40 || !strchr(hdr, '\n')) {
            snprintf(line, sizeof line, "%s: the header comment is missing or shorter than two lines", c->paths[i]);
            report_add(rep, &used, line);
            bad++;
        } else if (!t->title || !*t->title) {
            snprintf(line, sizeof line, "%s: no @title", c->paths[i]);
            report_add(rep, &used, line);
            bad++;
        }
        free(hdr);
        trace_free(t);
    }
    ck_assert_msg(bad == 0, "%zu traces lack a header or a title:\n%s", bad, rep);
    free(rep);
    corpus_free(c);
}
END_TEST

/* The device lines of every trace build a controller configuration that the
 * simulator accepts, and the canonical printer gives back the same tree. */
START_TEST(every_trace_configures_and_round_trips)
{
    struct corpus *c = corpus_load();
    for (size_t i = 0; i < c->n; i++) {
        struct trace *t = NULL;
        struct located_error err;
        if (trace_parse_file(c->paths[i], &t, &err) < 0)
            continue;
        struct sim_config cfg;
        int rc = trace_sim_config(t, &cfg, &err);
        ck_assert_msg(rc == 0, "%s: its device lines do not configure a controller: %s", c->paths[i], err.message);
        struct located_error cerr;
        memset(&cerr, 0, sizeof cerr);
        rc = sim_config_validate(&cfg, &cerr);
        ck_assert_msg(rc == 0, "%s: the configuration is refused: %s", c->paths[i], cerr.message);
        sim_config_free(&cfg);

        char *text = NULL;
        size_t len = 0;
        ck_assert_int_eq(trace_print_string(t, &text, &len), 0);
        struct trace *again = NULL;
        rc = trace_parse_buffer(c->paths[i], text, len, &again, &err);
        ck_assert_msg(rc == 0, "%s: its canonical form does not parse: %s", c->paths[i], err.message);
        ck_assert_msg(trace_equal(t, again), "%s: the canonical form says something else", c->paths[i]);
        trace_free(again);
        free(text);
        trace_free(t);
    }
    corpus_free(c);
}
END_TEST

static size_t count_under(const struct corpus *c, const char *folder)
{
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/%s/", corpus_root(), folder);
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += strncmp(c->paths[i], prefix, strlen(prefix)) == 0;
    return n;
}

/* The corpus keeps its size and its families (issue "Traces and the
 * conformance suite", item 5). */
START_TEST(corpus_has_its_shape)
{
    static const char *const folders[] = {
        "inquiry", "tur", "sync-cache", "read-capacity", "mode-sense", "report-luns",
        "request-sense", "read-write", "errors", "hosts", "fieldbugs",
        "verify", "provisioning", "compare-write", "reservations", "faults",
        "sanitize", "xcopy", "controller",
    };
    struct corpus *c = corpus_load();
    ck_assert_msg(c->n >= CORPUS_MIN_TRACES, "the corpus under %s has %zu traces; it must keep at least %u",
                  corpus_root(), c->n, CORPUS_MIN_TRACES);
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
        ck_assert_msg(count_under(c, folders[i]) >= 2, "%s/%s/ has fewer than two traces", corpus_root(),
                      folders[i]);
    corpus_free(c);
}
END_TEST

/* One trace per field bug of docs/architecture.md, named after it (F1-....trace). */
START_TEST(one_trace_per_field_bug)
{
    struct corpus *c = corpus_load();
    for (int f = 1; f <= 7; f++) {
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%s/fieldbugs/F%d-", corpus_root(), f);
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++)
            n += strncmp(c->paths[i], prefix, strlen(prefix)) == 0;
        ck_assert_msg(n >= 1, "no trace for field bug F%d (expected %s*.trace)", f, prefix);
    }
    corpus_free(c);
}
END_TEST

/* The checker itself: a broken trace is reported with its location. */
START_TEST(a_broken_trace_is_located)
{
    char dir[] = "/tmp/corpus-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/bad.trace", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!scsitrace 1\n# a trace with a typo in a verb\n- H > - t1 STATSU GOOD\n", f);
    fclose(f);
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_int_lt(trace_parse_file(path, &t, &err), 0);
    ck_assert_ptr_null(t);
    char line[1024];
    located_format(&err, line, sizeof line);
    ck_assert_msg(strstr(line, "bad.trace:3:") != NULL, "not located: %s", line);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("traces");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_trace_parses);
    tcase_add_test(tc, every_trace_has_header_and_title);
    tcase_add_test(tc, every_trace_configures_and_round_trips);
    tcase_add_test(tc, corpus_has_its_shape);
    tcase_add_test(tc, one_trace_per_field_bug);
    tcase_add_test(tc, a_broken_trace_is_located);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(corpus_suite());
}
