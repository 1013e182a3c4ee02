/* stack/ctl_server.c — the live-control socket (stack/ctl_server.h): libuv
 * stream sockets, one command per line, one JSON answer per line, every
 * command a call of the controller-control interface (stack/ctrl_ctl.h), so
 * it means the same in one process or two. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errf.h"
#include "stack/ctl_server.h"
#include "stack/stack_internal.h"

struct ctl_conn {
    uv_pipe_t pipe;
    struct ctl_server *s;
    struct ctl_conn *next;
    bool closing;
    size_t len;
    char buf[CTL_LINE_MAX + 1];
};

struct ctl_server {
    uv_loop_t *loop;
    struct ctrl_ctl ctl;
    uv_pipe_t listen;
    bool listening, stopping;
    unsigned handles;           /* open uv handles: freed when it reaches 0 after stop */
    struct ctl_conn *conns;
    unsigned nconns;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t sock_dev;
    ino_t sock_ino;
};

/* ---- answers ---------------------------------------------------------------- */

static void json_str(struct tbuf *b, const char *s)
{
    tbuf_putc(b, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            tbuf_printf(b, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F)
            tbuf_printf(b, "\\u%04x", ch);
        else
            tbuf_putc(b, (char)ch);
    }
    tbuf_putc(b, '"');
}

