/* tests/test_fw_ua.c — unit attentions per I_T nexus (life cycle, priority,
 * resets, nexus loss, capacity and LUN inventory changes), the commands that
 * never see them, becoming ready after power on, and START STOP UNIT. */
#include "tests/support/testutil.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fw_harness.h"
#include "sim/fw/fw_priv.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

static const uint8_t tur[6] = { SCSI_OP_TEST_UNIT_READY };

static void tur_on(struct fw *fw, struct fw_task *t, uint16_t ini, uint16_t target, uint16_t lun)
{
    fwh_run(fw, t, ini, target, lun, tur, 6, HBA_FLAG_DIR_NONE, NULL, 0);
}

static struct fw *two_luns(uint32_t ready_ms)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 4, 4);
    fwh_add_lu(&cfg, 0, 0, 1000, 512)->ready_ms = ready_ms;
    fwh_add_lu(&cfg, 0, 1, 1000, 512)->ready_ms = ready_ms;
    fwh_add_lu(&cfg, 1, 0, 1000, 512)->ready_ms = ready_ms;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    return fw;
}

/* fw_ua_add_all's fast paths (an empty queue, a queue of one) are
 * fw_ua_add's own steps: over queues in random states, adding a random code to
 * all of them but one gives what adding it to each by fw_ua_add gives. */
START_TEST(add_all_is_add_on_each)
{
    static const uint16_t codes[] = {
        SCSI_ASC_POWER_ON_OCCURRED, SCSI_ASC_POWER_ON_RESET, SCSI_ASC_DEVICE_INTERNAL_RESET,
        SCSI_ASC_SCSI_BUS_RESET, SCSI_ASC_BUS_DEVICE_RESET, SCSI_ASC_I_T_NEXUS_LOSS,
        SCSI_ASC_MODE_PARAMETERS_CHANGED, SCSI_ASC_REPORTED_LUNS_CHANGED, SCSI_ASC_CAPACITY_DATA_CHANGED,
    };
    enum { N = 64, NCODES = sizeof codes / sizeof codes[0] };
    static struct fw_ua_queue a[N], b[N];
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        memset(a, 0, sizeof a);
        for (unsigned i = 0; i < N; i++) {
            unsigned k = rand_r(&seed) % 10; /* 0..9 conditions, a full queue among them */
            for (unsigned j = 0; j < k; j++)
                fw_ua_add(&a[i], codes[rand_r(&seed) % NCODES]);
        }
        memcpy(b, a, sizeof a);
        uint16_t code = codes[rand_r(&seed) % NCODES];
        unsigned skip = rand_r(&seed) % (N + 1); /* N: none skipped */
        fw_ua_add_all(a, N, skip, code);
        for (unsigned i = 0; i < N; i++)
            if (i != skip)
                fw_ua_add(&b[i], code);
        for (unsigned i = 0; i < N; i++) {
            ck_assert_uint_eq(a[i].count, b[i].count);
            ck_assert_mem_eq(a[i].code, b[i].code, a[i].count * sizeof a[i].code[0]);
        }
    }
    fw_ua_set_all(a, N, SCSI_ASC_POWER_ON_OCCURRED);
    for (unsigned i = 0; i < N; i++) {
        ck_assert_uint_eq(a[i].count, 1);
        ck_assert_uint_eq(a[i].code[0], SCSI_ASC_POWER_ON_OCCURRED);
    }
}
END_TEST

