/* tests/test_osal_queue.c — osal_user's dispatch queue: FIFO order of async
 * blocks (from one and from several threads), sync waits and runs inline on
 * the queue, everything runs on the queue thread, blocks queued before
 * teardown still run and later ones get -ESHUTDOWN, destroy on the queue is
 * refused; osal_queue_run_here runs its block and the blocks it queues on the
 * calling thread without a wake-up, holds off interrupt handlers meanwhile,
 * hands over behind blocks other threads queued, lets timers be armed and
 * refuses to create sources; osal_user_pause holds timers and interrupt
 * handlers until it ends; logging threshold, prefix and sink. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "base/clock.h"
#include "platform/osal_user.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

static struct of_fake F;
static struct of_log L;
static struct osal *OS;

static void setup(void)
{
    of_fake_open(&F, 1u << 20, 2);
    of_log_init(&L);
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.name = "q0";
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

#define N 1000

struct seq {
    int order[4 * N];
    _Atomic int n;
    _Atomic int off_queue; /* blocks that found themselves off the queue */
};

struct step {
    struct seq *s;
    int value;
};

static void record_step(void *arg)
{
    struct step *st = arg;
    if (!osal_on_queue(OS))
        atomic_fetch_add(&st->s->off_queue, 1);
    int i = atomic_fetch_add(&st->s->n, 1);
    st->s->order[i] = st->value;
}

static void nothing(void *arg)
{
    (void)arg;
}

START_TEST(async_blocks_run_in_order_on_the_queue)
{
    static struct seq s;
    static struct step st[N];
    memset(&s, 0, sizeof(s));
    ck_assert(!osal_on_queue(OS));
    for (int i = 0; i < N; i++) {
        st[i] = (struct step){ .s = &s, .value = i };
        ck_assert_int_eq(osal_queue_async(OS, record_step, &st[i]), 0);
    }
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0); /* a barrier: FIFO */
    ck_assert_int_eq(atomic_load(&s.n), N);
    ck_assert_int_eq(atomic_load(&s.off_queue), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(s.order[i], i);
}
END_TEST

struct producer {
    struct seq *s;
    struct step st[N];
    int id;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < N; i++) {
        p->st[i] = (struct step){ .s = p->s, .value = p->id * N + i };
        if (osal_queue_async(OS, record_step, &p->st[i]) < 0)
            return (void *)1;
    }
    return NULL;
}

START_TEST(each_thread_keeps_its_order)
{
    static struct seq s;
    static struct producer p[4];
    memset(&s, 0, sizeof(s));
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        p[i].s = &s;
        p[i].id = i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        ck_assert_ptr_null(rc);
    }
    ck_assert_int_eq(osal_queue_sync(OS, nothing, NULL), 0);
    ck_assert_int_eq(atomic_load(&s.n), 4 * N);
    int last[4] = { -1, -1, -1, -1 };
    for (int i = 0; i < 4 * N; i++) {
        int id = s.order[i] / N, k = s.order[i] % N;
        ck_assert_int_eq(k, last[id] + 1);
        last[id] = k;
    }
}
END_TEST

struct nest {
    int trace[4];
    int n;
    int rc;
};

static void inner(void *arg)
{
    struct nest *ns = arg;
    ns->trace[ns->n++] = 2;
}

static void outer(void *arg)
{
    struct nest *ns = arg;
    ns->trace[ns->n++] = 1;
    ns->rc = osal_queue_sync(OS, inner, ns); /* inline: it would deadlock otherwise */
    ns->trace[ns->n++] = 3;
}

START_TEST(sync_on_the_queue_runs_inline)
{
    struct nest ns = { .n = 0 };
    ck_assert_int_eq(osal_queue_sync(OS, outer, &ns), 0);
    ck_assert_int_eq(ns.rc, 0);
    ck_assert_int_eq(ns.n, 3);
    ck_assert_int_eq(ns.trace[0], 1);
    ck_assert_int_eq(ns.trace[1], 2);
    ck_assert_int_eq(ns.trace[2], 3);
}
END_TEST

static void set_flag(void *arg)
{
    *(int *)arg = osal_on_queue(OS) ? 1 : -1;
}

START_TEST(sync_waits_for_the_block)
{
    for (int i = 0; i < 100; i++) {
        int flag = 0;
        ck_assert_int_eq(osal_queue_sync(OS, set_flag, &flag), 0);
        ck_assert_int_eq(flag, 1);
    }
}
END_TEST

