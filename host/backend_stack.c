/* host/backend_stack.c — scsi_backend on the driver stack (see backend_stack.h).
 *
 * Objects:
 *   struct backend_stack  the host side of one stack: the nexus id table, the
 *                         task contexts and DMA buffer pools, the tasks in
 *                         flight (for task management), counters;
 *   struct bs_target      one exported controller target (a scsi_backend),
 *                         with the block size of each LUN;
 *   struct bs_task        one command on its way down (pooled);
 *   struct bs_buf         one DMA buffer of the stack's OS layer (pooled by
 *                         power-of-two size class).
 * One mutex guards the lists and tables; it is never held across a call into
 * the core or the front-end. */
#include "host/backend_stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/errf.h"
#include "scsi/cdb.h"
#include "host/nexus_index.h"
#include "stack/driver_core.h"

#define BS_MIN_SHIFT   12u                       /* smallest pooled buffer: 4 KiB */
#define BS_CLASSES     13u                       /* 4 KiB .. 16 MiB */
#define BS_CLASS_NONE  0xffu                     /* an odd size, freed after use */
#define BS_PROBE_TRIES 8u                        /* unit attentions the probe sits out */

struct bs_buf {
    struct bs_buf *next;
    struct osal_dma_buffer *dma;
    uint8_t cls;
};

struct bs_target {
    struct scsi_backend be;                      /* first: the interface */
    struct backend_stack *b;
    struct bs_target *next;
    uint16_t target;
    uint32_t *block_size;                        /* per LUN (max_luns), 0 = unknown */
};

struct bs_task {
    struct bs_task *prev, *next;                 /* b->active, or b->task_free (next only) */
    struct bs_target *tgt;
    struct scsi_backend_task *t;
    uint64_t task_id;
    uint64_t abort_gen;                          /* the task management call that ended it, 0 = none */
    uint16_t initiator, lun;
    uint8_t cdb[16];                             /* as sent down (a trimmed WRITE differs) */
    uint64_t len;                                /* bytes the HBA was asked to move */
    bool aborted;
    struct bs_buf *bounce;                       /* the pool buffer of a copied task */
    struct drv_buffer_piece piece;
    uint64_t submit_ns;
};

/* A front-end nexus and the HBA nexus id it holds. */
struct bs_nexus {
    uint64_t nexus;                              /* 0 = the id was never used */
    bool lost;                                   /* nexus loss seen: reusable once loss_pending is 0 */
    unsigned loss_pending;                       /* HBA_ADM_NEXUS_LOSS not answered yet */
    unsigned tasks;                              /* in flight */
    uint64_t used;                               /* b->clock at the last command */
};

struct backend_stack {
    struct stack *st;
    struct drv_core *core;
    const struct scsisim_driver_core *ops; /* the core's entry points (stack_core_ops) */
    struct osal *os;
    struct backend_stack_options opt;
    uint32_t max_luns;
    pthread_mutex_t lock;
    pthread_cond_t idle_cv;                      /* tmfs_pending reached 0 */
    struct bs_target *targets;
    struct bs_task *active;
    struct bs_task *task_free;
    struct bs_buf *pool[BS_CLASSES];
    uint64_t pool_bytes;                         /* idle bytes in pool[] */
    struct bs_nexus nx[HBA_MAX_INITIATORS];      /* by HBA id; the probe's id stays unused */
    struct nexus_index nx_index;                 /* nexus -> id, for the lookup on every command */
    uint64_t clock;
    uint64_t next_task_id;
    uint64_t next_abort_gen;
    unsigned tmfs_pending;                       /* core task management calls under way */
    backend_stack_observer observer;
    void *observer_arg;
    struct backend_stack_stats stats;
};

static const struct scsi_backend_ops bs_ops;

/* ---- DMA buffers --------------------------------------------------------------- */

static unsigned size_class(uint64_t len)
{
    unsigned c = 0;
    while (c < BS_CLASSES && ((uint64_t)1 << (BS_MIN_SHIFT + c)) < len)
        c++;
    return c < BS_CLASSES ? c : BS_CLASS_NONE;
}

/* A buffer of at least len (> 0) bytes; NULL when the OS layer has none. */
static struct bs_buf *buf_get(struct backend_stack *b, uint64_t len)
{
    unsigned cls = size_class(len);
    if (cls != BS_CLASS_NONE) {
        pthread_mutex_lock(&b->lock);
        struct bs_buf *hit = b->pool[cls];
        if (hit) {
            b->pool[cls] = hit->next;
            b->pool_bytes -= hit->dma->length;
        }
        pthread_mutex_unlock(&b->lock);
        if (hit)
            return hit;
    }
    struct bs_buf *nb = calloc(1, sizeof(*nb));
    if (!nb)
        return NULL;
    uint64_t size = cls == BS_CLASS_NONE ? len : (uint64_t)1 << (BS_MIN_SHIFT + cls);
    if (osal_dma_alloc(b->os, size, 4096, &nb->dma) < 0) {
        free(nb);
        return NULL;
    }
    nb->cls = (uint8_t)cls;
    return nb;
}

