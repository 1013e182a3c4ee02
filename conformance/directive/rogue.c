/* conformance/directive/rogue.c — rogue ACTION ... expect=OUTCOME: the harness
 * becomes a driver that breaks the datasheet (hw/hba.h, docs/controller.md)
 * and judges the controller's defence: the completion status it posts, the
 * FAULT code it goes to, the values it leaves in registers and log headers.
 * Each directive is one check (TRACE_CHECK_CONTROLLER).
 *
 *   rogue admin OPCODE [cdw0..cdw3=N] [len=N] [offset=N|addr=N] [sge-len=N] [sge-type=N] [pair=1|2]
 *               [times=N] [same-cid=1 [wait=N]] [coalesce=N]
 *   rogue io [opcode=N] [target=N] [lun=N] [initiator=N] [cdb-len=N] [flags=N] [port=N] [sense-len=N]
 *            [len=N] [sge-len=N] [sge-type=N] [addr=N] [list=N|chain=N] [times=N] [coalesce=N]
 *            [same-cid=1] [wait=N] [then=STEP,...] [sense-addr=N] [shutdown=1] [polled=1] [cq-full=1]
 *            [int-wait=MASK]
 *   rogue sq-tail QID VALUE            rogue cq-head QID VALUE
 *   rogue enable [sq-size=N] [cq-size=N] [sq-addr=N] [cq-addr=N]
 *   rogue write OFFSET VALUE [reg=OFFSET read=N]
 *   rogue hard-reset [keys=K,K,...] [fault-first=1] [poke-reg=OFFSET poke=N] [accepted=0|1]
 *                    [reg=OFFSET read=N]
 *   rogue events [dirty=N] [power-cut=1] [held=N] [faults=N] [ask=N] answers=LIST|none
 *
 * (events: dirty lines, a power cut, ASYNC EVENT requests held before and
 * asked after IOMMU faults; answers= lists the events the requests must be
 * answered with, by request in posting order: fault+K[-L], overflow:N,
 * cache-lost:N.)
 *
 * and after them expect=STATUS|fault:CODE with, as the action allows,
 * result=N, total=N, count=N, first=N (the GET LOG header), int-status=N,
 * accepted=0|1 (DIAG.KEY_ACCEPTED after the keys), reg=OFFSET read=N (a
 * register read back at the end), at=OFFSET is=N (32 bits of the data
 * buffer, little-endian).
 * The replay (replay_rogue.h) stops the driver core, acts, and starts it
 * again: the commands after the directive show the recovery.  A replay
 * needs "controller-layer". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "conformance/format/directive.h"
#include "conformance/format/trace_names.h"
#include "conformance/format/trace_priv.h"
#include "conformance/replay/replay_directive.h"
#include "conformance/replay/replay_rogue.h"
#include "scsi/scsi.h"
#include "sim/store/store_cache.h"
#include "stack/stack.h"

enum rogue_action { RA_ADMIN, RA_IO, RA_SQ_TAIL, RA_CQ_HEAD, RA_ENABLE, RA_WRITE, RA_HARD_RESET, RA_EVENTS, RA_COUNT };
static const char *const action_names[] = { "admin", "io", "sq-tail", "cq-head", "enable", "write", "hard-reset",
                                            "events" };
static const struct trace_words action_words = { action_names, RA_COUNT };

/* Completion statuses of hw/hba.h by value (0x00..0x11). */
static const char *const status_names[] = {
    "success",        "invalid-opcode", "invalid-field",   "cid-conflict",      "invalid-target",
    "sgl-zero-length", "sgl-too-many",  "sgl-invalid",     "sgl-short",         "xfer-too-long",
    "data-xfer-error", "sense-xfer-error", "aborted",      "aborted-reset",     "aborted-sq-deleted",
    "invalid-queue",  "shutdown",       "direction-mismatch",
};
static const struct trace_words status_words = { status_names, sizeof status_names / sizeof status_names[0] };
/* FAULT_CODE values (enum hba_fault_code), after "fault:". */
static const char *const fault_names[] = { "none", "bad-admin-queue", "iommu", "queue-access", "doorbell",
                                           "injected", "internal" };
static const struct trace_words fault_words = { fault_names, sizeof fault_names / sizeof fault_names[0] };
/* Admin opcodes 0x80.. (enum hba_opcode). */
static const char *const admin_names[] = { "identify", "create-cq", "create-sq", "delete-sq", "delete-cq",
                                           "get-feature", "set-feature", "abort", "async-event", "cache-flush",
                                           "shutdown", "get-log", "reset", "nexus-loss" };
static const struct trace_words admin_words = { admin_names, sizeof admin_names / sizeof admin_names[0] };

/* io then=: what the harness does once the firmware fetched the entries,
 * in order: DELETE SQ 1, ABORT of the first entry, a controller reset
 * (CONFIG.EN 1 -> 0), an admin TARGET reset of target 1 (a drive the
 * entries do not address), an admin LUN reset of 0:0, SET FEATURE interrupt
 * coalescing off, a bus reset, NEXUS LOSS of initiator 0. */
enum rogue_then { RT_NONE, RT_DELETE_SQ, RT_ABORT, RT_RESET, RT_RESET_OTHER, RT_RESET_LUN, RT_UNCOALESCE,
                  RT_RESET_BUS, RT_NEXUS_LOSS, RT_COUNT };
static const char *const then_names[] = { "none",        "delete-sq", "abort",      "reset",    "reset-other",
                                          "reset-lun",   "uncoalesce", "reset-bus", "nexus-loss" };
static const struct trace_words then_words = { then_names, RT_COUNT };

/* rogue events: the controller holds at most 64 ASYNC EVENT requests
 * (docs/controller.md 15); the harness's admin queue has room for the
 * requests asked at once and its own commands beside them. */
#define EVENTS_HELD_MAX 64u
#define EVENTS_ASK_MAX  100u
#define EVENTS_ANSWERS  8u /* items of answers= (a range counts once) */

/* One item of answers=: fault+K[-L] the directive's own IOMMU faults K..L
 * (0-based, their log sequence numbers counted from the log's total before
 * the first), overflow:N, cache-lost:N. */
struct rogue_event {
    uint8_t  type; /* HBA_AEV_* */
    uint32_t lo, hi;
};

enum rogue_key {
    K_CDW0, K_CDW1, K_CDW2, K_CDW3, K_LEN, K_OFFSET, K_ADDR, K_SGE_LEN, K_SGE_TYPE, K_TARGET, K_LUN,
    K_CHAIN, K_LIST, K_OPCODE, K_INITIATOR, K_CDB_LEN, K_FLAGS, K_PORT, K_SENSE_LEN, K_TIMES, K_COALESCE, K_SQ_SIZE, K_CQ_SIZE,
    K_SQ_ADDR, K_CQ_ADDR, K_PAIR, K_SAME_CID, K_WAIT, K_SENSE_ADDR, K_SHUTDOWN, K_POKE_REG, K_POKE, K_FAULT_FIRST, K_REG, K_READ, K_ACCEPTED, K_RESULT, K_TOTAL, K_COUNT, K_FIRST, K_INT_STATUS, K_AT, K_IS,
    K_HELD, K_FAULTS, K_DIRTY, K_POWER_CUT, K_ASK, K_POLLED, K_CQ_FULL, K_INT_WAIT, K_COUNT_OF_KEYS
};

