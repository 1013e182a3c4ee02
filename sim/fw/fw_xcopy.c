/* sim/fw/fw_xcopy.c — the copy manager: EXTENDED COPY (LID1) (SPC-4 6.4)
 * and RECEIVE COPY RESULTS (SPC-4 6.18) COPY STATUS and OPERATING
 * PARAMETERS.
 *
 * What it takes:
 *  - copy source and destination (CSCD) descriptors of type E4h
 *    (identification descriptor) naming a logical unit of this controller by
 *    the NAA designator its VPD page 83h reports (fw_vpd.c), with DISK BLOCK
 *    LENGTH equal to that drive's block size; LU ID TYPE, NUL, the relative
 *    initiator port and PAD are ignored (SPC-4);
 *  - block-to-block segment descriptors (02h): NUMBER OF BLOCKS from SOURCE
 *    LBA of one CSCD to DESTINATION LBA of another (or the same), so a copy
 *    may cross logical units;
 *  - no inline data, no held data (LIST ID USAGE 00b is taken as 10b).
 *
 * Every descriptor is checked before a block moves, so a malformed or
 * impossible list changes nothing: parameter-list errors are ILLEGAL
 * REQUEST with a field pointer into the parameter list (or the ASCs SPC-4
 * names: 1Ah/00h, 26h/06h-09h); a CSCD that names no drive here (0Dh/02h), a
 * CSCD index past the list (08h/04h), a block length that does not match
 * (0Dh/03h), a range past a drive's end (00h/00h), a copy target not ready
 * (its 04h/xx) or a write-protected destination (27h/xx) is COPY ABORTED with
 * the field pointer at the descriptor field in question.  A media error while copying
 * is COPY ABORTED with the store's ASC; the segments before it are copied.
 *
 * Writes to the destination go through its cache as a WRITE would (durable
 * when its WCE is 0).  The whole copy runs under the firmware lock, so it is
 * atomic with respect to every other command.  Reservations are checked
 * only for the logical unit that received the command.
 *
 * The copy status of a command with LIST ID USAGE 00b or 10b is kept per
 * I_T nexus (the latest one) until RECEIVE COPY RESULTS returns it once, or
 * the nexus is lost. */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

#define HDR_LEN        16u
#define CSCD_LEN       32u
#define B2B_LEN        28u     /* 02h: 4-byte header + DESCRIPTOR LENGTH 18h */
#define MAX_CSCDS      8u
#define MAX_SEGMENTS   16u
#define MAX_LIST_LEN   1024u   /* MAXIMUM DESCRIPTOR LIST LENGTH */
#define MAX_SEG_BYTES  (64u * 1024u * 1024u)
#define CHUNK_BYTES    (1024u * 1024u)

#define CSCD_IDENT     0xe4
#define SEG_B2B        0x02

#define ASC_UNREACHABLE_COPY_TARGET       SCSI_ASCQ(0x08, 0x04)
#define ASC_COPY_TARGET_NOT_REACHABLE     SCSI_ASCQ(0x0d, 0x02)
#define ASC_INCORRECT_COPY_TARGET_TYPE    SCSI_ASCQ(0x0d, 0x03)
#define ASC_TOO_MANY_TARGET_DESCRIPTORS   SCSI_ASCQ(0x26, 0x06)
#define ASC_UNSUPPORTED_TARGET_DESCRIPTOR SCSI_ASCQ(0x26, 0x07)
#define ASC_TOO_MANY_SEGMENT_DESCRIPTORS  SCSI_ASCQ(0x26, 0x08)
#define ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR SCSI_ASCQ(0x26, 0x09)

/* A reason pointing at byte (bit) of the parameter list. */
static struct scsi_sense_reason at(uint8_t key, uint16_t asc, uint32_t byte, int bit)
{
    struct scsi_sense_reason r = scsi_reason_invalid_param_field((uint16_t)byte, bit);
    r.key = key;
    r.asc_ascq = asc;
    return r;
}

static struct scsi_sense_reason list_length_error(void)
{
    return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
}

