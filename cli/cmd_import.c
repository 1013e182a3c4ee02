/* cli/cmd_import.c — `scsisim import`: packet captures of iSCSI (and of USB
 * mass storage, from Linux usbmon) to a scsitrace
 * (capture/capture.h; docs/capture.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "cli/commands.h"
#include "conformance/replay/trace_sim.h"
#include "conformance/report/judge.h"

static const char usage_text[] =
    "usage: scsisim import CAPTURE... [-o TRACE] [--port N] [--usb auto|bot|uas] [--no-infer]\n"
    "                      [--match LEVEL]\n"
    "\n"
    "Reads packet captures (pcap or pcapng, as tcpdump -w, tshark -w, dumpcap -w and\n"
    "Wireshark write them) of iSCSI over TCP and writes one scsitrace that\n"
    "`scsisim run` replays.  Several files are read in the order given, as one\n"
    "capture ('-': standard input, a pipe).  Every TCP connection is reassembled\n"
    "(retransmissions, out-of-order segments, PDUs across segments); each I_T\n"
    "nexus becomes nexus H:0:T:L with its initiator and target names in a comment;\n"
    "SCSI Command, R2T, Data-Out, Data-In and SCSI Response become CMD, DOUT, DIN\n"
    "and STATUS records (with sense), task management becomes TMF records, logins,\n"
    "logouts and NOPs comments.\n"
    "\n"
    "USB mass storage is read from Linux usbmon captures (tcpdump -i usbmonN, tshark,\n"
    "Wireshark: link types USB_LINUX and USB_LINUX_MMAPPED), Bulk-Only Transport:\n"
    "each CBW, its data stage and CSW become CMD, DOUT/DIN and STATUS (CSW status 1\n"
    "with the sense of the host's REQUEST SENSE, 2 (phase error) as SERVICE_FAILURE,\n"
    "the residue as resid=); each device is its own nexus.  USB Attached SCSI (UAS):\n"
    "each Command IU, its data and its Sense IU become CMD, DIN/DOUT and STATUS,\n"
    "Task Management and Response IUs TMF records; READ READY / WRITE READY IUs\n"
    "(USB 2) say which command data belongs to.  On USB 3 (bulk streams) usbmon\n"
    "records no stream ID: data moved while two or more commands are in flight\n"
    "cannot be attributed, and the import stops with an error naming the packet.\n"
    "\n"
    "What the capture lost is imported, not refused: a comment names the packets;\n"
    "data not captured is '?\?' (data-out: zeros), a command without an observed\n"
    "response gets 'STATUS UNKNOWN', which matches whatever happens.\n"
    "\n"
    "The device's INQUIRY, VPD 80h, READ CAPACITY and MODE SENSE answers in the\n"
    "capture become the trace's @drive settings (vendor, product, revision, serial,\n"
    "block size, capacity, write cache), so the simulator answers as that device.\n"
    "Data that differs between runs and between units of one model is written as\n"
    "'?\?' with a comment: INQUIRY vendor specific bytes 36..55, the VPD 80h serial\n"
    "number, VPD 83h designators, REPORT TIMESTAMP's time stamp.  The trace judges at\n"
    "the exact level unless --match says otherwise.\n"
    "\n"
    "  -o, --output TRACE  write the trace here (default: standard output); the\n"
    "                      written trace is parsed back as a check\n"
    "  --port N            the iSCSI target port (default 3260); connections on other\n"
    "                      ports are recognised by the shape of their first PDU\n"
    "  --usb auto|bot|uas  how USB mass storage devices are read (default auto: a\n"
    "                      device whose first bulk-out transfer is a CBW is\n"
    "                      Bulk-Only, one whose first is a UAS Command IU is UAS)\n"
    "  --no-infer          keep the simulator's default device settings\n"
    "  --match LEVEL       write '@match LEVEL' (exact, status or masks): the level the\n"
    "                      trace is judged at unless 'run --match' overrides it;\n"
    "                      status replays a capture of another device against the\n"
    "                      simulator\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 imported; 2 bad option, or a file that is not a usable capture\n"
    "(\"FILE: error: ... at packet N ... byte offset X\" on stderr); 3 the trace could\n"
    "not be written.  docs/capture.md has a worked example.\n";

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error("import", fmt, arg);
}

static int run(int argc, char **argv)
{
    struct capture_options opt = { .port = CAPTURE_DEFAULT_PORT };
    const char *output = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n = 0;
    if (!files) {
        fputs("scsisim import: out of memory\n", stderr);
        return CLI_EXIT_INTERNAL;
    }
    int rc = CLI_EXIT_OK;
    bool dashdash = false;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !a[1]) {
            files[n++] = a;
        } else if (!strcmp(a, "--")) {
            dashdash = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            free(files);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "--usb") || !strncmp(a, "--usb=", 6)) {
            const char *v = a[5] == '=' ? a + 6 : i + 1 < argc ? argv[++i] : NULL;
            if (v && !strcmp(v, "auto"))
                opt.usb = CAPTURE_USB_AUTO;
            else if (v && !strcmp(v, "bot"))
                opt.usb = CAPTURE_USB_BOT;
            else if (v && !strcmp(v, "uas"))
                opt.usb = CAPTURE_USB_UAS;
            else
                rc = usage_error("--usb needs auto, bot or uas, not '%s'", v ? v : "");
        } else if (!strcmp(a, "--no-infer")) {
            opt.no_infer = true;
        } else if (!strcmp(a, "--match") || !strncmp(a, "--match=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || trace_match_level_parse(v, &opt.match) < 0)
                rc = usage_error("--match needs exact, status or masks, not '%s'", v ? v : "");
            opt.match_given = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strncmp(a, "--output=", 9)) {
            output = a[1] == '-' && a[8] == '=' ? a + 9 : i + 1 < argc ? argv[++i] : NULL;
            if (!output || !*output)
                rc = usage_error("%s needs a file name (-o capture.trace)", a);
        } else if (!strcmp(a, "--port") || !strncmp(a, "--port=", 7)) {
            const char *v = a[6] == '=' ? a + 7 : i + 1 < argc ? argv[++i] : NULL;
            char *end = NULL;
            long port = v ? strtol(v, &end, 10) : 0;
            if (!v || !*v || *end || port < 1 || port > 65535)
                rc = usage_error("--port needs a TCP port 1..65535, got '%s'", v ? v : "");
            else
                opt.port = (uint16_t)port;
        } else {
            rc = usage_error("unknown option '%s'", a);
        }
    }
    if (rc == CLI_EXIT_OK && n == 0)
        rc = usage_error("no capture file given%s", "");
    if (rc != CLI_EXIT_OK) {
        free(files);
        return rc;
    }
    FILE *out = output ? fopen(output, "w") : stdout;
    if (!out) {
        fprintf(stderr, "scsisim import: %s: cannot create it: %s\n", output, strerror(errno));
        free(files);
        return CLI_EXIT_INTERNAL;
    }
    struct capture_stats st;
    struct located_error err;
    int e = capture_import(files, n, &opt, out, &st, &err);
    if (output && fclose(out) != 0 && e == 0)
        e = -EIO;
    free(files);
    if (e) {
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        fprintf(stderr, "scsisim import: %s\n", msg[0] ? msg : strerror(-e));
        if (output)
            remove(output);
        return e == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
    }
    if (output) {
        /* The trace must be one `scsisim run` accepts: parse it back. */
        struct trace *t = NULL;
        struct located_error perr;
        if (trace_parse_file(output, &t, &perr)) {
            char msg[1024];
            located_format(&perr, msg, sizeof msg);
            fprintf(stderr, "scsisim import: internal error: the trace written does not parse: %s\n", msg);
            return CLI_EXIT_INTERNAL;
        }
        trace_free(t);
        fprintf(stderr, "scsisim import: %s: %llu packets, %llu connections, %llu USB devices, %llu nexuses, "
                "%llu commands "
                "(%llu without a response), %llu with data not captured, %llu TMFs, %llu notes\n", output,
                (unsigned long long)st.packets, (unsigned long long)st.connections, (unsigned long long)st.usb_devices,
                (unsigned long long)st.nexuses,
                (unsigned long long)st.commands, (unsigned long long)st.incomplete,
                (unsigned long long)st.uncaptured, (unsigned long long)st.tmfs, (unsigned long long)st.notes);
    }
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_import = {
    .name = "import",
    .summary = "import iSCSI and usbmon packet captures (pcap, pcapng) as a trace",
    .run = run,
};
