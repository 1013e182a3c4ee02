/* conformance/directive/events.c — events ITEM[,ITEM...] | events none: the
 * asynchronous events the driver core reported to the layer above
 * (drv_core_options.on_event) since the previous events line, judged in
 * order.  Items:
 *
 *   fault:S[-E][@IOVA]  IOMMU fault log entries S..E (sequence numbers of the
 *                       controller's log, in the entry and the event's info),
 *                       each reported once; @IOVA: each entry's IOVA
 *   cache-lost:N        CACHE_LOST, N dirty lines lost at the last power cut
 *   drive-changed:T:L   DRIVE_CHANGED of drive T:L (inserted, removed, resized)
 *   battery:STATE       BATTERY, the battery's new state (absent, good, failed)
 *   ITEM*N              one of the three above N times in a row
 *
 * Only the datasheet's events count (DRV_EVENT_IOMMU_FAULT, _BATTERY,
 * _DRIVE_CHANGED, _CACHE_LOST); the core's own CONTROLLER_RESET and
 * CONTROLLER_DEAD are not asynchronous events of the controller.  The replay
 * waits for as many events as the line lists (a failure detector, not a
 * timing assertion); one more, if it has come by then, fails too.  Each line
 * is one check (TRACE_CHECK_CONTROLLER, like rogue). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "conformance/replay/replay_priv.h"

#define EVENTS_ITEMS    8u
#define EVENTS_LIMIT_MS 2000 /* failure detector, not a timing assertion */

struct events_item {
    enum drv_event_kind kind; /* DRV_EVENT_IOMMU_FAULT, _CACHE_LOST, _DRIVE_CHANGED or _BATTERY */
    uint32_t lo, hi;          /* fault: sequence numbers; else lo = 0, hi = repeats - 1 (*N) */
    uint32_t info;            /* cache-lost: the lines; battery: enum hba_battery */
    uint16_t target, lun;     /* drive-changed */
    bool     iova_given;
    uint64_t iova;
};

struct trace_events {
    struct events_item item[EVENTS_ITEMS];
    uint8_t n;
};

static const char usage[] = "events takes none, or a list of fault:S[-E][@IOVA] (IOMMU fault log entries S..E), "
                            "cache-lost:N, drive-changed:T:L and battery:absent|good|failed (these three with *N: N times) "
                            "separated by ','";

/* One number of an item, [s, e). */
static int item_number(struct tp *p, const char *s, const char *e, unsigned col, const char *what, uint64_t max,
                       uint64_t *out)
{
    if (s == e)
        return tp_fail(p, col, "%s", usage);
    struct tp_tok num = { .s = s, .len = (size_t)(e - s), .col = col };
    return tp_u64(p, &num, what, max, out) ? -EINVAL : 0;
}

/* The repeat of a cache-lost or drive-changed item, "*N" at its end: the
 * same event N times in a row (hi = N - 1), as a fault range lists several
 * entries; *e moves back to the star. */
static int item_repeat(struct tp *p, struct events_item *it, const char *s, const char **e, unsigned col)
{
    const char *star = memchr(s, '*', (size_t)(*e - s));
    if (!star)
        return 0;
    uint64_t v;
    unsigned c = col + (unsigned)(star + 1 - s);
    if (item_number(p, star + 1, *e, c, "repeat count", REPLAY_EVENTS_MAX, &v))
        return -EINVAL;
    if (!v)
        return tp_fail(p, c, "a repeat count is at least 1 (*1 or no star for one event)");
    it->hi = (uint32_t)v - 1u;
    *e = star;
    return 0;
}

