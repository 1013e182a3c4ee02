/* core/ring.h — ring index arithmetic of the SSIM-1 queues (pure).  A ring
 * of n entries holds at most n - 1: it is full when (tail + 1) % n == head. */
#ifndef DRIVER_RING_H
#define DRIVER_RING_H

#include <stdbool.h>
#include <stdint.h>

/* Entries between head and tail. */
static inline uint16_t ring_used(uint16_t tail, uint16_t head, uint16_t n)
{
    return (uint16_t)(((uint32_t)tail + n - head) % n);
}

static inline bool ring_full(uint16_t tail, uint16_t head, uint16_t n)
{
    return (uint16_t)((tail + 1u) % n) == head;
}

/* Whether a completion's sq_head is plausible: it may only move forward, from
 * the head known so far up to the tail the driver wrote. */
static inline bool ring_head_ok(uint16_t old_head, uint16_t new_head, uint16_t tail, uint16_t n)
{
    if (new_head >= n)
        return false;
    return ring_used(new_head, old_head, n) <= ring_used(tail, old_head, n);
}

#endif
