/* host/scsi_lunmap.h — a SCSI target device: a LUN map in front of backends.
 *
 * A front-end target (one iSCSI target name) exposes LUNs 0..N that map to
 * (backend, backend LUN) pairs.  The map is itself a scsi_backend: it answers
 * what SAM gives the target device rather than a logical unit — REPORT LUNS
 * (the mapped LUNs, at any LUN), and every command to an unmapped LUN (INQUIRY
 * with peripheral qualifier 011b, REQUEST SENSE reporting LOGICAL UNIT NOT
 * SUPPORTED, anything else CHECK CONDITION 05h/25h/00h) — and routes the rest
 * with the LUN rewritten to the backend's.  Task management and nexus loss are
 * routed the same way (target resets and nexus loss reach every backend once).
 *
 * A map may instead be a window onto one whole SCSI target device
 * (scsi_lunmap_set_device): then the map answers NOTHING itself — every
 * command of every LUN (REPORT LUNS, LUNs the map never heard of, INQUIRY of a
 * missing LUN), every TMF and every nexus loss goes to that backend with the
 * LUN unchanged, and the device answers as SAM has it answer.  That is how the
 * driver-stack backend is exported: the controller's firmware knows its LUNs.
 *
 * Build the map before use; it is read-only afterwards, so routing needs no lock.
 */
#ifndef HOST_SCSI_LUNMAP_H
#define HOST_SCSI_LUNMAP_H

#include <stddef.h>
#include <stdint.h>

#include "host/scsi_backend.h"

/* LUN numbers with single-level SAM addressing (peripheral or flat space). */
#define SCSI_LUN_MAX     16383u
#define SCSI_LUN_INVALID UINT64_MAX

/* The 8-byte SAM LUN field -> LUN number; SCSI_LUN_INVALID for multi-level or
 * extended addressing (which no LUN map here can hold). */
uint64_t scsi_lun_from_sam(const uint8_t sam[8]);
/* LUN number (<= SCSI_LUN_MAX) -> the 8-byte SAM field: peripheral device
 * addressing below 256, flat space addressing above. */
void scsi_lun_to_sam(uint64_t lun, uint8_t sam[8]);

struct scsi_lunmap;

int  scsi_lunmap_create(struct scsi_lunmap **out);
void scsi_lunmap_destroy(struct scsi_lunmap *m);
/* Maps lun (<= SCSI_LUN_MAX) to be's be_lun: 0, -EINVAL, -EEXIST, -ENOMEM. */
int  scsi_lunmap_add(struct scsi_lunmap *m, uint64_t lun, struct scsi_backend *be, uint64_t be_lun);
/* Makes every LUN route to be unchanged (see above).  -EINVAL when be is
 * NULL or the map itself, -EEXIST when LUNs were added or a device set. */
int  scsi_lunmap_set_device(struct scsi_lunmap *m, struct scsi_backend *be);
/* Whether lun is routed somewhere: mapped, or any addressable LUN (<=
 * SCSI_LUN_MAX) of a device map. */
bool scsi_lunmap_has(const struct scsi_lunmap *m, uint64_t lun);
size_t scsi_lunmap_count(const struct scsi_lunmap *m);
struct scsi_backend *scsi_lunmap_backend(struct scsi_lunmap *m);

#endif
