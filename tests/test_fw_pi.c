/* tests/test_fw_pi.c — protection information (sim/fw/fw_pi.c,
 * sim/store/store_pi.c): the `protection` drive key, what READ CAPACITY (16),
 * INQUIRY, VPD 86h and REPORT SUPPORTED OPERATION CODES say about it, the
 * tuple stored beside each block and carried through the cache's durability
 * rules, RDPROTECT/WRPROTECT/VRPROTECT with their guard and reference tag
 * checks (sense and INFORMATION), the escape values, type 2 and type 3, and
 * the commands without a protect field that get generated tuples. */
#include "tests/support/testutil.h"
#include "tests/support/fw_harness.h"

#include <errno.h>
#include <isa-l/crc.h>
#include <stdio.h>
#include <string.h>

#include "base/located.h"
#include "sim/store/store.h"
#include "tests/support/store_fixture.h"

#define BS 512u
#define PI 8u

static struct fw *pi_drive(unsigned type, uint32_t block_size, bool wce, bool thin)
{
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    struct sim_lu_config *lu = fwh_add_lu(&cfg, 0, 0, 4096, block_size);
    lu->protection = (uint8_t)type;
    lu->write_cache = wce;
    lu->thin = thin;
    struct fw *fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    return fw;
}

/* A block of `fill` followed by its tuple (bs + 8 bytes at out). */
static void block_with_pi(uint8_t *out, uint32_t bs, uint8_t fill, uint16_t app, uint32_t ref, bool bad_guard)
{
    memset(out, fill, bs);
    uint16_t guard = crc16_t10dif(0, out, bs);
    scsi_put_be16(out + bs, (uint16_t)(bad_guard ? guard ^ 1 : guard));
    scsi_put_be16(out + bs + 2, app);
    scsi_put_be32(out + bs + 4, ref);
}

static void write10(struct fw *fw, struct fw_task *t, uint8_t flags, uint32_t lba, uint16_t n, void *buf,
                    uint32_t len)
{
    uint8_t cdb[10];
    fwh_cdb_rw10(cdb, 0x2a, lba, n, flags);
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_WRITE, buf, len);
}

static void read10(struct fw *fw, struct fw_task *t, uint8_t flags, uint32_t lba, uint16_t n, void *buf,
                   uint32_t len)
{
    uint8_t cdb[10];
    fwh_cdb_rw10(cdb, 0x28, lba, n, flags);
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_READ, buf, len);
}

static void expect_pi_failure(const struct fw_task *t, uint8_t ascq, uint64_t lba)
{
    fwh_expect_sense(t, 0x0b, 0x10, ascq);
    struct scsi_sense_info si = fwh_sense(t);
    ck_assert(si.info_valid);
    ck_assert_uint_eq(si.info, lba);
}

START_TEST(config_key_parses_prints_and_refuses)
{
    struct sim_config c;
    struct located_error err;
    sim_config_init(&c);
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=0:0,capacity=1M,protection=type3", &err), 0);
    ck_assert_uint_eq(sim_config_find_lu(&c, 0, 0)->protection, 3);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(sim_config_print(&c, f), 0);
    fclose(f);
    const char *k = strstr(text, "\nprotection ");
    ck_assert_msg(k, "printed: %s", text);
    k += strspn(k + 12, " ") + 12;
    ck_assert_msg(!strncmp(k, "= type3\n", 8), "printed: %s", text);
    free(text);
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=0:0,protection=type4", &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "'type4' is not a protection format; use off, type1, type2 or type3"),
                  "%s", err.message);
    ck_assert_uint_gt(err.column, 0);
    ck_assert_uint_eq(sim_config_find_lu(&c, 0, 0)->protection, 3);   /* unchanged on failure */
    ck_assert_int_eq(sim_config_apply_option(&c, "drive=0:0,protection=off", &err), 0);
    ck_assert_uint_eq(sim_config_find_lu(&c, 0, 0)->protection, 0);
    sim_config_free(&c);

    /* A value no parser produces is still refused by the firmware. */
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    fwh_add_lu(&cfg, 0, 0, 64, 512)->protection = 4;
    struct fw *fw = NULL;
    char msg[256];
    ck_assert_int_eq(fw_create(&cfg, &fw, msg, sizeof msg), -EINVAL);
    ck_assert_msg(strstr(msg, "protection 4 is not a format"), "%s", msg);
    fwh_config_free(&cfg);
}
END_TEST

START_TEST(capacity_inquiry_vpd_and_opcodes_report_the_format)
{
    static const uint8_t byte12[4] = { 0x00, 0x01, 0x03, 0x05 };     /* P_TYPE << 1 | PROT_EN */
    static const uint8_t vpd86[4] = { 0, 0x07, 0x14, 0x26 };   /* SPT | GRD_CHK | APP_CHK (types 1, 3) | REF_CHK */
    for (unsigned type = 0; type <= 3; type++) {
        struct fw *fw = pi_drive(type, BS, true, false);
        struct fw_task t;
        uint8_t rc16[16] = { 0x9e, 0x10 }, cap[32];
        rc16[13] = 32;
        fwh_run0(fw, &t, rc16, 16, HBA_FLAG_DIR_READ, cap, sizeof cap);
        fwh_expect_good(&t);
        ck_assert_uint_eq(cap[12], byte12[type]);
        ck_assert_uint_eq(cap[13] & 0xf0, 0);                       /* P_I_EXPONENT 0 */
        uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 }, std[96];
        fwh_run0(fw, &t, inq, 6, HBA_FLAG_DIR_READ, std, sizeof std);
        ck_assert_uint_eq(std[5] & 0x01, type ? 1 : 0);             /* PROTECT */
        uint8_t sup[6] = { 0x12, 1, 0x00, 0, 64, 0 }, list[64];
        fwh_run0(fw, &t, sup, 6, HBA_FLAG_DIR_READ, list, sizeof list);
        ck_assert_int_eq(memchr(list + 4, 0x86, list[3]) != NULL, type != 0);
        uint8_t ext[6] = { 0x12, 1, 0x86, 0, 64, 0 }, e[64];
        fwh_run0(fw, &t, ext, 6, HBA_FLAG_DIR_READ, e, sizeof e);
        if (!type) {
            fwh_expect_invalid_cdb(&t, 2, -1);                      /* not offered without PI */
        } else {
            fwh_expect_good(&t);
            ck_assert_uint_eq(e[3], 0x3c);
            ck_assert_uint_eq(e[4], vpd86[type]);
        }
        /* REPORT SUPPORTED OPERATION CODES: WRITE (10)'s byte 1 usage. */
        uint8_t rsoc[12] = { 0xa3, 0x0c, 0x01, 0x2a, 0, 0, 0, 0, 0, 64, 0, 0 }, u[64];
        fwh_run0(fw, &t, rsoc, 12, HBA_FLAG_DIR_READ, u, sizeof u);
        fwh_expect_good(&t);
        ck_assert_uint_eq(u[5] & 0xe0, type ? 0xe0 : 0);
        fw_destroy(fw);
    }
}
END_TEST

