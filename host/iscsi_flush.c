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
 * poll as before.  Each event loop of the target has its own pair and its
 * own dirty list (struct iscsi_loop). */
#include "host/iscsi_int.h"

static void flush_turn(struct iscsi_loop *L)
{
    struct iscsi_target *t = L->target;
    L->flush_armed = false;
    uv_check_stop(&L->flush_check);
    uv_idle_stop(&L->flush_idle);
    /* Inside a callback as far as the rest of the target knows, so nothing
     * flushes behind our back; a write error that closes a connection can
     * end tasks, and whatever that queues goes out in this same flush. */
    iscsi_target_enter(t);
    do {
        iscsi_target_run_completions(L);
        iscsi_target_flush_dirty(L);
    } while (L->done_head || L->dirty);
    /* Not iscsi_target_leave: nothing is left for it, and it would arm us
     * again; only the target lock it took is given back. */
    if (--L->in_callback == 0)
        pthread_mutex_unlock(&t->lock);
}

static void on_check(uv_check_t *h)
{
    flush_turn(h->data);
}

static void on_idle(uv_idle_t *h)
{
    flush_turn(h->data);
}

int iscsi_flush_init(struct iscsi_loop *L)
{
    int r = uv_check_init(L->uv, &L->flush_check);
    if (r < 0)
        return r;
    r = uv_idle_init(L->uv, &L->flush_idle);
    if (r < 0) {
        /* A check handle that was never started closes without a callback
         * we need to wait for; nothing else refers to it. */
        uv_close((uv_handle_t *)&L->flush_check, NULL);
        return r;
    }
    L->flush_check.data = L;
    L->flush_idle.data = L;
    L->flush_on = true;
    return 0;
}

void iscsi_flush_close(struct iscsi_loop *L, uv_close_cb closed_cb)
{
    if (!L->flush_on)
        return;
    L->flush_on = false;
    L->flush_armed = false;
    uv_close((uv_handle_t *)&L->flush_check, closed_cb);
    uv_close((uv_handle_t *)&L->flush_idle, closed_cb);
}

bool iscsi_flush_defer(struct iscsi_loop *L)
{
    if (!L->flush_on)
        return false;
    if (!L->flush_armed) {
        L->flush_armed = true;
        uv_check_start(&L->flush_check, on_check);
        uv_idle_start(&L->flush_idle, on_idle);
    }
    return true;
}