START_TEST(queue_rejects_bad_arguments)
{
    ck_assert_int_eq(osal_queue_async(NULL, nothing, NULL), -EINVAL);
    ck_assert_int_eq(osal_queue_async(OS, NULL, NULL), -EINVAL);
    ck_assert_int_eq(osal_queue_sync(NULL, nothing, NULL), -EINVAL);
    ck_assert_int_eq(osal_queue_sync(OS, NULL, NULL), -EINVAL);
    ck_assert(!osal_on_queue(NULL));
}
END_TEST

/* --- teardown ------------------------------------------------------------- */

struct drain {
    _Atomic int ran;          /* noop blocks that ran */
    int queued;               /* noop blocks accepted before teardown */
    int refused;              /* -ESHUTDOWN seen */
    _Atomic bool go;
};

static void count_ran(void *arg)
{
    struct drain *d = arg;
    atomic_fetch_add(&d->ran, 1);
}

/* Runs on the queue: keeps queueing until teardown refuses. */
static void queue_until_refused(void *arg)
{
    struct drain *d = arg;
    atomic_store(&d->go, true);
    for (int i = 0; i < 5000000; i++) {
        int rc = osal_queue_async(OS, count_ran, d);
        if (rc == -ESHUTDOWN) {
            d->refused = 1;
            return;
        }
        if (rc == 0)
            d->queued++;
        if (i % 64 == 0)
            proc_sleep_ms(1);
    }
}

static void *destroyer(void *arg)
{
    struct drain *d = arg;
    while (!atomic_load(&d->go))
        proc_sleep_ms(1);
    osal_user_destroy(OS);
    return NULL;
}

START_TEST(teardown_drains_then_refuses)
{
    static struct drain d;
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(osal_queue_async(OS, queue_until_refused, &d), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, destroyer, &d), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(d.refused, 1);
    ck_assert_int_eq(atomic_load(&d.ran), d.queued); /* every accepted block ran */
    ck_assert_int_eq(osal_user_create(F.bus, NULL, &OS), 0); /* for teardown() */
}
END_TEST

static void destroy_self(void *arg)
{
    (void)arg;
    osal_user_destroy(OS);
}

START_TEST(destroy_on_the_queue_is_refused)
{
    ck_assert_int_eq(osal_queue_sync(OS, destroy_self, NULL), 0);
    ck_assert(of_log_has(&L, "called on the dispatch queue"));
    int flag = 0;
    ck_assert_int_eq(osal_queue_sync(OS, set_flag, &flag), 0); /* still alive */
    ck_assert_int_eq(flag, 1);
    ck_assert_int_eq(osal_user_set_bus(OS, F.bus), 0);
}
END_TEST

static void set_bus_self(void *arg)
{
    *(int *)arg = osal_user_set_bus(OS, F.bus);
}

START_TEST(set_bus_on_the_queue_is_refused)
{
    int rc = 0;
    ck_assert_int_eq(osal_queue_sync(OS, set_bus_self, &rc), 0);
    ck_assert_int_eq(rc, -EDEADLK);
    ck_assert_int_eq(osal_user_set_bus(OS, NULL), -EINVAL);
}
END_TEST

/* --- osal_queue_run_here ---------------------------------------------------- */

struct here {
    pthread_t caller;
    _Atomic int ran, on_caller, on_queue, queued_ran, queued_on_caller;
};

static struct here H;

static void here_queued(void *arg)
{
    (void)arg;
    atomic_fetch_add(&H.queued_ran, 1);
    if (pthread_equal(pthread_self(), H.caller))
        atomic_fetch_add(&H.queued_on_caller, 1);
}

static void here_block(void *arg)
{
    (void)arg;
    atomic_fetch_add(&H.ran, 1);
    if (pthread_equal(pthread_self(), H.caller))
        atomic_fetch_add(&H.on_caller, 1);
    if (osal_on_queue(OS))
        atomic_fetch_add(&H.on_queue, 1);
    for (int i = 0; i < 3; i++) /* what a completion does: submit the next command */
        ck_assert_int_eq(osal_queue_async(OS, here_queued, NULL), 0);
    ck_assert_int_eq(atomic_load(&H.queued_ran), 0); /* not before this block ends */
}

