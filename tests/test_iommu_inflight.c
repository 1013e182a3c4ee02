/* tests/test_iommu_inflight.c — the IOMMU's count of accesses in flight and
 * the barrier an INV_WAIT waits on (sim/iommu/inflight.h): with nothing in
 * flight the barrier returns at once; it does not return while an access
 * that began before it is still in flight; it does not wait for an access
 * that began after it (continuous DMA cannot starve an unmap); and under
 * threads that keep accessing a "buffer" while another keeps freeing it, no
 * access lands in a buffer after the barrier that covered its freeing. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "sim/iommu/inflight.h"
#include "tests/support/testutil.h"

static struct sim_inflight g_f;

/* One access held in flight until released. */
struct holder {
    atomic_bool entered, release;
    uint32_t gen;
};

static void *hold_access(void *arg)
{
    struct holder *h = arg;
    h->gen = sim_inflight_begin(&g_f);
    atomic_store(&h->entered, true);
    while (!atomic_load(&h->release))
        sched_yield();
    sim_inflight_end(&g_f, h->gen);
    return NULL;
}

static atomic_bool g_barrier_done;

static void *run_barrier(void *arg)
{
    (void)arg;
    sim_inflight_barrier(&g_f);
    atomic_store(&g_barrier_done, true);
    return NULL;
}

static void start_holder(struct holder *h, pthread_t *t)
{
    atomic_init(&h->entered, false);
    atomic_init(&h->release, false);
    ck_assert_int_eq(pthread_create(t, NULL, hold_access, h), 0);
    while (!atomic_load(&h->entered))
        sched_yield();
}

static void nap_ms(long ms)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Starts a barrier on its own thread and returns once it has moved the
 * generation (so it is waiting, or done). */
static void start_barrier(pthread_t *t, uint32_t gen_before)
{
    atomic_store(&g_barrier_done, false);
    ck_assert_int_eq(pthread_create(t, NULL, run_barrier, NULL), 0);
    while (atomic_load(&g_f.gen) == gen_before && !atomic_load(&g_barrier_done))
        sched_yield();
}

/* The barrier on tb must not return while h's access is in flight, however
 * long we look (ms); once h ends it, the barrier returns. */
static void barrier_waits_for(struct holder *h, pthread_t th, pthread_t tb, int ms)
{
    for (int i = 0; i < ms; i++) {
        nap_ms(1);
        ck_assert(!atomic_load(&g_barrier_done));
    }
    atomic_store(&h->release, true);
    pthread_join(th, NULL);
    pthread_join(tb, NULL);
    ck_assert(atomic_load(&g_barrier_done));
}

START_TEST(with_nothing_in_flight_the_barrier_returns_at_once)
{
    sim_inflight_init(&g_f);
    sim_inflight_barrier(&g_f);
    uint32_t g = sim_inflight_begin(&g_f);
    sim_inflight_end(&g_f, g);
    sim_inflight_barrier(&g_f);
    ck_assert_uint_eq(atomic_load(&g_f.count[0]) + atomic_load(&g_f.count[1]), 0);
}
END_TEST

START_TEST(the_barrier_waits_for_an_access_that_began_before_it)
{
    sim_inflight_init(&g_f);
    struct holder a;
    pthread_t ta, tb;
    start_holder(&a, &ta);
    start_barrier(&tb, 0);
    barrier_waits_for(&a, ta, tb, 20);
}
END_TEST

START_TEST(the_barrier_does_not_wait_for_an_access_that_began_after_it)
{
    sim_inflight_init(&g_f);
    struct holder a, c;
    pthread_t ta, tb, tc;
    start_holder(&a, &ta);
    start_barrier(&tb, 0);
    start_holder(&c, &tc); /* begins in the barrier's new generation */
    ck_assert_uint_ne(c.gen, a.gen);
    atomic_store(&a.release, true);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL); /* returns with c still in flight */
    ck_assert(atomic_load(&g_barrier_done));
    /* The next barrier waits for c. */
    start_barrier(&tb, atomic_load(&g_f.gen));
    barrier_waits_for(&c, tc, tb, 10);
}
END_TEST

/* A model of the IOMMU's use: `mapped` is the translation, `landed` the
 * buffer.  An accessor translates (reads mapped) inside its access and then
 * writes; the unmapper clears the translation, runs the barrier, and from
 * then on owns the buffer: a write that lands after that is a DMA into freed
 * memory. */
enum { ACCESSORS = 2, ROUNDS = 3000 };
static atomic_bool g_mapped, g_stop;
static _Atomic uint64_t g_landed, g_owned_landings;
static atomic_bool g_owned;

static void *accessor(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        uint32_t g = sim_inflight_begin(&g_f);
        if (atomic_load(&g_mapped)) {
            atomic_fetch_add(&g_landed, 1);
            if (atomic_load(&g_owned))
                atomic_fetch_add(&g_owned_landings, 1);
        }
        sim_inflight_end(&g_f, g);
    }
    return NULL;
}

START_TEST(no_access_lands_after_the_barrier_that_covered_its_unmap)
{
    sim_inflight_init(&g_f);
    atomic_store(&g_stop, false);
    atomic_store(&g_mapped, true);
    atomic_store(&g_owned, false);
    atomic_store(&g_landed, 0);
    atomic_store(&g_owned_landings, 0);
    pthread_t t[ACCESSORS];
    for (int i = 0; i < ACCESSORS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, accessor, NULL), 0);
    int rounds = testutil_valgrind() ? ROUNDS / 30 : ROUNDS; /* valgrind runs one thread at a time */
    int covered = 0; /* rounds in which an accessor used the mapping */
    for (int r = 0; r < rounds; r++) {
        atomic_store(&g_mapped, false); /* unmap ... */
        sim_inflight_barrier(&g_f);     /* ... INV_WAIT ... */
        atomic_store(&g_owned, true);   /* ... and the OS owns the buffer */
        sched_yield();
        atomic_store(&g_owned, false);  /* map it again */
        uint64_t before = atomic_load(&g_landed);
        atomic_store(&g_mapped, true);
        /* Until an accessor used the mapping (bounded): on a loaded machine
         * the accessors could otherwise sleep through every round, and the
         * barrier would be tested against nothing. */
        for (int spin = 0; spin < 100000 && atomic_load(&g_landed) == before; spin++)
            sched_yield();
        covered += atomic_load(&g_landed) != before;
    }
    atomic_store(&g_stop, true);
    for (int i = 0; i < ACCESSORS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(atomic_load(&g_owned_landings), 0);
    /* The accessors really ran, in most rounds: a round none reached tested
     * the barrier against nothing. */
    ck_assert_msg(covered >= rounds / 2, "accessors used the mapping in only %d of %d rounds", covered, rounds);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("iommu_inflight");
    TCase *t = tcase_create("iommu_inflight");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, with_nothing_in_flight_the_barrier_returns_at_once);
    tcase_add_test(t, the_barrier_waits_for_an_access_that_began_before_it);
    tcase_add_test(t, the_barrier_does_not_wait_for_an_access_that_began_after_it);
    tcase_add_test(t, no_access_lands_after_the_barrier_that_covered_its_unmap);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
