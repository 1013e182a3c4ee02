/* conformance/report/result.h — what a conformance run found: one result per trace
 * file, one check per command, TMF or media check in it, and for each failed
 * check the details a reporter needs to explain it (expected and actual
 * status, decoded sense, data diffs, timing).  Results are self-contained: the
 * reporters (report.h) need neither the traces nor the replay.
 *
 * Life cycle: trace_run_init -> trace_run_add / trace_run_unusable /
 * trace_run_skip (and trace_judge fills a file result) -> report_* ->
 * trace_run_free. */
#ifndef CONFORMANCE_RESULT_H
#define CONFORMANCE_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conformance/format/match.h"
#include "conformance/format/trace.h"
#include "scsi/sense.h"
#include "sim/store/store.h"

enum trace_outcome {
    TRACE_OUTCOME_PASS,
    TRACE_OUTCOME_FAIL,
    TRACE_OUTCOME_SKIP,      /* not run: a requirement is missing (reason says which) */
    TRACE_OUTCOME_UNUSABLE,  /* the trace could not be read or parsed (reason is the located error) */
};

/* TRACE_CHECK_CONTROLLER: a rogue directive, the controller judged against the
 * datasheet (conformance/directive/rogue.c). */
/* TRACE_CHECK_DISCOVERY: a discover directive, the units the driver core found
 * (conformance/directive/discover.c).  TRACE_CHECK_DIRECTIVE: any other
 * directive, checked only when the replay could not carry it out. */
/* TRACE_CHECK_LEAK: file descriptors a trace (or the run) left open
 * (cli/run_leaks.h). */
enum trace_check_kind { TRACE_CHECK_COMMAND, TRACE_CHECK_TMF, TRACE_CHECK_MEDIA, TRACE_CHECK_CONTROLLER,
                        TRACE_CHECK_DISCOVERY, TRACE_CHECK_DIRECTIVE, TRACE_CHECK_LEAK };

/* Why a check failed: any combination. */
enum trace_fail_bits {
    TRACE_FAIL_NOT_RUN     = 1u << 0,  /* the replay never sent (or, at layer C, never saw) it */
    TRACE_FAIL_NO_RESPONSE = 1u << 1,  /* no status / TMF response: stalled or timed out */
    TRACE_FAIL_DEADLINE    = 1u << 2,  /* answered later than its within deadline */
    TRACE_FAIL_STATUS      = 1u << 3,  /* status, or the sense of a CHECK, not among the acceptable ones */
    TRACE_FAIL_SENSE_BYTES = 1u << 4,  /* sense= pattern */
    TRACE_FAIL_DATA        = 1u << 5,  /* DIN bytes */
    TRACE_FAIL_DOUT        = 1u << 6,  /* layer C: the data the controller read */
    TRACE_FAIL_CDB         = 1u << 7,  /* layer C: the CDB the controller saw */
    TRACE_FAIL_RESID       = 1u << 8,
    TRACE_FAIL_XFER        = 1u << 9,
    TRACE_FAIL_TMF         = 1u << 10, /* TMF response not among the acceptable ones */
    TRACE_FAIL_MEDIA       = 1u << 11, /* check-media expectation not met */
    TRACE_FAIL_ATTR        = 1u << 12, /* layer C: the task attribute the controller got */
    TRACE_FAIL_CONTROLLER  = 1u << 13, /* rogue: the controller did not answer as the datasheet says */
    TRACE_FAIL_DISCOVERY   = 1u << 14, /* discover: the driver core found other units than the trace says */
    TRACE_FAIL_DIRECTIVE   = 1u << 15, /* a directive the replay could not carry out */
    TRACE_FAIL_LEAK        = 1u << 16, /* file descriptors left open after the trace (or the run) */
};

