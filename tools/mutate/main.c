/* tools/mutate/main.c — the mutation generator of `make mutation`
 * (docs/mutation.md): lists the operator mutants of C sources (ops.h) and
 * writes one of them as a mutated copy.  It never writes a source: the copy
 * goes where it is told (mk/mutation.sh puts it under build/mutation/).
 *
 *   mutate list [--seed S] [--sample N] FILE...
 *       one line per mutant: ID <tab> the original line <tab> the mutated line
 *       (ID is FILE:LINE:COLUMN:OPERATOR); with --sample, the N mutants of
 *       the lowest hash of "S:ID" (FNV-1a), still in source order: a seed
 *       picks a sample, the same one every time, and a mutant's membership
 *       does not depend on the order of the files
 *   mutate apply ID OUT
 *       writes ID's file, mutated, to OUT, headed by #line 1 "FILE" so that
 *       diagnostics and __FILE__ name the original
 *
 * Exit status: 0 done, 2 bad arguments or an ID that names no mutant, 3 a
 * file that cannot be read or written. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tbuf.h"
#include "tools/mutate/lex.h"
#include "tools/mutate/ops.h"

static const char usage[] =
    "usage: mutate list [--seed S] [--sample N] FILE...\n"
    "       mutate apply FILE:LINE:COLUMN:OPERATOR OUT\n"
    "Operators: flip bound plus1 minus1 negif drop andor ret (tools/mutate/ops.h).\n"
    "Only copies are written; see docs/mutation.md.\n";

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mutate: %s: cannot read: %s (paths are relative to the top of the tree)\n", path,
                strerror(errno));
        return NULL;
    }
    struct tbuf b = { 0 };
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        tbuf_put(&b, chunk, n);
    int bad = ferror(f) || b.oom;
    fclose(f);
    if (bad) {
        fprintf(stderr, "mutate: %s: cannot read it whole\n", path);
        tbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    if (!b.s)
        return calloc(1, 1);
    return b.s;
}

/* One source, its tokens and its mutants. */
struct unit {
    char *src;
    size_t len;
    struct toks toks;
    struct mutants muts;
};

static int unit_load(const char *path, struct unit *u)
{
    memset(u, 0, sizeof *u);
    if (!(u->src = slurp(path, &u->len)))
        return 3;
    if (lex(u->src, u->len, &u->toks) < 0 || mutants_of(u->src, &u->toks, &u->muts) < 0) {
        fprintf(stderr, "mutate: %s: out of memory\n", path);
        return 3;
    }
    return 0;
}

static void unit_free(struct unit *u)
{
    free(u->src);
    toks_free(&u->toks);
    mutants_free(&u->muts);
}

/* Line `line` of text, without its newline and leading blanks, into b. */
static void put_line(struct tbuf *b, const char *text, size_t len, int line)
{
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (text[i] == '\n')
            l++;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    size_t e = i;
    while (e < len && text[e] != '\n')
        e++;
    for (; i < e; i++)
        tbuf_putc(b, text[i] == '\t' ? ' ' : text[i]);
}

static void print_mutant(const char *path, const struct unit *u, const struct mutant *m)
{
    struct tbuf mut = { 0 }, out = { 0 };
    mutant_apply(u->src, u->len, m, &mut);
    tbuf_printf(&out, "%s:%d:%d:%s\t", path, m->line, m->col, m->op);
    put_line(&out, u->src, u->len, m->line);
    tbuf_putc(&out, '\t');
    put_line(&out, mut.s ? mut.s : "", mut.len, m->line);
    printf("%s\n", tbuf_str(&out));
    tbuf_free(&mut);
    tbuf_free(&out);
}

