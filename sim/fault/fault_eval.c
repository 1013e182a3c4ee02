/* sim/fault/fault_eval.c — the rule set and what it decides for one command.
 *
 * Rules are looked at in the order they were added.  The first rule that
 * decides an outcome (an error, a status, a hang, a lost completion) wins and
 * later ones are not consulted for that command, so their counters do not
 * move; latency rules add their delays whatever the outcome.  Random choices
 * (fractions, latency samples) come from each rule's own generator. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "scsi/cdb.h"
#include "scsi/scsi.h"
#include "sim/fault/fault.h"

/* splitmix64: small, good enough for test choices, reproducible everywhere. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double next_unit(uint64_t *s)
{
    return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

int fault_set_init(struct fault_set *s, uint64_t base_seed)
{
    memset(s, 0, sizeof *s);
    s->base_seed = base_seed;
    int rc = pthread_mutex_init(&s->lock, NULL);
    return -rc;
}

void fault_set_fini(struct fault_set *s)
{
    fault_stats_free(s);
    pthread_mutex_destroy(&s->lock);
}

int fault_set_add(struct fault_set *s, const struct fault_rule *r)
{
    if (fault_rule_is_action(r))
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (s->nrules >= FAULT_RULES_MAX) {
        rc = -ENOSPC;
    } else {
        struct fault_rule *n = &s->rules[s->nrules++];
        *n = *r;
        n->seen = n->fired = 0;
        n->prng = r->seed_given ? r->seed : s->base_seed + s->next_number;
        s->next_number++;
        if (r->kind == FAULT_IOMMU_FAULT)
            atomic_fetch_add_explicit(&s->dma_rules, 1, memory_order_release);
        if (r->kind == FAULT_ADMIN_REFUSE || r->kind == FAULT_RESET_FAIL || r->kind == FAULT_IRQ_LOST)
            atomic_fetch_add_explicit(&s->own_rules, 1, memory_order_release);
        else
            atomic_fetch_add_explicit(&s->cmd_rules, 1, memory_order_release);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void fault_set_clear(struct fault_set *s)
{
    pthread_mutex_lock(&s->lock);
    s->nrules = 0;
    atomic_store_explicit(&s->dma_rules, 0, memory_order_release);
    atomic_store_explicit(&s->own_rules, 0, memory_order_release);
    atomic_store_explicit(&s->cmd_rules, 0, memory_order_release);
    pthread_mutex_unlock(&s->lock);
}

size_t fault_set_count(struct fault_set *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->nrules;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void json_string(struct tbuf *b, const char *s)
{
    tbuf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            tbuf_printf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            tbuf_printf(b, "\\u%04x", (unsigned char)*s);
        else
            tbuf_putc(b, *s);
    }
    tbuf_putc(b, '"');
}

void fault_set_list_json(struct fault_set *s, struct tbuf *b)
{
    pthread_mutex_lock(&s->lock);
    tbuf_putc(b, '[');
    for (size_t i = 0; i < s->nrules; i++) {
        struct tbuf t = { 0 };
        fault_rule_format(&s->rules[i], &t);
        tbuf_printf(b, "%s{\"rule\":", i ? "," : "");
        json_string(b, t.len ? tbuf_str(&t) : "");
        tbuf_printf(b, ",\"seen\":%llu,\"fired\":%llu}", (unsigned long long)s->rules[i].seen,
                    (unsigned long long)s->rules[i].fired);
        tbuf_free(&t);
    }
    tbuf_putc(b, ']');
    pthread_mutex_unlock(&s->lock);
}

static bool is_read(uint8_t op)
{
    return op == 0x08 || op == 0x28 || op == 0xA8 || op == 0x88;
}

static bool is_write(uint8_t op)
{
    /* WRITE (6/10/12/16), WRITE AND VERIFY (10/12/16), WRITE SAME (10/16),
     * UNMAP, COMPARE AND WRITE: everything that changes the medium. */
    return op == 0x0A || op == 0x2A || op == 0xAA || op == 0x8A || op == 0x2E || op == 0xAE || op == 0x8E ||
           op == 0x41 || op == 0x93 || op == 0x42 || op == 0x89;
}

static bool op_matches(int want, uint8_t op)
{
    switch (want) {
    case FAULT_OP_ANY:   return true;
    case FAULT_OP_READ:  return is_read(op);
    case FAULT_OP_WRITE: return is_write(op);
    case FAULT_OP_SYNC:  return op == 0x35 || op == 0x91;
    default:             return want == op;
    }
}