#define A(x) (1u << (x))
static const struct {
    const char *name;
    unsigned actions; /* where it may appear */
    uint64_t max;
    bool hex;         /* printed in hex: addresses, registers, dwords */
} keys[K_COUNT_OF_KEYS] = {
    [K_CDW0] = { "cdw0", A(RA_ADMIN), UINT32_MAX, true },
    [K_CDW1] = { "cdw1", A(RA_ADMIN), UINT32_MAX, true },
    [K_CDW2] = { "cdw2", A(RA_ADMIN), UINT32_MAX, true },
    [K_CDW3] = { "cdw3", A(RA_ADMIN), UINT32_MAX, true },
    [K_LEN] = { "len", A(RA_ADMIN) | A(RA_IO), ROGUE_DATA_BYTES / 2 },
    [K_OFFSET] = { "offset", A(RA_ADMIN) | A(RA_IO), ROGUE_DATA_BYTES / 2 },
    [K_ADDR] = { "addr", A(RA_ADMIN) | A(RA_IO), UINT64_MAX, true },
    [K_SGE_LEN] = { "sge-len", A(RA_ADMIN) | A(RA_IO), UINT32_MAX },
    [K_SGE_TYPE] = { "sge-type", A(RA_ADMIN) | A(RA_IO), 0xFF },
    [K_CHAIN] = { "chain", A(RA_ADMIN) | A(RA_IO), HBA_SGL_SEGMENT_MAX + 1 },
    [K_LIST] = { "list", A(RA_ADMIN) | A(RA_IO), HBA_SGL_SEGMENT_MAX },
    [K_OPCODE] = { "opcode", A(RA_IO), 0xFF },
    [K_TARGET] = { "target", A(RA_IO), 0xFFFF },
    [K_LUN] = { "lun", A(RA_IO), 0xFFFF },
    [K_INITIATOR] = { "initiator", A(RA_IO), 0xFFFF },
    [K_CDB_LEN] = { "cdb-len", A(RA_IO), 0xFF },
    [K_FLAGS] = { "flags", A(RA_IO), 0xFF },
    [K_PORT] = { "port", A(RA_IO), 0xFFFF },
    [K_SENSE_LEN] = { "sense-len", A(RA_IO), 0xFF },
    [K_TIMES] = { "times", A(RA_ADMIN) | A(RA_IO), 1000 },
    [K_COALESCE] = { "coalesce", A(RA_ADMIN) | A(RA_IO), UINT32_MAX, true },
    [K_SQ_SIZE] = { "sq-size", A(RA_ENABLE), 0xFFFF },
    [K_CQ_SIZE] = { "cq-size", A(RA_ENABLE), 0xFFFF },
    [K_SQ_ADDR] = { "sq-addr", A(RA_ENABLE), UINT64_MAX, true },
    [K_CQ_ADDR] = { "cq-addr", A(RA_ENABLE), UINT64_MAX, true },
    [K_PAIR] = { "pair", A(RA_ADMIN), 2 },
    [K_SAME_CID] = { "same-cid", A(RA_ADMIN) | A(RA_IO), 1 },
    [K_WAIT] = { "wait", A(RA_ADMIN) | A(RA_IO), 1000 },
    [K_SHUTDOWN] = { "shutdown", A(RA_IO), 1 },
    [K_SENSE_ADDR] = { "sense-addr", A(RA_IO), UINT64_MAX, true },
    [K_POKE_REG] = { "poke-reg", A(RA_HARD_RESET), HBA_BAR0_SIZE - 4, true },
    [K_POKE] = { "poke", A(RA_HARD_RESET), UINT32_MAX, true },
    [K_FAULT_FIRST] = { "fault-first", A(RA_HARD_RESET), 1 },
    [K_REG] = { "reg", A(RA_WRITE) | A(RA_HARD_RESET), HBA_BAR0_SIZE - 4, true },
    [K_READ] = { "read", A(RA_WRITE) | A(RA_HARD_RESET), UINT32_MAX, true },
    [K_ACCEPTED] = { "accepted", A(RA_HARD_RESET), 1 },
    [K_RESULT] = { "result", A(RA_ADMIN) | A(RA_IO), UINT32_MAX },
    [K_TOTAL] = { "total", A(RA_ADMIN), UINT32_MAX },
    [K_COUNT] = { "count", A(RA_ADMIN), UINT32_MAX },
    [K_FIRST] = { "first", A(RA_ADMIN), UINT32_MAX },
    [K_INT_STATUS] = { "int-status", A(RA_IO), UINT32_MAX, true },
    [K_AT] = { "at", A(RA_ADMIN) | A(RA_IO), ROGUE_DATA_BYTES - 4, true },
    [K_IS] = { "is", A(RA_ADMIN) | A(RA_IO), UINT32_MAX, true },
    [K_HELD] = { "held", A(RA_EVENTS), EVENTS_HELD_MAX },
    [K_FAULTS] = { "faults", A(RA_EVENTS), 1000 },
    [K_DIRTY] = { "dirty", A(RA_EVENTS), ROGUE_IOQ_ENTRIES - 1 },
    [K_POWER_CUT] = { "power-cut", A(RA_EVENTS), 1 },
    [K_ASK] = { "ask", A(RA_EVENTS), EVENTS_ASK_MAX },
    [K_POLLED] = { "polled", A(RA_IO), 1 },
    [K_CQ_FULL] = { "cq-full", A(RA_IO), 1 },
    [K_INT_WAIT] = { "int-wait", A(RA_IO), UINT32_MAX, true },
};

struct trace_rogue {
    enum rogue_action action;
    uint8_t  opcode;       /* admin */
    uint32_t qid, value;   /* sq-tail, cq-head */
    bool     given[K_COUNT_OF_KEYS];
    uint64_t val[K_COUNT_OF_KEYS];
    uint8_t  then[3];      /* io: enum rogue_then steps after the entries */
    uint8_t  nthen;
    uint8_t  keys[8];      /* hard-reset keys=: 1-4 the datasheet's keys, 0 a wrong value */
    uint8_t  nkeys;
    bool     keys_given;
    struct rogue_event answers[EVENTS_ANSWERS]; /* events: what the ASYNC EVENT requests are answered, in order */
    uint8_t  nanswers;
    bool     answers_given;
    bool     expect_fault; /* expect=fault:CODE */
    uint8_t  expect;       /* a status, or the fault code */
};

static int parse_action_args(struct tp *p, struct trace_rogue *g)
{
    struct tp_tok tok;
    uint64_t v;
    int got, w;
    if (g->action == RA_ADMIN) {
        if ((got = tp_next(p, &tok)) <= 0)
            return got < 0 ? got : tp_fail(p, tp_end_col(p), "rogue admin needs an opcode: a name (identify, "
                                           "create-cq, ..., nexus-loss) or a number 0-255");
        if (tok.len && tok.s[0] >= '0' && tok.s[0] <= '9') {
            if (tp_u64(p, &tok, "admin opcode", 0xFF, &v))
                return -EINVAL;
            g->opcode = (uint8_t)v;
        } else {
            if (tp_word(p, &tok, &admin_words, "admin opcode", &w))
                return -EINVAL;
            g->opcode = (uint8_t)(HBA_ADM_IDENTIFY + w);
        }
    } else if (g->action == RA_WRITE) {
        if ((got = tp_next(p, &tok)) <= 0)
            return got < 0 ? got : tp_fail(p, tp_end_col(p), "rogue write needs a register offset and a value "
                                           "(e.g. rogue write 0x0 0)");
        if (tp_u64(p, &tok, "register offset", HBA_BAR0_SIZE - 4, &v))
            return -EINVAL;
        if (v % 4)
            return tp_fail(p, tok.col, "register offset %#llx is not a multiple of 4", (unsigned long long)v);
        g->qid = (uint32_t)v;
        if ((got = tp_next(p, &tok)) <= 0)
            return got < 0 ? got : tp_fail(p, tp_end_col(p), "rogue write needs the value after the offset");
        if (tp_u64(p, &tok, "register value", UINT32_MAX, &v))
            return -EINVAL;
        g->value = (uint32_t)v;
    } else if (g->action == RA_SQ_TAIL || g->action == RA_CQ_HEAD) {
        const char *what = g->action == RA_SQ_TAIL ? "rogue sq-tail" : "rogue cq-head";
        if ((got = tp_next(p, &tok)) <= 0)
            return got < 0 ? got : tp_fail(p, tp_end_col(p), "%s needs a queue id and a value (e.g. %s 1 64)",
                                           what, what);
        if (tp_u64(p, &tok, "queue id", HBA_MAX_QUEUES - 1, &v))
            return -EINVAL;
        g->qid = (uint32_t)v;
        if ((got = tp_next(p, &tok)) <= 0)
            return got < 0 ? got : tp_fail(p, tp_end_col(p), "%s needs the value to write after the queue id",
                                           what);
        if (tp_u64(p, &tok, "doorbell value", UINT32_MAX, &v))
            return -EINVAL;
        g->value = (uint32_t)v;
    }
    return 0;
}

/* keys=K,K,...: 1-4 name HBA_RESET_KEY_1..4, 0 a value that is none of them. */
static int parse_keys(struct tp *p, struct trace_rogue *g, const struct tp_tok *val)
{
    if (g->keys_given)
        return tp_fail(p, val->col, "keys= given twice");
    g->keys_given = true;
    for (size_t i = 0; i < val->len; i++) {
        char ch = val->s[i];
        bool digit = ch >= '0' && ch <= '4', want_digit = i % 2 == 0;
        if (want_digit ? !digit : ch != ',')
            return tp_fail(p, val->col + (unsigned)i, "keys= is a list like 1,2,3,4: 1-4 the reset keys, 0 a wrong "
                           "value, separated by ','");
        if (digit) {
            if (g->nkeys == sizeof g->keys)
                return tp_fail(p, val->col + (unsigned)i, "keys= has at most %zu keys", sizeof g->keys);
            g->keys[g->nkeys++] = (uint8_t)(ch - '0');
        }
    }
    if (!g->nkeys || val->s[val->len - 1] == ',')
        return tp_fail(p, val->col + (unsigned)val->len, "keys= needs a key after each ','");
    return 0;
}

/* then=STEP[,STEP...]: at most three of delete-sq, abort, reset, reset-other. */
static int parse_then(struct tp *p, struct trace_rogue *g, const struct tp_tok *val)
{
    struct tp_tok step = *val;
    for (size_t i = 0; i <= val->len; i++) {
        if (i < val->len && val->s[i] != ',')
            continue;
        step.len = (size_t)(val->s + i - step.s);
        int w = RT_NONE;
        if (g->nthen == sizeof g->then)
            return tp_fail(p, step.col, "then= has at most %zu steps", sizeof g->then);
        if (step.len && tp_word(p, &step, &then_words, "then= step", &w))
            return -EINVAL;
        if (w == RT_NONE)
            return tp_fail(p, step.col, "then= steps are delete-sq, abort, reset, reset-other, reset-lun, "
                           "uncoalesce, reset-bus or nexus-loss, separated by ','");
        g->then[g->nthen++] = (uint8_t)w;
        step.s = val->s + i + 1;
        step.col = val->col + (unsigned)i + 1;
    }
    return 0;
}

