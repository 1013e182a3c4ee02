/* cli/campaign_promises.h — what the driver core told the campaign's writer
 * was durable, kept on the host side and checked by reading the blocks back
 * through the same core after each cut.
 *
 * The controller's oracle judges what the controller promised.  A driver
 * core that acknowledges a SYNCHRONIZE CACHE it never sent (field bug F1), or
 * loses a FUA write in its recovery, breaks the promise one layer up, where
 * that oracle cannot see it.  So the campaign also keeps, per block, the
 * newest version the host was told is durable: a WRITE with FUA that
 * completed GOOD, any WRITE completed GOOD while the write cache was off, and
 * every WRITE completed GOOD before a SYNCHRONIZE CACHE covering the block
 * that completed GOOD — unless the device reported a power on or reset (a
 * UNIT ATTENTION, 29h) in between, which tells the host that what its cache
 * held is gone.  After the cut and the driver's recovery, every block
 * written during the cut is read back through the core: it must hold that
 * version or a newer one written to it.  A version is the writer's sequence
 * number, stored with the LBA in every 8 bytes of the block.
 *
 * With a good cache battery (campaign --battery good) every WRITE completed
 * GOOD is a promise too: the battery keeps what the cache acknowledged
 * through the kill.  This is the judge of the battery that does not depend on
 * the controller's own oracle, which cannot tell a version acknowledged and
 * then lost from one still in flight at the kill (store_oracle.h). */
#ifndef CLI_CAMPAIGN_PROMISES_H
#define CLI_CAMPAIGN_PROMISES_H

#include <stdbool.h>
#include <stdint.h>

struct stack;

struct campaign_promises {
    uint64_t blocks;
    uint32_t *durable;   /* per block: the newest version promised durable (0: none) */
    uint32_t *acked;     /* per block: the newest version a GOOD WRITE carried */
    uint8_t  *touched;   /* per block: written during this cut (a bit each) */
    uint8_t  *why;       /* per block: enum campaign_promise_kind of durable[] */
    bool      battery;   /* a good cache battery: every GOOD WRITE is kept */
};

enum campaign_promise_kind { PROMISE_NONE, PROMISE_FUA, PROMISE_CACHE_OFF, PROMISE_SYNC_RANGE, PROMISE_SYNC_ALL,
                             PROMISE_BATTERY };

/* The first broken promise of a check. */
struct campaign_broken {
    uint64_t bad;        /* blocks that broke a promise */
    uint64_t checked;    /* blocks read back */
    uint64_t lba;        /* the first one */
    uint32_t promised;   /* its promised version */
    uint32_t found;      /* the version read (0: not one of the writer's blocks) */
    enum campaign_promise_kind why; /* what made it a promise */
};

int  campaign_promises_init(struct campaign_promises *p, uint64_t blocks);
void campaign_promises_free(struct campaign_promises *p);
/* A WRITE of [lba, lba+len) carrying version seq completed GOOD; durable:
 * PROMISE_FUA, PROMISE_CACHE_OFF, or PROMISE_NONE. */
void campaign_promises_write(struct campaign_promises *p, uint64_t lba, uint32_t len, uint32_t seq,
                             enum campaign_promise_kind durable);
/* The device reported a reset or a power on (UNIT ATTENTION 29h), or the
 * controller was killed: what was acknowledged but not yet durable may be
 * gone with the cache, and a later SYNCHRONIZE CACHE no longer covers it. */
void campaign_promises_forfeit(struct campaign_promises *p);
/* A SYNCHRONIZE CACHE of [lba, lba+n) completed GOOD (n 0: to the end). */
void campaign_promises_sync(struct campaign_promises *p, uint64_t lba, uint64_t n);
/* Reads every block touched since the last check back through st (LUN
 * 0:0, 512-byte blocks) and compares; clears the touched marks.  0, with
 * out->bad > 0 for a broken promise; -errno when a READ could not be done. */
/* "FUA", "cache off", "range flush", "full flush", "battery-backed cache". */
const char *campaign_promise_name(enum campaign_promise_kind k);
int  campaign_promises_check(struct campaign_promises *p, struct stack *st, struct campaign_broken *out);

#endif
