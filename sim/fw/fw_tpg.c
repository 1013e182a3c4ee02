/* sim/fw/fw_tpg.c — target ports and asymmetric logical unit access (SPC-5
 * 5.16): what a multipath initiator asks to tell its paths apart.
 *
 * The controller has target-ports ports (sim/config); port P (0-based, the
 * hba_sq_entry's target_port) is relative target port P + 1 and forms target
 * port group P + 1 on its own.  Every group is active/optimized and stays so:
 * the ALUA is implicit (TPGS 01b) and SET TARGET PORT GROUPS is not offered.
 * With one port nothing here shows: TPGS stays 0, VPD 83h keeps its logical
 * unit designators only and REPORT TARGET PORT GROUPS is an unknown command,
 * as before multipath existed. */
#include "sim/fw/fw_priv.h"

#include <string.h>

#define TPGS_IMPLICIT       0x10   /* standard INQUIRY byte 5, TPGS 01b */
#define AAS_ACTIVE_OPTIMIZED 0x0   /* ASYMMETRIC ACCESS STATE */
#define SUP_AO              0x01   /* AO_SUP: the only state a group can be in */
#define RTPG_FORMAT_LENGTH  0      /* PARAMETER DATA FORMAT 000b: length only */
#define RTPG_FORMAT_EXT     1      /* 001b: extended header */
#define DESIG_TARGET_PORT   0x10   /* ASSOCIATION 01b: the target port */
#define DESIG_REL_PORT      0x04   /* DESIGNATOR TYPE 4h */
#define DESIG_TPG           0x05   /* DESIGNATOR TYPE 5h */

static bool multiport(const struct fw_drive *d)
{
    return d && d->target_ports > 1;
}

void fw_tpg_inquiry(const struct fw_drive *d, uint8_t *std)
{
    if (multiport(d))
        std[5] |= TPGS_IMPLICIT;
}

static size_t put_designator(uint8_t *p, uint8_t type, uint16_t value)
{
    p[0] = 0x01;                        /* CODE SET 1h: binary; no protocol identifier */
    p[1] = DESIG_TARGET_PORT | type;    /* PIV 0 */
    p[2] = 0;
    p[3] = 4;
    p[4] = p[5] = 0;                    /* reserved (type 4: obsolete) */
    scsi_put_be16(p + 6, value);
    return 8;
}

size_t fw_tpg_designators(const struct fw_ctx *c, uint8_t *p)
{
    if (!multiport(c->d))
        return 0;
    uint16_t port = (uint16_t)(c->t->target_port + 1);
    size_t n = put_designator(p, DESIG_REL_PORT, port);
    return n + put_designator(p + n, DESIG_TPG, port);   /* one group per port */
}

struct scsi_sense_reason fw_tpg_report(struct fw_ctx *c)
{
    uint8_t format = c->cdb[1] >> 5;
    if (format != RTPG_FORMAT_LENGTH && format != RTPG_FORMAT_EXT)
        return scsi_reason_invalid_cdb_field(1, 7);
    uint8_t b[8 + HBA_MAX_TARGET_PORTS * 12];
    memset(b, 0, sizeof b);
    size_t n = 4;
    if (format == RTPG_FORMAT_EXT) {
        b[4] = RTPG_FORMAT_EXT << 4;     /* FORMAT TYPE; IMPLICIT TRANSITION TIME 0 */
        n = 8;
    }
    for (uint16_t port = 1; port <= c->d->target_ports; port++) {
        uint8_t *g = b + n;
        g[0] = AAS_ACTIVE_OPTIMIZED;        /* PREF 0: no path is preferred */
        g[1] = SUP_AO;
        scsi_put_be16(g + 2, port);         /* TARGET PORT GROUP */
        g[7] = 1;                           /* TARGET PORT COUNT */
        scsi_put_be16(g + 10, port);        /* its relative target port */
        n += 12;
    }
    scsi_put_be32(b, (uint32_t)(n - 4));    /* RETURN DATA LENGTH */
    fw_data_in(c, b, c->length < n ? c->length : n);
    return fw_good();
}