/* answers=ITEM[,ITEM...] or answers=none. */
static int parse_answers(struct tp *p, struct trace_rogue *g, const struct tp_tok *val)
{
    static const char usage[] = "answers= is none, or a list of fault+K (the directive's K-th fault, from 0), "
                                "fault+K-L, overflow:N or cache-lost:N separated by ','";
    g->answers_given = true;
    if (tp_tok_is(val, "none"))
        return 0;
    const char *s = val->s, *end = val->s + val->len;
    while (s < end) {
        unsigned col = val->col + (unsigned)(s - val->s);
        const char *item_end = memchr(s, ',', (size_t)(end - s));
        if (!item_end)
            item_end = end;
        if (g->nanswers == EVENTS_ANSWERS)
            return tp_fail(p, col, "answers= has at most %u items (a range fault+K-L is one)", EVENTS_ANSWERS);
        struct rogue_event *a = &g->answers[g->nanswers++];
        static const struct { const char *pfx; uint8_t type; } kinds[] = {
            { "fault+", HBA_AEV_IOMMU_FAULT }, { "overflow:", HBA_AEV_OVERFLOW }, { "cache-lost:", HBA_AEV_CACHE_LOST },
        };
        size_t k = 0, plen = 0;
        while (k < sizeof kinds / sizeof kinds[0] &&
               ((plen = strlen(kinds[k].pfx)) > (size_t)(item_end - s) || strncmp(s, kinds[k].pfx, plen)))
            k++;
        if (k == sizeof kinds / sizeof kinds[0])
            return tp_fail(p, col, "%s", usage);
        a->type = kinds[k].type;
        const char *dash = a->type == HBA_AEV_IOMMU_FAULT ? memchr(s + plen, '-', (size_t)(item_end - s - plen)) : NULL;
        struct tp_tok num = { .s = s + plen, .len = (size_t)((dash ? dash : item_end) - (s + plen)),
                              .col = col + (unsigned)plen };
        uint64_t v;
        if (!num.len)
            return tp_fail(p, num.col, "%s", usage);
        if (tp_u64(p, &num, "answers= number", 0xFFFFFF, &v))
            return -EINVAL;
        a->lo = a->hi = (uint32_t)v;
        if (dash) {
            num = (struct tp_tok){ .s = dash + 1, .len = (size_t)(item_end - dash - 1), .col = col + (unsigned)(dash + 1 - s) };
            if (!num.len)
                return tp_fail(p, num.col, "%s", usage);
            if (tp_u64(p, &num, "answers= range end", 0xFFFFFF, &v))
                return -EINVAL;
            if (v < a->lo)
                return tp_fail(p, num.col, "fault+%u-%llu: the range ends before it starts", a->lo,
                               (unsigned long long)v);
            a->hi = (uint32_t)v;
        }
        s = item_end + (item_end < end);
        if (item_end < end && s == end)
            return tp_fail(p, val->col + (unsigned)val->len, "answers= needs an item after each ','");
    }
    return 0;
}

/* How many ASYNC EVENT answers answers= lists. */
static unsigned answers_total(const struct trace_rogue *g)
{
    unsigned n = 0;
    for (uint8_t i = 0; i < g->nanswers; i++)
        n += g->answers[i].hi - g->answers[i].lo + 1;
    return n;
}

static int parse_expect(struct tp *p, struct trace_rogue *g, const struct tp_tok *val)
{
    int w;
    if (val->len > 6 && !strncmp(val->s, "fault:", 6)) {
        struct tp_tok code = *val;
        code.s += 6;
        code.len -= 6;
        code.col += 6;
        if (tp_word(p, &code, &fault_words, "FAULT code", &w))
            return -EINVAL;
        g->expect_fault = true;
    } else if (tp_word(p, val, &status_words, "controller status (or fault:CODE)", &w)) {
        return -EINVAL;
    }
    g->expect = (uint8_t)w;
    return 0;
}

/* An option's value, 0 when not given (parse-time checks). */
static uint64_t opt_given(const struct trace_rogue *g, enum rogue_key k)
{
    return g->given[k] ? g->val[k] : 0;
}

static int rogue_parse(struct tp *p, struct trace_directive *d)
{
    struct tp_tok tok, key, val;
    char shown[48];
    int got, w;
    if ((got = tp_next(p, &tok)) <= 0)
        return got < 0 ? got : tp_fail(p, tp_end_col(p), "rogue needs an action: admin, io, sq-tail, cq-head, "
                                       "enable, write, hard-reset or events");
    if (tp_word(p, &tok, &action_words, "rogue action", &w))
        return -EINVAL;
    struct trace_rogue one = { 0 }, *g = &one; /* allocated once it is whole */
    g->action = (enum rogue_action)w;
    if (parse_action_args(p, g))
        return -EINVAL;
    bool have_expect = false;
    unsigned kcol[K_COUNT_OF_KEYS] = { 0 }, keys_col = 0, answers_col = 0; /* where each option was written */
    while ((got = tp_next(p, &tok)) == 1) {
        if (!tp_split_kv(&tok, &key, &val))
            return tp_fail(p, tok.col, "unexpected '%s'; rogue %s takes key=value options and expect=...",
                           tp_tok_str(&tok, shown, sizeof shown), action_names[g->action]);
        if (tp_tok_is(&key, "then") && g->action == RA_IO) {
            if (g->nthen)
                return tp_fail(p, key.col, "then= given twice");
            if (parse_then(p, g, &val))
                return -EINVAL;
            continue;
        }
        if (tp_tok_is(&key, "answers") && g->action == RA_EVENTS) {
            if (g->answers_given)
                return tp_fail(p, key.col, "answers= given twice");
            answers_col = key.col;
            if (parse_answers(p, g, &val))
                return -EINVAL;
            continue;
        }
        if (tp_tok_is(&key, "keys") && g->action == RA_HARD_RESET) {
            keys_col = key.col;
            if (parse_keys(p, g, &val))
                return -EINVAL;
            continue;
        }
        if (tp_tok_is(&key, "expect")) {
            if (have_expect)
                return tp_fail(p, tok.col, "expect= given twice");
            if (parse_expect(p, g, &val))
                return -EINVAL;
            have_expect = true;
            continue;
        }
        int k = 0;
        while (k < K_COUNT_OF_KEYS && !tp_tok_is(&key, keys[k].name))
            k++;
        if (k == K_COUNT_OF_KEYS || !(keys[k].actions & A(g->action)))
            return tp_fail(p, key.col, "rogue %s has no option '%s'", action_names[g->action],
                           tp_tok_str(&key, shown, sizeof shown));
        if (g->given[k])
            return tp_fail(p, key.col, "%s= given twice", keys[k].name);
        if (tp_u64(p, &val, keys[k].name, keys[k].max, &g->val[k]))
            return -EINVAL;
        g->given[k] = true;
        kcol[k] = key.col;
    }
    if (got < 0)
        return got;
#define LATER(a, b) (kcol[a] > kcol[b] ? kcol[a] : kcol[b])
    if (g->given[K_IS] != g->given[K_AT])
        return tp_fail(p, LATER(K_IS, K_AT), "at=OFFSET and is=VALUE go together: where in the data buffer and "
                       "the 32-bit value there");
    if (g->given[K_READ] != g->given[K_REG])
        return tp_fail(p, LATER(K_READ, K_REG), "reg=OFFSET and read=VALUE go together: the register and what "
                       "it reads");
    if (g->given[K_FAULT_FIRST] && g->keys_given &&
        (g->nkeys < 4 || memcmp(g->keys + g->nkeys - 4, "\1\2\3\4", 4)))
        return tp_fail(p, keys_col, "fault-first=1 needs keys that end in 1,2,3,4: a controller in FAULT "
                       "answers nothing else, so a refused sequence could not be told from a slow one");
    if (g->given[K_LIST] && g->given[K_CHAIN])
        return tp_fail(p, LATER(K_LIST, K_CHAIN), "list= and chain= both write the segment list: give one");
    if (g->given[K_ADDR] && g->given[K_OFFSET])
        return tp_fail(p, LATER(K_ADDR, K_OFFSET), "addr= and offset= both place the SGE: give one");
    if (g->given[K_INT_WAIT] && g->nthen)
        return tp_fail(p, kcol[K_INT_WAIT], "int-wait= judges the interrupts of the entries alone: it takes no "
                       "then=");
    if (opt_given(g, K_CQ_FULL) && (g->nthen || g->given[K_WAIT] || opt_given(g, K_SAME_CID)))
        return tp_fail(p, kcol[K_CQ_FULL], "cq-full=1 waits for every entry's completion itself: it takes no "
                       "then=, wait= or same-cid=");
#undef LATER
    if (g->action == RA_EVENTS) {
        if (!g->answers_given)
            return tp_fail(p, tp_end_col(p), "rogue events needs answers=: the events the ASYNC EVENT requests are "
                           "answered with, in order (or answers=none)");
        for (uint8_t i = 0; i < g->nanswers; i++)
            if (g->answers[i].type == HBA_AEV_IOMMU_FAULT && g->answers[i].hi >= opt_given(g, K_FAULTS))
                return tp_fail(p, answers_col, "answers= names fault+%u, but the directive causes %llu fault(s) "
                               "(faults=N, counted from 0)", g->answers[i].hi,
                               (unsigned long long)opt_given(g, K_FAULTS));
        if (answers_total(g) > opt_given(g, K_HELD) + opt_given(g, K_ASK))
            return tp_fail(p, answers_col, "answers= lists %u events, but only held= + ask= = %llu requests can "
                           "answer", answers_total(g),
                           (unsigned long long)(opt_given(g, K_HELD) + opt_given(g, K_ASK)));
    }
    if (!have_expect)
        return tp_fail(p, tp_end_col(p), "rogue needs expect=STATUS or expect=fault:CODE: what the datasheet "
                       "says the controller answers");
    if (!(d->rogue = malloc(sizeof *d->rogue)))
        return tp_fail(p, 1, "out of memory");
    *d->rogue = one;
    return 0;
}

