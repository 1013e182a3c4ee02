/* tests/test_serve_loops.c — the iSCSI target with several event loops
 * (issue 14, `scsisim serve --loops N`): loop 0 accepts and hands each
 * connection, round robin, to a loop that runs it to its end.
 *  - connections spread over the loops, seen from the target (connections
 *    per loop) and in `serve --verbose`'s log, with iscsi-inq as the peer;
 *  - libiscsi's iscsi-test-cu (iSCSI, TMF, reservation and multipath suites,
 *    two sessions through two portals) against `serve --loops 2`;
 *  - session reinstatement from a connection on the other loop, with a
 *    command of the old session in flight: the old connection is closed on
 *    its own loop, the old I_T nexus ends before the new session starts;
 *  - LUN RESET while commands are in flight on two loops: the other loop's
 *    commands end there, both connections carry on;
 *  - four threads reinstating one session over and over from both loops;
 *  - shutdown with connections open on every loop, in-process (the loop
 *    closes with no handle left) and `serve` (SIGTERM, exit 0);
 *  - --loops errors, and a setup error once the loops run (exit 2). */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "tests/support/iscsi_client.h"
#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

#define LIBISCSI_HINT "apt-get install libiscsi-bin"

static struct iscsi_test_server *two_loops(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.loops = 2;
    return iscsi_test_server_start(&cfg);
}

static void login_isid(struct raw_conn *c, struct iscsi_test_server *s, uint8_t isid)
{
    raw_connect(c, iscsi_test_server_port(s));
    c->isid[5] = isid;
    ck_assert_int_eq(raw_login(c, ISCSI_TEST_IQN, NULL), 0);
}

/* READ (10) of one block at lba, not waited for. */
static void send_read(struct raw_conn *c, uint32_t lba)
{
    uint8_t b[RAW_BHS], cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    scsi_put_be32(cdb + 2, lba);
    raw_bhs_scsi_cmd(b, c->itt++, c->cmdsn++, 512, 0x80 | 0x40, cdb, sizeof(cdb), 0);
    scsi_put_be32(b + 28, c->exp_statsn);
    ck_assert(raw_send_pdu(c, b, NULL, 0, NULL, 0));
}

struct loop_count { struct iscsi_test_server *s; unsigned loop, want; };

static bool loop_has(void *arg)
{
    struct loop_count *w = arg;
    return iscsi_test_server_loop_connections(w->s, w->loop) == w->want;
}

static void expect_on_loop(struct iscsi_test_server *s, unsigned loop, unsigned want)
{
    struct loop_count w = { s, loop, want };
    ck_assert_msg(wait_for(loop_has, &w, 5000), "loop %u has %u connections, expected %u", loop,
                  iscsi_test_server_loop_connections(s, loop), want);
}

struct held { struct iscsi_test_server *s; unsigned want; };

static bool held_reached(void *arg)
{
    struct held *h = arg;
    return iscsi_test_server_held(h->s) >= h->want;
}

/* ---- in-process: the target's own view ------------------------------------------------ */

START_TEST(connections_spread_round_robin_and_all_close_on_stop)
{
    struct iscsi_test_server *s = two_loops();
    struct raw_conn c[5];
    for (unsigned i = 0; i < 5; i++) {
        login_isid(&c[i], s, (uint8_t)(i + 1));
        ck_assert(raw_tur_ok(&c[i]));
    }
    /* Connections 1, 3, 5 on loop 0; 2, 4 on loop 1. */
    expect_on_loop(s, 0, 3);
    expect_on_loop(s, 1, 2);
    struct iscsi_target_stats st = iscsi_test_server_stats(s);
    ck_assert_uint_eq(st.connections_open, 5);
    ck_assert_uint_eq(st.sessions_open, 5);
    raw_close(&c[1]);
    expect_on_loop(s, 1, 1);
    /* Stopped with connections open on both loops: every handle of every
     * loop closes (iscsi_test_server_stop asserts uv_loop_close). */
    iscsi_test_server_stop(s);
    for (unsigned i = 0; i < 5; i++)
        if (i != 1)
            raw_close(&c[i]);
}
END_TEST

