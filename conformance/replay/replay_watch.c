/* conformance/replay/replay_watch.c — see replay_watch.h. */
#include <stddef.h>

#include "conformance/replay/replay_watch.h"

static volatile unsigned *watch_slot;

void replay_watch_set(volatile unsigned *slot)
{
    watch_slot = slot;
}

void replay_watch_line(unsigned lineno)
{
    if (watch_slot)
        *watch_slot = lineno;
}
