/* platform/bus_client.c — the host end of the two-process bus (see
 * platform/bus_client.h; the protocol is in sim/bus/bus_proto.h).
 *
 * One struct bus_client hangs on each remote struct bus.  Its lock
 * serializes requests and reconnection; the socket is read only by the
 * thread holding it.  The monitor thread never reads: it polls the socket
 * for the hang-up alone (POLLRDHUP without POLLIN, so replies do not wake
 * it), which is how a controller's death is noticed while nobody talks to
 * it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errf.h"
#include "platform/bus_client.h"
#include "platform/bus_internal.h"
#include "sim/bus/bus_proto.h"

struct bus_client {
    pthread_mutex_t lock;          /* one request or reconnection at a time */
    struct bus *bus;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int sock;                      /* -1 while not connected */
    _Atomic bool connected;        /* false once the hang-up was seen */
    uint32_t seq;
    int ram_fd;                    /* our reference to host RAM */
    uint64_t ram_size;
    pthread_t monitor;
    bool monitoring;
    int wake_fd;                   /* eventfd that stops the monitor */
    union {
        uint8_t bytes[BPROTO_MAX_MSG];
        struct bproto_hdr h;
        uint64_t align;
    } in;
};

/* The controller is gone (the caller may hold the lock, or be the monitor). */
static void lost(struct bus_client *cl)
{
    if (atomic_exchange(&cl->connected, false))
        bus_mark_dead(cl->bus, true);
}

/* ---- the monitor thread --------------------------------------------------- */

static void *monitor_main(void *arg)
{
    struct bus_client *cl = arg;
    struct pollfd p[2] = { { .fd = cl->sock, .events = POLLRDHUP }, { .fd = cl->wake_fd, .events = POLLIN } };
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || p[1].revents)
            break;
        if (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) {
            lost(cl);
            break;
        }
    }
    return NULL;
}

static int start_monitor(struct bus_client *cl)
{
    uint64_t junk;
    if (read(cl->wake_fd, &junk, sizeof(junk)) < 0) {
        /* empty: nothing to drain */
    }
    /* The thread takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&cl->monitor, NULL, monitor_main, cl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    cl->monitoring = rc == 0;
    return -rc;
}

static void stop_monitor(struct bus_client *cl)
{
    if (!cl->monitoring)
        return;
    uint64_t one = 1;
    if (write(cl->wake_fd, &one, sizeof(one)) < 0) {
        /* cannot fail for a fresh eventfd */
    }
    pthread_join(cl->monitor, NULL);
    cl->monitoring = false;
}

/* ---- packets ------------------------------------------------------------- */

/* Receives one packet into cl->in before the deadline: its length, 0 (the
 * peer closed), -ETIMEDOUT, or bproto_recv's errors. */
static ssize_t recv_until(struct bus_client *cl, int sock, int64_t deadline, int *fds, unsigned max_fds,
                          unsigned *nfds)
{
    for (;;) {
        ssize_t n = bproto_recv(sock, cl->in.bytes, sizeof(cl->in.bytes), fds, max_fds, nfds);
        if (n != -EAGAIN)
            return n;
        int64_t left = deadline - (int64_t)clock_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = sock, .events = POLLIN };
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return -errno;
    }
}

static int send_until(int sock, const void *msg, size_t len, const int *fds, unsigned nfds, int64_t deadline)
{
    for (;;) {
        int rc = bproto_send(sock, msg, len, fds, nfds);
        if (rc != -EAGAIN)
            return rc;
        int64_t left = deadline - (int64_t)clock_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = sock, .events = POLLOUT };
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
            return -errno;
    }
}

static bool errno_like(int32_t status)
{
    return status < 0 && status > -4096;
}

/* One request and its reply (lock held).  The request's header is filled
 * here.  Returns the controller's status, -ENODEV (no controller),
 * -ETIMEDOUT, or -EPROTO (a reply that makes no sense). */
