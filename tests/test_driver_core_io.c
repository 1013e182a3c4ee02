/* tests/test_driver_core_io.c — the driver core against the real controller:
 * bring-up and constraints, every SCSI command the firmware implements through
 * the full path (interrupt-driven and polled), data integrity, split and
 * bounce at the HBA's limits, rejections, sense, and async events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core_internal.h"
#include "scsi/scsi.h"
#include "tests/support/drv_fixture.h"
#include "tests/support/proc.h"
#include "tests/support/testutil.h"

#define KiB 1024u

static struct drvfx fx;

/* _i: 0 interrupt-driven, 1 polled */
static void open_mode(int polled)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 2, 2);
    struct drv_core_options o = { .polled = polled != 0, .io_queues = 2 };
    drvfx_open(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);
}

START_TEST(bring_up_reports_constraints)
{
    open_mode(_i);
    struct drv_constraints c;
    drv_core_constraints(fx.core, &c);
    ck_assert_uint_eq(c.max_segment_count, 128);
    ck_assert_uint_eq(c.max_byte_count, 512 * KiB);
    ck_assert_uint_eq(c.addressable_bits, 64);
    ck_assert_uint_eq(c.max_targets, 16);
    ck_assert_uint_eq(c.max_luns, 8);
    ck_assert_uint_eq(c.max_outstanding, 2 * 255);
    struct hba_identify_ctrl id;
    drv_core_identity(fx.core, &id);
    ck_assert_mem_eq(id.vendor, "SCSISIM", 7);
    ck_assert_uint_eq(id.drive_count, 4);
    ck_assert_uint_eq(osal_reg_read32(fx.os, HBA_REG_STATUS) & HBA_STATUS_RDY, HBA_STATUS_RDY);
    drvfx_close(&fx);
}
END_TEST


static void good(uint16_t t, uint16_t l, const uint8_t *cdb, uint8_t len, enum drv_dir dir, void *buf, uint64_t n,
                 struct drv_completion *c, const char *what)
{
    drvfx_exec_past_ua(&fx, t, l, cdb, len, dir, buf, n, c);
    drvfx_expect_good(c, what);
}

static void expect_sense(const struct drv_completion *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
    uint8_t k, a, q;
    drvfx_sense(c, &k, &a, &q);
    ck_assert_msg(k == key && a == asc && q == ascq, "sense %x/%02x/%02x, expected %x/%02x/%02x", k, a, q, key, asc,
                  ascq);
}

