/* tests/support/dur_record.h — the checking side's own record of what must survive a
 * power cut, for tests where the controller (and its oracle) dies with its
 * process (SIGKILL).
 *
 * Every block written carries a self-describing pattern: a header (magic,
 * LBA, generation, checksum) and bytes derived from them, generations
 * counting up per LBA from 1 (0 = never written: all zeros).  The record
 * knows, per LBA, the generation made durable by the last completed flush,
 * and the newest one issued.  After a power cut the content read back must be
 * one of the generations in between: the flushed one, or a later write that
 * happened to reach the media.  Anything else (older data, zeros after a
 * flush, a torn or foreign block) is lost durable data. */
#ifndef TESTS_SUPPORT_DUR_RECORD_H
#define TESTS_SUPPORT_DUR_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUR_BLOCK 512u

struct dur_record {
    uint64_t blocks;
    uint32_t *durable;  /* generation a completed flush made durable */
    uint32_t *acked;    /* newest generation whose write completed */
    uint32_t *issued;   /* newest generation submitted */
    uint32_t *next;     /* next generation to hand out (never reused) */
};

void dur_init(struct dur_record *d, uint64_t blocks);
void dur_free(struct dur_record *d);
/* Fills buf with the next generation of [lba, lba + n) and records it issued. */
void dur_fill(struct dur_record *d, uint64_t lba, uint32_t n, uint8_t *buf);
/* The write of [lba, lba + n) completed with GOOD. */
void dur_acked(struct dur_record *d, uint64_t lba, uint32_t n);
/* A cache flush completed with GOOD while no write was outstanding: every
 * acknowledged write is durable now. */
void dur_flushed(struct dur_record *d);
/* What a check found besides pass / fail. */
struct dur_verdict {
    bool newer;       /* holds a write newer than the durable one (it reached media anyway) */
    bool acked_lost;  /* an acknowledged, never flushed write is gone (the cut took it) */
};
/* After a power cut: checks the block read back at lba; false with a reason
 * in why. */
bool dur_check(const struct dur_record *d, uint64_t lba, const uint8_t *block, struct dur_verdict *v, char *why,
               size_t whylen);
/* After a successful check (and a restart whose cache started empty): what
 * was read back is on the media, so it is the new durable baseline. */
void dur_adopt(struct dur_record *d, uint64_t lba, const uint8_t *block);

#endif
