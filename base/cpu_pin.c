/* base/cpu_pin.c — see cpu_pin.h. */
#include <errno.h>
#include <sched.h>

#include "base/cpu_pin.h"

unsigned cpu_pin_allowed(int *cpus, unsigned max)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 0;
    unsigned n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n;
}

int cpu_pin_slot(const int *cpus, unsigned n, unsigned slot)
{
    if (n < 2)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpus[slot % n], &set);
    return sched_setaffinity(0, sizeof set, &set) < 0 ? -errno : 0;
}
