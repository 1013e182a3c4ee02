/* tests/test_fault.c — the fault and timing engine (sim/fault/): rule text
 * parsed and printed back, errors with their column, what each rule decides
 * for a command (INFORMATION = the first bad LBA, every Nth, fractions and
 * latencies reproducible from the seed), the statistics' percentiles, the
 * configuration's fault= key, and the controller applying rules to real
 * queue entries (sense in host memory, a lost completion, a delay, a hang
 * ended by an abort). */
#include "tests/support/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "sim/fault/fault.h"
#include "tests/support/hba_harness.h"

static struct fault_rule parse_ok(const char *text)
{
    struct fault_rule r;
    char err[300] = "";
    int rc = fault_rule_parse(text, &r, err, sizeof err, NULL);
    ck_assert_msg(rc == 0, "'%s': %s", text, err);
    return r;
}

START_TEST(rules_print_canonically_and_parse_back)
{
    static const char *const rules[] = {
        "medium drive=0:0 lba=100 count=8 io=read recovered=no",
        "medium lba=0 count=1 io=rw recovered=yes",
        "every-nth op=read n=10 sense=3/11/00",
        "every-nth op=0x35 n=2 sense=b/47/03 limit=4 seed=9",
        "latency op=read dist=fixed time=2ms",
        "latency dist=uniform min=100us max=3ms",
        "latency op=write dist=exp time=1500us",
        "latency dist=tail time=1ms tail=50ms p=99.5",
        "hang op=sync",
        "hang drive=1:2 op=tur after=5s",
        "busy fraction=0.25 status=task-set-full",
        "lose op=write fraction=0.01 seed=3",
        "duplicate op=read fraction=0.5",
        "write-protect drive=0:1",
        "capacity drive=0:0 blocks=1000",
        "reorder op=read window=3 step=30ms",
        "reorder window=4 step=1ms",
        "spurious op=read n=2",
        "iommu-fault nth=3",
        "iommu-fault drive=0:1 op=read nth=2",
        "fatal op=write nth=10",
        "remove drive=0:1",
        "insert drive=0:1 blocks=2048 block-size=4096",
        "io-error drive=0:0 file=media call=write count=1 errno=EIO",
        "io-error drive=1:2 file=journal call=sync count=3 errno=ENOSPC",
        "io-error drive=0:0 file=media call=read count=2 errno=eof",
        "io-error drive=0:0 file=battery call=open count=1 errno=EINTR",
        "reopen drive=0:0",
        "io-error drive=0:0 file=media call=open count=1 errno=ENOSYS",
        "battery drive=0:0 state=failed",
        "battery drive=1:2 state=good",
        "admin-refuse admin=create-cq nth=1",
        "admin-refuse admin=abort nth=1 limit=2",
        "admin-refuse admin=0x9f nth=4",
        "reset-fail nth=1",
        "reset-fail nth=3 limit=1",
        "irq-lost nth=1",
        "irq-lost nth=2 limit=3",
        "irq-lost queue=admin nth=1 limit=1",
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct fault_rule r = parse_ok(rules[i]);
        struct tbuf b = { 0 };
        fault_rule_format(&r, &b);
        struct fault_rule again = parse_ok(tbuf_str(&b));
        ck_assert_msg(fault_rule_equal(&r, &again), "%s -> %s", rules[i], tbuf_str(&b));
        struct tbuf b2 = { 0 };
        fault_rule_format(&again, &b2);
        ck_assert_str_eq(tbuf_str(&b), tbuf_str(&b2));
        tbuf_free(&b);
        tbuf_free(&b2);
    }
    /* Defaults appear in the canonical form. */
    struct fault_rule r = parse_ok("medium lba=5");
    struct tbuf b = { 0 };
    fault_rule_format(&r, &b);
    ck_assert_str_eq(tbuf_str(&b), "medium lba=5 count=1 io=read recovered=no");
    tbuf_free(&b);
}
END_TEST

