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
    o->loops = 1;
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
    /* Every loop's clock reads the same monotonic time, cached per turn. */
    return uv_now(iscsi_loop_current(t)->uv);
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
    if (o->loops > ISCSI_TARGET_LOOPS_MAX)
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
    t->opt = o;
    snprintf(t->host, sizeof(t->host), "%s", o.host);
    t->opt.host = t->host;
    t->port = -1;
    t->next_tsih = 1;
    t->next_nexus = 1;
    pthread_mutex_init(&t->lock, NULL);
    t->n_loops = o.loops ? o.loops : 1;
    for (unsigned i = 0; i < t->n_loops; i++) {
        struct iscsi_loop *L = &t->loops[i];
        L->target = t;
        L->index = i;
        L->uv = i == 0 ? loop : &L->own;
        pthread_mutex_init(&L->remote_lock, NULL);
    }
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

/* ---- loops, callbacks and the completion queue ------------------------------ */

static void maybe_finish_close(struct iscsi_target *t);

/* The loop a worker thread runs; NULL on every other thread. */
static _Thread_local struct iscsi_loop *tl_loop;

struct iscsi_loop *iscsi_loop_current(struct iscsi_target *t)
{
    struct iscsi_loop *L = tl_loop;
    return L && L->target == t ? L : &t->loops[0];
}

void iscsi_target_enter(struct iscsi_target *t)
{
    struct iscsi_loop *L = iscsi_loop_current(t);
    if (L->in_callback++ == 0)
        pthread_mutex_lock(&t->lock);
}

void iscsi_target_flush_dirty(struct iscsi_loop *L)
{
    while (L->dirty) {
        struct iscsi_conn *c = L->dirty;
        L->dirty = c->dirty_next;
        c->dirty = false;
        iscsi_conn_flush(c);
    }
}

void iscsi_target_leave(struct iscsi_target *t)
{
    struct iscsi_loop *L = iscsi_loop_current(t);
    if (L->in_callback == 1) {
        iscsi_target_run_completions(L);
        /* Written once per loop turn (iscsi_flush.c), or now without a loop. */
        if (L->dirty && !iscsi_flush_defer(L))
            iscsi_target_flush_dirty(L);
    }
    if (--L->in_callback == 0) {
        pthread_mutex_unlock(&t->lock);
        /* Closing: the connection or worker this callback ended may have
         * been the last thing the close waited for. */
        if (L->index == 0 && t->closing)
            maybe_finish_close(t);
    }
}

void iscsi_loop_post(struct iscsi_conn *c)
{
    struct iscsi_loop *L = c->loop;
    if (!c->posted) {
        c->posted = true;
        c->post_next = L->posted;
        L->posted = c;
    }
    uv_async_send(&L->wake);
}

static void worker_maybe_stop(struct iscsi_loop *L);

static void on_wake(uv_async_t *h)
{
    struct iscsi_loop *L = h->data;
    struct iscsi_target *t = L->target;
    iscsi_target_enter(t);
    pthread_mutex_lock(&L->remote_lock);
    struct iscsi_task *head = L->remote_head, *tail = L->remote_tail;
    L->remote_head = L->remote_tail = NULL;
    pthread_mutex_unlock(&L->remote_lock);
    if (head) {
        for (struct iscsi_task *x = head; x; x = x->done_next)
            x->state = ISCSI_TASK_QUEUED;
        if (L->done_tail)
            L->done_tail->done_next = head;
        else
            L->done_head = head;
        L->done_tail = tail;
    }
    /* Work posted by other loops, in the order it matters: a connection is
     * opened before a close asked for meanwhile is carried out. */
    while (L->posted) {
        struct iscsi_conn *c = L->posted;
        L->posted = c->post_next;
        c->posted = false;
        if (c->adopt_fd >= 0)
            iscsi_conn_adopt(c);
        if (c->close_posted && c->state != ISCSI_CONN_CLOSED)
            iscsi_conn_close(c, c->close_why);
    }
    if (L->index != 0)
        worker_maybe_stop(L);
    iscsi_target_leave(t); /* on loop 0, closing: a worker's last connection went, or a worker ended */
}