START_TEST(reinstatement_from_the_other_loop_ends_the_old_nexus_first)
{
    struct iscsi_test_server *s = two_loops();
    iscsi_test_server_hold(s, true);
    struct raw_conn old, other, fresh;
    login_isid(&old, s, 7);      /* loop 0 */
    login_isid(&other, s, 8);    /* loop 1 */
    send_read(&old, 10);         /* in flight when the session is reinstated */
    struct held h = { s, 1 };
    ck_assert(wait_for(held_reached, &h, 5000));
    login_isid(&fresh, s, 9);    /* loop 0: a filler, so the next lands on loop 1 */
    raw_close(&fresh);
    expect_on_loop(s, 0, 1);

    struct raw_conn again;
    login_isid(&again, s, 7);    /* loop 1: reinstates the session of loop 0 */
    ck_assert(raw_wait_closed(&old));
    struct iscsi_target_stats st = iscsi_test_server_stats(s);
    ck_assert_uint_eq(st.sessions_reinstated, 1);
    struct iscsi_test_mem_stats m = iscsi_test_server_mem_stats(s);
    ck_assert_uint_ge(m.nexus_losses, 1);
    ck_assert_uint_eq(m.aborted, 1);  /* the old session's READ ended with its nexus */
    expect_on_loop(s, 0, 0);
    expect_on_loop(s, 1, 2);
    iscsi_test_server_hold(s, false);
    ck_assert(raw_tur_ok(&again));
    ck_assert(raw_tur_ok(&other));
    raw_close(&old);
    raw_close(&again);
    raw_close(&other);
    iscsi_test_server_stop(s);
}
END_TEST

START_TEST(lun_reset_with_commands_in_flight_on_two_loops)
{
    struct iscsi_test_server *s = two_loops();
    iscsi_test_server_hold(s, true);
    struct raw_conn a, b;
    login_isid(&a, s, 1); /* loop 0 */
    login_isid(&b, s, 2); /* loop 1 */
    expect_on_loop(s, 0, 1);
    expect_on_loop(s, 1, 1);
    for (uint32_t i = 0; i < 3; i++) {
        send_read(&a, i);
        send_read(&b, 100 + i);
    }
    struct held h = { s, 6 };
    ck_assert(wait_for(held_reached, &h, 5000));

    /* LUN RESET from loop 1's connection: loop 0's commands end on loop 0. */
    uint8_t bhs[RAW_BHS];
    uint32_t itt = b.itt++;
    raw_bhs_tmf(bhs, itt, b.cmdsn, 5 /* LUN RESET */, 0xffffffff, 0);
    scsi_put_be32(bhs + 28, b.exp_statsn);
    ck_assert(raw_send_pdu(&b, bhs, NULL, 0, NULL, 0));
    struct raw_pdu p;
    ck_assert(raw_recv_opcode(&b, 0x22, &p));
    ck_assert_uint_eq(scsi_get_be32(p.bhs + 16), itt);
    ck_assert_uint_eq(p.bhs[2], 0); /* Function complete */
    b.exp_statsn = scsi_get_be32(p.bhs + 24) + 1;
    raw_pdu_free(&p);
    ck_assert_uint_eq(iscsi_test_server_held(s), 0);
    struct iscsi_test_mem_stats m = iscsi_test_server_mem_stats(s);
    ck_assert_uint_eq(m.aborted, 6);
    ck_assert_uint_eq(iscsi_test_server_stats(s).tmfs, 1);

    /* Both sessions carry on, each on its loop. */
    iscsi_test_server_hold(s, false);
    ck_assert(raw_tur_ok(&a));
    ck_assert(raw_tur_ok(&b));
    expect_on_loop(s, 0, 1);
    expect_on_loop(s, 1, 1);
    iscsi_test_server_stop(s);
    raw_close(&a);
    raw_close(&b);
}
END_TEST

/* Commands held in flight on both loops when the target stops: the close
 * ends them and every loop still closes cleanly. */
START_TEST(stop_with_commands_in_flight_on_every_loop)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.loops = 3;
    struct iscsi_test_server *s = iscsi_test_server_start(&cfg);
    iscsi_test_server_hold(s, true);
    struct raw_conn c[3];
    for (unsigned i = 0; i < 3; i++) {
        login_isid(&c[i], s, (uint8_t)(i + 1));
        send_read(&c[i], i);
    }
    struct held h = { s, 3 };
    ck_assert(wait_for(held_reached, &h, 5000));
    for (unsigned i = 0; i < 3; i++)
        expect_on_loop(s, i, 1);
    iscsi_test_server_stop(s);
    for (unsigned i = 0; i < 3; i++) {
        ck_assert(raw_wait_closed(&c[i]));
        raw_close(&c[i]);
    }
}
END_TEST

