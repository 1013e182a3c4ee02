/* sim/fw/fw.c — firmware life cycle, drive lookup, and the one path every SCSI
 * command takes: controller-level checks, the table's gates, the handler, and
 * the single place a sense reason becomes status and sense bytes. */
#include "sim/fw/fw_priv.h"
#include "sim/fw/fw_plugin.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fw_drive *fw_drive_at(const struct fw *fw, uint16_t target, uint16_t lun)
{
    if (target >= fw->max_targets || lun >= fw->max_luns)
        return NULL;
    return fw->slot[(size_t)target * fw->max_luns + lun];
}

struct scsi_sense_reason fw_drive_readiness(struct fw_drive *d)
{
    if (d->medium_absent)   /* ejected (fw_removable.c) */
        return scsi_reason(SCSI_SK_NOT_READY, SCSI_ASC_MEDIUM_NOT_PRESENT);
    struct scsi_sense_reason san = fw_sanitize_status(d);
    if (!fw_is_good(&san))
        return san;                /* the progress REQUEST SENSE reports */
    if (d->stopped)
        return scsi_reason(SCSI_SK_NOT_READY, SCSI_ASC_LUN_NOT_READY_INIT_REQUIRED);
    if (!d->ready) {
        if (clock_now_ns() < d->ready_at_ns)
            return scsi_reason(SCSI_SK_NOT_READY, SCSI_ASC_LUN_NOT_READY_BECOMING);
        d->ready = true;
    }
    return fw_good();
}

struct scsi_sense_reason fw_store_error(int err, uint16_t medium_asc, uint64_t lba)
{
    struct scsi_sense_reason r;
    if (err == -EIO) {
        r = scsi_reason(SCSI_SK_MEDIUM_ERROR, medium_asc);
        r.info_valid = true;
        r.info = lba;
    } else {
        r = scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
    }
    return r;
}

int fw_drive_set_mode(struct fw_drive *d, const struct fw_mode_params *p, bool save)
{
    if (d->cur.wce && !p->wce) {
        /* Write-through from now on: what the cache holds must reach media first. */
        int rc = sim_store_flush(d->store, 0, 0);
        if (rc < 0)
            return rc;
    }
    d->cur = *p;
    if (save)
        d->saved = *p;
    return 0;
}

void fw_data_in(struct fw_ctx *c, const void *src, size_t n)
{
    uint32_t room = c->t->data ? c->t->data_len : 0;
    if (n > room)
        n = room;          /* a shorter buffer is a residual, not an error */
    if (n)
        memcpy(c->t->data, src, n);
    c->t->xfer = (uint32_t)n;
}

/* ---- creation ---- */

