/* stack/stack_internal.h — what the files of stack/ share: the stack
 * itself and the two halves that differ by mode, the in-process one
 * (stack/stack_local.c) and the two-process one (stack/stack_proc.c: the
 * controller process, the remote bus, reconnection).  Not for the layers
 * above (they use stack/stack.h): struct stack holds the in-process
 * controller. */
#ifndef STACK_STACK_INTERNAL_H
#define STACK_STACK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/index_stack.h"
#include "stack/ctrl_ctl.h"
#include "stack/driver_core.h"
#include "stack/stack.h"

struct stack_proc;
struct stack_mode_ops;

struct stack {
    enum stack_mode mode;
    const struct stack_mode_ops *half; /* stack_local_ops or stack_proc_ops, by mode */
    bool polled;
    struct sim_ctrl *ctrl;   /* in-process only */
    struct bus *bus;
    struct ctrl_ctl ctl;     /* test control: ctrl_ctl_local(ctrl) or ctrl_ctl_remote(bus), set by the
                                mode's open (stack/stack_ctl.c calls only this) */
    struct osal *os;
    const struct scsisim_driver_core *ops; /* the core's entry points (stack/driver_core.h) */
    struct drv_core *core;
    bool started;
    struct stack_proc *proc; /* two-process only */

    /* Outstanding tasks.  The count is atomic; the condition is signalled
     * (under lock) only when a thread waits on it (waiters), so a completion
     * nobody waits for takes no lock (stack.c, wait_until). */
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    _Atomic uint32_t outstanding;
    _Atomic uint32_t waiters;
    /* what stack_submit wraps around callbacks, preallocated (stack.c) */
    struct stack_call *calls;
    _Atomic uint32_t *call_next;
    struct index_stack call_free;
    uint64_t next_task_id;
    _Atomic uint64_t reconnects;
};

/* What differs between the modes besides test control (st->ctl, picked by
 * open): where the controller comes from, what watches it, how it is given
 * up and brought back, and the controller process of stack/stack.h.  stack.c
 * calls these and never asks which mode it is in. */
struct stack_mode_ops {
    /* Builds the controller (or starts / finds its process), attaches
     * st->bus to it and sets st->ctl.  On failure what was made is left for
     * close. */
    int (*open)(struct stack *st, const struct sim_config *cfg, const struct stack_options *o, char *err,
                size_t errlen);
    /* Once the core runs: the automatic reconnection, if asked for. */
    int (*start_watch)(struct stack *st, char *err, size_t errlen);
    /* Stops it (before the core stops); waits for a reconnection under way. */
    void (*stop_watch)(struct stack *st);
    /* After the core and the osal are gone: the bus and the controller (its
     * process, the temporary directory).  Copes with a failed open. */
    void (*close)(struct stack *st);
    /* stack_reconnect, checked: brings the controller back (the bus
     * re-attached first when it died), then drv_core_recover. */
    int (*reconnect)(struct stack *st, char *err, size_t errlen);
    /* stack_kill_controller, stack_start_controller, stack_controller_pid. */
    int (*kill)(struct stack *st);
    int (*start)(struct stack *st, char *err, size_t errlen);
    pid_t (*pid)(const struct stack *st);
};

extern const struct stack_mode_ops stack_local_ops; /* stack/stack_local.c */
extern const struct stack_mode_ops stack_proc_ops;  /* stack/stack_proc.c */

#endif