/* Every command of docs/controller.md 19.1 once, checking what it returns. */
START_TEST(every_scsi_command)
{
    open_mode(_i);
    struct drv_completion c;
    uint8_t buf[4096], cdb[16];

    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    good(0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c, "TEST UNIT READY");

    uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    good(0, 0, inq, 6, DRV_DIR_FROM_TARGET, buf, 96, &c, "INQUIRY");
    ck_assert_uint_eq(c.bytes_transferred, 96);
    ck_assert_uint_eq(buf[0], 0);
    ck_assert_mem_eq(buf + 8, "SCSISIM", 7);
    static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2 };
    for (size_t i = 0; i < sizeof pages; i++) {
        uint8_t vpd[6] = { SCSI_OP_INQUIRY, 1, pages[i], 0, 255, 0 };
        memset(buf, 0xEE, 255);
        good(0, 0, vpd, 6, DRV_DIR_FROM_TARGET, buf, 255, &c, "INQUIRY VPD");
        ck_assert_uint_eq(buf[1], pages[i]);
        ck_assert_uint_ge(c.bytes_transferred, 4);
    }

    uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    good(0, 0, rs, 6, DRV_DIR_FROM_TARGET, buf, 252, &c, "REQUEST SENSE");
    ck_assert_uint_ge(c.bytes_transferred, 8);

    uint8_t rl[12] = { SCSI_OP_REPORT_LUNS };
    scsi_put_be32(rl + 6, 256);
    good(0, 0, rl, 12, DRV_DIR_FROM_TARGET, buf, 256, &c, "REPORT LUNS");
    ck_assert_uint_eq(scsi_get_be32(buf), 16); /* two LUNs */
    ck_assert_uint_eq(c.bytes_transferred, 24);

    uint8_t rc10[10] = { SCSI_OP_READ_CAPACITY_10 };
    good(0, 1, rc10, 10, DRV_DIR_FROM_TARGET, buf, 8, &c, "READ CAPACITY(10)");
    ck_assert_uint_eq(scsi_get_be32(buf), 64u * 1024 * 1024 / 512 - 1);
    ck_assert_uint_eq(scsi_get_be32(buf + 4), 512);
    uint8_t rc16[16] = { SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    scsi_put_be32(rc16 + 10, 32);
    good(0, 1, rc16, 16, DRV_DIR_FROM_TARGET, buf, 32, &c, "READ CAPACITY(16)");
    ck_assert_uint_eq(scsi_get_be64(buf), 64u * 1024 * 1024 / 512 - 1);

    /* Writes and reads of every size, each read checked against its write. */
    static const uint8_t sizes[4][2] = { { SCSI_OP_WRITE_6, SCSI_OP_READ_6 }, { SCSI_OP_WRITE_10, SCSI_OP_READ_10 },
                                         { SCSI_OP_WRITE_12, SCSI_OP_READ_12 }, { SCSI_OP_WRITE_16, SCSI_OP_READ_16 } };
    static const uint8_t lens[4] = { 6, 10, 12, 16 };
    uint8_t back[4096];
    for (int k = 0; k < 4; k++) {
        uint32_t lba = 100u + 8u * (uint32_t)k;
        drvfx_pattern(buf, lba, 8, (uint32_t)k + 1);
        for (int rw = 0; rw < 2; rw++) {
            memset(cdb, 0, sizeof cdb);
            cdb[0] = sizes[k][rw];
            if (lens[k] == 6) {
                scsi_put_be24(cdb + 1, lba);
                cdb[4] = 8;
            } else if (lens[k] == 10) {
                scsi_put_be32(cdb + 2, lba);
                scsi_put_be16(cdb + 7, 8);
                cdb[1] = rw == 0 ? 0x08 : 0; /* FUA on the write */
            } else if (lens[k] == 12) {
                scsi_put_be32(cdb + 2, lba);
                scsi_put_be32(cdb + 6, 8);
            } else {
                scsi_put_be64(cdb + 2, lba);
                scsi_put_be32(cdb + 10, 8);
            }
            if (rw == 0) {
                good(0, 1, cdb, lens[k], DRV_DIR_FROM_INITIATOR, buf, 4096, &c, "WRITE");
            } else {
                memset(back, 0, sizeof back);
                good(0, 1, cdb, lens[k], DRV_DIR_FROM_TARGET, back, 4096, &c, "READ");
                ck_assert_mem_eq(back, buf, 4096);
            }
            ck_assert_uint_eq(c.bytes_transferred, 4096);
        }
    }

    /* VERIFY: medium check, then byte compare equal and unequal. */
    uint8_t v10[10] = { SCSI_OP_VERIFY_10 };
    scsi_put_be32(v10 + 2, 100);
    scsi_put_be16(v10 + 7, 8);
    good(0, 1, v10, 10, DRV_DIR_NONE, NULL, 0, &c, "VERIFY(10)");
    uint8_t v16[16] = { SCSI_OP_VERIFY_16, 0x02 }; /* BYTCHK 1 */
    scsi_put_be64(v16 + 2, 124);
    scsi_put_be32(v16 + 10, 8);
    drvfx_pattern(buf, 124, 8, 4);
    good(0, 1, v16, 16, DRV_DIR_FROM_INITIATOR, buf, 4096, &c, "VERIFY(16) BYTCHK");
    buf[700] ^= 1;
    drvfx_exec(&fx, 0, 1, v16, 16, DRV_DIR_FROM_INITIATOR, buf, 4096, &c);
    expect_sense(&c, SCSI_SK_MISCOMPARE, 0x1D, 0x00);

    uint8_t sc10[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 }, sc16[16] = { SCSI_OP_SYNCHRONIZE_CACHE_16 };
    good(0, 1, sc10, 10, DRV_DIR_NONE, NULL, 0, &c, "SYNCHRONIZE CACHE(10)");
    good(0, 1, sc16, 16, DRV_DIR_NONE, NULL, 0, &c, "SYNCHRONIZE CACHE(16)");

    /* MODE SENSE: the caching page says the cache is on; MODE SELECT turns it off and on. */
    uint8_t ms6[6] = { SCSI_OP_MODE_SENSE_6, 0x08, SCSI_MODE_PAGE_CACHING, 0, 255, 0 };
    good(0, 1, ms6, 6, DRV_DIR_FROM_TARGET, buf, 255, &c, "MODE SENSE(6)");
    ck_assert_uint_eq(buf[4] & 0x3F, SCSI_MODE_PAGE_CACHING);
    ck_assert_uint_eq(buf[4 + 2] & 0x04, 0x04); /* WCE */
    uint8_t plen = (uint8_t)(2 + buf[5]);
    uint8_t sel[64] = { 0 };
    memcpy(sel + 4, buf + 4, plen);
    sel[4] &= 0x3F;
    sel[4 + 2] &= (uint8_t)~0x04;
    uint8_t msel6[6] = { SCSI_OP_MODE_SELECT_6, 0x10, 0, 0, (uint8_t)(4 + plen), 0 };
    good(0, 1, msel6, 6, DRV_DIR_FROM_INITIATOR, sel, 4u + plen, &c, "MODE SELECT(6)");
    uint8_t ms10[10] = { SCSI_OP_MODE_SENSE_10, 0x08, SCSI_MODE_PAGE_ALL };
    scsi_put_be16(ms10 + 7, 1024);
    good(0, 1, ms10, 10, DRV_DIR_FROM_TARGET, buf, 1024, &c, "MODE SENSE(10)");
    long at = cdb_mode_caching_page(ms10, buf, c.bytes_transferred);
    ck_assert_int_ge(at, 8);
    ck_assert_uint_eq(buf[at + 2] & 0x04, 0);
    uint8_t sel10[64] = { 0 };
    memcpy(sel10 + 8, buf + at, plen);
    sel10[8] &= 0x3F;
    sel10[8 + 2] |= 0x04;
    uint8_t msel10[10] = { SCSI_OP_MODE_SELECT_10, 0x10 };
    scsi_put_be16(msel10 + 7, (uint16_t)(8 + plen));
    good(0, 1, msel10, 10, DRV_DIR_FROM_INITIATOR, sel10, 8u + plen, &c, "MODE SELECT(10)");
    good(0, 1, ms6, 6, DRV_DIR_FROM_TARGET, buf, 255, &c, "MODE SENSE(6) again");
    ck_assert_uint_eq(buf[4 + 2] & 0x04, 0x04);

    /* START STOP UNIT: stopped means NOT READY until started. */
    uint8_t stop[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x00, 0 };
    uint8_t start[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x01, 0 };
    good(0, 1, stop, 6, DRV_DIR_NONE, NULL, 0, &c, "STOP");
    drvfx_exec(&fx, 0, 1, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    expect_sense(&c, SCSI_SK_NOT_READY, 0x04, 0x02);
    good(0, 1, start, 6, DRV_DIR_NONE, NULL, 0, &c, "START");
    good(0, 1, tur, 6, DRV_DIR_NONE, NULL, 0, &c, "TEST UNIT READY after START");

    uint8_t diag[6] = { SCSI_OP_SEND_DIAGNOSTIC, 0x04 }; /* SELFTEST */
    good(0, 1, diag, 6, DRV_DIR_NONE, NULL, 0, &c, "SEND DIAGNOSTIC");

    uint8_t rsoc[12] = { SCSI_OP_MAINTENANCE_IN, 0x0C };
    scsi_put_be32(rsoc + 6, 4096);
    good(0, 1, rsoc, 12, DRV_DIR_FROM_TARGET, buf, 4096, &c, "REPORT SUPPORTED OPERATION CODES");
    ck_assert_uint_eq(scsi_get_be32(buf) + 4, c.bytes_transferred);
    ck_assert_uint_ge(c.bytes_transferred, 4 + 8 * 20);

    /* Refusals: an unknown opcode, a LUN without a drive, a target without any. */
    uint8_t vendor[6] = { 0xC0 };
    drvfx_exec(&fx, 0, 1, vendor, 6, DRV_DIR_NONE, NULL, 0, &c);
    expect_sense(&c, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    drvfx_exec(&fx, 0, 5, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    expect_sense(&c, SCSI_SK_ILLEGAL_REQUEST, 0x25, 0x00);
    drvfx_exec(&fx, 0, 5, inq, 6, DRV_DIR_FROM_TARGET, buf, 96, &c);
    drvfx_expect_good(&c, "INQUIRY of an empty LUN");
    ck_assert_uint_eq(buf[0], 0x7F); /* qualifier 011b, type 1Fh */
    drvfx_exec(&fx, 9, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert_int_eq(c.response, DRV_SR_SERVICE_DELIVERY_FAILURE);
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_INVALID_TARGET);
    drvfx_exec(&fx, 16, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c); /* beyond CAP_TARGETS */
    ck_assert_uint_eq(c.ctrl_status, HBA_CS_INVALID_TARGET);

    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.tasks, st.completed);
    ck_assert_uint_eq(st.split_tasks + st.bounced_tasks + st.timeouts + st.controller_resets, 0);
    ck_assert_uint_eq(st.stray_completions, 0);
    drvfx_close(&fx);
}
END_TEST

/* A task whose data sits in many pieces of one buffer, each `skew` bytes into
 * its own run of whole pages. */
static int run_pieces_at(uint16_t lun, const uint8_t *cdb, uint8_t len, enum drv_dir dir, uint8_t *data,
                         uint32_t npieces, uint32_t piece_len, uint32_t skew, struct drv_completion *c)
{
    uint64_t stride = ((uint64_t)skew + piece_len + 4095) / 4096 * 4096;
    struct osal_dma_buffer *dma;
    ck_assert_int_eq(osal_dma_alloc(fx.os, npieces * stride, 4096, &dma), 0);
    struct drv_buffer_piece *p = calloc(npieces, sizeof *p);
    uint8_t *host = dma->vaddr;
    for (uint32_t i = 0; i < npieces; i++) {
        p[i] = (struct drv_buffer_piece){ .buf = dma, .offset = i * stride + skew, .length = piece_len };
        if (dir == DRV_DIR_FROM_INITIATOR)
            memcpy(host + p[i].offset, data + (size_t)i * piece_len, piece_len);
    }
    struct drv_task t;
    memset(&t, 0, sizeof t);
    t.task_id = 77;
    t.lun = lun;
    memcpy(t.cdb, cdb, len);
    t.cdb_len = len;
    t.dir = dir;
    t.requested_transfer = (uint64_t)npieces * piece_len;
    t.pieces = p;
    t.piece_count = npieces;
    int rc = drv_core_run_task(fx.core, &t, c);
    if (rc == 0 && dir == DRV_DIR_FROM_TARGET)
        for (uint32_t i = 0; i < npieces; i++)
            memcpy(data + (size_t)i * piece_len, host + p[i].offset, piece_len);
    free(p);
    osal_dma_free(fx.os, dma);
    return rc;
}

static int run_pieces(uint16_t lun, const uint8_t *cdb, uint8_t len, enum drv_dir dir, uint8_t *data, uint32_t npieces,
                      uint32_t piece_len, struct drv_completion *c)
{
    return run_pieces_at(lun, cdb, len, dir, data, npieces, piece_len, 0, c);
}

START_TEST(more_segments_than_the_hba_takes_bounce)
{
    open_mode(_i);
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    uint8_t *data = malloc(129 * 512), *back = malloc(129 * 512);
    drvfx_pattern(data, 1000, 129, 9);
    uint8_t cdb[10];
    /* 128 pieces: an SGL list of 128, no bounce. */
    drvfx_rw10(cdb, true, 1000, 128);
    ck_assert_int_eq(run_pieces(0, cdb, 10, DRV_DIR_FROM_INITIATOR, data, 128, 512, &c), 0);
    drvfx_expect_good(&c, "WRITE of 128 pieces");
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.bounced_tasks, 0);
    /* 129 pieces: bounced, in both directions, and the data survives. */
    drvfx_rw10(cdb, true, 1000, 129);
    ck_assert_int_eq(run_pieces(0, cdb, 10, DRV_DIR_FROM_INITIATOR, data, 129, 512, &c), 0);
    drvfx_expect_good(&c, "WRITE of 129 pieces");
    ck_assert_uint_eq(c.bytes_transferred, 129 * 512);
    drvfx_rw10(cdb, false, 1000, 129);
    memset(back, 0, 129 * 512);
    ck_assert_int_eq(run_pieces(0, cdb, 10, DRV_DIR_FROM_TARGET, back, 129, 512, &c), 0);
    drvfx_expect_good(&c, "READ of 129 pieces");
    ck_assert_mem_eq(back, data, 129 * 512);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.bounced_tasks, 2);
    /* 129 pieces that continue each other in one buffer are one mapping: no bounce. */
    drvfx_rw10(cdb, false, 1000, 129);
    memset(back, 0, 129 * 512);
    ck_assert_int_eq(run_pieces_at(0, cdb, 10, DRV_DIR_FROM_TARGET, back, 129, 512, 0, &c), 0);
    ck_assert_mem_eq(back, data, 129 * 512);
    struct osal_dma_buffer *one;
    ck_assert_int_eq(osal_dma_alloc(fx.os, 129 * 512, 4096, &one), 0);
    struct drv_buffer_piece adjacent[129];
    for (int i = 0; i < 129; i++)
        adjacent[i] = (struct drv_buffer_piece){ one, (uint64_t)i * 512, 512 };
    struct drv_task t;
    memset(&t, 0, sizeof t);
    drvfx_rw10(t.cdb, false, 1000, 129);
    t.cdb_len = 10;
    t.dir = DRV_DIR_FROM_TARGET;
    t.requested_transfer = 129 * 512;
    t.pieces = adjacent;
    t.piece_count = 129;
    ck_assert_int_eq(drv_core_run_task(fx.core, &t, &c), 0);
    drvfx_expect_good(&c, "READ into 129 adjacent pieces");
    ck_assert_mem_eq(one->vaddr, data, 129 * 512);
    osal_dma_free(fx.os, one);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.bounced_tasks, 3);
    /* Read back through 128 pieces (no bounce) to be sure what the bounced write stored. */
    drvfx_rw10(cdb, false, 1000, 128);
    memset(back, 0, 129 * 512);
    ck_assert_int_eq(run_pieces(0, cdb, 10, DRV_DIR_FROM_TARGET, back, 128, 512, &c), 0);
    ck_assert_mem_eq(back, data, 128 * 512);
    free(data);
    free(back);
    drvfx_close(&fx);
}
END_TEST

