/* tests/support/proc.h — the one process helper of the tests: the scsisim
 * binary under test, child processes (start, wait with a limit, run to
 * completion collecting what they print), temporary folders, open file
 * descriptor counts and sleeping.  Failures of the helper itself (fork,
 * pipe, mkdtemp) are Check assertions; what a child does is returned. */
#ifndef TESTS_SUPPORT_PROC_H
#define TESTS_SUPPORT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The scsisim binary: $SCSISIM_BIN (the Makefile exports it), else
 * BUILD/scsisim next to the test's own BUILD/tests/ folder. */
const char *proc_scsisim_bin(void);

/* How proc_spawn / proc_run start a child. */
enum {
    PROC_PATH        = 1 << 0, /* look argv[0] up on $PATH (execvp) */
    PROC_DIE_WITH_US = 1 << 1, /* SIGKILL when the test process dies (PR_SET_PDEATHSIG) */
    PROC_MERGE       = 1 << 2, /* proc_run: stderr into the same text as stdout */
};

/* Starts argv (NULL-terminated) with stdin from /dev/null and stdout /
 * stderr on out_fd / err_fd (-1: /dev/null).  Returns the pid. */
pid_t proc_spawn(const char *const *argv, int out_fd, int err_fd, unsigned flags);
/* Waits for pid; timeout_ms < 0 waits for ever.  Returns the exit code,
 * 128 + the signal number when killed, -1 on timeout. */
int   proc_wait(pid_t pid, int timeout_ms);

struct proc_result {
    int   status; /* exit code, or 128 + signal number (also when killed at the time limit) */
    char *out;    /* standard output, NUL-terminated (malloc) */
    char *err;    /* standard error, NUL-terminated (malloc; "" with PROC_MERGE) */
};
/* Runs argv to completion, collecting its output; SIGKILL after timeout_ms
 * (< 0: no limit). */
void proc_run(const char *const *argv, unsigned flags, int timeout_ms, struct proc_result *r);
/* proc_run of `scsisim args...` (args without the program name), no limit. */
void proc_scsisim(const char *const *args, struct proc_result *r);
void proc_result_free(struct proc_result *r);

/* An interop tool (argv[0] looked up on $PATH): proc_run with stdout and
 * stderr together into *out (malloc), killed after timeout_s.  Returns its
 * exit code, 128 + signal when killed. */
int  proc_tool(const char *const *argv, int timeout_s, char **out);
/* Whether an executable named tool is on $PATH.  When it is not, the test
 * FAILS with "<test>: <tool> not installed: <hint>" (hint: "apt-get install
 * PKG"): a check that cannot run is never a quiet pass (issue 12); .ci/run
 * and mk/deps.sh install every tool the tests use.  Returns true otherwise. */
bool proc_tool_present(const char *test, const char *tool, const char *hint);

/* The build directory: the folder scsisim (proc_scsisim_bin) is in, "."
 * when its path has none. */
void proc_build_dir(char *dir, size_t len);

/* A fresh temporary folder $TMPDIR/scsisim-<tag>-XXXXXX (TMPDIR unset:
 * /tmp) into dir; proc_rmdir removes it with the files in it. */
void proc_tmpdir(char *dir, size_t len, const char *tag);
void proc_rmdir(const char *dir);

/* Open file descriptors of process pid (0: this one), from /proc. */
int  proc_count_fds(pid_t pid);
/* Waits up to timeout_ms for pid's count to become want (a process closes
 * descriptors on its own time); returns the last count. */
int  proc_settle_fds(pid_t pid, int want, int timeout_ms);
/* Sleeps ms milliseconds (resumed after signals). */
void proc_sleep_ms(unsigned ms);

#endif