START_TEST(write_and_read_back_with_pi)
{
    uint32_t sizes[2] = { 512, 4096 };
    for (unsigned s = 0; s < 2; s++) {
        uint32_t bs = sizes[s];
        struct fw *fw = pi_drive(1, bs, true, false);
        struct fw_task t;
        uint8_t out[3 * (4096 + PI)], in[3 * (4096 + PI)];
        for (unsigned i = 0; i < 3; i++)
            block_with_pi(out + i * (bs + PI), bs, (uint8_t)(0x10 + i), 0x4242, 100 + i, false);
        write10(fw, &t, 0x20, 100, 3, out, 3 * (bs + PI));
        fwh_expect_good(&t);
        ck_assert_uint_eq(t.xfer, 3 * (bs + PI));
        for (uint8_t rd = 1; rd <= 5; rd++) {
            memset(in, 0, sizeof in);
            read10(fw, &t, (uint8_t)(rd << 5), 100, 3, in, 3 * (bs + PI));
            fwh_expect_good(&t);
            ck_assert_uint_eq(t.xfer, 3 * (bs + PI));
            ck_assert_mem_eq(in, out, 3 * (bs + PI));
        }
        read10(fw, &t, 0, 100, 3, in, 3 * bs);                      /* RDPROTECT 000b: data only */
        fwh_expect_good(&t);
        ck_assert_uint_eq(t.xfer, 3 * bs);
        for (unsigned i = 0; i < 3; i++)
            ck_assert_mem_eq(in + i * bs, out + i * (bs + PI), bs);
        /* A data-in buffer shorter than asked: what fits, data and tuples in order. */
        memset(in, 0, sizeof in);
        read10(fw, &t, 0x20, 100, 3, in, bs + PI + 4);
        fwh_expect_good(&t);
        ck_assert_uint_eq(t.xfer, bs + PI + 4);
        ck_assert_mem_eq(in, out, bs + PI + 4);
        fw_destroy(fw);
    }
}
END_TEST

START_TEST(write_checks_refuse_and_store_nothing)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t out[2 * (BS + PI)], in[2 * (BS + PI)];
    block_with_pi(out, BS, 0x11, 0, 7, false);
    block_with_pi(out + BS + PI, BS, 0x22, 0, 8, true);            /* bad guard in the second */
    write10(fw, &t, 0x20, 7, 2, out, sizeof out);
    expect_pi_failure(&t, 0x01, 8);
    read10(fw, &t, 0x20, 7, 2, in, sizeof in);
    fwh_expect_good(&t);
    for (unsigned i = 0; i < 2; i++) {                              /* never written: zeros, FFh tuple */
        uint8_t zero[BS] = { 0 }, ff[PI];
        memset(ff, 0xff, PI);
        ck_assert_mem_eq(in + i * (BS + PI), zero, BS);
        ck_assert_mem_eq(in + i * (BS + PI) + BS, ff, PI);
    }
    /* WRPROTECT 010b checks the reference tag and not the guard. */
    write10(fw, &t, 0x40, 7, 2, out, sizeof out);
    fwh_expect_good(&t);
    block_with_pi(out + BS + PI, BS, 0x22, 0, 9, false);            /* good guard, wrong LBA */
    write10(fw, &t, 0x20, 7, 2, out, sizeof out);
    expect_pi_failure(&t, 0x03, 8);
    write10(fw, &t, 0x40, 7, 2, out, sizeof out);
    expect_pi_failure(&t, 0x03, 8);
    write10(fw, &t, 0x80, 7, 2, out, sizeof out);                   /* 100b: guard only */
    fwh_expect_good(&t);
    write10(fw, &t, 0x60, 7, 2, out, sizeof out);                   /* 011b: nothing */
    fwh_expect_good(&t);
    /* Data-out shorter than 520 bytes a block: refused whole. */
    write10(fw, &t, 0x20, 7, 2, out, 2 * BS);
    fwh_expect_invalid_cdb(&t, 7, -1);
    fw_destroy(fw);
}
END_TEST