START_TEST(long_transfers_split_at_the_max_transfer)
{
    open_mode(_i);
    struct drv_completion c;
    const uint32_t max_blocks = 512 * KiB / 512;
    uint32_t blocks = 2 * max_blocks + 1; /* 1 MiB + 512 */
    uint8_t *data = malloc((size_t)blocks * 512), *back = malloc((size_t)blocks * 512);
    drvfx_pattern(data, 5000, blocks, 3);
    uint8_t cdb[16];
    struct drv_core_stats st0, st;
    drvfx_rw16(cdb, false, 0, 1);
    drvfx_exec_past_ua(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, back, 512, &c);
    drv_core_get_stats(fx.core, &st0);

    /* Exactly the max: one command. */
    drvfx_rw16(cdb, true, 5000, max_blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_INITIATOR, data, 512 * KiB, &c);
    drvfx_expect_good(&c, "WRITE of 512 KiB");
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.commands - st0.commands, 1);
    ck_assert_uint_eq(st.split_tasks, 0);

    /* 1 MiB + one block: three commands, one completion with every byte. */
    cdb[1] = 0x08; /* FUA rides along on every piece */
    drvfx_rw16(cdb, true, 5000, blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_INITIATOR, data, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "split WRITE(16)");
    ck_assert_uint_eq(c.bytes_transferred, (uint64_t)blocks * 512);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.split_tasks, 1);
    ck_assert_uint_eq(st.commands - st0.commands, 1 + 3);

    uint8_t r10[10];
    drvfx_rw10(r10, false, 5000, (uint16_t)blocks);
    memset(back, 0, (size_t)blocks * 512);
    drvfx_exec(&fx, 0, 0, r10, 10, DRV_DIR_FROM_TARGET, back, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "split READ(10)");
    ck_assert_uint_eq(c.bytes_transferred, (uint64_t)blocks * 512);
    ck_assert_mem_eq(back, data, (size_t)blocks * 512);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.split_tasks, 2);

    /* A split READ that runs past the end of the medium transfers nothing
     * (SBC-4: LBA OUT OF RANGE ends the command before any data moves): its
     * chunks go together, and the refused one makes the task report none. */
    uint64_t last = 64u * 1024 * 1024 / 512;
    drvfx_rw16(cdb, false, last - max_blocks, 2 * max_blocks);
    drv_core_get_stats(fx.core, &st0);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, back, (uint64_t)2 * max_blocks * 512, &c);
    expect_sense(&c, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    ck_assert_uint_eq(c.bytes_transferred, 0);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.commands - st0.commands, 2);

    /* The same for a WRITE, where the in-range part of the medium must be
     * left untouched: the chunk holding the last block goes first, alone,
     * and the core stops there. */
    uint8_t *probe = malloc(512 * KiB);
    ck_assert_ptr_nonnull(probe);
    drvfx_rw16(cdb, false, last - max_blocks, max_blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, back, (uint64_t)max_blocks * 512, &c);
    drvfx_expect_good(&c, "READ(16) before the out-of-range WRITE");
    memset(probe, 0x5a, 512 * KiB);
    drvfx_rw16(cdb, true, last - max_blocks, 2 * max_blocks);
    uint8_t *big = malloc((size_t)2 * max_blocks * 512);
    ck_assert_ptr_nonnull(big);
    memset(big, 0x5a, (size_t)2 * max_blocks * 512);
    drv_core_get_stats(fx.core, &st0);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_INITIATOR, big, (uint64_t)2 * max_blocks * 512, &c);
    expect_sense(&c, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    ck_assert_uint_eq(c.bytes_transferred, 0);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.commands - st0.commands, 1);
    drvfx_rw16(cdb, false, last - max_blocks, max_blocks);
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_TARGET, probe, (uint64_t)max_blocks * 512, &c);
    drvfx_expect_good(&c, "READ(16) after the out-of-range WRITE");
    ck_assert_mem_eq(probe, back, (size_t)max_blocks * 512);
    free(big);
    free(probe);
    free(data);
    free(back);
    drvfx_close(&fx);
}
END_TEST

