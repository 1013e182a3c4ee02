/* stack/stack_proc.c — the two-process half of the stack (stack/stack.h;
 * stack_proc_ops in stack/stack_internal.h): the controller process
 * (`scsisim controller`, started here when asked), the remote bus to it and
 * test control over it (ctrl_ctl_remote), and getting back on it after it
 * died.
 *
 * Starting a controller: the configuration is written to a private temporary
 * directory (sim_config_print) and `BIN controller --socket SOCK CONF` is
 * forked and executed; it is ready when it prints its "listening" line on the
 * pipe that is its stdout.  Its stderr is ours, so its complaints reach the
 * user.  It gets SIGKILL when its parent thread ends (PR_SET_PDEATHSIG: a
 * controller must never outlive its host unnoticed), so every start happens
 * on the stack's own thread, which lives until the controller is stopped:
 * a caller's short-lived thread would otherwise take the controller with it.
 *
 * Reconnecting: bus_remote_reconnect re-attaches the same struct bus in place
 * (host RAM at the same address, mappings replayed by the bus client from
 * its record), osal_user_set_bus re-binds the interrupt sources to the new
 * eventfds, drv_core_recover brings the controller up.  The automatic
 * variant runs on the same thread, woken by the bus's dead handler (an
 * eventfd write, all a dead handler may do); it restarts a controller it
 * spawned, then does the same, retrying until it succeeds or the stack
 * closes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack/stack_internal.h"
#include "base/clock.h"
#include "base/errf.h"
#include "platform/bus_client.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define STOP_GRACE_MS              5000    /* SIGTERM, then this long before SIGKILL */
#define RETRY_MS                   10      /* between connection attempts */
#define AUTO_RETRY_MS              200     /* between automatic reconnection rounds */

struct stack_proc {
    pthread_mutex_t lock;        /* process start / kill and reconnection, one at a time */
    bool spawn;
    char dir[PATH_MAX - 64];     /* private temporary directory, "" if none */
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char conf[PATH_MAX];         /* the spawned controller's configuration file */
    char bin[PATH_MAX];
    _Atomic pid_t pid;           /* the spawned controller, 0 when none runs (changed under
                                    lock, read without it by stack_controller_pid) */
    bool respawned;              /* started again since the bus last attached */
    int out_fd;                  /* read end of its stdout while it runs, else -1 */
    uint64_t ram_bytes;
    uint32_t timeout_ms;
    /* the stack's thread: starts controllers, reconnects automatically */
    bool autorc;                 /* automatic reconnection asked for */
    bool watching;               /* ... and armed (the core runs; not closing) */
    bool threaded;
    pthread_t thread;
    int dead_fd;                 /* eventfd: the bus died */
    int wake_fd;                 /* eventfd: a request, or the thread must end */
    pthread_mutex_t req_lock;    /* the request below */
    pthread_cond_t req_cv;
    bool req_spawn, req_done, req_stop;
    int req_rc;
    char req_err[512];
};

static int spawn_on_thread(struct stack_proc *p, char *err, size_t errlen);
static int start_thread(struct stack *st, char *err, size_t errlen);

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- the controller process ----------------------------------------------- */

/* The scsisim program: o->scsisim_bin, $SCSISIM_BIN, or "scsisim" on $PATH.
 * Resolved here so the child only has to exec. */
