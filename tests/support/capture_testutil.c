/* tests/support/capture_testutil.c — see capture_testutil.h. */
#include "tests/support/capture_testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "capture/capture.h"

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
