/* conformance/remote/remote_iscsi.c — the iSCSI backend of `run --target`:
 * libiscsi's async API.  Each initiator (host number) of the trace is its own
 * session — its own I_T nexus, with the initiator name
 * iqn.2025-01.org.scsisim:replay-H — logged in when its first record comes
 * (iscsi_connect_sync + iscsi_login_sync, not iscsi_full_connect_sync, which
 * would send TEST UNIT READYs of its own and eat the unit attentions the
 * trace expects).  Commands go out with iscsi_scsi_command_async; waiting
 * polls every session's socket and services it, so the commands in flight
 * complete in whatever order the target answers. */
#include "conformance/remote/remote_priv.h"

#include <errno.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define SESSIONS_MAX 64u   /* initiators (host numbers) of one trace */
#define LOGIN_TIMEOUT_S 10

struct session {
    uint32_t host;
    struct iscsi_context *ctx;
};

struct be {
    struct iscsi_url *url;          /* parsed with the first context */
    char portal[300], target[300];
    int  lun;
    struct session s[SESSIONS_MAX];
    size_t n;
};

/* libiscsi's last error, on one line (its texts may end in a newline). */
static const char *last_error(struct iscsi_context *ctx, char *buf, size_t len)
{
    snprintf(buf, len, "%s", ctx ? iscsi_get_error(ctx) : "no session");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

static void set_note(struct remote_task *k, const char *what, struct iscsi_context *ctx)
{
    char e[200];
    snprintf(k->note, sizeof k->note, "%s: %s", what, last_error(ctx, e, sizeof e));
}

static struct iscsi_context *login(struct be *b, uint32_t host, char *err, size_t len)
{
    char name[96];
    snprintf(name, sizeof name, "iqn.2025-01.org.scsisim:replay-%u", host);
    struct iscsi_context *ctx = iscsi_create_context(name);
    if (!ctx) {
        snprintf(err, len, "libiscsi could not create a context (out of memory)");
        return NULL;
    }
    iscsi_set_targetname(ctx, b->target);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    iscsi_set_noautoreconnect(ctx, 1); /* a lost session is a finding, not something to hide */
    iscsi_set_timeout(ctx, LOGIN_TIMEOUT_S);
    if (iscsi_connect_sync(ctx, b->portal) != 0) {
        char e[200];
        snprintf(err, len, "cannot connect to %s: %s; is the target listening there?", b->portal,
                 last_error(ctx, e, sizeof e));
        iscsi_destroy_context(ctx);
        return NULL;
    }
    if (iscsi_login_sync(ctx) != 0) {
        char e[200];
        snprintf(err, len, "login to %s at %s refused: %s; check the target name and its ACL", b->target,
                 b->portal, last_error(ctx, e, sizeof e));
        iscsi_destroy_context(ctx);
        return NULL;
    }
    iscsi_set_timeout(ctx, 0);
    return ctx;
}

static struct iscsi_context *session(struct remote *r, uint32_t host, char *err, size_t len)
{
    struct be *b = r->be;
    for (size_t i = 0; i < b->n; i++)
        if (b->s[i].host == host)
            return b->s[i].ctx;
    if (b->n == SESSIONS_MAX) {
        snprintf(err, len, "more than %u initiators in one trace", SESSIONS_MAX);
        return NULL;
    }
    struct iscsi_context *ctx = login(b, host, err, len);
    if (ctx)
        b->s[b->n++] = (struct session){ host, ctx };
    return ctx;
}

static int be_open(struct remote *r, char *err, size_t len)
{
    struct be *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    struct iscsi_context *tmp = iscsi_create_context("iqn.2025-01.org.scsisim:replay-url");
    struct iscsi_url *u = tmp ? iscsi_parse_full_url(tmp, r->target) : NULL;
    if (!u) {
        snprintf(err, len, "%s", tmp ? iscsi_get_error(tmp) : "out of memory");
        if (tmp)
            iscsi_destroy_context(tmp);
        free(b);
        return -EINVAL;
    }
    snprintf(b->portal, sizeof b->portal, "%s", u->portal);
    snprintf(b->target, sizeof b->target, "%s", u->target);
    b->lun = u->lun;
    iscsi_destroy_url(u);
    iscsi_destroy_context(tmp);
    r->be = b;
    r->lun = (uint64_t)b->lun;
    if (r->probe) {
        struct iscsi_context *ctx = session(r, 0, err, len);
        if (!ctx) {
            free(b);
            r->be = NULL;
            return -ECONNREFUSED;
        }
        iscsi_logout_sync(ctx);
        iscsi_destroy_context(ctx);
        b->n = 0;
    }
    return 0;
}

static void be_close(struct remote *r)
{
    struct be *b = r->be;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        /* Commands still out are cancelled by the logout (their callbacks
         * are not called once the context is destroyed). */
        iscsi_logout_sync(b->s[i].ctx);
        iscsi_destroy_context(b->s[i].ctx);
    }
    for (size_t i = 0; i < r->t->n_tasks; i++)
        if (r->tasks && r->tasks[i].io) {
            scsi_free_scsi_task(r->tasks[i].io);
            r->tasks[i].io = NULL;
        }
    free(b);
    r->be = NULL;
}