static void answer_error(struct tbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer_error(struct tbuf *out, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tbuf_puts(out, "{\"ok\":false,\"error\":");
    json_str(out, msg);
    tbuf_putc(out, '}');
}

static const char help_text[] =
    "commands: inject RULE... | clear | list | power-cut [all|random|torn] [seed=N] | power-on | stats | "
    "set T:L battery=absent|good|failed | set T:L write-cache=on|off | set T:L blocks=N | check-media T:L | "
    "lun add T:L [blocks=N] [block-size=512|4096] | lun remove T:L | help (rules: docs/faults.md)";

/* ---- commands ---------------------------------------------------------------- */

static bool parse_drive(const char *w, uint16_t *t, uint16_t *l)
{
    unsigned a, b;
    char tail;
    if (sscanf(w, "%u:%u%c", &a, &b, &tail) != 2 || a > 0xFFFF || b > 0xFFFF)
        return false;
    *t = (uint16_t)a;
    *l = (uint16_t)b;
    return true;
}

static const char *rc_text(int rc)
{
    return rc == -ENODEV ? "the controller is powered off (or its process is gone)"
         : rc == -ENOTSUP ? "not offered here (the controller runs in another process: use its own --ctl socket)"
         : rc == -ENOENT ? "no such drive"
         : strerror(-rc);
}

static void cmd_power_cut(struct ctl_server *s, char **w, int n, struct tbuf *out)
{
    struct sim_power_cut how = { .mode = SIM_POWER_CUT_ALL };
    for (int i = 1; i < n; i++) {
        if (!strcmp(w[i], "all"))
            how.mode = SIM_POWER_CUT_ALL;
        else if (!strcmp(w[i], "random"))
            how.mode = SIM_POWER_CUT_RANDOM;
        else if (!strcmp(w[i], "torn"))
            how.mode = SIM_POWER_CUT_TORN;
        else if (!strncmp(w[i], "seed=", 5) && w[i][5] && strspn(w[i] + 5, "0123456789") == strlen(w[i] + 5))
            how.seed = strtoull(w[i] + 5, NULL, 10);
        else
            return answer_error(out, "power-cut: unexpected '%s'; write power-cut [all|random|torn] [seed=N]", w[i]);
    }
    int64_t lost = s->ctl.ops->power_cut(s->ctl.impl, &how);
    if (lost == -EALREADY)
        return answer_error(out, "power-cut: the controller is already powered off (power-on first)");
    if (lost < 0)
        return answer_error(out, "power-cut: %s", rc_text((int)lost));
    tbuf_printf(out, "{\"ok\":true,\"lines_lost\":%" PRId64 "}", lost);
}

static void cmd_set(struct ctl_server *s, char **w, int n, struct tbuf *out)
{
    uint16_t t, l;
    if (n != 3 || !parse_drive(w[1], &t, &l))
        return answer_error(out, "set: write set T:L battery=absent|good|failed, set T:L write-cache=on|off or "
                                 "set T:L blocks=N");
    int rc;
    if (!strncmp(w[2], "battery=", 8)) {
        const char *v = w[2] + 8;
        enum hba_battery b = !strcmp(v, "absent") ? HBA_BATTERY_ABSENT : !strcmp(v, "good") ? HBA_BATTERY_GOOD
                           : !strcmp(v, "failed") ? HBA_BATTERY_FAILED : (enum hba_battery)-1;
        if ((int)b < 0)
            return answer_error(out, "set: bad battery '%s': write absent, good or failed", v);
        rc = s->ctl.ops->set_battery(s->ctl.impl, t, l, b);
    } else if (!strncmp(w[2], "write-cache=", 12)) {
        const char *v = w[2] + 12;
        if (strcmp(v, "on") && strcmp(v, "off"))
            return answer_error(out, "set: bad write-cache '%s': write on or off", v);
        rc = s->ctl.ops->set_write_cache(s->ctl.impl, t, l, !strcmp(v, "on"));
    } else if (!strncmp(w[2], "blocks=", 7)) {
        char rule[80], err[300] = "";
        snprintf(rule, sizeof rule, "capacity drive=%u:%u %s", t, l, w[2]);
        rc = s->ctl.ops->fault_add(s->ctl.impl, rule, err, sizeof err);
        if (rc < 0 && err[0])
            return answer_error(out, "set: %s", err);
    } else {
        return answer_error(out, "set: unknown drive option '%s'; the options are battery=, write-cache= and blocks=",
                            w[2]);
    }
    if (rc < 0)
        return answer_error(out, "set: %s", rc_text(rc));
    tbuf_puts(out, "{\"ok\":true}");
}

static void cmd_check_media(struct ctl_server *s, char **w, int n, struct tbuf *out)
{
    uint16_t t, l;
    if (n != 2 || !parse_drive(w[1], &t, &l))
        return answer_error(out, "check-media: write check-media T:L");
    struct sim_oracle_report r;
    int rc = s->ctl.ops->check_media(s->ctl.impl, t, l, &r);
    if (rc < 0)
        return answer_error(out, "check-media: %s", rc_text(rc));
    tbuf_printf(out,
                "{\"ok\":true,\"drive\":\"%u:%u\",\"blocks_checked\":%" PRIu64 ",\"durable_lost\":%" PRIu64
                ",\"volatile_kept\":%" PRIu64 ",\"volatile_lost\":%" PRIu64,
                t, l, r.blocks_checked, r.durable_lost, r.volatile_kept, r.volatile_lost);
    if (r.durable_lost)
        tbuf_printf(out, ",\"first_bad_lba\":%" PRIu64, r.first_bad_lba);
    tbuf_puts(out, ",\"lost\":[");
    for (uint32_t i = 0; i < r.n_ranges && i < SIM_ORACLE_RANGES; i++)
        tbuf_printf(out, "%s{\"lba\":%" PRIu64 ",\"count\":%" PRIu32 ",\"durable\":%s}", i ? "," : "",
                    r.range[i].lba, r.range[i].count, r.range[i].durable ? "true" : "false");
    tbuf_printf(out, "],\"lost_runs_not_listed\":%" PRIu32 "}", r.ranges_more);
}

/* lun add|remove: the fault engine's insert and remove actions, so they mean
 * the same over the bus (FAULT_ADD) as in this process. */
static void cmd_lun(struct ctl_server *s, char **w, int n, struct tbuf *out)
{
    uint16_t t, l;
    bool add = n >= 2 && !strcmp(w[1], "add"), rm = n >= 2 && !strcmp(w[1], "remove");
    if ((!add && !rm) || n < 3 || !parse_drive(w[2], &t, &l) || (rm && n != 3) || n > 5)
        return answer_error(out, "lun: write lun add T:L [blocks=N] [block-size=512|4096] or lun remove T:L");
    char rule[200], err[400] = "";
    if (rm) {
        snprintf(rule, sizeof rule, "remove drive=%u:%u", t, l);
    } else {
        struct sim_lu_config dflt;
        sim_lu_config_init(&dflt, t, l);
        const char *blocks = NULL, *bs = NULL;
        for (int i = 3; i < n; i++) {
            if (!strncmp(w[i], "blocks=", 7) && !blocks)
                blocks = w[i];
            else if (!strncmp(w[i], "block-size=", 11) && !bs)
                bs = w[i];
            else
                return answer_error(out, "lun add: unexpected '%s'; it takes blocks=N and block-size=512|4096, "
                                         "once each", w[i]);
        }
        char dblocks[40];
        snprintf(dblocks, sizeof dblocks, "blocks=%" PRIu64, dflt.blocks);
        snprintf(rule, sizeof rule, "insert drive=%u:%u %s %s", t, l, blocks ? blocks : dblocks,
                 bs ? bs : "block-size=512");
    }
    int rc = s->ctl.ops->fault_add(s->ctl.impl, rule, err, sizeof err);
    if (rc < 0) {
        /* The rule's own column means nothing here: name the word instead. */
        const char *why = strncmp(err, "column ", 7) ? err : strstr(err, ": ");
        return answer_error(out, "lun %s: %s", w[1], why && why != err ? why + 2 : err[0] ? err : rc_text(rc));
    }
    tbuf_printf(out, "{\"ok\":true,\"drive\":\"%u:%u\"}", t, l);
}

_Static_assert(CTL_LINE_MAX == 4096 && CTL_CONNS_MAX == 32, "the messages name the limits");

#define MAX_WORDS 64

void ctl_server_execute(struct ctl_server *s, const char *line, struct tbuf *out)
{
    char buf[CTL_LINE_MAX + 1];
    size_t len = strlen(line);
    if (len > CTL_LINE_MAX)
        return answer_error(out, "a command is at most %u bytes", CTL_LINE_MAX);
    memcpy(buf, line, len + 1);
    char *w[MAX_WORDS];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_WORDS)
            return answer_error(out, "more than %d words in one command", MAX_WORDS);
        w[n++] = tok;
    }
    if (n == 0)
        return answer_error(out, "empty command; %s", help_text);
    const char *cmd = w[0];
    int rc;
    if (!strcmp(cmd, "help")) {
        tbuf_puts(out, "{\"ok\":true,\"help\":");
        json_str(out, help_text);
        tbuf_putc(out, '}');
    } else if (!strcmp(cmd, "inject")) {
        if (n < 2)
            return answer_error(out, "inject needs a rule, e.g. inject medium drive=0:0 lba=100 (docs/faults.md)");
        /* The rule is the rest of the line, words joined by one space. */
        char rule[CTL_LINE_MAX + 1] = "", err[400] = "";
        for (int i = 1; i < n; i++) {
            if (i > 1)
                strcat(rule, " ");
            strcat(rule, w[i]);
        }
        rc = s->ctl.ops->fault_add(s->ctl.impl, rule, err, sizeof err);
        if (rc < 0)
            return answer_error(out, "inject: %s", err[0] ? err : rc_text(rc));
        tbuf_puts(out, "{\"ok\":true}");
    } else if (!strcmp(cmd, "clear") && n == 1) {
        rc = s->ctl.ops->fault_clear(s->ctl.impl);
        if (rc < 0)
            return answer_error(out, "clear: %s", rc_text(rc));
        tbuf_puts(out, "{\"ok\":true}");
    } else if (!strcmp(cmd, "list") && n == 1) {
        struct tbuf j = { 0 };
        rc = s->ctl.ops->fault_list(s->ctl.impl, &j);
        if (rc < 0)
            answer_error(out, "list: %s", rc_text(rc));
        else
            tbuf_printf(out, "{\"ok\":true,\"rules\":%s}", j.len ? tbuf_str(&j) : "[]");
        tbuf_free(&j);
    } else if (!strcmp(cmd, "stats") && n == 1) {
        struct tbuf j = { 0 };
        rc = s->ctl.ops->stats(s->ctl.impl, &j);
        if (rc < 0)
            answer_error(out, "stats: %s", rc_text(rc));
        else
            tbuf_printf(out, "{\"ok\":true,\"stats\":%s}", tbuf_str(&j));
        tbuf_free(&j);
    } else if (!strcmp(cmd, "power-cut")) {
        cmd_power_cut(s, w, n, out);
    } else if (!strcmp(cmd, "power-on") && n == 1) {
        rc = s->ctl.ops->power_on(s->ctl.impl);
        if (rc < 0 && rc != -EALREADY)
            return answer_error(out, "power-on: %s", rc_text(rc));
        tbuf_printf(out, "{\"ok\":true,\"already\":%s}", rc == -EALREADY ? "true" : "false");
    } else if (!strcmp(cmd, "set")) {
        cmd_set(s, w, n, out);
    } else if (!strcmp(cmd, "check-media")) {
        cmd_check_media(s, w, n, out);
    } else if (!strcmp(cmd, "lun")) {
        cmd_lun(s, w, n, out);
    } else if (!strcmp(cmd, "clear") || !strcmp(cmd, "list") || !strcmp(cmd, "stats") || !strcmp(cmd, "power-on")) {
        answer_error(out, "%s takes no arguments", cmd);
    } else {
        answer_error(out, "unknown command '%s'; %s", cmd, help_text);
    }
}

