/* cli/cmd_campaign.c — `scsisim campaign`: the power-cut campaign.  The
 * controller runs in its own process on a file-backed drive; a writer drives
 * it through the driver core (random WRITEs with and without FUA,
 * SYNCHRONIZE CACHE of ranges and of everything); at a random instant the
 * controller gets SIGKILL, is started again on the same media, the driver
 * recovers (tasks in flight re-issued), and the restarted controller's own
 * durability oracle — persisted beside the media (sim/store/store_oracle.h) —
 * checks every block that was promised durable.  Any durable loss: exit 1 with
 * the seed that reproduces it.  --battery good gives the drive a good cache
 * battery, whose dirty blocks outlive the kill (sim/store/store_bbu.h): then
 * every cut must also lose 0 unflushed blocks. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/campaign_promises.h"
#include "cli/campaign_trace.h"
#include "cli/commands.h"
#include "cli/driver_core_opt.h"
#include "cli/options.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "stack/stack.h"

static const char usage_text[] =
    "usage: scsisim campaign [--cuts N] [--seed S] [--battery absent|good]\n"
    "                        [--json FILE] [--quiet] [--driver-core PATH.so]\n"
    "\n"
    "The power-cut campaign: a controller in its own process on a file-backed\n"
    "drive (64 MiB, write-back cache, battery absent or good), a writer\n"
    "through the driver core (random WRITE (10) of 1..32 blocks, 30% with FUA;\n"
    "SYNCHRONIZE CACHE of a range 10% of the time, of everything 5%; the\n"
    "write-back cache off for a third of the cuts), and N times: SIGKILL of the\n"
    "controller after a random number of commands (1..64) and 0..200 us into\n"
    "the next (mid-write, mid-flush and mid-DMA alike), a restart on the same\n"
    "media, the driver's recovery, and the restarted controller's own check of\n"
    "every block it had promised durable (its oracle is kept beside the media,\n"
    "docs/faults.md); then every block written during the cut is read back\n"
    "through the driver core and must hold the newest version the core\n"
    "acknowledged as durable (FUA, write cache off, or a SYNCHRONIZE CACHE\n"
    "after it; with a good battery, any WRITE completed GOOD) or a newer one.\n"
    "\n"
    "  --cuts N       power cuts (default 100)\n"
    "  --seed S       seed of every random choice (default 1)\n"
    "  --battery B    the cache battery: absent (default: a kill loses the\n"
    "                 unflushed blocks, which are counted) or good (the dirty\n"
    "                 blocks live in a file-backed mapping beside the media and\n"
    "                 survive the kill: every cut must lose 0 unflushed blocks)\n"
    "  --json FILE    also write the summary as JSON to FILE ('-': stdout)\n"
    "  --quiet        no progress line on stderr\n"
    "  --driver-core PATH.so  the writer's driver core (core/driver_core_abi.h;\n"
    "                 default $SCSISIM_DRIVER_CORE, else the built-in core): a\n"
    "                 core's recovery after each cut is what is judged\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: 0 no durable block lost; 1 a durable block was lost, a\n"
    "block read back older than the driver promised, or, with --battery good,\n"
    "an unflushed block was lost (the\n"
    "message names the cut, the seed and the first bad LBA, and the media, its\n"
    "oracle journal and loss.trace, a trace of that cut's commands that\n"
    "reproduces the loss with 'scsisim run', are kept); 2 bad option;\n"
    "3 could not run.\n";

#define CAMPAIGN_BLOCKS  131072u /* 64 MiB of 512-byte blocks */
#define CAMPAIGN_MAX_LEN 32u