START_TEST(what_cannot_be_split_is_rejected)
{
    open_mode(_i);
    struct drv_completion c;
    uint8_t *buf = calloc(1, 1024 * KiB);
    /* VERIFY with byte compare is not a READ/WRITE: longer than the max, it is refused unsent. */
    uint8_t v16[16] = { SCSI_OP_VERIFY_16, 0x02 };
    scsi_put_be32(v16 + 10, 2048);
    drvfx_exec(&fx, 0, 0, v16, 16, DRV_DIR_FROM_INITIATOR, buf, 1024 * KiB, &c);
    ck_assert_int_eq(c.response, DRV_SR_FUNCTION_REJECTED);
    ck_assert_uint_eq(c.bytes_transferred, 0);
    /* A READ whose byte count does not divide into its blocks cannot be split either. */
    uint8_t r10[10];
    drvfx_rw10(r10, false, 0, 3);
    drvfx_exec(&fx, 0, 0, r10, 10, DRV_DIR_FROM_TARGET, buf, 1024 * KiB, &c);
    ck_assert_int_eq(c.response, DRV_SR_FUNCTION_REJECTED);
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.rejected_tasks, 2);
    ck_assert_uint_eq(st.commands, 0);
    free(buf);
    drvfx_close(&fx);
}
END_TEST

