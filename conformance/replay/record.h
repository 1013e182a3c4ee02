/* conformance/replay/record.h — writing what a front-end passed down the stack as a
 * scsitrace, so `scsisim run` can replay a session of a real initiator.
 *
 *   #!scsitrace 1
 *   # header: who recorded it, when, what it holds
 *   @controller ...  @drive T:L ...        the controller it ran against
 *   +0.001 H > 0:0:0:0 i0.1 CMD 12 00 00 00 24 00 len=36 dir=in
 *   +0.001 H < 0:0:0:0 i0.1 DIN 00 00 06 02 ...
 *   +0.001 H < 0:0:0:0 i0.1 STATUS GOOD
 *
 * Each command becomes its CMD and DOUT records where the target received
 * it (BACKEND_STACK_SUBMIT) and its DIN and STATUS where it completed
 * (BACKEND_STACK_COMMAND), so the commands between a CMD and its STATUS are
 * the ones that were in flight together, and a replay issues them together
 * (docs/replay.md, "Concurrency").  The nexus is the controller's: HBA
 * initiator id : channel 0 : target : LUN; the tag is
 * "i<initiator>.<front-end tag in hex>"; a task attribute other than SIMPLE
 * is written as attr=.  Times are read when each line is written, since the
 * recorder opened, and never go back.
 *
 * Data is recorded whole: runs of equal bytes as repeats (xx*N), and data
 * that would not fit one line (16 KiB of pattern) as consecutive DOUT / DIN
 * pieces with offset=, so a replay sends exactly the bytes the initiator
 * sent and checks every byte it read.  Overflow residuals have no trace
 * syntax and are left out, and so are commands with a data direction but no
 * data (a comment says so).  Task management functions the format has (ABORT
 * TASK of a command still outstanding in the file, ABORT TASK SET, CLEAR
 * TASK SET, LUN RESET, TARGET WARM RESET) are TMF records: the request at
 * BACKEND_STACK_TMF_SUBMIT, the response at BACKEND_STACK_TMF; a status
 * that completed while one acted also accepts TASK ABORTED.  Commands ended
 * by task management or a nexus loss, or refused by the stack, get STATUS
 * UNKNOWN (any outcome) under a comment; for the other functions and nexus
 * losses what the function left behind becomes a directive (a LUN or
 * target reset, or the unit attention a nexus loss or controller reset
 * raised: `ua`), so a replay meets the same unit attentions.  Drives' media
 * files are not recorded: a replay starts from empty media, so a session that read data
 * written before the recording started will not replay the same.
 *
 * Thread-safe (the observer runs on the stack's dispatch queue and on the
 * threads that submit). */
#ifndef CONFORMANCE_RECORD_H
#define CONFORMANCE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "host/backend_stack.h"
#include "sim/config/config.h"

struct trace_recorder;

struct trace_recorder_stats {
    uint64_t commands;       /* commands written */
    uint64_t aborted;        /* commands ended by task management: comments */
    uint64_t skipped;        /* commands the format cannot hold (a direction without data): comments */
    uint64_t split;          /* data-outs and data-ins written in several pieces (offset=) */
    uint64_t write_errors;
};

/* Creates path (truncating it) and writes the header and device lines for
 * cfg.  0, or -errno with err. */
int  trace_recorder_open(const char *path, const struct sim_config *cfg, struct trace_recorder **out, char *err,
                         size_t errlen);
/* A backend_stack_observer: arg is the recorder. */
void trace_recorder_observe(void *arg, const struct backend_stack_event *ev);
void trace_recorder_get_stats(struct trace_recorder *r, struct trace_recorder_stats *out);
/* Flushes, closes and frees.  0, or -EIO when any write failed. */
int  trace_recorder_close(struct trace_recorder *r);

#endif
