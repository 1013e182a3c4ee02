/* host/scsi_lunmap.c — LUN map and router in front of backends (see .h). */
#include "host/scsi_lunmap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct lun_entry {
    uint64_t lun;
    struct scsi_backend *be;
    uint64_t be_lun;
};

struct scsi_lunmap {
    struct scsi_backend be; /* first: the interface */
    struct lun_entry *v;    /* sorted by lun */
    size_t n, cap;
    struct scsi_backend **distinct; /* each backend once */
    size_t n_distinct;
    struct scsi_backend *device;    /* a whole target device: everything goes there */
};

uint64_t scsi_lun_from_sam(const uint8_t s[8])
{
    for (int i = 2; i < 8; i++)
        if (s[i])
            return SCSI_LUN_INVALID;
    switch (s[0] >> 6) {
    case 0: /* peripheral device addressing: bus 0 only */
        return (s[0] & 0x3f) ? SCSI_LUN_INVALID : s[1];
    case 1: /* flat space */
        return (uint64_t)(s[0] & 0x3f) << 8 | s[1];
    default:
        return SCSI_LUN_INVALID;
    }
}

void scsi_lun_to_sam(uint64_t lun, uint8_t s[8])
{
    memset(s, 0, 8);
    if (lun < 256) {
        s[1] = (uint8_t)lun;
    } else {
        s[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
        s[1] = (uint8_t)lun;
    }
}

static const struct lun_entry *find(const struct scsi_lunmap *m, uint64_t lun)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].lun == lun)
            return &m->v[mid];
        if (m->v[mid].lun < lun)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool scsi_lunmap_has(const struct scsi_lunmap *m, uint64_t lun)
{
    if (m->device)
        return lun <= SCSI_LUN_MAX;
    return find(m, lun) != NULL;
}

size_t scsi_lunmap_count(const struct scsi_lunmap *m)
{
    return m->n;
}

/* ---- what the target device answers itself -------------------------------- */

static void answer_data(struct scsi_backend_task *t, const uint8_t *d, uint64_t avail, uint64_t alloc)
{
    uint64_t wanted = avail < alloc ? avail : alloc;
    uint64_t moved = 0;
    if (t->dir == SCSI_DIR_READ && t->data_in)
        moved = wanted < t->data_in_cap ? wanted : t->data_in_cap;
    if (moved)
        memcpy(t->data_in, d, moved);
    scsi_backend_set_transfer(t, wanted, moved);
}

