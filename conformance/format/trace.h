/* conformance/format/trace.h — a scsitrace in memory: the syntax tree the parser
 * builds, the printer writes back and the matcher compares against.
 *
 * A trace is a line-oriented text file (docs/trace-format.md is the grammar):
 *
 *   #!scsitrace 1
 *   # INQUIRY of LUN 0 returns standard data for a direct-access device.
 *   @nexus 0:0:0:0
 *   +0.000 H > - t1 CMD 12 00 00 00 24 00 len=36 dir=in
 *   +0.001 H < - t1 DIN 00 00 ..
 *   +0.001 H < - t1 STATUS GOOD
 *
 * The tree keeps every line — blank lines and comments too — so printing a
 * canonical file gives back the same bytes.  On top of the lines the parser
 * builds the task table: which records belong to one command (CMD, DOUT, DIN,
 * STATUS) or task management function (TMF request and response), which is what
 * a replay submits and the judge checks.
 *
 * The conformance/ folder:
 *   format/trace.h        the tree, parse, print (trace_parse*.c, trace_print.c, trace_tasks.c)
 *   format/match.h        pattern, sense and status comparison with structured diffs
 *   format/directive.h    a directive's row (directive_list.h lists them all)
 *   directive/            the directives' functions, one file per family
 *   replay/replay.h       the replay engine (trace_sim.h: parsing with the simulator's checks)
 *   report/judge.h        a trace plus what a replay saw -> one check per task
 *   report/result.h       results of a run, exit codes
 *   report/report.h       text, TAP, JUnit XML and JSON reports
 *
 * Ownership: struct trace owns everything reachable from it; trace_free frees it.
 * Lifecycle: trace_parse_file / trace_parse_buffer -> use -> trace_free.
 * Errors are negative errno values, with a located message in struct located_error
 * (base/located.h: column counts bytes from 1, offset is the file offset of
 * the offending byte), printed by located_format.
 */
#ifndef CONFORMANCE_TRACE_H
#define CONFORMANCE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/located.h"

#define TRACE_FORMAT_VERSION 1
#define TRACE_LINE_MAX       65536u   /* bytes in a line, without its line end */
#define TRACE_TAG_MAX        32u      /* characters in a tag or a hold/release argument */
#define TRACE_NAME_MAX       64u      /* mark names, @requires features, setting keys */
#define TRACE_CDB_MAX        16u
#define TRACE_ALTS_MAX       16u      /* alternatives in one STATUS or TMF response */
#define TRACE_DATA_MAX       UINT32_MAX /* bytes a pattern may describe (a command's data length is 32-bit) */
#define TRACE_NONE           SIZE_MAX /* "no line" in line indexes */
#define TRACE_PIECES_MAX     4096u    /* pieces=N of a command's host buffer */
#define TRACE_STATS_KEYS    10u       /* counters a stats directive can judge (directive/ctl.c) */

/* Exit codes of every command that reads traces (docs/trace-format.md, "Exit codes"). */
enum trace_exit {
    TRACE_EXIT_PASS     = 0, /* every trace passed (skipped ones do not count against) */
    TRACE_EXIT_FAIL     = 1, /* at least one check failed */
    TRACE_EXIT_UNUSABLE = 2, /* at least one trace could not be read or parsed */
};

/* --- the pieces of a record ---------------------------------------------------------------- */

enum trace_layer { TRACE_LAYER_HOST = 'H', TRACE_LAYER_CONTROLLER = 'C', TRACE_LAYER_WIRE = 'W' };
enum trace_dir { TRACE_DIR_TO_TARGET = '>', TRACE_DIR_FROM_TARGET = '<', TRACE_DIR_DIRECTIVE = '!' };

/* host:channel:target:lun; a field in `any` is the wildcard '*'. */
enum { TRACE_ANY_HOST = 1, TRACE_ANY_CHANNEL = 2, TRACE_ANY_TARGET = 4, TRACE_ANY_LUN = 8 };
struct trace_nexus {
    uint32_t host, channel, target;
    uint64_t lun;
    uint8_t  any;  /* TRACE_ANY_* bits */
};

/* A data pattern: a sequence of elements, optionally followed by ".." (any
 * further bytes).  Bytes compare as (actual & mask) == value; value has no bits
 * outside mask.  Adjacent hex tokens are merged into one BYTES element. */
