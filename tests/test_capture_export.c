/* tests/test_capture_export.c — `scsisim export`: every bundled trace T is
 * exported to a pcap and to a pcapng file and imported back, and import(export(T)) keeps what
 * docs/capture.md ("Exporting") says the round trip keeps:
 *
 *   - every host-layer task of T, in one-to-one correspondence (the
 *     imported tag's ITT is T's task number + 1), and nothing else;
 *   - its nexus: LUN equal, (host, target) renumbered one-to-one;
 *   - a command's CDB, len= and dir=; its DOUT bytes; its DIN bytes, status,
 *     sense key/ASC/ASCQ and resid= as T's expectations accept them (T's
 *     first STATUS alternative is what goes on the wire); a task without a
 *     response (UNKNOWN, ended by a directive) comes back STATUS UNKNOWN,
 *     one ended by abort-task without a STATUS;
 *   - a TMF's function, the task it names and its first response.
 *
 * And the import is a fixed point: exporting and importing it once more
 * gives the same records (times and tags aside) and the same @drive lines.
 * tshark decodes an export (pcap and pcapng) as iSCSI, PDU for PDU, with valid TCP checksums
 * (it is required here: missing, the test fails as "not installed"). */
#include "tests/support/testutil.h"
#include "tests/support/capture_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/tbuf.h"
#include "capture/cap_priv.h"
#include "capture/capture.h"
#include "conformance/format/match.h"
#include "conformance/format/trace.h"
#include "conformance/format/trace_print.h"
#include "conformance/replay/trace_sim.h"
#include "tests/support/proc.h"

static char dir[256];
/* The format under test: the loop tests run once per file format, pcap
 * (libpcap's writer) and pcapng (capture/cap_pcapng.c), by the name. */
static const char *const formats[] = { "pcap", "pcapng" };
static const char *ext = "pcap";

static void setup(void)
{
    proc_tmpdir(dir, sizeof dir, "export");
}

static void teardown(void)
{
    proc_rmdir(dir);
}

/* ---- export, import ----------------------------------------------------------------------- */

static struct trace *export_import(const struct trace *t, const char *name, char **text)
{
    char pcap[400];
    snprintf(pcap, sizeof pcap, "%s/%s.%s", dir, name, ext);
    char why[1200];
    size_t len = 0;
    char *buf = ct_export_import(t, pcap, &len, why, sizeof why);
    ck_assert_msg(buf != NULL, "%s: %s", name, why);
    struct located_error err;
    struct trace *u = NULL;
    int rc = trace_parse_buffer(name, buf, len, &u, &err);
    char msg[1024];
    located_format(&err, msg, sizeof msg);
    ck_assert_msg(rc == 0, "%s: the imported export does not parse: %s\n%s", name, msg, buf);
    if (text)
        *text = buf;
    else
        free(buf);
    return u;
}

/* ---- what the round trip keeps ------------------------------------------------------------ */

static const struct trace_record *rec(const struct trace *t, size_t line)
{
    return line == TRACE_NONE ? NULL : &t->lines[line].record;
}

static bool host_task(const struct trace *t, size_t i)
{
    return rec(t, t->tasks[i].request)->layer == TRACE_LAYER_HOST;
}

/* The bytes of a data view (non-concrete bytes as their value; past the
 * elements, zeros) into a malloc'ed buffer of n bytes. */
static uint8_t *view_bytes(const struct trace_pattern *v, uint64_t n)
{
    uint8_t *b = calloc(n ? n : 1, 1);
    ck_assert_ptr_nonnull(b);
    for (uint64_t i = 0; i < n && i < v->length; i++) {
        uint8_t m;
        trace_pattern_at(v, i, &b[i], &m);
    }
    return b;
}

static uint32_t cmd_len(const struct trace_record *c)
{
    return c->cmd.len_given && c->cmd.dir != TRACE_DATA_NONE ? c->cmd.len : 0;
}

