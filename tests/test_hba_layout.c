/* tests/test_hba_layout.c — the datasheet's layout rules that the compiler
 * cannot check with _Static_assert alone. */
#include "tests/support/testutil.h"

#include "hw/hba.h"
#include "sim/sim.h"

START_TEST(doorbells_of_every_queue_fit_bar0)
{
    ck_assert_uint_lt(HBA_REG_SQ_EVENT_IDX(HBA_MAX_QUEUES - 1) + 4, HBA_BAR0_SIZE + 1);
    ck_assert_uint_gt(HBA_REG_SQ_TAIL(0), HBA_REG_DIAG);
}
END_TEST

START_TEST(region_layout_is_page_aligned)
{
    ck_assert_uint_eq(SIM_REGION_PRIV % 4096, 0);
    ck_assert_uint_eq(SIM_REGION_DEV_SIZE % 4096, 0);
}
END_TEST

START_TEST(magic_reads_ssim)
{
    uint32_t m = HBA_ID_MAGIC;
    const char *b = (const char *)&m; /* little-endian host */
    ck_assert(b[0] == 'S' && b[1] == 'S' && b[2] == 'I' && b[3] == 'M');
}
END_TEST

START_TEST(capability_field_accessors)
{
    uint32_t q = 1024u | (8u << 16) | (9u << 24);
    ck_assert_uint_eq(HBA_CAPQ_MAX_ENTRIES(q), 1024);
    ck_assert_uint_eq(HBA_CAPQ_MAX_IO_QUEUES(q), 8);
    ck_assert_uint_eq(HBA_CAPQ_VECTORS(q), 9);
    uint32_t s = 128u | (32u << 16) | (8u << 24);
    ck_assert_uint_eq(HBA_CAPS_MAX_SGES(s), 128);
    ck_assert_uint_eq(HBA_CAPS_ADDR_BITS(s), 32);
    ck_assert_uint_eq(HBA_CAPS_MAX_DEPTH(s), 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hba_layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, doorbells_of_every_queue_fit_bar0);
    tcase_add_test(tc, region_layout_is_page_aligned);
    tcase_add_test(tc, magic_reads_ssim);
    tcase_add_test(tc, capability_field_accessors);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
