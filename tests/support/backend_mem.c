/* tests/support/backend_mem.c — the in-memory TEST disk behind scsi_backend (see
 * backend_mem.h).  Command handling is a table: opcode -> handler and minimum
 * CDB length; handlers return a sense reason or success and sense bytes are
 * built in one place. */
#include "tests/support/backend_mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/cdb.h"

struct mem_lun {
    uint8_t *data;
};

struct backend_mem {
    struct scsi_backend be; /* first: the interface */
    pthread_mutex_t lock;
    struct backend_mem_options opt;
    struct mem_lun *luns;
    bool hold;
    struct scsi_backend_task *held_head, *held_tail;
    struct backend_mem_stats stats;
};

/* Outcome of a handler: ok, or a sense reason to report. */
struct mem_outcome {
    bool ok;
    struct scsi_sense_reason reason;
};
static const struct mem_outcome MEM_OK = { .ok = true };
static struct mem_outcome fail(struct scsi_sense_reason r)
{
    struct mem_outcome o = { .ok = false, .reason = r };
    return o;
}
static struct mem_outcome fail_cdb(uint16_t byte, int bit)
{
    return fail(scsi_reason_invalid_cdb_field(byte, bit));
}

/* Copies up to `alloc` bytes of `avail` prepared bytes into data-in. */
static void put_data_in(struct scsi_backend_task *t, const uint8_t *src, uint64_t avail, uint64_t alloc)
{
    uint64_t wanted = avail < alloc ? avail : alloc;
    uint64_t moved = 0;
    if (t->dir == SCSI_DIR_READ && t->data_in)
        moved = wanted < t->data_in_cap ? wanted : t->data_in_cap;
    if (moved)
        memcpy(t->data_in, src, moved);
    scsi_backend_set_transfer(t, wanted, moved);
}

static bool lun_present(const struct backend_mem *m, uint64_t lun)
{
    return lun < m->opt.luns;
}

/* ---- commands ------------------------------------------------------------ */

static void ascii_field(uint8_t *dst, const char *s, size_t n)
{
    memset(dst, ' ', n);
    size_t l = strlen(s);
    memcpy(dst, s, l < n ? l : n);
}

static struct mem_outcome cmd_inquiry(struct backend_mem *m, struct scsi_backend_task *t)
{
    const uint8_t *c = t->cdb;
    uint16_t alloc = scsi_get_be16(c + 3);
    uint8_t d[96];
    memset(d, 0, sizeof(d));
    bool present = lun_present(m, t->lun);
    if (!(c[1] & 0x01)) {
        if (c[2] != 0)
            return fail_cdb(2, -1);
        d[0] = present ? SCSI_PDT_DISK : (uint8_t)(SCSI_PQ_NOT_SUPPORTED << 5 | SCSI_PDT_UNKNOWN);
        d[2] = 0x06;  /* SPC-4 */
        d[3] = 0x02;  /* response data format 2 */
        d[4] = 36 - 5;
        d[7] = 0x02;  /* CMDQUE */
        ascii_field(d + 8, "SCSISIM", 8);
        ascii_field(d + 16, "MEMDISK (TEST)", 16);
        ascii_field(d + 32, "0001", 4);
        put_data_in(t, d, 36, alloc);
        return MEM_OK;
    }
    if (!present)
        return fail(scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED));
    size_t n;
    d[0] = SCSI_PDT_DISK;
    d[1] = c[2];
    switch (c[2]) {
    case 0x00: /* supported pages */
        d[4] = 0x00; d[5] = 0x80; d[6] = 0x83;
        n = 7;
        break;
    case 0x80: { /* unit serial number */
        char serial[17];
        int len = snprintf(serial, sizeof(serial), "MEM%013llu", (unsigned long long)t->lun);
        memcpy(d + 4, serial, (size_t)len);
        n = 4 + (size_t)len;
        break;
    }
    case 0x83: /* device identification: one T10 vendor ID designator */
        d[4] = 0x02; /* code set ASCII */
        d[5] = 0x01; /* association LU, type T10 vendor ID */
        ascii_field(d + 8, "SCSISIM", 8);
        d[16] = 'L'; d[17] = 'U'; d[18] = 'N';
        scsi_put_be32(d + 19, (uint32_t)t->lun);
        d[7] = 8 + 3 + 4;
        n = 8 + d[7];
        break;
    default:
        return fail_cdb(2, -1);
    }
    scsi_put_be16(d + 2, (uint16_t)(n - 4));
    put_data_in(t, d, n, alloc);
    return MEM_OK;
}

