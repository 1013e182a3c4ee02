/* cli/campaign_trace.c — the reproducing trace of a campaign's durable loss
 * (cli/campaign_trace.h).  The replay runs in one process with memory media,
 * so it needs no kill: the power-loss directive drops the cache as the SIGKILL
 * did, and the oracle judges the same promises.  A controller that broke a
 * promise in the cut breaks it again on the same commands (for the campaign
 * mutant, docs/faults.md: every time). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "cli/campaign_trace.h"

void campaign_log_add(struct campaign_log *l, const uint8_t cdb[10], uint32_t blocks, uint32_t seq)
{
    if (l->lost)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        struct campaign_cmd *c = realloc(l->cmd, cap * sizeof *c);
        if (!c) {
            l->lost = true;
            return;
        }
        l->cmd = c;
        l->cap = cap;
    }
    struct campaign_cmd *c = &l->cmd[l->n++];
    memcpy(c->cdb, cdb, sizeof c->cdb);
    c->blocks = blocks;
    c->seq = seq;
}

void campaign_log_free(struct campaign_log *l)
{
    free(l->cmd);
    *l = (struct campaign_log){ 0 };
}

int campaign_trace_write(const char *path, const struct campaign_log *l, uint64_t blocks, bool wce,
                         unsigned long long seed, uint64_t cut, uint64_t bad_lba, char *err, size_t errlen)
{
    if (l->lost) {
        errf(err, errlen, "out of memory keeping the cut's commands: no trace");
        return -ENOMEM;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        errf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    fprintf(f, "#!scsitrace 1\n"
               "# Written by scsisim campaign --seed %llu: cut %" PRIu64 " lost durable block %" PRIu64 ".\n"
               "# The %zu commands that completed GOOD in that cut, one at a time as the\n"
               "# writer sent them (each block's data a fill byte instead of its LBA and\n"
               "# sequence number), then the power cut the SIGKILL was: every block a GOOD\n"
               "# flush or FUA write promised must be on the media.\n"
               "@title \"campaign seed %llu cut %" PRIu64 ": durable loss at LBA %" PRIu64 "\"\n"
               "@requires power-cycle media-check\n"
               "@controller init-time=0\n"
               "@drive 0:0 capacity=%" PRIu64 "M write-cache=%s battery=absent\n\n"
               "- H > - ua CMD 00 00 00 00 00 00  # collects the power-on unit attention\n"
               "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01|GOOD\n",
            seed, cut, bad_lba, l->n, seed, cut, bad_lba, blocks * 512 / 1048576, wce ? "on" : "off");
    for (size_t i = 0; i < l->n; i++) {
        const struct campaign_cmd *c = &l->cmd[i];
        char tag = c->blocks ? 'w' : 's';
        fprintf(f, "- H > - %c%zu CMD", tag, i + 1);
        for (int b = 0; b < 10; b++)
            fprintf(f, " %02x", c->cdb[b]);
        if (c->blocks) {
            fprintf(f, " len=%" PRIu32 " dir=out\n", c->blocks * 512);
            fprintf(f, "- H > - %c%zu DOUT %02x*%" PRIu32 "\n", tag, i + 1, (unsigned)(c->seq % 255u + 1u),
                    c->blocks * 512);
        } else {
            fputc('\n', f);
        }
        fprintf(f, "- H < - %c%zu STATUS GOOD\n", tag, i + 1);
    }
    fputs("- H ! - - power-loss\n"
          "- H ! - - power-on\n"
          "- H ! - - check-media expect=durable\n", f);
    if (fclose(f) != 0) {
        int e = errno;
        errf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}