static void rogue_print(struct tbuf *b, const struct trace_directive *d)
{
    const struct trace_rogue *g = d->rogue;
    tbuf_printf(b, " %s", action_names[g->action]);
    if (g->action == RA_ADMIN) {
        if (g->opcode >= HBA_ADM_IDENTIFY && g->opcode < HBA_ADM_IDENTIFY + admin_words.n)
            tbuf_printf(b, " %s", admin_names[g->opcode - HBA_ADM_IDENTIFY]);
        else
            tbuf_printf(b, " %#x", g->opcode);
    } else if (g->action == RA_SQ_TAIL || g->action == RA_CQ_HEAD) {
        tbuf_printf(b, " %u %u", g->qid, g->value);
    } else if (g->action == RA_WRITE) {
        tbuf_printf(b, " %#x %#x", g->qid, g->value);
    }
    for (uint8_t i = 0; i < g->nthen; i++)
        tbuf_printf(b, "%s%s", i ? "," : " then=", then_names[g->then[i]]);
    for (uint8_t i = 0; i < g->nkeys; i++)
        tbuf_printf(b, "%s%u", i ? "," : " keys=", g->keys[i]);
    for (int k = 0; k < K_COUNT_OF_KEYS; k++)
        if (g->given[k])
            tbuf_printf(b, keys[k].hex ? " %s=%#llx" : " %s=%llu", keys[k].name, (unsigned long long)g->val[k]);
    if (g->answers_given && !g->nanswers)
        tbuf_printf(b, " answers=none");
    for (uint8_t i = 0; i < g->nanswers; i++) {
        const struct rogue_event *a = &g->answers[i];
        const char *sep = i ? "," : " answers=";
        if (a->type == HBA_AEV_IOMMU_FAULT && a->hi != a->lo)
            tbuf_printf(b, "%sfault+%u-%u", sep, a->lo, a->hi);
        else
            tbuf_printf(b, "%s%s%u", sep, a->type == HBA_AEV_IOMMU_FAULT ? "fault+" :
                        a->type == HBA_AEV_OVERFLOW ? "overflow:" : "cache-lost:", a->lo);
    }
    tbuf_printf(b, " expect=%s%s", g->expect_fault ? "fault:" : "",
                g->expect_fault ? fault_names[g->expect] : status_names[g->expect]);
}

static bool rogue_equal(const struct trace_directive *a, const struct trace_directive *b)
{
    const struct trace_rogue *x = a->rogue, *y = b->rogue;
    if (x->action != y->action || x->opcode != y->opcode || x->qid != y->qid || x->value != y->value ||
        x->expect_fault != y->expect_fault || x->nthen != y->nthen ||
        memcmp(x->then, y->then, x->nthen) || x->expect != y->expect || x->nkeys != y->nkeys ||
        memcmp(x->keys, y->keys, x->nkeys) || x->answers_given != y->answers_given || x->nanswers != y->nanswers)
        return false;
    for (uint8_t i = 0; i < x->nanswers; i++)
        if (x->answers[i].type != y->answers[i].type || x->answers[i].lo != y->answers[i].lo ||
            x->answers[i].hi != y->answers[i].hi)
            return false;
    for (int k = 0; k < K_COUNT_OF_KEYS; k++)
        if (x->given[k] != y->given[k] || (x->given[k] && x->val[k] != y->val[k]))
            return false;
    return true;
}

static void rogue_free(struct trace_directive *d)
{
    free(d->rogue);
    d->rogue = NULL;
}

static const char *rogue_needs(const struct trace_record *r, const char **what)
{
    (void)r;
    *what = "rogue";
    return "controller-layer";
}

/* ---- replay ------------------------------------------------------------------ */

static uint64_t opt(const struct trace_rogue *g, enum rogue_key k, uint64_t dflt)
{
    return g->given[k] ? g->val[k] : dflt;
}

/* What the controller did: a completion status, or FAULT with a code. */
struct answer {
    bool fault;
    uint8_t code;
    char what[96]; /* something else the datasheet forbids (a second completion, ...): never passes */
};

static const char *answer_name(struct answer a, char *buf, size_t len)
{
    if (a.what[0])
        snprintf(buf, len, "%s", a.what);
    else if (a.fault)
        snprintf(buf, len, "FAULT (FAULT_CODE %s)", a.code < fault_words.n ? fault_names[a.code] : "unknown");
    else
        snprintf(buf, len, "completion status %s (%#x)", a.code < status_words.n ? status_names[a.code] : "unknown",
                 a.code);
    return buf;
}

static struct answer fault_answer(struct rogue *r)
{
    return (struct answer){ .fault = true, .code = (uint8_t)rogue_reg(r, HBA_REG_FAULT_CODE) };
}

/* The entry's data: one SGE at the buffer (addr=, offset=, sge-len=,
 * sge-type= change it), or a segment list written at the buffer's start:
 * list=N, N DATA elements of 512 bytes each; chain=N, N elements the first of
 * which is a SEGMENT naming the list itself (a loop: deeper than any depth). */
static void sge(const struct trace_rogue *g, struct rogue *r, struct hba_sq_entry *e, uint32_t len)
{
    e->data_len = len;
    e->sge.addr = opt(g, K_ADDR, rogue_data_iova(r) + opt(g, K_OFFSET, 0));
    e->sge.length = (uint32_t)opt(g, K_SGE_LEN, len);
    e->sge.type = (uint8_t)opt(g, K_SGE_TYPE, HBA_SGE_DATA);
    struct hba_sge *list = (struct hba_sge *)rogue_data(r);
    uint64_t n = g->given[K_LIST] ? g->val[K_LIST] : g->given[K_CHAIN] ? g->val[K_CHAIN] : 0;
    if (!n)
        return;
    for (uint64_t i = 0; g->given[K_LIST] && i < n; i++)
        list[i] = (struct hba_sge){ .addr = rogue_data_iova(r) + ROGUE_DATA_BYTES / 4 + i * 512, .length = 512,
                                    .type = HBA_SGE_DATA };
    if (g->given[K_CHAIN])
        list[0] = (struct hba_sge){ .addr = rogue_data_iova(r), .length = (uint32_t)(n * sizeof *list),
                                    .type = HBA_SGE_SEGMENT };
    e->sge = (struct hba_sge){ .addr = rogue_data_iova(r), .length = (uint32_t)(n * sizeof *list),
                               .type = HBA_SGE_SEGMENT };
}

/* The harness's trouble in r->err goes to msg (the same buffer, usually). */
static void keep_err(struct rogue *r, char *msg, size_t len)
{
    if (msg != r->err)
        errf(msg, len, "%s", r->err);
}

/* One completion on queue q: 1 with *c; 0 when the controller went to FAULT
 * instead (*ans is that fault); -1 when neither came (msg says why). */
static int await_one(struct rogue *r, unsigned q, struct hba_cq_entry *c, struct answer *ans, char *msg, size_t len)
{
    int rc = rogue_wait(r, q, c);
    if (rc < 0)
        keep_err(r, msg, len);
    else if (rc == 0)
        *ans = fault_answer(r);
    return rc;
}

/* coalesce=V: SET FEATURE INT_COALESCING V before the action. */
static int set_coalescing(const struct trace_rogue *g, struct rogue *r)
{
    if (!g->given[K_COALESCE])
        return 0;
    struct hba_sq_entry s = { .opcode = HBA_ADM_SET_FEATURE };
    struct hba_cq_entry c;
    s.u.cdw[0] = HBA_FEATURE_INT_COALESCING;
    s.u.cdw[2] = (uint32_t)g->val[K_COALESCE];
    if (rogue_admin(r, &s, &c) != 1 || c.ctrl_status != HBA_CS_SUCCESS) {
        errf(r->err, sizeof r->err, "SET FEATURE interrupt coalescing was refused");
        return -1;
    }
    return 0;
}

