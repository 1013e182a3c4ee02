/* sim/ctrl/ctrl_internal.h — the controller core's private structures, shared by
 * sim/ctrl*.c and sim/ctrl/region.c.  Nothing outside sim/ctrl*.c includes this.
 *
 * Ownership: everything under `struct ctrl_fw` belongs to the firmware thread
 * while the controller is powered; power on / power cut touch it only while
 * the thread is stopped.  The event queue has its own lock because events are
 * raised from other threads (battery changes, unit attentions, ...).  Injection
 * requests are atomics the firmware thread polls.
 *
 * Two kinds of trouble are kept apart everywhere: a driver error (a bad entry,
 * a bad index) gets a controller status or a FAULT code and is logged as
 * "driver error" only when SCSISIM_SIM_VERBOSE is set; a simulator bug gets
 * HBA_CS_INTERNAL / HBA_FAULT_INTERNAL and is always logged as "simulator bug".
 */
#ifndef SIM_CTRL_CTRL_INTERNAL_H
#define SIM_CTRL_CTRL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/errf.h"
#include "sim/fault/fault.h"
#include "sim/fw/fw.h"
#include "sim/iommu/iommu.h"
#include "sim/posted.h"
#include "sim/sim.h"

/* ---- the shared region (sim/ctrl/region.c) ---------------------------------- */

struct sim_region {
    int      dev_fd;     /* device memory: BAR0 + PRIV page */
    uint8_t *dev;        /* this process's mapping of it (SIM_REGION_DEV_SIZE) */
    int      ram_fd;     /* host RAM (the host's memfd, duplicated); -1 until attached */
    uint8_t *ram;        /* this process's mapping of it */
    uint64_t ram_size;
    int      bell_fd;
    int      vector_fd[HBA_MAX_VECTORS];
    unsigned nvec;
};

/* Creates the device memory and the eventfds (no host RAM yet). */
int  sim_region_create(struct sim_region *r, unsigned nvec, char *err, size_t errlen);
void sim_region_destroy(struct sim_region *r);
/* Maps the host's RAM memfd (duplicated; validated with
 * sim_memfd_check), replacing any RAM attached before.  0 or -errno. */
int  sim_region_attach_ram(struct sim_region *r, int ram_fd, uint64_t ram_size, char *err, size_t errlen);
void sim_region_detach_ram(struct sim_region *r);
/* Empties an eventfd (non-blocking); returns the count it held. */
uint64_t sim_region_drain_fd(int fd);
void sim_region_ring(int fd);

/* ---- firmware state ---------------------------------------------------- */

/* Internal result of a step that may have put the controller into FAULT: the
 * command must then not be completed (a dead controller posts nothing). */
#define CTRL_CS_FAULTED 0x100

struct ctrl_sq {
    bool      live;
    uint32_t  gen;       /* bumped on every creation of this queue id */
    uint16_t  cqid;
    uint32_t  size;
    uint64_t  base;      /* IOVA (already truncated to the address lines) */
    uint32_t  head;      /* next entry the controller fetches */
    uint64_t *cids;      /* 65536-bit map of outstanding command ids */
};

struct ctrl_cqe {
    uint16_t cqid;
    uint32_t sq_gen;     /* generation of the SQ the command came from */
    struct hba_cq_entry e;
};

struct ctrl_cq {
    bool     live;
    bool     no_irq;
    uint16_t vector;
    uint32_t size;
    uint64_t base;
    uint32_t tail;       /* next slot the controller writes */
    uint32_t head;       /* CQ_HEAD as last read (validated) */
    uint8_t  phase;      /* phase tag of the current pass */
    unsigned users;      /* SQs completing here */
    struct ctrl_cqe *pend; /* completions waiting for room, oldest first */
    size_t   npend, pend_cap;
};

/* A command outstanding beyond the pass that fetched it.  A DELAYED one (a
 * fault rule's latency) already ran: its completion waits for due_ns. */
