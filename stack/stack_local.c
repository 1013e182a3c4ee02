/* stack/stack_local.c — the in-process half of the stack (stack/stack.h):
 * the controller on a thread of this process, the bus on its shared memory
 * (IOMMU tables in host RAM, as in two processes), test control straight to it (ctrl_ctl_local).  There is
 * no controller process here: killing, restarting or naming one is refused,
 * and reconnecting is only the core bringing the controller up again. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "stack/stack_internal.h"
#include "base/errf.h"
#include "platform/bus.h"
#include "sim/sim.h"

static void local_doorbell(void *ctrl)
{
    sim_ctrl_iommu_doorbell(ctrl);
}

static int local_open(struct stack *st, const struct sim_config *cfg, const struct stack_options *o, char *err,
                      size_t errlen)
{
    (void)o;
    char why[256] = "";
    int rc = sim_ctrl_create(cfg, &st->ctrl, why, sizeof(why));
    if (rc < 0) {
        errf(err, errlen, "cannot create the controller: %s", why[0] ? why : strerror(-rc));
        return rc;
    }
    if ((rc = sim_ctrl_power_on(st->ctrl)) < 0) {
        errf(err, errlen, "cannot power the controller on: %s", strerror(-rc));
        return rc;
    }
    if ((rc = bus_attach(sim_ctrl_attach_info(st->ctrl), NULL, &st->bus)) < 0) {
        errf(err, errlen, "cannot attach to the controller's shared memory: %s", strerror(-rc));
        return rc;
    }
    /* The IOMMU is in this process: its queue doorbell is handled on the
     * unmapping thread, as a device model handles an MMIO write. */
    bus_set_iommu_doorbell(st->bus, local_doorbell, st->ctrl);
    st->ctl = ctrl_ctl_local(st->ctrl);
    return 0;
}

/* Nothing watches a controller that cannot die on its own. */
static int local_start_watch(struct stack *st, char *err, size_t errlen)
{
    (void)st, (void)err, (void)errlen;
    return 0;
}

static void local_stop_watch(struct stack *st)
{
    (void)st;
}

static void local_close(struct stack *st)
{
    bus_detach(st->bus);
    st->bus = NULL;
    sim_ctrl_destroy(st->ctrl);
    st->ctrl = NULL;
}

static int local_reconnect(struct stack *st, char *err, size_t errlen)
{
    int rc = st->ops->recover(st->core);
    if (rc < 0) {
        errf(err, errlen, "the driver could not bring the controller up: %s", strerror(-rc));
        return rc;
    }
    atomic_fetch_add(&st->reconnects, 1);
    return 0;
}

static int local_kill(struct stack *st)
{
    (void)st;
    return -ENOTSUP;
}

static int local_start(struct stack *st, char *err, size_t errlen)
{
    (void)st;
    errf(err, errlen, "the controller runs in this process");
    return -ENOTSUP;
}

static pid_t local_pid(const struct stack *st)
{
    (void)st;
    return 0;
}

const struct stack_mode_ops stack_local_ops = {
    .open = local_open,
    .start_watch = local_start_watch,
    .stop_watch = local_stop_watch,
    .close = local_close,
    .reconnect = local_reconnect,
    .kill = local_kill,
    .start = local_start,
    .pid = local_pid,
};
