/* core/core_io_pool.c — the task objects (struct drv_io) a core preallocates,
 * so that accepting and ending a task costs no malloc or free at steady state.
 *
 * Tasks are accepted on any thread (drv_core_process_task) and end on the
 * dispatch queue, so the free list is shared between threads.  It is a
 * lock-free stack of indexes into one array: the head holds a generation tag
 * beside the index, bumped by every push and pop, so a pop that read a stale
 * `next` (another thread popped and pushed the same object in between) fails
 * its compare-and-swap instead of corrupting the list (the ABA problem).  When
 * the pool is empty — more tasks accepted than the queues hold commands, which
 * the core allows (they wait in core->pending) — a task is allocated as before
 * and freed at its end. */
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"

#define POOL_NIL UINT32_MAX

static uint64_t pack(uint32_t tag, uint32_t index)
{
    return (uint64_t)tag << 32 | index;
}

int io_pool_init(struct drv_core *core, uint32_t n)
{
    core->pool.n = n;
    atomic_init(&core->pool.head, pack(0, POOL_NIL));
    if (!n)
        return 0;
    core->pool.ios = calloc(n, sizeof *core->pool.ios);
    if (!core->pool.ios)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        core->pool.ios[i].pool_index = i;
        core->pool.ios[i].pooled = true;
        atomic_init(&core->pool.ios[i].pool_next, i + 1 < n ? i + 1 : POOL_NIL);
    }
    atomic_store(&core->pool.head, pack(0, 0));
    return 0;
}

void io_pool_fini(struct drv_core *core)
{
    free(core->pool.ios);
    core->pool.ios = NULL;
    core->pool.n = 0;
}

struct drv_io *io_get(struct drv_core *core)
{
    struct drv_io_pool *p = &core->pool;
    uint64_t head = atomic_load_explicit(&p->head, memory_order_acquire);
    for (;;) {
        uint32_t index = (uint32_t)head;
        if (index == POOL_NIL)
            break;
        uint32_t next = atomic_load_explicit(&p->ios[index].pool_next, memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&p->head, &head, pack((uint32_t)(head >> 32) + 1u, next),
                                                  memory_order_acquire, memory_order_acquire)) {
            struct drv_io *io = &p->ios[index];
            /* What calloc gave: every field zero, except the pool's own
             * bookkeeping and the inline storage, which is written before it
             * is read. */
            memset(io, 0, offsetof(struct drv_io, pool_index));
            return io;
        }
    }
    struct drv_io *io = malloc(sizeof *io);
    if (io) {
        memset(io, 0, offsetof(struct drv_io, pool_index));
        io->pooled = false;
    }
    return io;
}

void io_put(struct drv_core *core, struct drv_io *io)
{
    if (io->pieces && io->pieces != io->piece_store)
        free(io->pieces);
    io->pieces = NULL;
    if (!io->pooled) {
        free(io);
        return;
    }
    struct drv_io_pool *p = &core->pool;
    uint64_t head = atomic_load_explicit(&p->head, memory_order_relaxed);
    do {
        atomic_store_explicit(&io->pool_next, (uint32_t)head, memory_order_relaxed);
    } while (!atomic_compare_exchange_weak_explicit(&p->head, &head, pack((uint32_t)(head >> 32) + 1u, io->pool_index),
                                                    memory_order_release, memory_order_relaxed));
}
