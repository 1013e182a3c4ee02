/* core/discovery.h — finding the logical units behind the controller the way
 * a host's SCSI layer does, through drv_core tasks only:
 *
 *   for each target 0 .. max_targets-1
 *     REPORT LUNS at LUN 0      HBA_CS_INVALID_TARGET: nothing there, skip;
 *                               refused: fall back to every LUN number
 *     for each LUN reported
 *       TEST UNIT READY         UNIT ATTENTION: retry (bounded); NOT READY,
 *                               BECOMING READY: retry until ready_timeout_ms
 *       INQUIRY (standard)      peripheral qualifier 011b: no unit here
 *
 * Every drive reports a UNIT ATTENTION (power on, reset) to the first command
 * from each initiator that does not skip it: a host that gives up on it loses
 * the target (field bug F3). */
#ifndef CORE_DISCOVERY_H
#define CORE_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct drv_disc_options {
    uint16_t initiator;        /* I_T nexus id the probe uses */
    unsigned ua_retries;       /* UNIT ATTENTIONs tolerated per command, default 8 */
    uint32_t ready_timeout_ms; /* how long a LUN may stay BECOMING READY, default 10000 */
    uint32_t ready_poll_ms;    /* between TEST UNIT READYs while it does, default 10 */
    uint32_t max_targets;      /* targets to scan; 0: all the controller has */
};

struct drv_disc_lun {
    uint16_t target, lun;
    uint8_t  pdt;              /* peripheral device type (0 = direct access) */
    bool     ready;            /* TEST UNIT READY ended GOOD */
    uint8_t  sense_key, asc, ascq; /* why not, when not ready */
    char     vendor[9], product[17], revision[5]; /* trimmed ASCII */
};

struct drv_disc_result {
    struct drv_disc_lun *luns; /* in target, LUN order */
    size_t   count;
    unsigned targets_answering;/* targets that answered REPORT LUNS */
    unsigned targets_dropped;  /* targets given up on (errors) */
    unsigned unit_attentions;  /* UNIT ATTENTIONs seen and retried */
};

/* Probes every target; call from outside the dispatch queue.  0 (the result
 * may be empty), or -errno when the probe could not run at all.  Free the
 * result with drv_disc_result_free. */
int  drv_discover(struct drv_core *core, const struct drv_disc_options *opt, struct drv_disc_result *out);
void drv_disc_result_free(struct drv_disc_result *r);

#endif