/* ---- connections -------------------------------------------------------------- */

static void maybe_free(struct ctl_server *s)
{
    if (s->stopping && s->handles == 0)
        free(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct ctl_conn *c = h->data;
    struct ctl_server *s = c->s;
    for (struct ctl_conn **p = &s->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    free(c);
    s->nconns--;
    s->handles--;
    maybe_free(s);
}

static void conn_close(struct ctl_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

struct ctl_write {
    uv_write_t req;
    char *data;
};

static void on_written(uv_write_t *req, int status)
{
    struct ctl_write *wr = (struct ctl_write *)req;
    (void)status; /* a peer that went away: its close comes through the read side */
    free(wr->data);
    free(wr);
}

static void send_line(struct ctl_conn *c, struct tbuf *b)
{
    if (c->closing)
        return;
    tbuf_putc(b, '\n');
    struct ctl_write *wr = malloc(sizeof *wr);
    if (!wr || b->oom) {
        free(wr);
        conn_close(c);
        return;
    }
    wr->data = b->s; /* the write owns the text now */
    uv_buf_t ub = uv_buf_init(b->s, (unsigned)b->len);
    *b = (struct tbuf){ 0 };
    if (uv_write(&wr->req, (uv_stream_t *)&c->pipe, &ub, 1, on_written) < 0) {
        free(wr->data);
        free(wr);
        conn_close(c);
    }
}

static void refuse_and_close(struct ctl_conn *c, const char *msg)
{
    struct tbuf b = { 0 };
    answer_error(&b, "%s; closing the connection", msg);
    send_line(c, &b);
    tbuf_free(&b);
    conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct ctl_conn *c = h->data;
    /* Reads land straight in the line buffer; one byte is kept for the NUL. */
    buf->base = c->buf + c->len;
    buf->len = CTL_LINE_MAX - c->len;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct ctl_conn *c = st->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    size_t start = c->len;
    c->len += (size_t)nread;
    for (size_t i = start; i < c->len && !c->closing; i++) {
        unsigned char ch = (unsigned char)c->buf[i];
        if (ch == '\n') {
            c->buf[i] = '\0';
            struct tbuf out = { 0 };
            ctl_server_execute(c->s, c->buf, &out);
            send_line(c, &out);
            tbuf_free(&out);
            memmove(c->buf, c->buf + i + 1, c->len - i - 1);
            c->len -= i + 1;
            i = (size_t)-1; /* rescan from the start of what is left */
            continue;
        }
        if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch >= 0x7F) {
            char msg[120];
            snprintf(msg, sizeof msg, "byte 0x%02x at offset %zu of a command: commands are lines of printable ASCII",
                     ch, i);
            refuse_and_close(c, msg);
            return;
        }
    }
    if (!c->closing && c->len >= CTL_LINE_MAX)
        refuse_and_close(c, "a command line longer than " "4096" " bytes");
}

static bool peer_allowed(uv_pipe_t *p)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)p, &fd) < 0)
        return false;
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
        return false;
    return cred.uid == geteuid() || cred.uid == 0;
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct ctl_server *s = ls->data;
    if (status < 0 || s->stopping)
        return;
    struct ctl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->s = s;
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->pipe.data = c;
    s->handles++;
    s->nconns++;
    c->next = s->conns;
    s->conns = c;
    if (uv_accept(ls, (uv_stream_t *)&c->pipe) < 0) {
        conn_close(c);
        return;
    }
    if (!peer_allowed(&c->pipe)) {
        /* Another user (not root): the socket is 0600 already; this holds
         * even where the file mode was loosened. */
        refuse_and_close(c, "the peer is another user (neither this process's nor root)");
        return;
    }
    if (s->nconns > CTL_CONNS_MAX) {
        refuse_and_close(c, "too many control connections at once (" "32" "); close some");
        return;
    }
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* ---- the listening socket ---------------------------------------------------- */

