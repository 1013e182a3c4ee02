/* tests/stack2_fixture.c — see tests/stack2_fixture.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/bus2_fixture.h"
#include "tests/stack2_fixture.h"
#include "tests/stack_fixture.h"
#include "tests/testutil.h"

const char *s2_name(int flavour)
{
    static const char *const names[] = { "in-process/interrupts", "in-process/polled", "two-process/interrupts",
                                         "two-process/polled" };
    return flavour >= 0 && flavour < S2_FLAVOURS ? names[flavour] : "?";
}

bool s2_two(int flavour)
{
    return flavour == S2_TWO_IRQ || flavour == S2_TWO_POLL;
}

bool s2_polled(int flavour)
{
    return flavour == S2_IN_POLL || flavour == S2_TWO_POLL;
}

void s2_config(struct sim_config *cfg, const char *media)
{
    sim_config_init(cfg);
    cfg->host_ram_bytes = 32u << 20;
    cfg->init_ms = 1;
    cfg->lus[0].blocks = S2_BLOCKS;
    if (media)
        cfg->lus[0].media_path = strdup(media);
}

void s2_options(struct stack_options *o, int flavour)
{
    stack_options_init(o);
    o->osal.name = s2_name(flavour);
    o->polled = s2_polled(flavour);
    if (s2_two(flavour)) {
        o->mode = STACK_TWO_PROCESS;
        o->spawn = true;
        o->scsisim_bin = b2_bin(); /* $SCSISIM_BIN, or the build's scsisim */
    }
}

struct stack *s2_open(int flavour, const struct sim_config *cfg, const struct stack_options *o)
{
    struct sim_config def;
    if (!cfg) {
        s2_config(&def, NULL);
        cfg = &def;
    }
    struct stack_options dopt;
    if (!o) {
        s2_options(&dopt, flavour);
        o = &dopt;
    }
    struct stack *st = NULL;
    char err[512] = "";
    int rc = stack_open(cfg, o, &st, err, sizeof(err));
    if (cfg == &def)
        sim_config_free(&def);
    ck_assert_msg(rc == 0, "stack_open (%s): %d: %s", s2_name(flavour), rc, err);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(stack_mode(st), s2_two(flavour) ? STACK_TWO_PROCESS : STACK_IN_PROCESS);
    ck_assert_msg(sf_clear_ua(st, 0, 0), "%s: 0:0 never became ready", s2_name(flavour));
    return st;
}

void s2_tmpdir(char *dir, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, len, "%s/scsisim-s2-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void s2_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int s2_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* not the directory stream's own fd */
}

bool s2_valgrind(void)
{
    const char *v = getenv("SCSISIM_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

unsigned s2_scale(unsigned n, unsigned small)
{
    return s2_valgrind() ? small : n;
}
