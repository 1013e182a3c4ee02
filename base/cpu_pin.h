/* base/cpu_pin.h — keeping the threads that talk to each other on one CPU.
 *
 * A replayed trace is a handful of threads (the replay, the driver core's
 * dispatch queue and event loop, the controller's firmware, its heartbeat)
 * handing one command to the next many times a millisecond.  Spread over
 * CPUs, every hand-off is a cross-CPU wake-up: an inter-processor interrupt,
 * which in a virtual machine is a trap to the hypervisor.  On one CPU the
 * waker just queues the woken thread.  `scsisim run` pins each replay slot
 * (and the threads it creates, which inherit the mask) to one CPU of those
 * the process may use, slots spread round-robin (docs/benchmarks.md). */
#ifndef BASE_CPU_PIN_H
#define BASE_CPU_PIN_H

#define CPU_PIN_MAX 1024 /* CPUs a caller keeps track of at most */

/* The CPUs the calling thread may run on now, in ascending order, into
 * cpus[0..max): how many (0 when they cannot be read). */
unsigned cpu_pin_allowed(int *cpus, unsigned max);

/* Pins the calling thread to cpus[slot % n] (from cpu_pin_allowed).  0, or
 * -errno; nothing is done (0) when n < 2. */
int cpu_pin_slot(const int *cpus, unsigned n, unsigned slot);

#endif
