/* bench/bench_import.c — `scsisim import` throughput and memory
 * (capture/capture.h: capture_import).
 *
 * Makes its own capture: one iSCSI session over TCP written with libpcap's
 * writer (capture/cap_wire.h, as `scsisim export` writes), alternating
 * READ (10) — Data-In PDUs of 8 KiB, the status in the last one — and WRITE
 * (10) — R2Ts of 256 KiB, Data-Out PDUs of 8 KiB, a SCSI Response — of
 * `--transfer-kib` each, until the file holds `--mb` MB.  The data is 4 KiB
 * blocks, alternately zeros and pseudo-random bytes (a disk's mix), so the
 * trace gets both long runs and hex.  Then a child process imports the file
 * into /dev/null; the figures are its wall and CPU time, MB/s of capture
 * read, and
 * its peak resident set (ru_maxrss), which should follow the longest
 * transfer, not the file size: `--mb 128` and `--mb 1024` should show about
 * the same.
 *
 *   build/bench/bench_import [--mb N] [--transfer-kib N] [--keep FILE]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "capture/cap_wire.h"
#include "capture/capture.h"
#include "host/iscsi_pdu.h"
#include "scsi/scsi.h"

#define DSL   8192u
#define BURST (256u << 10)

struct gen {
    struct cap_wire *w;
    struct cap_wire_conn k;
    uint32_t cmdsn, statsn;
    uint64_t rng;
    uint64_t bytes;   /* iSCSI bytes written */
    uint8_t  pdu[ISCSI_BHS_LEN + DSL];
};

static void send_pdu(struct gen *g, int dir, uint32_t dlen)
{
    iscsi_bhs_set_dlength(g->pdu, dlen);
    cap_wire_send(g->w, &g->k, dir, g->pdu, ISCSI_BHS_LEN + dlen + iscsi_pad4(dlen));
    g->bytes += ISCSI_BHS_LEN + dlen + iscsi_pad4(dlen);
}

static uint8_t *bhs(struct gen *g, uint8_t op, uint8_t flags, uint32_t itt)
{
    memset(g->pdu, 0, ISCSI_BHS_LEN);
    g->pdu[0] = op;
    g->pdu[1] = flags;
    scsi_put_be32(g->pdu + 16, itt);
    return g->pdu;
}

