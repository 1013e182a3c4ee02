/* tests/test_media_private.c — without --media-dir every trace's drives get
 * a media directory of their own (sim_media_private_subdir, made by the
 * replay): two traces that name their media alike never see each other's
 * data, whether they run one after the other, at once, in shard children or
 * with the controller in a process of its own.  Before, both used one file
 * in the run's private directory: the second trace read what the first had
 * written, and traces replayed at once wrote over each other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static char dir[1024], a_path[1100], b_path[1100];

static const char head[] = "#!scsitrace 1\n"
                           "@title \"%s\"\n"
                           "@basis model \"a drive on file media starts empty (docs/config.md)\"\n"
                           "@controller init-time=0\n"
                           "@drive 0:0 capacity=4M media=same.img\n"
                           "- H > - ua CMD 00 00 00 00 00 00\n"
                           "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01\n";

static void write_file(const char *path, const char *title, const char *body)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, head, title);
    fputs(body, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "media-private");
    snprintf(a_path, sizeof a_path, "%s/a.trace", dir);
    snprintf(b_path, sizeof b_path, "%s/b.trace", dir);
    /* a writes 11h over block 0 (FUA: on the media at once); b, on a drive
     * of the same media name, must find it as a new drive has it: zeros. */
    write_file(a_path, "a writes block 0 of same.img",
               "- H > - w1 CMD 2a 08 00 00 00 00 00 00 01 00 len=512 dir=out\n"
               "- H > - w1 DOUT 11*512\n"
               "- H < - w1 STATUS GOOD\n");
    write_file(b_path, "b finds block 0 of its own same.img empty",
               "- H > - r1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"
               "- H < - r1 DIN 00*512\n"
               "- H < - r1 STATUS GOOD\n");
}

static void teardown(void)
{
    proc_rmdir(dir);
}

/* scsisim run [mode...] a.trace b.trace: both pass. */
static void run_both(const char *const *mode)
{
    const char *argv[10] = { "run" };
    int n = 1;
    for (int i = 0; mode[i]; i++)
        argv[n++] = mode[i];
    argv[n++] = a_path;
    argv[n++] = b_path;
    argv[n] = NULL;
    struct proc_result r;
    proc_scsisim(argv, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "2 passed, 0 failed"), "mode %s %s: exit %d:\n%s%s",
                  mode[0] ? mode[0] : "in process", mode[0] && mode[1] ? mode[1] : "", r.status, r.out, r.err);
    proc_result_free(&r);
}

START_TEST(alike_names_one_after_the_other)
{
    static const char *const one[] = { "-j1", NULL };
    static const char *const isolated[] = { "--isolate", "-j1", NULL };
    static const char *const two[] = { "--two-process", "-j1", NULL };
    run_both(one);
    run_both(isolated);
    run_both(two);
}
END_TEST

/* At once: b's read may land before or after a's write; in one shared file
 * it found 11h whenever it came after. */
START_TEST(alike_names_at_once)
{
    static const char *const two_at_once[] = { "-j2", NULL };
    static const char *const isolated[] = { "--isolate", "-j2", NULL };
    for (int i = 0; i < 10; i++)
        run_both(two_at_once);
    run_both(isolated);
}
END_TEST

/* A directory the user names keeps the files by their names, for the user
 * to look at after the run: there the names are the user's to keep apart. */
START_TEST(a_named_media_directory_keeps_the_names)
{
    char md[1200], img[1300];
    snprintf(md, sizeof md, "%s/md", dir);
    ck_assert_int_eq(mkdir(md, 0700), 0);
    const char *argv[] = { "run", "--media-dir", md, a_path, NULL };
    struct proc_result r;
    proc_scsisim(argv, &r);
    ck_assert_msg(r.status == 0, "exit %d:\n%s%s", r.status, r.out, r.err);
    proc_result_free(&r);
    snprintf(img, sizeof img, "%s/same.img", md);
    struct stat st;
    ck_assert_msg(stat(img, &st) == 0 && st.st_size == 4 << 20, "%s: not kept at the drive's size", img);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("media_private");
    TCase *tc = tcase_create("media_private");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, alike_names_one_after_the_other);
    tcase_add_test(tc, alike_names_at_once);
    tcase_add_test(tc, a_named_media_directory_keeps_the_names);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