static int bind_socket(int fd, const struct sockaddr_un *sa, char *err, size_t errlen)
{
    /* The socket inode's mode becomes the file's: 0600 from the start. */
    if (fchmod(fd, 0600) < 0) {
        errf(err, errlen, "fchmod of the control socket: %s", strerror(errno));
        return -errno;
    }
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
        return 0;
    if (errno != EADDRINUSE) {
        int e = errno;
        errf(err, errlen, "%s: cannot bind the control socket: %s", sa->sun_path, strerror(e));
        return -e;
    }
    struct stat st;
    if (lstat(sa->sun_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        errf(err, errlen, "%s exists and is not a socket; give another --ctl path", sa->sun_path);
        return -EEXIST;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        errf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    int rc = connect(probe, (const struct sockaddr *)sa, sizeof *sa);
    int e = errno;
    close(probe);
    if (rc == 0 || e != ECONNREFUSED) {
        errf(err, errlen, "%s: another process is listening there; give another --ctl path", sa->sun_path);
        return -EADDRINUSE;
    }
    if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
        errf(err, errlen, "%s: cannot remove the stale socket: %s", sa->sun_path, strerror(errno));
        return -errno;
    }
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        e = errno;
        errf(err, errlen, "%s: cannot bind the control socket: %s", sa->sun_path, strerror(e));
        return -e;
    }
    return 0;
}

