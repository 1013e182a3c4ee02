/* cli/run_isolated.h — `scsisim run` with each trace in a child process, so
 * that a driver core that crashes or hangs is a FAILED trace with its reason
 * (the signal and the trace line being replayed, a backtrace where one can be
 * had; or the deadline it overran), and the run goes on with the next trace.
 * Used whenever the core is a loaded one (--driver-core, --mutant,
 * $SCSISIM_DRIVER_CORE): code scsisim did not build is not trusted with the
 * whole run. */
#ifndef CLI_RUN_ISOLATED_H
#define CLI_RUN_ISOLATED_H

#include <stddef.h>

#include "conformance/replay/replay.h"

/* As replay_files: the results in the order of paths, progress after each.
 * jobs children at a time, each replaying trace after trace (a shard), plus
 * children that replay only the long-waiting traces (replay_waiter_slots);
 * a fresh child after a trace that failed.  A trace gets its time budget
 * (o->trace_timeout_ns, else REPLAY_TRACE_TIMEOUT_NS) plus a grace period
 * to report before its child counts as hung.  0, or -errno when the run itself
 * failed (no pipe, no fork). */
int run_isolated(const char *const *paths, size_t n, unsigned jobs, const struct replay_options *o,
                 struct trace_run *run, replay_progress_fn progress, void *arg);

#endif
