/* platform/ptr_fifo.c — see platform/ptr_fifo.h.  The design is the usual
 * bounded multi-producer multi-consumer ring with a sequence number per
 * cell: a producer claims position pos by a compare-and-swap on tail when
 * the cell's seq is pos, writes the pointer and publishes seq = pos + 1; a
 * consumer claims pos on head when seq is pos + 1, reads, and hands the cell
 * to the push one lap later with seq = pos + CAP. */
#include "platform/ptr_fifo.h"

#include <sched.h>
#include <stddef.h>

#define MASK (PTR_FIFO_CAP - 1)
_Static_assert((PTR_FIFO_CAP & MASK) == 0, "PTR_FIFO_CAP is a power of two");

void ptr_fifo_init(struct ptr_fifo *f)
{
    for (uint64_t i = 0; i < PTR_FIFO_CAP; i++) {
        __atomic_store_n(&f->cell[i].seq, i, __ATOMIC_RELAXED);
        f->cell[i].ptr = NULL;
    }
    __atomic_store_n(&f->head, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&f->tail, 0, __ATOMIC_RELEASE);
}

bool ptr_fifo_push(struct ptr_fifo *f, void *p)
{
    uint64_t pos = __atomic_load_n(&f->tail, __ATOMIC_RELAXED);
    for (;;) {
        struct ptr_fifo_cell *c = &f->cell[pos & MASK];
        int64_t d = (int64_t)(__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) - pos);
        if (d < 0) {
            /* The cell still holds the pointer of a lap ago.  Either the queue
             * is full, or the pop that took that pointer has claimed the cell
             * (head moved past it) and not yet handed it on: preempted between
             * its two steps while the others went round the whole ring.  Only
             * the first is "full"; the second ends within a few instructions
             * of that thread running, so wait for it.  (Reported as full, the
             * caller's pointer was lost: a pair cache that never fills lost
             * pairs, and their IOVA pages with them, under load.) */
            if (pos - __atomic_load_n(&f->head, __ATOMIC_ACQUIRE) >= PTR_FIFO_CAP)
                return false;
            sched_yield();
            pos = __atomic_load_n(&f->tail, __ATOMIC_RELAXED);
            continue;
        }
        if (d > 0) {
            pos = __atomic_load_n(&f->tail, __ATOMIC_RELAXED); /* another push took pos */
            continue;
        }
        if (__atomic_compare_exchange_n(&f->tail, &pos, pos + 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            c->ptr = p;
            __atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
            return true;
        }
    }
}

void *ptr_fifo_pop(struct ptr_fifo *f, uint32_t keep)
{
    uint64_t pos = __atomic_load_n(&f->head, __ATOMIC_RELAXED);
    for (;;) {
        if (__atomic_load_n(&f->tail, __ATOMIC_RELAXED) - pos <= keep)
            return NULL;
        struct ptr_fifo_cell *c = &f->cell[pos & MASK];
        int64_t d = (int64_t)(__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) - (pos + 1));
        if (d < 0)
            return NULL; /* not written yet: empty */
        if (d > 0) {
            pos = __atomic_load_n(&f->head, __ATOMIC_RELAXED); /* another pop took pos */
            continue;
        }
        if (__atomic_compare_exchange_n(&f->head, &pos, pos + 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            void *p = c->ptr;
            __atomic_store_n(&c->seq, pos + PTR_FIFO_CAP, __ATOMIC_RELEASE);
            return p;
        }
    }
}

uint32_t ptr_fifo_count(const struct ptr_fifo *f)
{
    uint64_t head = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&f->tail, __ATOMIC_ACQUIRE);
    return tail > head ? (uint32_t)(tail - head) : 0;
}
