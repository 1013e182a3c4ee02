/* tests/test_serve_cli.c — `scsisim serve` as a command: its options and
 * their errors (exit 2), the URLs it prints, CHAP and the initiator access
 * list, clean stops on SIGINT and SIGTERM, and --record: a libiscsi session
 * (in this process) becomes a scsitrace that parses, prints back byte for
 * byte, holds what the session did, and replays with `scsisim run` on a
 * fresh controller with every check passing. */
#include "tests/support/testutil.h"

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/replay/trace_sim.h"
#include "tests/support/proc.h"
#include "tests/support/serve_proc.h"

#define GOOD_INITIATOR "iqn.2025-01.org.example:good"

/* ---- a libiscsi session ---------------------------------------------------------- */

static struct iscsi_context *login_lun(const struct serve_proc *srv, const char *initiator, const char *user,
                                       const char *secret, int lun, int *rc)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator ? initiator : GOOD_INITIATOR);
    ck_assert_ptr_nonnull(ctx);
    iscsi_set_targetname(ctx, srv->iqn);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_timeout(ctx, 10);
    if (user)
        iscsi_set_initiator_username_pwd(ctx, user, secret);
    *rc = iscsi_full_connect_sync(ctx, srv->portal, lun); /* libiscsi probes that LUN */
    return ctx;
}

static struct iscsi_context *login(const struct serve_proc *srv, const char *initiator, const char *user,
                                   const char *secret, int *rc)
{
    return login_lun(srv, initiator, user, secret, 0, rc);
}

static void logout(struct iscsi_context *ctx)
{
    if (iscsi_is_logged_in(ctx))
        iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
}

static int status_of(struct scsi_task *t)
{
    int s = t ? t->status : -1;
    if (t)
        scsi_free_scsi_task(t);
    return s;
}

/* ---- options and errors ---------------------------------------------------------- */

static void expect_usage_error(const char *const *args, const char *needle)
{
    struct proc_result r;
    proc_scsisim(args, &r);
    ck_assert_msg(r.status == 2, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, needle), "expected '%s' in: %s", needle, r.err);
    proc_result_free(&r);
}

