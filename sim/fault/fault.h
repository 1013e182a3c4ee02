/* sim/fault/fault.h — the controller's fault and timing engine: one set of
 * rules, written as one line of text each, that config files ([fault]
 * section), trace directives (@fault) and live control (scsisim ctl inject)
 * all hand to the same parser, plus the per-LU and per-opcode statistics the
 * firmware keeps while it applies them (docs/faults.md).
 *
 *     KIND [key=value]...
 *
 *     medium        lba=N [count=N] [io=read|write|rw] [recovered=yes|no]
 *     every-nth     n=N [sense=K/ASC/ASCQ]
 *     latency       dist=fixed|uniform|exp|tail time=T [min=T max=T] [tail=T p=PCT]
 *     hang          [after=T]
 *     busy          [fraction=F] [status=busy|task-set-full]
 *     lose          [fraction=F]
 *     duplicate     [fraction=F]
 *     write-protect
 *     capacity      blocks=N          (an action: applied once, not kept)
 *     reorder       [window=N] [step=T]
 *     spurious      [n=N]
 *     iommu-fault   nth=N             (counts the DMA accesses of matching commands)
 *     fatal         [nth=N]
 *     remove        (an action: drive=T:L is pulled out)
 *     insert        blocks=N [block-size=512|4096]   (an action: a new drive at drive=T:L)
 *     io-error      file=media|journal|battery call=open|stat|read|write|sync|truncate|rename|discard|seek
 *                   [count=N] [errno=EIO|ENOSPC|EROFS|EDQUOT|EINTR|short|eof]
 *                   (an action: the drive's store fails its next N such system calls)
 *     reopen        (an action: the drive's store closes and reopens its files, as a restart would)
 *     battery       state=absent|good|failed   (an action: the drive's cache battery changes now)
 *     admin-refuse  admin=identify|create-cq|create-sq|set-feature|abort|reset|...|0xNN [nth=N]
 *                   (the controller answers that admin command INVALID_FIELD without running it)
 *     reset-fail    [nth=N] (a hard reset leaves the controller off the bus: STATUS reads
 *                   all-ones until a power cycle)
 *     irq-lost      [queue=io|admin] [nth=N] (the interrupt of an I/O completion, or with
 *                   queue=admin of an admin completion, is lost: the entry is posted, the
 *                   vector is not raised)
 *                   (these three, the controller's own, fire from the Nth occasion on, default
 *                   the first; limit= caps how many times)
 *
 *   and on every kind but admin-refuse, reset-fail and irq-lost (the controller's own):  drive=T:L (default any drive)  op=any|read|write|sync|
 *   tur|inquiry|0xNN (default any; medium takes io= instead)  limit=N (fires
 *   at most N times; default unlimited)  seed=N (of the rule's own random
 *   numbers; default the controller's seed plus the rule's number).
 *
 * A rule's random choices come from its own generator, seeded by seed= alone,
 * so the same rules over the same commands choose the same way every run.
 *
 * Thread safety: a struct fault_set has its own lock; the firmware thread
 * evaluates and records while a control thread adds, clears and reads.  The
 * per-command calls take it only when they have to: fault_eval not while no
 * rule that judges commands is set (cmd_rules), fault_stats_note never (the
 * firmware thread is the statistics' one writer; see fault_stats.c). */
#ifndef SIM_FAULT_FAULT_H
#define SIM_FAULT_FAULT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/tbuf.h"
#include "scsi/sense.h"

#define FAULT_RULES_MAX 64u
#define FAULT_TEXT_MAX  512u /* longest rule line */

enum fault_kind {
    FAULT_MEDIUM = 1,
    FAULT_EVERY_NTH,
    FAULT_LATENCY,
    FAULT_HANG,
    FAULT_BUSY,
    FAULT_LOSE,
    FAULT_WRITE_PROTECT,
    FAULT_CAPACITY,
    FAULT_DUPLICATE,
    FAULT_REORDER,
    FAULT_SPURIOUS,
    FAULT_IOMMU_FAULT,
    FAULT_FATAL,
    FAULT_REMOVE,
    FAULT_INSERT,
    FAULT_IO_ERROR,
    FAULT_REOPEN,
    FAULT_BATTERY,
    FAULT_ADMIN_REFUSE,
    FAULT_RESET_FAIL,
    FAULT_IRQ_LOST,
};

enum fault_dist { FAULT_DIST_FIXED = 1, FAULT_DIST_UNIFORM, FAULT_DIST_EXP, FAULT_DIST_TAIL };
enum fault_io { FAULT_IO_READ = 1, FAULT_IO_WRITE = 2, FAULT_IO_RW = 3 };

