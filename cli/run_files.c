/* cli/run_files.c — see cli/run_files.h. */
#include "cli/run_files.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/tbuf.h"

char *run_files_exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return strdup(buf[0] ? buf : "/");
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *run_files_suite_dir(char **tried)
{
    if (tried)
        *tried = NULL;
    const char *env = getenv("SCSISIM_TRACES");
    if (env && env[0]) {
        if (tried)
            *tried = strdup(env);
        return is_dir(env) ? strdup(env) : NULL;
    }
    char *exe = run_files_exe_dir();
    if (!exe)
        return NULL;
    static const char *const rel[] = { "../traces", "../../traces", "../share/scsisim/traces", NULL };
    char *found = NULL;
    struct tbuf list = { 0 }; /* the places looked at, for the message when none holds the suite */
    for (size_t i = 0; rel[i] && !found; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", exe, rel[i]);
        char real[PATH_MAX];
        const char *shown = realpath(path, real) ? real : path;
        if (is_dir(shown))
            found = strdup(shown);
        tbuf_printf(&list, "%s%s", list.len ? ", " : "", shown);
    }
    free(exe);
    if (tried && !list.oom)
        *tried = list.s; /* ownership moves to the caller */
    else
        tbuf_free(&list);
    return found;
}

static int push(struct run_files *f, const char *path)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        char **p = realloc(f->paths, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        f->paths = p;
        f->cap = cap;
    }
    if (!(f->paths[f->n] = strdup(path)))
        return -ENOMEM;
    f->n++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

static int add_dir(struct run_files *f, const char *dir, unsigned depth)
{
    if (depth > 32)
        return 0; /* deeper than any suite: a loop of bind mounts, not traces */
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    size_t first = f->n;
    int rc = 0;
    char **subdirs = NULL;
    size_t nsub = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!path) {
            rc = -ENOMEM;
            break;
        }
        snprintf(path, len, "%s%s%s", dir, has_suffix(dir, "/") ? "" : "/", e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char **s = realloc(subdirs, (nsub + 1) * sizeof *s);
            if (!s) {
                free(path);
                rc = -ENOMEM;
                break;
            }
            subdirs = s;
            subdirs[nsub++] = path;
            continue;
        }
        if (has_suffix(e->d_name, ".trace") && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = push(f, path);
        free(path);
    }
    closedir(d);
    /* Files of this folder first, then each subfolder, all by name. */
    if (rc == 0 && f->n > first) /* a folder of folders has no files: paths may still be NULL */
        qsort(f->paths + first, f->n - first, sizeof *f->paths, by_name);
    if (subdirs)
        qsort(subdirs, nsub, sizeof *subdirs, by_name);
    for (size_t i = 0; i < nsub; i++) {
        if (rc == 0) {
            int r = add_dir(f, subdirs[i], depth + 1);
            if (r == -ENOMEM)
                rc = r;
        }
        free(subdirs[i]);
    }
    free(subdirs);
    return rc;
}

int run_files_add(struct run_files *f, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return add_dir(f, path, 0);
    return push(f, path);
}

static bool matches_any(const char *path, const char *const *globs, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t g = 0; g < n; g++)
        if (fnmatch(globs[g], path, 0) == 0 || fnmatch(globs[g], base, 0) == 0)
            return true;
    return false;
}

void run_files_filter(struct run_files *f, const char *const *globs, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (matches_any(f->paths[i], globs, n))
            f->paths[keep++] = f->paths[i];
        else
            free(f->paths[i]);
    }
    f->n = keep;
}

void run_files_shard(struct run_files *f, unsigned index, unsigned n)
{
    size_t keep = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (n && i % n == index - 1)
            f->paths[keep++] = f->paths[i];
        else
            free(f->paths[i]);
    }
    f->n = keep;
}

void run_files_free(struct run_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->paths[i]);
    free(f->paths);
    memset(f, 0, sizeof *f);
}
