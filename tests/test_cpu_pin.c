/* tests/test_cpu_pin.c — base/cpu_pin.h: the CPUs a thread may use are read
 * back as the kernel has them, and pinning slot k puts the calling thread on
 * the k-th of them (round-robin), or leaves it alone when there is only one.
 * Needs 2 CPUs to pin; on one, the pinning check says "not run". */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "base/cpu_pin.h"
#include "tests/support/testutil.h"

START_TEST(allowed_matches_the_kernel)
{
    int cpus[CPU_PIN_MAX];
    unsigned n = cpu_pin_allowed(cpus, CPU_PIN_MAX);
    cpu_set_t set;
    CPU_ZERO(&set);
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_uint_eq(n, (unsigned)CPU_COUNT(&set));
    for (unsigned i = 0; i < n; i++) {
        ck_assert(CPU_ISSET(cpus[i], &set));
        if (i)
            ck_assert_int_lt(cpus[i - 1], cpus[i]);
    }
}
END_TEST

struct pin_job {
    const int *cpus;
    unsigned n, slot;
    int rc;
    int on;        /* the CPU the thread then runs on */
    int allowed;   /* how many CPUs its mask then holds */
};

static void *pin_thread(void *arg)
{
    struct pin_job *j = arg;
    j->rc = cpu_pin_slot(j->cpus, j->n, j->slot);
    sched_yield(); /* the move happens at the next scheduling point at the latest */
    j->on = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    j->allowed = CPU_COUNT(&set);
    return NULL;
}

START_TEST(slot_k_runs_on_the_kth_cpu_round_robin)
{
    int cpus[CPU_PIN_MAX];
    unsigned n = cpu_pin_allowed(cpus, CPU_PIN_MAX);
    if (n < 2) {
        printf("not run: CPU pinning: this process may use %u CPU, pinning needs 2\n", n);
        return;
    }
    for (unsigned slot = 0; slot < 2 * n; slot++) {
        struct pin_job j = { .cpus = cpus, .n = n, .slot = slot };
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, pin_thread, &j), 0);
        pthread_join(th, NULL);
        ck_assert_int_eq(j.rc, 0);
        ck_assert_int_eq(j.allowed, 1);
        ck_assert_int_eq(j.on, cpus[slot % n]);
    }
    /* one CPU given: nothing is done */
    struct pin_job one = { .cpus = cpus, .n = 1, .slot = 1 };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, pin_thread, &one), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(one.rc, 0);
    ck_assert_int_eq(one.allowed, (int)n);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cpu_pin");
    TCase *t = tcase_create("cpu_pin");
    tcase_add_test(t, allowed_matches_the_kernel);
    tcase_add_test(t, slot_k_runs_on_the_kth_cpu_round_robin);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