static bool on_loop_thread(struct iscsi_loop *L)
{
    if (L->index != 0)
        return tl_loop == L;
    struct iscsi_target *t = L->target;
    uv_thread_t self = uv_thread_self();
    return tl_loop == NULL && t->loop_thread_known && uv_thread_equal(&self, &t->loop_thread);
}

static void queue_completion(struct iscsi_task *task)
{
    struct iscsi_loop *L = task->conn->loop;
    task->done_next = NULL;
    /* With several loops, a completion on the loop's thread but outside our
     * callbacks (the stack run from loop 0's control socket) takes the
     * remote path too: taking the target lock here, under whatever lock the
     * backend may hold, could deadlock with a loop that holds the target
     * lock and calls into the backend. */
    if (on_loop_thread(L) && (L->in_callback || L->target->n_loops == 1)) {
        task->state = ISCSI_TASK_QUEUED;
        if (L->done_tail)
            L->done_tail->done_next = task;
        else
            L->done_head = task;
        L->done_tail = task;
        if (!L->in_callback) {
            /* Completed from outside our callbacks (a backend on this loop). */
            iscsi_target_enter(L->target);
            iscsi_target_leave(L->target);
        }
        return;
    }
    /* Another thread: the loop's thread owns task->state, so only link it.
     * The wake-up is sent under remote_lock: once the loop has run the task
     * it may end (and close its wake handle, under the same lock). */
    pthread_mutex_lock(&L->remote_lock);
    if (L->remote_tail)
        L->remote_tail->done_next = task;
    else
        L->remote_head = task;
    L->remote_tail = task;
    if (!L->wake_closing)
        uv_async_send(&L->wake);
    pthread_mutex_unlock(&L->remote_lock);
}

/* Closes a loop's wake handle on its thread, so that no completion thread
 * sends to it any more. */
static void close_wake(struct iscsi_loop *L, uv_close_cb cb)
{
    pthread_mutex_lock(&L->remote_lock);
    if (L->wake_on && !L->wake_closing) {
        L->wake_closing = true;
        uv_close((uv_handle_t *)&L->wake, cb);
    }
    pthread_mutex_unlock(&L->remote_lock);
}

void iscsi_task_backend_done(struct scsi_backend_task *bt)
{
    struct iscsi_task *task = (struct iscsi_task *)((char *)bt - offsetof(struct iscsi_task, be));
    queue_completion(task);
}

void iscsi_task_tmf_done(struct scsi_backend_tmf *tmf)
{
    struct iscsi_task *task = (struct iscsi_task *)((char *)tmf - offsetof(struct iscsi_task, tmf));
    queue_completion(task);
}