static void cmd_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
    struct remote_task *k = priv;
    struct scsi_task *task = data;
    k->done = true;
    k->done_ns = remote_now_ns();
    if (status == SCSI_STATUS_CANCELLED) {
        k->status = SCSI_STATUS_TASK_ABORTED; /* a TMF of the trace ended it */
        return;
    }
    if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_TIMEOUT || (status & ~0xff)) {
        k->status = TRACE_STATUS_SERVICE_FAILURE;
        set_note(k, "libiscsi", ctx);
        return;
    }
    k->status = (unsigned)status;
    const uint8_t *in = task->datain.data;
    size_t n = task->datain.size > 0 ? (size_t)task->datain.size : 0;
    if (status == SCSI_STATUS_CHECK_CONDITION) {
        /* The data segment of a SCSI Response: SenseLength, then the sense. */
        size_t sl = n >= 2 ? (size_t)(in[0] << 8 | in[1]) : 0;
        if (sl > n - 2)
            sl = n - 2;
        if (sl > sizeof k->sense)
            sl = sizeof k->sense;
        memcpy(k->sense, in + 2, sl);
        k->sense_len = sl;
        n = 0;
    }
    if (n && (k->din = malloc(n))) {
        memcpy(k->din, in, n);
        k->din_len = n;
    }
    k->resid_valid = true;
    k->resid = task->residual_status == SCSI_RESIDUAL_UNDERFLOW ? (uint32_t)task->residual : 0;
    k->xfer = k->len >= k->resid ? k->len - k->resid : 0;
}

static void be_submit(struct remote *r, struct remote_task *k, const struct remote_cmd *c)
{
    char err[REMOTE_NOTE_MAX];
    struct iscsi_context *ctx = session(r, c->initiator, err, sizeof err);
    if (!ctx) {
        snprintf(k->note, sizeof k->note, "%s", err);
        return;
    }
    int dir = c->dir == TRACE_DATA_IN ? SCSI_XFER_READ : c->dir == TRACE_DATA_OUT ? SCSI_XFER_WRITE : SCSI_XFER_NONE;
    struct scsi_task *task = scsi_create_task((int)c->cdb_len, (unsigned char *)c->cdb, dir, (int)c->len);
    if (!task) {
        snprintf(k->note, sizeof k->note, "out of memory for the command");
        return;
    }
    struct iscsi_data d = { .size = c->len, .data = k->dout };
    k->submit_ns = remote_now_ns();
    if (iscsi_scsi_command_async(ctx, (int)c->lun, task, cmd_done, dir == SCSI_XFER_WRITE ? &d : NULL, k) != 0) {
        set_note(k, "libiscsi refused the command", ctx);
        scsi_free_scsi_task(task);
        return;
    }
    k->io = task;
    k->submitted = true;
}