static int find_bin(struct stack_proc *p, const char *want, char *err, size_t errlen)
{
    if (!want || !*want)
        want = getenv("SCSISIM_BIN");
    if (!want || !*want)
        want = "scsisim";
    if (strchr(want, '/')) {
        if (access(want, X_OK) < 0) {
            int e = errno;
            errf(err, errlen, "cannot run the controller program %s: %s", want, strerror(e));
            return -e;
        }
        snprintf(p->bin, sizeof(p->bin), "%s", want);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        int len = snprintf(p->bin, sizeof(p->bin), "%.*s/%s", (int)n, path, want);
        if (n && len > 0 && (size_t)len < sizeof(p->bin) && access(p->bin, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    p->bin[0] = '\0';
    errf(err, errlen,
         "cannot find the %s program in $PATH to start the controller: set "
         "stack_options.scsisim_bin or $SCSISIM_BIN",
         want);
    return -ENOENT;
}

static void close_out(struct stack_proc *p)
{
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->out_fd = -1;
}

/* Reaps the controller: waits for it when block, else only if it ended.
 * True when it is gone (*status set when st != NULL). */
static bool reap(struct stack_proc *p, bool block, int *status)
{
    if (p->pid <= 0)
        return true;
    int s = 0;
    pid_t r;
    do
        r = waitpid(p->pid, &s, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return false;
    /* r < 0 (ECHILD): someone else reaped it; it is gone either way. */
    p->pid = 0;
    close_out(p);
    if (status)
        *status = r < 0 ? -1 : s;
    return true;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (status < 0)
        snprintf(buf, len, "ended");
    else if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d%s", WEXITSTATUS(status),
                 WEXITSTATUS(status) == 127 ? " (could not execute it)" : "");
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended (status %#x)", status);
}

/* Waits for the "listening" line on the controller's stdout. */
static int await_listening(struct stack_proc *p, char *err, size_t errlen)
{
    char line[512];
    size_t got = 0;
    uint64_t deadline = clock_now_ms() + p->timeout_ms;
    for (;;) {
        uint64_t now = clock_now_ms();
        if (now >= deadline) {
            kill(p->pid, SIGKILL);
            reap(p, true, NULL);
            errf(err, errlen, "the controller (%s) did not listen on %s within %u ms", p->bin, p->sock,
                 p->timeout_ms);
            return -ETIMEDOUT;
        }
        struct pollfd pf = { .fd = p->out_fd, .events = POLLIN };
        int n = poll(&pf, 1, (int)(deadline - now));
        if (n < 0 && errno != EINTR) {
            int e = errno;
            errf(err, errlen, "waiting for the controller: %s", strerror(e));
            return -e;
        }
        if (n <= 0)
            continue;
        ssize_t r = read(p->out_fd, line + got, sizeof(line) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int status = 0;
            reap(p, true, &status);
            char how[96];
            describe_exit(status, how, sizeof(how));
            errf(err, errlen,
                 "the controller (%s controller --socket %s %s) %s before it listened; its "
                 "messages are above",
                 p->bin, p->sock, p->conf, how);
            return -ECHILD;
        }
        got += (size_t)r;
        line[got] = '\0';
        if (strchr(line, '\n'))
            break;
        if (got == sizeof(line) - 1)
            break;
    }
    if (!strstr(line, "listening on ")) {
        kill(p->pid, SIGKILL);
        reap(p, true, NULL);
        errf(err, errlen, "the controller said \"%.*s\" instead of listening", (int)strcspn(line, "\n"), line);
        return -EPROTO;
    }
    return 0;
}

static int spawn_controller(struct stack_proc *p, char *err, size_t errlen)
{
    if (p->pid > 0)
        return -EALREADY;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        int e = errno;
        errf(err, errlen, "pipe: %s", strerror(e));
        return -e;
    }
    char *const argv[] = { p->bin, "controller", "--socket", p->sock, p->conf, NULL };
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        errf(err, errlen, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec.  The mask
         * is the forking thread's (ours blocks everything): the controller
         * must get its SIGTERM. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        if (pipefd[1] == STDOUT_FILENO)
            fcntl(STDOUT_FILENO, F_SETFD, 0);
        else if (dup2(pipefd[1], STDOUT_FILENO) < 0)
            _exit(126);
        execv(p->bin, argv);
        _exit(127);
    }
    close(pipefd[1]);
    p->pid = pid;
    p->out_fd = pipefd[0];
    p->respawned = true;
    return await_listening(p, err, errlen);
}

/* SIGTERM (the controller flushes and removes its socket), SIGKILL if it
 * takes too long. */
static void stop_controller(struct stack_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    uint64_t deadline = clock_now_ms() + STOP_GRACE_MS;
    while (!reap(p, false, NULL)) {
        if (clock_now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            reap(p, true, NULL);
            break;
        }
        sleep_ms(1);
    }
}

static int make_dir(struct stack_proc *p, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(p->dir, sizeof(p->dir), "%s/scsisim-stack-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof(p->dir) || !mkdtemp(p->dir)) {
        int e = n < 0 || (size_t)n >= sizeof(p->dir) ? ENAMETOOLONG : errno;
        p->dir[0] = '\0';
        errf(err, errlen, "cannot make a temporary directory in %s: %s", tmp, strerror(e));
        return -e;
    }
    return 0;
}

static int write_config(struct stack_proc *p, const struct sim_config *cfg, char *err, size_t errlen)
{
    snprintf(p->conf, sizeof(p->conf), "%s/controller.conf", p->dir);
    FILE *f = fopen(p->conf, "w");
    if (!f) {
        int e = errno;
        errf(err, errlen, "cannot write %s: %s", p->conf, strerror(e));
        return -e;
    }
    int rc = sim_config_print(cfg, f);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        errf(err, errlen, "cannot write %s: %s", p->conf, strerror(-rc));
        return rc;
    }
    return 0;
}

/* ---- the bus -------------------------------------------------------------- */

static bool worth_retrying(int rc)
{
    return rc == -ENOENT || rc == -ECONNREFUSED || rc == -EAGAIN || rc == -ECONNRESET;
}

/* Retries while nobody listens yet, up to the timeout.  connect: a new bus
 * into st->bus; else st->bus re-attached in place. */
static int attach_bus(struct stack *st, bool connect, char *err, size_t errlen)
{
    struct stack_proc *p = st->proc;
    uint64_t deadline = clock_now_ms() + p->timeout_ms;
    for (;;) {
        char why[256] = "";
        int rc = connect ? bus_remote_connect(p->sock, -1, p->ram_bytes, &st->bus, why, sizeof(why))
                         : bus_remote_reconnect(st->bus, NULL, why, sizeof(why));
        if (rc == 0)
            return 0;
        bool alive = !p->spawn || !reap(p, false, NULL);
        if (!worth_retrying(rc) || !alive || clock_now_ms() >= deadline) {
            errf(err, errlen, "cannot attach to the controller: %s%s", why,
                 alive ? "" : " (the controller process ended)");
            return rc;
        }
        sleep_ms(RETRY_MS);
    }
}

/* The bus's dead handler: may only note the fact. */
static void on_bus_dead(void *arg, struct bus *b)
{
    (void)b;
    struct stack_proc *p = arg;
    uint64_t one = 1;
    if (write(p->dead_fd, &one, sizeof(one)) < 0) {
        /* saturated: already noted */
    }
}

static int stack_proc_open(struct stack *st, const struct sim_config *cfg, const struct stack_options *o,
                           char *err, size_t errlen)
{
    struct stack_proc *p = calloc(1, sizeof(*p));
    if (!p) {
        errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->req_lock, NULL);
    pthread_cond_init(&p->req_cv, NULL);
    p->out_fd = p->dead_fd = p->wake_fd = -1;
    p->spawn = o->spawn;
    p->autorc = o->auto_reconnect;
    p->timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    st->proc = p;
    if (cfg) {
        p->ram_bytes = cfg->host_ram_bytes;
    } else {
        struct sim_config def;
        sim_config_init(&def);
        p->ram_bytes = def.host_ram_bytes;
        sim_config_free(&def);
    }
    if (p->spawn && !cfg) {
        errf(err, errlen, "starting the controller needs its configuration");
        return -EINVAL;
    }
    if (!p->spawn && (!o->socket_path || !*o->socket_path)) {
        errf(err, errlen, "two-process mode needs the controller's socket path (or spawn = true to start one)");
        return -EINVAL;
    }
    int rc;
    if (p->spawn) {
        if ((rc = find_bin(p, o->scsisim_bin, err, errlen)) < 0 || (rc = make_dir(p, err, errlen)) < 0 ||
            (rc = write_config(p, cfg, err, errlen)) < 0)
            return rc;
    }
    const char *sock = o->socket_path && *o->socket_path ? o->socket_path : NULL;
    int n = sock ? snprintf(p->sock, sizeof(p->sock), "%s", sock)
                 : snprintf(p->sock, sizeof(p->sock), "%s/ctrl.sock", p->dir);
    if (n < 0 || (size_t)n >= sizeof(p->sock)) {
        errf(err, errlen, "the socket path %s%s is longer than %zu bytes", sock ? sock : p->dir,
             sock ? "" : "/ctrl.sock", sizeof(p->sock) - 1);
        return -ENAMETOOLONG;
    }
    p->dead_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->dead_fd < 0) {
        int e = errno;
        errf(err, errlen, "eventfd: %s", strerror(e));
        return -e;
    }
    if ((p->spawn || p->autorc) && (rc = start_thread(st, err, errlen)) < 0)
        return rc;
    if (p->spawn && (rc = spawn_on_thread(p, err, errlen)) < 0)
        return rc;
    if ((rc = attach_bus(st, true, err, errlen)) < 0)
        return rc;
    p->respawned = false;
    bus_set_dead_handler(st->bus, on_bus_dead, p);
    /* Re-attached in place on reconnection: the interface stays valid. */
    st->ctl = ctrl_ctl_remote(st->bus);
    return 0;
}

/* ---- reconnection --------------------------------------------------------- */

static int reconnect_locked(struct stack *st, char *err, size_t errlen)
{
    struct stack_proc *p = st->proc;
    for (int attempt = 0;; attempt++) {
        /* Only a bus whose controller died or was replaced is re-attached:
         * with the same live one the core is merely to be recovered (after
         * a power cut, say). */
        if (bus_is_dead(st->bus) || p->respawned) {
            int rc = attach_bus(st, false, err, errlen);
            if (rc < 0)
                return rc;
            p->respawned = false;
            uint64_t junk;
            if (read(p->dead_fd, &junk, sizeof(junk)) < 0) {
                /* nothing pending */
            }
            rc = osal_user_set_bus(st->os, st->bus);
            if (rc < 0) {
                errf(err, errlen, "moving the OS layer onto the new controller: %s", strerror(-rc));
                return rc;
            }
        }
        int rc = st->ops->recover(st->core);
        if (rc == 0)
            break;
        /* An external controller killed a moment ago: the bus's monitor may
         * have seen the hang-up only now.  Once more, re-attaching. */
        if (attempt == 0 && bus_is_dead(st->bus))
            continue;
        errf(err, errlen, "the driver could not bring the controller up: %s", strerror(-rc));
        return rc;
    }
    atomic_fetch_add(&st->reconnects, 1);
    return 0;
}

static int stack_proc_reconnect(struct stack *st, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->proc->lock);
    int rc = reconnect_locked(st, err, errlen);
    pthread_mutex_unlock(&st->proc->lock);
    return rc;
}