void iscsi_target_run_completions(struct iscsi_loop *L)
{
    while (L->done_head) {
        struct iscsi_task *task = L->done_head;
        L->done_head = task->done_next;
        if (!L->done_head)
            L->done_tail = NULL;
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

/* Each loop times its own connections: closing one or pinging it touches
 * its handle, which only its loop may do. */
static void on_timer(uv_timer_t *h)
{
    struct iscsi_loop *L = h->data;
    struct iscsi_target *t = L->target;
    iscsi_target_enter(t);
    uint64_t now = iscsi_now_ms(t);
    struct iscsi_conn *c = t->conns;
    while (c) {
        struct iscsi_conn *next = c->next;
        if (c->loop == L && c->adopt_fd < 0)
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
    r = uv_tcp_init(t->loops[0].uv, &p->listener);
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

/* ---- worker loops ------------------------------------------------------------ */

static void worker_main(void *arg)
{
    struct iscsi_loop *L = arg;
    struct iscsi_target *t = L->target;
    tl_loop = L;
    uv_run(L->uv, UV_RUN_DEFAULT);
    /* uv_run returns once the loop's handles are all closed (worker_maybe_stop). */
    int r = uv_loop_close(L->uv);
    if (r < 0)
        iscsi_log(t, ISCSI_TLOG_ERROR, "event loop %u still had handles when it ended: %s", L->index, uv_strerror(r));
    tl_loop = NULL;
    pthread_mutex_lock(&t->lock);
    L->exited = true;
    pthread_mutex_unlock(&t->lock);
    uv_async_send(&t->loops[0].wake); /* loop 0 joins us (maybe_finish_close) */
}

/* A worker's handles close once the target is closing and the last of its
 * connections is gone; its uv_run then returns.  On its thread. */
static void worker_maybe_stop(struct iscsi_loop *L)
{
    if (!L->target->closing || L->n_conns || L->stopping)
        return;
    L->stopping = true;
    if (L->timer_on) {
        uv_timer_stop(&L->timer);
        uv_close((uv_handle_t *)&L->timer, NULL);
        L->timer_on = false;
    }
    iscsi_flush_close(L, NULL);
    close_wake(L, NULL);
}

static int loop_timer_start(struct iscsi_loop *L, uint64_t tick)
{
    int r = uv_timer_init(L->uv, &L->timer);
    if (r < 0)
        return r;
    L->timer.data = L;
    L->timer_on = true;
    return uv_timer_start(&L->timer, on_timer, tick, tick);
}

/* Loop i >= 1: its loop and handles, made here before its thread exists
 * (nothing runs them yet), then the thread. */
static int worker_start(struct iscsi_target *t, struct iscsi_loop *L)
{
    int r = uv_loop_init(L->uv);
    if (r < 0)
        return r;
    r = uv_async_init(L->uv, &L->wake, on_wake);
    if (r == 0) {
        L->wake.data = L;
        L->wake_on = true;
        r = iscsi_flush_init(L);
    }
    uint64_t tick = timer_tick_ms(&t->opt);
    if (r == 0 && tick)
        r = loop_timer_start(L, tick);
    if (r == 0)
        r = uv_thread_create(&L->thread, worker_main, L);
    if (r == 0) {
        L->thread_started = true;
        return 0;
    }
    /* No thread: close what was made and let the loop finish here. */
    L->stopping = true;
    if (L->timer_on)
        uv_close((uv_handle_t *)&L->timer, NULL);
    iscsi_flush_close(L, NULL);
    if (L->wake_on)
        uv_close((uv_handle_t *)&L->wake, NULL);
    uv_run(L->uv, UV_RUN_DEFAULT);
    uv_loop_close(L->uv);
    L->exited = true;
    return r;
}

static void on_loop0_handle_closed(uv_handle_t *h);

int iscsi_target_listen(struct iscsi_target *t)
{
    if (t->listening || t->closing)
        return UV_EALREADY;
    struct iscsi_loop *L0 = &t->loops[0];
    struct sockaddr_storage ss;
    int r = portal_addr(t->host, t->opt.port, &ss);
    if (r < 0)
        return r;
    r = uv_tcp_init(L0->uv, &t->listener);
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
    r = uv_async_init(L0->uv, &L0->wake, on_wake);
    if (r < 0)
        goto fail;
    L0->wake.data = L0;
    L0->wake_on = true;
    r = iscsi_flush_init(L0);
    if (r < 0)
        goto fail;
    t->handles_open += 2;
    uint64_t tick = timer_tick_ms(&t->opt);
    if (tick) {
        t->handles_open++;
        if ((r = loop_timer_start(L0, tick)) < 0)
            goto fail;
    }
    for (unsigned i = 1; i < t->n_loops; i++)
        if ((r = worker_start(t, &t->loops[i])) < 0)
            goto fail;
    iscsi_log(t, ISCSI_TLOG_INFO, "listening on %s port %d (%u event loop%s)", t->host, t->port, t->n_loops,
              t->n_loops == 1 ? "" : "s");
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
    struct iscsi_loop *L = h->data;
    L->wake_on = false;
    finish_close(L->target);
}

/* Loop 0's thread, outside the target lock. */
static void maybe_finish_close(struct iscsi_target *t)
{
    pthread_mutex_lock(&t->lock);
    bool busy = !t->closing || t->n_conns || t->handles_open;
    for (unsigned i = 1; i < t->n_loops && !busy; i++)
        busy = t->loops[i].thread_started && !t->loops[i].exited;
    pthread_mutex_unlock(&t->lock);
    if (busy)
        return;
    if (!t->workers_joined) {
        t->workers_joined = true;
        for (unsigned i = 1; i < t->n_loops; i++)
            if (t->loops[i].thread_started)
                uv_thread_join(&t->loops[i].thread);
    }
    struct iscsi_loop *L0 = &t->loops[0];
    if (L0->wake_on) {
        close_wake(L0, on_wake_closed);
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

static void on_loop0_handle_closed(uv_handle_t *h)
{
    struct iscsi_loop *L = h->data;
    L->target->handles_open--;
    maybe_finish_close(L->target);
}

void iscsi_target_conn_gone(struct iscsi_target *t, struct iscsi_loop *L)
{
    t->n_conns--;
    L->n_conns--;
    if (L->index != 0) {
        worker_maybe_stop(L);
        if (t->closing && t->n_conns == 0)
            uv_async_send(&t->loops[0].wake);
    }
    /* Loop 0 checks on leaving the callback: maybe_finish_close takes the
     * target lock, which the caller holds. */
}

void iscsi_target_close(struct iscsi_target *t, void (*closed)(void *arg), void *arg)
{
    if (t->closing)
        return;
    iscsi_target_enter(t);
    t->closing = true;
    t->closed_cb = closed;
    t->closed_arg = arg;
    if (t->listening)
        uv_close((uv_handle_t *)&t->listener, on_handle_closed);
    for (unsigned i = 0; i < t->n_more; i++)
        if (t->more[i].listening) {
            t->more[i].listener.data = t;   /* on_handle_closed takes the target */
            uv_close((uv_handle_t *)&t->more[i].listener, on_handle_closed);
        }
    struct iscsi_loop *L0 = &t->loops[0];
    if (L0->timer_on) {
        uv_timer_stop(&L0->timer);
        uv_close((uv_handle_t *)&L0->timer, on_loop0_handle_closed);
        L0->timer_on = false;
    }
    /* Connections of other loops close there (posted); their loops stop
     * once their last connection is gone. */
    for (struct iscsi_conn *c = t->conns; c; c = c->next)
        iscsi_conn_close(c, "target closing");
    for (unsigned i = 1; i < t->n_loops; i++)
        if (t->loops[i].thread_started)
            uv_async_send(&t->loops[i].wake);
    iscsi_flush_close(L0, on_loop0_handle_closed);
    iscsi_target_leave(t); /* and, outside every callback, maybe_finish_close */
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
    for (unsigned i = 0; i < t->n_loops; i++)
        pthread_mutex_destroy(&t->loops[i].remote_lock);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

unsigned iscsi_target_loops(const struct iscsi_target *t)
{
    return t->n_loops;
}

unsigned iscsi_target_loop_connections(struct iscsi_target *t, unsigned i)
{
    if (i >= t->n_loops)
        return 0;
    pthread_mutex_lock(&t->lock);
    unsigned n = t->loops[i].n_conns;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void iscsi_target_get_stats(struct iscsi_target *t, struct iscsi_target_stats *out)
{
    uint64_t v[sizeof(t->stats.v) / sizeof(t->stats.v[0])];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        v[i] = atomic_load_explicit(&t->stats.v[i], memory_order_relaxed);
    _Static_assert(sizeof(v) == sizeof(*out), "stats are all uint64_t");
    memcpy(out, v, sizeof(v));
}
