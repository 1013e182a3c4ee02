/* sim/fault/fault_parse.c — a fault rule's one line of text: parsed with the
 * column of every bad word and what to write instead, and printed back in one
 * canonical form.  The grammar is in fault.h; docs/faults.md explains it. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errf.h"
#include "hw/hba.h"
#include "scsi/scsi.h"
#include "sim/fault/fault.h"
#include "sim/store/store.h"

struct kind_row {
    enum fault_kind kind;
    const char *name;
    const char *keys;     /* the kind's own keys, space-separated */
    const char *example;
};

static const struct kind_row kinds[] = {
    { FAULT_MEDIUM, "medium", "lba count io recovered", "medium drive=0:0 lba=1000 count=8 io=read" },
    { FAULT_EVERY_NTH, "every-nth", "n sense op", "every-nth n=10 op=read sense=3/11/00" },
    { FAULT_LATENCY, "latency", "dist time min max tail p op", "latency op=read dist=fixed time=2ms" },
    { FAULT_HANG, "hang", "after op", "hang op=0x35 after=5s" },
    { FAULT_BUSY, "busy", "fraction status op", "busy fraction=0.1 status=task-set-full" },
    { FAULT_LOSE, "lose", "fraction op", "lose op=write fraction=0.01" },
    { FAULT_WRITE_PROTECT, "write-protect", "", "write-protect drive=0:0" },
    { FAULT_CAPACITY, "capacity", "blocks", "capacity drive=0:0 blocks=100000" },
    { FAULT_DUPLICATE, "duplicate", "fraction op", "duplicate op=read fraction=0.01" },
    { FAULT_REORDER, "reorder", "window step op", "reorder op=read window=4 step=1ms" },
    { FAULT_SPURIOUS, "spurious", "n op", "spurious op=read n=2" },
    { FAULT_IOMMU_FAULT, "iommu-fault", "nth op", "iommu-fault op=read nth=3" },
    { FAULT_FATAL, "fatal", "nth op", "fatal op=write nth=10" },
    { FAULT_REMOVE, "remove", "", "remove drive=0:1" },
    { FAULT_INSERT, "insert", "blocks block-size", "insert drive=0:1 blocks=2048 block-size=512" },
    { FAULT_IO_ERROR, "io-error", "file call count errno", "io-error drive=0:0 file=media call=write errno=EIO" },
    { FAULT_REOPEN, "reopen", "", "reopen drive=0:0" },
    { FAULT_BATTERY, "battery", "state", "battery drive=0:0 state=failed" },
    { FAULT_ADMIN_REFUSE, "admin-refuse", "admin nth", "admin-refuse admin=create-cq limit=1" },
    { FAULT_RESET_FAIL, "reset-fail", "nth", "reset-fail nth=2" },
    { FAULT_IRQ_LOST, "irq-lost", "nth queue", "irq-lost queue=admin limit=1" },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const struct kind_row *kind_row(enum fault_kind k)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i].kind == k)
            return &kinds[i];
    return NULL;
}

/* "medium, every-nth, ... or irq-lost": every kind, for the errors that
 * list them (the table is the one place a kind is named). */
static const char *kind_names(char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NKINDS && at < len; i++) {
        int n = snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : i + 1 == NKINDS ? " or " : ", ", kinds[i].name);
        at += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

bool fault_rule_is_action(const struct fault_rule *r)
{
    return r->kind == FAULT_CAPACITY || r->kind == FAULT_REMOVE || r->kind == FAULT_INSERT ||
           r->kind == FAULT_IO_ERROR || r->kind == FAULT_REOPEN || r->kind == FAULT_BATTERY;
}

const char *fault_kind_name(enum fault_kind k)
{
    const struct kind_row *r = kind_row(k);
    return r ? r->name : "?";
}

/* io-error's file= and call= words, in the order of enum sim_store_file
 * and enum sim_store_call (sim/store/store.h). */
