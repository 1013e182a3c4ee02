/* conformance/replay/replay.h — the replay engine: runs a parsed scsitrace against
 * the embedded simulator through the real driver core, and judges it.
 *
 *   trace's @ lines ──▶ sim_config ──▶ stack_open (controller · bus · osal · driver core)
 *   (@host ──▶ the osal's IOVA placement and scatter)
 *                                          │ the driver's discovery probes every target,
 *                                          │ as a host does when the controller attaches
 *   records, in file order:
 *     H/W CMD (+ DOUT)  ──▶ a drv_task on the record's nexus (initiator = host),
 *                           data in a DMA buffer (pieces=N: N of them, one
 *                           drv_buffer_piece each); waited for (unless held) up to
 *                           its deadline: within, else @timeout, else the
 *                           replay's command timeout
 *     directives        ──▶ power cut / on (+ drv_core_recover), resets
 *                           (drv_core_reset / drv_core_reset_controller), unit
 *                           attentions, fault injection, hold / release,
 *                           check-media (the store's oracle), wait, mark
 *   ──▶ trace_judge (judge.h) ──▶ one file result in a trace_run (result.h)
 *
 * The engine always terminates: every wait is bounded by the command's
 * deadline and by the trace's time budget; a command that does not answer in
 * time is judged "stalled" and the replay goes on.  docs/replay.md describes
 * the mapping of every directive and what this target does not support.
 *
 * Thread-safety: each call builds its own stack; calls on different traces
 * may run on different threads at the same time. */
#ifndef CONFORMANCE_REPLAY_H
#define CONFORMANCE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conformance/report/judge.h"
#include "conformance/report/result.h"
#include "conformance/replay/trace_sim.h"
#include "stack/stack.h"

#define REPLAY_COMMAND_TIMEOUT_NS (10ull * 1000000000ull) /* a command with no within / @timeout */
#define REPLAY_TRACE_TIMEOUT_NS   (60ull * 1000000000ull) /* a whole trace */
#define REPLAY_DRIVER_TIMEOUT_MS  1000u                   /* the driver core's own command timeout */
#define REPLAY_PROBE_INITIATOR    63u                     /* I_T nexus the discovery probe uses */

struct replay_options {
    enum stack_mode mode;          /* STACK_IN_PROCESS (default) or STACK_TWO_PROCESS */
    /* STACK_TWO_PROCESS: socket_path NULL = each trace starts its own
     * controller process (`scsisim controller`, from scsisim_bin: NULL =
     * $SCSISIM_BIN, else scsisim on $PATH) from the trace's device lines;
     * socket_path set = the traces use a controller already listening there
     * (its own configuration: the @controller / @drive lines are not applied). */
    const char *socket_path;
    const char *scsisim_bin;
    bool     polled;               /* the driver reaps completions by polling */
    uint64_t command_timeout_ns;   /* 0: REPLAY_COMMAND_TIMEOUT_NS */
    uint64_t trace_timeout_ns;     /* 0: REPLAY_TRACE_TIMEOUT_NS */
    uint32_t driver_timeout_ms;    /* 0: REPLAY_DRIVER_TIMEOUT_MS */
    bool     no_discovery;         /* skip the driver's target discovery at attach */
    FILE    *log;                  /* driver log lines (warnings and errors), or NULL to drop them */
    enum trace_match_level match;  /* how replies are judged (--match; default exact) */
    bool     match_given;          /* --match given: it overrides each trace's @match */
    /* --target: replay against a real target instead of the simulator
     * (conformance/remote/remote.h): iscsi://HOST[:PORT]/IQN/LUN, or a SCSI
     * generic device (/dev/sgN, /dev/bsg/...).  NULL: the simulator. */
    const char *target;
    /* --standard-only: replay only traces whose @basis is standard; the
     * others are added as SKIP "model behaviour (--standard-only)" (never
     * as passes).  For --target runs: a real device owes the standard, not
     * this controller model's choices. */
    bool     standard_only;
    /* Each replay slot of a run of many traces (replay_files, and the shard
     * children of `run --isolate`) keeps to one CPU, its trace's threads with
     * it (base/cpu_pin.h); false (--no-cpu-pin): wherever the scheduler puts
     * them. */
    bool     cpu_pin;
};

void replay_options_init(struct replay_options *o);

/* Replays t and adds its result to run (path = t->name): PASS / FAIL with one
 * check per task and check-media, or SKIP when the trace needs a feature this
 * target lacks (the reason names it) or, with standard_only, when its basis
 * is not the standard.  The result carries the trace's basis.  A stack that cannot be built fails
 * every check "not run" with the reason.  0, or -ENOMEM. */
int replay_trace(const struct trace *t, const struct replay_options *o, struct trace_run *run);

/* Parses path and replays it; a trace that does not parse is added UNUSABLE
 * with the parser's "FILE:LINE:COLUMN: error: ..." as its reason.  0 or -ENOMEM. */
int replay_file(const char *path, const struct replay_options *o, struct trace_run *run);

/* Applies the trace's @host settings (docs/trace-format.md) to o: the keys
 * given replace o's values, the others stay. */
void replay_host_options(const struct trace *t, struct osal_user_options *o);

/* Whether this replay target offers a @requires feature (docs/trace-format.md). */
bool replay_has_feature(const struct replay_options *o, const char *feature);
/* The first feature t needs (declared with @requires, or used by a record)
 * that this target lacks, or NULL.  *why (may be NULL) gets a sentence. */
const char *replay_missing_feature(const struct trace *t, const struct replay_options *o, const char **why);

/* A trace whose `wait` directives add up to this or more is a "waiter": it
 * spends most of its time asleep, taking no CPU. */
#define REPLAY_WAITER_NS (100ull * 1000000ull)

/* The order in which `jobs` workers take the files: with jobs >= 2 the
 * waiters first, the longest-waiting first (a trace that waits 2 s for a
 * drive to spin up, started last, would keep the run going alone for those
 * 2 s), then the others in file order; with one worker, file order.  order
 * has n entries; returns how many waiters lead it (0 for one worker). */
size_t replay_plan(const char *const *paths, size_t n, unsigned jobs, size_t *order);
/* How many threads (or children) beside the `jobs` ones replay only the
 * waiters that lead the plan: as they sleep, they run beside the others
 * instead of holding a worker (jobs >= 2: up to jobs of them; one worker: 0). */
unsigned replay_waiter_slots(size_t waiters, unsigned jobs);

/* Replays many files, `jobs` at a time (threads; each trace has its own
 * stack) plus the waiters on threads of their own (replay_waiter_slots), and
 * appends their results to run in the order given.  progress
 * (may be NULL) is called on the calling thread after each file is added, in
 * order, with the count done so far.  0 or -ENOMEM. */
typedef void (*replay_progress_fn)(void *arg, const struct trace_file_result *f, size_t done, size_t total);
int replay_files(const char *const *paths, size_t n, unsigned jobs, const struct replay_options *o,
                 struct trace_run *run, replay_progress_fn progress, void *arg);

/* Commands (CMD requests at layers H and W) a run's results account for:
 * the command checks of every replayed file. */
size_t replay_run_commands(const struct trace_run *run);

#endif