/* The original task of an imported one: its tag is c<connection>.<ITT in hex>. */
static size_t origin(const struct trace *u, size_t i, const char *name)
{
    const char *tag = rec(u, u->tasks[i].request)->tag, *dot = strchr(tag, '.');
    ck_assert_msg(tag[0] == 'c' && dot, "%s: imported tag '%s' is not c<conn>.<itt>", name, tag);
    unsigned long itt = strtoul(dot + 1, NULL, 16);
    ck_assert_msg(itt >= 1, "%s: imported tag '%s'", name, tag);
    return itt - 1;
}

static void check_cdb(const char *name, const struct trace_record *o, const struct trace_record *i)
{
    uint8_t a[16] = { 0 }, b[16] = { 0 };
    for (uint64_t k = 0; k < 16; k++) {
        uint8_t m;
        if (k < o->cmd.cdb.length)
            trace_pattern_at(&o->cmd.cdb, k, &a[k], &m);
        if (k < i->cmd.cdb.length)
            trace_pattern_at(&i->cmd.cdb, k, &b[k], &m);
    }
    ck_assert_msg(!memcmp(a, b, 16), "%s: task %s: the CDB differs", name, o->tag);
}

static void check_data(const char *name, const struct trace *t, const struct trace_task *ot, const struct trace *u,
                       const struct trace_task *ut, uint32_t len)
{
    const char *tag = rec(t, ot->request)->tag;
    struct trace_pattern ov = { 0 }, uv = { 0 };
    if (ot->dout != TRACE_NONE) {
        ck_assert_msg(ut->dout != TRACE_NONE, "%s: task %s lost its DOUT", name, tag);
        ck_assert_int_eq(trace_data_view(t, ot->dout, &ov), 0);
        ck_assert_int_eq(trace_data_view(u, ut->dout, &uv), 0);
        /* The import writes len= bytes; those T did not give were not sent: zeros. */
        ck_assert_msg(uv.length == len, "%s: task %s: DOUT of %llu bytes for len=%u", name, tag,
                      (unsigned long long)uv.length, len);
        uint8_t *a = view_bytes(&ov, len), *b = view_bytes(&uv, len);
        ck_assert_msg(!memcmp(a, b, len), "%s: task %s: the DOUT bytes differ", name, tag);
        free(a);
        free(b);
        trace_data_view_free(&ov);
        trace_data_view_free(&uv);
    }
    if (ot->din != TRACE_NONE) {
        ck_assert_int_eq(trace_data_view(t, ot->din, &ov), 0);
        uint8_t *b = NULL;
        uint64_t n = 0;
        if (ut->din != TRACE_NONE) {
            ck_assert_int_eq(trace_data_view(u, ut->din, &uv), 0);
            n = uv.length;
            b = view_bytes(&uv, n);
            /* Concrete, except the bytes the importer masks on purpose
             * (capture/cap_masks.c: serials, designators, time stamps):
             * those stand for T's own bytes in the comparison below. */
            const uint8_t *cdb = NULL;
            uint8_t cdb_bytes[16] = { 0 };
            const struct trace_record *c = rec(u, ut->request);
            for (uint64_t k = 0; k < 16 && k < c->cmd.cdb.length; k++) {
                uint8_t m;
                trace_pattern_at(&c->cmd.cdb, k, &cdb_bytes[k], &m);
            }
            cdb = cdb_bytes;
            struct cap_mask masks[16];
            size_t nm = cap_masks(cdb, b, NULL, (uint32_t)n, masks, 16);
            uint8_t *orig = view_bytes(&ov, n);
            for (uint64_t k = 0; k < n; k++) {
                uint8_t v, m;
                trace_pattern_at(&uv, k, &v, &m);
                if (m == 0xff)
                    continue;
                bool masked = false;
                for (size_t j = 0; j < nm && j < 16; j++)
                    masked |= k >= masks[j].from && k < masks[j].to;
                ck_assert_msg(masked, "%s: task %s: imported DIN byte %llu is not concrete and no importer mask",
                              name, tag, (unsigned long long)k);
                b[k] = k < ov.length ? orig[k] : 0;
            }
            free(orig);
            trace_data_view_free(&uv);
        }
        struct trace_data_diff d;
        trace_match_data(&ov, b ? b : (const uint8_t *)"", (size_t)n, &d);
        ck_assert_msg(d.match, "%s: task %s: the imported DIN (%llu bytes) does not satisfy T's (first difference "
                      "at %llu)", name, tag, (unsigned long long)n,
                      (unsigned long long)(d.n_ranges ? d.ranges[0].offset : 0));
        free(b);
        trace_data_view_free(&ov);
    } else {
        ck_assert_msg(ut->din == TRACE_NONE, "%s: task %s gained a DIN", name, tag);
    }
}