START_TEST(run_here_runs_on_the_caller_without_a_wakeup)
{
    memset(&H, 0, sizeof(H));
    H.caller = pthread_self();
    struct osal_user_stats a, b;
    osal_user_get_stats(OS, &a);
    ck_assert_int_eq(osal_queue_run_here(OS, here_block, NULL), 0);
    osal_user_get_stats(OS, &b);
    ck_assert_int_eq(atomic_load(&H.ran), 1);
    ck_assert_int_eq(atomic_load(&H.on_caller), 1);
    ck_assert_int_eq(atomic_load(&H.on_queue), 1);
    ck_assert_int_eq(atomic_load(&H.queued_ran), 3);         /* before it returned */
    ck_assert_int_eq(atomic_load(&H.queued_on_caller), 3);
    ck_assert_uint_eq(b.queue_wakeups, a.queue_wakeups);       /* no eventfd write at all */
    ck_assert(!osal_on_queue(OS));                             /* only inside */
    ck_assert_int_eq(osal_queue_run_here(NULL, here_block, NULL), -EINVAL);
    ck_assert_int_eq(osal_queue_run_here(OS, NULL, NULL), -EINVAL);
}
END_TEST

/* The run_here thread's own list: FIFO, blocks queued by queued blocks run
 * behind them, all before run_here returns, and its spent items are reused
 * across calls (more calls than it keeps items, for the leak checkers). */
struct chain {
    int order[64];
    _Atomic int n;
    int depth;
};

static struct chain C;

static void chain_link(void *arg)
{
    int id = (int)(intptr_t)arg;
    int i = atomic_fetch_add(&C.n, 1);
    if (i < 64)
        C.order[i] = id;
    ck_assert(osal_on_queue(OS));
    if (id < 10) /* 1 and 2 each queue a child: 11 and 12 run after both */
        ck_assert_int_eq(osal_queue_async(OS, chain_link, (void *)(intptr_t)(id + 10)), 0);
}

static void chain_head(void *arg)
{
    (void)arg;
    ck_assert_int_eq(osal_queue_async(OS, chain_link, (void *)(intptr_t)1), 0);
    ck_assert_int_eq(osal_queue_async(OS, chain_link, (void *)(intptr_t)2), 0);
}

START_TEST(run_here_runs_its_own_queue_in_order)
{
    struct osal_user_stats a, b;
    osal_user_get_stats(OS, &a);
    for (int round = 0; round < 1500; round++) {
        memset(&C, 0, sizeof(C));
        ck_assert_int_eq(osal_queue_run_here(OS, chain_head, NULL), 0);
        ck_assert_int_eq(atomic_load(&C.n), 4);
        ck_assert_int_eq(C.order[0], 1);
        ck_assert_int_eq(C.order[1], 2);
        ck_assert_int_eq(C.order[2], 11);
        ck_assert_int_eq(C.order[3], 12);
    }
    osal_user_get_stats(OS, &b);
    ck_assert_uint_eq(b.queue_wakeups, a.queue_wakeups);
}
END_TEST

struct gate {
    _Atomic int open;
    _Atomic int b_ran;
    _Atomic int fn_saw_b;
};

static void stall(void *arg)
{
    struct gate *g = arg;
    while (!atomic_load(&g->open))
        proc_sleep_ms(1);
}

static void mark_b(void *arg)
{
    atomic_store(&((struct gate *)arg)->b_ran, 1);
}

static void saw_b(void *arg)
{
    struct gate *g = arg;
    atomic_store(&g->fn_saw_b, atomic_load(&g->b_ran) ? 1 : -1);
}

static void *opener(void *arg)
{
    proc_sleep_ms(20); /* any order works: the assertion is on the order of blocks */
    atomic_store(&((struct gate *)arg)->open, 1);
    return NULL;
}

START_TEST(run_here_goes_behind_blocks_already_queued)
{
    static struct gate g;
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(osal_queue_async(OS, stall, &g), 0);
    ck_assert_int_eq(osal_queue_async(OS, mark_b, &g), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, opener, &g), 0);
    ck_assert_int_eq(osal_queue_run_here(OS, saw_b, &g), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(atomic_load(&g.fn_saw_b), 1);
}
END_TEST

static _Atomic int irq_hits;

static void count_hit(void *arg, unsigned vector)
{
    (void)arg;
    (void)vector;
    atomic_fetch_add(&irq_hits, 1);
}