/* The drive whose VPD 83h NAA designator the E4h descriptor at p names. */
static struct fw_drive *find_drive(const struct fw *fw, const uint8_t *p)
{
    /* p[4..7]: CODE SET 1 (binary), ASSOCIATION 0 (the LU), TYPE 3 (NAA), length 16 */
    if ((p[4] & 0x0f) != 1 || (p[5] & 0x3f) != 3 || p[7] != 16)
        return NULL;
    for (size_t i = 0; i < (size_t)fw->max_targets * fw->max_luns; i++) {
        struct fw_drive *d = fw->slot[i];
        if (d && !memcmp(d->naa, p + 8, 16))
            return d;
    }
    return NULL;
}

struct segment {
    struct fw_drive *src, *dst;
    uint64_t src_lba, dst_lba;
    uint32_t blocks;
};

static struct scsi_sense_reason parse_cscds(const struct fw_ctx *c, const uint8_t *p, uint32_t len,
                                            struct fw_drive **drv, unsigned *count)
{
    unsigned n = 0;
    for (uint32_t off = 0; off < len; off += CSCD_LEN) {
        uint32_t at_byte = HDR_LEN + off;
        const uint8_t *e = p + off;
        if (e[0] != CSCD_IDENT)
            return at(SCSI_SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_TARGET_DESCRIPTOR, at_byte, 7);
        if (n == MAX_CSCDS)
            return at(SCSI_SK_ILLEGAL_REQUEST, ASC_TOO_MANY_TARGET_DESCRIPTORS, at_byte, 7);
        if (len - off < CSCD_LEN)
            return list_length_error();
        if (e[1] & 0x1f)      /* PERIPHERAL DEVICE TYPE: block devices only */
            return scsi_reason_invalid_param_field((uint16_t)(at_byte + 1), 4);
        if (e[7] > 20)        /* the designator must fit bytes 8..27 */
            return scsi_reason_invalid_param_field((uint16_t)(at_byte + 7), -1);
        struct fw_drive *d = find_drive(c->fw, e);
        if (!d)
            return at(SCSI_SK_COPY_ABORTED, ASC_COPY_TARGET_NOT_REACHABLE, at_byte + 4, -1);
        if (scsi_get_be24(e + 29) != d->block_size)
            return at(SCSI_SK_COPY_ABORTED, ASC_INCORRECT_COPY_TARGET_TYPE, at_byte + 29, -1);
        drv[n++] = d;
    }
    *count = n;
    return fw_good();
}

static bool in_range(const struct fw_drive *d, uint64_t lba, uint64_t n)
{
    return n <= d->blocks && lba <= d->blocks - n;
}

static struct scsi_sense_reason parse_segments(const uint8_t *p, uint32_t base, uint32_t len,
                                               struct fw_drive *const *drv, unsigned ncscd,
                                               struct segment *seg, unsigned *count)
{
    unsigned n = 0;
    for (uint32_t off = 0; off < len;) {
        uint32_t at_byte = base + off;
        const uint8_t *e = p + off;
        if (len - off < 4)
            return list_length_error();
        if (e[0] != SEG_B2B)
            return at(SCSI_SK_ILLEGAL_REQUEST, ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR, at_byte, 7);
        if (n == MAX_SEGMENTS)
            return at(SCSI_SK_ILLEGAL_REQUEST, ASC_TOO_MANY_SEGMENT_DESCRIPTORS, at_byte, 7);
        if (scsi_get_be16(e + 2) != B2B_LEN - 4)
            return scsi_reason_invalid_param_field((uint16_t)(at_byte + 2), -1);
        if (len - off < B2B_LEN)
            return list_length_error();
        if (e[1] & ~0x03u)
            return scsi_reason_invalid_param_field((uint16_t)(at_byte + 1), fw_top_bit(e[1] & ~0x03u));
        if (e[8] | e[9])
            return scsi_reason_invalid_param_field((uint16_t)(at_byte + (e[8] ? 8 : 9)), -1);
        uint16_t si = scsi_get_be16(e + 4), di = scsi_get_be16(e + 6);
        if (si >= ncscd)
            return at(SCSI_SK_COPY_ABORTED, ASC_UNREACHABLE_COPY_TARGET, at_byte + 4, -1);
        if (di >= ncscd)
            return at(SCSI_SK_COPY_ABORTED, ASC_UNREACHABLE_COPY_TARGET, at_byte + 6, -1);
        struct segment *s = &seg[n++];
        s->src = drv[si];
        s->dst = drv[di];
        s->blocks = scsi_get_be16(e + 10);    /* DC: the same count, as block sizes match */
        s->src_lba = scsi_get_be64(e + 12);
        s->dst_lba = scsi_get_be64(e + 20);
        if ((uint64_t)s->blocks * s->src->block_size > MAX_SEG_BYTES)
            return scsi_reason_invalid_param_field((uint16_t)(at_byte + 10), -1);
        /* Past a drive's end: what a copy manager relaying its copy target's
         * LOGICAL BLOCK ADDRESS OUT OF RANGE says, COPY ABORTED without an
         * ASC of its own; the field pointer names the LBA. */
        if (!in_range(s->src, s->src_lba, s->blocks))
            return at(SCSI_SK_COPY_ABORTED, SCSI_ASC_NO_ADDITIONAL_SENSE, at_byte + 12, -1);
        if (!in_range(s->dst, s->dst_lba, s->blocks))
            return at(SCSI_SK_COPY_ABORTED, SCSI_ASC_NO_ADDITIONAL_SENSE, at_byte + 20, -1);
        if (s->dst->write_protect || s->dst->cur.swp)
            return at(SCSI_SK_COPY_ABORTED, s->dst->write_protect ? SCSI_ASC_WRITE_PROTECTED
                                                                   : SCSI_ASC_SOFTWARE_WRITE_PROTECTED,
                      at_byte + 6, -1);
        struct scsi_sense_reason r = fw_drive_readiness(s->dst);
        if (fw_is_good(&r))
            r = fw_drive_readiness(s->src);
        if (!fw_is_good(&r)) {
            r.key = SCSI_SK_COPY_ABORTED;      /* a copy target not ready: its ASC */
            return r;
        }
        off += B2B_LEN;
    }
    *count = n;
    return fw_good();
}