/* Four threads log in again and again with one initiator name and ISID, each
 * login reinstating the session another thread's connection (on another
 * loop) holds while READs are in flight on it: the closes cross loops in
 * every order.  Afterwards the target is whole: a healthy session works and
 * every loop closes cleanly. */
#define STORM_THREADS 4
#define STORM_ROUNDS 25

struct storm { int port; unsigned logins, cut, refused; };

static void *storm_thread(void *arg)
{
    struct storm *st = arg;
    for (int i = 0; i < STORM_ROUNDS; i++) {
        struct raw_conn c;
        raw_connect(&c, st->port);
        c.isid[5] = 0x5a;
        int rc = raw_login(&c, ISCSI_TEST_IQN, NULL);
        /* -1: no answer — a login that finished and was at once reinstated
         * by another thread's, its answer dropped with the connection. */
        if (rc != 0)
            __atomic_fetch_add(rc < 0 ? &st->cut : &st->refused, 1, __ATOMIC_RELAXED);
        if (rc == 0) {
            __atomic_fetch_add(&st->logins, 1, __ATOMIC_RELAXED);
            for (uint32_t k = 0; k < 4; k++) {
                uint8_t b[RAW_BHS], cdb[10] = { 0x28, 0, 0, 0, 0, (uint8_t)k, 0, 0, 8, 0 };
                raw_bhs_scsi_cmd(b, c.itt++, c.cmdsn++, 4096, 0x80 | 0x40, cdb, sizeof(cdb), 0);
                if (!raw_send_pdu(&c, b, NULL, 0, NULL, 0))
                    break;
            }
            struct raw_pdu p;
            if (raw_recv_pdu(&c, &p)) /* an answer, or the close of a reinstatement */
                raw_pdu_free(&p);
        }
        raw_close(&c);
    }
    return NULL;
}

START_TEST(reinstatement_storm_across_loops)
{
    struct iscsi_test_server *s = two_loops();
    struct storm st = { .port = iscsi_test_server_port(s) };
    pthread_t th[STORM_THREADS];
    for (int i = 0; i < STORM_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, storm_thread, &st), 0);
    for (int i = 0; i < STORM_THREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(st.refused, 0);
    ck_assert_uint_eq(st.logins + st.cut, STORM_THREADS * STORM_ROUNDS);
    ck_assert_uint_gt(st.logins, 0);
    ck_assert(raw_healthy_session(iscsi_test_server_port(s)));
    struct iscsi_target_stats stats = iscsi_test_server_stats(s);
    ck_assert_uint_eq(stats.logins_failed, 0);
    ck_assert_uint_ge(stats.logins_ok, st.logins + 1);
    fprintf(stderr, "reinstatement storm: %u logins answered, %u cut by a reinstatement, %llu reinstated\n",
            st.logins, st.cut, (unsigned long long)stats.sessions_reinstated);
    expect_on_loop(s, 0, 0);
    expect_on_loop(s, 1, 0);
    ck_assert_uint_eq(iscsi_test_server_stats(s).connections_open, 0);
    ck_assert_uint_eq(iscsi_test_server_stats(s).sessions_open, 0);
    iscsi_test_server_stop(s);
}
END_TEST

/* ---- `scsisim serve --loops` with real initiators ----------------------------------------- */

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