START_TEST(bad_rules_name_the_column_and_the_fix)
{
    static const struct { const char *text; unsigned col; const char *says; } bad[] = {
        { "", 1, "empty rule" },
        { "medum lba=1", 1, "unknown fault rule 'medum'" },
        { "medium", 7, "needs lba=N" },
        { "medium lba=x", 12, "bad lba 'x'" },
        { "medium lba=1 lba=2", 14, "given twice" },
        { "medium lba=1 n=3", 14, "'n' is not a key of a medium rule" },
        { "every-nth n=0", 13, "at least 1" },
        { "every-nth n=2 sense=3/11", 21, "KEY/ASC/ASCQ" },
        { "latency dist=fixed", 19, "needs time=T" },
        { "latency dist=fixed time=5", 25, "with its unit" },
        { "latency dist=uniform min=5ms max=1ms", 37, "min <= max" },
        { "latency dist=tail time=1ms p=99", 32, "tail=T and p=PCT" },
        { "latency dist=tail time=1ms tail=2ms p=100", 39, "strictly between" },
        { "busy fraction=1.5", 15, "fraction from 0 to 1" },
        { "busy status=full", 13, "busy or task-set-full" },
        { "hang op=frob", 9, "an opcode as 0xNN" },
        { "hang drive=1", 12, "T:L" },
        { "capacity blocks=5", 18, "needs drive=T:L" },
        { "write-protect op=read", 15, "'op' is not a key of a write-protect rule" },
        { "lose fraction", 6, "not key=value" },
        { "lose seed=1\x01", 12, "control or non-ASCII" },
        { "iommu-fault", 12, "needs nth=N" },
        { "iommu-fault nth=2 n=2", 19, "'n' is not a key of a iommu-fault rule" },
        { "reorder window=1", 16, "from 2 to 1024" },
        { "reorder step=0ns", 17, "step=0 would reorder nothing" },
        { "fatal n=2", 7, "'n' is not a key of a fatal rule" },
        { "spurious n=0", 12, "at least 1" },
        { "remove", 7, "a remove action needs drive=T:L" },
        { "insert drive=0:1", 17, "needs drive=T:L and blocks=N" },
        { "insert drive=0:1 blocks=8 block-size=520", 38, "512 or 4096" },
        { "remove drive=0:1 op=read", 18, "'op' is not a key of a remove rule" },        { "io-error drive=0:0 file=disk call=read", 25, "media, journal or battery" },
        { "io-error drive=0:0 file=media", 30, "needs drive=T:L, file= and call=" },
        { "io-error file=media call=read", 30, "needs drive=T:L, file= and call=" },
        { "io-error drive=0:0 file=media call=sync errno=short", 52, "errno=short is a result of call=read or call=write only" },
        { "io-error drive=0:0 file=media call=write errno=eof", 51, "errno=eof is a result of call=read only" },
        { "io-error drive=0:0 file=media call=read errno=EFOO", 47, "EIO, ENOSPC" },
        { "io-error drive=0:0 file=media call=flush", 36, "open, stat, read" },
        { "reopen", 7, "a reopen action needs drive=T:L" },
        { "io-error drive=0:0 file=journal call=open errno=ENOSYS", 55, "is for file=media call=open only" },
        { "battery state=good", 19, "a battery action needs drive=T:L and state=" },
        { "battery drive=0:0 state=dead", 25, "absent, good or failed" },
        { "admin-refuse", 13, "needs admin=COMMAND" },
        { "admin-refuse admin=0x12", 20, "or an opcode as 0x80..0xff" },
        { "admin-refuse admin=frob", 20, "identify, create-cq, create-sq" },
        { "admin-refuse admin=create-sq op=read", 30, "'op' is not a key of a admin-refuse rule" },
        { "admin-refuse drive=0:0 admin=identify", 38, "acts on the controller, not a drive" },
        { "reset-fail drive=0:0", 21, "acts on the controller, not a drive" },
        { "irq-lost op=read", 10, "'op' is not a key of a irq-lost rule" },
        { "irq-lost queue=vector", 16, "io (an I/O completion queue's interrupt, the default) or admin" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fault_rule r;
        char err[300] = "";
        unsigned col = 0;
        ck_assert_int_eq(fault_rule_parse(bad[i].text, &r, err, sizeof err, &col), -EINVAL);
        ck_assert_msg(strstr(err, bad[i].says), "'%s': %s", bad[i].text, err);
        ck_assert_msg(col == bad[i].col, "'%s': column %u, want %u (%s)", bad[i].text, col, bad[i].col, err);
    }
    char longer[FAULT_TEXT_MAX + 10];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    struct fault_rule r;
    char err[200];
    ck_assert_int_eq(fault_rule_parse(longer, &r, err, sizeof err, NULL), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "at most"));
}
END_TEST