static int parse_item(struct tp *p, struct events_item *it, const char *s, const char *e, unsigned col)
{
    uint64_t v;
    if (((size_t)(e - s) > 11 && !strncmp(s, "cache-lost:", 11)) ||
        ((size_t)(e - s) > 14 && !strncmp(s, "drive-changed:", 14)) ||
        ((size_t)(e - s) > 8 && !strncmp(s, "battery:", 8))) {
        if (item_repeat(p, it, s, &e, col))
            return -EINVAL;
    }
    if ((size_t)(e - s) > 11 && !strncmp(s, "cache-lost:", 11)) {
        it->kind = DRV_EVENT_CACHE_LOST;
        if (item_number(p, s + 11, e, col + 11, "cache-lost lines", 0xFFFFFF, &v))
            return -EINVAL;
        it->info = (uint32_t)v;
        return 0;
    }
    if ((size_t)(e - s) > 14 && !strncmp(s, "drive-changed:", 14)) {
        it->kind = DRV_EVENT_DRIVE_CHANGED;
        const char *colon = memchr(s + 14, ':', (size_t)(e - s - 14));
        if (!colon)
            return tp_fail(p, col + 14, "drive-changed: needs T:L, the drive");
        if (item_number(p, s + 14, colon, col + 14, "target", 0xFFFF, &v))
            return -EINVAL;
        it->target = (uint16_t)v;
        if (item_number(p, colon + 1, e, col + (unsigned)(colon + 1 - s), "LUN", 0xFFFF, &v))
            return -EINVAL;
        it->lun = (uint16_t)v;
        return 0;
    }
    if ((size_t)(e - s) > 8 && !strncmp(s, "battery:", 8)) {
        it->kind = DRV_EVENT_BATTERY;
        struct tp_tok word = { .s = s + 8, .len = (size_t)(e - s - 8), .col = col + 8 };
        int state;
        if (tp_word(p, &word, &trace_battery_words, "battery state", &state))
            return -EINVAL;
        it->info = (uint32_t)state;
        return 0;
    }
    if ((size_t)(e - s) <= 6 || strncmp(s, "fault:", 6))
        return tp_fail(p, col, "%s", usage);
    it->kind = DRV_EVENT_IOMMU_FAULT;
    const char *star = memchr(s, '*', (size_t)(e - s));
    if (star) /* each fault is its own log entry, reported once */
        return tp_fail(p, col + (unsigned)(star - s), "a fault is not repeated: write entries S..E as fault:S-E");
    const char *at = memchr(s, '@', (size_t)(e - s));
    const char *end = at ? at : e;
    const char *dash = memchr(s + 6, '-', (size_t)(end - s - 6));
    if (item_number(p, s + 6, dash ? dash : end, col + 6, "fault sequence number", UINT32_MAX, &v))
        return -EINVAL;
    it->lo = it->hi = (uint32_t)v;
    if (dash) {
        unsigned c = col + (unsigned)(dash + 1 - s);
        if (item_number(p, dash + 1, end, c, "last fault sequence number", UINT32_MAX, &v))
            return -EINVAL;
        if (v < it->lo)
            return tp_fail(p, c, "fault:%u-%llu: the range ends before it starts", it->lo, (unsigned long long)v);
        if (v - it->lo >= REPLAY_EVENTS_MAX)
            return tp_fail(p, c, "a fault range has at most %u entries", REPLAY_EVENTS_MAX);
        it->hi = (uint32_t)v;
    }
    if (at) {
        if (item_number(p, at + 1, e, col + (unsigned)(at + 1 - s), "IOVA", UINT64_MAX, &it->iova))
            return -EINVAL;
        it->iova_given = true;
    }
    return 0;
}

static int events_parse(struct tp *p, struct trace_directive *d)
{
    struct tp_tok tok;
    int rc = tp_one_arg(p, &tok, "events", "events fault:0-2 or events none");
    if (rc)
        return rc;
    struct trace_events one = { 0 };
    if (!tp_tok_is(&tok, "none")) {
        const char *s = tok.s, *end = tok.s + tok.len;
        while (s <= end) {
            const char *e = memchr(s, ',', (size_t)(end - s));
            if (!e)
                e = end;
            unsigned col = tok.col + (unsigned)(s - tok.s);
            if (one.n == EVENTS_ITEMS)
                return tp_fail(p, col, "events lists at most %u items (a range fault:S-E is one)", EVENTS_ITEMS);
            if (parse_item(p, &one.item[one.n++], s, e, col))
                return -EINVAL;
            s = e + 1;
        }
    }
    if ((rc = tp_no_more(p, "the events list")))
        return rc;
    if (!(d->events = malloc(sizeof *d->events)))
        return tp_fail(p, 1, "out of memory");
    *d->events = one;
    return 0;
}

