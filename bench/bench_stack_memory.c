/* bench/bench_stack_memory.c — the memory a 66 TB drive costs the simulator,
 * through the whole stack: the writes come from the layer above the driver
 * (stack_submit -> driver core -> OS layer -> bus -> controller firmware ->
 * store), not straight into the store as in bench_store_memory.
 *
 * Creates a controller whose drive 0:0 holds 66e12 bytes in 4096-byte blocks
 * on sparse media files (in $TMPDIR or /tmp, or --dir), writes --total bytes
 * (default 1 GiB) at seeded random, write-size-aligned LBAs in --write-size
 * pieces (default 64 KiB) with --qd commands in flight (default 16), sends
 * SYNCHRONIZE CACHE(16), asks the controller's oracle whether everything is
 * on the media, and prints the simulator's peak RSS: in two-process mode the
 * controller process's VmHWM (/proc/PID/status) — the simulator alone — and
 * this process's for comparison; in one process this process's VmHWM, which
 * holds the driver and the controller together.  The media files are deleted.
 *
 * Exit status: 0 ok; 1 the simulator's peak RSS above --limit-mib (default 64)
 * or the oracle found data lost or a command failed; 2 bad arguments or
 * setup failure.
 *
 *   build/bench/bench_stack_memory [--mode in|two|both] [--write-size BYTES]
 *       [--total BYTES] [--qd N] [--seed N] [--dir DIR] [--limit-mib N]
 * Two-process mode starts $SCSISIM_BIN, else the scsisim next to build/bench/.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "stack/stack.h"
#include "scsi/scsi.h"
#include "sim/store/store.h"

#include "bench/bench_util.h"

#define BLOCK     4096u
#define CAPACITY  66000000000000ull /* 66 TB */
#define HOST_RAM  (16u << 20)       /* the driver's buffers: qd x write size, queues */

struct options {
    bool in, two;
    uint64_t write_size, total, seed, limit_mib;
    unsigned qd;
    const char *dir;
};

static int usage(const char *msg)
{
    fprintf(stderr,
            "bench_stack_memory: %s\n"
            "usage: bench_stack_memory [--mode in|two|both] [--write-size BYTES] [--total BYTES] [--qd N]\n"
            "                          [--seed N] [--dir DIR] [--limit-mib N]\n",
            msg);
    return 2;
}

static int parse(int argc, char **argv, struct options *o)
{
    const char *tmp = getenv("TMPDIR");
    *o = (struct options){ .in = true, .two = true, .write_size = 65536, .total = 1ull << 30, .seed = 1,
                           .limit_mib = 64, .qd = 16, .dir = tmp && *tmp ? tmp : "/tmp" };
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage("every option takes a value");
        i++;
        if (!strcmp(k, "--dir")) {
            o->dir = v;
            continue;
        }
        if (!strcmp(k, "--mode")) {
            o->in = !strcmp(v, "in") || !strcmp(v, "both");
            o->two = !strcmp(v, "two") || !strcmp(v, "both");
            if (!o->in && !o->two)
                return usage("--mode is in, two or both");
            continue;
        }
        char *end;
        uint64_t n = strtoull(v, &end, 0);
        if (*end || !n)
            return usage("values are positive integers");
        if (!strcmp(k, "--write-size"))
            o->write_size = n;
        else if (!strcmp(k, "--total"))
            o->total = n;
        else if (!strcmp(k, "--qd"))
            o->qd = n > 256 ? 256 : (unsigned)n;
        else if (!strcmp(k, "--seed"))
            o->seed = n;
        else if (!strcmp(k, "--limit-mib"))
            o->limit_mib = n;
        else
            return usage("unknown option");
    }
    if (o->write_size % BLOCK || o->write_size > (512u << 10))
        return usage("--write-size is a multiple of 4096, at most 512 KiB (one command)");
    if ((uint64_t)o->qd * o->write_size > HOST_RAM / 2)
        return usage("--qd x --write-size must fit in half of the 16 MiB of host RAM");
    return 0;
}

