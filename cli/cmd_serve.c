/* cli/cmd_serve.c — `scsisim serve`: the whole stack behind an iSCSI target,
 * so real initiators (iscsi-test-cu, qemu, the Linux initiator) drive the
 * driver core and the simulated controller:
 *
 *   initiator ──TCP──▶ host/iscsi_target (libuv, this thread)
 *                        └▶ host/backend_stack ──▶ driver core ──▶ controller
 *
 * Each controller target with drives becomes one iSCSI target node whose LUNs
 * are the controller's LUNs (device mode: the firmware answers everything).
 * With --record every command the front-end passes down is written as a
 * scsitrace (conformance/replay/record.h) that `scsisim run` can replay. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "base/fd_limit.h"
#include "cli/commands.h"
#include "cli/firmware_opt.h"
#include "cli/media_opts.h"
#include "cli/driver_core_opt.h"
#include "cli/options.h"
#include "conformance/replay/record.h"
#include "stack/ctl_server.h"
#include "stack/stack.h"
#include "host/backend_stack.h"
#include "host/iscsi_target.h"

#define SERVE_DEFAULT_IQN "iqn.2025-01.org.scsisim:sim"

static const char usage_text[] =
    "usage: scsisim serve [--listen HOST:PORT] [--target-name IQN] [--chap USER:SECRET]\n"
    "                     [--allow INITIATOR-IQN[,...]] [--record FILE] [--verbose]\n"
    "                     [--login-timeout S] [--pdu-timeout S] [--max-sessions-per-initiator N]\n"
    "                     [--header-digest any|crc32c|none] [--data-digest any|crc32c|none]\n"
    "                     [--loops N]\n"
    "                     [--media-dir DIR] [--media-max SIZE] [--force]\n"
    "                     [--driver-core PATH.so] [--firmware PATH.so] [--ctl SOCKET]\n"
    "                     [--set KEY=VALUE | --drive T:L,KEY=VALUE,...]... [CONFIG]\n"
    "\n"
    "Serves a simulated controller to iSCSI initiators: every SCSI command goes\n"
    "through the driver core to the controller, whose firmware answers it.\n"
    "\n"
    "  --listen HOST:PORT         where to listen (default 127.0.0.1:3260; never all\n"
    "                             addresses unless asked: 0.0.0.0 or [::]); PORT 0\n"
    "                             picks a free port (printed at start).  Given up to\n"
    "                             4 times: multipath, one portal per --listen, each a\n"
    "                             target port in a target port group of its own\n"
    "                             (TargetPortalGroupTag 1, 2, ...; ALUA active/\n"
    "                             optimized); sets the target-ports key to their number\n"
    "  --target-name IQN          the target's iSCSI name (default " SERVE_DEFAULT_IQN ");\n"
    "                             with drives on several controller targets, target T\n"
    "                             is IQN:tT\n"
    "  --chap USER:SECRET         initiators must authenticate with CHAP, for\n"
    "                             normal and discovery sessions alike\n"
    "  --allow IQN[,IQN...]       only these initiator names may log in\n"
    "  --record FILE              write every command passed down as a scsitrace\n"
    "                             (replay it with 'scsisim run FILE')\n"
    "  --login-timeout S          close a connection still logging in after S\n"
    "                             seconds (default 15; 0: never)\n"
    "  --pdu-timeout S            close a connection whose PDU, once begun, has not\n"
    "                             all arrived after S seconds: a peer trickling\n"
    "                             bytes (default 30; 0: never)\n"
    "  --max-sessions-per-initiator N  sessions one initiator name may hold at once\n"
    "                             (default 16; 0: no limit); a login past it, or past\n"
    "                             the controller's 4095 I_T nexus ids, is refused with\n"
    "                             status 0302h (out of resources)\n"
    "  --header-digest P, --data-digest P  CRC32C digests on headers, on data:\n"
    "                             any (default: as the initiator prefers), crc32c\n"
    "                             (required: a login that offers only None fails)\n"
    "                             or none\n"
    "  --loops N                  event loops serving connections (1 to 16; default:\n"
    "                             one per online CPU, at most 16): loop 0 listens and\n"
    "                             hands each new connection, round robin, to a loop\n"
    "                             that runs it to its end on a thread of its own\n"
    "                             (docs/iscsi.md \"Event loops\"); 1 runs everything\n"
    "                             on one thread\n"
    "  --verbose                  log logins, connections (and their loop) and errors\n"
    "                             on stderr\n"
    "  --ctl SOCKET               live control on this Unix socket (mode 0600):\n"
    "                             fault rules, power, stats ('scsisim ctl',\n"
    "                             docs/faults.md)\n"
    "  --driver-core PATH.so      serve through the driver core loaded from PATH.so\n"
    "                             (docs/porting.md; default $SCSISIM_DRIVER_CORE, else\n"
    "                             the built-in core); a bad core is exit 2\n"
    "  --set, --drive, CONFIG     the controller, as for 'scsisim config'\n"
    "                             (docs/config.md); default: one 512 MiB drive 0:0\n"
    "                             of 512-byte blocks\n"
    CLI_MEDIA_HELP
    CLI_FIRMWARE_HELP
    "  -h, --help                 this text\n"
    "\n"
    "When ready it prints, on stdout, one line per LUN and portal (first portal first):\n"
    "  scsisim serve: iscsi://127.0.0.1:3260/" SERVE_DEFAULT_IQN "/0\n"
    "SIGINT or SIGTERM end every session, flush the controller's caches, close\n"
    "the record file and exit.  docs/iscsi.md has the negotiation defaults.\n"
    "\n"
    "Exit status: 0 stopped by a signal; 2 bad option, configuration or address\n"
    "(in use, not local); 3 could not run (system error).\n";

struct serve {
    uv_loop_t loop;
    struct stack *st;
    struct backend_stack *bs;
    struct iscsi_target *target;
    struct trace_recorder *rec;
    struct ctl_server *ctl;
    uv_signal_t sig[2];
    bool stopping;
};

static void log_line(void *arg, enum iscsi_target_log_level level, const char *msg)
{
    (void)arg;
    static const char *const names[] = { "error", "warning", "info", "debug" };
    fprintf(stderr, "scsisim serve: %s: %s\n", names[level <= ISCSI_TLOG_DEBUG ? level : 0], msg);
}

static void on_target_closed(void *arg)
{
    struct serve *s = arg;
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&s->sig[i], NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    if (s->stopping)
        return;
    s->stopping = true;
    fprintf(stderr, "scsisim serve: %s: closing the sessions\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    ctl_server_stop(s->ctl);
    s->ctl = NULL;
    iscsi_target_close(s->target, on_target_closed, s);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" into host (cap bytes) and port. */
