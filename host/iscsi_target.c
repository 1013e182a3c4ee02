/* host/iscsi_target.c — the target object: options, nodes, listener, the
 * liveness timer, the completion queue fed by backends on any thread, and
 * the orderly close. */
#include "host/iscsi_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void iscsi_target_options_init(struct iscsi_target_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 3260;
    o->portal_group_tag = 1;
    o->max_recv_dsl = 262144;
    o->first_burst = 262144;
    o->max_burst = 1048576;
    o->initial_r2t = false;
    o->immediate_data = true;
    o->header_digest = ISCSI_DIGEST_POLICY_ANY;
    o->data_digest = ISCSI_DIGEST_POLICY_ANY;
    o->default_time2wait = 2;
    o->default_time2retain = 20;
    o->queue_depth = 128;
    o->max_io_bytes = 16u << 20;
    o->conn_buffer_bytes = 64u << 20;
    o->max_connections = 4160; /* a session on every controller nexus id (4095) plus discovery */
    o->max_sessions_per_initiator = 16;
    o->nop_interval_ms = 15000;
    o->nop_timeout_ms = 30000;
    o->login_timeout_ms = 15000;
    o->pdu_timeout_ms = 30000;
    o->log_level = ISCSI_TLOG_WARN;
}

void iscsi_log(struct iscsi_target *t, enum iscsi_target_log_level lvl, const char *fmt, ...)
{
    if (!t->opt.log || lvl > t->opt.log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    t->opt.log(t->opt.log_arg, lvl, msg);
}

uint64_t iscsi_now_ms(struct iscsi_target *t)
{
    return uv_now(t->loop);
}

bool iscsi_name_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static uint32_t digest_mask(enum iscsi_digest_policy p)
{
    switch (p) {
    case ISCSI_DIGEST_POLICY_NONE:   return 1u << ISCSI_DIGEST_NONE;
    case ISCSI_DIGEST_POLICY_CRC32C: return 1u << ISCSI_DIGEST_CRC32C;
    default:                         return 1u << ISCSI_DIGEST_NONE | 1u << ISCSI_DIGEST_CRC32C;
    }
}

static int validate_options(const struct iscsi_target_options *o)
{
    if (!o->host || strlen(o->host) >= 64)
        return -EINVAL;
    if (o->max_recv_dsl < 512 || o->max_recv_dsl > 16777215 || o->max_burst < 512 || o->max_burst > 16777215 ||
        o->first_burst < 512 || o->first_burst > o->max_burst)
        return -EINVAL;
    if (o->queue_depth == 0 || o->queue_depth > 256 || o->max_io_bytes == 0 || o->max_connections == 0)
        return -EINVAL;
    if (o->conn_buffer_bytes < o->max_io_bytes || o->default_time2wait > 3600 || o->default_time2retain > 3600)
        return -EINVAL;
    return 0;
}

int iscsi_target_create(uv_loop_t *loop, const struct iscsi_target_options *opt, struct iscsi_target **out)
{
    struct iscsi_target_options o;
    if (opt)
        o = *opt;
    else
        iscsi_target_options_init(&o);
    int r = validate_options(&o);
    if (r < 0)
        return r;
    struct iscsi_target *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->loop = loop;
    t->opt = o;
    snprintf(t->host, sizeof(t->host), "%s", o.host);
    t->opt.host = t->host;
    t->port = -1;
    t->next_tsih = 1;
    t->next_nexus = 1;
    pthread_mutex_init(&t->remote_lock, NULL);
    for (size_t i = 0; i < sizeof(t->stats.v) / sizeof(t->stats.v[0]); i++)
        atomic_init(&t->stats.v[i], 0);

    /* The target's side of every negotiated key. */
    iscsi_params_defaults(&t->pref);
    t->pref.v[ISCSI_KEY_HEADER_DIGEST] = digest_mask(o.header_digest);
    t->pref.v[ISCSI_KEY_DATA_DIGEST] = digest_mask(o.data_digest);
    t->pref.v[ISCSI_KEY_MAX_CONNECTIONS] = 1;
    t->pref.v[ISCSI_KEY_INITIAL_R2T] = o.initial_r2t;
    t->pref.v[ISCSI_KEY_IMMEDIATE_DATA] = o.immediate_data;
    t->pref.v[ISCSI_KEY_MAX_RECV_DSL] = o.max_recv_dsl;
    t->pref.v[ISCSI_KEY_MAX_BURST_LENGTH] = o.max_burst;
    t->pref.v[ISCSI_KEY_FIRST_BURST_LENGTH] = o.first_burst;
    t->pref.v[ISCSI_KEY_DEFAULT_TIME2WAIT] = o.default_time2wait;
    t->pref.v[ISCSI_KEY_DEFAULT_TIME2RETAIN] = o.default_time2retain;
    t->pref.v[ISCSI_KEY_MAX_OUTSTANDING_R2T] = 1;
    t->pref.v[ISCSI_KEY_DATA_PDU_IN_ORDER] = 1;
    t->pref.v[ISCSI_KEY_DATA_SEQUENCE_IN_ORDER] = 1;
    t->pref.v[ISCSI_KEY_ERROR_RECOVERY_LEVEL] = 0;
    t->pref.v[ISCSI_KEY_OF_MARKER] = 0;
    t->pref.v[ISCSI_KEY_IF_MARKER] = 0;
    t->pref.v[ISCSI_KEY_TASK_REPORTING] = 1u << 0; /* RFC3720 semantics only */
    t->pref.v[ISCSI_KEY_PROTOCOL_LEVEL] = 1;       /* RFC 7143 */
    *out = t;
    return 0;
}

/* ---- nodes ---------------------------------------------------------------- */

/* iqn.yyyy-mm.reverse.domain[:anything], eui.<16 hex>, naa.<16 or 32 hex>. */
static bool valid_iscsi_name(const char *s)
{
    size_t l = strlen(s);
    if (l < 5 || l > ISCSI_NAME_MAX)
        return false;
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return strncasecmp(s, "iqn.", 4) == 0 || strncasecmp(s, "eui.", 4) == 0 || strncasecmp(s, "naa.", 4) == 0;
}

int iscsi_target_add_node(struct iscsi_target *t, const char *iqn, const char *alias, struct iscsi_node **out)
{
    if (!iqn || !valid_iscsi_name(iqn) || (alias && strlen(alias) >= 256))
        return -EINVAL;
    if (iscsi_target_find_node(t, iqn))
        return -EEXIST;
    struct iscsi_node *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    if (scsi_lunmap_create(&n->luns) < 0) {
        free(n);
        return -ENOMEM;
    }
    n->target = t;
    snprintf(n->name, sizeof(n->name), "%s", iqn);
    for (char *p = n->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (alias)
        snprintf(n->alias, sizeof(n->alias), "%s", alias);
    struct iscsi_node **pp = &t->nodes;
    while (*pp)
        pp = &(*pp)->next;
    *pp = n;
    if (out)
        *out = n;
    return 0;
}

struct iscsi_node *iscsi_target_find_node(struct iscsi_target *t, const char *name)
{
    for (struct iscsi_node *n = t->nodes; n; n = n->next)
        if (iscsi_name_eq(n->name, name))
            return n;
    return NULL;
}

int iscsi_node_add_lun(struct iscsi_node *n, uint64_t lun, struct scsi_backend *be, uint64_t be_lun)
{
    return scsi_lunmap_add(n->luns, lun, be, be_lun);
}

int iscsi_node_set_device(struct iscsi_node *n, struct scsi_backend *be)
{
    return scsi_lunmap_set_device(n->luns, be);
}

int iscsi_node_allow_initiator(struct iscsi_node *n, const char *initiator)
{
    if (!initiator || !valid_iscsi_name(initiator))
        return -EINVAL;
    char **acl = realloc(n->acl, (n->n_acl + 1) * sizeof(*acl));
    if (!acl)
        return -ENOMEM;
    n->acl = acl;
    n->acl[n->n_acl] = strdup(initiator);
    if (!n->acl[n->n_acl])
        return -ENOMEM;
    n->n_acl++;
    return 0;
}

bool iscsi_node_admits(const struct iscsi_node *n, const char *initiator)
{
    if (n->n_acl == 0)
        return true;
    for (size_t i = 0; i < n->n_acl; i++)
        if (iscsi_name_eq(n->acl[i], initiator))
            return true;
    return false;
}

static int set_secret(char *user_dst, char *secret_dst, const char *user, const char *secret)
{
    if (!user || !secret || !user[0] || !secret[0] || strlen(user) > ISCSI_SECRET_MAX || strlen(secret) > ISCSI_SECRET_MAX)
        return -EINVAL;
    snprintf(user_dst, ISCSI_SECRET_MAX + 1, "%s", user);
    snprintf(secret_dst, ISCSI_SECRET_MAX + 1, "%s", secret);
    return 0;
}

static int auth_set_chap(struct iscsi_auth *a, const char *user, const char *secret)
{
    int r = set_secret(a->chap_user, a->chap_secret, user, secret);
    if (r == 0)
        a->chap = true;
    return r;
}

static int auth_set_mutual(struct iscsi_auth *a, const char *user, const char *secret)
{
    int r = set_secret(a->mutual_user, a->mutual_secret, user, secret);
    if (r == 0)
        a->mutual = true;
    return r;
}

int iscsi_node_set_chap(struct iscsi_node *n, const char *user, const char *secret)
{
    return auth_set_chap(&n->auth, user, secret);
}

int iscsi_node_set_mutual_chap(struct iscsi_node *n, const char *user, const char *secret)
{
    return auth_set_mutual(&n->auth, user, secret);
}

int iscsi_target_set_discovery_chap(struct iscsi_target *t, const char *user, const char *secret)
{
    return auth_set_chap(&t->discovery_auth, user, secret);
}

int iscsi_target_set_discovery_mutual_chap(struct iscsi_target *t, const char *user, const char *secret)
{
    return auth_set_mutual(&t->discovery_auth, user, secret);
}

/* ---- callbacks and the completion queue ------------------------------------ */

void iscsi_target_enter(struct iscsi_target *t)
{
    t->in_callback++;
}

void iscsi_target_flush_dirty(struct iscsi_target *t)
{
    while (t->dirty) {
        struct iscsi_conn *c = t->dirty;
        t->dirty = c->dirty_next;
        c->dirty = false;
        iscsi_conn_flush(c);
    }
}

void iscsi_target_leave(struct iscsi_target *t)
{
    if (t->in_callback == 1) {
        iscsi_target_run_completions(t);
        /* Written once per loop turn (iscsi_flush.c), or now without a loop. */
        if (t->dirty && !iscsi_flush_defer(t))
            iscsi_target_flush_dirty(t);
    }
    t->in_callback--;
}

static void on_wake(uv_async_t *h)
{
    struct iscsi_target *t = h->data;
    iscsi_target_enter(t);
    pthread_mutex_lock(&t->remote_lock);
    struct iscsi_task *head = t->remote_head, *tail = t->remote_tail;
    t->remote_head = t->remote_tail = NULL;
    pthread_mutex_unlock(&t->remote_lock);
    if (head) {
        for (struct iscsi_task *x = head; x; x = x->done_next)
            x->state = ISCSI_TASK_QUEUED;
        if (t->done_tail)
            t->done_tail->done_next = head;
        else
            t->done_head = head;
        t->done_tail = tail;
    }
    iscsi_target_leave(t);
}

static void queue_completion(struct iscsi_target *t, struct iscsi_task *task)
{
    uv_thread_t self = uv_thread_self();
    task->done_next = NULL;
    if (t->loop_thread_known && uv_thread_equal(&self, &t->loop_thread)) {
        task->state = ISCSI_TASK_QUEUED;
        if (t->done_tail)
            t->done_tail->done_next = task;
        else
            t->done_head = task;
        t->done_tail = task;
        if (!t->in_callback) {
            /* Completed from outside our callbacks (a backend on this loop). */
            iscsi_target_enter(t);
            iscsi_target_leave(t);
        }
        return;
    }
    /* Another thread: the loop thread owns task->state, so only link it. */
    pthread_mutex_lock(&t->remote_lock);
    if (t->remote_tail)
        t->remote_tail->done_next = task;
    else
        t->remote_head = task;
    t->remote_tail = task;
    pthread_mutex_unlock(&t->remote_lock);
    uv_async_send(&t->wake);
}

void iscsi_task_backend_done(struct scsi_backend_task *bt)
{
    struct iscsi_task *task = (struct iscsi_task *)((char *)bt - offsetof(struct iscsi_task, be));
    queue_completion(task->conn->target, task);
}

void iscsi_task_tmf_done(struct scsi_backend_tmf *tmf)
{
    struct iscsi_task *task = (struct iscsi_task *)((char *)tmf - offsetof(struct iscsi_task, tmf));
    queue_completion(task->conn->target, task);
}

void iscsi_target_run_completions(struct iscsi_target *t)
{
    while (t->done_head) {
        struct iscsi_task *task = t->done_head;
        t->done_head = task->done_next;
        if (!t->done_head)
            t->done_tail = NULL;
        task->done_next = NULL;
        if (task->kind == ISCSI_TASK_TMF)
            iscsi_tmf_complete(task);
        else
            iscsi_scsi_complete(task);
    }
}

/* ---- listener and timer ---------------------------------------------------- */

static void accept_on(struct iscsi_target *t, unsigned portal, int status)
{
    t->loop_thread = uv_thread_self();
    t->loop_thread_known = true;
    if (status < 0) {
        iscsi_log(t, ISCSI_TLOG_WARN, "accept failed: %s", uv_strerror(status));
        return;
    }
    iscsi_target_enter(t);
    iscsi_conn_accept(t, portal);
    iscsi_target_leave(t);
}

static void on_connection(uv_stream_t *server, int status)
{
    accept_on(server->data, 0, status);
}

static void on_portal_connection(uv_stream_t *server, int status)
{
    struct iscsi_portal *p = server->data;
    accept_on(p->target, p->index, status);
}

static void check_conn_timers(struct iscsi_target *t, struct iscsi_conn *c, uint64_t now)
{
    const struct iscsi_target_options *o = &t->opt;
    if (c->state == ISCSI_CONN_LOGIN) {
        if (o->login_timeout_ms && now - c->login_started_ms >= o->login_timeout_ms)
            iscsi_conn_close(c, "login took too long");
        return;
    }
    if (c->state != ISCSI_CONN_FULL_FEATURE)
        return;
    /* A PDU begun and not finished: the peer trickles it (or stopped).  Not
     * while we stopped reading ourselves (our send queue is full). */
    if (o->pdu_timeout_ms && c->pdu_started_ms && c->reading && now - c->pdu_started_ms >= o->pdu_timeout_ms) {
        ISCSI_STAT_INC(t, pdu_timeouts);
        iscsi_conn_close(c, "a PDU took longer than pdu_timeout to arrive");
        return;
    }
    if (c->ping_out) {
        if (o->nop_timeout_ms && now - c->ping_sent_ms >= o->nop_timeout_ms) {
            ISCSI_STAT_INC(t, nop_timeouts);
            iscsi_conn_close(c, "initiator did not answer a NOP-In ping");
        }
        return;
    }
    if (o->nop_interval_ms && now - c->last_rx_ms >= o->nop_interval_ms)
        iscsi_send_nop_ping(c);
}

static void on_timer(uv_timer_t *h)
{
    struct iscsi_target *t = h->data;
    iscsi_target_enter(t);
    uint64_t now = iscsi_now_ms(t);
    struct iscsi_conn *c = t->conns;
    while (c) {
        struct iscsi_conn *next = c->next;
        check_conn_timers(t, c, now);
        c = next;
    }
    iscsi_target_leave(t);
}

static uint64_t timer_tick_ms(const struct iscsi_target_options *o)
{
    uint64_t m = UINT64_MAX;
    if (o->nop_interval_ms) m = o->nop_interval_ms;
    if (o->nop_timeout_ms && o->nop_timeout_ms < m) m = o->nop_timeout_ms;
    if (o->login_timeout_ms && o->login_timeout_ms < m) m = o->login_timeout_ms;
    if (o->pdu_timeout_ms && o->pdu_timeout_ms < m) m = o->pdu_timeout_ms;
    if (m == UINT64_MAX)
        return 0;
    m /= 4;
    return m < 10 ? 10 : m > 1000 ? 1000 : m;
}

static int portal_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    return strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss)
                             : uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

static int bound_port(uv_tcp_t *h)
{
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    if (uv_tcp_getsockname(h, (struct sockaddr *)&bound, &len) < 0)
        return -1;
    return ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);
}

