/* host/iscsi_flush.c — one writev per connection per turn of the event loop.
 *
 * A turn can run many target callbacks: several reads (libuv reads a socket
 * until it is dry, one callback each), completion wake-ups, write
 * completions.  Each used to flush its connections on leaving, so a turn
 * that answered one PDU per callback made one system call per PDU.  Now
 * leaving only arms two handles and the flush runs once, after the callbacks:
 *   - a check handle runs right after the poll phase, where reads, wake-ups
 *     and write completions are delivered;
 *   - an idle handle makes libuv poll without blocking while it is active, so
 *     PDUs queued outside the poll phase (the NOP/timeout timer, close
 *     callbacks, pending callbacks) go out in the same turn instead of after
 *     the next event; its callback flushes too.
 * Both are stopped once the dirty list is empty, so an idle target blocks in
 * poll as before. */
#include "host/iscsi_int.h"

static void flush_turn(struct iscsi_target *t)
{
    t->flush_armed = false;
    uv_check_stop(&t->flush_check);
    uv_idle_stop(&t->flush_idle);
    /* Inside a callback as far as the rest of the target knows, so nothing
     * flushes behind our back; a write error that closes a connection can
     * end tasks, and whatever that queues goes out in this same flush. */
    iscsi_target_enter(t);
    do {
        iscsi_target_run_completions(t);
        iscsi_target_flush_dirty(t);
    } while (t->done_head || t->dirty);
    t->in_callback--; /* not iscsi_target_leave: nothing is left for it, and it would arm us again */
}

static void on_check(uv_check_t *h)
{
    flush_turn(h->data);
}

static void on_idle(uv_idle_t *h)
{
    flush_turn(h->data);
}

int iscsi_flush_init(struct iscsi_target *t)
{
    int r = uv_check_init(t->loop, &t->flush_check);
    if (r < 0)
        return r;
    r = uv_idle_init(t->loop, &t->flush_idle);
    if (r < 0) {
        /* A check handle that was never started closes without a callback
         * we need to wait for; nothing else refers to it. */
        uv_close((uv_handle_t *)&t->flush_check, NULL);
        return r;
    }
    t->flush_check.data = t;
    t->flush_idle.data = t;
    t->handles_open += 2;
    t->flush_on = true;
    return 0;
}

void iscsi_flush_close(struct iscsi_target *t, uv_close_cb closed_cb)
{
    if (!t->flush_on)
        return;
    t->flush_on = false;
    t->flush_armed = false;
    uv_close((uv_handle_t *)&t->flush_check, closed_cb);
    uv_close((uv_handle_t *)&t->flush_idle, closed_cb);
}

bool iscsi_flush_defer(struct iscsi_target *t)
{
    if (!t->flush_on)
        return false;
    if (!t->flush_armed) {
        t->flush_armed = true;
        uv_check_start(&t->flush_check, on_check);
        uv_idle_start(&t->flush_idle, on_idle);
    }
    return true;
}
