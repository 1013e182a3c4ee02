/* bench/bench_bus_twoproc.c — what the two-process bus costs: an IOMMU map + unmap
 * pair with the controller in another process (against the same pair in one
 * process; either way the tables are in host RAM and the unmap waits for the
 * IOMMU's invalidation, woken through a futex — no socket message), a host's
 * connect + disconnect, and the recovery from a controller SIGKILL (restart
 * the process, reconnect; the mappings stay in force in host RAM).
 *
 *   build/bench/bench_bus_twoproc [map-pairs] [connections] [kills] [mappings]
 *
 * Defaults: 20000 pairs, 500 connections, 20 kills with 64 mappings to
 * replay.  The controller is $SCSISIM_BIN, else ../scsisim next to this
 * program's directory.  Prints microseconds per operation.  Exit 1 if an
 * operation fails, 2 on bad arguments, 3 if the controller cannot start. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "platform/bus.h"
#include "platform/bus_client.h"
#include "sim/sim.h"

#define RAM_BYTES (64u << 20)

static double now_us(void)
{
    return (double)clock_now_ns() / 1e3;
}

static void die(int code, const char *what)
{
    fprintf(stderr, "bench_bus_twoproc: %s\n", what);
    exit(code);
}

static const char *binary(void)
{
    static char path[PATH_MAX + 16];
    const char *env = getenv("SCSISIM_BIN");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        die(3, "cannot find myself in /proc/self/exe");
    self[n] = '\0';
    snprintf(path, sizeof(path), "%s/../scsisim", dirname(self));
    return path;
}

/* Starts the controller and waits for its "listening" line. */
static pid_t start(const char *sock)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        die(3, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], STDOUT_FILENO);
        execl(binary(), binary(), "controller", "--socket", sock, "--set", "init-time=0", "--drive",
              "0:0,blocks=2048", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[256];
    size_t got = 0;
    while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
        struct pollfd pf = { .fd = p[0], .events = POLLIN };
        ssize_t n = poll(&pf, 1, 10000) > 0 ? read(p[0], line + got, sizeof(line) - 1 - got) : -1;
        if (n <= 0)
            die(3, "the controller did not start (is build/scsisim built?)");
        got += (size_t)n;
    }
    close(p[0]);
    return pid;
}

static void reap(pid_t pid, int sig)
{
    kill(pid, sig);
    waitpid(pid, NULL, 0);
}

static double map_pairs(struct bus *b, long n)
{
    double t0 = now_us();
    for (long i = 0; i < n; i++) {
        if (bus_iommu_map(b, 0x40000000ull, 0x100000, 8192, HBA_DMA_FROM_DEVICE) != 0 ||
            bus_iommu_unmap(b, 0x40000000ull, 8192) != 0)
            die(1, "an IOMMU map or unmap failed");
    }
    return (now_us() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long pairs = argc > 1 ? atol(argv[1]) : 20000;
    long conns = argc > 2 ? atol(argv[2]) : 500;
    long kills = argc > 3 ? atol(argv[3]) : 20;
    long maps = argc > 4 ? atol(argv[4]) : 64;
    if (argc > 5 || pairs < 1 || conns < 1 || kills < 1 || maps < 0 || maps > 1000) {
        fprintf(stderr, "usage: bench_bus_twoproc [map-pairs] [connections] [kills] [mappings <= 1000]\n");
        return 2;
    }
    char dir[] = "/tmp/scsisim-bench-bus-twoproc-XXXXXX";
    if (!mkdtemp(dir))
        die(3, "mkdtemp");
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/ctrl.sock", dir);
    char err[256] = "";

    /* In one process, for comparison. */
    struct sim_config cfg;
    sim_config_init(&cfg);
    cfg.host_ram_bytes = RAM_BYTES;
    struct sim_ctrl *ctrl;
    struct bus *local;
    if (sim_ctrl_create(&cfg, &ctrl, err, sizeof(err)) < 0)
        die(3, err);
    if (bus_attach(sim_ctrl_attach_info(ctrl), NULL, &local) < 0)
        die(3, "bus_attach");
    double local_us = map_pairs(local, pairs);
    bus_detach(local);
    sim_ctrl_destroy(ctrl);
    sim_config_free(&cfg);

    pid_t pid = start(sock);
    struct bus *b;
    if (bus_remote_connect(sock, -1, RAM_BYTES, &b, err, sizeof(err)) < 0)
        die(3, err);
    double remote_us = map_pairs(b, pairs);
    bus_detach(b);

    double t0 = now_us();
    for (long i = 0; i < conns; i++) {
        if (bus_remote_connect(sock, -1, 1u << 20, &b, err, sizeof(err)) < 0)
            die(1, err);
        bus_detach(b);
    }
    double conn_us = (now_us() - t0) / (double)conns;

    if (bus_remote_connect(sock, -1, RAM_BYTES, &b, err, sizeof(err)) < 0)
        die(1, err);
    for (long i = 0; i < maps; i++)
        if (bus_iommu_map(b, 0x80000000ull + (uint64_t)i * 8192, (uint64_t)i * 4096, 4096, HBA_DMA_TO_DEVICE) != 0)
            die(1, "map");
    double restart_us = 0, reconnect_us = 0;
    for (long i = 0; i < kills; i++) {
        reap(pid, SIGKILL);
        while (!bus_is_dead(b))
            usleep(50);
        double a = now_us();
        pid = start(sock);
        double m = now_us();
        if (bus_remote_reconnect(b, NULL, err, sizeof(err)) < 0)
            die(1, err);
        double z = now_us();
        restart_us += m - a;
        reconnect_us += z - m;
    }
    bus_detach(b);
    reap(pid, SIGTERM);
    unlink(sock);
    rmdir(dir);

    printf("IOMMU map+unmap pair: %.2f us in one process, %.2f us in two (tables in host RAM, %ld pairs)\n", local_us,
           remote_us, pairs);
    printf("host connect+disconnect: %.1f us (%ld cycles, 1 MiB host RAM)\n", conn_us, conns);
    printf("after SIGKILL: process restart %.0f us, reconnect with %ld mappings in force %.0f us (%ld kills)\n",
           restart_us / (double)kills, maps, reconnect_us / (double)kills, kills);
    return 0;
}
