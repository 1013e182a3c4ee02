/* tests/test_fw_table.c — the firmware's insides that the SCSI tests cannot
 * reach directly: the command table's consistency and its reserved-bit check,
 * the unit-attention queue, and the store-error-to-sense mapping. */
#include "tests/support/testutil.h"

#include <errno.h>
#include <string.h>

#include "sim/fw/fw_priv.h"

START_TEST(table_is_consistent)
{
    ck_assert_uint_ge(fw_cmd_count(), 20);
    ck_assert_ptr_null(fw_cmd_at(fw_cmd_count()));
    for (size_t i = 0; i < fw_cmd_count(); i++) {
        const struct fw_cmd *c = fw_cmd_at(i);
        ck_assert_msg(c->cdb_len == scsi_cdb_length(c->opcode), "%s: CDB length", c->name);
        ck_assert_msg(c->usage[0] == 0xff, "%s: opcode byte", c->name);
        ck_assert_msg(c->usage[c->cdb_len - 1] == 0xc0, "%s: CONTROL byte", c->name);
        ck_assert_msg(c->handler != NULL, "%s: handler", c->name);
        ck_assert_msg(c->len_off + c->len_width < c->cdb_len, "%s: length field", c->name);
        if (c->flags & FW_F_MEDIA_ACCESS)
            ck_assert_msg(c->lba_width > 0 && (c->flags & FW_F_LEN_BLOCKS), "%s: LBA field", c->name);
        if (c->flags & FW_F_WRITES) {
            ck_assert_msg(c->dir == HBA_FLAG_DIR_WRITE, "%s: writes carry data-out", c->name);
            /* WRPROTECT/ORPROTECT (byte 1 bits 7..5): no protection information on
             * these drives, so a non-zero value is always refused.  SANITIZE has
             * no such field: its byte 1 is IMMED, ZNR, AUSE. */
            if (c->opcode != FW_OP_SANITIZE)
                ck_assert_msg((c->usage[1] & 0xe0) == 0, "%s: WRPROTECT is reserved", c->name);
        }
        /* a command only thin drives offer is still one REPORT SUPPORTED
         * OPERATION CODES can describe, and only a thin drive offers it; the
         * same for removable drives and several target ports */
        if (c->flags & (FW_F_THIN | FW_F_REMOVABLE | FW_F_MULTIPORT))
            ck_assert_msg(!fw_cmd_offered(c, NULL), "%s: offered without a drive", c->name);
        else
            ck_assert_msg(fw_cmd_offered(c, NULL), "%s: not offered", c->name);
        if (c->flags & FW_F_ANY_LUN)
            ck_assert_msg(c->flags & FW_F_SKIPS_UA, "%s: LUN-less commands skip UAs", c->name);
        /* every field the table points at is allowed by its usage mask */
        for (unsigned b = 0; b < c->len_width; b++)
            ck_assert_msg(c->usage[c->len_off + b] != 0, "%s: length byte masked", c->name);
        /* the lookup finds this very entry */
        uint8_t cdb[16] = { c->opcode, c->sa };
        bool known;
        ck_assert_ptr_eq(fw_cmd_lookup(cdb, &known), c);
        ck_assert(known);
    }
}
END_TEST

START_TEST(usage_mask_points_at_every_reserved_bit)
{
    for (size_t i = 0; i < fw_cmd_count(); i++) {
        const struct fw_cmd *c = fw_cmd_at(i);
        uint8_t cdb[16];
        memcpy(cdb, c->usage, c->cdb_len);
        struct scsi_sense_reason r = fw_cmd_check_usage(c, cdb);
        ck_assert_msg(fw_is_good(&r), "%s: all usage bits set must pass", c->name);
        for (unsigned byte = 1; byte < c->cdb_len; byte++) {
            for (int bit = 0; bit < 8; bit++) {
                if (c->usage[byte] & (1u << bit))
                    continue;
                memset(cdb, 0, sizeof(cdb));
                cdb[0] = c->opcode;
                cdb[byte] = (uint8_t)(1u << bit);
                r = fw_cmd_check_usage(c, cdb);
                /* The protect field (byte 1, bits 7..5) is one field: named by bit 7. */
                int want = byte == 1 && (c->flags & FW_F_PROTECT) && bit >= 5 ? 7 : bit;
                ck_assert_msg(r.key == SCSI_SK_ILLEGAL_REQUEST && r.asc_ascq == SCSI_ASC_INVALID_FIELD_IN_CDB &&
                              r.fp.valid && r.fp.in_cdb && r.fp.byte == byte && r.fp.bit_valid && r.fp.bit == want,
                              "%s: byte %u bit %d", c->name, byte, bit);
            }
        }
        /* two bad bytes: the first is reported, with its top bit */
        memset(cdb, 0, sizeof(cdb));
        cdb[0] = c->opcode;
        cdb[c->cdb_len - 1] = 0x05;
        r = fw_cmd_check_usage(c, cdb);
        ck_assert_uint_eq(r.fp.byte, c->cdb_len - 1);
        ck_assert_uint_eq(r.fp.bit, 2);
    }
}
END_TEST

