/* tests/test_iscsi_tmf.c — task management, NOP and completions from other
 * threads, with libiscsi as the initiator and the test backend holding tasks
 * so that there is something to abort. */
#include "tests/support/testutil.h"

#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "tests/support/iscsi_client.h"

static struct iscsi_test_server *srv;

static void start(void)
{
    srv = iscsi_test_server_start(NULL);
}

static void start_pinging(void)
{
    struct iscsi_test_config cfg;
    iscsi_test_config_init(&cfg);
    cfg.opt.nop_interval_ms = 40;
    cfg.opt.nop_timeout_ms = 5000;
    srv = iscsi_test_server_start(&cfg);
}

static void stop(void)
{
    iscsi_test_server_stop(srv);
}

struct cmd_result {
    struct scsi_task *task; /* freed by the callback, whatever the outcome */
    int done;
    int status;
    int size;
    unsigned char first;
};

static void cmd_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
    (void)ctx;
    struct cmd_result *r = priv;
    r->done = 1;
    r->status = status;
    struct scsi_task *t = r->task;
    (void)data; /* NULL when libiscsi cancels the command */
    if (status == SCSI_STATUS_GOOD) {
        r->size = t->datain.size;
        r->first = t->datain.size ? t->datain.data[0] : 0;
    }
    scsi_free_scsi_task(t);
    r->task = NULL;
}

/* Commands the target never answered stay with libiscsi until the context
 * is destroyed; then they are the test's to free. */
static void free_unanswered(struct cmd_result *r, int n)
{
    for (int i = 0; i < n; i++) {
        if (r[i].task)
            scsi_free_scsi_task(r[i].task);
        r[i].task = NULL;
    }
}

struct tmf_result {
    int done;
    int status;
    uint32_t response;
};

static void tmf_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
    (void)ctx;
    struct tmf_result *r = priv;
    r->done = 1;
    r->status = status;
    if (data)
        r->response = *(uint32_t *)data;
}

struct held_wait {
    struct iscsi_context *ctx;
    unsigned n;
};

/* Services the initiator until the backend holds n tasks. */
static bool backend_holds(struct iscsi_context *ctx, unsigned n)
{
    TESTUTIL_WAIT_FOR(iscsi_test_server_held(srv) == n || (client_service_for(ctx, 10), false));
    return iscsi_test_server_held(srv) == n;
}

static struct scsi_task *start_read(struct iscsi_context *ctx, int lun, struct cmd_result *r)
{
    memset(r, 0, sizeof(*r));
    struct scsi_task *t = iscsi_read16_task(ctx, lun, 0, 4096, 512, 0, 0, 0, 0, 0, cmd_cb, r);
    ck_assert_ptr_nonnull(t);
    r->task = t;
    return t;
}

static uint32_t run_tmf(struct iscsi_context *ctx, int lun, enum iscsi_task_mgmt_funcs fn, uint32_t ritt)
{
    struct tmf_result r = { 0 };
    ck_assert_int_eq(iscsi_task_mgmt_async(ctx, lun, fn, ritt, 0, tmf_cb, &r), 0);
    ck_assert(client_service_until(ctx, &r.done, 5000));
    ck_assert_int_eq(r.status, SCSI_STATUS_GOOD);
    return r.response;
}

static bool tur_good(struct iscsi_context *ctx)
{
    struct scsi_task *t = iscsi_testunitready_sync(ctx, 0);
    bool ok = t && t->status == SCSI_STATUS_GOOD;
    if (t)
        scsi_free_scsi_task(t);
    return ok;
}