enum trace_pat_kind {
    TRACE_PAT_BYTES,  /* n bytes: value[n], mask[n] (mask 0 = "??", 0xFF = exact) */
    TRACE_PAT_REPEAT, /* one byte value[0]/mask[0], n times ("xx*N", "??*N") */
    TRACE_PAT_TEXT,   /* "text" (value[0..text_len)), space-padded to n bytes ("text":n) */
};
struct trace_pat_elem {
    enum trace_pat_kind kind;
    uint32_t n;           /* bytes described (BYTES, TEXT) or repeat count (REPEAT) */
    uint32_t text_len;    /* TEXT: characters given */
    bool     width_given; /* TEXT: written with ":n" */
    uint8_t *value;       /* BYTES: n; REPEAT: 1; TEXT: text_len (may be NULL when 0) */
    uint8_t *mask;        /* BYTES: n; REPEAT: 1; TEXT: NULL (exact); inside value's allocation */
};
struct trace_pattern {
    struct trace_pat_elem *elems;
    size_t   n_elems;
    bool     rest;        /* ends with ".." */
    uint64_t length;      /* bytes the elements describe (".." excluded) */
};

/* key/asc/ascq of an expected CHECK CONDITION; asc or ascq may be "??". */
struct trace_sense_spec {
    uint8_t key, asc, ascq;
    bool    asc_any, ascq_any;
};

/* A status that is not a SCSI status byte: the command ended without one. */
#define TRACE_STATUS_SERVICE_FAILURE 0x100
/* "STATUS UNKNOWN": no response was observed (an imported capture ended, or
 * lost the packets, before it): any outcome matches, a stall included. */
#define TRACE_STATUS_UNKNOWN 0x101
struct trace_status_alt {
    uint16_t status;       /* enum scsi_status, TRACE_STATUS_SERVICE_FAILURE or TRACE_STATUS_UNKNOWN */
    bool     sense_given;  /* CHECK with key/asc/ascq (CHECK alone accepts any sense) */
    struct trace_sense_spec sense;
};

enum trace_data_dir { TRACE_DATA_NONE, TRACE_DATA_IN, TRACE_DATA_OUT };

/* SAM-5 task attributes (8.6), as written after attr=. */
enum trace_task_attr { TRACE_ATTR_SIMPLE, TRACE_ATTR_ORDERED, TRACE_ATTR_HEAD_OF_QUEUE, TRACE_ATTR_ACA,
                       TRACE_ATTR_COUNT };

struct trace_cmd {
    struct trace_pattern cdb;   /* concrete bytes except at layer C */
    uint32_t len;               /* data transfer length */
    bool     len_given;
    enum trace_data_dir dir;
    bool     dir_given;
    uint32_t pieces;            /* pieces=N: the host buffer in N separate DMA buffers (0: not given = 1) */
    enum trace_task_attr attr;  /* attr=: the SAM task attribute (SIMPLE when not given) */
    bool     attr_given;
};

struct trace_status {
    size_t   n_alts;
    struct trace_status_alt alts[TRACE_ALTS_MAX];
    bool     resid_given, xfer_given, sense_pattern_given;
    uint32_t resid, xfer;
    struct trace_pattern sense_pattern; /* sense=...: raw sense bytes (format-dependent) */
    /* standard=ALT|ALT: the answers the standard allows where the
     * alternatives above are this model's one answer (the first command of
     * a trace on a fresh simulator: POWER ON OCCURRED; on a real target its
     * history is unknown).  `run --standard-only` judges these instead.
     * 0: not given (the alternatives above are the standard's too). */
    size_t   n_std_alts;
    struct trace_status_alt std_alts[TRACE_ALTS_MAX];
};

enum trace_tmf_fn {
    TRACE_TMF_ABORT_TASK, TRACE_TMF_ABORT_TASK_SET, TRACE_TMF_CLEAR_TASK_SET, TRACE_TMF_CLEAR_ACA,
    TRACE_TMF_LUN_RESET, TRACE_TMF_TARGET_RESET, TRACE_TMF_QUERY_TASK, TRACE_TMF_IT_NEXUS_RESET,
    TRACE_TMF_FN_COUNT
};
enum trace_tmf_resp {
    TRACE_TMF_FUNCTION_COMPLETE, TRACE_TMF_FUNCTION_SUCCEEDED, TRACE_TMF_FUNCTION_REJECTED,
    TRACE_TMF_INCORRECT_LUN, TRACE_TMF_SERVICE_FAILURE,
    TRACE_TMF_RESP_COUNT
};
struct trace_tmf {
    enum trace_tmf_fn fn;          /* request ('>') */
    char     ref_tag[TRACE_TAG_MAX + 1]; /* abort-task / query-task: the task it names */
    size_t   n_resps;              /* response ('<'): acceptable responses, in order written */
    enum trace_tmf_resp resps[TRACE_TMF_RESP_COUNT];
};

