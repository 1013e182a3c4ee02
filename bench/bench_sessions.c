/* bench/bench_sessions.c — many concurrent iSCSI sessions against one target.
 *
 * Logs N sessions in (one libiscsi context each, one initiator name each),
 * reads each LU's capacity, then keeps one 4 KiB READ(16) in flight per session at random LBAs for SECONDS,
 * all sessions served from one poll() loop.  Prints the login rate, the
 * reads per second over all sessions, the read latency percentiles and how
 * many sessions got anything but GOOD.  Issue 13 asks for this at 1000
 * sessions: a target that scales its nexuses must also serve them.
 *
 * Usage: bench_sessions iscsi://HOST:PORT/IQN/LUN [SESSIONS=1000] [SECONDS=5]
 * (bench/sessions.sh starts `scsisim serve` and runs it). */
#include <errno.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fd_limit.h"
#include "bench/bench_util.h"

struct session {
    struct iscsi_context *iscsi;
    int lun;
    uint64_t blocks;   /* of the LU, for the random LBAs */
    double issued_at;
    uint64_t rng;
};

static struct {
    uint64_t reads, errors;
    double *lat_us;
    size_t nlat, caplat;
    int stopping;
} g;

static void issue(struct session *s);

static void read_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
    (void)iscsi;
    struct session *s = private_data;
    if (command_data)
        scsi_free_scsi_task(command_data);
    if (status == SCSI_STATUS_GOOD) {
        g.reads++;
        if (g.nlat == g.caplat) {
            size_t cap = g.caplat ? 2 * g.caplat : 1u << 16;
            double *n = realloc(g.lat_us, cap * sizeof(*n));
            if (n) {
                g.lat_us = n;
                g.caplat = cap;
            }
        }
        if (g.nlat < g.caplat)
            g.lat_us[g.nlat++] = (bench_now_s() - s->issued_at) * 1e6;
    } else {
        g.errors++;
    }
    if (!g.stopping)
        issue(s);
}

static void issue(struct session *s)
{
    uint64_t lba = bench_rng_next(&s->rng) % (s->blocks > 8 ? s->blocks - 8 : 1);
    s->issued_at = bench_now_s();
    if (!iscsi_read16_task(s->iscsi, s->lun, lba & ~7ull, 4096, 512, 0, 0, 0, 0, 0, read_done, s))
        g.errors++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (!g.nlat)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(g.nlat - 1));
    return g.lat_us[i];
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bench_sessions iscsi://HOST:PORT/IQN/LUN [SESSIONS=1000] [SECONDS=5]\n");
        return 2;
    }
    const char *url = argv[1];
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    double secs = argc > 3 ? strtod(argv[3], NULL) : 5.0;
    if (n < 1 || n > 100000 || secs <= 0) {
        fprintf(stderr, "bench_sessions: SESSIONS must be 1..100000 and SECONDS > 0\n");
        return 2;
    }
    if (fd_limit_raise((rlim_t)n + 64, NULL) < 0) { /* one descriptor per session, and a few to spare */
        fprintf(stderr, "bench_sessions: %ld sessions need %ld open files; raise ulimit -Hn\n", n, n + 64);
        return 2;
    }
    struct session *ss = calloc((size_t)n, sizeof(*ss));
    struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
    if (!ss || !pfd)
        return 1;

    double t0 = bench_now_s();
    for (long i = 0; i < n; i++) {
        char name[96];
        snprintf(name, sizeof(name), "iqn.2026-12.org.scsisim:bench-sessions-%ld", i);
        struct iscsi_context *c = iscsi_create_context(name);
        struct iscsi_url *u = c ? iscsi_parse_full_url(c, url) : NULL;
        if (!u) {
            fprintf(stderr, "bench_sessions: session %ld: %s\n", i, c ? iscsi_get_error(c) : "out of memory");
            return 1;
        }
        iscsi_set_session_type(c, ISCSI_SESSION_NORMAL);
        iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE);
        if (iscsi_full_connect_sync(c, u->portal, u->lun) != 0) {
            fprintf(stderr, "bench_sessions: login %ld of %ld failed: %s\n", i + 1, n, iscsi_get_error(c));
            return 1;
        }
        ss[i] = (struct session){ .iscsi = c, .lun = u->lun, .rng = 0x5e551045ull + (uint64_t)i };
        iscsi_destroy_url(u);
    }
    double t_login = bench_now_s() - t0;

    /* (libiscsi's full connect already took each session's power-on unit
     * attention with a TEST UNIT READY of its own.) */
    for (long i = 0; i < n; i++) {
        struct scsi_task *t = iscsi_readcapacity16_sync(ss[i].iscsi, ss[i].lun);
        struct scsi_readcapacity16 *rc16 = t && t->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(t) : NULL;
        if (!rc16) {
            fprintf(stderr, "bench_sessions: session %ld: READ CAPACITY(16) failed: %s\n", i, iscsi_get_error(ss[i].iscsi));
            return 1;
        }
        ss[i].blocks = rc16->returned_lba + 1;
        scsi_free_scsi_task(t);
    }

    double start = bench_now_s(), end = start + secs;
    for (long i = 0; i < n; i++)
        issue(&ss[i]);
    while (bench_now_s() < end) {
        for (long i = 0; i < n; i++)
            pfd[i] = (struct pollfd){ .fd = iscsi_get_fd(ss[i].iscsi), .events = (short)iscsi_which_events(ss[i].iscsi) };
        if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR)
            return 1;
        for (long i = 0; i < n; i++)
            if (pfd[i].revents && iscsi_service(ss[i].iscsi, pfd[i].revents) < 0) {
                fprintf(stderr, "bench_sessions: session %ld: %s\n", i, iscsi_get_error(ss[i].iscsi));
                return 1;
            }
    }
    double elapsed = bench_now_s() - start;
    uint64_t reads = g.reads, errors = g.errors;
    g.stopping = 1;

    qsort(g.lat_us, g.nlat, sizeof(double), cmp_double);
    printf("sessions: %ld logged in in %.2f s (%.0f logins/s)\n", n, t_login, (double)n / t_login);
    printf("4 KiB READ(16), one in flight per session, %.1f s: %" PRIu64 " reads, %.0f reads/s, %" PRIu64
           " not GOOD\n", elapsed, reads, (double)reads / elapsed, errors);
    printf("latency us: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n", pct(50), pct(90), pct(99), pct(100));
    for (long i = 0; i < n; i++) {
        iscsi_logout_sync(ss[i].iscsi);
        iscsi_destroy_context(ss[i].iscsi);
    }
    free(ss);
    free(pfd);
    free(g.lat_us);
    return errors ? 1 : 0;
}
