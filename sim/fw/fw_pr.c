/* sim/fw/fw_pr.c — persistent reservations (SPC-5 5.14, 6.16 PERSISTENT
 * RESERVE IN, 6.17 PERSISTENT RESERVE OUT).
 *
 * A drive keeps one registration per I_T nexus (initiators are told apart
 * as the unit attentions tell them apart: t->initiator) and at most one
 * logical-unit-scope reservation of one of the six types.  Supported: PR IN
 * READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS; PR OUT
 * REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT, REGISTER AND
 * IGNORE EXISTING KEY.  Not supported, and reported so by REPORT
 * CAPABILITIES (SIP_C, ATP_C are 0): SPEC_I_PT, ALL_TG_PT (set in the
 * parameter list: INVALID FIELD IN PARAMETER LIST) and REGISTER AND MOVE (not
 * in the command table: an unknown service action).  State survives resets
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
    b[2] = 0x10 | 0x01;                    /* CRH (RESERVE/RELEASE per 5.14.3), PTPL_C */
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
        if (is_holder(d, i)) {
            e[12] = 0x01;                  /* R_HOLDER */
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

struct scsi_sense_reason fw_pr_out(struct fw_ctx *c)
{
    struct fw_drive *d = c->d;
    unsigned self = c->t->initiator;
    uint8_t sa = c->cdb[1] & 0x1f;
    uint8_t scope = c->cdb[2] >> 4, type = c->cdb[2] & 0x0f;
    if (c->length != PR_PARAM_LEN)
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR);
    const uint8_t *p = c->t->data;
    c->t->xfer = PR_PARAM_LEN;
    uint64_t key = scsi_get_be64(p), sark = scsi_get_be64(p + 8);
    /* byte 20: SPEC_I_PT (3), ALL_TG_PT (2) are not supported; APTPL (0)
     * counts for the REGISTER service actions only (SPC-5 6.17.3) */
    if (p[20] & ~0x01)
        return scsi_reason_invalid_param_field(20, fw_top_bit(p[20] & ~0x01));
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