static void tmf_done(struct iscsi_context *ctx, int status, void *data, void *priv)
{
    struct remote_task *k = priv;
    k->done = true;
    k->done_ns = remote_now_ns();
    if (status != SCSI_STATUS_GOOD || !data) {
        k->tmf = TRACE_TMF_SERVICE_FAILURE;
        set_note(k, "libiscsi", ctx);
        return;
    }
    switch (*(uint32_t *)data) {
    case ISCSI_TMR_FUNC_COMPLETE:
    case ISCSI_TMR_TASK_DOES_NOT_EXIST: k->tmf = TRACE_TMF_FUNCTION_COMPLETE; break;
    case ISCSI_TMR_LUN_DOES_NOT_EXIST: k->tmf = TRACE_TMF_INCORRECT_LUN; break;
    case ISCSI_TMR_TMF_NOT_SUPPORTED:
    case ISCSI_TMR_FUNC_REJECTED: k->tmf = TRACE_TMF_FUNCTION_REJECTED; break;
    default: k->tmf = TRACE_TMF_SERVICE_FAILURE; break;
    }
}

static void be_tmf(struct remote *r, struct remote_task *k, uint32_t initiator, uint64_t lun, enum trace_tmf_fn fn,
                   struct remote_task *ref)
{
    static const int fns[TRACE_TMF_FN_COUNT] = {
        [TRACE_TMF_ABORT_TASK] = ISCSI_TM_ABORT_TASK, [TRACE_TMF_ABORT_TASK_SET] = ISCSI_TM_ABORT_TASK_SET,
        [TRACE_TMF_CLEAR_TASK_SET] = ISCSI_TM_CLEAR_TASK_SET, [TRACE_TMF_CLEAR_ACA] = ISCSI_TM_CLEAR_ACA,
        [TRACE_TMF_LUN_RESET] = ISCSI_TM_LUN_RESET, [TRACE_TMF_TARGET_RESET] = ISCSI_TM_TARGET_WARM_RESET,
    };
    char err[REMOTE_NOTE_MAX];
    struct iscsi_context *ctx = session(r, initiator, err, sizeof err);
    if (!ctx || !fns[fn]) {
        snprintf(k->note, sizeof k->note, "%s", ctx ? "libiscsi has no such task management function" : err);
        return;
    }
    struct scsi_task *t = ref && ref->io ? ref->io : NULL;
    /* A task that is not out (never sent, or answered) is named by an ITT
     * no command has: the target answers "task does not exist". */
    uint32_t itt = t && !ref->done ? t->itt : 0xffffffffu, cmdsn = t && !ref->done ? t->cmdsn : 0;
    k->submit_ns = remote_now_ns();
    if (iscsi_task_mgmt_async(ctx, (int)lun, (enum iscsi_task_mgmt_funcs)fns[fn], itt, cmdsn, tmf_done, k) != 0) {
        set_note(k, "libiscsi refused the task management request", ctx);
        return;
    }
    k->submitted = true;
}

static void be_wait(struct remote *r, struct remote_task *k, uint64_t deadline_ns)
{
    struct be *b = r->be;
    struct pollfd pfd[SESSIONS_MAX];
    while (!k->done) {
        uint64_t now = remote_now_ns();
        if (now >= deadline_ns || !b->n)
            return;
        for (size_t i = 0; i < b->n; i++)
            pfd[i] = (struct pollfd){ .fd = iscsi_get_fd(b->s[i].ctx), .events = (short)iscsi_which_events(b->s[i].ctx) };
        uint64_t ms = (deadline_ns - now) / 1000000u + 1;
        int n = poll(pfd, b->n, ms > 100 ? 100 : (int)ms);
        if (n < 0 && errno != EINTR)
            return;
        for (size_t i = 0; i < b->n; i++)
            if (iscsi_service(b->s[i].ctx, n > 0 ? pfd[i].revents : 0) < 0 && !k->done && !k->note[0])
                set_note(k, "the iSCSI session failed", b->s[i].ctx);
    }
}

static const char *const features[] = { "tmf", NULL };

const struct remote_ops remote_iscsi_ops = {
    .kind = "iSCSI (libiscsi)",
    .features = features,
    .open = be_open,
    .close = be_close,
    .submit = be_submit,
    .tmf = be_tmf,
    .wait = be_wait,
};