START_TEST(serve_spreads_iscsi_inq_sessions_over_two_loops)
{
    if (!proc_tool_present("iscsi_inq", "iscsi-inq", LIBISCSI_HINT))
        return;
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--loops", "2", "--verbose", NULL });
    for (int i = 0; i < 4; i++) {
        const char *argv[] = { "iscsi-inq", srv.url, NULL };
        char *out;
        int rc = proc_tool(argv, 30, &out);
        ck_assert_msg(rc == 0 && strstr(out, "Vendor:SCSISIM"), "iscsi-inq exited %d:\n%s", rc, out);
        free(out);
    }
    char *err = serve_stderr(&srv);
    ck_assert_msg(strstr(err, "(2 event loops)"), "%s", err);
    ck_assert_msg(count(err, " on loop 0\n") == 2 && count(err, " on loop 1\n") == 2,
                  "4 sessions, not 2 on each loop:\n%s", err);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

START_TEST(iscsi_test_cu_passes_against_two_loops)
{
    if (!proc_tool_present("iscsi_test_cu", "iscsi-test-cu", LIBISCSI_HINT))
        return;
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--loops", "2", "--drive", "0:0,thin=on", "--listen", "127.0.0.1:0",
                                             NULL });
    char url2[512];
    serve_next_url(&srv, url2, sizeof url2);
    const char *argv[] = { "iscsi-test-cu", "-t",
                           "ALL.iSCSIcmdsn,ALL.iSCSIdatasn,ALL.iSCSIResiduals,ALL.iSCSITMF,ALL.MultipathIO,"
                           "ALL.Reserve6,ALL.ProutReserve,ALL.Read10,ALL.Write10",
                           "-d", srv.url, url2, NULL };
    char *out;
    int rc = proc_tool(argv, 240, &out);
    unsigned v[4];
    ck_assert_msg(serve_cu_summary(out, v), "iscsi-test-cu (exit %d) printed no run summary:\n%.4000s", rc, out);
    ck_assert_msg(v[1] >= 40, "only %u tests ran", v[1]);
    ck_assert_msg(v[3] == 0, "%u of %u tests failed:\n%.8000s", v[3], v[1], out);
    free(out);
    char *err = serve_stderr(&srv);
    ck_assert_msg(!strstr(err, "error:"), "scsisim serve logged errors:\n%s", err);
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

START_TEST(serve_stops_cleanly_with_sessions_on_every_loop)
{
    struct serve_proc srv;
    serve_start(&srv, (const char *const[]){ "--loops", "3", "--verbose", NULL });
    struct raw_conn c[4];
    for (unsigned i = 0; i < 4; i++) {
        raw_connect(&c[i], srv.port);
        c[i].isid[5] = (uint8_t)(i + 1);
        ck_assert_int_eq(raw_login(&c[i], srv.iqn, NULL), 0);
        ck_assert_int_ge(raw_tur_status(&c[i]), 0);
    }
    char *err = serve_stderr(&srv);
    for (unsigned l = 0; l < 3; l++) {
        char needle[32];
        snprintf(needle, sizeof needle, " on loop %u\n", l);
        ck_assert_msg(strstr(err, needle), "no connection on loop %u:\n%s", l, err);
    }
    free(err);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert(raw_wait_closed(&c[i]));
        raw_close(&c[i]);
    }
}
END_TEST

START_TEST(loops_option_errors)
{
    const char *bad[] = { "0", "17", "two", "-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct proc_result r;
        proc_scsisim((const char *const[]){ "serve", "--listen", "127.0.0.1:0", "--loops", bad[i], NULL }, &r);
        ck_assert_msg(r.status == 2, "--loops '%s': exit %d, stderr: %s", bad[i], r.status, r.err);
        ck_assert_msg(strstr(r.err, "--loops needs a number of event loops from 1 to 16"), "%s", r.err);
        proc_result_free(&r);
    }
    /* A setup error after the worker loops started (the control socket
     * cannot be bound): they stop and are joined, exit 2, nothing left over. */
    struct proc_result r;
    proc_scsisim((const char *const[]){ "serve", "--listen", "127.0.0.1:0", "--loops", "4", "--ctl",
                                        "/nonexistent-dir/scsisim.ctl", NULL }, &r);
    ck_assert_msg(r.status == 2, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "cannot bind the control socket"), "%s", r.err);
    ck_assert_msg(!strstr(r.err, "still had handles"), "%s", r.err);
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_loops");
    TCase *t = tcase_create("in_process");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, connections_spread_round_robin_and_all_close_on_stop);
    tcase_add_test(t, reinstatement_from_the_other_loop_ends_the_old_nexus_first);
    tcase_add_test(t, lun_reset_with_commands_in_flight_on_two_loops);
    tcase_add_test(t, stop_with_commands_in_flight_on_every_loop);
    tcase_add_test(t, reinstatement_storm_across_loops);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("serve");
    tcase_set_timeout(p, 300);
    tcase_add_test(p, serve_spreads_iscsi_inq_sessions_over_two_loops);
    tcase_add_test(p, iscsi_test_cu_passes_against_two_loops);
    tcase_add_test(p, serve_stops_cleanly_with_sessions_on_every_loop);
    tcase_add_test(p, loops_option_errors);
    suite_add_tcase(s, p);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