/* Runs the action; 0 with *ans, or -1 with msg (the harness could not act). */
static int act_admin(const struct trace_rogue *g, struct rogue *r, struct answer *ans, struct hba_cq_entry *cqe)
{
    /* pair=1: I/O queue pair 1 (vector 1) exists first, for the commands
     * that name a live queue (create it again, delete, abort); pair=2: only
     * its CQ. */
    if (opt(g, K_PAIR, 0) && rogue_io_queues(r, 1, opt(g, K_PAIR, 0) == 1) != 1)
        return -1;
    if (set_coalescing(g, r) < 0)
        return -1;
    struct hba_sq_entry e = { .opcode = g->opcode };
    for (int i = 0; i < 4; i++)
        e.u.cdw[i] = (uint32_t)opt(g, K_CDW0 + i, 0);
    /* same-cid=1 or wait=: every copy submitted at once (under the first
     * one's command id with same-cid=1), then wait= completions (default:
     * one) waited for: ASYNC EVENT requests are held, so a copy finds the id
     * in use, or the 65th finds no room. */
    if (opt(g, K_SAME_CID, 0) || g->given[K_WAIT]) {
        rogue_data_zero(r);
        sge(g, r, &e, (uint32_t)opt(g, K_LEN, 0));
        uint16_t cid = 0;
        for (uint64_t i = 0, n = opt(g, K_TIMES, 2); i < n; i++) {
            rogue_put_cid(r, 0, &e, i && opt(g, K_SAME_CID, 0) ? &cid : NULL);
            cid = e.cid;
        }
        for (uint64_t i = 0, n = opt(g, K_WAIT, 1); i < n; i++) {
            int rc = rogue_wait(r, 0, cqe);
            if (rc < 0)
                return -1;
            *ans = rc ? (struct answer){ .code = cqe->ctrl_status } : fault_answer(r);
            if (ans->fault || ans->code != g->expect || g->expect_fault)
                return 0;
        }
        /* The rest stay held: the next completion must be an IDENTIFY's
         * sent now, not one of them. */
        struct hba_sq_entry id = { .opcode = HBA_ADM_IDENTIFY };
        struct hba_cq_entry c;
        uint16_t probe = rogue_put(r, 0, &id);
        int rc = rogue_wait(r, 0, &c);
        if (rc < 0)
            return -1;
        if (rc == 0)
            *ans = fault_answer(r);
        else if (c.cid != probe)
            snprintf(ans->what, sizeof ans->what, "a completion for command id %#x (status %s), which the "
                     "controller should still hold", c.cid,
                     c.ctrl_status < status_words.n ? status_names[c.ctrl_status] : "unknown");
        return 0;
    }
    /* times=N: the same command N times, one after the other (N faults for
     * the IOMMU's log); the first answer that differs from the expectation
     * is the answer. */
    for (uint64_t i = 0, n = opt(g, K_TIMES, 1); i < n; i++) {
        rogue_data_zero(r);
        sge(g, r, &e, (uint32_t)opt(g, K_LEN, 0));
        int rc = rogue_admin(r, &e, cqe);
        if (rc < 0)
            return -1;
        *ans = rc ? (struct answer){ .code = cqe->ctrl_status } : fault_answer(r);
        if (ans->fault || ans->code != g->expect || g->expect_fault)
            return 0;
    }
    return 0;
}

/* The then= steps, in order; the ABORT's completion goes to *abort_cqe (its
 * result is what result= judges).  0, or -1 with r->err. */
static int then_steps(const uint8_t *steps, size_t n, struct rogue *r, uint16_t first_cid,
                      struct hba_cq_entry *abort_cqe)
{
    for (size_t s = 0; s < n; s++) {
        if (steps[s] == RT_RESET) {
            rogue_write(r, HBA_REG_CONFIG, 0);
            continue;
        }
        struct hba_sq_entry d = { 0 };
        struct hba_cq_entry dc;
        switch ((enum rogue_then)steps[s]) {
        case RT_DELETE_SQ:   d.opcode = HBA_ADM_DELETE_SQ; d.u.cdw[0] = 1; break;
        case RT_ABORT:       d.opcode = HBA_ADM_ABORT; d.u.cdw[0] = 1; d.u.cdw[1] = first_cid; break;
        case RT_RESET_OTHER: d.opcode = HBA_ADM_RESET; d.u.cdw[0] = HBA_RESET_TARGET; d.u.cdw[1] = 1u << 16; break;
        case RT_RESET_LUN:   d.opcode = HBA_ADM_RESET; d.u.cdw[0] = HBA_RESET_LUN; d.u.cdw[1] = 0; break;
        case RT_UNCOALESCE:  d.opcode = HBA_ADM_SET_FEATURE; d.u.cdw[0] = HBA_FEATURE_INT_COALESCING; break;
        case RT_RESET_BUS:   d.opcode = HBA_ADM_RESET; d.u.cdw[0] = HBA_RESET_BUS; break;
        case RT_NEXUS_LOSS:  d.opcode = HBA_ADM_NEXUS_LOSS; d.u.cdw[0] = 0; break;
        default:             break;
        }
        if (rogue_admin(r, &d, &dc) != 1 || dc.ctrl_status != HBA_CS_SUCCESS) {
            errf(r->err, sizeof r->err, "the %s step failed", then_names[steps[s]]);
            return -1;
        }
        if (steps[s] == RT_ABORT)
            *abort_cqe = dc;
    }
    return 0;
}

/* One I/O entry as the options describe it (TEST UNIT READY by default). */
static void io_entry(const struct trace_rogue *g, struct rogue *r, struct hba_sq_entry *e)
{
    memset(e, 0, sizeof *e);
    e->opcode = (uint8_t)opt(g, K_OPCODE, HBA_OP_SCSI);
    e->flags = (uint8_t)opt(g, K_FLAGS, HBA_FLAG_DIR_NONE);
    e->target = (uint16_t)opt(g, K_TARGET, 0);
    e->lun = (uint16_t)opt(g, K_LUN, 0);
    e->initiator = (uint16_t)opt(g, K_INITIATOR, 0);
    e->cdb_len = (uint8_t)opt(g, K_CDB_LEN, 6); /* TEST UNIT READY: all zeros */
    e->target_port = (uint16_t)opt(g, K_PORT, 0);
    e->sense_len = (uint8_t)opt(g, K_SENSE_LEN, 0);
    e->sense_addr = opt(g, K_SENSE_ADDR, rogue_data_iova(r) + ROGUE_DATA_BYTES / 2);
    sge(g, r, e, (uint32_t)opt(g, K_LEN, 0));
}

/* cq-full=1, before the entries: CQ 1 filled (all its room, CQ_HEAD never
 * written), then INT_STATUS cleared.  Returns how many entries it sent, or
 * 0 with msg. */
static unsigned cq_fill(const struct trace_rogue *g, struct rogue *r, char *msg, size_t len)
{
    unsigned fill = r->ioq_entries - 1; /* a CQ holds one entry less than its size */
    for (unsigned i = 0; i < fill; i++) {
        struct hba_sq_entry e;
        io_entry(g, r, &e);
        rogue_put(r, 1, &e);
    }
    if (rogue_wait_filled(r, 1, fill) < 0) {
        keep_err(r, msg, len);
        return 0;
    }
    rogue_write(r, HBA_REG_INT_STATUS, 0xFFFFFFFFu); /* the fill's own interrupt */
    return fill;
}

/* cq-full=1, after the entries: two IDENTIFYs answered.  A pass of the
 * firmware services the admin SQ, then SQ 1, then posts: the pass that took
 * the first IDENTIFY (rung after SQ 1's tail) also fetched from SQ 1 — at
 * least its first new entry; with a full CQ it fetches no more
 * (docs/controller.md 7.2) — and the second IDENTIFY's pass tried to post
 * again with nowhere to post.  Vector 1 must not have been raised, since
 * nothing new is in CQ 1 (docs/controller.md 9).  0 (a raised vector noted
 * in ans->what), or -1 with msg. */
static int cq_full_judge(struct rogue *r, struct answer *ans, char *msg, size_t len)
{
    for (int i = 0; i < 2; i++) {
        struct hba_sq_entry e = { .opcode = HBA_ADM_IDENTIFY };
        struct hba_cq_entry c;
        if (rogue_admin(r, &e, &c) != 1) {
            errf(msg, len, "an IDENTIFY while CQ 1 was full got no answer");
            return -1;
        }
    }
    uint32_t st = rogue_reg(r, HBA_REG_INT_STATUS);
    if (st & 2u)
        snprintf(ans->what, sizeof ans->what, "an interrupt on vector 1 (INT_STATUS %#x) while CQ 1 was full "
                 "and nothing new was posted", st);
    /* The head moves (below) only once the firmware went to park: it
     * publishes the admin SQ's head as SQ_EVENT_IDX(0) before it parks.  A
     * firmware still polling after the IDENTIFYs would see the head move in
     * that poll, so a firmware that never re-reads CQ_HEAD while completions
     * wait would post them in time too, as it did under load. */
    if (rogue_wait_reg(r, HBA_REG_SQ_EVENT_IDX(0), 0xFFFFFFFFu, r->q[0].tail) < 0) {
        keep_err(r, msg, len);
        return -1;
    }
    return 0;
}

/* int-wait=MASK, once every completion was seen: an IDENTIFY answered (the
 * firmware finished a pass after the last posting, so a vector raised too
 * early is raised by now), then INT_STATUS polled until it has every bit of
 * MASK — a vector coalescing holds by TIME_US comes by then.  The limit
 * (ROGUE_LIMIT_MS) only detects a vector that never comes: it is not a
 * timing assertion.  0 (a missing vector noted in ans->what), or -1 with msg. */
static int int_wait(struct rogue *r, uint32_t mask, struct answer *ans, char *msg, size_t len)
{
    struct hba_sq_entry e = { .opcode = HBA_ADM_IDENTIFY };
    struct hba_cq_entry c;
    if (rogue_admin(r, &e, &c) != 1) {
        errf(msg, len, "the IDENTIFY before int-wait= got no answer");
        return -1;
    }
    if (rogue_wait_reg(r, HBA_REG_INT_STATUS, mask, mask) < 0) {
        r->timed_out = false; /* the controller answers; only a vector is missing */
        snprintf(ans->what, sizeof ans->what, "no interrupt on every vector of %#x within %d ms (INT_STATUS %#x)",
                 mask, ROGUE_LIMIT_MS, rogue_reg(r, HBA_REG_INT_STATUS));
    }
    return 0;
}