static struct mem_outcome cmd_tur(struct backend_mem *m, struct scsi_backend_task *t)
{
    (void)m; (void)t;
    return MEM_OK;
}

static struct mem_outcome cmd_read_capacity10(struct backend_mem *m, struct scsi_backend_task *t)
{
    uint8_t d[8];
    uint64_t last = m->opt.blocks - 1;
    scsi_put_be32(d, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
    scsi_put_be32(d + 4, m->opt.block_size);
    put_data_in(t, d, sizeof(d), sizeof(d));
    return MEM_OK;
}

static struct mem_outcome cmd_service_action_in(struct backend_mem *m, struct scsi_backend_task *t)
{
    if ((t->cdb[1] & 0x1f) != SCSI_SAI_READ_CAPACITY_16)
        return fail_cdb(1, 4);
    uint8_t d[32];
    memset(d, 0, sizeof(d));
    scsi_put_be64(d, m->opt.blocks - 1);
    scsi_put_be32(d + 8, m->opt.block_size);
    put_data_in(t, d, sizeof(d), scsi_get_be32(t->cdb + 10));
    return MEM_OK;
}

/* The LBA and block count of a READ/WRITE (scsi/cdb.h) or a SYNCHRONIZE
 * CACHE (10/16; 0 blocks: to the end).  The command table has checked the
 * CDB length, so the decoding cannot fail. */
static void rw_fields(const uint8_t *c, uint8_t len, uint64_t *lba, uint64_t *count)
{
    struct cdb_rw rw;
    if (cdb_parse_rw(c, len, &rw)) {
        *lba = rw.lba;
        *count = rw.blocks;
    } else if (c[0] == SCSI_OP_SYNCHRONIZE_CACHE_10) {
        *lba = scsi_get_be32(c + 2);
        *count = scsi_get_be16(c + 7);
    } else { /* SYNCHRONIZE CACHE (16) */
        *lba = scsi_get_be64(c + 2);
        *count = scsi_get_be32(c + 10);
    }
}

static bool range_ok(const struct backend_mem *m, uint64_t lba, uint64_t count)
{
    return lba <= m->opt.blocks && count <= m->opt.blocks - lba;
}

static struct mem_outcome cmd_read(struct backend_mem *m, struct scsi_backend_task *t)
{
    uint64_t lba, count;
    rw_fields(t->cdb, t->cdb_len, &lba, &count);
    if (!range_ok(m, lba, count))
        return fail(scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
    uint64_t bytes = count * m->opt.block_size;
    uint64_t moved = bytes;
    if (t->dir != SCSI_DIR_READ || t->data_in == NULL)
        moved = 0;
    else if (moved > t->data_in_cap)
        moved = t->data_in_cap;
    if (moved)
        memcpy(t->data_in, m->luns[t->lun].data + lba * m->opt.block_size, moved);
    scsi_backend_set_transfer(t, bytes, moved);
    if (count)
        m->stats.reads++;
    return MEM_OK;
}

static struct mem_outcome cmd_write(struct backend_mem *m, struct scsi_backend_task *t)
{
    uint64_t lba, count;
    rw_fields(t->cdb, t->cdb_len, &lba, &count);
    if (!range_ok(m, lba, count))
        return fail(scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
    uint64_t bytes = count * m->opt.block_size;
    uint64_t have = (t->dir == SCSI_DIR_WRITE && t->data_out) ? t->data_out_len : 0;
    /* Less data than the CDB asks for: the whole blocks that came are
     * written and the rest is an overflow residual, as iSCSI targets do
     * (libiscsi's iSCSIResiduals tests expect exactly this). */
    uint64_t blocks = (have < bytes ? have : bytes) / m->opt.block_size;
    if (blocks)
        memcpy(m->luns[t->lun].data + lba * m->opt.block_size, t->data_out, blocks * m->opt.block_size);
    scsi_backend_set_transfer(t, bytes, have < bytes ? have : bytes);
    if (count)
        m->stats.writes++;
    return MEM_OK;
}

static struct mem_outcome cmd_sync_cache(struct backend_mem *m, struct scsi_backend_task *t)
{
    uint64_t lba, count;
    rw_fields(t->cdb, t->cdb_len, &lba, &count);
    if (!range_ok(m, lba, count))
        return fail(scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
    m->stats.syncs++;
    return MEM_OK;
}

static struct mem_outcome cmd_report_luns(struct backend_mem *m, struct scsi_backend_task *t)
{
    uint32_t alloc = scsi_get_be32(t->cdb + 6);
    if (alloc < 16)
        return fail_cdb(6, -1);
    size_t n = 8 + 8 * (size_t)m->opt.luns;
    uint8_t *d = calloc(1, n);
    if (!d)
        return fail(scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE));
    scsi_put_be32(d, (uint32_t)(8 * m->opt.luns));
    for (unsigned i = 0; i < m->opt.luns; i++) {
        uint8_t *e = d + 8 + 8 * i;
        if (i < 256) {
            e[1] = (uint8_t)i;
        } else {
            e[0] = (uint8_t)(0x40 | (i >> 8));
            e[1] = (uint8_t)i;
        }
    }
    put_data_in(t, d, n, alloc);
    free(d);
    return MEM_OK;
}

static struct mem_outcome cmd_request_sense(struct backend_mem *m, struct scsi_backend_task *t)
{
    bool desc = t->cdb[1] & 0x01;
    uint8_t d[SCSI_SENSE_MAX];
    struct scsi_sense_reason r = lun_present(m, t->lun)
        ? scsi_reason(SCSI_SK_NO_SENSE, SCSI_ASC_NO_ADDITIONAL_SENSE)
        : scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
    size_t n = scsi_sense_build(d, sizeof(d), desc, &r);
    put_data_in(t, d, n, t->cdb[4]);
    return MEM_OK;
}

/* Builds the mode pages asked for (page 08h, 0Ah or 3Fh) at p; returns bytes. */
static size_t mode_pages(const struct backend_mem *m, uint8_t page, uint8_t pc, uint8_t *p)
{
    size_t n = 0;
    bool changeable = pc == 1;
    if (page == SCSI_MODE_PAGE_CACHING || page == SCSI_MODE_PAGE_ALL) {
        memset(p + n, 0, 20);
        p[n] = SCSI_MODE_PAGE_CACHING;
        p[n + 1] = 0x12;
        if (!changeable)
            p[n + 2] = 0x04; /* WCE: the test disk claims a write-back cache */
        n += 20;
    }
    if (page == SCSI_MODE_PAGE_CONTROL || page == SCSI_MODE_PAGE_ALL) {
        memset(p + n, 0, 12);
        p[n] = SCSI_MODE_PAGE_CONTROL;
        p[n + 1] = 0x0a;
        if (!changeable && m->opt.descriptor_sense)
            p[n + 2] = 0x04; /* D_SENSE */
        n += 12;
    }
    return n;
}

static struct mem_outcome cmd_mode_sense(struct backend_mem *m, struct scsi_backend_task *t)
{
    const uint8_t *c = t->cdb;
    bool ten = c[0] == SCSI_OP_MODE_SENSE_10;
    bool dbd = c[1] & 0x08;
    uint8_t pc = c[2] >> 6, page = c[2] & 0x3f;
    uint32_t alloc = ten ? scsi_get_be16(c + 7) : c[4];
    if (pc == 3)
        return fail(scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED));
    if (page != SCSI_MODE_PAGE_CACHING && page != SCSI_MODE_PAGE_CONTROL && page != SCSI_MODE_PAGE_ALL)
        return fail_cdb(2, 5);
    if (c[3] != 0 && !(page == SCSI_MODE_PAGE_ALL && c[3] == 0xff))
        return fail_cdb(3, -1); /* no subpages */
    uint8_t d[128];
    memset(d, 0, sizeof(d));
    size_t hdr = ten ? 8 : 4, bd = dbd ? 0 : 8;
    uint8_t *b = d + hdr;
    if (bd) {
        uint64_t blocks = m->opt.blocks;
        scsi_put_be32(b, blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)blocks);
        scsi_put_be24(b + 5, m->opt.block_size);
    }
    size_t n = hdr + bd + mode_pages(m, page, pc, d + hdr + bd);
    if (ten) {
        scsi_put_be16(d, (uint16_t)(n - 2));
        d[3] = 0x10; /* DPOFUA */
        scsi_put_be16(d + 6, (uint16_t)bd);
    } else {
        d[0] = (uint8_t)(n - 1);
        d[2] = 0x10;
        d[3] = (uint8_t)bd;
    }
    put_data_in(t, d, n, alloc);
    return MEM_OK;
}

/* The command table.  needs_lun: the command addresses the medium. */
struct mem_cmd {
    uint8_t op;
    uint8_t cdb_len;
    bool    needs_lun;
    struct mem_outcome (*run)(struct backend_mem *m, struct scsi_backend_task *t);
};
static const struct mem_cmd mem_cmds[] = {
    { SCSI_OP_TEST_UNIT_READY,      6,  true,  cmd_tur },
    { SCSI_OP_REQUEST_SENSE,        6,  false, cmd_request_sense },
    { SCSI_OP_READ_6,               6,  true,  cmd_read },
    { SCSI_OP_WRITE_6,              6,  true,  cmd_write },
    { SCSI_OP_INQUIRY,              6,  false, cmd_inquiry },
    { SCSI_OP_MODE_SENSE_6,         6,  true,  cmd_mode_sense },
    { SCSI_OP_READ_CAPACITY_10,     10, true,  cmd_read_capacity10 },
    { SCSI_OP_READ_10,              10, true,  cmd_read },
    { SCSI_OP_WRITE_10,             10, true,  cmd_write },
    { SCSI_OP_SYNCHRONIZE_CACHE_10, 10, true,  cmd_sync_cache },
    { SCSI_OP_MODE_SENSE_10,        10, true,  cmd_mode_sense },
    { SCSI_OP_READ_16,              16, true,  cmd_read },
    { SCSI_OP_WRITE_16,             16, true,  cmd_write },
    { SCSI_OP_SYNCHRONIZE_CACHE_16, 16, true,  cmd_sync_cache },
    { SCSI_OP_SERVICE_ACTION_IN_16, 16, true,  cmd_service_action_in },
    { SCSI_OP_REPORT_LUNS,          12, false, cmd_report_luns },
    { SCSI_OP_READ_12,              12, true,  cmd_read },
    { SCSI_OP_WRITE_12,             12, true,  cmd_write },
};

static const struct mem_cmd *find_cmd(uint8_t op)
{
    for (size_t i = 0; i < sizeof(mem_cmds) / sizeof(mem_cmds[0]); i++)
        if (mem_cmds[i].op == op)
            return &mem_cmds[i];
    return NULL;
}

/* Runs one task under the lock; the caller calls done afterwards. */
static void execute(struct backend_mem *m, struct scsi_backend_task *t)
{
    scsi_backend_result_reset(t);
    struct mem_outcome o;
    const struct mem_cmd *cmd = t->cdb_len ? find_cmd(t->cdb[0]) : NULL;
    if (!cmd) {
        o = fail_cdb(0, -1);
        o.reason.asc_ascq = SCSI_ASC_INVALID_COMMAND_OPCODE;
    } else if (t->cdb_len < cmd->cdb_len) {
        o = fail_cdb(0, -1);
    } else if (cmd->needs_lun && !lun_present(m, t->lun)) {
        o = fail(scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED));
    } else {
        o = cmd->run(m, t);
    }
    if (!o.ok)
        scsi_backend_set_sense(t, &o.reason, m->opt.descriptor_sense);
}