struct inside {
    int irq_rc;
    int hits_while_inside;
    struct osal_timer *t;
};

static void signal_and_wait(void *arg)
{
    struct inside *x = arg;
    of_fake_signal(&F, 1);
    proc_sleep_ms(30); /* the handler may not run meanwhile, however long this is */
    x->hits_while_inside = atomic_load(&irq_hits);
    struct osal_irq *other = NULL;
    x->irq_rc = osal_irq_create(OS, 0, count_hit, NULL, &other); /* would wait for the queue's thread */
    osal_timer_arm(x->t, 1);                                    /* allowed: passed on */
}

static _Atomic int timer_fired;

static void fired(void *arg)
{
    (void)arg;
    atomic_fetch_add(&timer_fired, 1);
}

START_TEST(run_here_holds_off_handlers_and_arms_timers)
{
    atomic_store(&irq_hits, 0);
    atomic_store(&timer_fired, 0);
    struct osal_irq *irq;
    ck_assert_int_eq(osal_irq_create(OS, 1, count_hit, NULL, &irq), 0);
    osal_irq_enable(irq);
    struct inside x = { 0 };
    ck_assert_int_eq(osal_timer_create(OS, fired, NULL, &x.t), 0);
    ck_assert_int_eq(osal_queue_run_here(OS, signal_and_wait, &x), 0);
    ck_assert_int_eq(x.hits_while_inside, 0);
    ck_assert_int_eq(x.irq_rc, -EDEADLK);
    ck_assert(of_log_has(&L, "osal_irq_create from a block run by osal_queue_run_here"));
    for (int i = 0; i < OF_TIMEOUT_MS && (atomic_load(&irq_hits) < 1 || atomic_load(&timer_fired) < 1); i++)
        proc_sleep_ms(1);
    ck_assert_int_eq(atomic_load(&irq_hits), 1);   /* delivered once the block ended */
    ck_assert_int_eq(atomic_load(&timer_fired), 1);
    osal_timer_destroy(x.t);
    osal_irq_destroy(irq);
}
END_TEST

/* --- osal_user_pause ------------------------------------------------------- */

#define PAUSE_MS 100

static _Atomic uint64_t hit_ns, fire_ns;
static _Atomic int pause_go;

static void stamp_hit(void *arg, unsigned vector)
{
    (void)arg;
    (void)vector;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&hit_ns, &zero, clock_now_ns());
}

static void stamp_fire(void *arg)
{
    (void)arg;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&fire_ns, &zero, clock_now_ns());
}

/* Keeps the queue busy until the test says go, then arms the timer (1 ms)
 * and raises the interrupt: the pause queued behind this block runs next. */
static void gate(void *arg)
{
    while (!atomic_load(&pause_go))
        proc_sleep_ms(1);
    osal_timer_arm(arg, 1);
    of_fake_signal(&F, 1);
}

struct pauser {
    pthread_t th;
    int rc;
};

static void *pause_thread(void *arg)
{
    struct pauser *x = arg;
    x->rc = osal_user_pause(OS, PAUSE_MS * 1000000ull);
    return NULL;
}

/* What came due during a pause (a timer, an interrupt) runs only after it:
 * a lower bound, so no load can make it fail. */
START_TEST(pause_holds_timers_and_handlers)
{
    atomic_store(&hit_ns, 0);
    atomic_store(&fire_ns, 0);
    atomic_store(&pause_go, 0);
    struct osal_irq *irq;
    struct osal_timer *t;
    ck_assert_int_eq(osal_irq_create(OS, 1, stamp_hit, NULL, &irq), 0);
    osal_irq_enable(irq);
    ck_assert_int_eq(osal_timer_create(OS, stamp_fire, NULL, &t), 0);
    ck_assert_int_eq(osal_queue_async(OS, gate, t), 0);
    struct osal_user_stats st;
    osal_user_get_stats(OS, &st);
    uint64_t before = st.queue_wakeups;
    struct pauser x = { .rc = 1 };
    ck_assert_int_eq(pthread_create(&x.th, NULL, pause_thread, &x), 0);
    /* The pause is queued (behind gate) once its wake-up was counted. */
    for (int i = 0; i < OF_TIMEOUT_MS && st.queue_wakeups == before; i++) {
        proc_sleep_ms(1);
        osal_user_get_stats(OS, &st);
    }
    ck_assert_uint_gt(st.queue_wakeups, before);
    uint64_t go = clock_now_ns();
    atomic_store(&pause_go, 1);
    pthread_join(x.th, NULL);
    ck_assert_int_eq(x.rc, 0);
    for (int i = 0; i < OF_TIMEOUT_MS && (!atomic_load(&hit_ns) || !atomic_load(&fire_ns)); i++)
        proc_sleep_ms(1);
    ck_assert_uint_ne(atomic_load(&hit_ns), 0);
    ck_assert_uint_ne(atomic_load(&fire_ns), 0);
    ck_assert_uint_ge(atomic_load(&hit_ns) - go, PAUSE_MS * 1000000ull);
    ck_assert_uint_ge(atomic_load(&fire_ns) - go, PAUSE_MS * 1000000ull);
    osal_timer_destroy(t);
    osal_irq_destroy(irq);
}
END_TEST

