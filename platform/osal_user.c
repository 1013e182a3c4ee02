/* platform/osal_user.c — the osal instance (its life cycle: the dispatch
 * queue's libuv loop on its own thread), registers, time and logging.  The
 * queue itself is in osal_user_queue.c, DMA in osal_user_dma.c, interrupt and
 * timer sources in osal_user_src.c.  See platform/osal_user.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "platform/osal_user_internal.h"
#include "platform/bus.h"

void osal_user_options_init(struct osal_user_options *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "osal";
    o->log_level = OSAL_LOG_WARN;
    o->iova_base = OSAL_PAGE;
    o->low_window = true;
}

/* --- life cycle ----------------------------------------------------------- */

static void fini_sync(struct osal *os)
{
    pthread_mutex_destroy(&os->run);
    pthread_mutex_destroy(&os->qlock);
    pthread_cond_destroy(&os->qcond);
    pthread_mutex_destroy(&os->dlock);
}

int osal_user_create(struct bus *bus, const struct osal_user_options *o, struct osal **out)
{
    if (!bus || !out)
        return -EINVAL;
    *out = NULL;
    struct osal_user_options def;
    if (!o) {
        osal_user_options_init(&def);
        o = &def;
    }
    if ((unsigned)o->log_level > OSAL_LOG_DEBUG)
        return -EINVAL;
    struct osal *os = calloc(1, sizeof(*os));
    if (!os)
        return -ENOMEM;
    atomic_init(&os->bus, bus);
    snprintf(os->name, sizeof(os->name), "%s", o->name ? o->name : "osal");
    os->log_level = o->log_level;
    os->log_sink = o->log_sink;
    os->log_arg = o->log_arg;
    pthread_mutex_init(&os->qlock, NULL);
    pthread_mutex_init(&os->run, NULL);
    pthread_cond_init(&os->qcond, NULL);
    pthread_mutex_init(&os->dlock, NULL);
    osal_dma_init(os, o, bus_dma_ram_top(bus));

    int rc = uv_loop_init(&os->loop);
    if (rc < 0)
        goto fail_loop;
    rc = uv_async_init(&os->loop, &os->wake, osal_queue_on_wake);
    if (rc < 0)
        goto fail_async;
    os->wake.data = os;

    /* The queue thread takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    rc = -pthread_create(&tid, NULL, osal_queue_thread, os);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0)
        goto fail_thread;
    pthread_mutex_lock(&os->qlock);
    while (!os->started)
        pthread_cond_wait(&os->qcond, &os->qlock);
    pthread_mutex_unlock(&os->qlock);
    os->joinable = tid;
    *out = os;
    return 0;

fail_thread:
    uv_close((uv_handle_t *)&os->wake, NULL);
    uv_run(&os->loop, UV_RUN_DEFAULT);
fail_async:
    uv_loop_close(&os->loop);
fail_loop:
    osal_dma_fini(os);
    fini_sync(os);
    free(os);
    return rc;
}

void osal_user_destroy(struct osal *os)
{
    if (!os)
        return;
    if (osal_on_queue(os)) {
        /* Joining ourselves would deadlock: refuse, loudly. */
        osal_log(os, OSAL_LOG_ERROR, "osal_user_destroy called on the dispatch queue; not destroyed");
        return;
    }
    pthread_mutex_lock(&os->qlock);
    os->stopping = true;
    uv_async_send(&os->wake);
    pthread_mutex_unlock(&os->qlock);
    pthread_join(os->joinable, NULL);
    if (uv_loop_close(&os->loop) != 0)
        osal_log(os, OSAL_LOG_ERROR, "event loop still had handles at teardown");
    osal_dma_fini(os);
    osal_queue_fini(os);
    fini_sync(os);
    free(os);
}

int osal_user_set_bus(struct osal *os, struct bus *bus)
{
    if (!os || !bus)
        return -EINVAL;
    if (osal_on_queue(os))
        return -EDEADLK;
    /* The same bus again: a remote bus re-attached in place to a restarted
     * controller (bus_remote_reconnect), which replayed the IOMMU mappings
     * from its own record and kept host RAM where it was; only the
     * interrupt eventfds behind the vector numbers are new. */
    int rc = bus == osal_user_bus(os) ? 0 : osal_dma_switch_bus(os, bus);
    if (rc == -ERANGE)
        return rc;
    int qrc = osal_loop_sync(os, osal_src_rebind, os);
    return rc < 0 ? rc : qrc;
}

struct bus *osal_user_bus(struct osal *os)
{
    return atomic_load_explicit(&os->bus, memory_order_acquire);
}

/* --- registers ------------------------------------------------------------ */

uint32_t osal_reg_read32(struct osal *os, uint32_t offset)
{
    return bus_read32(osal_user_bus(os), offset);
}

void osal_reg_write32(struct osal *os, uint32_t offset, uint32_t value)
{
    bus_write32(osal_user_bus(os), offset, value);
}

/* --- time and logging ----------------------------------------------------- */

uint64_t osal_now_ns(struct osal *os)
{
    (void)os;
    return clock_now_ns();
}

static const char *level_name(enum osal_log_level l)
{
    switch (l) {
    case OSAL_LOG_ERROR:
        return "error";
    case OSAL_LOG_WARN:
        return "warning";
    case OSAL_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void osal_log(struct osal *os, enum osal_log_level level, const char *fmt, ...)
{
    if (os && level > os->log_level)
        return;
    char line[512];
    int n = snprintf(line, sizeof(line), "%s: %s: ", os ? os->name : "osal", level_name(level));
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (os && os->log_sink) {
        os->log_sink(os->log_arg, level, line);
        return;
    }
    /* One write per line so lines from several threads do not interleave. */
    size_t len = strlen(line);
    if (len < sizeof(line) - 1)
        line[len++] = '\n';
    else
        line[len - 1] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nowhere left to report it */
    }
}

/* --- statistics ----------------------------------------------------------- */

void osal_user_get_stats(struct osal *os, struct osal_user_stats *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_lock(&os->dlock);
    s->dma_bytes_live = os->ram.used;
    s->dma_buffers_live = os->nbufs;
    osal_dma_map_counts(os, &s->mappings_live, &s->mappings_total, &s->segments_total);
    s->iova_pages_live = osal_dma_iova_pages_live(os);
    s->iova_low_pages_live = os->iova_low.used / OSAL_PAGE;
    s->map_records = os->map_recs;
    s->map_pool_grows = os->map_pool_grows;
    s->deferred_unmaps = os->deferred_total;
    s->defer_waits = os->defer_syncs;
    s->unmaps_unwaited = osal_dma_pending_count(os);
    pthread_mutex_unlock(&os->dlock);
    s->irqs_live = atomic_load(&os->irqs_live);
    s->timers_live = atomic_load(&os->timers_live);
    s->irqs_delivered = atomic_load(&os->irqs_delivered);
    pthread_mutex_lock(&os->qlock);
    s->queue_wakeups = os->queue_wakeups;
    pthread_mutex_unlock(&os->qlock);
}
