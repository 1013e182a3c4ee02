/* bench/bench_ring.c — the ring-limit reference (bench/ring_ref.h): a driver
 * thread and a device thread, two lock-free SPSC rings of 64-byte entries and
 * a 4 KiB copy per command, both threads spinning.
 *
 *   build/bench/bench_ring [queue-depth,...] [seconds]     # default 1,32 and 1 s
 *
 * Prints commands per second at each queue depth.  `scsisim bench` measures
 * the same reference in its own run and prints each cell's ratio to it.
 * Exit 1 if a completion does not match a command in flight, 2 on bad
 * arguments, 3 if the threads or memory cannot be had. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/ring_ref.h"

static int usage(const char *why)
{
    fprintf(stderr, "bench_ring: %s\nusage: bench_ring [queue-depth,...] [seconds]   (queue depth 1 to %u, "
                    "seconds above 0 and at most 600; default 1,32 1)\n",
            why, RING_REF_MAX_QD);
    return 2;
}

int main(int argc, char **argv)
{
    const char *qds = argc > 1 ? argv[1] : "1,32";
    double seconds = 1;
    if (argc > 3)
        return usage("too many arguments");
    if (argc > 2) {
        char *end;
        seconds = strtod(argv[2], &end);
        if (*end || !(seconds > 0) || seconds > 600)
            return usage("seconds: not a number above 0 and at most 600");
    }
    printf("bench_ring: two threads, SPSC rings of %u 64-byte entries, a %u-byte copy per command, %g s\n",
           RING_REF_ENTRIES, RING_REF_XFER, seconds);
    printf("%4s %14s %12s\n", "QD", "commands/s", "ns/command");
    while (*qds) {
        char *end;
        unsigned long qd = strtoul(qds, &end, 10);
        if (end == qds || (*end && *end != ',') || qd < 1 || qd > RING_REF_MAX_QD)
            return usage("queue depths: numbers from 1 to 255, comma-separated");
        struct ring_ref_result r;
        int rc = ring_ref_run((unsigned)qd, seconds, &r);
        if (rc < 0) {
            fprintf(stderr, "bench_ring: QD %lu: %s\n", qd, strerror(-rc));
            return 3;
        }
        printf("%4u %14.0f %12.1f\n", r.qd, r.per_s, r.per_s > 0 ? 1e9 / r.per_s : 0);
        if (r.bad) {
            fprintf(stderr, "bench_ring: QD %lu: %llu completions matched no command in flight\n", qd,
                    (unsigned long long)r.bad);
            return 1;
        }
        qds = *end ? end + 1 : end;
    }
    return 0;
}
