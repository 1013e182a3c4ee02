/* tests/test_osal_ctrl.c — osal_user driving the real controller through the
 * raw register path: register reads and writes, queues and data in osal DMA
 * memory mapped through osal_dma_prepare, and the admin completion arriving
 * as an osal interrupt on the dispatch queue.  An IDENTIFY CONTROLLER must
 * complete without a single IOMMU fault, with IOVAs below and above 4 GiB. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "platform/osal_user.h"
#include "tests/support/osal_fixture.h"
#include "tests/support/testutil.h"
#include "tests/support/proc.h"

#define ENTRIES 8u

static struct of_ctrl C;
static struct osal *OS;

struct admin {
    struct osal_dma_buffer *sq, *cq, *data;
    struct osal_dma_mapping msq, mcq, mdata;
    _Atomic int irqs;
    struct hba_cq_entry seen;  /* written on the queue */
    _Atomic bool have;
    _Atomic bool wrong_vector;
};

static void open_with(const struct osal_user_options *o)
{
    of_ctrl_open(&C);
    ck_assert_int_eq(osal_user_create(C.bus, o, &OS), 0);
}

static void teardown(void)
{
    osal_user_destroy(OS);
    OS = NULL;
    of_ctrl_close(&C);
}

static bool wait_reg(uint32_t off, uint32_t mask, uint32_t want)
{
    for (int i = 0; i < OF_TIMEOUT_MS; i++) {
        if ((osal_reg_read32(OS, off) & mask) == want)
            return true;
        proc_sleep_ms(1);
    }
    return false;
}

/* Admin CQ interrupt: on the queue, take the entry if its phase is current. */
static void on_admin_irq(void *arg, unsigned vector)
{
    struct admin *a = arg;
    if (vector != 0)
        atomic_store(&a->wrong_vector, true);
    atomic_fetch_add(&a->irqs, 1);
    osal_reg_write32(OS, HBA_REG_INT_STATUS, 1u);
    const volatile struct hba_cq_entry *e = a->cq->vaddr;
    if ((atomic_load_explicit((const _Atomic uint16_t *)(const volatile void *)&e->phase, memory_order_acquire) &
         1u) == 1u) {
        memcpy(&a->seen, (const void *)e, sizeof(a->seen));
        osal_reg_write32(OS, HBA_REG_CQ_HEAD(0), 1);
        atomic_store(&a->have, true);
    }
}

static void prepare(struct osal_dma_buffer **b, uint64_t len, enum hba_dma_dir dir, struct osal_dma_mapping *m)
{
    ck_assert_int_eq(osal_dma_alloc(OS, len, 4096, b), 0);
    ck_assert_int_eq(osal_dma_prepare(OS, *b, 0, len, dir, 64, m), 0);
    ck_assert_uint_eq(m->nseg, 1);
}

/* Brings the controller up on osal memory and runs IDENTIFY CONTROLLER with
 * its completion delivered as an interrupt. */
