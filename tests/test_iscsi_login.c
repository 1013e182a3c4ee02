/* tests/test_iscsi_login.c — logging in with libiscsi: AuthMethod None, CHAP
 * one-way and mutual, wrong secrets, access lists, unknown targets, discovery
 * (SendTargets=All), header digests, session reinstatement and logout. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "tests/support/iscsi_client.h"

#define ALICE        "alice"
#define ALICE_SECRET "alice-secret-12"
#define BOB          "target-bob"
#define BOB_SECRET   "bob-secret-3456"

static struct iscsi_test_server *srv;

static void stop(void)
{
    if (srv)
        iscsi_test_server_stop(srv);
    srv = NULL;
}

static void start_default(void)
{
    srv = iscsi_test_server_start(NULL);
}

static void start_chap(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.chap_user = ALICE;
    cfg.chap_secret = ALICE_SECRET;
    cfg.mutual_user = BOB;
    cfg.mutual_secret = BOB_SECRET;
    srv = iscsi_test_server_start(&cfg);
}

static void start_acl(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.acl[0] = ISCSI_TEST_INITIATOR;
    cfg.private_node = true;
    srv = iscsi_test_server_start(&cfg);
}

static void start_digest_required(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.header_digest = ISCSI_DIGEST_POLICY_CRC32C;
    srv = iscsi_test_server_start(&cfg);
}

static bool tur_good(struct iscsi_context *ctx)
{
    struct scsi_task *t = iscsi_testunitready_sync(ctx, 0);
    bool ok = t && t->status == SCSI_STATUS_GOOD;
    if (t)
        scsi_free_scsi_task(t);
    return ok;
}

/* ---- AuthMethod None ---------------------------------------------------------- */

START_TEST(login_without_authentication)
{
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert(iscsi_is_logged_in(ctx));
    ck_assert(tur_good(ctx));
    struct iscsi_target_stats st = iscsi_test_server_stats(srv);
    ck_assert_uint_eq(st.logins_ok, 1);
    ck_assert_uint_eq(st.sessions_open, 1);
    client_free(ctx);
}
END_TEST

START_TEST(credentials_offered_to_an_open_target_still_log_in)
{
    /* libiscsi offers AuthMethod=CHAP,None; a node without CHAP picks None. */
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(ctx, ALICE, ALICE_SECRET);
    ck_assert_int_eq(client_login(ctx, srv), 0);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

START_TEST(unknown_target_is_refused)
{
    struct iscsi_context *ctx = client_new(NULL, "iqn.2024-01.org.scsisim:nothing-here");
    ck_assert_int_ne(client_login(ctx, srv), 0);
    ck_assert(!iscsi_is_logged_in(ctx));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).logins_failed, 1);
    client_free(ctx);
}
END_TEST

static bool no_sessions(void *arg)
{
    return iscsi_test_server_stats(arg).sessions_open == 0;
}

START_TEST(logout_ends_the_session)
{
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).sessions_open, 1);
    ck_assert_int_eq(iscsi_logout_sync(ctx), 0);
    ck_assert(wait_for(no_sessions, srv, 5000));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).protocol_errors, 0);
    iscsi_destroy_context(ctx);
}
END_TEST

/* ---- CHAP ------------------------------------------------------------------------ */

START_TEST(chap_one_way)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(ctx, ALICE, ALICE_SECRET);
    ck_assert_msg(client_login(ctx, srv) == 0, "%s", iscsi_get_error(ctx));
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

START_TEST(chap_mutual)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(ctx, ALICE, ALICE_SECRET);
    iscsi_set_target_username_pwd(ctx, BOB, BOB_SECRET);
    ck_assert_msg(client_login(ctx, srv) == 0, "%s", iscsi_get_error(ctx));
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

START_TEST(chap_mutual_detects_a_target_with_the_wrong_secret)
{
    /* The initiator expects another secret: the target's answer cannot match. */
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(ctx, ALICE, ALICE_SECRET);
    iscsi_set_target_username_pwd(ctx, BOB, "not-bobs-secret");
    ck_assert_int_ne(client_login(ctx, srv), 0);
    ck_assert(!iscsi_is_logged_in(ctx));
    client_free(ctx);
}
END_TEST