static void answer_report_luns(struct scsi_lunmap *m, struct scsi_backend_task *t)
{
    uint32_t alloc = scsi_get_be32(t->cdb + 6);
    if (t->cdb_len < 12 || t->cdb[2] > 2 || alloc < 16) {
        struct scsi_sense_reason r = scsi_reason_invalid_cdb_field(t->cdb_len < 12 ? 0 : t->cdb[2] > 2 ? 2 : 6, -1);
        scsi_backend_set_sense(t, &r, false);
        return;
    }
    size_t n = 8 + 8 * m->n;
    uint8_t *d = calloc(1, n);
    if (!d) {
        struct scsi_sense_reason r = scsi_reason(SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
        scsi_backend_set_sense(t, &r, false);
        return;
    }
    scsi_put_be32(d, (uint32_t)(8 * m->n));
    for (size_t i = 0; i < m->n; i++)
        scsi_lun_to_sam(m->v[i].lun, d + 8 + 8 * i);
    answer_data(t, d, n, alloc);
    free(d);
}

static void answer_unmapped(struct scsi_backend_task *t)
{
    struct scsi_sense_reason nolun = scsi_reason(SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
    if (t->cdb[0] == SCSI_OP_INQUIRY && t->cdb_len >= 6 && !(t->cdb[1] & 1)) {
        uint8_t d[36];
        memset(d, 0, sizeof(d));
        d[0] = (uint8_t)(SCSI_PQ_NOT_SUPPORTED << 5 | SCSI_PDT_UNKNOWN);
        d[2] = 0x06;
        d[3] = 0x02;
        d[4] = sizeof(d) - 5;
        answer_data(t, d, sizeof(d), scsi_get_be16(t->cdb + 3));
    } else if (t->cdb[0] == SCSI_OP_REQUEST_SENSE && t->cdb_len >= 6) {
        uint8_t d[SCSI_SENSE_MAX];
        size_t n = scsi_sense_build(d, sizeof(d), t->cdb[1] & 1, &nolun);
        answer_data(t, d, n, t->cdb[4]);
    } else {
        scsi_backend_set_sense(t, &nolun, false);
    }
}

/* ---- routing ------------------------------------------------------------- */

static int map_submit(struct scsi_backend *be, struct scsi_backend_task *t)
{
    struct scsi_lunmap *m = (struct scsi_lunmap *)be;
    if (m->device)
        return scsi_backend_submit(m->device, t);
    if (t->cdb_len && t->cdb[0] == SCSI_OP_REPORT_LUNS) {
        scsi_backend_result_reset(t);
        answer_report_luns(m, t);
        t->done(t);
        return 0;
    }
    const struct lun_entry *e = find(m, t->lun);
    if (!e || t->cdb_len == 0) {
        scsi_backend_result_reset(t);
        answer_unmapped(t);
        t->done(t);
        return 0;
    }
    t->lun = e->be_lun;
    return scsi_backend_submit(e->be, t);
}

/* A target reset fans out to every backend; the last answer finishes it. */
struct reset_fanout {
    struct scsi_backend_tmf *orig;
    atomic_uint pending;
    atomic_int worst;
    struct scsi_backend_tmf sub[];
};

static void fanout_done(struct scsi_backend_tmf *sub)
{
    struct reset_fanout *f = sub->be_priv;
    if (sub->response != SCSI_TMF_COMPLETE)
        atomic_store(&f->worst, (int)sub->response);
    if (atomic_fetch_sub(&f->pending, 1) == 1) {
        struct scsi_backend_tmf *orig = f->orig;
        orig->response = (enum scsi_tmf_response)atomic_load(&f->worst);
        free(f);
        orig->done(orig);
    }
}

static void map_task_mgmt(struct scsi_backend *be, struct scsi_backend_tmf *tmf)
{
    struct scsi_lunmap *m = (struct scsi_lunmap *)be;
    if (m->device) {
        scsi_backend_task_mgmt(m->device, tmf);
        return;
    }
    if (tmf->fn == SCSI_TMF_TARGET_WARM_RESET || tmf->fn == SCSI_TMF_TARGET_COLD_RESET) {
        if (m->n_distinct == 0) {
            tmf->response = SCSI_TMF_COMPLETE;
            tmf->done(tmf);
            return;
        }
        struct reset_fanout *f = calloc(1, sizeof(*f) + m->n_distinct * sizeof(f->sub[0]));
        if (!f) {
            tmf->response = SCSI_TMF_REJECTED;
            tmf->done(tmf);
            return;
        }
        f->orig = tmf;
        atomic_init(&f->pending, (unsigned)m->n_distinct);
        atomic_init(&f->worst, SCSI_TMF_COMPLETE);
        size_t n = m->n_distinct;
        for (size_t i = 0; i < n; i++) {
            f->sub[i] = *tmf;
            f->sub[i].done = fanout_done;
            f->sub[i].be_priv = f;
        }
        /* Only the last of the n completions frees f, and it cannot run before
         * the n-th submission: computing &f->sub[i] before each call is safe. */
        for (size_t i = 0; i < n; i++)
            scsi_backend_task_mgmt(m->distinct[i], &f->sub[i]);
        return;
    }
    const struct lun_entry *e = find(m, tmf->lun);
    if (!e) {
        tmf->response = SCSI_TMF_LUN_NOT_FOUND;
        tmf->done(tmf);
        return;
    }
    tmf->lun = e->be_lun;
    scsi_backend_task_mgmt(e->be, tmf);
}

static void map_nexus_loss(struct scsi_backend *be, uint64_t nexus)
{
    struct scsi_lunmap *m = (struct scsi_lunmap *)be;
    for (size_t i = 0; i < m->n_distinct; i++)
        scsi_backend_nexus_loss(m->distinct[i], nexus);
}

/* Every backend behind the node must take the nexus; the ones that did give
 * it back when one refuses. */
static int map_nexus_open(struct scsi_backend *be, uint64_t nexus)
{
    struct scsi_lunmap *m = (struct scsi_lunmap *)be;
    for (size_t i = 0; i < m->n_distinct; i++) {
        int rc = scsi_backend_nexus_open(m->distinct[i], nexus);
        if (rc < 0) {
            while (i-- > 0)
                scsi_backend_nexus_loss(m->distinct[i], nexus);
            return rc;
        }
    }
    return 0;
}

static int map_buf_get(struct scsi_backend *be, uint64_t lun, uint64_t len, struct scsi_backend_buf *out)
{
    struct scsi_lunmap *m = (struct scsi_lunmap *)be;
    if (m->device)
        return scsi_backend_buf_get(m->device, lun, len, out);
    const struct lun_entry *e = find(m, lun);
    if (!e)
        return -ENOTSUP;
    return scsi_backend_buf_get(e->be, e->be_lun, len, out);
}

/* Never called: a lent buffer's owner is the backend that lent it. */
static void map_buf_put(struct scsi_backend *be, struct scsi_backend_buf *b)
{
    (void)be;
    (void)b;
}

static const struct scsi_backend_ops map_ops = {
    .name = "lunmap",
    .submit = map_submit,
    .task_mgmt = map_task_mgmt,
    .nexus_loss = map_nexus_loss,
    .nexus_open = map_nexus_open,
    .buf_get = map_buf_get,
    .buf_put = map_buf_put,
};

/* ---- building ------------------------------------------------------------ */

int scsi_lunmap_create(struct scsi_lunmap **out)
{
    struct scsi_lunmap *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->be.ops = &map_ops;
    *out = m;
    return 0;
}

void scsi_lunmap_destroy(struct scsi_lunmap *m)
{
    if (!m)
        return;
    free(m->v);
    free(m->distinct);
    free(m);
}

int scsi_lunmap_set_device(struct scsi_lunmap *m, struct scsi_backend *be)
{
    if (!be || be == &m->be)
        return -EINVAL;
    if (m->device || m->n)
        return -EEXIST;
    struct scsi_backend **d = malloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    d[0] = be;
    m->distinct = d; /* nexus loss reaches it through the same list */
    m->n_distinct = 1;
    m->device = be;
    return 0;
}

int scsi_lunmap_add(struct scsi_lunmap *m, uint64_t lun, struct scsi_backend *be, uint64_t be_lun)
{
    if (lun > SCSI_LUN_MAX || !be || be == &m->be)
        return -EINVAL;
    if (m->device)
        return -EEXIST;
    if (find(m, lun))
        return -EEXIST;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct lun_entry *v = realloc(m->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    bool known = false;
    for (size_t i = 0; i < m->n_distinct; i++)
        known |= m->distinct[i] == be;
    if (!known) {
        struct scsi_backend **d = realloc(m->distinct, (m->n_distinct + 1) * sizeof(*d));
        if (!d)
            return -ENOMEM;
        m->distinct = d;
        m->distinct[m->n_distinct++] = be;
    }
    size_t at = m->n;
    while (at > 0 && m->v[at - 1].lun > lun) {
        m->v[at] = m->v[at - 1];
        at--;
    }
    m->v[at] = (struct lun_entry){ .lun = lun, .be = be, .be_lun = be_lun };
    m->n++;
    return 0;
}

struct scsi_backend *scsi_lunmap_backend(struct scsi_lunmap *m)
{
    return &m->be;
}
