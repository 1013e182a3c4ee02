/* tests/test_bus_twoproc_proto.c — the bus protocol against a hostile peer, both
 * ways.  Malformed messages to a real controller process (wrong version,
 * short, bad type, bad lengths, missing or extra fds, garbage, oversized, a
 * host that never reads) are refused or cut off, no fd leaks in the
 * controller, and it serves the next host.  A fake controller in this
 * process sends malformed ATTACHes and replies: the client refuses them
 * without leaking fds or mapping anything. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/bus_client.h"
#include "sim/bus/bus_proto.h"
#include "tests/support/bus_twoproc_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

static const char *const small_drive[] = { "--set", "init-time=1ms", "--drive", "0:0,blocks=2048", NULL };

/* ---- raw peers ------------------------------------------------------------ */

static int raw_connect(const char *path)
{
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return s;
}

/* One packet within the harness timeout: its length, 0 at EOF. */
static ssize_t raw_recv(int s, void *buf, size_t cap, int *fds, unsigned *nfds)
{
    unsigned dummy;
    int spare[BPROTO_MAX_FDS];
    for (;;) {
        ssize_t n = bproto_recv(s, buf, cap, fds ? fds : spare, BPROTO_MAX_FDS, nfds ? nfds : &dummy);
        if (!fds && n > 0)
            bproto_close_fds(spare, dummy);
        if (n != -EAGAIN)
            return n == -ECONNRESET ? 0 : n;
        struct pollfd p = { .fd = s, .events = POLLIN };
        ck_assert_msg(poll(&p, 1, HH_TIMEOUT_MS) > 0, "no answer from the peer");
    }
}

/* The peer closes without a word. */
static void expect_cut_off(int s)
{
    uint8_t buf[BPROTO_MAX_MSG];
    ck_assert_int_eq(raw_recv(s, buf, sizeof(buf), NULL, NULL), 0);
    close(s);
}

/* The controller answers ATTACH with status, then closes. */
static void expect_refused(int s, int status, const char *reason_part)
{
    union {
        struct bproto_attach a;
        uint8_t bytes[BPROTO_MAX_MSG];
    } u;
    unsigned nfds = 9;
    int fds[BPROTO_MAX_FDS];
    ssize_t n = raw_recv(s, u.bytes, sizeof(u.bytes), fds, &nfds);
    ck_assert_int_eq(n, sizeof(struct bproto_attach));
    ck_assert_uint_eq(nfds, 0);
    ck_assert_uint_eq(u.a.h.type, BPROTO_ATTACH);
    ck_assert_int_eq(u.a.status, status);
    ck_assert_uint_eq(u.a.version, BPROTO_VERSION);
    ck_assert_msg(strstr(u.a.reason, reason_part), "reason '%s' lacks '%s'", u.a.reason, reason_part);
    expect_cut_off(s);
}

static int ram_fd(void)
{
    char err[128];
    int fd = sim_host_ram_create(B2_RAM_BYTES, err, sizeof(err));
    ck_assert_int_ge(fd, 0);
    return fd;
}

static struct bproto_hello hello_msg(void)
{
    struct bproto_hello h;
    bproto_init(&h, BPROTO_HELLO, sizeof(h), 0);
    h.version = BPROTO_VERSION;
    h.ram_size = B2_RAM_BYTES;
    return h;
}

/* A raw host that attached: the ATTACH fds are closed at once. */
static int raw_attach(const char *path)
{
    int s = raw_connect(path);
    int fd = ram_fd();
    struct bproto_hello h = hello_msg();
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), &fd, 1), 0);
    close(fd);
    union {
        struct bproto_attach a;
        uint8_t bytes[BPROTO_MAX_MSG];
    } u;
    int fds[BPROTO_MAX_FDS];
    unsigned nfds;
    ck_assert_int_eq(raw_recv(s, u.bytes, sizeof(u.bytes), fds, &nfds), sizeof(struct bproto_attach));
    ck_assert_int_eq(u.a.status, 0);
    ck_assert_uint_eq(nfds, 2 + u.a.nvec);
    bproto_close_fds(fds, nfds);
    return s;
}

