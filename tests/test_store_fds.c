/* tests/test_store_fds.c — scsisim started with descriptors 0, 1 and 2
 * closed (`<&- >&- 2>&-`, as some service managers do) opens /dev/null on
 * them first (cli/main.c), so the store's files (media, journal, battery
 * copy) never take descriptor 0, 1 or 2: printed messages cannot land in a
 * media file, and the store's "fd < 0" checks never meet a descriptor 0. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static bool link_is(pid_t pid, int fd, const char *want_suffix, char *got, size_t len)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(p, got, len - 1);
    if (n < 0)
        return false;
    got[n] = '\0';
    size_t w = strlen(want_suffix);
    return (size_t)n >= w && !strcmp(got + n - w, want_suffix);
}

START_TEST(closed_standard_descriptors_become_dev_null_before_any_store_file)
{
    char dir[PATH_MAX], sock[PATH_MAX + 16];
    proc_tmpdir(dir, sizeof dir, "fds");
    snprintf(sock, sizeof sock, "%s/c.sock", dir);
    const char *bin = proc_scsisim_bin();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlives a failed test */
        close(0);
        close(1);
        close(2);
        execl(bin, "scsisim", "controller", "--socket", sock, "--media-dir", dir, "--drive",
              "0:0,media=d.img", (char *)NULL);
        _exit(127);
    }
    TESTUTIL_WAIT_FOR(access(sock, F_OK) == 0);   /* listening: the store has opened its files */
    ck_assert_msg(access(sock, F_OK) == 0, "the controller did not start (exit %d)", proc_wait(pid, 0));

    char got[PATH_MAX];
    for (int fd = 0; fd < 3; fd++)
        ck_assert_msg(link_is(pid, fd, "/dev/null", got, sizeof got), "descriptor %d is %s, not /dev/null", fd, got);
    int media_fd = -1;
    for (int fd = 0; fd < 1024 && media_fd < 0; fd++)
        if (link_is(pid, fd, "/d.img", got, sizeof got))
            media_fd = fd;
    ck_assert_msg(media_fd >= 3, "the media file is on descriptor %d", media_fd);

    kill(pid, SIGTERM);
    ck_assert_int_ge(proc_wait(pid, (int)TESTUTIL_PATIENCE_MS), 0);
    proc_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_fds");
    TCase *tc = tcase_create("fds");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, closed_standard_descriptors_become_dev_null_before_any_store_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
