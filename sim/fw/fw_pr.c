/* sim/fw/fw_pr.c — persistent reservations (SPC-5 5.14, 6.16 PERSISTENT
 * RESERVE IN, 6.17 PERSISTENT RESERVE OUT).
 *
 * A drive keeps one registration per I_T nexus (initiators are told apart
 * as the unit attentions tell them apart: t->initiator) and at most one
 * logical-unit-scope reservation of one of the six types.  Supported: PR IN
 * READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS; PR OUT
 * REGISTER (with SPEC_I_PT and ALL_TG_PT: SIP_C, ATP_C 1), RESERVE, RELEASE,
 * CLEAR, PREEMPT, PREEMPT AND ABORT, REGISTER AND IGNORE EXISTING KEY,
 * REGISTER AND MOVE.
 *
 * TransportIDs (SPEC_I_PT, REGISTER AND MOVE) name a nexus the way READ FULL
 * STATUS reports one: the firmware knows a nexus by the controller's
 * initiator index only, so a TransportID is 24 bytes of protocol 0Fh (no
 * specific protocol) with that index in bytes 2..3; any other protocol is
 * INVALID FIELD IN PARAMETER LIST at its first byte.  The firmware does not
 * tell target ports apart (a nexus is its initiator index), so ALL_TG_PT is
 * recorded and reported (READ FULL STATUS) but changes nothing, and the
 * RELATIVE TARGET PORT IDENTIFIER of REGISTER AND MOVE is not checked.
 *
 * State survives resets
 * and nexus losses (SPC-5 5.14.7); a power cycle keeps it only when the last
 * REGISTER asked for APTPL (PTPL_C 1, SPC-5 5.14.5), as the drive keeps its
 * saved mode pages: with the drive, for as long as the simulated controller
 * exists (not across scsisim processes).
 *
 * Conflicts follow SPC-5 table 71 / SBC-4 table 13 through two table flags:
 * FW_F_PR_EXEMPT commands run whatever the reservation (INQUIRY, REPORT LUNS,
 * ...); FW_F_PR_READ commands run for a non-holder under the Write Exclusive
 * types; everything else is a write and conflicts for any non-holder.  A
 * registered nexus is a holder of the "all registrants" types and may access
 * under the "registrants only" types. */
#include "sim/fw/fw_priv.h"

#include <stdlib.h>
#include <string.h>

#define PR_PARAM_LEN 24

enum pr_type {
    PR_WE = 1, PR_EA = 3, PR_WE_RO = 5, PR_EA_RO = 6, PR_WE_AR = 7, PR_EA_AR = 8,
};

static bool type_valid(uint8_t t)
{
    return t == PR_WE || t == PR_EA || t == PR_WE_RO || t == PR_EA_RO || t == PR_WE_AR || t == PR_EA_AR;
}
static bool all_registrants(uint8_t t) { return t == PR_WE_AR || t == PR_EA_AR; }
static bool registrants_access(uint8_t t) { return t >= PR_WE_RO; }  /* RO and AR types */
static bool write_exclusive(uint8_t t) { return t == PR_WE || t == PR_WE_RO || t == PR_WE_AR; }

static bool registered(const struct fw_drive *d, unsigned i)
{
    return d->pr.reg[i].used;
}

static bool is_holder(const struct fw_drive *d, unsigned i)
{
    if (!d->pr.reserved)
        return false;
    return all_registrants(d->pr.type) ? registered(d, i) : d->pr.holder == i;
}

void fw_pr_power_on(struct fw_drive *d)
{
    if (!d->pr.aptpl)
        memset(&d->pr, 0, sizeof(d->pr));
    d->pr.generation = 0;                  /* SPC-5 6.16.2: zero after power on */
}

bool fw_pr_conflict(const struct fw_ctx *c)
{
    const struct fw_drive *d = c->d;
    if (!d || !d->pr.reserved || (c->cmd->flags & FW_F_PR_EXEMPT))
        return false;
    unsigned i = c->t->initiator;
    if (is_holder(d, i))
        return false;
    if (registrants_access(d->pr.type) && registered(d, i))
        return false;
    return !(write_exclusive(d->pr.type) && (c->cmd->flags & FW_F_PR_READ));
}

