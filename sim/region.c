/* sim/region.c — the controller's shared memory (one memfd: BAR0, the PRIV
 * page, host RAM) and its eventfds (the bell and one per interrupt vector). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/ctrl_internal.h"

static int fail(char *err, size_t errlen, int rc, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, strerror(-rc));
    return rc;
}

int sim_region_create(struct sim_region *r, uint64_t ram_size, unsigned nvec, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->memfd = r->bell_fd = -1;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        r->vector_fd[v] = -1;
    if (nvec == 0 || nvec > HBA_MAX_VECTORS)
        return fail(err, errlen, -EINVAL, "interrupt vectors must be 1..32");
    if (ram_size == 0 || ram_size > (UINT64_MAX >> 2))
        return fail(err, errlen, -EINVAL, "host RAM size must be non-zero");

    int rc;
    r->size = SIM_REGION_RAM + ram_size;
    r->ram_size = ram_size;
    r->nvec = nvec;
    r->memfd = memfd_create("scsisim-ctrl", MFD_CLOEXEC);
    if (r->memfd < 0) {
        rc = fail(err, errlen, -errno, "memfd_create for the controller region");
        goto out;
    }
    if (ftruncate(r->memfd, (off_t)r->size) < 0) {
        rc = fail(err, errlen, -errno, "sizing the controller region (host_ram_bytes too large?)");
        goto out;
    }
    void *m = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
    if (m == MAP_FAILED) {
        rc = fail(err, errlen, -errno, "mapping the controller region");
        goto out;
    }
    r->base = m;
    r->bell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->bell_fd < 0) {
        rc = fail(err, errlen, -errno, "eventfd for the doorbell");
        goto out;
    }
    for (unsigned v = 0; v < nvec; v++) {
        r->vector_fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->vector_fd[v] < 0) {
            rc = fail(err, errlen, -errno, "eventfd for an interrupt vector");
            goto out;
        }
    }
    return 0;
out:
    sim_region_destroy(r);
    return rc;
}

void sim_region_destroy(struct sim_region *r)
{
    if (r->base)
        munmap(r->base, r->size);
    r->base = NULL;
    if (r->memfd >= 0)
        close(r->memfd);
    if (r->bell_fd >= 0)
        close(r->bell_fd);
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++) {
        if (r->vector_fd[v] >= 0)
            close(r->vector_fd[v]);
        r->vector_fd[v] = -1;
    }
    r->memfd = r->bell_fd = -1;
}

uint64_t sim_region_drain_fd(int fd)
{
    uint64_t n = 0;
    if (fd >= 0 && read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
        n = 0;
    return n;
}

void sim_region_ring(int fd)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the reader is woken anyway. */
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return;
}