static void check_status(const char *name, const struct trace *t, const struct trace_task *ot, const struct trace *u,
                         const struct trace_task *ut)
{
    const char *tag = rec(t, ot->request)->tag;
    const struct trace_record *os = rec(t, ot->response), *us = rec(u, ut->response);
    bool o_unknown = !os || trace_status_unknown(&os->status);
    if (o_unknown) {
        /* No response on the wire.  An abort-task ended it: no STATUS at all. */
        const struct trace_record *end = rec(t, ot->ended_by);
        if (end && end->verb == TRACE_VERB_TMF)
            ck_assert_msg(!us || trace_status_unknown(&us->status), "%s: task %s", name, tag);
        else
            ck_assert_msg(us && us->status.alts[0].status == TRACE_STATUS_UNKNOWN,
                          "%s: task %s had no response; the import should say STATUS UNKNOWN", name, tag);
        return;
    }
    ck_assert_msg(us, "%s: task %s lost its STATUS", name, tag);
    const struct trace_status_alt *oa = &os->status.alts[0], *ua = &us->status.alts[0];
    ck_assert_msg(ua->status == oa->status, "%s: task %s: status 0x%x, T's first alternative 0x%x", name, tag,
                  ua->status, oa->status);
    struct trace_sense_spec want = oa->sense;
    bool want_sense = oa->sense_given;
    if (os->status.sense_pattern_given) {
        /* sense= bytes went on the wire; the import keeps their key/ASC/ASCQ. */
        uint8_t raw[256];
        uint64_t n = os->status.sense_pattern.length < sizeof raw ? os->status.sense_pattern.length : sizeof raw;
        uint8_t *b = view_bytes(&os->status.sense_pattern, n);
        memcpy(raw, b, n);
        free(b);
        struct scsi_sense_info si;
        if (scsi_sense_parse(raw, n, &si)) {
            want = (struct trace_sense_spec){ .key = si.key, .asc = si.asc, .ascq = si.ascq };
            want_sense = true;
        }
    }
    if (want_sense) {
        ck_assert_msg(ua->sense_given, "%s: task %s lost its sense", name, tag);
        ck_assert_msg(ua->sense.key == want.key && (want.asc_any || ua->sense.asc == want.asc) &&
                          (want.ascq_any || ua->sense.ascq == want.ascq),
                      "%s: task %s: sense %x/%02x/%02x, expected %x/%02x/%02x", name, tag, ua->sense.key,
                      ua->sense.asc, ua->sense.ascq, want.key, want.asc, want.ascq);
    }
    if (os->status.resid_given) {
        uint32_t got = us->status.resid_given ? us->status.resid : 0;
        ck_assert_msg(got == os->status.resid, "%s: task %s: resid %u, T says %u", name, tag, got, os->status.resid);
    }
}

static size_t task_by_tag_before(const struct trace *t, const char *tag, size_t before)
{
    size_t found = TRACE_NONE;
    for (size_t i = 0; i < t->n_tasks; i++)
        if (t->tasks[i].request < before && host_task(t, i) && !strcmp(rec(t, t->tasks[i].request)->tag, tag))
            found = i;
    return found;
}

