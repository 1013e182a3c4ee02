/* conformance/directive/ctl.c — what `scsisim ctl` does to a running
 * controller, as directives, so a trace reaches the paths only an operator
 * reached before:
 *
 *   set [battery=absent|good|failed] [write-cache=on|off]
 *       `scsisim ctl set T:L ...` for the drives at the nexus: the battery
 *       changes state at run time (sim_ctrl_set_battery), the controller's
 *       write-cache setting (sim_ctrl_set_write_cache, as SET FEATURE).
 *       Needs "simulator"; works in both modes (the bus carries both).
 *   stats [opcode=XX] KEY=N|KEY<=N...
 *       judges counters of the live statistics (`scsisim ctl stats`,
 *       docs/faults.md "Statistics"): without opcode= the drives' at the
 *       nexus (summed), with it the opcode's over every drive.  KEY<=N is a
 *       bound, for a counter whose exact value is the implementation's
 *       business but whose growth is not (line-records: memory).  The counters
 *       run from the controller's creation and count the driver core's own
 *       commands too, so a trace judges counters the core leaves alone.
 *       Needs "controller-layer": the statistics do not cross processes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/tbuf.h"
#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "hw/hba.h"

/* ---- set ----------------------------------------------------------------- */

static const char *const onoff_word[] = { "off", "on" };
static const struct trace_words onoff_words = { onoff_word, 2 };

#define SET_USAGE "set [battery=absent|good|failed] [write-cache=on|off]"

static int set_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    int got, v;
    while ((got = tp_next(p, &tok)) == 1) {
        if (!tp_split_kv(&tok, &key, &val))
            return tp_fail(p, tok.col, "unexpected '%s'; write " SET_USAGE, tp_tok_str(&tok, shown, sizeof shown));
        bool battery = tp_tok_is(&key, "battery");
        if (!battery && !tp_tok_is(&key, "write-cache"))
            return tp_fail(p, tok.col, "set has no setting '%s'; write " SET_USAGE,
                           tp_tok_str(&key, shown, sizeof shown));
        bool *given = battery ? &d->set_battery_given : &d->set_wce_given;
        if (*given)
            return tp_fail(p, tok.col, "'%s' is given twice", tp_tok_str(&key, shown, sizeof shown));
        if (tp_word(p, &val, battery ? &trace_battery_words : &onoff_words,
                    battery ? "battery state" : "write-cache setting", &v))
            return -EINVAL;
        if (battery)
            d->set_battery = (uint8_t)v;
        else
            d->set_wce = v == 1;
        *given = true;
    }
    if (got < 0)
        return got;
    if (!d->set_battery_given && !d->set_wce_given)
        return tp_fail(p, tp_end_col(p), "set needs a setting (e.g. set battery=good)");
    return 0;
}

static void set_print(struct tbuf *b, const struct trace_directive *d)
{
    if (d->set_battery_given)
        tbuf_printf(b, " battery=%s", trace_word(&trace_battery_words, d->set_battery));
    if (d->set_wce_given)
        tbuf_printf(b, " write-cache=%s", d->set_wce ? "on" : "off");
}

static bool set_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->set_battery_given == b->set_battery_given && a->set_wce_given == b->set_wce_given &&
           (!a->set_battery_given || a->set_battery == b->set_battery) &&
           (!a->set_wce_given || a->set_wce == b->set_wce);
}

static bool ctl_uses_nexus(const struct trace_directive *d)
{
    return d->kind != TRACE_DIR_STATS || !d->stats_opcode_given;
}

static const char *set_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "set";
    return "simulator";
}

struct ctl_ctx {
    const struct trace_directive *d;
    size_t line;
    const char *json;        /* stats */
    uint64_t sum[TRACE_STATS_KEYS];
};

static const char *set_why(int rc)
{
    return rc < 0 ? strerror(-rc) : "a positive answer, where the contract is 0 or -errno";
}

static int set_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct ctl_ctx *x = arg;
    int rc;
    /* The battery first, so that a write cache the same directive turns on
     * starts with the battery already in its new state. */
    if (x->d->set_battery_given &&
        (rc = stack_set_battery(rp->st, target, lun, (enum hba_battery)x->d->set_battery)) != 0)
        replay_problem(rp, x->line, "set battery=%s on %u:%u failed (%s)",
                       trace_word(&trace_battery_words, x->d->set_battery), target, lun, set_why(rc));
    if (x->d->set_wce_given && (rc = stack_set_write_cache(rp->st, target, lun, x->d->set_wce)) != 0)
        replay_problem(rp, x->line, "set write-cache=%s on %u:%u failed (%s)", x->d->set_wce ? "on" : "off",
                       target, lun, set_why(rc));
    return 0;
}

static void set_run(struct replay *rp, size_t line)
{
    if (!replay_need_stack(rp, line, "set"))
        return;
    struct trace_nexus nx = trace_record_nexus(rp->t, replay_record(rp, line));
    struct ctl_ctx x = { .d = &replay_record(rp, line)->directive, .line = line };
    if (replay_for_drives(rp, &nx, set_one, &x) == 0)
        replay_problem(rp, line, "set: no drive at the directive's nexus");
}

