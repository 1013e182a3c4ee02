/* tests/test_fw_pr_move.c — PERSISTENT RESERVE OUT REGISTER AND MOVE and
 * REGISTER with SPEC_I_PT / ALL_TG_PT (sim/fw/fw_pr.c): who may move a
 * reservation and where, all-or-nothing SPEC_I_PT registration, the
 * TransportIDs the firmware understands (protocol 0Fh, the nexus index) and
 * the malformed lists around them. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <string.h>

/* A PR OUT list: keys, byte 20 flags (REGISTER) or 17 (MOVE), and a
 * TransportID list of n nexuses at 24 (MOVE) or 28 (SPEC_I_PT). */
static uint32_t params(uint8_t *p, uint8_t sa, uint64_t key, uint64_t sark, uint8_t flags,
                       const unsigned *nexus, unsigned n)
{
    memset(p, 0, 28 + 24 * 4);
    scsi_put_be64(p, key);
    scsi_put_be64(p + 8, sark);
    uint32_t at = sa == 7 ? 24 : 28;
    if (sa == 7) {
        p[17] = flags;
        scsi_put_be16(p + 18, 1);
        scsi_put_be32(p + 20, 24 * n);
    } else {
        p[20] = flags;
        if (flags & 0x08)
            scsi_put_be32(p + 24, 24 * n);
        else
            at = 24;
    }
    for (unsigned i = 0; i < n; i++) {
        p[at + 24 * i] = 0x0f;
        scsi_put_be16(p + at + 24 * i + 2, (uint16_t)nexus[i]);
    }
    return at + 24 * n;
}

static void prout(struct fw *fw, struct fw_task *t, uint16_t ini, uint8_t sa, uint8_t type,
                  uint8_t *p, uint32_t len)
{
    uint8_t cdb[10] = { 0x5f, sa, type };
    scsi_put_be32(cdb + 5, len);
    fwh_run(fw, t, ini, 0, 0, cdb, 10, HBA_FLAG_DIR_WRITE, p, len);
}

/* READ FULL STATUS: the key of nexus i, or 0 when it is not registered;
 * *flags gets byte 12 (ALL_TG_PT, R_HOLDER). */
static uint64_t key_of(struct fw *fw, unsigned nexus, uint8_t *flags)
{
    uint8_t cdb[10] = { 0x5e, 0x03, 0, 0, 0, 0, 0, 0x04, 0x00, 0 }, b[1024];
    struct fw_task t;
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_READ, b, sizeof b);
    fwh_expect_good(&t);
    for (uint32_t off = 8; off + 48 <= 8 + scsi_get_be32(b + 4); off += 48) {
        if (scsi_get_be16(b + off + 26) == nexus) {
            *flags = b[off + 12];
            return scsi_get_be64(b + off);
        }
    }
    return 0;
}

static struct fw *fw3(void)
{
    struct fw *fw = fwh_simple(64);
    fwh_drain_ua(fw, 2, 0, 0);
    fwh_drain_ua(fw, 3, 0, 0);
    return fw;
}

START_TEST(move_to_another_nexus)
{
    struct fw *fw = fw3();
    uint8_t p[128], fl;
    struct fw_task t;
    prout(fw, &t, 0, 0, 0, p, params(p, 0, 0, 0xa, 0x04, NULL, 0));   /* ALL_TG_PT */
    fwh_expect_good(&t);
    ck_assert_uint_eq(key_of(fw, 0, &fl), 0xa);
    ck_assert_uint_eq(fl, 0x02);
    prout(fw, &t, 0, 1, 3, p, params(p, 1, 0xa, 0, 0, NULL, 0));
    fwh_expect_good(&t);
    const unsigned to = 2;
    prout(fw, &t, 0, 7, 1, p, params(p, 7, 0xa, 0xc, 0x00, &to, 1));  /* no UNREG */
    fwh_expect_good(&t);
    ck_assert_uint_eq(key_of(fw, 2, &fl), 0xc);
    ck_assert_uint_eq(fl, 0x01);                        /* R_HOLDER, not ALL_TG_PT */
    ck_assert_uint_eq(key_of(fw, 0, &fl), 0xa);         /* still registered */
    ck_assert_uint_eq(fl, 0x02);
    /* No longer the holder: a second move conflicts. */
    prout(fw, &t, 0, 7, 1, p, params(p, 7, 0xa, 0xd, 0x02, &to, 1));
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);
    fw_destroy(fw);
}
END_TEST

