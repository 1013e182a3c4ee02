/* cli/run_leaks.h — the descriptor leak check of `scsisim run`.
 *
 * A simulator or driver core that leaves a file descriptor open after a trace
 * has torn down is a bug (a memfd of host RAM, a media segment, a battery
 * copy): left alone it exhausts a long-running host.  The run takes the set of
 * its open descriptors (/proc/self/fd, with readlink's target for each) before
 * the first trace and again after the last one has torn down, and the shard
 * children of an isolated run (cli/run_isolated.c) do so around every trace.
 * A descriptor open after that was not open before is a leak, and one open
 * before and gone after was closed by code that never opened it: either is a
 * FAILED check of kind "leak" naming each descriptor and its target.
 *
 * The "before" set is taken after everything the run keeps open for itself
 * (report files, its log, the pipes to its children) is open, and after
 * libuv's process-wide signal pipe is created (run_fds_warm), so only what a
 * trace opened and did not close can differ. */
#ifndef CLI_RUN_LEAKS_H
#define CLI_RUN_LEAKS_H

#include <stddef.h>

#include "base/tbuf.h"
#include "conformance/report/result.h"

struct run_fds {
    size_t n;
    int *fd;
    char **target; /* readlink of /proc/self/fd/N ("?" when it cannot be read) */
};

/* Opens what libuv opens once per process and keeps (its signal pipe, made by
 * the first loop), so that it is never counted against a trace. */
void run_fds_warm(void);
/* The descriptors open now (the directory stream read for it excluded).
 * 0, or -errno (the set is then empty and must not be compared). */
int run_fds_take(struct run_fds *s);
void run_fds_free(struct run_fds *s);
/* How many descriptors of after are not in before (same number, same
 * target); text gets each of their targets once, comma-separated:
 * "TARGET (fd N)", or "TARGET xCOUNT (fd N and up)" for several. */
size_t run_fds_new(const struct run_fds *before, const struct run_fds *after, struct tbuf *text);
/* The same for the descriptors of before no longer in after: closed by code
 * that did not open them (a double close, which may take a report file or
 * standard input from under the run). */
size_t run_fds_gone(const struct run_fds *before, const struct run_fds *after, struct tbuf *text);
/* Whether the two sets differ; if so, msg says how: "N file descriptors
 * left open WHEN: ..." and/or "N file descriptors the run had open before
 * WHO were closed during it: ...". */
bool run_fds_compare(const struct run_fds *before, const struct run_fds *after, const char *when, const char *who,
                     struct tbuf *msg);
/* Marks f FAILED with a leak check saying msg, hint its note.  0 or -ENOMEM. */
int run_fds_fail(struct trace_file_result *f, const char *msg, const char *hint);
/* The run's own check, once the last trace has torn down: the descriptors
 * open now that were not in before.  When there are any, a FAILED result
 * "(run)" is added to run (*added points at it, for the text stream) that
 * names them and the n traces that ran (paths).  0, or -ENOMEM. */
int run_fds_check_run(const struct run_fds *before, struct trace_run *run, const char *const *paths, size_t n,
                      const struct trace_file_result **added);

#endif
