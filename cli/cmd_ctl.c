/* cli/cmd_ctl.c — `scsisim ctl SOCKET COMMAND...`: one command to the live
 * control socket of a running `scsisim serve --ctl` or `scsisim controller
 * --ctl` (stack/ctl_server.h), its JSON answer on stdout. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/tbuf.h"
#include "cli/commands.h"

static const char usage_text[] =
    "usage: scsisim ctl SOCKET COMMAND [ARG]...\n"
    "\n"
    "Sends one command to the control socket of a running 'scsisim serve --ctl\n"
    "SOCKET' or 'scsisim controller --ctl SOCKET' and prints its answer, one line\n"
    "of JSON.  Commands (docs/faults.md):\n"
    "  inject RULE...             add a fault rule, e.g.\n"
    "                             inject medium drive=0:0 lba=100 count=8\n"
    "                             inject latency op=read dist=exp time=2ms\n"
    "                             inject reorder op=read window=4 step=1ms\n"
    "                             (medium, every-nth, latency, hang, busy, lose,\n"
    "                             duplicate, reorder, spurious, iommu-fault, fatal,\n"
    "                             write-protect; the controller's own: admin-refuse,\n"
    "                             reset-fail, irq-lost; actions: capacity, remove,\n"
    "                             insert, io-error, reopen, battery)\n"
    "  clear                      remove every fault rule\n"
    "  list                       the rules and how often each fired\n"
    "  power-cut [all|random|torn] [seed=N]\n"
    "  power-on\n"
    "  stats                      per opcode and drive: commands, bytes, injected\n"
    "                             errors, latency percentiles; per drive: cache\n"
    "                             hits, dirty lines, write-backs, line records\n"
    "  set T:L battery=absent|good|failed\n"
    "  set T:L write-cache=on|off  the drive's write-back cache (WCE)\n"
    "  set T:L blocks=N           change the capacity (unit attention 2Ah/09h)\n"
    "  check-media T:L            the durability oracle's verdict\n"
    "  lun add T:L [blocks=N] [block-size=512|4096]\n"
    "                             a new drive appears (memory media); its target's\n"
    "                             other drives report 3Fh/0Eh\n"
    "  lun remove T:L             surprise removal of the drive (3Fh/0Eh likewise)\n"
    "  help\n"
    "\n"
    "Exit status: 0 the answer says ok; 1 it says why not; 2 bad usage; 3 no\n"
    "controller answers on SOCKET.\n";

#define ANSWER_MAX (256u * 1024u) /* stats of all 256 opcodes and 64 drives fit */
#define ANSWER_TIMEOUT_MS 30000

static int run(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 3) {
        fprintf(stderr, "scsisim ctl: give the socket and a command, e.g. scsisim ctl /tmp/scsisim.ctl stats; "
                        "'scsisim ctl --help' lists the commands\n");
        return CLI_EXIT_USAGE;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "scsisim ctl: %s: socket path longer than %zu bytes\n", argv[1], sizeof sa.sun_path - 1);
        return CLI_EXIT_USAGE;
    }
    memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
    struct tbuf line = { 0 };
    for (int i = 2; i < argc; i++) {
        if (strpbrk(argv[i], "\n\r")) {
            fprintf(stderr, "scsisim ctl: argument %d holds a line break: one command is one line\n", i - 1);
            tbuf_free(&line);
            return CLI_EXIT_USAGE;
        }
        tbuf_printf(&line, "%s%s", i > 2 ? " " : "", argv[i]);
    }
    tbuf_putc(&line, '\n');
    if (line.oom) {
        tbuf_free(&line);
        return CLI_EXIT_INTERNAL;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "scsisim ctl: %s: %s (is 'scsisim serve --ctl %s' or 'scsisim controller --ctl %s' "
                        "running?)\n", argv[1], strerror(errno), argv[1], argv[1]);
        if (fd >= 0)
            close(fd);
        tbuf_free(&line);
        return CLI_EXIT_INTERNAL;
    }
    size_t off = 0;
    while (off < line.len) {
        ssize_t n = send(fd, line.s + off, line.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "scsisim ctl: %s: sending the command: %s\n", argv[1], strerror(errno));
            close(fd);
            tbuf_free(&line);
            return CLI_EXIT_INTERNAL;
        }
        off += (size_t)n;
    }
    tbuf_free(&line);
    static char answer[ANSWER_MAX];
    size_t got = 0;
    while (got < ANSWER_MAX - 1 && !memchr(answer, '\n', got)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int pr = poll(&p, 1, ANSWER_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            fprintf(stderr, "scsisim ctl: %s: no answer within %d s\n", argv[1], ANSWER_TIMEOUT_MS / 1000);
            close(fd);
            return CLI_EXIT_INTERNAL;
        }
        ssize_t n = recv(fd, answer + got, ANSWER_MAX - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    char *nl = memchr(answer, '\n', got);
    if (!nl) {
        fprintf(stderr, "scsisim ctl: %s: the answer ended before its end of line\n", argv[1]);
        return CLI_EXIT_INTERNAL;
    }
    *nl = '\0';
    puts(answer);
    return strncmp(answer, "{\"ok\":true", 10) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

const struct cli_command cli_cmd_ctl = {
    .name = "ctl",
    .summary = "send a live-control command (faults, power, stats) to a running serve or controller",
    .run = run,
};
