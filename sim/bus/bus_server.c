/* sim/bus/bus_server.c — the controller end of the two-process bus (see
 * sim/bus/bus_server.h and, for the protocol, sim/bus/bus_proto.h).
 *
 * Why raw sockets under uv_poll rather than uv_pipe: uv_pipe is a byte
 * stream (SOCK_STREAM) and its fd passing (uv_read2 / uv_write2 on an IPC
 * pipe) carries one libuv handle (TCP, pipe, UDP) per write, not arbitrary
 * fds like memfds and eventfds.  The bus needs message boundaries with the
 * fds bound to their message, so it uses a SOCK_SEQPACKET socket with
 * recvmsg / sendmsg and SCM_RIGHTS (sim/bus/bus_proto.c), and lets libuv only
 * say when a socket is readable (uv_poll), for the listening socket and for
 * the host's connection alike. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errf.h"
#include "sim/bus/bus_proto.h"
#include "sim/bus/bus_server.h"

#define MESSAGES_PER_WAKEUP 64 /* then let the loop breathe (signals, the listener) */

struct conn {
    uv_poll_t poll;
    struct bus_server *srv;
    int fd;
    bool attached; /* a good HELLO powered the controller on for this host */
    bool closing;
};

struct bus_server {
    uv_loop_t *loop;
    struct sim_ctrl *ctrl;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t sock_dev;    /* the socket file we bound, to remove only our own */
    ino_t sock_ino;
    int listen_fd;
    int spare_fd;      /* kept open to be given up when accept runs out of fds */
    uv_poll_t listen_poll;
    struct conn *conn; /* the host being served, or NULL */
    unsigned handles;  /* uv handles not yet closed */
    bool stopping;
    int flush_error;
    FILE *log;
    struct bus_server_stats st;
    union {
        uint8_t bytes[BPROTO_MAX_MSG];
        struct bproto_hdr h;
        uint64_t align;
    } in, out;
};

