/* conformance/remote/remote.h — `scsisim run --target URL`: the same replay
 * as the simulator's (conformance/replay/replay.h), sent to a real target:
 *
 *   iscsi://HOST[:PORT]/IQN/LUN   through libiscsi (async API), one iSCSI
 *                                 session per initiator of the trace (its I_T
 *                                 nexus), TMFs through libiscsi's task
 *                                 management calls
 *   /dev/sgN, /dev/bsg/...        through libsgutils2's sg_pt pass-through,
 *                                 one command at a time, one initiator
 *
 * The trace's LUN is the URL's (a trace addressing several LUNs or a target
 * other than 0 is skipped).  Records a real target cannot honour — power
 * loss, fault injection, unit attentions raised by the harness, media checks
 * against the oracle, layer C, QUERY TASK, I_T nexus reset, bus and host
 * resets — make the trace SKIPPED with the reason (docs/replay.md, "Against a
 * real target"); the device lines (@drive, @controller, @host) are not
 * applied: the target is what it is.  The result is judged by trace_judge_at
 * at the run's --match level. */
#ifndef CONFORMANCE_REMOTE_H
#define CONFORMANCE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "conformance/replay/replay.h"

/* Checks the URL's form (and, for a device path, that it exists): 0, or
 * -EINVAL / -ENOENT with err saying what is wrong and what to give. */
int  remote_target_check(const char *url, char *err, size_t len);
/* Logs in (or opens the device) once and closes: 0, or -errno with err
 * saying why (nobody listening, login refused, no such LUN, ...). */
int  remote_preflight(const char *url, char *err, size_t len);
/* Whether the target at url offers a @requires feature. */
bool remote_has_feature(const char *url, const char *feature);
/* Replays t against o->target and adds its result to run (PASS / FAIL /
 * SKIP with the reason).  0 or -ENOMEM. */
int  remote_replay_trace(const struct trace *t, const struct replay_options *o, struct trace_run *run);

#endif
