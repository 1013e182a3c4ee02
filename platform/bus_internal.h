/* platform/bus_internal.h — what the remote bus client (platform/bus_client.c) needs
 * from platform/bus.c beyond the public API: marking the bus dead, replacing the
 * device side after the controller process restarted, and hanging its own
 * state on the bus so bus_detach can release it.  Nothing else includes this. */
#ifndef PLATFORM_BUS_INTERNAL_H
#define PLATFORM_BUS_INTERNAL_H

#include "platform/bus.h"

/* The peer is gone: from now on reads return all-ones and writes are
 * dropped; every vector is signalled once (waiters wake and see the death);
 * with `notify` the dead handler runs, on the calling thread, if the bus was
 * alive (a reconnection the owner asked for does not notify). */
void bus_mark_dead(struct bus *b, bool notify);
/* Clears the dead state (after bus_swap_device attached a live controller). */
void bus_revive(struct bus *b);
/* Replaces the device memory mapping (in place, at the same address) and the
 * bell and vector eventfds (keeping their fd numbers where the vector exists
 * on both sides) with those of a; host RAM is untouched.  On error the bus is
 * unchanged.  The caller keeps a's fds. */
int  bus_swap_device(struct bus *b, const struct sim_attach *a);
/* Client state; bus_detach calls release(remote) before unmapping anything. */
void  bus_set_remote(struct bus *b, void *remote, void (*release)(void *remote));
void *bus_remote(const struct bus *b);

#endif
