/* tests/support/bus_twoproc_fixture.c — controller processes for the
 * two-process bus tests (see bus_twoproc_fixture.h). */
#include "tests/support/bus_twoproc_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/testutil.h"

void b2_init(struct b2_proc *p)
{
    memset(p, 0, sizeof(*p));
    proc_tmpdir(p->dir, sizeof(p->dir), "bus-twoproc");
    snprintf(p->sock, sizeof(p->sock), "%s/ctrl.sock", p->dir);
    snprintf(p->media, sizeof(p->media), "%s/ld0.img", p->dir);
}

static void free_args(struct b2_proc *p)
{
    for (int i = 0; i < B2_MAX_ARGS; i++) {
        free(p->args[i]);
        p->args[i] = NULL;
    }
}

void b2_restart(struct b2_proc *p)
{
    ck_assert_int_eq(p->pid, 0);
    const char *argv[B2_MAX_ARGS + 7];
    int n = 0;
    argv[n++] = proc_scsisim_bin();
    argv[n++] = "controller";
    argv[n++] = "--socket";
    argv[n++] = p->sock;
    argv[n++] = "--media-dir"; /* media=ld0.img is p->media */
    argv[n++] = p->dir;
    for (int i = 0; i < B2_MAX_ARGS && p->args[i]; i++)
        argv[n++] = p->args[i];
    argv[n] = NULL;
    int pipefd[2];
    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    p->pid = proc_spawn(argv, pipefd[1], STDERR_FILENO, PROC_DIE_WITH_US); /* its stderr: the test log */
    close(pipefd[1]);
    /* Wait for the ready line (or the controller's exit). */
    char line[256];
    size_t got = 0;
    for (;;) {
        struct pollfd pf = { .fd = pipefd[0], .events = POLLIN };
        int rc = poll(&pf, 1, HH_TIMEOUT_MS);
        ck_assert_msg(rc > 0, "controller did not say it listens within %d ms", HH_TIMEOUT_MS);
        ssize_t n_read = read(pipefd[0], line + got, sizeof(line) - 1 - got);
        ck_assert_msg(n_read > 0, "controller exited before listening (%s)", proc_scsisim_bin());
        got += (size_t)n_read;
        line[got] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    close(pipefd[0]);
    char want[200];
    snprintf(want, sizeof(want), "scsisim controller: listening on %s\n", p->sock);
    ck_assert_str_eq(line, want);
}

void b2_start(struct b2_proc *p, const char *const *args)
{
    free_args(p);
    for (int i = 0; args && args[i]; i++) {
        ck_assert_int_lt(i, B2_MAX_ARGS - 1);
        p->args[i] = strdup(args[i]);
    }
    b2_restart(p);
}

void b2_kill(struct b2_proc *p)
{
    ck_assert_int_gt(p->pid, 0);
    kill(p->pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(p->pid, &status, 0), p->pid);
    ck_assert(WIFSIGNALED(status));
    p->pid = 0;
}

int b2_stop(struct b2_proc *p)
{
    ck_assert_int_gt(p->pid, 0);
    kill(p->pid, SIGTERM);
    int status;
    ck_assert_int_eq(waitpid(p->pid, &status, 0), p->pid);
    p->pid = 0;
    ck_assert_msg(WIFEXITED(status), "controller did not exit normally (status %#x)", status);
    return WEXITSTATUS(status);
}

void b2_fini(struct b2_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    free_args(p);
    proc_rmdir(p->dir);
}

int b2_run(const char *const *args)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = proc_scsisim_bin();
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int rc = proc_wait(proc_spawn(argv, -1, -1, PROC_DIE_WITH_US), -1);
    ck_assert_msg(rc >= 0 && rc < 128, "scsisim %s: killed (%d)", args[0], rc);
    return rc;
}

/* ---- the harness over the remote bus -------------------------------------- */

void b2_attach(struct hh *h, const struct b2_proc *p)
{
    memset(h, 0, sizeof(*h));
    char err[256] = "";
    int rc = bus_remote_connect(p->sock, -1, B2_RAM_BYTES, &h->bus, err, sizeof(err));
    ck_assert_msg(rc == 0, "bus_remote_connect: %d %s", rc, err);
    h->ram = bus_ram(h->bus);
    h->ram_size = bus_ram_size(h->bus);
}

int b2_tur(struct hh *h, uint16_t target, uint16_t lun)
{
    uint8_t cdb[6] = { 0 };
    struct hba_cq_entry c;
    int status = -1;
    for (int i = 0; i < 4; i++) {
        struct hba_sq_entry e = hh_scsi_entry(target, lun, cdb, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
        ck_assert_int_eq(hh_scsi(h, 1, &e, &c), HBA_CS_SUCCESS);
        status = c.scsi_status;
        if (status == 0)
            break;
    }
    return status;
}

void b2_bringup(struct hh *h)
{
    hh_forget_queues(h);
    ck_assert(hh_wait_state(h, HBA_STATE_READY));
    ck_assert(hh_enable(h, 32));
    ck_assert_int_eq(hh_create_pair(h, 1, 64, 1, 0), 0);
    ck_assert_int_eq(b2_tur(h, 0, 0), 0);
}

static int wait_cmd(struct hh *h, struct hba_sq_entry *e)
{
    struct hba_cq_entry c;
    int cs = hh_scsi(h, 1, e, &c);
    return cs << 8 | c.scsi_status;
}

int b2_rw(struct hh *h, bool write, uint32_t lba, uint16_t n, const struct hh_buf *buf)
{
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, write, lba, n);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, write ? HBA_FLAG_DIR_WRITE : HBA_FLAG_DIR_READ,
                                          (uint32_t)n * 512u, hh_sge(buf->iova, (uint32_t)n * 512u, HBA_SGE_DATA));
    return wait_cmd(h, &e);
}

int b2_sync(struct hh *h)
{
    uint8_t cdb[10] = { 0x35 };
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
    return wait_cmd(h, &e);
}

bool b2_wait_dead(struct bus *b)
{
    TESTUTIL_WAIT_FOR(bus_is_dead(b));
    return bus_is_dead(b);
}
