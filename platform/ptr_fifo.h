/* platform/ptr_fifo.h — a bounded first-in first-out queue of pointers that
 * any number of threads push to and pop from without a lock (each cell
 * carries a sequence number that says whose turn it is, so a slot is never
 * read before it is written nor written before it is read).  osal_user's
 * cache of free DMA mapping records uses it: first in, first out keeps a
 * freed IOVA out of use for as long as the cache is deep.
 *
 * The capacity is fixed at compile time; push fails only when it is full
 * (it waits out a pop that claimed the cell it needs and was preempted before
 * handing it on). */
#ifndef PLATFORM_PTR_FIFO_H
#define PLATFORM_PTR_FIFO_H

#include <stdbool.h>
#include <stdint.h>

#define PTR_FIFO_CAP 512u /* a power of two */

struct ptr_fifo_cell {
    uint64_t seq;         /* atomic: pos when free for the push at pos, pos + 1 when holding its pointer */
    void *ptr;
};

struct ptr_fifo {
    struct ptr_fifo_cell cell[PTR_FIFO_CAP];
    uint64_t head;        /* atomic: the next pop */
    uint64_t tail;        /* atomic: the next push */
};

void ptr_fifo_init(struct ptr_fifo *f);
/* False when full. */
bool ptr_fifo_push(struct ptr_fifo *f, void *p);
/* The oldest pointer, or NULL when fewer than `keep` + 1 are queued: the
 * newest `keep` stay (a momentary count: exact when nobody else pushes or
 * pops meanwhile). */
void *ptr_fifo_pop(struct ptr_fifo *f, uint32_t keep);
/* How many are queued (momentary). */
uint32_t ptr_fifo_count(const struct ptr_fifo *f);

#endif
