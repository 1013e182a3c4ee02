/* tests/test_index_stack.c — the lock-free free list of preallocated objects
 * (core/index_stack.h) that the core's task pool and the stack's call records
 * use: every index comes out once, LIFO, a freed one before one never
 * handed out (those in order); an empty stack says so; and four
 * threads popping and pushing the same few indexes for a while never hold
 * one index at the same time nor lose or duplicate one (what the generation
 * tag is for). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core/index_stack.h"
#include "tests/support/testutil.h"

START_TEST(every_index_once_then_empty)
{
    enum { N = 8 };
    _Atomic uint32_t next[N];
    struct index_stack s;
    index_stack_init(&s, next, N);
    int seen[N] = { 0 };
    for (int i = 0; i < N; i++) {
        uint32_t x = index_stack_pop(&s);
        ck_assert_uint_lt(x, N);
        seen[x]++;
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_uint_eq(index_stack_pop(&s), INDEX_STACK_NIL);
    index_stack_push(&s, 3);
    index_stack_push(&s, 5);
    ck_assert_uint_eq(index_stack_pop(&s), 5); /* last in, first out */
    ck_assert_uint_eq(index_stack_pop(&s), 3);
    ck_assert_uint_eq(index_stack_pop(&s), INDEX_STACK_NIL);

    /* An index freed comes out before one never handed out, and the ones
     * never handed out come in order, each once. */
    struct index_stack lazy;
    index_stack_init(&lazy, next, N);
    ck_assert_uint_eq(index_stack_pop(&lazy), 0);
    ck_assert_uint_eq(index_stack_pop(&lazy), 1);
    index_stack_push(&lazy, 0);
    ck_assert_uint_eq(index_stack_pop(&lazy), 0);
    for (uint32_t i = 2; i < N; i++)
        ck_assert_uint_eq(index_stack_pop(&lazy), i);
    ck_assert_uint_eq(index_stack_pop(&lazy), INDEX_STACK_NIL);

    struct index_stack none;
    index_stack_init(&none, NULL, 0);
    ck_assert_uint_eq(index_stack_pop(&none), INDEX_STACK_NIL);
}
END_TEST

enum { SLOTS = 4, THREADS = 4, ROUNDS = 200000 };
static _Atomic uint32_t g_next[SLOTS];
static struct index_stack g_stack;
static _Atomic int g_owner[SLOTS]; /* who holds each index: 0 nobody */
static _Atomic int g_clash;
static _Atomic long g_popped;

static int g_rounds;

static void *churn(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int r = 0; r < g_rounds; r++) {
        uint32_t x = index_stack_pop(&g_stack);
        if (x == INDEX_STACK_NIL)
            continue;
        atomic_fetch_add(&g_popped, 1);
        int was = 0;
        if (x >= SLOTS || !atomic_compare_exchange_strong(&g_owner[x], &was, me)) {
            atomic_fetch_add(&g_clash, 1);
            continue;
        }
        atomic_store(&g_owner[x], 0);
        index_stack_push(&g_stack, x);
    }
    return NULL;
}

START_TEST(threads_never_share_lose_or_duplicate_an_index)
{
    g_rounds = testutil_valgrind() ? ROUNDS / 100 : ROUNDS;
    index_stack_init(&g_stack, g_next, SLOTS);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(i + 1)), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&g_clash), 0);
    ck_assert_int_gt(atomic_load(&g_popped), 0);
    /* all SLOTS are back, each once */
    int seen[SLOTS] = { 0 };
    for (int i = 0; i < SLOTS; i++) {
        uint32_t x = index_stack_pop(&g_stack);
        ck_assert_uint_lt(x, SLOTS);
        seen[x]++;
    }
    for (int i = 0; i < SLOTS; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_uint_eq(index_stack_pop(&g_stack), INDEX_STACK_NIL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("index_stack");
    TCase *t = tcase_create("index_stack");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, every_index_once_then_empty);
    tcase_add_test(t, threads_never_share_lose_or_duplicate_an_index);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
