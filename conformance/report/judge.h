/* conformance/report/judge.h — deciding a replay: given a parsed trace and what
 * actually happened to each of its tasks (and each check-media), fill a file
 * result with one check per task and per check-media, pass or fail, with the
 * details reporters show.
 *
 * The replay engine fills struct trace_actual: actual.tasks[i] belongs to
 * trace->tasks[i].  Buffers it points to stay the caller's. */
#ifndef CONFORMANCE_JUDGE_H
#define CONFORMANCE_JUDGE_H

#include "conformance/report/result.h"
#include "conformance/format/trace.h"
#include "sim/store/store.h"

struct trace_actual_task {
    bool     submitted;          /* sent (layers H, W) or seen by the controller (layer C) */
    bool     completed;          /* a status or TMF response came back */
    unsigned status;             /* SCSI status, or TRACE_STATUS_SERVICE_FAILURE */
    const uint8_t *sense;        /* sense bytes (CHECK CONDITION), or NULL */
    size_t   sense_len;
    const uint8_t *din;          /* bytes received, or NULL */
    size_t   din_len;
    bool     din_raced_ok;       /* a READ that raced WRITEs, its data fitting an order SAM allows
                                    (docs/replay.md, "Concurrency"): not compared with the DIN */
    bool     resid_valid;
    uint32_t resid;
    uint64_t xfer;               /* bytes transferred */
    const uint8_t *cdb;          /* layer C: the CDB the controller saw (NULL: not observed) */
    bool     attr_seen;          /* layer C: attr holds the task attribute the controller got */
    enum trace_task_attr attr;
    size_t   cdb_len;
    const uint8_t *dout;         /* layer C: the data the controller read (NULL: not observed) */
    size_t   dout_len;
    enum trace_tmf_resp tmf;     /* TMF response */
    bool     elapsed_known;
    uint64_t elapsed_ns;         /* submission to response */
    const char *note;            /* the replay's explanation (an IOMMU fault, ...), or NULL */
};

struct trace_actual_media {
    size_t   line;               /* index in trace->lines of the check-media directive */
    bool     checked;
    struct sim_oracle_report report;
};

/* What a rogue directive found (conformance/directive/rogue.c). */
struct trace_actual_verdict {
    size_t   line;               /* index in trace->lines of the directive */
    bool     ran;                /* false: the harness could not act (msg says why) */
    bool     pass;
    char     expected[120];      /* the datasheet's answer, in the directive's words */
    char     msg[400];           /* what the controller did instead, or why it did not run */
};

/* What one discover directive found (conformance/directive/discover.c). */
struct trace_actual_disc {
    size_t   line;               /* index in trace->lines of the discover directive */
    bool     ran;                /* the driver core's discovery ran */
    char     found[256];         /* what it found, in the directive's own words */
    char     note[128];          /* why it did not run */
};

/* A directive the replay could not carry out (a fault rule the controller
 * refused, a reset that failed, no drive at its nexus, ...): the trace then
 * did not run as written, which fails it (conformance/replay/replay_directive.c). */
struct trace_actual_problem {
    size_t   line;               /* index in trace->lines of the directive */
    char     msg[256];
};

struct trace_actual {
    const struct trace_actual_task *tasks;   /* trace->n_tasks entries */
    const struct trace_actual_media *media;  /* one per check-media that ran */
    size_t   n_media;
    const struct trace_actual_verdict *verdicts; /* one per rogue directive that ran */
    size_t   n_verdicts;
    const struct trace_actual_disc *discs;   /* one per discover that ran */
    size_t   n_discs;
    const struct trace_actual_problem *problems; /* one per directive that failed */
    size_t   n_problems;
    uint64_t elapsed_ns;                     /* the whole replay */
};

/* Fills out (a file result from trace_run_add) and sets its outcome, at
 * the exact level.  0 or -ENOMEM. */
int trace_judge(const struct trace *t, const struct trace_actual *a, struct trace_file_result *out);

struct tbuf;
/* Appends the runs of lost blocks of one kind (durable: promised durable;
 * else acknowledged only) as "T:L LBA a-b, ..." (report_media.c). */
void trace_media_ranges_text(struct tbuf *b, const struct sim_oracle_report *r, bool durable);

/* enum trace_match_level is in conformance/format/trace.h: a trace's @match
 * line names one too. */
const char *trace_match_level_name(enum trace_match_level l);
/* "exact", "status" or "masks": 0, else -1. */
int trace_match_level_parse(const char *s, enum trace_match_level *out);
/* The level a trace is judged at: the run's --match when given (run_given),
 * else the trace's @match, else exact. */
enum trace_match_level trace_match_for(const struct trace *t, enum trace_match_level run_level, bool run_given);

/* trace_judge at a level. */
int trace_judge_at(const struct trace *t, const struct trace_actual *a, enum trace_match_level level,
                   struct trace_file_result *out);
/* The same; with standard_only (`run --standard-only`) a STATUS record that
 * names the standard's alternatives (standard=) is judged by those instead of
 * its own (this model's) ones. */
int trace_judge_std(const struct trace *t, const struct trace_actual *a, enum trace_match_level level,
                    bool standard_only, struct trace_file_result *out);

/* A data-in field a real device legitimately answers differently
 * (judge_masks.c has the list). */
struct trace_mask_field {
    const char *name;
    uint32_t from, to;   /* bytes [from, to) of the data-in; to = UINT32_MAX: to the end, of any length */
    bool     any_length; /* the field's length may differ too (the data's length with it) */
    bool     capacity;   /* masked only when the trace pins no capacity (no @drive capacity=) */
};
/* The fields masked for a command with this CDB; returns how many (at most
 * max are stored). */
size_t trace_mask_fields(const uint8_t *cdb, size_t cdb_len, bool capacity_pinned, const struct trace_mask_field **out,
                         size_t max);
/* Every row, for documentation and tests. */
size_t trace_mask_all(const struct trace_mask_field **out, size_t max);

#endif