bool fw_pr_active(const struct fw_drive *d)
{
    if (d->pr.reserved)
        return true;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        if (d->pr.reg[i].used)
            return true;
    return false;
}

/* ---- PERSISTENT RESERVE IN ---- */

static size_t read_keys(const struct fw_drive *d, uint8_t *b, size_t cap)
{
    size_t n = 8, len = 0;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++) {
        if (!d->pr.reg[i].used)
            continue;
        len += 8;
        if (n + 8 <= cap) {
            scsi_put_be64(b + n, d->pr.reg[i].key);
            n += 8;
        }
    }
    scsi_put_be32(b, d->pr.generation);
    scsi_put_be32(b + 4, (uint32_t)len);   /* the whole list, whatever fits */
    return n;
}

static size_t read_reservation(const struct fw_drive *d, uint8_t *b)
{
    scsi_put_be32(b, d->pr.generation);
    if (!d->pr.reserved)
        return 8;
    scsi_put_be32(b + 4, 16);
    /* all-registrants types have no one holder: key 0 (SPC-5 6.16.3.2) */
    uint64_t key = all_registrants(d->pr.type) ? 0 : d->pr.reg[d->pr.holder].key;
    scsi_put_be64(b + 8, key);
    b[21] = d->pr.type;                    /* SCOPE 0h: logical unit */
    return 24;
}

static size_t report_capabilities(const struct fw_drive *d, uint8_t *b)
{
    scsi_put_be16(b, 8);
    b[2] = 0x10 | 0x08 | 0x04 | 0x01;      /* CRH (RESERVE/RELEASE per 5.14.3), SIP_C, ATP_C, PTPL_C */
    b[3] = 0x80 | (d->pr.aptpl ? 0x01 : 0); /* TMV: the type mask is valid; PTPL_A */
    b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; /* WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX */
    b[5] = 0x01;                           /* EX_AC_AR */
    return 8;
}

/* READ FULL STATUS: one descriptor per registration.  The firmware knows a
 * nexus by the controller's initiator index only, so its TransportID is
 * protocol 0Fh (no specific protocol, SPC-5 table 455) carrying that index. */
#define FULL_DESC (24 + 24)
static size_t read_full_status(const struct fw_drive *d, uint8_t *b, size_t cap)
{
    size_t n = 8, len = 0;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++) {
        if (!d->pr.reg[i].used)
            continue;
        len += FULL_DESC;
        if (n + FULL_DESC > cap)
            continue;
        uint8_t *e = b + n;
        memset(e, 0, FULL_DESC);
        scsi_put_be64(e, d->pr.reg[i].key);
        if (d->pr.reg[i].all_tg_pt)
            e[12] |= 0x02;                 /* ALL_TG_PT */
        if (is_holder(d, i)) {
            e[12] |= 0x01;                 /* R_HOLDER */
            e[13] = d->pr.type;
        }
        scsi_put_be16(e + 18, 1);          /* RELATIVE TARGET PORT IDENTIFIER */
        scsi_put_be32(e + 20, 24);         /* ADDITIONAL DESCRIPTOR LENGTH */
        e[24] = 0x0f;
        scsi_put_be16(e + 26, (uint16_t)i);
        n += FULL_DESC;
    }
    scsi_put_be32(b, d->pr.generation);
    scsi_put_be32(b + 4, (uint32_t)len);
    return n;
}

struct scsi_sense_reason fw_pr_in(struct fw_ctx *c)
{
    /* Room for every registration there can be (HBA_MAX_INITIATORS of them:
     * about 192 KiB, too much for a stack). */
    enum { CAP = 8 + FULL_DESC * HBA_MAX_INITIATORS };
    uint8_t *b = calloc(1, CAP);
    if (!b)
        return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    size_t n;
    switch (c->cdb[1] & 0x1f) {
    case 0:  n = read_keys(c->d, b, CAP); break;
    case 1:  n = read_reservation(c->d, b); break;
    case 2:  n = report_capabilities(c->d, b); break;
    default: n = read_full_status(c->d, b, CAP); break;
    }
    fw_data_in(c, b, c->length < n ? c->length : n);
    free(b);
    return fw_good();
}

/* ---- PERSISTENT RESERVE OUT ---- */

