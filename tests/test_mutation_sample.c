/* tests/test_mutation_sample.c — the mutation generator of `make mutation`
 * (build/tools/mutate, tools/mutate/; docs/mutation.md), the built program:
 * each operator at the place it names (FILE:LINE:COLUMN:OPERATOR), nothing
 * in comments, literals, preprocessor lines, initializers, declarations or
 * release calls; `apply` writes a mutated copy and leaves the source alone;
 * a seed picks the same sample every time; a bad id or file is a clear
 * error.  The sampled run against the suite is mk/mutation.sh --check, at
 * the end of `make check`. */
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static char dir[256], src[320], tool[512];

/* Line numbers matter: the ids below name them. */
static const char fixture[] =
    "#include <stdlib.h>\n"                                  /* 1 */
    "#define SMALL(a) ((a) < 2)\n"                           /* 2 */
    "static const int table[] = { 1 < 2, 3 };\n"             /* 3 */
    "int g(int);\n"                                          /* 4 */
    "int f(int a, int b, int *p)\n"                          /* 5 */
    "{\n"                                                    /* 6 */
    "    if (a < 3 && b)\n"                                  /* 7 */
    "        g(a);\n"                                        /* 8 */
    "    int x = a; /* a < b && c */\n"                      /* 9 */
    "    const char *s = \"a == b || c\";\n"                 /* 10 */
    "    free(p);\n"                                         /* 11 */
    "    x += s[0] == 'x';\n"                                /* 12 */
    "    return -1;\n"                                       /* 13 */
    "}\n";

static const char *const expected[] = {
    "7:5:negif\tif (a < 3 && b)\tif (!(a < 3 && b))",
    "7:11:flip\tif (a < 3 && b)\tif (a >= 3 && b)",
    "7:11:bound\tif (a < 3 && b)\tif (a <= 3 && b)",
    "7:13:plus1\tif (a < 3 && b)\tif (a < (3 + 1) && b)",
    "7:13:minus1\tif (a < 3 && b)\tif (a < (3 - 1) && b)",
    "7:15:andor\tif (a < 3 && b)\tif (a < 3 || b)",
    "8:9:drop\tg(a);\t(void)0;",
    "12:5:drop\tx += s[0] == 'x';\t(void)0;",
    "12:15:flip\tx += s[0] == 'x';\tx += s[0] != 'x';",
    "13:5:ret\treturn -1;\treturn 0;",
};

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "mutate");
    snprintf(src, sizeof src, "%s/fix.c", dir);
    FILE *f = fopen(src, "w");
    ck_assert_ptr_nonnull(f);
    fputs(fixture, f);
    fclose(f);
    char bin[512];
    snprintf(bin, sizeof bin, "%s", proc_scsisim_bin());
    snprintf(tool, sizeof tool, "%s/tools/mutate", dirname(bin));
}

static void teardown(void)
{
    proc_rmdir(dir);
}

static int mutate(const char *const *args, struct proc_result *r)
{
    const char *argv[12] = { tool };
    for (int i = 0; args[i] && i < 10; i++)
        argv[i + 1] = args[i];
    proc_run(argv, 0, 30000, r);
    return r->status;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "%s not written", path);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(every_operator_at_its_place_and_nothing_else)
{
    struct proc_result r;
    ck_assert_int_eq(mutate((const char *[]){ "list", src, NULL }, &r), 0);
    struct proc_result *rp = &r;
    char want[8192] = "";
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s:%s\n", src, expected[i]);
        strcat(want, line);
    }
    ck_assert_msg(strcmp(rp->out, want) == 0, "mutate list:\n%s\nwanted:\n%s", rp->out, want);
    proc_result_free(&r);
}
END_TEST

START_TEST(apply_writes_a_copy_and_leaves_the_source)
{
    char id[400], out[320];
    snprintf(id, sizeof id, "%s:7:15:andor", src);
    snprintf(out, sizeof out, "%s/copy.c", dir);
    struct proc_result r;
    ck_assert_int_eq(mutate((const char *[]){ "apply", id, out, NULL }, &r), 0);
    proc_result_free(&r);
    ck_assert_str_eq(slurp(src), fixture);
    char want[sizeof fixture + 400];
    snprintf(want, sizeof want, "#line 1 \"%s\"\n%s", src, fixture);
    char *at = strstr(want, "a < 3 && b");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "a < 3 || b", 10);
    ck_assert_str_eq(slurp(out), want);
}
END_TEST

