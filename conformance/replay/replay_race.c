/* conformance/replay/replay_race.c — judging a READ that raced WRITEs
 * (docs/replay.md, "Concurrency").
 *
 * A trace recorded from concurrent I/O holds one execution order; the
 * replay, issuing the same commands together, may execute them in another
 * that SAM equally allows.  So the data-in of a READ is accepted when, block
 * by block, it is what some allowed order gives:
 *
 *   - the recorded data (the order the recording saw), or
 *   - the data of a WRITE to that block the READ raced: one in flight
 *     together with it (its CMD before the READ's STATUS, its STATUS after
 *     the READ's CMD), or one of the latest WRITEs completed before the READ
 *     was issued when several of those were themselves in flight together.
 *
 * A WRITE that completed before another WRITE to the block was issued is
 * overwritten by it; ORDERED orders a task after every task issued before
 * it, and every task issued after it after it (SAM-5 8.6).  A READ with no
 * such race is judged as before, byte for byte.  When a raced READ fits no
 * order, its note names the commands that raced, so the report says which
 * ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/replay_priv.h"
#include "scsi/cdb.h"

#define RACE_NAMED_MAX 4u /* commands named in a note */

struct race_cmd {
    size_t   task;
    size_t   cmd_line, status_line;   /* indices in t->lines (status: SIZE_MAX when none) */
    uint16_t target, lun;
    struct cdb_rw rw;
    enum trace_task_attr attr;
};

static const struct trace_record *rec(const struct trace *t, size_t line)
{
    return &t->lines[line].record;
}

static uint32_t block_size(const struct replay *rp, uint16_t target, uint16_t lun)
{
    for (size_t i = 0; rp->cfg_ok && i < rp->cfg.lu_count; i++)
        if (rp->cfg.lus[i].target == target && rp->cfg.lus[i].lun == lun)
            return rp->cfg.lus[i].block_size;
    return 512;
}

/* a surely ran before b (SAM-5): a completed before b was issued, or
 * one of them is ORDERED and a was issued first. */
static bool before(const struct race_cmd *a, const struct race_cmd *b)
{
    if (a->status_line < b->cmd_line)
        return true;
    return a->cmd_line < b->cmd_line && (a->attr == TRACE_ATTR_ORDERED || b->attr == TRACE_ATTR_ORDERED);
}

static bool covers(const struct race_cmd *w, const struct race_cmd *r, uint64_t lba)
{
    return w->target == r->target && w->lun == r->lun && lba >= w->rw.lba && lba - w->rw.lba < w->rw.blocks;
}

/* The READ and WRITE (6/10/12/16) commands at layers H and W. */
static size_t collect(const struct replay *rp, struct race_cmd *out)
{
    const struct trace *t = rp->t;
    size_t n = 0;
    for (size_t i = 0; i < t->n_tasks; i++) {
        const struct trace_task *tk = &t->tasks[i];
        const struct trace_record *r = rec(t, tk->request);
        if (r->verb != TRACE_VERB_CMD || r->layer == TRACE_LAYER_CONTROLLER)
            continue;
        uint8_t cdb[16];
        long len = trace_pattern_bytes(&r->cmd.cdb, cdb, sizeof cdb);
        struct cdb_rw rw;
        if (len <= 0 || !cdb_parse_rw(cdb, (uint8_t)len, &rw) || rw.blocks == 0)
            continue;
        struct trace_nexus nx = trace_record_nexus(t, r);
        out[n++] = (struct race_cmd){
            .task = i, .cmd_line = tk->request, .status_line = tk->response == TRACE_NONE ? SIZE_MAX : tk->response,
            .target = (nx.any & TRACE_ANY_TARGET) ? 0 : (uint16_t)nx.target,
            .lun = (nx.any & TRACE_ANY_LUN) ? 0 : (uint16_t)nx.lun, .rw = rw,
            .attr = r->cmd.attr,
        };
    }
    return n;
}

/* What judging one READ needs besides the writes: when no command involved
 * is ORDERED, "w was overwritten before r ran" at block b reduces to "some
 * write covering b was issued after w completed, and completed before r was
 * issued", i.e. latest[b - r's LBA] > w's status line, where latest[] holds,
 * per block, the latest CMD line of the writes covering it that completed
 * before r was issued (0: none).  That makes each candidate test O(1)
 * instead of a scan of every write: a recording of a long QD1 session
 * (thousands of writes to the same blocks) is judged in seconds, not minutes.
 * With ORDERED commands, latest is NULL and the exact scan runs. */
