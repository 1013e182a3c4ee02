/* cli/cmd_bench.c — `scsisim bench`: IOPS and latency percentiles of TEST
 * UNIT READY and 4 KiB READ and WRITE through the whole stack (driver core
 * -> OS layer -> bus -> controller firmware), at queue depths 1 and 32, with
 * the controller in this process or in its own, completions by interrupt or
 * by polling.  Each cell runs for a fixed time (cli/bench_run.c); the result
 * is a table, or JSON. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/driver_core_opt.h"
#include "cli/bench.h"
#include "cli/commands.h"
#include "cli/firmware_opt.h"
#include "cli/options.h"
#include "bench/ring_ref.h"
#include "scsi/scsi.h"

static const char usage_text[] =
    "usage: scsisim bench [--seconds S] [--qd N,...] [--mode M,...] [--ops OP,...] [--json]\n"
    "                     [--io-size BYTES] [--coalesce N:US] [--dma registered|per-command]\n"
    "                     [--driver-core PATH.so] [--firmware PATH.so]\n"
    "                     [--set KEY=VALUE | --drive T:L,KEY=VALUE,...]... [FILE]\n"
    "\n"
    "Measures commands through the whole stack - driver core, OS layer, bus,\n"
    "controller firmware - on the first drive of the configuration: IOPS and\n"
    "latency percentiles (p50, p99, p99.9, max) of each command kind at each queue\n"
    "depth in each mode, one fixed-duration run per cell (after a short warm-up).\n"
    "Latency is from submission to the completion callback, as the layer above\n"
    "the driver sees it.\n"
    "\n"
    "  --seconds S      measured time per cell (default 1; fractions allowed)\n"
    "  --qd N,...       queue depths: commands kept in flight (default 1,32)\n"
    "  --mode M,...     in-irq, in-poll, two-irq, two-poll; in = in-irq,in-poll;\n"
    "                   two = two-irq,two-poll; irq, poll; all (the default)\n"
    "                   in: the controller on a thread of this process;\n"
    "                   two: the controller in its own process (scsisim controller,\n"
    "                   started by this command), joined by a Unix socket\n"
    "  --ops OP,...     tur, read, write (default all three); READ and WRITE move\n"
    "                   4 KiB at random 4 KiB-aligned places\n"
    "  --io-size BYTES  transfer length of READ and WRITE (default 4096)\n"
    "  --coalesce N:US  interrupt coalescing (hw/hba.h): signal once N completions\n"
    "                   are pending or US microseconds after the first; N 1..255,\n"
    "                   US 0..16777215 (0: no time limit); default off\n"
    "  --dma registered  (the default) each command slot's DMA buffer is registered\n"
    "                   with the OS layer: one IOMMU mapping for the whole run, as\n"
    "                   a fast driver keeps (io_uring's fixed buffers); a command\n"
    "                   maps and unmaps nothing\n"
    "  --dma per-command  every command maps its buffer in the IOMMU and unmaps it\n"
    "                   (with the IOTLB invalidation) when it completes, as the\n"
    "                   bundled traces do: a strict IOMMU\n"
    "  --json           results as one JSON object on stdout instead of a table\n"
    "  --driver-core PATH.so  measure the driver core loaded from PATH.so (default\n"
    "                   $SCSISIM_DRIVER_CORE, else the built-in core)\n"
    "  --firmware PATH.so  the controller loads this firmware plug-in\n"
    "                   (docs/firmware-plugins.md)\n"
    "  --set, --drive, FILE   the controller configuration, as for 'scsisim config'\n"
    "                   (defaults, with a 1 ms initialisation time)\n"
    "  -h, --help       this text\n"
    "\n"
    "The same run measures the ring-limit reference (bench/ring_ref.h: two threads,\n"
    "lock-free rings of 64-byte entries, a 4 KiB copy per command, nothing else)\n"
    "at each queue depth for at most 0.5 s, and each cell's 'vs ring' column is its\n"
    "IOPS divided by the ring's at the same depth.\n"
    "\n"
    "A benchmark measures the machine it runs on: run it on a quiet machine and\n"
    "say which (docs/benchmarks.md).  Progress goes to stderr on a terminal.\n"
    "\n"
    "Exit status: 0 measured; 1 a command failed (the cell's errors column says how\n"
    "many); 2 bad option or configuration; 3 the stack could not be set up.\n";

enum { MODE_IN_IRQ, MODE_IN_POLL, MODE_TWO_IRQ, MODE_TWO_POLL, MODES };
static const char *const mode_names[MODES] = { "in-irq", "in-poll", "two-irq", "two-poll" };

#define MAX_QDS 8

struct plan {
    double seconds;
    unsigned qd[MAX_QDS], nqd;
    bool mode[MODES];
    bool op[BENCH_OPS];
    uint32_t io_bytes;
    uint32_t coalescing;       /* HBA_COALESCE value, 0 off */
    bool per_command;          /* --dma per-command: no registered buffers */
    bool json;
};