static void buf_put(struct backend_stack *b, struct bs_buf *x)
{
    if (!x)
        return;
    if (x->cls != BS_CLASS_NONE) {
        pthread_mutex_lock(&b->lock);
        bool keep = b->pool_bytes + x->dma->length <= b->opt.pool_bytes;
        if (keep) {
            x->next = b->pool[x->cls];
            b->pool[x->cls] = x;
            b->pool_bytes += x->dma->length;
        }
        pthread_mutex_unlock(&b->lock);
        if (keep)
            return;
    }
    osal_dma_free(b->os, x->dma);
    free(x);
}

static struct bs_target *target_of(struct scsi_backend *be)
{
    return be && be->ops == &bs_ops ? (struct bs_target *)be : NULL;
}

static int lend(struct scsi_backend *be, uint64_t lun, uint64_t len, struct scsi_backend_buf *out)
{
    (void)lun;
    struct bs_target *tgt = target_of(be);
    if (!tgt || len == 0)
        return -EINVAL;
    struct bs_buf *x = buf_get(tgt->b, len);
    if (!x)
        return -ENOMEM;
    *out = (struct scsi_backend_buf){ .data = x->dma->vaddr, .cap = x->dma->length, .owner = be, .priv = x };
    return 0;
}

static void take_back(struct scsi_backend *be, struct scsi_backend_buf *lent)
{
    struct bs_target *tgt = target_of(be);
    if (tgt)
        buf_put(tgt->b, lent->priv);
}

/* ---- nexus ids ------------------------------------------------------------------- */

/* Whether HBA id i may serve a front-end nexus: all but the probe's. */
static bool front_end_id(unsigned i)
{
    return i != BACKEND_STACK_PROBE_INITIATOR;
}

/* The HBA id for nexus, taking one when create is set (lock held).  -EBUSY
 * when every id is held by a nexus that is alive, busy or being lost.  The
 * lookup is the index's; only taking a new id scans the table. */
static int nexus_id(struct backend_stack *b, uint64_t nexus, bool create)
{
    int found = nexus_index_find(&b->nx_index, nexus);
    if (found >= 0) {
        if (create) {
            b->nx[found].lost = false; /* the same I_T nexus is back */
            b->nx[found].used = ++b->clock;
        }
        return found;
    }
    if (!create)
        return -ENOENT;
    int pick = -1;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS && pick < 0; i++)
        if (front_end_id(i) && b->nx[i].nexus == 0)
            pick = (int)i; /* never used: it still holds its power-on unit attention, as a new nexus should */
    if (pick < 0) {
        /* The least recently used id whose nexus is gone for good. */
        for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++) {
            const struct bs_nexus *n = &b->nx[i];
            if (front_end_id(i) && n->lost && !n->tasks && !n->loss_pending &&
                (pick < 0 || n->used < b->nx[pick].used))
                pick = (int)i;
        }
    }
    if (pick < 0)
        return -EBUSY;
    if (b->nx[pick].nexus)
        nexus_index_remove(&b->nx_index, b->nx[pick].nexus);
    b->nx[pick] = (struct bs_nexus){ .nexus = nexus, .used = ++b->clock };
    nexus_index_put(&b->nx_index, nexus, (uint16_t)pick);
    return pick;
}

int backend_stack_initiator_of(struct backend_stack *b, uint64_t nexus)
{
    pthread_mutex_lock(&b->lock);
    int id = nexus_id(b, nexus, false);
    pthread_mutex_unlock(&b->lock);
    return id < 0 ? -1 : id;
}

/* ---- completion -------------------------------------------------------------------- */