static void check_tmf(const char *name, const struct trace *t, size_t oi, const struct trace *u, size_t ui)
{
    const struct trace_task *ot = &t->tasks[oi], *ut = &u->tasks[ui];
    const struct trace_record *o = rec(t, ot->request), *i = rec(u, ut->request);
    ck_assert_msg(i->verb == TRACE_VERB_TMF && i->tmf.fn == o->tmf.fn, "%s: TMF %s: function differs", name, o->tag);
    if (o->tmf.fn == TRACE_TMF_ABORT_TASK || o->tmf.fn == TRACE_TMF_QUERY_TASK) {
        size_t want = task_by_tag_before(t, o->tmf.ref_tag, ot->request);
        size_t got = task_by_tag_before(u, i->tmf.ref_tag, ut->request);
        ck_assert_msg(got != TRACE_NONE && origin(u, got, name) == want, "%s: TMF %s names another task", name,
                      o->tag);
    }
    const struct trace_record *or = rec(t, ot->response), *ur = rec(u, ut->response);
    if (!or) {
        ck_assert_msg(!ur, "%s: TMF %s gained a response", name, o->tag);
        return;
    }
    ck_assert_msg(ur && ur->tmf.n_resps == 1, "%s: TMF %s lost its response", name, o->tag);
    /* iSCSI has no "function succeeded": it goes as complete; a service
     * failure goes as "not supported", which reads back as rejected. */
    enum trace_tmf_resp want = or->tmf.resps[0];
    if (want == TRACE_TMF_FUNCTION_SUCCEEDED)
        want = TRACE_TMF_FUNCTION_COMPLETE;
    if (want == TRACE_TMF_SERVICE_FAILURE)
        want = TRACE_TMF_FUNCTION_REJECTED;
    ck_assert_msg(ur->tmf.resps[0] == want, "%s: TMF %s: response %d, expected %d", name, o->tag, ur->tmf.resps[0],
                  want);
}

/* (host, target) pairs of T and of the import, matched one to one. */
struct pairs {
    uint32_t o[256][2], u[256][2];
    size_t n;
};

static void check_nexus(const char *name, struct pairs *p, const struct trace *t, const struct trace_record *o,
                        const struct trace *u, const struct trace_record *i)
{
    struct trace_nexus on = trace_record_nexus(t, o), un = trace_record_nexus(u, i);
    ck_assert_msg(on.lun == un.lun, "%s: task %s: LUN %llu, imported %llu", name, o->tag,
                  (unsigned long long)on.lun, (unsigned long long)un.lun);
    for (size_t k = 0; k < p->n; k++) {
        bool same_o = p->o[k][0] == on.host && p->o[k][1] == on.target;
        bool same_u = p->u[k][0] == un.host && p->u[k][1] == un.target;
        ck_assert_msg(same_o == same_u, "%s: task %s: nexus %u:%u imported as %u:%u, not one to one", name, o->tag,
                      on.host, on.target, un.host, un.target);
        if (same_o)
            return;
    }
    ck_assert_uint_lt(p->n, 256);
    p->o[p->n][0] = on.host;
    p->o[p->n][1] = on.target;
    p->u[p->n][0] = un.host;
    p->u[p->n][1] = un.target;
    p->n++;
}

static void check_preserved(const char *name, const struct trace *t, const struct trace *u)
{
    size_t host_tasks = 0;
    for (size_t i = 0; i < t->n_tasks; i++)
        host_tasks += host_task(t, i);
    ck_assert_msg(u->n_tasks == host_tasks, "%s: %zu host-layer tasks, %zu imported", name, host_tasks, u->n_tasks);
    bool *seen = calloc(t->n_tasks + 1, 1);
    struct pairs *p = calloc(1, sizeof *p);
    ck_assert(seen && p);
    for (size_t ui = 0; ui < u->n_tasks; ui++) {
        size_t oi = origin(u, ui, name);
        ck_assert_msg(oi < t->n_tasks && host_task(t, oi) && !seen[oi], "%s: imported task %s has no original", name,
                      rec(u, u->tasks[ui].request)->tag);
        seen[oi] = true;
        const struct trace_task *ot = &t->tasks[oi], *ut = &u->tasks[ui];
        const struct trace_record *o = rec(t, ot->request), *i = rec(u, ut->request);
        check_nexus(name, p, t, o, u, i);
        if (o->verb == TRACE_VERB_TMF) {
            check_tmf(name, t, oi, u, ui);
            continue;
        }
        ck_assert_msg(i->verb == TRACE_VERB_CMD, "%s: task %s", name, o->tag);
        check_cdb(name, o, i);
        ck_assert_msg(cmd_len(o) == cmd_len(i) && (!cmd_len(o) || o->cmd.dir == i->cmd.dir),
                      "%s: task %s: len/dir differ", name, o->tag);
        check_data(name, t, ot, u, ut, cmd_len(o));
        check_status(name, t, ot, u, ut);
    }
    free(seen);
    free(p);
}