START_TEST(move_refusals)
{
    struct fw *fw = fw3();
    uint8_t p[128];
    struct fw_task t;
    const unsigned one = 1, self = 0;
    prout(fw, &t, 0, 0, 0, p, params(p, 0, 0, 0xa, 0, NULL, 0));
    prout(fw, &t, 0, 7, 1, p, params(p, 7, 0xa, 0xb, 0, &one, 1));
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);   /* nothing to move */
    prout(fw, &t, 0, 1, 7, p, params(p, 1, 0xa, 0, 0, NULL, 0));    /* all registrants */
    fwh_expect_good(&t);
    prout(fw, &t, 0, 7, 1, p, params(p, 7, 0xa, 0xb, 0, &one, 1));
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prout(fw, &t, 0, 2, 7, p, params(p, 2, 0xa, 0, 0, NULL, 0));
    prout(fw, &t, 0, 1, 3, p, params(p, 1, 0xa, 0, 0, NULL, 0));
    fwh_expect_good(&t);
    uint32_t n = params(p, 7, 0xa, 0xb, 0, &one, 1);
    prout(fw, &t, 0, 7, 2, p, n);                       /* obsolete type */
    fwh_expect_invalid_cdb(&t, 2, 3);
    prout(fw, &t, 0, 7, 1, p, n - 1);                   /* list shorter than it says */
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    prout(fw, &t, 0, 7, 1, p, params(p, 7, 0xa, 0xb, 0, &self, 1));
    fwh_expect_invalid_param(&t, 24, -1);               /* to itself */
    prout(fw, &t, 0, 7, 1, p, params(p, 7, 0xa, 0xb, 0x04, &one, 1));
    fwh_expect_invalid_param(&t, 17, 2);                /* reserved bit */
    n = params(p, 7, 0xa, 0xb, 0, &one, 1);
    scsi_put_be16(p + 26, HBA_MAX_INITIATORS);          /* no such nexus */
    prout(fw, &t, 0, 7, 1, p, n);
    fwh_expect_invalid_param(&t, 26, -1);
    uint8_t fl;
    ck_assert_uint_eq(key_of(fw, 1, &fl), 0);           /* none of them registered it */
    fw_destroy(fw);
}
END_TEST

START_TEST(spec_i_pt_all_or_nothing)
{
    struct fw *fw = fw3();
    uint8_t p[128], fl;
    struct fw_task t;
    const unsigned two[2] = { 2, 3 }, mixed[2] = { 3, 1 };
    prout(fw, &t, 1, 0, 0, p, params(p, 0, 0, 0xb, 0, NULL, 0));     /* 1 registers */
    fwh_expect_good(&t);
    prout(fw, &t, 0, 0, 0, p, params(p, 0, 0, 0xa, 0x08, mixed, 2)); /* 1 is registered */
    ck_assert_uint_eq(t.status, SCSI_STATUS_RESERVATION_CONFLICT);
    ck_assert_uint_eq(key_of(fw, 3, &fl), 0);           /* nor was 3 */
    ck_assert_uint_eq(key_of(fw, 0, &fl), 0);
    uint32_t n = params(p, 0, 0, 0xa, 0x08 | 0x04, two, 2);
    prout(fw, &t, 0, 0, 0, p, n - 24);                  /* the list is cut short */
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    prout(fw, &t, 0, 0, 0, p, 24);                      /* too short for SPEC_I_PT */
    fwh_expect_sense(&t, SCSI_SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    p[28] = 0x05;                                       /* an iSCSI TransportID */
    prout(fw, &t, 0, 0, 0, p, n);
    fwh_expect_invalid_param(&t, 28, -1);
    p[28] = 0x0f;
    prout(fw, &t, 0, 6, 0, p, n);                       /* not with REGISTER AND IGNORE */
    fwh_expect_invalid_param(&t, 20, 3);
    prout(fw, &t, 0, 0, 0, p, n);
    fwh_expect_good(&t);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t k = key_of(fw, i, &fl);
        ck_assert_uint_eq(k, i == 1 ? 0xb : 0xa);
        ck_assert_uint_eq(fl, i == 1 ? 0 : 0x02);
    }
    prout(fw, &t, 0, 0, 0, p, params(p, 0, 0xa, 0xe, 0x08, NULL, 0)); /* registered: refused */
    fwh_expect_invalid_param(&t, 20, 3);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_pr_move");
    TCase *tc = tcase_create("pr_move");
    tcase_add_test(tc, move_to_another_nexus);
    tcase_add_test(tc, move_refusals);
    tcase_add_test(tc, spec_i_pt_all_or_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