static int stack_proc_kill(struct stack *st)
{
    struct stack_proc *p = st->proc;
    if (!p || !p->spawn)
        return -ENOTSUP;
    pthread_mutex_lock(&p->lock);
    int rc = 0;
    if (p->pid <= 0 || reap(p, false, NULL)) {
        rc = -ESRCH;
    } else {
        kill(p->pid, SIGKILL);
        reap(p, true, NULL);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int stack_proc_start(struct stack *st, char *err, size_t errlen)
{
    struct stack_proc *p = st->proc;
    if (!p || !p->spawn) {
        errf(err, errlen, "the stack did not start this controller");
        return -ENOTSUP;
    }
    pthread_mutex_lock(&p->lock);
    reap(p, false, NULL);
    int rc;
    if (p->pid > 0) {
        errf(err, errlen, "the controller runs (pid %d)", (int)p->pid);
        rc = -EALREADY;
    } else {
        rc = spawn_on_thread(p, err, errlen);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static pid_t stack_proc_pid(const struct stack *st)
{
    const struct stack_proc *p = st->proc;
    return p && p->spawn ? p->pid : 0;
}

/* ---- the stack's thread -------------------------------------------------- */

static void wake(struct stack_proc *p)
{
    uint64_t one = 1;
    if (write(p->wake_fd, &one, sizeof(one)) < 0) {
        /* saturated: already woken */
    }
}

static void drain(int fd)
{
    uint64_t junk;
    if (read(fd, &junk, sizeof(junk)) < 0) {
        /* nothing pending */
    }
}

/* Has the thread start the controller, and waits for the outcome.  The
 * caller holds p->lock (or is stack_proc_open, alone). */
static int spawn_on_thread(struct stack_proc *p, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->req_lock);
    p->req_spawn = true;
    p->req_done = false;
    pthread_mutex_unlock(&p->req_lock);
    wake(p);
    pthread_mutex_lock(&p->req_lock);
    while (!p->req_done)
        pthread_cond_wait(&p->req_cv, &p->req_lock);
    int rc = p->req_rc;
    if (rc < 0)
        errf(err, errlen, "%s", p->req_err);
    pthread_mutex_unlock(&p->req_lock);
    return rc;
}

/* One round of automatic reconnection.  p->lock is only tried: a caller of
 * stack_start_controller may hold it while it waits for this thread.
 * Returns whether the death is repaired (or nothing is to be done). */
static bool repair(struct stack *st)
{
    struct stack_proc *p = st->proc;
    if (pthread_mutex_trylock(&p->lock) != 0)
        return false;
    if (!p->watching) {
        pthread_mutex_unlock(&p->lock);
        return true;
    }
    char err[512] = "";
    int rc = 0;
    if (p->spawn && !reap(p, false, NULL) && bus_is_dead(st->bus)) {
        /* The socket hung up but the process lingers: finish it. */
        kill(p->pid, SIGKILL);
        reap(p, true, NULL);
    }
    if (p->spawn && p->pid <= 0)
        rc = spawn_controller(p, err, sizeof(err));
    if (rc == 0)
        rc = reconnect_locked(st, err, sizeof(err));
    pthread_mutex_unlock(&p->lock);
    if (rc < 0) {
        osal_log(st->os, OSAL_LOG_WARN, "stack: reconnecting to the controller at %s: %s (trying again)", p->sock,
                 err);
        return false;
    }
    osal_log(st->os, OSAL_LOG_INFO, "stack: reconnected to the controller at %s", p->sock);
    return true;
}

static void *thread_main(void *arg)
{
    struct stack *st = arg;
    struct stack_proc *p = st->proc;
    bool pending = false; /* a controller death not repaired yet */
    for (;;) {
        struct pollfd pf[2] = { { .fd = p->wake_fd, .events = POLLIN }, { .fd = p->dead_fd, .events = POLLIN } };
        int n = poll(pf, p->autorc ? 2 : 1, pending ? AUTO_RETRY_MS : -1);
        if (n > 0 && (pf[0].revents & POLLIN))
            drain(p->wake_fd);
        pthread_mutex_lock(&p->req_lock);
        if (p->req_spawn) {
            p->req_err[0] = '\0';
            p->req_rc = spawn_controller(p, p->req_err, sizeof(p->req_err));
            p->req_spawn = false;
            p->req_done = true;
            pthread_cond_broadcast(&p->req_cv);
        }
        bool stop = p->req_stop;
        pthread_mutex_unlock(&p->req_lock);
        if (stop)
            break;
        if (!p->autorc)
            continue;
        if (n > 0 && (pf[1].revents & POLLIN)) {
            drain(p->dead_fd);
            pending = true;
        }
        if (pending)
            pending = !repair(st);
    }
    return NULL;
}

static int start_thread(struct stack *st, char *err, size_t errlen)
{
    struct stack_proc *p = st->proc;
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0) {
        int e = errno;
        errf(err, errlen, "eventfd: %s", strerror(e));
        return -e;
    }
    /* The thread takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, thread_main, st);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        errf(err, errlen, "cannot start the stack's thread: %s", strerror(rc));
        return -rc;
    }
    p->threaded = true;
    return 0;
}

static void stop_thread(struct stack_proc *p)
{
    if (!p->threaded)
        return;
    pthread_mutex_lock(&p->req_lock);
    p->req_stop = true;
    pthread_mutex_unlock(&p->req_lock);
    wake(p);
    pthread_join(p->thread, NULL);
    p->threaded = false;
}

static int stack_proc_start_watch(struct stack *st, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct stack_proc *p = st->proc;
    if (!p || !p->autorc)
        return 0;
    pthread_mutex_lock(&p->lock);
    p->watching = true;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void stack_proc_stop_watch(struct stack *st)
{
    struct stack_proc *p = st->proc;
    if (!p)
        return;
    /* Waits for a reconnection in progress; none starts after this. */
    pthread_mutex_lock(&p->lock);
    p->watching = false;
    pthread_mutex_unlock(&p->lock);
}

/* ---- closing ----------------------------------------------------------------- */

static void remove_dir(struct stack_proc *p)
{
    if (!p->dir[0])
        return;
    if (p->conf[0])
        unlink(p->conf);
    char sock[sizeof(p->dir) + 16];
    snprintf(sock, sizeof(sock), "%s/ctrl.sock", p->dir);
    unlink(sock); /* left by a controller that was killed */
    rmdir(p->dir);
}

static void stack_proc_close(struct stack *st)
{
    struct stack_proc *p = st->proc;
    if (!p)
        return;
    stack_proc_stop_watch(st);
    /* The host going away first: the controller shuts down in order.  Then
     * it is stopped, and only then its parent thread may end. */
    bus_detach(st->bus);
    st->bus = NULL;
    stop_controller(p);
    stop_thread(p);
    remove_dir(p);
    if (p->dead_fd >= 0)
        close(p->dead_fd);
    if (p->wake_fd >= 0)
        close(p->wake_fd);
    pthread_cond_destroy(&p->req_cv);
    pthread_mutex_destroy(&p->req_lock);
    pthread_mutex_destroy(&p->lock);
    free(p);
    st->proc = NULL;
}

const struct stack_mode_ops stack_proc_ops = {
    .open = stack_proc_open,
    .start_watch = stack_proc_start_watch,
    .stop_watch = stack_proc_stop_watch,
    .close = stack_proc_close,
    .reconnect = stack_proc_reconnect,
    .kill = stack_proc_kill,
    .start = stack_proc_start,
    .pid = stack_proc_pid,
};