static uint64_t sample_latency(struct fault_rule *r)
{
    switch (r->dist) {
    case FAULT_DIST_FIXED:
        return r->time_ns;
    case FAULT_DIST_UNIFORM:
        return r->min_ns + (uint64_t)(next_unit(&r->prng) * (double)(r->max_ns - r->min_ns + 1));
    case FAULT_DIST_EXP: {
        double u = next_unit(&r->prng);
        double x = -log1p(-u) * (double)r->time_ns;
        return x > 3600e9 ? 3600000000000ull : (uint64_t)x;
    }
    case FAULT_DIST_TAIL:
        return next_unit(&r->prng) * 100.0 < r->p ? r->time_ns : r->tail_ns;
    }
    return 0;
}

static bool fraction_hit(struct fault_rule *r)
{
    return r->fraction >= 1.0 || next_unit(&r->prng) < r->fraction;
}

/* A medium rule against a READ or WRITE: the first bad LBA the command
 * touches, or false. */
static bool medium_hit(const struct fault_rule *r, const struct fault_cmd *c, uint64_t *bad, bool *write)
{
    struct cdb_rw rw;
    if (!cdb_parse_rw(c->cdb, c->cdb_len, &rw) || rw.blocks == 0)
        return false;
    if ((rw.write && !(r->io & FAULT_IO_WRITE)) || (!rw.write && !(r->io & FAULT_IO_READ)))
        return false;
    uint64_t end = rw.lba + rw.blocks; /* exclusive; cdb LBAs are below 2^64 - 2^32 in practice */
    uint64_t rend = r->lba + r->count;
    if (end <= r->lba || rw.lba >= rend)
        return false;
    *bad = rw.lba > r->lba ? rw.lba : r->lba;
    *write = rw.write;
    return true;
}

void fault_eval(struct fault_set *s, const struct fault_cmd *c, struct fault_verdict *v)
{
    *v = (struct fault_verdict){ .outcome = FAULT_RUN };
    if (c->cdb_len < 1)
        return;
    /* No rule that judges commands (the common case): no lock.  The count is
     * written under the lock by fault_set_add and _clear; a rule added while
     * this command is being judged may or may not apply to it (the lock never
     * ordered the two either: it only kept them apart), and applies from the
     * next command on.  Everything else is read under the lock, below. */
    if (!atomic_load_explicit(&s->cmd_rules, memory_order_acquire))
        return;
    uint8_t op = c->cdb[0];
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nrules; i++) {
        struct fault_rule *r = &s->rules[i];
        if (r->kind == FAULT_IOMMU_FAULT) {
            /* Counts DMA accesses (fault_dma_access), not commands: armed
             * while a matching command is the one the firmware runs. */
            r->armed = (r->any_drive || (r->target == c->target && r->lun == c->lun)) && op_matches(r->op, op);
            continue;
        }
        if (!r->any_drive && (r->target != c->target || r->lun != c->lun))
            continue;
        if (r->limit && r->fired >= r->limit)
            continue;
        bool deciding = r->kind != FAULT_LATENCY && r->kind != FAULT_REORDER && r->kind != FAULT_SPURIOUS;
        if (deciding && v->outcome != FAULT_RUN)
            continue;
        bool fire = false;
        switch (r->kind) {
        case FAULT_MEDIUM: {
            uint64_t bad;
            bool write;
            if (!medium_hit(r, c, &bad, &write))
                continue;
            r->seen++;
            fire = true;
            uint16_t ascq = r->recovered ? (write ? SCSI_ASCQ(0x0C, 0x01) : SCSI_ASCQ(0x18, 0x00))
                                         : (write ? SCSI_ASC_WRITE_ERROR : SCSI_ASC_UNRECOVERED_READ_ERROR);
            v->sense = scsi_reason(r->recovered ? SCSI_SK_RECOVERED_ERROR : SCSI_SK_MEDIUM_ERROR, ascq);
            v->sense.info_valid = true;
            v->sense.info = bad;
            v->outcome = r->recovered ? FAULT_CHECK_AFTER : FAULT_CHECK;
            break;
        }
        case FAULT_WRITE_PROTECT:
            if (!is_write(op))
                continue;
            r->seen++;
            fire = true;
            v->sense = scsi_reason(SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
            v->outcome = FAULT_CHECK;
            break;
        case FAULT_EVERY_NTH:
            if (!op_matches(r->op, op))
                continue;
            if (++r->seen % r->nth)
                continue;
            fire = true;
            v->sense = r->sense;
            v->outcome = FAULT_CHECK;
            break;
        case FAULT_BUSY:
            if (!op_matches(r->op, op))
                continue;
            r->seen++;
            if (!fraction_hit(r))
                continue;
            fire = true;
            v->status = r->status;
            v->outcome = FAULT_STATUS;
            break;
        case FAULT_HANG:
            if (!op_matches(r->op, op))
                continue;
            r->seen++;
            fire = true;
            if (r->after_ns)
                v->delay_ns += r->after_ns; /* completes, late: the command runs as usual */
            else
                v->outcome = FAULT_HOLD;
            break;
        case FAULT_LOSE:
        case FAULT_DUPLICATE:
            if (!op_matches(r->op, op))
                continue;
            r->seen++;
            if (!fraction_hit(r))
                continue;
            fire = true;
            v->outcome = r->kind == FAULT_LOSE ? FAULT_LOST : FAULT_DUP;
            break;
        case FAULT_LATENCY:
            if (!op_matches(r->op, op))
                continue;
            r->seen++;
            fire = true;
            v->delay_ns += sample_latency(r);
            break;
        case FAULT_REORDER: {
            if (!op_matches(r->op, op))
                continue;
            /* The i-th command of each window is held (window-1-i) steps: a
             * window's commands that are in flight together complete
             * last-first.  The last of a window is not delayed at all. */
            uint64_t pos = r->seen++ % r->window;
            fire = true;
            v->delay_ns += (r->window - 1 - pos) * r->step_ns;
            break;
        }
        case FAULT_SPURIOUS:
            if (!op_matches(r->op, op))
                continue;
            if (++r->seen % r->nth)
                continue;
            fire = true;
            v->spurious = true;
            break;
        case FAULT_FATAL:
            /* The nth matching command, once: "fatal after N commands". */
            if (!op_matches(r->op, op) || r->fired)
                continue;
            if (++r->seen < r->nth)
                continue;
            fire = true;
            v->outcome = FAULT_FATAL_STATUS;
            break;
        case FAULT_IOMMU_FAULT:
        case FAULT_CAPACITY:
        case FAULT_REMOVE:
        case FAULT_INSERT:
        case FAULT_IO_ERROR:
        case FAULT_REOPEN:
        case FAULT_BATTERY:
        case FAULT_ADMIN_REFUSE: /* the controller asks for these itself */
        case FAULT_RESET_FAIL:
        case FAULT_IRQ_LOST:
            break;
        }
        if (fire)
            r->fired++;
    }
    pthread_mutex_unlock(&s->lock);
}

