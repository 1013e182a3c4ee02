/* tests/support/osal_fixture.h — platforms for osal_user tests: a fake bus (a memfd
 * and eventfds made here, no controller behind them) and a real controller,
 * both with IOMMU calls recorded (and, for the controller, forwarded), plus a
 * log sink that keeps lines. */
#ifndef TESTS_SUPPORT_OSAL_FIXTURE_H
#define TESTS_SUPPORT_OSAL_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/osal_user.h"
#include "platform/bus.h"
#include "sim/sim.h"
#include "tests/support/proc.h"

#define OF_MAX_CALLS 512
#define OF_TIMEOUT_MS 5000 /* failure detector, not a timing assertion */

struct of_call {
    char op;               /* 'm' map, 'u' unmap */
    uint64_t iova, ram, len;
    enum hba_dma_dir dir;
};

/* Records IOMMU calls; forwards them to inner when it has one. */
struct of_rec {
    pthread_mutex_t lock;
    struct of_call calls[OF_MAX_CALLS];
    size_t n;
    struct bus_ops inner;
    int fail_map_at;       /* the map call with this index (0-based) fails with -EIO; -1 never */
    size_t maps;           /* map calls seen */
};
void of_rec_init(struct of_rec *r, const struct bus_ops *inner);
void of_rec_fini(struct of_rec *r);
struct bus_ops of_rec_ops(struct of_rec *r);
/* Bytes mapped minus bytes unmapped so far. */
int64_t of_rec_net(struct of_rec *r);
size_t of_rec_count(struct of_rec *r, char op);
/* The i-th call with op; false if there is none. */
bool of_rec_get(struct of_rec *r, char op, size_t i, struct of_call *out);

struct of_fake {
    struct sim_attach a;
    struct bus *bus;
    struct of_rec rec;
};
void of_fake_open(struct of_fake *f, uint64_t ram_size, unsigned nvec);
void of_fake_close(struct of_fake *f);
/* Writes 1 to the eventfd of vector v (what the controller does to raise it). */
void of_fake_signal(struct of_fake *f, unsigned v);
/* True when vector v's eventfd has a pending signal (not consumed). */
bool of_fd_readable(int fd);

struct of_ctrl {
    struct sim_config cfg;
    struct sim_ctrl *ctrl;
    struct bus *bus;
    struct of_rec rec;
};
/* A powered-on controller (short init, 16 MiB RAM, one drive) and a bus with
 * recorded IOMMU calls; waits for READY. */
void of_ctrl_open(struct of_ctrl *c);
void of_ctrl_close(struct of_ctrl *c);

/* Log sink keeping the last lines. */
struct of_log {
    pthread_mutex_t lock;
    char lines[16][512];
    size_t n;              /* lines seen (the last 16 kept) */
};
void of_log_init(struct of_log *l);
void of_log_fini(struct of_log *l);
void of_log_sink(void *arg, enum osal_log_level level, const char *line);
/* True when a kept line contains needle. */
bool of_log_has(struct of_log *l, const char *needle);

/* An osal_user on a fake bus (of_fake_open of ram_size bytes and nvec
 * vectors) logging into l; o NULL: the defaults.  Check assertions. */
struct osal *of_osal_open(struct of_fake *f, struct of_log *l, uint64_t ram_size, unsigned nvec,
                          const struct osal_user_options *o);
/* osal_user_destroy, then the bus and the log. */
void of_osal_close(struct of_fake *f, struct of_log *l, struct osal *os);

#endif
