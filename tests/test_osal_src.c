/* tests/test_osal_src.c — osal_user's interrupt and timer sources and its life
 * cycle: an interrupt runs its handler on the queue and consumes the signal,
 * stays quiet while disabled (the signal waits), rejects bad and duplicate
 * vectors, follows osal_user_set_bus to the new eventfds; timers fire once,
 * re-arm, cancel (also from another thread), and are destroyed armed without
 * firing; create/destroy 1,000 times leaks no descriptor; blocks an
 * interrupt or timer handler queues run, in order, before the loop sleeps
 * again and without an eventfd wake-up. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "platform/osal_user.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

static struct of_fake F;
static struct of_log L;
static struct osal *OS;

static void setup(void)
{
    of_fake_open(&F, 1u << 20, 4);
    of_log_init(&L);
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.log_sink = of_log_sink;
    o.log_arg = &L;
    ck_assert_int_eq(osal_user_create(F.bus, &o, &OS), 0);
}

static void teardown(void)
{
    osal_user_destroy(OS);
    OS = NULL;
    of_fake_close(&F);
    of_log_fini(&L);
}

struct hits {
    _Atomic int n;
    _Atomic int off_queue;
    _Atomic unsigned last_vector;
};

static void count_irq(void *arg, unsigned vector)
{
    struct hits *h = arg;
    if (!osal_on_queue(OS))
        atomic_fetch_add(&h->off_queue, 1);
    atomic_store(&h->last_vector, vector);
    atomic_fetch_add(&h->n, 1);
}

static void count_timer(void *arg)
{
    struct hits *h = arg;
    if (!osal_on_queue(OS))
        atomic_fetch_add(&h->off_queue, 1);
    atomic_fetch_add(&h->n, 1);
}

/* Waits (failure detector only) until h->n reaches want. */
static bool wait_hits(struct hits *h, int want)
{
    for (int i = 0; i < OF_TIMEOUT_MS; i++) {
        if (atomic_load(&h->n) >= want)
            return true;
        proc_sleep_ms(1);
    }
    return false;
}

static void nothing(void *arg)
{
    (void)arg;
}

/* --- interrupts ----------------------------------------------------------- */

START_TEST(irq_runs_on_the_queue_and_consumes_the_signal)
{
    struct hits h = { 0 };
    struct osal_irq *irq;
    ck_assert_int_eq(osal_irq_create(OS, 2, count_irq, &h, &irq), 0);
    of_fake_signal(&F, 2);
    /* Disabled at creation: the signal waits in the eventfd. */
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert(of_fd_readable(F.a.vector_fd[2]));
    ck_assert_int_eq(atomic_load(&h.n), 0);
    osal_irq_enable(irq);
    ck_assert(wait_hits(&h, 1));
    ck_assert_int_eq(atomic_load(&h.off_queue), 0);
    ck_assert_uint_eq(atomic_load(&h.last_vector), 2);
    ck_assert(!of_fd_readable(F.a.vector_fd[2])); /* consumed */
    for (int i = 2; i <= 20; i++) {
        of_fake_signal(&F, 2);
        ck_assert(wait_hits(&h, i));
    }
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.irqs_delivered, 20);
    ck_assert_uint_eq(s.irqs_live, 1);

    osal_irq_disable(irq);
    int before = atomic_load(&h.n);
    of_fake_signal(&F, 2);
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert(of_fd_readable(F.a.vector_fd[2]));
    ck_assert_int_eq(atomic_load(&h.n), before);
    osal_irq_enable(irq);
    osal_irq_enable(irq); /* idempotent */
    ck_assert(wait_hits(&h, before + 1));
    osal_irq_destroy(irq);
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.irqs_live, 0);
}
END_TEST

/* What a completion handler does: queue the next command's block. */
struct chain {
    _Atomic int ran;
    int order[8];
    _Atomic int n;
    _Atomic int off_queue;
};

static void chain_block(void *arg)
{
    struct chain *c = arg;
    if (!osal_on_queue(OS))
        atomic_fetch_add(&c->off_queue, 1);
    int i = atomic_fetch_add(&c->n, 1);
    if (i < 8)
        c->order[i] = i;
    atomic_fetch_add(&c->ran, 1);
}

