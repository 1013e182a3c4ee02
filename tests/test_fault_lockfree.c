/* tests/test_fault_lockfree.c — the fault engine's per-command paths that take
 * no lock (sim/fault/, issue 14 item 2): fault_eval with no command rule set
 * returns at once, yet a rule added is applied from the very next command,
 * an iommu-fault rule is still armed by it, and clearing puts the fast path
 * back; fault_stats_note counts every command without the lock, a reset from
 * another thread zeroes what readers see and the counting goes on from there,
 * and an opcode's histogram is allocated once, not per command or per reset.
 * The two threaded tests are what a TSan build (docs/benchmarks.md) checks. */
#include "tests/support/testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "scsi/scsi.h"
#include "sim/fault/fault.h"

static const uint8_t READ10[10] = { 0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0 };
static const uint8_t WRITE10[10] = { 0x2A, 0, 0, 0, 0, 8, 0, 0, 1, 0 };

static struct fault_verdict eval(struct fault_set *s, const uint8_t *cdb)
{
    struct fault_cmd c = { .target = 0, .lun = 0, .cdb = cdb, .cdb_len = 10 };
    struct fault_verdict v;
    fault_eval(s, &c, &v);
    return v;
}

static void add(struct fault_set *s, const char *text)
{
    struct fault_rule r;
    char err[300] = "";
    ck_assert_msg(fault_rule_parse(text, &r, err, sizeof err, NULL) == 0, "'%s': %s", text, err);
    ck_assert_int_eq(fault_set_add(s, &r), 0);
}

START_TEST(a_rule_applies_from_the_next_command_and_clear_lifts_it)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    ck_assert_int_eq(eval(&s, WRITE10).outcome, FAULT_RUN); /* no rule: the fast path */
    add(&s, "write-protect");
    ck_assert_int_eq(eval(&s, WRITE10).outcome, FAULT_CHECK);
    ck_assert_int_eq(eval(&s, READ10).outcome, FAULT_RUN);
    fault_set_clear(&s);
    ck_assert_int_eq(eval(&s, WRITE10).outcome, FAULT_RUN);
    /* The controller's own rules are not the command path's: they leave it
     * lock-free and change nothing for a command. */
    add(&s, "irq-lost");
    add(&s, "admin-refuse admin=identify");
    ck_assert_uint_eq(atomic_load(&s.cmd_rules), 0);
    ck_assert_int_eq(eval(&s, WRITE10).outcome, FAULT_RUN);
    add(&s, "busy op=write");
    ck_assert_uint_eq(atomic_load(&s.cmd_rules), 1);
    struct fault_verdict v = eval(&s, WRITE10);
    ck_assert_int_eq(v.outcome, FAULT_STATUS);
    ck_assert_uint_eq(v.status, SCSI_STATUS_BUSY);
    fault_set_clear(&s);
    ck_assert_uint_eq(atomic_load(&s.cmd_rules), 0);
    fault_set_fini(&s);
}
END_TEST

START_TEST(an_iommu_fault_rule_is_armed_by_the_next_command)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    ck_assert_int_eq(eval(&s, READ10).outcome, FAULT_RUN);
    ck_assert(!fault_dma_access(&s));
    add(&s, "iommu-fault op=read nth=2");
    ck_assert_int_eq(eval(&s, WRITE10).outcome, FAULT_RUN); /* not armed: a write */
    ck_assert(!fault_dma_access(&s));
    ck_assert(!fault_dma_access(&s));
    ck_assert_int_eq(eval(&s, READ10).outcome, FAULT_RUN); /* armed */
    ck_assert(!fault_dma_access(&s));
    ck_assert(fault_dma_access(&s)); /* the read's second access */
    fault_set_clear(&s);
    ck_assert(!fault_dma_access(&s));
    fault_set_fini(&s);
}
END_TEST

static char *stats(struct fault_set *s)
{
    struct tbuf b = { 0 };
    fault_stats_json(s, &b, false);
    char *out = strdup(tbuf_str(&b));
    tbuf_free(&b);
    return out;
}

static void *reset_thread(void *arg)
{
    fault_stats_reset(arg);
    return NULL;
}

