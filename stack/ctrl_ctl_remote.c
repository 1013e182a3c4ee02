/* stack/ctrl_ctl_remote.c — controller test control across processes
 * (stack/ctrl_ctl.h): each operation is the bus_remote_* request of
 * platform/bus_client.h that runs the sim_ctrl_* function of the same name in
 * the controller process.  -ENODEV when that process is gone, -ETIMEDOUT when
 * it did not answer. */
#include <errno.h>
#include <string.h>

#include "base/errf.h"
#include "stack/ctrl_ctl.h"
#include "platform/bus_client.h"
#include "sim/fault/fault.h"

static int64_t remote_power_cut(void *impl, const struct sim_power_cut *how)
{
    return bus_remote_power_cut(impl, how);
}

static int remote_power_on(void *impl)
{
    return bus_remote_power_on(impl);
}

/* The protocol has no request for it (sim/bus/bus_proto.h). */
static int remote_powered(void *impl)
{
    (void)impl;
    return -ENOTSUP;
}

static int remote_check_media(void *impl, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    return bus_remote_check_media(impl, target, lun, r);
}

static int remote_inject(void *impl, enum sim_inject_kind kind, uint32_t count)
{
    return bus_remote_inject(impl, kind, count);
}

static int remote_inject_clear(void *impl)
{
    return bus_remote_inject_clear(impl);
}

/* At most BPROTO_FAULT_LOG_MAX entries per request. */
static int remote_fault_log(void *impl, uint32_t first, struct hba_iommu_fault *out, size_t max,
                            struct hba_log_header *hdr)
{
    return bus_remote_fault_log(impl, first, out, max, hdr);
}

static int remote_set_battery(void *impl, uint16_t target, uint16_t lun, enum hba_battery battery)
{
    return bus_remote_set_battery(impl, target, lun, battery);
}

static int remote_raise_ua(void *impl, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    return bus_remote_raise_ua(impl, target, lun, initiator, asc_ascq);
}

static int remote_set_iommu_policy(void *impl, enum hba_iommu_policy policy)
{
    return bus_remote_set_iommu_policy(impl, policy);
}

/* The tap calls back into the caller for every command the firmware takes:
 * a function pointer does not cross processes.  This is why a replay in two
 * processes skips the traces with layer-C records. */
static int remote_set_observer(void *impl, sim_cmd_observer fn, void *arg)
{
    (void)impl, (void)fn, (void)arg;
    return -ENOTSUP;
}

/* Checked here first, so a bad rule has the same message in both modes; the
 * controller process answers only a status. */
static int remote_fault_add(void *impl, const char *rule, char *err, size_t errlen)
{
    struct fault_rule r;
    int rc = fault_rule_parse(rule, &r, err, errlen, NULL);
    if (rc < 0)
        return rc;
    rc = bus_remote_fault_add(impl, rule);
    if (rc == -EINVAL)
        errf(err, errlen, "the controller refused the action (capacity: no such drive, or above its size; remove: "
                          "no such drive; insert: a drive is there, or the address is beyond the controller)");
    else if (rc < 0)
        errf(err, errlen, "%s", strerror(-rc));
    return rc;
}

static int remote_fault_clear(void *impl)
{
    return bus_remote_fault_clear(impl);
}

/* The rules and statistics do not fit the bus's 4 KiB replies: the
 * controller process's own --ctl socket answers them. */

static int remote_fault_list(void *impl, struct tbuf *json)
{
    (void)impl, (void)json;
    return -ENOTSUP;
}

static int remote_stats(void *impl, struct tbuf *json)
{
    (void)impl, (void)json;
    return -ENOTSUP;
}

static int remote_set_write_cache(void *impl, uint16_t target, uint16_t lun, bool on)
{
    return bus_remote_set_write_cache(impl, target, lun, on);
}

#define REMOTE_ROW(name) .name = remote_##name,
static const struct ctrl_ctl_ops remote_ops = { CTRL_CTL_OPS(REMOTE_ROW) };
#undef REMOTE_ROW

struct ctrl_ctl ctrl_ctl_remote(struct bus *b)
{
    return (struct ctrl_ctl){ .ops = &remote_ops, .impl = b };
}
