/* conformance/replay/record.c — a front-end's commands as a scsitrace (see record.h).
 * Every line is a trace_line handed to the conformance printer
 * (trace_fmt_line); nothing here formats record syntax by hand. */
#include "conformance/replay/record.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/tbuf.h"
#include "conformance/format/trace_map.h"
#include "conformance/format/trace_print.h"
#include "scsi/sense.h"

#define REC_MIN_REPEAT 8u        /* equal bytes written as xx*N from this many on */
#define REC_PIECE_CHARS 16384u   /* characters of data per line: more comes in pieces (offset=) */
#define REC_TMFS_MAX 64u         /* task management functions under way at once, recorded as TMF records */

/* A function written as a TMF request, waiting for its answer. */
struct rec_tmf {
    const void *key;              /* backend_stack_event.tmf_key */
    char tag[TRACE_TAG_MAX + 1];
    char ref[TRACE_TAG_MAX + 1];  /* abort-task: the task it names */
    enum trace_tmf_fn fn;
    struct trace_nexus nexus;
};

struct trace_recorder {
    pthread_mutex_t lock;
    FILE *out;
    uint64_t t0_ns;
    uint64_t last_ns;             /* the latest time written: times never go back */
    struct tbuf line;
    struct trace empty;           /* trace_fmt_line's context (unused by the printer) */
    struct trace_pat_elem *elems; /* scratch for data patterns */
    size_t elems_cap;
    uint8_t *ones;                /* 0xff masks of exact bytes: as many as a piece holds */
    struct trace_map open;        /* tags of the commands written without their STATUS yet */
    struct rec_tmf tmfs[REC_TMFS_MAX];
    size_t n_tmfs;
    uint64_t tmf_seq;             /* the TMF records' own tags: m1, m2, ... */
    struct trace_recorder_stats stats;
};

/* Prints one line through the conformance printer (lock held). */
static void emit(struct trace_recorder *r, const struct trace_line *l)
{
    tbuf_reset(&r->line);
    trace_fmt_line(&r->line, &r->empty, l);
    tbuf_putc(&r->line, '\n');
    if (r->line.oom || r->line.len > TRACE_LINE_MAX + 1 ||
        fwrite(tbuf_str(&r->line), 1, r->line.len, r->out) != r->line.len)
        r->stats.write_errors++;
}

static void emit_comment(struct trace_recorder *r, const char *text)
{
    struct trace_line l = { .kind = TRACE_LINE_COMMENT, .comment = (char *)text };
    emit(r, &l);
}

/* ---- device lines: the configuration as @controller / @drive ------------------------ */

/* Turns "key = value" lines of the configuration printer into settings. */
static int device_lines(struct trace_recorder *r, const struct sim_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return -ENOMEM;
    int rc = sim_config_print(cfg, mem);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc < 0) {
        free(text);
        return rc;
    }
    struct trace_setting set[64];
    struct trace_line l = { .kind = TRACE_LINE_DEVICE };
    bool open = false;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save);; ln = strtok_r(NULL, "\n", &save)) {
        bool section = ln && ln[0] == '[';
        if ((section || !ln) && open) {
            l.device.settings = set;
            emit(r, &l);
            open = false;
        }
        if (!ln)
            break;
        unsigned t, u;
        if (section) {
            l.device = (struct trace_device){ .kind = TRACE_DEV_CONTROLLER };
            if (sscanf(ln, "[drive %u:%u]", &t, &u) == 2) {
                l.device.kind = TRACE_DEV_DRIVE;
                l.device.target = (uint16_t)t;
                l.device.lun = (uint16_t)u;
            }
            open = true;
            continue;
        }
        char *eq = strchr(ln, '=');
        if (!open || ln[0] == '#' || !eq || l.device.n_settings >= sizeof(set) / sizeof(set[0]))
            continue;
        char *key = ln, *val = eq + 1;
        char *end = eq;
        while (end > key && end[-1] == ' ')
            end--;
        *end = '\0';
        while (*val == ' ')
            val++;
        /* The replay starts from empty media: a media file would hold data
         * the trace knows nothing of; and media-dir, media-max, media-force
         * are the user's, which a trace may not set. */
        if (!strncmp(key, "media", 5))
            continue;
        set[l.device.n_settings++] = (struct trace_setting){ .key = key, .value = val };
    }
    free(text);
    return 0;
}

