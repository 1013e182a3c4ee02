/* sim/fault/fault_stats.c — what the firmware did, per opcode and per drive:
 * commands, bytes, commands a fault rule changed, and latency (fetch to
 * completion, injected delay included) as a log histogram read back as
 * percentiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fault/fault.h"

/* 16 buckets per power of two: bucket = 16*floor(log2 ns) + the next four
 * bits.  Below 16 ns each value is its own bucket. */
unsigned fault_hist_bucket(uint64_t ns)
{
    if (ns < FAULT_HIST_SUB)
        return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    unsigned b = msb * FAULT_HIST_SUB + (unsigned)((ns >> (msb - 4)) & (FAULT_HIST_SUB - 1));
    return b < FAULT_HIST_BUCKETS ? b : FAULT_HIST_BUCKETS - 1;
}

/* The largest ns that falls in bucket b (a percentile is reported as its
 * bucket's upper edge: never below the true value). */
static uint64_t bucket_top(unsigned b)
{
    if (b < FAULT_HIST_SUB)
        return b;
    unsigned msb = b / FAULT_HIST_SUB, sub = b % FAULT_HIST_SUB;
    if (msb >= 63)
        return UINT64_MAX;
    uint64_t lo = (UINT64_C(1) << msb) | ((uint64_t)sub << (msb - 4));
    return lo + (UINT64_C(1) << (msb - 4)) - 1;
}

uint64_t fault_hist_percentile(const struct fault_op_stats *st, double q)
{
    uint64_t total = 0;
    if (!st->hist)
        return 0;
    for (unsigned i = 0; i < FAULT_HIST_BUCKETS; i++)
        total += st->hist[i];
    if (!total)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < FAULT_HIST_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen >= want)
            return bucket_top(i);
    }
    return bucket_top(FAULT_HIST_BUCKETS - 1);
}

void fault_stats_note(struct fault_set *s, uint16_t target, uint16_t lun, uint8_t opcode, uint64_t bytes,
                      uint64_t latency_ns, bool injected)
{
    pthread_mutex_lock(&s->lock);
    struct fault_op_stats *o = &s->op[opcode];
    o->count++;
    o->bytes += bytes;
    o->injected += injected;
    o->lat_sum_ns += latency_ns;
    if (!o->hist)
        o->hist = calloc(FAULT_HIST_BUCKETS, sizeof *o->hist); /* none: percentiles read 0 */
    if (o->hist)
        o->hist[fault_hist_bucket(latency_ns)]++;
    struct fault_lu_stats *free_slot = NULL;
    for (unsigned i = 0; i < FAULT_STATS_LUS; i++) {
        struct fault_lu_stats *l = &s->lu[i];
        if (!l->used) {
            if (!free_slot)
                free_slot = l;
            continue;
        }
        if (l->target == target && l->lun == lun) {
            free_slot = l;
            break;
        }
    }
    if (free_slot) { /* more drives than slots: the rest are counted per opcode only */
        free_slot->used = true;
        free_slot->target = target;
        free_slot->lun = lun;
        free_slot->count++;
        free_slot->bytes += bytes;
        free_slot->injected += injected;
    }
    pthread_mutex_unlock(&s->lock);
}

void fault_stats_reset(struct fault_set *s)
{
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < 256; i++)
        free(s->op[i].hist);
    memset(s->op, 0, sizeof s->op);
    memset(s->lu, 0, sizeof s->lu);
    pthread_mutex_unlock(&s->lock);
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

void fault_stats_json(struct fault_set *s, struct tbuf *b, bool open)
{
    pthread_mutex_lock(&s->lock);
    tbuf_puts(b, "{\"opcodes\":[");
    bool first = true;
    for (unsigned op = 0; op < 256; op++) {
        const struct fault_op_stats *o = &s->op[op];
        if (!o->count)
            continue;
        tbuf_printf(b,
                    "%s{\"opcode\":\"0x%02x\",\"count\":%llu,\"bytes\":%llu,\"injected\":%llu,\"mean_us\":%.1f,"
                    "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}",
                    first ? "" : ",", op, (unsigned long long)o->count, (unsigned long long)o->bytes,
                    (unsigned long long)o->injected, us(o->lat_sum_ns) / (double)o->count,
                    us(fault_hist_percentile(o, 0.5)), us(fault_hist_percentile(o, 0.9)),
                    us(fault_hist_percentile(o, 0.99)), us(fault_hist_percentile(o, 0.999)));
        first = false;
    }
    tbuf_puts(b, "],\"lus\":[");
    first = true;
    for (unsigned i = 0; i < FAULT_STATS_LUS; i++) {
        const struct fault_lu_stats *l = &s->lu[i];
        if (!l->used)
            continue;
        tbuf_printf(b, "%s{\"drive\":\"%u:%u\",\"count\":%llu,\"bytes\":%llu,\"injected\":%llu}", first ? "" : ",",
                    l->target, l->lun, (unsigned long long)l->count, (unsigned long long)l->bytes,
                    (unsigned long long)l->injected);
        first = false;
    }
    tbuf_putc(b, ']');
    if (!open)
        tbuf_putc(b, '}');
    pthread_mutex_unlock(&s->lock);
}