static int start(uv_loop_t *loop, const char *path, struct ctrl_ctl ctl, struct ctl_server **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!path || !*path || strlen(path) >= sizeof sa.sun_path) {
        errf(err, errlen, "control socket path must be 1..%zu bytes long", sizeof sa.sun_path - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct ctl_server *s = calloc(1, sizeof *s);
    if (!s) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->loop = loop;
    s->ctl = ctl;
    memcpy(s->path, sa.sun_path, sizeof s->path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        errf(err, errlen, "socket: %s", strerror(errno));
        free(s);
        return -errno;
    }
    int rc = bind_socket(fd, &sa, err, errlen);
    if (rc < 0) {
        close(fd);
        free(s);
        return rc;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        s->sock_dev = st.st_dev;
        s->sock_ino = st.st_ino;
        if ((st.st_mode & 0077) && chmod(path, 0600) < 0) {
            errf(err, errlen, "%s: cannot make the control socket 0600: %s", path, strerror(errno));
            rc = -errno;
            goto fail_bound;
        }
    }
    uv_pipe_init(loop, &s->listen, 0);
    s->listen.data = s;
    s->handles = 1;
    if ((rc = uv_pipe_open(&s->listen, fd)) < 0 || (rc = uv_listen((uv_stream_t *)&s->listen, 8, on_connection)) < 0) {
        errf(err, errlen, "%s: cannot listen: %s", path, uv_strerror(rc));
        unlink(path);
        s->stopping = true;
        uv_close((uv_handle_t *)&s->listen, NULL);
        /* The handle is closed by the loop: the server stays allocated until
         * then; it is tiny and this is a start-up failure the command exits on. */
        return rc;
    }
    s->listening = true;
    *out = s;
    return 0;
fail_bound:
    unlink(path);
    close(fd);
    free(s);
    return rc;
}

int ctl_server_start_stack(uv_loop_t *loop, const char *path, struct stack *st, struct ctl_server **out, char *err,
                           size_t errlen)
{
    if (!loop || !st || !out)
        return -EINVAL;
    return start(loop, path, st->ctl, out, err, errlen);
}

int ctl_server_start_ctrl(uv_loop_t *loop, const char *path, struct sim_ctrl *c, struct ctl_server **out,
                          char *err, size_t errlen)
{
    if (!loop || !c || !out)
        return -EINVAL;
    return start(loop, path, ctrl_ctl_local(c), out, err, errlen);
}

static void on_listen_closed(uv_handle_t *h)
{
    struct ctl_server *s = h->data;
    s->handles--;
    maybe_free(s);
}

void ctl_server_stop(struct ctl_server *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = true;
    /* Remove the file only if it is still ours (not replaced by another server). */
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
        unlink(s->path);
    for (struct ctl_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&s->listen, on_listen_closed);
}
