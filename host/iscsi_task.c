/* host/iscsi_task.c — the per-connection task pool.
 *
 * Tasks are allocated once per connection (queue depth plus room for
 * immediate commands and TMFs) and recycled, so a command costs no
 * allocation.  Each slot keeps its data buffer for the next command while the
 * connection stays under its buffer budget.  The Target Transfer Tag of a
 * task is its slot index with a generation that changes on every reuse, so a
 * stale tag never finds a newer task. */
#include "host/iscsi_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int iscsi_tasks_init(struct iscsi_conn *c, unsigned n)
{
    c->tasks = calloc(n, sizeof(*c->tasks));
    if (!c->tasks)
        return -ENOMEM;
    c->n_tasks = n;
    c->task_free = NULL;
    for (unsigned i = n; i-- > 0;) {
        struct iscsi_task *t = &c->tasks[i];
        t->conn = c;
        t->index = (uint16_t)i;
        t->gen = 1;
        t->free_next = c->task_free;
        c->task_free = t;
    }
    return 0;
}

/* Gives a slot's buffer back to whoever it came from. */
static void drop_buffer(struct iscsi_conn *c, struct iscsi_task *t)
{
    if (t->lent.owner)
        scsi_backend_buf_put(&t->lent);
    else
        free(t->buf);
    c->buf_bytes -= t->buf_cap;
    t->buf = NULL;
    t->buf_cap = 0;
}

void iscsi_tasks_free(struct iscsi_conn *c)
{
    for (unsigned i = 0; i < c->n_tasks; i++)
        drop_buffer(c, &c->tasks[i]);
    free(c->tasks);
    c->tasks = NULL;
    c->n_tasks = 0;
}

static unsigned bucket(uint32_t itt)
{
    return (itt ^ (itt >> 8) ^ (itt >> 16)) & (ISCSI_ITT_BUCKETS - 1);
}

struct iscsi_task *iscsi_task_alloc(struct iscsi_conn *c, enum iscsi_task_kind kind, uint32_t itt)
{
    struct iscsi_task *t = c->task_free;
    if (!t)
        return NULL;
    c->task_free = t->free_next;
    t->free_next = NULL;
    t->kind = (uint8_t)kind;
    t->state = ISCSI_TASK_DATA_OUT;
    t->aborted = false;
    t->immediate = false;
    t->holds_slot = false;
    t->itt = itt;
    t->cmdsn = t->edtl = 0;
    memset(t->lun_raw, 0, sizeof(t->lun_raw));
    t->is_read = t->is_write = false;
    t->received = t->unsol_limit = t->burst_end = t->next_datasn = t->r2tsn = 0;
    t->unsol_open = t->r2t_open = false;
    t->datasn = 0;
    t->tx_refs = 0;
    t->tmf_function = 0;
    t->tmf_target = NULL;
    unsigned b = bucket(itt);
    t->hash_next = c->itt_hash[b];
    c->itt_hash[b] = t;
    t->in_hash = true;
    c->live_tasks++;
    return t;
}

struct iscsi_task *iscsi_task_by_itt(struct iscsi_conn *c, uint32_t itt)
{
    for (struct iscsi_task *t = c->itt_hash[bucket(itt)]; t; t = t->hash_next)
        if (t->itt == itt)
            return t;
    return NULL;
}

struct iscsi_task *iscsi_task_by_ttt(struct iscsi_conn *c, uint32_t ttt)
{
    uint32_t idx = ttt & 0xffff;
    if (idx >= c->n_tasks)
        return NULL;
    struct iscsi_task *t = &c->tasks[idx];
    if (t->state == ISCSI_TASK_FREE || t->gen != (ttt >> 16))
        return NULL;
    return t;
}

/* Drops cached buffers of idle slots until `need` more bytes fit the budget. */
static bool make_room(struct iscsi_conn *c, uint64_t need)
{
    uint64_t budget = c->target->opt.conn_buffer_bytes;
    for (unsigned i = 0; i < c->n_tasks && c->buf_bytes + need > budget; i++) {
        struct iscsi_task *t = &c->tasks[i];
        if (t->state == ISCSI_TASK_FREE && t->buf)
            drop_buffer(c, t);
    }
    return c->buf_bytes + need <= budget;
}

int iscsi_task_buffer(struct iscsi_task *t, uint32_t len)
{
    struct iscsi_conn *c = t->conn;
    if (len <= t->buf_cap)
        return 0;
    /* Round up so a slot serves a range of sizes without reallocating. */
    uint64_t cap = 4096;
    while (cap < len)
        cap *= 2;
    drop_buffer(c, t);
    if (!make_room(c, cap)) {
        cap = len; /* try the exact size before giving up */
        if (!make_room(c, cap))
            return -ENOMEM;
    }
    struct iscsi_session *s = c->sess;
    if (s && s->node && cap <= UINT32_MAX &&
        scsi_backend_buf_get(scsi_lunmap_backend(s->node->luns), scsi_lun_from_sam(t->lun_raw), cap, &t->lent) == 0) {
        t->buf = t->lent.data;
        t->buf_cap = (uint32_t)(t->lent.cap < UINT32_MAX ? t->lent.cap : UINT32_MAX);
        c->buf_bytes += t->buf_cap;
        return 0;
    }
    /* The backend lends nothing (or has no DMA memory left): our own
     * memory, which the backend copies through. */
    t->buf = malloc(cap);
    if (!t->buf)
        return -ENOMEM;
    t->buf_cap = (uint32_t)cap;
    c->buf_bytes += cap;
    return 0;
}

static void unhash(struct iscsi_conn *c, struct iscsi_task *t)
{
    if (!t->in_hash)
        return;
    for (struct iscsi_task **pp = &c->itt_hash[bucket(t->itt)]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == t) {
            *pp = t->hash_next;
            break;
        }
    }
    t->in_hash = false;
}

static void release(struct iscsi_task *t)
{
    struct iscsi_conn *c = t->conn;
    unhash(c, t);
    if (t->holds_slot && c->sess)
        iscsi_session_release(c->sess, t->immediate);
    t->holds_slot = false;
    if (++t->gen == 0)
        t->gen = 1;
    t->state = ISCSI_TASK_FREE;
    t->free_next = c->task_free;
    c->task_free = t;
    c->live_tasks--;
    if (c->state == ISCSI_CONN_CLOSED)
        iscsi_conn_maybe_free(c); /* may free c */
}

void iscsi_task_maybe_free(struct iscsi_task *t)
{
    if (t->state == ISCSI_TASK_RESPONDING && t->tx_refs == 0)
        release(t);
}

void iscsi_task_finish(struct iscsi_task *t)
{
    switch (t->state) {
    case ISCSI_TASK_FREE:
        return;
    case ISCSI_TASK_BACKEND:
    case ISCSI_TASK_QUEUED:
        /* The backend (or the completion queue) still holds it. */
        t->aborted = true;
        return;
    default:
        t->state = ISCSI_TASK_RESPONDING;
        iscsi_task_maybe_free(t);
        return;
    }
}