/* Data of buffer offset off: 4 KiB blocks, zeros and pseudo-random by turns. */
static void fill(struct gen *g, uint8_t *p, uint64_t off, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 8) {
        uint64_t v = ((off + i) / 4096) % 2 ? bench_rng_next(&g->rng) : 0;
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void login(struct gen *g)
{
    static const char keys[] = "InitiatorName=iqn.2026-01.org.scsisim.bench:i\0TargetName=iqn.2026-01.org."
                               "scsisim.bench:t\0SessionType=Normal\0HeaderDigest=None\0DataDigest=None\0";
    uint8_t *b = bhs(g, ISCSI_OP_IMMEDIATE | ISCSI_OP_LOGIN_REQ, 0x87, 0x40000000u);
    memcpy(g->pdu + ISCSI_BHS_LEN, keys, sizeof keys);
    b[8] = 0x80;
    send_pdu(g, 0, sizeof keys);
    bhs(g, ISCSI_OP_LOGIN_RSP, 0x87, 0x40000000u);
    static const char rsp[] = "HeaderDigest=None\0DataDigest=None\0";
    memcpy(g->pdu + ISCSI_BHS_LEN, rsp, sizeof rsp);
    send_pdu(g, 1, sizeof rsp);
}

static void command(struct gen *g, uint32_t itt, bool write, uint32_t len)
{
    uint8_t *b = bhs(g, ISCSI_OP_SCSI_CMD, 0x81 | (write ? 0x20 : 0x40), itt);
    scsi_put_be32(b + 20, len);
    scsi_put_be32(b + 24, g->cmdsn++);
    uint8_t *cdb = b + 32;
    cdb[0] = write ? 0x2a : 0x28;
    scsi_put_be32(cdb + 2, itt * (len / 512));
    scsi_put_be16(cdb + 7, (uint16_t)(len / 512));
    send_pdu(g, 0, 0);
    uint32_t datasn = 0;
    for (uint32_t off = 0; off < len;) {
        uint32_t burst = write ? (len - off > BURST ? BURST : len - off) : len;
        if (write) {
            b = bhs(g, ISCSI_OP_R2T, 0x80, itt);
            scsi_put_be32(b + 20, itt);
            scsi_put_be32(b + 40, off);
            scsi_put_be32(b + 44, burst);
            send_pdu(g, 1, 0);
        }
        for (uint32_t done = 0; done < burst; done += DSL) {
            uint32_t n = burst - done > DSL ? DSL : burst - done;
            bool last = done + n == burst;
            b = bhs(g, write ? ISCSI_OP_DATA_OUT : ISCSI_OP_DATA_IN,
                    last ? (write ? 0x80 : 0x81) : 0, itt); /* F, and S on the last Data-In */
            scsi_put_be32(b + 36, datasn++);
            scsi_put_be32(b + 40, off + done);
            if (!write && last)
                scsi_put_be32(b + 24, g->statsn++);
            fill(g, g->pdu + ISCSI_BHS_LEN, off + done, n);
            send_pdu(g, write ? 0 : 1, n);
        }
        off += burst;
    }
    if (write) {
        b = bhs(g, ISCSI_OP_SCSI_RSP, 0x80, itt);
        scsi_put_be32(b + 24, g->statsn++);
        send_pdu(g, 1, 0);
    }
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int main(int argc, char **argv)
{
    uint64_t mb = 1024, kib = 1024;
    const char *keep = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--transfer-kib") && i + 1 < argc)
            kib = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
            keep = argv[++i];
        else {
            fprintf(stderr, "usage: bench_import [--mb N] [--transfer-kib N] [--keep FILE]\n");
            return 2;
        }
    }
    if (!mb || !kib || kib > 16384 || kib % 4) {
        fprintf(stderr, "bench_import: --mb > 0, --transfer-kib a multiple of 4 in 4..16384\n");
        return 2;
    }
    char path[256];
    snprintf(path, sizeof path, "%s", keep ? keep : "/tmp/bench_import.XXXXXX");
    if (!keep) {
        int fd = mkstemp(path);
        if (fd < 0) {
            perror("mkstemp");
            return 3;
        }
        close(fd);
    }
    char ebuf[512];
    struct gen *g = calloc(1, sizeof *g);
    if (!g || !(g->w = cap_wire_open(path, CAP_WIRE_PCAP, ebuf))) {
        fprintf(stderr, "bench_import: %s: %s\n", path, g ? ebuf : "out of memory");
        return 3;
    }
    g->rng = 42;
    const uint8_t ini[4] = { 10, 0, 0, 1 }, tgt[4] = { 10, 0, 0, 2 };
    memcpy(g->k.addr[0], ini, 4);
    memcpy(g->k.addr[1], tgt, 4);
    g->k.port[0] = 40000;
    g->k.port[1] = 3260;
    double t0 = bench_now_s();
    cap_wire_connect(g->w, &g->k);
    login(g);
    uint32_t itt = 1, len = (uint32_t)(kib * 1024);
    uint64_t target = mb * 1000000u, commands = 0;
    for (; g->bytes < target; itt++, commands++)
        command(g, itt, itt % 2 == 0, len);
    cap_wire_disconnect(g->w, &g->k);
    uint64_t packets = cap_wire_packets(g->w);
    if (cap_wire_close(g->w)) {
        fprintf(stderr, "bench_import: writing %s failed\n", path);
        return 3;
    }
    free(g);
    uint64_t bytes = file_size(path);
    printf("capture: %s, %.1f MB, %llu packets, %llu commands of %llu KiB (made in %.1f s)\n", path, bytes / 1e6,
           (unsigned long long)packets, (unsigned long long)commands, (unsigned long long)kib, bench_now_s() - t0);
    fflush(stdout);

    int pfd[2];
    if (pipe(pfd)) {
        perror("pipe");
        return 3;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        FILE *out = fopen("/dev/null", "w");
        const char *files[1] = { path };
        struct capture_stats st;
        struct located_error err;
        double s0 = bench_now_s();
        int rc = capture_import(files, 1, NULL, out, &st, &err);
        double secs = bench_now_s() - s0;
        fclose(out);
        char msg[256];
        int n = snprintf(msg, sizeof msg, "%d %.6f %llu %llu %s", rc, secs, (unsigned long long)st.commands,
                         (unsigned long long)st.notes, rc ? err.message : "");
        if (write(pfd[1], msg, (size_t)n) != n)
            _exit(3);
        _exit(rc ? 1 : 0);
    }
    close(pfd[1]);
    char msg[256] = "";
    ssize_t got = read(pfd[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = '\0';
    struct rusage ru;
    int status = 0;
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("wait4");
        return 3;
    }
    int rc = 0;
    double secs = 0;
    unsigned long long cmds = 0, notes = 0;
    sscanf(msg, "%d %lf %llu %llu", &rc, &secs, &cmds, &notes);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || rc) {
        fprintf(stderr, "bench_import: the import failed: %s\n", msg);
        return 1;
    }
    /* CPU time too: on a shared machine the wall time includes waiting for a core. */
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    printf("import: %.2f s, %.0f MB/s (%.0f MiB/s), peak RSS %.1f MiB, %llu commands, %llu notes\n", secs,
           bytes / 1e6 / secs, bytes / 1048576.0 / secs, ru.ru_maxrss / 1024.0, cmds, notes);
    printf("cpu: %.2f s (user+system), %.0f MB per CPU second\n", cpu, bytes / 1e6 / cpu);
    if (!keep)
        unlink(path);
    return 0;
}