bool fault_dma_rules_set(struct fault_set *s)
{
    return atomic_load_explicit(&s->dma_rules, memory_order_acquire) != 0;
}

bool fault_dma_access(struct fault_set *s)
{
    bool hit = false;
    /* Every DMA access comes here: without an iommu-fault rule, no lock. */
    if (!atomic_load_explicit(&s->dma_rules, memory_order_acquire))
        return false;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nrules; i++) {
        struct fault_rule *r = &s->rules[i];
        if (r->kind != FAULT_IOMMU_FAULT || r->fired || !r->armed)
            continue;
        if (++r->seen >= r->nth && !hit) {
            r->fired++;
            hit = true; /* later rules still count this access */
        }
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

/* The first live rule of `kind` (and admin opcode, for admin-refuse) fires:
 * from its nth= matching occasion on, at most limit= times. */
/* admin_op: the admin command (admin-refuse), or for irq-lost 1 when the
 * completion is the admin queue's, 0 when an I/O queue's. */
static bool controller_rule_fires(struct fault_set *s, enum fault_kind kind, uint8_t admin_op)
{
    bool hit = false;
    /* Asked at every completion posting (irq-lost): without such a rule, no lock. */
    if (!atomic_load_explicit(&s->own_rules, memory_order_acquire))
        return false;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nrules && !hit; i++) {
        struct fault_rule *r = &s->rules[i];
        if (r->kind != kind || (kind == FAULT_ADMIN_REFUSE && r->admin_op != admin_op) ||
            (kind == FAULT_IRQ_LOST && r->irq_admin != (admin_op != 0)))
            continue;
        if (++r->seen < r->nth || (r->limit && r->fired >= r->limit))
            continue;
        r->fired++;
        hit = true;
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

bool fault_admin_refused(struct fault_set *s, uint8_t admin_opcode)
{
    return controller_rule_fires(s, FAULT_ADMIN_REFUSE, admin_opcode);
}

bool fault_hard_reset_fails(struct fault_set *s)
{
    return controller_rule_fires(s, FAULT_RESET_FAIL, 0);
}

bool fault_irq_lost(struct fault_set *s, uint16_t qid)
{
    return controller_rule_fires(s, FAULT_IRQ_LOST, qid == 0);
}