/* Comma-separated words: fn(word, len, arg) for each; false stops. */
static bool each_word(const char *list, bool (*fn)(const char *w, size_t n, void *arg), void *arg)
{
    while (*list) {
        size_t n = strcspn(list, ",");
        if (!n || !fn(list, n, arg))
            return false;
        list += n + (list[n] == ',');
    }
    return true;
}

static bool is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && strncmp(w, name, n) == 0;
}

static bool take_mode(const char *w, size_t n, void *arg)
{
    bool *m = arg;
    bool in = is(w, n, "in"), two = is(w, n, "two"), irq = is(w, n, "irq"), poll = is(w, n, "poll"),
         all = is(w, n, "all");
    bool any = in || two || irq || poll || all;
    for (int i = 0; i < MODES; i++) {
        bool in_i = i == MODE_IN_IRQ || i == MODE_IN_POLL, irq_i = i == MODE_IN_IRQ || i == MODE_TWO_IRQ;
        if (is(w, n, mode_names[i]) || all || (in && in_i) || (two && !in_i) || (irq && irq_i) || (poll && !irq_i)) {
            m[i] = true;
            any = true;
        }
    }
    return any;
}

static bool take_op(const char *w, size_t n, void *arg)
{
    bool *op = arg;
    if (is(w, n, "tur"))
        op[BENCH_TUR] = true;
    else if (is(w, n, "read"))
        op[BENCH_READ] = true;
    else if (is(w, n, "write"))
        op[BENCH_WRITE] = true;
    else
        return false;
    return true;
}

static bool take_qd(const char *w, size_t n, void *arg)
{
    struct plan *p = arg;
    char buf[16];
    if (n >= sizeof(buf) || p->nqd == MAX_QDS)
        return false;
    memcpy(buf, w, n);
    buf[n] = '\0';
    char *end;
    unsigned long v = strtoul(buf, &end, 10);
    if (*end || v < 1 || v > 1024)
        return false;
    p->qd[p->nqd++] = (unsigned)v;
    return true;
}

static int bad(const char *what, const char *value, const char *hint)
{
    fprintf(stderr, "scsisim bench: %s '%s': %s\n", what, value, hint);
    return CLI_EXIT_USAGE;
}

/* N:US -> HBA_COALESCE(N, US); false when malformed or out of range. */
static bool parse_coalesce(const char *v, uint32_t *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end != ':' || n < 1 || n > HBA_COALESCE_THRESHOLD_MAX)
        return false;
    const char *us_s = end + 1;
    unsigned long us = strtoul(us_s, &end, 10);
    if (end == us_s || *end || us > HBA_COALESCE_TIME_US_MAX)
        return false;
    *out = HBA_COALESCE(n, us);
    return true;
}

