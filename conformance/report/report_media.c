/* conformance/report/report_media.c — the lost blocks of a check-media,
 * named: the runs the oracle listed (sim/store/store.h struct
 * sim_oracle_range), as "T:L LBA first[-last]", so a failure says which
 * blocks to look at rather than only how many. */
#include "conformance/report/judge.h"

#include <inttypes.h>

#include "base/tbuf.h"

void trace_media_ranges_text(struct tbuf *b, const struct sim_oracle_report *r, bool durable)
{
    unsigned shown = 0;
    for (uint32_t i = 0; i < r->n_ranges && i < SIM_ORACLE_RANGES; i++) {
        const struct sim_oracle_range *g = &r->range[i];
        if (g->durable != durable)
            continue;
        tbuf_printf(b, "%s%u:%u LBA %" PRIu64, shown++ ? ", " : "", g->target, g->lun, g->lba);
        if (g->count > 1)
            tbuf_printf(b, "-%" PRIu64, g->lba + g->count - 1);
    }
    if (r->ranges_more)
        tbuf_printf(b, "%s%" PRIu32 " more run%s not listed", shown ? ", and " : "", r->ranges_more,
                    r->ranges_more == 1 ? "" : "s");
}
