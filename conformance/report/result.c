/* conformance/report/result.c — see result.h. */
#include "conformance/report/result.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"

void trace_run_init(struct trace_run *run)
{
    memset(run, 0, sizeof(*run));
}

static void file_free(struct trace_file_result *f)
{
    for (size_t i = 0; i < f->n_checks; i++)
        free(f->checks[i].detail);
    free(f->checks);
    free(f->path);
    free(f->title);
    free(f->reason);
    free(f->basis);
}

void trace_run_free(struct trace_run *run)
{
    for (size_t i = 0; i < run->n_files; i++)
        file_free(&run->files[i]);
    free(run->files);
    trace_run_init(run);
}

struct trace_file_result *trace_run_add(struct trace_run *run, const char *path, const char *title)
{
    if (run->n_files == run->cap_files) {
        size_t ncap = run->cap_files ? run->cap_files * 2 : 8;
        struct trace_file_result *nf = realloc(run->files, ncap * sizeof(*nf));
        if (!nf)
            return NULL;
        run->files = nf;
        run->cap_files = ncap;
    }
    struct trace_file_result *f = &run->files[run->n_files];
    memset(f, 0, sizeof(*f));
    f->path = strdup(path ? path : "");
    f->title = title ? strdup(title) : NULL;
    if (!f->path || (title && !f->title)) {
        file_free(f);
        return NULL;
    }
    f->outcome = TRACE_OUTCOME_PASS;
    run->n_files++;
    return f;
}

static int add_with_reason(struct trace_run *run, const char *path, const char *title, enum trace_outcome o,
                           const char *reason)
{
    struct trace_file_result *f = trace_run_add(run, path, title);
    if (!f)
        return -ENOMEM;
    f->outcome = o;
    f->reason = strdup(reason ? reason : "");
    return f->reason ? 0 : -ENOMEM;
}

int trace_run_add_unusable(struct trace_run *run, const char *path, const char *reason)
{
    return add_with_reason(run, path, NULL, TRACE_OUTCOME_UNUSABLE, reason);
}

int trace_run_add_skip(struct trace_run *run, const char *path, const char *title, const char *reason)
{
    return add_with_reason(run, path, title, TRACE_OUTCOME_SKIP, reason);
}

int trace_file_set_basis(struct trace_file_result *f, const char *text)
{
    char *copy = strdup(text ? text : "");
    if (!copy)
        return -ENOMEM;
    free(f->basis);
    f->basis = copy;
    return 0;
}

struct trace_check *trace_file_add_check(struct trace_file_result *f)
{
    if (f->n_checks == f->cap_checks) {
        size_t ncap = f->cap_checks ? f->cap_checks * 2 : 16;
        struct trace_check *nc = realloc(f->checks, ncap * sizeof(*nc));
        if (!nc)
            return NULL;
        f->checks = nc;
        f->cap_checks = ncap;
    }
    struct trace_check *c = &f->checks[f->n_checks++];
    memset(c, 0, sizeof(*c));
    c->pass = true;
    return c;
}

int trace_check_fail(struct trace_check *c, unsigned bits, const char *fmt, ...)
{
    c->pass = false;
    c->failures |= bits;
    if (!c->summary[0]) {
        va_list ap;
        va_start(ap, fmt);
        verrf(c->summary, sizeof c->summary, fmt, ap);
        va_end(ap);
    }
    if (!c->detail && !(c->detail = calloc(1, sizeof(*c->detail))))
        return -ENOMEM;
    return 0;
}

void trace_run_summarize(const struct trace_run *run, struct trace_run_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->files = run->n_files;
    for (size_t i = 0; i < run->n_files; i++) {
        const struct trace_file_result *f = &run->files[i];
        switch (f->outcome) {
        case TRACE_OUTCOME_PASS: s->passed++; break;
        case TRACE_OUTCOME_FAIL: s->failed++; break;
        case TRACE_OUTCOME_SKIP: s->skipped++; break;
        case TRACE_OUTCOME_UNUSABLE: s->unusable++; break;
        }
        s->checks += f->n_checks;
        for (size_t k = 0; k < f->n_checks; k++)
            s->checks_failed += !f->checks[k].pass;
    }
}

int trace_run_exit_code(const struct trace_run *run)
{
    struct trace_run_summary s;
    trace_run_summarize(run, &s);
    if (s.unusable)
        return TRACE_EXIT_UNUSABLE;
    return s.failed || (run->strict && s.skipped) ? TRACE_EXIT_FAIL : TRACE_EXIT_PASS;
}

const char *trace_outcome_name(enum trace_outcome o)
{
    switch (o) {
    case TRACE_OUTCOME_PASS: return "pass";
    case TRACE_OUTCOME_FAIL: return "fail";
    case TRACE_OUTCOME_SKIP: return "skip";
    case TRACE_OUTCOME_UNUSABLE: return "unusable";
    }
    return "?";
}
