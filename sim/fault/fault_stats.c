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

uint64_t fault_hist_percentile(const uint32_t *hist, double q)
{
    uint64_t total = 0;
    if (!hist)
        return 0;
    for (unsigned i = 0; i < FAULT_HIST_BUCKETS; i++)
        total += hist[i];
    if (!total)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < FAULT_HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen >= want)
            return bucket_top(i);
    }
    return bucket_top(FAULT_HIST_BUCKETS - 1);
}

/* One writer: fault_stats_note runs only on the controller's firmware thread
 * (ctrl_io.c, one command at a time; a power cycle joins the old thread before
 * it starts a new one).  So a counter is a relaxed load and a relaxed store,
 * not a locked read-modify-write: nobody else stores to it (a reset copies it
 * into base_* instead of zeroing it).  Relaxed is enough because every counter
 * stands alone; a reader may see a command counted before its bytes, or its
 * histogram bucket before its count. */
static inline void bump64(_Atomic uint64_t *a, uint64_t by)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + by, memory_order_relaxed);
}

static inline void bump32(_Atomic uint32_t *a)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* The drive's slot: found, claimed (once; slots are never given back, so
 * more than FAULT_STATS_LUS drives over the set's life are counted per opcode
 * only), or NULL. */
static struct fault_lu_stats *lu_slot(struct fault_set *s, uint16_t target, uint16_t lun)
{
    for (unsigned i = 0; i < FAULT_STATS_LUS; i++) {
        struct fault_lu_stats *l = &s->lu[i];
        /* Slots are claimed in order: the first free one ends the search. */
        if (!atomic_load_explicit(&l->used, memory_order_relaxed)) {
            l->target = target;
            l->lun = lun;
            atomic_store_explicit(&l->used, true, memory_order_release); /* readers see target and lun */
            return l;
        }
        if (l->target == target && l->lun == lun)
            return l;
    }
    return NULL;
}

void fault_stats_note(struct fault_set *s, uint16_t target, uint16_t lun, uint8_t opcode, uint64_t bytes,
                      uint64_t latency_ns, bool injected)
{
    struct fault_op_stats *o = &s->op[opcode];
    bump64(&o->count, 1);
    bump64(&o->bytes, bytes);
    bump64(&o->injected, injected);
    bump64(&o->lat_sum_ns, latency_ns);
    _Atomic uint32_t *hist = atomic_load_explicit(&o->hist, memory_order_relaxed);
    if (!hist) {
        /* The opcode's first command: the only allocation, never repeated
         * (unless it failed: then percentiles read 0 and the next one tries). */
        hist = calloc(2 * FAULT_HIST_BUCKETS, sizeof *hist);
        atomic_store_explicit(&o->hist, hist, memory_order_release);
    }
    if (hist)
        bump32(&hist[fault_hist_bucket(latency_ns)]);
    struct fault_lu_stats *l = lu_slot(s, target, lun);
    if (l) {
        bump64(&l->count, 1);
        bump64(&l->bytes, bytes);
        bump64(&l->injected, injected);
    }
}

void fault_stats_reset(struct fault_set *s)
{
    /* From here on the readers count from what the writer has counted now;
     * a command the firmware notes meanwhile may land on either side. */
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < 256; i++) {
        struct fault_op_stats *o = &s->op[i];
        o->base_count = atomic_load_explicit(&o->count, memory_order_relaxed);
        o->base_bytes = atomic_load_explicit(&o->bytes, memory_order_relaxed);
        o->base_injected = atomic_load_explicit(&o->injected, memory_order_relaxed);
        o->base_lat_sum_ns = atomic_load_explicit(&o->lat_sum_ns, memory_order_relaxed);
        _Atomic uint32_t *hist = atomic_load_explicit(&o->hist, memory_order_acquire);
        for (unsigned b = 0; hist && b < FAULT_HIST_BUCKETS; b++)
            atomic_store_explicit(&hist[FAULT_HIST_BUCKETS + b],
                                  atomic_load_explicit(&hist[b], memory_order_relaxed), memory_order_relaxed);
    }
    for (unsigned i = 0; i < FAULT_STATS_LUS; i++) {
        struct fault_lu_stats *l = &s->lu[i];
        l->base_count = atomic_load_explicit(&l->count, memory_order_relaxed);
        l->base_bytes = atomic_load_explicit(&l->bytes, memory_order_relaxed);
        l->base_injected = atomic_load_explicit(&l->injected, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->lock);
}

