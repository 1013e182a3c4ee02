/* tests/support/fw_harness.c — shared helpers of the firmware tests (see fw_harness.h). */
#include "tests/support/fw_harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fwh_config_init(struct sim_config *cfg, uint32_t max_targets, uint32_t max_luns)
{
    /* The real defaults, without the default drive: each test adds its own. */
    sim_config_init(cfg);
    sim_config_clear_lus(cfg);
    cfg->max_targets = max_targets;
    cfg->max_luns = max_luns;
    cfg->seed = 12345;
}

struct sim_lu_config *fwh_add_lu(struct sim_config *cfg, uint16_t target, uint16_t lun,
                                 uint64_t blocks, uint32_t block_size)
{
    /* Appends even when target:lun exists: some tests need an invalid duplicate. */
    struct sim_lu_config *lus = realloc(cfg->lus, (cfg->lu_count + 1) * sizeof(*lus));
    ck_assert_ptr_nonnull(lus);
    cfg->lus = lus;
    struct sim_lu_config *lu = &lus[cfg->lu_count++];
    sim_lu_config_init(lu, target, lun);
    lu->blocks = blocks;
    lu->block_size = block_size;
    strcpy(lu->product, "FWTEST");
    strcpy(lu->revision, "1.0");
    lu->cache_bytes = 1024 * 1024;
    return lu;
}

void fwh_config_free(struct sim_config *cfg)
{
    sim_config_free(cfg);
}

struct fw *fwh_create(const struct sim_config *cfg)
{
    struct fw *fw = NULL;
    char err[256] = "";
    int rc = fw_create(cfg, &fw, err, sizeof(err));
    ck_assert_msg(rc == 0, "fw_create: %d %s", rc, err);
    ck_assert_ptr_nonnull(fw);
    return fw;
}

struct fw *fwh_simple(uint64_t blocks)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 16, 8);
    fwh_add_lu(&cfg, 0, 0, blocks, 512);
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 1, 0, 0);
    return fw;
}

void fwh_run(struct fw *fw, struct fw_task *t, uint16_t initiator, uint16_t target, uint16_t lun,
             const uint8_t *cdb, uint8_t cdb_len, uint8_t dir, void *data, uint32_t len)
{
    memset(t, 0xA5, sizeof(*t));   /* outputs must all be written by the firmware */
    t->initiator = initiator;
    t->target_port = 0;            /* an input: the first port (multipath tests set their own) */
    t->target = target;
    t->lun = lun;
    t->cdb = cdb;
    t->cdb_len = cdb_len;
    t->dir = dir;
    t->data = data;
    t->data_len = len;
    t->host_data = NULL;           /* an input: no window into host memory (fwh_run_direct gives one) */
    fw_execute(fw, t);
}

void fwh_run0(struct fw *fw, struct fw_task *t, const uint8_t *cdb, uint8_t cdb_len, uint8_t dir,
              void *data, uint32_t len)
{
    fwh_run(fw, t, 0, 0, 0, cdb, cdb_len, dir, data, len);
}

static const char *describe(const struct fw_task *t, char *buf, size_t len)
{
    struct scsi_sense_info si;
    if (t->status == SCSI_STATUS_CHECK_CONDITION && scsi_sense_parse(t->sense, t->sense_len, &si)) {
        char asc[64];
        snprintf(buf, len, "ctrl %02x status %02x sense %x/%02x/%02x (%s) fp %s byte %u bit %d",
                 t->ctrl_status, t->status, si.key, si.asc, si.ascq,
                 scsi_asc_name(si.asc, si.ascq, asc, sizeof(asc)), si.fp.valid ? "valid" : "none",
                 si.fp.byte, si.fp.bit_valid ? si.fp.bit : -1);
    } else {
        snprintf(buf, len, "ctrl %02x status %02x sense_len %u", t->ctrl_status, t->status, t->sense_len);
    }
    return buf;
}

void fwh_expect_good(const struct fw_task *t)
{
    char d[256];
    ck_assert_msg(t->ctrl_status == HBA_CS_SUCCESS && t->status == SCSI_STATUS_GOOD && t->sense_len == 0,
                  "expected GOOD, got %s", describe(t, d, sizeof(d)));
}

struct scsi_sense_info fwh_sense(const struct fw_task *t)
{
    char d[256];
    struct scsi_sense_info si;
    ck_assert_msg(t->ctrl_status == HBA_CS_SUCCESS && t->status == SCSI_STATUS_CHECK_CONDITION,
                  "expected CHECK CONDITION, got %s", describe(t, d, sizeof(d)));
    ck_assert_msg(scsi_sense_parse(t->sense, t->sense_len, &si), "sense does not parse (%u bytes)", t->sense_len);
    return si;
}