static void ua_others(struct fw_drive *d, unsigned self, uint16_t code, bool registrants_only)
{
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        if (i != self && (!registrants_only || d->pr.reg[i].used))
            fw_ua_add(&d->ua[i], code);
}

static void release(struct fw_drive *d, unsigned self)
{
    uint8_t t = d->pr.type;
    d->pr.reserved = false;
    d->pr.type = 0;
    /* SPC-5 5.14.11.2.2: releasing a registrants-only or all-registrants
     * reservation tells the other registrants. */
    if (registrants_access(t))
        ua_others(d, self, FW_ASC_RESERVATIONS_RELEASED, true);
}

static void unregister(struct fw_drive *d, unsigned i)
{
    d->pr.reg[i].used = false;
    d->pr.reg[i].all_tg_pt = false;
    d->pr.reg[i].key = 0;
    if (!d->pr.reserved)
        return;
    if (all_registrants(d->pr.type)) {
        bool anyone = false;
        for (unsigned j = 0; j < HBA_MAX_INITIATORS; j++)
            anyone |= d->pr.reg[j].used;
        if (!anyone)
            d->pr.reserved = false;        /* the last registrant left */
    } else if (d->pr.holder == i) {
        release(d, i);
    }
}

/* Removes the registrations of other nexuses that hold key (every other one
 * with all_others), each told REGISTRATIONS PREEMPTED; true when one went. */
static bool preempt_key(struct fw_drive *d, unsigned self, uint64_t key, bool all_others)
{
    bool any = false;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++) {
        if (!d->pr.reg[i].used || i == self)
            continue;
        if (all_others || d->pr.reg[i].key == key) {
            d->pr.reg[i].used = false;
            d->pr.reg[i].all_tg_pt = false;
            d->pr.reg[i].key = 0;
            fw_ua_add(&d->ua[i], FW_ASC_REGISTRATIONS_PREEMPTED);
            any = true;
        }
    }
    return any;
}

static struct scsi_sense_reason conflict(struct fw_ctx *c)
{
    c->status = SCSI_STATUS_RESERVATION_CONFLICT;
    return fw_good();
}

static struct scsi_sense_reason preempt(struct fw_ctx *c, unsigned self, uint64_t sark, uint8_t type)
{
    struct fw_drive *d = c->d;
    if (!d->pr.reserved || (all_registrants(d->pr.type) && sark != 0) ||
        (!all_registrants(d->pr.type) && sark != d->pr.reg[d->pr.holder].key)) {
        /* Only registrations go (SPC-5 5.14.11.4.3/4) */
        if (sark == 0)
            return scsi_reason_invalid_param_field(8, -1);
        if (!preempt_key(d, self, sark, false))
            return conflict(c);
        d->pr.generation++;
        return fw_good();
    }
    /* The reservation is preempted: the preempted registrations go and
     * self holds a reservation of the new type. */
    if (!type_valid(type))
        return scsi_reason_invalid_cdb_field(2, 3);
    if (all_registrants(d->pr.type))
        preempt_key(d, self, 0, true);
    else
        preempt_key(d, self, sark, false);
    bool changed = d->pr.type != type;
    d->pr.reserved = true;
    d->pr.holder = (uint16_t)self;
    d->pr.type = type;
    if (changed)
        ua_others(d, self, FW_ASC_RESERVATIONS_RELEASED, true);
    d->pr.generation++;
    return fw_good();
}

/* A TransportID at p (len bytes left in the list, at byte off of it): the
 * nexus it names, or an INVALID FIELD IN PARAMETER LIST reason. */
#define TID_LEN 24u
static struct scsi_sense_reason transport_id(const uint8_t *p, uint32_t len, uint32_t off, unsigned *nexus)
{
    if (len < TID_LEN)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    if (p[0] != 0x0f)                      /* FORMAT 00b, PROTOCOL IDENTIFIER 0Fh */
        return scsi_reason_invalid_param_field((uint16_t)off, -1);
    uint16_t i = scsi_get_be16(p + 2);
    if (i >= HBA_MAX_INITIATORS)
        return scsi_reason_invalid_param_field((uint16_t)(off + 2), -1);
    *nexus = i;
    return fw_good();
}

