/* conformance/directive/media.c — check-media [expect=durable|intact|
 * lost-unflushed]: the simulator's oracle compares the drives at the nexus
 * with what the commands before were promised; the judge makes the result
 * one check (conformance/report/trace_judge.c).  A replay needs "media-check". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"

static int check_media_parse(struct tp *p, struct trace_directive *d)
{
    char shown[48];
    struct tp_tok tok, key, val;
    int got = tp_next(p, &tok), v;
    if (got <= 0)
        return got;
    if (!tp_split_kv(&tok, &key, &val) || !tp_tok_is(&key, "expect"))
        return tp_fail(p, tok.col, "unexpected '%s'; write check-media [expect=durable|intact|lost-unflushed]",
                       tp_tok_str(&tok, shown, sizeof shown));
    if (tp_word(p, &val, &trace_media_words, "media expectation", &v))
        return -EINVAL;
    d->expect = (enum trace_media_expect)v;
    d->expect_given = true;
    return tp_no_more(p, "check-media expect=...");
}

static void check_media_print(struct tbuf *b, const struct trace_directive *d)
{
    if (d->expect_given)
        tbuf_printf(b, " expect=%s", trace_word(&trace_media_words, d->expect));
}

static bool check_media_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    return a->expect_given == b->expect_given && a->expect == b->expect;
}

static bool check_media_uses_nexus(const struct trace_directive *d)
{
    (void)d;
    return true;
}

static const char *check_media_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "check-media";
    return "media-check";
}

static int media_one(struct replay *rp, uint16_t target, uint16_t lun, void *arg)
{
    struct sim_oracle_report *sum = arg, r;
    int rc = stack_check_media(rp->st, target, lun, &r);
    if (rc < 0)
        return rc;
    if (r.durable_lost && !sum->durable_lost)
        sum->first_bad_lba = r.first_bad_lba;
    sum->blocks_checked += r.blocks_checked;
    sum->durable_lost += r.durable_lost;
    sum->volatile_kept += r.volatile_kept;
    sum->volatile_lost += r.volatile_lost;
    /* Every drive's runs, in the order the drives come, while room lasts. */
    for (uint32_t i = 0; i < r.n_ranges; i++) {
        if (sum->n_ranges < SIM_ORACLE_RANGES)
            sum->range[sum->n_ranges++] = r.range[i];
        else
            sum->ranges_more++;
    }
    sum->ranges_more += r.ranges_more;
    return 0;
}

static void check_media_run(struct replay *rp, size_t line)
{
    struct trace_actual_media *m = realloc(rp->media, (rp->n_media + 1) * sizeof *m);
    if (!m) {
        replay_problem(rp, line, "check-media: out of memory");
        return;
    }
    rp->media = m;
    m = &rp->media[rp->n_media++];
    memset(m, 0, sizeof *m);
    m->line = line;
    if (!replay_need_stack(rp, line, "check-media"))
        return;
    struct trace_nexus nx = trace_record_nexus(rp->t, replay_record(rp, line));
    int rc = replay_for_drives(rp, &nx, media_one, &m->report);
    if (rc < 0)
        replay_problem(rp, line, "check-media failed (%s)", strerror(-rc));
    else if (rc == 0)
        replay_problem(rp, line, "check-media: no drive at the directive's nexus");
    else
        m->checked = true;
}

const struct trace_directive_ops trace_dir_check_media = {
    .parse = check_media_parse,
    .print = check_media_print,
    .equal = check_media_equal,
    .uses_nexus = check_media_uses_nexus,
    .needs = check_media_needs,
    .run = check_media_run,
};