/* The details of a failed check. */
struct trace_failure {
    char     expected[256];         /* canonical STATUS alternatives / TMF responses / media expectation */
    bool     completed;             /* a status or TMF response arrived */
    unsigned status;                /* actual SCSI status, or TRACE_STATUS_SERVICE_FAILURE */
    bool     sense_valid;
    struct scsi_sense_info sense;   /* actual sense, decoded */
    uint8_t  sense_bytes[SCSI_SENSE_MAX];
    size_t   sense_len;
    bool     resid_expected, resid_valid;
    uint32_t expected_resid, actual_resid;
    bool     xfer_expected;
    uint32_t expected_xfer;
    uint64_t actual_xfer;
    unsigned data_line;             /* the DIN (or DOUT) line compared, 0 when none */
    struct trace_data_diff data;    /* DIN (valid with TRACE_FAIL_DATA) */
    struct trace_data_diff sense_diff; /* sense= (TRACE_FAIL_SENSE_BYTES) */
    struct trace_data_diff cdb;     /* TRACE_FAIL_CDB */
    struct trace_data_diff dout;    /* TRACE_FAIL_DOUT */
    enum trace_tmf_resp tmf;        /* actual TMF response */
    uint64_t deadline_ns;           /* TRACE_FAIL_DEADLINE: the within deadline */
    struct sim_oracle_report media; /* TRACE_FAIL_MEDIA: what the oracle found */
    char     note[256];             /* the replay's explanation, if it gave one */
};

struct trace_check {
    enum trace_check_kind kind;
    unsigned line;                  /* the CMD / TMF request / check-media line */
    unsigned expect_line;           /* the line whose expectation failed first (STATUS, DIN, ...), else = line */
    char     layer;
    char     tag[TRACE_TAG_MAX + 1];
    uint8_t  cdb[TRACE_CDB_MAX];    /* the trace's CDB (don't-care bytes as 0), for opcode names */
    uint8_t  cdb_len;
    bool     pass;
    unsigned failures;              /* enum trace_fail_bits */
    bool     elapsed_known;
    uint64_t elapsed_ns;
    char     summary[256];          /* one line naming the first failure; "" when it passed */
    struct trace_failure *detail;   /* NULL when it passed */
};

struct trace_file_result {
    char    *path;
    char    *title;                 /* @title, or NULL */
    enum trace_outcome outcome;
    char    *reason;                /* SKIP / UNUSABLE: why; NULL otherwise */
    /* Where the trace's expectations come from (its @basis line, as
     * trace_basis_text writes it: "standard SPC-5 6.7", "model: ...",
     * "unmarked"); NULL when the trace was not parsed. */
    char    *basis;
    uint64_t elapsed_ns;
    struct trace_check *checks;
    size_t   n_checks, cap_checks;
};

struct trace_run {
    struct trace_file_result *files;
    size_t   n_files, cap_files;
    uint64_t elapsed_ns;
    bool     strict;                /* --strict: a skipped trace fails the run (and is reported as a failure) */
};

struct trace_run_summary {
    size_t files, passed, failed, skipped, unusable;
    size_t checks, checks_failed;
};

void trace_run_init(struct trace_run *run);
void trace_run_free(struct trace_run *run);
/* A new, empty (PASS) file result; NULL on ENOMEM.  The pointer is valid until
 * the next trace_run_add*. */
struct trace_file_result *trace_run_add(struct trace_run *run, const char *path, const char *title);
/* A file that could not be used (reason: e.g. the formatted parse error) or
 * was skipped.  0 or -ENOMEM. */
int trace_run_add_unusable(struct trace_run *run, const char *path, const char *reason);
int trace_run_add_skip(struct trace_run *run, const char *path, const char *title, const char *reason);
/* Sets f's basis (a copy of text).  0 or -ENOMEM. */
int trace_file_set_basis(struct trace_file_result *f, const char *text);
/* A new check in f (zeroed, pass = true); NULL on ENOMEM. */
struct trace_check *trace_file_add_check(struct trace_file_result *f);
/* Marks c failed with the bits given, allocating its detail; the first
 * failure's summary is kept.  -ENOMEM when the detail cannot be allocated
 * (the check is still marked failed). */
int trace_check_fail(struct trace_check *c, unsigned bits, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void trace_run_summarize(const struct trace_run *run, struct trace_run_summary *s);
/* enum trace_exit: UNUSABLE if any file was unusable, else FAIL if any failed
 * (or, with run->strict, was skipped), else PASS. */
int trace_run_exit_code(const struct trace_run *run);
const char *trace_outcome_name(enum trace_outcome o); /* "pass", "fail", "skip", "unusable" */

#endif