START_TEST(read_checks_what_is_stored)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t out[2 * (BS + PI)], in[2 * (BS + PI)];
    block_with_pi(out, BS, 0x31, 0, 20, false);
    block_with_pi(out + BS + PI, BS, 0x32, 0, 21, true);            /* stored unchecked (011b) */
    write10(fw, &t, 0x60, 20, 2, out, sizeof out);
    fwh_expect_good(&t);
    memset(in, 0, sizeof in);
    read10(fw, &t, 0x00, 20, 2, in, 2 * BS);
    expect_pi_failure(&t, 0x01, 21);
    ck_assert_uint_eq(t.xfer, BS);                                  /* the good block before it */
    ck_assert_mem_eq(in, out, BS);
    read10(fw, &t, 0x20, 20, 2, in, sizeof in);
    expect_pi_failure(&t, 0x01, 21);
    read10(fw, &t, 0x40, 20, 2, in, sizeof in);                     /* 010b: no guard check */
    fwh_expect_good(&t);
    read10(fw, &t, 0x60, 20, 2, in, sizeof in);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, out, sizeof in);
    /* READ (6) has no RDPROTECT: it checks as 000b does. */
    uint8_t r6[6] = { 0x08, 0, 0, 21, 1, 0 };
    fwh_run0(fw, &t, r6, 6, HBA_FLAG_DIR_READ, in, BS);
    expect_pi_failure(&t, 0x01, 21);
    /* A wrong reference tag stored with 100b fails 000b/001b/010b reads. */
    block_with_pi(out, BS, 0x33, 0, 99, false);
    write10(fw, &t, 0x80, 30, 1, out, BS + PI);
    fwh_expect_good(&t);
    read10(fw, &t, 0x40, 30, 1, in, BS + PI);
    expect_pi_failure(&t, 0x03, 30);
    read10(fw, &t, 0x80, 30, 1, in, BS + PI);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(escape_values_and_type3)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t out[BS + PI], in[BS + PI];
    block_with_pi(out, BS, 0x41, 0xffff, 12345, true);              /* app FFFFh: unchecked */
    write10(fw, &t, 0x20, 40, 1, out, sizeof out);
    fwh_expect_good(&t);
    read10(fw, &t, 0x20, 40, 1, in, sizeof in);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, out, sizeof in);
    fw_destroy(fw);

    fw = pi_drive(3, BS, true, false);
    block_with_pi(out, BS, 0x42, 0x0001, 0xabcdef, false);          /* type 3: the ref tag is the application's */
    write10(fw, &t, 0x20, 40, 1, out, sizeof out);
    fwh_expect_good(&t);
    read10(fw, &t, 0x20, 40, 1, in, sizeof in);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, out, sizeof in);
    block_with_pi(out, BS, 0x42, 0xffff, 0xabcdef, true);           /* app FFFFh alone is no escape on type 3 */
    write10(fw, &t, 0x20, 41, 1, out, sizeof out);
    expect_pi_failure(&t, 0x01, 41);
    block_with_pi(out, BS, 0x42, 0xffff, 0xffffffff, true);         /* both all ones: the escape */
    write10(fw, &t, 0x20, 41, 1, out, sizeof out);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(type2_and_reserved_fields)
{
    struct fw *fw = pi_drive(2, BS, true, false);
    struct fw_task t;
    uint8_t out[BS + PI], in[BS + PI];
    block_with_pi(out, BS, 0x51, 0, 50, false);
    write10(fw, &t, 0x20, 50, 1, out, sizeof out);
    fwh_expect_sense(&t, 0x05, 0x20, 0x00);                         /* needs WRITE (32) */
    read10(fw, &t, 0x20, 50, 1, in, sizeof in);
    fwh_expect_sense(&t, 0x05, 0x20, 0x00);
    write10(fw, &t, 0x00, 50, 1, out, BS);                          /* 000b: generated tuple */
    fwh_expect_good(&t);
    read10(fw, &t, 0x00, 50, 1, in, BS);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, out, BS);
    fw_destroy(fw);

    fw = pi_drive(1, BS, true, false);
    write10(fw, &t, 0xc0, 50, 1, out, sizeof out);                  /* 110b */
    fwh_expect_invalid_cdb(&t, 1, 7);
    read10(fw, &t, 0xe0, 50, 1, in, sizeof in);                     /* 111b */
    fwh_expect_invalid_cdb(&t, 1, 7);
    fw_destroy(fw);

    fw = pi_drive(0, BS, true, false);                              /* no PI: the field is reserved */
    write10(fw, &t, 0x20, 50, 1, out, sizeof out);
    fwh_expect_invalid_cdb(&t, 1, 7); /* the field's left-most bit, whatever its value */
    read10(fw, &t, 0xa0, 50, 1, in, sizeof in);
    fwh_expect_invalid_cdb(&t, 1, 7);
    read10(fw, &t, 0x00, 50, 1, in, BS);
    fwh_expect_good(&t);
    fw_destroy(fw);
}
END_TEST