static void count_done(void *arg, const struct drv_completion *c)
{
    (void)c;
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
}

START_TEST(bad_tasks_are_not_accepted)
{
    open_mode(_i);
    struct osal_dma_buffer *dma;
    ck_assert_int_eq(osal_dma_alloc(fx.os, 8192, 4096, &dma), 0);
    struct drv_buffer_piece p[2] = { { dma, 0, 4096 }, { dma, 4096, 0 } };
    struct drv_task t;
    memset(&t, 0, sizeof t);
    drvfx_rw10(t.cdb, false, 0, 8);
    t.cdb_len = 10;
    t.dir = DRV_DIR_FROM_TARGET;
    t.requested_transfer = 4096;
    t.pieces = p;
    t.piece_count = 2;
    int calls = 0;
    ck_assert_int_eq(drv_core_process_task(fx.core, &t, count_done, &calls), -EINVAL);
    t.piece_count = 1;
    t.requested_transfer = 8192;
    ck_assert_int_eq(drv_core_process_task(fx.core, &t, count_done, &calls), -EINVAL);
    ck_assert_int_eq(drv_core_process_task(fx.core, NULL, count_done, &calls), -EINVAL);
    ck_assert_int_eq(drv_core_process_task(fx.core, &t, NULL, NULL), -EINVAL);
    ck_assert_int_eq(calls, 0);
    osal_dma_free(fx.os, dma);
    drvfx_close(&fx);
}
END_TEST

/* Many tasks at once on several queues: each completes once, with its own data. */
struct many {
    int done;
    int good;
};

static void many_done(void *arg, const struct drv_completion *c)
{
    struct many *m = arg;
    if (c->response == DRV_SR_TASK_COMPLETE && c->scsi_status == SCSI_STATUS_GOOD && c->bytes_transferred == 4096)
        __atomic_fetch_add(&m->good, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&m->done, 1, __ATOMIC_SEQ_CST);
}