START_TEST(power_on_ua_per_nexus)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    /* initiator 0 sees it once and clears it for itself only */
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    tur_on(fw, &t, 1, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    tur_on(fw, &t, 1, 0, 0);
    fwh_expect_good(&t);
    /* and per drive: 0:1 still has its own */
    tur_on(fw, &t, 0, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    /* the highest initiator too */
    tur_on(fw, &t, HBA_MAX_INITIATORS - 1, 1, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    fw_destroy(fw);
}
END_TEST

START_TEST(ua_skipping_commands_do_not_clear)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    uint8_t b[256];
    const uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    uint8_t rl[12] = { SCSI_OP_REPORT_LUNS };
    scsi_put_be32(rl + 6, 256);
    fwh_run0(fw, &t, rl, 12, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    const uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    fwh_run0(fw, &t, rs, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[2] & 0x0f, SCSI_SK_NO_SENSE);   /* REQUEST SENSE does not report it */
    /* still pending for the next ordinary command, even an unknown one */
    const uint8_t unknown[6] = { 0x02 };
    fwh_run0(fw, &t, unknown, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    fwh_run0(fw, &t, unknown, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x20, 0x00);
    fw_destroy(fw);
}
END_TEST

START_TEST(ua_comes_before_cdb_errors)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    uint8_t b[512];
    uint8_t cdb[10];
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 5000, 1, 0x20);  /* reserved bit and out of range */
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    ck_assert_uint_eq(t.xfer, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_invalid_cdb(&t, 1, 7); /* RDPROTECT's left-most bit */
    fw_destroy(fw);
}
END_TEST

START_TEST(resets_and_nexus_loss)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    for (uint16_t i = 0; i < 2; i++) {
        fwh_drain_ua(fw, i, 0, 0);
        fwh_drain_ua(fw, i, 0, 1);
        fwh_drain_ua(fw, i, 1, 0);
    }
    fw_reset(fw, HBA_RESET_LUN, 0, 1);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);                                  /* other LUN untouched */
    tur_on(fw, &t, 0, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x03);
    tur_on(fw, &t, 1, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x03);

    fw_reset(fw, HBA_RESET_TARGET, 0, 0);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x03);
    tur_on(fw, &t, 0, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x03);
    tur_on(fw, &t, 0, 1, 0);
    fwh_expect_good(&t);                                  /* other target untouched */

    fw_reset(fw, HBA_RESET_BUS, 0, 0);
    tur_on(fw, &t, 0, 1, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x02);

    fw_controller_reset(fw);
    tur_on(fw, &t, 0, 1, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x04);
    tur_on(fw, &t, 0, 1, 0);
    fwh_expect_good(&t);

    fw_nexus_loss(fw, 1);
    tur_on(fw, &t, 0, 1, 0);
    fwh_expect_good(&t);
    tur_on(fw, &t, 1, 1, 0);
    /* initiator 1 still had 29h/02h and 29h/04h from above: the most severe
     * reset condition is the one kept, and nexus loss ranks below it */
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x04);
    tur_on(fw, &t, 1, 1, 0);
    fwh_expect_good(&t);
    fw_nexus_loss(fw, 1);
    tur_on(fw, &t, 1, 0, 0);
    /* 0:0 for initiator 1: target reset 29h/03h, replaced by bus reset 29h/02h,
     * replaced by the controller reset 29h/04h; nexus loss did not displace it */
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x04);
    tur_on(fw, &t, 1, 0, 0);
    fwh_expect_good(&t);
    fwh_drain_ua(fw, 1, 1, 0);
    fw_nexus_loss(fw, 1);
    tur_on(fw, &t, 1, 1, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x07);
    fw_nexus_loss(fw, HBA_MAX_INITIATORS);                /* ignored, no crash */
    fw_destroy(fw);
}
END_TEST

START_TEST(priority_and_order)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    fwh_drain_ua(fw, 0, 0, 0);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, 0, SCSI_ASC_CAPACITY_DATA_CHANGED), 0);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, 0, SCSI_ASC_MODE_PARAMETERS_CHANGED), 0);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, 0, SCSI_ASC_MODE_PARAMETERS_CHANGED), 0);  /* duplicate */
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, 0, SCSI_ASC_BUS_DEVICE_RESET), 0);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, 0, SCSI_ASC_POWER_ON_OCCURRED), 0);
    static const uint16_t order[] = {
        SCSI_ASC_POWER_ON_OCCURRED,          /* supersedes the reset */
        SCSI_ASC_CAPACITY_DATA_CHANGED,      /* then in arrival order */
        SCSI_ASC_MODE_PARAMETERS_CHANGED,
    };
    for (size_t i = 0; i < 3; i++) {
        tur_on(fw, &t, 0, 0, 0);
        fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, order[i] >> 8, order[i] & 0xff);
    }
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    /* a flood keeps the most important ones */
    for (uint8_t q = 0; q < 20; q++)
        fw_raise_ua(fw, 0, 0, 0, SCSI_ASCQ(0x2a, q + 0x20));
    fw_raise_ua(fw, 0, 0, 0, SCSI_ASC_SCSI_BUS_RESET);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x02);
    fw_destroy(fw);
}
END_TEST