static int act_io(const struct trace_rogue *g, struct rogue *r, struct answer *ans, struct hba_cq_entry *cqe,
                  char *msg, size_t len)
{
    struct hba_cq_entry c;
    if (set_coalescing(g, r) < 0) {
        keep_err(r, msg, len);
        return -1;
    }
    if (opt(g, K_POLLED, 0)) /* polled=1: CQ 1 without interrupts */
        r->cq_flags = HBA_CQ_FLAG_NO_IRQ;
    int rc = rogue_io_queues(r, 1, true);
    if (rc != 1) {
        keep_err(r, msg, len);
        return -1;
    }
    if (opt(g, K_SHUTDOWN, 0)) { /* shutdown=1: the admin SHUTDOWN first; I/O after it is refused */
        struct hba_sq_entry s = { .opcode = HBA_ADM_SHUTDOWN };
        if (rogue_admin(r, &s, &c) != 1 || c.ctrl_status != HBA_CS_SUCCESS) {
            errf(msg, len, "the admin SHUTDOWN before the entries failed");
            return -1;
        }
    }
    /* Nothing pending from the set-up: its admin commands raise vector 0,
     * which is never delayed, but only once the firmware posted their
     * completions, which the rogue may have read first; cleared before the
     * bit came, it came later (INT_STATUS 0x3 where 0x2 was due, once under
     * load).  So the bit is awaited (a controller that never raises it is
     * not judged here), then cleared. */
    if (rogue_wait_reg(r, HBA_REG_INT_STATUS, 1u, 1u) < 0)
        r->timed_out = false;
    rogue_write(r, HBA_REG_INT_STATUS, 0xFFFFFFFFu);
    unsigned n = (unsigned)opt(g, K_TIMES, 1);
    if (n >= r->ioq_entries) {
        errf(msg, len, "rogue io: times=%u does not fit the I/O queue (at most %u)", n, r->ioq_entries - 1);
        return -1;
    }
    rogue_data_zero(r);
    unsigned filled = 0;
    if (opt(g, K_CQ_FULL, 0) && (filled = cq_fill(g, r, msg, len)) == 0)
        return -1;
    uint16_t cid = 0;
    for (unsigned i = 0; i < n; i++) {
        struct hba_sq_entry e;
        io_entry(g, r, &e);
        rogue_put_cid(r, 1, &e, i && opt(g, K_SAME_CID, 0) ? &cid : NULL);
        cid = e.cid;
    }
    if (filled && cq_full_judge(r, ans, msg, len) < 0)
        return -1;
    n += filled; /* every entry's completion is waited for below */
    /* wait= completions (default all; with then= none) come first; then=
     * then deletes SQ 1, aborts the first entry or resets the controller
     * (CONFIG.EN 1 -> 0), and waits for the rest: the commands the firmware
     * still held end with it. */
    bool del = g->nthen != 0;
    unsigned first = (unsigned)opt(g, K_WAIT, del ? 0 : n), total = del ? n : first;
    uint16_t first_cid = (uint16_t)(cid - (opt(g, K_SAME_CID, 0) ? 0 : n - 1));
    for (unsigned i = 0; i <= total; i++) {
        if (del && i == first) {
            /* Only once the firmware fetched every entry (it publishes its
             * head as SQ_EVENT_IDX before it parks): else the delete would
             * find them still in the SQ, which is another rule. */
            if (rogue_wait_reg(r, HBA_REG_SQ_EVENT_IDX(1), 0xFFFFFFFFu, r->q[1].tail) < 0 ||
                then_steps(g->then, g->nthen, r, first_cid, cqe) < 0) {
                keep_err(r, msg, len);
                return -1;
            }
        }
        if (i == total)
            break;
        rc = await_one(r, 1, &c, ans, msg, len);
        if (rc <= 0)
            return rc;
        /* The first that differs from the expectation is the answer. */
        ans->code = c.ctrl_status;
        if (g->expect_fault || c.ctrl_status != g->expect)
            return 0;
    }
    /* Every entry has its one completion: after an IDENTIFY (the firmware
     * finished the pass that posted anything more) there must be none left. */
    bool reset = memchr(g->then, RT_RESET, g->nthen) != NULL; /* no queue left to look at */
    if (del && !reset) {
        struct hba_sq_entry e = { .opcode = HBA_ADM_IDENTIFY };
        if (rogue_admin(r, &e, &c) < 0) {
            keep_err(r, msg, len);
            return -1;
        }
        if (rogue_poll(r, 1, &c))
            snprintf(ans->what, sizeof ans->what, "a second completion for command id %#x (status %s)", c.cid,
                     c.ctrl_status < status_words.n ? status_names[c.ctrl_status] : "unknown");
    }
    return g->given[K_INT_WAIT] ? int_wait(r, (uint32_t)g->val[K_INT_WAIT], ans, msg, len) : 0;
}

/* Writes the doorbell, then two commands on another queue (on the CQ's own
 * queue for cq-head: the head is read when a completion is posted): the
 * second is fetched in a later pass of the firmware than the one that saw
 * the doorbell, so a controller that refuses it is in FAULT by then. */
static int act_doorbell(const struct trace_rogue *g, struct rogue *r, struct answer *ans, char *msg, size_t len)
{
    int rc = rogue_io_queues(r, 1, true);
    if (rc != 1) {
        keep_err(r, msg, len);
        return -1;
    }
    bool sq = g->action == RA_SQ_TAIL;
    unsigned probe = sq ? (g->qid == 0 ? 1 : 0) : (g->qid == 1 ? 1 : 0);
    rogue_write(r, sq ? HBA_REG_SQ_TAIL(g->qid) : HBA_REG_CQ_HEAD(g->qid), g->value);
    for (int i = 0; i < 2; i++) {
        struct hba_sq_entry e = { .opcode = probe ? HBA_OP_SCSI : HBA_ADM_IDENTIFY };
        struct hba_cq_entry c;
        if (probe) {
            e.cdb_len = 6;
        } else {
            e.u.cdw[0] = HBA_IDENTIFY_CONTROLLER;
            e.data_len = e.sge.length = sizeof(struct hba_identify_ctrl);
            e.sge.addr = rogue_data_iova(r);
        }
        rogue_put(r, probe, &e);
        rc = await_one(r, probe, &c, ans, msg, len);
        if (rc <= 0)
            return rc;
        ans->code = c.ctrl_status;
        if (c.ctrl_status != HBA_CS_SUCCESS)
            return 0;
    }
    return 0;
}

/* An IDENTIFY CONTROLLER on the admin queue, waited for: the controller
 * took every posted register write before it (it drains them before it
 * serves the queues).  *ans is its status, FAULT, or success when the
 * controller left OPERATIONAL instead (a reset). */
static int settle(struct rogue *r, struct answer *ans, char *msg, size_t len)
{
    struct hba_sq_entry e = { .opcode = HBA_ADM_IDENTIFY };
    struct hba_cq_entry c;
    e.u.cdw[0] = HBA_IDENTIFY_CONTROLLER;
    e.data_len = e.sge.length = sizeof(struct hba_identify_ctrl);
    e.sge.addr = rogue_data_iova(r);
    rogue_put(r, 0, &e);
    int rc = rogue_wait_any(r, 0, &c, true);
    if (rc < 0) {
        keep_err(r, msg, len);
        return -1;
    }
    *ans = rc == 0 ? fault_answer(r) : (struct answer){ .code = rc == 1 ? c.ctrl_status : HBA_CS_SUCCESS };
    return 0;
}

static int act_write(const struct trace_rogue *g, struct rogue *r, struct answer *ans, char *msg, size_t len)
{
    rogue_write(r, g->qid, g->value);
    return settle(r, ans, msg, len);
}

static const uint32_t reset_keys[5] = { 0x12345678u, HBA_RESET_KEY_1, HBA_RESET_KEY_2, HBA_RESET_KEY_3,
                                        HBA_RESET_KEY_4 };

/* keys= (default 1,2,3,4) to RESET_KEY, then DIAG.HARD_RESET; fault-first=1
 * puts the controller in FAULT before (an SQ tail beyond the admin SQ). */
static int act_hard_reset(const struct trace_rogue *g, struct rogue *r, struct answer *ans, uint32_t *diag,
                          char *msg, size_t len)
{
    static const uint8_t all[4] = { 1, 2, 3, 4 };
    const uint8_t *seq = g->keys_given ? g->keys : all;
    size_t n = g->keys_given ? g->nkeys : 4;
    bool faulted_first = opt(g, K_FAULT_FIRST, 0) != 0;
    if (g->given[K_POKE_REG])
        rogue_write(r, (uint32_t)g->val[K_POKE_REG], (uint32_t)opt(g, K_POKE, 0));
    if (faulted_first) {
        rogue_write(r, HBA_REG_SQ_TAIL(0), 0xFFFF);
        if (rogue_wait_reg(r, HBA_REG_STATUS, HBA_STATUS_FATAL, HBA_STATUS_FATAL) < 0)
            goto harness;
    }
    for (size_t i = 0; i < n; i++)
        rogue_write(r, HBA_REG_RESET_KEY, reset_keys[seq[i]]);
    if (faulted_first) {
        /* A controller in FAULT serves no queue: the keys show in DIAG. */
        if (rogue_wait_reg(r, HBA_REG_DIAG, HBA_DIAG_KEY_ACCEPTED, HBA_DIAG_KEY_ACCEPTED) < 0)
            goto harness;
    } else {
        struct answer a;
        if (settle(r, &a, msg, len) < 0)
            return -1;
        if (a.fault || a.code != HBA_CS_SUCCESS) {
            *ans = a;
            return 0;
        }
    }
    *diag = rogue_reg(r, HBA_REG_DIAG);
    rogue_write(r, HBA_REG_DIAG, HBA_DIAG_HARD_RESET);
    if (!(*diag & HBA_DIAG_KEY_ACCEPTED))
        return settle(r, ans, msg, len); /* ignored: the admin queue still answers */
    /* Accepted: RESET, then READY once the controller's init time passed. */
    if (rogue_wait_reg(r, HBA_REG_STATUS, HBA_STATUS_FATAL | 0xF00u, HBA_STATE_READY << HBA_STATUS_STATE_SHIFT) < 0)
        goto harness;
    *ans = (struct answer){ .code = HBA_CS_SUCCESS };
    return 0;
harness:
    keep_err(r, msg, len);
    return -1;
}