enum ctrl_held_kind { CTRL_HELD_ASYNC_EVENT = 1, CTRL_HELD_DROPPED = 2, CTRL_HELD_DELAYED = 3 };
struct ctrl_held {
    uint8_t  kind;
    uint16_t sqid, cid;
    uint16_t target, lun;
    /* DELAYED: the completion to post at due_ns */
    uint64_t due_ns;
    uint8_t  cs, ss, sense_len;
    uint32_t result;
};

struct ctrl_events {
    pthread_mutex_t lock;
    uint32_t ring[64];   /* result dwords, type | info << 8 */
    unsigned first, count;
    uint32_t lost;       /* dropped since the last OVERFLOW report */
    /* count || lost, written under the lock: ctrl_event_pop, asked every pass
     * while a request is held, takes the lock only when it is set */
    _Atomic bool pending;
};
#define CTRL_EVENT_DEPTH 64u
#define CTRL_ASYNC_MAX   64u /* HBA_ADM_ASYNC_EVENT commands held at once */

struct ctrl_vec {
    uint32_t pending;    /* completions not yet signalled (coalescing) */
    uint64_t deadline_ns;/* when the oldest of them must be signalled; 0 = none */
};

struct ctrl_seg {
    uint64_t addr;
    uint32_t len;
};

/* A finished command's statistics, waiting for its batch's end (ctrl_fw.notes). */
struct ctrl_note {
    uint64_t t0;                     /* its batch's fetch_ns */
    uint32_t bytes;
    uint16_t target, lun;
    uint8_t  opcode;
    bool     injected;
};
#define CTRL_NOTES_MAX 32u           /* settled early when full (a long fetch_io batch) */

struct ctrl_fw {
    enum hba_state state;
    uint32_t fault_code;
    uint32_t config;                 /* CONFIG as last written */
    uint32_t aq_sq_lo, aq_sq_hi, aq_cq_lo, aq_cq_hi, aq_size;
    unsigned key_step;               /* RESET_KEY values seen in order, 0..4 */
    bool     shut_down;              /* I/O fails with HBA_CS_SHUTDOWN */
    bool     shst;                   /* CONFIG.SHN shutdown done: STATUS.SHST_DONE */
    bool     shst_dirty;             /* ... but a flush failed: STATUS.SHST_DIRTY */
    uint64_t init_done_ns;           /* RESET -> READY at this time */
    bool     off_bus;                /* a reset-fail rule fired: STATUS reads all-ones until power-on */
    uint64_t last_work_ns;           /* the last pass that fetched a command (idle polling, ctrl.c) */

    struct ctrl_sq sq[HBA_MAX_QUEUES];
    struct ctrl_cq cq[HBA_MAX_QUEUES];
    unsigned rr_next;                /* I/O SQ the next pass starts with */
    /* Bit q: sq[q] / cq[q] is live.  A pass visits only the live queues
     * instead of testing all HBA_MAX_QUEUES of each (with a division each). */
    uint64_t sq_live, cq_live;
    /* The firmware thread's clock, read about once per batch instead of
     * several times per command.  The times it gives, and their resolution:
     * - clock_ns: its latest read, while no command ran since (0: none, the
     *   next user reads afresh).  A pass that follows a pass with work
     *   starts at it (firmware_main's now), so a busy pass reads the clock
     *   once, at its last batch's end; an idle pass reads it at its start.
     * - fetch_ns: when the running sq_service began fetching, the command's
     *   start at the controller: clock_ns if no command ran since it was
     *   read (at most a pass's register and IOMMU upkeep earlier), else a
     *   fresh read.
     * - a command's latency ends at its batch's end: the statistics of the
     *   batch's finished commands wait in notes and are noted together with
     *   one read (ctrl_stats_settle), not one per command.
     * - flush_ns: that read again, the time the pass's completion flush
     *   posts at (interrupt coalescing); 0: none since the last flush. */
    uint64_t clock_ns;
    uint64_t fetch_ns;
    struct ctrl_note notes[CTRL_NOTES_MAX];
    unsigned nnotes;
    uint64_t flush_ns;