int iscsi_target_add_portal(struct iscsi_target *t, const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    if (t->listening || t->closing)
        return -EBUSY;
    if (!host || strlen(host) >= sizeof(t->more[0].host) || t->n_more >= ISCSI_TARGET_PORTALS_MAX - 1 ||
        portal_addr(host, port, &ss) < 0)
        return -EINVAL;
    struct iscsi_portal *p = &t->more[t->n_more];
    memset(p, 0, sizeof(*p));
    p->target = t;
    p->index = ++t->n_more;
    snprintf(p->host, sizeof(p->host), "%s", host);
    p->want_port = port;
    p->port = -1;
    return 0;
}

/* One added portal: bound and listening, or a libuv error (closed by
 * iscsi_target_close like the first). */
static int listen_portal(struct iscsi_target *t, struct iscsi_portal *p)
{
    struct sockaddr_storage ss;
    int r = portal_addr(p->host, p->want_port, &ss);
    if (r < 0)
        return r;
    r = uv_tcp_init(t->loop, &p->listener);
    if (r < 0)
        return r;
    p->listener.data = p;
    p->listening = true;
    t->handles_open++;
    r = uv_tcp_bind(&p->listener, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&p->listener, 128, on_portal_connection);
    if (r == 0 && (p->port = bound_port(&p->listener)) < 0)
        r = UV_EINVAL;
    if (r == 0)
        iscsi_log(t, ISCSI_TLOG_INFO, "listening on %s port %d (portal group %u)", p->host, p->port,
                  iscsi_portal_tpgt(t, p->index));
    return r;
}

