/* core/core_io_pool.c — the task objects (struct drv_io) a core preallocates,
 * so that accepting and ending a task costs no malloc or free at steady state.
 *
 * Tasks are accepted on any thread (drv_core_process_task) and end on the
 * dispatch queue, so the free list is shared between threads: a lock-free
 * stack of indexes into one array, safe against ABA (core/index_stack.h).
 * When the pool is empty — more tasks accepted than the queues hold commands,
 * which the core allows (they wait in core->pending) — a task is allocated as
 * before and freed at its end. */
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "core/index_stack.h"

int io_pool_init(struct drv_core *core, uint32_t n)
{
    core->pool.n = n;
    index_stack_init(&core->pool.free, NULL, 0);
    if (!n)
        return 0;
    /* Not calloc: nothing here is read before io_get writes it, and pages
     * never touched cost nothing (a replay uses a few of thousands). */
    core->pool.ios = malloc((size_t)n * sizeof *core->pool.ios);
    core->pool.next = malloc((size_t)n * sizeof *core->pool.next);
    if (!core->pool.ios || !core->pool.next) {
        io_pool_fini(core);
        return -1;
    }
    index_stack_init(&core->pool.free, core->pool.next, n);
    return 0;
}

void io_pool_fini(struct drv_core *core)
{
    free(core->pool.ios);
    free(core->pool.next);
    core->pool.ios = NULL;
    core->pool.next = NULL;
    core->pool.n = 0;
}

struct drv_io *io_get(struct drv_core *core)
{
    uint32_t index = index_stack_pop(&core->pool.free);
    struct drv_io *io = index != INDEX_STACK_NIL ? &core->pool.ios[index] : malloc(sizeof *io);
    if (!io)
        return NULL;
    /* What calloc gave: every field zero, except the pool's own bookkeeping
     * and the inline storage, which is written before it is read. */
    memset(io, 0, offsetof(struct drv_io, pool_index));
    io->pool_index = index;
    io->pooled = index != INDEX_STACK_NIL;
    return io;
}

void io_put(struct drv_core *core, struct drv_io *io)
{
    if (io->pieces && io->pieces != io->piece_store)
        free(io->pieces);
    io->pieces = NULL;
    if (io->pooled)
        index_stack_push(&core->pool.free, io->pool_index);
    else
        free(io);
}