static struct fault_verdict eval(struct fault_set *s, uint16_t t, uint16_t l, const uint8_t *cdb, uint8_t len)
{
    struct fault_cmd c = { .target = t, .lun = l, .cdb = cdb, .cdb_len = len };
    struct fault_verdict v;
    fault_eval(s, &c, &v);
    return v;
}

static void add(struct fault_set *s, const char *text)
{
    struct fault_rule r = parse_ok(text);
    ck_assert_int_eq(fault_set_add(s, &r), 0);
}

START_TEST(medium_error_information_is_the_first_bad_lba)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    add(&s, "medium drive=0:0 lba=100 count=8 io=rw");
    uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 96, 0, 0, 8, 0 }; /* 96..103 */
    struct fault_verdict v = eval(&s, 0, 0, rd, 10);
    ck_assert_int_eq(v.outcome, FAULT_CHECK);
    ck_assert_uint_eq(v.sense.key, SCSI_SK_MEDIUM_ERROR);
    ck_assert_uint_eq(v.sense.asc_ascq, SCSI_ASCQ(0x11, 0));
    ck_assert(v.sense.info_valid);
    ck_assert_uint_eq(v.sense.info, 100);
    uint8_t rd2[10] = { 0x28, 0, 0, 0, 0, 103, 0, 0, 4, 0 }; /* 103..106: starts inside */
    v = eval(&s, 0, 0, rd2, 10);
    ck_assert_uint_eq(v.sense.info, 103);
    uint8_t wr16[16] = { 0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 107, 0, 0, 0, 1, 0, 0 };
    v = eval(&s, 0, 0, wr16, 16);
    ck_assert_int_eq(v.outcome, FAULT_CHECK);
    ck_assert_uint_eq(v.sense.asc_ascq, SCSI_ASC_WRITE_ERROR);
    ck_assert_uint_eq(v.sense.info, 107);
    uint8_t after[10] = { 0x28, 0, 0, 0, 0, 108, 0, 0, 8, 0 };
    ck_assert_int_eq(eval(&s, 0, 0, after, 10).outcome, FAULT_RUN);
    ck_assert_int_eq(eval(&s, 0, 1, rd, 10).outcome, FAULT_RUN); /* another drive */
    uint8_t tur[6] = { 0 };
    ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_RUN);
    fault_set_fini(&s);
}
END_TEST

START_TEST(every_nth_counts_only_its_kind)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    add(&s, "every-nth n=3 op=read sense=b/00/00");
    uint8_t rd[10] = { 0x28 }, tur[6] = { 0 };
    int fails = 0;
    for (int i = 1; i <= 9; i++) {
        ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_RUN);
        struct fault_verdict v = eval(&s, 0, 0, rd, 10);
        if (v.outcome == FAULT_CHECK) {
            ck_assert_int_eq(i % 3, 0);
            ck_assert_uint_eq(v.sense.key, SCSI_SK_ABORTED_COMMAND);
            fails++;
        }
    }
    ck_assert_int_eq(fails, 3);
    fault_set_fini(&s);
}
END_TEST

/* The same rules with the same seed choose the same commands. */
static unsigned busy_pattern(uint64_t seed, char *out, size_t n)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, seed), 0);
    add(&s, "busy fraction=0.3");
    uint8_t tur[6] = { 0 };
    unsigned hits = 0;
    for (size_t i = 0; i < n; i++) {
        bool busy = eval(&s, 0, 0, tur, 6).outcome == FAULT_STATUS;
        out[i] = busy ? 'B' : '.';
        hits += busy;
    }
    fault_set_fini(&s);
    return hits;
}

/* reorder holds each window's commands last-first; spurious marks every nth;
 * fatal decides once, at the nth; iommu-fault counts DMA accesses, not commands. */