/* TRACE_DIR_POWER_LOSS, TRACE_DIR_POWER_ON, ...: one per row of directive_list.h. */
enum trace_directive_kind {
#define TRACE_DIRECTIVE(kind, word, ops) TRACE_DIR_##kind,
#include "conformance/format/directive_list.h"
#undef TRACE_DIRECTIVE
    TRACE_DIR_KIND_COUNT
};
enum trace_power_mode { TRACE_POWER_ALL, TRACE_POWER_RANDOM, TRACE_POWER_TORN }; /* = sim_power_cut_mode */
enum trace_reset_scope { TRACE_RESET_LUN, TRACE_RESET_TARGET, TRACE_RESET_BUS, TRACE_RESET_HOST };
enum trace_inject_kind {
    TRACE_INJECT_IOMMU_ABORT, TRACE_INJECT_IOMMU_DROP, TRACE_INJECT_IOMMU_FATAL,
    TRACE_INJECT_HANG, TRACE_INJECT_DROP_NEXT, TRACE_INJECT_FATAL,
    TRACE_INJECT_KIND_COUNT
};
enum trace_media_expect {
    TRACE_MEDIA_DURABLE,        /* (default) everything promised durable is there */
    TRACE_MEDIA_INTACT,         /* everything acknowledged is there, durable or not */
    TRACE_MEDIA_LOST_UNFLUSHED, /* everything durable is there and some unflushed data was lost */
    TRACE_MEDIA_EXPECT_COUNT
};
struct trace_directive {
    enum trace_directive_kind kind;
    enum trace_power_mode power_mode;    /* POWER_LOSS */
    bool     seed_given;                 /* POWER_LOSS */
    uint64_t seed;
    enum trace_reset_scope reset;        /* RESET */
    bool     reset_fails;                /* RESET host fails: the controller must not come back */
    uint8_t  asc, ascq;                  /* UA */
    enum trace_inject_kind inject;       /* INJECT */
    bool     inject_arg_given;           /* INJECT fatal code=N */
    uint64_t inject_arg;                 /* drop-next N; fatal code */
    char     tag[TRACE_TAG_MAX + 1];     /* HOLD, RELEASE */
    bool     expect_given;               /* CHECK_MEDIA */
    enum trace_media_expect expect;
    uint64_t ns;                         /* WITHIN, WAIT: nanoseconds */
    bool     count_given;                /* WITHIN */
    uint32_t count;                      /* WITHIN: requests it covers (default 1) */
    char     name[TRACE_NAME_MAX + 1];   /* MARK */
    char    *fault;                      /* FAULT: the rule, canonical (owned); NULL = clear */
    bool     fault_refused;              /* FAULT: expect=refused, the controller must refuse the rule */
    struct trace_rogue *rogue;           /* ROGUE: what to send and expect (owned; directive/rogue.c) */
    struct trace_events *events;         /* EVENTS: what the driver core reports (owned; directive/events.c) */
    /* DISCOVER: the units the driver core must find, canonical ("0:0
     * 1:3=NOT_READY/0x04/0x01", owned; "" for none), and its counts; ns is
     * the ready-timeout (0: the replay's own, as at attach). */
    char    *disc_units;
    bool     disc_targets_given, disc_dropped_given;
    uint32_t disc_targets, disc_dropped;
    /* SET: the settings `scsisim ctl set T:L` changes at run time, for the
     * drives at the nexus (directive/ctl.c); each only when given. */
    bool     set_battery_given, set_wce_given, set_wce;
    uint8_t  set_battery;                /* enum hba_battery (hw/hba.h) */
    /* STATS: counters of the live statistics (`scsisim ctl stats`) to judge,
     * by the key table of directive/ctl.c: bit k of stats_given says
     * stats_value[k] is expected; bit k of stats_atmost makes it a bound
     * (COUNTER<=N: at most).  opcode= makes them that opcode's. */
    bool     stats_opcode_given;
    uint8_t  stats_opcode;
    uint16_t stats_given, stats_atmost;
    uint64_t stats_value[TRACE_STATS_KEYS];
};

