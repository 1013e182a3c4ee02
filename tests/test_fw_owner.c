/* tests/test_fw_owner.c — the firmware thread runs commands without the
 * firmware's lock (sim/fw/fw.c fw_claim_thread, fw_lock; issue 14 item 2):
 * a thread that claimed the firmware and one that did not race COMPARE AND
 * WRITE increments of one counter while a third makes control calls (write
 * cache, unit attentions, the cache statistics), and no update is lost: the
 * claimed thread's lock-free commands and everything that takes the lock
 * exclude each other.  A control call made before a command is seen by it.
 * The race is caught, not proved absent: with fw_lock's wait taken out, 8 of
 * 10 runs lost updates; with fw_lock not setting ctl, 4 of 10 (each run
 * 40,000 increments).  A TSan build of this test is the thread-safety
 * evidence. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/tbuf.h"

#define ROUNDS 20000

struct racer {
    struct fw *fw;
    uint16_t initiator;
    bool claim;
    unsigned done;
};

/* Adds 1 to block 0's counter ROUNDS times: READ, then COMPARE AND WRITE of
 * the old value with the new, again after a miscompare or a unit attention.
 * A command of one thread that ran inside another's would lose an update. */
static void *incrementer(void *arg)
{
    struct racer *r = arg;
    if (r->claim)
        fw_claim_thread(r->fw, true);
    while (r->done < ROUNDS)
        r->done += fwh_caw_increment(r->fw, r->initiator);
    if (r->claim)
        fw_claim_thread(r->fw, false);
    return NULL;
}

struct control {
    struct fw *fw;
    _Atomic bool stop;
    unsigned calls;
};

static void *controller(void *arg)
{
    struct control *c = arg;
    while (!atomic_load(&c->stop)) {
        bool on = c->calls % 2;
        ck_assert_int_eq(fw_set_write_cache(c->fw, 0, 0, on), 0);
        bool now;
        ck_assert_int_eq(fw_get_write_cache(c->fw, 0, 0, &now), 0);
        ck_assert(now == on);
        if (c->calls % 16 == 0)
            ck_assert_int_eq(fw_raise_ua(c->fw, 0, 0, 0, SCSI_ASCQ(0x2A, 0x01)), 0); /* MODE PARAMETERS CHANGED */
        struct tbuf b = { 0 };
        fw_cache_stats_json(c->fw, &b);
        tbuf_free(&b);
        c->calls++;
    }
    return NULL;
}

START_TEST(claimed_and_locked_commands_and_control_calls_exclude_each_other)
{
    struct fw *fw = fwh_simple(64);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 1, 0, 0);
    struct racer a = { fw, 0, true, 0 }, b = { fw, 1, false, 0 };
    struct control c = { .fw = fw };
    pthread_t ta, tb, tc;
    ck_assert_int_eq(pthread_create(&tc, NULL, controller, &c), 0);
    ck_assert_int_eq(pthread_create(&ta, NULL, incrementer, &a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, incrementer, &b), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_int_eq(pthread_join(tb, NULL), 0);
    atomic_store(&c.stop, true);
    ck_assert_int_eq(pthread_join(tc, NULL), 0);
    ck_assert_uint_gt(c.calls, 0);
    uint8_t r[512];
    fwh_drain_ua(fw, 0, 0, 0); /* the controller's last MODE PARAMETERS CHANGED */
    fwh_read(fw, 0, 1, r, 512);
    ck_assert_uint_eq(scsi_get_be32(r), 2 * ROUNDS);
    fw_destroy(fw);
}
END_TEST

/* The claimed thread's command after a control call returned sees it. */
struct seer {
    struct fw *fw;
    pthread_barrier_t *bar;
    unsigned wrong;
};

static void *mode_sensor(void *arg)
{
    struct seer *s = arg;
    fw_claim_thread(s->fw, true);
    for (unsigned i = 0; i < 200; i++) {
        pthread_barrier_wait(s->bar); /* the control call is done */
        uint8_t cdb[6] = { 0x1A, 0x08, 0x08, 0, 255, 0 }, buf[255]; /* MODE SENSE (6), DBD, caching page */
        struct fw_task t;
        fwh_run(s->fw, &t, 0, 0, 0, cdb, 6, HBA_FLAG_DIR_READ, buf, sizeof buf);
        fwh_expect_good(&t);
        bool wce = (buf[4 + 2] & 0x04) != 0; /* header 4 bytes, then the page: byte 2 bit 2 */
        s->wrong += wce != (i % 2 == 1);
        pthread_barrier_wait(s->bar); /* the command is done */
    }
    fw_claim_thread(s->fw, false);
    return NULL;
}

START_TEST(a_control_call_is_seen_by_the_next_claimed_command)
{
    struct fw *fw = fwh_simple(64);
    fwh_drain_ua(fw, 0, 0, 0);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct seer s = { fw, &bar, 0 };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, mode_sensor, &s), 0);
    for (unsigned i = 0; i < 200; i++) {
        ck_assert_int_eq(fw_set_write_cache(fw, 0, 0, i % 2 == 1), 0);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
    }
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(s.wrong, 0);
    pthread_barrier_destroy(&bar);
    fw_destroy(fw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fw_owner");
    TCase *tc = tcase_create("owner");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, claimed_and_locked_commands_and_control_calls_exclude_each_other);
    tcase_add_test(tc, a_control_call_is_seen_by_the_next_claimed_command);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