START_TEST(verify_checks_tuples)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t out[2 * (BS + PI)];
    block_with_pi(out, BS, 0x61, 0, 60, false);
    block_with_pi(out + BS + PI, BS, 0x62, 0, 61, true);
    write10(fw, &t, 0x60, 60, 2, out, sizeof out);                  /* the bad guard stored */
    fwh_expect_good(&t);
    uint8_t v10[10];
    fwh_cdb_rw10(v10, 0x2f, 60, 2, 0x20);                           /* VRPROTECT 001b, BYTCHK 0 */
    fwh_run0(fw, &t, v10, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    expect_pi_failure(&t, 0x01, 61);
    fwh_cdb_rw10(v10, 0x2f, 60, 2, 0x00);                           /* 000b checks too */
    fwh_run0(fw, &t, v10, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    expect_pi_failure(&t, 0x01, 61);
    fwh_cdb_rw10(v10, 0x2f, 60, 2, 0x60);                           /* 011b: none */
    fwh_run0(fw, &t, v10, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    /* BYTCHK 01b with VRPROTECT 001b: the data-out carries tuples, which
     * are checked, then the user data is compared. */
    block_with_pi(out + BS + PI, BS, 0x62, 0, 61, false);
    write10(fw, &t, 0x20, 60, 2, out, sizeof out);
    fwh_expect_good(&t);
    fwh_cdb_rw10(v10, 0x2f, 60, 2, 0x22);
    fwh_run0(fw, &t, v10, 10, HBA_FLAG_DIR_WRITE, out, sizeof out);
    fwh_expect_good(&t);
    out[BS + PI + 3] ^= 0xff;                                       /* second block's data differs */
    scsi_put_be16(out + 2 * BS + PI, crc16_t10dif(0, out + BS + PI, BS));
    fwh_run0(fw, &t, v10, 10, HBA_FLAG_DIR_WRITE, out, sizeof out);
    fwh_expect_sense(&t, 0x0e, 0x1d, 0x00);
    ck_assert_uint_eq(fwh_sense(&t).info, BS + 3);
    scsi_put_be32(out + 2 * BS + PI + 4, 62);                       /* a data-out tuple naming the wrong LBA */
    fwh_run0(fw, &t, v10, 10, HBA_FLAG_DIR_WRITE, out, sizeof out);
    expect_pi_failure(&t, 0x03, 61);
    fw_destroy(fw);
}
END_TEST

START_TEST(write_and_verify_with_pi)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t out[2 * (BS + PI)], in[2 * (BS + PI)];
    block_with_pi(out, BS, 0x91, 0x0101, 90, false);
    block_with_pi(out + BS + PI, BS, 0x92, 0x0202, 91, false);
    uint8_t wv[10];
    fwh_cdb_rw10(wv, 0x2e, 90, 2, 0x22);                            /* WRPROTECT 001b, BYTCHK 01b */
    fwh_run0(fw, &t, wv, 10, HBA_FLAG_DIR_WRITE, out, sizeof out);
    fwh_expect_good(&t);
    ck_assert_uint_eq(t.xfer, sizeof out);
    read10(fw, &t, 0x20, 90, 2, in, sizeof in);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, out, sizeof in);
    block_with_pi(out + BS + PI, BS, 0x93, 0x0202, 91, true);
    fwh_cdb_rw10(wv, 0x2e, 90, 2, 0x20);
    fwh_run0(fw, &t, wv, 10, HBA_FLAG_DIR_WRITE, out, sizeof out);
    expect_pi_failure(&t, 0x01, 91);
    read10(fw, &t, 0x00, 91, 1, in, BS);                            /* nothing written */
    ck_assert_uint_eq(in[0], 0x92);
    fwh_cdb_rw10(wv, 0x2e, 90, 2, 0x24);                            /* BYTCHK 10b: reserved */
    fwh_run0(fw, &t, wv, 10, HBA_FLAG_DIR_WRITE, out, sizeof out);
    fwh_expect_invalid_cdb(&t, 1, 2);
    fw_destroy(fw);
}
END_TEST

/* The tuple follows its block: lost with it in a cut, held with it by a
 * battery, carried to the media by a flush or a write-through. */
START_TEST(tuple_follows_its_block_through_the_cache)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t v1[BS + PI], v2[BS + PI], in[BS + PI];
    block_with_pi(v1, BS, 0x71, 0x1111, 70, false);
    block_with_pi(v2, BS, 0x72, 0x2222, 70, false);
    write10(fw, &t, 0x20, 70, 1, v1, sizeof v1);
    uint8_t sync[10] = { 0x35 };
    fwh_run0(fw, &t, sync, 10, HBA_FLAG_DIR_NONE, NULL, 0);
    fwh_expect_good(&t);
    write10(fw, &t, 0x20, 70, 1, v2, sizeof v2);                    /* dirty in the cache */
    read10(fw, &t, 0x20, 70, 1, in, sizeof in);
    ck_assert_mem_eq(in, v2, sizeof in);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    read10(fw, &t, 0x20, 70, 1, in, sizeof in);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, v1, sizeof in);                            /* the flushed version, its tuple */
    /* FUA writes through: the tuple is on the media at once. */
    write10(fw, &t, 0x28, 70, 1, v2, sizeof v2);
    fwh_expect_good(&t);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    read10(fw, &t, 0x20, 70, 1, in, sizeof in);
    ck_assert_mem_eq(in, v2, sizeof in);
    fw_destroy(fw);

    /* A good battery holds the dirty block and its tuple. */
    struct sim_config cfg;
    fwh_config_init(&cfg, 1, 1);
    struct sim_lu_config *lu = fwh_add_lu(&cfg, 0, 0, 4096, BS);
    lu->protection = 1;
    lu->battery = HBA_BATTERY_GOOD;
    fw = fwh_create(&cfg);
    fwh_config_free(&cfg);
    fwh_drain_ua(fw, 0, 0, 0);
    write10(fw, &t, 0x20, 70, 1, v1, sizeof v1);
    fw_power_cut(fw, NULL);
    fw_power_on(fw);
    fwh_drain_ua(fw, 0, 0, 0);
    read10(fw, &t, 0x20, 70, 1, in, sizeof in);
    fwh_expect_good(&t);
    ck_assert_mem_eq(in, v1, sizeof in);
    fw_destroy(fw);
}
END_TEST

/* Writes without a protect field (WRITE (6), WRITE SAME, WRPROTECT 000b, a
 * write-through drive) get generated tuples; UNMAP makes them escape values. */
