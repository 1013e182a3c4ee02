/* tests/test_bus_twoproc_peer.c — who may attach to `scsisim controller`
 * (issue 13, audit finding 6): its socket is created 0600, and a peer whose
 * uid is neither the controller's nor root is refused with -EACCES even when
 * the socket file was opened up (SO_PEERCRED).  The second part needs root
 * (to connect as another uid) and says "not run" otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/bus/bus_proto.h"
#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/testutil.h"

#define NOBODY 65534

START_TEST(the_socket_is_0600_and_other_users_are_refused)
{
    struct b2_proc p;
    b2_init(&p);
    const char *const args[] = { "--set", "init-time=1ms", NULL };
    b2_start(&p, args);
    struct stat st;
    ck_assert_int_eq(lstat(p.sock, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0600);

    if (geteuid() != 0) {
        printf("not run: the_socket_is_0600_and_other_users_are_refused, SO_PEERCRED part: needs root to connect "
               "as uid %d\n", NOBODY);
    } else {
        /* Opened up on purpose: only the credential check stands in the way. */
        ck_assert_int_eq(chmod(p.dir, 0755), 0);
        ck_assert_int_eq(chmod(p.sock, 0666), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                _exit(10);
            int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
            struct sockaddr_un sa = { .sun_family = AF_UNIX };
            snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p.sock);
            if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                _exit(11);
            struct bproto_attach a;
            ssize_t n = recv(fd, &a, sizeof a, 0);
            if (n != (ssize_t)sizeof a || a.h.type != BPROTO_ATTACH)
                _exit(12);
            _exit(a.status == -EACCES && strstr(a.reason, "uid 65534") ? 0 : 13);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other user's attach: child status %d",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    /* The controller's own user still attaches. */
    struct hh h;
    b2_attach(&h, &p);
    hh_close(&h);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_peer");
    TCase *tc = tcase_create("bus_twoproc_peer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_socket_is_0600_and_other_users_are_refused);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
