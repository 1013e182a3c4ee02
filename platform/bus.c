/* platform/bus.c — the driver-side register window (see platform/bus.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/bus.h"
#include "platform/bus_internal.h"
#include "platform/iommu_pt.h"
#include "sim/posted.h"

struct bus {
    uint8_t *dev;                /* device memory mapping (SIM_REGION_DEV_SIZE) */
    _Atomic uint32_t *bar;
    struct sim_priv_page *priv;
    uint8_t *ram;
    uint64_t ram_size;
    int bell_fd;
    int vector_fd[HBA_MAX_VECTORS];
    unsigned nvec;
    struct bus_ops ops;          /* an interposer (tests), or none: the table */
    /* The IOMMU's tables in host RAM (platform/iommu_pt.h), opened at the
     * first map or unmap: opening takes the IOMMU over, and a bus that only
     * drives registers (a driver process beside the OS's) must not. */
    struct iommu_pt *_Atomic pt;
    pthread_mutex_t pt_lock;
    bool skip_invalidate;        /* SCSISIM_PLATFORM_MUTANT=NOINV */
    void (*doorbell)(void *arg); /* bus_set_iommu_doorbell */
    void *doorbell_arg;
    _Atomic bool dead;
    pthread_mutex_t dead_lock;   /* guards the handler */
    bus_dead_fn dead_fn;
    void *dead_arg;
    void *remote;                /* platform/bus_client.c's state, or NULL */
    void (*release)(void *remote);
    _Atomic uint64_t bell_rings, doorbells, admin_doorbells, posted, dropped, peer_broken;
};

static bool pt_gone(void *arg)
{
    return bus_is_dead(arg);
}

/* The bus's IOMMU tables, opened on first use; NULL with *rc when host RAM
 * cannot hold them. */
static struct iommu_pt *pt_of(struct bus *b, int *rc)
{
    struct iommu_pt *pt = atomic_load_explicit(&b->pt, memory_order_acquire);
    if (pt)
        return pt;
    pthread_mutex_lock(&b->pt_lock);
    pt = atomic_load_explicit(&b->pt, memory_order_relaxed);
    if (!pt && (*rc = iommu_pt_open(b->ram, b->ram_size, &pt)) == 0) {
        iommu_pt_set_gone(pt, pt_gone, b);
        iommu_pt_set_skip_invalidate(pt, b->skip_invalidate);
        if (b->doorbell)
            iommu_pt_set_doorbell(pt, b->doorbell, b->doorbell_arg);
        atomic_store_explicit(&b->pt, pt, memory_order_release);
    }
    pthread_mutex_unlock(&b->pt_lock);
    return pt;
}

static int table_map(void *arg, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir)
{
    int rc = 0;
    struct iommu_pt *pt = pt_of(arg, &rc);
    return pt ? iommu_pt_map(pt, iova, ram_addr, len, dir) : rc;
}

static int table_unmap(void *arg, uint64_t iova, uint64_t len)
{
    int rc = 0;
    struct iommu_pt *pt = pt_of(arg, &rc);
    return pt ? iommu_pt_unmap(pt, iova, len) : rc;
}

struct bus_ops bus_ops_table(struct bus *b)
{
    struct bus_ops ops = { .iommu_map = table_map, .iommu_unmap = table_unmap, .arg = b };
    return ops;
}

/* fd refers to a file of at least `size` bytes (mapping it cannot SIGBUS). */
static bool big_enough(int fd, uint64_t size)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= size;
}

static int map_shared(int fd, uint64_t size, void **out)
{
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    *out = m;
    return 0;
}