static void note(struct bus_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct bus_server *s, const char *fmt, ...)
{
    if (!s->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(s->log, "scsisim controller: ");
    vfprintf(s->log, fmt, ap);
    fputc('\n', s->log);
    fflush(s->log);
    va_end(ap);
}

/* ---- life cycle ---------------------------------------------------------- */

static void maybe_free(struct bus_server *s)
{
    if (s->stopping && s->handles == 0)
        free(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct bus_server *s = c->srv;
    close(c->fd);
    free(c);
    s->handles--;
    maybe_free(s);
}

/* Ends a connection.  A host that was attached went away: the controller
 * shuts down in order, as a real one whose host is gone keeps nothing
 * volatile it could still write back. */
static void drop(struct bus_server *s, struct conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    if (s->conn == c)
        s->conn = NULL;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, on_conn_closed);
    if (why)
        note(s, "host dropped: %s", why);
    if (!c->attached)
        return;
    note(s, "host detached; controller shut down");
    int rc = sim_ctrl_shutdown(s->ctrl);
    if (rc < 0 && rc != -EALREADY) {
        note(s, "flushing the caches at shutdown failed: %s", strerror(-rc));
        s->flush_error = rc;
    }
}

static bool hung_up(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLRDHUP };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* ---- replies ------------------------------------------------------------- */

static bool send_attach(struct bus_server *s, int fd, int status, uint64_t ram_size, const char *why)
{
    struct bproto_attach *a = (struct bproto_attach *)(void *)s->out.bytes;
    bproto_init(a, BPROTO_ATTACH, sizeof(*a), 0);
    a->status = status;
    a->version = BPROTO_VERSION;
    a->ram_size = ram_size;
    a->dev_size = SIM_REGION_DEV_SIZE;
    int fds[BPROTO_MAX_FDS];
    unsigned nfds = 0;
    if (status == 0) {
        const struct sim_attach *at = sim_ctrl_attach_info(s->ctrl);
        a->nvec = at->nvec;
        fds[nfds++] = at->dev_fd;
        fds[nfds++] = at->bell_fd;
        for (unsigned v = 0; v < at->nvec; v++)
            fds[nfds++] = at->vector_fd[v];
    } else {
        snprintf(a->reason, sizeof(a->reason), "%s", why);
    }
    return bproto_send(fd, a, sizeof(*a), fds, nfds) == 0;
}

static bool send_reply(struct bus_server *s, struct conn *c, uint32_t seq, int status, uint64_t value, size_t plen)
{
    struct bproto_reply *r = (struct bproto_reply *)(void *)s->out.bytes;
    /* The payload is already in place after the reply header. */
    struct bproto_hdr *h = &r->h;
    h->magic = BPROTO_MAGIC;
    h->type = BPROTO_REPLY;
    h->rsvd = 0;
    h->len = (uint32_t)(sizeof(*r) + plen);
    h->seq = seq;
    r->status = status;
    r->rsvd = 0;
    r->value = value;
    int rc = bproto_send(c->fd, r, h->len, NULL, 0);
    if (rc < 0) {
        /* -EAGAIN: the host sends requests without reading replies. */
        drop(s, c, rc == -EAGAIN ? "not reading its replies" : "reply could not be sent");
        return false;
    }
    return true;
}

/* ---- requests ------------------------------------------------------------ */

/* A handler gets the whole message (its length already checked) and may put
 * a payload after the reply header in s->out. */
typedef int (*request_fn)(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen);

static void *payload(struct bus_server *s)
{
    return s->out.bytes + sizeof(struct bproto_reply);
}

static int do_power_cut(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)plen;
    const struct bproto_power_cut *m = msg;
    if (m->rsvd)
        return -EBADMSG;
    if (m->mode > SIM_POWER_CUT_TORN)
        return -EINVAL;
    struct sim_power_cut how = { .mode = (enum sim_power_cut_mode)m->mode, .seed = m->seed };
    int64_t lost = sim_ctrl_power_cut(s->ctrl, &how);
    if (lost < 0)
        return (int)lost;
    *value = (uint64_t)lost;
    return 0;
}

static int do_power_on(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)msg, (void)value, (void)plen;
    return sim_ctrl_power_on(s->ctrl);
}

static int do_check_media(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value;
    const struct bproto_drive *m = msg;
    if (m->rsvd)
        return -EBADMSG;
    struct sim_oracle_report r;
    memset(&r, 0, sizeof(r));
    int rc = sim_ctrl_check_media(s->ctrl, m->target, m->lun, &r);
    if (rc < 0)
        return rc;
    _Static_assert(BPROTO_ORACLE_RANGES == SIM_ORACLE_RANGES, "the wire carries every range");
    struct bproto_oracle o = { .blocks_checked = r.blocks_checked, .durable_lost = r.durable_lost,
                               .first_bad_lba = r.first_bad_lba, .volatile_kept = r.volatile_kept,
                               .volatile_lost = r.volatile_lost, .n_ranges = r.n_ranges,
                               .ranges_more = r.ranges_more };
    for (uint32_t i = 0; i < r.n_ranges && i < BPROTO_ORACLE_RANGES; i++)
        o.range[i] = (struct bproto_oracle_range){ .lba = r.range[i].lba, .count = r.range[i].count,
                                                   .target = r.range[i].target, .lun = r.range[i].lun,
                                                   .durable = r.range[i].durable };
    memcpy(payload(s), &o, sizeof(o));
    *plen = sizeof(o);
    return 0;
}

static int do_fault_log(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    const struct bproto_fault_log *m = msg;
    size_t max = m->max < BPROTO_FAULT_LOG_MAX ? m->max : BPROTO_FAULT_LOG_MAX;
    struct hba_log_header hdr;
    struct hba_iommu_fault f[BPROTO_FAULT_LOG_MAX];
    size_t n = sim_ctrl_fault_log(s->ctrl, m->first, f, max, &hdr);
    uint8_t *p = payload(s);
    memcpy(p, &hdr, sizeof(hdr));
    memcpy(p + sizeof(hdr), f, n * sizeof(f[0]));
    *plen = sizeof(hdr) + n * sizeof(f[0]);
    *value = n;
    return 0;
}