START_TEST(abort_task_ends_the_held_command)
{
    struct iscsi_context *ctx = client_connect(srv);
    iscsi_test_server_hold(srv, true);
    struct cmd_result r;
    struct scsi_task *t = start_read(ctx, 0, &r);
    ck_assert(backend_holds(ctx, 1));
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_ABORT_TASK, t->itt), ISCSI_TMR_FUNC_COMPLETE);
    ck_assert_uint_eq(iscsi_test_server_held(srv), 0);
    struct iscsi_test_mem_stats ms = iscsi_test_server_mem_stats(srv);
    ck_assert_uint_eq(ms.aborted, 1);
    ck_assert_int_eq(ms.last_tmf, ISCSI_TM_ABORT_TASK);
    iscsi_test_server_hold(srv, false);
    ck_assert(tur_good(ctx));
    /* The aborted command never got a status from the target. */
    ck_assert_int_eq(r.done, 0);
    client_free(ctx);
    free_unanswered(&r, 1);
}
END_TEST

START_TEST(abort_task_of_an_unknown_tag)
{
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_ABORT_TASK, 0x7777), ISCSI_TMR_TASK_DOES_NOT_EXIST);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

START_TEST(lun_reset_aborts_only_that_lun)
{
    struct iscsi_context *ctx = client_connect(srv);
    iscsi_test_server_hold(srv, true);
    struct cmd_result r0[3], r1;
    for (int i = 0; i < 3; i++)
        start_read(ctx, 0, &r0[i]);
    start_read(ctx, 1, &r1);
    ck_assert(backend_holds(ctx, 4));
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_LUN_RESET, 0xffffffff), ISCSI_TMR_FUNC_COMPLETE);
    ck_assert_uint_eq(iscsi_test_server_held(srv), 1);
    ck_assert_uint_eq(iscsi_test_server_mem_stats(srv).aborted, 3);
    /* The LUN 1 command completes once the backend lets it go, from this
     * thread: the target takes the completion across threads. */
    iscsi_test_server_hold(srv, false);
    ck_assert_uint_eq(iscsi_test_server_release(srv), 1);
    ck_assert(client_service_until(ctx, &r1.done, 5000));
    ck_assert_int_eq(r1.status, SCSI_STATUS_GOOD);
    ck_assert_int_eq(r1.size, 4096);
    client_free(ctx);
    free_unanswered(r0, 3);
}
END_TEST

START_TEST(abort_task_set_and_warm_reset)
{
    struct iscsi_context *ctx = client_connect(srv);
    iscsi_test_server_hold(srv, true);
    struct cmd_result r[4];
    start_read(ctx, 0, &r[0]);
    start_read(ctx, 0, &r[1]);
    ck_assert(backend_holds(ctx, 2));
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_ABORT_TASK_SET, 0xffffffff), ISCSI_TMR_FUNC_COMPLETE);
    ck_assert_uint_eq(iscsi_test_server_held(srv), 0);
    start_read(ctx, 0, &r[2]);
    start_read(ctx, 1, &r[3]);
    ck_assert(backend_holds(ctx, 2));
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_TARGET_WARM_RESET, 0xffffffff), ISCSI_TMR_FUNC_COMPLETE);
    ck_assert_uint_eq(iscsi_test_server_held(srv), 0);
    ck_assert_uint_eq(iscsi_test_server_mem_stats(srv).aborted, 4);
    iscsi_test_server_hold(srv, false);
    ck_assert(tur_good(ctx));
    client_free(ctx);
    free_unanswered(r, 4);
}
END_TEST

START_TEST(tmf_on_an_unmapped_lun)
{
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert_uint_eq(run_tmf(ctx, 9, ISCSI_TM_LUN_RESET, 0xffffffff), ISCSI_TMR_LUN_DOES_NOT_EXIST);
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_TASK_REASSIGN, 0x1), ISCSI_TMR_TASK_ALLEGIANCE_REASS_NOT_SUPPORTED);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

static bool no_sessions(void *arg)
{
    return iscsi_test_server_stats(arg).sessions_open == 0;
}

START_TEST(cold_reset_ends_the_connection)
{
    struct iscsi_context *ctx = client_connect(srv);
    ck_assert_uint_eq(run_tmf(ctx, 0, ISCSI_TM_TARGET_COLD_RESET, 0xffffffff), ISCSI_TMR_FUNC_COMPLETE);
    ck_assert(wait_for(no_sessions, srv, 5000));
    iscsi_destroy_context(ctx);
}
END_TEST

