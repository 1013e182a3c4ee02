/* driver/stack.h — the whole storage stack below the host layer, assembled:
 * a simulated controller, the bus to it, the OS layer (osal_user) and the
 * driver core, behind one small C API.  This is what host/ (the iSCSI target,
 * the probe models) and conformance/ (the replay engine) call.
 *
 *     stack_open   ──▶  controller (sim_ctrl) · bus · osal_user · drv_core, started
 *     stack_submit ──▶  drv_core_process_task (asynchronous; done on the queue)
 *     stack_exec   ──▶  the same, synchronous, through a DMA buffer it manages
 *     stack_close  ──▶  everything stopped and freed, in reverse order
 *
 * Modes.  STACK_IN_PROCESS: the controller runs in this process (its firmware
 * on its own thread), IOMMU programming goes straight to it (bus_ops_local).
 * STACK_TWO_PROCESS: the controller runs in another process reached through
 * stack_options.socket_path; not built yet (stack_open says so), the seam is
 * here so callers need not change when it arrives.
 *
 * Threading.  stack_submit, stack_poll, stack_wait and stack_exec may be
 * called from any thread except the dispatch queue (where completion
 * callbacks run): waiting there would deadlock, so stack_wait and stack_exec
 * return -EDEADLK on it.  stack_close must not run concurrently with anything
 * else on the same stack.
 *
 * Polled mode (stack_options.polled): the controller raises no interrupts;
 * completions are reaped by stack_poll, which stack_wait and stack_exec call
 * for you while they wait.
 *
 * Errors are negative errno values; functions that take err/errlen also
 * write a sentence saying what failed and why.
 */
#ifndef DRIVER_STACK_H
#define DRIVER_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/core.h"
#include "driver/osal_user.h"

struct sim_config;
struct sim_ctrl;
struct bus;
struct stack;

enum stack_mode {
    STACK_IN_PROCESS  = 0, /* controller on a thread of this process */
    STACK_TWO_PROCESS = 1, /* controller in another process, over socket_path (to come) */
};

struct stack_options {
    enum stack_mode mode;          /* default STACK_IN_PROCESS */
    const char *socket_path;       /* STACK_TWO_PROCESS: the controller's Unix socket */
    /* driver core (0 = the core's default) */
    bool     polled;               /* completions by polling, no interrupts */
    unsigned io_queues;
    unsigned queue_depth;
    uint32_t default_timeout_ms;
    drv_event_fn on_event;         /* asynchronous events (on the dispatch queue) */
    void    *event_arg;
    /* OS layer: IOVA placement, scatter, log level and name (see osal_user.h) */
    struct osal_user_options osal;
};

/* Fills o with the defaults (in-process, interrupts, osal_user defaults with
 * the name "stack"). */
void stack_options_init(struct stack_options *o);

/* Builds and starts the stack for a controller described by cfg (copied by
 * the controller).  o NULL = defaults.  In-process: creates the controller,
 * powers it on, attaches the bus, creates the osal and the core and starts
 * the core (bring-up: READY, admin queue, identify, I/O queues).  On failure
 * nothing is left behind, *out is NULL and err says which step failed. */
int stack_open(const struct sim_config *cfg, const struct stack_options *o, struct stack **out, char *err,
               size_t errlen);
/* Stops the core (orderly shutdown: the controller flushes its caches; tasks
 * still in flight fail), then frees everything.  NULL is ignored. */
void stack_close(struct stack *st);

/* Queues a task (drv_core_process_task): done(arg, completion) runs exactly
 * once, on the dispatch queue.  The task's buffer pieces must be DMA buffers
 * of this stack's osal (stack_osal) and stay allocated until done ran.
 * 0, or -errno when the task was not accepted (done is then not called). */
int stack_submit(struct stack *st, const struct drv_task *t, drv_task_done done, void *arg);
/* Reaps completions now (polled mode); returns how many, or -errno.  Harmless
 * in interrupt mode. */
int stack_poll(struct stack *st);
/* Waits until no submitted task is outstanding (their done callbacks have
 * returned), polling in polled mode.  timeout_ms < 0 waits for ever.
 * 0, -ETIMEDOUT, or -EDEADLK on the dispatch queue. */
int stack_wait(struct stack *st, int timeout_ms);
/* Tasks submitted whose done callback has not returned yet. */
uint32_t stack_outstanding(struct stack *st);

/* Runs one command synchronously.  The data goes through a DMA buffer the
 * stack allocates: for DRV_DIR_FROM_INITIATOR (write) len bytes of buffer are
 * copied in first; for DRV_DIR_FROM_TARGET (read) up to len bytes (no more
 * than were transferred) are copied out to buffer after.  buffer may be NULL
 * when len is 0.  Returns 0 when the task completed — *out then holds the
 * service response, SCSI status, bytes transferred and sense, whatever they
 * are — or -errno when it could not be run (bad arguments, no DMA memory, the
 * core refused it).  Waits as long as the core takes: the core guarantees
 * every task completes (timeouts, then recovery). */
int stack_exec(struct stack *st, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
               enum drv_dir dir, void *buffer, uint64_t len, struct drv_completion *out);

/* The parts, for tests and the layers that need them.  stack_ctrl is NULL in
 * two-process mode (the controller is not in this process). */
struct sim_ctrl *stack_ctrl(struct stack *st);
struct drv_core *stack_core(struct stack *st);
struct osal *stack_osal(struct stack *st);
struct bus *stack_bus(struct stack *st);
enum stack_mode stack_mode(const struct stack *st);

#endif
