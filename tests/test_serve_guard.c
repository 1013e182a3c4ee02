/* tests/test_serve_guard.c — `scsisim serve` against slow and unauthenticated
 * peers (issue 13, audit finding 6):
 *  - a logged-in connection that trickles a PDU one byte at a time is closed
 *    after --pdu-timeout; a connection that never finishes its login is
 *    closed after --login-timeout; a healthy session still works;
 *  - under --chap a discovery session needs CHAP too: the raw initiator's
 *    discovery login without it is refused (0201h), libiscsi's iscsi-ls
 *    without credentials fails and with them lists the target. */
#include "tests/support/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/iscsi_client.h"
#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

#define LIBISCSI_HINT "apt-get install libiscsi-bin"

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

START_TEST(a_trickling_peer_is_dropped_after_the_pdu_timeout)
{
    struct serve_proc srv;
    const char *const args[] = { "--set", "init-time=1ms", "--pdu-timeout", "1", "--login-timeout", "1", NULL };
    serve_start(&srv, args);

    /* Logged in, then a NOP-Out at one byte per 100 ms: 4.8 s for the PDU,
     * far past the 1 s allowed for one PDU. */
    struct raw_conn c;
    raw_connect(&c, srv.port);
    ck_assert_int_eq(raw_login(&c, srv.iqn, NULL), 0);
    uint8_t bhs[RAW_BHS];
    raw_bhs_nop_out(bhs, 1, 0xffffffffu, c.cmdsn, false);
    size_t sent = 0;
    for (; sent < sizeof bhs; sent++) {
        if (!raw_send_bytes(&c, bhs + sent, 1))
            break; /* already gone */
        sleep_ms(100);
    }
    ck_assert(raw_wait_closed(&c));
    ck_assert_uint_lt(sent, sizeof bhs); /* closed before the PDU could complete */
    raw_close(&c);

    /* A connection that never logs in is closed by the login timeout. */
    raw_connect(&c, srv.port);
    ck_assert(raw_wait_closed(&c));
    raw_close(&c);

    /* A peer that keeps its PDUs whole is not affected, idle gaps included. */
    raw_connect(&c, srv.port);
    ck_assert_int_eq(raw_login(&c, srv.iqn, NULL), 0);
    (void)raw_tur_ok(&c); /* the power-on unit attention */
    sleep_ms(1500);
    ck_assert(raw_tur_ok(&c));
    raw_close(&c);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

START_TEST(discovery_needs_chap_when_chap_is_set)
{
    struct serve_proc srv;
    const char *const args[] = { "--set", "init-time=1ms", "--chap", "user:secret123456", NULL };
    serve_start(&srv, args);
    struct raw_conn c;
    raw_connect(&c, srv.port);
    ck_assert_int_eq(raw_login(&c, NULL, NULL), 0x0201); /* discovery, AuthMethod=None */
    raw_close(&c);
    if (proc_tool_present("discovery_needs_chap_when_chap_is_set", "iscsi-ls", LIBISCSI_HINT)) {
        char plain[128], creds[192], want[512];
        snprintf(plain, sizeof plain, "iscsi://%s", srv.portal);
        snprintf(creds, sizeof creds, "iscsi://user%%secret123456@%s", srv.portal);
        snprintf(want, sizeof want, "Target:%s", srv.iqn);
        const char *no[] = { "iscsi-ls", plain, NULL };
        char *out;
        int rc = proc_tool(no, 30, &out);
        ck_assert_msg(rc != 0 && !strstr(out, want), "iscsi-ls without CHAP exited %d:\n%s", rc, out);
        free(out);
        const char *yes[] = { "iscsi-ls", creds, NULL };
        rc = proc_tool(yes, 30, &out);
        ck_assert_msg(rc == 0 && strstr(out, want), "iscsi-ls with CHAP exited %d:\n%s", rc, out);
        free(out);
    }
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_guard");
    TCase *tc = tcase_create("serve_guard");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, a_trickling_peer_is_dropped_after_the_pdu_timeout);
    tcase_add_test(tc, discovery_needs_chap_when_chap_is_set);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
