/* core/drv_mutant.h — the one switch for the deliberately broken cores.
 *
 * Each field bug (docs/architecture.md, "The field bugs") has a
 * mutant: building with -DDRV_MUTANT_F1 (and so on) turns the correct code at
 * exactly one spot into the broken variant a driver author shipped.  The
 * default build defines none of them.  In code a mutant reads as
 *
 *     if (DRV_MUTANT(F1) && scsi_is_sync_cache(cdb)) ...
 *
 * which is a compile-time constant, so the correct build carries no trace of it.
 *
 *   F1   SYNCHRONIZE CACHE (10/16) completed locally with GOOD, never sent
 *        (core/core_task.c, task_start)
 *   F2   data-in buffers prepared HBA_DMA_TO_DEVICE: the device may only read
 *        them, so its DMA writes fault or vanish (core/core_dma.c)
 *   F3   UNIT ATTENTION on a target other than 0 during discovery treated as
 *        fatal: the target is dropped (core/discovery.c)
 *   F4   MODE SENSE caching page rewritten to WCE=0 on its way up
 *        (core/core_task.c, task_fixup_data_in)
 *   F5   SGLs passed through beyond the HBA constraints: no split, no bounce,
 *        IOVAs prepared without the address limit (core/core_dma.c)
 *   F5B  the FUA bit cleared from WRITE (10/16) CDBs (core/core_task.c)
 *   F6   vendor-specific CDBs (opcodes C0h-FFh) filtered out by the driver:
 *        refused before they reach the controller (core/core_task.c, task_start)
 *   F7   data SGE addresses held in a signed 32-bit int while the SGL is
 *        built: an IOVA at or above 2 GiB comes out sign-extended, one at or
 *        above 4 GiB loses its high bits (core/sgl.c, sge)
 *   ABORTED_GOOD  a command ended by task management (ABORT TASK, a LUN
 *        reset, ...) delivered upward as GOOD instead of aborted
 *        (core/core_task.c, task_finish)
 *   ORDERED_SIMPLE  the ORDERED task attribute dropped to SIMPLE: no barrier
 *        in the core, none in the queue entry (core/core_task.c, task_start)
 *   TSF_FATAL  TASK SET FULL taken as fatal (service delivery failure)
 *        instead of retried (core/core_task.c, task_command_done)
 */
#ifndef CORE_DRV_MUTANT_H
#define CORE_DRV_MUTANT_H

#define DRV_MUTANT(name) DRV_MUTANT_ON_##name

#ifdef DRV_MUTANT_F1
#define DRV_MUTANT_ON_F1 1
#else
#define DRV_MUTANT_ON_F1 0
#endif
#ifdef DRV_MUTANT_F2
#define DRV_MUTANT_ON_F2 1
#else
#define DRV_MUTANT_ON_F2 0
#endif
#ifdef DRV_MUTANT_F3
#define DRV_MUTANT_ON_F3 1
#else
#define DRV_MUTANT_ON_F3 0
#endif
#ifdef DRV_MUTANT_F4
#define DRV_MUTANT_ON_F4 1
#else
#define DRV_MUTANT_ON_F4 0
#endif
#ifdef DRV_MUTANT_F5
#define DRV_MUTANT_ON_F5 1
#else
#define DRV_MUTANT_ON_F5 0
#endif
#ifdef DRV_MUTANT_F5B
#define DRV_MUTANT_ON_F5B 1
#else
#define DRV_MUTANT_ON_F5B 0
#endif
#ifdef DRV_MUTANT_F6
#define DRV_MUTANT_ON_F6 1
#else
#define DRV_MUTANT_ON_F6 0
#endif
#ifdef DRV_MUTANT_F7
#define DRV_MUTANT_ON_F7 1
#else
#define DRV_MUTANT_ON_F7 0
#endif
#ifdef DRV_MUTANT_ABORTED_GOOD
#define DRV_MUTANT_ON_ABORTED_GOOD 1
#else
#define DRV_MUTANT_ON_ABORTED_GOOD 0
#endif
#ifdef DRV_MUTANT_TSF_FATAL
#define DRV_MUTANT_ON_TSF_FATAL 1
#else
#define DRV_MUTANT_ON_TSF_FATAL 0
#endif
#ifdef DRV_MUTANT_ORDERED_SIMPLE
#define DRV_MUTANT_ON_ORDERED_SIMPLE 1
#else
#define DRV_MUTANT_ON_ORDERED_SIMPLE 0
#endif

#endif