struct race_ctx {
    const struct race_cmd *c;
    size_t n;
    const size_t *latest;
};

/* Whether write w may be what read r saw at block lba: r raced it, or it is
 * among the latest writes to the block before r and not surely overwritten. */
static bool candidate(const struct race_ctx *x, const struct race_cmd *w, const struct race_cmd *r, uint64_t lba)
{
    if (!w->rw.write || !covers(w, r, lba) || w->cmd_line > r->status_line || before(r, w))
        return false;
    if (x->latest)
        return x->latest[lba - r->rw.lba] <= w->status_line;
    const struct race_cmd *c = x->c;
    size_t n = x->n;
    for (size_t i = 0; i < n; i++) {
        const struct race_cmd *o = &c[i];
        if (o != w && o->rw.write && covers(o, r, lba) && before(w, o) && before(o, r))
            return false; /* overwritten before r ran */
    }
    return true;
}

/* The concrete bytes of w's data for block lba (bs bytes) into buf; false
 * when the trace has no such bytes. */
static bool write_block(const struct trace *t, const struct race_cmd *w, uint64_t lba, uint32_t bs, uint8_t *buf,
                        uint8_t *scratch, size_t scratch_len)
{
    const struct trace_task *tk = &t->tasks[w->task];
    uint64_t off = (lba - w->rw.lba) * bs;
    if (tk->dout == TRACE_NONE || off + bs > scratch_len)
        return false;
    memset(scratch, 0, scratch_len);
    struct trace_pattern view;
    if (trace_data_view(t, tk->dout, &view))
        return false;
    long got = trace_pattern_bytes(&view, scratch, scratch_len);
    trace_data_view_free(&view);
    if (got < 0)
        return false;
    memcpy(buf, scratch + off, bs);
    return true;
}

/* Whether the replay's w wrote its data: it completed GOOD. */
static bool wrote(const struct replay *rp, const struct race_cmd *w)
{
    const struct replay_task *k = &rp->tasks[w->task];
    return k->done && k->c.response == DRV_SR_TASK_COMPLETE && k->c.scsi_status == 0;
}