/* A battery state in the directive's words; the parser takes only known ones. */
static const char *battery_text(uint32_t state)
{
    const char *w = trace_word(&trace_battery_words, state);
    return w ? w : "unknown";
}

/* An item in the directive's words; for a fault, entries lo..hi of it. */
static const char *item_text(const struct events_item *it, uint32_t lo, uint32_t hi, char *buf, size_t len)
{
    if (it->kind != DRV_EVENT_IOMMU_FAULT) {
        int n = it->kind == DRV_EVENT_CACHE_LOST ? snprintf(buf, len, "cache-lost:%u", it->info)
                : it->kind == DRV_EVENT_BATTERY  ? snprintf(buf, len, "battery:%s", battery_text(it->info))
                                                 : snprintf(buf, len, "drive-changed:%u:%u", it->target, it->lun);
        if (hi != lo && n > 0 && (size_t)n < len)
            snprintf(buf + n, len - (size_t)n, "*%u", hi - lo + 1u);
        return buf;
    }
    int n = hi != lo ? snprintf(buf, len, "fault:%u-%u", lo, hi) : snprintf(buf, len, "fault:%u", lo);
    if (it->iova_given && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "@%#" PRIx64, it->iova);
    return buf;
}

static void events_print(struct tbuf *b, const struct trace_directive *d)
{
    const struct trace_events *v = d->events;
    char text[96];
    if (!v->n)
        tbuf_printf(b, " none");
    for (uint8_t i = 0; i < v->n; i++)
        tbuf_printf(b, "%s%s", i ? "," : " ", item_text(&v->item[i], v->item[i].lo, v->item[i].hi, text, sizeof text));
}

static bool events_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    const struct trace_events *x = a->events, *y = b->events;
    if (x->n != y->n)
        return false;
    for (uint8_t i = 0; i < x->n; i++) {
        const struct events_item *u = &x->item[i], *w = &y->item[i];
        if (u->kind != w->kind || u->lo != w->lo || u->hi != w->hi || u->iova_given != w->iova_given ||
            (u->iova_given && u->iova != w->iova) || u->info != w->info || u->target != w->target ||
            u->lun != w->lun)
            return false;
    }
    return true;
}

static void events_free(struct trace_directive *d)
{
    free(d->events);
    d->events = NULL;
}

static const char *events_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "events (the driver core's asynchronous events)";
    return "simulator";
}

/* ---- replay ------------------------------------------------------------------ */

static bool is_async_event(enum drv_event_kind k)
{
    return k == DRV_EVENT_IOMMU_FAULT || k == DRV_EVENT_BATTERY || k == DRV_EVENT_DRIVE_CHANGED ||
           k == DRV_EVENT_CACHE_LOST;
}

static unsigned items_total(const struct trace_events *v)
{
    unsigned n = 0;
    for (uint8_t i = 0; i < v->n; i++)
        n += v->item[i].hi - v->item[i].lo + 1;
    return n;
}

/* The k-th event the line lists. */
static const struct events_item *listed(const struct trace_events *v, unsigned k, uint32_t *seq)
{
    for (uint8_t i = 0; i < v->n; i++) {
        unsigned n = v->item[i].hi - v->item[i].lo + 1;
        if (k < n) {
            *seq = v->item[i].lo + k;
            return &v->item[i];
        }
        k -= n;
    }
    return NULL;
}

static const char *event_text(const struct drv_event *e, char *buf, size_t len)
{
    switch (e->kind) {
    case DRV_EVENT_IOMMU_FAULT:
        snprintf(buf, len, "fault:%u@%#" PRIx64, e->fault.seq, e->fault.iova);
        break;
    case DRV_EVENT_CACHE_LOST:     snprintf(buf, len, "cache-lost:%u", e->info); break;
    case DRV_EVENT_BATTERY:
        if (trace_word(&trace_battery_words, e->info))
            snprintf(buf, len, "battery:%s", battery_text(e->info));
        else
            snprintf(buf, len, "battery:%u (no such state)", e->info);
        break;
    case DRV_EVENT_DRIVE_CHANGED:  snprintf(buf, len, "drive-changed:%u:%u", e->target, e->lun); break;
    default:                       snprintf(buf, len, "event kind %d", (int)e->kind); break;
    }
    return buf;
}