START_TEST(generated_tuples_and_unmap)
{
    struct fw *fw = pi_drive(1, BS, false, true);
    struct fw_task t;
    uint8_t blk[BS], in[4 * (BS + PI)];
    memset(blk, 0x81, BS);
    uint8_t ws[10] = { 0x41, 0, 0, 0, 0, 80, 0, 0, 4, 0 };          /* WRITE SAME (10): 4 blocks at 80 */
    fwh_run0(fw, &t, ws, 10, HBA_FLAG_DIR_WRITE, blk, BS);
    fwh_expect_good(&t);
    read10(fw, &t, 0x20, 80, 4, in, sizeof in);
    fwh_expect_good(&t);
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *p = in + i * (BS + PI);
        ck_assert_mem_eq(p, blk, BS);
        ck_assert_uint_eq(scsi_get_be16(p + BS), crc16_t10dif(0, blk, BS));
        ck_assert_uint_eq(scsi_get_be16(p + BS + 2), 0);
        ck_assert_uint_eq(scsi_get_be32(p + BS + 4), 80 + i);
    }
    /* UNMAP of a range far larger than the tuples held (the sparse path). */
    uint8_t um[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, list[24] = { 0 };
    scsi_put_be16(list, 22);
    scsi_put_be16(list + 2, 16);
    scsi_put_be64(list + 8, 0);
    scsi_put_be32(list + 16, 4096);
    fwh_run0(fw, &t, um, 10, HBA_FLAG_DIR_WRITE, list, sizeof list);
    fwh_expect_good(&t);
    read10(fw, &t, 0x20, 80, 4, in, sizeof in);
    fwh_expect_good(&t);
    uint8_t ff[PI];
    memset(ff, 0xff, PI);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_mem_eq(in + i * (BS + PI) + BS, ff, PI);
    fw_destroy(fw);
}
END_TEST

/* The store alone: a tuple naming the version of its block (the block's
 * first byte), written explicitly or generated.  After a cut of every kind —
 * all lost, a random half written back, a torn line — and an eviction, each
 * block's tuple names the version the block holds (a torn block aside: its
 * first half is new, its tuple old). */
static void gen_version(void *arg, uint64_t lba, const void *block, uint32_t block_size, uint8_t tuple[8])
{
    (void)arg;
    (void)block_size;
    memset(tuple, 0, 8);
    tuple[0] = ((const uint8_t *)block)[0];
    scsi_put_be32(tuple + 4, (uint32_t)lba);
}

static void store_write_version(struct sim_store *st, uint64_t lba, uint8_t v, bool explicit_pi, bool durable)
{
    uint8_t b[BS], t[8] = { v, 0, 0, 0 };
    memset(b, v, BS);
    scsi_put_be32(t + 4, (uint32_t)lba);
    int rc = explicit_pi ? sim_store_write_pi(st, lba, 1, b, t, durable) : sim_store_write(st, lba, 1, b, durable);
    ck_assert_int_eq(rc, 0);
}

START_TEST(store_tuples_match_their_blocks_after_any_cut)
{
    enum sim_power_cut_mode modes[3] = { SIM_POWER_CUT_ALL, SIM_POWER_CUT_RANDOM, SIM_POWER_CUT_TORN };
    for (unsigned m = 0; m < 3; m++) {
        unsigned torn_total = 0, kept_new = 0, kept_old = 0;   /* the cuts did what they are for */
        for (uint64_t seed = 1; seed <= 8; seed++) {
            struct sim_store_config sc = { .blocks = 4096, .block_size = BS, .cache_bytes = 128 * 1024,
                                           .battery = HBA_BATTERY_ABSENT, .seed = seed,
                                           .pi_gen = { .fn = gen_version } };
            struct sim_store *st;
            char err[256];
            ck_assert_int_eq(sim_store_create(&sc, &st, err, sizeof err), 0);
            /* Versions 1 durable, 2 cached, 3 cached over 200 blocks in four lines,
             * then enough other lines to evict some. */
            for (uint64_t lba = 0; lba < 512; lba += 3) {
                store_write_version(st, lba, 1, lba % 2, true);
                store_write_version(st, lba, 2, lba % 2 == 0, false);
                if (lba % 9 == 0)
                    store_write_version(st, lba, 3, true, false);
            }
            for (uint64_t lba = 1024; lba < 1024 + 200; lba++)
                store_write_version(st, lba, 4, lba % 2, false);
            struct sim_power_cut how = { .mode = modes[m], .seed = seed };
            sim_store_power_cut(st, &how);
            ck_assert_int_eq(sim_store_power_on(st), 0);
            unsigned torn = 0;
            for (uint64_t lba = 0; lba < 1024 + 200; lba++) {
                uint8_t b[BS], t[8];
                ck_assert_int_eq(sim_store_read(st, lba, 1, b), 0);
                ck_assert_int_eq(sim_store_read_pi(st, lba, 1, t), 0);
                if (b[0] == 0) {                                    /* never written: the escape */
                    ck_assert_uint_eq(scsi_get_be32(t + 4), 0xffffffffu);
                    continue;
                }
                if (b[BS - 1] != b[0]) {                            /* torn: the tuple of its old half */
                    ck_assert_uint_eq(modes[m], SIM_POWER_CUT_TORN);
                    if (b[BS - 1])
                        ck_assert_uint_eq(t[0], b[BS - 1]);
                    else                                            /* over a block never on media */
                        ck_assert_uint_eq(scsi_get_be32(t + 4), 0xffffffffu);
                    torn++;
                    continue;
                }
                ck_assert_msg(t[0] == b[0], "mode %u seed %llu lba %llu: data version %u, tuple version %u", m,
                              (unsigned long long)seed, (unsigned long long)lba, b[0], t[0]);
                ck_assert_uint_eq(scsi_get_be32(t + 4), (uint32_t)lba);
                if (lba < 512)
                    *(b[0] == 1 ? &kept_old : &kept_new) += 1;
            }
            ck_assert_uint_le(torn, 1);
            torn_total += torn;
            sim_store_destroy(st);
        }
        ck_assert_uint_gt(kept_old, 0);
        if (modes[m] == SIM_POWER_CUT_TORN)
            ck_assert_uint_gt(torn_total, 0);
        ck_assert_uint_gt(kept_new, 0);       /* evicted (and, RANDOM, cut) write-backs carried tuples */
    }
    /* A store without a generator keeps no tuples. */
    struct sim_store *st = fixture_store(64, BS, NULL, 0, HBA_BATTERY_ABSENT, 1);
    uint8_t b[BS] = { 0 }, t[8] = { 0 };
    ck_assert_int_eq(sim_store_write_pi(st, 0, 1, b, t, true), -EINVAL);
    ck_assert_int_eq(sim_store_read_pi(st, 0, 1, t), -EINVAL);
    sim_store_destroy(st);
}
END_TEST

