/* stack/stack.h — the whole storage stack below the host layer, assembled:
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
 * on its own thread).  In both modes IOMMU programming is the platform's
 * stores into the tables in host RAM (platform/iommu_pt.h), no message.
 * STACK_TWO_PROCESS: the controller runs in another process, `scsisim
 * controller --socket PATH` (platform/bus_client.h): either one already listening
 * at stack_options.socket_path, or one the stack starts itself
 * (stack_options.spawn) from the configuration given to stack_open, with a
 * socket in a private temporary directory unless socket_path names one.  The
 * stack creates the host RAM (a memfd of cfg->host_ram_bytes), so the driver's
 * memory outlives the controller.
 *
 * Controller death (two processes).  When the controller process dies
 * (SIGKILL is a real power cut) the bus reads all-ones; the driver core's
 * watchdog sees it within a tick, fails every task in flight with
 * DRV_SR_SERVICE_DELIVERY_FAILURE (their fate on the media is unknown) and
 * raises DRV_EVENT_CONTROLLER_DEAD; new tasks fail the same way.  Once a
 * controller listens again on the same socket (restarted on the same media
 * files: stack_start_controller when the stack spawned it), stack_reconnect
 * attaches the bus to it (same RAM, IOMMU mappings replayed), re-binds the
 * interrupt sources and has the core bring the controller up from scratch
 * (drv_core_recover: tasks still in flight — when the core had not noticed the
 * death yet — are re-issued).  With stack_options.auto_reconnect the stack
 * does all of that by itself on a thread of its own, restarting a controller
 * it spawned; stack_reconnects counts the reconnections.
 *
 * Test control (power cut / on, media check against the controller's
 * oracle, fault injection, IOMMU fault log and policy, battery, unit
 * attentions, the command tap) works the same in both modes: stack_power_cut
 * and friends below check their arguments, then call the one interface the
 * stack picked when it opened (stack/ctrl_ctl.h), which goes straight to the
 * controller in one process and over the socket in two.  The controller
 * itself (struct sim_ctrl) stays inside the stack.
 *
 * Threading.  stack_submit, stack_poll, stack_wait and stack_exec may be
 * called from any thread except the dispatch queue (where completion
 * callbacks run): waiting there would deadlock, so stack_wait and stack_exec
 * return -EDEADLK on it; stack_submit (which never waits) may also be called
 * from a completion callback, to keep a slot busy.  The test control and
 * process functions below may be called from any thread but the dispatch
 * queue.  stack_close must not run concurrently with anything else on the
 * same stack.
 *
 * Polled mode (stack_options.polled): the controller raises no interrupts;
 * completions are reaped by stack_poll, which stack_wait and stack_exec call
 * for you while they wait.
 *
 * Errors are negative errno values; functions that take err/errlen also
 * write a sentence saying what failed and why.
 */
#ifndef STACK_STACK_H
#define STACK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"
#include "platform/osal_user.h"
#include "sim/sim.h"

struct sim_config;
struct bus;
struct stack;

enum stack_mode {
    STACK_IN_PROCESS  = 0, /* controller on a thread of this process */
    STACK_TWO_PROCESS = 1, /* controller in another process, over a Unix socket */
};

struct scsisim_driver_core;

