/* conformance/replay/replay_priv.h — the replay engine's state, shared by
 * conformance/replay*.c.
 *
 * One struct replay per trace.  The replay thread walks the records; the
 * driver's dispatch queue runs the completion and event callbacks, which
 * touch only what `lock` protects (each task's completion fields, the fault
 * list, `closing`). */
#ifndef CONFORMANCE_REPLAY_PRIV_H
#define CONFORMANCE_REPLAY_PRIV_H

#include <limits.h>
#include <pthread.h>

#include "conformance/report/judge.h"
#include "conformance/replay/replay.h"
#include "core/core.h"

#define REPLAY_NOTE_MAX   256u
#define REPLAY_FAULTS_MAX 8u   /* IOMMU faults remembered (the first ones) */
#define REPLAY_EVENTS_MAX 256u /* driver core events kept for the events directive (the first ones) */

/* What happened to one task of the trace (trace->tasks[i]). */
struct replay_task {
    struct replay *rp;
    size_t   index;
    /* the replay thread's */
    bool     submitted;
    bool     reaped;             /* its completion has been taken in (buffers released) */
    bool     fault_noted;        /* an IOMMU fault is in its note */
    size_t   seen;               /* layer C: index in rp->seen of its command, or SIZE_MAX */
    uint64_t limit_ns;           /* how long it may take (within / @timeout / default) */
    struct osal_dma_buffer **bufs; /* the host buffer (len > 0): nbufs DMA buffers (pieces=N), in order */
    uint32_t nbufs;
    uint32_t len;
    enum trace_data_dir dir;
    /* under rp->lock, set by the completion callback */
    bool     done;
    uint64_t submit_ns, done_ns;
    struct drv_completion c;
    uint8_t *din;                /* dir in: the bytes transferred (malloc'ed, len bytes) */
    size_t   din_len;
    bool     din_raced_ok;       /* a READ that raced WRITEs: its data fits an order SAM allows */
    enum trace_tmf_resp tmf_resp;/* a TMF task: the service response */
    char     note[REPLAY_NOTE_MAX];
    char     driver_note[REPLAY_NOTE_MAX]; /* a warning the driver logged while it ran: the note if none other */
};

/* One SCSI command the controller took (layer C). */
struct replay_seen {
    uint16_t initiator, target, lun;
    uint8_t  cdb[16];
    uint8_t  cdb_len;
    uint8_t  dir;                /* HBA_FLAG_DIR_* */
    uint8_t  attr;               /* HBA_ATTR_*: the task attribute the controller got */
    uint32_t data_len;
    uint8_t *data;               /* data-out read or data-in produced (malloc'ed), when kept */
    uint32_t data_bytes;
    bool     data_kept;
    bool     completed;
    uint8_t  ctrl_status, scsi_status;
    uint32_t xfer;
    uint8_t  sense[HBA_SENSE_MAX];
    uint8_t  sense_len;
    bool     consumed;           /* matched to a layer-C task */
};

struct replay_fault {
    uint64_t at_ns;
    struct hba_iommu_fault f;
};

struct replay {
    const struct trace *t;
    struct replay_options o;
    struct stack *st;
    bool     powered_off;           /* a power-loss directive cut the power, no power-on yet */
    struct sim_config cfg;
    bool     cfg_ok;
    char     media_subdir[PATH_MAX]; /* the trace's own media directory (sim_media_private_subdir), "" = none */

    pthread_mutex_t lock;
    pthread_cond_t cv;              /* CLOCK_MONOTONIC; broadcast on every completion */
    bool     closing;               /* completions after this are not recorded */
    struct replay_task *tasks;      /* t->n_tasks */
    struct replay_fault faults[REPLAY_FAULTS_MAX];
    size_t   n_faults;
    /* Every event the driver core reported (on the dispatch queue, under
     * lock), for the events directive; events_judged: how many it judged. */
    struct drv_event events[REPLAY_EVENTS_MAX];
    size_t   n_events, events_lost, events_judged;
    char     last_log[REPLAY_NOTE_MAX]; /* the driver's latest warning or error */
    uint64_t last_log_ns;