static int make_plan(struct plan *p, const char *seconds, const char *qd, const char *mode, const char *ops,
                     const char *io, const char *coalesce, const char *dma)
{
    memset(p, 0, sizeof(*p));
    p->seconds = 1;
    p->io_bytes = 4096;
    if (seconds) {
        char *end;
        p->seconds = strtod(seconds, &end);
        if (*end || !(p->seconds > 0) || p->seconds > 3600)
            return bad("--seconds", seconds, "a number of seconds, above 0 and at most 3600, e.g. --seconds 0.5");
    }
    if (io) {
        char *end;
        unsigned long v = strtoul(io, &end, 10);
        if (*end || v < 512 || v > (16u << 20))
            return bad("--io-size", io, "bytes, 512 to 16777216, a multiple of the block size");
        p->io_bytes = (uint32_t)v;
    }
    if (coalesce && !parse_coalesce(coalesce, &p->coalescing))
        return bad("--coalesce", coalesce,
                   "THRESHOLD:MICROSECONDS, THRESHOLD 1 to 255, MICROSECONDS 0 to 16777215, e.g. --coalesce 16:50");
    if (dma && strcmp(dma, "registered") && strcmp(dma, "per-command"))
        return bad("--dma", dma, "registered (one IOMMU mapping per buffer for the run) or per-command");
    p->per_command = dma && !strcmp(dma, "per-command");
    if (!each_word(qd ? qd : "1,32", take_qd, p))
        return bad("--qd", qd, "queue depths from 1 to 1024, comma-separated, e.g. --qd 1,8,32");
    if (!each_word(mode ? mode : "all", take_mode, p->mode))
        return bad("--mode", mode, "in-irq, in-poll, two-irq, two-poll, in, two, irq, poll or all, comma-separated");
    if (!each_word(ops ? ops : "tur,read,write", take_op, p->op))
        return bad("--ops", ops, "tur, read or write, comma-separated");
    return CLI_EXIT_OK;
}

/* ---- output -------------------------------------------------------------- */

static const char *mode_process(int m)
{
    return m == MODE_IN_IRQ || m == MODE_IN_POLL ? "in-process" : "two-process";
}

static const char *mode_completion(int m)
{
    return m == MODE_IN_IRQ || m == MODE_TWO_IRQ ? "interrupts" : "polled";
}

struct result {
    int mode;
    struct bench_cell cell;
    double ring_ratio;        /* cell IOPS / the ring reference's at the cell's QD; < 0: the
                                 ring completed nothing (starved on a loaded machine) */
};

#define RING_SECONDS_MAX 0.5  /* the reference is steady quickly; keep the run short */

static void print_table(const struct plan *p, const struct sim_lu_config *lu, const struct result *r, size_t n,
                        const struct ring_ref_result *ring)
{
    printf("scsisim bench: %g s per cell; drive %u:%u, %llu blocks of %u bytes; READ/WRITE of %u bytes at "
           "random aligned LBAs; DMA buffers %s\n\n",
           p->seconds, lu->target, lu->lun, (unsigned long long)lu->blocks, lu->block_size, p->io_bytes,
           p->per_command ? "mapped per command" : "registered (one mapping each for the run)");
    printf("%-12s %-11s %-5s %4s %11s %9s %9s %9s %9s %7s %8s\n", "controller", "completion", "op", "QD", "IOPS",
           "p50 us", "p99 us", "p99.9 us", "max us", "errors", "vs ring");
    for (size_t i = 0; i < n; i++) {
        const struct bench_cell *c = &r[i].cell;
        char ratio[16];
        if (r[i].ring_ratio < 0)
            snprintf(ratio, sizeof(ratio), "%8s", "-");
        else
            snprintf(ratio, sizeof(ratio), "%7.3fx", r[i].ring_ratio);
        printf("%-12s %-11s %-5s %4u %11.0f %9.1f %9.1f %9.1f %9.1f %7llu %s\n", mode_process(r[i].mode),
               mode_completion(r[i].mode), bench_op_name(c->op), c->qd, c->iops, c->p50_us, c->p99_us, c->p999_us,
               c->max_us, (unsigned long long)c->errors, ratio);
    }
    printf("\nring-limit reference (bench/ring_ref.h, same run, %g s each):", ring[0].seconds);
    for (unsigned q = 0; q < p->nqd; q++)
        printf("%s QD %u %.0f commands/s", q ? "," : "", ring[q].qd, ring[q].per_s);
    printf("\n");
    for (unsigned q = 0; q < p->nqd; q++)
        if (ring[q].commands == 0) {
            printf("the ring completed nothing at QD %u: its two threads did not get two CPUs (a loaded machine); "
                   "no ratio at that depth\n",
                   ring[q].qd);
            break;
        }
}

