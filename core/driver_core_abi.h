/* core/driver_core_abi.h — the door through which scsisim loads a driver core
 * at run time (`--driver-core PATH.so`), its own included.
 *
 * A driver core is a shared object that exports ONE symbol,
 *
 *     const struct scsisim_driver_core *scsisim_driver_core(void);
 *
 * returning a table of the entry points the harness calls (core/core.h says
 * what each one does: they are the drv_core_* functions, one pointer each).
 * Everything the core asks of an operating system it asks through
 * core/osal.h, as plain function calls: in scsisim those osal_* symbols (and
 * the SCSI helpers of scsi/cdb.h and scsi/sense.h) resolve against the
 * scsisim executable, which exports exactly them; in a DriverKit extension
 * they resolve against the dext's own osal implementation.  The core's
 * source is the same in both places — see docs/porting.md for why the OS
 * layer is linked symbols and not a table handed to create.
 *
 * Versioning.  abi_version is SCSISIM_DRIVER_CORE_ABI_VERSION as the core was
 * compiled; scsisim refuses a core whose version differs from its own (the
 * structures of core/core.h and core/osal.h are part of the ABI: any change
 * to them bumps the version).  table_size lets a later minor revision append
 * entry points: scsisim refuses a table smaller than it needs.
 *
 * Building one out of tree, against the installed headers:
 *
 *     cc -shared -fPIC -o mycore.so mycore.c $(pkg-config --cflags scsisim)
 *     scsisim run --driver-core ./mycore.so
 *
 * Link the core with -Wl,--version-script (or -fvisibility=hidden) so that
 * only scsisim_driver_core is exported: the core's own functions must not
 * collide with the executable's.
 */
#ifndef CORE_DRIVER_CORE_ABI_H
#define CORE_DRIVER_CORE_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/discovery.h"

#define SCSISIM_DRIVER_CORE_ABI_VERSION 1u
/* The one symbol a driver core exports. */
#define SCSISIM_DRIVER_CORE_SYMBOL "scsisim_driver_core"

struct scsisim_driver_core {
    uint32_t abi_version;   /* SCSISIM_DRIVER_CORE_ABI_VERSION */
    uint32_t table_size;    /* sizeof(struct scsisim_driver_core) */
    const char *name;       /* shown in logs and errors, e.g. "scsisim core" */

    /* UserInitializeController / UserStartController / teardown */
    int  (*create)(struct osal *os, const struct drv_core_options *opt, struct drv_core **out);
    int  (*start)(struct drv_core *core);
    void (*stop)(struct drv_core *core);
    void (*destroy)(struct drv_core *core);
    /* UserReportHBAConstraints */
    void (*constraints)(const struct drv_core *core, struct drv_constraints *out);
    /* UserProcessParallelTask, and its synchronous form */
    int  (*process_task)(struct drv_core *core, const struct drv_task *t, drv_task_done done, void *arg);
    int  (*run_task)(struct drv_core *core, const struct drv_task *t, struct drv_completion *out);
    /* polled mode: reap completions */
    int  (*poll)(struct drv_core *core);
    /* task management (an iSCSI target's TMFs, nexus loss) */
    int  (*task_mgmt)(struct drv_core *core, const struct drv_tmf *tmf, drv_tmf_done done, void *arg);
    /* resets the layer above asks for, and recovery after the controller came back */
    int  (*reset)(struct drv_core *core, enum hba_reset_scope scope, uint16_t target, uint16_t lun);
    int  (*reset_controller)(struct drv_core *core, bool hard);
    int  (*recover)(struct drv_core *core);
    /* the host's probe of targets and LUNs (core/discovery.h): part of the
     * core, since how it treats a UNIT ATTENTION is the driver's (F3) */
    int  (*discover)(struct drv_core *core, const struct drv_disc_options *opt, struct drv_disc_result *out);
    void (*disc_result_free)(struct drv_disc_result *r);
    /* diagnostics */
    void (*get_stats)(struct drv_core *core, struct drv_core_stats *out);
};

/* The entry point's type and its declaration. */
typedef const struct scsisim_driver_core *(*scsisim_driver_core_fn)(void);
const struct scsisim_driver_core *scsisim_driver_core(void);

#endif