static int call(struct bus_client *cl, void *msg, enum bproto_type type, uint32_t len, uint64_t *value,
                void *payload, size_t cap, size_t *plen)
{
    if (!atomic_load(&cl->connected))
        return -ENODEV;
    if (++cl->seq == 0)
        cl->seq = 1;
    uint32_t seq = cl->seq;
    struct bproto_hdr *h = msg;
    h->magic = BPROTO_MAGIC;
    h->type = (uint16_t)type;
    h->rsvd = 0;
    h->len = len;
    h->seq = seq;
    int64_t deadline = (int64_t)clock_now_ms() + BUS_REMOTE_TIMEOUT_MS;
    int rc = send_until(cl->sock, msg, len, NULL, 0, deadline);
    if (rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN) {
        lost(cl);
        return -ENODEV;
    }
    if (rc < 0)
        return rc;
    for (;;) {
        int fds[1];
        unsigned nfds = 0;
        ssize_t n = recv_until(cl, cl->sock, deadline, fds, 0, &nfds);
        if (n == 0 || n == -ECONNRESET) {
            lost(cl);
            return -ENODEV;
        }
        if (n == -ETIMEDOUT)
            return -ETIMEDOUT;
        if (n < 0) /* fds with a reply, or an oversized one */
            return -EPROTO;
        const struct bproto_reply *r = (const struct bproto_reply *)(const void *)cl->in.bytes;
        if (!bproto_framed(cl->in.bytes, (size_t)n) || r->h.type != BPROTO_REPLY || (size_t)n < sizeof(*r))
            return -EPROTO;
        if (r->h.seq != seq)
            continue; /* the late reply to a request that timed out */
        if (r->status != 0 && !errno_like(r->status))
            return -EPROTO;
        size_t got = (size_t)n - sizeof(*r);
        if (r->status == 0 && got > cap)
            return -EPROTO;
        if (r->status == 0 && got)
            memcpy(payload, r + 1, got);
        if (plen)
            *plen = r->status == 0 ? got : 0;
        if (value)
            *value = r->value;
        return r->status;
    }
}

/* ---- the handshake ------------------------------------------------------- */

static bool is_eventfd(int fd)
{
    char link[64], target[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/* Connects to cl->path, says HELLO, checks ATTACH.  On success cl->sock is
 * the connection and a / fds hold what arrived (the caller closes fds). */
static int handshake(struct bus_client *cl, struct sim_attach *a, int *fds, unsigned *nfds, char *err,
                     size_t errlen)
{
    *nfds = 0;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, cl->path, sizeof(sa.sun_path));
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        errf(err, errlen, "socket: %s", strerror(e));
        return -e;
    }
    int rc;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        errf(err, errlen, "%s: cannot connect: %s (is `scsisim controller --socket %s` running?)", cl->path,
             strerror(-rc), cl->path);
        goto fail;
    }
    struct bproto_hello hello;
    bproto_init(&hello, BPROTO_HELLO, sizeof(hello), 0);
    hello.version = BPROTO_VERSION;
    hello.ram_size = cl->ram_size;
    int64_t deadline = (int64_t)clock_now_ms() + BUS_REMOTE_TIMEOUT_MS;
    rc = send_until(s, &hello, sizeof(hello), &cl->ram_fd, 1, deadline);
    /* A controller that refused at once (busy) closed already: its ATTACH
     * still waits in the socket, so read it anyway. */
    if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
        errf(err, errlen, "%s: sending HELLO: %s", cl->path, strerror(-rc));
        goto fail;
    }
    ssize_t n = recv_until(cl, s, deadline, fds, BPROTO_MAX_FDS, nfds);
    /* A controller that closed before reading our HELLO reports the reset
     * first (once); its ATTACH may still be queued behind it. */
    if (n == -ECONNRESET)
        n = recv_until(cl, s, deadline, fds, BPROTO_MAX_FDS, nfds);
    if (n <= 0) {
        rc = n == 0 ? -ECONNRESET : (int)n;
        errf(err, errlen, "%s: no ATTACH from the controller: %s", cl->path,
             n == 0 ? "it closed the connection" : strerror(-rc));
        goto fail;
    }
    struct bproto_attach at;
    if ((size_t)n != sizeof(at) || !bproto_framed(cl->in.bytes, (size_t)n)) {
        rc = -EPROTO;
        errf(err, errlen, "%s: malformed ATTACH (%zd bytes)", cl->path, n);
        goto fail;
    }
    memcpy(&at, cl->in.bytes, sizeof(at));
    if (at.h.type != BPROTO_ATTACH) {
        rc = -EPROTO;
        errf(err, errlen, "%s: expected ATTACH, got message type %u", cl->path, at.h.type);
        goto fail;
    }
    if (at.status != 0) {
        at.reason[sizeof(at.reason) - 1] = '\0';
        for (char *c = at.reason; *c; c++)
            if (*c < ' ' || *c > '~')
                *c = '?';
        rc = errno_like(at.status) ? at.status : -EPROTO;
        errf(err, errlen, "%s: the controller refused: %s", cl->path, at.reason);
        goto fail;
    }
    if (at.version != BPROTO_VERSION || at.ram_size != cl->ram_size || at.dev_size != SIM_REGION_DEV_SIZE ||
        at.nvec == 0 || at.nvec > HBA_MAX_VECTORS || *nfds != 2 + at.nvec) {
        rc = -EPROTO;
        errf(err, errlen, "%s: ATTACH does not add up (version %u, %u vectors, %u fds)", cl->path, at.version,
             at.nvec, *nfds);
        goto fail;
    }
    if (sim_memfd_check(fds[0], SIM_REGION_DEV_SIZE) < 0) {
        rc = -EPROTO;
        errf(err, errlen, "%s: the device memory is not a sealed memfd of %u bytes", cl->path, SIM_REGION_DEV_SIZE);
        goto fail;
    }
    for (unsigned i = 1; i < *nfds; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (!is_eventfd(fds[i]) || fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0) {
            rc = -EPROTO;
            errf(err, errlen, "%s: fd %u of ATTACH is not an eventfd", cl->path, i);
            goto fail;
        }
    }
    memset(a, 0, sizeof(*a));
    a->dev_fd = fds[0];
    a->ram_fd = cl->ram_fd;
    a->ram_size = cl->ram_size;
    a->bell_fd = fds[1];
    a->nvec = at.nvec;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        a->vector_fd[v] = v < at.nvec ? fds[2 + v] : -1;
    cl->sock = s;
    return 0;