static int check_config(const struct sim_config *cfg, char *err, size_t errlen)
{
    if (cfg->target_ports > HBA_MAX_TARGET_PORTS) {
        errf(err, errlen, "target_ports %u out of range 1..%u", cfg->target_ports, HBA_MAX_TARGET_PORTS);
        return -EINVAL;
    }
    if (cfg->max_targets < 1 || cfg->max_targets > SIM_MAX_TARGETS_LIMIT ||
        cfg->max_luns < 1 || cfg->max_luns > SIM_MAX_LUNS_LIMIT) {
        errf(err, errlen, "max_targets %u / max_luns %u out of range 1..%u / 1..%u",
             cfg->max_targets, cfg->max_luns, SIM_MAX_TARGETS_LIMIT, SIM_MAX_LUNS_LIMIT);
        return -EINVAL;
    }
    if (cfg->lu_count && !cfg->lus) {
        errf(err, errlen, "lu_count %zu but no drive array", cfg->lu_count);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->lu_count; i++) {
        const struct sim_lu_config *lu = &cfg->lus[i];
        if (lu->target >= cfg->max_targets || lu->lun >= cfg->max_luns) {
            errf(err, errlen, "drive %u:%u is outside %u targets x %u LUNs",
                 lu->target, lu->lun, cfg->max_targets, cfg->max_luns);
            return -EINVAL;
        }
        if (lu->block_size != 512 && lu->block_size != 4096) {
            errf(err, errlen, "drive %u:%u: block size %u is not 512 or 4096",
                 lu->target, lu->lun, lu->block_size);
            return -EINVAL;
        }
        if (lu->protection > 3) {
            errf(err, errlen, "drive %u:%u: protection %u is not a format: use 0 (off) or 1..3 (type1..type3)",
                 lu->target, lu->lun, lu->protection);
            return -EINVAL;
        }
        if (lu->blocks == 0 || lu->blocks > UINT64_MAX / lu->block_size) {
            errf(err, errlen, "drive %u:%u: capacity of %llu blocks is invalid",
                 lu->target, lu->lun, (unsigned long long)lu->blocks);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (cfg->lus[j].target == lu->target && cfg->lus[j].lun == lu->lun) {
                errf(err, errlen, "drive %u:%u is configured twice", lu->target, lu->lun);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static void copy_ascii(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int fw_drive_create(const struct sim_config *cfg, const struct sim_lu_config *lu,
                    struct fw_drive **out, char *err, size_t errlen)
{
    struct fw_drive *d = calloc(1, sizeof(*d));
    if (!d) {
        errf(err, errlen, "out of memory for drive %u:%u", lu->target, lu->lun);
        return -ENOMEM;
    }
    d->target = lu->target;
    d->lun = lu->lun;
    d->blocks = d->store_blocks = lu->blocks;
    d->block_size = lu->block_size;
    copy_ascii(d->vendor, sizeof(d->vendor), lu->vendor);
    copy_ascii(d->product, sizeof(d->product), lu->product);
    copy_ascii(d->revision, sizeof(d->revision), lu->revision);
    copy_ascii(d->serial, sizeof(d->serial), lu->serial);
    if (!d->serial[0])
        snprintf(d->serial, sizeof(d->serial), "SSIM-%03u-%03u", lu->target, lu->lun);
    d->write_protect = lu->write_protect;
    d->thin = lu->thin;
    d->removable = lu->removable;
    d->prot_type = lu->protection;   /* 0..3: check_config */
    d->target_ports = cfg->target_ports ? (uint16_t)cfg->target_ports : 1;
    for (uint32_t p = lu->physical_block_size; p > lu->block_size; p /= 2)
        d->lbppbe++;
    d->battery = lu->battery;
    d->ready_ms = lu->ready_ms;
    d->sanitize_ms = lu->sanitize_ms;
    d->cache_bytes = lu->cache_bytes ? lu->cache_bytes : SIM_STORE_DEFAULT_CACHE_BYTES;
    d->dflt = (struct fw_mode_params){ .wce = lu->write_cache };
    d->saved = d->cur = d->dflt;
    fw_naa_designator(d->target, d->lun, d->serial, d->naa);

    char serr[256] = "";
    struct sim_store_config sc = {
        .blocks = lu->blocks,
        .block_size = lu->block_size,
        .media_path = lu->media_path,
        .cache_bytes = lu->cache_bytes,
        .battery = lu->battery,
        /* a different, reproducible random stream per drive */
        .seed = cfg->seed ^ ((uint64_t)lu->target << 32 | (uint64_t)lu->lun << 16 | 0x5eed),
    };
    if (d->prot_type)
        sc.pi_gen = (struct sim_store_pi_gen){ .fn = fw_pi_generate, .arg = d };
    int rc = sim_store_create(&sc, &d->store, serr, sizeof(serr));
    if (rc < 0) {
        errf(err, errlen, "drive %u:%u: %s", lu->target, lu->lun, serr);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void fw_drive_power_on(struct fw_drive *d, uint64_t now)
{
    d->ready_at_ns = now + (uint64_t)d->ready_ms * 1000000ull;
    d->ready = d->ready_ms == 0;
    d->stopped = false;
    d->reserved_by = FW_NOT_RESERVED;
    fw_removable_allow(d, -1);
    memset(d->xcopy, 0, sizeof d->xcopy);   /* copy status does not survive power loss */
    fw_pr_power_on(d);      /* forgets them unless APTPL */
    fw_plugin_drive_power_on(d);
    /* a power on makes every older condition moot */
    fw_ua_set_all(d->ua, HBA_MAX_INITIATORS, SCSI_ASC_POWER_ON_OCCURRED);
}

int fw_create(const struct sim_config *cfg, struct fw **out, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (!cfg || !out) {
        errf(err, errlen, "no configuration");
        return -EINVAL;
    }
    int rc = check_config(cfg, err, errlen);
    if (rc < 0)
        return rc;
    struct fw *fw = calloc(1, sizeof(*fw));
    if (!fw)
        goto nomem;
    pthread_mutex_init(&fw->lock, NULL);
    fw->max_targets = cfg->max_targets;
    fw->max_luns = cfg->max_luns;
    fw->max_xfer = cfg->max_xfer;
    fw->slot = calloc((size_t)cfg->max_targets * cfg->max_luns, sizeof(*fw->slot));
    fw->luns_in_target = calloc(cfg->max_targets, sizeof(*fw->luns_in_target));
    if (!fw->slot || !fw->luns_in_target) {
        fw_destroy(fw);
        fw = NULL;
        goto nomem;
    }
    if (cfg->firmware && cfg->firmware[0] &&
        (rc = fw_plugin_open(cfg->firmware, &fw->plugin, err, errlen)) < 0) {
        fw_destroy(fw);
        return rc;
    }
    uint64_t now = clock_now_ns();
    for (size_t i = 0; i < cfg->lu_count; i++) {
        const struct sim_lu_config *lu = &cfg->lus[i];
        struct fw_drive *d;
        rc = fw_drive_create(cfg, lu, &d, err, errlen);
        if (rc < 0) {
            fw_destroy(fw);
            return rc;
        }
        fw_drive_power_on(d, now);   /* creation counts as power on */
        fw->slot[(size_t)lu->target * fw->max_luns + lu->lun] = d;
        fw->luns_in_target[lu->target]++;
        fw->drive_count++;
        if (fw->plugin && (rc = fw_plugin_drive_open(fw->plugin, d, err, errlen)) < 0) {
            fw_destroy(fw);
            return rc;
        }
    }
    *out = fw;
    return 0;
nomem:
    free(fw);
    errf(err, errlen, "out of memory");
    return -ENOMEM;
}

void fw_destroy(struct fw *fw)
{
    if (!fw)
        return;
    for (size_t i = 0; fw->slot && i < (size_t)fw->max_targets * fw->max_luns; i++) {
        if (fw->slot[i]) {
            fw_plugin_drive_close(fw->slot[i]);
            sim_store_destroy(fw->slot[i]->store);
            free(fw->slot[i]);
        }
    }
    fw_plugin_close(fw->plugin);
    pthread_mutex_destroy(&fw->lock);
    free(fw->slot);
    free(fw->luns_in_target);
    free(fw);
}

void fw_set_event_hook(struct fw *fw, fw_event_fn fn, void *arg)
{
    fw_lock(fw);
    fw->event_fn = fn;
    fw->event_arg = arg;
    fw_unlock(fw);
}

/* ---- one command ---- */

static _Thread_local struct fw *owner; /* fw_claim_thread, below */

/* Reads the length and LBA fields and works out how many bytes the CDB asks
 * to move in the command's direction.  READ and WRITE go through the project's
 * one READ/WRITE decoder (scsi/cdb.h: the 21-bit LBA and the 256 of a (6),
 * FUA); other commands through the fields the table points at. */
static void parse_fields(struct fw_ctx *c)
{
    const struct fw_cmd *cmd = c->cmd;
    const uint8_t *cdb = c->cdb;
    uint64_t length = cmd->len_width ? scsi_get_be(cdb + cmd->len_off, cmd->len_width) : cmd->fixed_len;
    struct cdb_rw rw;
    if (cdb_parse_rw(cdb, cmd->cdb_len, &rw)) {
        c->lba = rw.lba;
        length = rw.blocks;
        c->fua = rw.fua;
    } else if (cmd->lba_width) {
        c->lba = scsi_get_be(cdb + cmd->lba_off, cmd->lba_width);
    }
    c->length = length;
    if (!(cmd->flags & FW_F_LEN_BLOCKS)) {
        c->want = cmd->dir == HBA_FLAG_DIR_NONE ? 0 : length;
        return;
    }
    c->nblocks = length;
    uint64_t moved = cmd->dir == HBA_FLAG_DIR_NONE ? 0 : length;
    if (cmd->flags & FW_F_TWICE)
        moved = 2 * length;                                        /* verify + write data */
    if (cmd->flags & FW_F_ONE_BLOCK)
        moved = cmd->cdb_len == 16 && (cdb[1] & 0x01) ? 0 : 1;   /* NDOB: no data-out */
    if (cmd->flags & FW_F_BYTCHK) {
        switch ((cdb[1] >> 1) & 3) {
        case 1:  moved = length; break;              /* compare every block */
        case 3:  moved = length ? 1 : 0; break;      /* one block against each */
        default: moved = 0; break;                   /* medium check only (or reserved) */
        }
    }
    c->want = moved * (c->d ? fw_pi_block_bytes(c) : 0); /* <= 2^32 * 4104: no overflow */
}

static bool range_ok(const struct fw_drive *d, uint64_t lba, uint64_t n)
{
    if (n == 0)
        return lba < d->blocks;
    return n <= d->blocks && lba <= d->blocks - n;   /* lba + n may wrap: never add */
}

static struct scsi_sense_reason report_ua(struct fw_drive *d, uint16_t initiator)
{
    uint16_t code;
    if (!fw_ua_take(&d->ua[initiator], &code))
        return fw_good();
    return scsi_reason(SCSI_SK_UNIT_ATTENTION, code);
}

/* The gates the table asks for, in SAM order: unit attention before anything
 * about the CDB, CDB validity, readiness, range, write protection. */
static struct scsi_sense_reason run(struct fw_ctx *c)
{
    const struct fw_cmd *cmd = c->cmd;
    struct fw_task *t = c->t;
    struct scsi_sense_reason r;

    if (c->d && !(cmd->flags & FW_F_SKIPS_UA)) {
        r = report_ua(c->d, t->initiator);
        if (!fw_is_good(&r))
            return r;
    }
    r = fw_sanitize_gate(c);          /* a sanitize in progress refuses nearly everything */
    if (!fw_is_good(&r))
        return r;
    if (fw_resv_conflict(c) || fw_pr_conflict(c)) {
        c->status = SCSI_STATUS_RESERVATION_CONFLICT;   /* a status without sense */
        return fw_good();
    }
    r = fw_cmd_check_usage_on(cmd, c->d, c->cdb);
    if (!fw_is_good(&r))
        return r;
    r = fw_pi_check_cdb(c);
    if (!fw_is_good(&r))
        return r;
    /* Data-out shorter than the CDB says: never write part of it (rule in fw.h). */
    uint32_t have = t->data ? t->data_len : 0;
    if (cmd->dir == HBA_FLAG_DIR_WRITE && c->want > have)
        return scsi_reason_invalid_cdb_field(cmd->len_off, -1);
    if (c->d && (cmd->flags & FW_F_NEEDS_READY)) {
        r = fw_drive_readiness(c->d);
        if (!fw_is_good(&r))
            return r;
    }
    if ((cmd->flags & FW_F_MEDIA_ACCESS) && !range_ok(c->d, c->lba, c->nblocks))
        return scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    if (cmd->flags & FW_F_WRITES) {
        if (c->d->write_protect)
            return scsi_reason(SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
        if (c->d->cur.swp)
            return scsi_reason(SCSI_SK_DATA_PROTECT, SCSI_ASC_SOFTWARE_WRITE_PROTECTED);
    }
    return cmd->handler(c);
}

static void finish(struct fw_task *t, const struct fw_drive *d, const struct scsi_sense_reason *r,
                   uint8_t status)
{
    if (fw_is_good(r)) {
        t->status = status;
        return;
    }
    t->status = SCSI_STATUS_CHECK_CONDITION;
    t->sense_len = (uint8_t)scsi_sense_build(t->sense, sizeof(t->sense), d && d->cur.d_sense, r);
}

static void execute_locked(struct fw *fw, struct fw_task *t)
{
    if (!t->cdb || t->cdb_len == 0 || t->cdb_len > HBA_CDB_MAX || t->initiator >= HBA_MAX_INITIATORS) {
        t->ctrl_status = HBA_CS_INVALID_FIELD;
        return;
    }
    if (t->target >= fw->max_targets || t->lun >= fw->max_luns || fw->luns_in_target[t->target] == 0) {
        t->ctrl_status = HBA_CS_INVALID_TARGET;  /* nobody answers selection */
        return;
    }
    struct fw_ctx c = { .fw = fw, .t = t, .cdb = t->cdb, .d = fw_drive_at(fw, t->target, t->lun) };
    bool known;
    /* A LUN without a drive is the built-in firmware's alone (its INQUIRY,
     * REPORT LUNS, REQUEST SENSE): a plug-in's handlers run for a drive. */
    c.cmd = c.d ? fw_cmd_find(fw, t->cdb, &known) : fw_cmd_lookup(t->cdb, &known);
    if (c.cmd && !fw_cmd_offered(c.cmd, c.d)) {
        /* A command this drive does not have: unknown, unless another entry
         * of the opcode is offered (then only the service action is wrong). */
        c.cmd = NULL;
        known = false;
        const struct fw_cmd *o;
        for (size_t i = 0; (o = fw_cmd_view(fw, i)); i++)
            if (o->opcode == t->cdb[0] && fw_cmd_offered(o, c.d))
                known = true;
    }
    if (c.cmd && t->cdb_len < c.cmd->cdb_len) {
        t->ctrl_status = HBA_CS_INVALID_FIELD;   /* the entry cut the CDB short */
        return;
    }
    /* A media READ writes exactly the bytes it reports, so it may write
     * them straight into host memory, as a controller's DMA engine does:
     * one copy fewer than the bounce buffer (docs/controller.md, "Data-in"). */
    if (t->host_data && c.cmd && (c.cmd->flags & FW_F_FILLS_DATA) && c.d && !c.d->prot_type &&
        (t->dir & HBA_FLAG_DIR_MASK) == HBA_FLAG_DIR_READ) {
        t->data = t->host_data;
        t->direct = true;
    }
    /* Data-in starts zeroed: a handler may build a short answer and report
     * more of it, and a reused buffer must not carry another command's bytes
     * to the host.  The media READs write every byte they report
     * (FW_F_FILLS_DATA); zeroing their megabytes first cost a tenth of a
     * 1 MiB read's time (docs/benchmarks.md). */
    if (t->data && t->data_len && (t->dir & HBA_FLAG_DIR_MASK) == HBA_FLAG_DIR_READ &&
        !(c.cmd && (c.cmd->flags & FW_F_FILLS_DATA) && c.d && !c.d->prot_type))
        memset(t->data, 0, t->data_len);
    struct scsi_sense_reason r;
    if (!c.d && (!c.cmd || !(c.cmd->flags & FW_F_ANY_LUN))) {
        r = scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
    } else if (!c.cmd) {
        /* SAM: a pending unit attention is reported even for a command the
         * device server does not know. */
        r = report_ua(c.d, t->initiator);
        if (fw_is_good(&r)) {
            r = scsi_reason_invalid_cdb_field(known ? 1 : 0, known ? 4 : -1);
            if (!known)
                r.asc_ascq = SCSI_ASC_INVALID_COMMAND_OPCODE;
        }
    } else {
        parse_fields(&c);
        /* A write that brought no data to a write-protected drive (WRITE
         * SAME with UNMAP sent without its block) is the drive's to refuse
         * with DATA PROTECT: nothing could be written either way. */
        if (c.want > 0 && !t->data_len && (c.cmd->flags & FW_F_WRITES) && c.d &&
            (c.d->write_protect || c.d->cur.swp))
            c.want = 0;
        if (c.want > 0 && (t->dir & HBA_FLAG_DIR_MASK) != c.cmd->dir) {
            t->ctrl_status = HBA_CS_DIRECTION_MISMATCH;
            return;
        }
        r = run(&c);
    }
    finish(t, c.d, &r, c.status);
}

void fw_execute(struct fw *fw, struct fw_task *t)
{
    t->ctrl_status = HBA_CS_SUCCESS;
    t->status = SCSI_STATUS_GOOD;
    t->xfer = 0;
    t->direct = false;
    t->sense_len = 0;
    t->hold_ns = 0;
    if (owner == fw) {
        /* The firmware thread: no lock unless a control call is in (fw_lock).
         * This store and the load of ctl, and fw_lock's store of ctl and its
         * load of busy, are sequentially consistent: either this command
         * sees ctl and takes the lock, or fw_lock sees busy and waits for the
         * command's end (its release store below). */
        atomic_store(&fw->busy, true);
        if (!atomic_load(&fw->ctl)) {
            execute_locked(fw, t);
            atomic_store_explicit(&fw->busy, false, memory_order_release);
            return;
        }
        atomic_store_explicit(&fw->busy, false, memory_order_release); /* behind the control call, as others */
    }
    fw_lock(fw);
    execute_locked(fw, t);
    fw_unlock(fw);
}

/* ---- who may run commands without the lock ---- */

/* owner: the one thread that runs fw's commands without the lock; per thread,
 * so nothing is shared to decide it. */
void fw_claim_thread(struct fw *fw, bool mine)
{
    owner = mine ? fw : NULL;
}

/* Control calls (fw_admin.c and the rest) and commands from any other thread:
 * the lock keeps them apart from each other and from the owner's slow path;
 * ctl and busy keep them apart from a command the owner runs without it.  The
 * wait is a command's length at most (the next one sees ctl and queues on the
 * lock); control calls are rare, so it yields rather than sleeps. */
void fw_lock(struct fw *fw)
{
    pthread_mutex_lock(&fw->lock);
    atomic_store(&fw->ctl, true);
    while (atomic_load(&fw->busy))
        sched_yield();
}

void fw_unlock(struct fw *fw)
{
    atomic_store_explicit(&fw->ctl, false, memory_order_release);
    pthread_mutex_unlock(&fw->lock);
}