static int do_inject(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value, (void)plen;
    const struct bproto_inject *m = msg;
    if (m->kind < SIM_INJECT_HANG || m->kind > SIM_INJECT_STALL_HEARTBEAT)
        return -EINVAL;
    return sim_ctrl_inject(s->ctrl, (enum sim_inject_kind)m->kind, m->count);
}

static int do_inject_clear(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)msg, (void)value, (void)plen;
    return sim_ctrl_inject_clear(s->ctrl);
}

static int do_battery(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value, (void)plen;
    const struct bproto_battery *m = msg;
    if (m->battery > HBA_BATTERY_FAILED)
        return -EINVAL;
    return sim_ctrl_set_battery(s->ctrl, m->target, m->lun, (enum hba_battery)m->battery);
}

static int do_raise_ua(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value, (void)plen;
    const struct bproto_raise_ua *m = msg;
    if (m->rsvd[0] || m->rsvd[1] || m->rsvd[2])
        return -EBADMSG;
    return sim_ctrl_raise_ua(s->ctrl, m->target, m->lun, m->initiator, m->asc_ascq);
}

static int do_policy(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value, (void)plen;
    const struct bproto_policy *m = msg;
    if (m->rsvd)
        return -EBADMSG;
    if (m->policy > HBA_IOMMU_POLICY_FATAL)
        return -EINVAL;
    sim_ctrl_set_iommu_policy(s->ctrl, (enum hba_iommu_policy)m->policy);
    return 0;
}

static int do_fault_add(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value, (void)plen;
    const struct bproto_fault *m = msg;
    if (!memchr(m->rule, '\0', sizeof m->rule))
        return -EBADMSG;
    char err[200];
    return sim_ctrl_fault_add(s->ctrl, m->rule, err, sizeof err);
}

static int do_fault_clear(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)msg, (void)value, (void)plen;
    return sim_ctrl_fault_clear(s->ctrl);
}

static int do_write_cache(struct bus_server *s, const void *msg, uint64_t *value, size_t *plen)
{
    (void)value, (void)plen;
    const struct bproto_write_cache *m = msg;
    if (m->on > 1)
        return -EINVAL;
    return sim_ctrl_set_write_cache(s->ctrl, m->target, m->lun, m->on != 0);
}

static const struct request_kind {
    uint16_t type;
    uint32_t size; /* exact message length */
    request_fn fn;
} requests[] = {
    { BPROTO_POWER_CUT, sizeof(struct bproto_power_cut), do_power_cut },
    { BPROTO_POWER_ON, sizeof(struct bproto_hdr), do_power_on },
    { BPROTO_CHECK_MEDIA, sizeof(struct bproto_drive), do_check_media },
    { BPROTO_FAULT_LOG, sizeof(struct bproto_fault_log), do_fault_log },
    { BPROTO_INJECT, sizeof(struct bproto_inject), do_inject },
    { BPROTO_INJECT_CLEAR, sizeof(struct bproto_hdr), do_inject_clear },
    { BPROTO_SET_BATTERY, sizeof(struct bproto_battery), do_battery },
    { BPROTO_RAISE_UA, sizeof(struct bproto_raise_ua), do_raise_ua },
    { BPROTO_SET_IOMMU_POLICY, sizeof(struct bproto_policy), do_policy },
    { BPROTO_FAULT_ADD, sizeof(struct bproto_fault), do_fault_add },
    { BPROTO_FAULT_CLEAR, sizeof(struct bproto_hdr), do_fault_clear },
    { BPROTO_SET_WRITE_CACHE, sizeof(struct bproto_write_cache), do_write_cache },
};

