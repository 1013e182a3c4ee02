/* sim/fw/fw_plugin_run.c — running a plug-in's handler and pages, and the API
 * table handlers call (see fw_plugin.h).
 *
 * Whatever a handler returns is checked before it reaches the initiator: a
 * status that is not one of enum scsisim_fw_status, CHECK CONDITION without
 * sense or with more than SCSISIM_FW_SENSE_MAX bytes, sense that is not sense
 * data (response code 70h-73h), sense with another status, or more data than
 * max_xfer is a plug-in bug.  It is answered HARDWARE ERROR / INTERNAL TARGET
 * FAILURE (04h/44h/00h) with no data, and logged with the plug-in's name and
 * the opcode; the controller goes on serving. */
#include "sim/fw/fw_plugin_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* The drive and task behind a struct scsisim_fw_cmd: the command is the first
 * member, so the API's functions get back to them from the plug-in's pointer. */
struct run {
    struct scsisim_fw_cmd pc;
    struct fw_ctx *c;
};

static struct run *run_of(struct scsisim_fw_cmd *pc)
{
    return (struct run *)pc;
}

__attribute__((format(printf, 3, 4)))
static void plugin_log(const struct fw_plugin *p, const struct fw_cmd *cmd, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line, so lines of concurrent controllers do not interleave. */
    fprintf(stderr, "scsisim: firmware plug-in %s: opcode %02Xh (%s): %s\n", p->name, cmd ? cmd->opcode : 0,
            cmd ? cmd->name : "-", line);
}

static bool blocks_ok(const struct fw_drive *d, uint64_t lba, uint64_t n)
{
    return n <= d->blocks && lba <= d->blocks - n;
}

static int api_read(struct scsisim_fw_cmd *pc, uint64_t lba, uint32_t blocks, void *buf)
{
    struct fw_drive *d = run_of(pc)->c->d;
    if (!blocks_ok(d, lba, blocks))
        return -ERANGE;
    return blocks ? sim_store_read(d->store, lba, blocks, buf) : 0;
}

static int api_write(struct scsisim_fw_cmd *pc, uint64_t lba, uint32_t blocks, const void *buf, bool durable)
{
    struct fw_drive *d = run_of(pc)->c->d;
    if (!blocks_ok(d, lba, blocks))
        return -ERANGE;
    /* WCE=0 means write-through, as for the built-in WRITE. */
    return blocks ? sim_store_write(d->store, lba, blocks, buf, durable || !d->cur.wce) : 0;
}

static int api_flush(struct scsisim_fw_cmd *pc, uint64_t lba, uint64_t blocks)
{
    struct fw_drive *d = run_of(pc)->c->d;
    if (lba > d->blocks || (blocks && !blocks_ok(d, lba, blocks)))
        return -ERANGE;
    return sim_store_flush(d->store, lba, blocks);
}

static int put_sense(struct scsisim_fw_cmd *pc, const struct scsi_sense_reason *r)
{
    const struct fw_drive *d = run_of(pc)->c->d;
    pc->sense_len = (uint32_t)scsi_sense_build(pc->sense, sizeof pc->sense, d->cur.d_sense, r);
    return SCSISIM_FW_CHECK_CONDITION;
}

static int api_sense(struct scsisim_fw_cmd *pc, uint8_t key, uint8_t asc, uint8_t ascq)
{
    struct scsi_sense_reason r = scsi_reason(key, SCSI_ASCQ(asc, ascq));
    return put_sense(pc, &r);
}

static int api_invalid_field(struct scsisim_fw_cmd *pc, bool in_cdb, uint16_t byte, int bit)
{
    struct scsi_sense_reason r = in_cdb ? scsi_reason_invalid_cdb_field(byte, bit)
                                        : scsi_reason_invalid_param_field(byte, bit);
    return put_sense(pc, &r);
}

static int api_store_error(struct scsisim_fw_cmd *pc, int err, bool writing, uint64_t lba)
{
    struct scsi_sense_reason r = fw_store_error(err, writing ? SCSI_ASC_WRITE_ERROR : SCSI_ASC_UNRECOVERED_READ_ERROR,
                                                lba);
    return put_sense(pc, &r);
}

static void api_log(struct scsisim_fw_cmd *pc, const char *msg)
{
    struct fw_ctx *c = run_of(pc)->c;
    plugin_log(c->fw->plugin, c->cmd, "%s", msg ? msg : "(null)");
}

static const struct scsisim_fw_api api = {
    .abi_version = SCSISIM_FW_PLUGIN_ABI_VERSION,
    .table_size = sizeof(struct scsisim_fw_api),
    .read = api_read,
    .write = api_write,
    .flush = api_flush,
    .sense = api_sense,
    .invalid_field = api_invalid_field,
    .store_error = api_store_error,
    .log = api_log,
};

static struct scsi_sense_reason garbage(struct fw_ctx *c, const char *what, long v)
{
    plugin_log(c->fw->plugin, c->cmd, "the handler returned %s %ld; answered HARDWARE ERROR, INTERNAL TARGET "
               "FAILURE (04h/44h/00h)", what, v);
    c->t->xfer = 0;
    return scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
}

static bool is_status(int s)
{
    return s == SCSISIM_FW_GOOD || s == SCSISIM_FW_CHECK_CONDITION || s == SCSISIM_FW_BUSY ||
           s == SCSISIM_FW_RESERVATION_CONFLICT || s == SCSISIM_FW_TASK_SET_FULL;
}

