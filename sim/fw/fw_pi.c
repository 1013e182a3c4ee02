/* sim/fw/fw_pi.c — protection information (SBC-4 4.22): the 8-byte tuple
 * each block of a drive formatted with it carries (the `protection` drive
 * key), and the RDPROTECT/WRPROTECT/VRPROTECT fields of READ, WRITE, VERIFY
 * and WRITE AND VERIFY (10/12/16).
 *
 * The tuple: LOGICAL BLOCK GUARD (T10-DIF CRC16 of the block, polynomial
 * 8BB7h, computed by ISA-L), LOGICAL BLOCK APPLICATION TAG, LOGICAL BLOCK
 * REFERENCE TAG, big-endian.  The store keeps it beside the block
 * (sim/store/store_pi.h); a write without one gets a generated tuple (guard,
 * application tag 0, reference tag the low 32 bits of the LBA).
 *
 * With a protect field of 001b..101b the tuple travels after each block in
 * the data (block size + 8 bytes a block); 000b moves data only.  Which
 * checks a field value asks for is one table (SBC-4 tables for RDPROTECT,
 * WRPROTECT and VRPROTECT): the guard, on type 1 the reference tag against
 * the LBA, and the application tag.  A CDB of 16 bytes or fewer carries no
 * expected application tag: on types 1 and 3 it comes from the Application
 * Tag mode page (fw_apptag.c) while the control page's ATMPE is 1, for the
 * blocks one of its descriptors covers (elsewhere it is not checked), so
 * APP_CHK is 1 in VPD 86h.  Type 3's reference tag belongs to the application
 * and is not checked.  A
 * block whose application tag is FFFFh (type 1, 2) or whose application and
 * reference tags are all ones (type 3) is not checked at all.
 *
 * Type 2 needs its expected initial reference tag from the 32-byte CDBs,
 * which do not fit the controller's 16-byte CDB field (hw/hba.h): as SBC-4
 * asks, a 10/12/16-byte READ, WRITE or VERIFY with a nonzero protect field is
 * refused with INVALID COMMAND OPERATION CODE, and with 000b only the guard is
 * checked.
 *
 * A failed check is ABORTED COMMAND with 10h/01h (guard), 10h/02h
 * (application tag) or 10h/03h (reference tag), checked in that order, and the LBA of the block in INFORMATION.  A write checks
 * every block before it stores any; a read returns the blocks before the bad
 * one.
 */
#include "sim/fw/fw_priv.h"

#include <isa-l/crc.h>
#include <stdlib.h>
#include <string.h>

#define PI_BYTES 8u
#define PI_CHUNK_BLOCKS 128u   /* blocks read and checked at a time */

/* What a protect field value asks for (the columns of SBC-4's tables):
 * whether the tuple travels in the data, whether the guard, (type 1) the
 * reference tag and (ATMPE) the application tag are checked.  The
 * application tag follows the reference tag's column, except at 000b, where
 * SBC-4 leaves it to the device server: this one checks it only when asked
 * by a nonzero field.  Values 110b and 111b are reserved. */
static const struct pi_rule {
    bool transfer, guard, ref, app;
} rules[6] = {
    [0] = { false, true,  true,  false },  /* 000b: the device server checks what it holds */
    [1] = { true,  true,  true,  true  },
    [2] = { true,  false, true,  true  },
    [3] = { true,  false, false, false },
    [4] = { true,  true,  false, false },
    [5] = { true,  true,  true,  true  },
};

uint8_t fw_pi_field(const struct fw_ctx *c)
{
    return (c->cmd->flags & FW_F_PROTECT) ? (uint8_t)(c->cdb[1] >> 5) : 0;
}

uint32_t fw_pi_block_bytes(const struct fw_ctx *c)
{
    uint8_t f = fw_pi_field(c);
    bool tuple = c->d->prot_type && f < 6 && rules[f].transfer;
    return c->d->block_size + (tuple ? PI_BYTES : 0);
}

struct scsi_sense_reason fw_pi_check_cdb(const struct fw_ctx *c)
{
    uint8_t f = c->d ? fw_pi_field(c) : 0;
    if (!f || !c->d->prot_type)
        return fw_good();     /* without PI the usage check refused the field already */
    if (f > 5)
        return scsi_reason_invalid_cdb_field(1, 7);
    if (c->d->prot_type == 2) {
        struct scsi_sense_reason r = scsi_reason_invalid_cdb_field(0, -1);
        r.asc_ascq = SCSI_ASC_INVALID_COMMAND_OPCODE;
        return r;
    }
    return fw_good();
}