/* ---- the application tag: ATMPE and the Application Tag mode page (0Ah/02h) ---- */

static void mode_sense10_page(struct fw *fw, struct fw_task *t, uint8_t page_pc, uint8_t subpage, uint8_t *b,
                              uint16_t len)
{
    uint8_t cdb[10] = { SCSI_OP_MODE_SENSE_10, 0x08, page_pc, subpage };   /* DBD */
    scsi_put_be16(cdb + 7, len);
    memset(b, 0, len);
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_READ, b, len);
}

static void mode_select10(struct fw *fw, struct fw_task *t, uint8_t *list, uint16_t len)
{
    uint8_t cdb[10] = { SCSI_OP_MODE_SELECT_10, 0x10 };   /* PF */
    scsi_put_be16(cdb + 7, len);
    fwh_run0(fw, t, cdb, 10, HBA_FLAG_DIR_WRITE, list, len);
}

/* A MODE SELECT (10) parameter list (8-byte header, no block descriptor)
 * holding the control page with ATMPE as given; returns its length. */
static uint16_t control_list(uint8_t *l, bool atmpe)
{
    memset(l, 0, 20);
    uint8_t *c = l + 8;
    c[0] = 0x0a;
    c[1] = 0x0a;
    c[3] = 0x10;                  /* QUEUE ALGORITHM MODIFIER, fixed */
    c[5] = atmpe ? 0x20 : 0;      /* ATMPE: byte 5 bit 5 */
    return 20;
}

/* Appends to l at off an Application Tag page of n descriptors
 * (lba, blocks, tag) and returns the list's new length. */
static uint16_t apptag_page(uint8_t *l, uint16_t off, unsigned n, const uint64_t (*d)[3])
{
    uint8_t *p = l + off;
    memset(p, 0, 16 + 24 * n);
    p[0] = 0x40 | 0x0a;           /* SPF */
    p[1] = 0x02;
    scsi_put_be16(p + 2, (uint16_t)(12 + 24 * n));
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = p + 16 + 24 * i;
        e[0] = i + 1 == n ? 0x80 : 0;   /* LAST */
        scsi_put_be16(e + 6, (uint16_t)d[i][2]);
        scsi_put_be64(e + 8, d[i][0]);
        scsi_put_be64(e + 16, d[i][1]);
    }
    return (uint16_t)(off + 16 + 24 * n);
}

/* ATMPE on and one descriptor: blocks [10, 14) expect application tag 1234h. */
static void expect_tag_1234(struct fw *fw)
{
    static const uint64_t one[1][3] = { { 10, 4, 0x1234 } };
    uint8_t l[128];
    struct fw_task t;
    uint16_t n = apptag_page(l, control_list(l, true), 1, one);
    mode_select10(fw, &t, l, n);
    fwh_expect_good(&t);
}

START_TEST(apptag_page_sensed_with_subpages)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    uint8_t b[512];
    mode_sense10_page(fw, &t, 0x0a, 0x02, b, sizeof b);      /* no descriptors yet */
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b), 6 + 16);
    static const uint8_t empty[4] = { 0x80 | 0x40 | 0x0a, 0x02, 0x00, 0x0c };   /* PS, SPF; length 12 */
    ck_assert_mem_eq(b + 8, empty, 4);
    mode_sense10_page(fw, &t, 0x0a, 0xff, b, sizeof b);      /* the control page and its subpage */
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b), 6 + 12 + 16);
    ck_assert_uint_eq(b[8], 0x8a);
    ck_assert_uint_eq(b[8 + 12], 0xca);
    mode_sense10_page(fw, &t, 0x3f, 0x00, b, sizeof b);      /* subpage 00h: no subpages */
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b), 6 + 20 + 12);
    mode_sense10_page(fw, &t, 0x3f, 0xff, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b), 6 + 20 + 12 + 16);
    mode_sense10_page(fw, &t, 0x4a, 0x00, b, sizeof b);      /* changeable: ATMPE */
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[8 + 5], 0x20);
    mode_sense10_page(fw, &t, 0x4a, 0x02, b, sizeof b);      /* changeable: every descriptor field */
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 2), 12 + 24);
    ck_assert_uint_eq(b[8 + 16], 0x80);
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 16 + 6), 0xffff);
    mode_sense10_page(fw, &t, 0x08, 0x02, b, sizeof b);      /* caching has no subpage 02h */
    fwh_expect_invalid_cdb(&t, 3, -1);
    mode_sense10_page(fw, &t, 0x0a, 0x03, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 3, -1);
    mode_sense10_page(fw, &t, 0x3f, 0x02, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 3, -1);

    expect_tag_1234(fw);
    mode_sense10_page(fw, &t, 0x0a, 0x02, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 2), 12 + 24);
    const uint8_t *e = b + 8 + 16;
    ck_assert_uint_eq(e[0], 0x80);
    ck_assert_uint_eq(scsi_get_be16(e + 6), 0x1234);
    ck_assert_uint_eq(scsi_get_be64(e + 8), 10);
    ck_assert_uint_eq(scsi_get_be64(e + 16), 4);
    mode_sense10_page(fw, &t, 0x0a, 0x00, b, sizeof b);
    ck_assert_uint_eq(b[8 + 5], 0x20);
    mode_sense10_page(fw, &t, 0xca, 0x02, b, sizeof b);      /* saved: not saved (SP 0) */
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 2), 12);
    fw_destroy(fw);

    /* Without protection information: no subpage, ATMPE not changeable. */
    fw = pi_drive(0, BS, true, false);
    mode_sense10_page(fw, &t, 0x0a, 0x02, b, sizeof b);
    fwh_expect_invalid_cdb(&t, 3, -1);
    mode_sense10_page(fw, &t, 0x4a, 0x00, b, sizeof b);
    fwh_expect_good(&t);
    ck_assert_uint_eq(b[8 + 5], 0);
    uint16_t n = control_list(b, true);
    mode_select10(fw, &t, b, n);
    fwh_expect_invalid_param(&t, 8 + 5, 5);
    static const uint64_t one[1][3] = { { 0, 1, 1 } };
    n = apptag_page(b, control_list(b, false), 1, one);
    mode_select10(fw, &t, b, n);
    fwh_expect_invalid_param(&t, 20 + 1, -1);                /* the subpage code */
    fw_destroy(fw);
}
END_TEST

