/* tests/test_trace_parse.c — what a valid trace parses into: device lines
 * and the simulated controller they describe, every field of a record, every
 * pattern item, status alternatives, TMFs, directives, and the task table
 * (which records belong together, what ends a task, holds and deadlines). */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conformance/replay/trace_sim.h"
#include "conformance/format/trace_names.h"
#include "scsi/scsi.h"
#include "sim/config/config.h"
#include "tests/support/trace_testutil.h"

#define V "#!scsitrace 1\n"

static struct trace *load(const char *name)
{
    char path[512];
    struct trace *t = NULL;
    struct located_error err;
    int rc = trace_parse_file(tt_data_path("canonical", name, path, sizeof path), &t, &err);
    ck_assert_msg(rc == 0, "%s: %s:%u:%u: %s", name, err.file, err.line, err.column, err.message);
    return t;
}

static struct trace *parse_ok(const char *text)
{
    struct located_error err;
    struct trace *t = tt_parse(text, &err);
    ck_assert_msg(t != NULL, "t.trace:%u:%u: %s", err.line, err.column, err.message);
    return t;
}

/* The n-th record line (0-based). */
static const struct trace_record *record(const struct trace *t, size_t n)
{
    for (size_t i = 0; i < t->n_lines; i++)
        if (t->lines[i].kind == TRACE_LINE_RECORD && n-- == 0)
            return &t->lines[i].record;
    ck_abort_msg("no record %zu", n);
    return NULL;
}

static size_t line_index(const struct trace *t, unsigned lineno)
{
    for (size_t i = 0; i < t->n_lines; i++)
        if (t->lines[i].lineno == lineno)
            return i;
    ck_abort_msg("no line %u", lineno);
    return 0;
}

START_TEST(test_inquiry_fixture)
{
    struct trace *t = load("inquiry.trace");
    ck_assert_str_eq(t->title, "INQUIRY standard data");
    ck_assert(t->has_nexus);
    ck_assert_uint_eq(t->default_nexus.target, 0);
    ck_assert_uint_eq(t->default_nexus.any, 0);
    char *header = trace_header_text(t);
    ck_assert_str_eq(header, "Standard INQUIRY of LUN 0: a direct-access device, SPC-4, the configured\n"
                             "vendor, product and revision; the allocation length is honoured.");
    free(header);
    ck_assert_uint_eq(t->n_tasks, 2);

    const struct trace_record *cmd = record(t, 0);
    ck_assert_int_eq(cmd->verb, TRACE_VERB_CMD);
    ck_assert(cmd->time_known);
    ck_assert_uint_eq(cmd->time_ns, 0);
    ck_assert_int_eq(cmd->layer, 'H');
    ck_assert_int_eq(cmd->dir, '>');
    ck_assert(!cmd->nexus_given);
    ck_assert_str_eq(cmd->tag, "t1");
    uint8_t cdb[16];
    ck_assert_int_eq(trace_pattern_bytes(&cmd->cmd.cdb, cdb, sizeof cdb), 6);
    const uint8_t want[] = { 0x12, 0, 0, 0, 0x24, 0 };
    ck_assert_mem_eq(cdb, want, 6);
    ck_assert_uint_eq(cmd->cmd.len, 36);
    ck_assert_int_eq(cmd->cmd.dir, TRACE_DATA_IN);

    const struct trace_record *din = record(t, 1);
    ck_assert_int_eq(din->verb, TRACE_VERB_DIN);
    ck_assert_uint_eq(din->time_ns, 1000000);
    ck_assert_uint_eq(din->data.length, 36);
    ck_assert(!din->data.rest);
    ck_assert_uint_eq(din->data.n_elems, 4);
    ck_assert_int_eq(din->data.elems[0].kind, TRACE_PAT_BYTES);
    ck_assert_uint_eq(din->data.elems[0].n, 8);
    ck_assert_int_eq(din->data.elems[1].kind, TRACE_PAT_TEXT);
    ck_assert_uint_eq(din->data.elems[1].n, 8);
    ck_assert_uint_eq(din->data.elems[1].text_len, 7);
    ck_assert(din->data.elems[1].width_given);
    uint8_t v, m;
    ck_assert(trace_pattern_at(&din->data, 15, &v, &m)); /* "SCSISIM" padded: byte 15 is a space */
    ck_assert_uint_eq(v, ' ');
    ck_assert_uint_eq(m, 0xFF);
    ck_assert(!trace_pattern_at(&din->data, 36, &v, &m));

    const struct trace_record *st = record(t, 2);
    ck_assert_uint_eq(st->status.n_alts, 1);
    ck_assert_uint_eq(st->status.alts[0].status, SCSI_STATUS_GOOD);

    const struct trace_task *k = &t->tasks[0];
    ck_assert_uint_eq(t->lines[k->request].lineno, 8);
    ck_assert_uint_eq(t->lines[k->din].lineno, 9);
    ck_assert_uint_eq(t->lines[k->response].lineno, 10);
    ck_assert_uint_eq(k->dout, TRACE_NONE);
    ck_assert_uint_eq(k->ended_by, TRACE_NONE);
    ck_assert_str_eq(t->lines[line_index(t, 11)].comment, "# allocation length 5");
    trace_free(t);
}
END_TEST