struct writer {
    struct stack *st;
    struct campaign_promises *promises; /* what the driver told us is durable */
    bool     wce;             /* the write-back cache is on during this cut */
    _Atomic bool killed;      /* set before the kill: the restarted controller has its default WCE again */
    uint64_t rng;
    _Atomic bool stop;
    _Atomic unsigned answered; /* commands that came back, whatever their status: the cut waits for some */
    /* counts, read after join */
    uint64_t writes, fua, sync_range, sync_all, failed;
    uint32_t seq;
    struct campaign_log log;  /* this cut's GOOD commands, for a reproducing trace */
};

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    static uint8_t buf[CAMPAIGN_MAX_LEN * 512];
    /* Nothing is sent once the kill is decided: the reproducing trace
     * (cli/campaign_trace.c) replays one cut on one power-on, and a command
     * sent to the restarted controller would meet its power-on write-cache
     * setting, not this cut's, so the trace could not reproduce it. */
    while (!atomic_load(&w->stop) && !atomic_load(&w->killed)) {
        uint64_t r = rnd(&w->rng);
        uint8_t cdb[10] = { 0 };
        struct drv_completion c;
        int rc;
        unsigned pick = (unsigned)(r % 100);
        if (pick < 10 || pick >= 95) {
            cdb[0] = 0x35; /* SYNCHRONIZE CACHE (10): a range, or everything (LBA 0, 0 blocks) */
            if (pick < 10) {
                uint32_t lba = (uint32_t)((r >> 8) % (CAMPAIGN_BLOCKS - 4096));
                put32(cdb + 2, lba);
                cdb[7] = 4096 >> 8;
                w->sync_range++;
            } else {
                w->sync_all++;
            }
            /* Logged before it is sent: the controller may complete it, and
             * promise, in the instant before the kill, with the GOOD never
             * reaching us; the reproducing trace must still hold it. */
            size_t mark = w->log.n;
            campaign_log_add(&w->log, cdb, 0, 0);
            rc = stack_exec(w->st, 0, 0, cdb, 10, DRV_DIR_NONE, NULL, 0, &c);
            if (rc == 0 && c.response == DRV_SR_TASK_COMPLETE && c.scsi_status == 0)
                campaign_promises_sync(w->promises, scsi_get_be32(cdb + 2), scsi_get_be16(cdb + 7));
            else if (!atomic_load(&w->killed) && !w->log.lost)
                w->log.n = mark; /* failed with no kill around: it did nothing */
        } else {
            uint32_t len = 1 + (uint32_t)((r >> 8) % CAMPAIGN_MAX_LEN);
            uint32_t lba = (uint32_t)((r >> 16) % (CAMPAIGN_BLOCKS - len));
            bool fua = pick < 40;
            w->seq++;
            for (uint32_t b = 0; b < len; b++)
                for (uint32_t i = 0; i < 512; i += 8) {
                    put32(buf + b * 512 + i, lba + b);
                    put32(buf + b * 512 + i + 4, w->seq);
                }
            cdb[0] = 0x2A;
            cdb[1] = fua ? 0x08 : 0;
            put32(cdb + 2, lba);
            cdb[8] = (uint8_t)len;
            size_t mark = w->log.n; /* logged before it is sent, as the flush above */
            campaign_log_add(&w->log, cdb, len, w->seq);
            rc = stack_exec(w->st, 0, 0, cdb, 10, DRV_DIR_FROM_INITIATOR, buf, (uint64_t)len * 512, &c);
            bool good = rc == 0 && c.response == DRV_SR_TASK_COMPLETE && c.scsi_status == 0;
            if (!good && !atomic_load(&w->killed) && !w->log.lost)
                w->log.n = mark;
            if (good) {
                w->writes++;
                w->fua += fua;
                /* With the cache off a GOOD write is durable, but only
                 * before the kill: a write re-issued to the restarted
                 * controller meets its power-on default, cache on. */
                bool wce_off = !w->wce && !atomic_load(&w->killed);
                campaign_promises_write(w->promises, lba, len, w->seq,
                                        fua ? PROMISE_FUA : wce_off ? PROMISE_CACHE_OFF : PROMISE_NONE);
            }
        }
        atomic_fetch_add(&w->answered, 1);
        struct scsi_sense_info si;
        if (rc == 0 && c.response == DRV_SR_TASK_COMPLETE && c.scsi_status == SCSI_STATUS_CHECK_CONDITION &&
            scsi_sense_parse(c.sense, c.sense_len, &si) && si.key == SCSI_SK_UNIT_ATTENTION && si.asc == 0x29)
            campaign_promises_forfeit(w->promises); /* a power on or reset: the cache may be gone */
        if (rc < 0 || c.response != DRV_SR_TASK_COMPLETE || c.scsi_status != 0) {
            /* A command caught by the cut may fail: it promised nothing.
             * While the controller is down, do not spin. */
            w->failed++;
            struct timespec pause = { .tv_nsec = 1000000 };
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

/* The driver's log: its complaints about a controller that died under it are
 * the campaign's daily bread; counted, shown only when something went wrong. */
static _Atomic uint64_t driver_errors;
static char last_driver_error[256];

static void on_log(void *arg, enum osal_log_level level, const char *line)
{
    (void)arg;
    if (level == OSAL_LOG_ERROR) {
        atomic_fetch_add(&driver_errors, 1);
        snprintf(last_driver_error, sizeof last_driver_error, "%s", line);
    }
}

struct totals {
    uint64_t wce_off_cuts;
    uint64_t cuts, writes, fua, sync_range, sync_all, failed;
    uint64_t blocks_checked, durable_lost, volatile_lost, volatile_kept;
    /* Unflushed loss over the run: cuts whose check found some, the most
     * one check found, and the first such LBA (with --battery good: a failure). */
    uint64_t unflushed_cuts, unflushed_max, unflushed_bad_cut, unflushed_bad_lba;
    uint64_t kept_cuts, kept_max;   /* checks that found unflushed blocks intact, and the most */
    uint64_t first_bad_cut, first_bad_lba;
    /* The driver's promises, read back through it (campaign_promises.h). */
    uint64_t host_checked, host_broken, host_bad_cut, host_bad_lba;
    uint32_t host_promised, host_found;
    enum campaign_promise_kind host_why;
};

static void progress(unsigned done, unsigned total, const struct totals *t)
{
    unsigned width = 30, fill = total ? done * width / total : width;
    fprintf(stderr, "\rscsisim campaign: [%.*s%*s] %u/%u cuts, %" PRIu64 " writes, %" PRIu64 " durable lost",
            (int)fill, "##############################", (int)(width - fill), "", done, total, t->writes,
            t->durable_lost);
    fflush(stderr);
}

static int run(int argc, char **argv)
{
    const char *cuts_s = NULL, *seed_s = NULL, *json = NULL, *core = NULL, *battery_s = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--cuts") ? &cuts_s : !strcmp(argv[i], "--seed") ? &seed_s
                          : !strcmp(argv[i], "--json") ? &json
                          : !strcmp(argv[i], "--battery") ? &battery_s
                          : !strcmp(argv[i], "--driver-core") ? &core : NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        }
        if (!strcmp(argv[i], "--quiet")) {
            quiet = true;
            continue;
        }
        if (!slot || i + 1 == argc) {
            fprintf(stderr, "scsisim campaign: %s '%s'; 'scsisim campaign --help' lists the options\n",
                    slot ? "missing value after" : "unknown option", argv[i]);
            return CLI_EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    char *end;
    unsigned long ncuts = cuts_s ? strtoul(cuts_s, &end, 10) : 100;
    if (cuts_s && (!*cuts_s || *end || ncuts == 0 || ncuts > 1000000)) {
        fprintf(stderr, "scsisim campaign: --cuts needs a number from 1 to 1000000, not '%s'\n", cuts_s);
        return CLI_EXIT_USAGE;
    }
    unsigned long long seed = seed_s ? strtoull(seed_s, &end, 10) : 1;
    if (seed_s && (!*seed_s || *end || *seed_s == '-')) {
        fprintf(stderr, "scsisim campaign: --seed needs an unsigned integer, not '%s'\n", seed_s);
        return CLI_EXIT_USAGE;
    }
    bool battery = battery_s && !strcmp(battery_s, "good");
    if (battery_s && !battery && strcmp(battery_s, "absent")) {
        fprintf(stderr, "scsisim campaign: --battery needs absent or good, not '%s'\n", battery_s);
        return CLI_EXIT_USAGE;
    }
    int rc_core = cli_driver_core_use("campaign", core);
    if (rc_core != CLI_EXIT_OK)
        return rc_core;
    if (core && (rc_core = cli_driver_core_preflight("campaign")) != CLI_EXIT_OK)
        return rc_core;
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl < 0) {
        perror("scsisim campaign: /proc/self/exe");
        return CLI_EXIT_INTERNAL;
    }
    self[sl] = '\0';
    char dir[] = "/tmp/scsisim-campaign-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("scsisim campaign: mkdtemp");
        return CLI_EXIT_INTERNAL;
    }
    struct sim_config cfg;
    sim_config_init(&cfg);
    char set[PATH_MAX + 32];
    snprintf(set, sizeof set, "media-dir=%s", dir);
    struct located_error lerr;
    char drive[128];
    snprintf(drive, sizeof drive, "drive=0:0,blocks=%u,media=disk,battery=%s", CAMPAIGN_BLOCKS,
             battery ? "good" : "absent");
    char sseed[40];
    snprintf(sseed, sizeof sseed, "seed=%llu", seed);
    if (sim_config_apply_option(&cfg, set, &lerr) || sim_config_apply_option(&cfg, drive, &lerr) ||
        sim_config_apply_option(&cfg, sseed, &lerr) || sim_config_apply_option(&cfg, "init-time=0", &lerr)) {
        fprintf(stderr, "scsisim campaign: configuration: %s\n", lerr.message);
        sim_config_free(&cfg);
        return CLI_EXIT_INTERNAL;
    }
    struct stack_options so;
    stack_options_init(&so);
    so.mode = STACK_TWO_PROCESS;
    so.spawn = true;
    so.scsisim_bin = self;
    so.osal.name = "campaign";
    so.osal.log_level = OSAL_LOG_ERROR;
    so.osal.log_sink = on_log;
    struct stack *st;
    char err[512] = "";
    int rc = stack_open(&cfg, &so, &st, err, sizeof err);
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "scsisim campaign: %s\n", err);
        return CLI_EXIT_INTERNAL;
    }
    struct totals t = { 0 };
    struct campaign_promises promises;
    uint32_t seq = 0;
    if (campaign_promises_init(&promises, CAMPAIGN_BLOCKS) < 0) {
        stack_close(st);
        fprintf(stderr, "scsisim campaign: out of memory\n");
        return CLI_EXIT_INTERNAL;
    }
    promises.battery = battery;
    char trace_path[sizeof dir + 16] = "";
    uint64_t rng = seed ^ 0xC0FFEEull;
    uint64_t t0 = clock_now_ns();
    int exit_code = CLI_EXIT_OK;
    for (unsigned long k = 1; k <= ncuts; k++) {
        /* A third of the cuts write with the write-back cache off (WCE=0:
         * every write durable); the setting survives until the next cut. */
        bool wce = rnd(&rng) % 3 != 0;
        rc = stack_set_write_cache(st, 0, 0, wce);
        if (rc < 0) {
            fprintf(stderr, "\nscsisim campaign: cut %lu: write cache %s: %s\n", k, wce ? "on" : "off",
                    strerror(-rc));
            exit_code = CLI_EXIT_INTERNAL;
            break;
        }
        t.wce_off_cuts += !wce;
        struct writer w = { .st = st, .rng = rnd(&rng), .promises = &promises, .wce = wce, .seq = seq };
        pthread_t th;
        if (pthread_create(&th, NULL, writer_main, &w) != 0) {
            fprintf(stderr, "scsisim campaign: cannot start the writer thread\n");
            exit_code = CLI_EXIT_INTERNAL;
            break;
        }
        /* The cut comes after a random number of commands (1..64), then a
         * random 0..200 us into the next one: the amount of writing per cut
         * does not depend on how fast the machine is (a time window gave a
         * loaded machine a handful of commands per cut), and the kill still
         * lands mid-write, mid-flush or mid-DMA.  2 s without an answer
         * (a writer that cannot get through) cuts anyway. */
        unsigned want = 1 + (unsigned)(rnd(&rng) % 64u);
        uint64_t give_up = clock_now_ns() + 2000000000ull;
        while (atomic_load(&w.answered) < want && clock_now_ns() < give_up) {
            struct timespec nap = { .tv_nsec = 50000 };
            nanosleep(&nap, NULL);
        }
        struct timespec d = { .tv_nsec = (long)(rnd(&rng) % 200000u) };
        nanosleep(&d, NULL);
        atomic_store(&w.killed, true);
        int krc = stack_kill_controller(st);
        int src = krc == 0 ? stack_start_controller(st, err, sizeof err) : krc;
        int rrc = src == 0 ? stack_reconnect(st, err, sizeof err) : src;
        atomic_store(&w.stop, true);
        pthread_join(th, NULL);
        seq = w.seq; /* versions keep growing across cuts */
        /* Whoever met the restart's unit attention, the next cut's flushes
         * must not promise what the killed controller's cache held. */
        campaign_promises_forfeit(&promises);
        t.cuts++;
        t.writes += w.writes, t.fua += w.fua, t.sync_range += w.sync_range, t.sync_all += w.sync_all;
        t.failed += w.failed;
        if (krc < 0 || rrc < 0)
            campaign_log_free(&w.log);
        if (krc < 0 || rrc < 0) {
            fprintf(stderr, "\nscsisim campaign: cut %lu: %s\n", k,
                    krc < 0 ? "could not kill the controller" : err);
            exit_code = CLI_EXIT_INTERNAL;
            break;
        }
        struct sim_oracle_report r;
        rc = stack_check_media(st, 0, 0, &r);
        if (rc < 0) {
            campaign_log_free(&w.log);
            fprintf(stderr, "\nscsisim campaign: cut %lu: check-media: %s\n", k, strerror(-rc));
            exit_code = CLI_EXIT_INTERNAL;
            break;
        }
        t.blocks_checked = r.blocks_checked;
        t.volatile_lost = r.volatile_lost; /* the last check's: a lost block stays lost until rewritten */
        t.volatile_kept = r.volatile_kept;
        bool unflushed_bad = false;
        t.kept_cuts += r.volatile_kept != 0;
        if (r.volatile_kept > t.kept_max)
            t.kept_max = r.volatile_kept;
        if (r.volatile_lost) {
            t.unflushed_cuts++;
            if (r.volatile_lost > t.unflushed_max)
                t.unflushed_max = r.volatile_lost;
            /* A good battery keeps every acknowledged block: any loss fails. */
            if (battery && !t.unflushed_bad_cut) {
                unflushed_bad = true;
                t.unflushed_bad_cut = k;
                t.unflushed_bad_lba = UINT64_MAX;
                for (uint32_t i = 0; i < r.n_ranges; i++)
                    if (!r.range[i].durable) {
                        t.unflushed_bad_lba = r.range[i].lba;
                        break;
                    }
            }
        }
        if (r.durable_lost && !t.durable_lost) {
            t.first_bad_cut = k;
            t.first_bad_lba = r.first_bad_lba;
            char terr[300] = "";
            snprintf(trace_path, sizeof trace_path, "%s/loss.trace", dir);
            if (campaign_trace_write(trace_path, &w.log, CAMPAIGN_BLOCKS, wce, seed, k, r.first_bad_lba, terr,
                                     sizeof terr) < 0) {
                fprintf(stderr, "\nscsisim campaign: the reproducing trace: %s\n", terr);
                trace_path[0] = '\0';
            }
        }
        /* Then the driver's own promises, read back through it. */
        struct campaign_broken br;
        rc = campaign_promises_check(&promises, st, &br);
        if (rc < 0) {
            campaign_log_free(&w.log);
            fprintf(stderr, "\nscsisim campaign: cut %lu: reading the written blocks back: %s\n", k, strerror(-rc));
            exit_code = CLI_EXIT_INTERNAL;
            break;
        }
        t.host_checked += br.checked;
        if (br.bad && !t.host_broken) {
            t.host_bad_cut = k;
            t.host_bad_lba = br.lba;
            t.host_promised = br.promised;
            t.host_found = br.found;
            t.host_why = br.why;
        }
        t.host_broken += br.bad;
        campaign_log_free(&w.log);
        t.durable_lost += r.durable_lost;
        if (!quiet && (k % 10 == 0 || k == ncuts || r.durable_lost))
            progress((unsigned)k, (unsigned)ncuts, &t);
        if (r.durable_lost || br.bad || unflushed_bad) {
            exit_code = CLI_EXIT_FAILURE;
            break;
        }
    }
    double secs = (double)(clock_now_ns() - t0) / 1e9;
    if (!quiet)
        fputc('\n', stderr);
    stack_close(st);
    campaign_promises_free(&promises);
    /* The media and its oracle journal go with the campaign's directory,
     * unless they show a loss: then they are the evidence. */
    char path[PATH_MAX + 16];
    if (t.durable_lost || t.host_broken || t.unflushed_bad_cut)
        printf("  the media and its oracle journal are kept in %s (disk, disk.oracle, disk.cache%s)\n", dir,
               trace_path[0] ? ", loss.trace" : "");
    else {
    snprintf(path, sizeof path, "%s/disk", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/disk.oracle", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/disk.cache", dir);
    unlink(path);
    rmdir(dir);
    }

    printf("scsisim campaign: %" PRIu64 " cuts in %.1f s (%.1f cuts/s), seed %llu\n", t.cuts, secs,
           secs > 0 ? (double)t.cuts / secs : 0.0, seed);
    printf("  write-back cache: off for %" PRIu64 " of the cuts, on for the rest\n", t.wce_off_cuts);
    printf("  writer: %" PRIu64 " writes completed (%" PRIu64 " with FUA), %" PRIu64 " range flushes, %" PRIu64
           " full flushes sent, %" PRIu64 " commands failed around the cuts\n",
           t.writes, t.fua, t.sync_range, t.sync_all, t.failed);
    printf("  durable blocks lost: %" PRIu64 " (of %" PRIu64 " blocks written, checked after the last cut)\n",
           t.durable_lost, t.blocks_checked);
    printf("  unflushed blocks (battery %s), as the last check counts them: %" PRIu64 " lost, %" PRIu64
           " kept; over the run: loss found after %" PRIu64 " of the cuts (at most %" PRIu64
           " blocks at once), unflushed blocks found intact after %" PRIu64 " (at most %" PRIu64 ")\n",
           battery ? "good" : "absent", t.volatile_lost, t.volatile_kept, t.unflushed_cuts, t.unflushed_max,
           t.kept_cuts, t.kept_max);
    printf("  the driver's promises, read back through it after each cut: %" PRIu64 " of %" PRIu64
           " blocks older than the version it acknowledged as durable\n", t.host_broken, t.host_checked);
    printf("  driver errors logged around the cuts: %" PRIu64 "\n", (uint64_t)atomic_load(&driver_errors));
    if (exit_code != CLI_EXIT_OK && last_driver_error[0])
        printf("  last driver error: %s\n", last_driver_error);
    if (t.durable_lost)
        printf("  DURABLE LOSS at cut %" PRIu64 ", first bad LBA %" PRIu64
               "; reproduce with: scsisim campaign --cuts %" PRIu64 " --seed %llu\n",
               t.first_bad_cut, t.first_bad_lba, t.first_bad_cut, seed);
    if (t.host_broken)
        printf("  BROKEN PROMISE at cut %" PRIu64 ": LBA %" PRIu64 " was acknowledged durable (%s) at version %" PRIu32
               " and reads back as %s %" PRIu32 " (the controller was never told, or the driver lost it in "
               "recovery); reproduce with: scsisim campaign --cuts %" PRIu64 " --seed %llu%s%s\n",
               t.host_bad_cut, t.host_bad_lba, campaign_promise_name(t.host_why), t.host_promised,
               t.host_found ? "version" : "not a written block, version",
               t.host_found, t.host_bad_cut, seed, core ? " --driver-core " : "", core ? core : "");
    if (t.unflushed_bad_cut) {
        if (t.unflushed_bad_lba != UINT64_MAX)
            printf("  UNFLUSHED LOSS WITH A GOOD BATTERY at cut %" PRIu64 ", first lost LBA %" PRIu64
                   "; reproduce with: scsisim campaign --battery good --cuts %" PRIu64 " --seed %llu\n",
                   t.unflushed_bad_cut, t.unflushed_bad_lba, t.unflushed_bad_cut, seed);
        else
            printf("  UNFLUSHED LOSS WITH A GOOD BATTERY at cut %" PRIu64
                   "; reproduce with: scsisim campaign --battery good --cuts %" PRIu64 " --seed %llu\n",
                   t.unflushed_bad_cut, t.unflushed_bad_cut, seed);
    }
    if (trace_path[0])
        printf("  a trace of that cut's commands reproduces it in one process: scsisim run %s\n", trace_path);
    if (json) {
        FILE *f = strcmp(json, "-") ? fopen(json, "w") : stdout;
        if (!f) {
            fprintf(stderr, "scsisim campaign: --json %s: %s\n", json, strerror(errno));
            return exit_code == CLI_EXIT_OK ? CLI_EXIT_INTERNAL : exit_code;
        }
        fprintf(f,
                "{\"cuts\":%" PRIu64 ",\"wce_off_cuts\":%" PRIu64 ",\"seconds\":%.3f,\"cuts_per_second\":%.2f,\"seed\":%llu,\"writes\":%" PRIu64
                ",\"fua_writes\":%" PRIu64 ",\"range_flushes\":%" PRIu64 ",\"full_flushes\":%" PRIu64
                ",\"caught_by_a_cut\":%" PRIu64 ",\"blocks_checked\":%" PRIu64 ",\"durable_lost\":%" PRIu64
                ",\"battery\":\"%s\",\"unflushed_lost\":%" PRIu64 ",\"unflushed_kept\":%" PRIu64
                ",\"unflushed_loss_cuts\":%" PRIu64 ",\"unflushed_lost_max\":%" PRIu64 ",\"first_unflushed_cut\":%" PRIu64
                ",\"first_unflushed_lba\":%" PRId64 ",\"unflushed_kept_cuts\":%" PRIu64 ",\"unflushed_kept_max\":%" PRIu64 ",\"driver_errors\":%" PRIu64
                ",\"first_bad_cut\":%" PRIu64 ",\"first_bad_lba\":%" PRIu64 ",\"promises_checked\":%" PRIu64
                ",\"promises_broken\":%" PRIu64 ",\"first_broken_cut\":%" PRIu64 ",\"first_broken_lba\":%" PRIu64 "}\n",
                t.cuts, t.wce_off_cuts, secs, secs > 0 ? (double)t.cuts / secs : 0.0, seed, t.writes, t.fua, t.sync_range,
                t.sync_all, t.failed, t.blocks_checked, t.durable_lost, battery ? "good" : "absent", t.volatile_lost,
                t.volatile_kept, t.unflushed_cuts, t.unflushed_max, t.unflushed_bad_cut,
                t.unflushed_bad_cut && t.unflushed_bad_lba != UINT64_MAX ? (int64_t)t.unflushed_bad_lba : (int64_t)-1,
                t.kept_cuts, t.kept_max,
                (uint64_t)atomic_load(&driver_errors), t.first_bad_cut, t.first_bad_lba, t.host_checked, t.host_broken,
                t.host_bad_cut, t.host_bad_lba);
        if (f != stdout)
            fclose(f);
    }
    return exit_code;
}

const struct cli_command cli_cmd_campaign = {
    .name = "campaign",
    .summary = "power-cut campaign: SIGKILL the controller process at random instants, check every durable block",
    .run = run,
};
