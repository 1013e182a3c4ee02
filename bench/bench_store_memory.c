/* bench/bench_store_memory.c — how much memory a 66 TB drive costs the store.
 *
 * Creates a 66e12-byte drive on a sparse media file (in $TMPDIR or /tmp, or
 * --dir), writes --total bytes (default 1 GiB) at seeded random LBAs in
 * --write-size pieces (default 64 KiB) with the default cache size, flushes,
 * runs the oracle check, prints peak RSS (getrusage ru_maxrss and VmHWM) and
 * the store's own footprint, deletes the media files.
 *
 * Exit status: 0 ok; 1 peak RSS above --limit-mib (default 64) or the oracle
 * found durable data lost; 2 bad arguments or a store error.
 *
 *   build/bench/bench_store_memory [--block-size 512|4096] [--write-size BYTES]
 *       [--total BYTES] [--seed N] [--dir DIR] [--limit-mib N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sim/store/store.h"

#include "bench/bench_util.h"

struct options {
    uint32_t block_size;
    uint64_t write_size;
    uint64_t total;
    uint64_t seed;
    const char *dir;
    uint64_t limit_mib;
};

static int usage(const char *msg)
{
    fprintf(stderr, "bench_store_memory: %s\n"
            "usage: bench_store_memory [--block-size 512|4096] [--write-size BYTES] [--total BYTES]\n"
            "                          [--seed N] [--dir DIR] [--limit-mib N]\n", msg);
    return 2;
}

static int parse(int argc, char **argv, struct options *o)
{
    const char *tmp = getenv("TMPDIR");
    *o = (struct options){ .block_size = 4096, .write_size = 65536, .total = UINT64_C(1) << 30,
                           .seed = 1, .dir = tmp && *tmp ? tmp : "/tmp", .limit_mib = 64 };
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage("every option takes a value");
        const char *k = argv[i], *v = argv[++i];
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 0);
        bool numeric = errno == 0 && *v && *end == '\0';
        if (strcmp(k, "--dir") == 0)
            o->dir = v;
        else if (!numeric)
            return usage("option values must be numbers");
        else if (strcmp(k, "--block-size") == 0)
            o->block_size = (uint32_t)n;
        else if (strcmp(k, "--write-size") == 0)
            o->write_size = n;
        else if (strcmp(k, "--total") == 0)
            o->total = n;
        else if (strcmp(k, "--seed") == 0)
            o->seed = n;
        else if (strcmp(k, "--limit-mib") == 0)
            o->limit_mib = n;
        else
            return usage("unknown option");
    }
    if (o->block_size != 512 && o->block_size != 4096)
        return usage("--block-size must be 512 or 4096");
    if (o->write_size == 0 || o->write_size % o->block_size || o->write_size > (64u << 20))
        return usage("--write-size must be a multiple of the block size, at most 64 MiB");
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;

    char *dir = NULL, *path = NULL;
    if (asprintf(&dir, "%s/bench-store-XXXXXX", o.dir) < 0 || !mkdtemp(dir) ||
        asprintf(&path, "%s/media", dir) < 0) {
        fprintf(stderr, "bench_store_memory: cannot make a directory in %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    struct sim_store_config cfg = {
        .blocks = UINT64_C(66000000000000) / o.block_size, .block_size = o.block_size,
        .media_path = path, .cache_bytes = 0, .battery = HBA_BATTERY_ABSENT, .seed = o.seed,
    };
    char err[256] = "";
    struct sim_store *s = NULL;
    rc = sim_store_create(&cfg, &s, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "bench_store_memory: %s\n", err);
        rmdir(dir);
        return 2;
    }
    uint32_t per_write = (uint32_t)(o.write_size / o.block_size);
    uint64_t slots = cfg.blocks / per_write, writes = o.total / o.write_size;
    unsigned char *buf = malloc(o.write_size);
    uint64_t rng = o.seed, fill = o.seed ^ 0x5555;
    double t0 = bench_now_s();
    for (uint64_t w = 0; buf && w < writes && rc == 0; w++) {
        for (uint64_t i = 0; i < o.write_size; i += 8) {
            uint64_t x = bench_rng_next(&fill);
            memcpy(buf + i, &x, 8);
        }
        uint64_t lba = (bench_rng_next(&rng) % slots) * per_write;
        rc = sim_store_write(s, lba, per_write, buf, false);
    }
    double t1 = bench_now_s();
    if (rc == 0)
        rc = sim_store_flush(s, 0, 0);
    double t2 = bench_now_s();
    struct sim_oracle_report r = { 0 };
    if (rc == 0)
        rc = sim_store_check(s, &r);
    double t3 = bench_now_s();
    struct sim_store_stats st;
    sim_store_stats(s, &st);
    free(buf);
    sim_store_destroy(s);
    int rm = sim_store_remove_media(path, cfg.blocks, cfg.block_size);
    rmdir(dir);
    if (rc || rm) {
        fprintf(stderr, "bench_store_memory: store error %s\n", strerror(-(rc ? rc : rm)));
        return 2;
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t hwm = bench_vm_hwm_kib(0), peak_kib = (uint64_t)ru.ru_maxrss > hwm ? (uint64_t)ru.ru_maxrss : hwm;
    printf("drive            %" PRIu64 " blocks x %u B = %.1f TB, file media in %s\n",
           cfg.blocks, cfg.block_size, (double)cfg.blocks * cfg.block_size / 1e12, o.dir);
    printf("workload         %" PRIu64 " writes x %" PRIu64 " B at seeded random LBAs (seed %" PRIu64 "), "
           "default cache %" PRIu64 " MiB\n", writes, o.write_size, o.seed,
           (uint64_t)SIM_STORE_DEFAULT_CACHE_BYTES >> 20);
    printf("time             write %.2f s (%.0f MiB/s), flush %.2f s, oracle check %.2f s\n",
           t1 - t0, (double)writes * o.write_size / 1048576.0 / (t1 - t0), t2 - t1, t3 - t2);
    printf("oracle           %" PRIu64 " blocks checked, durable_lost %" PRIu64 ", footprint %.1f MiB\n",
           r.blocks_checked, r.durable_lost, st.oracle_mem_bytes / 1048576.0);
    printf("cache            %" PRIu64 " lines written back, footprint at end %.1f MiB\n",
           st.lines_written_back, st.cache_mem_bytes / 1048576.0);
    printf("peak RSS         ru_maxrss %" PRIu64 " KiB, VmHWM %" PRIu64 " KiB (limit %" PRIu64 " MiB)\n",
           (uint64_t)ru.ru_maxrss, hwm, o.limit_mib);
    if (r.durable_lost) {
        printf("FAIL: the oracle found durable data lost\n");
        return 1;
    }
    if (peak_kib > o.limit_mib * 1024) {
        printf("FAIL: peak RSS above %" PRIu64 " MiB\n", o.limit_mib);
        return 1;
    }
    printf("ok\n");
    return 0;
}