START_TEST(test_device_lines_build_the_simulator)
{
    struct trace *t = load("all-constructs.trace");
    struct sim_config cfg;
    struct located_error err;
    ck_assert_int_eq(trace_sim_config(t, &cfg, &err), 0);
    ck_assert_uint_eq(cfg.max_sges, 129);
    ck_assert_uint_eq(cfg.addr_bits, 32);
    ck_assert_uint_eq(cfg.max_xfer, 512 * 1024);
    ck_assert_int_eq(cfg.iommu_policy, HBA_IOMMU_POLICY_DROP);
    ck_assert_uint_eq(cfg.max_targets, 4);
    ck_assert_uint_eq(cfg.seed, 7);
    ck_assert_uint_eq(cfg.lu_count, 2);
    const struct sim_lu_config *d0 = sim_config_find_lu(&cfg, 0, 0);
    const struct sim_lu_config *d1 = sim_config_find_lu(&cfg, 1, 0);
    ck_assert_ptr_nonnull(d0);
    ck_assert_ptr_nonnull(d1);
    ck_assert_uint_eq(d0->block_size, 4096);
    ck_assert_uint_eq(d0->blocks, (66ull << 40) / 4096);
    ck_assert(d0->write_cache);
    ck_assert_int_eq(d0->battery, HBA_BATTERY_GOOD);
    ck_assert_uint_eq(d1->blocks, 2097152);
    ck_assert_str_eq(d1->product, "Big Disk");
    ck_assert_str_eq(d1->serial, "A1B2");
    ck_assert_uint_eq(d1->ready_ms, 500);
    sim_config_free(&cfg);

    ck_assert_str_eq(t->title, "all constructs: \"quotes\" and a backslash \\");
    ck_assert_uint_eq(t->timeout_ns, 30500000000ull);
    ck_assert_uint_eq(t->default_nexus.any, TRACE_ANY_HOST);
    size_t features = 0;
    for (size_t i = 0; i < t->n_lines; i++)
        if (t->lines[i].kind == TRACE_LINE_DEVICE && t->lines[i].device.kind == TRACE_DEV_REQUIRES)
            for (size_t k = 0; k < t->lines[i].device.n_words; k++, features++)
                ck_assert(trace_feature_known(t->lines[i].device.words[k]));
    ck_assert_uint_eq(features, 6);
    ck_assert(!trace_feature_known("teleport"));
    trace_free(t);
}
END_TEST

START_TEST(test_no_device_lines_give_the_defaults)
{
    struct trace *t = parse_ok(V "+0 H > - t1 CMD 00 00 00 00 00 00\n+0 H < - t1 STATUS GOOD\n");
    struct sim_config cfg, def;
    ck_assert_int_eq(trace_sim_config(t, &cfg, NULL), 0);
    sim_config_init(&def);
    ck_assert_uint_eq(cfg.lu_count, def.lu_count);
    ck_assert_uint_eq(cfg.lus[0].blocks, def.lus[0].blocks);
    ck_assert_uint_eq(cfg.max_sges, def.max_sges);
    sim_config_free(&cfg);
    sim_config_free(&def);
    ck_assert(!t->has_nexus);
    struct trace_nexus n = trace_record_nexus(t, record(t, 0));
    ck_assert_uint_eq(n.host + n.channel + n.target + n.lun + n.any, 0);
    ck_assert_ptr_null(t->title);
    ck_assert_ptr_null(trace_header_text(t));
    trace_free(t);
}
END_TEST