const struct trace_directive_ops trace_dir_set = {
    .parse = set_parse,
    .print = set_print,
    .equal = set_equal,
    .uses_nexus = ctl_uses_nexus,
    .needs = set_needs,
    .run = set_run,
};

/* ---- stats --------------------------------------------------------------- */

/* The counters, in canonical order: the trace's word, the JSON key, and
 * whether it is a cache counter (the "caches" array, per drive) or a command
 * counter (the "lus" array per drive, or "opcodes" with opcode=). */
static const struct {
    const char *word, *json;
    bool cache;
} stats_key[TRACE_STATS_KEYS] = {
    { "commands", "count", false },          { "bytes", "bytes", false },
    { "injected", "injected", false },       { "read-blocks", "read_blocks", true },
    { "hit-blocks", "hit_blocks", true },    { "dirty-lines", "dirty_lines", true },
    { "dirty-bytes", "dirty_bytes", true },  { "writebacks", "writebacks", true },
    { "blocks-written-back", "blocks_written_back", true },
    { "line-records", "line_records", true },
};

static int stats_key_find(const struct tp_tok *key)
{
    for (unsigned k = 0; k < TRACE_STATS_KEYS; k++)
        if (tp_tok_is(key, stats_key[k].word))
            return (int)k;
    return -1;
}

static int stats_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    int got;
    unsigned cache_col = 0;
    while ((got = tp_next(p, &tok)) == 1) {
        if (!tp_split_kv(&tok, &key, &val))
            return tp_fail(p, tok.col,
                           "unexpected '%s'; write stats [opcode=XX] COUNTER=N|COUNTER<=N... (e.g. stats hit-blocks=8)",
                           tp_tok_str(&tok, shown, sizeof shown));
        if (tp_tok_is(&key, "opcode")) {
            if (d->stats_opcode_given)
                return tp_fail(p, tok.col, "'opcode' is given twice");
            if (d->stats_given)
                return tp_fail(p, tok.col, "opcode= comes first, before the counters it selects");
            if (tp_hex_byte(p, &val, "opcode", &d->stats_opcode))
                return -EINVAL;
            d->stats_opcode_given = true;
            continue;
        }
        /* KEY<=N: the split at '=' leaves the '<' on the key. */
        bool atmost = key.len > 1 && key.s[key.len - 1] == '<';
        if (atmost)
            key.len--;
        if (atmost && tp_tok_is(&key, "opcode"))
            return tp_fail(p, tok.col, "opcode= selects an opcode; only a counter takes a bound (COUNTER<=N)");
        int k = stats_key_find(&key);
        if (k < 0) {
            char list[200] = "";
            for (unsigned i = 0; i < TRACE_STATS_KEYS; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", stats_key[i].word);
            return tp_fail(p, tok.col, "stats has no counter '%s'; the counters are %s",
                           tp_tok_str(&key, shown, sizeof shown), list);
        }
        if (d->stats_given & (1u << k))
            return tp_fail(p, tok.col, "'%s' is given twice", stats_key[k].word);
        if (stats_key[k].cache && !cache_col)
            cache_col = tok.col;
        if (tp_u64(p, &val, stats_key[k].word, UINT64_MAX, &d->stats_value[k]))
            return -EINVAL;
        d->stats_given |= (uint16_t)(1u << k);
        if (atmost)
            d->stats_atmost |= (uint16_t)(1u << k);
    }
    if (got < 0)
        return got;
    if (!d->stats_given)
        return tp_fail(p, tp_end_col(p), "stats needs a counter to judge (e.g. stats hit-blocks=8)");
    if (d->stats_opcode_given && cache_col)
        return tp_fail(p, cache_col, "an opcode has only commands, bytes and injected; the cache counters are a "
                                     "drive's (leave out opcode=)");
    return 0;
}

static void stats_print(struct tbuf *b, const struct trace_directive *d)
{
    if (d->stats_opcode_given)
        tbuf_printf(b, " opcode=0x%02x", d->stats_opcode);
    for (unsigned k = 0; k < TRACE_STATS_KEYS; k++)
        if (d->stats_given & (1u << k))
            tbuf_printf(b, " %s%s=%" PRIu64, stats_key[k].word, (d->stats_atmost & (1u << k)) ? "<" : "",
                        d->stats_value[k]);
}

static bool stats_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    if (a->stats_opcode_given != b->stats_opcode_given || a->stats_given != b->stats_given ||
        a->stats_atmost != b->stats_atmost ||
        (a->stats_opcode_given && a->stats_opcode != b->stats_opcode))
        return false;
    for (unsigned k = 0; k < TRACE_STATS_KEYS; k++)
        if ((a->stats_given & (1u << k)) && a->stats_value[k] != b->stats_value[k])
            return false;
    return true;
}

static const char *stats_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "stats";
    return "controller-layer";
}

/* The object of `array` whose `id_key` is `id`, in JSON the controller wrote
 * (sim_ctrl_stats_json: arrays of flat objects): its [*from, *to) span.
 * False when the array has none (a drive or opcode nothing counted yet). */
