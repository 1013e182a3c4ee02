/* tests/test_media_paths.c — media paths from traces, configuration files and
 * the command line are untrusted (issue 13, audit finding 1): a name leaving
 * the media directory ("..", absolute, a symlink) is refused with its place,
 * an existing file scsisim did not create is left alone without --force,
 * media files are created 0600, and file media above media-max needs it
 * raised.  Each case goes through `scsisim run` or `scsisim controller` and
 * checks the victim file afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sim/config/config.h"
#include "sim/store/media_file.h"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"

struct place {
    char top[4096];     /* the test's folder */
    char dir[4200];     /* top/md: the media directory */
    char victim[4200];  /* top/victim.txt: must never change */
    char trace[4200];
};

static const char victim_text[] = "precious data\n";

static void place_init(struct place *p)
{
    proc_tmpdir(p->top, sizeof p->top, "mediapaths");
    snprintf(p->dir, sizeof p->dir, "%s/md", p->top);
    snprintf(p->victim, sizeof p->victim, "%s/victim.txt", p->top);
    snprintf(p->trace, sizeof p->trace, "%s/t.trace", p->top);
    ck_assert_int_eq(mkdir(p->dir, 0700), 0);
    FILE *f = fopen(p->victim, "w");
    ck_assert_ptr_nonnull(f);
    fputs(victim_text, f);
    fclose(f);
}

static void victim_intact(const char *path)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_str_eq(buf, victim_text);
}

/* A trace whose drive 0:0 has `drive` settings and gets one 512-byte WRITE. */
static void write_trace(const struct place *p, const char *drive)
{
    FILE *f = fopen(p->trace, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!scsitrace 1\n@title \"media\"\n@drive 0:0 %s\n\n"
               "- H > - ua CMD 00 00 00 00 00 00\n"
               "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n"
               "- H > - w CMD 2a 00 00 00 00 00 00 00 01 00 len=512 dir=out\n- H > - w DOUT ",
            drive);
    for (int i = 0; i < 512; i++)
        fputs("ab", f);
    fputs("\n- H < - w STATUS GOOD\n", f);
    fclose(f);
}

/* scsisim run [extra] --media-dir DIR TRACE: its exit status; *err (malloc) what it printed. */
static int run_trace(const struct place *p, const char *extra, char **out)
{
    const char *args[8];
    int n = 0;
    args[n++] = "run";
    if (extra)
        args[n++] = extra;
    args[n++] = "--media-dir";
    args[n++] = p->dir;
    args[n++] = p->trace;
    args[n] = NULL;
    struct proc_result r;
    proc_scsisim(args, &r);
    size_t len = strlen(r.out) + strlen(r.err) + 1;
    *out = malloc(len);
    ck_assert_ptr_nonnull(*out);
    snprintf(*out, len, "%s%s", r.out, r.err);
    int status = r.status;
    proc_result_free(&r);
    return status;
}

static void expect_refused(const struct place *p, const char *drive, const char *where, const char *what)
{
    write_trace(p, drive);
    char *out;
    int status = run_trace(p, NULL, &out);
    ck_assert_msg(status == 2, "%s: exit %d, output:\n%s", drive, status, out);
    char loc[4300];
    snprintf(loc, sizeof loc, "t.trace:%s: error: ", where);
    ck_assert_msg(strstr(out, loc) && strstr(out, what), "%s: want '%s' and '%s' in:\n%s", drive, loc, what, out);
    free(out);
    victim_intact(p->victim);
}

START_TEST(a_trace_cannot_leave_the_media_directory)
{
    struct place p;
    place_init(&p);
    expect_refused(&p, "capacity=1M media=../victim.txt", "3:30", "has a '..' component");
    char abs[4300];
    snprintf(abs, sizeof abs, "capacity=1M media=%s", p.victim);
    expect_refused(&p, abs, "3:30", "is an absolute path");
    /* A symlink inside the directory that points out of it. */
    char link[4300];
    snprintf(link, sizeof link, "%s/link.img", p.dir);
    ck_assert_int_eq(symlink(p.victim, link), 0);
    expect_refused(&p, "capacity=1M media=link.img", "3:30", "symbolic link");
    /* ... and a symlinked folder on the way. */
    snprintf(link, sizeof link, "%s/sub", p.dir);
    ck_assert_int_eq(symlink(p.top, link), 0);
    expect_refused(&p, "capacity=1M media=sub/victim.txt", "3:30", "symbolic link");
    /* Nor may a trace move the directory. */
    write_trace(&p, "capacity=1M");
    FILE *f = fopen(p.trace, "r+");
    char body[8192];
    size_t n = fread(body, 1, sizeof body - 1, f);
    body[n] = '\0';
    rewind(f);
    fprintf(f, "#!scsitrace 1\n@controller media-dir=/etc\n%s", strchr(body, '\n') + 1);
    fclose(f);
    char *out;
    ck_assert_int_eq(run_trace(&p, NULL, &out), 2);
    ck_assert_msg(strstr(out, "t.trace:2:23: error: media-dir can be set only by a configuration file"), "%s", out);
    free(out);
    proc_rmdir(p.dir);
    proc_rmdir(p.top);
}
END_TEST