START_TEST(connection_loss_aborts_held_tasks)
{
    struct iscsi_context *ctx = client_connect(srv);
    iscsi_test_server_hold(srv, true);
    struct cmd_result r;
    start_read(ctx, 0, &r);
    ck_assert(backend_holds(ctx, 1));
    iscsi_destroy_context(ctx); /* drops the TCP connection */
    free_unanswered(&r, 1);
    ck_assert(wait_for(no_sessions, srv, 5000));
    ck_assert_uint_eq(iscsi_test_server_held(srv), 0);
    struct iscsi_test_mem_stats ms = iscsi_test_server_mem_stats(srv);
    ck_assert_uint_eq(ms.nexus_losses, 1);
    ck_assert_uint_eq(ms.aborted, 1);
}
END_TEST

START_TEST(completions_from_another_thread)
{
    struct iscsi_context *ctx = client_connect(srv);
    iscsi_test_server_hold(srv, true);
    enum { N = 16 };
    struct cmd_result r[N];
    for (int i = 0; i < N; i++)
        start_read(ctx, i & 1, &r[i]);
    ck_assert(backend_holds(ctx, N));
    ck_assert_uint_eq(iscsi_test_server_release(srv), N);
    for (int i = 0; i < N; i++) {
        ck_assert(client_service_until(ctx, &r[i].done, 5000));
        ck_assert_int_eq(r[i].status, SCSI_STATUS_GOOD);
        ck_assert_int_eq(r[i].size, 4096);
    }
    iscsi_test_server_hold(srv, false);
    client_free(ctx);
}
END_TEST

struct nop_result {
    int done;
    int status;
    unsigned char data[64];
    size_t len;
};

static void nop_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
    (void)ctx;
    struct nop_result *r = priv;
    r->done = 1;
    r->status = status;
    struct iscsi_data *d = data;
    if (d && d->size <= sizeof(r->data)) {
        memcpy(r->data, d->data, d->size);
        r->len = d->size;
    }
}

START_TEST(nop_out_is_echoed)
{
    struct iscsi_context *ctx = client_connect(srv);
    struct nop_result r = { 0 };
    /* A multiple of 4: libiscsi reports the padded size of what it gets. */
    unsigned char ping[16] = "are you there??";
    ck_assert_int_eq(iscsi_nop_out_async(ctx, nop_cb, ping, sizeof(ping), &r), 0);
    ck_assert(client_service_until(ctx, &r.done, 5000));
    ck_assert_int_eq(r.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(r.len, sizeof(ping));
    ck_assert(memcmp(r.data, ping, sizeof(ping)) == 0);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

static bool pinged_twice(void *arg)
{
    return iscsi_test_server_stats(arg).nop_pings >= 2;
}

START_TEST(target_pings_idle_connections)
{
    struct iscsi_context *ctx = client_connect(srv);
    /* An idle initiator that answers pings keeps its session. */
    TESTUTIL_WAIT_FOR(pinged_twice(srv) || (client_service_for(ctx, 20), false));
    ck_assert(pinged_twice(srv));
    client_service_for(ctx, 50);
    ck_assert_uint_eq(iscsi_test_server_stats(srv).nop_timeouts, 0);
    ck_assert(tur_good(ctx));
    client_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iscsi_tmf");
    TCase *tc = tcase_create("tmf");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, abort_task_ends_the_held_command);
    tcase_add_test(tc, abort_task_of_an_unknown_tag);
    tcase_add_test(tc, lun_reset_aborts_only_that_lun);
    tcase_add_test(tc, abort_task_set_and_warm_reset);
    tcase_add_test(tc, tmf_on_an_unmapped_lun);
    tcase_add_test(tc, cold_reset_ends_the_connection);
    tcase_add_test(tc, connection_loss_aborts_held_tasks);
    tcase_add_test(tc, completions_from_another_thread);
    tcase_add_test(tc, nop_out_is_echoed);
    suite_add_tcase(s, tc);

    tc = tcase_create("ping");
    tcase_add_checked_fixture(tc, start_pinging, stop);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, target_pings_idle_connections);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