static void pause_inline(void *arg)
{
    *(int *)arg = osal_user_pause(OS, 1000000ull);
}

START_TEST(pause_on_the_queue_and_bad_arguments)
{
    int rc = 1;
    ck_assert_int_eq(osal_queue_sync(OS, pause_inline, &rc), 0);
    ck_assert_int_eq(rc, 0); /* inline: a block that stalls the host */
    ck_assert_int_eq(osal_user_pause(NULL, 1), -EINVAL);
}
END_TEST

/* --- logging -------------------------------------------------------------- */

START_TEST(log_filters_and_prefixes)
{
    osal_log(OS, OSAL_LOG_INFO, "quiet %d", 1);
    osal_log(OS, OSAL_LOG_DEBUG, "quieter");
    ck_assert_uint_eq(L.n, 0); /* default threshold: WARN */
    osal_log(OS, OSAL_LOG_WARN, "careful %d", 2);
    osal_log(OS, OSAL_LOG_ERROR, "broken %s", "thing");
    ck_assert_uint_eq(L.n, 2);
    ck_assert(of_log_has(&L, "q0: warning: careful 2"));
    ck_assert(of_log_has(&L, "q0: error: broken thing"));
}
END_TEST

START_TEST(log_level_option_and_stderr)
{
    struct of_log l2;
    of_log_init(&l2);
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.name = "verbose";
    o.log_level = OSAL_LOG_DEBUG;
    o.log_sink = of_log_sink;
    o.log_arg = &l2;
    struct osal *os;
    ck_assert_int_eq(osal_user_create(F.bus, &o, &os), 0);
    osal_log(os, OSAL_LOG_DEBUG, "%s", "details");
    ck_assert(of_log_has(&l2, "verbose: debug: details"));
    osal_user_destroy(os);
    of_log_fini(&l2);
    o.log_level = (enum osal_log_level)7;
    ck_assert_int_eq(osal_user_create(F.bus, &o, &os), -EINVAL);
    ck_assert_int_eq(osal_user_create(NULL, NULL, &os), -EINVAL);
    /* Without a sink, to stderr (filtered): must not crash on long messages. */
    ck_assert_int_eq(osal_user_create(F.bus, NULL, &os), 0);
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    osal_log(os, OSAL_LOG_INFO, "%s", big); /* filtered */
    osal_user_destroy(os);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("osal_queue");
    TCase *t = tcase_create("queue");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, async_blocks_run_in_order_on_the_queue);
    tcase_add_test(t, each_thread_keeps_its_order);
    tcase_add_test(t, sync_on_the_queue_runs_inline);
    tcase_add_test(t, sync_waits_for_the_block);
    tcase_add_test(t, queue_rejects_bad_arguments);
    tcase_add_test(t, teardown_drains_then_refuses);
    tcase_add_test(t, destroy_on_the_queue_is_refused);
    tcase_add_test(t, set_bus_on_the_queue_is_refused);
    tcase_add_test(t, run_here_runs_on_the_caller_without_a_wakeup);
    tcase_add_test(t, run_here_goes_behind_blocks_already_queued);
    tcase_add_test(t, run_here_runs_its_own_queue_in_order);
    tcase_add_test(t, run_here_holds_off_handlers_and_arms_timers);
    tcase_add_test(t, pause_holds_timers_and_handlers);
    tcase_add_test(t, pause_on_the_queue_and_bad_arguments);
    tcase_add_test(t, log_filters_and_prefixes);
    tcase_add_test(t, log_level_option_and_stderr);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