static bool zero(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Expands a pattern into value and mask bytes (len of each); bytes it does
 * not describe get mask 0 only when the pattern ends in "..". */
static void expand(const struct trace_pattern *p, uint8_t *value, uint8_t *mask, uint64_t len)
{
    memset(mask, 0xff, len);
    memset(value, 0, len);
    uint64_t at = 0;
    for (size_t i = 0; i < p->n_elems && at < len; i++) {
        const struct trace_pat_elem *e = &p->elems[i];
        for (uint64_t k = 0; k < e->n && at < len; k++, at++)
            trace_pat_elem_byte(e, k, &value[at], &mask[at]);
    }
    if (p->rest && at < len)
        memset(mask + at, 0, len - at);
}

static bool fits(const uint8_t *got, const uint8_t *value, const uint8_t *mask, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if ((got[i] & mask[i]) != (value[i] & mask[i]))
            return false;
    return true;
}

/* Names of the writes that raced r, for its note. */
static void name_racers(const struct replay *rp, const struct race_ctx *x, const struct race_cmd *r, char *out,
                        size_t len)
{
    const struct race_cmd *c = x->c;
    size_t n = x->n;
    size_t used = strlen(out), named = 0, more = 0;
    for (size_t i = 0; i < n; i++) {
        const struct race_cmd *w = &c[i];
        bool overlap = w->rw.write && w->target == r->target && w->lun == r->lun && w->rw.lba < r->rw.lba + r->rw.blocks &&
                       r->rw.lba < w->rw.lba + w->rw.blocks;
        if (!overlap || w->cmd_line > r->status_line || (w->status_line < r->cmd_line && !candidate(x, w, r, w->rw.lba > r->rw.lba ? w->rw.lba : r->rw.lba)))
            continue;
        if (named == RACE_NAMED_MAX) {
            more++;
            continue;
        }
        const struct trace_line *l = &rp->t->lines[w->cmd_line];
        int k = snprintf(out + used, len - used, "%s%s (line %u)", named ? ", " : "", l->record.tag, l->lineno);
        if (k < 0 || (size_t)k >= len - used)
            return;
        used += (size_t)k;
        named++;
    }
    if (more)
        snprintf(out + used, len - used, " and %zu more", more);
}

/* Judges one READ r (a replay task that completed GOOD with its data). */
/* Is there a race at all?  Some block with two candidate writes, or one in
 * flight together with the read.  cnt: r->rw.blocks counters, or NULL (the
 * exact pairwise scan). */
static bool raced_at_all(const struct race_ctx *x, const struct race_cmd *r, unsigned *cnt)
{
    const struct race_cmd *c = x->c;
    size_t n = x->n;
    for (size_t i = 0; i < n; i++) {
        const struct race_cmd *w = &c[i];
        if (!w->rw.write || w->target != r->target || w->lun != r->lun)
            continue;
        for (uint64_t b = 0; b < r->rw.blocks; b++) {
            if (!candidate(x, w, r, r->rw.lba + b))
                continue;
            if (w->status_line > r->cmd_line)
                return true;
            if (cnt) {
                if (++cnt[b] > 1)
                    return true;
                continue;
            }
            for (size_t j = 0; j < n; j++)
                if (j != i && candidate(x, &c[j], r, r->rw.lba + b))
                    return true;
        }
    }
    return false;
}

/* latest[] of struct race_ctx for r (r->rw.blocks entries), or NULL when
 * an ORDERED command is involved or the read is too long to index. */
static size_t *latest_writes(const struct race_cmd *c, size_t n, const struct race_cmd *r)
{
    if (r->attr == TRACE_ATTR_ORDERED || r->rw.blocks > (1u << 20))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (c[i].attr == TRACE_ATTR_ORDERED)
            return NULL;
    size_t *latest = calloc(r->rw.blocks, sizeof *latest);
    for (size_t i = 0; latest && i < n; i++) {
        const struct race_cmd *o = &c[i];
        if (!o->rw.write || o->target != r->target || o->lun != r->lun || o->status_line >= r->cmd_line)
            continue;
        uint64_t from = o->rw.lba > r->rw.lba ? o->rw.lba : r->rw.lba;
        uint64_t o_end = o->rw.lba + o->rw.blocks, r_end = r->rw.lba + r->rw.blocks;
        uint64_t to = o_end < r_end ? o_end : r_end;
        for (uint64_t b = from; b < to; b++)
            if (latest[b - r->rw.lba] < o->cmd_line)
                latest[b - r->rw.lba] = o->cmd_line;
    }
    return latest;
}

static void judge_read(struct replay *rp, const struct race_cmd *c, size_t n, const struct race_cmd *r)
{
    const struct trace *t = rp->t;
    const struct trace_task *tk = &t->tasks[r->task];
    struct replay_task *k = &rp->tasks[r->task];
    if (tk->din == TRACE_NONE || !k->done || !k->din || k->c.scsi_status != 0)
        return;
    size_t *latest = latest_writes(c, n, r);
    unsigned *cnt = latest ? calloc(r->rw.blocks, sizeof *cnt) : NULL;
    struct race_ctx ctx = { .c = c, .n = n, .latest = cnt ? latest : NULL }, *x = &ctx;
    bool raced = raced_at_all(x, r, cnt);
    free(cnt);
    if (!raced) {
        free(latest);
        return;
    }
    uint32_t bs = block_size(rp, r->target, r->lun);
    uint64_t want = (uint64_t)r->rw.blocks * bs;
    struct trace_pattern din;
    if (k->din_len != want || trace_data_view(t, tk->din, &din)) {
        free(latest); /* a short read: judged byte for byte */
        return;
    }
    uint8_t *value = malloc(want), *mask = malloc(want), *blk = malloc(bs);
    uint64_t scratch_len = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].rw.write && (uint64_t)c[i].rw.blocks * bs > scratch_len)
            scratch_len = (uint64_t)c[i].rw.blocks * bs;
    uint8_t *scratch = malloc(scratch_len ? scratch_len : 1);
    bool ok = value && mask && blk && scratch;
    if (ok)
        expand(&din, value, mask, want);
    uint64_t bad_lba = 0;
    for (uint64_t b = 0; ok && b < r->rw.blocks; b++) {
        const uint8_t *got = k->din + b * bs;
        if (fits(got, value + b * bs, mask + b * bs, bs))
            continue; /* the recorded data */
        bool any = false, earlier = false;
        for (size_t i = 0; i < n && !any; i++) {
            if (!candidate(x, &c[i], r, r->rw.lba + b) || !wrote(rp, &c[i]))
                continue;
            earlier |= before(&c[i], r);
            any = write_block(t, &c[i], r->rw.lba + b, bs, blk, scratch, (size_t)scratch_len) && !memcmp(blk, got, bs);
        }
        /* Every write to the block raced the read: it may have run first
         * and seen what the block held before, zeros on a replay's fresh
         * media. */
        if (!any && !earlier)
            any = zero(got, bs);
        if (!any) {
            ok = false;
            bad_lba = r->rw.lba + b;
        }
    }
    if (value && mask && blk && scratch) {
        if (ok) {
            k->din_raced_ok = true;
        } else if (!k->note[0]) {
            snprintf(k->note, sizeof k->note, "block %llu fits no order SAM allows for the commands that raced: the "
                     "recorded data, or the data of ", (unsigned long long)bad_lba);
            name_racers(rp, x, r, k->note, sizeof k->note);
        }
    }
    free(value);
    free(mask);
    free(blk);
    free(scratch);
    free(latest);
    trace_data_view_free(&din);
}