static void put_tuple(uint8_t t[PI_BYTES], uint16_t guard, uint16_t app, uint32_t ref)
{
    scsi_put_be16(t, guard);
    scsi_put_be16(t + 2, app);
    scsi_put_be32(t + 4, ref);
}

static uint16_t guard_of(const void *block, uint32_t bs)
{
    return crc16_t10dif(0, block, (uint64_t)bs);
}

void fw_pi_generate(void *arg, uint64_t lba, const void *block, uint32_t block_size, uint8_t tuple[8])
{
    (void)arg;
    put_tuple(tuple, guard_of(block, block_size), 0, (uint32_t)lba);
}

/* The check of one block against its tuple, as rule asks on this type. */
static struct scsi_sense_reason check_block(const struct fw_drive *d, const struct pi_rule *rule, uint64_t lba,
                                            const uint8_t *block, const uint8_t t[PI_BYTES])
{
    uint16_t app = scsi_get_be16(t + 2);
    uint32_t ref = scsi_get_be32(t + 4);
    bool escape = d->prot_type == 3 ? (app == 0xffff && ref == 0xffffffffu) : app == 0xffff;
    uint16_t asc = 0, want;
    if (escape)
        return fw_good();
    if (rule->guard && scsi_get_be16(t) != guard_of(block, d->block_size))
        asc = FW_ASC_GUARD_CHECK_FAILED;
    else if (rule->app && d->prot_type != 2 && fw_apptag_expected(d, lba, &want) && app != want)
        asc = FW_ASC_APP_TAG_CHECK_FAILED;
    else if (rule->ref && d->prot_type == 1 && ref != (uint32_t)lba)
        asc = FW_ASC_REF_TAG_CHECK_FAILED;
    if (!asc)
        return fw_good();
    struct scsi_sense_reason r = scsi_reason(SCSI_SK_ABORTED_COMMAND, asc);
    r.info_valid = true;
    r.info = lba;
    return r;
}

/* Reads and checks up to PI_CHUNK_BLOCKS blocks from lba into data and pi. */
static struct scsi_sense_reason read_checked(struct fw_drive *d, const struct pi_rule *rule, uint64_t lba,
                                             uint32_t n, uint8_t *data, uint8_t *pi, uint32_t *good)
{
    *good = 0;
    int rc = sim_store_read(d->store, lba, n, data);
    if (rc == 0)
        rc = sim_store_read_pi(d->store, lba, n, pi);
    if (rc < 0)
        return fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, lba);
    for (uint32_t i = 0; i < n; i++) {
        struct scsi_sense_reason r =
            check_block(d, rule, lba + i, data + (size_t)i * d->block_size, pi + (size_t)i * PI_BYTES);
        if (!fw_is_good(&r))
            return r;
        (*good)++;
    }
    return fw_good();
}

struct scsi_sense_reason fw_pi_read(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    struct fw_task *t = c->t;
    const struct pi_rule *rule = &rules[fw_pi_field(c)];
    uint32_t bs = d->block_size, per = fw_pi_block_bytes(c);
    uint32_t room = t->data ? t->data_len : 0;
    t->xfer = 0;
    if (c->nblocks == 0)
        return fw_good();
    if (c->fua) {
        int rc = sim_store_flush(d->store, c->lba, c->nblocks);
        if (rc < 0)
            return fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
    }
    uint8_t *data = malloc((size_t)PI_CHUNK_BLOCKS * bs);
    uint8_t pi[PI_CHUNK_BLOCKS * PI_BYTES];
    if (!data)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    struct scsi_sense_reason r = fw_good();
    uint64_t out = 0;   /* bytes of data-in produced */
    for (uint64_t done = 0; done < c->nblocks && out < room;) {
        uint32_t n = c->nblocks - done < PI_CHUNK_BLOCKS ? (uint32_t)(c->nblocks - done) : PI_CHUNK_BLOCKS;
        uint32_t good;
        r = read_checked(d, rule, c->lba + done, n, data, pi, &good);
        /* The blocks that passed go out (a shorter buffer gets what fits). */
        for (uint32_t i = 0; i < good && out < room; i++) {
            uint8_t blk[4096 + PI_BYTES];
            memcpy(blk, data + (size_t)i * bs, bs);
            memcpy(blk + bs, pi + (size_t)i * PI_BYTES, PI_BYTES);
            uint64_t k = room - out < per ? room - out : per;
            memcpy(t->data + out, blk, k);
            out += k;
        }
        if (!fw_is_good(&r))
            break;
        done += n;
    }
    free(data);
    t->xfer = (uint32_t)out;
    return r;
}

/* Splits data-out of n blocks with their tuples (block, tuple, block, …)
 * into data and pi; checks every block as rule asks. */