/* REGISTER with SPEC_I_PT: self and every nexus of the TransportID list are
 * registered with sark, all or none (SPC-5 5.14.7.3). */
static struct scsi_sense_reason register_specified(struct fw_ctx *c, unsigned self, uint64_t sark, bool all_tg)
{
    struct fw_drive *d = c->d;
    const uint8_t *p = c->t->data;
    uint32_t tpdl = scsi_get_be32(p + 24);
    if (28 + (uint64_t)tpdl != c->length)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    if (sark == 0)
        return scsi_reason_invalid_param_field(8, -1);   /* registering nobody */
    bool add[HBA_MAX_INITIATORS] = { false };
    for (uint32_t off = 0; off < tpdl; off += TID_LEN) {
        unsigned n;
        struct scsi_sense_reason r = transport_id(p + 28 + off, tpdl - off, 28 + off, &n);
        if (!fw_is_good(&r))
            return r;
        if (registered(d, n) || n == self)
            return conflict(c);            /* SPC-5: a nexus already registered */
        add[n] = true;
    }
    add[self] = true;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++) {
        if (!add[i])
            continue;
        d->pr.reg[i].used = true;
        d->pr.reg[i].key = sark;
        d->pr.reg[i].all_tg_pt = all_tg;
    }
    d->pr.generation++;
    return fw_good();
}

/* REGISTER AND MOVE (SPC-5 5.14.8): the holder of a reservation (not of an
 * all-registrants type) registers the nexus its TransportID names with the
 * SERVICE ACTION RESERVATION KEY, gives it the reservation (with the CDB's
 * type), and with UNREG leaves.  Parameter list (SPC-5 table 181): keys,
 * byte 17 UNREG (1) and APTPL (0), bytes 18..19 RELATIVE TARGET PORT
 * IDENTIFIER, 20..23 TRANSPORTID PARAMETER DATA LENGTH, the TransportID. */
static struct scsi_sense_reason register_and_move(struct fw_ctx *c, unsigned self, uint8_t scope, uint8_t type)
{
    struct fw_drive *d = c->d;
    if (c->length < PR_PARAM_LEN)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    const uint8_t *p = c->t->data;
    c->t->xfer = (uint32_t)c->length;
    uint64_t key = scsi_get_be64(p), sark = scsi_get_be64(p + 8);
    if (p[16])
        return scsi_reason_invalid_param_field(16, fw_top_bit(p[16]));
    if (p[17] & ~0x03)
        return scsi_reason_invalid_param_field(17, fw_top_bit(p[17] & ~0x03));
    uint32_t tpdl = scsi_get_be32(p + 20);
    if (PR_PARAM_LEN + (uint64_t)tpdl != c->length)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    if (!registered(d, self) || key != d->pr.reg[self].key)
        return conflict(c);
    if (!d->pr.reserved || all_registrants(d->pr.type) || d->pr.holder != self)
        return conflict(c);                /* only a holder moves, and not an AR type */
    if (scope != 0)
        return scsi_reason_invalid_cdb_field(2, 7);
    if (!type_valid(type))
        return scsi_reason_invalid_cdb_field(2, 3);
    if (sark == 0)
        return scsi_reason_invalid_param_field(8, -1);
    if (tpdl != TID_LEN)
        return scsi_reason_invalid_param_field(20, -1);   /* exactly one TransportID */
    unsigned to;
    struct scsi_sense_reason r = transport_id(p + PR_PARAM_LEN, tpdl, PR_PARAM_LEN, &to);
    if (!fw_is_good(&r))
        return r;
    if (to == self)
        return scsi_reason_invalid_param_field(PR_PARAM_LEN, -1);   /* a move to itself */
    if (!d->pr.reg[to].used)
        d->pr.reg[to].all_tg_pt = false;
    d->pr.reg[to].used = true;
    d->pr.reg[to].key = sark;
    d->pr.holder = (uint16_t)to;
    d->pr.type = type;
    d->pr.aptpl = p[17] & 0x01;
    if (p[17] & 0x02) {                    /* UNREG: the reservation is no longer ours */
        d->pr.reg[self].used = false;
        d->pr.reg[self].key = 0;
        d->pr.reg[self].all_tg_pt = false;
    }
    d->pr.generation++;
    return fw_good();
}