static const char *const io_files[SIM_STORE_FILES] = { "media", "journal", "battery" };
static const char *const io_calls[SIM_STORE_CALLS] = {
    "open", "stat", "read", "write", "sync", "truncate", "rename", "discard", "seek",
};

static int word_index(const char *const *words, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(words[i], v))
            return i;
    return -1;
}

/* The errnos an io-error action may inject: what a file system really returns. */
static const struct { const char *name; int err; } errno_names[] = {
    { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EROFS", EROFS }, { "EDQUOT", EDQUOT }, { "EINTR", EINTR },
    { "short", SIM_STORE_SHORT }, { "eof", SIM_STORE_EOF }, { "ENOSYS", ENOSYS },
};

static const char *errno_name(int e)
{
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].err == e)
            return errno_names[i].name;
    return "EIO";
}

/* battery's state= words, indexed by enum hba_battery (hw/hba.h). */
static const char *const battery_states[] = { "absent", "good", "failed" };
/* The admin opcodes by name, HBA_ADM_IDENTIFY (0x80) up (hw/hba.h enum
 * hba_admin_opcode; the names the rogue directive uses); others as 0xNN. */
static const struct { const char *name; uint8_t op; } admin_names[] = {
    { "identify", HBA_ADM_IDENTIFY },       { "create-cq", HBA_ADM_CREATE_CQ },
    { "create-sq", HBA_ADM_CREATE_SQ },     { "delete-sq", HBA_ADM_DELETE_SQ },
    { "delete-cq", HBA_ADM_DELETE_CQ },     { "get-feature", HBA_ADM_GET_FEATURE },
    { "set-feature", HBA_ADM_SET_FEATURE }, { "abort", HBA_ADM_ABORT },
    { "async-event", HBA_ADM_ASYNC_EVENT }, { "cache-flush", HBA_ADM_CACHE_FLUSH },
    { "shutdown", HBA_ADM_SHUTDOWN },       { "get-log", HBA_ADM_GET_LOG },
    { "reset", HBA_ADM_RESET },             { "nexus-loss", HBA_ADM_NEXUS_LOSS },
};

static const struct { const char *name; int op; } op_names[] = {
    { "any", FAULT_OP_ANY }, { "read", FAULT_OP_READ }, { "write", FAULT_OP_WRITE }, { "sync", FAULT_OP_SYNC },
    { "tur", 0x00 }, { "inquiry", 0x12 },
};

struct pctx {
    char *err;
    size_t errlen;
    unsigned *col;
};

static int fail(const struct pctx *p, unsigned col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const struct pctx *p, unsigned col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errf(p->err, p->errlen, "column %u: %s", col, msg);
    if (p->col)
        *p->col = col;
    return -EINVAL;
}