static struct chain CH;

static void queue_from_irq(void *arg, unsigned vector)
{
    (void)arg;
    (void)vector;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(osal_queue_async(OS, chain_block, &CH), 0);
}

static void queue_from_timer(void *arg)
{
    queue_from_irq(arg, 0);
}

START_TEST(blocks_queued_by_handlers_run_without_a_wakeup)
{
    memset(&CH, 0, sizeof(CH));
    struct osal_irq *irq;
    ck_assert_int_eq(osal_irq_create(OS, 1, queue_from_irq, NULL, &irq), 0);
    osal_irq_enable(irq);
    struct osal_user_stats before, after;
    osal_user_get_stats(OS, &before);
    of_fake_signal(&F, 1);
    for (int i = 0; i < OF_TIMEOUT_MS && atomic_load(&CH.ran) < 4; i++)
        proc_sleep_ms(1);
    ck_assert_int_eq(atomic_load(&CH.ran), 4);
    osal_user_get_stats(OS, &after);
    ck_assert_uint_eq(after.queue_wakeups, before.queue_wakeups); /* four blocks, no wake-up */
    ck_assert_int_eq(atomic_load(&CH.off_queue), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(CH.order[i], i);

    struct osal_timer *t;
    ck_assert_int_eq(osal_timer_create(OS, queue_from_timer, NULL, &t), 0);
    osal_user_get_stats(OS, &before);
    osal_timer_arm(t, 1);
    for (int i = 0; i < OF_TIMEOUT_MS && atomic_load(&CH.ran) < 8; i++)
        proc_sleep_ms(1);
    ck_assert_int_eq(atomic_load(&CH.ran), 8);
    osal_user_get_stats(OS, &after);
    /* osal_timer_arm from this thread is one wake-up; the blocks none */
    ck_assert_uint_eq(after.queue_wakeups, before.queue_wakeups + 1);

    /* From another thread a block still wakes the queue. */
    osal_user_get_stats(OS, &before);
    ck_assert_int_eq(osal_queue_async(OS, chain_block, &CH), 0);
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert_int_eq(atomic_load(&CH.ran), 9);
    osal_user_get_stats(OS, &after);
    ck_assert_uint_eq(after.queue_wakeups, before.queue_wakeups + 2);
    osal_timer_destroy(t);
    osal_irq_destroy(irq);
}
END_TEST

START_TEST(irq_rejects_bad_and_duplicate_vectors)
{
    struct hits h = { 0 };
    struct osal_irq *irq, *dup = (void *)1;
    ck_assert_int_eq(osal_irq_create(OS, 4, count_irq, &h, &dup), -EINVAL); /* the bus has 4 vectors */
    ck_assert_ptr_null(dup);
    ck_assert_int_eq(osal_irq_create(OS, 1, NULL, &h, &dup), -EINVAL);
    ck_assert_int_eq(osal_irq_create(OS, 1, count_irq, &h, &irq), 0);
    ck_assert_int_eq(osal_irq_create(OS, 1, count_irq, &h, &dup), -EBUSY);
    osal_irq_destroy(irq);
    ck_assert_int_eq(osal_irq_create(OS, 1, count_irq, &h, &irq), 0); /* free again */
    osal_irq_destroy(irq);
    osal_irq_destroy(NULL);
    osal_irq_enable(NULL);
    osal_irq_disable(NULL);
}
END_TEST

START_TEST(irqs_on_several_vectors)
{
    struct hits h[3] = { { 0 } };
    struct osal_irq *irq[3];
    for (unsigned v = 0; v < 3; v++) {
        ck_assert_int_eq(osal_irq_create(OS, v, count_irq, &h[v], &irq[v]), 0);
        osal_irq_enable(irq[v]);
    }
    of_fake_signal(&F, 1);
    ck_assert(wait_hits(&h[1], 1));
    of_fake_signal(&F, 0);
    ck_assert(wait_hits(&h[0], 1));
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert_int_eq(atomic_load(&h[2].n), 0);
    ck_assert_int_eq(atomic_load(&h[1].n), 1);
    for (unsigned v = 0; v < 3; v++)
        osal_irq_destroy(irq[v]);
}
END_TEST

START_TEST(irq_follows_the_bus)
{
    struct hits h = { 0 };
    struct osal_irq *irq;
    ck_assert_int_eq(osal_irq_create(OS, 3, count_irq, &h, &irq), 0);
    osal_irq_enable(irq);
    struct of_fake g;
    of_fake_open(&g, 1u << 20, 4);
    ck_assert_int_eq(osal_user_set_bus(OS, g.bus), 0);
    of_fake_signal(&g, 3);
    ck_assert(wait_hits(&h, 1));
    /* The old bus's eventfd is no longer watched. */
    of_fake_signal(&F, 3);
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert(of_fd_readable(F.a.vector_fd[3]));
    /* A disabled source stays disabled across the switch. */
    osal_irq_disable(irq);
    ck_assert_int_eq(osal_user_set_bus(OS, F.bus), 0);
    ck_assert(of_fd_readable(F.a.vector_fd[3]));
    osal_irq_enable(irq);
    ck_assert(wait_hits(&h, 2));
    osal_irq_destroy(irq);
    of_fake_close(&g);
}
END_TEST

/* --- timers --------------------------------------------------------------- */

START_TEST(timer_fires_once)
{
    struct hits h = { 0 };
    struct osal_timer *t;
    ck_assert_int_eq(osal_timer_create(OS, count_timer, &h, &t), 0);
    ck_assert(!osal_user_timer_armed(t));
    osal_timer_arm(t, 1);
    ck_assert(wait_hits(&h, 1));
    ck_assert(!osal_user_timer_armed(t));
    proc_sleep_ms(30); /* would it fire again? (one-shot: no) */
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert_int_eq(atomic_load(&h.n), 1);
    ck_assert_int_eq(atomic_load(&h.off_queue), 0);
    osal_timer_arm(t, 0); /* re-arm after firing */
    ck_assert(wait_hits(&h, 2));
    osal_timer_destroy(t);
}
END_TEST

struct rearm {
    struct osal_timer *t;
    struct hits *h;
};

static void arm_then_cancel(void *arg)
{
    struct rearm *r = arg;
    osal_timer_arm(r->t, 1);
    osal_timer_cancel(r->t);
}

static void arm_then_destroy(void *arg)
{
    struct rearm *r = arg;
    osal_timer_arm(r->t, 1);
    osal_timer_destroy(r->t);
}

static void arm_twice(void *arg)
{
    struct rearm *r = arg;
    osal_timer_arm(r->t, 1);
    osal_timer_arm(r->t, 2); /* re-arming replaces: still one shot */
}

START_TEST(timer_cancel_and_rearm)
{
    struct hits h = { 0 }, witness = { 0 };
    struct osal_timer *t, *w;
    ck_assert_int_eq(osal_timer_create(OS, count_timer, &h, &t), 0);
    ck_assert_int_eq(osal_timer_create(OS, count_timer, &witness, &w), 0);
    struct rearm r = { .t = t, .h = &h };
    /* On the queue, so the loop cannot run the timer between arm and cancel. */
    ck_assert_int_eq(osal_queue_sync(OS, arm_then_cancel, &r), 0);
    ck_assert(!osal_user_timer_armed(t));
    osal_timer_arm(w, 20); /* a later timer: once it fired, t would have too */
    ck_assert(wait_hits(&witness, 1));
    ck_assert_int_eq(atomic_load(&h.n), 0);

    ck_assert_int_eq(osal_queue_sync(OS, arm_twice, &r), 0);
    ck_assert(wait_hits(&h, 1));
    osal_timer_arm(w, 20);
    ck_assert(wait_hits(&witness, 2));
    ck_assert_int_eq(atomic_load(&h.n), 1);

    /* From this (non-queue) thread: arm far away, cancel, it is disarmed. */
    osal_timer_arm(t, 600000);
    ck_assert(osal_user_timer_armed(t));
    osal_timer_cancel(t);
    ck_assert(!osal_user_timer_armed(t));
    /* Destroying an armed timer: it never fires.  On the queue, as above: from
     * this thread a loaded machine may let the 1 ms pass before the destroy. */
    ck_assert_int_eq(osal_queue_sync(OS, arm_then_destroy, &r), 0);
    osal_timer_arm(w, 20);
    ck_assert(wait_hits(&witness, 3));
    ck_assert_int_eq(atomic_load(&h.n), 1);
    osal_timer_destroy(w);
    struct osal_user_stats s;
    osal_user_get_stats(OS, &s);
    ck_assert_uint_eq(s.timers_live, 0);
}
END_TEST

START_TEST(timer_rejects_bad_arguments)
{
    struct osal_timer *t = (void *)1;
    ck_assert_int_eq(osal_timer_create(OS, NULL, NULL, &t), -EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(osal_timer_create(NULL, count_timer, NULL, &t), -EINVAL);
    osal_timer_arm(NULL, 1);
    osal_timer_cancel(NULL);
    osal_timer_destroy(NULL);
    ck_assert(!osal_user_timer_armed(NULL));
}
END_TEST

/* --- life cycle ----------------------------------------------------------- */

START_TEST(create_destroy_1000_times_leaks_no_fd)
{
    int fds = proc_count_fds(0);
    for (int i = 0; i < 1000; i++) {
        struct osal *os;
        ck_assert_int_eq(osal_user_create(F.bus, NULL, &os), 0);
        if (i % 10 == 0) {
            /* with sources and DMA in use, as a driver would */
            struct hits h = { 0 };
            struct osal_irq *irq;
            struct osal_timer *t;
            struct osal_dma_buffer *b;
            struct osal_dma_mapping m;
            ck_assert_int_eq(osal_irq_create(os, 1, count_irq, &h, &irq), 0);
            osal_irq_enable(irq);
            ck_assert_int_eq(osal_timer_create(os, count_timer, &h, &t), 0);
            osal_timer_arm(t, 1000);
            ck_assert_int_eq(osal_dma_alloc(os, 4096, 4096, &b), 0);
            ck_assert_int_eq(osal_dma_prepare(os, b, 0, 4096, HBA_DMA_TO_DEVICE, 64, &m), 0);
            ck_assert_int_eq(osal_dma_complete(os, &m), 0);
            osal_dma_free(os, b);
            osal_timer_destroy(t);
            osal_irq_destroy(irq);
        }
        osal_user_destroy(os);
    }
    ck_assert_int_eq(proc_count_fds(0), fds);
}
END_TEST

START_TEST(destroy_closes_forgotten_sources)
{
    struct hits h = { 0 };
    struct osal_irq *irq;
    struct osal_timer *t;
    int fds = proc_count_fds(0);
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.log_sink = of_log_sink;
    o.log_arg = &L;
    struct osal *os;
    ck_assert_int_eq(osal_user_create(F.bus, &o, &os), 0);
    ck_assert_int_eq(osal_irq_create(os, 1, count_irq, &h, &irq), 0);
    osal_irq_enable(irq);
    ck_assert_int_eq(osal_timer_create(os, count_timer, &h, &t), 0);
    osal_timer_arm(t, 600000);
    osal_user_destroy(os); /* must not hang on the live handles */
    ck_assert(of_log_has(&L, "not destroyed before teardown"));
    ck_assert_int_eq(proc_count_fds(0), fds);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("osal_src");
    TCase *t = tcase_create("src");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, irq_runs_on_the_queue_and_consumes_the_signal);
    tcase_add_test(t, irq_rejects_bad_and_duplicate_vectors);
    tcase_add_test(t, blocks_queued_by_handlers_run_without_a_wakeup);
    tcase_add_test(t, irqs_on_several_vectors);
    tcase_add_test(t, irq_follows_the_bus);
    tcase_add_test(t, timer_fires_once);
    tcase_add_test(t, timer_cancel_and_rearm);
    tcase_add_test(t, timer_rejects_bad_arguments);
    tcase_add_test(t, create_destroy_1000_times_leaks_no_fd);
    tcase_add_test(t, destroy_closes_forgotten_sources);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
