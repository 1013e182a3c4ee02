/* tests/support/osal_fixture.c — see osal_fixture.h. */
#include "tests/support/osal_fixture.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/support/testutil.h"

void of_rec_init(struct of_rec *r, const struct bus_ops *inner)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    if (inner)
        r->inner = *inner;
    r->fail_map_at = -1;
}

void of_rec_fini(struct of_rec *r)
{
    pthread_mutex_destroy(&r->lock);
}

static void record(struct of_rec *r, char op, uint64_t iova, uint64_t ram, uint64_t len, enum hba_dma_dir dir)
{
    if (r->n < OF_MAX_CALLS)
        r->calls[r->n++] = (struct of_call){ .op = op, .iova = iova, .ram = ram, .len = len, .dir = dir };
}

static int rec_map(void *arg, uint64_t iova, uint64_t ram_addr, uint64_t len, enum hba_dma_dir dir)
{
    struct of_rec *r = arg;
    pthread_mutex_lock(&r->lock);
    bool fail = r->fail_map_at >= 0 && r->maps == (size_t)r->fail_map_at;
    r->maps++;
    pthread_mutex_unlock(&r->lock);
    if (fail)
        return -EIO;
    int rc = r->inner.iommu_map ? r->inner.iommu_map(r->inner.arg, iova, ram_addr, len, dir) : 0;
    if (rc == 0) {
        pthread_mutex_lock(&r->lock);
        record(r, 'm', iova, ram_addr, len, dir);
        pthread_mutex_unlock(&r->lock);
    }
    return rc;
}

static int rec_unmap(void *arg, uint64_t iova, uint64_t len)
{
    struct of_rec *r = arg;
    int rc = r->inner.iommu_unmap ? r->inner.iommu_unmap(r->inner.arg, iova, len) : 0;
    pthread_mutex_lock(&r->lock);
    record(r, 'u', iova, 0, len, 0);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

struct bus_ops of_rec_ops(struct of_rec *r)
{
    struct bus_ops ops = { .iommu_map = rec_map, .iommu_unmap = rec_unmap, .arg = r };
    return ops;
}

int64_t of_rec_net(struct of_rec *r)
{
    int64_t net = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++)
        net += r->calls[i].op == 'm' ? (int64_t)r->calls[i].len : -(int64_t)r->calls[i].len;
    pthread_mutex_unlock(&r->lock);
    return net;
}

size_t of_rec_count(struct of_rec *r, char op)
{
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++)
        n += r->calls[i].op == op;
    pthread_mutex_unlock(&r->lock);
    return n;
}

