/* stack/stack_ctl.c — controller test control through the stack, the same
 * in both modes (stack/stack.h).  The arguments are checked here, once, and
 * the call goes to the interface the stack picked when it opened
 * (stack/ctrl_ctl.h: the controller in this process or over the socket), so
 * both modes refuse the same things with the same error. */
#include <errno.h>

#include "stack/stack_internal.h"

int64_t stack_power_cut(struct stack *st, const struct sim_power_cut *how)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->power_cut(st->ctl.impl, how);
}

int stack_power_on(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->power_on(st->ctl.impl);
}

int stack_powered(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->powered(st->ctl.impl);
}

int stack_check_media(struct stack *st, uint16_t target, uint16_t lun, struct sim_oracle_report *r)
{
    if (!st || !r)
        return -EINVAL;
    return st->ctl.ops->check_media(st->ctl.impl, target, lun, r);
}

int stack_inject(struct stack *st, enum sim_inject_kind kind, uint32_t count)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->inject(st->ctl.impl, kind, count);
}

int stack_inject_clear(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->inject_clear(st->ctl.impl);
}

int stack_fault_log(struct stack *st, uint32_t first, struct hba_iommu_fault *out, size_t max,
                    struct hba_log_header *hdr)
{
    if (!st || !hdr || (max && !out))
        return -EINVAL;
    return st->ctl.ops->fault_log(st->ctl.impl, first, out, max, hdr);
}

int stack_set_battery(struct stack *st, uint16_t target, uint16_t lun, enum hba_battery battery)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->set_battery(st->ctl.impl, target, lun, battery);
}

int stack_raise_ua(struct stack *st, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->raise_ua(st->ctl.impl, target, lun, initiator, asc_ascq);
}

int stack_set_iommu_policy(struct stack *st, enum hba_iommu_policy policy)
{
    if (!st)
        return -EINVAL;
    /* sim_ctrl_set_iommu_policy takes any value; the controller process
     * refuses an unknown one.  Refused here, both modes say -EINVAL even
     * when the controller process is gone. */
    if (policy != HBA_IOMMU_POLICY_ABORT && policy != HBA_IOMMU_POLICY_DROP && policy != HBA_IOMMU_POLICY_FATAL)
        return -EINVAL;
    return st->ctl.ops->set_iommu_policy(st->ctl.impl, policy);
}

int stack_set_observer(struct stack *st, sim_cmd_observer fn, void *arg)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->set_observer(st->ctl.impl, fn, arg);
}

int stack_set_write_cache(struct stack *st, uint16_t target, uint16_t lun, bool on)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->set_write_cache(st->ctl.impl, target, lun, on);
}

int stack_stats(struct stack *st, struct tbuf *json)
{
    if (!st || !json)
        return -EINVAL;
    return st->ctl.ops->stats(st->ctl.impl, json);
}

int stack_fault_add(struct stack *st, const char *rule, char *err, size_t errlen)
{
    if (!st || !rule)
        return -EINVAL;
    return st->ctl.ops->fault_add(st->ctl.impl, rule, err, errlen);
}

int stack_fault_clear(struct stack *st)
{
    if (!st)
        return -EINVAL;
    return st->ctl.ops->fault_clear(st->ctl.impl);
}