struct stack_options {
    enum stack_mode mode;          /* default STACK_IN_PROCESS */
    /* STACK_TWO_PROCESS */
    const char *socket_path;       /* the controller's Unix socket; with spawn, NULL = one in a
                                      private temporary directory (removed by stack_close) */
    bool spawn;                    /* start `scsisim controller` from the configuration (its media
                                      files included), on a thread of the stack: it gets SIGKILL
                                      if this process dies (PR_SET_PDEATHSIG); stack_close stops
                                      it in order (SIGTERM) */
    const char *scsisim_bin;       /* spawn: the scsisim program; NULL = $SCSISIM_BIN, else
                                      "scsisim" searched in $PATH */
    uint32_t connect_timeout_ms;   /* how long to wait for a controller to listen (stack_open,
                                      stack_start_controller, stack_reconnect); default 10000 */
    bool auto_reconnect;           /* reconnect by itself after the controller died (restarting
                                      it when spawned); see "Controller death" above */
    /* the driver core: its entry points (stack/driver_core.h); stack_options_init
     * sets the process's default, scsisim's own core unless one was loaded */
    const struct scsisim_driver_core *core;
    /* driver core settings (0 = the core's default) */
    bool     polled;               /* completions by polling, no interrupts */
    uint32_t int_coalescing;       /* interrupt coalescing, HBA_COALESCE(threshold, time_us); 0 off
                                      (drv_core_options.int_coalescing) */
    unsigned io_queues;
    unsigned queue_depth;
    uint32_t default_timeout_ms;
    drv_event_fn on_event;         /* asynchronous events (on the dispatch queue) */
    void    *event_arg;
    /* driver core recovery tuning (0 = the core's default; core/core.h) */
    uint32_t abort_grace_ms;
    uint32_t admin_timeout_ms;
    uint32_t ready_timeout_ms;
    uint32_t heartbeat_stall_ms;
    /* OS layer: IOVA placement, scatter, log level and name (see osal_user.h) */
    struct osal_user_options osal;
};

/* Fills o with the defaults (in-process, interrupts, osal_user defaults with
 * the name "stack"). */
void stack_options_init(struct stack_options *o);

/* Builds and starts the stack for a controller described by cfg (copied by
 * the controller).  o NULL = defaults.  In-process: creates the controller,
 * powers it on, attaches the bus, creates the osal and the core and starts
 * the core (bring-up: READY, admin queue, identify, I/O queues).  Two
 * processes: starts the controller process (spawn) or waits for one at
 * socket_path, connects with host RAM of cfg->host_ram_bytes (cfg may be NULL
 * when not spawning: the default host RAM size), then the same.  On failure
 * nothing is left behind (a spawned controller is stopped), *out is NULL and
 * err says which step failed. */
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

/* --- controller test control, the same in both modes ---------------------- *
 * What the trace directives (power-loss, power-on, check-media, inject,
 * the fault log, the layer-C tap) and the tests need.  Each is the sim_ctrl_*
 * function of sim/sim.h with the same name and meaning, run on the controller
 * in this process or over the socket (platform/bus_client.h); -EINVAL for bad
 * arguments (checked before either), -ENODEV when the controller process is
 * gone, -ETIMEDOUT when it did not answer, -ENOTSUP for what does not cross
 * processes (stack_powered, stack_set_observer). */

/* Power cut (how NULL = SIM_POWER_CUT_ALL): dirty cache lines are lost unless
 * the battery holds them.  Returns the lines lost, or -errno.  The driver
 * notices (its watchdog) and waits; stack_power_on brings power back, and the
 * core brings the controller up by itself (stack_reconnect does it at once). */
int64_t stack_power_cut(struct stack *st, const struct sim_power_cut *how);
int stack_power_on(struct stack *st);
/* 1 when the controller has power, 0 when not; -ENOTSUP in two processes. */
int stack_powered(struct stack *st);
/* The controller's oracle on drive target:lun (after a power cut and power
 * on: everything made durable must be there).  In two-process mode the
 * oracle lives in the controller process; for file media it is journaled
 * beside the media (sim/store/store_oracle.h), so a controller killed and
 * restarted on the same media still knows what the dead one promised
 * (memory media start empty, as their data does). */
int stack_check_media(struct stack *st, uint16_t target, uint16_t lun, struct sim_oracle_report *r);
int stack_inject(struct stack *st, enum sim_inject_kind kind, uint32_t count);
int stack_inject_clear(struct stack *st);
/* The fault and timing engine's rules (sim/fault/fault.h, docs/faults.md):
 * one rule line, err says what is wrong and where in it.  In two processes
 * the rule is checked here and sent over the bus (FAULT_ADD); listing the
 * rules and the statistics take the controller's own --ctl socket there. */