static bool request(struct bus_server *s, struct conn *c, size_t n, int *fds, unsigned nfds)
{
    const struct bproto_hdr *h = &s->in.h;
    const struct request_kind *k = NULL;
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
        if (requests[i].type == h->type)
            k = &requests[i];
    uint64_t value = 0;
    size_t plen = 0;
    int status;
    if (nfds) {
        bproto_close_fds(fds, nfds);
        status = -EBADMSG;
    } else if (h->type == BPROTO_HELLO) {
        status = -EISCONN;
    } else if (!k) {
        status = -EOPNOTSUPP;
    } else if (n != k->size || h->rsvd) {
        status = -EBADMSG;
    } else {
        status = k->fn(s, s->in.bytes, &value, &plen);
    }
    if (status == -EBADMSG || status == -EOPNOTSUPP || status == -EISCONN) {
        s->st.bad_messages++;
        note(s, "rejected a message of type %u, %zu bytes, %u fds: %s", h->type, n, nfds, strerror(-status));
    }
    s->st.requests++;
    if (status < 0)
        plen = 0;
    return send_reply(s, c, h->seq, status, value, plen);
}

/* ---- handshake ----------------------------------------------------------- */

static bool hello(struct bus_server *s, struct conn *c, size_t n, int *fds, unsigned nfds)
{
    const struct bproto_hello *m = (const struct bproto_hello *)(const void *)s->in.bytes;
    char why[BPROTO_REASON] = "";
    uint64_t ram_size = 0;
    int rc;
    if (m->h.type != BPROTO_HELLO) {
        rc = -EPROTO;
        errf(why, sizeof(why), "expected HELLO first, got message type %u", m->h.type);
    } else if (n != sizeof(*m)) {
        rc = -EBADMSG;
        errf(why, sizeof(why), "HELLO of %zu bytes, expected %zu", n, sizeof(*m));
    } else if (m->version != BPROTO_VERSION) {
        rc = -EPROTONOSUPPORT;
        errf(why, sizeof(why), "protocol version %u; this controller speaks version %u", m->version, BPROTO_VERSION);
    } else if (m->rsvd || m->h.rsvd) {
        rc = -EBADMSG;
        errf(why, sizeof(why), "HELLO with a reserved field not zero");
    } else if (nfds != 1) {
        rc = nfds ? -EBADMSG : -EBADF;
        errf(why, sizeof(why), "HELLO must carry one fd (the host RAM memfd), got %u", nfds);
    } else {
        ram_size = m->ram_size;
        if (sim_ctrl_powered(s->ctrl))
            sim_ctrl_shutdown(s->ctrl);
        char e[256] = "";
        rc = sim_ctrl_set_ram(s->ctrl, fds[0], ram_size, e, sizeof(e));
        if (rc < 0)
            errf(why, sizeof(why), "host RAM refused: %s", e);
        else if ((rc = sim_ctrl_power_on(s->ctrl)) < 0)
            errf(why, sizeof(why), "power on failed: %s", strerror(-rc));
    }
    bproto_close_fds(fds, nfds);
    bool sent = send_attach(s, c->fd, rc, ram_size, why);
    if (rc < 0 || !sent) {
        if (rc == 0)
            sim_ctrl_shutdown(s->ctrl);
        s->st.refused++;
        drop(s, c, rc < 0 ? why : "ATTACH could not be sent");
        return false;
    }
    c->attached = true;
    s->st.connections++;
    note(s, "host attached with %llu bytes of RAM", (unsigned long long)ram_size);
    return true;
}

/* ---- event handlers ------------------------------------------------------ */

/* One packet: false when there is nothing more to read now or the
 * connection is gone. */