/* The datasheet's events among the core's reports from *from on, up to max;
 * *from moves past what was looked at.  Under rp->lock. */
static unsigned take_events(struct replay *rp, size_t *from, struct drv_event *out, unsigned max)
{
    unsigned n = 0;
    while (*from < rp->n_events && n < max) {
        const struct drv_event *e = &rp->events[(*from)++];
        if (is_async_event(e->kind))
            out[n++] = *e;
    }
    return n;
}

/* Waits for the listed number of events, then judges them (vd). */
static void judge(struct replay *rp, const struct trace_events *v, struct trace_actual_verdict *vd,
                  struct drv_event *got)
{
    unsigned want = items_total(v);
    unsigned n = 0;
    size_t from = rp->events_judged;
    bool lost = false;
    /* rp->cv runs on CLOCK_MONOTONIC, as base/clock.h; on_event signals it. */
    struct timespec end = clock_deadline_ms(EVENTS_LIMIT_MS);
    pthread_mutex_lock(&rp->lock);
    for (;;) {
        n += take_events(rp, &from, got + n, REPLAY_EVENTS_MAX + 1 - n);
        lost = rp->events_lost != 0;
        if (n >= want || lost || pthread_cond_timedwait(&rp->cv, &rp->lock, &end) == ETIMEDOUT)
            break;
    }
    n += take_events(rp, &from, got + n, REPLAY_EVENTS_MAX + 1 - n); /* what came with the timeout */
    pthread_mutex_unlock(&rp->lock);
    rp->events_judged = from;
    char a[96], b[96];
    snprintf(vd->expected, sizeof vd->expected, "the %u event(s) the line lists, no more", want);
    vd->ran = true;
    vd->pass = false;
    if (lost) {
        snprintf(vd->msg, sizeof vd->msg, "the driver core reported more than %u events in this trace: the replay "
                 "keeps only that many (split the trace)", REPLAY_EVENTS_MAX);
        return;
    }
    for (unsigned k = 0; k < n && k < want; k++) {
        uint32_t seq = 0;
        const struct events_item *it = listed(v, k, &seq);
        const struct drv_event *e = &got[k];
        bool same = e->kind == it->kind;
        if (same && (it->kind == DRV_EVENT_CACHE_LOST || it->kind == DRV_EVENT_BATTERY))
            same = e->info == it->info;
        else if (same && it->kind == DRV_EVENT_DRIVE_CHANGED)
            same = e->target == it->target && e->lun == it->lun;
        else if (same)
            same = e->fault.seq == seq && e->info == seq && (!it->iova_given || e->fault.iova == it->iova);
        if (!same) {
            snprintf(vd->msg, sizeof vd->msg, "event %u the driver core reported is %s, not %s", k + 1,
                     event_text(e, a, sizeof a), item_text(it, seq, seq, b, sizeof b));
            return;
        }
    }
    if (n < want) {
        uint32_t seq = 0;
        snprintf(vd->msg, sizeof vd->msg, "the driver core reported %u of the %u events within %d ms; the next "
                 "would be %s", n, want, EVENTS_LIMIT_MS, item_text(listed(v, n, &seq), seq, seq, a, sizeof a));
        return;
    }
    if (n > want) {
        snprintf(vd->msg, sizeof vd->msg, "the driver core reported %s after the %u event(s) listed",
                 event_text(&got[want], a, sizeof a), want);
        return;
    }
    vd->pass = true;
}

static void events_run(struct replay *rp, size_t line)
{
    const struct trace_events *v = replay_record(rp, line)->directive.events;
    struct trace_actual_verdict *vd = replay_verdict_add(rp, line);
    if (!vd) {
        replay_problem(rp, line, "events: out of memory");
        return;
    }
    struct drv_event *got = calloc(REPLAY_EVENTS_MAX + 1, sizeof *got); /* traces replay on threads of their own */
    if (!got) {
        replay_problem(rp, line, "events: out of memory");
        return;
    }
    judge(rp, v, vd, got);
    free(got);
}

const struct trace_directive_ops trace_dir_events = {
    .parse = events_parse,
    .print = events_print,
    .equal = events_equal,
    .free = events_free,
    .needs = events_needs,
    .run = events_run,
};