/* The scsisim program for two-process mode. */
static const char *scsisim_bin(char *buf, size_t len)
{
    const char *env = getenv("SCSISIM_BIN");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    snprintf(buf, len, "%s/../scsisim", dirname(self)); /* build/bench/x -> build/scsisim */
    return buf;
}

struct slot {
    struct osal_dma_buffer *buf;
    atomic_bool bad;
};

static void done(void *arg, const struct drv_completion *c)
{
    struct slot *s = arg;
    if (c->response != DRV_SR_TASK_COMPLETE || c->scsi_status != SCSI_STATUS_GOOD)
        atomic_store(&s->bad, true);
}

static int run(const struct options *o, bool two)
{
    const char *name = two ? "two-process" : "in-process";
    char dir[PATH_MAX - 32];
    snprintf(dir, sizeof(dir), "%s/scsisim-stackmem-XXXXXX", o->dir);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_stack_memory: cannot make a directory in %s: %s\n", o->dir, strerror(errno));
        return 2;
    }
    char media[PATH_MAX];
    snprintf(media, sizeof(media), "%s/ld0.img", dir);
    struct sim_config cfg;
    sim_config_init(&cfg);
    cfg.host_ram_bytes = HOST_RAM;
    cfg.init_ms = 1;
    cfg.lus[0].blocks = CAPACITY / BLOCK;
    cfg.lus[0].block_size = BLOCK;
    /* A media name under the media directory; 66 TB is above the default media-max. */
    cfg.media_dir = strdup(dir);
    cfg.media_max = UINT64_MAX;
    cfg.lus[0].media_path = strdup("ld0.img");
    struct stack_options so;
    stack_options_init(&so);
    so.osal.name = name;
    char binbuf[PATH_MAX];
    if (two) {
        so.mode = STACK_TWO_PROCESS;
        so.spawn = true;
        so.scsisim_bin = scsisim_bin(binbuf, sizeof(binbuf));
    }
    struct stack *st = NULL;
    char err[512] = "";
    int rc = stack_open(&cfg, &so, &st, err, sizeof(err));
    uint64_t blocks = cfg.lus[0].blocks;
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "bench_stack_memory: %s: %s\n", name, err);
        rmdir(dir);
        return 2;
    }
    int status = 0;
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    struct drv_completion c;
    for (int i = 0; i < 8; i++)
        if (stack_exec(st, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c) == 0 && c.scsi_status == SCSI_STATUS_GOOD)
            break;

    struct slot *slots = calloc(o->qd, sizeof(*slots));
    for (unsigned i = 0; slots && i < o->qd; i++)
        if (osal_dma_alloc(stack_osal(st), o->write_size, 4096, &slots[i].buf) < 0)
            status = 2;
    if (!slots || status) {
        fprintf(stderr, "bench_stack_memory: no DMA memory for %u buffers\n", o->qd);
        status = 2;
        goto out;
    }
    uint64_t per = o->write_size / BLOCK, places = blocks / per, writes = o->total / o->write_size;
    uint64_t rng = o->seed, fill = o->seed ^ 0x5555, id = 1;
    double t0 = bench_now_s();
    for (uint64_t w = 0; w < writes;) {
        unsigned batch = 0;
        for (; batch < o->qd && w < writes; batch++, w++) {
            struct slot *s = &slots[batch];
            uint64_t *p = s->buf->vaddr;
            for (size_t k = 0; k < o->write_size / 8; k += 512) /* one word per 4 KiB: the data differs */
                p[k] = bench_rng_next(&fill);
            struct drv_task t = { .task_id = id++, .cdb_len = 16, .dir = DRV_DIR_FROM_INITIATOR,
                                  .requested_transfer = o->write_size };
            t.cdb[0] = SCSI_OP_WRITE_16;
            scsi_put_be64(t.cdb + 2, (bench_rng_next(&rng) % places) * per);
            scsi_put_be32(t.cdb + 10, (uint32_t)per);
            struct drv_buffer_piece piece = { .buf = s->buf, .offset = 0, .length = o->write_size };
            t.pieces = &piece;
            t.piece_count = 1;
            if (stack_submit(st, &t, done, s) < 0) {
                fprintf(stderr, "bench_stack_memory: a WRITE was refused\n");
                status = 1;
                break;
            }
        }
        stack_wait(st, -1);
        if (status)
            break;
    }
    double t_write = bench_now_s() - t0;
    uint8_t sync[16] = { SCSI_OP_SYNCHRONIZE_CACHE_16 };
    t0 = bench_now_s();
    int erc = stack_exec(st, 0, 0, sync, 16, DRV_DIR_NONE, NULL, 0, &c);
    double t_flush = bench_now_s() - t0;
    bool bad = erc < 0 || c.response != DRV_SR_TASK_COMPLETE || c.scsi_status != SCSI_STATUS_GOOD;
    for (unsigned i = 0; i < o->qd; i++)
        bad |= atomic_load(&slots[i].bad);
    struct sim_oracle_report r = { 0 };
    t0 = bench_now_s();
    int crc = stack_check_media(st, 0, 0, &r);
    double t_check = bench_now_s() - t0;
    pid_t ctrl = stack_controller_pid(st);
    uint64_t sim_kib = bench_vm_hwm_kib(ctrl), self_kib = two ? bench_vm_hwm_kib(0) : sim_kib;

    printf("%s: drive 0:0 %llu blocks of %u B (66 TB), file media %s*\n", name, (unsigned long long)blocks, BLOCK,
           media);
    printf("%s: %" PRIu64 " WRITE(16)s x %" PRIu64 " B at seeded random aligned LBAs (seed %" PRIu64
           "), %u in flight: %.2f s; SYNCHRONIZE CACHE(16) %.2f s; oracle check %.2f s\n",
           name, writes, o->write_size, o->seed, o->qd, t_write, t_flush, t_check);
    printf("%s: oracle: %" PRIu64 " blocks checked, durable lost %" PRIu64 ", volatile lost %" PRIu64 "\n", name,
           r.blocks_checked, r.durable_lost, r.volatile_lost);
    if (two)
        printf("%s: peak RSS of the controller process (pid %d) VmHWM %" PRIu64 " KiB = %.1f MiB; this process "
               "(driver) %" PRIu64 " KiB (limit %" PRIu64 " MiB)\n",
               name, (int)ctrl, sim_kib, (double)sim_kib / 1024, self_kib, o->limit_mib);
    else
        printf("%s: peak RSS of this process (driver + controller) VmHWM %" PRIu64 " KiB = %.1f MiB (limit %" PRIu64
               " MiB)\n",
               name, sim_kib, (double)sim_kib / 1024, o->limit_mib);
    if (bad || crc < 0 || r.durable_lost || r.blocks_checked != writes * per) {
        fprintf(stderr, "bench_stack_memory: %s: a command failed or the oracle disagrees (check %d)\n", name, crc);
        status = 1;
    }
    if (!sim_kib || sim_kib > o->limit_mib * 1024) {
        fprintf(stderr, "bench_stack_memory: %s: peak RSS above %" PRIu64 " MiB\n", name, o->limit_mib);
        status = 1;
    }
out:
    for (unsigned i = 0; slots && i < o->qd; i++)
        osal_dma_free(stack_osal(st), slots[i].buf);
    free(slots);
    stack_close(st);
    sim_store_remove_media(media, blocks, BLOCK);
    rmdir(dir);
    return status;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    /* Two-process first: this process's own peak is then the driver's alone. */
    int status = 0;
    if (o.two)
        status = run(&o, true);
    if (o.in && status != 2) {
        int s = run(&o, false);
        status = s > status ? s : status;
    }
    return status;
}