START_TEST(many_tasks_in_flight)
{
    open_mode(_i);
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    for (uint16_t l = 0; l < 2; l++)
        drvfx_exec_past_ua(&fx, 1, l, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    enum { N = 600 }; /* more than the queues hold (some wait for slots) and than the core's
                         preallocated tasks (core_io_pool.c: the rest are allocated) */
    struct osal_dma_buffer *dma;
    ck_assert_int_eq(osal_dma_alloc(fx.os, (uint64_t)N * 4096, 4096, &dma), 0);
    for (int i = 0; i < N; i++)
        drvfx_pattern((uint8_t *)dma->vaddr + (size_t)i * 4096, (uint64_t)i * 8, 8, 5);
    struct drv_buffer_piece *p = calloc(N, sizeof *p);
    struct many m = { 0 };
    for (int i = 0; i < N; i++) {
        p[i] = (struct drv_buffer_piece){ dma, (uint64_t)i * 4096, 4096 };
        struct drv_task t;
        memset(&t, 0, sizeof t);
        t.task_id = (uint64_t)i;
        t.target = 1;
        t.lun = (uint16_t)(i & 1);
        drvfx_rw10(t.cdb, true, (uint32_t)i * 8, 8);
        t.cdb_len = 10;
        t.dir = DRV_DIR_FROM_INITIATOR;
        t.requested_transfer = 4096;
        t.pieces = &p[i];
        t.piece_count = 1;
        ck_assert_int_eq(drv_core_process_task(fx.core, &t, many_done, &m), 0);
    }
    while (__atomic_load_n(&m.done, __ATOMIC_SEQ_CST) < N)
        if (drv_core_poll(fx.core) <= 0) {
            struct timespec ts = { 0, 200000 };
            nanosleep(&ts, NULL);
        }
    ck_assert_int_eq(m.good, N);
    uint8_t back[4096], expect[4096];
    for (int i = 0; i < N; i += 37) {
        uint8_t r10[10];
        drvfx_rw10(r10, false, (uint32_t)i * 8, 8);
        drvfx_exec(&fx, 1, (uint16_t)(i & 1), r10, 10, DRV_DIR_FROM_TARGET, back, 4096, &c);
        drvfx_pattern(expect, (uint64_t)i * 8, 8, 5);
        ck_assert_mem_eq(back, expect, 4096);
    }
    free(p);
    osal_dma_free(fx.os, dma);
    drvfx_close(&fx);
}
END_TEST

/* Interrupt coalescing (hw/hba.h, drv_core_options.int_coalescing): the core
 * sets it at bring-up, and a burst of completions on one vector arrives in
 * far fewer interrupts than commands. */
START_TEST(coalesced_interrupts_carry_many_completions)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 2, 2);
    enum { N = 16 };
    struct drv_core_options o = { .io_queues = 1, .int_coalescing = HBA_COALESCE(N, 100000) };
    drvfx_open(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    drvfx_exec_past_ua(&fx, 1, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    struct osal_dma_buffer *dma;
    ck_assert_int_eq(osal_dma_alloc(fx.os, (uint64_t)N * 4096, 4096, &dma), 0);
    struct drv_buffer_piece p[N];
    struct many m = { 0 };
    struct osal_user_stats before, after;
    osal_user_get_stats(fx.os, &before);
    for (int i = 0; i < N; i++) {
        p[i] = (struct drv_buffer_piece){ dma, (uint64_t)i * 4096, 4096 };
        struct drv_task t;
        memset(&t, 0, sizeof t);
        t.task_id = (uint64_t)i;
        t.target = 1;
        drvfx_rw10(t.cdb, false, (uint32_t)i * 8, 8);
        t.cdb_len = 10;
        t.dir = DRV_DIR_FROM_TARGET;
        t.requested_transfer = 4096;
        t.pieces = &p[i];
        t.piece_count = 1;
        ck_assert_int_eq(drv_core_process_task(fx.core, &t, many_done, &m), 0);
    }
    for (int i = 0; i < 10000 && __atomic_load_n(&m.done, __ATOMIC_SEQ_CST) < N; i++)
        proc_sleep_ms(1); /* failure detector only */
    ck_assert_int_eq(m.good, N);
    osal_user_get_stats(fx.os, &after);
    uint64_t irqs = after.irqs_delivered - before.irqs_delivered;
    ck_assert_uint_ge(irqs, 1);
    ck_assert_uint_lt(irqs, N); /* one per THRESHOLD completions, or per time limit: never one each */
    osal_dma_free(fx.os, dma);
    drvfx_close(&fx);
}
END_TEST

START_TEST(battery_event_reaches_the_host)
{
    open_mode(_i);
    ck_assert_int_eq(sim_ctrl_set_battery(fx.ctrl, 0, 0, HBA_BATTERY_FAILED), 0);
    ck_assert(drvfx_wait_event(&fx, DRV_EVENT_BATTERY));
    struct drv_event e;
    drvfx_events(&fx, DRV_EVENT_BATTERY, &e);
    ck_assert_uint_eq(e.info, HBA_BATTERY_FAILED);
    /* Re-armed: a second event arrives too. */
    ck_assert_int_eq(sim_ctrl_set_battery(fx.ctrl, 0, 0, HBA_BATTERY_GOOD), 0);
    ck_assert(drvfx_wait_events(&fx, DRV_EVENT_BATTERY, 2));
    ck_assert_uint_eq(drvfx_events(&fx, DRV_EVENT_BATTERY, &e), 2);
    ck_assert_uint_eq(e.info, HBA_BATTERY_GOOD);
    drvfx_close(&fx);
}
END_TEST

START_TEST(iommu_fault_is_read_from_the_log)
{
    open_mode(_i);
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    /* Pull the sense buffers of I/O queue 1 out of the IOMMU behind the core's
     * back: the next CHECK CONDITION cannot deliver its sense. */
    struct drv_queue *q = &fx.core->ioq[0];
    uint64_t iova = q->sense_mem.map.seg[0].iova, len = q->sense_mem.map.seg[0].length;
    ck_assert_int_eq(bus_iommu_unmap(fx.bus, iova, len), 0);
    for (int i = 0; i < 4; i++) /* both queues get one */
        drvfx_exec(&fx, 0, 5, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    ck_assert(drvfx_wait_event(&fx, DRV_EVENT_IOMMU_FAULT));
    struct drv_event e;
    drvfx_events(&fx, DRV_EVENT_IOMMU_FAULT, &e);
    ck_assert_uint_ge(e.fault.iova, iova);
    ck_assert_uint_lt(e.fault.iova, iova + len);
    ck_assert_uint_eq(e.fault.reason, HBA_IOMMU_UNMAPPED);
    ck_assert_uint_eq(e.fault.dir, HBA_DMA_FROM_DEVICE);
    ck_assert_uint_eq(e.fault.sq_id, 1);
    /* Map it back so teardown finds what it mapped. */
    ck_assert_int_eq(bus_iommu_map(fx.bus, iova, q->sense_mem.buf->phys, len, HBA_DMA_FROM_DEVICE), 0);
    drvfx_close(&fx);
}
END_TEST

/* What the host was told is durable (flushed, or written with FUA) survives a
 * power cut: SYNCHRONIZE CACHE and FUA reach the controller (F1, F5B). */
START_TEST(acknowledged_durable_data_survives_power_cut)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 1);
    struct drv_core_options o;
    drvfx_fast_options(&o);
    o.polled = _i != 0;
    drvfx_open(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);

    uint8_t a[4096], b[4096], back[4096], cdb[16];
    drvfx_pattern(a, 2000, 8, 21);
    drvfx_pattern(b, 3000, 8, 22);
    drvfx_rw10(cdb, true, 2000, 8);
    drvfx_exec(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_INITIATOR, a, 4096, &c);
    drvfx_expect_good(&c, "cached WRITE");
    uint8_t sc[10] = { SCSI_OP_SYNCHRONIZE_CACHE_10 };
    scsi_put_be32(sc + 2, 2000);
    scsi_put_be16(sc + 7, 8);
    drvfx_exec(&fx, 0, 0, sc, 10, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "SYNCHRONIZE CACHE");
    drvfx_rw16(cdb, true, 3000, 8);
    cdb[1] |= 0x08; /* FUA */
    drvfx_exec(&fx, 0, 0, cdb, 16, DRV_DIR_FROM_INITIATOR, b, 4096, &c);
    drvfx_expect_good(&c, "FUA WRITE");

    ck_assert_int_ge(sim_ctrl_power_cut(fx.ctrl, NULL), 0);
    ck_assert_int_eq(sim_ctrl_power_on(fx.ctrl), 0);
    ck_assert_int_eq(drv_core_recover(fx.core), 0);
    struct sim_oracle_report r;
    ck_assert_int_eq(sim_ctrl_check_media(fx.ctrl, 0, 0, &r), 0);
    ck_assert_uint_eq(r.durable_lost, 0);

    drvfx_rw10(cdb, false, 2000, 8);
    drvfx_exec_past_ua(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, back, 4096, &c);
    drvfx_expect_good(&c, "READ of the flushed blocks");
    ck_assert_msg(memcmp(back, a, 4096) == 0, "flushed data lost at the power cut");
    drvfx_rw10(cdb, false, 3000, 8);
    drvfx_exec(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, back, 4096, &c);
    ck_assert_msg(memcmp(back, b, 4096) == 0, "FUA data lost at the power cut");
    drvfx_close(&fx);
}
END_TEST