/* Every connection is a descriptor: raise the soft RLIMIT_NOFILE toward what
 * `want` connections need (plus the stack's own descriptors), up to the hard
 * limit.  Where the hard limit is lower, fewer connections are accepted, and
 * the log says so rather than failing accept() at random later. */
static unsigned connection_budget(unsigned want)
{
    enum { OWN_FDS = 64 };
    rlim_t now = 0;
    if (fd_limit_raise((rlim_t)want + OWN_FDS, &now) == 0 || now == 0)
        return want;
    unsigned fit = now > OWN_FDS ? (unsigned)(now - OWN_FDS) : 1u;
    fprintf(stderr, "scsisim serve: the open-file limit (ulimit -n %llu) allows %u connections, not %u; "
                    "raise the hard limit (ulimit -Hn) for more sessions\n",
            (unsigned long long)now, fit, want);
    return fit;
}

static int parse_listen(const char *arg, char *host, size_t cap, uint16_t *port)
{
    const char *colon;
    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        if ((size_t)(close - arg - 1) >= cap)
            return -EINVAL;
        memcpy(host, arg + 1, (size_t)(close - arg - 1));
        host[close - arg - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(arg, ':');
        if (!colon || (size_t)(colon - arg) >= cap)
            return -EINVAL;
        memcpy(host, arg, (size_t)(colon - arg));
        host[colon - arg] = '\0';
        if (!host[0])
            snprintf(host, cap, "127.0.0.1");
    }
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || p > 65535)
        return -EINVAL;
    *port = (uint16_t)p;
    return 0;
}