/* Writes by (target, lun, LBA), to find the ones a read overlaps without
 * looking at every command (a recording can hold millions). */
static int cmp_by_place(const void *a, const void *b)
{
    const struct race_cmd *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->lun != y->lun)
        return x->lun < y->lun ? -1 : 1;
    return x->rw.lba < y->rw.lba ? -1 : x->rw.lba > y->rw.lba;
}

static int cmp_by_line(const void *a, const void *b)
{
    const struct race_cmd *x = a, *y = b;
    return x->cmd_line < y->cmd_line ? -1 : x->cmd_line > y->cmd_line;
}

/* The first write at or after (target, lun, lba) in the sorted writes. */
static size_t first_at(const struct race_cmd *ws, size_t n, uint16_t target, uint16_t lun, uint64_t lba)
{
    struct race_cmd key = { .target = target, .lun = lun };
    key.rw.lba = lba;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_by_place(&ws[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void replay_judge_races(struct replay *rp)
{
    const struct trace *t = rp->t;
    size_t cap = t->n_tasks ? t->n_tasks : 1;
    struct race_cmd *c = calloc(cap, sizeof *c), *ws = calloc(cap, sizeof *ws), *w = calloc(cap, sizeof *w);
    size_t n = c && ws && w ? collect(rp, c) : 0, nws = 0;
    uint64_t longest = 1; /* blocks of the longest write: how far back a write can start and still overlap */
    for (size_t i = 0; i < n; i++)
        if (c[i].rw.write) {
            ws[nws++] = c[i];
            if (c[i].rw.blocks > longest)
                longest = c[i].rw.blocks;
        }
    qsort(ws, nws, sizeof *ws, cmp_by_place);
    for (size_t i = 0; i < n && nws; i++) {
        const struct race_cmd *r = &c[i];
        const struct trace_task *tk = &t->tasks[r->task];
        const struct replay_task *k = &rp->tasks[r->task];
        if (r->rw.write || tk->din == TRACE_NONE || !k->done || !k->din || k->c.scsi_status != 0)
            continue; /* judge_read would not look at it */
        /* Only the writes to r's blocks issued before r completed matter. */
        uint64_t from = r->rw.lba >= longest - 1 ? r->rw.lba - (longest - 1) : 0, end = r->rw.lba + r->rw.blocks;
        size_t nw = 0;
        for (size_t j = first_at(ws, nws, r->target, r->lun, from);
             j < nws && ws[j].target == r->target && ws[j].lun == r->lun && ws[j].rw.lba < end; j++)
            if (ws[j].cmd_line < r->status_line && r->rw.lba < ws[j].rw.lba + ws[j].rw.blocks)
                w[nw++] = ws[j];
        if (!nw)
            continue;
        qsort(w, nw, sizeof *w, cmp_by_line); /* file order, as the notes name them */
        judge_read(rp, w, nw, r);
    }
    free(c);
    free(ws);
    free(w);
}
