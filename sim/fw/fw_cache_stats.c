/* sim/fw/fw_cache_stats.c — each drive's write-back cache counters for the
 * live statistics (`scsisim ctl stats`, docs/faults.md "Statistics"), read
 * under the firmware lock so they are consistent with the commands around. */
#include "sim/fw/fw_priv.h"

#include <inttypes.h>

void fw_cache_stats_json(struct fw *fw, struct tbuf *b)
{
    fw_lock(fw);
    bool first = true;
    for (uint32_t t = 0; t < fw->max_targets; t++)
        for (uint32_t l = 0; l < fw->max_luns; l++) {
            struct fw_drive *d = fw_drive_at(fw, (uint16_t)t, (uint16_t)l);
            if (!d)
                continue;
            struct sim_store_stats st;
            sim_store_stats(d->store, &st);
            tbuf_printf(b,
                        "%s{\"drive\":\"%u:%u\",\"read_blocks\":%" PRIu64 ",\"hit_blocks\":%" PRIu64
                        ",\"dirty_lines\":%" PRIu64 ",\"dirty_bytes\":%" PRIu64 ",\"writebacks\":%" PRIu64
                        ",\"blocks_written_back\":%" PRIu64
                        ",\"line_records\":%" PRIu64 "}",
                        first ? "" : ",", t, l, st.blocks_read, st.read_hit_blocks, st.dirty_lines, st.dirty_bytes,
                        st.writebacks, st.blocks_written_back, st.line_records);
            first = false;
        }
    fw_unlock(fw);
}
