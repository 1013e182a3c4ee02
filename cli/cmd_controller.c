/* cli/cmd_controller.c — `scsisim controller`: a simulated controller in a
 * process of its own, served to one host at a time on a Unix socket (the
 * two-process bus: sim/bus/bus_server.h, docs/bus-protocol.md).  Killing it with
 * SIGKILL is a power cut; SIGINT / SIGTERM stop it in order. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "cli/commands.h"
#include "cli/firmware_opt.h"
#include "cli/media_opts.h"
#include "cli/options.h"
#include "sim/bus/bus_server.h"
#include "sim/sim.h"
#include "stack/ctl_server.h"

static const char usage_text[] =
    "usage: scsisim controller --socket PATH [--ctl SOCKET] [--verbose] [--media-dir DIR] [--force]\n"
    "                          [--firmware PATH.so]\n"
    "                          [--set KEY=VALUE | --drive T:L,KEY=VALUE,...]... [FILE]\n"
    "\n"
    "Runs a simulated controller in this process and serves it on the Unix socket\n"
    "PATH to one host (a driver's process) at a time: the host hands over its RAM,\n"
    "receives the controller's registers and interrupt eventfds, and sends test\n"
    "controls over the socket (docs/bus-protocol.md); it programs the IOMMU in its\n"
    "own RAM (translation tables and invalidation queue, docs/controller.md 17.4).\n"
    "\n"
    "  --socket PATH              where to listen; a stale socket left by a killed\n"
    "                             controller is replaced\n"
    "  --ctl SOCKET               live control on this second Unix socket (mode\n"
    "                             0600): fault rules, power, stats ('scsisim ctl',\n"
    "                             docs/faults.md)\n"
    "  --set KEY=VALUE            a controller key, as for 'scsisim config'\n"
    "  --drive T:L[,KEY=VALUE]... a drive, as for 'scsisim config'; give drives a\n"
    "                             media=NAME to keep their data across restarts\n"
    "                             (give --media-dir: the default directory goes away)\n"
    CLI_MEDIA_HELP
    CLI_FIRMWARE_HELP
    "  --verbose                  log connections and rejected messages on stderr\n"
    "  -h, --help                 this text\n"
    "\n"
    "The configuration is built as by 'scsisim config' (docs/config.md); host-ram is\n"
    "the host's choice here.  When ready the command prints one line on stdout:\n"
    "  scsisim controller: listening on PATH\n"
    "A host that disconnects leaves the controller shut down in order (caches\n"
    "flushed) until the next host.  SIGINT or SIGTERM: the same, then the socket is\n"
    "removed and the command exits.  SIGKILL is a power cut: dirty cache lines are\n"
    "lost, media files keep what was flushed; the host sees the hang-up and may\n"
    "reconnect to a controller restarted on the same PATH.\n"
    "\n"
    "Exit status: 0 stopped by SIGINT or SIGTERM; 1 flushing the caches at the stop\n"
    "failed; 2 bad option, configuration, media file or socket path (in use by\n"
    "another controller, not a socket, too long); 3 could not run (system error).\n";

struct stopper {
    struct bus_server *server;
    struct ctl_server *ctl;
    uv_signal_t sig[2];
    int stop_rc;
    bool stopped;
};

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    struct stopper *st = h->data;
    if (st->stopped)
        return;
    st->stopped = true;
    st->stop_rc = bus_server_stop(st->server);
    ctl_server_stop(st->ctl);
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&st->sig[i], NULL);
}

static int exit_code_for(int rc)
{
    return rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
}

static int serve(struct sim_ctrl *ctrl, const char *path, const char *ctl_path, bool verbose)
{
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        fprintf(stderr, "scsisim controller: event loop: %s\n", uv_strerror(rc));
        return CLI_EXIT_INTERNAL;
    }
    struct stopper st = { .stop_rc = 0 };
    char err[256] = "";
    rc = bus_server_start(&loop, ctrl, path, &st.server, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "scsisim controller: %s\n", err);
        uv_loop_close(&loop);
        return exit_code_for(rc);
    }
    if (verbose)
        bus_server_set_log(st.server, stderr);
    if (ctl_path && (rc = ctl_server_start_ctrl(&loop, ctl_path, ctrl, &st.ctl, err, sizeof(err))) < 0) {
        fprintf(stderr, "scsisim controller: --ctl %s: %s\n", ctl_path, err);
        bus_server_stop(st.server);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return exit_code_for(rc);
    }
    const int signums[2] = { SIGINT, SIGTERM };
    for (int i = 0; i < 2; i++) {
        uv_signal_init(&loop, &st.sig[i]);
        st.sig[i].data = &st;
        uv_signal_start(&st.sig[i], on_signal, signums[i]);
    }
    printf("scsisim controller: listening on %s\n", path);
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "scsisim controller: event loop still had handles at exit\n");
    if (st.stop_rc < 0) {
        fprintf(stderr, "scsisim controller: flushing the caches at the stop failed: %s\n", strerror(-st.stop_rc));
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int run(int argc, char **argv)
{
    const char *path = NULL, *ctl_path = NULL;
    bool verbose = false;
    struct cli_media media = { 0 };
    const char *firmware = NULL;   /* read by cli_firmware_prescan */
    const struct cli_opt opts[] = {
        { .name = "--socket", .value = &path, .example = "--socket /tmp/scsisim.sock" },
        { .name = "--ctl", .value = &ctl_path, .example = "--ctl /tmp/scsisim.ctl" },
        { .name = "--verbose", .flag = &verbose },
        CLI_MEDIA_OPTS(media),
        CLI_FIRMWARE_OPT(firmware),
        { .name = NULL },
    };
    int rc = cli_media_prescan("controller", argc, argv);
    if (rc == CLI_EXIT_OK)
        rc = cli_firmware_prescan("controller", argc, argv);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct sim_config cfg;
    rc = cli_config_from_args("controller", usage_text, argc, argv, opts, &cfg);
    if (rc == CLI_HELP_SHOWN)
        return CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_firmware_check("controller", &cfg)) != CLI_EXIT_OK) {
        sim_config_free(&cfg);
        return rc;
    }
    if (!path) {
        fprintf(stderr, "scsisim controller: --socket PATH is required; 'scsisim controller --help' says more\n");
        sim_config_free(&cfg);
        return CLI_EXIT_USAGE;
    }
    /* A host or a reader of our stdout going away must not kill the
     * controller: every write checks its result instead. */
    signal(SIGPIPE, SIG_IGN);
    char err[256] = "";
    struct sim_ctrl *ctrl;
    rc = sim_ctrl_create(&cfg, &ctrl, err, sizeof(err));
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "scsisim controller: %s\n", err[0] ? err : strerror(-rc));
        return exit_code_for(rc);
    }
    rc = serve(ctrl, path, ctl_path, verbose);
    sim_ctrl_destroy(ctrl);
    return rc;
}

const struct cli_command cli_cmd_controller = {
    .name = "controller",
    .summary = "run a simulated controller served on a Unix socket (two-process bus)",
    .run = run,
};