static struct scsi_sense_reason split_checked(const struct fw_drive *d, const struct pi_rule *rule, uint64_t lba,
                                              uint64_t n, const uint8_t *in, uint8_t *data, uint8_t *pi)
{
    uint32_t bs = d->block_size;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *src = in + i * (bs + PI_BYTES);
        memcpy(data + i * bs, src, bs);
        memcpy(pi + i * PI_BYTES, src + bs, PI_BYTES);
        struct scsi_sense_reason r = check_block(d, rule, lba + i, src, src + bs);
        if (!fw_is_good(&r))
            return r;
    }
    return fw_good();
}

/* WRITE and WRITE AND VERIFY with a protect field: every tuple checked, then
 * the blocks stored with theirs (durable: written through), then (verify)
 * read back and, with BYTCHK 01b, compared with the data-out's user data. */
static struct scsi_sense_reason write_pi(struct fw_ctx *c, bool durable, bool verify, bool compare)
{
    struct fw_drive *d = c->d;
    const struct pi_rule *rule = &rules[fw_pi_field(c)];
    if (c->nblocks == 0)
        return fw_good();
    uint8_t *data = malloc(c->nblocks * d->block_size);
    uint8_t *pi = malloc(c->nblocks * PI_BYTES);
    struct scsi_sense_reason r = fw_good();
    if (!data || !pi) {
        r = scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
        goto out;
    }
    r = split_checked(d, rule, c->lba, c->nblocks, c->t->data, data, pi);
    if (!fw_is_good(&r))
        goto out;     /* nothing stored: every block is checked first */
    int rc = sim_store_write_pi(d->store, c->lba, (uint32_t)c->nblocks, data, pi, durable);
    if (rc < 0) {
        r = fw_store_error(rc, SCSI_ASC_WRITE_ERROR, c->lba);
        goto out;
    }
    c->t->xfer = (uint32_t)c->want;
    if (verify)
        r = fw_check_range(d, c->lba, c->nblocks, compare ? data : NULL, true);
out:
    free(data);
    free(pi);
    return r;
}

struct scsi_sense_reason fw_pi_write(struct fw_ctx *c)
{
    return write_pi(c, c->fua || !c->d->cur.wce, false, false);
}

struct scsi_sense_reason fw_pi_write_verify(struct fw_ctx *c)
{
    uint8_t bytchk = (c->cdb[1] >> 1) & 3;
    if (bytchk > 1)
        return scsi_reason_invalid_cdb_field(1, 2);
    return write_pi(c, true, true, bytchk == 1);
}

/* VERIFY on a drive with protection information: the blocks are read and
 * their tuples checked as VRPROTECT asks (000b: as a READ with 000b would);
 * with BYTCHK the data-out's user data is then compared as without PI.  With
 * VRPROTECT 001b..101b the data-out carries a tuple per block, which is
 * checked against its own data as a WRITE's would be before the comparison. */
struct scsi_sense_reason fw_pi_verify(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    const struct pi_rule *rule = &rules[fw_pi_field(c)];
    uint8_t bytchk = (c->cdb[1] >> 1) & 3;
    if (bytchk == 2)
        return scsi_reason_invalid_cdb_field(1, 2);
    uint32_t bs = d->block_size;
    uint8_t *data = malloc((size_t)PI_CHUNK_BLOCKS * bs);
    uint8_t pi[PI_CHUNK_BLOCKS * PI_BYTES];
    if (!data)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    struct scsi_sense_reason r = fw_good();
    for (uint64_t done = 0; done < c->nblocks && fw_is_good(&r);) {
        uint32_t n = c->nblocks - done < PI_CHUNK_BLOCKS ? (uint32_t)(c->nblocks - done) : PI_CHUNK_BLOCKS;
        uint32_t good;
        r = read_checked(d, rule, c->lba + done, n, data, pi, &good);
        done += n;
    }
    free(data);
    c->t->xfer = (uint32_t)c->want;
    if (!fw_is_good(&r) || bytchk == 0)
        return r;
    const uint8_t *want = c->t->data;
    uint8_t *plain = NULL;
    if (rule->transfer && fw_pi_field(c)) {
        /* The data-out's tuples are the initiator's: checked against its data. */
        uint64_t n = bytchk == 3 ? 1 : c->nblocks;
        plain = malloc(n * bs);
        uint8_t *tup = malloc(n * PI_BYTES);
        if (!plain || !tup) {
            free(plain);
            free(tup);
            return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
        }
        r = split_checked(d, rule, c->lba, n, c->t->data, plain, tup);
        free(tup);
        want = plain;
    }
    if (fw_is_good(&r))
        r = fw_check_range(d, c->lba, c->nblocks, want, bytchk == 1);
    free(plain);
    return r;
}