/* The records without times and tags, and the @drive lines: what a second
 * round trip must give back unchanged. */
static char *records_text(const struct trace *t)
{
    struct tbuf b = { 0 };
    for (size_t i = 0; i < t->n_lines; i++) {
        struct trace_line l = t->lines[i];
        l.comment = NULL;
        if (l.kind == TRACE_LINE_RECORD) {
            l.record.time_known = false;
            l.record.tag[0] = '\0';
            if (l.record.verb == TRACE_VERB_TMF)
                l.record.tmf.ref_tag[0] = '\0';
        } else if (!(l.kind == TRACE_LINE_DEVICE && l.device.kind == TRACE_DEV_DRIVE)) {
            continue;
        } else {
            /* The import masks the serial in the DIN (cap_masks.c), so a
             * second round trip has no serial to infer: compare the rest. */
            struct trace_setting kept[16];
            size_t n = 0;
            for (size_t k = 0; k < l.device.n_settings && n < 16; k++)
                if (strcmp(l.device.settings[k].key, "serial"))
                    kept[n++] = l.device.settings[k];
            l.device.settings = kept;
            l.device.n_settings = n;
            trace_fmt_line(&b, t, &l);
            tbuf_putc(&b, '\n');
            continue;
        }
        trace_fmt_line(&b, t, &l);
        tbuf_putc(&b, '\n');
    }
    ck_assert(!b.oom);
    return b.s ? b.s : strdup("");
}

static void round_trip(const char *path)
{
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_msg(trace_parse_file(path, &t, &err) == 0, "%s: %s", path, err.message);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *text = NULL;
    struct trace *u = export_import(t, name, &text);
    check_preserved(name, t, u);
    char second[1100];
    snprintf(second, sizeof second, "%s.again", name);
    struct trace *v = export_import(u, second, NULL);
    char *a = records_text(u), *b = records_text(v);
    ck_assert_msg(!strcmp(a, b), "%s: a second round trip changed the records:\n--- first\n%s--- second\n%s", name, a,
                  b);
    free(a);
    free(b);
    free(text);
    trace_free(v);
    trace_free(u);
    trace_free(t);
}

static size_t walk(const char *d, int depth)
{
    size_t n = 0;
    DIR *dd = opendir(d);
    if (!dd || depth > 4)
        return 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", d, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t l = strlen(e->d_name);
        if (S_ISDIR(st.st_mode))
            n += walk(path, depth + 1);
        else if (l > 6 && !strcmp(e->d_name + l - 6, ".trace")) {
            round_trip(path);
            n++;
        }
    }
    closedir(dd);
    return n;
}

START_TEST(every_bundled_trace_round_trips)
{
    ext = formats[_i];
    const char *root = getenv("SCSISIM_TRACES");
    size_t n = walk(root && *root ? root : "traces", 0);
    ck_assert_msg(n >= 150, "only %zu bundled traces found (run from the source tree)", n);
}
END_TEST

/* ---- tshark reads it as iSCSI ------------------------------------------------------------- */

static const char sample[] =
    "#!scsitrace 1\n"
    "# Every PDU kind the exporter writes.\n"
    "@title \"export sample\"\n"
    "@drive 0:0 capacity=1M\n"
    "- H > - ua CMD 00 00 00 00 00 00\n"
    "- H < - ua STATUS CHECK UNIT_ATTENTION/0x29/0x01\n"
    "- H > - w1 CMD 2a 00 00 00 00 10 00 00 20 00 len=16384 dir=out\n"
    "- H > - w1 DOUT 5a*16384\n"
    "- H < - w1 STATUS GOOD\n"
    "- H > - r1 CMD 28 00 00 00 00 10 00 00 20 00 len=16384 dir=in\n"
    "- H < - r1 DIN 5a*16384\n"
    "- H < - r1 STATUS GOOD\n"
    "- H > - bad CMD 28 00 ff ff ff ff 00 00 01 00 len=512 dir=in\n"
    "- H < - bad STATUS CHECK ILLEGAL_REQUEST/0x21/0x00\n"
    "- H > - slow CMD 00 00 00 00 00 00\n"
    "- H > - ab TMF abort-task slow\n"
    "- H < - ab TMF function-complete\n"
    "- H > - lr TMF lun-reset\n"
    "- H < - lr TMF function-complete\n";