/* Sends msg (its header's len as given) and returns the REPLY's status. */
static int ask(int s, const void *msg, size_t n, const int *fds, unsigned nfds, uint32_t seq)
{
    ck_assert_int_eq(bproto_send(s, msg, n, fds, nfds), 0);
    union {
        struct bproto_reply r;
        uint8_t bytes[BPROTO_MAX_MSG];
    } u;
    ssize_t got = raw_recv(s, u.bytes, sizeof(u.bytes), NULL, NULL);
    ck_assert_int_ge(got, sizeof(struct bproto_reply));
    ck_assert_uint_eq(u.r.h.type, BPROTO_REPLY);
    ck_assert_uint_eq(u.r.h.len, got);
    ck_assert_uint_eq(u.r.h.seq, seq);
    return u.r.status;
}


static void still_serves(const struct b2_proc *p)
{
    struct hh h;
    b2_attach(&h, p);
    b2_bringup(&h);
    hh_close(&h);
}

/* ---- malformed messages to a real controller ------------------------------ */

START_TEST(bad_handshakes_are_refused_and_the_controller_serves_on)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    int base = proc_count_fds(p.pid);
    struct bproto_hello h;
    int s, fd;

    /* Wrong version. */
    s = raw_connect(p.sock);
    fd = ram_fd();
    h = hello_msg();
    h.version = 2;
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), &fd, 1), 0);
    close(fd);
    expect_refused(s, -EPROTONOSUPPORT, "version 2");

    /* Something else first. */
    s = raw_connect(p.sock);
    struct bproto_inject inj;
    bproto_init(&inj, BPROTO_INJECT, sizeof(inj), 1);
    ck_assert_int_eq(bproto_send(s, &inj, sizeof(inj), NULL, 0), 0);
    expect_refused(s, -EPROTO, "expected HELLO");

    /* HELLO of the wrong length (consistent framing, wrong body). */
    s = raw_connect(p.sock);
    uint8_t big[40];
    memset(big, 0, sizeof(big));
    h = hello_msg();
    memcpy(big, &h, sizeof(h));
    ((struct bproto_hdr *)(void *)big)->len = sizeof(big);
    fd = ram_fd();
    ck_assert_int_eq(bproto_send(s, big, sizeof(big), &fd, 1), 0);
    close(fd);
    expect_refused(s, -EBADMSG, "40 bytes");

    /* No fd, three fds, a pipe, an unsealed memfd, a size that does not match. */
    s = raw_connect(p.sock);
    h = hello_msg();
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), NULL, 0), 0);
    expect_refused(s, -EBADF, "one fd");

    s = raw_connect(p.sock);
    int three[3] = { ram_fd(), ram_fd(), ram_fd() };
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), three, 3), 0);
    bproto_close_fds(three, 3);
    expect_refused(s, -EBADMSG, "got 3");

    s = raw_connect(p.sock);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), pipefd, 1), 0);
    close(pipefd[0]);
    close(pipefd[1]);
    expect_refused(s, -EBADF, "memfd");

    s = raw_connect(p.sock);
    fd = memfd_create("unsealed", MFD_CLOEXEC);
    ck_assert_int_eq(ftruncate(fd, B2_RAM_BYTES), 0);
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), &fd, 1), 0);
    close(fd);
    expect_refused(s, -EPERM, "sealed");

    s = raw_connect(p.sock);
    fd = ram_fd();
    h.ram_size = 2 * B2_RAM_BYTES;
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), &fd, 1), 0);
    close(fd);
    expect_refused(s, -EINVAL, "size");

    s = raw_connect(p.sock);
    fd = ram_fd();
    h = hello_msg();
    h.ram_size = 4096; /* below the host-ram minimum */
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), &fd, 1), 0);
    close(fd);
    expect_refused(s, -EINVAL, "host RAM refused");

    ck_assert_int_eq(proc_settle_fds(p.pid, base, 5000), base);
    still_serves(&p);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(untrustworthy_framing_is_cut_off)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    int base = proc_count_fds(p.pid);
    int s;

    /* Shorter than a header. */
    s = raw_connect(p.sock);
    ck_assert_int_eq(bproto_send(s, "SSBU", 4, NULL, 0), 0);
    expect_cut_off(s);

    /* len disagrees with the packet. */
    s = raw_connect(p.sock);
    uint8_t buf[BPROTO_MAX_MSG + 100];
    struct bproto_hello h = hello_msg();
    memset(buf, 0, sizeof(buf));
    memcpy(buf, &h, sizeof(h));
    int fd = ram_fd();
    ck_assert_int_eq(bproto_send(s, buf, sizeof(h) + 4, &fd, 1), 0);
    close(fd);
    expect_cut_off(s);

    /* Bad magic. */
    s = raw_connect(p.sock);
    h.h.magic = 0x12345678;
    ck_assert_int_eq(bproto_send(s, &h, sizeof(h), NULL, 0), 0);
    expect_cut_off(s);

    /* Oversized, with an fd riding along (it must not leak). */
    s = raw_connect(p.sock);
    ((struct bproto_hdr *)(void *)buf)->magic = BPROTO_MAGIC;
    ((struct bproto_hdr *)(void *)buf)->len = sizeof(buf);
    fd = ram_fd();
    ck_assert_int_eq(bproto_send(s, buf, sizeof(buf), &fd, 1), 0);
    close(fd);
    expect_cut_off(s);

    /* Garbage, seeded. */
    unsigned seed = 7;
    for (int round = 0; round < 20; round++) {
        s = raw_connect(p.sock);
        size_t n = 1 + (size_t)rand_r(&seed) % 300;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        ck_assert_int_eq(bproto_send(s, buf, n, NULL, 0), 0);
        /* Whatever the bytes said, the controller hangs up (perhaps after
         * refusing the would-be HELLO). */
        ssize_t got;
        do
            got = raw_recv(s, buf, sizeof(buf), NULL, NULL);
        while (got > 0);
        ck_assert_int_eq(got, 0);
        close(s);
    }

    /* An empty packet reads as a hang-up. */
    s = raw_connect(p.sock);
    ck_assert_int_eq(bproto_send(s, buf, 0, NULL, 0), 0);
    expect_cut_off(s);

    ck_assert_int_eq(proc_settle_fds(p.pid, base, 5000), base);
    still_serves(&p);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(bad_requests_get_error_replies_and_the_connection_lives)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    int base = proc_count_fds(p.pid);
    int s = raw_attach(p.sock);
    uint32_t seq = 1;

    /* Unknown types, including the controller's own. */
    struct bproto_hdr hd;
    bproto_init(&hd, 999, sizeof(hd), seq);
    ck_assert_int_eq(ask(s, &hd, sizeof(hd), NULL, 0, seq++), -EOPNOTSUPP);
    bproto_init(&hd, BPROTO_REPLY, sizeof(hd), seq);
    ck_assert_int_eq(ask(s, &hd, sizeof(hd), NULL, 0, seq++), -EOPNOTSUPP);
    /* HELLO twice. */
    struct bproto_hello h = hello_msg();
    h.h.seq = seq;
    ck_assert_int_eq(ask(s, &h, sizeof(h), NULL, 0, seq++), -EISCONN);

    /* The retired IOMMU map / unmap requests (the tables are in host RAM now)
     * are unknown types. */
    bproto_init(&hd, 16, sizeof(hd), seq);
    ck_assert_int_eq(ask(s, &hd, sizeof(hd), NULL, 0, seq++), -EOPNOTSUPP);
    bproto_init(&hd, 17, sizeof(hd), seq);
    ck_assert_int_eq(ask(s, &hd, sizeof(hd), NULL, 0, seq++), -EOPNOTSUPP);
    /* An fd where none belongs: refused, and closed in the controller. */
    struct bproto_power_cut pc;
    bproto_init(&pc, BPROTO_POWER_CUT, sizeof(pc), seq);
    int fd = ram_fd();
    ck_assert_int_eq(ask(s, &pc, sizeof(pc), &fd, 1, seq++), -EBADMSG);
    close(fd);
    struct bproto_raise_ua ua;
    bproto_init(&ua, BPROTO_RAISE_UA, sizeof(ua), seq);
    ua.rsvd[1] = 5;
    ck_assert_int_eq(ask(s, &ua, sizeof(ua), NULL, 0, seq++), -EBADMSG);
    struct bproto_battery bat;
    bproto_init(&bat, BPROTO_SET_BATTERY, sizeof(bat), seq);
    bat.battery = 77;
    ck_assert_int_eq(ask(s, &bat, sizeof(bat), NULL, 0, seq++), -EINVAL);
    struct bproto_drive d;
    bproto_init(&d, BPROTO_CHECK_MEDIA, sizeof(d), seq);
    d.target = 0xFFFF;
    ck_assert_int_eq(ask(s, &d, sizeof(d), NULL, 0, seq++), -ENOENT);

    /* A fault log request for far too many entries is clamped. */
    struct bproto_fault_log fl;
    bproto_init(&fl, BPROTO_FAULT_LOG, sizeof(fl), seq);
    fl.max = 0xFFFFFFFF;
    ck_assert_int_eq(bproto_send(s, &fl, sizeof(fl), NULL, 0), 0);
    union {
        struct bproto_reply r;
        uint8_t bytes[BPROTO_MAX_MSG];
    } u;
    ssize_t got = raw_recv(s, u.bytes, sizeof(u.bytes), NULL, NULL);
    ck_assert_int_eq(got, sizeof(struct bproto_reply) + sizeof(struct hba_log_header));
    ck_assert_int_eq(u.r.status, 0);
    ck_assert_uint_eq(u.r.value, 0);
    seq++;

    /* Still the same connection, still working. */
    bproto_init(&hd, BPROTO_INJECT_CLEAR, sizeof(hd), seq);
    ck_assert_int_eq(ask(s, &hd, sizeof(hd), NULL, 0, seq++), 0);
    close(s);
    ck_assert_int_eq(proc_settle_fds(p.pid, base, 5000), base);
    still_serves(&p);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