START_TEST(apptag_malformed_descriptors_refused)
{
    struct fw *fw = pi_drive(1, BS, true, false);             /* 4096 blocks */
    struct fw_task t;
    uint8_t l[512];
    static const struct {
        uint64_t d[2][3];
        unsigned n;
        uint16_t byte;        /* within the page */
    } bad[] = {
        { { { 0, 0, 1 } }, 1, 16 + 16 },                     /* no blocks */
        { { { 4096, 1, 1 } }, 1, 16 + 8 },                   /* LBA past the end */
        { { { 4000, 97, 1 } }, 1, 16 + 16 },                 /* range past the end */
        { { { 4000, UINT64_MAX, 1 } }, 1, 16 + 16 },         /* and overflowing */
        { { { 0, 10, 1 }, { 9, 2, 2 } }, 2, 40 + 8 },         /* overlapping the first */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t n = apptag_page(l, 8, bad[i].n, bad[i].d);
        memset(l, 0, 8);
        mode_select10(fw, &t, l, n);
        fwh_expect_invalid_param(&t, (uint16_t)(8 + bad[i].byte), -1);
    }
    static const uint64_t one[1][3] = { { 0, 1, 1 } };
    uint16_t n = apptag_page(l, 8, 1, one);
    l[8 + 16] |= 0x01;                                       /* reserved bit beside LAST */
    mode_select10(fw, &t, l, n);
    fwh_expect_invalid_param(&t, 8 + 16, 0);
    n = apptag_page(l, 8, 1, one);
    l[8 + 16 + 3] = 0x10;                                    /* reserved byte */
    mode_select10(fw, &t, l, n);
    fwh_expect_invalid_param(&t, 8 + 16 + 3, 4);
    n = apptag_page(l, 8, 1, one);
    l[8 + 7] = 0x02;                                         /* reserved page byte */
    mode_select10(fw, &t, l, n);
    fwh_expect_invalid_param(&t, 8 + 7, 1);
    n = apptag_page(l, 8, 1, one);
    scsi_put_be16(l + 8 + 2, 12 + 23);                       /* not whole descriptors */
    mode_select10(fw, &t, l, (uint16_t)(n - 1));
    fwh_expect_invalid_param(&t, 8 + 2, -1);
    uint64_t nine[9][3];
    for (unsigned i = 0; i < 9; i++)
        nine[i][0] = i, nine[i][1] = 1, nine[i][2] = i;
    n = apptag_page(l, 8, 9, (const uint64_t (*)[3])nine);   /* more than the drive keeps */
    mode_select10(fw, &t, l, n);
    fwh_expect_invalid_param(&t, 8 + 2, -1);
    n = apptag_page(l, 8, 8, (const uint64_t (*)[3])nine);   /* eight fit */
    mode_select10(fw, &t, l, n);
    fwh_expect_good(&t);
    /* ... and every page with them still fits MODE SENSE (6)'s one-byte length. */
    uint8_t s6[6] = { SCSI_OP_MODE_SENSE_6, 0x00, 0x3f, 0xff, 0xff, 0 };
    uint8_t m[255];
    fwh_run0(fw, &t, s6, 6, HBA_FLAG_DIR_READ, m, sizeof m);
    fwh_expect_good(&t);
    ck_assert_uint_eq(m[0], 4 + 8 + 20 + 12 + 16 + 8 * 24 - 1);
    n = apptag_page(l, 8, 1, one);
    mode_select10(fw, &t, l, (uint16_t)(n - 1));             /* the page runs past the list */
    fwh_expect_sense(&t, 0x05, 0x1a, 0x00);
    /* A refused page changes nothing: the eight descriptors stay. */
    uint8_t b[512];
    mode_sense10_page(fw, &t, 0x0a, 0x02, b, sizeof b);
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 2), 12 + 8 * 24);
    /* LAST ends the list: a descriptor after it is ignored. */
    static const uint64_t two[2][3] = { { 0, 1, 1 }, { 0, 1, 2 } };   /* would overlap */
    n = apptag_page(l, 8, 2, two);
    l[8 + 16] |= 0x80;
    mode_select10(fw, &t, l, n);
    fwh_expect_good(&t);
    mode_sense10_page(fw, &t, 0x0a, 0x02, b, sizeof b);
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 2), 12 + 24);
    fw_destroy(fw);
}
END_TEST

