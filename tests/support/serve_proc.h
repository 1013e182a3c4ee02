/* tests/support/serve_proc.h — `scsisim serve` as a child process for the
 * interop tests, which run the interop tools (iscsi-inq, qemu-io,
 * iscsi-test-cu, ...) against it with proc_tool (tests/support/proc.h).
 *
 * The server listens on 127.0.0.1 port 0 (a free port) and prints the URL of
 * each LUN when ready; serve_start waits for the first one (a bounded wait)
 * and remembers it.  No SCSI vocabulary here: tests that use libiscsi include
 * this header. */
#ifndef TESTS_SUPPORT_SERVE_PROC_H
#define TESTS_SUPPORT_SERVE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct serve_proc {
    pid_t pid;
    char url[512];       /* iscsi://127.0.0.1:PORT/IQN/0 */
    char portal[64];     /* 127.0.0.1:PORT */
    char iqn[256];
    int port;
    int out_fd;          /* the rest of its stdout */
    char err_path[64];   /* its stderr, in a temporary file */
};

/* Starts `scsisim serve --listen 127.0.0.1:0 args...` (args NULL-terminated)
 * and waits up to 20 s for its first URL.  Fails the test if it does not come. */
void serve_start(struct serve_proc *p, const char *const *args);
/* The next URL line serve printed (another LUN, or the same LUN through the
 * next --listen portal), into out; fails the test if none comes in 20 s. */
void serve_next_url(struct serve_proc *p, char *out, size_t cap);
/* Sends sig (SIGTERM, SIGINT) and waits up to 20 s; returns the exit code
 * (128 + signal when killed).  Frees what serve_start made. */
int  serve_stop(struct serve_proc *p, int sig);
/* What it wrote on stderr so far (malloc, NUL-terminated). */
char *serve_stderr(const struct serve_proc *p);

/* The "tests" row of the run summary iscsi-test-cu (CUnit) printed in out:
 * total, ran, passed, failed into v; false when there is none. */
bool serve_cu_summary(const char *out, unsigned v[4]);

#endif