int stack_fault_add(struct stack *st, const char *rule, char *err, size_t errlen);
int stack_fault_clear(struct stack *st);
/* Up to max IOMMU fault log entries from sequence number `first`; fills
 * *hdr.  Returns how many, or -errno.  Two processes: at most
 * BPROTO_FAULT_LOG_MAX per call (call again from the next sequence number). */
int stack_fault_log(struct stack *st, uint32_t first, struct hba_iommu_fault *out, size_t max,
                    struct hba_log_header *hdr);
int stack_set_battery(struct stack *st, uint16_t target, uint16_t lun, enum hba_battery battery);
/* The drive's write-back cache (WCE) on or off (sim_ctrl_set_write_cache). */
int stack_set_write_cache(struct stack *st, uint16_t target, uint16_t lun, bool on);
int stack_raise_ua(struct stack *st, uint16_t target, uint16_t lun, int initiator, uint16_t asc_ascq);
/* The controller's live statistics (`scsisim ctl stats`, docs/faults.md
 * "Statistics"), one JSON object appended to json.  One process only:
 * -ENOTSUP in two, where the controller process's --ctl socket answers them. */
int stack_stats(struct stack *st, struct tbuf *json);
/* -EINVAL for a policy hw/hba.h does not define. */
int stack_set_iommu_policy(struct stack *st, enum hba_iommu_policy policy);
/* The controller's command tap (sim_ctrl_set_observer: fn runs on the
 * firmware thread for every SCSI command it took; NULL fn removes it).  One
 * process only: -ENOTSUP in two, where a replay skips layer-C traces. */
int stack_set_observer(struct stack *st, sim_cmd_observer fn, void *arg);

/* --- the controller process (two-process mode) ---------------------------- */

/* After the controller went away (its process died, or a power cut in either
 * mode): two processes — waits up to connect_timeout_ms for a controller at
 * the socket, re-attaches the bus (same host RAM, IOMMU replayed), re-binds
 * the interrupt sources; both modes — drv_core_recover: controller reset,
 * bring-up, tasks still in flight re-issued.  0, or -errno with err saying
 * what failed (the core then stays dead; call again).  Not on the dispatch
 * queue (-EDEADLK); serialized with the automatic reconnection. */
int stack_reconnect(struct stack *st, char *err, size_t errlen);
/* The spawned controller's process id, 0 when none runs (or not spawned). */
pid_t stack_controller_pid(const struct stack *st);
/* SIGKILL to the spawned controller (a real power cut: its cache and oracle
 * die with it), then reaps it.  -ENOTSUP in one process or when the stack did
 * not spawn the controller, -ESRCH when none runs. */
int stack_kill_controller(struct stack *st);
/* Starts the spawned controller again (same socket, configuration and media
 * files) and waits until it listens.  -EALREADY when it runs, -ENOTSUP as
 * stack_kill_controller.  Then call stack_reconnect. */
int stack_start_controller(struct stack *st, char *err, size_t errlen);
/* Successful reconnections (stack_reconnect and automatic) since stack_open. */
uint64_t stack_reconnects(struct stack *st);

/* The parts, for tests and the layers that need them.  The controller is not
 * one of them: reach it through the test control above. */
struct drv_core *stack_core(struct stack *st);
/* The entry points of the stack's core (core/driver_core_abi.h): the layers
 * above call the core through them, never drv_core_* directly, so that a
 * loaded core (--driver-core) is the one that answers. */
const struct scsisim_driver_core *stack_core_ops(const struct stack *st);
struct osal *stack_osal(struct stack *st);
struct bus *stack_bus(struct stack *st);
enum stack_mode stack_mode(const struct stack *st);

#endif
