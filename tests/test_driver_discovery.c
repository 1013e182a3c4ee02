/* tests/test_driver_discovery.c — host-style discovery through the core
 * (core/discovery.c): a full 16 x 8 controller right after power on, where
 * every drive has a UNIT ATTENTION pending for the probing initiator; sparse
 * layouts; a drive that becomes ready late; and per-initiator attentions. */
#include <string.h>

#include "core/discovery.h"
#include "tests/support/drv_fixture.h"
#include "tests/support/testutil.h"

static struct drvfx fx;

START_TEST(full_16x8_with_attention_everywhere)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 16, 8);
    struct drv_core_options o = { .polled = _i != 0 };
    drvfx_open(&fx, &cfg, &o, NULL);
    sim_config_free(&cfg);

    struct drv_disc_result r;
    struct drv_disc_options d = { .initiator = 0 };
    ck_assert_int_eq(drv_discover(fx.core, &d, &r), 0);
    ck_assert_uint_eq(r.targets_answering, 16);
    ck_assert_uint_eq(r.targets_dropped, 0);
    ck_assert_uint_eq(r.count, 128);
    ck_assert_uint_eq(r.unit_attentions, 128); /* POWER ON, once per drive for this nexus */
    for (size_t i = 0; i < r.count; i++) {
        ck_assert_uint_eq(r.luns[i].target, i / 8);
        ck_assert_uint_eq(r.luns[i].lun, i % 8);
        ck_assert(r.luns[i].ready);
        ck_assert_uint_eq(r.luns[i].pdt, 0);
        ck_assert_str_eq(r.luns[i].vendor, "SCSISIM");
        ck_assert_str_eq(r.luns[i].product, "SIM DISK");
    }
    drv_disc_result_free(&r);

    /* The same initiator again: the attentions are consumed. */
    ck_assert_int_eq(drv_discover(fx.core, &d, &r), 0);
    ck_assert_uint_eq(r.count, 128);
    ck_assert_uint_eq(r.unit_attentions, 0);
    drv_disc_result_free(&r);
    /* Another initiator has its own. */
    d.initiator = 5;
    d.max_targets = 2;
    ck_assert_int_eq(drv_discover(fx.core, &d, &r), 0);
    ck_assert_uint_eq(r.count, 16);
    ck_assert_uint_eq(r.unit_attentions, 16);
    drv_disc_result_free(&r);
    drvfx_close(&fx);
}
END_TEST

START_TEST(sparse_layout_and_late_drive)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 0, 0);
    static const uint16_t where[][2] = { { 0, 0 }, { 0, 3 }, { 2, 1 }, { 7, 7 } };
    for (size_t i = 0; i < 4; i++) {
        struct sim_lu_config *lu = sim_config_lu(&cfg, where[i][0], where[i][1]);
        lu->blocks = 2048;
        if (i == 2)
            lu->ready_ms = 150; /* NOT READY, BECOMING READY for a while */
        if (i == 3)
            strcpy(lu->product, "OTHER DISK");
    }
    drvfx_open(&fx, &cfg, NULL, NULL);
    sim_config_free(&cfg);

    struct drv_disc_result r;
    struct drv_disc_options d = { .initiator = 1, .ready_poll_ms = 5 };
    ck_assert_int_eq(drv_discover(fx.core, &d, &r), 0);
    ck_assert_uint_eq(r.targets_answering, 3);
    ck_assert_uint_eq(r.count, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(r.luns[i].target, where[i][0]);
        ck_assert_uint_eq(r.luns[i].lun, where[i][1]);
        ck_assert(r.luns[i].ready);
    }
    ck_assert_str_eq(r.luns[3].product, "OTHER DISK");
    drv_disc_result_free(&r);
    drvfx_close(&fx);
}
END_TEST

START_TEST(a_drive_that_never_gets_ready_is_listed_not_ready)
{
    struct sim_config cfg;
    drvfx_config(&cfg, 1, 1);
    sim_config_lu(&cfg, 0, 0)->ready_ms = 60000;
    drvfx_open(&fx, &cfg, NULL, NULL);
    sim_config_free(&cfg);
    struct drv_disc_result r;
    struct drv_disc_options d = { .ready_timeout_ms = 50, .ready_poll_ms = 10 };
    ck_assert_int_eq(drv_discover(fx.core, &d, &r), 0);
    ck_assert_uint_eq(r.count, 1);
    ck_assert(!r.luns[0].ready);
    ck_assert_uint_eq(r.luns[0].sense_key, 0x2);
    ck_assert_uint_eq(r.luns[0].asc, 0x04);
    ck_assert_uint_eq(r.luns[0].ascq, 0x01);
    drv_disc_result_free(&r);
    drvfx_close(&fx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver_discovery");
    TCase *tc = tcase_create("discovery");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, full_16x8_with_attention_everywhere, 0, 2);
    tcase_add_test(tc, sparse_layout_and_late_drive);
    tcase_add_test(tc, a_drive_that_never_gets_ready_is_listed_not_ready);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