void fault_stats_free(struct fault_set *s)
{
    for (unsigned i = 0; i < 256; i++) {
        free((void *)atomic_load_explicit(&s->op[i].hist, memory_order_acquire));
        atomic_store_explicit(&s->op[i].hist, NULL, memory_order_relaxed);
    }
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/* Since the last reset.  The counters are read one by one while the firmware
 * may be counting: a command may show in its count and not yet in its bytes
 * or its latency (never the reverse of a reset: base_* only move under the
 * lock, which this holds). */
void fault_stats_json(struct fault_set *s, struct tbuf *b, bool open)
{
    pthread_mutex_lock(&s->lock);
    tbuf_puts(b, "{\"opcodes\":[");
    bool first = true;
    for (unsigned op = 0; op < 256; op++) {
        struct fault_op_stats *o = &s->op[op];
        uint64_t count = atomic_load_explicit(&o->count, memory_order_relaxed) - o->base_count;
        if (!count)
            continue;
        uint64_t bytes = atomic_load_explicit(&o->bytes, memory_order_relaxed) - o->base_bytes;
        uint64_t injected = atomic_load_explicit(&o->injected, memory_order_relaxed) - o->base_injected;
        uint64_t lat_sum = atomic_load_explicit(&o->lat_sum_ns, memory_order_relaxed) - o->base_lat_sum_ns;
        /* One copy of the histogram, so the four percentiles agree. */
        uint32_t since[FAULT_HIST_BUCKETS];
        _Atomic uint32_t *hist = atomic_load_explicit(&o->hist, memory_order_acquire);
        for (unsigned i = 0; hist && i < FAULT_HIST_BUCKETS; i++)
            since[i] = atomic_load_explicit(&hist[i], memory_order_relaxed) -
                       atomic_load_explicit(&hist[FAULT_HIST_BUCKETS + i], memory_order_relaxed);
        const uint32_t *h = hist ? since : NULL;
        tbuf_printf(b,
                    "%s{\"opcode\":\"0x%02x\",\"count\":%llu,\"bytes\":%llu,\"injected\":%llu,\"mean_us\":%.1f,"
                    "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}",
                    first ? "" : ",", op, (unsigned long long)count, (unsigned long long)bytes,
                    (unsigned long long)injected, us(lat_sum) / (double)count, us(fault_hist_percentile(h, 0.5)),
                    us(fault_hist_percentile(h, 0.9)), us(fault_hist_percentile(h, 0.99)),
                    us(fault_hist_percentile(h, 0.999)));
        first = false;
    }
    tbuf_puts(b, "],\"lus\":[");
    first = true;
    for (unsigned i = 0; i < FAULT_STATS_LUS; i++) {
        struct fault_lu_stats *l = &s->lu[i];
        if (!atomic_load_explicit(&l->used, memory_order_acquire))
            break; /* claimed in order */
        uint64_t count = atomic_load_explicit(&l->count, memory_order_relaxed) - l->base_count;
        if (!count)
            continue; /* nothing since the last reset */
        tbuf_printf(b, "%s{\"drive\":\"%u:%u\",\"count\":%llu,\"bytes\":%llu,\"injected\":%llu}", first ? "" : ",",
                    l->target, l->lun, (unsigned long long)count,
                    (unsigned long long)(atomic_load_explicit(&l->bytes, memory_order_relaxed) - l->base_bytes),
                    (unsigned long long)(atomic_load_explicit(&l->injected, memory_order_relaxed) - l->base_injected));
        first = false;
    }
    tbuf_putc(b, ']');
    if (!open)
        tbuf_putc(b, '}');
    pthread_mutex_unlock(&s->lock);
}