static void unlink_task(struct backend_stack *b, struct bs_task *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        b->active = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

/* WRITE AND VERIFY (10)/(12)/(16) (SBC-4 5.46-5.48) carries its blocks as
 * a WRITE does, so residuals and overflow treat it as one: the offset and
 * width of its TRANSFER LENGTH field, or false for any other CDB. */
static bool write_verify_length(const uint8_t *cdb, uint8_t len, unsigned *off, unsigned *width)
{
    switch (cdb[0]) {
    case 0x2e: *off = 7;  *width = 2; break;
    case 0xae: *off = 6;  *width = 4; break;
    case 0x8e: *off = 10; *width = 4; break;
    default:   return false;
    }
    return len >= *off + *width;
}

/* Bytes the CDB asks to move, when this layer can tell: READ/WRITE (and
 * WRITE AND VERIFY) blocks x the LUN's block size.  0 = unknown. */
static uint64_t cdb_bytes(const struct bs_task *k)
{
    const struct scsi_backend_task *t = k->t;
    struct cdb_rw rw;
    unsigned off, width;
    if (k->lun >= k->tgt->b->max_luns)
        return 0;
    if (write_verify_length(t->cdb, t->cdb_len, &off, &width))
        return scsi_get_be(t->cdb + off, width) * k->tgt->block_size[k->lun];
    if (!cdb_parse_rw(t->cdb, t->cdb_len, &rw))
        return 0;
    return (uint64_t)rw.blocks * k->tgt->block_size[k->lun];
}

static void set_sense(struct scsi_backend_task *t, uint8_t key, uint16_t asc_ascq)
{
    struct scsi_sense_reason r = scsi_reason(key, asc_ascq);
    scsi_backend_set_sense(t, &r, false);
}

static void fill_result(struct bs_task *k, const struct drv_completion *c)
{
    struct scsi_backend_task *t = k->t;
    scsi_backend_result_reset(t);
    struct scsi_backend_result *r = &t->result;
    if (c->response == DRV_SR_TASK_COMPLETE) {
        r->status = c->scsi_status;
        r->sense_len = c->sense_len < SCSI_SENSE_MAX ? c->sense_len : SCSI_SENSE_MAX;
        memcpy(r->sense, c->sense, r->sense_len);
        uint64_t moved = c->bytes_transferred;
        uint64_t room = t->dir == SCSI_DIR_READ ? t->data_in_cap : t->dir == SCSI_DIR_WRITE ? t->data_out_len : 0;
        if (moved > room)
            moved = room; /* never more than the front-end offered */
        if (t->dir == SCSI_DIR_READ && k->bounce && moved)
            memcpy(t->data_in, k->bounce->dma->vaddr, moved);
        uint64_t wanted = cdb_bytes(k);
        scsi_backend_set_transfer(t, wanted ? wanted : moved, moved);
    } else if (c->ctrl_status == HBA_CS_INVALID_TARGET) {
        /* Nothing answered the selection: no such logical unit here. */
        set_sense(t, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
        scsi_backend_set_transfer(t, 0, 0);
    } else {
        /* Rejected by the controller or lost on the way: the command's fate
         * is unknown, which only a service delivery failure says. */
        r->response = SCSI_SR_SERVICE_DELIVERY_FAILURE;
    }
}

static void release_task(struct backend_stack *b, struct bs_task *k)
{
    buf_put(b, k->bounce);
    k->bounce = NULL;
    pthread_mutex_lock(&b->lock);
    k->next = b->task_free;
    b->task_free = k;
    pthread_mutex_unlock(&b->lock);
}

static void task_done(void *arg, const struct drv_completion *c)
{
    struct bs_task *k = arg;
    struct bs_target *tgt = k->tgt;
    struct backend_stack *b = tgt->b;
    struct scsi_backend_task *t = k->t;

    pthread_mutex_lock(&b->lock);
    unlink_task(b, k);
    bool aborted = k->aborted;
    if (b->nx[k->initiator].tasks)
        b->nx[k->initiator].tasks--;
    b->stats.completed++;
    b->stats.aborted += aborted;
    backend_stack_observer obs = b->observer;
    void *obs_arg = b->observer_arg;
    pthread_mutex_unlock(&b->lock);

    if (aborted) {
        /* Ended by task management or a nexus loss: the front-end delivers
         * no status, whatever the controller made of it. */
        scsi_backend_result_reset(t);
        t->result.status = SCSI_STATUS_TASK_ABORTED;
        t->result.aborted = true;
    } else {
        fill_result(k, c);
    }
    if (obs) {
        struct backend_stack_event ev = {
            .nexus = t->nexus, .tag = t->tag, .initiator = k->initiator, .target = tgt->target, .lun = k->lun,
            .cdb = k->cdb, .cdb_len = t->cdb_len, .dir = t->dir, .attr = t->attr, .expected_len = t->expected_len,
            .down_len = k->len, .data_out = t->data_out, .data_out_len = t->dir == SCSI_DIR_WRITE ? k->len : 0,
            .data_in = t->data_in, .result = &t->result, .submit_ns = k->submit_ns, .done_ns = clock_now_ns(),
        };
        obs(obs_arg, &ev);
    }
    release_task(b, k);
    t->done(t);
}

/* ---- submission -------------------------------------------------------------------- */

static enum drv_dir drv_dir_of(enum scsi_data_dir d)
{
    return d == SCSI_DIR_WRITE ? DRV_DIR_FROM_INITIATOR : d == SCSI_DIR_READ ? DRV_DIR_FROM_TARGET : DRV_DIR_NONE;
}

/* A WRITE whose CDB asks for more data than the initiator sent (iSCSI
 * Expected Data Transfer Length below the CDB's, an overflow): the transport
 * processes it normally except that data beyond what was sent is neither
 * requested nor written (FCP-4 9.4.2 a; what libiscsi's iSCSIResiduals tests
 * ask of a target).  So the command goes down for the whole blocks that came,
 * with its transfer length cut to them (k->cdb), and the overflow is reported
 * against the original CDB at completion.  The controller alone still decides
 * everything else (range, protection, ...).  Returns the bytes to send. */
static uint64_t trim_write(struct bs_task *k, uint64_t len)
{
    const struct scsi_backend_task *t = k->t;
    struct cdb_rw rw;
    unsigned off, width;
    if (t->dir == SCSI_DIR_WRITE && k->lun < k->tgt->b->max_luns &&
        write_verify_length(t->cdb, t->cdb_len, &off, &width)) {
        uint32_t bs = k->tgt->block_size[k->lun];
        if (!bs || scsi_get_be(t->cdb + off, width) * bs <= len)
            return len;
        scsi_put_be(k->cdb + off, width, len / bs);   /* fewer blocks: fits the field */
        return len / bs * bs;
    }
    if (t->dir != SCSI_DIR_WRITE || k->lun >= k->tgt->b->max_luns || !cdb_parse_rw(t->cdb, t->cdb_len, &rw) ||
        !rw.write)
        return len;
    uint32_t bs = k->tgt->block_size[k->lun];
    if (!bs || (uint64_t)rw.blocks * bs <= len)
        return len;
    uint32_t blocks = (uint32_t)(len / bs);
    if (cdb_rw_retarget(t->cdb, t->cdb_len, rw.lba, blocks, k->cdb) < 0 || (blocks == 0 && t->cdb_len == 6))
        return len; /* WRITE(6) cannot say 0 blocks: the controller judges it as sent */
    return (uint64_t)blocks * bs;
}

/* Whether lent (a buffer the front-end borrowed) is one of this backend's. */
static struct bs_buf *own_buffer(struct backend_stack *b, const struct scsi_backend_buf *lent)
{
    struct bs_target *owner = lent ? target_of(lent->owner) : NULL;
    return owner && owner->b == b ? lent->priv : NULL;
}

static int bs_submit(struct scsi_backend *be, struct scsi_backend_task *t)
{
    struct bs_target *tgt = target_of(be);
    struct backend_stack *b = tgt->b;
    if (t->nexus == 0 || t->cdb_len == 0 || t->cdb_len > 16 || (t->dir == SCSI_DIR_WRITE && t->data_out_len && !t->data_out) ||
        (t->dir == SCSI_DIR_READ && t->data_in_cap && !t->data_in))
        return -EINVAL;
    uint64_t len = t->dir == SCSI_DIR_WRITE ? t->data_out_len : t->dir == SCSI_DIR_READ ? t->data_in_cap : 0;

    pthread_mutex_lock(&b->lock);
    int id = nexus_id(b, t->nexus, true);
    struct bs_task *k = b->task_free;
    if (id >= 0 && k)
        b->task_free = k->next;
    pthread_mutex_unlock(&b->lock);
    if (id < 0)
        goto busy;
    if (!k && !(k = malloc(sizeof(*k))))
        goto busy;
    memset(k, 0, sizeof(*k));
    k->tgt = tgt;
    k->t = t;
    k->initiator = (uint16_t)id;
    /* A LUN the HBA cannot address goes down as one the controller will
     * not select, so the controller is the one that refuses it. */
    k->lun = t->lun > 0xffff ? 0xffff : (uint16_t)t->lun;
    k->submit_ns = clock_now_ns();

    memcpy(k->cdb, t->cdb, t->cdb_len);
    len = trim_write(k, len);
    k->len = len;
    struct drv_task dt = {
        .target = tgt->target, .lun = k->lun, .initiator = k->initiator, .cdb_len = t->cdb_len < 6 ? 6 : t->cdb_len,
        .dir = drv_dir_of(t->dir), .requested_transfer = len, .timeout_ms = b->opt.timeout_ms,
        .attr = t->attr <= SCSI_ATTR_ACA ? (enum drv_task_attr)t->attr : DRV_ATTR_SIMPLE, /* same SAM values */
        .target_port = t->target_port,
    };
    memcpy(dt.cdb, k->cdb, t->cdb_len);
    bool zero_copy = false;
    if (len) {
        struct bs_buf *lent = own_buffer(b, t->buf);
        const uint8_t *base = t->dir == SCSI_DIR_WRITE ? t->data_out : t->data_in;
        if (lent && base >= (const uint8_t *)lent->dma->vaddr &&
            len <= lent->dma->length - (uint64_t)(base - (const uint8_t *)lent->dma->vaddr)) {
            k->piece = (struct drv_buffer_piece){ .buf = lent->dma,
                                                  .offset = (uint64_t)(base - (const uint8_t *)lent->dma->vaddr),
                                                  .length = len };
            zero_copy = true;
        } else {
            k->bounce = buf_get(b, len);
            if (!k->bounce)
                goto busy_release;
            if (t->dir == SCSI_DIR_WRITE)
                memcpy(k->bounce->dma->vaddr, t->data_out, len);
            k->piece = (struct drv_buffer_piece){ .buf = k->bounce->dma, .offset = 0, .length = len };
        }
        dt.pieces = &k->piece;
        dt.piece_count = 1;
    }

    pthread_mutex_lock(&b->lock);
    dt.task_id = k->task_id = ++b->next_task_id;
    k->next = b->active;
    if (b->active)
        b->active->prev = k;
    b->active = k;
    b->nx[id].tasks++;
    b->stats.commands++;
    if (zero_copy)
        b->stats.zero_copy++;
    else if (len)
        b->stats.copied++;
    backend_stack_observer obs = b->observer;
    void *obs_arg = b->observer_arg;
    pthread_mutex_unlock(&b->lock);

    /* The recorder sees the command before it can complete: submission
     * order, with the completion after it (docs/trace-format.md, tasks). */
    struct backend_stack_event ev = {
        .kind = BACKEND_STACK_SUBMIT, .nexus = t->nexus, .tag = t->tag, .initiator = k->initiator,
        .target = tgt->target, .lun = k->lun, .cdb = k->cdb, .cdb_len = t->cdb_len, .dir = t->dir, .attr = t->attr,
        .expected_len = t->expected_len, .down_len = len, .data_out = t->data_out,
        .data_out_len = t->dir == SCSI_DIR_WRITE ? len : 0, .submit_ns = k->submit_ns,
    };
    if (obs)
        obs(obs_arg, &ev);
    /* From here the completion may run (and k be reused) at any moment. */
    int rc = stack_submit(b->st, &dt, task_done, k);
    if (rc == 0)
        return 0;
    if (obs) {
        ev.kind = BACKEND_STACK_REFUSED;
        obs(obs_arg, &ev);
    }
    pthread_mutex_lock(&b->lock);
    unlink_task(b, k);
    b->nx[id].tasks--;
    b->stats.commands--;
    pthread_mutex_unlock(&b->lock);
    release_task(b, k);
    return rc == -ENOMEM ? -EBUSY : rc == -ESHUTDOWN ? -ENODEV : rc;

busy_release:
    release_task(b, k);
busy:
    pthread_mutex_lock(&b->lock);
    b->stats.busy++;
    pthread_mutex_unlock(&b->lock);
    return -EBUSY;
}

/* ---- task management ------------------------------------------------------------------ */

/* What one call into the core's task management waits for. */
struct bs_tmf_call {
    struct backend_stack *b;
    struct scsi_backend_tmf *tmf;   /* NULL for a nexus loss */
    int initiator;                  /* nexus loss: the id being lost */
    uint64_t gen;
    uint64_t nexus;
    struct drv_tmf dt;              /* what went to the core */
};

static void observe_tmf(struct bs_tmf_call *call)
{
    struct backend_stack *b = call->b;
    pthread_mutex_lock(&b->lock);
    backend_stack_observer obs = b->observer;
    void *obs_arg = b->observer_arg;
    pthread_mutex_unlock(&b->lock);
    if (!obs)
        return;
    struct backend_stack_event ev = {
        .kind = call->tmf ? BACKEND_STACK_TMF : BACKEND_STACK_NEXUS_LOSS,
        .nexus = call->nexus, .initiator = call->dt.initiator, .target = call->dt.target, .lun = call->dt.lun,
        .submit_ns = clock_now_ns(),
    };
    ev.done_ns = ev.submit_ns;
    if (call->tmf) {
        ev.tmf_fn = call->tmf->fn;
        ev.tmf_response = call->tmf->response;
        ev.tag = call->tmf->ref_tag;
        ev.tmf_key = call->tmf;
    }
    obs(obs_arg, &ev);
}

/* A function about to act, told under b->lock before it marks a task, so a
 * recorder sees it before any completion of a task it ends. */
static void observe_tmf_submit(struct backend_stack *b, const struct scsi_backend_tmf *tmf, int id, uint16_t target,
                               uint16_t lun)
{
    if (!b->observer)
        return;
    struct backend_stack_event ev = {
        .kind = BACKEND_STACK_TMF_SUBMIT, .tmf_fn = tmf->fn, .nexus = tmf->nexus,
        .initiator = id < 0 ? 0xffff : (uint16_t)id, .target = target, .lun = lun, .tag = tmf->ref_tag,
        .submit_ns = clock_now_ns(), .tmf_key = tmf,
    };
    ev.done_ns = ev.submit_ns;
    b->observer(b->observer_arg, &ev);
}

/* The answer to a function that ended before reaching the core. */
static void observe_tmf_answer(struct backend_stack *b, const struct scsi_backend_tmf *tmf, int id, uint16_t target,
                               uint16_t lun)
{
    pthread_mutex_lock(&b->lock);
    backend_stack_observer obs = b->observer;
    void *obs_arg = b->observer_arg;
    pthread_mutex_unlock(&b->lock);
    if (!obs)
        return;
    struct backend_stack_event ev = {
        .kind = BACKEND_STACK_TMF, .tmf_fn = tmf->fn, .tmf_response = tmf->response, .nexus = tmf->nexus,
        .initiator = id < 0 ? 0xffff : (uint16_t)id, .target = target, .lun = lun, .tag = tmf->ref_tag,
        .submit_ns = clock_now_ns(), .tmf_key = tmf,
    };
    ev.done_ns = ev.submit_ns;
    obs(obs_arg, &ev);
}

static void tmf_call_end(struct backend_stack *b)
{
    pthread_mutex_lock(&b->lock);
    if (--b->tmfs_pending == 0)
        pthread_cond_broadcast(&b->idle_cv);
    pthread_mutex_unlock(&b->lock);
}

static void tmf_done(void *arg, int rc)
{
    struct bs_tmf_call *call = arg;
    struct backend_stack *b = call->b;
    struct scsi_backend_tmf *tmf = call->tmf;
    if (tmf) {
        /* An ABORT TASK that found nothing still ended the task for the
         * front-end: it was marked before the core looked, and its done,
         * if it came first, reported it aborted. */
        tmf->response = rc == 0 || rc == -ENOENT ? SCSI_TMF_COMPLETE
                        : rc == -ENXIO           ? SCSI_TMF_LUN_NOT_FOUND
                                                 : SCSI_TMF_REJECTED;
    } else {
        pthread_mutex_lock(&b->lock);
        if (b->nx[call->initiator].loss_pending)
            b->nx[call->initiator].loss_pending--;
        pthread_mutex_unlock(&b->lock);
    }
    observe_tmf(call);
    free(call);
    if (tmf)
        tmf->done(tmf);
    tmf_call_end(b);
}

/* Marks the tasks in scope aborted (lock held); returns how many. */
static unsigned mark(struct backend_stack *b, const struct bs_tmf_call *call, const struct drv_tmf *dt,
                     uint64_t nexus, uint64_t tag, bool by_tag)
{
    unsigned n = 0;
    for (struct bs_task *k = b->active; k; k = k->next) {
        bool hit;
        switch (dt->kind) {
        case DRV_TMF_ABORT_TASK:       hit = by_tag && k->t->nexus == nexus && k->t->tag == tag &&
                                             k->tgt->target == dt->target; break;
        case DRV_TMF_ABORT_TASK_SET:   hit = k->t->nexus == nexus && k->tgt->target == dt->target &&
                                             k->lun == dt->lun; break;
        case DRV_TMF_CLEAR_TASK_SET:
        case DRV_TMF_LUN_RESET:        hit = k->tgt->target == dt->target && k->lun == dt->lun; break;
        case DRV_TMF_TARGET_RESET:
        case DRV_TMF_CONTROLLER_RESET: hit = k->tgt->target == dt->target; break;
        case DRV_TMF_NEXUS_LOSS:       hit = k->t->nexus == nexus; break;
        default:                       hit = false; break;
        }
        if (!hit || k->aborted)
            continue;
        if (dt->kind == DRV_TMF_ABORT_TASK && n)
            break; /* tags are unique per nexus among running tasks */
        k->aborted = true;
        k->abort_gen = call->gen;
        n++;
    }
    return n;
}

static void unmark(struct backend_stack *b, uint64_t gen)
{
    for (struct bs_task *k = b->active; k; k = k->next)
        if (k->aborted && k->abort_gen == gen)
            k->aborted = false;
}

static void bs_task_mgmt(struct scsi_backend *be, struct scsi_backend_tmf *tmf)
{
    struct bs_target *tgt = target_of(be);
    struct backend_stack *b = tgt->b;
    struct drv_tmf dt = { .target = tgt->target, .lun = tmf->lun > 0xffff ? 0xffff : (uint16_t)tmf->lun };
    switch (tmf->fn) {
    case SCSI_TMF_ABORT_TASK:         dt.kind = DRV_TMF_ABORT_TASK; break;
    case SCSI_TMF_ABORT_TASK_SET:     dt.kind = DRV_TMF_ABORT_TASK_SET; break;
    case SCSI_TMF_CLEAR_TASK_SET:     dt.kind = DRV_TMF_CLEAR_TASK_SET; break;
    case SCSI_TMF_LUN_RESET:          dt.kind = DRV_TMF_LUN_RESET; break;
    case SCSI_TMF_TARGET_WARM_RESET:  dt.kind = DRV_TMF_TARGET_RESET; break;
    case SCSI_TMF_TARGET_COLD_RESET:  dt.kind = DRV_TMF_CONTROLLER_RESET; break;
    default:
        /* CLEAR ACA: the controller never establishes an ACA. */
        tmf->response = SCSI_TMF_NOT_SUPPORTED;
        tmf->done(tmf);
        return;
    }
    struct bs_tmf_call *call = calloc(1, sizeof(*call));
    if (!call) {
        tmf->response = SCSI_TMF_REJECTED;
        tmf->done(tmf);
        return;
    }
    call->b = b;
    call->tmf = tmf;
    pthread_mutex_lock(&b->lock);
    call->gen = ++b->next_abort_gen;
    b->stats.tmfs++;
    int id = nexus_id(b, tmf->nexus, false);
    dt.initiator = id < 0 ? 0xffff : (uint16_t)id; /* a nexus with no id has no tasks to abort */
    observe_tmf_submit(b, tmf, id, dt.target, dt.lun);
    bool found = mark(b, call, &dt, tmf->nexus, tmf->ref_tag, true) > 0;
    if (dt.kind == DRV_TMF_ABORT_TASK) {
        if (!found) {
            pthread_mutex_unlock(&b->lock);
            free(call);
            tmf->response = SCSI_TMF_TASK_NOT_FOUND;
            observe_tmf_answer(b, tmf, id, dt.target, dt.lun);
            tmf->done(tmf);
            return;
        }
        for (struct bs_task *k = b->active; k; k = k->next)
            if (k->aborted && k->abort_gen == call->gen)
                dt.task_id = k->task_id;
    }
    b->tmfs_pending++;
    pthread_mutex_unlock(&b->lock);
    call->nexus = tmf->nexus;
    call->dt = dt;
    int rc = b->ops->task_mgmt(b->core, &dt, tmf_done, call);
    if (rc == 0)
        return;
    pthread_mutex_lock(&b->lock);
    unmark(b, call->gen);
    pthread_mutex_unlock(&b->lock);
    free(call);
    tmf->response = SCSI_TMF_REJECTED;
    observe_tmf_answer(b, tmf, dt.initiator == 0xffff ? -1 : dt.initiator, dt.target, dt.lun);
    tmf->done(tmf);
    tmf_call_end(b);
}

static void bs_nexus_loss(struct scsi_backend *be, uint64_t nexus)
{
    struct bs_target *tgt = target_of(be);
    struct backend_stack *b = tgt->b;
    struct bs_tmf_call *call = calloc(1, sizeof(*call));
    pthread_mutex_lock(&b->lock);
    b->stats.nexus_losses++;
    int id = nexus_id(b, nexus, false);
    if (id < 0 || !call) {
        /* No command ever came (nothing to tell the controller), or no
         * memory: the id then stays reserved until the nexus returns. */
        pthread_mutex_unlock(&b->lock);
        free(call);
        return;
    }
    call->b = b;
    call->initiator = id;
    call->gen = ++b->next_abort_gen;
    struct drv_tmf dt = { .kind = DRV_TMF_NEXUS_LOSS, .initiator = (uint16_t)id, .target = tgt->target };
    call->nexus = nexus;
    call->dt = dt;
    mark(b, call, &dt, nexus, 0, false);
    b->nx[id].lost = true;
    b->nx[id].loss_pending++;
    b->tmfs_pending++;
    pthread_mutex_unlock(&b->lock);
    if (b->ops->task_mgmt(b->core, &dt, tmf_done, call) == 0)
        return;
    /* The core is stopping: it fails every task anyway. */
    pthread_mutex_lock(&b->lock);
    b->nx[id].loss_pending--;
    pthread_mutex_unlock(&b->lock);
    free(call);
    tmf_call_end(b);
}

/* The nexus takes its HBA id now, so a front-end can refuse a nexus for which
 * none is left instead of accepting it and answering BUSY to every command. */
static int bs_nexus_open(struct scsi_backend *be, uint64_t nexus)
{
    struct backend_stack *b = target_of(be)->b;
    pthread_mutex_lock(&b->lock);
    int id = nexus ? nexus_id(b, nexus, true) : -EINVAL;
    if (id == -EBUSY)
        b->stats.nexus_refused++;
    pthread_mutex_unlock(&b->lock);
    return id < 0 ? id : 0;
}

static const struct scsi_backend_ops bs_ops = {
    .name = "stack",
    .submit = bs_submit,
    .task_mgmt = bs_task_mgmt,
    .nexus_loss = bs_nexus_loss,
    .nexus_open = bs_nexus_open,
    .buf_get = lend,
    .buf_put = take_back,
};

/* ---- creation and the probe ------------------------------------------------------------- */

/* One command on the probe nexus, waited for, with data into/out of dma. */
static int probe_cmd(struct backend_stack *b, uint16_t target, uint16_t lun, const uint8_t *cdb, uint8_t cdb_len,
                     struct osal_dma_buffer *dma, uint32_t len, struct drv_completion *c)
{
    struct drv_buffer_piece piece = { .buf = dma, .offset = 0, .length = len };
    struct drv_task t = { .target = target, .lun = lun, .initiator = BACKEND_STACK_PROBE_INITIATOR,
                          .cdb_len = cdb_len, .dir = DRV_DIR_FROM_TARGET, .requested_transfer = len,
                          .pieces = &piece, .piece_count = 1 };
    memcpy(t.cdb, cdb, cdb_len);
    for (unsigned i = 0; i < BS_PROBE_TRIES; i++) {
        int rc = b->ops->run_task(b->core, &t, c);
        if (rc < 0)
            return rc;
        struct scsi_sense_info si;
        bool ua = c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_CHECK_CONDITION &&
                  scsi_sense_parse(c->sense, c->sense_len, &si) && si.key == SCSI_SK_UNIT_ATTENTION;
        if (!ua)
            return 0;
    }
    return 0;
}

/* REPORT LUNS, then READ CAPACITY(16) of each LUN: the block sizes residuals
 * need.  A target without drives (selection timeout) has none to learn. */
static void probe_target(struct bs_target *tgt)
{
    struct backend_stack *b = tgt->b;
    struct osal_dma_buffer *dma;
    const uint32_t cap = 4096;
    if (osal_dma_alloc(b->os, cap, 4096, &dma) < 0)
        return;
    uint8_t rl[12] = { SCSI_OP_REPORT_LUNS };
    scsi_put_be32(rl + 6, cap);
    struct drv_completion c;
    if (probe_cmd(b, tgt->target, 0, rl, sizeof(rl), dma, cap, &c) == 0 && c.response == DRV_SR_TASK_COMPLETE &&
        c.scsi_status == SCSI_STATUS_GOOD && c.bytes_transferred >= 8) {
        uint8_t list[4096];
        uint64_t n = c.bytes_transferred < cap ? c.bytes_transferred : cap;
        memcpy(list, dma->vaddr, n);
        uint64_t count = scsi_get_be32(list) / 8;
        for (uint64_t i = 0; i < count && 8 + 8 * i + 8 <= n; i++) {
            const uint8_t *l = list + 8 + 8 * i;
            uint16_t lun = (uint16_t)((l[0] & 0x3f) << 8 | l[1]);
            if (lun >= b->max_luns)
                continue;
            uint8_t rc16[16] = { SCSI_OP_SERVICE_ACTION_IN_16, 0x10 };
            scsi_put_be32(rc16 + 10, 32);
            if (probe_cmd(b, tgt->target, lun, rc16, sizeof(rc16), dma, 32, &c) == 0 &&
                c.response == DRV_SR_TASK_COMPLETE && c.scsi_status == SCSI_STATUS_GOOD && c.bytes_transferred >= 12)
                tgt->block_size[lun] = scsi_get_be32((const uint8_t *)dma->vaddr + 8);
        }
    }
    osal_dma_free(b->os, dma);
}

struct scsi_backend *backend_stack_target(struct backend_stack *b, uint16_t target)
{
    pthread_mutex_lock(&b->lock);
    struct bs_target *tgt = b->targets;
    while (tgt && tgt->target != target)
        tgt = tgt->next;
    pthread_mutex_unlock(&b->lock);
    if (tgt)
        return &tgt->be;
    tgt = calloc(1, sizeof(*tgt));
    if (!tgt)
        return NULL;
    tgt->block_size = calloc(b->max_luns, sizeof(*tgt->block_size));
    if (!tgt->block_size) {
        free(tgt);
        return NULL;
    }
    tgt->be.ops = &bs_ops;
    tgt->b = b;
    tgt->target = target;
    probe_target(tgt);
    pthread_mutex_lock(&b->lock);
    tgt->next = b->targets;
    b->targets = tgt;
    pthread_mutex_unlock(&b->lock);
    return &tgt->be;
}

int backend_stack_create(struct stack *st, const struct backend_stack_options *o, struct backend_stack **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    if (!st) {
        errf(err, errlen, "no stack");
        return -EINVAL;
    }
    struct backend_stack *b = calloc(1, sizeof(*b));
    if (!b) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (o)
        b->opt = *o;
    if (!b->opt.pool_bytes)
        b->opt.pool_bytes = 64ull << 20;
    b->st = st;
    b->core = stack_core(st);
    b->ops = stack_core_ops(st);
    b->os = stack_osal(st);
    struct drv_constraints cons;
    b->ops->constraints(b->core, &cons);
    b->max_luns = cons.max_luns ? cons.max_luns : 1;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->idle_cv, NULL);
    *out = b;
    return 0;
}

void backend_stack_destroy(struct backend_stack *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    while (b->tmfs_pending)
        pthread_cond_wait(&b->idle_cv, &b->lock);
    pthread_mutex_unlock(&b->lock);
    while (b->targets) {
        struct bs_target *tgt = b->targets;
        b->targets = tgt->next;
        free(tgt->block_size);
        free(tgt);
    }
    while (b->task_free) {
        struct bs_task *k = b->task_free;
        b->task_free = k->next;
        free(k);
    }
    for (unsigned c = 0; c < BS_CLASSES; c++) {
        while (b->pool[c]) {
            struct bs_buf *x = b->pool[c];
            b->pool[c] = x->next;
            osal_dma_free(b->os, x->dma);
            free(x);
        }
    }
    pthread_cond_destroy(&b->idle_cv);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

void backend_stack_set_observer(struct backend_stack *b, backend_stack_observer fn, void *arg)
{
    pthread_mutex_lock(&b->lock);
    b->observer = fn;
    b->observer_arg = arg;
    pthread_mutex_unlock(&b->lock);
}

void backend_stack_get_stats(struct backend_stack *b, struct backend_stack_stats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->stats;
    out->nexuses = 0;
    out->tmfs_pending = b->tmfs_pending;
    for (unsigned i = 0; i < HBA_MAX_INITIATORS; i++)
        out->nexuses += b->nx[i].nexus != 0;
    pthread_mutex_unlock(&b->lock);
}