START_TEST(a_seed_picks_the_same_sample)
{
    struct proc_result a, b, c, all;
    ck_assert_int_eq(mutate((const char *[]){ "list", "--seed", "7", "--sample", "4", src, NULL }, &a), 0);
    ck_assert_int_eq(mutate((const char *[]){ "list", "--seed", "7", "--sample", "4", src, NULL }, &b), 0);
    ck_assert_int_eq(mutate((const char *[]){ "list", "--seed", "8", "--sample", "4", src, NULL }, &c), 0);
    ck_assert_int_eq(mutate((const char *[]){ "list", src, NULL }, &all), 0);
    ck_assert_str_eq(a.out, b.out);
    ck_assert_str_ne(a.out, c.out);
    /* Four lines, each one of the full list, in its order. */
    unsigned n = 0;
    const char *from = all.out;
    for (char *p = a.out, *nl; (nl = strchr(p, '\n')); p = nl + 1, n++) {
        *nl = '\0';
        const char *hit = strstr(from, p);
        ck_assert_msg(hit, "sampled '%s' is not in the full list after the previous one", p);
        from = hit + strlen(p);
    }
    ck_assert_uint_eq(n, 4);
    proc_result_free(&a), proc_result_free(&b), proc_result_free(&c), proc_result_free(&all);
}
END_TEST

START_TEST(bad_ids_and_files_say_what_and_where)
{
    char id[400], out[320];
    struct proc_result r;
    snprintf(out, sizeof out, "%s/copy.c", dir);
    ck_assert_int_eq(mutate((const char *[]){ "apply", "core/sgl.c:12", out, NULL }, &r), 2);
    ck_assert_msg(strstr(r.err, "core/sgl.c:12: not a mutant id; expected FILE:LINE:COLUMN:OPERATOR"), "%s", r.err);
    proc_result_free(&r);
    snprintf(id, sizeof id, "%s:99:1:flip", src);
    ck_assert_int_eq(mutate((const char *[]){ "apply", id, out, NULL }, &r), 2);
    ck_assert_msg(strstr(r.err, "has no flip mutant at line 99, column 1"), "%s", r.err);
    proc_result_free(&r);
    snprintf(id, sizeof id, "%s/absent.c:1:1:drop", dir);
    ck_assert_int_eq(mutate((const char *[]){ "apply", id, out, NULL }, &r), 3);
    ck_assert_msg(strstr(r.err, "absent.c: cannot read: No such file or directory"), "%s", r.err);
    proc_result_free(&r);
    snprintf(id, sizeof id, "%s:8:9:drop", src);
    snprintf(out, sizeof out, "%s/no-such-folder/copy.c", dir);
    ck_assert_int_eq(mutate((const char *[]){ "apply", id, out, NULL }, &r), 3);
    ck_assert_msg(strstr(r.err, "no-such-folder/copy.c: cannot write: No such file or directory"), "%s", r.err);
    proc_result_free(&r);
    ck_assert_int_eq(mutate((const char *[]){ "list", "--sample", "x", src, NULL }, &r), 2);
    ck_assert_msg(strstr(r.err, "--sample x: not a count"), "%s", r.err);
    proc_result_free(&r);
}
END_TEST

/* Every mutant the lists name (tools/mutate/equivalent.txt, known-survivors.txt)
 * still exists at its FILE:LINE:COLUMN:OPERATOR: an edit that moves a listed
 * line must move its id too, or the list silently covers another mutant and
 * leaves its own unaccounted for.  Run from the top of the tree, as make
 * check does. */
START_TEST(listed_ids_name_existing_mutants)
{
    static const char *const lists[] = { "tools/mutate/equivalent.txt", "tools/mutate/known-survivors.txt" };
    unsigned checked = 0;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        FILE *f = fopen(lists[l], "r");
        ck_assert_msg(f, "%s: cannot read (run from the top of the tree)", lists[l]);
        char line[4096];
        unsigned lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            if (line[0] == '#' || line[0] == '\n')
                continue;
            char id[512], file[512];
            ck_assert_msg(sscanf(line, "%511s", id) == 1, "%s:%u: no id", lists[l], lineno);
            snprintf(file, sizeof file, "%s", id);
            char *colon = strchr(file, ':');
            ck_assert_msg(colon, "%s:%u: %s is not FILE:LINE:COLUMN:OPERATOR", lists[l], lineno, id);
            *colon = '\0';
            struct proc_result r;
            ck_assert_int_eq(mutate((const char *[]){ "list", file, NULL }, &r), 0);
            char want[520];
            snprintf(want, sizeof want, "%s\t", id);
            bool found = strncmp(r.out, want, strlen(want)) == 0;
            for (const char *p = strchr(r.out, '\n'); !found && p; p = strchr(p + 1, '\n'))
                found = strncmp(p + 1, want, strlen(want)) == 0;
            proc_result_free(&r);
            ck_assert_msg(found, "%s:%u: %s names no mutant of %s (its line moved? `mutate list %s`)", lists[l],
                          lineno, id, file, file);
            checked++;
        }
        fclose(f);
    }
    ck_assert_uint_gt(checked, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mutation_sample");
    TCase *tc = tcase_create("generator");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_operator_at_its_place_and_nothing_else);
    tcase_add_test(tc, apply_writes_a_copy_and_leaves_the_source);
    tcase_add_test(tc, a_seed_picks_the_same_sample);
    tcase_add_test(tc, bad_ids_and_files_say_what_and_where);
    tcase_add_test(tc, listed_ids_name_existing_mutants);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
