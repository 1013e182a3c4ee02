/* sim/fw/fw_prefetch.c — PRE-FETCH (10)/(16) (SBC-4 5.11, 5.12): the blocks
 * are read into the drive's cache, and the status says whether they all fit:
 * CONDITION MET when the range is no larger than the cache (the drive's
 * cache-size), GOOD when it is not (then only the first cache-size worth is
 * read, as SBC-4 allows).  A PREFETCH LENGTH of 0 means "to the last block".
 *
 * IMMED=1 answers as soon as the CDB is checked, with the status the
 * prefetch will earn (CONDITION MET if it fits); nothing is read, so a medium
 * error is not reported.  IMMED=0 reads the range through the store first,
 * so a medium error is reported exactly as a READ of it would be.
 *
 * The store's write-back cache holds dirty lines only (sim/store/store.h):
 * the blocks read are not kept as clean lines.  No command can tell — every
 * read returns the same data from the cache or the media, and the simulator
 * models no cache-hit latency — so the status is what a PRE-FETCH of this
 * drive can observably do: say whether its cache is large enough. */
#include "sim/fw/fw_priv.h"

struct scsi_sense_reason fw_sbc_prefetch(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    bool immed = c->cdb[1] & 0x02;
    uint64_t n = c->nblocks ? c->nblocks : d->blocks - c->lba;   /* range checked: lba < blocks */
    uint64_t room = d->cache_bytes / d->block_size;
    bool fits = n <= room;
    if (!immed) {
        struct scsi_sense_reason r = fw_check_range(d, c->lba, fits ? n : room, NULL, false);
        if (!fw_is_good(&r))
            return r;
    }
    c->status = fits ? SCSI_STATUS_CONDITION_MET : SCSI_STATUS_GOOD;
    return fw_good();
}
