/* tests/support/stack_fixture.c — see stack_fixture.h. */
#include "tests/support/stack_fixture.h"

#include <stdlib.h>
#include <string.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"
#include "tests/support/testutil.h"

/* The one open path of both flavour sets: opens, asserts success and the
 * mode asked for.  Clearing the unit attention is the caller's last step. */
static struct stack *open_checked(const struct sim_config *cfg, const struct stack_options *o, const char *name)
{
    struct stack *st = NULL;
    char err[512] = "";
    int rc = stack_open(cfg, o, &st, err, sizeof(err));
    ck_assert_msg(rc == 0, "stack_open (%s): %d: %s", name, rc, err);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(stack_mode(st), o->mode);
    return st;
}

/* ---- in one process ------------------------------------------------------ */

const char *sf_flavour_name(enum sf_flavour f)
{
    static const char *const names[SF_FLAVOURS] = { "interrupts", "polled", "high-iova", "scattered" };
    return (unsigned)f < SF_FLAVOURS ? names[f] : "?";
}

void sf_config(struct sim_config *cfg)
{
    sim_config_init(cfg);
    cfg->host_ram_bytes = 64u << 20;
    cfg->init_ms = 1;
    cfg->lus[0].blocks = SF_BLOCKS;
}

struct stack *sf_open(enum sf_flavour f, const struct sim_config *cfg)
{
    struct sim_config def;
    if (!cfg) {
        sf_config(&def);
        cfg = &def;
    }
    struct stack_options o;
    stack_options_init(&o);
    o.osal.name = sf_flavour_name(f);
    o.polled = f == SF_POLLED;
    if (f == SF_HIGH_IOVA)
        o.osal.iova_base = 0x100000000ull;
    o.osal.scatter = f == SF_SCATTERED; /* queue memory too: the core must cope */
    struct stack *st = open_checked(cfg, &o, sf_flavour_name(f));
    if (cfg == &def)
        sim_config_free(&def);
    /* Data mappings in page-sized pieces; the queues (mapped at bring-up)
     * stay in one piece. */
    if (f == SF_HIGH_IOVA)
        osal_user_set_scatter(stack_osal(st), true);
    ck_assert_msg(sf_clear_ua(st, 0, 0), "0:0 never became ready");
    return st;
}

/* ---- one process or two -------------------------------------------------- */

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
    if (media) {
        /* DIR/NAME: NAME under the media directory DIR (docs/config.md "Media files"). */
        const char *slash = strrchr(media, '/');
        ck_assert_ptr_nonnull(slash);
        cfg->media_dir = strndup(media, (size_t)(slash - media));
        cfg->lus[0].media_path = strdup(slash + 1);
    }
}

void s2_options(struct stack_options *o, int flavour)
{
    stack_options_init(o);
    o->osal.name = s2_name(flavour);
    o->polled = s2_polled(flavour);
    if (s2_two(flavour)) {
        o->mode = STACK_TWO_PROCESS;
        o->spawn = true;
        o->scsisim_bin = proc_scsisim_bin(); /* $SCSISIM_BIN, or the build's scsisim */
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
    struct stack *st = open_checked(cfg, o, s2_name(flavour));
    if (cfg == &def)
        sim_config_free(&def);
    ck_assert_msg(sf_clear_ua(st, 0, 0), "%s: 0:0 never became ready", s2_name(flavour));
    return st;
}

/* ---- commands ------------------------------------------------------------ */

void sf_exec(struct stack *st, const uint8_t *cdb, uint8_t cdb_len, enum drv_dir dir, void *buf, uint64_t len,
             struct drv_completion *c)
{
    int rc = stack_exec(st, 0, 0, cdb, cdb_len, dir, buf, len, c);
    ck_assert_msg(rc == 0, "stack_exec of opcode %02xh: %d", cdb[0], rc);
    ck_assert_msg(c->response == DRV_SR_TASK_COMPLETE, "opcode %02xh: service response %d, controller status %u",
                  cdb[0], c->response, c->ctrl_status);
}

bool sf_clear_ua(struct stack *st, uint16_t target, uint16_t lun)
{
    uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    for (int i = 0; i < 16; i++) {
        struct drv_completion c;
        if (stack_exec(st, target, lun, tur, 6, DRV_DIR_NONE, NULL, 0, &c) < 0)
            return false;
        if (c.response == DRV_SR_TASK_COMPLETE && c.scsi_status == SCSI_STATUS_GOOD)
            return true;
    }
    return false;
}

uint32_t sf_sense(const struct drv_completion *c)
{
    struct scsi_sense_info si;
    if (!c->sense_len || !scsi_sense_parse(c->sense, c->sense_len, &si))
        return 0;
    return (uint32_t)si.key << 16 | (uint32_t)si.asc << 8 | si.ascq;
}

void sf_cdb_rw10(uint8_t cdb[10], bool write, uint32_t lba, uint16_t blocks)
{
    memset(cdb, 0, 10);
    cdb[0] = write ? SCSI_OP_WRITE_10 : SCSI_OP_READ_10;
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, blocks);
}

void sf_fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9) * 3);
}

struct drv_completion sf_write10_seeded(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed)
{
    size_t n = (size_t)blocks * S2_BLOCK;
    uint8_t *p = malloc(n), cdb[10];
    ck_assert_ptr_nonnull(p);
    sf_fill(p, n, seed);
    sf_cdb_rw10(cdb, true, lba, blocks);
    struct drv_completion c;
    sf_exec(st, cdb, 10, DRV_DIR_FROM_INITIATOR, p, n, &c);
    free(p);
    return c;
}

bool sf_read10_matches(struct stack *st, uint32_t lba, uint16_t blocks, unsigned seed)
{
    size_t n = (size_t)blocks * S2_BLOCK;
    uint8_t *want = malloc(n), *got = calloc(1, n), cdb[10];
    ck_assert(want && got);
    sf_fill(want, n, seed);
    sf_cdb_rw10(cdb, false, lba, blocks);
    struct drv_completion c;
    sf_exec(st, cdb, 10, DRV_DIR_FROM_TARGET, got, n, &c);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
    bool same = memcmp(got, want, n) == 0;
    free(want);
    free(got);
    return same;
}