enum trace_verb { TRACE_VERB_CMD, TRACE_VERB_DOUT, TRACE_VERB_DIN, TRACE_VERB_STATUS, TRACE_VERB_TMF,
                  TRACE_VERB_DIRECTIVE };

/* TIME LAYER DIR NEXUS TAG VERB args */
struct trace_record {
    bool     time_known;             /* false: "-" */
    uint64_t time_ns;                /* since the start of the trace */
    char     layer;                  /* enum trace_layer */
    char     dir;                    /* enum trace_dir */
    bool     nexus_given;            /* false: "-" = the trace's default nexus */
    struct trace_nexus nexus;
    char     tag[TRACE_TAG_MAX + 1]; /* "" for "-" */
    enum trace_verb verb;
    union {                          /* the one that verb names */
        struct trace_cmd       cmd;      /* CMD */
        struct trace_pattern   data;     /* DOUT, DIN */
        struct trace_status    status;   /* STATUS */
        struct trace_tmf       tmf;      /* TMF */
        struct trace_directive directive;/* DIRECTIVE */
    };
    size_t   task;                   /* index in trace->tasks, or TRACE_NONE */
    /* DOUT, DIN: a command's data may come in pieces, consecutive slices of
     * one transfer, each on its own line (docs/trace-format.md, "DOUT"). */
    bool     offset_given;           /* written with offset=N */
    uint32_t offset;                 /* byte offset of this piece in the command's data (0 without offset=) */
    size_t   next_piece;             /* the command's next piece (index in trace->lines), or TRACE_NONE */
};

/* --- device lines (@key ...) --------------------------------------------------------------- */

enum trace_device_kind { TRACE_DEV_NEXUS, TRACE_DEV_DRIVE, TRACE_DEV_CONTROLLER, TRACE_DEV_TITLE,
                         TRACE_DEV_REQUIRES, TRACE_DEV_TIMEOUT, TRACE_DEV_HOST, TRACE_DEV_MATCH,
                         TRACE_DEV_BASIS };

/* How strictly a reply is compared with the trace (docs/replay.md, "Matching
 * levels"): chosen per run (`scsisim run --match`) or per trace (`@match`,
 * which a run's --match overrides).  The judge is conformance/report/. */
enum trace_match_level {
    TRACE_MATCH_EXACT,   /* every expectation of the trace (the default) */
    TRACE_MATCH_STATUS,  /* status and sense key/ASC/ASCQ only: data bytes, sense=, resid= and xfer= ignored */
    TRACE_MATCH_MASKS,   /* exact, except the fields of trace_mask_fields */
    TRACE_MATCH_LEVEL_COUNT
};

/* Where a trace's expectations come from (@basis, docs/trace-format.md): the
 * standard requires them (`@basis standard SPC-5 6.6.1 ...`), or they are
 * this controller model's documented behaviour (`@basis model "why"`), which
 * another device may rightly answer differently.  `scsisim run
 * --standard-only` replays only the first kind. */
enum trace_basis { TRACE_BASIS_NONE, TRACE_BASIS_STANDARD, TRACE_BASIS_MODEL };
#define TRACE_CITES_MAX 8u            /* DOCUMENT CLAUSE pairs on one @basis standard line */

/* key=value as written; value keeps its quotes (the docs/config.md syntax). */
struct trace_setting {
    char    *key;
    char    *value;
};
struct trace_device {
    enum trace_device_kind kind;
    struct trace_nexus nexus;           /* NEXUS */
    uint16_t target, lun;               /* DRIVE */
    struct trace_setting *settings;     /* DRIVE, CONTROLLER, HOST */
    size_t   n_settings;
    char    *text;                      /* TITLE (unquoted UTF-8) */
    char   **words;                     /* REQUIRES: feature names */
    size_t   n_words;
    uint64_t ns;                        /* TIMEOUT */
    enum trace_match_level match;       /* MATCH */
    /* BASIS: standard -> words holds DOCUMENT, CLAUSE pairs (n_words even);
     * model -> text is the reason. */
    enum trace_basis basis;
};

/* What the @host lines say about the host platform under the driver: where
 * the OS places DMA mappings (IOVAs) and whether it splits them.  The names
 * are those of osal_user_options (platform/osal_user.h); a field not given
 * keeps the replay's default. */