struct fault_rule {
    enum fault_kind kind;
    bool     any_drive;
    uint16_t target, lun;
    int      op;              /* -1 any, 0..255 one opcode, or FAULT_OP_* family */
    uint64_t limit;           /* 0 = unlimited */
    bool     seed_given;
    uint64_t seed;
    /* medium */
    uint64_t lba, count;
    enum fault_io io;
    bool     recovered;
    /* every-nth, spurious (n=: every Nth); fatal, iommu-fault (nth=: the Nth, once) */
    uint64_t nth;
    /* reorder: completions of each window of N matching commands are held
     * (N-1-i) * step, so the i-th of a window that arrives together completes
     * last-first */
    uint64_t window, step_ns;
    struct scsi_sense_reason sense;
    /* latency; hang after= (0 = never) */
    enum fault_dist dist;
    uint64_t time_ns, min_ns, max_ns, tail_ns;
    double   p;               /* tail: percent of commands that get time= */
    uint64_t after_ns;
    /* busy, lose */
    double   fraction;        /* 0..1, default 1 */
    uint8_t  status;          /* busy: SCSI_STATUS_BUSY or _TASK_SET_FULL */
    /* capacity, insert */
    uint64_t blocks;
    uint32_t block_size;      /* insert: 512 (default) or 4096 */
    /* io-error: enum sim_store_file and sim_store_call (sim/store/store.h),
     * and the errno the calls fail with (count= is how many) */
    int      io_file, io_call, io_errno;
    /* battery: enum hba_battery */
    int      battery;
    /* admin-refuse: the admin opcode (enum hba_admin_opcode, 0x80..0xFF) */
    uint8_t  admin_op;
    /* irq-lost queue=admin: the admin CQ's interrupt is lost instead of an I/O CQ's */
    bool     irq_admin;
    /* state, not part of the text */
    uint64_t prng, seen, fired;
    bool     armed;           /* iommu-fault: the command running now matches */
};

/* Opcode families for op= (negative so they never collide with an opcode). */
enum { FAULT_OP_ANY = -1, FAULT_OP_READ = -2, FAULT_OP_WRITE = -3, FAULT_OP_SYNC = -4 };

/* Parses one rule line.  0, or -EINVAL with err naming the word, its column
 * (1-based, in *col when col is not NULL) and what to write instead. */
int  fault_rule_parse(const char *text, struct fault_rule *r, char *err, size_t errlen, unsigned *col);
/* Writes the rule in its canonical form (parse -> format -> parse is the identity). */
void fault_rule_format(const struct fault_rule *r, struct tbuf *b);
bool fault_rule_equal(const struct fault_rule *a, const struct fault_rule *b);
const char *fault_kind_name(enum fault_kind k);
/* Capacity, remove and insert are actions: the controller applies them once
 * (sim_ctrl_fault_add); they are never kept as rules, nor allowed in a
 * configuration. */
bool fault_rule_is_action(const struct fault_rule *r);

/* What the engine decided for one command. */
enum fault_outcome {
    FAULT_RUN = 0,        /* run it normally (perhaps delayed) */
    FAULT_CHECK,          /* do not run: CHECK CONDITION with v->sense */
    FAULT_CHECK_AFTER,    /* run it; if GOOD, CHECK CONDITION with v->sense (recovered errors) */
    FAULT_STATUS,         /* do not run: v->status with no sense (BUSY, TASK SET FULL) */
    FAULT_HOLD,           /* do not run, never complete (until an abort or reset) */
    FAULT_LOST,           /* run it, then lose the completion */
    FAULT_DUP,            /* run it, then post its completion twice */
    FAULT_FATAL_STATUS,   /* do not run: the controller enters FAULT (HBA_FAULT_INJECTED) */
};
struct fault_verdict {
    enum fault_outcome outcome;
    struct scsi_sense_reason sense;
    uint8_t  status;
    uint64_t delay_ns;    /* hold the completion this long */
    bool     spurious;    /* raise the command's vector once before anything is posted */
};

struct fault_cmd {
    uint16_t target, lun;
    const uint8_t *cdb;
    uint8_t  cdb_len;
};

/* Latency percentiles come from a log histogram: 16 buckets per power of two
 * of nanoseconds, so a percentile is exact to within 6.25%.  An opcode's
 * histogram is allocated when it is first seen (most of the 256 never are),
 * and kept until the set is freed: a reset does not free it.
 *
 * The counters only grow, written by one thread (the firmware's) with relaxed
 * atomics; a reset (any thread, under the lock) copies them into base_*, and
 * a reader reports the difference.  So a reset never races the writer. */
