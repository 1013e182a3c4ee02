/* sim/ctrl/region.c — the controller's shared memory and its eventfds.
 *
 * Two memfds, owned by different sides:
 *   device memory  BAR0 + the PRIV page (SIM_REGION_DEV_SIZE bytes), created
 *                  here by the controller;
 *   host RAM       created by the host (sim_host_ram_create) and handed to the
 *                  controller, so a controller that dies (SIGKILL) does not take
 *                  the driver's queues and DMA buffers with it.
 * Both are sealed against shrinking: a peer in another process that mapped one
 * cannot be made to fault (SIGBUS) by the other side truncating it.
 * Plus the eventfds: the bell (driver -> firmware) and one per vector. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/ctrl/ctrl_internal.h"

#define RAM_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static int fail(char *err, size_t errlen, int rc, const char *what)
{
    errf(err, errlen, "%s: %s", what, strerror(-rc));
    return rc;
}

/* A sealed memfd of `size` bytes (fixed size from now on), or -errno. */
static int sealed_memfd(const char *name, uint64_t size, char *err, size_t errlen, const char *what)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return fail(err, errlen, -errno, what);
    if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, RAM_SEALS) < 0) {
        int rc = fail(err, errlen, -errno, what);
        close(fd);
        return rc;
    }
    return fd;
}

int sim_host_ram_create(uint64_t size, char *err, size_t errlen)
{
    if (size < SIM_HOST_RAM_MIN || size % HBA_IOMMU_PAGE_SIZE || size > SIM_HOST_RAM_MAX)
        return fail(err, errlen, -EINVAL, "host RAM size must be a multiple of 4 KiB, 1 MiB..1 TiB");
    return sealed_memfd("scsisim-host-ram", size, err, errlen, "creating host RAM (a sealed memfd)");
}

int sim_memfd_check(int fd, uint64_t size)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return -EBADF;
    /* Only shmem files know seals: any other file fails here. */
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0)
        return -EBADF;
    if ((uint64_t)st.st_size != size)
        return -EINVAL;
    if (!(seals & F_SEAL_SHRINK))
        return -EPERM;
    return 0;
}

int sim_region_create(struct sim_region *r, unsigned nvec, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->dev_fd = r->ram_fd = r->bell_fd = -1;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        r->vector_fd[v] = -1;
    if (nvec == 0 || nvec > HBA_MAX_VECTORS)
        return fail(err, errlen, -EINVAL, "interrupt vectors must be 1..32");

    int rc;
    r->nvec = nvec;
    r->dev_fd = sealed_memfd("scsisim-device", SIM_REGION_DEV_SIZE, err, errlen,
                             "memfd_create for the controller's device memory");
    if (r->dev_fd < 0) {
        rc = r->dev_fd;
        goto out;
    }
    void *m = mmap(NULL, SIM_REGION_DEV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->dev_fd, 0);
    if (m == MAP_FAILED) {
        rc = fail(err, errlen, -errno, "mapping the controller's device memory");
        goto out;
    }
    r->dev = m;
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

int sim_region_attach_ram(struct sim_region *r, int ram_fd, uint64_t ram_size, char *err, size_t errlen)
{
    if (ram_size < SIM_HOST_RAM_MIN || ram_size % HBA_IOMMU_PAGE_SIZE || ram_size > SIM_HOST_RAM_MAX)
        return fail(err, errlen, -EINVAL, "host RAM size must be a multiple of 4 KiB, 1 MiB..1 TiB");
    int rc = sim_memfd_check(ram_fd, ram_size);
    if (rc == -EBADF)
        return fail(err, errlen, rc, "host RAM must be a memfd");
    if (rc == -EINVAL)
        return fail(err, errlen, rc, "host RAM memfd size differs from the size given");
    if (rc < 0)
        return fail(err, errlen, rc, "host RAM memfd must be sealed against shrinking (F_SEAL_SHRINK)");
    int fd = fcntl(ram_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return fail(err, errlen, -errno, "duplicating the host RAM fd");
    void *m = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        rc = fail(err, errlen, -errno, "mapping host RAM");
        close(fd);
        return rc;
    }
    sim_region_detach_ram(r);
    r->ram_fd = fd;
    r->ram = m;
    r->ram_size = ram_size;
    return 0;
}

void sim_region_detach_ram(struct sim_region *r)
{
    if (r->ram)
        munmap(r->ram, r->ram_size);
    if (r->ram_fd >= 0)
        close(r->ram_fd);
    r->ram = NULL;
    r->ram_fd = -1;
    r->ram_size = 0;
}

void sim_region_destroy(struct sim_region *r)
{
    sim_region_detach_ram(r);
    if (r->dev)
        munmap(r->dev, SIM_REGION_DEV_SIZE);
    r->dev = NULL;
    if (r->dev_fd >= 0)
        close(r->dev_fd);
    if (r->bell_fd >= 0)
        close(r->bell_fd);
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++) {
        if (r->vector_fd[v] >= 0)
            close(r->vector_fd[v]);
        r->vector_fd[v] = -1;
    }
    r->dev_fd = r->bell_fd = -1;
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