START_TEST(capacity_change)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 1, 0, 0);
    ck_assert_int_eq(fw_set_capacity(fw, 0, 0, 500), 0);
    uint8_t b[8];
    uint8_t rc10[10] = { SCSI_OP_READ_CAPACITY_10 };
    fwh_run0(fw, &t, rc10, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x2a, 0x09);
    fwh_run0(fw, &t, rc10, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be32(b), 499);
    tur_on(fw, &t, 1, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x2a, 0x09);
    uint8_t r[512], cdb[10];
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 500, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, r, sizeof(r));
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x21, 0x00);
    /* same capacity again: no new attention */
    ck_assert_int_eq(fw_set_capacity(fw, 0, 0, 500), 0);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    ck_assert_int_eq(fw_set_capacity(fw, 0, 0, 0), -EINVAL);
    ck_assert_int_eq(fw_set_capacity(fw, 0, 0, 1001), -ERANGE);
    ck_assert_int_eq(fw_set_capacity(fw, 3, 3, 10), -ENOENT);
    ck_assert_int_eq(fw_set_capacity(fw, 0, 0, 1000), 0);   /* back up to the original */
    fw_destroy(fw);
}
END_TEST

START_TEST(reported_luns_changed_reaches_the_target)
{
    struct fw *fw = two_luns(0);
    struct fw_task t;
    fwh_drain_ua(fw, 0, 0, 0);
    fwh_drain_ua(fw, 0, 0, 1);
    fwh_drain_ua(fw, 0, 1, 0);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 1, -1, SCSI_ASC_REPORTED_LUNS_CHANGED), 0);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x3f, 0x0e);
    tur_on(fw, &t, 0, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x3f, 0x0e);
    tur_on(fw, &t, 0, 1, 0);
    fwh_expect_good(&t);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 2, 0, SCSI_ASC_REPORTED_LUNS_CHANGED), -ENOENT);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, HBA_MAX_INITIATORS, 0x2a01), -EINVAL);
    ck_assert_int_eq(fw_raise_ua(fw, 0, 0, -2, 0x2a01), -EINVAL);
    fw_destroy(fw);
}
END_TEST

/* The firmware reads base/clock.h; this program runs on tests/support/fake_clock.c,
 * so ready_ms passes only when the test says so: NOT READY is certain before
 * it and GOOD after it, on a loaded machine as on a quiet one. */
START_TEST(becoming_ready_after_power_on)
{
    struct fw *fw = two_luns(50);
    struct fw_task t;
    uint8_t b[256];
    /* UA first ... */
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    /* ... then NOT READY, becoming ready */
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    struct hba_identify_drive nid;
    ck_assert_int_eq(fw_identify_drive(fw, 0, 0, &nid), 0);
    ck_assert_uint_eq(nid.ready, 0);
    const uint8_t inq[6] = { SCSI_OP_INQUIRY, 0, 0, 0, 96, 0 };
    fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    /* still becoming ready 1 ms before ready_ms ... */
    fake_clock_advance_ms(49);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    /* ... and ready at ready_ms */
    fake_clock_advance_ms(1);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    struct hba_identify_drive id;
    ck_assert_int_eq(fw_identify_drive(fw, 0, 0, &id), 0);
    ck_assert_uint_eq(id.ready, 1);
    /* a power cycle starts it over */
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_UNIT_ATTENTION, 0x29, 0x01);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    fake_clock_advance_ms(50);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(not_ready_right_after_power_on)
{
    /* ready_ms long enough that "right after" is certain */
    struct fw *fw = two_luns(60000);
    struct fw_task t;
    uint8_t b[512], cdb[10];
    fwh_drain_ua(fw, 0, 0, 0);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 0, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    const uint8_t rc10[10] = { SCSI_OP_READ_CAPACITY_10 };
    fwh_run0(fw, &t, rc10, 10, HBA_FLAG_DIR_READ, b, 8);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    /* REQUEST SENSE tells why; MODE SENSE does not need the medium */
    const uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0x01, 0, 0, 252, 0 };
    fwh_run0(fw, &t, rs, 6, HBA_FLAG_DIR_READ, b, 252);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[0], 0x72);
    ck_assert_uint_eq(b[1], SCSI_SK_NOT_READY);
    ck_assert_uint_eq(b[2], 0x04);
    ck_assert_uint_eq(b[3], 0x01);
    const uint8_t ms[6] = { SCSI_OP_MODE_SENSE_6, 0, 0x3f, 0, 255, 0 };
    fwh_run0(fw, &t, ms, 6, HBA_FLAG_DIR_READ, b, 255);
    fwh_expect_good(&t);
    struct hba_identify_drive id;
    ck_assert_int_eq(fw_identify_drive(fw, 0, 0, &id), 0);
    ck_assert_uint_eq(id.ready, 0);
    /* START UNIT with IMMED=0 returns with the unit ready */
    const uint8_t start[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x01, 0 };
    fwh_run0(fw, &t, start, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    /* the other drive is still becoming ready */
    fwh_drain_ua(fw, 0, 0, 1);
    tur_on(fw, &t, 0, 0, 1);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);
    fw_destroy(fw);
}
END_TEST