static bool stats_object(const char *json, const char *array, const char *id_key, const char *id, const char **from,
                         const char **to)
{
    char want[64];
    snprintf(want, sizeof want, "\"%s\":[", array);
    const char *p = strstr(json, want), *end;
    if (!p)
        return false;
    p += strlen(want);
    end = strchr(p, ']');
    if (!end)
        return false;
    snprintf(want, sizeof want, "{\"%s\":\"%s\"", id_key, id);
    const char *o = strstr(p, want);
    if (!o || o > end)
        return false;
    *from = o;
    *to = strchr(o, '}');
    return *to && *to <= end;
}

/* The counter `key` in the object [from, to); -ENOENT when it is not there. */
static int stats_counter(const char *from, const char *to, const char *key, uint64_t *out)
{
    char want[48];
    snprintf(want, sizeof want, "\"%s\":", key);
    const char *k = strstr(from, want);
    if (!k || k >= to)
        return -ENOENT;
    *out = strtoull(k + strlen(want), NULL, 10);
    return 0;
}

static int stats_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct ctl_ctx *x = arg;
    char id[16];
    snprintf(id, sizeof id, "%u:%u", target, lun);
    const char *cf, *ct, *lf = NULL, *lt = NULL;
    if (!stats_object(x->json, "caches", "drive", id, &cf, &ct)) {
        replay_problem(rp, x->line, "stats: the controller's statistics have no drive %s", id);
        return -ENOENT;
    }
    bool counted = stats_object(x->json, "lus", "drive", id, &lf, &lt);
    for (unsigned k = 0; k < TRACE_STATS_KEYS; k++) {
        if (!(x->d->stats_given & (1u << k)))
            continue;
        uint64_t v = 0;
        int rc = 0;
        if (stats_key[k].cache)
            rc = stats_counter(cf, ct, stats_key[k].json, &v);
        else if (counted)   /* a drive no command reached yet has no entry: all 0 */
            rc = stats_counter(lf, lt, stats_key[k].json, &v);
        if (rc < 0) {
            replay_problem(rp, x->line, "stats: drive %s has no counter %s in the controller's statistics", id,
                           stats_key[k].json);
            return rc;
        }
        x->sum[k] += v;
    }
    return 0;
}

static void stats_run(struct replay *rp, size_t line)
{
    const struct trace_directive *d = &replay_record(rp, line)->directive;
    if (!replay_need_stack(rp, line, "stats"))
        return;
    struct tbuf j = { 0 };
    int rc = stack_stats(rp->st, &j);
    if (rc < 0 || j.oom) {
        replay_problem(rp, line, "stats: the controller's statistics could not be read (%s)",
                       strerror(rc < 0 ? -rc : ENOMEM));
        tbuf_free(&j);
        return;
    }
    struct ctl_ctx x = { .d = d, .line = line, .json = tbuf_str(&j) };
    char what[48];
    if (d->stats_opcode_given) {
        char id[8];
        snprintf(id, sizeof id, "0x%02x", d->stats_opcode);
        snprintf(what, sizeof what, "opcode 0x%02x", d->stats_opcode);
        const char *from, *to;
        bool counted = stats_object(x.json, "opcodes", "opcode", id, &from, &to);
        for (unsigned k = 0; k < TRACE_STATS_KEYS && counted; k++)
            if ((d->stats_given & (1u << k)) && stats_counter(from, to, stats_key[k].json, &x.sum[k]) < 0) {
                replay_problem(rp, line, "stats: %s has no counter %s in the controller's statistics", what,
                               stats_key[k].json);
                rc = -ENOENT;
            }
    } else {
        struct trace_nexus nx = trace_record_nexus(rp->t, replay_record(rp, line));
        snprintf(what, sizeof what, "the nexus's drives");
        rc = replay_for_drives(rp, &nx, stats_one, &x);
        if (rc == 0) {
            replay_problem(rp, line, "stats: no drive at the directive's nexus");
            rc = -ENOENT;
        }
    }
    tbuf_free(&j);
    if (rc < 0)
        return;
    /* Every counter that differs, in one short note: the author sees them all. */
    struct tbuf m = { 0 };
    for (unsigned k = 0; k < TRACE_STATS_KEYS; k++) {
        bool atmost = d->stats_atmost & (1u << k);
        if ((d->stats_given & (1u << k)) && (atmost ? x.sum[k] > d->stats_value[k] : x.sum[k] != d->stats_value[k]))
            tbuf_printf(&m, "%s%s=%" PRIu64 " (expected %s%" PRIu64 ")", m.len ? ", " : "", stats_key[k].word,
                        x.sum[k], atmost ? "at most " : "", d->stats_value[k]);
    }
    if (m.len)
        replay_problem(rp, line, "stats of %s differ: %s", what, m.oom ? "(out of memory)" : tbuf_str(&m));
    tbuf_free(&m);
}

const struct trace_directive_ops trace_dir_stats = {
    .parse = stats_parse,
    .print = stats_print,
    .equal = stats_equal,
    .uses_nexus = ctl_uses_nexus,
    .needs = stats_needs,
    .run = stats_run,
};