static void print_json(const struct plan *p, const struct sim_lu_config *lu, const struct result *r, size_t n,
                       const struct ring_ref_result *ring)
{
    printf("{\"seconds_per_cell\": %g, \"io_bytes\": %u, \"dma\": \"%s\", \"drive\": {\"target\": %u, \"lun\": %u, "
           "\"blocks\": %llu, \"block_size\": %u},\n \"cells\": [",
           p->seconds, p->io_bytes, p->per_command ? "per-command" : "registered", lu->target, lu->lun,
           (unsigned long long)lu->blocks, lu->block_size);
    for (size_t i = 0; i < n; i++) {
        const struct bench_cell *c = &r[i].cell;
        char ratio[32];
        if (r[i].ring_ratio < 0)
            snprintf(ratio, sizeof(ratio), "null");
        else
            snprintf(ratio, sizeof(ratio), "%.4f", r[i].ring_ratio);
        printf("%s\n  {\"controller\": \"%s\", \"completion\": \"%s\", \"op\": \"%s\", \"qd\": %u, "
               "\"completed\": %llu, \"errors\": %llu, \"seconds\": %.3f, \"iops\": %.1f, \"p50_us\": %.2f, "
               "\"p99_us\": %.2f, \"p99_9_us\": %.2f, \"max_us\": %.2f, \"ring_ratio\": %s}",
               i ? "," : "", mode_process(r[i].mode), mode_completion(r[i].mode), bench_op_name(c->op), c->qd,
               (unsigned long long)c->completed, (unsigned long long)c->errors, c->elapsed_s, c->iops, c->p50_us,
               c->p99_us, c->p999_us, c->max_us, ratio);
    }
    printf("\n ],\n \"ring\": [");
    for (unsigned q = 0; q < p->nqd; q++)
        printf("%s{\"qd\": %u, \"seconds\": %.3f, \"commands\": %llu, \"per_s\": %.1f}", q ? ", " : "",
               ring[q].qd, ring[q].seconds, (unsigned long long)ring[q].commands, ring[q].per_s);
    printf("]}\n");
}

/* ---- running ------------------------------------------------------------- */

static struct stack *open_mode(int m, const struct sim_config *cfg, const char *self, uint32_t coalescing)
{
    struct stack_options o;
    stack_options_init(&o);
    o.osal.name = "bench";
    o.polled = m == MODE_IN_POLL || m == MODE_TWO_POLL;
    o.int_coalescing = coalescing;
    if (m == MODE_TWO_IRQ || m == MODE_TWO_POLL) {
        o.mode = STACK_TWO_PROCESS;
        o.spawn = true;
        o.scsisim_bin = self;
    }
    struct stack *st = NULL;
    char err[512] = "";
    int rc = stack_open(cfg, &o, &st, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "scsisim bench: %s: %s\n", mode_names[m], err);
        return NULL;
    }
    return st;
}

/* TEST UNIT READY until GOOD: the power-on unit attention is not a result. */
static bool ready(struct stack *st, const struct sim_lu_config *lu)
{
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    for (int i = 0; i < 64; i++) {
        struct drv_completion c;
        if (stack_exec(st, lu->target, lu->lun, tur, 6, DRV_DIR_NONE, NULL, 0, &c) < 0)
            return false;
        if (c.response == DRV_SR_TASK_COMPLETE && c.scsi_status == SCSI_STATUS_GOOD)
            return true;
        usleep(10000);
    }
    return false;
}