/* An OS that maps every page as its own IOVA piece (osal_user "scatter"):
 * queues still come up (shrunk to one page), data still flows, and a task
 * whose pieces add up to more SGEs than the HBA takes is bounced. */
START_TEST(scattered_mappings)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 1);
    struct osal_user_options oo;
    osal_user_options_init(&oo);
    oo.scatter = true;
    oo.log_level = OSAL_LOG_ERROR;
    struct drv_core_options o = { .polled = _i != 0 };
    drvfx_open(&fx, &cfg, &o, &oo);
    sim_config_free(&cfg);
    struct drv_constraints k;
    drv_core_constraints(fx.core, &k);
    ck_assert_uint_eq(k.max_outstanding, 63);

    struct drv_completion c;
    uint32_t blocks = 600; /* 300 KiB: 8 IOVA pieces */
    uint8_t *data = malloc((size_t)blocks * 512), *back = malloc((size_t)blocks * 512), cdb[10];
    drvfx_pattern(data, 0, blocks, 1);
    drvfx_rw10(cdb, true, 0, (uint16_t)blocks);
    drvfx_exec_past_ua(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_INITIATOR, data, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "scattered WRITE");
    drvfx_rw10(cdb, false, 0, (uint16_t)blocks);
    drvfx_exec(&fx, 0, 0, cdb, 10, DRV_DIR_FROM_TARGET, back, (uint64_t)blocks * 512, &c);
    drvfx_expect_good(&c, "scattered READ");
    ck_assert_mem_eq(back, data, (size_t)blocks * 512);
    struct drv_core_stats st;
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.bounced_tasks, 0);

    /* 65 pieces of 4 KiB, each straddling a page boundary: 130 IOVA pieces
     * for 260 KiB, more than the 128 SGEs the HBA takes: bounced. */
    drvfx_rw10(cdb, false, 0, 65 * 8);
    uint8_t *big = malloc(65 * 4096);
    ck_assert_int_eq(run_pieces_at(0, cdb, 10, DRV_DIR_FROM_TARGET, big, 65, 4096, 2048, &c), 0);
    drvfx_expect_good(&c, "READ of 130 IOVA pieces");
    ck_assert_mem_eq(big, data, 65 * 4096);
    drv_core_get_stats(fx.core, &st);
    ck_assert_uint_eq(st.bounced_tasks, 1);
    free(big);
    free(data);
    free(back);
    drvfx_close(&fx);
}
END_TEST

