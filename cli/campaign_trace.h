/* cli/campaign_trace.h — what `scsisim campaign` keeps of one cut so that a
 * durable loss comes with a trace reproducing it: the commands that completed
 * GOOD in that cut, in order (the writer sends one at a time), written as a
 * trace that replays them, cuts the power and checks the media. */
#ifndef CLI_CAMPAIGN_TRACE_H
#define CLI_CAMPAIGN_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct campaign_cmd {
    uint8_t  cdb[10];
    uint32_t blocks;          /* data-out blocks of a WRITE (10), 0 for SYNCHRONIZE CACHE */
    uint32_t seq;             /* the WRITE's sequence number: its data's fill byte is derived from it */
};

struct campaign_log {
    struct campaign_cmd *cmd; /* malloc */
    size_t n, cap;
    bool lost;                /* out of memory once: no trace for this cut rather than a wrong one */
};

void campaign_log_add(struct campaign_log *l, const uint8_t cdb[10], uint32_t blocks, uint32_t seq);
void campaign_log_free(struct campaign_log *l);

/* Writes the trace to path: @drive 0:0 of `blocks` 512-byte blocks with the
 * write-back cache as wce says and no battery, the logged commands each
 * expecting GOOD, power-loss, power-on, check-media expect=durable.  0, or
 * -errno with the sentence in err. */
int campaign_trace_write(const char *path, const struct campaign_log *l, uint64_t blocks, bool wce,
                         unsigned long long seed, uint64_t cut, uint64_t bad_lba, char *err, size_t errlen);

#endif