static int run(int argc, char **argv)
{
    const char *seconds = NULL, *qd = NULL, *mode = NULL, *ops = NULL, *io = NULL, *core = NULL, *firmware = NULL,
               *coalesce = NULL, *dma = NULL;
    bool json = false;
    const struct cli_opt opts[] = {
        { .name = "--seconds", .value = &seconds, .example = "--seconds 0.5" },
        { .name = "--qd", .value = &qd, .example = "--qd 1,32" },
        { .name = "--mode", .value = &mode, .example = "--mode in,two-poll" },
        { .name = "--ops", .value = &ops, .example = "--ops tur,read" },
        { .name = "--io-size", .value = &io, .example = "--io-size 65536" },
        { .name = "--coalesce", .value = &coalesce, .example = "--coalesce 16:50" },
        { .name = "--dma", .value = &dma, .example = "--dma per-command" },
        { .name = "--json", .flag = &json },
        { .name = "--driver-core", .value = &core, .example = "--driver-core ./mycore.so" },
        CLI_FIRMWARE_OPT(firmware),
        { .name = NULL },
    };
    int rc = cli_firmware_prescan("bench", argc, argv);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* The defaults, but a controller that is up in 1 ms: the benchmark is
     * not about initialisation.  A FILE or --set may say otherwise. */
    char **args = calloc((size_t)argc + 3, sizeof(*args));
    if (!args) {
        fprintf(stderr, "scsisim bench: out of memory\n");
        return CLI_EXIT_INTERNAL;
    }
    int n = 0;
    args[n++] = argv[0];
    args[n++] = "--set";
    args[n++] = "init-time=1ms";
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    struct sim_config cfg;
    rc = cli_config_from_args("bench", usage_text, n, args, opts, &cfg);
    free(args);
    if (rc == CLI_HELP_SHOWN)
        return CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_firmware_check("bench", &cfg)) != CLI_EXIT_OK ||
        (rc = cli_driver_core_use("bench", core)) != CLI_EXIT_OK) {
        sim_config_free(&cfg);
        return rc;
    }
    struct plan plan;
    if ((rc = make_plan(&plan, seconds, qd, mode, ops, io, coalesce, dma)) != CLI_EXIT_OK) {
        sim_config_free(&cfg);
        return rc;
    }
    plan.json = json;
    const struct sim_lu_config *lu = &cfg.lus[0];
    if (plan.io_bytes % lu->block_size) {
        sim_config_free(&cfg);
        return bad("--io-size", io, "must be a multiple of the drive's block size");
    }
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0) {
        perror("scsisim bench: /proc/self/exe");
        sim_config_free(&cfg);
        return CLI_EXIT_INTERNAL;
    }
    self[len] = '\0';

    size_t cells = 0, total = 0;
    for (int m = 0; m < MODES; m++)
        for (int o = 0; o < BENCH_OPS; o++)
            total += plan.mode[m] && plan.op[o] ? plan.nqd : 0;
    struct result *res = calloc(total ? total : 1, sizeof(*res));
    bool tty = isatty(STDERR_FILENO);
    rc = CLI_EXIT_OK;
    for (int m = 0; m < MODES && rc == CLI_EXIT_OK && res; m++) {
        if (!plan.mode[m])
            continue;
        struct stack *st = open_mode(m, &cfg, self, plan.coalescing);
        if (!st || !ready(st, lu)) {
            if (st)
                fprintf(stderr, "scsisim bench: %s: drive %u:%u never became ready\n", mode_names[m], lu->target,
                        lu->lun);
            stack_close(st);
            rc = CLI_EXIT_INTERNAL;
            break;
        }
        for (int o = 0; o < BENCH_OPS && rc == CLI_EXIT_OK; o++) {
            for (unsigned q = 0; q < plan.nqd && plan.op[o] && rc == CLI_EXIT_OK; q++) {
                struct result *r = &res[cells++];
                r->mode = m;
                r->cell = (struct bench_cell){
                    .op = (enum bench_op)o,
                    .qd = plan.qd[q],
                    .polled = m == MODE_IN_POLL || m == MODE_TWO_POLL,
                    .registered = !plan.per_command,
                    .seconds = plan.seconds,
                    .io_bytes = plan.io_bytes,
                    .target = lu->target,
                    .lun = lu->lun,
                    .blocks = lu->blocks,
                    .block_size = lu->block_size,
                };
                if (tty)
                    fprintf(stderr, "\r[%zu/%zu] %s %s QD %u ...   ", cells, total, mode_names[m],
                            bench_op_name((enum bench_op)o), plan.qd[q]);
                char err[256] = "";
                if (bench_run_cell(st, &r->cell, err, sizeof(err)) < 0) {
                    fprintf(stderr, "%sscsisim bench: %s %s QD %u: %s\n", tty ? "\n" : "", mode_names[m],
                            bench_op_name((enum bench_op)o), plan.qd[q], err);
                    rc = CLI_EXIT_INTERNAL;
                }
            }
        }
        stack_close(st);
    }
    /* The reference, after the cells so it does not warm their caches; the
     * ring's own queue depth is capped at its ring size less one. */
    struct ring_ref_result ring[MAX_QDS];
    memset(ring, 0, sizeof(ring));
    double ring_s = plan.seconds < RING_SECONDS_MAX ? plan.seconds : RING_SECONDS_MAX;
    for (unsigned q = 0; q < plan.nqd && rc == CLI_EXIT_OK && res; q++) {
        unsigned rqd = plan.qd[q] < RING_REF_MAX_QD ? plan.qd[q] : RING_REF_MAX_QD;
        if (tty)
            fprintf(stderr, "\rring reference QD %u ...          ", rqd);
        int rrc = ring_ref_run(rqd, ring_s, &ring[q]);
        if (rrc < 0 || ring[q].bad) {
            fprintf(stderr, "%sscsisim bench: the ring reference at QD %u failed: %s\n", tty ? "\n" : "", rqd,
                    rrc < 0 ? strerror(-rrc) : "a completion matched no command in flight");
            rc = CLI_EXIT_INTERNAL;
        }
    }
    for (size_t i = 0; i < cells && rc == CLI_EXIT_OK; i++)
        for (unsigned q = 0; q < plan.nqd; q++)
            if (plan.qd[q] == res[i].cell.qd)
                res[i].ring_ratio = ring[q].per_s > 0 ? res[i].cell.iops / ring[q].per_s : -1;
    if (tty && cells)
        fprintf(stderr, "\r%*s\r", 60, "");
    if (!res) {
        fprintf(stderr, "scsisim bench: out of memory\n");
        rc = CLI_EXIT_INTERNAL;
    }
    if (rc == CLI_EXIT_OK) {
        if (plan.json)
            print_json(&plan, lu, res, cells, ring);
        else
            print_table(&plan, lu, res, cells, ring);
        for (size_t i = 0; i < cells; i++)
            if (res[i].cell.errors) {
                /* The table says how many; this says what, so a failed
                 * run can be diagnosed from its log alone. */
                const struct bench_cell *c = &res[i].cell;
                fprintf(stderr, "scsisim bench: %s %s %s QD %u: %llu command(s) did not end GOOD; the first: %s\n",
                        mode_process(res[i].mode), mode_completion(res[i].mode), bench_op_name(c->op), c->qd,
                        (unsigned long long)c->errors, c->first_error);
                rc = CLI_EXIT_FAILURE;
            }
    }
    free(res);
    sim_config_free(&cfg);
    return rc;
}

const struct cli_command cli_cmd_bench = {
    .name = "bench",
    .summary = "IOPS and latency through the whole stack, in one process and two",
    .run = run,
};
