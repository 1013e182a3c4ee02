/* base/futex.h — waiting on a 32-bit word in memory shared between processes.
 *
 * The IOMMU's invalidation queue (hw/hba.h) lives in host RAM, a memfd that
 * the platform and the controller map in one process or two; its doorbell and
 * its completion status are plain words there.  A process-shared futex (not
 * FUTEX_PRIVATE) lets either side sleep on such a word and the other wake it,
 * across processes, without a socket message or another file descriptor.
 */
#ifndef BASE_FUTEX_H
#define BASE_FUTEX_H

#include <stdint.h>

/* Sleeps while *word == expect, at most timeout_ms (< 0: no limit).  Returns
 * at once when *word differs; may return early (spurious wake-ups, signals):
 * the caller re-checks its condition. */
void futex_wait_shared(uint32_t *word, uint32_t expect, int timeout_ms);
/* Wakes every waiter on word (in any process that maps the same memory). */
void futex_wake_shared(uint32_t *word);

#endif