bool of_rec_get(struct of_rec *r, char op, size_t i, struct of_call *out)
{
    bool found = false;
    pthread_mutex_lock(&r->lock);
    for (size_t k = 0; k < r->n && !found; k++) {
        if (r->calls[k].op == op && i-- == 0) {
            *out = r->calls[k];
            found = true;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}

void of_fake_open(struct of_fake *f, uint64_t ram_size, unsigned nvec)
{
    memset(f, 0, sizeof(*f));
    f->a.dev_fd = memfd_create("osal-fake-dev", MFD_CLOEXEC);
    f->a.ram_fd = memfd_create("osal-fake-ram", MFD_CLOEXEC);
    ck_assert_int_ge(f->a.dev_fd, 0);
    ck_assert_int_ge(f->a.ram_fd, 0);
    f->a.ram_size = ram_size;
    ck_assert_int_eq(ftruncate(f->a.dev_fd, SIM_REGION_DEV_SIZE), 0);
    ck_assert_int_eq(ftruncate(f->a.ram_fd, (off_t)ram_size), 0);
    f->a.bell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ck_assert_int_ge(f->a.bell_fd, 0);
    f->a.nvec = nvec;
    for (unsigned v = 0; v < HBA_MAX_VECTORS; v++) {
        f->a.vector_fd[v] = v < nvec ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
        if (v < nvec)
            ck_assert_int_ge(f->a.vector_fd[v], 0);
    }
    of_rec_init(&f->rec, NULL);
    struct bus_ops ops = of_rec_ops(&f->rec);
    ck_assert_int_eq(bus_attach(&f->a, &ops, &f->bus), 0);
}

void of_fake_close(struct of_fake *f)
{
    bus_detach(f->bus);
    close(f->a.dev_fd);
    close(f->a.ram_fd);
    close(f->a.bell_fd);
    for (unsigned v = 0; v < f->a.nvec; v++)
        close(f->a.vector_fd[v]);
    of_rec_fini(&f->rec);
}

void of_fake_signal(struct of_fake *f, unsigned v)
{
    uint64_t one = 1;
    ck_assert_int_eq(write(f->a.vector_fd[v], &one, sizeof(one)), (ssize_t)sizeof(one));
}

bool of_fd_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void of_ctrl_open(struct of_ctrl *c)
{
    memset(c, 0, sizeof(*c));
    sim_config_init(&c->cfg);
    c->cfg.host_ram_bytes = 16u << 20;
    c->cfg.init_ms = 1;
    c->cfg.lus[0].blocks = 8192;
    char err[256] = "";
    int rc = sim_ctrl_create(&c->cfg, &c->ctrl, err, sizeof(err));
    ck_assert_msg(rc == 0, "sim_ctrl_create: %s", err);
    ck_assert_int_eq(sim_ctrl_power_on(c->ctrl), 0);
    of_rec_init(&c->rec, NULL);
    struct bus_ops ops = of_rec_ops(&c->rec);
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(c->ctrl), &ops, &c->bus), 0);
    c->rec.inner = bus_ops_table(c->bus); /* recorded, then written into the IOMMU's tables */
    for (int i = 0; i < OF_TIMEOUT_MS; i++) {
        if (HBA_STATUS_STATE(bus_read32(c->bus, HBA_REG_STATUS)) == HBA_STATE_READY)
            return;
        proc_sleep_ms(1);
    }
    ck_abort_msg("controller did not become READY");
}

void of_ctrl_close(struct of_ctrl *c)
{
    bus_detach(c->bus);
    sim_ctrl_destroy(c->ctrl);
    sim_config_free(&c->cfg);
    of_rec_fini(&c->rec);
}

void of_log_init(struct of_log *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
}

void of_log_fini(struct of_log *l)
{
    pthread_mutex_destroy(&l->lock);
}

void of_log_sink(void *arg, enum osal_log_level level, const char *line)
{
    struct of_log *l = arg;
    (void)level;
    pthread_mutex_lock(&l->lock);
    snprintf(l->lines[l->n % 16], sizeof(l->lines[0]), "%s", line);
    l->n++;
    pthread_mutex_unlock(&l->lock);
}

bool of_log_has(struct of_log *l, const char *needle)
{
    bool found = false;
    pthread_mutex_lock(&l->lock);
    size_t kept = l->n < 16 ? l->n : 16;
    for (size_t i = 0; i < kept && !found; i++)
        found = strstr(l->lines[i], needle) != NULL;
    pthread_mutex_unlock(&l->lock);
    return found;
}

struct osal *of_osal_open(struct of_fake *f, struct of_log *l, uint64_t ram_size, unsigned nvec,
                          const struct osal_user_options *o)
{
    of_fake_open(f, ram_size, nvec);
    of_log_init(l);
    struct osal_user_options opt;
    if (o)
        opt = *o;
    else
        osal_user_options_init(&opt);
    opt.log_sink = of_log_sink;
    opt.log_arg = l;
    struct osal *os = NULL;
    ck_assert_int_eq(osal_user_create(f->bus, &opt, &os), 0);
    return os;
}

void of_osal_close(struct of_fake *f, struct of_log *l, struct osal *os)
{
    osal_user_destroy(os);
    of_fake_close(f);
    of_log_fini(l);
}