struct scsi_sense_reason fw_pr_out(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    unsigned self = c->t->initiator;
    uint8_t sa = c->cdb[1] & 0x1f;
    uint8_t scope = c->cdb[2] >> 4, type = c->cdb[2] & 0x0f;
    if (sa == 7)
        return register_and_move(c, self, scope, type);
    /* byte 20: SPEC_I_PT (3) for REGISTER only (refused with REGISTER AND
     * IGNORE EXISTING KEY, ignored by the others), ALL_TG_PT (2) for the two
     * REGISTERs (ignored by the others), APTPL (0) for the REGISTERs
     * (SPC-5 6.17.3) */
    bool spec_bit = c->length >= PR_PARAM_LEN && (c->t->data[20] & 0x08);
    if (spec_bit && sa == 6)               /* whatever length the list claims */
        return scsi_reason_invalid_param_field(20, 3);
    bool spec = spec_bit && sa == 0;
    if (spec ? c->length < PR_PARAM_LEN + 4 : c->length != PR_PARAM_LEN)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    const uint8_t *p = c->t->data;
    c->t->xfer = (uint32_t)c->length;
    uint64_t key = scsi_get_be64(p), sark = scsi_get_be64(p + 8);
    if (p[20] & ~0x0d)
        return scsi_reason_invalid_param_field(20, fw_top_bit(p[20] & ~0x0d));
    bool all_tg = (p[20] & 0x04) && (sa == 0 || sa == 6);
    bool aptpl = p[20] & 0x01;
    if (p[21])
        return scsi_reason_invalid_param_field(21, fw_top_bit(p[21]));
    bool uses_type = sa == 1 || sa == 2 || ((sa == 4 || sa == 5) && d->pr.reserved);
    if (uses_type && scope != 0)
        return scsi_reason_invalid_cdb_field(2, 7);
    if ((sa == 1 || sa == 2) && !type_valid(type))
        return scsi_reason_invalid_cdb_field(2, 3);
    bool reg = registered(d, self);

    if (sa == 0 || sa == 6) {              /* REGISTER, REGISTER AND IGNORE EXISTING KEY */
        if (sa == 0 && (reg ? key != d->pr.reg[self].key : key != 0))
            return conflict(c);
        if (spec) {
            if (reg)                       /* SPC-5 5.14.7.3: only an unregistered nexus */
                return scsi_reason_invalid_param_field(20, 3);
            struct scsi_sense_reason r = register_specified(c, self, sark, all_tg);
            if (fw_is_good(&r) && c->status == SCSI_STATUS_GOOD)
                d->pr.aptpl = aptpl;
            return r;
        }
        if (reg || sark != 0)
            d->pr.aptpl = aptpl;           /* the last one decides (SPC-5 5.14.5) */
        if (sark == 0) {
            if (reg) {
                unregister(d, self);
                d->pr.generation++;
            }
            return fw_good();
        }
        d->pr.reg[self].used = true;
        d->pr.reg[self].key = sark;
        d->pr.reg[self].all_tg_pt = all_tg;
        d->pr.generation++;
        return fw_good();
    }
    if (!reg || key != d->pr.reg[self].key)
        return conflict(c);
    switch (sa) {
    case 1:                                /* RESERVE */
        if (d->pr.reserved) {
            if (!is_holder(d, self) || d->pr.type != type)
                return conflict(c);
            return fw_good();
        }
        d->pr.reserved = true;
        d->pr.holder = (uint16_t)self;
        d->pr.type = type;
        return fw_good();
    case 2:                                /* RELEASE */
        if (!d->pr.reserved || !is_holder(d, self))
            return fw_good();
        if (d->pr.type != type)
            return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, FW_ASC_INVALID_RELEASE_OF_PR);
        release(d, self);
        return fw_good();
    case 3:                                /* CLEAR */
        ua_others(d, self, FW_ASC_RESERVATIONS_PREEMPTED, true);
        memset(d->pr.reg, 0, sizeof(d->pr.reg));
        d->pr.reserved = false;
        d->pr.type = 0;
        d->pr.generation++;
        return fw_good();
    default:                               /* PREEMPT, PREEMPT AND ABORT: no task
                                              of another nexus is ever in progress */
        return preempt(c, self, sark, type);
    }
}
