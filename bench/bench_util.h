/* bench/bench_util.h — what the benchmark programs share: seconds on the base clock,
 * a seeded generator (splitmix64) and the peak resident set of a process.
 * Static inline because every benchmark source is a program of its own. */
#ifndef BENCH_BENCH_UTIL_H
#define BENCH_BENCH_UTIL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/clock.h"

static inline double bench_now_s(void)
{
    return (double)clock_now_ns() / 1e9;
}

/* splitmix64: a seeded, reproducible stream of 64-bit values. */
static inline uint64_t bench_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* VmHWM of process pid (0: this one) in KiB, 0 if unavailable. */
static inline uint64_t bench_vm_hwm_kib(pid_t pid)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/status");
    FILE *f = fopen(path, "r");
    char line[256];
    uint64_t kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %" SCNu64, &kib) == 1)
            break;
    fclose(f);
    return kib;
}

#endif