/* ---- events ------------------------------------------------------------------- */

/* An answer's event in answers= words (fault+K counted from `base`, the
 * fault log's total before the directive's first fault). */
static const char *event_name(uint32_t result, uint32_t base, uint32_t faults, char *buf, size_t len)
{
    uint32_t type = HBA_AEV_TYPE(result), info = HBA_AEV_INFO(result);
    uint32_t k = (info - base) & 0xFFFFFFu;
    if (type == HBA_AEV_IOMMU_FAULT && k < faults)
        snprintf(buf, len, "fault+%u", k);
    else if (type == HBA_AEV_IOMMU_FAULT)
        snprintf(buf, len, "an IOMMU fault with sequence number %#x (none of this directive's)", info);
    else if (type == HBA_AEV_OVERFLOW)
        snprintf(buf, len, "overflow:%u", info);
    else if (type == HBA_AEV_CACHE_LOST)
        snprintf(buf, len, "cache-lost:%u", info);
    else
        snprintf(buf, len, "event type %#x info %#x", type, info);
    return buf;
}

/* The i-th answer answers= lists, as a result dword. */
static uint32_t expected_event(const struct trace_rogue *g, unsigned i, uint32_t base)
{
    for (uint8_t a = 0; a < g->nanswers; a++) {
        const struct rogue_event *x = &g->answers[a];
        unsigned n = x->hi - x->lo + 1;
        if (i < n) {
            uint32_t info = x->type == HBA_AEV_IOMMU_FAULT ? (base + x->lo + i) & 0xFFFFFFu : x->lo;
            return x->type | info << 8;
        }
        i -= n;
    }
    return 0;
}

/* dirty=N: N WRITE (10)s of one 512-byte block to drive 0:0 through I/O
 * queue 1, each in its own cache line (STORE_LINE_BYTES apart), left in the
 * write-back cache.  A command the drive answers with CHECK CONDITION (a
 * pending unit attention) is sent again, a few times. */
static int make_dirty(struct rogue *r, unsigned n, char *msg, size_t len)
{
    if (rogue_io_queues(r, 1, true) != 1) {
        keep_err(r, msg, len);
        return -1;
    }
    memset(rogue_data(r), 0xA5, 512);
    for (unsigned i = 0; i < n; i++) {
        uint32_t lba = i * (STORE_LINE_BYTES / 512u);
        struct hba_cq_entry c = { 0 };
        int rc = 0;
        for (int tries = 0; tries < 4; tries++) {
            struct hba_sq_entry e = { .opcode = HBA_OP_SCSI, .flags = HBA_FLAG_DIR_WRITE, .cdb_len = 10 };
            e.u.cdb[0] = SCSI_OP_WRITE_10;
            scsi_put_be32(e.u.cdb + 2, lba);
            e.u.cdb[8] = 1; /* one block */
            e.data_len = e.sge.length = 512;
            e.sge.addr = rogue_data_iova(r);
            e.sge.type = HBA_SGE_DATA;
            rogue_put(r, 1, &e);
            if ((rc = rogue_wait(r, 1, &c)) != 1 || c.ctrl_status != HBA_CS_SUCCESS || c.scsi_status == 0)
                break;
        }
        if (rc != 1 || c.ctrl_status != HBA_CS_SUCCESS || c.scsi_status != 0) {
            if (rc < 0)
                keep_err(r, msg, len);
            else
                errf(msg, len, "dirty=: the WRITE (10) to LBA %u of drive 0:0 failed (controller status %#x, "
                     "SCSI status %#x%s); the drive needs write-cache=on and 512-byte blocks", lba, c.ctrl_status,
                     c.scsi_status, rc == 0 ? ", FAULT" : "");
            return -1;
        }
    }
    return 0;
}

/* power-cut=1: power goes off (dirty lines lost as the battery allows) and
 * comes back; the rogue driver enables its admin queue again. */
static int power_cycle(struct rogue *r, char *msg, size_t len)
{
    int64_t lost = stack_power_cut(r->st, NULL);
    int rc = lost < 0 ? (int)lost : stack_power_on(r->st);
    if (rc < 0) {
        errf(msg, len, "power-cut=1: the power %s failed (%s)", lost < 0 ? "cut" : "on", strerror(-rc));
        return -1;
    }
    if (rogue_wait_reg(r, HBA_REG_STATUS, HBA_STATUS_FATAL | 0xF00u, HBA_STATE_READY << HBA_STATUS_STATE_SHIFT) < 0 ||
        rogue_enable(r, rogue_fit(r, ROGUE_AQ_ENTRIES), rogue_fit(r, ROGUE_AQ_ENTRIES), 0, 0) != 1) {
        if (!r->err[0])
            errf(r->err, sizeof r->err, "after power-cut=1 the controller refused a valid admin queue");
        keep_err(r, msg, len);
        return -1;
    }
    return 0;
}

/* The fault log's total: the sequence number the next fault gets. */
static int fault_log_total(struct rogue *r, uint32_t *total, char *msg, size_t len)
{
    struct hba_sq_entry e = { .opcode = HBA_ADM_GET_LOG };
    struct hba_cq_entry c;
    e.u.cdw[0] = HBA_LOG_IOMMU_FAULTS;
    e.data_len = e.sge.length = sizeof(struct hba_log_header);
    e.sge.addr = rogue_data_iova(r);
    e.sge.type = HBA_SGE_DATA;
    if (rogue_admin(r, &e, &c) != 1 || c.ctrl_status != HBA_CS_SUCCESS) {
        errf(msg, len, "GET LOG of the fault log's header failed%s%s", r->err[0] ? ": " : "", r->err);
        return -1;
    }
    struct hba_log_header h;
    memcpy(&h, rogue_data(r), sizeof h);
    *total = h.total;
    return 0;
}

/* Posts one ASYNC EVENT request; its command id goes to ids[*n]. */
static void ask_one(struct rogue *r, uint16_t *ids, unsigned *n)
{
    struct hba_sq_entry e = { .opcode = HBA_ADM_ASYNC_EVENT };
    ids[(*n)++] = rogue_put(r, 0, &e);
}

/* The answers in *seen against answers=: each a SUCCESS completion of a
 * request the directive posted, each request answered once, and the k-th
 * request posted answered with the k-th event listed, the rest not at all.
 * By request, not by the order on the CQ: the controller may post
 * completions out of order (reorder=), but it answers requests in the order
 * it takes them from the SQ, and events in the order they happened. */
static void judge_events(const struct trace_rogue *g, const struct rogue_seen *seen, const uint16_t *ids,
                         unsigned nids, uint32_t base, struct answer *ans)
{
    unsigned want = answers_total(g), faults = (unsigned)opt(g, K_FAULTS, 0);
    const struct hba_cq_entry *byreq[EVENTS_HELD_MAX + EVENTS_ASK_MAX] = { NULL };
    char a[72], b[72];
    ans->code = HBA_CS_SUCCESS;
    for (unsigned i = 0; i < seen->n; i++) {
        const struct hba_cq_entry *c = &seen->c[i];
        unsigned k = 0;
        while (k < nids && ids[k] != c->cid)
            k++;
        if (k == nids || byreq[k]) {
            snprintf(ans->what, sizeof ans->what, "%s completion for command id %#x (status %#x, result %#x)",
                     k == nids ? "a" : "a second", c->cid, c->ctrl_status, c->result);
            return;
        }
        byreq[k] = c;
    }
    for (unsigned k = 0; k < nids; k++) {
        const struct hba_cq_entry *c = byreq[k];
        uint32_t exp = k < want ? expected_event(g, k, base) : 0;
        if (c && c->ctrl_status != HBA_CS_SUCCESS) {
            ans->code = c->ctrl_status; /* judged as expect= */
            return;
        }
        if (!c && k < want) {
            snprintf(ans->what, sizeof ans->what, "nothing to request %u of %u (command id %#x) within %d ms, "
                     "where answers= lists %s", k + 1, nids, ids[k], ROGUE_LIMIT_MS,
                     event_name(exp, base, faults, a, sizeof a));
            return;
        }
        if (c && k >= want) {
            snprintf(ans->what, sizeof ans->what, "request %u of %u with %s, where answers= lists only %u", k + 1,
                     nids, event_name(c->result, base, faults, a, sizeof a), want);
            return;
        }
        if (c && c->result != exp) {
            snprintf(ans->what, sizeof ans->what, "request %u of %u with %s (result %#x), not %s", k + 1,
                     nids, event_name(c->result, base, faults, a, sizeof a), c->result,
                     event_name(exp, base, faults, b, sizeof b));
            return;
        }
    }
    if (seen->more)
        snprintf(ans->what, sizeof ans->what, "more than %u completions on the admin queue", ROGUE_SEEN_MAX);
}