START_TEST(chap_wrong_password_is_refused)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(ctx, ALICE, "wrong-password!");
    ck_assert_int_ne(client_login(ctx, srv), 0);
    ck_assert(!iscsi_is_logged_in(ctx));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).logins_failed, 1);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).sessions_open, 0);
    client_free(ctx);
}
END_TEST

START_TEST(chap_wrong_user_is_refused)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(ctx, "mallory", ALICE_SECRET);
    ck_assert_int_ne(client_login(ctx, srv), 0);
    client_free(ctx);
}
END_TEST

START_TEST(chap_required_but_not_offered_is_refused)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    ck_assert_int_ne(client_login(ctx, srv), 0);
    ck_assert(!iscsi_is_logged_in(ctx));
    ck_assert_uint_eq(iscsi_test_server_stats(srv).logins_failed, 1);
    client_free(ctx);
}
END_TEST

START_TEST(failed_login_leaves_other_sessions_alone)
{
    struct iscsi_context *good = client_new(NULL, NULL);
    iscsi_set_initiator_username_pwd(good, ALICE, ALICE_SECRET);
    ck_assert_int_eq(client_login(good, srv), 0);
    for (int i = 0; i < 3; i++) {
        struct iscsi_context *bad = client_new("iqn.2024-01.org.scsisim:intruder", NULL);
        iscsi_set_initiator_username_pwd(bad, ALICE, "guess-number-1");
        ck_assert_int_ne(client_login(bad, srv), 0);
        client_free(bad);
    }
    ck_assert(tur_good(good));
    client_free(good);
}
END_TEST

/* ---- access lists and discovery ------------------------------------------------------ */

START_TEST(acl_admits_the_listed_initiator)
{
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

START_TEST(acl_refuses_others)
{
    struct iscsi_context *ctx = client_new("iqn.2024-01.org.scsisim:stranger", NULL);
    ck_assert_int_ne(client_login(ctx, srv), 0);
    ck_assert(!iscsi_is_logged_in(ctx));
    client_free(ctx);
    /* The private node is closed even to the initiator the first node admits. */
    ctx = client_new(NULL, ISCSI_TEST_OTHER_IQN);
    ck_assert_int_ne(client_login(ctx, srv), 0);
    client_free(ctx);
    ctx = client_new(ISCSI_TEST_PRIVILEGED, ISCSI_TEST_OTHER_IQN);
    ck_assert_int_eq(client_login(ctx, srv), 0);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

/* Runs SendTargets=All as initiator; returns how many targets, checks portals. */
static int discover(const char *initiator, bool *saw_disk, bool *saw_private)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator);
    ck_assert_ptr_nonnull(ctx);
    iscsi_set_session_type(ctx, ISCSI_SESSION_DISCOVERY);
    ck_assert_int_eq(iscsi_connect_sync(ctx, iscsi_test_server_portal(srv)), 0);
    ck_assert_msg(iscsi_login_sync(ctx) == 0, "%s", iscsi_get_error(ctx));
    /* libiscsi returns NULL for an empty list. */
    struct iscsi_discovery_address *da = iscsi_discovery_sync(ctx);
    int n = 0;
    char portal[80];
    snprintf(portal, sizeof(portal), "%s,1", iscsi_test_server_portal(srv));
    *saw_disk = *saw_private = false;
    for (struct iscsi_discovery_address *a = da; a; a = a->next) {
        n++;
        ck_assert_ptr_nonnull(a->portals);
        ck_assert_str_eq(a->portals->portal, portal);
        if (strcmp(a->target_name, ISCSI_TEST_IQN) == 0)
            *saw_disk = true;
        if (strcmp(a->target_name, ISCSI_TEST_OTHER_IQN) == 0)
            *saw_private = true;
    }
    if (da)
        iscsi_free_discovery_data(ctx, da);
    ck_assert(iscsi_is_logged_in(ctx));
    iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
    return n;
}