struct scsi_sense_reason fw_plugin_run(struct fw_ctx *c)
{
    struct fw_plugin *p = c->fw->plugin;
    size_t row = (size_t)(c->cmd - p->cmds);
    const struct scsisim_fw_command *r = fw_plugin_row(p, row);
    struct fw_task *t = c->t;
    uint32_t have = t->data ? t->data_len : 0;
    struct run run = { .c = c };
    struct scsisim_fw_cmd *pc = &run.pc;
    pc->api = &api;
    pc->drive = (struct scsisim_fw_drive *)c->d;
    pc->info = &c->d->pinfo;
    pc->drive_state = c->d->pstate;
    pc->row_state = r->state;
    pc->initiator = t->initiator;
    pc->cdb = c->cdb;
    pc->cdb_len = c->cmd->cdb_len;
    pc->dir = r->dir;
    pc->lba = c->lba;
    pc->blocks = c->nblocks;
    pc->length = c->length;
    pc->max_xfer = r->dir == SCSISIM_FW_DIR_NONE ? 0 : (uint32_t)(c->want < have ? c->want : have);
    pc->data = have ? t->data : NULL;
    pc->data_len = have;
    c->d->pinfo.blocks = c->d->blocks;   /* fw_set_capacity may have changed it */

    int status = r->handler(pc);

    if (!is_status(status))
        return garbage(c, "status", status);
    if (pc->xfer > pc->max_xfer)
        return garbage(c, pc->dir == SCSISIM_FW_DIR_IN ? "more data than the allocation length and buffer allow, "
                                                         "xfer" : "xfer beyond max_xfer,", (long)pc->xfer);
    if (status == SCSISIM_FW_CHECK_CONDITION) {
        if (pc->sense_len < 8 || pc->sense_len > SCSISIM_FW_SENSE_MAX)
            return garbage(c, "CHECK CONDITION with a sense length of", (long)pc->sense_len);
        if ((pc->sense[0] & 0x7f) < 0x70 || (pc->sense[0] & 0x7f) > 0x73)
            return garbage(c, "sense data with response code", pc->sense[0] & 0x7f);
        size_t n = pc->sense_len < sizeof t->sense ? pc->sense_len : sizeof t->sense;
        memcpy(t->sense, pc->sense, n);
        t->sense_len = (uint8_t)n;
    } else if (pc->sense_len) {
        return garbage(c, "sense bytes with a status other than CHECK CONDITION:", (long)pc->sense_len);
    }
    t->xfer = pc->xfer;
    c->status = (uint8_t)status;   /* fw.c's finish() keeps the sense set above */
    return fw_good();
}

/* ---- pages ---- */

size_t fw_plugin_vpd_codes(const struct fw_plugin *p, uint8_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; p && i < p->t->vpd_page_count && n < max; i++)
        out[n++] = p->t->vpd_pages[i].page;
    return n;
}

bool fw_plugin_vpd(struct fw_ctx *c, uint8_t code, uint8_t *buf, size_t cap, size_t *len,
                   struct scsi_sense_reason *r)
{
    const struct fw_plugin *p = c->fw->plugin;
    for (size_t i = 0; p && c->d && i < p->t->vpd_page_count; i++) {
        const struct scsisim_fw_vpd_page *v = &p->t->vpd_pages[i];
        if (v->page != code)
            continue;
        struct scsisim_fw_page_ctx pg = { .info = &c->d->pinfo, .drive_state = c->d->pstate };
        size_t room = cap - 4 < 0xffff ? cap - 4 : 0xffff;
        size_t n = v->build(&pg, buf + 4, room);
        if (n > room) {
            *r = garbage(c, "a VPD page longer than its buffer, bytes:", (long)n);
            return true;
        }
        buf[0] = SCSI_PQ_CONNECTED << 5 | SCSI_PDT_DISK;
        buf[1] = code;
        scsi_put_be16(buf + 2, (uint16_t)n);
        *len = n + 4;
        *r = fw_good();
        return true;
    }
    return false;
}

bool fw_plugin_has_mode_page(const struct fw_plugin *p, uint8_t code)
{
    for (size_t i = 0; p && i < p->t->mode_page_count; i++)
        if (p->t->mode_pages[i].page == code)
            return true;
    return false;
}

size_t fw_plugin_mode_pages(struct fw_ctx *c, uint8_t code, uint8_t pc, uint8_t *buf, size_t cap)
{
    const struct fw_plugin *p = c->fw->plugin;
    size_t n = 0;
    for (size_t i = 0; p && i < p->t->mode_page_count; i++) {
        const struct scsisim_fw_mode_page *m = &p->t->mode_pages[i];
        if (code != SCSI_MODE_PAGE_ALL && m->page != code)
            continue;
        struct scsisim_fw_page_ctx pg = { .info = &c->d->pinfo, .drive_state = c->d->pstate, .page_control = pc };
        size_t room = cap - n;
        uint8_t tmp[256];
        memset(tmp, 0, sizeof tmp);
        size_t len = m->build(&pg, tmp, room < sizeof tmp ? room : sizeof tmp);
        if (len < 2 || len > room || len > sizeof tmp || (tmp[0] & 0x3f) != m->page || tmp[1] != len - 2) {
            plugin_log(p, c->cmd, "mode page %02Xh is malformed (length, page code or PAGE LENGTH); left out",
                       m->page);
            continue;
        }
        memcpy(buf + n, tmp, len);
        n += len;
    }
    return n;
}