static bool serve_one(struct bus_server *s, struct conn *c)
{
    int fds[BPROTO_MAX_FDS];
    unsigned nfds = 0;
    ssize_t n = bproto_recv(c->fd, s->in.bytes, sizeof(s->in.bytes), fds, BPROTO_MAX_FDS, &nfds);
    if (n == -EAGAIN)
        return false;
    if (n == 0) {
        drop(s, c, NULL); /* the host went away */
        return false;
    }
    if (n < 0 || !bproto_framed(s->in.bytes, (size_t)n)) {
        bproto_close_fds(fds, nfds);
        s->st.bad_messages++;
        drop(s, c, n < 0 ? strerror((int)-n) : "a packet without a valid header (magic, length)");
        return false;
    }
    if (!c->attached)
        return hello(s, c, (size_t)n, fds, nfds);
    return request(s, c, (size_t)n, fds, nfds);
}

static void on_conn(uv_poll_t *p, int status, int events)
{
    struct conn *c = p->data;
    struct bus_server *s = c->srv;
    if (status < 0) {
        drop(s, c, uv_strerror(status));
        return;
    }
    if (events & UV_READABLE)
        for (int i = 0; i < MESSAGES_PER_WAKEUP && !c->closing; i++)
            if (!serve_one(s, c))
                break;
    if (!c->closing && (events & UV_DISCONNECT) && hung_up(c->fd))
        drop(s, c, NULL);
}

static void refuse(struct bus_server *s, int fd, int status, const char *why)
{
    send_attach(s, fd, status, 0, why);
    close(fd);
    s->st.refused++;
    note(s, "connection refused: %s", why);
}

/* The socket is 0600, and a peer must also be this controller's user or root
 * (SO_PEERCRED): the host gets the controller's memory and can program its
 * IOMMU, so another local user has no business here even if the file mode
 * were loosened or the directory shared.  0, or a reason in why. */
static int peer_allowed(int fd, char *why, size_t len)
{
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
        errf(why, len, "cannot learn the peer's credentials: %s", strerror(errno));
        return -EACCES;
    }
    if (cred.uid != geteuid() && cred.uid != 0) {
        errf(why, len, "peer uid %u is neither this controller's (%u) nor root", (unsigned)cred.uid,
             (unsigned)geteuid());
        return -EACCES;
    }
    return 0;
}

static void on_listen(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct bus_server *s = p->data;
    if (status < 0 || s->stopping)
        return;
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0) {
            /* Out of fds: a pending host would keep the listener readable
             * and the loop spinning.  Free the spare and take the host.
             * accept4 reports EMFILE before it looks for a pending host, and
             * the limit may have been raised since, so whether we are still
             * out of fds is decided by getting the spare back: if that
             * fails, the host is turned away; if it works, the host is
             * served as any other. */
            close(s->spare_fd);
            fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                return; /* nobody was waiting */
            if (s->spare_fd < 0) {
                refuse(s, fd, -EMFILE, "the controller process is out of file descriptors");
                s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
        }
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                note(s, "accept: %s", strerror(errno));
            return;
        }
        char why[sizeof(((struct bproto_attach *)0)->reason)]; /* what ATTACH can carry */
        if (peer_allowed(fd, why, sizeof why) < 0) {
            refuse(s, fd, -EACCES, why);
            continue;
        }
        /* A host that left and came back may be faster than our noticing. */
        if (s->conn && hung_up(s->conn->fd))
            drop(s, s->conn, NULL);
        if (s->conn) {
            refuse(s, fd, -EBUSY, "another host is attached to this controller");
            continue;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c || uv_poll_init(s->loop, &c->poll, fd) < 0) {
            free(c);
            refuse(s, fd, -ENOMEM, "out of memory");
            continue;
        }
        c->srv = s;
        c->fd = fd;
        c->poll.data = c;
        s->handles++;
        s->conn = c;
        uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_conn);
    }
}

/* ---- start / stop -------------------------------------------------------- */

/* -errno of the call that just failed, with the sentence "PATH: WHAT: reason". */
static int sys_fail(char *err, size_t errlen, const char *path, const char *what)
{
    int e = errno;
    errf(err, errlen, "%s%s%s: %s", path ? path : "", path ? ": " : "", what, strerror(e));
    return -e;
}

