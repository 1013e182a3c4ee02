/* sim/fw/fw_ua.c — unit attention conditions of one I_T nexus of one drive.
 *
 * SAM-5 lets a logical unit hold several unit attentions per nexus and report
 * them one at a time.  Power-on and reset conditions (ASC 29h) come first and
 * supersede one another: a power on says everything a reset would, so only
 * the most severe 29h condition is kept.  Other conditions are reported in
 * the order they arose.  A duplicate of a pending condition is not queued.
 */
#include "sim/fw/fw_priv.h"

#include <string.h>

/* Lower is reported first. */
static int priority(uint16_t code)
{
    switch (code) {
    case SCSI_ASC_POWER_ON_OCCURRED:     return 0;
    case SCSI_ASC_POWER_ON_RESET:        return 1;
    case SCSI_ASC_DEVICE_INTERNAL_RESET: return 2;
    case SCSI_ASC_SCSI_BUS_RESET:        return 3;
    case SCSI_ASC_BUS_DEVICE_RESET:      return 4;
    case SCSI_ASC_I_T_NEXUS_LOSS:        return 5;
    default:                             return SCSI_ASC_OF(code) == SCSI_ASC_RESET_CLASS ? 6 : 10;
    }
}

static bool reset_class(uint16_t code)
{
    return SCSI_ASC_OF(code) == SCSI_ASC_RESET_CLASS;
}

static void remove_at(struct fw_ua_queue *q, unsigned i)
{
    memmove(&q->code[i], &q->code[i + 1], (size_t)(q->count - i - 1) * sizeof(q->code[0]));
    q->count--;
}

void fw_ua_add(struct fw_ua_queue *q, uint16_t asc_ascq)
{
    for (unsigned i = 0; i < q->count; i++) {
        if (q->code[i] == asc_ascq)
            return;
        if (reset_class(asc_ascq) && reset_class(q->code[i])) {
            if (priority(q->code[i]) <= priority(asc_ascq))
                return;          /* a more severe reset is already pending */
            q->code[i] = asc_ascq;
            return;
        }
    }
    if (q->count == FW_UA_DEPTH) {
        /* Full: the least important (newest among equals) makes room, if
         * the new condition matters more; otherwise the new one is dropped. */
        unsigned worst = 0;
        for (unsigned i = 1; i < q->count; i++)
            if (priority(q->code[i]) >= priority(q->code[worst]))
                worst = i;
        if (priority(asc_ascq) >= priority(q->code[worst]))
            return;
        remove_at(q, worst);
    }
    q->code[q->count++] = asc_ascq;
}

/* fw_ua_add for every nexus of a drive: a drive has a queue for each of
 * HBA_MAX_INITIATORS nexuses and a reset raises a condition on all of them,
 * most of them empty (it was a tenth of a replayed trace's firmware time);
 * an empty queue takes the condition without fw_ua_add's checks. */
void fw_ua_add_all(struct fw_ua_queue *qs, unsigned n, unsigned skip, uint16_t asc_ascq)
{
    for (unsigned i = 0; i < n; i++) {
        if (i == skip)
            continue;
        if (qs[i].count == 0) {
            qs[i].code[0] = asc_ascq;
            qs[i].count = 1;
        } else {
            fw_ua_add(&qs[i], asc_ascq);
        }
    }
}

void fw_ua_set_all(struct fw_ua_queue *qs, unsigned n, uint16_t asc_ascq)
{
    for (unsigned i = 0; i < n; i++) {
        qs[i].code[0] = asc_ascq;
        qs[i].count = 1;
    }
}

bool fw_ua_take(struct fw_ua_queue *q, uint16_t *asc_ascq)
{
    if (q->count == 0)
        return false;
    unsigned best = 0;
    for (unsigned i = 1; i < q->count; i++)
        if (priority(q->code[i]) < priority(q->code[best]))
            best = i;
    *asc_ascq = q->code[best];
    remove_at(q, best);
    return true;
}

bool fw_ua_pending(const struct fw_ua_queue *q)
{
    return q->count != 0;
}

void fw_ua_clear(struct fw_ua_queue *q)
{
    q->count = 0;
}