int trace_recorder_open(const char *path, const struct sim_config *cfg, struct trace_recorder **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    struct trace_recorder *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->ones = malloc(REC_PIECE_CHARS / 2);
    if (!r->ones) {
        snprintf(err, errlen, "out of memory");
        free(r);
        return -ENOMEM;
    }
    memset(r->ones, 0xff, REC_PIECE_CHARS / 2);
    r->out = fopen(path, "w");
    if (!r->out) {
        int e = errno;
        snprintf(err, errlen, "cannot create it: %s", strerror(e));
        free(r->ones);
        free(r);
        return -e;
    }
    pthread_mutex_init(&r->lock, NULL);
    trace_map_init(&r->open);
    r->t0_ns = clock_now_ns();
    char stamp[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs("#!scsitrace 1\n", r->out);
    char hdr[160];
    snprintf(hdr, sizeof(hdr), "# Recorded by scsisim serve at %s: every command the iSCSI front-end", stamp);
    emit_comment(r, hdr);
    emit_comment(r, "# passed down to the driver core: each CMD where the target received it, each STATUS where");
    emit_comment(r, "# it completed (commands between a CMD and its STATUS were in flight together).");
    emit_comment(r, "# Nexus = HBA initiator id:0:target:LUN;");
    emit_comment(r, "# tag = i<initiator>.<iSCSI initiator task tag>.  Replay with 'scsisim run FILE'.");
    struct trace_line title = { .kind = TRACE_LINE_DEVICE,
                                .device = { .kind = TRACE_DEV_TITLE, .text = (char *)"scsisim serve recording" } };
    emit(r, &title);
    int rc = device_lines(r, cfg);
    if (rc == 0 && (r->stats.write_errors || fflush(r->out) == EOF))
        rc = -EIO;
    if (rc < 0) {
        snprintf(err, errlen, "writing the header failed: %s", strerror(-rc));
        fclose(r->out);
        pthread_mutex_destroy(&r->lock);
        free(r->ones);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- data patterns ------------------------------------------------------------------------ */

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* Characters a pattern element prints as (trace_print.c): a repeat "xx*N";
 * up to 32 exact bytes spaced ("12 00 .."), more compact ("1200..."). */
static uint64_t repeat_chars(uint64_t n)
{
    uint64_t chars = 4;
    while (n >= 10) {
        n /= 10;
        chars++;
    }
    return chars;
}

static uint64_t bytes_chars(uint64_t n)
{
    return n <= 32 ? 3 * n - 1 : 2 * n;
}

/* The most exact bytes that print in `room` characters. */
static uint64_t bytes_fitting(uint64_t room)
{
    return room / 2 > 32 ? room / 2 : (room + 1) / 3;
}

/* Length of the run of equal bytes at data[0] (at most len, and at most a
 * repeat count). */
static uint64_t run_at(const uint8_t *data, uint64_t len)
{
    uint64_t run = 1;
    while (run < len && run < UINT32_MAX && data[run] == data[0])
        run++;
    return run;
}

/* One piece of data[0..len): a concrete pattern from its start, runs of
 * REC_MIN_REPEAT or more equal bytes as repeats, the rest as exact bytes,
 * printing in at most REC_PIECE_CHARS characters.  Returns false when memory
 * ran out; pat->length is the bytes the piece covers (at least 1). */
static bool build_piece(struct trace_recorder *r, const uint8_t *data, uint64_t len, struct trace_pattern *pat)
{
    static const uint8_t exact = 0xff;
    size_t n = 0;
    uint64_t chars = 0, at = 0;
    while (at < len) {
        uint64_t sep = n ? 1 : 0, take;
        if (!grow((void **)&r->elems, &r->elems_cap, n + 1, sizeof(*r->elems)))
            return false;
        struct trace_pat_elem *e = &r->elems[n];
        uint64_t run = run_at(data + at, len - at);
        if (run >= REC_MIN_REPEAT) {
            if (chars + sep + repeat_chars(run) > REC_PIECE_CHARS)
                break;
            *e = (struct trace_pat_elem){ .kind = TRACE_PAT_REPEAT, .n = (uint32_t)run,
                                          .value = (uint8_t *)&data[at], .mask = (uint8_t *)&exact };
            chars += sep + repeat_chars(run);
            take = run;
        } else {
            /* Exact bytes up to the next long run, as many as fit. */
            uint64_t fit = chars + sep < REC_PIECE_CHARS ? bytes_fitting(REC_PIECE_CHARS - chars - sep) : 0;
            uint64_t end = at;
            while (end < len && end - at < fit) {
                uint64_t k = run_at(data + end, len - end);
                if (k >= REC_MIN_REPEAT)
                    break;
                end += k;
            }
            take = end - at < fit ? end - at : fit;
            if (take == 0)
                break;
            *e = (struct trace_pat_elem){ .kind = TRACE_PAT_BYTES, .n = (uint32_t)take,
                                          .value = (uint8_t *)&data[at], .mask = r->ones };
            chars += sep + bytes_chars(take);
        }
        n++;
        at += take;
    }
    *pat = (struct trace_pattern){ .elems = r->elems, .n_elems = n, .length = at };
    return true;
}

/* ---- records ------------------------------------------------------------------------------ */

static void fill_tag(char tag[TRACE_TAG_MAX + 1], const struct backend_stack_event *ev)
{
    snprintf(tag, TRACE_TAG_MAX + 1, "i%u.%llx", ev->initiator, (unsigned long long)ev->tag);
}

/* A command's data, all of it: one DOUT / DIN record when it fits a line,
 * else consecutive pieces with offset= (docs/trace-format.md, "DOUT"). */
static void data_records(struct trace_recorder *r, struct trace_line *l, enum trace_verb verb, const uint8_t *data,
                         uint64_t len)
{
    struct trace_record *rec = &l->record;
    rec->verb = verb;
    for (uint64_t at = 0; at < len;) {
        if (!build_piece(r, data + at, len - at, &rec->data)) {
            r->stats.write_errors++;
            break;
        }
        rec->offset_given = at > 0 || rec->data.length < len;
        rec->offset = (uint32_t)at;
        if (rec->offset_given && at == 0)
            r->stats.split++;
        emit(r, l);
        at += rec->data.length;
    }
    rec->offset_given = false;
    rec->offset = 0;
}

static void status_alt(const struct backend_stack_event *ev, uint64_t len, struct trace_status *st)
{
    const struct scsi_backend_result *res = ev->result;
    struct trace_status_alt *a = &st->alts[0];
    st->n_alts = 1;
    if (res->response != SCSI_SR_TASK_COMPLETE) {
        a->status = TRACE_STATUS_SERVICE_FAILURE;
        return;
    }
    a->status = res->status;
    struct scsi_sense_info si;
    if (res->status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_parse(res->sense, res->sense_len, &si)) {
        a->sense_given = true;
        a->sense = (struct trace_sense_spec){ .key = si.key, .asc = si.asc, .ascq = si.ascq };
    }
    /* Bytes asked of the HBA that did not move (what a replay through the
     * driver sees); the front-end's overflow residual has no trace syntax. */
    if (len && res->data_len < len) {
        st->resid_given = true;
        st->resid = (uint32_t)(len - res->data_len);
    }
}

static void directive(struct trace_recorder *r, const struct trace_nexus *nx, const struct trace_directive *d)
{
    struct trace_line l = { .kind = TRACE_LINE_RECORD };
    struct trace_record *rec = &l.record;
    rec->layer = TRACE_LAYER_HOST;
    rec->dir = TRACE_DIR_DIRECTIVE;
    rec->nexus_given = true;
    rec->nexus = *nx;
    rec->verb = TRACE_VERB_DIRECTIVE;
    rec->directive = *d;
    rec->task = TRACE_NONE;
    emit(r, &l);
}

/* What task management and nexus loss left behind, as the directives a
 * replay performs to leave the same state (unit attentions) at that point:
 *   nexus loss         ua 0x29/0x07 for that initiator on the target's LUNs
 *   LUN RESET          reset lun (the replay resets it the same way)
 *   TARGET WARM RESET  reset target
 *   TARGET COLD RESET  ua 0x29/0x04 everywhere (what our controller reset
 *                      leaves; the replay's "reset host" is a hard reset)
 * Aborts change nothing a later command sees: a comment. */
static void tmf_records(struct trace_recorder *r, const struct backend_stack_event *ev)
{
    struct trace_nexus nx = { .host = ev->initiator == 0xffff ? 0 : ev->initiator, .target = ev->target,
                              .lun = ev->lun };
    struct trace_directive d = { .kind = TRACE_DIR_UA };
    char note[160];
    if (ev->kind == BACKEND_STACK_NEXUS_LOSS) {
        snprintf(note, sizeof(note), "# nexus loss of initiator %u (I_T nexus %llu)", ev->initiator,
                 (unsigned long long)ev->nexus);
        emit_comment(r, note);
        nx.any = TRACE_ANY_LUN;
        d.asc = 0x29;
        d.ascq = 0x07;
        directive(r, &nx, &d);
        return;
    }
    static const char *const names[] = { [SCSI_TMF_ABORT_TASK] = "ABORT TASK",
                                         [SCSI_TMF_ABORT_TASK_SET] = "ABORT TASK SET",
                                         [SCSI_TMF_CLEAR_ACA] = "CLEAR ACA",
                                         [SCSI_TMF_CLEAR_TASK_SET] = "CLEAR TASK SET",
                                         [SCSI_TMF_LUN_RESET] = "LUN RESET",
                                         [SCSI_TMF_TARGET_WARM_RESET] = "TARGET WARM RESET",
                                         [SCSI_TMF_TARGET_COLD_RESET] = "TARGET COLD RESET" };
    unsigned fn = (unsigned)ev->tmf_fn;
    snprintf(note, sizeof(note), "# task management: %s on %u:0:%u:%u (tag %llx), response %d",
             fn < sizeof(names) / sizeof(names[0]) && names[fn] ? names[fn] : "?", nx.host, ev->target, ev->lun,
             (unsigned long long)ev->tag, (int)ev->tmf_response);
    emit_comment(r, note);
    if (ev->tmf_response != SCSI_TMF_COMPLETE)
        return;
    switch (ev->tmf_fn) {
    case SCSI_TMF_LUN_RESET:
        d = (struct trace_directive){ .kind = TRACE_DIR_RESET, .reset = TRACE_RESET_LUN };
        directive(r, &nx, &d);
        break;
    case SCSI_TMF_TARGET_WARM_RESET:
        d = (struct trace_directive){ .kind = TRACE_DIR_RESET, .reset = TRACE_RESET_TARGET };
        directive(r, &nx, &d);
        break;
    case SCSI_TMF_TARGET_COLD_RESET:
        nx.any = TRACE_ANY_HOST | TRACE_ANY_CHANNEL | TRACE_ANY_TARGET | TRACE_ANY_LUN;
        d.asc = 0x29;
        d.ascq = 0x04;
        directive(r, &nx, &d);
        break;
    default:
        break;
    }
}

/* Time since the recorder opened, read under the lock and never less than
 * the line before: records come in the order they happened and their times
 * say so (a submission seen on one thread and a completion on another). */
static uint64_t stamp(struct trace_recorder *r)
{
    uint64_t now = clock_now_ns();
    uint64_t t = now > r->t0_ns ? now - r->t0_ns : 0;
    if (t < r->last_ns)
        t = r->last_ns;
    r->last_ns = t;
    return t;
}

/* The record fields every line of one command shares. */
static void command_line(struct trace_recorder *r, const struct backend_stack_event *ev, struct trace_line *l)
{
    *l = (struct trace_line){ .kind = TRACE_LINE_RECORD };
    struct trace_record *rec = &l->record;
    rec->time_known = true;
    rec->time_ns = stamp(r);
    rec->layer = TRACE_LAYER_HOST;
    rec->nexus_given = true;
    rec->nexus = (struct trace_nexus){ .host = ev->initiator, .channel = 0, .target = ev->target, .lun = ev->lun };
    fill_tag(rec->tag, ev);
    rec->task = TRACE_NONE;
}

/* A data direction with no data (an iSCSI R or W bit with an Expected Data
 * Transfer Length of 0) has no trace syntax: dir= needs len > 0.  The same
 * answer at submission and completion, so both leave the command out. */
static bool unrecordable(const struct backend_stack_event *ev)
{
    return ev->dir != SCSI_DIR_NONE && ev->down_len == 0;
}

static uint64_t moved_len(const struct backend_stack_event *ev)
{
    bool moves = ev->down_len > 0 && ev->down_len <= UINT32_MAX && ev->dir != SCSI_DIR_NONE;
    return moves ? ev->down_len : 0;
}

static const enum trace_task_attr attr_of[4] = {
    [SCSI_ATTR_SIMPLE] = TRACE_ATTR_SIMPLE, [SCSI_ATTR_ORDERED] = TRACE_ATTR_ORDERED,
    [SCSI_ATTR_HEAD_OF_QUEUE] = TRACE_ATTR_HEAD_OF_QUEUE, [SCSI_ATTR_ACA] = TRACE_ATTR_ACA,
};

/* The command where the target received it: CMD and its DOUT. */
static void submitted(struct trace_recorder *r, const struct backend_stack_event *ev)
{
    struct trace_line l;
    command_line(r, ev, &l);
    struct trace_record *rec = &l.record;
    if (unrecordable(ev)) {
        char note[160];
        snprintf(note, sizeof(note), "# %s: opcode 0x%02x on %u:0:%u:%u with a data direction but no data (not "
                 "recorded)", rec->tag, ev->cdb_len ? ev->cdb[0] : 0, ev->initiator, ev->target, ev->lun);
        emit_comment(r, note);
        return;
    }
    static const uint8_t exact[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    struct trace_pat_elem cdb = { .kind = TRACE_PAT_BYTES, .n = ev->cdb_len, .value = (uint8_t *)ev->cdb,
                                  .mask = (uint8_t *)exact };
    uint64_t len = moved_len(ev);
    rec->dir = TRACE_DIR_TO_TARGET;
    rec->verb = TRACE_VERB_CMD;
    rec->cmd = (struct trace_cmd){ .cdb = { .elems = &cdb, .n_elems = 1, .length = ev->cdb_len } };
    if (len) {
        rec->cmd.len = (uint32_t)len;
        rec->cmd.len_given = rec->cmd.dir_given = true;
        rec->cmd.dir = ev->dir == SCSI_DIR_WRITE ? TRACE_DATA_OUT : TRACE_DATA_IN;
    }
    /* SIMPLE is the default and left out; the others are what the replay
     * must pass down (docs/trace-format.md, "CMD"). */
    if (ev->attr != SCSI_ATTR_SIMPLE && ev->attr < 4) {
        rec->cmd.attr = attr_of[ev->attr];
        rec->cmd.attr_given = true;
    }
    emit(r, &l);
    if (trace_map_set(&r->open, rec->tag, 1) < 0)
        r->stats.write_errors++;
    if (len && ev->dir == SCSI_DIR_WRITE && ev->data_out_len && ev->data_out)
        data_records(r, &l, TRACE_VERB_DOUT, ev->data_out, ev->data_out_len < len ? ev->data_out_len : len);
}

/* Whether a function written as a TMF request and not answered yet covers
 * the command with this tag at nx: a status the command reached anyway
 * raced the function, which a replay may as well lose (TASK ABORTED). */
static bool raced_by_tmf(const struct trace_recorder *r, const char *tag, const struct trace_nexus *nx)
{
    for (size_t i = 0; i < r->n_tmfs; i++) {
        const struct rec_tmf *t = &r->tmfs[i];
        bool lu = t->nexus.target == nx->target && t->nexus.lun == nx->lun;
        switch (t->fn) {
        case TRACE_TMF_ABORT_TASK:     if (!strcmp(t->ref, tag)) return true; break;
        case TRACE_TMF_ABORT_TASK_SET: if (lu && t->nexus.host == nx->host) return true; break;
        case TRACE_TMF_CLEAR_TASK_SET:
        case TRACE_TMF_LUN_RESET:      if (lu) return true; break;
        case TRACE_TMF_TARGET_RESET:   if (t->nexus.target == nx->target) return true; break;
        default: break;
        }
    }
    return false;
}

/* The command where it completed: DIN and STATUS; STATUS UNKNOWN (any
 * outcome) when task management ended it or the stack refused it. */
static void completed(struct trace_recorder *r, const struct backend_stack_event *ev)
{
    if (unrecordable(ev)) {
        r->stats.skipped++;
        return;
    }
    struct trace_line l;
    command_line(r, ev, &l);
    struct trace_record *rec = &l.record;
    rec->dir = TRACE_DIR_FROM_TARGET;
    trace_map_del(&r->open, rec->tag);
    uint64_t len = moved_len(ev);
    bool ended = ev->kind == BACKEND_STACK_REFUSED || ev->result->aborted;
    if (ended) {
        char note[160];
        snprintf(note, sizeof(note), "# %s: opcode 0x%02x on %u:0:%u:%u %s: any outcome", rec->tag,
                 ev->cdb_len ? ev->cdb[0] : 0, ev->initiator, ev->target, ev->lun,
                 ev->kind == BACKEND_STACK_REFUSED ? "refused by the stack (BUSY)" : "ended by task management");
        emit_comment(r, note);
        rec->verb = TRACE_VERB_STATUS;
        rec->status = (struct trace_status){ .n_alts = 1, .alts = { { .status = TRACE_STATUS_UNKNOWN } } };
        emit(r, &l);
        r->stats.aborted++;
        return;
    }
    uint64_t din = ev->result->data_len;
    if (len && ev->dir == SCSI_DIR_READ && din && ev->data_in && ev->result->response == SCSI_SR_TASK_COMPLETE)
        data_records(r, &l, TRACE_VERB_DIN, ev->data_in, din < len ? din : len);
    rec->verb = TRACE_VERB_STATUS;
    memset(&rec->status, 0, sizeof(rec->status));
    status_alt(ev, len, &rec->status);
    if (raced_by_tmf(r, rec->tag, &rec->nexus) && rec->status.alts[0].status != SCSI_STATUS_TASK_ABORTED) {
        rec->status.alts[1] = (struct trace_status_alt){ .status = SCSI_STATUS_TASK_ABORTED };
        rec->status.n_alts = 2;
        rec->status.resid_given = false; /* an aborted command moves what it moved */
    }
    emit(r, &l);
    r->stats.commands++;
}

/* A function as a TMF request record when the format can say it: a trace
 * function for it, a nexus id, and for ABORT TASK a task the file has
 * outstanding.  Else nothing now: its answer becomes the comment and
 * directives tmf_records writes. */
static void tmf_submitted(struct trace_recorder *r, const struct backend_stack_event *ev)
{
    enum trace_tmf_fn fn;
    switch (ev->tmf_fn) {
    case SCSI_TMF_ABORT_TASK:         fn = TRACE_TMF_ABORT_TASK; break;
    case SCSI_TMF_ABORT_TASK_SET:     fn = TRACE_TMF_ABORT_TASK_SET; break;
    case SCSI_TMF_CLEAR_TASK_SET:     fn = TRACE_TMF_CLEAR_TASK_SET; break;
    case SCSI_TMF_LUN_RESET:          fn = TRACE_TMF_LUN_RESET; break;
    case SCSI_TMF_TARGET_WARM_RESET:  fn = TRACE_TMF_TARGET_RESET; break;
    default:                          return; /* a cold reset: the controller reset, as a directive */
    }
    if (ev->initiator == 0xffff || r->n_tmfs == REC_TMFS_MAX)
        return;
    struct trace_line l = { .kind = TRACE_LINE_RECORD };
    struct trace_record *rec = &l.record;
    rec->time_known = true;
    rec->time_ns = stamp(r);
    rec->layer = TRACE_LAYER_HOST;
    rec->dir = TRACE_DIR_TO_TARGET;
    rec->nexus_given = true;
    rec->nexus = (struct trace_nexus){ .host = ev->initiator, .target = ev->target, .lun = ev->lun };
    rec->verb = TRACE_VERB_TMF;
    rec->task = TRACE_NONE;
    rec->tmf.fn = fn;
    if (fn == TRACE_TMF_ABORT_TASK) {
        snprintf(rec->tmf.ref_tag, sizeof rec->tmf.ref_tag, "i%u.%llx", ev->initiator, (unsigned long long)ev->tag);
        size_t v;
        if (!trace_map_get(&r->open, rec->tmf.ref_tag, &v))
            return; /* it completed already: nothing left to name */
    }
    snprintf(rec->tag, sizeof rec->tag, "m%llu", (unsigned long long)++r->tmf_seq);
    emit(r, &l);
    struct rec_tmf *t = &r->tmfs[r->n_tmfs++];
    t->key = ev->tmf_key;
    snprintf(t->tag, sizeof t->tag, "%s", rec->tag);
    snprintf(t->ref, sizeof t->ref, "%s", rec->tmf.ref_tag);
    t->fn = fn;
    t->nexus = rec->nexus;
}

/* The answer to a function written as a TMF request; false when it was not. */
static bool tmf_answered(struct trace_recorder *r, const struct backend_stack_event *ev)
{
    size_t i = 0;
    while (i < r->n_tmfs && (!ev->tmf_key || r->tmfs[i].key != ev->tmf_key))
        i++;
    if (i == r->n_tmfs)
        return false;
    struct trace_line l = { .kind = TRACE_LINE_RECORD };
    struct trace_record *rec = &l.record;
    rec->time_known = true;
    rec->time_ns = stamp(r);
    rec->layer = TRACE_LAYER_HOST;
    rec->dir = TRACE_DIR_FROM_TARGET;
    rec->nexus_given = true;
    rec->nexus = r->tmfs[i].nexus;
    rec->verb = TRACE_VERB_TMF;
    rec->task = TRACE_NONE;
    snprintf(rec->tag, sizeof rec->tag, "%s", r->tmfs[i].tag);
    rec->tmf.n_resps = 1;
    switch (ev->tmf_response) {
    case SCSI_TMF_COMPLETE:
    case SCSI_TMF_TASK_NOT_FOUND: rec->tmf.resps[0] = TRACE_TMF_FUNCTION_COMPLETE; break; /* SAM-5 7.2 */
    case SCSI_TMF_LUN_NOT_FOUND:  rec->tmf.resps[0] = TRACE_TMF_INCORRECT_LUN; break;
    default:                      rec->tmf.resps[0] = TRACE_TMF_FUNCTION_REJECTED; break;
    }
    emit(r, &l);
    r->tmfs[i] = r->tmfs[--r->n_tmfs];
    return true;
}

void trace_recorder_observe(void *arg, const struct backend_stack_event *ev)
{
    struct trace_recorder *r = arg;
    pthread_mutex_lock(&r->lock);
    switch (ev->kind) {
    case BACKEND_STACK_SUBMIT:
        submitted(r, ev);
        break;
    case BACKEND_STACK_COMMAND:
    case BACKEND_STACK_REFUSED:
        completed(r, ev);
        break;
    case BACKEND_STACK_TMF_SUBMIT:
        tmf_submitted(r, ev);
        break;
    case BACKEND_STACK_TMF:
        if (!tmf_answered(r, ev))
            tmf_records(r, ev);
        break;
    case BACKEND_STACK_NEXUS_LOSS:
        tmf_records(r, ev);
        break;
    }
    pthread_mutex_unlock(&r->lock);
}

void trace_recorder_get_stats(struct trace_recorder *r, struct trace_recorder_stats *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    pthread_mutex_unlock(&r->lock);
}

int trace_recorder_close(struct trace_recorder *r)
{
    if (!r)
        return 0;
    int rc = r->stats.write_errors ? -EIO : 0;
    if (fclose(r->out) != 0)
        rc = -EIO;
    tbuf_free(&r->line);
    trace_map_free(&r->open);
    free(r->elems);
    free(r->ones);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;
}