START_TEST(reorder_spurious_fatal_and_iommu_fault_decide)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    add(&s, "reorder op=read window=3 step=10ms");
    add(&s, "spurious op=read n=2");
    add(&s, "fatal op=tur nth=2");
    uint8_t rd[10] = { 0x28 }, tur[6] = { 0 };
    static const uint64_t want_ms[] = { 20, 10, 0, 20, 10, 0 };
    for (int i = 0; i < 6; i++) {
        struct fault_verdict v = eval(&s, 0, 0, rd, 10);
        ck_assert_int_eq(v.outcome, FAULT_RUN);
        ck_assert_uint_eq(v.delay_ns, want_ms[i] * 1000000u);
        ck_assert_int_eq(v.spurious, i % 2 == 1);
    }
    ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_RUN);
    ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_FATAL_STATUS);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_RUN); /* once only */

    ck_assert(!fault_dma_access(&s)); /* no iommu-fault rule yet */
    add(&s, "iommu-fault op=read nth=3");
    ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_RUN);
    ck_assert(!fault_dma_access(&s)); /* a TUR's accesses do not count */
    ck_assert(!fault_dma_access(&s));
    ck_assert(!fault_dma_access(&s));
    ck_assert_int_eq(eval(&s, 0, 0, rd, 10).outcome, FAULT_RUN); /* nor does the READ itself */
    ck_assert(!fault_dma_access(&s));
    ck_assert(!fault_dma_access(&s));
    ck_assert(fault_dma_access(&s));
    for (int i = 0; i < 5; i++)
        ck_assert(!fault_dma_access(&s));
    fault_set_clear(&s);
    ck_assert(!fault_dma_access(&s));
    fault_set_fini(&s);
}
END_TEST

/* The controller's own rules fire where it asks (admin command, hard reset),
 * never for a SCSI command, and keep their limit. */
START_TEST(controller_rules_fire_only_where_the_controller_asks)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    struct fault_rule a = parse_ok("admin-refuse admin=create-cq limit=1"), h = parse_ok("reset-fail");
    ck_assert_int_eq(fault_set_add(&s, &a), 0);
    ck_assert_int_eq(fault_set_add(&s, &h), 0);
    static const uint8_t tur[6] = { 0 };
    struct fault_cmd c = { .target = 0, .lun = 0, .cdb = tur, .cdb_len = 6 };
    struct fault_verdict v;
    fault_eval(&s, &c, &v);
    ck_assert_int_eq(v.outcome, FAULT_RUN);
    ck_assert(!fault_admin_refused(&s, HBA_ADM_CREATE_SQ));
    ck_assert(fault_admin_refused(&s, HBA_ADM_CREATE_CQ));
    ck_assert(!fault_admin_refused(&s, HBA_ADM_CREATE_CQ)); /* limit=1 spent */
    ck_assert(fault_hard_reset_fails(&s));
    ck_assert(fault_hard_reset_fails(&s)); /* unlimited */
    ck_assert(!fault_irq_lost(&s, 1));
    struct fault_rule q = parse_ok("irq-lost limit=2");
    ck_assert_int_eq(fault_set_add(&s, &q), 0);
    ck_assert(!fault_irq_lost(&s, 0)); /* the admin CQ never loses its signal, and it does not count */
    ck_assert(fault_irq_lost(&s, 1));
    ck_assert(fault_irq_lost(&s, 1));
    ck_assert(!fault_irq_lost(&s, 1));
    fault_set_clear(&s);
    /* queue=admin: only the admin CQ's postings count and lose their signal. */
    struct fault_rule adm = parse_ok("irq-lost queue=admin nth=2 limit=1");
    ck_assert_int_eq(fault_set_add(&s, &adm), 0);
    ck_assert(!fault_irq_lost(&s, 1));
    ck_assert(!fault_irq_lost(&s, 0)); /* the first admin posting: nth=2 */
    ck_assert(!fault_irq_lost(&s, 3));
    ck_assert(fault_irq_lost(&s, 0));
    ck_assert(!fault_irq_lost(&s, 0)); /* limit=1 spent */
    fault_set_clear(&s);
    /* nth=3: the third hard reset and every one after it. */
    struct fault_rule third = parse_ok("reset-fail nth=3");
    ck_assert_int_eq(fault_set_add(&s, &third), 0);
    ck_assert(!fault_hard_reset_fails(&s));
    ck_assert(!fault_hard_reset_fails(&s));
    ck_assert(fault_hard_reset_fails(&s));
    ck_assert(fault_hard_reset_fails(&s));
    fault_set_clear(&s);
    ck_assert(!fault_hard_reset_fails(&s));
    fault_set_fini(&s);
}
END_TEST