/* Copies one segment in chunks; overlapping ranges of one drive are copied
 * from the end when the destination lies above the source. */
static struct scsi_sense_reason copy_segment(const struct segment *s, uint8_t *buf)
{
    uint32_t bs = s->src->block_size, per = CHUNK_BYTES / bs;
    bool backward = s->src == s->dst && s->dst_lba > s->src_lba;
    bool durable = !s->dst->cur.wce;
    for (uint32_t done = 0; done < s->blocks;) {
        uint32_t k = s->blocks - done < per ? s->blocks - done : per;
        uint64_t off = backward ? s->blocks - done - k : done;
        int rc = sim_store_read(s->src->store, s->src_lba + off, k, buf);
        if (rc < 0) {
            struct scsi_sense_reason r = fw_store_error(rc, SCSI_ASC_UNRECOVERED_READ_ERROR, s->src_lba + off);
            r.key = SCSI_SK_COPY_ABORTED;
            return r;
        }
        rc = sim_store_write(s->dst->store, s->dst_lba + off, k, buf, durable);
        if (rc < 0) {
            struct scsi_sense_reason r = fw_store_error(rc, SCSI_ASC_WRITE_ERROR, s->dst_lba + off);
            r.key = SCSI_SK_COPY_ABORTED;
            return r;
        }
        done += k;
    }
    return fw_good();
}

