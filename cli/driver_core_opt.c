/* cli/driver_core_opt.c — choosing the driver core from the command line
 * (see cli/driver_core_opt.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/driver_core_opt.h"
#include "cli/run_files.h"
#include "sim/config/config.h"
#include "stack/driver_core.h"
#include "stack/stack.h"

int cli_driver_core_use(const char *cmd, const char *path)
{
    const char *from = "--driver-core";
    if (!path || !path[0]) {
        path = getenv(CLI_DRIVER_CORE_ENV);
        from = "$" CLI_DRIVER_CORE_ENV;
        if (!path || !path[0])
            return CLI_EXIT_OK;
    }
    const struct scsisim_driver_core *core = NULL;
    char err[1024];
    if (stack_driver_core_load(path, &core, err, sizeof err) < 0) {
        fprintf(stderr, "scsisim %s: %s: %s\n", cmd, from, err);
        return CLI_EXIT_USAGE;
    }
    stack_driver_core_set_default(core, path);
    return CLI_EXIT_OK;
}

char *cli_mutant_core_path(const char *name)
{
    char *dir = run_files_exe_dir();
    size_t len = (dir ? strlen(dir) : 1) + strlen(name) + 32;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/mutants/core-%s.so", dir ? dir : ".", name);
    free(dir);
    return p;
}

/* In a child: the core may crash or hang while it starts, and that too is
 * an error about the core, not a dead scsisim. */
static int preflight_child(const char *cmd, const char *path)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    struct stack_options so;
    stack_options_init(&so);
    so.osal.log_level = OSAL_LOG_ERROR;
    so.osal.name = "preflight";
    struct stack *st = NULL;
    char err[512] = "";
    int rc = stack_open(&cfg, &so, &st, err, sizeof err);
    sim_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "scsisim %s: --driver-core %s: the core failed to start on the default controller: %s\n",
                cmd, path, err);
        return rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
    }
    stack_close(st);
    return CLI_EXIT_OK;
}

#define PREFLIGHT_TIMEOUT_S 30

int cli_driver_core_preflight(const char *cmd)
{
    const char *path = stack_driver_core_default_path();
    if (!path)
        return CLI_EXIT_OK; /* the built-in core */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return preflight_child(cmd, path); /* no child to be had: in this process */
    if (pid == 0)
        _exit(preflight_child(cmd, path));
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 10) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return CLI_EXIT_INTERNAL;
        if (waited_ms >= PREFLIGHT_TIMEOUT_S * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "scsisim %s: --driver-core %s: the core did not start within %d s (hung in create "
                    "or start)\n", cmd, path, PREFLIGHT_TIMEOUT_S);
            return CLI_EXIT_USAGE;
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "scsisim %s: --driver-core %s: the core crashed while starting (signal %d, %s)\n", cmd,
                path, WTERMSIG(status), strsignal(WTERMSIG(status)));
        return CLI_EXIT_USAGE;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : CLI_EXIT_INTERNAL;
}