START_TEST(fractions_are_reproducible_from_the_seed)
{
    char a[1000], b[1000], c[1000];
    unsigned ha = busy_pattern(42, a, sizeof a), hb = busy_pattern(42, b, sizeof b);
    busy_pattern(43, c, sizeof c);
    ck_assert_uint_eq(ha, hb);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    ck_assert_msg(ha > 240 && ha < 360, "%u of 1000 BUSY for fraction 0.3", ha);
}
END_TEST

START_TEST(latency_distributions_have_their_shape)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 7), 0);
    add(&s, "latency op=0x28 dist=fixed time=2ms");
    add(&s, "latency op=0x2a dist=uniform min=1ms max=3ms");
    add(&s, "latency op=0x88 dist=exp time=1ms");
    add(&s, "latency op=0x8a dist=tail time=100us tail=20ms p=90");
    uint8_t cdb[16] = { 0 };
    const unsigned n = 20000;
    double sum_exp = 0;
    unsigned tail = 0;
    for (unsigned i = 0; i < n; i++) {
        cdb[0] = 0x28;
        ck_assert_uint_eq(eval(&s, 0, 0, cdb, 10).delay_ns, 2000000);
        cdb[0] = 0x2a;
        uint64_t u = eval(&s, 0, 0, cdb, 10).delay_ns;
        ck_assert(u >= 1000000 && u <= 3000000);
        cdb[0] = 0x88;
        sum_exp += (double)eval(&s, 0, 0, cdb, 16).delay_ns;
        cdb[0] = 0x8a;
        uint64_t t = eval(&s, 0, 0, cdb, 16).delay_ns;
        ck_assert(t == 100000 || t == 20000000);
        tail += t == 20000000;
    }
    double mean = sum_exp / n;
    ck_assert_msg(mean > 0.95e6 && mean < 1.05e6, "exp mean %.0f ns for 1 ms", mean);
    ck_assert_msg(tail > n / 10 - n / 50 && tail < n / 10 + n / 50, "%u of %u in the tail for p=90", tail, n);
    fault_set_fini(&s);
}
END_TEST

START_TEST(limits_and_first_decider_wins)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    add(&s, "busy status=task-set-full limit=2");
    add(&s, "every-nth n=1 sense=4/44/00");
    add(&s, "latency dist=fixed time=1ms");
    uint8_t tur[6] = { 0 };
    struct fault_verdict v = eval(&s, 0, 0, tur, 6);
    ck_assert_int_eq(v.outcome, FAULT_STATUS);
    ck_assert_uint_eq(v.status, SCSI_STATUS_TASK_SET_FULL);
    ck_assert_uint_eq(v.delay_ns, 1000000); /* latency adds to any outcome */
    ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_STATUS);
    v = eval(&s, 0, 0, tur, 6); /* the busy rule is spent: the next rule decides */
    ck_assert_int_eq(v.outcome, FAULT_CHECK);
    ck_assert_uint_eq(v.sense.key, SCSI_SK_HARDWARE_ERROR);
    struct tbuf j = { 0 };
    fault_set_list_json(&s, &j);
    ck_assert_msg(strstr(tbuf_str(&j), "\"rule\":\"busy fraction=1 status=task-set-full limit=2\",\"seen\":2,"
                                       "\"fired\":2"), "%s", tbuf_str(&j));
    ck_assert_msg(strstr(tbuf_str(&j), "\"rule\":\"every-nth n=1 sense=4/44/00\",\"seen\":1,\"fired\":1"), "%s",
                  tbuf_str(&j));
    tbuf_free(&j);
    fault_set_clear(&s);
    ck_assert_int_eq(eval(&s, 0, 0, tur, 6).outcome, FAULT_RUN);
    struct fault_rule cap = parse_ok("capacity drive=0:0 blocks=5");
    ck_assert_int_eq(fault_set_add(&s, &cap), -EINVAL); /* an action, not a rule */
    for (unsigned i = 0; i < FAULT_RULES_MAX; i++)
        add(&s, "write-protect");
    struct fault_rule wp = parse_ok("write-protect");
    ck_assert_int_eq(fault_set_add(&s, &wp), -ENOSPC);
    fault_set_fini(&s);
}
END_TEST