    struct ctrl_held *held;
    size_t   nheld, held_cap;
    struct ctrl_cqe *batch;          /* completions of the current pass */
    size_t   nbatch, batch_cap;

    uint32_t coalescing;             /* HBA_FEATURE_INT_COALESCING value */
    struct ctrl_vec vec[HBA_MAX_VECTORS];

    uint64_t prng;                   /* reorder shuffles */
    struct ctrl_seg *segs;           /* SGL walk output, cfg.max_sges entries */
    uint8_t *bounce;                 /* data bounce buffer */
    size_t   bounce_cap;
    uint8_t *scratch;                /* queue probes, segment lists */
    size_t   scratch_cap;
};
_Static_assert(HBA_MAX_QUEUES <= 64, "sq_live and cq_live are 64-bit masks of the queues");

/* What sim_ctrl keeps per logical drive outside the firmware. */
struct ctrl_lu {
    uint16_t target, lun;
    _Atomic int battery;
    uint64_t cache_bytes;
    uint32_t queue_depth;            /* sim_lu_config.queue_depth */
};

struct sim_ctrl {
    struct sim_config cfg;           /* scalars only: lus / lu_count are not kept */
    struct ctrl_lu *lus;
    size_t   nlus;
    struct sim_region region;
    struct sim_attach attach;
    _Atomic uint32_t *bar;
    struct sim_priv_page *priv;
    uint8_t *ram;
    uint64_t addr_mask;              /* CAP ADDR_BITS */
    struct sim_iommu *iommu;
    struct fw *fw;
    bool     verbose;

    bool     powered;
    uint64_t lines_lost;             /* dirty lines lost at power cuts, for HBA_AEV_CACHE_LOST */
    pthread_t thread;
    _Atomic bool stop;

    /* The heartbeat has its own thread, as a firmware watchdog task has on a
     * real controller: a long fdatasync in the firmware thread (SYNCHRONIZE
     * CACHE on a big file-backed drive) must not look like a dead controller. */
    pthread_t beat_thread;
    pthread_mutex_t beat_lock;
    pthread_cond_t beat_cond;        /* signalled to stop the heartbeat thread */
    bool     beat_stop;              /* under beat_lock */
    _Atomic uint32_t beat;           /* the HEARTBEAT register's value */

    /* injection */
    _Atomic bool inj_hang, inj_stall, inj_fatal;
    /* An injection lands between two firmware passes: odd while a pass runs
     * (firmware_main), and sim_ctrl_inject waits out a pass it sees odd. */
    _Atomic uint64_t pass_seq;
    _Atomic uint32_t inj_drop;
    /* the fault and timing engine (sim/fault/): rules and statistics, with their own lock */
    struct fault_set faults;

    /* sim_ctrl_set_observer: arg is stored before fn is published */
    _Atomic(sim_cmd_observer) observer;
    void *_Atomic observer_arg;

    /* statistics the tests read */
    _Atomic uint64_t wakeups;        /* times the firmware returned from parking */
    _Atomic uint64_t driver_errors;
    _Atomic uint64_t sim_bugs;

    struct ctrl_events ev;
    struct ctrl_fw fw_state;
};

/* ---- ctrl_taskset.c ------------------------------------------------------ */
/* Whether e's LU has its task set full (queue-depth commands held). */
bool ctrl_task_set_full(const struct sim_ctrl *c, const struct hba_sq_entry *e);