START_TEST(test_record_fields)
{
    struct trace *t = parse_ok(V "@nexus 1:2:3:4\n"
                                 "+12.000125 W > *:0:7:* t.x-9 CMD 00 00 00 00 00 00\n"
                                 "- W < - t.x-9 STATUS GOOD\n");
    const struct trace_record *a = record(t, 0), *b = record(t, 1);
    ck_assert_uint_eq(a->time_ns, 12000125000ull);
    ck_assert(!b->time_known);
    ck_assert_int_eq(a->layer, 'W');
    ck_assert(a->nexus_given);
    ck_assert_uint_eq(a->nexus.any, TRACE_ANY_HOST | TRACE_ANY_LUN);
    ck_assert_uint_eq(a->nexus.target, 7);
    ck_assert_str_eq(a->tag, "t.x-9");
    struct trace_nexus n = trace_record_nexus(t, b);
    ck_assert_uint_eq(n.host, 1);
    ck_assert_uint_eq(n.lun, 4);
    trace_free(t);
}
END_TEST

START_TEST(test_pattern_items)
{
    struct trace *t = parse_ok(V "+0 H > - t1 CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"
                                 "+0 H < - t1 DIN 12 34??56 10/f0 ab*3 ??*2 \"A\\\"B\":5 ..\n"
                                 "+0 H < - t1 STATUS GOOD\n");
    const struct trace_pattern *p = &record(t, 1)->data;
    ck_assert(p->rest);
    ck_assert_uint_eq(p->length, 5 + 3 + 2 + 5);
    ck_assert_uint_eq(p->n_elems, 4); /* one merged BYTES run, two repeats, a text */
    const struct trace_pat_elem *e = &p->elems[0];
    ck_assert_int_eq(e->kind, TRACE_PAT_BYTES);
    ck_assert_uint_eq(e->n, 5);
    const uint8_t val[] = { 0x12, 0x34, 0, 0x56, 0x10 }, mask[] = { 0xff, 0xff, 0, 0xff, 0xf0 };
    ck_assert_mem_eq(e->value, val, 5);
    ck_assert_mem_eq(e->mask, mask, 5);
    ck_assert_int_eq(p->elems[1].kind, TRACE_PAT_REPEAT);
    ck_assert_uint_eq(p->elems[1].n, 3);
    ck_assert_uint_eq(p->elems[1].value[0], 0xab);
    ck_assert_uint_eq(p->elems[2].mask[0], 0);
    ck_assert_int_eq(p->elems[3].kind, TRACE_PAT_TEXT);
    ck_assert_uint_eq(p->elems[3].text_len, 3);
    ck_assert_mem_eq(p->elems[3].value, "A\"B", 3);
    ck_assert(!trace_pattern_is_concrete(p));
    uint8_t buf[64];
    ck_assert_int_eq(trace_pattern_bytes(p, buf, sizeof buf), -EINVAL);
    trace_free(t);

    /* compact and spaced spellings give the same tree */
    struct trace *x = parse_ok(V "+0 H > - t1 CMD 120000002400 len=36 dir=in\n+0 H < - t1 STATUS GOOD\n");
    struct trace *y = parse_ok(V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n+0 H < - t1 STATUS GOOD\n");
    ck_assert(trace_equal(x, y));
    ck_assert(trace_pattern_is_concrete(&record(x, 0)->cmd.cdb));
    ck_assert_int_eq(trace_pattern_bytes(&record(x, 0)->cmd.cdb, buf, 3), -ENOSPC);
    trace_free(x);
    trace_free(y);
}
END_TEST

START_TEST(test_status_alternatives)
{
    struct trace *t = parse_ok(V "+0 H > - t1 CMD 00 00 00 00 00 00\n"
                                 "+0 H < - t1 STATUS CHECK 5/24/00|ILLEGAL_REQUEST/0x20/?? | GOOD|BUSY|CHECK sense=70,??,05,..\n");
    const struct trace_status *s = &record(t, 1)->status;
    ck_assert_uint_eq(s->n_alts, 5);
    ck_assert_uint_eq(s->alts[0].status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert(s->alts[0].sense_given);
    ck_assert_uint_eq(s->alts[0].sense.key, 5);
    ck_assert_uint_eq(s->alts[0].sense.asc, 0x24);
    ck_assert_uint_eq(s->alts[1].status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(s->alts[1].sense.asc, 0x20);
    ck_assert(s->alts[1].sense.ascq_any);
    ck_assert_uint_eq(s->alts[2].status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(s->alts[3].status, SCSI_STATUS_BUSY);
    ck_assert(!s->alts[4].sense_given);
    ck_assert(s->sense_pattern_given);
    ck_assert_uint_eq(s->sense_pattern.length, 3);
    ck_assert(s->sense_pattern.rest);
    trace_free(t);

    /* a comma inside quoted text does not split a sense= value */
    t = parse_ok(V "+0 H > - t1 CMD 00 00 00 00 00 00\n+0 H < - t1 STATUS CHECK sense=70,\"a,b\",..\n");
    s = &record(t, 1)->status;
    ck_assert_uint_eq(s->sense_pattern.length, 4);
    ck_assert_uint_eq(s->sense_pattern.n_elems, 2);
    ck_assert_mem_eq(s->sense_pattern.elems[1].value, "a,b", 3);
    trace_free(t);

    t = parse_ok(V "+0 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in\n"
                   "+0 H < - t1 STATUS SERVICE_FAILURE|RESERVATION_CONFLICT|TASK_ABORTED resid=36 xfer=0\n");
    s = &record(t, 1)->status;
    ck_assert_uint_eq(s->alts[0].status, TRACE_STATUS_SERVICE_FAILURE);
    ck_assert_uint_eq(s->alts[1].status, SCSI_STATUS_RESERVATION_CONFLICT);
    ck_assert_uint_eq(s->alts[2].status, SCSI_STATUS_TASK_ABORTED);
    ck_assert(s->resid_given && s->xfer_given);
    ck_assert_uint_eq(s->resid, 36);
    trace_free(t);
}
END_TEST

START_TEST(test_directives)
{
    struct trace *t = load("all-constructs.trace");
    int seen[TRACE_DIR_KIND_COUNT] = { 0 };
    for (size_t i = 0; i < t->n_lines; i++) {
        const struct trace_line *l = &t->lines[i];
        if (l->kind != TRACE_LINE_RECORD || l->record.verb != TRACE_VERB_DIRECTIVE)
            continue;
        const struct trace_directive *d = &l->record.directive;
        seen[d->kind]++;
        switch (d->kind) {
        case TRACE_DIR_POWER_LOSS:
            if (d->power_mode == TRACE_POWER_TORN)
                ck_assert_uint_eq(d->seed, UINT64_MAX);
            break;
        case TRACE_DIR_UA:
            ck_assert_uint_eq(d->asc, 0x2a);
            ck_assert_uint_eq(d->ascq, 0x09);
            break;
        case TRACE_DIR_INJECT:
            if (d->inject == TRACE_INJECT_DROP_NEXT)
                ck_assert_uint_eq(d->inject_arg, 2);
            if (d->inject == TRACE_INJECT_FATAL && d->inject_arg_given)
                ck_assert_uint_eq(d->inject_arg, 18);
            break;
        case TRACE_DIR_WITHIN:
            ck_assert(d->ns == 500000000u || d->ns == 2000000000u);
            break;
        case TRACE_DIR_MARK:
            ck_assert_str_eq(d->name, "the-end.1");
            break;
        case TRACE_DIR_WAIT:
            ck_assert_uint_eq(d->ns, 1000);
            break;
        default:
            break;
        }
    }
    for (int k = 0; k < TRACE_DIR_KIND_COUNT; k++)
        ck_assert_msg(seen[k] > 0, "directive %s not in all-constructs.trace", trace_word(&trace_directive_words, (unsigned)k));
    ck_assert_int_eq(seen[TRACE_DIR_POWER_LOSS], 4);
    ck_assert_int_eq(seen[TRACE_DIR_RESET], 4);
    ck_assert_int_eq(seen[TRACE_DIR_INJECT], 7);
    trace_free(t);
}
END_TEST

START_TEST(test_tasks_hold_release_abort_within)
{
    struct trace *t = load("all-constructs.trace");
    const struct trace_task *t4 = NULL, *m1 = NULL, *h5 = NULL, *w5 = NULL, *first = &t->tasks[0];
    for (size_t i = 0; i < t->n_tasks; i++) {
        const struct trace_record *r = &t->lines[t->tasks[i].request].record;
        if (!strcmp(r->tag, "t4"))
            t4 = &t->tasks[i];
        if (!strcmp(r->tag, "m1"))
            m1 = &t->tasks[i];
        if (!strcmp(r->tag, "t5") && r->layer == 'H')
            h5 = &t->tasks[i];
        if (!strcmp(r->tag, "t5") && r->layer == 'W')
            w5 = &t->tasks[i];
        ck_assert_uint_eq(r->task, i);
    }
    ck_assert_ptr_nonnull(t4);
    ck_assert_ptr_nonnull(m1);
    ck_assert_ptr_nonnull(h5);
    ck_assert_ptr_nonnull(w5);
    /* t4: held, released, then ended by abort-task m1 without a STATUS */
    ck_assert_uint_eq(t->lines[t4->held_by].record.directive.kind, TRACE_DIR_HOLD);
    ck_assert_uint_eq(t->lines[t4->released_by].record.directive.kind, TRACE_DIR_RELEASE);
    ck_assert_uint_eq(t4->response, TRACE_NONE);
    ck_assert_uint_eq(t4->ended_by, m1->request);
    ck_assert_uint_ne(m1->response, TRACE_NONE);
    /* deadlines: within on the two t5s, @timeout elsewhere */
    ck_assert_uint_eq(h5->deadline_ns, 500000000u);
    ck_assert_uint_eq(w5->deadline_ns, 2000000000u);
    ck_assert_uint_ne(h5->within, TRACE_NONE);
    ck_assert_uint_eq(first->deadline_ns, 30500000000ull);
    ck_assert_uint_eq(first->within, TRACE_NONE);
    trace_free(t);
}
END_TEST

START_TEST(test_what_ends_a_task)
{
    /* lun-reset ends its LUN's commands, target-reset the target's, a reset
     * directive its scope, power-loss everything; a STATUS may still follow. */
    struct trace *t = parse_ok(V "+0 H > 0:0:0:0 a CMD 00 00 00 00 00 00\n"
                                 "+0 H > 0:0:0:1 b CMD 00 00 00 00 00 00\n"
                                 "+0 H > 0:0:1:0 c CMD 00 00 00 00 00 00\n"
                                 "+0 H > 0:0:2:0 d CMD 00 00 00 00 00 00\n"
                                 "+0 H > 0:0:0:0 m1 TMF lun-reset\n"
                                 "+0 H < 0:0:0:0 m1 TMF function-complete\n"
                                 "+0 H < 0:0:0:0 a STATUS TASK_ABORTED\n"
                                 "+0 H > 0:0:0:7 m2 TMF target-reset\n"
                                 "+0 H < 0:0:0:7 m2 TMF function-complete\n"
                                 "- H ! 0:0:1:5 - reset target\n"
                                 "- H ! - - power-loss\n"
                                 "+0 H > 0:0:0:0 a CMD 00 00 00 00 00 00\n"
                                 "+0 H < 0:0:0:0 a STATUS GOOD\n");
    ck_assert_uint_eq(t->n_tasks, 7);
    ck_assert_uint_eq(t->lines[t->tasks[0].ended_by].lineno, 6);  /* a: lun-reset */
    ck_assert_uint_eq(t->lines[t->tasks[0].response].lineno, 8); /* ... and its STATUS still came */
    ck_assert_uint_eq(t->lines[t->tasks[1].ended_by].lineno, 9);  /* b: target-reset (LUN 1 of target 0) */
    ck_assert_uint_eq(t->lines[t->tasks[2].ended_by].lineno, 11); /* c: reset target 1 */
    ck_assert_uint_eq(t->lines[t->tasks[3].ended_by].lineno, 12); /* d: power-loss */
    ck_assert_uint_eq(t->tasks[6].ended_by, TRACE_NONE);          /* tag a reused after its STATUS */
    trace_free(t);
}
END_TEST

START_TEST(test_data_in_pieces)
{
    /* A command's data in pieces: offset= records chained from the task's
     * first piece to its last; without offset= a record is at offset 0. */
    struct trace *t = parse_ok(V "+0 H > - w CMD 2a 00 00 00 00 00 00 00 02 00 len=1024 dir=out\n" /* 2 */
                                 "+0 H > - w DOUT offset=0 11*512\n"                                 /* 3 */
                                 "+0 H > - w DOUT offset=512 22*500 33 44 55*10\n"                   /* 4 */
                                 "+0 H < - w STATUS GOOD\n"
                                 "+0 H > - r CMD 28 00 00 00 00 00 00 00 02 00 len=1024 dir=in\n"  /* 6 */
                                 "+0 H < - r DIN 11*100\n"                                           /* 7 */
                                 "+0 H < - r DIN offset=100 ??*400\n"                                /* 8 */
                                 "+0 H < - r DIN offset=500 22 ..\n"                                 /* 9 */
                                 "+0 H < - r STATUS GOOD\n"
                                 "+0 H > - s CMD 28 00 00 00 00 00 00 00 01 00 len=512 dir=in\n"   /* 11 */
                                 "+0 H < - s DIN 00 ..\n"
                                 "+0 H < - s STATUS GOOD\n");
    ck_assert_uint_eq(t->n_tasks, 3);
    const struct trace_task *w = &t->tasks[0], *r = &t->tasks[1], *s1 = &t->tasks[2];
    ck_assert_uint_eq(t->lines[w->dout].lineno, 3);
    ck_assert_uint_eq(t->lines[w->dout_last].lineno, 4);
    const struct trace_record *p1 = &t->lines[w->dout].record, *p2 = &t->lines[w->dout_last].record;
    ck_assert(p1->offset_given);
    ck_assert_uint_eq(p1->offset, 0);
    ck_assert_uint_eq(p1->next_piece, w->dout_last);
    ck_assert_uint_eq(p2->offset, 512);
    ck_assert_uint_eq(p2->next_piece, TRACE_NONE);
    ck_assert_uint_eq(w->din, TRACE_NONE);
    /* The pieces as one pattern: offsets in the whole transfer. */
    struct trace_pattern all;
    ck_assert_int_eq(trace_data_view(t, w->dout, &all), 0);
    ck_assert_uint_eq(all.length, 1024);
    ck_assert(!all.rest);
    uint8_t buf[1024];
    ck_assert_int_eq(trace_pattern_bytes(&all, buf, sizeof buf), 1024);
    ck_assert_uint_eq(buf[511], 0x11);
    ck_assert_uint_eq(buf[512], 0x22);
    ck_assert_uint_eq(buf[1012], 0x33);
    ck_assert_uint_eq(buf[1013], 0x44);
    ck_assert_uint_eq(buf[1023], 0x55);
    trace_data_view_free(&all);
    ck_assert_uint_eq(t->lines[trace_data_piece_at(t, w->dout, 511)].lineno, 3);
    ck_assert_uint_eq(t->lines[trace_data_piece_at(t, w->dout, 512)].lineno, 4);
    ck_assert_uint_eq(t->lines[trace_data_piece_at(t, w->dout, 5000)].lineno, 4); /* beyond: the last */

    ck_assert_uint_eq(t->lines[r->din].lineno, 7);
    ck_assert(!t->lines[r->din].record.offset_given);
    ck_assert_uint_eq(t->lines[t->lines[r->din].record.next_piece].lineno, 8);
    ck_assert_uint_eq(t->lines[r->din_last].lineno, 9);
    ck_assert_int_eq(trace_data_view(t, r->din, &all), 0);
    ck_assert_uint_eq(all.length, 501);
    ck_assert(all.rest); /* the last piece's ".." */
    uint8_t v, m;
    ck_assert(trace_pattern_at(&all, 300, &v, &m));
    ck_assert_uint_eq(m, 0);
    ck_assert(trace_pattern_at(&all, 500, &v, &m));
    ck_assert_uint_eq(v, 0x22);
    trace_data_view_free(&all);
    ck_assert_uint_eq(t->lines[trace_data_piece_at(t, r->din, 99)].lineno, 7);
    ck_assert_uint_eq(t->lines[trace_data_piece_at(t, r->din, 100)].lineno, 8);
    ck_assert_uint_eq(t->lines[trace_data_piece_at(t, r->din, 500)].lineno, 9);

    ck_assert_uint_eq(s1->din, s1->din_last); /* one record: its own first and last piece */
    ck_assert_uint_eq(t->lines[s1->din].record.next_piece, TRACE_NONE);
    trace_free(t);
}
END_TEST

START_TEST(test_nexus_covers)
{
    struct trace_nexus any_lun = { .target = 1, .any = TRACE_ANY_LUN };
    struct trace_nexus t1l3 = { .target = 1, .lun = 3 }, t2l3 = { .target = 2, .lun = 3 };
    ck_assert(trace_nexus_covers(&any_lun, &t1l3));
    ck_assert(!trace_nexus_covers(&any_lun, &t2l3));
    ck_assert(trace_nexus_covers(&t1l3, &t1l3));
    struct trace_nexus host5 = { .host = 5, .target = 1, .lun = 3 };
    ck_assert(!trace_nexus_covers(&host5, &t1l3));
}
END_TEST

START_TEST(test_crlf_bom_and_no_final_newline)
{
    char path[512];
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_int_eq(trace_parse_file(tt_data_path("other", "crlf-bom.trace", path, sizeof path), &t, &err), 0);
    ck_assert_uint_eq(t->n_tasks, 1);
    ck_assert_str_eq(t->lines[0].comment, "# CRLF line ends and a byte order mark");
    trace_free(t);
    ck_assert_int_eq(trace_parse_file(tt_data_path("other", "no-final-newline.trace", path, sizeof path), &t, &err),
                     0);
    ck_assert_uint_eq(t->n_tasks, 1);
    ck_assert_uint_ne(t->tasks[0].response, TRACE_NONE);
    trace_free(t);
}
END_TEST

/* A FILE stream and a buffer give the same tree. */
START_TEST(test_stream_equals_buffer)
{
    char path[512];
    size_t len;
    char *text = tt_read_file(tt_data_path("canonical", "f1-sync-cache.trace", path, sizeof path), &len);
    ck_assert_ptr_nonnull(text);
    FILE *f = fmemopen(text, len, "r");
    struct trace *a = NULL, *b = NULL;
    struct located_error err;
    ck_assert_int_eq(trace_parse_stream("s.trace", f, &a, &err), 0);
    fclose(f);
    ck_assert_int_eq(trace_parse_buffer("b.trace", text, len, &b, &err), 0);
    ck_assert(trace_equal(a, b));
    ck_assert_str_eq(a->name, "s.trace");
    /* F1's shape: the layer-C flush pattern belongs to its own task */
    ck_assert_uint_eq(a->n_tasks, 5);
    const struct trace_record *c1 = &a->lines[a->tasks[2].request].record;
    ck_assert_int_eq(c1->layer, 'C');
    ck_assert(!trace_pattern_is_concrete(&c1->cmd.cdb));
    trace_free(a);
    trace_free(b);
    free(text);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("trace_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_inquiry_fixture);
    tcase_add_test(tc, test_device_lines_build_the_simulator);
    tcase_add_test(tc, test_no_device_lines_give_the_defaults);
    tcase_add_test(tc, test_record_fields);
    tcase_add_test(tc, test_pattern_items);
    tcase_add_test(tc, test_status_alternatives);
    tcase_add_test(tc, test_directives);
    tcase_add_test(tc, test_tasks_hold_release_abort_within);
    tcase_add_test(tc, test_what_ends_a_task);
    tcase_add_test(tc, test_data_in_pieces);
    tcase_add_test(tc, test_nexus_covers);
    tcase_add_test(tc, test_crlf_bom_and_no_final_newline);
    tcase_add_test(tc, test_stream_equals_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