START_TEST(a_host_that_never_reads_is_disconnected)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    int s = raw_attach(p.sock);
    struct bproto_hdr hd;
    bproto_init(&hd, BPROTO_INJECT_CLEAR, sizeof(hd), 1);
    int rc = 0;
    long sent = 0;
    for (long i = 0; i < 1000000; i++) {
        rc = bproto_send(s, &hd, sizeof(hd), NULL, 0);
        if (rc == -EAGAIN) {
            struct pollfd pf = { .fd = s, .events = POLLOUT | POLLRDHUP };
            ck_assert_int_gt(poll(&pf, 1, HH_TIMEOUT_MS), 0);
            if (pf.revents & (POLLRDHUP | POLLHUP))
                break;
            continue;
        }
        if (rc < 0)
            break;
        sent++;
    }
    ck_assert_int_gt(sent, 0);
    /* Its replies piled up unread; the controller gave up on it. */
    struct pollfd pf = { .fd = s, .events = POLLRDHUP };
    ck_assert_int_gt(poll(&pf, 1, HH_TIMEOUT_MS), 0);
    ck_assert(pf.revents & (POLLRDHUP | POLLHUP));
    close(s);
    still_serves(&p);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

/* The lowest fd number pid does not use. */
static int lowest_free_fd(pid_t pid)
{
    for (int fd = 0;; fd++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
        if (access(path, F_OK) != 0)
            return fd;
    }
}

