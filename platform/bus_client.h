/* platform/bus_client.h — the host end of the two-process bus: a struct bus
 * (platform/bus.h) on a controller that runs in another process
 * (`scsisim controller --socket PATH`).  The protocol is in sim/bus/bus_proto.h.
 *
 * What a driver's OS layer needs to know:
 *
 *   - bus_remote_connect gives an ordinary struct bus: registers, host RAM,
 *     vectors and bus_iommu_map/unmap work as in one process; bus_detach
 *     disconnects (the controller then shuts down in order and waits for the
 *     next host).
 *   - Host RAM belongs to the host: the client creates it (or takes the
 *     caller's sealed memfd) and keeps it mapped at the same address for the
 *     bus's whole life, across controller deaths and reconnects.
 *   - The IOMMU is the host platform's: its translation tables are in host
 *     RAM (platform/iommu_pt.h), so mapping and unmapping send no message,
 *     and a controller the client reconnects to walks the same tables.
 *     While the bus is dead, map and unmap still edit the tables and succeed
 *     (no IOMMU waits on an invalidation).
 *   - Peer death (the controller process exits or is killed): a monitor
 *     thread sees the socket hang up and marks the bus dead (platform/bus.h:
 *     all-ones reads, dropped writes, -ENODEV from bus_wait_vector, the dead
 *     handler).  Requests return -ENODEV.
 *   - bus_remote_reconnect, once a controller listens again, attaches to it
 *     in place: same struct bus, same RAM, new device memory at the same
 *     address, new eventfds behind the same fd numbers (re-register them in
 *     event loops), mappings still in force.  The controller behind it is freshly
 *     powered on: the driver brings it up again (RESET -> READY -> enable).
 *   - Or swap buses instead: an OS layer that replays its own mappings into a
 *     new bus (platform/osal_user.c's osal_user_set_bus) creates host RAM once
 *     with sim_host_ram_create, passes that fd to every bus_remote_connect
 *     (each bus maps it anew: same memory, another address), and detaches
 *     the dead bus after the swap.
 *
 * Requests are synchronous, one at a time per bus (callers on several
 * threads are serialized), each bounded by BUS_REMOTE_TIMEOUT_MS
 * (-ETIMEDOUT; a late reply is discarded).  Errors are negative errno
 * values; a request to a controller that refused it returns what the
 * controller's sim_ctrl_* function returned. */
#ifndef PLATFORM_BUS_CLIENT_H
#define PLATFORM_BUS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/bus.h"
#include "sim/sim.h"

#define BUS_REMOTE_TIMEOUT_MS 10000

/* Connects to the controller listening at path.  ram_fd: the host RAM to
 * hand over (a memfd from sim_host_ram_create, duplicated; the caller keeps
 * its own), or -1 to have the client create ram_size bytes.  0 or -errno;
 * err (errlen bytes) says why, with the controller's reason when it refused. */
int bus_remote_connect(const char *path, int ram_fd, uint64_t ram_size, struct bus **out, char *err, size_t errlen);
/* Attaches b to the controller now listening at path (NULL: the path it was
 * connected to) — after the old one died, or to leave a live one (which then
 * shuts down).  The driver must not use the bus meanwhile.  On failure the
 * bus is dead (call again later); on success it is alive and every mapping
 * is in force.  -EINVAL if b is not a remote bus. */
int bus_remote_reconnect(struct bus *b, const char *path, char *err, size_t errlen);
bool bus_is_remote(const struct bus *b);


/* Test control, as the sim_ctrl_* functions of sim/sim.h on the controller
 * (the trace replayer's directives and tests use them across processes). */
int64_t bus_remote_power_cut(struct bus *b, const struct sim_power_cut *how); /* lines lost */
int bus_remote_power_on(struct bus *b);
int bus_remote_check_media(struct bus *b, uint16_t target, uint16_t lun, struct sim_oracle_report *r);
/* Up to max entries from sequence number `first` (clamped to the oldest kept);
 * returns how many, fills *hdr (hdr->count = the number returned). */
int bus_remote_fault_log(struct bus *b, uint32_t first, struct hba_iommu_fault *out, size_t max,
                         struct hba_log_header *hdr);
int bus_remote_inject(struct bus *b, enum sim_inject_kind kind, uint32_t count);
int bus_remote_inject_clear(struct bus *b);
/* Fault rules (sim_ctrl_fault_add / _clear); the rule is checked on this side
 * first (ctrl_ctl_remote), so the controller's -EINVAL is a rule it refused
 * for its own reasons (no such drive for a capacity change, ...). */
int bus_remote_fault_add(struct bus *b, const char *rule);
int bus_remote_fault_clear(struct bus *b);
/* sim_ctrl_set_write_cache. */
int bus_remote_set_write_cache(struct bus *b, uint16_t target, uint16_t lun, bool on);
int bus_remote_set_battery(struct bus *b, uint16_t target, uint16_t lun, enum hba_battery battery);
int bus_remote_raise_ua(struct bus *b, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq);
int bus_remote_set_iommu_policy(struct bus *b, enum hba_iommu_policy policy);

#endif