static unsigned count_lines(const char *text, const char *want)
{
    unsigned n = 0;
    for (const char *l = text; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (len == strlen(want) && !strncmp(l, want, len))
            n++;
        l = e ? e + 1 : NULL;
    }
    return n;
}

START_TEST(tshark_decodes_the_export_as_iscsi)
{
    ck_assert_msg(proc_tool_present("tshark_decodes_the_export_as_iscsi", "tshark", "apt-get install tshark"),
                  "tshark is not installed (apt-get install tshark): this test cannot run");
    struct trace *t = NULL;
    struct located_error err;
    ck_assert_int_eq(trace_parse_buffer("sample", sample, sizeof sample - 1, &t, &err), 0);
    char pcap[400];
    snprintf(pcap, sizeof pcap, "%s/sample.%s", dir, formats[_i]);
    struct capture_export_stats xs;
    ck_assert_int_eq(capture_export(t, pcap, &xs, &err), 0);
    trace_free(t);
    ck_assert_uint_eq(xs.commands, 5);
    ck_assert_uint_eq(xs.tmfs, 2);

    /* One line per PDU: its opcode. */
    const char *argv[] = { "tshark", "-r", pcap, "-Y", "iscsi", "-T", "fields", "-e", "iscsi.opcode",
                           "-E", "occurrence=a", "-E", "separator=/s", NULL };
    char *out = NULL;
    int rc = proc_tool(argv, 60, &out);
    ck_assert_msg(rc == 0, "tshark exited %d:\n%s", rc, out);
    struct { const char *op, *what; unsigned want; } pdus[] = {
        { "0x03", "Login Request", 1 }, { "0x23", "Login Response", 1 },
        { "0x01", "SCSI Command", 5 },  { "0x31", "R2T", 1 },
        { "0x05", "Data-Out", 2 },      { "0x25", "Data-In", 2 },
        { "0x21", "SCSI Response", 4 }, { "0x02", "Task Management Function Request", 2 },
        { "0x22", "Task Management Function Response", 2 },
        { "0x06", "Logout Request", 1 }, { "0x26", "Logout Response", 1 },
    };
    unsigned total = 0;
    for (size_t i = 0; i < sizeof pdus / sizeof pdus[0]; i++) {
        unsigned n = count_lines(out, pdus[i].op);
        ck_assert_msg(n == pdus[i].want, "tshark saw %u %s PDUs (opcode %s), expected %u:\n%s", n, pdus[i].what,
                      pdus[i].op, pdus[i].want, out);
        total += n;
    }
    ck_assert_uint_eq(total, xs.pdus);
    free(out);

    /* The sense data of the SCSI Response, as tshark decodes it. */
    const char *sense[] = { "tshark", "-r", pcap, "-Y", "scsi.sns.key", "-T", "fields", "-e", "scsi.sns.key",
                            "-e", "scsi.sns.asc", NULL };
    rc = proc_tool(sense, 60, &out);
    ck_assert_msg(rc == 0 && strstr(out, "0x06\t0x29") && strstr(out, "0x05\t0x21"), "tshark exited %d:\n%s", rc,
                  out);
    free(out);

    /* Valid TCP and IP checksums, and nothing TCP analysis finds odd. */
    const char *bad[] = { "tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                          "-Y", "tcp.checksum.status == 0 || ip.checksum.status == 0 || tcp.analysis.flags", NULL };
    rc = proc_tool(bad, 60, &out);
    ck_assert_msg(rc == 0 && !strstr(out, "TCP") && !strstr(out, "iSCSI"),
                  "tshark found bad checksums or TCP anomalies:\n%s", out);
    free(out);
    const char *good[] = { "tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                           "-Y", "tcp.checksum.status == 1 && ip.checksum.status == 1", "-T", "fields", "-e",
                           "frame.number", NULL };
    rc = proc_tool(good, 60, &out);
    unsigned verified = 0;
    for (const char *l = out; l && (l = strchr(l, '\n')); l++)
        verified++;
    ck_assert_msg(rc == 0 && verified >= xs.packets, "tshark verified %u of %llu checksums:\n%s", verified,
                  (unsigned long long)xs.packets, out);
    free(out);
}
END_TEST

/* ---- the command -------------------------------------------------------------------------- */

START_TEST(export_command_writes_and_refuses)
{
    char trace[400], pcap[400], pcapng[400];
    snprintf(trace, sizeof trace, "%s/s.trace", dir);
    snprintf(pcap, sizeof pcap, "%s/s.pcap", dir);
    snprintf(pcapng, sizeof pcapng, "%s/s.pcapng", dir);
    FILE *f = fopen(trace, "w");
    ck_assert_ptr_nonnull(f);
    fputs(sample, f);
    fclose(f);
    struct proc_result r;
    const char *ok[] = { "export", trace, "-o", pcap, NULL };
    proc_scsisim(ok, &r);
    ck_assert_msg(r.status == 0 && strstr(r.err, "5 commands (0 without a response), 2 TMFs"), "exited %d:\n%s",
                  r.status, r.err);
    proc_result_free(&r);
    const char *ng[] = { "export", trace, "-o", pcapng, NULL };
    proc_scsisim(ng, &r);
    ck_assert_msg(r.status == 0 && strstr(r.err, "5 commands (0 without a response), 2 TMFs"), "exited %d:\n%s",
                  r.status, r.err);
    proc_result_free(&r);
    /* The name chose the format: a pcapng Section Header Block, little-endian,
     * and a classic pcap header (nanosecond magic) for the other. */
    static const uint8_t shb[4] = { 0x0a, 0x0d, 0x0d, 0x0a }, bom[4] = { 0x4d, 0x3c, 0x2b, 0x1a };
    static const uint8_t pcap_ns[4] = { 0x4d, 0x3c, 0xb2, 0xa1 };
    uint8_t head[12];
    f = fopen(pcapng, "rb");
    ck_assert(f && fread(head, 1, 12, f) == 12);
    fclose(f);
    ck_assert(!memcmp(head, shb, 4) && !memcmp(head + 8, bom, 4));
    f = fopen(pcap, "rb");
    ck_assert(f && fread(head, 1, 4, f) == 4);
    fclose(f);
    ck_assert(!memcmp(head, pcap_ns, 4));
    const char *imp[] = { "import", pcapng, NULL };
    proc_scsisim(imp, &r);
    ck_assert_msg(r.status == 0 && strstr(r.out, "CMD 2a 00 00 00 00 10 00 00 20 00 len=16384 dir=out"),
                  "import of the pcapng exited %d:\n%s%s", r.status, r.out, r.err);
    proc_result_free(&r);
    const char *nodir[] = { "export", trace, "-o", "/nonexistent-scsisim/x.pcapng", NULL };
    proc_scsisim(nodir, &r);
    ck_assert_msg(r.status == 3 && strstr(r.err, "/nonexistent-scsisim/x.pcapng: error: cannot create it: No such "
                                          "file or directory"), "exited %d:\n%s", r.status, r.err);
    proc_result_free(&r);
    const char *no_out[] = { "export", trace, NULL };
    proc_scsisim(no_out, &r);
    ck_assert_msg(r.status == 2 && strstr(r.err, "no output file"), "exited %d:\n%s", r.status, r.err);
    proc_result_free(&r);
    f = fopen(trace, "w");
    fputs("#!scsitrace 1\n- H > - t CMD zz\n", f);
    fclose(f);
    proc_scsisim(ok, &r);
    ck_assert_msg(r.status == 2 && strstr(r.err, "s.trace:2:"), "exited %d:\n%s", r.status, r.err);
    proc_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("capture_export");
    TCase *tc = tcase_create("export");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, every_bundled_trace_round_trips, 0, 2);
    tcase_add_loop_test(tc, tshark_decodes_the_export_as_iscsi, 0, 2);
    tcase_add_test(tc, export_command_writes_and_refuses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