static int bind_listener(struct bus_server *s, const struct sockaddr_un *sa, char *err, size_t errlen)
{
    /* Linux makes the socket file with the socket inode's mode (less the
     * umask): set before bind, the file is never more open than 0600. */
    if (fchmod(s->listen_fd, 0600) < 0)
        return sys_fail(err, errlen, NULL, "fchmod of the socket");
    if (bind(s->listen_fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
        return 0;
    if (errno != EADDRINUSE)
        return sys_fail(err, errlen, sa->sun_path, "cannot bind the socket");
    struct stat st;
    if (lstat(sa->sun_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        errf(err, errlen, "%s exists and is not a socket; give another --socket path", sa->sun_path);
        return -EEXIST;
    }
    /* A socket file: stale (its controller was killed) unless someone answers. */
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return sys_fail(err, errlen, NULL, "socket");
    int rc = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
    int e = errno;
    close(probe);
    if (rc == 0 || e != ECONNREFUSED) {
        errf(err, errlen, "%s: another controller is listening there", sa->sun_path);
        return -EADDRINUSE;
    }
    if (unlink(sa->sun_path) < 0 && errno != ENOENT)
        return sys_fail(err, errlen, sa->sun_path, "cannot remove the stale socket");
    if (bind(s->listen_fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
        return sys_fail(err, errlen, sa->sun_path, "cannot bind the socket");
    return 0;
}

int bus_server_start(uv_loop_t *loop, struct sim_ctrl *ctrl, const char *path, struct bus_server **out, char *err,
                     size_t errlen)
{
    if (!loop || !ctrl || !path || !out)
        return -EINVAL;
    *out = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
        errf(err, errlen, "socket path must be 1..%zu bytes long", sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct bus_server *s = calloc(1, sizeof(*s));
    if (!s) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->loop = loop;
    s->ctrl = ctrl;
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    memcpy(s->path, sa.sun_path, sizeof(s->path));
    int rc;
    s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) {
        rc = sys_fail(err, errlen, NULL, "socket");
        goto fail;
    }
    if ((rc = bind_listener(s, &sa, err, errlen)) < 0)
        goto fail;
    struct stat st;
    if (lstat(path, &st) == 0) {
        s->sock_dev = st.st_dev;
        s->sock_ino = st.st_ino;
        /* Where fchmod before bind is not honoured: tighten it now. */
        if ((st.st_mode & 0077) && chmod(path, 0600) < 0) {
            rc = sys_fail(err, errlen, path, "cannot make the socket 0600");
            unlink(path);
            goto fail;
        }
    }
    if (listen(s->listen_fd, 8) < 0) {
        rc = sys_fail(err, errlen, path, "listen");
        unlink(path);
        goto fail;
    }
    if ((rc = uv_poll_init(loop, &s->listen_poll, s->listen_fd)) < 0) {
        errf(err, errlen, "uv_poll_init: %s", uv_strerror(rc));
        unlink(path);
        goto fail;
    }
    s->listen_poll.data = s;
    s->handles = 1;
    uv_poll_start(&s->listen_poll, UV_READABLE, on_listen);
    *out = s;
    return 0;
fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    free(s);
    return rc;
}

static void on_listen_closed(uv_handle_t *h)
{
    struct bus_server *s = h->data;
    close(s->listen_fd);
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    s->handles--;
    maybe_free(s);
}

int bus_server_stop(struct bus_server *s)
{
    if (!s || s->stopping)
        return 0;
    if (s->conn)
        drop(s, s->conn, NULL);
    int rc = s->flush_error;
    /* Remove the socket file only if it is still the one we bound. */
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
        unlink(s->path);
    s->stopping = true;
    uv_poll_stop(&s->listen_poll);
    uv_close((uv_handle_t *)&s->listen_poll, on_listen_closed);
    return rc;
}

void bus_server_set_log(struct bus_server *s, FILE *log)
{
    s->log = log;
}

void bus_server_get_stats(const struct bus_server *s, struct bus_server_stats *out)
{
    *out = s->st;
}
