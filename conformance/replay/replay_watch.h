/* conformance/replay/replay_watch.h — the trace line being replayed, told to
 * whoever watches the replay from outside: a supervisor that runs each trace
 * in a child process (cli/run_isolated.c) shares a word with the child and,
 * when the driver core crashes or hangs, names the line it was on. */
#ifndef CONFORMANCE_REPLAY_WATCH_H
#define CONFORMANCE_REPLAY_WATCH_H

/* Where replay_watch_line writes (a word in memory shared with the
 * supervisor), or NULL for nowhere (the default). */
void replay_watch_set(volatile unsigned *slot);
/* Called by the replay as it starts each record: lineno is the trace's. */
void replay_watch_line(unsigned lineno);

#endif