START_TEST(discovery_lists_what_each_initiator_may_see)
{
    bool disk, priv;
    ck_assert_int_eq(discover(ISCSI_TEST_INITIATOR, &disk, &priv), 1);
    ck_assert(disk && !priv);
    ck_assert_int_eq(discover(ISCSI_TEST_PRIVILEGED, &disk, &priv), 1);
    ck_assert(!disk && priv);
    ck_assert_int_eq(discover("iqn.2024-01.org.scsisim:stranger", &disk, &priv), 0);
}
END_TEST

/* ---- digests ------------------------------------------------------------------- */

START_TEST(header_digest_crc32c)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_CRC32C);
    ck_assert_int_eq(client_login(ctx, srv), 0);
    unsigned char buf[64 * 1024];
    client_pattern(buf, sizeof(buf), 5);
    struct scsi_task *t = iscsi_write16_sync(ctx, 0, 64, buf, sizeof(buf), 512, 0, 0, 0, 0, 0);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    scsi_free_scsi_task(t);
    t = iscsi_read16_sync(ctx, 0, 64, sizeof(buf), 512, 0, 0, 0, 0, 0);
    ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
    ck_assert(memcmp(t->datain.data, buf, sizeof(buf)) == 0);
    scsi_free_scsi_task(t);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).digest_errors, 0);
    client_free(ctx);
}
END_TEST

START_TEST(required_header_digest_refuses_initiators_without)
{
    struct iscsi_context *ctx = client_new(NULL, NULL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
    ck_assert_int_ne(client_login(ctx, srv), 0);
    client_free(ctx);
    ctx = client_new(NULL, NULL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    ck_assert_int_eq(client_login(ctx, srv), 0);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

/* ---- reinstatement ---------------------------------------------------------------- */

START_TEST(same_isid_reinstates_the_session)
{
    struct iscsi_context *a = client_new(NULL, NULL);
    struct iscsi_context *b = client_new(NULL, NULL);
    iscsi_set_isid_random(a, 0x123456, 7);
    iscsi_set_isid_random(b, 0x123456, 7);
    ck_assert_int_eq(client_login(a, srv), 0);
    ck_assert_int_eq(client_login(b, srv), 0);
    struct iscsi_target_stats st = iscsi_test_server_stats(srv);
    ck_assert_uint_eq(st.sessions_reinstated, 1);
    ck_assert_uint_eq(st.sessions_open, 1);
    ck_assert(tur_good(b));
    /* a's connection is gone; drop it without letting libiscsi reconnect. */
    iscsi_destroy_context(a);
    client_free(b);
}
END_TEST

START_TEST(different_isids_are_separate_sessions)
{
    struct iscsi_context *a = client_new(NULL, NULL);
    struct iscsi_context *b = client_new(NULL, NULL);
    iscsi_set_isid_random(a, 0x111111, 1);
    iscsi_set_isid_random(b, 0x222222, 2);
    ck_assert_int_eq(client_login(a, srv), 0);
    ck_assert_int_eq(client_login(b, srv), 0);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).sessions_open, 2);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).sessions_reinstated, 0);
    ck_assert(tur_good(a));
    ck_assert(tur_good(b));
    client_free(a);
    client_free(b);
}
END_TEST

/* ---- listening and configuration ------------------------------------------------ */

static void start_ipv6(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.host = "::1";
    srv = iscsi_test_server_start(&cfg);
}

START_TEST(ipv6_loopback)
{
    char portal[80];
    snprintf(portal, sizeof(portal), "[::1]:%d", iscsi_test_server_port(srv));
    ck_assert_str_eq(iscsi_test_server_portal(srv), portal);
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert(tur_good(ctx));
    client_free(ctx);
    bool disk, priv;
    ck_assert_int_eq(discover(ISCSI_TEST_INITIATOR, &disk, &priv), 1); /* portal "[::1]:port,1" */
    ck_assert(disk);
}
END_TEST

