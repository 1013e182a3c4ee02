/* tests/test_ptr_fifo.c — platform/ptr_fifo: first in first out, `keep`
 * holds back the newest, a full queue refuses a push; and a push that laps a
 * pop which claimed its cell but was preempted before handing it on waits for
 * that pop instead of calling the queue full (which lost the pointer: the
 * pair cache of osal_user_dma.c leaked IOVA pages under load). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "platform/ptr_fifo.h"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"

static struct ptr_fifo Q;

static void *item(uintptr_t i)
{
    return (void *)(i + 1); /* never NULL */
}

START_TEST(first_in_first_out_and_keep)
{
    ptr_fifo_init(&Q);
    for (uintptr_t i = 0; i < 10; i++)
        ck_assert(ptr_fifo_push(&Q, item(i)));
    ck_assert_uint_eq(ptr_fifo_count(&Q), 10);
    for (uintptr_t i = 0; i < 7; i++)
        ck_assert_ptr_eq(ptr_fifo_pop(&Q, 3), item(i));
    ck_assert_ptr_null(ptr_fifo_pop(&Q, 3)); /* the newest 3 stay */
    ck_assert_ptr_eq(ptr_fifo_pop(&Q, 0), item(7));
    ck_assert_uint_eq(ptr_fifo_count(&Q), 2);
}
END_TEST

START_TEST(a_full_queue_refuses)
{
    ptr_fifo_init(&Q);
    for (uintptr_t i = 0; i < PTR_FIFO_CAP; i++)
        ck_assert(ptr_fifo_push(&Q, item(i)));
    ck_assert(!ptr_fifo_push(&Q, item(PTR_FIFO_CAP)));
    ck_assert_ptr_eq(ptr_fifo_pop(&Q, 0), item(0));
    ck_assert(ptr_fifo_push(&Q, item(PTR_FIFO_CAP))); /* room again */
}
END_TEST

/* A pop preempted between claiming position 0 (head moved) and handing the
 * cell on: done here by hand, the claim now, the hand-over later from
 * another thread. */
static _Atomic int pushing, released;

static void *finish_the_pop(void *arg)
{
    (void)arg;
    /* Counted from the moment the push is about to start, not from this
     * thread's creation: a main thread slow to get there would otherwise find
     * the cell already handed on and test no wait at all. */
    while (!atomic_load(&pushing))
        sched_yield();
    proc_sleep_ms(50); /* the push must be waiting by then */
    atomic_store(&released, 1);
    __atomic_store_n(&Q.cell[0].seq, (uint64_t)PTR_FIFO_CAP, __ATOMIC_RELEASE);
    return NULL;
}

START_TEST(a_push_waits_for_a_pop_that_holds_its_cell)
{
    ptr_fifo_init(&Q);
    atomic_store(&pushing, 0);
    atomic_store(&released, 0);
    ck_assert(ptr_fifo_push(&Q, item(0)));
    uint64_t pos = 0;
    ck_assert(__atomic_compare_exchange_n(&Q.head, &pos, 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    /* The others go round the ring: one in, one out, until the next push
     * needs cell 0 again. */
    for (uintptr_t i = 1; i < PTR_FIFO_CAP; i++) {
        ck_assert(ptr_fifo_push(&Q, item(i)));
        ck_assert_ptr_eq(ptr_fifo_pop(&Q, 0), item(i));
    }
    ck_assert_uint_eq(ptr_fifo_count(&Q), 0); /* nothing queued: not full */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, finish_the_pop, NULL), 0);
    atomic_store(&pushing, 1);
    ck_assert(ptr_fifo_push(&Q, item(PTR_FIFO_CAP)));
    ck_assert_int_eq(atomic_load(&released), 1); /* it waited for the pop */
    pthread_join(t, NULL);
    ck_assert_ptr_eq(ptr_fifo_pop(&Q, 0), item(PTR_FIFO_CAP));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ptr_fifo");
    TCase *tc = tcase_create("ptr_fifo");
    tcase_add_test(tc, first_in_first_out_and_keep);
    tcase_add_test(tc, a_full_queue_refuses);
    tcase_add_test(tc, a_push_waits_for_a_pop_that_holds_its_cell);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