START_TEST(percentiles_from_the_histogram)
{
    uint32_t hist[FAULT_HIST_BUCKETS] = { 0 };
    ck_assert_uint_eq(fault_hist_percentile(NULL, 0.5), 0);
    ck_assert_uint_eq(fault_hist_percentile(hist, 0.5), 0);
    for (uint64_t i = 1; i <= 1000; i++)
        hist[fault_hist_bucket(i * 1000)]++; /* 1 us .. 1 ms */
    uint64_t p50 = fault_hist_percentile(hist, 0.5), p99 = fault_hist_percentile(hist, 0.99);
    /* Reported as the bucket's top: never below the true value, within 6.25%. */
    ck_assert_msg(p50 >= 500000 && p50 <= 500000 * 1.0625 + 1, "p50 %llu", (unsigned long long)p50);
    ck_assert_msg(p99 >= 990000 && p99 <= 990000 * 1.0625 + 1, "p99 %llu", (unsigned long long)p99);
    for (uint64_t ns = 1; ns < (UINT64_C(1) << 62); ns = ns * 3 + 1)
        ck_assert_uint_lt(fault_hist_bucket(ns), FAULT_HIST_BUCKETS);
}
END_TEST

START_TEST(config_fault_key)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    struct located_error err;
    ck_assert_int_eq(sim_config_apply_option(&cfg, "fault=medium lba=7", &err), 0);
    ck_assert_int_eq(sim_config_apply_option(&cfg, "fault=latency dist=fixed time=1ms", &err), 0);
    ck_assert_str_eq(cfg.faults, "medium lba=7\nlatency dist=fixed time=1ms");
    ck_assert_int_eq(sim_config_apply_option(&cfg, "fault=medium lba=q", &err), -EINVAL);
    char msg[400];
    located_format(&err, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "bad lba 'q'") && strstr(msg, "column 18"), "%s", msg);
    ck_assert_int_eq(sim_config_apply_option(&cfg, "fault=capacity drive=0:0 blocks=9", &err), -EINVAL);
    located_format(&err, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "capacity is an action"), "%s", msg);
    ck_assert_int_eq(sim_config_apply_option(&cfg, "fault=remove drive=0:0", &err), -EINVAL);
    located_format(&err, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "remove is an action"), "%s", msg);
    ck_assert_str_eq(cfg.faults, "medium lba=7\nlatency dist=fixed time=1ms"); /* unchanged by failures */

    /* A file: several fault keys in [controller], printed back the same. */
    char path[] = "/tmp/scsisim-fault-cfg-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("[controller]\nfault = every-nth n=5 op=read\nfault = busy fraction=0.5\n[drive 0:0]\ncapacity = 1M\n", f);
    fclose(f);
    struct sim_config fc;
    sim_config_init(&fc);
    ck_assert_int_eq(sim_config_load_file(&fc, path, &err), 0);
    ck_assert_str_eq(fc.faults, "every-nth n=5 op=read\nbusy fraction=0.5");
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    ck_assert_int_eq(sim_config_print(&fc, mem), 0);
    fclose(mem);
    ck_assert_msg(strstr(text, "fault              = every-nth n=5 op=read\n"), "%s", text);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    struct sim_config again;
    sim_config_init(&again);
    ck_assert_int_eq(sim_config_load_file(&again, path, &err), 0);
    ck_assert_str_eq(again.faults, fc.faults);
    f = fopen(path, "w");
    fputs("[controller]\nfault = hang after=5\n", f);
    fclose(f);
    ck_assert_int_eq(sim_config_load_file(&again, path, &err), -EINVAL);
    located_format(&err, msg, sizeof msg);
    ck_assert_msg(strstr(msg, ":2:20") && strstr(msg, "bad after '5'"), "%s", msg);
    free(text);
    unlink(path);
    sim_config_free(&cfg);
    sim_config_free(&fc);
    sim_config_free(&again);
}
END_TEST