START_TEST(apptag_checked_under_atmpe)
{
    for (unsigned type = 1; type <= 3; type += 2) {
        struct fw *fw = pi_drive(type, BS, true, false);
        struct fw_task t;
        uint8_t out[2 * (BS + PI)], in[2 * (BS + PI)];
        block_with_pi(out, BS, 0x51, 0x1234, 12, false);
        block_with_pi(out + BS + PI, BS, 0x52, 0x1111, 13, false);
        write10(fw, &t, 0x20, 12, 2, out, sizeof out);        /* ATMPE 0: no application tag check */
        fwh_expect_good(&t);
        expect_tag_1234(fw);
        write10(fw, &t, 0x20, 12, 2, out, sizeof out);
        expect_pi_failure(&t, 0x02, 13);
        write10(fw, &t, 0x40, 12, 2, out, sizeof out);        /* 010b and 101b check it too */
        expect_pi_failure(&t, 0x02, 13);
        write10(fw, &t, 0xa0, 12, 2, out, sizeof out);
        expect_pi_failure(&t, 0x02, 13);
        write10(fw, &t, 0x60, 12, 2, out, sizeof out);        /* 011b, 100b do not */
        fwh_expect_good(&t);
        write10(fw, &t, 0x80, 12, 2, out, sizeof out);
        fwh_expect_good(&t);
        block_with_pi(out, BS, 0x53, 0x1111, 99, false);      /* app tag and (type 1) ref tag wrong */
        write10(fw, &t, 0x20, 13, 1, out, BS + PI);
        expect_pi_failure(&t, 0x02, 13);                      /* the app tag is checked first */
        block_with_pi(out, BS, 0x51, 0x9999, 14, false);
        write10(fw, &t, 0x20, 14, 1, out, BS + PI);           /* outside: no expected tag */
        fwh_expect_good(&t);
        block_with_pi(out, BS, 0x51, 0xffff, 11, false);
        if (type == 3)
            scsi_put_be32(out + BS + 4, 0xffffffff);          /* type 3's escape: both all ones */
        write10(fw, &t, 0x20, 11, 1, out, BS + PI);           /* the escape disables every check */
        fwh_expect_good(&t);

        /* Reads check what is stored: block 13 holds tag 1111h (written with 100b). */
        read10(fw, &t, 0x20, 12, 2, in, sizeof in);
        expect_pi_failure(&t, 0x02, 13);
        ck_assert_uint_eq(t.xfer, BS + PI);                   /* the good block before it */
        read10(fw, &t, 0x00, 12, 2, in, 2 * BS);              /* 000b: not asked for */
        fwh_expect_good(&t);
        read10(fw, &t, 0x60, 12, 2, in, sizeof in);
        fwh_expect_good(&t);
        uint8_t v[10];
        fwh_cdb_rw10(v, 0x2f, 12, 2, 0x20);                  /* VERIFY, VRPROTECT 001b, BYTCHK 0 */
        fwh_run0(fw, &t, v, 10, HBA_FLAG_DIR_NONE, NULL, 0);
        expect_pi_failure(&t, 0x02, 13);

        /* ATMPE back to 0: the page stays, unchecked. */
        uint16_t n = control_list(in, false);
        mode_select10(fw, &t, in, n);
        fwh_expect_good(&t);
        read10(fw, &t, 0x20, 12, 2, in, sizeof in);
        fwh_expect_good(&t);
        fw_destroy(fw);
    }
}
END_TEST

START_TEST(apptag_page_saved_and_restored)
{
    struct fw *fw = pi_drive(1, BS, true, false);
    struct fw_task t;
    static const uint64_t one[1][3] = { { 100, 1, 0x0042 } };
    uint8_t l[128], out[BS + PI];
    uint16_t n = apptag_page(l, control_list(l, true), 1, one);
    uint8_t cdb[10] = { SCSI_OP_MODE_SELECT_10, 0x11 };       /* PF, SP */
    scsi_put_be16(cdb + 7, n);
    fwh_run0(fw, &t, cdb, 10, HBA_FLAG_DIR_WRITE, l, n);
    fwh_expect_good(&t);
    uint8_t b[512];
    mode_sense10_page(fw, &t, 0xca, 0x02, b, sizeof b);      /* saved */
    fwh_expect_good(&t);
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 16 + 6), 0x0042);
    mode_sense10_page(fw, &t, 0x8a, 0x02, b, sizeof b);      /* default: none */
    ck_assert_uint_eq(scsi_get_be16(b + 8 + 2), 12);
    block_with_pi(out, BS, 0x61, 0x0043, 100, false);
    write10(fw, &t, 0x20, 100, 1, out, sizeof out);
    expect_pi_failure(&t, 0x02, 100);
    fw_destroy(fw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fw_pi");
    TCase *tc = tcase_create("pi");
    tcase_add_test(tc, config_key_parses_prints_and_refuses);
    tcase_add_test(tc, capacity_inquiry_vpd_and_opcodes_report_the_format);
    tcase_add_test(tc, write_and_read_back_with_pi);
    tcase_add_test(tc, write_checks_refuse_and_store_nothing);
    tcase_add_test(tc, read_checks_what_is_stored);
    tcase_add_test(tc, escape_values_and_type3);
    tcase_add_test(tc, type2_and_reserved_fields);
    tcase_add_test(tc, verify_checks_tuples);
    tcase_add_test(tc, write_and_verify_with_pi);
    tcase_add_test(tc, tuple_follows_its_block_through_the_cache);
    tcase_add_test(tc, generated_tuples_and_unmap);
    tcase_add_test(tc, store_tuples_match_their_blocks_after_any_cut);
    tcase_add_test(tc, apptag_page_sensed_with_subpages);
    tcase_add_test(tc, apptag_malformed_descriptors_refused);
    tcase_add_test(tc, apptag_checked_under_atmpe);
    tcase_add_test(tc, apptag_page_saved_and_restored);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
