/* cli/cmd_export.c — `scsisim export`: a trace as an iSCSI packet capture
 * Wireshark reads (capture/capture.h: capture_export; docs/capture.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "cli/commands.h"
#include "conformance/replay/trace_sim.h"

static const char usage_text[] =
    "usage: scsisim export TRACE -o OUT.pcapng|OUT.pcap\n"
    "\n"
    "Writes the host-layer (H) records of a scsitrace as the iSCSI session that\n"
    "would carry them, in a capture that Wireshark and tshark decode as iSCSI\n"
    "(tshark -r OUT.pcapng -Y iscsi): one TCP connection per I_T nexus of the trace,\n"
    "with a login, SCSI Command, R2T and Data-Out for DOUT, Data-In for DIN, SCSI\n"
    "Response with sense and residual for STATUS, Task Management Function\n"
    "Request/Response for TMF, and a logout; TCP sequence numbers and checksums\n"
    "are valid.  `scsisim import OUT.pcapng` reads it back (docs/capture.md,\n"
    "\"Exporting\", says what the round trip keeps).\n"
    "\n"
    "The format follows the name: OUT.pcapng is pcapng (one section, one Ethernet\n"
    "interface with nanosecond timestamps, an Enhanced Packet Block per packet),\n"
    "any other name pcap (libpcap's writer).  Wireshark and tshark read both.\n"
    "\n"
    "Not written, and counted on stderr: directives (power-loss, inject, ...),\n"
    "controller-layer (C) and wire-layer (W) records, which have no iSCSI form of\n"
    "their own here.  A STATUS UNKNOWN sends no response; bytes a pattern leaves\n"
    "open (??, masks) are written as zeros.\n"
    "\n"
    "  -o, --output FILE   the capture (required): *.pcapng is pcapng, else pcap\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 written; 2 bad option or a trace that does not parse;\n"
    "3 the capture could not be written.\n";

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error("export", fmt, arg);
}

static int run(int argc, char **argv)
{
    const char *trace = NULL, *output = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strncmp(a, "--output=", 9)) {
            output = a[1] == '-' && a[8] == '=' ? a + 9 : i + 1 < argc ? argv[++i] : NULL;
            if (!output || !*output)
                return usage_error("%s needs a file name (-o trace.pcapng)", a);
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (trace) {
            return usage_error("one trace at a time; '%s' is a second one", a);
        } else {
            trace = a;
        }
    }
    if (!trace)
        return usage_error("no trace given%s", "");
    if (!output)
        return usage_error("no output file given (-o %s.pcapng)", "OUT");
    struct trace *t = NULL;
    struct located_error err;
    if (trace_parse_file(trace, &t, &err)) {
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        fprintf(stderr, "scsisim export: %s\n", msg);
        return CLI_EXIT_USAGE;
    }
    struct capture_export_stats st;
    int rc = capture_export(t, output, &st, &err);
    trace_free(t);
    if (rc) {
        char msg[1024];
        located_format(&err, msg, sizeof msg);
        fprintf(stderr, "scsisim export: %s\n", msg);
        remove(output);
        return CLI_EXIT_INTERNAL;
    }
    fprintf(stderr, "scsisim export: %s: %llu packets, %llu iSCSI PDUs, %llu connections, %llu commands "
            "(%llu without a response), %llu TMFs; not written: %llu directives, %llu controller- or "
            "wire-layer records\n",
            output, (unsigned long long)st.packets, (unsigned long long)st.pdus,
            (unsigned long long)st.connections, (unsigned long long)st.commands, (unsigned long long)st.unanswered,
            (unsigned long long)st.tmfs, (unsigned long long)st.directives, (unsigned long long)st.other_layers);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_export = {
    .name = "export",
    .summary = "write a trace as an iSCSI packet capture (pcapng or pcap) for Wireshark",
    .run = run,
};