static uint64_t fnv1a(const char *a, const char *b)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *s = a; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ ':') * 1099511628211ull;
    for (const char *s = b; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct pick {
    uint64_t hash;
    size_t file, index;
};

static int by_hash(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int by_place(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmd_list(int argc, char **argv)
{
    const char *seed = "1";
    long sample = -1;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "mutate list: %s needs a value\n%s", argv[i], usage);
            return 2;
        }
        char *end;
        if (strcmp(argv[i], "--seed") == 0) {
            seed = argv[i + 1];
        } else if (strcmp(argv[i], "--sample") == 0) {
            sample = strtol(argv[i + 1], &end, 10);
            if (*argv[i + 1] == '\0' || *end || sample < 0) {
                fprintf(stderr, "mutate list: --sample %s: not a count (a whole number >= 0)\n", argv[i + 1]);
                return 2;
            }
        } else {
            fprintf(stderr, "mutate list: unknown option %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "mutate list: no FILE\n%s", usage);
        return 2;
    }
    int nfiles = argc - i, rc = 0;
    struct unit *u = calloc((size_t)nfiles, sizeof *u);
    struct pick *picks = NULL;
    size_t npicks = 0;
    if (!u)
        return 3;
    for (int f = 0; f < nfiles && rc == 0; f++) {
        rc = unit_load(argv[i + f], &u[f]);
        if (rc == 0) {
            struct pick *np = realloc(picks, (npicks + u[f].muts.n + 1) * sizeof *np);
            if (!np) {
                rc = 3;
                break;
            }
            picks = np;
            for (size_t m = 0; m < u[f].muts.n; m++) {
                const struct mutant *mm = &u[f].muts.v[m];
                char id[4200];
                snprintf(id, sizeof id, "%s:%d:%d:%s", argv[i + f], mm->line, mm->col, mm->op);
                picks[npicks++] = (struct pick){ .hash = fnv1a(seed, id), .file = (size_t)f, .index = m };
            }
        }
    }
    if (rc == 0) {
        if (sample >= 0 && (size_t)sample < npicks) {
            qsort(picks, npicks, sizeof *picks, by_hash);
            npicks = (size_t)sample;
        }
        qsort(picks, npicks, sizeof *picks, by_place);
        for (size_t p = 0; p < npicks; p++)
            print_mutant(argv[i + picks[p].file], &u[picks[p].file], &u[picks[p].file].muts.v[picks[p].index]);
    }
    for (int f = 0; f < nfiles; f++)
        unit_free(&u[f]);
    free(u);
    free(picks);
    return rc;
}

static int cmd_apply(const char *id, const char *out)
{
    /* FILE:LINE:COLUMN:OPERATOR, read from the right (a path may hold ':'). */
    char path[4096];
    int line, col;
    const char *c3 = strrchr(id, ':');
    const char *c2 = c3 ? memrchr(id, ':', (size_t)(c3 - id)) : NULL;
    const char *c1 = c2 ? memrchr(id, ':', (size_t)(c2 - id)) : NULL;
    if (!c1 || c1 == id || (size_t)(c1 - id) >= sizeof path || sscanf(c1, ":%d:%d:", &line, &col) != 2 ||
        !mutant_op_known(c3 + 1)) {
        fprintf(stderr, "mutate apply: %s: not a mutant id; expected FILE:LINE:COLUMN:OPERATOR as "
                        "`mutate list` prints it (operators: flip bound plus1 minus1 negif drop andor ret)\n", id);
        return 2;
    }
    memcpy(path, id, (size_t)(c1 - id));
    path[c1 - id] = '\0';
    struct unit u;
    int rc = unit_load(path, &u);
    const struct mutant *m = NULL;
    for (size_t i = 0; rc == 0 && i < u.muts.n; i++)
        if (u.muts.v[i].line == line && u.muts.v[i].col == col && strcmp(u.muts.v[i].op, c3 + 1) == 0)
            m = &u.muts.v[i];
    if (rc == 0 && !m) {
        fprintf(stderr, "mutate apply: %s: %s has no %s mutant at line %d, column %d (the source changed "
                        "since the id was listed? `mutate list %s` shows the current ones)\n",
                id, path, c3 + 1, line, col, path);
        rc = 2;
    }
    if (rc == 0) {
        struct tbuf b = { 0 };
        tbuf_printf(&b, "#line 1 \"%s\"\n", path);
        mutant_apply(u.src, u.len, m, &b);
        FILE *f = b.oom ? NULL : fopen(out, "wb");
        bool wrote = f && fwrite(b.s, 1, b.len, f) == b.len;
        if (f && fclose(f) != 0)
            wrote = false;
        if (!wrote) {
            fprintf(stderr, "mutate apply: %s: cannot write: %s\n", out, b.oom ? "out of memory" : strerror(errno));
            rc = 3;
        }
        tbuf_free(&b);
    }
    unit_free(&u);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return cmd_list(argc - 2, argv + 2);
    if (argc == 4 && strcmp(argv[1], "apply") == 0)
        return cmd_apply(argv[2], argv[3]);
    fputs(usage, stderr);
    return 2;
}