START_TEST(an_existing_file_not_ours_needs_force)
{
    struct place p;
    place_init(&p);
    char other[4300];
    snprintf(other, sizeof other, "%s/notes.txt", p.dir);
    FILE *f = fopen(other, "w");
    fputs(victim_text, f);
    fclose(f);
    expect_refused(&p, "capacity=1M media=notes.txt", "3:30", "is not a scsisim media file");
    victim_intact(other); /* neither extended nor written */
    struct stat st;
    ck_assert_int_eq(stat(other, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)strlen(victim_text));
    /* With --force it is taken (and marked, so the next run needs no --force). */
    char *out;
    ck_assert_msg(run_trace(&p, "--force", &out) == 0, "%s", out);
    free(out);
    ck_assert_int_eq(stat(other, &st), 0);
    ck_assert_int_eq(st.st_size, 1 << 20);
    ck_assert_msg(run_trace(&p, NULL, &out) == 0, "%s", out);
    free(out);
    proc_rmdir(p.dir);
    proc_rmdir(p.top);
}
END_TEST

START_TEST(media_files_are_created_0600_and_marked)
{
    struct place p;
    place_init(&p);
    write_trace(&p, "capacity=1M media=disk0.img");
    char *out;
    ck_assert_msg(run_trace(&p, NULL, &out) == 0, "%s", out);
    free(out);
    char path[4300];
    snprintf(path, sizeof path, "%s/disk0.img", p.dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char v[8];
    ck_assert_int_gt(getxattr(path, SIM_MEDIA_XATTR, v, sizeof v), 0);
    /* Ours: a second run uses it again without --force. */
    ck_assert_msg(run_trace(&p, NULL, &out) == 0, "%s", out);
    free(out);
    proc_rmdir(p.dir);
    proc_rmdir(p.top);
}
END_TEST

START_TEST(large_file_media_needs_media_max)
{
    struct place p;
    place_init(&p);
    expect_refused(&p, "capacity=16T media=big.img", "3:21", "above media-max = 4T");
    char big[4300];
    snprintf(big, sizeof big, "%s/big.img", p.dir);
    ck_assert_int_ne(access(big, F_OK), 0);
    /* Memory media of that size is fine: nothing lands on disk. */
    write_trace(&p, "capacity=16T");
    char *out;
    ck_assert_msg(run_trace(&p, NULL, &out) == 0, "%s", out);
    free(out);
    proc_rmdir(p.dir);
    proc_rmdir(p.top);
}
END_TEST

START_TEST(the_controller_command_follows_the_same_rules)
{
    struct place p;
    place_init(&p);
    char sock[4300], drive[4400];
    snprintf(sock, sizeof sock, "%s/c.sock", p.top);
    snprintf(drive, sizeof drive, "0:0,capacity=1M,media=%s", p.victim);
    const char *args[] = { "controller", "--socket", sock, "--media-dir", p.dir, "--drive", drive, NULL };
    struct proc_result r;
    proc_scsisim(args, &r);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--drive") && strstr(r.err, "column 23: error: media: ") &&
                  strstr(r.err, "is an absolute path"), "%s", r.err);
    proc_result_free(&r);
    victim_intact(p.victim);
    proc_rmdir(p.dir);
    proc_rmdir(p.top);
}
END_TEST

START_TEST(the_store_itself_refuses_symlinks_and_foreign_files)
{
    struct place p;
    place_init(&p);
    char link[4300], why[512];
    snprintf(link, sizeof link, "%s/l.img", p.dir);
    ck_assert_int_eq(symlink(p.victim, link), 0);
    /* Whoever builds a configuration by hand still cannot follow a link. */
    ck_assert_int_eq(sim_media_file_open(link, true, why, sizeof why), -ELOOP);
    ck_assert_int_eq(sim_media_file_open(p.victim, true, why, sizeof why), -EPERM);
    ck_assert_ptr_nonnull(strstr(why, "--force"));
    victim_intact(p.victim);
    proc_rmdir(p.dir);
    proc_rmdir(p.top);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("media_paths");
    TCase *tc = tcase_create("media_paths");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_trace_cannot_leave_the_media_directory);
    tcase_add_test(tc, an_existing_file_not_ours_needs_force);
    tcase_add_test(tc, media_files_are_created_0600_and_marked);
    tcase_add_test(tc, large_file_media_needs_media_max);
    tcase_add_test(tc, the_controller_command_follows_the_same_rules);
    tcase_add_test(tc, the_store_itself_refuses_symlinks_and_foreign_files);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