fail:
    bproto_close_fds(fds, *nfds);
    *nfds = 0;
    close(s);
    return rc;
}

/* ---- life cycle ---------------------------------------------------------- */

static void release(void *arg)
{
    struct bus_client *cl = arg;
    stop_monitor(cl);
    if (cl->sock >= 0)
        close(cl->sock);
    if (cl->wake_fd >= 0)
        close(cl->wake_fd);
    if (cl->ram_fd >= 0)
        close(cl->ram_fd);
    pthread_mutex_destroy(&cl->lock);
    free(cl);
}

static int set_path(struct bus_client *cl, const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(cl->path)) {
        errf(err, errlen, "socket path must be 1..%zu bytes long", sizeof(cl->path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(cl->path, path, n + 1);
    return 0;
}

int bus_remote_connect(const char *path, int ram_fd, uint64_t ram_size, struct bus **out, char *err, size_t errlen)
{
    if (!path || !out)
        return -EINVAL;
    *out = NULL;
    struct bus_client *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&cl->lock, NULL);
    cl->sock = -1;
    cl->ram_size = ram_size;
    cl->ram_fd = -1;
    cl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc;
    if (cl->wake_fd < 0) {
        rc = -errno;
        errf(err, errlen, "eventfd: %s", strerror(-rc));
        goto fail;
    }
    if ((rc = set_path(cl, path, err, errlen)) < 0)
        goto fail;
    if (ram_fd < 0) {
        cl->ram_fd = sim_host_ram_create(ram_size, err, errlen);
        if (cl->ram_fd < 0) {
            rc = cl->ram_fd;
            goto fail;
        }
    } else {
        if (sim_memfd_check(ram_fd, ram_size) < 0) {
            rc = -EINVAL;
            errf(err, errlen, "host RAM must be a sealed memfd of %llu bytes (sim_host_ram_create)",
                 (unsigned long long)ram_size);
            goto fail;
        }
        if ((cl->ram_fd = fcntl(ram_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
            rc = -errno;
            errf(err, errlen, "dup: %s", strerror(-rc));
            goto fail;
        }
    }
    struct sim_attach a;
    int fds[BPROTO_MAX_FDS];
    unsigned nfds;
    if ((rc = handshake(cl, &a, fds, &nfds, err, errlen)) < 0)
        goto fail;
    rc = bus_attach(&a, NULL, &cl->bus);
    bproto_close_fds(fds, nfds);
    if (rc < 0) {
        errf(err, errlen, "%s: attaching to the controller's memory: %s", cl->path, strerror(-rc));
        goto fail;
    }
    bus_set_remote(cl->bus, cl, release); /* from now on bus_detach releases cl */
    atomic_store(&cl->connected, true);
    if ((rc = start_monitor(cl)) < 0) {
        errf(err, errlen, "starting the monitor thread: %s", strerror(-rc));
        bus_detach(cl->bus);
        return rc;
    }
    *out = cl->bus;
    return 0;
fail:
    release(cl);
    return rc;
}

static struct bus_client *client(const struct bus *b)
{
    return b ? bus_remote(b) : NULL;
}

bool bus_is_remote(const struct bus *b)
{
    return client(b) != NULL;
}

int bus_remote_reconnect(struct bus *b, const char *path, char *err, size_t errlen)
{
    struct bus_client *cl = client(b);
    if (!cl) {
        errf(err, errlen, "not a remote bus");
        return -EINVAL;
    }
    pthread_mutex_lock(&cl->lock);
    stop_monitor(cl);
    if (cl->sock >= 0)
        close(cl->sock);
    cl->sock = -1;
    atomic_store(&cl->connected, false);
    bus_mark_dead(b, false);
    int rc = path ? set_path(cl, path, err, errlen) : 0;
    struct sim_attach a;
    int fds[BPROTO_MAX_FDS];
    unsigned nfds = 0;
    if (rc == 0)
        rc = handshake(cl, &a, fds, &nfds, err, errlen);
    if (rc == 0) {
        rc = bus_swap_device(b, &a);
        bproto_close_fds(fds, nfds);
        if (rc < 0) {
            errf(err, errlen, "%s: attaching to the controller's memory: %s", cl->path, strerror(-rc));
            close(cl->sock);
            cl->sock = -1;
        }
    }
    if (rc == 0) {
        /* The IOMMU's tables stayed in host RAM; the new controller's IOMMU
         * starts with an empty IOTLB and walks them: nothing to replay. */
        atomic_store(&cl->connected, true);
        bus_revive(b);
        int mrc = start_monitor(cl);
        if (mrc < 0) {
            rc = mrc;
            errf(err, errlen, "starting the monitor thread: %s", strerror(-mrc));
            lost(cl);
        }
    }
    pthread_mutex_unlock(&cl->lock);
    return rc;
}

/* ---- test control -------------------------------------------------------- */

static int request(struct bus *b, void *msg, enum bproto_type type, uint32_t len, uint64_t *value, void *payload,
                   size_t cap, size_t *plen)
{
    struct bus_client *cl = client(b);
    if (!cl)
        return -EINVAL;
    pthread_mutex_lock(&cl->lock);
    int rc = call(cl, msg, type, len, value, payload, cap, plen);
    pthread_mutex_unlock(&cl->lock);
    return rc;
}

int64_t bus_remote_power_cut(struct bus *b, const struct sim_power_cut *how)
{
    struct bproto_power_cut m;
    memset(&m, 0, sizeof(m));
    m.mode = how ? (uint32_t)how->mode : SIM_POWER_CUT_ALL;
    m.seed = how ? how->seed : 0;
    uint64_t lost_lines = 0;
    int rc = request(b, &m, BPROTO_POWER_CUT, sizeof(m), &lost_lines, NULL, 0, NULL);
    if (rc < 0)
        return rc;
    return lost_lines > INT64_MAX ? INT64_MAX : (int64_t)lost_lines;
}

int bus_remote_power_on(struct bus *b)
{
    struct bproto_hdr m;
    memset(&m, 0, sizeof(m));
    return request(b, &m, BPROTO_POWER_ON, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_check_media(struct bus *b, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    if (!r)
        return -EINVAL;
    struct bproto_drive m;
    memset(&m, 0, sizeof(m));
    m.target = target;
    m.lun = lun;
    struct bproto_oracle o;
    size_t got = 0;
    int rc = request(b, &m, BPROTO_CHECK_MEDIA, sizeof(m), NULL, &o, sizeof(o), &got);
    if (rc < 0)
        return rc;
    if (got != sizeof(o))
        return -EPROTO;
    r->blocks_checked = o.blocks_checked;
    r->durable_lost = o.durable_lost;
    r->first_bad_lba = o.first_bad_lba;
    r->volatile_kept = o.volatile_kept;
    r->volatile_lost = o.volatile_lost;
    /* The controller process may be broken or hostile: every range checked. */
    if (o.n_ranges > BPROTO_ORACLE_RANGES || o.n_ranges > SIM_ORACLE_RANGES)
        return -EPROTO;
    r->n_ranges = o.n_ranges;
    r->ranges_more = o.ranges_more;
    for (uint32_t i = 0; i < o.n_ranges; i++) {
        const struct bproto_oracle_range *w = &o.range[i];
        if (w->durable > 1 || w->count == 0)
            return -EPROTO;
        r->range[i] = (struct sim_oracle_range){ .lba = w->lba, .count = w->count, .target = w->target,
                                                 .lun = w->lun, .durable = w->durable };
    }
    return 0;
}

int bus_remote_fault_log(struct bus *b, uint32_t first, struct hba_iommu_fault *out, size_t max,
                         struct hba_log_header *hdr)
{
    if (!hdr || (!out && max))
        return -EINVAL;
    struct bproto_fault_log m;
    memset(&m, 0, sizeof(m));
    m.first = first;
    m.max = max < BPROTO_FAULT_LOG_MAX ? (uint32_t)max : (uint32_t)BPROTO_FAULT_LOG_MAX;
    union {
        uint8_t bytes[BPROTO_MAX_MSG];
        uint64_t align;
    } buf;
    size_t got = 0;
    uint64_t count = 0;
    int rc = request(b, &m, BPROTO_FAULT_LOG, sizeof(m), &count, buf.bytes, sizeof(buf.bytes), &got);
    if (rc < 0)
        return rc;
    if (got < sizeof(*hdr) || count > m.max || got != sizeof(*hdr) + count * sizeof(*out))
        return -EPROTO;
    memcpy(hdr, buf.bytes, sizeof(*hdr));
    memcpy(out, buf.bytes + sizeof(*hdr), count * sizeof(*out));
    return (int)count;
}

int bus_remote_inject(struct bus *b, enum sim_inject_kind kind, uint32_t count)
{
    struct bproto_inject m;
    memset(&m, 0, sizeof(m));
    m.kind = (uint32_t)kind;
    m.count = count;
    return request(b, &m, BPROTO_INJECT, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_fault_add(struct bus *b, const char *rule)
{
    struct bproto_fault m;
    memset(&m, 0, sizeof(m));
    if (!rule || strlen(rule) >= sizeof(m.rule))
        return -EINVAL;
    memcpy(m.rule, rule, strlen(rule));
    return request(b, &m, BPROTO_FAULT_ADD, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_set_write_cache(struct bus *b, uint16_t target, uint16_t lun, bool on)
{
    struct bproto_write_cache m;
    memset(&m, 0, sizeof(m));
    m.target = target;
    m.lun = lun;
    m.on = on;
    return request(b, &m, BPROTO_SET_WRITE_CACHE, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_fault_clear(struct bus *b)
{
    struct bproto_hdr m;
    memset(&m, 0, sizeof(m));
    return request(b, &m, BPROTO_FAULT_CLEAR, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_inject_clear(struct bus *b)
{
    struct bproto_hdr m;
    memset(&m, 0, sizeof(m));
    return request(b, &m, BPROTO_INJECT_CLEAR, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_set_battery(struct bus *b, uint16_t target, uint16_t lun, enum hba_battery battery)
{
    struct bproto_battery m;
    memset(&m, 0, sizeof(m));
    m.target = target;
    m.lun = lun;
    m.battery = (uint32_t)battery;
    return request(b, &m, BPROTO_SET_BATTERY, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_raise_ua(struct bus *b, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    struct bproto_raise_ua m;
    memset(&m, 0, sizeof(m));
    m.target = target;
    m.lun = lun;
    m.initiator = initiator;
    m.asc_ascq = asc_ascq;
    return request(b, &m, BPROTO_RAISE_UA, sizeof(m), NULL, NULL, 0, NULL);
}

int bus_remote_set_iommu_policy(struct bus *b, enum hba_iommu_policy policy)
{
    struct bproto_policy m;
    memset(&m, 0, sizeof(m));
    m.policy = (uint32_t)policy;
    return request(b, &m, BPROTO_SET_IOMMU_POLICY, sizeof(m), NULL, NULL, 0, NULL);
}
