/* core/driver_core_abi.c — scsisim's own core behind the driver-core ABI
 * (core/driver_core_abi.h): the table the harness calls it through, whether
 * it is linked into the executable (the default) or loaded as
 * build/lib/scsisim-core.so or a mutant's build/mutants/core-NAME.so. */
#include "core/driver_core_abi.h"

static const struct scsisim_driver_core table = {
    .abi_version = SCSISIM_DRIVER_CORE_ABI_VERSION,
    .table_size = sizeof(struct scsisim_driver_core),
    .name = "scsisim core",
    .create = drv_core_create,
    .start = drv_core_start,
    .stop = drv_core_stop,
    .destroy = drv_core_destroy,
    .constraints = drv_core_constraints,
    .process_task = drv_core_process_task,
    .run_task = drv_core_run_task,
    .poll = drv_core_poll,
    .task_mgmt = drv_core_task_mgmt,
    .reset = drv_core_reset,
    .reset_controller = drv_core_reset_controller,
    .recover = drv_core_recover,
    .discover = drv_discover,
    .disc_result_free = drv_disc_result_free,
    .get_stats = drv_core_get_stats,
};

const struct scsisim_driver_core *scsisim_driver_core(void)
{
    return &table;
}