START_TEST(statistics_count_every_command_and_a_reset_from_another_thread_zeroes_them)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    for (unsigned i = 0; i < 1000; i++)
        fault_stats_note(&s, 0, 0, 0x28, 4096, 1000000, false); /* 1 ms */
    for (unsigned i = 0; i < 10; i++)
        fault_stats_note(&s, 0, 1, 0x2A, 512, 2000000, true);
    char *j = stats(&s);
    ck_assert_msg(strstr(j, "{\"opcode\":\"0x28\",\"count\":1000,\"bytes\":4096000,\"injected\":0,\"mean_us\":1000.0"),
                  "%s", j);
    ck_assert_msg(strstr(j, "{\"opcode\":\"0x2a\",\"count\":10,\"bytes\":5120,\"injected\":10"), "%s", j);
    ck_assert_msg(strstr(j, "{\"drive\":\"0:0\",\"count\":1000,\"bytes\":4096000,\"injected\":0}"), "%s", j);
    ck_assert_msg(strstr(j, "{\"drive\":\"0:1\",\"count\":10,\"bytes\":5120,\"injected\":10}"), "%s", j);
    free(j);
    _Atomic uint32_t *hist = atomic_load(&s.op[0x28].hist);
    ck_assert_ptr_nonnull(hist);

    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reset_thread, &s), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    j = stats(&s);
    ck_assert_str_eq(j, "{\"opcodes\":[],\"lus\":[]}");
    free(j);

    /* Counting goes on from zero; the percentiles see only what came since. */
    for (unsigned i = 0; i < 5; i++)
        fault_stats_note(&s, 0, 1, 0x28, 100, 10000, false); /* 10 us */
    j = stats(&s);
    ck_assert_msg(strstr(j, "{\"opcode\":\"0x28\",\"count\":5,\"bytes\":500,\"injected\":0,\"mean_us\":10.0,"
                            "\"p50_us\":10.2,"), "%s", j);
    ck_assert_msg(!strstr(j, "0x2a") && !strstr(j, "\"0:0\""), "%s", j);
    ck_assert_msg(strstr(j, "{\"drive\":\"0:1\",\"count\":5,\"bytes\":500,\"injected\":0}"), "%s", j);
    free(j);
    ck_assert_ptr_eq(atomic_load(&s.op[0x28].hist), hist); /* allocated once, kept across the reset */
    fault_set_fini(&s);
}
END_TEST

/* The firmware thread's part: notes commands while the control side reads
 * and resets. */
struct writer {
    struct fault_set *s;
    unsigned n;
};

static void *note_thread(void *arg)
{
    struct writer *w = arg;
    for (unsigned i = 0; i < w->n; i++)
        fault_stats_note(w->s, 0, (uint16_t)(i % 3), (uint8_t)(i % 2 ? 0x28 : 0x2A), 4096, 1000 + i % 5000, i % 7 == 0);
    return NULL;
}

static unsigned long long count_of(const char *j, const char *opcode)
{
    char key[64];
    snprintf(key, sizeof key, "{\"opcode\":\"%s\",\"count\":", opcode);
    const char *p = strstr(j, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

START_TEST(readers_and_resets_while_the_firmware_counts)
{
    struct fault_set s;
    ck_assert_int_eq(fault_set_init(&s, 1), 0);
    enum { N = 200000 };
    /* Read while it counts: the final count is every command. */
    struct writer w = { &s, N };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, note_thread, &w), 0);
    unsigned long long last = 0;
    for (unsigned i = 0; i < 200; i++) {
        char *j = stats(&s);
        unsigned long long c = count_of(j, "0x28") + count_of(j, "0x2a");
        ck_assert_uint_ge(c, last); /* never goes back */
        ck_assert_uint_le(c, N);
        last = c;
        free(j);
    }
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    char *j = stats(&s);
    ck_assert_uint_eq(count_of(j, "0x28"), N / 2);
    ck_assert_uint_eq(count_of(j, "0x2a"), N / 2);
    free(j);

    /* Reset while it counts: what is read is never more than came since. */
    ck_assert_int_eq(pthread_create(&th, NULL, note_thread, &w), 0);
    for (unsigned i = 0; i < 200; i++) {
        fault_stats_reset(&s);
        j = stats(&s);
        ck_assert_uint_le(count_of(j, "0x28") + count_of(j, "0x2a"), N);
        free(j);
    }
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    fault_stats_reset(&s);
    for (unsigned i = 0; i < 7; i++)
        fault_stats_note(&s, 0, 0, 0x28, 1, 1, false);
    j = stats(&s);
    ck_assert_uint_eq(count_of(j, "0x28"), 7);
    ck_assert_uint_eq(count_of(j, "0x2a"), 0);
    free(j);
    fault_set_fini(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fault_lockfree");
    TCase *t = tcase_create("lockfree");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, a_rule_applies_from_the_next_command_and_clear_lifts_it);
    tcase_add_test(t, an_iommu_fault_rule_is_armed_by_the_next_command);
    tcase_add_test(t, statistics_count_every_command_and_a_reset_from_another_thread_zeroes_them);
    tcase_add_test(t, readers_and_resets_while_the_firmware_counts);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