static void identify_through_osal(void)
{
    ck_assert_uint_eq(osal_reg_read32(OS, HBA_REG_ID), HBA_ID_MAGIC);
    ck_assert_uint_eq(osal_reg_read32(OS, HBA_REG_VERSION), HBA_VERSION_1_0);
    static struct admin a;
    memset(&a, 0, sizeof(a));
    prepare(&a.sq, ENTRIES * sizeof(struct hba_sq_entry), HBA_DMA_TO_DEVICE, &a.msq);
    prepare(&a.cq, ENTRIES * sizeof(struct hba_cq_entry), HBA_DMA_FROM_DEVICE, &a.mcq);
    prepare(&a.data, sizeof(struct hba_identify_ctrl), HBA_DMA_FROM_DEVICE, &a.mdata);

    osal_reg_write32(OS, HBA_REG_AQ_SQ_BASE_LO, (uint32_t)a.msq.seg[0].iova);
    osal_reg_write32(OS, HBA_REG_AQ_SQ_BASE_HI, (uint32_t)(a.msq.seg[0].iova >> 32));
    osal_reg_write32(OS, HBA_REG_AQ_CQ_BASE_LO, (uint32_t)a.mcq.seg[0].iova);
    osal_reg_write32(OS, HBA_REG_AQ_CQ_BASE_HI, (uint32_t)(a.mcq.seg[0].iova >> 32));
    osal_reg_write32(OS, HBA_REG_AQ_SIZE, ENTRIES | ENTRIES << 16);
    osal_reg_write32(OS, HBA_REG_CONFIG, HBA_CONFIG_EN);
    ck_assert_msg(wait_reg(HBA_REG_STATUS, HBA_STATUS_RDY, HBA_STATUS_RDY), "controller not ready, fault %u",
                  osal_reg_read32(OS, HBA_REG_FAULT_CODE));

    struct osal_irq *irq;
    ck_assert_int_eq(osal_irq_create(OS, 0, on_admin_irq, &a, &irq), 0);
    osal_irq_enable(irq);
    osal_reg_write32(OS, HBA_REG_INT_MASK_CLEAR, 1u);
    ck_assert_uint_eq(osal_reg_read32(OS, HBA_REG_INT_MASK_SET) & 1u, 0);

    struct hba_sq_entry *e = a.sq->vaddr;
    memset(e, 0, sizeof(*e));
    e->opcode = HBA_ADM_IDENTIFY;
    e->cid = 7;
    e->flags = HBA_FLAG_DIR_READ;
    e->data_len = sizeof(struct hba_identify_ctrl);
    e->u.cdw[0] = HBA_IDENTIFY_CONTROLLER;
    e->sge = (struct hba_sge){ .addr = a.mdata.seg[0].iova, .length = e->data_len, .type = HBA_SGE_DATA };
    osal_reg_write32(OS, HBA_REG_SQ_TAIL(0), 1);

    for (int i = 0; i < OF_TIMEOUT_MS && !atomic_load(&a.have); i++)
        proc_sleep_ms(1);
    ck_assert_msg(atomic_load(&a.have), "no admin completion by interrupt");
    ck_assert_int_ge(atomic_load(&a.irqs), 1);
    ck_assert(!atomic_load(&a.wrong_vector));
    ck_assert_uint_eq(a.seen.cid, 7);
    ck_assert_uint_eq(a.seen.ctrl_status, HBA_CS_SUCCESS);
    ck_assert_uint_eq(a.seen.result, sizeof(struct hba_identify_ctrl));
    const struct hba_identify_ctrl *id = a.data->vaddr;
    ck_assert(memcmp(id->vendor, "\0\0\0\0\0\0\0\0", 8) != 0); /* the DMA arrived */
    ck_assert_uint_eq(id->drive_count, 1);

    struct hba_log_header hdr;
    struct hba_iommu_fault f;
    sim_ctrl_fault_log(C.ctrl, 0, &f, 1, &hdr);
    ck_assert_uint_eq(hdr.total, 0);

    osal_irq_destroy(irq);
    osal_reg_write32(OS, HBA_REG_CONFIG, 0);
    ck_assert(wait_reg(HBA_REG_STATUS, HBA_STATUS_RDY, 0));
    ck_assert_int_eq(osal_dma_complete(OS, &a.mdata), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &a.mcq), 0);
    ck_assert_int_eq(osal_dma_complete(OS, &a.msq), 0);
    ck_assert_int_eq(of_rec_net(&C.rec), 0);
    osal_dma_free(OS, a.data);
    osal_dma_free(OS, a.cq);
    osal_dma_free(OS, a.sq);
}

START_TEST(identify_by_interrupt_below_4g)
{
    open_with(NULL);
    identify_through_osal();
    struct of_call c;
    ck_assert(of_rec_get(&C.rec, 'm', 0, &c));
    ck_assert_uint_lt(c.iova, 0x100000000ull);
}
END_TEST

START_TEST(identify_by_interrupt_above_4g)
{
    struct osal_user_options o;
    osal_user_options_init(&o);
    o.iova_base = 0x100000000ull;
    o.scatter = true;
    open_with(&o);
    identify_through_osal();
    struct of_call c;
    ck_assert(of_rec_get(&C.rec, 'm', 0, &c));
    ck_assert_uint_ge(c.iova, 0x100000000ull);
}
END_TEST

START_TEST(registers_have_hardware_semantics)
{
    open_with(NULL);
    osal_reg_write32(OS, HBA_REG_INT_MASK_SET, 0x6u);
    ck_assert_uint_eq(osal_reg_read32(OS, HBA_REG_INT_MASK_SET) & 0x6u, 0x6u);
    osal_reg_write32(OS, HBA_REG_INT_MASK_CLEAR, 0x2u);
    ck_assert_uint_eq(osal_reg_read32(OS, HBA_REG_INT_MASK_CLEAR) & 0x6u, 0x4u);
    ck_assert_uint_eq(osal_reg_read32(OS, 0x3), 0xFFFFFFFFu); /* misaligned: nobody decodes it */
    ck_assert_uint_eq(osal_reg_read32(OS, HBA_BAR0_SIZE), 0xFFFFFFFFu);
    ck_assert_ptr_eq(osal_user_bus(OS), C.bus);
    uint64_t t0 = osal_now_ns(OS);
    proc_sleep_ms(2);
    ck_assert_uint_gt(osal_now_ns(OS), t0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("osal_ctrl");
    TCase *t = tcase_create("ctrl");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, identify_by_interrupt_below_4g);
    tcase_add_test(t, identify_by_interrupt_above_4g);
    tcase_add_test(t, registers_have_hardware_semantics);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
