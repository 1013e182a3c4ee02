/* tests/cli_exec.h — run the built scsisim binary from a test and capture what
 * it printed and how it exited. */
#ifndef TESTS_CLI_EXEC_H
#define TESTS_CLI_EXEC_H

/* The scsisim binary: $SCSISIM_BIN (the Makefile exports it), else BUILD/scsisim
 * next to the test's BUILD/tests/ folder. */
const char *cli_exec_bin(void);

struct cli_exec_result {
    int   status;  /* exit code, or 128 + signal number */
    char *out;     /* standard output, NUL-terminated (malloc) */
    char *err;     /* standard error, NUL-terminated (malloc) */
};
/* Runs `scsisim args...` (args NULL-terminated, without the program name) with
 * stdin from /dev/null and waits for it.  Fails the test on a system error. */
void cli_exec(const char *const *args, struct cli_exec_result *r);
void cli_exec_free(struct cli_exec_result *r);

#endif