enum trace_host_key { TRACE_HOST_IOVA_BASE, TRACE_HOST_IOVA_LIMIT, TRACE_HOST_LOW_WINDOW, TRACE_HOST_SCATTER,
                      TRACE_HOST_REVERSE_DIRECTIONS, TRACE_HOST_COMMAND_TIMEOUT, TRACE_HOST_ABORT_GRACE,
                      TRACE_HOST_ADMIN_TIMEOUT, TRACE_HOST_HEARTBEAT_STALL, TRACE_HOST_COALESCING,
                      TRACE_HOST_QUEUE_DEPTH, TRACE_HOST_KEY_COUNT };
struct trace_host {
    bool     given[TRACE_HOST_KEY_COUNT];
    uint64_t iova_base, iova_limit;     /* bytes, multiples of 4096 */
    bool     low_window, scatter;
    bool     reverse_directions;        /* data mappings made after discovery get the opposite direction */
    /* The deadlines the host gives its driver core (struct drv_core_options,
     * milliseconds): how soon a timed-out command escalates, so a recovery
     * trace runs in a fraction of a second instead of the defaults' seconds. */
    uint32_t command_timeout_ms, abort_grace_ms, admin_timeout_ms, heartbeat_stall_ms;
    /* Bring-up options the host asks of its driver core (drv_core_options):
     * interrupt coalescing as HBA_COALESCE(threshold, time_us), entries per
     * I/O queue. */
    uint32_t coalescing;
    uint32_t queue_depth;
};

/* --- the file ------------------------------------------------------------------------------ */

enum trace_line_kind { TRACE_LINE_BLANK, TRACE_LINE_COMMENT, TRACE_LINE_DEVICE, TRACE_LINE_RECORD };
struct trace_line {
    enum trace_line_kind kind;
    unsigned lineno;            /* in the file it was parsed from (the version line is 1) */
    uint64_t offset;            /* file offset of the line's first byte */
    char    *comment;           /* COMMENT: the text from '#'; DEVICE/RECORD: trailing "# ..." or NULL */
    union {                     /* by kind */
        struct trace_device device; /* DEVICE */
        struct trace_record record; /* RECORD */
    };
};

/* One task: a command (CMD with its DOUT, DIN, STATUS) or a TMF (request and
 * response).  Entries are indexes into trace->lines. */
struct trace_task {
    size_t   request;        /* the CMD or TMF '>' line */
    size_t   dout, din;      /* the first DOUT / DIN piece, or TRACE_NONE (next: record.next_piece) */
    size_t   dout_last, din_last; /* the last piece (the same line when there is one), or TRACE_NONE */
    size_t   response;       /* STATUS or TMF '<' line, or TRACE_NONE (then ended_by is set) */
    size_t   ended_by;       /* TMF or directive that ends the task without a response, or TRACE_NONE */
    size_t   within;         /* the within directive that sets its deadline, or TRACE_NONE */
    size_t   held_by;        /* the hold directive that holds it, or TRACE_NONE */
    size_t   released_by;    /* the release directive that lets it go, or TRACE_NONE */
    uint64_t deadline_ns;    /* from within, else @timeout, else 0 (the replay's default) */
};

struct trace {
    char    *name;                  /* file name (for messages) */
    struct trace_line *lines;       /* lines[0] is the version line's successor: line 2 */
    size_t   n_lines;
    struct trace_task *tasks;
    size_t   n_tasks;
    /* Shortcuts into the device lines (copies of what they say). */
    struct trace_nexus default_nexus;  /* @nexus, or 0:0:0:0 */
    bool     has_nexus;
    const char *title;                 /* @title text, or NULL */
    uint64_t timeout_ns;               /* @timeout, 0 when not given */
    bool     match_given;              /* @match given: match is the trace's own level */
    enum trace_match_level match;      /* @match, else TRACE_MATCH_EXACT */
    struct trace_host host;            /* @host settings (all of its lines) */
    enum trace_basis basis;            /* @basis, TRACE_BASIS_NONE when not given */
    size_t   basis_line;               /* the @basis line (index in lines), or TRACE_NONE */
};

/* How to parse.  format/ knows the syntax of the @controller and @drive
 * settings, not what a controller accepts: that is the device checker's, which
 * the side that builds the device supplies (conformance/replay/trace_sim.h:
 * the simulator's own configuration parser), so a trace is refused at parse
 * time, at the setting's column, for a setting the device would refuse. */