#define FAULT_HIST_SUB     16u
#define FAULT_HIST_BUCKETS (64u * FAULT_HIST_SUB)
struct fault_op_stats {
    _Atomic uint64_t count, bytes, injected, lat_sum_ns;
    /* 2 * FAULT_HIST_BUCKETS counters (the live ones, then the reset's copy),
     * or NULL; published once with release by the writer */
    _Atomic(_Atomic uint32_t *) hist;
    uint64_t base_count, base_bytes, base_injected, base_lat_sum_ns; /* under the lock */
};
#define FAULT_STATS_LUS 64u
struct fault_lu_stats {
    _Atomic bool used;        /* set once, with release, after target and lun */
    uint16_t target, lun;
    _Atomic uint64_t count, bytes, injected;
    uint64_t base_count, base_bytes, base_injected;                  /* under the lock */
};

struct fault_set {
    pthread_mutex_t lock;
    uint64_t base_seed;
    uint64_t next_number;              /* rule numbers, for default seeds */
    struct fault_rule rules[FAULT_RULES_MAX];
    size_t   nrules;
    _Atomic uint32_t dma_rules;        /* iommu-fault rules set: 0 lets fault_dma_access skip the lock */
    _Atomic uint32_t own_rules;        /* admin-refuse, reset-fail, irq-lost rules: 0 skips the lock likewise */
    _Atomic uint32_t cmd_rules;        /* rules fault_eval acts on (all but those three): 0 skips its lock */
    struct fault_op_stats op[256];
    struct fault_lu_stats lu[FAULT_STATS_LUS];
};

int  fault_set_init(struct fault_set *s, uint64_t base_seed);
void fault_set_fini(struct fault_set *s);
/* Adds a rule (actions are refused here with -EINVAL: the controller applies
 * them).  0, -ENOSPC when FAULT_RULES_MAX are set. */
int  fault_set_add(struct fault_set *s, const struct fault_rule *r);
void fault_set_clear(struct fault_set *s);
/* The rules as JSON: [{"rule":"...","fired":N,"seen":N},...]. */
void fault_set_list_json(struct fault_set *s, struct tbuf *b);
size_t fault_set_count(struct fault_set *s);

/* Decides for one command (the firmware thread). */
void fault_eval(struct fault_set *s, const struct fault_cmd *c, struct fault_verdict *v);

/* One DMA access the controller makes for a command (its SGL, data or sense;
 * not queue entries): true when an iommu-fault rule says this access faults.
 * Called by the IOMMU (sim_iommu_set_access_hook) before it translates; it
 * counts for the rules whose drive= and op= matched the command fault_eval
 * last saw (the firmware runs one command at a time). */
bool fault_dma_access(struct fault_set *s);
/* True when an iommu-fault rule is set: then every DMA access must go through
 * the IOMMU's copy, which asks fault_dma_access (no direct window). */
bool fault_dma_rules_set(struct fault_set *s);

/* The controller's own rules, asked where the controller acts (not per SCSI
 * command): true when an admin-refuse rule refuses this admin opcode, or a
 * reset-fail rule fails this hard reset.  Each counts as the rule firing
 * (limit= applies). */
bool fault_admin_refused(struct fault_set *s, uint8_t admin_opcode);
bool fault_hard_reset_fails(struct fault_set *s);
/* qid: the CQ posted to; the admin CQ (0) never loses its signal. */
bool fault_irq_lost(struct fault_set *s, uint16_t qid);

/* Records a finished command: its opcode, drive, bytes, the time from fetch
 * to completion (injected delay included) and whether a rule changed it. */
void fault_stats_note(struct fault_set *s, uint16_t target, uint16_t lun, uint8_t opcode, uint64_t bytes,
                      uint64_t latency_ns, bool injected);
/* Counts from zero again, for the readers (the writer's counters only grow:
 * see struct fault_op_stats).  Any thread, while the firmware counts. */
void fault_stats_reset(struct fault_set *s);
/* The histograms' memory (fault_set_fini). */
void fault_stats_free(struct fault_set *s);
/* {"opcodes":[{"opcode":"0x28","count":..,"bytes":..,"injected":..,"p50_us":..,"p90_us":..,"p99_us":..,
 *  "p999_us":..,"mean_us":..},...],"lus":[{"drive":"0:0","count":..,"bytes":..,"injected":..},...]}
 * (without the closing brace when open is true, so a caller can add members). */
void fault_stats_json(struct fault_set *s, struct tbuf *b, bool open);
/* A latency percentile (0 < q < 1) of a histogram of FAULT_HIST_BUCKETS
 * counters (NULL: none), in ns; 0 when empty. */
uint64_t fault_hist_percentile(const uint32_t *hist, double q);
unsigned fault_hist_bucket(uint64_t ns);

#endif
