/* tests/support/iscsi_client_target.c — the threaded test target (see
 * iscsi_client.h). */
#include "tests/support/iscsi_client.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tests/support/backend_mem.h"

struct iscsi_test_server {
    uv_loop_t loop;
    struct iscsi_target *target;
    struct backend_mem *mem;
    uv_thread_t thread;
    uv_async_t stop;
    int port;
    char portal[64];
};

void iscsi_test_config_init(struct iscsi_test_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    iscsi_target_options_init(&cfg->opt);
    cfg->opt.port = 0;
    cfg->opt.nop_interval_ms = 0;
    cfg->opt.nop_timeout_ms = 0;
    cfg->opt.login_timeout_ms = 0;
    cfg->opt.pdu_timeout_ms = 0;
    /* SCSISIM_TEST_ISCSI_LOOPS=N runs every in-process target with N event
     * loops (issue 14): the whole iSCSI suite against the multi-loop target. */
    const char *loops = getenv("SCSISIM_TEST_ISCSI_LOOPS");
    if (loops && *loops)
        cfg->opt.loops = (unsigned)strtoul(loops, NULL, 10);
}

static void loop_thread(void *arg)
{
    struct iscsi_test_server *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

static void on_stop_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_target_closed(void *arg)
{
    (void)arg;
}

static void on_stop(uv_async_t *h)
{
    struct iscsi_test_server *s = h->data;
    iscsi_target_close(s->target, on_target_closed, s);
    uv_close((uv_handle_t *)&s->stop, on_stop_closed);
}

struct iscsi_test_server *iscsi_test_server_start(const struct iscsi_test_config *cfg_in)
{
    struct iscsi_test_config defaults;
    const struct iscsi_test_config *cfg = cfg_in;
    if (!cfg) {
        iscsi_test_config_init(&defaults);
        cfg = &defaults;
    }
    /* libuv writes with write(2): a peer that hung up must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    struct iscsi_test_server *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    struct backend_mem_options mo = { .luns = 2, .block_size = 512, .blocks = 16384 };
    ck_assert_int_eq(uv_loop_init(&s->loop), 0);
    ck_assert_int_eq(backend_mem_create(&mo, &s->mem), 0);
    ck_assert_int_eq(iscsi_target_create(&s->loop, &cfg->opt, &s->target), 0);
    struct iscsi_node *node;
    ck_assert_int_eq(iscsi_target_add_node(s->target, ISCSI_TEST_IQN, "test disk", &node), 0);
    struct scsi_backend *be = backend_mem_backend(s->mem);
    ck_assert_int_eq(iscsi_node_add_lun(node, 0, cfg->lun0 ? cfg->lun0 : be, 0), 0);
    ck_assert_int_eq(iscsi_node_add_lun(node, 1, be, 1), 0);
    if (cfg->chap_user)
        ck_assert_int_eq(iscsi_node_set_chap(node, cfg->chap_user, cfg->chap_secret), 0);
    if (cfg->mutual_user)
        ck_assert_int_eq(iscsi_node_set_mutual_chap(node, cfg->mutual_user, cfg->mutual_secret), 0);
    for (int i = 0; i < 4 && cfg->acl[i]; i++)
        ck_assert_int_eq(iscsi_node_allow_initiator(node, cfg->acl[i]), 0);
    if (cfg->private_node) {
        struct iscsi_node *other;
        ck_assert_int_eq(iscsi_target_add_node(s->target, ISCSI_TEST_OTHER_IQN, NULL, &other), 0);
        ck_assert_int_eq(iscsi_node_add_lun(other, 0, be, 1), 0);
        ck_assert_int_eq(iscsi_node_allow_initiator(other, ISCSI_TEST_PRIVILEGED), 0);
    }
    for (unsigned i = 0; i < cfg->extra_nodes; i++) {
        char name[64];
        struct iscsi_node *extra;
        snprintf(name, sizeof(name), "iqn.2024-01.org.scsisim:extra-%u", i);
        ck_assert_int_eq(iscsi_target_add_node(s->target, name, NULL, &extra), 0);
        ck_assert_int_eq(iscsi_node_add_lun(extra, 0, be, 0), 0);
    }
    ck_assert_int_eq(iscsi_target_listen(s->target), 0);
    s->port = iscsi_target_port(s->target);
    ck_assert_int_gt(s->port, 0);
    if (strchr(cfg->opt.host, ':'))
        snprintf(s->portal, sizeof(s->portal), "[%s]:%d", cfg->opt.host, s->port);
    else
        snprintf(s->portal, sizeof(s->portal), "%s:%d", cfg->opt.host, s->port);
    ck_assert_int_eq(uv_async_init(&s->loop, &s->stop, on_stop), 0);
    s->stop.data = s;
    ck_assert_int_eq(uv_thread_create(&s->thread, loop_thread, s), 0);
    return s;
}

void iscsi_test_server_stop(struct iscsi_test_server *s)
{
    uv_async_send(&s->stop);
    uv_thread_join(&s->thread);
    ck_assert_int_eq(uv_loop_close(&s->loop), 0);
    iscsi_target_destroy(s->target);
    backend_mem_destroy(s->mem);
    free(s);
}

int iscsi_test_server_port(const struct iscsi_test_server *s)
{
    return s->port;
}

const char *iscsi_test_server_portal(const struct iscsi_test_server *s)
{
    return s->portal;
}

struct iscsi_target_stats iscsi_test_server_stats(struct iscsi_test_server *s)
{
    struct iscsi_target_stats st;
    iscsi_target_get_stats(s->target, &st);
    return st;
}

unsigned iscsi_test_server_loop_connections(struct iscsi_test_server *s, unsigned loop)
{
    return iscsi_target_loop_connections(s->target, loop);
}

struct iscsi_test_mem_stats iscsi_test_server_mem_stats(struct iscsi_test_server *s)
{
    struct backend_mem_stats m;
    backend_mem_get_stats(s->mem, &m);
    struct iscsi_test_mem_stats r = {
        .commands = m.commands, .reads = m.reads, .writes = m.writes, .syncs = m.syncs,
        .tmfs = m.tmfs, .aborted = m.aborted, .nexus_losses = m.nexus_losses, .last_tmf = (int)m.last_tmf,
    };
    return r;
}

int iscsi_test_server_peek(struct iscsi_test_server *s, unsigned lun, uint64_t off, void *buf, uint64_t len)
{
    return backend_mem_peek(s->mem, lun, off, buf, len);
}

void iscsi_test_server_hold(struct iscsi_test_server *s, bool hold)
{
    backend_mem_set_hold(s->mem, hold);
}

unsigned iscsi_test_server_held(struct iscsi_test_server *s)
{
    return backend_mem_held(s->mem);
}

unsigned iscsi_test_server_release(struct iscsi_test_server *s)
{
    return backend_mem_release(s->mem);
}