    struct replay_seen *seen;       /* under lock while the controller runs */
    size_t   n_seen, cap_seen;
    uint64_t seen_bytes;

    struct trace_actual_media *media;
    size_t   n_media;
    struct trace_actual_verdict *verdicts; /* one per rogue directive run */
    size_t   n_verdicts;
    bool     rogue_stalled;         /* a rogue directive waited out its limit: later ones are not run */
    struct trace_actual_disc *discs; /* one per discover directive that ran */
    size_t   n_discs;
    struct trace_actual_problem *problems; /* one per directive the replay could not carry out */
    size_t   n_problems;

    uint64_t start_ns, budget_end_ns;
    bool     out_of_time;
    unsigned out_of_time_line;
    bool     *lost_targets;         /* [cfg.max_targets]: the driver's discovery dropped it */
    char     engine_note[REPLAY_NOTE_MAX]; /* why commands could not run (stack, power, ...) */
};

/* replay_clock.c */
uint64_t replay_now_ns(void);
/* Sleeps ns (at most until the trace's budget ends). */
void replay_sleep_ns(struct replay *rp, uint64_t ns);
/* True (and the budget marked spent at `line`) when the trace's time is up. */
bool replay_out_of_time(struct replay *rp, unsigned line);

/* replay_task.c: commands through the stack */
/* Submits the CMD of task k (layer H or W); never fails: what went wrong is
 * the task's note and it stays not submitted, or is completed by the host
 * layer (a target the discovery dropped). */
void replay_submit(struct replay *rp, struct replay_task *k);
/* Waits for k until its limit (from submission) or the trace's budget.
 * True when it completed. */
bool replay_wait(struct replay *rp, struct replay_task *k);
/* Takes in k's completion if it came (frees its DMA buffers). */
void replay_reap(struct replay *rp, struct replay_task *k);
/* Frees k's DMA buffers (the stack must still be open). */
void replay_free_buffers(struct replay *rp, struct replay_task *k);
/* Fills the judge's view of k. */
void replay_actual(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a);

/* replay_race.c: a READ whose data fits an order SAM allows for the WRITEs
 * it raced gets din_raced_ok; one that fits none a note naming them. */
void replay_judge_races(struct replay *rp);

/* replay_tmf.c: TMF records through the core's task management */
/* Sends the TMF of task k; never fails (what went wrong is its note and
 * response). */
void replay_tmf_submit(struct replay *rp, struct replay_task *k);
/* Fills the judge's view of a TMF task. */
void replay_tmf_actual(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a);

/* replay_directive.c */
void replay_directive(struct replay *rp, size_t line);

/* replay_observe.c: layer C */
/* Installs the command tap when the trace has layer-C tasks. */
void replay_observe_start(struct replay *rp);
/* After the controller is gone: pairs each layer-C task with a command seen. */
void replay_observe_match(struct replay *rp);
/* Fills the judge's view of a layer-C task; false when it was never seen. */
bool replay_observed(const struct replay *rp, const struct replay_task *k, struct trace_actual_task *a);

/* replay_stack.c: building and tearing down the device */
/* Opens the stack for the trace's device (and runs discovery).  0 or -errno
 * with rp->engine_note saying why. */
int  replay_open(struct replay *rp);
/* Stops the driver (ending what is still in flight without recording it),
 * frees the task buffers and closes the stack. */
void replay_close(struct replay *rp);
/* The configured drives a (wildcard) nexus covers, one call each. */
typedef int (*replay_drive_fn)(struct replay *rp, uint16_t target, uint16_t lun, void *arg);
int  replay_for_drives(struct replay *rp, const struct trace_nexus *n, replay_drive_fn fn, void *arg);

#endif