/* ---- the controller applying rules ---------------------------------------- */

static struct hh H;

static void open_ctrl(void)
{
    hh_open_ready(&H, NULL);
}

static void close_ctrl(void)
{
    hh_close(&H);
}

static void fault(const char *rule)
{
    char err[300] = "";
    ck_assert_msg(sim_ctrl_fault_add(H.ctrl, rule, err, sizeof err) == 0, "%s: %s", rule, err);
}

START_TEST(controller_puts_the_sense_in_host_memory)
{
    fault("medium drive=0:0 lba=10 count=4");
    struct hh_buf data = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE), sense = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, false, 8, 4); /* 8..11: first bad 10 */
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_READ, 2048,
                                          hh_sge(data.iova, 2048, HBA_SGE_DATA));
    e.sense_addr = sense.iova;
    e.sense_len = 96;
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(c.result, 0);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(sense.p, c.sense_len, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_MEDIUM_ERROR);
    ck_assert_uint_eq(si.asc, 0x11);
    ck_assert(si.info_valid);
    ck_assert_uint_eq(si.info, 10);
    struct tbuf st = { 0 };
    sim_ctrl_stats_json(H.ctrl, &st);
    ck_assert_msg(strstr(tbuf_str(&st), "{\"opcode\":\"0x28\",\"count\":1,\"bytes\":0,\"injected\":1"), "%s",
                  tbuf_str(&st));
    tbuf_free(&st);
}
END_TEST

