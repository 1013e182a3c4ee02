/* sim/fw/fw_verify.c — the commands that read the medium without returning
 * it: VERIFY (10/12/16) and WRITE AND VERIFY (10/12/16) (SBC-4 5.33-5.35,
 * 5.46-5.48; PRE-FETCH, which also reads, is in fw_prefetch.c, and uses
 * fw_check_range from here).  Every one of them reads the range
 * through the store (the write-back cache over the media), so a medium error
 * is reported exactly as a READ of the same blocks would report it. */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

#define CHECK_CHUNK (64u * 1024u)

/* Reads [lba, lba + n) in chunks and, when want is not NULL, compares it with
 * want: each block with the next block of want (per_block) or every block with
 * want's first block (BYTCHK 11b).  A difference is MISCOMPARE with the byte
 * offset of the first differing byte from the start of the range in
 * INFORMATION (SBC-4 5.33.3). */
struct scsi_sense_reason fw_check_range(struct fw_drive *d, uint64_t lba, uint64_t n,
                                        const uint8_t *want, bool per_block)
{
    uint32_t bs = d->block_size;
    if (n == 0)
        return fw_good();
    uint8_t *buf = malloc(CHECK_CHUNK);
    if (!buf)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    struct scsi_sense_reason r = fw_good();
    uint32_t per_chunk = CHECK_CHUNK / bs;
    for (uint64_t done = 0; done < n && fw_is_good(&r);) {
        uint32_t k = n - done < per_chunk ? (uint32_t)(n - done) : per_chunk;
        int rc = sim_store_read(d->store, lba + done, k, buf);
        if (rc < 0) {
            r = fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, lba + done);
            break;
        }
        for (uint32_t i = 0; want && i < k; i++) {
            const uint8_t *w = want + (per_block ? (done + i) * bs : 0);
            const uint8_t *h = buf + (size_t)i * bs;
            if (memcmp(w, h, bs) == 0)
                continue;
            uint32_t j = 0;
            while (w[j] == h[j])
                j++;
            r = scsi_reason(SCSI_SK_MISCOMPARE, SCSI_ASC_MISCOMPARE_DURING_VERIFY);
            r.info_valid = true;
            r.info = (done + i) * bs + j;
            break;
        }
        done += k;
    }
    free(buf);
    return r;
}

/* VERIFY: BYTCHK 00b checks that the medium can be read (a medium error is
 * reported as by READ); 01b compares every block with the data-out; 11b
 * compares every block with the one block of data-out; 10b is reserved
 * (SBC-4 table 102).  The table asked for the data-out BYTCHK implies. */
struct scsi_sense_reason fw_sbc_verify(struct fw_ctx *c)
{
    if (c->d->prot_type)
        return fw_pi_verify(c);
    uint8_t bytchk = (c->cdb[1] >> 1) & 3;
    if (bytchk == 2)
        return scsi_reason_invalid_cdb_field(1, 2);
    const uint8_t *want = bytchk ? c->t->data : NULL;
    struct scsi_sense_reason r = fw_check_range(c->d, c->lba, c->nblocks, want, bytchk == 1);
    c->t->xfer = (uint32_t)c->want;
    return r;
}

/* WRITE AND VERIFY: the blocks are written to the medium (never only to the
 * volatile cache: the verification is of the medium), then read back; with
 * BYTCHK 01b compared with the data-out.  BYTCHK 1xb is reserved. */
struct scsi_sense_reason fw_sbc_write_verify(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    if (d->prot_type && fw_pi_field(c))
        return fw_pi_write_verify(c);
    uint8_t bytchk = (c->cdb[1] >> 1) & 3;
    if (bytchk > 1)
        return scsi_reason_invalid_cdb_field(1, 2);
    if (c->nblocks == 0)
        return fw_good();
    int rc = sim_store_write(d->store, c->lba, (uint32_t)c->nblocks, c->t->data, true);
    if (rc < 0)
        return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
    c->t->xfer = (uint32_t)c->want;
    return fw_check_range(d, c->lba, c->nblocks, bytchk ? c->t->data : NULL, true);
}