int iscsi_target_portal_port(const struct iscsi_target *t, unsigned p)
{
    if (p == 0)
        return t->port;
    return p <= t->n_more ? t->more[p - 1].port : -1;
}

int iscsi_target_listen(struct iscsi_target *t)
{
    if (t->listening || t->closing)
        return UV_EALREADY;
    struct sockaddr_storage ss;
    int r = portal_addr(t->host, t->opt.port, &ss);
    if (r < 0)
        return r;
    r = uv_tcp_init(t->loop, &t->listener);
    if (r < 0)
        return r;
    t->listener.data = t;
    t->handles_open++;
    t->listening = true;
    r = uv_tcp_bind(&t->listener, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&t->listener, 128, on_connection);
    if (r < 0)
        goto fail;
    t->port = bound_port(&t->listener);
    if (t->port < 0) {
        r = UV_EINVAL;
        goto fail;
    }
    for (unsigned i = 0; i < t->n_more; i++)
        if ((r = listen_portal(t, &t->more[i])) < 0)
            goto fail;
    r = uv_async_init(t->loop, &t->wake, on_wake);
    if (r < 0)
        goto fail;
    t->wake.data = t;
    t->wake_on = true;
    r = iscsi_flush_init(t);
    if (r < 0)
        goto fail;
    uint64_t tick = timer_tick_ms(&t->opt);
    if (tick) {
        uv_timer_init(t->loop, &t->timer);
        t->timer.data = t;
        t->timer_on = true;
        t->handles_open++;
        uv_timer_start(&t->timer, on_timer, tick, tick);
    }
    iscsi_log(t, ISCSI_TLOG_INFO, "listening on %s port %d", t->host, t->port);
    return 0;
fail:
    /* The caller sees the error; iscsi_target_close still tidies up. */
    t->port = -1;
    return r;
}