START_TEST(controller_loses_a_completion_and_an_abort_ends_it)
{
    uint8_t tur[6] = { 0 };
    struct hba_sq_entry t = hh_scsi_entry(0, 0, tur, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(&H, 1, &t, &c), HBA_CS_SUCCESS); /* takes the power-on unit attention */
    fault("lose op=write limit=1");
    struct hh_buf data = hh_alloc(&H, 4096, HBA_DMA_TO_DEVICE);
    memset(data.p, 0x6b, 512);
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, true, 3, 1);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, 512,
                                          hh_sge(data.iova, 512, HBA_SGE_DATA));
    e.cid = 40;
    hh_submit(&H, 1, &e);
    ck_assert(hh_wait_fetched(&H, 1));
    ck_assert(!hh_poll_cqe(&H, 1, &c)); /* no completion: lost */
    /* It ran: a read sees the data. */
    struct hh_buf back = hh_alloc(&H, 4096, HBA_DMA_FROM_DEVICE);
    hh_cdb_rw10(cdb, false, 3, 1);
    struct hba_sq_entry r = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_READ, 512,
                                          hh_sge(back.iova, 512, HBA_SGE_DATA));
    ck_assert_int_eq(hh_scsi(&H, 1, &r, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(back.p[0], 0x6b);
    /* The controller still holds it: ABORT completes it. */
    struct hba_sq_entry ab = hh_admin_entry(HBA_ADM_ABORT, 1, 40, 0, 0);
    struct hba_cq_entry ac;
    ck_assert_int_eq(hh_admin(&H, &ab, &ac), HBA_CS_SUCCESS);
    ck_assert_uint_eq(ac.result, 0);
    ck_assert(hh_wait_cqe(&H, 1, 40, &c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_ABORTED);
}
END_TEST

START_TEST(controller_posts_a_completion_twice)
{
    fault("duplicate op=tur");
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = 21;
    hh_submit(&H, 1, &e);
    struct hba_cq_entry c[2];
    ck_assert(hh_wait_n(&H, 1, 2, c, HH_TIMEOUT_MS));
    ck_assert_uint_eq(c[0].cid, 21);
    ck_assert_uint_eq(c[1].cid, 21);
    ck_assert_uint_eq(c[0].scsi_status, c[1].scsi_status);
}
END_TEST

START_TEST(controller_delays_a_completion)
{
    fault("latency op=tur dist=fixed time=50ms");
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    struct hba_cq_entry c;
    uint64_t t0 = clock_now_ns();
    ck_assert_int_eq(hh_scsi(&H, 1, &e, &c), HBA_CS_SUCCESS);
    uint64_t took = clock_now_ns() - t0;
    /* A lower bound only: the delay is a minimum, whatever the machine's load. */
    ck_assert_msg(took >= 50000000, "completed after %llu ns", (unsigned long long)took);
    /* Rules survive a power cycle; inject_clear lifts them. */
    ck_assert_int_ge(sim_ctrl_power_cut(H.ctrl, NULL), 0);
    ck_assert_int_eq(sim_ctrl_power_on(H.ctrl), 0);
    struct tbuf j = { 0 };
    sim_ctrl_fault_list_json(H.ctrl, &j);
    ck_assert_msg(strstr(tbuf_str(&j), "latency op=tur dist=fixed time=50ms"), "%s", tbuf_str(&j));
    tbuf_free(&j);
    sim_ctrl_inject_clear(H.ctrl);
    sim_ctrl_fault_list_json(H.ctrl, &j);
    ck_assert_str_eq(tbuf_str(&j), "[]");
    tbuf_free(&j);
}
END_TEST

START_TEST(controller_hang_is_ended_by_a_reset)
{
    fault("hang op=tur");
    uint8_t cdb[6] = { 0 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    e.cid = 5;
    hh_submit(&H, 1, &e);
    ck_assert(hh_wait_fetched(&H, 1));
    struct hba_cq_entry c;
    ck_assert(!hh_poll_cqe(&H, 1, &c));
    struct hba_sq_entry rs = hh_admin_entry(HBA_ADM_RESET, HBA_RESET_LUN, 0, 0, 0);
    struct hba_cq_entry rc;
    ck_assert_int_eq(hh_admin(&H, &rs, &rc), HBA_CS_SUCCESS);
    ck_assert(hh_wait_cqe(&H, 1, 5, &c, HH_TIMEOUT_MS));
    ck_assert_uint_ne(c.ctrl_status, HBA_CS_SUCCESS);
}
END_TEST

START_TEST(controller_capacity_action)
{
    char err[300] = "";
    ck_assert_int_eq(sim_ctrl_fault_add(H.ctrl, "capacity drive=0:0 blocks=100", err, sizeof err), 0);
    ck_assert_int_eq(sim_ctrl_fault_add(H.ctrl, "capacity drive=3:0 blocks=100", err, sizeof err), -ENOENT);
    ck_assert_msg(strstr(err, "no drive 3:0"), "%s", err);
    ck_assert_int_eq(sim_ctrl_fault_add(H.ctrl, "capacity drive=0:0 blocks=99999999", err, sizeof err), -ERANGE);
    ck_assert_msg(strstr(err, "above the capacity"), "%s", err);
    struct tbuf j = { 0 };
    sim_ctrl_fault_list_json(H.ctrl, &j);
    ck_assert_str_eq(tbuf_str(&j), "[]"); /* an action is not kept */
    tbuf_free(&j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fault");
    TCase *t = tcase_create("engine");
    tcase_add_test(t, rules_print_canonically_and_parse_back);
    tcase_add_test(t, reorder_spurious_fatal_and_iommu_fault_decide);
    tcase_add_test(t, bad_rules_name_the_column_and_the_fix);
    tcase_add_test(t, medium_error_information_is_the_first_bad_lba);
    tcase_add_test(t, every_nth_counts_only_its_kind);
    tcase_add_test(t, fractions_are_reproducible_from_the_seed);
    tcase_add_test(t, latency_distributions_have_their_shape);
    tcase_add_test(t, limits_and_first_decider_wins);
    tcase_add_test(t, percentiles_from_the_histogram);
    tcase_add_test(t, config_fault_key);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("controller");
    tcase_add_checked_fixture(c, open_ctrl, close_ctrl);
    tcase_set_timeout(c, 30);
    tcase_add_test(c, controller_puts_the_sense_in_host_memory);
    tcase_add_test(c, controller_loses_a_completion_and_an_abort_ends_it);
    tcase_add_test(c, controller_posts_a_completion_twice);
    tcase_add_test(c, controller_delays_a_completion);
    tcase_add_test(c, controller_hang_is_ended_by_a_reset);
    tcase_add_test(c, controller_capacity_action);
    tcase_add_test(c, controller_rules_fire_only_where_the_controller_asks);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