/* dirty=, power-cut=, held= requests, faults= IOMMU faults (IDENTIFY into
 * an unmapped IOVA, one at a time), ask= requests; then the answers, and an
 * IDENTIFY whose completion shows that no other came before it. */
static int events_steps(const struct trace_rogue *g, struct rogue *r, struct rogue_seen *seen, struct answer *ans,
                        char *msg, size_t len)
{
    uint16_t ids[EVENTS_HELD_MAX + EVENTS_ASK_MAX];
    unsigned nids = 0;
    uint32_t base = 0;
    struct hba_cq_entry c;
    if (opt(g, K_DIRTY, 0) && make_dirty(r, (unsigned)opt(g, K_DIRTY, 0), msg, len) < 0)
        return -1;
    if (opt(g, K_POWER_CUT, 0) && power_cycle(r, msg, len) < 0)
        return -1;
    if (fault_log_total(r, &base, msg, len) < 0)
        return -1;
    for (uint64_t i = 0; i < opt(g, K_HELD, 0); i++)
        ask_one(r, ids, &nids);
    for (uint64_t i = 0; i < opt(g, K_FAULTS, 0); i++) {
        struct hba_sq_entry e = { .opcode = HBA_ADM_IDENTIFY };
        e.u.cdw[0] = HBA_IDENTIFY_CONTROLLER;
        e.data_len = e.sge.length = sizeof(struct hba_identify_ctrl);
        e.sge.addr = 0xdead0000u; /* mapped by nobody: the IOMMU logs a fault */
        e.sge.type = HBA_SGE_DATA;
        int rc = rogue_collect(r, rogue_put(r, 0, &e), 0, seen, &c);
        if (rc < 0) {
            keep_err(r, msg, len);
            return -1;
        }
        if (rc == 0) {
            *ans = fault_answer(r);
            return 0;
        }
    }
    for (uint64_t i = 0; i < opt(g, K_ASK, 0); i++)
        ask_one(r, ids, &nids);
    int rc = rogue_collect(r, -1, answers_total(g), seen, &c);
    if (rc == 1) { /* all came: an IDENTIFY shows whether any more did */
        struct hba_sq_entry e = { .opcode = HBA_ADM_IDENTIFY };
        e.u.cdw[0] = HBA_IDENTIFY_CONTROLLER;
        e.data_len = e.sge.length = sizeof(struct hba_identify_ctrl);
        e.sge.addr = rogue_data_iova(r);
        e.sge.type = HBA_SGE_DATA;
        rc = rogue_collect(r, rogue_put(r, 0, &e), 0, seen, &c);
        if (rc < 0) {
            keep_err(r, msg, len);
            return -1;
        }
    }
    if (rc == 0) {
        *ans = fault_answer(r);
        return 0;
    }
    judge_events(g, seen, ids, nids, base, ans);
    return 0;
}

static int act_events(const struct trace_rogue *g, struct rogue *r, struct answer *ans, char *msg, size_t len)
{
    struct rogue_seen *seen = calloc(1, sizeof *seen); /* 2.5 KiB: traces replay on threads of their own */
    if (!seen) {
        errf(msg, len, "rogue events: out of memory");
        return -1;
    }
    int rc = events_steps(g, r, seen, ans, msg, len);
    free(seen);
    return rc;
}

static uint32_t data32(struct rogue *r, uint32_t off)
{
    uint32_t v;
    memcpy(&v, rogue_data(r) + off, sizeof v);
    return v;
}

static void judge_extra(const struct trace_rogue *g, struct rogue *r, const struct hba_cq_entry *cqe, uint32_t diag,
                        struct trace_actual_verdict *v)
{
    struct hba_log_header h;
    memcpy(&h, rogue_data(r) + opt(g, K_OFFSET, 0), sizeof h);
    const struct {
        enum rogue_key k;
        const char *what;
        uint32_t got;
    } f[] = {
        { K_RESULT, "the completion's result", cqe->result },
        { K_TOTAL, "the log header's total", h.total },
        { K_COUNT, "the log header's count", h.count },
        { K_FIRST, "the log header's first", h.first },
        { K_IS, "the data at at=", g->given[K_AT] ? data32(r, (uint32_t)g->val[K_AT]) : 0 },
        { K_INT_STATUS, "INT_STATUS", g->action == RA_IO ? rogue_reg(r, HBA_REG_INT_STATUS) : 0 },
        { K_ACCEPTED, "DIAG.KEY_ACCEPTED after the keys", (diag & HBA_DIAG_KEY_ACCEPTED) != 0 },
        { K_READ, "the register read back", g->given[K_REG] ? rogue_reg(r, (uint32_t)g->val[K_REG]) : 0 },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (g->given[f[i].k] && f[i].got != g->val[f[i].k]) {
            v->pass = false;
            snprintf(v->msg, sizeof v->msg, "%s is %#x; the datasheet says %#llx", f[i].what, f[i].got,
                     (unsigned long long)g->val[f[i].k]);
            snprintf(v->expected, sizeof v->expected, "%s %#llx", f[i].what, (unsigned long long)g->val[f[i].k]);
            return;
        }
}

static void rogue_run(struct replay *rp, size_t line)
{
    const struct trace_rogue *g = replay_record(rp, line)->directive.rogue;
    struct trace_actual_verdict *v = replay_verdict_add(rp, line);
    if (!v) {
        replay_problem(rp, line, "rogue: out of memory");
        return;
    }
    if (!rp->st) {
        snprintf(v->msg, sizeof v->msg, "the stack is not open");
        return;
    }
    if (rp->rogue_stalled) {
        snprintf(v->msg, sizeof v->msg, "an earlier rogue directive found the controller not answering");
        return;
    }
    pthread_mutex_lock(&rp->lock);
    size_t busy = rp->t->n_tasks;
    for (size_t i = 0; i < rp->t->n_tasks && busy == rp->t->n_tasks; i++)
        if (rp->tasks[i].submitted && !rp->tasks[i].done)
            busy = i;
    pthread_mutex_unlock(&rp->lock);
    if (busy < rp->t->n_tasks) {
        snprintf(v->msg, sizeof v->msg, "task '%s' is still outstanding: rogue takes the controller from an idle "
                 "driver (end the tasks before it)", rp->t->lines[rp->t->tasks[busy].request].record.tag);
        return;
    }
    struct answer want = { .fault = g->expect_fault, .code = g->expect }, got = { 0 };
    char wbuf[120], gbuf[120];
    struct rogue r;
    struct hba_cq_entry cqe = { 0 };
    uint32_t diag = 0;
    int rc = rogue_begin(&r, rp->st, rp->cfg_ok ? rp->cfg.addr_bits : 64);
    if (rc == 0) {
        if (g->action == RA_ENABLE) {
            uint32_t aq = rogue_fit(&r, ROGUE_AQ_ENTRIES);
            rc = rogue_enable(&r, (uint32_t)opt(g, K_SQ_SIZE, aq), (uint32_t)opt(g, K_CQ_SIZE, aq), opt(g, K_SQ_ADDR, 0),
                              opt(g, K_CQ_ADDR, 0));
            got = rc == 1 ? (struct answer){ 0 } : fault_answer(&r);
            rc = rc < 0 ? -1 : 0;
        } else if ((rc = rogue_enable(&r, rogue_fit(&r, ROGUE_AQ_ENTRIES), rogue_fit(&r, ROGUE_AQ_ENTRIES), 0, 0)) !=
                   1) {
            if (rc == 0)
                errf(r.err, sizeof r.err, "the controller refused a valid admin queue (FAULT_CODE %u)",
                     rogue_reg(&r, HBA_REG_FAULT_CODE));
            rc = -1;
        } else if (g->action == RA_ADMIN) {
            rc = act_admin(g, &r, &got, &cqe);
        } else if (g->action == RA_IO) {
            rc = act_io(g, &r, &got, &cqe, r.err, sizeof r.err);
        } else if (g->action == RA_WRITE) {
            rc = act_write(g, &r, &got, r.err, sizeof r.err);
        } else if (g->action == RA_HARD_RESET) {
            rc = act_hard_reset(g, &r, &got, &diag, r.err, sizeof r.err);
        } else if (g->action == RA_EVENTS) {
            rc = act_events(g, &r, &got, r.err, sizeof r.err);
        } else {
            rc = act_doorbell(g, &r, &got, r.err, sizeof r.err);
        }
    }
    answer_name(want, wbuf, sizeof wbuf);
    snprintf(v->expected, sizeof v->expected, "%s", wbuf);
    if (rc < 0) {
        snprintf(v->msg, sizeof v->msg, "%s", r.err);
        /* One limit waited out per trace: a controller that stopped answering
         * would make every later directive wait as long. */
        rp->rogue_stalled = r.timed_out;
    } else {
        v->ran = true;
        v->pass = !got.what[0] && got.fault == want.fault && got.code == want.code;
        if (!v->pass)
            snprintf(v->msg, sizeof v->msg, "rogue %s: the controller answered %s; the datasheet says %s",
                     action_names[g->action], answer_name(got, gbuf, sizeof gbuf), wbuf);
        else
            judge_extra(g, &r, &cqe, diag, v);
    }
    if (rogue_end(&r) < 0)
        replay_problem(rp, line, "rogue: %s", r.err);
}

const struct trace_directive_ops trace_dir_rogue = {
    .parse = rogue_parse,
    .print = rogue_print,
    .equal = rogue_equal,
    .free = rogue_free,
    .needs = rogue_needs,
    .run = rogue_run,
};