START_TEST(help_and_bad_options)
{
    struct proc_result r;
    const char *help[] = { "serve", "--help", NULL };
    proc_scsisim(help, &r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: scsisim serve"));
    ck_assert_ptr_nonnull(strstr(r.out, "--record FILE"));
    proc_result_free(&r);
    const char *top[] = { "--help", NULL };
    proc_scsisim(top, &r);
    ck_assert_ptr_nonnull(strstr(r.out, "serve"));
    proc_result_free(&r);

    const char *a1[] = { "serve", "--listen", "nonsense", NULL };
    expect_usage_error(a1, "expected HOST:PORT");
    const char *a2[] = { "serve", "--listen", "127.0.0.1:99999", NULL };
    expect_usage_error(a2, "expected HOST:PORT");
    const char *a3[] = { "serve", "--listen", "127.0.0.1:0", "--chap", "nocolon", NULL };
    expect_usage_error(a3, "expected USER:SECRET");
    const char *a4[] = { "serve", "--listen", "127.0.0.1:0", "--target-name", "bogus", NULL };
    expect_usage_error(a4, "not a valid iSCSI name");
    const char *a5[] = { "serve", "--listen", "127.0.0.1:0", "--allow", "nobody", NULL };
    expect_usage_error(a5, "--allow nobody");
    const char *a6[] = { "serve", "--listen", "127.0.0.1:0", "--record", "/nonexistent-dir/x.trace", NULL };
    expect_usage_error(a6, "--record /nonexistent-dir/x.trace");
    const char *a7[] = { "serve", "--listen", "192.0.2.1:3260", NULL }; /* not an address of this host */
    expect_usage_error(a7, "cannot listen");
    const char *a8[] = { "serve", "--set", "max-targets=0", NULL };
    expect_usage_error(a8, "max-targets");
    const char *a9[] = { "serve", "--listen", "127.0.0.1:0", "--header-digest", "crc32", NULL };
    expect_usage_error(a9, "--header-digest needs any, crc32c or none, not 'crc32'");
    const char *a10[] = { "serve", "--listen", "127.0.0.1:0", "--data-digest", "md5", NULL };
    expect_usage_error(a10, "--data-digest needs any, crc32c or none");
}
END_TEST

START_TEST(a_port_in_use_is_refused)
{
    struct serve_proc a;
    serve_start(&a, NULL);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", a.port);
    const char *args[] = { "serve", "--listen", listen, NULL };
    expect_usage_error(args, "cannot listen");
    ck_assert_int_eq(serve_stop(&a, SIGTERM), 0);
}
END_TEST

/* ---- URLs, access and signals ------------------------------------------------------- */

/* The lines serve printed after the first URL (they come together). */
static void rest_of_stdout(struct serve_proc *p, char *buf, size_t cap)
{
    size_t len = 0;
    struct pollfd pf = { .fd = p->out_fd, .events = POLLIN };
    while (len + 1 < cap && poll(&pf, 1, 500) > 0) {
        ssize_t n = read(p->out_fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
}

START_TEST(every_lun_of_every_target_gets_a_url)
{
    struct serve_proc srv;
    const char *args[] = { "--drive", "0:0,capacity=1M", "--drive", "2:1,capacity=1M", "--drive", "2:3,capacity=1M",
                           "--target-name", "iqn.2025-01.org.example:box", NULL };
    serve_start(&srv, args);
    char rest[2048];
    rest_of_stdout(&srv, rest, sizeof(rest));
    char want[256];
    snprintf(want, sizeof(want), "iscsi://%s/iqn.2025-01.org.example:box:t0/0", srv.portal);
    ck_assert_str_eq(srv.url, want);
    snprintf(want, sizeof(want), "iscsi://%s/iqn.2025-01.org.example:box:t2/1\n", srv.portal);
    ck_assert_msg(strstr(rest, want), "%s", rest);
    snprintf(want, sizeof(want), "iscsi://%s/iqn.2025-01.org.example:box:t2/3\n", srv.portal);
    ck_assert_msg(strstr(rest, want), "%s", rest);

    /* Target 2's node: LUN 1 answers, REPORT LUNS is the controller's list. */
    snprintf(srv.iqn, sizeof(srv.iqn), "iqn.2025-01.org.example:box:t2");
    int rc;
    struct iscsi_context *ctx = login_lun(&srv, NULL, NULL, NULL, 1, &rc);
    ck_assert_msg(rc == 0, "login: %s", iscsi_get_error(ctx));
    struct scsi_task *t = iscsi_reportluns_sync(ctx, 0, 64);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    struct scsi_reportluns_list *list = scsi_datain_unmarshall(t);
    ck_assert_ptr_nonnull(list);
    ck_assert_uint_eq(list->num, 2);
    ck_assert_uint_eq(list->luns[0], 1);
    ck_assert_uint_eq(list->luns[1], 3);
    scsi_free_scsi_task(t);
    logout(ctx);
    ck_assert_int_eq(serve_stop(&srv, SIGINT), 0);
}
END_TEST

START_TEST(chap_and_the_access_list_are_enforced)
{
    struct serve_proc srv;
    const char *args[] = { "--chap", "alice:secret-of-alice", "--allow", GOOD_INITIATOR ",iqn.2025-01.org.example:x",
                           "--verbose", NULL };
    serve_start(&srv, args);
    int rc;
    struct iscsi_context *ctx = login(&srv, NULL, NULL, NULL, &rc);
    ck_assert_int_ne(rc, 0); /* no CHAP */
    logout(ctx);
    ctx = login(&srv, NULL, "alice", "wrong-secret-123", &rc);
    ck_assert_int_ne(rc, 0);
    logout(ctx);
    ctx = login(&srv, "iqn.2025-01.org.example:bad", "alice", "secret-of-alice", &rc);
    ck_assert_int_ne(rc, 0); /* not on the list */
    logout(ctx);
    ctx = login(&srv, NULL, "alice", "secret-of-alice", &rc);
    ck_assert_msg(rc == 0, "login: %s", iscsi_get_error(ctx));
    logout(ctx);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

/* A login with the given HeaderDigest offer; *rc is libiscsi's answer. */
static struct iscsi_context *login_digest(const struct serve_proc *srv, enum iscsi_header_digest hd, int *rc)
{
    struct iscsi_context *ctx = iscsi_create_context(GOOD_INITIATOR);
    ck_assert_ptr_nonnull(ctx);
    iscsi_set_targetname(ctx, srv->iqn);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_timeout(ctx, 10);
    ck_assert_int_eq(iscsi_set_header_digest(ctx, hd), 0);
    *rc = iscsi_full_connect_sync(ctx, srv->portal, 0);
    return ctx;
}

START_TEST(header_digest_crc32c_is_required_when_asked)
{
    struct serve_proc srv;
    const char *args[] = { "--header-digest", "crc32c", NULL };
    serve_start(&srv, args);
    int rc;
    struct iscsi_context *ctx = login_digest(&srv, ISCSI_HEADER_DIGEST_NONE, &rc);
    ck_assert_int_ne(rc, 0); /* offers only None */
    logout(ctx);
    /* libiscsi's default offer (None, then CRC32C): the target picks CRC32C,
     * and commands with their header digests work. */
    ctx = login_digest(&srv, ISCSI_HEADER_DIGEST_NONE_CRC32C, &rc);
    ck_assert_msg(rc == 0, "login: %s", iscsi_get_error(ctx));
    struct scsi_task *t = iscsi_read16_sync(ctx, 0, 0, 4096, 512, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(t->datain.size, 4096);
    scsi_free_scsi_task(t);
    logout(ctx);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

START_TEST(sigint_with_a_session_open_stops_cleanly)
{
    struct serve_proc srv;
    serve_start(&srv, NULL);
    int rc;
    struct iscsi_context *ctx = login(&srv, NULL, NULL, NULL, &rc);
    ck_assert_int_eq(rc, 0);
    char *err_before = serve_stderr(&srv);
    free(err_before);
    ck_assert_int_eq(serve_stop(&srv, SIGINT), 0);
    iscsi_destroy_context(ctx); /* the target hung up on it */
}
END_TEST

/* The sense of the first command of a session that logs in with ISID
 * qualifier `isid` (connect + login only: libiscsi's full connect would
 * consume the unit attention with a TEST UNIT READY of its own), as
 * key << 16 | ASC << 8 | ASCQ; 0 for GOOD. */
static unsigned first_tur_sense(const struct serve_proc *srv, uint32_t isid, int *tries)
{
    struct iscsi_context *ctx = iscsi_create_context(GOOD_INITIATOR);
    ck_assert_ptr_nonnull(ctx);
    iscsi_set_targetname(ctx, srv->iqn);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_isid_random(ctx, isid, 0);
    iscsi_set_timeout(ctx, 10);
    ck_assert_int_eq(iscsi_connect_sync(ctx, srv->portal), 0);
    ck_assert_msg(iscsi_login_sync(ctx) == 0, "login: %s", iscsi_get_error(ctx));
    unsigned sense = 0;
    for (*tries = 1; *tries <= 20; (*tries)++) {
        struct scsi_task *t = iscsi_testunitready_sync(ctx, 0);
        ck_assert_ptr_nonnull(t);
        sense = t->status == SCSI_STATUS_GOOD ? 0 : (unsigned)t->sense.key << 16 | t->sense.ascq;
        scsi_free_scsi_task(t);
        /* The controller may take the previous session's nexus loss after
         * this session's first command: look a little further. */
        if (sense != 0)
            break;
    }
    logout(ctx);
    return sense;
}

START_TEST(a_session_that_comes_back_is_told_of_its_nexus_loss)
{
    struct serve_proc srv;
    serve_start(&srv, NULL);
    int tries;
    ck_assert_uint_eq(first_tur_sense(&srv, 4242, &tries), 0x062901); /* a new I_T nexus: power on */
    ck_assert_int_eq(tries, 1);
    ck_assert_uint_eq(first_tur_sense(&srv, 4242, &tries), 0x062907); /* the same one again */
    ck_assert_uint_eq(first_tur_sense(&srv, 777, &tries), 0x062901);  /* another ISID, another nexus */
    ck_assert_int_eq(tries, 1);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);
}
END_TEST

/* ---- --record ------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

START_TEST(record_writes_a_trace_of_the_session)
{
    char path[] = "/tmp/scsisim-record-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct serve_proc srv;
    const char *args[] = { "--record", path, NULL };
    serve_start(&srv, args);
    int rc;
    struct iscsi_context *ctx = login(&srv, NULL, NULL, NULL, &rc);
    ck_assert_msg(rc == 0, "login: %s", iscsi_get_error(ctx));
    int st = SCSI_STATUS_CHECK_CONDITION;
    for (int i = 0; i < 4 && st != SCSI_STATUS_GOOD; i++)
        st = status_of(iscsi_testunitready_sync(ctx, 0)); /* the first one reports the power on */
    ck_assert_int_eq(st, SCSI_STATUS_GOOD);
    unsigned char data[4096];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 1);
    ck_assert_int_eq(status_of(iscsi_write10_sync(ctx, 0, 64, data, sizeof(data), 512, 0, 0, 0, 0, 0)),
                     SCSI_STATUS_GOOD);
    struct scsi_task *t = iscsi_read10_sync(ctx, 0, 64, sizeof(data), 512, 0, 0, 0, 0, 0);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(memcmp(t->datain.data, data, sizeof(data)), 0);
    scsi_free_scsi_task(t);
    ck_assert_int_eq(status_of(iscsi_synchronizecache10_sync(ctx, 0, 0, 0, 0, 0)), SCSI_STATUS_GOOD);
    /* Something the controller refuses, for a CHECK record. */
    ck_assert_int_eq(status_of(iscsi_read10_sync(ctx, 0, 0x7fffffff, 512, 512, 0, 0, 0, 0, 0)),
                     SCSI_STATUS_CHECK_CONDITION);
    /* A LUN reset: the next command sees its unit attention, and so must a replay. */
    ck_assert_int_eq(iscsi_task_mgmt_lun_reset_sync(ctx, 0), 0);
    ck_assert_int_eq(status_of(iscsi_testunitready_sync(ctx, 0)), SCSI_STATUS_CHECK_CONDITION);
    logout(ctx);
    ck_assert_int_eq(serve_stop(&srv, SIGTERM), 0);

    size_t len;
    char *text = slurp(path, &len);
    struct trace *tr = NULL;
    struct located_error err;
    rc = trace_parse_file(path, &tr, &err);
    char msg[1024];
    located_format(&err, msg, sizeof(msg));
    ck_assert_msg(rc == 0, "the recording does not parse: %s\n%s", msg, text);
    /* Canonical: printing it gives back the same bytes. */
    char *printed;
    size_t plen;
    ck_assert_int_eq(trace_print_string(tr, &printed, &plen), 0);
    ck_assert_uint_eq(plen, len);
    ck_assert_int_eq(memcmp(printed, text, len), 0);
    free(printed);
    ck_assert_uint_ge(tr->n_tasks, 6);
    trace_free(tr);

    ck_assert_ptr_nonnull(strstr(text, "@drive 0:0 block-size=512 capacity=512M"));
    ck_assert_ptr_nonnull(strstr(text, "STATUS CHECK UNIT_ATTENTION/0x29/0x01"));
    ck_assert_ptr_nonnull(strstr(text, "CMD 2a 00 00 00 00 40 00 00 08 00 len=4096 dir=out"));
    ck_assert_ptr_nonnull(strstr(text, "DOUT 01080f16"));
    ck_assert_ptr_nonnull(strstr(text, "CMD 28 00 00 00 00 40 00 00 08 00 len=4096 dir=in"));
    ck_assert_ptr_nonnull(strstr(text, "DIN 01080f16"));
    ck_assert_ptr_nonnull(strstr(text, "CMD 35 00"));
    ck_assert_ptr_nonnull(strstr(text, "STATUS CHECK ILLEGAL_REQUEST/0x21/0x00"));
    ck_assert_ptr_nonnull(strstr(text, " H > 0:0:0:0 i0."));
    /* The LUN RESET as a TMF record, which a replay sends through the core. */
    ck_assert_ptr_nonnull(strstr(text, " H > 0:0:0:0 m1 TMF lun-reset\n"));
    ck_assert_ptr_nonnull(strstr(text, " H < 0:0:0:0 m1 TMF function-complete\n"));
    ck_assert_ptr_nonnull(strstr(text, "STATUS CHECK UNIT_ATTENTION/0x29/0x03"));
    ck_assert_ptr_nonnull(strstr(text, "- H ! 0:0:0:* - ua 0x29/0x07")); /* the logout's nexus loss */
    free(text);

    /* The round trip: `scsisim run` replays it on a fresh controller. */
    struct proc_result r;
    const char *run[] = { "run", path, NULL };
    proc_scsisim(run, &r);
    ck_assert_msg(r.status == 0, "scsisim run %s: exit %d\n%s%s", path, r.status, r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "1 passed, 0 failed"));
    proc_result_free(&r);
    unlink(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serve_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, help_and_bad_options);
    tcase_add_test(tc, a_port_in_use_is_refused);
    tcase_add_test(tc, every_lun_of_every_target_gets_a_url);
    tcase_add_test(tc, chap_and_the_access_list_are_enforced);
    tcase_add_test(tc, header_digest_crc32c_is_required_when_asked);
    tcase_add_test(tc, sigint_with_a_session_open_stops_cleanly);
    tcase_add_test(tc, a_session_that_comes_back_is_told_of_its_nexus_loss);
    tcase_add_test(tc, record_writes_a_trace_of_the_session);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