/* Controller targets that have drives, ascending; returns how many. */
static size_t drive_targets(const struct sim_config *cfg, uint16_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->lu_count; i++) {
        uint16_t t = cfg->lus[i].target;
        size_t at = 0;
        while (at < n && out[at] < t)
            at++;
        if (at < n && out[at] == t)
            continue;
        memmove(out + at + 1, out + at, (n - at) * sizeof(*out));
        out[at] = t;
        n++;
    }
    return n;
}

static void node_name(char *buf, size_t cap, const char *iqn, size_t ntargets, uint16_t target)
{
    if (ntargets == 1)
        snprintf(buf, cap, "%s", iqn);
    else
        snprintf(buf, cap, "%s:t%u", iqn, target);
}

static void print_urls(const struct sim_config *cfg, const char *host, int port, const char *iqn,
                       const uint16_t *targets, size_t ntargets)
{
    bool v6 = strchr(host, ':') != NULL;
    for (size_t k = 0; k < ntargets; k++) {
        char name[ISCSI_NAME_MAX + 1];
        node_name(name, sizeof(name), iqn, ntargets, targets[k]);
        for (unsigned lun = 0; lun < cfg->max_luns; lun++)
            if (sim_config_find_lu(cfg, targets[k], (uint16_t)lun))
                printf("scsisim serve: iscsi://%s%s%s:%d/%s/%u\n", v6 ? "[" : "", host, v6 ? "]" : "", port, name,
                       lun);
    }
    fflush(stdout);
}

/* --listen may be given once per portal (multipath); the option parser keeps
 * the last, so the list comes from argv, in order. */
#define SERVE_PORTALS_MAX ISCSI_TARGET_PORTALS_MAX
static size_t collect_listens(int argc, char **argv, const char **out)
{
    size_t n = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            v = argv[++i];
        else if (!strncmp(argv[i], "--listen=", 9))
            v = argv[i] + 9;
        else if ((!strcmp(argv[i], "--set") || !strcmp(argv[i], "--drive")) && i + 1 < argc)
            i++;   /* a value, not an option */
        if (v && n < SERVE_PORTALS_MAX + 1)
            out[n++] = v;   /* one past the limit, so the caller can refuse it */
    }
    return n;
}

struct serve_args {
    const char *listens[SERVE_PORTALS_MAX + 1];
    size_t nlisten;
    const char *driver_core;
    const char *firmware;   /* read by cli_firmware_prescan; here for the option parser */
    const char *listen, *iqn, *chap, *allow, *record, *per_initiator, *login_timeout, *pdu_timeout, *ctl;
    const char *header_digest, *data_digest, *loops;
    bool verbose;
};

/* --loops: N event loops, 1 to ISCSI_TARGET_LOOPS_MAX; by default one per
 * online CPU (as many as fit).  0 or CLI_EXIT_USAGE. */
static int parse_loops(const char *v, unsigned *out)
{
    if (!v) {
        unsigned n = uv_available_parallelism();
        *out = n < 1 ? 1 : n > ISCSI_TARGET_LOOPS_MAX ? ISCSI_TARGET_LOOPS_MAX : n;
        return 0;
    }
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || n < 1 || n > ISCSI_TARGET_LOOPS_MAX) {
        fprintf(stderr, "scsisim serve: --loops needs a number of event loops from 1 to %d, not '%s'\n",
                ISCSI_TARGET_LOOPS_MAX, v);
        return CLI_EXIT_USAGE;
    }
    *out = (unsigned)n;
    return 0;
}

