/* sim/bus/bus_proto.c — packets with file descriptors on the bus socket (see
 * sim/bus/bus_proto.h).  Both ends use these, so the rules for received fds
 * (close-on-exec, never leaked, never more than asked for) live in one place. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim/bus/bus_proto.h"

void bproto_init(void *msg, enum bproto_type type, uint32_t len, uint32_t seq)
{
    memset(msg, 0, len);
    struct bproto_hdr *h = msg;
    h->magic = BPROTO_MAGIC;
    h->type = (uint16_t)type;
    h->len = len;
    h->seq = seq;
}

void bproto_close_fds(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

int bproto_send(int sock, const void *msg, size_t len, const int *fds, unsigned nfds)
{
    if (nfds > BPROTO_MAX_FDS)
        return -EINVAL;
    union {
        char buf[CMSG_SPACE(sizeof(int) * BPROTO_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0)
            return (size_t)n == len ? 0 : -EMSGSIZE;
        if (errno != EINTR)
            return -errno;
    }
}

ssize_t bproto_recv(int sock, void *buf, size_t cap, int *fds, unsigned max_fds, unsigned *nfds)
{
    *nfds = 0;
    union {
        char buf[CMSG_SPACE(sizeof(int) * BPROTO_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;

    /* Take every fd that arrived, wanted or not, so none can leak. */
    int got[BPROTO_MAX_FDS];
    unsigned ngot = 0;
    bool extra = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (ngot < BPROTO_MAX_FDS)
                got[ngot++] = fd;
            else
                close(fd);
            if (ngot > max_fds)
                extra = true;
        }
    }
    if (mh.msg_flags & MSG_TRUNC) {
        bproto_close_fds(got, ngot);
        return -EMSGSIZE;
    }
    if (extra || (mh.msg_flags & MSG_CTRUNC)) {
        bproto_close_fds(got, ngot);
        return -EBADMSG;
    }
    memcpy(fds, got, ngot * sizeof(int));
    *nfds = ngot;
    return n;
}

bool bproto_framed(const void *buf, size_t n)
{
    struct bproto_hdr h;
    if (n < sizeof(h))
        return false;
    memcpy(&h, buf, sizeof(h));
    return h.magic == BPROTO_MAGIC && h.len == n;
}
