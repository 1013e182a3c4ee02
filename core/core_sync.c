/* core/core_sync.c — drv_core_run_task: one task, waited for.  For the
 * layers above that think in commands rather than callbacks (discovery,
 * tests, a CLI); the core itself never blocks on a task. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/core_internal.h"

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct drv_completion *out;
};

static void waiter_done(void *arg, const struct drv_completion *c)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    *w->out = *c;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int drv_core_run_task(struct drv_core *core, const struct drv_task *t, struct drv_completion *out)
{
    if (!core || !out)
        return -EINVAL;
    if (osal_on_queue(core->os))
        return -EDEADLK; /* the completion could never run */
    struct waiter w = { .out = out };
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = drv_core_process_task(core, t, waiter_done, &w);
    if (rc == 0) {
        bool polled = core->opt.polled;
        pthread_mutex_lock(&w.mu);
        while (!w.done) {
            if (!polled) {
                pthread_cond_wait(&w.cv, &w.mu);
                continue;
            }
            pthread_mutex_unlock(&w.mu);
            int n = drv_core_poll(core);
            pthread_mutex_lock(&w.mu);
            if (!w.done && n <= 0) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 50 * 1000;
                if (until.tv_nsec >= 1000000000) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&w.cv, &w.mu, &until);
            }
        }
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}