START_TEST(stop_then_start_again)
{
    open_mode(_i);
    struct drv_completion c;
    static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY");
    ck_assert_int_eq(drv_core_start(fx.core), -EALREADY);
    drv_core_stop(fx.core);
    ck_assert_uint_eq(osal_reg_read32(fx.os, HBA_REG_STATUS) & HBA_STATUS_RDY, 0);
    ck_assert_int_eq(drv_core_start(fx.core), 0);
    drvfx_exec_past_ua(&fx, 0, 0, tur, 6, DRV_DIR_NONE, NULL, 0, &c);
    drvfx_expect_good(&c, "TEST UNIT READY after a restart");
    drvfx_close(&fx);
}
END_TEST

static void quiet(void *arg, enum osal_log_level level, const char *line)
{
    (void)arg;
    (void)level;
    (void)line;
}

/* A controller with 32 address lines behind an OS that only hands out IOVAs
 * above 4 GiB: the core cannot place even its queues, says so, and leaves
 * nothing mapped or allocated behind. */
START_TEST(no_reachable_iova_fails_start_cleanly)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 1);
    cfg.addr_bits = 32;
    char why[256];
    struct sim_ctrl *ctrl;
    ck_assert_int_eq(sim_ctrl_create(&cfg, &ctrl, why, sizeof why), 0);
    sim_config_free(&cfg);
    ck_assert_int_eq(sim_ctrl_power_on(ctrl), 0);
    struct bus *bus;
    ck_assert_int_eq(bus_attach(sim_ctrl_attach_info(ctrl), NULL, &bus), 0);
    struct osal_user_options oo;
    osal_user_options_init(&oo);
    oo.iova_base = 1ull << 32;
    oo.low_window = false; /* nothing below 4 GiB at all */
    oo.log_sink = quiet; /* the failure is expected */
    struct osal *os;
    ck_assert_int_eq(osal_user_create(bus, &oo, &os), 0);
    struct drv_core *core;
    ck_assert_int_eq(drv_core_create(os, NULL, &core), 0);
    ck_assert_int_eq(drv_core_start(core), -ENOSPC);
    struct osal_user_stats st;
    osal_user_get_stats(os, &st);
    ck_assert_uint_eq(st.mappings_live, 0);
    ck_assert_uint_eq(st.dma_buffers_live, 0);
    struct drv_task t;
    memset(&t, 0, sizeof t);
    t.cdb_len = 6;
    ck_assert_int_eq(drv_core_process_task(core, &t, count_done, NULL), -ESHUTDOWN);
    drv_core_destroy(core);
    osal_user_destroy(os);
    bus_detach(bus);
    sim_ctrl_destroy(ctrl);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_core_io");
    TCase *tc = tcase_create("io");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, bring_up_reports_constraints, 0, 2);
    tcase_add_loop_test(tc, every_scsi_command, 0, 2);
    tcase_add_loop_test(tc, more_segments_than_the_hba_takes_bounce, 0, 2);
    tcase_add_loop_test(tc, long_transfers_split_at_the_max_transfer, 0, 2);
    tcase_add_loop_test(tc, what_cannot_be_split_is_rejected, 0, 2);
    tcase_add_loop_test(tc, bad_tasks_are_not_accepted, 0, 2);
    tcase_add_loop_test(tc, many_tasks_in_flight, 0, 2);
    tcase_add_loop_test(tc, battery_event_reaches_the_host, 0, 2);
    tcase_add_loop_test(tc, iommu_fault_is_read_from_the_log, 0, 2);
    tcase_add_loop_test(tc, acknowledged_durable_data_survives_power_cut, 0, 2);
    tcase_add_loop_test(tc, scattered_mappings, 0, 2);
    tcase_add_loop_test(tc, stop_then_start_again, 0, 2);
    tcase_add_test(tc, no_reachable_iova_fails_start_cleanly);
    tcase_add_test(tc, coalesced_interrupts_carry_many_completions);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
