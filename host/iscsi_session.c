/* host/iscsi_session.c — sessions: TSIH, the I_T nexus, lookup for
 * reinstatement, and the CmdSN window.
 *
 * The window: a non-immediate command is accepted when ExpCmdSN <= CmdSN <=
 * MaxCmdSN (RFC 1982 serial arithmetic) and it is not a duplicate; anything
 * else is silently ignored, as RFC 7143 asks.  ExpCmdSN advances over every
 * command received in sequence; a command received past a gap is executed
 * (ErrorRecoveryLevel 0 has no way to fill the gap anyway) and remembered so
 * ExpCmdSN jumps over it once the gap closes.  MaxCmdSN = ExpCmdSN + depth -
 * 1 - (commands still running), and never moves backwards: the window is how
 * the target bounds the work (and memory) one session can hold. */
#include "host/iscsi_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool tsih_in_use(const struct iscsi_target *t, uint16_t tsih)
{
    for (const struct iscsi_session *s = t->sessions; s; s = s->next)
        if (s->tsih == tsih)
            return true;
    return false;
}

struct iscsi_session *iscsi_session_create(struct iscsi_conn *c)
{
    struct iscsi_target *t = c->target;
    struct iscsi_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->target = t;
    s->conn = c;
    do {
        s->tsih = t->next_tsih++;
        if (t->next_tsih == 0)
            t->next_tsih = 1;
    } while (s->tsih == 0 || tsih_in_use(t, s->tsih));
    s->depth = t->opt.queue_depth;
    s->next = t->sessions;
    t->sessions = s;
    ISCSI_STAT_INC(t, sessions_open);
    return s;
}

void iscsi_session_destroy(struct iscsi_session *s)
{
    struct iscsi_target *t = s->target;
    for (struct iscsi_session **pp = &t->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    ISCSI_STAT_DEC(t, sessions_open);
    /* The nexus is gone: the backend aborts its tasks and forgets its state. */
    if (s->node && s->nexus) {
        scsi_backend_nexus_loss(scsi_lunmap_backend(s->node->luns), s->nexus);
        iscsi_nexus_release(t, s->nexus);
    }
    free(s);
}

/* ---- I_T nexus identities ------------------------------------------------------ */

uint64_t iscsi_nexus_acquire(struct iscsi_target *t, const char *initiator, const uint8_t isid[6],
                             const struct iscsi_node *node, unsigned portal)
{
    struct iscsi_nexus_id **pp, *id = NULL, **idle = NULL;
    for (pp = &t->nexus_ids; *pp; pp = &(*pp)->next) {
        struct iscsi_nexus_id *e = *pp;
        if (e->node == node && e->portal == portal && memcmp(e->isid, isid, 6) == 0 &&
            iscsi_name_eq(e->initiator, initiator)) {
            id = e;
            *pp = e->next; /* moves to the front below */
            break;
        }
        if (e->sessions == 0)
            idle = pp; /* the last one seen is the least recently used */
    }
    if (!id) {
        if (t->n_nexus_ids >= ISCSI_NEXUS_REMEMBER && idle) {
            id = *idle;
            *idle = id->next;
            t->n_nexus_ids--;
        } else {
            id = malloc(sizeof(*id));
            if (!id)
                return 0;
        }
        memset(id, 0, sizeof(*id));
        snprintf(id->initiator, sizeof(id->initiator), "%s", initiator);
        memcpy(id->isid, isid, 6);
        id->node = node;
        id->portal = portal;
        id->nexus = t->next_nexus++;
        t->n_nexus_ids++;
    }
    id->sessions++;
    id->next = t->nexus_ids;
    t->nexus_ids = id;
    return id->nexus;
}

void iscsi_nexus_release(struct iscsi_target *t, uint64_t nexus)
{
    for (struct iscsi_nexus_id *e = t->nexus_ids; e; e = e->next) {
        if (e->nexus == nexus) {
            if (e->sessions)
                e->sessions--;
            return;
        }
    }
}

void iscsi_nexus_forget_all(struct iscsi_target *t)
{
    while (t->nexus_ids) {
        struct iscsi_nexus_id *e = t->nexus_ids;
        t->nexus_ids = e->next;
        free(e);
    }
    t->n_nexus_ids = 0;
}

unsigned iscsi_sessions_of(struct iscsi_target *t, const char *initiator, const uint8_t isid[6],
                           const struct iscsi_node *node)
{
    unsigned n = 0;
    for (struct iscsi_session *s = t->sessions; s; s = s->next)
        if (!s->discovery && iscsi_name_eq(s->initiator, initiator) &&
            !(s->node == node && memcmp(s->isid, isid, 6) == 0))
            n++;
    return n;
}

struct iscsi_session *iscsi_session_find(struct iscsi_target *t, const char *initiator, const uint8_t isid[6],
                                         const struct iscsi_node *node, bool discovery, unsigned portal)
{
    for (struct iscsi_session *s = t->sessions; s; s = s->next)
        if (s->discovery == discovery && s->node == node && s->portal == portal && memcmp(s->isid, isid, 6) == 0 &&
            iscsi_name_eq(s->initiator, initiator))
            return s;
    return NULL;
}

static void update_max(struct iscsi_session *s)
{
    if (s->active >= s->depth)
        return; /* window closed for now; MaxCmdSN stays where it is */
    uint32_t cand = s->exp_cmdsn + (s->depth - 1 - s->active);
    if (iscsi_sn_gt(cand, s->max_cmdsn))
        s->max_cmdsn = cand;
}

static bool ahead_test(const struct iscsi_session *s, uint32_t d)
{
    return s->ahead[d / 64] >> (d % 64) & 1;
}

static void ahead_set(struct iscsi_session *s, uint32_t d)
{
    s->ahead[d / 64] |= UINT64_C(1) << (d % 64);
}

static void ahead_shift(struct iscsi_session *s)
{
    for (int i = 0; i < 4; i++) {
        s->ahead[i] >>= 1;
        if (i < 3)
            s->ahead[i] |= (s->ahead[i + 1] & 1) << 63;
    }
}

enum iscsi_cmdsn_verdict iscsi_session_check_cmdsn(struct iscsi_session *s, uint32_t cmdsn, bool immediate)
{
    if (immediate) {
        /* Immediate commands do not advance CmdSN and are not windowed. */
        s->active_immediate++;
        return ISCSI_CMDSN_ACCEPT;
    }
    if (iscsi_sn_lt(cmdsn, s->exp_cmdsn) || iscsi_sn_gt(cmdsn, s->max_cmdsn))
        return ISCSI_CMDSN_DROP;
    uint32_t d = cmdsn - s->exp_cmdsn;
    if (d >= 256 || ahead_test(s, d))
        return ISCSI_CMDSN_DROP;
    ahead_set(s, d);
    while (ahead_test(s, 0)) {
        ahead_shift(s);
        s->exp_cmdsn++;
    }
    s->active++;
    update_max(s);
    return ISCSI_CMDSN_ACCEPT;
}

void iscsi_session_release(struct iscsi_session *s, bool immediate)
{
    if (immediate) {
        if (s->active_immediate)
            s->active_immediate--;
        return;
    }
    if (s->active)
        s->active--;
    update_max(s);
}

void iscsi_session_window(const struct iscsi_session *s, uint8_t exp_cmdsn[4], uint8_t max_cmdsn[4])
{
    scsi_put_be32(exp_cmdsn, s->exp_cmdsn);
    scsi_put_be32(max_cmdsn, s->max_cmdsn);
}
