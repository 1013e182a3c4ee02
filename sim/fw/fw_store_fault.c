/* sim/fw/fw_store_fault.c — the fault engine's two store actions
 * (docs/faults.md): io-error arms a drive's store to fail its next system
 * calls of one kind, and reopen makes the drive close and reopen its media,
 * journal and battery file as a controller restarted on them would.  Both
 * go to the store under the firmware lock, which serialises every call on it. */
#include "sim/fw/fw_priv.h"

#include <errno.h>

#include "base/errf.h"
#include "sim/fault/fault.h"

int fw_store_action(struct fw *fw, const struct fault_rule *r, char *err, size_t errlen)
{
    fw_lock(fw);
    struct fw_drive *d = fw_drive_at(fw, r->target, r->lun);
    int rc = 0;
    if (!d) {
        errf(err, errlen, "no drive %u:%u", r->target, r->lun);
        rc = -ENOENT;
    } else if (r->kind == FAULT_IO_ERROR) {
        sim_store_fail_io(d->store, (enum sim_store_file)r->io_file, (enum sim_store_call)r->io_call,
                          (uint32_t)r->count, r->io_errno);
    } else {
        /* A restarted drive reports POWER ON first.  One whose files did not
         * open answers every medium access with a hardware error until a
         * reopen succeeds: the trace judges that, so it is no error here. */
        char why[512];
        (void)sim_store_reopen(d->store, why, sizeof why);
        fw_drive_power_on(d, clock_now_ns());
    }
    fw_unlock(fw);
    return rc;
}