/* Nodes, CHAP and access lists on the target.  0 or CLI_EXIT_*. */
static int add_nodes(struct serve *s, const struct serve_args *a, const uint16_t *targets, size_t ntargets)
{
    char user[ISCSI_SECRET_MAX + 1] = "", secret[ISCSI_SECRET_MAX + 1] = "";
    if (a->chap) {
        const char *colon = strchr(a->chap, ':');
        if (!colon || colon == a->chap || !colon[1] || (size_t)(colon - a->chap) > ISCSI_SECRET_MAX ||
            strlen(colon + 1) > ISCSI_SECRET_MAX) {
            fprintf(stderr, "scsisim serve: --chap %s: expected USER:SECRET (each at most %d characters)\n", a->chap,
                    ISCSI_SECRET_MAX);
            return CLI_EXIT_USAGE;
        }
        memcpy(user, a->chap, (size_t)(colon - a->chap));
        snprintf(secret, sizeof(secret), "%s", colon + 1);
        /* Discovery (SendTargets) names every target: it needs CHAP as well. */
        if (iscsi_target_set_discovery_chap(s->target, user, secret) < 0) {
            fprintf(stderr, "scsisim serve: --chap: cannot use this user or secret\n");
            return CLI_EXIT_USAGE;
        }
    }
    for (size_t k = 0; k < ntargets; k++) {
        char name[ISCSI_NAME_MAX + 1];
        node_name(name, sizeof(name), a->iqn, ntargets, targets[k]);
        struct iscsi_node *node;
        int rc = iscsi_target_add_node(s->target, name, NULL, &node);
        if (rc < 0) {
            fprintf(stderr, "scsisim serve: --target-name %s: %s\n", a->iqn,
                    rc == -EINVAL ? "not a valid iSCSI name (iqn.YYYY-MM.reversed.domain[:name], at most 223 "
                                    "characters)"
                                  : strerror(-rc));
            return CLI_EXIT_USAGE;
        }
        struct scsi_backend *be = backend_stack_target(s->bs, targets[k]);
        if (!be || iscsi_node_set_device(node, be) < 0) {
            fprintf(stderr, "scsisim serve: out of memory\n");
            return CLI_EXIT_INTERNAL;
        }
        if (a->chap && iscsi_node_set_chap(node, user, secret) < 0) {
            fprintf(stderr, "scsisim serve: --chap: cannot use this user or secret\n");
            return CLI_EXIT_USAGE;
        }
        if (a->allow) {
            char *list = strdup(a->allow), *save = NULL;
            if (!list)
                return CLI_EXIT_INTERNAL;
            for (char *one = strtok_r(list, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
                if (iscsi_node_allow_initiator(node, one) < 0) {
                    fprintf(stderr, "scsisim serve: --allow %s: not a valid iSCSI name\n", one);
                    free(list);
                    return CLI_EXIT_USAGE;
                }
            }
            free(list);
        }
    }
    return CLI_EXIT_OK;
}

static int serve_run(struct serve *s, struct sim_config *cfg, const struct serve_args *a)
{
    char hosts[SERVE_PORTALS_MAX][64];
    uint16_t ports[SERVE_PORTALS_MAX] = { 3260 };
    size_t nportals = a->nlisten ? a->nlisten : 1;
    if (nportals > SERVE_PORTALS_MAX) {
        fprintf(stderr, "scsisim serve: --listen given %zu times: at most %d portals\n", nportals,
                SERVE_PORTALS_MAX);
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < a->nlisten; i++) {
        if (parse_listen(a->listens[i], hosts[i], sizeof(hosts[i]), &ports[i]) < 0) {
            fprintf(stderr, "scsisim serve: --listen %s: expected HOST:PORT (e.g. 127.0.0.1:3260 or [::1]:3260)\n",
                    a->listens[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (!a->nlisten)
        snprintf(hosts[0], sizeof(hosts[0]), "127.0.0.1");
    char *host = hosts[0];
    uint16_t port = ports[0];
    if (nportals > 1)
        cfg->target_ports = (uint32_t)nportals;   /* each portal is a target port */

    uint16_t targets[SIM_MAX_TARGETS_LIMIT];
    size_t ntargets = drive_targets(cfg, targets);
    if (ntargets == 0) {
        fprintf(stderr, "scsisim serve: the configuration has no drive to serve\n");
        return CLI_EXIT_USAGE;
    }

    char err[256] = "";
    struct stack_options so;
    stack_options_init(&so);
    so.osal.name = "serve";
    int rc = stack_open(cfg, &so, &s->st, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "scsisim serve: %s\n", err);
        return rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
    }
    if (backend_stack_create(s->st, NULL, &s->bs, err, sizeof(err)) < 0) {
        fprintf(stderr, "scsisim serve: %s\n", err);
        return CLI_EXIT_INTERNAL;
    }
    if (a->record) {
        rc = trace_recorder_open(a->record, cfg, &s->rec, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "scsisim serve: --record %s: %s\n", a->record, err);
            return rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
        }
        backend_stack_set_observer(s->bs, trace_recorder_observe, s->rec);
    }

    struct iscsi_target_options o;
    iscsi_target_options_init(&o);
    o.host = host;
    o.port = port;
    o.conn_buffer_bytes = 32u << 20; /* DMA memory: host RAM is shared by every connection */
    /* Seconds, 0 (off) to a day. */
    const struct { const char *flag, *value; uint32_t *ms; } timeouts[] = {
        { "--login-timeout", a->login_timeout, &o.login_timeout_ms },
        { "--pdu-timeout", a->pdu_timeout, &o.pdu_timeout_ms },
    };
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        if (!timeouts[i].value)
            continue;
        char *end;
        unsigned long sec = strtoul(timeouts[i].value, &end, 10);
        if (!*timeouts[i].value || *end || sec > 86400) {
            fprintf(stderr, "scsisim serve: %s needs whole seconds from 0 (off) to 86400, not '%s'\n",
                    timeouts[i].flag, timeouts[i].value);
            return CLI_EXIT_USAGE;
        }
        *timeouts[i].ms = (uint32_t)sec * 1000u;
    }
    if (a->per_initiator) {
        char *end;
        unsigned long n = strtoul(a->per_initiator, &end, 10);
        if (!*a->per_initiator || *end || n > 65535) {
            fprintf(stderr, "scsisim serve: --max-sessions-per-initiator needs a number from 0 (no limit) to 65535, "
                    "not '%s'\n", a->per_initiator);
            return CLI_EXIT_USAGE;
        }
        o.max_sessions_per_initiator = (unsigned)n;
    }
    const struct { const char *flag, *value; enum iscsi_digest_policy *policy; } digests[] = {
        { "--header-digest", a->header_digest, &o.header_digest },
        { "--data-digest", a->data_digest, &o.data_digest },
    };
    for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++) {
        const char *v = digests[i].value;
        if (!v)
            continue;
        if (strcasecmp(v, "any") == 0)
            *digests[i].policy = ISCSI_DIGEST_POLICY_ANY;
        else if (strcasecmp(v, "crc32c") == 0)
            *digests[i].policy = ISCSI_DIGEST_POLICY_CRC32C;
        else if (strcasecmp(v, "none") == 0)
            *digests[i].policy = ISCSI_DIGEST_POLICY_NONE;
        else {
            fprintf(stderr, "scsisim serve: %s needs any, crc32c or none, not '%s'\n", digests[i].flag, v);
            return CLI_EXIT_USAGE;
        }
    }
    if (parse_loops(a->loops, &o.loops) != 0)
        return CLI_EXIT_USAGE;
    o.log = log_line;
    o.log_level = a->verbose ? ISCSI_TLOG_INFO : ISCSI_TLOG_WARN;
    o.max_connections = connection_budget(o.max_connections);
    rc = iscsi_target_create(&s->loop, &o, &s->target);
    if (rc < 0) {
        fprintf(stderr, "scsisim serve: cannot create the iSCSI target: %s\n", strerror(-rc));
        return CLI_EXIT_INTERNAL;
    }
    rc = add_nodes(s, a, targets, ntargets);
    if (rc != CLI_EXIT_OK)
        return rc;
    for (size_t i = 1; i < nportals; i++) {
        if (iscsi_target_add_portal(s->target, hosts[i], ports[i]) < 0) {
            fprintf(stderr, "scsisim serve: --listen %s: not an address to listen on\n", a->listens[i]);
            return CLI_EXIT_USAGE;
        }
    }
    rc = iscsi_target_listen(s->target);
    if (rc < 0) {
        fprintf(stderr, "scsisim serve: cannot listen on %s:%u%s: %s\n", host, port,
                nportals > 1 ? " (or another --listen)" : "", uv_strerror(rc));
        return rc == UV_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
    }
    if (a->ctl) {
        rc = ctl_server_start_stack(&s->loop, a->ctl, s->st, &s->ctl, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "scsisim serve: --ctl %s: %s\n", a->ctl, err);
            return rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
        }
    }
    const int signums[2] = { SIGINT, SIGTERM };
    for (int i = 0; i < 2; i++) {
        uv_signal_init(&s->loop, &s->sig[i]);
        s->sig[i].data = s;
        uv_signal_start(&s->sig[i], on_signal, signums[i]);
    }
    for (size_t i = 0; i < nportals; i++)
        print_urls(cfg, hosts[i], iscsi_target_portal_port(s->target, (unsigned)i), a->iqn, targets, ntargets);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return CLI_EXIT_OK;
}

