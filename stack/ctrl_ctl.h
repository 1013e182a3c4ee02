/* stack/ctrl_ctl.h — test control of the simulated controller (power, the
 * media oracle, fault injection, the IOMMU fault log and policy, battery,
 * unit attentions, the command tap), one interface for both places the
 * controller can run.  The stack picks the implementation when it builds the
 * controller or connects to it (stack_open) and calls nothing else:
 *
 *     ctrl_ctl_local   the controller is in this process: the sim_ctrl_*
 *                      functions of sim/sim.h, straight (stack/ctrl_ctl_local.c)
 *     ctrl_ctl_remote  it is in another process: the bus_remote_* requests of
 *                      platform/bus_client.h over its socket
 *                      (stack/ctrl_ctl_remote.c)
 *
 * The arguments were checked by the stack (stack/stack_ctl.c) before an
 * operation runs, so both implementations refuse the same things the same
 * way; an operation only translates the call.  What one side cannot do it
 * answers -ENOTSUP (the remote controller's command tap and power state).
 *
 * Internal to stack/: the layers above see the stack_* functions of
 * stack/stack.h, never a struct sim_ctrl. */
#ifndef STACK_CTRL_CTL_H
#define STACK_CTRL_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "base/tbuf.h"
#include "platform/bus.h"
#include "sim/sim.h"

/* Each one has the meaning of the sim_ctrl_* function of the same name
 * (sim/sim.h).  impl is struct ctrl_ctl's. */
struct ctrl_ctl_ops {
    int64_t (*power_cut)(void *impl, const struct sim_power_cut *how); /* lines lost, or -errno */
    int (*power_on)(void *impl);
    int (*powered)(void *impl); /* 1 on, 0 off, or -errno */
    int (*check_media)(void *impl, uint16_t target, uint16_t lun, struct sim_oracle_report *r);
    int (*inject)(void *impl, enum sim_inject_kind kind, uint32_t count);
    int (*inject_clear)(void *impl);
    /* How many entries were written, or -errno. */
    int (*fault_log)(void *impl, uint32_t first, struct hba_iommu_fault *out, size_t max,
                     struct hba_log_header *hdr);
    int (*set_battery)(void *impl, uint16_t target, uint16_t lun, enum hba_battery battery);
    int (*raise_ua)(void *impl, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq);
    int (*set_iommu_policy)(void *impl, enum hba_iommu_policy policy);
    /* The firmware's command tap (layer C of a trace); NULL fn removes it. */
    int (*set_observer)(void *impl, sim_cmd_observer fn, void *arg);
    /* The fault and timing engine (sim/fault/fault.h): a rule line, errors in err. */
    int (*fault_add)(void *impl, const char *rule, char *err, size_t errlen);
    int (*fault_clear)(void *impl);
    /* JSON appended to json: the rules, the statistics. */
    int (*fault_list)(void *impl, struct tbuf *json);
    int (*stats)(void *impl, struct tbuf *json);
    int (*set_write_cache)(void *impl, uint16_t target, uint16_t lun, bool on);
};

/* Every operation, once: each implementation builds its table from this list
 * (CTRL_CTL_OPS(ROW) with ROW(name) giving ".name = prefix_name,"), so the two
 * cannot drift apart and one missing function fails the build. */
#define CTRL_CTL_OPS(ROW)                                                                            \
    ROW(power_cut) ROW(power_on) ROW(powered) ROW(check_media) ROW(inject) ROW(inject_clear)       \
    ROW(fault_log) ROW(set_battery) ROW(raise_ua) ROW(set_iommu_policy) ROW(set_observer)          \
    ROW(fault_add) ROW(fault_clear) ROW(fault_list) ROW(stats) ROW(set_write_cache)

struct ctrl_ctl {
    const struct ctrl_ctl_ops *ops;
    void *impl; /* the struct sim_ctrl, or the remote struct bus */
};

/* The controller c in this process. */
struct ctrl_ctl ctrl_ctl_local(struct sim_ctrl *c);
/* The controller at the other end of the remote bus b (bus_remote_connect).
 * b is re-attached in place when the controller is replaced
 * (bus_remote_reconnect), so the interface stays valid across reconnections. */
struct ctrl_ctl ctrl_ctl_remote(struct bus *b);

#endif