START_TEST(configuration_is_validated)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct iscsi_target_options o;
    struct iscsi_target *t;
    iscsi_target_options_init(&o);
    o.first_burst = o.max_burst + 1;
    ck_assert_int_eq(iscsi_target_create(&loop, &o, &t), -EINVAL);
    iscsi_target_options_init(&o);
    o.queue_depth = 0;
    ck_assert_int_eq(iscsi_target_create(&loop, &o, &t), -EINVAL);
    iscsi_target_options_init(&o);
    o.max_recv_dsl = 100;
    ck_assert_int_eq(iscsi_target_create(&loop, &o, &t), -EINVAL);
    iscsi_target_options_init(&o);
    o.port = 0;
    o.host = "not-an-address";
    ck_assert_int_eq(iscsi_target_create(&loop, &o, &t), 0);
    struct iscsi_node *n;
    ck_assert_int_eq(iscsi_target_add_node(t, "not an iqn", NULL, &n), -EINVAL);
    ck_assert_int_eq(iscsi_target_add_node(t, "iqn.2024-01.org.example:a", NULL, &n), 0);
    ck_assert_int_eq(iscsi_target_add_node(t, "IQN.2024-01.ORG.EXAMPLE:A", NULL, NULL), -EEXIST);
    ck_assert_int_eq(iscsi_node_set_chap(n, "", "secret"), -EINVAL);
    ck_assert_int_eq(iscsi_node_allow_initiator(n, "bogus"), -EINVAL);
    ck_assert_int_lt(iscsi_target_listen(t), 0); /* the host is not an address */
    ck_assert_int_eq(iscsi_target_port(t), -1);
    iscsi_target_close(t, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    iscsi_target_destroy(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(port_in_use_is_reported)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct iscsi_target_options o;
    iscsi_target_options_init(&o);
    o.port = (uint16_t)iscsi_test_server_port(srv);
    struct iscsi_target *t;
    ck_assert_int_eq(iscsi_target_create(&loop, &o, &t), 0);
    ck_assert_int_eq(iscsi_target_listen(t), UV_EADDRINUSE);
    iscsi_target_close(t, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    iscsi_target_destroy(t);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_login");
    TCase *tc = tcase_create("none");
    tcase_add_checked_fixture(tc, start_default, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, login_without_authentication);
    tcase_add_test(tc, credentials_offered_to_an_open_target_still_log_in);
    tcase_add_test(tc, unknown_target_is_refused);
    tcase_add_test(tc, logout_ends_the_session);
    tcase_add_test(tc, header_digest_crc32c);
    tcase_add_test(tc, same_isid_reinstates_the_session);
    tcase_add_test(tc, different_isids_are_separate_sessions);
    tcase_add_test(tc, configuration_is_validated);
    tcase_add_test(tc, port_in_use_is_reported);
    suite_add_tcase(s, tc);

    tc = tcase_create("ipv6");
    tcase_add_checked_fixture(tc, start_ipv6, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, ipv6_loopback);
    suite_add_tcase(s, tc);

    tc = tcase_create("chap");
    tcase_add_checked_fixture(tc, start_chap, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, chap_one_way);
    tcase_add_test(tc, chap_mutual);
    tcase_add_test(tc, chap_mutual_detects_a_target_with_the_wrong_secret);
    tcase_add_test(tc, chap_wrong_password_is_refused);
    tcase_add_test(tc, chap_wrong_user_is_refused);
    tcase_add_test(tc, chap_required_but_not_offered_is_refused);
    tcase_add_test(tc, failed_login_leaves_other_sessions_alone);
    suite_add_tcase(s, tc);

    tc = tcase_create("acl");
    tcase_add_checked_fixture(tc, start_acl, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, acl_admits_the_listed_initiator);
    tcase_add_test(tc, acl_refuses_others);
    tcase_add_test(tc, discovery_lists_what_each_initiator_may_see);
    suite_add_tcase(s, tc);

    tc = tcase_create("digest");
    tcase_add_checked_fixture(tc, start_digest_required, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, required_header_digest_refuses_initiators_without);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