START_TEST(a_controller_out_of_fds_refuses_and_recovers)
{
    struct b2_proc p;
    b2_init(&p);
    b2_start(&p, small_drive);
    struct rlimit old, tight;
    ck_assert_int_eq(prlimit(p.pid, RLIMIT_NOFILE, NULL, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)lowest_free_fd(p.pid);
    ck_assert_int_eq(prlimit(p.pid, RLIMIT_NOFILE, &tight, NULL), 0);
    /* accept would fail and leave the listener readable forever: the
     * controller gives up its spare fd to take the host and turn it away. */
    for (int i = 0; i < 3; i++) {
        struct bus *b = NULL;
        char err[256] = "";
        ck_assert_int_eq(bus_remote_connect(p.sock, -1, B2_RAM_BYTES, &b, err, sizeof(err)), -EMFILE);
        ck_assert_ptr_nonnull(strstr(err, "out of file descriptors"));
    }
    ck_assert_int_eq(prlimit(p.pid, RLIMIT_NOFILE, &old, NULL), 0);
    still_serves(&p);
    ck_assert_int_eq(b2_stop(&p), 0);
    b2_fini(&p);
}
END_TEST

/* ---- a fake controller against the client ------------------------------- */

enum fake_mode {
    FAKE_CLOSE,          /* read HELLO, hang up */
    FAKE_GARBAGE,        /* answer with garbage */
    FAKE_FD_COUNT,       /* ATTACH says 2 vectors, sends 1 */
    FAKE_UNSEALED,       /* device memory not sealed */
    FAKE_SMALL_DEV,      /* device memory too small */
    FAKE_PIPE_VECTOR,    /* a vector that is a pipe */
    FAKE_WRONG_RAM,      /* ATTACH echoes another RAM size */
    FAKE_BAD_STATUS,     /* refuses with a status that is no errno */
    FAKE_GOOD_THEN_FDS,  /* attaches, then replies to a request with an fd */
    FAKE_GOOD_THEN_WRONG,/* attaches, then replies with a positive status */
};

struct fake {
    char path[108];
    int listen_fd;
    enum fake_mode mode;
    pthread_t thread;
};

static int sealed(size_t size)
{
    int fd = memfd_create("fake-dev", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        abort();
    return fd;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int s = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        return NULL;
    union {
        uint8_t bytes[BPROTO_MAX_MSG];
        struct bproto_hello h;
        struct bproto_hdr hd;
    } in;
    int got[BPROTO_MAX_FDS];
    unsigned ngot = 0;
    struct pollfd pf = { .fd = s, .events = POLLIN };
    poll(&pf, 1, HH_TIMEOUT_MS);
    ssize_t n = bproto_recv(s, in.bytes, sizeof(in.bytes), got, BPROTO_MAX_FDS, &ngot);
    bproto_close_fds(got, ngot);
    uint64_t ram_size = n == sizeof(in.h) ? in.h.ram_size : 0;

    struct bproto_attach a;
    bproto_init(&a, BPROTO_ATTACH, sizeof(a), 0);
    a.version = BPROTO_VERSION;
    a.ram_size = ram_size;
    a.dev_size = SIM_REGION_DEV_SIZE;
    a.nvec = 2;
    int fds[4] = { sealed(SIM_REGION_DEV_SIZE), eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC),
                   eventfd(0, EFD_CLOEXEC) };
    unsigned nfds = 4;
    bool good = false;
    switch (f->mode) {
    case FAKE_CLOSE:
        nfds = 0;
        break;
    case FAKE_GARBAGE:
        memset(&a, 0x5A, sizeof(a));
        nfds = 0;
        break;
    case FAKE_FD_COUNT:
        nfds = 3;
        break;
    case FAKE_UNSEALED:
        close(fds[0]);
        fds[0] = memfd_create("unsealed", MFD_CLOEXEC);
        if (ftruncate(fds[0], SIM_REGION_DEV_SIZE) < 0)
            abort();
        break;
    case FAKE_SMALL_DEV:
        close(fds[0]);
        fds[0] = sealed(4096);
        break;
    case FAKE_PIPE_VECTOR: {
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
            abort();
        close(fds[3]);
        close(pp[1]);
        fds[3] = pp[0];
        break;
    }
    case FAKE_WRONG_RAM:
        a.ram_size = ram_size + 4096;
        break;
    case FAKE_BAD_STATUS:
        a.status = 12345;
        nfds = 0;
        break;
    case FAKE_GOOD_THEN_FDS:
    case FAKE_GOOD_THEN_WRONG:
        good = true;
        break;
    }
    if (f->mode != FAKE_CLOSE)
        bproto_send(s, &a, sizeof(a), fds, nfds);
    bproto_close_fds(fds, 4);
    if (good) {
        /* Answer one request wrongly, then wait for the client to leave. */
        poll(&pf, 1, HH_TIMEOUT_MS);
        n = bproto_recv(s, in.bytes, sizeof(in.bytes), got, BPROTO_MAX_FDS, &ngot);
        if (n >= (ssize_t)sizeof(struct bproto_hdr)) {
            struct bproto_reply r;
            bproto_init(&r, BPROTO_REPLY, sizeof(r), in.hd.seq);
            int efd = eventfd(0, EFD_CLOEXEC);
            if (f->mode == FAKE_GOOD_THEN_FDS) {
                bproto_send(s, &r, sizeof(r), &efd, 1);
            } else {
                r.status = 5;
                bproto_send(s, &r, sizeof(r), NULL, 0);
            }
            close(efd);
        }
        poll(&pf, 1, HH_TIMEOUT_MS);
    }
    close(s);
    return NULL;
}

static void fake_start(struct fake *f, const char *dir, enum fake_mode mode)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "%s/fake.sock", dir);
    unlink(f->path);
    f->mode = mode;
    f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(f->listen_fd, 1), 0);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_join(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    unlink(f->path);
}

