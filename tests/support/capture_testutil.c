/* tests/support/capture_testutil.c — see capture_testutil.h. */
#include "tests/support/capture_testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "conformance/replay/trace_sim.h"
#include "tests/support/proc.h"

char *ct_export_import(const struct trace *t, const char *path, size_t *len, char *why, size_t wlen)
{
    struct located_error err;
    struct capture_export_stats xs;
    if (capture_export(t, path, &xs, &err) != 0) {
        snprintf(why, wlen, "export to %s failed: %s", path, err.message);
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    if (!out) {
        snprintf(why, wlen, "open_memstream failed");
        return NULL;
    }
    const char *files[1] = { path };
    struct capture_stats st;
    int rc = capture_import(files, 1, NULL, out, &st, &err);
    fclose(out);
    if (rc != 0) {
        snprintf(why, wlen, "import of %s failed: %s", path, err.message);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

void ct_import_file(struct ct_import *r, const char *path, const struct capture_options *opt)
{
    size_t len = 0;
    memset(r, 0, sizeof *r);
    FILE *out = open_memstream(&r->text, &len);
    ck_assert_ptr_nonnull(out);
    const char *files[1] = { path };
    r->rc = capture_import(files, 1, opt, out, &r->st, &r->err);
    fclose(out);
    if (r->rc == 0) {
        const char *slash = strrchr(path, '/');
        struct trace *t = NULL;
        struct located_error e;
        int prc = trace_parse_buffer(slash ? slash + 1 : path, r->text, len, &t, &e);
        char msg[1024];
        located_format(&e, msg, sizeof msg);
        ck_assert_msg(prc == 0, "the imported trace does not parse: %s\n%s", msg, r->text);
        trace_free(t);
    }
}

void ct_import_free(struct ct_import *r)
{
    free(r->text);
    r->text = NULL;
}

void ct_has(const struct ct_import *r, const char *want)
{
    ck_assert_msg(r->rc == 0, "import failed (%d): %s", r->rc, r->err.message);
    ck_assert_msg(strstr(r->text, want), "expected '%s' in:\n%s", want, r->text);
}

void ct_lacks(const struct ct_import *r, const char *unwanted)
{
    ck_assert_msg(!strstr(r->text, unwanted), "did not expect '%s' in:\n%s", unwanted, r->text);
}

void ct_import_and_replay(const char *capture, const char *trace, const char *says)
{
    struct proc_result pr;
    const char *imp[] = { "import", capture, "-o", trace, NULL };
    proc_scsisim(imp, &pr);
    ck_assert_msg(pr.status == 0 && strstr(pr.err, says), "import exited %d:\n%s%s", pr.status, pr.out, pr.err);
    proc_result_free(&pr);
    const char *run[] = { "run", trace, NULL };
    proc_scsisim(run, &pr);
    ck_assert_msg(pr.status == 0 && strstr(pr.out, "1 passed, 0 failed"), "run exited %d:\n%s%s", pr.status, pr.out,
                  pr.err);
    proc_result_free(&pr);
}
