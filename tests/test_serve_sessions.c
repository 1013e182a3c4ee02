/* tests/test_serve_sessions.c — sessions past what the controller can hold are
 * refused at login, never accepted and then answered BUSY for ever (issue 13,
 * audit finding 2).  `scsisim serve` runs as a child; real concurrent
 * sessions from the raw initiator (tests/support/iscsi_client_raw.c):
 *  - 4095 sessions (the controller's I_T nexus ids, HBA_MAX_INITIATORS less the
 *    backend's probe id) from 4095 initiators all log in and get answers other
 *    than BUSY; the 4096th login gets Status-Class 3 / Status-Detail 02h (out
 *    of resources); once a session ends, a new login gets its id.
 *  - --max-sessions-per-initiator N: the N+1-th session of one initiator name
 *    is refused the same way while another initiator still logs in. */
#include "tests/support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fd_limit.h"
#include "scsi/scsi.h"
#include "tests/support/iscsi_client.h"
#include "tests/support/serve_proc.h"

#define NEXUS_IDS 4095 /* HBA_MAX_INITIATORS less the backend probe's id */
#define BUSY 0x08

static int login_as(struct raw_conn *c, const struct serve_proc *srv, const char *initiator, uint8_t isid)
{
    raw_connect(c, srv->port);
    c->isid[5] = isid;
    char extra[300];
    snprintf(extra, sizeof extra, "InitiatorName=%s", initiator);
    return raw_login(c, srv->iqn, extra);
}

/* This test holds a connection per nexus id: the descriptors it needs, or a
 * failure saying why (the hard limit is the machine's). */
static void need_descriptors(rlim_t need)
{
    rlim_t now = 0;
    ck_assert_msg(fd_limit_raise(need, &now) == 0,
                  "this test needs %llu open files and the limit stays at %llu (ulimit -Hn); raising it failed: "
                  "run as root or raise the limit", (unsigned long long)need, (unsigned long long)now);
}

START_TEST(the_session_past_the_nexus_ids_is_refused_at_login)
{
    need_descriptors(NEXUS_IDS + 256);
    struct serve_proc srv;
    const char *const args[] = { "--set", "init-time=1ms", NULL };
    serve_start(&srv, args);
    static struct raw_conn c[NEXUS_IDS + 1];
    char name[128];
    for (int i = 0; i < NEXUS_IDS; i++) {
        snprintf(name, sizeof name, "iqn.2025-01.org.example:host%d", i);
        ck_assert_msg(login_as(&c[i], &srv, name, (uint8_t)i) == 0, "session %d refused", i);
        /* The power-on unit attention, then GOOD: never BUSY. */
        int s1 = raw_tur_status(&c[i]), s2 = raw_tur_status(&c[i]);
        ck_assert_msg(s1 >= 0 && s1 != BUSY && s2 == 0, "session %d: TUR statuses 0x%02x 0x%02x", i, s1, s2);
    }
    ck_assert_int_eq(login_as(&c[NEXUS_IDS], &srv, "iqn.2025-01.org.example:one-too-many", 99), 0x0302);
    ck_assert(raw_wait_closed(&c[NEXUS_IDS]));
    raw_close(&c[NEXUS_IDS]);
    char *err = serve_stderr(&srv);
    ck_assert_msg(strstr(err, "no I_T nexus left"), "%s", err);
    free(err);
    /* A session that ends gives its id back (once the controller has heard of
     * the nexus loss, which is asynchronous: a bounded number of tries). */
    raw_close(&c[0]);
    int status = -1;
    struct testutil_wait w = testutil_wait_start(TESTUTIL_PATIENCE_MS);
    do {
        struct raw_conn late;
        status = login_as(&late, &srv, "iqn.2025-01.org.example:late", 100);
        if (status == 0) {
            int s1 = raw_tur_status(&late);
            ck_assert(s1 >= 0 && s1 != BUSY);
        } else {
            ck_assert_int_eq(status, 0x0302);
        }
        raw_close(&late);
    } while (status != 0 && testutil_wait_nap(&w));
    ck_assert_int_eq(status, 0);
    for (int i = 1; i < NEXUS_IDS; i++)
        raw_close(&c[i]);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

START_TEST(one_initiator_cannot_take_every_session)
{
    struct serve_proc srv;
    const char *const args[] = { "--set", "init-time=1ms", "--max-sessions-per-initiator", "2", NULL };
    serve_start(&srv, args);
    struct raw_conn a, b, c, other;
    ck_assert_int_eq(login_as(&a, &srv, "iqn.2025-01.org.example:greedy", 1), 0);
    ck_assert_int_eq(login_as(&b, &srv, "iqn.2025-01.org.example:greedy", 2), 0);
    ck_assert_int_eq(login_as(&c, &srv, "iqn.2025-01.org.example:greedy", 3), 0x0302);
    raw_close(&c);
    ck_assert_int_eq(login_as(&other, &srv, "iqn.2025-01.org.example:modest", 1), 0);
    ck_assert_int_ge(raw_tur_status(&other), 0);
    /* Reinstating one of its sessions (same ISID) is not a new session. */
    struct raw_conn again;
    ck_assert_int_eq(login_as(&again, &srv, "iqn.2025-01.org.example:greedy", 2), 0);
    raw_close(&again);
    raw_close(&a);
    raw_close(&b);
    raw_close(&other);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_sessions");
    TCase *tc = tcase_create("serve_sessions");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, the_session_past_the_nexus_ids_is_refused_at_login);
    tcase_add_test(tc, one_initiator_cannot_take_every_session);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
