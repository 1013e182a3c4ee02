/* stack/ctrl_ctl_local.c — controller test control in one process
 * (stack/ctrl_ctl.h): each operation is the sim_ctrl_* function of the same
 * name, on the controller this process runs. */
#include <errno.h>
#include <stdint.h>

#include "stack/ctrl_ctl.h"

static int64_t local_power_cut(void *impl, const struct sim_power_cut *how)
{
    return sim_ctrl_power_cut(impl, how);
}

static int local_power_on(void *impl)
{
    return sim_ctrl_power_on(impl);
}

static int local_powered(void *impl)
{
    return sim_ctrl_powered(impl) ? 1 : 0;
}

static int local_check_media(void *impl, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    return sim_ctrl_check_media(impl, target, lun, r);
}

static int local_inject(void *impl, enum sim_inject_kind kind, uint32_t count)
{
    return sim_ctrl_inject(impl, kind, count);
}

static int local_inject_clear(void *impl)
{
    return sim_ctrl_inject_clear(impl);
}

static int local_fault_log(void *impl, uint32_t first, struct hba_iommu_fault *out, size_t max,
                           struct hba_log_header *hdr)
{
    size_t n = sim_ctrl_fault_log(impl, first, out, max, hdr);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

static int local_set_battery(void *impl, uint16_t target, uint16_t lun, enum hba_battery battery)
{
    return sim_ctrl_set_battery(impl, target, lun, battery);
}

static int local_raise_ua(void *impl, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    return sim_ctrl_raise_ua(impl, target, lun, initiator, asc_ascq);
}

static int local_set_iommu_policy(void *impl, enum hba_iommu_policy policy)
{
    sim_ctrl_set_iommu_policy(impl, policy);
    return 0;
}

static int local_set_observer(void *impl, sim_cmd_observer fn, void *arg)
{
    sim_ctrl_set_observer(impl, fn, arg);
    return 0;
}

static int local_fault_add(void *impl, const char *rule, char *err, size_t errlen)
{
    return sim_ctrl_fault_add(impl, rule, err, errlen);
}

static int local_fault_clear(void *impl)
{
    return sim_ctrl_fault_clear(impl);
}

static int local_fault_list(void *impl, struct tbuf *json)
{
    sim_ctrl_fault_list_json(impl, json);
    return json->oom ? -ENOMEM : 0;
}

static int local_stats(void *impl, struct tbuf *json)
{
    sim_ctrl_stats_json(impl, json);
    return json->oom ? -ENOMEM : 0;
}

static int local_set_write_cache(void *impl, uint16_t target, uint16_t lun, bool on)
{
    return sim_ctrl_set_write_cache(impl, target, lun, on);
}

#define LOCAL_ROW(name) .name = local_##name,
static const struct ctrl_ctl_ops local_ops = { CTRL_CTL_OPS(LOCAL_ROW) };
#undef LOCAL_ROW

struct ctrl_ctl ctrl_ctl_local(struct sim_ctrl *c)
{
    return (struct ctrl_ctl){ .ops = &local_ops, .impl = c };
}