/* ---- ctrl.c ------------------------------------------------------------ */
void ctrl_driver_error(struct sim_ctrl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctrl_sim_bug(struct sim_ctrl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- ctrl_regs.c: register file and state machine ---------------------- */
void ctrl_regs_power_on(struct sim_ctrl *c);
void ctrl_regs_zero(struct sim_ctrl *c);
/* Enters FAULT with code (the first fault code sticks). */
void ctrl_fault(struct sim_ctrl *c, enum hba_fault_code code);
/* Drains the posted-write FIFO and runs each write's transition. */
void ctrl_regs_drain(struct sim_ctrl *c);
/* Time-driven transitions: RESET -> READY. */
void ctrl_regs_tick(struct sim_ctrl *c, uint64_t now);
static inline uint32_t ctrl_reg_get(struct sim_ctrl *c, uint32_t off)
{
    return atomic_load_explicit(sim_reg(c->bar, off), memory_order_acquire);
}
static inline void ctrl_reg_set(struct sim_ctrl *c, uint32_t off, uint32_t val)
{
    atomic_store_explicit(sim_reg(c->bar, off), val, memory_order_release);
}

/* ---- ctrl_queue.c: SQ fetch, CQ posting, event index -------------------- */
/* Checks that a queue's memory is reachable before it is used: an SQ is read
 * whole, a CQ is cleared (the driver owns no entry in a fresh CQ).  Returns the
 * IOMMU's verdict; the caller decides what a fault means for it. */
enum sim_dma_result ctrl_queue_probe(struct sim_ctrl *c, uint16_t qid, uint64_t base, size_t bytes, bool cq);
/* Sets up a queue (parameters already validated); 0 or -ENOMEM. */
int  ctrl_queue_create_sq(struct sim_ctrl *c, uint16_t qid, uint64_t base, uint32_t size, uint16_t cqid);
int  ctrl_queue_create_cq(struct sim_ctrl *c, uint16_t qid, uint64_t base, uint32_t size, uint16_t vector,
                          bool no_irq);
void ctrl_queue_delete_sq(struct sim_ctrl *c, uint16_t qid, uint8_t status);
void ctrl_queue_delete_cq(struct sim_ctrl *c, uint16_t qid);
/* Drops every queue, held command and pending completion (power cut, hard reset). */
void ctrl_queue_forget_all(struct sim_ctrl *c);
void ctrl_queue_free(struct sim_ctrl *c);
/* Runs one pass over the admin SQ and the I/O SQs; returns entries fetched. */
unsigned ctrl_queue_pass(struct sim_ctrl *c);
/* Fetches what the I/O SQs hold now, ahead of an ABORT or a reset. */
void ctrl_queue_fetch_io(struct sim_ctrl *c);
/* Completes entries still in SQ qid (fetched or not) with `status`. */
void ctrl_queue_abort_sq(struct sim_ctrl *c, uint16_t qid, uint8_t status);
/* Queues a completion for the current batch. */
void ctrl_complete(struct sim_ctrl *c, uint16_t sqid, uint16_t cid, uint8_t ctrl_status, uint8_t scsi_status,
                   uint32_t result, uint8_t sense_len);
/* Posts the batch (shuffled when cfg.reorder) and retries waiting completions. */
void ctrl_queue_flush(struct sim_ctrl *c);
/* Notes the waiting statistics (ctrl_fw.notes) with one clock read now;
 * returns that read, or 0 when nothing waited (no read). */
uint64_t ctrl_stats_settle(struct sim_ctrl *c);
/* Before parking: publishes SQ_EVENT_IDX and says whether any SQ has work. */
bool ctrl_queue_arm(struct sim_ctrl *c);
bool ctrl_queue_waiting(const struct sim_ctrl *c); /* completions wait for CQ room */
bool ctrl_cid_busy(const struct ctrl_sq *sq, uint16_t cid);
/* Marks cid outstanding on SQ qid until its completion is posted. */
void ctrl_sq_mark(struct sim_ctrl *c, uint16_t qid, uint16_t cid);
int  ctrl_held_add(struct sim_ctrl *c, uint8_t kind, uint16_t sqid, uint16_t cid, uint16_t target, uint16_t lun);
void ctrl_held_remove(struct sim_ctrl *c, size_t i);
/* Holds a completion until due_ns (a fault rule's latency); 0 or -ENOMEM. */
int  ctrl_held_delay(struct sim_ctrl *c, uint16_t sqid, uint16_t cid, uint16_t target, uint16_t lun, uint64_t due_ns,
                     uint8_t cs, uint8_t ss, uint32_t result, uint8_t sense_len);
/* Completes the delayed commands that are due; returns the next due time (0 none). */
uint64_t ctrl_held_due(struct sim_ctrl *c, uint64_t now);

/* ---- DMA through the IOMMU (ctrl_sgl.c) ------------------------------------ */
/* Returns HBA_CS_SUCCESS (also when the IOMMU dropped the access: the
 * controller cannot tell), HBA_CS_DATA_XFER_ERROR, or CTRL_CS_FAULTED. */
int ctrl_dma_read(struct sim_ctrl *c, uint64_t iova, void *dst, size_t len, uint16_t sqid, uint16_t cid);
int ctrl_dma_write(struct sim_ctrl *c, uint64_t iova, const void *src, size_t len, uint16_t sqid, uint16_t cid);

/* ---- ctrl_sgl.c: scatter-gather lists ------------------------------------- */
struct ctrl_sgl {
    struct ctrl_seg *seg;
    size_t   nseg;
    uint32_t len;     /* bytes described (== data_len on success) */
};
/* Walks the SGL of an entry for data_len bytes; HBA_CS_* or CTRL_CS_FAULTED. */
int ctrl_sgl_walk(struct sim_ctrl *c, const struct hba_sge *first, uint32_t data_len, uint16_t sqid, uint16_t cid,
                  struct ctrl_sgl *out);
/* Moves len bytes between the bounce buffer and the SGL's host memory. */
int ctrl_sgl_copy_in(struct sim_ctrl *c, const struct ctrl_sgl *sgl, uint8_t *dst, uint32_t len, uint16_t sqid,
                     uint16_t cid);
int ctrl_sgl_copy_out(struct sim_ctrl *c, const struct ctrl_sgl *sgl, const uint8_t *src, uint32_t len,
                      uint16_t sqid, uint16_t cid);
/* Grows a firmware scratch buffer; NULL on allocation failure. */
uint8_t *ctrl_buffer(uint8_t **buf, size_t *cap, size_t need);

/* ---- ctrl_io.c / ctrl_admin.c ------------------------------------------- */
void ctrl_io_submit(struct sim_ctrl *c, uint16_t sqid, const struct hba_sq_entry *e);
void ctrl_admin_submit(struct sim_ctrl *c, const struct hba_sq_entry *e);
/* Completes held commands of the scope with status (resets, SQ deletion):
 * sqid / target / lun -1 match any; scsi_only leaves async event requests. */
void ctrl_abort_held(struct sim_ctrl *c, int sqid, bool scsi_only, int target, int lun, uint8_t status);

/* ---- ctrl_event.c: asynchronous events ---------------------------------- */
void ctrl_event_init(struct sim_ctrl *c);
void ctrl_event_fini(struct sim_ctrl *c);
void ctrl_event_clear(struct sim_ctrl *c);
/* Queues an event and wakes the firmware; callable from any thread. */
void ctrl_event_raise(struct sim_ctrl *c, uint8_t type, uint32_t info);
bool ctrl_event_pop(struct sim_ctrl *c, uint32_t *result);
/* Completes held ASYNC_EVENT commands while events are queued. */
void ctrl_event_deliver(struct sim_ctrl *c);

/* ---- ctrl_irq.c: interrupts --------------------------------------------- */
/* n completions were posted to a CQ of vector v. */
void ctrl_irq_note(struct sim_ctrl *c, uint16_t vector, uint32_t n, uint64_t now);
/* Signals coalesced vectors whose time is up; returns the next deadline (0 none). */
uint64_t ctrl_irq_tick(struct sim_ctrl *c, uint64_t now);
void ctrl_irq_reset(struct sim_ctrl *c);
/* Signals every vector with completions held back by coalescing. */
void ctrl_irq_flush(struct sim_ctrl *c);
/* A spurious interrupt (fault rule): sqid's vector with nothing new posted. */
void ctrl_irq_spurious(struct sim_ctrl *c, uint16_t sqid);

#endif