START_TEST(start_stop_unit)
{
    struct fw *fw = fwh_simple(1000);
    struct fw_task t;
    uint8_t w[512];
    memset(w, 0x77, sizeof(w));
    fwh_write(fw, 1, 1, w, 512, false);
    uint8_t ssu[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x00, 0 };   /* STOP (flushes) */
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x02);
    uint8_t b[512], cdb[10];
    fwh_cdb_rw10(cdb, SCSI_OP_READ_10, 0, 1, 0);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x02);
    const uint8_t rs[6] = { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    fwh_run0(fw, &t, rs, 6, HBA_FLAG_DIR_READ, b, sizeof(b));
    fwh_expect_good(&t);
    struct scsi_sense_info si;
    ck_assert(scsi_sense_parse(b, t.xfer, &si));
    ck_assert_uint_eq(si.key, SCSI_SK_NOT_READY);
    ck_assert_uint_eq(si.ascq, 0x02);
    /* the stop flushed: a power cut loses nothing */
    struct sim_oracle_report r;
    ck_assert_uint_eq(fw_power_cut(fw, NULL), 0);
    ck_assert_int_eq(fw_check_media(fw, 0, 0, &r), 0);
    ck_assert_uint_eq(r.volatile_lost, 0);
    fw_power_on(fw);          /* power on spins the unit up again */
    fwh_drain_ua(fw, 0, 0, 0);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);
    /* stop again; START with IMMED=1 and LOEJ (ignored) */
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    ssu[1] = 0x01;
    ssu[4] = 0x03;
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_good(&t);      /* ready_ms is 0 here */
    /* power conditions are not supported */
    ssu[4] = 0x11;
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_invalid_cdb(&t, 4, 7);
    ssu[4] = 0x01;
    ssu[3] = 0x01;            /* power condition modifier */
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_invalid_cdb(&t, 3, 0);
    fw_destroy(fw);
}
END_TEST

START_TEST(stopped_unit_restarts_with_immed_after_ready_time)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 100, 512)->ready_ms = 60000;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    struct fw_task t;
    uint8_t ssu[6] = { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x01, 0 };
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);     /* START, wait */
    fwh_expect_good(&t);
    ssu[4] = 0x04;                                             /* STOP, NO_FLUSH */
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    ssu[1] = 0x01;
    ssu[4] = 0x01;                                             /* START, IMMED */
    fwh_run0(fw, &t, ssu, 6, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    tur_on(fw, &t, 0, 0, 0);
    fwh_expect_sense(&t, SCSI_SK_NOT_READY, 0x04, 0x01);       /* spinning up */
    fw_destroy(fw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fw_ua");
    TCase *tc = tcase_create("ua");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, add_all_is_add_on_each);
    tcase_add_test(tc, power_on_ua_per_nexus);
    tcase_add_test(tc, ua_skipping_commands_do_not_clear);
    tcase_add_test(tc, ua_comes_before_cdb_errors);
    tcase_add_test(tc, resets_and_nexus_loss);
    tcase_add_test(tc, priority_and_order);
    tcase_add_test(tc, capacity_change);
    tcase_add_test(tc, reported_luns_changed_reaches_the_target);
    tcase_add_test(tc, becoming_ready_after_power_on);
    tcase_add_test(tc, not_ready_right_after_power_on);
    tcase_add_test(tc, start_stop_unit);
    tcase_add_test(tc, stopped_unit_restarts_with_immed_after_ready_time);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
