/* core/index_stack.h — a lock-free stack of free indexes into an array of
 * preallocated objects, safe for any number of threads pushing and popping.
 *
 * The head packs a generation tag beside the index, and every push and pop
 * bumps it: a pop whose `next` went stale (another thread popped that index
 * and pushed it back in between — the ABA problem) fails its compare-and-swap
 * and retries instead of corrupting the list.  Indexes, not pointers, so the
 * tag and the index fit one 64-bit atomic on every platform the core targets.
 * Used by the core's task pool (core/core_io_pool.c) and the stack's call
 * records (stack/stack.c). */
#ifndef CORE_INDEX_STACK_H
#define CORE_INDEX_STACK_H

#include <stdatomic.h>
#include <stdint.h>

#define INDEX_STACK_NIL UINT32_MAX

struct index_stack {
    _Atomic uint64_t head;      /* generation tag << 32 | first freed index (NIL: none) */
    _Atomic uint32_t *next;     /* next[i]: the freed index below i */
    _Atomic uint32_t fresh;     /* indexes fresh..n-1 were never handed out */
    uint32_t n;
};

static inline uint64_t index_stack_pack(uint32_t tag, uint32_t index)
{
    return (uint64_t)tag << 32 | index;
}

/* Every index 0..n-1 free; next has n elements, written only by pushes
 * (n 0: always empty). */
static inline void index_stack_init(struct index_stack *s, _Atomic uint32_t *next, uint32_t n)
{
    s->next = next;
    s->n = n;
    atomic_init(&s->fresh, 0);
    atomic_init(&s->head, index_stack_pack(0, INDEX_STACK_NIL));
}

/* An index never handed out, or INDEX_STACK_NIL when all were. */
static inline uint32_t index_stack_fresh(struct index_stack *s)
{
    uint32_t f = atomic_load_explicit(&s->fresh, memory_order_relaxed);
    while (f < s->n)
        if (atomic_compare_exchange_weak_explicit(&s->fresh, &f, f + 1u, memory_order_relaxed,
                                                  memory_order_relaxed))
            return f;
    return INDEX_STACK_NIL;
}

/* A free index (a freed one first), or INDEX_STACK_NIL.  Acquire: what the pusher wrote into the
 * object before pushing it is visible. */
static inline uint32_t index_stack_pop(struct index_stack *s)
{
    uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    for (;;) {
        uint32_t index = (uint32_t)head;
        if (index == INDEX_STACK_NIL)
            return index_stack_fresh(s);
        uint32_t next = atomic_load_explicit(&s->next[index], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&s->head, &head,
                                                  index_stack_pack((uint32_t)(head >> 32) + 1u, next),
                                                  memory_order_acquire, memory_order_acquire))
            return index;
    }
}

/* Frees index (it must not be free already).  Release: pairs with the pop. */
static inline void index_stack_push(struct index_stack *s, uint32_t index)
{
    uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    do {
        atomic_store_explicit(&s->next[index], (uint32_t)head, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&s->head, &head,
                                                    index_stack_pack((uint32_t)(head >> 32) + 1u, index),
                                                    memory_order_release, memory_order_relaxed));
}

#endif