static int run(int argc, char **argv)
{
    struct serve_args a = { .iqn = SERVE_DEFAULT_IQN };
    a.nlisten = collect_listens(argc, argv, a.listens);
    struct cli_media media = { 0 };
    const struct cli_opt opts[] = {
        { .name = "--listen", .value = &a.listen, .example = "--listen 127.0.0.1:3260" },
        { .name = "--target-name", .value = &a.iqn, .example = "--target-name " SERVE_DEFAULT_IQN },
        { .name = "--chap", .value = &a.chap, .example = "--chap user:secret12345" },
        { .name = "--allow", .value = &a.allow, .example = "--allow iqn.2025-01.org.example:host1" },
        { .name = "--record", .value = &a.record, .example = "--record session.trace" },
        { .name = "--login-timeout", .value = &a.login_timeout, .example = "--login-timeout 15" },
        { .name = "--pdu-timeout", .value = &a.pdu_timeout, .example = "--pdu-timeout 30" },
        { .name = "--max-sessions-per-initiator", .value = &a.per_initiator,
          .example = "--max-sessions-per-initiator 4" },
        { .name = "--header-digest", .value = &a.header_digest, .example = "--header-digest crc32c" },
        { .name = "--data-digest", .value = &a.data_digest, .example = "--data-digest crc32c" },
        { .name = "--loops", .value = &a.loops, .example = "--loops 2" },
        { .name = "--verbose", .flag = &a.verbose },
        { .name = "--ctl", .value = &a.ctl, .example = "--ctl /tmp/scsisim.ctl" },
        CLI_MEDIA_OPTS(media),
        { .name = "--driver-core", .value = &a.driver_core, .example = "--driver-core ./mycore.so" },
        CLI_FIRMWARE_OPT(a.firmware),
        { .name = NULL },
    };
    int rc = cli_media_prescan("serve", argc, argv);
    if (rc == CLI_EXIT_OK)
        rc = cli_firmware_prescan("serve", argc, argv);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct sim_config cfg;
    rc = cli_config_from_args("serve", usage_text, argc, argv, opts, &cfg);
    if (rc == CLI_HELP_SHOWN)
        return CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((rc = cli_firmware_check("serve", &cfg)) != CLI_EXIT_OK ||
        (rc = cli_driver_core_use("serve", a.driver_core)) != CLI_EXIT_OK) {
        sim_config_free(&cfg);
        return rc;
    }
    /* An initiator that hangs up mid-write must not kill the server. */
    signal(SIGPIPE, SIG_IGN);
    struct serve s;
    memset(&s, 0, sizeof(s));
    if (uv_loop_init(&s.loop) < 0) {
        sim_config_free(&cfg);
        return CLI_EXIT_INTERNAL;
    }
    rc = serve_run(&s, &cfg, &a);
    sim_config_free(&cfg);
    ctl_server_stop(s.ctl); /* a setup error after --ctl opened: the loop below closes it */
    s.ctl = NULL;
    if (s.target) {
        if (!s.stopping) {
            /* Not stopped by a signal (a setup error, a failed listen
             * included): closing tidies up whatever was opened. */
            s.stopping = true;
            iscsi_target_close(s.target, NULL, NULL);
        }
        uv_run(&s.loop, UV_RUN_DEFAULT); /* lets closing handles finish */
        iscsi_target_destroy(s.target);
    }
    /* Order: no more commands (target closed), then the host side, then the
     * stack (its stop flushes the controller's caches), then the record. */
    backend_stack_destroy(s.bs);
    stack_close(s.st);
    if (s.rec) {
        int wrc = trace_recorder_close(s.rec);
        if (wrc < 0 && rc == CLI_EXIT_OK) {
            fprintf(stderr, "scsisim serve: --record: writing the trace failed: %s\n", strerror(-wrc));
            rc = CLI_EXIT_INTERNAL;
        }
    }
    if (uv_loop_close(&s.loop) != 0)
        fprintf(stderr, "scsisim serve: event loop still had handles at exit\n");
    return rc;
}

const struct cli_command cli_cmd_serve = {
    .name = "serve",
    .summary = "serve the simulated controller to iSCSI initiators (the whole stack)",
    .run = run,
};