int iscsi_target_port(const struct iscsi_target *t)
{
    return t->port;
}

/* ---- closing ---------------------------------------------------------------- */

static void finish_close(struct iscsi_target *t)
{
    void (*cb)(void *) = t->closed_cb;
    t->closed_cb = NULL;
    if (cb)
        cb(t->closed_arg);
}

static void on_wake_closed(uv_handle_t *h)
{
    struct iscsi_target *t = h->data;
    t->wake_on = false;
    finish_close(t);
}

static void maybe_finish_close(struct iscsi_target *t)
{
    if (!t->closing || t->n_conns || t->handles_open)
        return;
    if (t->wake_on) {
        if (!uv_is_closing((uv_handle_t *)&t->wake))
            uv_close((uv_handle_t *)&t->wake, on_wake_closed);
        return;
    }
    finish_close(t);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct iscsi_target *t = h->data;
    t->handles_open--;
    maybe_finish_close(t);
}

void iscsi_target_conn_gone(struct iscsi_target *t)
{
    t->n_conns--;
    maybe_finish_close(t);
}

void iscsi_target_close(struct iscsi_target *t, void (*closed)(void *arg), void *arg)
{
    if (t->closing)
        return;
    t->closing = true;
    t->closed_cb = closed;
    t->closed_arg = arg;
    iscsi_target_enter(t);
    if (t->listening)
        uv_close((uv_handle_t *)&t->listener, on_handle_closed);
    for (unsigned i = 0; i < t->n_more; i++)
        if (t->more[i].listening) {
            t->more[i].listener.data = t;   /* on_handle_closed takes the target */
            uv_close((uv_handle_t *)&t->more[i].listener, on_handle_closed);
        }
    if (t->timer_on) {
        uv_timer_stop(&t->timer);
        uv_close((uv_handle_t *)&t->timer, on_handle_closed);
    }
    for (struct iscsi_conn *c = t->conns; c; c = c->next)
        iscsi_conn_close(c, "target closing");
    iscsi_flush_close(t, on_handle_closed);
    iscsi_target_leave(t);
    maybe_finish_close(t);
}

void iscsi_target_destroy(struct iscsi_target *t)
{
    if (!t)
        return;
    struct iscsi_node *n = t->nodes;
    while (n) {
        struct iscsi_node *next = n->next;
        for (size_t i = 0; i < n->n_acl; i++)
            free(n->acl[i]);
        free(n->acl);
        scsi_lunmap_destroy(n->luns);
        free(n);
        n = next;
    }
    iscsi_nexus_forget_all(t);
    pthread_mutex_destroy(&t->remote_lock);
    free(t);
}

void iscsi_target_get_stats(struct iscsi_target *t, struct iscsi_target_stats *out)
{
    uint64_t v[sizeof(t->stats.v) / sizeof(t->stats.v[0])];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        v[i] = atomic_load_explicit(&t->stats.v[i], memory_order_relaxed);
    _Static_assert(sizeof(v) == sizeof(*out), "stats are all uint64_t");
    memcpy(out, v, sizeof(v));
}