static void keep_status(struct fw_ctx *c, uint8_t list_id, bool ok, unsigned segs, uint64_t bytes)
{
    struct fw_xcopy_status *st = &c->d->xcopy[c->t->initiator];
    st->valid = true;
    st->list_id = list_id;
    st->status = ok ? 0x00 : 0x01;      /* completed without / with errors */
    st->segments = (uint16_t)segs;
    st->bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

struct scsi_sense_reason fw_xcopy_extended_copy(struct fw_ctx *c)
{
    uint32_t plen = (uint32_t)c->length;
    if (plen == 0)
        return fw_good();                 /* SPC-4: not an error; nothing to do */
    if (plen < HDR_LEN)
        return list_length_error();
    const uint8_t *p = c->t->data;
    c->t->xfer = plen;
    uint8_t usage = (p[1] >> 3) & 3;
    if (usage == 1)
        return scsi_reason_invalid_param_field(1, 4);   /* LIST ID USAGE 01b: reserved */
    if (usage == 3 && p[0])
        return scsi_reason_invalid_param_field(0, -1);  /* no list id wanted: must be 0 */
    for (unsigned i = 4; i < 8; i++)
        if (p[i])
            return scsi_reason_invalid_param_field((uint16_t)i, -1);
    uint32_t tdl = scsi_get_be16(p + 2), sdl = scsi_get_be32(p + 8), inl = scsi_get_be32(p + 12);
    if (inl)
        return scsi_reason_invalid_param_field(12, -1);   /* MAXIMUM INLINE DATA LENGTH 0 */
    if ((uint64_t)tdl + sdl > MAX_LIST_LEN || HDR_LEN + (uint64_t)tdl + sdl > plen)
        return list_length_error();

    struct fw_drive *drv[MAX_CSCDS];
    unsigned ncscd = 0, nseg = 0;
    struct scsi_sense_reason r = parse_cscds(c, p + HDR_LEN, tdl, drv, &ncscd);
    if (!fw_is_good(&r))
        return r;
    struct segment seg[MAX_SEGMENTS];
    r = parse_segments(p + HDR_LEN + tdl, HDR_LEN + tdl, sdl, drv, ncscd, seg, &nseg);
    if (!fw_is_good(&r))
        return r;

    uint8_t *buf = nseg ? malloc(CHUNK_BYTES) : NULL;
    if (nseg && !buf)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    uint64_t bytes = 0;
    unsigned done = 0;
    for (; done < nseg && fw_is_good(&r); done++) {
        r = copy_segment(&seg[done], buf);
        if (fw_is_good(&r))
            bytes += (uint64_t)seg[done].blocks * seg[done].src->block_size;
    }
    free(buf);
    if (usage != 3)
        keep_status(c, p[0], fw_is_good(&r), fw_is_good(&r) ? done : done - 1, bytes);
    return r;
}

/* OPERATING PARAMETERS (SPC-4 table 498). */
static size_t operating_parameters(uint8_t *b)
{
    static const uint8_t implemented[] = { SEG_B2B, CSCD_IDENT };
    size_t n = 44 + sizeof implemented;
    memset(b, 0, n);
    scsi_put_be32(b, (uint32_t)(n - 4));        /* AVAILABLE DATA */
    b[4] = 0x00;                                 /* SNLID 0: list ids are per nexus */
    scsi_put_be16(b + 8, MAX_CSCDS);             /* MAXIMUM CSCD DESCRIPTOR COUNT */
    scsi_put_be16(b + 10, MAX_SEGMENTS);         /* MAXIMUM SEGMENT DESCRIPTOR COUNT */
    scsi_put_be32(b + 12, MAX_LIST_LEN);         /* MAXIMUM DESCRIPTOR LIST LENGTH */
    scsi_put_be32(b + 16, MAX_SEG_BYTES);        /* MAXIMUM SEGMENT LENGTH */
    /* MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, STREAM TRANSFER SIZE: 0 */
    scsi_put_be16(b + 34, 1);                    /* TOTAL CONCURRENT COPIES: one at a time */
    b[36] = 1;                                   /* MAXIMUM CONCURRENT COPIES */
    b[37] = 9;                                   /* DATA SEGMENT GRANULARITY: 2^9 bytes */
    b[43] = sizeof implemented;                  /* IMPLEMENTED DESCRIPTOR LIST LENGTH */
    memcpy(b + 44, implemented, sizeof implemented);
    return n;
}

struct scsi_sense_reason fw_xcopy_receive_copy_results(struct fw_ctx *c)
{
    uint8_t b[64];
    size_t n;
    if ((c->cdb[1] & 0x1f) == 0x03) {
        if (c->cdb[2])
            return scsi_reason_invalid_cdb_field(2, -1);   /* no list id for this one */
        n = operating_parameters(b);
    } else {                                               /* COPY STATUS */
        struct fw_xcopy_status *st = &c->d->xcopy[c->t->initiator];
        if (!st->valid || st->list_id != c->cdb[2])
            return scsi_reason_invalid_cdb_field(2, -1);   /* no such copy of this nexus */
        n = 12;
        memset(b, 0, n);
        scsi_put_be32(b, 8);                               /* AVAILABLE DATA */
        b[4] = st->status;                                 /* HDD 0 */
        scsi_put_be16(b + 5, st->segments);                /* SEGMENTS PROCESSED */
        b[7] = 0x00;                                       /* TRANSFER COUNT UNITS: bytes */
        scsi_put_be32(b + 8, st->bytes);
        st->valid = false;                                 /* returned once, then discarded */
    }
    fw_data_in(c, b, c->length < n ? c->length : n);
    return fw_good();
}

void fw_xcopy_nexus_loss(struct fw_drive *d, uint16_t initiator)
{
    d->xcopy[initiator].valid = false;
}