void fwh_expect_sense(const struct fw_task *t, uint8_t key, uint8_t asc, uint8_t ascq)
{
    char d[256];
    struct scsi_sense_info si = fwh_sense(t);
    ck_assert_msg(si.key == key && si.asc == asc && si.ascq == ascq,
                  "expected sense %x/%02x/%02x, got %s", key, asc, ascq, describe(t, d, sizeof(d)));
}

static void expect_pointer(const struct fw_task *t, uint8_t asc, bool in_cdb, uint16_t byte, int bit)
{
    char d[256];
    fwh_expect_sense(t, SCSI_SK_ILLEGAL_REQUEST, asc, 0);
    struct scsi_sense_info si = fwh_sense(t);
    ck_assert_msg(si.fp.valid && si.fp.in_cdb == in_cdb && si.fp.byte == byte,
                  "expected field pointer %s byte %u, got %s", in_cdb ? "CDB" : "param", byte,
                  describe(t, d, sizeof(d)));
    if (bit < 0)
        ck_assert_msg(!si.fp.bit_valid, "expected no bit pointer, got %s", describe(t, d, sizeof(d)));
    else
        ck_assert_msg(si.fp.bit_valid && si.fp.bit == bit, "expected bit %d, got %s", bit,
                      describe(t, d, sizeof(d)));
}

void fwh_expect_invalid_cdb(const struct fw_task *t, uint16_t byte, int bit)
{
    expect_pointer(t, 0x24, true, byte, bit);
}

void fwh_expect_invalid_param(const struct fw_task *t, uint16_t byte, int bit)
{
    expect_pointer(t, 0x26, false, byte, bit);
}

void fwh_drain_ua(struct fw *fw, uint16_t initiator, uint16_t target, uint16_t lun)
{
    const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    struct fw_task t;
    for (int i = 0; i < 16; i++) {
        fwh_run(fw, &t, initiator, target, lun, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
        struct scsi_sense_info si;
        if (t.status != SCSI_STATUS_CHECK_CONDITION || !scsi_sense_parse(t.sense, t.sense_len, &si) ||
            si.key != SCSI_SK_UNIT_ATTENTION)
            return;
    }
    ck_abort_msg("unit attentions never drained");
}

void fwh_cdb_rw10(uint8_t *cdb, uint8_t opcode, uint32_t lba, uint16_t blocks, uint8_t flags)
{
    memset(cdb, 0, 10);
    cdb[0] = opcode;
    cdb[1] = flags;
    scsi_put_be32(cdb + 2, lba);
    scsi_put_be16(cdb + 7, blocks);
}

void fwh_cdb_rw16(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t blocks, uint8_t flags)
{
    memset(cdb, 0, 16);
    cdb[0] = opcode;
    cdb[1] = flags;
    scsi_put_be64(cdb + 2, lba);
    scsi_put_be32(cdb + 10, blocks);
}

bool fwh_caw_increment(struct fw *fw, uint16_t initiator)
{
    uint8_t caw[16], rd[10], buf[1024];
    fwh_cdb_rw10(rd, 0x28, 0, 1, 0);
    fwh_cdb_rw16(caw, 0x89, 0, 1, 0); /* COMPARE AND WRITE: one block, compared then written */
    struct fw_task t;
    fwh_run(fw, &t, initiator, 0, 0, rd, 10, HBA_FLAG_DIR_READ, buf, 512);
    if (t.status != SCSI_STATUS_GOOD)
        return false;
    memcpy(buf + 512, buf, 512);
    scsi_put_be32(buf + 512, scsi_get_be32(buf) + 1);
    fwh_run(fw, &t, initiator, 0, 0, caw, 16, HBA_FLAG_DIR_WRITE, buf, 1024);
    return t.status == SCSI_STATUS_GOOD;
}

void fwh_write(struct fw *fw, uint32_t lba, uint16_t blocks, const void *buf, uint32_t block_size, bool fua)
{
    uint8_t cdb[10];
    struct fw_task t;
    fwh_cdb_rw10(cdb, SCSI_OP_WRITE_10, lba, blocks, fua ? 0x08 : 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, (void *)buf, blocks * block_size);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, blocks * block_size);
}

void fwh_read(struct fw *fw, uint32_t lba, uint16_t blocks, void *buf, uint32_t block_size)
{
    uint8_t cdb[10];
    struct fw_task t;
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, lba, blocks, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, buf, blocks * block_size);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, blocks * block_size);
}