START_TEST(the_client_refuses_a_lying_controller)
{
    struct b2_proc p;
    b2_init(&p);
    int base = proc_count_fds(0);
    static const struct {
        enum fake_mode mode;
        int rc;
        const char *part;
    } cases[] = {
        { FAKE_CLOSE, -ECONNRESET, "closed" },
        { FAKE_GARBAGE, -EPROTO, "ATTACH" },
        { FAKE_FD_COUNT, -EPROTO, "does not add up" },
        { FAKE_UNSEALED, -EPROTO, "sealed memfd" },
        { FAKE_SMALL_DEV, -EPROTO, "sealed memfd" },
        { FAKE_PIPE_VECTOR, -EPROTO, "not an eventfd" },
        { FAKE_WRONG_RAM, -EPROTO, "does not add up" },
        { FAKE_BAD_STATUS, -EPROTO, "refused" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fake f;
        fake_start(&f, p.dir, cases[i].mode);
        struct bus *b = NULL;
        char err[256] = "";
        int rc = bus_remote_connect(f.path, -1, B2_RAM_BYTES, &b, err, sizeof(err));
        ck_assert_msg(rc == cases[i].rc, "case %zu: %d (%s)", i, rc, err);
        ck_assert_ptr_null(b);
        ck_assert_msg(strstr(err, cases[i].part), "case %zu: '%s' lacks '%s'", i, err, cases[i].part);
        fake_join(&f);
        ck_assert_int_eq(proc_count_fds(0), base);
    }

    /* Attached, then a reply that makes no sense: -EPROTO, nothing leaks. */
    for (int mode = FAKE_GOOD_THEN_FDS; mode <= FAKE_GOOD_THEN_WRONG; mode++) {
        struct fake f;
        fake_start(&f, p.dir, (enum fake_mode)mode);
        struct bus *b = NULL;
        char err[256] = "";
        ck_assert_int_eq(bus_remote_connect(f.path, -1, B2_RAM_BYTES, &b, err, sizeof(err)), 0);
        ck_assert_int_eq(bus_remote_inject_clear(b), -EPROTO);
        bus_detach(b);
        fake_join(&f);
        ck_assert_int_eq(proc_count_fds(0), base);
    }
    b2_fini(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bus_twoproc_proto");
    TCase *tc = tcase_create("proto");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bad_handshakes_are_refused_and_the_controller_serves_on);
    tcase_add_test(tc, untrustworthy_framing_is_cut_off);
    tcase_add_test(tc, bad_requests_get_error_replies_and_the_connection_lives);
    tcase_add_test(tc, a_host_that_never_reads_is_disconnected);
    tcase_add_test(tc, a_controller_out_of_fds_refuses_and_recovers);
    tcase_add_test(tc, the_client_refuses_a_lying_controller);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
