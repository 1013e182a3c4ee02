/* stack/stack_internal.h — what stack/stack*.c share: the stack itself and
 * the two-process half (stack/stack_proc.c: the controller process, the
 * remote bus, reconnection).  Not for the layers above (they use
 * stack/stack.h): struct stack holds the in-process controller. */
#ifndef STACK_STACK_INTERNAL_H
#define STACK_STACK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "stack/ctrl_ctl.h"
#include "stack/stack.h"

struct stack_proc;

struct stack {
    enum stack_mode mode;
    bool polled;
    struct sim_ctrl *ctrl;   /* in-process only */
    struct bus *bus;
    struct ctrl_ctl ctl;     /* test control: ctrl_ctl_local(ctrl) or ctrl_ctl_remote(bus), set by the
                                mode's open (stack/stack_ctl.c calls only this) */
    struct osal *os;
    struct drv_core *core;
    bool started;
    struct stack_proc *proc; /* two-process only */

    /* outstanding tasks; the condition is signalled as each one completes */
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    uint32_t outstanding;
    uint64_t next_task_id;
    _Atomic uint64_t reconnects;
};

/* Two processes: starts (spawn) or finds the controller and connects st->bus
 * to it.  On failure what was made is left in st->proc for stack_proc_close. */
int  stack_proc_open(struct stack *st, const struct sim_config *cfg, const struct stack_options *o, char *err,
                     size_t errlen);
/* Once the core runs: the automatic reconnection thread, if asked for. */
int  stack_proc_start_watch(struct stack *st, char *err, size_t errlen);
/* Stops the automatic reconnection (before the core stops). */
void stack_proc_stop_watch(struct stack *st);
/* After the core and the osal are gone: the bus, the controller process,
 * the temporary directory.  NULL proc is ignored. */
void stack_proc_close(struct stack *st);
/* stack_reconnect in two processes: the bus re-attached, the osal moved onto
 * it, drv_core_recover; serialized with the automatic reconnection. */
int  stack_proc_reconnect(struct stack *st, char *err, size_t errlen);
int  stack_proc_kill(struct stack *st);
int  stack_proc_start(struct stack *st, char *err, size_t errlen);
pid_t stack_proc_pid(const struct stack *st);

#endif
