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
 *   1  the first table.
 *   2  drv_task.attr (SAM-5 task attribute), DRV_TMF_QUERY_TASK, and
 *      drv_core_stats.busy_retries inserted before .events (a version-1 core's
 *      get_stats would fill the wrong counters; it would also drop every
 *      ORDERED / HEAD OF QUEUE attribute and refuse QUERY TASK).
 *      Later, in what was padding (no new version): drv_task.target_port
 *      (multipath); a core that ignores it sends every command as port 0.
 *
 * The _Static_asserts at the end pin the size and field offsets of every
 * structure that crosses this door (LP64): a change to one fails the build
 * here, so it cannot ship without a decision about the version.
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

#define SCSISIM_DRIVER_CORE_ABI_VERSION 2u
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

/* The layout of version 2, as an LP64 compiler lays it out (x86-64, arm64).
 * If one of these fails, a structure crossing the ABI changed: an appended
 * field that old cores may ignore can update the numbers; anything else (a
 * field moved, inserted, resized, an enum value renumbered) also bumps
 * SCSISIM_DRIVER_CORE_ABI_VERSION and says why in the list above. */
#if defined(__LP64__)
#define DRV_ABI_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), "driver-core ABI: sizeof(struct " #t ") changed")
#define DRV_ABI_AT(t, f, n) \
    _Static_assert(offsetof(struct t, f) == (n), "driver-core ABI: struct " #t "." #f " moved")
DRV_ABI_SIZE(drv_task, 72);
DRV_ABI_AT(drv_task, target, 8);
DRV_ABI_AT(drv_task, initiator, 12);
DRV_ABI_AT(drv_task, cdb, 14);
DRV_ABI_AT(drv_task, cdb_len, 30);
DRV_ABI_AT(drv_task, dir, 32);
DRV_ABI_AT(drv_task, requested_transfer, 40);
DRV_ABI_AT(drv_task, pieces, 48);
DRV_ABI_AT(drv_task, piece_count, 56);
DRV_ABI_AT(drv_task, timeout_ms, 60);
DRV_ABI_AT(drv_task, attr, 64);
DRV_ABI_AT(drv_task, target_port, 68);
DRV_ABI_SIZE(drv_buffer_piece, 24);
DRV_ABI_AT(drv_buffer_piece, length, 16);
DRV_ABI_SIZE(drv_tmf, 24);
DRV_ABI_AT(drv_tmf, initiator, 4);
DRV_ABI_AT(drv_tmf, lun, 8);
DRV_ABI_AT(drv_tmf, task_id, 16);
DRV_ABI_SIZE(drv_completion, 280);
DRV_ABI_AT(drv_completion, response, 8);
DRV_ABI_AT(drv_completion, scsi_status, 12);
DRV_ABI_AT(drv_completion, bytes_transferred, 16);
DRV_ABI_AT(drv_completion, sense_len, 24);
DRV_ABI_AT(drv_completion, sense, 25);
DRV_ABI_SIZE(drv_core_stats, 128);
DRV_ABI_AT(drv_core_stats, busy_retries, 96);
DRV_ABI_AT(drv_core_stats, events, 104);
DRV_ABI_AT(drv_core_stats, tmf_retries, 120);
DRV_ABI_SIZE(drv_constraints, 48);
DRV_ABI_AT(drv_constraints, max_byte_count, 8);
DRV_ABI_AT(drv_constraints, max_outstanding, 40);
DRV_ABI_SIZE(drv_core_options, 64);
DRV_ABI_AT(drv_core_options, on_event, 16);
DRV_ABI_AT(drv_core_options, abort_grace_ms, 32);
DRV_ABI_AT(drv_core_options, async_events, 56);
DRV_ABI_AT(drv_core_options, int_coalescing, 60); /* was padding: a core that predates it reads nothing there */
DRV_ABI_SIZE(drv_event, 48);
DRV_ABI_AT(drv_event, fault, 16);
DRV_ABI_SIZE(drv_disc_options, 20);
DRV_ABI_AT(drv_disc_options, max_targets, 16);
DRV_ABI_SIZE(drv_disc_lun, 40);
DRV_ABI_AT(drv_disc_lun, revision, 35);
DRV_ABI_SIZE(drv_disc_result, 32);
DRV_ABI_AT(drv_disc_result, unit_attentions, 24);
DRV_ABI_SIZE(scsisim_driver_core, 136);
DRV_ABI_AT(scsisim_driver_core, get_stats, 128);
#undef DRV_ABI_SIZE
#undef DRV_ABI_AT
#endif
/* Enum values cross the door as integers. */
_Static_assert(DRV_ATTR_SIMPLE == 0 && DRV_ATTR_ORDERED == 1 && DRV_ATTR_HEAD_OF_QUEUE == 2 && DRV_ATTR_ACA == 3,
               "driver-core ABI: enum drv_task_attr renumbered");
_Static_assert(DRV_TMF_ABORT_TASK == 1 && DRV_TMF_NEXUS_LOSS == 8 && DRV_TMF_QUERY_TASK == 9,
               "driver-core ABI: enum drv_tmf_kind renumbered");
_Static_assert(DRV_SR_TASK_COMPLETE == 0 && DRV_SR_FUNCTION_REJECTED == 2,
               "driver-core ABI: enum drv_service_response renumbered");

#endif