/* ---- scsi_backend ops ---------------------------------------------------- */

static int mem_submit(struct scsi_backend *be, struct scsi_backend_task *t)
{
    struct backend_mem *m = (struct backend_mem *)be;
    pthread_mutex_lock(&m->lock);
    m->stats.commands++;
    if (m->hold) {
        t->be_next = NULL;
        if (m->held_tail)
            m->held_tail->be_next = t;
        else
            m->held_head = t;
        m->held_tail = t;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    execute(m, t);
    pthread_mutex_unlock(&m->lock);
    t->done(t);
    return 0;
}

static bool tmf_matches(const struct scsi_backend_tmf *f, const struct scsi_backend_task *t)
{
    switch (f->fn) {
    case SCSI_TMF_ABORT_TASK:        return t->nexus == f->nexus && t->tag == f->ref_tag;
    case SCSI_TMF_ABORT_TASK_SET:    return t->nexus == f->nexus && t->lun == f->lun;
    case SCSI_TMF_CLEAR_TASK_SET:
    case SCSI_TMF_LUN_RESET:         return t->lun == f->lun;
    case SCSI_TMF_TARGET_WARM_RESET:
    case SCSI_TMF_TARGET_COLD_RESET: return true;
    case SCSI_TMF_CLEAR_ACA:         return false;
    }
    return false;
}

/* Unlinks the held tasks `match` selects into a private list. */
static struct scsi_backend_task *take_held(struct backend_mem *m, bool (*match)(const void *, const struct scsi_backend_task *),
                                           const void *arg)
{
    struct scsi_backend_task *out = NULL, **out_tail = &out;
    struct scsi_backend_task **pp = &m->held_head, *last = NULL;
    while (*pp) {
        struct scsi_backend_task *t = *pp;
        if (match(arg, t)) {
            *pp = t->be_next;
            t->be_next = NULL;
            *out_tail = t;
            out_tail = &t->be_next;
        } else {
            last = t;
            pp = &t->be_next;
        }
    }
    m->held_tail = last;
    return out;
}

static bool match_tmf(const void *arg, const struct scsi_backend_task *t)
{
    return tmf_matches(arg, t);
}

static bool match_nexus(const void *arg, const struct scsi_backend_task *t)
{
    return t->nexus == *(const uint64_t *)arg;
}

static bool match_all(const void *arg, const struct scsi_backend_task *t)
{
    (void)arg; (void)t;
    return true;
}

static unsigned abort_list(struct scsi_backend_task *list)
{
    unsigned n = 0;
    while (list) {
        struct scsi_backend_task *next = list->be_next;
        scsi_backend_abort_task(list);
        list = next;
        n++;
    }
    return n;
}

static void mem_task_mgmt(struct scsi_backend *be, struct scsi_backend_tmf *f)
{
    struct backend_mem *m = (struct backend_mem *)be;
    pthread_mutex_lock(&m->lock);
    m->stats.tmfs++;
    m->stats.last_tmf = f->fn;
    bool lun_scoped = f->fn != SCSI_TMF_TARGET_WARM_RESET && f->fn != SCSI_TMF_TARGET_COLD_RESET;
    if (lun_scoped && !lun_present(m, f->lun)) {
        pthread_mutex_unlock(&m->lock);
        f->response = SCSI_TMF_LUN_NOT_FOUND;
        f->done(f);
        return;
    }
    struct scsi_backend_task *victims = take_held(m, match_tmf, f);
    pthread_mutex_unlock(&m->lock);
    unsigned n = abort_list(victims);
    pthread_mutex_lock(&m->lock);
    m->stats.aborted += n;
    pthread_mutex_unlock(&m->lock);
    f->response = (f->fn == SCSI_TMF_ABORT_TASK && n == 0) ? SCSI_TMF_TASK_NOT_FOUND : SCSI_TMF_COMPLETE;
    f->done(f);
}

static void mem_nexus_loss(struct scsi_backend *be, uint64_t nexus)
{
    struct backend_mem *m = (struct backend_mem *)be;
    pthread_mutex_lock(&m->lock);
    m->stats.nexus_losses++;
    m->stats.last_nexus_lost = nexus;
    struct scsi_backend_task *victims = take_held(m, match_nexus, &nexus);
    pthread_mutex_unlock(&m->lock);
    unsigned n = abort_list(victims);
    pthread_mutex_lock(&m->lock);
    m->stats.aborted += n;
    pthread_mutex_unlock(&m->lock);
}

static const struct scsi_backend_ops mem_ops = {
    .name = "memory (test)",
    .submit = mem_submit,
    .task_mgmt = mem_task_mgmt,
    .nexus_loss = mem_nexus_loss,
};

/* ---- life cycle and test controls ---------------------------------------- */

int backend_mem_create(const struct backend_mem_options *opt, struct backend_mem **out)
{
    struct backend_mem_options o = { .luns = 1, .block_size = 512, .blocks = 16384 };
    if (opt) {
        o = *opt;
        if (!o.luns) o.luns = 1;
        if (!o.block_size) o.block_size = 512;
        if (!o.blocks) o.blocks = 16384;
    }
    if (o.block_size < 512 || o.block_size > 65536 || (o.block_size & (o.block_size - 1)) ||
        o.luns > 1024 || o.blocks > (UINT64_C(1) << 40) / o.block_size)
        return -EINVAL;
    struct backend_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->be.ops = &mem_ops;
    m->opt = o;
    pthread_mutex_init(&m->lock, NULL);
    m->luns = calloc(o.luns, sizeof(*m->luns));
    if (!m->luns)
        goto nomem;
    for (unsigned i = 0; i < o.luns; i++) {
        m->luns[i].data = calloc(o.blocks, o.block_size);
        if (!m->luns[i].data)
            goto nomem;
    }
    *out = m;
    return 0;
nomem:
    backend_mem_destroy(m);
    return -ENOMEM;
}

void backend_mem_destroy(struct backend_mem *m)
{
    if (!m)
        return;
    /* Held tasks still belong to their front-end: end them as aborted. */
    pthread_mutex_lock(&m->lock);
    struct scsi_backend_task *victims = take_held(m, match_all, NULL);
    pthread_mutex_unlock(&m->lock);
    abort_list(victims);
    if (m->luns)
        for (unsigned i = 0; i < m->opt.luns; i++)
            free(m->luns[i].data);
    free(m->luns);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

struct scsi_backend *backend_mem_backend(struct backend_mem *m)
{
    return &m->be;
}

void backend_mem_set_hold(struct backend_mem *m, bool hold)
{
    pthread_mutex_lock(&m->lock);
    m->hold = hold;
    pthread_mutex_unlock(&m->lock);
}

unsigned backend_mem_held(struct backend_mem *m)
{
    unsigned n = 0;
    pthread_mutex_lock(&m->lock);
    for (struct scsi_backend_task *t = m->held_head; t; t = t->be_next)
        n++;
    pthread_mutex_unlock(&m->lock);
    return n;
}

unsigned backend_mem_release(struct backend_mem *m)
{
    pthread_mutex_lock(&m->lock);
    struct scsi_backend_task *list = take_held(m, match_all, NULL);
    for (struct scsi_backend_task *t = list; t; t = t->be_next)
        execute(m, t);
    pthread_mutex_unlock(&m->lock);
    unsigned n = 0;
    while (list) {
        struct scsi_backend_task *next = list->be_next;
        list->done(list);
        list = next;
        n++;
    }
    return n;
}

void backend_mem_get_stats(struct backend_mem *m, struct backend_mem_stats *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->stats;
    pthread_mutex_unlock(&m->lock);
}

int backend_mem_peek(struct backend_mem *m, unsigned lun, uint64_t off, void *buf, uint64_t len)
{
    if (lun >= m->opt.luns)
        return -ENODEV;
    uint64_t size = m->opt.blocks * m->opt.block_size;
    if (off > size || len > size - off)
        return -ERANGE;
    pthread_mutex_lock(&m->lock);
    memcpy(buf, m->luns[lun].data + off, len);
    pthread_mutex_unlock(&m->lock);
    return 0;
}
