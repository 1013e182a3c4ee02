/* tests/test_store_shutdown.c — a shutdown (CONFIG.SHN) whose cache flush
 * fails because an io-error rule made the media's fdatasync fail: the
 * controller still finishes the shutdown, sets STATUS.SHST_DIRTY beside
 * SHST_DONE, keeps the dirty data in the cache and counts no simulator bug
 * (docs/controller.md 20).  A later shutdown that succeeds writes the kept
 * data to the media file and clears SHST_DIRTY. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scsi/scsi.h"
#include "tests/support/hba_harness.h"
#include "tests/support/testutil.h"

#define BLK 512u
#define LBA 64u

static char dir[64];
static char media[sizeof dir + 16];

static void open_on_file(struct hh *h)
{
    snprintf(dir, sizeof dir, "/tmp/scsisim-shutdown-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(media, sizeof media, "%s/d.img", dir);
    struct sim_config cfg;   /* hh_open copies it; its strings are the harness's then */
    hh_config(&cfg);
    cfg.media_dir = strdup(dir);
    cfg.lus[0].media_path = strdup("d.img");
    hh_open_ready(h, &cfg);
    uint8_t tur[6] = { 0 };   /* collects the power-on unit attention */
    for (int i = 0; i < 8; i++) {
        struct hba_sq_entry e = hh_scsi_entry(0, 0, tur, 6, HBA_FLAG_DIR_NONE, 0, hh_sge(0, 0, 0));
        struct hba_cq_entry c;
        ck_assert_int_eq(hh_scsi(h, 1, &e, &c), HBA_CS_SUCCESS);
        if (c.scsi_status == SCSI_STATUS_GOOD)
            return;
    }
    ck_abort_msg("unit attention did not clear");
}

static void write_block(struct hh *h, uint8_t fill)
{
    struct hh_buf b = hh_alloc(h, BLK, HBA_DMA_TO_DEVICE);
    memset(b.p, fill, BLK);
    uint8_t cdb[10];
    hh_cdb_rw10(cdb, true, LBA, 1);
    struct hba_sq_entry e = hh_scsi_entry(0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, BLK, hh_sge(b.iova, BLK, 0));
    struct hba_cq_entry c;
    ck_assert_int_eq(hh_scsi(h, 1, &e, &c), HBA_CS_SUCCESS);
    ck_assert_uint_eq(c.scsi_status, SCSI_STATUS_GOOD);
}

static uint8_t media_byte(void)
{
    int fd = open(media, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    uint8_t v = 0xEE;
    ck_assert_int_eq(pread(fd, &v, 1, (off_t)LBA * BLK), 1);
    close(fd);
    return v;
}

START_TEST(injected_flush_failure_keeps_the_cache_and_is_no_sim_bug)
{
    struct hh h;
    open_on_file(&h);
    write_block(&h, 0x5A);   /* WCE=1: in the cache only */
    char err[256];
    ck_assert_msg(sim_ctrl_fault_add(h.ctrl, "io-error drive=0:0 file=media call=sync errno=ENOSPC", err,
                                     sizeof err) == 0, "%s", err);

    uint32_t done = HBA_STATUS_SHST_DONE | HBA_STATUS_SHST_DIRTY;
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN | HBA_CONFIG_SHN);
    ck_assert(hh_wait_reg(&h, HBA_REG_STATUS, HBA_STATUS_SHST_DONE, HBA_STATUS_SHST_DONE, HH_TIMEOUT_MS));
    ck_assert_uint_eq(hh_rd(&h, HBA_REG_STATUS) & done, done);
    struct sim_ctrl_stats st;
    sim_ctrl_get_stats(h.ctrl, &st);
    ck_assert_uint_eq(st.sim_bugs, 0);

    /* SHN 1 -> 0 clears both bits; the next shutdown flushes what stayed. */
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN);
    ck_assert(hh_wait_reg(&h, HBA_REG_STATUS, done, 0, HH_TIMEOUT_MS));
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN | HBA_CONFIG_SHN);
    ck_assert(hh_wait_reg(&h, HBA_REG_STATUS, done, HBA_STATUS_SHST_DONE, HH_TIMEOUT_MS));
    ck_assert_uint_eq(media_byte(), 0x5A);
    sim_ctrl_get_stats(h.ctrl, &st);
    ck_assert_uint_eq(st.sim_bugs, 0);
    hh_close(&h);
    char side[sizeof media + 32];
    snprintf(side, sizeof side, "rm -rf '%s'", dir);   /* the journal and battery files beside it */
    ck_assert_int_eq(system(side), 0);
}
END_TEST

START_TEST(clean_shutdown_is_not_dirty)
{
    struct hh h;
    open_on_file(&h);
    write_block(&h, 0x33);
    hh_wr(&h, HBA_REG_CONFIG, HBA_CONFIG_EN | HBA_CONFIG_SHN);
    ck_assert(hh_wait_reg(&h, HBA_REG_STATUS, HBA_STATUS_SHST_DONE | HBA_STATUS_SHST_DIRTY, HBA_STATUS_SHST_DONE,
                          HH_TIMEOUT_MS));
    ck_assert_uint_eq(media_byte(), 0x33);
    hh_close(&h);
    char side[sizeof media + 32];
    snprintf(side, sizeof side, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(side), 0);
}
END_TEST

static Suite *suite(void);
static Suite *suite(void)
{
    Suite *s = suite_create("store_shutdown");
    TCase *tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, injected_flush_failure_keeps_the_cache_and_is_no_sim_bug);
    tcase_add_test(tc, clean_shutdown_is_not_dirty);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