static bool parse_u64(const char *v, uint64_t *out)
{
    if (!*v || *v == '-' || *v == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

/* N followed by ns, us, ms or s. */
static bool parse_time(const char *v, uint64_t *ns)
{
    char *end;
    if (!*v || *v == '-' || *v == '+')
        return false;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v)
        return false;
    uint64_t mul = !strcmp(end, "ns") ? 1 : !strcmp(end, "us") ? 1000 : !strcmp(end, "ms") ? 1000000
                 : !strcmp(end, "s") ? 1000000000ull : 0;
    if (!mul || x > UINT64_MAX / mul || x * mul > 3600ull * 1000000000ull)
        return false;
    *ns = x * mul;
    return true;
}

static bool parse_real(const char *v, double lo, double hi, double *out)
{
    char *end;
    if (!*v)
        return false;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || !isfinite(x) || x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

static bool parse_hex_byte(const char *s, const char **end, unsigned *out)
{
    char *e;
    errno = 0;
    unsigned long x = strtoul(s, &e, 16);
    if (e == s || errno || x > 0xFF)
        return false;
    *end = e;
    *out = (unsigned)x;
    return true;
}

static bool parse_sense(const char *v, struct scsi_sense_reason *r)
{
    unsigned k, asc, ascq;
    const char *e;
    if (!parse_hex_byte(v, &e, &k) || *e != '/' || k > 0xF)
        return false;
    if (!parse_hex_byte(e + 1, &e, &asc) || *e != '/')
        return false;
    if (!parse_hex_byte(e + 1, &e, &ascq) || *e)
        return false;
    *r = scsi_reason((uint8_t)k, SCSI_ASCQ(asc, ascq));
    return true;
}

static bool parse_drive(const char *v, uint16_t *t, uint16_t *l)
{
    char *e;
    errno = 0;
    unsigned long a = strtoul(v, &e, 10);
    if (e == v || *e != ':' || errno || a > 0xFFFF)
        return false;
    const char *s = e + 1;
    unsigned long b = strtoul(s, &e, 10);
    if (e == s || *e || errno || b > 0xFFFF)
        return false;
    *t = (uint16_t)a;
    *l = (uint16_t)b;
    return true;
}

static bool parse_op(const char *v, int *op)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (!strcmp(v, op_names[i].name)) {
            *op = op_names[i].op;
            return true;
        }
    uint64_t x;
    if (strncmp(v, "0x", 2) || !parse_u64(v, &x) || x > 0xFF)
        return false;
    *op = (int)x;
    return true;
}

/* An admin opcode by name, or 0x80..0xff (below 0x80 are no admin commands). */
static bool parse_admin(const char *v, uint8_t *op)
{
    for (size_t i = 0; i < sizeof admin_names / sizeof admin_names[0]; i++)
        if (!strcmp(v, admin_names[i].name)) {
            *op = admin_names[i].op;
            return true;
        }
    uint64_t x;
    if (strncmp(v, "0x", 2) || !parse_u64(v, &x) || x < 0x80 || x > 0xFF)
        return false;
    *op = (uint8_t)x;
    return true;
}

static bool has_key(const char *keys, const char *k)
{
    size_t n = strlen(k);
    for (const char *p = keys; (p = strstr(p, k)) != NULL; p += n)
        if ((p == keys || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* One key=value word of kind row kr. */
static int parse_pair(const struct pctx *p, const struct kind_row *kr, const char *k, const char *v, unsigned col,
                      unsigned vcol, struct fault_rule *r, uint32_t *given)
{
    static const char common[] = "drive limit seed";
    if (!has_key(common, k) && !has_key(kr->keys, k))
        return fail(p, col, "'%s' is not a key of a %s rule; it takes %s%s%s (e.g. %s)", k, kr->name,
                    kr->keys, *kr->keys ? " " : "", common, kr->example);
    const char *keynames[] = { "drive", "limit", "seed", "lba", "count", "io", "recovered", "n", "sense", "op",
                               "dist", "time", "min", "max", "tail", "p", "after", "fraction", "status",
                               "blocks", "window", "step", "nth", "block-size", "file", "call", "errno", "state", "admin",
                               "queue" };
    for (unsigned i = 0; i < sizeof keynames / sizeof keynames[0]; i++)
        if (!strcmp(k, keynames[i])) {
            if (*given & (1u << i))
                return fail(p, col, "'%s' is given twice", k);
            *given |= 1u << i;
        }
    bool ok = true;
    const char *want = "";
    if (!strcmp(k, "drive")) {
        ok = parse_drive(v, &r->target, &r->lun);
        r->any_drive = false;
        want = "T:L, e.g. drive=0:0";
    } else if (!strcmp(k, "limit")) {
        ok = parse_u64(v, &r->limit) && r->limit > 0;
        want = "a count of at least 1";
    } else if (!strcmp(k, "seed")) {
        ok = parse_u64(v, &r->seed);
        r->seed_given = true;
        want = "an unsigned integer";
    } else if (!strcmp(k, "lba")) {
        ok = parse_u64(v, &r->lba);
        want = "a logical block address";
    } else if (!strcmp(k, "count")) {
        ok = parse_u64(v, &r->count) && r->count > 0 && r->count <= UINT64_MAX - r->lba;
        want = "a block count of at least 1";
    } else if (!strcmp(k, "io")) {
        r->io = !strcmp(v, "read") ? FAULT_IO_READ : !strcmp(v, "write") ? FAULT_IO_WRITE
              : !strcmp(v, "rw") ? FAULT_IO_RW : 0;
        ok = r->io != 0;
        want = "read, write or rw";
    } else if (!strcmp(k, "recovered")) {
        ok = !strcmp(v, "yes") || !strcmp(v, "no");
        r->recovered = !strcmp(v, "yes");
        want = "yes or no";
    } else if (!strcmp(k, "n") || !strcmp(k, "nth")) {
        ok = parse_u64(v, &r->nth) && r->nth > 0;
        want = "a count of at least 1 (n=1 fails every command)";
    } else if (!strcmp(k, "admin")) {
        ok = parse_admin(v, &r->admin_op);
        want = "an admin command (identify, create-cq, create-sq, delete-sq, delete-cq, get-feature, set-feature, "
               "abort, async-event, cache-flush, shutdown, get-log, reset, nexus-loss) or an opcode as 0x80..0xff";
    } else if (!strcmp(k, "queue")) {
        ok = !strcmp(v, "io") || !strcmp(v, "admin");
        r->irq_admin = !strcmp(v, "admin");
        want = "io (an I/O completion queue's interrupt, the default) or admin (the admin queue's)";
    } else if (!strcmp(k, "sense")) {
        ok = parse_sense(v, &r->sense);
        want = "KEY/ASC/ASCQ in hexadecimal, e.g. sense=3/11/00";
    } else if (!strcmp(k, "op")) {
        ok = parse_op(v, &r->op);
        want = "any, read, write, sync, tur, inquiry or an opcode as 0xNN";
    } else if (!strcmp(k, "dist")) {
        r->dist = !strcmp(v, "fixed") ? FAULT_DIST_FIXED : !strcmp(v, "uniform") ? FAULT_DIST_UNIFORM
                : !strcmp(v, "exp") ? FAULT_DIST_EXP : !strcmp(v, "tail") ? FAULT_DIST_TAIL : 0;
        ok = r->dist != 0;
        want = "fixed, uniform, exp or tail";
    } else if (!strcmp(k, "window")) {
        ok = parse_u64(v, &r->window) && r->window >= 2 && r->window <= 1024;
        want = "a number of commands from 2 to 1024";
    } else if (!strcmp(k, "time") || !strcmp(k, "min") || !strcmp(k, "max") || !strcmp(k, "tail") ||
               !strcmp(k, "after") || !strcmp(k, "step")) {
        uint64_t *dst = !strcmp(k, "time") ? &r->time_ns : !strcmp(k, "min") ? &r->min_ns
                      : !strcmp(k, "max") ? &r->max_ns : !strcmp(k, "tail") ? &r->tail_ns
                      : !strcmp(k, "step") ? &r->step_ns : &r->after_ns;
        ok = parse_time(v, dst);
        want = "a time with its unit (ns, us, ms, s), at most 1 hour, e.g. 2ms";
    } else if (!strcmp(k, "p")) {
        ok = parse_real(v, 0, 100, &r->p) && r->p > 0 && r->p < 100;
        want = "a percentile strictly between 0 and 100, e.g. p=99";
    } else if (!strcmp(k, "fraction")) {
        ok = parse_real(v, 0, 1, &r->fraction);
        want = "a fraction from 0 to 1, e.g. 0.1";
    } else if (!strcmp(k, "status")) {
        r->status = !strcmp(v, "busy") ? SCSI_STATUS_BUSY : !strcmp(v, "task-set-full") ? SCSI_STATUS_TASK_SET_FULL : 0;
        ok = r->status != 0;
        want = "busy or task-set-full";
    } else if (!strcmp(k, "block-size")) {
        uint64_t bs = 0;
        ok = parse_u64(v, &bs) && (bs == 512 || bs == 4096);
        r->block_size = (uint32_t)bs;
        want = "512 or 4096";
    } else if (!strcmp(k, "file")) {
        r->io_file = word_index(io_files, SIM_STORE_FILES, v);
        ok = r->io_file >= 0;
        want = "media, journal or battery";
    } else if (!strcmp(k, "call")) {
        r->io_call = word_index(io_calls, SIM_STORE_CALLS, v);
        ok = r->io_call >= 0;
        want = "open, stat, read, write, sync, truncate, rename, discard or seek";
    } else if (!strcmp(k, "errno")) {
        ok = false;
        for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
            if (!strcmp(v, errno_names[i].name)) {
                r->io_errno = errno_names[i].err;
                ok = true;
            }
        want = "EIO, ENOSPC, EROFS, EDQUOT, EINTR, short (call=read or write), eof (call=read) or ENOSYS "
               "(file=media call=open)";
    } else if (!strcmp(k, "state")) {
        r->battery = word_index(battery_states, 3, v);
        ok = r->battery >= 0;
        want = "absent, good or failed";
    } else if (!strcmp(k, "blocks")) {
        ok = parse_u64(v, &r->blocks) && r->blocks > 0;
        want = "a block count of at least 1";
    }
    if (!ok)
        return fail(p, vcol, "bad %s '%s': write %s", k, v, want);
    return 0;
}

#define GIVEN(i) (given & (1u << (i)))
enum { K_COUNT = 4, K_FILE = 24, K_CALL = 25, K_STATE = 27, K_ADMIN = 28 };
enum { K_LBA = 3, K_N = 7, K_DIST = 10, K_TIME, K_MIN, K_MAX, K_TAIL, K_P, K_BLOCKS = 19, K_WINDOW, K_STEP,
       K_NTH };

static int check_rule(const struct pctx *p, const struct fault_rule *r, uint32_t given, unsigned endcol)
{
    const struct kind_row *kr = kind_row(r->kind);
    switch (r->kind) {
    case FAULT_MEDIUM:
        if (!GIVEN(K_LBA))
            return fail(p, endcol, "a medium rule needs lba=N (e.g. %s)", kr->example);
        break;
    case FAULT_EVERY_NTH:
        if (!GIVEN(K_N))
            return fail(p, endcol, "an every-nth rule needs n=N (e.g. %s)", kr->example);
        break;
    case FAULT_LATENCY:
        if (!GIVEN(K_DIST))
            return fail(p, endcol, "a latency rule needs dist=fixed|uniform|exp|tail (e.g. %s)", kr->example);
        if (r->dist == FAULT_DIST_UNIFORM) {
            if (!GIVEN(K_MIN) || !GIVEN(K_MAX) || r->min_ns > r->max_ns)
                return fail(p, endcol, "dist=uniform needs min=T and max=T with min <= max");
            if (GIVEN(K_TIME) || GIVEN(K_TAIL) || GIVEN(K_P))
                return fail(p, endcol, "dist=uniform takes min= and max= only");
        } else {
            if (!GIVEN(K_TIME))
                return fail(p, endcol, "dist=%s needs time=T", r->dist == FAULT_DIST_EXP ? "exp (time is the mean)"
                                                               : r->dist == FAULT_DIST_TAIL ? "tail" : "fixed");
            if (GIVEN(K_MIN) || GIVEN(K_MAX))
                return fail(p, endcol, "min= and max= belong to dist=uniform");
            if (r->dist == FAULT_DIST_TAIL && (!GIVEN(K_TAIL) || !GIVEN(K_P)))
                return fail(p, endcol, "dist=tail needs tail=T and p=PCT: p%% of commands take time=, the rest tail=");
            if (r->dist != FAULT_DIST_TAIL && (GIVEN(K_TAIL) || GIVEN(K_P)))
                return fail(p, endcol, "tail= and p= belong to dist=tail");
        }
        break;
    case FAULT_IOMMU_FAULT:
        if (!GIVEN(K_NTH))
            return fail(p, endcol, "an iommu-fault rule needs nth=N, the DMA access that faults (e.g. %s)",
                        kr->example);
        break;
    case FAULT_REORDER:
        if (r->step_ns == 0 && GIVEN(K_STEP))
            return fail(p, endcol, "step=0 would reorder nothing: write a time such as step=1ms");
        break;
    case FAULT_REMOVE:
        if (r->any_drive)
            return fail(p, endcol, "a remove action needs drive=T:L (e.g. %s)", kr->example);
        break;
    case FAULT_INSERT:
        if (!GIVEN(K_BLOCKS) || r->any_drive)
            return fail(p, endcol, "an insert action needs drive=T:L and blocks=N (e.g. %s)", kr->example);
        if (r->blocks > (1ull << 40))
            return fail(p, endcol, "blocks=%" PRIu64 " is above 2^40 for an inserted drive", r->blocks);
        break;
    case FAULT_IO_ERROR:
        if (r->any_drive || !GIVEN(K_FILE) || !GIVEN(K_CALL))
            return fail(p, endcol, "an io-error action needs drive=T:L, file= and call= (e.g. %s)", kr->example);
        if ((r->io_errno == SIM_STORE_SHORT && r->io_call != SIM_STORE_CALL_READ &&
             r->io_call != SIM_STORE_CALL_WRITE) ||
            (r->io_errno == SIM_STORE_EOF && r->io_call != SIM_STORE_CALL_READ))
            return fail(p, endcol, "errno=%s is a result of call=read%s only", errno_name(r->io_errno),
                        r->io_errno == SIM_STORE_SHORT ? " or call=write" : "");
        if (r->io_errno == ENOSYS && (r->io_file != SIM_STORE_FILE_MEDIA || r->io_call != SIM_STORE_CALL_OPEN))
            return fail(p, endcol, "errno=ENOSYS (openat2 missing) is for file=media call=open only");
        if (r->count > UINT32_MAX)
            return fail(p, endcol, "count=%" PRIu64 " is above %u calls", r->count, UINT32_MAX);
        break;
    case FAULT_REOPEN:
        if (r->any_drive)
            return fail(p, endcol, "a reopen action needs drive=T:L (e.g. %s)", kr->example);
        break;
    case FAULT_BATTERY:
        if (r->any_drive || !GIVEN(K_STATE))
            return fail(p, endcol, "a battery action needs drive=T:L and state=absent|good|failed (e.g. %s)",
                        kr->example);
        break;
    case FAULT_ADMIN_REFUSE:
    case FAULT_RESET_FAIL:
    case FAULT_IRQ_LOST:
        /* The controller's own: no drive picks them out. */
        if (!r->any_drive)
            return fail(p, endcol, "a%s %s rule acts on the controller, not a drive: write it without drive= (e.g. %s)",
                        r->kind == FAULT_ADMIN_REFUSE ? "n" : "", kr->name, kr->example);
        if (r->kind == FAULT_ADMIN_REFUSE && !GIVEN(K_ADMIN))
            return fail(p, endcol, "an admin-refuse rule needs admin=COMMAND (e.g. %s)", kr->example);
        break;
    case FAULT_CAPACITY:
        if (!GIVEN(K_BLOCKS) || r->any_drive)
            return fail(p, endcol, "a capacity rule needs drive=T:L and blocks=N (e.g. %s)", kr->example);
        break;
    default:
        break;
    }
    return 0;
}

int fault_rule_parse(const char *text, struct fault_rule *r, char *err, size_t errlen, unsigned *col)
{
    struct pctx p = { err, errlen, col };
    char names[320];
    *r = (struct fault_rule){ .any_drive = true, .op = FAULT_OP_ANY, .count = 1, .io = FAULT_IO_READ,
                              .sense = scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASCQ(0x44, 0x00)),
                              .fraction = 1.0, .status = SCSI_STATUS_BUSY, .window = 4, .nth = 1,
                              .step_ns = 1000000, .block_size = 512, .io_errno = EIO };
    size_t len = strlen(text);
    if (len > FAULT_TEXT_MAX)
        return fail(&p, FAULT_TEXT_MAX + 1, "a rule is at most %u characters", FAULT_TEXT_MAX);
    char buf[FAULT_TEXT_MAX + 1];
    memcpy(buf, text, len + 1);
    uint32_t given = 0;
    size_t i = 0;
    bool first = true;
    const struct kind_row *kr = NULL;
    for (;;) {
        while (buf[i] == ' ' || buf[i] == '\t')
            i++;
        if (!buf[i])
            break;
        size_t start = i;
        while (buf[i] && buf[i] != ' ' && buf[i] != '\t')
            i++;
        bool last = !buf[i];
        buf[i] = '\0';
        const char *w = buf + start;
        unsigned wcol = (unsigned)start + 1;
        for (const char *q = w; *q; q++)
            if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7E)
                return fail(&p, wcol + (unsigned)(q - w), "control or non-ASCII byte 0x%02x in a rule",
                            (unsigned char)*q);
        if (first) {
            for (size_t k = 0; k < NKINDS; k++)
                if (!strcmp(w, kinds[k].name))
                    kr = &kinds[k];
            if (!kr)
                return fail(&p, wcol, "unknown fault rule '%s': write %s", w, kind_names(names, sizeof names));
            r->kind = kr->kind;
            first = false;
        } else {
            char *eq = strchr(w, '=');
            if (!eq || eq == w)
                return fail(&p, wcol, "'%s' is not key=value (e.g. %s)", w, kr->example);
            *eq = '\0';
            int rc = parse_pair(&p, kr, w, eq + 1, wcol, wcol + (unsigned)(eq - w) + 1, r, &given);
            if (rc)
                return rc;
        }
        if (last)
            break;
        i++;
    }
    if (first)
        return fail(&p, 1, "empty rule: write a kind (%s) and its keys", kind_names(names, sizeof names));
    return check_rule(&p, r, given, (unsigned)len + 1);
}

static void put_time(struct tbuf *b, const char *k, uint64_t ns)
{
    if (ns % 1000000000ull == 0 && ns)
        tbuf_printf(b, " %s=%" PRIu64 "s", k, (uint64_t)(ns / 1000000000u));
    else if (ns % 1000000 == 0 && ns)
        tbuf_printf(b, " %s=%" PRIu64 "ms", k, ns / 1000000);
    else if (ns % 1000 == 0 && ns)
        tbuf_printf(b, " %s=%" PRIu64 "us", k, ns / 1000);
    else
        tbuf_printf(b, " %s=%" PRIu64 "ns", k, ns);
}

static void put_admin(struct tbuf *b, uint8_t op)
{
    for (size_t i = 0; i < sizeof admin_names / sizeof admin_names[0]; i++)
        if (admin_names[i].op == op) {
            tbuf_printf(b, " admin=%s", admin_names[i].name);
            return;
        }
    tbuf_printf(b, " admin=0x%02x", (unsigned)op);
}

static void put_op(struct tbuf *b, int op)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (op_names[i].op == op) {
            tbuf_printf(b, " op=%s", op_names[i].name);
            return;
        }
    tbuf_printf(b, " op=0x%02x", (unsigned)op);
}

void fault_rule_format(const struct fault_rule *r, struct tbuf *b)
{
    tbuf_puts(b, fault_kind_name(r->kind));
    if (!r->any_drive)
        tbuf_printf(b, " drive=%u:%u", r->target, r->lun);
    if (r->op != FAULT_OP_ANY)
        put_op(b, r->op);
    switch (r->kind) {
    case FAULT_MEDIUM:
        tbuf_printf(b, " lba=%" PRIu64 " count=%" PRIu64 " io=%s recovered=%s", r->lba, r->count,
                    r->io == FAULT_IO_READ ? "read" : r->io == FAULT_IO_WRITE ? "write" : "rw",
                    r->recovered ? "yes" : "no");
        break;
    case FAULT_EVERY_NTH:
        tbuf_printf(b, " n=%" PRIu64 " sense=%x/%02x/%02x", r->nth, r->sense.key, r->sense.asc_ascq >> 8,
                    r->sense.asc_ascq & 0xFF);
        break;
    case FAULT_LATENCY:
        tbuf_printf(b, " dist=%s", r->dist == FAULT_DIST_FIXED ? "fixed" : r->dist == FAULT_DIST_UNIFORM ? "uniform"
                                   : r->dist == FAULT_DIST_EXP ? "exp" : "tail");
        if (r->dist == FAULT_DIST_UNIFORM) {
            put_time(b, "min", r->min_ns);
            put_time(b, "max", r->max_ns);
        } else {
            put_time(b, "time", r->time_ns);
        }
        if (r->dist == FAULT_DIST_TAIL) {
            put_time(b, "tail", r->tail_ns);
            tbuf_printf(b, " p=%.10g", r->p);
        }
        break;
    case FAULT_HANG:
        if (r->after_ns)
            put_time(b, "after", r->after_ns);
        break;
    case FAULT_BUSY:
        tbuf_printf(b, " fraction=%.10g status=%s", r->fraction,
                    r->status == SCSI_STATUS_TASK_SET_FULL ? "task-set-full" : "busy");
        break;
    case FAULT_LOSE:
    case FAULT_DUPLICATE:
        tbuf_printf(b, " fraction=%.10g", r->fraction);
        break;
    case FAULT_CAPACITY:
        tbuf_printf(b, " blocks=%" PRIu64, r->blocks);
        break;
    case FAULT_INSERT:
        tbuf_printf(b, " blocks=%" PRIu64 " block-size=%u", r->blocks, r->block_size);
        break;
    case FAULT_REMOVE:
    case FAULT_REOPEN:
        break;
    case FAULT_BATTERY:
        tbuf_printf(b, " state=%s", battery_states[r->battery]);
        break;
    case FAULT_IO_ERROR:
        tbuf_printf(b, " file=%s call=%s count=%" PRIu64 " errno=%s", io_files[r->io_file],
                    io_calls[r->io_call], r->count, errno_name(r->io_errno));
        break;
    case FAULT_REORDER:
        tbuf_printf(b, " window=%" PRIu64, r->window);
        put_time(b, "step", r->step_ns);
        break;
    case FAULT_SPURIOUS:
        tbuf_printf(b, " n=%" PRIu64, r->nth);
        break;
    case FAULT_FATAL:
    case FAULT_IOMMU_FAULT:
        tbuf_printf(b, " nth=%" PRIu64, r->nth);
        break;
    case FAULT_ADMIN_REFUSE:
        put_admin(b, r->admin_op);
        tbuf_printf(b, " nth=%" PRIu64, r->nth);
        break;
    case FAULT_RESET_FAIL:
        tbuf_printf(b, " nth=%" PRIu64, r->nth);
        break;
    case FAULT_IRQ_LOST:
        if (r->irq_admin)
            tbuf_printf(b, " queue=admin");
        tbuf_printf(b, " nth=%" PRIu64, r->nth);
        break;
    case FAULT_WRITE_PROTECT:
        break;
    }
    if (r->limit)
        tbuf_printf(b, " limit=%" PRIu64, r->limit);
    if (r->seed_given)
        tbuf_printf(b, " seed=%" PRIu64, r->seed);
}

bool fault_rule_equal(const struct fault_rule *a, const struct fault_rule *b)
{
    struct tbuf x = { 0 }, y = { 0 };
    fault_rule_format(a, &x);
    fault_rule_format(b, &y);
    bool eq = !x.oom && !y.oom && !strcmp(tbuf_str(&x), tbuf_str(&y));
    tbuf_free(&x);
    tbuf_free(&y);
    return eq;
}