struct trace_parse_options {
    void    *arg;                 /* the checker's state, passed to both calls */
    /* One setting in the docs/config.md syntax, applied on top of the ones
     * before it: "key=value" of an @controller line, or "drive=T:L,key=value,..."
     * of a whole @drive line.  0, or nonzero with err->message and err->column
     * (from 1, in `setting`; 0 when not known).  NULL: settings are kept as
     * written, unchecked. */
    int    (*check_device)(void *arg, const char *setting, struct located_error *err);
    /* After the last device line: the device's numbers of targets and LUNs
     * (every @drive must lie within them) and 0, or nonzero with err->message
     * when the device as a whole is refused.  NULL: nothing is checked. */
    int    (*check_device_end)(void *arg, uint32_t *targets, uint32_t *luns, struct located_error *err);
    uint32_t drive_target_max;    /* highest TARGET and LUN an @drive address may name */
    uint32_t drive_lun_max;       /* (0: any 16-bit number) */
};

/* Parses a trace.  0, or a negative errno with *err filled: -EINVAL for a
 * malformed trace, -ENOMEM, or the open/read error of the file.  *out is NULL
 * on failure.  Memory use is proportional to the input (lines are read with a
 * fixed TRACE_LINE_MAX buffer; "xx*N" is never expanded).  o may be NULL (no
 * device checker).  trace_parse_file / _buffer / _stream without "_with"
 * parse with the simulator's checks (conformance/replay/trace_sim.h). */
int  trace_parse_file_with(const char *path, const struct trace_parse_options *o, struct trace **out,
                           struct located_error *err);
int  trace_parse_buffer_with(const char *name, const char *buf, size_t len, const struct trace_parse_options *o,
                             struct trace **out, struct located_error *err);
int  trace_parse_stream_with(const char *name, FILE *in, const struct trace_parse_options *o, struct trace **out,
                             struct located_error *err);
void trace_free(struct trace *t);

/* Writes the canonical text (docs/trace-format.md, "Canonical form").  0, or
 * -EIO when writing failed, -EOVERFLOW when a line would exceed TRACE_LINE_MAX. */
int  trace_print(const struct trace *t, FILE *out);
/* The same, into a malloc'ed NUL-terminated string (*len without the NUL). */
int  trace_print_string(const struct trace *t, char **text, size_t *len);

/* True when both trees say the same (line numbers ignored). */
bool trace_equal(const struct trace *a, const struct trace *b);

/* The nexus a record applies to (its own, or the default for "-"). */
struct trace_nexus trace_record_nexus(const struct trace *t, const struct trace_record *r);
/* True when nexus pattern p (wildcards) covers concrete or wildcard nexus n. */
bool trace_nexus_covers(const struct trace_nexus *p, const struct trace_nexus *n);

/* Copies a concrete pattern (no masks, no "..") into buf (cap bytes).
 * Returns the byte count, -EINVAL for a non-concrete pattern, -ENOSPC when it
 * does not fit. */
long trace_pattern_bytes(const struct trace_pattern *p, uint8_t *buf, size_t cap);
/* Byte k (< e->n) of one element: expected value and mask. */
void trace_pat_elem_byte(const struct trace_pat_elem *e, uint64_t k, uint8_t *value, uint8_t *mask);
/* A command's data pieces (the DOUT or DIN records from line `first`, a
 * task's dout or din, along next_piece) as one pattern over the whole
 * transfer: offsets in it are offsets in the command's data.  view->elems is
 * malloc'ed (the elements' bytes stay the trace's): free it with
 * trace_data_view_free.  0, or -ENOMEM (then *view is empty). */
int  trace_data_view(const struct trace *t, size_t first, struct trace_pattern *view);
void trace_data_view_free(struct trace_pattern *view);
/* The piece (index in trace->lines) from `first` on that holds byte `offset`
 * of the transfer; the last piece when none does. */
size_t trace_data_piece_at(const struct trace *t, size_t first, uint64_t offset);
/* True when the pattern has no don't-care bits and no "..". */
bool trace_pattern_is_concrete(const struct trace_pattern *p);
/* The expected value/mask of byte `offset` (false beyond the elements). */
bool trace_pattern_at(const struct trace_pattern *p, uint64_t offset, uint8_t *value, uint8_t *mask);

/* Leading comment block (the trace's header: what it checks and why): the
 * comment lines before the first non-comment line, '#' and one blank removed,
 * joined with '\n'.  Malloc'ed; NULL when there is none or on ENOMEM. */
char *trace_header_text(const struct trace *t);

/* The trace's basis in one line for reports: "standard SPC-5 6.6.1; SAM-5 5.14",
 * "model: <reason>", or "unmarked".  Writes at most len bytes (NUL included). */
void trace_basis_text(const struct trace *t, char *buf, size_t len);

#endif
