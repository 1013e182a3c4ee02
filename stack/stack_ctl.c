/* stack/stack_ctl.c — controller test control through the stack, the same
 * in both modes (stack/stack.h): straight to the sim_ctrl_* function in one
 * process, the matching bus_remote_* request over the socket in two. */
#include <errno.h>

#include "stack/stack_internal.h"
#include "platform/bus_client.h"

int64_t stack_power_cut(struct stack *st, const struct sim_power_cut *how)
{
    if (!st)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_power_cut(st->ctrl, how) : bus_remote_power_cut(st->bus, how);
}

int stack_power_on(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_power_on(st->ctrl) : bus_remote_power_on(st->bus);
}

int stack_check_media(struct stack *st, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    if (!st || !r)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_check_media(st->ctrl, target, lun, r) : bus_remote_check_media(st->bus, target, lun, r);
}

int stack_inject(struct stack *st, enum sim_inject_kind kind, uint32_t count)
{
    if (!st)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_inject(st->ctrl, kind, count) : bus_remote_inject(st->bus, kind, count);
}

int stack_inject_clear(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_inject_clear(st->ctrl) : bus_remote_inject_clear(st->bus);
}

int stack_fault_log(struct stack *st, uint32_t first, struct hba_iommu_fault *out, size_t max,
                    struct hba_log_header *hdr)
{
    if (!st || !hdr || (max && !out))
        return -EINVAL;
    if (!st->ctrl)
        return bus_remote_fault_log(st->bus, first, out, max, hdr);
    size_t n = sim_ctrl_fault_log(st->ctrl, first, out, max, hdr);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

int stack_set_battery(struct stack *st, uint16_t target, uint16_t lun, enum hba_battery battery)
{
    if (!st)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_set_battery(st->ctrl, target, lun, battery)
                    : bus_remote_set_battery(st->bus, target, lun, battery);
}

int stack_raise_ua(struct stack *st, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    if (!st)
        return -EINVAL;
    return st->ctrl ? sim_ctrl_raise_ua(st->ctrl, target, lun, initiator, asc_ascq)
                    : bus_remote_raise_ua(st->bus, target, lun, initiator, asc_ascq);
}

int stack_set_iommu_policy(struct stack *st, enum hba_iommu_policy policy)
{
    if (!st)
        return -EINVAL;
    if (!st->ctrl)
        return bus_remote_set_iommu_policy(st->bus, policy);
    if (policy != HBA_IOMMU_POLICY_ABORT && policy != HBA_IOMMU_POLICY_DROP && policy != HBA_IOMMU_POLICY_FATAL)
        return -EINVAL;
    sim_ctrl_set_iommu_policy(st->ctrl, policy);
    return 0;
}