START_TEST(lookup_unknowns)
{
    bool known = true;
    uint8_t cdb[16] = { 0xc1 };
    ck_assert_ptr_null(fw_cmd_lookup(cdb, &known));
    ck_assert(!known);
    cdb[0] = SCSI_OP_SERVICE_ACTION_IN_16;
    cdb[1] = 0x13;    /* neither READ CAPACITY (16) nor GET LBA STATUS */
    ck_assert_ptr_null(fw_cmd_lookup(cdb, &known));
    ck_assert(known);
    cdb[1] = 0xf0;    /* upper bits of byte 1 are not part of the service action */
    ck_assert_ptr_nonnull(fw_cmd_lookup(cdb, &known));
}
END_TEST

START_TEST(ua_queue_rules)
{
    struct fw_ua_queue q = { 0 };
    uint16_t code;
    ck_assert(!fw_ua_take(&q, &code));
    ck_assert(!fw_ua_pending(&q));
    fw_ua_add(&q, SCSI_ASC_I_T_NEXUS_LOSS);
    fw_ua_add(&q, SCSI_ASC_BUS_DEVICE_RESET);      /* more severe: replaces */
    fw_ua_add(&q, SCSI_ASC_I_T_NEXUS_LOSS);        /* less severe: dropped */
    ck_assert_uint_eq(q.count, 1);
    ck_assert(fw_ua_take(&q, &code));
    ck_assert_uint_eq(code, SCSI_ASC_BUS_DEVICE_RESET);
    /* fill beyond depth with ordinary conditions: the oldest are kept */
    for (unsigned i = 0; i < FW_UA_DEPTH + 3; i++)
        fw_ua_add(&q, SCSI_ASCQ(0x2a, 0x20 + i));
    ck_assert_uint_eq(q.count, FW_UA_DEPTH);
    fw_ua_add(&q, SCSI_ASC_POWER_ON_OCCURRED);     /* still gets in, reported first */
    ck_assert(fw_ua_take(&q, &code));
    ck_assert_uint_eq(code, SCSI_ASC_POWER_ON_OCCURRED);
    ck_assert(fw_ua_take(&q, &code));
    ck_assert_uint_eq(code, SCSI_ASCQ(0x2a, 0x20));
    fw_ua_clear(&q);
    ck_assert(!fw_ua_pending(&q));
}
END_TEST

START_TEST(store_errors_map_to_sense)
{
    struct scsi_sense_reason r = fw_store_error(-EIO, SCSI_ASC_UNRECOVERED_READ_ERROR, 77);
    ck_assert_uint_eq(r.key, SCSI_SK_MEDIUM_ERROR);
    ck_assert_uint_eq(r.asc_ascq, SCSI_ASCQ(0x11, 0x00));
    ck_assert(r.info_valid);
    ck_assert_uint_eq(r.info, 77);
    r = fw_store_error(-EIO, SCSI_ASC_WRITE_ERROR, 5);
    ck_assert_uint_eq(r.key, SCSI_SK_MEDIUM_ERROR);
    ck_assert_uint_eq(r.asc_ascq, SCSI_ASCQ(0x0c, 0x00));
    r = fw_store_error(-ENOMEM, SCSI_ASC_WRITE_ERROR, 5);
    ck_assert_uint_eq(r.key, SCSI_SK_HARDWARE_ERROR);
    ck_assert_uint_eq(r.asc_ascq, SCSI_ASCQ(0x44, 0x00));
    ck_assert(!fw_is_good(&r));
    struct scsi_sense_reason g = fw_good();
    ck_assert(fw_is_good(&g));
    ck_assert_int_eq(fw_top_bit(0x01), 0);
    ck_assert_int_eq(fw_top_bit(0x90), 7);
}
END_TEST

START_TEST(naa_designator_layout)
{
    uint8_t a[16], b[16];
    fw_naa_designator(3, 5, "X", a);
    fw_naa_designator(3, 5, "X", b);
    ck_assert(memcmp(a, b, 16) == 0);
    ck_assert_uint_eq(a[0] >> 4, 6);
    /* the company ID sits in the 24 bits after the NAA nibble */
    uint32_t cid = (uint32_t)(a[0] & 0x0f) << 20 | (uint32_t)a[1] << 12 | (uint32_t)a[2] << 4 | a[3] >> 4;
    ck_assert_uint_eq(cid, FW_IEEE_COMPANY_ID);
    ck_assert_uint_eq(scsi_get_be32(a + 4), 3u << 16 | 5);
    fw_naa_designator(3, 5, "Y", b);
    ck_assert(memcmp(a, b, 16) != 0);
    fw_naa_designator(5, 3, "X", b);
    ck_assert(memcmp(a, b, 16) != 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fw_table");
    TCase *tc = tcase_create("internals");
    tcase_add_test(tc, table_is_consistent);
    tcase_add_test(tc, usage_mask_points_at_every_reserved_bit);
    tcase_add_test(tc, lookup_unknowns);
    tcase_add_test(tc, ua_queue_rules);
    tcase_add_test(tc, store_errors_map_to_sense);
    tcase_add_test(tc, naa_designator_layout);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
