/* sim/sim.h — the simulator's C API: create a controller from a configuration,
 * reach its shared memory, drive its power, read its fault log and its oracle.
 *
 * A controller is a firmware thread plus two shared memory regions (memfds):
 *
 *     device memory  (the controller's, SIM_REGION_DEV_SIZE bytes)
 *       offset 0                BAR0 registers (HBA_BAR0_SIZE), see hw/hba.h
 *       offset SIM_REGION_PRIV  the posted-write FIFO the bus uses for
 *                               control-register writes (SIM_REGION_PRIV_SIZE)
 *     host RAM       (the host's, ram_size bytes) where the driver's queues and
 *                    DMA buffers live; addresses in it are offsets 0..size-1
 *
 * and a set of eventfds: the bell (driver → firmware wake-up) and one per
 * interrupt vector (firmware → driver).  Host RAM belongs to the host: in two
 * processes (platform/bus_client.h) the host creates it (sim_host_ram_create) and
 * hands it to the controller, so a controller killed with SIGKILL does not take
 * the driver's memory with it.  In one process sim_ctrl_create makes its own.
 * The IOMMU's translation tables and invalidation queue are in host RAM
 * (hw/hba.h): the OS side maps and unmaps by writing them there
 * (platform/iommu_pt.h); the controller walks them and keeps an IOTLB.
 *
 * The driver side never calls into the firmware: it talks to the registers
 * through the bus (platform/bus.h), which gives register writes their hardware
 * semantics (write-1-to-clear, mask set/clear, doorbells with event index).
 *
 * Errors are negative errno values unless a function says otherwise.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/config/config.h"
#include "hw/hba.h"
#include "sim/store/store.h"

#define SIM_REGION_PRIV      HBA_BAR0_SIZE
#define SIM_REGION_PRIV_SIZE 0x1000u
#define SIM_REGION_DEV_SIZE  (SIM_REGION_PRIV + SIM_REGION_PRIV_SIZE)
/* Host RAM sizes, as the host-ram configuration key: a multiple of 4 KiB. */
#define SIM_HOST_RAM_MIN     (UINT64_C(1) << 20)
#define SIM_HOST_RAM_MAX     (UINT64_C(1) << 40)

struct sim_ctrl;

/* What a process needs to attach to a controller. */
struct sim_attach {
    int      dev_fd;           /* device memory (SIM_REGION_DEV_SIZE bytes); map it MAP_SHARED */
    int      ram_fd;           /* host RAM (ram_size bytes); map it MAP_SHARED */
    uint64_t ram_size;
    int      bell_fd;          /* eventfd: write 1 to wake the firmware */
    int      vector_fd[HBA_MAX_VECTORS]; /* eventfds, one per vector, -1 beyond nvec */
    unsigned nvec;
};

/* Host RAM as the host creates it: a memfd of `size` bytes (a multiple of
 * 4 KiB, SIM_HOST_RAM_MIN..SIM_HOST_RAM_MAX), zero-filled, close-on-exec, sealed against
 * resizing.  Returns the fd (the caller owns it) or -errno (err says why). */
int sim_host_ram_create(uint64_t size, char *err, size_t errlen);
/* Checks what a peer handed over: fd is a memfd of exactly `size` bytes that
 * cannot shrink (F_SEAL_SHRINK).  0, -EBADF (not a memfd), -EINVAL (size),
 * -EPERM (not sealed). */
int sim_memfd_check(int fd, uint64_t size);

/* Creates a powered-off controller from cfg (copied) with its own host RAM
 * of cfg.host_ram_bytes (for one process).  0 or -errno; on error err
 * (errlen bytes) says why. */
int  sim_ctrl_create(const struct sim_config *cfg, struct sim_ctrl **out, char *err, size_t errlen);
/* The same on the host's RAM: ram_fd (duplicated; the caller keeps its own)
 * must pass sim_memfd_check for ram_size (which follows cfg.host_ram_bytes's
 * rules and replaces it). */
int  sim_ctrl_create_with_ram(const struct sim_config *cfg, int ram_fd, uint64_t ram_size, struct sim_ctrl **out,
                              char *err, size_t errlen);
/* Moves a powered-off controller to another host's RAM (-EBUSY while powered).
 * The IOMMU belongs to the host platform: the new host starts with no
 * mappings and an empty fault log (policy kept).  On error nothing changed. */
int  sim_ctrl_set_ram(struct sim_ctrl *c, int ram_fd, uint64_t ram_size, char *err, size_t errlen);
/* Stops the firmware thread, closes every fd, frees everything. */
void sim_ctrl_destroy(struct sim_ctrl *c);

/* Power on: starts the firmware (state RESET, READY after initialisation),
 * replays battery-backed cache lines, raises POWER ON (29h/01h).  -EALREADY if on. */
int  sim_ctrl_power_on(struct sim_ctrl *c);
/* Power cut: the firmware stops at once, outstanding commands are lost, registers
 * read as zero until power on, dirty cache lines are lost as `how` says unless
 * the battery holds them.  NULL how = SIM_POWER_CUT_ALL.  Returns lines lost. */
int64_t sim_ctrl_power_cut(struct sim_ctrl *c, const struct sim_power_cut *how);
bool sim_ctrl_powered(const struct sim_ctrl *c);
/* Orderly power down (host shutdown, SIGTERM, a host that went away): the
 * firmware stops taking commands, every drive's cache is flushed to media,
 * then power goes off with nothing dirty to lose.  -EALREADY if off; else 0
 * or the first flush error (the power is off either way; lines a failed flush
 * left dirty are lost as at a power cut and reported at the next power on). */
int  sim_ctrl_shutdown(struct sim_ctrl *c);