int bus_attach(const struct sim_attach *a, const struct bus_ops *ops, struct bus **out)
{
    if (!a || !out || a->ram_size == 0 || a->nvec == 0 || a->nvec > HBA_MAX_VECTORS ||
        !big_enough(a->dev_fd, SIM_REGION_DEV_SIZE) || !big_enough(a->ram_fd, a->ram_size))
        return -EINVAL;
    struct bus *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->bell_fd = -1;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        b->vector_fd[v] = -1;
    pthread_mutex_init(&b->dead_lock, NULL);
    pthread_mutex_init(&b->pt_lock, NULL);
    void *m = NULL;
    int rc = map_shared(a->dev_fd, SIM_REGION_DEV_SIZE, &m);
    if (rc < 0)
        goto fail;
    b->dev = m;
    b->bar = (_Atomic uint32_t *)m;
    b->priv = (struct sim_priv_page *)(void *)(b->dev + SIM_REGION_PRIV);
    if ((rc = map_shared(a->ram_fd, a->ram_size, &m)) < 0)
        goto fail;
    b->ram = m;
    b->ram_size = a->ram_size;
    b->nvec = a->nvec;
    if ((b->bell_fd = fcntl(a->bell_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        rc = -errno;
        goto fail;
    }
    for (unsigned v = 0; v < a->nvec; v++) {
        if ((b->vector_fd[v] = fcntl(a->vector_fd[v], F_DUPFD_CLOEXEC, 0)) < 0) {
            rc = -errno;
            goto fail;
        }
    }
    /* The platform mutant of make mutants (docs/mutants.md): an environment
     * knob, so that the real build is the one under test. */
    const char *mutant = getenv("SCSISIM_PLATFORM_MUTANT");
    b->skip_invalidate = mutant && strcmp(mutant, "NOINV") == 0;
    if (ops)
        b->ops = *ops;
    *out = b;
    return 0;
fail:
    bus_detach(b);
    return rc;
}

void bus_detach(struct bus *b)
{
    if (!b)
        return;
    if (b->release)
        b->release(b->remote);
    iommu_pt_close(atomic_load(&b->pt));
    if (b->dev)
        munmap(b->dev, SIM_REGION_DEV_SIZE);
    if (b->ram)
        munmap(b->ram, b->ram_size);
    if (b->bell_fd >= 0)
        close(b->bell_fd);
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        if (b->vector_fd[v] >= 0)
            close(b->vector_fd[v]);
    pthread_mutex_destroy(&b->dead_lock);
    pthread_mutex_destroy(&b->pt_lock);
    free(b);
}

/* ---- surprise removal and reattachment (platform/bus_internal.h) ------------- */

bool bus_is_dead(const struct bus *b)
{
    return atomic_load_explicit(&b->dead, memory_order_acquire);
}

void bus_set_dead_handler(struct bus *b, bus_dead_fn fn, void *arg)
{
    pthread_mutex_lock(&b->dead_lock);
    b->dead_fn = fn;
    b->dead_arg = arg;
    pthread_mutex_unlock(&b->dead_lock);
}

void bus_mark_dead(struct bus *b, bool notify)
{
    if (atomic_exchange_explicit(&b->dead, true, memory_order_acq_rel))
        return;
    /* Wake whoever waits for an interrupt: it will read all-ones and learn. */
    uint64_t one = 1;
    for (unsigned v = 0; v < b->nvec; v++)
        if (write(b->vector_fd[v], &one, sizeof(one)) < 0) {
            /* saturated: already signalled */
        }
    if (!notify)
        return;
    pthread_mutex_lock(&b->dead_lock);
    bus_dead_fn fn = b->dead_fn;
    void *arg = b->dead_arg;
    pthread_mutex_unlock(&b->dead_lock);
    if (fn)
        fn(arg, b);
}

void bus_revive(struct bus *b)
{
    atomic_store_explicit(&b->dead, false, memory_order_release);
}

int bus_swap_device(struct bus *b, const struct sim_attach *a)
{
    if (!a || a->nvec == 0 || a->nvec > HBA_MAX_VECTORS || !big_enough(a->dev_fd, SIM_REGION_DEV_SIZE))
        return -EINVAL;
    /* Take every new fd first, so a failure leaves the bus as it was. */
    int fresh[HBA_MAX_VECTORS + 1];
    unsigned n = 0;
    int rc = 0;
    for (; n <= a->nvec; n++) {
        fresh[n] = fcntl(n == 0 ? a->bell_fd : a->vector_fd[n - 1], F_DUPFD_CLOEXEC, 0);
        if (fresh[n] < 0) {
            rc = -errno;
            break;
        }
    }
    void *m = NULL;
    if (rc == 0)
        rc = map_shared(a->dev_fd, SIM_REGION_DEV_SIZE, &m);
    /* Move the new mapping onto the old address in one step: a thread
     * reading a register meanwhile sees the old page or the new one, never
     * a hole. */
    if (rc == 0 &&
        mremap(m, SIM_REGION_DEV_SIZE, SIM_REGION_DEV_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, b->dev) == MAP_FAILED) {
        rc = -errno;
        munmap(m, SIM_REGION_DEV_SIZE);
    }
    if (rc < 0) {
        while (n > 0)
            close(fresh[--n]);
        return rc;
    }
    /* Keep the fd numbers: dup3 swaps the file behind each one atomically. */
    int *slot[HBA_MAX_VECTORS + 1];
    slot[0] = &b->bell_fd;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        slot[v + 1] = &b->vector_fd[v];
    for (unsigned i = 0; i <= a->nvec; i++) {
        if (*slot[i] >= 0 && dup3(fresh[i], *slot[i], O_CLOEXEC) >= 0)
            close(fresh[i]);
        else
            *slot[i] = fresh[i];
    }
    for (unsigned v = a->nvec; v < HBA_MAX_VECTORS; v++) {
        if (b->vector_fd[v] >= 0)
            close(b->vector_fd[v]);
        b->vector_fd[v] = -1;
    }
    b->nvec = a->nvec;
    return 0;
}

void bus_set_remote(struct bus *b, void *remote, void (*release)(void *remote))
{
    b->remote = remote;
    b->release = release;
}

void *bus_remote(const struct bus *b)
{
    return b->remote;
}

static _Atomic uint32_t *reg(struct bus *b, uint32_t off)
{
    return sim_reg(b->bar, off);
}

uint32_t bus_read32(struct bus *b, uint32_t off)
{
    if (off >= HBA_BAR0_SIZE || off % 4 || atomic_load_explicit(&b->dead, memory_order_relaxed))
        return 0xFFFFFFFFu; /* a read nobody decodes */
    if (off == HBA_REG_INT_MASK_CLEAR)
        off = HBA_REG_INT_MASK_SET;
    return atomic_load_explicit(reg(b, off), memory_order_acquire);
}

static void ring(struct bus *b)
{
    uint64_t one = 1;
    atomic_fetch_add_explicit(&b->bell_rings, 1, memory_order_relaxed);
    if (write(b->bell_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated, the firmware is being woken anyway. */
    }
}

static void signal_vector(struct bus *b, unsigned v)
{
    uint64_t one = 1;
    if (v < b->nvec && write(b->vector_fd[v], &one, sizeof(one)) < 0) {
        /* saturated: already signalled */
    }
}

static void doorbell_tail(struct bus *b, unsigned q, uint32_t tail)
{
    _Atomic uint32_t *t = reg(b, HBA_REG_SQ_TAIL(q));
    uint32_t old = atomic_load_explicit(t, memory_order_relaxed);
    atomic_store_explicit(t, tail, memory_order_release);
    /* Pairs with the firmware's fence between publishing SQ_EVENT_IDX and
     * re-reading the tails before it parks. */
    atomic_thread_fence(memory_order_seq_cst);
    atomic_fetch_add_explicit(&b->doorbells, 1, memory_order_relaxed);
    if (q == 0)
        atomic_fetch_add_explicit(&b->admin_doorbells, 1, memory_order_relaxed);
    uint32_t feat = atomic_load_explicit(reg(b, HBA_REG_CAP_FEATURES), memory_order_relaxed);
    uint16_t ev = (uint16_t)atomic_load_explicit(reg(b, HBA_REG_SQ_EVENT_IDX(q)), memory_order_relaxed);
    uint16_t n = (uint16_t)tail, o = (uint16_t)old;
    if (!(feat & HBA_FEAT_BIT_EVENT_IDX) || (uint16_t)(n - ev - 1) < (uint16_t)(n - o))
        ring(b);
}

static void unmask(struct bus *b, uint32_t bits)
{
    atomic_fetch_and_explicit(reg(b, HBA_REG_INT_MASK_SET), ~bits, memory_order_seq_cst);
    uint32_t mask = atomic_load_explicit(reg(b, HBA_REG_INT_MASK_SET), memory_order_seq_cst);
    atomic_store_explicit(reg(b, HBA_REG_INT_MASK_CLEAR), mask, memory_order_relaxed);
    uint32_t pending = atomic_load_explicit(reg(b, HBA_REG_INT_STATUS), memory_order_seq_cst) & bits & ~mask;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++)
        if (pending & (1u << v))
            signal_vector(b, v);
    ring(b);
}

static void mask(struct bus *b, uint32_t bits)
{
    uint32_t m = atomic_fetch_or_explicit(reg(b, HBA_REG_INT_MASK_SET), bits, memory_order_seq_cst) | bits;
    atomic_store_explicit(reg(b, HBA_REG_INT_MASK_CLEAR), m, memory_order_relaxed);
}

static void post(struct bus *b, uint32_t off, uint32_t val)
{
    switch (sim_posted_push(b->priv, off, val)) {
    case SIM_POSTED_OK:
        atomic_fetch_add_explicit(&b->posted, 1, memory_order_relaxed);
        break;
    case SIM_POSTED_FULL:
        atomic_fetch_add_explicit(&b->dropped, 1, memory_order_relaxed);
        break;
    case SIM_POSTED_BROKEN:
        /* The controller (another process, in two-process mode) corrupted the
         * page it shares with us: a device that broken is gone, as if pulled
         * out of its slot, and whoever watches the bus is told. */
        atomic_fetch_add_explicit(&b->dropped, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->peer_broken, 1, memory_order_relaxed);
        bus_mark_dead(b, true);
        return;
    }
    ring(b);
}

void bus_write32(struct bus *b, uint32_t off, uint32_t val)
{
    if (off >= HBA_BAR0_SIZE || off % 4)
        return;
    if (atomic_load_explicit(&b->dead, memory_order_relaxed) ||
        !atomic_load_explicit(&b->priv->powered, memory_order_acquire)) {
        atomic_fetch_add_explicit(&b->dropped, 1, memory_order_relaxed);
        return;
    }
    if (off >= HBA_REG_DB_BASE) {
        unsigned q = (off - HBA_REG_DB_BASE) / HBA_DB_STRIDE;
        if (q >= HBA_MAX_QUEUES)
            return;
        uint32_t which = (off - HBA_REG_DB_BASE) % HBA_DB_STRIDE;
        if (which == HBA_DB_SQ_TAIL)
            doorbell_tail(b, q, val);
        else if (which == HBA_DB_CQ_HEAD)
            atomic_store_explicit(reg(b, off), val, memory_order_release);
        return;
    }
    switch (off) {
    case HBA_REG_INT_STATUS:
        atomic_fetch_and_explicit(reg(b, off), ~val, memory_order_seq_cst);
        return;
    case HBA_REG_INT_MASK_SET:
        mask(b, val);
        return;
    case HBA_REG_INT_MASK_CLEAR:
        unmask(b, val);
        return;
    case HBA_REG_CONFIG:
    case HBA_REG_AQ_SQ_BASE_LO:
    case HBA_REG_AQ_SQ_BASE_HI:
    case HBA_REG_AQ_CQ_BASE_LO:
    case HBA_REG_AQ_CQ_BASE_HI:
    case HBA_REG_AQ_SIZE:
        atomic_store_explicit(reg(b, off), val, memory_order_release);
        post(b, off, val);
        return;
    case HBA_REG_RESET_KEY:
    case HBA_REG_DIAG:
        post(b, off, val);
        return;
    default:
        return; /* read-only or reserved */
    }
}

int bus_wait_vector(struct bus *b, unsigned v, int timeout_ms)
{
    if (v >= b->nvec)
        return -EINVAL;
    struct pollfd p = { .fd = b->vector_fd[v], .events = POLLIN };
    for (;;) {
        if (bus_is_dead(b))
            return -ENODEV;
        int n = poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        if (bus_is_dead(b))
            return -ENODEV;
        uint64_t cnt;
        if (read(b->vector_fd[v], &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt))
            return 1;
        if (errno != EAGAIN)
            return -errno;
        /* another reader took it; wait again */
        if (timeout_ms == 0)
            return 0;
    }
}

int bus_vector_fd(const struct bus *b, unsigned v)
{
    return v < b->nvec ? b->vector_fd[v] : -1;
}

uint8_t *bus_ram(const struct bus *b)
{
    return b->ram;
}

uint64_t bus_ram_size(const struct bus *b)
{
    return b->ram_size;
}

int bus_iommu_map(struct bus *b, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir)
{
    return b->ops.iommu_map ? b->ops.iommu_map(b->ops.arg, iova, ram_addr, len, dir)
                            : table_map(b, iova, ram_addr, len, dir);
}

int bus_iommu_unmap(struct bus *b, uint64_t iova, uint64_t len)
{
    return b->ops.iommu_unmap ? b->ops.iommu_unmap(b->ops.arg, iova, len) : table_unmap(b, iova, len);
}

/* An interposer's unmap (bus_ops) is its own business: synchronous. */
static bool own_tables(const struct bus *b)
{
    return !b->ops.iommu_unmap || b->ops.iommu_unmap == table_unmap;
}

int bus_iommu_unmap_deferred(struct bus *b, uint64_t iova, uint64_t len)
{
    if (!own_tables(b))
        return b->ops.iommu_unmap(b->ops.arg, iova, len);
    int rc = 0;
    struct iommu_pt *pt = pt_of(b, &rc);
    return pt ? iommu_pt_unmap_deferred(pt, iova, len) : rc;
}

int bus_iommu_sync(struct bus *b)
{
    if (!own_tables(b))
        return 0;
    struct iommu_pt *pt = atomic_load_explicit(&b->pt, memory_order_acquire);
    return pt ? iommu_pt_sync(pt) : 0; /* no tables yet: nothing was unmapped */
}

void bus_get_stats(const struct bus *b, struct bus_stats *s)
{
    s->bell_rings = atomic_load(&b->bell_rings);
    s->doorbells = atomic_load(&b->doorbells);
    s->admin_doorbells = atomic_load(&b->admin_doorbells);
    s->posted = atomic_load(&b->posted);
    s->peer_broken = atomic_load(&b->peer_broken);
    s->dropped = atomic_load(&b->dropped);
}

void bus_set_iommu_doorbell(struct bus *b, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&b->pt_lock);
    b->doorbell = fn;
    b->doorbell_arg = arg;
    struct iommu_pt *pt = atomic_load(&b->pt);
    if (pt)
        iommu_pt_set_doorbell(pt, fn, arg);
    pthread_mutex_unlock(&b->pt_lock);
}

uint64_t bus_dma_ram_top(const struct bus *b)
{
    return b->ram_size - iommu_pt_area_size(b->ram_size);
}

void bus_iommu_stats(const struct bus *b, struct iommu_pt_stats *out)
{
    struct iommu_pt *pt = atomic_load_explicit(&((struct bus *)b)->pt, memory_order_acquire);
    if (pt)
        iommu_pt_stats(pt, out);
    else
        memset(out, 0, sizeof *out);
}