const struct sim_attach *sim_ctrl_attach_info(const struct sim_ctrl *c);
volatile uint32_t *sim_ctrl_bar(struct sim_ctrl *c);   /* this process's mapping */
uint8_t *sim_ctrl_ram(struct sim_ctrl *c);             /* this process's mapping */
uint64_t sim_ctrl_ram_size(const struct sim_ctrl *c);

/* The IOMMU as the test bench sees it (the OS programs it in host RAM).
 * sim_ctrl_iommu_doorbell: the invalidation queue's doorbell handled on the
 * caller's thread, for a platform in this process (sim/iommu/iommu.h). */
void sim_ctrl_iommu_doorbell(struct sim_ctrl *c);
void sim_ctrl_set_iommu_policy(struct sim_ctrl *c, enum hba_iommu_policy p);
size_t sim_ctrl_fault_log(struct sim_ctrl *c, uint32_t first, struct hba_iommu_fault *out, size_t max,
                          struct hba_log_header *hdr);

/* Drives: battery, oracle, test hooks. */
int sim_ctrl_set_battery(struct sim_ctrl *c, uint16_t target, uint16_t lun, enum hba_battery b);
int sim_ctrl_check_media(struct sim_ctrl *c, uint16_t target, uint16_t lun, struct sim_oracle_report *r);
int sim_ctrl_raise_ua(struct sim_ctrl *c, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq);
/* The drive's write-back cache (WCE) switched from outside, as the
 * controller's own write-cache setting does (fw_set_write_cache): turning it
 * off writes the dirty lines back first.  -ENOENT without such a drive. */
int sim_ctrl_set_write_cache(struct sim_ctrl *c, uint16_t target, uint16_t lun, bool on);

/* Fault injection (used by driver recovery tests and trace directives).
 * -ENODEV while powered off; a power cycle clears every injection.  HANG and
 * STALL_HEARTBEAT also end at a hard reset (the firmware reboots), not at a
 * controller reset (CONFIG.EN 1 -> 0), which still completes outstanding
 * commands with HBA_CS_ABORTED_RESET while hung.  A dropped command stays
 * outstanding: HBA_ADM_ABORT or a reset completes it. */
enum sim_inject_kind {
    SIM_INJECT_HANG        = 1, /* firmware stops processing queues (heartbeat keeps going) until cleared */
    SIM_INJECT_FATAL       = 2, /* enter FAULT with HBA_FAULT_INJECTED */
    SIM_INJECT_DROP_NEXT   = 3, /* the next `count` SCSI commands never complete */
    SIM_INJECT_STALL_HEARTBEAT = 4, /* heartbeat stops (firmware wedged) */
};
int sim_ctrl_inject(struct sim_ctrl *c, enum sim_inject_kind kind, uint32_t count);
int sim_ctrl_inject_clear(struct sim_ctrl *c);

/* The fault and timing engine (sim/fault/fault.h, docs/faults.md): rules
 * given as one line of text each.  sim_ctrl_fault_add parses and adds one
 * (a capacity rule is applied at once instead: the drive's capacity changes
 * with its unit attention); 0, or -EINVAL (err says what and where in the
 * line), -ENOSPC, or fw_set_capacity's error.  Rules stay across power
 * cycles: they describe the device; sim_ctrl_fault_clear (and
 * sim_ctrl_inject_clear, which lifts every fault) removes them all.
 * The JSON forms are those of fault_set_list_json and fault_stats_json,
 * the statistics with the controller's counters added. */
struct tbuf;
int  sim_ctrl_fault_add(struct sim_ctrl *c, const char *rule, char *err, size_t errlen);
int  sim_ctrl_fault_clear(struct sim_ctrl *c);
void sim_ctrl_fault_list_json(struct sim_ctrl *c, struct tbuf *json);
void sim_ctrl_stats_json(struct sim_ctrl *c, struct tbuf *json);

/* A tap on the firmware's SCSI commands, for a harness checking what the
 * controller saw (layer C of a trace): called on the firmware thread for
 * every HBA_OP_SCSI entry it took, once it is decided (completed, rejected,
 * or dropped by an injection: completed false), before the completion is
 * posted.  The pointers are valid during the call only; the observer must
 * not call back into the controller.  NULL fn removes it. */
struct sim_cmd_seen {
    uint16_t initiator, target, lun, sq_id, cid;
    const uint8_t *cdb;
    uint8_t  cdb_len;
    uint8_t  dir;             /* HBA_FLAG_DIR_* of the entry */
    uint8_t  attr;            /* HBA_ATTR_* of the entry (its task attribute) */
    uint32_t data_len;        /* the entry's data length */
    const uint8_t *data;      /* data-out read from the host, or data-in produced (xfer bytes); or NULL */
    uint32_t xfer;
    bool     completed;
    uint8_t  ctrl_status;     /* enum hba_ctrl_status */
    uint8_t  scsi_status;     /* when ctrl_status is HBA_CS_SUCCESS */
    const uint8_t *sense;
    uint8_t  sense_len;
};
typedef void (*sim_cmd_observer)(void *arg, const struct sim_cmd_seen *s);
void sim_ctrl_set_observer(struct sim_ctrl *c, sim_cmd_observer fn, void *arg);

/* Counters for tests and diagnostics. */
struct sim_ctrl_stats {
    uint64_t wakeups;        /* times the firmware left its parked wait */
    uint64_t driver_errors;  /* malformed entries, bad doorbells, ... (the driver's fault) */
    uint64_t sim_bugs;       /* HBA_CS_INTERNAL / HBA_FAULT_INTERNAL events (the simulator's fault) */
};
void sim_ctrl_get_stats(const struct sim_ctrl *c, struct sim_ctrl_stats *s);

#endif
